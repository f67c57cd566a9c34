"""The sample bank: determinism, the data contract in clean mode, dirt exactly as recorded,
ground truth that matches the behaviour in the files, and a bank's magnitudes."""

from __future__ import annotations

import json
import re
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from click.testing import CliRunner
from hypothesis import given, settings
from hypothesis import strategies as st

from pipeline.catalog import Catalog
from pipeline.cli import cli
from pipeline.config import load_config, read_yaml, source_config_path, survey_definition_path
from pipeline.sample import params as sample_params
from pipeline.sample.stage import run_sample
from pipeline.schema import CHANNELS, DIRECTIONS, PRODUCTS, TABLES

SOURCE = read_yaml(source_config_path("sample"))
CUSTOMER_INITIATED = set(SOURCE["customer_initiated_txn_types"])
ALL_TXN_TYPES = CUSTOMER_INITIATED | {"salary_credit", "transfer_in", "interest_credit", "fee"}
SURVEYS = {
    t: read_yaml(survey_definition_path(SOURCE["tables"][t]["survey"]))
    for t in ("survey_responses", "staff_survey_responses")
}
MONEY = re.compile(r"^-?\d+\.\d\d$")
END_MONTH = "2026-10"


def make_bank(root: Path, chunk: int | None = None, **sample: object) -> Catalog:
    """Run the generator directly into `root` (optionally with smaller chunks)."""
    root.mkdir(parents=True, exist_ok=True)
    overrides = {f"sample.{k}": v for k, v in sample.items()}
    cfg = load_config(data_dir=root, report_dir=root / "reports", overrides=overrides)
    catalog = Catalog.from_config(cfg)
    with pytest.MonkeyPatch.context() as mp:
        if chunk is not None:
            mp.setattr(sample_params, "CHUNK_CUSTOMERS", chunk)
        run_sample(cfg, catalog)
    return catalog


def read(path: Path) -> pd.DataFrame:
    return pd.read_csv(path, dtype=str, keep_default_na=False)


def read_all(folder: Path, pattern: str) -> pd.DataFrame:
    return pd.concat([read(p) for p in sorted(folder.glob(pattern))], ignore_index=True)


class Bank:
    """A generated bank's exports and truth, read as text (as ingest would)."""

    def __init__(self, catalog: Catalog):
        raw, truth = catalog.raw_dir("sample"), catalog.ground_truth_dir()
        self.raw, self.truth_dir = raw, truth
        self.customers = read(raw / "customers.csv")
        self.transactions = read_all(raw, "transactions/transactions_*.csv")
        self.balances = read_all(raw, "balances/balances_*.csv")
        self.contacts = read(raw / "rm_contacts.csv")
        self.survey = read(raw / "survey_customer.csv")
        self.staff = read(raw / "survey_staff.csv")
        self.truth = pd.read_parquet(truth / "customers_truth.parquet")
        self.dirt = json.loads((truth / "dirt.json").read_text(encoding="utf-8"))
        self.params = json.loads((truth / "params.json").read_text(encoding="utf-8"))
        end = pd.Period(self.params["end_month"], freq="M")
        self.first_day = (end - (self.params["months"] - 1)).start_time.normalize()
        self.last_day = end.end_time.normalize()


@pytest.fixture(scope="module")
def clean(tmp_path_factory: pytest.TempPathFactory) -> Bank:
    """8,000 customers over 12 months in three chunks, no dirt."""
    root = tmp_path_factory.mktemp("clean")
    return Bank(make_bank(root, chunk=3_000, customers=8_000, months=12, dirt_rate=0.0, seed=11))


