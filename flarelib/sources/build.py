"""Build the data store from the run's source: the one place that knows which source ran."""

from __future__ import annotations

from pathlib import Path
from typing import Callable

import pandas as pd

from flarelib.compendium.paths import resolve
from flarelib.sources.files import atomic_path
from flarelib.sources.store import Store, StoreError, apply_study_filters, open_store, write_store


def build_jsoc(folder: Path, cache_dir: str, jsoc_email: str | None, with_images: bool = True, *,
               jsoc_url: str | None = None, hek_url: str | None = None, start: str | None = None,
               end: str | None = None) -> Store:
    """Query SMARP, SHARP and the GOES catalogue (needs a network; fails at once without one).

    Parameters
    ----------
    folder, cache_dir : where the store and the resumable download cache go.
    jsoc_email : a JSOC-registered address, for cutout exports.
    with_images : export and fetch the cutouts of the records the study keeps.
    jsoc_url, hek_url : the services' addresses (default: JSOC's and the HEK's own).
    start, end : the period queried (default: each series' whole span).
    """
    from flarelib.sources.hek import HEK_URL, GoesCatalogue
    from flarelib.sources.jsoc import JSOC_URL, SERIES, JsocClient, image_stats

    cache = resolve(cache_dir)
    client = JsocClient(cache, email=jsoc_email, url=jsoc_url or JSOC_URL)
    catalogue = GoesCatalogue(cache, url=hek_url or HEK_URL + "?")
    period = [pd.Timestamp(start) if start else None, pd.Timestamp(end) if end else None]
    tables = []
    for series in SERIES.values():
        a, b = max(period[0], series.start) if period[0] else series.start, min(period[1], series.end) if period[1] else series.end
        if b <= a:
            continue
        records = client.keywords(series, a, b)
        kept, _ = apply_study_filters(records, series.bad_quality_bits)
        if with_images:
            records = _attach_images(client, series, records, kept, image_stats)
        tables.append(records)
    records = pd.concat(tables, ignore_index=True)
    flares = catalogue.flares(period[0] or pd.Timestamp("1996-01-01"), period[1] or pd.Timestamp("2021-01-01"))
    provenance = {"source": "jsoc", "jsoc_url": jsoc_url or JSOC_URL, "hek_url": hek_url or HEK_URL,
                  "query": {s.series: {"series": s.name, "keywords": s.keywords, "start": str(period[0] or s.start),
                                       "end": str(period[1] or s.end)} for s in SERIES.values()}}
    return open_store(write_store(folder, records, flares, provenance))


def _attach_images(client, series, records: pd.DataFrame, kept: pd.DataFrame, image_stats) -> pd.DataFrame:
    """Fetch the cutouts of the records the study keeps and add FILE, BITMAP_FILE, NX, NY, NAN_PIXELS."""
    files = []
    for arpnum, group in kept.groupby("ARPNUM"):
        found = client.cutouts(series, int(arpnum), group.T_REC.min(), group.T_REC.max())
        files.append(found.assign(ARPNUM=arpnum))
    if not files:
        return records
    files = pd.concat(files, ignore_index=True)
    stats = pd.DataFrame([image_stats(path, series.series) for path in files.FILE])
    files = pd.concat([files, stats], axis=1)
    return records.merge(files, on=["ARPNUM", "T_REC"], how="left")


def build_archive(folder: Path, data_dir: str | None) -> Store:
    """The real public tables as a store (no magnetograms): keyword records rebuilt from the study
    authors' window tables, flares from the merged NGDC/SWPC catalogue, each region's NOAA numbers
    inferred from the flares its positive windows list (flarelib.sources.window_tables)."""
    from flarelib.sources.archive import merged_catalogue
    from flarelib.sources.window_tables import TABLES_DIR, archive_records, infer_noaa, read_window_tables

    from flarelib.sources import registry

    data = registry.data_dir(data_dir)  # the tables and catalogues come through the registry, verified
    windows = read_window_tables(data)
    catalogue = merged_catalogue(data)
    noaa = infer_noaa(windows, catalogue.flares)
    records = archive_records(windows, noaa)
    provenance = {"source": "archive", "data_dir": str(data), "window_tables": TABLES_DIR,
                  "catalogue": catalogue.counts, "magnetograms": False,
                  "filters_applied_upstream": ["bad quality", "beyond +-70 degrees of central meridian"],
                  "note": "keywords of the study authors' published windows (USFLUX, MEANGBZ as USFLUXL, MEANGBL); "
                          "NOAA numbers inferred from the flares of positive windows"}
    write_store(folder, records, catalogue.flares, provenance)
    for name, table in (("noaa_map.csv", noaa), ("catalogue_report.csv", catalogue.report)):
        with atomic_path(folder / name) as path:
            table.to_csv(path, index=False)
    return open_store(folder)


def build_store(folder: str | Path, source: str, **params) -> Store:
    """Write the store of a run's data chapter from its parameters."""
    folder = resolve(folder)
    if source == "synthetic":
        from flarelib.sources.synthetic import build_synthetic

        constants = {"mdi_gain": params["mdi_gain"]} if params.get("mdi_gain") is not None else None
        return build_synthetic(folder, params["seed"], params["regions_cycle23"], params["regions_cycle24"],
                               params["overlap_regions"], params.get("workers", 0), params.get("progress"), constants)
    if source == "jsoc":
        return build_jsoc(folder, params["cache_dir"], params.get("jsoc_email"), jsoc_url=params.get("jsoc_url"),
                          hek_url=params.get("hek_url"), start=params.get("jsoc_start"), end=params.get("jsoc_end"))
    if source == "archive":
        return build_archive(folder, params["data_dir"])
    raise StoreError(f"unknown source {source!r}; expected synthetic, archive or jsoc")
