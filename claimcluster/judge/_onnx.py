"""The judge on ONNX Runtime: exported once from the verified torch judge, cached, checked.

The cross-encoder (the delta merged, mean pooling and the head inside the graph, softmax out) goes
through ``torch.onnx.export`` and ONNX Runtime's BERT fusions. Two recipes, as for the encoder
(:mod:`claimcluster.embed._onnx`):

- ``onnx``: fp32, torch's probabilities (kept only when no probe pair differs by more than 0.001),
  so its decisions are torch's on every CPU.
- ``onnx-int8`` (the default): every weight matrix as int8 within [-64, 64], by the encoder's own
  quantisation (:func:`~claimcluster.embed._onnx.quantize_int8`), so no integer product can saturate
  and the integer part is exact on every CPU. It reads pairs 2.2 times faster than fp32 here with the
  same quality on the labelled dev pairs (ROC AUC 0.905 vs 0.906, precision at recall 0.80 0.615 vs
  0.612: benchmarks/RESULTS.md), though single probabilities move (by 0.18 on a borderline probe),
  so about 3 % of pairs near the cut are decided the other way than by torch. Its probe bar (0.35)
  catches a broken export, not that rounding.

Each pair runs alone, with no padding (int8 activations are quantised with one scale per run, so
a pair must not share its run), and pairs run side by side, one per core; length-sorted batches were
no faster here (within 5 %).

Exports live under ``$CLAIMCLUSTER_HOME/judge/`` (default ``~/.cache/claimcluster``), one directory per
judge file, recipe, recipe version and the onnxruntime and onnx versions that made the graph; they are
derived data, rebuilt when missing, damaged or made by another toolchain.
"""

from __future__ import annotations

import json
import logging
import os
import shutil
import tempfile
import threading
import warnings
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import numpy as np

from claimcluster._files import file_sha256
from claimcluster._locks import directory_write_lock
from claimcluster.embed._onnx import (
    cache_root,
    cpu_threads,
    quantize_int8,
    read_export,
    single_thread_session,
    toolchain,
)
from claimcluster.errors import ModelError, ModelIntegrityError
from claimcluster.judge._weights import pooled_logits, score_pairs

RECIPE_VERSION = 2
RECIPES = ("onnx", "onnx-int8")
CARD = "judge-onnx.json"
MAX_PROBE_GAP = {"onnx": 1e-3, "onnx-int8": 0.35}
"""The largest difference from torch's probabilities on any probe pair an export may show."""
PROBES = (
    ("Russia's Defense Ministry denied that any servicemen had died in Syria.",
     "Moscow said no Russian soldiers were killed in Syria."),
    ("Three people were killed and 12 wounded in the blast.", "The explosion killed 62 people."),
    ("Apple will sell a gold watch for $10,000.", "The Pope said dogs go to heaven."),
    ("Kim Jong-un had ankle surgery.", "Kim Jong-un has not been seen in public for a month."),
    ("The ministry called the report a provocation.", "The report was called a provocation by the ministry."),
    ("ok", "A" * 40),
    (" ".join(["The long report goes on and on about the war, the ministry and the families."] * 20),
     "The war goes on."),
)


def export_dir(card: dict[str, Any], recipe: str) -> Path:
    """Where the export of the judge of ``card`` with ``recipe`` by the installed onnxruntime and onnx lives."""
    versions = toolchain()
    return cache_root() / "judge" / (f"{card['name']}@{card['judge_sha256'][:16]}.{recipe}-v{RECIPE_VERSION}"
                                     f".ort{versions['onnxruntime']}.onnx{versions['onnx']}")


