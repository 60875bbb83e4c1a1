"""Claims: the records a clustering run gives (:class:`Claim`, :class:`Member`, :class:`ClaimSet`), the one
assembly that makes them from labels (:mod:`._assemble`), and claim formation with the same-assertion judge
(:mod:`.formation`)."""

from claimcluster.claims._assemble import (
    Judged,
    assemble_claim,
    build_claims,
    claim_cohesion,
    member_stances,
    split_assertions,
)
from claimcluster.claims._records import STANCE_ORDER, Claim, ClaimSet, Member, member_of, spread_order

__all__ = ["STANCE_ORDER", "Claim", "ClaimSet", "Judged", "Member", "assemble_claim", "build_claims", "claim_cohesion",
           "member_of", "member_stances", "split_assertions", "spread_order"]
