"""How sentences become claims: one frozen, checked settings object for :func:`claimcluster.cluster_documents`,
a :class:`claimcluster.ClaimStore` (which keeps it for every update) and the command line."""

from __future__ import annotations

from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any, Literal

from claimcluster._validate import check_cohesion, check_k
from claimcluster.cluster import DEFAULT_MIN_SAMPLES
from claimcluster.errors import ClaimClusterError, InputError, StorageError
from claimcluster.models import min_cohesion_for

__all__ = ["ClaimSettings", "GRANULARITIES"]

GRANULARITIES = ("claim", "assertion")
MAX_SIZE = 10**9
"""The largest min_cluster_size / min_samples a store accepts."""


@dataclass(frozen=True)
class ClaimSettings:
    """How sentences become claims; every value is checked when the object is made (InputError naming it).

    Parameters
    ----------
    min_cluster_size : int >= 2 or "auto"
        Fewest sentences that make a claim ("auto": by corpus size; a store needs an integer).
    min_samples : int >= 1 or None
        HDBSCAN's density parameter (None: ``min_cluster_size``).
    min_cohesion : float in [-1, 1] or None
        Least mean cosine of a claim's members (None: the embedding model's, :func:`for_model`).
    granularity : {"claim", "assertion"}
        "assertion" keeps denials, other figures and swapped roles out of a claim.
    judge : "auto", None, a SameAssertionJudge, or a judge id (as a store records it)
        Who reads each member against its claim's representative.
    """

    min_cluster_size: int | Literal["auto"] = "auto"
    min_samples: int | None = DEFAULT_MIN_SAMPLES
    min_cohesion: float | None = None
    granularity: Literal["claim", "assertion"] = "claim"
    judge: Any = "auto"

    def __post_init__(self) -> None:
        size = self.min_cluster_size
        if isinstance(size, str):
            if size != "auto":
                raise InputError(f"min_cluster_size must be an integer or 'auto', got {size!r}")
        else:
            object.__setattr__(self, "min_cluster_size", check_k(size, name="min_cluster_size", minimum=2))
        if self.min_samples is not None:
            object.__setattr__(self, "min_samples", check_k(self.min_samples, name="min_samples"))
        if self.min_cohesion is not None:
            object.__setattr__(self, "min_cohesion", check_cohesion(self.min_cohesion))
        if self.granularity not in GRANULARITIES:
            raise InputError(f"granularity must be 'claim' or 'assertion', got {self.granularity!r}")

    def for_model(self, model_id: str) -> ClaimSettings:
        """These settings with the embedding model's cohesion bar where none was given."""
        return self if self.min_cohesion is not None else replace(self, min_cohesion=min_cohesion_for(model_id))

    def for_store(self) -> ClaimSettings:
        """These settings as a store keeps them: integers throughout (InputError for "auto")."""
        if self.min_cluster_size == "auto":
            raise InputError("a store needs an integer min_cluster_size (it keeps one for every update), got 'auto'")
        size = int(self.min_cluster_size)
        if size > MAX_SIZE or (self.min_samples or 0) > MAX_SIZE:
            raise InputError(f"min_cluster_size and min_samples must be at most {MAX_SIZE}")
        return replace(self, min_samples=size if self.min_samples is None else self.min_samples)

    def numbers(self) -> tuple[int, int, float]:
        """(min_cluster_size, min_samples, min_cohesion) of settings made whole by :meth:`for_store` and
        :meth:`for_model`, as a store keeps them."""
        size, samples, cohesion = self.min_cluster_size, self.min_samples, self.min_cohesion
        if isinstance(size, str) or samples is None or cohesion is None:
            raise InputError(f"{self} are not whole: call for_store() and for_model() first")
        return size, samples, cohesion

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready values (the judge by its id)."""
        judge = self.judge if self.judge is None or isinstance(self.judge, str) else self.judge.judge_id
        return {"min_cluster_size": self.min_cluster_size, "min_samples": self.min_samples,
                "min_cohesion": self.min_cohesion, "granularity": self.granularity, "judge": judge}

    @classmethod
    def stored(cls, values: Any, where: Path) -> ClaimSettings:
        """The settings a store recorded, checked as when they were given; StorageError for anything else.
        A store made before the judge (no ``judge`` key) keeps the clustering rule alone."""
        try:
            if not isinstance(values, dict) or not isinstance(values.get("judge"), (str, type(None))):
                raise InputError("judge must be an id or null")
            settings = cls(min_cluster_size=values["min_cluster_size"], min_samples=values["min_samples"],
                           min_cohesion=values["min_cohesion"], granularity=values.get("granularity", "claim"),
                           judge=values.get("judge"))
            if settings.min_cohesion is None:
                raise InputError("min_cohesion is missing")
            return settings.for_store()
        except (KeyError, TypeError, ClaimClusterError) as exc:
            raise StorageError(f"{where}: the store's settings are out of range ({values}): {exc}; the store is "
                               "damaged") from None