@pytest.fixture(scope="module")
def clean_frames(clean: Bank) -> dict[str, pd.DataFrame]:
    """Typed views of the clean bank for the behavioural checks."""
    tx = clean.transactions.copy()
    tx["time"] = pd.to_datetime(tx["txn_time"], format="%Y-%m-%d %H:%M:%S")
    tx["amount"] = tx["amount"].astype(float)
    tx["initiated"] = tx["txn_type"].isin(CUSTOMER_INITIATED)
    bal = clean.balances.copy()
    bal["month_end"] = pd.to_datetime(bal["month_end"], format="%Y-%m-%d")
    bal["balance"] = bal["balance"].astype(float)
    assets = bal[~bal["product"].isin(["loan", "credit_card"])]
    aum = assets.groupby(["customer_id", "month_end"])["balance"].sum().unstack(fill_value=0.0)
    cust = clean.customers.set_index("customer_id")
    truth = clean.truth.set_index("customer_id")
    return {"tx": tx, "bal": bal, "aum": aum, "cust": cust, "truth": truth}


# ---- the CLI, layout and determinism -------------------------------------------------------


@pytest.fixture(scope="module")
def dirty(tmp_path_factory: pytest.TempPathFactory) -> tuple[Bank, str]:
    """The same bank as `clean` but with 2% dirt, through the `crm sample` command."""
    root = tmp_path_factory.mktemp("dirty")
    with pytest.MonkeyPatch.context() as mp:
        mp.setattr(sample_params, "CHUNK_CUSTOMERS", 3_000)
        result = CliRunner().invoke(
            cli,
            [
                "--data-dir",
                str(root),
                "sample",
                "--customers",
                "8000",
                "--months",
                "12",
                "--seed",
                "11",
                "--dirt-rate",
                "0.02",
            ],
        )
    assert result.exit_code == 0, result.output
    cfg = load_config(data_dir=root, report_dir=root / "reports")
    return Bank(Catalog.from_config(cfg)), result.output


def test_cli_writes_every_export_in_the_source_layout(dirty: tuple[Bank, str]) -> None:
    bank, output = dirty
    assert "8,000 customers, 5 branches, 12 months (2025-11..2026-10)" in output
    expected_months = [str(p) for p in pd.period_range("2025-11", END_MONTH, freq="M")]
    for table, spec in SOURCE["tables"].items():
        files = sorted(bank.raw.glob(spec["files"]))
        assert files, f"no files for {table} ({spec['files']})"
        header = files[0].read_text(encoding="utf-8").splitlines()[0].split(",")
        required = TABLES[table].required_columns
        assert set(required) <= set(header), (table, header)
        if "survey" in spec:
            items = [i for items in SURVEYS[table]["dimensions"].values() for i in items]
            extra = [SURVEYS[table]["nps_item"], SURVEYS[table]["overall_item"]]
            assert header == [c.name for c in TABLES[table].columns] + items + extra
    months = [p.stem.split("_")[1] for p in sorted((bank.raw / "transactions").glob("*.csv"))]
    assert months == expected_months
    assert [p.stem.split("_")[1] for p in sorted((bank.raw / "balances").glob("*.csv"))] == months
    assert {"name", "national_id", "phone"} <= set(bank.customers.columns)  # PII to drop


def test_params_json_is_written_last(dirty: tuple[Bank, str]) -> None:
    bank, _ = dirty
    stamp = (bank.truth_dir / "params.json").stat().st_mtime_ns
    others = [p for p in [*bank.raw.rglob("*"), *bank.truth_dir.rglob("*")] if p.is_file()]
    assert others and all(p.stat().st_mtime_ns <= stamp for p in others)
    assert bank.params["worse_branch"] == bank.params["branches_profile"][-1]["branch_id"]


def _tree(root: Path) -> dict[str, bytes]:
    return {
        str(p.relative_to(root)): p.read_bytes() for p in sorted(root.rglob("*")) if p.is_file()
    }


