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

from flarelib.sources.bipoles import SIZE_FACTOR
from flarelib.keywords import ON_PATCH, area_mh, compute_keywords, pixel_area_cm2, r_value
from flarelib.images import SUBSAMPLE, subsample
from flarelib.seeding import rng_for

EPOCH = pd.Timestamp("1993-01-01 00:00:00")  # T_REC epoch of the 96-minute series (TAI; UTC here)
CADENCE_H = 1.6
MDI_GAP = (pd.Timestamp("1998-06-25"), pd.Timestamp("1998-10-20"))  # SOHO lost, as in the real record
BAD_QUALITY = 0x00010000
RELAX_HOURS = 6.0  # a core fades over this long after the flare that spends it  # the quality bit that marks a record unusable in this world


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


MDI = Instrument("MDI", "SMARP", "TARP", 0.12, 1.6, 20.0, 1.00, pd.Timestamp("1996-04-23"), pd.Timestamp("2010-10-28"))
HMI = Instrument("HMI", "SHARP", "HARP", 0.03, 0.9, 7.0, 1.00, pd.Timestamp("2010-05-01"), pd.Timestamp("2020-12-01"))
INSTRUMENTS = {"MDI": MDI, "HMI": HMI}
CYCLE_MAXIMA = {23: pd.Timestamp("2001-11-01"), 24: pd.Timestamp("2014-04-01")}


@dataclass(frozen=True)
class WorldSettings:
    """The size and seed of a world, and its constants.

    The constants were fitted to the study authors' window tables (`flarelib.sources.calibration`,
    the book's page "The synthetic world"): keyword distributions per instrument, event rates,
    and the share of regions that ever flare. Nothing here is tuned to make a conclusion of the
    study come out."""

    seed: int = 0
    regions_cycle23: int = 120
    regions_cycle24: int = 80
    overlap_regions: int = 10  # forced into May-October 2010, seen by both instruments
    # regions: a bipole's half-separation (deg) and amplitude (G), log-normal and correlated
    rho_median_deg: float = 2.2
    rho_sigma: float = 0.5  # of ln rho
    b0_median: float = 5000.0  # at the median separation
    b0_rho_power: float = 0.5  # bigger bipoles are stronger
    b0_sigma: float = 0.3  # of ln B0 at a given separation
    p_complex: float = 0.35  # a second bipole emerges into the region
    p_core: float = 0.25  # a compact sheared core emerges at the inversion line (and stores free energy)
    core_strength: tuple[float, float] = (0.6, 1.2)  # its amplitude relative to the main bipole's
    core_rho_deg: tuple[float, float] = (0.5, 0.9)  # its half-separation
    decay_days: tuple[float, float] = (5.0, 15.0)  # e-folding time of the decay, uniform in this range
    fade: float = 1.6  # a region ends this many decay times after its peak (at 20% of it)
    box_margin_deg: float = 3.0  # the tracked box around the flux
    # what the instruments see beyond the smooth bipoles: fine structure, relative and absolute (G)
    texture_mdi: float = 0.06  # fine structure relative to the field, at each instrument's pixel
    texture_hmi: float = 0.08
    texture_floor_mdi: float = 48.0  # fine structure of the weak field (G)
    texture_floor_hmi: float = 21.0
    texture_sigma_deg: float = 0.024  # the fine structure's correlation length
    patch_threshold: float = 10.0  # the smoothed field that defines the tracked patch (G)
    patch_dilation: int = 9  # MDI pixels of plage around it
    cycle23_strength: float = 1.06  # cycle 23's bipole amplitudes relative to cycle 24's
    cycle23_size: float = 1.28  # and separations
    # flares: M1.0+ rate from the inversion-line gradient, the flux, emergence, a hidden shear and bursts
    flare_rate_m: float = 0.012  # M1.0+ flares per day at the reference gradient and flux
    gradient_ref: float = 160000.0  # G per radian across the steepest inversion line (about 230 G/Mm)
    flux_ref: float = 1e22  # Mx
    gradient_power: float = 8.0
    flux_power: float = 0.5
    emergence_gain: float = 1.5  # dex of rate per dex of flux growth over 24 h
    shear_sigma: float = 0.25  # dex: a region's hidden shear, seen by no keyword
    burst_sigma: float = 0.25  # dex: activity that comes and goes within a day
    burst_hours: float = 12.0  # the bursts' correlation time
    small_flare_rate: float = 0.15  # B- and C-class flares per day, from any region with flux
    max_rate_m: float = 1.0  # M1.0+ flares per day at most
    depletion: float = 0.2  # an M1.0+ flare spends free energy: the rate drops by this factor
    recovery_hours: float = 240.0  # and recovers with this time constant
    m_fraction: float = 0.025  # M1.0+ among B1.0+ flares (N(>F) ~ F^-0.8 over two decades)
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
    t_relax: float = float("inf")  # a core: the M1.0+ flare that spends its energy (hours since EPOCH)

    def state(self, t: np.ndarray | float) -> tuple[np.ndarray, np.ndarray]:
        """Amplitude and separation at time t: linear growth while the poles separate, then decay;
        a core fades within `RELAX_HOURS` of the flare that relaxes it."""
        age = np.asarray(t, dtype=float) - self.t_emerge
        growing = np.clip(age / self.t_grow, 0.0, 1.0)
        decay = np.exp(-np.clip(age - self.t_grow, 0.0, None) / self.t_decay)
        relaxed = np.clip(1.0 - (np.asarray(t, dtype=float) - self.t_relax) / RELAX_HOURS, 0.0, 1.0)
        amplitude = np.where(age > 0, self.b0 * growing * decay * relaxed, 0.0)
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
    shear: float = 0.0  # dex of flare rate from the region's hidden shear (no keyword sees it)
    core: int | None = None  # index in `bipoles` of a compact sheared core at the inversion line
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


