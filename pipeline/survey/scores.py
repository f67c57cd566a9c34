"""Scores from reverse-coded answers: dimension means by group, NPS with a confidence
interval, importance-performance analysis (Martilla & James) and SERVQUAL gaps.

Groups are given as a frame of group columns aligned with the answers (branch_id, tier,
churn_band, ...); `network` is every response. A group, or a figure within it, resting
on fewer than `min_group_size` responses is not reported, and is listed as suppressed;
so is, where the network figure would give that group's back by subtraction, the
smallest group beside it (withheld: complementary suppression).
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from pipeline.survey.definition import SurveyDefinition
from pipeline.survey.distributions import norm_ppf
from pipeline.survey.reliability import pearson

NETWORK = "network"
PROMOTER_MIN, DETRACTOR_MAX = 9, 6
QUADRANTS = {  # (high importance, high performance) -> Martilla & James quadrant
    (True, False): "Concentrate here",
    (True, True): "Keep up the good work",
    (False, False): "Low priority",
    (False, True): "Possible overkill",
}
IMPORTANCE_METHOD = "pearson_r_with_overall"
NPS_COLUMNS = ["group_type", "group", "n", "promoters", "passives", "detractors", "nps",
               "nps_ci_low", "nps_ci_high"]


def recode(responses: pd.DataFrame, definition: SurveyDefinition) -> pd.DataFrame:
    """Item answers as floats, reverse-coded items flipped: x -> scale min + max - x
    (on 1-5, 1 <-> 5, 2 <-> 4). Columns: every item of the definition."""
    items = responses[definition.all_items].apply(pd.to_numeric).astype(float)
    flip = [i for i in items.columns if i in definition.reverse_coded]
    items[flip] = definition.scale_min + definition.scale_max - items[flip]
    return items


def respondent_scores(recoded: pd.DataFrame, definition: SurveyDefinition) -> pd.DataFrame:
    """One column per dimension: each respondent's mean over the dimension's answered
    items (NaN when none answered); then the overall item, when the survey has one."""
    scores = pd.DataFrame(
        {dim: recoded[list(items)].mean(axis=1, skipna=True)
         for dim, items in definition.dimensions.items()},
        index=recoded.index,
    )
    if definition.overall_item is not None:
        scores[definition.overall_item] = recoded[definition.overall_item]
    return scores


def group_keys(groups: pd.DataFrame, group_by: list[str]) -> list[tuple[str, pd.Series]]:
    """(group_type, key per response) for the network and each grouping column."""
    specs = [(NETWORK, pd.Series("all", index=groups.index))]
    return specs + [(col, groups[col]) for col in group_by]


SMALL = "fewer responses than min_group_size"
COMPLEMENTARY = "its figure and the network's would give a smaller group's by subtraction"


def _suppressed(group_type: str, group: str, what: str, reason: str = SMALL) -> dict:
    return {"group_type": group_type, "group": group, "what": what, "reason": reason}


def withheld(counts: pd.Series, total: int, min_group_size: int) -> set:
    """The groups of one breakdown (`counts`: responses behind a figure, by group) whose
    figure is not reported: those on fewer than `min_group_size` responses and, since
    the network figure on `total` responses is, the smallest of the others until what
    is withheld together -- responses in no group (no value for the breakdown) included
    -- rests on at least `min_group_size` responses. Otherwise the network's figure less
    the reported groups' would be the figure of a group too small to report."""
    small = counts < min_group_size
    hidden = set(counts.index[small])
    behind = int(counts[small].sum()) + int(total - counts.sum())  # outside every group
    for key, size in counts[~small].sort_values(kind="stable").items():
        if behind == 0 or behind >= min_group_size:
            break
        hidden.add(key)
        behind += int(size)
    return hidden


def _reason(count: int, min_group_size: int) -> str:
    return SMALL if count < min_group_size else COMPLEMENTARY


