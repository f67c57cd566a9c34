"""Hostile and careless exports at ingest (issue 22): ids that would leave their folder,
values out of the bank's bounds, numbers and encodings that invite a guess, ragged
rows, PII under undeclared headers, and exports edited in place. Each ends in a counted
reject with its reason or a clear error; nothing is written where it should not be.

Line numbers: frames are written with a header line, so row i of a frame is line i + 2.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
from pathlib import Path

import duckdb
import pandas as pd
import pyarrow.parquet as pq
import pytest
from click.testing import CliRunner
from test_ingest_support import (
    bank_frames,
    config_for,
    rejects,
    source_variant,
    write_frames,
    write_lines,
)

from pipeline.cli import cli
from pipeline.errors import InputError
from pipeline.ingest.headers import header_names
from pipeline.ingest.readers import duckdb_names
from pipeline.ingest.stage import run_ingest
from pipeline.io import read_json
from pipeline.periods import check_inside_data

TXN_OCT = "transactions/transactions_2026-10.csv"
BAL_SEP = "balances/balances_2026-09.csv"


def ingest(data_root: Path, frames: dict, source="sample", **overrides):
    write_frames(data_root / "raw" / "sample", frames)
    cfg, catalog = config_for(
        data_root, source=source, **{"ingest.max_reject_rate": 1.0, **overrides}
    )
    summary = run_ingest(cfg, catalog)
    return read_json(catalog.ingest_manifest), catalog, summary


# --- 1. ids that name files -------------------------------------------------------------

HOSTILE_BRANCHES = [
    "x/../../../../escaped",
    "zz/../watchlist-B01",
    "B01/sub",
    "a\\b",
    "..",
    ".hidden",
    "B\x01",
    "B" * 201,  # over the 200-byte bound on a name
]


def test_branch_ids_that_would_leave_their_folder_are_rejected(data_root):
    frames = bank_frames(n_customers=len(HOSTILE_BRANCHES) + 2)
    customers = frames["customers.csv"]
    for i, branch in enumerate(HOSTILE_BRANCHES):
        customers.loc[i, "branch_id"] = branch
    customers.loc[len(HOSTILE_BRANCHES), "branch_id"] = "北京分行"  # any script is a name
    frames["survey_customer.csv"].loc[0, "branch_id"] = "../B01"
    manifest, catalog, _ = ingest(data_root, frames)

    got = rejects(catalog, "customers").sort_values("line_number")
    assert got[["line_number", "column", "reason", "value"]].values.tolist() == [
        [i + 2, "branch_id", "unsafe_identifier", branch]
        for i, branch in enumerate(HOSTILE_BRANCHES)
    ]
    kept = pd.read_parquet(catalog.interim_table("customers"))
    assert sorted(kept["branch_id"]) == sorted(["北京分行", "B01"])
    survey = rejects(catalog, "survey_responses")
    assert survey[["line_number", "reason", "value"]].values.tolist() == [
        [2, "unsafe_identifier", "../B01"]
    ]
    assert manifest["tables"]["customers"]["rejected_by_reason"] == {
        "unsafe_identifier": len(HOSTILE_BRANCHES)
    }


def test_rm_ids_that_would_leave_their_folder_are_rejected(data_root):
    """A customer's rm_id names the RM's call list (calls-<branch>-<rm>.csv): checked as a
    branch id is; an empty rm_id (no RM) is not an id."""
    frames = bank_frames(n_customers=len(HOSTILE_BRANCHES) + 2)
    customers = frames["customers.csv"]
    for i, rm in enumerate(HOSTILE_BRANCHES):
        customers.loc[i, "rm_id"] = rm
    customers.loc[len(HOSTILE_BRANCHES), "rm_id"] = "客户经理7"
    manifest, catalog, _ = ingest(data_root, frames)

    got = rejects(catalog, "customers").sort_values("line_number")
    assert got[["line_number", "column", "reason", "value"]].values.tolist() == [
        [i + 2, "rm_id", "unsafe_identifier", rm] for i, rm in enumerate(HOSTILE_BRANCHES)
    ]
    kept = pd.read_parquet(catalog.interim_table("customers"))
    assert sorted(kept["rm_id"].dropna()) == ["客户经理7"]
    assert manifest["tables"]["customers"]["rejected_by_reason"] == {
        "unsafe_identifier": len(HOSTILE_BRANCHES)
    }


def test_a_widened_pattern_never_lets_through_what_would_leave_the_folder(data_root):
    frames = bank_frames(n_customers=4)
    frames["customers.csv"].loc[0, "branch_id"] = "Shanghai (Pudong)"
    frames["customers.csv"].loc[1, "branch_id"] = "SH(\x01)"  # the pattern allows it...
    _, catalog, _ = ingest(
        data_root, frames, **{"ingest.safe_id_pattern": r"[\p{L}\p{N}_ ()\x01-]+"}
    )
    got = rejects(catalog, "customers")  # ...the rules every pattern keeps do not
    assert got[["line_number", "reason"]].values.tolist() == [[3, "unsafe_identifier"]]
    kept = pd.read_parquet(catalog.interim_table("customers"))
    assert "Shanghai (Pudong)" in set(kept["branch_id"])


def test_a_pattern_matching_a_separator_or_dots_is_a_config_error(data_root):
    from pipeline.errors import ConfigError

    for pattern, probe in (("[A-Za-z0-9/]+", "a/b"), (r"[\w.]+", "..")):
        with pytest.raises(
            ConfigError,
            match=rf"ingest\.safe_id_pattern: may widen .* never to path separators or "
            rf"'\.\.'; it matches '{re.escape(probe)}'",
        ):
            config_for(data_root, **{"ingest.safe_id_pattern": pattern})


# --- 3. a file's identity is its content ------------------------------------------------


def test_an_export_edited_in_place_with_the_same_size_and_mtime_is_read_again(data_root):
    raw = data_root / "raw" / "sample"
    write_frames(raw, bank_frames())
    cfg, catalog = config_for(data_root)
    run_ingest(cfg, catalog)
    path = raw / TXN_OCT
    before = path.stat()
    text = path.read_text(encoding="utf-8")
    assert text.count(",100.00,") == 1
    path.write_text(text.replace(",100.00,", ",900.00,"), encoding="utf-8")
    os.utime(path, ns=(before.st_atime_ns, before.st_mtime_ns))
    after = path.stat()
    assert (after.st_size, after.st_mtime_ns) == (before.st_size, before.st_mtime_ns)

    summary = run_ingest(cfg, catalog)
    assert "1 file(s) parsed" in summary  # not skipped, and only that file re-parsed
    txns = pd.read_parquet(catalog.interim_table("transactions")).set_index("txn_id")
    assert txns.loc["T20261000000", "amount"] == 900.0
    entry = next(f for f in read_json(catalog.ingest_manifest)["files"] if f["file"] == TXN_OCT)
    assert entry["sha256"] == hashlib.sha256(path.read_bytes()).hexdigest()


def test_a_killed_runs_work_folder_is_removed_by_the_next_run(data_root):
    write_frames(data_root / "raw" / "sample", bank_frames())
    cfg, catalog = config_for(data_root)
    run_ingest(cfg, catalog)
    dead = catalog.interim_dir / ".ingest-k1ll3d" / "staging" / "transactions"
    dead.mkdir(parents=True)
    (dead / "part.parquet").write_bytes(b"half a part")
    run_ingest(cfg, catalog)  # nothing changed: skipped, and still cleans up
    assert not (catalog.interim_dir / ".ingest-k1ll3d").exists()
    assert sorted(p.name for p in catalog.interim_dir.glob(".ingest-*")) == []


# --- 4. PII under headers nobody declared ----------------------------------------------

PII = ("Zhang San", "110101199001011234", "13800001111")


def undeclared_pii_frames() -> dict:
    frames = bank_frames()
    customers = frames["customers.csv"].drop(columns=["name", "national_id", "phone"])
    customers.insert(1, "full_name", [f"Person {i}" for i in range(len(customers))])
    customers.insert(2, "id_no", [f"2101011980{i:08d}" for i in range(len(customers))])
    customers.insert(3, "mobile", [f"1390000{i:04d}" for i in range(len(customers))])
    customers.loc[1, "open_date"] = "someday"  # a row that casts badly: raw holds no PII
    frames["customers.csv"] = customers
    return frames


def append_line(path: Path, line: str) -> None:
    with open(path, "a", encoding="utf-8") as fh:
        fh.write(line + "\n")


def every_text(folder: Path) -> list[str]:
    """Every string value of every Parquet file and the text of every other file."""
    out = []
    for path in folder.rglob("*"):
        if not path.is_file():
            continue
        if path.suffix == ".parquet":
            table = pq.read_table(path)
            for column in table.columns:
                if str(column.type) in ("string", "large_string"):
                    out += [v for v in column.to_pylist() if v is not None]
        else:
            out.append(path.read_bytes().decode("utf-8", errors="replace"))
    return out


def test_a_malformed_row_under_undeclared_pii_headers_keeps_no_raw_text(data_root):
    raw = data_root / "raw" / "sample"
    write_frames(raw, undeclared_pii_frames())
    append_line(raw / "customers.csv", f"C0099,{PII[0]},{PII[1]},{PII[2]},B01")  # ragged
    cfg, catalog = config_for(data_root, **{"ingest.max_reject_rate": 1.0})
    run_ingest(cfg, catalog)

    got = rejects(catalog, "customers").sort_values("line_number")
    assert got[["line_number", "reason"]].values.tolist() == [
        [3, "unparseable_date"],
        [8, "malformed_row"],
    ]
    assert got.iloc[1]["raw"] == (
        "<withheld: the file holds columns not mapped or listed under pii.safe: "
        "full_name, id_no, mobile>"
    )
    # the row that cast badly keeps only the columns the config maps
    assert "full_name" not in json.loads(got.iloc[0]["raw"])
    assert set(json.loads(got.iloc[0]["raw"])) <= {
        "customer_id", "branch_id", "open_date", "birth_date", "gender", "rm_id", "status",
        "close_date", "digital_enrolled",
    }  # fmt: skip
    texts = every_text(catalog.interim_dir)  # rejects, parts, manifest, state
    for value in (*PII, "Person 1", "21010119800000000", "13900000001"):
        assert not any(value in t for t in texts), value


def test_columns_listed_as_safe_keep_a_malformed_rows_raw_text(data_root, tmp_path):
    frames = bank_frames()
    customers = frames["customers.csv"].drop(columns=["name", "national_id", "phone"])
    customers["segment_code"] = "S1"
    frames["customers.csv"] = customers
    write_frames(data_root / "raw" / "sample", frames)
    append_line(data_root / "raw" / "sample" / "customers.csv", "C0099,B01,2020-01-01")

    def safe(raw):
        raw["pii"]["safe"] = ["segment_code"]

    cfg, catalog = config_for(
        data_root, source=source_variant(tmp_path, safe), **{"ingest.max_reject_rate": 1.0}
    )
    run_ingest(cfg, catalog)
    got = rejects(catalog, "customers")
    assert got[["line_number", "reason", "raw"]].values.tolist() == [
        [8, "malformed_row", "C0099,B01,2020-01-01"]
    ]


# --- 6. values out of the bank's bounds --------------------------------------------------


def test_values_out_of_bounds_are_rejected_with_their_reason(data_root):
    frames = bank_frames()
    frames[BAL_SEP].loc[0, "balance"] = "100000000000000"  # crashed features: DECIMAL(18,4)
    frames[BAL_SEP].loc[7, "balance"] = "-100000000001"  # a loan, |balance| over the bound
    frames[TXN_OCT].loc[1, "amount"] = "200000000000"
    frames[TXN_OCT].loc[2, "revenue"] = "-200000000000"
    frames[TXN_OCT].loc[3, "txn_time"] = "0001-01-01 00:00:00"
    frames["customers.csv"].loc[2, "birth_date"] = "1850-01-01"
    frames["customers.csv"].loc[3, "birth_date"] = "1930-01-01"  # old, not impossible
    manifest, catalog, _ = ingest(data_root, frames)

    def got(table):  # the rejected customer's rows elsewhere are customer_rejected
        r = rejects(catalog, table).sort_values(["source_file", "line_number"])
        r = r[r["reason"] != "customer_rejected"]
        return r[["source_file", "line_number", "column", "reason", "value"]].values.tolist()

    assert got("balances") == [
        [BAL_SEP, 2, "balance", "out_of_bounds", "100000000000000.0"],
        [BAL_SEP, 9, "balance", "out_of_bounds", "-100000000001.0"],
    ]
    assert got("transactions") == [
        [TXN_OCT, 3, "amount", "out_of_bounds", "200000000000.0"],
        [TXN_OCT, 4, "revenue", "out_of_bounds", "-200000000000.0"],
        [TXN_OCT, 5, "txn_time", "before_earliest_date", "0001-01-01 00:00:00"],
    ]
    assert got("customers") == [
        ["customers.csv", 4, "birth_date", "before_earliest_date", "1850-01-01"]
    ]
    t = manifest["tables"]["transactions"]
    assert t["rows_read"] == t["accepted"] + t["rejected"] + t["duplicates_dropped"] == 16


def test_bounds_are_settings(data_root):
    frames = bank_frames()
    frames[TXN_OCT].loc[1, "amount"] = "5000.00"
    frames[TXN_OCT].loc[3, "txn_time"] = "1999-12-31 10:00:00"
    _, catalog, _ = ingest(
        data_root, frames, **{"ingest.max_amount": 1000, "ingest.earliest_date": "2000-01-01"}
    )
    got = rejects(catalog, "transactions").sort_values("line_number")
    assert got[["line_number", "reason"]].values.tolist() == [
        [3, "out_of_bounds"],
        [5, "before_earliest_date"],
    ]


def test_a_stray_row_in_the_next_month_does_not_move_the_as_of(data_root):
    frames = bank_frames(txns_per_month=200)
    stray = frames[TXN_OCT].iloc[[0]].assign(txn_id="T-STRAY", txn_time="2026-11-30 09:00:00")
    frames["transactions/transactions_2026-11.csv"] = stray
    manifest, catalog, _ = ingest(data_root, frames)
    assert manifest["as_of"] == "2026-10-31"
    got = rejects(catalog, "transactions")
    assert got[["source_file", "reason", "value"]].values.tolist() == [
        ["transactions/transactions_2026-11.csv", "after_as_of", "2026-11-30 09:00:00"]
    ]


def test_a_month_without_a_transaction_on_its_last_days_is_complete_when_declared(
    data_root, tmp_path
):
    """The little bank's October ends on the 8th: complete only when the source config
    says the exports run to October's end (a business-day export ending on a weekend)."""
    frames = bank_frames()
    manifest, catalog, _ = ingest(data_root, frames)
    assert manifest["as_of"] == "2026-10-31" and manifest["as_of_declared"] is False
    assert catalog.period(None, None) == "2026-09"
    with pytest.raises(InputError, match=r"say so in the source config \(as_of: 2026-10-31\)"):
        check_inside_data("2026-10", *catalog.data_span())

    def declared(raw):
        raw["as_of"] = "2026-10-31"

    manifest, catalog, _ = ingest(data_root, frames, source=source_variant(tmp_path, declared))
    assert manifest["as_of"] == "2026-10-31" and manifest["as_of_declared"] is True
    assert catalog.period(None, None) == "2026-10"
    check_inside_data("2026-10", *catalog.data_span())


