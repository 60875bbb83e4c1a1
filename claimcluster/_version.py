"""The package version, in one place (read by pyproject.toml and by saved manifests)."""

__version__ = "0.1.0"
