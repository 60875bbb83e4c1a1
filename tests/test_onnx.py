"""The ONNX Runtime backend with the real model: no torch on the query path, vectors verified
against torch, exports cached and rebuilt when damaged, stores and indexes keep their backend."""

from __future__ import annotations

import json
import logging
import os
import shutil
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


def _integer_products(model) -> list[tuple[str, str, str, str]]:
    """(quantised activation, its zero point, weight, weight zero point) of every integer product of
    an int8 graph: MatMulInteger and QAttention (the fused attention's QKV projection)."""
    products = []
    for node in model.graph.node:
        if node.op_type == "MatMulInteger":
            products.append((node.input[0], node.input[2], node.input[1], node.input[3]))
        elif node.op_type == "QAttention":
            products.append((node.input[0], node.input[6], node.input[1], node.input[7]))
    return products


def _real_activations(directory, model, names: list[str], texts: list[str]) -> list[dict[str, np.ndarray]]:
    """The named tensors of the int8 graph for each text run alone, as the encoder runs it (the
    activations as its DynamicQuantizeLinear nodes quantise them, with their zero points)."""
    import onnx
    import onnxruntime as ort
    from tokenizers import Tokenizer

    probe = onnx.ModelProto()
    probe.CopyFrom(model)
    probe.graph.output.extend(onnx.ValueInfoProto(name=name) for name in names)
    options = ort.SessionOptions()
    options.graph_optimization_level = ort.GraphOptimizationLevel.ORT_DISABLE_ALL  # keep every node's output
    session = ort.InferenceSession(probe.SerializeToString(), options, providers=["CPUExecutionProvider"])
    tokenizer = Tokenizer.from_file(str(directory / "tokenizer.json"))
    runs = []
    for text in texts:
        ids = np.array([tokenizer.encode(text).ids], dtype=np.int64)
        feed = {"input_ids": ids, "attention_mask": np.ones_like(ids), "token_type_ids": np.zeros_like(ids)}
        runs.append(dict(zip(names, session.run(names, feed))))
    return runs


def _matmul_integer(weight: np.ndarray, weight_zero_point: np.ndarray):
    """ONNX Runtime's MatMulInteger of uint8 rows by ``weight``, in a one-node model of its own."""
    import onnx
    import onnxruntime as ort
    from onnx import TensorProto, helper, numpy_helper

    node = helper.make_node("MatMulInteger", ["a", "b", "a_zero_point", "b_zero_point"], ["y"])
    graph = helper.make_graph(
        [node], "product",
        [helper.make_tensor_value_info("a", TensorProto.UINT8, ["rows", weight.shape[0]]),
         helper.make_tensor_value_info("a_zero_point", TensorProto.UINT8, [])],
        [helper.make_tensor_value_info("y", TensorProto.INT32, ["rows", weight.shape[1]])],
        [numpy_helper.from_array(weight, "b"), numpy_helper.from_array(weight_zero_point, "b_zero_point")])
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)])
    model.ir_version = 8
    onnx.checker.check_model(model)
    session = ort.InferenceSession(model.SerializeToString(), providers=["CPUExecutionProvider"])
    return lambda a, zero_point: session.run(None, {"a": a, "a_zero_point": np.array(zero_point, np.uint8)})[0]


