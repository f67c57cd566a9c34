"""`crm report`: read the period's outputs, render every branch, the network and the
index, write them under <report_dir>/build/<period>/.

Every input is read here, each named with the stage that writes it: a missing one is an
InputError naming the file and the `crm` command, never a blank section. Rendering runs
in a pool of worker processes (pool.py, render.py); every file is written here.
"""

from __future__ import annotations

import statistics
import time
from dataclasses import replace
from pathlib import Path
from typing import Any

import pandas as pd

from pipeline.catalog import Catalog
from pipeline.config import survey_definition_path
from pipeline.errors import ConfigError, InputError
from pipeline.io import read_json, write_bytes, write_text
from pipeline.periods import as_of_date, previous_period
from pipeline.report.context import (
    ReportSettings,
    index_context,
    network_context,
    settings_from_config,
)
from pipeline.report.context_kpis import rm_by_tier
from pipeline.report.core import (
    BRANCH_SCORE_COLUMNS,
    FEATURE_COLUMNS,
    KPI_COLUMNS,
    LORENZ_COLUMNS,
    MIGRATION_COLUMNS,
    RM_BOOK_COLUMNS,
    SCORE_COLUMNS,
    UNASSIGNED_COLUMNS,
    WATCHLIST_COLUMNS,
    ReportInputs,
    branch_slices,
    check_columns,
)
from pipeline.report.fonts import require_cjk_font
from pipeline.report.i18n import labels
from pipeline.report.pool import RenderPool, render_index

FORMATS = ("html", "pdf")


def _need(path: Path, stage: str) -> Path:
    if not path.is_file():
        raise InputError(f"{path}: report input not found; `crm {stage}` writes it (run it first)")
    return path


def _frame(path: Path, stage: str, columns: tuple[str, ...]) -> pd.DataFrame:
    frame = pd.read_parquet(_need(path, stage))
    check_columns(frame, columns, path)
    return frame


def _json(path: Path, stage: str) -> dict[str, Any]:
    data = read_json(_need(path, stage))
    if not isinstance(data, dict):
        raise InputError(f"{path}: expected a JSON object at the top level")
    return data


def load_inputs(catalog: Catalog, period: str) -> ReportInputs:
    """Read every input of the period's reports; the previous period's KPIs if they exist."""
    kpis = _frame(catalog.branch_kpis(period), "features", KPI_COLUMNS)
    prev = previous_period(period)
    prev_path = catalog.branch_kpis(prev)
    previous_kpis = pd.read_parquet(prev_path) if prev_path.is_file() else None
    inputs = ReportInputs(
        period=period,
        as_of=as_of_date(period),
        previous_period=prev,
        features=_frame(catalog.customer_features(period), "features", FEATURE_COLUMNS),
        scores=_frame(catalog.customer_scores(period), "score", SCORE_COLUMNS),
        branch_scores=_frame(catalog.branch_scores(period), "score", BRANCH_SCORE_COLUMNS),
        rm_books=_frame(catalog.rm_books(period), "score", RM_BOOK_COLUMNS),
        kpis=kpis,
        previous_kpis=previous_kpis,
        migration=_frame(catalog.tier_migration(period), "features", MIGRATION_COLUMNS),
        lorenz=_frame(catalog.lorenz(period), "features", LORENZ_COLUMNS),
        model_card=_json(catalog.model_card(period), "score"),
        survey=_json(catalog.survey_summary(period), "survey"),
        manifest=_json(catalog.ingest_manifest, "ingest"),
    )
    lists: dict[str, dict[str, pd.DataFrame]] = {"watchlists": {}, "unassigned": {}}
    for branch_id in inputs.branch_ids:
        for kind, path, columns in (
            ("watchlists", catalog.watchlist(period, branch_id), WATCHLIST_COLUMNS),
            ("unassigned", catalog.unassigned_list(period, branch_id), UNASSIGNED_COLUMNS),
        ):
            frame = pd.read_csv(_need(path, "score"), dtype={"customer_id": str, "rm_id": str})
            check_columns(frame, columns, path)
            lists[kind][branch_id] = frame
    return ReportInputs(**{**inputs.__dict__, **lists})


def dimension_names(
    dimensions: list[str],
    dimension_labels: dict[str, dict[str, str]],
    overall_item: str | None,
    locale: str,
) -> dict[str, str]:
    """Each dimension's label in the locale (else English, else its name), and the
    overall item's."""
    names = {
        dim: (dimension_labels.get(dim) or {}).get(locale)
        or (dimension_labels.get(dim) or {}).get("en")
        or dim
        for dim in dimensions
    }
    if overall_item:
        names[overall_item] = labels(locale)["overall_satisfaction"]
    return names


