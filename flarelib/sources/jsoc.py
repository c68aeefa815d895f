"""SMARP and SHARP from JSOC through drms: keywords in cached chunks, cutouts by export.

Keyword queries are split into 30-day chunks; each chunk's answer is cached as CSV (written
atomically), so a re-run reuses the cache and an interrupted ingest resumes at the first missing
chunk. Cutouts (CEA line-of-sight magnetogram and bitmap) are exported per region with
`drms.Client.export` and fetched by `flarelib.sources.download`, which resumes and verifies each file.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
from tqdm import tqdm

from flarelib.sources.download import fetch_all
from flarelib.sources.fitsio import verify_fits
from flarelib.sources.network import require_service, retry

JSOC_URL = "http://jsoc.stanford.edu"
QUERY_SPAN = pd.Timedelta(days=30)  # keyword queries are cut into spans this long


@dataclass(frozen=True)
class Series:
    """A JSOC series of the study and how it is queried (Section 2.1)."""

    series: str  # SMARP | SHARP, the store's name
    name: str  # the JSOC series
    arp_key: str  # TARPNUM | HARPNUM
    start: pd.Timestamp
    end: pd.Timestamp
    cadence: str  # appended to the time interval: SHARP (720 s) is queried every 96 minutes
    bad_quality_bits: int  # QUALITY bits that make a record unusable

    @property
    def keywords(self) -> list[str]:
        return ["T_REC", self.arp_key, "NOAA_ARS", "NOAA_NUM", "LAT_FWT", "LON_FWT", "LON_MIN", "LON_MAX", "QUALITY",
                "USFLUXL", "MEANGBL", "R_VALUE", "AREA"]


# The quality masks as the study's authors query them: SMARP records with QUALITY < 262144 (bits 18
# and above bad), SHARP records with QUALITY < 65536 (bits 16 and above bad); the lower bits flag
# conditions the authors keep (SMARP's 0x200 on TARP 13520, 2010-07-14, for one).
SMARP = Series("SMARP", "mdi.smarp_cea_96m", "TARPNUM", pd.Timestamp("1996-04-23"), pd.Timestamp("2010-10-28"),
               "", 0xFFFC0000)
SHARP = Series("SHARP", "hmi.sharp_cea_720s", "HARPNUM", pd.Timestamp("2010-05-01"), pd.Timestamp("2020-12-01"),
               "@96m", 0xFFFF0000)
SERIES = {"SMARP": SMARP, "SHARP": SHARP}


def jsoc_time(when: pd.Timestamp) -> str:
    return when.strftime("%Y.%m.%d_%H:%M:%S_TAI")


def chunks(start: pd.Timestamp, end: pd.Timestamp, size: pd.Timedelta = QUERY_SPAN) -> list[tuple[pd.Timestamp, pd.Timestamp]]:
    edges = list(pd.date_range(start, end, freq=size)) + [end]
    return [(a, b) for a, b in zip(edges[:-1], edges[1:]) if b > a]


def record_set(series: Series, start: pd.Timestamp, end: pd.Timestamp) -> str:
    """All regions in [start, end): e.g. `hmi.sharp_cea_720s[][2010.05.01_00:00:00_TAI-...@96m]`."""
    return f"{series.name}[][{jsoc_time(start)}-{jsoc_time(end - pd.Timedelta(seconds=1))}{series.cadence}]"


def normalise_keywords(table: pd.DataFrame, series: Series) -> pd.DataFrame:
    """drms's answer to the store's columns: ARPNUM, SERIES, T_REC as timestamps, NOAA_ARS as text."""
    import drms

    if table.empty:
        return pd.DataFrame(columns=["SERIES", "ARPNUM", *[k for k in series.keywords if k != series.arp_key]])
    out = table.rename(columns={series.arp_key: "ARPNUM"}).copy()
    out.insert(0, "SERIES", series.series)
    out["T_REC"] = drms.to_datetime(out["T_REC"])
    bad_time = out["T_REC"].isna()
    if bad_time.any():
        raise ValueError(f"{series.name}: unreadable T_REC in records {table.loc[bad_time, 'T_REC'].tolist()[:5]}")
    out["NOAA_ARS"] = out["NOAA_ARS"].fillna("").astype(str).str.replace(" ", "")
    for column in ("NOAA_NUM", "QUALITY", "ARPNUM"):
        out[column] = pd.to_numeric(out[column], errors="coerce").fillna(0).astype("int64")
    for column in ("LAT_FWT", "LON_FWT", "LON_MIN", "LON_MAX", "USFLUXL", "MEANGBL", "R_VALUE", "AREA"):
        if column in out:  # drms converts the series' numeric keywords; a value it left as text becomes NaN
            out[column] = pd.to_numeric(out[column], errors="coerce")
    first = ["SERIES", "ARPNUM", "T_REC"]
    return out[first + [c for c in out.columns if c not in first]]


def drms_client(url: str = JSOC_URL, email: str | None = None) -> Any:
    """drms's client for JSOC, or for a server at another address that answers as JSOC does (a
    mirror, or the tests' look-alike): the same CGI paths and download root under `url`."""
    import drms
    from drms.config import ServerConfig

    base = url.rstrip("/")
    if base == JSOC_URL:
        return drms.Client(email=email)
    server = ServerConfig(name="JSOC", cgi_baseurl=f"{base}/cgi-bin/ajax/", cgi_show_series="show_series",
                          cgi_jsoc_info="jsoc_info", cgi_jsoc_fetch="jsoc_fetch", cgi_check_address="checkAddress.sh",
                          cgi_show_series_wrapper="showextseries", show_series_wrapper_dbhost="hmidb2",
                          http_download_baseurl=f"{base}/", encoding="latin1")
    return drms.Client(server=server, email=email)


