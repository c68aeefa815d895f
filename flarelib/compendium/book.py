"""Build the HTML book with Jupyter Book 1 from the executed notebooks of a run.

The book's sources (`_config.yml`, `_toc.yml`, `book/`) are staged in `<run>/_book/` with the run's
executed notebooks in place of the committed, output-free ones, so Jupyter Book never executes
anything (`execute_notebooks: 'off'`). MathJax 3 is copied from npm's package and served with the
pages from `_static/`, so formulas render without a network.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Callable

import nbformat
import yaml

from flarelib.compendium.beside import with_findings, with_table7_beside
from flarelib.compendium.paths import project_root
from flarelib.compendium.integrity import HashCache, check, describe_faults, read_manifest, run_command
from flarelib.compendium.keys import RunError
from flarelib.compendium.toc import chapters
from flarelib.compendium.verify import BOOK_RECORD, book_record
from flarelib.sources.files import write_text

TwinNote = Callable[..., "str | None"]  # twin(chapter, skipped=...) -> the markdown that opens its page

MATHJAX_PARTS = ("tex-chtml.js", "input", "output/chtml", "ui", "a11y")
BOOK_SOURCES = ("_config.yml", "_toc.yml", "book")
# The pages' own static files (our CSS, MathJax), served from the book's _static/. Not staged in a
# `_static` folder: Jupyter Book 1 would add every .js file under it to every page as a script, and
# MathJax's components loaded all at once break it (the browser test saw it). `_config.yml` names this
# folder in html_static_path and the CSS in html_css_files.
ASSETS = "_assets"


def mathjax_dir(root: Path) -> Path:
    """The MathJax 3 distribution installed by `npm install` (package.json)."""
    es5 = root / "node_modules" / "mathjax" / "es5"
    if not (es5 / "tex-chtml.js").is_file():
        raise RunError(
            f"MathJax is not installed at {es5}: run `npm install` in {root} (the Makefile does), "
            "so that the book renders mathematics offline"
        )
    return es5


def stage(run_dir: Path, root: Path, twin: TwinNote | None = None,
          repository_url: str | None = None, allow_stale: bool = False) -> Path:
    """Copy the book's sources and the run's executed chapters into `<run>/_book/`; in a site, each
    chapter opens with the note `twin` writes for it (a link to its twin in the other book), and the
    launch buttons point to `repository_url` (default: `repository.url` of `_config.yml`). A stale
    chapter is refused unless `allow_stale`, and its page then opens with a warning that says so.

    Parameters
    ----------
    run_dir : the run whose executed chapters make the book.
    root : the project's root (the book's sources).
    twin : writes the note that opens each chapter's page in a site (None: no note).
    repository_url : the launch buttons' repository.
    allow_stale : build even with stale chapters, saying so on their pages.
    """
    _refuse_damaged(run_dir, root)
    stale = stale_chapters(run_dir, root)
    if stale and not allow_stale:
        raise RunError(f"the run in {run_dir} has stale chapters, made before their notebook, parameters, the library "
                       f"or a chapter they read changed: {', '.join(stale)}; make them current with: "
                       f"{run_command(run_dir)} (or build anyway with --allow-stale: their pages then say so)")
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
        target = staging / spec.notebook.relative_to(root)
        target.parent.mkdir(parents=True, exist_ok=True)
        page = with_table7_beside(for_the_page(nbformat.read(executed, as_version=4), run_dir, root), spec.name, run_dir)
        if twin is not None:
            note = twin(spec.name, skipped=bool(manifest.get("skipped")))
            if note:
                page.cells.insert(1, nbformat.v4.new_markdown_cell(note))
        if spec.name in stale:
            page.cells.insert(1, nbformat.v4.new_markdown_cell(stale_note(spec.name, run_dir, root)))
        nbformat.write(page, target)
    with_launch_buttons(staging / "_config.yml", repository_url)
    with_world_beside_sun(staging / "book" / "synthetic-world.md", run_dir)
    with_findings(staging / "book" / "findings.md", run_dir)
    with_primer_figures(staging / "book" / "sun-primer.md", run_dir)
    assets = staging / ASSETS
    assets.mkdir()
    shutil.copy2(root / "book" / "flarelib.css", assets / "flarelib.css")
    mathjax = mathjax_dir(root)
    for part in MATHJAX_PARTS:
        source, target = mathjax / part, assets / "mathjax" / part
        if source.is_dir():
            shutil.copytree(source, target)
        else:
            target.parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(source, target)
    return staging


def _refuse_damaged(run_dir: Path, root: Path) -> None:
    """No book from a run with an unfinished chapter or an artifact that is not as its chapter wrote it."""
    cache, faults = HashCache(run_dir), []
    for spec in chapters(root):
        manifest = read_manifest(run_dir, spec.name)
        executed = run_dir / spec.name / f"{spec.name}.ipynb"
        if not manifest or manifest.get("status") != "ok" or not executed.exists():
            raise RunError(
                f"chapter {spec.name} has not run successfully in {run_dir}, so the book cannot show it: "
                f"run it first ({run_command(run_dir)})"
            )
        faults += check(run_dir, spec.name, manifest, cache)
    if faults:
        raise RunError(f"the book is not built from a damaged run folder:\n{describe_faults(faults, run_dir)}")


def stale_chapters(run_dir: Path, root: Path) -> list[str]:
    """The chapters of a run that `flarelib verify` calls stale."""
    from flarelib.compendium.verify import verify_run

    return [state.name for state in verify_run(run_dir, root) if state.state == "stale"]


def stale_note(chapter: str, run_dir: Path, root: Path) -> str:
    """The warning that opens a stale chapter's page in a book built with `--allow-stale`."""
    shown = os.path.relpath(run_dir, root) if Path(run_dir).resolve().is_relative_to(Path(root).resolve()) else run_dir.name
    return (f"```{{warning}}\nThis page is stale: chapter {chapter} ran before its notebook, its parameters, the "
            f"library or a chapter it reads changed, so its numbers may not be what the run gives now. "
            f"`{run_command(Path(shown))}` makes it current.\n```")


