"""Churn labels, metrics, bands and reasons on small hand-made frames (exact values)."""

from __future__ import annotations

import copy
from datetime import date

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from scoring_support import churn_settings

from pipeline.config import load_config
from pipeline.engine import connect_frames
from pipeline.scoring.churn import (
    ChurnPlan,
    check_history,
    label_window,
    labelled_matrix,
    model_matrix,
)
from pipeline.scoring.churn_model import (
    bands,
    calibration_table,
    classification_metrics,
    oriented_input,
    top_rate,
    top_reasons,
)

START, END = date(2026, 7, 31), date(2026, 10, 31)


@pytest.fixture(scope="module")
def cfg():
    return load_config()


def _bank():
    customers = pd.DataFrame(
        {
            "customer_id": ["A", "B", "C", "D", "E", "F"],
            "branch_id": "B1",
            "open_date": date(2025, 1, 1),
            "close_date": [None, None, None, date(2026, 9, 15), None, date(2026, 7, 20)],
        }
    )
    bal = []
    for cid, start_aum, end_aum in [
        ("A", 1000.0, 400.0),  # dropped 60%, inactive: churned
        ("B", 1000.0, 400.0),  # dropped 60% but active: not
        ("C", 1000.0, 600.0),  # dropped 40%: not
        ("D", 1000.0, None),  # closed in window, no end balance: churned
        ("E", 0.0, 0.0),
    ]:  # no AUM to lose: not labelled
        bal.append((cid, START, "current_deposit", start_aum))
        if end_aum is not None:
            bal.append((cid, END, "current_deposit", end_aum))
            bal.append((cid, END, "loan", 5000.0))  # liabilities are not AUM
    balances = pd.DataFrame(bal, columns=["customer_id", "month_end", "product", "balance"])
    txns = pd.DataFrame(
        {
            "txn_id": ["t1", "t2", "t3", "t4"],
            "customer_id": ["B", "A", "A", "C"],
            "txn_time": pd.to_datetime(
                ["2026-09-01 10:00", "2026-07-31 23:59", "2026-11-01 00:00", "2026-10-31 12:00"]
            ),
            "customer_initiated": [True, True, True, False],
        }
    )
    features = pd.DataFrame(
        {
            "customer_id": ["A", "B", "C", "D", "E", "F"],
            "status": ["active"] * 5 + ["closed"],  # F closed in start's month: already gone
            "aum": [1000.0, 1000.0, 1000.0, 1000.0, 0.0, 0.0],
        }
    )
    return connect_frames(
        {"customers": customers, "balances": balances, "transactions": txns}
    ), features


def test_silent_attrition_labels(cfg):
    con, features = _bank()
    got = label_window(con, features, START, END, churn_settings(cfg)).set_index("customer_id")[
        "churned"
    ]
    # A: txn on the window's start day and after its end do not count as activity
    assert got.to_dict() == {"A": True, "B": False, "C": False, "D": True}


def test_a_customer_who_closed_left_though_the_closing_withdrawal_broke_the_silence(cfg):
    """G closed in the window after moving its money out (a customer-initiated transfer):
    it left, as D did without a word. Before, the withdrawal made G a stayer, and every
    closer with a closing transfer trained the model as one."""
    con, features = _bank()
    customers = con.frame("SELECT * FROM customers")
    customers.loc[len(customers)] = [
        "G",
        "B1",
        pd.Timestamp("2025-01-01"),
        pd.Timestamp("2026-09-15"),
    ]
    frames = {
        "customers": customers,
        "balances": pd.concat(
            [
                con.frame("SELECT * FROM balances"),
                pd.DataFrame(
                    [("G", pd.Timestamp(START), "current_deposit", 1000.0)],
                    columns=["customer_id", "month_end", "product", "balance"],
                ),
            ]
        ),
        "transactions": pd.concat(
            [
                con.frame("SELECT * FROM transactions"),
                pd.DataFrame(
                    {
                        "txn_id": ["t5"],
                        "customer_id": ["G"],
                        "txn_time": pd.to_datetime(["2026-09-15 09:00"]),
                        "customer_initiated": [True],
                    }
                ),
            ]
        ),
    }
    features.loc[len(features)] = ["G", "active", 1000.0]
    got = label_window(connect_frames(frames), features, START, END, churn_settings(cfg))
    assert got.set_index("customer_id")["churned"].to_dict() == {
        "A": True,
        "B": False,
        "C": False,
        "D": True,
        "G": True,
    }


