"""End to end on the generated sample bank: sample -> ingest -> features -> survey through
the CLI, then the survey stage's figures against the generator's ground truth."""

from __future__ import annotations

import math

import pandas as pd
import pytest
from click.testing import CliRunner

from pipeline.catalog import Catalog
from pipeline.cli import cli
from pipeline.io import read_json

pytestmark = pytest.mark.slow
PERIOD = "2026-10"


@pytest.fixture(scope="module")
def bank(tmp_path_factory):
    root = tmp_path_factory.mktemp("survey_bank")
    data = root / "data"
    base = ["--data-dir", str(data), "--report-dir", str(root / "reports")]
    runner = CliRunner()
    for args in (["sample", "--customers", "3000", "--clean"], ["ingest"],
                 ["features", "--period", PERIOD], ["survey", "--period", PERIOD]):
        result = runner.invoke(cli, [*base, *args], catch_exceptions=False)
        assert result.exit_code == 0, result.output
    catalog = Catalog(data, root / "reports")
    return runner, base, catalog, read_json(catalog.survey_summary(PERIOD))


def test_both_surveys_have_a_complete_result(bank):
    _, _, catalog, summary = bank
    for audience in ("customer", "staff"):
        s = summary["surveys"][audience]
        assert s["status"] == "ok" and s["n_responses"] > 30
        assert all(r["status"] == "ok" for r in s["reliability"].values())
        assert s["scale_adequacy"]["status"] == "ok"
        assert s["nps"]["network"]["n"] == s["n_responses"]
        assert s["ipa"]["status"] == "ok"
    cust = summary["surveys"]["customer"]
    # the score stage did not run here: score breakdowns say so, feature ones are there
    assert cust["linkage"]["not_available"] == {
        "churn_band": "not available: scores not computed",
        "clv_decile": "not available: scores not computed"}
    assert cust["linkage"]["n_matched_features"] > 0
    assert {"tier", "rfm_segment"} <= set(cust["dimensions"])
    responses = pd.read_parquet(catalog.interim_table("survey_responses"))
    dates = pd.to_datetime(responses["response_date"])
    assert cust["n_responses"] == int(((dates >= "2025-11-01") & (dates <= "2026-10-31")).sum())


def test_recovers_the_generators_truth(bank):
    _, _, catalog, summary = bank
    truth = read_json(catalog.ground_truth_dir() / "params.json")
    cust = summary["surveys"]["customer"]
    # the generator writes each item from a dimension latent with loading 0.75 plus
    # noise: every dimension should be an acceptable scale
    assert cust["flagged_dimensions"] == []
    # anonymous share: binomial around the generator's share (3 standard errors)
    p, n = truth["survey"]["anonymous_share"], cust["n_responses"]
    assert abs(cust["share_anonymous"] - p) < 3 * math.sqrt(p * (1 - p) / n)
    # the worse branch is shifted down on responsiveness and empathy
    worse = truth["worse_branch"]
    branches = cust["dimensions"]["branch_id"]
    assert worse in branches
    for dim, spec in truth["surveys"]["customer"].items():
        if spec["worse_branch_shift"] < 0:
            others = [b[dim]["mean"] for k, b in branches.items() if k != worse]
            assert branches[worse][dim]["mean"] < min(others), dim


def test_rerun_writes_the_same_bytes(bank):
    runner, base, catalog, _ = bank
    folder = catalog.processed_dir(PERIOD)
    before = {p.name: p.read_bytes() for p in folder.glob("survey_*")}
    result = runner.invoke(cli, [*base, "survey", "--period", PERIOD], catch_exceptions=False)
    assert result.exit_code == 0
    assert {p.name: p.read_bytes() for p in folder.glob("survey_*")} == before
    assert len(before) == 14
