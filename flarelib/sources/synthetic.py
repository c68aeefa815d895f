"""The embedded synthetic world: seeded active regions seen by two instrument models.

A teaching and testing world, not the Sun. One underlying photospheric field per region, built from
Yeates (2020) bipolar magnetic regions that emerge, separate, decay and sometimes collide (and in some
regions a compact sheared core at the inversion line), rotates across the disk; an MDI-like and an
HMI-like instrument observe it (pixel scale, point-spread, fine structure, noise, gain) during their
real mission spans, so May-October 2010 has co-temporal pairs. Flares come from the steepest inversion
line of the true field, the flux and its growth, a hidden shear and bursts, and a core relaxes at its
first M flare (`flarelib.sources.synthetic_flares`). The constants are fitted to the study authors'
window tables (`flarelib.sources.calibration`). The imperfections the study's rules exist for are
injected on purpose: bad quality, NaN pixels, boxes that change size, missing keywords, data gaps,
regions with no or two NOAA numbers, flares with no region or an unknown class.

Everything is a deterministic function of the settings: a record's magnetogram is re-rendered on
demand from the region's parameters (`flarelib.sources.synthetic_render`, so the store stays small and
reads are lazy) and is identical to the one its keywords were computed from.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

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
    rho_median_deg: float = 2.05
    rho_sigma: float = 0.5  # of ln rho
    b0_median: float = 4800.0  # at the median separation
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
    cycle23_strength: float = 1.066  # cycle 23's bipole amplitudes relative to cycle 24's
    cycle23_size: float = 1.374  # and separations
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
