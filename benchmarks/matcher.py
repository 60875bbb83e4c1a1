"""An experiment, rejected on dev: a matcher that re-ranks claim matches by reading the tweet and the claim together.

    python -m benchmarks.matcher --data ../shared/data [--split dev] [--out DIR | --matcher DIR] [--json]

The matcher is the same-assertion judge's form (:mod:`claimcluster.judge`: a low-rank delta on the packaged
MiniLM run as a cross-encoder, a three-way head), fine-tuned here to read a tweet against a fact-checked claim
(about 14 minutes on 2 CPU cores; ``--matcher DIR`` scores one trained before). Then, on the split's tweets, the
default index's fused top candidates are put in the order of the matcher's log-odds of P(same) plus a weight
times the fused score, for several depths and weights, against the fused order alone (MAP@5).

The data and its fixed partitions (the set's own):

* ``checkthat2022_2a/``: the ``train`` tweets (997) are learned from; the ``dev`` tweets (202) are the dev
  partition, never learned from. The 2022 edition's own dev and test tweets are not in this copy.
* Groups: each train tweet, cleaned as queries are (:func:`~claimcluster.segment.clean_social_text`), with one
  of its verified claims and the ``negatives`` other claims the default index ranks highest for it (fusion of
  dense and BM25, no re-ranking: the candidates the matcher will have to order). The loss is listwise: the
  verified claim's log P(same) against the group's (a pointwise loss over the same pairs learned only the
  1-in-10 prior: dev ROC AUC 0.54).

The 2022 train tweets are the CLEF-2020 train and dev tweets again: CLEF-2020 dev figures of such a matcher
would be in-sample. The figures and why it is not shipped: benchmarks/RESULTS.md.
"""

from __future__ import annotations

import argparse
import json
import random
import shlex
import sys
import time
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

import numpy as np
import torch

from benchmarks.clef import load, metrics
from benchmarks.common import emit, machine
from claimcluster.judge import SAME, SameAssertionJudge, pooled_logits
from claimcluster.training.data import file_sha256
from claimcluster.training.judge import JudgeSettings, card_for, fit, save_judge

__all__ = ["MatcherSettings", "MatcherData", "load_matcher_data", "train_matcher", "CHECKTHAT", "main"]

CHECKTHAT = "checkthat2022_2a"


@dataclass(frozen=True)
class MatcherSettings:
    negatives: int = 9
    """Other claims per train tweet, the index's highest ranked."""
    groups: int = 2
    """Tweets per step, each with its verified claim and its ``negatives``."""
    judge: JudgeSettings = replace(JudgeSettings(), name="matcher-v1", epochs=2, ecb_pairs=0, emergent_pairs=0)


@dataclass
class MatcherData:
    """``train``: per group, the cleaned tweet, its candidates (claim texts), which are verified claims; ``dev``:
    per scored tweet, the cleaned text, its candidates' texts, fused scores and ids, and its verified claims' ids."""

    train: list[tuple[str, list[str], list[bool]]] = field(default_factory=list)
    dev: list[tuple[str, list[str], list[float], list[str], set[str]]] = field(default_factory=list)
    counts: dict[str, int] = field(default_factory=dict)
    data_sha256: dict[str, str] = field(default_factory=dict)


def load_matcher_data(data: str | Path, settings: MatcherSettings = MatcherSettings(), *, split: str = "dev",
                      log=print) -> MatcherData:
    """Each train tweet with one of its verified claims first, then ``negatives`` other candidates (one group per
    verified claim); each tweet of ``split`` with the index's top ``negatives + 1`` candidates."""
    from claimcluster import ClaimIndex, Embedder
    from claimcluster.segment import clean_social_text

    root = Path(data)
    folder = root / CHECKTHAT if (root / CHECKTHAT).is_dir() else root
    if not (folder / "vclaims.jsonl").is_file():
        raise FileNotFoundError(f"no {CHECKTHAT}/vclaims.jsonl under {root}")
    claims, train_tweets, train_gold = load(folder, "train")
    text = {str(c["vclaim_id"]): c["vclaim"] for c in claims}
    log(f"matcher: indexing {len(claims):,} verified claims")
    index = ClaimIndex(Embedder()).add([c["vclaim"] for c in claims], ids=[str(c["vclaim_id"]) for c in claims],
                                       extra_texts=[c.get("title", "") for c in claims])
    index.rerank = False
    out = MatcherData()
    for part in ("train", split):
        tweets, gold = (train_tweets, train_gold) if part == "train" else load(folder, part)[1:]
        queries = [clean_social_text(t["text"]) for t in tweets]
        found = index.search(queries, k=settings.negatives + 1)
        for tweet, query, matches in zip(tweets, queries, found):
            relevant = gold[str(tweet["tweet_id"])]
            if part != "train":
                out.dev.append((query, [text[m.id] for m in matches], [m.score for m in matches],
                                [m.id for m in matches], relevant))
                continue
            others = [text[m.id] for m in matches if m.id not in relevant][: settings.negatives]
            out.train += [(query, [text[c], *others], [True] + [False] * len(others)) for c in sorted(relevant)]
        out.counts[f"{part}_tweets"] = len(tweets)
    out.counts["train_groups"] = len(out.train)
    for name in ("vclaims.jsonl", "queries.jsonl", "qrels.jsonl"):
        out.data_sha256[f"{CHECKTHAT}/{name}"] = file_sha256(folder / name)
    return out


