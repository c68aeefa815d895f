"""Command line: `flarelib book|run|build|verify|site|params|estimate|data|cutout` (also `python -m flarelib`)."""

from __future__ import annotations

import argparse
import os
import sys
import time
from pathlib import Path

from flarelib.compendium.params import ParamsError, load_params, to_plain
from flarelib.compendium.paths import project_root, resolve
from flarelib.compendium.runner import RunError


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="flarelib", description=__doc__)
    commands = parser.add_subparsers(dest="command", required=True)
    run_options = argparse.ArgumentParser(add_help=False)
    run_options.add_argument("--params", default=None,
                             help="parameter set: a name in params/ or a YAML path (default: the params.yaml of "
                                  "--run-dir when it holds a run, else demo)")
    run_options.add_argument("-p", dest="overrides", action="append", default=[], metavar="KEY=VALUE",
                             help="override one parameter (repeatable); the value is read as YAML")
    run_options.add_argument("--run-dir", help="run folder (default: runs/<parameter set name>)")
    execute = argparse.ArgumentParser(add_help=False)
    execute.add_argument("--only", nargs="+", metavar="CHAPTER", help="run only these chapters")
    execute.add_argument("--from", dest="start", metavar="CHAPTER", help="run this chapter and all after it")
    execute.add_argument("--force", action="store_true", help="re-run chapters even if unchanged")
    execute.add_argument("--no-remake", action="store_true",
                         help="stop at a damaged or missing artifact (naming it) instead of re-making its chapter")
    build = argparse.ArgumentParser(add_help=False)
    build.add_argument("--no-strict", action="store_true", help="let Sphinx warnings pass")
    build.add_argument("--allow-stale", action="store_true",
                       help="build from stale chapters too (their pages say they are stale) instead of refusing")
    commands.add_parser("book", parents=[run_options, execute, build], help="run the chapters, then build the HTML book")
    commands.add_parser("run", parents=[run_options, execute], help="run the chapters into the run folder")
    commands.add_parser("build", parents=[run_options, build], help="build the HTML book from a finished run")
    verify = commands.add_parser("verify", parents=[run_options],
                                 help="check every chapter of a run folder (and a built book): sound, damaged, missing or stale")
    verify.add_argument("--book", metavar="HTML", help="a built book's HTML folder, checked against the run (e.g. _build/html)")
    commands.add_parser("params", parents=[run_options], help="print the resolved parameter set")
    commands.add_parser("estimate", parents=[run_options],
                        help="time a training step of each model here and estimate the sweep's cost")
    site = commands.add_parser("site", help="both books (archive and demo) and a landing page in _build/site/")
    site.add_argument("--sets", nargs="+", default=["archive", "demo"], metavar="SET", help="the books (default: archive demo)")
    site.add_argument("--repository-url", default=None,
                      help="the public repository, for the launch buttons (default: FLARELIB_REPOSITORY_URL, "
                           "else repository.url of _config.yml)")
    site.add_argument("--no-run", action="store_true", help="build from the run folders as they are")
    site.add_argument("--teaching", default="demo", metavar="SET",
                      help="the teaching world's parameter set (demo: 3 experiments; teach: the study's 10)")
    data = commands.add_parser("data", help="the public data files: list, fetch, verify (folder: FLARELIB_DATA_DIR)")
    actions = data.add_subparsers(dest="action", required=True)
    actions.add_parser("list", help="every registered file: group, size, present, verified")
    fetch = actions.add_parser("fetch", help="download what is missing (FLARELIB_DATA_URL names a mirror)")
    fetch.add_argument("groups", nargs="*", metavar="GROUP", help="windows, goes, smarp-cutout, sharp-cutouts, sharp-damaged (default: all)")
    actions.add_parser("verify", help="re-hash every file on disk")
    cutout = commands.add_parser("cutout", help="one SMARP/SHARP cutout: our keywords beside the header's, the CNN's view")
    cutout.add_argument("stem", help="<stem>.magnetogram.fits and <stem>.bitmap.fits (either file's name works too)")
    cutout.add_argument("--json", action="store_true", help="print the keywords and header cards as JSON")
    cutout.add_argument("--png", metavar="FILE", help="save the magnetogram and the image as the CNN sees it")
    return parser


