"""The project as a user installs it: a wheel built from the repository, installed into a
fresh virtualenv, runs `crm sample` and `crm run` to PDF from a folder that is not the
checkout -- the default config, source configs, survey definitions, templates,
stylesheets and message catalogs travel inside the wheel.

The wheel is built without network (the running environment's setuptools, from the dev
extra) and installed with `--no-deps`; the new environment sees the running one's
third-party packages through a path file (not this project: the checkout is never on
its path). Skipped where a wheel cannot be built here (pip or setuptools >= 77 missing).
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import sysconfig
import venv
from importlib.metadata import PackageNotFoundError, version
from pathlib import Path

import pytest

PROJECT_ROOT = Path(__file__).resolve().parents[1]
NOT_PACKAGED = shutil.ignore_patterns(
    ".git", ".venv", "data", "build", "dist", "tests", "notebooks", "benchmarks",
    ".pytest-tmp", "__pycache__", "*.egg-info", ".ruff_cache", ".hypothesis",
)  # fmt: skip
PERIOD = "2026-10"

pytestmark = pytest.mark.slow


def _need_build_tools() -> None:
    try:
        setuptools = version("setuptools")
        version("pip")
    except PackageNotFoundError as missing:
        pytest.skip(f"cannot build a wheel here: {missing.name} is not installed")
    if int(setuptools.split(".")[0]) < 77:
        pytest.skip(f"cannot build a wheel here: setuptools {setuptools} (>= 77 needed)")


def _run(args: list[str], cwd: Path, env: dict[str, str]) -> subprocess.CompletedProcess:
    done = subprocess.run(args, cwd=cwd, env=env, capture_output=True, text=True, timeout=600)
    assert done.returncode == 0, f"{' '.join(args)}\n{done.stdout}\n{done.stderr}"
    return done


def _clean_env() -> dict[str, str]:
    """This environment without anything pointing at the checkout or a data root."""
    drop = ("PYTHONPATH", "CRM_DATA_DIR", "CRM_REPORT_DIR", "CRM_ID_SALT", "VIRTUAL_ENV")
    return {k: v for k, v in os.environ.items() if k not in drop}


@pytest.fixture(scope="module")
def installed(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The bin folder of a fresh virtualenv holding only the wheel (and a path to this
    environment's third-party packages)."""
    _need_build_tools()
    base = tmp_path_factory.mktemp("wheel")
    source, dist, env_dir = base / "source", base / "dist", base / "venv"
    shutil.copytree(PROJECT_ROOT, source, ignore=NOT_PACKAGED)
    env = _clean_env()
    _run(
        [sys.executable, "-m", "pip", "wheel", "--no-deps", "--no-build-isolation",
         "--quiet", "-w", str(dist), str(source)],
        base, env,
    )  # fmt: skip
    wheels = sorted(dist.glob("*.whl"))
    assert len(wheels) == 1, wheels
    venv.EnvBuilder(with_pip=False).create(env_dir)
    bin_dir = env_dir / ("Scripts" if os.name == "nt" else "bin")
    python = bin_dir / ("python.exe" if os.name == "nt" else "python")
    purelib = Path(
        _run([str(python), "-c", "import sysconfig; print(sysconfig.get_path('purelib'))"],
             base, env).stdout.strip()
    )  # fmt: skip
    # third-party packages from here; not their .pth files (this project's editable hook)
    (purelib / "deps.pth").write_text(sysconfig.get_path("purelib") + "\n", encoding="utf-8")
    _run(
        [sys.executable, "-m", "pip", "--python", str(python), "install", "--no-deps",
         "--no-index", "--quiet", str(wheels[0])],
        base, env,
    )  # fmt: skip
    return bin_dir


def test_the_wheel_carries_its_resources_and_runs_from_another_folder(installed, tmp_path):
    env = _clean_env()
    crm = str(installed / ("crm.exe" if os.name == "nt" else "crm"))
    python = str(installed / ("python.exe" if os.name == "nt" else "python"))
    show = "import pipeline.resources as r; print(r.template_dir()); print(r.locale_dir())"
    where, locales = _run([python, "-c", show], tmp_path, env).stdout.split()
    assert Path(where).is_relative_to(installed.parent), where  # the wheel's, not the checkout's
    assert Path(where).parts[-3:] == ("pipeline", "_resources", "templates")
    assert Path(locales).parts[-3:] == ("pipeline", "_resources", "locales")
    assert (Path(locales) / "zh_CN" / "LC_MESSAGES" / "messages.po").is_file()
    assert (Path(locales) / "messages.pot").is_file()

    roots = ["--data-dir", "data", "--report-dir", "reports"]
    _run([crm, *roots, "sample", "--customers", "1200", "--branches", "2", "--months", "18",
          "--end-month", PERIOD], tmp_path, env)  # fmt: skip
    done = _run([crm, *roots, "run", "--period", PERIOD], tmp_path, env)
    assert "[5/5] report done" in done.stderr
    build = tmp_path / "reports" / "build" / PERIOD / "en"
    assert (build / "index.html").is_file()
    pdfs = sorted(p.name for p in build.glob("*.pdf"))
    assert pdfs == ["branch-B01.pdf", "branch-B02.pdf", "network.pdf"]
    assert all((build / name).read_bytes().startswith(b"%PDF-") for name in pdfs)

    _run([crm, "init", "bank", "--bank", "acme"], tmp_path, env)
    shown = _run([crm, "--config", "bank/crm.yml", "config", "source"], tmp_path, env)
    assert shown.stdout.strip() == str(tmp_path / "bank" / "sources" / "acme.yml")
