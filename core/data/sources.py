"""Checks on a file before it is ingested, and the DuckDB reader for each kind of file.

DuckDB's CSV sniffer is forgiving: on a ragged file it may pick another dialect or skip
rows rather than fail. We fix the dialect ourselves (delimiter from the header line,
double-quote quoting, strict mode) so that a malformed file fails, and on failure scan it
with Python's csv module to say which line is wrong.
"""
from __future__ import annotations

import csv
import gzip
import hashlib
import io
import stat
from collections import Counter
from dataclasses import dataclass
from pathlib import Path
from typing import Literal, Optional

from core.errors import InputError

Kind = Literal["csv", "parquet", "json", "duckdb"]
_SUFFIXES: dict[str, Kind] = {
    ".csv": "csv", ".tsv": "csv", ".txt": "csv", ".parquet": "parquet", ".pq": "parquet",
    ".jsonl": "json", ".ndjson": "json", ".json": "json", ".duckdb": "duckdb", ".db": "duckdb",
}
_DELIMITERS = (",", ";", "\t", "|")
_PROBE_BYTES = 64 * 1024
_SCAN_BYTES = 8 * 1024 * 1024
_MAX_HEADER_CHARS = 1024 * 1024
# Cells read as missing, as pandas does by default: R and spreadsheet exports write NA, N/A or NULL.
NULL_MARKERS = ("", "NA", "N/A", "NaN", "nan", "NULL", "null", "None")


@dataclass(frozen=True)
class Source:
    """A checked file, ready to be read by DuckDB."""
    path: Path
    kind: Kind
    size: int
    delimiter: str = ","
    header: tuple[str, ...] = ()

    def reader_sql(self, *, full_sample: bool = False, as_text: tuple[str, ...] = ()) -> str:
        """The table function that reads this file; the path is the single parameter `?`.
        `as_text`: CSV columns read as VARCHAR whatever the sniffer guessed (see `sniffed_boolean`)."""
        if self.kind == "csv":
            delim = self.delimiter.replace("'", "''")
            sample = ", sample_size=-1" if full_sample else ""
            types = (", types={" + ", ".join(f"'{c.replace(chr(39), chr(39) * 2)}': 'VARCHAR'" for c in as_text) + "}"
                     if as_text else "")
            return (f"read_csv(?, delim='{delim}', quote='\"', escape='\"', header=true, skip=0, "
                    f"strict_mode=true, null_padding=false, nullstr={list(NULL_MARKERS)!r}{sample}{types})")
        if self.kind == "parquet":
            return "read_parquet(?)"
        if self.kind == "json":
            return "read_json(?, format='newline_delimited')"
        raise ValueError("duckdb files are attached, not read with a table function")


def sniffed_boolean(cur, source: Source, *, full_sample: bool = False) -> tuple[str, ...]:
    """CSV columns DuckDB's sniffer would read as BOOLEAN. A user's yes/no, T/F or true/false is their
    category, not a boolean: read as BOOLEAN, `yes` came back as `True` and `--positive yes` no longer
    matched. These columns are read as text so every value round-trips exactly (0/1 stays a number,
    and real BOOLEAN types of Parquet and JSON files are kept)."""
    if source.kind != "csv":
        return ()
    described = cur.execute(f"DESCRIBE SELECT * FROM {source.reader_sql(full_sample=full_sample)}",
                            [str(source.path)]).fetchall()
    return tuple(row[0] for row in described if row[1] == "BOOLEAN")


def detect_kind(path: Path) -> Kind:
    suffixes = [s.lower() for s in path.suffixes]
    if suffixes and suffixes[-1] == ".gz":
        suffixes = suffixes[:-1]
    kind = _SUFFIXES.get(suffixes[-1] if suffixes else "")
    if kind is None:
        raise InputError(
            f"{path.name}: file type {''.join(path.suffixes) or '(none)'} is not supported. "
            "Use CSV (.csv, .tsv), Parquet (.parquet), JSON lines (.jsonl, .json) or a DuckDB file (.duckdb)."
        )
    if path.name.lower().endswith(".gz") and kind not in ("csv", "json"):
        raise InputError(f"{path.name}: only CSV and JSON files may be gzip-compressed.")
    return kind


