"""How far a parameter set's world strays from its calibration targets by the draw alone: the world built
at several seeds, its statistics per seed beside the study's targets.

A world of a few hundred regions holds a few dozen flaring ones, so its event rates and Table 2 shares
scatter from seed to seed around what the constants imply; this prints that scatter, so that a set's
misses can be told apart from a bias of the constants (a statistic off target at every seed).
Each demo world takes about 45 s on 2 cores. Needs the authors' tables (`flarelib data fetch windows`).

    .venv/bin/python benchmarks/world_seeds.py [SET] [SEED ...]   (default: demo, seeds 0-9)
"""

from __future__ import annotations

import sys
import tempfile
from pathlib import Path

import pandas as pd
import yaml

from flarelib.sampling import persistence_shares, persistence_shares_of
from flarelib.sources.synthetic import build_synthetic, sampled_world
from flarelib.sources.window_tables import real_windows_if_present
from flarelib.study.published import TABLE2
from flarelib.world import calibration

ROOT = Path(__file__).resolve().parents[1]


def one_seed(p: dict, seed: int, folder: Path, real: pd.DataFrame, study: pd.DataFrame) -> dict:
    """One world's statistics per instrument and the targets it misses (the largest region's share apart:
    no world of a few dozen flaring regions can meet it)."""
    store = build_synthetic(folder, seed, p["regions_cycle23"], p["regions_cycle24"], p["overlap_regions"], workers=0)
    sampled = sampled_world(store)
    stats = calibration.region_statistics(sampled.windows)
    shares = persistence_shares(sampled.samples)
    ks = calibration.keyword_distances(sampled.windows, real).groupby("SERIES").ks.max()
    row: dict = {"seed": seed}
    for series in ("SHARP", "SMARP"):
        row |= {f"{series} event rate": stats.at[series, "event rate"],
                f"{series} STRONG to STRONG": shares.at[series, "share STRONG to STRONG"],
                f"{series} after QUIET": shares.at[series, "share after QUIET"],
                f"{series} largest KS": ks[series]}
    missed = calibration.calibration_misses(sampled.windows, real, sampled.samples, study, sampled.fits)
    row["misses"] = "; ".join(m for m in missed if "one region holds" not in m) or "none"
    return row


def main(name: str, seeds: list[int]) -> None:
    p = yaml.safe_load((ROOT / "params" / f"{name}.yaml").read_text())
    real, study = real_windows_if_present(), persistence_shares_of(TABLE2)
    rows = []
    with tempfile.TemporaryDirectory() as scratch:
        for seed in seeds:
            rows.append(one_seed(p, seed, Path(scratch) / str(seed), real, study))
            print(f"seed {seed}: misses {rows[-1]['misses']}", flush=True)
    table = pd.DataFrame(rows).set_index("seed")
    numbers = table.drop(columns="misses")
    print(f"=== {name}: {p['regions_cycle23']} + {p['regions_cycle24']} regions, seeds {seeds}")
    print(numbers.round(3).T.to_string())
    summary = pd.DataFrame({"mean": numbers.mean(), "min": numbers.min(), "max": numbers.max()})
    targets = {f"{s} event rate": calibration.TARGETS["event_rate"][s] for s in ("SHARP", "SMARP")}
    targets |= {f"{s} {share.removeprefix('share ')}": study.at[s, share]
                for s in ("SHARP", "SMARP") for share in ("share STRONG to STRONG", "share after QUIET")}
    print(summary.join(pd.Series(targets, name="study")).round(3).to_string())
    print(f"seeds meeting every target but the largest region's share: "
          f"{sum(table.misses == 'none')} of {len(table)}")


if __name__ == "__main__":
    main(sys.argv[1] if len(sys.argv) > 1 else "demo", [int(s) for s in sys.argv[2:]] or list(range(10)))
