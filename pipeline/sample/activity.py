"""Transactions: the customers' own activity (a Poisson process until dropout) and the
bank's postings (salary and pension credits, incoming transfers, interest, fees).

Rows are built with vectorised numpy: counts per customer and month, then one row per
event with its day, type, channel, time of day and amount in integer cents.
"""

from __future__ import annotations

import numpy as np

from pipeline.sample import params as P
from pipeline.sample.population import KIND_CLOSED, away, month_index
from pipeline.schema import CHANNELS

CUSTOMER_TYPES = (
    "transfer_out",
    "cash_deposit",
    "cash_withdrawal",
    "card_purchase",
    "bill_payment",
    "wealth_purchase",
)
BANK_TYPES = ("salary_credit", "transfer_in", "interest_credit", "fee")
TXN_TYPES = CUSTOMER_TYPES + BANK_TYPES
CREDIT_TYPES = ("cash_deposit", "salary_credit", "transfer_in", "interest_credit")
T = {name: i for i, name in enumerate(TXN_TYPES)}
DIRECTION_OF_TYPE = np.array(
    [0 if t in CREDIT_TYPES else 1 for t in TXN_TYPES]
)  # 0 credit, 1 debit
C = {name: i for i, name in enumerate(CHANNELS)}

# Mix of customer-initiated types by value segment (rows: mass, affluent, wealth, private).
TYPE_MIX = np.array(
    [
        [0.31, 0.015, 0.03, 0.45, 0.165, 0.03],
        [0.33, 0.015, 0.025, 0.40, 0.15, 0.08],
        [0.35, 0.015, 0.02, 0.34, 0.12, 0.155],
        [0.37, 0.01, 0.02, 0.30, 0.10, 0.20],
    ]
)
# Amount per type: median (CNY), log sd, elasticity to the customer's wealth, rounding unit.
AMOUNT = {
    "transfer_out": (800.0, 1.1, 0.35, 0.01),
    "cash_deposit": (2_000.0, 0.8, 0.25, 100.0),
    "cash_withdrawal": (800.0, 0.7, 0.2, 100.0),
    "card_purchase": (85.0, 1.0, 0.2, 0.01),
    "bill_payment": (160.0, 0.8, 0.15, 0.01),
    "wealth_purchase": (30_000.0, 0.9, 0.6, 1_000.0),
}
# Channel probabilities (counter, atm, mobile, online, pos, other) by type, for
# customers not enrolled in digital banking [0] and enrolled [1].
CHANNEL_P = {
    "transfer_out": ([0.6, 0.4, 0, 0, 0, 0], [0.01, 0.01, 0.84, 0.14, 0, 0]),
    "cash_deposit": ([0.4, 0.6, 0, 0, 0, 0], [0.3, 0.7, 0, 0, 0, 0]),
    "cash_withdrawal": ([0.3, 0.7, 0, 0, 0, 0], [0.15, 0.85, 0, 0, 0, 0]),
    "card_purchase": ([0, 0, 0, 0, 1.0, 0], [0, 0, 0.89, 0.08, 0.03, 0]),
    "bill_payment": ([0.5, 0.3, 0, 0, 0, 0.2], [0, 0.01, 0.8, 0.18, 0, 0.01]),
    "wealth_purchase": ([1.0, 0, 0, 0, 0, 0], [0.15, 0, 0.7, 0.15, 0, 0]),
}
COUNTER_BOOST_OLD = 5.0  # counter odds multiplier for customers aged 60+
COUNTER_BOOST_LARGE = 4.0  # ... and for amounts of 50,000 or more
LARGE_AMOUNT_CENTS = 5_000_000
# Relative frequency of each hour of day, by channel.
_DIGITAL = [
    0.4,
    0.2,
    0.1,
    0.1,
    0.1,
    0.2,
    0.6,
    1.4,
    2.4,
    3.0,
    3.1,
    3.3,
    3.8,
    3.2,
    2.9,
    2.9,
    3.0,
    3.2,
    3.6,
    4.2,
    4.6,
    4.3,
    2.9,
    1.3,
]
_ATM = [
    0.1,
    0.05,
    0.02,
    0.02,
    0.02,
    0.05,
    0.3,
    1.0,
    2.0,
    2.5,
    2.8,
    3.0,
    3.2,
    2.8,
    2.5,
    2.5,
    2.8,
    3.2,
    3.5,
    3.2,
    2.5,
    1.8,
    1.0,
    0.4,
]
_COUNTER = [0] * 9 + [1.0, 1.3, 1.3, 0.8, 0.9, 1.2, 1.2, 0.9] + [0] * 7
_BATCH = [2.0, 4.0, 2.0, 1.0] + [0] * 20
HOURS = {
    "counter": _COUNTER,
    "atm": _ATM,
    "mobile": _DIGITAL,
    "online": _DIGITAL,
    "pos": _DIGITAL,
    "other": _BATCH,
}


