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
from pipeline.report.vocabulary import (
    column_label,
    data_quality_reason,
    data_warning,
    has_feature_label,
)
from pipeline.schema import PRODUCTS, TABLES
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
    reasons |= {"customer_rejected", "repeated_header_row", "control_character"}  # checks, cast
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


@pytest.mark.parametrize("locale", LOCALES)
def test_every_column_an_ingest_warning_can_name_has_words(locale: str) -> None:
    """empty_columns names optional columns (quality.py): each has a label."""
    optional = {c.name for t in TABLES.values() for c in t.columns if not c.required}
    assert {"rm_id", "close_date", "revenue"} <= optional
    assert sorted(optional - set(vocabulary(locale, "column"))) == []
    assert column_label(locale, "rel1") == "rel1"  # a survey item's code, as it is
    assert "_" not in column_label(locale, "close_date")


FINDINGS = [
    {"code": "empty_column", "table": "customers", "column": "rm_id", "source": "客户经理编号"},
    {
        "code": "missing_months",
        "table": "transactions",
        "start": "2026-07",
        "end": "2026-07",
        "first": "2025-11",
        "last": "2026-10",
    },
    {
        "code": "missing_months",
        "table": "balances",
        "start": "2026-03",
        "end": "2026-04",
        "first": "2025-11",
        "last": "2026-10",
    },
    {"code": "repeated_header", "file": "customers.csv", "column": "gender"},
    {
        "code": "initiated_types_match_none",
        "listed": ["POS", "ATM"],
        "transactions": 12345,
        "frequent": ["interest", "fee"],
        "config": "mybank.yml",
    },
    {"code": "negative_liabilities", "product": "loan", "negative": 1200, "rows": 1300},
    {"code": "text", "text": "a sentence from an older manifest"},
    {
        "code": "absent_in_some_files",
        "table": "transactions",
        "column": "revenue",
        "source": "fee",
        "files": ["t/2026-08.csv", "t/2026-09.csv", "t/2026-10.csv"],
        "lacking": 4,
        "of": 24,
    },
    {"code": "copied_file", "table": "balances", "file": "b/10b.csv", "copy_of": "b/10.csv"},
]


def test_ingest_findings_in_both_languages() -> None:
    """Codes with parameters worded when the report renders: the bank's own names (its
    headers, files, transaction types) as it wrote them, everything else translated."""
    assert [data_warning("en", f) for f in FINDINGS] == [
        "Customers, column RM: empty in every row (source column '客户经理编号': absent from "
        "the files or never filled)",
        "Transactions: no rows for 2026-07, between 2025-11 and 2026-10: is a monthly export "
        "missing?",
        "Balances: no rows for 2026-03 to 2026-04, between 2025-11 and 2026-10: are monthly "
        "exports missing?",
        "customers.csv: column 'gender' appears more than once in the header (not read)",
        "customer_initiated_txn_types (POS, ATM) matches none of the 12,345 transactions, "
        "whose most frequent types are interest, fee: every customer will look dormant; "
        "check the list in mybank.yml",
        "Balances: 1,200 of the 1,300 Loan balances are negative, while amounts owed are "
        "positive in the data contract: if the export signs them, map the balance with an "
        "expression such as abs(...) in the source config (a negative amount owed earns the "
        "bank a negative margin).",
        "a sentence from an older manifest",
        "Transactions, column revenue: 4 of the 24 files have no column 'fee' (t/2026-08.csv, "
        "t/2026-09.csv, t/2026-10.csv, ...): their rows have it empty; was the header renamed "
        "in those exports?",
        "b/10b.csv: the same bytes as b/10.csv: its rows were dropped as exact duplicates; is "
        "one of the two misnamed (a month exported twice)?",
    ]
    assert [data_warning("zh_CN", f) for f in FINDINGS[:3]] == [
        "客户表的“客户经理”列在所有行中都为空（源列“客户经理编号”：文件中没有这一列，或从未填写）",
        "交易表：2025-11至2026-10之间，2026-07没有数据：是否缺少该月的导出文件？",
        "余额表：2025-11至2026-10之间，2026-03至2026-04没有数据：是否缺少这几个月的导出文件？",
    ]
    assert data_warning("zh_CN", FINDINGS[7]) == (
        "交易表的“收入”列：24个文件中有4个没有源列“fee”（t/2026-08.csv, t/2026-09.csv, "
        "t/2026-10.csv, ...），这些文件的行中该列为空；这些导出文件的表头是否被改名？"
    )
    assert data_warning("zh_CN", FINDINGS[8]).startswith("b/10b.csv与b/10.csv内容完全相同")
    zh = data_warning("zh_CN", FINDINGS[5])
    assert zh.startswith("余额表：贷款的 1,300 条余额中有 1,200 条为负数")


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
