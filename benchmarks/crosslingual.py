"""Claims across languages: English news sentences and their Russian translations, contradictions and
same-topic other assertions (benchmarks/data/ru_en_claims; protocol in its SOURCE.md and TEST.md).

    python -m benchmarks.crosslingual [--data benchmarks/data/ru_en_claims] [--split dev|test|test2]
                                      [--models M ...] [--json]

``--split dev`` (dev.jsonl: 120 sentences of the five seed articles, one story) is where the rules
were read and changed; ``--split test`` (121 sentences of 39 FNC-1 training bodies on 15 other
stories) was held out until one rule change was scored on it (and dropped) and is now a second dev
set; ``--split test2`` (123 sentences of 47 other FNC-1 bodies on 13 other stories) is held out:
the figure to report (see the data's SOURCE.md).

For each model (default: the packaged default and "multilingual"):

* ``translation_top1_en_to_ru`` / ``_ru_to_en``: the share of English sentences whose nearest Russian
  sentence (among all translations, contradictions and same-topic sentences of the set) is their
  translation, and of translations whose nearest English sentence is their source (bar: 0.95 both ways);
* ``mean_cosine`` of translation pairs, contradiction pairs, same-topic pairs and of unrelated pairs
  (an English sentence and another row's translation): where the model's cosines sit;
* ``contradiction_shares_claim``: clustering every sentence of the set (each its own document,
  ``granularity="assertion"``, min_cluster_size 2), the share of contradictions that land in one claim
  with their English source (bar: 0), and ``translation_shares_claim``, the share of translations that do
  (what a cross-lingual claim needs);
* ``rules_fire``: the share of pairs on which each assertion rule (figures, polarity, roles) fires:
  on translations (English and Russian: a false alarm across languages), on contradictions, and on
  contradictions against the Russian translation (what the split of a claim sees when the
  translation is its representative).
"""

from __future__ import annotations

import argparse
from pathlib import Path

import numpy as np

from benchmarks.common import emit, find_file, machine, read_jsonl
from claimcluster import DEFAULT_MODEL, Document, Embedder, cluster_documents
from claimcluster.assertion import assertion_rules


def measure(rows: list[dict], model: str) -> dict:
    embedder = Embedder(model)
    en = embedder.encode([r["en"] for r in rows])
    kinds = ("ru_translation", "ru_contradiction", "ru_same_topic")
    ru = {kind: embedder.encode([r[kind] for r in rows]) for kind in kinds}
    pool = np.vstack([ru[kind] for kind in kinds])  # every Russian sentence of the set
    n = len(rows)
    en_to_ru = np.argmax(en @ pool.T, axis=1)
    ru_to_en = np.argmax(ru["ru_translation"] @ en.T, axis=1)
    unrelated = en @ np.roll(ru["ru_translation"], 1, axis=0).T
    out = {
        "model": model,
        "model_id": embedder.model_id,
        "pairs": n,
        "translation_top1_en_to_ru": round(float(np.mean(en_to_ru == np.arange(n))), 4),
        "translation_top1_ru_to_en": round(float(np.mean(ru_to_en == np.arange(n))), 4),
        "mean_cosine": {kind.removeprefix("ru_"): round(float(np.mean(np.sum(en * ru[kind], axis=1))), 4)
                        for kind in kinds} | {"unrelated": round(float(np.mean(np.diag(unrelated))), 4)},
    }
    # The assertion rules on each pair: they must not fire on a translation (across the two
    # languages), and should on a contradiction (across, and against the Russian translation).
    pairs = {"translation": ("en", "ru_translation"), "contradiction": ("en", "ru_contradiction"),
             "contradiction_vs_translation": ("ru_translation", "ru_contradiction")}
    out["rules_fire"] = {}
    for name, (x, y) in pairs.items():
        verdicts = assertion_rules([r[x] for r in rows], [r[y] for r in rows])
        out["rules_fire"][name] = {rule: round(float(np.mean(flags)), 4) for rule, flags in verdicts.items()} | {
            "any": round(float(np.mean(verdicts.any)), 4)}
    documents = [Document(f"{r['id']}-{field}", r[field]) for r in rows for field in ("en", *kinds)]
    claims = cluster_documents(documents, embedder=embedder, granularity="assertion", min_cluster_size=2)
    claim_of = {m.doc_id: c.id for c in claims.claims for m in c.members}

    def shares(field: str) -> float:
        together = [claim_of.get(f"{r['id']}-en") is not None
                    and claim_of.get(f"{r['id']}-en") == claim_of.get(f"{r['id']}-{field}") for r in rows]
        return round(float(np.mean(together)), 4)

    out |= {"claims": len(claims.claims), "contradiction_shares_claim": shares("ru_contradiction"),
            "translation_shares_claim": shares("ru_translation"), "same_topic_shares_claim": shares("ru_same_topic")}
    by_kind = {}
    for kind in sorted({r["contradiction_kind"] for r in rows}):
        chosen = [r for r in rows if r["contradiction_kind"] == kind]
        by_kind[kind] = round(float(np.mean([claim_of.get(f"{r['id']}-en") is not None and claim_of.get(
            f"{r['id']}-en") == claim_of.get(f"{r['id']}-ru_contradiction") for r in chosen])), 4)
    out["contradiction_shares_claim_by_kind"] = by_kind
    return out


def main(argv: list[str] | None = None) -> dict:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--data", type=Path, default=Path("benchmarks/data/ru_en_claims"))
    parser.add_argument("--split", choices=["dev", "test", "test2"], default="dev")
    parser.add_argument("--models", nargs="+", default=[DEFAULT_MODEL, "multilingual"])
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args(argv)
    rows = read_jsonl(find_file(args.data, f"{args.split}.jsonl"))
    result = {"split": args.split, "models": [measure(rows, model) for model in args.models], "machine": machine()}
    emit(result, args.json)
    return result


if __name__ == "__main__":
    main()
