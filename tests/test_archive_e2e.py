"""End to end on real data: params/archive.yaml with one epoch and two experiments, every chapter and
the book, from an empty data folder that the registry fills from a loopback mirror of ../shared/data
(skipped when ../shared/data is absent), as on a machine that has only a network. The chapters that need magnetograms must become a
note, the keyword chapters must run on the real tables and say so in their captions."""

from __future__ import annotations

import pytest

from flarelib.compendium.book import build_book
from flarelib.compendium.chapter import read_record
from flarelib.sources.window_tables import TABLES_DIR
from tests.conftest import SHARED_DATA

pytestmark = [pytest.mark.e2e, pytest.mark.skipif(not (SHARED_DATA / TABLES_DIR).exists(),
                                                  reason=f"the real tables are not in {SHARED_DATA}")]


@pytest.fixture(scope="module")
def archive_run(archive_small_run, tmp_path_factory):
    run_dir, results, data, requests = archive_small_run
    book = build_book(run_dir, output=tmp_path_factory.mktemp("book"))
    return run_dir, results, book, data, requests


def test_keyword_chapters_run_and_image_chapters_are_notes(archive_run):
    run_dir, results = archive_run[:2]
    assert results == {"01_data": "ran", "02_fusion": "ran", "03_sampling": "ran", "04_lstm": "ran",
                       "05_cnn": "not applicable", "06_stacking": "ran", "07_significance": "ran",
                       "08_attribution": "not applicable", "09_operational": "ran"}
    assert read_record(run_dir, "05_cnn")["skipped"] == "the archive source has no magnetograms"


def test_real_numbers_are_recorded(archive_run):
    run_dir = archive_run[0]
    data = read_record(run_dir, "01_data")["numbers"]
    assert data["regions"] == {"SHARP": 1113, "SMARP": 2008} and data["co_temporal_pairs"] == 0
    assert abs(data["real_cutout_relative_difference"]["USFLUXL"]) < 1e-4
    sampling = read_record(run_dir, "03_sampling")["numbers"]
    assert 0.02 < sampling["event_rate"]["SHARP"] < 0.05  # the study: 0.041
    assert sampling["label_agreement"]["SHARP with NOAA number positive"] > 0.8  # measured 0.87
    assert sampling["label_agreement"]["SHARP without NOAA number negative"] == 1.0
    operational = read_record(run_dir, "09_operational")["numbers"]
    assert all(0.01 < rate < 0.06 for rate in operational["event_rate_test"].values())  # SHARP's real rate
    assert all(operational["bss_prior"][c] > operational["bss_real_rate_raw"][c] for c in operational["bss_prior"])
    table6 = read_record(run_dir, "07_significance")["numbers"]["table6"]
    assert set(table6) >= {"TSS LSTM", "AUC LSTM"} and not any("CNN" in k for k in table6)


def test_the_book_says_which_source_ran(archive_run):
    index = archive_run[2]
    for name in ("01_data", "03_sampling", "07_significance"):
        page = (index.parent / "notebooks" / f"{name}.html").read_text()
        assert "Data source: archive" in page
    assert "This chapter was not run" in (index.parent / "notebooks" / "05_cnn.html").read_text()


def test_the_tables_came_through_the_registry(archive_run):
    from flarelib.sources import registry

    data, requests = archive_run[3], archive_run[4]
    fetched = {r["path"].lstrip("/") for r in requests}
    assert any(name.startswith(TABLES_DIR + "/sharp/") for name in fetched)
    assert any(name.startswith("goes/ngdc-xrs-reports/") for name in fetched)
    status = registry.status(data)
    assert status[status.group.isin(["windows", "goes"])].verified.all()
    assert status[status.present].verified.all()
