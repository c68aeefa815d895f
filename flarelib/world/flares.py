"""The teaching world's flares.

M1.0+ flares come at a rate set by what makes real regions flare, only part of which the study's
four keywords see: the field gradient across the strongest polarity inversion line (the sum of
two opposite poles' peak fields over their distance; the keywords see it through R_VALUE and
MEANGBL, blurred), the region's flux (USFLUXL), the flux's growth over the last day (visible only
in the sequence), a shear that no keyword sees (fixed per region), and bursts of activity that come
and go within a day. Flares of every class follow, with GOES-like power-law peak fluxes, as a
Poisson process in time; the catalogue lists them as GOES does, with the injected imperfections
(flares with no region, unknown classes, B flares lost under the X-ray background) and background
flares of unmodelled regions.
"""

from __future__ import annotations

import dataclasses
import os

import numpy as np
import pandas as pd

from flarelib.goes import flux_to_class
from flarelib.seeding import rng_for
from flarelib.world.bipoles import SIZE_FACTOR, bmr_field
from flarelib.world.instruments import CADENCE_H, HMI, MDI, hours, timestamp
from flarelib.world.regions import Region, relax_cores
from flarelib.world.settings import WorldSettings

RSUN_CM = 6.96e10
FLUX_PER_B0_RHO2 = SIZE_FACTOR**3 * np.sqrt(np.pi / 2) * RSUN_CM**2  # Eq. 18's unsigned flux / (B0 rho^2)


def drivers(region: Region, steps: np.ndarray, cdelt_deg: float = 0.12, every: int = 6) -> pd.DataFrame:
    """The region's drivers at each step: the steepest inversion line of its true radial field (the
    largest jump between neighbouring pixels of opposite sign, in G per radian, on MDI's pixel), its
    unsigned flux (Mx), the flux's growth over 24 hours (dex of flux + 1e21 Mx, zero when shrinking),
    and the hours since the latest bipole reached its peak.

    The gradient is computed every `every` steps on the whole life at once and interpolated between."""
    t = steps * CADENCE_H
    flux = unsigned_flux(region, t)
    coarse = t[::every] if t.size else t
    if coarse.size and coarse[-1] != t[-1]:
        coarse = np.append(coarse, t[-1])
    gradient = np.interp(t, coarse, _steepest_inversion_line(region, coarse, cdelt_deg)) if t.size else t
    lag = int(round(24 / CADENCE_H))
    earlier = np.concatenate([np.full(min(lag, flux.size), flux[0] if flux.size else 0.0), flux[:-lag]])[: flux.size]
    # growth in dex, with 1e21 Mx added to both so that a region's first appearance is not infinite growth
    growth = np.clip(np.log10((flux + 1e21) / (earlier + 1e21)), 0.0, None)
    return pd.DataFrame({"gradient": gradient, "flux": flux, "growth": growth})


def unsigned_flux(region: Region, t: np.ndarray) -> np.ndarray:
    """The region's unsigned flux (Mx) at times `t` (hours since EPOCH), in closed form (Eq. 18)."""
    flux = np.zeros(np.size(t))
    for bipole in region.bipoles:
        amplitude, rho = bipole.state(t)
        flux += FLUX_PER_B0_RHO2 * np.abs(amplitude) * rho**2
    return flux


def _steepest_inversion_line(region: Region, t: np.ndarray, cdelt_deg: float) -> np.ndarray:
    """At each time, the largest |B_i - B_j| / pixel over neighbouring pixels of opposite sign of
    the region's true radial field (Eq. 18 bipoles, no point-spread), in G per radian: a single
    bipole gives B0 / rho; opposite poles pressed together give more; poles that overlap and cancel
    give less, as the observed field shows it."""
    half_x, half_y = region.half_lon, region.half_lat
    u = np.deg2rad(np.arange(-half_x, half_x + cdelt_deg / 2, cdelt_deg))
    v = np.deg2rad(np.arange(-half_y, half_y + cdelt_deg / 2, cdelt_deg))
    field = np.zeros((t.size, v.size, u.size))
    for bipole in region.bipoles:
        amplitude, rho = bipole.state(t)
        live = amplitude != 0
        if live.any():
            phi, lat = u[None, :] - np.deg2rad(bipole.dlon), v[:, None] - np.deg2rad(bipole.dlat)
            field[live] += bmr_field(phi[None], lat[None], amplitude[live, None, None], rho[live, None, None], bipole.tilt)
    step = np.deg2rad(cdelt_deg)
    steepest = np.zeros(t.size)
    for a, b in ((field[:, :, 1:], field[:, :, :-1]), (field[:, 1:, :], field[:, :-1, :])):
        jump = np.where(a * b < 0, np.abs(a - b), 0.0)
        steepest = np.maximum(steepest, jump.reshape(t.size, -1).max(axis=1, initial=0.0) / step)
    return steepest


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


