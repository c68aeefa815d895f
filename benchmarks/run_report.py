"""What a finished run measured, printed from its records alone (nothing is computed anew): the numbers
issue #34 asks of the teaching book, for any run folder.

Chapter 03's region statistics (event rates, regions ever positive, the largest region's share of an
instrument's positives, test regions per split) and Table 2's persistence shares beside the study's;
chapter 02's MDI/HMI factor and Figure 2's r values; chapter 05's learning curve; Table 6's LSTM and CNN
TSS (mean and spread over the experiments); Table 7's TSS tests with Holm's p; the findings page's
verdicts; chapter 09's full-disk density; each chapter's seconds (its manifest's) and their sum.

    .venv/bin/python benchmarks/run_report.py runs/teach [runs/demo ...]
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

import pandas as pd

from flarelib.compendium.beside import limits_note
from flarelib.compendium.chapter import MissingArtifact, read_record
from flarelib.compendium.integrity import read_manifest
from flarelib.fusion import FIGURE2_TOLERANCE
from flarelib.study import findings

pd.set_option("display.width", 200, "display.max_columns", 30, "display.max_colwidth", 90)
CHAPTERS = ["01_data", "02_fusion", "03_sampling", "04_lstm", "05_cnn", "06_stacking", "07_significance",
            "08_attribution", "09_operational"]


def numbers(run: Path, chapter: str) -> dict:
    return read_record(run, chapter)["numbers"]


def regions(run: Path) -> None:
    sampling = numbers(run, "03_sampling")
    world = sampling.get("world_vs_sun") or {}
    for key in ("event_rate", "regions_ever_positive", "top_region_share", "ks"):
        if key in world:
            print(f"{key}: {json.dumps({k: round(v, 4) for k, v in world[key].items()})}")
    print(f"Table 2 misses of the calibration: {world.get('misses')}")
    tests = pd.Series(sampling["test_regions"])
    by_dataset = tests.groupby(tests.index.str.split(" ").str[0]).agg(["min", "mean", "max"])
    print("test regions per split (over the seeds):\n" + by_dataset.to_string())
    print(pd.read_csv(run / "03_sampling" / "persistence.csv").round(3).to_string(index=False))


def fusion(run: Path) -> None:
    fused = numbers(run, "02_fusion")
    if fused.get("qq_factor") is not None:
        print(f"MDI = k x HMI recovered by chapter 02: {fused['qq_factor']:.3f} +- {fused['qq_factor_std']:.3f} ({fused['pairs']} pairs)")
    if fused.get("keyword_r"):
        print(f"Figure 2 r: {json.dumps({k: round(v, 3) for k, v in fused['keyword_r'].items()})}; "
              f"not as the study's (within {FIGURE2_TOLERANCE}): {fused.get('figure2_not_as_study')}")


def table6(run: Path) -> None:
    table = numbers(run, "07_significance")["table6"]
    for model in ("LSTM", "CNN"):
        row = table.get(f"TSS {model}", {})
        cells = [f"{d} {row[f'{d} mean']:.3f} +- {row[f'{d} std']:.3f}" for d in
                 ("SHARP_ONLY", "FUSED_SHARP", "SMARP_ONLY", "FUSED_SMARP") if f"{d} mean" in row]
        print(f"Table 6 TSS {model}: " + "; ".join(cells))


def table7(run: Path) -> None:
    tests = pd.read_csv(run / "07_significance" / "tests.csv", dtype={"table": str})
    print(tests[(tests.table == "7") & (tests.metric == "TSS")][["model", "comparison", "t", "p", "p Holm"]]
          .round(4).to_string(index=False))
    print(limits_note(run))


def full_disk(run: Path) -> None:
    disk = pd.read_csv(run / "09_operational" / "full_disk_scores.csv")
    column = "mean regions on disk"
    if column in disk:
        print(f"full disk: {disk[column].mean():.2f} regions on the disk on average per issue time")


def times(run: Path) -> None:
    manifests = {c: read_manifest(run, c) for c in CHAPTERS}
    seconds = {c: m.get("seconds", float("nan")) for c, m in manifests.items() if m}
    print("chapter seconds: " + ", ".join(f"{c} {s:.0f}" for c, s in seconds.items())
          + f"; total {sum(seconds.values()) / 60:.1f} min")


def report(run: Path) -> None:
    print(f"=== {run}")
    for part in (regions, fusion, table6, table7, full_disk, times):
        try:
            part(run)
        except (FileNotFoundError, KeyError, MissingArtifact) as missing:
            print(f"({part.__name__}: not in this run: {missing})")
    curve = run / "05_cnn" / "learning_curve.csv"
    if curve.is_file():
        print("learning curve:\n" + pd.read_csv(curve).round(3).to_string(index=False))
    verdicts = findings(run).assign(finding=lambda f: f.finding.str[:3], verdict=lambda f: f.verdict.str[:90])
    print("findings:\n" + verdicts[["finding", "comparison", "verdict"]].to_string(index=False))


if __name__ == "__main__":
    for folder in sys.argv[1:] or ["runs/demo"]:
        report(Path(folder))
