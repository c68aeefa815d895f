"""The teaching world's record table: which records each instrument takes of each region (on the
disk, in its mission, outside its data gaps), one row per record with the columns the real ingest
writes, its keywords computed a chunk of a region's records at a time
(`flarelib.world.render.chunk_keywords`), regions in parallel processes."""

from __future__ import annotations

import os
import time
from typing import Callable

import numpy as np
import pandas as pd

from flarelib.schema import SUBSAMPLE, subsample
from flarelib.seeding import rng_for
from flarelib.world.instruments import CADENCE_H, HMI, MDI, MDI_GAP, Instrument, hours, step_time
from flarelib.world.regions import Region
from flarelib.world.render import CHUNK, Observation, chunk_keywords
from flarelib.world.settings import WorldSettings


def _gaps(settings: WorldSettings, instrument: Instrument) -> list[tuple[float, float]]:
    """The instrument's data gaps (hours since EPOCH): a few a year at random, and SOHO's loss in 1998."""
    rng = rng_for(settings.seed, "gaps", instrument.name)
    years = (instrument.end - instrument.start) / pd.Timedelta(days=365.25)
    starts = rng.uniform(hours(instrument.start), hours(instrument.end), size=rng.poisson(settings.gaps_per_year * years))
    gaps = [(s, s + rng.uniform(12, 72)) for s in starts]
    if instrument == MDI:
        gaps.append((hours(MDI_GAP[0]), hours(MDI_GAP[1])))
    return gaps


def record_steps(region: Region, instrument: Instrument, gaps: list[tuple[float, float]]) -> np.ndarray:
    """The 96-minute steps at which the instrument has a record of the region (on the disk, in
    its mission, outside gaps, while the region has flux)."""
    first = max(region.t_start, hours(instrument.start))
    last = min(region.t_end, hours(instrument.end))
    steps = np.arange(int(np.ceil(first / CADENCE_H)), int(np.floor(last / CADENCE_H)) + 1)
    t = steps * CADENCE_H
    keep = np.abs(region.cmd(t)) <= 85
    for lo, hi in gaps:
        keep &= (t < lo) | (t > hi)
    return steps[keep]


def _keyword_row(region: Region, instrument: Instrument, step: int, seen: tuple[Observation, dict]) -> dict:
    """The table row of a record from its flags and keywords (`chunk_keywords`)."""
    obs, keywords = seen
    keywords = {key: keywords[key] for key in ("USFLUXL", "MEANGBL", "R_VALUE", "AREA")}
    if obs.nan_keyword:
        keywords[obs.nan_keyword] = np.nan
    t = step * CADENCE_H
    centre, half_width = float(region.cmd(t)), obs.magnetogram.shape[1] * instrument.cdelt_deg / 2
    factor = SUBSAMPLE[instrument.series]  # NaN pixels are counted on the CNN's grid, as the authors count them
    return {
        "step": step, "QUALITY": obs.quality, "LAT_FWT": region.lat, "LON_FWT": centre,
        "LON_MIN": centre - half_width, "LON_MAX": centre + half_width,
        "NX": obs.magnetogram.shape[1], "NY": obs.magnetogram.shape[0],
        "NAN_PIXELS": int(np.isnan(subsample(obs.magnetogram, factor)).sum()), **keywords,
    }


def _region_records(region: Region, instrument: Instrument, gaps: list[tuple[float, float]], settings: WorldSettings) -> pd.DataFrame:
    """A region's records through an instrument, `CHUNK` records rendered at a time; a record whose
    patch has faded has none."""
    steps, rows = record_steps(region, instrument, gaps), []
    for first in range(0, steps.size, CHUNK):
        chunk = steps[first : first + CHUNK]
        for step, seen in zip(chunk, chunk_keywords(region, instrument, chunk, settings)):
            if seen is not None:
                rows.append(_keyword_row(region, instrument, int(step), seen))
    return pd.DataFrame(rows)


def keyword_records(regions: list[Region], settings: WorldSettings, workers: int = 1,
                    progress: Callable[[str], None] | None = None) -> pd.DataFrame:
    """One row per record per instrument, with the columns the real ingest writes.

    Regions render in `workers` processes (0: one per core); the result does not depend on it.
    `progress` hears about every tenth of the work done."""
    from concurrent.futures import ProcessPoolExecutor

    from flarelib.compendium.progress import eta

    workers = workers or os.cpu_count() or 1
    jobs = [(region, instrument, _gaps(settings, instrument)) for instrument in (MDI, HMI) for region in regions]
    sizes = np.array([record_steps(r, i, g).size for r, i, g in jobs])  # the work, for an honest estimate
    total, began, reported = int(sizes.sum()), time.perf_counter(), [0]

    def report(count: int) -> None:
        done = int(sizes[:count].sum())
        if progress is not None and (done - reported[0] >= total / 10 or count == len(jobs)):
            reported[0] = done
            progress(f"the synthetic world: {done}/{total} records rendered, {eta(done, total, time.perf_counter() - began)}")

    tables = []
    if workers == 1:
        for count, (r, i, g) in enumerate(jobs, start=1):
            tables.append(_region_records(r, i, g, settings))
            report(count)
    else:
        with ProcessPoolExecutor(workers) as pool:
            futures = [pool.submit(_region_records, r, i, g, settings) for r, i, g in jobs]
            for count, future in enumerate(futures, start=1):
                tables.append(future.result())
                report(count)
    frames, numbers = [], {"SMARP": 0, "SHARP": 0}
    for (region, instrument, _), rows in zip(jobs, tables):
        if rows.empty:
            continue
        numbers[instrument.series] += 1
        rows.insert(0, "ARPNUM", numbers[instrument.series])
        rows.insert(0, "SERIES", instrument.series)
        rows["NOAA_ARS"] = ",".join(map(str, region.noaa))
        rows["NOAA_NUM"] = len(region.noaa)
        rows["REGION"] = region.id
        frames.append(rows)
    table = pd.concat(frames, ignore_index=True)
    table.insert(2, "T_REC", step_time(table.pop("step").to_numpy()))
    return table
