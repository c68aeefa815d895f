"""The embedded synthetic world: seeded active regions seen by two instrument models.

A teaching and testing world, not the Sun. One underlying photospheric field per region, built from
Yeates (2020) bipolar magnetic regions that emerge, separate, decay and sometimes collide, rotates
across the disk; an MDI-like and an HMI-like instrument observe it (pixel scale, point-spread,
noise, gain) during their real mission spans, so May-October 2010 has co-temporal pairs. Flares
come from a hazard that rises with the flux near strong-field inversion lines (Schrijver's R of the
true field) and its growth; classes follow a power law (`flarelib.sources.synthetic_flares`). The imperfections the study's rules exist
for are injected on purpose: bad quality, NaN pixels, boxes that change size, missing keywords,
data gaps, regions with no or two NOAA numbers, flares with no region or an unknown class.

Everything is a deterministic function of the settings: a record's magnetogram is re-rendered on
demand from the region's parameters (so the store stays small and reads are lazy) and is identical
to the one its keywords were computed from.
"""

from __future__ import annotations

import dataclasses
import os
import time
from dataclasses import dataclass, field
from typing import Callable

import numpy as np
import pandas as pd
from scipy import ndimage

from flarelib.sources.bipoles import bmr_field
from flarelib.keywords import ON_PATCH, compute_keywords
from flarelib.images import SUBSAMPLE, subsample
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
    start: pd.Timestamp
    end: pd.Timestamp


MDI = Instrument("MDI", "SMARP", "TARP", 0.12, 0.9, 20.0, 1.10, pd.Timestamp("1996-04-23"), pd.Timestamp("2010-10-28"))
HMI = Instrument("HMI", "SHARP", "HARP", 0.03, 0.9, 7.0, 1.00, pd.Timestamp("2010-05-01"), pd.Timestamp("2020-12-01"))
INSTRUMENTS = {"MDI": MDI, "HMI": HMI}
CYCLE_MAXIMA = {23: pd.Timestamp("2001-11-01"), 24: pd.Timestamp("2014-04-01")}


@dataclass(frozen=True)
class WorldSettings:
    """The size and seed of a world; the physics constants are documented below."""

    seed: int = 0
    regions_cycle23: int = 120
    regions_cycle24: int = 80
    overlap_regions: int = 10  # forced into May-October 2010, seen by both instruments
    p_complex: float = 0.4  # a second bipole emerges into the region
    flare_rate_quiet: float = 0.03  # flares per day (B1.0 and up) with no strong-field inversion line
    flare_rate_active: float = 3.0  # flares per day at R = 4
    flare_r_slope: float = 1.2  # dex of rate per unit of R
    flare_growth_gain: float = 1.5  # rate multiplier per unit of R growth over 24 h
    background_flare_rate: float = 5e-4  # flares per day per modelled region, from unmodelled ones (no NOAA number)
    p_flare_no_region: float = 0.07
    p_flare_unknown_class: float = 0.003
    p_no_noaa: float = 0.05
    p_two_noaa: float = 0.06
    p_bad_quality: float = 0.01
    p_nan_pixels: float = 0.005
    p_size_jump: float = 0.005
    p_nan_keyword: float = 0.003
    gaps_per_year: float = 3.0


@dataclass
class Bipole:
    t_emerge: float  # hours since EPOCH
    dlon: float  # offset from the region centre (deg)
    dlat: float
    b0: float  # Gauss (Eq. 18 amplitude)
    rho_max: float  # radians
    tilt: float  # radians
    t_grow: float  # hours
    t_decay: float  # hours

    def state(self, t: np.ndarray | float) -> tuple[np.ndarray, np.ndarray]:
        """Amplitude and separation at time t: linear growth while the poles separate, then decay."""
        age = np.asarray(t, dtype=float) - self.t_emerge
        growing = np.clip(age / self.t_grow, 0.0, 1.0)
        decay = np.exp(-np.clip(age - self.t_grow, 0.0, None) / self.t_decay)
        amplitude = np.where(age > 0, self.b0 * growing * decay, 0.0)
        return amplitude, self.rho_max * (0.35 + 0.65 * growing)


