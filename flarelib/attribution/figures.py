"""Figures of the attribution chapter: bipoles and their maps (Figure 12), probability along a sequence
(Figure 13), contours of attribution over the first and last magnetograms (Figure 15), an animation."""

from __future__ import annotations

import base64
from pathlib import Path

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd

from flarelib.attribution.methods import smooth, upsample
from flarelib.plots.layout import SMALLEST_PT, WIDTH, caption_title
from flarelib.sources.files import atomic_path


def _symmetric(ax, image, limit: float, cmap="RdBu_r"):
    shown = ax.imshow(image, origin="lower", cmap=cmap, vmin=0.0 if cmap == "viridis" else -limit, vmax=limit)
    ax.set_xticks([]), ax.set_yticks([])
    return shown


def plot_bipole_maps(table: pd.DataFrame, images: np.ndarray, maps: dict[str, np.ndarray], caption: str) -> plt.Figure:
    """One column per bipole: the CNN's input on top, then each method's map below it (red positive,
    blue negative; Grad-CAM non-negative); the bipoles side by side, so that a method's maps are read
    along a row, on one colour scale per row, shown at its right."""
    rows = ["input", *maps]
    side = min(1.9, WIDTH / max(1, len(table)))
    fig, axes = plt.subplots(len(rows), len(table), figsize=(side * len(table) + 1.3, side * len(rows) + 0.6), squeeze=False,
                             layout="constrained")
    for i, (name, values) in enumerate([("input", images), *maps.items()]):
        cmap = "gray" if name == "input" else "viridis" if name.startswith("GradCAM") else "RdBu_r"
        limit = float(np.nanmax(np.abs(values[: len(table)]))) or 1.0
        for j in range(len(table)):
            shown = _symmetric(axes[i, j], values[j], limit, cmap)
        bar = fig.colorbar(shown, ax=axes[i, :], shrink=0.8, pad=0.01)
        bar.set_label("standardized field" if name == "input" else "attribution", fontsize=SMALLEST_PT + 1)
        bar.ax.tick_params(labelsize=SMALLEST_PT + 1)
    for j, row in enumerate(table.itertuples()):
        axes[0, j].set_title(f"B0 {row.B0:.0f} G, P = {row.probability:.2f}\nrho {row.rho_deg:.0f} deg, tilt {row.tilt_deg:.0f}")
    for ax, name in zip(axes[:, 0], rows):
        ax.set_ylabel(name.replace(" (", "\n("))
    caption_title(fig, caption)
    return fig


def plot_probability_sequence(times, prob, windows: pd.DataFrame, flares: pd.DataFrame, title: str, caption: str) -> plt.Figure:
    """Figure 13: the CNN's probability at every record, the window labels, and the region's flares.

    Parameters
    ----------
    times, prob : record times and the CNN's probability at each.
    windows : the region's windows (their `end` and `label`).
    flares : the region's flares (peak time and class).
    title, caption : the figure's title, and its caption (naming the data source).
    """
    fig, ax = plt.subplots(figsize=(WIDTH, 3.6))
    labelled = windows[windows.label.notna()]
    ax.plot(labelled.end, labelled.label.astype(float), "s", mfc="none", color="#3b75af", ms=5, label="label (M1.0+ in 24 h)")
    ax.plot(times, prob, "+", color="#2ca02c", ms=6, label="CNN probability")
    ax.set(ylim=(-0.05, 1.05), ylabel="probability / label", title=title)
    flux = ax.twinx()
    if len(flares):
        flux.vlines(flares.peak_time, 1e-8, flares.peak_flux, color="#c53a32", lw=1.2)
    flux.set(yscale="log", ylim=(1e-8, 1e-3), ylabel="GOES peak flux (W m$^{-2}$)")
    flux.axhline(1e-5, color="#c53a32", ls=":", lw=0.6)
    ax.legend(frameon=False, loc="upper left")
    caption_title(fig, caption)
    fig.autofmt_xdate()
    fig.tight_layout()
    return fig


def attribution_contours(ax, magnetogram: np.ndarray, attribution: np.ndarray, title: str, limit: float = 1000.0):
    """A magnetogram in grey with the smoothed attribution, upsampled to its size, as red (positive)
    and blue (negative) contours at 30% and 60% of its largest magnitude (stated in the title); returns
    the image, for a colour bar of the field.

    Parameters
    ----------
    ax : the matplotlib axes to draw on.
    magnetogram : the native line-of-sight field (G).
    attribution : the map at the CNN's input size.
    title : the panel's title.
    limit : the grey scale's range, +-limit G.
    """
    shown = ax.imshow(magnetogram, origin="lower", cmap="gray", vmin=-limit, vmax=limit)
    native = smooth(upsample(attribution, magnetogram.shape), sigma=3.0)
    level = float(np.nanmax(np.abs(native))) or 1.0
    ax.contour(native, levels=[0.3 * level, 0.6 * level], colors="red", linewidths=0.8)
    ax.contour(native, levels=[-0.6 * level, -0.3 * level], colors="blue", linewidths=0.8)
    ax.set_title(f"{title}\ncontours at 30% and 60% of {level:.2g} per pixel", fontsize=SMALLEST_PT + 1)
    ax.set_xticks([]), ax.set_yticks([])
    return shown


