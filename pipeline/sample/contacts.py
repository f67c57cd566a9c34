"""Relationship-manager contacts: covered customers are called, messaged and visited,
more often the higher their value segment and the better run their branch."""

from __future__ import annotations

import numpy as np

from pipeline.sample import params as P


def rm_contacts(
    rng: np.random.Generator,
    cust: dict[str, np.ndarray],
    rm: np.ndarray,
    branches: list[P.BranchProfile],
    window: P.Window,
) -> dict[str, np.ndarray]:
    """Contacts of a chunk of customers, unique per (customer, day, channel), ordered by
    customer, day and channel: customer index, RM number, day, channel and outcome codes.
    Contacts happen while the account is open (also after a silent dropout: the RM does
    not know yet) and stop at a closure."""
    covered = rm >= 0
    bounds = window.month_starts
    end = np.where(cust["close_day"] != P.NO_DAY, cust["close_day"], window.stop_day)
    lo = np.maximum(cust["open_day"][:, None], bounds[None, :-1])
    days = np.clip(np.minimum(end[:, None], bounds[None, 1:]) - lo, 0, None)
    rate = (
        np.asarray(P.RM_CONTACTS_PER_MONTH)[cust["segment"]]
        * np.array([b.contact_multiplier for b in branches])[cust["branch"]]
        * covered
    )
    counts = rng.poisson(rate[:, None] * days / 30.44)
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
        "rm": rm[customer[first]],
        "day": day[first],
        "channel": channel[first],
        "outcome": outcome[first],
    }
