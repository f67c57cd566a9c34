"""Ingest's data contracts, one bad input at a time, on hand-made exports.

Line numbers: frames are written with a header line, so row i of a frame is line i + 2.
"""

from __future__ import annotations

import json
import re
from pathlib import Path

import pandas as pd
import pytest
from test_ingest_support import (
    bank_frames,
    config_for,
    rejects,
    source_variant,
    write_frames,
    write_lines,
)

from pipeline.errors import InputError
from pipeline.ingest.stage import run_ingest
from pipeline.io import read_json

TXN_OCT = "transactions/transactions_2026-10.csv"


def ingest(data_root: Path, frames: dict, **overrides) -> tuple[dict, object]:
    write_frames(data_root / "raw" / "sample", frames)
    cfg, catalog = config_for(data_root, **{"ingest.max_reject_rate": 1.0, **overrides})
    run_ingest(cfg, catalog)
    return read_json(catalog.ingest_manifest), catalog


def only_reject(catalog, table: str) -> dict:
    frame = rejects(catalog, table)
    assert len(frame) == 1, frame
    return frame.iloc[0].to_dict()


# --- files that stop the run ------------------------------------------------------------


def test_missing_file_stops_the_run(data_root):
    frames = bank_frames()
    del frames["rm_contacts.csv"]
    with pytest.raises(InputError, match=r"rm_contacts\.csv: no such file"):
        ingest(data_root, frames)
    assert not (data_root / "interim" / "manifest.json").exists()


def test_empty_file_stops_the_run(data_root):
    write_frames(data_root / "raw" / "sample", bank_frames())
    (data_root / "raw" / "sample" / "customers.csv").write_bytes(b"")
    cfg, catalog = config_for(data_root)
    with pytest.raises(InputError, match=r"customers\.csv: the file is empty"):
        run_ingest(cfg, catalog)


def test_header_only_file_stops_the_run(data_root):
    frames = bank_frames()
    frames["rm_contacts.csv"] = frames["rm_contacts.csv"].iloc[:0]
    with pytest.raises(
        InputError, match=r"rm_contacts\.csv: the file holds a header but no data rows"
    ):
        ingest(data_root, frames)


def test_missing_required_column_names_file_and_column(data_root):
    frames = bank_frames()
    frames[TXN_OCT] = frames[TXN_OCT].drop(columns=["amount"])
    with pytest.raises(InputError, match=r"transactions_2026-10\.csv: required column 'amount'"):
        ingest(data_root, frames)


def test_missing_required_column_without_an_explanation_has_no_hint(data_root):
    frames = bank_frames()
    frames[TXN_OCT] = frames[TXN_OCT].drop(columns=["amount"])
    with pytest.raises(InputError) as error:
        ingest(data_root, frames)
    assert str(error.value).endswith("direction, channel, txn_type, revenue")


def test_a_header_in_another_case_is_named_not_guessed(data_root):
    frames = bank_frames()
    frames[TXN_OCT] = frames[TXN_OCT].rename(columns={"amount": "AMOUNT"})
    with pytest.raises(
        InputError,
        match=r"required column 'amount' .* The file has 'AMOUNT', which differs only in "
        r"case: name it so in the source config's `columns:` for this table$",
    ):
        ingest(data_root, frames)


@pytest.mark.parametrize("separator", [";", "\t", "|"])
def test_a_file_split_by_another_separator_says_which(data_root, separator):
    frames = bank_frames()
    write_frames(data_root / "raw" / "sample", frames)
    frames[TXN_OCT].to_csv(data_root / "raw" / "sample" / TXN_OCT, index=False, sep=separator)
    cfg, catalog = config_for(data_root)
    shown = json.dumps(separator)
    with pytest.raises(
        InputError,
        match=re.escape(
            f'The header is split by {shown}, not the declared ",": set `separator: {shown}` '
            "for this table in the source config"
        ),
    ):
        run_ingest(cfg, catalog)


