"""`crm`: the command-line entry to every stage. One click group; thin wrappers that
load the config, resolve the period and paths, and call a stage's `run_<stage>` from its
`stage.py` (imported in the command, so `crm --help` does not load every library).

Progress and messages go through logging to stderr (pipeline.console: -v, -q,
--log-file); a command's result (a stage's summary, a path) is printed on stdout."""

from __future__ import annotations

import functools
import gc
import logging
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import click

from pipeline import __version__, console
from pipeline.catalog import Catalog
from pipeline.config import load_config, report_workers
from pipeline.errors import ConfigError, CrmError, InputError
from pipeline.forkserver import start_fork_server
from pipeline.io import promote_on_success
from pipeline.locales import check_locale
from pipeline.periods import parse_period, previous_period
from pipeline.runner import (
    claim_report_root,
    data_root_lock,
    period_stage,
    promoted,
    run_manifest,
    run_stages,
    write_run_manifest,
)

log = logging.getLogger("pipeline.cli")  # not __name__: "__main__" under python -m


class CrmGroup(click.Group):
    """Turns a CrmError into one clear line and exit code 2, and an OSError (a full disk)
    or DuckDB running out of memory into one line and exit code 1; --debug shows the
    traceback instead. The line is also written to the log file (--log-file)."""

    def invoke(self, ctx: click.Context) -> Any:
        try:
            return super().invoke(ctx)
        except CrmError as exc:
            if ctx.meta.get("crm.debug"):
                raise
            _fail(ctx, str(exc), 2)
        except OSError as exc:  # the machine, not the input: a full disk, a lost mount
            if ctx.meta.get("crm.debug"):
                raise
            where = f"{exc.filename}: " if exc.filename else ""
            _fail(ctx, f"{where}{exc.strerror or exc}", 1)
        except Exception as exc:  # DuckDB out of memory: the machine, what DuckDB may use
            if not _duckdb_out_of_memory(exc) or ctx.meta.get("crm.debug"):
                raise
            first = str(exc).splitlines()[0]
            _fail(
                ctx,
                f"{first} (ingest's DuckDB cap is ingest.memory_limit; --debug shows where)",
                1,
            )


def _duckdb_out_of_memory(exc: Exception) -> bool:
    """Whether `exc` is DuckDB running out of memory (DuckDB, imported by the stages that
    use it, is not loaded for the small commands make calls before every stage)."""
    duckdb = sys.modules.get("duckdb")
    return duckdb is not None and isinstance(exc, duckdb.OutOfMemoryException)


def _fail(ctx: click.Context, message: str, code: int) -> None:
    log.error(message, extra={"console": False})
    click.echo(f"crm: error: {message}", err=True)
    ctx.exit(code)


class State:
    def __init__(self, config: str | None, data_dir: str | None, report_dir: str | None):
        self.config_path, self.data_dir, self.report_dir = config, data_dir, report_dir

    def load(self, **overrides: Any) -> tuple[dict[str, Any], Catalog]:
        cfg = load_config(
            self.config_path,
            data_dir=self.data_dir,
            report_dir=self.report_dir,
            overrides=overrides,
        )
        return cfg, Catalog.from_config(cfg)


@click.group(cls=CrmGroup, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="crm")
@click.option(
    "--config",
    "config",
    type=click.Path(dir_okay=False),
    help="User config YAML overriding configs/default.yml.",
)
@click.option(
    "--data-dir",
    type=click.Path(file_okay=False),
    help="Data root (raw/, interim/, processed/). Env: CRM_DATA_DIR.",
)
@click.option(
    "--report-dir",
    type=click.Path(file_okay=False),
    help="Report root (build/<period>/). Env: CRM_REPORT_DIR.",
)
@click.option("-v", "--verbose", count=True, help="Also show debug messages (steps, timings).")
@click.option("-q", "--quiet", is_flag=True, help="Show only warnings and errors on stderr.")
@click.option(
    "--log-file",
    type=click.Path(dir_okay=False),
    help="Also write every message, with its time, to this file (appended).",
)
@click.option("--debug", is_flag=True, help="Show tracebacks instead of one-line errors.")
@click.pass_context
def cli(
    ctx: click.Context,
    config: str | None,
    data_dir: str | None,
    report_dir: str | None,
    verbose: int,
    quiet: bool,
    log_file: str | None,
    debug: bool,
) -> None:
    """Retail-bank customer analytics: ingest exports, score customers, report per branch."""
    ctx.meta["crm.debug"] = debug
    console.setup_logging(-1 if quiet else verbose, log_file)
    log.debug("crm %s: %s", __version__, " ".join(sys.argv[1:]))
    ctx.obj = State(config, data_dir, report_dir)


