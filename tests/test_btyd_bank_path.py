"""BTYD fits on real transactions through the same code path as a bank's exports: a
source config, `crm ingest`, the BTYD summary in SQL and the stage's own fits.

- CDNOW (the sample shipped inside lifetimes): the shipped defaults -- one event per
  customer and day, times in weeks, no penalizer -- reproduce the published BG/NBD and
  Gamma-Gamma parameters (domain.md).
- Online Retail II, every month end of 2010 in days without a penalizer: the weighted
  unique-row fit converges wherever lifetimes fitted on every customer converges, to
  the same log-likelihood; where the maximum is on the edge of the parameter space it
  says so (the dropout parameter a going to 0 at 2010-10-31 gives the no-dropout limit).
"""

from __future__ import annotations

import contextlib
import io
import os
import warnings
from dataclasses import replace
from datetime import date
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from conftest import shared_data

from pipeline import btyd
from pipeline.catalog import Catalog
from pipeline.config import load_config
from pipeline.engine import connect
from pipeline.ingest.stage import run_ingest
from pipeline.periods import as_of_date
from pipeline.scoring.clv import fit_models
from pipeline.scoring.settings import ClvSettings
from pipeline.scoring.summary import btyd_summary

with warnings.catch_warnings():
    warnings.simplefilter("ignore")
    import lifetimes
    from lifetimes import BetaGeoFitter

CDNOW_SOURCE = """
# The CDNOW sample (lifetimes/datasets/CDNOW_sample.txt) as a bank's export: one line a
# purchase. A free item (8 lines of 0.00) is still a purchase: revenue 0, and an amount
# of one cent, since a bank's transaction amount is positive.
name: cdnow
raw_dir: cdnow
currency: USD
defaults: {date_format: "%Y%m%d", timestamp_format: "%Y%m%d"}
customer_initiated_txn_types: [purchase]
tables:
  customers:
    derive_from: transactions
    columns:
      branch_id: {value: CDNOW}
  transactions:
    files: cdnow.csv
    columns:
      txn_id: {expr: "customer || '-' || day || '-' || line"}
      customer_id: customer
      txn_time: day
      amount: {expr: "greatest(CAST(dollars AS DOUBLE), 0.01)"}
      revenue: {expr: "CAST(dollars AS DOUBLE)"}
      direction: {value: debit}
      channel: {value: online}
      txn_type: {value: purchase}
"""


@pytest.fixture(scope="module")
def cdnow(tmp_path_factory) -> tuple[ClvSettings, pd.DataFrame]:
    root = tmp_path_factory.mktemp("cdnow") / "data"
    raw = root / "raw" / "cdnow"
    raw.mkdir(parents=True)
    text = Path(lifetimes.__file__).parent / "datasets" / "CDNOW_sample.txt"
    lines = pd.read_csv(
        text,
        sep=r"\s+",
        header=None,
        names=["master", "customer", "day", "cds", "dollars"],
        dtype=str,
    )
    lines.insert(0, "line", range(1, len(lines) + 1))
    lines.to_csv(raw / "cdnow.csv", index=False)
    (root / "cdnow.yml").write_text(CDNOW_SOURCE, encoding="utf-8")
    cfg = load_config(data_dir=root, overrides={"source": str(root / "cdnow.yml")})
    catalog = Catalog.from_config(cfg)
    run_ingest(cfg, catalog)
    settings = ClvSettings.from_config(cfg)  # the shipped defaults
    summary = btyd_summary(connect(catalog.interim_dir), date(1997, 9, 30), settings)
    return settings, summary


def test_cdnow_through_the_bank_path_is_fader_and_hardies_summary(cdnow):
    _, summary = cdnow
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        from lifetimes.datasets import load_cdnow_summary_data_with_monetary_value

        published = load_cdnow_summary_data_with_monetary_value()
    assert len(summary) == 2357
    got = summary.set_index(summary["customer_id"].astype(int))[["frequency", "recency", "T"]]
    # the published summary's times are days / 7 rounded to two decimals
    np.testing.assert_array_equal(got["frequency"], published["frequency"])
    np.testing.assert_allclose(got["recency"], published["recency"], atol=0.005)
    np.testing.assert_allclose(got["T"], published["T"], atol=0.005)


def test_shipped_defaults_reproduce_the_published_cdnow_parameters(cdnow):
    settings, summary = cdnow
    assert (settings.event_period, settings.time_unit) == ("day", "week")
    assert settings.penalizer == settings.value_penalizer == 0.0
    fitted, gg, problem = fit_models(summary, settings)
    assert fitted.model == "bgnbd" and fitted.selection == () and problem is None
    p = fitted.params
    assert p["r"] == pytest.approx(0.2426, abs=1e-4)
    assert p["alpha"] == pytest.approx(4.4136, abs=1e-4)
    assert p["a"] == pytest.approx(0.7929, abs=1e-4)
    assert p["b"] == pytest.approx(2.4259, abs=2e-4)  # the flat ridge: test_btyd_reference
    assert fitted.log_likelihood == pytest.approx(-9582.43, abs=1e-2)
    assert gg.n_customers == 946
    assert gg.params["p"] == pytest.approx(6.25, abs=1e-2)
    assert gg.params["q"] == pytest.approx(3.74, abs=1e-2)
    assert gg.params["v"] == pytest.approx(15.44, abs=1e-2)
    x = summary.set_index("customer_id").loc["0001"]  # x = 2, t_x = 30.43, T = 38.86
    expected = btyd.expected_transactions(fitted, 39, [x["frequency"]], [x["recency"]], [x["T"]])
    assert expected[0] == pytest.approx(1.226, abs=1e-3)