def test_missing_optional_column_is_fine(data_root):
    frames = bank_frames()
    frames[TXN_OCT] = frames[TXN_OCT].drop(columns=["revenue"])
    manifest, catalog = ingest(data_root, frames)
    txns = pd.read_parquet(catalog.interim_table("transactions"))
    assert txns["revenue"].isna().sum() == 8
    assert manifest["tables"]["transactions"]["accepted"] == 16


def test_wrong_encoding_names_the_line(data_root):
    frames = bank_frames()
    frames["customers.csv"].loc[2, "branch_id"] = "北京分行"
    write_frames(data_root / "raw" / "sample", frames)
    path = data_root / "raw" / "sample" / "customers.csv"
    frames["customers.csv"].to_csv(path, index=False, encoding="gb18030")
    cfg, catalog = config_for(data_root)
    with pytest.raises(
        InputError, match=r"customers\.csv: line 4: bytes are not valid utf-8.*gb18030"
    ):
        run_ingest(cfg, catalog)


# --- values that do not cast ------------------------------------------------------------


UNCASTABLE = [
    ("customers.csv", 3, "open_date", "2020-02-30", "unparseable_date"),
    ("customers.csv", 1, "digital_enrolled", "maybe", "unparseable_bool"),
    ("customers.csv", 4, "gender", "X", "invalid_value"),
    ("customers.csv", 0, "branch_id", "", "missing_value"),
    (TXN_OCT, 5, "txn_time", "2026-10-05 25:00:00", "unparseable_timestamp"),
    (TXN_OCT, 6, "amount", "12,50", "unparseable_number"),
    (TXN_OCT, 2, "amount", "nan", "unparseable_number"),
    (TXN_OCT, 7, "channel", "fax", "invalid_value"),
    ("balances/balances_2026-09.csv", 0, "balance", "1.2.3", "unparseable_number"),
    ("survey_customer.csv", 1, "response_date", "yesterday", "unparseable_date"),
]
TABLE_OF = {
    "customers.csv": "customers",
    TXN_OCT: "transactions",
    "balances/balances_2026-09.csv": "balances",
    "survey_customer.csv": "survey_responses",
}


def test_uncastable_values_are_rejected_with_file_line_column(data_root):
    frames = bank_frames()
    for file, row, column, bad, _ in UNCASTABLE:
        frames[file].loc[row, column] = bad
    manifest, catalog = ingest(data_root, frames)
    for file, row, column, bad, reason in UNCASTABLE:
        frame = rejects(catalog, TABLE_OF[file])
        got = frame[(frame["source_file"] == file) & (frame["line_number"] == row + 2)]
        assert len(got) == 1, (file, row)
        got = got.iloc[0]
        assert (got["column"], got["reason"]) == (column, reason)
        assert got["value"] == bad if bad else pd.isna(got["value"])
    assert manifest["tables"]["customers"]["rejected_by_reason"] == {
        "invalid_value": 1,
        "missing_value": 1,
        "unparseable_bool": 1,
        "unparseable_date": 1,
    }


def test_malformed_row_and_blank_line_keep_line_numbers_exact(data_root):
    write_frames(data_root / "raw" / "sample", bank_frames())
    path = data_root / "raw" / "sample" / TXN_OCT
    lines = path.read_text(encoding="utf-8").splitlines()
    # line 3 gets an extra field, a blank line is inserted before line 6, line 8 (now 9) is bad
    lines[2] = lines[2] + ",surplus"
    lines.insert(5, "")
    bad_line = lines[8].replace("credit", "sideways").replace("debit", "sideways")
    lines[8] = bad_line
    write_lines(path, lines)
    cfg, catalog = config_for(data_root, **{"ingest.max_reject_rate": 1.0})
    run_ingest(cfg, catalog)
    got = rejects(catalog, "transactions")
    assert list(zip(got["line_number"], got["reason"], strict=True)) == [
        (3, "malformed_row"),
        (9, "invalid_value"),
    ]
    assert got.iloc[1]["column"] == "direction"
    manifest = read_json(catalog.ingest_manifest)
    october = next(f for f in manifest["files"] if f["file"] == TXN_OCT)
    assert october["rows_read"] == 8 and october["line_numbers"] == "exact"


