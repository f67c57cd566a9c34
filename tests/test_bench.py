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
    assert list(figures["stages"]) == ["ingest", "features", "score"]
    assert figures["transactions"] > 0
    for stage in figures["stages"].values():
        assert stage["seconds"] > 0 and stage["peak_rss_mib"] > 0
    assert figures["lifetimes_only"]["seconds"] > 0 and figures["pipeline_clv"]["seconds"] > 0
    assert figures["speedup_vs_lifetimes"] == pytest.approx(
        figures["lifetimes_only"]["seconds"] / figures["pipeline_clv"]["seconds"], abs=0.01
    )
    assert "| ingest |" in (out / "bench-1500.md").read_text()
