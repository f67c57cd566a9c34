"""The value model on hand-made frames: every formula worked by hand (margin on average
balances, revenue split, cost to serve, hazard from a horizon probability, retention and
discounting, CLV, value at risk, high value, the check out of time), and the
configuration a bank gets wrong (a product without a rate, a negative rate, horizon 0)."""

from __future__ import annotations

from dataclasses import replace
from datetime import date
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from hypothesis import given
from hypothesis import strategies as st

from pipeline.config import load_config
from pipeline.engine import connect_frames
from pipeline.errors import ConfigError
from pipeline.scoring.books import unassigned
from pipeline.scoring.profit import COMPONENTS, MonthlyProfit, monthly_profit
from pipeline.scoring.settings import ValueSettings
from pipeline.scoring.value import (
    customer_value,
    high_value,
    monthly_hazard,
    retention_factor,
    run_rate,
    validate_value,
)
from pipeline.scoring.value_risk import WATCHLIST_COLUMNS, watchlists

AS_OF = date(2026, 10, 31)


@pytest.fixture(scope="module")
def settings() -> ValueSettings:
    return ValueSettings.from_config(load_config())


def rates(s: ValueSettings, **changes) -> ValueSettings:
    """`s` with round margin rates and costs, so hand sums stay readable."""
    margin = dict(s.margin_rates, current_deposit=0.012, time_deposit=0.006, loan=0.024)
    costs = dict(s.cost_per_transaction, counter=5.0, atm=1.0, mobile=0.05)
    out = replace(
        s,
        margin_rates=tuple(sorted(margin.items())),
        cost_per_transaction=tuple(sorted(costs.items())),
    )
    return replace(out, **changes)


def balances(rows) -> pd.DataFrame:
    return pd.DataFrame(rows, columns=["customer_id", "month_end", "product", "balance"]).astype(
        {"month_end": "datetime64[s]"}
    )


def transactions(rows, revenue: bool = True) -> pd.DataFrame:
    cols = ["customer_id", "txn_time", "amount", "channel", "txn_type", "customer_initiated"]
    frame = pd.DataFrame([r[:6] for r in rows], columns=cols)
    frame["txn_time"] = pd.to_datetime(frame["txn_time"])
    if revenue:
        frame["revenue"] = [r[6] for r in rows]
    return frame


# --- what a customer earned each month ---------------------------------------------------

BALANCES = [
    # A: 12,000 in current deposits at every month end: 12,000 x 1.2% / 12 = 12 a month
    ("A", "2026-08-31", "current_deposit", 12000.0),
    ("A", "2026-09-30", "current_deposit", 12000.0),
    ("A", "2026-10-31", "current_deposit", 12000.0),
    # B: a time deposit opened in October (no row in September: held 0 then), and a loan
    ("B", "2026-10-31", "time_deposit", 100000.0),
    ("B", "2026-09-30", "loan", 50000.0),
    ("B", "2026-10-31", "loan", 40000.0),
]
TRANSACTIONS = [
    # id, time, amount, channel, type, customer-initiated, revenue
    ("A", "2026-10-03 10:00", 200.0, "pos", "card_purchase", True, 0.8),
    ("A", "2026-10-05 11:00", 500.0, "counter", "transfer_out", True, 2.0),
    ("A", "2026-10-21 00:00", 1.0, "other", "fee", False, 10.0),
    ("A", "2026-09-10 09:00", 300.0, "atm", "cash_withdrawal", True, None),
    ("B", "2026-10-31 23:59", 80.0, "mobile", "bill_payment", True, 0.1),
    ("B", "2026-11-01 00:00", 99.0, "counter", "transfer_out", True, 9.0),  # after as-of
]


def hand_profit(s: ValueSettings, revenue: bool = True) -> MonthlyProfit:
    frames = {
        "balances": balances(BALANCES),
        "transactions": transactions(TRANSACTIONS, revenue),
    }
    return monthly_profit(connect_frames(frames), AS_OF, 2, s)


def by_customer(profit: MonthlyProfit, component: str, month: int) -> dict[str, float]:
    values = profit.component(component)[:, month]
    return {c: round(float(v), 10) for c, v in zip(profit.customer_id, values, strict=True)}