def _run_stage(
    stage: str, func: Callable[..., Any], catalog: Catalog, *args: Any, period: str | None = None
) -> None:
    """Run one stage under the data-root lock (shared with other periods' stages for a
    stage of one `period`); print its summary, log its time."""
    started = time.perf_counter()
    with data_root_lock(catalog, period), promote_on_success(), console.stage(stage):
        summary = func(*args)
    if summary:
        console.result(summary)
    log.info("%s: done in %.1fs", stage, time.perf_counter() - started)


@cli.command()
@click.option(
    "--customers",
    type=click.IntRange(min=1),
    help="Number of customers (default: config sample.customers).",
)
@click.option("--branches", type=click.IntRange(min=1), help="Number of branches.")
@click.option("--months", type=click.IntRange(min=1), help="Months of history.")
@click.option("--end-month", help="Last generated month, YYYY-MM.")
@click.option("--seed", type=int, help="Random seed; the same seed writes the same bytes.")
@click.option("--dirt-rate", type=click.FloatRange(0, 0.5), help="Share of dirty rows.")
@click.option("--clean", is_flag=True, help="Write no dirty rows.")
@click.option(
    "--layout",
    type=click.Choice(["cn_bank_gb18030"]),
    help="Also write the bank as this source's exports (GB18030, Chinese headers).",
)
@click.pass_obj
def sample(
    state: State, customers, branches, months, end_month, seed, dirt_rate, clean, layout
) -> None:
    """Generate the sample bank's raw exports and its ground truth."""
    if end_month:
        parse_period(end_month)
    cfg, catalog = state.load(
        **{
            "sample.customers": customers,
            "sample.branches": branches,
            "sample.months": months,
            "sample.end_month": end_month,
            "sample.seed": seed,
            "sample.dirt_rate": 0.0 if clean else dirt_rate,
        }
    )
    from pipeline.sample.stage import run_sample

    _run_stage("sample", run_sample, catalog, cfg, catalog)
    if layout:
        from pipeline.sample.layouts import run_layout

        _run_stage("sample layout", run_layout, catalog, cfg, catalog, layout)


@cli.command()
@click.option("--source", help="Source config name under configs/sources/ or a .yml path.")
@click.pass_obj
def ingest(state: State, source: str | None) -> None:
    """Load raw exports into validated canonical tables under <data>/interim/."""
    from pipeline.ingest.stage import run_ingest

    cfg, catalog = state.load(source=source)
    _run_stage("ingest", run_ingest, catalog, cfg, catalog)


@cli.command()
@click.option("--source", help="Source config name under configs/sources/ or a .yml path.")
@click.pass_obj
def validate(state: State, source: str | None) -> None:
    """Check raw exports against a source config and print a report; writes nothing."""
    from pipeline.ingest.stage import run_validate

    cfg, catalog = state.load(source=source)
    with console.stage("validate"):  # reads only: no lock needed
        console.result(run_validate(cfg, catalog))


PERIOD_HELP = "Month to run, YYYY-MM (default: config, else latest complete month)."


def _run_period_stage(
    state: State, stage: str, func: Callable[..., Any], period: str | None, **load: Any
) -> None:
    _run_loaded_period_stage(*state.load(**load), stage, func, period)


def _run_loaded_period_stage(
    cfg: dict[str, Any], catalog: Catalog, stage: str, func: Callable[..., Any], period: str | None
) -> None:
    resolved = catalog.period(period, cfg["period"])
    _run_stage(stage, period_stage(cfg, catalog, resolved, stage, func), catalog, period=resolved)