def m_rate(region: Region, steps: np.ndarray, settings: WorldSettings, bursts: np.ndarray) -> np.ndarray:
    """M1.0+ flares per day at each step, the hidden shear and the `bursts` (dex, `_bursts`) included."""
    d = drivers(region, steps)
    active = (d.gradient > 0) & (d.flux > 0)
    log_rate = (np.log10(settings.flare_rate_m)
                + settings.gradient_power * np.log10(np.maximum(d.gradient, 1.0) / settings.gradient_ref)
                + settings.flux_power * np.log10(np.maximum(d.flux, 1.0) / settings.flux_ref)
                + settings.emergence_gain * d.growth + region.shear + bursts)
    if region.cycle == 23:
        log_rate += np.log10(settings.cycle23_flare_rate)
    return np.where(active, np.minimum(10 ** log_rate.to_numpy(), settings.max_rate_m), 0.0)


def _power_law_fluxes(rng: np.random.Generator, n: int) -> np.ndarray:
    """Peak fluxes with N(>F) ~ F^-0.8 from B1.0 (dN/dF ~ F^-1.8, as GOES flares), capped at X30."""
    return np.minimum(1e-7 * rng.uniform(size=n) ** (-1 / 0.8), 3e-3)


def _events(rng: np.random.Generator, rate_per_day: np.ndarray, steps: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Peak times (hours) and peak fluxes of a Poisson process with a power-law flux distribution."""
    counts = rng.poisson(rate_per_day * CADENCE_H / 24)
    peaks = np.repeat(steps * CADENCE_H, counts) + rng.uniform(0, CADENCE_H, counts.sum())
    return peaks, _power_law_fluxes(rng, peaks.size)


def _region_events(rng: np.random.Generator, rates: tuple[np.ndarray, np.ndarray], core_from: int,
                   steps: np.ndarray, settings: WorldSettings) -> tuple[np.ndarray, np.ndarray, float | None]:
    """Flares of all classes of one region, step by step, at `rates[0]` (flares per day) until the
    first M1.0+ flare from step index `core_from` on spends the core's energy, then at `rates[1]`
    (the rates without the core; equal where the region has none). Each M1.0+ flare also
    raises the rate by `excitation` (at most `max_excitation` in all), relaxing back with the time
    constant `excitation_hours`: productive regions stay productive for days. Returns peak times
    (hours), peak fluxes, and the time of the flare that relaxed the core (None if none did)."""
    peaks, fluxes, relaxed = [], [], None
    level, recover = 1.0, np.exp(-CADENCE_H / settings.excitation_hours)
    for i in range(steps.size):
        level = 1.0 - (1.0 - level) * recover
        expected = rates[0 if relaxed is None else 1][i] * CADENCE_H / 24 * level
        n = rng.poisson(expected) if expected > 0 else 0
        if n:
            flux = _power_law_fluxes(rng, n)
            times = steps[i] * CADENCE_H + rng.uniform(0, CADENCE_H, n)
            peaks.append(times), fluxes.append(flux)
            strong = flux >= 1e-5
            if strong.any() and relaxed is None and i >= core_from:
                relaxed = float(times[strong].min())
            level = min(level * settings.excitation ** int(strong.sum()), settings.max_excitation)
    if not peaks:
        return np.zeros(0), np.zeros(0), relaxed
    return np.concatenate(peaks), np.concatenate(fluxes), relaxed


def _small_events(rng: np.random.Generator, region: Region, steps: np.ndarray,
                  settings: WorldSettings) -> tuple[np.ndarray, np.ndarray]:
    """B- and C-class flares that any region with flux makes (`small_flare_rate` per day), apart
    from the inversion-line hazard: why many windows of quiet regions are not QUIET, as on the
    Sun. Peak fluxes follow the same power law, below M1.0."""
    rate = np.where(unsigned_flux(region, steps * CADENCE_H) > 0, settings.small_flare_rate, 0.0)
    counts = rng.poisson(rate * CADENCE_H / 24)
    peaks = np.repeat(steps * CADENCE_H, counts) + rng.uniform(0, CADENCE_H, counts.sum())
    low = 0.01 ** 0.8  # N(>F) ~ F^-0.8: the uniform draw that gives M1.0
    return peaks, 1e-7 * rng.uniform(low, 1.0, peaks.size) ** (-1 / 0.8)


def _without_core(region: Region) -> Region:
    return dataclasses.replace(region, bipoles=[b for i, b in enumerate(region.bipoles) if i != region.core], core=None)


def simulate_region(region: Region, settings: WorldSettings) -> tuple[np.ndarray, np.ndarray, np.ndarray, float | None]:
    """One region's flares over its whole life, from its own random stream: peak times (hours), peak
    fluxes, NOAA numbers (0: none), and when its core relaxed (None: no core, or it never flared).

    The region's rate is that of its field with the core; where cores relax (`core_relaxes`), only
    until the first M1.0+ flare after the core emerged, then that of its field without it."""
    rng = rng_for(settings.seed, "flares", region.id)
    steps = np.arange(int(region.t_start / CADENCE_H), int(region.t_end / CADENCE_H) + 1)
    bursts = _bursts(rng, steps.size, settings)
    if region.core is not None:
        region = dataclasses.replace(region, bipoles=[dataclasses.replace(b, t_relax=float("inf")) for b in region.bipoles])
    with_core = m_rate(region, steps, settings, bursts) / settings.m_fraction
    if region.core is None or not settings.core_relaxes:
        rates, core_from = (with_core, with_core), steps.size
    else:
        rates = (with_core, m_rate(_without_core(region), steps, settings, bursts) / settings.m_fraction)
        core_from = int(np.searchsorted(steps * CADENCE_H, region.bipoles[region.core].t_emerge))
    p, f, relaxed = _region_events(rng, rates, core_from, steps, settings)
    small_p, small_f = _small_events(rng, region, steps, settings)
    p, f = np.concatenate([p, small_p]), np.concatenate([f, small_f])
    return p, f, rng.choice(region.noaa or [0], size=p.size), relaxed


def flare_catalogue(regions: list[Region], settings: WorldSettings, workers: int = 1) -> pd.DataFrame:
    """Flares of every region over its whole life (on the disk or not) and from unmodelled regions,
    as the GOES catalogue lists them: times, class string, NOAA region (blank where none).

    A region's core relaxes at its first M1.0+ flare: this sets the core's `t_relax` in `regions`,
    so call it before rendering records. Regions are simulated in `workers` processes (0: one per
    core); the catalogue does not depend on it."""
    from concurrent.futures import ProcessPoolExecutor

    workers = workers or os.cpu_count() or 1
    if workers == 1:
        results = [simulate_region(region, settings) for region in regions]
    else:
        with ProcessPoolExecutor(workers) as pool:
            results = list(pool.map(simulate_region, regions, [settings] * len(regions), chunksize=16))
    relax_cores(regions, {region.id: relaxed for region, (*_, relaxed) in zip(regions, results) if relaxed is not None})
    peaks, fluxes, noaa = [r[0] for r in results], [r[1] for r in results], [r[2] for r in results]
    rng = rng_for(settings.seed, "flares")
    span = np.arange(int(hours(MDI.start) / CADENCE_H), int(hours(HMI.end) / CADENCE_H))
    p, f = _events(rng, np.full(span.size, settings.background_flare_rate * len(regions)), span)
    peaks.append(p), fluxes.append(f), noaa.append(np.zeros(p.size, dtype=int))
    peak, flux, ar = np.concatenate(peaks), np.concatenate(fluxes), np.concatenate(noaa).astype(float)
    classes = np.array([flux_to_class(x) for x in flux], dtype=object)
    unattributed = np.array([dict(settings.p_flare_no_region).get(c[:1], 0.0) for c in classes])
    ar[(ar == 0) | (rng.uniform(size=ar.size) < unattributed)] = np.nan
    classes[rng.uniform(size=classes.size) < settings.p_flare_unknown_class] = ""
    completeness = np.array([dict(settings.catalogued).get(c[:1], 1.0) for c in classes])
    listed = rng.uniform(size=classes.size) < completeness  # most B flares are lost under the X-ray background
    peak, classes, ar = peak[listed], classes[listed], ar[listed]
    order = np.argsort(peak)
    peak_time = timestamp(peak[order])
    return pd.DataFrame({
        "start_time": peak_time - pd.to_timedelta(rng.uniform(4, 30, peak.size), unit="min"),
        "peak_time": peak_time,
        "end_time": peak_time + pd.to_timedelta(rng.uniform(8, 60, peak.size), unit="min"),
        "goes_class": classes[order],
        "noaa_ar": pd.array(ar[order], dtype="Int64"),
    })
