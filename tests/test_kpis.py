"""Branch KPIs, AUM concentration and Lorenz points on a hand-made two-branch bank."""

from __future__ import annotations

import datetime as dt
import itertools
import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from test_features_support import AS_OF, PERIOD, cfg, mart

from pipeline.features.concentration import concentration, gini, lorenz_vertices, top_share
from pipeline.features.kpis import compute_branch_kpis, compute_branch_outputs, compute_lorenz
from pipeline.features.settings import FeatureSettings
from pipeline.schema import PRODUCTS

S = FeatureSettings.from_config(cfg())
NAN = float("nan")


def two_branch_bank():
    """X: four active customers and one closed in the period; Y: one private customer."""
    return mart(
        [
            dict(
                customer_id="x1",
                branch_id="X",
                aum=0.0,
                tier="mass",
                new_in_period=True,
                dormant=True,
                digital_adopter=True,
            ),
            dict(
                customer_id="x2",
                branch_id="X",
                aum=10000.0,
                tier="mass",
                dormant=True,
                products_held=1,
                has_current_deposit=True,
                digital_txn_count=1,
                txn_count=2,
                rm_id="R1",
                days_since_rm_contact=5,
            ),
            dict(
                customer_id="x3",
                branch_id="X",
                aum=60000.0,
                tier="affluent",
                products_held=2,
                has_current_deposit=True,
                has_time_deposit=True,
                digital_txn_count=3,
                txn_count=4,
                rm_id="R1",
                days_since_rm_contact=90,
            ),
            dict(
                customer_id="x4",
                branch_id="X",
                aum=600000.0,
                tier="wealth",
                products_held=3,
                has_current_deposit=True,
                has_fund=True,
                has_insurance=True,
                digital_adopter=True,
                days_since_rm_contact=89,
            ),
            dict(
                customer_id="x5",
                branch_id="X",
                status="closed",
                closed_in_period=True,
                dormant=True,
                rm_id="R5",
                products_held=1,
                has_loan=True,
            ),
            dict(
                customer_id="y1",
                branch_id="Y",
                aum=7000000.0,
                tier="private",
                products_held=4,
                has_current_deposit=True,
                has_wealth_management=True,
                has_fund=True,
                has_bond=True,
                txn_count=5,
                rm_id="R9",
                days_since_rm_contact=95,
            ),
        ]
    )


EXPECTED = {
    # column: (X, Y, network), all worked by hand from two_branch_bank()
    "customers": (4, 1, 5),
    "aum": (670000.0, 7000000.0, 7670000.0),
    "new_customers": (1, 0, 1),
    "closed_customers": (1, 0, 1),
    "dormant_customers": (2, 0, 2),
    "dormant_share": (0.5, 0.0, 0.4),
    "customers__mass": (2, 0, 2),
    "customers__affluent": (1, 0, 1),
    "customers__wealth": (1, 0, 1),
    "customers__private": (0, 1, 1),
    "customer_share__mass": (0.5, 0.0, 0.4),
    "customer_share__private": (0.0, 1.0, 0.2),
    "aum__mass": (10000.0, 0.0, 10000.0),
    "aum__affluent": (60000.0, 0.0, 60000.0),
    "aum__wealth": (600000.0, 0.0, 600000.0),
    "aum__private": (0.0, 7000000.0, 7000000.0),
    "aum_share__wealth": (60 / 67, 0.0, 600000 / 7670000),
    "long_tail_share": (0.5, 0.0, 0.4),
    # Gini as the mean absolute difference over all ordered pairs / (2 * mean):
    # X: pair gaps sum to 1,850,000 -> 2 * 1,850,000 / (2 * 16 * 167,500) = 370 / 536
    # network: gaps 29,180,000 -> 2 * 29,180,000 / (2 * 25 * 1,534,000) = 5836 / 7670
    "gini_aum": (370 / 536, 0.0, 5836 / 7670),
    # top 10% of X = 1 - L(0.9): 0.9 * 4 = 3.6 -> (70,000 + 0.6 * 600,000) / 670,000
    "top10_aum_share": (24 / 67, 0.1, 350 / 767),
    "top1_aum_share": (24 / 670, 0.01, 35 / 767),
    "products_per_customer": (1.5, 4.0, 2.0),
    "penetration__current_deposit": (0.75, 1.0, 0.8),
    "penetration__fund": (0.25, 1.0, 0.4),
    "penetration__loan": (0.0, 0.0, 0.0),  # x5 holds one but is closed
    "penetration__current_deposit__mass": (0.5, NAN, 0.5),
    "penetration__current_deposit__private": (NAN, 1.0, 1.0),
    "penetration__fund__wealth": (1.0, NAN, 1.0),
    "penetration__fund__affluent": (0.0, NAN, 0.0),
    "digital_adoption": (0.5, 0.0, 0.4),
    "digital_adoption__mass": (0.5, NAN, 0.5),
    "digital_adoption__affluent": (0.0, NAN, 0.0),
    "digital_adoption__wealth": (1.0, NAN, 1.0),
    "digital_adoption__private": (NAN, 0.0, 0.0),
    "digital_txn_share": (4 / 6, 0.0, 4 / 11),
    "rm_tier_customers": (2, 1, 3),
    "rm_coverage": (0.5, 1.0, 2 / 3),
    # contacted in the last 90 days: x4 (89) yes, x3 (exactly 90) no, y1 (95) no
    "rm_contact_coverage": (0.5, 0.0, 1 / 3),
    "rm_count": (1, 1, 2),  # x5's R5 does not count: x5 is closed
    "customers_per_rm": (2.0, 1.0, 1.5),
}


