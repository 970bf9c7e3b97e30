"""Benchmark: the real-time endpoint (`python -m core serve`, a subprocess) under single-row requests from
concurrent keep-alive clients (asyncio, raw HTTP/1.1, in this process), against the floor of the same model's
in-process predict_proba on one row. Also: the server's RSS before and after a long run (memory flat), and a
200 MB body refused without being read whole (by its declared length, and streamed without one).
Prints one JSON object.

    OMP_NUM_THREADS=1 python bench/endpoint.py [--lake PATH --model NAME@ALIAS] [--clients 8]
        [--requests 20000] [--runs 3] [--soak 100000] [--serve-args "--max-wait-ms 2"]

Without --lake it builds the credit demo (10,000 rows, LightGBM) in a temporary lake.
"""
from __future__ import annotations

import argparse
import asyncio
import json
import os
import platform
import shlex
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))


def build_lake(folder: Path) -> tuple[str, str]:
    from core import training
    from core.data import demo
    from core.governance import registry
    from core.lake import Lake

    lake = Lake.open(folder)
    demo.build(lake, rows=10_000, with_transactions=False)
    run = training.train(lake, dataset="applications", target="defaulted", actor="local", algorithms=["lightgbm"],
                         sensitive=["sex", "race_ethnicity"], exclude=["applicant_id", "applied_at"]).runs[0]
    registry.register(lake, run.run_id, name="credit", actor="local", alias="champion")
    lake.close()
    return str(folder), "credit@champion"


def sample_rows(lake_folder: str, model: str, dataset: str, n: int = 200) -> tuple[list, dict]:
    """Rows as a client sends them, and the in-process floor: predict_proba on one row (median ms)."""
    import pandas as pd

    from core.data import datasets
    from core.governance import registry
    from core.lake import Lake

    lake = Lake.open(lake_folder)
    version, trained = registry.open_version(lake, registry.get(lake, model))
    names = [f["name"] for f in version.signature]
    frame = datasets.read_frame(lake, datasets.get(lake, dataset), limit=n)
    rows = json.loads(frame[names].to_json(orient="records"))
    one = pd.DataFrame([rows[0]])[names]
    trained.model.predict_proba(one)
    times = []
    for _ in range(200):
        started = time.perf_counter()
        trained.model.predict_proba(one)
        times.append(time.perf_counter() - started)
    lake.close()
    floor_ms = statistics.median(times) * 1000
    return rows, {"predict_proba_one_row_ms_p50": round(floor_ms, 3),
                  "predict_proba_one_row_ms_p99": round(sorted(times)[int(len(times) * 0.99)] * 1000, 3),
                  "single_thread_requests_per_second_ceiling": round(1000 / floor_ms, 1)}


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def start_server(lake: str, model: str, port: int, extra: list) -> subprocess.Popen:
    proc = subprocess.Popen([sys.executable, "-m", "core", "--lake", lake, "serve", "--model", model, "--port", str(port),
                             *extra], cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                            env={**os.environ, "OMP_NUM_THREADS": os.environ.get("OMP_NUM_THREADS", "1")})
    for _ in range(1200):
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{port}/ready", timeout=5) as answer:
                if answer.status == 200:
                    return proc
        except OSError:
            if proc.poll() is not None:
                raise SystemExit(f"the server did not start: {proc.stderr.read()[-2000:]}")
            time.sleep(0.1)
    raise SystemExit("the server did not become ready in 120 s")


def rss_mb(pid: int) -> float:
    import psutil

    return round(psutil.Process(pid).memory_info().rss / 2**20, 1)


async def _client(port: int, bodies: list, count: int, latencies: list, failures: list) -> None:
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    head = f"POST /predict HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\nContent-Type: application/json\r\n"
    for i in range(count):
        body = bodies[i % len(bodies)]
        started = time.perf_counter()
        writer.write(f"{head}Content-Length: {len(body)}\r\n\r\n".encode() + body)
        status = await reader.readline()
        length = 0
        while True:
            line = await reader.readline()
            if line in (b"\r\n", b""):
                break
            if line.lower().startswith(b"content-length:"):
                length = int(line.split(b":", 1)[1])
        await reader.readexactly(length)
        latencies.append(time.perf_counter() - started)
        if b" 200 " not in status:
            failures.append(status.decode().strip())
    writer.close()


