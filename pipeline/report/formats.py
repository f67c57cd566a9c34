"""Numbers, shares, money and dates as a locale writes them, through Babel (CLDR data).

Grouping and decimal marks, where the percent sign and the currency symbol go, compact
units (k/M/B in English, 万/亿 in Chinese, tis./mil./mld. in Czech), plus and minus
signs and the order of a date come from the locale, so a bank configures any locale
(`locale: es_ES`, `cs_CZ`) and its reports follow it. The number of decimals is the
caller's: the locale's own pattern is used with exactly that many. These functions take
plain values; the report filters (environment.py) add what is missing or not available.

Babel works out the pattern, plural rule and symbols on every call, and a report run
writes the same amounts again and again (each reason's typical value, zero, a customer
on a watchlist and a call list): the written text is kept per value, locale and
decimals (FORMATTED texts each; `typed`, so 1 and 1.0 are apart, and after -0.0 and
numbers that round to zero are made 0.0, so no two keys that compare equal differ).
"""

from __future__ import annotations

import math
import re
from datetime import date
from functools import cache, lru_cache

from babel import Locale, dates, numbers

from pipeline.locales import babel_locale

FORMATTED = 1 << 16  # texts kept per formatting function (a run writes fewer distinct)
# the digits of a pattern: "#,##0.00" -> its integer part and its decimals
_DIGITS = re.compile(r"0(?:\.[0#]+)?")


@cache
def _pattern(locale: str, kind: str, digits: int) -> str:
    """The locale's pattern of `kind` (decimal, percent, currency) with `digits` decimals."""
    loc = babel_locale(locale)
    base = {
        "decimal": loc.decimal_formats[None],
        "percent": loc.percent_formats[None],
        "currency": loc.currency_formats["standard"],
    }[kind].pattern
    fraction = "." + "0" * digits if digits > 0 else ""
    return ";".join(_DIGITS.sub("0" + fraction, part, count=1) for part in base.split(";"))


def _unsigned_zero(number: float, digits: int) -> float:
    """0.0 for a value that rounds to zero, so nothing prints as "-0"."""
    return 0.0 if round(number, digits) == 0 else number


def number(value: float, digits: int, locale: str) -> str:
    """1234567.8, 0 -> en "1,234,568", es_ES "1.234.568", cs_CZ "1 234 568"."""
    return _number(_unsigned_zero(value, digits), digits, locale)


@lru_cache(maxsize=FORMATTED, typed=True)
def _number(value: float, digits: int, locale: str) -> str:
    return numbers.format_decimal(
        value, format=_pattern(locale, "decimal", digits), locale=babel_locale(locale)
    )


def percent(share: float, digits: int, locale: str) -> str:
    """A share 0.1234, 1 -> en "12.3%", es_ES "12,3 %"."""
    return _percent(_unsigned_zero(share, digits + 2), digits, locale)


@lru_cache(maxsize=FORMATTED, typed=True)
def _percent(share: float, digits: int, locale: str) -> str:
    return numbers.format_percent(
        share, format=_pattern(locale, "percent", digits), locale=babel_locale(locale)
    )


def money(value: float, digits: int, currency: str, locale: str) -> str:
    """1234567.8 CNY, 0 -> en "CN¥1,234,568", zh_CN "¥1,234,568", es_ES "1.234.568 CNY"."""
    return _money(_unsigned_zero(value, digits), digits, currency, locale)


@lru_cache(maxsize=FORMATTED, typed=True)
def _money(value: float, digits: int, currency: str, locale: str) -> str:
    return numbers.format_currency(
        value,
        currency,
        format=_pattern(locale, "currency", digits),
        currency_digits=False,
        locale=babel_locale(locale),
    )


def compact_money(value: float, currency: str, locale: str) -> str:
    """Large amounts in the locale's short units, up to two decimals: 1234567.8 CNY ->
    en "CN¥1.23M", zh_CN "¥123.46万", cs_CZ "1,23 mil. CN¥"; amounts below the locale's
    smallest unit (zh_CN has none under 万) as money, whole above 100."""
    return _compact_money(_unsigned_zero(value, 2), currency, locale)


@lru_cache(maxsize=FORMATTED, typed=True)
def _compact_money(value: float, currency: str, locale: str) -> str:
    if abs(value) < _smallest_unit(babel_locale(locale)):
        return money(value, 0 if abs(value) >= 100 else 2, currency, locale)
    return numbers.format_compact_currency(
        value, currency, locale=babel_locale(locale), fraction_digits=2
    )


@cache
def _smallest_unit(locale: str) -> float:
    """The smallest amount the locale writes in a short unit (en 1000: K; zh_CN 10000: 万):
    Babel writes a smaller one with every digit of the float."""
    patterns = Locale.parse(locale).compact_currency_formats["short"]["other"]
    units = [int(size) for size, p in patterns.items() if set(p.pattern) - set("0#.,¤ \xa0")]
    return float(min(units, default=math.inf))


def currency_name(currency: str, locale: str) -> str:
    """The currency's name in the locale: CNY -> en "Chinese Yuan", zh_CN "人民币"."""
    return numbers.get_currency_name(currency, locale=babel_locale(locale))


def signed(body: str, value: float, shown: float, locale: str) -> str:
    """`body` (an unsigned amount) with the locale's plus or minus sign, or ± when the
    value shows as zero."""
    if shown == 0 or math.isclose(shown, 0.0):
        return f"±{body}"
    loc = babel_locale(locale)
    sign = numbers.get_plus_sign_symbol(loc) if value > 0 else numbers.get_minus_sign_symbol(loc)
    return f"{sign}{body}"


def day(value: date, locale: str) -> str:
    """2026-10-31 -> en "Oct 31, 2026", en_GB "31 Oct 2026", zh_CN "2026年10月31日",
    cs_CZ "31. 10. 2026" (the locale's medium date)."""
    return dates.format_date(value, format="medium", locale=babel_locale(locale))


def month(year: int, month_number: int, locale: str) -> str:
    """2026, 9 -> en "Sep 2026", zh_CN "2026年9月", cs_CZ "září 2026" (year and short month)."""
    return dates.format_skeleton("yMMM", date(year, month_number, 1), locale=babel_locale(locale))
