"""Where the report's worker processes come from: a fork server, started early.

A fork server is a clean single-threaded process that imports once what every worker
needs (the run's main module, the worker module with matplotlib and Jinja, WeasyPrint
for PDF) and forks each worker from it; those imports take about two seconds. `crm
report` starts it first thing, so they run while the report command imports its own
modules and reads its inputs, instead of after (pipeline.report.pool's RenderPool then
finds it running). It lives outside pipeline.report, whose package imports pandas: this
module imports nothing heavy, so starting the server costs the run nothing.
"""

from __future__ import annotations

import multiprocessing
from collections.abc import Sequence

WORKER_MODULE = "pipeline.report.render"


def start_method() -> str:
    """forkserver where available (Linux, macOS), else spawn; never a bare fork."""
    return "forkserver" if "forkserver" in multiprocessing.get_all_start_methods() else "spawn"


def preload(formats: Sequence[str]) -> list[str]:
    """What the fork server imports for workers rendering `formats`: the run's main
    module (which a worker would otherwise run again), the worker module, and WeasyPrint
    when PDFs are made."""
    return ["__main__", WORKER_MODULE, *(["weasyprint"] if "pdf" in formats else [])]


def start_fork_server(formats: Sequence[str]) -> None:
    """Start the fork server for `formats` now, without waiting for its imports (nothing
    to do where workers are spawned)."""
    if start_method() != "forkserver":
        return
    from multiprocessing import forkserver

    multiprocessing.get_context("forkserver").set_forkserver_preload(preload(formats))
    forkserver.ensure_running()
