"""Features stage: customer feature mart, RFM segments, tiers, tier migration, branch KPIs.

core.py is the computation (pure over an engine), stage.py the `crm features` edge.
"""

from pipeline.features.core import (
    PeriodFeatures,
    build_period,
    customer_features,
    customer_measures,
)
from pipeline.features.settings import FeatureSettings

__all__ = [
    "FeatureSettings",
    "PeriodFeatures",
    "build_period",
    "customer_features",
    "customer_measures",
]
