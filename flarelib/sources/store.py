"""The on-disk data model every chapter reads, whichever source wrote it.

A store is a folder:

- `records.csv`: one row per record (SERIES SMARP|SHARP, ARPNUM, T_REC, NOAA_ARS, NOAA_NUM,
  LAT_FWT, LON_FWT, QUALITY, USFLUXL, MEANGBL, R_VALUE, AREA, NX, NY, NAN_PIXELS), as ingested,
  before the study's filters;
- `flares.csv`: the flare catalogue as ingested (start, peak, end, GOES class string, NOAA AR);
- `provenance.json`: source, query or settings, creation time, software versions;
- the magnetograms, read lazily: FITS files listed in `records.csv` (jsoc), or re-rendered from
  `world.json` (synthetic).
"""

from __future__ import annotations

import json
import platform
from dataclasses import asdict, dataclass
from datetime import datetime, timezone
from functools import cached_property
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from flarelib.goes import parse_classes
from flarelib.schema import FLARE_COLUMNS, KEYWORDS
from flarelib.sources.files import atomic_path, write_text

RECORD_COLUMNS = ["SERIES", "ARPNUM", "T_REC", "NOAA_ARS", "NOAA_NUM", "LAT_FWT", "LON_FWT", "LON_MIN", "LON_MAX",
                  "QUALITY", *KEYWORDS, "NX", "NY", "NAN_PIXELS"]
LIMB_DEG = 70.0  # the study keeps patches within +-70 degrees of central meridian


class StoreError(ValueError):
    """A store that is missing or malformed; the message names the file and the problem."""


def _versions() -> dict[str, str]:
    import importlib.metadata as md

    out = {"python": platform.python_version()}
    for name in ("flare-compendium", "numpy", "pandas", "scipy", "drms", "sunpy", "astropy"):
        try:
            out[name] = md.version(name)
        except md.PackageNotFoundError:
            pass
    return out


def write_store(folder: Path, records: pd.DataFrame, flares: pd.DataFrame, provenance: dict[str, Any],
                world: dict[str, Any] | None = None) -> Path:
    """Write a store; `provenance` must name the `source`.

    Parameters
    ----------
    folder : the store's folder.
    records : one row per record (`RECORD_COLUMNS`).
    flares : the flare catalogue (`FLARE_COLUMNS`).
    provenance : where the data came from, with the `source`.
    world : the synthetic world's regions and settings, when the source is synthetic.
    """
    missing = [c for c in RECORD_COLUMNS if c not in records.columns]
    if missing:
        raise StoreError(f"records lack the columns {missing}")
    folder.mkdir(parents=True, exist_ok=True)
    with atomic_path(folder / "records.csv") as path:
        records.to_csv(path, index=False)
    with atomic_path(folder / "flares.csv") as path:
        flares[FLARE_COLUMNS].to_csv(path, index=False)
    stamp = {"created": datetime.now(timezone.utc).isoformat(timespec="seconds"), "versions": _versions()}
    write_text(folder / "provenance.json", json.dumps({**provenance, **stamp}, indent=2, default=str) + "\n")
    if world is not None:
        write_text(folder / "world.json", json.dumps(world) + "\n")
    return folder


@dataclass(frozen=True)
class CleanFlares:
    flares: pd.DataFrame  # parsed, with `peak_flux`; unknown classes removed
    rejected: pd.DataFrame  # the rows removed and why


