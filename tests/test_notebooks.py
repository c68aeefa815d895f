"""The committed chapters: order, outline, parameters cells, no outputs."""

from __future__ import annotations

import ast
import re
import subprocess

import nbformat
import pytest
import yaml

from flarelib.compendium.params import Params, load_params
from flarelib.compendium.toc import chapters, toc_files

EXPECTED = ["01_data", "02_fusion", "03_sampling", "04_lstm", "05_cnn", "06_stacking", "07_significance",
            "08_attribution", "09_operational"]


def notebooks(root):
    return {spec.name: nbformat.read(spec.notebook, as_version=4) for spec in chapters(root)}


def parameters_cell(nb):
    tagged = [c for c in nb.cells if "parameters" in c.metadata.get("tags", [])]
    assert len(tagged) == 1, "exactly one cell is tagged `parameters`"
    return tagged[0]


def test_chapters_are_the_eight_of_the_study_then_the_operational_one_in_order(root):
    assert [spec.name for spec in chapters(root)] == EXPECTED


def test_every_file_of_the_toc_exists(root):
    for entry in toc_files(root):
        assert any((root / entry).with_suffix(s).exists() for s in (".md", ".ipynb")), entry


def test_no_notebook_is_committed_with_outputs(root):
    tracked = subprocess.run(["git", "ls-files", "*.ipynb"], cwd=root, capture_output=True, text=True).stdout.split()
    paths = [root / p for p in tracked] or sorted((root / "notebooks").glob("*.ipynb"))
    assert paths
    for path in paths:
        nb = nbformat.read(path, as_version=4)
        dirty = [i for i, c in enumerate(nb.cells) if c.cell_type == "code" and (c.outputs or c.execution_count)]
        assert not dirty, f"{path.name} has outputs or execution counts in cells {dirty}: clear them"


@pytest.mark.parametrize("name", EXPECTED)
def test_parameters_cell_holds_plain_values_that_are_demo_defaults(root, name):
    nb = notebooks(root)[name]
    demo = load_params("demo")[0].model_dump()
    tree = ast.parse(parameters_cell(nb).source)
    names = []
    for statement in tree.body:
        assert isinstance(statement, ast.Assign) and len(statement.targets) == 1, "one plain assignment a line"
        key = statement.targets[0].id
        value = ast.literal_eval(statement.value)  # raises unless the value is a plain literal
        names.append(key)
        if key == "run_dir":
            continue
        assert key in Params.model_fields, f"{name}: {key} is not a parameter of flarelib.compendium.params.Params"
        expected = demo[key]
        assert (tuple(value) if isinstance(value, list) else value) == expected, f"{name}: {key} differs from demo"
    assert "run_dir" in names and "source" in names


@pytest.mark.parametrize("name", EXPECTED)
def test_chapter_outline(root, name):
    nb = notebooks(root)[name]
    text = "\n".join(c.source for c in nb.cells)
    assert nb.cells[0].cell_type == "markdown" and nb.cells[0].source.startswith("# ")
    assert "**Prerequisites.**" in text and "## Summary" in text and "**Next:**" in text
    assert re.search(rf"open_chapter\(\s*['\"]{name}['\"],\s*run_dir", text), "the chapter opens its own run folder"
    assert "chapter.record(" in text, "the chapter records its headline numbers"
    needs = nb.metadata.get("flarelib", {}).get("needs")
    assert needs is not None and all(EXPECTED.index(n) < EXPECTED.index(name) for n in needs)


def test_book_config_is_strict_and_never_executes(root):
    config = yaml.safe_load((root / "_config.yml").read_text())
    assert config["execute"] == {"execute_notebooks": "off", "allow_errors": False}
    assert config["only_build_toc_files"] is True
    assert not config["sphinx"]["config"]["mathjax_path"].startswith("http")


def test_every_chapter_ends_with_try_it_commands_that_run_as_written(root):
    """Each "Try it" command parses: its parameter set and overrides load and are valid, its chapters exist,
    and a chapter it runs alone declares the parameters it changes."""
    import shlex

    from flarelib.compendium.cli import _parser
    from flarelib.compendium.keys import declared_parameters
    from flarelib.compendium.runner import select

    specs = chapters(root)
    for name, nb in notebooks(root).items():
        tried = [c.source for c in nb.cells if c.cell_type == "markdown" and c.source.startswith("## Try it")]
        assert len(tried) == 1, f"{name} has no Try it section"
        commands = [c.split("&&")[-1].strip() for c in re.findall(r"`([^`]*flarelib run [^`]+)`", tried[0])]
        assert 2 <= len(commands) <= 3, name
        for command in commands:
            args = _parser().parse_args(shlex.split(command)[1:])
            params, _ = load_params(args.params, args.overrides)
            chosen = select(specs, args.only, args.start)
            for override in args.overrides:
                key = override.split("=")[0]
                assert getattr(params, key) is not None or key in Params.model_fields, command
                if args.only:
                    assert any(key in declared_parameters(s.notebook) for s in specs if s.name in chosen), command


def test_the_chapters_code_is_formatted_to_88_columns_and_lints_clean(root):
    """`ruff format` at 88 columns (notebooks/ruff.toml), so no code cell scrolls sideways on the page,
    and pyflakes' checks (unused imports, undefined names) over every chapter."""
    import sys

    ruff = [sys.executable, "-m", "ruff"]
    formatted = subprocess.run([*ruff, "format", "--check", "notebooks"], cwd=root, capture_output=True, text=True)
    assert formatted.returncode == 0, f"run `ruff format notebooks`:\n{formatted.stdout}{formatted.stderr}"
    linted = subprocess.run([*ruff, "check", "notebooks"], cwd=root, capture_output=True, text=True)
    assert linted.returncode == 0, linted.stdout + linted.stderr
    for name, nb in notebooks(root).items():
        wide = [line for c in nb.cells if c.cell_type == "code" for line in c.source.splitlines() if len(line) > 88]
        assert not wide, f"{name}: {wide[:3]}"


@pytest.mark.parametrize("name", EXPECTED)
def test_a_cell_computes_through_the_library_without_loops(root, name):
    """The design's rule: a cell reads like a sentence, one library call per idea; a `for` or `while`
    loop that computes belongs in flarelib (comprehensions that build a value are allowed)."""
    nb = notebooks(root)[name]
    loops = []
    for index, cell in enumerate(nb.cells):
        if cell.cell_type == "code":
            tree = ast.parse(cell.source)
            loops += [f"cell {index}, line {node.lineno}" for node in ast.walk(tree) if isinstance(node, (ast.For, ast.While))]
    assert not loops, f"{name}: loops in {loops}"


def test_the_code_blocks_of_the_books_pages_fit_88_columns(root):
    fenced = re.compile(r"^(`{3,})[^\n]*\n(.*?)\n\1$", re.S | re.M)
    wide = [(page.name, line) for page in sorted((root / "book").glob("*.md"))
            for block in fenced.finditer(page.read_text()) for line in block.group(2).split("\n") if len(line) > 88]
    assert not wide, wide
