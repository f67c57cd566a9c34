"""BTYD fits on hand-made degenerate data: the no-dropout limit, the fallback order, no
model at all (with advice), the value model's fallback, and validation refusing
non-finite predictions."""

from __future__ import annotations

from dataclasses import replace
from datetime import date

import numpy as np
import pandas as pd
import pytest
from scoring_support import clv_settings

from pipeline import btyd
from pipeline.config import load_config
from pipeline.engine import connect_frames
from pipeline.errors import ConfigError
from pipeline.scoring import clv_fit, validation
from pipeline.scoring.clv import PREDICTION_SCHEMA, clv_card, clv_scores, fit_models
from pipeline.scoring.settings import ClvSettings
from pipeline.steps import Skipped


@pytest.fixture(scope="module")
def settings() -> ClvSettings:
    return clv_settings(load_config())


def frame(rows: list[tuple[float, float, float]]) -> pd.DataFrame:
    out = pd.DataFrame(rows, columns=["frequency", "recency", "T"])
    out.insert(0, "customer_id", [f"c{i:04d}" for i in range(len(out))])
    out["monetary_value"] = np.where(out["frequency"] > 0, 10.0 + out["frequency"], 0.0)
    return out


def no_dropout() -> pd.DataFrame:
    """Everyone buys steadily up to the end of their history, at rates that differ."""
    rows = []
    for x in range(9):
        for t in (30.0, 40.0, 50.0):
            rows += [(float(x), t - 0.5 if x else 0.0, t)] * (12 - x)
    return frame(rows)


def two_kinds() -> pd.DataFrame:
    """Steady buyers seen to the end, and customers who bought once more right after
    their first purchase and never again: BG/NBD's dropout probability is 0 or 1."""
    rows = []
    for x in range(1, 9):
        rows += [(float(x), 50.0 - x, 50.0)] * 20
    rows += [(1.0, 2.0, 50.0)] * 60 + [(0.0, 0.0, 50.0)] * 80
    return frame(rows)


def alike() -> pd.DataFrame:
    """Every customer with the same history: no heterogeneity for any model."""
    return frame([(5.0, 10.0, 10.0)] * 60)


def test_no_dropout_is_the_nbd_limit_not_a_failure(settings):
    data = no_dropout()
    fitted = clv_fit.fit_transactions(data, settings)
    assert fitted.model == "nbd" and fitted.selection == ()  # no fallback: a real answer
    assert "BG/NBD's dropout parameter a went to 0" in fitted.note
    assert "b not identified" in fitted.note
    # the limit is BG/NBD's supremum: BG/NBD's own likelihood never beats it
    r, alpha = fitted.params["r"], fitted.params["alpha"]
    for a in (1e-3, 1e-6):
        ll = btyd.log_likelihood(
            "bgnbd",
            {"r": r, "alpha": alpha, "a": a, "b": 5.0},
            data["frequency"],
            data["recency"],
            data["T"],
        )
        assert ll <= fitted.log_likelihood + 1e-9
    f, rec, t = (data[k].to_numpy() for k in ("frequency", "recency", "T"))
    assert (btyd.p_alive(fitted, f, rec, t) == 1.0).all()
    np.testing.assert_allclose(
        btyd.expected_transactions(fitted, 26.0, f, rec, t), (r + f) * 26.0 / (alpha + t)
    )
    card = clv_card(data, fitted, None, settings, date(2026, 10, 31), [], None, "x")
    assert card["model"] == "nbd" and card["model_requested"] == "bgnbd"
    assert card["model_note"] == fitted.note and fitted.note in card["warnings"]


def test_a_degenerate_model_falls_back_to_the_next_with_its_reason(settings):
    data = two_kinds()
    with pytest.raises(btyd.DegenerateFit, match="a and b went to 0: each customer's dropout"):
        btyd.fit_transactions_model(data, "bgnbd", 0.0, 30)
    fitted = clv_fit.fit_transactions(data, settings)
    assert fitted.model == "mbgnbd"
    assert [t["model"] for t in fitted.selection] == ["bgnbd"]
    assert fitted.selection[0]["outcome"] == "degenerate"
    card = clv_card(data, fitted, None, settings, date(2026, 10, 31), [], None, "x")
    assert card["models_set_aside"] == [dict(fitted.selection[0])]
    assert card["warnings"][0].startswith("BG/NBD set aside: BG/NBD fit is degenerate: a and b")
    # and in the configured order: Pareto/NBD first when it comes first
    first_pareto = replace(settings, fallback_models=("pareto_nbd", "mbgnbd"))
    assert clv_fit.fit_transactions(data, first_pareto).model == "pareto_nbd"


def test_when_no_model_holds_the_stage_goes_on_saying_what_each_did_and_what_helps(settings):
    none = clv_fit.transactions_model(alike(), settings)
    assert isinstance(none, clv_fit.NoTransactionsModel) and isinstance(none, Skipped)
    text = none.reason
    assert text.startswith("no BTYD model fits the customer-initiated transactions (60 customers")
    for name in ("BG/NBD fit is degenerate", "MBG/NBD fit is degenerate", "Pareto/NBD fit is"):
        assert name in text
    assert "every customer buys at the same rate" in text
    assert "customer_initiated_txn_types" in text  # what makes customers look alike
    assert "penalizer" not in text  # a larger penalizer does not help here
    assert [t["model"] for t in none.tried] == ["bgnbd", "mbgnbd", "pareto_nbd"]
    assert [t["outcome"] for t in none.tried] == ["degenerate"] * 3
    assert all(t["reason"] in text for t in none.tried)
    # fit_transactions (the calibration fit's caller) still raises it
    with pytest.raises(btyd.BtydFitError) as caught:
        clv_fit.fit_transactions(alike(), settings)
    assert str(caught.value) == text
    # a model left out of the order is offered
    short = replace(settings, fallback_models=())
    said = clv_fit.transactions_model(alike(), short).reason
    assert "adding pareto_nbd, mbgnbd to clv.fallback" in said