# --- Online Retail II at every month end of 2010 ----------------------------------------
@pytest.fixture(scope="module")
def retail(tmp_path_factory):
    root = tmp_path_factory.mktemp("retail") / "data"
    (root / "raw").mkdir(parents=True)
    os.symlink(shared_data("online_retail_ii_2009_2010"), root / "raw" / "online_retail_ii")
    cfg = load_config(data_dir=root, overrides={"source": "online_retail_ii"})
    catalog = Catalog.from_config(cfg)
    run_ingest(cfg, catalog)
    days = replace(ClvSettings.from_config(cfg), event_period="day", time_unit="day", penalizer=0.0)
    return connect(catalog.interim_dir), days


MONTH_ENDS = [f"2010-{m:02d}" for m in range(1, 13)]


def lifetimes_fit(summary: pd.DataFrame) -> float | None:
    """lifetimes' BG/NBD on every customer: its log-likelihood, None when it gives up."""
    fitter = BetaGeoFitter(penalizer_coef=0.0)
    with contextlib.redirect_stdout(io.StringIO()), warnings.catch_warnings():
        warnings.simplefilter("ignore")
        try:
            fitter.fit(summary["frequency"], summary["recency"], summary["T"])
        except lifetimes.utils.ConvergenceError:
            return None
    params = {k: float(fitter.params_[k]) for k in ("r", "alpha", "a", "b")}
    f, r, t = summary["frequency"], summary["recency"], summary["T"]
    return btyd.log_likelihood("bgnbd", params, f, r, t)


@pytest.mark.realdata
@pytest.mark.parametrize("period", MONTH_ENDS)
def test_weighted_fit_converges_where_lifetimes_does_to_the_same_likelihood(retail, period):
    engine, s = retail
    summary = btyd_summary(engine, as_of_date(period), s)
    found = btyd.maximum_likelihood(summary, "bgnbd", 0.0)
    assert found.optimum.stationary or any(found.optimum.at_bound), "the optimiser settled"
    theirs = lifetimes_fit(summary)
    if theirs is not None:
        assert found.log_likelihood == pytest.approx(theirs, abs=1e-3)
    # and the stage's answer: a BG/NBD, its no-dropout limit, or a named degenerate fit
    try:
        fitted = btyd.fit_transactions_model(summary, "bgnbd", 0.0, 30)
    except btyd.DegenerateFit as exc:
        assert period in ("2010-01", "2010-12"), exc  # a, b -> 0; a, b -> infinity
        return
    assert fitted.model in ("bgnbd", "nbd")
    assert fitted.log_likelihood >= found.log_likelihood - 1e-3


@pytest.mark.realdata
def test_at_2010_10_31_dropout_goes_to_0_and_the_no_dropout_limit_is_used(retail):
    engine, s = retail
    summary = btyd_summary(engine, date(2010, 10, 31), s)
    found = btyd.maximum_likelihood(summary, "bgnbd", 0.0)
    assert found.params["a"] < 1e-4  # the dropout parameter heads for 0 ...
    fitted = btyd.fit_transactions_model(summary, "bgnbd", 0.0, 30)
    assert fitted.model == "nbd" and "b not identified" in fitted.note  # ... b with nothing
    assert fitted.log_likelihood == pytest.approx(found.log_likelihood, abs=1e-3)
    f, r, t = (summary[k].to_numpy() for k in ("frequency", "recency", "T"))
    assert (btyd.p_alive(fitted, f, r, t) == 1.0).all()
    expected = btyd.expected_transactions(fitted, 30.0, f, r, t)
    assert np.isfinite(expected).all() and (expected > 0).all()


@pytest.mark.realdata
def test_the_comparison_bites_lifetimes_converges_at_months_the_old_weighted_fit_did_not(retail):
    """At 2010-05-31 lifetimes on every customer converges (a at 1e-5, b 15,000) where
    lifetimes on weighted unique rows raised ConvergenceError; at 2010-08-31 both hold
    an interior maximum (a 0.004, b 0.61)."""
    engine, s = retail
    for period in ("2010-05", "2010-08"):
        summary = btyd_summary(engine, as_of_date(period), s)
        theirs = lifetimes_fit(summary)
        assert theirs is not None
        assert btyd.maximum_likelihood(summary, "bgnbd", 0.0).log_likelihood == pytest.approx(
            theirs, abs=1e-3
        )
    fitted = btyd.fit_transactions_model(
        btyd_summary(engine, as_of_date("2010-08"), s), "bgnbd", 0.0, 30
    )
    assert fitted.model == "bgnbd" and fitted.params["a"] == pytest.approx(0.0041, abs=1e-4)
