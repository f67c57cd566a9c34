"""Nothing written where it should not be (issue 22): ids that name files stay inside
their folder whatever they hold, and CSV and XLSX cells a spreadsheet would run are
quoted."""

from __future__ import annotations

import csv
from datetime import date
from pathlib import Path
from types import SimpleNamespace

import duckdb
import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from openpyxl import load_workbook

from pipeline.catalog import MAX_NAME_BYTES, Catalog
from pipeline.config import load_config
from pipeline.errors import InputError
from pipeline.ingest.bounds import Limits, bound_checks
from pipeline.ingest.source import TableSpec
from pipeline.io import read_csv, write_csv
from pipeline.names import shared_name
from pipeline.schema import CUSTOMERS
from pipeline.scoring.stage import refuse_shared_list_names
from pipeline.sheets import write_xlsx
from pipeline.spreadsheet import neutralise, neutralise_text, restore

PERIOD = "2026-10"


def branch_check_sql() -> str:
    """The condition under which ingest rejects a customer's branch_id (default config)."""
    cfg = load_config(env={})
    spec = TableSpec(CUSTOMERS, (), {}, {}, {}, limits=Limits.from_config(cfg))
    branch = [c for c in CUSTOMERS.columns if c.name == "branch_id"]
    ((condition, reason, column),) = [c for c in bound_checks(spec, branch) if c[2] == "branch_id"]
    assert (reason, column) == ("unsafe_identifier", "branch_id")
    return condition


CONDITION = branch_check_sql()


def rejected_by_ingest(ids: list[str]) -> list[bool]:
    """Whether ingest's check rejects each id, in one query."""
    rows = duckdb.execute(
        f"SELECT coalesce({CONDITION}, false) FROM (SELECT unnest(?::VARCHAR[]) AS branch_id, "
        "generate_subscripts(?::VARCHAR[], 1) AS i) ORDER BY i",
        [ids, ids],
    ).fetchall()
    return [r[0] for r in rows]


ids = st.text(
    alphabet=st.one_of(
        st.sampled_from(list('/\\.. -_\x00\n\t~:*?"<>|%$')),
        st.characters(codec="utf-8"),
    ),
    min_size=1,
    max_size=80,
)


# Paths are only computed, never created: one pair of roots serves every example.
ROOT = Path("/nonexistent/crm-hypothesis")


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(ids, min_size=1, max_size=30))
def test_random_branch_ids_never_produce_a_path_outside_the_roots(branches):
    """Every file named by an id (a branch's, or an RM's in a call list) stays a direct
    child of its period folder."""
    catalog = Catalog(ROOT / "data", ROOT / "reports")
    processed, reports = catalog.processed_dir(PERIOD), catalog.report_locale_dir(PERIOD, "en")
    makers = {  # kind: (its folder, its root, the path for an id, the name ingest allows)
        "watchlist": (
            processed,
            catalog.data_dir,
            lambda b: catalog.watchlist(PERIOD, b),
            "watchlist-{}.csv",
        ),
        "unassigned": (
            processed,
            catalog.data_dir,
            lambda b: catalog.unassigned_list(PERIOD, b),
            "unassigned-{}.csv",
        ),
        "calls": (  # the random id as the RM's
            processed,
            catalog.data_dir,
            lambda b: catalog.call_list(PERIOD, "B01", b),
            "calls-B01-{}.csv",
        ),
        "branch_report": (
            reports,
            catalog.report_dir,
            lambda b: catalog.branch_report(PERIOD, b, "html", "en"),
            "branch-{}.html",
        ),
    }
    for branch, rejected in zip(branches, rejected_by_ingest(branches), strict=True):
        for kind, (folder, root, make, name) in makers.items():
            try:
                path = make(branch)
            except InputError:
                # the catalog refuses only what ingest does, or a call list whose branch
                # and RM ids together make too long a name
                too_long = kind == "calls" and len(f"B01-{branch}".encode()) > MAX_NAME_BYTES
                assert rejected or too_long, (branch, kind)
                continue
            # whatever the id holds, the file is a direct child of its period folder
            assert Path(path).parent == folder, branch
            resolved = Path(path).resolve()
            assert resolved.is_relative_to(root.resolve()), branch
            assert resolved.name == Path(path).name
            if not rejected:  # an id ingest accepts names exactly one plain file
                assert Path(path).name == name.format(branch)


