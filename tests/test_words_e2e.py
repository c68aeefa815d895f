"""On the smoke run: each chapter's "What this run shows" says what its records say (the sentences are
recomputed from the run's files and compared with the executed page, and their numbers with the
records), the findings and the persistence tables are in the run, and no page prints a truncated
table."""

from __future__ import annotations

import json
import re

import nbformat
import pandas as pd
import pytest

from flarelib.study import words

pytestmark = pytest.mark.e2e


def page_text(run_dir, chapter: str) -> str:
    nb = nbformat.read(run_dir / chapter / f"{chapter}.ipynb", as_version=4)
    parts = []
    for cell in nb.cells:
        for output in cell.get("outputs", []):
            data = output.get("data", {})
            parts.append(data.get("text/markdown", "") + data.get("text/plain", "") + data.get("text/html", "")
                         + output.get("text", ""))
    return "\n".join(parts)


def record(run_dir, chapter: str) -> dict:
    return json.loads((run_dir / chapter / "record.json").read_text())["numbers"]


@pytest.mark.parametrize("chapter,model", [("04_lstm", "LSTM"), ("05_cnn", "CNN")])
def test_the_training_words_are_the_records(smoke_run, chapter, model):
    run_dir = smoke_run[0]
    numbers = record(run_dir, chapter)
    history = pd.read_csv(run_dir / chapter / "model" / "history.csv")
    said = words.training_words(model, history, numbers["best_epoch"], 2, numbers["test"])
    learned = []
    if model == "CNN":  # the learning curve's sentence follows, from the chapter's table and record
        curve = pd.read_csv(run_dir / chapter / "learning_curve.csv")
        learned = words.learning_words(curve, "CNN", "GB_IMAGE")
        pd.testing.assert_frame_equal(curve, pd.DataFrame(numbers["learning_curve"])[curve.columns], check_dtype=False)
        assert curve["CNN"].iloc[-1] == pytest.approx(numbers["test"]["TSS"], nan_ok=True)  # the chapter's own model
        assert f"with all {numbers['n_train']}," in learned[0]
    text = page_text(run_dir, chapter)
    assert words.as_markdown(said + learned) in text
    assert f"kept epoch {numbers['best_epoch']} " in said[0] and len(history) == numbers["epochs"]
    if numbers["test"]["TSS"] == numbers["test"]["TSS"]:  # not NaN
        assert f"TSS {numbers['test']['TSS']:.3f}" in said[-1] and f"AUC {numbers['test']['AUC']:.3f}" in said[-1]


def test_the_sweep_and_significance_words_are_the_records(smoke_run):
    run_dir = smoke_run[0]
    metrics = pd.read_csv(run_dir / "06_stacking" / "metrics.csv")
    stacked = pd.read_csv(run_dir / "06_stacking" / "stacking.csv")
    said = words.sweep_words(metrics, stacked)
    assert words.as_markdown(said) in page_text(run_dir, "06_stacking")
    early = int(((metrics.best_epoch == 1) & metrics.model.isin(["LSTM", "CNN"])).sum())
    assert said[0].startswith(f"Of {int(metrics.model.isin(['LSTM', 'CNN']).sum())} deep-model cells, {early} kept")
    family = pd.read_csv(run_dir / "07_significance" / "tests.csv", dtype={"table": str})
    effects = pd.read_csv(run_dir / "07_significance" / "effects.csv")
    activity = pd.read_csv(run_dir / "07_significance" / "by_observation.csv")
    said = words.significance_words(family, effects, activity)
    assert words.as_markdown(said) in page_text(run_dir, "07_significance")
    distinct = family[family["same test as"].isna() & family.p.notna()]
    assert said[0].startswith(f"{int((distinct['p Holm'] < 0.05).sum())} of {len(distinct)} distinct tests")