def test_same_seed_writes_the_same_bytes(tmp_path: Path) -> None:
    sizes = {"customers": 1_500, "months": 12, "dirt_rate": 0.01, "seed": 5}
    first = make_bank(tmp_path / "a", chunk=600, **sizes)
    second = make_bank(tmp_path / "b", chunk=600, **sizes)
    a = _tree(first.data_dir / "raw")
    b = _tree(second.data_dir / "raw")
    assert len(a) == 2 * 12 + 4 + 5  # 12 months of transactions and balances, 4 files, 5 truths
    assert a.keys() == b.keys()
    for name in a:
        assert a[name] == b[name], name
    other = make_bank(tmp_path / "c", chunk=600, **{**sizes, "seed": 6})
    c = _tree(other.data_dir / "raw")
    assert (
        c["sample/transactions/transactions_2026-10.csv"]
        != a["sample/transactions/transactions_2026-10.csv"]
    )


def test_a_failed_run_leaves_the_previous_bank_untouched(tmp_path: Path, monkeypatch) -> None:
    catalog = make_bank(tmp_path, customers=300, months=3, seed=1)
    before = _tree(catalog.data_dir / "raw")
    import pipeline.sample.stage as sample

    def broken(setup, index):
        raise OSError("disk full")

    monkeypatch.setattr(sample, "generate_chunk", broken)
    with pytest.raises(OSError, match="disk full"):
        make_bank(tmp_path, customers=300, months=3, seed=2)
    after = _tree(catalog.data_dir / "raw")
    stamp = "sample_ground_truth/params.json"
    assert stamp not in after  # no longer known complete: make re-runs it
    assert after == {k: v for k, v in before.items() if k != stamp}
    assert not [p for p in (catalog.data_dir / "raw").iterdir() if p.name.startswith(".")]


# ---- the data contract in clean mode --------------------------------------------------------


def test_keys_are_unique(clean: Bank) -> None:
    assert clean.customers["customer_id"].is_unique
    assert clean.transactions["txn_id"].is_unique
    assert not clean.balances.duplicated(["customer_id", "month_end", "product"]).any()
    assert not clean.contacts.duplicated(list(TABLES["rm_contacts"].key)).any()
    assert clean.survey["response_id"].is_unique and clean.staff["response_id"].is_unique
    assert clean.truth["customer_id"].tolist() == clean.customers["customer_id"].tolist()


def test_every_customer_reference_exists(clean: Bank) -> None:
    known = set(clean.customers["customer_id"])
    for frame in (clean.transactions, clean.balances, clean.contacts):
        assert set(frame["customer_id"]) <= known
    named = clean.survey["customer_id"][clean.survey["customer_id"] != ""]
    assert set(named) <= known
    anonymous = (clean.survey["customer_id"] == "").mean()
    assert 0.1 < anonymous < 0.3
    # a customer with an RM is contacted by that RM; one without by the branch's outbound
    # team, RM number 0 of their branch (RM + branch number + 000)
    customers = clean.customers.set_index("customer_id")
    own = customers["rm_id"].loc[clean.contacts["customer_id"]].fillna("").to_numpy()
    branch = customers["branch_id"].loc[clean.contacts["customer_id"]].str[1:].to_numpy()
    team = np.array(["RM" + b + "000" for b in branch])
    assert (clean.contacts["rm_id"].to_numpy() == np.where(own != "", own, team)).all()
    assert (own == "").any() and (own != "").any()  # both kinds of contact happen


