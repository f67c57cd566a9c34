"""From export files to one DuckDB view per canonical table (`all_<table>`), typed.

File tables: each file matching the config's patterns is parsed and cast, in one
streaming query, into a typed part (reused when unchanged, see parts.py). `all_<table>`
reads every part in place (nothing is copied into memory) with `_file`, the file's
index in `files_<table>` (files sorted by path), and `_pos`, the row's position in its
file; `skips_<table>` turns a position into the physical line (readers.line_thresholds)
and `bad_<table>` holds the rows DuckDB could not split. Adapter tables: the adapter
reads its inputs through `AdapterContext.read` (same reader, same line numbers) and
returns one SQL query per table giving canonical columns as text plus `_file` and
`_line`; the same casting then applies, and `all_<table>` carries `_line` itself. An
adapter source's tables that list files (a survey export) are read as files. What a
source config computes, excludes, aggregates or derives is pipeline.ingest.shaping:
computed columns are added to each file as read, and a shaped table's `all_<table>`
is a view over its parts (`parts_<table>`); a derived table (customers from the
transactions) is built, once the files are staged, like an adapter's.
"""

from __future__ import annotations

import glob
import importlib
import logging
import shutil
import threading
from concurrent.futures import Future, ThreadPoolExecutor
from pathlib import Path

import duckdb
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq

from pipeline.console import progress
from pipeline.errors import ConfigError, InputError
from pipeline.ingest import rawtext, readers, shaping
from pipeline.ingest.cast import absent_optional, empty_part_select, lit, typed_select
from pipeline.ingest.headers import check_repeated, header_names
from pipeline.ingest.parts import FileEntry, PartStore, part_name
from pipeline.ingest.source import SourceConfig, TableSpec
from pipeline.ingest.withhold import readable_columns, withheld_text

log = logging.getLogger(__name__)
PARSERS = 2  # files parsed at once


def discover(patterns: tuple[str, ...], raw: Path, where: str, optional: bool) -> list[Path]:
    """Files matching the patterns under the raw folder, sorted; none is an error."""
    found: set[Path] = set()
    for pattern in patterns:
        matches = [Path(p) for p in glob.glob(str(raw / pattern), recursive=True)]
        matches = [p for p in matches if p.is_file()]
        if not matches and not optional:
            raise InputError(f"{raw / pattern}: no such file ({where})")
        found.update(matches)
    return sorted(found)


def dictionary_columns(spec: TableSpec) -> list[str]:
    """String columns worth dictionary-encoding in Parquet: not the row's or the customer's
    identifier (nearly every value distinct), unless the column has a closed value set."""
    ids = set(spec.table.key) | {"customer_id"}
    return [
        c.name for c in spec.columns_out if c.dtype == "string" and (c.name not in ids or c.allowed)
    ] + ["_reason", "_column"]


