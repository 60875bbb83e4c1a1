"""The ONNX Runtime backend: a sentence-transformers encoder exported once, cached, verified.

Export (needs torch, once per model, recipe and toolchain): the transformer with mean pooling
and L2 normalisation inside the graph goes through ``torch.onnx.export``; BERT models are then
fused by ONNX Runtime's transformer optimiser (attention, skip-layer-norm, bias-GELU); the int8
recipe quantises every weight matrix dynamically: weights as int8 in [-64, 64] (7 bits, one
scale per output channel), activations as uint8 with one scale and zero point per run. The
result is checked against the torch model on probe sentences before it is kept: the fp32 recipe
must give the same vectors (cosine >= 0.9999), int8 close ones (>= 0.95; 0.97 to 0.99 is
typical). The directory gets ``model.onnx``, ``tokenizer.json`` and a card (``onnx.json``) with
the file's sha256, the source model id, the probe figures and the versions used; it appears
whole or not at all (built aside, then renamed).

Why 7-bit weights: the integer products must not depend on the CPU. On AVX2, and AVX-512
without VNNI, ONNX Runtime multiplies uint8 activations by int8 weights with ``vpmaddubsw``,
which adds each pair of products into a saturating 16-bit sum. With weights up to 127 a pair
can reach 2 * 255 * 127 = 64770, so on those CPUs some sums were clipped at 32767, while VNNI
CPUs, whose instruction cannot saturate, gave other vectors (cosine to each other down to
~0.97). With weights within 64 a pair is at most 2 * 255 * 64 = 32640: no kernel can clip, and
the integer part of every product is exact on every CPU (``tests/test_onnx.py`` checks it with
the real model's weights and activations). The floating-point parts (layer norm, GELU,
softmax, the activation scales) still round differently on different kernels, in the last
digits only. uint8 weights are exact everywhere too, but a third slower on VNNI CPUs, with
STS-B the same (``benchmarks/RESULTS.md``). The int8 model id names the quantisation
(``INT8_SUFFIX``), so vectors of the earlier int8 exports (``/onnx-int8``) are another model's
to stores and indexes.

Run time (no torch): the card is read, the file's sha256 checked, the ``tokenizers`` library
reads the tokenizer. Each run is on one thread (``intra_op_num_threads=1``) and runs go side by
side, one per CPU core, which on small matrices beats splitting each product across the cores.
int8 runs each text alone (its activations are quantised with one scale per run, so a batch
would make a text's vector depend on the others); fp32 sorts texts by length and batches them.

Exports live under ``$CLAIMCLUSTER_HOME/onnx/`` (default ``~/.cache/claimcluster``), one
directory per model id, recipe and the onnxruntime and onnx versions that made it (their
optimiser and quantiser make the graph, so another toolchain exports again, as does a card that
names other versions); they are derived data, rebuilt when missing or damaged.
"""

from __future__ import annotations

import contextlib
import json
import logging
import os
import re
import shutil
import tempfile
import threading
import warnings
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import numpy as np

from claimcluster._files import file_sha256
from claimcluster._locks import cpu_threads, directory_write_lock
from claimcluster.errors import ModelError, ModelIntegrityError

__all__ = ["RECIPES", "INT8_SUFFIX", "cache_root", "export_dir", "model_id_for", "source_model_id", "toolchain",
           "read_export", "require_made_here", "quantize_int8", "OnnxEncoder", "export"]

RECIPE_VERSION = 2
RECIPES = ("onnx", "onnx-int8")
# Weights in [-64, 64] ("reduce_range"): no pair of uint8 x int8 products can saturate a 16-bit sum on any CPU.
INT8_SUFFIX = "/onnx-int8-w7"
INT8_WEIGHTS: dict[str, Any] = {"weight_type": "QInt8", "per_channel": True, "reduce_range": True}
CARD = "onnx.json"
# The lowest cosine between the torch vector and the exported model's vector on any probe.
_MIN_COSINE = {"onnx": 0.9999, "onnx-int8": 0.95}
PROBES = (
    "Russia's Defense Ministry denied that any servicemen had died in Syria.",
    "The ministry called the report a provocation.",
    "Apple will unveil a gold watch that costs $10,000, analysts said on Tuesday.",
    "No, the Pope did not say that.",
    "Police have not confirmed the arrest.",
    "ISIS fighters were caught crossing the border near El Paso, a congressman claimed.",
    "Three people were killed and 12 wounded in the blast.",
    "Le ministère a démenti l'information.",
    "Минобороны России опровергло сообщение о гибели военных.",
    "“We'll update this post as more information becomes available,” the editor wrote.",
    "ok",
    "A" * 40,
    " ".join(["The long report goes on and on about the war, the ministry and the families."] * 30),
)


