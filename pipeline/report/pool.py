"""The parent's side of rendering: one long-lived pool of processes (report.workers)
that renders every report of a run, in order, and the index page (rendered here).

Processes come from a fork server where the platform has one (pipeline.forkserver: a
clean single-threaded process that imports the worker module -- matplotlib, pandas,
Jinja, WeasyPrint -- once and forks each worker from it), so workers start in
milliseconds instead of each spending about 2 s of CPU on imports. Forking the parent
itself would be unsafe: by then it has read Parquet files, and pyarrow's thread pools
and allocator do not survive a fork. Elsewhere (Windows) workers are spawned. Workers
end with the run, even when it is killed (die_with). `crm report` starts the fork server
before anything else, and the pool before the inputs are read, so the server's imports
overlap the parent's; this module imports neither matplotlib nor WeasyPrint, which the
parent never needs.
"""

from __future__ import annotations

import importlib
import itertools
import multiprocessing
import os
import select
import threading
import time
from collections import deque
from collections.abc import Iterable, Iterator
from concurrent.futures import Future, ProcessPoolExecutor
from types import TracebackType
from typing import TYPE_CHECKING, Any

from markupsafe import Markup

from pipeline.forkserver import WORKER_MODULE, start_fork_server, start_method
from pipeline.report.context import ReportSettings
from pipeline.report.core import BranchInputs
from pipeline.report.environment import make_environment, script, stylesheet
from pipeline.report.fonts import css_font_stack, require_cjk_font
from pipeline.report.i18n import locale_names

if TYPE_CHECKING:
    from pipeline.report.render import Rendered

# One locale's reports: its settings, the network report's context, the branches' slices.
LocaleRun = tuple[ReportSettings, dict[str, Any], Iterable[BranchInputs]]

POLL_SECONDS = 0.5  # how often a worker without a pidfd checks that the run is alive


def _worker(name: str, *args: Any) -> Any:
    """Call WORKER_MODULE.<name> (imported on first use: the parent never imports it)."""
    return getattr(importlib.import_module(WORKER_MODULE), name)(*args)


def _init(settings: ReportSettings, parent: int | None = None) -> None:
    if parent is not None:
        die_with(parent)
    _worker("init_worker", settings)


def die_with(parent: int) -> None:
    """End this worker when process `parent` (the crm run) ends, however it ends.

    A worker's parent is the fork server, not the run, and a worker waits on a queue
    it holds both ends of: after a `kill -9` of the run it would wait forever, holding
    its memory (hundreds of MB). A daemon thread waits for the run to exit -- on a Linux
    pidfd, which wakes exactly then, else by polling -- and ends the worker at once."""
    try:
        fd = os.pidfd_open(parent)
    except (AttributeError, OSError):  # not Linux 5.3+, or the run is already gone
        fd = None
        if not _alive(parent):
            os._exit(1)

    def watch() -> None:
        if fd is not None:
            select.select([fd], [], [])
        else:
            while _alive(parent):
                time.sleep(POLL_SECONDS)
        os._exit(1)  # no clean-up to run: the run is gone

    threading.Thread(target=watch, name="die-with-parent", daemon=True).start()


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # someone else's process now holds the number: ours is gone
        return False
    return True


def _ready() -> bool:
    """A no-op task: submitting one per worker starts the workers (and their set-up)."""
    return True


class RenderPool:
    """The run's workers: `with RenderPool(setup, workers) as pool:` starts them; they set
    up (fonts, charts, templates, WeasyPrint) for `setup`'s locale, currency and formats
    while the parent reads its inputs; `pool.render(runs)` renders the reports of one
    or more locales.

    workers <= 1 renders in this process.
    """

    def __init__(self, setup: ReportSettings, workers: int) -> None:
        self.settings = setup
        self.workers = max(1, int(workers))
        self._executor: ProcessPoolExecutor | None = None
        self._starter: threading.Thread | None = None
        self._start_error: BaseException | None = None

    def _started(self) -> ProcessPoolExecutor:
        """The executor once its workers are started (re-raising a failure to start)."""
        if self._starter is not None:
            self._starter.join()
            self._starter = None
        if self._start_error is not None:
            raise self._start_error
        assert self._executor is not None
        return self._executor

    def __enter__(self) -> RenderPool:
        if self.workers <= 1:
            _init(self.settings)
            return self
        start_fork_server(self.settings.formats)  # running already when crm report started it
        self._executor = ProcessPoolExecutor(
            max_workers=self.workers,
            mp_context=multiprocessing.get_context(start_method()),
            initializer=_init,
            initargs=(self.settings, os.getpid()),
        )
        # Starting a worker waits for the fork server to finish its imports (seconds):
        # a thread does it, so the parent reads its inputs meanwhile.
        self._starter = threading.Thread(target=self._start_workers, name="start-workers")
        self._starter.start()
        return self

    def _start_workers(self) -> None:
        try:
            for _ in range(self.workers):
                self._executor.submit(_ready)
        except BaseException as error:  # noqa: BLE001  (raised again in the parent)
            self._start_error = error

    def __exit__(
        self,
        kind: type[BaseException] | None,
        error: BaseException | None,
        trace: TracebackType | None,
    ) -> None:
        if self._starter is not None:
            self._starter.join()
            self._starter = None
        if self._executor is not None:
            self._executor.shutdown(wait=True, cancel_futures=error is not None)
            self._executor = None

    def render(self, runs: Iterable[LocaleRun]) -> Iterator[Rendered]:
        """Every run's reports, run after run: every branch's in the slices' order (the
        largest first: core.largest_first), then the network report, the shortest, so
        a run ends on a short report instead of a worker waiting on a long one.

        A run is one locale's (settings, network context, branch slices); a worker sets
        up again when its next task is in another locale (about 0.1 s), so runs in turn
        cost each worker one set-up per locale. Branch slices are taken only as workers
        free up (at most two per worker in flight), so the parent never holds every slice
        at once and slicing overlaps rendering. Results come back in submission order, so
        output does not depend on scheduling.
        """
        tasks: Iterator[tuple[str, Any, ReportSettings]] = itertools.chain.from_iterable(
            itertools.chain(
                (("render_branch", b, settings) for b in branches),
                [("render_network", network_ctx, settings)],
            )
            for settings, network_ctx, branches in runs
        )
        if self._executor is None:
            for name, arg, settings in tasks:
                yield _worker(name, arg, settings)
            return
        executor = self._started()
        window: deque[Future[Rendered]] = deque()
        for name, arg, settings in tasks:
            window.append(executor.submit(_worker, name, arg, settings))
            if len(window) >= 2 * self.workers:
                yield window.popleft().result()
        while window:
            yield window.popleft().result()


def render_index(settings: ReportSettings, ctx: dict[str, Any]) -> str:
    """The period's index page in a locale (in the parent: no charts, no fonts beyond
    the stack)."""
    env = make_environment(settings.locale, settings.currency)
    font = require_cjk_font(settings.locale)
    return env.get_template("index.html").render(
        **ctx,
        languages=locale_names(ctx["other_locales"]),
        charts={},
        css=stylesheet(),
        script=script(),
        font_stack=Markup(css_font_stack(font)),
    )


def render_languages(settings: ReportSettings, period: str, locales: list[str]) -> str:
    """The period's page linking to its index in every locale written (each locale's
    name in its own language)."""
    env = make_environment(settings.locale, settings.currency)
    return env.get_template("languages.html").render(
        period=period, locales=sorted(locales), languages=locale_names(locales), css=stylesheet()
    )
