"""Rendering the synthetic world's records: a region through an instrument at one time.

A record is the line-of-sight field of the region's bipoles (blurred by the point-spread in closed
form), fine structure inside the tracked patch, and noise; its keywords are those
`flarelib.keywords` computes from it. `observe` renders a whole record (what a chapter reads);
`observe_keywords` computes the same keywords from only the pixels they depend on, each rendered
exactly as in the whole record, which is how the world is made quickly (`keyword_records`).
"""

from __future__ import annotations

import os
import time
from dataclasses import dataclass
from typing import Callable

import numpy as np
import pandas as pd
from scipy import ndimage

from flarelib.images import SUBSAMPLE, subsample
from flarelib.keywords import ON_PATCH, area_mh, compute_keywords, pixel_area_cm2, r_value
from flarelib.seeding import rng_for
from flarelib.sources.bipoles import SIZE_FACTOR
from flarelib.sources.synthetic import (BAD_QUALITY, CADENCE_H, HMI, MDI, Bipole, Instrument, Region, WorldSettings,
                                        _gaps, record_steps, step_time)


def blurred_bipole(bipole: Bipole, t: float, u: np.ndarray, v: np.ndarray, psf_rad: float) -> np.ndarray | None:
    """The bipole's radial field (G) at time t seen through a Gaussian point-spread of `psf_rad`.

    `u`, `v` are the pixels' longitude and latitude offsets from the region centre (radians, a row
    and a column). Eq. 18 is x exp(-x^2/2sx^2 - y^2/2sy^2) on the bipole's tilted axes with
    sx^2 = (a rho)^2/2 and sy^2 = (a rho)^2/4: a derivative of a Gaussian, so its convolution with a
    Gaussian point-spread is one in closed form, with the widths widened by the point-spread.
    Exact, and no image convolution: the cheap route to every record of the world.

    Parameters
    ----------
    bipole : the bipole.
    t : hours since EPOCH.
    u, v : the pixels' offsets from the region centre in longitude (a row) and latitude (a column), radians.
    psf_rad : the point-spread's Gaussian sigma (radians).
    """
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


def observe(region: Region, instrument: Instrument, step: int, settings: WorldSettings, every: int = 1) -> Observation:
    """Render record `step` (T_REC = EPOCH + step * 96 min) of a region through an instrument.

    The line-of-sight field (radial field times mu) through the point-spread, with fine structure
    and noise at the instrument's pixel, and the calibration gain. With `every` > 1 only every
    `every`-th pixel of each row and column is rendered: exactly `observe(...)` sliced
    `[::every, ::every]`, for a sixteenth of the cost of an HMI record when the CNN (which
    subsamples HMI 4x) is all that reads it."""
    grid = canvas(region, instrument, settings)
    shape = (grid.v.size, grid.u.size)
    draws = _draws(region, instrument, step, settings, shape)
    factor = SUBSAMPLE[instrument.series]
    lattice = _los(region, instrument, grid, draws, slice(None, None, factor), slice(None, None, factor))
    patch = _patch(lattice, shape, factor, settings.patch_threshold, settings.patch_dilation)
    at = (slice(None, None, every), slice(0, shape[1] - draws.cut, every))
    los = lattice[:, : len(range(*at[1].indices(shape[1])))] if every == factor else _los(region, instrument, grid, draws, *at)
    observed = _observed(los, patch[at], instrument, grid, draws, settings, *at)
    bitmap = np.where(patch[at], ON_PATCH | 4, 1).astype(np.int16)
    if draws.nan_row is not None:
        rows = np.arange(shape[0])[at[0]]
        observed[(rows >= draws.nan_row) & (rows < draws.nan_row + 3)] = np.nan
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
        return obs, record_keywords(obs, instrument.cdelt_deg)
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
