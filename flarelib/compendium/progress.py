"""What a running chapter is doing, shown on the terminal of `flarelib run`.

A chapter runs in a Jupyter kernel whose output goes into its notebook (and, line by line, into its
`chapter.log`), not to the terminal. So a chapter, or a sweep worker in another process, appends
short lines to `progress.log` in the chapter's folder (`Progress`), and the runner follows that file
while the chapter runs (`follow`), printing each new line. A plain file works across processes and
machines that share the run folder, and it stays behind as a record of the run's pace.
"""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Callable

PROGRESS_FILE = "progress.log"


@dataclass(frozen=True)
class Progress:
    """Appends timestamped lines to a progress file; picklable, so a dask worker can report too.
    With no path it does nothing (a chapter run outside the runner, a test)."""

    path: str | None = None

    def __call__(self, line: str) -> None:
        if self.path is None:
            return
        with open(self.path, "a", encoding="utf-8") as stream:
            stream.write(f"{time.strftime('%H:%M:%S')} {line}\n")


class follow:
    """Context manager: while open, print every line appended to `path` through `log`, polling every
    `interval` seconds; the lines still unread are printed when it closes."""

    def __init__(self, path: Path, log: Callable[[str], None], interval: float = 0.5, prefix: str = "    "):
        self.path, self.log, self.interval, self.prefix = Path(path), log, interval, prefix
        self._offset = 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def __enter__(self) -> "follow":
        self._thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self._stop.set()
        self._thread.join()
        self._read()

    def _run(self) -> None:
        while not self._stop.wait(self.interval):
            self._read()

    def _read(self) -> None:
        if not self.path.exists():
            return
        with open(self.path, "rb") as stream:
            stream.seek(self._offset)
            data = stream.read()
        complete = data[: data.rfind(b"\n") + 1]  # a line still being written waits for the next poll
        self._offset += len(complete)
        for line in complete.decode("utf-8", errors="replace").splitlines():
            self.log(self.prefix + line)


def eta(done: int, total: int, elapsed: float) -> str:
    """Time so far and to go after `done` of `total` equal tasks, e.g. "42 s elapsed, about 98 s to go"
    (the rest at the pace so far)."""
    rest = f", about {elapsed / done * (total - done):.0f} s to go" if 0 < done < total else ""
    return f"{elapsed:.0f} s elapsed{rest}"