@cli.command()
@click.option("--period", help=PERIOD_HELP)
@click.pass_obj
def features(state: State, period: str | None) -> None:
    """Customer features, RFM segments, tiers and branch KPIs for a period."""
    from pipeline.features.stage import run_features

    _run_period_stage(state, "features", run_features, period)


@cli.command()
@click.option("--period", help=PERIOD_HELP)
@click.pass_obj
def score(state: State, period: str | None) -> None:
    """CLV, P(alive) and churn scores, value x risk and watchlists for a period."""
    from pipeline.scoring.stage import run_score

    _run_period_stage(state, "score", run_score, period)


@cli.command()
@click.option("--period", help=PERIOD_HELP)
@click.pass_obj
def survey(state: State, period: str | None) -> None:
    """Questionnaire reliability, dimension scores, NPS and IPA for a period."""
    from pipeline.survey.stage import run_survey

    _run_period_stage(state, "survey", run_survey, period)


LOCALE_OPTION = click.option(
    "--locale",
    "locales",
    multiple=True,
    help="Language of the reports, any locale Babel knows, e.g. en, zh_CN (default: config "
    "locale); words from its catalog under reports/locales/, else its language's, else "
    "English. Each locale has its own folder. Repeat it for several locales in one run "
    "(inputs read once, one pool of workers).",
)


def _load_for_locales(state: State, locales: tuple[str, ...]) -> tuple[dict[str, Any], Catalog]:
    """The config with the first of `locales` as its locale; every locale checked before
    any work, as the config's is."""
    for name in locales:
        check_locale(name)
    return state.load(**({"locale": locales[0]} if locales else {}))


@cli.command()
@click.option("--period", help=PERIOD_HELP)
@LOCALE_OPTION
@click.pass_obj
def report(state: State, period: str | None, locales: tuple[str, ...]) -> None:
    """HTML and PDF reports per branch, the network report and an index, under
    <reports>/build/<period>/<locale>/."""
    cfg, catalog = _load_for_locales(state, locales)
    if report_workers(cfg) > 1:
        # the workers' fork server imports matplotlib and WeasyPrint (about 2 s): started
        # first, it does so while this process imports the report stage and reads inputs
        start_fork_server(cfg["report"]["formats"])
    from pipeline.report.stage import run_report

    run = functools.partial(run_report, locales=locales)
    _run_loaded_period_stage(cfg, catalog, "report", run, period)


@cli.command()
@click.option("--period", help=PERIOD_HELP)
@LOCALE_OPTION
@click.pass_obj
def run(state: State, period: str | None, locales: tuple[str, ...]) -> None:
    """Run every stage in order for one period and write a run manifest.

    Stages: ingest, features, score, survey, report (in each --locale given). The data
    root is locked for the whole run; the manifest goes to
    <data>/runs/<period>/run_manifest.json.
    """
    from pipeline.features.stage import run_features
    from pipeline.ingest.stage import run_ingest
    from pipeline.report.stage import run_report
    from pipeline.scoring.stage import run_score
    from pipeline.survey.stage import run_survey

    if period is not None:
        parse_period(period)  # a bad --period or --locale stops the run before ingest
    cfg, catalog = _load_for_locales(state, locales)
    resolved: list[str] = []  # without --period: known once ingest has run

    def for_period(stage: str, func: Callable[..., Any]) -> tuple[str, Callable[[], Any]]:
        """One step of the period's generation (runner.period_stage), for the period
        resolved when the first period stage starts."""

        def call() -> Any:
            if not resolved:
                resolved.append(catalog.period(period, cfg["period"]))
            return promoted(period_stage(cfg, catalog, resolved[0], stage, func))()

        return stage, call

    stages = [
        ("ingest", promoted(run_ingest, cfg, catalog)),
        for_period("features", run_features),
        for_period("score", run_score),
        for_period("survey", run_survey),
        for_period("report", functools.partial(run_report, locales=locales)),
    ]
    with data_root_lock(catalog):
        claim_report_root(catalog)  # before any work: the report root must be this bank's
        # Each stage's outputs are put in place only when that stage completes.
        timings = run_stages(stages, log.info, console.result)
        manifest = run_manifest(cfg, catalog, resolved[0], timings, locales)
        path = write_run_manifest(manifest, catalog, resolved[0])
    # Each warning was logged once by the stage that found it (ingest's, the model
    # card's); the manifest keeps them all: say how many, not each again.
    if manifest["warnings"]:
        log.info("%d warning(s) this run, above and in the run manifest", len(manifest["warnings"]))
    console.result(f"run manifest: {path}")


