"""The ONNX Runtime backend with the real model: no torch on the query path, vectors verified
against torch, exports cached and rebuilt when damaged, stores and indexes keep their backend."""

from __future__ import annotations

import json
import logging
import os
import subprocess
import sys
import textwrap

import numpy as np
import pytest

from claimcluster import ClaimIndex, Embedder, ModelError, ModelIntegrityError
from claimcluster.embed import default_model_id
from claimcluster.embed._onnx import CARD, OnnxEncoder, export_dir, source_model_id

TEXTS = [
    "Russia's Defense Ministry denied that any servicemen had died in Syria.",
    "Moscow rejected the reports of Russian deaths in Syria as a provocation.",
    "Apple will sell a gold edition of its watch for $10,000.",
    "Police said three people were wounded in the blast on Tuesday.",
    "“No comment,” the spokesman said.",
]


def test_default_is_int8_onnx_and_close_to_torch(embedder):
    assert embedder.encode(TEXTS[:1]).shape == (1, 384)
    assert embedder.backend_used == "onnx-int8"
    assert source_model_id(embedder.model_id) == default_model_id()
    torch_vectors = Embedder(backend="torch").encode(TEXTS)
    cosines = np.sum(embedder.encode(TEXTS) * torch_vectors, axis=1)
    assert np.all(cosines > 0.95), cosines
    # the two Syria sentences stay each other's nearest neighbours, as with torch
    vectors = embedder.encode(TEXTS)
    sims = vectors @ vectors.T
    np.fill_diagonal(sims, -1)
    assert sims[0].argmax() == 1 and sims[1].argmax() == 0


def test_a_vector_does_not_depend_on_the_texts_beside_it(embedder):
    alone = np.stack([embedder.encode([t])[0] for t in TEXTS])
    together = embedder.encode(TEXTS + ["An unrelated, much longer sentence about the weather in the mountains today."])
    np.testing.assert_allclose(together[: len(TEXTS)], alone, atol=1e-6)


def test_query_path_imports_no_torch(embedder, tmp_path):
    embedder.encode(TEXTS[:1])  # the export exists now
    index = ClaimIndex(embedder).add(TEXTS, ids=[str(i) for i in range(len(TEXTS))])
    index.save(tmp_path / "index")
    script = textwrap.dedent(f"""
        import sys
        from claimcluster import ClaimIndex
        index = ClaimIndex.load({str(tmp_path / "index")!r})
        print(index.search(["Russia denied soldiers died in Syria"], k=1)[0][0].id)
        heavy = sorted(m for m in ("torch", "sentence_transformers", "transformers") if m in sys.modules)
        print("heavy:", ",".join(heavy) or "none")
    """)
    done = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr
    assert done.stdout.split() == ["0", "heavy:", "none"]


def test_fp32_export_gives_torch_vectors_and_a_damaged_export_is_rebuilt(tmp_path, monkeypatch, caplog):
    monkeypatch.setenv("CLAIMCLUSTER_HOME", str(tmp_path / "home"))
    exact = Embedder(backend="onnx")
    vectors = exact.encode(TEXTS)
    assert exact.model_id == default_model_id()  # the same vectors, so the same id and caches
    np.testing.assert_allclose(vectors, Embedder(backend="torch").encode(TEXTS), atol=1e-4)
    directory = export_dir(default_model_id(), "onnx")
    card = json.loads((directory / CARD).read_text())
    assert card["probe_min_cosine"] >= 0.9999 and card["source_model_id"] == default_model_id()
    with open(directory / "model.onnx", "r+b") as fh:
        fh.seek(-64, os.SEEK_END)
        fh.write(b"\0" * 64)
    with pytest.raises(ModelIntegrityError, match="its card says"):
        OnnxEncoder(directory)
    with caplog.at_level(logging.WARNING, logger="claimcluster.embed"):
        again = Embedder(backend="onnx").encode(TEXTS)
    assert "rebuilding the ONNX export" in caplog.text
    np.testing.assert_allclose(again, vectors, atol=1e-6)


def test_models_the_exporter_cannot_take_are_refused_or_left_to_torch(tmp_path):
    from sentence_transformers import SentenceTransformer
    from sentence_transformers.models import Pooling, Transformer

    from claimcluster.embed import packaged_model_path

    first = Transformer(str(packaged_model_path()))
    SentenceTransformer(modules=[first, Pooling(384, "cls")], device="cpu").save(str(tmp_path / "cls"))
    with pytest.raises(ModelError, match="mean-pooled models only"):
        Embedder(str(tmp_path / "cls"), backend="onnx").encode(["x y z"])
    auto = Embedder(str(tmp_path / "cls"))
    assert auto.encode(["x y z"]).shape == (1, 384) and auto.backend_used == "torch"
    with pytest.raises(Exception, match="backend must be one of"):
        Embedder(backend="tensorrt")


def test_an_index_opened_without_an_embedder_keeps_the_backend_it_was_built_with(tmp_path, embedder):
    for backend, path in (("torch", tmp_path / "t"), ("auto", tmp_path / "a")):
        built = Embedder(backend=backend)
        ClaimIndex(built).add(TEXTS, ids=[str(i) for i in range(len(TEXTS))]).save(path)
        loaded = ClaimIndex.load(path)
        assert loaded.embedder.model_id == built.model_id
        assert loaded.search([TEXTS[2]], k=1)[0][0].id == "2"
    from claimcluster import ModelMismatchError

    with pytest.raises(ModelMismatchError, match="was built with model .*, not .*onnx-int8"):
        ClaimIndex.load(tmp_path / "t", embedder)


def test_an_unwritable_cache_falls_back_to_torch_with_a_warning(tmp_path, monkeypatch):
    home = tmp_path / "readonly"
    home.mkdir()
    home.chmod(0o500)
    monkeypatch.setenv("CLAIMCLUSTER_HOME", str(home / "cc"))
    if os.access(home, os.W_OK):  # root ignores permission bits: make the path a file instead
        home.chmod(0o700)
        (home / "cc").write_text("not a directory")
    with pytest.warns(RuntimeWarning, match="cannot write the ONNX export.*using the torch backend"):
        auto = Embedder()
        vectors = auto.encode(TEXTS[:2])
    assert auto.backend_used == "torch" and auto.model_id == default_model_id()
    np.testing.assert_allclose(vectors, Embedder(backend="torch").encode(TEXTS[:2]), atol=1e-6)
    with pytest.raises(ModelError, match="CLAIMCLUSTER_HOME"):
        Embedder(backend="onnx-int8").encode(TEXTS[:1])


def test_an_export_leaves_the_callers_logging_alone(tmp_path, monkeypatch):
    """ONNX Runtime's quantiser configures the root logger; after an export the program's log lines
    must not come out twice."""
    monkeypatch.setenv("CLAIMCLUSTER_HOME", str(tmp_path / "home"))
    root = logging.getLogger()
    saved, level = root.handlers[:], root.level
    root.handlers[:] = []  # as in a program that configured no logging (pytest adds handlers)
    try:
        Embedder(backend="onnx-int8").encode(TEXTS[:1])
        added = root.handlers[:]
    finally:
        root.handlers[:] = saved
    assert added == [] and root.level == level