def test_the_catalog_refuses_ids_that_would_leave_the_folder(tmp_path):
    catalog = Catalog(tmp_path / "data", tmp_path / "reports")
    for branch in ("x/../../../../escaped", "zz/../watchlist-B01", "a\\b", "..", "B\x00"):
        with pytest.raises(InputError, match=r"branch id .* cannot name a file"):
            catalog.watchlist(PERIOD, branch)
        with pytest.raises(InputError, match=r"branch id .* cannot name a file"):
            catalog.branch_report(PERIOD, branch, "pdf", "zh_CN")
    for rm in ("../../escaped", "x/y", "..", "RM\n1"):
        with pytest.raises(InputError, match=r"rm id .* cannot name a file"):
            catalog.call_list(PERIOD, "B01", rm)
    with pytest.raises(InputError, match=r"name .* cannot name a file .*longer than 200"):
        catalog.call_list(PERIOD, "B" * 150, "R" * 150)  # each id fits, not both together
    with pytest.raises(InputError, match=r"branch id .* cannot name a file"):
        catalog.unassigned_list(PERIOD, "zz/../watchlist-B01")
    assert catalog.call_list(PERIOD, "北京分行", "客户经理7").name == "calls-北京分行-客户经理7.csv"
    assert catalog.watchlist(PERIOD, "北京分行") == (
        tmp_path / "data" / "processed" / PERIOD / "watchlist-北京分行.csv"
    )


def test_two_lists_that_would_be_one_file_stop_the_score_before_writing(tmp_path):
    """Ids joined by '-' can meet: branch B01's RM RM9-X1 and branch B01-RM9's RM X1 are
    both calls-B01-RM9-X1.csv; and names that differ only in case are one file on macOS
    and Windows. Either way nothing is written: one list would overwrite the other."""
    catalog = Catalog(tmp_path / "data", tmp_path / "reports")
    frame = pd.DataFrame({"customer_id": ["C1"]})

    def result(call_lists, watchlists=()):
        lists = {key: frame for key in call_lists}
        return SimpleNamespace(
            watchlists={b: frame for b in watchlists}, call_lists=lists, unassigned={}
        )

    meeting = result([("B01", "RM9-X1"), ("B01-RM9", "X1")], ["B01", "B01-RM9"])
    with pytest.raises(InputError) as caught:
        refuse_shared_list_names(catalog, PERIOD, meeting)
    assert str(caught.value).startswith(
        "branch B01's call list of RM RM9-X1 and branch B01-RM9's call list of RM X1 would "
        "both be written as calls-B01-RM9-X1.csv"
    )
    with pytest.raises(InputError, match=r"branch b01's watchlist would both be written"):
        refuse_shared_list_names(catalog, PERIOD, result([], ["B01", "b01"]))
    refuse_shared_list_names(catalog, PERIOD, result([("B01", "RM9-X1"), ("B02", "X1")], ["B01"]))
    assert shared_name({"a": "calls-A-B.csv", "b": "calls-A-C.csv"}) is None


# --- formula injection (OWASP): one test per character ----------------------------------

TRIGGERS = {
    "=": '=HYPERLINK("http://evil.example/x","click")',
    "+": "+1+1",
    "-": "-2+3",
    "@": "@SUM(1+1)",
    "\t": "\t=1+1",
    "\r": "\r=1+1",
}


@pytest.mark.parametrize("char", sorted(TRIGGERS), ids=repr)
def test_a_text_cell_starting_with_a_formula_character_is_quoted(char, tmp_path):
    value = TRIGGERS[char]
    assert value.startswith(char)
    frame = pd.DataFrame(
        {"customer_id": [value, "C001"], "rm_id": ["RM1", value], "clv": [-5.5, 2.0]}
    )
    path = write_csv(frame, tmp_path / "watchlist-B01.csv")
    with open(path, newline="", encoding="utf-8") as fh:
        rows = list(csv.reader(fh))
    assert rows == [
        ["customer_id", "rm_id", "clv"],
        ["'" + value, "RM1", "-5.5"],  # a number stays a number
        ["C001", "'" + value, "2.0"],
    ]
    back = read_csv(path, dtype={"customer_id": str, "rm_id": str})
    assert back["customer_id"].tolist() == [value, "C001"]
    assert back["rm_id"].tolist() == ["RM1", value]