def survey_labels(
    cfg: dict[str, Any], summary: dict[str, Any] | None = None
) -> dict[str, dict[str, str]]:
    """Dimension (and overall item) labels of both surveys in the locale.

    The survey stage's summary carries the dimensions, labels and overall item of the
    definitions it analysed with; read from there, the report does not import the
    survey package (its statistics libraries cost ~2 s of CPU). A survey the summary
    does not describe takes them from its configured definition.
    """
    locale = cfg["locale"]
    surveys = (summary or {}).get("surveys") or {}
    out: dict[str, dict[str, str]] = {}
    for kind, key in (("customer", "customer_definition"), ("staff", "staff_definition")):
        s = surveys.get(kind)
        if isinstance(s, dict) and {"dimension_order", "dimension_labels"} <= s.keys():
            out[kind] = dimension_names(
                s["dimension_order"], s["dimension_labels"], s.get("overall_item"), locale
            )
            continue
        from pipeline.survey.definition import load_definition

        definition = load_definition(survey_definition_path(cfg["survey"][key]))
        out[kind] = dimension_names(
            list(definition.dimensions),
            definition.dimension_labels,
            definition.overall_item,
            locale,
        )
    return out


def report_setup(cfg: dict[str, Any]) -> ReportSettings:
    """The settings without survey labels: enough to set up the workers (locale,
    currency, formats), quick to make (no survey package import)."""
    formats = tuple(cfg["report"]["formats"])
    unknown = [f for f in formats if f not in FORMATS]
    if unknown or "html" not in formats:
        raise ConfigError(f"report.formats: must include html and may add pdf; got {list(formats)}")
    return settings_from_config(cfg, {})


def report_settings(
    cfg: dict[str, Any], survey_summary: dict[str, Any] | None = None
) -> ReportSettings:
    """Every setting the reports use, with the surveys' dimension labels."""
    return replace(report_setup(cfg), dimension_labels=survey_labels(cfg, survey_summary))


def report_path(
    catalog: Catalog, period: str, branch_id: str | None, ext: str, locale: str
) -> Path:
    """Where a branch's report (or, for None, the network's) is written in a locale."""
    if branch_id is None:
        return catalog.network_report(period, ext, locale)
    return catalog.branch_report(period, branch_id, ext, locale)


def run_report(cfg: dict[str, Any], catalog: Catalog, period: str) -> str:
    """Every branch's HTML/PDF, the network report and the index for `period`."""
    setup = report_setup(cfg)
    require_cjk_font(setup.locale)  # fail before any work when zh_CN has no font
    started = time.perf_counter()
    workers = int(cfg["report"]["workers"])
    out_dir = catalog.report_locale_dir(period, setup.locale)
    timings, cpu = [], []
    with RenderPool(setup, workers) as pool:  # workers set up while the parent reads
        inputs = load_inputs(catalog, period)
        settings = report_settings(cfg, inputs.survey)
        branch_ids = inputs.branch_ids
        files = {  # each report's file names, for the links
            branch: {
                f: report_path(catalog, period, branch, f, settings.locale).name
                for f in settings.formats
            }
            for branch in (None, *branch_ids)
        }
        network_rm = rm_by_tier(inputs.features, settings.rm_tiers, settings.rm_contact_days)
        network_ctx = network_context(inputs, settings, files)
        for rendered in pool.render(settings, network_ctx, branch_slices(inputs, network_rm)):
            for ext, content in (("html", rendered.html), ("pdf", rendered.pdf)):
                if content is None:
                    continue
                target = report_path(catalog, period, rendered.branch_id, ext, settings.locale)
                (write_text if ext == "html" else write_bytes)(content, target)
            if rendered.branch_id is not None:
                timings.append(rendered.seconds)
                cpu.append(rendered.cpu_seconds)
    index = index_context(period, inputs.as_of, branch_ids, files, settings)
    write_text(render_index(settings, index), catalog.report_index(period, settings.locale))
    wall = time.perf_counter() - started
    per_branch = (
        f"per branch {statistics.mean(timings):.2f}s mean ({min(timings):.2f}-{max(timings):.2f}s, "
        f"{statistics.mean(cpu):.2f}s CPU), {wall / len(timings):.2f}s of the run's wall time"
        if timings
        else "no branches"
    )
    return (
        f"report {period}: {len(branch_ids)} branch reports, network and index "
        f"({', '.join(settings.formats)}, {settings.locale}) in {out_dir}; "
        f"{per_branch}; {wall:.1f}s wall with {workers} worker(s)"
    )