WORLD_FIGURES = ("world_beside_sun", "world_positives_per_region")


PRIMER_FIGURES = {  # chapter 01's figures shown on the primer page, with what they show
    "harp1449_x54": "Real SHARP line-of-sight magnetograms of HARP 1449 (NOAA 11429) around its X5.4 flare of "
                    "2012-03-07: strong opposite polarities pressed together along an inversion line.",
    "sequence_pair": "One region of this run seen by both instruments at the same time, MDI beside HMI.",
}


def with_primer_figures(page: Path, run_dir: Path) -> None:
    """End the staged primer "The Sun for data scientists" with chapter 01's magnetograms of this run
    (`PRIMER_FIGURES`, those the run made), each with its caption and the run's source."""
    figures = [name for name in PRIMER_FIGURES if (run_dir / "01_data" / "figures" / f"{name}.png").is_file()]
    if not figures:
        return
    record = run_dir / "01_data" / "record.json"
    source = json.loads(record.read_text()).get("source") if record.is_file() else None
    (page.parent / "figures").mkdir(exist_ok=True)
    text = ["", "## Magnetograms of this run", "",
            f"From chapter 01 of the run behind this book (source: `{source}`)."]
    for name in figures:
        shutil.copy2(run_dir / "01_data" / "figures" / f"{name}.png", page.parent / "figures" / f"{name}.png")
        text += ["", f"```{{figure}} figures/{name}.png", f":name: primer-{name.replace('_', '-')}", "",
                 PRIMER_FIGURES[name], "```"]
    with page.open("a") as out:
        out.write("\n".join(text) + "\n")


def with_world_beside_sun(page: Path, run_dir: Path) -> None:
    """End the staged page "The synthetic world" with this run's world beside the real tables:
    chapter 03's calibration figures and tables when the run's source is the synthetic world and the
    tables were there, else a sentence saying where to see them."""
    import pandas as pd

    sampling = run_dir / "03_sampling"
    record = json.loads((sampling / "record.json").read_text()) if (sampling / "record.json").exists() else {}
    source = record.get("source")
    text = ["", "## This run's world beside the real Sun", ""]
    if source != "synthetic":
        text.append(f"This book ran on the `{source}` source, so it has no synthetic world to compare: the demo book shows it.")
    elif not (record.get("numbers") or {}).get("world_vs_sun"):
        text.append("The study authors' window tables were not in the data folder when this run's chapter 03 ran "
                    "(`flarelib data fetch windows`, then `flarelib run --only 03_sampling`), so there is nothing to compare with.")
    else:
        figures = page.parent / "figures"
        figures.mkdir(exist_ok=True)
        for name in WORLD_FIGURES:
            shutil.copy2(sampling / "figures" / f"{name}.png", figures / f"{name}.png")
        distances = pd.read_csv(sampling / "world_keyword_distances.csv")
        regions = pd.read_csv(sampling / "world_regions.csv")
        misses = record["numbers"]["world_vs_sun"]["misses"]
        text += [
            "Chapter 03 of this run compared the world's kept windows with the study authors' tables "
            "(`flarelib.world.calibration`). Each keyword per instrument, over windows (their last record), with the "
            "Kolmogorov-Smirnov distance (the target: at most 0.15):", "",
            f"```{{figure}} figures/{WORLD_FIGURES[0]}.png", ":name: world-beside-sun", "",
            "The synthetic world (orange) and the real tables (grey), per instrument and keyword.", "```", "",
            distances.round(3).to_markdown(index=False), "",
            "Event rates, regions that ever have a positive window, and the largest regions' shares of the positives "
            "(targets: within 15% of the study's rates, about 10%, at most 5%):", "",
            regions.round(3).to_markdown(index=False), "",
            f"```{{figure}} figures/{WORLD_FIGURES[1]}.png", ":name: world-positives-per-region", "",
            "How many positive windows each region that flares gives, in the world and in the real tables.", "```", "",
            "Targets missed: " + ("; ".join(misses) if misses else "none") + ".",
        ]
    with page.open("a") as out:
        out.write("\n".join(text) + "\n")