class Stager:
    """Builds `all_<table>` views in `con` and records every input file."""

    def __init__(
        self,
        con: duckdb.DuckDBPyConnection,
        source: SourceConfig,
        raw: Path,
        store: PartStore,
        workdir: Path,
    ):
        self.con, self.source, self.raw, self.store = con, source, raw, store
        self.workdir = workdir
        self.entries: list[FileEntry] = []
        self.explicit_lines: set[str] = set()  # tables whose all_<table> carries `_line`
        self._n = 0
        self._local = threading.local()
        self._cursors: list[duckdb.DuckDBPyConnection] = []

    def _name(self) -> str:
        self._n += 1
        return f"raw_{self._n}"

    def label(self, path: Path) -> str:
        return str(path)

    def rel(self, path: Path) -> str:
        try:
            return path.relative_to(self.raw).as_posix()
        except ValueError:
            return str(path)

    def stage_all(self) -> None:
        """Every table of the source: the adapter's, then those read from files, then the
        derived ones (built from staged tables)."""
        if self.source.adapter:
            self.stage_adapter()
        for name, spec in self.source.tables.items():
            if not self.source.built_by_adapter(name) and spec.derive_from is None:
                self.stage_files(spec)
        for spec in self.source.tables.values():
            if spec.derive_from is not None:
                self.stage_derived(spec)

    # --- tables read file by file -------------------------------------------------
    def stage_files(self, spec: TableSpec) -> None:
        where = f"tables.{spec.name}.files in {self.source.path}"
        fingerprint = spec.fingerprint(self.source)
        paths = discover(spec.files, self.raw, where, spec.optional)
        # files without a part are hashed and parsed PARSERS at a time, each on its own
        # cursor: one file's Parquet encoding (Python thread) overlaps another's parsing
        with ThreadPoolExecutor(max_workers=PARSERS) as pool:
            jobs = {
                path: pool.submit(self._prepare_and_parse, spec, path, fingerprint, self._name(), i)
                for i, path in enumerate(paths)
                if path.stat().st_size > 0 and self._cached_part(spec, path, fingerprint) is None
            }
            try:
                entries = []
                with progress(f"{spec.name} files", len(paths)) as advance:
                    for path in paths:
                        entries.append(self._part_for(spec, path, fingerprint, jobs.get(path)))
                        advance(item=self.rel(path))
                        how = "parsed" if entries[-1].parsed else "reused"
                        log.debug("%s: %s %s", spec.name, how, self.rel(path))
            except BaseException:
                for future in jobs.values():
                    future.cancel()
                raise
            finally:
                pool.shutdown(wait=True)
                for cursor in self._cursors:
                    cursor.close()
                self._cursors, self._local = [], threading.local()
        self.entries.extend(entries)
        self._views(spec, sorted(entries, key=lambda e: e.file))

    def _cursor(self) -> duckdb.DuckDBPyConnection:
        """This thread's cursor on the connection (same database, its own temp tables)."""
        cursor = getattr(self._local, "con", None)
        if cursor is None:
            cursor = self._local.con = self.con.cursor()
            self._cursors.append(cursor)
        return cursor

    def _cached_part(self, spec: TableSpec, path: Path, fingerprint: str):
        """The part of an unchanged file (size and mtime as last time), if it exists."""
        sha = self.store.cached_sha(path)
        return self.store.find(part_name(spec.name, sha, fingerprint)) if sha else None

    def _prepare_and_parse(
        self, spec: TableSpec, path: Path, fingerprint: str, table: str, index: int
    ) -> tuple[rawtext.Prepared, dict | None, Path | None]:
        """Hash a file and, unless a part of that content exists, parse it into a part in a
        folder of its own (the caller moves it into staging): (prepared, facts, part)."""
        label = self.label(path)
        read = spec.read
        prepared = rawtext.prepare(
            path,
            label,
            read["format"],
            read["encoding"],
            self.workdir,
            read["separator"],
            read["quote"],
            read["escape"],
        )
        name = part_name(spec.name, prepared.sha256, fingerprint)
        if self.store.find(name) is not None:
            return prepared, None, None
        target = self.workdir / "parsing" / str(index) / name
        target.parent.mkdir(parents=True, exist_ok=True)
        return prepared, self._parse(spec, prepared, label, target, table), target

    def _part_for(
        self, spec: TableSpec, path: Path, fingerprint: str, job: Future | None
    ) -> FileEntry:
        label, rel = self.label(path), self.rel(path)
        size = path.stat().st_size
        if size == 0:
            raise InputError(f"{label}: the file is empty (0 bytes)")
        found = self._cached_part(spec, path, fingerprint)
        sha = self.store.cached_sha(path)
        parsed = False
        if found is None:
            assert job is not None  # submitted by stage_files for every file without a part
            prepared, facts, parsed_part = job.result()
            sha = prepared.sha256
            name = part_name(spec.name, sha, fingerprint)
            found = self.store.find(name)  # the same content under another name, this run
            if found is None and parsed_part is not None:
                target = self.store.stage(name)
                shutil.move(parsed_part, target)
                if facts["malformed"]:
                    shutil.move(
                        PartStore.malformed_path(parsed_part), PartStore.malformed_path(target)
                    )
                self.store.record(name, facts)
                found = (target, facts)
                parsed = True
        self.store.note_file(path, sha)
        part, facts = found
        return FileEntry(
            spec.name,
            rel,
            size,
            sha,
            facts["rows_read"],
            facts["lines_exact"],
            part,
            parsed,
            facts["base"],
            tuple(facts["skipped"]),
            PartStore.malformed_path(part) if facts["malformed"] else None,
            tuple(facts.get("repeated_headers", ())),
            tuple(facts.get("absent_columns", ())),
        )

    def _parse(
        self, spec: TableSpec, prepared: rawtext.Prepared, label: str, target: Path, table: str
    ) -> dict:
        lead = (() if spec.read["format"] == "csv" else ("_line",)) + shaping.lead_columns(spec)
        read_columns = {src for sources in spec.columns.values() for src in sources}
        repeats = check_repeated(header_names(prepared.text_path, spec.read), read_columns, label)

        absent: list[str] = []

        def select_for(headers: list[str], from_sql: str, trim: bool, controls: bool) -> str:
            headers, from_sql = shaping.wrap(spec, headers, from_sql, label, trim)
            absent[:] = absent_optional(spec, headers)
            return typed_select(spec, self.source, headers, from_sql, label, lead, trim, controls)

        parsed = readers.write_part(
            self._cursor(),
            prepared,
            spec.read,
            label,
            table,
            select_for,
            target,
            dictionary_columns(spec),
        )
        if parsed.rows == 0 and not parsed.malformed and not spec.allow_empty:
            raise InputError(f"{label}: the file holds a header but no data rows")
        if parsed.malformed:
            self._write_malformed(spec, parsed, PartStore.malformed_path(target))
        return {
            "rows_read": parsed.rows + len(parsed.malformed),
            "lines_exact": parsed.lines_exact,
            "base": parsed.base,
            "skipped": parsed.skipped,
            "malformed": len(parsed.malformed),
            "repeated_headers": repeats,
            "absent_columns": list(absent),
        }

    def _write_malformed(self, spec: TableSpec, parsed: readers.Parsed, target: Path) -> None:
        """Unsplittable rows; their raw text is withheld unless the source config maps or
        lists as safe every column of the file (withhold.py)."""
        withheld = withheld_text(parsed.headers, readable_columns(self.source, spec))
        table = pa.table(
            {
                "line": pa.array([m[0] for m in parsed.malformed], pa.int64()),
                "error": pa.array([m[1] for m in parsed.malformed], pa.string()),
                "raw": pa.array([withheld or m[2] for m in parsed.malformed], pa.string()),
            }
        )
        pq.write_table(table, target, compression="snappy")

    def _views(self, spec: TableSpec, entries: list[FileEntry]) -> None:
        """all_, files_, skips_ and bad_<table> over the parts of `entries` (sorted by file)."""
        name = spec.name
        selects, bad = [], []
        for i, e in enumerate(entries):
            selects.append(
                f"SELECT {i}::INTEGER AS _file, file_row_number AS _pos, "
                f"* EXCLUDE (file_row_number) FROM read_parquet({lit(e.part)}, "
                "file_row_number=true)"
            )
            if e.malformed_part is not None:
                bad.append(
                    f"SELECT {i}::INTEGER AS _file, line::BIGINT AS _line, error::VARCHAR "
                    f"AS _error, raw::VARCHAR AS _raw FROM read_parquet({lit(e.malformed_part)})"
                )
        # views: the parts are read where needed, never copied into memory
        if shaping.is_shaped(spec):
            empty = shaping.empty_parts_sql(spec, empty_part_select(spec))
            self.con.execute(
                f"CREATE VIEW parts_{name} AS " + " UNION ALL ".join(selects or [empty])
            )
            self.con.execute(
                f"CREATE VIEW all_{name} AS " + shaping.all_view_sql(spec, f"parts_{name}")
            )
        else:
            self.con.execute(
                f"CREATE VIEW all_{name} AS "
                + " UNION ALL ".join(selects or [empty_part_select(spec)])
            )
        self._frame(
            f"files_{name}",
            {
                "_file": pd.Series(range(len(entries)), dtype="int32"),
                "file": pd.Series([e.file for e in entries], dtype="string"),
                "base": pd.Series([e.base for e in entries], dtype="int64"),
            },
        )
        thresholds = [
            (i, t, k)
            for i, e in enumerate(entries)
            for t, k in readers.line_thresholds(e.base, list(e.skipped))
        ]
        self._frame(
            f"skips_{name}",
            {
                "_file": pd.Series([x[0] for x in thresholds], dtype="int32"),
                "t": pd.Series([x[1] for x in thresholds], dtype="int64"),
                "k": pd.Series([x[2] for x in thresholds], dtype="int64"),
            },
        )
        nothing = (
            "SELECT NULL::INTEGER AS _file, NULL::BIGINT AS _line, NULL::VARCHAR AS _error, "
            "NULL::VARCHAR AS _raw WHERE false"
        )
        self.con.execute(f"CREATE VIEW bad_{name} AS " + " UNION ALL ".join(bad or [nothing]))

    def _frame(self, name: str, columns: dict[str, pd.Series]) -> None:
        self.con.register(name + "_frame", pd.DataFrame(columns))
        self.con.execute(f"CREATE TABLE {name} AS SELECT * FROM {name}_frame")
        self.con.unregister(name + "_frame")

    # --- tables an adapter builds, and derived tables ---------------------------------
    def stage_adapter(self) -> None:
        module_name = self.source.adapter
        try:
            module = importlib.import_module(module_name)
        except ImportError as exc:
            raise ConfigError(
                f"{self.source.path}: adapter: cannot import {module_name}: {exc}"
            ) from None
        context = AdapterContext(self)
        built: dict[str, str] = module.build(context)
        for name, spec in self.source.tables.items():
            if not self.source.built_by_adapter(name):
                continue
            if name not in built:
                raise ConfigError(
                    f"{self.source.path}: the adapter {module_name} does not build {name}; "
                    f"list tables.{name}.files to read it from an export"
                )
            text = f"adapter_{name}"
            self.con.execute(f"CREATE TABLE {text} AS {built[name]}")
            label = f"{self.source.adapter} ({name})"
            self._stage_built(spec, text, label, context.malformed.get(name, []))

    def stage_derived(self, spec: TableSpec) -> None:
        """A table the source config derives from another (customers from transactions)."""
        source = self.source.tables[spec.derive_from]
        text = f"derived_{spec.name}"
        self.con.execute(f"CREATE TABLE {text} AS {shaping.derived_sql(source)}")
        label = f"{self.source.path.name} (tables.{spec.name}.derive_from: {spec.derive_from})"
        self._stage_built(spec, text, label, [])

    def _stage_built(self, spec: TableSpec, text: str, label: str, malformed: list) -> None:
        """all_<table> and its companions from a text table of canonical columns with
        `_file` (a file name) and `_line`."""
        name = spec.name
        headers = [r[0] for r in self.con.execute(f"DESCRIBE {text}").fetchall()]
        headers = [h for h in headers if h not in ("_file", "_line")]
        select = typed_select(spec, self.source, headers, text, label, lead=("_file", "_line"))
        files = sorted(
            {r[0] for r in self.con.execute(f"SELECT DISTINCT _file FROM {text}").fetchall()}
            | {m[0] for m in malformed}
        )
        index = {f: i for i, f in enumerate(files)}
        self._frame(
            f"files_{name}",
            {
                "_file": pd.Series(range(len(files)), dtype="int32"),
                "file": pd.Series(files, dtype="string"),
                "base": pd.Series([0] * len(files), dtype="int64"),
            },
        )
        self._frame(
            f"skips_{name}",
            {
                "_file": pd.Series([], dtype="int32"),
                "t": pd.Series([], dtype="int64"),
                "k": pd.Series([], dtype="int64"),
            },
        )
        self._frame(
            f"bad_{name}",
            {
                "_file": pd.Series([index[m[0]] for m in malformed], dtype="int32"),
                "_line": pd.Series([m[1] for m in malformed], dtype="int64"),
                "_error": pd.Series([m[2] for m in malformed], dtype="string"),
                "_raw": pd.Series([m[3] for m in malformed], dtype="string"),
            },
        )
        # `_pos` is only the row's identity here: `_line` is the builder's own
        self.con.execute(
            f"CREATE TABLE all_{name} AS SELECT f._file, t._pos, t.* EXCLUDE (_file, _pos) "
            f"FROM (SELECT row_number() OVER () AS _pos, * FROM ({select})) t "
            f"JOIN files_{name} f ON t._file = f.file ORDER BY t._pos"
        )
        self.explicit_lines.add(name)