def test_quoted_line_breaks_keep_line_numbers_exact(data_root):
    """Values holding line breaks (a channel over two lines, one over three with a blank
    line inside) before a ragged row, a blank line and a bad value: every reject names
    the physical line an editor shows, and the manifest says the numbers are exact."""
    write_frames(data_root / "raw" / "sample", bank_frames())
    path = data_root / "raw" / "sample" / TXN_OCT
    lines = path.read_text(encoding="utf-8").splitlines()
    lines[1] = lines[1].replace(",mobile,", ',"mob\nile",')  # line 2 spans lines 2-3
    lines[3] = lines[3].replace(",counter,", ',"coun\n\nter",')  # line 4 spans 5-7
    lines[4] = lines[4] + ",surplus"  # physical line 8
    lines.insert(6, "")  # physical line 10
    lines[8] = lines[8].replace("credit", "sideways").replace("debit", "sideways")  # 12
    write_lines(path, lines)
    cfg, catalog = config_for(data_root, **{"ingest.max_reject_rate": 1.0})
    run_ingest(cfg, catalog)
    got = rejects(catalog, "transactions")
    assert got[["line_number", "reason", "value"]].values.tolist() == [
        [2, "control_character", "mob\nile"],
        [5, "control_character", "coun\n\nter"],
        [8, "malformed_row", "Expected Number of Columns: 8 Found: 9"],
        [12, "invalid_value", "sideways"],
    ]
    manifest = read_json(catalog.ingest_manifest)
    october = next(f for f in manifest["files"] if f["file"] == TXN_OCT)
    assert october["rows_read"] == 8 and october["line_numbers"] == "exact"


def test_a_quote_closed_a_row_late_joins_two_rows_and_is_rejected_not_accepted(data_root):
    """A quote opened in row 1's txn_type and closed in row 2's: the two rows are one
    record whose txn_type holds row 2 (line break, separators and all). Every value of it
    still casts, so only the control character tells: rejected at line 2, the record's
    text (row 2 within it) quarantined; read = accepted + rejected."""
    write_frames(data_root / "raw" / "sample", bank_frames())
    path = data_root / "raw" / "sample" / TXN_OCT
    lines = path.read_text(encoding="utf-8").splitlines()
    lines[1] = lines[1].replace(",transfer_out,", ',"transfer_out,')
    lines[2] = lines[2].replace(",interest,", ',interest",')
    write_lines(path, lines)
    cfg, catalog = config_for(data_root, **{"ingest.max_reject_rate": 1.0})
    run_ingest(cfg, catalog)
    got = only_reject(catalog, "transactions")
    assert (got["line_number"], got["reason"], got["column"]) == (
        2,
        "control_character",
        "txn_type",
    )
    assert got["value"].startswith("transfer_out,0.00\nT20261000001,")
    october = next(f for f in read_json(catalog.ingest_manifest)["files"] if f["file"] == TXN_OCT)
    assert october["rows_read"] == 7 and october["line_numbers"] == "exact"
    t = read_json(catalog.ingest_manifest)["tables"]["transactions"]
    assert (t["rows_read"], t["accepted"], t["rejected"], t["duplicates_dropped"]) == (15, 14, 1, 0)


def test_a_tab_only_id_is_rejected_as_a_control_character(data_root):
    frames = bank_frames()
    frames[TXN_OCT].loc[3, "txn_id"] = "\t"
    _, catalog = ingest(data_root, frames)
    got = only_reject(catalog, "transactions")
    assert (got["line_number"], got["reason"], got["column"]) == (5, "control_character", "txn_id")


