"""Tiers by AUM: each tier starts at its `min_aum` (inclusive) and runs to the next one's.

Thresholds and names are config (`tiers`, increasing, the first at 0). A negative AUM
(an overdrawn current account with nothing else) falls in the first tier.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd


def tier_index(aum: np.ndarray | pd.Series, tier_min_aum: Sequence[float]) -> np.ndarray:
    """Position (0 = lowest) of each AUM's tier: the last tier whose min_aum <= aum."""
    values = np.asarray(aum, dtype=np.float64)
    if np.isnan(values).any():
        raise ValueError("tier_index: AUM must not be missing (use 0 for no balances)")
    idx = np.searchsorted(np.asarray(tier_min_aum, dtype=np.float64), values, side="right") - 1
    return np.clip(idx, 0, len(tier_min_aum) - 1)


def assign_tiers(
    aum: np.ndarray | pd.Series, tier_names: Sequence[str], tier_min_aum: Sequence[float]
) -> np.ndarray:
    """Tier name of each AUM (an object array of str)."""
    names = np.asarray(list(tier_names), dtype=object)
    return names[tier_index(aum, tier_min_aum)]


def category_codes(values: pd.Series, categories: Sequence[str]) -> np.ndarray:
    """Position of each value in `categories` (hash-based: fast on Arrow strings).

    A value outside the categories is an error: tiers come from the same config.
    """
    codes, uniques = pd.factorize(values)
    position = {name: i for i, name in enumerate(categories)}
    unknown = [u for u in uniques if u not in position]
    if unknown or (codes < 0).any():
        raise ValueError(f"values {unknown or ['<missing>']} are not among {list(categories)}")
    lookup = np.array([position[u] for u in uniques], dtype=np.int64)
    return lookup[codes] if len(codes) else np.zeros(0, dtype=np.int64)
