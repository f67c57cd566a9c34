"""The `crm` command group: help for every command, one-line errors, exit codes."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest
from click.testing import CliRunner

from pipeline.cli import cli

COMMANDS = sorted(cli.commands)


@pytest.mark.parametrize("command", COMMANDS)
def test_every_command_has_help(command: str) -> None:
    result = CliRunner().invoke(cli, [command, "--help"], prog_name="crm")
    assert result.exit_code == 0, result.output
    assert "Usage: crm " + command in result.output


def test_every_stage_has_a_command() -> None:
    stages = {"sample", "ingest", "validate", "features", "score", "survey", "report", "run"}
    assert stages <= set(cli.commands)


def test_bad_config_is_one_line_exit_2_no_traceback(tmp_path: Path) -> None:
    bad = tmp_path / "bad.yml"
    bad.write_text("rfm: {population: everyone}\n", encoding="utf-8")
    result = CliRunner().invoke(cli, ["--config", str(bad), "period"])
    assert result.exit_code == 2
    assert result.output.strip().splitlines() == [
        "crm: error: rfm.population: must be one of bank, branch; got 'everyone'"
    ]
    assert "Traceback" not in result.output


def test_debug_flag_shows_the_exception(tmp_path: Path) -> None:
    result = CliRunner().invoke(cli, ["--debug", "--config", str(tmp_path / "none.yml"), "period"])
    assert result.exit_code != 0
    assert "config file not found" in str(result.exception)


def test_unknown_option_exits_2() -> None:
    result = CliRunner().invoke(cli, ["ingest", "--no-such-option"])
    assert result.exit_code == 2
    assert "No such option" in result.output


def test_bad_period_is_rejected(tmp_path: Path) -> None:
    result = CliRunner().invoke(
        cli, ["--data-dir", str(tmp_path), "features", "--period", "2026/10"]
    )
    assert result.exit_code == 2
    assert "expected YYYY-MM" in result.output


def test_report_locale_is_any_locale_babel_knows(tmp_path: Path) -> None:
    # not a fixed list: a language added as a catalog folder needs no code change
    root = ["--data-dir", str(tmp_path / "data"), "--report-dir", str(tmp_path / "reports")]
    result = CliRunner().invoke(cli, [*root, "report", "--period", "2026-10", "--locale", "xx_YY"])
    assert result.exit_code == 2
    assert "locale: 'xx_YY' is not a locale Babel knows" in result.output
    result = CliRunner().invoke(cli, [*root, "report", "--period", "2026-10", "--locale", "es_ES"])
    assert result.exit_code == 2 and "run `crm ingest` first" in result.output  # past the locale
    # several locales in one run: every one is checked before any work
    both = ["report", "--period", "2026-10", "--locale", "en", "--locale", "xx_YY"]
    result = CliRunner().invoke(cli, [*root, *both])
    assert result.exit_code == 2
    assert "locale: 'xx_YY' is not a locale Babel knows" in result.output
    # Babel reads "ZH_cn", the report's folder and catalog do not: said before any work
    result = CliRunner().invoke(cli, [*root, "report", "--period", "2026-10", "--locale", "ZH_cn"])
    assert result.exit_code == 2 and "warning" not in result.output
    assert "locale: 'ZH_cn': write a locale as language_REGION" in result.output


def test_run_checks_every_locale_before_ingest(tmp_path: Path) -> None:
    root = ["--data-dir", str(tmp_path / "data"), "--report-dir", str(tmp_path / "reports")]
    both = ["run", "--period", "2026-10", "--locale", "en", "--locale", "xx_YY"]
    result = CliRunner().invoke(cli, [*root, *both])
    assert result.exit_code == 2
    assert "locale: 'xx_YY' is not a locale Babel knows" in result.output
    assert "[1/5] ingest" not in result.output and not (tmp_path / "data").exists()


def test_period_without_data_needs_explicit_period(tmp_path: Path) -> None:
    user = tmp_path / "u.yml"
    user.write_text("source: berka\n", encoding="utf-8")
    if not (Path(__file__).parents[1] / "configs" / "sources" / "berka.yml").exists():
        pytest.skip("berka source config not present")
    result = CliRunner().invoke(cli, ["--config", str(user), "--data-dir", str(tmp_path), "period"])
    assert result.exit_code == 2
    assert "pass --period YYYY-MM or run `crm ingest` first" in result.output


def test_a_full_disk_is_one_line_exit_1(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    import errno

    def disk_full(*args):
        raise OSError(errno.ENOSPC, "No space left on device", str(tmp_path / "x.parquet"))

    monkeypatch.setattr("pipeline.features.stage.run_features", disk_full)
    # ingested data covering the period: a period stage runs only inside the data
    interim = tmp_path / "interim"
    interim.mkdir()
    pd.DataFrame({"txn_time": pd.to_datetime(["2026-09-01", "2026-10-31"])}).to_parquet(
        interim / "transactions.parquet"
    )
    (interim / "manifest.json").write_text('{"source": "sample"}', encoding="utf-8")
    result = CliRunner().invoke(
        cli,
        [
            *("--data-dir", str(tmp_path), "--report-dir", str(tmp_path / "reports")),
            *("features", "--period", "2026-10"),
        ],
    )
    assert result.exit_code == 1
    assert result.output.strip().splitlines() == [
        f"crm: error: {tmp_path / 'x.parquet'}: No space left on device"
    ]


def test_ingest_out_of_memory_is_one_line_exit_1_not_blamed_on_the_file(tmp_path: Path) -> None:
    """DuckDB hitting ingest.memory_limit is the machine's problem, not the export's:
    exit 1 with one line saying which cap to raise, and nothing written."""
    args = ["--data-dir", str(tmp_path / "data"), "--report-dir", str(tmp_path / "reports")]
    made = CliRunner().invoke(cli, [*args, "sample", "--customers", "300", "--months", "3"])
    assert made.exit_code == 0, made.output
    tiny = tmp_path / "tiny.yml"
    tiny.write_text('ingest:\n  memory_limit: "1MB"\n', encoding="utf-8")
    result = CliRunner().invoke(cli, ["--config", str(tiny), *args, "ingest"])
    assert result.exit_code == 1
    (line,) = result.output.strip().splitlines()
    assert line.startswith("crm: error: Out of Memory Error")
    assert line.endswith("(ingest's DuckDB cap is ingest.memory_limit; --debug shows where)")
    assert not (tmp_path / "data" / "interim" / "transactions.parquet").exists()


def test_a_stage_refuses_tables_ingested_from_another_source(tmp_path: Path) -> None:
    """Tables ingested from the sample source, then features run with a config naming
    Berka: the report would put Berka's currency and names on the sample bank's data."""
    from test_ingest_support import bank_frames, config_for, write_frames

    from pipeline.ingest.stage import run_ingest

    data = tmp_path / "data"
    write_frames(data / "raw" / "sample", bank_frames())
    run_ingest(*config_for(data, **{"ingest.max_reject_rate": 1.0}))
    other = tmp_path / "berka.yml"
    other.write_text("source: berka\n", encoding="utf-8")
    roots = ["--data-dir", str(data), "--report-dir", str(tmp_path / "reports")]
    args = ["--config", str(other), *roots, "features", "--period", "2026-09"]
    result = CliRunner().invoke(cli, args)
    assert result.exit_code == 2, result.output
    assert (
        f"crm: error: the tables in {data / 'interim'} were ingested from source 'sample', "
        "but the config names source 'berka': run `crm ingest` with this config first, or "
        "give the config the data were ingested with"
    ) in result.output
    assert not (data / "processed" / "2026-09").exists()
    same = CliRunner().invoke(cli, [*roots, "features", "--period", "2026-09"])
    assert same.exit_code == 0, same.output


def test_a_months_stage_in_the_wrong_folder_creates_nothing_there(tmp_path: Path) -> None:
    """Run from a folder with no data root: said, and no ./data with lock files made."""
    nowhere = tmp_path / "data"
    args = ["--data-dir", str(nowhere), "--report-dir", str(tmp_path / "reports")]
    result = CliRunner().invoke(cli, [*args, "features", "--period", "2026-10"])
    assert result.exit_code == 2
    assert f"{nowhere}: no data root there; run `crm ingest` first" in result.output
    assert not nowhere.exists()
