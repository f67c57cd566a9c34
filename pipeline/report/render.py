"""Rendering in one long-lived pool of processes (report.workers): each worker sets up
matplotlib, the Jinja environment and WeasyPrint once, then renders report after report.

Workers return the HTML text and PDF bytes; the parent writes them, so every file of a
run is written at the edge, atomically, by one process.

Processes come from a fork server where the platform has one: a clean single-threaded
process that imports this module (matplotlib, pandas, Jinja, WeasyPrint) once and forks
each worker from it, so workers start in milliseconds instead of each spending ~2 s of
CPU on imports. Forking the parent itself would be unsafe: by then it has read Parquet
files, and pyarrow's thread pools and allocator do not survive a fork. Elsewhere
(Windows) workers are spawned. The pool is started before the inputs are read, so the
fork server's imports overlap the parent's reading.
"""

from __future__ import annotations

import itertools
import multiprocessing
import time
from collections import deque
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import Future, ProcessPoolExecutor
from dataclasses import dataclass
from datetime import date
from types import TracebackType
from typing import Any

from markupsafe import Markup

from pipeline.report import charts
from pipeline.report.context import ReportSettings, branch_context
from pipeline.report.environment import make_environment, stylesheet
from pipeline.report.figures import branch_figures, network_figures
from pipeline.report.fonts import css_font_stack, matplotlib_families, require_cjk_font
from pipeline.report.inputs import BranchInputs
from pipeline.report.pdf import html_to_pdf

TEMPLATES = ("branch.html", "network.html")
_STATE: dict[str, Any] = {}


@dataclass(frozen=True)
class Rendered:
    """One report: its file stem (branch-B01, network), HTML, PDF (or None) and timings:
    wall seconds for the HTML (context, charts, template) and the PDF, and the CPU
    seconds the worker spent on both (wall minus CPU is time waiting for a core)."""

    name: str
    html: str
    pdf: bytes | None
    seconds_html: float
    seconds_pdf: float
    cpu_seconds: float = 0.0

    @property
    def seconds(self) -> float:
        return self.seconds_html + self.seconds_pdf


def init_worker(settings: ReportSettings) -> None:
    """Once per process: fonts, chart style, Jinja environment, WeasyPrint import."""
    font = require_cjk_font(settings.locale)
    charts.configure(matplotlib_families(font))
    env = make_environment(settings.locale, settings.currency)
    for name in TEMPLATES:
        env.get_template(name)  # compiled once per process, not per report
    _STATE.update(
        settings=settings,
        env=env,
        css=stylesheet(),
        font_stack=Markup(css_font_stack(font)),
    )
    if "pdf" in settings.formats:
        import weasyprint  # noqa: F401  (import once, not per report)


def ready() -> bool:
    """A no-op task: submitting one per worker starts the workers (and their set-up)."""
    return True


def _page(template: str, ctx: dict[str, Any], figs: dict[str, str]) -> str:
    env = _STATE["env"]
    return env.get_template(template).render(
        **ctx, charts=figs, css=_STATE["css"], font_stack=_STATE["font_stack"]
    )


def _finish(name: str, html: str, as_of: date, started: tuple[float, float]) -> Rendered:
    settings: ReportSettings = _STATE["settings"]
    html_done = time.perf_counter()
    pdf = html_to_pdf(html, as_of) if "pdf" in settings.formats else None
    return Rendered(
        name,
        html,
        pdf,
        seconds_html=html_done - started[0],
        seconds_pdf=time.perf_counter() - html_done,
        cpu_seconds=time.process_time() - started[1],
    )


def _clock() -> tuple[float, float]:
    return time.perf_counter(), time.process_time()


def render_branch(b: BranchInputs) -> Rendered:
    """Context, charts, HTML and PDF of one branch (in a worker)."""
    started = _clock()
    s: ReportSettings = _STATE["settings"]
    ctx = branch_context(b, s)
    html = _page("branch.html", ctx, branch_figures(ctx, b, s.locale, s.currency))
    return _finish(f"branch-{b.branch_id}", html, b.as_of, started)


def render_network(ctx: dict[str, Any]) -> Rendered:
    """Charts, HTML and PDF of the network report from its (aggregate-only) context."""
    started = _clock()
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


def start_method() -> str:
    """forkserver where available (Linux, macOS), else spawn; never a bare fork."""
    return "forkserver" if "forkserver" in multiprocessing.get_all_start_methods() else "spawn"


class RenderPool:
    """The run's workers: `with RenderPool(settings, workers) as pool:` starts them (they
    set up while the parent reads its inputs), `pool.render(...)` renders the reports.

    workers <= 1 renders in this process.
    """

    def __init__(self, settings: ReportSettings, workers: int) -> None:
        self.settings = settings
        self.workers = max(1, int(workers))
        self._executor: ProcessPoolExecutor | None = None

    def __enter__(self) -> RenderPool:
        if self.workers <= 1:
            init_worker(self.settings)
            return self
        method = start_method()
        context = multiprocessing.get_context(method)
        if method == "forkserver":
            # the fork server imports this module once; every worker forks from it
            context.set_forkserver_preload([__name__])
        self._executor = ProcessPoolExecutor(
            max_workers=self.workers,
            mp_context=context,
            initializer=init_worker,
            initargs=(self.settings,),
        )
        for _ in range(self.workers):
            self._executor.submit(ready)
        return self

    def __exit__(
        self,
        kind: type[BaseException] | None,
        error: BaseException | None,
        trace: TracebackType | None,
    ) -> None:
        if self._executor is not None:
            self._executor.shutdown(wait=True, cancel_futures=error is not None)
            self._executor = None

    def render(
        self, network_ctx: dict[str, Any], branches: Iterable[BranchInputs]
    ) -> Iterator[Rendered]:
        """The network report, then every branch's, in that order.

        Branch slices are taken from `branches` only as workers free up (at most two
        per worker in flight), so the parent never holds every slice at once and
        slicing overlaps rendering. Results come back in submission order, so output
        does not depend on scheduling.
        """
        tasks: Iterator[tuple[Callable[[Any], Rendered], Any]] = itertools.chain(
            [(render_network, network_ctx)], ((render_branch, b) for b in branches)
        )
        if self._executor is None:
            for fn, arg in tasks:
                yield fn(arg)
            return
        window: deque[Future[Rendered]] = deque()
        for fn, arg in tasks:
            window.append(self._executor.submit(fn, arg))
            if len(window) >= 2 * self.workers:
                yield window.popleft().result()
        while window:
            yield window.popleft().result()


def render_all(
    settings: ReportSettings,
    network_ctx: dict[str, Any],
    branches: Iterable[BranchInputs],
    workers: int,
) -> Iterator[Rendered]:
    """Network first, then every branch, in `workers` processes (1: in this process)."""
    with RenderPool(settings, workers) as pool:
        yield from pool.render(network_ctx, branches)
