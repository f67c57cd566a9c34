"""Running stages safely: one writer per data root (a lock) and a run manifest that says
what a run read, wrote and how long it took."""

from __future__ import annotations

import fcntl
import hashlib
import json
import os
import platform
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from pipeline import __version__
from pipeline.catalog import Catalog
from pipeline.errors import CrmError
from pipeline.io import (
    promote_on_success,
    read_json,
    remove_stale_temporaries,
    sha256_file,
    write_json,
)


class RunLocked(CrmError):
    """Another crm process is writing to the same data root."""


@contextmanager
def data_root_lock(catalog: Catalog) -> Iterator[None]:
    """Hold an exclusive lock on the data root; a second writer stops with a clear message.

    The lock is an OS file lock (flock): a killed process releases it, so a crash never
    leaves a stale lock behind.
    """
    catalog.data_dir.mkdir(parents=True, exist_ok=True)
    path = catalog.data_dir / ".crm.lock"
    with open(path, "a+", encoding="utf-8") as fh:
        try:
            fcntl.flock(fh, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            fh.seek(0)
            holder = fh.read().strip() or "another process"
            raise RunLocked(
                f"{catalog.data_dir} is in use by {holder}; wait for it to finish "
                "(two runs on one data root would overwrite each other)"
            ) from None
        fh.seek(0)
        fh.truncate()
        fh.write(f"crm pid {os.getpid()} on {platform.node()}")
        fh.flush()
        # Alone on the root now: temporaries left by a killed writer are garbage.
        for folder in (
            catalog.interim_dir,
            catalog.data_dir / "processed",
            catalog.report_dir / "build",
        ):
            remove_stale_temporaries(folder)
        try:
            yield
        finally:
            fh.seek(0)
            fh.truncate()
            fcntl.flock(fh, fcntl.LOCK_UN)


def promoted(func: Callable[..., Any], *args: Any) -> Callable[[], Any]:
    """A call of `func(*args)` whose outputs are put in place only if it completes."""

    def call() -> Any:
        with promote_on_success():
            return func(*args)

    return call


def config_hash(cfg: dict[str, Any]) -> str:
    """sha256 of the merged config with machine-specific roots left out."""
    portable = {k: v for k, v in cfg.items() if k != "paths"}
    text = json.dumps(portable, sort_keys=True, ensure_ascii=False)
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def output_files(catalog: Catalog, period: str) -> list[Path]:
    """Every file a period's run leaves behind, in a stable order."""
    found: list[Path] = []
    for root in (catalog.processed_dir(period), catalog.report_build_dir(period)):
        if root.is_dir():
            found += [p for p in root.rglob("*") if p.is_file() and not p.name.startswith(".")]
    return sorted(found)


def run_stages(
    stages: list[tuple[str, Callable[[], Any]]],
    echo: Callable[[str], None],
) -> list[dict[str, Any]]:
    """Run stages in order, echoing progress; stop at the first failure (it propagates)."""
    timings = []
    for i, (name, call) in enumerate(stages, start=1):
        echo(f"[{i}/{len(stages)}] {name} ...")
        started = time.perf_counter()
        summary = call()
        seconds = round(time.perf_counter() - started, 3)
        if summary:
            echo(str(summary).rstrip())
        echo(f"[{i}/{len(stages)}] {name} done in {seconds:.1f}s")
        timings.append({"stage": name, "seconds": seconds})
    return timings


def run_manifest(
    cfg: dict[str, Any], catalog: Catalog, period: str, timings: list[dict[str, Any]]
) -> dict[str, Any]:
    """What a run read and wrote: config hash, version, inputs, outputs with hashes, warnings."""
    ingest = read_json(catalog.ingest_manifest) if catalog.ingest_manifest.is_file() else {}
    card = read_json(catalog.model_card(period)) if catalog.model_card(period).is_file() else {}
    outputs = [
        {"path": str(p), "bytes": p.stat().st_size, "sha256": sha256_file(p)}
        for p in output_files(catalog, period)
    ]
    return {
        "period": period,
        "package_version": __version__,
        "config_sha256": config_hash(cfg),
        "source": cfg["source"],
        "currency": cfg["currency"],
        "inputs": ingest.get("files", ingest.get("inputs", [])),
        "tables": ingest.get("tables", {}),
        "outputs": outputs,
        "timings": timings,
        "warnings": list(card.get("warnings", [])),
    }


def write_run_manifest(manifest: dict[str, Any], catalog: Catalog, period: str) -> Path:
    """Kept outside processed/ so that processed outputs stay byte-identical across runs."""
    return write_json(manifest, catalog.run_manifest(period))
