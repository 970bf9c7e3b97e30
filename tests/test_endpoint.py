"""The real-time endpoint: micro-batching with identical predictions, statistics written off the request path
(a held catalog lock delays no request and loses no statistic), strict input (each bad input its status code,
counted in /metrics), bearer tokens once accounts exist, and the final JSON on SIGTERM/SIGINT (the CLI as a
subprocess). No timing is asserted: "not delayed" means answered while the lock is still held."""
from __future__ import annotations

import asyncio
import io
import json
import os
import signal
import socket
import subprocess
import sys
import threading
import time
import urllib.request
from pathlib import Path

import httpx
import numpy as np
import pandas as pd
import pytest
from starlette.testclient import TestClient

from core.cli import main
from core.data import datasets
from core.errors import LakeBusyError
from core.governance import accounts, registry, tokens
from core.operations import scoring, serve
from core.operations.serve import _writer

from support import credit_model

ROOT = Path(__file__).resolve().parents[1]
OPEN = serve.Options(allowed_hosts=None, auth="off")


@pytest.fixture(scope="module")
def served(tmp_path_factory):
    lake, run = credit_model(tmp_path_factory.mktemp("endpoint") / "lake", rows=3_000, algorithm="lightgbm",
                             actor="local")
    registry.register(lake, run.run_id, name="credit", actor="local", alias="champion")
    batch = datasets.read_frame(lake, datasets.get(lake, "applications"), limit=40)
    rows = json.loads(batch[run.feature_names].to_json(orient="records"))  # JSON as a client sends it
    yield lake, run, rows
    lake.close()


def _served_jobs(lake) -> dict:
    return {j.job_id: j for j in scoring.jobs(lake, model="credit", limit=100_000) if j.engine == "endpoint"}


def test_concurrent_requests_are_batched_with_identical_predictions(served):
    lake, run, rows = served
    endpoint = serve.Endpoint(lake, "credit@champion", "local")
    calls = []
    predict = endpoint.predict_batch
    endpoint.predict_batch = lambda requests: (calls.append(len(requests)), predict(requests))[1]
    application = serve.app(endpoint, serve.Options(allowed_hosts=None, auth="off", max_wait_ms=200, workers=1,
                                                    max_batch_rows=64))

    async def together() -> list:
        await application.start()
        try:
            async with httpx.AsyncClient(transport=httpx.ASGITransport(app=application), base_url="http://x") as client:
                answers = await asyncio.gather(*[client.post("/predict", json={"rows": [row]}) for row in rows])
                alone = []
                for row in rows[:10]:  # one at a time: each its own call of the model
                    alone.append(await client.post("/predict", json={"rows": [row]}))
                return answers, alone
        finally:
            await application.stop()

    answers, alone = asyncio.run(together())
    assert all(a.status_code == 200 for a in answers + alone)
    batched = [a.json()["predictions"][0] for a in answers]
    assert sum(calls) == len(rows) + 10 and len(calls) < len(rows)  # fewer calls than requests
    assert max(calls) > 1 and calls[-10:] == [1] * 10
    assert endpoint.stats.snapshot()["predict_calls"] == len(calls)
    # Identical to the same rows predicted alone through the endpoint, and in process, at the version's threshold.
    assert batched[:10] == [a.json()["predictions"][0] for a in alone]
    frame = pd.DataFrame(rows)[run.feature_names]
    proba = endpoint.trained.model.predict_proba(frame)
    expected = endpoint.trained.positive_score(proba)
    assert [p["probability"] for p in batched] == [float(x) for x in expected]
    labels = [str(x) for x in endpoint.trained.predicted_labels(proba)]
    assert [p["prediction"] for p in batched] == labels
    assert (np.asarray([p["prediction"] == str(run.positive) for p in batched])
            == (expected >= endpoint.trained.threshold)).all()
    # A batch with one bad request answers the others.
    mixed = endpoint.predict_batch([[rows[0]], [{**rows[1], "income": "a lot"}], [rows[2]]])
    assert mixed[0]["predictions"][0] == batched[0] and mixed[2]["predictions"][0] == batched[2]
    assert "income: not a number" in str(mixed[1])