@pytest.mark.parametrize(
    ("file", "column", "txns"),
    [
        ("customers.csv", "open_date", 8),  # DuckDB reads the rows into the name
        (TXN_OCT, "revenue", 8),  # ... the last column: "a header but no data rows"
        (TXN_OCT, "amount", 3_000),  # over 128 kB: no reader splits the header at all
    ],
)
def test_a_quote_left_open_in_the_header_is_named_and_prints_no_rows(data_root, file, column, txns):
    frames = bank_frames(txns_per_month=txns)
    write_frames(data_root / "raw" / "sample", frames)
    path = data_root / "raw" / "sample" / file
    lines = path.read_text(encoding="utf-8").splitlines()
    position = lines[0].split(",").index(column) + 1
    lines[0] = lines[0].replace(column, '"' + column)
    write_lines(path, lines)
    cfg, catalog = config_for(data_root, **{"ingest.max_reject_rate": 1.0})
    with pytest.raises(InputError) as caught:
        run_ingest(cfg, catalog)
    message = str(caught.value)
    assert message.endswith(
        f"{file}: line 1 (the header): column {position} opens a quote that is not closed "
        "on the header line, so the rows below would be read as its name; fix the quotes "
        "in the header"
    )
    assert "Person" not in message and "C0001" not in message


def test_one_line_ending_unlike_the_others_is_named(data_root):
    """DuckDB's strict reader stops at a CRLF line in an LF file ("the CSV Parser state
    machine reached an invalid state", no line): the error names the line."""
    write_frames(data_root / "raw" / "sample", bank_frames())
    path = data_root / "raw" / "sample" / TXN_OCT
    lines = path.read_text(encoding="utf-8").splitlines()
    lines[3] += "\r"  # physical line 4 ends with CR LF
    write_lines(path, lines)
    cfg, catalog = config_for(data_root, **{"ingest.max_reject_rate": 1.0})
    with pytest.raises(InputError) as caught:
        run_ingest(cfg, catalog)
    assert str(caught.value).endswith(
        f"{TXN_OCT}: line 4: ends with CRLF (Windows) where the lines before it end with "
        "LF (Unix); save the file with one kind of line ending"
    )


def test_a_header_name_over_two_lines_keeps_line_numbers_exact(data_root):
    write_frames(data_root / "raw" / "sample", bank_frames())
    path = data_root / "raw" / "sample" / TXN_OCT
    lines = path.read_text(encoding="utf-8").splitlines()
    lines[0] = lines[0].replace(",revenue", ',"reve\nnue"')  # header on lines 1-2
    lines[3] = lines[3].replace("credit", "sideways").replace("debit", "sideways")  # 5
    write_lines(path, lines)
    source = source_variant(
        data_root.parent,
        lambda raw: raw["tables"]["transactions"].update(columns={"revenue": "reve\nnue"}),
    )
    cfg, catalog = config_for(data_root, source=source, **{"ingest.max_reject_rate": 1.0})
    run_ingest(cfg, catalog)
    got = rejects(catalog, "transactions")
    assert got[["line_number", "value"]].values.tolist() == [[5, "sideways"]]
    october = next(f for f in read_json(catalog.ingest_manifest)["files"] if f["file"] == TXN_OCT)
    assert october["line_numbers"] == "exact"


def test_an_unsplittable_row_over_several_lines_is_refused(data_root):
    """A ragged row whose quoted value holds a line break cannot be told from a quote left
    open over the rows after it (their rows would be lost uncounted): refused, named."""
    write_frames(data_root / "raw" / "sample", bank_frames())
    path = data_root / "raw" / "sample" / TXN_OCT
    lines = path.read_text(encoding="utf-8").splitlines()
    lines[3] = lines[3].replace(",counter,", ',"coun\nter",') + ",surplus"
    write_lines(path, lines)
    cfg, catalog = config_for(data_root, **{"ingest.max_reject_rate": 1.0})
    with pytest.raises(InputError, match=r"transactions_2026-10\.csv: line 4: a row that cannot"):
        run_ingest(cfg, catalog)


def test_padded_values_are_trimmed_before_casting(data_root):
    """A file with a space at a value's edge goes through trim (padding.PaddingScan); the
    clean files beside it do not, and both give the same canonical rows."""
    frames = bank_frames()
    clean, catalog = ingest(data_root, frames)
    expected = pd.read_parquet(catalog.interim_table("transactions"))
    padded = frames[TXN_OCT].copy()
    for col in ("customer_id", "amount", "channel", "txn_time"):
        padded[col] = " " + padded[col] + "\u3000"
    frames[TXN_OCT] = padded
    manifest, catalog = ingest(data_root / "again", frames)
    assert manifest["tables"]["transactions"]["accepted"] == 16
    pd.testing.assert_frame_equal(pd.read_parquet(catalog.interim_table("transactions")), expected)


