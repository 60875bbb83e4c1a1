"""Reproduce the shipped assertion models (``claimcluster/models/*.json``) from public data.

    python -m claimcluster.training --mrpc benchmarks/data/mrpc --emergent benchmarks/data/emergent

The pair model learns from MRPC rows whose ``split`` is ``train``; the stance model from
Emergent rows whose ``split`` is ``train`` (headline against its claim; for -> repeats,
against -> denies, observing -> reports). Test rows are never read. Hyper-parameters (C)
were chosen by cross-validation on those same train rows (benchmarks/pairs.py,
benchmarks/stance.py).
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

import numpy as np

from claimcluster.assertion import MODEL_DIR, PairScorer, StanceScorer
from claimcluster.embed import Embedder

EMERGENT_STANCE = {"for": "repeats", "against": "denies", "observing": "reports"}


def _rows(path: Path, name: str, split: str = "train") -> list[dict]:
    file = path if path.is_file() else path / name
    with open(file, encoding="utf-8") as fh:
        rows = [json.loads(line) for line in fh if line.strip()]
    return [r for r in rows if r.get("split", "train") == split]


def train_pair(mrpc: Path, embedder: Embedder) -> PairScorer:
    rows = _rows(mrpc, "mrpc.jsonl")
    a, b = [r["sentence1"] for r in rows], [r["sentence2"] for r in rows]
    scorer = PairScorer.fit(a, b, embedder.encode(a), embedder.encode(b), np.array([int(r["label"]) for r in rows]))
    scorer.linear.meta.update({"trained_on": "MRPC train", "pairs": len(rows), "model_id": embedder.model_id})
    return scorer


def train_stance(emergent: Path, embedder: Embedder) -> StanceScorer:
    rows = _rows(emergent, "emergent_headlines.jsonl")
    heads, claims = [r["headline"] for r in rows], [r["claim"] for r in rows]
    scorer = StanceScorer.fit(heads, claims, embedder.encode(heads), embedder.encode(claims),
                              [EMERGENT_STANCE[r["stance"]] for r in rows])
    scorer.linear.meta.update({"trained_on": "Emergent train", "pairs": len(rows), "model_id": embedder.model_id})
    return scorer


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--mrpc", type=Path, required=True)
    parser.add_argument("--emergent", type=Path, required=True)
    parser.add_argument("--out", type=Path, default=MODEL_DIR)
    args = parser.parse_args(argv)
    embedder = Embedder()
    args.out.mkdir(parents=True, exist_ok=True)
    for name, scorer in (("pair", train_pair(args.mrpc, embedder)), ("stance", train_stance(args.emergent, embedder))):
        (args.out / f"{name}.json").write_text(json.dumps(scorer.to_json()) + "\n", encoding="utf-8")
        print(f"wrote {args.out / name}.json ({scorer.linear.meta['pairs']} training pairs)")


if __name__ == "__main__":
    main()
