"""Words, not code names: every model feature, reason, segment, tier, product and
data-quality reason a report can show has its words in every catalog's language
(the catalogs themselves: test_report_catalogs.py)."""

from __future__ import annotations

import math
from datetime import date

import pandas as pd
import pytest

from pipeline.config import load_config
from pipeline.report.i18n import LOCALES, term, vocabulary
from pipeline.report.reasons import Reason, ReasonWords
from pipeline.report.vocabulary import data_quality_reason, has_feature_label
from pipeline.schema import PRODUCTS
from pipeline.scoring.churn import BASE_FEATURES, feature_columns

TIERS = ("mass", "affluent", "wealth", "private")


def every_model_feature(months: tuple[int, ...] = (1, 3, 6, 12, 24)) -> list[str]:
    """The model inputs feature_columns finds in a mart holding every column the mart
    can have, AUM changes over any months a bank may configure."""
    columns = list(BASE_FEATURES)
    columns += [f"aum_change_{k}m" for k in months] + [f"aum_change_pct_{k}m" for k in months]
    columns += [f"has_{p}" for p in PRODUCTS]
    return feature_columns(pd.DataFrame(columns=columns))


def test_every_feature_the_model_can_use_has_words_in_both_locales() -> None:
    features = every_model_feature()
    assert {"recency_days", "aum_change_pct_24m", "has_credit_card", "tier_rank"} <= set(features)
    unlabelled = [f for f in features if not has_feature_label(f)]
    assert unlabelled == []


@pytest.mark.parametrize("locale", LOCALES)
def test_every_reason_reads_without_the_features_code_name(locale: str) -> None:
    words = ReasonWords(locale, "CNY", TIERS)
    for feature in every_model_feature():
        for value, typical in ((2.0, 1.0), (0.0, 1.0), (math.nan, 1.0), (0.4, math.nan)):
            text = words.phrase(Reason(feature, value, typical))
            # a code name has an underscore ("age", "frequency" are words too)
            assert "_" not in text and text.strip(), (feature, text)


def ingest_reasons() -> set[str]:
    """Every reason ingest can give a rejected row: the cast's, the range checks' of
    every table of the sample source, and a row that could not be read."""
    from pipeline.ingest.cast import UNPARSEABLE
    from pipeline.ingest.checks import range_checks
    from pipeline.ingest.source import load_source

    reasons = set(UNPARSEABLE.values()) | {"missing_value", "invalid_value", "malformed_row"}
    for spec in load_source("sample").tables.values():
        reasons |= {reason for _, reason, _ in range_checks(spec, date(2026, 10, 31), True)}
    return reasons


@pytest.mark.parametrize("locale", LOCALES)
def test_every_data_quality_reason_has_words(locale: str) -> None:
    reasons = ingest_reasons()
    assert {"unknown_customer", "after_as_of", "likert_out_of_scale"} <= reasons
    assert reasons <= set(vocabulary(locale, "data_quality"))
    for reason in reasons:
        assert data_quality_reason(locale, reason) != reason


def test_every_configured_name_has_chinese_words() -> None:
    cfg = load_config()
    names = [t["name"] for t in cfg["tiers"]]
    names += [s["name"] for s in cfg["rfm"]["segments"]]
    names += [cfg["rfm"]["inactive_segment"], cfg["rfm"]["unmatched_segment"]]
    names += list(PRODUCTS) + ["low", "medium", "high"]
    names += ["retain now", "protect", "win back cheaply", "develop"]
    names += ["gradient_boosting", "logistic_regression", "recency", "aum_change_3m"]
    names += ["recency_and_aum_change", "customers", "transactions", "balances", "rm_contacts"]
    names += ["survey_responses", "staff_survey_responses"]
    untranslated = [n for n in names if term("zh_CN", n) == n]
    assert untranslated == []
    # English shows snake_case names as words too
    assert all("_" not in term("en", n) for n in names)
