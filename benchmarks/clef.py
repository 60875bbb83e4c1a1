"""Claim matching on CheckThat! Task 2: tweets against fact-checked claims (the 2020 edition's 10,375
claims, or the 2022 edition's 14,231 with string claim ids: the same file layout).

    python -m benchmarks.clef --data benchmarks/data/clef2020_checkthat_task2 [--split dev|test|train] [--json]
    python -m benchmarks.clef --data ../shared/data/checkthat2022_2a [--split dev|test|train] [--json]

Indexes every verified claim (its text; its article title feeds the BM25 side and a share of
the dense score) and ranks them for each tweet of the split. Reports MAP@1/3/5 (MAP@5 is the
official metric), MRR and R@1/5/10, for each model of ``--models`` (default: the claim-tuned
default and the plain base model, side by side): dense only, BM25 only, their fusion, and the
default (the fusion re-ranked by the model's shipped re-ranker, which learned from train
tweets only; on ``--split train`` that figure, and the tuned encoder's, are in-sample).

``--tune`` scores a grid of fusion settings (BM25 k1 and b, the fusion weight, the BM25
saturation, the extra-text share) on the split's tweets, as the defaults were chosen on dev.
``--calibrate`` reports, for the "auto" no-match rule, the share of tweets answered, the
precision of the answered top-1, and how many unrelated sentences (STS-B test, and MRPC rows
outside its train partition, found beside --data) wrongly get an answer. Queries per second are
measured for the first model in one process: fusion alone, the default, and the default with ``assess=True``.
"""

from __future__ import annotations

import argparse
import time
from dataclasses import replace
from pathlib import Path

import numpy as np

from benchmarks.common import add_model_option, emit, machine, read_jsonl
from claimcluster import DEFAULT_FUSION, ClaimIndex, Embedder, EmbeddingCache, FusionWeights
from claimcluster.assertion import clear_overlap_cache
from claimcluster.training.data import in_dev, mrpc_key

CACHE = Path(__file__).resolve().parent.parent / ".cache" / "embeddings.sqlite3"


def metrics(ranked: list[list[str]], gold: list[set[str]]) -> dict:
    def ap_at(k: int) -> float:
        total = 0.0
        for ids, relevant in zip(ranked, gold):
            hits, score = 0, 0.0
            for rank, claim_id in enumerate(ids[:k], start=1):
                if claim_id in relevant:
                    hits += 1
                    score += hits / rank
            total += score / min(len(relevant), k)
        return total / len(ranked)

    def recall(k: int) -> float:
        return float(np.mean([len(set(ids[:k]) & rel) / len(rel) for ids, rel in zip(ranked, gold)]))

    mrr = float(np.mean([next((1 / r for r, i in enumerate(ids, 1) if i in rel), 0.0)
                         for ids, rel in zip(ranked, gold)]))
    return {"map@1": round(ap_at(1), 4), "map@3": round(ap_at(3), 4), "map@5": round(ap_at(5), 4),
            "mrr": round(mrr, 4), "r@1": round(recall(1), 4), "r@5": round(recall(5), 4), "r@10": round(recall(10), 4)}


def load(data: Path, split: str):
    claims = read_jsonl(data / "vclaims.jsonl")
    gold: dict[str, set[str]] = {}
    for r in read_jsonl(data / "qrels.jsonl"):
        if r.get("split") == split:
            gold.setdefault(str(r["tweet_id"]), set()).add(str(r["vclaim_id"]))
    tweets = [q for q in read_jsonl(data / "queries.jsonl") if q.get("split") == split and str(q["tweet_id"]) in gold]
    return claims, tweets, gold


def rank_all(index: ClaimIndex, tweets: list[dict], fusion: FusionWeights, rerank: bool = False,
             assess: bool = False) -> list[list[str]]:
    index.fusion, index.rerank = fusion, rerank
    return [[m.id for m in ms] for ms in index.search([t["text"] for t in tweets], k=10, assess=assess)]


def tune(index: ClaimIndex, tweets: list[dict], truth: list[set[str]]) -> dict[str, float]:
    grid = {}
    for k1, b in ((1.5, 0.75), (0.9, 0.3), (0.9, 0.5), (1.2, 0.3)):
        for extra in (0.0, 0.25):
            for half in (64.0, 128.0, 256.0):
                for weight in (0.5, 0.6, 0.7, 0.8):
                    fusion = FusionWeights(lexical_weight=weight, bm25_half=half, bm25_k1=k1, bm25_b=b,
                                           extra_dense_weight=extra)
                    grid[f"k1={k1} b={b} extra={extra} half={half} w={weight}"] = metrics(
                        rank_all(index, tweets, fusion), truth)["map@5"]
    return dict(sorted(grid.items(), key=lambda kv: -kv[1])[:5])


