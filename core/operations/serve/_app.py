"""The endpoint as an ASGI application (served by uvicorn): a few routes whose checks come in a fixed order,
Host (DNS rebinding), bearer token, content type, body size, strict JSON, the model's signature; every refusal
is answered with its status and reason and counted in /metrics. Nothing on a request's path touches the lake."""
from __future__ import annotations

import asyncio
import json
import time
from dataclasses import dataclass, field
from typing import Literal, Optional

from core.errors import InputError
from core.governance import tokens
from core.operations.serve import _input
from core.operations.serve._batcher import Batcher, default_workers
from core.operations.serve._endpoint import Endpoint, check_rows
from core.operations.serve._input import Rejected
from core.operations.serve._metrics import CONTENT_TYPE, prometheus
from core.operations.serve._writer import Writer

LOCAL_HOSTS = ("localhost", "127.0.0.1", "::1")


@dataclass(frozen=True)
class Options:
    """How the endpoint batches, what it accepts and who may call it. `run` starts from these defaults;
    `app(endpoint)` without options is for in-process callers (tests, an enclosing gateway): no Host or token check."""
    max_batch_rows: int = 256
    max_wait_ms: float = 0.0  # measured: holding a batch for closed-loop clients only delays it (README)
    workers: int = field(default_factory=default_workers)
    max_body_bytes: int = 4 * 2**20
    allowed_hosts: Optional[tuple] = LOCAL_HOSTS  # None: any Host
    auth: Literal["auto", "off"] = "auto"  # auto: a token is required once the lake has accounts or tokens
    cors_origins: tuple = ()
    flush_seconds: float = 10.0
    stop_seconds: float = 120.0  # how long a stop keeps trying to write the last statistics

    def __post_init__(self):
        for name, low, high in (("max_batch_rows", 1, 100_000), ("max_wait_ms", 0, 1_000), ("workers", 1, 256),
                                ("max_body_bytes", 1_024, 2**31), ("flush_seconds", 0.01, 86_400),
                                ("stop_seconds", 0, 86_400)):
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, (int, float)) or not low <= value <= high:
                raise InputError(f"--{name.replace('_', '-')} takes a number from {low:,} to {high:,}, not {value!r}.")
        if self.auth not in ("auto", "off"):
            raise InputError(f"auth is 'auto' or 'off', not {self.auth!r}.")


def _host_name(value: str) -> str:
    value = value.strip().lower()
    if value.startswith("["):  # [::1]:8502
        return value[1:].split("]", 1)[0]
    return value.rsplit(":", 1)[0] if value.count(":") == 1 else value