class OnnxJudge:
    """An exported judge: ``predict(a, b)`` as the torch judge answers it, shape (n, 3)."""

    def __init__(self, directory: Path, judge_sha256: str, threads: int | None = None):
        self.card, tokenizer = read_export(directory, CARD, "judge", RECIPE_VERSION)
        if self.card.get("judge_sha256") != judge_sha256:
            raise ModelIntegrityError(f"{directory / 'model.onnx'} is not the export of judge {judge_sha256[:16]}")
        tokenizer.enable_truncation(int(self.card["max_seq_length"]), strategy="longest_first")
        self._tokenizer = tokenizer
        self._session = single_thread_session(directory / "model.onnx")
        self.threads = cpu_threads(threads)
        self._pool: ThreadPoolExecutor | None = None
        self._pool_lock = threading.Lock()

    def _one(self, encoding) -> np.ndarray:
        ids = np.asarray([encoding.ids], dtype=np.int64)
        feed = {"input_ids": ids, "attention_mask": np.ones_like(ids),
                "token_type_ids": np.asarray([encoding.type_ids], dtype=np.int64)}
        return self._session.run(None, feed)[0][0]

    def predict(self, a: list[str], b: list[str]) -> np.ndarray:
        encodings = self._tokenizer.encode_batch(list(zip(a, b)))
        if len(encodings) == 1 or self.threads == 1:
            rows = list(map(self._one, encodings))
        else:
            with self._pool_lock:
                if self._pool is None:
                    self._pool = ThreadPoolExecutor(self.threads, thread_name_prefix="claimcluster-judge")
            chunk = max(1, min(16, len(encodings) // (4 * self.threads)))  # small calls still use every core
            rows = list(self._pool.map(self._one, encodings, chunksize=chunk))
        return np.asarray(rows, dtype=np.float32).reshape(len(a), 3)


def load_or_export(loaded, card: dict[str, Any], recipe: str) -> OnnxJudge:
    """The cached export of this judge with ``recipe``, made now (from ``loaded``: tokenizer, encoder, head) if
    missing or damaged."""
    directory = export_dir(card, recipe)
    try:
        return OnnxJudge(directory, card["judge_sha256"])
    except ModelIntegrityError:
        pass
    directory.parent.mkdir(parents=True, exist_ok=True)
    with directory_write_lock(directory.parent, timeout=900):
        try:
            return OnnxJudge(directory, card["judge_sha256"])  # exported by another process meanwhile
        except ModelIntegrityError:
            pass
        work = Path(tempfile.mkdtemp(prefix=f".{directory.name}.", dir=directory.parent))
        root = logging.getLogger()
        handlers, level = root.handlers[:], root.level  # ORT's optimiser configures the root logger
        try:
            _export_into(loaded, card, recipe, work)
            if directory.exists():
                shutil.rmtree(directory)
            os.replace(work, directory)
        finally:
            root.handlers[:], root.level = handlers, level
            shutil.rmtree(work, ignore_errors=True)
    return OnnxJudge(directory, card["judge_sha256"])


def _export_into(loaded, card: dict[str, Any], recipe: str, work: Path) -> None:
    import torch
    from onnxruntime.transformers import optimizer


    tokenizer, encoder, head, _ = loaded

    class Probabilities(torch.nn.Module):
        def forward(self, input_ids, attention_mask, token_type_ids):
            batch = {"input_ids": input_ids, "attention_mask": attention_mask, "token_type_ids": token_type_ids}
            return torch.softmax(pooled_logits(encoder, head, batch), dim=-1)

    names = ["input_ids", "attention_mask", "token_type_ids"]
    sample = tokenizer(["a short one", "and a longer first sentence"], ["its pair", "and a second one"],
                       padding=True, return_tensors="pt")
    fp32 = work / "model.fp32.onnx"
    try:
        with torch.no_grad(), warnings.catch_warnings():
            warnings.simplefilter("ignore")
            torch.onnx.export(Probabilities().eval(), tuple(sample[n] for n in names), str(fp32), input_names=names,
                              output_names=["probabilities"], opset_version=17, dynamo=False,
                              dynamic_axes={**{n: {0: "batch", 1: "tokens"} for n in names},
                                            "probabilities": {0: "batch"}})
    except Exception as exc:  # torch's exporter raises many kinds
        raise ModelError(f"could not export the judge to ONNX: {exc}") from exc
    config = encoder.config
    fused = optimizer.optimize_model(str(fp32), model_type="bert", num_heads=config.num_attention_heads,
                                     hidden_size=config.hidden_size, opt_level=1)
    final = work / "model.onnx"
    if recipe == "onnx-int8":
        graph = work / "model.fused.onnx"
        fused.save_model_to_file(str(graph))
        quantize_int8(graph, final)
        graph.unlink()
    else:
        fused.save_model_to_file(str(final))
    fp32.unlink(missing_ok=True)
    tokenizer.backend_tokenizer.save(str(work / "tokenizer.json"))
    out = {"recipe": recipe, "recipe_version": RECIPE_VERSION, "judge_sha256": card["judge_sha256"],
           "model_sha256": file_sha256(final), "max_seq_length": int(card["max_seq_length"]),
           "versions": {"torch": torch.__version__, **toolchain()}}
    (work / CARD).write_text(json.dumps(out), encoding="utf-8")
    a, b = [p[0] for p in PROBES], [p[1] for p in PROBES]
    reference = score_pairs(tokenizer, encoder, head, a, b, int(card["max_seq_length"]), 8)
    gap = float(np.abs(OnnxJudge(work, card["judge_sha256"], threads=1).predict(a, b) - reference).max())
    if gap > MAX_PROBE_GAP[recipe]:
        raise ModelError(f"the {recipe} export of the judge differs from torch by {gap:.4f} on a probe pair "
                         f"(at most {MAX_PROBE_GAP[recipe]}); use backend='torch'")
    out["probe_pairs"], out["probe_max_gap"] = len(PROBES), round(gap, 5)
    (work / CARD).write_text(json.dumps(out, indent=2) + "\n", encoding="utf-8")
