"""End to end: the `jsoc` source through chapters 01-05 against JSOC and HEK look-alikes on loopback
(tests/lookalike.py): drms's and sunpy's real clients, keyword chunks, exports polled until ready,
cutouts written as JSOC writes them (one cut half-way and resumed, one served corrupt and fetched
again), the store, windows, datasets, and both models."""

from __future__ import annotations

import pandas as pd
import pytest

from flarelib.compendium.chapter import read_record
from flarelib.compendium.params import load_params
from flarelib.compendium.runner import run_chapters
from flarelib.sources.fitsio import read_image
from flarelib.sources.store import open_store
from tests.lookalike import LookAlike, World

pytestmark = pytest.mark.e2e
CHAPTERS = ["01_data", "02_fusion", "03_sampling", "04_lstm", "05_cnn"]


def _exported_name(world: World, series: str, name: str, segment: str) -> str:
    """The export file name of a record the study keeps (good quality, within 70 degrees)."""
    rows = world.records[(world.records.SERIES == series) & (world.records.QUALITY == 0) & (world.records.LON_FWT.abs() < 60)
                         & world.records.T_REC.between("2010-05-01", "2010-10-28")]
    row = rows.sort_values(["ARPNUM", "T_REC"]).iloc[len(rows) // 2]
    return f"{name}.{row.ARPNUM}.{row.T_REC:%Y%m%d_%H%M%S}_TAI.{segment}.fits"


@pytest.fixture(scope="module")
def jsoc_run(tmp_path_factory):
    out = tmp_path_factory.mktemp("jsoc")
    world = World(out)
    cut = _exported_name(world, "SHARP", "hmi.sharp_cea_720s", "magnetogram")
    corrupt = _exported_name(world, "SMARP", "mdi.smarp_cea_96m", "bitmap")
    server = LookAlike(world, cut_once={cut}, corrupt_once={corrupt})
    try:
        overrides = ["source=jsoc", f"jsoc_url={server.url}", f"hek_url={server.url}/hek/her?",
                     "jsoc_email=flarelib-tests@example.org", "jsoc_start=2010-05-01", "jsoc_end=2010-10-29",
                     f"cache_dir={out / 'cache'}", "max_epochs=2", "n_experiments=1", "dataset=FUSED_SMARP",
                     "datasets=[SMARP_ONLY, FUSED_SMARP]"]
        params, path = load_params("smoke", overrides)
        run_dir = out / "runs" / "jsoc"
        results = {r.name: r.status for r in run_chapters(params, path, run_dir, only=CHAPTERS)}
    finally:
        server.close()
    return run_dir, results, server, cut, corrupt, out / "cache"


def test_chapters_01_to_05_run_on_the_jsoc_source(jsoc_run):
    run_dir, results = jsoc_run[:2]
    assert results == {name: "ran" for name in CHAPTERS}
    for name in CHAPTERS:
        assert read_record(run_dir, name)["source"] == "jsoc"


def test_the_store_holds_both_series_and_their_cutouts(jsoc_run):
    run_dir = jsoc_run[0]
    store = open_store(run_dir / "01_data" / "store")
    assert store.source == "jsoc" and store.has_magnetograms
    assert set(store.records.SERIES) == {"SHARP", "SMARP"}
    with_files = store.records.dropna(subset=["FILE"])
    assert len(with_files) > 100
    row = with_files.iloc[0]
    field, bitmap = store.magnetogram(row.SERIES, row.ARPNUM, row.T_REC)
    assert field.shape == bitmap.shape == (row.NY, row.NX)
    image = read_image(store.folder / row.FILE)
    assert {"R_VALUE", "GWILL"} <= set(image.fixed_cards) and pd.isna(image.header["GWILL"])
    assert (store.flares.flares.goes_class == "M2.0").sum() >= 2  # from the HEK look-alike, through sunpy


def test_the_services_were_used_as_jsoc_and_the_hek_are(jsoc_run):
    server = jsoc_run[2]
    ops = pd.Series([r["query"].get("op", r["path"].rsplit("/", 1)[-1]) for r in server.requests]).value_counts()
    assert ops["rs_list"] >= 2 * 6  # 30-day keyword chunks of both series
    assert ops["exp_request"] >= 2 and ops["exp_status"] >= 2 * ops["exp_request"]  # polled until ready
    assert any(r["path"].startswith("/hek/her") for r in server.requests)


def test_a_cut_download_resumed_and_a_corrupt_one_was_fetched_again(jsoc_run):
    server, cut, corrupt, cache = jsoc_run[2], jsoc_run[3], jsoc_run[4], jsoc_run[5]
    asked = lambda name: [r for r in server.requests if r["path"].endswith("/" + name)]
    assert len(asked(cut)) == 2 and asked(cut)[1]["range"] not in (None, "bytes=0-")
    assert len(asked(corrupt)) == 2 and asked(corrupt)[1]["range"] is None  # fetched again from the start
    for name in (cut, corrupt):
        found = list(cache.rglob(name))
        assert len(found) == 1
        read_image(found[0])
    assert not list(cache.rglob("*.part"))


def test_windows_datasets_and_both_models(jsoc_run):
    run_dir = jsoc_run[0]
    sampling = read_record(run_dir, "03_sampling")["numbers"]
    assert sampling["positives"]["SMARP"] > 0 and sampling["negatives"]["SMARP"] > 0
    windows = pd.read_csv(run_dir / "03_sampling" / "windows.csv", parse_dates=["end"])
    assert not (windows.SERIES == "SHARP").any()  # the overlap's SHARP records serve fusion only (before 2010-10-29)
    table5 = pd.read_csv(run_dir / "03_sampling" / "table5.csv")
    assert (table5.filter(like="positive") > 0).all().all(), table5  # both classes in every split of every dataset
    for chapter in ("04_lstm", "05_cnn"):
        numbers = read_record(run_dir, chapter)["numbers"]
        assert numbers["n_train"] > 0 and numbers["epochs"] >= 1
        assert numbers["test"]["TP"] + numbers["test"]["FN"] + numbers["test"]["FP"] + numbers["test"]["TN"] == numbers["n_test"] > 0
