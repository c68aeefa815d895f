"""Where the project lives, so notebooks, tests and the runner agree on relative paths."""

from __future__ import annotations

import os
from pathlib import Path


def _looks_like_root(path: Path) -> bool:
    return (path / "_toc.yml").is_file() and (path / "params").is_dir()


def project_root() -> Path:
    """FLARE_ROOT if set, else the nearest folder above the working directory holding `_toc.yml`
    and `params/`, else the checkout this package was installed from (editable install)."""
    if env := os.environ.get("FLARE_ROOT"):
        return Path(env).resolve()
    here = Path.cwd().resolve()
    for folder in (here, *here.parents):
        if _looks_like_root(folder):
            return folder
    package_parent = Path(__file__).resolve().parents[2]
    if _looks_like_root(package_parent):
        return package_parent
    raise FileNotFoundError(
        "cannot find the compendium's root (a folder with _toc.yml and params/): "
        "run from inside the checkout or set FLARE_ROOT"
    )


def resolve(path: str | Path) -> Path:
    """A path from a parameter: absolute as given, relative to the project root otherwise."""
    path = Path(path).expanduser()
    return path if path.is_absolute() else project_root() / path