def test_values_parse_and_are_in_range(clean: Bank) -> None:
    c, t, b = clean.customers, clean.transactions, clean.balances
    for col in ("open_date", "birth_date"):
        pd.to_datetime(c[col], format="%Y-%m-%d")
    assert set(c["status"]) == {"active", "closed"} and set(c["gender"]) == {"F", "M"}
    assert set(c["digital_enrolled"]) == {"true", "false"}
    assert ((c["status"] == "closed") == (c["close_date"] != "")).all()
    assert t["amount"].str.match(MONEY).all() and t["revenue"].str.match(MONEY).all()
    assert (t["amount"].astype(float) > 0).all() and (t["revenue"].astype(float) >= 0).all()
    assert set(t["direction"]) == set(DIRECTIONS) and set(t["channel"]) <= set(CHANNELS)
    assert set(t["txn_type"]) == ALL_TXN_TYPES
    assert b["balance"].str.match(MONEY).all() and (b["balance"].astype(float) >= 0).all()
    assert set(b["product"]) == set(PRODUCTS)
    assert set(clean.contacts["channel"]) == {"phone", "visit", "wechat", "branch"}
    assert set(clean.contacts["outcome"]) == {"reached", "no_answer", "sale", "complaint"}
    assert set(clean.staff["role"]) == {"teller", "rm", "manager", "advisor"}
    for frame, table in (
        (clean.survey, "survey_responses"),
        (clean.staff, "staff_survey_responses"),
    ):
        definition = SURVEYS[table]
        items = [i for items in definition["dimensions"].values() for i in items]
        answers = frame[items + [definition["overall_item"]]].astype(int)
        assert answers.min().min() >= 1 and answers.max().max() <= 5
        nps = frame[definition["nps_item"]].astype(int)
        assert nps.between(0, 10).all() and nps.nunique() > 5


def test_dates_stay_inside_the_window(clean: Bank, clean_frames) -> None:
    tx, bal = clean_frames["tx"], clean_frames["bal"]
    first, last = clean.first_day, clean.last_day
    assert tx["time"].min() >= first and tx["time"].max() < last + pd.Timedelta(days=1)
    month_ends = pd.date_range(first, last, freq="ME")
    assert set(bal["month_end"]) == set(month_ends)
    for frame, col in (
        (clean.contacts, "contact_date"),
        (clean.survey, "response_date"),
        (clean.staff, "response_date"),
    ):
        days = pd.to_datetime(frame[col], format="%Y-%m-%d")
        assert days.min() >= first and days.max() <= last
    opened = pd.to_datetime(clean.customers["open_date"])
    assert opened.max() <= last and opened.min() < first  # tenure before the window
    closed = pd.to_datetime(clean.customers["close_date"][clean.customers["close_date"] != ""])
    assert len(closed) > 0 and closed.min() >= first and closed.max() <= last


def test_no_activity_before_opening_or_after_closing(clean: Bank, clean_frames) -> None:
    tx, bal, cust = clean_frames["tx"], clean_frames["bal"], clean_frames["cust"]
    opened = pd.to_datetime(cust["open_date"])
    closed = pd.to_datetime(cust["close_date"].replace("", None))
    assert (tx["time"].dt.normalize() >= opened.loc[tx["customer_id"]].to_numpy()).all()
    assert (bal["month_end"] >= opened.loc[bal["customer_id"]].to_numpy()).all()
    tx_close = closed.loc[tx["customer_id"]].to_numpy()
    assert not (tx["time"].dt.normalize().to_numpy() > tx_close).any()
    after = bal[bal["month_end"].to_numpy() > closed.loc[bal["customer_id"]].to_numpy()]
    assert len(after) > 0 and (after["balance"] == 0).all()  # the closing snapshot only
    close_month_end = closed.loc[after["customer_id"]] + pd.offsets.MonthEnd(0)
    assert (after["month_end"].to_numpy() == close_month_end.to_numpy()).all()
    for frame, col in ((clean.contacts, "contact_date"), (clean.survey, "response_date")):
        named = frame[frame["customer_id"] != ""]
        day = pd.to_datetime(named[col])
        limit = closed.loc[named["customer_id"]].to_numpy()
        assert not (day.to_numpy() > limit).any()


def test_clean_mode_records_no_dirt(clean: Bank) -> None:
    sizes = {
        "customers": clean.customers,
        "transactions": clean.transactions,
        "balances": clean.balances,
        "rm_contacts": clean.contacts,
        "survey_customer": clean.survey,
        "survey_staff": clean.staff,
    }
    for table, frame in sizes.items():
        entry = clean.dirt["tables"][table]
        assert entry["dirty_rows"] == 0 and not any(entry["kinds"].values())
        assert entry["rows_clean"] == entry["rows_written"] == len(frame)


