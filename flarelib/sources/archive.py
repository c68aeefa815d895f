"""Readers of the real public tables in ../shared/data (see its README): NOAA/NGDC GOES XRS event
reports (fixed-width, 1996 to mid-2017), NOAA SWPC flare lists (CSV, to 2021), and a merged
flare catalogue with the store's columns. A malformed line is reported with its file and line
number, never guessed; events of unknown class are counted and left out.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import pandas as pd

from flarelib.goes import GoesClassError, class_to_flux

from flarelib.schema import FLARE_COLUMNS


@dataclass
class ReadReport:
    """What a reader left out, and why: (file, line, reason) for every line."""

    problems: list[tuple[str, int, str]] = field(default_factory=list)

    def add(self, path: Path, line: int, reason: str) -> None:
        self.problems.append((Path(path).name, line, reason))

    def table(self) -> pd.DataFrame:
        return pd.DataFrame(self.problems, columns=["file", "line", "reason"])


def _hhmm(day: pd.Timestamp, text: str) -> pd.Timestamp:
    text = text.strip()
    if len(text) != 4 or not text.isdigit() or int(text[:2]) > 23 or int(text[2:]) > 59:
        raise ValueError(f"time {text!r} is not HHMM")
    return day + pd.Timedelta(hours=int(text[:2]), minutes=int(text[2:]))


def _ordered(start: pd.Timestamp, peak: pd.Timestamp, end: pd.Timestamp) -> tuple[pd.Timestamp, pd.Timestamp, pd.Timestamp]:
    """Times given as HHMM of the start day: a peak or end before the start is on the next day."""
    day = pd.Timedelta(days=1)
    peak = peak + day if peak < start else peak
    end = end + day if end < start else end
    return start, peak, end


def parse_ngdc_line(line: str) -> dict | None:
    """One fixed-width NGDC XRS record (columns: date 6-11, start 14-17, end 19-22, peak 24-27, class
    letter 60, magnitude times ten 61-63 so that 'X 17' is X1.7 and 'X172' X17.2, NOAA region 81-85).
    None for a blank line (or a DOS end-of-file mark)."""
    line = line.rstrip("\r\n\x1a")
    if not line.strip("\r\x1a \t"):
        return None
    if len(line) < 63:
        raise ValueError(f"only {len(line)} characters; a record has at least 63")
    date = line[5:11]
    if not date.isdigit():
        raise ValueError(f"date {date!r} is not YYMMDD")
    year = int(date[:2])
    day = pd.Timestamp(year=(1900 if year >= 70 else 2000) + year, month=int(date[2:4]), day=int(date[4:6]))
    start, end, peak = (_hhmm(day, line[a:b]) for a, b in ((13, 17), (18, 22), (23, 27)))
    start, peak, end = _ordered(start, peak, end)
    letter, magnitude = line[59:60].strip(), line[60:63].strip()
    goes_class = f"{letter}{int(magnitude) / 10:.1f}" if letter and magnitude.isdigit() else ""
    region = line[80:85].strip() if len(line) > 80 else ""
    noaa = int(region) if region.isdigit() and int(region) > 0 else None
    return {"start_time": start, "peak_time": peak, "end_time": end, "goes_class": goes_class, "noaa_ar": noaa}


def read_ngdc_report(path: Path, report: ReadReport) -> pd.DataFrame:
    """Every event of one yearly report; malformed lines and unknown classes go to `report`."""
    rows = []
    for number, line in enumerate(Path(path).read_text(errors="replace").splitlines(), start=1):
        try:
            row = parse_ngdc_line(line)
        except ValueError as error:
            report.add(path, number, f"malformed record: {error}")
            continue
        if row is None:
            continue
        if not row["goes_class"]:
            report.add(path, number, "unknown GOES class (excluded)")
            continue
        rows.append(row)
    return _frame(rows)


def _frame(rows: list[dict]) -> pd.DataFrame:
    frame = pd.DataFrame(rows, columns=FLARE_COLUMNS)
    frame["noaa_ar"] = pd.array(frame["noaa_ar"], dtype="Int64")
    return frame


def _swpc_time(date: pd.Timestamp, value: object) -> pd.Timestamp:
    text = str(value).strip()
    if len(text) in (3, 4) and text.isdigit():  # HHMM, sometimes with its leading zero lost
        return _hhmm(date, text.zfill(4))
    return pd.Timestamp(text)


def read_swpc(path: Path, report: ReadReport) -> pd.DataFrame:
    """A SWPC flare list. Its header lacks the leading index column of the rows (pandas then takes
    that column as the index); times are HHMM strings or full timestamps, depending on the file."""
    table = pd.read_csv(path, dtype=str, keep_default_na=False)
    rows = []
    for number, row in enumerate(table.itertuples(index=False), start=2):
        try:
            day = pd.Timestamp(row.date)
            start, peak, end = _ordered(*(_swpc_time(day, getattr(row, c)) for c in ("start_time", "max_time", "end_time")))
            goes_class = str(row.goes_class).strip()
            class_to_flux(goes_class)
        except (ValueError, GoesClassError) as error:
            report.add(path, number, f"malformed record: {error}")
            continue
        region = str(row.noaa_ar).strip()
        noaa = int(region) if region.isdigit() and int(region) > 0 else None
        rows.append({"start_time": start, "peak_time": peak, "end_time": end, "goes_class": goes_class, "noaa_ar": noaa})
    return _frame(rows)


@dataclass(frozen=True)
class Catalogue:
    flares: pd.DataFrame  # the store's flare columns
    report: pd.DataFrame  # file, line, reason of every line left out
    counts: dict


def merged_catalogue(data_dir: Path) -> Catalogue:
    """NGDC reports up to their last day, SWPC's 2010-2021 list after it; exact duplicates removed.
    The catalogues come through the data registry: verified, and fetched where missing."""
    from flarelib.sources import registry

    goes = registry.ensure("goes", Path(data_dir))
    report = ReadReport()
    ngdc = pd.concat([read_ngdc_report(p, report) for p in sorted((goes / "ngdc-xrs-reports").glob("goes-xrs-report_*.txt"))],
                     ignore_index=True)
    cutoff = ngdc.peak_time.max().normalize() + pd.Timedelta(days=1)
    swpc = read_swpc(goes / "swpc" / "swpc_flarelist_20100101-20210810.csv", report)
    swpc = swpc[swpc.peak_time >= cutoff]
    merged = pd.concat([ngdc, swpc], ignore_index=True).sort_values("peak_time")
    before = len(merged)
    merged = merged.drop_duplicates(subset=["peak_time", "goes_class", "noaa_ar"]).reset_index(drop=True)
    table = report.table()
    counts = {"ngdc": len(ngdc), "swpc_after_cutoff": len(swpc), "duplicates_removed": before - len(merged),
              "unknown_class": int((table.reason == "unknown GOES class (excluded)").sum()) if len(table) else 0,
              "malformed": int(table.reason.str.startswith("malformed").sum()) if len(table) else 0,
              "cutoff": str(cutoff.date())}
    return Catalogue(merged, table, counts)