class AdapterContext:
    """What an adapter may do: read its declared inputs as text tables with line numbers."""

    def __init__(self, stager: Stager):
        self.stager = stager
        self.con = stager.con
        self.source = stager.source
        self.malformed: dict[str, list[tuple[str, int, str, str]]] = {}

    def read(
        self,
        input_name: str,
        table: str,
        separator: str = ",",
        quote: str = '"',
        encoding: str = "utf-8",
    ) -> str:
        """Load the input's file(s) into a DuckDB table (`_file`, `_line`, text columns).

        Rows DuckDB cannot split are counted as rejects of canonical `table`.
        """
        st = self.stager
        if input_name not in self.source.inputs:
            raise ConfigError(f"{self.source.path}: inputs.{input_name}: not declared")
        where = f"inputs.{input_name} in {self.source.path}"
        read = {
            "format": "csv",
            "separator": separator,
            "quote": quote,
            "escape": quote,
            "header_row": 1,
        }
        selects = []
        for path in discover((self.source.inputs[input_name],), st.raw, where, optional=False):
            label, rel = st.label(path), st.rel(path)
            prepared = rawtext.prepare(path, label, "csv", encoding, st.workdir)
            st.store.note_file(path, prepared.sha256)
            loaded = readers.load(self.con, prepared, read, label, st._name())
            if loaded.rows == 0:
                raise InputError(f"{label}: the file holds a header but no data rows")
            rows = loaded.rows + len(loaded.malformed)
            st.entries.append(
                FileEntry(
                    table, rel, prepared.size, prepared.sha256, rows, loaded.lines_exact, None, True
                )
            )
            withheld = withheld_text(loaded.headers, readable_columns(self.source, None))
            self.malformed.setdefault(table, []).extend(
                (rel, line, error, withheld or raw) for line, error, raw in loaded.malformed
            )
            cols = ", ".join(f'"{h}"' for h in loaded.headers)
            selects.append(f"SELECT {lit(rel)} AS _file, _line, {cols} FROM {loaded.table}")
        name = f"input_{input_name}"
        self.con.execute(f"CREATE TABLE {name} AS {' UNION ALL '.join(selects)}")
        return name
