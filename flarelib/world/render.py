"""Rendering the synthetic world's records: a region through an instrument at one time.

A record is the line-of-sight field of the region's bipoles (blurred by the point-spread in closed
form), fine structure inside the tracked patch, and noise; its keywords are those
`flarelib.keywords` computes from it. `observe` renders a whole record (what a chapter reads), or
only every 4th pixel of it (what the CNN reads); `chunk_keywords` computes the same keywords from
only the pixels they depend on, each rendered exactly as in the whole record, for several records
of a region at once, which is how the world's record table is made quickly
(`flarelib.world.records`).
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

import numpy as np
from scipy import ndimage

from flarelib.keywords import ON_PATCH, area_mh, compute_keywords, pixel_area_cm2, r_value, r_values_of_stack
from flarelib.schema import SUBSAMPLE
from flarelib.seeding import rng_for
from flarelib.world.bipoles import SIZE_FACTOR
from flarelib.world.canvas import Canvas, canvas
from flarelib.world.instruments import BAD_QUALITY, CADENCE_H, HMI, MDI, Instrument, noise
from flarelib.world.regions import Bipole, Region
from flarelib.world.settings import WorldSettings


@dataclass(frozen=True)
class Observation:
    """One rendered record: the magnetogram, its bitmap, and what went wrong with it on purpose."""

    magnetogram: np.ndarray
    bitmap: np.ndarray
    quality: int
    nan_keyword: str | None  # the keyword this record lost, if any


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
    gain: float  # the record's calibration relative to the instrument's gain
    noise_scale: float  # the record's noise relative to the instrument's (how many exposures it averages)
    threshold: float  # the field (G) above which the tracker puts a pixel in this record's patch


def _draws(region: Region, instrument: Instrument, step: int, settings: WorldSettings, shape: tuple[int, int]) -> _Draws:
    t = step * CADENCE_H
    mu = float(np.cos(np.deg2rad(region.lat)) * np.cos(np.deg2rad(float(region.cmd(t)))))
    rng = rng_for(settings.seed, "record", instrument.name, region.id, step)
    optics = settings.optics(instrument.name)
    field_noise = noise(settings.seed, instrument, optics.noise_gauss, rng, shape)
    cut = int(rng.integers(3, 6)) if rng.uniform() < settings.p_size_jump else 0  # the tracker's box jumps
    nan_row = int(rng.integers(0, shape[0])) if rng.uniform() < settings.p_nan_pixels else None  # a dropout
    quality = BAD_QUALITY if rng.uniform() < settings.p_bad_quality else 0
    nan_keyword = str(rng.choice(["USFLUXL", "MEANGBL", "R_VALUE", "AREA"])) if rng.uniform() < settings.p_nan_keyword else None
    gain = float(np.exp(rng.normal(0.0, optics.gain_scatter)))
    noise_scale = float(np.exp(rng.normal(0.0, optics.noise_scatter)))
    typical = settings.hmi_patch_threshold if instrument == HMI else settings.patch_threshold
    threshold = typical * float(np.exp(rng.normal(0.0, settings.patch_scatter)))
    return _Draws(t, mu, field_noise, cut, nan_row, quality, nan_keyword, gain, noise_scale, threshold)


def observe(region: Region, instrument: Instrument, step: int, settings: WorldSettings, every: int = 1) -> Observation:
    """Render record `step` (T_REC = EPOCH + step * 96 min) of a region through an instrument.

    The line-of-sight field (radial field times mu) through the point-spread, with fine structure
    and noise at the instrument's pixel, and the calibration gain.

    Parameters
    ----------
    region, instrument : what is observed, and through what.
    step : the record's 96-minute step.
    settings : the world's settings.
    every : render only every `every`-th pixel of each row and column: exactly the whole record
        sliced `[::every, ::every]`, for a sixteenth of the cost of an HMI record when the CNN
        (which subsamples HMI 4x) is all that reads it.
    """
    grid = canvas(region, instrument, settings)
    shape = (grid.v.size, grid.u.size)
    draws = [_draws(region, instrument, step, settings, shape)]
    factor = SUBSAMPLE[instrument.series]
    lattice = _los(region, instrument, settings, grid, draws, slice(None, None, factor), slice(None, None, factor))
    patch = _fine(_patch(lattice, draws, dilation(instrument, settings)), factor, shape)[0]
    at = (slice(None, None, every), slice(0, shape[1] - draws[0].cut, every))
    los = lattice[..., : len(range(*at[1].indices(shape[1])))] if every == factor else _los(region, instrument, settings, grid, draws, *at)
    observed = _observed(los, patch[at], instrument, grid, draws, settings, *at)[0]
    bitmap = np.where(patch[at], ON_PATCH | 4, 1).astype(np.int16)
    if draws[0].nan_row is not None:
        rows = np.arange(shape[0])[at[0]]
        observed[(rows >= draws[0].nan_row) & (rows < draws[0].nan_row + 3)] = np.nan
    return Observation(observed, bitmap, draws[0].quality, draws[0].nan_keyword)


def observe_keywords(region: Region, instrument: Instrument, step: int, settings: WorldSettings) -> tuple[Observation, dict] | None:
    """The record's keywords, as `record_keywords(observe(...))` gives them, without rendering the
    whole box: R_VALUE needs only every 4th pixel (the MDI lattice) and USFLUXL, MEANGBL and AREA
    only the patch and its neighbours, and every pixel renders on its own (`_observed`). Returns the
    observation's flags (with a zero magnetogram of the record's shape, a view that costs nothing)
    and the keywords; None once the patch has faded. A record with NaN pixels is rendered whole.
    One record of `chunk_keywords`, which the world uses."""
    return chunk_keywords(region, instrument, np.array([step]), settings)[0]


CHUNK = 16  # records of a region rendered together (`chunk_keywords`)


def _los(region: Region, instrument: Instrument, settings: WorldSettings, grid: Canvas, draws: list[_Draws], rows: slice,
         cols: slice) -> np.ndarray:
    """The noise-free line-of-sight field of records (`draws`) of a region on the pixels `rows` x
    `cols` of its box, (records, rows, columns), G, float32.

    Eq. 18 is x exp(-x^2/2sx^2 - y^2/2sy^2) on the bipole's tilted axes with sx^2 = (a rho)^2/2 and
    sy^2 = (a rho)^2/4: a derivative of a Gaussian, so its convolution with the instrument's Gaussian
    point-spread is one in closed form, with the widths widened by the point-spread. Exact, and no
    image convolution; pixel by pixel, so any part of the box renders as it does in the whole. Once
    a bipole has stopped separating its shape no longer changes, only its amplitude: the records of
    a chunk that share a shape compute it once (`_shapes`)."""
    optics = settings.optics(instrument.name)
    psf = np.deg2rad(optics.psf_sigma_px * instrument.cdelt_deg)
    u, v = grid.u[cols], grid.v[rows]
    t = np.array([d.t for d in draws])
    seen = np.array([d.mu * optics.gain * d.gain for d in draws])
    smooth = np.zeros((t.size, v.size, u.size), dtype=np.float32)
    product = np.empty((v.size, u.size), dtype=np.float32)
    for bipole in region.bipoles:
        amplitude, rho = bipole.state(t)
        sx2, sy2 = (SIZE_FACTOR * rho) ** 2 / 2, (SIZE_FACTOR * rho) ** 2 / 4
        wx2, wy2 = sx2 + psf**2, sy2 + psf**2
        scale = (-amplitude / rho * (sx2 / wx2) ** 1.5 * (sy2 / wy2) ** 0.5 * seen).astype(np.float32)
        widths = np.stack([(-0.5 / wx2), (-0.5 / wy2)], axis=1).astype(np.float32)
        for shape, records in _shapes(bipole, u, v, widths, amplitude != 0.0):
            for r in records:
                np.multiply(shape, scale[r], out=product)
                smooth[r] += product
    return smooth


def _shapes(bipole: Bipole, u: np.ndarray, v: np.ndarray, widths: np.ndarray,
            live: np.ndarray) -> Iterator[tuple[np.ndarray, np.ndarray]]:
    """The bipole's shape, along * exp(along^2 fx + across^2 fy) on its tilted axes, once for each
    distinct (fx, fy) of the live records, with the records that have it."""
    cos, sin = np.float32(np.cos(bipole.tilt)), np.float32(np.sin(bipole.tilt))
    du, dv = u - np.float32(np.deg2rad(bipole.dlon)), v - np.float32(np.deg2rad(bipole.dlat))
    along = cos * du[None, :] + sin * dv[:, None]
    across = -sin * du[None, :] + cos * dv[:, None]
    along2, across2 = along * along, across * across
    distinct, which = np.unique(widths[live], axis=0, return_inverse=True)
    records = np.flatnonzero(live)
    for k, (fx, fy) in enumerate(distinct):
        shape = along2 * fx
        shape += across2 * fy
        np.exp(shape, out=shape)
        shape *= along
        yield shape, records[np.ravel(which) == k]


def _observed(los: np.ndarray, patch: np.ndarray, instrument: Instrument, grid: Canvas, draws: list[_Draws],
              settings: WorldSettings, rows: slice, cols: slice) -> np.ndarray:
    """The observed field of records on `rows` x `cols` (`los` and `patch` stacked by record): the
    line-of-sight field, fine structure inside the patch (relative to the field, with a floor),
    and noise. Pixel by pixel, so that any part of the box renders exactly as it does in the whole."""
    relative, floor = ((settings.texture_hmi, settings.texture_floor_hmi) if instrument == HMI
                       else (settings.texture_mdi, settings.texture_floor_mdi))
    angle = [2 * np.pi * d.t / 48.0 for d in draws]  # the fine structure renews itself over about a day
    cos = np.array([np.float32(np.cos(a)) for a in angle], dtype=np.float32)[:, None, None]
    sin = np.array([np.float32(np.sin(a)) for a in angle], dtype=np.float32)[:, None, None]
    floors = np.array([np.float32(floor * d.mu) for d in draws], dtype=np.float32)[:, None, None]
    # los + texture * (|los| relative + floor) * patch + noise, in place, in the order numpy evaluates it
    fine = grid.textures[0][rows, cols] * cos
    fine += grid.textures[1][rows, cols] * sin
    weight = np.abs(los)
    weight *= np.float32(relative)
    weight += floors
    fine *= weight
    fine *= patch
    fine += los
    for image, d in zip(fine, draws):
        image += d.noise[rows, cols] if d.noise_scale == 1.0 else d.noise[rows, cols] * np.float32(d.noise_scale)
    return fine


_CROSS = np.zeros((3, 3, 3), dtype=bool)
_CROSS[1] = ndimage.generate_binary_structure(2, 1)  # 4-connected within an image, nothing across images


def _grow_cross(mask: np.ndarray, iterations: int) -> np.ndarray:
    """`ndimage.binary_dilation` of each image of a stack by the 4-connected cross, `iterations`
    times: every pixel within that many steps of the mask (taxicab), found by one chamfer distance
    transform of the whole stack (a scipy call per record, or per iteration, cost more)."""
    distance = ndimage.distance_transform_cdt(~mask, metric=_CROSS)
    return (distance >= 0) & (distance <= iterations)


def dilation(instrument: Instrument, settings: WorldSettings) -> int:
    """How many MDI pixels of plage the instrument's tracker takes in around the flux."""
    return settings.hmi_patch_dilation if instrument == HMI else settings.patch_dilation