def _bipole(rng: np.random.Generator, t: float, lat: float, settings: WorldSettings, dlon: float = 0.0,
            dlat: float = 0.0, anti: bool = False, shrink: float = 1.0, strength: float = 1.0) -> Bipole:
    """A bipole: log-normal separation, an amplitude that grows with it, Joy's and Hale's laws."""
    joy = 0.5 * np.deg2rad(abs(lat)) * np.sign(lat)  # Joy's law, leading polarity nearer the equator
    tilt = joy + rng.normal(0, np.deg2rad(15)) + (np.pi if anti else 0.0)
    hale = 1.0 if lat >= 0 else -1.0  # opposite leading polarity in the two hemispheres
    rho = shrink * settings.rho_median_deg * np.exp(rng.normal(0, settings.rho_sigma))
    rho = float(np.clip(rho, 0.8, 8.0))
    b0 = strength * settings.b0_median * (rho / settings.rho_median_deg) ** settings.b0_rho_power * np.exp(rng.normal(0, settings.b0_sigma))
    return Bipole(
        t_emerge=t, dlon=dlon, dlat=dlat, b0=hale * float(np.clip(b0, 600.0, 16000.0)),
        rho_max=float(np.deg2rad(rho)), tilt=float(tilt),
        t_grow=float(rng.uniform(12, 72)), t_decay=float(24 * rng.uniform(*settings.decay_days)),
    )