def plot_first_last(first: np.ndarray, last: np.ndarray, attribution: np.ndarray, titles: tuple[str, str], caption: str) -> plt.Figure:
    """Figure 15: Integrated Gradients of the last frame against the first, over both magnetograms.

    Parameters
    ----------
    first, last : the sequence's first and last native magnetograms.
    attribution : the Integrated Gradients map of the last frame against the first.
    titles : the two panels' titles.
    caption : the figure's caption (naming the data source).
    """
    fig, axes = plt.subplots(1, 2, figsize=(WIDTH, 4.4), layout="constrained")
    attribution_contours(axes[0], first, attribution, titles[0])
    shown = attribution_contours(axes[1], last, attribution, titles[1])
    bar = fig.colorbar(shown, ax=axes, shrink=0.8, pad=0.01)
    bar.set_label("line-of-sight field (G); red: raises the probability, blue: lowers it", fontsize=SMALLEST_PT)
    caption_title(fig, caption)
    return fig


def animate(frames: list[np.ndarray], maps: list[np.ndarray], titles: list[str], path: Path, caption: str) -> Path:
    """A GIF of the frames with their attribution contours (saved in the run folder).

    Parameters
    ----------
    frames, maps : native magnetograms and their attribution maps.
    titles : one title per frame.
    path : where the GIF is written.
    caption : the caption drawn under every frame.
    """
    from matplotlib.animation import FuncAnimation, PillowWriter

    fig, ax = plt.subplots(figsize=(5.6, 4))
    shown = attribution_contours(ax, frames[0], maps[0], titles[0])
    fig.colorbar(shown, ax=ax, shrink=0.8).set_label("line-of-sight field (G)", fontsize=SMALLEST_PT)

    def draw(i):
        ax.clear()
        attribution_contours(ax, frames[i], maps[i], titles[i])
        caption_title(fig, caption, fontsize=SMALLEST_PT)

    animation = FuncAnimation(fig, draw, frames=len(frames))
    with atomic_path(path) as temporary:
        animation.save(temporary, writer=PillowWriter(fps=2))
    plt.close(fig)
    return Path(path)


def gif_html(path: Path, alt: str = "Animation of attribution over the sequence.", width: int = 520) -> str:
    """The GIF embedded in HTML, so the book shows it without a separate file; `alt` is what a screen
    reader says for it."""
    import html

    data = base64.b64encode(Path(path).read_bytes()).decode()
    return f'<img src="data:image/gif;base64,{data}" width="{width}" alt="{html.escape(alt)}">'


def probability_figures(explained: dict, windows: pd.DataFrame, flares: pd.DataFrame, caption: str) -> dict[str, plt.Figure]:
    """Figure 13 for every explained region (`flarelib.attribution.sequences.explain_regions`): the CNN
    of its fold over the region's whole life, by figure name (`figure13_harp<N>`)."""
    from flarelib.attribution.methods import probability
    from flarelib.events import region_flares

    figures = {}
    for arpnum, region in explained.items():
        times, _, frames = region.life
        mine = windows[(windows.SERIES == region.series) & (windows.ARPNUM == arpnum)]
        figures[f"figure13_harp{arpnum}"] = plot_probability_sequence(
            times, probability(region.fit.model, frames), mine, region_flares(flares, region.noaa), region.title, caption)
    return figures


def first_last_figures(explained: dict, maps: dict[int, np.ndarray], caption: str) -> dict[str, plt.Figure]:
    """Figure 15 for every explained region: its sequence's first and last magnetograms under the
    Integrated Gradients map of the change (`maps`, from `sequences.completeness`), by figure name."""
    figures = {}
    for arpnum, region in explained.items():
        times, native, _ = region.sequence
        titles = (f"first: {times[0]:%Y-%m-%d %H:%M}", f"last: {times[-1]:%Y-%m-%d %H:%M}")
        figures[f"figure15_harp{arpnum}"] = plot_first_last(native[0], native[-1], maps[arpnum], titles,
                                                            f"HARP {arpnum}. {caption}")
    return figures


def animate_region(region, path: Path, caption: str, steps: int = 64) -> Path:
    """The animation of a region's quiet-to-imminent sequence: every frame with its Integrated Gradients
    map against the first frame (`animate`)."""
    from flarelib.attribution.methods import attribute

    times, native, frames = region.sequence
    maps = list(attribute(region.fit.model, frames, "IntegratedGradients", baseline=frames[0], steps=steps,
                          output="probability"))
    return animate(native, maps, [f"HARP {region.arpnum} {t:%Y-%m-%d %H:%M}" for t in times], path, caption)
