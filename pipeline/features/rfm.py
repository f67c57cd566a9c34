"""RFM scores (1-5 by quantile) and named segments.

Scoring, exactly: within a population group (the whole bank, or each branch, per
`rfm.population`), only customers active in the window (at least one
customer-initiated transaction) are ranked. For a value shared by the customers at
ranks lo..hi (ties), the mid-rank percentile is p = ((lo + hi) / 2 - 0.5) / n, and the
score is ceil(5 * p), computed in integers as ceil(5 (lo + hi - 1) / (2 n)). So:

- n distinct values split into equal quintiles (10 customers: two per score);
- tied customers always share one score (that of their average rank), and a tie at a
  quintile edge neither crashes nor empties the neighbouring scores beyond the tie;
- p lies in (0, 1), so the score is always 1-5; a group of one customer scores 3
  (the middle: there is nobody to compare with), as does a group whose values all tie.

Recency is ranked so that the most recent customer scores 5 (fewest days since the
last transaction = highest rank). Customers with no activity in the window get
r = f = m = 1 and the configured `rfm.inactive_segment`.

Segments: the first rule in `rfm.segments` whose r and f ranges both contain the
customer's scores. A customer no rule matches gets `rfm.unmatched_segment` (default
"Unclassified"), so every customer has exactly one segment, and a gap in a bank's rules
shows up as a named segment instead of a missing value.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from pipeline.features.settings import Segment


def tie_ranks(values: np.ndarray, groups: np.ndarray | None = None):
    """(lo, hi, n): the first and last 1-based rank each value's tie occupies within its
    group (ascending), and the group's size. One sort (two by group), no per-group loop."""
    values = np.asarray(values, dtype=np.float64)
    vcode = np.unique(values, return_inverse=True)[1].astype(np.int64)
    if groups is None:  # one group: each distinct value is a tie, in value order
        count = np.bincount(vcode)
        lo = np.cumsum(count) - count + 1
        return lo[vcode], (lo + count - 1)[vcode], np.full(len(values), len(values))
    gcode = np.unique(np.asarray(groups), return_inverse=True)[1].astype(np.int64)
    key = gcode * (int(vcode.max(initial=0)) + 1) + vcode  # orders by group, then value
    ukey, kinv, kcount = np.unique(key, return_inverse=True, return_counts=True)
    ugroup = ukey // (int(vcode.max(initial=0)) + 1)
    before = np.cumsum(kcount) - kcount  # customers before each tie, over all groups
    group_first = np.searchsorted(ugroup, ugroup, side="left")
    lo_k = before - before[group_first] + 1
    hi_k = lo_k + kcount - 1
    sizes = np.bincount(gcode)
    return lo_k[kinv], hi_k[kinv], sizes[gcode]


def quantile_scores(values: np.ndarray, groups: np.ndarray | None = None) -> np.ndarray:
    """1-5 score of each value by mid-rank percentile within its group (higher = 5).

    `values` must have no missing entries; `groups` (same length) splits the population,
    None ranks everyone together.
    """
    values = np.asarray(values, dtype=np.float64)
    if np.isnan(values).any():
        raise ValueError("quantile_scores: values must not be missing")
    if len(values) == 0:
        return np.zeros(0, dtype=np.int64)
    lo, hi, n = tie_ranks(values, groups)
    scores = -((-5 * (lo + hi - 1)) // (2 * n))  # integer ceil: exact at quintile edges
    return np.clip(scores, 1, 5)


def rfm_scores(
    recency_days: np.ndarray,
    frequency: np.ndarray,
    monetary: np.ndarray,
    active: np.ndarray,
    groups: np.ndarray | None,
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(r, f, m) scores 1-5 for every customer; inactive ones (active False) get 1, 1, 1."""
    mask = np.asarray(active, dtype=bool)
    r = np.ones(len(mask), dtype=np.int64)
    f = r.copy()
    m = r.copy()
    if mask.any():
        grp = None if groups is None else np.asarray(groups)[mask]
        # recent = 5: rank the negated days, so fewer days ranks higher
        r[mask] = quantile_scores(-np.asarray(recency_days, dtype=np.float64)[mask], grp)
        f[mask] = quantile_scores(np.asarray(frequency, dtype=np.float64)[mask], grp)
        m[mask] = quantile_scores(np.asarray(monetary, dtype=np.float64)[mask], grp)
    return r, f, m


def segment_codes(
    r: np.ndarray,
    f: np.ndarray,
    active: np.ndarray,
    segments: Sequence[Segment],
    inactive_segment: str,
    unmatched_segment: str,
) -> tuple[list[str], np.ndarray]:
    """(names, code per customer): the first matching rule's position, then the
    unmatched and inactive fallbacks as the last two names."""
    r = np.asarray(r)
    f = np.asarray(f)
    names = [s.name for s in segments] + [unmatched_segment, inactive_segment]
    out = np.full(len(r), len(segments), dtype=np.int64)
    unset = np.ones(len(r), dtype=bool)
    for code, s in enumerate(segments):  # loop over rules, not rows
        hit = (r >= s.r[0]) & (r <= s.r[1]) & (f >= s.f[0]) & (f <= s.f[1]) & unset
        out[hit] = code
        unset &= ~hit
    out[~np.asarray(active, dtype=bool)] = len(segments) + 1
    return names, out


def assign_segments(
    r: np.ndarray,
    f: np.ndarray,
    active: np.ndarray,
    segments: Sequence[Segment],
    inactive_segment: str,
    unmatched_segment: str,
) -> np.ndarray:
    """Segment name per customer: first matching rule; inactive and unmatched fallbacks."""
    names, codes = segment_codes(r, f, active, segments, inactive_segment, unmatched_segment)
    return np.asarray(names, dtype=object)[codes]


SCORE_LABELS = [f"{a}{b}{c}" for a in range(6) for b in range(6) for c in range(6)]


def score_codes(r: np.ndarray, f: np.ndarray, m: np.ndarray) -> np.ndarray:
    """Position of each customer's three digits in SCORE_LABELS."""
    return np.asarray(r) * 36 + np.asarray(f) * 6 + np.asarray(m)


def rfm_score_label(r: np.ndarray, f: np.ndarray, m: np.ndarray) -> np.ndarray:
    """The three digits as text, e.g. "545"."""
    return np.asarray(SCORE_LABELS, dtype=object)[score_codes(r, f, m)]
