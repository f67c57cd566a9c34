"""`crm`: the command-line entry to every stage. One click group; thin wrappers that
load the config, resolve the period and paths, and call a stage's `run_<stage>` from its
`stage.py` (imported in the command, so `crm --help` does not load every library)."""

from __future__ import annotations

import sys
import time
from collections.abc import Callable
from typing import Any

import click
import duckdb

from pipeline import __version__
from pipeline.catalog import Catalog
from pipeline.config import load_config
from pipeline.errors import CrmError, InputError
from pipeline.io import promote_on_success
from pipeline.periods import parse_period, previous_period
from pipeline.runner import (
    data_root_lock,
    promoted,
    run_manifest,
    run_stages,
    write_run_manifest,
)


class CrmGroup(click.Group):
    """Turns a CrmError into one clear line and exit code 2, and an OSError (a full disk)
    or DuckDB running out of memory into one line and exit code 1; --debug shows the
    traceback instead."""

    def invoke(self, ctx: click.Context) -> Any:
        try:
            return super().invoke(ctx)
        except CrmError as exc:
            if ctx.meta.get("crm.debug"):
                raise
            click.echo(f"crm: error: {exc}", err=True)
            ctx.exit(2)
        except OSError as exc:  # the machine, not the input: a full disk, a lost mount
            if ctx.meta.get("crm.debug"):
                raise
            where = f"{exc.filename}: " if exc.filename else ""
            click.echo(f"crm: error: {where}{exc.strerror or exc}", err=True)
            ctx.exit(1)
        except duckdb.OutOfMemoryException as exc:  # the machine: what DuckDB may use
            if ctx.meta.get("crm.debug"):
                raise
            first = str(exc).splitlines()[0]
            click.echo(
                f"crm: error: {first} (ingest's DuckDB cap is ingest.memory_limit; "
                f"--debug shows where)",
                err=True,
            )
            ctx.exit(1)


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
@click.option("--debug", is_flag=True, help="Show tracebacks instead of one-line errors.")
@click.pass_context
def cli(
    ctx: click.Context,
    config: str | None,
    data_dir: str | None,
    report_dir: str | None,
    debug: bool,
) -> None:
    """Retail-bank customer analytics: ingest exports, score customers, report per branch."""
    ctx.meta["crm.debug"] = debug
    ctx.obj = State(config, data_dir, report_dir)


def _run_stage(stage: str, func: Callable[..., Any], catalog: Catalog, *args: Any) -> None:
    """Run one stage under the data-root lock and print its summary and time."""
    started = time.perf_counter()
    with data_root_lock(catalog), promote_on_success():
        summary = func(*args)
    if summary:
        click.echo(str(summary).rstrip())
    click.echo(f"{stage}: done in {time.perf_counter() - started:.1f}s", err=True)


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
@click.pass_obj
def sample(state: State, customers, branches, months, end_month, seed, dirt_rate, clean) -> None:
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
    click.echo(str(run_validate(cfg, catalog)).rstrip())  # reads only: no lock needed


PERIOD_HELP = "Month to run, YYYY-MM (default: config, else latest complete month)."


def _run_period_stage(
    state: State, stage: str, func: Callable[..., Any], period: str | None
) -> None:
    cfg, catalog = state.load()
    resolved = catalog.period(period, cfg["period"])
    _run_stage(stage, func, catalog, cfg, catalog, resolved)


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


@cli.command()
@click.option("--period", help=PERIOD_HELP)
@click.option(
    "--locale",
    type=click.Choice(["en", "zh_CN"]),
    help="Language of the reports (default: config locale); each locale has its own folder.",
)
@click.pass_obj
def report(state: State, period: str | None, locale: str | None) -> None:
    """HTML and PDF reports per branch, the network report and an index, under
    <reports>/build/<period>/<locale>/."""
    from pipeline.report.stage import run_report

    cfg, catalog = state.load(locale=locale)
    resolved = catalog.period(period, cfg["period"])
    _run_stage("report", run_report, catalog, cfg, catalog, resolved)


@cli.command()
@click.option("--period", help=PERIOD_HELP)
@click.pass_obj
def run(state: State, period: str | None) -> None:
    """Run every stage in order for one period and write a run manifest.

    Stages: ingest, features, score, survey, report. The data root is locked for the
    whole run; the manifest goes to <data>/runs/<period>/run_manifest.json.
    """
    from pipeline.features.stage import run_features
    from pipeline.ingest.stage import run_ingest
    from pipeline.report.stage import run_report
    from pipeline.scoring.stage import run_score
    from pipeline.survey.stage import run_survey

    cfg, catalog = state.load()
    functions = {
        "features": run_features,
        "score": run_score,
        "survey": run_survey,
        "report": run_report,
    }
    with data_root_lock(catalog):
        # Each stage's outputs are put in place only when that stage completes.
        timings = run_stages([("ingest", promoted(run_ingest, cfg, catalog))], click.echo)
        resolved = catalog.period(period, cfg["period"])
        timings += run_stages(
            [(stage, promoted(func, cfg, catalog, resolved)) for stage, func in functions.items()],
            click.echo,
        )
        manifest = run_manifest(cfg, catalog, resolved, timings)
        path = write_run_manifest(manifest, catalog, resolved)
    for warning in manifest["warnings"]:
        click.echo(f"warning: {warning}", err=True)
    click.echo(f"run manifest: {path}")


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
    """Print the configured locale of the reports (en or zh_CN)."""
    cfg, _ = state.load()
    click.echo(cfg["locale"])


def main() -> None:
    cli(prog_name="crm")


if __name__ == "__main__":
    sys.exit(main())
