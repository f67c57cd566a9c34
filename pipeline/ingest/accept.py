"""A table's accepted rows in output order, found and written in one sorted pass.

One DuckDB query reads every row of `all_<table>` once: it looks up the customer (the
join with the accepted customers that checks the reference also gives the customer's
rank in output order), runs the range checks (checks.py) and sorts all rows by the
table's output order, then by file and line. Sorting numbers costs about half as much as
sorting text, so a referring table's customer_id is sorted as that rank and a column
with a closed value set as the value's position in the sorted set; both turn back into
text only for the rows written. Python reads the sorted rows in batches and
- sets aside the rows failing a cast or a check (few; their details are read later);
- finds the rows sharing a key where the output order keeps them together (every sort
  column is a key column: all tables but transactions): identical rows keep the first
  (by file, line), rows that differ are all rejected -- what checks.classify decides in
  SQL for the same rows afterwards, which must agree;
- writes every other row, the accepted ones, to the output file.
Transactions are keyed by txn_id but sorted by customer and time, so their repeated
keys are found before the pass by one hash aggregate and classified in SQL; the pass
drops the ones not accepted. No separate scan, aggregate or copy per table otherwise.
"""

from __future__ import annotations

import queue
import threading
from collections.abc import Iterator
from datetime import date

import duckdb
import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from pipeline.errors import InputError
from pipeline.ingest import checks
from pipeline.ingest.arrow_out import BATCH, ParquetOut
from pipeline.ingest.cast import SQL_TYPES, ident, lit, part_columns
from pipeline.ingest.source import TableSpec
from pipeline.privacy import hash_id_sql

CUSTOMERS = "accepted_customers"  # customer_id, _out (as written), _rank (output order, from 1)
SLICE = "TRUE /* slice */"  # where _stream_sql's query takes one of slice_ranges
MARKS = pa.schema([("_file", pa.int32()), ("_pos", pa.int64()), ("_flag", pa.int32())])


def customer_id_out(id_salt: str | None) -> str:
    """customer_id as written: the export's, or its salted pseudonym."""
    return (
        hash_id_sql("customer_id::VARCHAR", id_salt)
        if id_salt is not None
        else "customer_id::VARCHAR"
    )


def rank_customers(con: duckdb.DuckDBPyConnection, accepted: str, id_salt: str | None) -> pa.Array:
    """Create CUSTOMERS from the accepted customers (`accepted`, a query); return their
    customer_id as written, by rank (the array a rank decodes from)."""
    con.execute(
        f"CREATE TABLE {CUSTOMERS} AS SELECT customer_id, _out, "
        "row_number() OVER (ORDER BY _out)::INTEGER AS _rank "
        f"FROM (SELECT customer_id, {customer_id_out(id_salt)} AS _out FROM {accepted})"
    )
    ids = con.sql(f"SELECT _out FROM {CUSTOMERS} ORDER BY _rank").to_arrow_table()["_out"]
    return ids.combine_chunks().cast(pa.string())


def keeps_keys_together(spec: TableSpec) -> bool:
    """Rows sharing a key are adjacent in the output order (every sort column is a key)."""
    return set(spec.table.sort_by) <= set(spec.table.key)


def sorted_pass(
    con: duckdb.DuckDBPyConnection,
    spec: TableSpec,
    as_of: date,
    customer_ids: pa.Array | None,
    explicit_lines: bool,
    id_salt: str | None,
    initiated: tuple[str, ...],
    out: ParquetOut | None,
) -> int:
    """Classify every row of `all_<table>` into `cls_<table>` (checks.py) and write the
    accepted rows to `out` (None: only classify); the number of accepted rows.

    `customer_ids`: the accepted customers as written, by rank (None for customers).
    """
    name = spec.name
    fk = checks.has_fk(spec, CUSTOMERS if customer_ids is not None else None)
    together = keeps_keys_together(spec)
    pre = None
    if not together and checks.key_candidates(con, spec, f"cand_{name}"):
        checks.candidate_marks(
            con, spec, as_of, CUSTOMERS if fk else None, f"cand_{name}", f"pmarks_{name}"
        )
        checks.classify(con, spec, as_of, fk, f"pmarks_{name}", f"pre_{name}", explicit_lines)
        con.execute(f"DROP TABLE pmarks_{name}")
        pre = f"pre_{name}"
    if not together:
        con.execute(f"DROP TABLE cand_{name}")
    sql, decode = _stream_sql(spec, as_of, fk, explicit_lines, id_salt, initiated, pre)
    if fk:
        decode["customer_id"] = customer_ids
    ranges = slice_ranges(con, spec, fk, len(customer_ids) if fk else 0)
    rows = _Rows(spec, out, decode, together, pre is not None)
    try:
        for where in ranges:
            reader = con.sql(sql.replace(SLICE, where)).to_arrow_reader(BATCH)
            for batch in _read_ahead(reader):
                rows.add(pa.Table.from_batches([batch]))
        rows.finish()
        _classify_marked(con, spec, as_of, fk, explicit_lines, rows, pre)
    except BaseException:
        if out is not None:
            out.abort()
        raise
    if out is not None:
        out.close()
    return rows.kept