def test_balance_margin_is_the_average_balance_times_the_rate(settings):
    p = hand_profit(rates(settings))
    assert list(p.customer_id) == ["A", "B"]
    # A: 12,000 opening and closing in both months -> 12 a month
    # B, October: time deposit (0 + 100,000) / 2 x 0.6% / 12 = 25; loan (50,000 + 40,000) / 2
    #   x 2.4% / 12 = 90. September: loan (0 + 50,000) / 2 x 2.4% / 12 = 50 (no August row)
    assert by_customer(p, "balance_margin", 0) == {"A": 12.0, "B": 115.0}
    assert by_customer(p, "balance_margin", 1) == {"A": 12.0, "B": 50.0}
    # what the October month-end balances earn a month: A 12; B 1,000,000 x ... 100,000 x
    # 0.6% / 12 + 40,000 x 2.4% / 12 = 50 + 80
    np.testing.assert_allclose(p.closing_margin[:, 0], [12.0, 130.0])


def test_a_balance_of_billions_earns_its_margin_without_overflow(settings):
    """A private client's (or a corporate mis-keyed as retail) 5.8 billion: the product
    with the rate needs more than 18 digits."""
    big = [("P", d, "current_deposit", 5_785_961_674.0) for d in ("2026-09-30", "2026-10-31")]
    p = monthly_profit(
        connect_frames({"balances": balances(big), "transactions": transactions([])}),
        AS_OF,
        1,
        rates(settings),
    )
    assert by_customer(p, "balance_margin", 0) == {"P": 5_785_961.674}  # x 1.2% / 12


def test_the_first_month_end_of_the_data_stands_for_its_month(settings):
    """With no snapshot before it, the first month's closing balance is its average."""
    p = monthly_profit(
        connect_frames({"balances": balances(BALANCES[1:3]), "transactions": transactions([])}),
        AS_OF,
        2,
        rates(settings),
    )
    assert by_customer(p, "balance_margin", 1) == {"A": 12.0}  # September: the first month end


def test_revenue_split_and_cost_to_serve_by_channel(settings):
    p = hand_profit(rates(settings))
    # October: A's card purchase earns interchange 0.8, its counter transfer a fee of 2
    # (customer-initiated), the bank's annual fee 10 (the bank's own posting)
    assert by_customer(p, "interchange", 0) == {"A": 0.8, "B": 0.0}
    assert by_customer(p, "interchange_by_customer", 0) == {"A": 0.8, "B": 0.0}
    assert by_customer(p, "interchange_by_bank", 0) == {"A": 0.0, "B": 0.0}
    assert by_customer(p, "fees", 0) == {"A": 12.0, "B": 0.1}
    assert by_customer(p, "fees_by_customer", 0) == {"A": 2.0, "B": 0.1}
    assert by_customer(p, "fees_by_bank", 0) == {"A": 10.0, "B": 0.0}
    # cost: A's card at a POS 0 + counter 5 (the bank's fee posting costs nothing); B mobile
    assert by_customer(p, "cost_to_serve", 0) == {"A": 5.0, "B": 0.05}
    # September: A's ATM withdrawal costs 1 and earned nothing (null revenue)
    assert by_customer(p, "cost_to_serve", 1) == {"A": 1.0, "B": 0.0}
    assert by_customer(p, "fees_by_customer", 1) == {"A": 0.0, "B": 0.0}
    # profit = margin + interchange + fees - cost
    np.testing.assert_allclose(p.profit()[:, 0], [12 + 0.8 + 2 + 10 - 5, 115 + 0.1 - 0.05])


def test_a_customer_missing_from_one_side_earns_0_there(settings):
    """Balances without transactions (S) and transactions without balances (T): every
    component is a number, 0 where nothing happened, never NaN."""
    frames = {
        "balances": balances(
            [("S", d, "current_deposit", 12000.0) for d in ("2026-09-30", "2026-10-31")]
        ),
        "transactions": transactions(
            [("T", "2026-10-03 10:00", 50.0, "mobile", "bill_payment", True, 0.1)]
        ),
    }
    p = monthly_profit(connect_frames(frames), AS_OF, 2, rates(settings))
    assert list(p.customer_id) == ["S", "T"]
    assert not np.isnan(p.values).any() and not np.isnan(p.closing_margin).any()
    assert by_customer(p, "balance_margin", 0) == {"S": 12.0, "T": 0.0}
    assert by_customer(p, "fees_by_customer", 0) == {"S": 0.0, "T": 0.1}
    assert by_customer(p, "cost_to_serve", 1) == {"S": 0.0, "T": 0.0}
    np.testing.assert_array_equal(p.closing_margin[:, 0], [12.0, 0.0])


