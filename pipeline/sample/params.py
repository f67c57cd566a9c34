"""The sample bank's true population: every number the generator draws from, in one place.

Rates follow the conventions of `lifetimes` (time unit: week). Customer-initiated
activity is Pareto/NBD-like: each customer transacts as a Poisson process with rate
lambda ~ Gamma(shape=r, rate=alpha) (rate scaled up for digitally enrolled customers)
until an exponential dropout time with rate mu ~ Gamma(shape=s, rate=beta), itself
scaled by the customer's satisfaction and branch. Both depend on the customer's value
segment, the generator's own AUM bands (independent of the configured tiers, so a bank
that changes its tier thresholds still gets the same population).
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any

import numpy as np

from pipeline.periods import previous_period
from pipeline.schema import ASSET_PRODUCTS, PRODUCTS

GENERATOR_VERSION = 2  # 2: lower volume (about 15 transactions per customer over 24 months)
CHUNK_CUSTOMERS = 25_000  # customers generated per chunk (fixed: part of the output's identity)
DAY_SECONDS = 86_400
NO_DAY = -(10**8)  # day number meaning "no date" (day numbers before 1970 are negative)

# Value segments: peak AUM bands (CNY), the population parameters are given per segment.
SEGMENTS = ("mass", "affluent", "wealth", "private")
SEGMENT_MIN_AUM = (0.0, 50_000.0, 500_000.0, 6_000_000.0)

# Peak AUM: log-normal long tail, log(aum) = mu + slope * (min(age, 65) - 45) + sigma * N(0, 1).
AUM_LOG_MU = 8.8
AUM_LOG_SIGMA = 2.2
AUM_AGE_SLOPE = 0.03
AUM_MONTHLY_DRIFT = 0.002  # log-AUM random walk of an active customer
AUM_MONTHLY_SD = 0.04
DORMANT_RESIDUAL_BETA = (
    0.6,
    14.0,
)  # share of peak AUM left on an account dormant before the window
SILENT_RESIDUAL_BETA = (0.7, 12.0)  # share left after a silent attriter's balances drain
DRAIN_MONTHS = (2, 6)  # a silent attriter's balances drain over this many months (inclusive)
NEW_CUSTOMER_RAMP_MONTHS = 3  # a new customer's balances build up over this many months

# Customer-initiated purchase rate per week: Gamma(r, alpha) per segment (not enrolled).
# Volume: about 15M transactions per 1M customers over 24 months, as in issue 8's benchmark.
PURCHASE_R = (0.8, 0.9, 1.0, 1.2)
PURCHASE_ALPHA = (15.1, 11.0, 9.35, 8.25)
DIGITAL_RATE_MULTIPLIER = 2.2  # lambda of a digitally enrolled customer is this many times higher
# Dropout rate per week: Gamma(s, beta) per segment, before satisfaction and branch effects.
DROPOUT_S = (2.5, 2.5, 2.5, 2.5)
DROPOUT_BETA = (929.0, 1300.0, 1857.0, 2364.0)
SATISFACTION_HAZARD = 0.7  # mu *= exp(-k z - k^2 / 2): unhappy customers leave sooner, mean kept
CLOSE_SHARE = (0.25, 0.3, 0.35, 0.35)  # of attrition inside the window: accounts closed, not silent

# Tenure: a share of customers opens inside the window, the rest earlier.
NEW_CUSTOMERS_PER_YEAR = 0.065
TENURE_GAMMA = (1.5, 3.0)  # years before the window start: Gamma(shape, scale), capped at age 18
AGE_MEAN, AGE_SD, AGE_RANGE = 44.0, 15.0, (18.0, 92.0)
FEMALE_SHARE = 0.51
DIGITAL_AGE_MIDPOINT, DIGITAL_AGE_SCALE = (
    72.0,
    6.0,
)  # P(enrolled) = 1 / (1 + exp((age - mid) / scale))

# Relationship managers: coverage by segment of the AUM at the window start.
RM_COVERAGE = (0.02, 0.45, 0.9, 1.0)
RM_LOAD = 120  # target customers per RM (the worse branch runs far heavier)
RM_CONTACTS_PER_MONTH = (0.1, 0.25, 0.7, 1.5)
CONTACT_CHANNELS = ("phone", "wechat", "visit", "branch")
CONTACT_CHANNEL_P = (0.5, 0.3, 0.1, 0.1)
CONTACT_OUTCOMES = ("reached", "no_answer", "sale", "complaint")
# Campaigns, the random part of whom the bank calls: in a branch's campaign month every
# covered customer is called by their RM with this probability, whatever their value, and
# every other customer by the branch's outbound team (RM number 0) with the second.
CAMPAIGN_MONTH_SHARE = 0.5
CAMPAIGN_REACH = 0.3
CAMPAIGN_REACH_NO_RM = 0.2

# The bank's outflow alert: at a month's start, customers whose assets fell by this share
# over the last three month ends are flagged, and a share of them gets a retention call
# (from their RM, or from the branch's outbound team): the bank calls those it sees
# leaving, which is what makes a naive comparison of called and not called mislead.
RETENTION_ALERT_DROP = 0.1
RETENTION_REACH = 0.8
RETENTION_REACH_NO_RM = 0.4

# What a contact does: for CONTACT_EFFECT_MONTHS months from the month of the contact the
# customer's dropout hazard is multiplied by exp(-effect), the effect depending on who
# they are and how they are doing at the month's start (the true effect is stored).
CONTACT_EFFECT_MONTHS = 3
CONTACT_EFFECT_BASE = (0.2, 0.5, 0.4, 0.3)  # by value segment: mass ... private
CONTACT_EFFECT_UNHAPPY = 0.6  # more per unit of dissatisfaction (max(0, -satisfaction))
CONTACT_EFFECT_FALLING = 0.8  # more when AUM fell over the last 3 months (by 5% or more)
CALL_AVERSE_SHARE = (0.04, 0.5)  # who dislike being called: most customers, young digital ones
CALL_AVERSE_EFFECT = -0.4  # ...leave a little sooner after a call
# A contact can also win back a customer who has silently left while their assets are
# still draining: with a chance by value segment (affluent customers most: the wealthier
# ones who leave have mostly gone to a private bank for good), more for unhappy ones,
# fading to nothing WINBACK_MONTHS after they left; never one who dislikes being called.
WINBACK_MONTHS = 4
WINBACK_BASE = (0.35, 0.7, 0.45, 0.25)  # by value segment: mass ... private
WINBACK_UNHAPPY = 0.15  # more per unit of dissatisfaction
WINBACK_DAY = 10  # a won-back customer is back from this day of the contact's month
# The true effect is on the bank's churn label under the default definition (configs
# default.yml churn): assets down by this share over this many months, no own activity.
TRUTH_HORIZON_MONTHS = 3
TRUTH_AUM_DROP_SHARE = 0.5

# Products: probability of holding each product by segment (current deposit: everyone).
PRODUCT_HOLDING = {
    "current_deposit": (1.0, 1.0, 1.0, 1.0),
    "time_deposit": (0.15, 0.45, 0.7, 0.8),
    "wealth_management": (0.03, 0.25, 0.6, 0.85),
    "fund": (0.05, 0.2, 0.45, 0.7),
    "insurance": (0.04, 0.12, 0.3, 0.5),
    "bond": (0.01, 0.05, 0.15, 0.35),
    "loan": (0.08, 0.15, 0.15, 0.1),
    "credit_card": (0.2, 0.4, 0.5, 0.6),
}
ASSET_DIRICHLET = {  # how a customer's AUM spreads over the asset products held
    "current_deposit": 2.0,
    "time_deposit": 1.5,
    "wealth_management": 1.5,
    "fund": 1.0,
    "insurance": 0.6,
    "bond": 0.6,
}
LOAN_MEDIAN, LOAN_SIGMA = 180_000.0, 0.9
CARD_LIMIT_MEDIAN = (8_000.0, 30_000.0, 80_000.0, 200_000.0)
CARD_ZERO_MONTH_SHARE = 0.35

# Transactions that are not the customer's doing.
SALARY_SHARE_WORKING_AGE = 0.15  # salary paid here, ages 22-59
PENSION_SHARE_RETIRED = 0.13  # pension paid here (txn_type salary_credit), ages 60+
SALARY_MEDIAN, SALARY_SIGMA = 6_500.0, 0.5
TRANSFER_IN_PER_MONTH = 0.1
DEMAND_RATE_ANNUAL = 0.0025  # current-deposit interest, posted quarterly on the 21st
INTEREST_MIN_POSTED = 1.0  # interest below this accrues to the next posting
ANNUAL_FEE, ANNUAL_FEE_SHARE = 10.0, 0.12  # card fee in the account's anniversary month

# Satisfaction and surveys.
SURVEY_RESPONSE_RATE = 0.05
SURVEY_ANONYMOUS_SHARE = 0.2
SURVEY_DIMENSION_LOADING = 0.75  # dimension latent = loading * z + sqrt(1 - loading^2) * noise
SURVEY_ITEM_NOISE = 0.6
STAFF_ROLES = ("teller", "rm", "manager", "advisor")
STAFF_RESPONSE_RATE = 0.85


@dataclass(frozen=True)
class Window:
    """The generated months: `months` calendar months ending with `end_month`."""

    end_month: str
    months: int

    @property
    def month_starts(self) -> np.ndarray:
        """Day numbers (days since 1970-01-01) of each month's first day, plus the day
        after the window: months + 1 boundaries."""
        end = np.datetime64(self.end_month, "M")
        months = end - np.arange(self.months, -1, -1) + 1
        return months.astype("datetime64[D]").astype(np.int64)

    @property
    def start_day(self) -> int:
        return int(self.month_starts[0])

    @property
    def stop_day(self) -> int:
        """The day after the window's last day (exclusive end)."""
        return int(self.month_starts[-1])

    @property
    def month_labels(self) -> list[str]:
        return [previous_period(self.end_month, k) for k in range(self.months - 1, -1, -1)]

    @property
    def month_end_days(self) -> np.ndarray:
        return self.month_starts[1:] - 1