def speed(index: ClaimIndex, tweets: list[dict]) -> dict:
    """Queries/s, interleaved (the machine is shared), best of two; the re-ranker's n-gram cache
    is emptied before each pass (a cold figure)."""
    modes = {"fusion_only": (False, False), "default": (True, False), "default_assess": (True, True)}
    seen: dict[str, list[float]] = {mode: [] for mode in modes}
    for mode in [*modes, *modes]:
        clear_overlap_cache()
        start = time.perf_counter()
        rank_all(index, tweets, DEFAULT_FUSION, *modes[mode])
        seen[mode].append(round(len(tweets) / (time.perf_counter() - start), 1))
    best = {mode: max(values) for mode, values in seen.items()}
    return {**best, "ratio_default_to_fusion_only": round(best["default"] / best["fusion_only"], 3),
            "ratio_assess_to_default": round(best["default_assess"] / best["default"], 3)}


def calibrate(index: ClaimIndex, data: Path, tweets: list[dict], truth: list[set[str]]) -> dict:
    index.fusion, index.rerank = DEFAULT_FUSION, True
    unrelated = []  # never seen by the calibration, which used MRPC train-partition sentences
    stsb, mrpc = data.parent / "stsb_test/stsb_test.jsonl", data.parent / "mrpc/mrpc.jsonl"
    if stsb.is_file():
        unrelated += [r["sentence1"] for r in read_jsonl(stsb)][:1000]
    if mrpc.is_file():
        held = [r for r in read_jsonl(mrpc) if r.get("split") != "train" or in_dev(mrpc_key(r))]
        unrelated += [r["sentence1"] for r in held][:1000]
    top = [ms[0] if ms else None for ms in index.search([t["text"] for t in tweets], k=1, min_score="auto")]
    kept = [(m, rel) for m, rel in zip(top, truth) if m is not None]
    min_fused, min_dense = index.no_match_thresholds()
    noise = [bool(ms) for ms in index.search(unrelated, k=1, min_score="auto")] if unrelated else []
    return {"rule": f"fused >= {min_fused} or dense >= {min_dense}",
            "answered_share": round(len(kept) / len(tweets), 4),
            "answered_top1_precision": round(float(np.mean([m.id in rel for m, rel in kept])), 4) if kept else None,
            "unrelated_sentences": len(unrelated),
            "unrelated_answered_share": round(float(np.mean(noise)), 4) if noise else None}


def main(argv: list[str] | None = None) -> dict:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--data", type=Path, required=True)
    parser.add_argument("--split", default="dev", help="dev (the default), test or train")
    add_model_option(parser)
    parser.add_argument("--tune", action="store_true", help="grid of fusion settings on the split's tweets")
    parser.add_argument("--calibrate", action="store_true", help="answered share and precision at min_score='auto'")
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args(argv)

    claims, tweets, gold = load(args.data, args.split)
    if not tweets:
        raise SystemExit(f"no tweets with qrels for split {args.split!r}")
    truth = [gold[str(t["tweet_id"])] for t in tweets]
    result: dict = {"split": args.split, "tweets": len(tweets), "claims": len(claims), "models": {}}
    for number, model in enumerate(args.models):
        embedder = Embedder(model, cache=EmbeddingCache(CACHE))
        index = ClaimIndex(embedder).add([c["vclaim"] for c in claims], ids=[str(c["vclaim_id"]) for c in claims],
                                         extra_texts=[c.get("title", "") for c in claims])
        systems = {
            "dense": metrics(rank_all(index, tweets, replace(DEFAULT_FUSION, lexical_weight=0.0)), truth),
            "bm25": metrics(rank_all(index, tweets, replace(DEFAULT_FUSION, lexical_weight=1.0)), truth),
            "hybrid_fusion_only": metrics(rank_all(index, tweets, DEFAULT_FUSION), truth),
            "hybrid_default": metrics(rank_all(index, tweets, DEFAULT_FUSION, rerank=True), truth),
        }
        entry: dict = {"model_id": embedder.model_id, "map@5": systems["hybrid_default"]["map@5"],
                       "systems": systems}
        if number == 0:
            entry["queries_per_s"] = speed(index, tweets)
        if args.tune:
            entry["grid_best_map@5"] = tune(index, tweets, truth)
        if args.calibrate:
            entry["auto_min_score"] = calibrate(index, args.data, tweets, truth)
        result["models"][model] = entry
    result["map@5"] = result["models"][args.models[0]]["map@5"]
    result["fusion"] = vars(DEFAULT_FUSION)
    result["machine"] = machine()
    if args.json:
        emit(result, True)
        return result
    print(f"CLEF-2020 2a {args.split}: {len(tweets)} tweets against {len(claims)} verified claims")
    for model, entry in result["models"].items():
        print(f"\n{model} ({entry['model_id']})")
        print(f"{'system':<20}" + "".join(f"{k:>8}" for k in entry["systems"]["dense"]))
        for name, m in entry["systems"].items():
            print(f"{name:<20}" + "".join(f"{v:>8}" for v in m.values()))
        for key in ("queries_per_s", "grid_best_map@5", "auto_min_score"):
            if key in entry:
                print(f"{key}: {entry[key]}")
    return result


if __name__ == "__main__":
    main()
