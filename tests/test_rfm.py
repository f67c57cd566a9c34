"""RFM scoring: mid-rank quantile scores, ties, small groups and segment rules."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from test_features_support import cfg

from pipeline.features.rfm import (
    assign_segments,
    quantile_scores,
    rfm_score_label,
    rfm_scores,
    tie_ranks,
)
from pipeline.features.settings import FeatureSettings, Segment


def test_ten_distinct_values_make_equal_quintiles():
    values = np.array([7.0, 1, 9, 3, 5, 2, 10, 4, 8, 6])
    # sorted ranks 1..10 -> ceil((2i - 1) / 4): 1 1 2 2 3 3 4 4 5 5
    expected = {1: 1, 2: 1, 3: 2, 4: 2, 5: 3, 6: 3, 7: 4, 8: 4, 9: 5, 10: 5}
    assert quantile_scores(values).tolist() == [expected[int(v)] for v in values]


def test_five_distinct_values_score_one_to_five():
    assert quantile_scores(np.array([50.0, 10, 40, 20, 30])).tolist() == [5, 1, 4, 2, 3]


def test_ties_share_the_score_of_their_average_rank():
    # ten customers, four tied at the bottom edge (ranks 1-4), six distinct above
    values = np.array([0.0, 0, 0, 0, 1, 2, 3, 4, 5, 6])
    # zeros: ceil(5 * (1 + 4 - 1) / 20) = 1; then ranks 5..10: 3 3 4 4 5 5
    assert quantile_scores(values).tolist() == [1, 1, 1, 1, 3, 3, 4, 4, 5, 5]


def test_a_tie_across_a_quintile_edge_does_not_crash_or_empty_the_top():
    # ranks 3-8 tie across three quintile edges: one shared score, neighbours intact
    values = np.array([1.0, 2, 5, 5, 5, 5, 5, 5, 9, 10])
    assert quantile_scores(values).tolist() == [1, 1, 3, 3, 3, 3, 3, 3, 5, 5]


def test_one_customer_and_all_tied_score_the_middle():
    assert quantile_scores(np.array([42.0])).tolist() == [3]
    assert quantile_scores(np.array([7.0] * 9)).tolist() == [3] * 9


def test_groups_are_scored_apart():
    values = np.array([1.0, 2, 3, 100, 200])
    groups = np.array(["x", "x", "x", "y", "y"])
    # x: n=3 -> ceil(5(2i-1)/6) = 1, 3, 5; y: n=2 -> ceil(5(2i-1)/4) = 2, 4
    assert quantile_scores(values, groups).tolist() == [1, 3, 5, 2, 4]


def test_missing_values_are_refused():
    with pytest.raises(ValueError, match="missing"):
        quantile_scores(np.array([1.0, np.nan]))


def test_rfm_scores_recent_is_five_and_inactive_is_one():
    recency = np.array([0.0, 300, np.nan, 30])
    frequency = np.array([10.0, 1, 0, 5])
    monetary = np.array([5.0, 1, 0, 100])
    active = np.array([True, True, False, True])
    r, f, m = rfm_scores(recency, frequency, monetary, active, None)
    assert r.tolist() == [5, 1, 1, 3]
    assert f.tolist() == [5, 1, 1, 3]
    assert m.tolist() == [3, 1, 1, 5]
    assert rfm_score_label(r, f, m).tolist() == ["553", "111", "111", "335"]


DEFAULTS = FeatureSettings.from_config(cfg())
RULES = (
    Segment("Top", (4, 5), (4, 5)),
    Segment("Recent", (4, 5), (1, 5)),
    Segment("Old", (1, 2), (1, 2)),
)


def test_first_matching_rule_wins_with_fallbacks():
    r = np.array([5, 4, 1, 3, 5])
    f = np.array([5, 1, 2, 3, 5])
    active = np.array([True, True, True, True, False])
    out = assign_segments(r, f, active, RULES, "Gone", "Unclassified")
    # (5,5) matches Top before Recent; (3,3) matches nothing; inactive wins over rules
    assert out.tolist() == ["Top", "Recent", "Old", "Unclassified", "Gone"]


def test_default_rules_cover_every_score_pair():
    s = DEFAULTS
    r, f = np.meshgrid(np.arange(1, 6), np.arange(1, 6))
    out = assign_segments(r.ravel(), f.ravel(), np.ones(25, bool), s.segments, "x", "NONE")
    assert "NONE" not in set(out)


# ---- properties ----------------------------------------------------------------------

values = st.lists(st.integers(0, 6).map(float) | st.floats(0, 1e6), min_size=1, max_size=80)


@settings(max_examples=100, deadline=None)
@given(values, st.data())
def test_scores_are_1_to_5_ties_agree_and_order_is_kept(vals, data):
    v = np.array(vals)
    groups = np.array(data.draw(st.lists(st.sampled_from("abc"), min_size=len(v), max_size=len(v))))
    s = quantile_scores(v, groups)
    assert s.min() >= 1 and s.max() <= 5
    for g in set(groups):
        gv, gs = v[groups == g], s[groups == g]
        order = np.argsort(gv, kind="stable")
        assert (np.diff(gs[order]) >= 0).all()  # a larger value never scores lower
        for value in set(gv):
            assert len(set(gs[gv == value])) == 1  # equal values, equal score
        if len(gv) >= 3:  # among three or more, a unique extreme takes the extreme score
            if (gv == gv.min()).sum() == 1:
                assert gs[gv.argmin()] == 1
            if (gv == gv.max()).sum() == 1:
                assert gs[gv.argmax()] == 5


@settings(max_examples=60, deadline=None)
@given(st.lists(st.integers(0, 5), min_size=1, max_size=60), st.data())
def test_tie_ranks_agree_with_pandas_rank(vals, data):
    v = np.array(vals, dtype=float)
    groups = np.array(data.draw(st.lists(st.sampled_from("xyz"), min_size=len(v), max_size=len(v))))
    lo, hi, n = tie_ranks(v, groups)
    by = pd.Series(v).groupby(groups)
    assert lo.tolist() == by.rank(method="min").astype(int).tolist()
    assert hi.tolist() == by.rank(method="max").astype(int).tolist()
    assert n.tolist() == pd.Series(groups).map(pd.Series(groups).value_counts()).tolist()


@settings(max_examples=100, deadline=None)
@given(
    st.lists(
        st.tuples(st.integers(1, 5), st.integers(1, 5), st.booleans()), min_size=1, max_size=50
    )
)
def test_every_customer_has_exactly_one_segment(rows):
    s = DEFAULTS
    r, f, active = (np.array(x) for x in zip(*rows, strict=True))
    out = assign_segments(r, f, active, s.segments, s.inactive_segment, s.unmatched_segment)
    names = {seg.name for seg in s.segments} | {s.unmatched_segment}
    assert len(out) == len(rows) and all(isinstance(x, str) and x in names for x in out)
    assert all(out[~active] == s.inactive_segment)
