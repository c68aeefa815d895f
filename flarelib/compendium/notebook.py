"""A chapter opened as a notebook, outside `flarelib run`: JupyterLab, Binder, Colab, `jupyter execute`,
`papermill -p ...`.

The runner injects a chapter's parameters and its run folder. A notebook run by hand has only the
defaults of its `parameters` cell and whatever `papermill -p` (or an edited cell) changed, and nothing
guarantees that the chapters it reads exist or were made with the same parameters. `use_run`, the
first call of every chapter's setup cell, settles this in one place:

- the run folder: `run_dir` when it was given (`-p run_dir ...`, an edited cell), else
  `FLARELIB_RUN_DIR` (Binder's prepared run), else the cell's default (`runs/demo`);
- the parameters: the run's own `params.yaml` when the folder holds a run, else the set named like
  the folder (`runs/smoke` -> `params/smoke.yaml`), else `params/demo.yaml` (the cells' defaults),
  with every value the notebook was given that differs from its cell's default on top;
- a value given that differs from an existing run's is never written into that run: the chapter runs
  in a folder of its own beside it (`runs/demo-1a2b3c4d`), whose earlier chapters are copied from the
  run where their parameters are the same and made by the runner where they are not;
- the chapters it reads are made through the runner when they are missing or stale (a progress line
  each), not left to fail with a missing file;
- the notebook's parameter variables are set to the values used, and one line says which run and
  parameters they are.

Under `flarelib run` (`RUNNER_ENV` set for its kernels) it does nothing: the runner has done all this.
"""

from __future__ import annotations

import ast
import hashlib
import json
import os
import shutil
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, Callable, MutableMapping

from flarelib.compendium.kernel import RUNNER_ENV
from flarelib.compendium.paths import project_root, resolve

if TYPE_CHECKING:  # imported where used: `import flarelib` stays light (papermill, pydantic) for every kernel
    from flarelib.compendium.params import Params
    from flarelib.compendium.toc import ChapterSpec

RUN_DIR_ENV = "FLARELIB_RUN_DIR"  # the run folder of a notebook not given one (Binder's `start` sets it)
DEFAULT_SET = "demo"  # the chapters' parameters cells hold its values


@dataclass(frozen=True)
class Choice:
    """Where a chapter opened as a notebook runs and with what: the folder, the full parameter set,
    the file it came from and the sentence that says so."""

    run_dir: Path
    params: "Params"
    origin: Path
    note: str


def under_runner() -> bool:
    """Whether this process is a chapter's kernel started by `flarelib run`."""
    return os.environ.get(RUNNER_ENV) == "1"


def use_run(name: str, namespace: MutableMapping[str, Any], log: Callable[[str], None] = print) -> Path | None:
    """Settle a chapter's run folder and parameters when it runs as a notebook (see the module's
    docstring); set them in `namespace` (the notebook's `globals()`) and return the run folder.
    Under the runner it returns None and changes nothing.

    Parameters
    ----------
    name : the chapter, e.g. "04_lstm".
    namespace : the notebook's variables: its parameters are read from and written back to it.
    log : where the lines that say what happens go (the notebook's output).
    """
    if under_runner():
        return None
    from flarelib.compendium.params import to_plain

    root = project_root()
    spec = _spec(name, root)
    declared, defaults = _cell_defaults(spec)
    given = {key: namespace[key] for key in declared if key in namespace}
    choice = choose(spec, given, defaults, root)
    log(choice.note)
    make_upstream(spec, choice, root, log)
    plain = to_plain(choice.params)
    namespace.update({key: plain[key] for key in declared if key in plain})
    namespace["run_dir"] = str(choice.run_dir)
    return choice.run_dir


