"""Claim clustering on Emergent headlines: claimcluster against baselines, for each embedding model.

    python -m benchmarks.emergent --data benchmarks/data/emergent [--split dev|test|train|all] [--json]

Headline figure: ARI with every unclustered headline as its own singleton ("ari"). Also ARI
with noise as one group, NMI, V-measure, clusters found, noise share and wall time. For each
model of ``--models`` (default: the claim-tuned default and the plain base model, side by side):
claimcluster's defaults (the density clusters read by the same-assertion judge, as ``cluster_documents``
makes them; ``claimcluster_no_judge``: the density clusters alone) and exact HDBSCAN (``hdbscan``
package) with the same parameters. On the
first model's vectors also: the same forced onto claimcluster's k-NN (large-corpus) path;
TF-IDF + average-linkage agglomerative (the lexical floor); sentence-transformers
``community_detection`` at its best threshold and BERTopic with ``min_topic_size`` tuned (both
tuned on the scored rows: upper bounds). ``--grid`` adds claimcluster's ARI over a grid of
min_cluster_size x min_cohesion (how the defaults were chosen, on the dev partition).

``--granularity assertion`` also scores the assertion-level clustering against gold =
(claim, denies or not), with the shipped stance model of each embedding model (it learned
from the train partition only, so on ``--split train`` the figure is in-sample).
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path

import numpy as np
from sklearn.metrics import adjusted_rand_score, normalized_mutual_info_score, v_measure_score

from benchmarks.common import SPLIT_HELP, SPLITS, add_model_option, emit, find_file, machine, partition, read_jsonl
from claimcluster import Embedder, cluster_vectors, form_claims, gate_reasons, normalize_text
from claimcluster.assertion import StanceScorer, assertion_rules
from claimcluster.claims import split_assertions
from claimcluster.cluster import DEFAULT_MIN_CLUSTER_SIZE, DEFAULT_MIN_COHESION, DEFAULT_MIN_SAMPLES
from claimcluster.judge import judge_for
from claimcluster.models import MULTILINGUAL_MODEL_ID as MULTILINGUAL_ID
from claimcluster.models import min_cohesion_for

GRID = [(mcs, coh) for mcs in (3, 4, 5, 6) for coh in (0.0, 0.4, 0.45, 0.5, 0.55, 0.6)]
# The multilingual E5's cosines sit higher: its grid reaches further.
GRID_HIGH = [(mcs, coh) for mcs in (3, 4, 5, 6) for coh in (0.5, 0.7, 0.75, 0.8, 0.82, 0.84, 0.86, 0.88, 0.9)]


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


def grid(gold: np.ndarray, X: np.ndarray, model_id: str) -> dict[str, float]:
    """claimcluster's ARI for each (min_cluster_size, min_cohesion) of GRID, min_samples 1."""
    cells = GRID_HIGH if model_id == MULTILINGUAL_ID else GRID
    return {f"{mcs}/{coh}": round(adjusted_rand_score(gold, singletons(
        cluster_vectors(X, min_cluster_size=mcs, min_samples=1, min_cohesion=coh).labels)), 4) for mcs, coh in cells}


def assertion_level(rows: list[dict], X: np.ndarray, embedder: Embedder) -> dict:
    """ARI of assertion-granularity clusters against gold (claim, against-or-not)."""
    gold = np.array([f"{r['claim_id']}/{r['stance'] == 'against'}" for r in rows])
    texts = [normalize_text(r["headline"]) for r in rows]
    claim_labels = cluster_vectors(X, min_cluster_size=DEFAULT_MIN_CLUSTER_SIZE, min_samples=DEFAULT_MIN_SAMPLES).labels
    start = time.perf_counter()
    labels = split_assertions(texts, X, claim_labels, StanceScorer.load(embedder.model_id))
    seconds = time.perf_counter() - start
    return {"ari": scores(gold, labels, seconds)["ari"],
            "ari_claim_granularity_same_gold": scores(gold, claim_labels, 0)["ari"],
            "clusters": int(labels.max() + 1), "gold_groups": int(len(set(gold))),
            "split_seconds": round(seconds, 2)}


def rules_on_gold_pairs(rows: list[dict]) -> dict:
    """How often each assertion rule fires on headline pairs of one claim: on pairs gold calls
    the same assertion (both against or both not: false alarms) and on pairs where one denies."""
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


def judged_labels(texts: list[str], X: np.ndarray, proposed: np.ndarray, judge, min_size: int) -> np.ndarray:
    """The claims ``cluster_documents`` makes from the proposed clusters: gate, then the judge."""
    texts = [normalize_text(t) for t in texts]
    checkable = np.array([reason is None for reason in gate_reasons(texts)])
    return form_claims(texts, X, proposed, judge, checkable=checkable, min_size=min_size,
                       member_threshold=float(judge.card["member_threshold"])).labels


