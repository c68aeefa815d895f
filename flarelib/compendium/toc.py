"""The chapter order, read from `_toc.yml` so that the book's order and the run order cannot drift."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any, Iterator

import yaml

CHAPTER_FOLDER = "notebooks"


@dataclass(frozen=True)
class ChapterSpec:
    name: str  # e.g. "03_sampling"
    notebook: Path  # the committed source notebook

    @property
    def toc_file(self) -> str:
        return f"{CHAPTER_FOLDER}/{self.name}"


def _files(entries: list[dict[str, Any]]) -> Iterator[str]:
    for entry in entries:
        if "file" in entry:
            yield str(entry["file"])
        for key in ("sections", "chapters"):
            yield from _files(entry.get(key, []))
        for part in entry.get("parts", []):
            yield from _files(part.get("chapters", []))


def toc_files(root: Path) -> list[str]:
    """Every file of the book in reading order, as written in `_toc.yml` (no suffix)."""
    toc = yaml.safe_load((root / "_toc.yml").read_text())
    return [str(toc["root"]), *_files([{"parts": toc.get("parts", [])}, *toc.get("chapters", [])])]


def chapters(root: Path) -> list[ChapterSpec]:
    """The executable chapters (notebooks under `notebooks/`) in book order."""
    specs = []
    for entry in toc_files(root):
        path = Path(entry)
        if path.parts[0] != CHAPTER_FOLDER:
            continue
        notebook = root / path.with_suffix(".ipynb")
        if not notebook.is_file():
            raise FileNotFoundError(f"_toc.yml names {entry}, but {notebook} does not exist")
        specs.append(ChapterSpec(name=path.name, notebook=notebook))
    return specs