@dataclass
class Region:
    id: int
    lat: float  # deg
    cmd0: float  # central-meridian distance at t_start (deg)
    t_start: float  # hours since EPOCH
    t_end: float
    bipoles: list[Bipole]
    half_lon: float  # half-size of the bounding box (deg)
    half_lat: float
    hmi_scale: float  # HMI's tracker draws a slightly different box
    noaa: list[int] = field(default_factory=list)

    def cmd(self, t: np.ndarray | float) -> np.ndarray:
        """Central-meridian distance: Snodgrass differential rotation less Earth's orbital motion."""
        s2 = np.sin(np.deg2rad(self.lat)) ** 2
        synodic = 14.71 - 2.39 * s2 - 1.78 * s2**2 - 0.9856  # deg/day
        return self.cmd0 + synodic * (np.asarray(t, dtype=float) - self.t_start) / 24.0


def hours(when: pd.Timestamp) -> float:
    return (when - EPOCH) / pd.Timedelta(hours=1)


def step_time(steps: np.ndarray | int) -> pd.DatetimeIndex:
    """T_REC of 96-minute steps, exact (integer minutes from the epoch)."""
    return EPOCH + pd.to_timedelta(np.atleast_1d(steps).astype(np.int64) * 96, unit="min")


def timestamp(h: np.ndarray | float) -> pd.DatetimeIndex:
    return EPOCH + pd.to_timedelta(np.atleast_1d(h), unit="h")


def _emergence_times(rng: np.random.Generator, n: int, cycle: int, span: tuple[pd.Timestamp, pd.Timestamp]) -> np.ndarray:
    """Emergence times with cycle-like activity: a Gaussian of width 3 years around the maximum."""
    lo, hi, peak = hours(span[0]), hours(span[1]), hours(CYCLE_MAXIMA[cycle])
    out: list[float] = []
    while len(out) < n:
        t = rng.uniform(lo, hi, size=4 * n)
        keep = rng.uniform(size=t.size) < np.exp(-0.5 * ((t - peak) / (3 * 365.25 * 24)) ** 2)
        out.extend(t[keep][: n - len(out)])
    return np.sort(np.asarray(out))


def _bipole(rng: np.random.Generator, t: float, lat: float, dlon: float = 0.0, dlat: float = 0.0, anti: bool = False) -> Bipole:
    joy = 0.5 * np.deg2rad(abs(lat)) * np.sign(lat)  # Joy's law, leading polarity nearer the equator
    tilt = joy + rng.normal(0, np.deg2rad(15)) + (np.pi if anti else 0.0)
    hale = 1.0 if lat >= 0 else -1.0  # opposite leading polarity in the two hemispheres
    return Bipole(
        t_emerge=t, dlon=dlon, dlat=dlat,
        b0=hale * float(np.exp(rng.uniform(np.log(2500), np.log(12000)))),
        rho_max=float(np.deg2rad(rng.uniform(2.0, 6.0))), tilt=float(tilt),
        t_grow=float(rng.uniform(12, 72)), t_decay=float(rng.uniform(72, 192)),
    )


def _region(rng: np.random.Generator, index: int, t0: float, cycle: int, settings: WorldSettings) -> Region:
    phase = np.clip((t0 - hours(CYCLE_MAXIMA[cycle])) / (11 * 365.25 * 24) + 0.45, 0, 1)
    lat = float((28 - 20 * phase + rng.normal(0, 4)) * rng.choice([-1, 1]))
    bipoles = [_bipole(rng, t0, lat)]
    if rng.uniform() < settings.p_complex:
        first = bipoles[0]
        angle, distance = rng.uniform(0, 2 * np.pi), np.rad2deg(first.rho_max) * rng.uniform(0.3, 0.8)
        bipoles.append(_bipole(rng, t0 + rng.uniform(12, 96), lat, distance * np.cos(angle), distance * np.sin(angle),
                               anti=rng.uniform() < 0.3))
    half_lon = max(abs(b.dlon) + 2.0 * 0.56 * np.rad2deg(b.rho_max) for b in bipoles) + 0.5
    half_lat = max(abs(b.dlat) + 1.6 * 0.56 * np.rad2deg(b.rho_max) for b in bipoles) + 0.5
    t_end = max(b.t_emerge + b.t_grow + 2.3 * b.t_decay for b in bipoles)  # to 10% of peak
    return Region(index, lat, float(rng.uniform(-150, 80)), float(t0), float(t_end), bipoles,
                  float(half_lon), float(half_lat), float(rng.uniform(0.95, 1.05)))


