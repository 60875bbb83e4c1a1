"""Embedder and EmbeddingCache, against the real packaged model."""

from __future__ import annotations

import json
import os
import shutil
import sqlite3
import subprocess
import sys
import textwrap
import warnings

import numpy as np
import pytest
from click.testing import CliRunner

from claimcluster import (
    BASE_MODEL,
    CacheCorruptedWarning,
    Embedder,
    EmbeddingCache,
    InputError,
    ModelIntegrityError,
    StorageError,
)
from claimcluster.cli import main
from claimcluster.embed import DEFAULT_WEIGHTS_SHA256, default_model_id, packaged_model_path
from claimcluster.embed._delta import CARD_FILE, DELTA_FILE, SHIPPED_DELTA_DIR, read_card

from .conftest import SEEDS

SENTENCES = [
    "Russia's Defense Ministry denied reports of Russian military deaths in Syria.",
    "Moscow rejected claims that its soldiers were killed in Deir Ezzor.",
    "Apple Watch battery lasts only 2.5 hours.",
]


def test_encode_returns_float32_unit_rows(embedder):
    vectors = embedder.encode(SENTENCES)
    assert vectors.shape == (3, 384)
    assert vectors.dtype == np.float32
    np.testing.assert_allclose(np.linalg.norm(vectors, axis=1), 1.0, atol=1e-5)
    # Paraphrases are closer than an unrelated sentence.
    assert vectors[0] @ vectors[1] > vectors[0] @ vectors[2] + 0.3


def test_one_text_is_still_two_dimensional(embedder):
    assert embedder.encode("A single sentence here.").shape == (1, 384)
    assert embedder.encode(["A single sentence here."]).shape == (1, 384)


def test_empty_input_gives_zero_rows(embedder):
    out = embedder.encode([])
    assert out.shape == (0, 384) and out.dtype == np.float32


def test_model_id_names_base_delta_and_weights(embedder):
    card = read_card(SHIPPED_DELTA_DIR)
    torch_id = f"all-MiniLM-L6-v2+{card['name']}@{card['delta_sha256'][:16]}"
    # the int8 export is another model: its id names the quantisation (7-bit weights), not the earlier "/onnx-int8"
    assert embedder.model_id == torch_id + "/onnx-int8-w7" and default_model_id() == torch_id
    assert Embedder(backend="torch").model_id == torch_id
    assert card["base_sha256"] == DEFAULT_WEIGHTS_SHA256
    assert Embedder(BASE_MODEL, backend="torch").model_id == f"all-MiniLM-L6-v2@{DEFAULT_WEIGHTS_SHA256[:16]}"
    assert embedder.dimension == 384


def test_shipped_delta_is_small_and_changes_the_model(embedder):
    assert (SHIPPED_DELTA_DIR / DELTA_FILE).stat().st_size <= 8 * 2**20
    plain = Embedder(BASE_MODEL).encode(SENTENCES)
    tuned = embedder.encode(SENTENCES)
    assert not np.allclose(plain, tuned, atol=1e-3)
    cross = tuned @ plain.T  # a delta, not another model: each sentence stays nearest its plain self
    assert np.all(np.argmax(cross, axis=1) == np.arange(len(SENTENCES))) and np.all(np.diag(cross) > 0.7)


def _delta_copy(tmp_path):
    copy = tmp_path / "delta"
    copy.mkdir()
    for name in (DELTA_FILE, CARD_FILE):
        shutil.copy(SHIPPED_DELTA_DIR / name, copy / name)
    return copy


def test_tampered_delta_is_refused(tmp_path):
    copy = _delta_copy(tmp_path)
    data = bytearray((copy / DELTA_FILE).read_bytes())
    data[-8:] = b"\x00" * 8
    (copy / DELTA_FILE).write_bytes(bytes(data))
    with pytest.raises(ModelIntegrityError, match="its card says"):
        Embedder(str(copy)).encode(["x y z"])


