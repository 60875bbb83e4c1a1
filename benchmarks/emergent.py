"""Claim clustering on Emergent headlines: claimcluster against baselines on the same embeddings.

    python -m benchmarks.emergent --data benchmarks/data/emergent [--split train|test|all] [--json]

Headline figure: ARI with every unclustered headline as its own singleton ("ari"). Also ARI
with noise as one group, NMI, V-measure, clusters found, noise share and wall time, for:
claimcluster defaults; the same forced onto its k-NN (large-corpus) path; exact HDBSCAN
(``hdbscan`` package) on the full vectors with the same parameters; TF-IDF + average-linkage
agglomerative (the lexical floor); sentence-transformers ``community_detection`` at its best
threshold (an upper bound: tuned on the scored rows); BERTopic with defaults and with
``min_topic_size`` tuned the same way. ``--cv`` adds a claim-grouped 5-fold estimate in which
claimcluster's parameters are chosen on four folds and scored on the fifth.

``--granularity assertion`` also scores the assertion-level clustering against gold =
(claim, denies or not): claims are split by the stance of each headline toward its claim's
representative. The stance model never sees the headlines it labels: on a train-only file
each headline's stance comes from a model trained on the other claim-grouped folds; with
``--split test`` from a model trained on the train rows.
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path

import numpy as np
from sklearn.metrics import adjusted_rand_score, normalized_mutual_info_score, v_measure_score

from benchmarks.common import emit, find_file, machine, read_jsonl
from claimcluster import Embedder, cluster_vectors, normalize_text
from claimcluster.assertion import StanceScorer
from claimcluster.cluster import DEFAULT_MIN_CLUSTER_SIZE, DEFAULT_MIN_COHESION, DEFAULT_MIN_SAMPLES

GRID = [(mcs, coh) for mcs in (3, 4, 5, 6) for coh in (0.0, 0.4, 0.45, 0.5, 0.55)]


def singletons(labels: np.ndarray) -> np.ndarray:
    out = np.asarray(labels).copy()
    noise = out < 0
    out[noise] = out.max(initial=-1) + 1 + np.arange(noise.sum())
    return out


def scores(gold: np.ndarray, labels: np.ndarray, seconds: float) -> dict:
    labels = np.asarray(labels)
    single = singletons(labels)
    return {
        "ari": round(adjusted_rand_score(gold, single), 4),
        "ari_noise_as_group": round(adjusted_rand_score(gold, labels), 4),
        "nmi": round(normalized_mutual_info_score(gold, single), 4),
        "v_measure": round(v_measure_score(gold, single), 4),
        "clusters": int(len(set(labels[labels >= 0]))),
        "noise_share": round(float((labels < 0).mean()), 4),
        "seconds": round(seconds, 2),
    }


def timed(fn):
    start = time.perf_counter()
    labels = fn()
    return labels, time.perf_counter() - start


def tfidf_agglomerative(texts: list[str]) -> np.ndarray:
    from sklearn.cluster import AgglomerativeClustering
    from sklearn.feature_extraction.text import TfidfVectorizer

    tfidf = TfidfVectorizer(sublinear_tf=True, stop_words="english").fit_transform(texts).toarray()
    return AgglomerativeClustering(n_clusters=None, metric="cosine", linkage="average",
                                   distance_threshold=0.85).fit_predict(tfidf)


def community(X: np.ndarray, threshold: float) -> np.ndarray:
    import torch
    from sentence_transformers.util import community_detection

    labels = np.full(len(X), -1)
    for k, members in enumerate(community_detection(torch.from_numpy(X), threshold=threshold, min_community_size=2)):
        labels[members] = k
    return labels


def bertopic(texts: list[str], X: np.ndarray, min_topic_size: int) -> np.ndarray:
    from bertopic import BERTopic
    from umap import UMAP

    umap = UMAP(n_neighbors=15, n_components=5, min_dist=0.0, metric="cosine", random_state=42)
    model = BERTopic(min_topic_size=min_topic_size, umap_model=umap, calculate_probabilities=False)
    topics, _ = model.fit_transform(texts, embeddings=X)
    return np.asarray(topics)


def grouped_cv(gold: np.ndarray, X: np.ndarray, folds: int = 5) -> dict:
    """Parameters chosen on the other folds' claims, ARI measured on the held-out fold's claims."""
    rng = np.random.default_rng(0)
    claims = np.unique(gold)
    fold_of = dict(zip(claims, rng.permutation(len(claims)) % folds))
    fold = np.array([fold_of[g] for g in gold])
    held = []
    for f in range(folds):
        train, test = fold != f, fold == f
        best = max(GRID, key=lambda p: adjusted_rand_score(
            gold[train], singletons(cluster_vectors(X[train], min_cluster_size=p[0], min_samples=1,
                                                     min_cohesion=p[1]).labels)))
        labels = cluster_vectors(X[test], min_cluster_size=best[0], min_samples=1, min_cohesion=best[1]).labels
        held.append((adjusted_rand_score(gold[test], singletons(labels)), best))
    return {"ari_mean": round(float(np.mean([h[0] for h in held])), 4),
            "ari_per_fold": [round(h[0], 4) for h in held], "chosen": [list(h[1]) for h in held]}


class _HeldOutStance:
    """Stance for each headline from a model that was not trained on that headline's claim."""

    def __init__(self, scorers: dict[str, StanceScorer], scorer_of_text: dict[str, str]):
        self.scorers, self.scorer_of_text = scorers, scorer_of_text

    def predict(self, sentences, claims, vs, vc):
        out = []
        for i, sentence in enumerate(sentences):
            scorer = self.scorers[self.scorer_of_text[sentence]]
            out += scorer.predict([sentence], [claims[i]], vs[i : i + 1], vc[i : i + 1])
        return out