def group_means(
    scores: pd.DataFrame, groups: pd.DataFrame, group_by: list[str], min_group_size: int
) -> tuple[pd.DataFrame, list[dict]]:
    """Long table: group_type, group, measure, n, mean, std (of respondent scores)."""
    frames, suppressed = [], []
    measures = list(scores.columns)
    network = scores.count()
    for group_type, keys in group_keys(groups, group_by):
        sizes = keys.groupby(keys, sort=True).size()
        count = scores.groupby(keys, sort=True).count()
        mean = scores.groupby(keys, sort=True).mean()
        std = scores.groupby(keys, sort=True).std(ddof=1)
        hidden = {
            m: set() if group_type == NETWORK else withheld(count[m], network[m], min_group_size)
            for m in measures
        }
        for value, size in sizes.items():
            group = str(value)
            if size < min_group_size:
                suppressed.append(_suppressed(group_type, group, "all"))
                continue
            for m in measures:
                n = int(count.at[value, m])
                if n < min_group_size or value in hidden[m]:
                    suppressed.append(
                        _suppressed(group_type, group, m, _reason(n, min_group_size))
                    )
                    continue
                frames.append({"group_type": group_type, "group": group, "measure": m, "n": n,
                               "mean": float(mean.at[value, m]), "std": float(std.at[value, m])})
    cols = ["group_type", "group", "measure", "n", "mean", "std"]
    return pd.DataFrame(frames, columns=cols), suppressed


def nps_estimate(promoters: int, detractors: int, n: int, confidence: float = 0.95) -> dict:
    """NPS = 100 (p_P - p_D) with a normal-approximation interval.

    The promoter and detractor shares come from one multinomial sample, so
    Var(p_P - p_D) = (p_P + p_D - (p_P - p_D)^2) / n. The interval is clipped to the
    possible range [-100, 100].
    """
    p_p, p_d = promoters / n, detractors / n
    d = p_p - p_d
    se = np.sqrt(max(p_p + p_d - d * d, 0.0) / n)
    z = norm_ppf(0.5 + confidence / 2)
    return {"nps": 100 * d, "nps_ci_low": max(-100.0, 100 * (d - z * se)),
            "nps_ci_high": min(100.0, 100 * (d + z * se))}


def nps_table(
    nps_answers: pd.Series, groups: pd.DataFrame, group_by: list[str], min_group_size: int,
    confidence: float = 0.95,
) -> tuple[pd.DataFrame, list[dict]]:
    """Per group: n answering, promoters (9-10), passives (7-8), detractors (0-6), NPS, CI."""
    answered = nps_answers.notna()
    promoter = (nps_answers >= PROMOTER_MIN) & answered
    detractor = (nps_answers <= DETRACTOR_MAX) & answered
    flags = pd.DataFrame({"n": answered, "promoters": promoter, "detractors": detractor})
    rows, suppressed = [], []
    for group_type, keys in group_keys(groups, group_by):
        counts = flags.groupby(keys, sort=True).sum()
        hidden = (
            set()
            if group_type == NETWORK
            else withheld(counts["n"], int(answered.sum()), min_group_size)
        )
        for value, c in counts.iterrows():
            n, prom, det = int(c["n"]), int(c["promoters"]), int(c["detractors"])
            if n < min_group_size or value in hidden:
                suppressed.append(
                    _suppressed(group_type, str(value), "nps", _reason(n, min_group_size))
                )
                continue
            rows.append({"group_type": group_type, "group": str(value), "n": n,
                         "promoters": prom, "passives": n - prom - det, "detractors": det,
                         **nps_estimate(prom, det, n, confidence)})
    return pd.DataFrame(rows, columns=NPS_COLUMNS), suppressed


def quadrant(importance: float, performance: float, importance_line: float,
             performance_line: float) -> str:
    """Martilla & James quadrant; a point on a line counts as high."""
    return QUADRANTS[(importance >= importance_line, performance >= performance_line)]


def ipa_points(importance: pd.Series, performance: pd.Series) -> pd.DataFrame:
    """Quadrant per dimension, cross-hairs at the grand means of importance and
    performance over the dimensions plotted."""
    imp_line, perf_line = float(importance.mean()), float(performance.mean())
    return pd.DataFrame({
        "dimension": importance.index,
        "importance": importance.to_numpy(dtype=float),
        "performance": performance.to_numpy(dtype=float),
        "importance_line": imp_line,
        "performance_line": perf_line,
        "quadrant": [quadrant(i, p, imp_line, perf_line)
                     for i, p in zip(importance, performance, strict=True)],
    })