def spend_scale(aum_peak: np.ndarray) -> np.ndarray:
    """How much larger a customer's amounts are than a typical mass customer's."""
    return np.clip(aum_peak / 20_000.0, 0.1, 300.0)


def exposure_days(cust: dict[str, np.ndarray], window: P.Window) -> tuple[np.ndarray, np.ndarray]:
    """First active day and number of active days of each customer in each month
    (active: account open and the customer not dropped out). A won-back customer's
    second life starts in a later month than the first ends, so a month holds one span."""
    bounds = window.month_starts
    lo = np.maximum(cust["open_day"][:, None], bounds[None, :-1])
    hi = np.minimum(cust["first_dropout_day"][:, None], bounds[None, 1:])
    back = cust["winback_day"][:, None]
    second = (back != P.NO_DAY) & (bounds[None, 1:] > back)
    lo = np.where(second, np.maximum(back, bounds[None, :-1]), lo)
    hi = np.where(second, np.minimum(cust["dropout_day"][:, None], bounds[None, 1:]), hi)
    return lo, np.clip(hi - lo, 0, None)


def _events(rng: np.random.Generator, rate_per_day: np.ndarray, lo: np.ndarray, days: np.ndarray):
    """Poisson events at `rate_per_day` over each (customer, month) active span."""
    counts = rng.poisson(rate_per_day[:, None] * days)
    months = days.shape[1]
    flat = np.repeat(np.arange(counts.size), counts.ravel())
    customer, m = flat // months, flat % months
    day = lo[customer, m] + np.floor(rng.random(len(flat)) * days[customer, m]).astype(np.int64)
    return customer, day


def _categorical(u: np.ndarray, group: np.ndarray, probabilities: np.ndarray) -> np.ndarray:
    """Draw a category per row from its group's row of `probabilities` (uniforms `u`)."""
    out = np.zeros(len(u), dtype=np.int64)
    for g, p in enumerate(probabilities):
        rows = np.flatnonzero(group == g)
        cdf = np.cumsum(p) / np.sum(p)
        out[rows] = np.minimum(np.searchsorted(cdf, u[rows], side="right"), len(p) - 1)
    return out


def _amounts(rng: np.random.Generator, types: np.ndarray, scale: np.ndarray) -> np.ndarray:
    cents = np.zeros(len(types), dtype=np.int64)
    for name, (median, sd, elasticity, unit) in AMOUNT.items():
        rows = np.flatnonzero(types == T[name])
        value = median * scale[rows] ** elasticity * np.exp(sd * rng.standard_normal(len(rows)))
        units = np.maximum(np.round(value / unit), 1)
        cents[rows] = np.round(units * unit * 100).astype(np.int64)
    return cents


def _channels(rng, types, digital, old, cents) -> np.ndarray:
    """Channel of each customer-initiated row; the counter draws older customers and
    large amounts."""
    channel = np.zeros(len(types), dtype=np.int64)
    u_counter, u_other = rng.random(len(types)), rng.random(len(types))
    boost = np.where(old, COUNTER_BOOST_OLD, 1.0) * np.where(
        cents >= LARGE_AMOUNT_CENTS, COUNTER_BOOST_LARGE, 1.0
    )
    for name, tables in CHANNEL_P.items():
        for enrolled in (0, 1):
            rows = np.flatnonzero((types == T[name]) & (digital == bool(enrolled)))
            p = np.asarray(tables[enrolled], dtype=float)
            base = p[0] * boost[rows]
            p_counter = base / (base + 1.0 - p[0])
            rest = p[1:] / p[1:].sum() if p[1:].sum() > 0 else np.eye(len(p) - 1)[0]
            pick = 1 + np.minimum(
                np.searchsorted(np.cumsum(rest), u_other[rows], side="right"), len(rest) - 1
            )
            channel[rows] = np.where(u_counter[rows] < p_counter, C["counter"], pick)
    return channel


