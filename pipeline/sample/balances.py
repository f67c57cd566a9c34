"""Monthly balance snapshots: each customer's AUM spread over the asset products held,
plus loans and credit cards (positive amounts owed)."""

from __future__ import annotations

import numpy as np

from pipeline.sample import params as P
from pipeline.sample.population import KIND_CLOSED, away, month_index
from pipeline.schema import ASSET_PRODUCTS, PRODUCTS


def draw_holdings(rng: np.random.Generator, cust: dict[str, np.ndarray]) -> np.ndarray:
    """Which products each customer holds (n x len(PRODUCTS) booleans). Accounts dormant
    before the window keep only their current deposit; a customer who closes has no loan."""
    n = len(cust["segment"])
    held = np.column_stack(
        [rng.random(n) < np.asarray(P.PRODUCT_HOLDING[p])[cust["segment"]] for p in PRODUCTS]
    )
    dormant = cust["dormant_at_start"]
    held[dormant] = False
    held[:, PRODUCTS.index("current_deposit")] = True
    held[cust["attrition_kind"] == KIND_CLOSED, PRODUCTS.index("loan")] = False
    return held


def product_balances(
    rng: np.random.Generator,
    cust: dict[str, np.ndarray],
    aum: np.ndarray,
    held: np.ndarray,
    window: P.Window,
) -> np.ndarray:
    """Balance of every product at every month end (n x months x products); NaN where
    there is no snapshot row (product not held, account not open, loan repaid). Silent
    attriters' assets drain through `aum` itself; a closure shows zeros in its month."""
    n, months = aum.shape
    present = ~np.isnan(aum)
    out = np.full((n, months, len(PRODUCTS)), np.nan)

    n_assets = len(ASSET_PRODUCTS)
    raw = rng.gamma(np.array([P.ASSET_DIRICHLET[p] for p in ASSET_PRODUCTS]), size=(n, n_assets))
    raw *= held[:, :n_assets]
    share = raw / raw.sum(axis=1, keepdims=True)
    for j in range(n_assets):
        values = np.round(aum * share[:, j : j + 1], 2)
        out[:, :, j] = np.where(held[:, j : j + 1] & present, values, np.nan)

    closing = (cust["attrition_kind"] == KIND_CLOSED)[:, None] & (
        np.arange(months)[None, :] >= month_index(cust["dropout_day"], window)[:, None]
    )
    # Loans amortise linearly to zero; the row disappears once repaid.
    loan = PRODUCTS.index("loan")
    scale = np.clip(cust["aum_peak"] / 100_000.0, 0.3, 5.0) ** 0.5
    principal = np.round(P.LOAN_MEDIAN * scale * np.exp(P.LOAN_SIGMA * rng.standard_normal(n)), 2)
    term = rng.integers(12, 241, n)
    elapsed = rng.integers(0, term)
    left = 1.0 - (elapsed[:, None] + np.arange(months)[None, :]) / term[:, None]
    loan_balance = np.round(principal[:, None] * left, 2)
    out[:, :, loan] = np.where(
        held[:, loan : loan + 1] & present & (left > 0), loan_balance, np.nan
    )

    # Credit cards: a monthly statement balance, often zero; zero after attrition.
    card = PRODUCTS.index("credit_card")
    limit = np.asarray(P.CARD_LIMIT_MEDIAN)[cust["segment"]] * np.exp(0.4 * rng.standard_normal(n))
    used = rng.beta(1.2, 4.0, (n, months)) * (rng.random((n, months)) >= P.CARD_ZERO_MONTH_SHARE)
    stopped = away(cust, window.month_end_days[None, :])
    card_balance = np.where(stopped, 0.0, np.round(limit[:, None] * used, 2))
    out[:, :, card] = np.where(held[:, card : card + 1] & present, card_balance, np.nan)

    out[closing] = np.where(np.isnan(out[closing]), np.nan, 0.0)
    return out