def ipa(
    scores: pd.DataFrame, definition: SurveyDefinition, groups: pd.DataFrame,
    group_by: list[str], min_group_size: int,
) -> tuple[pd.DataFrame, dict, list[dict]]:
    """Importance-performance points for the network and per group.

    Importance of a driver dimension is the Pearson correlation of respondents'
    dimension scores with the overall item, estimated once on the whole network (a
    branch's 10-50 answers would make it noise); performance is the dimension's mean in
    the group over the same respondents (those who answered the overall item and every
    driver), so it may differ from the dimensions table's mean, which takes everyone who
    answered the dimension. Correlation rather than a regression coefficient: drivers are
    strongly inter-correlated, which makes regression weights unstable and even negative.
    Returns the points, a status note, and the suppressed groups.
    """
    drivers = definition.driver_dimensions
    cols = ["group_type", "group", "dimension", "n", "importance", "performance",
            "importance_line", "performance_line", "quadrant"]
    empty = pd.DataFrame(columns=cols)
    if definition.overall_item is None or len(drivers) < 2:
        note = "not available: needs an overall item and 2+ driver dimensions"
        return empty, {"status": note}, []
    overall = scores[definition.overall_item]
    usable = overall.notna() & scores[drivers].notna().all(axis=1)
    if usable.sum() < min_group_size:
        return empty, {"status": "suppressed: fewer usable responses than min_group_size"}, []
    importance = pd.Series(
        {d: pearson(scores.loc[usable, d], overall[usable]) for d in drivers}, dtype=float
    )
    if importance.isna().any():
        undefined = ", ".join(importance.index[importance.isna()])
        return empty, {"status": f"undefined: constant scores ({undefined})"}, []
    frames, suppressed = [], []
    for group_type, keys in group_keys(groups, group_by):
        usable_keys = keys[usable]
        grouped = scores.loc[usable, drivers].groupby(usable_keys, sort=True)
        hidden = (
            set()
            if group_type == NETWORK
            else withheld(grouped.size(), int(usable.sum()), min_group_size)
        )
        for value, sub in grouped:
            if len(sub) < min_group_size or value in hidden:
                suppressed.append(
                    _suppressed(group_type, str(value), "ipa", _reason(len(sub), min_group_size))
                )
                continue
            points = ipa_points(importance, sub.mean())
            points.insert(0, "n", len(sub))
            points.insert(0, "group", str(value))
            points.insert(0, "group_type", group_type)
            frames.append(points)
    table = pd.concat(frames, ignore_index=True)[cols] if frames else empty
    return table, {"status": "ok", "importance_method": IMPORTANCE_METHOD,
                   "n": int(usable.sum())}, suppressed


def servqual_gaps(
    recoded: pd.DataFrame, definition: SurveyDefinition, groups: pd.DataFrame,
    group_by: list[str], min_group_size: int,
) -> tuple[pd.DataFrame, list[dict]]:
    """Per group and expectation-perception pair: mean perception, mean expectation and
    the gap (perception - expectation; negative = service falls short), over respondents
    who answered both."""
    cols = ["group_type", "group", "dimension", "perception_item", "expectation_item", "n",
            "perception_mean", "expectation_mean", "gap"]
    rows, suppressed = [], []
    pairs = definition.expectation_perception
    if not pairs:
        return pd.DataFrame(columns=cols), suppressed
    both = {p: recoded[[p, e]].notna().all(axis=1) for p, e in pairs.items()}
    for group_type, keys in group_keys(groups, group_by):
        hidden = {
            p: set()
            if group_type == NETWORK
            else withheld(answered.groupby(keys, sort=True).sum(), int(answered.sum()),
                          min_group_size)
            for p, answered in both.items()
        }
        for value, sub in recoded.groupby(keys, sort=True):
            for perception, expectation in pairs.items():
                pair = sub[[perception, expectation]].dropna()
                if len(pair) < min_group_size or value in hidden[perception]:
                    reason = _reason(len(pair), min_group_size)
                    suppressed.append(
                        _suppressed(group_type, str(value), f"gap {perception}", reason)
                    )
                    continue
                p_mean, e_mean = float(pair[perception].mean()), float(pair[expectation].mean())
                rows.append({"group_type": group_type, "group": str(value),
                             "dimension": definition.dimension_of(perception),
                             "perception_item": perception, "expectation_item": expectation,
                             "n": len(pair), "perception_mean": p_mean,
                             "expectation_mean": e_mean, "gap": p_mean - e_mean})
    table = pd.DataFrame(rows, columns=cols)
    return table, suppressed
