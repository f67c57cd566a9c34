"""The Berka config on the real PKDD'99 data in ../shared/data/berka (skipped when absent)."""

from __future__ import annotations

import datetime as dt

import pandas as pd
import pytest
from conftest import shared_data
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
    # 5,369 clients, each with one disposition (4,500 owners, 869 disponents): the owners
    # are the customers (a disponent holds nothing of their own)
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
    assert files["loan.asc"] == 682 and files["card.asc"] == 892
    assert manifest["as_of"] == "1998-12-31"
    assert manifest["currency"] == "CZK"


def test_the_published_facts(berka):
    """The data guide's counts the partial transaction file leaves intact: 4,500 accounts
    (one owner each), 5,369 clients, 77 districts, 682 loans and 892 cards."""
    catalog, _, _ = berka
    customers = pd.read_parquet(catalog.interim_table("customers"))
    balances = pd.read_parquet(catalog.interim_table("balances"))
    assert customers["customer_id"].nunique() == len(customers) == 4500  # the owners
    assert customers["branch_id"].nunique() == 77
    holders = balances.groupby("product")["customer_id"].nunique().to_dict()
    assert holders == {"current_deposit": 1229, "loan": 682, "credit_card": 892}
    # every account has one owner: the loans' 682 accounts are 682 owners, cards' 892
    # dispositions 892 clients; accounts are the owners the disp file lists
    disp = pd.read_csv(shared_data("berka", "disp.asc"), sep=";")
    assert (disp["type"] == "OWNER").sum() == disp["account_id"].nunique() == 4500


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
    # client 3 is a DISPONENT on account 2: part of client 2's relationship, not a
    # customer with a book of their own
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
    deposits = balances[balances["product"] == "current_deposit"]
    assert deposits["month_end"].max() == dt.date(1994, 3, 31)
    # account 73 is owned by client 87 (disp 87)
    march = balances[
        (balances["customer_id"] == "87") & (balances["month_end"] == dt.date(1994, 3, 31))
    ]
    # account 73 on 1994-03-31: 52,330.20 after the 13th, +226.70 interest (-> 52,556.90),
    # then -14.60 fee (-> 52,542.30), though the fee has the smaller trans_id
    assert march[march["product"] == "current_deposit"]["balance"].tolist() == [52542.3]
    # overdrawn month ends are rejected as negative asset balances, not dropped silently
    rejected = manifest["tables"]["balances"]["rejected_by_reason"]
    assert set(rejected) <= {"negative_balance"}
    assert manifest["tables"]["balances"]["reject_rate"] < 0.01


def test_loans_amortise_to_zero_and_cards_are_held_to_the_as_of(berka):
    catalog, _, _ = berka
    balances = pd.read_parquet(catalog.interim_table("balances"))
    # loan 5314: account 1787 (owner client 2166), 96,396 granted 1993-07-05 over 12
    # months of 8,033: the full amount at July's end, 12 - k instalments left k months on
    loan = balances[(balances["customer_id"] == "2166") & (balances["product"] == "loan")]
    assert loan["month_end"].min() == dt.date(1993, 7, 31)
    assert loan["month_end"].max() == dt.date(1994, 6, 30)  # 11 instalments paid: 8,033 left
    assert loan["balance"].tolist() == [96396.0 - 8033.0 * k for k in range(12)]
    # card 1005 on disposition 9285 (client 9593), issued 1993-11-07: held to 1998-12
    card = balances[(balances["customer_id"] == "9593") & (balances["product"] == "credit_card")]
    assert card["month_end"].min() == dt.date(1993, 11, 30)
    assert card["month_end"].max() == dt.date(1998, 12, 31)
    assert len(card) == 62 and (card["balance"] == 0).all()


def test_a_quote_left_open_in_an_adapter_input_is_refused(tmp_path):
    """The adapter's inputs are read as the mapped tables are: an open quote in
    client.asc (line 101, its birth number's closing quote lost) is refused, naming it."""
    import shutil

    from test_ingest_support import config_for

    from pipeline.errors import InputError
    from pipeline.ingest.stage import run_ingest

    root = tmp_path / "data"
    raw = root / "raw" / "berka"
    shutil.copytree(shared_data("berka"), raw)
    client = raw / "client.asc"
    client.chmod(0o644)
    lines = client.read_bytes().split(b"\r\n")
    assert lines[100].count(b'"') == 2
    lines[100] = lines[100][: lines[100].rindex(b'"')] + lines[100][lines[100].rindex(b'"') + 1 :]
    client.write_bytes(b"\r\n".join(lines))
    cfg, catalog = config_for(root, source="berka")
    with pytest.raises(InputError, match=r"client\.asc: line 101: a row that cannot be split"):
        run_ingest(cfg, catalog)