def _log_same(encoder, head, tokenizer, first: list[str], second: list[str], max_length: int):
    """log P(same) of each pair, the judge's forward pass."""
    batch = tokenizer(first, second, padding=True, truncation="longest_first", max_length=max_length,
                      return_tensors="pt")
    return torch.log_softmax(pooled_logits(encoder, head, batch), dim=-1)[:, SAME]


def dev_figures(tokenizer, encoder, head, dev, settings: JudgeSettings) -> dict[str, Any]:
    """Mean reciprocal rank of the verified claim among each dev tweet's candidates, in the index's order and
    in the matcher's alone (the mix with the fused score is chosen by the benchmark)."""
    fused, read = [], []
    with torch.inference_mode():
        for query, texts, _, ids, relevant in dev:
            scores = _log_same(encoder, head, tokenizer, [query] * len(texts), texts, settings.max_seq_length)
            order = np.argsort(-scores.numpy(), kind="stable")
            read.append(next((1 / (r + 1) for r, i in enumerate(order) if ids[i] in relevant), 0.0))
            fused.append(next((1 / (r + 1) for r, i in enumerate(ids) if i in relevant), 0.0))
    return {"tweets": len(dev), "mrr_fused_order": round(float(np.mean(fused)), 4),
            "mrr_matcher_order": round(float(np.mean(read)), 4)}


def train_matcher(data: MatcherData, out: Path, settings: MatcherSettings = MatcherSettings(), *,
                  command: str = "", log=print) -> dict[str, Any]:
    """Fine-tune the matcher with a listwise loss (the verified claim against its group's other candidates, by
    log P(same)), measure it on the dev tweets, write it to ``out`` in the judge's form."""
    started = time.perf_counter()
    judge = settings.judge
    rng = random.Random(judge.seed)
    batches = []
    for _ in range(judge.epochs):
        order = list(range(len(data.train)))
        rng.shuffle(order)
        batches += [order[i:i + settings.groups] for i in range(0, len(order), settings.groups)]

    def loss_of(tokenizer, encoder, head, groups):
        first = [data.train[g][0] for g in groups for _ in data.train[g][1]]
        second = [t for g in groups for t in data.train[g][1]]
        scores = _log_same(encoder, head, tokenizer, first, second, judge.max_seq_length)
        losses, start = [], 0
        for g in groups:
            n = len(data.train[g][1])
            losses.append(-torch.log_softmax(scores[start:start + n], dim=0)[0])  # the verified claim comes first
            start += n
        return torch.stack(losses).mean()

    tokenizer, encoder, head, tensors, steps, base_sha256 = fit(judge, batches, loss_of, name="matcher", log=log)
    seconds = time.perf_counter() - started
    figures = dev_figures(tokenizer, encoder, head, data.dev, judge)
    log(f"matcher dev: {json.dumps(figures)}")
    card = card_for(judge, base_sha256, figures, 0.5,
                    {"command": command, "steps": steps, "counts": data.counts, "data_sha256": data.data_sha256,
                     "seconds": round(seconds, 1), "negatives": settings.negatives, "groups": settings.groups})
    return save_judge(tensors, out, card)


def main(argv: list[str] | None = None) -> dict:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--data", type=Path, required=True, help="directory holding checkthat2022_2a/")
    parser.add_argument("--split", default="dev", help="the tweets scored: dev (the default) or test")
    parser.add_argument("--out", type=Path, default=Path(".cache/matcher"), help="where the trained matcher goes")
    parser.add_argument("--matcher", type=Path, default=None, help="score this trained matcher instead of training")
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args(argv)
    settings = MatcherSettings()
    data = load_matcher_data(args.data, settings, split=args.split, log=lambda m: print(m, file=sys.stderr))
    if args.matcher is None:
        command = "python -m benchmarks.matcher " + " ".join(shlex.quote(a) for a in sys.argv[1:])
        train_matcher(data, args.out, settings, command=command, log=lambda m: print(m, file=sys.stderr))
    matcher = SameAssertionJudge(args.matcher or args.out)
    first = [query for query, texts, *_ in data.dev for _ in texts]
    second = [t for _, texts, *_ in data.dev for t in texts]
    started = time.perf_counter()
    same = matcher.predict(first, second)[:, SAME].astype(np.float64)
    seconds = time.perf_counter() - started
    odds = np.log(np.clip(same, 1e-6, 1)) - np.log(np.clip(1 - same, 1e-6, 1))
    truth = [relevant for *_, relevant in data.dev]
    result: dict = {"split": args.split, "tweets": len(data.dev), "matcher": matcher.judge_id,
                    "fused_order_map@5": metrics([ids for *_, ids, _ in data.dev], truth)["map@5"], "mixes": {},
                    "pairs_per_second": round(len(first) / seconds, 1), "backend": matcher.backend_used}
    for depth in (5, 10):
        for weight in (0.0, 10.0, 20.0, 40.0, 80.0):
            ranked, start = [], 0
            for _, texts, fused, ids, _ in data.dev:
                score = odds[start:start + len(texts)][:depth] + weight * np.asarray(fused[:depth])
                start += len(texts)
                ranked.append([ids[i] for i in np.argsort(-score, kind="stable")] + ids[depth:])
            result["mixes"][f"depth {depth}, fused weight {weight:g}"] = metrics(ranked, truth)["map@5"]
    result["machine"] = machine()
    emit(result, args.json)
    return result


if __name__ == "__main__":
    main()