def assertion_level(rows: list[dict], all_rows: list[dict], X: np.ndarray, split: str, embedder: Embedder) -> dict:
    """ARI of assertion-granularity clusters against gold (claim, against-or-not)."""
    from claimcluster.pipeline import split_assertions
    from claimcluster.training import EMERGENT_STANCE

    gold = np.array([f"{r['claim_id']}/{r['stance'] == 'against'}" for r in rows])
    texts = [normalize_text(r["headline"]) for r in rows]

    def fit(part):
        heads, claims = [normalize_text(r["headline"]) for r in part], [normalize_text(r["claim"]) for r in part]
        return StanceScorer.fit(heads, claims, embedder.encode(heads), embedder.encode(claims),
                                [EMERGENT_STANCE[r["stance"]] for r in part])

    if split == "train":
        rng = np.random.default_rng(0)
        claims = sorted({r["claim_id"] for r in rows})
        fold_of = dict(zip(claims, (rng.permutation(len(claims)) % 5).astype(str)))
        scorers = {f: fit([r for r in rows if fold_of[r["claim_id"]] != f]) for f in set(fold_of.values())}
        stance = _HeldOutStance(scorers, {t: fold_of[r["claim_id"]] for t, r in zip(texts, rows)})
    else:
        stance = fit([r for r in all_rows if r.get("split", "train") == "train"])
    params = dict(min_cluster_size=DEFAULT_MIN_CLUSTER_SIZE, min_samples=DEFAULT_MIN_SAMPLES)
    claim_labels = cluster_vectors(X, **params).labels
    start = time.perf_counter()
    labels = split_assertions(texts, X, claim_labels, stance)
    seconds = time.perf_counter() - start
    return {"ari": scores(gold, labels, seconds)["ari"],
            "ari_claim_granularity_same_gold": scores(gold, claim_labels, 0)["ari"],
            "clusters": int(labels.max() + 1), "gold_groups": int(len(set(gold))),
            "split_seconds": round(seconds, 2), "rules_on_gold_pairs": rules_on_gold_pairs(rows)}


def rules_on_gold_pairs(rows: list[dict]) -> dict:
    """How often each assertion rule fires on headline pairs of one claim: on pairs gold calls
    the same assertion (both against or both not: false alarms) and on pairs where one denies."""
    from claimcluster.assertion import assertion_rules

    by_claim: dict[str, list[dict]] = {}
    for r in rows:
        by_claim.setdefault(r["claim_id"], []).append(r)
    pairs = [(x, y) for group in by_claim.values() for i, x in enumerate(group) for y in group[i + 1 :]]
    rules = assertion_rules([x["headline"] for x, _ in pairs], [y["headline"] for _, y in pairs])
    same = np.array([(x["stance"] == "against") == (y["stance"] == "against") for x, y in pairs], dtype=bool)
    out = {"same_assertion_pairs": int(same.sum()), "denial_pairs": int((~same).sum())}
    for name, flags in rules.items():
        out[name] = {"on_same_assertion": int((flags & same).sum()), "on_denial": int((flags & ~same).sum())}
    return out


