"""Stance of each headline toward its claim on Emergent: repeats / denies / reports.

    python -m benchmarks.stance --data benchmarks/data/emergent [--split train|test] [--json]

``--split train`` (or a file with train rows only): 5-fold cross-validation grouped by claim
(no claim in both folds), the StanceScorer retrained on each fold's training rows.
``--split test``: trained on all train rows, scored on the test rows. Reports 3-way accuracy,
macro-F1 and per-class F1, with the majority class and a cue-word rule as baselines.
Published figure on the test split: about 0.73 accuracy (Ferreira & Vlachos 2016).
"""

from __future__ import annotations

import argparse
from pathlib import Path

import numpy as np
from sklearn.metrics import accuracy_score, f1_score
from sklearn.model_selection import GroupKFold

from benchmarks.common import emit, find_file, machine, read_jsonl
from claimcluster import Embedder
from claimcluster.assertion import HEDGE, NEGATION, STANCES, StanceScorer
from claimcluster.training import EMERGENT_STANCE


def cue_rule(headlines: list[str]) -> list[str]:
    return ["denies" if NEGATION.search(h) else "reports" if HEDGE.search(h) or "?" in h else "repeats"
            for h in headlines]


def scores(truth, predicted) -> dict:
    per_class = f1_score(truth, predicted, labels=list(STANCES), average=None)
    return {"accuracy": round(accuracy_score(truth, predicted), 4),
            "macro_f1": round(f1_score(truth, predicted, labels=list(STANCES), average="macro"), 4),
            **{f"f1_{s}": round(float(v), 4) for s, v in zip(STANCES, per_class)}}


def main(argv: list[str] | None = None) -> dict:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--data", type=Path, required=True, help="directory holding emergent_headlines.jsonl")
    parser.add_argument("--split", choices=["train", "test"], default="train")
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args(argv)

    rows = read_jsonl(find_file(args.data, "emergent_headlines.jsonl"))
    train = [r for r in rows if r.get("split", "train") == "train"]
    test = [r for r in rows if r.get("split") == "test"]
    if args.split == "test" and not test:
        raise SystemExit("no test rows in this file: use --split train for grouped cross-validation")
    embedder = Embedder()

    def encode(part):
        heads, claims = [r["headline"] for r in part], [r["claim"] for r in part]
        return heads, claims, embedder.encode(heads), embedder.encode(claims), [EMERGENT_STANCE[r["stance"]] for r in part]

    h, c, vh, vc, y = encode(train)
    if args.split == "test":
        scorer = StanceScorer.fit(h, c, vh, vc, y)
        th, tc, tvh, tvc, truth = encode(test)
        predicted = [p for p, _ in scorer.predict(th, tc, tvh, tvc)]
        scored_heads, protocol = th, "trained on train rows, scored on test rows"
    else:
        predicted = [""] * len(h)
        groups = [r["claim_id"] for r in train]
        for fit, held in GroupKFold(5).split(h, y, groups):
            scorer = StanceScorer.fit([h[i] for i in fit], [c[i] for i in fit], vh[fit], vc[fit], [y[i] for i in fit])
            for i, (label, _) in zip(held, scorer.predict([h[i] for i in held], [c[i] for i in held], vh[held],
                                                          vc[held])):
                predicted[i] = label
        truth, scored_heads, protocol = y, h, "5-fold CV grouped by claim on train rows"
    majority = max(set(y), key=y.count)
    systems = {"stance_scorer": scores(truth, predicted),
               "cue_words": scores(truth, cue_rule(scored_heads)),
               f"majority_{majority}": scores(truth, [majority] * len(truth))}
    result = {"split": args.split, "protocol": protocol, "headlines": len(truth),
              "accuracy": systems["stance_scorer"]["accuracy"], "macro_f1": systems["stance_scorer"]["macro_f1"],
              "systems": systems, "machine": machine()}
    emit(result, args.json)
    return result


if __name__ == "__main__":
    main()
