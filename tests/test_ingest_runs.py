"""Whole runs: idempotency, incremental months, the CLI, and reconciliation as a property."""

from __future__ import annotations

import shutil
import tempfile
from pathlib import Path

import pandas as pd
from click.testing import CliRunner
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from test_ingest_support import bank_frames, config_for, write_frames

from pipeline.cli import cli
from pipeline.ingest.stage import run_ingest
from pipeline.io import read_json

TXN_OCT = "transactions/transactions_2026-10.csv"


def outputs(catalog) -> dict[str, bytes]:
    """Every output of ingest except its parts cache, by path relative to interim/."""
    return {
        p.relative_to(catalog.interim_dir).as_posix(): p.read_bytes()
        for p in sorted(catalog.interim_dir.rglob("*"))
        if p.is_file() and "parts" not in p.relative_to(catalog.interim_dir).parts
    }


def without_last_run(manifest: bytes) -> dict:
    import json

    data = json.loads(manifest)
    data.pop("last_run")
    return data


def dirty_frames() -> dict:
    frames = bank_frames()
    frames[TXN_OCT].loc[2, "amount"] = "abc"
    frames[TXN_OCT] = pd.concat([frames[TXN_OCT], frames[TXN_OCT].iloc[[4]]], ignore_index=True)
    return frames


def test_ingest_twice_gives_identical_bytes(data_root, tmp_path):
    write_frames(data_root / "raw" / "sample", dirty_frames())
    cfg, catalog = config_for(data_root, **{"ingest.max_reject_rate": 0.2})
    run_ingest(cfg, catalog)
    first = outputs(catalog)
    written = catalog.ingest_manifest.stat().st_mtime_ns
    run_ingest(cfg, catalog)  # nothing changed: skipped, nothing written
    assert outputs(catalog) == first
    assert catalog.ingest_manifest.stat().st_mtime_ns == written  # make sees no new ingest
    catalog.ingest_manifest.unlink()
    run_ingest(cfg, catalog)  # every part reused this time
    second = outputs(catalog)
    assert first.keys() == second.keys()
    for name in first:
        if name == "manifest.json":
            assert without_last_run(first[name]) == without_last_run(second[name])
        else:
            assert first[name] == second[name], name
    assert read_json(catalog.ingest_manifest)["last_run"]["files_parsed"] == []

    # a fresh data root, parsing everything again, writes the same table bytes
    other = tmp_path / "other"
    other.mkdir()
    shutil.copytree(data_root / "raw", other / "raw")
    cfg2, catalog2 = config_for(other, **{"ingest.max_reject_rate": 0.2})
    run_ingest(cfg2, catalog2)
    third = outputs(catalog2)
    for name in first:
        if name.endswith(".parquet"):
            assert first[name] == third[name], name


def test_a_new_month_reads_only_the_new_file_and_a_copy_never_double_counts(data_root):
    raw = data_root / "raw" / "sample"
    frames = bank_frames()
    write_frames(raw, frames)
    cfg, catalog = config_for(data_root)
    run_ingest(cfg, catalog)
    assert read_json(catalog.ingest_manifest)["tables"]["transactions"]["accepted"] == 16

    november = frames[TXN_OCT].copy()
    november["txn_id"] = november["txn_id"].str.replace("T202610", "T202611")
    november["txn_time"] = november["txn_time"].str.replace("2026-10-", "2026-11-")
    write_frames(raw, {"transactions/transactions_2026-11.csv": november})
    run_ingest(cfg, catalog)
    manifest = read_json(catalog.ingest_manifest)
    assert manifest["last_run"]["files_parsed"] == ["transactions/transactions_2026-11.csv"]
    assert manifest["tables"]["transactions"]["accepted"] == 24
    assert manifest["as_of"] == "2026-11-30"

    # the same export dropped in again under another name: read, and dropped as duplicates
    shutil.copy(
        raw / "transactions/transactions_2026-11.csv",
        raw / "transactions/transactions_2026-11b.csv",
    )
    run_ingest(cfg, catalog)
    manifest = read_json(catalog.ingest_manifest)
    assert manifest["last_run"]["files_parsed"] == []  # same content: its part is reused
    t = manifest["tables"]["transactions"]
    assert (t["rows_read"], t["accepted"], t["duplicates_dropped"], t["rejected"]) == (32, 24, 8, 0)
    txns = pd.read_parquet(catalog.interim_table("transactions"))
    assert txns["txn_id"].is_unique and len(txns) == 24

    # a changed file is parsed again; a removed one leaves the tables and the parts cache
    (raw / "transactions/transactions_2026-11b.csv").unlink()
    november.loc[0, "amount"] = "1.00"
    write_frames(raw, {"transactions/transactions_2026-11.csv": november})
    run_ingest(cfg, catalog)
    manifest = read_json(catalog.ingest_manifest)
    assert manifest["last_run"]["files_parsed"] == ["transactions/transactions_2026-11.csv"]
    assert manifest["tables"]["transactions"]["rows_read"] == 24
    parts = sorted(p.name for p in (catalog.ingest_parts_dir / "transactions").glob("*.parquet"))
    assert len(parts) == 3


