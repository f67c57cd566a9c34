"""What a run shows: log levels (-v, -q), a log file, stage numbering and each warning
once, colour and progress bars only on a terminal."""

from __future__ import annotations

import io
import logging
import re
import subprocess
import sys
import threading

import pytest
from click.testing import CliRunner

from pipeline import console
from pipeline.cli import cli
from pipeline.io import read_json
from pipeline.steps import Step, run_steps

ANSI = re.compile(r"\x1b\[[0-9;?]*[A-Za-z]")


@pytest.fixture(autouse=True)
def _quiet_again():
    yield
    logger = logging.getLogger(console.LOGGER)
    for handler in [h for h in logger.handlers if getattr(h, "_crm", False)]:
        logger.removeHandler(handler)
        handler.close()
    logger.setLevel(logging.NOTSET)
    console._bars.update(enabled=False, active=False)


def _features(monkeypatch, summary="features 2026-10: 3 customers", warn=None):
    def run_features(cfg, catalog, period):
        if warn:
            logging.getLogger("pipeline.features.stage").warning(warn)
        logging.getLogger("pipeline.features.stage").debug("a detail")
        return summary

    monkeypatch.setattr("pipeline.features.stage.run_features", run_features)
    # what a run shows, not the period's generation (tests/test_generations.py): no data
    # root to check the period against
    monkeypatch.setattr(
        "pipeline.cli.period_stage",
        lambda cfg, catalog, period, stage, func: lambda: func(cfg, catalog, period),
    )


def test_results_on_stdout_progress_on_stderr_by_level(monkeypatch, tmp_path):
    _features(monkeypatch, warn="thin data")
    args = ["--data-dir", str(tmp_path), "features", "--period", "2026-10"]
    runner = CliRunner()

    normal = runner.invoke(cli, args)
    assert normal.exit_code == 0, normal.output
    assert normal.stdout == "features 2026-10: 3 customers\n"
    assert normal.stderr.splitlines()[0] == "warning: thin data"
    assert re.fullmatch(r"features: done in \d+\.\ds", normal.stderr.splitlines()[1])
    assert len(normal.stderr.splitlines()) == 2  # no debug lines

    quiet = runner.invoke(cli, ["-q", *args])
    assert quiet.stdout == "features 2026-10: 3 customers\n"
    assert quiet.stderr == "warning: thin data\n"

    verbose = runner.invoke(cli, ["-v", *args])
    assert "debug: a detail" in verbose.stderr.splitlines()
    assert verbose.stderr.splitlines()[0].startswith("debug: crm ")


def test_the_log_file_records_results_warnings_and_errors_once_with_times(monkeypatch, tmp_path):
    _features(monkeypatch, warn="thin data")
    log = tmp_path / "logs" / "crm.log"
    (tmp_path / "d").mkdir()  # an ingested root, for the stand-in stage
    args = ["--log-file", str(log), "--data-dir", str(tmp_path / "d")]
    runner = CliRunner()
    ok = runner.invoke(cli, [*args, "features", "--period", "2026-10"])
    assert ok.exit_code == 0, ok.output
    failed = runner.invoke(cli, [*args, "features", "--period", "2026/10"])
    assert failed.exit_code == 2
    lines = log.read_text(encoding="utf-8").splitlines()
    stamp = r"\d{4}-\d\d-\d\d \d\d:\d\d:\d\d,\d{3}"
    assert all(re.match(stamp + r" (DEBUG|INFO|WARNING|ERROR) ", line) for line in lines)
    text = "\n".join(lines)
    assert text.count("features 2026-10: 3 customers") == 1
    assert text.count("WARNING pipeline.features.stage: thin data") == 1
    assert "DEBUG   pipeline.features.stage: a detail" in text  # the file always has debug
    assert re.search(r"ERROR   pipeline.cli: .*expected YYYY-MM", text)
    assert failed.stderr.count("expected YYYY-MM") == 1  # the console says it once


def test_run_as_python_dash_m_the_error_reaches_the_log_file_and_is_said_once(tmp_path):
    """Under `python -m pipeline.cli` the module is __main__: its logger must still be
    pipeline's, or the error skips the log file and Python prints it a second time."""
    log = tmp_path / "crm.log"
    args = ["--log-file", str(log), "--data-dir", str(tmp_path / "d"), "features"]
    done = subprocess.run(
        [sys.executable, "-m", "pipeline.cli", *args, "--period", "2026/10"],
        capture_output=True,
        text=True,
        check=False,
    )
    assert done.returncode == 2
    assert done.stderr.count("expected YYYY-MM") == 1
    assert re.search(r"ERROR   pipeline.cli: .*expected YYYY-MM", log.read_text(encoding="utf-8"))


