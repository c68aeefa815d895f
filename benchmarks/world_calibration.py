"""The teaching world beside the Sun: every calibration target of a parameter set's world, measured.

Builds the set's world into a scratch folder (demo: about a minute on 2 cores; teach: about six), samples its
windows by the study's rules and prints, beside the study's values: each keyword's KS distance to the study
authors' window tables, the region statistics (event rate, regions ever positive, the largest region's share),
Table 2's persistence shares with their 95% intervals over regions, Figure 2's correlations of co-temporal
keywords with theirs over pairs, and the MDI/HMI factor chapter 02's histogram method recovers beside the
world's true one. Needs the authors' tables in the data folder (`flarelib data fetch windows`).

    .venv/bin/python benchmarks/world_calibration.py [SET ...]   (default: demo)
"""

from __future__ import annotations

import sys
import tempfile
import time
from pathlib import Path

import yaml

from flarelib import fusion
from flarelib.sampling import persistence_shares_of
from flarelib.sources.synthetic import build_synthetic, sampled_world
from flarelib.sources.window_tables import real_windows_if_present
from flarelib.study.published import TABLE2
from flarelib.world import calibration

ROOT = Path(__file__).resolve().parents[1]


def measure(name: str, folder: Path) -> None:
    p = yaml.safe_load((ROOT / "params" / f"{name}.yaml").read_text())
    began = time.perf_counter()
    store = build_synthetic(folder / name, p["seed"], p["regions_cycle23"], p["regions_cycle24"], p["overlap_regions"], workers=0)
    print(f"=== {name}: the world built in {time.perf_counter() - began:.0f} s")
    sampled = sampled_world(store)
    kept, samples, world, fits = sampled.kept, sampled.samples, sampled.windows, sampled.fits
    real, study = real_windows_if_present(), persistence_shares_of(TABLE2)
    print(calibration.keyword_distances(world, real).round(3).to_string(index=False))
    print(calibration.region_statistics(world).round(4).to_string())
    intervals = calibration.region_intervals(samples).set_index(["SERIES", "statistic"])
    persistence = calibration.persistence_beside_study(samples, study).set_index(["SERIES", "share"])
    print(persistence.join(intervals.rename_axis(["SERIES", "share"])).round(3).to_string())
    r_intervals = fusion.keyword_r_intervals(kept)
    print(calibration.figure2_beside_study(fits).join(r_intervals).round(3).to_string())
    print(fusion.figure2_sentence(fusion.figure2_order(fits), r_intervals))
    qq = fusion.qq_study(store, kept)
    print(f"MDI = k x HMI: recovered {qq.factor:.3f} +- {qq.factor_std:.3f} over {len(qq.pairs)} pairs; "
          f"the world's true factor {store.world_settings.true_factor:.3f}")
    print("targets missed: " + ("; ".join(calibration.calibration_misses(world, real, samples, study, fits)) or "none"))


if __name__ == "__main__":
    with tempfile.TemporaryDirectory() as scratch:
        for name in sys.argv[1:] or ["demo"]:
            measure(name, Path(scratch))
