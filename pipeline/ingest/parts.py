"""Per-file typed parts: why re-running ingest after a new month reads only the new file.

Each export file, once parsed and cast, is kept as `parts/<table>/<sha256>-<spec>.parquet`
(its content hash and a hash of the config that shaped it), its rows in file order, and
the rows DuckDB could not split beside it (`.bad.parquet`). `state.json` remembers each
file's size, modification time and hash, so an unchanged file is neither hashed nor
parsed again; a renamed copy has the same hash and reuses the part, and its rows are
then exact duplicates that key checks drop and count. New parts are staged in a
temporary folder and only moved in when the whole run succeeds. `state.json` also
keeps the last successful run's fingerprint (run.py), so a run with nothing changed
is skipped.
"""

from __future__ import annotations

import json
import os
import shutil
from dataclasses import dataclass
from pathlib import Path

from pipeline.io import write_json

STATE_VERSION = 2


@dataclass
class FileEntry:
    """One input file of a table, for the combine step and the manifest."""

    table: str
    file: str  # path relative to the raw folder, as reported in rejects
    size: int
    sha256: str
    rows_read: int
    lines_exact: bool
    part: Path | None  # the typed part holding its rows (None: an adapter input)
    parsed: bool  # parsed in this run (False: reused from an earlier run)
    base: int = 0  # line of the part's first row when no line before it is skipped
    skipped: tuple[int, ...] = ()  # physical lines holding no row of the part
    malformed_part: Path | None = None  # the rows DuckDB could not split, if any


class PartStore:
    """The committed parts folder plus this run's staging folder."""

    def __init__(self, parts_dir: Path, staging_dir: Path):
        self.parts_dir = parts_dir
        self.staging_dir = staging_dir
        self.state_path = parts_dir / "state.json"
        state = {}
        if self.state_path.is_file():
            try:
                state = json.loads(self.state_path.read_text(encoding="utf-8"))
            except ValueError:
                state = {}  # a broken cache only costs a re-parse
        if state.get("version") != STATE_VERSION:
            state = {}
        self.files: dict[str, dict] = state.get("files", {})
        self.parts: dict[str, dict] = state.get("parts", {})
        self.last_run: dict = state.get("last_run", {})
        self.used_parts: set[str] = set()
        self.seen_files: dict[str, dict] = {}

    def cached_sha(self, path: Path) -> str | None:
        """The file's hash from the last run if its size and mtime are unchanged."""
        st = path.stat()
        known = self.files.get(str(path))
        if known and known["size"] == st.st_size and known["mtime_ns"] == st.st_mtime_ns:
            return known["sha256"]
        return None

    def note_file(self, path: Path, sha256: str) -> None:
        st = path.stat()
        self.seen_files[str(path)] = {
            "size": st.st_size,
            "mtime_ns": st.st_mtime_ns,
            "sha256": sha256,
        }

    def find(self, name: str) -> tuple[Path, dict] | None:
        """A part (staged this run, or committed earlier) with its recorded facts."""
        for root in (self.staging_dir, self.parts_dir):
            path = root / name
            if path.is_file() and name in self.parts:
                self.used_parts.add(name)
                return path, self.parts[name]
        return None

    def stage(self, name: str) -> Path:
        path = self.staging_dir / name
        path.parent.mkdir(parents=True, exist_ok=True)
        return path

    def record(self, name: str, facts: dict) -> None:
        """A new part's facts: rows_read, lines_exact, base, skipped, malformed."""
        self.parts[name] = facts
        self.used_parts.add(name)

    @staticmethod
    def malformed_path(part: Path) -> Path:
        return part.with_name(part.name.removesuffix(".parquet") + ".bad.parquet")

    def commit(self, last_run: dict | None = None) -> None:
        """Move staged parts in, delete parts no current file uses, save the state
        (with the fingerprint of this run, `last_run`)."""
        for staged in sorted(self.staging_dir.rglob("*.parquet")):
            target = self.parts_dir / staged.relative_to(self.staging_dir)
            target.parent.mkdir(parents=True, exist_ok=True)
            shutil.move(staged, target.with_suffix(".tmp"))
            os.replace(target.with_suffix(".tmp"), target)
        for existing in (
            sorted(self.parts_dir.rglob("*.parquet")) if self.parts_dir.is_dir() else []
        ):
            name = existing.relative_to(self.parts_dir).as_posix()
            if name.endswith(".bad.parquet"):  # beside its part: kept or dropped with it
                name = name.removesuffix(".bad.parquet") + ".parquet"
            if name not in self.used_parts:
                existing.unlink()
        state = {
            "version": STATE_VERSION,
            "files": dict(sorted(self.seen_files.items())),
            "parts": {k: v for k, v in sorted(self.parts.items()) if k in self.used_parts},
            "last_run": last_run or {},
        }
        write_json(state, self.state_path)
