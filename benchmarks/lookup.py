"""Look-up speed: a cold ``claimcluster match`` and a load test of ``claimcluster serve``.

    python -m benchmarks.lookup --data benchmarks/data/clef2020_checkthat_task2 [--split dev] [--json]

The CLEF-2020 verified claims (10,375) are indexed with the default embedder (into a temporary
directory, or into ``--index DIR`` to keep it; an index already there is used as it is). Then, on this machine:

1. **cold match**: ``claimcluster match DIR TEXT`` run ``--cold-runs`` times as a new process
   each (interpreter start, imports, index and model load, one query), wall seconds, median;
   for context, how long ``import sentence_transformers`` alone takes in a new process (what
   every look-up paid with the torch backend).
2. **serve**: ``claimcluster serve DIR`` started as a process on a free port of 127.0.0.1;
   single queries one after another (``--single`` of them, the split's tweets in turn):
   latency p50 / p99 and queries/s; then batched requests (``--batch`` tweets each) from
   ``--clients`` client threads for ``--seconds`` at most or ``--batches`` requests: queries/s.
   The server is stopped at the end, whatever happens.

Client and server share the machine's cores, so the figures include the client's own cost.
"""

from __future__ import annotations

import argparse
import os
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

from benchmarks.common import emit, machine, read_jsonl

CLI = [sys.executable, "-m", "claimcluster"]


def build_index(data: Path, out: Path) -> float:
    from claimcluster import ClaimIndex

    claims = read_jsonl(data / "vclaims.jsonl")
    start = time.perf_counter()
    index = ClaimIndex().add([c["vclaim"] for c in claims], ids=[str(c["vclaim_id"]) for c in claims],
                             extra_texts=[c.get("title") or "" for c in claims])
    index.save(out)
    return time.perf_counter() - start


def queries(data: Path, split: str) -> list[str]:
    rows = [r for r in read_jsonl(data / "queries.jsonl") if r.get("split", split) == split]
    return [r["tweet"] if "tweet" in r else r["text"] for r in rows]


def cold_match(directory: Path, text: str, runs: int) -> dict:
    walls = []
    for _ in range(runs):
        start = time.perf_counter()
        done = subprocess.run([*CLI, "match", str(directory), text, "--json"], capture_output=True, text=True,
                              timeout=300)
        walls.append(time.perf_counter() - start)
        if done.returncode != 0:
            raise SystemExit(f"claimcluster match failed: {done.stderr.strip()}")
    start = time.perf_counter()
    subprocess.run([sys.executable, "-c", "import sentence_transformers"], check=True, capture_output=True)
    torch_import = time.perf_counter() - start
    return {"runs": runs, "seconds": [round(w, 3) for w in walls], "median_seconds": round(statistics.median(walls), 3),
            "import_sentence_transformers_seconds": round(torch_import, 3)}


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def load_test(directory: Path, texts: list[str], args) -> dict:
    import httpx

    port = free_port()
    server = subprocess.Popen([*CLI, "serve", str(directory), "--port", str(port)], stdout=subprocess.DEVNULL,
                              stderr=subprocess.PIPE, text=True)
    url = f"http://127.0.0.1:{port}"
    try:
        started = time.perf_counter()
        with httpx.Client(base_url=url, timeout=60) as client:
            while True:
                if server.poll() is not None:
                    raise SystemExit(f"the server exited: {server.stderr.read() if server.stderr else ''}")
                try:
                    health = client.get("/health").json()
                    break
                except httpx.TransportError:
                    if time.perf_counter() - started > 180:
                        raise SystemExit("the server did not answer within 180 s") from None
                    time.sleep(0.1)
            startup = time.perf_counter() - started
            for text in texts[:20]:  # warm the client's connection and the server's threads
                client.post("/match", json={"text": text})
            latencies = []
            for i in range(args.single):
                start = time.perf_counter()
                reply = client.post("/match", json={"text": texts[i % len(texts)]})
                latencies.append(time.perf_counter() - start)
                reply.raise_for_status()
        latencies.sort()
        single = {"queries": len(latencies), "p50_ms": round(1000 * statistics.median(latencies), 2),
                  "p99_ms": round(1000 * latencies[min(len(latencies) - 1, int(0.99 * len(latencies)))], 2),
                  "queries_per_second": round(len(latencies) / sum(latencies), 1)}
        batches = [texts[(i * args.batch) % len(texts):][: args.batch] or texts[: args.batch]
                   for i in range(args.batches)]
        done, errors, lock = [0], [], threading.Lock()
        deadline = time.perf_counter() + args.seconds
        todo = iter(batches)

        def client_loop():
            with httpx.Client(base_url=url, timeout=120) as client:
                while time.perf_counter() < deadline:
                    with lock:
                        batch = next(todo, None)
                    if batch is None:
                        return
                    reply = client.post("/match/batch", json={"texts": batch})
                    if reply.status_code != 200:
                        errors.append(reply.text)
                        return
                    with lock:
                        done[0] += len(batch)

        start = time.perf_counter()
        threads = [threading.Thread(target=client_loop) for _ in range(args.clients)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        elapsed = time.perf_counter() - start
        if errors:
            raise SystemExit(f"batched requests failed: {errors[0][:300]}")
        batched = {"batch": args.batch, "clients": args.clients, "queries": done[0], "seconds": round(elapsed, 2),
                   "queries_per_second": round(done[0] / elapsed, 1)}
        return {"startup_seconds": round(startup, 2), "health": health, "single": single, "batched": batched}
    finally:
        server.terminate()
        try:
            server.wait(timeout=20)
        except subprocess.TimeoutExpired:
            server.kill()


def main(argv: list[str] | None = None) -> dict:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--data", type=Path, required=True, help="the CLEF-2020 2a directory")
    parser.add_argument("--split", default="dev", help="split of queries.jsonl whose tweets are the queries")
    parser.add_argument("--index", type=Path, default=None,
                        help="an index directory: used if it holds one, else built there and kept")
    parser.add_argument("--cold-runs", type=int, default=5)
    parser.add_argument("--single", type=int, default=500)
    parser.add_argument("--batch", type=int, default=32)
    parser.add_argument("--clients", type=int, default=2)
    parser.add_argument("--batches", type=int, default=200)
    parser.add_argument("--seconds", type=float, default=60.0)
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args(argv)

    texts = queries(args.data, args.split)
    if not texts:
        raise SystemExit(f"no queries of split {args.split!r} in {args.data / 'queries.jsonl'}")
    work = Path(tempfile.mkdtemp(prefix="claimcluster-lookup-"))
    try:
        directory = args.index or work / "index"
        result: dict = {"queries_split": args.split, "query_texts": len(texts)}
        if not (directory / "manifest.json").is_file():
            result["build_seconds"] = round(build_index(args.data, directory), 1)
        result["cold_match"] = cold_match(directory, texts[0], args.cold_runs)
        result["serve"] = load_test(directory, texts, args)
        result["cpus"] = len(os.sched_getaffinity(0))
        result["machine"] = machine()
    finally:
        shutil.rmtree(work, ignore_errors=True)
    emit(result, args.json)
    return result


if __name__ == "__main__":
    main()