# --- 7. parsing that never guesses ------------------------------------------------------


def test_numbers_in_another_convention_are_rejected_not_guessed(data_root, tmp_path):
    frames = bank_frames()
    frames[TXN_OCT].loc[0, "amount"] = '"1,234.50"'.strip('"')
    frames[TXN_OCT].loc[1, "amount"] = "1.234,56"
    frames[TXN_OCT].loc[2, "amount"] = "1,2,3"
    frames[TXN_OCT].loc[3, "amount"] = "1_000"

    def thousands(raw):
        raw["defaults"]["thousands"] = ","

    _, catalog, _ = ingest(data_root, frames, source=source_variant(tmp_path, thousands))
    got = rejects(catalog, "transactions").sort_values("line_number")
    assert got[["line_number", "column", "reason", "value"]].values.tolist() == [
        [3, "amount", "unparseable_number", "1.234,56"],
        [4, "amount", "unparseable_number", "1,2,3"],
        [5, "amount", "unparseable_number", "1_000"],
    ]
    txns = pd.read_parquet(catalog.interim_table("transactions")).set_index("txn_id")
    assert txns.loc["T20261000000", "amount"] == 1234.5


def test_one_ragged_row_is_one_reject(data_root):
    raw = data_root / "raw" / "sample"
    write_frames(raw, bank_frames())
    append_line(raw / TXN_OCT, "T-RAGGED,C0001,2026-10-09 10:00:00,5.00,debit,mobile,x,0,a,b,c")
    append_line(raw / TXN_OCT, "T-SHORT,C0001,2026-10-09")
    cfg, catalog = config_for(data_root, **{"ingest.max_reject_rate": 1.0})
    run_ingest(cfg, catalog)
    got = rejects(catalog, "transactions")
    assert got[["line_number", "reason", "value"]].values.tolist() == [
        [10, "malformed_row", "Expected Number of Columns: 8 Found: 11"],
        [11, "malformed_row", "Expected Number of Columns: 8 Found: 3"],
    ]
    t = read_json(catalog.ingest_manifest)["tables"]["transactions"]
    lines = sum(
        len((raw / f).read_text().splitlines()) - 1 for f in (TXN_OCT, TXN_OCT.replace("10", "09"))
    )
    assert t["rows_read"] == lines == 18
    assert (t["accepted"], t["rejected"]) == (16, 2)