class Store:
    """Read access to a store; tables load on first use, magnetograms one record at a time."""

    def __init__(self, folder: str | Path):
        self.folder = Path(folder)
        for name in ("records.csv", "flares.csv", "provenance.json"):
            if not (self.folder / name).exists():
                raise StoreError(f"{self.folder} is not a data store: {name} is missing (run the data chapter)")
        self.provenance = json.loads((self.folder / "provenance.json").read_text())
        self.source = self.provenance["source"]

    @property
    def has_magnetograms(self) -> bool:
        """Whether records come with magnetograms (the archive's keyword tables do not)."""
        return bool(self.provenance.get("magnetograms", True))

    @cached_property
    def records(self) -> pd.DataFrame:
        table = pd.read_csv(self.folder / "records.csv", parse_dates=["T_REC"], dtype={"NOAA_ARS": str})
        table["NOAA_ARS"] = table["NOAA_ARS"].fillna("")
        return table

    @cached_property
    def raw_flares(self) -> pd.DataFrame:
        table = pd.read_csv(self.folder / "flares.csv", parse_dates=["start_time", "peak_time", "end_time"],
                            dtype={"goes_class": str})
        table["noaa_ar"] = table["noaa_ar"].astype("Int64")
        table["goes_class"] = table["goes_class"].fillna("")  # an empty class stays empty, to be reported
        return table

    @cached_property
    def flares(self) -> CleanFlares:
        """The catalogue with peak fluxes; unknown or malformed classes are dropped and listed."""
        raw = self.raw_flares
        parsed = parse_classes(raw["goes_class"])
        clean = raw.assign(peak_flux=parsed.flux).dropna(subset=["peak_flux"]).reset_index(drop=True)
        rejected = raw.loc[parsed.rejected.index].assign(reason=parsed.rejected["reason"])
        return CleanFlares(clean, rejected)

    @cached_property
    def _world(self) -> tuple[Any, list[Any]]:
        from flarelib.world.regions import regions_from_json
        from flarelib.world.settings import WorldSettings

        world = json.loads((self.folder / "world.json").read_text())
        return WorldSettings(**world["settings"]), regions_from_json(world["regions"])

    @property
    def world_settings(self) -> Any | None:
        """The synthetic world's settings (`WorldSettings`: its constants, the instruments' true factor
        among them), None for a store of the Sun."""
        return self._world[0] if self.source == "synthetic" else None

    @cached_property
    def _record_rows(self) -> dict[tuple[str, int, pd.Timestamp], int]:
        """(SERIES, ARPNUM, T_REC) -> row position: a record found in a dictionary, not by comparing
        every row's strings (which cost more than rendering a record); the first of duplicates."""
        table = self.records
        keys = list(zip(table.SERIES, table.ARPNUM.astype(int), table.T_REC))
        return {key: i for i, key in reversed(list(enumerate(keys)))}

    @cached_property
    def _record_tuples(self) -> list[Any]:
        return list(self.records.itertuples(index=False))

    def record(self, series: str, arpnum: int, t_rec: pd.Timestamp) -> Any:
        """One record's row (a named tuple of `records.csv`'s columns); a clear error naming it when
        the store has none."""
        position = self._record_rows.get((series, int(arpnum), pd.Timestamp(t_rec)))
        if position is None:
            raise StoreError(f"no record {series} {arpnum} at {t_rec} in {self.folder}")
        return self._record_tuples[position]

    def magnetogram(self, series: str, arpnum: int, t_rec: pd.Timestamp, every: int = 1) -> tuple[np.ndarray, np.ndarray]:
        """The line-of-sight magnetogram (G) and bitmap of one record; with `every` > 1, only every
        `every`-th pixel of both (the synthetic world then renders just those)."""
        if not self.has_magnetograms:
            raise StoreError(f"the {self.source} store in {self.folder} has keywords only, no magnetograms")
        row = self.record(series, arpnum, t_rec)
        if self.source == "synthetic":
            from flarelib.world.instruments import CADENCE_H, EPOCH, INSTRUMENTS
            from flarelib.world.render import observe

            settings, regions = self._world
            instrument = next(i for i in INSTRUMENTS.values() if i.series == series)
            step = int(round((row.T_REC - EPOCH) / pd.Timedelta(hours=CADENCE_H)))
            obs = observe(regions[int(row.REGION)], instrument, step, settings, every=every)
            return obs.magnetogram, obs.bitmap
        from flarelib.sources.fitsio import read_cutout

        field_, bitmap = read_cutout(self.folder / row.FILE, self.folder / row.BITMAP_FILE)
        return field_[::every, ::every], bitmap[::every, ::every]

    def pixel_grid(self, series: str, arpnum: int, t_rec: pd.Timestamp, shape: tuple[int, int]) -> tuple[np.ndarray, np.ndarray]:
        """Longitude from central meridian and latitude (degrees) of the columns and rows of a cutout."""
        row = self.record(series, arpnum, t_rec)
        if self.source == "synthetic":
            from flarelib.world.instruments import INSTRUMENTS

            cdelt = next(i for i in INSTRUMENTS.values() if i.series == series).cdelt_deg
            lon0, lat0, crpix1, crpix2 = row.LON_FWT, row.LAT_FWT, (shape[1] + 1) / 2, (shape[0] + 1) / 2
            cdelt1 = cdelt2 = cdelt
        else:
            from flarelib.sources.fitsio import read_header

            header = read_header(self.folder / row.FILE)
            lon0 = (header["CRVAL1"] - header["CRLN_OBS"] + 180) % 360 - 180
            lat0, crpix1, crpix2 = header["CRVAL2"], header["CRPIX1"], header["CRPIX2"]
            cdelt1, cdelt2 = header["CDELT1"], header["CDELT2"]
        lon = lon0 + (np.arange(shape[1]) + 1 - crpix1) * cdelt1
        lat = lat0 + (np.arange(shape[0]) + 1 - crpix2) * cdelt2
        return lon, lat


