"""The customer feature mart on a hand-made bank: given rows, expected rows (dbt style).

Every expected value below is worked out by hand from tests/test_features_support.py;
the comments say how.
"""

from __future__ import annotations

import datetime as dt
import math
from types import SimpleNamespace

import duckdb
import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from test_features_support import AS_OF, bank, feature_settings

from pipeline.dialect import DUCKDB
from pipeline.drift import KEY_FEATURES
from pipeline.engine import DuckDBEngine, connect_frames
from pipeline.errors import ConfigError, InputError
from pipeline.features import build_period, customer_features, customer_measures
from pipeline.features.sources import fetch_frame
from pipeline.features.stage import summary
from pipeline.schema import PRODUCTS

D = dt.date
IDS = ["A", "B", "C", "F", "G", "H"]  # D closed before the period, E opened after as-of

EXPECTED = {
    "customer_id": IDS,
    "branch_id": ["B1", "B1", "B2", "B1", "B2", "B1"],
    "rm_id": ["R1", None, None, None, "R2", None],
    "period": ["2026-10"] * 6,
    "as_of_date": [AS_OF] * 6,
    # C closed on 2026-10-10 (in the period); H closes after as-of; F's status says closed
    # but without a close_date it cannot be dated, so F counts as open.
    "status": ["active", "active", "closed", "active", "active", "active"],
    "closed_in_period": [False, False, True, False, False, False],
    "open_date": [
        D(2020, 1, 15),
        D(2026, 10, 5),
        D(2019, 3, 31),
        D(2015, 6, 30),
        D(2021, 2, 28),
        D(2017, 1, 1),
    ],
    "new_in_period": [False, True, False, False, False, False],
    # complete months: 2020-01-15 -> 2026-10-15 is 81; month ends count whole (F, G, C)
    "tenure_months": [81, 0, 91, 136, 68, 117],
    # A turns 46 on 2026-11-01; C turns 76 on the as-of day itself
    "age": [45, None, 76, 16, 65, None],
    "age_band": ["45-54", "unknown", "65+", "<18", "65+", "unknown"],
    "gender": ["F", "M", "F", None, "M", None],
    "digital_enrolled": [False, True, None, False, True, None],
    "aum_month_end": [D(2026, 10, 31)] * 6,
    # A: 30000 current + 25000 fund; F: the zero insurance adds nothing; G: 7M - 100
    "aum": [55000.0, 0.0, 0.0, 600000.0, 6999900.0, 0.0],
    "liabilities": [2000.0, 0.0, 0.0, 0.0, 0.0, 0.0],
    "tier": ["affluent", "mass", "mass", "wealth", "private", "mass"],
    # vs 2026-07-31: A 40000, C 200, F 500000; G had no row then
    "aum_change_3m": [15000.0, None, -200.0, 100000.0, None, None],
    "aum_change_6m": [None] * 6,  # nobody had a balance row on 2026-04-30
    # vs 2025-10-31: A had a 0 current deposit, F only a loan (asset AUM 0), G 3M
    "aum_change_12m": [55000.0, None, None, 600000.0, 3999900.0, None],
    "aum_change_pct_3m": [0.375, None, -1.0, 0.2, None, None],
    "aum_change_pct_6m": [None] * 6,
    "aum_change_pct_12m": [None, None, None, None, 3999900.0 / 3000000.0, None],
    "products_held": [3, 0, 0, 1, 2, 0],
    # window 2025-11-01 .. 2026-10-31: t6 is before it, t5 after as-of, t4 not the customer's
    "last_txn_date": [D(2026, 10, 31), D(2026, 10, 6), D(2026, 10, 9), D(2025, 11, 1), None, None],
    "recency_days": [0, 25, 22, 364, None, None],
    "frequency": [2, 1, 1, 1, 0, 0],  # active days: A on 10-02 and 10-31
    "monetary": [2.25, 0.0, 2.0, 0.1, 0.0, 0.0],  # revenue; B's is null (counts 0)
    "txn_count": [3, 1, 1, 1, 0, 0],
    "digital_txn_count": [2, 1, 0, 0, 0, 0],
    "digital_share": [2 / 3, 1.0, 0.0, 0.0, None, None],
    "days_since_rm_contact": [90, None, None, None, 0, None],
    "dormant": [False, False, False, True, True, True],  # 180 days; F's last was 364 ago
    # enrolled, or more than half of window txns digital
    "digital_adopter": [True, True, False, False, True, False],
    # active A, B, C, F ranked among 4: ceil(5 (lo + hi - 1) / 8)
    # recency F<B<C<A -> 1, 2, 4, 5; frequency B=C=F tie at ranks 1-3 -> 2, A 5;
    # monetary B<F<C<A -> 1, 2, 4, 5; G and H have no window activity -> 1, 1, 1
    "rfm_r": [5, 2, 4, 1, 1, 1],
    "rfm_f": [5, 2, 2, 2, 1, 1],
    "rfm_m": [5, 1, 4, 2, 1, 1],
    "rfm_score": ["555", "221", "424", "122", "111", "111"],
    "rfm_segment": ["Champions", "Hibernating", "Potential Loyalist", "Lost", "Lost", "Lost"],
}
HAS = {
    "current_deposit": ["A", "G"],  # G's -100 is non-zero
    "fund": ["A"],
    "credit_card": ["A"],
    "time_deposit": ["F"],
    "wealth_management": ["G"],
}


