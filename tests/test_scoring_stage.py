"""The score stage end to end on a small synthetic bank (in memory), independent of the
sample generator: outputs' shape, value x risk rules, thin data. (Byte-for-byte
determinism of the written files: tests/test_scoring_sample_bank.py.)"""

from __future__ import annotations

import copy
from datetime import date

import numpy as np
import pandas as pd
import pytest
from scoring_support import score_settings

from pipeline import btyd
from pipeline.btyd import BtydFitError, monthly_discount_rate
from pipeline.config import load_config
from pipeline.engine import connect_frames
from pipeline.features import FeatureSettings, customer_features
from pipeline.scoring import score_period
from pipeline.scoring.card import SCORE_COLUMNS
from pipeline.scoring.value import monthly_hazard, retention_factor
from pipeline.scoring.value_risk import WATCHLIST_COLUMNS, clv_deciles

PERIOD = "2026-10"
START = pd.Timestamp("2024-11-01")
DAYS = 730


def synthetic_bank(n: int = 1500, seed: int = 11) -> dict[str, pd.DataFrame]:
    """Pareto/NBD-like activity (gamma rates, exponential lifetimes); after dropping out a
    customer's AUM fades (silent attrition) and some close their accounts."""
    rng = np.random.default_rng(seed)
    ids = np.array([f"C{i:05d}" for i in range(n)])
    open_day = rng.integers(0, 365, n)
    lam = rng.gamma(0.8, 1 / 8.0, n)  # transactions per day while alive
    life = rng.exponential(1 / rng.gamma(0.5, 1 / 600.0, n))  # days until dropout
    death = open_day + life
    day = np.arange(DAYS)
    alive = (day[None, :] >= open_day[:, None]) & (day[None, :] < death[:, None])
    tx = alive & (rng.random((n, DAYS)) < lam[:, None])
    tx[np.arange(n), open_day] = True
    ci, di = np.nonzero(tx)
    k = len(ci)
    amount = np.round(rng.lognormal(5, 1, k), 2)
    txns = pd.DataFrame(
        {
            "txn_id": [f"T{i:07d}" for i in range(k)],
            "customer_id": ids[ci],
            "txn_time": START
            + pd.to_timedelta(di, unit="D")
            + pd.to_timedelta(rng.integers(0, 86400, k), unit="s"),
            "amount": amount,
            "direction": "debit",
            "channel": rng.choice(["mobile", "online", "counter", "atm"], k),
            "txn_type": "card_purchase",
            "revenue": np.round(
                amount * rng.uniform(0.005, 0.02, k) * (1 + np.log1p(lam[ci] * 10)), 4
            ),
            "customer_initiated": True,
        }
    )
    month_ends = pd.period_range("2024-11", PERIOD, freq="M").to_timestamp(how="end").normalize()
    me_day = (month_ends - START).days.to_numpy()
    base = rng.lognormal(9.5, 1.6, n)
    fade = np.where(me_day[None, :] > death[:, None] + 30, 0.05, 1.0) * rng.uniform(
        0.9, 1.1, (n, len(me_day))
    )
    opened = me_day[None, :] >= open_day[:, None]
    closes = (rng.random(n) < 0.3) & (death + 60 < DAYS)
    close_day = np.where(closes, np.minimum(death + 60, DAYS - 1), np.nan)
    before_close = ~(me_day[None, :] >= close_day[:, None])
    held = opened & before_close
    bi, mi = np.nonzero(held)
    balances = pd.DataFrame(
        {
            "customer_id": ids[bi],
            "month_end": month_ends[mi].date,
            "product": "current_deposit",
            "balance": np.round(base[bi] * fade[bi, mi], 2),
        }
    )
    customers = pd.DataFrame(
        {
            "customer_id": ids,
            "branch_id": np.array(["B01", "B02", "B03"])[rng.integers(0, 3, n)],
            "open_date": (START + pd.to_timedelta(open_day, unit="D")).date,
            "birth_date": (
                pd.Timestamp("1960-01-01") + pd.to_timedelta(rng.integers(0, 15000, n), unit="D")
            ).date,
            "gender": rng.choice(["F", "M"], n),
            "rm_id": np.where(base > 60000, "RM1", None),
            "status": np.where(closes, "closed", "active"),
            "close_date": pd.Series(
                START + pd.to_timedelta(close_day, unit="D")
            ).dt.date.to_numpy(),
            "digital_enrolled": rng.random(n) < 0.6,
        }
    )
    customers.loc[~closes, "close_date"] = None
    return {"customers": customers, "transactions": txns, "balances": balances}


