"""A run folder that cannot lie: every artifact hashed, and checked before it is reused.

A chapter's manifest lists every file the chapter wrote, with its size and SHA-256 (`inventory`,
taken right after the chapter ends; its logs and the manifest itself excepted). Before the runner
skips a chapter as unchanged, before a chapter starts on an earlier chapter's artifacts, when a
notebook opens one (`Chapter.input`) and before a book is built from the run, the files are checked
against that list (`check`): the size first, then the hash. A record per run folder of each file's
(size, mtime, ctime, inode) and hash spares re-hashing files nobody has touched since (`HashCache`);
ctime and the inode change with any write or copy, so a file put back with its old mtime is still
hashed again.
"""

from __future__ import annotations

import hashlib
import json
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from flarelib.compendium.progress import PROGRESS_FILE
from flarelib.sources.files import TIMING_FILE, is_partial, sha256_of, write_text, written_fault

MANIFEST = "manifest.json"
CHAPTER_LOG = "chapter.log"  # what the chapter printed, as it ran
LIBRARY_LOG = "library.log"  # libraries' warnings (flarelib.compendium.chapter)
KERNEL_LOG = "kernel.log"  # the kernel process's own stderr (flarelib.compendium.runner)
NOT_ARTIFACTS = {MANIFEST, CHAPTER_LOG, PROGRESS_FILE, LIBRARY_LOG, KERNEL_LOG}
HASH_CACHE = ".artifact-hashes.json"  # in the run folder: path -> (size, mtime, ctime, inode, sha256)


def read_manifest(run_dir: Path, name: str) -> dict[str, Any] | None:
    """A chapter's manifest; None when it has none or it cannot be read (a damaged manifest is no
    evidence that the chapter finished)."""
    path = run_dir / name / MANIFEST
    try:
        return json.loads(path.read_text())
    except (OSError, ValueError):
        return None


class DamagedArtifact(RuntimeError):
    """An artifact of the run folder that is missing or differs from what its chapter wrote."""


@dataclass(frozen=True)
class Fault:
    """What is wrong with one artifact (`path` relative to the run folder; None: the whole chapter)."""

    chapter: str
    path: str | None
    problem: str

    def __str__(self) -> str:
        return f"{self.path}: {self.problem}" if self.path else f"{self.chapter}: {self.problem}"


class HashCache:
    """SHA-256 of the run's files, re-computed only for a file whose stat has changed. With
    `persist=False` it reads the run's record but never writes it (`flarelib verify` leaves the folder
    it checks as it found it, and works on a read-only one)."""

    def __init__(self, run_dir: Path, persist: bool = True):
        self.run_dir = Path(run_dir)
        self.persist = persist
        self.file = self.run_dir / HASH_CACHE
        try:
            self.known: dict[str, list] = json.loads(self.file.read_text())
        except (OSError, ValueError):
            self.known = {}
        self.changed = False

    def sha256(self, path: Path, stat: os.stat_result | None = None) -> str:
        stat = stat or path.stat()
        key = str(path.resolve().relative_to(self.run_dir.resolve()))
        seen = [stat.st_size, stat.st_mtime_ns, stat.st_ctime_ns, stat.st_ino]
        cached = self.known.get(key)
        if cached and cached[:4] == seen:
            return cached[4]
        digest = sha256_of(path)
        self.known[key] = [*seen, digest]
        self.changed = True
        return digest

    def save(self) -> None:
        if self.persist and self.changed and self.run_dir.is_dir():
            write_text(self.file, json.dumps(self.known) + "\n")
            self.changed = False


def artifact_files(folder: Path) -> list[Path]:
    """Every file a chapter wrote in its folder: not its logs, its manifest, an unfinished write or a
    timing (`TIMING_FILE`, at any depth: seconds differ from run to run, results must not)."""
    return sorted(p for p in folder.rglob("*") if p.is_file() and not is_partial(p) and p.name != TIMING_FILE
                  and not (p.parent == folder and p.name in NOT_ARTIFACTS))


def inventory(folder: Path, cache: HashCache) -> dict[str, dict[str, Any]]:
    """Path (relative to the chapter's folder) -> size and SHA-256 of each artifact."""
    listed = {}
    for path in artifact_files(folder):
        stat = path.stat()
        listed[path.relative_to(folder).as_posix()] = {"size": stat.st_size, "sha256": cache.sha256(path, stat)}
    return listed


