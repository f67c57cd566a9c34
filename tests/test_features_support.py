"""Hand-made inputs for the features tests: a small bank whose every number is worked
out by hand in the tests, and a builder of feature-mart frames for the KPI tests."""

from __future__ import annotations

import datetime as dt
from typing import Any

import numpy as np
import pandas as pd

from pipeline.config import load_config
from pipeline.features.settings import FeatureSettings
from pipeline.schema import PRODUCTS

AS_OF = dt.date(2026, 10, 31)
PERIOD = "2026-10"


def cfg(**overrides: Any) -> dict:
    """The default config with dotted overrides (validated like the CLI's)."""
    return load_config(overrides=overrides)


def feature_settings(**overrides: Any) -> FeatureSettings:
    """The features stage's settings from `cfg(**overrides)`."""
    return FeatureSettings.from_config(cfg(**overrides))


def ts(text: str) -> pd.Timestamp:
    return pd.Timestamp(text)


def customers() -> pd.DataFrame:
    """A, B, F, H in branch B1; C, D, E, G in B2 (D and E are outside the as-of)."""
    rows = [
        # id, branch, open, close, status, birth, gender, rm, digital
        ("A", "B1", "2020-01-15", None, "active", "1980-11-01", "F", "R1", False),
        ("B", "B1", "2026-10-05", None, "active", None, "M", None, True),
        ("C", "B2", "2019-03-31", "2026-10-10", "closed", "1950-10-31", "F", None, None),
        ("D", "B2", "2018-01-01", "2026-09-30", "closed", "1970-01-01", "M", "R2", False),
        ("E", "B2", "2026-11-01", None, "active", "1990-01-01", "F", None, True),
        ("F", "B1", "2015-06-30", None, "closed", "2010-01-01", None, None, False),
        ("G", "B2", "2021-02-28", None, "active", "1961-05-05", "M", "R2", True),
        ("H", "B1", "2017-01-01", "2026-11-15", "active", None, None, None, None),
    ]
    frame = pd.DataFrame(
        rows,
        columns=[
            "customer_id",
            "branch_id",
            "open_date",
            "close_date",
            "status",
            "birth_date",
            "gender",
            "rm_id",
            "digital_enrolled",
        ],
    )
    for col in ("open_date", "close_date", "birth_date"):
        frame[col] = pd.to_datetime(frame[col])
    frame["digital_enrolled"] = frame["digital_enrolled"].astype("boolean")
    return frame


def transactions() -> pd.DataFrame:
    rows = [
        # id, customer, time, amount, channel, revenue, customer_initiated
        ("t1", "A", "2026-10-31 23:59:59", 100.0, "mobile", 1.5, True),
        ("t2", "A", "2026-10-31 08:00:00", 50.0, "counter", 0.5, True),
        ("t3", "A", "2026-10-02 12:00:00", 20.0, "online", 0.25, True),
        ("t4", "A", "2026-10-15 00:00:00", 3.0, "counter", 0.0, False),  # interest credit
        ("t5", "A", "2026-11-01 00:00:00", 70.0, "mobile", 9.0, True),  # after as-of
        ("t6", "A", "2025-10-31 23:00:00", 1000.0, "mobile", 10.0, True),  # before window
        ("t7", "B", "2026-10-06 12:00:00", 10.0, "online", None, True),
        ("t8", "C", "2026-10-09 09:30:00", 500.0, "counter", 2.0, True),
        ("t9", "F", "2025-11-01 00:00:00", 40.0, "atm", 0.1, True),  # first window instant
        ("t10", "D", "2026-09-01 10:00:00", 5.0, "mobile", 0.05, True),  # D is out
        ("t11", "E", "2026-11-02 10:00:00", 5.0, "mobile", 0.05, True),  # E is out
    ]
    frame = pd.DataFrame(
        rows,
        columns=[
            "txn_id",
            "customer_id",
            "txn_time",
            "amount",
            "channel",
            "revenue",
            "customer_initiated",
        ],
    )
    frame["txn_time"] = pd.to_datetime(frame["txn_time"])
    frame["direction"] = "debit"
    frame["txn_type"] = np.where(frame["customer_initiated"], "card_purchase", "interest")
    return frame


def balances() -> pd.DataFrame:
    rows = [
        ("A", "2026-10-31", "current_deposit", 30000.0),
        ("A", "2026-10-31", "fund", 25000.0),
        ("A", "2026-10-31", "credit_card", 2000.0),
        ("A", "2026-09-30", "current_deposit", 45000.0),
        ("A", "2026-07-31", "current_deposit", 40000.0),
        ("A", "2025-10-31", "current_deposit", 0.0),
        ("A", "2026-11-30", "current_deposit", 999999.0),  # after as-of
        ("C", "2026-09-30", "current_deposit", 100.0),
        ("C", "2026-07-31", "current_deposit", 200.0),
        ("D", "2026-10-31", "fund", 80000.0),  # D is out
        ("F", "2026-10-31", "time_deposit", 600000.0),
        ("F", "2026-10-31", "insurance", 0.0),  # a zero balance: not held
        ("F", "2026-09-30", "time_deposit", 600000.0),
        ("F", "2026-07-31", "time_deposit", 500000.0),
        ("F", "2025-10-31", "loan", 5000.0),
        ("G", "2026-10-31", "wealth_management", 7000000.0),
        ("G", "2026-10-31", "current_deposit", -100.0),
        ("G", "2026-09-30", "wealth_management", 5000000.0),
        ("G", "2025-10-31", "wealth_management", 3000000.0),
    ]
    frame = pd.DataFrame(rows, columns=["customer_id", "month_end", "product", "balance"])
    frame["month_end"] = pd.to_datetime(frame["month_end"])
    return frame


def rm_contacts() -> pd.DataFrame:
    rows = [
        ("A", "R1", "2026-08-02", "phone", "ok"),
        ("A", "R1", "2026-11-02", "visit", "ok"),  # after as-of
        ("G", "R2", "2026-10-31", "visit", "ok"),
        ("G", "R2", "2026-01-10", "phone", "ok"),
    ]
    frame = pd.DataFrame(
        rows, columns=["customer_id", "rm_id", "contact_date", "channel", "outcome"]
    )
    frame["contact_date"] = pd.to_datetime(frame["contact_date"])
    return frame


def bank() -> dict[str, pd.DataFrame]:
    return {
        "customers": customers(),
        "transactions": transactions(),
        "balances": balances(),
        "rm_contacts": rm_contacts(),
    }


def mart(rows: list[dict[str, Any]]) -> pd.DataFrame:
    """A feature-mart frame for KPI tests: unspecified columns take neutral defaults."""
    defaults: dict[str, Any] = {
        "status": "active",
        "closed_in_period": False,
        "new_in_period": False,
        "aum": 0.0,
        "tier": "mass",
        "dormant": False,
        "products_held": 0,
        "digital_adopter": False,
        "digital_txn_count": 0,
        "txn_count": 0,
        "rm_id": None,
        "days_since_rm_contact": None,
        **{f"has_{p}": False for p in PRODUCTS},
    }
    frame = pd.DataFrame([{**defaults, **row} for row in rows])
    frame["days_since_rm_contact"] = frame["days_since_rm_contact"].astype("Int64")
    frame["rm_id"] = frame["rm_id"].astype("object")
    return frame