def _region(rng: np.random.Generator, index: int, t0: float, cycle: int, settings: WorldSettings) -> Region:
    phase = np.clip((t0 - hours(CYCLE_MAXIMA[cycle])) / (11 * 365.25 * 24) + 0.45, 0, 1)
    lat = float((28 - 20 * phase + rng.normal(0, 4)) * rng.choice([-1, 1]))
    strength, size = (settings.cycle23_strength, settings.cycle23_size) if cycle == 23 else (1.0, 1.0)
    bipoles = [_bipole(rng, t0, lat, settings, strength=strength, shrink=size)]
    if rng.uniform() < settings.p_complex:
        first = bipoles[0]
        angle, distance = rng.uniform(0, 2 * np.pi), np.rad2deg(first.rho_max) * rng.uniform(0.3, 0.9)
        bipoles.append(_bipole(rng, t0 + rng.uniform(12, 96), lat, settings, distance * np.cos(angle),
                               distance * np.sin(angle), anti=rng.uniform() < 0.3, shrink=0.8 * size, strength=strength))
    core = None
    if rng.uniform() < settings.p_core:  # a compact, strong, sheared core pressed into the inversion line
        main = bipoles[0]
        core = len(bipoles)
        bipoles.append(Bipole(
            t_emerge=float(main.t_emerge + rng.uniform(0.2, 1.0) * main.t_grow), dlon=float(main.dlon + rng.normal(0, 0.3)),
            dlat=float(main.dlat + rng.normal(0, 0.3)), b0=float(main.b0 * rng.uniform(*settings.core_strength)),
            rho_max=float(np.deg2rad(rng.uniform(*settings.core_rho_deg))), tilt=float(main.tilt + rng.normal(0, 0.5)),
            t_grow=float(rng.uniform(6, 24)), t_decay=main.t_decay))
    margin = settings.box_margin_deg
    half_lon = max(abs(b.dlon) + 2.0 * 0.56 * np.rad2deg(b.rho_max) for b in bipoles) + margin
    half_lat = max(abs(b.dlat) + 1.6 * 0.56 * np.rad2deg(b.rho_max) for b in bipoles) + margin
    t_end = max(b.t_emerge + b.t_grow + settings.fade * b.t_decay for b in bipoles)
    return Region(index, lat, float(rng.uniform(-150, 80)), float(t0), float(t_end), bipoles,
                  float(half_lon), float(half_lat), float(rng.uniform(0.95, 1.05)),
                  shear=float(rng.normal(0, settings.shear_sigma)), core=core)


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


def blurred_bipole(bipole: Bipole, t: float, u: np.ndarray, v: np.ndarray, psf_rad: float) -> np.ndarray | None:
    """The bipole's radial field (G) at time t seen through a Gaussian point-spread of `psf_rad`.

    `u`, `v` are the pixels' longitude and latitude offsets from the region centre (radians, a row
    and a column). Eq. 18 is x exp(-x^2/2sx^2 - y^2/2sy^2) on the bipole's tilted axes with
    sx^2 = (a rho)^2/2 and sy^2 = (a rho)^2/4: a derivative of a Gaussian, so its convolution with a
    Gaussian point-spread is one in closed form, with the widths widened by the point-spread.
    Exact, and no image convolution: the cheap route to every record of the world."""
    amplitude, rho = bipole.state(t)
    amplitude, rho = float(amplitude), float(rho)
    if amplitude == 0.0:
        return None
    sx2, sy2 = (SIZE_FACTOR * rho) ** 2 / 2, (SIZE_FACTOR * rho) ** 2 / 4
    wx2, wy2 = sx2 + psf_rad**2, sy2 + psf_rad**2
    scale = -amplitude / rho * (sx2 / wx2) ** 1.5 * (sy2 / wy2) ** 0.5
    cos, sin = np.float32(np.cos(bipole.tilt)), np.float32(np.sin(bipole.tilt))
    du, dv = u - np.float32(np.deg2rad(bipole.dlon)), v - np.float32(np.deg2rad(bipole.dlat))
    along = cos * du[None, :] + sin * dv[:, None]
    across = -sin * du[None, :] + cos * dv[:, None]
    return np.float32(scale) * along * np.exp(along * along * np.float32(-0.5 / wx2) + across * across * np.float32(-0.5 / wy2))


@dataclass(frozen=True)
class Canvas:
    """A region's pixel grid through one instrument, with its fine-structure fields (fixed per
    region and instrument; a record blends two of them by its time, so structure evolves)."""

    u: np.ndarray  # longitude offsets of the columns (radians, float32)
    v: np.ndarray  # latitude offsets of the rows
    textures: tuple[np.ndarray, np.ndarray]


def _unit_texture(rng: np.random.Generator, shape: tuple[int, int], sigma_px: float) -> np.ndarray:
    field = ndimage.gaussian_filter(rng.standard_normal(shape, dtype=np.float32), sigma_px)
    return field / np.float32(field.std() or 1.0)


_CANVASES: dict[tuple, Canvas] = {}


