"""Fail fast and clearly when a data service cannot be reached, and retry what can."""

from __future__ import annotations

import socket
import time
from typing import Callable, TypeVar
from urllib.parse import urlparse

T = TypeVar("T")

OFFLINE_HINT = "To run offline, use the embedded synthetic world: flarelib run --params demo."


class ServiceUnreachable(ConnectionError):
    """A data service that cannot be reached from this machine."""


def require_service(url: str, what: str, timeout: float = 5.0) -> None:
    """Raise ServiceUnreachable at once if the host of `url` does not resolve or accept a connection."""
    parsed = urlparse(url)
    host, port = parsed.hostname or url, parsed.port or (443 if parsed.scheme == "https" else 80)
    try:
        with socket.create_connection((host, port), timeout=timeout):
            return
    except OSError as error:
        raise ServiceUnreachable(f"cannot reach {what} at {host}:{port} ({error}). {OFFLINE_HINT}") from None


def retry(action: Callable[[], T], what: str, attempts: int = 4, first_wait: float = 2.0,
          retry_on: tuple[type[BaseException], ...] = (OSError,), sleep: Callable[[float], None] = time.sleep) -> T:
    """Run `action`, retrying on transient errors with exponential back-off (2, 4, 8 s ...).

    Parameters
    ----------
    action : what to run.
    what : how an error names it.
    attempts : tries in all.
    first_wait : seconds before the second try (doubled each time).
    retry_on : the exception types worth a retry.
    sleep : how to wait (tests pass a no-op).
    """
    for attempt in range(1, attempts + 1):
        try:
            return action()
        except retry_on as error:
            if attempt == attempts:
                raise ConnectionError(f"{what} failed after {attempts} attempts: {error}") from error
            sleep(first_wait * 2 ** (attempt - 1))
    raise AssertionError("unreachable")