def test_reverse_coded_items_are_really_reversed(clean: Bank) -> None:
    for frame, table in (
        (clean.survey, "survey_responses"),
        (clean.staff, "staff_survey_responses"),
    ):
        definition = SURVEYS[table]
        for dimension, items in definition["dimensions"].items():
            answers = frame[items].astype(int)
            reverse = set(definition["reverse_coded"])
            anchor = next(i for i in items if i not in reverse)
            for item in items:
                if item == anchor:
                    continue
                r = np.corrcoef(answers[anchor], answers[item])[0, 1]
                if item in reverse:
                    assert r < -0.3, (dimension, item, r)
                else:
                    assert r > 0.3, (dimension, item, r)


# ---- dirt ------------------------------------------------------------------------------------


def _found_dirt(frame: pd.DataFrame, table: str, known: set[str]) -> dict[str, int]:
    """Count each kind of dirt the way a validator would find it."""
    from pipeline.sample.dirt import DIRT_KINDS

    kinds = DIRT_KINDS[table]
    found = {"duplicate": int(frame.duplicated().sum())}
    rows = frame.drop_duplicates()
    if "malformed_date" in kinds:
        col = kinds["malformed_date"]
        fmt = "%Y-%m-%d %H:%M:%S" if col == "txn_time" else "%Y-%m-%d"
        found["malformed_date"] = int(
            pd.to_datetime(rows[col], format=fmt, errors="coerce").isna().sum()
        )
    if "malformed_amount" in kinds:
        col = kinds["malformed_amount"]
        found["malformed_amount"] = int((~rows[col].str.match(MONEY)).sum())
    if "negative_amount" in kinds:
        col = kinds["negative_amount"]
        found["negative_amount"] = int(
            (rows[col].str.match(MONEY) & rows[col].str.startswith("-")).sum()
        )
    if "unknown_customer" in kinds:
        ids = rows["customer_id"]
        found["unknown_customer"] = int(((ids != "") & ~ids.isin(known)).sum())
    return found


def test_dirt_in_the_files_is_exactly_what_dirt_json_records(dirty: tuple[Bank, str]) -> None:
    bank, _ = dirty
    known = set(bank.customers["customer_id"])
    frames = {
        "customers": bank.customers,
        "transactions": bank.transactions,
        "balances": bank.balances,
        "rm_contacts": bank.contacts,
        "survey_customer": bank.survey,
        "survey_staff": bank.staff,
    }
    for table, frame in frames.items():
        recorded = bank.dirt["tables"][table]
        assert _found_dirt(frame, table, known) == recorded["kinds"], table
        assert recorded["rows_written"] == len(frame)
        assert recorded["rows_written"] == recorded["rows_clean"] + recorded["kinds"]["duplicate"]
        # Stochastic rounding per file piece: off the exact rate by less than one row a piece.
        pieces = len(recorded["files"]) * (1 if table.startswith("survey") else 3)
        assert abs(recorded["dirty_rows"] - 0.02 * recorded["rows_clean"]) < pieces, table
    kinds = bank.dirt["tables"]["transactions"]["kinds"]
    assert all(count > 50 for count in kinds.values()), kinds


def test_dirt_only_touches_what_it_records(clean: Bank, dirty: tuple[Bank, str]) -> None:
    """Same seed: the dirty bank is the clean bank plus exactly the recorded damage."""
    bank, _ = dirty
    for table, d, c in (
        ("transactions", bank.transactions, clean.transactions),
        ("balances", bank.balances, clean.balances),
    ):
        kinds = bank.dirt["tables"][table]["kinds"]
        damaged = sum(v for k, v in kinds.items() if k != "duplicate")
        merged = d.drop_duplicates().merge(c, how="outer", indicator=True)
        assert (merged["_merge"] == "left_only").sum() == damaged
        assert (merged["_merge"] == "right_only").sum() == damaged


# ---- ground truth against behaviour ----------------------------------------------------------