def systems_for(texts: list[str], gold: np.ndarray, X: np.ndarray, baselines: bool,
                min_cohesion: float = DEFAULT_MIN_COHESION, judge=None) -> dict[str, dict]:
    params = dict(min_cluster_size=DEFAULT_MIN_CLUSTER_SIZE, min_samples=DEFAULT_MIN_SAMPLES)
    import hdbscan

    systems: dict[str, dict] = {}
    labels, sec = timed(lambda: cluster_vectors(X, min_cohesion=min_cohesion, **params).labels)
    if judge is not None:
        judged, judge_sec = timed(lambda: judged_labels(texts, X, labels, judge, params["min_cluster_size"]))
        systems["claimcluster"] = scores(gold, judged, sec + judge_sec)
        systems["claimcluster_no_judge"] = scores(gold, labels, sec)
    else:
        systems["claimcluster"] = scores(gold, labels, sec)
    labels, sec = timed(lambda: hdbscan.HDBSCAN(**params).fit(X.astype(np.float64)).labels_)
    systems["hdbscan_exact_full_vectors"] = scores(gold, labels, sec)
    if not baselines:
        return systems
    labels, sec = timed(lambda: cluster_vectors(X, exact_max_points=0, min_cohesion=min_cohesion, **params).labels)
    systems["claimcluster_knn_path"] = scores(gold, labels, sec)
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
    return systems


def main(argv: list[str] | None = None) -> dict:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--data", type=Path, required=True, help="directory holding emergent_headlines.jsonl")
    parser.add_argument("--split", choices=SPLITS, default="dev", help=SPLIT_HELP)
    add_model_option(parser)
    parser.add_argument("--no-baselines", action="store_true", help="claimcluster and exact HDBSCAN only")
    parser.add_argument("--grid", action="store_true", help="claimcluster's ARI over min_cluster_size x min_cohesion")
    parser.add_argument("--granularity", choices=["claim", "assertion"], default="claim")
    parser.add_argument("--no-judge", action="store_true", help="claimcluster's density clusters without the judge")
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args(argv)

    rows = partition(read_jsonl(find_file(args.data, "emergent_headlines.jsonl")), args.split, lambda r: r["claim_id"])
    if not rows:
        raise SystemExit(f"no rows in split {args.split!r} of {args.data}")
    texts = [r["headline"] for r in rows]
    gold = np.array([r["claim_id"] for r in rows])
    result: dict = {"split": args.split, "headlines": len(rows), "claims": int(len(set(gold))),
                    "parameters": {"min_cluster_size": DEFAULT_MIN_CLUSTER_SIZE, "min_samples": DEFAULT_MIN_SAMPLES,
                                   "min_cohesion": DEFAULT_MIN_COHESION}, "models": {}}
    for number, model in enumerate(args.models):
        embedder = Embedder(model)
        X = embedder.encode(texts)
        entry: dict = {"model_id": embedder.model_id,
                       "min_cohesion": min_cohesion_for(embedder.model_id),
                       "systems": systems_for(texts, gold, X, baselines=number == 0 and not args.no_baselines,
                                              min_cohesion=min_cohesion_for(embedder.model_id),
                                              judge=judge_for("auto" if not args.no_judge else None,
                                                              embedder.model_id))}
        entry["ari"] = entry["systems"]["claimcluster"]["ari"]
        if args.grid:
            entry["grid"] = grid(gold, X, embedder.model_id)
        if args.granularity == "assertion":
            entry["assertion"] = assertion_level(rows, X, embedder)
        result["models"][model] = entry
    if args.granularity == "assertion":
        result["rules_on_gold_pairs"] = rules_on_gold_pairs(rows)
    result["ari"] = result["models"][args.models[0]]["ari"]
    result["machine"] = machine()
    if args.json:
        emit(result, True)
        return result
    print(f"Emergent {args.split}: {len(rows)} headlines, {result['claims']} claims")
    for model, entry in result["models"].items():
        print(f"\n{model} ({entry['model_id']})")
        print(f"{'system':<36}{'ARI':>8}{'ARI(grp)':>10}{'NMI':>8}{'V':>8}{'clusters':>10}{'noise':>8}{'sec':>8}")
        for name, s in entry["systems"].items():
            print(f"{name:<36}{s['ari']:>8}{s['ari_noise_as_group']:>10}{s['nmi']:>8}{s['v_measure']:>8}"
                  f"{s['clusters']:>10}{s['noise_share']:>8}{s['seconds']:>8}")
        for key in ("grid", "assertion"):
            if key in entry:
                print(f"{key}: {entry[key]}")
    if "rules_on_gold_pairs" in result:
        print(f"rules on gold pairs: {result['rules_on_gold_pairs']}")
    return result


if __name__ == "__main__":
    main()
