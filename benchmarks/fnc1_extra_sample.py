"""Draw more FNC-1 sentence pairs for labelling by the same-assertion protocol (train rows of the judge).

    python -m benchmarks.fnc1_extra_sample --data ../shared/data --out unlabelled.jsonl

Like stratum N of ``fnc1_assertion_pairs_train`` (its SOURCE.md): a seeded random sentence of a seeded
sample of the bodies and one of its 20 nearest neighbours in another body by the plain model's cosine
(rank uniform). Never drawn: a sentence of a dev-partition pair of the labelled set
(:func:`claimcluster.training.judge.fnc1_partition`), a sentence of ``benchmarks/fnc1_pairs``, or a pair
already labelled there.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

import numpy as np

from benchmarks.common import read_jsonl
from benchmarks.fnc1_sample import neighbour_pairs
from claimcluster import BASE_MODEL, Document, Embedder, segment_documents
from claimcluster.training.judge import fnc1_partition

SEED = 20261205
FIRST_ID = 100000


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--data", type=Path, required=True, help="folder holding fnc1_train_bodies/ and "
                        "fnc1_assertion_pairs_train/")
    parser.add_argument("--out", type=Path, required=True)
    parser.add_argument("--pairs", type=int, default=1000)
    parser.add_argument("--bodies", type=int, default=700, help="bodies sampled (fewer to embed)")
    args = parser.parse_args(argv)
    labelled = read_jsonl(args.data / "fnc1_assertion_pairs_train" / "pairs.jsonl")
    _, dev = fnc1_partition(labelled)
    bench = read_jsonl(Path(__file__).resolve().parent / "fnc1_pairs" / "pairs.jsonl")
    banned = {t for r in dev for t in (r["a"], r["b"])} | {t for r in bench for t in (r["a"], r["b"])}
    done = {frozenset((r["a"], r["b"])) for r in labelled}
    rng = np.random.default_rng(SEED)
    rows = read_jsonl(args.data / "fnc1_train_bodies" / "bodies.jsonl")
    rows = [rows[i] for i in sorted(rng.choice(len(rows), size=min(args.bodies, len(rows)), replace=False))]
    sentences = segment_documents([Document(doc_id=str(r["body_id"]), text=r["text"]) for r in rows]).sentences
    sentences = [s for s in sentences if s.text not in banned]
    vectors = Embedder(BASE_MODEL).encode([s.norm for s in sentences])
    out: list[dict] = []
    seen: set[frozenset] = set()
    for i, j in neighbour_pairs(sentences, vectors, rng):
        if len(out) == args.pairs:
            break
        a, b = sentences[i], sentences[j]
        key = frozenset((a.text, b.text))
        if key in seen or key in done:
            continue
        seen.add(key)
        out.append({"pair_id": FIRST_ID + len(out), "a": a.text, "b": b.text, "doc_a": a.doc_id, "doc_b": b.doc_id,
                    "stratum": "X", "cosine_plain": round(float(vectors[i] @ vectors[j]), 4)})
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text("".join(json.dumps(p, ensure_ascii=False) + "\n" for p in out), encoding="utf-8")
    print(f"wrote {len(out)} pairs to {args.out}")


if __name__ == "__main__":
    main()
