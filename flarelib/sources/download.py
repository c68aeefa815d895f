"""Downloads that resume where they stopped and never keep a truncated or corrupt file.

A file is fetched to `NAME.part`, resumed with an HTTP Range request after an interruption,
checked (length, then a content check such as a complete FITS file) and only then renamed, so a
file in the cache is complete; a cached file that fails the check is fetched again.
"""

from __future__ import annotations

import shutil
import urllib.error
import urllib.request
from dataclasses import dataclass
from pathlib import Path
from typing import Callable, Iterable

from tqdm import tqdm

from flarelib.sources.network import retry

Check = Callable[[Path], None]
CHUNK_BYTES = 1 << 16


@dataclass(frozen=True)
class Fetched:
    path: Path
    status: str  # "cached" | "downloaded" | "replaced"


def _fetch_once(url: str, part: Path, timeout: float) -> None:
    """Append the rest of `url` to `part` (resuming from its size); raise on a short read."""
    have = part.stat().st_size if part.exists() else 0
    request = urllib.request.Request(url, headers={"Range": f"bytes={have}-"} if have else {})
    try:
        response = urllib.request.urlopen(request, timeout=timeout)
    except urllib.error.HTTPError as error:
        if error.code == 416 and have:  # asked past the end: the part file is already complete
            return
        raise
    with response:
        if have and response.status != 206:  # the server ignored the range: start over
            have = 0
        expected = response.headers.get("Content-Length")
        expected = int(expected) if expected is not None else None
        received = 0
        with open(part, "ab" if have else "wb") as out:
            while chunk := response.read(CHUNK_BYTES):
                out.write(chunk)
                received += len(chunk)
        if expected is not None and received < expected:
            raise ConnectionError(f"{url}: connection closed after {received} of {expected} bytes")


def fetch(url: str, target: Path, check: Check | None = None, attempts: int = 4, timeout: float = 60.0,
          sleep: Callable[[float], None] | None = None) -> Fetched:
    """Make `target` a complete, checked copy of `url`, reusing a good cached copy; a download that
    fails the check is discarded and fetched once more from the start ("replaced").

    Parameters
    ----------
    url : the file's address.
    target : where the copy goes.
    check : a verification of a complete copy (raises on a bad one).
    attempts : tries before giving up.
    timeout : seconds per request.
    sleep : the back-off between tries (tests pass a no-op).
    """
    target = Path(target)
    status = "downloaded"
    if target.exists():
        try:
            if check:
                check(target)
            return Fetched(target, "cached")
        except ValueError:
            target.unlink()  # corrupt or truncated in the cache: fetch it again
            status = "replaced"
    target.parent.mkdir(parents=True, exist_ok=True)
    part = target.with_name(target.name + ".part")
    kwargs = {"sleep": sleep} if sleep else {}
    for fresh_tries_left in (1, 0):  # a copy that arrives corrupt is fetched once more from nothing
        retry(lambda: _fetch_once(url, part, timeout), f"download of {url}", attempts=attempts,
              retry_on=(OSError, ConnectionError), **kwargs)
        try:
            if check:
                check(part)
            break
        except ValueError:
            part.unlink()
            if not fresh_tries_left:
                raise
            status = "replaced"
    shutil.move(part, target)
    return Fetched(target, status)


def fetch_all(items: Iterable[tuple[str, Path]], check: Check | None = None, desc: str = "downloading",
              **options) -> list[Fetched]:
    """Fetch many files with a progress bar; what is already complete is not fetched again."""
    items = list(items)
    return [fetch(url, path, check, **options) for url, path in tqdm(items, desc=desc, unit="file", disable=None)]
