"""Scratch space under the lake (LAKE/tmp/), owned by the process that made it.

Spool folders used to go to the system's /tmp, where a killed job left them for good (seen: four
folders, 210 MB, after kill -9s). Now every scratch folder sits in LAKE/tmp/ and is named after its
owner: `spool-PID-START-RANDOM`, START being the process's start time (clock ticks since boot, from
/proc), so a reused process id is told apart from the owner. Each process that opens the lake also
leaves a marker `open-PID-START`, so that maintenance knows which processes may still be writing.

What belongs to a dead process is debris: `sweep` removes it (at every open of the lake, and from
`doctor --repair`). Nothing owned by a live process is touched.
"""
from __future__ import annotations

import os
import shutil
import uuid
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Iterator, Optional

FOLDER = "tmp"


@dataclass(frozen=True)
class Owner:
    pid: int
    start: str  # start time of the process in clock ticks since boot ("" where /proc is missing)

    @property
    def tag(self) -> str:
        return f"{self.pid}-{self.start or 'x'}"


def _start_of(pid: int) -> Optional[str]:
    """The start time of process `pid`, or None when no such process is running."""
    try:
        text = Path(f"/proc/{pid}/stat").read_text()
    except FileNotFoundError:
        return None
    except OSError:
        return ""
    # the command name (field 2) may hold spaces and parentheses: split after its closing parenthesis
    fields = text.rsplit(")", 1)[-1].split()
    return fields[19] if len(fields) > 19 else ""


def me() -> Owner:
    return Owner(os.getpid(), _start_of(os.getpid()) or "")


def is_alive(pid: int, start: str) -> bool:
    """True while the process that made a scratch entry still runs (same pid, same start time)."""
    if not Path("/proc").is_dir():  # no /proc: fall back to the pid alone
        try:
            os.kill(pid, 0)
        except ProcessLookupError:
            return False
        except PermissionError:
            return True
        return True
    now = _start_of(pid)
    if now is None:
        return False
    return start in ("x", "") or now in ("", start)


def folder(lake_folder: Path) -> Path:
    path = Path(lake_folder) / FOLDER
    path.mkdir(mode=0o700, parents=True, exist_ok=True)
    return path


def spill_folder(lake_folder: Path) -> Path:
    """Where DuckDB spills what does not fit in memory (its default is ./.tmp wherever the process started);
    DuckDB creates it on the first spill. One per process, swept like the rest after the process ends."""
    return folder(lake_folder) / f"duckdb-{me().tag}"


def make_spool(lake_folder: Path, kind: str = "spool") -> Path:
    """A new private folder under LAKE/tmp/, owned by this process; the caller removes it (`remove`)."""
    path = folder(lake_folder) / f"{kind}-{me().tag}-{uuid.uuid4().hex[:8]}"
    path.mkdir(mode=0o700)
    return path


def remove(path: Path) -> None:
    shutil.rmtree(path, ignore_errors=True)


@contextmanager
def spool(lake_folder: Path, kind: str = "spool") -> Iterator[Path]:
    """A private folder under LAKE/tmp/ for the duration of a job, removed afterwards."""
    path = make_spool(lake_folder, kind)
    try:
        yield path
    finally:
        remove(path)


def register_open(lake_folder: Path) -> None:
    """Mark this process as one that has the lake open (see `live_since`)."""
    marker = folder(lake_folder) / f"open-{me().tag}"
    if not marker.exists():
        marker.touch(mode=0o600)


@dataclass(frozen=True)
class Entry:
    path: Path
    pid: int
    start: str
    bytes: int
    alive: bool


def entries(lake_folder: Path) -> list[Entry]:
    """Every spool folder and open-marker under LAKE/tmp/, with its owner and whether the owner runs."""
    base = Path(lake_folder) / FOLDER
    if not base.is_dir():
        return []
    found = []
    for path in sorted(base.iterdir()):
        parts = path.name.split("-")
        if len(parts) < 3 or not parts[1].isdigit():
            continue
        pid, start = int(parts[1]), parts[2]
        size = sum(p.stat().st_size for p in path.rglob("*") if p.is_file()) if path.is_dir() else 0
        found.append(Entry(path, pid, start, size, is_alive(pid, start)))
    return found


def sweep(lake_folder: Path) -> list[Entry]:
    """Remove what dead processes left under LAKE/tmp/; returns what was removed."""
    removed = []
    for entry in entries(lake_folder):
        if entry.alive:
            continue
        if entry.path.is_dir():
            shutil.rmtree(entry.path, ignore_errors=True)
        else:
            entry.path.unlink(missing_ok=True)
        removed.append(entry)
    return removed


def live_since(lake_folder: Path) -> Optional[float]:
    """The earliest time (epoch seconds) at which another process still running opened the lake, or None.

    A file in the lake older than this cannot belong to a running job: each job opens the lake before it
    writes anything."""
    mine = me()
    times = [e.path.stat().st_mtime for e in entries(lake_folder)
             if e.alive and e.path.name.startswith("open-") and (e.pid, e.start) != (mine.pid, mine.start or "x")]
    return min(times) if times else None

