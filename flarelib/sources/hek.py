"""The GOES flare catalogue from the HEK through sunpy (as the study queried it), cached by month."""

from __future__ import annotations

from pathlib import Path
from typing import Any, Callable

import numpy as np
import pandas as pd
from tqdm import tqdm

from flarelib.sources.network import require_service, retry

HEK_URL = "https://www.lmsal.com/hek/her"
HEK_COLUMNS = {"event_starttime": "start_time", "event_peaktime": "peak_time", "event_endtime": "end_time",
           "fl_goescls": "goes_class", "ar_noaanum": "noaa_ar"}


def hek_search(start: pd.Timestamp, end: pd.Timestamp, url: str = HEK_URL + "?") -> Any:
    """GOES flare events (event type FL, observatory GOES) in [start, end) from sunpy's HEK client
    (at `url`: the HEK's, or a server that answers as it does)."""
    from sunpy.net import attrs as a
    from sunpy.net.hek import HEKClient

    return HEKClient(url=url).search(a.Time(start.to_pydatetime(), end.to_pydatetime()), a.hek.EventType("FL"),
                              a.hek.OBS.Observatory == "GOES")


def hek_to_frame(table: Any) -> pd.DataFrame:
    """The HEK table's columns of interest with the store's names; no NOAA number -> <NA>."""
    if len(table) == 0:
        return pd.DataFrame(columns=list(HEK_COLUMNS.values()))
    out = pd.DataFrame({new: list(table[old]) for old, new in HEK_COLUMNS.items()})
    for column in ("start_time", "peak_time", "end_time"):
        out[column] = pd.to_datetime([str(v) for v in out[column]], format="ISO8601")
    numbers = pd.to_numeric(out["noaa_ar"], errors="coerce")
    out["noaa_ar"] = pd.array(np.where(numbers > 0, numbers, np.nan), dtype="Int64")  # HEK writes 0 for none
    out["goes_class"] = out["goes_class"].fillna("").astype(str).str.strip()
    return out


class GoesCatalogue:
    """Monthly cached queries of the GOES flare catalogue."""

    def __init__(self, cache_dir: Path, search: Callable[[pd.Timestamp, pd.Timestamp], Any] | None = None,
                 check_network: bool = True, url: str = HEK_URL + "?"):
        self.cache_dir = Path(cache_dir) / "goes"
        if check_network and search is None:
            require_service(url.rstrip("?"), "the HEK (GOES flare catalogue)")
        self.search = search or (lambda start, end: hek_search(start, end, url))

    def flares(self, start: pd.Timestamp, end: pd.Timestamp) -> pd.DataFrame:
        edges = list(pd.date_range(start.normalize().replace(day=1), end, freq="MS")) + [end]
        parts = []
        months = [(a, b) for a, b in zip(edges[:-1], edges[1:]) if b > a]
        for a, b in tqdm(months, desc="GOES flares", unit="month", disable=None):
            path = self.cache_dir / f"{a:%Y%m}.csv"
            if not path.exists():
                frame = hek_to_frame(retry(lambda: self.search(a, b), f"HEK query {a:%Y-%m}"))
                path.parent.mkdir(parents=True, exist_ok=True)
                partial = path.with_suffix(".tmp")
                frame.to_csv(partial, index=False)
                partial.replace(path)
            parts.append(pd.read_csv(path, parse_dates=["start_time", "peak_time", "end_time"], dtype={"goes_class": str}))
        out = pd.concat(parts, ignore_index=True)
        out["noaa_ar"] = out["noaa_ar"].astype("Int64")
        out["goes_class"] = out["goes_class"].fillna("")
        return out[(out.peak_time >= start) & (out.peak_time < end)].reset_index(drop=True)
