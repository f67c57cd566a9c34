"""The worker's side of rendering: each worker process sets up matplotlib, the Jinja
environment and WeasyPrint once (init_worker), then renders report after report.

Workers return the HTML text, the PDF bytes and a branch's lists to download (CSV and
XLSX); the parent writes them, so every file of a run is written at the edge,
atomically, by one process. The pool itself is in pool.py.
"""

from __future__ import annotations

import gc
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import date
from typing import Any

from markupsafe import Markup

from pipeline.report import charts
from pipeline.report.context import ReportSettings, branch_context
from pipeline.report.context_data import holds_balances
from pipeline.report.core import BranchInputs
from pipeline.report.downloads import branch_lists
from pipeline.report.environment import make_environment, script, stylesheet
from pipeline.report.figures import branch_figures, network_figures
from pipeline.report.fonts import css_font_stack, matplotlib_families, require_cjk_font
from pipeline.report.pdf import html_to_pdf

TEMPLATES = ("branch.html", "network.html")
_STATE: dict[str, Any] = {}


@dataclass(frozen=True)
class Rendered:
    """One report: whose it is (a branch id; None: the network's) and in which locale,
    HTML, PDF (or None), a branch's lists to download (file name -> bytes) and their stems
    (list -> stem, pipeline.report.downloads.branch_lists), and the wall and CPU seconds
    the worker spent on all of it (wall minus CPU is time waiting for a core)."""

    branch_id: str | None
    locale: str
    html: str
    pdf: bytes | None
    seconds: float
    cpu_seconds: float = 0.0
    lists: dict[str, bytes] = field(default_factory=dict)
    list_names: dict[str, str] = field(default_factory=dict)


def _setup(settings: ReportSettings) -> tuple[str, str, tuple[str, ...]]:
    """What a worker's set-up depends on: locale, currency and formats."""
    return settings.locale, settings.currency, settings.formats


def init_worker(settings: ReportSettings) -> None:
    """Once per process: fonts, chart style, Jinja environment, WeasyPrint import.

    Only `_setup(settings)` matters here; a task brings the run's full settings.
    """
    font = require_cjk_font(settings.locale)
    charts.configure(matplotlib_families(font), settings.locale)
    env = make_environment(settings.locale, settings.currency)
    for name in TEMPLATES:
        env.get_template(name)  # compiled once per process, not per report
    _STATE.update(
        settings=settings,
        env=env,
        css=stylesheet(),
        script=script(),
        font_stack=Markup(css_font_stack(font)),
    )
    if "pdf" in settings.formats:
        import weasyprint  # noqa: F401  (import once, not per report)


def _page(template: str, ctx: dict[str, Any], figs: dict[str, str]) -> str:
    env = _STATE["env"]
    return env.get_template(template).render(
        **ctx,
        charts=figs,
        css=_STATE["css"],
        script=_STATE["script"],
        font_stack=_STATE["font_stack"],
    )


def _settings(settings: ReportSettings | None) -> ReportSettings:
    """The task's settings (set up again if its locale, currency or formats differ)."""
    if settings is None:
        return _STATE["settings"]
    if "settings" not in _STATE or _setup(_STATE["settings"]) != _setup(settings):
        init_worker(settings)
    return settings


@contextmanager
def collected_once() -> Iterator[None]:
    """Python's cyclic garbage collector paused while a report renders, then run once
    over what the report allocated (the youngest generation).

    WeasyPrint builds a report as hundreds of thousands of objects; while they grow, the
    collector's automatic passes walk them, and every long-lived object, again and
    again: a quarter of a branch report's CPU on the sample bank. The report's objects
    die together, so one pass at the end frees the cycles among them. Reference counting
    frees everything else as usual; the files are the same either way."""
    enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if enabled:
            gc.enable()
        gc.collect(0)


Lists = Callable[[ReportSettings], tuple[dict[str, str], dict[str, bytes]]]


def _render(
    branch_id: str | None,
    as_of: date,
    settings: ReportSettings | None,
    page: Callable[[ReportSettings], str],
    lists: Lists | None = None,
) -> Rendered:
    """page(settings) -> the HTML, then the PDF from it and lists(settings) -> the lists'
    stems and files: timed, collected once."""
    started, cpu_started = time.perf_counter(), time.process_time()
    with collected_once():
        s = _settings(settings)
        html = page(s)
        pdf = html_to_pdf(html, as_of) if "pdf" in s.formats else None
        names, files = lists(s) if lists is not None else ({}, {})
    return Rendered(
        branch_id,
        s.locale,
        html,
        pdf,
        seconds=time.perf_counter() - started,
        cpu_seconds=time.process_time() - cpu_started,
        lists=files,
        list_names=names,
    )


def render_branch(b: BranchInputs, settings: ReportSettings | None = None) -> Rendered:
    """Context, charts, HTML and PDF of one branch, and its lists to download (in a
    worker; settings default to the ones the worker was set up with)."""

    def page(s: ReportSettings) -> str:
        ctx = branch_context(b, s)
        return _page("branch.html", ctx, branch_figures(ctx, b, s.locale, s.currency))

    def lists(s: ReportSettings) -> tuple[dict[str, str], dict[str, bytes]]:
        balances = holds_balances(b.manifest)
        return branch_lists(
            b.branch_id, b.watchlist, b.unassigned, b.call_lists, s.words, b.as_of, balances
        )

    return _render(b.branch_id, b.as_of, settings, page, lists)


def render_network(ctx: dict[str, Any], settings: ReportSettings | None = None) -> Rendered:
    """Charts, HTML and PDF of the network report from its (aggregate-only) context."""

    def page(s: ReportSettings) -> str:
        return _page("network.html", ctx, network_figures(ctx, s.locale, s.currency))

    return _render(None, ctx["meta"]["as_of"], settings, page)