# --- keys -------------------------------------------------------------------------------


def test_exact_duplicate_is_dropped_and_counted(data_root):
    frames = bank_frames()
    oct_ = frames[TXN_OCT]
    frames[TXN_OCT] = pd.concat([oct_, oct_.iloc[[3]]], ignore_index=True)
    manifest, catalog = ingest(data_root, frames)
    t = manifest["tables"]["transactions"]
    assert (t["rows_read"], t["accepted"], t["rejected"], t["duplicates_dropped"]) == (17, 16, 0, 1)
    got = only_reject(catalog, "transactions")
    assert (got["line_number"], got["reason"]) == (10, "exact_duplicate")  # the later copy


def test_same_value_written_differently_is_still_a_duplicate(data_root):
    frames = bank_frames()
    oct_ = frames[TXN_OCT]
    copy = oct_.iloc[[3]].copy()
    copy["amount"] = copy["amount"].str.rstrip("0")  # 137.50 -> 137.5: same amount
    frames[TXN_OCT] = pd.concat([oct_, copy], ignore_index=True)
    manifest, _ = ingest(data_root, frames)
    assert manifest["tables"]["transactions"]["duplicates_dropped"] == 1


def test_conflicting_rows_with_one_key_are_all_rejected(data_root):
    frames = bank_frames()
    oct_ = frames[TXN_OCT]
    twin = oct_.iloc[[3]].copy()
    twin["amount"] = "999.00"
    frames[TXN_OCT] = pd.concat([oct_, twin], ignore_index=True)
    manifest, catalog = ingest(data_root, frames)
    t = manifest["tables"]["transactions"]
    assert (t["accepted"], t["rejected_by_reason"], t["duplicates_dropped"]) == (
        15,
        {"conflicting_key": 2},
        0,
    )
    got = rejects(catalog, "transactions")
    assert got["line_number"].tolist() == [5, 10]
    assert set(got["value"]) == {oct_.loc[3, "txn_id"]}


# --- foreign keys and ranges ------------------------------------------------------------


def test_unknown_customer_is_rejected(data_root):
    frames = bank_frames()
    frames[TXN_OCT].loc[1, "customer_id"] = "C9999"
    frames["balances/balances_2026-10.csv"].loc[0, "customer_id"] = "C9999"
    _, catalog = ingest(data_root, frames)
    for table, line in (("transactions", 3), ("balances", 2)):
        got = only_reject(catalog, table)
        assert (got["line_number"], got["column"], got["reason"], got["value"]) == (
            line,
            "customer_id",
            "unknown_customer",
            "C9999",
        )


def test_rows_of_a_rejected_customer_say_so(data_root):
    """Rows naming a customer whose own row was rejected are customer_rejected (the fix is
    the customer's row); an id the customer file lacks stays unknown_customer."""
    frames = bank_frames()
    frames["customers.csv"].loc[0, "open_date"] = "not a date"
    frames[TXN_OCT].loc[1, "customer_id"] = "C9999"
    manifest, catalog = ingest(data_root, frames)
    # C0001 owns transactions 0, 6 of each month and two balances per month
    assert manifest["tables"]["transactions"]["rejected_by_reason"] == {
        "customer_rejected": 4,
        "unknown_customer": 1,
    }
    assert manifest["tables"]["balances"]["rejected_by_reason"] == {"customer_rejected": 4}
    got = rejects(catalog, "transactions")
    assert got[["line_number", "column", "reason", "value"]].values.tolist()[-3:] == [
        [2, "customer_id", "customer_rejected", "C0001"],
        [3, "customer_id", "unknown_customer", "C9999"],
        [8, "customer_id", "customer_rejected", "C0001"],
    ]