@pytest.fixture(scope="module")
def cfg():
    c = load_config()
    c["churn"]["min_churners"] = 20
    return c


@pytest.fixture(scope="module")
def bank():
    return synthetic_bank()


@pytest.fixture(scope="module")
def result(bank, cfg):
    con = connect_frames(bank)
    features = customer_features(con, date(2026, 10, 31), FeatureSettings.from_config(cfg))
    return features, score_period(con, features, PERIOD, score_settings(cfg))


def test_one_row_per_customer_with_the_documented_columns(result):
    features, res = result
    s = res.scores
    assert list(s.columns) == ["period", *SCORE_COLUMNS]
    assert s["customer_id"].is_unique and len(s) == len(features)
    assert sorted(s["customer_id"]) == sorted(features["customer_id"].astype(str))
    assert s["customer_id"].is_monotonic_increasing
    ok = s["in_btyd"]
    assert s.loc[ok, "p_alive"].between(0, 1).all()
    # the BTYD part is never negative; CLV as a whole may be (cost to serve above revenue)
    assert (s.loc[ok, "transaction_clv"] >= 0).all()
    assert (s.loc[ok, "expected_transactions"] >= 0).all()
    assert s.loc[~ok, ["p_alive", "clv"]].isna().all().all()
    assert s["clv_decile"].dropna().between(1, 10).all()
    closed = s["status"] == "closed"
    assert (s.loc[closed & ok, ["p_alive", "clv"]] == 0).all().all()


def test_churn_model_trained_and_evaluated_out_of_time(result):
    _, res = result
    churn = res.card["churn"]
    assert churn["status"] == "ok", churn.get("message")
    m = churn["metrics"]
    for name in ("gradient_boosting", "logistic_regression", "simple_rule"):
        assert set(m[name]) == {
            "roc_auc",
            "pr_auc",
            "top_decile_lift",
            "ks",
            "brier",
            "calibration",
        }
        assert len(m[name]["calibration"]) == 10
    # the best simple rule, chosen on the train window, is a real baseline (better than
    # chance out of time) that the model still beats: on this seeded bank by about 0.08
    # ROC-AUC (0.665 vs 0.589); assert a 0.03 margin
    rule = churn["simple_rule"]
    assert rule["rule"] in rule["train_roc_auc"] and rule["chosen_on"] == "train window"
    assert m["simple_rule"]["roc_auc"] > 0.5
    assert m["gradient_boosting"]["roc_auc"] > m["simple_rule"]["roc_auc"] + 0.03
    p = res.scores["churn_probability"]
    assert p.notna().all() and p.between(0, 1).all()
    assert set(res.scores["churn_band"]) <= {"low", "medium", "high"}
    assert len(churn["top_drivers"]) == 10


def test_bands_quadrants_and_watchlists_follow_the_rules(result, cfg):
    _, res = result
    s = res.scores
    b = cfg["churn"]["bands"]
    p = s["churn_probability"]
    assert (s.loc[p >= b["high"], "churn_band"] == "high").all()
    assert (s.loc[(p >= b["medium"]) & (p < b["high"]), "churn_band"] == "medium").all()
    assert (s.loc[p < b["medium"], "churn_band"] == "low").all()
    active = s["status"] == "active"
    top = int(np.ceil(cfg["value_risk"]["high_value_share"] * active.sum()))
    cut = s.loc[active, "clv"].nlargest(top).min()
    assert (s["high_value"] == (active & (s["clv"] >= cut))).all()
    hr = s["churn_band"] == "high"
    assert ((s["value_risk_quadrant"] == "retain now") == (s["high_value"] & hr)).all()
    assert set(res.watchlists) == set(s["branch_id"])
    for branch, w in res.watchlists.items():
        assert list(w.columns) == WATCHLIST_COLUMNS
        assert len(w) <= cfg["value_risk"]["watchlist_size"]
        assert (w["branch_id"] == branch).all()
        assert w["value_at_risk"].is_monotonic_decreasing and (w["value_at_risk"] > 0).all()
        # the branch's active customers with the most value at risk, none left out
        mine = s[(s["branch_id"] == branch) & active]
        assert w["value_at_risk"].min() >= mine["value_at_risk"].nlargest(len(w)).min() - 0.005
        for col in ("name", "national_id", "phone", "address"):
            assert col not in w.columns


