"""The teaching world's active regions: seeded bipoles that emerge, separate, decay and sometimes
collide, on a rotating Sun.

One underlying photospheric field per region, built from Yeates (2020) bipolar magnetic regions
(`flarelib.world.bipoles`): a main bipole, sometimes a second one emerging into it, and in some
regions a compact sheared core pressed into the inversion line, which keeps the region productive (or,
where `WorldSettings.core_relaxes`, relaxes at the region's first M flare: `relax_cores`). Regions emerge with cycle-like activity around each cycle's maximum, follow
Joy's and Hale's laws, and get zero, one or two NOAA numbers.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from flarelib.seeding import rng_for
from flarelib.world.bipoles import SIZE_FACTOR
from flarelib.world.instruments import HMI, MDI, hours
from flarelib.world.settings import WorldSettings

RELAX_HOURS = 6.0  # a core fades over this long after the flare that spends it
# NOAA's region numbers by date, so that a synthetic region carries a number of its year: the number of the
# first flaring region NOAA's SWPC event list gives in each year (read on the day it lists it), and 7978, the
# number of the first region of SMARP's mission in 1996.
NOAA_NUMBERING = {"1996-07-01": 7978, "1997-02-04": 8016, "1998-01-01": 8124, "1999-01-01": 8419, "2000-01-01": 8810,
                  "2001-01-01": 9283, "2002-01-01": 9751, "2003-01-01": 10234, "2004-01-01": 10528, "2005-01-01": 10715,
                  "2006-01-01": 10838, "2007-01-01": 10933, "2008-01-01": 10980, "2009-07-05": 11024, "2010-01-01": 11039,
                  "2011-01-01": 11141, "2012-01-01": 11386, "2013-01-01": 11638, "2014-01-01": 11936, "2015-01-01": 12248,
                  "2016-01-01": 12473, "2017-01-21": 12628, "2018-02-04": 12699, "2019-01-06": 12732, "2020-08-08": 12770,
                  "2020-12-14": 12792}
CYCLE_MAXIMA = {23: pd.Timestamp("2001-11-01"), 24: pd.Timestamp("2014-04-01")}


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
    cycle: int = 24  # the solar cycle the region belongs to (23: seen by MDI; 24: by HMI, and by both in 2010)

    def cmd(self, t: np.ndarray | float) -> np.ndarray:
        """Central-meridian distance: Snodgrass differential rotation less Earth's orbital motion."""
        s2 = np.sin(np.deg2rad(self.lat)) ** 2
        synodic = 14.71 - 2.39 * s2 - 1.78 * s2**2 - 0.9856  # deg/day
        return self.cmd0 + synodic * (np.asarray(t, dtype=float) - self.t_start) / 24.0


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
    half_lon = max(abs(b.dlon) + 2.0 * SIZE_FACTOR * np.rad2deg(b.rho_max) for b in bipoles) + margin
    half_lat = max(abs(b.dlat) + 1.6 * SIZE_FACTOR * np.rad2deg(b.rho_max) for b in bipoles) + margin
    t_end = max(b.t_emerge + b.t_grow + settings.fade * b.t_decay for b in bipoles)
    return Region(index, lat, float(rng.uniform(-150, 80)), float(t0), float(t_end), bipoles,
                  float(half_lon), float(half_lat), float(rng.uniform(0.95, 1.05)),
                  shear=float(rng.normal(0, settings.shear_sigma)), core=core, cycle=cycle)


def generate_regions(settings: WorldSettings) -> list[Region]:
    """The regions of the world, sorted by first appearance, with NOAA numbers assigned."""
    rng = rng_for(settings.seed, "regions")
    times = [(t, 23) for t in _emergence_times(rng, settings.regions_cycle23, 23, (MDI.start, HMI.start))]
    times += [(t, 24) for t in _emergence_times(rng, settings.regions_cycle24, 24, (MDI.end, HMI.end))]
    overlap = (hours(pd.Timestamp("2010-05-01")), hours(pd.Timestamp("2010-10-10")))
    times += [(t, 24) for t in rng.uniform(*overlap, size=settings.overlap_regions)]
    regions = [_region(rng, i, t, c, settings) for i, (t, c) in enumerate(sorted(times))]
    noaa = 0
    for region in regions:
        draw = rng.uniform()
        count = 0 if draw < settings.p_no_noaa else 2 if draw < settings.p_no_noaa + settings.p_two_noaa else 1
        noaa = max(noaa, noaa_number_of(region.t_start))  # the year's numbering, and never a number twice
        region.noaa = list(range(noaa, noaa + count))
        noaa += count
    return regions


def noaa_number_of(t: float) -> int:
    """The NOAA region number NOAA was giving at time `t` (hours since EPOCH), from `NOAA_NUMBERING`."""
    dates = np.array([hours(pd.Timestamp(d)) for d in NOAA_NUMBERING])
    return int(round(np.interp(t, dates, np.array(list(NOAA_NUMBERING.values()), dtype=float))))


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
