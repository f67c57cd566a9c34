"""Questionnaire answers for the customer satisfaction and staff surveys.

Answers follow a latent model: a respondent's satisfaction (for customers, the same
latent that drives their dropout rate) loads on each dimension; items are the dimension
plus noise, cut into the Likert scale; reverse-coded items are truly reversed. The
overall item and NPS follow a weighted sum of dimensions, so importance-performance
analysis has real importances to find.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from pipeline.sample import params as P

# Latent level of each dimension (bank-wide), extra shift at the worse branch, and its
# weight in overall satisfaction. Dimensions not listed get 0, 0 and an equal weight.
CUSTOMER_DIMENSIONS = {
    "reliability": (0.5, 0.0, 0.30),
    "responsiveness": (-0.3, -0.4, 0.25),
    "assurance": (0.4, 0.0, 0.15),
    "empathy": (-0.1, -0.5, 0.20),
    "digital_service": (0.3, 0.0, 0.10),
}
STAFF_DIMENSIONS = {
    "workload": (-0.4, -0.9, 0.30),
    "training": (0.2, 0.0, 0.15),
    "tools_and_systems": (-0.2, 0.0, 0.15),
    "management_support": (0.3, -0.4, 0.25),
    "customer_focus": (0.4, 0.0, 0.15),
}
LIKERT_CUTS = np.array([-1.6, -0.7, 0.3, 1.3])  # latent -> 1..5 before the level shift
LEVEL = 0.45  # everyone's latent is shifted up: banks' surveys skew positive
NPS_MEAN, NPS_SLOPE, NPS_NOISE = 7.0, 1.8, 1.2


def survey_truth(definition: dict[str, Any], dimensions: dict) -> dict[str, Any]:
    """What params.json records of a survey's generating model."""
    return {
        name: {
            "level": dimensions.get(name, (0, 0, 0))[0],
            "worse_branch_shift": dimensions.get(name, (0, 0, 0))[1],
            "overall_weight": _weights(definition, dimensions)[i],
        }
        for i, name in enumerate(definition["dimensions"])
    }


def _weights(definition: dict[str, Any], dimensions: dict) -> np.ndarray:
    names = list(definition["dimensions"])
    w = np.array([dimensions[n][2] if n in dimensions else 1.0 / len(names) for n in names])
    return w / w.sum()


def answers(
    rng: np.random.Generator,
    definition: dict[str, Any],
    dimensions: dict,
    latent: np.ndarray,
    worse: np.ndarray,
) -> dict[str, np.ndarray]:
    """Item answers, the NPS-type item and the overall item for respondents with the
    given latent satisfaction; `worse` marks respondents of the worse branch."""
    lo, hi = definition["scale"]["min"], definition["scale"]["max"]
    cuts = np.linspace(LIKERT_CUTS[0], LIKERT_CUTS[-1], hi - lo)
    k = P.SURVEY_DIMENSION_LOADING
    reverse = set(definition.get("reverse_coded") or [])
    out: dict[str, np.ndarray] = {}
    dims = []
    for name, items in definition["dimensions"].items():
        level, worse_shift, _ = dimensions.get(name, (0.0, 0.0, 0.0))
        d = (
            level
            + worse_shift * worse
            + k * latent
            + np.sqrt(1 - k * k) * rng.standard_normal(len(latent))
        )
        dims.append(d)
        for item in items:
            x = LEVEL + d + P.SURVEY_ITEM_NOISE * rng.standard_normal(len(latent))
            score = lo + np.searchsorted(cuts, x)
            out[item] = lo + hi - score if item in reverse else score
    overall = np.column_stack(dims) @ _weights(definition, dimensions)
    overall = overall + 0.5 * rng.standard_normal(len(latent))
    out[definition["overall_item"]] = lo + np.searchsorted(cuts, LEVEL + overall)
    if definition.get("nps_item"):
        nps = NPS_MEAN + NPS_SLOPE * overall + NPS_NOISE * rng.standard_normal(len(latent))
        out[definition["nps_item"]] = np.clip(np.round(nps), 0, 10).astype(np.int64)
    return out


def item_columns(definition: dict[str, Any]) -> list[str]:
    """Answer columns in file order: items by dimension, then NPS-type, then overall."""
    cols = [item for items in definition["dimensions"].values() for item in items]
    if definition.get("nps_item"):
        cols.append(definition["nps_item"])
    return cols + [definition["overall_item"]]


def customer_respondents(
    rng: np.random.Generator, cust: dict[str, np.ndarray], window: P.Window
) -> dict[str, np.ndarray]:
    """Which customers of a chunk answer the survey, when, and whether anonymously.
    A response falls on a day the account is open inside the window."""
    n = len(cust["open_day"])
    chosen = np.flatnonzero(rng.random(n) < P.SURVEY_RESPONSE_RATE)
    first = np.maximum(cust["open_day"][chosen], window.start_day)
    end = np.where(
        cust["close_day"][chosen] != P.NO_DAY, cust["close_day"][chosen], window.stop_day
    )
    day = first + np.floor(rng.random(len(chosen)) * (end - first)).astype(np.int64)
    anonymous = rng.random(len(chosen)) < P.SURVEY_ANONYMOUS_SHARE
    return {"customer": chosen, "day": day, "anonymous": anonymous}


def staff_roster(
    branches: list[P.BranchProfile], rm_counts: np.ndarray, n_customers: int
) -> dict[str, np.ndarray]:
    """Staff per branch and role: RMs as sized, tellers and advisors by customer base."""
    branch, role = [], []
    for b, profile in enumerate(branches):
        customers = n_customers * profile.weight
        counts = {
            "teller": max(8, round(customers / 1_000)),
            "rm": int(rm_counts[b]),
            "manager": max(3, round(customers / 8_000)),
            "advisor": max(4, round(customers / 3_000)),
        }
        for r, name in enumerate(P.STAFF_ROLES):
            branch += [b] * counts[name]
            role += [r] * counts[name]
    return {"branch": np.array(branch, dtype=np.int64), "role": np.array(role, dtype=np.int64)}


def staff_responses(
    rng: np.random.Generator,
    definition: dict[str, Any],
    roster: dict[str, np.ndarray],
    branches: list[P.BranchProfile],
    window: P.Window,
) -> dict[str, np.ndarray]:
    """One wave a year (the last month of the window, then every 12 months back); each
    member of staff answers a wave with a fixed probability."""
    waves = [m for m in range(window.months - 1, -1, -12)][::-1]
    branch, role, day = [], [], []
    for m in waves:
        answer = rng.random(len(roster["branch"])) < P.STAFF_RESPONSE_RATE
        first, stop = window.month_starts[m], window.month_starts[m + 1]
        branch.append(roster["branch"][answer])
        role.append(roster["role"][answer])
        day.append(rng.integers(first, stop, int(answer.sum())))
    branch, role, day = (np.concatenate(x) for x in (branch, role, day))
    worse = np.array([b.worse for b in branches])[branch]
    latent = np.where(worse, -0.5, 0.0) + np.where(role == P.STAFF_ROLES.index("rm"), -0.2, 0.0)
    latent = latent + rng.standard_normal(len(branch))
    out = answers(rng, definition, STAFF_DIMENSIONS, latent, worse)
    order = np.lexsort((role, branch, day))
    return {
        "branch": branch[order],
        "role": role[order],
        "day": day[order],
        **{k: v[order] for k, v in out.items()},
    }
