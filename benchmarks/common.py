"""Helpers shared by the benchmark scripts: JSONL reading, machine description, output."""

from __future__ import annotations

import json
import os
import platform
import resource
import sys
from pathlib import Path


def read_jsonl(path: Path) -> list[dict]:
    with open(path, encoding="utf-8") as fh:
        return [json.loads(line) for line in fh if line.strip()]


def find_file(data: Path, name: str) -> Path:
    """``data`` itself if it is a file, else ``data/name``, else the only ``*.jsonl`` in ``data``."""
    if data.is_file():
        return data
    if (data / name).is_file():
        return data / name
    found = sorted(data.glob("*.jsonl"))
    if len(found) == 1:
        return found[0]
    sys.exit(f"no {name} in {data}")


SPLITS = ("dev", "test", "train", "all")
SPLIT_HELP = ("dev: the fixed dev partition of the train rows (claimcluster.training.data; what settings were "
              "chosen on); test: rows of the official test split; train: the train partition, which the shipped "
              "models learned from (in-sample); all: every row")


def partition(rows: list[dict], split: str, key) -> list[dict]:
    """The rows of ``split`` (see SPLIT_HELP); ``key(row)`` is the row's dev-partition key."""
    from claimcluster.training.data import in_dev

    if split == "all":
        return rows
    if split == "test":
        return [r for r in rows if r.get("split") == "test"]
    train = [r for r in rows if r.get("split", "train") == "train"]
    return [r for r in train if in_dev(key(r)) == (split == "dev")]


def add_model_option(parser) -> None:
    from claimcluster import BASE_MODEL, DEFAULT_MODEL

    parser.add_argument("--models", nargs="+", default=[DEFAULT_MODEL, BASE_MODEL],
                        help="embedding models scored side by side (default: the claim-tuned default and the "
                             "plain base model)")


# The flags that choose ONNX Runtime's int8 and float kernels.
FLAGS = ("sse4_1", "avx", "avx2", "fma", "f16c", "avx512f", "avx512bw", "avx512vl", "avx512dq", "avx512_vnni",
         "avx512_bf16", "avx_vnni", "avx_vnni_int8", "amx_tile", "amx_int8", "amx_bf16")


def cpu() -> dict:
    """This machine's CPU model and the vector-instruction flags of FLAGS it has (Linux; empty elsewhere)."""
    try:
        info = Path("/proc/cpuinfo").read_text()
    except OSError:
        return {"model": platform.processor(), "flags": []}
    lines = dict(line.split(":", 1) for line in info.splitlines() if ":" in line)
    lines = {k.strip(): v.strip() for k, v in lines.items()}
    have = set(lines.get("flags", "").split())
    return {"model": lines.get("model name", ""), "flags": [f for f in FLAGS if f in have]}


def machine() -> dict:
    return {"python": platform.python_version(), "cpus": os.cpu_count(), "platform": platform.platform(),
            "cpu": cpu()}


def peak_rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def emit(result: dict, as_json: bool) -> None:
    """Print the result as JSON or as aligned key: value lines."""
    if as_json:
        print(json.dumps(result, indent=2))
        return
    for key, value in result.items():
        if isinstance(value, dict):
            print(f"{key}:")
            for k, v in value.items():
                print(f"  {k:<28} {v}")
        else:
            print(f"{key:<30} {value}")