def _seconds_of_day(rng: np.random.Generator, channel: np.ndarray, types: np.ndarray) -> np.ndarray:
    """Time of day by channel; payroll batches post in the morning, whatever the channel."""
    seconds = np.zeros(len(channel), dtype=np.int64)
    u = rng.random(len(channel))
    for name, weights in HOURS.items():
        rows = np.flatnonzero(channel == C[name])
        cdf = np.cumsum(weights) / np.sum(weights)
        hour = np.minimum(np.searchsorted(cdf, u[rows], side="right"), 23)
        seconds[rows] = hour * 3600
    payroll = types == T["salary_credit"]
    seconds[payroll] = (8 + np.floor(u[payroll] * 3).astype(np.int64)) * 3600
    return seconds + rng.integers(0, 3600, len(channel))


def _revenue(rng: np.random.Generator, types, channel, cents) -> np.ndarray:
    """Fee or margin the bank earns on each transaction (cents, >= 0)."""
    revenue = np.zeros(len(types), dtype=np.int64)
    card = types == T["card_purchase"]
    revenue[card] = np.round(cents[card] * 0.0035).astype(np.int64)  # interchange
    wealth = types == T["wealth_purchase"]
    rate = np.array([0.005, 0.01, 0.015])[rng.integers(0, 3, len(types))]
    revenue[wealth] = np.round(cents[wealth] * rate[wealth]).astype(np.int64)  # subscription fee
    counter_transfer = (types == T["transfer_out"]) & (channel == C["counter"])
    revenue[counter_transfer] = np.clip(
        np.round(cents[counter_transfer] * 0.0001), 200, 5_000
    ).astype(np.int64)
    cross_bank = (
        (types == T["cash_withdrawal"]) & (channel == C["atm"]) & (rng.random(len(types)) < 0.1)
    )
    revenue[cross_bank] = 200
    fee = types == T["fee"]
    revenue[fee] = cents[fee]
    return revenue


