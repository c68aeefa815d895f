"""Execute the chapters with papermill into a run folder, skipping what has not changed.

A chapter's key is a content hash of its notebook, the parameter values it declares, the helper
library's source and the keys of the chapters it needs (notebook metadata `flarelib.needs`, by
default every earlier chapter). A chapter whose key matches the manifest of its last successful run
is skipped, so changing one parameter re-runs exactly the chapters that read it and those after
them that depend on their artifacts.
"""

from __future__ import annotations

import hashlib
import json
import shutil
import sys
import time
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path
from typing import Any, Callable

import nbformat
import papermill
import yaml
from papermill.exceptions import PapermillExecutionError

from flarelib.compendium.params import Params, to_plain
from flarelib.compendium.lock import FolderInUse, RunLock
from flarelib.compendium.progress import PROGRESS_FILE, follow
from flarelib.compendium.paths import project_root
from flarelib.compendium.toc import ChapterSpec, chapters

KERNEL_NAME = "flare-compendium"
MANIFEST = "manifest.json"
CHAPTER_LOG = "chapter.log"  # what the chapter printed, as it ran
NOT_PARAMETERS = {"run_dir"}  # injected by the runner, never part of a chapter's key

Log = Callable[[str], None]


class RunError(RuntimeError):
    """The run cannot go on; the message says which chapter and why."""


@dataclass(frozen=True)
class ChapterResult:
    name: str
    status: str  # "ran" | "skipped"
    seconds: float
    key: str


KERNEL_ARGUMENTS = ["--IPKernelApp.log_level=ERROR"]  # chapters' own output is kept; kernel chatter is not


def ensure_kernel() -> str:
    """Register a Jupyter kernel for this interpreter in its own prefix, so papermill runs the
    chapters in the environment that holds flarelib whatever other `python3` kernels exist."""
    import tempfile

    from ipykernel.kernelspec import write_kernel_spec
    from jupyter_client.kernelspec import KernelSpecManager, NoSuchKernel

    manager = KernelSpecManager()
    try:
        spec = manager.get_kernel_spec(KERNEL_NAME)
        if Path(spec.argv[0]).resolve() == Path(sys.executable).resolve() and spec.argv[-1:] == KERNEL_ARGUMENTS:
            return KERNEL_NAME
    except NoSuchKernel:
        pass
    with tempfile.TemporaryDirectory() as folder:
        write_kernel_spec(
            Path(folder) / KERNEL_NAME,
            overrides={"display_name": "Python (flare-compendium)"},
            extra_arguments=KERNEL_ARGUMENTS,
        )
        manager.install_kernel_spec(str(Path(folder) / KERNEL_NAME), KERNEL_NAME, prefix=sys.prefix)
    return KERNEL_NAME


def library_digest() -> str:
    """Hash of flarelib's source: a change to the helpers invalidates every chapter's results."""
    digest = hashlib.sha256()
    package = Path(__file__).resolve().parents[1]  # flarelib/, all of it
    for path in sorted(package.rglob("*.py")):
        digest.update(path.relative_to(package).as_posix().encode())
        digest.update(path.read_bytes())
    return digest.hexdigest()


def declared_parameters(notebook: Path) -> list[str]:
    """Names assigned in the notebook's cell tagged `parameters`."""
    return list(papermill.inspect_notebook(str(notebook)).keys())


def chapter_metadata(spec: ChapterSpec) -> dict[str, Any]:
    """The chapter's `flarelib` notebook metadata (`needs`, `requires`)."""
    return nbformat.read(spec.notebook, as_version=4).metadata.get("flarelib", {})


def needs(spec: ChapterSpec, earlier: list[str]) -> list[str]:
    """The chapters whose artifacts this one reads (metadata `flarelib.needs`; default: all earlier)."""
    wanted = chapter_metadata(spec).get("needs")
    if wanted is None:
        return list(earlier)
    unknown = [name for name in wanted if name not in earlier]
    if unknown:
        raise RunError(f"chapter {spec.name} needs {unknown}, which do not come before it in _toc.yml")
    return list(wanted)


def chapter_key(notebook: Path, injected: dict[str, Any], upstream: dict[str, str], library: str) -> str:
    payload = {
        "notebook": hashlib.sha256(notebook.read_bytes()).hexdigest(),
        "parameters": {k: v for k, v in injected.items() if k not in NOT_PARAMETERS},
        "upstream": upstream,
        "library": library,
    }
    return hashlib.sha256(json.dumps(payload, sort_keys=True, default=str).encode()).hexdigest()


