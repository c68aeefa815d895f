"""What a chapter's result depends on: its key, and which chapters it reads.

A chapter's key is a content hash of its notebook, the parameter values it declares, the helper
library's source and, for each chapter it needs (notebook metadata `flarelib.needs`, by default every
earlier chapter), that chapter's key and the hash of its artifacts (`upstream_id`). The runner skips a
chapter whose key is unchanged and whose artifacts are sound; `flarelib verify` calls a chapter stale
when its key is no longer the one these would give.
"""

from __future__ import annotations

import hashlib
import json
from pathlib import Path
from typing import Any

import nbformat
import papermill

from flarelib.compendium.integrity import artifacts_digest
from flarelib.compendium.toc import ChapterSpec

NOT_PARAMETERS = {"run_dir"}  # injected by the runner, never part of a chapter's key


class RunError(RuntimeError):
    """The run cannot go on; the message says which chapter and why."""


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


def upstream_id(manifest: dict[str, Any]) -> str:
    """What a later chapter's key holds of a chapter it needs: its key and its artifacts' hash."""
    return f"{manifest['key']}:{artifacts_digest(manifest)}"


def needed_by(specs: list[ChapterSpec], selected: list[str]) -> set[str]:
    """Every chapter the selected ones read from, directly or through another (not themselves)."""
    names = [spec.name for spec in specs]
    wanted, needed = set(selected), set()
    for index in reversed(range(len(specs))):
        if names[index] in wanted or names[index] in needed:
            needed |= set(needs(specs[index], names[:index]))
    return needed


SOURCE_PROVIDES = {"synthetic": {"magnetograms"}, "jsoc": {"magnetograms"}, "archive": set()}


def missing_inputs(spec: ChapterSpec, source: str) -> list[str]:
    """What a chapter requires (notebook metadata `flarelib.requires`) that the run's source lacks."""
    return [r for r in chapter_metadata(spec).get("requires", []) if r not in SOURCE_PROVIDES.get(source, set())]


def injected_parameters(spec: ChapterSpec, plain: dict[str, Any], run_dir: Path) -> dict[str, Any]:
    """The values of the parameters the chapter declares, plus the run folder."""
    declared = declared_parameters(spec.notebook)
    unknown = [p for p in declared if p not in plain and p not in NOT_PARAMETERS]
    if unknown:
        raise RunError(f"chapter {spec.name} declares parameters that no parameter set has: {unknown}")
    injected = {p: plain[p] for p in declared if p in plain}
    injected["run_dir"] = str(run_dir)
    return injected