def test_card_spend_the_bank_posted_is_interchange_the_bank_model_does_not_carry(settings):
    """Card spend a source config does not count as customer-initiated (a recurring charge
    the bank posts, say) earns interchange all the same, kept apart from the customer's own
    card spend: the BTYD model values only the customer's own transactions."""
    rows = [
        ("A", "2026-10-03 10:00", 200.0, "pos", "card_purchase", True, 0.8),
        ("A", "2026-10-04 10:00", 500.0, "online", "card_purchase", False, 2.0),
    ]
    frames = {"balances": balances(BALANCES[:1]), "transactions": transactions(rows)}
    p = monthly_profit(connect_frames(frames), AS_OF, 1, rates(settings))
    assert by_customer(p, "interchange_by_customer", 0) == {"A": 0.8}
    assert by_customer(p, "interchange_by_bank", 0) == {"A": 2.0}
    assert by_customer(p, "interchange", 0) == {"A": 2.8}


def test_months_open_counts_the_opening_month_and_as_ofs(settings):
    frames = {
        "balances": balances(BALANCES),
        "transactions": transactions(TRANSACTIONS),
        "customers": pd.DataFrame(
            {"customer_id": ["A", "B"], "open_date": [date(2020, 1, 15), date(2026, 10, 31)]}
        ).astype({"open_date": "datetime64[s]"}),
    }
    p = monthly_profit(connect_frames(frames), AS_OF, 2, rates(settings))
    # A: January 2020 to October 2026 = 6 x 12 + 10 months; B opened on as-of's last day
    assert p.months_open.tolist() == [82, 1]
    # no customer table: opened long before the months read
    long_ago = 2026 * 12 + 10
    assert hand_profit(rates(settings)).months_open.tolist() == [long_ago, long_ago]


def test_without_a_revenue_column_the_tariff_applies(settings):
    """Card spend earns interchange_rate x amount; other types the fee schedule."""
    s = rates(settings, interchange_rate=0.004, fee_schedule=(("fee", 10.0), ("transfer_out", 3.0)))
    p = hand_profit(s, revenue=False)
    assert by_customer(p, "interchange", 0) == {"A": 0.8, "B": 0.0}  # 200 x 0.4%
    assert by_customer(p, "fees_by_customer", 0) == {"A": 3.0, "B": 0.0}
    assert by_customer(p, "fees_by_bank", 0) == {"A": 10.0, "B": 0.0}


# --- carrying a month's profit over the horizon -----------------------------------------


def test_monthly_hazard_reproduces_the_horizon_probability():
    h = monthly_hazard(np.array([0.2, 0.0, 1.0]), 3)
    np.testing.assert_allclose((1 - h) ** 3, [0.8, 1.0, 0.0])
    np.testing.assert_allclose(h[0], 1 - 0.8 ** (1 / 3))
    with pytest.raises(ValueError, match="at least 1"):
        monthly_hazard(np.array([0.1]), 0)


@given(
    hazard=st.floats(0.0, 0.9),
    discount=st.floats(0.0, 0.05),
    months=st.integers(1, 60),
)
def test_retention_factor_is_the_sum_of_kept_and_discounted_months(hazard, discount, months):
    by_hand = sum(((1 - hazard) / (1 + discount)) ** m for m in range(1, months + 1))
    assert retention_factor(np.array([hazard]), months, discount)[0] == pytest.approx(by_hand)


def test_retention_factor_worked_by_hand():
    # no risk, no discount: 12 months are worth 12 months
    assert retention_factor(np.array([0.0]), 12, 0.0)[0] == 12.0
    # hazard 0.5, no discount, 2 months: 0.5 + 0.25
    assert retention_factor(np.array([0.5]), 2, 0.0)[0] == pytest.approx(0.75)
    # no risk, 10% a month, 2 months: 1/1.1 + 1/1.21
    assert retention_factor(np.array([0.0]), 2, 0.1)[0] == pytest.approx(1 / 1.1 + 1 / 1.21)


def _profit(values: dict[str, list[float]], closing: dict[str, list[float]]) -> MonthlyProfit:
    """Per customer, months of profit as balance margin only (newest first)."""
    ids = sorted(values)
    arr = np.zeros((len(ids), len(values[ids[0]]), len(COMPONENTS)))
    for i, c in enumerate(ids):
        arr[i, :, COMPONENTS.index("balance_margin")] = values[c]
    return MonthlyProfit(AS_OF, pd.Series(ids), arr, np.array([closing[c] for c in ids]))


