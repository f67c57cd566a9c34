"""One writer per data root, a lock a killed process cannot leave behind, run manifests."""

from __future__ import annotations

import json
import os
import platform
import signal
import subprocess
import sys
import threading
from pathlib import Path

import pytest
from click.testing import CliRunner
from conftest import files_a_run_writes

from pipeline.catalog import Catalog
from pipeline.cli import cli
from pipeline.config import load_config
from pipeline.errors import ConfigError
from pipeline.runner import (
    OWNER,
    RunLocked,
    claim_report_root,
    config_hash,
    data_root_lock,
    run_stages,
)

HOLD_LOCK = """
import sys, time
from pathlib import Path
from pipeline.catalog import Catalog
from pipeline.runner import data_root_lock
period = sys.argv[2] if len(sys.argv) > 2 else None
with data_root_lock(Catalog(Path(sys.argv[1]), Path(sys.argv[1])), period):
    print("locked", flush=True)
    time.sleep(60)
"""


def _holder(root: Path, period: str | None = None) -> subprocess.Popen:
    """A process holding the data root (a stage of `period`, else a writer of the root)."""
    proc = subprocess.Popen(
        [sys.executable, "-c", HOLD_LOCK, str(root), *([period] if period else [])],
        stdout=subprocess.PIPE,
        text=True,
    )
    assert proc.stdout.readline().strip() == "locked"
    return proc


def _stop(proc: subprocess.Popen) -> None:
    proc.kill()
    proc.wait()
    proc.stdout.close()


