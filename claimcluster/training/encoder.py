"""Fine-tune the packaged MiniLM toward "same claim" and ship the change as a LoRA delta.

Three kinds of batches, each of one source, interleaved in a seeded order:

* Emergent (train partition): an outlet's headline and, as its positive, the claim's own
  wording or another headline of the same claim; as a hard negative a headline of one of the
  claim's nearest other claims (mined once with the base model), and, with
  ``denials="negative"``, the claim's denials when it has any. Loss: in-batch negatives
  (MultipleNegativesRankingLoss); a batch never holds two headlines of one claim, nor a hard
  negative from a claim that is in the batch, so no positive is ever scored as a negative.
* CLEF-2020 (train tweets): the cleaned tweet and one verified claim it fact-checks; as a hard
  negative one of the top three wrong claims of the base model's fused search, leaving out
  near-copies of the gold claim (base cosine >= 0.85: 7.5% of them). Same loss, and no claim
  (or near-copy) is both a positive and a negative of one batch.
* MRPC (train partition): labelled sentence pairs, paraphrase or not; CoSENT loss, which ranks
  every paraphrase pair's cosine above every non-paraphrase pair's of the batch.

Only the LoRA matrices learn (:mod:`claimcluster.embed._delta`); everything is seeded, and the
examples are a pure function of the train partition (:mod:`claimcluster.training.data`).
"""

from __future__ import annotations

import platform
import random
import sys
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any, Literal

import numpy as np

from claimcluster.segment import normalize_text
from claimcluster.training.data import PublicData

__all__ = ["EncoderSettings", "training_batches", "train_encoder"]

# Cosine (base model) at or above which a verified claim counts as a copy of a tweet's gold claim.
NEAR_COPY = 0.85


@dataclass(frozen=True)
class EncoderSettings:
    """What the encoder run does; every field is recorded in the delta's card."""

    rank: int = 16
    alpha: float = 32.0
    epochs: int = 3
    batch_size: int = 32
    learning_rate: float = 2e-4
    warmup: float = 0.1
    max_seq_length: int = 96
    mnrl_scale: float = 20.0
    seed: int = 0
    denials: Literal["negative", "positive", "exclude"] = "negative"
    sources: tuple[str, ...] = ("emergent", "clef", "mrpc")
    neighbour_claims: int = 5
    hard_negatives: bool = True
    mrpc_weight: float = 0.25
    """Weight of the MRPC (CoSENT) loss against the in-batch-negative losses, whose scale is about a
    fifth of it (chosen on the dev partition: benchmarks/RESULTS.md)."""
    max_steps: int | None = None
    """Stop after this many optimiser steps (smoke runs); None trains every epoch."""


@dataclass
class Batch:
    source: str
    columns: list[list[str]]
    labels: list[float] = field(default_factory=list)


def _emergent_groups(rows: list[dict]) -> dict[str, dict[str, Any]]:
    groups: dict[str, dict[str, Any]] = {}
    for row in rows:
        group = groups.setdefault(row["claim_id"], {"claim": normalize_text(row["claim"]), "states": [],
                                                     "denies": []})
        group["denies" if row["stance"] == "against" else "states"].append(normalize_text(row["headline"]))
    for group in groups.values():
        group["states"] = sorted(set(group["states"]))
        group["denies"] = sorted(set(group["denies"]) - set(group["states"]))
    return groups


def _distinct_batches(items: list, key, size: int) -> list[list]:
    """Cut a shuffled list into batches in which no two items share a key (greedy, order kept)."""
    batches: list[list] = []
    pending = list(items)
    while pending:
        batch: list = []
        keys: set = set()
        rest: list = []
        for item in pending:
            if len(batch) < size and not (key(item) & keys):
                batch.append(item)
                keys |= key(item)
            else:
                rest.append(item)
        batches.append(batch)
        pending = rest
    return batches


def _emergent_batches(groups, neighbours, settings: EncoderSettings, rng: random.Random) -> list[Batch]:
    anchors = [(cid, text) for cid, g in groups.items() for text in g["states"]]
    if settings.denials == "positive":
        anchors += [(cid, text) for cid, g in groups.items() for text in g["denies"]]
    anchors.sort()
    rng.shuffle(anchors)
    out = []
    for batch in _distinct_batches(anchors, lambda a: {a[0]}, settings.batch_size):
        in_batch = {cid for cid, _ in batch}
        columns: list[list[str]] = [[], [], []]
        for cid, text in batch:
            group = groups[cid]
            same = [group["claim"], *(t for t in group["states"] if t != text)]
            if settings.denials == "positive":
                same += [t for t in group["denies"] if t != text]
            if settings.denials == "negative" and group["denies"]:
                negative = rng.choice(group["denies"])
            else:
                others = [n for n in neighbours[cid] if n not in in_batch] or [n for n in groups if n not in in_batch]
                other = groups[rng.choice(others)]
                negative = rng.choice([other["claim"], *other["states"]])
            for column, value in zip(columns, (text, rng.choice(same), negative)):
                column.append(value)
        out.append(Batch("emergent", columns if settings.hard_negatives else columns[:2]))
    return out