def _data(args: argparse.Namespace) -> int:
    """`flarelib data list|fetch|verify`: exit 1 when a file is missing, wrong or cannot be fetched."""
    from tqdm import tqdm

    from flarelib.sources import registry

    folder = registry.data_dir()
    print(f"data folder: {folder}")
    if args.action == "fetch":
        began, names = time.perf_counter(), registry.names(args.groups)
        for name in tqdm(names, desc="fetching", unit="file", disable=None):
            registry.path(name, folder)
        size = registry.entries().set_index("name").loc[names, "size"].sum()
        print(f"{len(names)} files ({size / 1e6:.1f} MB) present and verified in {time.perf_counter() - began:.1f} s")
        return 0
    table = registry.status(folder, verify=args.action == "verify")
    shown = table.drop(columns="url") if args.action == "list" else table[["group", "name", "present", "verified"]]
    print(shown.to_string(index=False))
    bad = table[table.present & ~table.verified]
    print(f"{int(table.present.sum())} of {len(table)} files present ({table['size'].sum() / 1e6:.1f} MB registered), "
          f"{int(table.verified.sum())} verified" + (f"; wrong hash: {', '.join(bad.name)}" if len(bad) else ""))
    return 1 if len(bad) else 0


def _cutout(args: argparse.Namespace) -> int:
    """`flarelib cutout STEM`: a broken file exits 1 with the reader's error."""
    from flarelib.sources import cutouts

    cutout = cutouts.read_cutout_files(args.stem)
    if args.json:
        print(cutouts.to_json(cutout))
    else:
        described = cutouts.describe(cutout)
        print(f"{cutout.stem.name} ({cutout.series}, {cutout.magnetogram.data.shape[1]} x {cutout.magnetogram.data.shape[0]} px)")
        print(cutouts.keyword_table(cutout).to_string(float_format=lambda v: f"{v:.6g}"))
        if cutout.series == "SHARP":
            print("SHARP headers have no USFLUXL or MEANGBL (their USFLUX and MEANGBZ come from Bz): shown as NaN.")
        print(f"header cards repaired: {len(described['fixed_cards'])} ({', '.join(described['fixed_cards']) or 'none'}); "
              f"unreadable: {', '.join(described['unreadable_cards']) or 'none'}")
    if args.png:
        print(f"image: {cutouts.save_png(cutout, args.png)}")
    return 0


COSTLY = {"paper", "teach"}  # parameter sets whose cost is estimated (and printed) before they run


class UsageError(ValueError):
    """A command that cannot start as given (its run folder, its parameters): one line, exit 2."""


def _run_dir(args: argparse.Namespace, params_file: Path) -> Path:
    """`--run-dir`, else the folder of a run's own `params.yaml` (the file every hint names), else
    runs/<parameter set name>."""
    if args.run_dir:
        return resolve(args.run_dir)
    if params_file.name == "params.yaml":
        return params_file.resolve().parent
    return project_root() / "runs" / params_file.stem


def _params_of(args: argparse.Namespace) -> str | Path:
    """`--params`, else the parameters of the run in `--run-dir` (so a run is never re-made, checked or
    built with the default set's values), else demo."""
    if args.params:
        return args.params
    if args.run_dir and (resolve(args.run_dir) / "params.yaml").is_file():
        return resolve(args.run_dir) / "params.yaml"
    return "demo"


def check_run_dir(run_dir: Path, writing: bool) -> None:
    """A run folder that is a file, or one this user cannot write to (when the command writes):
    UsageError naming the folder and what to do, before anything starts."""
    if run_dir.exists() and not run_dir.is_dir():
        raise UsageError(f"the run folder {run_dir} is a file, not a folder: remove it or give another --run-dir")
    if not writing:
        return
    existing = next(folder for folder in (run_dir, *run_dir.parents) if folder.exists())
    if not existing.is_dir():
        raise UsageError(f"cannot make the run folder {run_dir}: {existing} is a file, not a folder")
    if not os.access(existing, os.W_OK | os.X_OK):
        what = f"the run folder {run_dir}" if existing == run_dir else f"{existing}, where the run folder {run_dir} would go,"
        raise UsageError(f"cannot write in {what} (permission denied): give a --run-dir you can write to, "
                         "or copy the run there (flarelib verify reads a read-only run)")