@pytest.mark.parametrize(
    ("share", "start_balances", "end_balances"),
    [
        (0.5, [0.1, 0.2], [0.1, 0.05]),  # 0.15 of 0.3: summed in floats, 0.15000000000000002
        (0.3, [3.0], [2.1]),  # 0.7 x 3 is 2.0999999999999996 in floats
    ],
)
def test_a_fall_of_exactly_the_share_counts(cfg, share, start_balances, end_balances):
    c = copy.deepcopy(cfg)
    c["churn"]["aum_drop_share"] = share
    products = ["current_deposit", "time_deposit"]
    rows = [("A", START, p, b) for p, b in zip(products, start_balances, strict=False)]
    rows += [("A", END, p, b) for p, b in zip(products, end_balances, strict=False)]
    frames = {
        "customers": pd.DataFrame(
            {"customer_id": ["A"], "branch_id": "B1", "open_date": [date(2025, 1, 1)]}
        ),
        "balances": pd.DataFrame(rows, columns=["customer_id", "month_end", "product", "balance"]),
        "transactions": pd.DataFrame(
            {
                "txn_id": pd.Series([], dtype=str),
                "customer_id": pd.Series([], dtype=str),
                "txn_time": pd.Series([], dtype="datetime64[ns]"),
                "customer_initiated": pd.Series([], dtype=bool),
            }
        ),
    }
    # the mart's AUM, summed as decimals: 0.3, not 0.1 + 0.2 in floats
    aum = round(sum(start_balances), 4)
    features = pd.DataFrame({"customer_id": ["A"], "status": ["active"], "aum": [aum]})
    got = label_window(connect_frames(frames), features, START, END, churn_settings(c))
    assert got["churned"].tolist() == [True]


def test_no_model_when_the_balances_miss_a_windows_end():
    """A balances export a month behind: the test window ends on Oct 31 with no snapshot
    there, so its labels would compare AUM with September's and show nobody leaving. No
    model, and the reason says which snapshot is missing."""
    con, _ = _bank()
    balances = con.frame("SELECT * FROM balances")
    april = balances[balances["month_end"] == pd.Timestamp(START)].assign(
        month_end=pd.Timestamp("2026-04-30")
    )
    balances = pd.concat([april, balances], ignore_index=True)
    plan = ChurnPlan(date(2026, 4, 30), START, END, ())
    # snapshots where both windows start and end: Apr 30, Jul 31, Oct 31
    assert check_history(connect_frames({"balances": balances}), plan) is plan
    late = connect_frames({"balances": balances[balances["month_end"] < pd.Timestamp(END)]})
    skipped = check_history(late, plan)
    assert "no snapshot at 2026-10-31" in skipped.reason
    assert "is a balances export missing?" in skipped.reason


def test_silent_attrition_without_the_inactivity_condition(cfg):
    c = copy.deepcopy(cfg)
    c["churn"]["inactive_in_window"] = False
    con, features = _bank()
    got = label_window(con, features, START, END, churn_settings(c)).set_index("customer_id")[
        "churned"
    ]
    assert got.to_dict() == {"A": True, "B": True, "C": False, "D": True}


def test_closed_definition_labels(cfg):
    c = copy.deepcopy(cfg)
    c["churn"]["definition"] = "closed"
    con, features = _bank()
    got = label_window(con, features, START, END, churn_settings(c)).set_index("customer_id")[
        "churned"
    ]
    assert got.to_dict() == {"A": False, "B": False, "C": False, "D": True, "E": False}


def test_metrics_by_hand():
    y = np.array([1, 1, 0, 0, 0, 0, 0, 0, 0, 0])
    score = np.array([0.9, 0.4, 0.8, 0.3, 0.2, 0.1, 0.05, 0.04, 0.03, 0.02])
    m = classification_metrics(y, score, score)
    # pairs (pos, neg): 0.9 beats all 8; 0.4 beats 7 of 8 (loses to 0.8): 15/16
    assert m["roc_auc"] == pytest.approx(15 / 16)
    # ranks: 0.9 (pos, precision 1), 0.8 (neg), 0.4 (pos, precision 2/3): AP = (1 + 2/3) / 2
    assert m["pr_auc"] == pytest.approx((1 + 2 / 3) / 2)
    # top decile = the single highest score, a churner: lift = 1 / 0.2
    assert m["top_decile_lift"] == pytest.approx(5.0)
    # KS: after 0.9 and 0.8 and 0.4: TPR 1, FPR 1/8 -> 7/8
    assert m["ks"] == pytest.approx(7 / 8)
    assert m["brier"] == pytest.approx(np.mean((score - y) ** 2))