def _clef_batches(tweets, mined: dict[str, Any], settings: EncoderSettings, rng: random.Random) -> list[Batch]:
    claim_text, wrong, same = mined["claim_text"], mined["wrong"], mined["same"]
    order = sorted(tweets, key=lambda t: str(t["tweet_id"]))
    rng.shuffle(order)
    out = []
    for batch in _distinct_batches(order, lambda t: same[str(t["tweet_id"])], settings.batch_size):
        positives = {c for t in batch for c in same[str(t["tweet_id"])]}
        columns: list[list[str]] = [[], [], []]
        for tweet in batch:
            key = str(tweet["tweet_id"])
            choices = [c for c in wrong[key] if c not in positives][:3]
            negative = rng.choice(choices) if choices else rng.choice(sorted(set(claim_text) - positives))
            for column, value in zip(columns, (mined["clean"][key], claim_text[rng.choice(tweet["relevant"])],
                                               claim_text[negative])):
                column.append(value)
        out.append(Batch("clef", columns if settings.hard_negatives else columns[:2]))
    return out


def _mrpc_batches(rows, settings: EncoderSettings, rng: random.Random) -> list[Batch]:
    pairs = sorted((normalize_text(r["sentence1"]), normalize_text(r["sentence2"]), float(r["label"])) for r in rows)
    rng.shuffle(pairs)
    out = []
    for start in range(0, len(pairs), settings.batch_size):
        chunk = pairs[start:start + settings.batch_size]
        out.append(Batch("mrpc", [[p[0] for p in chunk], [p[1] for p in chunk]], [p[2] for p in chunk]))
    return out


def mine(data: PublicData, settings: EncoderSettings, base_embedder) -> dict[str, Any]:
    """What the batches need from the base model: each Emergent claim's nearest other claims and
    each CLEF train tweet's top wrong verified claims (by the base model's fused search)."""
    mined: dict[str, Any] = {"groups": _emergent_groups(data.emergent_train), "neighbours": {}, "wrong": {},
                             "claim_text": {}, "clean": {}, "same": {}}
    groups = mined["groups"]
    if "emergent" in settings.sources and groups:
        ids = sorted(groups)
        vectors = base_embedder.encode([groups[c]["claim"] for c in ids])
        similarity = vectors @ vectors.T
        np.fill_diagonal(similarity, -np.inf)
        for row, cid in enumerate(ids):
            nearest = np.argsort(-similarity[row], kind="stable")[: settings.neighbour_claims]
            mined["neighbours"][cid] = [ids[j] for j in nearest]
    if "clef" in settings.sources and data.clef_train:
        from claimcluster.index import ClaimIndex, clean_social_text

        claims = data.clef_claims
        mined["claim_text"] = {str(c["vclaim_id"]): normalize_text(c["vclaim"]) for c in claims}
        index = ClaimIndex(base_embedder, rerank=False).add(
            [c["vclaim"] for c in claims], ids=[str(c["vclaim_id"]) for c in claims],
            extra_texts=[c.get("title", "") for c in claims])
        found = index.search([t["text"] for t in data.clef_train], k=10)
        candidates = sorted({m.id for ms in found for m in ms} | {c for t in data.clef_train for c in t["relevant"]})
        vector = dict(zip(candidates, base_embedder.encode([mined["claim_text"][c] for c in candidates])))
        for tweet, matches in zip(data.clef_train, found):
            key = str(tweet["tweet_id"])
            mined["clean"][key] = normalize_text(clean_social_text(tweet["text"]) or tweet["text"])
            gold = [vector[c] for c in tweet["relevant"]]
            # A "wrong" claim that restates the gold one (Snopes has near-copies) is not a negative.
            copies = {m.id for m in matches if max(float(vector[m.id] @ g) for g in gold) >= NEAR_COPY}
            mined["same"][key] = set(tweet["relevant"]) | copies
            mined["wrong"][key] = [m.id for m in matches if m.id not in mined["same"][key]]
    return mined


