"""Build the HTML book with Jupyter Book 1 from the executed notebooks of a run.

The book's sources (`_config.yml`, `_toc.yml`, `book/`) are staged in `<run>/_book/` with the run's
executed notebooks in place of the committed, output-free ones, so Jupyter Book never executes
anything (`execute_notebooks: 'off'`). MathJax 3 is copied from npm's package into `_static/` and
served with the pages, so formulas render without a network.
"""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

from flarelib.compendium.paths import project_root
from flarelib.compendium.runner import RunError, read_manifest
from flarelib.compendium.toc import chapters

MATHJAX_PARTS = ("tex-chtml.js", "input", "output/chtml", "ui", "a11y")
BOOK_SOURCES = ("_config.yml", "_toc.yml", "book")


def mathjax_dir(root: Path) -> Path:
    """The MathJax 3 distribution installed by `npm install` (package.json)."""
    es5 = root / "node_modules" / "mathjax" / "es5"
    if not (es5 / "tex-chtml.js").is_file():
        raise RunError(
            f"MathJax is not installed at {es5}: run `npm install` in {root} (the Makefile does), "
            "so that the book renders mathematics offline"
        )
    return es5


def stage(run_dir: Path, root: Path) -> Path:
    """Copy the book's sources and the run's executed chapters into `<run>/_book/`."""
    staging = run_dir / "_book"
    if staging.exists():
        shutil.rmtree(staging)
    staging.mkdir(parents=True)
    for name in BOOK_SOURCES:
        source = root / name
        if source.is_dir():
            shutil.copytree(source, staging / name)
        else:
            shutil.copy2(source, staging / name)
    for spec in chapters(root):
        manifest = read_manifest(run_dir, spec.name)
        executed = run_dir / spec.name / f"{spec.name}.ipynb"
        if not manifest or manifest.get("status") != "ok" or not executed.exists():
            raise RunError(
                f"chapter {spec.name} has not run successfully in {run_dir}, so the book cannot show it: "
                f"run `flarelib run` first"
            )
        target = staging / spec.notebook.relative_to(root)
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(executed, target)
    mathjax = mathjax_dir(root)
    for part in MATHJAX_PARTS:
        source, target = mathjax / part, staging / "_static" / "mathjax" / part
        if source.is_dir():
            shutil.copytree(source, target)
        else:
            target.parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(source, target)
    return staging


def build_book(run_dir: Path, root: Path | None = None, output: Path | None = None, strict: bool = True) -> Path:
    """Build `<output>/_build/html` from the run's executed notebooks; return its index.html."""
    root = root or project_root()
    output = output or root
    staging = stage(run_dir, root)
    command = [
        sys.executable,
        "-c",
        "import sys; from jupyter_book.cli.main import main; sys.exit(main())",
        "build",
        str(staging),
        "--path-output",
        str(output),
        "--builder",
        "html",
        "--keep-going",
    ]
    if strict:
        command.append("--warningiserror")
    completed = subprocess.run(command, cwd=root, text=True, capture_output=True)
    log = run_dir / "book-build.log"
    log.write_text(completed.stdout + completed.stderr)
    if completed.returncode != 0:
        tail = "\n".join((completed.stdout + completed.stderr).strip().splitlines()[-25:])
        raise RunError(f"the book did not build (full log: {log}):\n{tail}")
    index = output / "_build" / "html" / "index.html"
    if not index.exists():
        raise RunError(f"the book build finished but {index} is missing (log: {log})")
    return index
