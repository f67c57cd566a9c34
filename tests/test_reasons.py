"""Risk reasons: stored as codes with parameters, worded in the report's language with
the typical customer beside the customer."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from pipeline.report.environment import format_money as money
from pipeline.report.reasons import ReasonWords, parse
from pipeline.scoring.reasons import reason_codes, with_silence

TIERS = ("mass", "affluent", "wealth", "private")
EN = ReasonWords("en", "CNY", TIERS)
ZH = ReasonWords("zh_CN", "CNY", TIERS)


def codes_of(feature: str, values: np.ndarray, median: float) -> list[str]:
    """One code per value, as top_reasons takes them from reason_codes."""
    codes, which = reason_codes(feature, values, median)
    return [codes[i] for i in which]


def test_codes_carry_the_feature_the_value_and_the_typical_value() -> None:
    assert (
        codes_of("aum_change_pct_3m", np.array([-0.3765, -0.3765]), 0.0003561)
        == ["aum_change_pct_3m:-0.3765:0.0003561"] * 2
    )
    assert codes_of("days_since_rm_contact", np.array([np.nan, 200.0]), 45.0) == [
        "days_since_rm_contact:na:45",
        "days_since_rm_contact:200:45",
    ]
    assert codes_of("aum", np.array([-0.0]), np.nan) == ["aum:0:na"]


def test_a_code_string_parses_back_strongest_first() -> None:
    got = parse("recency_days:120:14;aum_change_pct_3m:-0.3765:0")
    assert [(r.feature, r.value, r.typical) for r in got] == [
        ("recency_days", 120.0, 14.0),
        ("aum_change_pct_3m", -0.3765, 0.0),
    ]
    assert parse("") == [] and parse(None) == []
    with pytest.raises(ValueError, match="expected <feature>:<value>:<typical>"):
        parse("recency days high")


def test_aum_change_reads_as_up_or_down_and_an_unchanged_typical_says_so() -> None:
    assert EN.phrase(parse("aum_change_pct_3m:-0.3765:0.0003561")[0]) == (
        "AUM down 38% in 3 months (typical: unchanged)"
    )
    # amounts as the report's money filter writes them (compact)
    down, typical = (money(v, compact=True, locale="en", currency="CNY") for v in (84700, 1200))
    assert EN.phrase(parse("aum_change_6m:-84700:-1200")[0]) == (
        f"AUM down {down} in 6 months (typical -{typical})"
    )
    zh = ZH.phrase(parse("aum_change_pct_3m:-0.3765:0")[0])
    assert zh == "近3个月AUM\u200b下降38%（一般客户不变）"  # may break before 下降
    assert EN.phrase(parse("aum_change_pct_12m:na:0.1")[0]) == "no AUM 12 months ago"


def test_missing_values_say_what_missing_means() -> None:
    # (one feature twice only here: a customer's reasons are distinct features)
    assert [
        EN.phrase(r) for r in parse("days_since_rm_contact:na:45;days_since_rm_contact:200:45")
    ] == [
        "never contacted by an RM",
        "no RM contact for 200 days (typical 45)",
    ]
    assert ZH.text("recency_days:na:14;days_since_rm_contact:na:45") == (
        "从无主动交易；从未获客户经理联系"
    )


def test_flags_products_and_tiers_read_as_words() -> None:
    assert [EN.phrase(r) for r in parse("has_wealth_management:1:0;has_wealth_management:0:1")] == [
        "holds Wealth management",
        "does not hold Wealth management",
    ]
    assert ZH.phrases("dormant:1:0;has_fund:0:0") == ["休眠", "未持有基金"]
    assert EN.phrase(parse("tier_rank:0:1")[0]) == "Mass tier (typical Affluent)"
    assert ZH.phrase(parse("tier_rank:0:1")[0]) == "大众客户（一般客户为贵宾客户）"


def test_chinese_phrases_and_frequency_by_its_unit() -> None:
    assert ZH.phrase(parse("digital_share:0.1:0.9")[0]) == "数字渠道交易占比10%（一般客户90%）"
    assert EN.phrase(parse("frequency:2:11")[0]) == "active on 2 days in the window (typical 11)"
    by_txn = ReasonWords("en", "CNY", TIERS, frequency_unit="transaction")
    assert by_txn.phrase(parse("frequency:2:11")[0]) == (
        "2 own transactions in the window (typical 11)"
    )


def test_an_unlabelled_feature_is_still_worded_with_its_numbers() -> None:
    assert EN.phrase(parse("new_feature:2.5:1")[0]) == "new_feature: 2.50 (typical 1.00)"


def test_aum_changes_over_several_windows_are_one_reason() -> None:
    codes = "aum_change_pct_3m:-0.31:0;aum_change_pct_6m:-0.29:0;recency_days:90:14"
    assert EN.phrases(codes) == [
        "AUM down 31% in 3 months (typical: unchanged)",
        "no own transaction for 90 days (typical 14)",
    ]


def silence(codes: list[str], frequency, recency, T, rhythm, unit: str = "week") -> list[str]:
    out = with_silence(
        pd.Series(pd.array(codes, dtype="str"), index=range(10, 10 + len(codes))),
        *(np.array(x, dtype=float) for x in (frequency, recency, T)),
        np.array(rhythm, dtype=bool),
        unit,
    )
    assert list(out.index) == list(range(10, 10 + len(codes)))  # keyed as it came
    return out.tolist()


def test_without_a_churn_model_the_btyd_silence_against_ones_own_rhythm_comes_first() -> None:
    # 17 repeats over 21 weeks (a usual 7 days), then 14 weeks silent (98 days)
    assert silence([""], [17], [17], [31], [True]) == ["btyd_silence:98:7"]
    # recency against other customers gives way; the others keep their order, three at most
    assert silence(
        ["a:1:2;recency_days:98:40;b:1:1", "x:1:1;y:2:2;z:3:3", "recency_days:98:40"],
        [2, 2, 2],
        [2, 2, 2],
        [16, 16, 16],
        [True, True, True],
    ) == [
        "btyd_silence:98:7;a:1:2;b:1:1",
        "btyd_silence:98:7;x:1:1;y:2:2",
        "btyd_silence:98:7",
    ]
    # days stay days when BTYD counts in days
    assert silence([""], [4], [30], [90], [True], unit="day") == ["btyd_silence:60:7.5"]
    # a missing code string is no reasons: the silence alone
    assert silence([None], [17], [17], [31], [True]) == ["btyd_silence:98:7"]


def test_no_silence_reason_within_twice_the_usual_gap_without_repeats_or_with_a_model() -> None:
    # usual 14 days: 27 silent is within two gaps, 28 is not
    assert silence(["", ""], [3, 3], [6, 6], [9 + 6 / 7, 10], [True, True]) == [
        "",
        "btyd_silence:28:14",
    ]
    # no repeat event (no rhythm), a zero recency, or a churn model's score: unchanged
    assert silence(
        ["q:1:1", "", "recency_days:98:40"], [0, 1, 5], [0, 0, 5], [20, 20, 20], [True, True, False]
    ) == ["q:1:1", "", "recency_days:98:40"]


def test_the_silence_reads_in_either_language() -> None:
    assert EN.text("btyd_silence:123:8.70588") == "silent for 123 days, usually active every 9 days"
    assert ZH.text("btyd_silence:123:8.70588") == "已123天无主动交易（平时约每9天一次）"


REASON = st.sampled_from(["recency_days:98:40", "a:1:2", "b:-0.5:0", "days_since_rm_contact:na:45"])


@settings(max_examples=200, deadline=None)
@given(
    st.lists(
        st.tuples(
            st.lists(REASON, max_size=3, unique=True),
            st.integers(0, 40),  # repeat events
            st.floats(0, 52, allow_nan=False),  # recency (weeks)
            st.floats(0, 52, allow_nan=False),  # silent since (weeks)
            st.booleans(),  # risk from 1 - P(alive)
        ),
        min_size=1,
        max_size=20,
    )
)
def test_the_silence_comes_first_only_where_due_and_keeps_the_other_reasons(rows) -> None:
    codes = [";".join(r[0]) for r in rows]
    f = [r[1] for r in rows]
    recency = [r[2] for r in rows]
    T = [r[2] + r[3] for r in rows]
    got = silence(codes, f, recency, T, [r[4] for r in rows])
    for (reasons, freq, rec, since, rhythm), before, after in zip(rows, codes, got, strict=True):
        # the threshold itself is tested exactly above; here, as the code computes it
        gap = rec / freq * 7 if freq >= 1 else 0.0
        due = rhythm and gap > 0 and ((rec + since) - rec) * 7 >= 2 * gap
        if not due:
            assert after == before
            continue
        first, *rest = after.split(";")
        assert first.startswith("btyd_silence:") and len(rest) <= 2
        kept = [r for r in reasons if not r.startswith("recency_days:")]
        assert rest == kept[:2]