def _patch(lattice: np.ndarray, draws: list[_Draws], dilation: int) -> np.ndarray:
    """The tracked patch of records on MDI's pixel (`lattice`: every 4th HMI pixel, as the fusion
    samples, stacked by record): where the smoothed noise-free field stands above each record's
    threshold, widened by `dilation` such pixels (the plage around the flux); no reach across records."""
    smooth = ndimage.gaussian_filter(np.abs(lattice), (0.0, 1.0, 1.0))
    thresholds = np.array([d.threshold for d in draws], dtype=np.float32)[:, None, None]
    return _grow_cross(smooth > thresholds, dilation)


def _fine(coarse: np.ndarray, factor: int, shape: tuple[int, int]) -> np.ndarray:
    """A patch on MDI's pixel brought to the instrument's pixels (each covers factor x factor)."""
    if factor == 1:
        return coarse
    return np.repeat(np.repeat(coarse, factor, axis=1), factor, axis=2)[:, : shape[0], : shape[1]]


def chunk_keywords(region: Region, instrument: Instrument, steps: np.ndarray, settings: WorldSettings) -> list[tuple[Observation, dict] | None]:
    """`observe_keywords` of several records of one region, rendered together: the same numbers,
    bit for bit (a test compares them), with a numpy call per chunk instead of per record."""
    if len(steps) == 0:
        return []
    grid = canvas(region, instrument, settings)
    shape = (grid.v.size, grid.u.size)
    factor = SUBSAMPLE[instrument.series]
    draws = [_draws(region, instrument, int(step), settings, shape) for step in steps]
    every = (slice(None, None, factor), slice(None, None, factor))
    lattice = _los(region, instrument, settings, grid, draws, *every)
    coarse = _patch(lattice, draws, dilation(instrument, settings))
    on_lattice = _observed(lattice, coarse, instrument, grid, draws, settings, *every)
    fine = _fine(coarse, factor, shape)
    out: list[tuple[Observation, dict] | None] = [None] * len(draws)
    boxes = {}
    for i, d in enumerate(draws):
        width = shape[1] - d.cut
        patch = fine[i, :, :width]
        if not patch.any():
            continue
        if d.nan_row is not None:
            obs = observe(region, instrument, int(steps[i]), settings)
            out[i] = (obs, record_keywords(obs, instrument.cdelt_deg))
            continue
        rows, cols = np.flatnonzero(patch.any(axis=1)), np.flatnonzero(patch.any(axis=0))
        boxes[i] = (slice(max(rows[0] - 1, 0), min(rows[-1] + 2, shape[0])), slice(max(cols[0] - 1, 0), min(cols[-1] + 2, width)))
    if not boxes:
        return out
    if factor == 1:
        observed, origin = on_lattice, (0, 0)
    else:
        union = (slice(min(b[0].start for b in boxes.values()), max(b[0].stop for b in boxes.values())),
                 slice(min(b[1].start for b in boxes.values()), max(b[1].stop for b in boxes.values())))
        chosen = list(boxes)
        mine = [draws[i] for i in chosen]
        los = _los(region, instrument, settings, grid, mine, *union)
        observed = np.empty((len(draws), *los.shape[1:]), np.float32)
        observed[chosen] = _observed(los, fine[chosen][:, union[0], union[1]], instrument, grid, mine, settings, *union)
        origin = (union[0].start, union[1].start)
    whole = [i for i in boxes if draws[i].cut == 0]  # a box that lost columns has its own edge: R on its own
    r_values = dict(zip(whole, r_values_of_stack(on_lattice[whole])))
    for i, (rows, cols) in boxes.items():
        d = draws[i]
        width = shape[1] - d.cut
        local = (slice(rows.start - origin[0], rows.stop - origin[0]), slice(cols.start - origin[1], cols.stop - origin[1]))
        keywords = _patch_keywords(observed[i][local], fine[i][rows, cols], instrument.cdelt_deg)
        keywords["R_VALUE"] = r_values[i] if i in r_values else r_value(on_lattice[i, :, : len(range(0, width, factor))], MDI.cdelt_deg)
        flags = Observation(np.broadcast_to(np.float32(0), (shape[0], width)), np.empty(0, np.int16), d.quality, d.nan_keyword)
        out[i] = (flags, keywords)
    return out


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


def record_keywords(obs: Observation, cdelt_deg: float) -> dict[str, float]:
    """`flarelib.keywords.compute_keywords` of a rendered record, in float32 where it is safe (the
    same numbers to 1e-6; the tests compare them)."""
    field, mask = obs.magnetogram, (obs.bitmap & ON_PATCH) > 0
    if np.isnan(field).any():
        return compute_keywords(field, mask, cdelt_deg)
    return {**_patch_keywords(field, mask, cdelt_deg), "R_VALUE": r_value(field, cdelt_deg)}
