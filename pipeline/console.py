"""What a run tells the person or the log watching it: standard logging and progress bars.

The CLI calls `setup_logging` once per command: the console (stderr) shows INFO and up
(`-q` warnings and errors only, `-v` debug too), prefixed and coloured by level only on a
terminal; `--log-file` adds every record at DEBUG with a timestamp. A stage's result
(its summary) goes to stdout through `result`, and to the log file too, once.

`progress(label, total)` draws a bar (click's) for work counted in items -- ingest's
files, the reports of a run's branches, a stage's steps -- only when stderr is a terminal
and the console shows INFO: a log file, a pipe or a cron job gets no bar. `stage(name)`
names the stage a bar belongs to. Modules log through `logging.getLogger(__name__)`;
without `setup_logging` (a notebook, a test) nothing is configured and no bar is drawn.
"""

from __future__ import annotations

import logging
import os
import sys
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from pathlib import Path

import click

LOGGER = __name__.rpartition(".")[0]  # the package's logger: every module's parent
FILE_FORMAT = "%(asctime)s %(levelname)-7s %(name)s: %(message)s"
STYLES = {
    logging.DEBUG: ("debug: ", {"dim": True}),
    logging.WARNING: ("warning: ", {"fg": "yellow"}),
    logging.ERROR: ("error: ", {"fg": "red", "bold": True}),
    logging.CRITICAL: ("error: ", {"fg": "red", "bold": True}),
}
_bars = {"enabled": False, "active": False}
_stage: ContextVar[str | None] = ContextVar("_stage", default=None)


def color_wanted() -> bool | None:
    """False when NO_COLOR is set (https://no-color.org); None lets click decide (colour
    on a terminal, none in a pipe or file)."""
    return False if os.environ.get("NO_COLOR") else None


class ConsoleHandler(logging.Handler):
    """Records to stderr through click: the level's prefix and colour on a terminal, the
    stream looked up at each record (so a test runner's capture sees it)."""

    def emit(self, record: logging.LogRecord) -> None:
        if getattr(record, "console", True) is False:
            return
        try:
            prefix, style = STYLES.get(record.levelno, ("", {}))
            text = self.format(record)
            line = click.style(prefix, **style) + text if prefix else text
            click.echo(line, err=True, color=color_wanted())
        except Exception:  # noqa: BLE001  (logging's own rule: never raise from emit)
            self.handleError(record)


def setup_logging(verbosity: int = 0, log_file: str | Path | None = None) -> None:
    """Configure the package's logger for a command: verbosity -1 (quiet), 0 or 1+
    (verbose). Called again (tests invoke many commands in one process), it replaces the
    handlers it added before."""
    logger = logging.getLogger(LOGGER)
    for handler in [h for h in logger.handlers if getattr(h, "_crm", False)]:
        logger.removeHandler(handler)
        handler.close()
    level = logging.WARNING if verbosity < 0 else logging.DEBUG if verbosity > 0 else logging.INFO
    console = ConsoleHandler(level)
    console._crm = True
    logger.addHandler(console)
    logger.setLevel(logging.DEBUG if log_file else level)
    if log_file:
        Path(log_file).expanduser().parent.mkdir(parents=True, exist_ok=True)
        to_file = logging.FileHandler(log_file, encoding="utf-8")
        to_file.setLevel(logging.DEBUG)
        to_file.setFormatter(logging.Formatter(FILE_FORMAT))
        to_file._crm = True
        logger.addHandler(to_file)
    _bars["enabled"] = level <= logging.INFO and _is_terminal()


def _is_terminal() -> bool:
    return bool(getattr(sys.stderr, "isatty", lambda: False)())


def result(text: str) -> None:
    """A command's result: printed on stdout, recorded in the log file (not twice on the
    console)."""
    text = str(text).rstrip()
    click.echo(text)
    logging.getLogger(LOGGER).info(text, extra={"console": False})


@contextmanager
def stage(name: str) -> Iterator[None]:
    """Name the stage running in this block (it labels the block's progress bars)."""
    token = _stage.set(name)
    try:
        yield
    finally:
        _stage.reset(token)


def current_stage() -> str | None:
    return _stage.get()


@contextmanager
def progress(label: str, total: int) -> Iterator[Callable[..., None]]:
    """Yield `advance(n=1, item=None)`; a bar of `total` items labelled with the stage and
    `label` is drawn on a terminal, nothing elsewhere. One bar at a time, from the main
    thread: work nested in a bar's work (a step that runs steps) advances no bar."""
    nested = _bars.get("active") or threading.current_thread() is not threading.main_thread()
    if not _bars["enabled"] or nested or total < 2:
        yield _ignore
        return
    _bars["active"] = True
    name = current_stage()
    shown: list[str | None] = [None]
    with click.progressbar(
        length=total,
        label=f"{name}: {label}" if name else label,
        file=sys.stderr,
        show_pos=True,
        show_eta=True,
        item_show_func=lambda _: shown[0],
        color=color_wanted(),
    ) as bar:

        def advance(n: int = 1, item: str | None = None) -> None:
            shown[0] = item
            bar.update(n)

        try:
            yield advance
        finally:
            _bars["active"] = False


def _ignore(n: int = 1, item: str | None = None) -> None:
    return None