def _plain(value):
    if value is None or value is pd.NA or value is pd.NaT:
        return None
    if isinstance(value, float) and math.isnan(value):
        return None
    return value.item() if hasattr(value, "item") else value


def column(frame: pd.DataFrame, name: str) -> list:
    return [_plain(v) for v in frame[name].tolist()]


@pytest.fixture(scope="module")
def features() -> pd.DataFrame:
    return customer_features(connect_frames(bank()), AS_OF, feature_settings())


@pytest.mark.parametrize("name", list(EXPECTED))
def test_every_column_matches_hand_worked_rows(features, name):
    assert column(features, name) == EXPECTED[name]


@pytest.mark.parametrize("product", PRODUCTS)
def test_product_flags(features, product):
    expected = [cid in HAS.get(product, []) for cid in IDS]
    assert column(features, f"has_{product}") == expected


def test_contract_columns_types_and_order(features):
    assert list(features.columns[:5]) == [
        "customer_id",
        "branch_id",
        "rm_id",
        "period",
        "as_of_date",
    ]
    assert features["customer_id"].is_unique and features["customer_id"].is_monotonic_increasing
    assert set(EXPECTED) | {f"has_{p}" for p in PRODUCTS} == set(features.columns)
    for name in ("recency_days", "days_since_rm_contact", "age"):
        assert str(features[name].dtype) == "Int64"
    for name in ("rfm_r", "rfm_f", "rfm_m", "frequency", "txn_count", "tenure_months"):
        assert features[name].dtype == "int64"
    assert features["dormant"].dtype == bool and features["closed_in_period"].dtype == bool


def test_text_columns_are_str_and_dates_are_dates(features):
    for name in ("customer_id", "period", "status", "age_band", "tier", "rfm_score", "rfm_segment"):
        assert str(features[name].dtype) == "str", name
    for name in ("as_of_date", "open_date", "aum_month_end", "last_txn_date"):
        assert features[name].dtype == object, name
        assert all(isinstance(v, dt.date) for v in features[name].dropna()), name
    assert str(features["digital_enrolled"].dtype) == "boolean"


def test_fetch_frame_makes_columns_nullable_only_where_they_hold_nulls():
    out = fetch_frame(
        DuckDBEngine(duckdb.connect()),
        """
        SELECT * FROM (VALUES
            (1, CAST(7 AS INTEGER), CAST(1 AS BIGINT), 8, TRUE, FALSE, DATE '2026-10-31', 'x'),
            (2, NULL, NULL, 9, NULL, TRUE, NULL, NULL)
        ) AS t(k, i32_null, i64_null, i32, b_null, b, d, s)
        """,
    )
    assert list(out.columns) == ["k", "i32_null", "i64_null", "i32", "b_null", "b", "d", "s"]
    assert [str(out[c].dtype) for c in out.columns] == [
        "int64",  # INTEGER without nulls widens to int64
        "Int64",
        "Int64",
        "int64",
        "boolean",
        "bool",
        "object",
        "str",
    ]
    assert column(out, "i32_null") == [7, None] and column(out, "i64_null") == [1, None]
    assert column(out, "b_null") == [True, None] and column(out, "b") == [False, True]
    assert column(out, "d") == [D(2026, 10, 31), None] and column(out, "s") == ["x", None]
    assert out.index.equals(pd.RangeIndex(2))