def choose(spec: "ChapterSpec", given: dict[str, Any], defaults: dict[str, Any], root: Path) -> Choice:
    """The run folder and parameters for a chapter given the notebook's values (`given`) and its
    cell's defaults (see the module's docstring)."""
    import yaml

    from flarelib.compendium.params import load_params, params_dir, to_plain, validate

    wanted_dir = given.get("run_dir", defaults.get("run_dir"))
    if wanted_dir == defaults.get("run_dir") and os.environ.get(RUN_DIR_ENV):
        wanted_dir = os.environ[RUN_DIR_ENV]
    run_dir = resolve(wanted_dir or f"runs/{DEFAULT_SET}")
    chosen = {k: v for k, v in given.items() if k != "run_dir" and k in defaults and v != defaults[k]}
    record = run_dir / "params.yaml"
    if record.is_file():
        base = validate(yaml.safe_load(record.read_text()) or {}, str(record))
        conflicts = {k: v for k, v in chosen.items() if to_plain(base).get(k) != v}
        if not conflicts:
            return Choice(run_dir, base, record, f"{spec.name}: the parameters of the run in {_shown(run_dir, root)} "
                          f"(its params.yaml); the chapter writes there")
        params = validate({**to_plain(base), **conflicts}, f"{record} with {_pairs(conflicts)}")
        own = run_dir.parent / f"{run_dir.name}-{digest(params)[:8]}"
        theirs = ", ".join(f"{k}={to_plain(base).get(k)!r}" for k in conflicts)
        return Choice(own, params, record, (
            f"{spec.name}: {_pairs(conflicts)} {'differs' if len(conflicts) == 1 else 'differ'} from the run in {_shown(run_dir, root)} ({theirs}), which is left "
            f"as it is: this notebook writes to {_shown(own, root)}, with that run's other parameters"))
    named = params_dir() / f"{run_dir.name}.yaml"
    origin = named if named.is_file() else params_dir() / f"{DEFAULT_SET}.yaml"
    base, _ = load_params(origin)
    params = validate({**to_plain(base), **chosen}, f"{origin} with {_pairs(chosen)}")
    extra = f" with {_pairs(chosen)}" if chosen else ""
    return Choice(run_dir, params, origin, f"{spec.name}: a new run in {_shown(run_dir, root)} with the parameters "
                                           f"of {origin.name}{extra}")


def make_upstream(spec: "ChapterSpec", choice: Choice, root: Path, log: Callable[[str], None] = print) -> None:
    """Make the chapters `spec` reads in the chosen run folder through the runner (skipped when sound
    and current); in a folder of its own, first copy those whose parameters match from its run."""
    from flarelib.compendium.keys import needed_by
    from flarelib.compendium.runner import run_chapters
    from flarelib.compendium.toc import chapters

    specs = chapters(root)
    wanted = [s.name for s in specs if s.name in needed_by(specs, [spec.name])]
    if not wanted:
        return
    if not (choice.run_dir / "params.yaml").is_file() and choice.origin.name == "params.yaml":
        _copy_matching(specs, wanted, choice.origin.parent, choice.run_dir, choice.params)
    log(f"{spec.name}: making sure the chapters it reads are made and current: {', '.join(wanted)}")
    run_chapters(choice.params, choice.origin, choice.run_dir, only=wanted, root=root, log=log)


def _copy_matching(specs: list["ChapterSpec"], wanted: list[str], source: Path, target: Path, params: "Params") -> None:
    """Copy each chapter of `wanted` from the run in `source` whose declared parameters have the same
    values in both runs and whose own inputs were copied: the runner then finds them current (a
    chapter's key holds no run folder) instead of computing them again."""
    import yaml

    from flarelib.compendium.keys import declared_parameters, needs
    from flarelib.compendium.params import to_plain

    theirs = yaml.safe_load((source / "params.yaml").read_text()) or {}
    ours = to_plain(params)
    copied: set[str] = set()
    for index, spec in enumerate(specs):
        if spec.name not in wanted or not (source / spec.name / "manifest.json").is_file():
            continue
        same = all(theirs.get(k) == ours.get(k) for k in declared_parameters(spec.notebook) if k != "run_dir")
        inputs = needs(spec, [s.name for s in specs[:index]])
        if same and all(n in copied for n in inputs) and not (target / spec.name).exists():
            shutil.copytree(source / spec.name, target / spec.name)
            copied.add(spec.name)


def digest(params: "Params") -> str:
    """A short, stable name for a parameter set (its values' SHA-256)."""
    from flarelib.compendium.params import to_plain

    return hashlib.sha256(json.dumps(to_plain(params), sort_keys=True, default=str).encode()).hexdigest()


def _spec(name: str, root: Path) -> "ChapterSpec":
    from flarelib.compendium.toc import chapters

    for spec in chapters(root):
        if spec.name == name:
            return spec
    raise ValueError(f"no chapter named {name!r} in {root / '_toc.yml'}")


def _cell_defaults(spec: "ChapterSpec") -> tuple[list[str], dict[str, Any]]:
    """The names the chapter's `parameters` cell assigns, and the values it assigns (those that are
    Python literals), as in the committed notebook."""
    import papermill

    from flarelib.compendium.keys import declared_parameters

    found = papermill.inspect_notebook(str(spec.notebook))
    defaults = {}
    for key, info in found.items():
        try:
            defaults[key] = ast.literal_eval(info["default"])
        except (ValueError, SyntaxError):
            continue
    return list(declared_parameters(spec.notebook)), defaults


def _pairs(values: dict[str, Any]) -> str:
    return ", ".join(f"{k}={v!r}" for k, v in values.items())


def _shown(path: Path, root: Path) -> str:
    """A run folder as the notebook shows it: relative to the project when inside it (no machine paths on a page)."""
    try:
        return str(Path(path).resolve().relative_to(root.resolve()))
    except ValueError:
        return str(path)