def test_int8_products_are_exact_and_cannot_saturate_on_any_cpu(embedder):
    """The int8 export's integer products equal exact integer arithmetic, for the real weights and real
    activations, including activation pairs that would clip a 16-bit pair sum with full-range int8
    weights (ONNX Runtime's AVX2 kernel, vpmaddubsw): the weights are within [-64, 64], so no pair of
    uint8 x int8 products can pass 2 * 255 * 64 = 32640 < 32768 on any kernel."""
    import onnx
    from onnx import numpy_helper

    embedder.encode(TEXTS[:1])  # the export exists now
    directory = export_dir(default_model_id(), "onnx-int8")
    model = onnx.load(str(directory / "model.onnx"))
    initializers = {t.name: numpy_helper.to_array(t) for t in model.graph.initializer}
    products = _integer_products(model)
    assert len(products) == 24  # 6 layers: QKV, attention output, two feed-forward products
    runs = _real_activations(directory, model, sorted({n for a, za, _, _ in products for n in (a, za)}), TEXTS[:3])
    widest_old_pair = 0
    for activation, activation_zero_point, weight_name, weight_zero_point_name in products:
        weight, weight_zero_point = initializers[weight_name], initializers[weight_zero_point_name]
        assert weight.dtype == np.int8 and np.abs(weight.astype(np.int64)).max() <= 64, weight_name
        assert 2 * 255 * 64 < 2**15
        # The same weights as full-range int8 (one step of 127 per column's largest), as the earlier recipe
        # stored them (each within one step of its value there).
        exact_weight = weight.astype(np.int64) - weight_zero_point.astype(np.int64)
        full_range = np.round(exact_weight * 127 / np.abs(exact_weight).max(axis=0)).astype(np.int64)
        product = _matmul_integer(weight, weight_zero_point)
        for run in runs:
            rows, zero_point = run[activation].reshape(-1, weight.shape[0]), run[activation_zero_point]
            # Adjacent pairs along the inner dimension, as vpmaddubsw adds them.
            pairs = rows.astype(np.int64).reshape(len(rows), -1, 2)
            pair_sums = np.einsum("mjp,jpn->mjn", pairs, full_range.reshape(-1, 2, weight.shape[1]))
            widest_old_pair = max(widest_old_pair, int(np.abs(pair_sums).max()))
            extreme = np.array([[255] * weight.shape[0], [255, 0] * (weight.shape[0] // 2)], dtype=np.uint8)
            for a in (rows, extreme):
                exact = (a.astype(np.int64) - int(zero_point)) @ exact_weight
                np.testing.assert_array_equal(product(a, zero_point), exact, err_msg=weight_name)
    assert widest_old_pair > 32767  # full-range weights would clip on AVX2 for these very activations


def test_an_export_made_by_another_toolchain_is_made_again(embedder, tmp_path):
    """The onnxruntime and onnx versions name the export's directory, and its card must name them too."""
    import onnxruntime

    from claimcluster.embed import _onnx

    embedder.encode(TEXTS[:1])
    directory = export_dir(default_model_id(), "onnx-int8")
    assert f".onnx-int8-v{_onnx.RECIPE_VERSION}.ort{onnxruntime.__version__}.onnx{_onnx.toolchain()['onnx']}" in \
        directory.name
    card = json.loads((directory / CARD).read_text())
    assert card["versions"]["onnxruntime"] == onnxruntime.__version__ and card["recipe_version"] == 2
    copy = tmp_path / directory.name
    shutil.copytree(directory, copy)
    card["versions"]["onnxruntime"] = "1.0.0"
    (copy / CARD).write_text(json.dumps(card))
    with pytest.raises(ModelIntegrityError, match="exported by recipe 2 with .*1.0.0"):
        OnnxEncoder(copy)


def test_the_committed_reference_vectors_are_these_vectors_on_any_cpu(embedder):
    """benchmarks/data/numerics holds both packaged models' int8 vectors of 1,000 sentences, made on one
    machine (``python -m benchmarks.numerics`` compares all of them); the integer products are exact on
    every CPU, so any machine's vectors are those up to float rounding."""
    from .conftest import DATA

    card = json.loads((DATA / "numerics" / "card.json").read_text(encoding="utf-8"))
    with np.load(DATA / "numerics" / "vectors.npz", allow_pickle=False) as held:
        reference = {name: held[name] for name in held.files}
    assert sorted(reference) == ["default", "plain", "texts"] and len(set(reference["texts"])) == card["count"] == 1000
    for key in ("default", "plain"):
        assert reference[key].shape == (card["count"], card["dimension"]) and reference[key].dtype == np.float16
        assert np.allclose(np.linalg.norm(reference[key].astype(np.float32), axis=1), 1, atol=2e-3)
    assert card["models"]["default"]["model_id"] == embedder.model_id
    assert card["cpu"]["flags"] and card["versions"]["onnxruntime"]
    texts = [str(t) for t in reference["texts"][::50]]
    cosines = np.sum(embedder.encode(texts) * reference["default"][::50].astype(np.float32), axis=1)
    assert cosines.min() >= 0.999, cosines