def test_duckdb_spelling_of_complete_months_and_years_is_date_sub():
    """Every start day 1996-2030 against every as-of day of 2024 and early 2025 (leap and
    plain Februaries, month ends, starts before and after the as-of date)."""
    months = DUCKDB.complete_months("a", "b")
    years = DUCKDB.complete_years("a", "b")
    days = "SELECT CAST(range AS DATE) AS {} FROM range(DATE '{}', DATE '{}', INTERVAL 1 DAY)"
    wrong = (
        duckdb.connect()
        .execute(
            f"""
            SELECT count(*) FILTER (WHERE {months} <> date_sub('month', a, b)),
                   count(*) FILTER (WHERE {years} <> date_sub('year', a, b)),
                   count(*)
            FROM ({days.format("a", "1996-01-01", "2031-01-01")}),
                 ({days.format("b", "2024-01-01", "2025-04-01")})
            """
        )
        .fetchall()
    )
    assert wrong == [(0, 0, 12784 * 456)]


def test_monetary_by_amount_and_frequency_by_transaction():
    out = customer_features(
        connect_frames(bank()),
        AS_OF,
        feature_settings(**{"rfm.monetary": "amount", "features.frequency_unit": "transaction"}),
    )
    assert column(out, "monetary") == [170.0, 10.0, 500.0, 40.0, 0.0, 0.0]
    assert column(out, "frequency") == [3, 1, 1, 1, 0, 0]


def test_revenue_column_absent_falls_back_to_amount():
    frames = bank()
    frames["transactions"] = frames["transactions"].drop(columns="revenue")
    out = customer_features(connect_frames(frames), AS_OF, feature_settings())
    assert column(out, "monetary") == [170.0, 10.0, 500.0, 40.0, 0.0, 0.0]


def test_revenue_only_on_bank_initiated_rows_falls_back_to_amount():
    frames = bank()
    txns = frames["transactions"]
    txns["revenue"] = txns["revenue"].where(~txns["customer_initiated"])
    out = customer_features(connect_frames(frames), AS_OF, feature_settings())
    assert column(out, "monetary") == [170.0, 10.0, 500.0, 40.0, 0.0, 0.0]


def test_optional_customer_columns_and_contacts_table_absent():
    frames = bank()
    frames["customers"] = frames["customers"][["customer_id", "branch_id", "open_date"]]
    del frames["rm_contacts"]
    out = customer_features(connect_frames(frames), AS_OF, feature_settings())
    # without close_date nobody can be dated closed: D, C and H are all open now
    assert column(out, "customer_id") == ["A", "B", "C", "D", "F", "G", "H"]
    assert set(column(out, "status")) == {"active"}
    assert column(out, "age_band") == ["unknown"] * 7
    assert out["rm_id"].isna().all() and out["days_since_rm_contact"].isna().all()
    assert out["gender"].isna().all() and out["digital_enrolled"].isna().all()


def test_short_window_and_dormancy_edges():
    out = customer_features(
        connect_frames(bank()),
        AS_OF,
        feature_settings(**{"features.window_months": 1, "features.dormant_days": 22}),
    )
    # window 2026-10-01 .. 2026-10-31: F's 2025-11-01 transaction falls out of it
    assert column(out, "txn_count") == [3, 1, 1, 0, 0, 0]
    # dormant = no activity in the last 22 days: C's last was exactly 22 days ago
    assert column(out, "dormant") == [False, True, True, True, True, True]
    assert column(out, "rfm_segment")[3] == "Lost"  # F: inactive in the window


def test_branch_population_scores_each_branch_apart():
    out = customer_features(
        connect_frames(bank()), AS_OF, feature_settings(**{"rfm.population": "branch"})
    )
    # B1 active: A, B, F (n=3): recency F<B<A -> ceil(5*(2i-1)/6) = 1, 3, 5
    # B2 active: C alone -> 3 on every axis
    assert column(out, "rfm_r") == [5, 3, 3, 1, 1, 1]
    # frequency B1: B=F tie at ranks 1-2 -> ceil(5*2/6) = 2, A 5
    assert column(out, "rfm_f") == [5, 2, 3, 2, 1, 1]


def test_no_balances_at_or_before_as_of():
    frames = bank()
    frames["balances"] = frames["balances"][frames["balances"]["month_end"] > "2026-11-01"]
    out = customer_features(connect_frames(frames), AS_OF, feature_settings())
    assert (out["aum"] == 0).all() and out["aum_change_3m"].isna().all()
    assert out["aum_month_end"].isna().all() and (out["products_held"] == 0).all()