def test_customer_value_by_hand(settings):
    s = replace(rates(settings), run_rate_months=2, horizon_months=2, discount_rate_annual=0.0)
    profit = MonthlyProfit(
        AS_OF,
        pd.Series(["A", "B", "C"]),
        np.array(
            [
                # balance margin, interchange by the customer, by the bank, fees by the
                # customer, by the bank, cost
                [[10, 1, 2, 4, 1, 2], [10, 3, 0, 0, 1, 0]],  # A
                [[50, 0, 0, 0, 0, 0], [70, 0, 0, 0, 0, 0]],  # B
                [[5, 0, 0, 0, 0, 0], [5, 0, 0, 0, 0, 0]],  # C
            ],
            dtype=float,
        ),
        np.array([[12.0, 10, 10], [40.0, 60, 60], [5.0, 5, 5]]),
    )
    scored = pd.DataFrame(
        {
            "customer_id": ["A", "B", "C", "D", "E"],
            "status": ["active", "active", "closed", "active", "active"],
            "in_btyd": [True, False, False, False, True],
            "btyd_clv": [7.0, np.nan, np.nan, np.nan, 4.0],
            "p_alive": [0.9, np.nan, np.nan, np.nan, 0.75],
            "churn_probability": [0.0, 0.75, 1.0, np.nan, np.nan],
        }
    )
    out, notes = customer_value(scored, profit, 1, s)
    # E: no churn model score: 1 - P(alive) = 0.25 weighs its value (BTYD's 4 only);
    # what weighed each customer's value at risk is kept beside it (D: nothing)
    np.testing.assert_array_equal(out["leave_probability"], [0.0, 0.75, 1.0, np.nan, 0.25])
    assert out["value_at_risk"].iloc[4] == pytest.approx(out["clv"].iloc[4] * 0.25)
    out, scored = out.iloc[:4], scored.iloc[:4]
    # A: monthly = closing margin 12 + interchange mean 2 + 1 + fees mean 2 + 1 - cost mean
    #    1 = 17; its own transactions' interchange and fees (means 2 and 2) are BTYD's, so
    #    CLV counts the bank's interchange 1 and fees 1 with the margin and cost:
    #    staying for sure: 2 months x 13 + BTYD 7 = 33
    # B: closing margin 40, p 0.75 over 1 month: kept 0.25 then 0.0625 -> 40 x 0.3125 = 12.5
    # C: closed: 0. D: no profit rows, no risk estimate: 0, counted in the notes
    assert out["monthly_profit"].tolist() == [12 + 3 + 3 - 1, 40.0, 5.0, 0.0]
    assert out["monthly_interchange"].tolist() == [3.0, 0.0, 0.0, 0.0]
    assert out["monthly_fees"].tolist() == [3.0, 0.0, 0.0, 0.0]
    assert out["clv"].tolist() == pytest.approx([33.0, 12.5, 0.0, 0.0])
    assert out["transaction_clv"].tolist() == [7.0, 0.0, 0.0, 0.0]
    assert out["value_at_risk"].tolist() == pytest.approx([0.0, 12.5 * 0.75, 0.0, 0.0])
    assert notes == {"customers_without_risk_estimate": 1}


def test_run_rate_takes_the_latest_balances_and_the_mean_of_the_flows(settings):
    profit = _profit({"A": [10.0, 20.0, 30.0]}, {"A": [8.0, 16.0, 32.0, 40.0]})
    np.testing.assert_allclose(run_rate(profit, 0, 2)[0, 0], 8.0)
    np.testing.assert_allclose(run_rate(profit, 1, 2)[0, 0], 16.0)
    with pytest.raises(ValueError, match="needs 4 months"):
        run_rate(profit, 1, 3)


def test_a_newer_customers_flows_are_averaged_over_the_months_since_opening():
    """Fees of 30 in the as-of month: 30 a month for a customer who opened that month, 15
    for one who opened the month before, 10 for one a customer all three months; seen a
    month back, the first was not yet a customer (0)."""
    values = np.zeros((3, 4, len(COMPONENTS)))
    values[:, 0, COMPONENTS.index("fees_by_customer")] = 30.0
    profit = MonthlyProfit(
        AS_OF, pd.Series(["A", "B", "C"]), values, np.zeros((3, 5)), np.array([1, 2, 40])
    )
    fees = COMPONENTS.index("fees_by_customer")
    np.testing.assert_array_equal(run_rate(profit, 0, 3)[:, fees], [30.0, 15.0, 10.0])
    np.testing.assert_array_equal(run_rate(profit, 1, 3)[:, fees], [0.0, 0.0, 0.0])
    unknown = MonthlyProfit(AS_OF, profit.customer_id, values, np.zeros((3, 5)))
    np.testing.assert_array_equal(run_rate(unknown, 0, 3)[:, fees], [10.0, 10.0, 10.0])


