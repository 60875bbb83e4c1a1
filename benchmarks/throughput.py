"""End-to-end throughput on real news: segment → embed → cluster → claims, with the time of each stage.

    python -m benchmarks.throughput --data ../shared/data/fnc1_train_bodies [--limit N] [--backend B] [--json]

Loads the article bodies (``bodies.jsonl``: ``body_id``, ``text``), then runs the stages of
:func:`claimcluster.cluster_documents` one by one with the defaults (no embedding cache, so the
embedding is measured) and reports sentences per second end to end and per stage, and the share
of the time each stage takes. The judge's stages (loading it, the gate, reading the proposed claims:
:func:`claimcluster.form_claims`) are timed apart, so ``judge_cost_ratio`` is the time with the judge
over the time of the same run without those stages (claims then assembled from the density clusters,
as ``cluster_documents(judge=None)`` does); ``--no-judge`` leaves them out. ``--split`` is accepted for
symmetry with the other benchmarks and ignored: the corpus has no labels and no split.

The baseline, in the same run: plain ``SentenceTransformer.encode`` (the packaged all-MiniLM-L6-v2 in torch
fp32, batches of 32, its default) of the same kept sentences alone. ``ratio_to_plain_encode`` is its time
over the whole pipeline's (above 1: the pipeline, judge included, is faster than embedding alone with plain
sentence-transformers); ``ratio_to_plain_encode_without_judge`` the same without the judge's stages.
``--no-baseline`` skips it. The machine's CPU flags are in ``machine``.
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path

import numpy as np

from benchmarks.common import emit, find_file, machine, peak_rss_mb
from claimcluster import (
    BASE_MODEL,
    Embedder,
    FieldMap,
    SameAssertionJudge,
    cluster_vectors,
    form_claims,
    gate_reasons,
    load_documents,
)
from claimcluster.assertion import shipped_stance_scorer
from claimcluster.claims import Judged, build_claims
from claimcluster.cluster import auto_min_cluster_size
from claimcluster.segment import segment_documents


def main(argv: list[str] | None = None) -> dict:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--data", type=Path, required=True, help="directory holding bodies.jsonl")
    parser.add_argument("--split", default="all", help="ignored (no labels)")
    parser.add_argument("--limit", type=int, default=None, help="first N articles only")
    parser.add_argument("--backend", default="auto", choices=["auto", "onnx-int8", "onnx", "torch"],
                        help="embedding backend (default: the Embedder's default)")
    parser.add_argument("--no-judge", action="store_true", help="claims from the density clusters alone")
    parser.add_argument("--no-baseline", action="store_true", help="skip plain SentenceTransformer.encode")
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args(argv)

    times: dict[str, float] = {}
    start = time.perf_counter()
    corpus = load_documents([find_file(args.data, "bodies.jsonl")], FieldMap(text="text", id="body_id"))
    documents = list(corpus.documents)[: args.limit]
    times["load"] = time.perf_counter() - start

    t = time.perf_counter()
    segmentation = segment_documents(documents)
    sentences = segmentation.sentences
    times["segment"] = time.perf_counter() - t

    t = time.perf_counter()
    embedder = Embedder(backend=args.backend)
    embedder._load()
    times["model_load"] = time.perf_counter() - t

    t = time.perf_counter()
    vectors = embedder.encode([s.norm for s in sentences], show_progress_bar=False)
    times["embed"] = time.perf_counter() - t

    t = time.perf_counter()
    result = cluster_vectors(vectors, min_cluster_size=auto_min_cluster_size(len(documents)))
    times["cluster"] = time.perf_counter() - t

    scorer = shipped_stance_scorer(embedder.model_id)
    judging = ("judge_load", "gate", "judge")
    if args.no_judge:
        t = time.perf_counter()
        claims, unclustered = build_claims(sentences, vectors, result.labels, result.probabilities, scorer)
        times["claims"] = time.perf_counter() - t
        pairs = 0
    else:
        t = time.perf_counter()
        judge = SameAssertionJudge()
        judge.predict(["The judge is loaded."], ["The judge is loaded now."])
        times["judge_load"] = time.perf_counter() - t
        t = time.perf_counter()
        texts = [s.norm for s in sentences]
        reasons = gate_reasons(texts)
        times["gate"] = time.perf_counter() - t
        t = time.perf_counter()
        formation = form_claims(texts, vectors, result.labels, judge, min_size=auto_min_cluster_size(len(documents)),
                                checkable=np.array([r is None for r in reasons]),
                                member_threshold=float(judge.card["member_threshold"]))
        pairs = formation.pairs_judged
        times["judge"] = time.perf_counter() - t
        t = time.perf_counter()
        claims, unclustered = build_claims(
            sentences, vectors, formation.labels, result.probabilities, scorer,
            representatives=formation.representatives, not_checkable=reasons,
            judged=Judged(formation.same, formation.contradict, formation.denies))
        times["claims"] = time.perf_counter() - t
    total = time.perf_counter() - start
    n = len(sentences)
    plain_seconds = None if args.no_baseline else _plain_encode_seconds([s.norm for s in sentences])
    without_judge = total - sum(times.get(k, 0.0) for k in judging)
    result_json = {
        "documents": len(documents), "sentences": n, "claims": len(claims), "unclustered": len(unclustered),
        "seconds_total": round(total, 2), "sentences_per_second": round(n / total, 1),
        "pairs_judged": pairs, "pairs_judged_per_sentence": round(pairs / max(n, 1), 3),
        "judge_cost_ratio": None if args.no_judge else round(total / without_judge, 3),
        "plain_encode_seconds": None if plain_seconds is None else round(plain_seconds, 2),
        "plain_encode_sentences_per_second": None if plain_seconds is None else round(n / plain_seconds, 1),
        "ratio_to_plain_encode": None if plain_seconds is None else round(plain_seconds / total, 3),
        "ratio_to_plain_encode_without_judge": None if plain_seconds is None else round(plain_seconds / without_judge,
                                                                                         3),
        "stages": {name: {"seconds": round(sec, 2), "share": round(sec / total, 3),
                          "sentences_per_second": round(n / sec, 1) if sec > 0 else None}
                   for name, sec in times.items()},
        "peak_rss_mb": round(peak_rss_mb(), 1), "model_id": embedder.model_id,
        "backend": embedder.backend_used, "machine": machine(),
    }
    emit(result_json, args.json)
    return result_json


def _plain_encode_seconds(texts: list[str]) -> float:
    """Seconds plain sentence-transformers takes to embed ``texts`` (torch fp32, its defaults)."""
    model = Embedder(BASE_MODEL, backend="torch").sentence_transformer()
    model.encode(texts[:64])  # warm
    t = time.perf_counter()
    model.encode(texts, convert_to_numpy=True, normalize_embeddings=True)
    return time.perf_counter() - t


if __name__ == "__main__":
    main()
