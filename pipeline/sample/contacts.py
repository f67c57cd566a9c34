"""Relationship-manager contacts, and what they do to a customer's chance of leaving.

Whom the bank contacts (contact_plan, simulate_contacts): RMs their covered customers,
more often the higher their value segment and the better run their branch (the bias);
campaigns -- months in which a branch calls a random share of its customers whatever
their value (the random part), covered ones through their RM, the others through its
outbound team (RM number 0); and the outflow alert, which flags customers whose assets
fell and gets a share of them a retention call (whom the bank sees leaving).

What a contact does: to a customer still here, it multiplies the dropout hazard by
exp(-effect) for the months m .. m + CONTACT_EFFECT_MONTHS - 1, the effect depending on
who they are at the start of month m -- larger for affluent customers, for unhappy ones
and for those whose assets fell over the last three months; slightly negative for the
customers who dislike being called. To a customer who silently left in the last
WINBACK_MONTHS months, it may win them back (a chance by segment and dissatisfaction,
fading with time). Customers dormant before the window, or closed, are beyond its reach.
The true effect of a contact in each month on being lost within TRUTH_HORIZON_MONTHS is
kept for the ground truth (true_effect).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from pipeline.sample import params as P
from pipeline.sample.population import aum_path, settle_attrition


def contact_plan(
    rng: np.random.Generator,
    cust: dict[str, np.ndarray],
    rm: np.ndarray,
    branches: list[P.BranchProfile],
    window: P.Window,
) -> tuple[np.ndarray, np.ndarray]:
    """(contacts per customer and window month while the account is open, who dislikes
    being called). Closures come later and cut the contacts after them."""
    covered = rm >= 0
    bounds = window.month_starts
    lo = np.maximum(cust["open_day"][:, None], bounds[None, :-1])
    days = np.clip(bounds[None, 1:] - lo, 0, None)
    rate = (
        np.asarray(P.RM_CONTACTS_PER_MONTH)[cust["segment"]]
        * np.array([b.contact_multiplier for b in branches])[cust["branch"]]
        * covered
    )
    counts = rng.poisson(rate[:, None] * days / 30.44)
    campaign = rng.random((len(branches), window.months)) < P.CAMPAIGN_MONTH_SHARE
    reach = np.where(covered, P.CAMPAIGN_REACH, P.CAMPAIGN_REACH_NO_RM)[:, None]
    called = campaign[cust["branch"]] & (days > 0) & (rng.random(counts.shape) < reach)
    young_digital = cust["digital"] & (cust["age_end"] < 35)
    averse = rng.random(len(rm)) < np.where(young_digital, *P.CALL_AVERSE_SHARE[::-1])
    return counts + called, averse


def contact_effect(
    cust: dict[str, np.ndarray], walk: np.ndarray, averse: np.ndarray, window: P.Window
) -> np.ndarray:
    """The reduction of the log hazard a contact in each month brings (n x months)."""
    base = np.asarray(P.CONTACT_EFFECT_BASE)[cust["segment"]]
    unhappy = P.CONTACT_EFFECT_UNHAPPY * np.maximum(0.0, -cust["satisfaction"])
    # AUM at the start of month m (the previous month end's) against 3 months before
    m = np.arange(walk.shape[1])
    at_start, before = walk[:, np.clip(m - 1, 0, None)], walk[:, np.clip(m - 4, 0, None)]
    falling = at_start <= 0.95 * before
    effect = (base + unhappy)[:, None] + P.CONTACT_EFFECT_FALLING * falling
    return np.where(averse[:, None], P.CALL_AVERSE_EFFECT, effect)


def hazard_multiplier(contacted: np.ndarray, effect: np.ndarray) -> np.ndarray:
    """Per customer and month, the hazard multiplier: exp(-effect of the latest contact
    within CONTACT_EFFECT_MONTHS months, this month included), else 1."""
    n, months = contacted.shape
    out = np.ones((n, months))
    for m in range(months):
        for lag in range(P.CONTACT_EFFECT_MONTHS - 1, -1, -1):  # the latest contact wins
            source = m - lag
            if source >= 0:
                hit = contacted[:, source]
                out[hit, m] = np.exp(-effect[hit, source])
    return out


def dropout_with_contacts(
    cust: dict[str, np.ndarray], multiplier: np.ndarray, window: P.Window
) -> np.ndarray:
    """Each customer's dropout day when contacts change the hazard: the day the
    cumulative hazard (mu a week; times the month's multiplier inside the window) reaches
    the customer's exposure draw. Customers whose multipliers are all 1, and dropouts
    before the window, keep the day they had."""
    day = cust["dropout_day"].copy()
    moved = (multiplier != 1.0).any(axis=1) & (cust["dropout_day"] > window.start_day)
    idx = np.flatnonzero(moved)
    if not len(idx):
        return day
    rate = cust["mu_week"][idx] / 7.0
    bounds = window.month_starts
    open_day = cust["open_day"][idx]
    left = cust["exposure"][idx] - rate * np.clip(bounds[0] - open_day, 0, None)
    found = np.zeros(len(idx), dtype=bool)
    for m in range(window.months):
        lo = np.maximum(open_day, bounds[m])
        span = np.clip(bounds[m + 1] - lo, 0, None)
        r = rate * multiplier[idx, m]
        here = ~found & (span > 0) & (left <= r * span)
        day[idx[here]] = lo[here] + np.ceil(np.maximum(left[here] / r[here], 1e-9)).astype(np.int64)
        found |= here
        left = np.where(found, left, left - r * span)
    rest = ~found
    day[idx[rest]] = bounds[-1] + np.ceil(np.maximum(left[rest] / rate[rest], 1e-9)).astype(
        np.int64
    )
    return day


@dataclass
class ContactHistory:
    """What the month-by-month simulation decides: contacts per customer and month,
    each customer's dropout (first, win-back -- NO_DAY: none -- and final), the effect
    a contact would have each month (on the log hazard) and the chance it would win the
    customer back that month (0 unless silently gone and within reach)."""

    counts: np.ndarray
    first_dropout_day: np.ndarray
    winback_day: np.ndarray
    dropout_day: np.ndarray
    effect: np.ndarray
    winback_chance: np.ndarray


def simulate_contacts(
    rng: np.random.Generator,
    cust: dict[str, np.ndarray],
    rm: np.ndarray,
    walk: np.ndarray,
    residual: np.ndarray,
    branches: list[P.BranchProfile],
    window: P.Window,
) -> ContactHistory:
    """Contacts and their consequences, one month at a time, since whom the bank calls
    depends on what it sees: at each month's start the outflow alert flags customers
    whose assets fell by RETENTION_ALERT_DROP over three month ends, and a share of them
    gets a retention call on top of the routine and campaign contacts. A contact to a
    customer still here lowers their hazard (prevention: their dropout is drawn again
    from the same exposure); one to a customer silently gone may win them back."""
    counts, averse = contact_plan(rng, cust, rm, branches, window)
    effect = contact_effect(cust, walk, averse, window)
    n, months = counts.shape
    u_alert, u_win = rng.random((n, months)), rng.random((n, months))
    second_life = rng.standard_exponential(n)
    bounds = window.month_starts
    covered = rm >= 0
    closes = cust["close_draw"] < np.asarray(P.CLOSE_SHARE)[cust["segment"]]
    base_chance = np.where(
        averse,
        0.0,
        np.asarray(P.WINBACK_BASE)[cust["segment"]]
        + P.WINBACK_UNHAPPY * np.maximum(0.0, -cust["satisfaction"]),
    )

    first = cust["dropout_day"].copy()
    back = np.full(n, P.NO_DAY, dtype=np.int64)
    final = first.copy()
    chance = np.zeros((n, months))
    for m in range(months):
        state = settle_attrition(cust, final, window)
        state.update(first_dropout_day=first, winback_day=back)
        if m >= 1:  # the alert reads the month ends before the month
            aum = aum_path(walk, residual, state, window)
            now, before = aum[:, m - 1], aum[:, max(m - 4, 0)]
            alert = np.nan_to_num(now) <= (1.0 - P.RETENTION_ALERT_DROP) * np.nan_to_num(before)
            alert &= np.isfinite(now) & (np.nan_to_num(before) > 0)
            reach = np.where(covered, P.RETENTION_REACH, P.RETENTION_REACH_NO_RM)
            counts[:, m] += alert & (u_alert[:, m] < reach)
        contacted = counts[:, m] > 0

        # a silent leaver within reach: gone since an earlier month, not back, not closed
        left_m = np.searchsorted(bounds, first, side="right") - 1
        since = m - left_m
        reachable = (
            (
                (first > window.start_day)
                & (back == P.NO_DAY)
                & ~(closes & (first < window.stop_day))
            )
            & (since >= 1)
            & (since <= P.WINBACK_MONTHS)
        )
        fade = np.clip(1.0 - (since - 1) / P.WINBACK_MONTHS, 0.0, 1.0)
        chance[:, m] = np.where(reachable, np.clip(base_chance * fade, 0.0, 0.9), 0.0)
        won = contacted & (u_win[:, m] < chance[:, m])
        back = np.where(won, bounds[m] + P.WINBACK_DAY, back)
        lifetime = np.minimum((1.0 / cust["mu_week"]) * second_life * 7.0, 200 * 365.0)
        final = np.where(won, back + np.ceil(np.maximum(lifetime, 1e-9)).astype(np.int64), final)

        # prevention, for those still in their first life at the month's start
        here = contacted & (first > bounds[m])
        if here.any():
            multiplier = hazard_multiplier(counts[:, : m + 1] > 0, effect[:, : m + 1])
            moved = dropout_with_contacts(cust, _pad(multiplier, months), window)
            first = np.where(first > bounds[m], moved, first)
            final = np.where(back == P.NO_DAY, first, final)
    return ContactHistory(counts, first, back, final, effect, chance)


def _pad(multiplier: np.ndarray, months: int) -> np.ndarray:
    """A multiplier for the months simulated so far, 1 for the months after."""
    out = np.ones((multiplier.shape[0], months))
    out[:, : multiplier.shape[1]] = multiplier
    return out


def true_effect(
    cust: dict[str, np.ndarray], history: ContactHistory, residual: np.ndarray, window: P.Window
) -> np.ndarray:
    """Per customer and window month m, by how much a contact in m lowers the probability
    that the bank's churn label fires over the TRUTH_HORIZON_MONTHS months from m's start
    -- under the default definition: assets at the end at most (1 - TRUTH_AUM_DROP_SHARE)
    of those at the start, and no own transaction in between, or the customer closed in
    the window (pipeline.features.attrition) --, other contacts aside. That label, not
    the dropout itself, is what a bank can learn the effect from.

    - Here at m's start in a first life: the label fires when the customer drops out
      within the window before any own transaction, early enough for their assets to
      have drained, or closes within it whatever came before (the closing withdrawal
      included); the contact lowers the hazard for CONTACT_EFFECT_MONTHS months. Per
      month k of the window, with a constant hazard r and own transactions at rate l a
      day, P(drop out silently in k, nothing before) = r / (r + l) x (exp(-A(k start)) -
      exp(-A(k end))), A the cumulative hazard plus l times the days from m's start, and
      P(close in k) = exp(-H(k start)) - exp(-H(k end)), H the cumulative hazard alone:
      the effect is that sum without the contact less with it.
    - Here again after a win-back: 0 (a won-back customer's last dropout is drawn when
      they return and no contact moves it).
    - Silently gone and within reach: the chance the contact wins them back, when the
      label would fire without it (their assets still drain by half over the window).
    - Otherwise (not yet open, closed, dormant, beyond reach): 0.
    Walks of the assets' level are left out (their months-ahead move averages 0)."""
    bounds = window.month_starts
    months, h = window.months, P.TRUTH_HORIZON_MONTHS
    keep = 1.0 - P.TRUTH_AUM_DROP_SHARE
    lengths = np.concatenate([np.diff(bounds).astype(float), np.full(h, 30.44)])
    rate, own = cust["mu_week"] / 7.0, cust["lambda_week"] / 7.0
    drain = cust["drain_months"].astype(float)
    closes = cust["close_draw"] < np.asarray(P.CLOSE_SHARE)[cust["segment"]]
    first, back, final = history.first_dropout_day, history.winback_day, history.dropout_day
    first_m = np.searchsorted(bounds, first, side="right") - 1

    def share_left(since: np.ndarray) -> np.ndarray:  # of the assets, `since` months after
        return np.where(since > 0, np.maximum(residual, 1.0 - since / drain), 1.0)

    out = np.zeros((len(rate), months))
    for m in range(months):
        last = m + h - 1  # the window's last month
        returned = (back != P.NO_DAY) & (back <= bounds[m])
        first_life = (cust["open_day"] <= bounds[m]) & (first > bounds[m])
        here_again = returned & (final > bounds[m])
        fire = {}
        for contacted in (False, True):
            total, elapsed, hazard = np.zeros(len(rate)), 0.0, np.zeros(len(rate))
            for k in range(m, m + h):
                r = rate * (
                    np.exp(-history.effect[:, m])
                    if contacted and k < m + P.CONTACT_EFFECT_MONTHS
                    else 1.0
                )
                before, start = hazard, hazard + own * elapsed
                hazard = hazard + r * lengths[k]
                elapsed += lengths[k]
                drained = share_left(np.full(len(rate), last - k, dtype=float)) <= keep
                silent = r / (r + own) * (np.exp(-start) - np.exp(-(hazard + own * elapsed)))
                closing = np.exp(-before) - np.exp(-hazard)
                total += np.where(closes, closing, np.where(drained, silent, 0.0))
            fire[contacted] = total
        prevented = fire[False] - fire[True]
        gone_fires = share_left(last - first_m) <= keep * share_left(m - 1 - first_m)
        won = history.winback_chance[:, m] * gone_fires
        out[:, m] = np.where(first_life, prevented, np.where(here_again, 0.0, won))
    return out


def rm_contacts(
    rng: np.random.Generator,
    cust: dict[str, np.ndarray],
    rm: np.ndarray,
    counts: np.ndarray,
    window: P.Window,
) -> dict[str, np.ndarray]:
    """The planned contacts as events, unique per (customer, day, channel), ordered by
    customer, day and channel: customer index, RM number, day, channel and outcome codes.
    Contacts happen while the account is open (also after a silent dropout: the RM does
    not know yet) and stop at a closure."""
    bounds = window.month_starts
    end = np.where(cust["close_day"] != P.NO_DAY, cust["close_day"], window.stop_day)
    lo = np.maximum(cust["open_day"][:, None], bounds[None, :-1])
    days = np.clip(np.minimum(end[:, None], bounds[None, 1:]) - lo, 0, None)
    counts = np.where(days > 0, counts, 0)
    months = days.shape[1]
    flat = np.repeat(np.arange(counts.size), counts.ravel())
    customer, m = flat // months, flat % months
    day = lo[customer, m] + np.floor(rng.random(len(flat)) * days[customer, m]).astype(np.int64)
    channel = np.searchsorted(np.cumsum(P.CONTACT_CHANNEL_P), rng.random(len(flat)), side="right")
    channel = np.minimum(channel, len(P.CONTACT_CHANNELS) - 1)

    # Unhappy customers complain; valuable ones buy; a fixed share does not answer.
    z = cust["satisfaction"][customer]
    p_complaint = np.clip(0.04 * np.exp(-0.8 * z), 0.0, 0.4)
    p_sale = np.array([0.04, 0.08, 0.12, 0.15])[cust["segment"][customer]] * np.exp(0.3 * z)
    p_no_answer = np.where(channel == 0, 0.3, 0.1)  # phone calls go unanswered most
    u = rng.random(len(flat))
    outcome = np.select(
        [u < p_complaint, u < p_complaint + p_sale, u < p_complaint + p_sale + p_no_answer],
        [3, 2, 1],
        default=0,
    )
    order = np.lexsort((channel, day, customer))
    customer, day, channel, outcome = customer[order], day[order], channel[order], outcome[order]
    first = np.ones(len(order), dtype=bool)
    first[1:] = (np.diff(customer) != 0) | (np.diff(day) != 0) | (np.diff(channel) != 0)
    return {
        "customer": customer[first],
        "rm": np.maximum(rm[customer[first]], -1),  # -1: the branch's outbound team
        "day": day[first],
        "channel": channel[first],
        "outcome": outcome[first],
    }
