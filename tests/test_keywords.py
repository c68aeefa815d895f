"""Keyword physics on fields whose answers are known by hand, and on a real SMARP cutout."""

from __future__ import annotations

import numpy as np
import pytest

from flarelib.keywords import (
    area_mh,
    compute_keywords,
    inversion_line_mask,
    inversion_line_weight,
    meangbl,
    pixel_area_cm2,
    r_value,
    sample,
    region_mask,
    usfluxl,
)
from tests.conftest import SHARED_DATA

MDI = 0.12  # degrees per CEA pixel
CUTOUT = SHARED_DATA / "fits" / "mdi.smarp_cea_96m.13520.20100714_124800_TAI"


def test_pixel_area_of_an_mdi_cea_pixel_by_hand():
    side_cm = 0.12 * np.pi / 180 * 6.96e10  # 1.4577e8 cm, about 1.46 Mm
    assert pixel_area_cm2(MDI) == pytest.approx(side_cm**2, rel=1e-12)
    assert pixel_area_cm2(MDI) == pytest.approx(2.1250e16, rel=1e-4)


def test_uniform_field():
    bl = np.full((40, 60), -300.0)
    mask = np.zeros_like(bl, dtype=bool)
    mask[5:25, 10:50] = True  # 800 pixels
    values = compute_keywords(bl, mask, MDI)
    assert values["USFLUXL"] == pytest.approx(300.0 * 800 * pixel_area_cm2(MDI))
    assert values["MEANGBL"] == 0.0
    assert values["R_VALUE"] == 0.0  # one polarity: no inversion line
    # 800 pixels of (0.12 deg)^2 over a hemisphere of 2 pi sr, in millionths
    assert values["AREA"] == pytest.approx(800 * (0.12 * np.pi / 180) ** 2 / (2 * np.pi) * 1e6)
    assert values["AREA"] == pytest.approx(558.5, abs=0.1)


def test_a_linear_ramp_has_its_slope_as_mean_gradient():
    y, x = np.mgrid[0:30, 0:50]
    bl = 3.0 * x - 4.0 * y  # |grad B| = 5 G/pixel everywhere, edges included
    assert meangbl(bl, np.ones_like(bl, dtype=bool)) == pytest.approx(5.0)


def test_single_pole_flux_and_no_inversion_line():
    y, x = np.mgrid[-60:61, -60:61].astype(float)
    sigma, peak = 6.0, 1000.0
    bl = peak * np.exp(-(x**2 + y**2) / (2 * sigma**2))
    mask = np.ones_like(bl, dtype=bool)
    # the integral of a 2D Gaussian is 2 pi sigma^2 times its peak
    assert usfluxl(bl, mask, MDI) == pytest.approx(peak * 2 * np.pi * sigma**2 * pixel_area_cm2(MDI), rel=1e-6)
    assert r_value(bl, MDI) == 0.0


