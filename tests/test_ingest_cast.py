"""Casting SQL shortcuts give exactly what the plain SQL functions give."""

from __future__ import annotations

import duckdb
import pyarrow as pa
from hypothesis import given, settings
from hypothesis import strategies as st

from pipeline.ingest.cast import _trim

# characters trim() might treat as space, and ones it must not, plus plain text
EDGES = (
    " \t\n\r\x0b\x0c\x1c\x1f\x00\x7f\u00a0\u1680\u2003\u200b\u2028\u205f\u3000\ufeff\u0301袁aZ9-."
)


@settings(max_examples=50, deadline=None)
@given(
    st.lists(
        st.one_of(
            st.none(),
            st.text(alphabet=EDGES, max_size=6),
            st.text(max_size=6).filter(lambda s: all(not 0xD800 <= ord(c) < 0xE000 for c in s)),
        ),
        min_size=1,
        max_size=200,
    )
)
def test_guarded_trim_equals_trim(values):
    con = duckdb.connect()
    con.register("v", pa.table({"x": pa.array(values, pa.string())}))
    got = con.execute(f"SELECT {_trim('x')}, trim(x) FROM v").fetchall()
    assert [a for a, _ in got] == [b for _, b in got]


def test_guarded_trim_strips_spaces_of_every_kind():
    con = duckdb.connect()
    rows = [" a", "a ", "\u3000客户\u3000", "\u00a0x", "a b", "\ta\t", "", None]
    con.register("v", pa.table({"x": pa.array(rows, pa.string())}))
    got = [r[0] for r in con.execute(f"SELECT {_trim('x')} FROM v").fetchall()]
    assert got == ["a", "a", "客户", "x", "a b", "\ta\t", "", None]
