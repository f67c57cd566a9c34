"""The report's number filters, labels and Jinja environment, on hand values."""

from __future__ import annotations

import math
from contextlib import contextmanager
from datetime import date

import jinja2
import pytest
from hypothesis import given
from hypothesis import strategies as st
from markupsafe import Markup

from pipeline.report import formats
from pipeline.report.environment import (
    NA,
    NO_PREVIOUS,
    MissingValueError,
    format_date,
    format_delta,
    format_money,
    format_num,
    format_pct,
    make_environment,
)
from pipeline.report.i18n import label_locale, labels, term


@pytest.mark.parametrize(
    ("value", "digits", "expected"),
    [
        (1234567.8, 0, "1,234,568"),
        (0.5, 0, "0"),
        (-1234.5, 1, "-1,234.5"),
        (39, 0, "39"),
        (2.505, 2, "2.50"),
        (-0.004, 2, "0.00"),
    ],
)
def test_num(value, digits, expected):
    assert format_num(value, digits, locale="en") == expected
    assert format_num(value, digits, locale="zh_CN") == expected


def test_pct():
    assert format_pct(0.1234, locale="en") == "12.3%"
    assert format_pct(1, 0, locale="zh_CN") == "100%"
    assert format_pct(0.00049, 2, locale="en") == "0.05%"


def test_money_plain_and_compact():
    # CLDR's symbols and short units (Babel): CN¥ in English, ¥ and 万/亿 in Chinese
    assert format_money(1234567.8, locale="en", currency="CNY") == "CN¥1,234,568"
    assert format_money(1234567.8, 2, locale="en", currency="CNY") == "CN¥1,234,567.80"
    assert format_money(1234567.8, compact=True, locale="en", currency="CNY") == "CN¥1.23M"
    assert format_money(8_760_000_000, compact=True, locale="en", currency="CNY") == "CN¥8.76B"
    assert format_money(315_000, compact=True, locale="en", currency="CNY") == "CN¥315K"
    assert format_money(999, compact=True, locale="en", currency="USD") == "$999"
    assert format_money(-0.3, locale="en", currency="CNY") == "CN¥0"  # never "-CN¥0"
    assert format_money(1234567.8, locale="zh_CN", currency="CNY") == "¥1,234,568"
    assert format_money(1234567.8, compact=True, locale="zh_CN", currency="CNY") == "¥123.46万"
    assert format_money(3.2e8, compact=True, locale="zh_CN", currency="CNY") == "¥3.2亿"
    assert format_money(50, locale="zh_CN", currency="USD") == "US$50"


def test_delta_signs_and_kinds():
    assert format_delta(3, locale="en", currency="CNY") == "+3"
    assert format_delta(-3, locale="en", currency="CNY") == "-3"
    assert format_delta(0.2, locale="en", currency="CNY") == "±0"
    assert format_delta(0.135, "pp", locale="en", currency="CNY") == "+13.5 pp"
    assert format_delta(-0.154, "pp", locale="zh_CN", currency="CNY") == "-15.4 个百分点"
    assert format_delta(-13_950_000, "money", locale="en", currency="CNY") == "-CN¥13.95M"
    assert format_delta(-0.75, "num", 2, locale="en", currency="CNY") == "-0.75"
    with pytest.raises(ValueError, match="unknown kind"):
        format_delta(1, "ratio", locale="en", currency="CNY")


def test_date():
    assert format_date(date(2026, 10, 31), locale="en") == "Oct 31, 2026"
    assert format_date(date(2026, 10, 31), locale="en_GB") == "31 Oct 2026"
    assert format_date("2026-10-31", locale="zh_CN") == "2026年10月31日"


NBSP = "\xa0"


@pytest.mark.parametrize(
    ("locale", "num", "pct", "money", "compact", "delta", "day"),
    [
        ("es_ES", "-1.234,5", f"12,3{NBSP}%", f"1.234.568{NBSP}€", f"1,23{NBSP}M{NBSP}CZK",
         "+2.500", "31 oct 2026"),
        ("cs_CZ", f"-1{NBSP}234,5", f"12,3{NBSP}%", f"1{NBSP}234{NBSP}568{NBSP}€",
         f"1,23{NBSP}mil.{NBSP}Kč", f"+2{NBSP}500", "31. 10. 2026"),
        ("de_DE", "-1.234,5", f"12,3{NBSP}%", f"1.234.568{NBSP}€", f"1,23{NBSP}Mio.{NBSP}CZK",
         "+2.500", "31.10.2026"),
    ],
)  # fmt: skip
def test_any_locale_babel_knows(locale, num, pct, money, compact, delta, day):
    """Spanish and Czech banks' data ship with the project: their reports write numbers
    their way (CLDR), whatever language the labels are in."""
    assert format_num(-1234.5, 1, locale=locale) == num
    assert format_pct(0.1234, locale=locale) == pct
    assert format_money(1234567.8, locale=locale, currency="EUR") == money
    assert format_money(1234567.8, compact=True, locale=locale, currency="CZK") == compact
    assert format_delta(2500, locale=locale, currency="EUR") == delta
    assert format_date(date(2026, 10, 31), locale=locale) == day
    assert labels(locale) is labels("en")  # no Spanish or Czech catalog yet


