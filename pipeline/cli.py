"""`crm`: the command-line entry to every stage. One click group; thin wrappers that
load the config, resolve the period and paths, and call a stage's run function."""

from __future__ import annotations

import importlib
import importlib.util
import sys
import time
from collections.abc import Callable
from typing import Any

import click
import duckdb

from pipeline import __version__
from pipeline.catalog import Catalog
from pipeline.config import load_config
from pipeline.errors import CrmError, InputError, StageNotBuilt
from pipeline.io import promote_on_success
from pipeline.periods import latest_complete_period, parse_period
from pipeline.runner import (
    data_root_lock,
    promoted,
    run_manifest,
    run_stages,
    write_run_manifest,
)

# stage -> (module, function, issue that builds it). Each function takes
# (cfg, catalog[, period]) and returns a short human summary to print.
STAGES: dict[str, tuple[str, str, int]] = {
    "sample": ("pipeline.sample", "run_sample", 2),
    "ingest": ("pipeline.ingest", "run_ingest", 3),
    "validate": ("pipeline.ingest", "run_validate", 3),
    "features": ("pipeline.features", "run_features", 4),
    "score": ("pipeline.scoring", "run_score", 5),
    "survey": ("pipeline.survey", "run_survey", 6),
    "report": ("pipeline.report", "run_report", 7),
}
PERIOD_STAGES = ("features", "score", "survey", "report")


def stage_function(stage: str) -> Callable[..., Any]:
    """The run function of a stage, or StageNotBuilt when that stage does not exist yet."""
    module_name, func_name, issue = STAGES[stage]
    if importlib.util.find_spec(module_name) is None:
        raise StageNotBuilt(f"the {stage} stage is not built yet (issue #{issue}); nothing was run")
    func = getattr(importlib.import_module(module_name), func_name, None)
    if func is None:
        raise StageNotBuilt(f"the {stage} stage is not built yet (issue #{issue}); nothing was run")
    return func


def resolve_period(cfg: dict[str, Any], catalog: Catalog, explicit: str | None) -> str:
    """--period, else the config's period, else the latest complete month ingested."""
    if explicit:
        parse_period(explicit)
        return explicit
    if cfg["period"]:
        return cfg["period"]
    txns = catalog.interim_table("transactions")
    if not txns.is_file():
        raise InputError(
            f"no period given and no ingested transactions at {txns}: "
            "pass --period YYYY-MM or run `crm ingest` first"
        )
    import duckdb

    with duckdb.connect() as con:
        last = con.execute(
            "SELECT max(txn_time)::DATE FROM read_parquet(?)", [str(txns)]
        ).fetchone()[0]
    if last is None:
        raise InputError(f"{txns} holds no transactions; pass --period YYYY-MM")
    return latest_complete_period(last)


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


def _run_stage(stage: str, catalog: Catalog, *args: Any) -> None:
    """Run one stage under the data-root lock and print its summary and time."""
    func = stage_function(stage)
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
    _run_stage("sample", catalog, cfg, catalog)


@cli.command()
@click.option("--source", help="Source config name under configs/sources/ or a .yml path.")
@click.pass_obj
def ingest(state: State, source: str | None) -> None:
    """Load raw exports into validated canonical tables under <data>/interim/."""
    cfg, catalog = state.load(source=source)
    _run_stage("ingest", catalog, cfg, catalog)


@cli.command()
@click.option("--source", help="Source config name under configs/sources/ or a .yml path.")
@click.pass_obj
def validate(state: State, source: str | None) -> None:
    """Check raw exports against a source config and print a report; writes nothing."""
    cfg, catalog = state.load(source=source)
    func = stage_function("validate")  # reads only: no lock needed
    click.echo(str(func(cfg, catalog)).rstrip())


def _period_command(stage: str, doc: str) -> None:
    @click.option(
        "--period", help="Month to run, YYYY-MM (default: config, else latest complete month)."
    )
    @click.pass_obj
    def command(state: State, period: str | None) -> None:
        cfg, catalog = state.load()
        resolved = resolve_period(cfg, catalog, period)
        _run_stage(stage, catalog, cfg, catalog, resolved)

    command.__doc__ = doc
    cli.command(name=stage)(command)


_period_command("features", "Customer features, RFM segments, tiers and branch KPIs for a period.")
_period_command(
    "score", "CLV, P(alive) and churn scores, value x risk and watchlists for a period."
)
_period_command("survey", "Questionnaire reliability, dimension scores, NPS and IPA for a period.")
_period_command("report", "HTML and PDF reports per branch, the network report and an index.")


@cli.command()
@click.option(
    "--period", help="Month to run, YYYY-MM (default: config, else latest complete month)."
)
@click.pass_obj
def run(state: State, period: str | None) -> None:
    """Run every stage in order for one period and write a run manifest.

    Stages: ingest, features, score, survey, report. The data root is locked for the
    whole run; the manifest goes to <data>/runs/<period>/run_manifest.json.
    """
    cfg, catalog = state.load()
    functions = {stage: stage_function(stage) for stage in ("ingest", *PERIOD_STAGES)}
    with data_root_lock(catalog):
        # Each stage's outputs are put in place only when that stage completes.
        timings = run_stages([("ingest", promoted(functions["ingest"], cfg, catalog))], click.echo)
        resolved = resolve_period(cfg, catalog, period)
        timings += run_stages(
            [
                (stage, promoted(functions[stage], cfg, catalog, resolved))
                for stage in PERIOD_STAGES
            ],
            click.echo,
        )
        manifest = run_manifest(cfg, catalog, resolved, timings)
        path = write_run_manifest(manifest, catalog, resolved)
    for warning in manifest["warnings"]:
        click.echo(f"warning: {warning}", err=True)
    click.echo(f"run manifest: {path}")


@cli.command()
@click.pass_obj
def period(state: State) -> None:
    """Print the period a run would use (config, else latest complete month ingested)."""
    cfg, catalog = state.load()
    try:
        click.echo(resolve_period(cfg, catalog, None))
    except InputError:
        if cfg["source"] != "sample":
            raise
        # Nothing ingested yet: the sample bank's last generated month is what it will hold.
        click.echo(cfg["sample"]["end_month"])


def main() -> None:
    cli(prog_name="crm")


if __name__ == "__main__":
    sys.exit(main())
