"""The public files the project reads, each with its public address and SHA-256, fetched on demand
into one data folder with pooch and verified before any reader sees them.

The data folder is `FLARELIB_DATA_DIR` (default: the user cache folder pooch proposes). A file
already there with the right hash is used without a network. `FLARELIB_DATA_URL` replaces every
public address by one base address (a mirror: a lab's server, or a folder served over HTTP) under
which each file sits at its relative path. Downloads resume where they stopped (an HTTP Range
request on a partial file kept under `.partial/`) and a partial download never counts as present.
A copy whose hash is wrong is moved aside (`<name>.bad-<hash>`), named with both hashes, and fetched
again; with no network the error is immediate and names the file, its address and the two ways out.
"""

from __future__ import annotations

import hashlib
import os
import shutil
from pathlib import Path
from typing import Iterable
from urllib.parse import quote, urlsplit

import pandas as pd

from flarelib.sources.registry_sources import DATA_GROUPS, group_of

REGISTRY_CSV = Path(__file__).with_name("registry.csv")
ENV_DIR, ENV_URL = "FLARELIB_DATA_DIR", "FLARELIB_DATA_URL"


class DataMissing(FileNotFoundError):
    """A registered file that is not in the data folder and cannot be fetched. Its message names the
    folder (for the terminal); `note` says the same without this machine's paths (for a book's page)."""

    def __init__(self, message: str, note: str = ""):
        super().__init__(message)
        self.note = note or message


class DataCorrupt(ValueError):
    """A file whose SHA-256 is not the registered one."""


def data_dir(folder: str | Path | None = None) -> Path:
    """The data folder: `folder` when a parameter names one (relative to the project), else
    `FLARELIB_DATA_DIR`, else the user cache folder pooch proposes for flarelib."""
    import pooch

    if folder is not None:
        from flarelib.compendium.paths import resolve

        return resolve(folder)
    return Path(os.environ.get(ENV_DIR) or pooch.os_cache("flarelib")).expanduser().resolve()


def entries() -> pd.DataFrame:
    """The registry: name (relative path), sha256, size (bytes), url (public address), group."""
    table = pd.read_csv(REGISTRY_CSV, dtype={"name": str, "sha256": str, "url": str, "size": "int64"})
    base = os.environ.get(ENV_URL)
    if base:
        table["url"] = [f"{base.rstrip('/')}/{quote(name)}" for name in table.name]
    return table.assign(group=table.name.map(group_of))


def sha256(path: Path) -> str:
    import pooch

    return pooch.file_hash(str(path), alg="sha256")


class ResumingDownloader:
    """A pooch downloader that resumes: it fetches into a partial file named after the address
    (`.partial/` in the data folder), which survives an interrupted run, and hands pooch the
    complete file; pooch then checks its hash before moving it into place."""

    def __init__(self, folder: Path, progress: bool = True):
        self.folder, self.progress = folder, progress

    def __call__(self, url: str, output_file: str, pooch_object=None) -> None:
        from flarelib.sources.download import fetch

        stable = self.folder / ".partial" / hashlib.sha1(url.encode()).hexdigest()[:16]
        fetch(url, stable, attempts=3, timeout=60.0)
        shutil.move(stable, output_file)


def _pooch(folder: Path, table: pd.DataFrame):
    import pooch

    pooch.get_logger().setLevel("WARNING")  # flarelib reports what it fetched itself
    return pooch.create(path=folder, base_url="", registry=dict(zip(table.name, "sha256:" + table.sha256)),
                        urls=dict(zip(table.name, table.url)), retry_if_failed=0)


def _reachable(url: str, timeout: float = 5.0) -> str | None:
    """None if the address's host answers, else why not (at once when nothing listens)."""
    from flarelib.sources.network import ServiceUnreachable, require_service

    parts = urlsplit(url)
    try:
        require_service(f"{parts.scheme}://{parts.netloc}", "the data mirror", timeout=timeout)
    except ServiceUnreachable as error:
        return str(error).split(" To run offline")[0].rstrip(".")
    return None


def _missing(name: str, url: str, folder: Path, reason: str) -> DataMissing:
    remedy = (f"Either run `flarelib data fetch {group_of(name)}` on a machine with a network (FLARELIB_DATA_URL "
              f"names a mirror), or set FLARELIB_DATA_DIR to a folder that holds a copy (such as the project's "
              f"../shared/data).")
    return DataMissing(
        f"{name} is not in the data folder {folder} and cannot be fetched from {url} ({reason}). {remedy}",
        note=f"{name} is not in the data folder of the machine that built this page and could not be fetched "
             f"from {url}. {remedy}",
    )


