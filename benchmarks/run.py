"""Benchmark: generate a sample bank of a given size, run every stage through the CLI,
and write per-stage wall time and peak memory (RSS) as JSON and a markdown table.

Each stage runs in its own process so its peak RSS is its own (os.wait4 rusage).
Ingest through scores is timed twice: a bank's first run (every export parsed; the
features of the month before the period, which backfill the KPI history's months) and
its monthly run (the period's features with the month before stored; ingest again with
the newest month's transaction and balance files and the customers and RM-contact
snapshots delivered anew, the other months' parsed files reused).
On the same data it also times the path a user would write with lifetimes alone
(summary_data_from_transaction_data, a BG/NBD fit on every customer, Gamma-Gamma,
CLV) and the pipeline's own CLV path (its DuckDB summary, weighted fits, CLV) from the
same interim transactions, and reports how many times faster the pipeline's path is:
like for like, since the lifetimes-only path neither parses exports nor trains churn.

    python benchmarks/run.py --customers 1000000          # the reference size
    python benchmarks/run.py --customers 2000 --months 12  # a smoke run (CI)
"""

from __future__ import annotations

import json
import os
import platform
import re
import shutil
import subprocess
import sys
import time
from datetime import UTC, datetime
from pathlib import Path

import click

ROOT = Path(__file__).resolve().parents[1]
CRM = [sys.executable, "-m", "pipeline.cli"]
PIPELINE_TO_SCORES = ("ingest", "features", "score")  # a bank's first run
MONTHLY_TO_SCORES = ("ingest_monthly", "features_monthly", "score")
# A stage's step timings as its --log-file records them (pipeline.steps, at debug level)
STEP_LINE = re.compile(r"\bstep (\S+): ([0-9.]+)s$")
SLOWEST_STEPS = 12  # how many of a stage's steps the markdown lists

LIFETIMES_ONLY = r"""
import sys, warnings
warnings.simplefilter("ignore")
import pandas as pd
from lifetimes import BetaGeoFitter, GammaGammaFitter
from lifetimes.utils import summary_data_from_transaction_data
cols = ["customer_id", "txn_time", "revenue", "customer_initiated"]
txns = pd.read_parquet(sys.argv[1], columns=cols)
txns = txns[txns["customer_initiated"]]
as_of = pd.Timestamp(sys.argv[2])
# the pipeline's defaults (clv.event_period day, clv.time_unit week, no penalizers)
summary = summary_data_from_transaction_data(
    txns, "customer_id", "txn_time", monetary_value_col="revenue",
    observation_period_end=as_of, freq="D", freq_multiplier=7,
)
bgf = BetaGeoFitter(penalizer_coef=0.0)
bgf.fit(summary["frequency"], summary["recency"], summary["T"])
repeat = summary[(summary["frequency"] > 0) & (summary["monetary_value"] > 0)]
ggf = GammaGammaFitter(penalizer_coef=0.0).fit(repeat["frequency"], repeat["monetary_value"])
clv = ggf.customer_lifetime_value(
    bgf, repeat["frequency"], repeat["recency"], repeat["T"], repeat["monetary_value"],
    time=12, freq="W", discount_rate=0.0079,
)
print(len(summary), float(clv.sum()))
"""

PIPELINE_CLV = r"""
import sys
from pipeline.catalog import Catalog
from pipeline.config import load_config
from pipeline.engine import connect
from pipeline.periods import as_of_date
from pipeline.scoring.clv import score_clv
from pipeline.scoring.settings import ClvSettings
from pipeline.scoring.summary import btyd_summary
cfg = load_config()
s, as_of = ClvSettings.from_config(cfg), as_of_date(sys.argv[1])
engine = connect(Catalog.from_config(cfg).interim_dir)
scores, card = score_clv(engine, btyd_summary(engine, as_of, s), as_of, s)
print(len(scores), float(scores["clv"].sum()))
"""


