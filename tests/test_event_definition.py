"""The event definition as parameters: validated with clear errors, refused where a source cannot serve
it (with the reason), and never typed into a chapter's prose as if it were this run's."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from flarelib.compendium.params import ParamsError, load_params
from flarelib.events import event_definition

ROOT = Path(__file__).resolve().parents[1]


def test_the_study_definition_is_the_default_of_every_set():
    for name in ("demo", "smoke", "teach", "archive", "paper"):
        params, _ = load_params(name)
        assert (params.task, params.flare_class, params.undersample) == ("strong_vs_quiet", "M1.0", ("train", "val", "test"))


def test_the_archive_refuses_what_its_tables_cannot_serve_and_says_why():
    with pytest.raises(ParamsError, match=r"key 'task': 'strong_vs_rest' cannot be served by source 'archive': the "
                                          r"archive's published window tables hold only the study's windows"):
        load_params("archive", ["task=strong_vs_rest"])
    with pytest.raises(ParamsError, match=r"key 'flare_class': 'C1.0' cannot be served by source 'archive'.*below M1.0"):
        load_params("archive", ["flare_class=C1.0"])
    assert load_params("archive", ["flare_class=X1.0"])[0].flare_class == "X1.0"  # a subset of its positives: served
    assert load_params("demo", ["task=strong_vs_rest", "flare_class=C1.0"])[0].task == "strong_vs_rest"


def test_bad_choices_are_named():
    with pytest.raises(ParamsError, match=r"key 'flare_class': flare_class: 'Q1' is not a GOES class.*C1.0, M1.0 or X1.0"):
        load_params("smoke", ["flare_class=Q1"])
    with pytest.raises(ParamsError, match=r"key 'task': Input should be 'strong_vs_quiet' or 'strong_vs_rest'"):
        load_params("smoke", ["task=operational"])
    with pytest.raises(ParamsError, match=r"key 'undersample': each split at most once"):
        load_params("smoke", ["undersample=[train, train]"])
    with pytest.raises(ParamsError, match=r"key 'undersample.0': Input should be 'train', 'val' or 'test'"):
        load_params("smoke", ["undersample=[everything]"])
    assert load_params("smoke", ["undersample=[train]"])[0].undersample == ("train",)


def test_the_definition_in_words_follows_the_parameters():
    study = event_definition("strong_vs_quiet", "M1.0", 24.0, 24.0)
    assert "M1.0" in study and "24 hours" in study and study.endswith("This is the study's definition.")
    other = event_definition("strong_vs_rest", "X1.0", 12.0, 6.0)
    assert "X1.0 or above" in other and "12 hours of a region's records" in other and "in the 6 hours after it" in other
    assert "every window is kept" in other and "The study's: 24 hours each, M1.0, strong-vs-quiet." in other


def test_no_chapter_types_the_studys_definition_as_the_runs():
    """A chapter's prose may name 24 hours or M1.0 only as the study's choice: this run's definition is
    printed from its parameters (`events.event_definition`)."""
    pattern = re.compile(r"24[- ]?h(?:ours?)?\b|M1\.0")
    unattributed = []
    for path in sorted((ROOT / "notebooks").glob("*.ipynb")):
        for index, cell in enumerate(json.loads(path.read_text())["cells"]):
            if cell["cell_type"] != "markdown":
                continue
            text = "".join(cell["source"])
            for match in pattern.finditer(text):
                start = max(text.rfind(". ", 0, match.start()), text.rfind("\n\n", 0, match.start()), text.rfind("(", 0, match.start()))
                if not re.search(r"stud(y|y's)|published|authors", text[max(0, start):match.end() + 60], re.I):
                    unattributed.append(f"{path.name} cell {index}: {text[max(0, match.start() - 60):match.end() + 20]!r}")
    assert not unattributed, "\n".join(unattributed)
