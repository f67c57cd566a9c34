"""The sample bank's relationship-manager contacts and their true effect (issue 21).

Hand-worked values for the pieces (the hazard a contact leaves, the dropout day it
moves, the true effect stored), then the properties of a generated bank: contacts lean
to the valuable (RMs' bias) yet reach customers without an RM (campaigns and the
outflow alert), a won-back customer is silent between leaving and coming back, and the
stored true effect (on the bank's churn label) is larger for affluent customers still
here than for mass ones, 0 for customers dormant before the window, and negative for
some (those who dislike being called).
"""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest
from test_sample import CUSTOMER_INITIATED, make_bank, read, read_all

from pipeline.sample import params as P
from pipeline.sample.contacts import (
    ContactHistory,
    dropout_with_contacts,
    hazard_multiplier,
    true_effect,
)

WINDOW = P.Window("2026-06", 6)  # January .. June 2026
JAN, FEB, MAR = (int(d) for d in WINDOW.month_starts[:3])


def test_a_contact_lowers_the_hazard_for_three_months_the_latest_contact_winning() -> None:
    contacted = np.array([[True, False, False, True, False, False]])
    effect = np.array([[0.5, 0.0, 0.0, 1.0, 0.0, 0.0]])
    got = hazard_multiplier(contacted, effect)[0]
    e5, e1 = math.exp(-0.5), math.exp(-1.0)
    np.testing.assert_allclose(got, [e5, e5, e5, e1, e1, e1])


def one_customer(**columns: float) -> dict[str, np.ndarray]:
    base = {
        "open_day": JAN - 1000,
        "dropout_day": JAN + 45,  # mid-February without contacts
        "mu_week": 7 * 0.01,  # 0.01 a day
        "exposure": 0.0,
        "segment": 1,
        "first_dropout_day": JAN + 45,
        "winback_day": P.NO_DAY,
        "lambda_week": 7.0,
        "drain_months": 2,
        "close_draw": 0.99,
    }
    base.update(columns)
    return {k: np.array([v]) for k, v in base.items()}


def test_halving_the_hazard_in_january_moves_the_dropout_by_the_hazard_left() -> None:
    """Exposure 1,045 x 0.01: 1,000 days before January use 10, so 0.45 is left at the
    start of January. At half the rate January's 31 days use 0.155 and February's full
    rate the remaining 0.295 in 29.5 days: day 31 + 30 (ceiling) of the window."""
    cust = one_customer(exposure=10.45)
    multiplier = np.ones((1, 6))
    multiplier[0, 0] = 0.5
    day = dropout_with_contacts(cust, multiplier, WINDOW)[0]
    assert day == FEB + math.ceil((0.45 - 0.5 * 0.01 * 31) / 0.01)


def history_of(cust: dict[str, np.ndarray], effect: float, chance: np.ndarray) -> ContactHistory:
    return ContactHistory(
        counts=np.zeros((1, 6), dtype=int),
        first_dropout_day=cust["first_dropout_day"],
        winback_day=cust["winback_day"],
        dropout_day=cust["dropout_day"],
        effect=np.full((1, 6), effect),
        winback_chance=chance,
    )


def test_the_true_effect_on_the_label_of_a_customer_still_here() -> None:
    """The label over January-March fires when the customer drops out in a month early
    enough to have drained half their assets by March's end (2 months to drain: January
    or February), with no own transaction before. A constant hazard r and transaction
    rate l a day, per month: r / (r + l) x (exp(-A(month start)) - exp(-A(month end))),
    A = (r + l) x days since January 1st; the contact multiplies r by exp(-0.5) for all
    three months."""
    cust = one_customer(
        first_dropout_day=JAN + 400,
        dropout_day=JAN + 400,
        lambda_week=7 * 0.02,  # 0.02 own transactions a day
        drain_months=2,
        close_draw=0.99,  # never a closure
    )
    got = true_effect(cust, history_of(cust, 0.5, np.zeros((1, 6))), np.array([0.05]), WINDOW)

    def fires(r: float) -> float:
        a = r + 0.02
        return r / a * (1 - math.exp(-a * 31)) + r / a * (math.exp(-a * 31) - math.exp(-a * 59))

    assert got[0, 0] == pytest.approx(fires(0.01) - fires(0.01 * math.exp(-0.5)))


def test_the_true_effect_on_a_customer_who_would_close_counts_any_closure_in_the_window():
    """A closer leaves the label's way whatever own transactions came before (the closing
    withdrawal is one): per month, exp(-H(start)) - exp(-H(end)) with H = r x days alone,
    over all three months; the contact multiplies r by exp(-0.5)."""
    cust = one_customer(
        first_dropout_day=JAN + 400,
        dropout_day=JAN + 400,
        lambda_week=7 * 0.02,
        close_draw=0.0,  # a closure
    )
    got = true_effect(cust, history_of(cust, 0.5, np.zeros((1, 6))), np.array([0.05]), WINDOW)
    days = (MAR - JAN) + 31  # January to March's end

    def closes(r: float) -> float:
        return 1 - math.exp(-r * days)

    assert got[0, 0] == pytest.approx(closes(0.01) - closes(0.01 * math.exp(-0.5)))


