"""Strict input for the endpoint: the body is refused by its declared size before a byte of it is read, and read
in chunks no further than the limit; its JSON is RFC 8259 only (no NaN or Infinity), with numbers of bounded
length that fit a double, and a refusal (not a crash) for nesting deeper than the parser goes."""
from __future__ import annotations

import json
import math
from typing import Awaitable, Callable

MAX_NUMBER_CHARS = 100  # far beyond any float's 17 significant digits; a 5,000-digit integer is refused, not parsed
PARSE_ON_LOOP_BYTES = 64 * 1024  # larger bodies are parsed in a worker thread, never stalling the event loop


class Rejected(Exception):
    """A request refused with an HTTP status and a reason a person understands; `kind` names it in /metrics."""

    def __init__(self, status: int, reason: str, kind: str):
        super().__init__(reason)
        self.status, self.reason, self.kind = status, reason, kind


def check_content_type(value: str) -> None:
    media, _, params = (value or "").partition(";")
    if media.strip().lower() != "application/json":
        raise Rejected(415, f"Send the body as JSON with 'Content-Type: application/json', not {value or 'none'!r}.",
                       "content_type")
    charset = params.strip().lower()
    if charset and charset.replace(" ", "") not in ("charset=utf-8", "charset=\"utf-8\""):
        raise Rejected(415, f"JSON bodies are UTF-8, not {params.strip()!r}.", "content_type")


def declared_length(value: str | None, limit: int) -> int | None:
    """The Content-Length, refused when it exceeds the limit (413 before reading anything)."""
    if value is None:
        return None
    if not value.strip().isdigit():
        raise Rejected(400, f"Content-Length {value!r} is not a byte count.", "bad_request")
    length = int(value)
    if length > limit:
        raise Rejected(413, f"The body is {length:,} bytes; this endpoint takes at most {limit:,} "
                            "(send fewer rows per request, or start it with a larger --max-body-bytes).", "too_large")
    return length


async def read_body(receive: Callable[[], Awaitable[dict]], limit: int) -> bytes:
    """The body, read chunk by chunk and refused (413) as soon as it passes the limit (a chunked body
    declares no length); the server stops reading from the socket while the app does not ask."""
    chunks, size = [], 0
    while True:
        message = await receive()
        if message["type"] == "http.disconnect":
            raise Rejected(400, "The client went away before sending the whole body.", "disconnected")
        chunk = message.get("body", b"")
        size += len(chunk)
        if size > limit:
            raise Rejected(413, f"The body passed {limit:,} bytes; this endpoint takes at most {limit:,} "
                                "(send fewer rows per request, or start it with a larger --max-body-bytes).", "too_large")
        chunks.append(chunk)
        if not message.get("more_body", False):
            return b"".join(chunks)


def _refuse_constant(name: str) -> None:
    raise Rejected(422, f"{name} is not a JSON number; send null for a missing value.", "invalid_number")


def _float(text: str) -> float:
    if len(text) > MAX_NUMBER_CHARS:
        raise Rejected(422, f"A number of {len(text):,} characters; at most {MAX_NUMBER_CHARS} are accepted.", "invalid_number")
    value = float(text)
    if not math.isfinite(value):
        raise Rejected(422, f"{text} is out of range for a number (beyond ±1.8e308).", "invalid_number")
    return value


def _int(text: str) -> int:
    if len(text) > MAX_NUMBER_CHARS:
        raise Rejected(422, f"An integer of {len(text.lstrip('-')):,} digits; at most {MAX_NUMBER_CHARS} are accepted.",
                       "invalid_number")
    return int(text)


def parse(body: bytes) -> object:
    """Strict JSON: 400 when it is not JSON at all, 422 for what JSON's grammar allows but a model cannot use."""
    try:
        text = body.decode("utf-8")
    except UnicodeDecodeError:
        raise Rejected(400, "The body is not UTF-8 text.", "bad_json") from None
    try:
        return json.loads(text, parse_constant=_refuse_constant, parse_float=_float, parse_int=_int)
    except RecursionError:
        raise Rejected(422, "The JSON is nested too deeply; a request is {\"rows\": [{feature: value, ...}]}.",
                       "too_deep") from None
    except json.JSONDecodeError as error:
        raise Rejected(400, f"The body is not valid JSON ({error.msg} at line {error.lineno}, column {error.colno}).",
                       "bad_json") from None