def test_calibration_table_deciles():
    prob = np.linspace(0.01, 1.0, 100)
    y = (np.arange(100) >= 90).astype(int)
    table = calibration_table(y, prob)
    assert [r["customers"] for r in table] == [10] * 10
    assert table[-1]["observed_rate"] == 1.0 and table[0]["observed_rate"] == 0.0
    assert table[0]["mean_predicted"] == pytest.approx(prob[:10].mean())


def test_bands_by_threshold():
    got = bands(np.array([0.0, 0.19999, 0.2, 0.49, 0.5, 1.0, np.nan]), 0.2, 0.5)
    assert list(got) == ["low", "low", "medium", "medium", "high", "high", None]


def test_recency_puts_never_active_customers_at_the_end_the_train_window_chose():
    X = pd.DataFrame({"recency_days": [3.0, np.nan, 40.0]})
    assert list(oriented_input(X, "recency_days", 1.0)) == [3.0, 41.0, 40.0]
    assert list(oriented_input(X, "recency_days", 1.0, False)) == [3.0, 2.0, 40.0]
    # oriented the other way (lower is riskier): riskiest is the top of -recency
    assert list(oriented_input(X, "recency_days", -1.0)) == [-3.0, -2.0, -40.0]
    assert list(oriented_input(X, "recency_days", -1.0, False)) == [-3.0, -41.0, -40.0]


def test_never_active_customers_who_churn_less_do_not_flip_the_recency_rule():
    """Among customers who transacted, the longer silent churn more; the never-active
    churn less than they do. Recency keeps "higher is riskier" for the former and puts
    the latter with the safest: before, they sat at the risky end, and the rule turned
    round to "lower is riskier", worse than chance on the customers it is about."""
    from pipeline.scoring.churn_model import choose_rule

    recency = [1.0, 5.0, 10.0, 20.0, 60.0, 90.0] + [np.nan] * 6
    y = np.array([0, 0, 0, 1, 1, 1] + [0] * 6)
    choice = choose_rule(pd.DataFrame({"recency_days": recency}), y)
    assert choice["signs"] == {"recency_days": 1.0}
    assert choice["never_active_riskiest"] is False
    assert choice["train_roc_auc"]["recency"] == 1.0


def test_top_reasons_pick_the_features_most_out_of_line():
    X = pd.DataFrame(
        {
            "recency_days": [1.0, 2.0, 3.0, 4.0, 100.0],
            "frequency": [10.0, 11.0, 12.0, 13.0, 0.0],
            "aum": [5.0, 5.0, 5.0, 5.0, 5.0],  # no spread: never a reason
        }
    )
    got = top_reasons(
        X,
        X,
        ["recency_days", "frequency", "aum"],
        {"recency_days": 1.0, "frequency": -1.0, "aum": -1.0},
    )
    assert got[0] == ""
    # customer 5: recency z = (100-3)/(2/1.349) ~ 65, frequency z = (11-0)/(2/1.349) ~ 7
    assert got[4] == "recency_days:100:3;frequency:0:11"


@settings(max_examples=30, deadline=None)
@given(st.lists(st.floats(min_value=0, max_value=1e6, allow_nan=False), min_size=3, max_size=40))
def test_model_matrix_money_on_signed_log_scale(values):
    f = pd.DataFrame({"aum": values, "aum_change_pct_3m": values, "tier": "mass", "gender": "M"})
    X = model_matrix(f, ["aum", "aum_change_pct_3m", "tier_rank", "gender_m"], ["mass", "affluent"])
    np.testing.assert_allclose(X["aum"], np.log1p(values))
    np.testing.assert_allclose(X["aum_change_pct_3m"], values)  # shares are not money
    assert (X["tier_rank"] == 0).all() and (X["gender_m"] == 1).all()


def test_model_matrix_codes_gender_and_tier_with_missing_as_nan():
    f = pd.DataFrame(
        {
            "gender": pd.array(["M", "F", None, "X"], dtype="str"),
            "tier": pd.Series(["affluent", None, "unheard_of", "mass"], dtype=object),
        }
    )
    X = model_matrix(f, ["gender_m", "tier_rank"], ["mass", "affluent"], np.array([3, 2, 1, 0]))
    np.testing.assert_array_equal(X["gender_m"], [0.0, np.nan, 0.0, 1.0])
    np.testing.assert_array_equal(X["tier_rank"], [0.0, np.nan, np.nan, 1.0])


