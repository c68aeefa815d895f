"""What a book shows of the runs beside it (`flarelib.compendium.beside`), on hand-made chapter 07 records:
what a run's experiments cannot show, worked by hand with scipy, and the teaching book's Table 7 placed
under this run's Table 7 heading only when its run folder stands beside this one."""

from __future__ import annotations

import json
from pathlib import Path

import nbformat
import pandas as pd
from scipy import stats

from flarelib.compendium import beside


PAIRS = [("LSTM", "FUSED_SHARP > SHARP_ONLY"), ("LSTM", "FUSED_SMARP > SMARP_ONLY"), ("CNN", "FUSED_SHARP > SHARP_ONLY"),
         ("CNN", "FUSED_SMARP > SMARP_ONLY")]


def _run(folder: Path, n: int, p_holm: list[float], metrics: tuple[str, ...] = ("TSS",)) -> Path:
    """A run folder whose chapter 07 recorded `n` experiments and Table 7's four tests per metric of
    `metrics` (TSS's first test repeated by ACC, counted once) plus one stacking test; the Holm p of
    the first four distinct tests and of the stacking test are `p_holm`, the others 1."""
    (folder / "07_significance").mkdir(parents=True)
    rows = [{"metric": metric, "model": model, "comparison": comparison, "t": 1.0 + i, "p": 0.1, "n": n, "table": "7",
             "dataset": "", "p Holm": 1.0, "same test as": ""}
            for metric in metrics for i, (model, comparison) in enumerate(PAIRS)]
    for row, p in zip(rows, p_holm[:4]):
        row["p Holm"] = p
    rows.append({**rows[0], "metric": "ACC", "same test as": "TSS"})
    rows.append({**rows[0], "table": "stacking", "comparison": "STACK > BEST", "p Holm": p_holm[4], "t": 9.0})
    pd.DataFrame(rows).to_csv(folder / "07_significance" / "tests.csv", index=False)
    record = {"chapter": "07_significance", "source": "synthetic", "params": {}, "numbers": {"experiments": n}}
    (folder / "07_significance" / "record.json").write_text(json.dumps(record))
    return folder


def test_the_limits_of_three_experiments_are_said_from_the_records(tmp_path):
    demo = _run(tmp_path / "demo", 3, [1.0, 1.0, 0.6, 0.6, 0.9], metrics=("TSS", "AUC", "BSS"))
    note = beside.limits_note(demo)
    t_needed = stats.t.isf(0.05 / 12, 2)  # the strongest of 12 distinct tests, 2 degrees of freedom
    assert f"t > {t_needed:.1f}" in note and "Table 7's 12 distinct tests" in note
    assert f"{t_needed / 3 ** 0.5:.1f} times its standard deviation" in note and "largest |t| in Table 7: 4.0" in note
    assert "0 of the run's 13 distinct tests passed" in note and "cannot show any finding" in note
    four = beside.limits_note(_run(tmp_path / "four", 3, [1.0] * 5))  # 4 tests: t > 6.2, a difference 3.6 sd
    assert f"t > {stats.t.isf(0.05 / 4, 2):.1f}" in four and "cannot show" not in four


def test_ten_experiments_can_show_a_finding_and_count_what_passed(tmp_path):
    teach = _run(tmp_path / "teach", 10, [0.01, 0.2, 0.03, 0.5, 0.04])
    note = beside.limits_note(teach)
    assert f"t > {stats.t.isf(0.05 / 4, 9):.1f}" in note and "3 of the run's 5 distinct tests passed" in note
    assert "cannot show" not in note
    assert beside.limits_note(tmp_path / "nowhere") == ""


def _chapter07() -> nbformat.NotebookNode:
    return nbformat.v4.new_notebook(cells=[nbformat.v4.new_markdown_cell("# Which differences are significant"),
                                           nbformat.v4.new_markdown_cell("## Table 7: does the other instrument's data help?"),
                                           nbformat.v4.new_code_cell("t7")])


def test_the_teaching_books_table7_stands_under_the_demos_heading_only_beside_it(tmp_path):
    demo = _run(tmp_path / "demo", 3, [1.0, 1.0, 0.6, 0.6, 0.9])
    alone = beside.with_table7_beside(_chapter07(), "07_significance", demo)
    assert len(alone.cells) == 3  # no teaching run beside it: nothing added
    _run(tmp_path / "teach", 10, [0.01, 0.2, 0.03, 0.5, 0.04])
    page = beside.with_table7_beside(_chapter07(), "07_significance", demo)
    assert page.cells[1].source.startswith("## Table 7") and "runs/teach" in page.cells[2].source
    assert page.cells[2].source.count("FUSED_SHARP > SHARP_ONLY") == 2 and "ACC" not in page.cells[2].source
    assert len(beside.with_table7_beside(_chapter07(), "06_stacking", demo).cells) == 3
    teach_page = beside.with_table7_beside(_chapter07(), "07_significance", tmp_path / "teach")
    assert len(teach_page.cells) == 3  # the teaching book is not shown beside itself


def test_the_landing_page_names_the_teaching_set_its_book_was_built_from(tmp_path):
    from flarelib.compendium.site import landing_page

    teach = landing_page({"demo": tmp_path / "teach"})
    assert "params/teach.yaml" in teach and "1,100 HARPs" in teach and 'href="demo/index.html"' in teach
    demo = landing_page({"demo": tmp_path / "demo"})
    assert "params/demo.yaml" in demo and "in minutes on a laptop" in demo and "1,100 HARPs" not in demo