def test_validate_shows_each_reason_at_the_file_holding_most_of_it(data_root):
    """October's export wrote every time day first: the example of that reason comes from
    October's file, not from the first file holding any reject."""
    frames = bank_frames()
    september = frames["transactions/transactions_2026-09.csv"]
    september.loc[0, "customer_id"] = "C9999"  # an earlier file, another reason
    october = frames["transactions/transactions_2026-10.csv"]
    october["txn_time"] = pd.to_datetime(october["txn_time"]).dt.strftime("%d/%m/%Y %H:%M:%S")
    write_frames(data_root / "raw" / "sample", frames)
    result = CliRunner().invoke(cli, ["--data-dir", str(data_root), "validate"])
    assert result.exit_code == 2, result.output
    examples = [line.strip() for line in result.output.splitlines() if "e.g. trans" in line]
    assert examples == [
        "e.g. transactions/transactions_2026-10.csv:2 column txn_time: unparseable_timestamp "
        "(value '01/10/2026 10:00:00'; 8 of the 8 in this file)",
        "e.g. transactions/transactions_2026-09.csv:2 column customer_id: unknown_customer "
        "(value 'C9999')",
    ]


def test_cli_ingest_and_validate(data_root):
    write_frames(data_root / "raw" / "sample", dirty_frames())
    runner = CliRunner()
    result = runner.invoke(cli, ["--data-dir", str(data_root), "validate"])
    assert result.exit_code == 2, result.output  # 1 of 17 transactions rejected: over 1%
    assert "validation failed" in result.output
    assert (
        "transactions: 17 read, 15 accepted, 1 rejected (5.88%), 1 duplicates dropped"
        in result.output
    )
    assert "unparseable_number: 1" in result.output
    assert (
        "e.g. transactions/transactions_2026-10.csv:4 column amount: "
        "unparseable_number (value 'abc')" in result.output
    )
    assert not (data_root / "interim").exists()  # validate writes nothing

    result = runner.invoke(cli, ["--data-dir", str(data_root), "ingest"])
    assert result.exit_code == 2
    assert "reject rate over ingest.max_reject_rate" in result.output
    assert not (data_root / "interim" / "manifest.json").exists()

    write_frames(data_root / "raw" / "sample", bank_frames())
    result = runner.invoke(cli, ["--data-dir", str(data_root), "validate"])
    assert result.exit_code == 0, result.output
    assert "OK: every table reconciles" in result.output
    result = runner.invoke(cli, ["--data-dir", str(data_root), "ingest"])
    assert result.exit_code == 0, result.output
    assert (
        "transactions: 16 read, 16 accepted, 0 rejected (0.00%), 0 duplicates dropped"
        in result.output
    )
    assert (data_root / "interim" / "transactions.parquet").is_file()


# --- reconciliation as a property ---------------------------------------------------------

MINIMAL_SOURCE = """
name: minimal
raw_dir: sample
customer_initiated_txn_types: [transfer_out, card_purchase, cash_deposit]
pii: {drop: [name, national_id, phone]}
tables:
  customers: {files: customers.csv}
  transactions: {files: transactions/transactions_*.csv}
  balances: {files: balances/balances_2026-10.csv}
"""
# kind -> (column, bad value, the reason ingest must give)
DIRT = {
    "bad_amount": ("amount", "12.3.4", "unparseable_number"),
    "negative": ("amount", "-3.00", "amount_not_positive"),
    "zero": ("amount", "0", "amount_not_positive"),
    "unknown": ("customer_id", "C9999", "unknown_customer"),
    "bad_time": ("txn_time", "2026-10-32 10:00:00", "unparseable_timestamp"),
    "bad_channel": ("channel", "telepathy", "invalid_value"),
    "blank_id": ("txn_id", "", "missing_value"),
}


