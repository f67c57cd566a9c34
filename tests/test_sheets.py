"""Files analysts open: Excel copies with a frozen header and number formats, the same
bytes every time; CSVs with a byte-order mark where they hold non-ASCII text."""

from __future__ import annotations

import io
import zipfile
from datetime import date, datetime
from decimal import Decimal
from xml.etree import ElementTree

import pandas as pd
from openpyxl import load_workbook

from pipeline.io import write_csv
from pipeline.sheets import workbook_bytes, write_xlsx

AS_OF = date(2026, 10, 31)


def frame() -> pd.DataFrame:
    return pd.DataFrame(
        {
            "branch_id": ["B01", "B02"],
            "customer_id": ["00123", "=1+1"],  # leading zeros kept; never a formula
            "aum": [1234567.8, 50.0],
            "aum_share__wealth": [0.25, 0.125],
            "churn_probability": [0.5, None],
            "gini_aum": [0.91, 0.5],
            "customers": [10, 20],
            "products_per_customer": [1.25, 2.0],
            "last_contact_date": [date(2026, 8, 22), None],
            "top_reasons": ["近90天无交易", "no own transaction for 310 days"],
        }
    )


def test_a_sheet_analysts_can_read_without_converting_anything():
    book = load_workbook(io.BytesIO(workbook_bytes(frame(), "Watchlist B01", AS_OF)))
    ws = book["Watchlist B01"]
    assert ws.freeze_panes == "A2"
    assert ws.auto_filter.ref == "A1:J3"
    assert [c.value for c in ws[1]] == list(frame().columns)
    assert all(c.font.b for c in ws[1])
    row = {ws.cell(1, i).value: ws.cell(2, i) for i in range(1, ws.max_column + 1)}
    assert row["customer_id"].value == "00123" and row["customer_id"].data_type == "s"
    assert ws.cell(3, 2).value == "'=1+1" and ws.cell(3, 2).data_type == "s"  # neutralised
    assert (row["aum"].value, row["aum"].number_format) == (1234567.8, "#,##0")
    assert (row["aum_share__wealth"].value, row["aum_share__wealth"].number_format) == (
        0.25,
        "0.0%",
    )
    assert row["churn_probability"].number_format == "0.0%"
    assert ws.cell(3, 5).value is None  # missing stays empty, not "nan"
    assert row["gini_aum"].number_format == "0.000"
    assert (row["customers"].value, row["customers"].number_format) == (10, "#,##0")
    assert row["products_per_customer"].number_format == "#,##0.00"
    assert row["last_contact_date"].value == datetime(2026, 8, 22)
    assert row["last_contact_date"].number_format == "yyyy-mm-dd"
    assert row["top_reasons"].value == "近90天无交易"
    # Chinese text counts double when the column is sized
    assert ws.column_dimensions["J"].width >= len("no own transaction for 310 days") + 2
    assert book.properties.created == book.properties.modified == datetime(2026, 10, 31)


def test_the_same_frame_gives_the_same_bytes():
    first = workbook_bytes(frame(), "Branch KPIs", AS_OF)
    assert workbook_bytes(frame(), "Branch KPIs", AS_OF) == first
    assert workbook_bytes(frame(), "Branch KPIs", date(2026, 11, 30)) != first
    with zipfile.ZipFile(io.BytesIO(first)) as archive:
        assert {i.date_time for i in archive.infolist()} == {(1980, 1, 1, 0, 0, 0)}


def test_an_empty_frame_is_a_header_only(tmp_path):
    path = write_xlsx(frame().iloc[:0], tmp_path / "w.xlsx", "Watchlist B09", AS_OF)
    ws = load_workbook(path).active
    assert ws.max_row == 1 and ws.freeze_panes == "A2"


def test_csvs_with_non_ascii_text_carry_a_bom_and_read_back(tmp_path):
    chinese = write_csv(frame(), tmp_path / "zh.csv")
    assert chinese.read_bytes().startswith(b"\xef\xbb\xbfbranch_id,")
    assert pd.read_csv(chinese, dtype=str)["top_reasons"][0] == "近90天无交易"
    ascii_only = write_csv(frame().drop(columns="top_reasons"), tmp_path / "en.csv")
    assert ascii_only.read_bytes().startswith(b"branch_id,")
    header = write_csv(pd.DataFrame({"客户号": ["C1"]}), tmp_path / "h.csv")
    assert header.read_bytes().startswith(b"\xef\xbb\xbf")


def test_a_run_writes_excel_copies_of_watchlists_and_branch_marts(sample_bank_run):
    processed = sample_bank_run.data_dir / "processed" / sample_bank_run.period
    names = sorted(p.name for p in processed.glob("*.xlsx"))
    calls = sorted(p.with_suffix(".xlsx").name for p in processed.glob("calls-*.csv"))
    assert calls and names == sorted(
        [
            "branch_kpis.xlsx",
            "branch_scores.xlsx",
            "tier_migration.xlsx",
            "watchlist-B01.xlsx",
            "watchlist-B02.xlsx",
            *calls,
        ]
    )
    csv = pd.read_csv(processed / "watchlist-B01.csv", dtype={"customer_id": str, "rm_id": str})
    sheet = pd.read_excel(processed / "watchlist-B01.xlsx", dtype={"customer_id": str})
    assert sheet["customer_id"].tolist() == csv["customer_id"].tolist()
    assert sheet["clv"].round(2).tolist() == csv["clv"].round(2).tolist()
    kpis = pd.read_parquet(processed / "branch_kpis.parquet")
    assert pd.read_excel(processed / "branch_kpis.xlsx")["customers"].tolist() == (
        kpis["customers"].tolist()
    )


def test_the_package_is_well_formed_and_odd_values_are_kept_or_emptied():
    odd = pd.DataFrame(
        {
            "when": [pd.Timestamp("2026-01-02 03:04:05"), pd.NaT],
            "flag": [True, False],
            "note": ["  leading spaces", "bell\x07 and _x0041_ kept"],
            "ratio": [float("inf"), 0.1 + 0.2],
            "amount": [Decimal("1234.5000"), None],  # DuckDB's DECIMAL, read from Parquet
        }
    )
    data = workbook_bytes(odd, "Calls: B01/RM[1]", AS_OF)
    with zipfile.ZipFile(io.BytesIO(data)) as archive:
        names = set(archive.namelist())
        types = ElementTree.fromstring(archive.read("[Content_Types].xml"))
        overrides = {e.get("PartName", "").lstrip("/") for e in types}
        for name in names:  # every part is XML, and every XML part has its content type
            ElementTree.fromstring(archive.read(name))
        assert {n for n in names if not n.endswith(".rels")} - overrides <= {"[Content_Types].xml"}
        sheet = archive.read("xl/worksheets/sheet1.xml").decode()
        strings = archive.read("xl/sharedStrings.xml").decode()
    assert "bell_x0007_ and _x005F_x0041_ kept" in strings  # as Excel reads it back
    ws = load_workbook(io.BytesIO(data)).active
    assert ws.title == "Calls_ B01_RM_1_"
    assert ws["A2"].value == datetime(2026, 1, 2, 3, 4, 5) and ws["A3"].value is None
    assert (ws["B2"].value, ws["B3"].value) == (True, False)
    assert ws["C2"].value == "  leading spaces"
    assert ws["D2"].value is None  # a workbook cannot hold an infinity
    assert ws["D3"].value == 0.1 + 0.2  # exactly the double, not a rounded print
    assert ws["E2"].value == 1234.5 and ws["E2"].data_type == "n"
    assert 'ref="A1:E3"' in sheet
