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


def machine() -> dict:
    return {"python": platform.python_version(), "cpus": os.cpu_count(), "platform": platform.platform()}


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
