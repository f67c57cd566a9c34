"""Rendering in one long-lived pool of processes (report.workers): each worker sets up
matplotlib, the Jinja environment and WeasyPrint once, then renders report after report.

Workers return the HTML text and PDF bytes; the parent writes them, so every file of a
run is written at the edge, atomically, by one process.
"""

from __future__ import annotations

import multiprocessing
import time
from collections.abc import Iterable, Iterator
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass
from datetime import date
from typing import Any

from markupsafe import Markup

from pipeline.report import charts
from pipeline.report.context import ReportSettings, branch_context
from pipeline.report.environment import make_environment, stylesheet
from pipeline.report.figures import branch_figures, network_figures
from pipeline.report.fonts import css_font_stack, matplotlib_families, require_cjk_font
from pipeline.report.inputs import BranchInputs
from pipeline.report.pdf import html_to_pdf

_STATE: dict[str, Any] = {}


@dataclass(frozen=True)
class Rendered:
    """One report: its file stem (branch-B01, network), HTML, PDF (or None) and timings."""

    name: str
    html: str
    pdf: bytes | None
    seconds_html: float
    seconds_pdf: float

    @property
    def seconds(self) -> float:
        return self.seconds_html + self.seconds_pdf


def init_worker(settings: ReportSettings) -> None:
    """Once per process: fonts, chart style, Jinja environment, WeasyPrint import."""
    font = require_cjk_font(settings.locale)
    charts.configure(matplotlib_families(font))
    _STATE.update(
        settings=settings,
        env=make_environment(settings.locale, settings.currency),
        css=stylesheet(),
        font_stack=Markup(css_font_stack(font)),
    )
    if "pdf" in settings.formats:
        import weasyprint  # noqa: F401  (import once, not per report)


def _page(template: str, ctx: dict[str, Any], figs: dict[str, str]) -> str:
    env = _STATE["env"]
    return env.get_template(template).render(
        **ctx, charts=figs, css=_STATE["css"], font_stack=_STATE["font_stack"]
    )


def _finish(name: str, html: str, as_of: date, started: float) -> Rendered:
    settings: ReportSettings = _STATE["settings"]
    html_done = time.perf_counter()
    pdf = html_to_pdf(html, as_of) if "pdf" in settings.formats else None
    return Rendered(name, html, pdf, html_done - started, time.perf_counter() - html_done)


def render_branch(b: BranchInputs) -> Rendered:
    """Context, charts, HTML and PDF of one branch (in a worker)."""
    started = time.perf_counter()
    s: ReportSettings = _STATE["settings"]
    ctx = branch_context(b, s)
    html = _page("branch.html", ctx, branch_figures(ctx, b, s.locale, s.currency))
    return _finish(f"branch-{b.branch_id}", html, b.as_of, started)


def render_network(ctx: dict[str, Any]) -> Rendered:
    """Charts, HTML and PDF of the network report from its (aggregate-only) context."""
    started = time.perf_counter()
    s: ReportSettings = _STATE["settings"]
    html = _page("network.html", ctx, network_figures(ctx, s.locale, s.currency))
    return _finish("network", html, ctx["meta"]["as_of"], started)


def render_index(settings: ReportSettings, ctx: dict[str, Any]) -> str:
    """The period's index page (in the parent: no charts, no fonts beyond the stack)."""
    env = make_environment(settings.locale, settings.currency)
    font = require_cjk_font(settings.locale)
    return env.get_template("index.html").render(
        **ctx, charts={}, css=stylesheet(), font_stack=Markup(css_font_stack(font))
    )


def render_all(
    settings: ReportSettings,
    network_ctx: dict[str, Any],
    branches: Iterable[BranchInputs],
    workers: int,
) -> Iterator[Rendered]:
    """Network first, then every branch, in `workers` processes (1: in this process).

    Results come back in submission order, so output does not depend on scheduling.
    """
    branches = list(branches)
    if workers <= 1:
        init_worker(settings)
        yield render_network(network_ctx)
        for b in branches:
            yield render_branch(b)
        return
    context = multiprocessing.get_context("spawn")
    with ProcessPoolExecutor(
        max_workers=min(workers, len(branches) + 1),
        mp_context=context,
        initializer=init_worker,
        initargs=(settings,),
    ) as pool:
        futures = [pool.submit(render_network, network_ctx)]
        futures += [pool.submit(render_branch, b) for b in branches]
        for future in futures:
            yield future.result()