def test_high_value_is_the_top_share_of_active_customers_ties_included():
    clv = pd.Series([100.0, 50.0, 50.0, 10.0, 999.0])
    active = np.array([True, True, True, True, False])
    # top 25% of 4 active customers = 1 -> 100; top 50% = 2 -> 100 and both 50s (a tie)
    assert high_value(clv, active, 0.25).tolist() == [True, False, False, False, False]
    assert high_value(clv, active, 0.5).tolist() == [True, True, True, False, False]
    assert not high_value(clv, np.zeros(5, dtype=bool), 0.5).any()
    # 7% of 100 is 7, though 0.07 x 100 is 7.000000000000001 in floating point
    assert high_value(pd.Series(np.arange(100.0, 0.0, -1.0)), np.ones(100, bool), 0.07).sum() == 7


def test_value_check_by_hand(settings):
    """Horizon 2: at T0 (2 months back) A earned 10 a month with closing margin 10, and
    went on to earn 8 and 8; B earned 30 with closing margin 20 and went on to earn 20
    and 20; the model's probabilities of leaving are 0 and 0.36 (so B stays 0.8 then 0.64
    of the time); the bank's retention is 0.9."""
    s = replace(rates(settings), run_rate_months=2)
    profit = _profit(
        {"A": [8.0, 8.0, 10.0, 10.0], "B": [20.0, 20.0, 30.0, 30.0]},
        {"A": [8.0, 8.0, 10.0, 10.0, 10.0], "B": [20.0, 20.0, 20.0, 30.0, 30.0]},
    )
    rows = profit.rows(pd.Series(["A", "B"]))
    check = validate_value(profit, rows, np.array([0.0, 0.36]), 0.9, 2, s)
    # model: A 10 x 2 = 20; B 20 x (0.8 + 0.64) = 28.8. realized: 16 and 40
    assert check["model"]["predicted_total"] == pytest.approx(48.8)
    assert check["model"]["actual_total"] == pytest.approx(56.0)
    assert check["model"]["mae"] == pytest.approx((4 + 11.2) / 2)
    # baseline: last 2 months repeated x 0.9: 18 and 54
    assert check["naive_baseline"]["mae"] == pytest.approx((2 + 14) / 2)
    assert check["model_beats_baseline"] is True
    assert check["model"]["aggregate_pct_error"] == pytest.approx((48.8 - 56) / 56 * 100)


# --- the configuration a bank gets wrong ------------------------------------------------


