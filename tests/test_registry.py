"""The data registry: every public file fetched from a loopback mirror of ../shared/data into an
empty folder and verified; a tampered file refused with both hashes and set aside; a download cut
half-way resumed; with no server and no copy, the error comes at once and names the way out."""

from __future__ import annotations

import shutil
import time
from pathlib import Path

import pytest

from flarelib.compendium.cli import main
from flarelib.sources import registry
from flarelib.sources.window_tables import TABLES_DIR
from tests.conftest import SHARED_DATA, FileServer

needs_data = pytest.mark.skipif(not (SHARED_DATA / TABLES_DIR).is_dir(), reason=f"no copy of the data in {SHARED_DATA}")
SMALL = "goes/swpc/swpc_flarelist_20100101-20210810.csv"


@pytest.fixture
def mirror():
    server = FileServer(SHARED_DATA)
    yield server
    server.close()


@pytest.fixture
def empty(tmp_path, monkeypatch) -> Path:
    folder = tmp_path / "data"
    monkeypatch.setenv("FLARELIB_DATA_DIR", str(folder))
    return folder


def test_the_registry_names_every_file_with_an_address_and_a_hash():
    table = registry.entries()
    assert len(table) == 118 and table.name.is_unique
    assert table.sha256.str.fullmatch(r"[0-9a-f]{64}").all() and (table["size"] >= 0).all()
    assert table.url.str.startswith("https://").all()
    assert set(table.group) == {"windows", "goes", "smarp-cutout", "sharp-cutouts", "sharp-damaged"}
    assert table[table.group == "windows"].url.str.contains("3f6c20b").all()


@needs_data
def test_the_committed_registry_is_what_the_verified_copy_hashes_to(tmp_path):
    rewritten = registry.write_registry(SHARED_DATA, tmp_path / "registry.csv")
    assert (tmp_path / "registry.csv").read_text() == registry.REGISTRY_CSV.read_text()
    assert len(rewritten) == 118


@needs_data
def test_the_shared_copy_verifies(capsys):
    assert main(["data", "verify"]) == 0
    assert "118 of 118 files present" in capsys.readouterr().out


@needs_data
def test_fetch_from_a_mirror_into_an_empty_folder_gets_every_file_verified(mirror, empty, monkeypatch, capsys):
    monkeypatch.setenv("FLARELIB_DATA_URL", mirror.url)
    began = time.perf_counter()
    assert main(["data", "fetch"]) == 0
    seconds = time.perf_counter() - began
    out = capsys.readouterr().out
    assert "118 files (47.5 MB) present and verified" in out, out
    table = registry.status(empty)
    assert table.present.all() and table.verified.all()
    assert not list(empty.glob(".partial/*"))  # no partial download left behind
    requests = len(mirror.requests)
    assert main(["data", "fetch", "windows"]) == 0 and len(mirror.requests) == requests  # present: no network
    print(f"fetched 47.5 MB from the loopback mirror in {seconds:.1f} s")


@needs_data
def test_a_file_served_with_one_byte_changed_is_refused(tmp_path, empty, monkeypatch):
    served = tmp_path / "served"
    (served / "goes/swpc").mkdir(parents=True)
    raw = bytearray((SHARED_DATA / SMALL).read_bytes())
    raw[1000] ^= 0x01
    (served / SMALL).write_bytes(bytes(raw))
    server = FileServer(served)
    monkeypatch.setenv("FLARELIB_DATA_URL", server.url)
    try:
        with pytest.raises(registry.DataCorrupt, match=rf"{SMALL}.*{registry.entries().set_index('name').sha256[SMALL]}"):
            registry.path(SMALL)
    finally:
        server.close()
    assert not (empty / SMALL).exists()


@needs_data
def test_a_tampered_copy_is_set_aside_and_fetched_again(mirror, empty, monkeypatch):
    (empty / SMALL).parent.mkdir(parents=True)
    (empty / SMALL).write_bytes(b"not the list")
    expected = registry.entries().set_index("name").sha256[SMALL]
    with pytest.raises(registry.DataCorrupt, match=rf"SHA-256 [0-9a-f]{{64}}, not the registered {expected}: moved aside"):
        registry.path(SMALL, fetch=False)
    (empty / SMALL).write_bytes(b"another bad copy")
    monkeypatch.setenv("FLARELIB_DATA_URL", mirror.url)
    assert registry.sha256(registry.path(SMALL)) == expected
    assert len(list((empty / SMALL).parent.glob("*.bad-*"))) == 2  # both bad copies kept aside, never used


@needs_data
def test_a_download_cut_half_way_resumes_and_ends_verified(mirror, empty, monkeypatch):
    monkeypatch.setenv("FLARELIB_DATA_URL", mirror.url)
    monkeypatch.setattr("flarelib.sources.network.time.sleep", lambda s: None)
    mirror.cut_next = 1
    path = registry.path(SMALL)
    assert registry.sha256(path) == registry.entries().set_index("name").sha256[SMALL]
    ranges = [r["range"] for r in mirror.requests]
    assert ranges[0] is None and ranges[1] and ranges[1].startswith("bytes=") and ranges[1] != "bytes=0-"


def test_with_no_server_and_no_copy_the_error_is_immediate(empty, monkeypatch):
    monkeypatch.setenv("FLARELIB_DATA_URL", "http://127.0.0.1:9")  # nothing listens on the discard port
    began = time.perf_counter()
    with pytest.raises(registry.DataMissing) as caught:
        registry.path(f"{TABLES_DIR}/sharp/sharp_0.csv")
    assert time.perf_counter() - began < 1.0
    message = str(caught.value)
    assert f"{TABLES_DIR}/sharp/sharp_0.csv is not in the data folder {empty}" in message
    assert "http://127.0.0.1:9/" in message and "flarelib data fetch windows" in message and "FLARELIB_DATA_DIR" in message
    note = caught.value.note  # what a book's page prints: the same remedy, none of this machine's paths
    assert str(empty) not in note and "flarelib data fetch windows" in note and "sharp_0.csv" in note


@needs_data
def test_readers_go_through_the_registry(empty, mirror, monkeypatch):
    from flarelib.fusion import authors_fit

    monkeypatch.setenv("FLARELIB_DATA_URL", mirror.url)
    fit = authors_fit()
    assert set(fit.index) == {"USFLUXL", "MEANGBL", "R_VALUE"}  # the authors fit three of the four
    assert (empty / TABLES_DIR / "sharp2smarp.npy").exists()
    shutil.rmtree(empty)
    monkeypatch.setenv("FLARELIB_DATA_URL", "http://127.0.0.1:9")
    with pytest.raises(registry.DataMissing, match="sharp2smarp.npy"):
        authors_fit()