def test_amount_must_be_positive(data_root):
    frames = bank_frames()
    for row, amount in ((4, "0"), (5, "-5.00"), (6, "0.00")):
        frames[TXN_OCT].loc[row, "amount"] = amount
    frames[TXN_OCT].loc[7, "amount"] = "0.01"
    _, catalog = ingest(data_root, frames)
    got = rejects(catalog, "transactions")
    assert got["line_number"].tolist() == [6, 7, 8]
    assert set(got["reason"]) == {"amount_not_positive"} and set(got["column"]) == {"amount"}


def test_negative_balance_rejected_for_assets_only(data_root):
    frames = bank_frames()
    bal = frames["balances/balances_2026-10.csv"]
    bal.loc[1, "balance"] = "-0.01"  # current_deposit
    bal.loc[7, "balance"] = "-500.00"  # loan: a liability, sign is the bank's convention
    manifest, catalog = ingest(data_root, frames)
    got = only_reject(catalog, "balances")
    assert (got["line_number"], got["reason"]) == (3, "negative_balance")
    assert manifest["tables"]["balances"]["accepted"] == 23


def test_balance_month_end_must_be_a_month_end(data_root):
    frames = bank_frames()
    frames["balances/balances_2026-10.csv"].loc[2, "month_end"] = "2026-10-30"
    _, catalog = ingest(data_root, frames)
    assert only_reject(catalog, "balances")["reason"] == "not_month_end"


def test_likert_items_outside_the_scale_and_nps_outside_0_to_10(data_root):
    frames = bank_frames(n_customers=6)
    survey = frames["survey_customer.csv"]
    survey = pd.concat([survey] * 3, ignore_index=True)  # 9 responses, R1..R9
    survey["response_id"] = [f"R{i}" for i in range(1, 10)]
    bad = {
        0: ("emp2", "6"),
        1: ("emp2", "0"),
        2: ("overall", "3.5"),
        3: ("nps", "11"),
        4: ("nps", "-1"),
        5: ("nps", "7.5"),
    }
    for row, (column, value) in bad.items():
        survey.loc[row, column] = value
    survey.loc[6, "nps"], survey.loc[7, "nps"] = "0", "10"  # the bounds are inside
    frames["survey_customer.csv"] = survey
    frames["survey_staff.csv"].loc[1, "enps"] = "11"
    frames["survey_staff.csv"].loc[0, "wl1"] = "9"
    _, catalog = ingest(data_root, frames)
    got = rejects(catalog, "survey_responses")
    assert list(zip(got["line_number"], got["column"], got["reason"], strict=True)) == [
        (2, "emp2", "likert_out_of_scale"),
        (3, "emp2", "likert_out_of_scale"),
        (4, "overall", "likert_out_of_scale"),
        (5, "nps", "nps_out_of_range"),
        (6, "nps", "nps_out_of_range"),
        (7, "nps", "nps_out_of_range"),
    ]
    staff = rejects(catalog, "staff_survey_responses")
    assert list(zip(staff["line_number"], staff["reason"], strict=True)) == [
        (2, "likert_out_of_scale"),
        (3, "nps_out_of_range"),
    ]


def test_nps_bounds_and_empty_answers_are_accepted(data_root):
    frames = bank_frames()
    frames["survey_customer.csv"].loc[0, "nps"] = "0"
    frames["survey_customer.csv"].loc[1, "nps"] = "10"
    frames["survey_customer.csv"].loc[2, "rel1"] = ""  # a skipped question
    manifest, catalog = ingest(data_root, frames)
    assert manifest["tables"]["survey_responses"]["accepted"] == 3
    survey = pd.read_parquet(catalog.interim_table("survey_responses"))
    assert survey["nps"].tolist() == [0.0, 10.0, 6.0]
    assert survey["customer_id"].isna().tolist() == [False, True, False]  # anonymous


def test_date_after_the_period_as_of_is_rejected(data_root):
    frames = bank_frames()
    frames[TXN_OCT].loc[3, "txn_time"] = "2026-11-01 00:00:00"
    frames["rm_contacts.csv"].loc[1, "contact_date"] = "2026-11-15"
    manifest, catalog = ingest(data_root, frames, period="2026-10")
    assert manifest["as_of"] == "2026-10-31"
    assert only_reject(catalog, "transactions")["reason"] == "after_as_of"
    got = only_reject(catalog, "rm_contacts")
    assert (got["line_number"], got["column"], got["reason"]) == (3, "contact_date", "after_as_of")