def transactions(
    rng: np.random.Generator,
    cust: dict[str, np.ndarray],
    aum: np.ndarray,
    current_deposit: np.ndarray,
    window: P.Window,
) -> dict[str, np.ndarray]:
    """All transactions of a chunk of customers, ordered by month, customer and time:
    customer index, month index, seconds since 1970, type, channel, direction (0 credit,
    1 debit), amount and revenue in cents."""
    n = len(cust["open_day"])
    scale = spend_scale(cust["aum_peak"])
    lo, days = exposure_days(cust, window)

    # The customer's own activity: Poisson at lambda per week until dropout.
    own_c, own_day = _events(rng, cust["lambda_week"] / 7.0, lo, days)
    own_t = _categorical(rng.random(len(own_c)), cust["segment"][own_c], TYPE_MIX)
    own_cents = _amounts(rng, own_t, scale[own_c])

    # A closure empties the account the day it closes.
    closed = np.flatnonzero(cust["attrition_kind"] == KIND_CLOSED)
    close_m = month_index(cust["close_day"][closed], window)
    previous = np.where(
        close_m > 0, aum[closed, np.maximum(close_m - 1, 0)], cust["aum_peak"][closed]
    )
    previous = np.nan_to_num(previous)
    keep = previous >= 0.01
    close_c, close_day = closed[keep], cust["close_day"][closed][keep]
    close_cents = np.round(previous[keep] * 100).astype(np.int64)

    # Salary or pension credited on a fixed payday while the customer banks here.
    age = cust["age_end"]
    paid = np.where(
        (age >= 22) & (age < 60),
        rng.random(n) < P.SALARY_SHARE_WORKING_AGE,
        (age >= 60) & (rng.random(n) < P.PENSION_SHARE_RETIRED),
    )
    pay = (
        P.SALARY_MEDIAN
        * scale**0.25
        * np.exp(P.SALARY_SIGMA * rng.standard_normal(n))
        * np.where(age >= 60, 0.6, 1.0)
    )
    payday = window.month_starts[None, :-1] + rng.choice([4, 9, 14, 19, 24], n)[:, None]
    ok = paid[:, None] & (payday >= cust["open_day"][:, None]) & ~away(cust, payday)
    sal_c, sal_m = np.nonzero(ok)
    sal_day = payday[sal_c, sal_m]
    sal_cents = np.round(pay[sal_c] * np.exp(0.05 * rng.standard_normal(len(sal_c))) * 100).astype(
        np.int64
    )

    # Incoming transfers from other people, while the customer is active.
    tin_c, tin_day = _events(rng, np.full(n, P.TRANSFER_IN_PER_MONTH / 30.44), lo, days)
    tin_cents = np.round(
        600.0 * scale[tin_c] ** 0.3 * np.exp(rng.standard_normal(len(tin_c))) * 100
    ).astype(np.int64)
    tin_cents = np.maximum(tin_cents, 1)

    # Quarterly interest on the current deposit (21 March, June, September, December).
    end_day = np.where(cust["close_day"] != P.NO_DAY, cust["close_day"], window.stop_day)
    calendar_month = (
        window.month_starts[:-1].astype("datetime64[D]").astype("datetime64[M]").astype(int) % 12
    ) + 1
    posting_day = window.month_starts[:-1] + 20
    previous_balance = np.concatenate([current_deposit[:, :1], current_deposit[:, :-1]], axis=1)
    interest = np.nan_to_num(previous_balance) * P.DEMAND_RATE_ANNUAL / 4
    ok = (
        (calendar_month % 3 == 0)[None, :]
        & (interest >= P.INTEREST_MIN_POSTED)
        & (posting_day[None, :] >= cust["open_day"][:, None])
        & (posting_day[None, :] < end_day[:, None])
    )
    int_c, int_m = np.nonzero(ok)
    int_day = posting_day[int_m]
    int_cents = np.round(interest[int_c, int_m] * 100).astype(np.int64)

    # An annual card fee in the account's anniversary month, for some customers.
    open_dt = cust["open_day"].astype("datetime64[D]")
    open_cal = open_dt.astype("datetime64[M]").astype(int) % 12 + 1
    open_dom = (open_dt - open_dt.astype("datetime64[M]").astype("datetime64[D]")).astype(int)
    fee_day = window.month_starts[None, :-1] + np.minimum(open_dom, 27)[:, None]
    ok = (
        (rng.random(n) < P.ANNUAL_FEE_SHARE)[:, None]
        & (calendar_month[None, :] == open_cal[:, None])
        & (fee_day > cust["open_day"][:, None] + 360)
        & (fee_day < end_day[:, None])
    )
    fee_c, fee_m = np.nonzero(ok)
    fee_day = fee_day[fee_c, fee_m]
    fee_cents = np.full(len(fee_c), int(P.ANNUAL_FEE * 100), dtype=np.int64)

    customer = np.concatenate([own_c, close_c, sal_c, tin_c, int_c, fee_c])
    day = np.concatenate([own_day, close_day, sal_day, tin_day, int_day, fee_day])
    types = np.concatenate(
        [
            own_t,
            np.full(len(close_c), T["transfer_out"]),
            np.full(len(sal_c), T["salary_credit"]),
            np.full(len(tin_c), T["transfer_in"]),
            np.full(len(int_c), T["interest_credit"]),
            np.full(len(fee_c), T["fee"]),
        ]
    )
    cents = np.concatenate([own_cents, close_cents, sal_cents, tin_cents, int_cents, fee_cents])

    channel = np.full(len(types), C["other"], dtype=np.int64)
    own = np.arange(len(types)) < len(own_c) + len(close_c)
    channel[own] = _channels(
        rng,
        types[own],
        cust["digital"][customer[own]],
        cust["age_end"][customer[own]] >= 60,
        cents[own],
    )
    channel[types == T["salary_credit"]] = C["online"]  # payroll batches via corporate e-banking
    incoming = np.flatnonzero(types == T["transfer_in"])
    channel[incoming] = np.where(rng.random(len(incoming)) < 0.8, C["mobile"], C["online"])
    seconds = day * P.DAY_SECONDS + _seconds_of_day(rng, channel, types)
    revenue = _revenue(rng, types, channel, cents)

    month = month_index(day, window)
    # One sort key: month, customer, second within the month, type (fits in 63 bits).
    in_month = seconds - window.month_starts[month] * P.DAY_SECONDS
    key = ((month * (n + 1) + customer) * (32 * P.DAY_SECONDS) + in_month) * 16 + types
    order = np.argsort(key, kind="stable")
    return {
        "customer": customer[order],
        "month": month[order],
        "seconds": seconds[order],
        "type": types[order],
        "channel": channel[order],
        "direction": DIRECTION_OF_TYPE[types[order]],
        "cents": cents[order],
        "revenue": revenue[order],
    }