@pytest.mark.parametrize("mark", ["", "\ufeff"])
def test_exports_joined_with_their_headers_name_the_copied_header(data_root, mark):
    """`cat sep.csv oct.csv`: the second header (with its byte-order mark, if it had one) is
    one reject, repeated_header_row, on its line; every row on either side is read."""
    raw = data_root / "raw" / "sample"
    write_frames(raw, bank_frames())
    path = raw / TXN_OCT
    lines = path.read_text(encoding="utf-8").splitlines()
    lines.insert(5, mark + lines[0])  # line 6
    write_lines(path, lines)
    cfg, catalog = config_for(data_root, **{"ingest.max_reject_rate": 1.0})
    run_ingest(cfg, catalog)
    got = rejects(catalog, "transactions")
    assert got[["line_number", "column", "reason", "value"]].values.tolist() == [
        [6, "txn_id", "repeated_header_row", mark + "txn_id"]
    ]
    t = read_json(catalog.ingest_manifest)["tables"]["transactions"]
    assert (t["rows_read"], t["accepted"], t["rejected"]) == (17, 16, 1)


def long_october(raw: Path, rows: int) -> list[str]:
    """October's transactions grown to `rows` rows (copies of its first, new ids): past
    DuckDB's sniffing sample of 20,480 rows when `rows` is larger."""
    path = raw / TXN_OCT
    header, first = path.read_text(encoding="utf-8").splitlines()[:2]
    rest = first.split(",", 1)[1]
    return [header] + [f"T-LONG-{i:06d},{rest}" for i in range(rows)]


