"""The JSOC client on recorded responses: drms's own parsing, chunk cache and resume, exports,
and a clear, immediate error without a network."""

from __future__ import annotations

import io
import json
import re
from pathlib import Path
from urllib.parse import parse_qs, urlparse

import pandas as pd
import pytest

from flarelib.sources import jsoc
from flarelib.sources.network import ServiceUnreachable, require_service
from flarelib.sources.store import apply_study_filters
from tests.conftest import write_fits

DATA = Path(__file__).parent / "data" / "jsoc"


def recorded(name: str) -> dict:
    return json.loads((DATA / name).read_text())


class FakeJsoc:
    """Stands in for urllib's urlopen inside drms: answers each CGI with a recorded response."""

    def __init__(self, fail_on_query: int | None = None):
        self.calls: list[dict] = []
        self.fail_on_query = fail_on_query

    def rs_list(self, ds: str) -> dict:
        lo, hi = re.search(r"\]\[(\S+?)-(\S+?)(?:@\w+)?\]", ds).groups()
        lo, hi = (pd.to_datetime(t.replace("_TAI", ""), format="%Y.%m.%d_%H:%M:%S") for t in (lo, hi))
        table = recorded("smarp_records.json")
        rows = [r for r in table["rows"] if lo <= pd.to_datetime(r[0][:-4], format="%Y.%m.%d_%H:%M:%S") <= hi]
        columns = list(zip(*rows)) if rows else [[] for _ in table["names"]]
        return {"keywords": [{"name": n, "values": list(v)} for n, v in zip(table["names"], columns)],
                "count": len(rows), "runtime": 0.05, "status": 0}

    def __call__(self, request, timeout=None):
        url = request.full_url if hasattr(request, "full_url") else request
        query = {k: v[0] for k, v in parse_qs(urlparse(url).query).items()}
        self.calls.append(query)
        op = query.get("op", "checkAddress" if "checkAddress" in url else "")
        if op == "rs_list":
            queries = sum(c.get("op") == "rs_list" for c in self.calls)
            if self.fail_on_query and queries == self.fail_on_query:
                raise ConnectionResetError("the connection was reset (recorded failure)")
            body = self.rs_list(query["ds"])
        else:
            body = recorded({"series_struct": "smarp_series_struct.json", "exp_request": "export_request.json",
                             "exp_status": "export_status.json", "checkAddress": "check_address.json"}[op])
        response = io.BytesIO(json.dumps(body).encode())
        response.url = url
        return response


@pytest.fixture
def fake(monkeypatch):
    fake = FakeJsoc()
    monkeypatch.setattr("drms.json.urlopen", fake)
    monkeypatch.setattr("flarelib.sources.network.time.sleep", lambda s: None)
    return fake


def client(tmp_path, **kwargs):
    import drms

    return jsoc.JsocClient(tmp_path / "cache", client=drms.Client(), **kwargs)


JULY = (pd.Timestamp("2010-07-01"), pd.Timestamp("2010-08-30"))


def test_keywords_are_parsed_by_drms_into_the_store_columns(fake, tmp_path):
    table = client(tmp_path).keywords(jsoc.SMARP, *JULY)
    assert list(table.columns[:3]) == ["SERIES", "ARPNUM", "T_REC"]
    assert len(table) == 7 and set(table.SERIES) == {"SMARP"}
    real = table.iloc[0]
    assert real.T_REC == pd.Timestamp("2010-07-14 12:48:00")
    assert (real.ARPNUM, real.NOAA_ARS, real.NOAA_NUM, real.QUALITY) == (13520, "11087", 1, 0x200)
    assert real.USFLUXL == pytest.approx(3.035774e22) and real.R_VALUE == pytest.approx(3.599238)
    two = table[table.ARPNUM == 13532].iloc[0]
    assert two.NOAA_ARS == "11091,11092" and pd.isna(two.USFLUXL)  # 'nan' from JSOC is a missing value
    sent = [c for c in fake.calls if c.get("op") == "rs_list"][0]
    assert sent["ds"] == "mdi.smarp_cea_96m[][2010.07.01_00:00:00_TAI-2010.07.30_23:59:59_TAI]"
    assert sent["key"].split(",") == jsoc.SMARP.keywords


def test_the_studys_filters_on_the_recorded_records(fake, tmp_path):
    table = client(tmp_path).keywords(jsoc.SMARP, *JULY)
    kept, dropped = apply_study_filters(table, jsoc.SMARP.bad_quality_bits)
    assert sorted(kept.ARPNUM.unique()) == [13520, 13532, 13533]  # 0x200 is benign in SMARP
    reasons = dict(zip(dropped.ARPNUM.astype(str) + " " + dropped.T_REC.astype(str), dropped.reason))
    assert reasons == {"13520 2010-07-20 09:36:00": "beyond +-70 degrees of central meridian",
                       "13530 2010-07-15 04:48:00": "no NOAA active region",
                       "13531 2010-07-16 06:24:00": "bad quality"}