@cli.command()
@click.option(
    "--last",
    type=click.IntRange(min=1),
    default=1,
    show_default=True,
    help="Print this many months ending with the period, oldest first (the demo's months).",
)
@click.pass_obj
def period(state: State, last: int) -> None:
    """Print the period a run would use (config, else latest complete month ingested)."""
    cfg, catalog = state.load()
    try:
        resolved = catalog.period(None, cfg["period"])
    except InputError:
        if cfg["source"] != "sample":
            raise
        # Nothing ingested yet: the sample bank's last generated month is what it will hold.
        resolved = cfg["sample"]["end_month"]
    click.echo(" ".join(previous_period(resolved, k) for k in range(last - 1, -1, -1)))


@cli.command()
@click.pass_obj
def locale(state: State) -> None:
    """Print the configured locale of the reports (any locale Babel knows: en, zh_CN, ...)."""
    cfg, _ = state.load()
    click.echo(cfg["locale"])


@cli.command()
@click.argument("stages", nargs=-1, required=True)
@click.pass_obj
def stamp(state: State, stages: tuple[str, ...]) -> None:
    """Update <data>/stamps/<STAGE>.json for each STAGE whose inputs changed: the config
    keys it reads, its source config and survey definitions, its code, the report's
    templates and (ingest) the raw exports. The Makefile's stage targets depend on them,
    so `make` reruns exactly the stages whose inputs changed."""
    from pipeline.stamps import write_stamp

    cfg, catalog = state.load()
    for stage in stages:
        write_stamp(stage, cfg, catalog.data_dir, catalog.stamp(stage))


@cli.command("config")
@click.argument("key", required=False)
@click.pass_obj
def config_command(state: State, key: str | None) -> None:
    """Print the effective config (defaults, --config, environment and flags merged), or
    one KEY of it (dotted, e.g. `crm config tiers` or `crm config source`)."""
    import yaml

    from pipeline.config import get

    cfg, _ = state.load()
    if key is None:
        value: Any = cfg
    else:
        try:
            value = get(cfg, key)
        except (KeyError, TypeError):
            raise ConfigError(f"{key}: unknown key") from None
    if isinstance(value, dict | list):
        text = yaml.safe_dump(value, allow_unicode=True, sort_keys=False).rstrip()
    else:
        text = "" if value is None else str(value)
    click.echo(text)


@cli.command()
@click.argument("directory", type=click.Path(file_okay=False))
@click.option("--bank", default="my_bank", show_default=True, help="Name of the source config.")
@click.option(
    "--like",
    default="cn_bank_gb18030",
    show_default=True,
    help="Bundled source config to start from (a wrong name lists them).",
)
@click.option("--force", is_flag=True, help="Overwrite files that exist.")
def init(directory: str, bank: str, like: str, force: bool) -> None:
    """Start a new bank in DIRECTORY: a config (crm.yml) and a source config mapping its
    exports (sources/<bank>.yml), to edit, then run with `crm --config DIRECTORY/crm.yml`."""
    from pipeline.starter import write_starter

    for path in write_starter(Path(directory), bank, like, force):
        console.result(f"wrote {path}")


def main() -> None:
    try:
        cli(prog_name="crm")
    finally:
        # The command's work is written and its files closed. What it allocated is left
        # out of the collections the interpreter runs on its way out (0.2-0.5 s of a
        # stage's exit, to end a process whose memory goes back to the system anyway).
        gc.freeze()


if __name__ == "__main__":
    sys.exit(main())
