"""``claimcluster serve``: a real server process on 127.0.0.1, real HTTP, the real model and index."""

from __future__ import annotations

import socket
import subprocess
import sys
import time
from concurrent.futures import ThreadPoolExecutor

import httpx
import pytest

from claimcluster import ClaimIndex

CLAIMS = {
    "draft": "The U.S. Army is not contacting anyone about a military draft.",
    "syria": "Russia's Defense Ministry denied that Russian soldiers died in Syria.",
    "watch": "Apple will sell a gold edition of the Apple Watch for $10,000.",
}


server_directory: list = []


@pytest.fixture(scope="module")
def server(tmp_path_factory, embedder):
    directory = tmp_path_factory.mktemp("serve") / "index"
    ClaimIndex(embedder).add(list(CLAIMS.values()), ids=list(CLAIMS)).save(directory)
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    process = subprocess.Popen([sys.executable, "-m", "claimcluster", "serve", str(directory), "--port", str(port)],
                               stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    url = f"http://127.0.0.1:{port}"
    server_directory[:] = [directory]
    deadline = time.monotonic() + 180
    try:
        while True:
            assert process.poll() is None, process.stderr.read() if process.stderr else ""
            try:
                httpx.get(url + "/health", timeout=5)
                break
            except httpx.TransportError:
                assert time.monotonic() < deadline, "the server did not start"
                time.sleep(0.2)
        yield url
    finally:
        process.terminate()
        process.wait(timeout=30)


def test_health_names_the_index_and_model(server, embedder):
    health = httpx.get(server + "/health").json()
    assert health == {**health, "status": "ok", "claims": 3, "model_id": embedder.model_id, "backend": "onnx-int8"}


def test_match_finds_the_claim_a_text_repeats_and_says_how(server):
    reply = httpx.post(server + "/match", json={"text": "Army says it is NOT texting people about the draft",
                                                "assess": True})
    assert reply.status_code == 200
    body = reply.json()
    assert body["matches"][0]["id"] == "draft" and body["matches"][0]["stance"] is not None
    unknown = httpx.post(server + "/match", json={"text": "The recipe calls for two cups of flour."}).json()
    assert unknown["matches"] == []  # min_score "auto": no known claim
    everything = httpx.post(server + "/match", json={"text": "flour", "min_score": None, "k": 2}).json()
    assert len(everything["matches"]) == 2


def test_batch_answers_each_text_in_order_and_concurrent_requests_agree(server):
    texts = ["Moscow denies its troops were killed in Syria", "A $10,000 gold Apple Watch is coming"]
    batch = httpx.post(server + "/match/batch", json={"texts": texts}).json()["results"]
    assert [r["query"] for r in batch] == texts
    assert [r["matches"][0]["id"] for r in batch] == ["syria", "watch"]
    with ThreadPoolExecutor(4) as pool:
        replies = list(pool.map(lambda t: httpx.post(server + "/match", json={"text": t}).json(), texts * 8))
    assert [r["matches"][0]["id"] for r in replies] == ["syria", "watch"] * 8
    assert httpx.post(server + "/match/batch", json={"texts": []}).json() == {"results": []}


@pytest.mark.parametrize("body, message", [
    ({"text": "   "}, "white space"),
    ({"text": "ok", "k": 0}, "greater than or equal to 1"),
    ({"text": "ok", "min_score": "high"}, "min_score"),
    ({"text": "ok", "min_score": True}, "min_score"),
    ({"text": "ok", "k": True}, "k"),
    ({"text": "ok", "k": "5"}, "k"),
    ({"text": "ok", "assess": "yes"}, "assess"),
    ({"text": "x" * 20_001}, "at most 20000 characters"),
    ({"texts": ["fine", None]}, "texts"),
    ({}, "text"),
])
def test_bad_requests_get_422_with_the_reason(server, body, message):
    path = "/match/batch" if "texts" in body else "/match"
    reply = httpx.post(server + path, json=body)
    assert reply.status_code == 422
    assert message in reply.text
    assert httpx.get(server + "/health").status_code == 200  # the server is still up


def test_a_lone_surrogate_is_refused_cleanly_and_the_connection_stays_usable(server):
    body = '{"text": "\\ud800 Russia denied that Russian soldiers died in Syria"}'  # valid JSON, not valid text
    with httpx.Client() as client:
        reply = client.post(server + "/match", content=body, headers={"content-type": "application/json"})
        assert reply.status_code == 422 and "\ufffd Russia" in reply.text
        assert client.get(server + "/health").status_code == 200  # the same connection


def test_a_port_in_use_is_refused_before_serving(server):
    port = server.rsplit(":", 1)[1]
    done = subprocess.run([sys.executable, "-m", "claimcluster", "serve", str(server_directory[0]), "--port", port],
                          capture_output=True, text=True, timeout=300)
    assert done.returncode == 2 and "cannot listen on 127.0.0.1:" in done.stderr
    assert "serving" not in done.stderr
