"""From export files to one DuckDB table per canonical table (`all_<table>`), typed.

File tables: each file matching the config's patterns is parsed and cast into a part
(reused when unchanged, see parts.py). Adapter tables: the adapter reads its inputs
through `AdapterContext.read` (same reader, same line numbers) and returns one SQL query
per table giving canonical columns as text plus `_file` and `_line`; the same casting
then applies.
"""

from __future__ import annotations

import glob
import importlib
from pathlib import Path

import duckdb
import pandas as pd

from pipeline.errors import ConfigError, InputError
from pipeline.ingest import readers
from pipeline.ingest.cast import lit, malformed_select, typed_select
from pipeline.ingest.parts import FileEntry, PartStore
from pipeline.ingest.source import SourceConfig, TableSpec

WITHHELD = "<withheld: the file holds PII columns>"


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


class Stager:
    """Builds `all_<table>` tables in `con` and records every input file."""

    def __init__(
        self,
        con: duckdb.DuckDBPyConnection,
        source: SourceConfig,
        raw: Path,
        store: PartStore,
        workdir: Path,
        reuse_only: bool = False,
    ):
        self.con, self.source, self.raw, self.store = con, source, raw, store
        self.workdir = workdir
        self.reuse_only = reuse_only  # validate: never stage parts for later runs
        self.entries: list[FileEntry] = []
        self._n = 0

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

    # --- tables read file by file -------------------------------------------------
    def stage_files(self, spec: TableSpec) -> None:
        where = f"tables.{spec.name}.files in {self.source.path}"
        fingerprint = spec.fingerprint(self.source)
        selects = []
        for path in discover(spec.files, self.raw, where, spec.optional):
            entry = self._part_for(spec, path, fingerprint)
            self.entries.append(entry)
            selects.append(
                f"SELECT {lit(entry.file)} AS _file, * FROM read_parquet({lit(entry.part)})"
            )
        self._union(spec, selects)

    def _part_for(self, spec: TableSpec, path: Path, fingerprint: str) -> FileEntry:
        label, rel = self.label(path), self.rel(path)
        size = path.stat().st_size
        if size == 0:
            raise InputError(f"{label}: the file is empty (0 bytes)")
        sha = self.store.cached_sha(path)
        found = self.store.find(f"{spec.name}/{sha[:32]}-{fingerprint}.parquet") if sha else None
        parsed = False
        if found is None:
            prepared = readers.prepare(
                path, label, spec.read["format"], spec.read["encoding"], self.workdir
            )
            sha = prepared.sha256
            name = f"{spec.name}/{sha[:32]}-{fingerprint}.parquet"
            found = self.store.find(name)
            if found is None:
                target = self.store.stage(name)
                rows, exact = self._parse(spec, prepared, label, target)
                self.store.record(name, rows, exact)
                found = (target, self.store.parts[name])
                parsed = True
        self.store.note_file(path, sha)
        part, facts = found
        return FileEntry(
            spec.name, rel, size, sha, facts["rows_read"], facts["lines_exact"], part, parsed
        )

    def _parse(
        self, spec: TableSpec, prepared: readers.Prepared, label: str, target: Path
    ) -> tuple[int, bool]:
        loaded = readers.load(self.con, prepared, spec.read, label, self._name())
        if loaded.rows == 0 and not loaded.malformed and not spec.allow_empty:
            raise InputError(f"{label}: the file holds a header but no data rows")
        select = typed_select(spec, self.source, loaded, label)
        if loaded.malformed:
            bad = self._malformed_table(loaded)
            select = f"{select} UNION ALL {malformed_select(spec, bad)}"
        self.con.execute(
            f"COPY ({select} ORDER BY _line) TO {lit(target)} (FORMAT parquet, COMPRESSION zstd)"
        )
        loaded.release(self.con)
        if loaded.malformed:
            self.con.execute(f"DROP TABLE {bad}")
        return loaded.rows + len(loaded.malformed), loaded.lines_exact

    def _malformed_table(self, loaded: readers.Loaded) -> str:
        """Unsplittable rows; their raw text is withheld when the file holds PII columns."""
        has_pii = bool({h.strip() for h in loaded.headers} & self.source.pii_source_columns)
        frame = pd.DataFrame(
            {
                "line": pd.Series([m[0] for m in loaded.malformed], dtype="int64"),
                "error": pd.Series([m[1] for m in loaded.malformed], dtype="string"),
                "raw": pd.Series(
                    [WITHHELD if has_pii else m[2] for m in loaded.malformed], dtype="string"
                ),
            }
        )
        name = loaded.table + "_bad"
        self.con.register(name + "_frame", frame)
        self.con.execute(f"CREATE TABLE {name} AS SELECT * FROM {name}_frame")
        self.con.unregister(name + "_frame")
        return name

    def _union(self, spec: TableSpec, selects: list[str]) -> None:
        if not selects:  # an optional table whose files are absent: an empty typed table
            nothing = (
                "(SELECT NULL::VARCHAR AS file, NULL::BIGINT AS line, NULL AS error, "
                "NULL AS raw WHERE false)"
            )
            selects = [malformed_select(spec, nothing, with_file=True)]
        # a view: the parts are read where needed, never copied into memory
        self.con.execute(f"CREATE VIEW all_{spec.name} AS {' UNION ALL '.join(selects)}")

    # --- tables an adapter builds ---------------------------------------------------
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
            if name not in built:
                raise ConfigError(
                    f"{self.source.path}: the adapter {module_name} does not build {name}"
                )
            text = f"adapter_{name}"
            self.con.execute(f"CREATE TABLE {text} AS {built[name]}")
            headers = [r[0] for r in self.con.execute(f"DESCRIBE {text}").fetchall()]
            rows = self.con.execute(f"SELECT count(*) FROM {text}").fetchall()[0][0]
            loaded = readers.Loaded(
                text, [h for h in headers if h not in ("_file", "_line")], rows, [], True
            )
            select = typed_select(
                spec, self.source, loaded, f"{self.source.adapter} ({name})", keep_file=True
            )
            malformed = context.malformed.get(name, [])
            bad = self._adapter_malformed(name, malformed)
            self.con.execute(
                f"CREATE TABLE all_{name} AS {select} "
                f"UNION ALL {malformed_select(spec, bad, with_file=True)}"
            )

    def _adapter_malformed(self, table: str, rows: list[tuple[str, int, str, str]]) -> str:
        frame = pd.DataFrame(
            {
                "file": pd.Series([r[0] for r in rows], dtype="string"),
                "line": pd.Series([r[1] for r in rows], dtype="int64"),
                "error": pd.Series([r[2] for r in rows], dtype="string"),
                "raw": pd.Series([r[3] for r in rows], dtype="string"),
            }
        )
        name = f"adapter_{table}_bad"
        self.con.register(name + "_frame", frame)
        self.con.execute(f"CREATE TABLE {name} AS SELECT * FROM {name}_frame")
        self.con.unregister(name + "_frame")
        return name


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
            prepared = readers.prepare(path, label, "csv", encoding, st.workdir)
            loaded = readers.load(self.con, prepared, read, label, st._name())
            if loaded.rows == 0:
                raise InputError(f"{label}: the file holds a header but no data rows")
            rows = loaded.rows + len(loaded.malformed)
            st.entries.append(
                FileEntry(
                    table, rel, prepared.size, prepared.sha256, rows, loaded.lines_exact, None, True
                )
            )
            self.malformed.setdefault(table, []).extend((rel, *m) for m in loaded.malformed)
            cols = ", ".join(f'"{h}"' for h in loaded.headers)
            selects.append(f"SELECT {lit(rel)} AS _file, _line, {cols} FROM {loaded.table}")
        name = f"input_{input_name}"
        self.con.execute(f"CREATE TABLE {name} AS {' UNION ALL '.join(selects)}")
        return name
