"""The three tail figures the survey stage needs, from scipy.special: the same numbers
as scipy.stats (tested equal, bit for bit, in tests/test_survey_distributions.py) without
importing scipy.stats, which took 0.45 s of every survey run. Each follows scipy.stats'
own order: arguments checked (NaN when invalid), the support's ends, then the special
function inside.
"""

from __future__ import annotations

import math

from scipy import special


def f_isf(q: float, dfn: float, dfd: float) -> float:
    """scipy.stats.f.isf(q, dfn, dfd): the x with P(F > x) = q; NaN unless both degrees
    of freedom are positive and 0 <= q <= 1."""
    if not (dfn > 0 and dfd > 0 and 0 <= q <= 1):
        return math.nan
    if q == 1:
        return 0.0
    if q == 0:
        return math.inf
    return float(special.fdtri(dfn, dfd, 1.0 - q)) + 0.0  # + loc, as scipy.stats


def chi2_sf(x: float, df: float) -> float:
    """scipy.stats.chi2.sf(x, df): P(X > x) for a chi-square on df degrees of freedom;
    NaN unless df is positive and x a number."""
    if not df > 0 or math.isnan(x):
        return math.nan
    if x <= 0:
        return 1.0
    if x == math.inf:
        return 0.0
    return float(special.chdtrc(df, x))


def norm_ppf(p: float) -> float:
    """scipy.stats.norm.ppf(p): the standard normal quantile of p (NaN outside 0..1)."""
    return float(special.ndtri(p)) + 0.0  # + loc, as scipy.stats
