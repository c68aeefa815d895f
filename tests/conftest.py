"""Shared fixtures: the real project root, and a tiny throwaway project for runner tests."""

from __future__ import annotations

from pathlib import Path

import nbformat
import pytest
import yaml

ROOT = Path(__file__).resolve().parents[1]
SHARED_DATA = ROOT.parent / "shared" / "data"


@pytest.fixture
def root() -> Path:
    return ROOT


def make_notebook(path: Path, parameters: dict, body: str, needs: list[str] | None = None) -> None:
    """A chapter notebook: a tagged parameters cell, then `body` (which may use run_dir)."""
    nb = nbformat.v4.new_notebook()
    nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3", "language": "python"}
    if needs is not None:
        nb.metadata["flarelib"] = {"needs": needs}
    lines = ['run_dir = "runs/x"'] + [f"{k} = {v!r}" for k, v in parameters.items()]
    cell = nbformat.v4.new_code_cell("\n".join(lines))
    cell.metadata["tags"] = ["parameters"]
    nb.cells = [nbformat.v4.new_markdown_cell("# A chapter"), cell, nbformat.v4.new_code_cell(body)]
    nbformat.write(nb, path)


LOG_BODY = """
from pathlib import Path
run = Path(run_dir)
with open(run / "order.log", "a") as log:
    log.write("{name}\\n")
(run / "{name}").mkdir(exist_ok=True)
(run / "{name}" / "artifact.txt").write_text("made by {name}")
"""


class TinyProject:
    """Three chapters a, b, c in a throwaway root; c needs only a."""

    def __init__(self, folder: Path):
        self.root = folder
        (folder / "params").mkdir(parents=True)
        (folder / "notebooks").mkdir()
        (folder / "book").mkdir()
        (folder / "book" / "intro.md").write_text("# Tiny\n")
        toc = {"format": "jb-book", "root": "book/intro",
               "chapters": [{"file": "notebooks/01_a"}, {"file": "notebooks/02_b"}, {"file": "notebooks/03_c"}]}
        (folder / "_toc.yml").write_text(yaml.safe_dump(toc))
        (folder / "params" / "tiny.yaml").write_text("seed: 1\nimage_size: 32\n")
        self.write("01_a", {"seed": 0})
        self.write("02_b", {"image_size": 64})
        self.write("03_c", {"max_epochs": 20}, needs=["01_a"])

    def write(self, name: str, parameters: dict, needs: list[str] | None = None, extra: str = "") -> None:
        body = LOG_BODY.replace("{name}", name) + extra
        make_notebook(self.root / "notebooks" / f"{name}.ipynb", parameters, body, needs)

    @property
    def params_file(self) -> Path:
        return self.root / "params" / "tiny.yaml"


@pytest.fixture
def tiny(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> TinyProject:
    project = TinyProject(tmp_path / "project")
    monkeypatch.setenv("FLARE_ROOT", str(project.root))
    return project
