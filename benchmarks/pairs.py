"""Same-claim pair decision on MRPC: accuracy and F1 of claimcluster's pair scorer and of baselines.

    python -m benchmarks.pairs --data benchmarks/data/mrpc [--split train|test] [--json]

The threshold is never chosen on the pairs it is scored on. ``--split train`` (or a file with
train rows only) reports 10-fold cross-validation over train rows; ``--split test`` chooses
the threshold on all train rows and scores the test rows. Reported side by side:
claimcluster's pair decision (PairScorer retrained inside every fold on that fold's training
rows, its cut chosen there too, plus the assertion rules: different figures, opposite
polarity or swapped roles are never the same assertion), the PairScorer model alone (MRPC's own notion of
paraphrase, which often tolerates another figure), the embedding cosine alone, and a TF-IDF
cosine (the lexical floor). Also reported: pairs
scored per second by the shipped PairScorer on vectors already computed (the embedding
itself is the Embedder's cost, see benchmarks/stsb.py).
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path

import numpy as np
from sklearn.feature_extraction.text import TfidfVectorizer
from sklearn.metrics import accuracy_score, f1_score
from sklearn.model_selection import StratifiedKFold

from benchmarks.common import emit, find_file, machine, read_jsonl
from claimcluster import Embedder
from claimcluster.assertion import PairScorer, any_conflict, assertion_rules, clear_overlap_cache


def best_threshold(scores: np.ndarray, labels: np.ndarray) -> float:
    candidates = np.unique(np.round(scores, 3))
    f1s = [f1_score(labels, scores >= t) for t in candidates]
    return float(candidates[int(np.argmax(f1s))])


def evaluate(train_scores, train_labels, test_scores=None, test_labels=None) -> dict:
    """Threshold chosen on train; scored on test, or by 10-fold CV when no test is given."""
    if test_scores is not None:
        t = best_threshold(train_scores, train_labels)
        predicted = test_scores >= t
        return {"accuracy": round(accuracy_score(test_labels, predicted), 4),
                "f1": round(f1_score(test_labels, predicted), 4), "threshold": t}
    predicted = np.zeros(len(train_labels), dtype=bool)
    thresholds = []
    for fit, held in StratifiedKFold(10, shuffle=True, random_state=0).split(train_scores, train_labels):
        t = best_threshold(train_scores[fit], train_labels[fit])
        thresholds.append(t)
        predicted[held] = train_scores[held] >= t
    return {"accuracy": round(accuracy_score(train_labels, predicted), 4),
            "f1": round(f1_score(train_labels, predicted), 4), "threshold_mean": round(float(np.mean(thresholds)), 3)}


def pair_scorer(first, second, va, vb, labels, n_train: int, has_test: bool) -> dict[str, dict]:
    """PairScorer trained on training rows only: all train rows for test, else each CV fold's.

    Scored twice: the default decision (model and assertion rules) and the model alone."""
    if has_test:
        scorer = PairScorer.fit(first[:n_train], second[:n_train], va[:n_train], vb[:n_train], labels[:n_train])
        model_says = scorer.same(first[n_train:], second[n_train:], va[n_train:], vb[n_train:], rules=False)
        held_rows = np.arange(n_train, len(labels))
    else:
        model_says = np.zeros(n_train, dtype=bool)
        for fit, held in StratifiedKFold(10, shuffle=True, random_state=0).split(va[:n_train], labels[:n_train]):
            scorer = PairScorer.fit([first[i] for i in fit], [second[i] for i in fit], va[fit], vb[fit], labels[fit])
            model_says[held] = scorer.same([first[i] for i in held], [second[i] for i in held], va[held], vb[held],
                                           rules=False)
        held_rows = np.arange(n_train)
    truth = labels[held_rows]
    rules = assertion_rules([first[i] for i in held_rows], [second[i] for i in held_rows])
    conflicts = any_conflict(rules)
    out = {}
    for name, predicted in (("pair_scorer", model_says & ~conflicts), ("pair_scorer_model_only", model_says)):
        out[name] = {"accuracy": round(accuracy_score(truth, predicted), 4), "f1": round(f1_score(truth, predicted), 4)}
    out["pair_scorer"]["pairs_vetoed_by_rules"] = int(conflicts.sum())
    # Each rule on its own (a pair can break several), and how many of its pairs MRPC calls paraphrases.
    out["pair_scorer"]["vetoes_by_rule"] = {
        name: {"pairs": int(flags.sum()), "mrpc_paraphrases": int(truth[flags].sum())} for name, flags in rules.items()}
    return out


def main(argv: list[str] | None = None) -> dict:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--data", type=Path, required=True, help="directory holding mrpc.jsonl (or the file)")
    parser.add_argument("--split", choices=["train", "test"], default="train")
    parser.add_argument("--model", default="all-MiniLM-L6-v2")
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args(argv)

    rows = read_jsonl(find_file(args.data, "mrpc.jsonl"))
    train = [r for r in rows if r.get("split", "train") == "train"]
    test = [r for r in rows if r.get("split") == "test"] if args.split == "test" else []
    if args.split == "test" and not test:
        raise SystemExit("no test rows in this file: use --split train for cross-validation")
    everything = train + test
    first = [r["sentence1"] for r in everything]
    second = [r["sentence2"] for r in everything]
    labels = np.array([int(r["label"]) for r in everything])
    n_train = len(train)

    vectors = Embedder(args.model).encode(first + second)
    cosine = np.sum(vectors[: len(everything)] * vectors[len(everything) :], axis=1)
    tfidf = TfidfVectorizer(sublinear_tf=True).fit([*first[:n_train], *second[:n_train]])
    a, b = tfidf.transform(first), tfidf.transform(second)
    lexical = np.asarray(a.multiply(b).sum(axis=1)).ravel()

    def score(values: np.ndarray) -> dict:
        if test:
            return evaluate(values[:n_train], labels[:n_train], values[n_train:], labels[n_train:])
        return evaluate(values, labels)

    systems = {**pair_scorer(first, second, vectors[: len(everything)], vectors[len(everything):],
                             labels, n_train, bool(test)),
               "embedding_cosine": score(cosine), "tfidf_cosine": score(lexical)}
    scorer = PairScorer.load()
    clear_overlap_cache()  # a cold figure: no n-grams cached from the folds above
    start = time.perf_counter()
    scorer.score(first, second, vectors[: len(everything)], vectors[len(everything):])
    pairs_per_s = len(first) / (time.perf_counter() - start)
    result = {
        "split": args.split,
        "protocol": "threshold from train rows, scored on test rows" if test else "10-fold CV on train rows",
        "pairs": len(test) if test else n_train,
        "f1": systems["pair_scorer"]["f1"],
        "accuracy": systems["pair_scorer"]["accuracy"],
        "systems": systems,
        "pair_scorer_pairs_per_s": round(pairs_per_s),
        "machine": machine(),
    }
    emit(result, args.json)
    return result


if __name__ == "__main__":
    main()
