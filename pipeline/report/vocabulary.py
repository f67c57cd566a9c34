"""The bank's data in words, in every catalog's language: the churn model's features,
why a customer is at risk (reason templates), why ingest rejected a row and what it
warned of, and the canonical tables' columns those warnings name.

Report labels (titles, column heads, notes) are read through i18n.py; this module words
the names that come from the data and the models, so that no code name
(`aum_change_pct_3m`, `unknown_customer`) reaches a reader. The texts are in the message
catalogs (reports/locales/), each table in its own msgctxt: "feature", "reason",
"data_quality", "column". Features named by a pattern -- an AUM change over any
configured number of months, holding any product -- are worded here from the pattern's
text.
"""

from __future__ import annotations

import re
from typing import Any

from pipeline.report.catalogs import COLUMN, DATA_QUALITY, FEATURE, REASON, Messages
from pipeline.report.environment import format_num
from pipeline.report.i18n import LOCALES, term, vocabulary

# Placeholders in the texts: features {k} months, {product}; reasons {v} the customer's
# value and {m} the typical customer's (both already formatted), "_na" when the customer
# has no value, "_yes"/"_no" for flags.


def features(locale: str) -> Messages:
    """Model features (pipeline.scoring.churn.feature_columns) by name, in words."""
    return vocabulary(locale, FEATURE)


def reasons(locale: str) -> Messages:
    """Why a customer is at risk: phrase patterns by feature."""
    return vocabulary(locale, REASON)


AUM_CHANGE = re.compile(r"^aum_change_(pct_)?(\d+)m$")
PRODUCT_FLAG = "has_"


def feature_label(locale: str, feature: str, product_name) -> str:
    """A model feature's name in words; `product_name(p)` words a product. A feature
    with no label is shown as it is named (a test keeps every model feature labelled)."""
    names = features(locale)
    if feature in names:
        return names[feature]
    match = AUM_CHANGE.match(feature)
    if match:
        key = "aum_change_pct_k" if match.group(1) else "aum_change_k"
        return names[key].format(k=match.group(2))
    if feature.startswith(PRODUCT_FLAG):
        return names["has_product"].format(product=product_name(feature[len(PRODUCT_FLAG) :]))
    return feature


def has_feature_label(feature: str) -> bool:
    """Whether feature_label words `feature` in every locale (not its code name)."""
    return all(feature_label(loc, feature, str) != feature for loc in LOCALES)


def data_quality_reason(locale: str, code: str) -> str:
    """Why ingest rejected rows, in words (an unknown code is shown as it is)."""
    return vocabulary(locale, DATA_QUALITY).get(code, code)


def column_label(locale: str, column: str) -> str:
    """A canonical table's column in words (one with no label is shown as it is named:
    a survey item's code, say)."""
    return vocabulary(locale, COLUMN).get(column, column)


def data_warning(locale: str, finding: dict[str, Any]) -> str:
    """An ingest finding (pipeline/ingest/quality.py: a code and its parameters) in
    words; the bank's own names -- files, source columns, transaction types -- stay as
    the bank wrote them."""
    f, texts = finding, vocabulary(locale, DATA_QUALITY)
    match f["code"]:
        case "repeated_header":
            return texts["warning_repeated_header"].format(file=f["file"], column=f["column"])
        case "missing_months":
            single = f["start"] == f["end"]
            text = texts["warning_missing_month" if single else "warning_missing_months"]
            return text.format(
                table=term(locale, f["table"]),
                month=f["start"],
                start=f["start"],
                end=f["end"],
                first=f["first"],
                last=f["last"],
            )
        case "initiated_types_match_none":
            return texts["warning_initiated_types"].format(
                listed=", ".join(f["listed"]),
                transactions=format_num(f["transactions"], locale=locale),
                frequent=", ".join(f["frequent"]),
                config=f["config"],
            )
        case "empty_column":
            return texts["warning_empty_column"].format(
                table=term(locale, f["table"]),
                column=column_label(locale, f["column"]),
                source=f["source"],
            )
        case "copied_file":
            return texts["warning_copied_file"].format(file=f["file"], copy_of=f["copy_of"])
        case "absent_in_some_files":
            more = f["lacking"] > len(f["files"])
            return texts["warning_absent_in_some_files"].format(
                table=term(locale, f["table"]),
                column=column_label(locale, f["column"]),
                source=f["source"],
                lacking=format_num(f["lacking"], locale=locale),
                of=format_num(f["of"], locale=locale),
                files=", ".join(f["files"]) + (", ..." if more else ""),
            )
        case "negative_liabilities":
            return texts["warning_negative_liabilities"].format(
                product=term(locale, f["product"]),
                negative=format_num(f["negative"], locale=locale),
                rows=format_num(f["rows"], locale=locale),
            )
    return str(f.get("text", f["code"]))  # a manifest from before findings had codes