def check_file(path: Path, *, max_mb: int) -> Source:
    """Refuse a missing, empty, oversized, binary or malformed-header file with a clear message."""
    try:
        found = path.stat()  # follows a link: what counts is what would be read
    except FileNotFoundError:
        raise InputError(f"{path}: no such file (or a link to nothing). Check the path.") from None
    except OSError as exc:
        raise InputError(f"{path}: cannot be read ({exc.strerror}).") from None
    if stat.S_ISDIR(found.st_mode):
        raise InputError(f"{path}: is a folder, not a file.")
    if not stat.S_ISREG(found.st_mode):
        raise InputError(f"{path}: is not a regular file (a device, pipe or socket{', through a link' if path.is_symlink() else ''}); "
                         "save the data to a file and ingest that.")
    kind = detect_kind(path)
    size = found.st_size
    if size == 0:
        raise InputError(f"{path.name}: the file is empty (0 bytes).")
    if size > max_mb * 1024 * 1024:
        raise InputError(
            f"{path.name}: {size / 1024 / 1024:,.0f} MB is over the ingest limit of {max_mb:,} MB "
            "(raise ASSAY_MAX_INGEST_MB, or split the file)."
        )
    if path.name.lower().endswith(".gz"):
        _check_expanded_size(path, max_mb)
    if kind in ("csv", "json"):
        _check_text(path)
    if kind == "json":
        _check_json_lines(path)
    if kind == "parquet":
        _check_parquet_names(path)
    if kind == "csv":
        delimiter, header = _csv_header(path)
        check_column_names(header, source=path.name)
        return Source(path, kind, size, delimiter, tuple(header))
    return Source(path, kind, size)


def _check_expanded_size(path: Path, max_mb: int) -> None:
    """A compressed file is held to the limit by what it expands to (a zip bomb is a few KB on disk):
    decompress as a stream, counting, and stop as soon as the count passes the limit."""
    import gzip
    import zlib

    limit, total = max_mb * 1024 * 1024, 0
    try:
        with gzip.open(path, "rb") as stream:
            while chunk := stream.read(8 * 1024 * 1024):
                total += len(chunk)
                if total > limit:
                    raise InputError(f"{path.name} expands to more than the ingest limit of {max_mb:,} MB "
                                     "(raise ASSAY_MAX_INGEST_MB if this is expected, or split the file).")
    except (OSError, EOFError, zlib.error) as error:
        raise InputError(f"{path.name} is not a readable gzip file ({error}).") from None


def check_column_names(names: list[str] | tuple[str, ...], *, source: str) -> None:
    """Blank or duplicate column names make a table nobody can query reliably: refuse them."""
    for position, name in enumerate(names, start=1):
        if not isinstance(name, str) or not name.strip():
            raise InputError(f"{source}: column {position} has no name. Give every column a name in the header.")
    counts = Counter(str(name).strip().lower() for name in names)
    dupes = sorted(name for name, count in counts.items() if count > 1)
    if dupes:
        raise InputError(
            f"{source}: column name(s) {', '.join(repr(d) for d in dupes)} appear more than once "
            "(names are compared without case). Rename them so every column is unique."
        )


def diagnose_csv(source: Source) -> Optional[str]:
    """Find the first line that does not fit the header, for a useful error message."""
    try:
        with _open_text(source.path) as handle:
            reader = csv.reader(handle, delimiter=source.delimiter, strict=True)
            width = len(next(reader))
            for row in reader:
                if row and len(row) != width:
                    return (f"line {reader.line_num} has {len(row)} field(s) but the header has {width}; "
                            "every row needs the same number of fields as the header")
    except csv.Error as exc:
        return f"line {reader.line_num}: {exc} (check for an unbalanced quote)"
    except UnicodeDecodeError:
        return "the file is not UTF-8 text; save it as UTF-8 and try again"
    return None


