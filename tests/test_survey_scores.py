"""Scores on hand-made frames: reverse coding, dimension means by group, NPS and its
interval, IPA quadrants, SERVQUAL gaps, suppression, anonymous responses and linkage."""

from __future__ import annotations

import math
from datetime import date

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from pipeline.survey import analyse_survey, parse_definition
from pipeline.survey.linkage import link_customers, responses_in_window, window_start
from pipeline.survey.scores import (
    COMPLEMENTARY,
    SMALL,
    ipa_points,
    nps_estimate,
    recode,
    respondent_scores,
    withheld,
)

Z95 = 1.959963984540054  # standard normal 97.5% quantile

DEF = parse_definition({
    "name": "mini", "table": "survey_responses", "scale": {"min": 1, "max": 5},
    "dimensions": {"speed": ["s1", "s2"], "care": ["c1", "c2", "c3"]},
    "reverse_coded": ["s2", "c3"],
    "nps_item": "nps", "overall_item": "overall",
    "expectation_perception": {"c1": "e1"},
})


def test_reverse_coding_on_1_to_5_is_6_minus_x():
    frame = pd.DataFrame({"s1": [1, 5], "s2": [1, 4], "c1": [2, 2], "c2": [3, np.nan],
                          "c3": [5, 2], "nps": [0, 10], "overall": [2, 5], "e1": [3, 3]})
    recoded = recode(frame, DEF)
    assert recoded["s2"].tolist() == [5, 2]
    assert recoded["c3"].tolist() == [1, 4]
    assert recoded["s1"].tolist() == [1, 5] and recoded["nps"].tolist() == [0, 10]
    scores = respondent_scores(recoded, DEF)
    assert scores["speed"].tolist() == [3.0, 3.5]  # (1+5)/2, (5+2)/2
    assert scores["care"].tolist() == pytest.approx([2.0, 3.0])  # (2+3+1)/3; (2+4)/2 answered
    assert scores["overall"].tolist() == [2, 5]


@settings(deadline=None)
@given(st.lists(st.integers(1, 5), min_size=1, max_size=30))
def test_reverse_coding_is_an_involution_within_the_scale(values):
    frame = pd.DataFrame({c: values for c in DEF.all_items})
    twice = recode(recode(frame, DEF), DEF)
    assert (twice == frame.astype(float)).all().all()
    assert recode(frame, DEF)["s2"].between(1, 5).all()


def test_nps_and_interval_by_hand():
    # 5 promoters (9-10), 3 passives (7-8), 4 detractors (0-6) of 12
    out = nps_estimate(promoters=5, detractors=4, n=12)
    se = math.sqrt((5 / 12 + 4 / 12 - (1 / 12) ** 2) / 12)
    assert out["nps"] == pytest.approx(100 / 12, abs=1e-12)
    assert out["nps_ci_low"] == pytest.approx(100 * (1 / 12 - Z95 * se), abs=1e-9)
    assert out["nps_ci_high"] == pytest.approx(100 * (1 / 12 + Z95 * se), abs=1e-9)
    # all promoters: zero variance, interval collapses; clipped to the possible range
    assert nps_estimate(10, 0, 10) == {"nps": 100.0, "nps_ci_low": 100.0, "nps_ci_high": 100.0}
    assert nps_estimate(9, 0, 10)["nps_ci_high"] == 100.0


@settings(deadline=None)
@given(st.integers(1, 500), st.data())
def test_nps_interval_contains_the_estimate(n, data):
    prom = data.draw(st.integers(0, n))
    det = data.draw(st.integers(0, n - prom))
    out = nps_estimate(prom, det, n)
    assert -100 <= out["nps_ci_low"] <= out["nps"] <= out["nps_ci_high"] <= 100


def test_ipa_quadrants_by_grand_means():
    importance = pd.Series({"a": 0.8, "b": 0.6, "c": 0.2, "d": 0.4})  # mean 0.5
    performance = pd.Series({"a": 3.0, "b": 4.0, "c": 2.0, "d": 5.0})  # mean 3.5
    points = ipa_points(importance, performance).set_index("dimension")
    assert points["quadrant"].to_dict() == {
        "a": "Concentrate here", "b": "Keep up the good work",
        "c": "Low priority", "d": "Possible overkill",
    }
    assert points["importance_line"].iloc[0] == pytest.approx(0.5)
    assert points["performance_line"].iloc[0] == pytest.approx(3.5)