def test_no_customer_activity_after_the_true_attrition_date(clean_frames) -> None:
    tx, truth = clean_frames["tx"], clean_frames["truth"]
    own = tx[tx["initiated"]]
    attrition = pd.to_datetime(truth["attrition_date"]).loc[own["customer_id"]].to_numpy()
    assert not (own["time"].dt.normalize().to_numpy() > attrition).any()
    months = truth["attrition_month"].dropna()
    assert (months == pd.to_datetime(truth["attrition_date"].dropna()).dt.strftime("%Y-%m")).all()
    dormant = truth.index[truth["dormant_at_start"]]
    assert len(dormant) > 0 and not own["customer_id"].isin(dormant).any()


def test_closed_customers_match_the_truth(clean_frames) -> None:
    cust, truth = clean_frames["cust"], clean_frames["truth"]
    closed = truth["attrition_kind"] == "closed"
    assert closed.sum() > 50
    assert ((cust["status"] == "closed") == closed).all()
    assert (
        pd.to_datetime(cust.loc[closed, "close_date"])
        == pd.to_datetime(truth.loc[closed, "attrition_date"])
    ).all()
    assert (truth.loc[closed, "aum_end"] == 0).all()


def test_non_attriters_are_still_active(clean: Bank, clean_frames) -> None:
    tx, truth = clean_frames["tx"], clean_frames["truth"]
    last_quarter = clean.last_day - pd.DateOffset(months=3) + pd.Timedelta(days=1)
    recent = set(tx.loc[tx["initiated"] & (tx["time"] >= last_quarter), "customer_id"])
    alive = truth[
        (truth["attrition_kind"] == "none")
        & (pd.to_datetime(truth["open_date"]) < last_quarter)
        & (truth["lambda_week"] * 13 >= 4)
    ]
    assert len(alive) > 400  # enough for the share below (fewer since rates fell for issue 8)
    assert alive.index.isin(list(recent)).mean() > 0.9  # P(no event | Poisson(4)) < 2%
    gone = truth[
        truth["attrition_date"].notna() & (pd.to_datetime(truth["attrition_date"]) < last_quarter)
    ]
    assert not gone.index.isin(list(recent)).any()


def test_silent_attriters_drain_their_balances(clean: Bank, clean_frames) -> None:
    aum, truth = clean_frames["aum"], clean_frames["truth"]
    silent = truth[(truth["attrition_kind"] == "silent") & ~truth["dormant_at_start"]]
    left = pd.to_datetime(silent["attrition_date"])
    month = left.dt.year * 12 + left.dt.month - 1
    last = clean.last_day.year * 12 + clean.last_day.month - 1
    first = clean.first_day.year * 12 + clean.first_day.month - 1
    drained = silent[(month + silent["drain_months"] <= last) & (month > first)]
    assert len(drained) > 30
    at_attrition = [
        aum.at[c, d + pd.offsets.MonthEnd(0)]
        for c, d in zip(drained.index, left[drained.index], strict=True)
    ]
    at_end = aum.loc[drained.index, aum.columns.max()].to_numpy()
    assert (at_end <= 0.5 * np.asarray(at_attrition) + 0.01).all()


def test_truth_tiers_match_the_balances(clean: Bank, clean_frames) -> None:
    aum, truth = clean_frames["aum"], clean_frames["truth"]
    tiers = load_config(data_dir=clean.raw.parent.parent)["tiers"]
    edges = [t["min_aum"] for t in tiers]
    last = aum[aum.columns.max()].reindex(truth.index, fill_value=0.0)
    expected = np.array([t["name"] for t in tiers])[
        np.searchsorted(edges, last.to_numpy(), side="right") - 1
    ]
    assert (truth["tier_end"].to_numpy() == expected).all()
    assert np.allclose(truth["aum_end"], last, atol=0.011)


# ---- magnitudes: it looks like a bank ----------------------------------------------------------