def test_earlier_as_of_uses_only_data_up_to_it():
    out = customer_features(connect_frames(bank()), D(2026, 9, 30), feature_settings())
    # at 2026-09-30: B not opened yet, D closed that very day (in September), C open
    assert column(out, "customer_id") == ["A", "C", "D", "F", "G", "H"]
    assert column(out, "status") == ["active", "active", "closed", "active", "active", "active"]
    assert column(out, "aum") == [45000.0, 100.0, 0.0, 600000.0, 5000000.0, 0.0]
    assert column(out, "days_since_rm_contact") == [59, None, None, None, 263, None]
    assert column(out, "recency_days")[2] == 29  # D: t10 on 2026-09-01


def test_missing_required_column_is_an_input_error():
    frames = bank()
    frames["transactions"] = frames["transactions"].drop(columns="customer_initiated")
    with pytest.raises(InputError, match="customer_initiated"):
        customer_features(connect_frames(frames), AS_OF, feature_settings())


@pytest.mark.parametrize(
    ("key", "value", "message"),
    [
        ("features.frequency_unit", "visits", "features.frequency_unit"),
        ("features.digital_majority", 1.0, "features.digital_majority"),
        ("features.age_bands", [30, 20], "features.age_bands"),
        ("features.aum_change_months", [3, 3], "features.aum_change_months"),
    ],
)
def test_config_values_checked_with_their_key(key, value, message):
    with pytest.raises(ConfigError, match=message):
        customer_features(connect_frames(bank()), AS_OF, feature_settings(**{key: value}))


# ---- leakage: nothing after the as-of date may change anything ----------------------

after = st.dates(min_value=D(2026, 11, 1), max_value=D(2028, 12, 31))
some_ids = st.sampled_from(["A", "B", "C", "D", "E", "F", "G", "H"])


@st.composite
def future_rows(draw):
    n_txn = draw(st.integers(0, 6))
    txns = pd.DataFrame(
        {
            "txn_id": [f"x{i}" for i in range(n_txn)],
            "customer_id": [draw(some_ids) for _ in range(n_txn)],
            "txn_time": [
                pd.Timestamp(draw(after)) + pd.Timedelta(seconds=draw(st.integers(0, 86399)))
                for _ in range(n_txn)
            ],
            "amount": [draw(st.floats(0.01, 1e6)) for _ in range(n_txn)],
            "channel": [draw(st.sampled_from(["mobile", "counter", "atm"])) for _ in range(n_txn)],
            "revenue": [draw(st.floats(0, 100)) for _ in range(n_txn)],
            "customer_initiated": [draw(st.booleans()) for _ in range(n_txn)],
        }
    )
    n_bal = draw(st.integers(0, 5))
    bals = pd.DataFrame(
        {
            "customer_id": [draw(some_ids) for _ in range(n_bal)],
            "month_end": [pd.Period(draw(after), "M").end_time.normalize() for _ in range(n_bal)],
            "product": [draw(st.sampled_from(PRODUCTS)) for _ in range(n_bal)],
            "balance": [draw(st.floats(-1e3, 1e8)) for _ in range(n_bal)],
        }
    )
    n_con = draw(st.integers(0, 3))
    contacts = pd.DataFrame(
        {
            "customer_id": [draw(some_ids) for _ in range(n_con)],
            "rm_id": ["R9"] * n_con,
            "contact_date": [pd.Timestamp(draw(after)) for _ in range(n_con)],
            "channel": ["phone"] * n_con,
            "outcome": ["ok"] * n_con,
        }
    )
    n_cust = draw(st.integers(0, 3))
    custs = pd.DataFrame(
        {
            "customer_id": [f"N{i}" for i in range(n_cust)],
            "branch_id": [draw(st.sampled_from(["B1", "B2", "B3"])) for _ in range(n_cust)],
            "open_date": [pd.Timestamp(draw(after)) for _ in range(n_cust)],
        }
    )
    return txns, bals, contacts, custs


