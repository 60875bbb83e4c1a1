"""Draw sentence pairs from a real-news corpus for hand labelling (same assertion / different / contradicting).

    python -m benchmarks.fnc1_sample --data ../shared/data/fnc1_train_bodies --out benchmarks/fnc1_pairs/pairs.jsonl

Pairs are drawn independently of any clustering, so that labelled pairs can score co-clustering
(benchmarks/fnc1_pairs.py): seeded random sentences, each paired with one sentence of another
document drawn from its 20 nearest neighbours by the plain model's cosine (uniformly over
ranks 1-20, so near-duplicates, paraphrases, same-story and unrelated pairs all occur). The
plain model is used so that the sample does not favour the claim-tuned encoder.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

import numpy as np

from benchmarks.common import read_jsonl
from claimcluster import BASE_MODEL, Document, Embedder, segment_documents

SEED = 20261201
NEIGHBOURS = 20


def neighbour_pairs(sentences, vectors: np.ndarray, rng: np.random.Generator):
    """(i, j) for sentences i in a random order, each with one of its ``NEIGHBOURS`` nearest sentences j of another
    document and other text (rank uniform); sentences with fewer such neighbours among the nearest 100 are passed."""
    docs = np.array([s.doc_id for s in sentences])
    for i in rng.permutation(len(sentences)):
        order = np.argsort(-(vectors @ vectors[i]))
        others = [j for j in order[: 5 * NEIGHBOURS] if docs[j] != docs[i] and sentences[j].norm != sentences[i].norm]
        if len(others) >= NEIGHBOURS:
            yield int(i), int(others[rng.integers(NEIGHBOURS)])


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--data", type=Path, required=True, help="directory holding bodies.jsonl")
    parser.add_argument("--out", type=Path, required=True)
    parser.add_argument("--pairs", type=int, default=300)
    parser.add_argument("--cache", type=Path, default=None)
    args = parser.parse_args(argv)
    rows = read_jsonl(args.data / "bodies.jsonl")
    sentences = segment_documents([Document(doc_id=str(r["body_id"]), text=r["text"]) for r in rows]).sentences
    vectors = Embedder(BASE_MODEL, cache=args.cache).encode([s.norm for s in sentences])
    rng = np.random.default_rng(SEED)
    out, seen = [], set()
    for i, j in neighbour_pairs(sentences, vectors, rng):
        if len(out) == args.pairs:
            break
        key = tuple(sorted((i, j)))
        if key in seen:
            continue
        seen.add(key)
        a, b = sentences[i], sentences[j]
        out.append({"pair": len(out), "a_doc": a.doc_id, "a_start": a.start, "a": a.text,
                    "b_doc": b.doc_id, "b_start": b.start, "b": b.text})
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text("".join(json.dumps(p, ensure_ascii=False) + "\n" for p in out), encoding="utf-8")
    print(f"wrote {len(out)} pairs to {args.out}")


if __name__ == "__main__":
    main()
