"""claimcluster: find the same assertion repeated across many news outlets.

Sentences are embedded with sentence-transformers and clustered with HDBSCAN so that
paraphrases of one assertion group together; a FAISS index matches new text to known claims.
"""

import importlib
from typing import TYPE_CHECKING

from claimcluster._version import __version__

# Names are imported on first use (PEP 562), so a command that only reads a store does not load the
# embedding, clustering and assertion stacks. Type checkers and IDEs read the imports below.
_LAZY = {
    "Assessment": "claimcluster.judge",
    "BASE_MODEL": "claimcluster.embed",
    "CacheCorruptedWarning": "claimcluster.errors",
    "Claim": "claimcluster.claims",
    "ClaimClusterError": "claimcluster.errors",
    "ClaimClusterer": "claimcluster.cluster",
    "ClaimIndex": "claimcluster.index",
    "ClaimMatch": "claimcluster.store",
    "ClaimSet": "claimcluster.claims",
    "ClaimSettings": "claimcluster.claims.settings",
    "ClaimStore": "claimcluster.store",
    "ClusterResult": "claimcluster.cluster",
    "Corpus": "claimcluster.documents",
    "DEFAULT_FURNITURE_RULES": "claimcluster.segment",
    "DEFAULT_FUSION": "claimcluster.index._fusion",
    "DEFAULT_MODEL": "claimcluster.embed",
    "Document": "claimcluster.documents",
    "DocumentError": "claimcluster.errors",
    "Embedder": "claimcluster.embed",
    "EmbeddingCache": "claimcluster.embed",
    "FieldMap": "claimcluster.documents",
    "FurnitureRule": "claimcluster.segment",
    "FusionWeights": "claimcluster.index._fusion",
    "Judgement": "claimcluster.judge",
    "InputError": "claimcluster.errors",
    "Match": "claimcluster.index",
    "Member": "claimcluster.claims",
    "ModelError": "claimcluster.errors",
    "ModelIntegrityError": "claimcluster.errors",
    "ModelMismatchError": "claimcluster.errors",
    "NOISE": "claimcluster.cluster",
    "NotFittedError": "claimcluster.errors",
    "Rejection": "claimcluster.documents",
    "SameAssertionJudge": "claimcluster.judge",
    "Relation": "claimcluster.assertion",
    "RuleVerdicts": "claimcluster.assertion",
    "Segmentation": "claimcluster.segment",
    "Sentence": "claimcluster.documents",
    "StorageError": "claimcluster.errors",
    "StoreLockedError": "claimcluster.errors",
    "UpdateReport": "claimcluster.store",
    "clean_social_text": "claimcluster.segment",
    "cluster_documents": "claimcluster.pipeline",
    "cluster_files": "claimcluster.pipeline",
    "cluster_vectors": "claimcluster.cluster",
    "form_claims": "claimcluster.claims.formation",
    "from_dataframe": "claimcluster.documents",
    "gate_reasons": "claimcluster.gate",
    "from_records": "claimcluster.documents",
    "load_documents": "claimcluster.documents",
    "normalize_text": "claimcluster.segment",
    "render_html": "claimcluster.report",
    "render_markdown": "claimcluster.report",
    "render_matches": "claimcluster.report",
    "render_text": "claimcluster.report",
    "render_timeline": "claimcluster.report",
    "segment_documents": "claimcluster.segment",
    "ray_documents": "claimcluster._ray",
}


def __getattr__(name: str):
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module 'claimcluster' has no attribute {name!r}")
    value = getattr(importlib.import_module(module), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted(__all__)


if TYPE_CHECKING:
    from claimcluster._ray import ray_documents
    from claimcluster.assertion import Relation, RuleVerdicts
    from claimcluster.claims import Claim, ClaimSet, Member
    from claimcluster.claims.formation import form_claims
    from claimcluster.claims.settings import ClaimSettings
    from claimcluster.cluster import NOISE, ClaimClusterer, ClusterResult, cluster_vectors
    from claimcluster.documents import (
        Corpus,
        Document,
        FieldMap,
        Rejection,
        Sentence,
        from_dataframe,
        from_records,
        load_documents,
    )
    from claimcluster.embed import BASE_MODEL, DEFAULT_MODEL, Embedder, EmbeddingCache
    from claimcluster.errors import (
        CacheCorruptedWarning,
        ClaimClusterError,
        DocumentError,
        InputError,
        ModelError,
        ModelIntegrityError,
        ModelMismatchError,
        NotFittedError,
        StorageError,
        StoreLockedError,
    )
    from claimcluster.gate import gate_reasons
    from claimcluster.index import ClaimIndex, Match
    from claimcluster.index._fusion import DEFAULT_FUSION, FusionWeights
    from claimcluster.judge import Assessment, Judgement, SameAssertionJudge
    from claimcluster.pipeline import cluster_documents, cluster_files
    from claimcluster.report import render_html, render_markdown, render_matches, render_text, render_timeline
    from claimcluster.segment import (
        DEFAULT_FURNITURE_RULES,
        FurnitureRule,
        Segmentation,
        clean_social_text,
        normalize_text,
        segment_documents,
    )
    from claimcluster.store import ClaimMatch, ClaimStore, UpdateReport

__all__ = [
    "Assessment",
    "BASE_MODEL",
    "CacheCorruptedWarning",
    "Claim",
    "ClaimClusterError",
    "ClaimClusterer",
    "ClaimIndex",
    "ClaimMatch",
    "ClaimSet",
    "ClaimSettings",
    "ClaimStore",
    "ClusterResult",
    "Corpus",
    "DEFAULT_FURNITURE_RULES",
    "DEFAULT_FUSION",
    "DEFAULT_MODEL",
    "Document",
    "DocumentError",
    "Embedder",
    "EmbeddingCache",
    "FieldMap",
    "FurnitureRule",
    "FusionWeights",
    "InputError",
    "Judgement",
    "Match",
    "Member",
    "ModelError",
    "ModelIntegrityError",
    "ModelMismatchError",
    "NOISE",
    "NotFittedError",
    "Rejection",
    "Relation",
    "SameAssertionJudge",
    "RuleVerdicts",
    "Segmentation",
    "Sentence",
    "StorageError",
    "StoreLockedError",
    "UpdateReport",
    "__version__",
    "clean_social_text",
    "cluster_documents",
    "cluster_files",
    "cluster_vectors",
    "form_claims",
    "from_dataframe",
    "gate_reasons",
    "from_records",
    "load_documents",
    "normalize_text",
    "ray_documents",
    "render_html",
    "render_markdown",
    "render_matches",
    "render_text",
    "render_timeline",
    "segment_documents",
]
