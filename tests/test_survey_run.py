"""`run_survey` over a small catalog: the window, linkage, outputs, determinism, and a
summary that says what is not available instead of inventing it."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from pipeline.catalog import Catalog
from pipeline.config import CONFIG_DIR, load_config
from pipeline.errors import InputError
from pipeline.io import read_json, write_parquet
from pipeline.survey import load_definition
from pipeline.survey.scores import SMALL
from pipeline.survey.stage import run_survey

PERIOD = "2026-10"


def _answers(definition, n: int, rng: np.random.Generator) -> pd.DataFrame:
    """Likert answers driven by one latent mood, reverse items answered reversed."""
    mood = rng.normal(size=n)
    cols = {}
    lo, hi = definition.scale_min, definition.scale_max
    for item in definition.all_items:
        if item == definition.nps_item:
            cols[item] = np.clip(np.round(7 + 2.5 * mood + rng.normal(size=n)), 0, 10)
            continue
        x = np.clip(np.round(3 + mood + rng.normal(scale=0.8, size=n)), lo, hi)
        cols[item] = lo + hi - x if item in definition.reverse_coded else x
    return pd.DataFrame(cols)


@pytest.fixture
def bank(data_root):
    cfg = load_config()
    catalog = Catalog.from_config(cfg)
    rng = np.random.default_rng(11)
    cust_def = load_definition(CONFIG_DIR / "surveys" / "customer_satisfaction.yml")
    n = 120
    dates = pd.to_datetime("2025-10-15") + pd.to_timedelta(rng.integers(0, 420, n), unit="D")
    responses = pd.concat(
        [
            pd.DataFrame(
                {
                    "response_id": [f"R{i:04d}" for i in range(n)],
                    "branch_id": rng.choice(["B01", "B02"], n, p=[0.6, 0.4]),
                    "response_date": dates.date,
                    "customer_id": [f"C{i:05d}" if i % 4 else None for i in range(n)],
                }
            ),
            _answers(cust_def, n, rng),
        ],
        axis=1,
    )
    responses.loc[5, "branch_id"] = "B09"  # a branch with a single answer
    responses.loc[[3, 5], "response_date"] = pd.Timestamp("2026-05-01").date()
    responses.loc[7, "response_date"] = pd.Timestamp("2026-11-01").date()  # after the as-of
    write_parquet(responses, catalog.interim_table("survey_responses"))
    staff_def = load_definition(CONFIG_DIR / "surveys" / "staff_engagement.yml")
    staff = pd.concat(
        [
            pd.DataFrame(
                {
                    "response_id": [f"S{i:03d}" for i in range(40)],
                    "branch_id": ["B01"] * 25 + ["B02"] * 15,
                    "response_date": pd.Timestamp("2026-06-30").date(),
                    "role": ["teller", "rm"] * 20,
                }
            ),
            _answers(staff_def, 40, rng),
        ],
        axis=1,
    )
    write_parquet(staff, catalog.interim_table("staff_survey_responses"))
    ids = [f"C{i:05d}" for i in range(n)]
    write_parquet(
        pd.DataFrame(
            {
                "customer_id": ids,
                "branch_id": "B01",
                "tier": rng.choice(["mass", "affluent"], n),
                "rfm_segment": "Champions",
            }
        ),
        catalog.customer_features(PERIOD),
    )
    return cfg, catalog, responses


def test_run_writes_tables_and_summary(bank):
    cfg, catalog, responses = bank
    out = run_survey(cfg, catalog, PERIOD)
    assert "customer survey customer_satisfaction" in out
    assert "not available: scores not computed" in out
    summary = read_json(catalog.survey_summary(PERIOD))
    assert summary["window_start"] == "2025-11-01" and summary["as_of_date"] == "2026-10-31"
    cust = summary["surveys"]["customer"]
    dates = pd.to_datetime(responses["response_date"])
    in_window = (dates >= "2025-11-01") & (dates <= "2026-10-31")
    assert cust["n_responses"] == in_window.sum()
    assert cust["n_anonymous"] == (in_window & responses["customer_id"].isna()).sum()
    assert cust["linkage"]["not_available"]["churn_band"] == "not available: scores not computed"
    assert not in_window[7] and cust["n_responses"] < len(responses)
    small = {"group_type": "branch_id", "group": "B09", "what": "all", "reason": SMALL}
    assert small in cust["suppressed"]
    assert "B09" not in cust["dimensions"]["branch_id"]
    assert set(cust["reliability"]) == {
        "reliability",
        "responsiveness",
        "assurance",
        "empathy",
        "digital_service",
    }
    assert cust["nps"]["network"]["n"] == in_window.sum()
    assert set(cust["dimensions"]) == {"network", "branch_id", "tier", "rfm_segment"}
    staff = summary["surveys"]["staff"]
    assert staff["name"] == "staff_engagement" and staff["n_responses"] == 40
    assert set(staff["nps"]["by_group"]["branch_id"]) == {"B01", "B02"}
    for name in ("reliability", "items", "dimensions", "nps", "ipa", "servqual", "linkage"):
        table = pd.read_parquet(catalog.survey_output(PERIOD, name))
        assert (table["survey"] == "customer_satisfaction").all()
    staff_dims = pd.read_parquet(catalog.survey_output(PERIOD, "staff_dimensions"))
    assert set(staff_dims["group_type"]) == {"network", "branch_id", "role"}
    assert not catalog.survey_output(PERIOD, "staff_linkage").exists()
    linkage = pd.read_parquet(catalog.survey_output(PERIOD, "linkage"))
    assert set(linkage["group_type"]) == {"tier", "rfm_segment"}
    assert (linkage["n_nps"] >= cfg["survey"]["min_group_size"]).all()


def test_run_is_deterministic(bank):
    cfg, catalog, _ = bank
    run_survey(cfg, catalog, PERIOD)
    first = {p.name: p.read_bytes() for p in catalog.processed_dir(PERIOD).glob("survey_*")}
    run_survey(cfg, catalog, PERIOD)
    second = {p.name: p.read_bytes() for p in catalog.processed_dir(PERIOD).glob("survey_*")}
    assert first == second and len(first) == 14


def test_scores_add_churn_band_and_clv_decile(bank):
    cfg, catalog, responses = bank
    ids = [f"C{i:05d}" for i in range(len(responses))]
    write_parquet(
        pd.DataFrame(
            {
                "customer_id": ids,
                "branch_id": "B01",
                "churn_band": ["low", "high"] * (len(ids) // 2),
                "clv_decile": [1, 10] * (len(ids) // 2),
            }
        ),
        catalog.customer_scores(PERIOD),
    )
    run_survey(cfg, catalog, PERIOD)
    linkage = pd.read_parquet(catalog.survey_output(PERIOD, "linkage"))
    assert set(linkage["group_type"]) == {"tier", "rfm_segment", "churn_band", "clv_decile"}
    assert linkage.loc[linkage["group_type"] == "clv_decile", "group"].tolist() == ["1", "10"]
    summary = read_json(catalog.survey_summary(PERIOD))
    assert summary["surveys"]["customer"]["linkage"]["not_available"] == {}


def test_scores_without_a_linked_column_are_an_error_naming_the_file_and_column(bank):
    cfg, catalog, responses = bank
    ids = [f"C{i:05d}" for i in range(len(responses))]
    scores = pd.DataFrame({"customer_id": ids, "churn_band": "low"})  # no clv_decile
    write_parquet(scores, catalog.customer_scores(PERIOD))
    expected = r"customer_scores.parquet: missing column\(s\) clv_decile"
    with pytest.raises(InputError, match=expected):
        run_survey(cfg, catalog, PERIOD)


def test_bad_answer_is_an_error_naming_file_row_and_column(bank):
    cfg, catalog, responses = bank
    responses.loc[3, "rel2"] = 9
    write_parquet(responses, catalog.interim_table("survey_responses"))
    with pytest.raises(InputError, match=r"survey_responses.parquet: row R0003, column rel2"):
        run_survey(cfg, catalog, PERIOD)


def test_no_questionnaire_is_said_in_the_summary_not_an_error(data_root):
    """A bank without questionnaires (Berka, a card-spend export): the summary says each
    survey is not available and no survey table is written; the reports say so."""
    cfg = load_config()
    catalog = Catalog.from_config(cfg)
    said = run_survey(cfg, catalog, PERIOD)
    assert "no questionnaire in this bank's exports" in said
    summary = read_json(catalog.survey_summary(PERIOD))
    assert {a: s["status"] for a, s in summary["surveys"].items()} == {
        "customer": "not available: survey_responses not ingested "
        "(interim/survey_responses.parquet)",
        "staff": "not available: staff_survey_responses not ingested "
        "(interim/staff_survey_responses.parquet)",
    }  # the path inside the data root: a summary's bytes do not depend on where it is
    assert not list(catalog.processed_dir(PERIOD).glob("survey_*.parquet"))