def test_delta_for_other_base_weights_is_refused(tmp_path):
    copy = _delta_copy(tmp_path)
    card = json.loads((copy / CARD_FILE).read_text())
    (copy / CARD_FILE).write_text(json.dumps(dict(card, base_sha256="0" * 64)))
    with pytest.raises(ModelIntegrityError, match="applies to base weights 0000000000000000"):
        Embedder(str(copy)).encode(["x y z"])
    (copy / CARD_FILE).write_text("{not json")
    with pytest.raises(ModelIntegrityError, match="cannot read the encoder delta card"):
        Embedder(str(copy)).encode(["x y z"])


@pytest.mark.parametrize(
    "texts, message",
    [
        (["ok text", None], r"position 1 is missing \(None\)"),
        (["ok text", float("nan")], r"position 1 is missing \(nan\)"),
        ([3, "ok"], r"position 0 is int, not str"),
        (["fine", "   \u00a0 "], r"position 1 is empty or has only white space"),
        (b"bytes", r"decode the text first"),
        (None, r"got None"),
        (42, r"got int"),
    ],
)
def test_bad_inputs_name_the_position(embedder, texts, message):
    with pytest.raises(InputError, match=message):
        embedder.encode(texts)


def test_odd_unicode_and_very_long_text(embedder):
    weird = ["\u201cHOAX\u201d:\u00a0Russia rejects \u2014 claims", "Zero\u200bwidth", "x" * 200_000]
    vectors = embedder.encode(weird)
    assert vectors.shape == (3, 384) and np.isfinite(vectors).all()


def test_identical_texts_embedded_once(tmp_path, embedder):
    cache = EmbeddingCache(tmp_path / "c.sqlite3")
    cached = Embedder(cache=cache)
    out = cached.encode(["same text here", "same text here", "other text here"])
    assert len(cache) == 2
    np.testing.assert_array_equal(out[0], out[1])


def test_hash_mismatch_is_a_clear_error():
    with pytest.raises(ModelIntegrityError, match="expected 0000"):
        Embedder(expected_sha256="0" * 64).encode(["x y z"])


def test_tampered_weights_are_refused(tmp_path):
    source = packaged_model_path()
    copy = tmp_path / "model"
    shutil.copytree(source, copy)
    with open(copy / "model.safetensors", "r+b") as fh:
        fh.seek(-16, os.SEEK_END)
        fh.write(b"\x00" * 16)
    with pytest.raises(ModelIntegrityError, match="has sha256"):
        Embedder(str(copy), expected_sha256=DEFAULT_WEIGHTS_SHA256).encode(["x y z"])


def test_local_path_model_works():
    local = Embedder(str(packaged_model_path()))
    assert local._backend() == "torch"  # only the packaged names default to ONNX
    np.testing.assert_allclose(local.encode(SENTENCES[:1]), Embedder(BASE_MODEL, backend="torch").encode(SENTENCES[:1]),
                               atol=1e-6)
    assert local.model_id.endswith(DEFAULT_WEIGHTS_SHA256[:16])


def test_default_model_loads_with_network_unplugged(tmp_path):
    script = textwrap.dedent(
        """
        import socket
        def refuse(*args, **kwargs):
            raise OSError("network is unplugged in this test")
        socket.socket.connect = refuse
        socket.create_connection = refuse
        socket.getaddrinfo = refuse
        from claimcluster import Embedder
        print(Embedder().encode(["no network needed"]).shape)
        """
    )
    env = {**os.environ, "HF_HUB_OFFLINE": "1", "TRANSFORMERS_OFFLINE": "1", "HF_HOME": str(tmp_path / "hf")}
    done = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, env=env, timeout=300)
    assert done.returncode == 0, done.stderr
    assert "(1, 384)" in done.stdout


