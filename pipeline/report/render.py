"""The worker's side of rendering: each worker process sets up matplotlib, the Jinja
environment and WeasyPrint once (init_worker), then renders report after report.

Workers return the HTML text and PDF bytes; the parent writes them, so every file of a
run is written at the edge, atomically, by one process. The pool itself is in pool.py.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from datetime import date
from typing import Any

from markupsafe import Markup

from pipeline.report import charts
from pipeline.report.context import ReportSettings, branch_context
from pipeline.report.core import BranchInputs
from pipeline.report.environment import make_environment, script, stylesheet
from pipeline.report.figures import branch_figures, network_figures
from pipeline.report.fonts import css_font_stack, matplotlib_families, require_cjk_font
from pipeline.report.pdf import html_to_pdf

TEMPLATES = ("branch.html", "network.html")
_STATE: dict[str, Any] = {}


@dataclass(frozen=True)
class Rendered:
    """One report: whose it is (a branch id; None: the network's), HTML, PDF (or None)
    and timings: wall seconds for the HTML (context, charts, template) and the PDF, and
    the CPU seconds the worker spent on both (wall minus CPU is time waiting for a core)."""

    branch_id: str | None
    html: str
    pdf: bytes | None
    seconds_html: float
    seconds_pdf: float
    cpu_seconds: float = 0.0

    @property
    def seconds(self) -> float:
        return self.seconds_html + self.seconds_pdf


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


def _finish(
    branch_id: str | None, html: str, as_of: date, started: tuple[float, float], s: ReportSettings
) -> Rendered:
    html_done = time.perf_counter()
    pdf = html_to_pdf(html, as_of) if "pdf" in s.formats else None
    return Rendered(
        branch_id,
        html,
        pdf,
        seconds_html=html_done - started[0],
        seconds_pdf=time.perf_counter() - html_done,
        cpu_seconds=time.process_time() - started[1],
    )


def _clock() -> tuple[float, float]:
    return time.perf_counter(), time.process_time()


def render_branch(b: BranchInputs, settings: ReportSettings | None = None) -> Rendered:
    """Context, charts, HTML and PDF of one branch (in a worker; settings default to
    the ones the worker was set up with)."""
    started = _clock()
    s = _settings(settings)
    ctx = branch_context(b, s)
    html = _page("branch.html", ctx, branch_figures(ctx, b, s.locale, s.currency))
    return _finish(b.branch_id, html, b.as_of, started, s)


def render_network(ctx: dict[str, Any], settings: ReportSettings | None = None) -> Rendered:
    """Charts, HTML and PDF of the network report from its (aggregate-only) context."""
    started = _clock()
    s = _settings(settings)
    html = _page("network.html", ctx, network_figures(ctx, s.locale, s.currency))
    return _finish(None, html, ctx["meta"]["as_of"], started, s)
