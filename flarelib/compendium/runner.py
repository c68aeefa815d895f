"""Execute the chapters with papermill into a run folder, skipping what has not changed.

A chapter's key is a content hash of its notebook, the parameter values it declares, the helper
library's source and, for each chapter it needs (notebook metadata `flarelib.needs`, by default every
earlier chapter), that chapter's key and the hash of its artifacts. A chapter whose key matches the
manifest of its last successful run, and whose artifacts are all as it wrote them
(`flarelib.compendium.integrity`), is skipped, so changing one parameter re-runs exactly the chapters
that read it and those after them that depend on their artifacts. A damaged or missing artifact
makes its chapter run again (or, with `no_remake`, stops the run naming the file, its chapter and the
command that re-makes it); a chapter killed mid-run keeps its folder for the next attempt with the
same key, so a sweep's finished cells are not trained again.
"""

from __future__ import annotations

import json
import shutil
import time
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path
from typing import Any, Callable

import nbformat
import papermill
import yaml
from papermill.exceptions import PapermillExecutionError

from flarelib.compendium.integrity import (
    CHAPTER_LOG,
    KERNEL_LOG,
    MANIFEST,
    Fault,
    HashCache,
    check,
    describe_faults,
    inventory,
    read_manifest,
    run_command,
)
from flarelib.compendium.keys import (
    RunError,
    chapter_key,
    injected_parameters,
    library_digest,
    missing_inputs,
    needed_by,
    needs,
    upstream_id,
)
from flarelib.compendium.lock import FolderInUse, RunLock
from flarelib.compendium.params import Params, to_plain
from flarelib.compendium.paths import project_root
from flarelib.compendium.progress import PROGRESS_FILE, follow
from flarelib.compendium.kernel import ensure_kernel, kernel_manager_logging_to, kernels_know_the_runner
from flarelib.compendium.toc import ChapterSpec, chapters
from flarelib.sources.files import atomic_path, is_partial, write_text


Log = Callable[[str], None]


@dataclass(frozen=True)
class ChapterResult:
    name: str
    status: str  # "ran" | "skipped"
    seconds: float
    key: str


def _first_line(source: str) -> str:
    lines = [line for line in source.strip().splitlines() if line.strip()]
    return lines[0][:100] if lines else "(empty cell)"


def _failure_message(name: str, error: PapermillExecutionError, executed: Path, run_dir: Path) -> str:
    return (
        f"chapter {name} failed in cell In [{error.exec_count}] (cell {error.cell_index + 1} of the executed "
        f"notebook), which begins: {_first_line(error.source)!r}\n"
        f"  {error.ename}: {error.evalue}\n"
        f"  the executed notebook with the full traceback: {executed}\n"
        f"  artifacts of the chapters before it are kept in {run_dir}"
    )


def select(specs: list[ChapterSpec], only: list[str] | None, start: str | None) -> list[str]:
    """Names of the chapters to consider: all, `--only` some, or `--from` one onwards."""
    names = [spec.name for spec in specs]

    def find(given: str) -> str:
        matches = [n for n in names if n == given or n.split("_", 1)[-1] == given or n.startswith(given)]
        if len(matches) != 1:
            raise RunError(f"no single chapter matches {given!r}; chapters are: {', '.join(names)}")
        return matches[0]

    if only and start:
        raise RunError("give either --only or --from, not both")
    if only:
        chosen = {find(g) for g in only}
        return [n for n in names if n in chosen]
    if start:
        return names[names.index(find(start)) :]
    return names


def write_run_files(run_dir: Path, params: Params, params_file: Path) -> None:
    """The resolved parameters of the run, for the reader and for re-running it (`--params
    RUN/params.yaml`, as every hint says: a run re-made from its own file keeps the name of the set
    it was first resolved from)."""
    run_dir.mkdir(parents=True, exist_ok=True)
    origin = params_file.name
    if origin == "params.yaml" and Path(params_file).is_file():
        first = Path(params_file).read_text().partition("\n")[0]
        if first.startswith("# Resolved from ") and " at " in first:
            origin = first.removeprefix("# Resolved from ").rpartition(" at ")[0]
    header = f"# Resolved from {origin} at {datetime.now(timezone.utc).isoformat(timespec='seconds')}\n"
    (run_dir / "params.yaml").write_text(header + yaml.safe_dump(to_plain(params), sort_keys=False))


def run_chapters(
    params: Params,
    params_file: Path,
    run_dir: Path,
    only: list[str] | None = None,
    start: str | None = None,
    force: bool = False,
    root: Path | None = None,
    log: Log = print,
    no_remake: bool = False,
) -> list[ChapterResult]:
    """Execute the selected chapters in `_toc.yml` order; raise RunError naming a failed chapter.

    Parameters
    ----------
    params, params_file : the resolved parameter set and the file it came from.
    run_dir : the run folder.
    only, start : run only these chapters, or this one and all after it.
    force : re-run chapters even when their key is unchanged.
    root : the project root (default: found from the working directory).
    log : where progress lines go.
    no_remake : a damaged or missing artifact stops the run (naming it) instead of re-making it.
    """
    root = root or project_root()
    specs = chapters(root)
    selected = select(specs, only, start)
    try:
        with RunLock(run_dir, log):
            return _run_selected(specs, selected, params, params_file, run_dir, force, root, log, no_remake)
    except FolderInUse as error:
        raise RunError(str(error)) from None


