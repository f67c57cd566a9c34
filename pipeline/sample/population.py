"""Who the sample bank's customers are: demographics, value, behaviour and fate.

Pure functions of a random generator: one call draws a chunk of customers with their
true process parameters (purchase rate, dropout rate, satisfaction), their attrition
(before the window: a dormant account; inside it: silent or a closure -- settled again
once contacts have moved it, pipeline.sample.contacts) and the path of their assets
under management at each month end.
"""

from __future__ import annotations

import numpy as np

from pipeline.sample import params as P

KIND_NONE, KIND_SILENT, KIND_CLOSED = 0, 1, 2
ATTRITION_KINDS = ("none", "silent", "closed")


def draw_customers(
    rng: np.random.Generator, n: int, window: P.Window, branches: list[P.BranchProfile]
) -> dict[str, np.ndarray]:
    """Draw `n` customers: attributes, true BTYD parameters and attrition (day numbers)."""
    start, stop = window.start_day, window.stop_day
    weights = np.array([b.weight for b in branches])
    branch = rng.choice(len(branches), size=n, p=weights / weights.sum())
    age_shift = np.array([b.age_shift for b in branches])[branch]
    age_end = np.clip(rng.normal(P.AGE_MEAN + age_shift, P.AGE_SD), *P.AGE_RANGE)
    birth_day = stop - 1 - np.floor(age_end * 365.25).astype(np.int64) - rng.integers(0, 365, n)
    adult_day = birth_day + int(np.ceil(18 * 365.25))
    female = rng.random(n) < P.FEMALE_SHARE

    new = rng.random(n) < min(0.5, P.NEW_CUSTOMERS_PER_YEAR * window.months / 12)
    tenure_years = np.minimum(
        rng.gamma(P.TENURE_GAMMA[0], P.TENURE_GAMMA[1], n),
        np.maximum((start - adult_day) / 365.25, 0.0),
    )
    open_day = np.where(
        new,
        rng.integers(start, stop, n),
        start - 1 - np.floor(tenure_years * 365.25).astype(np.int64),
    )
    open_day = np.minimum(np.maximum(open_day, adult_day), stop - 1)

    log_aum = (
        P.AUM_LOG_MU
        + P.AUM_AGE_SLOPE * (np.minimum(age_end, 65.0) - 45.0)
        + P.AUM_LOG_SIGMA * rng.standard_normal(n)
    )
    aum_peak = np.exp(log_aum)
    segment = P.segment_of(aum_peak)
    digital = rng.random(n) < 1.0 / (
        1.0 + np.exp((age_end - P.DIGITAL_AGE_MIDPOINT) / P.DIGITAL_AGE_SCALE)
    )

    r = np.asarray(P.PURCHASE_R)[segment]
    alpha = np.asarray(P.PURCHASE_ALPHA)[segment] / np.where(
        digital, P.DIGITAL_RATE_MULTIPLIER, 1.0
    )
    lambda_week = rng.gamma(r, 1.0 / alpha)

    satisfaction = (
        rng.standard_normal(n) + np.array([b.satisfaction_shift for b in branches])[branch]
    )
    k = P.SATISFACTION_HAZARD
    mu_week = (
        rng.gamma(np.asarray(P.DROPOUT_S)[segment], 1.0 / np.asarray(P.DROPOUT_BETA)[segment])
        * np.exp(-k * satisfaction - k * k / 2)
        * np.array([b.attrition_multiplier for b in branches])[branch]
    )
    # Time to dropout: a unit exponential against the cumulative hazard (mu a week from the
    # account's opening), so contacts can later change the hazard for some months
    # (pipeline.sample.contacts) and move the same draw's dropout (settle_attrition).
    exposure = rng.standard_exponential(n)
    lifetime_days = np.minimum((1.0 / mu_week) * exposure * 7.0, 200 * 365.0)
    dropout_day = open_day + np.ceil(np.maximum(lifetime_days, 1e-9)).astype(np.int64)
    cust = {
        "branch": branch,
        "age_end": age_end,
        "birth_day": birth_day,
        "female": female,
        "new": new,
        "open_day": open_day,
        "aum_peak": aum_peak,
        "segment": segment,
        "digital": digital,
        "lambda_week": lambda_week,
        "mu_week": mu_week,
        "satisfaction": satisfaction,
        "exposure": exposure,
        "close_draw": rng.random(n),
        "drain_months": rng.integers(P.DRAIN_MONTHS[0], P.DRAIN_MONTHS[1] + 1, n),
    }
    return settle_attrition(cust, dropout_day, window)


def settle_attrition(
    cust: dict[str, np.ndarray], dropout_day: np.ndarray, window: P.Window
) -> dict[str, np.ndarray]:
    """The customers with their dropout day and what follows from it: attrition before
    the window (a dormant account), inside it (silent, or a closure for a share of the
    segment), or none."""
    start, stop = window.start_day, window.stop_day
    attrited = dropout_day < stop
    in_window = attrited & (dropout_day > start)
    closed = in_window & (cust["close_draw"] < np.asarray(P.CLOSE_SHARE)[cust["segment"]])
    kind = np.where(closed, KIND_CLOSED, np.where(attrited, KIND_SILENT, KIND_NONE))
    return {
        **cust,
        "dropout_day": dropout_day,
        "attrition_kind": kind,
        "dormant_at_start": attrited & ~in_window,
        "close_day": np.where(closed, dropout_day, P.NO_DAY),
        # a single life unless a contact wins the customer back (contacts.win_back)
        "first_dropout_day": dropout_day,
        "winback_day": np.full(len(dropout_day), P.NO_DAY, dtype=np.int64),
    }


