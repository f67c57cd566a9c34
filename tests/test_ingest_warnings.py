"""Warnings a person sees (issue 22): each with its exact text, logged as a warning by
ingest, in validate's report and the manifest; a key given twice in YAML is an error."""

from __future__ import annotations

import logging
from pathlib import Path

import pytest
from click.testing import CliRunner
from test_ingest_hostile import source_variant
from test_ingest_support import bank_frames, config_for, write_frames, write_lines

from pipeline.cli import cli
from pipeline.config import load_config, read_yaml
from pipeline.errors import ConfigError, InputError
from pipeline.ingest.source import load_source
from pipeline.ingest.stage import run_ingest
from pipeline.io import read_json

TXN_OCT = "transactions/transactions_2026-10.csv"


def three_months_without_september() -> dict:
    """August and October exported, September's transactions and balances not."""
    frames = bank_frames()
    for kind, column in (("transactions", "txn_time"), ("balances", "month_end")):
        august = frames[f"{kind}/{kind}_2026-09.csv"].copy()
        august[column] = august[column].str.replace("2026-09-30", "2026-08-31")
        august[column] = august[column].str.replace("2026-09-", "2026-08-")
        if kind == "transactions":
            august["txn_id"] = august["txn_id"].str.replace("T202609", "T202608")
        frames[f"{kind}/{kind}_2026-08.csv"] = august
        del frames[f"{kind}/{kind}_2026-09.csv"]
    return frames


def filled_frames() -> dict:
    """The clean little bank with one customer closed in October: every optional column
    then holds a value, so no "empty in every row" warning stands beside the one a test
    is about."""
    frames = bank_frames()
    frames["customers.csv"].loc[0, ["close_date", "status"]] = ["2026-10-01", "closed"]
    return frames


def logged_warnings(caplog) -> list[str]:
    return [r.getMessage() for r in caplog.records if r.levelno == logging.WARNING]


def warnings_of(data_root: Path, frames: dict, caplog, **overrides) -> tuple[list[str], list]:
    """The manifest's warnings and those ingest logged."""
    write_frames(data_root / "raw" / "sample", frames)
    cfg, catalog = config_for(data_root, **overrides)
    with caplog.at_level(logging.WARNING, logger="pipeline"):
        run_ingest(cfg, catalog)
    return read_json(catalog.ingest_manifest)["warnings"], logged_warnings(caplog)


def test_a_missing_month_is_a_warning(data_root, caplog):
    # the period fixes the as-of (derived, it would stop at the gap: checks.derive_as_of)
    warnings, logged = warnings_of(
        data_root, three_months_without_september(), caplog, period="2026-10"
    )
    expected = [
        "transactions: no rows for 2026-09, between 2026-08 and 2026-10: "
        "is a monthly export missing?",
        "balances: no rows for 2026-09, between 2026-08 and 2026-10: is a monthly export missing?",
    ]
    assert [w for w in warnings if "no rows for" in w] == expected
    assert logged == warnings  # each once


def test_a_customer_initiated_list_matching_nothing_is_a_warning(data_root, tmp_path):
    def typo(raw):
        raw["customer_initiated_txn_types"] = ["tranfser_out", "card_purchse"]

    write_frames(data_root / "raw" / "sample", bank_frames())
    cfg, catalog = config_for(data_root, source=source_variant(tmp_path, typo))
    run_ingest(cfg, catalog)
    assert read_json(catalog.ingest_manifest)["warnings"] == [
        "customers.close_date: empty in every row (source column 'close_date': absent from "
        "the files or never filled)",
        "customer_initiated_txn_types (tranfser_out, card_purchse) matches none of the 16 "
        "transactions, whose most frequent types are card_purchase, cash_deposit, interest, "
        "transfer_out: every customer will look dormant; check the list in variant.yml",
    ]