def test_sharp_is_queried_at_the_96_minute_cadence():
    ds = jsoc.record_set(jsoc.SHARP, pd.Timestamp("2012-03-01"), pd.Timestamp("2012-03-31"))
    assert ds == "hmi.sharp_cea_720s[][2012.03.01_00:00:00_TAI-2012.03.30_23:59:59_TAI@96m]"


def test_a_rerun_reuses_cached_chunks(fake, tmp_path):
    first = client(tmp_path).keywords(jsoc.SMARP, *JULY)
    queries = sum(c.get("op") == "rs_list" for c in fake.calls)
    again = client(tmp_path).keywords(jsoc.SMARP, *JULY)
    assert sum(c.get("op") == "rs_list" for c in fake.calls) == queries == 2
    pd.testing.assert_frame_equal(first, again)


def test_an_interrupted_ingest_resumes_at_the_first_missing_chunk(monkeypatch, tmp_path):
    import drms

    failing = FakeJsoc(fail_on_query=2)
    monkeypatch.setattr("drms.json.urlopen", failing)
    monkeypatch.setattr("flarelib.sources.network.time.sleep", lambda s: None)
    c = jsoc.JsocClient(tmp_path / "cache", client=drms.Client())
    # the second chunk fails once, is retried with back-off, and the run completes
    assert len(c.keywords(jsoc.SMARP, *JULY)) == 7
    # a run killed during the second chunk leaves the first cached: only the second is asked again
    chunk_files = sorted((tmp_path / "cache" / "keywords" / "SMARP").glob("*.csv"))
    chunk_files[1].unlink()
    before = len(failing.calls)
    c.keywords(jsoc.SMARP, *JULY)
    asked = [x["ds"] for x in failing.calls[before:] if x.get("op") == "rs_list"]
    assert asked == ["mdi.smarp_cea_96m[][2010.07.31_00:00:00_TAI-2010.08.29_23:59:59_TAI]"]
    assert not list((tmp_path / "cache").rglob("*.tmp"))


def test_cutouts_are_exported_and_fetched_into_the_cache(fake, file_server, tmp_path, monkeypatch):
    import drms

    config = drms.config._server_configs["jsoc"].to_dict()
    config["http_download_baseurl"] = file_server.url + "/"
    server = drms.config.ServerConfig(**config)
    status = json.loads((DATA / "export_status.json").read_text())
    for item in status["data"]:
        write_fits(file_server.folder / status["dir"].lstrip("/") / item["filename"], seed=len(item["filename"]))
    c = jsoc.JsocClient(tmp_path / "cache", email="someone@example.org", client=drms.Client(server=server))
    files = c.cutouts(jsoc.SMARP, 13520, pd.Timestamp("2010-07-14 12:48"), pd.Timestamp("2010-07-14 14:24"))
    assert files.T_REC.tolist() == [pd.Timestamp("2010-07-14 12:48"), pd.Timestamp("2010-07-14 14:24")]
    assert all(Path(p).exists() for p in [*files.FILE, *files.BITMAP_FILE])
    sent = next(x for x in fake.calls if x.get("op") == "exp_request")
    assert sent["ds"] == ("mdi.smarp_cea_96m[13520][2010.07.14_12:48:00_TAI-2010.07.14_14:24:00_TAI]"
                          "{magnetogram,bitmap}")
    served = len(file_server.requests)
    c.cutouts(jsoc.SMARP, 13520, pd.Timestamp("2010-07-14 12:48"), pd.Timestamp("2010-07-14 14:24"))
    assert len(file_server.requests) == served  # all four files reused from the cache


def test_exports_need_an_email(tmp_path):
    import drms

    c = jsoc.JsocClient(tmp_path, client=drms.Client())
    with pytest.raises(ValueError, match="set the parameter jsoc_email"):
        c.cutouts(jsoc.SMARP, 1, pd.Timestamp("2010-07-14"), pd.Timestamp("2010-07-15"))


def test_without_a_network_the_client_fails_at_once_and_says_how_to_run_offline(monkeypatch, tmp_path):
    with pytest.raises(ServiceUnreachable) as caught:
        jsoc.JsocClient(tmp_path, url="http://jsoc.invalid")  # .invalid never resolves (RFC 2606)
    message = str(caught.value)
    assert "cannot reach JSOC (SMARP/SHARP) at jsoc.invalid:80" in message
    assert "To run offline" in message and "--params demo" in message


def test_require_service_accepts_a_listening_port(file_server):
    require_service(file_server.url, "the test server")


def test_export_file_names_pair_magnetograms_with_bitmaps(tmp_path):
    names = ["hmi.sharp_cea_720s.377.20110215_014800_TAI.magnetogram.fits",
             "hmi.sharp_cea_720s.377.20110215_014800_TAI.bitmap.fits"]
    table = jsoc.files_by_record(names, [tmp_path / n for n in names])
    assert table.T_REC.tolist() == [pd.Timestamp("2011-02-15 01:48")]
    with pytest.raises(ValueError, match="lacks a magnetogram or bitmap"):
        jsoc.files_by_record(names[:1], [tmp_path / names[0]])