@pytest.mark.parametrize("line", [4, 22_001])
def test_a_stray_quote_is_one_reject_wherever_it_is(data_root, line):
    """A value quoted then continued ("debit"x) cannot be split: one reject. Among the
    first rows DuckDB's sniffer gave up on the whole file for it ("Error when sniffing"),
    further down it was one reject; now one reject in both places."""
    raw = data_root / "raw" / "sample"
    write_frames(raw, bank_frames())
    lines = long_october(raw, 23_000)
    lines[line - 1] = lines[line - 1].replace(",debit,", ',"debit"x,')
    write_lines(raw / TXN_OCT, lines)
    result = CliRunner().invoke(cli, ["--data-dir", str(data_root), "validate"])
    assert f"e.g. {TXN_OCT}:{line}: malformed_row (Value with unterminated quote found.)" in (
        result.output
    )
    cfg, catalog = config_for(data_root, **{"ingest.max_reject_rate": 1.0})
    run_ingest(cfg, catalog)
    got = rejects(catalog, "transactions")
    assert got[["line_number", "reason"]].values.tolist() == [[line, "malformed_row"]]
    t = read_json(catalog.ingest_manifest)["tables"]["transactions"]
    assert (t["rows_read"], t["accepted"], t["rejected"]) == (23_008, 23_007, 1)