def test_never_contacted_or_never_active_is_a_reason_where_longer_is_riskier():
    """A missing days-since-contact is "never contacted by an RM": a reason (written "na")
    ranked at the threshold, after features further out of line; where churners are the
    recently contacted, or for a feature whose missing value means nothing, it is none."""
    X = pd.DataFrame(
        {
            "days_since_rm_contact": [10.0, 20.0, 30.0, 40.0, np.nan],
            "recency_days": [1.0, 2.0, 3.0, 4.0, 100.0],
            "aum_change_pct_3m": [0.0, 0.1, 0.2, 0.3, np.nan],
        }
    )
    features = list(X.columns)
    longer = {"days_since_rm_contact": 1.0, "recency_days": 1.0, "aum_change_pct_3m": -1.0}
    got = top_reasons(X, X, features, longer)
    assert got[4] == "recency_days:100:3;days_since_rm_contact:na:25"
    shorter = dict(longer, days_since_rm_contact=-1.0)
    assert top_reasons(X, X, features, shorter)[4] == "recency_days:100:3"
    # a bank whose exports hold no RM contacts: everyone's is missing, and no one's a reason
    unknown = X.assign(days_since_rm_contact=np.nan)
    got = list(top_reasons(unknown, unknown, features, longer))
    assert got[4] == "recency_days:100:3"
    assert not any("days_since_rm_contact" in reasons for reasons in got)


def test_top_reasons_read_flags_as_yes_no():
    X = pd.DataFrame({"has_loan": [0.0, 0.0, 0.0, 0.0, 1.0]})
    raw = pd.DataFrame({"has_loan": pd.array([False, False, None, False, True], dtype="boolean")})
    got = top_reasons(X, raw, ["has_loan"], {"has_loan": 1.0})
    # no spread by IQR: the standard deviation (0.4) scales it, z = 2.5
    assert list(got) == ["", "", "", "", "has_loan:1:0"]


def test_labelled_rows_are_taken_by_position(cfg):
    """label_window's `row` points back into the mart it was given: the matrix built from
    those rows holds each labelled customer's own features, in the labels' order."""
    con, features = _bank()
    features["recency_days"] = [10, 20, 30, 40, 50, 60]
    features = features.iloc[[3, 0, 5, 2, 4, 1]].reset_index(drop=True)  # any order
    labels = label_window(con, features, START, END, churn_settings(cfg))
    X, y = labelled_matrix(features, labels, ["recency_days"], ["mass"])
    assert list(labels["customer_id"]) == ["A", "B", "C", "D"]
    assert list(X["recency_days"]) == [10.0, 20.0, 30.0, 40.0]
    assert list(y) == [1, 0, 0, 1]


@settings(max_examples=100, deadline=None)
@given(
    st.lists(st.tuples(st.integers(0, 1), st.sampled_from([0.0, 0.1, 0.5, 0.9, 1.0])), min_size=1),
    st.integers(min_value=1, max_value=50),
)
def test_top_rate_equals_the_stable_sort(rows, n_top):
    """Heavy ties: the rows a stable descending sort puts first are the ones counted."""
    y = np.array([r[0] for r in rows])
    score = np.array([r[1] for r in rows])
    n_top = min(n_top, len(y))
    expected = y[np.argsort(-score, kind="stable")[:n_top]].mean()
    assert top_rate(y, score, n_top) == expected


def test_the_best_simple_rule_is_oriented_and_chosen_on_the_train_window():
    """Churners here have recent activity but falling assets: recency is oriented the
    other way round (lower is riskier), AUM change too, and the AUM rule wins."""
    from pipeline.scoring.churn_model import choose_rule, rule_score

    X = pd.DataFrame(
        {
            "recency_days": [1.0, 2.0, 3.0, 40.0, 50.0, 60.0, 70.0, 80.0],
            "aum_change_pct_3m": [-0.9, -0.6, -0.7, 0.1, 0.0, -0.1, 0.2, np.nan],
        }
    )
    y = np.array([1, 1, 1, 0, 0, 0, 0, 0])
    choice = choose_rule(X, y)
    assert choice["signs"] == {"aum_change_pct_3m": -1.0, "recency_days": -1.0}
    assert choice["train_roc_auc"]["aum_change_3m"] == 1.0
    assert choice["train_roc_auc"]["recency"] == 1.0
    assert choice["rule"] == "recency"  # a tie goes to the first listed
    # the combined rule averages percentile ranks of the oriented inputs
    combined = rule_score(X, "recency_and_aum_change", choice)
    assert combined.argmax() == 0 and np.all(combined[:3] > combined[3:].max())
    # a missing AUM change counts as no change: X's last row scores like 0.0 would
    assert rule_score(X, "aum_change_3m", choice)[-1] == 0.0
    only_recency = choose_rule(X[["recency_days"]], y)
    assert set(only_recency["train_roc_auc"]) == {"recency"}