@settings(
    max_examples=12, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(
    dirt=st.dictionaries(
        st.integers(min_value=0, max_value=11),
        st.sampled_from([*DIRT, "duplicate", "conflict"]),
        max_size=8,
    )
)
def test_random_dirt_reconciles_and_every_bad_row_is_a_reject(tmp_path, dirt):
    with tempfile.TemporaryDirectory(dir=tmp_path) as tmp:
        root = Path(tmp) / "data"
        frames = bank_frames(n_customers=4, txns_per_month=12)
        del frames["transactions/transactions_2026-09.csv"]
        txns = frames[TXN_OCT]
        extra, expected = [], {}
        for row, kind in sorted(dirt.items()):
            line = row + 2
            if kind in DIRT:
                column, value, reason = DIRT[kind]
                txns.loc[row, column] = value
                expected[line] = reason
            else:  # a copy of the row at the end of the file: identical, or another amount
                copy = txns.loc[[row]].copy()
                if kind == "conflict":
                    copy["amount"] = "777.77"
                extra.append((row, kind, copy))
        extra_lines = {}
        for i, (row, kind, _) in enumerate(extra):
            extra_lines[len(txns) + i + 2] = (row + 2, kind)
        frames[TXN_OCT] = pd.concat([txns, *[c for _, _, c in extra]], ignore_index=True)
        write_frames(root / "raw" / "sample", frames)
        source = Path(tmp) / "minimal.yml"
        source.write_text(MINIMAL_SOURCE, encoding="utf-8")
        cfg, catalog = config_for(root, source=source, **{"ingest.max_reject_rate": 1.0})
        run_ingest(cfg, catalog)

        t = read_json(catalog.ingest_manifest)["tables"]["transactions"]
        assert t["rows_read"] == 12 + len(extra)
        assert t["rows_read"] == t["accepted"] + t["rejected"] + t["duplicates_dropped"]
        rejects = pd.read_parquet(catalog.rejects_dir / "transactions.parquet")
        by_line = dict(zip(rejects["line_number"], rejects["reason"], strict=True))
        for line, reason in expected.items():
            assert by_line[line] == reason
        for line, (original, kind) in extra_lines.items():
            if original in expected:  # a copy of a bad row is just as bad
                assert by_line[line] == expected[original]
            elif kind == "conflict":
                assert by_line[line] == by_line[original] == "conflicting_key"
            elif by_line.get(original) != "conflicting_key":
                assert by_line[line] == "exact_duplicate"
        accepted = pd.read_parquet(catalog.interim_table("transactions"))
        assert len(accepted) == t["accepted"]
        assert not set(accepted["txn_id"]) & {
            txns.loc[r, "txn_id"] for r, k in dirt.items() if k in DIRT and k != "blank_id"
        } - {""}


def test_a_run_with_nothing_changed_is_skipped_and_any_change_is_not(data_root, monkeypatch):
    import pipeline.ingest.stage as ingest_run
    from pipeline.ingest import write

    write_frames(data_root / "raw" / "sample", dirty_frames())
    cfg, catalog = config_for(data_root, **{"ingest.max_reject_rate": 0.2})
    run_ingest(cfg, catalog)
    first = outputs(catalog)
    opened = []
    connect = ingest_run.duckdb.connect

    def counting_connect(*args, **kwargs):
        opened.append(1)
        return connect(*args, **kwargs)

    monkeypatch.setattr(ingest_run.duckdb, "connect", counting_connect)
    full = write.summary(ingest_run.ingest(cfg, catalog, write_outputs=False))  # validate
    opened.clear()
    summary = run_ingest(cfg, catalog)
    assert opened == []  # skipped: nothing was read
    assert summary == full and "0 file(s) parsed, 8 reused" in full
    assert {k: v for k, v in outputs(catalog).items() if k != "manifest.json"} == {
        k: v for k, v in first.items() if k != "manifest.json"
    }

    # an output removed: a full run (every part reused) writes it again, same bytes
    catalog.interim_table("transactions").unlink()
    run_ingest(cfg, catalog)
    assert opened == [1]
    assert outputs(catalog)["transactions.parquet"] == first["transactions.parquet"]
    assert read_json(catalog.ingest_manifest)["last_run"]["files_parsed"] == []

    # another setting: a full run, then skipped again
    cfg2, _ = config_for(data_root, **{"ingest.max_reject_rate": 0.3})
    run_ingest(cfg2, catalog)
    assert opened == [1, 1]
    run_ingest(cfg2, catalog)
    assert opened == [1, 1]


def test_a_memory_limit_that_is_not_a_size_is_a_config_error(data_root):
    import pytest

    from pipeline.errors import ConfigError

    write_frames(data_root / "raw" / "sample", bank_frames())
    cfg, catalog = config_for(data_root, **{"ingest.memory_limit": "lots"})
    with pytest.raises(ConfigError, match=r"ingest\.memory_limit: 'lots' is not a size"):
        run_ingest(cfg, catalog)