def _run_selected(specs: list[ChapterSpec], selected: list[str], params: Params, params_file: Path, run_dir: Path,
                  force: bool, root: Path, log: Log, no_remake: bool = False) -> list[ChapterResult]:
    """The body of `run_chapters`, holding the run folder's lock."""
    write_run_files(run_dir, params, params_file)
    plain = to_plain(params)
    library = library_digest()
    kernel = ensure_kernel()
    cache = HashCache(run_dir)
    ids: dict[str, str] = {}  # chapter -> its key and artifacts' hash, for the chapters after it
    results: list[ChapterResult] = []
    upstream_of_selected = needed_by(specs, selected)
    for index, spec in enumerate(specs):
        earlier = [s.name for s in specs[:index]]
        counter = f"[{selected.index(spec.name) + 1}/{len(selected)}] {spec.name}" if spec.name in selected else spec.name
        manifest = read_manifest(run_dir, spec.name)
        remake = False
        if spec.name not in selected:
            finished = bool(manifest) and manifest.get("status") == "ok"
            if not finished and spec.name not in upstream_of_selected:
                continue
            faults = check(run_dir, spec.name, manifest, cache) if spec.name in upstream_of_selected else []
            if finished and not faults:
                ids[spec.name] = upstream_id(manifest)
                continue
            counter = f"{spec.name} (needed by the chapters you chose)"
            if finished:
                _refuse_or_say(faults, run_dir, no_remake, log, counter)
            else:
                _make_missing(spec.name, run_dir, no_remake, log, counter)
            remake = True
        upstream = {name: _upstream_key(name, ids, run_dir, spec.name) for name in needs(spec, earlier)}
        injected = injected_parameters(spec, plain, run_dir)
        key = chapter_key(spec.notebook, injected, upstream, library)
        if not (force or remake) and manifest and manifest.get("status") == "ok" and manifest.get("key") == key:
            faults = check(run_dir, spec.name, manifest, cache)
            if not faults:
                log(f"{counter}: unchanged, skipped (use --force to re-run)")
                results.append(ChapterResult(spec.name, "skipped", 0.0, key))
                ids[spec.name] = upstream_id(manifest)
                continue
            _refuse_or_say(faults, run_dir, no_remake, log, counter)
        missing = missing_inputs(spec, str(plain.get("source", "synthetic")))
        if missing:
            seconds = _write_skipped(spec, injected, key, run_dir, missing, str(plain.get("source", "synthetic")), cache)
            log(f"{counter}: skipped, the {plain.get('source')} source has no {', '.join(missing)}")
            results.append(ChapterResult(spec.name, "not applicable", seconds, key))
        else:
            log(f"{counter}: running ...")
            seconds = _execute(spec, injected, key, run_dir, root, kernel, log, cache)
            log(f"{counter}: done in {seconds:.1f} s")
            results.append(ChapterResult(spec.name, "ran", seconds, key))
        ids[spec.name] = upstream_id(read_manifest(run_dir, spec.name))
    return results


def _refuse_or_say(faults: list[Fault], run_dir: Path, no_remake: bool, log: Log, counter: str) -> None:
    """A chapter's damaged artifacts: stop the run naming them (`no_remake`), or say why it runs again."""
    if no_remake:
        raise RunError(f"damaged or missing artifacts in {run_dir} (--no-remake: nothing was re-made):\n"
                       f"{describe_faults(faults, run_dir)}")
    lines = "\n".join(f"    {fault}" for fault in faults)
    log(f"{counter}: its artifacts are not as it wrote them, so it runs again:\n{lines}")


def _make_missing(name: str, run_dir: Path, no_remake: bool, log: Log, counter: str) -> None:
    """A chapter the chosen ones read that has not finished here: stop naming it (`no_remake`), or
    say that it runs first, so `--only` works on a fresh run folder."""
    if no_remake:
        raise RunError(f"the chapters you chose need {name}, which has not run successfully in {run_dir} "
                       f"(--no-remake: nothing was made): run it first ({run_command(run_dir, '--from', name)})")
    log(f"{counter}: it has not run in this folder, so it runs first")