@pytest.mark.parametrize("line", [4, 22_001])
def test_an_overlong_row_is_one_reject_wherever_it_is(data_root, line):
    """A row over DuckDB's 2 MB line limit: among the first rows the sniffer gave up on
    the file ("CSV Error on Line: 1"), further down it was one reject."""
    raw = data_root / "raw" / "sample"
    write_frames(raw, bank_frames())
    lines = long_october(raw, 23_000)
    lines[line - 1] = lines[line - 1].replace(",debit,", ",debit" + " " * 2_100_000 + ",")
    write_lines(raw / TXN_OCT, lines)
    cfg, catalog = config_for(data_root, **{"ingest.max_reject_rate": 1.0})
    run_ingest(cfg, catalog)
    got = rejects(catalog, "transactions")
    assert got[["line_number", "reason"]].values.tolist() == [[line, "malformed_row"]]
    assert got["value"].iloc[0].startswith("Maximum line size of 2000000 bytes exceeded")
    t = read_json(catalog.ingest_manifest)["tables"]["transactions"]
    assert (t["rows_read"], t["accepted"], t["rejected"]) == (23_008, 23_007, 1)


@pytest.mark.parametrize("line", [4, 22_001])
def test_a_quote_left_open_is_refused_not_its_rows_lost(data_root, line):
    """A quote opened and never closed joins every later line into one unsplittable row:
    past the sniffing sample, DuckDB read the 999 rows after it as that one reject and
    ingest accepted the rest, 999 transactions lost uncounted. Refused, naming the line."""
    raw = data_root / "raw" / "sample"
    write_frames(raw, bank_frames())
    lines = long_october(raw, 23_000)
    lines[line - 1] = lines[line - 1].replace(",debit,", ',"debit,')
    write_lines(raw / TXN_OCT, lines)
    cfg, catalog = config_for(data_root, **{"ingest.max_reject_rate": 1.0})
    with pytest.raises(
        InputError,
        match=rf"transactions_2026-10\.csv: line {line}: a row that cannot be split runs "
        r"over several lines, as when a quote opened on this line is not closed where its row "
        r"ends: the lines after it \(the file has 23,001\) would be read into this one row",
    ):
        run_ingest(cfg, catalog)
    assert not catalog.ingest_manifest.exists()