def test_second_writer_on_the_same_data_root_stops_with_a_clear_message(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Any stage function will do: the lock is taken before the stage runs.
    monkeypatch.setattr("pipeline.features.stage.run_features", lambda *args: None)
    proc = _holder(tmp_path)
    try:
        result = CliRunner().invoke(
            cli, ["--data-dir", str(tmp_path), "features", "--period", "2026-10"]
        )
        assert result.exit_code == 2
        assert f"{tmp_path} is in use by crm pid {proc.pid}" in result.output
    finally:
        _stop(proc)


def test_a_killed_holder_releases_the_lock(tmp_path: Path) -> None:
    proc = _holder(tmp_path)
    os.kill(proc.pid, signal.SIGKILL)
    _stop(proc)
    catalog = Catalog(tmp_path, tmp_path)
    with data_root_lock(catalog):
        pass


def test_lock_is_per_data_root(tmp_path: Path) -> None:
    (tmp_path / "a").mkdir()
    (tmp_path / "b").mkdir()
    proc = _holder(tmp_path / "a")
    try:
        with data_root_lock(Catalog(tmp_path / "b", tmp_path / "b")):
            pass
        with pytest.raises(RunLocked), data_root_lock(Catalog(tmp_path / "a", tmp_path / "a")):
            pass
    finally:
        _stop(proc)


@pytest.mark.skipif(os.name == "nt", reason="Windows locks are exclusive: months take turns")
def test_stages_of_different_months_share_the_root_but_never_a_month(tmp_path: Path) -> None:
    catalog = Catalog(tmp_path, tmp_path)
    proc = _holder(tmp_path, "2026-09")
    try:
        with data_root_lock(catalog, "2026-10"):  # another month: side by side
            assert (
                (tmp_path / ".crm.locks" / "2026-10.owner")
                .read_text()
                .startswith(f"crm pid {os.getpid()} ")
            )
        with pytest.raises(RunLocked) as month:
            with data_root_lock(catalog, "2026-09"):
                pass
        assert str(month.value) == (
            f"{tmp_path}: period 2026-09 is in use by crm pid {proc.pid} on {platform.node()}; "
            "wait for it to finish (two runs of one month would overwrite each other)"
        )
        with pytest.raises(RunLocked) as root:  # ingest, sample, run: never beside a month
            with data_root_lock(catalog):
                pass
        assert f"{tmp_path} is in use by crm pid {proc.pid} on" in str(root.value)
    finally:
        _stop(proc)
    with data_root_lock(catalog, "2026-09"), data_root_lock(catalog, "2026-10"):
        pass  # released by the holder's end; one process may hold two months
    killed = tmp_path / ".crm.locks" / "2026-08.owner"  # what a killed month's stage leaves
    killed.write_text("crm pid 1 on elsewhere", encoding="utf-8")
    with data_root_lock(catalog):
        assert not killed.exists()  # no month runs beside a root writer: it was stale


def test_no_month_runs_beside_a_writer_of_the_whole_root(tmp_path: Path) -> None:
    proc = _holder(tmp_path)
    try:
        with pytest.raises(RunLocked, match=f"is in use by crm pid {proc.pid} on"):
            with data_root_lock(Catalog(tmp_path, tmp_path), "2026-10"):
                pass
    finally:
        _stop(proc)


def test_a_month_clears_only_its_own_folders_of_a_killed_writers_temporaries(
    tmp_path: Path,
) -> None:
    catalog = Catalog(tmp_path, tmp_path)
    left = [
        catalog.processed_dir("2026-10") / ".customer_scores.parquet.abcd1234.tmp",
        catalog.report_build_dir("2026-10") / "en" / ".index.html.abcd1234.tmp",
        catalog.processed_dir("2026-09") / ".customer_scores.parquet.abcd1234.tmp",
        catalog.interim_dir / ".transactions.parquet.abcd1234.tmp",
    ]
    for path in left:
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text("half", encoding="utf-8")
    with data_root_lock(catalog, "2026-10"):
        assert [p.exists() for p in left] == [False, False, True, True]
    with data_root_lock(catalog):
        assert not any(p.exists() for p in left)


def test_run_stages_stops_at_the_first_failure_and_times_the_rest() -> None:
    calls: list[str] = []
    lines: list[str] = []

    def fail() -> None:
        raise RuntimeError("disk full")

    stages = [("a", lambda: calls.append("a")), ("b", fail), ("c", lambda: calls.append("c"))]
    with pytest.raises(RuntimeError, match="disk full"):
        run_stages(stages, lines.append)
    assert calls == ["a"]
    assert lines[0] == "[1/3] a ..." and lines[2] == "[2/3] b ..."
    timings = run_stages([("x", lambda: "ok")], lines.append)
    assert [t["stage"] for t in timings] == ["x"] and timings[0]["seconds"] >= 0
    assert lines[-2] == "ok"


def test_config_hash_ignores_roots_but_not_settings(tmp_path: Path) -> None:
    a = load_config(data_dir=tmp_path / "x", env={})
    b = load_config(data_dir=tmp_path / "y", env={})
    c = load_config(overrides={"rfm.population": "branch"}, env={})
    assert config_hash(a) == config_hash(b) != config_hash(c)


def test_a_claim_being_written_by_another_months_stage_is_read_once_written(
    tmp_path: Path,
) -> None:
    """Stages of two months may meet a new report root together: one creates the claim,
    the other must not take it for unreadable before its content is written."""
    data = tmp_path / "data"
    catalog = Catalog(data, tmp_path / "reports")
    claim = tmp_path / "reports" / OWNER
    claim.parent.mkdir()
    claim.touch()  # created, not written yet
    text = json.dumps({"data_dir": str(data.absolute())})
    writer = threading.Timer(0.2, claim.write_text, [text])
    writer.start()
    claim_report_root(catalog)  # the same bank's: accepted
    writer.join()
    claim.write_text("")
    with pytest.raises(ConfigError, match=r"\(unreadable claim\)"):  # never written
        claim_report_root(catalog)


def test_without_shared_locks_months_take_turns(tmp_path: Path, monkeypatch) -> None:
    """Where the OS lock has no shared mode (Windows' msvcrt; fcntl missing here), a
    month's stage holds the root alone: a second month waits its turn (stops, names it)."""
    monkeypatch.setitem(sys.modules, "fcntl", None)  # `import fcntl` raises ImportError
    catalog = Catalog(tmp_path, tmp_path)
    with data_root_lock(catalog, "2026-10"):
        with pytest.raises(RunLocked, match=f"in use by crm pid {os.getpid()} on"):
            with data_root_lock(catalog, "2026-09"):
                pass
    with data_root_lock(catalog, "2026-09"):
        pass


def test_what_a_run_writes_in_a_checkouts_roots_is_ignored_by_git(
    sample_bank_run, tmp_path: Path
) -> None:
    """`make demo` in a checkout (data root data/, report root reports/) leaves `git
    status` clean: every file the pipeline writes under its two roots (conftest's
    files_a_run_writes) is ignored by the project's .gitignore."""
    root = Path(__file__).resolve().parents[1]
    if not (root / ".gitignore").is_file():
        pytest.skip("not a checkout: no .gitignore")
    paths = files_a_run_writes(sample_bank_run, tmp_path)
    try:
        done = subprocess.run(
            ["git", "check-ignore", "--no-index", "--stdin"],
            input="\n".join(paths),
            cwd=root,
            capture_output=True,
            text=True,
        )
    except FileNotFoundError:
        pytest.skip("git is not installed")
    if done.returncode not in (0, 1):  # 128: not inside a git work tree
        pytest.skip(f"git check-ignore: {done.stderr.strip()}")
    assert [p for p in paths if p not in set(done.stdout.splitlines())] == []
