"""The judge on ONNX Runtime: exported once from the verified torch judge, cached, checked.

The cross-encoder (the delta merged, mean pooling and the head inside the graph, softmax out) goes
through ``torch.onnx.export`` and ONNX Runtime's BERT fusions, in fp32: it gives torch's
probabilities (the export is kept only when no probe pair differs by more than ``MAX_PROBE_GAP``),
so its decisions are torch's on every CPU. Each pair runs alone, with no padding, and pairs run side
by side, one per core, which here beat torch's length-sorted batches by 2.7 times (benchmarks/RESULTS.md).
An int8 export ran 2.2 times faster again but moved probabilities by up to 0.36 and flipped 13 of the
516 dev decisions, so it is not used.

Exports live under ``$CLAIMCLUSTER_HOME/judge/`` (default ``~/.cache/claimcluster``), one directory per
judge file and recipe version; they are derived data, rebuilt when missing or damaged.
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
from claimcluster.embed._onnx import cache_root, cpu_threads, single_thread_session
from claimcluster.errors import ModelError, ModelIntegrityError
from claimcluster.judge._weights import pooled_logits, score_pairs

RECIPE_VERSION = 1
CARD = "judge-onnx.json"
MAX_PROBE_GAP = 1e-3
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


def export_dir(card: dict[str, Any]) -> Path:
    return cache_root() / "judge" / f"{card['name']}@{card['judge_sha256'][:16]}.onnx-v{RECIPE_VERSION}"


class OnnxJudge:
    """An exported judge: ``predict(a, b)`` as the torch judge answers it, shape (n, 3)."""

    def __init__(self, directory: Path, judge_sha256: str, threads: int | None = None):
        from tokenizers import Tokenizer


        try:
            self.card: dict[str, Any] = json.loads((directory / CARD).read_text(encoding="utf-8"))
            digest = file_sha256(directory / "model.onnx")
            tokenizer = Tokenizer.from_file(str(directory / "tokenizer.json"))
        except Exception as exc:  # OSError, JSON errors, and tokenizers' bare Exception
            raise ModelIntegrityError(f"cannot read the exported judge in {directory}: {exc}") from None
        if not isinstance(self.card, dict) or digest != self.card.get("model_sha256") \
                or self.card.get("judge_sha256") != judge_sha256:
            raise ModelIntegrityError(f"{directory / 'model.onnx'} is not the export of judge {judge_sha256[:16]}")
        tokenizer.no_padding()
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
            rows = list(self._pool.map(self._one, encodings, chunksize=16))
        return np.asarray(rows, dtype=np.float32).reshape(len(a), 3)


def load_or_export(loaded, card: dict[str, Any]) -> OnnxJudge:
    """The cached export of this judge, made now (from ``loaded``: tokenizer, encoder, head) if missing or damaged."""
    directory = export_dir(card)
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
            _export_into(loaded, card, work)
            if directory.exists():
                shutil.rmtree(directory)
            os.replace(work, directory)
        finally:
            root.handlers[:], root.level = handlers, level
            shutil.rmtree(work, ignore_errors=True)
    return OnnxJudge(directory, card["judge_sha256"])


def _export_into(loaded, card: dict[str, Any], work: Path) -> None:
    import onnx
    import onnxruntime
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
    fused.save_model_to_file(str(final))
    fp32.unlink(missing_ok=True)
    tokenizer.backend_tokenizer.save(str(work / "tokenizer.json"))
    out = {"recipe": "onnx", "recipe_version": RECIPE_VERSION, "judge_sha256": card["judge_sha256"],
           "model_sha256": file_sha256(final), "max_seq_length": int(card["max_seq_length"]),
           "versions": {"torch": torch.__version__, "onnxruntime": onnxruntime.__version__, "onnx": onnx.__version__}}
    (work / CARD).write_text(json.dumps(out), encoding="utf-8")
    a, b = [p[0] for p in PROBES], [p[1] for p in PROBES]
    reference = score_pairs(tokenizer, encoder, head, a, b, int(card["max_seq_length"]), 8)
    gap = float(np.abs(OnnxJudge(work, card["judge_sha256"], threads=1).predict(a, b) - reference).max())
    if gap > MAX_PROBE_GAP:
        raise ModelError(f"the ONNX export of the judge differs from torch by {gap:.4f} on a probe pair "
                         f"(at most {MAX_PROBE_GAP}); use backend='torch'")
    out["probe_pairs"], out["probe_max_gap"] = len(PROBES), round(gap, 5)
    (work / CARD).write_text(json.dumps(out, indent=2) + "\n", encoding="utf-8")