def _config(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "bank.yml"
    path.write_text(text, encoding="utf-8")
    return path


def test_a_product_without_a_rate_is_an_error_naming_it(tmp_path: Path):
    rates_without_bond = {
        p: r for p, r in load_config()["value"]["margin_rates"].items() if p != "bond"
    }
    body = "\n".join(f"    {p}: {r}" for p, r in rates_without_bond.items())
    with pytest.raises(ConfigError, match=r"value.margin_rates: no rate for product 'bond'"):
        load_config(_config(tmp_path, f"value:\n  margin_rates:\n{body}\n"))


def test_a_negative_rate_is_an_error_naming_it(tmp_path: Path):
    body = "\n".join(
        f"    {p}: {-0.01 if p == 'loan' else r}"
        for p, r in load_config()["value"]["margin_rates"].items()
    )
    with pytest.raises(ConfigError, match=r"value.margin_rates.loan: must not be negative"):
        load_config(_config(tmp_path, f"value:\n  margin_rates:\n{body}\n"))
    with pytest.raises(ConfigError, match=r"value.cost_per_transaction: no rate for channel"):
        load_config(_config(tmp_path, "value:\n  cost_per_transaction: {counter: 5.0}\n"))
    # a negative discount rate would make CLV NaN (at -100%) or a complex number (below);
    # 5 is 500% a year, a percentage meant as a share
    for rate in ("-0.05", "-1.5", ".nan", "5"):
        with pytest.raises(ConfigError, match=r"clv.discount_rate_annual: must be a share between"):
            load_config(_config(tmp_path, f"clv:\n  discount_rate_annual: {rate}\n"))
    assert load_config(_config(tmp_path, "clv:\n  discount_rate_annual: 1.0\n"))


def test_a_horizon_of_zero_is_an_error(tmp_path: Path):
    with pytest.raises(ConfigError, match=r"clv.horizon_months: must be at least 1, got 0"):
        load_config(_config(tmp_path, "clv:\n  horizon_months: 0\n"))
    with pytest.raises(ConfigError, match=r"value.run_rate_months: must be at least 1"):
        load_config(_config(tmp_path, "value:\n  run_rate_months: 0\n"))
    with pytest.raises(ConfigError, match=r"value_risk.high_value_share"):
        load_config(_config(tmp_path, "value_risk:\n  high_value_share: 0.0\n"))


def test_watchlists_take_each_branch_top_value_at_risk_ties_by_customer_id():
    # B1: 5 first, then the 3s by customer id; closed and nothing-at-risk customers never;
    # B2 has fewer customers at risk than the list's size
    scores = pd.DataFrame(
        {
            "customer_id": ["C5", "C4", "C3", "C2", "C1", "C6", "C7", "C8"],
            "branch_id": ["B1"] * 6 + ["B2", "B2"],
            "status": ["active"] * 5 + ["closed", "active", "active"],
            "value_at_risk": [3.0, 3.0, 5.0, 3.0, 1.0, 9.0, 2.0, 0.0],
            "days_since_rm_contact": [1.0, 2.0, np.nan, 4.0, 5.0, 6.0, 30.0, 8.0],
        }
    )
    # no churn model: the list shows the probability value at risk was weighted with
    scores["churn_probability"] = np.nan
    scores["leave_probability"] = [0.1, 0.2, 0.3, 0.4, 0.5, 1.0, 0.7, 0.8]
    for column in WATCHLIST_COLUMNS:
        if column not in scores:
            scores[column] = 0.0
    lists = watchlists(scores, date(2026, 10, 31), size=3)
    assert lists["B1"]["churn_probability"].tolist() == [0.3, 0.4, 0.2]
    assert lists["B1"]["customer_id"].tolist() == ["C3", "C2", "C4"]
    assert lists["B1"]["rank"].tolist() == [1, 2, 3]
    assert lists["B1"]["last_contact_date"].tolist() == [None, "2026-10-27", "2026-10-29"]
    assert lists["B2"]["customer_id"].tolist() == ["C7"]
    assert lists["B2"]["last_contact_date"].tolist() == ["2026-10-01"]


def test_the_unassigned_list_is_in_the_order_to_assign_high_value_first_and_ranked_so():
    """Whom to give an RM first: high-value customers, each part by value at risk (ties by
    CLV, then id); the rank is the row's place. Customers with an RM, closed ones and
    mass customers of no high value are not on it."""
    scores = pd.DataFrame(
        {
            "customer_id": ["a", "b", "c", "d", "e", "f", "g"],
            "branch_id": "B01",
            "rm_id": [None, None, None, None, "RM1", None, None],
            "status": ["active"] * 5 + ["closed", "active"],
            "tier": ["wealth", "affluent", "mass", "wealth", "wealth", "wealth", "mass"],
            "high_value": [False, False, True, True, True, True, False],
            "value_at_risk": [9.0, 5.0, 1.0, 1.0, 99.0, 50.0, 70.0],
            "clv": [90.0, 50.0, 500.0, 600.0, 990.0, 500.0, 700.0],
            "leave_probability": 0.1,
            "days_since_rm_contact": pd.array([None] * 7, dtype="Int64"),
        }
    )
    for column in ("aum", "monthly_profit", "reason_codes"):
        scores[column] = 0.0
    listed = unassigned(scores, AS_OF, ("affluent", "wealth"))["B01"]
    assert listed["customer_id"].tolist() == ["d", "c", "a", "b"]  # d, c: high value
    assert listed["rank"].tolist() == [1, 2, 3, 4]
    assert set(listed["action"]) == {"assign an RM"}
    # exports with no RM assignment at all: who lacks one is not known, no one is listed
    unknown = unassigned(scores.assign(rm_id=None), AS_OF, ("affluent", "wealth"))
    assert list(unknown) == ["B01"] and unknown["B01"].empty
