"""Reproduce the shipped models (``claimcluster/models/*.json``) from public data.

    python -m claimcluster.training --mrpc benchmarks/data/mrpc --emergent benchmarks/data/emergent \
        --clef benchmarks/data/clef2020_checkthat_task2

The pair model learns from MRPC rows whose ``split`` is ``train``; the stance model from
Emergent rows whose ``split`` is ``train`` (headline against its claim; for -> repeats,
against -> denies, observing -> reports); the matching re-ranker from CLEF-2020 tweets and
qrels whose ``split`` is ``train`` (every verified claim is indexed, as in use). Dev and test
rows are never read. Hyper-parameters (C) were chosen by cross-validation on those same train
rows (benchmarks/pairs.py, benchmarks/stance.py; for the re-ranker 5-fold CV over train
tweets: MAP@5 0.8881 / 0.8901 / 0.8879 / 0.8876 at C = 0.01 / 0.1 / 1 / 10).
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

import numpy as np

from claimcluster.assertion import MODEL_DIR, PairScorer, StanceScorer
from claimcluster.embed import Embedder
from claimcluster.index import RERANK_DEPTH, ClaimIndex, clean_social_text, rerank_features

EMERGENT_STANCE = {"for": "repeats", "against": "denies", "observing": "reports"}


def _rows(path: Path, name: str, split: str | None = "train") -> list[dict]:
    file = path if path.is_file() else path / name
    with open(file, encoding="utf-8") as fh:
        rows = [json.loads(line) for line in fh if line.strip()]
    return [r for r in rows if split is None or r.get("split", "train") == split]


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


def rerank_examples(clef: Path, embedder: Embedder) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Features, relevance and query number of the top fused candidates of every train tweet."""
    claims = _rows(clef, "vclaims.jsonl", split=None)
    gold: dict[str, set[str]] = {}
    for r in _rows(clef, "qrels.jsonl"):
        gold.setdefault(str(r["tweet_id"]), set()).add(str(r["vclaim_id"]))
    tweets = [t for t in _rows(clef, "queries.jsonl") if str(t["tweet_id"]) in gold]
    index = ClaimIndex(embedder, rerank=False).add(
        [c["vclaim"] for c in claims], ids=[str(c["vclaim_id"]) for c in claims],
        extra_texts=[c.get("title", "") for c in claims])
    extra = {str(c["vclaim_id"]): c.get("title", "") for c in claims}
    features, relevant, query = [], [], []
    for number, (tweet, matches) in enumerate(zip(tweets, index.search([t["text"] for t in tweets], k=RERANK_DEPTH))):
        prepared = clean_social_text(tweet["text"]) or tweet["text"]
        features.append(rerank_features(prepared, [m.text for m in matches], [extra[m.id] for m in matches],
                                         np.array([m.score for m in matches]), np.array([m.dense for m in matches]),
                                         np.array([m.lexical for m in matches])))
        relevant += [m.id in gold[str(tweet["tweet_id"])] for m in matches]
        query += [number] * len(matches)
    return np.vstack(features), np.array(relevant), np.array(query)


def fit_reranker(features: np.ndarray, relevant: np.ndarray, query: np.ndarray, *, C: float = 0.1) -> np.ndarray:
    """Linear weights from every (relevant, non-relevant) candidate pair of the same query."""
    from sklearn.linear_model import LogisticRegression

    differences = []
    for q in np.unique(query):
        rows = np.flatnonzero(query == q)
        good, bad = rows[relevant[rows]], rows[~relevant[rows]]
        differences += [features[g] - features[b] for g in good for b in bad]
    X = np.vstack([differences, np.negative(differences)])
    scale = X.std(axis=0)
    scale[scale < 1e-12] = 1.0
    X = X / scale
    y = np.r_[np.ones(len(differences)), np.zeros(len(differences))]
    model = LogisticRegression(C=C, max_iter=5000, fit_intercept=False).fit(X, y)
    return model.coef_[0] / scale


def train_rerank(clef: Path, embedder: Embedder) -> dict:
    features, relevant, query = rerank_examples(clef, embedder)
    weights = fit_reranker(features, relevant, query)
    return {"weights": np.round(weights, 8).tolist(), "depth": RERANK_DEPTH,
            "meta": {"trained_on": "CLEF-2020 CheckThat! 2a train", "tweets": int(len(np.unique(query))),
                     "C": 0.1, "model_id": embedder.model_id}}


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--mrpc", type=Path, required=True)
    parser.add_argument("--emergent", type=Path, required=True)
    parser.add_argument("--clef", type=Path, required=True)
    parser.add_argument("--out", type=Path, default=MODEL_DIR)
    args = parser.parse_args(argv)
    embedder = Embedder()
    args.out.mkdir(parents=True, exist_ok=True)
    for name, scorer in (("pair", train_pair(args.mrpc, embedder)), ("stance", train_stance(args.emergent, embedder))):
        (args.out / f"{name}.json").write_text(json.dumps(scorer.to_json()) + "\n", encoding="utf-8")
        print(f"wrote {args.out / name}.json ({scorer.linear.meta['pairs']} training pairs)")
    rerank = train_rerank(args.clef, embedder)
    (args.out / "rerank.json").write_text(json.dumps(rerank) + "\n", encoding="utf-8")
    print(f"wrote {args.out / 'rerank.json'} ({rerank['meta']['tweets']} training tweets)")


if __name__ == "__main__":
    main()
