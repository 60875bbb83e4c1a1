"""Clustering time and peak memory at 10k, 30k and 100k vectors, against plain HDBSCAN.

    python -m benchmarks.scale [--data benchmarks/data] [--sizes 10000 30000 100000] [--baseline-size 5000] [--json]

Vectors: real sentence embeddings of every text found in the benchmark data (CLEF verified
claims, MRPC and STS-B sentences, Emergent headlines; about 24k distinct), and beyond that
synthetic paraphrase-like points (a real vector plus Gaussian noise, renormalised). Each size
runs in a fresh subprocess so that its peak RSS is its own. Quality: pair precision and recall
against the synthetic groups (the rows made from one real vector), at every size and for the
baseline, so the approximate path at 1M can be read against exact HDBSCAN at 5k. The baseline is ``hdbscan.HDBSCAN``
with the same parameters on the same vectors, timed in the same command. ``--assertion``
adds the assertion-level split (the stance of every clustered sentence toward its claim's
representative) at the largest size; the synthetic points carry the text they were made from.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import time
from pathlib import Path

import numpy as np

from benchmarks.common import emit, machine, peak_rss_mb, read_jsonl

CACHE = Path(__file__).resolve().parent.parent / ".cache"


def real_texts(data: Path) -> list[str]:
    texts: list[str] = []
    for path in sorted(data.rglob("*.jsonl")):
        for row in read_jsonl(path):
            for key in ("vclaim", "title", "sentence1", "sentence2", "headline", "text"):
                value = row.get(key)
                if isinstance(value, str) and value.strip():
                    texts.append(value)
    return sorted(set(texts))


def corpus(data: Path, n: int, exclude: frozenset[str] = frozenset(),
           with_sources: bool = False):
    """n unit vectors (real embeddings first, then noisy copies of them) and each one's source text
    (and, ``with_sources``, the index of the real vector each row was made from)."""
    from claimcluster import Embedder

    texts = [t for t in real_texts(data) if t not in exclude]
    real = Embedder(cache=CACHE / "embeddings.sqlite3").encode(texts)
    if n <= len(real):
        out = texts[:n], real[:n]
        return (*out, np.arange(n)) if with_sources else out
    rng = np.random.default_rng(0)
    source = rng.integers(0, len(real), size=n - len(real))
    X = np.empty((n, real.shape[1]), dtype=np.float32)  # filled in chunks: a million rows of float64 noise
    X[: len(real)] = real                                # would cost more memory than the clustering
    for first in range(0, len(source), 100_000):
        rows = source[first:first + 100_000]
        block = real[rows] + rng.normal(scale=0.02, size=(len(rows), real.shape[1])).astype(np.float32)
        X[len(real) + first: len(real) + first + len(rows)] = block / np.linalg.norm(block, axis=1, keepdims=True)
    out = texts + [texts[i] for i in source], X
    return (*out, np.concatenate([np.arange(len(real)), source])) if with_sources else out


def vectors(data: Path, n: int, exclude: frozenset[str] = frozenset()) -> np.ndarray:
    return corpus(data, n, exclude)[1]


def pair_agreement(labels: np.ndarray, sources: np.ndarray) -> dict:
    """Pair precision and recall of the clusters against the synthetic groups (rows made from one
    real vector): precision = share of co-clustered pairs from one source, recall = share of
    same-source pairs co-clustered (noise rows count as co-clustered with nothing)."""
    def pairs(counts: np.ndarray) -> float:
        counts = counts.astype(np.float64)
        return float(np.sum(counts * (counts - 1) / 2))

    clustered = labels >= 0
    both = np.unique(np.column_stack([labels[clustered], sources[clustered]]), axis=0, return_counts=True)[1]
    together = pairs(np.unique(labels[clustered], return_counts=True)[1])
    same_source = pairs(np.unique(sources, return_counts=True)[1])
    hits = pairs(both)
    return {"pair_precision": round(hits / together, 4) if together else None,
            "pair_recall": round(hits / same_source, 4) if same_source else None}


def run_one(data: Path, n: int, method: str) -> dict:
    texts, X, sources = corpus(data, n, with_sources=True)
    start = time.perf_counter()
    if method == "hdbscan":
        import hdbscan

        labels = hdbscan.HDBSCAN(min_cluster_size=5, min_samples=1).fit(X).labels_
    else:
        from claimcluster import cluster_vectors

        labels = cluster_vectors(X).labels
    seconds = time.perf_counter() - start
    out = {"n": n, "method": method, "seconds": round(seconds, 2), "peak_rss_mb": round(peak_rss_mb()),
           "clusters": int(labels.max() + 1), "noise_share": round(float((labels < 0).mean()), 3),
           **pair_agreement(labels, sources)}
    if method == "claimcluster+assertion":
        from claimcluster.assertion import StanceScorer
        from claimcluster.claims import split_assertions

        start = time.perf_counter()
        split_assertions(texts, X, labels, StanceScorer.load())
        out["assertion_split_seconds"] = round(time.perf_counter() - start, 2)
        out["stance_pairs"] = int((labels >= 0).sum())
        out["stance_pairs_per_s"] = round(out["stance_pairs"] / max(out["assertion_split_seconds"], 1e-9))
    return out


def main(argv: list[str] | None = None) -> dict:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--data", type=Path, default=Path("benchmarks/data"))
    parser.add_argument("--sizes", type=int, nargs="+", default=[10_000, 30_000, 100_000])
    parser.add_argument("--baseline-size", type=int, default=5000, help="plain hdbscan at this size (0: skip)")
    parser.add_argument("--assertion", action="store_true",
                        help="also time the assertion-level split (stance of every member) at the largest size")
    parser.add_argument("--one", nargs=2, metavar=("N", "METHOD"), help=argparse.SUPPRESS)
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args(argv)
    if args.one:
        print(json.dumps(run_one(args.data, int(args.one[0]), args.one[1])))
        return {}

    def child(n: int, method: str) -> dict:
        done = subprocess.run([sys.executable, "-m", "benchmarks.scale", "--data", str(args.data), "--one", str(n),
                               method], capture_output=True, text=True, check=True)
        return json.loads(done.stdout.strip().splitlines()[-1])

    vectors(args.data, 1)  # embed the real texts once, into the cache
    runs = [child(n, "claimcluster") for n in args.sizes]
    result: dict = {"runs": {f"claimcluster_{r['n']}": r for r in runs}}
    if args.assertion:
        top = child(max(args.sizes), "claimcluster+assertion")
        result["runs"][f"claimcluster+assertion_{top['n']}"] = top
    if args.baseline_size:
        base = child(args.baseline_size, "hdbscan")
        ours = child(args.baseline_size, "claimcluster")
        result["runs"][f"hdbscan_{base['n']}"] = base
        result["runs"][f"claimcluster_{ours['n']}"] = ours
        result["speedup_vs_hdbscan"] = round(base["seconds"] / max(ours["seconds"], 1e-9), 1)
    result["machine"] = machine()
    if args.json:
        emit(result, True)
    else:
        print(f"{'run':<28}{'seconds':>10}{'peak MB':>10}{'clusters':>10}{'noise':>8}{'pair P':>8}{'pair R':>8}")
        for name, r in result["runs"].items():
            print(f"{name:<28}{r['seconds']:>10}{r['peak_rss_mb']:>10}{r['clusters']:>10}{r['noise_share']:>8}"
                  f"{r['pair_precision']!s:>8}{r['pair_recall']!s:>8}")
            if "assertion_split_seconds" in r:
                print(f"  assertion split: {r['assertion_split_seconds']} s for {r['stance_pairs']} member stances "
                      f"({r['stance_pairs_per_s']} pairs/s)")
        if "speedup_vs_hdbscan" in result:
            print(f"speed-up over plain hdbscan at {args.baseline_size}: {result['speedup_vs_hdbscan']}x")
    return result


if __name__ == "__main__":
    main()
