"""Skipping a run that has nothing to do: same inputs, same config, same code, outputs intact.

A successful run records in parts/state.json a fingerprint of everything that decides
its outputs -- the source config as loaded (tables, columns, value maps, survey scales,
PII handling, the bank's bounds), the period, the ingest settings, the ingest and schema
code, the adapter's code, and every input file's path and sha256 -- plus the size and
the sha256 of the last 64 KiB (the Parquet footer) of each file it wrote. The next run
hashes every input again (content, not size and modification time, is a file's
identity: parts.py) and recomputes the fingerprint; when it matches and every output is
still the one written, the outputs are already what a full run would write, byte for
byte, and the run is skipped. A file the last run did not know means a full run, so
nothing is hashed twice for it.
"""

from __future__ import annotations

import hashlib
import importlib.util
import json
from pathlib import Path

from pipeline.catalog import Catalog
from pipeline.errors import InputError
from pipeline.ingest.parts import FileEntry, PartStore
from pipeline.ingest.source import SourceConfig
from pipeline.ingest.staging import discover
from pipeline.ingest.write import file_identity
from pipeline.io import read_json
from pipeline.privacy import id_salt, salt_fingerprint

CODE = sorted(Path(__file__).parent.glob("*.py")) + [Path(__file__).parents[1] / "schema.py"]


def _code_hash(source: SourceConfig) -> str:
    digest = hashlib.sha256()
    paths = list(CODE)
    if source.adapter:
        spec = importlib.util.find_spec(source.adapter)
        if spec is not None and spec.origin:
            paths.append(Path(spec.origin))
    for path in paths:
        digest.update(path.name.encode() + b"\0" + path.read_bytes())
    return digest.hexdigest()


def fingerprint(cfg: dict, source: SourceConfig, files: list[tuple[str, str]]) -> str:
    """Hash of what decides ingest's outputs; `files`: (path under the raw folder, sha256)."""
    blob = json.dumps(
        {
            "source": repr(source),
            "period": cfg["period"],
            "ingest": {k: v for k, v in cfg["ingest"].items() if k != "memory_limit"},
            "code": _code_hash(source),
            "files": sorted(files),
            "id_salt": salt_fingerprint(id_salt(cfg)),
        },
        sort_keys=True,
        default=str,
    )
    return hashlib.sha256(blob.encode()).hexdigest()


def last_run(
    cfg: dict, source: SourceConfig, entries: list[FileEntry], written: dict[str, list]
) -> dict:
    """What state.json keeps of a successful run: its fingerprint and its outputs."""
    files = sorted({(e.file, e.sha256) for e in entries})
    return {"fingerprint": fingerprint(cfg, source, files), "outputs": written}


def input_paths(source: SourceConfig, raw: Path) -> list[Path] | None:
    """Every input file of the source (None: a required one is missing): the tables'
    files (derived and adapter-built tables have none) and the adapter's inputs."""
    patterns = [(spec.files, spec.optional) for spec in source.tables.values() if spec.files]
    patterns += [((p,), False) for p in source.inputs.values()]
    paths: set[Path] = set()
    for globs, optional in patterns:
        try:
            paths.update(discover(globs, raw, "", optional))
        except InputError:
            return None  # the full run says what is missing
    return sorted(paths)


def _current_files(raw: Path, paths: list[Path], store: PartStore) -> list:
    """(file, sha256) of every input, hashed now."""
    store.hash_files(paths)
    files = set()
    for path in paths:
        rel = path.relative_to(raw).as_posix() if path.is_relative_to(raw) else str(path)
        files.add((rel, store.cached_sha(path)))
    return sorted(files)


def unchanged_run(
    cfg: dict, source: SourceConfig, raw: Path, catalog: Catalog, store: PartStore
) -> dict | None:
    """The last run's manifest when nothing changed since it, else None. The files the
    last run knew are hashed into `store` either way (staging reuses their parts)."""
    paths = input_paths(source, raw)
    if paths is None:
        return None
    store.hash_files([p for p in paths if store.known(p)])
    recorded = store.last_run
    if not recorded or not catalog.ingest_manifest.is_file():
        return None
    if not all(store.known(p) for p in paths):
        return None
    files = _current_files(raw, paths, store)
    if fingerprint(cfg, source, files) != recorded.get("fingerprint"):
        return None
    for path, identity in recorded.get("outputs", {}).items():
        if not Path(path).is_file() or file_identity(Path(path)) != identity:
            return None
    try:
        return read_json(catalog.ingest_manifest)
    except ValueError:
        return None
