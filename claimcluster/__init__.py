"""claimcluster: find the same assertion repeated across many news outlets.

Sentences are embedded with sentence-transformers and clustered with HDBSCAN so that
paraphrases of one assertion group together; a FAISS index matches new text to known claims.
"""

from claimcluster._fusion import DEFAULT_FUSION, FusionWeights
from claimcluster._version import __version__
from claimcluster.assertion import Relation, RuleVerdicts
from claimcluster.claims import Claim, ClaimSet, Member
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
from claimcluster.index import ClaimIndex, Match
from claimcluster.pipeline import cluster_documents
from claimcluster.report import render_html, render_markdown, render_text
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
    "BASE_MODEL",
    "CacheCorruptedWarning",
    "Claim",
    "ClaimClusterError",
    "ClaimClusterer",
    "ClaimIndex",
    "ClaimMatch",
    "ClaimSet",
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
    "Match",
    "Member",
    "ModelError",
    "ModelIntegrityError",
    "ModelMismatchError",
    "NOISE",
    "NotFittedError",
    "Rejection",
    "Relation",
    "RuleVerdicts",
    "Segmentation",
    "Sentence",
    "StorageError",
    "StoreLockedError",
    "UpdateReport",
    "__version__",
    "clean_social_text",
    "cluster_documents",
    "cluster_vectors",
    "from_dataframe",
    "from_records",
    "load_documents",
    "normalize_text",
    "render_html",
    "render_markdown",
    "render_text",
    "segment_documents",
]