def training_batches(data: PublicData, mined: dict[str, Any], settings: EncoderSettings, epoch: int) -> list[Batch]:
    """Every batch of one epoch, in training order: a pure function of the train partition."""
    rng = random.Random(f"{settings.seed}/{epoch}")
    batches: list[Batch] = []
    if "emergent" in settings.sources:
        batches += _emergent_batches(mined["groups"], mined["neighbours"], settings, rng)
    if "clef" in settings.sources:
        batches += _clef_batches(data.clef_train, mined, settings, rng)
    if "mrpc" in settings.sources:
        batches += _mrpc_batches(data.mrpc_train, settings, rng)
    rng.shuffle(batches)
    return batches


def _schedule(step: int, total: int, warmup: float) -> float:
    """Linear warm-up, then linear decay to zero."""
    ramp = max(1, int(total * warmup))
    return (step + 1) / ramp if step < ramp else max(0.0, (total - step) / max(1, total - ramp))


def train_encoder(data: PublicData, out: Path, settings: EncoderSettings = EncoderSettings(), *,
                  command: str = "", cache: Path | None = None, log=print) -> dict[str, Any]:
    """Train the LoRA delta on the train partition of ``data``; write it and its card to ``out``."""
    import torch
    from sentence_transformers import SentenceTransformer
    from sentence_transformers.sentence_transformer.losses import CoSENTLoss, MultipleNegativesRankingLoss

    from claimcluster.embed import BASE_MODEL, DEFAULT_WEIGHTS_SHA256, Embedder, packaged_model_path
    from claimcluster.training.lora import attach_lora, save_delta

    started = time.perf_counter()
    random.seed(settings.seed)
    np.random.seed(settings.seed)
    torch.manual_seed(settings.seed)
    base = Embedder(BASE_MODEL, cache=cache, backend="torch")
    base_id = base.model_id  # verifies the base weights before anything is trained on them
    mined = mine(data, settings, base)
    model = SentenceTransformer(str(packaged_model_path()), device="cpu", local_files_only=True)
    model.max_seq_length = settings.max_seq_length
    wrapped = attach_lora(model, settings.rank, settings.alpha, settings.seed)
    trainable = [p for layer in wrapped.values() for p in (layer.lora_A, layer.lora_B)]
    optimizer = torch.optim.AdamW(trainable, lr=settings.learning_rate, weight_decay=0.01)
    losses = {"emergent": MultipleNegativesRankingLoss(model, scale=settings.mnrl_scale),
              "clef": MultipleNegativesRankingLoss(model, scale=settings.mnrl_scale),
              "mrpc": CoSENTLoss(model)}
    epochs = [training_batches(data, mined, settings, e) for e in range(settings.epochs)]
    total = sum(len(b) for b in epochs)
    if settings.max_steps is not None:
        total = min(total, settings.max_steps)
    scheduler = torch.optim.lr_scheduler.LambdaLR(optimizer, lambda s: _schedule(s, total, settings.warmup))
    model.train()
    step = 0
    running: dict[str, float] = {}
    for epoch, batches in enumerate(epochs):
        for batch in batches:
            if step >= total:
                break
            features = [model.preprocess(column) for column in batch.columns]
            labels = torch.tensor(batch.labels) if batch.labels else None
            loss = losses[batch.source](features, labels)
            if batch.source == "mrpc":
                loss = loss * settings.mrpc_weight
            loss.backward()
            optimizer.step()
            scheduler.step()
            optimizer.zero_grad()
            value = loss.item()
            running[batch.source] = 0.9 * running.get(batch.source, value) + 0.1 * value
            step += 1
            if step % 25 == 0 or step == total:
                log(f"epoch {epoch + 1} step {step}/{total} " + " ".join(f"{k} {v:.3f}" for k, v in running.items())
                    + f" ({time.perf_counter() - started:.0f} s)")
    card = {
        "name": "claims-v1",
        "base_model": BASE_MODEL,
        "base_sha256": DEFAULT_WEIGHTS_SHA256,
        "base_model_id": base_id,
        "rank": settings.rank,
        "alpha": settings.alpha,
        "training": {
            "command": command,
            "settings": asdict(settings),
            "steps": step,
            "examples": {s: sum(len(b.columns[0]) for b in epochs[0] if b.source == s) for s in settings.sources},
            "rows": data.counts(),
            "dropped_by_wall": data.dropped_by_wall,
            "data_sha256": data.files,
            "seconds": round(time.perf_counter() - started, 1),
            "machine": {"python": platform.python_version(), "platform": platform.platform(),
                        "torch": torch.__version__, "threads": torch.get_num_threads()},
        },
    }
    out.mkdir(parents=True, exist_ok=True)
    return save_delta(wrapped, out, card)


def main_log(message: str) -> None:
    print(message, file=sys.stderr, flush=True)
