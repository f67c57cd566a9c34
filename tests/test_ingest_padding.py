"""A file is read without trimming only when no value in it starts or ends with a space."""

from __future__ import annotations

import duckdb
import pyarrow as pa
from hypothesis import given, settings
from hypothesis import strategies as st

from pipeline.ingest.padding import PaddingScan

# ASCII and Unicode spaces trim() removes, a tab it keeps, and plain text
FIELD_CHARS = " \ta9-:\u3000\u00a0"


def scan(text: bytes, cuts: list[int], separator: str = ",", quote: str = '"') -> bool:
    """PaddingScan over `text` fed in blocks cut at `cuts`."""
    s = PaddingScan(separator, quote)
    edges = sorted({0, len(text), *(c % (len(text) + 1) for c in cuts)})
    for lo, hi in zip(edges[:-1], edges[1:], strict=True):
        s.feed(text[lo:hi])
    return s.finish()


def trim_changes_a_value(values: list[str]) -> bool:
    con = duckdb.connect()
    con.register("v", pa.table({"x": pa.array(values, pa.string())}))
    return con.execute("SELECT count(*) FROM v WHERE trim(x) <> x").fetchall()[0][0] > 0


@settings(max_examples=200, deadline=None)
@given(
    rows=st.lists(
        st.lists(st.text(alphabet=FIELD_CHARS, max_size=4), min_size=1, max_size=4),
        min_size=1,
        max_size=6,
    ),
    quoted=st.booleans(),
    crlf=st.booleans(),
    cuts=st.lists(st.integers(min_value=0, max_value=200), max_size=5),
)
def test_a_file_said_unpadded_holds_no_value_trim_would_change(rows, quoted, crlf, cuts):
    q = '"' if quoted else ""
    text = ("\r\n" if crlf else "\n").join(",".join(q + v + q for v in row) for row in rows)
    padded = scan(text.encode(), cuts)
    values = [v for row in rows for v in row]
    if trim_changes_a_value(values):
        assert padded
    if text.isascii():  # exact for ASCII: a padded flag means a value trim would change
        assert padded == trim_changes_a_value(values)


def test_spaces_inside_values_and_tabs_at_their_edges_need_no_trim():
    text = b"txn_id,txn_time,note\nT1,2026-10-16 16:16:05,\ta b\t\nT2,2026-10-17 09:00:00,x\n"
    assert not scan(text, [])
    assert not scan(text, list(range(len(text))))  # any cut, even byte by byte


def test_a_space_at_any_field_edge_is_found_across_block_cuts():
    for text in (b" a,b\n", b"a ,b\n", b"a, b\n", b"a,b \n", b"a,b\n c\n", b"a,b ", b'"a ",b\n'):
        for cut in range(len(text) + 1):
            assert scan(text, [cut]), (text, cut)


def test_non_ascii_files_and_space_separators_always_trim():
    assert scan("客户,a\n".encode(), [])  # Unicode spaces are trimmed too
    assert scan(b"a b\n", [], separator=" ")
    assert scan(b"a;b\n", [], separator=";") is False
    assert scan(b"a; b\n", [], separator=";")
