"""Where the lake lives: folder, catalog and data path, from environment or a config file.

Precedence: explicit arguments (the CLI's --lake), then environment variables, then
`assay.toml` in the lake folder (or the file named by ASSAY_CONFIG), then defaults.

    ASSAY_LAKE        folder of the lake (default: data/lake in the project)
    ASSAY_CATALOG     'sqlite:PATH' (default: LAKE/catalog.sqlite) or
                      'postgres:dbname=assay host=... user=...' (password from PGPASSWORD)
    ASSAY_DATA_PATH   where Parquet files go: a folder (default: LAKE/files/) or s3://bucket/prefix/
    ASSAY_MAX_INGEST_MB  largest file accepted for ingest (default 2048)
    ASSAY_MEMORY_LIMIT   DuckDB's memory limit per process: a size (4GB, 512MiB) or a share of memory (40%);
                         default 40% of the smaller of physical memory, the cgroup limit and the address-space limit
    ASSAY_THREADS        DuckDB threads per process (default: the CPUs this process may use)
    ASSAY_QUERY_SECONDS  longest an interactive query (a feature preview) may run (default 30)

S3 credentials come from AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY, AWS_SESSION_TOKEN,
AWS_REGION and AWS_ENDPOINT_URL; they are never written to the lake or to logs.
"""
from __future__ import annotations

import os
import tomllib
from dataclasses import dataclass
from pathlib import Path
from typing import Mapping, Optional

from core.errors import InputError

PROJECT_ROOT = Path(__file__).resolve().parents[1]
DEFAULT_LAKE = PROJECT_ROOT / "data" / "lake"
_FILE_KEYS = {"catalog", "data_path", "max_ingest_mb"}
_FILE_KEYS |= {"memory_limit", "threads", "query_seconds"}  # resource limits (see _limits)


@dataclass(frozen=True)
class LakeConfig:
    folder: Path
    catalog: str  # 'sqlite:/abs/path' or 'postgres:<libpq connection string>'
    data_path: str  # folder ending in '/' or s3://.../
    max_ingest_mb: int = 2048
    memory_limit_bytes: int = 0  # 0: DuckDB's own default; load_config always sets it
    threads: int = 0
    query_seconds: float = 30.0

    @property
    def uses_s3(self) -> bool:
        return self.data_path.startswith("s3://")

    @property
    def catalog_kind(self) -> str:
        return self.catalog.split(":", 1)[0]

    def describe(self) -> dict:
        """What the lake is, for display: no secrets (a Postgres password never appears here)."""
        catalog = self.catalog
        if self.catalog_kind == "postgres":
            parts = [p for p in catalog.split(":", 1)[1].split() if not p.lower().startswith("password=")]
            catalog = "postgres:" + " ".join(parts)
        return {"folder": str(self.folder), "catalog": catalog, "data_path": self.data_path}


def load_config(lake: Optional[str | Path] = None, env: Optional[Mapping[str, str]] = None) -> LakeConfig:
    env = os.environ if env is None else env
    folder = Path(lake or env.get("ASSAY_LAKE") or DEFAULT_LAKE).expanduser().resolve()
    file_values = _read_config_file(Path(env["ASSAY_CONFIG"]) if env.get("ASSAY_CONFIG") else folder / "assay.toml")
    catalog = env.get("ASSAY_CATALOG") or file_values.get("catalog") or f"sqlite:{folder / 'catalog.sqlite'}"
    data_path = env.get("ASSAY_DATA_PATH") or file_values.get("data_path") or str(folder / "files")
    if not data_path.endswith("/"):
        data_path += "/"
    if catalog.split(":", 1)[0] not in ("sqlite", "postgres") or ":" not in catalog:
        raise InputError(f"Catalog {catalog.split(':', 1)[0]!r} is not supported: use 'sqlite:PATH' or 'postgres:dbname=...'.")
    raw_limit = env.get("ASSAY_MAX_INGEST_MB") or file_values.get("max_ingest_mb") or 2048
    try:
        limit = int(raw_limit)
    except (TypeError, ValueError):
        raise InputError(f"ASSAY_MAX_INGEST_MB must be a whole number of megabytes, not {raw_limit!r}.") from None
    return LakeConfig(folder=folder, catalog=catalog, data_path=data_path, max_ingest_mb=limit,
                      **_limits(env, file_values))


DEFAULT_MEMORY_SHARE = 0.4


