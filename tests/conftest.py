"""Shared fixtures: the real packaged model, the seed corpus, synthetic unit-sphere blobs."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from claimcluster import Embedder, load_documents

ROOT = Path(__file__).resolve().parent.parent
SEEDS = ROOT / "seeds"
DATA = ROOT / "benchmarks" / "data"


@pytest.fixture(scope="session")
def embedder() -> Embedder:
    """The real default model, loaded once for the whole run."""
    return Embedder()


@pytest.fixture(scope="session")
def seed_corpus():
    return load_documents([SEEDS])


def unit_blobs(n_clusters: int = 4, per_cluster: int = 25, dim: int = 32, spread: float = 0.08, seed: int = 0,
               n_noise: int = 0):
    """Unit vectors around random centres on the sphere, plus uniform noise; returns (X, y)."""
    rng = np.random.default_rng(seed)
    centres = rng.normal(size=(n_clusters, dim))
    centres /= np.linalg.norm(centres, axis=1, keepdims=True)
    X = np.repeat(centres, per_cluster, axis=0) + spread * rng.normal(size=(n_clusters * per_cluster, dim))
    y = np.repeat(np.arange(n_clusters), per_cluster)
    if n_noise:
        X = np.vstack([X, rng.normal(size=(n_noise, dim))])
        y = np.concatenate([y, np.full(n_noise, -1)])
    X /= np.linalg.norm(X, axis=1, keepdims=True)
    return X.astype(np.float32), y
