"""The same-assertion judge: a cross-encoder that reads two sentences together.

An embedding places "Kim had ankle surgery" and "Kim has not been seen for a month" close
together, because they are of one story; only a model that reads the two sentences side by side
can tell that a fact-check of one would not settle the other. The judge is the packaged
all-MiniLM-L6-v2 run as a cross-encoder (``[CLS] a [SEP] b [SEP]``, mean pooling) with a learned
low-rank delta on its 36 linear layers, a trained token-type row and a three-way head:

* ``same`` — a fact-check of one would settle the other (attribution does not matter);
* ``contradict`` — the same proposition, asserted by one and denied (or given other figures,
  places, actors) by the other;
* ``other`` — the same story but another assertion, or another story.

Nothing learned ships as a whole model: ``claimcluster/models/judge.safetensors`` (fp16 delta,
the head) and its card ``judge.json`` (base weights and file sha256, thresholds chosen on the
dev partitions, how it was trained) are verified when loaded; ``python -m claimcluster.training
judge`` writes new ones. At run time the judge is exported once to ONNX Runtime (int8 weights within ±64 by
default, or fp32 with torch's probabilities; :mod:`claimcluster.judge._onnx`) and cached; torch is the fallback.

Explicit rules the model blurs stay in force: a pair that states other figures or swaps who did
what to whom (:func:`claimcluster.assertion.assertion_rules`) is a contradiction, not the same
assertion, whatever the model reads.

Example
-------
>>> from claimcluster.judge import shipped_judge
>>> judge = shipped_judge()                                                       # doctest: +SKIP
>>> judge.predict(["Kim had ankle surgery."], ["Kim Jong-un underwent surgery on his ankle."])  # doctest: +SKIP
array([[0.97, 0.01, 0.02]], dtype=float32)
"""

from claimcluster.judge._assess import Assessment, judged_stance, match_relations
from claimcluster.judge._judge import Judgement, SameAssertionJudge, judge_for, shipped_judge
from claimcluster.judge._weights import (
    CONTRADICT,
    JUDGE_CARD,
    JUDGE_FILE,
    LABELS,
    OTHER,
    SAME,
    SHIPPED_JUDGE_DIR,
    base_encoder,
    pooled_logits,
    read_judge_card,
    score_pairs,
    verified_judge_card,
)

__all__ = ["Assessment", "LABELS", "SAME", "CONTRADICT", "OTHER", "JUDGE_FILE", "JUDGE_CARD", "SHIPPED_JUDGE_DIR",
           "Judgement",
           "SameAssertionJudge", "base_encoder", "judge_for", "judged_stance", "match_relations", "pooled_logits",
           "read_judge_card", "score_pairs", "shipped_judge", "verified_judge_card"]
