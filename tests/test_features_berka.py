"""Features on the real PKDD'99 Czech bank in ../shared/data/berka (skipped when absent):
data nobody here wrote. Its transactions here run 1993-01..1994-03 only."""

from __future__ import annotations

import datetime as dt

import numpy as np
import pandas as pd
import pytest
from test_ingest_support import ingest_berka

from pipeline.engine import connect
from pipeline.features import FeatureSettings, build_period

pytestmark = pytest.mark.realdata


@pytest.fixture(scope="module")
def berka(tmp_path_factory):
    source, cfg, catalog, _ = ingest_berka(tmp_path_factory.mktemp("berka_features") / "data")
    accounts = pd.read_csv(source / "account.asc", sep=";", dtype={"date": str})
    disp = pd.read_csv(source / "disp.asc", sep=";")
    owners = disp[disp["type"] == "OWNER"]  # the customers (a disponent holds nothing)
    clients = owners.merge(accounts, on="account_id")  # the owner opens with the account
    opened = pd.to_datetime("19" + clients["date"], format="%Y%m%d")
    return cfg, catalog, opened


@pytest.fixture(scope="module")
def march_1994(berka):
    cfg, catalog, _ = berka
    return build_period(connect(catalog.interim_dir), "1994-03", FeatureSettings.from_config(cfg))


def test_population_is_every_account_opened_by_the_as_of_date(berka, march_1994):
    _, _, opened = berka
    # the owner of every account opened by then; none closed in the data
    assert len(march_1994.features) == int((opened <= "1994-03-31").sum())
    assert (march_1994.features["status"] == "active").all()


def test_scores_segments_and_kpis_hold_their_contracts(march_1994):
    f, kpis = march_1994.features, march_1994.branch_kpis
    assert f["customer_id"].is_unique and f["rfm_segment"].notna().all()
    active = f[f["txn_count"] > 0]
    assert 0 < len(active) <= 1229  # the trans file covers 1,229 accounts
    for axis in ("rfm_r", "rfm_f", "rfm_m"):
        share = active[axis].value_counts(normalize=True)
        assert set(share.index) <= {1, 2, 3, 4, 5} and share.max() < 0.6  # ties, no collapse
    network = kpis[kpis["scope"] == "network"].iloc[0]
    assert network["customers"] == len(f)
    shares = sum(network[f"customer_share__{t}"] for t in ("mass", "affluent", "wealth", "private"))
    assert shares == pytest.approx(1.0, abs=1e-12)
    branches = kpis[kpis["scope"] == "branch"]
    assert len(branches) == f["branch_id"].nunique()
    assert branches["gini_aum"].dropna().between(0, 1).all()
    lorenz = march_1994.lorenz
    for _, curve in lorenz.groupby(lorenz["branch_id"].fillna("network")):
        assert (np.diff(curve.sort_values("point")["cum_aum_share"]) >= -1e-12).all()


def test_years_after_the_last_transaction_everyone_is_dormant_and_lost(berka):
    cfg, catalog, opened = berka
    out = build_period(
        connect(catalog.interim_dir), "1998-12", FeatureSettings.from_config(cfg)
    ).features
    assert len(out) == int((opened <= "1998-12-31").sum()) == 4500
    assert out["dormant"].all() and (out["txn_count"] == 0).all()
    assert (out["rfm_segment"] == cfg["rfm"]["inactive_segment"]).all()
    last = pd.to_datetime(out["last_txn_date"].dropna())
    assert last.max() <= pd.Timestamp(dt.date(1994, 3, 31))
