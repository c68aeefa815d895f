"""The synthetic world's flares.

M1.0+ flares come at a rate set by what makes real regions flare, only part of which the study's
four keywords see: the field gradient across the strongest polarity inversion line (the sum of
two opposite poles' peak fields over their distance; the keywords see it through R_VALUE and
MEANGBL, blurred), the region's flux (USFLUXL), the flux's growth over the last day (visible only
in the sequence), a shear that no keyword sees (fixed per region), and bursts of activity that come
and go within a day. Flares of every class follow, with GOES-like power-law peak fluxes, as a
Poisson process in time; the catalogue lists them as GOES does, with the injected imperfections
(flares with no region, unknown classes) and background flares of unmodelled regions.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from flarelib.goes import flux_to_class
from flarelib.seeding import rng_for
from flarelib.sources.bipoles import SIZE_FACTOR, peak_field, peak_offset
from flarelib.sources.synthetic import CADENCE_H, HMI, MDI, Region, WorldSettings, hours, timestamp

RSUN_CM = 6.96e10
FLUX_PER_B0_RHO2 = SIZE_FACTOR**3 * np.sqrt(np.pi / 2) * RSUN_CM**2  # Eq. 18's unsigned flux / (B0 rho^2)


def drivers(region: Region, steps: np.ndarray) -> pd.DataFrame:
    """The region's visible drivers at each step: inversion-line gradient (G per radian), unsigned
    flux (Mx) and its growth over 24 hours (dex of flux + 1e21 Mx, zero when shrinking)."""
    t = steps * CADENCE_H
    poles = []  # (polarity field at each step, position of each step) per pole
    flux = np.zeros(t.size)
    for bipole in region.bipoles:
        amplitude, rho = bipole.state(t)
        flux += FLUX_PER_B0_RHO2 * np.abs(amplitude) * rho**2
        offset = peak_offset(rho)
        axis = np.array([np.cos(bipole.tilt), np.sin(bipole.tilt)])
        centre = np.deg2rad([bipole.dlon, bipole.dlat])
        for side in (1.0, -1.0):  # the leading pole (at +axis) has the sign of -B0
            position = centre[None, :] + side * offset[:, None] * axis[None, :]
            poles.append((-side * peak_field(amplitude), position))
    gradient = np.zeros(t.size)
    for i, (field_i, at_i) in enumerate(poles):
        for field_j, at_j in poles[i + 1:]:
            opposite = field_i * field_j < 0
            distance = np.maximum(np.hypot(*(at_i - at_j).T), np.deg2rad(0.5))
            gradient = np.maximum(gradient, np.where(opposite, (np.abs(field_i) + np.abs(field_j)) / distance, 0.0))
    lag = int(round(24 / CADENCE_H))
    earlier = np.concatenate([np.full(min(lag, flux.size), flux[0]), flux[:-lag]])[: flux.size]
    # growth in dex, with 1e21 Mx added to both so that a region's first appearance is not infinite growth
    growth = np.clip(np.log10((flux + 1e21) / (earlier + 1e21)), 0.0, None)
    return pd.DataFrame({"gradient": gradient, "flux": flux, "growth": growth})


def _bursts(rng: np.random.Generator, n: int, settings: WorldSettings) -> np.ndarray:
    """An AR(1) series (dex) of unit correlation time `burst_hours`: activity that comes and goes."""
    keep = np.exp(-CADENCE_H / settings.burst_hours)
    shocks = rng.normal(0.0, settings.burst_sigma * np.sqrt(1 - keep**2), n)
    out = np.empty(n)
    level = rng.normal(0.0, settings.burst_sigma)
    for i in range(n):
        level = keep * level + shocks[i]
        out[i] = level
    return out


def m_rate(region: Region, steps: np.ndarray, settings: WorldSettings, rng: np.random.Generator) -> np.ndarray:
    """M1.0+ flares per day at each step (the hidden shear and the bursts included)."""
    d = drivers(region, steps)
    active = (d.gradient > 0) & (d.flux > 0)
    log_rate = (np.log10(settings.flare_rate_m)
                + settings.gradient_power * np.log10(np.maximum(d.gradient, 1.0) / settings.gradient_ref)
                + settings.flux_power * np.log10(np.maximum(d.flux, 1.0) / settings.flux_ref)
                + settings.emergence_gain * d.growth + region.shear + _bursts(rng, steps.size, settings))
    return np.where(active, np.minimum(10 ** log_rate.to_numpy(), settings.max_rate_m), 0.0)


def _power_law_fluxes(rng: np.random.Generator, n: int) -> np.ndarray:
    """Peak fluxes with N(>F) ~ F^-0.8 from B1.0 (dN/dF ~ F^-1.8, as GOES flares), capped at X30."""
    return np.minimum(1e-7 * rng.uniform(size=n) ** (-1 / 0.8), 3e-3)


def _events(rng: np.random.Generator, rate_per_day: np.ndarray, steps: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Peak times (hours) and peak fluxes of a Poisson process with a power-law flux distribution."""
    counts = rng.poisson(rate_per_day * CADENCE_H / 24)
    peaks = np.repeat(steps * CADENCE_H, counts) + rng.uniform(0, CADENCE_H, counts.sum())
    return peaks, _power_law_fluxes(rng, peaks.size)


