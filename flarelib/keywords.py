"""Active-region keywords from a line-of-sight CEA magnetogram (Table 1 of the study).

USFLUXL, MEANGBL and AREA are sums or means over the region's pixels (the bitmap's ON_PATCH bit in
SMARP/SHARP); R_VALUE (Schrijver 2007) is computed over the whole cutout. Conventions follow the
SMARP/SHARP pipelines and are checked against the header of a real SMARP cutout in the tests:
USFLUXL in Mx, MEANGBL in G per pixel, R_VALUE as log10 of a sum in G (0 when there is no
inversion line), AREA in micro-hemispheres.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy import ndimage

RSUN_REF_M = 6.96e8  # reference solar radius of the SMARP/SHARP pipelines (m)
ON_PATCH = 32  # bitmap bit of the pixels inside the tracked region
MDI_PIXEL_DEG = 0.12  # SMARP CEA pixel, the resolution Schrijver's R is defined at


@dataclass(frozen=True)
class RSettings:
    """Schrijver (2007) R as the pipelines compute it."""

    threshold_gauss: float = 150.0  # strong-field threshold of each polarity
    fwhm_pixels: float = 10.0  # Gaussian weighting of the inversion-line map, at MDI resolution
    dilation: int = 3  # square structuring element of the polarity masks


def pixel_area_cm2(cdelt_deg: float, rsun_ref_m: float = RSUN_REF_M) -> float:
    """Area on the sphere of one CEA pixel of `cdelt_deg` degrees: CEA pixels are all equal-area."""
    return float((np.deg2rad(cdelt_deg) * rsun_ref_m * 100.0) ** 2)


def region_mask(bitmap: np.ndarray) -> np.ndarray:
    """Pixels inside the tracked patch (bit ON_PATCH of the SMARP/SHARP bitmap)."""
    return (np.asarray(bitmap).astype(np.int64) & ON_PATCH) > 0


def usfluxl(bl: np.ndarray, mask: np.ndarray, cdelt_deg: float) -> float:
    """Total unsigned line-of-sight flux in the region (Mx); NaN pixels are skipped."""
    return float(np.nansum(np.abs(bl[mask])) * pixel_area_cm2(cdelt_deg))


def meangbl(bl: np.ndarray, mask: np.ndarray) -> float:
    """Mean magnitude of the horizontal gradient of B_L in the region (G per pixel).

    Central differences inside, one-sided at the edges (numpy.gradient), as the pipelines do."""
    gy, gx = np.gradient(np.asarray(bl, dtype=float))
    return float(np.nanmean(np.hypot(gx, gy)[mask]))


def area_mh(mask: np.ndarray, cdelt_deg: float) -> float:
    """De-projected area of the region in micro-hemispheres (1 mH = 1e-6 of 2 pi R^2)."""
    return float(np.count_nonzero(mask) * np.deg2rad(cdelt_deg) ** 2 / (2 * np.pi) * 1e6)


def sample(image: np.ndarray, factor: int) -> np.ndarray:
    """Every `factor`-th pixel in both dimensions, from the first: how the SHARP pipeline brings an
    HMI magnetogram to the ~2 arcsec pixel R is defined at (its `fsample`; block averaging instead
    misses the pipeline's R_VALUE by 0.10 dex on real records, sampling by 0.001)."""
    return np.asarray(image, dtype=float)[::factor, ::factor] if factor > 1 else np.asarray(image, dtype=float)


def inversion_line_mask(bl: np.ndarray, settings: RSettings = RSettings()) -> np.ndarray:
    """Pixels where the dilated strong-field masks of the two polarities overlap (Schrijver 2007)."""
    field = np.nan_to_num(np.asarray(bl, dtype=float))
    element = np.ones((settings.dilation, settings.dilation), dtype=bool)
    positive = ndimage.binary_dilation(field > settings.threshold_gauss, element)
    negative = ndimage.binary_dilation(field < -settings.threshold_gauss, element)
    return positive & negative


def inversion_line_weight(bl: np.ndarray, settings: RSettings = RSettings()) -> np.ndarray:
    """The inversion-line mask smoothed by a Gaussian of the settings' FWHM (zero outside the cutout)."""
    return _smoothed(inversion_line_mask(bl, settings), settings)


def _kernel_radius(settings: RSettings) -> int:
    """How far `_smoothed` reaches: scipy truncates its Gaussian at 4 sigma."""
    sigma = settings.fwhm_pixels / (2 * np.sqrt(2 * np.log(2)))
    return int(4.0 * sigma + 0.5)


def _smoothed(mask: np.ndarray, settings: RSettings) -> np.ndarray:
    sigma = settings.fwhm_pixels / (2 * np.sqrt(2 * np.log(2)))
    return ndimage.gaussian_filter(mask.astype(float), sigma, mode="constant")


def r_value(bl: np.ndarray, cdelt_deg: float, settings: RSettings = RSettings()) -> float:
    """log10 of the unsigned field near strong-field inversion lines (G); 0 below 1 G, as the
    pipelines write it.

    Finer magnetograms (HMI, 0.03 deg) are first sampled every 4th pixel to MDI's 0.12 deg, where R
    is defined (Schrijver 2007; the SHARP pipeline's factor round(2 arcsec / pixel) is 4 on HMI CEA
    cutouts), so that SHARP and SMARP values are comparable."""
    factor = max(1, int(round(MDI_PIXEL_DEG / cdelt_deg)))
    field = sample(bl, factor)
    return r_from_lines(field, inversion_line_mask(field, settings), settings)


def r_from_lines(field: np.ndarray, lines: np.ndarray, settings: RSettings = RSettings()) -> float:
    """R of a field on MDI's pixel given its inversion-line mask (`inversion_line_mask`): log10 of
    the unsigned field weighted by the smoothed mask, 0 without an inversion line or below 1 G."""
    rows, cols = np.flatnonzero(lines.any(axis=1)), np.flatnonzero(lines.any(axis=0))
    if not rows.size:  # no strong-field inversion line: the sum is zero (and the smoothing needless)
        return 0.0
    # The weight is zero beyond the kernel's reach of the mask, and inside that reach a crop sees
    # exactly the pixels the whole image would: smoothing the crop gives the same numbers, faster.
    reach = _kernel_radius(settings)
    box = (slice(max(rows[0] - reach, 0), rows[-1] + reach + 1), slice(max(cols[0] - reach, 0), cols[-1] + reach + 1))
    total = float(np.sum(np.abs(np.nan_to_num(field[box])) * _smoothed(lines[box], settings)))
    return float(np.log10(total)) if total >= 1.0 else 0.0


def _grow(mask: np.ndarray, axis: int, reach: int) -> np.ndarray:
    """`mask` widened by `reach` pixels both ways along `axis` (nothing comes in from beyond the edge)."""
    out = mask.copy()
    for shift in range(1, reach + 1):
        ahead = [slice(None)] * mask.ndim
        behind = [slice(None)] * mask.ndim
        ahead[axis], behind[axis] = slice(shift, None), slice(None, -shift)
        out[tuple(ahead)] |= mask[tuple(behind)]
        out[tuple(behind)] |= mask[tuple(ahead)]
    return out


def r_values_of_stack(fields: np.ndarray, settings: RSettings = RSettings()) -> list[float]:
    """`r_value` of each image of a stack already on MDI's pixel (records, rows, columns), for the
    synthetic world's chunks of records: the polarity masks dilated for the whole stack at once (the
    square element by shifts along rows, then columns), then each image's `r_from_lines`. The same
    numbers as `r_value` image by image (a test compares them)."""
    if settings.dilation % 2 == 0:
        return [r_value(field, MDI_PIXEL_DEG, settings) for field in fields]
    field = np.asarray(fields, dtype=float)
    half = settings.dilation // 2
    grow = lambda m: _grow(_grow(m, 1, half), 2, half)
    lines = grow(field > settings.threshold_gauss) & grow(field < -settings.threshold_gauss)
    return [r_from_lines(image, mask, settings) for image, mask in zip(field, lines)]


def compute_keywords(bl: np.ndarray, mask: np.ndarray, cdelt_deg: float) -> dict[str, float]:
    """The four keywords shared by SMARP and SHARP, for one record."""
    mask = np.asarray(mask, dtype=bool)
    if mask.shape != np.shape(bl):
        raise ValueError(f"mask shape {mask.shape} differs from magnetogram shape {np.shape(bl)}")
    return {
        "USFLUXL": usfluxl(bl, mask, cdelt_deg),
        "MEANGBL": meangbl(bl, mask),
        "R_VALUE": r_value(bl, cdelt_deg),
        "AREA": area_mh(mask, cdelt_deg),
    }