def file_digest(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        for block in iter(lambda: handle.read(1024 * 1024), b""):
            digest.update(block)
    return f"sha256:{digest.hexdigest()}"


def _open_text(path: Path) -> io.TextIOBase:
    if path.name.lower().endswith(".gz"):
        return gzip.open(path, "rt", encoding="utf-8", newline="")
    return path.open("r", encoding="utf-8", newline="")


def _check_text(path: Path) -> None:
    """Text only: a NUL byte anywhere (not only in the first 64 KB) marks a binary file. The whole file is
    scanned in 8 MB blocks (memchr speed, a small share of the ingest time)."""
    try:
        with (gzip.open(path, "rb") if path.name.lower().endswith(".gz") else path.open("rb")) as handle:
            probe = handle.read(_PROBE_BYTES)
            offset, block = 0, probe
            while block:
                at = block.find(b"\x00")
                if at >= 0:
                    raise InputError(f"{path.name}: has a NUL byte at byte {offset + at:,}, so it is a binary file, "
                                     "not text. Upload a CSV or JSON lines file.")
                offset += len(block)
                block = handle.read(_SCAN_BYTES)
    except (OSError, EOFError) as exc:
        raise InputError(f"{path.name}: could not be read as gzip ({exc}).") from None
    try:
        probe.decode("utf-8")
    except UnicodeDecodeError as exc:
        if exc.start < len(probe) - 4:  # a character cut at the end of the probe is fine
            raise InputError(f"{path.name}: is not UTF-8 text (byte {exc.start}). Save it as UTF-8.") from None


def _csv_header(path: Path) -> tuple[str, list[str]]:
    try:
        with _open_text(path) as handle:
            first = handle.readline(_MAX_HEADER_CHARS + 1)  # bounded: a 200 MB one-field header is refused, not read
    except UnicodeDecodeError as exc:
        raise InputError(f"{path.name}: the header line is not UTF-8 text (byte {exc.start}). Save it as UTF-8.") from None
    if len(first) > _MAX_HEADER_CHARS:
        raise InputError(f"{path.name}: the header line is longer than {_MAX_HEADER_CHARS // 1024 // 1024} MB; the first "
                         "line must hold the column names (is this a CSV file with a header?).")
    if not first.strip():
        raise InputError(f"{path.name}: the first line is empty; the first line must hold the column names.")
    delimiter = "\t" if ".tsv" in path.name.lower() else _guess_delimiter(first)
    try:
        header = next(csv.reader([first], delimiter=delimiter))
    except csv.Error as exc:
        raise InputError(f"{path.name}: the header line cannot be read ({exc}); check its quotes.") from None
    return delimiter, [name.strip() for name in header]


def _check_json_lines(path: Path) -> None:
    """JSON lines means one object per line. A JSON array, or one object spread over lines, is refused
    (DuckDB would read either as rows and hide the mistake)."""
    import json

    try:
        with _open_text(path) as handle:
            first = ""
            while not first.strip():
                first = handle.readline(_MAX_HEADER_CHARS + 1)
                if not first:
                    raise InputError(f"{path.name}: holds no JSON lines (only blank lines).")
                if len(first) > _MAX_HEADER_CHARS:
                    raise InputError(f"{path.name}: the first line is longer than {_MAX_HEADER_CHARS // 1024 // 1024} MB; "
                                     "JSON lines holds one record (an object) per line.")
    except UnicodeDecodeError as exc:
        raise InputError(f"{path.name}: the first line is not UTF-8 text (byte {exc.start}). Save it as UTF-8.") from None
    text = first.strip()
    if text.startswith("["):
        raise InputError(f"{path.name}: is a JSON array, not JSON lines. Write one object per line "
                         "(for example with `jq -c '.[]'`), then ingest it.")
    try:
        value = json.loads(text)
    except json.JSONDecodeError:
        raise InputError(f"{path.name}: line 1 is not a complete JSON object. JSON lines holds one object per line; "
                         "a pretty-printed JSON document is not accepted (write it with one record per line).") from None
    if not isinstance(value, dict):
        raise InputError(f"{path.name}: line 1 is a JSON {type(value).__name__}, not an object; "
                         "JSON lines holds one object (one record) per line.")


def _check_parquet_names(path: Path) -> None:
    """Column names as stored in the Parquet file: DuckDB would rename duplicates (a, a_1) and blanks silently."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    try:
        names = pq.read_schema(path).names
    except (pa.ArrowException, OSError) as exc:
        raise InputError(f"{path.name}: could not be read as PARQUET ({str(exc).splitlines()[0][:200]}).") from None
    check_column_names(names, source=path.name)


_NESTED_PREFIXES = ("STRUCT", "MAP", "UNION")


def check_column_types(described: list, *, source: str) -> None:
    """Refuse nested columns (STRUCT, LIST, MAP, ARRAY, UNION): profiling, training and export take flat
    tables. `described` is DuckDB's DESCRIBE output (name, type, ...)."""
    for row in described:
        name, kind = str(row[0]), str(row[1]).upper()
        if kind.startswith(_NESTED_PREFIXES) or kind.endswith("]"):
            raise InputError(f"{source}: column {name!r} holds nested values ({str(row[1])[:80]}); Assay takes flat "
                             "tables. Flatten it (one column per field) or store it as text, then ingest again.")


def _guess_delimiter(line: str) -> str:
    unquoted = "".join(part for index, part in enumerate(line.split('"')) if index % 2 == 0)
    counts = {d: unquoted.count(d) for d in _DELIMITERS}
    best = max(counts, key=counts.get)
    return best if counts[best] else ","