def _check_file(run_dir: Path, chapter: str, relative: str, expected: dict[str, Any], cache: HashCache) -> Fault | None:
    """One listed artifact against its size and hash; None when it is sound."""
    path = Path(run_dir) / chapter / relative
    shown = f"{chapter}/{relative}"
    fault = written_fault(path, expected["size"], expected["sha256"], cache.sha256)
    if fault is None:
        return None
    kind, size = fault
    if kind == "missing":
        return Fault(chapter, shown, "missing")
    if kind == "size":
        return Fault(chapter, shown, f"{size:,} bytes where the chapter wrote {expected['size']:,} (truncated or overwritten)")
    return Fault(chapter, shown, "its content differs from what the chapter wrote (same size, another SHA-256: "
                                 "changed in place or swapped in from elsewhere)")


def check(run_dir: Path, chapter: str, manifest: dict[str, Any] | None, cache: HashCache,
          under: str | None = None) -> list[Fault]:
    """The faults of a finished chapter's artifacts (all of them, or those at or below `under`).

    Parameters
    ----------
    run_dir : the run folder.
    chapter : the chapter whose artifacts are checked.
    manifest : its manifest (`read_manifest`).
    cache : the run's hashes of files not touched since they were hashed.
    under : a file or folder of the chapter's, relative to its folder: check only that.
    """
    if not manifest or manifest.get("status") != "ok":
        return [Fault(chapter, None, "has not finished in this run folder")]
    listed = manifest.get("artifacts")
    if listed is None:
        return [Fault(chapter, None, "its manifest lists no artifacts (written before artifacts were hashed)")]
    chosen = {k: v for k, v in listed.items() if under is None or k == under or k.startswith(under.rstrip("/") + "/")}
    faults = [fault for relative, expected in chosen.items() if (fault := _check_file(run_dir, chapter, relative, expected, cache))]
    cache.save()
    return faults


def checked_input(run_dir: Path, chapter: str, relative: str, reader: str) -> Path:
    """An earlier chapter's artifact (a file or a folder) checked against that chapter's manifest;
    DamagedArtifact names each faulty file, the chapter that makes it and the command that re-makes
    it. A folder without a manifest (made by hand) is not checked."""
    run_dir = Path(run_dir)
    source, wanted = run_dir / chapter / relative, Path(relative).as_posix()
    manifest = read_manifest(run_dir, chapter)
    if not manifest or manifest.get("status") != "ok":
        return source
    faults = check(run_dir, chapter, manifest, HashCache(run_dir), under=wanted)
    if source.is_file() and "artifacts" in manifest and wanted not in manifest["artifacts"]:
        faults.append(Fault(chapter, f"{chapter}/{wanted}", "not among the files the chapter wrote"))
    if faults:
        raise DamagedArtifact(f"{reader} cannot use {source}:\n{describe_faults(faults, run_dir)}")
    return source


def artifacts_digest(manifest: dict[str, Any]) -> str:
    """One hash of a chapter's data artifacts (not its executed notebook, which holds timings): a
    later chapter's key includes it, so a producer re-made with other bytes re-runs what read them."""
    notebook = f"{manifest.get('chapter')}.ipynb"
    return _digest({k: v for k, v in (manifest.get("artifacts") or {}).items() if k != notebook})


def full_digest(manifest: dict[str, Any]) -> str:
    """One hash of everything a chapter wrote, its executed notebook (the book's page) included."""
    return _digest(manifest.get("artifacts") or {})


def _digest(listed: dict[str, dict[str, Any]]) -> str:
    return hashlib.sha256(json.dumps(sorted((k, v["sha256"]) for k, v in listed.items())).encode()).hexdigest()


def run_command(run_dir: Path, *options: str) -> str:
    """`flarelib run` on a run folder with the run's own parameters (its `params.yaml`), never the
    default set's: every hint the compendium prints is this, so following one re-makes the same run."""
    return " ".join(["flarelib run --params", str(Path(run_dir) / "params.yaml"), "--run-dir", str(run_dir), *options])


def remake_command(run_dir: Path, chapter: str) -> str:
    """The command that re-makes one chapter of a run folder from its own parameters."""
    return run_command(run_dir, "--only", chapter, "--force")


def describe_faults(faults: list[Fault], run_dir: Path) -> str:
    """Faults as the lines of an error: each file and what is wrong, the chapter that makes it and the
    command that re-makes it."""
    lines = []
    for chapter in dict.fromkeys(f.chapter for f in faults):
        mine = [f for f in faults if f.chapter == chapter]
        lines += [f"  {fault}" for fault in mine]
        lines.append(f"  made by chapter {chapter}; re-make it with: {remake_command(run_dir, chapter)}")
    return "\n".join(lines)
