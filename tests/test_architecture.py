"""The import rules of docs/architecture.md, checked on the code itself.

- A stage's core (pipeline/<stage>/core.py), and every module of the package it imports,
  directly or not, never imports the edge: the catalog, the writers (pipeline.io), the
  runner, the CLI, or a stage edge (`*.stage`).
- An engine (pipeline.engine, pipeline.dialect, pipeline.spark) imports no stage package.
- The package's parts (its subpackages and top-level modules) import each other without
  a cycle.
- Date arithmetic in Python is pipeline.periods' alone.

Imports are read from the source (ast), wherever they are in a module -- a function's
lazy import is still a dependency -- except under `if TYPE_CHECKING:`, which never runs.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parents[1] / "pipeline"
STAGES = ("ingest", "features", "scoring", "survey", "report", "sample")
EDGE = ("pipeline.catalog", "pipeline.io", "pipeline.runner", "pipeline.cli")
ENGINES = ("pipeline.engine", "pipeline.dialect", "pipeline.spark")


def module_name(path: Path) -> str:
    parts = path.relative_to(PACKAGE.parent).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


MODULES = {module_name(p): p for p in PACKAGE.rglob("*.py")}


def _type_checking(node: ast.If) -> bool:
    test = node.test
    return (isinstance(test, ast.Name) and test.id == "TYPE_CHECKING") or (
        isinstance(test, ast.Attribute) and test.attr == "TYPE_CHECKING"
    )


def imports(module: str) -> set[str]:
    """The pipeline modules `module` imports (a `from x import y` of a submodule y counts
    as importing x.y; of a name, as importing x)."""
    found: set[str] = set()

    def visit(node: ast.AST) -> None:
        if isinstance(node, ast.If) and _type_checking(node):
            for child in node.orelse:
                visit(child)
            return
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            found.add(node.module)
            found.update(f"{node.module}.{alias.name}" for alias in node.names)
        for child in ast.iter_child_nodes(node):
            visit(child)

    visit(ast.parse(MODULES[module].read_text(encoding="utf-8")))
    return {m for m in found if m in MODULES}


def closure(module: str) -> set[str]:
    """Every pipeline module `module` imports, directly or through others (a package's
    import runs its __init__, so a module's parent packages count too)."""
    seen: set[str] = set()
    todo = [module]
    while todo:
        current = todo.pop()
        for imported in imports(current):
            chain = imported.split(".")
            for i in range(2, len(chain) + 1):
                name = ".".join(chain[:i])
                if name in MODULES and name not in seen:
                    seen.add(name)
                    todo.append(name)
    return seen


def part(module: str) -> str:
    """The part of the package a module belongs to: pipeline.<first name>."""
    return ".".join(module.split(".")[:2])


@pytest.mark.parametrize("stage", STAGES)
def test_every_stage_has_a_core_and_a_stage_module(stage: str) -> None:
    assert f"pipeline.{stage}.core" in MODULES
    assert f"pipeline.{stage}.stage" in MODULES


@pytest.mark.parametrize("stage", STAGES)
def test_a_core_never_imports_the_edge(stage: str) -> None:
    core = f"pipeline.{stage}.core"
    reached = closure(core)
    forbidden = sorted(m for m in reached if m.startswith(EDGE) or m.split(".")[-1] == "stage")
    assert not forbidden, f"{core} reaches {forbidden}"


def test_package_init_files_only_reexport() -> None:
    """An __init__ holds imports, __all__ and a docstring: no logic of its own."""
    for name, path in MODULES.items():
        if path.name != "__init__.py" or name in ("pipeline", "pipeline.spark"):
            continue
        for node in ast.parse(path.read_text(encoding="utf-8")).body:
            allowed = (ast.Import, ast.ImportFrom, ast.Expr, ast.Assign)
            assert isinstance(node, allowed), f"{name}: {ast.dump(node)[:60]}"
            if isinstance(node, ast.Assign):
                assert [t.id for t in node.targets] == ["__all__"], name


def test_engines_import_no_stage() -> None:
    for name in MODULES:
        if not name.startswith(ENGINES):
            continue
        stages = sorted(m for m in closure(name) if part(m) in {f"pipeline.{s}" for s in STAGES})
        assert not stages, f"{name} reaches {stages}"


# Calendar arithmetic in Python (month ends, windows, days before) is pipeline.periods'
# alone; SQL spells its own through pipeline.dialect.
DATE_ARITHMETIC = {
    "timedelta",
    "Timedelta",
    "to_timedelta",
    "DateOffset",
    "offsets",
    "relativedelta",
    "MonthEnd",
    "MonthBegin",
}


def date_arithmetic(source: str) -> set[str]:
    """The date-arithmetic names `source` uses or imports."""
    found = set()
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Attribute):
            found.add(node.attr)  # pd.offsets, pd.DateOffset, ...
        elif isinstance(node, ast.Name) and node.id != "offsets":  # a local name, not pandas'
            found.add(node.id)
        elif isinstance(node, ast.alias):
            found.add(node.name.split(".")[-1])
    return found & DATE_ARITHMETIC


