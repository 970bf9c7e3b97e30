"""Chunks: the rows a monitor judges together, by size (--chunk-size N) or by time (--timestamp COL
--chunk-period day|week|month). The current set streams out of DuckDB one chunk at a time (memory holds
one or two chunks whatever the table's size); the reference (the model's held-out rows) is small enough
to be chunked in memory, the same way."""
from __future__ import annotations

from dataclasses import dataclass
from typing import Iterator, Optional

import pandas as pd

from core.errors import InputError
from core.lake import Lake

PERIODS = ("day", "week", "month")
MIN_CHUNK_ROWS = 200  # below this a chunk's metrics are mostly sampling noise
MIN_REFERENCE_CHUNKS = 5  # thresholds are mean +- 3 sd over the reference chunks: fewer give no usable sd
MAX_CHUNK_ROWS = 5_000_000
TIME_TYPES = ("DATE", "TIMESTAMP", "TIMESTAMP WITH TIME ZONE", "TIMESTAMP_S", "TIMESTAMP_MS", "TIMESTAMP_NS",
              "TIMESTAMP_US", "TIMESTAMPTZ")
PERIOD_COLUMN = "__period"
ROW_COLUMN = "__row_id"


@dataclass(frozen=True)
class Chunking:
    size: Optional[int]
    timestamp: Optional[str]
    period: Optional[str]

    def describe(self) -> dict:
        return {"size": self.size, "timestamp": self.timestamp, "period": self.period}

    def label(self) -> str:
        return f"chunks of {self.size:,} rows" if self.size else f"{self.period}s of {self.timestamp}"


@dataclass(frozen=True)
class Chunk:
    start: object  # a row position, or an ISO time
    end: object
    frame: pd.DataFrame


def chunking(*, size: Optional[int], timestamp: Optional[str], period: Optional[str]) -> Chunking:
    """The chunking the options ask for, checked before anything is read."""
    if size is not None and period is not None:
        raise InputError("Chunk by size (--chunk-size N) or by time (--timestamp COL --chunk-period P), not both.")
    if size is None and period is None:
        raise InputError(f"Say how to chunk: --chunk-size N (at least {MIN_CHUNK_ROWS} rows) or "
                         f"--timestamp COL --chunk-period {'|'.join(PERIODS)}.")
    if period is not None:
        if period not in PERIODS:
            raise InputError(f"--chunk-period is one of {', '.join(PERIODS)}, not {period!r}.")
        if not timestamp:
            raise InputError("--chunk-period needs the time column: --timestamp COL.")
    if size is not None and not (isinstance(size, int) and MIN_CHUNK_ROWS <= size <= MAX_CHUNK_ROWS):
        raise InputError(f"A chunk holds at least {MIN_CHUNK_ROWS} rows (fewer make each estimate mostly sampling "
                         f"noise) and at most {MAX_CHUNK_ROWS:,}; --chunk-size {size!r} is out of range.")
    return Chunking(size=size, timestamp=timestamp, period=period)


def check_timestamp(described: dict, column: str, label: str) -> None:
    """The time column exists and holds dates or times (not text or numbers that look like them)."""
    if column not in described:
        raise InputError(f"{label} has no column {column!r} for --timestamp; it has {', '.join(list(described)[:30])}.")
    kind = described[column].upper()
    if kind not in TIME_TYPES and not kind.startswith("TIMESTAMP"):
        raise InputError(f"--timestamp {column} is {described[column]} in {label}, not a date or time: chunking by "
                         "time needs a DATE or TIMESTAMP column (convert it when ingesting), or chunk by size with "
                         "--chunk-size N.")


def split_reference(frame: pd.DataFrame, spec: Chunking) -> tuple[list[Chunk], list[dict]]:
    """The reference cut the same way as the current set; returns the chunks and the periods left out as too small."""
    if spec.size:
        frame = frame.sort_values(ROW_COLUMN, kind="stable")  # the index stays: it names each row's place
        chunks, skipped = [], []
        for begin in range(0, len(frame), spec.size):
            part = frame.iloc[begin:begin + spec.size]
            chunks.append(_size_chunk(part, begin, spec))
        if len(chunks) > 1 and len(chunks[-1].frame) < MIN_CHUNK_ROWS:  # a short tail joins the chunk before
            tail = chunks.pop()
            chunks[-1] = _size_chunk(pd.concat([chunks[-1].frame, tail.frame]), chunks[-1].start, spec)
        return chunks, skipped
    periods = _period_starts(frame[spec.timestamp], spec.period)
    chunks, skipped = [], []
    for start, part in frame.assign(**{PERIOD_COLUMN: periods}).sort_values(spec.timestamp).groupby(PERIOD_COLUMN):
        _keep_period(chunks, skipped, start, part.drop(columns=[PERIOD_COLUMN]), spec)
    return chunks, skipped


