"""One static site with two books: the study on the real Sun (`archive`) and the teaching world (`demo`).

Each book is the Jupyter Book of one run folder (`flarelib.compendium.book`), built into
`_build/site/<set>/`; every chapter page opens with a link to its twin in the other book, and an
archive chapter that needs magnetograms points to its teaching-world twin. `_build/site/index.html`
says what each book is, which data it runs on and its headline numbers, read from the runs'
`record.json` files. Without the archive's data the site holds the demo book and says how to add the
other.
"""

from __future__ import annotations

import html
import shutil
from dataclasses import dataclass
from functools import partial
from pathlib import Path
from typing import Callable

from flarelib.compendium.book import build_book
from flarelib.compendium.chapter import MissingArtifact, read_record


@dataclass(frozen=True)
class Book:
    name: str  # the parameter set, and the book's folder in the site
    title: str
    about: str
    twin_label: str  # how the other book links here: "this chapter on ..."


BOOKS = {
    "archive": Book("archive", "The study on the real Sun",
                    "The study authors' published SHARP/SMARP window tables and the NOAA flare catalogues: the LSTM, "
                    "the statistics and the operational chapter on real keywords. The CNN and attribution chapters "
                    "need magnetograms, which these tables do not have: their pages point to the teaching world.",
                    "this chapter on the real Sun"),
    "demo": Book("demo", "The teaching world",
                 "The embedded, seeded synthetic world: every chapter, magnetograms included, in minutes on a laptop. "
                 "Its numbers teach the method; they are not findings about the Sun.",
                 "this chapter on the teaching world"),
}
# The teaching book's words when it is built from `params/teach.yaml` (the publishing workflow's choice)
TEACH_ABOUT = ("The embedded, seeded synthetic world at the study's scale (about 1,100 HARPs and 2,000 TARPs, the study's "
               "10 experiments): every chapter, magnetograms included, so that its statistics can show what the study's "
               "methods find. Its numbers teach the method; they are not findings about the Sun.")
ADD_ARCHIVE = ("The book on the real Sun is not in this site: its data files are missing. With a network, "
               "<code>flarelib data fetch windows goes</code> (about 30 MB), or point <code>FLARELIB_DATA_DIR</code> at a "
               "copy, then <code>make site</code> again.")


def twin_cell(chapter: str, this: str, other: str | None, skipped: bool) -> str | None:
    """The markdown (raw HTML link) that opens a chapter page with its twin in the other book."""
    if other is None:
        return None
    href = f"../../{other}/notebooks/{chapter}.html"
    if skipped:
        return (f'<div class="admonition note"><p>This chapter needs magnetograms, which the {this} source lacks: '
                f'read it <a href="{href}">{BOOKS[other].twin_label}</a>.</p></div>')
    return f'<p class="flarelib-twin">Also: <a href="{href}">{BOOKS[other].twin_label}</a>.</p>'


def headline(run_dir: Path) -> list[str]:
    """A few numbers a reader sees on the landing page: event rates, and the LSTM's test TSS per dataset."""
    lines = []
    sampling = _numbers(run_dir, "03_sampling")
    if sampling.get("event_rate"):
        rates = ", ".join(f"{series} {rate:.3f}" for series, rate in sampling["event_rate"].items())
        lines.append(f"Event rate of the kept windows: {rates} (the study: SHARP 0.041, SMARP 0.034).")
    significance = _numbers(run_dir, "07_significance")
    tss = significance.get("table6", {}).get("TSS LSTM", {})
    if tss:
        means = ", ".join(f"{key.removesuffix(' mean')} {_number(value)} &plusmn; {_number(tss.get(key.replace('mean', 'std')))}"
                          for key, value in tss.items() if key.endswith(" mean"))
        lines.append(f"LSTM test TSS over {significance.get('experiments', '?')} experiments: {means}.")
    return lines


def _number(value) -> str:
    return "n/a" if value is None else f"{value:.3f}"


def _numbers(run_dir: Path, chapter: str) -> dict:
    try:
        return read_record(run_dir, chapter).get("numbers", {})
    except MissingArtifact:
        return {}