def test_the_fast_call_is_the_pipelines_decision(served):
    """Plain rows skip the per-call frames (verified identical when loaded); other rows go through score_frame."""
    from core.operations.serve import _fast
    from core.training import build_pipeline

    lake, run, rows = served
    endpoint = serve.Endpoint(lake, "credit@champion", "local")
    assert endpoint.serving.fast is not None
    odd = [{**rows[0], "region": "Atlantis"}, {**rows[1], "employment": None, "income": None},
           {**rows[2], "age": str(rows[2]["age"])}, {**rows[3], "debt": True}]
    variants = rows + odd
    answers = endpoint.predict_batch([[r] for r in variants])
    frame = pd.DataFrame(variants, dtype=object)[run.feature_names]
    frame["age"] = pd.to_numeric(frame["age"])  # what score_frame makes of "41"
    frame["debt"] = pd.to_numeric(frame["debt"].astype(float))
    proba = endpoint.trained.model.predict_proba(frame)
    assert [a["predictions"][0]["probability"] for a in answers] == [float(x) for x in endpoint.trained.positive_score(proba)]
    assert [a["predictions"][0]["prediction"] for a in answers] == [str(x) for x in endpoint.trained.predicted_labels(proba)]
    numeric = [c for c in run.feature_names if c not in ("region", "employment", "home_ownership")]
    other = build_pipeline("logistic", "binary", numeric, ["region"], seed=1)
    sample = pd.DataFrame(rows)
    other.fit(sample[numeric + ["region"]], (sample["income"] > sample["income"].median()).astype(int))
    assert _fast.compile_model(other, "binary", endpoint.serving.casts) is None  # not LightGBM: the pipeline serves


def test_a_held_catalog_lock_delays_no_request_and_loses_no_statistic(served, monkeypatch):
    lake, _, rows = served
    before = _served_jobs(lake)
    endpoint = serve.Endpoint(lake, "credit@champion", "local")
    # Another process holds the catalog: every use of the lake (a read or a write) waits until it is released.
    released, waited = threading.Event(), []
    opened = lake.cursor

    def held_cursor():
        if not released.is_set():
            waited.append(threading.current_thread().name)
            released.wait(300)
        return opened()

    with TestClient(serve.app(endpoint, serve.Options(allowed_hosts=None, auth="off", flush_seconds=0.05))) as client:
        monkeypatch.setattr(lake, "cursor", held_cursor)
        try:
            answered = [client.post("/predict", json={"rows": [row]}).status_code for row in rows[:25]]
            bad = client.post("/predict", json={"rows": [{"age": 1}]}).status_code
            health, ready = client.get("/health").status_code, client.get("/ready").status_code
            metrics = client.get("/metrics").json()
            for _ in range(600):  # bounded: the writer has tried to write and is waiting for the catalog
                if "serve-statistics" in waited:
                    break
                time.sleep(0.05)
            # all answered while the catalog is still held; only the background threads waited for it
            assert not released.is_set() and answered == [200] * 25 and bad == 422 and health == ready == 200
            assert "serve-statistics" in waited and set(waited) <= {"serve-statistics", "serve-refresh"}
            assert metrics["requests"] == 26 and metrics["statistics"]["pending_requests"] == 26
        finally:
            released.set()  # the writer's wait ends and its write goes through
    after = {k: j for k, j in _served_jobs(lake).items() if k not in before}
    assert sum(j.rows for j in after.values()) == 26
    assert sum(j.scored for j in after.values()) == 25 and sum(j.rejected for j in after.values()) == 1
    assert sum(j.reasons["rows_scored"] for j in after.values()) == 25


def test_a_failed_write_keeps_the_statistics_for_the_next(served, monkeypatch):
    lake, _, _ = served
    endpoint = serve.Endpoint(lake, "credit@champion", "local")
    stats = endpoint.stats
    writer = _writer.Writer(lake, stats, usecase_of=endpoint.usecase_of, actor="local", every=3600)
    real, failures = _writer.write_windows, []

    def busy_twice(*args, **kwargs):
        if len(failures) < 2:
            failures.append(1)
            raise LakeBusyError("The lake stayed busy with another writer for a minute; nothing was written.")
        return real(*args, **kwargs)

    monkeypatch.setattr(_writer, "write_windows", busy_twice)
    before = _served_jobs(lake)
    for i in range(7):
        stats.request("credit@1", 200 if i else 422, 0.001 * (i + 1), None if i else "invalid_rows")
        if i in (2, 4):
            assert writer.flush() is False  # busy: given back, merged with what comes next
    assert stats.pending() == 7 and stats.snapshot()["statistics"]["failures"] == 2
    assert writer.flush() is True and stats.pending() == 0
    (job,) = [j for k, j in _served_jobs(lake).items() if k not in before]
    assert (job.rows, job.scored, job.rejected) == (7, 6, 1) and job.reasons["errors"] == {"invalid_rows": 1}
    assert job.reasons["latency_ms_p50"] == pytest.approx(4.0)


def _post(client, body: bytes, **headers):
    return client.post("/predict", content=body, headers={"content-type": "application/json", **headers})


