"""End to end on the generated sample bank: sample -> ingest -> features through the CLI,
then the features against the generator's ground truth, and byte determinism."""

from __future__ import annotations

import datetime as dt

import numpy as np
import pandas as pd
import pytest
from click.testing import CliRunner

from pipeline.catalog import Catalog
from pipeline.cli import cli
from pipeline.config import load_config
from pipeline.engine import connect
from pipeline.features import FeatureSettings, customer_features
from pipeline.features.customer import kpi_features
from pipeline.features.kpis import compute_branch_kpis
from pipeline.features.stage import run_features
from pipeline.io import sha256_file

pytestmark = pytest.mark.slow
PERIOD = "2026-10"
AS_OF = dt.date(2026, 10, 31)


@pytest.fixture(scope="module")
def bank(tmp_path_factory):
    root = tmp_path_factory.mktemp("features_bank")
    data = root / "data"
    base = ["--data-dir", str(data), "--report-dir", str(root / "reports")]
    runner = CliRunner()
    for args in (
        ["sample", "--customers", "3000", "--clean"],
        ["ingest"],
        ["features", "--period", PERIOD],
    ):
        result = runner.invoke(cli, [*base, *args], catch_exceptions=False)
        assert result.exit_code == 0, result.output
    catalog = Catalog(data, root / "reports")
    features = pd.read_parquet(catalog.customer_features(PERIOD))
    truth = pd.read_parquet(catalog.ground_truth_dir() / "customers_truth.parquet")
    return catalog, features, truth.set_index("customer_id").loc[features["customer_id"]]


def test_population_is_open_customers_plus_this_months_closures(bank):
    catalog, features, _ = bank
    truth = pd.read_parquet(catalog.ground_truth_dir() / "customers_truth.parquet")
    attrition = pd.to_datetime(truth["attrition_date"])
    closed_before = (truth["attrition_kind"] == "closed") & (attrition < "2026-10-01")
    opened = pd.to_datetime(truth["open_date"]) <= pd.Timestamp(AS_OF)
    assert sorted(features["customer_id"]) == sorted(
        truth.loc[opened & ~closed_before, "customer_id"]
    )
    closed_now = (truth["attrition_kind"] == "closed") & (attrition >= "2026-10-01")
    assert features["closed_in_period"].sum() == (closed_now & opened).sum()


def test_recovers_tiers_aum_rm_and_digital_of_the_ground_truth(bank):
    _, features, truth = bank
    assert (features["tier"].to_numpy() == truth["tier_end"].to_numpy()).all()
    # exports round each product's balance to cents: at most 6 asset products
    assert np.abs(features["aum"].to_numpy() - truth["aum_end"].to_numpy()).max() <= 0.03
    assert (features["rm_id"].notna().to_numpy() == truth["has_rm"].to_numpy()).all()
    assert (features["digital_enrolled"].to_numpy() == truth["digital_enrolled"].to_numpy()).all()
    assert (features["branch_id"].to_numpy() == truth["branch_id"].to_numpy()).all()


def test_attrited_long_ago_means_dormant(bank):
    _, features, truth = bank
    attrition = pd.to_datetime(truth["attrition_date"]).to_numpy()
    long_gone = (truth["attrition_kind"].to_numpy() != "none") & (
        attrition <= np.datetime64(AS_OF - dt.timedelta(days=180))
    )
    assert long_gone.sum() > 100
    assert features["dormant"].to_numpy()[long_gone].all()


def test_stage_outputs_agree_with_each_other(bank):
    catalog, features, _ = bank
    kpis = pd.read_parquet(catalog.branch_kpis(PERIOD))
    migration = pd.read_parquet(catalog.tier_migration(PERIOD))
    lorenz = pd.read_parquet(catalog.lorenz(PERIOD))
    network = kpis[kpis["scope"] == "network"].iloc[0]
    active = features[features["status"] == "active"]
    assert network["customers"] == len(active)
    assert network["aum"] == pytest.approx(active["aum"].sum(), rel=1e-12)
    to_closed = migration.loc[migration["to_tier"] == "closed", "customers"].sum()
    assert to_closed == features["closed_in_period"].sum()
    arrived = migration.loc[migration["to_tier"] != "closed", "customers"].sum()
    assert arrived == len(active)
    assert set(lorenz["branch_id"].dropna()) == set(features["branch_id"])
    assert features["rfm_segment"].notna().all() and features["rfm_r"].between(1, 5).all()


def test_rerun_writes_the_same_bytes(bank):
    catalog, _, _ = bank
    paths = [
        catalog.customer_features(PERIOD),
        catalog.tier_migration(PERIOD),
        catalog.branch_kpis(PERIOD),
        catalog.lorenz(PERIOD),
    ]
    before = [sha256_file(p) for p in paths]
    cfg = load_config(data_dir=catalog.data_dir, report_dir=catalog.report_dir)
    run_features(cfg, catalog, PERIOD)
    assert [sha256_file(p) for p in paths] == before


def test_earlier_snapshot_matches_the_previous_months_mart(bank):
    catalog, features, _ = bank
    cfg = load_config(data_dir=catalog.data_dir, report_dir=catalog.report_dir)
    con = connect(catalog.interim_dir)
    earlier = customer_features(con, dt.date(2026, 9, 30), FeatureSettings.from_config(cfg))
    # a customer active on 30 September is in both marts, one month older in October
    both = earlier.merge(features, on="customer_id", suffixes=("_sep", "_oct"))
    both = both[(both["status_sep"] == "active")]
    assert len(both) == (earlier["status"] == "active").sum()
    assert ((both["tenure_months_oct"] - both["tenure_months_sep"]) == 1).all()
    assert (both["aum_month_end_sep"] == dt.date(2026, 9, 30)).all()


@pytest.mark.parametrize("as_of", [dt.date(2026, 4, 30), AS_OF])
def test_the_kpi_backfill_reads_the_marts_values_and_kpis(bank, as_of):
    """The KPI history backfills months never run from the mart's KPI columns alone:
    the same values, rows and branch KPIs as the whole mart gives."""
    catalog, _, _ = bank
    engine = connect(catalog.interim_dir)
    s = FeatureSettings.from_config(load_config(None))
    try:
        full = customer_features(engine, as_of, s)
        narrow = kpi_features(engine, as_of, s)
    finally:
        engine.close()
    assert set(narrow.columns) < set(full.columns)
    pd.testing.assert_frame_equal(narrow, full[narrow.columns], check_exact=True)
    period = as_of.strftime("%Y-%m")
    pd.testing.assert_frame_equal(
        compute_branch_kpis(narrow, s, period, as_of),
        compute_branch_kpis(full, s, period, as_of),
        check_exact=True,
    )
