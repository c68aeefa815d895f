"""The synthetic world's flares: a hazard that rises with Schrijver's R of the true field (at MDI
resolution) and with its growth over a day, a Poisson process in time, GOES-like power-law peak
fluxes, and background flares of unmodelled regions; the catalogue lists them as GOES does, with
the injected imperfections (flares with no region, unknown classes)."""

from __future__ import annotations

import numpy as np
import pandas as pd

from flarelib.goes import flux_to_class
from flarelib.keywords import r_value
from flarelib.seeding import rng_for
from flarelib.sources.synthetic import CADENCE_H, HMI, MDI, Region, WorldSettings, hours, timestamp, true_field


def _hazard(region: Region, steps: np.ndarray, settings: WorldSettings) -> np.ndarray:
    """Flares per day at each step, from R of the true field at MDI resolution and its growth."""
    r = np.array([r_value(true_field(region, s * CADENCE_H, MDI.cdelt_deg), MDI.cdelt_deg) for s in steps])
    lag = int(round(24 / CADENCE_H))
    growth = np.clip(r - np.concatenate([np.full(min(lag, r.size), r[0]), r[:-lag]])[: r.size], 0, None)
    active = np.where(r > 0, settings.flare_rate_active * 10 ** (settings.flare_r_slope * (r - 4.0)), 0.0)
    return (settings.flare_rate_quiet + active) * (1 + settings.flare_growth_gain * growth)


def _events(rng: np.random.Generator, rate_per_day: np.ndarray, steps: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Peak times (hours) and peak fluxes of a Poisson process with a power-law flux distribution."""
    counts = rng.poisson(rate_per_day * CADENCE_H / 24)
    peaks = np.repeat(steps * CADENCE_H, counts) + rng.uniform(0, CADENCE_H, counts.sum())
    # N(>F) ~ F^-0.8 from B1.0 (dN/dF ~ F^-1.8, as GOES flares), capped at X30
    flux = np.minimum(1e-7 * rng.uniform(size=peaks.size) ** (-1 / 0.8), 3e-3)
    return peaks, flux


def flare_catalogue(regions: list[Region], settings: WorldSettings) -> pd.DataFrame:
    """Flares of every region over its whole life (on the disk or not) and from unmodelled regions,
    as the GOES catalogue lists them: times, class string, NOAA region (blank where none)."""
    rng = rng_for(settings.seed, "flares")
    peaks, fluxes, noaa = [], [], []
    for region in regions:
        steps = np.arange(int(region.t_start / CADENCE_H), int(region.t_end / CADENCE_H) + 1)
        p, f = _events(rng, _hazard(region, steps, settings), steps)
        numbers = region.noaa or [0]
        peaks.append(p), fluxes.append(f), noaa.append(rng.choice(numbers, size=p.size))
    span = np.arange(int(hours(MDI.start) / CADENCE_H), int(hours(HMI.end) / CADENCE_H))
    p, f = _events(rng, np.full(span.size, settings.background_flare_rate * len(regions)), span)
    peaks.append(p), fluxes.append(f), noaa.append(np.zeros(p.size, dtype=int))
    peak, flux, ar = np.concatenate(peaks), np.concatenate(fluxes), np.concatenate(noaa).astype(float)
    ar[(ar == 0) | (rng.uniform(size=ar.size) < settings.p_flare_no_region)] = np.nan
    classes = np.array([flux_to_class(x) for x in flux], dtype=object)
    classes[rng.uniform(size=classes.size) < settings.p_flare_unknown_class] = ""
    order = np.argsort(peak)
    peak_time = timestamp(peak[order])
    return pd.DataFrame({
        "start_time": peak_time - pd.to_timedelta(rng.uniform(4, 30, peak.size), unit="min"),
        "peak_time": peak_time,
        "end_time": peak_time + pd.to_timedelta(rng.uniform(8, 60, peak.size), unit="min"),
        "goes_class": classes[order],
        "noaa_ar": pd.array(ar[order], dtype="Int64"),
    })
