"""Windows, the bad-record rules, splits by region, undersampling and the four datasets."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from flarelib.datasets import DATASETS, build_datasets, fit_standardizer, make_dataset, read_dataset, split_regions, tally
from flarelib.schema import KEYWORDS
from flarelib.sampling import class_balance, evolution_table, sample_windows

T0 = pd.Timestamp("2012-01-01")
STEP = pd.Timedelta(minutes=96)


def region(arpnum: int, n: int, series: str = "SHARP", noaa: str = "11111", **bad) -> pd.DataFrame:
    """n consecutive good records of one region; `bad` maps a column to {record index: value}."""
    table = pd.DataFrame({"SERIES": series, "ARPNUM": arpnum, "T_REC": T0 + STEP * np.arange(n), "NOAA_ARS": noaa,
                          "USFLUXL": 1e22 + np.arange(n), "MEANGBL": 50.0, "R_VALUE": 3.0, "AREA": 500.0,
                          "NX": 100, "NY": 80, "NAN_PIXELS": 0})
    for column, changes in bad.items():
        for index, value in changes.items():
            table.loc[index, column] = value
    return table


NO_FLARES = pd.DataFrame({"start_time": pd.to_datetime([]), "peak_time": pd.to_datetime([]), "noaa_ar": pd.array([], dtype="Int64"),
                          "peak_flux": []})


def windows(records: pd.DataFrame, flares: pd.DataFrame = NO_FLARES):
    return sample_windows(records, flares)


def test_a_full_window_holds_16_records_and_the_first_15_windows_lack_24_hours():
    samples, sequences = windows(region(1, 20))
    assert sequences.shape == (20, 16, 4)
    assert samples.n_bad_images.tolist()[:16] == [15 - i for i in range(16)]
    assert samples.n_nan_keywords.tolist()[:16] == [15 - i for i in range(16)]  # a missing record counts in both
    assert samples.first_missing.tolist()[:16] == [True] * 15 + [False]
    assert samples.keep.tolist() == [False] * 15 + [True] * 5  # a window starts at an existing record
    assert sequences[19, :, 0].tolist() == (1e22 + np.arange(4, 20)).astype(np.float32).tolist()


@pytest.mark.parametrize("bad", [{"NAN_PIXELS": {10: 3}}, {"USFLUXL": {10: np.nan}}, {"NX": {10: 112}}, {"NY": {10: 68}}])
def test_each_kind_of_bad_record(bad):
    samples, _ = windows(region(1, 30, **bad))
    by_end = samples.set_index(samples.end)
    assert by_end.loc[T0 + 10 * STEP, "last_bad"]  # a window ending on it is dropped
    assert not by_end.loc[T0 + 10 * STEP, "keep"]
    counted = "n_nan_keywords" if "USFLUXL" in bad else "n_bad_images"
    assert by_end.loc[T0 + 20 * STEP, counted] == 1 and by_end.loc[T0 + 20 * STEP, "keep"]


def test_a_size_within_two_pixels_is_fine():
    samples, _ = windows(region(1, 30, NX={10: 108}, NY={11: 72}))  # 27 and 18 against 25 and 20 after subsampling
    assert samples.n_bad_images.iloc[15:].max() == 0


def test_the_size_rule_compares_hmi_images_after_the_4x_subsampling():
    """As the authors compare them: 5 native HMI pixels are 1-2 pixels of the CNN's grid (kept);
    5 MDI pixels are 5 (bad). Measured native, as before the fix, the HMI record was bad too."""
    sharp, _ = windows(region(1, 30, NX={20: 105}))
    smarp, _ = windows(region(1, 30, series="SMARP", NX={20: 105}))
    assert sharp.n_bad_images.iloc[20:].max() == 0
    assert smarp.set_index("end").loc[T0 + 20 * STEP, "last_bad"]


def test_sharp_windows_are_cut_from_2010_10_29_on():
    from flarelib.sampling import SHARP_SAMPLES_FROM, sampling_records

    start = SHARP_SAMPLES_FROM - 10 * STEP
    kept = pd.concat([region(1, 20).assign(T_REC=start + STEP * np.arange(20)),
                      region(2, 20, series="SMARP").assign(T_REC=start + STEP * np.arange(20))])
    records = sampling_records(kept)
    assert records[records.SERIES == "SHARP"].T_REC.min() >= SHARP_SAMPLES_FROM
    assert (records.SERIES == "SHARP").sum() == 10 and (records.SERIES == "SMARP").sum() == 20


def test_a_flare_is_placed_by_its_start_time_as_the_authors_do():
    """An M flare that starts 20 minutes before a window ends and peaks 30 minutes after: by start
    time it is in the window's observation period (the window is dropped, its last magnetogram
    already shows the flare); by peak time the window would be positive."""
    end = T0 + 30 * STEP
    flares = pd.DataFrame({"start_time": [end - pd.Timedelta(minutes=20)], "peak_time": [end + pd.Timedelta(minutes=30)],
                           "noaa_ar": pd.array([11111], dtype="Int64"), "peak_flux": [5e-5]})
    by_start = sample_windows(region(1, 40), flares)[0].set_index("end")
    by_peak = sample_windows(region(1, 40), flares, flare_time="peak")[0].set_index("end")
    assert pd.isna(by_start.loc[end, "label"]) and by_start.loc[end, "observation"] == "STRONG"
    assert by_peak.loc[end, "label"] == True  # noqa: E712
    assert by_start.loc[end - STEP, "label"] == True  # noqa: E712 - the window before still sees it coming


def test_the_authors_labels_replace_ours_window_by_window():
    from flarelib.sampling import with_authors_labels

    samples, _ = windows(region(1, 30))
    published = samples[samples.keep].rename(columns={"end": "T_REC"})[["SERIES", "ARPNUM", "T_REC"]].iloc[:5]
    published = published.assign(AUTHORS_LABEL=[True, False, True, False, False])
    relabelled = with_authors_labels(samples, published)
    assert relabelled.keep.sum() == 5
    assert relabelled[relabelled.keep].label.tolist() == [True, False, True, False, False]


def test_more_than_two_bad_records_drop_the_window_and_gaps_count_as_bad():
    three = region(1, 30, USFLUXL={20: np.nan, 22: np.nan, 24: np.nan})
    by_end = windows(three)[0].set_index("end")
    assert by_end.loc[T0 + 25 * STEP, "n_nan_keywords"] == 3 and not by_end.loc[T0 + 25 * STEP, "keep"]
    gap = region(1, 30).drop(index=[20, 21, 22])  # three missing records
    by_end = windows(gap)[0].set_index("end")
    assert by_end.loc[T0 + 25 * STEP, "n_bad_images"] == 3 and not by_end.loc[T0 + 25 * STEP, "keep"]
    assert by_end.loc[T0 + 29 * STEP, "n_bad_images"] == 3 and by_end.loc[T0 + 29 * STEP, "n_nan_keywords"] == 3


def test_keyword_nans_and_bad_images_are_counted_apart_as_in_the_authors_code():
    """Two NaN keywords and two NaN-pixel images in one window: four bad records in the study's
    words, but at most 2 of each kind in the authors' code, so the window is kept; a keyword counts
    per column, so three records each missing a different keyword pass too."""
    mixed = region(1, 30, USFLUXL={20: np.nan, 22: np.nan}, NAN_PIXELS={21: 5, 23: 5})
    by_end = windows(mixed)[0].set_index("end")
    assert by_end.loc[T0 + 25 * STEP, ["n_nan_keywords", "n_bad_images"]].tolist() == [2, 2]
    assert by_end.loc[T0 + 25 * STEP, "keep"]
    spread = region(1, 30, USFLUXL={20: np.nan}, MEANGBL={21: np.nan}, AREA={22: np.nan})
    by_end = windows(spread)[0].set_index("end")
    assert by_end.loc[T0 + 25 * STEP, "n_nan_keywords"] == 1 and by_end.loc[T0 + 25 * STEP, "keep"]
    three_images = region(1, 30, NAN_PIXELS={20: 1, 21: 1, 22: 1})
    assert not windows(three_images)[0].set_index("end").loc[T0 + 25 * STEP, "keep"]


def test_a_window_must_start_at_an_existing_record_unless_told_otherwise():
    """A missing first record drops the window (the authors' windows start at a record); one missing
    record inside does not. `require_first=False` (the archive) lets the first one be missing."""
    records = region(1, 40).drop(index=[10, 20])
    by_end = windows(records)[0].set_index("end")
    assert by_end.loc[T0 + 25 * STEP, "first_missing"] and not by_end.loc[T0 + 25 * STEP, "keep"]
    assert by_end.loc[T0 + 26 * STEP, "keep"]  # record 20 missing inside: one bad image, one NaN per keyword
    relaxed = sample_windows(records, NO_FLARES, require_first=False)[0].set_index("end")
    assert relaxed.loc[T0 + 25 * STEP, "keep"]


def test_a_record_with_only_a_bad_image_keeps_its_keywords_in_the_sequence():
    _, sequences = windows(region(1, 30, NAN_PIXELS={25: 3}))
    assert sequences[29, 11, 0] == np.float32(1e22 + 25)


def test_a_flare_starting_exactly_at_a_window_end_is_in_both_periods():
    """The authors' code selects flares with closed bounds: an M flare starting at the window's end
    is in its prediction period (positive), though also in the observation period."""
    end = T0 + 30 * STEP
    flares = pd.DataFrame({"start_time": [end], "peak_time": [end + pd.Timedelta(minutes=10)],
                           "noaa_ar": pd.array([11111], dtype="Int64"), "peak_flux": [2e-5]})
    by_end = sample_windows(region(1, 60), flares)[0].set_index("end")
    assert by_end.loc[end, "label"] == True and by_end.loc[end, "observation"] == "STRONG"  # noqa: E712
    assert pd.isna(by_end.loc[end + STEP, "label"])
    assert by_end.loc[end - 15 * STEP, "label"] == True  # noqa: E712 - exactly 24 h before: closed at the far end too


def test_bad_records_in_a_kept_sequence_take_the_next_good_value_as_the_authors_fill_them():
    _, sequences = windows(region(1, 30, USFLUXL={25: np.nan, 29: np.nan}))
    assert sequences[29, 11, 0] == np.float32(1e22 + 26)  # slot 11 of the window ending at 29 is record 25
    assert sequences[29, 15, 0] == np.float32(1e22 + 28)  # the last slot has no later record: the previous one
    assert not np.isnan(sequences[29]).any()


def test_labels_and_tables_from_a_flare():
    flares = pd.DataFrame({"start_time": [T0 + 40 * STEP + pd.Timedelta(minutes=5)],
                           "peak_time": [T0 + 40 * STEP + pd.Timedelta(minutes=10)], "noaa_ar": pd.array([11111], dtype="Int64"),
                           "peak_flux": [2e-5]})
    samples, _ = windows(region(1, 60), flares)
    by_end = samples.set_index("end")
    assert by_end.loc[T0 + 40 * STEP, "label"] == True  # noqa: E712 - flare 10 minutes later
    assert pd.isna(by_end.loc[T0 + 41 * STEP, "label"])  # the flare is now in the observation period
    # 24 h is 15 steps: the flare (step 40 + 10 min) is in the prediction period of windows ending at
    # steps 26 to 40, and out of reach of the window ending at step 25 (quiet in both periods: negative)
    assert by_end.loc[T0 + 26 * STEP, "label"] == True  # noqa: E712
    assert by_end.loc[T0 + 25 * STEP, "label"] == False  # noqa: E712
    table2 = evolution_table(samples)
    assert table2.loc[("SHARP", "QUIET"), "STRONG"] > 0
    table3 = class_balance(samples)
    assert table3.loc["SHARP", "positive"] == int((samples.keep & (samples.label == True)).sum())  # noqa: E712


def synthetic_samples(n_regions: int = 40, per_region: int = 30, seed: int = 0) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    rows = []
    for series in ("SHARP", "SMARP"):
        for arpnum in range(1, n_regions + 1):
            positive = rng.uniform() < 0.3
            labels = rng.uniform(size=per_region) < (0.3 if positive else 0.0)
            rows += [{"SERIES": series, "ARPNUM": arpnum, "end": T0 + i * STEP, "label": bool(lab)} for i, lab in enumerate(labels)]
    return pd.DataFrame(rows)


@pytest.mark.parametrize("seed", range(5))
def test_no_region_is_in_two_splits_and_every_split_is_balanced(seed):
    samples = synthetic_samples()
    for name in DATASETS:
        ds = make_dataset(samples, name, seed)
        assert ds.groupby(["SERIES", "ARPNUM"]).split.nunique().max() == 1
        for split, group in ds.groupby("split"):
            assert group.label.sum() == (~group.label).sum(), (name, split)


def test_split_fractions_and_determinism():
    assignment = split_regions(np.arange(1, 101), seed=7, series="SHARP")
    counts = pd.Series(assignment).value_counts()
    assert (counts["test"], counts["val"], counts["train"]) == (20, 16, 64)
    assert split_regions(np.arange(1, 101), 7, "SHARP") == assignment
    assert split_regions(np.arange(1, 101), 8, "SHARP") != assignment
    samples = synthetic_samples()
    pd.testing.assert_frame_equal(make_dataset(samples, "FUSED_SHARP", 3), make_dataset(samples, "FUSED_SHARP", 3))


def test_fused_datasets_share_validation_and_test_and_add_the_other_instrument_to_training():
    samples = synthetic_samples()
    single, fused = make_dataset(samples, "SHARP_ONLY", 2), make_dataset(samples, "FUSED_SHARP", 2)
    for split in ("val", "test"):
        pd.testing.assert_frame_equal(single[single.split == split], fused[fused.split == split])
    assert set(single.SERIES) == {"SHARP"}
    assert set(fused[fused.split == "train"].SERIES) == {"SHARP", "SMARP"}
    smarp_positives = int(samples[(samples.SERIES == "SMARP")].label.sum())
    assert tally(fused)["train positive"] == tally(single)["train positive"] + smarp_positives  # as Table 5


def test_standardizer_is_per_instrument():
    records = pd.DataFrame({"SERIES": ["SHARP"] * 3 + ["SMARP"] * 3, **{k: [1.0, 2.0, 3.0, 10.0, 20.0, 30.0] for k in KEYWORDS}})
    scaler = fit_standardizer(records, KEYWORDS, np.array([0.0, 2.0]))
    values = np.array([[3.0] * 4, [30.0] * 4])
    z = scaler.keywords(values, np.array(["SHARP", "SMARP"]))
    assert np.allclose(z, np.sqrt(1.5))  # (3 - 2) / std(1, 2, 3) and (30 - 20) / std(10, 20, 30)
    assert scaler.pixels(np.array([2.0])) == pytest.approx(1.0)


class ToyStore:
    """A store whose magnetogram of a record is a constant field equal to its ARPNUM."""

    def magnetogram(self, series, arpnum, t_rec, every=1):
        size = 64 if series == "SHARP" else 16
        return np.full((size, size + 8), float(arpnum))[::every, ::every], None


def test_dataset_files_round_trip_with_leak_free_statistics(tmp_path):
    samples = synthetic_samples(n_regions=20).assign(keep=True)
    kept_records = samples.rename(columns={"end": "T_REC"}).assign(**{k: samples.ARPNUM.astype(float) for k in KEYWORDS})
    sequences = np.repeat(kept_records[KEYWORDS].to_numpy(np.float32)[:, None, :], 16, axis=1)
    table = build_datasets(ToyStore(), kept_records, samples, sequences, tmp_path, names=["SHARP_ONLY"], seeds=[0],
                           test_fraction=0.2, val_fraction=0.2, standardization="train", image_size=8, keywords=KEYWORDS)
    ds = read_dataset(tmp_path / "SHARP_ONLY_seed0.nc")
    assert ds.image.shape[1:] == (8, 8) and ds.sequence.shape[1:] == (16, 4)
    train = ds.split.values == "train"
    assert abs(float(ds.image.values[train].mean())) < 1e-5  # training pixels standardized on themselves
    assert abs(float(ds.image.values[~train].mean())) > 1e-3  # and the others with the training statistics
    assert int(table.loc[("SHARP_ONLY", 0), "test positive"]) == int((ds.label.values[ds.split.values == "test"] == 1).sum())


def test_a_flare_with_no_region_labels_no_region():
    flares = pd.DataFrame({"start_time": [T0 + 30 * STEP], "peak_time": [T0 + 30 * STEP], "noaa_ar": pd.array([None], dtype="Int64"), "peak_flux": [5e-4]})
    samples, _ = windows(region(1, 60), flares)
    assert set(samples.observation) == {"QUIET"} and set(samples.prediction) == {"QUIET"}


def test_a_region_with_two_noaa_numbers_takes_the_flares_of_both():
    flares = pd.DataFrame({"start_time": [T0 + 30 * STEP], "peak_time": [T0 + 30 * STEP], "noaa_ar": pd.array([11112], dtype="Int64"), "peak_flux": [5e-4]})
    samples, _ = windows(region(1, 60, noaa="11111,11112"), flares)
    assert (samples.prediction == "STRONG").any()


def test_a_noaa_region_in_one_datasets_training_and_a_compared_test_set_fails_the_run():
    from flarelib.datasets import LeakageError, check_no_leakage, leaks

    records = pd.DataFrame({"SERIES": ["SHARP", "SMARP", "SMARP"], "ARPNUM": [5, 9, 10], "NOAA_ARS": ["11111", "11111", ""]})
    fused = pd.DataFrame({"SERIES": ["SHARP", "SMARP", "SMARP"], "ARPNUM": [5, 9, 10], "split": ["train", "test", "test"]})
    single = fused[fused.SERIES == "SMARP"]
    found = leaks({("FUSED_SMARP", 0): fused, ("SMARP_ONLY", 0): single}, records)
    assert found.noaa.tolist() == [11111] and found.train.tolist() == ["FUSED_SMARP SHARP 5"]
    with pytest.raises(LeakageError, match="NOAA 11111 in FUSED_SMARP SHARP 5 \\(train\\)"):
        check_no_leakage({("FUSED_SMARP", 0): fused}, records)
    apart = fused.assign(split=["train", "train", "test"])  # the twin trains too: no leak
    check_no_leakage({("FUSED_SMARP", 0): apart, ("SMARP_ONLY", 0): apart[apart.SERIES == "SMARP"]}, records)
    split_region = pd.DataFrame({"SERIES": "SHARP", "ARPNUM": [1, 2], "NOAA_ARS": "12000"})  # one NOAA region, two HARPs
    same = pd.DataFrame({"SERIES": "SHARP", "ARPNUM": [1, 2], "split": ["train", "test"]})
    check_no_leakage({("SHARP_ONLY", 0): same}, split_region)  # the study splits by patch: not a leak between instruments


def test_the_other_label_set():
    from flarelib.sampling import other_labels

    assert other_labels("ours") == "authors" and other_labels("authors") == "ours"
    with pytest.raises(ValueError, match="unknown label set 'theirs'"):
        other_labels("theirs")
