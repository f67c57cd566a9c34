"""`crm report`: read the period's outputs, render every branch, the network and the
index, write them under <report_dir>/build/<period>/."""

from __future__ import annotations

import statistics
import time
from dataclasses import replace
from typing import Any

from pipeline.catalog import Catalog
from pipeline.config import survey_definition_path
from pipeline.errors import ConfigError
from pipeline.io import write_bytes, write_text
from pipeline.report.context import (
    ReportSettings,
    index_context,
    network_context,
    settings_from_config,
)
from pipeline.report.context_kpis import rm_by_tier
from pipeline.report.fonts import require_cjk_font
from pipeline.report.i18n import labels
from pipeline.report.inputs import branch_slices, load_inputs
from pipeline.report.pool import RenderPool, render_index

FORMATS = ("html", "pdf")


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


def run_report(cfg: dict[str, Any], catalog: Catalog, period: str) -> str:
    """Every branch's HTML/PDF, the network report and the index for `period`."""
    setup = report_setup(cfg)
    require_cjk_font(setup.locale)  # fail before any work when zh_CN has no font
    started = time.perf_counter()
    workers = int(cfg["report"]["workers"])
    out_dir = catalog.report_build_dir(period)
    timings, cpu = [], []
    with RenderPool(setup, workers) as pool:  # workers set up while the parent reads
        inputs = load_inputs(catalog, period)
        settings = report_settings(cfg, inputs.survey)
        branch_ids = inputs.branch_ids
        network_rm = rm_by_tier(inputs.features, settings.rm_tiers, settings.rm_contact_days)
        network_ctx = network_context(inputs, settings)
        for rendered in pool.render(settings, network_ctx, branch_slices(inputs, network_rm)):
            write_text(rendered.html, out_dir / f"{rendered.name}.html")
            if rendered.pdf is not None:
                write_bytes(rendered.pdf, out_dir / f"{rendered.name}.pdf")
            if rendered.name.startswith("branch-"):
                timings.append(rendered.seconds)
                cpu.append(rendered.cpu_seconds)
    index = index_context(period, inputs.as_of, branch_ids, settings.formats, settings)
    write_text(render_index(settings, index), catalog.report_index(period))
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