def test_model_card_has_windows_parameters_units_and_verdicts(result):
    _, res = result
    card = res.card
    assert card["clv"]["time_unit"] == "week"
    assert set(card["clv"]["parameters"]) == {"r", "alpha", "a", "b"}
    assert card["clv_validation"]["status"] == "ok"
    assert "beat" in card["clv_validation"]["verdict"]
    assert card["churn"]["windows"]["train"]["features_as_of"] == "2026-04-30"
    assert card["churn"]["windows"]["test"]["features_as_of"] == "2026-07-31"


def test_too_few_churners_still_gives_p_alive(bank, cfg):
    c = copy.deepcopy(cfg)
    c["churn"]["min_churners"] = 10**6
    con = connect_frames(bank)
    features = customer_features(con, date(2026, 10, 31), FeatureSettings.from_config(c))
    res = score_period(con, features, PERIOD, score_settings(c))
    assert res.card["churn"]["status"] == "no_model"
    assert "too few churners" in res.card["churn"]["message"]
    assert any("too few churners" in w for w in res.card["warnings"])
    assert res.scores["churn_probability"].isna().all()
    assert res.scores.loc[res.scores["in_btyd"], "p_alive"].notna().all()


def test_thin_data_stops_with_a_clear_error(bank, cfg):
    small = {k: v.copy() for k, v in bank.items()}
    keep = small["customers"]["customer_id"].iloc[:15]
    for k in small:
        small[k] = small[k][small[k]["customer_id"].isin(keep)]
    con = connect_frames(small)
    features = customer_features(con, date(2026, 10, 31), FeatureSettings.from_config(cfg))
    with pytest.raises(BtydFitError, match="too little data"):
        score_period(con, features, PERIOD, score_settings(cfg))


def test_clv_deciles_share_ties_and_keep_nulls():
    clv = pd.Series([0.0, 0.0, 0.0, 1.0, 2.0, None, 3.0, 4.0, 5.0, 6.0, 7.0])
    got = clv_deciles(clv).tolist()
    # ten known values: ranks 1,1,1,4,5,-,6..10 -> deciles floor((rank-1)*10/10)+1
    assert got == [1, 1, 1, 4, 5, pd.NA, 6, 7, 8, 9, 10]


def test_no_transactions_model_values_every_customer_at_the_run_rate(bank, cfg, monkeypatch):
    """Every BTYD model degenerate (as on test_clv_fallbacks' alike()): the stage goes on,
    values every customer from the run rate of all their flows (their own transactions'
    fees among them), P(alive) null, the card saying why."""

    def degenerate(summary, model, penalizer, minimum):
        raise btyd.DegenerateFit(
            f"{btyd.MODEL_NAMES[model]} fit is degenerate: b ran off to infinity: every "
            "customer has the same dropout (no heterogeneity to fit)"
        )

    monkeypatch.setattr(btyd, "fit_transactions_model", degenerate)
    con = connect_frames(bank)
    features = customer_features(con, date(2026, 10, 31), FeatureSettings.from_config(cfg))
    s = score_settings(cfg)
    res = score_period(con, features, PERIOD, s)
    sc = res.scores
    for col in ("p_alive", "expected_transactions", "btyd_frequency"):
        assert sc[col].isna().all(), col
    assert not sc["in_btyd"].any() and (sc["transaction_clv"] == 0).all()
    active = (sc["status"] == "active").to_numpy()
    assert res.card["churn"]["status"] == "ok"  # risk from the churn model, as ever
    hazard = monthly_hazard(sc["churn_probability"].to_numpy(dtype=float), s.churn.horizon_months)
    factor = retention_factor(
        hazard, s.value.horizon_months, monthly_discount_rate(s.value.discount_rate_annual)
    )
    expected = np.where(active, sc["monthly_profit"].to_numpy() * factor, 0.0)
    np.testing.assert_allclose(sc["clv"].to_numpy(dtype=float), expected, rtol=1e-12, atol=1e-9)
    assert np.isfinite(sc["clv"]).all() and (sc.loc[active, "clv"] != 0).any()
    clv = res.card["clv"]
    assert clv["status"] == "no_model" and clv["model"] is None
    assert [t["model"] for t in clv["models_set_aside"]] == list(s.clv.models)
    assert clv["message"].startswith("no BTYD model fits the customer-initiated transactions")
    assert (
        "What may help: check the source config's customer_initiated_txn_types" in (clv["message"])
    )
    assert res.card["clv_validation"]["status"] == "no_model"
    said = [w for w in res.card["warnings"] if "transactions model" in w]
    assert len(said) == 1 and said[0].endswith(clv["message"])
    assert res.card["value"]["customers_without_risk_estimate"] == 0
