"""Benchmark: full-disk aggregation of a solar cycle of region forecasts (chapter 09).

Ten years of 6-hourly issue times (14,600) over 150,000 region windows at 96-minute cadence, about
SHARP's size, and a catalogue of 20,000 flares. Prints the seconds of `flarelib.operational.full_disk.full_disk`
and of the region bootstrap of one statistic. Goal: each well under a minute on 2 cores.

    .venv/bin/python benchmarks/full_disk.py
"""

from __future__ import annotations

import time

import numpy as np
import pandas as pd

from flarelib.operational import full_disk
from flarelib.significance import bootstrap_ci, seed_statistic

RNG = np.random.default_rng(0)
EPOCH = pd.Timestamp("2010-05-01")
N_REGIONS, PER_REGION = 1500, 100


def region_forecasts() -> pd.DataFrame:
    starts = RNG.integers(0, 10 * 365 * 15, N_REGIONS)
    steps = (starts[:, None] + np.arange(PER_REGION)[None, :]).ravel()
    return pd.DataFrame({"SERIES": "SHARP", "ARPNUM": np.repeat(np.arange(N_REGIONS), PER_REGION),
                         "end": EPOCH + pd.to_timedelta(steps * 96, unit="min"),
                         "probability": RNG.beta(0.5, 10, steps.size)})


def flares() -> pd.DataFrame:
    peak = EPOCH + pd.to_timedelta(RNG.uniform(0, 10 * 365 * 24 * 60, 20_000), unit="min")
    return pd.DataFrame({"peak_time": peak, "peak_flux": 10 ** RNG.uniform(-7, -3.5, peak.size)})


def main() -> None:
    forecasts, catalogue = region_forecasts(), flares()
    times = full_disk.issue_times(forecasts.end.min(), forecasts.end.max(), 6)
    began = time.perf_counter()
    disk = full_disk.full_disk(forecasts, catalogue, times)
    seconds = time.perf_counter() - began
    print(f"full_disk: {len(times)} issue times, {len(forecasts)} region windows in {seconds:.2f} s; "
          f"mean {disk.regions.mean():.1f} regions on the disk, event rate {disk.event.mean():.3f}")
    table = forecasts.assign(label=RNG.random(len(forecasts)) < 0.04, seed=0, prob=forecasts.probability, climatology=0.04)
    began = time.perf_counter()
    bootstrap_ci(table, seed_statistic("AUC"), ["ARPNUM"], n_boot=300)
    print(f"bootstrap_ci: 300 draws of AUC over {N_REGIONS} regions ({len(table)} windows) in {time.perf_counter() - began:.2f} s")


if __name__ == "__main__":
    main()
