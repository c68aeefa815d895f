"""Figure 2's correlations of a set's world beside those of worlds with other instrument settings.

Renders only the regions both instruments observe (`flarelib.sources.synthetic.overlap_records`: a few
seconds a world, where the whole world takes minutes) and prints, for the set's world and for each variant
(`key=value[,key=value...]`, any `WorldSettings` constants), each keyword's SMARP-SHARP Pearson r, the share
of co-temporal records where exactly one instrument finds a strong-field inversion line (R_VALUE 0 in one,
above 0 in the other) and R_VALUE's r over the records where both find one. For calibration studies; the
whole world's other targets (KS distances, event rates, Table 2) need `benchmarks/world_calibration.py`.

    .venv/bin/python benchmarks/figure2_levers.py [SET] [key=value,... ...]   (default: teach, and the levers below)
"""

from __future__ import annotations

import sys
import time
from pathlib import Path

import numpy as np
import pandas as pd
import yaml

from flarelib import fusion
from flarelib.sources.synthetic import overlap_records
from flarelib.study.published import FIGURE2_R
from flarelib.world.settings import WorldSettings

ROOT = Path(__file__).resolve().parents[1]
LEVERS = [  # one at a time, from the world's settings (flarelib.world.settings)
    "mdi_psf_sigma_px=1.6", "mdi_gain_scatter=0.25", "mdi_noise_gauss=20", "mdi_noise_scatter=0.8",
    "hmi_noise_scatter=0", "texture_floor_mdi=30", "texture_floor_hmi=24", "texture_sigma_deg=0.024",
]


def variant(text: str) -> dict[str, float]:
    return {key: float(value) for key, value in (item.split("=") for item in text.split(",") if item)}


def measure(settings: WorldSettings) -> dict[str, float]:
    kept = overlap_records(settings)
    fits, matched = fusion.keyword_regression(kept)
    pairs = matched[["R_VALUE_HMI", "R_VALUE_MDI"]].dropna()
    found = pairs > 0
    both = pairs[found.all(axis=1)]
    return {**fits["r"].round(3).to_dict(), "one finds a line": round(float((found.sum(axis=1) == 1).mean()), 3),
            "R r, both find one": round(float(np.corrcoef(both.R_VALUE_HMI, both.R_VALUE_MDI)[0, 1]), 3),
            "regions": len(fusion.co_temporal_pairs(kept))}


def main(name: str, variants: list[str]) -> None:
    p = yaml.safe_load((ROOT / "params" / f"{name}.yaml").read_text())
    base = dict(seed=p["seed"], regions_cycle23=p["regions_cycle23"], regions_cycle24=p["regions_cycle24"],
                overlap_regions=p["overlap_regions"])
    rows, began = {}, time.perf_counter()
    for text in ["", *variants]:
        rows[text or f"{name} world as it is"] = measure(WorldSettings(**base, **variant(text)))
    table = pd.DataFrame(rows).T
    print(f"Figure 2 of the {name} world and its variants ({time.perf_counter() - began:.0f} s); the study: "
          f"USFLUXL {FIGURE2_R['USFLUXL']}, MEANGBL {FIGURE2_R['MEANGBL']}, R_VALUE and AREA between them")
    print(table.to_string())


if __name__ == "__main__":
    args = sys.argv[1:]
    name = args.pop(0) if args and "=" not in args[0] else "teach"
    main(name, args or LEVERS)