def _limits(env: Mapping[str, str], file_values: dict) -> dict:
    """DuckDB's memory limit and threads, and the interactive query time limit: environment, then
    assay.toml, then defaults from the machine."""
    def setting(variable: str, key: str):
        value = env.get(variable)
        return value if value not in (None, "") else file_values.get(key)

    memory = setting("ASSAY_MEMORY_LIMIT", "memory_limit")
    threads = setting("ASSAY_THREADS", "threads")
    seconds = setting("ASSAY_QUERY_SECONDS", "query_seconds")
    cpus = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else (os.cpu_count() or 1)
    try:
        threads = int(threads) if threads is not None else cpus
        seconds = float(seconds) if seconds is not None else 30.0
    except (TypeError, ValueError):
        raise InputError(f"ASSAY_THREADS must be a whole number and ASSAY_QUERY_SECONDS a number of seconds, "
                         f"not {threads!r} and {seconds!r}.") from None
    if not 1 <= threads <= 1024:
        raise InputError(f"ASSAY_THREADS must be between 1 and 1024, not {threads}.")
    if not 0 < seconds <= 86_400:
        raise InputError(f"ASSAY_QUERY_SECONDS must be more than 0 and at most 86400, not {seconds}.")
    return {"memory_limit_bytes": _memory_bytes(memory), "threads": threads, "query_seconds": seconds}


_UNITS = {"": 1, "B": 1, "KB": 10**3, "MB": 10**6, "GB": 10**9, "TB": 10**12,
          "KIB": 2**10, "MIB": 2**20, "GIB": 2**30, "TIB": 2**40}


def _memory_bytes(value) -> int:
    """A memory limit in bytes from '4GB', '512MiB', '40%' (of the memory this process can have) or None."""
    import re

    available = usable_memory()
    if value is None:
        return int(available * DEFAULT_MEMORY_SHARE)
    text = str(value).strip().upper()
    match = re.fullmatch(r"(\d+(?:\.\d+)?)\s*(%|[KMGT]I?B|B)?", text)
    if not match:
        raise InputError(f"ASSAY_MEMORY_LIMIT {value!r} is not a size: write e.g. 4GB, 512MiB or 40%.")
    number, unit = float(match.group(1)), match.group(2) or ""
    if unit == "%" and not 0 < number <= 100:
        raise InputError(f"ASSAY_MEMORY_LIMIT {value!r}: a share of memory is between 0% and 100%.")
    size = int(available * number / 100) if unit == "%" else int(number * _UNITS[unit])
    if size < 64 * 2**20:
        raise InputError(f"ASSAY_MEMORY_LIMIT {value!r} is below 64MiB; DuckDB needs at least that much.")
    return size


def usable_memory() -> int:
    """Bytes this process can use: physical memory, lowered by a cgroup limit and an address-space limit."""
    import resource

    sizes = [os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES")]
    try:
        text = Path("/sys/fs/cgroup/memory.max").read_text().strip()
        if text.isdigit():
            sizes.append(int(text))
    except OSError:
        pass
    soft, _ = resource.getrlimit(resource.RLIMIT_AS)
    if soft != resource.RLIM_INFINITY:
        sizes.append(soft)
    return min(sizes)


def _read_config_file(path: Path) -> dict:
    if not path.is_file():
        return {}
    try:
        values = tomllib.loads(path.read_text())
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
        raise InputError(f"Config file {path} is not valid TOML: {exc}") from None
    unknown = set(values) - _FILE_KEYS
    if unknown:
        raise InputError(f"Config file {path} has unknown keys {sorted(unknown)}; allowed: {sorted(_FILE_KEYS)}.")
    return values


SECRET_VARIABLES = ("AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN", "PGPASSWORD", "ASSAY_OIDC_CLIENT_SECRET")


def redact(text: str, env: Optional[Mapping[str, str]] = None) -> str:
    """A message with secrets taken out: libpq `password=...` settings, URL passwords, and the values
    of the secret environment variables. Applied to every error the CLI prints and the app shows."""
    import re

    env = os.environ if env is None else env
    text = re.sub(r"(?i)(password\s*=\s*)('[^']*'|\S+)", r"\1***", text)
    text = re.sub(r"(://[^:/@\s]+:)[^@\s]+@", r"\1***@", text)
    for name in SECRET_VARIABLES:
        value = env.get(name)
        if value and len(value) >= 4:
            text = text.replace(value, "***")
    return text