def landing_page(books: dict[str, Path], missing_note: str | None = None) -> str:
    """The site's index.html: one section per book, with its data source and headline numbers."""
    sections = []
    for name, run_dir in books.items():
        book = BOOKS[name]
        teach = name == "demo" and Path(run_dir).name == "teach"
        about, set_name = (TEACH_ABOUT, "teach") if teach else (book.about, name)
        numbers = "".join(f"<li>{line}</li>" for line in headline(run_dir))
        sections.append(f'<section><h2><a href="{name}/index.html">{html.escape(book.title)}</a></h2>'
                        f"<p>{html.escape(about)}</p><p>Data source: <code>{set_name}</code> parameter set "
                        f"(<code>params/{set_name}.yaml</code>).</p><ul>{numbers}</ul></section>")
    if missing_note:
        sections.append(f'<section class="missing"><p>{missing_note}</p></section>')
    return f"""<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
<title>Flare compendium</title>
<style>body{{font-family:system-ui,sans-serif;max-width:52rem;margin:2rem auto;padding:0 1rem;line-height:1.5}}
section{{border-top:1px solid #ccc;padding-top:.5rem}} code{{background:#f3f3f3;padding:0 .2rem}}</style></head>
<body><h1>Flare compendium: CNN and LSTM on two solar cycles</h1>
<p>An executable reproduction of Sun, Bobra et al. (ApJ 2022), in two books built from the same chapters: one on
the real Sun, one on a teaching world. Every chapter page links to its twin in the other book.</p>
{''.join(sections)}
</body></html>
"""


def build_site(books: dict[str, Path], out: Path, *, root: Path | None = None, repository_url: str | None = None,
               missing_note: str | None = None, log: Callable[[str], None] = print) -> Path:
    """Build each run folder's book into `out/<name>/` with twin links, and the landing page.

    Parameters
    ----------
    books : parameter-set name ("archive", "demo") to its finished run folder.
    out : the site folder (`_build/site`).
    root : the project root.
    repository_url : the project's public repository, for the launch buttons (Binder) and the source link.
    missing_note : said on the landing page when a book is missing, and how to add it.
    log : where progress lines go.
    """
    if out.exists():
        shutil.rmtree(out)
    out.mkdir(parents=True)
    names = list(books)
    for name, run_dir in books.items():
        other = next((n for n in names if n != name), None)
        log(f"Building the {name} book ...")
        scratch = out / f".{name}-build"
        note = partial(twin_cell, this=name, other=other)
        index = build_book(run_dir, root=root, output=scratch, twin=note, repository_url=repository_url)
        shutil.move(str(index.parent), str(out / name))
        shutil.rmtree(scratch)
    (out / "index.html").write_text(landing_page(books, missing_note))
    return out / "index.html"


def archive_data_present() -> bool:
    """Whether the archive book's files (window tables and catalogues) are in the data folder."""
    from flarelib.sources import registry

    table = registry.status(registry.data_dir(), verify=False)
    return bool(table[table.group.isin(["windows", "goes"])].present.all())


def make_site(root: Path, sets: list[str], *, repository_url: str | None = None, run: bool = True, teaching: str = "demo",
              log: Callable[[str], None] = print) -> Path:
    """`flarelib site`: run each parameter set's chapters (what is unchanged is skipped) into
    `runs/<set>/`, then build the site in `_build/site/`. The archive set is left out, and the landing
    page says how to add it, when its data files are missing.

    Parameters
    ----------
    root : the project root.
    sets : parameter sets, of "archive" and "demo".
    repository_url : the public repository, for the launch buttons.
    run : run the chapters first (False: build from the run folders as they are).
    log : where progress lines go.
    teaching : the parameter set of the teaching world's book ("demo", 3 experiments, or "teach", the
        study's 10, which the publishing workflow builds); its run folder is `runs/<teaching>/`.
    """
    from flarelib.compendium.params import load_params
    from flarelib.compendium.runner import run_chapters

    books, note = {}, None
    for name in sets:
        if name not in BOOKS:
            raise ValueError(f"the site has the books {list(BOOKS)}, not {name!r}")
        if name == "archive" and not archive_data_present():
            note = ADD_ARCHIVE
            log("The archive's data files are missing: the site holds the demo book only.")
            continue
        params_name = teaching if name == "demo" else name
        run_dir = root / "runs" / params_name
        if run:
            params, path = load_params(params_name)
            log(f"Running the chapters of {path.name} into {run_dir}")
            run_chapters(params, path, run_dir, root=root, log=log)
        books[name] = run_dir
    return build_site(books, root / "_build" / "site", root=root, repository_url=repository_url, missing_note=note, log=log)