@dataclass(frozen=True)
class BranchProfile:
    """How one branch differs: size, clientele and how well it keeps customers."""

    branch_id: str
    weight: float  # share of customers
    age_shift: float
    attrition_multiplier: float
    rm_coverage_multiplier: float
    rm_load: int
    contact_multiplier: float
    satisfaction_shift: float
    worse: bool


def branch_profiles(n_branches: int, rng: np.random.Generator) -> list[BranchProfile]:
    """Branch profiles; with two or more branches the last is the visibly worse one
    (higher attrition, thin RM coverage, overloaded RMs, unhappier customers)."""
    width = max(2, len(str(n_branches)))
    weights = rng.dirichlet(np.full(n_branches, 8.0))
    age_shift = rng.normal(0.0, 3.0, n_branches)
    satisfaction = rng.normal(0.0, 0.1, n_branches)
    profiles = []
    for b in range(n_branches):
        worse = n_branches > 1 and b == n_branches - 1
        profiles.append(
            BranchProfile(
                branch_id=f"B{b + 1:0{width}d}",
                weight=float(weights[b]),
                age_shift=float(age_shift[b]),
                attrition_multiplier=1.9 if worse else 1.0,
                rm_coverage_multiplier=0.45 if worse else 1.0,
                rm_load=RM_LOAD * 2 if worse else RM_LOAD,
                contact_multiplier=0.5 if worse else 1.0,
                satisfaction_shift=-0.45 if worse else float(satisfaction[b]),
                worse=worse,
            )
        )
    return profiles