class App:
    def __init__(self, endpoint: Endpoint, options: Options):
        self.endpoint, self.options, self.stats = endpoint, options, endpoint.stats
        self.allowed = None if options.allowed_hosts is None else {_host_name(h) for h in options.allowed_hosts}
        self.batcher = Batcher(endpoint.predict_batch, max_rows=options.max_batch_rows, max_wait_ms=options.max_wait_ms,
                               workers=options.workers, on_batch=self.stats.batch)
        self.writer = Writer(endpoint.lake, self.stats, usecase_of=endpoint.usecase_of, actor=endpoint.actor,
                             every=options.flush_seconds)
        self.ready, self.written_at_stop = False, None

    async def __call__(self, scope, receive, send) -> None:
        if scope["type"] == "lifespan":
            await self._lifespan(receive, send)
        elif scope["type"] == "http":
            await self._http(scope, receive, send)

    async def _lifespan(self, receive, send) -> None:
        while True:
            message = await receive()
            if message["type"] == "lifespan.startup":
                await self.start()
                await send({"type": "lifespan.startup.complete"})
            elif message["type"] == "lifespan.shutdown":
                await self.stop()
                await send({"type": "lifespan.shutdown.complete"})
                return

    async def start(self) -> None:
        try:  # the alias and the tokens as they are now; a busy catalog leaves the loaded model and retries
            await asyncio.to_thread(self.endpoint.refresh)
        except Exception as error:  # noqa: BLE001 - reported by /ready, retried by the refresh thread
            self.endpoint.refresh_error = f"{type(error).__name__}: {str(error)[:200]}"
        self.batcher.start()
        self.writer.start()
        self.endpoint.start_refreshing()
        self.ready = True

    async def stop(self) -> None:
        """Answer what was queued, then write every statistic left (trying until stop_seconds)."""
        self.ready = False
        await self.batcher.stop()
        self.endpoint.stop_refreshing()
        self.written_at_stop = await asyncio.to_thread(self.writer.stop, deadline_seconds=self.options.stop_seconds)

    async def _http(self, scope, receive, send) -> None:
        started = time.perf_counter()
        path, headers, hosts = scope["path"], {}, 0
        for key, value in scope["headers"]:
            name = key.decode("latin-1").lower()
            headers[name] = value.decode("latin-1")
            hosts += name == "host"
        if hosts > 1:
            headers["host"] = ""  # two Host headers: refused as having none that can be trusted
        predicting = path == "/predict"
        ref = self.endpoint.serving.version.ref
        try:
            self._check_host(headers)
            if predicting:
                if scope["method"] != "POST":
                    raise Rejected(405, "POST a JSON body to /predict.", "method")
                self._check_token(headers)
                answer = await self._predict(headers, receive)
                await _respond(send, 200, answer)
                self.stats.request(answer["model"], 200, time.perf_counter() - started)
                return
            if scope["method"] not in ("GET", "HEAD"):
                raise Rejected(405, f"{path} answers GET.", "method")
            if path == "/health":  # liveness: the process answers
                await _respond(send, 200, {"status": "ok", "model": ref})
            elif path == "/ready":  # readiness: started, model loaded, tokens loaded, not stopping
                await self._ready(send, ref)
            elif path == "/metrics":
                self._check_token(headers)
                await self._metrics(scope, headers, send)
            else:
                raise Rejected(404, f"No {path}: the endpoint answers POST /predict, GET /health, /ready and /metrics.",
                               "not_found")
        except Rejected as refused:
            close = refused.status == 413  # the rest of an oversized body is never read
            extra = [(b"www-authenticate", b"Bearer")] if refused.status == 401 else []
            await _respond(send, refused.status, {"error": refused.reason}, close=close, extra=extra)
            if predicting:
                self.stats.request(ref, refused.status, time.perf_counter() - started, refused.kind)
            else:
                self.stats.refused(refused.status, refused.kind)
        except Exception as error:  # noqa: BLE001 - answered as a 500 and counted, the server keeps serving
            await _respond(send, 500, {"error": f"The endpoint failed on this request ({type(error).__name__}); "
                                                "the server's error output has the detail."})
            if predicting:
                self.stats.request(ref, 500, time.perf_counter() - started, "internal")
            else:
                self.stats.refused(500, "internal")
            raise

    async def _predict(self, headers: dict, receive) -> dict:
        _input.check_content_type(headers.get("content-type", ""))
        limit = self.options.max_body_bytes
        _input.declared_length(headers.get("content-length"), limit)
        body = await _input.read_body(receive, limit)
        if len(body) <= _input.PARSE_ON_LOOP_BYTES:
            value = _input.parse(body)
        else:
            value = await asyncio.to_thread(_input.parse, body)
        try:
            return await self.batcher.submit(check_rows(value))
        except InputError as error:
            raise Rejected(422, str(error), "invalid_rows") from None

    def _check_host(self, headers: dict) -> None:
        if self.allowed is None:
            return
        host = headers.get("host")
        if not host:
            raise Rejected(400, "The request has no Host header.", "host")
        if _host_name(host) not in self.allowed:
            raise Rejected(421, f"This endpoint does not answer to Host {host!r} (it answers to "
                                f"{', '.join(sorted(self.allowed))}; start it with --allowed-host NAME to add one).", "host")

    def _check_token(self, headers: dict) -> None:
        if self.options.auth == "off":
            return
        credentials = self.endpoint.credentials
        if not credentials.required:
            return
        scheme, _, token = headers.get("authorization", "").partition(" ")
        if scheme.lower() != "bearer" or not token.strip():
            raise Rejected(401, "Send a token: 'Authorization: Bearer TOKEN' (an admin issues one with "
                                "`python -m core tokens add NAME --role scorer`).", "unauthorized")
        if tokens.digest(token.strip()) not in credentials.holders:
            raise Rejected(401, "Unknown or revoked token, or one that may not score.", "unauthorized")

    async def _ready(self, send, ref: str) -> None:
        endpoint = self.endpoint
        body = {"ready": self.ready, "model": ref, "threshold": endpoint.serving.trained.threshold,
                "predictor": "pipeline" if endpoint.serving.fast is None else "fast (verified identical to the pipeline)",
                "workers": self.options.workers, "refreshed_seconds_ago": round(time.monotonic() - endpoint.refreshed_at, 1),
                "refresh_error": endpoint.refresh_error, "statistics_pending": self.stats.pending()}
        await _respond(send, 200 if body["ready"] else 503, body)

    def snapshot(self) -> dict:
        serving = self.endpoint.serving
        return {"model": serving.version.ref, "threshold": serving.trained.threshold, **self.stats.snapshot()}

    async def _metrics(self, scope, headers: dict, send) -> None:
        query = scope.get("query_string", b"").decode("latin-1")
        accept = headers.get("accept", "")
        wants_text = "format=prometheus" in query or ("text/plain" in accept or "openmetrics" in accept) \
            and "format=json" not in query
        if wants_text:
            await _send(send, 200, prometheus(self.snapshot()).encode("utf-8"), CONTENT_TYPE)
        else:
            await _respond(send, 200, self.snapshot())


async def _respond(send, status: int, body: dict, *, close: bool = False, extra: list = ()) -> None:
    data = json.dumps(body, separators=(",", ":"), allow_nan=False, default=str).encode("utf-8")
    await _send(send, status, data, "application/json", close=close, extra=extra)


async def _send(send, status: int, data: bytes, content_type: str, *, close: bool = False, extra: list = ()) -> None:
    headers = [(b"content-type", content_type.encode()), (b"content-length", str(len(data)).encode()),
               (b"x-content-type-options", b"nosniff"), *extra]
    if close:
        headers.append((b"connection", b"close"))
    await send({"type": "http.response.start", "status": status, "headers": headers})
    await send({"type": "http.response.body", "body": data})


def app(endpoint: Endpoint, options: Optional[Options] = None):
    """The ASGI application (with CORS only when origins are given). Without options: for in-process callers,
    no Host or token check (run() always passes them)."""
    options = options or Options(allowed_hosts=None, auth="off")
    application = App(endpoint, options)
    if not options.cors_origins:
        return application
    from starlette.middleware.cors import CORSMiddleware

    wrapped = CORSMiddleware(application, allow_origins=list(options.cors_origins), allow_methods=["GET", "POST"],
                             allow_headers=["authorization", "content-type"])
    wrapped.endpoint_app = application
    return wrapped
