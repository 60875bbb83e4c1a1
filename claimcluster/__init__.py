"""claimcluster: find the same assertion repeated across many news outlets.

Sentences are embedded with sentence-transformers and clustered with HDBSCAN so that
paraphrases of one assertion group together.
"""

from claimcluster.claims import Claim, ClaimSet, Member
from claimcluster.cluster import NOISE, ClaimClusterer, cluster_vectors
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
from claimcluster.embed import DEFAULT_MODEL, Embedder, EmbeddingCache
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
)
from claimcluster.index import ClaimIndex, Match, clean_social_text
from claimcluster.pipeline import cluster_documents
from claimcluster.store import ClaimMatch, ClaimStore, StoreLockedError, UpdateReport
from claimcluster.segment import DEFAULT_FURNITURE_RULES, FurnitureRule, normalize_text, segment_documents

__version__ = "0.1.0"

__all__ = [
    "Claim",
    "ClaimIndex",
    "Match",
    "clean_social_text",
    "ClaimClusterer",
    "ClaimClusterError",
    "ClaimSet",
    "ClaimMatch",
    "ClaimStore",
    "StoreLockedError",
    "UpdateReport",
    "CacheCorruptedWarning",
    "Corpus",
    "DEFAULT_FURNITURE_RULES",
    "DEFAULT_MODEL",
    "Document",
    "DocumentError",
    "Embedder",
    "EmbeddingCache",
    "FieldMap",
    "FurnitureRule",
    "InputError",
    "Member",
    "ModelError",
    "ModelIntegrityError",
    "ModelMismatchError",
    "StorageError",
    "NOISE",
    "NotFittedError",
    "Rejection",
    "Sentence",
    "cluster_documents",
    "cluster_vectors",
    "from_dataframe",
    "from_records",
    "load_documents",
    "normalize_text",
    "segment_documents",
    "__version__",
]