def cache_root() -> Path:
    home = os.environ.get("CLAIMCLUSTER_HOME")
    if home:
        return Path(home).expanduser()
    xdg = os.environ.get("XDG_CACHE_HOME")
    return (Path(xdg).expanduser() if xdg else Path.home() / ".cache") / "claimcluster"


def model_id_for(source_id: str, recipe: str) -> str:
    """The fp32 export gives the source model's vectors (verified), so it keeps its id; int8 does not."""
    return source_id + INT8_SUFFIX if recipe == "onnx-int8" else source_id


def source_model_id(model_id: str) -> str:
    """The id of the model an export was made from (the id itself for anything else)."""
    return model_id[: -len(INT8_SUFFIX)] if model_id.endswith(INT8_SUFFIX) else model_id


def toolchain() -> dict[str, str]:
    """The versions of the packages that make an export's graph: ONNX Runtime (optimiser, quantiser) and onnx."""
    from importlib.metadata import PackageNotFoundError, version

    import onnxruntime

    try:
        onnx_version = version("onnx")
    except PackageNotFoundError:  # run time needs no onnx; an export does, and is made with it
        onnx_version = "none"
    return {"onnxruntime": onnxruntime.__version__, "onnx": onnx_version}


def require_made_here(card: dict[str, Any], directory: Path, recipe_version: int) -> None:
    """ModelIntegrityError unless the export's card names ``recipe_version`` and the installed toolchain."""
    made_with = {name: card.get("versions", {}).get(name) for name in ("onnxruntime", "onnx")}
    if card.get("recipe_version") != recipe_version or made_with != toolchain():
        raise ModelIntegrityError(f"{directory} was exported by recipe {card.get('recipe_version')} with "
                                  f"{made_with}, not recipe {recipe_version} with {toolchain()}")


def read_export(directory: Path, card_name: str, what: str, recipe_version: int) -> tuple[dict[str, Any], Any]:
    """The card and the tokenizer (no padding) of the export in ``directory``, its ``model.onnx`` checked against
    the card's sha256 and the card against ``recipe_version`` and the installed toolchain: ModelIntegrityError
    otherwise (``what`` names the export in the message)."""
    from tokenizers import Tokenizer

    try:
        card = json.loads((directory / card_name).read_text(encoding="utf-8"))
        digest = file_sha256(directory / "model.onnx")
        tokenizer = Tokenizer.from_file(str(directory / "tokenizer.json"))
    except Exception as exc:  # OSError, JSON errors, and tokenizers' bare Exception
        raise ModelIntegrityError(f"cannot read the exported {what} in {directory}: {exc}") from None
    if not isinstance(card, dict) or digest != card.get("model_sha256"):
        raise ModelIntegrityError(f"{directory / 'model.onnx'} has sha256 {digest}, its card says "
                                  f"{card.get('model_sha256') if isinstance(card, dict) else None}")
    require_made_here(card, directory, recipe_version)
    tokenizer.no_padding()
    return card, tokenizer


def quantize_int8(graph: Path, final: Path) -> None:
    """Write ``graph`` with every weight matrix as int8 within [-64, 64] (``INT8_WEIGHTS``) to ``final``."""
    import onnx
    from onnxruntime.quantization import QuantType, quantize_dynamic

    logging.getLogger().setLevel(logging.ERROR)  # the quantiser logs advice on the root logger
    quantize_dynamic(str(graph), str(final), weight_type=getattr(QuantType, INT8_WEIGHTS["weight_type"]),
                     per_channel=INT8_WEIGHTS["per_channel"], reduce_range=INT8_WEIGHTS["reduce_range"],
                     extra_options={"DefaultTensorType": onnx.TensorProto.FLOAT})


def export_dir(source_id: str, recipe: str) -> Path:
    """Where the export of ``source_id`` with ``recipe`` by the installed onnxruntime and onnx lives."""
    versions = toolchain()
    name = f"{source_id}.{recipe}-v{RECIPE_VERSION}.ort{versions['onnxruntime']}.onnx{versions['onnx']}"
    return cache_root() / "onnx" / re.sub(r"[^A-Za-z0-9._+@-]+", "_", name)


