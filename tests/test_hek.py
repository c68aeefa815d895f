"""The GOES catalogue client on a recorded HEK answer, through sunpy's own HEK client."""

from __future__ import annotations

import io
import json
from pathlib import Path

import pandas as pd
import pytest

from flarelib.sources import hek
from flarelib.goes import parse_classes
from flarelib.sources.network import ServiceUnreachable

RECORDED = Path(__file__).parent / "data" / "hek" / "goes_2010_08.json"


@pytest.fixture
def fake_hek(monkeypatch):
    calls = []

    def urlopen(url, *args, **kwargs):
        calls.append(url)
        return io.BytesIO(RECORDED.read_bytes())

    monkeypatch.setattr("sunpy.net.hek.hek.urllib.request.urlopen", urlopen)
    return calls


AUGUST = (pd.Timestamp("2010-08-01"), pd.Timestamp("2010-09-01"))


def test_flares_are_read_through_sunpy_with_store_columns(fake_hek, tmp_path):
    flares = hek.GoesCatalogue(tmp_path, check_network=False).flares(*AUGUST)
    assert list(flares.columns) == ["start_time", "peak_time", "end_time", "goes_class", "noaa_ar"]
    assert flares.goes_class.tolist() == ["M1.0", "C3.2", "C4.4", ""]
    first = flares.iloc[0]
    assert (first.start_time, first.peak_time) == (pd.Timestamp("2010-08-07 17:55"), pd.Timestamp("2010-08-07 18:24"))
    assert first.noaa_ar == 11093
    assert pd.isna(flares.noaa_ar.iloc[2])  # HEK's 0 means no region
    assert "event_type=FL" in fake_hek[0] and "GOES" in fake_hek[0]


def test_the_unknown_class_is_reported_not_coerced(fake_hek, tmp_path):
    flares = hek.GoesCatalogue(tmp_path, check_network=False).flares(*AUGUST)
    parsed = parse_classes(flares.goes_class)
    assert parsed.rejected.index.tolist() == [3] and parsed.rejected.reason.iloc[0] == "missing class"


def test_months_are_cached(fake_hek, tmp_path):
    catalogue = hek.GoesCatalogue(tmp_path, check_network=False)
    catalogue.flares(*AUGUST)
    catalogue.flares(*AUGUST)
    assert len(fake_hek) == 1
    assert (tmp_path / "goes" / "201008.csv").exists()


def test_without_a_network_the_catalogue_fails_at_once(monkeypatch, tmp_path):
    with pytest.raises(ServiceUnreachable, match=r"cannot reach the HEK \(GOES flare catalogue\) at hek.invalid:443"):
        hek.GoesCatalogue(tmp_path, url="https://hek.invalid/her?")