def test_an_optional_column_mapped_to_an_absent_header_is_a_warning(data_root, tmp_path, caplog):
    def fee(raw):
        raw["tables"]["transactions"]["columns"] = {"revenue": "fee"}

    frames = filled_frames()
    write_frames(data_root / "raw" / "sample", frames)
    cfg, catalog = config_for(data_root, source=source_variant(tmp_path, fee))
    with caplog.at_level(logging.WARNING, logger="pipeline"):
        summary = run_ingest(cfg, catalog)
    warning = (
        "transactions.revenue: empty in every row (source column 'fee': absent from the "
        "files or never filled)"
    )
    manifest = read_json(catalog.ingest_manifest)
    assert manifest["warnings"] == [warning]
    assert manifest["findings"] == [  # the same, as codes the report words in its language
        {"code": "empty_column", "table": "transactions", "column": "revenue", "source": "fee"}
    ]
    assert logged_warnings(caplog) == [warning]
    assert "warning" not in summary  # a result, the warning said once beside it


def test_an_optional_header_missing_from_one_months_file_is_a_warning(data_root, caplog):
    """September's export has `revenue`, October's calls it `Revenue`: October's rows
    would earn nothing, and the table-wide count (September filled it) says nothing."""
    frames = filled_frames()
    frames[TXN_OCT] = frames[TXN_OCT].rename(columns={"revenue": "Revenue"})
    warnings, logged = warnings_of(data_root, frames, caplog)
    warning = (
        "transactions.revenue: 1 of the 2 files have no column 'revenue' "
        "(transactions/transactions_2026-10.csv): their rows have it empty; was the header "
        "renamed in those exports?"
    )
    assert warnings == [warning] and logged == [warning]


def test_a_monthly_file_saved_twice_is_a_warning(data_root, caplog):
    """October's export also saved as transactions_2026-10b.csv: its rows are exact
    duplicates, dropped and counted; the warning says which file copies which."""
    frames = filled_frames()
    frames["transactions/transactions_2026-10b.csv"] = frames[TXN_OCT]
    warnings, logged = warnings_of(data_root, frames, caplog)
    warning = (
        "transactions/transactions_2026-10b.csv: the same bytes as "
        "transactions/transactions_2026-10.csv: its rows were dropped as exact duplicates; "
        "is one of the two misnamed (a month exported twice)?"
    )
    assert warnings == [warning] and logged == [warning]


def test_columns_a_source_declares_absent_are_no_warning(data_root, tmp_path, caplog):
    """The bank's exports have no close dates: said once in the source config (`absent`),
    not warned about at every ingest."""

    def absent(raw):
        raw["tables"]["customers"]["absent"] = ["close_date"]

    frames = bank_frames()  # close_date empty in every row
    write_frames(data_root / "raw" / "sample", frames)
    cfg, catalog = config_for(data_root, source=source_variant(tmp_path, absent))
    with caplog.at_level(logging.WARNING, logger="pipeline"):
        run_ingest(cfg, catalog)
    assert read_json(catalog.ingest_manifest)["warnings"] == []
    assert logged_warnings(caplog) == []


@pytest.mark.parametrize(
    ("absent", "message"),
    [
        (["customer_id"], r"tables\.customers\.absent: 'customer_id' is not an optional column"),
        (["gender"], r"tables\.customers\.absent: 'gender' is mapped in columns too"),
    ],
)
def test_absent_names_an_optional_column_not_mapped(tmp_path, absent, message):
    def declare(raw):
        raw["tables"]["customers"]["absent"] = absent
        raw["tables"]["customers"].setdefault("columns", {})["gender"] = "gender"

    with pytest.raises(ConfigError, match=message):
        load_source(str(source_variant(tmp_path, declare)))


