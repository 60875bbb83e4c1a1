"""Pair precision and recall of co-clustering on hand-labelled real-news sentence pairs.

    python -m benchmarks.fnc1_pairs --claims claims.json [--pairs benchmarks/fnc1_pairs] [--json]

``claims.json`` is ``claimcluster cluster ... --format json`` on the corpus the pairs were drawn
from (benchmarks/fnc1_sample.py; labelling protocol in benchmarks/fnc1_pairs/PROTOCOL.md). A pair
is predicted "same" when both sentences sit in one claim. Precision: share of predicted pairs
labelled ``same``; recall: share of ``same`` pairs predicted. For reference, the embedding cosine
of each model of ``--models`` cut at the threshold whose recall is closest to the clusters'.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

import numpy as np

from benchmarks.common import add_model_option, emit, machine, read_jsonl
from claimcluster import Embedder, normalize_text


def precision_recall(predicted: np.ndarray, same: np.ndarray) -> dict:
    hits = int((predicted & same).sum())
    return {"predicted": int(predicted.sum()), "precision": round(hits / max(int(predicted.sum()), 1), 4),
            "recall": round(hits / max(int(same.sum()), 1), 4)}


def main(argv: list[str] | None = None) -> dict:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--claims", type=Path, required=True, help="claimcluster cluster --format json output")
    parser.add_argument("--pairs", type=Path, default=Path("benchmarks/fnc1_pairs"),
                        help="folder with pairs.jsonl and labels.jsonl")
    add_model_option(parser)
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args(argv)
    pairs = {p["pair"]: p for p in read_jsonl(args.pairs / "pairs.jsonl")}
    labels = {r["pair"]: r["label"] for r in read_jsonl(args.pairs / "labels.jsonl")}
    rows = [pairs[n] for n in sorted(labels)]
    same = np.array([labels[p["pair"]] == "same" for p in rows])
    data = json.loads(args.claims.read_text(encoding="utf-8"))
    claim_of = {(m["doc_id"], m["start"]): c["id"] for c in data["claims"] for m in c["members"]}
    predicted = np.array([claim_of.get((p["a_doc"], p["a_start"])) is not None
                          and claim_of.get((p["a_doc"], p["a_start"])) == claim_of.get((p["b_doc"], p["b_start"]))
                          for p in rows])
    result: dict = {"pairs": len(rows), "labels": {k: int(sum(v == k for v in labels.values()))
                                                  for k in ("same", "different", "contradicting")},
                    "claims_file_model": data["summary"]["model_id"], "co_clustered": precision_recall(predicted, same)}
    target = result["co_clustered"]["recall"]
    for model in args.models:
        embedder = Embedder(model)
        a = embedder.encode([normalize_text(p["a"]) for p in rows])
        b = embedder.encode([normalize_text(p["b"]) for p in rows])
        cosine = (a * b).sum(axis=1)
        cuts = {float(t): precision_recall(cosine >= t, same) for t in np.round(np.arange(0.3, 1.0, 0.01), 2)}
        best = min(cuts, key=lambda t: (abs(cuts[t]["recall"] - target), -cuts[t]["precision"]))
        result[f"cosine_{embedder.model_id}"] = {"threshold": best, **cuts[best]}
    result["machine"] = machine()
    emit(result, args.json)
    return result


if __name__ == "__main__":
    main()