@pytest.mark.parametrize(
    "header", ["a,b,a", "a,a,a", "a,,b,", "a,a,a_1", "x,x_1,x", " a , a ,b"], ids=repr
)
def test_header_names_without_sniffing_are_duckdbs(tmp_path, header):
    """The columns given when the sniffer gives up are named as the sniffer names them."""
    path = tmp_path / "h.csv"
    path.write_text(header + "\n" + ",".join("1" * (header.count(",") + 1)) + "\n")
    sniffed = [
        r[0]
        for r in duckdb.execute(
            f"DESCRIBE SELECT * FROM read_csv('{path}', all_varchar=true, header=true, delim=',')"
        ).fetchall()
    ]
    read = {"format": "csv", "header_row": 1, "separator": ",", "quote": '"', "escape": '"'}
    assert duckdb_names(header_names(path, read)) == [h.strip() for h in sniffed]


def test_a_gb18030_file_that_turns_utf8_after_its_first_mib_is_refused(data_root, tmp_path):
    def gb18030(raw):
        raw["tables"]["customers"]["encoding"] = "gb18030"

    frames = bank_frames()
    write_frames(data_root / "raw" / "sample", frames)
    customers = frames["customers.csv"]
    header = ",".join(customers.columns) + "\n"
    row = customers.iloc[1].tolist()
    first = ",".join(["C0001", *map(str, row[1:4]), "北京分行", *map(str, row[5:])]) + "\n"
    filler = [
        ",".join([f"F{i:06d}", *map(str, row[1:])]) + "\n" for i in range(14_000)
    ]  # ASCII rows past the first MiB
    tail = [",".join([f"U{i}", *map(str, row[1:4]), "上海分行", *map(str, row[5:])]) + "\n"
            for i in range(3)]  # fmt: skip
    data = (header + first).encode("gb18030") + "".join(filler).encode("ascii")
    assert len(data) > (1 << 20) + 1000
    data += "".join(tail).encode("utf-8")
    (data_root / "raw" / "sample" / "customers.csv").write_bytes(data)
    cfg, catalog = config_for(data_root, source=source_variant(tmp_path, gb18030))
    line = 2 + len(filler) + 1  # header, the first row, the ASCII rows, then UTF-8
    with pytest.raises(
        InputError,
        match=rf"customers\.csv: line {line}: the file is declared gb18030 but from here its "
        r"bytes are UTF-8",
    ):
        run_ingest(cfg, catalog)
    assert not catalog.ingest_manifest.exists()


