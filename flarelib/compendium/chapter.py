"""What a chapter notebook uses to read earlier artifacts, save its own and record its numbers.

Chapters hand artifacts to each other only through the run folder, `runs/<name>/<chapter>/`, so
any chapter can be re-run alone. Each chapter records its headline numbers in `record.json`
beside its executed notebook; tests and later chapters read them back. Everything a chapter saves
through its handle is written whole or not at all (`flarelib.sources.files.atomic_path`), and an
earlier chapter's artifact is checked against that chapter's manifest before it is handed out
(`flarelib.compendium.integrity`).
"""

from __future__ import annotations

import json
import math
from pathlib import Path
from typing import Any

from flarelib.compendium.integrity import LIBRARY_LOG, checked_input, run_command
from flarelib.compendium.paths import resolve
from flarelib.sources.files import atomic_path, write_text

RECORD = "record.json"
LEGIBILITY = "legibility.json"  # how the page shows each figure (figures/)
LIBRARY_LOGGERS = ("py.warnings", "distributed", "tornado", "asyncio")  # plain loggers: astropy and sunpy make their own class of logger at import, so theirs are left alone (their warnings come through py.warnings)

SOURCE_CAPTIONS = {
    "synthetic": "Data source: synthetic (the embedded, seeded teaching world; not the Sun).",
    "archive": "Data source: archive (real public SHARP/SMARP keyword tables and NOAA flare catalogues).",
    "jsoc": "Data source: jsoc (real SMARP/SHARP data from JSOC and the GOES flare catalogue).",
}


class MissingArtifact(FileNotFoundError):
    """An earlier chapter's artifact that is not in the run folder."""


def source_caption(source: str) -> str:
    """The sentence every figure and table caption carries: which data source ran."""
    try:
        return SOURCE_CAPTIONS[source]
    except KeyError:
        raise ValueError(f"unknown data source {source!r}; expected one of {sorted(SOURCE_CAPTIONS)}")


