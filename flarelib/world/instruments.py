"""The two instruments of the teaching world and its time axis.

An MDI-like and an HMI-like instrument (series, pixel scale and mission span) observe the world's
regions on the study's 96-minute cadence; `EPOCH` is the series' T_REC epoch. What their optics and
detectors do to the field (point-spread, noise, gain and the records' scatter around them) is a
world's setting (`WorldSettings.optics`): MDI reads the field `mdi_gain` = 1.10 times as strong as
HMI, the world's true factor, which the fusion chapter recovers.
A record whose QUALITY has `BAD_QUALITY` set is unusable, as the study's filters read it.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from flarelib.seeding import rng_for

EPOCH = pd.Timestamp("1993-01-01 00:00:00")  # T_REC epoch of the 96-minute series (TAI; UTC here)
CADENCE_H = 1.6
MDI_GAP = (pd.Timestamp("1998-06-25"), pd.Timestamp("1998-10-20"))  # SOHO lost, as in the real record
BAD_QUALITY = 0x00010000  # the quality bit that marks a record unusable in this world


@dataclass(frozen=True)
class Instrument:
    name: str
    series: str  # SMARP | SHARP
    prefix: str  # TARP | HARP
    cdelt_deg: float  # CEA pixel
    start: pd.Timestamp
    end: pd.Timestamp


MDI = Instrument("MDI", "SMARP", "TARP", 0.12, pd.Timestamp("1996-04-23"), pd.Timestamp("2010-10-28"))
HMI = Instrument("HMI", "SHARP", "HARP", 0.03, pd.Timestamp("2010-05-01"), pd.Timestamp("2020-12-01"))
INSTRUMENTS = {"MDI": MDI, "HMI": HMI}


def hours(when: pd.Timestamp) -> float:
    return (when - EPOCH) / pd.Timedelta(hours=1)


def step_time(steps: np.ndarray | int) -> pd.DatetimeIndex:
    """T_REC of 96-minute steps, exact (integer minutes from the epoch)."""
    return EPOCH + pd.to_timedelta(np.atleast_1d(steps).astype(np.int64) * 96, unit="min")


def timestamp(h: np.ndarray | float) -> pd.DatetimeIndex:
    return EPOCH + pd.to_timedelta(np.atleast_1d(h), unit="h")


_BANKS: dict[tuple, np.ndarray] = {}
BANK_SIZE = 1 << 22


def noise(seed: int, instrument: Instrument, gauss: float, rng: np.random.Generator, shape: tuple[int, int]) -> np.ndarray:
    """The instrument's noise for one record: a slice, at a random offset, of a bank of 4 million
    Gaussian draws made once per world, instrument and noise level (drawing every pixel anew costs more
    than the rest of a record; slices at random offsets are as good as fresh draws for a teaching world).

    Parameters
    ----------
    seed : the world's seed, which seeds the bank.
    instrument : whose noise.
    gauss : its standard deviation (G), the world's `WorldSettings.optics(...).noise_gauss`.
    rng : the record's stream, which draws the offset.
    shape : the record's pixels.
    """
    key = (seed, instrument.name, gauss)
    if key not in _BANKS:
        _BANKS[key] = rng_for(seed, "noise bank", instrument.name).standard_normal(BANK_SIZE, dtype=np.float32) * np.float32(gauss)
    size = shape[0] * shape[1]
    bank = _BANKS[key]
    if size > bank.size:
        return rng.standard_normal(shape, dtype=np.float32) * np.float32(gauss)
    start = int(rng.integers(0, bank.size - size + 1))
    return bank[start : start + size].reshape(shape)
