"""What pyproject.toml promises: every package the code imports is declared (the
package itself in its dependencies, the tests and tools in the dev extra, PySpark in
the spark extra), so a fresh install never meets an ImportError."""

from __future__ import annotations

import ast
import re
import sys
import tomllib
from importlib.metadata import packages_distributions
from pathlib import Path

import pytest

PROJECT_ROOT = Path(__file__).resolve().parents[1]
PYPROJECT = tomllib.loads((PROJECT_ROOT / "pyproject.toml").read_text(encoding="utf-8"))
OWN = {"pipeline", "conftest", "setuptools"} | {
    p.stem for p in (PROJECT_ROOT / "tests").glob("*.py")
}


def _name(requirement: str) -> str:
    return re.split(r"[<>=!~;\[ ]", requirement, maxsplit=1)[0].lower().replace("_", "-")


def declared(*groups: str) -> set[str]:
    project = PYPROJECT["project"]
    names = {_name(r) for r in project["dependencies"]}
    for group in groups:
        names |= {_name(r) for r in project["optional-dependencies"][group]}
    return names


def imported(folder: Path) -> dict[str, str]:
    """Top-level module -> a file importing it, for every import in `folder`'s code."""
    found: dict[str, str] = {}
    for path in sorted(folder.rglob("*.py")):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.Import):
                names = [a.name for a in node.names]
            elif isinstance(node, ast.ImportFrom) and node.module and not node.level:
                names = [node.module]
            else:
                continue
            for name in names:
                top = name.split(".")[0]
                if top not in sys.stdlib_module_names and top not in OWN:
                    found.setdefault(top, str(path.relative_to(PROJECT_ROOT)))
    return found


@pytest.mark.parametrize(
    ("folder", "groups"),
    [("pipeline", ("spark",)), ("tests", ("dev", "spark")), ("benchmarks", ("dev",))],
)
def test_every_direct_import_is_declared(folder, groups):
    distributions = packages_distributions()
    allowed = declared(*groups)
    missing = []
    for module, where in sorted(imported(PROJECT_ROOT / folder).items()):
        names = {d.lower().replace("_", "-") for d in distributions.get(module, [module])}
        if not names & allowed:
            missing.append(f"{module} ({where}; distribution {', '.join(sorted(names))})")
    assert missing == [], f"imported but not declared in pyproject.toml: {missing}"
