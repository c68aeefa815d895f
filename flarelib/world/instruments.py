"""The two instruments of the teaching world and its time axis.

An MDI-like and an HMI-like instrument (pixel scale, point-spread, noise, gain and mission span)
observe the world's regions on the study's 96-minute cadence; `EPOCH` is the series' T_REC epoch.
MDI reads the field 1.10 times as strong as HMI (the world's true factor, which the fusion chapter
recovers; the study found 1.099 with its histograms, Liu et al. 2012 1.40 pixel to pixel), and each
record's calibration and noise scatter around the instrument's: the scatters were fitted to the
study's Figure 2 (co-temporal USFLUXL r = 0.970, MEANGBL r = 0.796).
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
    psf_sigma_px: float
    noise_gauss: float
    gain: float  # calibration relative to the true field
    gain_scatter: float  # record-to-record calibration scatter (sd of ln gain)
    noise_scatter: float  # record-to-record scatter of the noise (sd of its ln): exposures averaged differ
    start: pd.Timestamp
    end: pd.Timestamp


MDI = Instrument("MDI", "SMARP", "TARP", 0.12, 1.6, 20.0, 1.10, 0.20, 0.50, pd.Timestamp("1996-04-23"), pd.Timestamp("2010-10-28"))
HMI = Instrument("HMI", "SHARP", "HARP", 0.03, 0.9, 7.0, 1.00, 0.05, 0.0, pd.Timestamp("2010-05-01"), pd.Timestamp("2020-12-01"))
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


def noise(seed: int, instrument: Instrument, rng: np.random.Generator, shape: tuple[int, int]) -> np.ndarray:
    """The instrument's noise for one record: a slice, at a random offset, of a bank of 4 million
    Gaussian draws made once per world and instrument (drawing every pixel anew costs more than
    the rest of a record; slices at random offsets are as good as fresh draws for a teaching world)."""
    key = (seed, instrument.name)
    if key not in _BANKS:
        _BANKS[key] = rng_for(seed, "noise bank", instrument.name).standard_normal(BANK_SIZE, dtype=np.float32) * np.float32(instrument.noise_gauss)
    size = shape[0] * shape[1]
    bank = _BANKS[key]
    if size > bank.size:
        return rng.standard_normal(shape, dtype=np.float32) * np.float32(instrument.noise_gauss)
    start = int(rng.integers(0, bank.size - size + 1))
    return bank[start : start + size].reshape(shape)
