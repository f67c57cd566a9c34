"""`crm run` end to end on the sample bank: the same period run twice into one data
root, and once into a fresh root, gives byte-identical processed outputs and reports."""

from __future__ import annotations

import json
import shutil
import subprocess
from pathlib import Path

import pandas as pd
import pytest
from click.testing import CliRunner

from pipeline.catalog import Catalog
from pipeline.cli import cli
from pipeline.drift import KEY_FEATURES, PSI_SHIFT, SCORE_MEASURES

pytestmark = pytest.mark.slow


def _snapshot(root: Path) -> dict[str, bytes]:
    """Every visible file under `root` by relative path."""
    return {
        str(p.relative_to(root)): p.read_bytes()
        for p in sorted(root.rglob("*"))
        if p.is_file() and not p.name.startswith(".")
    }


def _pdf_text(path: Path) -> str:
    done = subprocess.run(
        ["pdftotext", "-layout", str(path), "-"], capture_output=True, text=True, check=True
    )
    return done.stdout


def _run(args: list[str], period: str) -> str:
    done = CliRunner().invoke(cli, [*args, "run", "--period", period])
    assert done.exit_code == 0, done.output
    return done.output


def test_run_twice_and_into_a_fresh_root_gives_the_same_bytes(sample_bank_run, tmp_path):
    bank = sample_bank_run
    catalog = Catalog(bank.data_dir, bank.report_dir)
    processed = catalog.processed_dir(bank.period)
    reports = catalog.report_build_dir(bank.period)
    first = (_snapshot(processed), _snapshot(reports))
    assert "customer_scores.parquet" in first[0] and "en/network.pdf" in first[1]
    assert "branch_history.parquet" in first[0] and "en/downloads/watchlist-B01.xlsx" in first[1]
    assert sum(name.endswith(".pdf") for name in first[1]) == 3  # network + 2 branches

    again = _run(bank.args, bank.period)
    assert "1 file(s) parsed" not in again and "0 file(s) parsed" in again  # parts reused
    second = (_snapshot(processed), _snapshot(reports))

    # A fresh root: no parts cache, no previous outputs, another path.
    fresh = Catalog(tmp_path / "data", tmp_path / "reports")
    shutil.copytree(catalog.raw_dir("sample"), fresh.raw_dir("sample"))
    _run(["--data-dir", str(fresh.data_dir), "--report-dir", str(fresh.report_dir)], bank.period)
    third = (
        _snapshot(fresh.processed_dir(bank.period)),
        _snapshot(fresh.report_build_dir(bank.period)),
    )

    for label, other in (("same root", second), ("fresh root", third)):
        for kind, before, after in (
            ("processed", first[0], other[0]),
            ("report", first[1], other[1]),
        ):
            assert sorted(after) == sorted(before), (label, kind)
            differ = [name for name in before if before[name] != after[name]]
            assert differ == [], (label, kind, differ)
    if shutil.which("pdftotext"):  # the text a reader sees, as the issue words it
        pdfs = [n for n in first[1] if n.endswith(".pdf")]
        texts = {n: _pdf_text(reports / n) for n in pdfs}
        assert all(t.strip() for t in texts.values())
        assert len(set(texts.values())) == len(pdfs)  # each report its own text
        for n in pdfs:
            assert _pdf_text(fresh.report_build_dir(bank.period) / n) == texts[n]


def test_run_manifest_records_inputs_outputs_and_timings(sample_bank_run):
    bank = sample_bank_run
    catalog = Catalog(bank.data_dir, bank.report_dir)
    manifest = json.loads(catalog.run_manifest(bank.period).read_text(encoding="utf-8"))
    assert [t["stage"] for t in manifest["timings"]] == [
        "ingest",
        "features",
        "score",
        "survey",
        "report",
    ]
    assert manifest["locales"] == ["en"]  # no --locale: the config's
    written = {Path(o["path"]).name for o in manifest["outputs"]}
    assert {"customer_scores.parquet", "model_card.json", "index.html", "network.pdf"} <= written
    assert not any(
        Path(o["path"]).is_relative_to(catalog.data_dir / "runs") for o in manifest["outputs"]
    )


