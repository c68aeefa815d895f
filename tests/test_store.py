"""The store and the study's record filters on hand-made tables."""

from __future__ import annotations

import pandas as pd
import pytest

from flarelib.sources.store import RECORD_COLUMNS, StoreError, apply_study_filters, open_store, write_store


def table(**changes) -> pd.DataFrame:
    base = {"SERIES": "SHARP", "ARPNUM": 1, "T_REC": pd.Timestamp("2012-01-01"), "NOAA_ARS": "11111", "NOAA_NUM": 1,
            "LAT_FWT": 10.0, "LON_FWT": 0.0, "LON_MIN": float("nan"), "LON_MAX": float("nan"), "QUALITY": 0, "USFLUXL": 1e22, "MEANGBL": 50.0, "R_VALUE": 3.0,
            "AREA": 500.0, "NX": 100, "NY": 80, "NAN_PIXELS": 0}
    rows = []
    for i, (name, change) in enumerate(changes.items()):
        rows.append({**base, "ARPNUM": i + 1, **change, "name": name})
    return pd.DataFrame(rows)


def test_each_filter_drops_what_the_study_says_and_names_why():
    records = table(good={}, limb={"LON_FWT": -70.5}, edge={"LON_FWT": 70.0}, bad={"QUALITY": 0x400},
                    benign={"QUALITY": 0x200}, nonoaa={"NOAA_ARS": "", "NOAA_NUM": 0},
                    both={"LON_FWT": 80.0, "NOAA_NUM": 0}, nanpos={"LON_FWT": float("nan")})
    kept, dropped = apply_study_filters(records, bad_quality_bits=0xFFFFFDFF)
    assert kept.name.tolist() == ["good", "edge", "benign"]
    why = dict(zip(dropped.name, dropped.reason))
    assert why == {"limb": "beyond +-70 degrees of central meridian", "bad": "bad quality",
                   "nonoaa": "no NOAA active region",
                   "both": "beyond +-70 degrees of central meridian; no NOAA active region",
                   "nanpos": "beyond +-70 degrees of central meridian"}


def test_the_limb_rule_takes_the_whole_patch_and_the_centre_only_without_bounds():
    records = table(inside={"LON_FWT": 60.0, "LON_MIN": 50.0, "LON_MAX": 69.9},
                    overhanging={"LON_FWT": 60.0, "LON_MIN": 50.0, "LON_MAX": 75.0},
                    west={"LON_FWT": -65.0, "LON_MIN": -70.5, "LON_MAX": -60.0},
                    no_bounds={"LON_FWT": 69.0, "LON_MIN": float("nan"), "LON_MAX": float("nan")},
                    no_bounds_limb={"LON_FWT": 71.0, "LON_MIN": float("nan"), "LON_MAX": float("nan")})
    kept, dropped = apply_study_filters(records, bad_quality_bits=0)
    assert kept.name.tolist() == ["inside", "no_bounds"]  # by the centre alone, "overhanging" and "west" were kept
    assert set(dropped.name) == {"overhanging", "west", "no_bounds_limb"}


def test_the_quality_masks_are_the_authors():
    from flarelib.sources.jsoc import SHARP, SMARP

    sharp = table(low_bits={"QUALITY": 0x400}, bit16={"QUALITY": 0x10000}, clean={})
    kept, _ = apply_study_filters(sharp, SHARP.bad_quality_bits)  # QUALITY < 65536
    assert kept.name.tolist() == ["low_bits", "clean"]
    smarp = table(bit16={"SERIES": "SMARP", "QUALITY": 0x10000}, bit17={"SERIES": "SMARP", "QUALITY": 0x20000},
                  bit18={"SERIES": "SMARP", "QUALITY": 0x40000})
    kept, _ = apply_study_filters(smarp, SMARP.bad_quality_bits)  # QUALITY < 262144
    assert kept.name.tolist() == ["bit16", "bit17"]


def test_store_round_trip_and_flare_parsing(tmp_path):
    records = table(a={}, b={"NOAA_ARS": "11111,11112", "NOAA_NUM": 2})[RECORD_COLUMNS]
    flares = pd.DataFrame({"start_time": pd.to_datetime(["2012-01-01 10:00"] * 3),
                           "peak_time": pd.to_datetime(["2012-01-01 10:10"] * 3),
                           "end_time": pd.to_datetime(["2012-01-01 10:30"] * 3),
                           "goes_class": ["M1.2", "?", "C3.0"], "noaa_ar": pd.array([11111, 11111, None], dtype="Int64")})
    store = open_store(write_store(tmp_path / "s", records, flares, {"source": "jsoc"}))
    assert store.source == "jsoc" and store.provenance["versions"]["python"]
    assert store.records.NOAA_ARS.tolist() == ["11111", "11111,11112"]
    assert store.flares.flares.goes_class.tolist() == ["M1.2", "C3.0"]
    assert store.flares.flares.peak_flux.tolist() == pytest.approx([1.2e-5, 3e-6])
    assert store.flares.rejected.goes_class.tolist() == ["?"]
    assert pd.isna(store.flares.flares.noaa_ar.iloc[1])


def test_missing_store_and_missing_columns_are_clear_errors(tmp_path):
    with pytest.raises(StoreError, match="not a data store: records.csv is missing"):
        open_store(tmp_path)
    with pytest.raises(StoreError, match="records lack the columns"):
        write_store(tmp_path, pd.DataFrame({"SERIES": []}), pd.DataFrame(), {"source": "x"})
