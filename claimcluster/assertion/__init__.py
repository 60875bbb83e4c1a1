"""Every "same assertion?" decision, and every shipped model that makes one.

* :mod:`._rules` — explicit rules an embedding blurs: different figures, opposite polarity,
  swapped roles (:func:`assertion_rules`);
* :mod:`._features` — the named feature schemas of the learned models;
* :mod:`._models` — the one file format and loader of the shipped models (embedding model and
  feature schema checked);
* :mod:`._scorers` — :class:`PairScorer` (same assertion?), :class:`StanceScorer` (repeats /
  denies / reports a claim), :class:`Reranker` (order of matching candidates);
* :mod:`._relate` — how a sentence relates to a claim (:func:`relate`).

The judge (:mod:`claimcluster.judge`) reads pairs together on top of these; splitting a claim into its
assertions is part of claim assembly (:func:`claimcluster.claims.split_assertions`).

Example
-------
>>> from claimcluster.assertion import assertion_rules
>>> assertion_rules(["Israel accused Hamas of breaking the truce."],
...                 ["Hamas accused Israel of breaking the truce."]).broken(0)
('roles',)
"""

from claimcluster.assertion._features import clear_overlap_cache, overlap_features, pair_features, stance_features
from claimcluster.assertion._relate import Relation, relate, script
from claimcluster.assertion._rules import (
    HEDGE,
    NEGATION,
    RuleVerdicts,
    assertion_rules,
    negated,
    numbers,
    numbers_conflict,
    roles_swapped,
)
from claimcluster.assertion._scorers import (
    STANCES,
    PairScorer,
    Reranker,
    StanceScorer,
    shipped_pair_scorer,
    shipped_reranker,
    shipped_stance_scorer,
)

__all__ = [
    "HEDGE",
    "NEGATION",
    "STANCES",
    "PairScorer",
    "Relation",
    "Reranker",
    "RuleVerdicts",
    "StanceScorer",
    "assertion_rules",
    "clear_overlap_cache",
    "negated",
    "numbers",
    "numbers_conflict",
    "overlap_features",
    "pair_features",
    "relate",
    "roles_swapped",
    "shipped_pair_scorer",
    "shipped_reranker",
    "shipped_stance_scorer",
    "script",
    "stance_features",
]