def open_store(folder: str | Path) -> Store:
    return Store(folder)


STUDY_FILTERS = {
    "bad quality": lambda r, bad_bits: (r["QUALITY"].astype("int64") & bad_bits) != 0,
    "beyond +-70 degrees of central meridian": lambda r, _: ~within_limb(r),
    "no NOAA active region": lambda r, _: r["NOAA_NUM"].fillna(0) < 1,
}


def within_limb(records: pd.DataFrame, limit: float = LIMB_DEG) -> pd.Series:
    """The whole patch within +-limit degrees of central meridian (LON_MIN >= -limit and LON_MAX <=
    limit, as the authors' code selects); the flux-weighted centre LON_FWT only where the bounds are
    missing."""
    centre = records["LON_FWT"].abs() <= limit
    if not {"LON_MIN", "LON_MAX"} <= set(records.columns):
        return centre
    bounds = records[["LON_MIN", "LON_MAX"]].notna().all(axis=1)
    patch = (records["LON_MIN"] >= -limit) & (records["LON_MAX"] <= limit)
    return patch.where(bounds, centre)


def apply_study_filters(records: pd.DataFrame, bad_quality_bits: int, skip=()) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Section 2.1: keep good-quality records whose patch lies within +-70 degrees of central
    meridian and that match at least one NOAA region. Returns the kept records and the dropped ones with every reason. `skip`
    names rules a source applied before us (its records lack the columns to apply them again)."""
    unknown = set(skip) - set(STUDY_FILTERS)
    if unknown:
        raise StoreError(f"unknown study filters {sorted(unknown)}; known: {list(STUDY_FILTERS)}")
    reasons = pd.DataFrame({name: rule(records, bad_quality_bits) for name, rule in STUDY_FILTERS.items() if name not in skip},
                           index=records.index)
    dropped = reasons.any(axis=1)
    why = reasons[dropped].apply(lambda row: "; ".join(row.index[row]), axis=1)
    return records[~dropped].reset_index(drop=True), records[dropped].assign(reason=why).reset_index(drop=True)


def bad_quality_bits(series: str, source: str) -> int:
    """Which QUALITY bits make a record bad, for a series of a source."""
    if source == "synthetic":
        from flarelib.world.instruments import BAD_QUALITY

        return BAD_QUALITY
    from flarelib.sources.jsoc import SERIES

    return SERIES[series].bad_quality_bits


def filter_records(records: pd.DataFrame, source: str, skip=()) -> tuple[pd.DataFrame, pd.DataFrame]:
    """The study's record filters applied per series of a source's records; returns kept and dropped
    (with reasons)."""
    kept, dropped = [], []
    for series, group in records.groupby("SERIES", sort=False):
        k, d = apply_study_filters(group, bad_quality_bits(str(series), source), skip=skip)
        kept.append(k), dropped.append(d)
    return pd.concat(kept, ignore_index=True), pd.concat(dropped, ignore_index=True)


def filter_store(store: Store) -> tuple[pd.DataFrame, pd.DataFrame]:
    """The study's record filters applied per series of a store; returns kept and dropped (with reasons)."""
    return filter_records(store.records, store.source, skip=store.provenance.get("filters_applied_upstream", ()))


def settings_json(settings: Any) -> dict[str, Any]:
    return asdict(settings)
