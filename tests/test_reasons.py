"""Risk reasons in the bank's words, with the typical customer beside the customer."""

from __future__ import annotations

import numpy as np

from pipeline.scoring.reasons import phrase_codes


def phrase_values(feature: str, values: np.ndarray, median: float, locale: str) -> list[str]:
    """One phrase per value, as top_reasons takes them from phrase_codes."""
    words, which = phrase_codes(feature, values, median, locale)
    return [words[i] for i in which]


def test_aum_change_reads_as_a_signed_percentage_over_its_months() -> None:
    got = phrase_values("aum_change_pct_3m", np.array([-0.3765]), 0.0003561, "en")
    assert got == ["AUM -38% over 3 months (typical +0%)"]
    got = phrase_values("aum_change_6m", np.array([-84_700.0]), 0.02, "en")
    assert got == ["AUM -84,700 over 6 months (typical +0)"]


def test_missing_values_say_what_missing_means() -> None:
    got = phrase_values("days_since_rm_contact", np.array([np.nan, 200.0]), 45.0, "en")
    assert got == ["never contacted by an RM", "no RM contact for 200 days (typical 45)"]


def test_flags_and_products_read_as_words() -> None:
    assert phrase_values("has_wealth_management", np.array([1.0, 0.0]), 0.0, "en") == [
        "holds wealth management",
        "no wealth management",
    ]
    assert phrase_values("dormant", np.array([1.0]), 0.0, "zh_CN") == ["休眠"]


def test_chinese_phrases_and_unknown_features() -> None:
    assert phrase_values("digital_share", np.array([0.1]), 0.9, "zh_CN") == [
        "数字渠道交易占比10%（中位数90%）"
    ]
    assert phrase_values("new_feature", np.array([2.5]), 1.0, "en") == [
        "new_feature 2.5 (typical 1)"
    ]