def test_a_lone_far_future_date_does_not_move_the_derived_as_of(data_root):
    frames = bank_frames()
    frames[TXN_OCT].loc[3, "txn_time"] = "2099-01-01 09:00:00"
    manifest, catalog = ingest(data_root, frames)
    assert manifest["as_of"] == "2026-10-31"
    got = only_reject(catalog, "transactions")
    assert (got["line_number"], got["reason"], got["value"]) == (
        5,
        "after_as_of",
        "2099-01-01 09:00:00",
    )


def test_close_date_before_open_date(data_root):
    frames = bank_frames()
    frames["customers.csv"].loc[5, ["status", "close_date"]] = ["closed", "2019-12-31"]
    frames["customers.csv"].loc[4, ["status", "close_date"]] = [
        "closed",
        "2020-01-15",
    ]  # same day: fine
    _, catalog = ingest(data_root, frames)
    got = only_reject(catalog, "customers")
    assert (got["line_number"], got["column"], got["reason"]) == (
        7,
        "close_date",
        "close_before_open",
    )


# --- the threshold and nothing-partial --------------------------------------------------


def test_reject_rate_over_threshold_fails_and_writes_nothing(data_root):
    frames = bank_frames()
    write_frames(data_root / "raw" / "sample", frames)
    cfg, catalog = config_for(data_root)  # default threshold: 1%
    run_ingest(cfg, catalog)
    before = {p: p.read_bytes() for p in sorted((data_root / "interim").rglob("*")) if p.is_file()}
    frames[TXN_OCT].loc[0, "amount"] = "-1"  # 1 of 16 rows: 6.25% > 1%
    write_frames(data_root / "raw" / "sample", frames)
    with pytest.raises(InputError, match=r"reject rate over ingest\.max_reject_rate") as err:
        run_ingest(cfg, catalog)
    assert "transactions: 16 read, 15 accepted, 1 rejected (6.25%)" in str(err.value)
    after = {p: p.read_bytes() for p in sorted((data_root / "interim").rglob("*")) if p.is_file()}
    assert after == before


def test_threshold_failure_on_a_fresh_data_dir_leaves_no_output(data_root):
    frames = bank_frames()
    frames["customers.csv"].loc[0, "open_date"] = "bad"
    write_frames(data_root / "raw" / "sample", frames)
    cfg, catalog = config_for(data_root)
    with pytest.raises(InputError):
        run_ingest(cfg, catalog)
    left = [p for p in (data_root / "interim").rglob("*") if p.is_file()]
    assert left == []


# --- PII --------------------------------------------------------------------------------


def test_pii_is_never_written(data_root):
    frames = bank_frames()
    frames["customers.csv"].loc[1, "open_date"] = "bad"  # a reject row of a customer with PII
    _, catalog = ingest(data_root, frames)
    customers = pd.read_parquet(catalog.interim_table("customers"))
    assert not set(customers.columns) & {"name", "national_id", "phone"}
    blob = b"".join(p.read_bytes() for p in (data_root / "interim").rglob("*") if p.is_file())
    for secret in ("Person 1", "110101199000000001", "13800000001"):
        assert secret.encode() not in blob


def test_pii_kept_only_masked_when_configured(data_root, tmp_path):
    text = (Path(__file__).parents[1] / "configs" / "sources" / "sample.yml").read_text(
        encoding="utf-8"
    )
    text = text.replace(
        "  drop: [name, national_id, phone, address, email]",
        "  drop: [name, national_id, address, email]\n  mask: {phone: phone}",
    )
    config = tmp_path / "sample_masked.yml"
    config.write_text(text, encoding="utf-8")
    _, catalog = ingest(data_root, bank_frames(), source=config)
    customers = pd.read_parquet(catalog.interim_table("customers"))
    assert "phone" not in customers.columns
    assert customers["phone_masked"].tolist()[:2] == ["********000", "********001"]