def canvas(region: Region, instrument: Instrument, settings: WorldSettings) -> Canvas:
    """The region's grid through the instrument (cached: a region's records share it)."""
    key = (settings.seed, region.id, instrument.name, region.half_lon, region.half_lat)
    if key not in _CANVASES:
        if len(_CANVASES) > 64:
            _CANVASES.clear()
        scale = region.hmi_scale if instrument == HMI else 1.0
        nx = max(8, int(round(2 * region.half_lon * scale / instrument.cdelt_deg)))
        ny = max(8, int(round(2 * region.half_lat * scale / instrument.cdelt_deg)))
        u = np.deg2rad((np.arange(nx) - (nx - 1) / 2) * instrument.cdelt_deg).astype(np.float32)
        v = np.deg2rad((np.arange(ny) - (ny - 1) / 2) * instrument.cdelt_deg).astype(np.float32)
        rng = rng_for(settings.seed, "texture", instrument.name, region.id)
        # fine structure finer than an MDI pixel: HMI resolves it, MDI sees it as pixel-to-pixel scatter
        sigma = settings.texture_sigma_deg / instrument.cdelt_deg
        _CANVASES[key] = Canvas(u, v, (_unit_texture(rng, (ny, nx), sigma), _unit_texture(rng, (ny, nx), sigma)))
    return _CANVASES[key]


@dataclass(frozen=True)
class Observation:
    """One rendered record: the magnetogram, its bitmap, and what went wrong with it on purpose."""

    magnetogram: np.ndarray
    bitmap: np.ndarray
    quality: int
    nan_keyword: str | None  # the keyword this record lost, if any


def _patch(lattice: np.ndarray, shape: tuple[int, int], factor: int, threshold: float, dilation: int) -> np.ndarray:
    """The tracked patch: where the smoothed noise-free field stands above the threshold, found on
    MDI's pixel (`lattice`: every 4th HMI pixel, as the fusion samples) and widened by `dilation` such
    pixels (the plage around the flux)."""
    coarse = ndimage.binary_dilation(ndimage.gaussian_filter(np.abs(lattice), 1.0) > threshold, iterations=dilation)
    fine = np.repeat(np.repeat(coarse, factor, axis=0), factor, axis=1)
    return fine[: shape[0], : shape[1]]


@dataclass(frozen=True)
class _Draws:
    """A record's time, viewing and random draws (in the order the record's stream gives them)."""

    t: float
    mu: float
    noise: np.ndarray  # the record's noise over the whole box
    cut: int  # columns the tracker's box lost (0: none)
    nan_row: int | None  # first of three NaN rows
    quality: int
    nan_keyword: str | None


def _draws(region: Region, instrument: Instrument, step: int, settings: WorldSettings, shape: tuple[int, int]) -> _Draws:
    t = step * CADENCE_H
    mu = float(np.cos(np.deg2rad(region.lat)) * np.cos(np.deg2rad(float(region.cmd(t)))))
    rng = rng_for(settings.seed, "record", instrument.name, region.id, step)
    field_noise = noise(settings.seed, instrument, rng, shape)
    cut = int(rng.integers(3, 6)) if rng.uniform() < settings.p_size_jump else 0  # the tracker's box jumps
    nan_row = int(rng.integers(0, shape[0])) if rng.uniform() < settings.p_nan_pixels else None  # a dropout
    quality = BAD_QUALITY if rng.uniform() < settings.p_bad_quality else 0
    nan_keyword = str(rng.choice(["USFLUXL", "MEANGBL", "R_VALUE", "AREA"])) if rng.uniform() < settings.p_nan_keyword else None
    return _Draws(t, mu, field_noise, cut, nan_row, quality, nan_keyword)


def _los(region: Region, instrument: Instrument, grid: Canvas, draws: _Draws, rows: slice, cols: slice) -> np.ndarray:
    """The noise-free line-of-sight field on the pixels `rows` x `cols` of the box (G, float32)."""
    psf = np.deg2rad(instrument.psf_sigma_px * instrument.cdelt_deg)
    u, v = grid.u[cols], grid.v[rows]
    smooth = np.zeros((v.size, u.size), dtype=np.float32)
    for bipole in region.bipoles:
        part = blurred_bipole(bipole, draws.t, u, v, psf)
        if part is not None:
            smooth += part
    return smooth * np.float32(draws.mu * instrument.gain)


