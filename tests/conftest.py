"""Shared fixtures: a temporary data root per test, and the public data folder."""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

import pytest

PROJECT_ROOT = Path(__file__).resolve().parents[1]
# ../shared/data beside the project (a fresh clone's layout); CRM_SHARED_DATA points
# elsewhere, for a checkout that does not sit beside it (a git worktree, say).
SHARED_DATA = Path(os.environ.get("CRM_SHARED_DATA") or PROJECT_ROOT.parent / "shared" / "data")


@pytest.fixture
def data_root(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A fresh data root; the environment points the pipeline at it."""
    root = tmp_path / "data"
    root.mkdir()
    monkeypatch.setenv("CRM_DATA_DIR", str(root))
    monkeypatch.setenv("CRM_REPORT_DIR", str(tmp_path / "reports"))
    return root


def shared_data(*parts: str) -> Path:
    """A path under ../shared/data, or skip the test cleanly where it is absent."""
    path = SHARED_DATA.joinpath(*parts)
    if not path.exists():
        pytest.skip(f"public data not present: {path}")
    return path


# --- one sample bank run end to end, shared by the run/fault/drift/notebook tests ---
SAMPLE_PERIOD = "2026-10"


@dataclass(frozen=True)
class SampleBankRun:
    """A generated bank (2,500 customers, 2 branches, 24 months, dirt on) after
    `crm run --period 2026-10`. Treat it as read-only: copy `data_dir` to change it."""

    data_dir: Path
    report_dir: Path
    period: str
    run_output: str

    @property
    def args(self) -> list[str]:
        return ["--data-dir", str(self.data_dir), "--report-dir", str(self.report_dir)]


@pytest.fixture(scope="session")
def sample_bank_run(tmp_path_factory: pytest.TempPathFactory) -> SampleBankRun:
    from click.testing import CliRunner

    from pipeline.cli import cli

    base = tmp_path_factory.mktemp("sample_bank_run")
    bank = SampleBankRun(base / "data", base / "reports", SAMPLE_PERIOD, "")
    sample = ["sample", "--customers", "2500", "--branches", "2", "--months", "24"]
    runner = CliRunner()
    done = runner.invoke(cli, [*bank.args, *sample, "--end-month", SAMPLE_PERIOD])
    assert done.exit_code == 0, done.output
    done = runner.invoke(cli, [*bank.args, "run", "--period", SAMPLE_PERIOD])
    assert done.exit_code == 0, done.output
    return SampleBankRun(bank.data_dir, bank.report_dir, SAMPLE_PERIOD, done.output)


def files_a_run_writes(run: SampleBankRun, scratch: Path) -> list[str]:
    """Every file the pipeline writes under its two roots, as paths in a checkout that
    uses the default ones (data/..., reports/...): a whole run's files (`run`), make's
    stamps, and the locks and owner records of a month's stage while it holds them and
    of a root writer (made by the real code in `scratch`)."""
    from click.testing import CliRunner

    from pipeline.catalog import Catalog
    from pipeline.cli import cli
    from pipeline.runner import claim_report_root, data_root_lock

    scratch.mkdir(parents=True, exist_ok=True)
    catalog = Catalog(scratch / "data", scratch / "reports")
    args = ["--data-dir", str(catalog.data_dir), "--report-dir", str(catalog.report_dir)]
    done = CliRunner().invoke(cli, [*args, "stamp", "sample", "features"])  # as make does
    assert done.exit_code == 0, done.output
    written: set[str] = set()

    def record(prefix: str, folder: Path) -> None:
        written.update(
            f"{prefix}/{p.relative_to(folder).as_posix()}" for p in folder.rglob("*") if p.is_file()
        )

    with data_root_lock(catalog, SAMPLE_PERIOD):
        claim_report_root(catalog)
        record("data", catalog.data_dir)
        record("reports", catalog.report_dir)
    with data_root_lock(catalog):
        record("data", catalog.data_dir)
    record("data", run.data_dir)
    record("reports", run.report_dir)
    assert len(written) > 100  # the run's raw, interim and processed files and its reports
    return sorted(written)
