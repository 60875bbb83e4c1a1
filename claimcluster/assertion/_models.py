"""The shipped learned models: one JSON format, one loader, model and feature schema checked.

Every model file in ``claimcluster/models/`` is a JSON object::

    {"format": "claimcluster-linear", "version": 1, "kind": "stance" | "pair" | "rerank",
     "model_id": <embedding model it learned with, or null if it reads no vectors>,
     "features": [<column names, the builder's schema>], "classes": [...],
     "mean": [...], "scale": [...], "coef": [[...]], "intercept": [...], "meta": {...}, ...}

:func:`load_model` finds the file of a kind trained with the caller's embedding model (or,
failing that, one that reads no vectors), and refuses a file whose feature schema differs
from the one this claimcluster computes. ``python -m claimcluster.training scorers`` writes them.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path
from typing import Any

import numpy as np

from claimcluster._files import atomic_write_text
from claimcluster.embed._onnx import source_model_id
from claimcluster.errors import ModelMismatchError, StorageError
from claimcluster.models import MODEL_DIR

FORMAT = "claimcluster-linear"
VERSION = 1


@dataclass
class LinearModel:
    """Standardise, then a linear score; with ``classes``, a (multinomial) logistic regression."""

    features: tuple[str, ...]
    mean: np.ndarray
    scale: np.ndarray
    coef: np.ndarray
    intercept: np.ndarray
    classes: tuple[str, ...] = ()
    meta: dict[str, Any] = field(default_factory=dict)

    def decision(self, X: np.ndarray) -> np.ndarray:
        """Linear scores (n, n_coef) of the standardised features."""
        return ((X - self.mean) / self.scale) @ self.coef.T + self.intercept

    def proba(self, X: np.ndarray) -> np.ndarray:
        """Class probabilities (n, n_classes) in the order of ``classes``."""
        z = self.decision(X)
        if len(self.classes) == 2 and z.shape[1] == 1:
            p = 1.0 / (1.0 + np.exp(-z[:, 0]))
            return np.column_stack([1 - p, p])
        z -= z.max(axis=1, keepdims=True)
        e = np.exp(z)
        return e / e.sum(axis=1, keepdims=True)

    @classmethod
    def fit(cls, X: np.ndarray, y, *, features: tuple[str, ...], C: float) -> LinearModel:
        from sklearn.linear_model import LogisticRegression

        mean, scale = standardiser(X)
        model = LogisticRegression(C=C, max_iter=2000).fit((X - mean) / scale, list(y))
        return cls(features, mean, scale, model.coef_, model.intercept_, tuple(str(c) for c in model.classes_))

    def to_json(self) -> dict[str, Any]:
        return {"features": list(self.features), "classes": list(self.classes), "mean": self.mean.tolist(),
                "scale": self.scale.tolist(), "coef": self.coef.tolist(), "intercept": self.intercept.tolist(),
                "meta": self.meta}

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> LinearModel:
        def array(key: str) -> np.ndarray:
            return np.asarray(data[key], dtype=np.float64)

        return cls(tuple(data["features"]), array("mean"), array("scale"), np.atleast_2d(array("coef")),
                   array("intercept"), tuple(data.get("classes", ())), dict(data.get("meta", {})))


def standardiser(X: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Column means and standard deviations (constant columns get scale 1)."""
    scale = X.std(axis=0)
    scale[scale < 1e-9] = 1.0
    return X.mean(axis=0), scale


def model_json(kind: str, model_id: str | None, linear: LinearModel, **extra: Any) -> dict[str, Any]:
    """The one file format, for :func:`save_model`."""
    return {"format": FORMAT, "version": VERSION, "kind": kind, "model_id": model_id, **linear.to_json(), **extra}


def save_model(path: Path, data: dict[str, Any]) -> None:
    atomic_write_text(path, json.dumps(data) + "\n")


@lru_cache(maxsize=16)
def _read(path: str, mtime_ns: int) -> dict[str, Any]:
    try:
        with open(path, encoding="utf-8") as fh:
            data = json.load(fh)
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise StorageError(f"cannot read model file {path}: {exc}") from None
    if not isinstance(data, dict) or data.get("format") != FORMAT or data.get("version", 0) > VERSION:
        raise StorageError(f"{path} is not a claimcluster model file of version <= {VERSION}")
    return data


def read_model(path: Path) -> dict[str, Any]:
    """One model file, parsed and cached (re-read when it changes)."""
    return _read(str(path), path.stat().st_mtime_ns)


def load_model(kind: str, model_id: str | None, schema: tuple[str, ...], *,
               path: str | Path | None = None) -> dict[str, Any]:
    """The model of ``kind`` for embedding model ``model_id``, its feature schema checked.

    Without ``path`` the shipped files are searched: first one trained with ``model_id``, then
    one trained with the model it was exported from (an int8 ONNX export), then one that reads
    no vectors (``model_id`` null). With ``path`` that file must fit."""
    candidates = [Path(path)] if path is not None else sorted(MODEL_DIR.glob(f"{kind}-*.json"))
    found = [(p, d) for p in candidates if (d := _maybe(p)) is not None and d.get("kind") == kind]
    chosen = next(((p, d) for p, d in found if d.get("model_id") == model_id), None)
    # An int8 export has vectors close to its source model's: its source's models serve it.
    source = source_model_id(model_id) if model_id is not None else None
    chosen = chosen or next(((p, d) for p, d in found if d.get("model_id") == source), None)
    chosen = chosen or next(((p, d) for p, d in found if d.get("model_id") is None), None)
    if chosen is None:
        trained = sorted({str(d.get("model_id")) for _, d in found}) or ["none"]
        raise ModelMismatchError(
            f"no {kind} model for embedding model {model_id} (shipped: {', '.join(trained)}); train one with "
            f"python -m claimcluster.training scorers --model <your model>")
    file, data = chosen
    if tuple(data.get("features", ())) != schema:
        raise ModelMismatchError(f"{file} was trained on other {kind} features than this claimcluster computes: "
                                 "retrain it with python -m claimcluster.training scorers")
    return data


def _maybe(path: Path) -> dict[str, Any] | None:
    if path.name.startswith("encoder-delta"):
        return None
    return read_model(path)
