"""Running stages safely: one writer per data root (a lock), one bank per report root, a
period's outputs as one generation (generation.py), and a run manifest that says what a
run read, wrote and how long it took."""

from __future__ import annotations

import json
import os
import platform
import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from filelock import FileLock, Timeout

from pipeline import __version__, console
from pipeline.catalog import Catalog
from pipeline.config import source_name
from pipeline.errors import ConfigError, CrmError, InputError
from pipeline.generation import PeriodStage, config_hash, read_stamps, verify
from pipeline.io import (
    promote_on_success,
    read_json,
    remove_stale_temporaries,
    sha256_file,
    write_json,
)
from pipeline.periods import check_inside_data, parse_period

__all__ = ["config_hash"]  # re-exported: the run manifest's config hash
OWNER = ".crm-owner.json"  # in a report root: the data root whose reports it holds


class RunLocked(CrmError):
    """Another crm process is writing to the same data root (or the same period)."""


class _FileLock:
    """An OS lock on a file, taken without waiting; the OS drops it when the process
    ends, so a killed run leaves no stale lock. POSIX: flock, shared or exclusive.
    Elsewhere (Windows): filelock's msvcrt lock, always exclusive -- period stages there
    take turns instead of running side by side."""

    def __init__(self, path: Path, shared: bool) -> None:
        self.path, self.shared = path, shared
        self._fd: int | None = None
        self._other: FileLock | None = None

    def acquire(self) -> bool:
        try:
            import fcntl  # POSIX only: imported here, so every module loads on Windows
        except ImportError:
            fcntl = None
        if fcntl is None:
            self._other = FileLock(self.path, timeout=0, thread_local=False)
            try:
                self._other.acquire()
            except Timeout:
                return False
            return True
        fd = os.open(self.path, os.O_RDWR | os.O_CREAT, 0o666)
        try:
            fcntl.flock(fd, (fcntl.LOCK_SH if self.shared else fcntl.LOCK_EX) | fcntl.LOCK_NB)
        except BlockingIOError:  # held by another process (any other error is raised)
            os.close(fd)
            return False
        except BaseException:
            os.close(fd)
            raise
        self._fd = fd
        return True

    def release(self) -> None:
        if self._other is not None:
            self._other.release()
            self._other = None
        if self._fd is not None:
            os.close(self._fd)  # closing the descriptor drops its flock
            self._fd = None


@contextmanager
def _holding(lock: _FileLock, owner: Path | None, refused: Callable[[], str]) -> Iterator[None]:
    """Hold `lock`, saying who holds it in `owner` meanwhile (None: a shared hold, named by
    its period's owner file); RunLocked(refused()) when another process holds it in a way
    that excludes this one."""
    if not lock.acquire():
        raise RunLocked(refused())
    try:
        if owner is not None:
            owner.write_text(f"crm pid {os.getpid()} on {platform.node()}", encoding="utf-8")
        yield
    finally:
        if owner is not None:
            owner.unlink(missing_ok=True)
        lock.release()


def _holders(owners: list[Path]) -> str:
    """Who holds the locks whose owner files are `owners`, for a refused writer."""
    named = []
    for owner in owners:
        try:
            named.append(owner.read_text(encoding="utf-8").strip())
        except OSError:
            continue
    return ", ".join(sorted(n for n in named if n)) or "another process"


@contextmanager
def data_root_lock(catalog: Catalog, period: str | None = None) -> Iterator[None]:
    """Hold the data root for a writer; a writer that would collide stops with a clear
    message instead of waiting.

    A writer of the whole root (sample, ingest, run: `period` None) holds it alone. A
    stage of one period (features, score, survey, report) shares it with the stages of
    other periods and holds its period alone, since it writes only that period's
    folders: months run side by side (`make -j2`, as the demo does), never beside ingest,
    never two runs of one month. Who holds a lock is written beside it (`.crm.lock.owner`,
    `.crm.locks/<period>.owner`) for the message a refused writer gets.
    """
    root = catalog.data_dir
    if period is not None and not root.is_dir():  # a month's stage reads an ingested root
        raise InputError(
            f"{root}: no data root there; run `crm ingest` first, or point --data-dir at "
            "the bank's (a relative path is read from the working folder)"
        )
    root.mkdir(parents=True, exist_ok=True)
    locks = root / ".crm.locks"
    lock = _FileLock(root / ".crm.lock", shared=period is not None)

    def root_refused() -> str:
        holders = _holders([root / ".crm.lock.owner", *sorted(locks.glob("*.owner"))])
        return (
            f"{root} is in use by {holders}; wait for it to finish (two runs on one data "
            "root would overwrite each other)"
        )

    if period is None:
        with _holding(lock, root / ".crm.lock.owner", root_refused):
            # Alone on the root now: temporaries left by a killed writer are garbage, and
            # so is the owner file a killed month's stage left (no month runs now).
            for folder in (catalog.interim_dir, root / "processed", catalog.report_dir / "build"):
                remove_stale_temporaries(folder)
            for stale in locks.glob("*.owner"):
                stale.unlink(missing_ok=True)
            yield
        return
    parse_period(period)  # names a lock file
    locks.mkdir(exist_ok=True)
    mine = _FileLock(locks / f"{period}.lock", shared=False)
    owner = locks / f"{period}.owner"

    def period_refused() -> str:
        return (
            f"{root}: period {period} is in use by {_holders([owner])}; wait for it to "
            "finish (two runs of one month would overwrite each other)"
        )

    with _holding(lock, None, root_refused):
        with _holding(mine, owner, period_refused):
            # Alone on the period: its folders' temporaries are garbage.
            for folder in (catalog.processed_dir(period), catalog.report_build_dir(period)):
                remove_stale_temporaries(folder)
            yield