def test_without_a_model_no_customer_has_predictions_and_the_card_says_why(settings):
    data = alike()
    none = clv_fit.transactions_model(data, settings)
    tables = {
        "transactions": pd.DataFrame(
            {"txn_time": pd.to_datetime(["2026-03-02", "2026-05-04"]), "customer_initiated": True}
        ),
        "balances": pd.DataFrame({"month_end": [date(2026, 9, 30)]}),
    }
    engine = connect_frames(tables)
    scores, card = clv_scores(engine, data, none, date(2026, 10, 31), settings)
    assert len(scores) == 0 and list(scores.columns) == list(PREDICTION_SCHEMA.names)
    assert card["status"] == "no_model" and card["model"] is None
    assert card["parameters"] is None and card["value_model"] is None
    assert card["message"] == none.reason
    assert card["models_set_aside"] == [dict(t) for t in none.tried]
    assert card["customers"] == 60 and card["repeat_customers"] == 60
    assert card["data_window"]["first_event"] == "2026-03-02"
    assert card["warnings"] == [
        "No transactions model this month (P(alive) and expected transactions are null; every "
        "customer is valued from the run rate of all their flows, their own transactions' fees "
        f"among them): {none.reason}"
    ]
    # the holdout check is not run: there is no model to check
    section = validation.validate_clv(
        date(2026, 10, 31), settings, data.assign(holdout_events=1.0), none
    )
    assert section["status"] == "no_model" and section["verdict"] is None
    assert section["warning"] is None  # said once, by the CLV section
    assert "model" not in section and "naive_baseline" not in section


def test_non_finite_predictions_are_caught_and_set_aside(settings, monkeypatch):
    data = two_kinds()
    # lifetimes' degenerate BG/NBD (a, b near 1e-20) predicts NaN for some customers
    broken = btyd.transactions_model_from_params(
        "bgnbd", {"r": 0.7, "alpha": 5.0, "a": 1e-20, "b": 1e-20}, len(data), 1
    )
    problem = clv_fit.prediction_problem(broken, data, settings)
    assert problem.startswith("BG/NBD gave non-finite or impossible predictions")
    real = btyd.fit_transactions_model

    def fit(summary, model, penalizer, minimum):
        return broken if model == "bgnbd" else real(summary, model, penalizer, minimum)

    monkeypatch.setattr(btyd, "fit_transactions_model", fit)
    fitted = clv_fit.fit_transactions(data, settings)
    assert fitted.model == "mbgnbd"
    assert fitted.selection[0] == {
        "model": "bgnbd",
        "outcome": "non_finite_predictions",
        "reason": problem,
    }


def test_too_little_data_stops_before_any_model(settings):
    thin = frame([(0.0, 0.0, 10.0)] * 40 + [(1.0, 3.0, 10.0)] * 5)
    with pytest.raises(btyd.BtydFitError, match="too little data to fit BG/NBD: 5 customers"):
        clv_fit.fit_transactions(thin, settings)


def test_no_value_on_any_event_falls_back_to_observed_means_saying_clv_is_0(settings):
    data = two_kinds().assign(monetary_value=0.0)
    fitted, gg, problem = fit_models(data, settings)
    assert gg is None and problem.startswith("too little data to fit Gamma-Gamma: 0 repeat")
    card = clv_card(data, fitted, gg, settings, date(2026, 10, 31), [], None, problem)
    said = " ".join(card["warnings"])
    assert "no customer-initiated event carries a value, so transaction CLV is 0" in said
    assert "clv.value_source: margin_rates" in said
    assert card["value_model"] == "observed_mean"


def test_no_balances_is_said_in_the_card(settings):
    data = no_dropout()
    fitted = clv_fit.fit_transactions(data, settings)
    card = clv_card(data, fitted, None, settings, date(2026, 10, 31), [], None, "x", False)
    assert card["value_basis"] == "transactions only: no balances"
    assert any(
        w.startswith("no balances in the data: customer value is from transactions only")
        for w in card["warnings"]
    )
    assert card["currency"] == settings.currency


def test_validation_refuses_non_finite_predictions(settings, monkeypatch):
    data = two_kinds().assign(holdout_events=1.0)
    # the degenerate BG/NBD lifetimes would report (a, b near 1e-20): NaN for x = 0
    broken = btyd.transactions_model_from_params(
        "bgnbd", {"r": 0.7, "alpha": 5.0, "a": 1e-20, "b": 1e-20}, len(data), 1
    )
    monkeypatch.setattr(validation, "fit_transactions", lambda summary, s: broken)
    section = validation.validate_clv(date(2026, 10, 31), settings, data)
    assert section["status"] == "refused" and section["verdict"] is None
    assert "non-finite holdout predictions for 80 of 300 customers" in section["warning"]
    assert "model" not in section and "naive_baseline" not in section  # no "MAE inf" verdicts


def test_fallback_models_are_checked_naming_the_key():
    for bad, match in (
        (["mbgnbd", "mbgnbd"], "each model once"),
        (["gamma"], "'gamma' is not a model"),
    ):
        with pytest.raises(ConfigError, match=f"clv.fallback_models: {match}"):
            ClvSettings.from_config(load_config(overrides={"clv.fallback_models": bad}))
    # the first model is not tried again among the fallbacks
    pareto_first = ClvSettings.from_config(load_config(overrides={"clv.model": "pareto_nbd"}))
    assert pareto_first.models == ("pareto_nbd", "mbgnbd")