def test_labels_follow_the_language_else_english():
    assert label_locale("zh_CN") == "zh_CN" and label_locale("zh_TW") == "zh_CN"
    assert label_locale("en_GB") == "en" and label_locale("cs_CZ") == "en"
    assert term("zh_Hant_TW", "wealth") == "财富客户"
    assert format_delta(-0.154, "pp", locale="sv_SE", currency="EUR") == "\u221215,4 pp"


@pytest.mark.parametrize("bad", [None, math.nan, float("nan"), "abc"])
def test_missing_values_fail_instead_of_printing_blank(bad):
    with pytest.raises(MissingValueError):
        format_num(bad, locale="en")
    with pytest.raises(MissingValueError):
        format_pct(bad, locale="en")


def test_not_available_prints_its_reason_in_the_locale():
    assert format_num(NA, locale="en") == "n/a"
    assert format_pct(NO_PREVIOUS, locale="en") == "no previous period"
    assert format_delta(NO_PREVIOUS, "pp", locale="zh_CN", currency="CNY") == "无上期数据"


def test_terms_translate_defaults_and_keep_configured_names():
    assert term("zh_CN", "wealth") == "财富客户"
    assert term("en", "credit_card") == "Credit card"
    assert term("zh_CN", "Gold tier") == "Gold tier"


def test_environment_escapes_and_fails_on_undefined(tmp_path):
    (tmp_path / "t.html").write_text("{{ name }} {{ value|money }} {{ x|pct }}", encoding="utf-8")
    env = make_environment("en", "CNY", template_dir=tmp_path)
    out = env.get_template("t.html").render(name="<script>alert(1)</script>", value=12.4, x=0.5)
    assert out == "&lt;script&gt;alert(1)&lt;/script&gt; CN¥12 50.0%"
    with pytest.raises(jinja2.UndefinedError):
        env.get_template("t.html").render(name="a", value=1)
    with pytest.raises(MissingValueError):
        env.get_template("t.html").render(name="a", value=None, x=0.1)
    assert env.from_string("{{ s }}").render(s=Markup("<b>ok</b>")) == "<b>ok</b>"
    assert env.from_string('{{ _("no_previous_period") }}').render() == "no previous period"


@given(
    st.one_of(
        st.floats(allow_nan=False, allow_infinity=False, min_value=-1e12, max_value=1e12),
        st.integers(-(10**9), 10**9),
        st.sampled_from([0.0, -0.0, 0.004, -0.004, 0.005, -0.005, 1, 1.0, 999.995, 9999.5]),
    ),
    st.integers(0, 3),
    st.sampled_from(["en", "zh_CN", "cs_CZ"]),
)
def test_kept_texts_are_babels_whatever_came_before(value, digits, locale):
    """The formats keep each text they wrote (pipeline.report.formats); a value, or one
    equal to it (0.0 and -0.0, 1 and 1.0), written first never changes what another
    gets: every call equals Babel's own answer, computed without the kept texts."""
    twins = (value, -value, float(value), -float(value), int(value))
    calls = [
        (formats.number, (digits, locale)),
        (formats.percent, (digits, locale)),
        (formats.money, (digits, "CNY", locale)),
        (formats.compact_money, ("CNY", locale)),
    ]

    def written() -> list[str]:
        return [function(twin, *args) for twin in twins for function, args in calls]

    with _babel_each_time():
        expected = written()
    assert written() == expected  # each twin after the others were kept


@contextmanager
def _babel_each_time():
    """The formats with nothing kept: each call asks Babel."""
    kept = (formats._number, formats._percent, formats._money, formats._compact_money)
    for function in kept:
        setattr(formats, function.__name__, function.__wrapped__)
    try:
        yield
    finally:
        for function in kept:
            setattr(formats, function.__name__, function)
