"""The files the package carries: the default config, source configs, survey definitions,
report templates, stylesheets and message catalogs -- found the same way from a checkout
and from a wheel.

The repository keeps them at the top level (configs/, reports/templates/,
reports/static/, reports/locales/: the project's layout); the wheel carries them inside
the package as `<package>/_resources/{configs,templates,static,locales}` (mapped in
setup.py). They are read through importlib.resources where the package is installed,
and from the repository otherwise (a checkout on PYTHONPATH, an editable install).
Every other module asks this one, so renaming the import name touches only PACKAGE here
and the packaging files.
"""

from __future__ import annotations

import atexit
import importlib.resources
import shutil
import tempfile
from functools import cache
from importlib.resources.abc import Traversable
from pathlib import Path

from pipeline.errors import ConfigError

PACKAGE = __name__.rpartition(".")[0]
PACKED = "_resources"
# kind -> its folder in the repository, relative to the folder holding the package
CHECKOUT: dict[str, tuple[str, ...]] = {
    "configs": ("configs",),
    "templates": ("reports", "templates"),
    "static": ("reports", "static"),
    "locales": ("reports", "locales"),
}


def _extract(tree: Traversable) -> Path:
    """A copy on disk of a resource folder that is not on disk (a zipped package), kept
    for the life of the process: Jinja and WeasyPrint read real folders."""
    target = Path(tempfile.mkdtemp(prefix="crm-resources-"))
    atexit.register(shutil.rmtree, target, ignore_errors=True)

    def copy(node: Traversable, into: Path) -> None:
        for child in node.iterdir():
            if child.is_dir():
                (into / child.name).mkdir()
                copy(child, into / child.name)
            else:
                (into / child.name).write_bytes(child.read_bytes())

    copy(tree, target)
    return target


@cache
def resource_dir(kind: str) -> Path:
    """The folder of one kind of resource (configs, templates, static, locales) as a real
    path."""
    if kind not in CHECKOUT:
        raise ValueError(f"unknown resource kind {kind!r}; known: {', '.join(CHECKOUT)}")
    packed = importlib.resources.files(PACKAGE) / PACKED / kind
    if packed.is_dir():
        return packed if isinstance(packed, Path) else _extract(packed)
    package_dir = Path(__file__).resolve().parent
    checkout = package_dir.parent.joinpath(*CHECKOUT[kind])
    if checkout.is_dir():
        return checkout
    raise ConfigError(
        f"the package's {kind} are missing (looked in {package_dir / PACKED / kind} and "
        f"{checkout}); reinstall the package from its wheel"
    )


def config_dir() -> Path:
    """configs/: default.yml, sources/*.yml, surveys/*.yml."""
    return resource_dir("configs")


def default_config() -> Path:
    return config_dir() / "default.yml"


def template_dir() -> Path:
    """The report's Jinja templates."""
    return resource_dir("templates")


def static_dir() -> Path:
    """The report's stylesheets (and the base URL of its PDFs)."""
    return resource_dir("static")


def locale_dir() -> Path:
    """The report's message catalogs: <locale>/LC_MESSAGES/messages.po and messages.pot."""
    return resource_dir("locales")


def bundled(kind: str) -> list[str]:
    """Names of the bundled source configs (kind "sources") or survey definitions
    ("surveys"), sorted."""
    return sorted(p.stem for p in (config_dir() / kind).glob("*.yml"))