def _write_skipped(spec: ChapterSpec, injected: dict[str, Any], key: str, run_dir: Path, missing: list[str],
                   source: str, cache: HashCache) -> float:
    """A chapter the source cannot feed becomes a page that says so: its title and introduction, a
    note, and a record with the reason; nothing is faked."""
    folder = run_dir / spec.name
    if folder.exists():
        shutil.rmtree(folder)
    folder.mkdir(parents=True)
    original = nbformat.read(spec.notebook, as_version=4)
    reason = f"the {source} source has no {', '.join(missing)}"
    note = nbformat.v4.new_markdown_cell(
        f"```{{note}}\nThis chapter was not run because {reason}. Run it with a source "
        f"that has them (`--params demo`, or `source: jsoc` with a network).\n```")
    page = nbformat.v4.new_notebook(cells=[original.cells[0], note], metadata=original.metadata)
    with atomic_path(folder / f"{spec.name}.ipynb") as path:
        nbformat.write(page, path)
    write_text(folder / "record.json", json.dumps({"chapter": spec.name, "source": source, "skipped": reason,
                                                   "numbers": {}}, indent=2) + "\n")
    manifest = {"chapter": spec.name, "key": key, "parameters": injected, "status": "ok", "skipped": reason,
                "started": datetime.now(timezone.utc).isoformat(timespec="seconds"), "artifacts": inventory(folder, cache)}
    cache.save()
    return _write_manifest(folder, manifest, time.perf_counter())


def _upstream_key(name: str, ids: dict[str, str], run_dir: Path, requester: str) -> str:
    if name in ids:
        return ids[name]
    raise RunError(
        f"chapter {requester} needs the artifacts of {name}, which has not run successfully in "
        f"{run_dir}: run it first ({run_command(run_dir, '--from', name)})"
    )


def _execute(spec: ChapterSpec, injected: dict[str, Any], key: str, run_dir: Path, root: Path, kernel: str,
             log: Log = print, cache: HashCache | None = None) -> float:
    """Run one chapter with papermill: its printed lines go to `chapter.log` in its folder, and the
    lines it reports to `progress.log` (`flarelib.compendium.progress`) to `log` as they come; when
    it ends, every file it wrote is listed in its manifest with its size and SHA-256."""
    folder = run_dir / spec.name
    _prepare(folder, key, log)
    executed = folder / f"{spec.name}.ipynb"
    manifest: dict[str, Any] = {
        "chapter": spec.name,
        "key": key,
        "parameters": injected,
        "started": datetime.now(timezone.utc).isoformat(timespec="seconds"),
        "status": "running",
    }
    _write_manifest(folder, manifest, time.perf_counter())  # a killed run leaves this: the next one resumes
    began = time.perf_counter()
    try:
        with (open(folder / CHAPTER_LOG, "w", encoding="utf-8") as output, follow(folder / PROGRESS_FILE, log),
              kernels_know_the_runner()):
            papermill.execute_notebook(
                str(spec.notebook),
                str(executed),
                parameters=injected,
                kernel_name=kernel,
                cwd=str(root),
                progress_bar=False,
                kernel_manager_class=kernel_manager_logging_to(folder / KERNEL_LOG),
                stdout_file=output,
                stderr_file=output,
            )
    except PapermillExecutionError as error:
        manifest.update(status="failed", error=f"{error.ename}: {error.evalue}", cell_index=error.cell_index)
        _write_manifest(folder, manifest, began)
        if error.ename == "KeyboardInterrupt":  # Ctrl-C reached the kernel first: the run was interrupted
            raise KeyboardInterrupt from None
        raise RunError(_failure_message(spec.name, error, executed, run_dir)) from None
    except Exception as error:  # the kernel died or could not start: still name the chapter
        manifest.update(status="failed", error=f"{type(error).__name__}: {error}")
        _write_manifest(folder, manifest, began)
        raise RunError(f"chapter {spec.name} could not be executed: {type(error).__name__}: {error}") from error
    cache = cache or HashCache(run_dir)
    manifest.update(status="ok", artifacts=inventory(folder, cache))
    cache.save()
    return _write_manifest(folder, manifest, began)


def _prepare(folder: Path, key: str, log: Log) -> None:
    """An empty folder for a chapter, but for one whose last attempt with the same key was killed or
    failed: that one is kept (without its unfinished writes), so the sweep's finished cells, each
    verified by its own `done.json`, are not trained again."""
    manifest = read_manifest(folder.parent, folder.name)
    if manifest and manifest.get("key") == key and manifest.get("status") in {"running", "failed"}:
        for partial in [p for p in folder.rglob("*") if is_partial(p)]:
            partial.unlink()
        log(f"{folder.name}: resuming the unfinished attempt of {manifest.get('started')} in its folder")
        return
    if folder.exists():
        shutil.rmtree(folder)  # no stale artifacts from an earlier run of this chapter
    folder.mkdir(parents=True)


def _write_manifest(folder: Path, manifest: dict[str, Any], began: float) -> float:
    seconds = time.perf_counter() - began
    manifest["seconds"] = round(seconds, 2)
    write_text(folder / MANIFEST, json.dumps(manifest, indent=2, default=str) + "\n")
    return seconds
