"""Seeded random streams: one independent generator per purpose, so that a draw depends only on the
seed and on what it is for, never on the order in which the code asks."""

from __future__ import annotations

import hashlib

import numpy as np


def rng_for(*key: object) -> np.random.Generator:
    """A generator for `key` (a seed followed by the purpose, e.g. ``rng_for(seed, "split", "SHARP")``).

    The key's repr is hashed with SHA-256: the same key gives the same stream on every machine and
    Python version, and two keys give independent streams."""
    digest = hashlib.sha256(repr(key).encode()).digest()
    return np.random.default_rng(int.from_bytes(digest[:8], "little"))
