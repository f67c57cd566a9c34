"""Linux, macOS and Windows: no POSIX-only module imported when the package loads, file
modes set only where the platform has them, a lock that filelock makes portable."""

from __future__ import annotations

import ast
import os
import stat
from pathlib import Path

import pytest

from pipeline.catalog import Catalog
from pipeline.io import write_text
from pipeline.runner import data_root_lock

PACKAGE_DIR = Path(__file__).resolve().parents[1] / "pipeline"
POSIX_ONLY = {
    "fcntl", "termios", "tty", "pty", "pwd", "grp", "resource", "posix", "crypt",
    "syslog", "spwd", "nis", "ossaudiodev", "_posixsubprocess",
}  # fmt: skip


def _module_level_imports(tree: ast.Module) -> list[tuple[int, str]]:
    """Imports run when the module loads: at top level, or in a top-level if/try/with."""
    found = []
    todo = list(tree.body)
    while todo:
        node = todo.pop()
        if isinstance(node, ast.Import):
            found += [(node.lineno, a.name.split(".")[0]) for a in node.names]
        elif isinstance(node, ast.ImportFrom) and node.module and not node.level:
            found.append((node.lineno, node.module.split(".")[0]))
        elif isinstance(node, ast.If | ast.Try | ast.With):
            for field in ("body", "orelse", "finalbody", "handlers"):
                todo += getattr(node, field, [])
        elif isinstance(node, ast.ExceptHandler):
            todo += node.body
    return found


def test_no_module_imports_a_posix_only_module_when_it_loads():
    offenders = [
        f"{path.relative_to(PACKAGE_DIR.parent)}:{line} imports {name}"
        for path in sorted(PACKAGE_DIR.rglob("*.py"))
        for line, name in _module_level_imports(ast.parse(path.read_text(encoding="utf-8")))
        if name in POSIX_ONLY
    ]
    assert offenders == []


def test_outputs_get_the_usual_mode_without_fchmod(tmp_path, monkeypatch):
    umask = os.umask(0o022)
    os.umask(umask)
    with_fchmod = write_text("a", tmp_path / "a.txt")
    monkeypatch.delattr(os, "fchmod")  # as on Windows
    without = write_text("b", tmp_path / "b.txt")
    expected = 0o666 & ~umask
    if os.name != "nt":
        assert stat.S_IMODE(with_fchmod.stat().st_mode) == expected
        assert stat.S_IMODE(without.stat().st_mode) == expected
    assert without.read_text() == "b"


def test_the_lock_says_who_holds_it_only_while_held(tmp_path):
    catalog = Catalog(tmp_path, tmp_path)
    owner = tmp_path / ".crm.lock.owner"
    with data_root_lock(catalog):
        assert owner.read_text(encoding="utf-8").startswith(f"crm pid {os.getpid()} on ")
    assert not owner.exists()
    with data_root_lock(catalog):  # released: taken again at once
        pass


def test_a_failed_stage_releases_the_lock(tmp_path):
    catalog = Catalog(tmp_path, tmp_path)
    with pytest.raises(RuntimeError), data_root_lock(catalog):
        raise RuntimeError("bad input")
    with data_root_lock(catalog):
        pass
