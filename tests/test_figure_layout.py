"""Figures that read at the page's width: the grid, the legibility measure, the alt text a chapter
writes into each PNG and the book puts on the page."""

from __future__ import annotations

import json

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pytest  # noqa: E402

from flarelib import plots
from flarelib.plots import layout  # noqa: E402
from flarelib.compendium.chapter import LEGIBILITY, alt_text, open_chapter  # noqa: E402
from flarelib.compendium.sphinx_fixes import alt_from_png, png_description  # noqa: E402


def saved(fig, tmp_path, name="figure.png") -> layout.Legibility:
    path = tmp_path / name
    fig.savefig(path, dpi=layout.DPI, bbox_inches="tight")
    return layout.legibility(fig, layout.png_width(path))


def test_one_long_row_with_small_legends_is_flagged(tmp_path):
    """The old Figure 9: four panels of 3.6 in in one row, a 7-pt legend, shrunk to the column."""
    fig, axes = plt.subplots(1, 4, figsize=(14.4, 3.6))
    for ax in axes:
        ax.plot([0, 1], [0, 1], label="LSTM")
    axes[0].legend(fontsize=7)
    measured = saved(fig, tmp_path)
    assert measured.scale < 0.55  # about 1400 px of figure in a 704 px column
    assert measured.smallest_font_px == pytest.approx(7 * 120 / 72 * measured.scale, rel=1e-6)
    assert measured.narrowest_panel_px < layout.MIN_PANEL_PX
    assert len(measured.problems) == 2 and "text" in measured.problems[0] and "panel" in measured.problems[1]


def test_a_grid_of_two_columns_in_the_page_style_reads_at_the_page_width(tmp_path):
    with layout.page_style():
        fig, axes = layout.panel_grid(3)
        for ax in axes:
            ax.plot([0, 1], [0, 1], label="a run")
            ax.set(xlabel="forecast probability", ylabel="observed frequency", title="Reliability")
        axes[0].legend()
        layout.caption_title(fig, "Data source: synthetic (the embedded, seeded teaching world; not the Sun). " * 2)
        fig.tight_layout()
        measured = saved(fig, tmp_path)
    assert len(axes) == 3 and len(fig.axes) == 3  # the fourth cell is removed
    assert fig.get_figwidth() <= layout.WIDTH
    assert measured.problems == [], measured
    assert measured.narrowest_panel_px >= layout.MIN_PANEL_PX and measured.smallest_font_px >= layout.MIN_FONT_PX
    assert "\n" in fig._suptitle.get_text()  # a long caption is wrapped, not widening the PNG
    assert measured.natural_px <= layout.WIDTH * layout.DPI + 40


def test_image_tiles_are_held_to_their_own_minimum(tmp_path):
    with layout.page_style():
        fig, axes = plt.subplots(1, 12, figsize=(12, 1.4))
        for ax in axes:
            ax.imshow(np.zeros((8, 8)))
            ax.set_xticks([]), ax.set_yticks([])
        measured = saved(fig, tmp_path)
    assert measured.narrowest_panel_px == float("inf")  # no plot panel: every axes is a tile
    assert measured.narrowest_tile_px < layout.MIN_TILE_PX and any("image" in p for p in measured.problems)


def test_the_verification_figure_is_a_two_by_two_grid_that_reads(tmp_path):
    rng = np.random.default_rng(0)
    runs = {name: [(rng.integers(0, 2, 200), rng.random(200)) for _ in range(3)] for name in ("FUSED_SHARP", "SHARP_ONLY")}
    with layout.page_style():
        fig = plots.verification_figure(runs, "Data source: synthetic (the embedded, seeded teaching world; not the Sun).")
        measured = saved(fig, tmp_path)
    visible = [ax for ax in fig.axes if ax.axison]
    assert len({round(ax.get_position().x0, 2) for ax in visible}) == 2  # two columns
    assert measured.problems == [], measured
    legend = fig.axes[3].get_legend() if len(fig.axes) > 3 else None
    labels = [t.get_text() for t in legend.get_texts()] if legend else []
    assert any("FUSED_SHARP" in t for t in labels) and "perfect reliability" in labels


def test_a_chapter_saves_a_figure_with_its_alt_text_and_its_measure_and_shows_the_file(tmp_path, monkeypatch):
    shown = []
    monkeypatch.setattr("IPython.display.display", lambda obj: shown.append(obj))
    chapter = open_chapter("04_lstm", tmp_path, source="synthetic")
    fig, axes = layout.panel_grid(2)
    axes[0].set_title("ROC")
    axes[1].set_title("Skill-score profile")
    layout.caption_title(fig, f"FUSED_SHARP seed 0. {chapter.caption}")
    path = chapter.savefig(fig, "verification")
    description = png_description(path)
    assert description == alt_text(fig)
    assert description.startswith("FUSED_SHARP seed 0. Data source: synthetic") and "Panels: ROC; Skill-score profile." in description
    sizes = json.loads((tmp_path / "04_lstm" / "figures" / LEGIBILITY).read_text())
    assert sizes["verification.png"]["natural_px"] == layout.png_width(path) and sizes["verification.png"]["problems"] == []
    assert not plt.fignum_exists(fig.number)  # closed: the page shows the saved file once
    assert len(shown) == 1 and shown[0].data == path.read_bytes()


def test_the_book_puts_a_pngs_description_on_its_image(tmp_path):
    from docutils import nodes
    from docutils.utils import new_document
    from docutils.frontend import get_default_settings
    from docutils.parsers.rst import Parser

    fig, ax = plt.subplots()
    ax.set_title("ROC")
    fig.savefig(tmp_path / "with.png", metadata={"Description": "Figure 6: ROC of the LSTM."})
    fig.savefig(tmp_path / "without.png")
    document = new_document("page", get_default_settings(Parser))
    document += [nodes.image(uri="with.png", candidates={"image/png": "with.png"}, alt="hash.png"),
                 nodes.image(uri="without.png", candidates={"image/png": "without.png"}, alt="kept")]

    class App:
        srcdir = str(tmp_path)

    alt_from_png(App(), document, "page")
    images = list(document.findall(nodes.image))
    assert images[0]["alt"] == "Figure 6: ROC of the LSTM." and images[1]["alt"] == "kept"