def away(cust: dict[str, np.ndarray], days: np.ndarray) -> np.ndarray:
    """Whether each customer (rows) has dropped out and is not back on `days` (n x k):
    from the first dropout until a win-back, and from the final dropout on."""
    first = cust["first_dropout_day"][:, None]
    back = cust["winback_day"][:, None]
    returned = back != P.NO_DAY
    return ((days >= first) & ~(returned & (days >= back))) | (
        returned & (days >= cust["dropout_day"][:, None])
    )


def month_index(days: np.ndarray, window: P.Window) -> np.ndarray:
    """Index of the window month holding each day (-1 before the window, M after)."""
    return np.searchsorted(window.month_starts, days, side="right") - 1


def aum_walk(
    rng: np.random.Generator, cust: dict[str, np.ndarray], window: P.Window
) -> tuple[np.ndarray, np.ndarray]:
    """Each customer's AUM at each month end as it would go without attrition inside the
    window (n x months; accounts dormant before the window keep a residual that barely
    moves; new customers build up), and the share a silent attriter keeps."""
    n, months = len(cust["open_day"]), window.months
    m = np.arange(months)[None, :]
    dormant = cust["dormant_at_start"]
    residual_dormant = rng.beta(*P.DORMANT_RESIDUAL_BETA, n)
    residual_silent = rng.beta(*P.SILENT_RESIDUAL_BETA, n)
    steps = rng.normal(P.AUM_MONTHLY_DRIFT, P.AUM_MONTHLY_SD, (n, months))
    steps[dormant] = rng.normal(0.0, P.AUM_MONTHLY_SD / 4, (int(dormant.sum()), months))
    level = cust["aum_peak"] * np.where(dormant, residual_dormant, 1.0)
    aum = level[:, None] * np.exp(np.cumsum(steps, axis=1))
    open_m = month_index(cust["open_day"], window)[:, None]
    ramp = np.clip((m - open_m + 1) / P.NEW_CUSTOMER_RAMP_MONTHS, 0.0, 1.0)
    return np.where(cust["new"][:, None], aum * ramp, aum), residual_silent


def aum_path(
    walk: np.ndarray, residual_silent: np.ndarray, cust: dict[str, np.ndarray], window: P.Window
) -> np.ndarray:
    """AUM at each month end (n x months) from the walk and the customer's attrition;
    NaN where the account has no snapshot (not yet open, or after the month of its
    closure). Closures show 0 at their last month end; silent attriters drain towards
    a small residual -- a won-back customer's assets drain from the first dropout and
    are back from the win-back's month."""
    months = window.months
    ends = window.month_end_days[None, :]
    m = np.arange(months)[None, :]
    since_first = m - month_index(cust["first_dropout_day"], window)[:, None]
    back_m = month_index(cust["winback_day"], window)[:, None]
    drained = np.maximum(
        residual_silent[:, None], 1.0 - since_first / cust["drain_months"][:, None]
    )
    away_first = (cust["winback_day"] != P.NO_DAY)[:, None] & (since_first > 0) & (m < back_m)
    walk = np.where(away_first, walk * drained, walk)
    dormant = cust["dormant_at_start"]
    drop_m = month_index(cust["dropout_day"], window)[:, None]
    silent_here = (cust["attrition_kind"] == KIND_SILENT) & ~dormant
    since = m - drop_m
    drain = np.maximum(residual_silent[:, None], 1.0 - since / cust["drain_months"][:, None])
    aum = np.where(silent_here[:, None] & (since > 0), walk * drain, walk)

    closed = cust["attrition_kind"] == KIND_CLOSED
    aum = np.where(closed[:, None] & (since >= 0), 0.0, aum)
    present = (cust["open_day"][:, None] <= ends) & ~(closed[:, None] & (since > 0))
    return np.where(present, np.round(aum, 2), np.nan)


def assign_rms(
    rng: np.random.Generator,
    aum_start: np.ndarray,
    branch: np.ndarray,
    branches: list[P.BranchProfile],
    rm_counts: np.ndarray,
) -> np.ndarray:
    """Each customer's RM number within the branch (-1: none). Coverage follows the value
    segment of the customer's AUM at the start of the window and the branch's policy."""
    coverage = np.asarray(P.RM_COVERAGE)[P.segment_of(np.nan_to_num(aum_start))]
    coverage = coverage * np.array([b.rm_coverage_multiplier for b in branches])[branch]
    covered = rng.random(len(branch)) < coverage
    rm = np.floor(rng.random(len(branch)) * rm_counts[branch]).astype(np.int64)
    return np.where(covered, rm, -1)


def rm_counts(n_customers: int, branches: list[P.BranchProfile]) -> np.ndarray:
    """RMs per branch, sized up front from the expected number of covered customers."""
    expected_share = 0.075  # covered share of customers at full coverage (calibrated)
    return np.array(
        [
            max(
                1,
                int(
                    round(
                        n_customers
                        * b.weight
                        * expected_share
                        * b.rm_coverage_multiplier
                        / b.rm_load
                    )
                ),
            )
            for b in branches
        ]
    )


def first_present(values: np.ndarray) -> np.ndarray:
    """Each row's first non-NaN value (NaN when none)."""
    present = ~np.isnan(values)
    idx = np.argmax(present, axis=1)
    out = values[np.arange(len(values)), idx]
    return np.where(present.any(axis=1), out, np.nan)


def last_present(values: np.ndarray) -> np.ndarray:
    """Each row's last non-NaN value (NaN when none)."""
    return first_present(values[:, ::-1])