def _frame(n_a: int, n_b: int) -> pd.DataFrame:
    """Branch A answers follow a pattern; branch B has too few answers to report."""
    n = n_a + n_b
    base = np.resize([1, 2, 3, 4, 5], n).astype(float)
    return pd.DataFrame({
        "response_id": [f"r{i:03d}" for i in range(n)],
        "branch_id": ["A"] * n_a + ["B"] * n_b,
        "customer_id": [f"c{i}" if i % 3 else None for i in range(n)],
        "overall": base,
        "s1": base, "s2": 6 - base,  # s2 reverse-coded: speed = overall exactly
        "c1": np.resize([2, 1, 4, 3, 5], n), "c2": np.resize([2, 1, 4, 3, 5], n),
        "c3": 6 - np.resize([2, 1, 4, 3, 5], n),
        "e1": np.resize([3, 3, 4, 4, 5], n),
        "nps": np.resize([10, 9, 8, 6, 0], n),
    })


def test_analysis_on_a_hand_made_frame():
    frame = _frame(n_a=10, n_b=5)
    result = analyse_survey(frame, DEF, min_group_size=5, alpha_threshold=0.7,
                            group_by=["branch_id"])
    dims = result.tables["dimensions"]
    assert set(dims["group"]) == {"all", "A", "B"}
    assert result.summary["suppressed"] == []
    a = dims[dims["group"] == "A"].set_index("measure")
    assert a.loc["speed", "mean"] == 3.0 and a.loc["care", "mean"] == 3.0
    assert a.loc["speed", "n"] == 10
    net = dims[dims["group_type"] == "network"].set_index("measure")
    assert net.loc["overall", "n"] == 15
    assert net.loc["overall", "mean"] == 3.0
    nps = result.tables["nps"].set_index("group")
    # branch A: nps pattern 10,9,8,6,0 twice -> 4 promoters, 2 passives, 4 detractors
    assert nps.loc["A", ["promoters", "passives", "detractors"]].tolist() == [4, 2, 4]
    assert nps.loc["A", "nps"] == 0.0
    assert nps.loc["A", "nps_ci_high"] == pytest.approx(100 * Z95 * math.sqrt(0.8 / 10))
    # IPA: speed equals overall (r = 1); care's pattern 2,1,4,3,5 has r = 0.8 with 1..5
    ipa = result.tables["ipa"]
    net_ipa = ipa[ipa["group_type"] == "network"].set_index("dimension")
    assert net_ipa.loc["speed", "importance"] == pytest.approx(1.0)
    assert net_ipa.loc["care", "importance"] == pytest.approx(0.8)
    assert set(ipa["group"]) == {"all", "A", "B"}
    # SERVQUAL: c1 pattern 2,1,4,3,5 against e1 3,3,4,4,5 -> gap -0.8 per cycle of 5
    gaps = result.tables["servqual"].set_index("group")
    assert gaps.loc["A", "gap"] == pytest.approx(-0.8)
    assert gaps.loc["A", "dimension"] == "care"
    assert result.summary["n_anonymous"] == int(frame["customer_id"].isna().sum()) == 5
    assert result.summary["share_anonymous"] == pytest.approx(5 / 15)


def test_withheld_takes_the_smallest_others_until_what_is_withheld_is_not_small():
    counts = pd.Series({"A": 12, "B": 5, "C": 10})
    # B alone (5) would be the network's 27 less A and C: C, the smallest other, goes too
    assert withheld(counts, 27, 10) == {"B", "C"}
    # 3 responses in no group (no tier, say) would be given away as well: C withheld
    assert withheld(pd.Series({"A": 12, "C": 10}), 25, 10) == {"C"}
    # B and 8 responses in no group: 13 together, nothing more to hide
    assert withheld(counts, 35, 10) == {"B"}
    # 10 in no group and no small group: nothing withheld
    assert withheld(pd.Series({"A": 12, "C": 10}), 32, 10) == set()
    # two small groups that together reach the minimum: the others stay
    assert withheld(pd.Series({"A": 12, "B": 5, "D": 6}), 23, 10) == {"B", "D"}
    # everything small: all withheld, however small together
    assert withheld(pd.Series({"B": 2, "D": 3}), 5, 10) == {"B", "D"}


