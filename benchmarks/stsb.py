"""STS-B sanity check of the embedders: Spearman of cosine vs gold, and encoding speed.

    python -m benchmarks.stsb --data benchmarks/data/stsb_test [--json]

STS-B is never trained on. For each model of ``--models`` (default: the claim-tuned default
and the plain base model): Spearman's rho of the cosine against the gold similarity. Speed is
measured in one process on the same texts, alternating, best of ``--repeats``: each model's
``Embedder.encode`` with its default backend (no cache), and plain ``SentenceTransformer.encode``
(torch fp32) of the first model with its delta merged, so ``throughput_ratio`` says what the
default backend gains over plain encode, and ``spearman_minus_torch`` what it costs in quality
(``torch_spearman``: the same model's torch vectors). ``throughput_ratio_to_second_model``
compares the two models with their default backends.
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path

import numpy as np
from scipy.stats import spearmanr

from benchmarks.common import add_model_option, emit, find_file, machine, read_jsonl
from claimcluster import Embedder


def main(argv: list[str] | None = None) -> dict:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--data", type=Path, required=True, help="directory holding stsb_test.jsonl (or the file)")
    add_model_option(parser)
    parser.add_argument("--repeats", type=int, default=2)
    parser.add_argument("--quick", action="store_true", help="first 300 pairs only")
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args(argv)

    rows = read_jsonl(find_file(args.data, "stsb_test.jsonl"))
    if args.quick:
        rows = rows[:300]
    texts = [r["sentence1"] for r in rows] + [r["sentence2"] for r in rows]
    gold = np.array([float(r["score"]) for r in rows])
    embedders = {model: Embedder(model) for model in args.models}
    result: dict = {"pairs": len(rows), "texts": len(texts), "distinct_texts": len(set(texts)), "models": {}}
    for model, embedder in embedders.items():
        vectors = embedder.encode(texts)
        rho = float(spearmanr(np.sum(vectors[: len(rows)] * vectors[len(rows):], axis=1), gold).statistic)
        result["models"][model] = {"model_id": embedder.model_id, "spearman": round(rho, 4)}
    first = args.models[0]
    plain = embedders[first].sentence_transformer()  # the same model in torch fp32, delta merged
    reference = plain.encode(texts, batch_size=64, normalize_embeddings=True)
    rho = float(spearmanr(np.sum(reference[: len(rows)] * reference[len(rows):], axis=1), gold).statistic)
    result["torch_spearman"] = round(rho, 4)
    first_vectors = embedders[first].encode(texts)
    result["min_cosine_to_torch"] = round(float(np.min(np.sum(first_vectors * reference, axis=1))), 4)
    timers = {"plain_encode": lambda: plain.encode(texts, batch_size=64, normalize_embeddings=True),
              **{model: (lambda e=e: e.encode(texts)) for model, e in embedders.items()}}
    times: dict[str, list[float]] = {name: [] for name in timers}
    for _ in range(args.repeats):
        for name, run in timers.items():
            start = time.perf_counter()
            run()
            times[name].append(time.perf_counter() - start)
    rates = {name: round(len(texts) / min(values), 1) for name, values in times.items()}
    result["sentences_per_s"] = rates
    result["backends"] = {model: e.backend_used for model, e in embedders.items()}
    result["throughput_ratio"] = round(rates[first] / rates["plain_encode"], 3)
    if len(args.models) > 1:
        result["throughput_ratio_to_second_model"] = round(rates[first] / rates[args.models[1]], 3)
    result["spearman"] = result["models"][first]["spearman"]
    result["spearman_minus_torch"] = round(result["spearman"] - result["torch_spearman"], 4)
    result["machine"] = machine()
    emit(result, args.json)
    return result


if __name__ == "__main__":
    main()
