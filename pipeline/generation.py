"""A period's outputs as one generation: which stage's outputs were made from which.

Each period stage (features, score, survey, report) records, when it completes, a stamp
of the outputs it wrote: a generation id derived from what it read -- the ingested
data for features, the features' generation for score, both for survey -- and the
settings and code it ran with. So the same inputs and config give the same ids (and the
same report bytes), and a report can check that the features, scores and survey it
combines were made from one another. Stamps live in processed/<period>/generation.json;
the report's own in build/<period>/generation.json.

While a stage runs, the period is marked incomplete: INCOMPLETE.txt in both the
processed and the report folder of the period, written before the stage touches anything
and removed only when every stage's stamp agrees and the reports were rendered from
them (a run completed). A stage that fails cleanly leaves the marks as it found them
(its previous outputs are intact); one killed (kill -9, power loss) leaves the period
marked until a run completes. A report refuses to render a period whose stamps
disagree.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import tempfile
from pathlib import Path
from typing import Any

from pipeline import __version__
from pipeline.catalog import Catalog
from pipeline.errors import InputError
from pipeline.io import read_json, remove_output, write_json

STAMPED = ("features", "score", "survey")  # stages whose outputs a report combines
READS = {"features": ("ingest",), "score": ("features",), "survey": ("features", "score")}
# What a stage runs without when it is missing (the survey links answers to the features
# and scores it finds): recorded as None, so a report over it and newer scores refuses.
OPTIONAL_READS = {"survey": ("features", "score")}
# Settings that change how a stage runs, not what it writes (the engines write the same
# bytes): left out of a generation, as the roots are.
EXECUTION = {
    "paths": None,
    "engine": None,
    "spark": None,
    "ingest": ("memory_limit",),
    "report": ("workers",),
}
STAMPS = "generation.json"
MARKER = "INCOMPLETE.txt"


def _sha(obj: Any) -> str:
    text = json.dumps(obj, sort_keys=True, ensure_ascii=False, default=str)
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def config_hash(cfg: dict[str, Any]) -> str:
    """sha256 of the merged config with machine-specific roots left out."""
    return _sha({k: v for k, v in cfg.items() if k != "paths"})


def settings_hash(cfg: dict[str, Any]) -> str:
    """sha256 of the settings that decide what the stages write (EXECUTION left out)."""
    kept: dict[str, Any] = {}
    for key, value in cfg.items():
        if key in EXECUTION and EXECUTION[key] is None:
            continue
        if key in EXECUTION:
            value = {k: v for k, v in value.items() if k not in EXECUTION[key]}
        kept[key] = value
    return _sha(kept)


def ingest_generation(catalog: Catalog) -> str:
    """The ingested data's identity: the manifest's files (path, hash, rows), table
    counts, as-of and source -- not where the data root happens to be."""
    if not catalog.ingest_manifest.is_file():
        raise InputError(f"{catalog.ingest_manifest}: nothing ingested yet; run `crm ingest` first")
    manifest = read_json(catalog.ingest_manifest)
    keep = ("source", "as_of", "files", "tables", "warnings")
    portable = {k: manifest.get(k) for k in keep}
    for table in (portable.get("tables") or {}).values():
        table.pop("output", None)
        table.pop("rejects", None)
    return _sha(portable)[:16]


def stamps_path(catalog: Catalog, period: str) -> Path:
    return catalog.processed_dir(period) / STAMPS


def report_stamp_path(catalog: Catalog, period: str) -> Path:
    return catalog.report_build_dir(period) / STAMPS


def read_stamps(catalog: Catalog, period: str) -> dict[str, dict[str, Any]]:
    """Each stamped stage's {generation, reads} for the period (missing: not stamped)."""
    path = stamps_path(catalog, period)
    if not path.is_file():
        return {}
    try:
        data = read_json(path)
    except ValueError:
        return {}
    return dict(data.get("stages") or {})


def disagreement(stamps: dict[str, dict[str, Any]]) -> str | None:
    """Why the stamped stages are not one generation (None: they are)."""
    for stage in STAMPED:
        if stage not in stamps:
            return f"{stage} has no generation stamp (not run, or interrupted)"
    for stage in STAMPED:
        for source, generation in stamps[stage]["reads"].items():
            if source in stamps and stamps[source]["generation"] != generation:
                made = f"{source} generation {generation}" if generation else f"no {source}"
                return (
                    f"{stage} was made from {made}, but {source} "
                    f"is now generation {stamps[source]['generation']}"
                )
    return None


def period_generation(stamps: dict[str, dict[str, Any]]) -> str:
    """The id a report shows: the generations of the stages it combines."""
    return _sha({s: stamps[s]["generation"] for s in STAMPED})[:12]


