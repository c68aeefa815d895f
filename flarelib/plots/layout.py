"""How a figure fits the book's page: panels in grids, fonts that stay legible, and a check of both.

The book's text column is 704 px wide (Jupyter Book 1's theme at a desktop width); a PNG wider than
that is shrunk to it, and its fonts with it. A figure drawn in one long row of panels and shrunk to the
column is unreadable (the study's Figure 9 in four panels of 3.6 in each was shown at 0.41 of its size),
so every multi-panel figure here is a grid of at most two plots a row (`panel_grid`), at most `WIDTH`
inches wide, drawn in the page's font sizes (`PAGE_STYLE`). `legibility` measures a saved figure as the
page will show it: the narrowest panel and the smallest font, in displayed pixels; the chapters record
it for every figure they save, and the tests hold every figure of a run to `MIN_PANEL_PX` and
`MIN_FONT_PX`.
"""

from __future__ import annotations

import math
import textwrap
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Iterator

import matplotlib.pyplot as plt
import numpy as np

PAGE_PX = 704  # the text column of the built book (sphinx-book-theme, viewport 1280-1400 px)
DPI = 120  # the chapters' PNG resolution (Chapter.savefig)
WIDTH = 8.0  # inches: the widest figure, shown at 704 / (8 * 120) = 0.73 of its size
PANEL = (4.0, 3.3)  # inches: one plot panel of a grid
COLUMNS = 2  # plot panels a row: two of 4 in are shown about 330 px wide each
MIN_PANEL_PX = 300  # a plot panel, ticks and labels included, as displayed (about 330 px of the figure's width)
MIN_TILE_PX = 120  # an image tile without axes (a magnetogram in a sequence, an attribution map)
MIN_FONT_PX = 9.0  # the smallest text as displayed
PAGE_STYLE = {
    "font.size": 10,
    "axes.titlesize": 10,
    "axes.labelsize": 10,
    "xtick.labelsize": 9,
    "ytick.labelsize": 9,
    "legend.fontsize": 9,
    "legend.title_fontsize": 9,
    "figure.titlesize": 10,
}
SMALLEST_PT = 8.5  # no text is set smaller: at the widest figure it shows at 0.73 * 8.5 pt * 120 / 72 = 10.4 px


def use_page_style() -> None:
    """Set the page's font sizes for every figure drawn after it (the chapters call it when they open)."""
    plt.rcParams.update(PAGE_STYLE)


@contextmanager
def page_style() -> Iterator[None]:
    """The page's font sizes for the figures drawn inside the block only."""
    with plt.rc_context(PAGE_STYLE):
        yield


def panel_grid(n: int, columns: int = COLUMNS, panel: tuple[float, float] = PANEL, **kwargs) -> tuple[plt.Figure, list]:
    """A figure of `n` plot panels, `columns` a row, each `panel` inches; the unused cells of the last
    row are removed. Returns the figure and its axes in reading order."""
    columns = max(1, min(columns, n))
    rows = math.ceil(n / columns)
    width = min(WIDTH, panel[0] * columns)
    fig, axes = plt.subplots(rows, columns, figsize=(width, panel[1] * rows), squeeze=False, **kwargs)
    flat = list(axes.flat)
    for ax in flat[n:]:
        ax.remove()
    return fig, flat[:n]


def caption_title(fig: plt.Figure, caption: str, **kwargs) -> None:
    """The caption as the figure's title, wrapped to the figure's width so it never widens the PNG."""
    size = kwargs.pop("fontsize", plt.rcParams["figure.titlesize"])
    points = size if isinstance(size, (int, float)) else 10
    chars = max(30, int(fig.get_figwidth() * 72 / (0.6 * points)))  # DejaVu Sans: about 0.55 em a character
    fig.suptitle(textwrap.fill(caption, chars), fontsize=size, **kwargs)


@dataclass
class Legibility:
    """A saved figure as the page shows it."""

    natural_px: int
    scale: float  # displayed / natural width
    smallest_font_px: float
    narrowest_panel_px: float
    narrowest_tile_px: float
    problems: list[str] = field(default_factory=list)

    def as_dict(self) -> dict:
        """Plain JSON: sizes in displayed pixels rounded to 0.1, None where the figure has no such part."""
        def size(value: float) -> float | None:
            return round(float(value), 1) if math.isfinite(value) else None

        return {"natural_px": int(self.natural_px), "scale": round(self.scale, 3),
                "smallest_font_px": size(self.smallest_font_px), "narrowest_panel_px": size(self.narrowest_panel_px),
                "narrowest_tile_px": size(self.narrowest_tile_px), "problems": list(self.problems)}


def png_width(path: str | Path) -> int:
    """A PNG's width in pixels (Pillow reads only its header)."""
    from PIL import Image

    with Image.open(path) as image:
        if image.format != "PNG":
            raise ValueError(f"{path}: not a PNG file")
        return image.width


def _is_tile(ax) -> bool:
    """An image tile: an axes drawn without tick labels (a magnetogram, a map), not a plot."""
    return not ax.axison or (not len(ax.get_xticks()) and not len(ax.get_yticks()))


def legibility(fig: plt.Figure, natural_px: int, dpi: float = DPI, page_px: float = PAGE_PX) -> Legibility:
    """Measure `fig`, saved `natural_px` wide at `dpi`, as shown in a `page_px` column: its narrowest
    plot panel (with its labels) and image tile, and its smallest visible text, in displayed pixels;
    `problems` names each that is under the page's minimum."""
    scale = min(1.0, page_px / natural_px)
    renderer = fig.canvas.get_renderer()
    to_px = dpi / fig.dpi * scale
    panels, tiles = [], []
    for ax in fig.axes:
        if not ax.get_visible() or hasattr(ax, "_colorbar") or ax.get_label() == "<colorbar>":
            continue
        if _is_tile(ax):
            tiles.append(ax.get_window_extent(renderer).width * to_px)
        else:
            panels.append(ax.get_tightbbox(renderer).width * to_px)
    fonts = [t.get_fontsize() * dpi / 72 * scale for t in fig.findobj(lambda a: hasattr(a, "get_text") and hasattr(a, "get_fontsize"))
             if t.get_visible() and t.get_text().strip() and _drawn(t)]
    result = Legibility(natural_px, scale, min(fonts, default=math.inf), min(panels, default=math.inf),
                        min(tiles, default=math.inf))
    if result.smallest_font_px < MIN_FONT_PX - 0.05:
        result.problems.append(f"text {result.smallest_font_px:.1f} px as displayed (at least {MIN_FONT_PX:g})")
    if result.narrowest_panel_px < MIN_PANEL_PX:
        result.problems.append(f"a panel {result.narrowest_panel_px:.0f} px wide as displayed (at least {MIN_PANEL_PX})")
    if result.narrowest_tile_px < MIN_TILE_PX:
        result.problems.append(f"an image {result.narrowest_tile_px:.0f} px wide as displayed (at least {MIN_TILE_PX})")
    return result


def _drawn(text) -> bool:
    """A text that is on the figure: tick labels outside the axis limits are kept but never drawn."""
    axes = getattr(text, "axes", None)
    if axes is None or text in (axes.title, axes._left_title, axes._right_title):
        return True
    if text.get_text() and text in axes.get_xticklabels() + axes.get_yticklabels():
        x, y = text.get_position()
        low, high = sorted(axes.get_xlim() if text in axes.get_xticklabels() else axes.get_ylim())
        value = x if text in axes.get_xticklabels() else y
        return bool(np.isfinite(value)) and low - 1e-9 * abs(high - low) <= value <= high + 1e-9 * abs(high - low)
    return True