def test_bipole_with_a_straight_inversion_line():
    height, width, b0 = 120, 80, 500.0
    bl = np.where(np.arange(width)[None, :] < width // 2, b0, -b0) * np.ones((height, 1))
    # dilating each polarity by one pixel makes them overlap on the two columns either side of the line
    pil = inversion_line_mask(bl)
    assert np.array_equal(np.flatnonzero(pil.any(axis=0)), [39, 40]) and pil[:, 39:41].all()
    # smoothing spreads the strip but keeps its mass in the interior rows
    assert inversion_line_weight(bl)[height // 2].sum() == pytest.approx(2.0, rel=1e-6)
    # the smoothed map keeps the strip's mass (2 columns per row) except what leaks past the top and
    # bottom edges: about sigma / sqrt(2 pi) rows at each edge for a Gaussian of sigma = FWHM / 2.3548
    sigma = 10 / 2.3548
    expected = b0 * 2 * (height - 2 * sigma / np.sqrt(2 * np.pi))
    assert r_value(bl, MDI) == pytest.approx(np.log10(expected), abs=2e-3)
    # a weak bipole (under the 150 G threshold) has no strong-field inversion line
    assert r_value(bl * 0.2, MDI) == 0.0


def test_r_value_of_an_hmi_resolution_field_matches_its_mdi_sampled_version():
    rng = np.random.default_rng(1)
    coarse = np.repeat(np.repeat(rng.normal(0, 400, (30, 40)), 4, axis=0), 4, axis=1)
    assert r_value(coarse, 0.03) == pytest.approx(r_value(sample(coarse, 4), MDI), abs=1e-12)


def test_mask_shape_mismatch_is_an_error():
    with pytest.raises(ValueError, match="mask shape"):
        compute_keywords(np.zeros((4, 4)), np.ones((4, 5), dtype=bool), MDI)


def test_nan_pixels_are_skipped_in_sums():
    bl = np.full((10, 10), 200.0)
    bl[0, 0] = np.nan
    assert usfluxl(bl, np.ones_like(bl, dtype=bool), MDI) == pytest.approx(200.0 * 99 * pixel_area_cm2(MDI))


@pytest.fixture(scope="module")
def cutout():
    magnetogram = CUTOUT.with_name(CUTOUT.name + ".magnetogram.fits")
    if not magnetogram.exists():
        pytest.skip(f"the real SMARP cutout is not at {magnetogram} (../shared/data absent)")
    from astropy.io import fits

    with fits.open(magnetogram) as hdus:
        hdu = hdus[-1]
        bl, header = hdu.data.astype(float), hdu.header
    with fits.open(CUTOUT.with_name(CUTOUT.name + ".bitmap.fits")) as hdus:
        bitmap = hdus[-1].data
    return bl, bitmap, header


def test_real_smarp_cutout_reproduces_its_pipeline_keywords(cutout):
    """TARP 13520 (NOAA 11087), 2010-07-14 12:48 TAI. Measured relative differences:
    USFLUXL 7e-6, MEANGBL < 1e-8, R_VALUE 0.0014 dex, AREA 0.85% (the pipeline's AREA is measured on
    the full-disk tracking, not on the CEA cutout)."""
    bl, bitmap, header = cutout
    mask = region_mask(bitmap)
    assert mask.sum() == header["CMASKL"]  # the pixels the pipeline summed over
    ours = compute_keywords(bl, mask, header["CDELT1"])
    assert ours["USFLUXL"] == pytest.approx(header["USFLUXL"], rel=1e-4)
    assert ours["MEANGBL"] == pytest.approx(header["MEANGBL"], rel=1e-6)
    assert ours["R_VALUE"] == pytest.approx(header["R_VALUE"], abs=0.005)
    assert ours["AREA"] == pytest.approx(header["AREA"], rel=0.02)
    assert area_mh(mask, header["CDELT1"]) < header["AREA"]


def test_the_header_check_the_data_chapter_shows(cutout):
    from flarelib.sources.cutouts import keyword_table, read_cutout_files

    table = keyword_table(read_cutout_files(CUTOUT))
    assert table.attrs["mask_pixels"] == table.attrs["pipeline_mask_pixels"]
    assert abs(table.at["USFLUXL", "relative difference"]) < 1e-4
    assert abs(table.at["MEANGBL", "relative difference"]) < 1e-6
    assert abs(table.at["R_VALUE", "difference (dex, R_VALUE)"]) < 0.005
    assert -0.02 < table.at["AREA", "relative difference"] < 0


def test_r_of_a_stack_is_r_of_each_image():
    """The synthetic world takes R for a chunk of records at once; image by image it is `r_value`."""
    from flarelib.keywords import r_value, r_values_of_stack

    rng = np.random.default_rng(9)
    y, x = np.mgrid[-30:30, -40:40]
    stack = []
    for k in range(12):
        pole = lambda dx, dy, b: b * np.exp(-((x - dx) ** 2 + (y - dy) ** 2) / 40.0)
        field = pole(-k, 0, 900.0) + pole(k + 2, rng.integers(-5, 5), -700.0) + rng.normal(0, 20, x.shape)
        stack.append(field.astype(np.float32))
    stack.append(np.zeros_like(stack[0]))  # no inversion line: R is 0
    stack = np.stack(stack)
    assert r_values_of_stack(stack) == [r_value(image, 0.12) for image in stack]
    assert r_values_of_stack(stack)[-1] == 0.0 and sum(r > 2 for r in r_values_of_stack(stack)) >= 5