def for_the_page(nb, run_dir: Path, root: Path):
    """An executed chapter as the book shows it: the parameters once, as the run used them (the cell
    of defaults is removed; the run's values stay), with the run folder relative to the project."""
    shown = os.path.relpath(run_dir, root) if Path(run_dir).resolve().is_relative_to(Path(root).resolve()) else run_dir.name
    for cell in nb.cells:
        tags = cell.metadata.get("tags", [])
        if "parameters" in tags:
            cell.metadata["tags"] = tags + ["remove-cell"]
        if "injected-parameters" in tags:
            cell.source = re.sub(r'^run_dir = .*$', f"run_dir = {json.dumps(str(shown))}", cell.source, flags=re.M)
            cell.source = "\n".join(wrapped_assignment(line) for line in cell.source.split("\n"))
    return nb


def wrapped_assignment(line: str, width: int = 88) -> str:
    """A `name = [...]` line of injected parameters longer than `width`, one item a line (as ruff would
    format it), so the page's code fits its column; other lines as they are."""
    import ast

    name, sep, value = line.partition(" = ")
    if len(line) <= width or not sep or not value.startswith(("[", "(")):
        return line
    try:
        items = ast.literal_eval(value)
    except (ValueError, SyntaxError):
        return line
    opening, closing = ("[", "]") if value.startswith("[") else ("(", ")")
    return f"{name} = {opening}\n" + "".join(f"    {item!r},\n" for item in items) + closing


def repository(root: Path | None = None) -> dict[str, str]:
    """The project's public repository: `repository.url` and `repository.branch` of `_config.yml`, the one
    setting the book's launch buttons (Binder, Colab), its source link, `flarelib build` and `flarelib site`
    read; `FLARELIB_REPOSITORY_URL` overrides the address (the publishing workflow sets it to the
    repository it runs in)."""
    settings = yaml.safe_load(((root or project_root()) / "_config.yml").read_text())
    found = settings.get("repository") or {}
    url = os.environ.get("FLARELIB_REPOSITORY_URL") or found.get("url")
    if not url:
        raise RunError("_config.yml names no repository.url: the launch buttons need the project's public repository")
    return {"url": url, "branch": found.get("branch", "main")}


def with_launch_buttons(config: Path, repository_url: str | None = None) -> None:
    """Launch buttons (Binder builds the environment from `environment.yml` and runs `postBuild`; Colab
    opens the notebook, whose first cell installs the compendium) and a link to the source, for the
    repository of `_config.yml` or `repository_url`."""
    settings = yaml.safe_load(config.read_text())
    found = repository(config.parent)
    url = repository_url or found["url"]
    settings["repository"] = {"url": url, "branch": found["branch"]}
    settings["html"]["use_repository_button"] = True
    # sphinx-thebe writes its settings into every page even with Thebe off, naming its own example
    # repository unless told: the same repository, so nothing on a page points elsewhere
    sphinx = settings.setdefault("sphinx", {}).setdefault("config", {})
    sphinx["thebe_config"] = {"repository_url": url, "repository_branch": found["branch"]}
    config.write_text(yaml.safe_dump(settings, sort_keys=False))


def build_book(run_dir: Path, root: Path | None = None, output: Path | None = None, strict: bool = True,
               twin: TwinNote | None = None, repository_url: str | None = None, allow_stale: bool = False) -> Path:
    """Build `<output>/_build/html` from the run's executed notebooks; return its index.html.

    Parameters
    ----------
    run_dir : a finished run folder.
    root : the project root.
    output : where `_build/html` goes (default: the project root).
    strict : Sphinx warnings are errors.
    twin : in a site, the note that opens each chapter page, from the chapter's name and whether it
        was skipped (`flarelib.compendium.site` links it to its twin; the site builds on the book,
        never the other way).
    repository_url : the project's public repository, for the launch buttons (default: `_config.yml`'s).
    allow_stale : build from stale chapters too (their pages say so) instead of refusing.
    """
    root = root or project_root()
    output = output or root
    staging = stage(run_dir, root, twin, repository_url, allow_stale)
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
    write_text(index.parent / BOOK_RECORD, json.dumps(book_record(run_dir, root), indent=2) + "\n")
    return index
