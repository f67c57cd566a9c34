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
from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pandas as pd

from pipeline.catalog import Catalog
from pipeline.config import check_report_formats, report_workers, survey_definition_path
from pipeline.console import progress
from pipeline.errors import InputError
from pipeline.generation import verify
from pipeline.io import read_csv, read_json, remove_unwritten, write_bytes, write_text
from pipeline.locales import check_locale, language
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
    largest_first,
)
from pipeline.report.fonts import require_cjk_font
from pipeline.report.i18n import label_locale, labels
from pipeline.report.pool import RenderPool, render_index, render_languages
from pipeline.runner import claim_report_root

if TYPE_CHECKING:  # the parent never imports the workers' module (matplotlib, WeasyPrint)
    from pipeline.report.render import Rendered

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
    check_report_formats(list(cfg["report"]["formats"]))
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


def other_locales(catalog: Catalog, period: str, locales: Sequence[str]) -> list[str]:
    """The locales whose reports of the period are already written (a folder with an
    index), besides `locales`."""
    build = catalog.report_build_dir(period)
    written = sorted(p.parent.name for p in build.glob("*/index.html")) if build.is_dir() else []
    return [other for other in written if other not in locales]


def locale_configs(cfg: dict[str, Any], locales: Sequence[str]) -> list[dict[str, Any]]:
    """The config once per locale asked for (none: the configured locale), in the order
    asked, each checked as the config's own locale is (any locale Babel knows)."""
    configs = []
    for locale in dict.fromkeys(locales or [cfg["locale"]]):
        check_locale(locale)
        configs.append({**cfg, "locale": locale})
    return configs


@dataclass
class Written:
    """What one locale's run wrote: its reports, its lists to download, and each
    branch's list stems (branch -> list -> stem) for the index."""

    reports: list[Path] = field(default_factory=list)
    lists: list[Path] = field(default_factory=list)
    downloads: dict[str, dict[str, str]] = field(default_factory=dict)

    def write(self, rendered: Rendered, catalog: Catalog, period: str) -> None:
        """Write a rendered report's HTML, PDF and lists in its locale's folder."""
        for ext, content in (("html", rendered.html), ("pdf", rendered.pdf)):
            if content is None:
                continue
            target = report_path(catalog, period, rendered.branch_id, ext, rendered.locale)
            (write_text if ext == "html" else write_bytes)(content, target)
            self.reports.append(target)
        for name, content in rendered.lists.items():
            target = catalog.report_download(period, rendered.locale, name)
            self.lists.append(write_bytes(content, target))
        if rendered.branch_id is not None:
            self.downloads[rendered.branch_id] = rendered.list_names


def run_report(
    cfg: dict[str, Any], catalog: Catalog, period: str, locales: Sequence[str] = ()
) -> str:
    """Every branch's HTML/PDF, the network report, the lists to download and the index
    for `period` under build/<period>/<locale>/, in the configured locale or in each of
    `locales`, from one generation of its processed outputs; files of branches (and RMs)
    no longer in the data are removed with the new ones' arrival.

    Several locales are one run: the inputs are read once and one pool of workers renders
    every locale's reports, one locale after the other."""
    configs = locale_configs(cfg, locales)
    setups = [report_setup(c) for c in configs]
    for setup in setups:
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
    timings, cpu = [], []
    with RenderPool(setups[0], workers) as pool:  # workers set up while the parent reads
        inputs = load_inputs(catalog, period)
        all_settings = [report_settings(c, inputs.survey) for c in configs]
        branch_ids = inputs.branch_ids
        files = {  # each locale's report file names, for the links
            s.locale: {
                branch: {
                    f: report_path(catalog, period, branch, f, s.locale).name for f in s.formats
                }
                for branch in (None, *branch_ids)
            }
            for s in all_settings
        }
        first = all_settings[0]  # what follows is the same in every locale
        network_rm = rm_by_tier(inputs.features, first.rm_tiers, first.rm_contact_days)
        order = largest_first(inputs)
        runs = [
            (
                s,
                network_context(inputs, s, files[s.locale]),
                branch_slices(inputs, network_rm, order),
            )
            for s in all_settings
        ]
        written = {s.locale: Written() for s in all_settings}
        with progress("reports", len(runs) * (1 + len(branch_ids))) as advance:
            for rendered in pool.render(runs):  # written as they arrive, in order
                written[rendered.locale].write(rendered, catalog, period)
                if rendered.branch_id is not None:
                    timings.append(rendered.seconds)
                    cpu.append(rendered.cpu_seconds)
                name = rendered.branch_id or "network"
                advance(item=f"{name} ({rendered.locale})" if len(runs) > 1 else name)
                log.debug("report %s %s: %.2fs", name, rendered.locale, rendered.seconds)
    run_locales = [s.locale for s in all_settings]
    others = other_locales(catalog, period, run_locales)
    for s in all_settings:
        out_dir = catalog.report_locale_dir(period, s.locale)
        remove_unwritten(out_dir, REPORT_FILES, written[s.locale].reports)
        remove_unwritten(out_dir / "downloads", DOWNLOAD_FILES, written[s.locale].lists)
        linked = sorted({*run_locales, *others} - {s.locale})
        index = index_context(inputs, files[s.locale], written[s.locale].downloads, s, linked)
        write_text(render_index(s, index), catalog.report_index(period, s.locale))
    write_text(  # in the last locale's words, as runs of one locale in turn leave it
        render_languages(all_settings[-1], period, [*run_locales, *others]),
        catalog.report_languages(period),
    )
    wall = time.perf_counter() - started
    per_branch = (
        f"per branch {statistics.mean(timings):.2f}s mean ({min(timings):.2f}-{max(timings):.2f}s, "
        f"{statistics.mean(cpu):.2f}s CPU), {wall / len(timings):.2f}s of the run's wall time"
        if timings
        else "no branches"
    )
    formats = ", ".join(first.formats)
    where = ", ".join(str(catalog.report_locale_dir(period, loc)) for loc in run_locales)
    return (
        f"report {period}: {len(branch_ids)} branch reports, network, lists and index "
        f"({formats}, {', '.join(run_locales)}) in {where}; "
        f"{per_branch}; {wall:.1f}s wall with {workers} worker(s)"
    )