def main(argv: list[str] | None = None) -> dict:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--data", type=Path, required=True, help="directory holding emergent_headlines.jsonl")
    parser.add_argument("--split", choices=["train", "test", "all"], default="train")
    parser.add_argument("--model", default="all-MiniLM-L6-v2")
    parser.add_argument("--no-baselines", action="store_true", help="claimcluster and exact HDBSCAN only")
    parser.add_argument("--cv", action="store_true", help="add the claim-grouped cross-validated estimate")
    parser.add_argument("--granularity", choices=["claim", "assertion"], default="claim")
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args(argv)

    all_rows = read_jsonl(find_file(args.data, "emergent_headlines.jsonl"))
    rows = all_rows if args.split == "all" else [r for r in all_rows if r.get("split", "train") == args.split]
    if not rows:
        raise SystemExit(f"no rows with split {args.split!r}")
    texts = [r["headline"] for r in rows]
    gold = np.array([r["claim_id"] for r in rows])
    X = Embedder(args.model).encode(texts)
    params = dict(min_cluster_size=DEFAULT_MIN_CLUSTER_SIZE, min_samples=DEFAULT_MIN_SAMPLES)

    systems: dict[str, dict] = {}
    labels, sec = timed(lambda: cluster_vectors(X, **params).labels)
    systems["claimcluster"] = scores(gold, labels, sec)
    labels, sec = timed(lambda: cluster_vectors(X, exact_max_points=0, **params).labels)
    systems["claimcluster_knn_path"] = scores(gold, labels, sec)

    import hdbscan

    labels, sec = timed(lambda: hdbscan.HDBSCAN(**params).fit(X.astype(np.float64)).labels_)
    systems["hdbscan_exact_full_vectors"] = scores(gold, labels, sec)
    if not args.no_baselines:
        labels, sec = timed(lambda: tfidf_agglomerative(texts))
        systems["tfidf_agglomerative"] = scores(gold, labels, sec)
        best = max(((t, *timed(lambda t=t: community(X, t))) for t in (0.6, 0.65, 0.7, 0.75, 0.8)),
                   key=lambda item: adjusted_rand_score(gold, singletons(item[1])))
        systems[f"community_detection_best_t{best[0]}"] = scores(gold, best[1], best[2])
        labels, sec = timed(lambda: bertopic(texts, X, 10))
        systems["bertopic_defaults"] = scores(gold, labels, sec)
        tuned = max(((m, *timed(lambda m=m: bertopic(texts, X, m))) for m in (2, 3, 5)),
                    key=lambda item: adjusted_rand_score(gold, singletons(item[1])))
        systems[f"bertopic_min_topic_size_{tuned[0]}"] = scores(gold, tuned[1], tuned[2])

    result = {
        "split": args.split,
        "headlines": len(rows),
        "claims": int(len(set(gold))),
        "ari": systems["claimcluster"]["ari"],
        "ari_gap_to_exact_hdbscan": round(systems["claimcluster_knn_path"]["ari"]
                                          - systems["hdbscan_exact_full_vectors"]["ari"], 4),
        "parameters": {**params, "min_cohesion": DEFAULT_MIN_COHESION},
        "systems": systems,
        "machine": machine(),
    }
    if args.cv:
        result["grouped_cv"] = grouped_cv(gold, X)
    if args.granularity == "assertion":
        result["assertion"] = assertion_level(rows, all_rows, X, args.split, Embedder(args.model))
    if args.json:
        emit(result, True)
    else:
        print(f"Emergent {args.split}: {len(rows)} headlines, {result['claims']} claims")
        print(f"{'system':<36}{'ARI':>8}{'ARI(grp)':>10}{'NMI':>8}{'V':>8}{'clusters':>10}{'noise':>8}{'sec':>8}")
        for name, s in systems.items():
            print(f"{name:<36}{s['ari']:>8}{s['ari_noise_as_group']:>10}{s['nmi']:>8}{s['v_measure']:>8}"
                  f"{s['clusters']:>10}{s['noise_share']:>8}{s['seconds']:>8}")
        print(f"k-NN path ARI minus exact HDBSCAN ARI: {result['ari_gap_to_exact_hdbscan']:+.4f}")
        if args.cv:
            print(f"claim-grouped 5-fold CV (parameters chosen on other folds): {result['grouped_cv']}")
        if "assertion" in result:
            print(f"assertion granularity: {result['assertion']}")
    return result


if __name__ == "__main__":
    main()