class JsocClient:
    """Keyword queries and cutout exports for one cache folder."""

    def __init__(self, cache_dir: Path, email: str | None = None, client: Any = None, check_network: bool = True,
                 url: str = JSOC_URL):
        self.cache_dir = Path(cache_dir)
        self.email = email
        if check_network and client is None:
            require_service(url, "JSOC (SMARP/SHARP)")
        self.client = client if client is not None else drms_client(url, email)

    def _chunk_file(self, series: Series, start: pd.Timestamp) -> Path:
        return self.cache_dir / "keywords" / series.series / f"{start:%Y%m%d}.csv"

    def keywords(self, series: Series, start: pd.Timestamp | None = None, end: pd.Timestamp | None = None) -> pd.DataFrame:
        """Every record of the series in [start, end) with the study's keywords (cached by chunk)."""
        parts = []
        spans = chunks(start or series.start, end or series.end)
        for a, b in tqdm(spans, desc=f"{series.series} keywords", unit="chunk", disable=None):
            path = self._chunk_file(series, a)
            if not path.exists():
                answer = retry(lambda: self.client.query(record_set(series, a, b), key=series.keywords),
                               f"JSOC query {record_set(series, a, b)}")
                table = normalise_keywords(answer, series)
                path.parent.mkdir(parents=True, exist_ok=True)
                partial = path.with_suffix(".tmp")
                table.to_csv(partial, index=False)
                partial.replace(path)  # atomic: a killed run never leaves half a chunk
            parts.append(pd.read_csv(path, parse_dates=["T_REC"], dtype={"NOAA_ARS": str}))
        table = pd.concat(parts, ignore_index=True) if parts else pd.DataFrame()
        table["NOAA_ARS"] = table.get("NOAA_ARS", pd.Series(dtype=str)).fillna("")
        return table

    def cutouts(self, series: Series, arpnum: int, start: pd.Timestamp, end: pd.Timestamp) -> pd.DataFrame:
        """Export and fetch the magnetogram and bitmap of a region's records in [start, end].

        Returns one row per record: T_REC, FILE, BITMAP_FILE (paths in the cache)."""
        if not self.email:
            raise ValueError("JSOC exports need a registered e-mail address: set the parameter jsoc_email")
        ds = f"{series.name}[{arpnum}][{jsoc_time(start)}-{jsoc_time(end)}{series.cadence}]{{magnetogram,bitmap}}"
        request = retry(lambda: self.client.export(ds, method="url", protocol="fits", email=self.email),
                        f"JSOC export {ds}")
        request.wait(sleep=None)  # poll as often as the server's answer asks
        urls = request.urls
        folder = self.cache_dir / "fits" / series.series / str(arpnum)
        fetched = fetch_all(((row.url, folder / row.filename) for row in urls.itertuples()), check=verify_fits,
                            desc=f"{series.series} {arpnum} cutouts")
        return files_by_record(urls.filename.tolist(), [f.path for f in fetched])


def files_by_record(filenames: list[str], paths: list[Path]) -> pd.DataFrame:
    """Pair the magnetogram and bitmap files of each record from JSOC's export file names,
    e.g. `mdi.smarp_cea_96m.13520.20100714_124800_TAI.magnetogram.fits`."""
    rows: dict[pd.Timestamp, dict[str, Any]] = {}
    for name, path in zip(filenames, paths):
        parts = name.split(".")
        if len(parts) < 5 or parts[-1] != "fits":
            raise ValueError(f"unexpected JSOC export file name {name!r}")
        when = pd.to_datetime(parts[-3].replace("_TAI", ""), format="%Y%m%d_%H%M%S")
        rows.setdefault(when, {"T_REC": when})["FILE" if parts[-2] == "magnetogram" else "BITMAP_FILE"] = str(path)
    table = pd.DataFrame(list(rows.values()))
    incomplete = table[table[["FILE", "BITMAP_FILE"]].isna().any(axis=1)] if {"FILE", "BITMAP_FILE"} <= set(table) else table
    if not incomplete.empty:
        raise ValueError(f"export lacks a magnetogram or bitmap for records {incomplete['T_REC'].tolist()[:5]}")
    return table.sort_values("T_REC").reset_index(drop=True)


def image_stats(magnetogram: Path, series: str = "SHARP") -> dict[str, int]:
    """NX, NY (native) and the NaN pixels of the image on the CNN's grid (HMI subsampled 4x, as the
    authors count them), for the bad-record rules."""
    from flarelib.schema import SUBSAMPLE, subsample
    from flarelib.sources.fitsio import read_image

    data = read_image(magnetogram).data
    return {"NX": data.shape[1], "NY": data.shape[0], "NAN_PIXELS": int(np.isnan(subsample(data, SUBSAMPLE[series])).sum())}
