"""The library's layout: grouped by role, short modules, one home per name, documented parameters,
every module on a page of the API reference, and chapters that say what they hold and what they use."""

from __future__ import annotations

import ast
import importlib
import pkgutil
import re
from collections import defaultdict
from pathlib import Path

import nbformat
import pytest

import flarelib
from flarelib.compendium.toc import chapters, toc_files

PACKAGE = Path(flarelib.__file__).parent
MAX_LINES = 350
MAX_TOP_LEVEL = 26  # "at most about 22" (#13); `ensemble`, the seeds trained together (#18); `world`, the teaching
# world (#29); `baselines`, the simple models beside the deep ones (#27); `events`, the event definition (#33)


def modules() -> list[str]:
    """Every module of the library but `flarelib.__main__` (importing it runs the command line)."""
    found = pkgutil.walk_packages([str(PACKAGE)], prefix="flarelib.")
    return sorted(m.name for m in found if not m.name.endswith("__main__"))


def sources() -> dict[Path, ast.Module]:
    return {path: ast.parse(path.read_text()) for path in sorted(PACKAGE.rglob("*.py"))}


def test_the_packages_group_the_library_by_role():
    names = set(modules())
    for package in ("compendium", "sources", "world", "attribution", "operational"):
        assert f"flarelib.{package}" in names
    assert {"flarelib.compendium.runner", "flarelib.sources.store", "flarelib.operational.calibration",
            "flarelib.operational.full_disk", "flarelib.operational.transfer", "flarelib.attribution.methods"} <= names


def test_no_module_is_longer_than_the_limit():
    long = {str(p.relative_to(PACKAGE)): n for p in PACKAGE.rglob("*.py") if (n := len(p.read_text().splitlines())) > MAX_LINES}
    assert not long, f"modules over {MAX_LINES} lines: {long}"


def test_the_top_level_stays_walkable():
    entries = [p.name for p in PACKAGE.iterdir() if p.name != "__pycache__" and not p.name.endswith(".egg-info")]
    assert len(entries) <= MAX_TOP_LEVEL, sorted(entries)


def test_every_module_imports():
    for name in modules():
        importlib.import_module(name)


def test_a_public_name_has_one_home():
    """No two modules define the same public constant, function or class (three METHODS and two
    DATASETS once meant different things)."""
    homes = defaultdict(list)
    for path, tree in sources().items():
        for node in tree.body:
            if isinstance(node, (ast.FunctionDef, ast.ClassDef)):
                name = node.name
            elif isinstance(node, ast.Assign) and isinstance(node.targets[0], ast.Name):
                name = node.targets[0].id
            else:
                continue
            if not name.startswith("_") and name not in {"EPS"}:
                homes[name].append(str(path.relative_to(PACKAGE)))
    shared = {name: where for name, where in homes.items() if len(where) > 1}
    assert not shared, shared


def test_public_functions_with_many_parameters_document_them():
    missing = []
    for path, tree in sources().items():
        for node in ast.walk(tree):
            if isinstance(node, ast.FunctionDef) and not node.name.startswith("_"):
                args = node.args
                count = len([a for a in args.posonlyargs + args.args + args.kwonlyargs if a.arg not in ("self", "cls")])
                count += bool(args.vararg) + bool(args.kwarg)
                if count > 4 and "Parameters\n" not in (ast.get_docstring(node) or ""):
                    missing.append(f"{path.relative_to(PACKAGE)}:{node.lineno} {node.name}")
    assert not missing, f"numpydoc Parameters sections missing: {missing}"


def test_every_module_has_a_page_in_the_api_reference(root):
    pages = [root / f"{entry}.md" for entry in toc_files(root) if entry.startswith("book/api/")]
    assert len(pages) >= 5
    documented = set()
    for page in pages:
        documented |= set(re.findall(r"\.\. automodule:: (\S+)", page.read_text()))
    leaves = {m for m in modules() if not hasattr(importlib.import_module(m), "__path__")}
    assert leaves <= documented, f"not in the API reference: {sorted(leaves - documented)}"
    assert documented <= set(modules()), f"API pages name modules that do not exist: {sorted(documented - set(modules()))}"


