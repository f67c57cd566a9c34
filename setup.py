"""Packaging beyond pyproject.toml: what the wheel holds, and where it comes from.

The repository keeps the default config, source configs, survey definitions, report
templates, stylesheets and message catalogs at the top level (configs/,
reports/templates/, reports/static/, reports/locales/); the wheel carries them inside
the package as pipeline/_resources/{configs,templates,static,locales}, where
pipeline.resources finds them.
Each resource folder (and each folder under it) is a data-only package mapped onto its
repository folder and carrying every file in it; the code packages are every package
under pipeline/. Both are found anew at each build, so a new file or folder ships
without an edit here.
"""

from pathlib import Path

from setuptools import find_packages, setup

PACKAGE = "pipeline"
RESOURCES = {
    "configs": "configs",
    "templates": "reports/templates",
    "static": "reports/static",
    "locales": "reports/locales",
}


def resource_packages() -> tuple[dict[str, str], dict[str, list[str]]]:
    """(package -> folder, package -> its files) for every folder of every resource."""
    dirs, data = {}, {}
    for kind, folder in RESOURCES.items():
        root = Path(folder)
        for sub in [root, *sorted(p for p in root.rglob("*") if p.is_dir())]:
            if sub.name == "__pycache__":
                continue
            parts = sub.relative_to(root).parts
            name = ".".join([PACKAGE, "_resources", kind, *parts])
            dirs[name] = sub.as_posix()
            data[name] = sorted(p.name for p in sub.iterdir() if p.is_file())
    return dirs, data


RESOURCE_DIRS, RESOURCE_FILES = resource_packages()

setup(
    packages=find_packages(include=[PACKAGE, f"{PACKAGE}.*"]) + list(RESOURCE_DIRS),
    package_dir=RESOURCE_DIRS,
    package_data={PACKAGE: ["py.typed"], **RESOURCE_FILES},
)
