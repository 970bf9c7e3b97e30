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
            return "read_json(?, format='auto')"
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
    if not path.exists():
        raise InputError(f"{path}: no such file. Check the path.")
    if not path.is_file():
        raise InputError(f"{path}: is a folder, not a file.")
    kind = detect_kind(path)
    size = path.stat().st_size
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
    try:
        with (gzip.open(path, "rb") if path.name.lower().endswith(".gz") else path.open("rb")) as handle:
            probe = handle.read(_PROBE_BYTES)
    except (OSError, EOFError) as exc:
        raise InputError(f"{path.name}: could not be read as gzip ({exc}).") from None
    if b"\x00" in probe:
        raise InputError(f"{path.name}: looks like a binary file, not text. Upload a CSV or JSON lines file.")
    try:
        probe.decode("utf-8")
    except UnicodeDecodeError as exc:
        if exc.start < len(probe) - 4:  # a character cut at the end of the probe is fine
            raise InputError(f"{path.name}: is not UTF-8 text (byte {exc.start}). Save it as UTF-8.") from None


def _csv_header(path: Path) -> tuple[str, list[str]]:
    with _open_text(path) as handle:
        first = handle.readline()
    if not first.strip():
        raise InputError(f"{path.name}: the first line is empty; the first line must hold the column names.")
    delimiter = "\t" if ".tsv" in path.name.lower() else _guess_delimiter(first)
    header = next(csv.reader([first], delimiter=delimiter))
    return delimiter, [name.strip() for name in header]


def _guess_delimiter(line: str) -> str:
    unquoted = "".join(part for index, part in enumerate(line.split('"')) if index % 2 == 0)
    counts = {d: unquoted.count(d) for d in _DELIMITERS}
    best = max(counts, key=counts.get)
    return best if counts[best] else ","
