"""`crm report`: read the period's outputs, render every branch, the network and the
index, write them under <report_dir>/build/<period>/.

Every input is read here, each named with the stage that writes it: a missing one is an
InputError naming the file and the `crm` command, never a blank section. Rendering runs
in a pool of worker processes (pool.py, render.py); every file is written here.
"""

from __future__ import annotations

import logging
import statistics
import time
from dataclasses import replace
from pathlib import Path
from typing import Any

import pandas as pd

from pipeline.catalog import Catalog
from pipeline.config import report_workers, survey_definition_path
from pipeline.console import progress
from pipeline.errors import ConfigError, InputError
from pipeline.generation import verify
from pipeline.io import read_csv, read_json, remove_unwritten, write_bytes, write_text
from pipeline.locales import language
from pipeline.periods import as_of_date, previous_period
from pipeline.report.context import ReportSettings, settings_from_config
from pipeline.report.context_kpis import rm_by_tier
from pipeline.report.context_network import index_context, network_context
from pipeline.report.core import (
    BRANCH_SCORE_COLUMNS,
    CALL_LIST_COLUMNS,
    FEATURE_COLUMNS,
    HISTORY_COLUMNS,
    KPI_COLUMNS,
    LORENZ_COLUMNS,
    MIGRATION_COLUMNS,
    RM_BOOK_COLUMNS,
    SCORE_COLUMNS,
    SCORE_HISTORY_COLUMNS,
    UNASSIGNED_COLUMNS,
    WATCHLIST_COLUMNS,
    ReportInputs,
    branch_slices,
    check_columns,
)
from pipeline.report.fonts import require_cjk_font
from pipeline.report.i18n import LOCALES, label_locale, labels
from pipeline.report.pool import RenderPool, render_index, render_languages
from pipeline.runner import claim_report_root

FORMATS = ("html", "pdf")
log = logging.getLogger(__name__)
REPORT_FILES = ("branch-*.html", "branch-*.pdf", "network.html", "network.pdf")
DOWNLOAD_FILES = ("watchlist-*", "unassigned-*", "calls-*")


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


def score_history(catalog: Catalog, months: list[str]) -> pd.DataFrame:
    """The score stage's branch figures of every month in the history that was scored
    (an empty frame when none was)."""
    frames = []
    for month in months:
        path = catalog.branch_scores(month)
        if path.is_file():
            frame = pd.read_parquet(path)
            check_columns(frame, SCORE_HISTORY_COLUMNS, path)
            frames.append(frame[list(SCORE_HISTORY_COLUMNS)].assign(period=month))
    if not frames:
        return pd.DataFrame({c: pd.Series(dtype=object) for c in SCORE_HISTORY_COLUMNS})
    return pd.concat(frames, ignore_index=True)


def _list(path: Path, columns: tuple[str, ...]) -> pd.DataFrame:
    frame = read_csv(_need(path, "score"), dtype={"customer_id": str, "rm_id": str})
    check_columns(frame, columns, path)
    return frame


def load_inputs(catalog: Catalog, period: str) -> ReportInputs:
    """Read every input of the period's reports (one generation of the processed outputs,
    pipeline.generation.verify), with the KPI history up to it and the score stage's
    branch figures of the months in it that were scored."""
    generation = verify(catalog, period)
    kpis = _frame(catalog.branch_kpis(period), "features", KPI_COLUMNS)
    history = _frame(catalog.branch_history(period), "features", HISTORY_COLUMNS)
    months = sorted(set(history["period"].astype(str)))
    inputs = ReportInputs(
        period=period,
        as_of=as_of_date(period),
        previous_period=previous_period(period),
        features=_frame(catalog.customer_features(period), "features", FEATURE_COLUMNS),
        scores=_frame(catalog.customer_scores(period), "score", SCORE_COLUMNS),
        branch_scores=_frame(catalog.branch_scores(period), "score", BRANCH_SCORE_COLUMNS),
        rm_books=_frame(catalog.rm_books(period), "score", RM_BOOK_COLUMNS),
        kpis=kpis,
        history=history,
        score_history=score_history(catalog, months),
        migration=_frame(catalog.tier_migration(period), "features", MIGRATION_COLUMNS),
        lorenz=_frame(catalog.lorenz(period), "features", LORENZ_COLUMNS),
        model_card=_json(catalog.model_card(period), "score"),
        survey=_json(catalog.survey_summary(period), "survey"),
        manifest=_json(catalog.ingest_manifest, "ingest"),
        generation=generation,
    )
    watchlists, unassigned = {}, {}
    for branch_id in inputs.branch_ids:
        watchlists[branch_id] = _list(catalog.watchlist(period, branch_id), WATCHLIST_COLUMNS)
        unassigned[branch_id] = _list(
            catalog.unassigned_list(period, branch_id), UNASSIGNED_COLUMNS
        )
    calls = {}
    for branch_id, rm_id in zip(
        inputs.rm_books["branch_id"].astype(str), inputs.rm_books["rm_id"].astype(str), strict=True
    ):
        calls[(branch_id, rm_id)] = _list(
            catalog.call_list(period, branch_id, rm_id), CALL_LIST_COLUMNS
        )
    return replace(inputs, watchlists=watchlists, unassigned=unassigned, call_lists=calls)


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


