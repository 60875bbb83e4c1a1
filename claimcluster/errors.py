"""One exception hierarchy for claimcluster.

Every error the library raises on purpose derives from :class:`ClaimClusterError`,
so callers (and the CLI) can catch one type. Errors from faiss, torch, sqlite and
the file system are translated where they enter the library.
"""

from __future__ import annotations

__all__ = [
    "ClaimClusterError",
    "InputError",
    "ModelError",
    "ModelIntegrityError",
    "NotFittedError",
    "StorageError",
    "ModelMismatchError",
    "DocumentError",
    "StoreLockedError",
    "CacheCorruptedWarning",
]


class ClaimClusterError(Exception):
    """Base class of every error claimcluster raises."""


class InputError(ClaimClusterError, ValueError):
    """A value passed by the caller cannot be used (None, NaN, wrong type, empty...)."""


class DocumentError(InputError):
    """A document or input file cannot be read (bad encoding, duplicate id, missing field)."""


class ModelError(ClaimClusterError):
    """The embedding model cannot be found or loaded."""


class ModelIntegrityError(ModelError):
    """The packaged model's weights do not have the expected checksum."""


class NotFittedError(ClaimClusterError, AttributeError):
    """A fitted attribute or method was used before ``fit``."""


class StorageError(ClaimClusterError):
    """A saved index or store is missing, damaged, of another kind or of a newer format."""


class ModelMismatchError(StorageError):
    """A saved index or store was built with another embedding model or dimension."""


class StoreLockedError(ClaimClusterError):
    """Another process holds the store's write lock."""


class CacheCorruptedWarning(UserWarning):
    """The embedding cache file was unreadable; it was moved aside and rebuilt."""