def _observed(los: np.ndarray, patch: np.ndarray, instrument: Instrument, grid: Canvas, draws: _Draws,
              settings: WorldSettings, rows: slice, cols: slice) -> np.ndarray:
    """The observed field on `rows` x `cols`: the line-of-sight field, fine structure inside the
    patch (relative to the field, with a floor), and noise. Pixel by pixel, so that any part of
    the box renders exactly as it does in the whole."""
    relative, floor = ((settings.texture_hmi, settings.texture_floor_hmi) if instrument == HMI
                       else (settings.texture_mdi, settings.texture_floor_mdi))
    angle = 2 * np.pi * draws.t / 48.0  # the fine structure renews itself over about a day
    texture = grid.textures[0][rows, cols] * np.float32(np.cos(angle)) + grid.textures[1][rows, cols] * np.float32(np.sin(angle))
    fine = texture * (np.abs(los) * np.float32(relative) + np.float32(floor * draws.mu)) * patch
    return los + fine + draws.noise[rows, cols]


def observe(region: Region, instrument: Instrument, step: int, settings: WorldSettings) -> Observation:
    """Render record `step` (T_REC = EPOCH + step * 96 min) of a region through an instrument.

    The line-of-sight field (radial field times mu) through the point-spread, with fine structure
    and noise at the instrument's pixel, and the calibration gain."""
    grid = canvas(region, instrument, settings)
    shape = (grid.v.size, grid.u.size)
    draws = _draws(region, instrument, step, settings, shape)
    factor = SUBSAMPLE[instrument.series]
    every = slice(None)
    lattice = _los(region, instrument, grid, draws, slice(None, None, factor), slice(None, None, factor))
    patch = _patch(lattice, shape, factor, settings.patch_threshold, settings.patch_dilation)
    los = _los(region, instrument, grid, draws, every, every)
    observed = _observed(los, patch, instrument, grid, draws, settings, every, every)
    bitmap = np.where(patch, ON_PATCH | 4, 1).astype(np.int16)
    if draws.cut:
        observed, bitmap = observed[:, : -draws.cut], bitmap[:, : -draws.cut]
    if draws.nan_row is not None:
        observed[draws.nan_row : draws.nan_row + 3] = np.nan
    return Observation(observed, bitmap, draws.quality, draws.nan_keyword)


def observe_keywords(region: Region, instrument: Instrument, step: int, settings: WorldSettings) -> tuple[Observation, dict] | None:
    """The record's keywords, as `record_keywords(observe(...))` gives them, without rendering the
    whole box: R_VALUE needs only every 4th pixel (the MDI lattice) and USFLUXL, MEANGBL and AREA
    only the patch and its neighbours, and every pixel renders on its own (`_observed`). Returns the
    observation's flags (with a zero magnetogram of the record's shape, a view that costs nothing) and the keywords; None
    once the patch has faded. A record with NaN pixels is rendered whole."""
    factor = SUBSAMPLE[instrument.series]
    if factor == 1:
        obs = observe(region, instrument, step, settings)
        return (obs, record_keywords(obs, instrument.cdelt_deg)) if ((obs.bitmap & ON_PATCH) > 0).any() else None
    grid = canvas(region, instrument, settings)
    shape = (grid.v.size, grid.u.size)
    draws = _draws(region, instrument, step, settings, shape)
    lattice_at = (slice(None, None, factor), slice(None, None, factor))
    lattice = _los(region, instrument, grid, draws, *lattice_at)
    patch = _patch(lattice, shape, factor, settings.patch_threshold, settings.patch_dilation)
    width = shape[1] - draws.cut
    patch = patch[:, :width]
    if not patch.any():
        return None
    flags = Observation(np.broadcast_to(np.float32(0), (shape[0], width)), np.empty(0, np.int16), draws.quality, draws.nan_keyword)
    if draws.nan_row is not None:
        obs = observe(region, instrument, step, settings)
        return Observation(obs.magnetogram, obs.bitmap, obs.quality, obs.nan_keyword), record_keywords(obs, instrument.cdelt_deg)
    coarse_cols = slice(0, width, factor)
    on_lattice = _observed(lattice[:, : len(range(0, width, factor))], patch[::factor, ::factor], instrument, grid,
                           draws, settings, slice(None, None, factor), coarse_cols)
    rows, cols = np.flatnonzero(patch.any(axis=1)), np.flatnonzero(patch.any(axis=0))
    box = (slice(max(rows[0] - 1, 0), min(rows[-1] + 2, shape[0])), slice(max(cols[0] - 1, 0), min(cols[-1] + 2, width)))
    inside = patch[box]
    observed = _observed(_los(region, instrument, grid, draws, *box), inside, instrument, grid, draws, settings, *box)
    keywords = _patch_keywords(observed, inside, instrument.cdelt_deg)
    keywords["R_VALUE"] = r_value(on_lattice, MDI.cdelt_deg)
    return flags, keywords


