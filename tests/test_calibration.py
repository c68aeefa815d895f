"""The teaching world against the real Sun: the calibration statistics checked by hand and against
scipy, and the demo world's calibration against the study authors' window tables (skipped when the
tables are not in ../shared/data)."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
import yaml
from scipy import stats

from flarelib.schema import KEYWORDS
from flarelib.world import calibration
from flarelib.sources import window_tables as wt
from tests.conftest import ROOT, SHARED_DATA


def _windows(series: str, regions: dict[int, tuple[int, int]], keyword_scale: float = 1.0) -> pd.DataFrame:
    """Windows of hand-made regions: {arpnum: (positives, negatives)}."""
    rows = []
    for arpnum, (positive, negative) in regions.items():
        rows += [{"SERIES": series, "ARPNUM": arpnum, "label": label} for label in [True] * positive + [False] * negative]
    table = pd.DataFrame(rows)
    rng = np.random.default_rng(arpnum)
    for keyword in KEYWORDS:
        table[keyword] = keyword_scale * rng.lognormal(3, 1, len(table))
    return table


def test_region_statistics_by_hand():
    windows = pd.concat([_windows("SHARP", {1: (6, 10), 2: (2, 30), 3: (0, 50), 4: (0, 2)}),
                         _windows("SMARP", {7: (1, 9)})])
    table = calibration.region_statistics(windows)
    sharp = table.loc["SHARP"]
    assert sharp["windows"] == 100 and sharp["positives"] == 8
    assert sharp["event rate"] == pytest.approx(0.08)
    assert sharp["regions ever positive"] == pytest.approx(0.5)  # 2 of 4
    assert sharp["top region share"] == pytest.approx(6 / 8)
    assert table.loc["SMARP", "top five share"] == pytest.approx(1.0)


def test_keyword_distances_are_scipys_ks_in_the_stated_scale():
    world = _windows("SHARP", {1: (5, 95)})
    real = _windows("SHARP", {2: (5, 195)}, keyword_scale=3.0)
    both = pd.concat([world, real.assign(SERIES="SMARP")])  # SMARP rows make the second instrument present
    distances = calibration.keyword_distances(both, pd.concat([real, real.assign(SERIES="SMARP")])).set_index(["SERIES", "keyword"])
    for keyword in KEYWORDS:
        transform = np.log10 if keyword in calibration.LOG_KEYWORDS else (lambda x: x)
        expected = stats.ks_2samp(transform(world[keyword]), transform(real[keyword])).statistic
        assert distances.loc[("SHARP", keyword), "ks"] == pytest.approx(expected)
        assert distances.loc[("SMARP", keyword), "ks"] == pytest.approx(0.0)  # the same sample on both sides


def test_misses_name_each_target_in_words():
    real = pd.concat([_windows("SHARP", {i: (1, 24) for i in range(40)}), _windows("SMARP", {i: (1, 29) for i in range(40)})])
    one_region = pd.concat([_windows("SHARP", {1: (50, 50), **{i: (0, 10) for i in range(2, 40)}}),
                            _windows("SMARP", {i: (1, 29) for i in range(40)})])
    found = " | ".join(calibration.misses(one_region, real))
    assert "SHARP event rate" in found and "one region holds 100.0% of the positives" in found
    assert "of regions ever positive" in found


needs_tables = pytest.mark.skipif(not (SHARED_DATA / wt.TABLES_DIR).exists(),
                                  reason=f"the study authors' window tables are not in {SHARED_DATA} (see its README)")


@pytest.fixture(scope="module")
def demo_world(tmp_path_factory):
    """The demo parameter set's world (about two minutes on 2 cores), its windows as the study keeps them."""
    from flarelib.sources.synthetic import build_synthetic, world_windows

    demo = yaml.safe_load((ROOT / "params" / "demo.yaml").read_text())
    store = build_synthetic(tmp_path_factory.mktemp("demo_world") / "store", demo["seed"], demo["regions_cycle23"],
                            demo["regions_cycle24"], demo["overlap_regions"], workers=0)
    return world_windows(store)


@pytest.fixture(scope="module")
def real():
    return wt.real_windows(SHARED_DATA)


@needs_tables
def test_the_demo_world_meets_the_calibration_targets_it_was_fitted_to(demo_world, real):
    distances = calibration.keyword_distances(demo_world, real).set_index(["SERIES", "keyword"]).ks
    assert len(distances) == 8 and (distances <= 0.15).all(), distances
    regions = calibration.region_statistics(demo_world)
    for series, rate in calibration.TARGETS["event_rate"].items():
        assert abs(regions.loc[series, "event rate"] / rate - 1) <= 0.15, regions
    assert (regions["top region share"] <= 0.05).all(), regions


@needs_tables
@pytest.mark.xfail(strict=True, reason="a known miss of the demo world (closing note of #17): 17-21% of regions ever "
                   "flare, not about 10% (at this world's size, 10% and no region above 5% of positives pull apart)")
def test_the_demo_world_meets_every_calibration_target(demo_world, real):
    assert calibration.misses(demo_world, real) == []  # every other target: the test above
