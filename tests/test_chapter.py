"""The helper chapters use: run folder, artifacts of earlier chapters, recorded numbers, captions."""

from __future__ import annotations

import json
import math

import numpy as np
import pytest

from flarelib.compendium.chapter import MissingArtifact, open_chapter, read_record, source_caption


def test_record_accumulates_json_safe_numbers(tmp_path):
    chapter = open_chapter("04_lstm", tmp_path, source="synthetic", seed=3)
    chapter.record(tss=np.float32(0.5), n_test=np.int64(12))
    numbers = chapter.record(bss=math.nan, per_seed=[np.float64(0.25), 0.75])
    assert numbers == {"tss": 0.5, "n_test": 12, "bss": None, "per_seed": [0.25, 0.75]}
    on_disk = json.loads((tmp_path / "04_lstm" / "record.json").read_text())
    assert on_disk["source"] == "synthetic" and on_disk["params"] == {"source": "synthetic", "seed": 3}
    assert read_record(tmp_path, "04_lstm")["numbers"]["n_test"] == 12


def test_missing_artifact_names_the_chapter_that_should_have_made_it(tmp_path):
    chapter = open_chapter("05_cnn", tmp_path, source="synthetic")
    with pytest.raises(MissingArtifact, match=r"05_cnn needs .*03_sampling/datasets.nc.*--only 03_sampling"):
        chapter.input("03_sampling", "datasets.nc")
    (tmp_path / "03_sampling").mkdir()
    (tmp_path / "03_sampling" / "datasets.nc").write_text("x")
    assert chapter.input("03_sampling", "datasets.nc").read_text() == "x"


def test_savefig_writes_a_png_in_the_chapter_figures(tmp_path):
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    chapter = open_chapter("02_fusion", tmp_path, source="archive")
    fig, ax = plt.subplots()
    ax.plot([0, 1], [0, 1])
    path = chapter.savefig(fig, "qq")
    assert path == tmp_path / "02_fusion" / "figures" / "qq.png"
    assert path.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_captions_say_which_source_ran_and_that_synthetic_is_not_the_sun():
    assert "not the Sun" in source_caption("synthetic")
    assert "real" in source_caption("archive") and "real" in source_caption("jsoc")
    with pytest.raises(ValueError, match="unknown data source 'sdo'"):
        source_caption("sdo")


def test_library_warnings_and_log_lines_go_to_the_chapters_log_not_the_page(tiny, tmp_path):
    import nbformat

    from flarelib.compendium.params import load_params
    from flarelib.compendium.runner import run_chapters

    tiny.write("01_a", {"seed": 0}, extra=(
        "\nimport logging, warnings\nfrom flarelib import open_chapter\nopen_chapter('01_a', run_dir)\n"
        "warnings.warn('a library warns from /root/.venv/site-packages')\n"
        "logging.getLogger('distributed.nanny').warning('Worker process still alive')\nprint('the chapter speaks')\n"))
    params, path = load_params(tiny.params_file)
    run_chapters(params, path, tmp_path / "run", root=tiny.root, log=lambda _: None)
    executed = nbformat.read(tmp_path / "run" / "01_a" / "01_a.ipynb", as_version=4)
    outputs = "".join(o.get("text", "") for c in executed.cells if c.cell_type == "code" for o in c.outputs)
    assert "the chapter speaks" in outputs
    assert "warns" not in outputs and "still alive" not in outputs
    log = (tmp_path / "run" / "01_a" / "library.log").read_text()
    assert "UserWarning: a library warns" in log and "distributed.nanny WARNING: Worker process still alive" in log


def test_the_recorded_numbers_show_as_a_short_table(tmp_path):
    from flarelib.compendium.chapter import Chapter

    shown = Chapter("07_x", tmp_path, {}).record(tss=0.123456, table={"LSTM": {"TSS": 0.5}}, seeds=[0, 1, 2], note=None)
    assert shown["table"] == {"LSTM": {"TSS": 0.5}}  # still the dict
    assert shown.rows() == [("tss", "0.1235"), ("table / LSTM / TSS", "0.5"), ("seeds", "3 values"), ("note", "-")]
    assert "<td>table / LSTM / TSS</td><td>0.5</td>" in shown._repr_html_()