@settings(
    max_examples=15, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(future_rows())
def test_rows_after_as_of_change_nothing(features, extra):
    txns, bals, contacts, custs = extra
    frames = bank()
    txns = txns.assign(direction="debit", txn_type="card_purchase")
    frames["transactions"] = pd.concat([frames["transactions"], txns], ignore_index=True)
    frames["balances"] = pd.concat([frames["balances"], bals], ignore_index=True)
    frames["rm_contacts"] = pd.concat([frames["rm_contacts"], contacts], ignore_index=True)
    frames["customers"] = pd.concat([frames["customers"], custs], ignore_index=True)
    for name, col in (
        ("transactions", "txn_time"),
        ("balances", "month_end"),
        ("rm_contacts", "contact_date"),
        ("customers", "open_date"),
    ):
        frames[name][col] = pd.to_datetime(frames[name][col])
    out = customer_features(connect_frames(frames), AS_OF, feature_settings())
    pd.testing.assert_frame_equal(out, features)


def test_period_notes_say_what_the_analyst_must_know():
    frames = bank()
    frames["transactions"] = frames["transactions"].drop(columns="revenue")
    frames["balances"] = frames["balances"][frames["balances"]["month_end"] <= "2026-09-30"]
    out = build_period(connect_frames(frames), "2026-10", feature_settings())
    assert out.notes == (
        "latest balances are from 2026-09-30, not the period's month",
        "no revenue on customer-initiated transactions up to the as-of date: "
        "RFM monetary uses amount",
        "1 customers have status closed but no close_date: counted as open",
    )
    text = summary(out, "2026-10")
    assert text.splitlines()[0] == (
        "features 2026-10: 5 active customers in 2 branches (1 closed in the period, 1 new)"
    )
    assert "note: 1 customers have status closed" in text


def test_as_of_may_be_a_midnight_timestamp_but_not_a_time_of_day(features):
    con = connect_frames(bank())
    out = customer_features(con, pd.Timestamp("2026-10-31"), feature_settings())
    pd.testing.assert_frame_equal(out, features)
    with pytest.raises(ValueError, match="calendar day"):
        customer_features(con, pd.Timestamp("2026-10-31 12:00"), feature_settings())


def test_a_period_before_any_customer_gives_empty_outputs_and_says_so():
    out = build_period(connect_frames(bank()), "2010-01", feature_settings())
    assert out.features.empty and out.tier_migration.empty and out.lorenz.empty
    assert out.branch_kpis["scope"].tolist() == ["network"]
    assert out.branch_kpis["customers"].tolist() == [0]
    assert out.notes[0] == "no customers open on 2010-01-31: is the period right?"


# ---- properties of the whole mart on generated banks ---------------------------------


@st.composite
def small_banks(draw):
    n = draw(st.integers(1, 12))
    ids = [f"K{i:02d}" for i in range(n)]
    day = st.dates(min_value=D(2024, 1, 1), max_value=D(2026, 12, 31))
    customers = pd.DataFrame(
        {
            "customer_id": ids,
            "branch_id": [draw(st.sampled_from(["B1", "B2"])) for _ in ids],
            "open_date": pd.to_datetime([draw(day) for _ in ids]),
            "close_date": pd.to_datetime([draw(st.none() | day) for _ in ids]),
        }
    )
    k = draw(st.integers(0, 40))
    txns = pd.DataFrame(
        {
            "txn_id": [f"t{i}" for i in range(k)],
            "customer_id": [draw(st.sampled_from(ids)) for _ in range(k)],
            "txn_time": pd.to_datetime([draw(day) for _ in range(k)]),
            "amount": [draw(st.sampled_from([1.0, 5.0, 20.0, 300.0])) for _ in range(k)],
            "direction": "debit",
            "channel": [
                draw(st.sampled_from(["mobile", "online", "counter", "atm"])) for _ in range(k)
            ],
            "txn_type": "card_purchase",
            "revenue": [draw(st.sampled_from([0.0, 0.5, 1.0])) for _ in range(k)],
            "customer_initiated": [draw(st.booleans()) for _ in range(k)],
        }
    )
    month_ends = [pd.Period("2026-10", "M") - m for m in (0, 1, 3, 12)]
    rows = {
        (
            draw(st.sampled_from(ids)),
            draw(st.sampled_from(month_ends)),
            draw(st.sampled_from(PRODUCTS)),
        )
        for _ in range(draw(st.integers(0, 30)))
    }
    balances = pd.DataFrame(
        [
            (c, m.end_time.normalize(), p, draw(st.sampled_from([0.0, 100.0, 6e4, 7e5, 8e6])))
            for c, m, p in sorted(rows)
        ],
        columns=["customer_id", "month_end", "product", "balance"],
    )
    balances["month_end"] = pd.to_datetime(balances["month_end"])
    return {"customers": customers, "transactions": txns, "balances": balances}


DEFAULT_SETTINGS = feature_settings()


@settings(max_examples=20, deadline=None)
@given(small_banks())
def test_mart_invariants_on_generated_banks(frames):
    out = customer_features(connect_frames(frames), AS_OF, DEFAULT_SETTINGS)
    assert out["customer_id"].is_unique and out["customer_id"].is_monotonic_increasing
    assert out["rfm_r"].between(1, 5).all() and out["rfm_f"].between(1, 5).all()
    assert out["rfm_m"].between(1, 5).all() and out["rfm_segment"].notna().all()
    s = DEFAULT_SETTINGS
    for aum, tier in zip(out["aum"], out["tier"], strict=True):
        names = [
            n for n, low in zip(s.tier_names, s.tier_min_aum, strict=True) if low <= max(aum, 0)
        ]
        assert tier == names[-1]
    held = sum(out[f"has_{p}"].astype(int) for p in PRODUCTS)
    assert (held == out["products_held"]).all()
    assert (out["frequency"] <= out["txn_count"]).all()
    assert out["digital_share"].dropna().between(0, 1).all()
    assert (out["digital_share"].isna() == (out["txn_count"] == 0)).all()
    recency = out["recency_days"].astype("float64")
    assert (out["dormant"] == (recency.isna() | (recency >= 180))).all()
    assert (recency.dropna() >= 0).all()
    inactive = out["txn_count"] == 0
    assert (out.loc[inactive, "rfm_segment"] == "Lost").all()
    assert (out["closed_in_period"] == (out["status"] == "closed")).all()
    assert_measures_are_the_marts(frames, out)


def assert_measures_are_the_marts(frames, mart: pd.DataFrame) -> None:
    """customer_measures gives the mart's values for the columns asked, AUM changes too."""
    con = connect_frames(frames)
    for columns in (KEY_FEATURES, ("aum_change_3m", "aum_change_pct_12m", "digital_share")):
        asked = ("customer_id", *columns)
        got = customer_measures(con, AS_OF, DEFAULT_SETTINGS, asked)
        got = got.sort_values("customer_id").reset_index(drop=True)
        assert list(got.columns) == list(asked)
        want = mart[list(asked)]
        for name in asked:  # as drift reads them: floats, missing as NaN
            if name == "customer_id":
                assert got[name].tolist() == want[name].tolist()
            else:
                assert got[name].astype("float64").tolist() == pytest.approx(
                    want[name].astype("float64").tolist(), nan_ok=True, rel=0, abs=0
                )


def test_measures_are_the_marts_columns(features):
    assert_measures_are_the_marts(bank(), features)


def test_a_loan_or_card_with_nothing_owed_is_held_an_empty_deposit_is_not():
    """A liability's row is the contract: a card with a zero statement balance (or Berka's
    cards, whose balance is not recorded) is held; a zero asset balance holds nothing."""
    frames = bank()
    extra = pd.DataFrame(
        {
            "customer_id": ["B", "B", "G"],
            "month_end": pd.to_datetime(["2026-10-31"] * 3),
            "product": ["credit_card", "bond", "loan"],
            "balance": [0.0, 0.0, 0.0],
        }
    )
    frames["balances"] = pd.concat([frames["balances"], extra], ignore_index=True)
    out = customer_features(connect_frames(frames), AS_OF, feature_settings()).set_index(
        "customer_id"
    )
    assert bool(out.loc["B", "has_credit_card"]) and not bool(out.loc["B", "has_bond"])
    assert out.loc["B", "products_held"] == 1 and out.loc["B", "aum"] == 0.0
    assert bool(out.loc["G", "has_loan"]) and out.loc["G", "products_held"] == 3


def test_the_summary_says_gini_is_undefined_without_balances() -> None:
    """A card-spend export (Online Retail II) has no AUM: its Gini is undefined, and the
    command says so rather than printing 'Gini nan'."""
    kpis = pd.DataFrame(
        {
            "scope": ["network"],
            "customers": [3],
            "closed_customers": [0],
            "new_customers": [1],
            "customers__mass": [3],
            "aum": [0.0],
            "gini_aum": [float("nan")],
            "dormant_share": [0.25],
        }
    )
    text = summary(SimpleNamespace(branch_kpis=kpis, notes=[]), "2010-11")
    assert "AUM 0; tiers: mass 3; Gini n/a (no AUM); dormant 25.0%" in text
    assert "nan" not in text