def test_model_card_and_reports_carry_drift_against_the_previous_period(sample_bank_run):
    bank = sample_bank_run
    catalog = Catalog(bank.data_dir, bank.report_dir)
    card = json.loads(catalog.model_card(bank.period).read_text(encoding="utf-8"))
    drift = card["drift"]
    assert (drift["previous_period"], drift["threshold"], drift["previous_scores"]) == (
        "2026-09",
        0.25,
        False,
    )
    features = [m for m in drift["measures"] if m["kind"] == "feature"]
    scores = [m for m in drift["measures"] if m["kind"] == "score"]
    assert [m["measure"] for m in features] == list(KEY_FEATURES)
    # The sample bank has no regime change between two month ends: nothing shifts. Days
    # since the last RM contact move more (a branch's campaign month calls a fifth of its
    # customers), yet below the threshold.
    steady = [m for m in features if m["measure"] != "days_since_rm_contact"]
    assert all(0 <= m["psi"] < 0.1 for m in steady) and drift["shifted"] == []
    assert [(m["measure"], m["psi"], m["reason"]) for m in scores] == [
        (name, None, "no_previous") for name in SCORE_MEASURES
    ]
    reports = catalog.report_locale_dir(bank.period, "en")
    network = (reports / "network.html").read_text(encoding="utf-8")
    assert "Drift against the previous period (PSI)" in network
    assert "Days since RM contact" in network and "no previous period" in network
    # a branch head reads what it means: nothing moved markedly since last month
    branch = (reports / "branch-B01.html").read_text(encoding="utf-8")
    assert f"None of the {len(drift['measures'])} measures moved markedly since Sep 2026" in branch


def test_scores_drift_once_the_previous_period_is_scored(sample_bank_run, tmp_path):
    bank = sample_bank_run
    root = Catalog(tmp_path / "data", tmp_path / "reports")
    shutil.copytree(bank.data_dir, root.data_dir)
    args = ["--data-dir", str(root.data_dir), "--report-dir", str(root.report_dir)]
    for step in (["features", "--period", "2026-09"], ["score", "--period", "2026-09"]):
        done = CliRunner().invoke(cli, [*args, *step])
        assert done.exit_code == 0, done.output
    done = CliRunner().invoke(cli, [*args, "score", "--period", bank.period])
    assert done.exit_code == 0, done.output
    drift = json.loads(root.model_card(bank.period).read_text(encoding="utf-8"))["drift"]
    assert drift["previous_scores"] is True
    by = {m["measure"]: m for m in drift["measures"]}
    assert 0 <= by["p_alive"]["psi"] < PSI_SHIFT and 0 <= by["clv"]["psi"] < PSI_SHIFT
    # no churn model when the bank has too few churners: then nothing to compare with
    previous = pd.read_parquet(root.customer_scores("2026-09"))
    if previous["churn_probability"].isna().all():
        assert by["churn_probability"]["reason"] == "no_previous_values"
    else:
        assert by["churn_probability"]["psi"] >= 0
    # Features drift against the previous period's stored mart (the one its scores came
    # from), which equals the mart rebuilt at that month end when the fixture had none...
    rebuilt = json.loads(
        Catalog(bank.data_dir, bank.report_dir).model_card(bank.period).read_text()
    )
    feature_psi = {
        m["measure"]: m["psi"] for m in rebuilt["drift"]["measures"] if m["kind"] == "feature"
    }
    assert {name: by[name]["psi"] for name in feature_psi} == feature_psi
    # ...and it is that stored mart that is read: doctor it and AUM shifts.
    stored = pd.read_parquet(root.customer_features("2026-09"))
    stored.assign(aum=stored["aum"] * 10).to_parquet(root.customer_features("2026-09"))
    done = CliRunner().invoke(cli, [*args, "score", "--period", bank.period])
    assert done.exit_code == 0, done.output
    drift = json.loads(root.model_card(bank.period).read_text(encoding="utf-8"))["drift"]
    assert drift["shifted"] == ["aum"]