def segment_of(aum: np.ndarray) -> np.ndarray:
    """Index into SEGMENTS of each AUM."""
    return np.searchsorted(np.asarray(SEGMENT_MIN_AUM), aum, side="right") - 1


def params_document(
    sample_cfg: dict[str, Any], window: Window, branches: list[BranchProfile]
) -> dict[str, Any]:
    """The generator's true population parameters, for params.json."""
    per_segment = {}
    for k, name in enumerate(SEGMENTS):
        per_segment[name] = {
            "min_aum": SEGMENT_MIN_AUM[k],
            "purchase": {
                "r": PURCHASE_R[k],
                "alpha": PURCHASE_ALPHA[k],
                "alpha_digital": PURCHASE_ALPHA[k] / DIGITAL_RATE_MULTIPLIER,
            },
            "dropout": {"s": DROPOUT_S[k], "beta": DROPOUT_BETA[k]},
            "close_share": CLOSE_SHARE[k],
            "rm_coverage": RM_COVERAGE[k],
            "rm_contacts_per_month": RM_CONTACTS_PER_MONTH[k],
            "product_holding": {p: PRODUCT_HOLDING[p][k] for p in PRODUCTS},
            "card_limit_median": CARD_LIMIT_MEDIAN[k],
        }
    return {
        "generator_version": GENERATOR_VERSION,
        "seed": sample_cfg["seed"],
        "customers": sample_cfg["customers"],
        "branches": sample_cfg["branches"],
        "months": window.months,
        "end_month": window.end_month,
        "first_month": window.month_labels[0],
        "dirt_rate": sample_cfg["dirt_rate"],
        "chunk_customers": CHUNK_CUSTOMERS,
        "time_unit": "week",
        "model": (
            "Pareto/NBD-like: Poisson purchases at rate lambda ~ Gamma(r, alpha) per week "
            "(alpha / digital_rate_multiplier when digitally enrolled) until an exponential "
            "dropout at rate mu ~ Gamma(s, beta) per week, times exp(-k z - k^2/2) for "
            "satisfaction z and the branch's attrition multiplier; counted from open_date"
        ),
        "segments": per_segment,
        "digital_rate_multiplier": DIGITAL_RATE_MULTIPLIER,
        "satisfaction_hazard_k": SATISFACTION_HAZARD,
        "aum": {
            "log_mu": AUM_LOG_MU,
            "log_sigma": AUM_LOG_SIGMA,
            "age_slope": AUM_AGE_SLOPE,
            "monthly_drift": AUM_MONTHLY_DRIFT,
            "monthly_sd": AUM_MONTHLY_SD,
            "dormant_residual_beta": list(DORMANT_RESIDUAL_BETA),
            "silent_residual_beta": list(SILENT_RESIDUAL_BETA),
            "drain_months": list(DRAIN_MONTHS),
        },
        "tenure": {
            "new_customers_per_year": NEW_CUSTOMERS_PER_YEAR,
            "tenure_gamma_shape_scale_years": list(TENURE_GAMMA),
        },
        "age": {"mean": AGE_MEAN, "sd": AGE_SD, "range": list(AGE_RANGE)},
        "digital_enrolment": {"age_midpoint": DIGITAL_AGE_MIDPOINT, "age_scale": DIGITAL_AGE_SCALE},
        "rm_load": RM_LOAD,
        "asset_products": list(ASSET_PRODUCTS),
        "salary": {
            "share_working_age": SALARY_SHARE_WORKING_AGE,
            "pension_share_retired": PENSION_SHARE_RETIRED,
            "median": SALARY_MEDIAN,
        },
        "interest": {"demand_rate_annual": DEMAND_RATE_ANNUAL, "min_posted": INTEREST_MIN_POSTED},
        "survey": {
            "response_rate": SURVEY_RESPONSE_RATE,
            "anonymous_share": SURVEY_ANONYMOUS_SHARE,
            "dimension_loading": SURVEY_DIMENSION_LOADING,
            "item_noise": SURVEY_ITEM_NOISE,
        },
        "branches_profile": [asdict(b) for b in branches],
        "worse_branch": next((b.branch_id for b in branches if b.worse), None),
    }
