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