def load(port: int, rows: list, *, clients: int, requests: int) -> dict:
    bodies = [json.dumps({"rows": [row]}).encode() for row in rows]
    latencies, failures = [], []

    async def run() -> float:
        started = time.perf_counter()
        per = requests // clients
        await asyncio.gather(*[_client(port, bodies[k:] + bodies[:k], per, latencies, failures) for k in range(clients)])
        return time.perf_counter() - started

    seconds = asyncio.run(run())
    ordered = sorted(latencies)
    return {"requests": len(latencies), "failed": len(failures), "seconds": round(seconds, 2),
            "requests_per_second": round(len(latencies) / seconds, 1),
            "latency_ms_p50": round(ordered[len(ordered) // 2] * 1000, 2),
            "latency_ms_p99": round(ordered[int(len(ordered) * 0.99)] * 1000, 2)}


def oversized(port: int, pid: int, size: int = 200 * 2**20) -> dict:
    """A 200 MB body: declared (refused before any byte is sent), then streamed chunked without a length
    (refused once past the limit; the server closes the connection rather than read the rest)."""
    before = rss_mb(pid)
    with socket.create_connection(("127.0.0.1", port), timeout=60) as raw:
        raw.sendall(f"POST /predict HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\nContent-Type: application/json\r\n"
                    f"Content-Length: {size}\r\n\r\n".encode())
        declared = raw.recv(4096).decode(errors="replace").split("\r\n", 1)[0]
    sent, chunk = 0, b"4000\r\n" + b" " * 0x4000 + b"\r\n"
    with socket.create_connection(("127.0.0.1", port), timeout=60) as raw:
        raw.sendall(f"POST /predict HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\nContent-Type: application/json\r\n"
                    "Transfer-Encoding: chunked\r\n\r\n".encode())
        try:
            while sent < size:
                raw.sendall(chunk)
                sent += 0x4000
        except OSError:  # the server answered 413 and closed the connection
            pass
        try:
            streamed = raw.recv(4096).decode(errors="replace").split("\r\n", 1)[0]
        except OSError:
            streamed = "(connection reset after the 413)"
    return {"declared_200mb": declared, "streamed_200mb": streamed, "streamed_bytes_sent_before_refusal": sent,
            "server_rss_mb_before": before, "server_rss_mb_after": rss_mb(pid)}


def stop(proc: subprocess.Popen) -> dict:
    proc.terminate()
    out, err = proc.communicate(timeout=300)
    return json.loads(out) if out.strip() else {"error": err[-2000:]}


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--lake")
    parser.add_argument("--model", default="credit@champion")
    parser.add_argument("--dataset", default="applications", help="where the request rows come from")
    parser.add_argument("--clients", type=int, default=8)
    parser.add_argument("--requests", type=int, default=20_000)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--soak", type=int, default=100_000, help="requests between the two RSS readings (0: skip)")
    parser.add_argument("--serve-args", default="", help="further serve options, e.g. '--max-wait-ms 0'")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as folder:
        lake, model = (args.lake, args.model) if args.lake else build_lake(Path(folder) / "lake")
        rows, floor = sample_rows(lake, model, args.dataset)
        port = free_port()
        proc = start_server(lake, model, port, shlex.split(args.serve_args))
        try:
            load(port, rows, clients=args.clients, requests=min(2_000, args.requests))  # warm-up
            runs = [load(port, rows, clients=args.clients, requests=args.requests) for _ in range(args.runs)]
            soak = {}
            if args.soak:
                before = rss_mb(proc.pid)
                soaked = load(port, rows, clients=args.clients, requests=args.soak)
                soak = {"requests": soaked["requests"], "failed": soaked["failed"], "server_rss_mb_before": before,
                        "server_rss_mb_after": rss_mb(proc.pid), "requests_per_second": soaked["requests_per_second"]}
            body = oversized(port, proc.pid)
        finally:
            final = stop(proc)
    median = {key: statistics.median(r[key] for r in runs) for key in ("requests_per_second", "latency_ms_p50",
                                                                       "latency_ms_p99")}
    print(json.dumps({"machine": {"cpus": os.cpu_count(), "python": platform.python_version(),
                                  "load_average_1m_at_end": round(os.getloadavg()[0], 2)},
                      "clients": args.clients, "serve_args": args.serve_args, "floor_in_process": floor,
                      "median_of_runs": median, "runs": runs, "memory_soak": soak, "oversized_body": body,
                      "server_final": {k: final.get(k) for k in ("requests", "errors", "predict_calls", "signal",
                                                                 "statistics_written", "statistics_jobs")}}, indent=2))


if __name__ == "__main__":
    main()