def read_manifest(run_dir: Path, name: str) -> dict[str, Any] | None:
    path = run_dir / name / MANIFEST
    return json.loads(path.read_text()) if path.exists() else None


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
    """The resolved parameters of the run, for the reader and for re-running it."""
    run_dir.mkdir(parents=True, exist_ok=True)
    header = f"# Resolved from {params_file.name} at {datetime.now(timezone.utc).isoformat(timespec='seconds')}\n"
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
    """
    root = root or project_root()
    specs = chapters(root)
    selected = select(specs, only, start)
    try:
        with RunLock(run_dir, log):
            return _run_selected(specs, selected, params, params_file, run_dir, force, root, log)
    except FolderInUse as error:
        raise RunError(str(error)) from None


def _run_selected(specs: list[ChapterSpec], selected: list[str], params: Params, params_file: Path, run_dir: Path,
                  force: bool, root: Path, log: Log) -> list[ChapterResult]:
    """The body of `run_chapters`, holding the run folder's lock."""
    write_run_files(run_dir, params, params_file)
    plain = to_plain(params)
    library = library_digest()
    kernel = ensure_kernel()
    keys: dict[str, str] = {}
    results: list[ChapterResult] = []
    for index, spec in enumerate(specs):
        if spec.name not in selected:
            manifest = read_manifest(run_dir, spec.name)
            if manifest and manifest.get("status") == "ok":
                keys[spec.name] = manifest["key"]
            continue
        earlier = [s.name for s in specs[:index]]
        upstream = {name: _upstream_key(name, keys, run_dir, spec.name) for name in needs(spec, earlier)}
        injected = _injected(spec, plain, run_dir)
        key = keys[spec.name] = chapter_key(spec.notebook, injected, upstream, library)
        counter = f"[{selected.index(spec.name) + 1}/{len(selected)}] {spec.name}"
        manifest = read_manifest(run_dir, spec.name)
        if not force and manifest and manifest.get("status") == "ok" and manifest.get("key") == key:
            log(f"{counter}: unchanged, skipped (use --force to re-run)")
            results.append(ChapterResult(spec.name, "skipped", 0.0, key))
            continue
        missing = missing_inputs(spec, str(plain.get("source", "synthetic")))
        if missing:
            seconds = _write_skipped(spec, injected, key, run_dir, missing, str(plain.get("source", "synthetic")))
            log(f"{counter}: skipped, the {plain.get('source')} source has no {', '.join(missing)}")
            results.append(ChapterResult(spec.name, "not applicable", seconds, key))
            continue
        log(f"{counter}: running ...")
        seconds = _execute(spec, injected, key, run_dir, root, kernel, log)
        log(f"{counter}: done in {seconds:.1f} s")
        results.append(ChapterResult(spec.name, "ran", seconds, key))
    return results


SOURCE_PROVIDES = {"synthetic": {"magnetograms"}, "jsoc": {"magnetograms"}, "archive": set()}


def missing_inputs(spec: ChapterSpec, source: str) -> list[str]:
    """What a chapter requires (notebook metadata `flarelib.requires`) that the run's source lacks."""
    return [r for r in chapter_metadata(spec).get("requires", []) if r not in SOURCE_PROVIDES.get(source, set())]


def _write_skipped(spec: ChapterSpec, injected: dict[str, Any], key: str, run_dir: Path, missing: list[str],
                   source: str) -> float:
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
    nbformat.write(page, folder / f"{spec.name}.ipynb")
    (folder / "record.json").write_text(json.dumps({"chapter": spec.name, "source": source, "skipped": reason,
                                                    "numbers": {}}, indent=2) + "\n")
    manifest = {"chapter": spec.name, "key": key, "parameters": injected, "status": "ok", "skipped": reason,
                "started": datetime.now(timezone.utc).isoformat(timespec="seconds")}
    return _write_manifest(folder, manifest, time.perf_counter())


def _injected(spec: ChapterSpec, plain: dict[str, Any], run_dir: Path) -> dict[str, Any]:
    """The values of the parameters the chapter declares, plus the run folder."""
    declared = declared_parameters(spec.notebook)
    unknown = [p for p in declared if p not in plain and p not in NOT_PARAMETERS]
    if unknown:
        raise RunError(f"chapter {spec.name} declares parameters that no parameter set has: {unknown}")
    injected = {p: plain[p] for p in declared if p in plain}
    injected["run_dir"] = str(run_dir)
    return injected


def _upstream_key(name: str, keys: dict[str, str], run_dir: Path, requester: str) -> str:
    if name in keys:
        return keys[name]
    raise RunError(
        f"chapter {requester} needs the artifacts of {name}, which has not run successfully in "
        f"{run_dir}: run it first (flarelib run --from {name})"
    )


def _execute(spec: ChapterSpec, injected: dict[str, Any], key: str, run_dir: Path, root: Path, kernel: str,
             log: Log = print) -> float:
    """Run one chapter with papermill: its printed lines go to `chapter.log` in its folder, and the
    lines it reports to `progress.log` (`flarelib.compendium.progress`) to `log` as they come."""
    folder = run_dir / spec.name
    if folder.exists():
        shutil.rmtree(folder)  # no stale artifacts from an earlier run of this chapter
    folder.mkdir(parents=True)
    executed = folder / f"{spec.name}.ipynb"
    manifest: dict[str, Any] = {
        "chapter": spec.name,
        "key": key,
        "parameters": injected,
        "started": datetime.now(timezone.utc).isoformat(timespec="seconds"),
    }
    began = time.perf_counter()
    try:
        with open(folder / CHAPTER_LOG, "w", encoding="utf-8") as output, follow(folder / PROGRESS_FILE, log):
            papermill.execute_notebook(
                str(spec.notebook),
                str(executed),
                parameters=injected,
                kernel_name=kernel,
                cwd=str(root),
                progress_bar=False,
                stdout_file=output,
                stderr_file=output,
            )
    except PapermillExecutionError as error:
        manifest.update(status="failed", error=f"{error.ename}: {error.evalue}", cell_index=error.cell_index)
        _write_manifest(folder, manifest, began)
        raise RunError(_failure_message(spec.name, error, executed, run_dir)) from None
    except Exception as error:  # the kernel died or could not start: still name the chapter
        manifest.update(status="failed", error=f"{type(error).__name__}: {error}")
        _write_manifest(folder, manifest, began)
        raise RunError(f"chapter {spec.name} could not be executed: {type(error).__name__}: {error}") from error
    manifest["status"] = "ok"
    return _write_manifest(folder, manifest, began)


def _write_manifest(folder: Path, manifest: dict[str, Any], began: float) -> float:
    seconds = time.perf_counter() - began
    manifest["seconds"] = round(seconds, 2)
    (folder / MANIFEST).write_text(json.dumps(manifest, indent=2, default=str) + "\n")
    return seconds
