"""One rule for "contacted in the last N days" (pipeline.contacts), worked by hand at its
edge, and the same answer from the three figures a branch head reads it in: the branch
KPI, the RM books and the report's coverage by tier."""

from __future__ import annotations

import numpy as np
import pandas as pd

from pipeline.contacts import contacted_within
from pipeline.report import context_kpis as kp
from pipeline.scoring.books import rm_books

# contacted on the as-of day, 89 and 90 days before it, and never
DAYS = pd.array([0, 89, 90, None], dtype="Int64")


def test_the_as_of_day_counts_and_day_n_does_not():
    expected = [True, True, False, False]
    assert contacted_within(DAYS, 90).tolist() == expected
    assert contacted_within(np.array([0.0, 89.0, 90.0, np.nan]), 90).tolist() == expected
    assert contacted_within(pd.Series(DAYS).astype("float64"), 90).tolist() == expected


def test_rm_books_and_coverage_by_tier_count_the_same_customers():
    scores = pd.DataFrame(
        {
            "customer_id": ["a", "b", "c", "d"],
            "branch_id": "B01",
            "rm_id": "RM1",
            "status": "active",
            "tier": "wealth",
            "high_value": False,
            "clv": 1.0,
            "value_at_risk": 0.0,
            "days_since_rm_contact": DAYS,
        }
    )
    book = rm_books(scores, {}, ("mass", "wealth"), 90, "2026-10")
    assert book["contacted_share"].tolist() == [0.5]  # a and b; c's 90 days ago is not
    by_tier = kp.rm_by_tier(scores, ["wealth"], contact_days=90)
    assert by_tier["wealth"]["contacted"] == 0.5
