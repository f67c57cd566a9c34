"""Every number a report shows comes from one of these functions: exact values on
hand-made frames, isolation of a branch's slice, and clear errors for missing inputs."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from test_report_fixtures import make_bank

from pipeline.errors import InputError
from pipeline.report import context_kpis as kp
from pipeline.report import context_scores as sc
from pipeline.report import context_survey as sv
from pipeline.report.core import branch_slice, branch_slices, largest_first, split_by_branch
from pipeline.report.environment import NA, NO_PREVIOUS, SUPPRESSED
from pipeline.report.i18n import labels
from pipeline.report.stage import load_inputs, survey_labels

TIERS = ("mass", "affluent", "wealth")


def kpi_row(**values) -> pd.Series:
    return pd.Series(values, dtype=object)


def test_headline_kpis_change_and_no_previous_period():
    now = kpi_row(customers=40.0, aum=1000.0, dormant_share=0.25)
    net = kpi_row(customers=100.0, aum=5000.0, dormant_share=0.3)
    prev = kpi_row(customers=36.0, aum=1200.0, dormant_share=None)
    kpis = (
        kp.Kpi("c", "customers", "count", True),
        kp.Kpi("a", "aum", "money", True),
        kp.Kpi("d", "dormant_share", "share", False),
        kp.Kpi("x", "absent_column", "ratio", None),
    )
    rows = kp.headline_kpis(now, net, prev, kpis)
    assert [r["change"] for r in rows[:2]] == [4.0, -200.0]
    assert rows[2]["previous"] is NA and rows[2]["change"] is NA
    assert rows[3]["value"] is NA
    assert rows[0]["network"] == 100.0
    first = kp.headline_kpis(now, net, None, kpis)
    assert all(r["previous"] is NO_PREVIOUS and r["change"] is NO_PREVIOUS for r in first)


def test_tier_table_shares_and_average():
    row = kpi_row(
        customers__mass=3,
        customers__affluent=1,
        customers__wealth=0,
        aum__mass=300.0,
        aum__affluent=700.0,
        aum__wealth=0.0,
        customer_share__mass=0.75,
    )  # other prefixes are not read as tiers
    rows = kp.tier_table(row, TIERS)
    assert [r["customers"] for r in rows] == [3.0, 1.0, 0.0]
    assert [r["customer_share"] for r in rows] == [0.75, 0.25, 0.0]
    assert [r["aum_share"] for r in rows] == [0.3, 0.7, 0.0]
    assert rows[0]["avg_aum"] == 100.0 and rows[2]["avg_aum"] is NA


def test_prefixed_leaves_out_per_tier_columns():
    row = kpi_row(penetration__fund=0.5, penetration__fund__mass=0.4, penetration__loan=0.1)
    assert kp.prefixed(row, "penetration") == {"fund": 0.5, "loan": 0.1}


def test_migration_matrix_counts_and_moves():
    migration = pd.DataFrame(
        {
            "branch_id": "B1",
            "from_tier": ["mass", "mass", "affluent", "wealth", "new", "affluent"],
            "to_tier": ["mass", "affluent", "mass", "closed", "mass", "affluent"],
            "customers": [10, 2, 1, 1, 3, 4],
        }
    )
    m = kp.migration_matrix(migration, TIERS)
    assert m["columns"] == ["mass", "affluent", "wealth", "closed"]
    assert [r["from"] for r in m["rows"]] == ["mass", "affluent", "wealth", "new"]
    assert m["rows"][0]["cells"] == [10.0, 2.0, 0.0, 0.0]
    assert m["rows"][2]["cells"] == [0.0, 0.0, 0.0, 1.0]
    assert m["rows"][3]["total"] == 3.0
    assert m["column_totals"] == [14.0, 6.0, 0.0, 1.0]
    assert (m["stayed"], m["upgraded"], m["downgraded"]) == (14.0, 2.0, 1.0)
    assert not m["empty"]
    assert kp.migration_matrix(migration.iloc[:0], TIERS)["empty"]


def features_frame() -> pd.DataFrame:
    return pd.DataFrame(
        {
            "customer_id": ["a", "b", "c", "d", "e"],
            "status": ["active", "active", "active", "active", "closed"],
            "tier": ["mass", "mass", "affluent", "affluent", "affluent"],
            "rfm_segment": ["Lost", "Champions", "Champions", "Lost", "Champions"],
            "aum": [10.0, 20.0, 100.0, 300.0, 999.0],
            "recency_days": pd.array([None, 5, 15, None, 1], dtype="Int64"),
            "frequency": [0, 10, 20, 0, 50],
            "monetary": [0.0, 5.0, 15.0, 0.0, 99.0],
            "products_held": [0, 1, 2, 7, 3],
            "digital_share": [np.nan, 0.5, 1.0, np.nan, 0.0],
            "rm_id": [None, None, "R1", None, "R2"],
            "days_since_rm_contact": pd.array([None, None, 30, 200, 3], dtype="Int64"),
        }
    )


def test_rfm_table_over_active_customers_in_configured_order():
    rows = kp.rfm_table(features_frame(), ["Champions", "Loyal Customers", "Lost"])
    assert [r["segment"] for r in rows] == ["Champions", "Lost"]
    champions, lost = rows
    assert (champions["customers"], champions["share"], champions["aum"]) == (2.0, 0.5, 120.0)
    assert champions["avg_recency"] == 10.0 and champions["avg_frequency"] == 15.0
    assert champions["avg_monetary"] == 10.0
    assert lost["avg_recency"] is NA  # nobody in it has transacted


def test_rm_by_tier_counts_active_customers_and_recent_contacts():
    out = kp.rm_by_tier(features_frame(), ["affluent", "wealth"], contact_days=90)
    assert out["affluent"] == {"customers": 2.0, "with_rm": 0.5, "contacted": 0.5}
    assert out["wealth"]["customers"] == 0.0 and out["wealth"]["with_rm"] is NA
    rows = kp.rm_coverage_table(out, out, ["affluent"])
    assert rows[0]["network_contacted"] == 0.5


def test_holdings_distribution():
    rows = kp.holdings_distribution(features_frame(), cap=5)
    assert [r["customers"] for r in rows] == [1.0, 1.0, 1.0, 0.0, 0.0, 1.0]
    assert rows[-1]["products"] == "5+" and rows[0]["share"] == 0.25


def scores_frame() -> pd.DataFrame:
    return pd.DataFrame(
        {
            "customer_id": ["a", "b", "c", "d"],
            "clv": [100.0, 300.0, 600.0, 0.0],
            "clv_decile": pd.array([5, 8, 10, 1], dtype="Int64"),
            "p_alive": [0.9, 0.5, 0.7, 0.1],
            "expected_transactions": [1.0, 2.0, 3.0, None],
            "churn_probability": [0.1, 0.3, 0.9, 0.6],
            "churn_band": ["low", "medium", "high", "high"],
            "value_risk_quadrant": ["develop", "protect", "retain now", "win back cheaply"],
        }
    )


def test_clv_deciles_highest_first_as_numbers():
    deciles = sc.clv_decile_table(scores_frame())
    assert [d["decile"] for d in deciles] == [10, 8, 5, 1]
    assert [d["share"] for d in deciles] == [0.6, 0.3, 0.1, 0.0]


def test_active_scores_leave_out_customers_closed_in_the_period():
    scores = scores_frame().assign(status=["active", "closed", "active", "active"])
    assert list(sc.active_scores(scores)["customer_id"]) == ["a", "c", "d"]
    assert list(sc.active_scores(scores_frame())["customer_id"]) == ["a", "b", "c", "d"]


def test_churn_bands_and_quadrants():
    bands = sc.churn_band_table(scores_frame())
    assert [b["band"] for b in bands] == ["low", "medium", "high"]
    assert [b["customers"] for b in bands] == [1.0, 1.0, 2.0]
    assert bands[2]["clv"] == 600.0 and bands[2]["mean_probability"] == pytest.approx(0.75)
    quads = {q["quadrant"]: q["customers"] for q in sc.quadrant_table(scores_frame())}
    assert quads == {"develop": 1.0, "protect": 1.0, "retain now": 1.0, "win back cheaply": 1.0}
    no_model = scores_frame().assign(churn_probability=np.nan, churn_band=None)
    assert not sc.churn_model_available(no_model)


def test_model_card_metrics_warnings_and_clv_validation():
    card = {
        "churn": {
            "status": "ok",
            "verdict": "v",
            "metrics": {
                "simple_rule": {"roc_auc": 0.64, "brier": 0.08},
                "gradient_boosting": {"roc_auc": 0.61, "brier": 0.079},
            },
            "simple_rule": {"rule": "recency"},
            "top_drivers": [{"feature": "recency_days", "importance": 0.08}],
        },
        "clv_validation": {
            "status": "ok",
            "verdict": "BG/NBD beats",
            "model": {"mae": 1.2, "rmse": 2.0},
            "naive_baseline": {"mae": 1.5, "rmse": 2.5},
            "model_beats_baseline": True,
        },
        "warnings": ["The churn model did not beat the simple recency rule"],
    }
    table = sc.metric_table(card)
    assert table["models"] == ["gradient_boosting"] and table["rule"] == "recency"
    auc = table["rows"][0]
    assert auc["values"] == [0.61] and auc["baseline"] == 0.64
    assert auc["difference"] == pytest.approx(-0.03)
    pr = table["rows"][1]
    assert pr["values"] == [NA] and pr["difference"] is NA
    assert sc.model_warnings(card) == ["The churn model did not beat the simple recency rule"]
    assert sc.driver_rows(card, "en") == [
        {"driver": "Days since the last own transaction", "importance": 0.08}
    ]
    assert sc.driver_rows(card, "zh_CN")[0]["driver"] == "距上次主动交易天数"
    clv = sc.clv_validation(card)
    assert (clv["mae"], clv["baseline_mae"], clv["beats_baseline"]) == (1.2, 1.5, True)
    no_model = {"churn": {"status": "no_model", "message": "too few churners"}}
    assert sc.metric_table(no_model) == {"models": [], "rows": [], "rule": None}
    checks = sc.model_checks(card)
    assert checks["churn"] == {
        "status": "loses",  # the card does not say the model beats the rule
        "model": 0.61,
        "baseline": 0.64,
        "rule": "recency",
        "why_absent": "too_little_history",
        "p_alive": True,  # a transactions model held: risk can come from P(alive)
    }
    assert (checks["clv"]["status"], checks["value"]["status"]) == ("beats", "absent")
    # no transactions model: neither P(alive) nor a CLV check, said as such
    no_btyd = {**card, "clv": {"status": "no_model", "model_name": None}}
    no_btyd["clv_validation"] = {"status": "no_model", "verdict": None}
    assert sc.model_checks(no_btyd)["clv"]["status"] == "no_model"
    assert sc.model_checks(no_btyd)["churn"]["p_alive"] is False
    assert sc.clv_validation(no_btyd)["no_model"] and not sc.clv_validation(no_btyd)["available"]
    assert not sc.clv_validation(card)["no_model"]
    labelled = {"churn": {"status": "no_model", "labelled": {"train": {"churners": 3}}}}
    assert sc.model_checks(labelled)["churn"]["status"] == "absent"
    assert sc.model_checks(labelled)["churn"]["why_absent"] == "too_few_churners"
    assert sc.model_checks(no_model)["churn"]["why_absent"] == "too_little_history"
    # the first month of data: no measure had anything to be compared with
    first = {"drift": {"previous_period": "2025-04", "measures": [
        {"measure": "aum", "psi": None, "reason": "no_previous", "shifted": False},
        {"measure": "clv", "psi": None, "reason": "no_previous", "shifted": False},
    ]}}  # fmt: skip
    drift = sc.model_checks(first)["drift"]
    assert (drift["measures"], drift["compared"], drift["shifted"]) == (2, 0, 0)


def test_manifest_rows_and_a_broken_manifest():
    manifest = {
        "tables": {
            "customers": {
                "rows_read": 10,
                "accepted": 7,
                "rejected": 2,
                "rejected_by_reason": {"bad_date": 2},
                "duplicates_dropped": 1,
            }
        }
    }
    assert sc.manifest_rows(manifest) == [
        {
            "table": "customers",
            "rows_read": 10.0,
            "rows_accepted": 7.0,
            "rows_rejected": 2.0,
            "duplicates_dropped": 1.0,
            "reasons": [{"reason": "bad_date", "rows": 2.0}],
        }
    ]
    with pytest.raises(InputError, match="customers.*accepted"):
        sc.manifest_rows({"tables": {"customers": {"rows_read": 1}}})


def test_action_rows_keep_the_score_stages_order_word_reasons_and_keep_ids_as_text():
    from pipeline.report.context_actions import action_rows
    from pipeline.report.reasons import ReasonWords

    w = pd.DataFrame(
        {
            "rank": [1, 2],
            "customer_id": ["007", "<script>x</script>"],
            "rm_id": ["R1", None],
            "tier": ["mass", "wealth"],
            "clv": [1.0, 5.0],
            "churn_probability": [0.9, 0.5],
            "value_at_risk": [0.9, 2.5],
            "high_value": [False, True],
            "reason_codes": ["recency_days:120:14", None],
            "last_contact_date": ["2026-10-01", None],
        }
    )
    rows = action_rows(w, ReasonWords("en", "CNY", ("mass", "wealth")))
    assert [r["customer_id"] for r in rows] == ["007", "<script>x</script>"]
    assert rows[0]["last_contact"] == "2026-10-01" and rows[1]["last_contact"] is None
    assert rows[0]["reasons"] == ["no own transaction for 120 days (typical 14)"]
    assert rows[1]["rm_id"] is None and rows[1]["reasons"] == []
    assert rows[0]["aum"] is NA  # a list without AUM says so, never blank


def test_lorenz_curve_starts_at_origin():
    pts = pd.DataFrame(
        {"point": [2, 1], "cum_customer_share": [1.0, 0.5], "cum_aum_share": [1.0, 0.1]}
    )
    assert sc.lorenz_curve(pts) == ([0.0, 0.5, 1.0], [0.0, 0.1, 1.0])


SURVEY = {
    "status": "ok",
    "n_responses": 50,
    "nps_item": "nps",
    "reliability": {
        "empathy": {
            "alpha": 0.65,
            "alpha_ci": [0.5, 0.75],
            "n_items": 3,
            "below_threshold": True,
            "status": "ok",
        }
    },
    "nps": {
        "network": {
            "n": 50,
            "nps": 10.0,
            "nps_ci_low": -5.0,
            "nps_ci_high": 25.0,
            "promoters": 20,
            "detractors": 15,
        },
        "by_group": {
            "branch_id": {
                "B1": {
                    "n": 30,
                    "nps": 20.0,
                    "nps_ci_low": 0.0,
                    "nps_ci_high": 40.0,
                    "promoters": 12,
                    "detractors": 6,
                }
            }
        },
    },
    "dimensions": {
        "network": {"all": {"empathy": {"n": 50, "mean": 3.5, "std": 1.0}}},
        "branch_id": {"B1": {"empathy": {"n": 30, "mean": 3.9, "std": 1.0}}},
    },
    "ipa": {
        "status": "ok",
        "points": {
            "network": {
                "all": {
                    "empathy": {
                        "n": 50,
                        "importance": 0.6,
                        "performance": 3.5,
                        "quadrant": "Concentrate here",
                    }
                }
            }
        },
    },
    "suppressed": [{"group_type": "branch_id", "group": "B2", "what": "all"}],
}


def test_survey_figures_for_a_reported_and_a_suppressed_branch():
    labels = {"empathy": "Empathy"}
    assert sv.nps_figures(SURVEY, "B1")["nps"] == 20.0
    assert sv.nps_figures(SURVEY, None)["n"] == 50.0
    b2 = sv.nps_figures(SURVEY, "B2")
    assert not b2["available"] and b2["nps"] is SUPPRESSED
    assert sv.is_suppressed(SURVEY, "B2", "nps") and not sv.is_suppressed(SURVEY, "B1", "nps")
    dims = sv.dimension_rows(SURVEY, "B1", labels)
    assert dims == [{"dimension": "Empathy", "score": 3.9, "n": 30.0, "network": 3.5}]
    assert sv.dimension_rows(SURVEY, "B2", labels)[0]["score"] is SUPPRESSED
    ipa = sv.ipa_rows(SURVEY, "B1", labels, str.upper)
    assert ipa["scope"] == "network" and ipa["rows"][0]["quadrant"] == "CONCENTRATE HERE"
    rel = sv.reliability_rows(SURVEY, labels)[0]
    assert (rel["alpha"], rel["ci_low"], rel["flag"]) == (0.65, 0.5, True)
    with pytest.raises(InputError, match="surveys"):
        sv.find_surveys({"period": "2026-10"})


@settings(max_examples=40, deadline=None)
@given(
    st.lists(
        st.tuples(st.sampled_from(TIERS), st.floats(0, 1e7, allow_nan=False)),
        min_size=1,
        max_size=30,
    )
)
def test_tier_table_shares_sum_to_one(customers):
    frame = pd.DataFrame(customers, columns=["tier", "aum"])
    row = kpi_row(
        **{f"customers__{t}": float((frame["tier"] == t).sum()) for t in TIERS},
        **{f"aum__{t}": float(frame.loc[frame["tier"] == t, "aum"].sum()) for t in TIERS},
    )
    rows = kp.tier_table(row, TIERS)
    assert sum(r["customer_share"] for r in rows) == pytest.approx(1.0)
    if frame["aum"].sum() > 0:
        assert sum(r["aum_share"] for r in rows) == pytest.approx(1.0)


def test_branch_slice_holds_only_the_branchs_customers(tmp_path: Path):
    from test_report_fixtures import BRANCHES, PERIOD

    cfg, catalog = make_bank(tmp_path)
    inputs = load_inputs(catalog, PERIOD)
    assert inputs.branch_ids == list(BRANCHES)
    for b in BRANCHES:
        part = branch_slice(inputs, b, {})
        for frame in (part.features, part.scores, part.migration, part.lorenz):
            assert set(frame["branch_id"]) == {b}
        own = set(part.features["customer_id"])
        active = set(part.features.loc[part.features["status"] == "active", "customer_id"])
        assert set(part.scores["customer_id"]) == active  # closed customers score 0
        assert set(part.watchlist["customer_id"]) <= own
    # a watchlist that names another branch's customer is refused, not filtered silently
    bad = dict(inputs.watchlists)
    bad["B01"] = inputs.watchlists["B02"]
    tampered = replace(inputs, watchlists=bad)
    with pytest.raises(InputError, match="not of branch B01"):
        branch_slice(tampered, "B01", {})


def test_digital_share_of_transactions_is_the_branch_kpi_not_a_mean_of_customers(
    tmp_path: Path,
):
    """The branch report's "digital share of transactions" is the features stage's
    digital_txn_share (digital transactions over all, the branch's active customers), the
    figure branch_kpis holds; a mean of each customer's own share weighs a customer with
    one transaction as much as one with a hundred."""
    from test_report_fixtures import PERIOD

    from pipeline.report.context import branch_context
    from pipeline.report.stage import report_settings

    cfg, catalog = make_bank(tmp_path)
    s = report_settings(cfg)
    inputs = load_inputs(catalog, PERIOD)
    network_rm = kp.rm_by_tier(inputs.features, s.rm_tiers, s.rm_contact_days)
    for b in branch_slices(inputs, network_rm):
        digital = branch_context(b, s)["digital"]
        act = b.features[b.features["status"] == "active"]
        pooled = act["digital_txn_count"].sum() / act["txn_count"].sum()
        assert digital["txn_share"] == pytest.approx(pooled, rel=1e-12)
        assert digital["txn_share"] == b.kpi["digital_txn_share"]
        assert digital["txn_share"] != pytest.approx(act["digital_share"].mean(), rel=1e-6)


def test_branch_slices_split_once_equal_a_mask_per_branch(tmp_path: Path):
    """Slicing every branch from one split gives exactly the rows a mask per branch does."""
    from test_report_fixtures import BRANCHES, PERIOD

    _, catalog = make_bank(tmp_path)
    inputs = load_inputs(catalog, PERIOD)
    # one branch's migration rows and Lorenz points missing: its slices are empty frames
    inputs = replace(
        inputs,
        migration=inputs.migration[inputs.migration["branch_id"] != "B03"],
        lorenz=inputs.lorenz[inputs.lorenz["branch_id"] != "B03"],
    )
    slices = list(branch_slices(inputs, {}))
    assert [b.branch_id for b in slices] == list(BRANCHES)
    for b in slices:

        def mask(frame: pd.DataFrame, branch: str = b.branch_id) -> pd.DataFrame:
            return frame[frame["branch_id"].astype(str) == branch]

        pd.testing.assert_frame_equal(b.features, mask(inputs.features).reset_index(drop=True))
        active = mask(inputs.scores)
        active = active[active["status"] == "active"].reset_index(drop=True)
        pd.testing.assert_frame_equal(b.scores, active)
        pd.testing.assert_frame_equal(b.migration, mask(inputs.migration).reset_index(drop=True))
        pd.testing.assert_frame_equal(b.lorenz, mask(inputs.lorenz).sort_values("point"))
        assert len(b.features) > 0 and set(b.features["branch_id"]) == {b.branch_id}
    assert slices[2].migration.empty and slices[2].lorenz.empty
    assert list(slices[2].migration.columns) == list(inputs.migration.columns)


@pytest.mark.parametrize("locale", ["en", "zh_CN"])
def test_survey_labels_from_the_summary_equal_the_definitions(tmp_path: Path, locale: str):
    """The summary carries the dimensions, labels and overall item of the definitions the
    survey stage used: labels read from it equal the configured definitions' labels."""
    from test_report_fixtures import PERIOD

    cfg, catalog = make_bank(tmp_path, locale=locale)
    summary = load_inputs(catalog, PERIOD).survey
    from_summary = survey_labels(cfg, summary)
    assert from_summary == survey_labels(cfg)
    assert from_summary["customer"] and from_summary["staff"]
    overall = labels(locale)["overall_satisfaction"]
    assert overall in from_summary["customer"].values()
    # a survey the summary does not describe takes its labels from the definition
    partial = {"surveys": {"staff": summary["surveys"]["staff"]}}
    assert survey_labels(cfg, partial) == from_summary


def test_split_by_branch_keeps_row_order_and_reads_ids_as_text():
    frame = pd.DataFrame({"branch_id": [2, 1, 2, 1, 3], "v": [10, 11, 12, 13, 14]})
    parts = split_by_branch(frame)
    assert sorted(parts) == ["1", "2", "3"]
    assert parts["2"]["v"].tolist() == [10, 12] and parts["1"]["v"].tolist() == [11, 13]
    assert split_by_branch(frame.iloc[0:0]) == {}


@pytest.mark.parametrize(
    ("file", "stage"),
    [
        ("customer_scores.parquet", "score"),
        ("survey_summary.json", "survey"),
        ("lorenz.parquet", "features"),
        ("watchlist-B02.csv", "score"),
    ],
)
def test_a_missing_input_names_the_file_and_the_stage(tmp_path: Path, file: str, stage: str):
    from test_report_fixtures import PERIOD

    cfg, catalog = make_bank(tmp_path)
    (catalog.processed_dir(PERIOD) / file).unlink()
    with pytest.raises(InputError, match=rf"{file}.*`crm {stage}`"):
        load_inputs(catalog, PERIOD)


def test_a_missing_manifest_names_ingest(tmp_path: Path):
    from test_report_fixtures import PERIOD

    cfg, catalog = make_bank(tmp_path)
    catalog.ingest_manifest.unlink()
    with pytest.raises(InputError, match=r"manifest.json.*`crm ingest`"):
        load_inputs(catalog, PERIOD)


def test_value_figures_come_from_the_score_stages_branch_rows():
    branch = pd.Series(
        {
            "monthly_balance_margin": 100.0,
            "monthly_interchange": 2.0,
            "monthly_fees": 30.0,
            "monthly_cost_to_serve": 7.0,
            "monthly_profit": 125.0,
            "clv": 1000.0,
            "clv_per_customer": 50.0,
            "value_at_risk": 80.0,
            "value_at_risk_share": 0.08,
            "high_value_at_risk": 60.0,
            "high_value_customers": 2.0,
            "active_customers": 20.0,
            "in_btyd_customers": 12.0,
        }
    )
    network = branch * 10
    network["value_at_risk_share"] = 0.05
    v = sc.value_figures(branch, network)
    assert (v["clv"], v["value_at_risk_share"], v["network_value_at_risk_share"]) == (
        1000.0,
        0.08,
        0.05,
    )
    rows = {c["label"]: (c["branch"], c["network"]) for c in v["components"]}
    # cost to serve is shown as what it takes away
    assert rows["profit_cost_to_serve"] == (-7.0, -70.0)
    assert rows["profit_total"] == (125.0, 1250.0)
    assert [c["total"] for c in v["components"]] == [False, False, False, False, True]
    # a bank whose exports hold no balances earns no balance margin it could show
    labels_without = [c["label"] for c in sc.value_figures(branch, network, False)["components"]]
    assert labels_without == [
        "profit_interchange",
        "profit_fees",
        "profit_cost_to_serve",
        "profit_total",
    ]


def test_value_by_tier_rm_books_and_the_assign_page_by_hand():
    from pipeline.report.context_actions import unassigned_page
    from pipeline.report.reasons import ReasonWords

    scores = pd.DataFrame(
        {
            "customer_id": ["a", "b", "c"],
            "tier": ["wealth", "mass", "wealth"],
            "monthly_profit": [10.0, 1.0, 30.0],
            "clv": [100.0, 5.0, 300.0],
            "value_at_risk": [10.0, 1.0, 0.0],
            "high_value": [True, False, True],
        }
    )
    rows = sc.value_by_tier(scores, ("mass", "affluent", "wealth"))
    assert [r["tier"] for r in rows] == ["mass", "wealth"]
    assert rows[1] == {
        "tier": "wealth",
        "customers": 2.0,
        "monthly_profit": 40.0,
        "clv": 400.0,
        "mean_clv": 200.0,
        "value_at_risk": 10.0,
        "high_value": 2.0,
    }
    books = pd.DataFrame(
        {
            "rm_id": ["R1", "R2"],
            "customers": [3, 5],
            "high_value_customers": [1, 2],
            "clv": [10.0, 20.0],
            "value_at_risk": [1.0, 4.0],
            "contacted_share": [0.5, 1.0],
            "call_list": [3, 5],
        }
    )
    assert [r["rm_id"] for r in sc.rm_book_rows(books)] == ["R2", "R1"]  # most at risk first
    unassigned = pd.DataFrame(  # as the score stage writes it: high value first, ranked
        {
            "customer_id": ["x", "z", "y"],
            "rank": [1, 2, 3],
            "tier": ["wealth"] * 3,
            "aum": [1.0, 2.0, 3.0],
            "clv": [1.0, 2.0, 3.0],
            "churn_probability": [0.1, 0.2, 0.3],
            "value_at_risk": [0.1, 0.0, 0.4],
            "high_value": [True, True, False],
        }
    )
    page = unassigned_page(unassigned, ReasonWords("en", "CNY", ("wealth",)))
    assert (page["customers"], page["high_value"], page["value_at_risk"]) == (3.0, 2.0, 0.5)
    # the score stage's order, its rank the row's place
    assert [(r["rank"], r["customer_id"]) for r in page["rows"]] == [(1, "x"), (2, "z"), (3, "y")]


def test_branches_are_rendered_largest_first_ties_by_id(tmp_path: Path):
    """The render order: most customers first, ties by branch id; slices follow it."""
    from test_report_fixtures import PERIOD

    _, catalog = make_bank(tmp_path)
    inputs = load_inputs(catalog, PERIOD)
    features = inputs.features.copy()
    features.loc[features.index[:40], "branch_id"] = "B03"  # B03 the largest now
    counts = features["branch_id"].astype(str).value_counts()
    order = largest_first(replace(inputs, features=features))
    assert sorted(order) == inputs.branch_ids and order[0] == "B03"
    for a, b in zip(order, order[1:], strict=False):
        assert (-counts.get(a, 0), a) < (-counts.get(b, 0), b)
    backwards = inputs.branch_ids[::-1]
    assert [s.branch_id for s in branch_slices(inputs, {}, backwards)] == backwards