def memory_limit_bytes(con: duckdb.DuckDBPyConnection) -> int:
    """The connection's memory cap in bytes (DuckDB shows it as, say, '5.5 GiB')."""
    text = con.execute("SELECT current_setting('memory_limit')").fetchall()[0][0]
    number, unit = text.split()
    return int(float(number) * _UNITS[unit])


_UNITS = {
    "bytes": 1,
    **{u: 1024**i for i, u in enumerate(("KiB", "MiB", "GiB", "TiB", "PiB"), start=1)},
    **{u: 1000**i for i, u in enumerate(("KB", "MB", "GB", "TB", "PB"), start=1)},
}


def slice_ranges(
    con: duckdb.DuckDBPyConnection, spec: TableSpec, fk: bool, n_customers: int
) -> list[str]:
    """Conditions that split the table's rows into ranges of its first sort column, in
    output order, each small enough to sort within the memory cap (["TRUE"]: one sort).

    DuckDB's ORDER BY feeding a streamed result does not spill: ten million customers'
    150M transactions ran out of 20 GB in one sort. Ranges of the first sort column
    concatenate to the whole order (NULLs sort last, so the last range holds them).
    A referring table sorted by customer is cut into equal ranges of customer rank;
    a table sorted first by a plain column (balances: month end) at quantiles of it. A
    first column written as something else (a pseudonym, a code) is not cut."""
    rows = con.execute(f"SELECT count(*) FROM all_{spec.name}").fetchall()[0][0]
    pieces = -(-rows * SORT_BYTES_PER_ROW // memory_limit_bytes(con))
    first = spec.table.sort_by[0]
    if pieces <= 1:
        return ["TRUE"]
    if first == "customer_id" and fk and n_customers > 1:
        column = "_fk"
        step = -(-n_customers // pieces)
        bounds = list(range(1 + step, n_customers + 1, step))
    elif first != "customer_id" and not spec.table.column(first).allowed:
        column = ident(first)
        qs = ", ".join(str(i / pieces) for i in range(1, pieces))
        found = con.execute(  # quantiles of a sample: any bounds cut the order correctly
            f"SELECT quantile_disc({column}, [{qs}]) FROM (SELECT {column} FROM "
            f"all_{spec.name} USING SAMPLE reservoir(100000 ROWS) REPEATABLE (1))"
        ).fetchall()[0][0]
        bounds = sorted(set(v for v in found if v is not None))
    else:
        return ["TRUE"]
    if not bounds:
        return ["TRUE"]
    edges = [str(b) if isinstance(b, int) else lit(b) for b in bounds]
    ranges = [f"{column} < {edges[0]}"]
    ranges += [
        f"{column} >= {lo} AND {column} < {hi}"
        for lo, hi in zip(edges[:-1], edges[1:], strict=True)
    ]
    ranges.append(f"({column} >= {edges[-1]} OR {column} IS NULL)")
    return ranges


# What a row of the output sort may cost, generously: on the sample bank at 1M customers
# with a 1 GB cap, slices sized at 100 bytes a row ran out of memory and 400 did not; at
# 10M with the default 6 GB cap, ingest peaked at 6.0 GiB RSS. A needless slice costs a
# scan of the table's parts (0.2-0.6 s a slice at 1M), a missing one fails the run.
SORT_BYTES_PER_ROW = 400


def _read_ahead(reader: pa.RecordBatchReader, depth: int = 2) -> Iterator[pa.RecordBatch]:
    """The reader's batches, fetched ahead on a thread: DuckDB produces the next ones
    while the caller settles and encodes this one (both release the GIL)."""
    ready: queue.Queue = queue.Queue(maxsize=depth)
    stop = threading.Event()

    def put(item) -> bool:
        while not stop.is_set():
            try:
                ready.put(item, timeout=0.1)
                return True
            except queue.Full:
                continue
        return False

    def fetch() -> None:
        try:
            for batch in reader:
                if not put(batch):
                    return
            put(_END)
        except BaseException as exc:  # handed to the caller, raised there
            put(exc)

    thread = threading.Thread(target=fetch, name="ingest-read-ahead", daemon=True)
    thread.start()
    try:
        while (item := ready.get()) is not _END:
            if isinstance(item, BaseException):
                raise item
            yield item
    finally:
        stop.set()
        thread.join()


_END = object()


def _stream_sql(
    spec: TableSpec,
    as_of: date,
    fk: bool,
    explicit_lines: bool,
    id_salt: str | None,
    initiated: tuple[str, ...],
    pre: str | None,
) -> tuple[str, dict[str, pa.Array]]:
    """Every row of the table, as output columns (some encoded, see the module's text)
    with `_file`, `_pos`, `_flag` (checks.flag_sql) and `_pre` (its status when
    classified before the pass), in output order then file order; the decoders."""
    exprs, decode = [], {}
    for c in spec.columns_out:
        col = ident(c.name)
        if c.name == "customer_initiated":
            types = ", ".join(lit(t) for t in initiated) or "NULL"
            expr = f"coalesce(txn_type IN ({types}), false)"
        elif c.name == "customer_id" and fk:
            expr = "_fk"  # the customer's rank: decoded from the accepted customers
        elif c.name == "customer_id":
            expr = customer_id_out(id_salt)
        elif c.dtype == "string" and c.allowed:
            values = sorted(c.allowed, key=str.encode)  # DuckDB orders text by its bytes
            listed = ", ".join(lit(v) for v in values)
            expr = f"list_position([{listed}]::VARCHAR[], {col})::SMALLINT"
            decode[c.name] = pa.array(values, pa.string())
        else:
            expr = f"{col}::{SQL_TYPES[c.dtype]}"
        exprs.append(f"{expr} AS {col}")
    lead = ["_file", "_pos"] + (["_line"] if explicit_lines else [])
    rows = checks.with_customer(spec.name, CUSTOMERS if fk else None)
    flagged = f"(SELECT *, {checks.flag_sql(spec, as_of, fk)} AS _flag FROM {rows} WHERE {SLICE})"
    if pre is not None:
        source = (
            f"{flagged} s LEFT JOIN (SELECT _file AS _pf, _pos AS _pp, _status AS _pre "
            f"FROM {pre}) p ON s._file = p._pf AND s._pos = p._pp"
        )
        status = ", _pre"
    else:
        source, status = f"{flagged} s", ""
    order = list(spec.table.sort_by) + [k for k in spec.table.key if k not in spec.table.sort_by]
    if keeps_keys_together(spec):  # the first of rows sharing a key is kept: file order
        order += lead
    # else rows sharing a key were settled before the pass: the written rows' keys are
    # unique, so the order by key alone is total and a smaller sort key needs less memory
    select = ", ".join(exprs + lead) + f", _flag{status}"
    sql = f"SELECT * FROM (SELECT {select} FROM {source}) ORDER BY {', '.join(map(ident, order))}"
    return sql, decode


def _same(a: pa.ChunkedArray, b: pa.ChunkedArray) -> np.ndarray:
    """Element-wise equality where two NULLs are the same (as SQL's grouping has it)."""
    equal = pc.fill_null(pc.equal(a, b), False)
    return pc.or_(equal, pc.and_(pc.is_null(a), pc.is_null(b))).to_numpy(zero_copy_only=False)


class _Rows:
    """Consumes the sorted rows: sets aside failing rows, settles shared keys, writes."""

    def __init__(self, spec, out, decode, together: bool, has_pre: bool):
        self.key = list(spec.table.key)
        self.compare = [c.name for c in part_columns(spec)]
        self.out, self.decode = out, decode
        self.together, self.has_pre = together, has_pre
        self.failing: list[pa.Table] = []  # _file, _pos, _flag
        self.shared: list[pa.Table] = []  # _file, _pos, _dropped
        self.held: pa.Table | None = None  # the last key group so far: it may go on
        self.kept = 0

    def add(self, table: pa.Table) -> None:
        fails = pc.is_valid(table["_flag"])
        if self.has_pre:
            fresh = pc.is_null(table["_pre"])
            fails = pc.and_(fails, fresh)
            accepted = pc.fill_null(pc.equal(table["_pre"], "accepted"), False)
            passing = pc.and_(pc.invert(pc.is_valid(table["_flag"])), pc.or_(fresh, accepted))
        else:
            passing = pc.invert(fails)
        if pc.any(fails).as_py():
            self.failing.append(table.filter(fails).select(MARKS.names).cast(MARKS))
        # a filter copies every column even when it keeps every row, as nearly all do
        good = table if pc.all(passing).as_py() else table.filter(passing)
        if self.together:
            self._groups(good, final=False)
        else:
            self._emit(good)

    def finish(self) -> None:
        if self.together and self.held is not None:
            self._groups(self.held.slice(0, 0), final=True)

    def _groups(self, good: pa.Table, final: bool) -> None:
        if self.held is not None:
            good = pa.concat_tables([self.held, good])
            self.held = None
        n = len(good)
        if n == 0:
            return
        same = np.zeros(n, dtype=bool)
        if n > 1:
            together = np.ones(n - 1, dtype=bool)
            for k in self.key:
                col = good[k]
                together &= _same(col.slice(1), col.slice(0, n - 1))
            same[1:] = together
        starts = np.flatnonzero(~same)
        cut = n if final else int(starts[-1])  # the last group may continue in the next batch
        if not final:
            self.held = good.slice(cut)
        if cut == 0:
            return
        body = good.slice(0, cut)
        group = np.cumsum(~same[:cut]) - 1
        sizes = np.bincount(group)
        shared = sizes[group] > 1
        if not shared.any():
            self._emit(body)
            return
        first = starts[group]  # each row's group's first row
        idx = np.flatnonzero(shared)
        differs = np.zeros(len(idx), dtype=bool)
        for c in self.compare:
            col = body[c]
            differs |= ~_same(col.take(pa.array(idx)), col.take(pa.array(first[idx])))
        conflict = np.zeros(len(sizes), dtype=bool)
        conflict[group[idx][differs]] = True
        keep = ~shared | ((np.arange(cut) == first) & ~conflict[group])
        self.shared.append(
            pa.table(
                {
                    "_file": body["_file"].take(pa.array(idx)),
                    "_pos": body["_pos"].take(pa.array(idx)),
                    "_dropped": pa.array(~keep[idx]),
                }
            )
        )
        self._emit(body.filter(pa.array(keep)))

    def _emit(self, table: pa.Table) -> None:
        self.kept += len(table)
        if self.out is None or not len(table):
            return
        columns = {}
        for name in self.out.schema.names:
            col = table[name]
            if name in self.decode:  # codes and ranks count from 1
                col = pc.take(self.decode[name], pc.subtract(col, 1))
            columns[name] = col
        self.out.write(pa.table(columns))


def _classify_marked(con, spec, as_of, fk, explicit_lines, rows: _Rows, pre: str | None) -> None:
    """`cls_<table>`: the failing rows and the rows sharing a key, classified in SQL
    (checks.classify), plus those classified before the pass; the pass's own decisions on
    shared keys must be the same."""
    name = spec.name
    shared = (
        pa.concat_tables(rows.shared)
        if rows.shared
        else pa.table(
            {
                "_file": pa.array([], pa.int32()),
                "_pos": pa.array([], pa.int64()),
                "_dropped": pa.array([], pa.bool_()),
            }
        )
    )
    marks = pa.concat_tables(
        rows.failing
        + [
            shared.select(["_file", "_pos"]).append_column(
                "_flag", pa.nulls(len(shared), pa.int32())
            )
        ]
    ).cast(MARKS)
    for table, frame in ((f"marks_{name}", marks), (f"shared_{name}", shared)):
        con.register(f"{table}_frame", frame)
        con.execute(f"CREATE TABLE {table} AS SELECT * FROM {table}_frame")
        con.unregister(f"{table}_frame")
    checks.classify(con, spec, as_of, fk, f"marks_{name}", f"cls_{name}", explicit_lines)
    agree = con.execute(
        f"SELECT count(*) FROM shared_{name} s JOIN cls_{name} c "
        "ON s._file = c._file AND s._pos = c._pos "
        "WHERE (c._status <> 'accepted') = s._dropped"
    ).fetchall()[0][0]
    if agree != len(shared):
        raise InputError(
            f"{name}: rows sharing a key were settled differently by the sorted pass and "
            f"the key check ({len(shared) - agree} of {len(shared)}); nothing was written"
        )
    if pre is not None:
        con.execute(f"INSERT INTO cls_{name} SELECT * FROM {pre}; DROP TABLE {pre}")
    con.execute(f"DROP TABLE marks_{name}; DROP TABLE shared_{name}")