def timed(cmd: list[str], env: dict[str, str]) -> dict[str, float]:
    """Run a command; its wall seconds, its own peak RSS in MiB (Linux: KiB units) and the
    machine's 1-minute load average when it started (other work on the cores slows it)."""
    load = os.getloadavg()[0]
    started = time.perf_counter()
    proc = subprocess.Popen(cmd, cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    _, status, usage = os.wait4(proc.pid, 0)
    wall = time.perf_counter() - started
    out, err = proc.stdout.read().decode(), proc.stderr.read().decode()
    proc.stdout.close()
    proc.stderr.close()
    if os.waitstatus_to_exitcode(status) != 0:
        raise click.ClickException(f"{' '.join(cmd[2:])} failed:\n{out}\n{err}")
    return {
        "seconds": round(wall, 2),
        "peak_rss_mib": round(usage.ru_maxrss / 1024, 1),
        "load_at_start": round(load, 2),
    }


def step_seconds(log: Path) -> dict[str, float]:
    """Each step's wall seconds from a stage's log file, slowest first (empty when the
    stage runs no declared steps). Steps run two at a time: they overlap, and their sum
    exceeds the stage's wall time."""
    steps: dict[str, float] = {}
    for line in log.read_text(encoding="utf-8").splitlines():
        match = STEP_LINE.search(line)
        if match:
            steps[match[1]] = round(steps.get(match[1], 0.0) + float(match[2]), 2)
    return dict(sorted(steps.items(), key=lambda item: -item[1]))


def reusable_bank(data: Path, customers: int, months: int, branches: int, seed: int) -> bool:
    """The work folder already holds a generated bank of this size and seed (the
    generator writes its parameters last, so a bank cut short is not reused)."""
    params = data / "raw" / "sample_ground_truth" / "params.json"
    if not params.is_file():
        return False
    p = json.loads(params.read_text())
    return (p.get("customers"), p.get("months"), p.get("branches"), p.get("seed")) == (
        customers,
        months,
        branches,
        seed,
    )


def deliver_anew(data: Path, end_month: str) -> list[str]:
    """Make ingest parse again, as a month's delivery would bring them, the period's
    transaction and balance files and the snapshot files (customers, RM contacts): their
    parsed parts are dropped from the part store, the other months' kept. The raw files
    stay as they are, so the canonical tables ingest writes are the same. Returns the
    files delivered."""
    from pipeline.catalog import Catalog
    from pipeline.ingest.parts import PartStore

    raw, parts = data / "raw" / "sample", Catalog(data, data).ingest_parts_dir
    new = [
        raw / "transactions" / f"transactions_{end_month}.csv",
        raw / "balances" / f"balances_{end_month}.csv",
        raw / "customers.csv",
        raw / "rm_contacts.csv",
    ]
    PartStore(parts, parts).forget(new)
    return [path.name for path in new]


def times(ratio: float) -> str:
    return f"{ratio:.1f}x faster" if ratio >= 1 else f"{1 / ratio:.1f}x slower"


def markdown(result: dict) -> str:
    lines = [
        f"# Benchmark: {result['customers']:,} customers, {result['months']} months, "
        f"{result['branches']} branches",
        "",
        f"{result['transactions']:,} transactions; {result['machine']}; {result['cpus']} cores.",
        "",
        "| stage | wall (s) | peak RSS (MiB) | load at start |",
        "|---|---:|---:|---:|",
    ]
    for stage, figures in result["stages"].items():
        lines.append(
            f"| {stage} | {figures['seconds']:.1f} | {figures['peak_rss_mib']:,.0f} "
            f"| {figures['load_at_start']:.1f} |"
        )
    lines.append("")
    monthly = result.get("monthly_to_scores_seconds")
    lines.append(
        f"Ingest through scores: {result['pipeline_to_scores_seconds']:.1f} s on a first run"
        + (f", {monthly:.1f} s on a monthly run." if monthly is not None else ".")
    )
    for stage, figures in result["stages"].items():
        if figures.get("steps"):
            slowest = list(figures["steps"].items())[:SLOWEST_STEPS]
            lines.append(
                f"Slowest steps of {stage} (wall s, two run side by side): "
                + ", ".join(f"{name} {seconds:.1f}" for name, seconds in slowest)
                + "."
            )
    if result.get("contact_effect_seconds") is not None:
        off = result["score_without_contact_effect"]["seconds"]
        lines.append(
            f"The contact-effect model adds {result['contact_effect_seconds']:.1f} s to score "
            f"(score with it switched off: {off:.1f} s)."
        )
    if result.get("per_branch_report_seconds") is not None:
        lines.append(f"Reports: {result['per_branch_report_seconds']:.2f} s per branch.")
    if result.get("lifetimes_only"):
        lt, clv = result["lifetimes_only"], result["pipeline_clv"]
        lines.append(
            f"lifetimes alone (summary, BG/NBD on every customer, Gamma-Gamma, CLV): "
            f"{lt['seconds']:.1f} s, {lt['peak_rss_mib']:,.0f} MiB; the pipeline's CLV path "
            f"on the same interim transactions (DuckDB summary, fits on weighted unique rows, "
            f"CLV): {clv['seconds']:.1f} s, {clv['peak_rss_mib']:,.0f} MiB: "
            f"{times(result['speedup_vs_lifetimes'])}. The whole pipeline through scores "
            f"(which also parses and validates the exports, builds features, trains and "
            f"evaluates churn models and writes watchlists) is "
            f"{times(result['pipeline_to_scores_vs_lifetimes'])} than lifetimes alone."
        )
    return "\n".join(lines) + "\n"


@click.command()
@click.option("--customers", default=1_000_000, show_default=True)
@click.option("--months", default=24, show_default=True)
@click.option("--branches", default=50, show_default=True)
@click.option("--seed", default=1, show_default=True)
@click.option(
    "--work-dir",
    type=click.Path(file_okay=False, path_type=Path),
    default=ROOT / "benchmarks" / "work",
    show_default=True,
)
@click.option(
    "--out-dir",
    type=click.Path(file_okay=False, path_type=Path),
    default=ROOT / "benchmarks" / "results",
    show_default=True,
)
@click.option("--stages", default="ingest,features,score,survey,report", show_default=True)
@click.option(
    "--lifetimes/--no-lifetimes",
    "with_lifetimes",
    default=True,
    show_default=True,
    help="Also time the lifetimes-only path on the same data.",
)
@click.option(
    "--reuse-bank",
    is_flag=True,
    help="Keep a bank of the same size and seed already generated in --work-dir (at ten "
    "million customers generation takes minutes); its stage outputs are removed first.",
)
def main(
    customers, months, branches, seed, work_dir, out_dir, stages, with_lifetimes, reuse_bank
) -> None:
    """Benchmark every stage at a given size and write JSON and markdown figures."""
    data, reports = work_dir / "data", work_dir / "reports"
    work_dir.mkdir(parents=True, exist_ok=True)
    env = {**os.environ, "CRM_DATA_DIR": str(data), "CRM_REPORT_DIR": str(reports)}
    sys.path.insert(0, str(ROOT))
    from pipeline.config import load_config
    from pipeline.periods import as_of_date, previous_period

    end_month = load_config(env={})["sample"]["end_month"]
    if reuse_bank and reusable_bank(data, customers, months, branches, seed):
        click.echo(f"reusing the generated bank in {data}; every stage runs from scratch")
        for earlier in (data / "interim", data / "processed", data / "runs", reports):
            shutil.rmtree(earlier, ignore_errors=True)
        generate = None
    else:
        click.echo(f"generating {customers:,} customers x {months} months in {data} ...")
        generate = timed(
            [
                *CRM,
                "sample",
                "--customers",
                str(customers),
                "--months",
                str(months),
                "--branches",
                str(branches),
                "--seed",
                str(seed),
                "--clean",
            ],
            env,
        )
    result = {
        "customers": customers,
        "months": months,
        "branches": branches,
        "period": end_month,
        "machine": platform.platform(),
        "cpus": os.cpu_count(),
        "generated_at": datetime.now(UTC).isoformat(timespec="seconds"),
        "sample_generation": generate,
        "stages": {},
    }
    logs = work_dir / "logs"
    logs.mkdir(exist_ok=True)
    # features twice: the month before the period as a first run (it backfills the KPI
    # history's months), then the period as a monthly run (that history stored)
    runs = []
    for stage in stages.split(","):
        if stage == "ingest":
            runs.append(("ingest", ["ingest"]))
        elif stage == "features":
            runs.append(("features", ["features", "--period", previous_period(end_month)]))
            runs.append(("features_monthly", ["features", "--period", end_month]))
        else:
            runs.append((stage, [stage, "--period", end_month]))
    for name, args in runs:
        log = logs / f"{name}.log"
        log.unlink(missing_ok=True)
        click.echo(f"{name} ...")
        figures = timed([*CRM, "--log-file", str(log), *args], env)
        result["stages"][name] = {**figures, "steps": step_seconds(log)}
        click.echo(f"  {figures}")
    if "score" in result["stages"]:
        # what the contact-effect model adds to score: the stage again with it switched off
        # (last, so the stages above ran with the default config)
        off = work_dir / "contact_effect_off.yml"
        off.write_text("contact_effect: {enabled: false}\n", encoding="utf-8")
        click.echo("score without the contact-effect model ...")
        without = timed([*CRM, "--config", str(off), "score", "--period", end_month], env)
        result["score_without_contact_effect"] = without
        result["contact_effect_seconds"] = round(
            result["stages"]["score"]["seconds"] - without["seconds"], 2
        )
    if "ingest" in result["stages"]:
        # last: a monthly delivery, parsed and combined with the months already parsed
        delivered = deliver_anew(data, end_month)
        click.echo(f"ingest, monthly ({', '.join(delivered)} delivered anew) ...")
        log = logs / "ingest_monthly.log"
        log.unlink(missing_ok=True)
        figures = timed([*CRM, "--log-file", str(log), "ingest"], env)
        result["stages"]["ingest_monthly"] = {**figures, "steps": step_seconds(log)}
        result["delivered_monthly"] = delivered
        click.echo(f"  {figures}")
    import duckdb

    txns_path = data / "interim" / "transactions.parquet"
    with duckdb.connect() as con:
        result["transactions"] = con.execute(
            "SELECT count(*) FROM read_parquet(?)", [str(txns_path)]
        ).fetchone()[0]
    result["pipeline_to_scores_seconds"] = round(
        sum(result["stages"][s]["seconds"] for s in PIPELINE_TO_SCORES if s in result["stages"]), 2
    )
    if all(s in result["stages"] for s in MONTHLY_TO_SCORES):
        result["monthly_to_scores_seconds"] = round(
            sum(result["stages"][s]["seconds"] for s in MONTHLY_TO_SCORES), 2
        )
    if "report" in result["stages"]:
        n_reports = len(list((reports / "build" / end_month).glob("*/branch-*.pdf")))  # per locale
        result["per_branch_report_seconds"] = round(
            result["stages"]["report"]["seconds"] / max(n_reports, 1), 3
        )
    if with_lifetimes:
        click.echo("lifetimes-only path ...")
        result["lifetimes_only"] = timed(
            [sys.executable, "-c", LIFETIMES_ONLY, str(txns_path), str(as_of_date(end_month))], env
        )
        click.echo("the pipeline's CLV path ...")
        result["pipeline_clv"] = timed([sys.executable, "-c", PIPELINE_CLV, end_month], env)
        result["speedup_vs_lifetimes"] = round(
            result["lifetimes_only"]["seconds"] / result["pipeline_clv"]["seconds"], 2
        )
        result["pipeline_to_scores_vs_lifetimes"] = round(
            result["lifetimes_only"]["seconds"] / max(result["pipeline_to_scores_seconds"], 1e-9), 2
        )
    out_dir.mkdir(parents=True, exist_ok=True)
    stem = f"bench-{customers}"
    (out_dir / f"{stem}.json").write_text(json.dumps(result, indent=2) + "\n")
    (out_dir / f"{stem}.md").write_text(markdown(result))
    click.echo(markdown(result))
    click.echo(f"figures: {out_dir / stem}.json and .md")


if __name__ == "__main__":
    main()