class OnnxEncoder:
    """An exported encoder: ``encode`` as ``SentenceTransformer.encode`` answers it (unit vectors)."""

    def __init__(self, directory: Path, threads: int | None = None):
        self.directory = directory
        self.card, tokenizer = read_export(directory, CARD, "model", RECIPE_VERSION)
        tokenizer.enable_truncation(int(self.card["max_seq_length"]))
        self._tokenizer = tokenizer
        self.dimension = int(self.card["dimension"])
        self._inputs = list(self.card["inputs"])
        self._session = single_thread_session(directory / "model.onnx")
        self.threads = cpu_threads(threads)
        self._pool: ThreadPoolExecutor | None = None
        self._pool_lock = threading.Lock()

    def _batch(self, texts: list[str]) -> np.ndarray:
        # sentence-transformers strips each text before tokenising; so does this.
        encodings = self._tokenizer.encode_batch([t.strip() for t in texts])
        width = max(len(e.ids) for e in encodings)
        feed = {name: np.zeros((len(texts), width), dtype=np.int64) for name in self._inputs}
        for row, e in enumerate(encodings):
            n = len(e.ids)
            feed["input_ids"][row, :n] = e.ids
            feed["attention_mask"][row, :n] = 1
            if "token_type_ids" in feed:
                feed["token_type_ids"][row, :n] = e.type_ids
        return self._session.run(None, feed)[0]

    def encode(self, texts: list[str], *, batch_size: int = 64, show_progress_bar: bool = False,
               **_: Any) -> np.ndarray:
        out = np.zeros((len(texts), self.dimension), dtype=np.float32)
        if not texts:
            return out
        # int8 activations are quantised with one scale per run, so a vector would depend on the
        # texts run with it (and their padding): each text runs alone, which costs ~10 % here.
        size = 1 if self.card["recipe"] == "onnx-int8" else batch_size
        order = np.argsort([len(t) for t in texts], kind="stable")
        batches = [order[i:i + size] for i in range(0, len(texts), size)]

        def run(rows: np.ndarray) -> int:
            out[rows] = self._batch([texts[i] for i in rows])
            return len(rows)

        bar = None
        if show_progress_bar:
            from tqdm.auto import tqdm

            bar = tqdm(total=len(texts), desc="Batches", unit="sentence")
        try:
            done: Iterator[int] = (map(run, batches) if len(batches) == 1 or self.threads == 1
                                   else self._executor().map(run, batches))
            for count in done:
                if bar is not None:
                    bar.update(count)
        finally:
            if bar is not None:
                bar.close()
        norms = np.linalg.norm(out, axis=1, keepdims=True)
        return out / np.maximum(norms, 1e-12)

    def _executor(self) -> ThreadPoolExecutor:
        with self._pool_lock:
            if self._pool is None:
                self._pool = ThreadPoolExecutor(self.threads, thread_name_prefix="claimcluster-onnx")
            return self._pool


def single_thread_session(path: Path):
    """An ONNX Runtime CPU session of one thread, every graph optimisation on (runs go side by side instead)."""
    import onnxruntime as ort

    options = ort.SessionOptions()
    options.intra_op_num_threads = 1
    options.inter_op_num_threads = 1
    options.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
    options.log_severity_level = 3
    return ort.InferenceSession(str(path), options, providers=["CPUExecutionProvider"])


def export(model, source_id: str, recipe: str, directory: Path) -> None:
    """Export a loaded SentenceTransformer to ``directory`` with ``recipe``; ModelError if it cannot."""
    if recipe not in RECIPES:
        raise ModelError(f"unknown ONNX recipe {recipe!r}; one of {', '.join(RECIPES)}")
    directory.parent.mkdir(parents=True, exist_ok=True)
    with directory_write_lock(directory.parent, timeout=900):
        if (directory / CARD).is_file():
            try:
                OnnxEncoder(directory, threads=1)
                return  # another process exported it while this one waited
            except ModelIntegrityError:
                pass  # damaged: made again below
        work = Path(tempfile.mkdtemp(prefix=f".{directory.name}.", dir=directory.parent))
        root = logging.getLogger()
        handlers, level = root.handlers[:], root.level  # ORT's optimiser and quantiser configure the root logger
        try:
            card = _export_into(model, source_id, recipe, work)
            (work / CARD).write_text(json.dumps(card, indent=2) + "\n", encoding="utf-8")
            if directory.exists():
                shutil.rmtree(directory)  # a damaged earlier export
            os.replace(work, directory)
        finally:
            root.handlers[:], root.level = handlers, level
            shutil.rmtree(work, ignore_errors=True)


def reference_dimension(model) -> int:
    get = getattr(model, "get_embedding_dimension", None) or model.get_sentence_embedding_dimension
    return int(get())


def _transformer_parts(model):
    from sentence_transformers.models import Normalize, Pooling, Transformer

    modules = list(model)
    if (len(modules) not in (2, 3) or not isinstance(modules[0], Transformer) or not isinstance(modules[1], Pooling)
            or (len(modules) == 3 and not isinstance(modules[2], Normalize))):
        raise ModelError("the ONNX backend exports Transformer + Pooling (+ Normalize) models only; "
                         "use backend='torch' for this one")
    pooling = modules[1].get_config_dict()
    if "pooling_mode" in pooling:  # sentence-transformers >= 6
        modes = [pooling["pooling_mode"]]
    else:
        modes = [k.removeprefix("pooling_mode_").removesuffix("_tokens") for k, v in pooling.items()
                 if k.startswith("pooling_mode_") and v]
    if modes != ["mean"]:
        raise ModelError(f"the ONNX backend exports mean-pooled models only (this one: {modes}); use backend='torch'")
    tokenizer = modules[0].tokenizer
    if not getattr(tokenizer, "is_fast", False):
        raise ModelError("the ONNX backend needs a fast (tokenizers) tokenizer; use backend='torch'")
    return modules[0], tokenizer


