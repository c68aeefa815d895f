"""What the teaching world and the demo's CNN cost, ours beside a baseline, in one run.

1. A record's keywords: the world's route (16 consecutive records of a region at once, every 4th
   HMI pixel for R_VALUE, the patch and its neighbours for the rest, `chunk_keywords`) against
   rendering each whole record and computing its keywords (`observe` + `keywords.compute_keywords`),
   on the same records of the demo world, per instrument; and the demo world's whole generation.
2. A window's CNN input (chapters 03, 08 and 09 make tens of thousands): ours (only the pixels the
   4x subsampling keeps, the record found by a dictionary) against the whole record found by
   comparing the table's rows, then `cnn_input`, on the same records of the demo world.
3. One CNN training step (batch 64, 32 px, one thread) at the study's 64 filters per convolution
   and at the demo's 16 (`cnn_channels`); and at 16, in the memory layout the CNN uses (channels
   last) against PyTorch's default (channels first).

    .venv/bin/python benchmarks/teaching_world.py [records per instrument, default 300]
"""

from __future__ import annotations

import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import pandas as pd
import torch
import yaml

from flarelib.compendium.cost import mean_seconds, seconds_per_step
from flarelib.images import cnn_input, last_record_images
from flarelib.keywords import ON_PATCH, compute_keywords
from flarelib.models import CNNLi2020
from flarelib.sources.synthetic import build_synthetic
from flarelib.world.instruments import CADENCE_H, EPOCH, HMI, MDI
from flarelib.world.records import record_steps
from flarelib.world.regions import generate_regions
from flarelib.world.render import CHUNK, chunk_keywords, observe
from flarelib.world.settings import WorldSettings

ROOT = Path(__file__).resolve().parents[1]


def sample_chunks(regions, instrument, n: int) -> list[tuple]:
    """`CHUNK` consecutive records from the middle of regions' lives, as the world renders them."""
    chunks = []
    for region in regions:
        steps = record_steps(region, instrument, [])
        if steps.size >= CHUNK:
            middle = steps.size // 2
            chunks.append((region, steps[middle - CHUNK // 2 : middle - CHUNK // 2 + CHUNK]))
        if len(chunks) * CHUNK >= n:
            break
    return chunks


def per_record(function, chunks) -> float:
    began = time.perf_counter()
    for region, steps in chunks:
        function(region, steps)
    return (time.perf_counter() - began) / sum(len(steps) for _, steps in chunks)


def whole_record_input(store, row) -> np.ndarray:
    """The CNN input as it was made before: the record found by comparing every row, rendered whole."""
    table = store.records
    match = table[(table.SERIES == row.SERIES) & (table.ARPNUM == row.ARPNUM) & (table.T_REC == row.end)].iloc[0]
    settings, regions = store._world
    instrument = MDI if row.SERIES == "SMARP" else HMI
    step = int(round((match.T_REC - EPOCH) / pd.Timedelta(hours=CADENCE_H)))
    return cnn_input(np.nan_to_num(observe(regions[int(match.REGION)], instrument, step, settings).magnetogram), row.SERIES, 32)


def cnn_inputs(store, n: int) -> None:
    print(f"A window's CNN input at 32 px, {n} records per series (every 4th record of consecutive regions, as windows come):")
    store._record_rows  # the dictionary is made once per store, as in a chapter
    for series in ("SHARP", "SMARP"):
        table = store.records[store.records.SERIES == series]
        rows = table.iloc[len(table) // 3 :: 4].head(n).rename(columns={"T_REC": "end"})
        began = time.perf_counter()
        ours = last_record_images(store, rows, 32)
        mine = (time.perf_counter() - began) / n
        began = time.perf_counter()
        before = np.stack([whole_record_input(store, row) for row in rows.itertuples()])
        baseline = (time.perf_counter() - began) / n
        assert np.array_equal(ours, before)
        print(f"  {series}: ours {mine * 1e3:.2f} ms, whole record {baseline * 1e3:.2f} ms ({baseline / mine:.1f}x), the same inputs")


def memory_formats(channels: int, repeats: int = 20) -> tuple[float, float]:
    """One training step (batch 64, 32 px, one thread) of the CNN as built, and channels-first."""
    torch.set_num_threads(1)
    x, y = torch.randn(64, 32, 32), torch.randint(0, 2, (64,))
    timings = []
    for model in (CNNLi2020(32, channels), CNNLi2020(32, channels, channels_last=False)):
        optimiser = torch.optim.Adam(model.parameters())

        def step() -> None:
            optimiser.zero_grad()
            torch.nn.functional.cross_entropy(model(x), y).backward()
            optimiser.step()

        timings.append(mean_seconds(step, repeats))
    return timings[0], timings[1]


def main(n: int) -> None:
    demo = yaml.safe_load((ROOT / "params" / "demo.yaml").read_text())
    settings = WorldSettings(seed=demo["seed"], regions_cycle23=demo["regions_cycle23"],
                             regions_cycle24=demo["regions_cycle24"], overlap_regions=demo["overlap_regions"])
    regions = generate_regions(settings)
    print(f"One record's keywords, {n} records of the demo world per instrument (chunks of {CHUNK}), one process:")
    for instrument in (MDI, HMI):
        chunks = sample_chunks(regions, instrument, n)

        def whole(region, steps, instrument=instrument):
            for step in steps:
                obs = observe(region, instrument, int(step), settings)
                mask = (obs.bitmap & ON_PATCH) > 0
                if mask.any():
                    compute_keywords(obs.magnetogram, mask, instrument.cdelt_deg)

        ours = per_record(lambda r, steps, i=instrument: chunk_keywords(r, i, steps, settings), chunks)
        baseline = per_record(whole, chunks)
        print(f"  {instrument.name}: ours {ours * 1e3:.2f} ms, whole render + compute_keywords {baseline * 1e3:.2f} ms "
              f"({baseline / ours:.1f}x)")
    with tempfile.TemporaryDirectory() as folder:
        began = time.perf_counter()
        store = build_synthetic(Path(folder) / "store", settings.seed, settings.regions_cycle23, settings.regions_cycle24,
                                settings.overlap_regions, workers=0)
        seconds = time.perf_counter() - began
        records = len(store.records)
        print(f"The demo world ({len(regions)} regions, {records} records, all cores): {seconds:.1f} s")
        cnn_inputs(store, n)
    print("One CNN training step (batch 64, 32 px, one thread):")
    steps = {channels: seconds_per_step("CNN", 32, 64, repeats=5, cnn_channels=channels) for channels in (64, 32, 16)}
    for channels, step in steps.items():
        print(f"  {channels} filters per convolution: {step * 1e3:.1f} ms ({steps[64] / step:.1f}x cheaper than 64)")
    ours, before = memory_formats(demo["cnn_channels"])
    print(f"  the demo's {demo['cnn_channels']} filters, channels-last (ours) {ours * 1e3:.1f} ms, "
          f"channels-first {before * 1e3:.1f} ms ({before / ours:.2f}x)")


if __name__ == "__main__":
    main(int(sys.argv[1]) if len(sys.argv) > 1 else 300)