@pytest.mark.parametrize("char", sorted(TRIGGERS), ids=repr)
def test_an_excel_text_cell_starting_with_a_formula_character_is_quoted(char, tmp_path):
    value = TRIGGERS[char]
    frame = pd.DataFrame(
        {"customer_id": [value, "C001"], "rm_id": ["RM1", value], "clv": [-5.5, 2.0]}
    )
    path = write_xlsx(frame, tmp_path / "watchlist-B01.xlsx", "Watchlist B01", date(2026, 10, 31))
    ws = load_workbook(path).active
    cells = [[ws.cell(r, c) for c in range(1, 4)] for r in range(1, 4)]
    # XML reads a carriage return in text back as a line feed (XML 1.0, 2.11): the "\r"
    # case comes back quoted, its CR as LF
    stored = "'" + value.replace("\r", "\n")
    assert [[c.value for c in row] for row in cells] == [
        ["customer_id", "rm_id", "clv"],
        [stored, "RM1", -5.5],  # a number stays a number
        ["C001", stored, 2.0],
    ]
    assert {c.data_type for row in cells for c in row[:2]} == {"s"}  # text, never a formula
    assert [cells[1][2].data_type, cells[2][2].data_type] == ["n", "n"]


def test_a_cell_that_starts_with_a_quote_round_trips(tmp_path):
    frame = pd.DataFrame({"rm_id": ["'=1", "'plain", "plain", None]})
    path = write_csv(frame, tmp_path / "w.csv")
    with open(path, newline="", encoding="utf-8") as fh:
        assert [r[0] for r in csv.reader(fh)][1:] == ["''=1", "''plain", "plain", ""]
    back = read_csv(path, dtype={"rm_id": str})
    assert back["rm_id"].tolist()[:3] == ["'=1", "'plain", "plain"]
    assert pd.isna(back["rm_id"].iloc[3])


@pytest.mark.parametrize("dtype", ["str", "string", "string[python]", object])
def test_text_of_any_column_type_is_quoted_and_restored_alike(dtype):
    values = ["=1+1", "'quoted", "plain", None, "@x"]
    frame = pd.DataFrame({"rm_id": pd.Series(values, dtype=dtype), "n": [1, 2, 3, 4, 5]})
    safe = neutralise(frame)
    assert safe["rm_id"].tolist()[:3] == ["'=1+1", "''quoted", "plain"]
    assert pd.isna(safe["rm_id"].iloc[3]) and safe["rm_id"].iloc[4] == "'@x"
    # (an object column of text comes back as text: pandas infers it from the values)
    back = restore(safe)
    assert back["rm_id"].tolist()[:3] == values[:3] and back["rm_id"].iloc[4] == "@x"
    if dtype is not object:
        assert safe["rm_id"].dtype == back["rm_id"].dtype == frame["rm_id"].dtype
        pd.testing.assert_frame_equal(back, frame)


# texts that start with anything: a trigger, a quote, a character a pattern treats specially
cells = st.one_of(
    st.none(),
    st.builds(
        lambda head, tail: head + tail,
        st.sampled_from(["=", "+", "-", "@", "\t", "\r", "'", "\\", "^", "[", ".", "中", ""]),
        st.text(max_size=5),
    ),
)


@settings(max_examples=150, deadline=None)
@given(st.lists(cells, min_size=1, max_size=12), st.sampled_from(["str", "string[python]", object]))
def test_a_columns_quoting_is_each_cells_and_restores_it(values, dtype):
    """The vectorised pass quotes exactly the cells neutralise_text quotes, whatever the
    column's type (Arrow-held text is matched by Arrow's regular expressions)."""
    frame = pd.DataFrame({"rm_id": pd.Series(values, dtype=dtype)})
    safe = neutralise(frame)["rm_id"].tolist()
    expected = [neutralise_text(v) if isinstance(v, str) else None for v in values]
    assert [None if pd.isna(v) else v for v in safe] == expected
    back = restore(neutralise(frame))["rm_id"].tolist()
    assert [None if pd.isna(v) else v for v in back] == values


@pytest.mark.parametrize("dtype", ["str", "string", object])
def test_a_missing_value_is_no_reason_for_a_byte_order_mark(dtype, tmp_path):
    ascii_only = pd.DataFrame({"rm_id": pd.Series(["RM1", None], dtype=dtype)})
    assert not write_csv(ascii_only, tmp_path / "a.csv").read_bytes().startswith(b"\xef\xbb\xbf")
    chinese = pd.DataFrame({"rm_id": pd.Series(["客户经理", None], dtype=dtype)})
    assert write_csv(chinese, tmp_path / "c.csv").read_bytes().startswith(b"\xef\xbb\xbf")