def test_cache_hit_embeds_nothing(tmp_path, embedder):
    path = tmp_path / "cache.sqlite3"
    first = Embedder(cache=path).encode(SENTENCES)
    again = Embedder(cache=path)
    again._load()

    def refuse(*args, **kwargs):
        raise AssertionError("the model was called although every text is cached")

    again._model.encode = refuse
    np.testing.assert_array_equal(again.encode(SENTENCES), first)


def test_corrupt_cache_file_is_reported_and_rebuilt(tmp_path, embedder):
    path = tmp_path / "cache.sqlite3"
    with sqlite3.connect(path) as conn:  # an SQLite file whose pages are damaged past its header
        conn.execute("CREATE TABLE embeddings (model_id TEXT, text TEXT, vector BLOB, crc INTEGER)")
        conn.executemany("INSERT INTO embeddings VALUES ('m', ?, zeroblob(64), 0)", [(str(i),) for i in range(500)])
    conn.close()
    with open(path, "r+b") as fh:
        fh.seek(4096)
        fh.write(b"\xff" * 8192)
    with pytest.warns(CacheCorruptedWarning, match="moved it to"):
        out = Embedder(cache=path).encode(SENTENCES)
    np.testing.assert_allclose(out, embedder.encode(SENTENCES), atol=1e-6)
    assert list(tmp_path.glob("cache.sqlite3.corrupt-*"))
    assert len(EmbeddingCache(path)) == 3


@pytest.mark.parametrize("content", [b"my notes, not a cache\n", "sqlite"])
def test_a_file_that_is_not_a_cache_is_refused_and_left_alone(tmp_path, content):
    path = tmp_path / "notes.txt"
    if content == "sqlite":  # another program's database
        with sqlite3.connect(path) as conn:
            conn.execute("CREATE TABLE contacts (name TEXT)")
    else:
        path.write_bytes(content)
    before = path.read_bytes()
    with pytest.raises(StorageError, match="not an embedding cache.*left as it is"):
        Embedder(cache=path).encode(SENTENCES[:1])
    assert path.read_bytes() == before and sorted(p.name for p in tmp_path.iterdir()) == ["notes.txt"]
    result = CliRunner().invoke(main, ["cluster", str(SEEDS), "--cache", str(path)])
    assert result.exit_code == 2 and "not an embedding cache" in result.output and path.read_bytes() == before


def test_damaged_row_is_dropped_and_reembedded(tmp_path, embedder):
    path = tmp_path / "cache.sqlite3"
    Embedder(cache=path).encode(SENTENCES)
    with sqlite3.connect(path) as conn:
        blob = bytearray(conn.execute("SELECT vector FROM embeddings WHERE text = ?", (SENTENCES[0],)).fetchone()[0])
        blob[:8] = b"\xff" * 8
        conn.execute("UPDATE embeddings SET vector = ? WHERE text = ?", (bytes(blob), SENTENCES[0]))
    with pytest.warns(CacheCorruptedWarning, match="1 damaged row"):
        out = Embedder(cache=path).encode(SENTENCES)
    np.testing.assert_allclose(out, embedder.encode(SENTENCES), atol=1e-6)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        Embedder(cache=path).encode(SENTENCES)


def test_two_processes_share_a_cache(tmp_path):
    path = tmp_path / "shared.sqlite3"
    script = textwrap.dedent(
        f"""
        import sys
        from claimcluster import Embedder
        texts = [f"sentence number {{i}} about topic {{sys.argv[1]}}" for i in range(40)]
        texts += [f"common sentence {{i}} seen by both" for i in range(40)]
        Embedder(cache={str(path)!r}).encode(texts)
        """
    )
    procs = [subprocess.Popen([sys.executable, "-c", script, tag], stderr=subprocess.PIPE, text=True) for tag in "ab"]
    for proc in procs:
        _, err = proc.communicate(timeout=300)
        assert proc.returncode == 0, err
    assert len(EmbeddingCache(path)) == 120