def test_date_arithmetic_lives_in_periods_only() -> None:
    assert date_arithmetic("end = (pd.Timestamp(d) + pd.offsets.MonthEnd(0)).date()") == {
        "offsets",
        "MonthEnd",
    }
    assert date_arithmetic("from datetime import date, timedelta") == {"timedelta"}
    assert date_arithmetic("offsets = np.frombuffer(buffer, dtype=np.int32)") == set()
    assert date_arithmetic(MODULES["pipeline.periods"].read_text(encoding="utf-8"))
    elsewhere = {
        name: sorted(date_arithmetic(path.read_text(encoding="utf-8")))
        for name, path in MODULES.items()
        if name != "pipeline.periods"
    }
    assert {name: used for name, used in elsewhere.items() if used} == {}


def test_the_packages_parts_import_each_other_without_a_cycle() -> None:
    graph: dict[str, set[str]] = {}
    for name in MODULES:
        if name == "pipeline":
            continue
        edges = {part(m) for m in imports(name) if m != "pipeline"} - {part(name)}
        graph.setdefault(part(name), set()).update(edges)
    cycle = _find_cycle(graph)
    assert cycle is None, " -> ".join(cycle)


def _find_cycle(graph: dict[str, set[str]]) -> list[str] | None:
    """A cycle of the directed graph as a list of nodes, or None (depth-first search)."""
    state: dict[str, int] = {}  # 1: on the current path, 2: done
    path: list[str] = []

    def visit(node: str) -> list[str] | None:
        state[node] = 1
        path.append(node)
        for nxt in sorted(graph.get(node, ())):
            if state.get(nxt) == 1:
                return path[path.index(nxt) :] + [nxt]
            if nxt not in state:
                found = visit(nxt)
                if found:
                    return found
        state[node] = 2
        path.pop()
        return None

    for node in sorted(graph):
        if node not in state:
            found = visit(node)
            if found:
                return found
    return None


def test_the_rules_catch_what_they_forbid(tmp_path: Path, monkeypatch) -> None:
    """The checks fail on code that breaks them (a core importing io; a cycle)."""
    fake = {
        "pipeline.toy": tmp_path / "toy" / "__init__.py",
        "pipeline.toy.core": tmp_path / "toy" / "core.py",
        "pipeline.toy.helper": tmp_path / "toy" / "helper.py",
        "pipeline.io": tmp_path / "io.py",
        "pipeline.other": tmp_path / "other.py",
    }
    for path in fake.values():
        path.parent.mkdir(parents=True, exist_ok=True)
    fake["pipeline.toy"].write_text('"""toy"""\n')
    fake["pipeline.toy.core"].write_text("from pipeline.toy import helper\n")
    fake["pipeline.toy.helper"].write_text("def f():\n    from pipeline.io import write\n")
    fake["pipeline.io"].write_text("import pipeline.other\n")
    fake["pipeline.other"].write_text("from pipeline.toy.core import x\n")
    monkeypatch.setattr(__import__(__name__), "MODULES", fake)
    assert "pipeline.io" in closure("pipeline.toy.core")
    graph = {
        "pipeline.toy": {"pipeline.io"},
        "pipeline.io": {"pipeline.other"},
        "pipeline.other": {"pipeline.toy"},
    }
    assert _find_cycle(graph) == ["pipeline.io", "pipeline.other", "pipeline.toy", "pipeline.io"]


# --- the picture in docs/architecture.md is drawn from the code ----------------------

DOC = PACKAGE.parent / "docs" / "architecture.md"
# Imported nearly everywhere: named in the document, left out of the picture.
BASICS = {
    "errors",
    "periods",
    "schema",
    "privacy",
    "config",
    "catalog",
    "io",
    "dialect",
    "console",
    "resources",
    "locales",
}
BEGIN, END = "<!-- import graph: begin -->", "<!-- import graph: end -->"


def import_graph_mermaid() -> str:
    """The parts' import graph as a Mermaid flowchart (basics left out)."""
    lines = ["```mermaid", "flowchart LR"]
    edges = set()
    for name in MODULES:
        if name == "pipeline":
            continue
        source = part(name).split(".")[1]
        for imported in imports(name):
            target = part(imported).split(".")[1] if imported != "pipeline" else None
            if target and target != source and not {source, target} & BASICS:
                edges.add((source, target))
    lines += [f"  {a} --> {b}" for a, b in sorted(edges)]
    return "\n".join([*lines, "```"])


def test_the_documents_import_graph_is_the_codes() -> None:
    """docs/architecture.md shows the import graph the code has (regenerate it with
    `python tests/test_architecture.py` when the imports change)."""
    text = DOC.read_text(encoding="utf-8")
    drawn = text.split(BEGIN, 1)[1].split(END, 1)[0].strip()
    assert drawn == import_graph_mermaid()


if __name__ == "__main__":  # print the graph to paste between the markers
    print(import_graph_mermaid())