# --- 6. periods inside the data ---------------------------------------------------------


@pytest.fixture
def ingested(data_root):
    """bank_frames ingested: transactions 2026-09-01 to 2026-10-08 (last complete month
    2026-09)."""
    write_frames(data_root / "raw" / "sample", bank_frames())
    done = CliRunner().invoke(cli, ["--data-dir", str(data_root), "ingest"])
    assert done.exit_code == 0, done.output
    return data_root


@pytest.mark.parametrize(
    "command, period, message",
    [
        (
            "features",
            "2030-01",
            "period 2030-01 is after the data: the last complete month ingested is 2026-09 "
            "(transactions up to 2026-10-08); nothing was written",
        ),
        (
            "features",
            "2026-10",
            "period 2026-10 is after the data: the last complete month ingested is 2026-09 "
            "(transactions up to 2026-10-08); if the exports hold 2026-10 in full (no "
            "transaction on its last days), say so in the source config (as_of: 2026-10-31) "
            "and ingest again; nothing was written",
        ),
        (
            "report",
            "2030-01",
            "period 2030-01 is after the data: the last complete month ingested is 2026-09 "
            "(transactions up to 2026-10-08); nothing was written",
        ),
        (
            "features",
            "2026-08",
            "period 2026-08 is before the data: the ingested transactions start on "
            "2026-09-01 (2026-09); nothing was written",
        ),
    ],
)
def test_a_period_outside_the_data_is_one_clear_line_and_no_output(
    ingested, command, period, message
):
    done = CliRunner().invoke(cli, ["--data-dir", str(ingested), command, "--period", period])
    assert done.exit_code == 2
    assert done.output.strip().splitlines() == [f"crm: error: {message}"]
    assert not (ingested / "processed").exists()
    assert not (ingested.parent / "reports" / "build").exists()


def test_features_of_a_period_inside_the_data_are_written(ingested):
    done = CliRunner().invoke(cli, ["--data-dir", str(ingested), "features", "--period", "2026-09"])
    assert done.exit_code == 0, done.output
    assert (ingested / "processed" / "2026-09" / "customer_features.parquet").is_file()