def _set_aside(path: Path, expected: str, actual: str) -> Path:
    aside = path.with_name(f"{path.name}.bad-{actual[:12]}")
    shutil.move(path, aside)
    return aside


def path(name: str, folder: Path | None = None, fetch: bool = True, progress: bool = False) -> Path:
    """The verified local copy of a registered file, fetched if it is missing (and `fetch`).

    A copy with the wrong hash is moved aside and fetched again; DataCorrupt names both hashes
    when it cannot be replaced, DataMissing says which file, from where, and the two ways out."""
    folder = folder or data_dir()
    table = entries().set_index("name")
    if name not in table.index:
        raise KeyError(f"{name} is not a registered data file (see `flarelib data list`)")
    entry = table.loc[name]
    local = folder / name
    problem = ""
    if local.exists():
        actual = sha256(local)
        if actual == entry.sha256:
            return local
        aside = _set_aside(local, entry.sha256, actual)
        problem = (f"{local} has SHA-256 {actual}, not the registered {entry.sha256}: "
                   f"moved aside to {aside.name}")
        if not fetch:
            raise DataCorrupt(problem)
    if not fetch:
        raise _missing(name, entry.url, folder, "fetching is off")
    unreachable = _reachable(entry.url)
    if unreachable:
        if problem:
            raise DataCorrupt(f"{problem}; and it cannot be fetched again from {entry.url} ({unreachable})")
        raise _missing(name, entry.url, folder, unreachable)
    try:
        fetched = _pooch(folder, table.loc[[name]].reset_index()).fetch(
            name, downloader=ResumingDownloader(folder, progress), progressbar=False)
    except ValueError as error:  # pooch: the downloaded file's hash is not the registered one
        raise DataCorrupt(f"{name} from {entry.url}: {error}") from None
    except OSError as error:
        raise _missing(name, entry.url, folder, f"{type(error).__name__}: {error}") from None
    return Path(fetched)


def names(groups: Iterable[str] = ()) -> list[str]:
    """Registered names, of the given groups (all when none are given)."""
    groups = list(groups)
    unknown = [g for g in groups if g not in DATA_GROUPS]
    if unknown:
        raise KeyError(f"unknown data group(s) {unknown}; the groups are {list(DATA_GROUPS)}")
    table = entries()
    return table[table.group.isin(groups)].name.tolist() if groups else table.name.tolist()


def ensure(prefix_or_group: str, folder: Path | None = None, fetch: bool = True) -> Path:
    """Every registered file of a group (`flarelib data list` names them) or under a folder prefix,
    present and verified (fetched where missing); returns the data folder's sub-folder they share,
    for readers that take a folder."""
    folder = folder or data_dir()
    table = entries()
    if prefix_or_group in DATA_GROUPS:
        wanted = table[table.group == prefix_or_group].name.tolist()
    else:
        wanted = [n for n in table.name if n.startswith(prefix_or_group.rstrip("/") + "/")]
    if not wanted:
        raise KeyError(f"no registered file in {prefix_or_group}")
    for name in wanted:
        path(name, folder, fetch=fetch)
    return folder / os.path.commonpath(wanted) if len(wanted) > 1 else (folder / wanted[0]).parent


def status(folder: Path | None = None, verify: bool = True) -> pd.DataFrame:
    """Every registered file: group, name, size, whether present, and whether its hash is right."""
    folder = folder or data_dir()
    table = entries()
    present = [(folder / n).is_file() for n in table.name]
    verified = [p and (not verify or sha256(folder / n) == h) for n, h, p in zip(table.name, table.sha256, present)]
    return table.assign(present=present, verified=verified)[["group", "name", "size", "present", "verified", "url"]]


def write_registry(copy: Path, output: Path | None = None) -> pd.DataFrame:
    """Hash a verified copy of the data folder into the registry CSV, `output` (by default the
    package's own `registry.csv`), for maintainers adding a file: put it in the copy, give it an
    address in `registry_sources.public_address`, call this."""
    from flarelib.sources.registry_sources import public_address

    copy, output = Path(copy), Path(output) if output is not None else REGISTRY_CSV
    found = sorted(str(p.relative_to(copy)) for p in copy.rglob("*") if p.is_file() and p.name != "README.md")
    table = pd.DataFrame([{"name": n, "sha256": sha256(copy / n), "size": (copy / n).stat().st_size,
                           "url": public_address(n)} for n in found])
    table.to_csv(output, index=False)
    return table