def test_persistence_is_in_the_run(smoke_run):
    run_dir = smoke_run[0]
    sampling = record(run_dir, "03_sampling")
    assert sampling["task"] == "strong_vs_quiet" and sampling["flare_class"] == "M1.0"
    assert {"this run SHARP", "the study SHARP"} <= set(sampling["persistence"])
    metrics = pd.read_csv(run_dir / "06_stacking" / "metrics.csv")
    assert {"PERSIST_ANY", "PERSIST_STRONG", "PERSIST_PROB", "LR_LAST_HISTORY"} <= set(metrics.model)
    # In the study's task no negative flared in its observation period: persistence raises no false alarm.
    assert (metrics[metrics.model == "PERSIST_ANY"].FP == 0).all()
    tests = pd.read_csv(run_dir / "07_significance" / "tests.csv", dtype={"table": str})
    assert set(tests[tests.table == "persistence"].comparison.str.split(" > ").str[0]) == {"LSTM", "CNN"}
    verdicts = record(run_dir, "07_significance")["verdicts"]
    assert any(key.endswith("> PERSIST_ANY") or "PERSIST" in key for key in verdicts)


def test_no_page_prints_a_truncated_table(smoke_run):
    run_dir = smoke_run[0]
    for chapter in sorted(p.name for p in run_dir.iterdir() if (p / f"{p.name}.ipynb").is_file()):
        text = page_text(run_dir, chapter)
        assert not re.search(r"\d+ rows [x×] \d+ columns", text), chapter
        assert not re.search(r"^\s*\.\.\.(\s+\.\.\.)+\s*$", text, re.MULTILINE), chapter


def test_the_operational_words_are_the_records(smoke_run):
    run_dir = smoke_run[0]
    folder = run_dir / "09_operational"
    scores = pd.read_csv(folder / "scores_unbalanced.csv")
    disk = pd.read_csv(folder / "full_disk_scores.csv", index_col=0)
    transfer = pd.read_csv(folder / "transfer.csv")
    table5 = pd.read_csv(run_dir / "03_sampling" / "table5.csv", index_col=[0, 1])
    said = words.operational_words(scores, disk, transfer, table5)
    assert words.as_markdown(said) in page_text(run_dir, "09_operational")
    numbers = record(run_dir, "09_operational")
    pairs = numbers["bss_isotonic"]
    assert f"brings BSS above 0 in {sum(v > 0 for v in pairs.values())} of {len(pairs)}" in said[1]
    assert said[2].startswith(f"{sum(r['BSS'] > 0 for r in numbers['full_disk'].values())} of {len(numbers['full_disk'])} "
                              "full-disk forecasts")


def test_the_attribution_words_are_the_records(smoke_run):
    run_dir = smoke_run[0]
    folder = run_dir / "08_attribution"
    numbers = record(run_dir, "08_attribution")
    params = json.loads((folder / "record.json").read_text())["params"]
    trends = pd.DataFrame({"Spearman": [numbers["grid_spearman"]["B0"], numbers["grid_spearman"]["separation"]]})
    layers = pd.DataFrame(numbers["gradcam_layers"]).assign(index=lambda d: range(len(d)))
    detail = None if numbers["gradcam_layer"] is None else numbers["gradcam_layer"] - 1
    rises = pd.read_csv(folder / "forecast_rise.csv")
    frames = pd.read_csv(folder / "pil_share.csv") if (folder / "pil_share.csv").exists() else pd.DataFrame()
    said = words.attribution_words(trends, layers, detail, rises, params["attribution_min_rise"],
                                   params["attribution_sequences"], numbers["ig_completeness_error"], frames)
    assert words.as_markdown(said) in page_text(run_dir, "08_attribution")
    explained = rises[rises.rise >= params["attribution_min_rise"]]
    assert numbers["sequences"] == sorted(explained.ARPNUM, key=lambda a: -explained.set_index("ARPNUM").rise[a])[:len(numbers["sequences"])]
    assert (rises.set_index("ARPNUM").rise[numbers["sequences"]] >= params["attribution_min_rise"]).all()
    if len(frames):
        assert f"{numbers['pil_ratio_mean']:.1f} times" in said[-1] and f"{numbers['pil_control_ratio_mean']:.1f} times" in said[-1]