def verify(catalog: Catalog, period: str) -> str:
    """The period's generation for its reports; a clear error when the processed
    outputs mix generations or a stage never completed."""
    why = disagreement(read_stamps(catalog, period))
    if why is not None:
        raise InputError(
            f"{catalog.processed_dir(period)}: the outputs of {period} are incomplete: {why}; "
            f"run `crm run --period {period}` (or `make report PERIOD={period}`)"
        )
    return period_generation(read_stamps(catalog, period))


def _write_now(path: Path, data: bytes) -> None:
    """Write at once (not held back with a stage's outputs), atomically."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(fd, "wb") as fh:
            fh.write(data)
        os.replace(tmp, path)
    finally:
        if os.path.exists(tmp):
            os.unlink(tmp)


def _stamps_bytes(period: str, stages: dict[str, dict[str, Any]]) -> bytes:
    text = json.dumps({"period": period, "stages": stages}, indent=2, sort_keys=True)
    return (text + "\n").encode("utf-8")


def marker_text(period: str) -> str:
    return (
        f"The outputs of {period} in this folder are incomplete: a stage started and no run "
        "has completed since, so they may be of different generations (new features beside "
        "old scores, say) or reports may be missing.\n"
        f"Complete it with `crm run --period {period}` (or `make report PERIOD={period}`).\n"
    )


class PeriodStage:
    """`with PeriodStage(cfg, catalog, period, stage) as run: ...; run.complete()` marks
    the period incomplete before the stage starts, and on `complete()` (inside the
    stage's promote_on_success block, after its writes) stamps the stage and, when the
    period is then one generation with its reports, removes the marks with the outputs.
    A clean failure restores the stamps and marks as they were."""

    def __init__(self, cfg: dict[str, Any], catalog: Catalog, period: str, stage: str):
        self.cfg, self.catalog, self.period, self.stage = cfg, catalog, period, stage
        self.markers = [
            catalog.processed_dir(period) / MARKER,
            catalog.report_build_dir(period) / MARKER,
        ]
        self._before: dict[Path, bytes | None] = {}

    def reads(self, stamps: dict[str, dict[str, Any]]) -> dict[str, str | None]:
        """The generations this stage reads; a clear error when one is not stamped."""
        out = {}
        for source in READS.get(self.stage, STAMPED):
            if source == "ingest":
                out[source] = ingest_generation(self.catalog)
            elif source in stamps:
                out[source] = stamps[source]["generation"]
            elif source in OPTIONAL_READS.get(self.stage, ()):
                out[source] = None
            else:
                raise InputError(
                    f"{self.period}: {source} has no generation stamp (not run, or "
                    f"interrupted); run `crm {source} --period {self.period}` first"
                )
        return out

    def __enter__(self) -> PeriodStage:
        stamps = read_stamps(self.catalog, self.period)
        self._reads = self.reads(stamps) if self.stage in STAMPED else {}
        path = stamps_path(self.catalog, self.period)
        report = report_stamp_path(self.catalog, self.period)
        for p in (path, report, *self.markers):
            self._before[p] = p.read_bytes() if p.is_file() else None
        # folders the marks create: a clean failure leaves none behind (a report asked for
        # a period never run left an empty processed/<period>/ and build/<period>/)
        self._made = [m.parent for m in self.markers if not m.parent.exists()]
        for marker in self.markers:
            _write_now(marker, marker_text(self.period).encode("utf-8"))
        if self.stage == "report":  # its stamp returns with its reports
            report.unlink(missing_ok=True)
        elif self.stage in stamps:
            rest = {k: v for k, v in stamps.items() if k != self.stage}
            _write_now(path, _stamps_bytes(self.period, rest))
        return self

    def __exit__(self, kind, error, trace) -> None:
        if error is None:
            return
        for path, data in self._before.items():  # a clean failure: as it was
            if data is None:
                path.unlink(missing_ok=True)
            else:
                _write_now(path, data)
        for folder in self._made:
            with contextlib.suppress(OSError):  # not empty: a stage wrote into it, kept
                folder.rmdir()

    def complete(self) -> None:
        """Stamp the stage (and, when the period is now whole, unmark it) with the
        stage's held-back outputs."""
        stamps = read_stamps(self.catalog, self.period)
        if self.stage in STAMPED:
            generation = _sha(
                {
                    "stage": self.stage,
                    "period": self.period,
                    "reads": self._reads,
                    "settings": settings_hash(self.cfg),
                    "version": __version__,
                }
            )[:16]
            stamps[self.stage] = {"generation": generation, "reads": self._reads}
            write_json(
                {"period": self.period, "stages": stamps}, stamps_path(self.catalog, self.period)
            )
        current = {s: stamps.get(s, {}).get("generation") for s in STAMPED}
        report = report_stamp_path(self.catalog, self.period)
        if self.stage == "report":  # run_report rendered only one generation (verify)
            reported = current
            write_json({"period": self.period, "reads": reported}, report)
        elif report.is_file():
            reported = (read_json(report) or {}).get("reads")
        else:
            reported = None
        whole = disagreement(stamps) is None and reported == current
        if whole:
            for marker in self.markers:
                remove_output(marker)
