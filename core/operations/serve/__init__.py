"""The real-time endpoint: `python -m core serve --model NAME@ALIAS --port P` answers JSON prediction
requests (our ASGI application on uvicorn with httptools).

POST /predict {"rows": [{feature: value, ...}, ...]} -> {"model", "threshold", "predictions": [{"prediction",
"probability"}]}. Requests that arrive together are predicted together in one call of the model, in worker
threads off the event loop (adaptive micro-batching, `--max-batch-rows`, `--max-wait-ms`); a prediction is the
same whichever batch it was in. A binary model's prediction is its decision at the version's threshold.

Input is strict: Host among the allowed names (DNS rebinding), a bearer token once the lake has accounts or
tokens (`tokens add NAME --role scorer`), `Content-Type: application/json`, a body of at most
`--max-body-bytes` (413, refused by its declared length or as soon as it passes), RFC 8259 JSON (422 for NaN,
Infinity, out-of-range numbers, too many digits, deep nesting), each row checked against the model's signature.
GET /health (alive), GET /ready (started and not stopping), GET /metrics (JSON, or Prometheus' text format when
asked by Accept or ?format=prometheus); none of them, and no request, touches the lake. The alias is
resolved again every few seconds in the background, so promoting a new champion switches the endpoint without
a restart. Statistics (latency, rows, errors, decisions, input summaries for drift) are kept in memory and written
to the lake as `serve` jobs by a background thread that retries; SIGTERM or SIGINT answers what is in flight,
writes what is left and returns the final summary.
"""
from __future__ import annotations

import contextlib
import signal
import threading
from dataclasses import replace

from core.errors import InputError
from core.lake import Lake, permissions
from core.operations.serve._app import LOCAL_HOSTS, App, Options, app
from core.operations.serve._endpoint import MAX_ROWS, Endpoint

RESOLVE_SECONDS = 5.0

__all__ = ["Endpoint", "MAX_ROWS", "Options", "RESOLVE_SECONDS", "app", "run"]


def _server_class():
    import uvicorn

    class Server(uvicorn.Server):
        """uvicorn re-raises SIGTERM/SIGINT after its graceful stop, killing the process before the CLI prints
        its final JSON; this one stops as gracefully and returns, remembering the signal."""

        @contextlib.contextmanager
        def capture_signals(self):
            if threading.current_thread() is not threading.main_thread():
                yield
                return
            original = {sig: signal.signal(sig, self.handle_exit) for sig in (signal.SIGINT, signal.SIGTERM)}
            try:
                yield
            finally:
                for sig, handler in original.items():
                    signal.signal(sig, handler)

    return Server


def run(lake: Lake, model_ref: str, *, port: int, actor: str, host: str = "127.0.0.1",
        options: Options | None = None) -> dict:
    """Serve until SIGTERM or SIGINT; returns what was served and whether every statistic reached the lake."""
    import uvicorn

    if not 1024 <= port <= 65535:
        raise InputError(f"Use a port from 1024 to 65535, not {port}.")
    permissions.require(lake, actor, "serve")
    options = options or Options()
    if options.allowed_hosts is not None and "*" in options.allowed_hosts:
        options = replace(options, allowed_hosts=None)
    elif options.allowed_hosts is not None:
        options = replace(options, allowed_hosts=tuple(dict.fromkeys((host, *LOCAL_HOSTS, *options.allowed_hosts))))
    endpoint = Endpoint(lake, model_ref, actor)
    application = app(endpoint, options)
    inner: App = getattr(application, "endpoint_app", application)
    config = uvicorn.Config(application, host=host, port=port, log_level="warning", access_log=False,
                            lifespan="on", server_header=False, timeout_graceful_shutdown=30, backlog=2048)
    server = _server_class()(config)
    server.run()
    snapshot = inner.snapshot()
    stopped_by = [signal.Signals(s).name for s in getattr(server, "_captured_signals", [])]
    return {"model": snapshot["model"], "requests": snapshot["requests"], "errors": snapshot["errors"],
            "rows": snapshot["rows"], "predict_calls": snapshot["predict_calls"],
            "signal": stopped_by[0] if stopped_by else None,
            "statistics_written": bool(inner.written_at_stop), **{f"statistics_{k}": v for k, v in
                                                                   snapshot["statistics"].items()}}