def test_a_group_the_network_figure_would_give_away_is_withheld_too():
    """Branch B's 5 answers are too few to report; branch A's figures beside the network's
    would give B's back (network less A), so A's are withheld too, as complementary, and
    the network figure stays."""
    frame = _frame(n_a=10, n_b=5)
    result = analyse_survey(frame, DEF, min_group_size=10, alpha_threshold=0.7,
                            group_by=["branch_id"])
    assert set(result.tables["dimensions"]["group"]) == {"all"}
    assert set(result.tables["nps"]["group"]) == {"all"}
    assert set(result.tables["ipa"]["group"]) == {"all"}
    assert set(result.tables["servqual"]["group"]) == {"all"}
    suppressed = result.summary["suppressed"]
    assert {"group_type": "branch_id", "group": "B", "what": "all", "reason": SMALL} in suppressed
    assert {"group_type": "branch_id", "group": "B", "what": "nps", "reason": SMALL} in suppressed
    by_a = {s["what"]: s["reason"] for s in suppressed if s["group"] == "A"}
    assert by_a == {
        what: COMPLEMENTARY
        for what in ("overall", "speed", "care", "nps", "ipa", "gap c1")
    }


def test_group_exactly_at_the_minimum_is_reported():
    result = analyse_survey(_frame(10, 0), DEF, min_group_size=10, alpha_threshold=0.7,
                            group_by=["branch_id"])
    assert "A" in set(result.tables["nps"]["group"])
    result = analyse_survey(_frame(10, 0), DEF, min_group_size=11, alpha_threshold=0.7,
                            group_by=["branch_id"])
    assert result.tables["nps"].empty and result.tables["dimensions"].empty
    assert result.summary["nps"]["status"].startswith("suppressed")


FEATURES = pd.DataFrame({"customer_id": [f"c{i}" for i in range(30)],
                         "branch_id": "A", "tier": ["mass"] * 20 + ["wealth"] * 10,
                         "rfm_segment": "Champions"})
SCORES = pd.DataFrame({"customer_id": [f"c{i}" for i in range(30)],
                       "churn_band": ["low"] * 15 + ["high"] * 15,
                       "clv_decile": [10] * 15 + [2] * 15})


def test_anonymous_responses_are_counted_but_not_linked():
    frame = _frame(n_a=30, n_b=0)
    groups, note = link_customers(frame, FEATURES, SCORES)
    anonymous = frame["customer_id"].isna()
    assert note["n_anonymous"] == anonymous.sum() == 10
    assert note["n_identified"] == 20 and note["n_matched_scores"] == 20
    assert groups.loc[anonymous, ["tier", "churn_band", "clv_decile"]].isna().all().all()
    assert groups.loc[~anonymous, "tier"].notna().all()
    assert str(groups["clv_decile"].dtype) == "Int64"
    linked = ["tier", "rfm_segment", "churn_band", "clv_decile"]
    result = analyse_survey(frame, DEF, min_group_size=5, alpha_threshold=0.7,
                            group_by=["branch_id", *linked], groups=groups,
                            linked_groups=linked, linkage_note=note)
    linkage = result.tables["linkage"]
    # identified ids are c1,c2,c4,c5,...: churn band low for c<15 -> 10 responses
    low = linkage[(linkage["group_type"] == "churn_band") & (linkage["group"] == "low")]
    assert low["n_nps"].item() == 10
    assert linkage.groupby("group_type")["n_nps"].sum().to_dict() == {
        "churn_band": 20, "clv_decile": 20, "rfm_segment": 20, "tier": 20}
    # deciles sort numerically, not as text
    assert linkage.loc[linkage["group_type"] == "clv_decile", "group"].tolist() == ["2", "10"]
    assert result.summary["n_anonymous"] == 10
    net = result.tables["nps"]
    assert net.loc[net["group_type"] == "network", "n"].item() == 30


def test_without_scores_only_score_breakdowns_are_missing():
    frame = _frame(n_a=30, n_b=0)
    groups, note = link_customers(frame, FEATURES, None)
    assert "tier" in groups and "churn_band" not in groups
    assert note["not_available"] == {"churn_band": "not available: scores not computed",
                                     "clv_decile": "not available: scores not computed"}
    assert note["n_matched_scores"] is None and note["n_matched_features"] == 20


def test_an_empty_score_column_is_said_to_be_not_available():
    frame = _frame(n_a=12, n_b=0)
    _, note = link_customers(frame, FEATURES, SCORES.assign(churn_band=None))
    assert note["not_available"] == {
        "churn_band": "not available: churn_band is empty in customer_scores"}


def test_unknown_customers_are_counted_not_dropped_silently():
    frame = _frame(n_a=12, n_b=0)
    frame.loc[1, "customer_id"] = "ghost"
    _, note = link_customers(frame, FEATURES, SCORES)
    assert note["n_unmatched_features"] == note["n_unmatched_scores"] == 1