def test_each_bad_input_gets_its_status_code_and_is_counted(served):
    lake, _, rows = served
    endpoint = serve.Endpoint(lake, "credit@champion", "local")
    options = serve.Options(max_body_bytes=64 * 1024)  # the defaults run() uses: Host checked, token when accounts exist
    good = json.dumps({"rows": [rows[0]]})
    template = json.dumps({"rows": [{**rows[0], "income": 123456.5}]})
    with TestClient(serve.app(endpoint, options), base_url="http://localhost:8502") as client:
        assert _post(client, good.encode()).status_code == 200
        cases = {
            "NaN": (template.replace("123456.5", "NaN"), 422, "NaN is not a JSON number"),
            "Infinity": (template.replace("123456.5", "Infinity"), 422, "Infinity is not a JSON number"),
            "-Infinity": (template.replace("123456.5", "-Infinity"), 422, "-Infinity is not a JSON number"),
            "1e309": (template.replace("123456.5", "1e309"), 422, "1e309 is out of range"),
            "digits": (template.replace("123456.5", "9" * 5000), 422, "An integer of 5,000 digits"),
            "deep": ("[" * 30_000 + "]" * 30_000, 422, "nested too deeply"),
            "malformed": ('{"rows": [', 400, "not valid JSON"),
            "not utf-8": (b'{"rows": "\xff"}', 400, "not UTF-8"),
            "too large": (" " * (64 * 1024 + 1), 413, "at most 65,536"),
        }
        for name, (body, status, reason) in cases.items():
            answer = _post(client, body if isinstance(body, bytes) else body.encode())
            assert (name, answer.status_code) == (name, status) and reason in answer.json()["error"], (name, answer.text)
        chunked = client.post("/predict", content=(b" " * 8192 for _ in range(100)),  # no Content-Length
                              headers={"content-type": "application/json"})
        assert chunked.status_code == 413 and chunked.headers["connection"] == "close"
        plain = client.post("/predict", content=good, headers={"content-type": "text/plain"})
        assert plain.status_code == 415 and "application/json" in plain.json()["error"]
        assert _post(client, good.encode(), host="evil.example").status_code == 421  # DNS rebinding
        assert client.get("/health", headers={"host": "evil.example:8502"}).status_code == 421
        assert _post(client, good.encode(), host="127.0.0.1:8502").status_code == 200
        assert client.get("/predict").status_code == 405 and client.get("/nothing").status_code == 404
        assert "access-control-allow-origin" not in client.options(
            "/predict", headers={"origin": "http://evil.example", "access-control-request-method": "POST"}).headers
        metrics = client.get("/metrics").json()
        text = client.get("/metrics", headers={"accept": "text/plain"})
    assert metrics["errors_by_kind"] == {"invalid_number": 5, "too_deep": 1, "bad_json": 2, "too_large": 2,
                                         "content_type": 1, "host": 2, "method": 2, "not_found": 1}
    assert metrics["requests"] == 2 + 9 + 1 + 1 + 1 + 2  # /predict requests, whatever their answer
    assert metrics["statuses"] == {"200": 2, "400": 2, "404": 1, "405": 2, "413": 2, "415": 1, "421": 2, "422": 6}
    assert text.headers["content-type"].startswith("text/plain; version=0.0.4")
    assert 'assay_endpoint_errors_total{reason="invalid_number"} 5' in text.text
    assert 'assay_endpoint_requests_total{status="413"} 2' in text.text
    assert f'assay_endpoint_request_duration_seconds_count {metrics["requests"]}' in text.text


def test_a_token_is_required_once_accounts_exist(served):
    lake, _, rows = served
    body = {"rows": [rows[0]]}
    try:
        accounts.add(lake, "ana", role="analyst", actor="local", oidc=True)
        accounts.add(lake, "vera", role="viewer", actor="local", oidc=True)
        service = tokens.add(lake, "fraud-service", role="scorer", actor="local")
        assert service["kind"] == "service" and service["token"].startswith("assay_")
        analyst = accounts.issue_token(lake, "ana", actor="local")["token"]  # an account's own token may score
        viewer = accounts.issue_token(lake, "vera", actor="local")["token"]  # a viewer's may not
        with pytest.raises(accounts.PermissionDenied):  # a scorer token is no way into the CLI
            accounts.authenticate_token(lake, service["token"])
        listed = tokens.list_tokens(lake)
        assert {(t["name"], t["kind"], t["role"]) for t in listed} == {
            ("fraud-service", "service", "scorer"), ("ana", "account", "account"), ("vera", "account", "account")}
        assert not any(service["token"] in json.dumps(t, default=str) for t in listed)
        endpoint = serve.Endpoint(lake, "credit@champion", "local", resolve_seconds=0.05)
        with TestClient(serve.app(endpoint, serve.Options()), base_url="http://localhost") as client:
            refused = client.post("/predict", json=body)
            assert refused.status_code == 401 and refused.headers["www-authenticate"] == "Bearer"
            assert "tokens add NAME --role scorer" in refused.json()["error"]
            assert client.get("/metrics").status_code == 401 and client.get("/health").status_code == 200
            for token, status in ((service["token"], 200), (analyst, 200), (viewer, 401), ("assay_x_y", 401)):
                answer = client.post("/predict", json=body, headers={"authorization": f"Bearer {token}"})
                assert answer.status_code == status, token
            tokens.revoke(lake, service["token_id"], actor="local")
            for _ in range(600):  # the refresh thread reloads the tokens (bounded wait, no timing asserted)
                if tokens.digest(service["token"]) not in endpoint.credentials.holders:
                    break
                time.sleep(0.05)
            assert client.post("/predict", json=body,
                               headers={"authorization": f"Bearer {service['token']}"}).status_code == 401
            assert client.get("/metrics", headers={"authorization": f"Bearer {analyst}"}).json()["errors_by_kind"] == \
                {"unauthorized": 5}
    finally:
        for name in ("ana", "vera"):
            if name in [a.name for a in accounts.list_accounts(lake)]:
                accounts.remove(lake, name, actor="local")
        for t in tokens.list_tokens(lake):
            tokens.revoke(lake, t["token_id"], actor="local")


