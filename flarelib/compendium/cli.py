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
    run_options.add_argument("--params", default="demo", help="parameter set: a name in params/ or a YAML path")
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
    site.add_argument("--repository-url", default=os.environ.get("FLARELIB_REPOSITORY_URL"),
                      help="the public repository, for the Binder launch buttons (default: FLARELIB_REPOSITORY_URL)")
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


COSTLY = {"paper"}  # parameter sets whose cost is estimated before they run


def _run_dir(args: argparse.Namespace, params_file: Path) -> Path:
    return resolve(args.run_dir) if args.run_dir else project_root() / "runs" / params_file.stem


def _verify(args: argparse.Namespace, run_dir: Path) -> int:
    """`flarelib verify`: exit 1 when any chapter is not sound or the book is not the run's."""
    from flarelib.compendium.verify import report, verify_book, verify_run

    print(f"run folder: {run_dir}")
    book = verify_book(resolve(args.book), run_dir) if args.book else None
    text, sound = report(verify_run(run_dir), book)
    print(text)
    return 0 if sound else 1


def main(argv: list[str] | None = None) -> int:
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
    try:
        params, params_file = load_params(args.params, args.overrides)
        run_dir = _run_dir(args, params_file)
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
            index = build_book(run_dir, strict=not args.no_strict)
            print(f"Book: {index}")
        print(f"Finished in {time.perf_counter() - began:.1f} s")
        return 0
    except (ParamsError, RunError, FileNotFoundError) as error:
        print(f"error: {error}", file=sys.stderr)
        return 2 if isinstance(error, ParamsError) else 1
