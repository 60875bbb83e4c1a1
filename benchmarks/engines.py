"""The local engine against the Ray engine on the same input: the same claims, and the time of each.

    python -m benchmarks.engines [--data benchmarks/data] [--fnc1 ../shared/data/fnc1_train_bodies]
                                 [--documents 300] [--cpus N] [--json]

A local Ray cluster of ``--cpus`` CPUs (default: all) is started once (its start-up time is reported
on its own). For each corpus — the seeds, the Emergent headlines (each headline a document), the
first ``--documents`` FNC-1 bodies — both engines cluster it with the defaults; reported: the ARI
between their sentence labels (every unclustered sentence a singleton), whether the ClaimSets are
identical, and the wall time of each engine (the Ray time includes moving the documents to the
workers and the vectors back). On one machine Ray adds work (actor start-up, a model per actor,
serialisation) to the same CPUs: the ratio says what that costs, not what a cluster would gain.
"""

from __future__ import annotations

import argparse
import os
import time
from pathlib import Path

from sklearn.metrics import adjusted_rand_score

from benchmarks.common import emit, find_file, machine, peak_rss_mb, read_jsonl
from claimcluster import ClaimSet, Embedder, FieldMap, cluster_documents, from_records, load_documents


def labels(claims: ClaimSet) -> dict[tuple[str, int], int]:
    out = {(m.doc_id, m.start): c.id for c in claims.claims for m in c.members}
    out.update({(m.doc_id, m.start): -1 - i for i, m in enumerate(claims.unclustered)})  # singletons
    return out


def compare(name: str, corpus, embedder: Embedder) -> dict:
    start = time.perf_counter()
    local = cluster_documents(corpus, embedder=embedder)
    local_seconds = time.perf_counter() - start
    start = time.perf_counter()
    remote = cluster_documents(corpus, embedder=embedder, engine="ray")
    ray_seconds = time.perf_counter() - start
    a, b = labels(local), labels(remote)
    keys = sorted(a)
    sentences = len(keys)
    return {
        "corpus": name,
        "documents": local.n_documents,
        "sentences": sentences,
        "claims_local": len(local.claims),
        "claims_ray": len(remote.claims),
        "ari": round(adjusted_rand_score([a[k] for k in keys], [b.get(k, -10**9) for k in keys]), 4)
        if a.keys() == b.keys() else None,
        "identical": local.to_dict() == remote.to_dict(),
        "local_seconds": round(local_seconds, 2),
        "ray_seconds": round(ray_seconds, 2),
        "ray_over_local": round(ray_seconds / local_seconds, 2),
    }


def main(argv: list[str] | None = None) -> dict:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--data", type=Path, default=Path("benchmarks/data"))
    parser.add_argument("--fnc1", type=Path, default=Path("../shared/data/fnc1_train_bodies"))
    parser.add_argument("--documents", type=int, default=300)
    parser.add_argument("--cpus", type=int, default=os.cpu_count())
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args(argv)
    import ray

    start = time.perf_counter()
    ray.init(num_cpus=args.cpus, include_dashboard=False, log_to_driver=False, configure_logging=False)
    startup = time.perf_counter() - start
    embedder = Embedder()
    corpora = [("seeds", load_documents([Path("seeds")]))]
    headlines = read_jsonl(find_file(args.data / "emergent", "emergent_headlines.jsonl"))
    corpora.append(("emergent headlines", from_records(headlines, FieldMap(text="headline", id="row_id"))))
    if args.fnc1.exists():
        bodies = sorted(read_jsonl(find_file(args.fnc1, "bodies.jsonl")), key=lambda r: int(r["body_id"]))
        corpora.append((f"fnc1 first {args.documents} bodies",
                        from_records(bodies[: args.documents], FieldMap(text="text", id="body_id"))))
    rows = [compare(name, corpus, embedder) for name, corpus in corpora]
    ray.shutdown()
    result = {"ray_startup_seconds": round(startup, 2), "cpus": args.cpus, "corpora": rows,
              "peak_rss_mb_driver": round(peak_rss_mb()), "machine": machine()}
    emit(result, args.json)
    return result


if __name__ == "__main__":
    main()