def _gradient(field: np.ndarray) -> np.ndarray:
    """|grad field| as numpy.gradient computes it (central inside, one-sided at the edges), float32."""
    gy, gx = np.empty_like(field), np.empty_like(field)
    gx[:, 1:-1] = (field[:, 2:] - field[:, :-2]) * np.float32(0.5)
    gx[:, 0], gx[:, -1] = field[:, 1] - field[:, 0], field[:, -1] - field[:, -2]
    gy[1:-1] = (field[2:] - field[:-2]) * np.float32(0.5)
    gy[0], gy[-1] = field[1] - field[0], field[-1] - field[-2]
    return np.sqrt(gx * gx + gy * gy)


def _patch_keywords(field: np.ndarray, mask: np.ndarray, cdelt_deg: float) -> dict[str, float]:
    return {
        "USFLUXL": float(np.abs(field[mask]).sum(dtype=np.float64) * pixel_area_cm2(cdelt_deg)),
        "MEANGBL": float(_gradient(field)[mask].mean(dtype=np.float64)),
        "AREA": area_mh(mask, cdelt_deg),
    }


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


def record_keywords(obs: Observation, cdelt_deg: float) -> dict[str, float]:
    """`flarelib.keywords.compute_keywords` of a rendered record, in float32 where it is safe (the
    same numbers to 1e-6; the tests compare them)."""
    field, mask = obs.magnetogram, (obs.bitmap & ON_PATCH) > 0
    if np.isnan(field).any():
        return compute_keywords(field, mask, cdelt_deg)
    return {**_patch_keywords(field, mask, cdelt_deg), "R_VALUE": r_value(field, cdelt_deg)}


def _keyword_row(region: Region, instrument: Instrument, step: int, settings: WorldSettings) -> dict | None:
    """The record's keywords from its rendered magnetogram; None once the patch has faded."""
    seen = observe_keywords(region, instrument, step, settings)
    if seen is None:
        return None
    obs, keywords = seen
    keywords = {key: keywords[key] for key in ("USFLUXL", "MEANGBL", "R_VALUE", "AREA")}
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
    sizes = np.array([record_steps(r, i, g).size for r, i, g in jobs])  # the work, for an honest estimate
    total, began, reported = int(sizes.sum()), time.perf_counter(), [0]

    def report(count: int) -> None:
        done = int(sizes[:count].sum())
        if progress is not None and (done - reported[0] >= total / 10 or count == len(jobs)):
            reported[0] = done
            progress(f"the synthetic world: {done}/{total} records rendered, {eta(done, total, time.perf_counter() - began)}")

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


def relax_cores(regions: list[Region], first_m_flares: dict[int, float]) -> None:
    """Give each core the time of its region's first M1.0+ flare after it emerged: the flare spends
    the core's free energy and the core fades (`Bipole.t_relax`). The records render it so."""
    for region in regions:
        if region.core is not None and region.id in first_m_flares:
            region.bipoles[region.core].t_relax = float(first_m_flares[region.id])
