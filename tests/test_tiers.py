"""Tiers by AUM threshold and the tier migration matrix between two periods."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from test_features_support import PERIOD, bank, cfg

from pipeline.engine import connect_frames
from pipeline.features import build_period
from pipeline.features.migration import compute_tier_migration
from pipeline.features.settings import FeatureSettings
from pipeline.features.tiers import assign_tiers, category_codes, tier_index

S = FeatureSettings.from_config(cfg())
NAMES, MINS = S.tier_names, S.tier_min_aum


def test_thresholds_are_inclusive_at_min_aum():
    aum = [-5.0, 0.0, 49999.99, 50000.0, 499999.0, 500000.0, 5999999.99, 6e6, 1e10]
    assert assign_tiers(aum, NAMES, MINS).tolist() == [
        "mass",
        "mass",
        "mass",
        "affluent",
        "affluent",
        "wealth",
        "wealth",
        "private",
        "private",
    ]


def test_missing_aum_is_refused():
    with pytest.raises(ValueError, match="missing"):
        tier_index(np.array([1.0, np.nan]), MINS)


@settings(max_examples=200, deadline=None)
@given(st.lists(st.floats(-1e9, 1e11, allow_nan=False), min_size=1, max_size=40))
def test_every_aum_lands_in_exactly_one_tier_whose_range_holds_it(aum):
    idx = tier_index(np.array(aum), MINS)
    bounds = [*MINS[1:], float("inf")]
    for value, i in zip(aum, idx, strict=True):
        holding = [
            j for j in range(len(MINS)) if (j == 0 or MINS[j] <= value) and value < bounds[j]
        ]
        assert holding == [i]


def test_category_codes_follow_config_order_and_refuse_strangers():
    codes = category_codes(pd.Series(["wealth", "mass", "private", "mass"]), NAMES)
    assert codes.tolist() == [2, 0, 3, 0]
    with pytest.raises(ValueError, match="gold"):
        category_codes(pd.Series(["mass", "gold"]), NAMES)


def _frame(rows):
    return pd.DataFrame(rows, columns=["customer_id", "branch_id", "status", "tier"])


def test_migration_matrix_on_a_hand_made_two_period_case():
    previous = _frame(
        [
            ("p1", "X", "active", "mass"),
            ("p2", "X", "active", "mass"),
            ("p3", "X", "active", "wealth"),
            ("p4", "X", "active", "affluent"),
            ("p5", "Y", "active", "private"),
            ("p6", "Y", "closed", "mass"),  # closed last period: not in this matrix
        ]
    )
    current = _frame(
        [
            ("p1", "X", "active", "mass"),  # same
            ("p2", "X", "active", "affluent"),  # up
            ("p3", "X", "active", "affluent"),  # down
            ("p4", "X", "closed", "mass"),  # closed in the period
            ("p5", "Y", "active", "private"),  # same
            ("n1", "Y", "active", "mass"),  # new
            ("n2", "Y", "active", "mass"),  # new
            ("n3", "X", "closed", "mass"),  # opened and closed within the period: new
        ]
    )
    out = compute_tier_migration(previous, current, NAMES, PERIOD)
    assert out.to_dict("records") == [
        {
            "branch_id": "X",
            "period": PERIOD,
            "from_tier": "new",
            "to_tier": "closed",
            "movement": "new",
            "customers": 1,
        },
        {
            "branch_id": "X",
            "period": PERIOD,
            "from_tier": "mass",
            "to_tier": "mass",
            "movement": "same",
            "customers": 1,
        },
        {
            "branch_id": "X",
            "period": PERIOD,
            "from_tier": "mass",
            "to_tier": "affluent",
            "movement": "up",
            "customers": 1,
        },
        {
            "branch_id": "X",
            "period": PERIOD,
            "from_tier": "affluent",
            "to_tier": "closed",
            "movement": "closed",
            "customers": 1,
        },
        {
            "branch_id": "X",
            "period": PERIOD,
            "from_tier": "wealth",
            "to_tier": "affluent",
            "movement": "down",
            "customers": 1,
        },
        {
            "branch_id": "Y",
            "period": PERIOD,
            "from_tier": "new",
            "to_tier": "mass",
            "movement": "new",
            "customers": 2,
        },
        {
            "branch_id": "Y",
            "period": PERIOD,
            "from_tier": "private",
            "to_tier": "private",
            "movement": "same",
            "customers": 1,
        },
    ]


def test_active_before_but_missing_now_counts_as_closed():
    previous = _frame([("p1", "X", "active", "wealth")])
    current = _frame([("n1", "X", "active", "mass")])
    out = compute_tier_migration(previous, current, NAMES, PERIOD)
    assert out[["from_tier", "to_tier", "customers"]].values.tolist() == [
        ["new", "mass", 1],
        ["wealth", "closed", 1],
    ]


def test_migration_of_the_hand_made_bank_from_data():
    # previous period 2026-09: active then A (45000 mass), C (100 mass), F (wealth),
    # G (5M wealth), H (0 mass); D closed on 2026-09-30 so is not; B opened 2026-10-05
    out = build_period(connect_frames(bank()), PERIOD, S).tier_migration
    rows = out[["branch_id", "from_tier", "to_tier", "movement", "customers"]].values.tolist()
    assert rows == [
        ["B1", "new", "mass", "new", 1],  # B
        ["B1", "mass", "mass", "same", 1],  # H
        ["B1", "mass", "affluent", "up", 1],  # A: 45000 -> 55000
        ["B1", "wealth", "wealth", "same", 1],  # F
        ["B2", "mass", "closed", "closed", 1],  # C closed 2026-10-10
        ["B2", "wealth", "private", "up", 1],  # G: 5M -> 6,999,900
    ]


@settings(max_examples=25, deadline=None)
@given(st.data())
def test_migration_counts_everyone_once(data):
    n = data.draw(st.integers(1, 30))
    ids = [f"c{i}" for i in range(n)]
    tiers = st.sampled_from(NAMES)
    gone = [f"old{i}" for i in range(data.draw(st.integers(0, 3)))]  # not in current
    prev_ids = [i for i in ids if data.draw(st.booleans())] + gone
    previous = _frame(
        [
            (i, "X", data.draw(st.sampled_from(["active", "closed"])), data.draw(tiers))
            for i in prev_ids
        ]
    )
    current = _frame(
        [
            (
                i,
                data.draw(st.sampled_from("XY")),
                data.draw(st.sampled_from(["active", "closed"])),
                data.draw(tiers),
            )
            for i in ids
        ]
    )
    out = compute_tier_migration(previous, current, NAMES, PERIOD)
    active_before_missing = set(previous.loc[previous["status"] == "active", "customer_id"]) - set(
        ids
    )
    assert out["customers"].sum() == n + len(active_before_missing)
    assert (out["customers"] > 0).all()
    closed_now = (current["status"] == "closed").sum()
    closed = out.loc[out["to_tier"] == "closed", "customers"].sum()
    assert closed == closed_now + len(active_before_missing)
