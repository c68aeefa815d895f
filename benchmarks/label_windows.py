"""Benchmark: labelling 200,000 windows against a realistic flare catalogue.

Prints windows per second for `flarelib.events.label_records` (labels only) and
`sample_windows` (labels, bad-record rules and keyword sequences). Goal: under 10 s on 2 cores.

    .venv/bin/python benchmarks/label_windows.py
"""

from __future__ import annotations

import time

import numpy as np
import pandas as pd

from flarelib.events import label_records
from flarelib.sampling import sample_windows

RNG = np.random.default_rng(0)
N_REGIONS, PER_REGION = 2000, 100  # 200,000 windows, about SMARP's size
EPOCH = pd.Timestamp("1996-05-01")


def records() -> pd.DataFrame:
    starts = RNG.integers(0, 14 * 365 * 15, N_REGIONS)  # 96-minute steps across 14 years
    steps = (starts[:, None] + np.arange(PER_REGION)[None, :]).ravel()
    arpnum = np.repeat(np.arange(1, N_REGIONS + 1), PER_REGION)
    n = steps.size
    return pd.DataFrame({"SERIES": "SMARP", "ARPNUM": arpnum, "T_REC": EPOCH + pd.to_timedelta(steps * 96, unit="min"),
                         "NOAA_ARS": (8000 + arpnum).astype(str), "USFLUXL": RNG.lognormal(50, 1, n),
                         "MEANGBL": RNG.normal(50, 10, n), "R_VALUE": RNG.uniform(0, 5, n), "AREA": RNG.uniform(100, 5000, n),
                         "NX": 120, "NY": 80, "NAN_PIXELS": 0})


def flares(table: pd.DataFrame) -> pd.DataFrame:
    """About 25 flares a region (the GOES catalogue has about 50,000 for 2,000 SMARP regions)."""
    n = 25 * N_REGIONS
    pick = RNG.integers(0, len(table), n)
    return pd.DataFrame({"peak_time": table.T_REC.to_numpy()[pick] + pd.to_timedelta(RNG.uniform(0, 96, n), unit="min"),
                         "noaa_ar": pd.array(8000 + table.ARPNUM.to_numpy()[pick], dtype="Int64"),
                         "peak_flux": 1e-7 * RNG.uniform(size=n) ** (-1 / 0.8)})


def main() -> None:
    table = records()
    catalogue = flares(table)
    for name, run in (("label_records", lambda: label_records(table, catalogue)),
                      ("sample_windows", lambda: sample_windows(table, catalogue))):
        began = time.perf_counter()
        run()
        seconds = time.perf_counter() - began
        print(f"{name:15s} {len(table):,} windows, {len(catalogue):,} flares: {seconds:.2f} s, "
              f"{len(table) / seconds:,.0f} windows/s")


if __name__ == "__main__":
    main()
