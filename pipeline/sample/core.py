"""One chunk of the sample bank: its customers, their truth, balances, transactions,
RM contacts and survey answers, as numpy arrays (no I/O here).

Every chunk and every part of it draws from its own random stream derived from the
seed, so the output depends only on the seed and the sizes, never on timing or order.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from pipeline.sample import params as P
from pipeline.sample.activity import transactions
from pipeline.sample.balances import draw_holdings, product_balances
from pipeline.sample.contacts import rm_contacts, simulate_contacts, true_effect
from pipeline.sample.population import (
    assign_rms,
    aum_path,
    aum_walk,
    draw_customers,
    first_present,
    last_present,
    rm_counts,
    settle_attrition,
)
from pipeline.sample.surveys import CUSTOMER_DIMENSIONS, answers, customer_respondents
from pipeline.schema import PRODUCTS

STREAMS = (
    "customers",
    "aum",
    "holdings",
    "balances",
    "rm",
    "transactions",
    "contacts",
    "survey",
    "identity",
    "dirt",
    "branches",
    "staff",
)
RUN_LEVEL = 1_000_000  # chunk number used for streams that belong to the whole run


def stream(seed: int, chunk: int, name: str, *more: int) -> np.random.Generator:
    """The random generator of one part of one chunk."""
    return np.random.default_rng(
        np.random.SeedSequence(seed, spawn_key=(chunk, STREAMS.index(name), *more))
    )


@dataclass(frozen=True)
class Setup:
    """Everything fixed for the whole run."""

    seed: int
    n_customers: int
    window: P.Window
    branches: list[P.BranchProfile]
    rm_counts: np.ndarray
    tier_names: tuple[str, ...]
    tier_min_aum: tuple[float, ...]
    customer_survey: dict[str, Any]
    staff_survey: dict[str, Any]

    @property
    def n_chunks(self) -> int:
        return -(-self.n_customers // P.CHUNK_CUSTOMERS)

    @property
    def id_width(self) -> int:
        """Digits of a customer number, with room for unknown ids beyond the last one."""
        return max(8, len(str(10 * self.n_customers + 1_000)))

    def tier_of(self, aum: np.ndarray) -> np.ndarray:
        """Configured tier index of each AUM (NaN counts as zero)."""
        return np.searchsorted(np.asarray(self.tier_min_aum), np.nan_to_num(aum), side="right") - 1


def make_setup(
    sample_cfg: dict[str, Any], tiers: list[dict[str, Any]], customer_survey, staff_survey
) -> Setup:
    window = P.Window(sample_cfg["end_month"], sample_cfg["months"])
    branches = P.branch_profiles(
        sample_cfg["branches"], stream(sample_cfg["seed"], RUN_LEVEL, "branches")
    )
    return Setup(
        seed=sample_cfg["seed"],
        n_customers=sample_cfg["customers"],
        window=window,
        branches=branches,
        rm_counts=rm_counts(sample_cfg["customers"], branches),
        tier_names=tuple(t["name"] for t in tiers),
        tier_min_aum=tuple(float(t["min_aum"]) for t in tiers),
        customer_survey=customer_survey,
        staff_survey=staff_survey,
    )


@dataclass
class Chunk:
    first_number: int  # customer number of the chunk's first customer
    customers: dict[str, np.ndarray]
    aum: np.ndarray  # n x months, NaN where no snapshot
    rm: np.ndarray  # RM number within the branch, -1 none
    balances: np.ndarray  # n x months x products
    transactions: dict[str, np.ndarray]
    contacts: dict[str, np.ndarray]
    survey: dict[str, np.ndarray]
    true_contact_effect: np.ndarray  # by how much a contact each month lowers P(leaving)


def generate_chunk(setup: Setup, index: int) -> Chunk:
    """Draw chunk `index` of the bank (customers index*CHUNK+1 ... )."""
    first = index * P.CHUNK_CUSTOMERS
    n = min(P.CHUNK_CUSTOMERS, setup.n_customers - first)
    seed, window = setup.seed, setup.window
    cust = draw_customers(stream(seed, index, "customers"), n, window, setup.branches)
    walk, residual = aum_walk(stream(seed, index, "aum"), cust, window)
    rm = assign_rms(
        stream(seed, index, "rm"),
        first_present(aum_path(walk, residual, cust, window)),  # as planned, before contacts
        cust["branch"],
        setup.branches,
        setup.rm_counts,
    )
    contact_rng = stream(seed, index, "contacts")
    history = simulate_contacts(contact_rng, cust, rm, walk, residual, setup.branches, window)
    cust = {
        **settle_attrition(cust, history.dropout_day, window),
        "first_dropout_day": history.first_dropout_day,
        "winback_day": history.winback_day,
    }
    aum = aum_path(walk, residual, cust, window)
    held = draw_holdings(stream(seed, index, "holdings"), cust)
    values = product_balances(stream(seed, index, "balances"), cust, aum, held, window)
    txns = transactions(
        stream(seed, index, "transactions"),
        cust,
        aum,
        values[:, :, PRODUCTS.index("current_deposit")],
        window,
    )
    contacts = rm_contacts(contact_rng, cust, rm, history.counts, window)
    survey_rng = stream(seed, index, "survey")
    respondents = customer_respondents(survey_rng, cust, window)
    worse = np.array([b.worse for b in setup.branches])[cust["branch"][respondents["customer"]]]
    respondents.update(
        answers(
            survey_rng,
            setup.customer_survey,
            CUSTOMER_DIMENSIONS,
            cust["satisfaction"][respondents["customer"]],
            worse,
        )
    )
    truth = true_effect(cust, history, residual, window)
    return Chunk(first + 1, cust, aum, rm, values, txns, contacts, respondents, truth)


def truth_columns(setup: Setup, chunk: Chunk) -> dict[str, np.ndarray]:
    """The chunk's ground truth per customer (numpy, before formatting)."""
    cust, window = chunk.customers, setup.window
    attrited = cust["dropout_day"] < window.stop_day
    aum_start, aum_end = first_present(chunk.aum), last_present(chunk.aum)
    return {
        "segment": cust["segment"],
        "tier_start": setup.tier_of(aum_start),
        "tier_end": setup.tier_of(aum_end),
        "aum_start": np.nan_to_num(aum_start),
        "aum_end": np.nan_to_num(aum_end),
        "lambda_week": cust["lambda_week"],
        "mu_week": cust["mu_week"],
        "annual_dropout_probability": 1.0 - np.exp(-52.0 * cust["mu_week"]),
        "attrition_day": np.where(attrited, cust["dropout_day"], P.NO_DAY),
        "first_attrition_day": np.where(
            cust["winback_day"] != P.NO_DAY, cust["first_dropout_day"], P.NO_DAY
        ),
        "winback_day": cust["winback_day"],
        "attrition_kind": cust["attrition_kind"],
        "dormant_at_start": cust["dormant_at_start"],
        "drain_months": np.where(
            attrited & ~cust["dormant_at_start"] & (cust["attrition_kind"] == 1),
            cust["drain_months"],
            0,
        ),
        "satisfaction": cust["satisfaction"],
    }