def promoted(func: Callable[..., Any], *args: Any) -> Callable[[], Any]:
    """A call of `func(*args)` whose outputs are put in place only if it completes."""

    def call() -> Any:
        with promote_on_success():
            return func(*args)

    return call


def period_stage(
    cfg: dict[str, Any], catalog: Catalog, period: str, stage: str, func: Callable[..., Any]
) -> Callable[[], Any]:
    """A call of `func(cfg, catalog, period)` as one step of the period's generation:
    refused for a period outside the data or a report root of another bank, the period
    marked incomplete while it runs, its outputs and stamp put in place together
    (generation.PeriodStage)."""

    def call() -> Any:
        check_ingested_source(cfg, catalog)
        check_inside_data(period, *catalog.data_span())
        claim_report_root(catalog)  # the period's marks go into its report folder too
        with PeriodStage(cfg, catalog, period, stage) as run:
            with promote_on_success():
                summary = func(cfg, catalog, period)
                run.complete()
        return summary

    return call


def check_ingested_source(cfg: dict[str, Any], catalog: Catalog) -> None:
    """Stop a stage whose config names another source than the one the data root's
    tables were ingested from: its reports would put this config's currency, tiers and
    names on another bank's data (`crm run` and make ingest first; a stage run on its
    own does not)."""
    ingested = catalog.ingested_source()
    if ingested is None:
        return  # nothing ingested: the stage says what it lacks
    configured = source_name(cfg["source"])
    if ingested != configured:
        raise InputError(
            f"the tables in {catalog.interim_dir} were ingested from source {ingested!r}, "
            f"but the config names source {configured!r}: run `crm ingest` with this "
            "config first, or give the config the data were ingested with"
        )


def claim_report_root(catalog: Catalog) -> None:
    """Make the report root this data root's, or stop: two banks' reports in one root
    would mix (and one bank's run would remove the other's branch reports). The claim is
    created exclusively, so two banks starting at once cannot both take it."""
    catalog.report_dir.mkdir(parents=True, exist_ok=True)
    path = catalog.report_dir / OWNER
    mine = {"data_dir": str(Path(catalog.data_dir).absolute())}
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o666)
    except FileExistsError:
        owner = _claim_owner(path)
        if owner != mine["data_dir"]:
            raise ConfigError(
                f"paths.report_dir: {catalog.report_dir} holds the reports of data root "
                f"{owner or '(unreadable claim)'}, not {mine['data_dir']}: give each bank its "
                f"own report root (--report-dir, CRM_REPORT_DIR), or remove {path} to hand "
                "the folder over"
            ) from None
        return
    with os.fdopen(fd, "w", encoding="utf-8") as fh:
        fh.write(json.dumps(mine, indent=2) + "\n")


def _claim_owner(path: Path, waits: int = 20) -> str | None:
    """The data root a report root's claim names (None: unreadable). A claim created a
    moment ago by a stage of another month may not be written yet: read it again for up
    to a second while it is empty."""
    for _ in range(waits):
        try:
            text = path.read_text(encoding="utf-8")
        except OSError:
            return None
        if text:
            break
        time.sleep(0.05)
    try:
        return json.loads(text).get("data_dir")
    except (ValueError, AttributeError):
        return None


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
    show_result: Callable[[str], None] | None = None,
) -> list[dict[str, Any]]:
    """Run stages in order, numbered once across the run, echoing progress and showing
    each stage's summary (with `echo` unless `show_result` is given); stop at the first
    failure (it propagates)."""
    show_result = show_result or echo
    timings = []
    for i, (name, call) in enumerate(stages, start=1):
        echo(f"[{i}/{len(stages)}] {name} ...")
        started = time.perf_counter()
        with console.stage(name):
            summary = call()
        seconds = round(time.perf_counter() - started, 3)
        if summary:
            show_result(str(summary).rstrip())
        echo(f"[{i}/{len(stages)}] {name} done in {seconds:.1f}s")
        timings.append({"stage": name, "seconds": seconds})
    return timings


def run_manifest(
    cfg: dict[str, Any],
    catalog: Catalog,
    period: str,
    timings: list[dict[str, Any]],
    locales: Sequence[str] = (),
) -> dict[str, Any]:
    """What a run read and wrote: config hash, version, the reports' locales (`locales`,
    else the config's), inputs, outputs with hashes, warnings."""
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
        "generation": verify(catalog, period),
        "stages": read_stamps(catalog, period),
        "currency": cfg["currency"],
        "locales": list(locales) or [cfg["locale"]],
        "inputs": ingest.get("files", ingest.get("inputs", [])),
        "tables": ingest.get("tables", {}),
        "outputs": outputs,
        "timings": timings,
        "warnings": [f"ingest: {w}" for w in ingest.get("warnings", [])]
        + list(card.get("warnings", [])),
    }


def write_run_manifest(manifest: dict[str, Any], catalog: Catalog, period: str) -> Path:
    """Kept outside processed/ so that processed outputs stay byte-identical across runs."""
    return write_json(manifest, catalog.run_manifest(period))
