"""Downloads resume after an interruption, and truncated or corrupt files never count as complete."""

from __future__ import annotations

import pytest

from flarelib.sources.download import fetch, fetch_all
from flarelib.sources.fitsio import CorruptFile, verify_fits
from tests.conftest import write_fits

NO_WAIT = {"sleep": lambda seconds: None}


def test_a_cut_download_resumes_with_a_range_request(file_server, tmp_path):
    source = write_fits(file_server.folder / "a.fits", shape=(200, 300))
    size = source.stat().st_size
    file_server.cut_next = 1
    result = fetch(f"{file_server.url}/a.fits", tmp_path / "cache" / "a.fits", check=verify_fits, **NO_WAIT)
    assert result.status == "downloaded"
    assert result.path.read_bytes() == source.read_bytes()
    first, second = file_server.requests
    assert first["range"] is None
    assert second["range"] == f"bytes={size // 2}-"  # only the missing half was fetched again
    assert not (tmp_path / "cache" / "a.fits.part").exists()


def test_a_rerun_reuses_the_cache_without_a_request(file_server, tmp_path):
    write_fits(file_server.folder / "a.fits")
    target = tmp_path / "a.fits"
    fetch(f"{file_server.url}/a.fits", target, check=verify_fits, **NO_WAIT)
    assert fetch(f"{file_server.url}/a.fits", target, check=verify_fits, **NO_WAIT).status == "cached"
    assert len(file_server.requests) == 1


def test_a_corrupt_cached_file_is_detected_and_fetched_again(file_server, tmp_path):
    source = write_fits(file_server.folder / "a.fits")
    target = tmp_path / "a.fits"
    target.write_bytes(source.read_bytes()[:-2000])  # truncated by an earlier crash
    with pytest.raises(CorruptFile, match="a.fits: ends early"):
        verify_fits(target)
    assert fetch(f"{file_server.url}/a.fits", target, check=verify_fits, **NO_WAIT).status == "replaced"
    verify_fits(target)


def test_a_flipped_byte_fails_the_fits_checksum(tmp_path):
    path = write_fits(tmp_path / "a.fits")
    data = bytearray(path.read_bytes())
    data[-100] ^= 0xFF
    path.write_bytes(bytes(data))
    with pytest.raises(CorruptFile):
        verify_fits(path)


def test_a_server_that_sends_a_truncated_file_leaves_nothing_in_the_cache(file_server, tmp_path):
    good = write_fits(tmp_path / "good.fits")
    (file_server.folder / "bad.fits").write_bytes(good.read_bytes()[:-2880])  # a short but "complete" reply
    target = tmp_path / "cache" / "bad.fits"
    with pytest.raises(CorruptFile):
        fetch(f"{file_server.url}/bad.fits", target, check=verify_fits, **NO_WAIT)
    assert not target.exists() and not target.with_name("bad.fits.part").exists()


def test_retries_give_up_with_a_clear_message(file_server, tmp_path):
    with pytest.raises(ConnectionError, match=r"download of .*missing.fits failed after 2 attempts"):
        fetch(f"{file_server.url}/missing.fits", tmp_path / "m.fits", attempts=2, **NO_WAIT)


def test_fetch_all_reports_each_file(file_server, tmp_path):
    for name in "abc":
        write_fits(file_server.folder / f"{name}.fits", seed=ord(name))
    items = [(f"{file_server.url}/{n}.fits", tmp_path / f"{n}.fits") for n in "abc"]
    assert [r.status for r in fetch_all(items, check=verify_fits, **NO_WAIT)] == ["downloaded"] * 3
    assert [r.status for r in fetch_all(items, check=verify_fits, **NO_WAIT)] == ["cached"] * 3