def test_liabilities_exported_as_negative_amounts_are_a_warning(data_root):
    """Loans signed negative, as some core systems export amounts owed: accepted (a card
    paid in excess is negative too), and a finding; a few negative ones are not."""
    frames = bank_frames()
    for name in [n for n in frames if n.startswith("balances/")]:
        b = frames[name]
        loans = b["product"] == "loan"
        b.loc[loans, "balance"] = "-" + b.loc[loans, "balance"]
    write_frames(data_root / "raw" / "sample", frames)
    cfg, catalog = config_for(data_root)
    run_ingest(cfg, catalog)
    manifest = read_json(catalog.ingest_manifest)
    loans = sum(int((f["product"] == "loan").sum()) for n, f in frames.items() if "balances" in n)
    assert {
        "code": "negative_liabilities",
        "product": "loan",
        "negative": loans,
        "rows": loans,
    } in manifest["findings"]
    assert manifest["tables"]["balances"]["rejected"] == 0
    # one loan in credit among many owed: ordinary, no finding
    b = frames["balances/balances_2026-10.csv"]
    for name in [n for n in frames if n.startswith("balances/")]:
        frames[name]["balance"] = frames[name]["balance"].str.lstrip("-")
    first_loan = b.index[b["product"] == "loan"][0]
    b.loc[first_loan, "balance"] = "-5.00"
    write_frames(data_root / "raw" / "sample", frames)
    run_ingest(cfg, catalog)
    codes = [f["code"] for f in read_json(catalog.ingest_manifest)["findings"]]
    assert "negative_liabilities" not in codes


def test_a_repeated_header_warns_when_unread_and_stops_when_read(data_root):
    raw = data_root / "raw" / "sample"
    frames = filled_frames()
    write_frames(raw, frames)
    rm = raw / "rm_contacts.csv"
    lines = rm.read_text(encoding="utf-8").splitlines()
    lines[0] += ",note,note"
    lines[1:] = [line + ",a,b" for line in lines[1:]]
    write_lines(rm, lines)
    cfg, catalog = config_for(data_root)
    run_ingest(cfg, catalog)
    assert read_json(catalog.ingest_manifest)["warnings"] == [
        "rm_contacts.csv: column 'note' appears more than once in the header (not read)"
    ]
    result = CliRunner().invoke(cli, ["--data-dir", str(data_root), "validate"])
    assert (
        "warning: rm_contacts.csv: column 'note' appears more than once in the header "
        "(not read)" in result.output
    )

    lines[0] = lines[0].replace("rm_id", "outcome")  # outcome twice: which one is meant?
    write_lines(rm, lines)
    with pytest.raises(
        InputError,
        match=r"rm_contacts\.csv: column 'outcome' appears 2 times in the header \(columns 2, 5\); "
        r"the source config reads it and which one is meant cannot be told: export it once",
    ):
        run_ingest(cfg, catalog)


def test_a_key_given_twice_in_yaml_is_an_error(tmp_path):
    user = tmp_path / "bank.yml"
    user.write_text(
        "period: 2026-09\nfeatures:\n  dormant_days: 90\n  window_months: 6\n  dormant_days: 120\n",
        encoding="utf-8",
    )
    with pytest.raises(
        ConfigError,
        match=rf"{user}: line 5: duplicate key 'dormant_days' \(first set on line 3\)",
    ):
        load_config(user, env={})
    result = CliRunner().invoke(cli, ["--config", str(user), "period"])
    assert result.exit_code == 2
    assert "duplicate key 'dormant_days' (first set on line 3)" in result.output


def test_a_source_config_with_a_key_twice_is_an_error(tmp_path):
    source = tmp_path / "bank.yml"
    source.write_text(
        "name: x\nraw_dir: x\ncustomer_initiated_txn_types: [a]\ntables:\n"
        "  customers: {files: c.csv}\n  transactions: {files: t.csv}\n"
        "  customers: {files: other.csv}\n  balances: {files: b.csv}\n",
        encoding="utf-8",
    )
    with pytest.raises(
        ConfigError, match=r"line 7: duplicate key 'customers' \(first set on line 5\)"
    ):
        load_source(str(source))


def test_yaml_merge_keys_may_still_be_overridden(tmp_path):
    path = tmp_path / "merge.yml"
    path.write_text("base: &b {x: 1, y: 2}\nuse:\n  <<: *b\n  x: 3\n", encoding="utf-8")
    assert read_yaml(path)["use"] == {"x": 3, "y": 2}
