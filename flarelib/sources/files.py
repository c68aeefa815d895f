"""Files written whole or not at all, and their SHA-256.

Every artifact of a run (a store's tables, a dataset, a checkpoint, a figure, a chapter's record) is
written under a hidden temporary name in its own folder and renamed into place once complete
(`atomic_path`): a process killed mid-write leaves at most a `.<name>.partial-<token><suffix>` file,
never a half-written file under the real name. The rename is atomic on POSIX file systems
(`os.replace` within one folder). The temporary name keeps the suffix, so writers that choose their
format by it (matplotlib, numpy, xarray) write the same bytes.
"""

from __future__ import annotations

import hashlib
import os
import secrets
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

PARTIAL = ".partial-"  # the mark of a temporary name: `.<stem>.partial-<token><suffix>`
# How long something took, beside what it made: never hashed as an artifact (a run's integrity and a
# chapter's key), so a re-run with the same parameters, which takes other seconds, makes nothing stale.
TIMING_FILE = "timing.json"


def is_partial(path: Path) -> bool:
    """Whether `path` is the temporary name of an unfinished write."""
    return path.name.startswith(".") and PARTIAL in path.name


@contextmanager
def atomic_path(target: str | Path) -> Iterator[Path]:
    """A temporary path beside `target` to write to; renamed to `target` when the block ends
    without error, removed when it raises.

    >>> with atomic_path(folder / "table.csv") as path:
    ...     frame.to_csv(path)
    """
    target = Path(target)
    target.parent.mkdir(parents=True, exist_ok=True)
    temporary = target.with_name(f".{target.stem}{PARTIAL}{os.getpid()}-{secrets.token_hex(4)}{target.suffix}")
    try:
        yield temporary
        with open(temporary, "rb+") as written:  # on disk before the name points at it
            os.fsync(written.fileno())
        os.replace(temporary, target)
    except BaseException:
        temporary.unlink(missing_ok=True)
        raise


def write_text(target: str | Path, text: str) -> Path:
    """`Path.write_text`, atomically."""
    with atomic_path(target) as path:
        path.write_text(text, encoding="utf-8")
    return Path(target)


def sha256_of(path: str | Path) -> str:
    """The file's SHA-256 (hex), read in blocks."""
    with open(path, "rb") as handle:
        return hashlib.file_digest(handle, "sha256").hexdigest()


def written_fault(path: Path, size: int, sha256: str, digest=sha256_of) -> tuple[str, int] | None:
    """How a file differs from the size and SHA-256 recorded when it was written: ("missing", 0),
    ("size", its size now) or ("content", its size); None when it is as written. The size is
    compared first, so a truncated file is never hashed; `digest` may be a cached hash."""
    if not path.is_file():
        return "missing", 0
    now = path.stat().st_size
    if now != size:
        return "size", now
    if digest(path) != sha256:
        return "content", now
    return None
