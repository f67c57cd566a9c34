"""The Berka config on the real PKDD'99 data in ../shared/data/berka (skipped when absent)."""

from __future__ import annotations

import datetime as dt

import pandas as pd
import pytest
from test_ingest_support import ingest_berka

from pipeline.io import read_json

pytestmark = pytest.mark.realdata


@pytest.fixture(scope="module")
def berka(tmp_path_factory):
    _, _, catalog, summary = ingest_berka(tmp_path_factory.mktemp("berka") / "data")
    return catalog, read_json(catalog.ingest_manifest), summary


def test_row_counts_reconcile_with_the_files(berka):
    _, manifest, _ = berka
    tables = manifest["tables"]
    # 4,500 accounts, each with exactly one OWNER disposition: 4,500 customers
    assert tables["customers"]["rows_read"] == 4500
    assert tables["customers"]["accepted"] == 4500
    txns = tables["transactions"]
    assert txns["rows_read"] == 49102
    assert txns["accepted"] + txns["rejected"] + txns["duplicates_dropped"] == 49102
    files = {f["file"]: f["rows_read"] for f in manifest["files"]}
    assert (
        files["disp.asc"] == 5369 and files["client.asc"] == 5369 and files["account.asc"] == 4500
    )
    assert files["trans_first49102rows_1993-01_to_1994-03.asc"] == 49102
    assert manifest["as_of"] == "1998-12-31"


def test_birth_number_gives_birth_date_gender_and_branch(berka):
    catalog, _, _ = berka
    customers = pd.read_parquet(catalog.interim_table("customers")).set_index("customer_id")
    # client 1: birth_number 706213 (month 62 = 12 + 50: a woman), owns account 1 (district 18)
    assert customers.loc["1", "birth_date"] == dt.date(1970, 12, 13)
    assert customers.loc["1", "gender"] == "F"
    assert customers.loc["1", "branch_id"] == "18"
    assert customers.loc["1", "open_date"] == dt.date(1995, 3, 24)
    # client 2: birth_number 450204, a man, owns account 2 (district 1, opened 930226)
    assert (customers.loc["2", "birth_date"], customers.loc["2", "gender"]) == (
        dt.date(1945, 2, 4),
        "M",
    )
    assert customers.loc["2", "open_date"] == dt.date(1993, 2, 26)
    # client 3 is a DISPONENT on account 2: not a customer
    assert "3" not in customers.index


def test_transactions_map_codes_and_owners(berka):
    catalog, _, _ = berka
    txns = pd.read_parquet(catalog.interim_table("transactions"))
    assert txns["customer_id"].notna().all()
    assert set(txns["direction"]) == {"credit", "debit"}
    assert set(txns["channel"]) == {"counter", "atm", "other"}
    interest = txns[txns["txn_type"] == "interest"]
    fees = txns[txns["txn_type"] == "fee"]
    assert len(interest) == 9463 and len(fees) == 5445  # k_symbol UROK and SLUZBY rows
    assert not interest["customer_initiated"].any() and not fees["customer_initiated"].any()
    assert fees["revenue"].eq(fees["amount"]).all()
    assert (txns["amount"] > 0).all()
    assert txns["txn_time"].min() == pd.Timestamp("1993-01-01")
    assert txns["txn_time"].max() == pd.Timestamp("1994-03-31")


def test_month_end_balances_follow_the_running_balance(berka):
    catalog, manifest, _ = berka
    balances = pd.read_parquet(catalog.interim_table("balances"))
    assert set(balances["product"]) == {"current_deposit"}
    assert balances["month_end"].max() == dt.date(1994, 3, 31)
    # account 73 is owned by client 87 (disp 87)
    march = balances[
        (balances["customer_id"] == "87") & (balances["month_end"] == dt.date(1994, 3, 31))
    ]
    # account 73 on 1994-03-31: 52,330.20 after the 13th, +226.70 interest (-> 52,556.90),
    # then -14.60 fee (-> 52,542.30), though the fee has the smaller trans_id
    assert march["balance"].tolist() == [52542.3]
    # overdrawn month ends are rejected as negative asset balances, not dropped silently
    rejected = manifest["tables"]["balances"]["rejected_by_reason"]
    assert set(rejected) <= {"negative_balance"}
    assert manifest["tables"]["balances"]["reject_rate"] < 0.01