def test_tokens_through_the_cli(served):
    lake, _, _ = served
    folder = str(lake.config.folder)

    def cli(*argv) -> tuple[int, dict]:
        out = io.StringIO()
        code = main(["--lake", folder, "tokens", *argv], out=out)
        return code, json.loads(out.getvalue())

    try:
        code, added = cli("add", "batch-scorer", "--role", "scorer")
        assert code == 0 and added["kind"] == "service" and added["role"] == "scorer" and added["token"]
        code, listed = cli("list")
        assert code == 0 and [t["token_id"] for t in listed["tokens"]] == [added["token_id"]]
        assert "token" not in listed["tokens"][0] and "token_sha256" not in listed["tokens"][0]
        code, missing = cli("add", "batch-scorer")
        assert code == 2 and "--role scorer" in missing["error"]
        code, unknown = cli("revoke", "nope")
        assert code == 2 and "No token 'nope'" in unknown["error"]
        code, revoked = cli("revoke", added["token_id"])
        assert code == 0 and revoked == {"revoked": added["token_id"], "name": "batch-scorer"}
        assert cli("list")[1] == {"tokens": []}
    finally:
        for t in tokens.list_tokens(lake):
            tokens.revoke(lake, t["token_id"], actor="local")


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _request(port: int, path: str, body: dict | None = None):
    data = None if body is None else json.dumps(body).encode()
    request = urllib.request.Request(f"http://127.0.0.1:{port}{path}", data=data,
                                     headers={"content-type": "application/json"})
    with urllib.request.urlopen(request, timeout=60) as answer:
        return answer.status, json.loads(answer.read())


@pytest.mark.parametrize("stop", [signal.SIGTERM, signal.SIGINT])
def test_a_signal_stops_the_cli_server_with_its_final_json(served, stop):
    lake, _, rows = served
    before = _served_jobs(lake)
    port = _free_port()
    proc = subprocess.Popen([sys.executable, "-m", "core", "--lake", str(lake.config.folder), "serve", "--model",
                             "credit@champion", "--port", str(port), "--flush-seconds", "3600"], cwd=ROOT,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                            env={**os.environ, "OMP_NUM_THREADS": "1"})
    try:
        for _ in range(1200):  # starting: bounded wait for /health
            try:
                if _request(port, "/health")[0] == 200:
                    break
            except OSError:
                assert proc.poll() is None, proc.stderr.read()
                time.sleep(0.1)
        for row in rows[:3]:
            assert _request(port, "/predict", {"rows": [row]})[1]["predictions"]
        # A 200 MB body is refused by its declared length before a byte of it is sent.
        with socket.create_connection(("127.0.0.1", port), timeout=60) as raw:
            raw.sendall(f"POST /predict HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\nContent-Type: application/json\r\n"
                        f"Content-Length: {200 * 2**20}\r\n\r\n".encode())
            head = raw.recv(4096).decode()
        assert head.startswith("HTTP/1.1 413") and "connection: close" in head.lower()
        proc.send_signal(stop)
        out, err = proc.communicate(timeout=300)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    assert proc.returncode == 0, err
    final = json.loads(out)
    assert final["stopped"] is True and final["signal"] == stop.name and final["served"] == "credit@champion"
    assert (final["requests"], final["errors"], final["rows"]) == (4, 1, 3)
    assert final["statistics_written"] is True and final["statistics_pending_requests"] == 0
    after = [j for k, j in _served_jobs(lake).items() if k not in before]
    assert [(j.rows, j.scored, j.rejected) for j in after] == [(4, 3, 1)]
