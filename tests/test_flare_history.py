"""The flare history of a window's observation period, and the event definition's parameters (task,
threshold), on hand-made flare timelines: what persistence forecasts read must hold no flare of the
prediction period."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from flarelib.goes import GoesClassError, class_to_flux, threshold_flux
from flarelib.events import FLARE_HISTORY, label_windows, task_labels
from flarelib.sampling import sample_windows
from flarelib.schema import KEYWORDS

T = pd.Timestamp("2012-03-01 00:00")
H = pd.Timedelta(hours=1)


def windows(flares: list[tuple[float, str]], ends_hours: list[float], **kw) -> pd.DataFrame:
    times = np.array([T + h * H for h, _ in flares], dtype="datetime64[ns]")
    flux = np.array([class_to_flux(c) for _, c in flares])
    ends = np.array([T + h * H for h in ends_hours], dtype="datetime64[ns]")
    return label_windows(ends, times, flux, **kw)


def test_history_by_hand():
    # The window ends at 24 h: observation [0, 24], prediction [24, 48].
    timeline = [(-1, "X9.0"),          # before the observation period: nowhere
                (0, "B3.0"),           # on the period's opening edge: in it
                (5, "C2.0"), (9, "M1.5"), (20, "C7.0"),
                (24 + 1 / 60, "X2.0"),  # one minute after the window's end: the prediction's, never the history's
                (30, "M9.0")]
    row = windows(timeline, [24]).iloc[0]
    assert (row.flares_B, row.flares_C, row.flares_M, row.flares_X) == (1, 2, 1, 0)
    assert row.max_flux == pytest.approx(1.5e-5)
    assert row.hours_since_flare == pytest.approx(4.0)
    assert (row.observation, row.prediction, bool(row.label)) == ("STRONG", "STRONG", True)


def test_no_prediction_flare_reaches_the_history():
    # Only flares after the window's end: the history is empty whatever they are.
    row = windows([(24 + 1 / 60, "X9.0"), (47, "M2.0")], [24]).iloc[0]
    assert row[["flares_B", "flares_C", "flares_M", "flares_X", "max_flux"]].sum() == 0
    assert np.isnan(row.hours_since_flare)
    assert row.observation == "QUIET" and bool(row.label)
    # Moving that flare across the edge changes the history only from the window that contains it on.
    table = windows([(24 + 1 / 60, "X9.0")], [23.9, 24.0, 24 + 1 / 60, 25])
    assert table.flares_X.tolist() == [0, 0, 1, 1]
    assert table.max_flux.tolist() == [0, 0, pytest.approx(9e-4), pytest.approx(9e-4)]


def test_a_flare_exactly_on_the_end_is_observed():
    # Closed periods, as the authors count them: a flare placed exactly at the end is in both.
    row = windows([(24, "M2.0")], [24]).iloc[0]
    assert row.flares_M == 1 and row.hours_since_flare == 0.0
    assert (row.observation, row.prediction) == ("STRONG", "STRONG")


def test_history_does_not_depend_on_the_order_of_windows():
    flares = [(3, "C1.0"), (10, "M1.0"), (30, "X1.0")]
    ends = [40.0, 12.0, 24.0, 5.0]
    shuffled = windows(flares, ends)
    ordered = windows(flares, sorted(ends)).set_index("end")
    pd.testing.assert_frame_equal(shuffled.set_index("end").loc[ordered.index], ordered)


def test_task_and_threshold_change_the_labels_as_the_timeline_says():
    # Windows ending at 24 h of four timelines: (observation, prediction) flares.
    timelines = {"quiet": [], "weak then C5": [(10, "B5.0"), (30, "C5.0")],
                 "M then quiet": [(10, "M2.0")], "C then M": [(10, "C2.0"), (30, "M3.0")],
                 "quiet then X": [(30, "X1.5")]}

    def label(name, **kw):
        value = windows(timelines[name], [24], **kw).iloc[0].label
        return None if pd.isna(value) else bool(value)

    study = {n: label(n) for n in timelines}
    assert study == {"quiet": False, "weak then C5": None, "M then quiet": None, "C then M": True, "quiet then X": True}
    rest = {n: label(n, task="strong_vs_rest") for n in timelines}
    assert rest == {"quiet": False, "weak then C5": False, "M then quiet": False, "C then M": True, "quiet then X": True}
    c_class = {n: label(n, threshold=threshold_flux("C1.0")) for n in timelines}
    assert c_class == {"quiet": False, "weak then C5": True, "M then quiet": None, "C then M": True, "quiet then X": True}
    x_class = {n: label(n, threshold=threshold_flux("X1.0")) for n in timelines}
    assert x_class == {"quiet": False, "weak then C5": None, "M then quiet": None, "C then M": None, "quiet then X": True}
    # with X1.0, "M then quiet" has a WEAK observation period: below the threshold
    assert windows(timelines["M then quiet"], [24], threshold=threshold_flux("X1.0")).iloc[0].observation == "WEAK"


def test_task_and_class_errors_are_clear():
    with pytest.raises(ValueError, match="task: 'operational' is not an event definition"):
        task_labels(np.array(["QUIET"]), np.array(["QUIET"]), "operational")
    with pytest.raises(GoesClassError, match="flare_class: 'K1.0' is not a GOES class.*M1.0"):
        threshold_flux("K1.0")


def test_a_region_with_two_noaa_numbers_has_the_flares_of_both():
    steps = pd.date_range(T, periods=40, freq="96min")
    records = pd.DataFrame({"SERIES": "SHARP", "ARPNUM": 7, "T_REC": steps, "NOAA_ARS": "11429,11430",
                            **{k: 1.0 for k in KEYWORDS}})
    flares = pd.DataFrame({"start_time": [T + 2 * H, T + 3 * H, T + 4 * H], "peak_time": [T + 2.2 * H, T + 3.2 * H, T + 4.2 * H],
                           "noaa_ar": [11429, 11430, 11431], "peak_flux": [class_to_flux("C1.0"), class_to_flux("M4.0"),
                                                                          class_to_flux("X5.0")]})
    samples, _ = sample_windows(records, flares)
    last = samples.set_index("end").loc[steps[16]]  # observation [0 h, 24 h]: both of its regions' flares, not 11431's
    assert (last.flares_C, last.flares_M, last.flares_X) == (1, 1, 0)
    assert last.max_flux == pytest.approx(4e-5)
    assert set(FLARE_HISTORY) <= set(samples.columns)


def test_undersampling_only_the_splits_named():
    from flarelib.datasets import make_dataset

    rng = np.random.default_rng(0)
    n = 2000
    samples = pd.DataFrame({"SERIES": "SHARP", "ARPNUM": rng.integers(0, 100, n), "label": rng.random(n) < 0.1,
                            "end": pd.Timestamp("2012-01-01") + pd.to_timedelta(np.arange(n), unit="h")})
    balanced = make_dataset(samples, "SHARP_ONLY", 0)
    natural = make_dataset(samples, "SHARP_ONLY", 0, undersampled=("train",))
    for split in ("train", "val", "test"):
        part = balanced[balanced.split == split]
        assert part.label.mean() == 0.5
    assert natural[natural.split == "train"].label.mean() == 0.5
    for split in ("val", "test"):  # every window of the split's regions, at its own event rate
        regions = set(natural[natural.split == split].ARPNUM)
        assert len(natural[natural.split == split]) == samples.ARPNUM.isin(regions).sum()
        assert natural[natural.split == split].label.mean() < 0.2
    # the same regions in each split either way: undersampling draws windows, never regions
    assert set(balanced[balanced.split == "test"].ARPNUM) <= set(natural[natural.split == "test"].ARPNUM)
    with pytest.raises(ValueError, match=r"undersample: \['tests'\] are not splits"):
        make_dataset(samples, "SHARP_ONLY", 0, undersampled=("tests",))
