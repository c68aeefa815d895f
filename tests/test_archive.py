"""Readers of the real archive tables: fixed-width NGDC reports and SWPC lists, on hand-made lines
from the files' own quirks, and the merged catalogue on ../shared/data (skipped when absent)."""

from __future__ import annotations

import pandas as pd
import pytest

from flarelib.sources.archive import ReadReport, merged_catalogue, parse_ngdc_line, read_ngdc_report, read_swpc
from tests.conftest import SHARED_DATA

X17 = "31777031028  0951 1124 1110 S16E084B                       X172    GOES 1.8E00  10486"
B33 = "31777030101  0749 0759 0753 N19W22SF                       B 33    GOES 1.7E-04 10234"
NIGHT = "31777030127  2342 0015 0003 S17W23SF                       C 24    GOES 7.2E-03       \r"
UNKNOWN = "31777960420  1552 1555 1553 S05W52SF                               GOES          7958               "


def test_ngdc_records_by_hand():
    big = parse_ngdc_line(X17)
    assert big["goes_class"] == "X17.2" and big["noaa_ar"] == 10486  # the Halloween flare of 2003
    assert (big["start_time"], big["peak_time"], big["end_time"]) == tuple(
        pd.Timestamp(f"2003-10-28 {t}") for t in ("09:51", "11:10", "11:24"))
    assert parse_ngdc_line(B33)["goes_class"] == "B3.3"
    night = parse_ngdc_line(NIGHT)
    assert night["peak_time"] == pd.Timestamp("2003-01-28 00:03") and night["end_time"] == pd.Timestamp("2003-01-28 00:15")
    assert night["noaa_ar"] is None
    assert parse_ngdc_line(UNKNOWN)["goes_class"] == ""
    assert parse_ngdc_line("\x1a") is None and parse_ngdc_line("\r") is None


def test_malformed_ngdc_lines_are_reported_with_file_and_line(tmp_path):
    path = tmp_path / "goes-xrs-report_2003.txt"
    path.write_text("\n".join([B33, B33.replace("0749", "2856"), UNKNOWN, "3177", X17, ""]) + "\n")
    report = ReadReport()
    events = read_ngdc_report(path, report)
    assert events.goes_class.tolist() == ["B3.3", "X17.2"]
    assert report.table().values.tolist() == [
        ["goes-xrs-report_2003.txt", 2, "malformed record: time '2856' is not HHMM"],
        ["goes-xrs-report_2003.txt", 3, "unknown GOES class (excluded)"],
        ["goes-xrs-report_2003.txt", 4, "malformed record: only 4 characters; a record has at least 63"]]


def test_swpc_lists_in_both_layouts(tmp_path):
    header = "date,event_no,start_time,max_time,end_time,goes_sat,goes_channel,goes_class_ind,goes_class,integrated_flux,noaa_ar,ts\n"
    new = tmp_path / "new.csv"  # rows carry a leading index the header lacks; HHMM strings
    new.write_text(header + "0,20100102,4300,0709,0724,0740,G14,1-8A,C,C1.0,1.2E-03,11039,201001020709\n"
                            "1,20100102,4370,2350,0005,0020,G14,1-8A,M,M1.2,1.4E-03,     ,201001022350\n"
                            "2,20100103,4371,9999,0005,0020,G14,1-8A,M,M1.2,1.4E-03,11040,201001030000\n")
    old = tmp_path / "old.csv"  # full timestamps for start and end
    old.write_text(header + "0,19960806,4370,1996-08-06 19:10:00,2201,1996-08-06 22:43:00,GO9,1-8A,C,C1.5,8.23E-0,0,199608061910\n")
    report = ReadReport()
    a = read_swpc(new, report)
    assert a.goes_class.tolist() == ["C1.0", "M1.2"] and a.noaa_ar.tolist()[0] == 11039 and pd.isna(a.noaa_ar[1])
    assert a.peak_time[1] == pd.Timestamp("2010-01-03 00:05")  # past midnight
    assert report.problems[0][:2] == ("new.csv", 4)
    b = read_swpc(old, report)
    assert (b.start_time[0], b.peak_time[0], b.end_time[0]) == tuple(pd.Timestamp(f"1996-08-06 {t}") for t in ("19:10", "22:01", "22:43"))
    assert pd.isna(b.noaa_ar[0])


@pytest.fixture(scope="module")
def catalogue():
    if not (SHARED_DATA / "goes").is_dir():
        pytest.skip(f"the GOES catalogues are not at {SHARED_DATA / 'goes'} (../shared/data absent)")
    return merged_catalogue(SHARED_DATA)


def test_the_merged_catalogue(catalogue):
    flares, counts = catalogue.flares, catalogue.counts
    assert counts["cutoff"] == "2017-06-29" and counts["swpc_after_cutoff"] > 0
    assert flares.peak_time.is_monotonic_increasing and flares.peak_time.min().year == 1996
    halloween = flares[(flares.peak_time == pd.Timestamp("2003-10-28 11:10"))]
    assert halloween.goes_class.tolist() == ["X17.2"] and halloween.noaa_ar.tolist() == [10486]
    assert counts["unknown_class"] > 0 and (catalogue.report.line > 0).all()
    assert not flares.duplicated(subset=["peak_time", "goes_class", "noaa_ar"]).any()
