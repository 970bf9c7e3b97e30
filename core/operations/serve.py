"""The real-time endpoint: `python -m core serve --model NAME@ALIAS --port P` answers JSON prediction
requests on localhost (Starlette on uvicorn, both installed with Streamlit).

POST /predict {"rows": [{feature: value, ...}, ...]} -> {"model", "predictions": [{"prediction",
"probability"}]}. Each request is checked against the model's signature (a missing feature, an
unknown type or a number that is not one is a 422 with the reason). A binary model's prediction is its
decision at the version's threshold. The alias is resolved again every few seconds, so promoting a new
champion (or changing the version's threshold) switches the endpoint without a restart. GET
/health answers with the model in service; GET /metrics with requests, errors and latency p50/p95.
Request counts and latencies are written to the lake (a `serve` job) every LOG_EVERY requests and
when the server stops.
"""
from __future__ import annotations

import contextlib
import json
import threading
import time
import uuid
from collections import deque
from dataclasses import replace

import numpy as np
import pandas as pd

from core.governance import registry
from core.errors import AssayError, InputError
from core.lake import Lake
from core.operations.scoring import score_frame

RESOLVE_SECONDS = 5.0
LOG_EVERY = 500
MAX_ROWS = 10_000


class Endpoint:
    """The model behind the alias, reloaded when the alias moves, and the request statistics."""

    def __init__(self, lake: Lake, model_ref: str, actor: str):
        self.lake, self.ref, self.actor = lake, model_ref, actor
        self.lock = threading.Lock()
        self.latencies: deque = deque(maxlen=10_000)
        self.requests = self.errors = self.logged = 0
        self.resolved_at, self.version, self.trained = 0.0, None, None
        self._resolve(force=True)

    def _resolve(self, force: bool = False) -> None:
        if not force and time.monotonic() - self.resolved_at < RESOLVE_SECONDS:
            return
        version = registry.get(self.lake, self.ref)
        if self.version is None or version.ref != self.version.ref:
            self.version, self.trained = registry.open_version(self.lake, version)  # hash checked
        elif version.threshold != self.trained.threshold:  # set_threshold: same model, another decision
            self.version, self.trained = version, replace(self.trained, threshold=version.threshold)
        self.resolved_at = time.monotonic()

    def casts(self) -> dict:
        return {f["name"]: ("text" if f["kind"] == "categorical" else "parse") for f in self.version.signature}

    @property
    def run(self):
        return self.trained.run

    def predict(self, body: object) -> dict:
        with self.lock:
            self._resolve()
            version, trained = self.version, self.trained
        rows = body.get("rows") if isinstance(body, dict) else None
        if not isinstance(rows, list) or not rows or not all(isinstance(r, dict) for r in rows):
            raise InputError('Send {"rows": [{feature: value, ...}, ...]} with at least one row.')
        if len(rows) > MAX_ROWS:
            raise InputError(f"At most {MAX_ROWS:,} rows per request, not {len(rows):,}.")
        names = [f["name"] for f in version.signature]
        for i, row in enumerate(rows):
            missing = [n for n in names if n not in row]
            if missing:
                raise InputError(f"Row {i} lacks {missing}; {version.ref} needs {', '.join(names)}.")
            for feature in version.signature:
                value = row[feature["name"]]
                if value is not None and not isinstance(value, (str, int, float, bool)):
                    raise InputError(f"Row {i}: {feature['name']} must be a number, text or null, not {type(value).__name__}.")
        frame = pd.DataFrame([{n: r[n] for n in names} for r in rows])
        predictions, reasons = score_frame(trained, self.casts(), frame)
        if reasons.notna().any():
            first = int(np.flatnonzero(reasons.notna().to_numpy())[0])
            raise InputError(f"Row {first}: {reasons.iloc[first]}.")
        return {"model": version.ref, "threshold": trained.threshold, "predictions": [
            {"prediction": p, "probability": None if np.isnan(q) else float(q)}
            for p, q in zip(predictions["prediction"], predictions["probability"])]}

    def observe(self, seconds: float, ok: bool) -> None:
        with self.lock:
            self.requests += 1
            self.errors += 0 if ok else 1
            self.latencies.append(seconds)
            due = self.requests - self.logged >= LOG_EVERY
        if due:
            self.flush()

    def metrics(self) -> dict:
        with self.lock:
            values = np.asarray(self.latencies) * 1000
            return {"model": self.version.ref, "requests": self.requests, "errors": self.errors,
                    "latency_ms_p50": float(np.percentile(values, 50)) if len(values) else None,
                    "latency_ms_p95": float(np.percentile(values, 95)) if len(values) else None}

    def flush(self) -> None:
        """Requests since the last flush, as a `serve` job in the lake (what monitoring reads)."""
        stats = self.metrics()
        with self.lock:
            count, self.logged = self.requests - self.logged, self.requests
        if count <= 0:
            return
        job_id = f"{time.strftime('%Y%m%d')}-{uuid.uuid4().hex[:10]}"

        def work(cur) -> None:
            cur.execute("INSERT INTO lake.assay.jobs VALUES (?, ?, ?, ?, 'endpoint', NULL, 'endpoint', 'succeeded', ?, ?, "
                        "?, ?, ?, NULL, NULL, ?, now())",
                        [job_id, self.run.usecase, self.version.name, self.version.version, count, count - stats["errors"],
                         stats["errors"], json.dumps({"latency_ms_p50": stats["latency_ms_p50"],
                                                      "latency_ms_p95": stats["latency_ms_p95"]}),
                         stats["latency_ms_p95"], self.actor])

        self.lake.write(work, actor=self.actor, action="serve", message=f"serve {self.version.ref}: {count} requests", tag=f"job:{job_id}")


def app(endpoint: Endpoint):
    from starlette.applications import Starlette
    from starlette.requests import Request
    from starlette.responses import JSONResponse
    from starlette.routing import Route

    async def predict(request: Request) -> JSONResponse:
        started = time.perf_counter()
        try:
            body = await request.json()
        except (json.JSONDecodeError, UnicodeDecodeError):
            endpoint.observe(time.perf_counter() - started, False)
            return JSONResponse({"error": "The body must be JSON."}, status_code=400)
        try:
            answer = endpoint.predict(body)
        except AssayError as error:
            endpoint.observe(time.perf_counter() - started, False)
            return JSONResponse({"error": str(error)}, status_code=422)
        endpoint.observe(time.perf_counter() - started, True)
        return JSONResponse(answer)

    async def health(request: Request) -> JSONResponse:
        return JSONResponse({"status": "ok", "model": endpoint.version.ref})

    async def metrics(request: Request) -> JSONResponse:
        return JSONResponse(endpoint.metrics())

    @contextlib.asynccontextmanager
    async def lifespan(app):
        yield
        endpoint.flush()  # what was served since the last flush reaches the lake when the server stops

    return Starlette(routes=[Route("/predict", predict, methods=["POST"]), Route("/health", health),
                             Route("/metrics", metrics)], lifespan=lifespan)


def run(lake: Lake, model_ref: str, *, port: int, actor: str, host: str = "127.0.0.1") -> None:
    import uvicorn

    if not 1024 <= port <= 65535:
        raise InputError(f"Use a port from 1024 to 65535, not {port}.")
    from core.lake import permissions

    permissions.require(lake, actor, "serve")
    endpoint = Endpoint(lake, model_ref, actor)
    uvicorn.run(app(endpoint), host=host, port=port, log_level="warning")
