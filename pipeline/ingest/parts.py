"""Per-file typed parts: why re-running ingest after a new month reads only the new file.

Each export file, once parsed and cast, is kept as `parts/<table>/<sha256>-<spec>.parquet`
(its content hash and a hash of the config that shaped it), its rows in file order, and
the rows DuckDB could not split beside it (`.bad.parquet`). A file's identity is its
content: every run hashes every input (size and modification time prove nothing -- an
export edited in place can keep both), but an unchanged file is not parsed again; a
renamed copy has the same hash and reuses the part, and its rows are then exact
duplicates that key checks drop and count. `state.json` remembers the files of the last
run, so that the files it knew are hashed up front (two at a time) and a new one only
once, while it is parsed. New parts are staged in a temporary folder and only moved in
when the whole run succeeds. `state.json` also keeps the last successful run's
fingerprint (skip.py), so a run with nothing changed is skipped.
"""

from __future__ import annotations

import json
import os
import shutil
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

from pipeline.io import sha256_file, write_json

HASHERS = 2  # files hashed at once (hashlib releases the GIL on large blocks)

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
    repeated_headers: tuple[str, ...] = ()  # header names given twice (none of them read)
    absent_columns: tuple[str, ...] = ()  # optional canonical columns whose header it lacks


def part_name(table: str, sha256: str, fingerprint: str) -> str:
    """A part's name in the store: its table, its file's content (_content_key) and the
    hash of the config that shaped it."""
    return f"{table}/{_content_key(sha256)}-{fingerprint}.parquet"


def _content_key(sha256: str) -> str:
    return sha256[:32]


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
        self.hashed: dict[str, str] = {}  # path -> sha256 of its content, read this run

    def known(self, path: Path) -> bool:
        """Whether the last successful run read a file at this path."""
        return str(path) in self.files

    def hash_files(self, paths: list[Path]) -> None:
        """Hash the files' contents now (HASHERS at a time) for cached_sha."""
        todo = [p for p in paths if str(p) not in self.hashed]
        with ThreadPoolExecutor(max_workers=HASHERS) as pool:
            for path, sha in zip(todo, pool.map(sha256_file, todo), strict=True):
                self.hashed[str(path)] = sha

    def cached_sha(self, path: Path) -> str | None:
        """The file's content hash, if it was hashed this run (hash_files)."""
        return self.hashed.get(str(path))

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

    def forget(self, paths: list[Path]) -> None:
        """Drop the parts made from these files (as the last run read them) and the last
        run's fingerprint, and save the state: the next run parses them again, as it would
        a fresh delivery (the benchmark's monthly run)."""
        wanted = {str(p.resolve()) for p in paths}
        keys = tuple(
            _content_key(facts["sha256"]) + "-"
            for name, facts in self.files.items()
            if str(Path(name).resolve()) in wanted
        )
        for name in [n for n in self.parts if n.split("/")[-1].startswith(keys)]:
            part = self.parts_dir / name
            part.unlink(missing_ok=True)
            self.malformed_path(part).unlink(missing_ok=True)
            del self.parts[name]
        state = {"version": STATE_VERSION, "files": self.files, "parts": self.parts, "last_run": {}}
        write_json(state, self.state_path)

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
