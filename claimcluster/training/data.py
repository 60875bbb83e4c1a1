"""The public training sets, the fixed dev partition, and the wall between them.

Every learned part of claimcluster (the encoder delta, the stance and pair models, the
matching re-ranker) learns from the *train partition* only and has its settings chosen on the
*dev partition*:

* Emergent: rows with ``split == "train"``; a claim is in the dev partition when
  :func:`in_dev` holds for its ``claim_id`` (about 20% of the claims, with all their headlines).
* MRPC: rows with ``split == "train"``; a pair is in the dev partition when :func:`in_dev`
  holds for ``"<id1>-<id2>"`` (about 20% of the pairs).
* CLEF-2020 CheckThat! 2a: the train tweets learn, the dev tweets are the dev partition.

:func:`in_dev` hashes the key with a fixed salt, so membership depends on nothing but the
key itself: adding, removing or editing other rows cannot move a row across the partition.
Rows of any other split (the official test splits) are never read for learning. One thing
is read of held-back rows, their keys: an MRPC train pair that shares a sentence id with a
held-back pair (dev partition or another split) is dropped, so no sentence of a held-back
pair is learned from (110 train pairs here). Labels and texts of held-back rows are never
read, so changing them changes nothing (tests/test_training.py). Left as it is: six Emergent
headline strings are syndicated under two claims, one in each partition.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass, field
from pathlib import Path

__all__ = ["DEV_SALT", "in_dev", "PublicData", "load_public_data", "file_sha256"]

DEV_SALT = "claimcluster-dev-v1"
EMERGENT = ("emergent", "emergent_headlines.jsonl")
MRPC = ("mrpc", "mrpc.jsonl")
CLEF = "clef2020_checkthat_task2"
EMERGENT_STANCE = {"for": "repeats", "against": "denies", "observing": "reports"}


def in_dev(key: str) -> bool:
    """True for the keys of the dev partition (a fixed fifth of all keys, by a salted hash)."""
    return int(hashlib.sha256(f"{DEV_SALT}:{key}".encode()).hexdigest()[:8], 16) % 5 == 0


def mrpc_key(row: dict) -> str:
    return f"{row['id1']}-{row['id2']}"


def file_sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def read_jsonl(path: Path) -> list[dict]:
    with open(path, encoding="utf-8") as fh:
        return [json.loads(line) for line in fh if line.strip()]


def _find(data: Path, folder: str, name: str) -> Path:
    """``data/folder/name``, or ``data/name`` when ``data`` is that folder itself."""
    for path in (data / folder / name, data / name):
        if path.is_file():
            return path
    raise FileNotFoundError(f"no {folder}/{name} under {data}")


@dataclass
class PublicData:
    """Train and dev partitions of the three public sets, and the files they came from."""

    emergent_train: list[dict] = field(default_factory=list)
    emergent_dev: list[dict] = field(default_factory=list)
    mrpc_train: list[dict] = field(default_factory=list)
    mrpc_dev: list[dict] = field(default_factory=list)
    clef_claims: list[dict] = field(default_factory=list)
    clef_train: list[dict] = field(default_factory=list)
    """Train tweets, each with ``relevant``: the ids of its verified claims."""
    clef_dev: list[dict] = field(default_factory=list)
    files: dict[str, str] = field(default_factory=dict)
    """sha256 of every file read, by path relative to the data directory."""
    dropped_by_wall: dict[str, int] = field(default_factory=dict)
    """Train rows dropped because they share a sentence with a held-back row."""

    def counts(self) -> dict[str, int]:
        return {name: len(rows) for name, rows in vars(self).items() if isinstance(rows, list)}


def _clef(data: Path, out: PublicData) -> None:
    """Fill the CLEF fields: every verified claim, and the train and dev tweets with their qrels."""
    names = ("vclaims.jsonl", "queries.jsonl", "qrels.jsonl")
    paths = [_find(data, CLEF, name) for name in names]
    claims, queries, qrels = (read_jsonl(p) for p in paths)
    relevant: dict[str, set[str]] = {}
    for row in qrels:
        if row.get("split") in ("train", "dev"):
            relevant.setdefault(f"{row['split']}/{row['tweet_id']}", set()).add(str(row["vclaim_id"]))
    out.clef_claims = claims
    for tweet in queries:
        split = tweet.get("split")
        gold = relevant.get(f"{split}/{tweet['tweet_id']}")
        if gold is None or split not in ("train", "dev"):
            continue
        (out.clef_train if split == "train" else out.clef_dev).append(dict(tweet, relevant=sorted(gold)))
    for path in paths:
        out.files[str(path.relative_to(data))] = file_sha256(path)


def load_public_data(data: str | Path) -> PublicData:
    """Read Emergent, MRPC and CLEF-2020 from ``data`` (a directory holding their folders).

    Only rows whose ``split`` is ``train`` (and CLEF's ``dev`` tweets, as its dev partition) are
    kept; MRPC train pairs sharing a sentence with a held-back pair are dropped."""
    data = Path(data)
    out = PublicData()
    emergent_path, mrpc_path = _find(data, *EMERGENT), _find(data, *MRPC)
    for path in (emergent_path, mrpc_path):
        out.files[str(path.relative_to(data))] = file_sha256(path)
    for row in read_jsonl(emergent_path):
        if row.get("split") == "train":
            (out.emergent_dev if in_dev(row["claim_id"]) else out.emergent_train).append(row)
    held: set[str] = set()
    train: list[dict] = []
    for row in read_jsonl(mrpc_path):
        if row.get("split") == "train" and not in_dev(mrpc_key(row)):
            train.append(row)
            continue
        if row.get("split") == "train":
            out.mrpc_dev.append(row)
        held.update((str(row["id1"]), str(row["id2"])))
    out.mrpc_train = [r for r in train if not {str(r["id1"]), str(r["id2"])} & held]
    out.dropped_by_wall = {"mrpc": len(train) - len(out.mrpc_train)}
    _clef(data, out)
    return out