def test_value_is_concentrated_in_few_customers(clean_frames) -> None:
    truth = clean_frames["truth"]
    aum = np.sort(truth["aum_end"].to_numpy())[::-1]
    top = aum[: int(0.03 * len(aum))].sum() / aum.sum()
    assert top >= 0.6
    shares = truth["tier_end"].value_counts(normalize=True)
    assert shares["mass"] > 0.8
    assert 0.01 < shares.get("wealth", 0) + shares.get("private", 0) < 0.04
    assert shares.get("private", 0) < 0.002
    assert (truth["aum_end"] < 1_000).mean() > 0.25  # the long tail


def test_channels_are_mostly_digital_and_the_counter_is_older_and_larger(clean_frames) -> None:
    tx, cust = clean_frames["tx"], clean_frames["cust"]
    own = tx[tx["initiated"]]
    assert own["channel"].isin(["mobile", "online"]).mean() > 0.85
    assert (tx["channel"] != "counter").mean() > 0.9
    age = (pd.Timestamp("2026-10-31") - pd.to_datetime(cust["birth_date"])).dt.days / 365.25
    counter = own["channel"] == "counter"
    own_age = age.loc[own["customer_id"]].to_numpy()
    assert own_age[counter.to_numpy()].mean() > own_age[~counter.to_numpy()].mean() + 5
    assert own.loc[counter, "amount"].median() > 3 * own.loc[~counter, "amount"].median()


def test_dormancy_attrition_and_products_are_plausible(clean: Bank, clean_frames) -> None:
    tx, bal, cust, truth = (
        clean_frames["tx"],
        clean_frames["bal"],
        clean_frames["cust"],
        clean_frames["truth"],
    )
    own = tx[tx["initiated"]]
    recent = set(own.loc[own["time"] > clean.last_day - pd.Timedelta(days=180), "customer_id"])
    open_accounts = cust.index[cust["status"] == "active"]
    dormant = 1 - open_accounts.isin(list(recent)).mean()
    assert 0.33 < dormant < 0.65
    active = truth[
        ~truth["dormant_at_start"] & (pd.to_datetime(truth["open_date"]) < clean.first_day)
    ]
    left = active["attrition_date"].notna()
    assert 0.05 < left.mean() < 0.15
    by_segment = left.groupby(active["segment"]).mean()
    assert by_segment["mass"] > by_segment["wealth"]
    last = bal[bal["month_end"] == bal["month_end"].max()]
    products = last.groupby("customer_id")["product"].nunique()
    assert 1.0 < products.mean() < 2.0
    tier = truth["tier_end"].reindex(products.index)
    assert products[tier == "wealth"].mean() >= 3


def test_relationship_managers_serve_the_upper_tiers(clean_frames) -> None:
    cust, truth = clean_frames["cust"], clean_frames["truth"]
    has_rm = cust["rm_id"] != ""
    assert (has_rm == truth["has_rm"]).all()
    coverage = has_rm.groupby(truth["tier_start"]).mean()
    assert coverage["mass"] < 0.05 and coverage["wealth"] > 0.6
    load = cust.loc[has_rm, "rm_id"].value_counts()
    assert 10 <= load.median() <= 300


def test_the_worse_branch_is_visibly_worse(clean: Bank, clean_frames) -> None:
    cust, truth = clean_frames["cust"], clean_frames["truth"]
    worse = clean.params["worse_branch"]
    in_worse = truth["branch_id"] == worse
    active = ~truth["dormant_at_start"]
    left = truth["attrition_date"].notna()
    assert left[active & in_worse].mean() > 1.3 * left[active & ~in_worse].mean()
    upper = truth["tier_start"] != "mass"
    has_rm = cust["rm_id"] != ""
    assert has_rm[upper & in_worse].mean() < 0.7 * has_rm[upper & ~in_worse].mean()
    nps = clean.survey["nps"].astype(int)
    promoters, detractors = nps >= 9, nps <= 6
    score = (
        (promoters.astype(int) - detractors.astype(int)).groupby(clean.survey["branch_id"]).mean()
    )
    assert score[worse] < score.drop(worse).min()