def _verify(args: argparse.Namespace, run_dir: Path) -> int:
    """`flarelib verify`: exit 1 when any chapter is not sound or the book is not the run's."""
    from flarelib.compendium.verify import report, verify_book, verify_run

    check_run_dir(run_dir, writing=False)
    print(f"run folder: {run_dir}")
    book = verify_book(resolve(args.book), run_dir) if args.book else None
    text, sound = report(verify_run(run_dir), book)
    print(text)
    return 0 if sound else 1


def main(argv: list[str] | None = None) -> int:
    """The console script; Ctrl-C anywhere ends it with one line (and, for a run, how to resume)."""
    try:
        return _main(argv)
    except KeyboardInterrupt:
        print("interrupted.", file=sys.stderr)
        return 130


def _main(argv: list[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    if args.command == "site":
        from flarelib.compendium.site import make_site

        try:
            index = make_site(project_root(), args.sets, repository_url=args.repository_url, run=not args.no_run,
                              teaching=args.teaching)
        except (RunError, ValueError) as error:
            print(f"error: {error}", file=sys.stderr)
            return 1
        print(f"Site: {index}")
        return 0
    if args.command in ("data", "cutout"):  # a missing, corrupt or unknown file or group: its message, exit 1
        try:
            return (_data if args.command == "data" else _cutout)(args)
        except (FileNotFoundError, ValueError, KeyError) as error:
            print(f"error: {error}", file=sys.stderr)
            return 1
    run_dir = None
    try:
        params, params_file = load_params(_params_of(args), args.overrides)
        run_dir = _run_dir(args, params_file)
        check_run_dir(run_dir, writing=args.command in {"book", "run", "build"})
        if args.command == "verify":
            return _verify(args, run_dir)
        if args.command == "params":
            import yaml

            print(yaml.safe_dump(to_plain(params), sort_keys=False), end="")
            return 0
        if args.command == "estimate" or (args.command in {"book", "run"} and params_file.stem in COSTLY):
            from flarelib.compendium.cost import estimate

            print(estimate(params, run_dir / "03_sampling" / "table5.csv").describe())
            if args.command == "estimate":
                return 0
        began = time.perf_counter()
        if args.command in {"book", "run"}:
            from flarelib.compendium.runner import run_chapters

            print(f"Running the chapters of {params_file.name} (source: {params.source}) into {run_dir}")
            run_chapters(params, params_file, run_dir, only=args.only, start=args.start, force=args.force,
                         no_remake=args.no_remake)
        if args.command in {"book", "build"}:
            from flarelib.compendium.book import build_book

            print("Building the HTML book with Jupyter Book ...")
            index = build_book(run_dir, strict=not args.no_strict, allow_stale=args.allow_stale)
            print(f"Book: {index}")
        print(f"Finished in {time.perf_counter() - began:.1f} s")
        return 0
    except KeyboardInterrupt:
        print(interrupted(run_dir if args.command in {"book", "run"} else None), file=sys.stderr)
        return 130
    except (ParamsError, UsageError) as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    except (RunError, FileNotFoundError) as error:
        print(f"error: {error}", file=sys.stderr)
        return 1
    except OSError as error:  # the run folder became unwritable, a disk filled up: one line, not a traceback
        print(f"error: {error.strerror or error}: {error.filename or ''} (the run can be resumed once this is "
              "fixed: run the same command again)", file=sys.stderr)
        return 2


def interrupted(run_dir: Path | None) -> str:
    """The one line Ctrl-C ends a command with: what is kept and the command that resumes the run."""
    if run_dir is None or not (run_dir / "params.yaml").is_file():
        return "interrupted."
    from flarelib.compendium.integrity import run_command

    return (f"interrupted: the finished chapters (and a sweep's finished cells) are kept; resume with: "
            f"{run_command(run_dir)}")
