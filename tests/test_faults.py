"""A stage that fails -- killed mid-write (SIGKILL) or out of disk -- leaves the period's
previous good outputs exactly as they were, and the next run completes with the bytes
of a clean run. Runs on copies of the shared sample bank run (tests/conftest.py)."""

from __future__ import annotations

import errno
import json
import shutil
import subprocess
import sys
from contextlib import contextmanager
from pathlib import Path

import pytest
from click.testing import CliRunner

import pipeline.io
from pipeline.catalog import Catalog
from pipeline.cli import cli
from pipeline.generation import MARKER, STAMPS, marker_text

pytestmark = pytest.mark.slow

# Runs `crm` with every atomic write watched: when the write of the file named by
# argv[1] has put (half of) its bytes in its temporary, the process SIGKILLs itself.
KILLED_MID_WRITE = """
import os, signal, sys
from contextlib import contextmanager
import pipeline.io as io
from pipeline.cli import main

victim = sys.argv.pop(1)
original = io.atomic_path

@contextmanager
def dying(target):
    with original(target) as tmp:
        yield tmp
        if target.name == victim:
            with open(tmp, "r+b") as fh:
                fh.truncate(tmp.stat().st_size // 2)
            os.kill(os.getpid(), signal.SIGKILL)

io.atomic_path = dying
sys.argv[0] = "crm"
main()
"""

# stage, the change that makes its new outputs differ from the previous ones, the file
# whose write is killed, and the folder its outputs live in
CASES = {
    "features-first-write": (
        "features",
        {"features": "dormant_days: 90"},
        "customer_features.parquet",
    ),
    "features-last-write": ("features", {"features": "dormant_days: 90"}, "lorenz.parquet"),
    "score": ("score", {"value_risk": "watchlist_size: 5"}, "model_card.json"),
    "ingest-parts-state": ("ingest", {}, "state.json"),
    "ingest-manifest": ("ingest", {}, "manifest.json"),
}


def _visible(folder: Path) -> dict[str, bytes]:
    """Every output a reader can open. Ingest's parts/ folder is its re-parse cache, not
    an output: its files are content-addressed and only used when state.json (an atomic,
    held-back write) lists them, so a kill may change what it holds but not what it means.
    """
    found = {}
    for p in sorted(folder.rglob("*")):
        parts = p.relative_to(folder).parts
        if p.is_file() and parts[0] != "parts" and not any(s.startswith(".") for s in parts):
            found[str(p.relative_to(folder))] = p.read_bytes()
    return found


def _hidden(folder: Path) -> list[str]:
    return sorted(p.name for p in folder.rglob(".*.tmp"))


class Root:
    """A private copy of the shared bank's data root, with a user config."""

    def __init__(self, bank, where: Path, settings: dict[str, str], stage: str):
        self.catalog = Catalog(where / "data", where / "reports")
        shutil.copytree(bank.data_dir, self.catalog.data_dir)
        self.config = where / "user.yml"
        self.config.write_text(
            "".join(f"{section}:\n  {line}\n" for section, line in settings.items()) or "{}\n",
            encoding="utf-8",
        )
        if stage == "ingest":  # new raw data: the new canonical tables differ from the old
            first = sorted((self.catalog.raw_dir("sample") / "transactions").iterdir())[0]
            first.unlink()
        self.stage, self.period = stage, bank.period
        self.args = [
            "--data-dir",
            str(self.catalog.data_dir),
            "--report-dir",
            str(self.catalog.report_dir),
            "--config",
            str(self.config),
        ]
        self.command = [stage] if stage == "ingest" else [stage, "--period", self.period]
        self.outputs = (
            self.catalog.interim_dir
            if stage == "ingest"
            else self.catalog.processed_dir(self.period)
        )

    def run(self) -> str:
        done = CliRunner().invoke(cli, [*self.args, *self.command])
        assert done.exit_code == 0, done.output
        return done.output


@pytest.mark.parametrize("case", sorted(CASES))
def test_killed_mid_write_keeps_previous_outputs_and_the_next_run_completes(
    case: str, sample_bank_run, tmp_path: Path
) -> None:
    stage, settings, victim = CASES[case]
    root = Root(sample_bank_run, tmp_path / "killed", settings, stage)
    before = _visible(root.outputs)
    assert list(root.outputs.rglob(victim))  # a previous version of the killed write

    killed = subprocess.run(
        [sys.executable, "-c", KILLED_MID_WRITE, victim, *root.args, *root.command],
        capture_output=True,
        text=True,
    )
    assert killed.returncode == -9, killed.stderr
    marks = () if stage == "ingest" else (STAMPS, MARKER)  # a period stage's own bookkeeping
    killed_state = _visible(root.outputs)
    # every previous output, byte for byte
    assert {k: v for k, v in killed_state.items() if k not in marks} == {
        k: v for k, v in before.items() if k not in marks
    }
    assert _hidden(root.outputs)  # the held-back temporaries are there, hidden
    if stage != "ingest":  # ...and the period is marked incomplete until a run completes
        assert killed_state[MARKER].decode() == marker_text(root.period)
        assert (root.catalog.report_build_dir(root.period) / MARKER).is_file()

    root.run()
    after = _visible(root.outputs)
    assert after != before and _hidden(root.outputs) == []
    clean = Root(sample_bank_run, tmp_path / "clean", settings, stage)
    clean.run()
    # the ingest manifest names its raw folder by absolute path, the one thing that differs
    here, there = (str(r.catalog.data_dir).encode() for r in (root, clean))
    assert after == {k: v.replace(there, here) for k, v in _visible(clean.outputs).items()}