def test_window_keeps_only_responses_up_to_the_as_of_date():
    frame = pd.DataFrame({"response_id": ["r3", "r1", "r2", "r4"],
                          "response_date": pd.to_datetime(
                              ["2025-10-31", "2025-11-01", "2026-10-31", "2026-11-01"])})
    as_of = date(2026, 10, 31)
    assert window_start(as_of, 12) == date(2025, 11, 1)
    kept = responses_in_window(frame, as_of, 12)
    assert kept["response_id"].tolist() == ["r1", "r2"]


def test_nps_history_is_each_months_trailing_window_by_branch() -> None:
    """Window of 2 months, groups of at least 2: August's NPS covers Jul-Aug, September's
    Aug-Sep; B2 answered once in each window, so it is never shown."""
    from pipeline.config import CONFIG_DIR
    from pipeline.survey.core import SurveySettings, nps_history
    from pipeline.survey.definition import load_definition

    definition = load_definition(CONFIG_DIR / "surveys" / "customer_satisfaction.yml")
    responses = pd.DataFrame(
        {
            "response_id": ["r1", "r2", "r3", "r4", "r5"],
            "branch_id": ["B1", "B1", "B1", "B2", "B1"],
            "response_date": pd.to_datetime(
                ["2026-07-10", "2026-08-02", "2026-09-20", "2026-09-21", "2026-10-01"]
            ).date,
            "nps": [10.0, 3.0, 9.0, 10.0, 8.0],
        }
    )
    s = SurveySettings("c", "s", min_group_size=2, alpha_threshold=0.7, window_months=2,
                       history_months=3)
    got = nps_history(responses, definition, "2026-09", s)
    assert got["months"] == ["2026-07", "2026-08", "2026-09"]
    # July: r1 alone (n=1) -> suppressed; August: r1 promoter, r2 detractor -> 0;
    # September: r2 detractor, r3 promoter (B1), r4 promoter (B2) -> network 100/3; B1's
    # 0 is withheld there: the network's less B1's would be B2's single answer
    assert got["by_branch"] == {"B1": [None, 0.0, None], "B2": [None, None, None]}
    assert got["network"][:2] == [None, 0.0]
    assert got["network"][2] == pytest.approx(100 / 3)


def test_an_nps_answer_out_of_scale_in_an_earlier_month_is_an_error_not_a_promoter():
    """The trend reads months before the period's window too: an answer of 99 there would
    have counted as a promoter. It stops the run naming the row and the column, as in the
    period's own window."""
    from pipeline.config import CONFIG_DIR
    from pipeline.errors import InputError
    from pipeline.survey.core import SurveySettings, nps_history
    from pipeline.survey.definition import load_definition

    definition = load_definition(CONFIG_DIR / "surveys" / "customer_satisfaction.yml")
    responses = pd.DataFrame(
        {
            "response_id": ["r1", "r2"],
            "branch_id": ["B1", "B1"],
            "response_date": pd.to_datetime(["2026-01-10", "2026-09-20"]).date,
            "nps": [99.0, 10.0],
        }
    )
    s = SurveySettings(
        "c", "s", min_group_size=1, alpha_threshold=0.7, window_months=2, history_months=12
    )
    with pytest.raises(InputError, match=r"survey.csv: row r1, column nps: value 99.0 is not"):
        nps_history(responses, definition, "2026-09", s, "survey.csv")


def test_the_confidence_asked_for_reaches_alphas_interval_as_nps():
    """analyse_survey's `confidence` is the level of every interval it gives: NPS's and
    Cronbach's alpha's (alpha's was 95% whatever was asked)."""
    rng = np.random.default_rng(3)
    frame = _frame(n_a=60, n_b=0)
    trait = rng.normal(3, 1, 60)
    for item in ("c1", "c2", "c3"):  # care: one trait and noise, answered on 1-5
        answer = np.clip(np.rint(trait + rng.normal(0, 0.8, 60)), 1, 5)
        frame[item] = 6 - answer if item == "c3" else answer  # c3 is reverse-coded
    wide, narrow = (
        analyse_survey(frame, DEF, min_group_size=5, alpha_threshold=0.7, confidence=c)
        for c in (0.95, 0.5)
    )
    rel_wide = wide.tables["reliability"].set_index("dimension")
    rel_narrow = narrow.tables["reliability"].set_index("dimension")
    width = (rel_wide["alpha_ci_high"] - rel_wide["alpha_ci_low"]).loc["care"]
    assert (rel_narrow["alpha_ci_high"] - rel_narrow["alpha_ci_low"]).loc["care"] < width
    assert rel_narrow.loc["care", "alpha"] == rel_wide.loc["care", "alpha"]
