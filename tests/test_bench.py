"""The benchmark runs end to end at a small size and writes its figures (no timing asserted)."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]


@pytest.mark.slow
def test_benchmark_smoke_run_writes_figures(tmp_path: Path) -> None:
    out = tmp_path / "results"
    subprocess.run(
        [
            sys.executable,
            str(ROOT / "benchmarks" / "run.py"),
            "--customers",
            "1500",
            "--months",
            "12",
            "--branches",
            "2",
            "--work-dir",
            str(tmp_path / "work"),
            "--out-dir",
            str(out),
            "--stages",
            "ingest,features,score",
        ],
        check=True,
        capture_output=True,
        text=True,
        cwd=ROOT,
    )
    figures = json.loads((out / "bench-1500.json").read_text())
    # features: the month before as a first run, then the period as a monthly run; ingest
    # again at the end with the newest month's files and the snapshots delivered anew
    stages = ["ingest", "features", "features_monthly", "score", "ingest_monthly"]
    assert list(figures["stages"]) == stages
    assert figures["delivered_monthly"] == [
        f"transactions_{figures['period']}.csv",
        f"balances_{figures['period']}.csv",
        "customers.csv",
        "rm_contacts.csv",
    ]
    monthly_log = (tmp_path / "work" / "logs" / "ingest_monthly.log").read_text()
    assert "; 4 file(s) parsed, " in monthly_log
    assert figures["monthly_to_scores_seconds"] == pytest.approx(
        sum(figures["stages"][s]["seconds"] for s in stages[2:]), abs=0.01
    )
    assert figures["transactions"] > 0
    for stage in figures["stages"].values():
        assert stage["seconds"] > 0 and stage["peak_rss_mib"] > 0
    assert figures["lifetimes_only"]["seconds"] > 0 and figures["pipeline_clv"]["seconds"] > 0
    assert figures["speedup_vs_lifetimes"] == pytest.approx(
        figures["lifetimes_only"]["seconds"] / figures["pipeline_clv"]["seconds"], abs=0.01
    )
    # each stage's step timings from its log, slowest first, listed in the markdown
    steps = figures["stages"]["score"]["steps"]
    assert {"summaries", "profit", "watchlists", "call_lists"} <= set(steps)
    assert list(steps.values()) == sorted(steps.values(), reverse=True)
    assert "| ingest |" in (out / "bench-1500.md").read_text()
    assert "Slowest steps of score" in (out / "bench-1500.md").read_text()

    # a second run on the same bank keeps the exports but runs every stage from scratch
    work = tmp_path / "work" / "data"
    export = next((work / "raw" / "sample").rglob("*.csv"))
    written = export.stat().st_mtime_ns
    (work / "interim" / "left-from-before").write_text("")
    subprocess.run(
        [
            sys.executable,
            str(ROOT / "benchmarks" / "run.py"),
            *("--customers", "1500", "--months", "12", "--branches", "2"),
            *("--work-dir", str(tmp_path / "work"), "--out-dir", str(out)),
            *("--stages", "ingest,features", "--no-lifetimes", "--reuse-bank"),
        ],
        check=True,
        capture_output=True,
        text=True,
        cwd=ROOT,
    )
    again = json.loads((out / "bench-1500.json").read_text())
    assert again["sample_generation"] is None
    assert list(again["stages"]) == ["ingest", "features", "features_monthly", "ingest_monthly"]
    assert export.stat().st_mtime_ns == written
    assert not (work / "interim" / "left-from-before").exists()
    assert (work / "interim" / "transactions.parquet").is_file()