def test_no_true_effect_on_a_customer_back_after_a_winback() -> None:
    """Won back in January, here until day 400: their last dropout was drawn on return
    and no contact moves it, so a contact in February changes nothing."""
    cust = one_customer(
        first_dropout_day=JAN - 20,
        winback_day=JAN + 9,
        dropout_day=JAN + 400,
        close_draw=0.99,
    )
    got = true_effect(cust, history_of(cust, 0.5, np.zeros((1, 6))), np.array([0.05]), WINDOW)
    assert got[0, 1] == 0.0


def test_the_true_effect_on_a_customer_silently_gone_is_the_chance_to_win_them_back() -> None:
    """Gone in February with 2 months to drain: by May's end (the window from March) the
    assets are down to the residual, well below half of February's end: without the
    contact the label fires, so the effect is the chance of winning them back."""
    cust = one_customer(drain_months=2, close_draw=0.99, lambda_week=7.0)  # left mid-February
    chance = np.zeros((1, 6))
    chance[0, 2] = 0.3  # March: reachable
    got = true_effect(cust, history_of(cust, 0.5, chance), np.array([0.05]), WINDOW)[0]
    assert got[2] == 0.3 and got[3] == 0.0  # beyond reach after the chance fades
    assert got[0] > 0  # still here in January: prevention


# ---- a generated bank ---------------------------------------------------------------------


@pytest.fixture(scope="module")
def bank(tmp_path_factory: pytest.TempPathFactory):
    root = tmp_path_factory.mktemp("contacts")
    catalog = make_bank(root, customers=8_000, months=12, dirt_rate=0.0, seed=11)
    raw, truth_dir = catalog.raw_dir("sample"), catalog.ground_truth_dir()
    return {
        "customers": read(raw / "customers.csv").set_index("customer_id"),
        "contacts": read(raw / "rm_contacts.csv"),
        "transactions": read_all(raw, "transactions/transactions_*.csv"),
        "truth": pd.read_parquet(truth_dir / "customers_truth.parquet").set_index("customer_id"),
        "effect": pd.read_parquet(truth_dir / "contact_effect.parquet").set_index("customer_id"),
    }


def test_contacts_lean_to_the_valuable_but_reach_customers_without_an_rm(bank) -> None:
    truth, contacts = bank["truth"], bank["contacts"]
    contacted = truth.index.isin(set(contacts["customer_id"]))
    share = pd.Series(contacted, index=truth.index).groupby(truth["segment"]).mean()
    assert share["mass"] < share["affluent"] < share["wealth"]
    no_rm = ~truth["has_rm"]
    assert contacted[no_rm.to_numpy()].mean() > 0.3  # campaigns and the outflow alert


def test_the_truth_stores_an_effect_per_customer_and_month(bank) -> None:
    effect, truth = bank["effect"], bank["truth"]
    assert effect.index.tolist() == truth.index.tolist()
    assert len(effect.columns) == 12 and effect.columns[-1] == "2026-10"
    last = effect["2026-07"]
    here = truth["attrition_date"].isna() & ~truth["dormant_at_start"]
    by_segment = last[here].groupby(truth.loc[here, "segment"]).mean()
    assert by_segment["affluent"] > by_segment["mass"] > 0
    assert (effect[truth["dormant_at_start"]] == 0).all().all()
    assert (effect.to_numpy() < 0).any()  # the call-averse
    assert effect.to_numpy().min() >= -1 and effect.to_numpy().max() <= 1


def test_a_won_back_customer_is_silent_between_leaving_and_coming_back(bank) -> None:
    truth, tx = bank["truth"], bank["transactions"]
    back = truth[truth["winback_date"].notna()]
    assert len(back) >= 10
    own = tx[tx["txn_type"].isin(CUSTOMER_INITIATED) & tx["customer_id"].isin(back.index)]
    day = pd.to_datetime(own["txn_time"]).dt.normalize()
    left = pd.to_datetime(back["first_attrition_date"]).loc[own["customer_id"]].to_numpy()
    returned = pd.to_datetime(back["winback_date"]).loc[own["customer_id"]].to_numpy()
    assert not ((day.to_numpy() >= left) & (day.to_numpy() < returned)).any()
    assert (day.to_numpy() >= returned).any()  # and active again after
    assert (
        pd.to_datetime(back["winback_date"]) > pd.to_datetime(back["first_attrition_date"])
    ).all()