def other_locales(catalog: Catalog, period: str, locale: str) -> list[str]:
    """The locales whose reports of the period are already written, besides `locale`."""
    return [
        other
        for other in LOCALES
        if other != locale and catalog.report_index(period, other).is_file()
    ]


def run_report(cfg: dict[str, Any], catalog: Catalog, period: str) -> str:
    """Every branch's HTML/PDF, the network report, the lists to download and the index
    for `period` in the configured locale, under build/<period>/<locale>/, from one
    generation of its processed outputs; files of branches (and RMs) no longer in the
    data are removed with the new ones' arrival."""
    setup = report_setup(cfg)
    require_cjk_font(setup.locale)  # fail before any work when zh_CN has no font
    if language(label_locale(setup.locale)) != language(setup.locale):
        log.warning(
            "no report labels in %s yet: labels in %s, numbers, money and dates in %s",
            setup.locale,
            label_locale(setup.locale),
            setup.locale,
        )
    claim_report_root(catalog)  # one bank per report root
    verify(catalog, period)  # features, scores and survey made together, before any work
    started = time.perf_counter()
    workers = report_workers(cfg)
    out_dir = catalog.report_locale_dir(period, setup.locale)
    timings, cpu = [], []
    written: list[Path] = []
    lists: list[Path] = []  # the lists to download, written as each branch's arrive
    downloads: dict[str, dict[str, str]] = {}  # branch -> list -> file stem
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
        slices = branch_slices(inputs, network_rm)
        with progress("reports", 1 + len(branch_ids)) as advance:
            for rendered in pool.render(settings, network_ctx, slices):
                for ext, content in (("html", rendered.html), ("pdf", rendered.pdf)):
                    if content is None:
                        continue
                    target = report_path(catalog, period, rendered.branch_id, ext, settings.locale)
                    (write_text if ext == "html" else write_bytes)(content, target)
                    written.append(target)
                for name, content in rendered.lists.items():
                    target = catalog.report_download(period, settings.locale, name)
                    lists.append(write_bytes(content, target))
                if rendered.branch_id is not None:
                    downloads[rendered.branch_id] = rendered.list_names
                    timings.append(rendered.seconds)
                    cpu.append(rendered.cpu_seconds)
                advance(item=rendered.branch_id or "network")
                log.debug("report %s: %.2fs", rendered.branch_id or "network", rendered.seconds)
    remove_unwritten(out_dir, REPORT_FILES, written)
    remove_unwritten(out_dir / "downloads", DOWNLOAD_FILES, lists)
    others = other_locales(catalog, period, settings.locale)
    index = index_context(inputs, files, downloads, settings, others)
    write_text(render_index(settings, index), catalog.report_index(period, settings.locale))
    write_text(
        render_languages(settings, period, [settings.locale, *others]),
        catalog.report_languages(period),
    )
    wall = time.perf_counter() - started
    per_branch = (
        f"per branch {statistics.mean(timings):.2f}s mean ({min(timings):.2f}-{max(timings):.2f}s, "
        f"{statistics.mean(cpu):.2f}s CPU), {wall / len(timings):.2f}s of the run's wall time"
        if timings
        else "no branches"
    )
    return (
        f"report {period}: {len(branch_ids)} branch reports, network, lists and index "
        f"({', '.join(settings.formats)}, {settings.locale}) in {out_dir}; "
        f"{per_branch}; {wall:.1f}s wall with {workers} worker(s)"
    )