@pytest.fixture(scope="module")
def kpis():
    return compute_branch_kpis(two_branch_bank(), S, PERIOD, AS_OF)


def test_rows_are_branches_then_network(kpis):
    assert kpis["scope"].tolist() == ["branch", "branch", "network"]
    assert kpis["branch_id"].tolist() == ["X", "Y", None]
    assert kpis["period"].tolist() == [PERIOD] * 3
    assert kpis["as_of_date"].tolist() == [dt.date(2026, 10, 31)] * 3


@pytest.mark.parametrize("name", list(EXPECTED))
def test_kpi_matches_hand_computation(kpis, name):
    for got, want in zip(kpis[name].tolist(), EXPECTED[name], strict=True):
        if isinstance(want, float) and math.isnan(want):
            assert math.isnan(got)
        else:
            assert got == pytest.approx(want, rel=1e-12, abs=1e-15)


def test_every_tier_and_product_has_its_columns(kpis):
    for tier in S.tier_names:
        for prefix in ("customers", "customer_share", "aum", "aum_share", "digital_adoption"):
            assert f"{prefix}__{tier}" in kpis.columns
        for product in PRODUCTS:
            assert f"penetration__{product}__{tier}" in kpis.columns
    for product in PRODUCTS:
        assert f"penetration__{product}" in kpis.columns


def test_lorenz_points_by_hand():
    lorenz = compute_lorenz(two_branch_bank(), S, PERIOD, AS_OF)
    x = lorenz[lorenz["branch_id"] == "X"].set_index("point")
    assert len(x) == 21 and x["cum_customer_share"].tolist() == [k / 20 for k in range(21)]
    # X sorted: 0, 10,000, 60,000, 600,000 of 670,000; vertices at 0.25 steps
    assert x.loc[5, "cum_aum_share"] == 0.0
    assert x.loc[10, "cum_aum_share"] == pytest.approx(10000 / 670000, rel=1e-12)
    assert x.loc[12, "cum_aum_share"] == pytest.approx((10000 + 0.4 * 60000) / 670000, rel=1e-12)
    assert x.loc[15, "cum_aum_share"] == pytest.approx(70000 / 670000, rel=1e-12)
    assert x.loc[20, "cum_aum_share"] == 1.0
    y = lorenz[lorenz["branch_id"] == "Y"]
    assert y["cum_aum_share"].to_numpy() == pytest.approx(np.arange(21) / 20, rel=1e-12)
    network = lorenz[lorenz["scope"] == "network"]
    assert network["branch_id"].isna().all() and len(network) == 21
    assert lorenz["scope"].tolist() == ["branch"] * 42 + ["network"] * 21