def test_satisfaction_is_related_to_attrition(clean: Bank, clean_frames) -> None:
    truth = clean_frames["truth"]
    left = truth["attrition_kind"] != "none"
    assert truth.loc[left, "satisfaction"].mean() < truth.loc[~left, "satisfaction"].mean() - 0.2
    named = clean.survey[clean.survey["customer_id"] != ""]
    kind = truth["attrition_kind"].loc[named["customer_id"]].to_numpy()
    nps, overall = named["nps"].astype(int).to_numpy(), named["overall"].astype(int).to_numpy()
    assert nps[kind != "none"].mean() < nps[kind == "none"].mean()
    assert overall[kind != "none"].mean() < overall[kind == "none"].mean()
    latent = truth["satisfaction"].loc[named["customer_id"]].to_numpy()
    assert np.corrcoef(latent, nps)[0, 1] > 0.3


# ---- building blocks -----------------------------------------------------------------------


@settings(max_examples=60, deadline=None)
@given(st.lists(st.integers(min_value=-(10**13), max_value=10**13), min_size=1, max_size=50))
def test_money_text_is_exact_two_decimal_cents(cents: list[int]) -> None:
    from pipeline.sample.writer import money

    text = money(np.array(cents)).to_pylist()
    assert all(MONEY.match(t) for t in text)
    assert [int(t.replace(".", "")) for t in text] == cents


@settings(max_examples=60, deadline=None)
@given(
    n=st.integers(min_value=0, max_value=400),
    rate=st.floats(min_value=0.0, max_value=0.5),
    seed=st.integers(min_value=0, max_value=2**32 - 1),
)
def test_injected_dirt_is_counted_exactly_and_spares_the_other_rows(
    n: int, rate: float, seed: int
) -> None:
    import pyarrow as pa

    from pipeline.sample.dirt import inject
    from pipeline.sample.writer import ids, money, timestamps

    rng = np.random.default_rng(seed)
    known = [f"C{i:08d}" for i in range(1, 101)]
    columns = {
        "txn_id": ids("T", np.arange(n), 8),
        "customer_id": pa.array([known[i] for i in rng.integers(0, 100, n)], pa.string()),
        "txn_time": timestamps(1_700_000_000 + rng.integers(0, 10**7, n)),
        "amount": money(rng.integers(1, 10**7, n)),
    }
    clean = pd.DataFrame({k: v.to_pylist() for k, v in columns.items()}, dtype=str)

    def unknown(k: int) -> pa.Array:
        return ids("C", 200 + np.arange(k), 8)

    dirty, counts = inject(rng, "transactions", columns, rate, unknown)
    frame = pd.DataFrame({k: v.to_pylist() for k, v in dirty.items()}, dtype=str)
    assert _found_dirt(frame, "transactions", set(known)) == counts
    assert len(frame) == n + counts["duplicate"]
    assert abs(sum(counts.values()) - rate * n) < 1
    damaged = sum(v for k, v in counts.items() if k != "duplicate")
    kept = frame.drop_duplicates().merge(clean, how="inner")
    assert len(kept) == n - damaged
    assert kept["txn_id"].tolist() == sorted(kept["txn_id"])  # order preserved


def test_national_ids_carry_birth_date_gender_and_a_valid_check_character() -> None:
    from pipeline.sample.identity import national_ids

    birth = np.array(["1950-01-31", "1988-12-01", "2001-07-15"], dtype="datetime64[D]").astype(
        np.int64
    )
    female = np.array([True, False, True])
    got = national_ids(np.random.default_rng(0), birth, female)
    weights = [2 ** (17 - i) % 11 for i in range(17)]  # ISO 7064 MOD 11-2
    for text, day, is_female in zip(got, ["19500131", "19881201", "20010715"], female, strict=True):
        assert len(text) == 18 and text[6:14] == day
        assert (int(text[16]) % 2 == 0) == is_female
        total = sum(int(d) * w for d, w in zip(text[:17], weights, strict=True))
        assert text[17] == "10X98765432"[total % 11]