def _export_into(model, source_id: str, recipe: str, work: Path) -> dict[str, Any]:
    import torch

    transformer, tokenizer = _transformer_parts(model)
    auto = transformer.auto_model
    with _eager_attention(auto):
        inputs = [n for n in ("input_ids", "attention_mask", "token_type_ids") if n in tokenizer.model_input_names]
        sample = tokenizer(["a short one", "and a somewhat longer second sentence"], padding=True,
                           return_tensors="pt")
        wrapper = _pooled_class()(auto, inputs).eval()
        fp32 = work / "model.fp32.onnx"
        try:
            with torch.no_grad(), warnings.catch_warnings():
                warnings.simplefilter("ignore")  # the tracer's advice on a graph the probes then check
                torch.onnx.export(wrapper, tuple(sample[n] for n in inputs), str(fp32), input_names=inputs,
                                  output_names=["embedding"], opset_version=17, dynamo=False,
                                  dynamic_axes={**{n: {0: "batch", 1: "tokens"} for n in inputs},
                                                "embedding": {0: "batch"}})
        except Exception as exc:  # torch's exporter raises many kinds
            raise ModelError(f"could not export {source_id} to ONNX: {exc}") from exc
    graph = fp32
    config = auto.config
    if getattr(config, "model_type", None) == "bert":
        from onnxruntime.transformers import optimizer

        fused = optimizer.optimize_model(str(fp32), model_type="bert", num_heads=config.num_attention_heads,
                                         hidden_size=config.hidden_size, opt_level=1)
        graph = work / "model.fused.onnx"
        fused.save_model_to_file(str(graph))
    final = work / "model.onnx"
    if recipe == "onnx-int8":
        quantize_int8(graph, final)
    else:
        os.replace(graph, final)
    for leftover in (fp32, work / "model.fused.onnx"):
        leftover.unlink(missing_ok=True)
    tokenizer.backend_tokenizer.save(str(work / "tokenizer.json"))


    card: dict[str, Any] = {
        "recipe": recipe, "recipe_version": RECIPE_VERSION, "source_model_id": source_id,
        "model_id": model_id_for(source_id, recipe), "model_sha256": file_sha256(final),
        "max_seq_length": int(model.max_seq_length), "dimension": int(reference_dimension(model)),
        "inputs": inputs,
        "versions": {"torch": torch.__version__, **toolchain()},
        **({"int8_weights": INT8_WEIGHTS} if recipe == "onnx-int8" else {}),
    }
    (work / CARD).write_text(json.dumps(card), encoding="utf-8")
    exported = OnnxEncoder(work, threads=1)
    reference = model.encode(list(PROBES), convert_to_numpy=True, normalize_embeddings=True)
    cosine = float(np.min(np.sum(exported.encode(list(PROBES)) * reference, axis=1)))
    card["probe_sentences"] = len(PROBES)
    card["probe_min_cosine"] = round(cosine, 6)
    if cosine < _MIN_COSINE[recipe]:
        raise ModelError(f"the {recipe} export of {source_id} gives vectors too far from the torch model's "
                         f"(lowest cosine {cosine:.4f} < {_MIN_COSINE[recipe]}); use backend='torch'")
    return card


@contextlib.contextmanager
def _eager_attention(auto):
    """Export with the eager attention code (the SDPA path does not trace to a fusable graph)."""
    before = getattr(auto.config, "_attn_implementation", None)
    setter = getattr(auto, "set_attn_implementation", None)
    try:
        if setter is not None:
            setter("eager")
        else:
            auto.config._attn_implementation = "eager"
        yield
    finally:
        if before is not None:
            if setter is not None:
                setter(before)
            else:
                auto.config._attn_implementation = before


def _pooled_class():
    import torch

    class Pooled(torch.nn.Module):
        def __init__(self, auto, inputs: list[str]):
            super().__init__()
            self.auto = auto
            self.inputs = inputs

        def forward(self, *tensors):
            feed = dict(zip(self.inputs, tensors))
            hidden = self.auto(**feed).last_hidden_state
            mask = feed["attention_mask"].unsqueeze(-1).to(hidden.dtype)
            mean = (hidden * mask).sum(1) / mask.sum(1).clamp(min=1e-9)
            return torch.nn.functional.normalize(mean, dim=-1)

    return Pooled
