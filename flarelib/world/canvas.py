"""A region's pixel grid through each instrument, and the Sun's fine structure over it (`canvas`).

The fine structure is the Sun's, one for both instruments: HMI resolves it, MDI samples it. It is what
gives the weak field of a tracked patch its pixel-to-pixel gradients (MEANGBL's level: in the real SMARP
cutout of 2010-07-14 the patch's mean gradient is 52 G per pixel where the quiet Sun's noise is 15 G),
and because both instruments see the same structure, co-temporal records agree on where the field
crosses R_VALUE's 150 G threshold as far as their noise, point-spreads and calibrations let them.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy import ndimage

from flarelib.seeding import rng_for
from flarelib.world.instruments import HMI, Instrument
from flarelib.world.regions import Region
from flarelib.world.settings import WorldSettings


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


def _grid(region: Region, instrument: Instrument) -> tuple[np.ndarray, np.ndarray]:
    """Longitude and latitude offsets (radians, float32) of the columns and rows of the region's box."""
    scale = region.hmi_scale if instrument == HMI else 1.0
    nx = max(8, int(round(2 * region.half_lon * scale / instrument.cdelt_deg)))
    ny = max(8, int(round(2 * region.half_lat * scale / instrument.cdelt_deg)))
    u = np.deg2rad((np.arange(nx) - (nx - 1) / 2) * instrument.cdelt_deg).astype(np.float32)
    v = np.deg2rad((np.arange(ny) - (ny - 1) / 2) * instrument.cdelt_deg).astype(np.float32)
    return u, v


def _on_lattice(x: np.ndarray, fine: np.ndarray) -> np.ndarray:
    """For each coordinate `x`, the index of the nearest of every 4th pixel of the finer axis `fine`
    (the pixels that HMI's 4x subsampling keeps)."""
    step = 4 * float(fine[1] - fine[0])
    return (4 * np.clip(np.rint((x - fine[0]) / step), 0, (fine.size - 1) // 4)).astype(int)


def canvas(region: Region, instrument: Instrument, settings: WorldSettings) -> Canvas:
    """The region's grid through the instrument, with the Sun's fine structure over it (cached: a
    region's records share it).

    The fine structure is the Sun's, one for both instruments: two fields on HMI's pixels, correlated
    over `texture_sigma_deg` (a third of an MDI pixel), which HMI resolves; MDI's pixel takes the value of
    the HMI pixel that the 4x subsampling keeps nearest it, so that R_VALUE, which both compute on
    MDI's pixel, sees the same structure through either instrument."""
    key = (settings.seed, settings.texture_sigma_deg, region.id, instrument.name, region.half_lon, region.half_lat)
    if key not in _CANVASES:
        if len(_CANVASES) > 64:
            _CANVASES.clear()
        hu, hv = _grid(region, HMI)
        if instrument == HMI:
            rng = rng_for(settings.seed, "fine structure", region.id)
            sigma = settings.texture_sigma_deg / HMI.cdelt_deg
            _CANVASES[key] = Canvas(hu, hv, tuple(_unit_texture(rng, (hv.size, hu.size), sigma) for _ in range(2)))
        else:
            u, v = _grid(region, instrument)
            rows, cols = _on_lattice(v, hv), _on_lattice(u, hu)
            fine = canvas(region, HMI, settings).textures  # drawn once per region, for both instruments
            _CANVASES[key] = Canvas(u, v, tuple(np.ascontiguousarray(f[np.ix_(rows, cols)]) for f in fine))
    return _CANVASES[key]
