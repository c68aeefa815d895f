"""Fusion: the bounding-box intersection on hand-made geometry, and recovery of a known MDI/HMI gain."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from flarelib.sources.store import filter_store
from flarelib.sources.synthetic import build_synthetic
from flarelib.fusion import keyword_regression, matched_pixels, qq_study, through_origin


T = pd.Timestamp("2010-06-01")


class BoxStore:
    """MDI cutout spanning longitudes -10..+10 deg, HMI cutout -5..+15 (4x finer), both 0..5 deg latitude."""

    def magnetogram(self, series, arpnum, t_rec, every=1):
        if series == "SMARP":
            return np.full((42, 167), 2.0)[::every, ::every], None
        return np.full((167, 667), 1.0)[::every, ::every], None

    def pixel_grid(self, series, arpnum, t_rec, shape):
        start = -10.0 if series == "SMARP" else -5.0
        step = 0.12 if series == "SMARP" else 0.03
        return start + step * np.arange(shape[1]), step * np.arange(shape[0])


def test_only_pixels_inside_both_boxes_are_compared():
    pixels = matched_pixels(BoxStore(), 1, 2, T)
    # the intersection spans longitudes -5..+10: 126 MDI columns of 0.12 deg; HMI subsampled 4x has the same pitch
    assert pixels["SMARP"].size == 42 * np.count_nonzero((-10 + 0.12 * np.arange(167) >= -5))
    assert abs(pixels["SHARP"].size - pixels["SMARP"].size) <= 2 * 42
    assert set(np.unique(pixels["SMARP"])) == {2.0} and set(np.unique(pixels["SHARP"])) == {1.0}


def test_pixels_beyond_70_degrees_are_left_out():
    class Limb(BoxStore):
        def pixel_grid(self, series, arpnum, t_rec, shape):
            lon, lat = super().pixel_grid(series, arpnum, t_rec, shape)
            return lon + 65.0, lat

    pixels = matched_pixels(Limb(), 1, 2, T)
    kept_columns = np.count_nonzero(((-10 + 0.12 * np.arange(167)) >= -5) & ((-10 + 0.12 * np.arange(167)) + 65 <= 70))
    assert pixels["SMARP"].size == 42 * kept_columns


def test_through_origin():
    x = np.array([1.0, 2.0, 3.0])
    assert through_origin(x, 1.5 * x) == pytest.approx(1.5)


@pytest.fixture(scope="module")
def overlap_store(tmp_path_factory):
    return build_synthetic(tmp_path_factory.mktemp("fusion") / "store", 5, 2, 2, 4, workers=0)


def test_the_qq_factor_recovers_the_worlds_mdi_gain(overlap_store):
    kept, _ = filter_store(overlap_store)
    result = qq_study(overlap_store, kept, n_boot=200)
    assert len(result.pairs) >= 2
    # the world's MDI gain (1.10, in its settings); blurring and noise move the Q-Q slope by a few percent only
    assert result.factor == pytest.approx(overlap_store.world_settings.true_factor, abs=0.05)
    assert result.factor_ci[0] < result.factor < result.factor_ci[1]


def test_keyword_regression_on_co_temporal_records(overlap_store):
    kept, _ = filter_store(overlap_store)
    fits, matched = keyword_regression(kept)
    assert list(fits.index) == ["USFLUXL", "MEANGBL", "R_VALUE", "AREA"]
    assert fits.loc["USFLUXL", "r"] > 0.9 and fits.loc["USFLUXL", "slope"] == pytest.approx(overlap_store.world_settings.mdi_gain, rel=0.15)
    assert (fits["n"] > 10).all() and len(matched) >= fits["n"].max()


def test_liu_et_als_mdi_proxy_blurs_with_fwhm_4_7_pixels_then_averages_4_by_4_blocks():
    from scipy import ndimage

    from flarelib.fusion import PROXY_FWHM_PX, mdi_proxy, to_mdi_grid

    delta = np.zeros((64, 64))
    delta[32, 32] = 1.0
    sigma = PROXY_FWHM_PX / (2 * np.sqrt(2 * np.log(2)))
    blurred = ndimage.gaussian_filter(delta, sigma, mode="nearest", truncate=7 / sigma)  # a 15-pixel kernel
    np.testing.assert_allclose(mdi_proxy(delta), blurred.reshape(16, 4, 16, 4).mean(axis=(1, 3)), atol=1e-12)
    profile = blurred[32]
    above = np.flatnonzero(profile >= profile.max() / 2)
    assert 3.0 <= above.size <= 5.0  # the half-maximum spans about 4.7 pixels
    assert blurred[32, 32 + 8] == 0.0  # truncated at 15 pixels: nothing beyond 7 from the centre
    assert mdi_proxy(np.full((42, 40), 300.0)).shape == (10, 10)  # cropped to whole blocks
    np.testing.assert_allclose(mdi_proxy(np.full((40, 40), 300.0)), 300.0)
    patchy = np.full((8, 8), 100.0)
    patchy[:4, :4] = np.nan
    assert np.isnan(mdi_proxy(patchy)[0, 0]) and np.allclose(mdi_proxy(patchy)[1, 1], 100.0)
    field = np.arange(64.0).reshape(8, 8)
    np.testing.assert_array_equal(to_mdi_grid(field, "SHARP"), field[::4, ::4])
    np.testing.assert_array_equal(to_mdi_grid(field, "SMARP", "proxy"), field)  # MDI is already on its grid


def _fits(usfluxl: float, meangbl: float, r_value: float, area: float) -> pd.DataFrame:
    keywords = pd.Index(["USFLUXL", "MEANGBL", "R_VALUE", "AREA"], name="keyword")
    return pd.DataFrame({"r": [usfluxl, meangbl, r_value, area]}, index=keywords)


def test_figure2_order_reads_the_studys_two_values_and_the_range_between_them():
    from flarelib.fusion import FIGURE2_TOLERANCE, figure2_order

    # the study: USFLUXL 0.970, MEANGBL 0.796; R_VALUE and AREA between them (its text and Figure 2)
    table = figure2_order(_fits(0.968, 0.801, 0.699, 0.985))
    assert table.loc["R_VALUE", ["study_low", "study_high"]].tolist() == [0.796, 0.970]
    assert table.loc["USFLUXL", ["study_low", "study_high"]].tolist() == [0.970, 0.970]
    assert table.as_study.to_dict() == {"USFLUXL": True, "MEANGBL": True, "R_VALUE": False, "AREA": True}
    edge = figure2_order(_fits(0.970 + FIGURE2_TOLERANCE + 0.001, 0.796 - FIGURE2_TOLERANCE, 0.9, 0.796 - FIGURE2_TOLERANCE - 0.001))
    assert edge.as_study.to_dict() == {"USFLUXL": False, "MEANGBL": True, "R_VALUE": True, "AREA": False}


def test_figure2_sentence_names_each_keyword_unlike_the_study_with_its_interval():
    from flarelib.fusion import figure2_order, figure2_sentence

    fits = _fits(0.968, 0.801, 0.699, 0.969)
    intervals = pd.DataFrame({"low": [0.96, 0.75, 0.62, 0.95], "high": [0.98, 0.84, 0.78, 0.98]}, index=fits.index)
    sentence = figure2_sentence(figure2_order(fits), intervals)
    assert "R_VALUE r = 0.699 (95% interval over regions 0.620-0.780) where the study's is between 0.796 and 0.970" in sentence
    assert "USFLUXL" not in sentence and "AREA" not in sentence
    assert figure2_sentence(figure2_order(_fits(0.975, 0.790, 0.85, 0.93))).startswith("All four keywords' r lie within 0.02")



def test_a_world_built_with_another_true_factor_gives_it_back(tmp_path):
    """The parameter mdi_gain reaches the world through the store builder, and the study's histogram
    method recovers it (Liu et al.'s 1.40 here), not the default 1.10."""
    from flarelib.sources.build import build_store

    store = build_store(tmp_path / "store", "synthetic", seed=5, regions_cycle23=2, regions_cycle24=2,
                        overlap_regions=4, workers=0, mdi_gain=1.4)
    assert store.world_settings.true_factor == pytest.approx(1.4)
    kept, _ = filter_store(store)
    result = qq_study(store, kept, n_boot=200)
    assert result.factor == pytest.approx(1.4, abs=0.07)
    assert result.factor_ci[0] > 1.2


def test_the_overlap_regions_alone_give_the_whole_worlds_figure2(overlap_store):
    """overlap_records renders only the regions both instruments see: Figure 2's fits are the whole
    world's, for the calibration studies that try many worlds."""
    from flarelib.sources.synthetic import overlap_records

    whole, _ = keyword_regression(filter_store(overlap_store)[0])
    alone, _ = keyword_regression(overlap_records(overlap_store.world_settings))
    pd.testing.assert_frame_equal(alone, whole, check_exact=False, rtol=1e-12)