def stream(lake: Lake, sql: str, params: list, spec: Chunking, *, skipped: list) -> Iterator[Chunk]:
    """The current set's chunks, in order, read as Arrow batches (by size: a short tail joins the chunk before;
    by time: a period below the minimum is left out and noted in `skipped`)."""
    with lake.reading() as cur:
        reader = cur.execute(sql, params).fetch_record_batch(min(spec.size or 100_000, 100_000))
        if spec.size:
            yield from _by_size(reader, spec, skipped)
        else:
            yield from _by_period(reader, spec, skipped)


def _by_size(reader, spec: Chunking, skipped: list) -> Iterator[Chunk]:
    buffer: list[pd.DataFrame] = []
    held, position, buffered = None, 0, 0
    for batch in reader:
        buffer.append(batch.to_pandas())
        buffered += batch.num_rows
        while buffered >= spec.size:
            whole = pd.concat(buffer, ignore_index=True)
            part, rest = whole.iloc[:spec.size], whole.iloc[spec.size:]
            buffer, buffered = [rest], len(rest)
            if held is not None:
                yield held
            held = _size_chunk(part, position, spec)
            position += len(part)
    tail = pd.concat(buffer, ignore_index=True) if buffer else pd.DataFrame()
    if held is None and 0 < len(tail) < MIN_CHUNK_ROWS:  # the whole set is smaller than the smallest chunk
        skipped.append({"start": position, "end": position + len(tail) - 1, "rows": int(len(tail))})
    elif len(tail) >= MIN_CHUNK_ROWS:
        if held is not None:
            yield held
        held = _size_chunk(tail, position, spec)
    elif len(tail) and held is not None:
        held = _size_chunk(pd.concat([held.frame, tail], ignore_index=True), held.start, spec)
    if held is not None:
        yield held


def _by_period(reader, spec: Chunking, skipped: list) -> Iterator[Chunk]:
    current, parts = None, []
    for batch in reader:
        frame = batch.to_pandas()
        for start, part in frame.groupby(PERIOD_COLUMN, sort=False):
            if current is not None and start != current:
                made: list[Chunk] = []
                _keep_period(made, skipped, current, pd.concat(parts, ignore_index=True), spec)
                yield from made
                parts = []
            current = start
            parts.append(part.drop(columns=[PERIOD_COLUMN]))
    if parts:
        made = []
        _keep_period(made, skipped, current, pd.concat(parts, ignore_index=True), spec)
        yield from made


def _size_chunk(part: pd.DataFrame, begin: int, spec: Chunking) -> Chunk:
    if spec.timestamp and len(part):
        times = part[spec.timestamp]
        return Chunk(start=_iso(times.min()), end=_iso(times.max()), frame=part)
    return Chunk(start=int(begin), end=int(begin) + len(part) - 1, frame=part)


def _keep_period(chunks: list, skipped: list, start, part: pd.DataFrame, spec: Chunking) -> None:
    begin = pd.Timestamp(start)
    end = begin + {"day": pd.DateOffset(days=1), "week": pd.DateOffset(weeks=1), "month": pd.DateOffset(months=1)}[spec.period]
    if len(part) < MIN_CHUNK_ROWS:
        skipped.append({"start": _iso(begin), "end": _iso(end), "rows": int(len(part))})
        return
    chunks.append(Chunk(start=_iso(begin), end=_iso(end), frame=part))


def _period_starts(values: pd.Series, period: str) -> pd.Series:
    times = pd.to_datetime(values)
    if period == "day":
        return times.dt.floor("D")
    if period == "week":  # weeks start on Monday, as DuckDB's date_trunc('week', ...)
        return (times - pd.to_timedelta(times.dt.weekday, unit="D")).dt.floor("D")
    return times.dt.to_period("M").dt.to_timestamp()


def _iso(value) -> Optional[str]:
    return None if value is None or pd.isna(value) else pd.Timestamp(value).isoformat()
