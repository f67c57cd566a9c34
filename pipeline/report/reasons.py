"""Reason codes in words, in the language the report is rendered in.

The score stage stores why a customer is at risk as codes with parameters
(pipeline/scoring/reasons.py: `recency_days:120:14;aum_change_pct_3m:-0.3765:0`); here
each becomes a phrase with the customer's value beside the typical customer's, numbers
formatted as the report formats them ("no own transaction for 120 days (typical 14)",
"近3个月AUM下降38%（一般客户不变）").
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass

from pipeline.report.environment import format_money, format_num, format_pct
from pipeline.report.i18n import labels, term
from pipeline.report.vocabulary import AUM_CHANGE, PRODUCT_FLAG, feature_label, reasons

SEPARATOR = ";"
FIELDS = ":"
MISSING = "na"
FLAGS = ("dormant", "digital_enrolled", "gender_m")
COUNTS = (
    "recency_days",
    "btyd_silence",
    "txn_count",
    "products_held",
    "days_since_rm_contact",
    "tenure_months",
    "age",
    "rfm_r",
    "rfm_f",
    "rfm_m",
)
MONEY = ("monetary", "aum", "liabilities")
SHARES = ("digital_share",)
UNCHANGED = 0.005  # a typical change smaller than half a percent reads "unchanged"


@dataclass(frozen=True)
class Reason:
    """One parsed reason: the feature, the customer's value and the typical value
    (NaN where the code says "na")."""

    feature: str
    value: float
    typical: float


def _number(text: str) -> float:
    return math.nan if text == MISSING else float(text)


def parse(codes: str | None) -> list[Reason]:
    """The reasons of one customer's code string, strongest first ("" or None: none).
    A code that is not `<feature>:<value>:<typical>` is a broken input: ValueError."""
    if not codes:
        return []
    out = []
    for code in str(codes).split(SEPARATOR):
        parts = code.rsplit(FIELDS, 2)
        if len(parts) != 3 or not parts[0]:
            raise ValueError(f"reason code {code!r}: expected <feature>:<value>:<typical>")
        out.append(Reason(parts[0], _number(parts[1]), _number(parts[2])))
    return out


@dataclass(frozen=True)
class ReasonWords:
    """What wording needs beyond the codes: the locale, the currency, the configured
    tiers (tier_rank is a position in them) and how RFM frequency is counted."""

    locale: str
    currency: str
    tiers: tuple[str, ...]
    frequency_unit: str = "day"

    def phrase(self, r: Reason) -> str:
        """One reason in words."""
        words = reasons(self.locale)
        f = r.feature
        if f in FLAGS or f.startswith(PRODUCT_FLAG):
            yes = r.value >= 0.5
            if f in FLAGS:
                return words[f"{f}_{'yes' if yes else 'no'}"]
            product = term(self.locale, f[len(PRODUCT_FLAG) :])
            return words["has_yes" if yes else "has_no"].format(product=product)
        match = AUM_CHANGE.match(f)
        if match:
            return self._aum_change(r, int(match.group(2)), bool(match.group(1)))
        if math.isnan(r.value):
            key = f"{f}_na"
            return words.get(key) or words["missing"].format(feature=self._label(f))
        shown = self._formatter(f)
        key = f"frequency_{self.frequency_unit}" if f == "frequency" else f
        template = words.get(key, words["other"])
        typical = labels(self.locale)["not_available"] if math.isnan(r.typical) else None
        return template.format(
            v=shown(r.value), m=typical or shown(r.typical), feature=self._label(f)
        )

    def phrases(self, codes: str | None) -> list[str]:
        """A customer's reasons in words, one per signal: AUM changes over several
        windows say one thing (the strongest, first, is kept)."""
        seen, out = set(), []
        for r in parse(codes):
            family = "aum_change" if AUM_CHANGE.match(r.feature) else r.feature
            if family not in seen:
                seen.add(family)
                out.append(self.phrase(r))
        return out

    def text(self, codes: str | None) -> str:
        """A customer's reasons joined as the locale joins a list."""
        return reasons(self.locale)["separator"].join(self.phrases(codes))

    def _label(self, feature: str) -> str:
        return feature_label(self.locale, feature, lambda p: term(self.locale, p))

    def _formatter(self, feature: str) -> Callable[[float], str]:
        loc = self.locale
        if feature in MONEY:
            return lambda v: format_money(v, compact=True, locale=loc, currency=self.currency)
        if feature in SHARES:
            return lambda v: format_pct(v, 0, locale=loc)
        if feature == "tier_rank":
            return self._tier
        if feature in COUNTS or feature == "frequency":
            return lambda v: format_num(v, 0, locale=loc)
        return lambda v: format_num(v, 2, locale=loc)

    def _tier(self, v: float) -> str:
        if v != int(v) or not 0 <= int(v) < len(self.tiers):
            return format_num(v, 1, locale=self.locale)
        return term(self.locale, self.tiers[int(v)])

    def _aum_change(self, r: Reason, months: int, percent: bool) -> str:
        words = reasons(self.locale)
        if math.isnan(r.value):
            return words["aum_change_na"].format(k=months)

        def size(v: float) -> str:
            if percent:
                return format_pct(abs(v), 0, locale=self.locale)
            return format_money(abs(v), compact=True, locale=self.locale, currency=self.currency)

        if size(r.value) == size(0.0):
            text = words["aum_same"].format(k=months)
        else:
            text = words["aum_down" if r.value < 0 else "aum_up"].format(v=size(r.value), k=months)
        if math.isnan(r.typical):
            return text
        if (abs(r.typical) < UNCHANGED) if percent else size(r.typical) == size(0.0):
            return text + words["typical_unchanged"]
        sign = "-" if r.typical < 0 else "+"
        return text + words["typical_change"].format(m=f"{sign}{size(r.typical)}")
