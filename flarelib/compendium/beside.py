"""What a book shows of the runs beside its own: the findings of every run folder next to this one, what
each run's number of experiments cannot show, and the published teaching book's Table 7 above this
run's.

A quick run (the demo's 3 experiments) cannot make any paired t-test pass Holm's adjustment; the
teaching book at the study's scale (`params/teach.yaml`, 10 experiments, about 1,100 HARPs and 2,000
TARPs) can. When both run folders stand side by side (`runs/demo`, `runs/teach`), the demo's pages
say so from the records and show the teaching book's numbers beside their own, never typed.
"""

from __future__ import annotations

from pathlib import Path

import nbformat
import pandas as pd

from flarelib.compendium.chapter import MissingArtifact, read_record

# Run folders whose findings a book shows beside its own, and how a reader is told what each ran on
FINDING_SETS = {"archive": "real keywords (archive)", "demo": "the teaching world (demo; not the Sun)",
                "teach": "the teaching world at the study's scale (teach; not the Sun)"}
PUBLISHED_TEACHING = "teach"  # the teaching book the publishing workflow builds (the study's 10 experiments)
TABLE7_HEADING = "## Table 7"


def _tests(run_dir: Path) -> pd.DataFrame | None:
    path = Path(run_dir) / "07_significance" / "tests.csv"
    return pd.read_csv(path, dtype={"table": str}, keep_default_na=False, na_values={"t": [""], "p": [""], "p Holm": [""]}) if path.is_file() else None


def _record(run_dir: Path) -> dict:
    """Chapter 07's record (`read_record`, checked against its manifest), or {} where it has not run."""
    try:
        return read_record(run_dir, "07_significance")
    except MissingArtifact:
        return {}


def limits_note(run_dir: Path, alpha: float = 0.05) -> str:
    """What a run's experiments can and cannot show, from chapter 07's records: what t the strongest of
    Table 7's distinct tests needs after Holm with this many experiments, and how many of all the
    run's distinct tests passed. Empty when chapter 07 has not run."""
    from flarelib.significance import UNREACHABLE_T, holm_reach

    tests, n = _tests(run_dir), _record(run_dir).get("numbers", {}).get("experiments")
    if tests is None or not n:
        return ""
    distinct = tests[(tests["same test as"] == "") & tests.p.notna()]
    table7 = int((distinct.table == "7").sum())
    p_needed, t_needed = holm_reach(n, table7, alpha)
    passed = int((distinct["p Holm"] < alpha).sum())
    largest = distinct[distinct.table == "7"].t.abs().max()
    said = (f"With {n} experiments per cell ({n - 1} degrees of freedom), the strongest of Table 7's {table7} distinct "
            f"tests needs p < {p_needed:.2g}, t > {t_needed:.1f}, to pass Holm's adjustment: a mean difference at least "
            f"{t_needed / n ** 0.5:.1f} times its standard deviation over the experiments (this run's largest |t| in "
            f"Table 7: {largest:.1f}); {passed} of the run's {len(distinct)} distinct tests passed.")
    if t_needed > UNREACHABLE_T:  # as `significance.reach_note` says above Table 7
        said += (" So this run cannot show any finding that rests on a paired t-test (findings 1, 2 and 4 of the "
                 "study): its verdicts can only be \"not significant\", whatever the models do.")
    return said


def beside(run_dir: Path) -> list[Path]:
    """This run folder and those of `FINDING_SETS` beside it whose chapter 07 has run."""
    run_dir = Path(run_dir)
    others = [run_dir.parent / name for name in FINDING_SETS
              if (run_dir.parent / name).resolve() != run_dir.resolve() and (run_dir.parent / name / "07_significance").is_dir()]
    return [run_dir, *others]


def with_findings(page: Path, run_dir: Path) -> None:
    """End the staged page "The study's findings, questioned" with one table per run: this run's, and
    each other book's when its run folder (`runs/archive`, `runs/demo`, `runs/teach`) stands beside this
    one, each with what its number of experiments cannot show (`limits_note`)."""
    from flarelib.study import findings

    runs, text = beside(run_dir), []
    for folder in runs:
        source = _record(folder).get("source")
        label = FINDING_SETS.get(folder.name, f"the run in {folder.name} (source: {source})")
        this = " (this book)" if folder == runs[0] else ""
        text += ["", f"## Measured on {label}{this}", "", f"Source: `{source}`. {limits_note(folder)}".rstrip(), "",
                 findings(folder).to_markdown(index=False)]
    if len(runs) == 1:
        text += ["", "The other books' runs are not beside this one: `make site` runs the archive and a teaching book "
                     "and shows both here; `flarelib run --params teach` adds the teaching book at the study's scale."]
    with page.open("a") as out:
        out.write("\n".join(text) + "\n")


def table7_beside(run_dir: Path) -> str | None:
    """The published teaching book's Table 7 (TSS rows), as markdown to show above this run's, when its
    run folder stands beside this one and this run is not it; None otherwise."""
    teach = Path(run_dir).parent / PUBLISHED_TEACHING
    if teach.resolve() == Path(run_dir).resolve() or (tests := _tests(teach)) is None:
        return None
    rows = tests[(tests.table == "7") & (tests.metric == "TSS")][["model", "comparison", "t", "p", "p Holm"]]
    return "\n".join([
        f"**Beside this run: the teaching book at the study's scale** (`runs/{PUBLISHED_TEACHING}`, the teaching world, "
        f"not the Sun). {limits_note(teach)} Its Table 7, TSS:", "",
        rows.round(4).to_markdown(index=False)])


def with_table7_beside(nb: nbformat.NotebookNode, chapter: str, run_dir: Path) -> nbformat.NotebookNode:
    """Chapter 07's page with `table7_beside` placed under its Table 7 heading (other pages unchanged)."""
    note = table7_beside(run_dir) if chapter == "07_significance" else None
    if note:
        at = next((i for i, c in enumerate(nb.cells) if c.cell_type == "markdown" and c.source.startswith(TABLE7_HEADING)), None)
        if at is not None:
            nb.cells.insert(at + 1, nbformat.v4.new_markdown_cell(note))
    return nb