def generate_regions(settings: WorldSettings) -> list[Region]:
    """The regions of the world, sorted by first appearance, with NOAA numbers assigned."""
    rng = rng_for(settings.seed, "regions")
    times = [(t, 23) for t in _emergence_times(rng, settings.regions_cycle23, 23, (MDI.start, HMI.start))]
    times += [(t, 24) for t in _emergence_times(rng, settings.regions_cycle24, 24, (MDI.end, HMI.end))]
    overlap = (hours(pd.Timestamp("2010-05-01")), hours(pd.Timestamp("2010-10-10")))
    times += [(t, 24) for t in rng.uniform(*overlap, size=settings.overlap_regions)]
    regions = [_region(rng, i, t, c, settings) for i, (t, c) in enumerate(sorted(times))]
    noaa = 7978
    for region in regions:
        draw = rng.uniform()
        count = 0 if draw < settings.p_no_noaa else 2 if draw < settings.p_no_noaa + settings.p_two_noaa else 1
        region.noaa = list(range(noaa, noaa + count))
        noaa += count
    return regions


def true_field(region: Region, t: float, cdelt_deg: float, scale: float = 1.0) -> np.ndarray:
    """The radial field of the region at time t on a local CEA grid of the given pixel (G)."""
    nx = max(8, int(round(2 * region.half_lon * scale / cdelt_deg)))
    ny = max(8, int(round(2 * region.half_lat * scale / cdelt_deg)))
    x = np.deg2rad((np.arange(nx) - (nx - 1) / 2) * cdelt_deg).astype(np.float32)
    y = np.deg2rad((np.arange(ny) - (ny - 1) / 2) * cdelt_deg).astype(np.float32)
    total = np.zeros((ny, nx), dtype=np.float32)
    for bipole in region.bipoles:
        amplitude, rho = bipole.state(t)
        if amplitude != 0:
            phi = x[None, :] - np.float32(np.deg2rad(bipole.dlon))
            lat = y[:, None] - np.float32(np.deg2rad(bipole.dlat))
            total += bmr_field(phi, lat, np.float32(amplitude), np.float32(rho), np.float32(bipole.tilt))
    return total.astype(float)


@dataclass(frozen=True)
class Observation:
    """One rendered record: the magnetogram, its bitmap, and what went wrong with it on purpose."""

    magnetogram: np.ndarray
    bitmap: np.ndarray
    quality: int
    nan_keyword: str | None  # the keyword this record lost, if any


def observe(region: Region, instrument: Instrument, step: int, settings: WorldSettings) -> Observation:
    """Render record `step` (T_REC = EPOCH + step * 96 min) of a region through an instrument."""
    t = step * CADENCE_H
    scale = region.hmi_scale if instrument == HMI else 1.0
    radial = true_field(region, t, instrument.cdelt_deg, scale)
    mu = np.cos(np.deg2rad(region.lat)) * np.cos(np.deg2rad(region.cmd(t)))
    los = ndimage.gaussian_filter(radial * mu, instrument.psf_sigma_px) * instrument.gain
    rng = rng_for(settings.seed, "record", instrument.name, region.id, step)
    observed = los + rng.normal(0.0, instrument.noise_gauss, los.shape)
    patch = ndimage.gaussian_filter(np.abs(los), 2.0) > 3 * instrument.noise_gauss
    bitmap = np.where(ndimage.binary_dilation(patch, iterations=2), ON_PATCH | 4, 1).astype(np.int16)
    if rng.uniform() < settings.p_size_jump:  # the tracker's box jumps by a few pixels
        cut = int(rng.integers(3, 6))
        observed, bitmap = observed[:, :-cut], bitmap[:, :-cut]
    if rng.uniform() < settings.p_nan_pixels:  # a telemetry dropout across the cutout
        row = int(rng.integers(0, observed.shape[0]))
        observed[row : row + 3] = np.nan
    quality = BAD_QUALITY if rng.uniform() < settings.p_bad_quality else 0
    nan_keyword = str(rng.choice(["USFLUXL", "MEANGBL", "R_VALUE", "AREA"])) if rng.uniform() < settings.p_nan_keyword else None
    return Observation(observed, bitmap, quality, nan_keyword)


def _gaps(settings: WorldSettings, instrument: Instrument) -> list[tuple[float, float]]:
    rng = rng_for(settings.seed, "gaps", instrument.name)
    years = (instrument.end - instrument.start) / pd.Timedelta(days=365.25)
    starts = rng.uniform(hours(instrument.start), hours(instrument.end), size=rng.poisson(settings.gaps_per_year * years))
    gaps = [(s, s + rng.uniform(12, 72)) for s in starts]
    if instrument == MDI:
        gaps.append((hours(MDI_GAP[0]), hours(MDI_GAP[1])))
    return gaps