@pytest.mark.parametrize(
    "stage, change, failing_write",
    [
        ("score", {"value_risk": "watchlist_size: 5"}, 2),
        # the mart is written on a thread beside the stage's other work
        ("features", {"features": "dormant_days: 90"}, 1),
    ],
)
def test_disk_full_keeps_previous_outputs_and_leaves_no_temporary(
    sample_bank_run,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    stage: str,
    change: dict,
    failing_write: int,
) -> None:
    root = Root(sample_bank_run, tmp_path, change, stage)
    before = _visible(root.outputs)
    original = pipeline.io.atomic_path
    written: list[str] = []

    @contextmanager
    def filling_up(target: Path):
        with original(target) as tmp:
            yield tmp
            if target.parent == root.catalog.label_window_dir:
                return  # the score's label windows: not outputs (test_window_store)
            written.append(target.name)
            if len(written) == failing_write:  # the disk fills up on this output
                raise OSError(errno.ENOSPC, "No space left on device", str(tmp))

    monkeypatch.setattr(pipeline.io, "atomic_path", filling_up)
    done = CliRunner().invoke(cli, [*root.args, *root.command])
    assert done.exit_code == 1  # one line, no traceback: the machine, not the input
    assert done.output.strip().endswith("No space left on device")
    assert "Traceback" not in done.output
    assert len(written) == failing_write  # nothing is written after the failure
    assert _visible(root.outputs) == before and _hidden(root.outputs) == []


def test_bad_input_keeps_previous_outputs(sample_bank_run, tmp_path: Path) -> None:
    root = Root(sample_bank_run, tmp_path, {}, "features")
    before = _visible(root.outputs)
    pipeline.io.write_bytes(b"not parquet", root.catalog.interim_table("balances"))
    done = CliRunner().invoke(cli, [*root.args, *root.command])
    assert done.exit_code != 0
    assert _visible(root.outputs) == before and _hidden(root.outputs) == []


def test_a_killed_score_marks_the_period_until_a_run_completes_one_generation(
    sample_bank_run, tmp_path: Path
) -> None:
    root = Root(sample_bank_run, tmp_path, {"value_risk": "watchlist_size: 5"}, "score")
    period = root.period
    killed = subprocess.run(
        [sys.executable, "-c", KILLED_MID_WRITE, "model_card.json", *root.args, *root.command],
        capture_output=True,
        text=True,
    )
    assert killed.returncode == -9, killed.stderr
    for folder in (root.catalog.processed_dir(period), root.catalog.report_build_dir(period)):
        assert (folder / MARKER).read_text(encoding="utf-8") == marker_text(period)

    report = CliRunner().invoke(cli, [*root.args, "report", "--period", period])
    assert report.exit_code == 2
    assert report.output.strip().splitlines() == [
        f"crm: error: {root.catalog.processed_dir(period)}: the outputs of {period} are "
        "incomplete: score has no generation stamp (not run, or interrupted); run "
        f"`crm run --period {period}` (or `make report PERIOD={period}`)"
    ]
    assert (root.catalog.processed_dir(period) / MARKER).is_file()  # still marked

    # a branch of an earlier run, merged away since, and an RM who left: their files are
    # of another generation
    processed = root.catalog.processed_dir(period)
    gone = [
        *(processed / f"watchlist-B09.{ext}" for ext in ("csv", "xlsx")),
        *(
            processed / f"calls-{rm}.{ext}"
            for rm in ("B09-R1", "B01-LEFT")
            for ext in ("csv", "xlsx")
        ),
        processed / "unassigned-B09.csv",
        root.catalog.report_locale_dir(period, "en") / "branch-B09.html",
        root.catalog.report_locale_dir(period, "en") / "branch-B09.pdf",
    ]
    for path in gone:
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text("an earlier generation", encoding="utf-8")
    done = CliRunner().invoke(cli, [*root.args, "run", "--period", period])
    assert done.exit_code == 0, done.output
    for folder in (root.catalog.processed_dir(period), root.catalog.report_build_dir(period)):
        assert not (folder / MARKER).exists()
    assert [p for p in gone if p.exists()] == []
    manifest = json.loads(root.catalog.run_manifest(period).read_text(encoding="utf-8"))
    listed = {Path(o["path"]).name for o in manifest["outputs"]}
    assert "watchlist-B01.csv" in listed and not {p.name for p in gone} & listed
    kept = {"watchlist-B01.xlsx", "unassigned-B01.csv"}  # what this run wrote stays
    assert kept <= listed and any(n.startswith("calls-B01-") for n in listed)
    generation = manifest["generation"]
    assert len(generation) == 12
    for name in ("network.html", "branch-B01.html", "index.html"):
        html = (root.catalog.report_locale_dir(period, "en") / name).read_text(encoding="utf-8")
        assert f'Generation: <span class="mono">{generation}</span>' in html
