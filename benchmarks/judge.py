"""The same-assertion judge against cosines and the pair model, on labelled news sentence pairs.

    python -m benchmarks.judge --data DIR [--split dev|train|all] [--judge DIR] [--json]

``DIR`` holds ``fnc1_assertion_pairs_train/pairs.jsonl`` (or is that folder, or the file): sentence
pairs labelled same / contradict / related / unrelated by reading (its PROTOCOL.md). ``dev`` is the
fixed dev partition the judge's thresholds were chosen on (:mod:`claimcluster.training.judge`);
``train`` what it learned from (in-sample); ``all`` every row (for another labelled copy, such as a
held-out set of other articles). Scored: `same` against related + unrelated (contradictions left
out), for each scorer the ROC AUC, the precision at recall 0.80 and 0.65, and the judge's own
decision at its shipped threshold; then the same by sampling stratum.
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path

import numpy as np

from benchmarks.common import emit, find_file, machine, read_jsonl
from claimcluster import BASE_MODEL, DEFAULT_MODEL, Embedder
from claimcluster.training.judge import fnc1_partition, precision_at_recall


def _figures(score: np.ndarray, positive: np.ndarray) -> dict:
    from sklearn.metrics import roc_auc_score

    if positive.all() or not positive.any():
        return {"pairs": len(score)}
    return {"pairs": len(score), "roc_auc": round(float(roc_auc_score(positive, score)), 4),
            "precision_at_recall_0.80": round(precision_at_recall(score, positive, 0.80)[0], 4),
            "precision_at_recall_0.65": round(precision_at_recall(score, positive, 0.65)[0], 4)}


def main(argv: list[str] | None = None) -> dict:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--data", type=Path, required=True, help="folder holding fnc1_assertion_pairs_train/")
    parser.add_argument("--split", choices=["dev", "train", "all"], default="dev")
    parser.add_argument("--judge", type=Path, default=None, help="judge directory (default: the shipped one)")
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args(argv)
    folder = args.data / "fnc1_assertion_pairs_train"
    rows = read_jsonl(find_file(folder if folder.is_dir() else args.data, "pairs.jsonl"))
    if args.split != "all":
        train, dev = fnc1_partition(rows)
        rows = dev if args.split == "dev" else train
    rows = [r for r in rows if r["label"] != "contradict"]
    a, b = [r["a"] for r in rows], [r["b"] for r in rows]
    positive = np.array([r["label"] == "same" for r in rows])
    strata = np.array([r.get("stratum", "") for r in rows])
    scores: dict[str, np.ndarray] = {}
    for model in (BASE_MODEL, DEFAULT_MODEL):
        embedder = Embedder(model)
        va, vb = embedder.encode(a), embedder.encode(b)
        scores[f"cosine {model}"] = np.einsum("ij,ij->i", va, vb)
        if model == DEFAULT_MODEL:
            from claimcluster.assertion import shipped_pair_scorer

            pair = shipped_pair_scorer(embedder.model_id)
            if pair is not None:
                scores["pair model (previous)"] = pair.score(a, b, va, vb)
    from claimcluster.judge import SameAssertionJudge

    judge = SameAssertionJudge(args.judge)
    started = time.perf_counter()
    verdict = judge.judge(a, b)
    seconds = time.perf_counter() - started
    scores["judge"] = verdict.same
    accepted = verdict.accepted
    hits = int((accepted & positive).sum())
    plain = judge.judge(a, b, rules=False).accepted
    plain_hits = int((plain & positive).sum())
    result: dict = {
        "split": args.split, "pairs": len(rows), "same": int(positive.sum()), "judge_id": judge.judge_id,
        "scorers": {name: _figures(score, positive) for name, score in scores.items()},
        "judge_decision": {"threshold": verdict.same_threshold, "accepted": int(accepted.sum()),
                           "precision": round(hits / max(int(accepted.sum()), 1), 4),
                           "recall": round(hits / max(int(positive.sum()), 1), 4),
                           "without_rules": {"accepted": int(plain.sum()),
                                             "precision": round(plain_hits / max(int(plain.sum()), 1), 4),
                                             "recall": round(plain_hits / max(int(positive.sum()), 1), 4)}},
        "by_stratum": {s: {name: _figures(score[strata == s], positive[strata == s]).get("precision_at_recall_0.80")
                           for name, score in scores.items()} for s in sorted(set(strata)) if s},
        "judge_pairs_per_second": round(len(rows) / seconds, 1),
        "machine": machine(),
    }
    emit(result, args.json)
    return result


if __name__ == "__main__":
    main()