@pytest.mark.parametrize("spec", chapters(Path(__file__).resolve().parents[1]), ids=lambda s: s.name)
def test_a_chapter_opens_with_its_outline_and_library_and_ends_with_a_summary(spec):
    nb = nbformat.read(spec.notebook, as_version=4)
    opening = nb.cells[0].source
    numbered = re.findall(r"^(\d+)\. \S", opening, re.MULTILINE)
    assert numbered[:2] == ["1", "2"], "the first cell lists the chapter's sections, numbered"
    library = re.search(r"\*\*Library\.\*\* (.+)", opening)
    assert library, "the first cell names the library modules the chapter uses"
    named = re.findall(r"\{py:mod\}`([\w.]+)`", library.group(1))
    assert named
    for module in named:
        importlib.import_module(module)
    summaries = [c for c in nb.cells if c.cell_type == "markdown" and c.source.startswith("## Summary")]
    assert len(summaries) == 1
    prose = summaries[0].source.split("\n\n")[1]
    assert len(prose.split()) >= 20 and not prose.startswith("The numbers"), "a short prose summary comes first"


def import_graph(package: Path, name: str = "flarelib") -> dict[str, set[str]]:
    """Module -> the package's modules it imports, at the top or inside a function (a deferred
    import still ties the two modules together; `if TYPE_CHECKING:` blocks count too)."""
    modules = {}
    for path in package.rglob("*.py"):
        parts = (name, *path.relative_to(package).with_suffix("").parts)
        modules[".".join(parts[:-1] if parts[-1] == "__init__" else parts)] = path

    def home(dotted: str) -> str | None:
        while dotted and dotted not in modules:
            dotted = dotted.rpartition(".")[0]
        return dotted or None

    graph: dict[str, set[str]] = {module: set() for module in modules}
    for module, path in modules.items():
        package_name = module if path.name == "__init__.py" else module.rpartition(".")[0]
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.Import):
                targets = [alias.name for alias in node.names]
            elif isinstance(node, ast.ImportFrom):
                base = node.module or ""
                if node.level:
                    anchor = package_name.split(".")[: len(package_name.split(".")) - node.level + 1]
                    base = ".".join([*anchor, base] if base else anchor)
                targets = [base, *(f"{base}.{alias.name}" for alias in node.names)]
            else:
                continue
            graph[module] |= {found for t in targets if t.startswith(name) and (found := home(t)) not in (None, module)}
    return graph


def import_cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """The strongly connected components of more than one module (Tarjan's algorithm)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    cycles: list[list[str]] = []

    def visit(module: str) -> None:
        index[module] = low[module] = len(index)
        stack.append(module)
        for other in sorted(graph[module]):
            if other not in index:
                visit(other)
                low[module] = min(low[module], low[other])
            elif other in stack:
                low[module] = min(low[module], index[other])
        if low[module] == index[module]:
            component = []
            while (top := stack.pop()) != module:
                component.append(top)
            if component:
                cycles.append(sorted([module, *component]))

    for module in sorted(graph):
        if module not in index:
            visit(module)
    return cycles


def test_the_cycle_finder_sees_a_cycle_through_a_deferred_import(tmp_path):
    toy = tmp_path / "toy"
    (toy / "inner").mkdir(parents=True)
    (toy / "__init__.py").write_text("")
    (toy / "inner" / "__init__.py").write_text("")
    (toy / "a.py").write_text("from toy.inner.b import B\n")
    (toy / "inner" / "b.py").write_text("B = 1\n\n\ndef late():\n    from ..a import A\n")
    (toy / "c.py").write_text("import toy.a\n")
    assert import_cycles(import_graph(toy, "toy")) == [["toy.a", "toy.inner.b"]]
    (toy / "inner" / "b.py").write_text("B = 1\n")
    assert import_cycles(import_graph(toy, "toy")) == []


def test_no_import_cycle_between_the_librarys_modules():
    cycles = import_cycles(import_graph(PACKAGE))
    assert not cycles, "import cycles (each a group of modules that import each other): " + "; ".join(
        " <-> ".join(cycle) for cycle in cycles)


def test_the_teaching_world_imports_nothing_from_the_sources():
    """The synthetic source builds a store from the world, never the other way (not even through
    another module, nor inside a function)."""
    graph = import_graph(PACKAGE)
    reached, todo = set(), [m for m in graph if m.startswith("flarelib.world")]
    while todo:
        module = todo.pop()
        if module not in reached:
            reached.add(module)
            todo.extend(graph[module])
    assert {m for m in graph if m.startswith("flarelib.world.")} <= reached
    wrong = sorted(m for m in reached if m.startswith("flarelib.sources"))
    assert not wrong, f"the world reaches {wrong}"
    assert not any(m.startswith("flarelib.sources.synthetic_") for m in graph)
