"""Writing a file a user named (`--out`): the one way every command writes outside the lake.

A user-named path is hostile until checked (seen: `scorecard ... --out LINK.html`, LINK pointing at the
lake's catalog.sqlite, replaced the catalog with HTML). So an output
- never follows a symbolic link in its last component (checked with lstat, and the new file is linked
  into place by name, never opened through the old one);
- never replaces an existing file unless `force` is given;
- is written to a temporary file in the same folder and renamed, so a crash leaves the old file or none,
  never half of one, and a hard link to a precious file is unlinked rather than overwritten;
- never lands inside the lake folder, its data path, its artifacts or its catalog files (all compared
  after resolving links in the folders).
"""
from __future__ import annotations

import os
import stat
import tempfile
from pathlib import Path

from core.errors import InputError

_OTHERS_UMASK_DEFAULT = 0o022


def protected_paths(lake) -> list[Path]:
    """The folders and files an output must never touch: the lake folder, a local data path, the catalog."""
    config = lake.config
    paths = [Path(config.folder).resolve()]
    if not config.uses_s3:
        paths.append(Path(config.data_path).resolve())
    if config.catalog_kind == "sqlite":
        catalog = Path(config.catalog.split(":", 1)[1]).resolve()
        paths += [catalog, catalog.with_name(catalog.name + "-wal"), catalog.with_name(catalog.name + "-shm")]
    return paths


def check_output(path: str | Path, *, lake, force: bool = False) -> Path:
    """The absolute path to write `path` to, or an InputError saying why it may not be written."""
    if not str(path).strip():
        raise InputError("Name the output file (--out FILE).")
    given = Path(os.path.abspath(Path(path).expanduser()))  # no link resolved yet: the last part stays as named
    if given.name in ("", ".", ".."):
        raise InputError(f"{path}: name a file, not a folder.")
    if not given.parent.is_dir():
        raise InputError(f"The folder {given.parent} does not exist; create it first or choose another path.")
    target = given.parent.resolve() / given.name
    for protected in protected_paths(lake):
        if target == protected or protected in target.parents:
            raise InputError(f"{path}: an output may not be written inside the lake ({protected}); "
                             "choose a path outside the lake folder.")
    try:
        found = os.lstat(target)
    except FileNotFoundError:
        return target
    if stat.S_ISLNK(found.st_mode):
        raise InputError(f"{path} is a symbolic link; outputs never follow links. Remove the link or choose another name.")
    if not stat.S_ISREG(found.st_mode):
        raise InputError(f"{path} exists and is not a regular file (a folder, device or pipe); choose another name.")
    if not force:
        raise InputError(f"{path} already exists; pass --force to replace it, or choose another name.")
    return target


def write_output(path: str | Path, data: bytes, *, lake, force: bool = False) -> Path:
    """Write `data` to `path` under the rules above; returns the path written."""
    target = check_output(path, lake=lake, force=force)
    handle, temporary = tempfile.mkstemp(prefix=f".{target.name}.", suffix=".part", dir=target.parent)
    try:
        with os.fdopen(handle, "wb") as stream:
            os.fchmod(stream.fileno(), 0o666 & ~_umask())
            stream.write(data)
            stream.flush()
            os.fsync(stream.fileno())
        if force:
            os.replace(temporary, target)  # rename replaces a name: a link at the target is replaced, not followed
        else:
            try:
                os.link(temporary, target)  # fails if the name appeared since the check: never overwrite
            except FileExistsError:
                raise InputError(f"{path} was created by someone else meanwhile; pass --force to replace it.") from None
            except OSError:  # a file system without hard links: check again, then rename
                check_output(target, lake=lake, force=False)
                os.replace(temporary, target)
            else:
                os.unlink(temporary)
    except BaseException:
        try:
            os.unlink(temporary)
        except FileNotFoundError:
            pass
        raise
    return target


def _umask() -> int:
    """The process umask, read without changing it (os.umask would race with other threads)."""
    try:
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith("Umask:"):
                return int(line.split()[1], 8)
    except (OSError, ValueError, IndexError):
        pass
    return _OTHERS_UMASK_DEFAULT