def _depleting_events(rng: np.random.Generator, rate_per_day: np.ndarray, steps: np.ndarray,
                      settings: WorldSettings) -> tuple[np.ndarray, np.ndarray]:
    """As `_events`, but each M1.0+ flare spends free energy: the rate drops by the factor
    `depletion` and recovers with the time constant `recovery_hours`. So a region flares in
    episodes, as real regions do, rather than at a steady rate for as long as it lives."""
    peaks, fluxes = [], []
    level, recover = 1.0, np.exp(-CADENCE_H / settings.recovery_hours)
    expected = rate_per_day * CADENCE_H / 24
    for i in range(steps.size):
        level = 1.0 - (1.0 - level) * recover
        n = rng.poisson(expected[i] * level) if expected[i] > 0 else 0
        if n:
            flux = _power_law_fluxes(rng, n)
            peaks.append(steps[i] * CADENCE_H + rng.uniform(0, CADENCE_H, n)), fluxes.append(flux)
            level *= settings.depletion ** int((flux >= 1e-5).sum())
    if not peaks:
        return np.zeros(0), np.zeros(0)
    return np.concatenate(peaks), np.concatenate(fluxes)


def _small_events(rng: np.random.Generator, region: Region, steps: np.ndarray,
                  settings: WorldSettings) -> tuple[np.ndarray, np.ndarray]:
    """B- and C-class flares that any region with flux makes (`small_flare_rate` per day), apart
    from the inversion-line hazard: why many windows of quiet regions are not QUIET, as on the
    Sun. Peak fluxes follow the same power law, below M1.0."""
    rate = np.where(drivers(region, steps).flux.to_numpy() > 0, settings.small_flare_rate, 0.0)
    counts = rng.poisson(rate * CADENCE_H / 24)
    peaks = np.repeat(steps * CADENCE_H, counts) + rng.uniform(0, CADENCE_H, counts.sum())
    low = 0.01 ** 0.8  # N(>F) ~ F^-0.8: the uniform draw that gives M1.0
    return peaks, 1e-7 * rng.uniform(low, 1.0, peaks.size) ** (-1 / 0.8)


def flare_catalogue(regions: list[Region], settings: WorldSettings) -> pd.DataFrame:
    """Flares of every region over its whole life (on the disk or not) and from unmodelled regions,
    as the GOES catalogue lists them: times, class string, NOAA region (blank where none)."""
    rng = rng_for(settings.seed, "flares")
    peaks, fluxes, noaa = [], [], []
    for region in regions:
        steps = np.arange(int(region.t_start / CADENCE_H), int(region.t_end / CADENCE_H) + 1)
        all_classes = m_rate(region, steps, settings, rng) / settings.m_fraction
        p, f = _depleting_events(rng, all_classes, steps, settings)
        small_p, small_f = _small_events(rng, region, steps, settings)
        p, f = np.concatenate([p, small_p]), np.concatenate([f, small_f])
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
