"""The synthetic source: a store built from the teaching world (`flarelib.world`).

The world makes regions, flares and keyword records; this module writes them as a store, as the
archive and JSOC sources write theirs, and labels a store's windows for the world's calibration.
Magnetograms are not written: the store renders a record on read from the regions it keeps.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Callable

import pandas as pd

from flarelib.sources.store import Store, filter_records, filter_store, open_store, settings_json, write_store
from flarelib.world.flares import flare_catalogue
from flarelib.world.instruments import HMI, MDI, hours
from flarelib.world.records import keyword_records
from flarelib.world.regions import generate_regions, regions_to_json
from flarelib.world.settings import WorldSettings


def build_synthetic(folder: Path, seed: int, regions_cycle23: int, regions_cycle24: int, overlap_regions: int,
                    workers: int = 0, progress: Callable[[str], None] | None = None,
                    constants: dict | None = None) -> Store:
    """Generate the embedded world and write it as a store (magnetograms rendered on read).

    Parameters
    ----------
    folder : where the store is written.
    seed : the world's seed.
    regions_cycle23, regions_cycle24 : regions per solar cycle.
    overlap_regions : regions of 2010 observed by both MDI and HMI.
    workers : processes for the keyword records (0: one per core).
    progress : hears how far the rendering has come.
    constants : other values of the world's constants (`WorldSettings`), for calibration studies.
    """
    settings = WorldSettings(seed=seed, regions_cycle23=regions_cycle23, regions_cycle24=regions_cycle24,
                             overlap_regions=overlap_regions, **(constants or {}))
    regions = generate_regions(settings)
    flares = flare_catalogue(regions, settings, workers=workers)  # first: a flare relaxes a region's core, which the records show
    records = keyword_records(regions, settings, workers=workers, progress=progress)
    provenance = {"source": "synthetic", "query": settings_json(settings),
                  "note": "the embedded teaching world of flarelib.world; not the Sun"}
    world = {"settings": settings_json(settings), "regions": regions_to_json(regions)}
    return open_store(write_store(folder, records, flares, provenance, world))


@dataclass(frozen=True)
class SampledWorld:
    """A store's world as the study's rules sample it, for its calibration: the kept records, the
    labelled windows (positives and QUIET-to-QUIET negatives), and those windows with their last
    record's keywords."""

    store: Store
    kept: pd.DataFrame
    samples: pd.DataFrame
    windows: pd.DataFrame

    @property
    def fits(self) -> pd.DataFrame:
        """Figure 2's fits: each SMARP keyword regressed on its SHARP counterpart, co-temporal records."""
        from flarelib.fusion import keyword_regression

        return keyword_regression(self.kept)[0]


def sampled_world(store: Store) -> SampledWorld:
    """The store's records kept by the study's rules, its windows cut as chapter 03 cuts them (SHARP's
    from the study's start: `sampling_records`) and their keywords."""
    from flarelib.sampling import sample_windows, sampling_records
    from flarelib.world.calibration import windows_with_keywords

    kept, _ = filter_store(store)
    samples, _ = sample_windows(sampling_records(kept), store.flares.flares)
    return SampledWorld(store, kept, samples, windows_with_keywords(samples, kept))


def world_windows(store: Store) -> pd.DataFrame:
    """The world's labelled windows as the study keeps them, with their last record's keywords."""
    return sampled_world(store).windows


def overlap_records(settings: WorldSettings, workers: int = 0) -> pd.DataFrame:
    """The records of only the world's regions that both instruments observe, kept by the study's
    filters: all that Figure 2's correlations (`flarelib.fusion.keyword_regression`) read, in seconds
    where the whole world takes minutes, for calibration studies (`benchmarks/figure2_levers.py`).
    The same records as the whole world's, their ARPNUMs counted among themselves."""
    regions = [r for r in generate_regions(settings) if r.t_start < hours(MDI.end) and r.t_end > hours(HMI.start)]
    if settings.core_relaxes:
        flare_catalogue(regions, settings, workers=workers)  # a region's first M1.0+ flare spends its core
    return filter_records(keyword_records(regions, settings, workers=workers), "synthetic")[0]