def _plain(value: Any) -> Any:
    """JSON-safe numbers (numpy scalars to Python; NaN to None, which JSON lacks)."""
    if hasattr(value, "item") and callable(value.item):
        value = value.item()
    if isinstance(value, float) and not math.isfinite(value):
        return None
    if isinstance(value, dict):
        return {str(k): _plain(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_plain(v) for v in value]
    return value


class Recorded(dict):
    """A chapter's recorded numbers: a dict, shown in a notebook as a table of its scalar numbers
    (nested ones flattened to "a / b" names, lists by their length), at most `SHOWN` rows."""

    SHOWN = 40

    def rows(self) -> list[tuple[str, str]]:
        def walk(prefix: str, value: Any):
            if isinstance(value, dict):
                for key, inner in value.items():
                    yield from walk(f"{prefix} / {key}" if prefix else str(key), inner)
            elif isinstance(value, (list, tuple)):
                yield prefix, f"{len(value)} values"
            elif isinstance(value, float):
                yield prefix, f"{value:.4g}"
            else:
                yield prefix, "-" if value is None else str(value)

        return list(walk("", dict(self)))

    def _repr_html_(self) -> str:
        import html

        rows = self.rows()
        body = "".join(f"<tr><td>{html.escape(k)}</td><td>{html.escape(v)}</td></tr>" for k, v in rows[: self.SHOWN])
        more = f"<p>... and {len(rows) - self.SHOWN} more in record.json</p>" if len(rows) > self.SHOWN else ""
        return f'<table class="flarelib-record"><thead><tr><th>recorded</th><th>value</th></tr></thead>{body}</table>{more}'


class Chapter:
    """One chapter's folder in a run: its artifacts, figures and recorded numbers."""

    def __init__(self, name: str, run_dir: str | Path, params: dict[str, Any]):
        self.name = name
        self.run_dir = resolve(run_dir)
        self.folder = self.run_dir / name
        self.folder.mkdir(parents=True, exist_ok=True)
        self.params = dict(params)
        self.source = str(self.params.get("source", "synthetic"))
        send_library_logs_to(self.folder / LIBRARY_LOG)
        self._write({"chapter": name, "source": self.source, "params": _plain(self.params), "numbers": {}})

    @property
    def caption(self) -> str:
        return source_caption(self.source)

    @property
    def progress(self) -> "Progress":
        """Report a line to the terminal of `flarelib run` (through the chapter's `progress.log`)."""
        from flarelib.compendium.progress import PROGRESS_FILE, Progress

        return Progress(str(self.folder / PROGRESS_FILE))

    def path(self, filename: str) -> Path:
        """Where this chapter writes an artifact."""
        target = self.folder / filename
        target.parent.mkdir(parents=True, exist_ok=True)
        return target

    def input(self, chapter: str, filename: str) -> Path:
        """An artifact of an earlier chapter (a file or a folder), checked against what that chapter
        wrote; a clear error naming the file, its chapter and the remedy when it is missing or damaged."""
        source = self.run_dir / chapter / filename
        if not source.exists():
            raise MissingArtifact(
                f"chapter {self.name} needs {source}, which chapter {chapter} has not written in "
                f"{self.run_dir}: run the chapters up to this one "
                f"({run_command(self.run_dir, '--only', chapter, self.name)})"
            )
        checked_input(self.run_dir, chapter, filename, f"chapter {self.name}")
        return source

    def save_table(self, frame: Any, filename: str, **options: Any) -> Path:
        """Write a table as CSV (`DataFrame.to_csv` with `options`), whole or not at all."""
        with atomic_path(self.path(filename)) as path:
            frame.to_csv(path, **options)
        return self.folder / filename

    def save_array(self, array: Any, filename: str) -> Path:
        """Write an array as `.npy`, whole or not at all."""
        import numpy as np

        with atomic_path(self.path(filename)) as path:
            np.save(path, array)
        return self.folder / filename

    def record(self, **numbers: Any) -> "Recorded":
        """Add headline numbers to `record.json`; returns everything recorded so far (a dict that a
        notebook shows as a short table of the numbers, not as nested keys)."""
        data = self.recorded()
        data["numbers"].update(_plain(numbers))
        self._write(data)
        return Recorded(data["numbers"])

    def recorded(self) -> dict[str, Any]:
        return json.loads((self.folder / RECORD).read_text())

    def savefig(self, fig: Any, name: str, dpi: int | None = None, show: bool = True) -> Path:
        """Save a matplotlib figure in the chapter's `figures/` folder as PNG and show that file.

        The PNG carries the figure's alt text (its caption and panel titles, `alt_text`) for the book's
        pages; how the page will show it is measured (`flarelib.plots.layout.legibility`) and kept in
        `figures/legibility.json`, which the tests hold to the page's minimum sizes. The figure is
        closed: the page shows the saved file, not a second rendering of it.
        """
        from flarelib.plots.layout import DPI, legibility, png_width

        dpi = dpi or DPI
        target = self.path(f"figures/{name}.png")
        with atomic_path(target) as path:
            fig.savefig(path, dpi=dpi, bbox_inches="tight", metadata={"Description": alt_text(fig)})
        measured = legibility(fig, png_width(target), dpi)
        sizes = self.folder / "figures" / LEGIBILITY
        known = json.loads(sizes.read_text()) if sizes.exists() else {}
        write_text(sizes, json.dumps({**known, target.name: measured.as_dict()}, indent=1, sort_keys=True) + "\n")
        if show:
            import matplotlib.pyplot as plt
            from IPython.display import Image, display

            plt.close(fig)
            display(Image(filename=str(target)))
        return target

    def savefigs(self, figures: dict[str, Any], dpi: int | None = None) -> list[Path]:
        """Save and show several figures, by name (`savefig` on each, in order)."""
        return [self.savefig(fig, name, dpi) for name, fig in figures.items()]

    def _write(self, data: dict[str, Any]) -> None:
        write_text(self.folder / RECORD, json.dumps(data, indent=2, sort_keys=True) + "\n")


def send_library_logs_to(path: Path) -> None:
    """Warnings (`logging.captureWarnings`) and the log lines of the libraries a chapter uses go to
    `path`, not to the notebook's outputs: a page shows the chapter's own prints, never a library's
    warning with the paths of the machine that ran it."""
    import logging

    handler = logging.FileHandler(path, encoding="utf-8")
    handler.setFormatter(logging.Formatter("%(asctime)s %(name)s %(levelname)s: %(message)s"))
    handler.flarelib_chapter_log = True  # a chapter opened again replaces it
    logging.captureWarnings(True)
    for name in LIBRARY_LOGGERS:
        logger = logging.getLogger(name)
        for old in [h for h in logger.handlers if getattr(h, "flarelib_chapter_log", False)]:
            logger.removeHandler(old)
            old.close()
        logger.addHandler(handler)
        logger.propagate = False


def open_chapter(name: str, run_dir: str | Path, **params: Any) -> Chapter:
    """Start a chapter: create its run folder, record its parameters and data source, and draw its
    figures in the page's font sizes (`flarelib.plots.layout.PAGE_STYLE`)."""
    import pandas as pd

    from flarelib.plots.layout import use_page_style

    use_page_style()
    pd.set_option("display.max_rows", 500)  # a page shows every row of its tables, never "..."
    pd.set_option("display.min_rows", 500)
    pd.set_option("display.max_columns", 50)
    return Chapter(name, run_dir, params)


def alt_text(fig: Any) -> str:
    """A figure's alt text from its caption and its panels (each one's title, else what it plots
    against what): what a screen reader says for it."""
    def words(text: str) -> str:
        return " ".join(text.split())

    def panel(ax) -> str:
        if words(ax.get_title()):
            return words(ax.get_title())
        x, y = words(ax.get_xlabel()), words(ax.get_ylabel())
        return f"{y} against {x}" if x and y else x or y

    parts = []
    if getattr(fig, "_suptitle", None) is not None and words(fig._suptitle.get_text()):
        parts.append(words(fig._suptitle.get_text()))
    panels = [p for p in dict.fromkeys(panel(ax) for ax in fig.axes if ax.get_visible()) if p]
    if panels:
        parts.append("Panels: " + "; ".join(panels) + ".")
    return " ".join(parts) or "A figure of this chapter."


def read_record(run_dir: str | Path, chapter: str) -> dict[str, Any]:
    """The record a chapter wrote in a run folder (for tests and later chapters)."""
    path = resolve(run_dir) / chapter / RECORD
    if not path.exists():
        raise MissingArtifact(f"{path} does not exist: chapter {chapter} has not run in {run_dir}")
    checked_input(resolve(run_dir), chapter, RECORD, "reading the record")
    return json.loads(path.read_text())