def test_branch_without_active_customers_has_a_kpi_row_but_no_curve():
    bank = mart(
        [
            dict(customer_id="a", branch_id="P", aum=100.0),
            dict(customer_id="b", branch_id="Q", status="closed", closed_in_period=True),
        ]
    )
    kpis, lorenz = compute_branch_outputs(bank, S, PERIOD, AS_OF)
    q = kpis[kpis["branch_id"] == "Q"].iloc[0]
    assert q["customers"] == 0 and q["closed_customers"] == 1
    assert math.isnan(q["gini_aum"]) and math.isnan(q["dormant_share"])
    assert set(lorenz["branch_id"].dropna()) == {"P"}


def test_gini_reference_values():
    assert gini(np.array([5.0, 5.0, 5.0])) == 0.0
    assert gini(np.array([0.0, 0.0, 0.0, 10.0])) == pytest.approx(3 / 4, rel=1e-12)  # (n-1)/n
    assert gini(np.array([-50.0, 0.0, 0.0, 10.0])) == pytest.approx(3 / 4, rel=1e-12)  # clip
    assert math.isnan(gini(np.array([]))) and math.isnan(gini(np.zeros(3)))
    assert math.isnan(top_share(np.zeros(2), 0.1))


def _gini_by_pairs(x):
    x = np.clip(x, 0, None)
    gaps = sum(abs(a - b) for a, b in itertools.product(x, x))
    return gaps / (2 * len(x) ** 2 * x.mean())


# AUM is money: subnormal floats (5e-324) are no balance, and their mean underflows to 0
aum_lists = st.lists(
    st.floats(0, 1e9, allow_nan=False, allow_subnormal=False), min_size=1, max_size=40
)


@settings(max_examples=150, deadline=None)
@given(aum_lists)
def test_concentration_properties(aum):
    x = np.array(aum)
    c = concentration(x, 20)
    if x.sum() == 0:
        assert math.isnan(c.gini) and np.isnan(c.lorenz_aum_share).all()
        return
    assert 0.0 <= c.gini <= 1.0
    assert c.gini == pytest.approx(_gini_by_pairs(x), rel=1e-9, abs=1e-12)
    assert 0.0 <= c.top1_share <= c.top10_share <= 1.0 + 1e-12
    xs, ys = lorenz_vertices(x)
    assert (np.diff(ys) >= -1e-12).all() and (ys <= xs + 1e-12).all()  # rises, below diagonal
    assert c.lorenz_aum_share[0] == 0.0 and c.lorenz_aum_share[-1] == pytest.approx(1.0)


@st.composite
def banks(draw):
    n = draw(st.integers(1, 40))
    rows = []
    for i in range(n):
        aum = draw(st.sampled_from([0.0, 100.0, 50000.0, 700000.0, 6e6]) | st.floats(0, 1e7))
        rows.append(
            dict(
                customer_id=f"c{i}",
                branch_id=draw(st.sampled_from(["B1", "B2", "B3"])),
                status=draw(st.sampled_from(["active", "active", "closed"])),
                aum=aum,
                tier=S.tier_names[int(np.searchsorted(S.tier_min_aum, aum, side="right")) - 1],
                dormant=draw(st.booleans()),
                rm_id=draw(st.sampled_from([None, "R1", "R2"])),
            )
        )
    return mart(rows)


@settings(max_examples=60, deadline=None)
@given(banks())
def test_kpi_properties(bank):
    kpis = compute_branch_kpis(bank, S, PERIOD, AS_OF)
    branches, network = kpis[kpis["scope"] == "branch"], kpis[kpis["scope"] == "network"].iloc[0]
    shares = kpis[[f"customer_share__{t}" for t in S.tier_names]].sum(axis=1)
    has_customers = kpis["customers"] > 0
    assert np.allclose(shares[has_customers], 1.0, rtol=0, atol=1e-12)
    assert shares[~has_customers].eq(0).all()  # NaN shares sum to 0: no customers
    counts = kpis[[f"customers__{t}" for t in S.tier_names]].sum(axis=1)
    assert (counts == kpis["customers"]).all()
    assert network["customers"] == branches["customers"].sum() == (bank["status"] == "active").sum()
    assert network["aum"] == pytest.approx(branches["aum"].sum(), rel=1e-12)
    gini_values = kpis["gini_aum"].dropna()
    assert ((gini_values >= 0) & (gini_values <= 1)).all()