def record_steps(region: Region, instrument: Instrument, gaps: list[tuple[float, float]]) -> np.ndarray:
    """The 96-minute steps at which the instrument has a record of the region (on the disk, in
    its mission, outside gaps, while the region has flux)."""
    first = max(region.t_start, hours(instrument.start))
    last = min(region.t_end, hours(instrument.end))
    steps = np.arange(int(np.ceil(first / CADENCE_H)), int(np.floor(last / CADENCE_H)) + 1)
    t = steps * CADENCE_H
    keep = np.abs(region.cmd(t)) <= 85
    for lo, hi in gaps:
        keep &= (t < lo) | (t > hi)
    return steps[keep]


def _keyword_row(region: Region, instrument: Instrument, step: int, settings: WorldSettings) -> dict | None:
    """The record's keywords from its rendered magnetogram; None once the patch has faded."""
    obs = observe(region, instrument, step, settings)
    mask = (obs.bitmap & ON_PATCH) > 0
    if not mask.any():
        return None
    keywords = compute_keywords(obs.magnetogram, mask, instrument.cdelt_deg)
    if obs.nan_keyword:
        keywords[obs.nan_keyword] = np.nan
    t = step * CADENCE_H
    centre, half_width = float(region.cmd(t)), obs.magnetogram.shape[1] * instrument.cdelt_deg / 2
    factor = SUBSAMPLE[instrument.series]  # NaN pixels are counted on the CNN's grid, as the authors count them
    return {
        "step": step, "QUALITY": obs.quality, "LAT_FWT": region.lat, "LON_FWT": centre,
        "LON_MIN": centre - half_width, "LON_MAX": centre + half_width,
        "NX": obs.magnetogram.shape[1], "NY": obs.magnetogram.shape[0],
        "NAN_PIXELS": int(np.isnan(subsample(obs.magnetogram, factor)).sum()), **keywords,
    }


def _region_records(region: Region, instrument: Instrument, gaps: list[tuple[float, float]], settings: WorldSettings) -> pd.DataFrame:
    rows = [_keyword_row(region, instrument, int(s), settings) for s in record_steps(region, instrument, gaps)]
    return pd.DataFrame([row for row in rows if row is not None])


def keyword_records(regions: list[Region], settings: WorldSettings, workers: int = 1,
                    progress: Callable[[str], None] | None = None) -> pd.DataFrame:
    """One row per record per instrument, with the columns the real ingest writes.

    Regions render in `workers` processes (0: one per core); the result does not depend on it.
    `progress` hears about every tenth of the work done."""
    from concurrent.futures import ProcessPoolExecutor

    from flarelib.compendium.progress import eta

    workers = workers or os.cpu_count() or 1
    jobs = [(region, instrument, _gaps(settings, instrument)) for instrument in (MDI, HMI) for region in regions]
    began, step = time.perf_counter(), max(1, len(jobs) // 10)

    def report(done: int) -> None:
        if progress is not None and (done % step == 0 or done == len(jobs)):
            progress(f"the synthetic world: {done}/{len(jobs)} region sequences rendered, "
                     f"{eta(done, len(jobs), time.perf_counter() - began)}")

    tables = []
    if workers == 1:
        for count, (r, i, g) in enumerate(jobs, start=1):
            tables.append(_region_records(r, i, g, settings))
            report(count)
    else:
        with ProcessPoolExecutor(workers) as pool:
            futures = [pool.submit(_region_records, r, i, g, settings) for r, i, g in jobs]
            for count, future in enumerate(futures, start=1):
                tables.append(future.result())
                report(count)
    frames, numbers = [], {"SMARP": 0, "SHARP": 0}
    for (region, instrument, _), rows in zip(jobs, tables):
        if rows.empty:
            continue
        numbers[instrument.series] += 1
        rows.insert(0, "ARPNUM", numbers[instrument.series])
        rows.insert(0, "SERIES", instrument.series)
        rows["NOAA_ARS"] = ",".join(map(str, region.noaa))
        rows["NOAA_NUM"] = len(region.noaa)
        rows["REGION"] = region.id
        frames.append(rows)
    table = pd.concat(frames, ignore_index=True)
    table.insert(2, "T_REC", step_time(table.pop("step").to_numpy()))
    return table


def regions_to_json(regions: list[Region]) -> list[dict]:
    return [dataclasses.asdict(region) for region in regions]


def regions_from_json(items: list[dict]) -> list[Region]:
    return [Region(**{**item, "bipoles": [Bipole(**b) for b in item["bipoles"]]}) for item in items]
