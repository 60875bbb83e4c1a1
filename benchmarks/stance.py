"""Stance of each headline toward its claim on Emergent: repeats / denies / reports.

    python -m benchmarks.stance --data benchmarks/data/emergent [--split dev|test|train] [--json]

``--split dev`` (the fixed dev partition, the default) and ``--split test`` (the official test
rows) are scored by a StanceScorer fitted on the train partition, which is what ships;
``--split train`` reports 5-fold cross-validation grouped by claim within the train partition.
For each model of ``--models`` (default: the claim-tuned default and the plain base model, side
by side), with the majority class and a cue-word rule as baselines. ``--c-grid`` also scores
other regularisation strengths (how C was chosen, on the dev partition). Reports 3-way
accuracy, macro-F1 and per-class F1. Published figure on the test split: about 0.73 accuracy
(Ferreira & Vlachos 2016).
"""

from __future__ import annotations

import argparse
from pathlib import Path

import numpy as np
from sklearn.metrics import accuracy_score, f1_score
from sklearn.model_selection import GroupKFold

from benchmarks.common import SPLIT_HELP, add_model_option, emit, find_file, machine, partition, read_jsonl
from claimcluster import Embedder
from claimcluster.assertion import HEDGE, NEGATION, STANCES, StanceScorer
from claimcluster.training.data import EMERGENT_STANCE
from claimcluster.training.scorers import STANCE_C


def cue_rule(headlines: list[str]) -> list[str]:
    return ["denies" if NEGATION.search(h) else "reports" if HEDGE.search(h) or "?" in h else "repeats"
            for h in headlines]


def scores(truth, predicted) -> dict:
    per_class = f1_score(truth, predicted, labels=list(STANCES), average=None)
    return {"accuracy": round(accuracy_score(truth, predicted), 4),
            "macro_f1": round(f1_score(truth, predicted, labels=list(STANCES), average="macro"), 4),
            **{f"f1_{s}": round(float(v), 4) for s, v in zip(STANCES, per_class)}}


def predictions(rows: list[dict], held: list[dict], embedder: Embedder, C: float) -> list[str]:
    """Stance of each ``held`` row from a scorer fitted on ``rows`` (grouped CV when ``held`` is empty)."""
    heads, claims = [r["headline"] for r in rows + held], [r["claim"] for r in rows + held]
    vh, vc = embedder.encode(heads), embedder.encode(claims)
    y = [EMERGENT_STANCE[r["stance"]] for r in rows]
    n = len(rows)
    if held:
        splits = [(np.arange(n), np.arange(n, n + len(held)))]
    else:
        splits = list(GroupKFold(5).split(heads, y, [r["claim_id"] for r in rows]))
    out = [""] * len(heads)
    for fit, scored in splits:
        scorer = StanceScorer.fit([heads[i] for i in fit], [claims[i] for i in fit], vh[fit], vc[fit],
                                  [y[i] for i in fit], C=C)
        for i, (label, _) in zip(scored, scorer.predict([heads[i] for i in scored], [claims[i] for i in scored],
                                                         vh[scored], vc[scored])):
            out[i] = label
    return out[n:] if held else out


def main(argv: list[str] | None = None) -> dict:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--data", type=Path, required=True, help="directory holding emergent_headlines.jsonl")
    parser.add_argument("--split", choices=["dev", "test", "train"], default="dev", help=SPLIT_HELP)
    add_model_option(parser)
    parser.add_argument("--c-grid", action="store_true", help="also score C = 0.001 / 0.01 / 0.1 / 1")
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args(argv)

    rows = read_jsonl(find_file(args.data, "emergent_headlines.jsonl"))
    train = partition(rows, "train", lambda r: r["claim_id"])
    held = [] if args.split == "train" else partition(rows, args.split, lambda r: r["claim_id"])
    if args.split != "train" and not held:
        raise SystemExit(f"no rows in split {args.split!r} of {args.data}")
    scored = held or train
    truth = [EMERGENT_STANCE[r["stance"]] for r in scored]
    heads = [r["headline"] for r in scored]
    majority = max(set(truth), key=truth.count)
    result: dict = {"split": args.split, "headlines": len(scored),
                    "protocol": "5-fold CV grouped by claim in the train partition" if not held
                    else "fitted on the train partition, scored on the split",
                    "cue_words": scores(truth, cue_rule(heads)),
                    f"majority_{majority}": scores(truth, [majority] * len(truth)), "models": {}}
    for model in args.models:
        embedder = Embedder(model)
        entry = {"model_id": embedder.model_id,
                 "stance_scorer": scores(truth, predictions(train, held, embedder, STANCE_C))}
        if args.c_grid:
            entry["c_grid"] = {str(c): scores(truth, predictions(train, held, embedder, c))["accuracy"]
                               for c in (0.001, 0.01, 0.1, 1.0)}
        result["models"][model] = entry
    result["accuracy"] = result["models"][args.models[0]]["stance_scorer"]["accuracy"]
    result["machine"] = machine()
    emit(result, args.json)
    return result


if __name__ == "__main__":
    main()
