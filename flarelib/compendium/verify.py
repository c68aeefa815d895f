"""`flarelib verify`: is a run folder, and a book built from it, what its chapters wrote?

Each chapter of a run is one of: sound (finished, every artifact as its manifest lists it, and its key
the one its notebook, parameters, library and inputs give now), damaged (which files, and what is
wrong with each), missing (never finished in this folder: never ran, failed or was killed) or stale
(sound files, but its notebook, its parameters, the library or a chapter it reads changed since it
ran). A built book records the state of the run it was built from (`BOOK_RECORD`, written by
`flarelib.compendium.book.build_book`); a book whose run has changed since is out of date.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path

import yaml

from flarelib.compendium.integrity import HashCache, check, describe_faults, full_digest, read_manifest, run_command
from flarelib.compendium.keys import RunError, chapter_key, injected_parameters, library_digest, needs, upstream_id
from flarelib.compendium.paths import project_root
from flarelib.compendium.toc import chapters

BOOK_RECORD = "flarelib-run.json"  # in a built book's HTML folder: the run and each chapter's state


@dataclass
class ChapterState:
    name: str
    state: str  # "sound" | "damaged" | "missing" | "stale"
    details: list[str] = field(default_factory=list)


def verify_run(run_dir: Path, root: Path | None = None) -> list[ChapterState]:
    """The state of every chapter of `_toc.yml` in the run folder."""
    root = root or project_root()
    run_dir = Path(run_dir)
    params_file = run_dir / "params.yaml"
    plain = yaml.safe_load(params_file.read_text()) if params_file.is_file() else None
    library, cache, ids, states = library_digest(), HashCache(run_dir, persist=False), {}, []  # writes nothing here
    specs = chapters(root)
    for index, spec in enumerate(specs):
        manifest = read_manifest(run_dir, spec.name)
        if not manifest or manifest.get("status") != "ok":
            states.append(ChapterState(spec.name, "missing", [_why_missing(manifest, run_dir, spec.name)]))
            continue
        ids[spec.name] = upstream_id(manifest)
        faults = check(run_dir, spec.name, manifest, cache)
        if faults and all(fault.path is None for fault in faults):  # nothing to check its files against
            states.append(ChapterState(spec.name, "stale", [fault.problem for fault in faults]))
            continue
        if faults:
            states.append(ChapterState(spec.name, "damaged", describe_faults(faults, run_dir).splitlines()))
            continue
        states.append(_staleness(spec, [s.name for s in specs[:index]], manifest, plain, ids, run_dir, library))
    return states


def _why_missing(manifest: dict | None, run_dir: Path, name: str) -> str:
    if not manifest and (run_dir / name / "record.json").is_file():
        return (f"it ran here as a notebook, outside flarelib run, so no manifest vouches for its files: "
                f"{run_command(run_dir, '--only', name)} makes it a chapter of the run")
    if not manifest:
        return "it has not run in this folder"
    if manifest.get("status") == "failed":
        return f"its last attempt failed: {manifest.get('error', 'no error recorded')}"
    return f"its last attempt (started {manifest.get('started')}) was killed before it finished"


def _staleness(spec, earlier: list[str], manifest: dict, plain: dict | None, ids: dict[str, str], run_dir: Path,
               library: str) -> ChapterState:
    """A chapter with sound files: sound when its key is what the runner would compute now."""
    if plain is None:
        return ChapterState(spec.name, "stale", ["the run folder has no params.yaml to check its key against"])
    try:
        upstream = {name: ids[name] for name in needs(spec, earlier)}
        key = chapter_key(spec.notebook, injected_parameters(spec, plain, run_dir), upstream, library)
    except KeyError as error:
        return ChapterState(spec.name, "stale", [f"it reads chapter {error.args[0]}, which has not finished here"])
    except RunError as error:
        return ChapterState(spec.name, "stale", [str(error)])
    if key != manifest.get("key"):
        return ChapterState(spec.name, "stale", ["its notebook, parameters, the library or a chapter it reads changed "
                                                 f"since it ran: re-run it ({run_command(run_dir)})"])
    return ChapterState(spec.name, "sound", [f"{len(manifest.get('artifacts', {}))} files"])


def book_record(run_dir: Path, root: Path | None = None) -> dict:
    """What a book built now from the run shows: the run folder and each chapter's full digest."""
    run_dir = Path(run_dir)
    return {"run_dir": str(run_dir.resolve()),
            "chapters": {spec.name: full_digest(read_manifest(run_dir, spec.name) or {}) for spec in chapters(root or project_root())}}


def verify_book(book: Path, run_dir: Path, root: Path | None = None) -> list[str]:
    """How a built book differs from its run as it is now (empty: it shows the run as it is)."""
    record_file = Path(book) / BOOK_RECORD
    if not record_file.is_file():
        return [f"{record_file} is missing: the book was not built by flarelib build, or is damaged"]
    built = json.loads(record_file.read_text())
    now = book_record(run_dir, root)
    if Path(built["run_dir"]) != Path(now["run_dir"]):
        return [f"the book was built from {built['run_dir']}, not from {now['run_dir']}"]
    return [f"chapter {name}: the book shows another state of it than the run folder holds now (rebuild: "
            f"flarelib build --params {Path(run_dir) / 'params.yaml'} --run-dir {run_dir})" for name, digest in now["chapters"].items()
            if built["chapters"].get(name) != digest]


def report(states: list[ChapterState], book_faults: list[str] | None = None) -> tuple[str, bool]:
    """The lines `flarelib verify` prints, and whether everything is sound."""
    lines = []
    for state in states:
        lines.append(f"  {state.name:<18} {state.state:<8} {state.details[0] if state.details else ''}")
        lines += [f"  {'':<18} {'':<8} {detail}" for detail in state.details[1:]]
    counts = {s: sum(x.state == s for x in states) for s in ("sound", "damaged", "missing", "stale")}
    lines.append(", ".join(f"{n} {s}" for s, n in counts.items()) + f" of {len(states)} chapters")
    if book_faults is not None:
        lines += [f"book: {fault}" for fault in book_faults] or ["book: built from the run as it is now"]
    return "\n".join(lines), counts["sound"] == len(states) and not book_faults
