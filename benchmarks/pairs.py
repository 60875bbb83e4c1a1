"""Same-assertion pair decision on MRPC: F1 and accuracy of claimcluster's pair scorer and of baselines.

    python -m benchmarks.pairs --data benchmarks/data/mrpc [--split dev|test|train] [--json]

Nothing is scored on the pairs it was fitted or tuned on. ``--split dev`` (the fixed dev
partition, the default) and ``--split test`` (the official test rows) are scored by models
fitted on the train partition; ``--split train`` reports 10-fold cross-validation within the
train partition. For each model of ``--models`` (default: the claim-tuned default and the plain
base model, side by side): claimcluster's pair decision (``PairScorer.same``: the model and the
assertion rules: different figures, opposite polarity or swapped roles are never the same
assertion), the PairScorer model alone (MRPC's own notion of paraphrase, which often tolerates
another figure) and the embedding cosine with its F1-best threshold from the training rows.
Also the TF-IDF cosine (the lexical floor), how often each rule vetoes, and pairs scored per
second by a PairScorer on vectors already computed.
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path

import numpy as np
from sklearn.feature_extraction.text import TfidfVectorizer
from sklearn.metrics import accuracy_score, f1_score
from sklearn.model_selection import StratifiedKFold

from benchmarks.common import SPLIT_HELP, add_model_option, emit, find_file, machine, partition, read_jsonl
from claimcluster import Embedder
from claimcluster.assertion import PairScorer, assertion_rules, clear_overlap_cache
from claimcluster.training.data import mrpc_key


def best_threshold(scores: np.ndarray, labels: np.ndarray) -> float:
    candidates = np.unique(np.round(scores, 3))
    return float(candidates[int(np.argmax([f1_score(labels, scores >= t) for t in candidates]))])


def figures(truth: np.ndarray, predicted: np.ndarray) -> dict:
    return {"f1": round(f1_score(truth, predicted), 4), "accuracy": round(accuracy_score(truth, predicted), 4)}


def folds(n_fit: int, n_scored: int, labels: np.ndarray):
    """(fit rows, scored rows) pairs: the fit rows then the scored rows, or 10-fold CV when none are scored."""
    if n_scored:
        return [(np.arange(n_fit), np.arange(n_fit, n_fit + n_scored))]
    return list(StratifiedKFold(10, shuffle=True, random_state=0).split(np.zeros(n_fit), labels[:n_fit]))


def decide(first, second, va, vb, labels, splits) -> dict[str, np.ndarray]:
    """Each system's decision on every scored row, fitted on its fit rows."""
    n = len(labels)
    out = {name: np.zeros(n, dtype=bool) for name in ("pair_scorer_model_only", "embedding_cosine")}
    cosine = np.sum(va * vb, axis=1)
    for fit, held in splits:
        scorer = PairScorer.fit([first[i] for i in fit], [second[i] for i in fit], va[fit], vb[fit], labels[fit])
        out["pair_scorer_model_only"][held] = scorer.same([first[i] for i in held], [second[i] for i in held],
                                                          va[held], vb[held], rules=False)
        out["embedding_cosine"][held] = cosine[held] >= best_threshold(cosine[fit], labels[fit])
    return out


def main(argv: list[str] | None = None) -> dict:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--data", type=Path, required=True, help="directory holding mrpc.jsonl (or the file)")
    parser.add_argument("--split", choices=["dev", "test", "train"], default="dev", help=SPLIT_HELP)
    add_model_option(parser)
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args(argv)

    rows = read_jsonl(find_file(args.data, "mrpc.jsonl"))
    fit_rows = partition(rows, "train", mrpc_key)
    scored_rows = [] if args.split == "train" else partition(rows, args.split, mrpc_key)
    if args.split != "train" and not scored_rows:
        raise SystemExit(f"no rows in split {args.split!r} of {args.data}")
    everything = fit_rows + scored_rows
    first, second = [r["sentence1"] for r in everything], [r["sentence2"] for r in everything]
    labels = np.array([int(r["label"]) for r in everything])
    splits = folds(len(fit_rows), len(scored_rows), labels)
    scored = np.concatenate([held for _, held in splits])
    truth = labels[scored]
    rules = assertion_rules([first[i] for i in scored], [second[i] for i in scored])
    result: dict = {"split": args.split, "pairs": len(scored),
                    "protocol": "10-fold CV in the train partition" if args.split == "train"
                    else "fitted on the train partition, scored on the split", "models": {}}
    for model in args.models:
        embedder = Embedder(model)
        vectors = embedder.encode(first + second)
        va, vb = vectors[: len(everything)], vectors[len(everything):]
        decisions = decide(first, second, va, vb, labels, splits)
        model_only = decisions["pair_scorer_model_only"][scored]
        systems = {"pair_scorer": figures(truth, model_only & ~rules.any),
                   "pair_scorer_model_only": figures(truth, model_only),
                   "embedding_cosine": figures(truth, decisions["embedding_cosine"][scored])}
        result["models"][model] = {"model_id": embedder.model_id, "f1": systems["pair_scorer"]["f1"],
                                   "systems": systems}
    tfidf = TfidfVectorizer(sublinear_tf=True).fit([*first[: len(fit_rows)], *second[: len(fit_rows)]])
    lexical = np.asarray(tfidf.transform(first).multiply(tfidf.transform(second)).sum(axis=1)).ravel()
    tfidf_says = np.zeros(len(labels), dtype=bool)
    for fit, held in splits:
        tfidf_says[held] = lexical[held] >= best_threshold(lexical[fit], labels[fit])
    result["tfidf_cosine"] = figures(truth, tfidf_says[scored])
    result["vetoes_by_rule"] = {name: {"pairs": int(flags.sum()), "mrpc_paraphrases": int(truth[flags].sum())}
                                for name, flags in rules.items()}
    result["vetoes_any_rule"] = int(rules.any.sum())
    scorer = PairScorer.fit(first[:200], second[:200], va[:200], vb[:200], labels[:200])
    clear_overlap_cache()  # a cold figure: no n-grams cached from the fits above
    start = time.perf_counter()
    scorer.score(first, second, va, vb)
    result["pair_scorer_pairs_per_s"] = round(len(first) / (time.perf_counter() - start))
    result["f1"] = result["models"][args.models[0]]["f1"]
    result["machine"] = machine()
    emit(result, args.json)
    return result


if __name__ == "__main__":
    main()
