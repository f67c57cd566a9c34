"""Features stage: customer feature mart, RFM segments, tiers, tier migration, branch KPIs.

`compute_customer_features(con, as_of, cfg)` is the pure core other stages call (churn
training calls it at earlier snapshots); `run_features(cfg, catalog, period)` is the
`crm features` stage.
"""

from pipeline.features.customer import (
    compute_customer_features,
    customer_aum,
    customer_measures,
)
from pipeline.features.kpis import compute_branch_kpis, compute_branch_outputs, compute_lorenz
from pipeline.features.migration import compute_tier_migration
from pipeline.features.settings import FeatureSettings
from pipeline.features.stage import build_period, run_features

__all__ = [
    "FeatureSettings",
    "build_period",
    "compute_branch_kpis",
    "compute_branch_outputs",
    "compute_customer_features",
    "compute_lorenz",
    "compute_tier_migration",
    "customer_aum",
    "customer_measures",
    "run_features",
]
