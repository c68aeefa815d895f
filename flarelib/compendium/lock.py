"""One run per run folder: a second `flarelib run` on a folder in use refuses at once.

The lock is an advisory `flock` on `<run folder>/.lock`, which the operating system releases when
its holder exits, however it exits; the file also holds who took it (process, host, start time).
So a run finding the lock taken names the run that holds it, and a run finding the file's record
but no lock knows its writer was killed: the record is stale and the new run takes over, saying so.
"""

from __future__ import annotations

import fcntl
import json
import os
import socket
from datetime import datetime, timezone
from pathlib import Path
from typing import Callable

LOCK_FILE = ".lock"


class FolderInUse(RuntimeError):
    """Another run holds the run folder."""


class RunLock:
    """Context manager holding a run folder's lock for the length of a run."""

    def __init__(self, run_dir: Path, log: Callable[[str], None] = print):
        self.path = Path(run_dir) / LOCK_FILE
        self.log = log
        self._fd: int | None = None

    def __enter__(self) -> "RunLock":
        self.path.parent.mkdir(parents=True, exist_ok=True)
        fd = os.open(self.path, os.O_RDWR | os.O_CREAT, 0o644)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            holder = _read(fd)
            os.close(fd)
            raise FolderInUse(f"{self.path.parent} is in use by another flarelib run: {describe_holder(holder)}. Wait for it "
                              "to finish, stop it, or give this run another --run-dir.") from None
        stale = _read(fd)
        if stale:
            self.log(f"Taking over {self.path}: its last holder ({describe_holder(stale)}) is no longer running.")
        record = {"pid": os.getpid(), "host": socket.gethostname(),
                  "started": datetime.now(timezone.utc).isoformat(timespec="seconds")}
        os.ftruncate(fd, 0)
        os.pwrite(fd, json.dumps(record).encode(), 0)
        self._fd = fd
        return self

    def __exit__(self, *exc) -> None:
        if self._fd is None:
            return
        os.ftruncate(self._fd, 0)  # a clean exit leaves no record behind
        fcntl.flock(self._fd, fcntl.LOCK_UN)
        os.close(self._fd)
        self._fd = None


def _read(fd: int) -> dict:
    text = os.pread(fd, 4096, 0).decode(errors="replace").strip()
    try:
        return json.loads(text) if text else {}
    except json.JSONDecodeError:
        return {"unreadable": text[:80]}


def describe_holder(holder: dict) -> str:
    """Who holds a lock, e.g. "process 4242 on host x, started 2026-11-25T21:00:00+00:00"."""
    if not holder or "pid" not in holder:
        return "a run that left no readable record"
    return f"process {holder['pid']} on host {holder.get('host', '?')}, started {holder.get('started', '?')}"
