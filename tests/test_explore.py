"""The notebooks' shared helpers (pipeline.explore) on hand-made frames, and against the
survey stage's own numbers on the sample bank."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest

from pipeline import explore
from pipeline.errors import InputError

TIERS = ["mass", "affluent", "wealth"]


def _features() -> pd.DataFrame:
    return pd.DataFrame(
        {
            "customer_id": ["c1", "c2", "c3", "c4"],
            "tier": ["mass", "mass", "affluent", "mass"],
            "rfm_segment": ["Lost", "Champions", "Lost", "Lost"],
            "aum": [100.0, 300.0, 600.0, 0.0],
            "dormant": [True, False, False, True],
            "rm_id": [None, None, "R1", "R2"],
        }
    )


def test_tier_summary_by_hand() -> None:
    t = explore.tier_summary(_features(), TIERS)
    assert list(t.index) == TIERS
    assert list(t["customers"]) == [3, 1, 0]
    assert list(t["customer_share"]) == [0.75, 0.25, 0.0]
    assert list(t["aum"]) == [400.0, 600.0, 0.0]
    assert list(t["aum_share"]) == [0.4, 0.6, 0.0]
    assert t.loc["mass", "mean_aum"] == pytest.approx(400 / 3)
    assert t.loc["mass", "median_aum"] == 100.0
    assert t.loc["mass", "dormant_share"] == pytest.approx(2 / 3)
    assert t.loc["mass", "has_rm_share"] == pytest.approx(1 / 3)
    assert t.loc["affluent", "has_rm_share"] == 1.0
    assert math.isnan(t.loc["wealth", "mean_aum"])  # nobody: no mean, not zero


def test_segment_by_tier_counts_and_aum_with_totals() -> None:
    counts = explore.segment_by_tier(_features(), TIERS)
    assert list(counts.columns) == [*TIERS, "total"]
    assert list(counts.index) == ["Lost", "Champions", "total"]  # by size, total last
    assert counts.loc["Lost"].tolist() == [2, 1, 0, 3]
    assert counts.loc["total"].tolist() == [3, 1, 0, 4]
    aum = explore.segment_by_tier(_features(), TIERS, value="aum")
    assert aum.loc["Lost"].tolist() == [100.0, 600.0, 0.0, 700.0]
    assert aum.loc["total", "total"] == 1000.0
    with pytest.raises(ValueError, match="customers or aum"):
        explore.segment_by_tier(_features(), TIERS, value="clv")


def test_holdout_by_frequency_reads_the_card() -> None:
    card = {
        "clv_validation": {
            "by_calibration_frequency": [
                {
                    "calibration_frequency": "0",
                    "customers": 10,
                    "actual_mean": 1.0,
                    "model_mean": 1.5,
                    "baseline_mean": 0.0,
                },
                {
                    "calibration_frequency": "7+",
                    "customers": 4,
                    "actual_mean": 9.0,
                    "model_mean": 8.0,
                    "baseline_mean": 9.5,
                },
            ]
        }
    }
    table = explore.holdout_by_frequency(card)
    assert table["calibration_frequency"].tolist() == ["0", "7+"]
    assert table["model_minus_actual"].tolist() == [0.5, -1.0]
    assert explore.holdout_by_frequency({"clv_validation": {"status": "too_short"}}).empty


def test_driver_correlations_by_hand() -> None:
    scores = pd.DataFrame(
        {
            "a": [1.0, 2.0, 3.0, 4.0],
            "b": [4.0, 3.0, 2.0, np.nan],
            "flat": [2.0, 2.0, 2.0, 2.0],
            "overall": [1.0, 2.0, 3.0, 5.0],
        }
    )
    table = explore.driver_correlations(scores, ["a", "b", "flat"], ["overall"]).set_index("driver")
    x, y = np.array([1, 2, 3, 4.0]), np.array([1, 2, 3, 5.0])
    r = ((x - x.mean()) * (y - y.mean())).sum() / math.sqrt(
        ((x - x.mean()) ** 2).sum() * ((y - y.mean()) ** 2).sum()
    )
    assert table.loc["a", "pearson_r"] == pytest.approx(r)
    assert table.loc["a", "spearman_rho"] == pytest.approx(1.0)  # same order
    assert table.loc["b", "n"] == 3 and table.loc["b", "pearson_r"] == pytest.approx(-1.0)
    assert math.isnan(table.loc["flat", "pearson_r"])  # no variance: undefined, not 0


def test_notebook_period_from_the_environment(tmp_path) -> None:
    env = {"CRM_DATA_DIR": str(tmp_path), "CRM_PERIOD": "2026-09"}
    _, catalog, period = explore.notebook_period(env)
    assert (catalog.data_dir, period) == (tmp_path, "2026-09")
    with pytest.raises(InputError, match="no period given"):
        explore.notebook_period({"CRM_DATA_DIR": str(tmp_path)})  # nothing ingested there


@pytest.mark.slow
def test_driver_correlations_match_the_survey_stage_importance(sample_bank_run) -> None:
    """IPA importance is Pearson r with the overall item: the notebook's table agrees."""
    from pipeline.catalog import Catalog
    from pipeline.config import load_config, survey_definition_path
    from pipeline.periods import as_of_date
    from pipeline.survey.definition import load_definition
    from pipeline.survey.linkage import responses_in_window
    from pipeline.survey.scores import recode, respondent_scores

    bank = sample_bank_run
    catalog = Catalog(bank.data_dir, bank.report_dir)
    cfg = load_config(env={})
    definition = load_definition(survey_definition_path(cfg["survey"]["customer_definition"]))
    responses = pd.read_parquet(catalog.interim_table(definition.table))
    window = responses_in_window(responses, as_of_date(bank.period), cfg["survey"]["window_months"])
    scores = respondent_scores(recode(window, definition), definition)
    drivers = [d for d in definition.dimensions if d not in definition.outcome_dimensions]
    mine = explore.driver_correlations(scores, drivers, [definition.overall_item])
    ipa = pd.read_parquet(catalog.survey_output(bank.period, "ipa"))
    network = ipa[ipa["group_type"] == "network"].set_index("dimension")["importance"]
    assert len(network) == len(drivers)
    for _, row in mine.iterrows():
        assert row["pearson_r"] == pytest.approx(network[row["driver"]], abs=1e-9)