def test_colour_only_on_a_terminal_and_never_with_no_color(monkeypatch, tmp_path):
    _features(monkeypatch, warn="thin data")
    args = ["--data-dir", str(tmp_path), "features", "--period", "2026-10"]
    assert not ANSI.search(CliRunner().invoke(cli, args).output)  # a pipe: plain text
    coloured = CliRunner().invoke(cli, args, color=True)  # as a terminal would
    assert "\x1b[33mwarning: \x1b[0mthin data" in coloured.stderr
    monkeypatch.setenv("NO_COLOR", "1")
    assert not ANSI.search(CliRunner().invoke(cli, args, color=True).output)


def test_a_monthly_run_numbers_its_stages_once_and_says_each_warning_once(sample_bank_run):
    out = sample_bank_run.run_output
    starts = re.findall(r"^\[(\d)/(\d)\] (\w+) \.\.\.$", out, flags=re.M)
    assert starts == [
        ("1", "5", "ingest"),
        ("2", "5", "features"),
        ("3", "5", "score"),
        ("4", "5", "survey"),
        ("5", "5", "report"),
    ]
    card = read_json(sample_bank_run.data_dir / "processed" / "2026-10" / "model_card.json")
    assert card["warnings"], "the sample bank's run has warnings to show"
    ingest = read_json(sample_bank_run.data_dir / "interim" / "manifest.json")
    for warning in ingest["warnings"] + card["warnings"]:
        assert out.count(f"warning: {warning}") == 1, warning
    run = read_json(sample_bank_run.data_dir / "runs" / "2026-10" / "run_manifest.json")
    assert len(run["warnings"]) == len(ingest["warnings"]) + len(card["warnings"])
    assert f"{len(run['warnings'])} warning(s) this run" in out


class _Terminal(io.StringIO):
    def isatty(self) -> bool:
        return True


def test_progress_bars_only_on_a_terminal(monkeypatch):
    console.setup_logging(0)
    with console.progress("files", 3) as advance:  # not a terminal: nothing drawn
        advance()
    terminal = _Terminal()
    monkeypatch.setattr("sys.stderr", terminal)
    console.setup_logging(-1)  # quiet: no bar either
    with console.progress("files", 3) as advance:
        advance()
    assert terminal.getvalue() == ""
    console.setup_logging(0)
    with console.stage("ingest"), console.progress("files", 3) as advance:
        for name in ("a.csv", "b.csv", "c.csv"):
            advance(item=name)
    drawn = terminal.getvalue()
    assert "ingest: files" in drawn and "3/3" in drawn and "c.csv" in drawn


def test_one_bar_at_a_time_and_none_from_worker_threads(monkeypatch):
    terminal = _Terminal()
    monkeypatch.setattr("sys.stderr", terminal)
    console.setup_logging(0)
    seen = []
    with console.progress("outer", 2) as outer:
        with console.progress("inner", 5) as inner:
            seen.append(inner is console._ignore)
        worker = threading.Thread(
            target=lambda: seen.append(console.progress("t", 5).__enter__() is console._ignore)
        )
        worker.start()
        worker.join()
        outer(2)
    assert seen == [True, True]
    assert "inner" not in terminal.getvalue() and "outer" in terminal.getvalue()


def test_steps_log_their_time_and_advance_a_bar(monkeypatch, caplog):
    terminal = _Terminal()
    monkeypatch.setattr("sys.stderr", terminal)
    console.setup_logging(1)
    steps = [Step("a", lambda x: x + 1, ("x",)), Step("b", lambda a: a * 2, ("a",))]
    with caplog.at_level(logging.DEBUG, logger="pipeline.steps"):
        assert run_steps(steps, {"x": 1}, ["b"], workers=2) == {"b": 4}
    timed = [r.getMessage() for r in caplog.records if r.name == "pipeline.steps"]
    assert [m.split(":")[0] for m in timed] == ["step a", "step b"]
    assert "steps" in terminal.getvalue() and "2/2" in terminal.getvalue()
