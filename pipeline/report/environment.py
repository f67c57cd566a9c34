"""The one Jinja environment of the reports: autoescape, StrictUndefined, the locale's
message catalog, number filters.

Templates read labels through `jinja2.ext.i18n`: `{{ _("sec_kpis") }}`, and
`_("amounts_in").format(name=..., code=...)` for a label with placeholders. `_` returns
plain text (old-style gettext), so autoescape escapes it like any value, and an id the
catalog lacks raises (catalogs.py) where StrictUndefined would have.

Templates never format a number by hand: `|num`, `|pct`, `|money`, `|delta` and `|date`
do, in the report's locale, through Babel (formats.py): any locale Babel knows. A value
that is missing (None, NaN) fails the render; a value that is deliberately not available
is a `NotAvailable` carrying the label that says why ("no previous period"), so nothing
prints blank.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass
from datetime import date, datetime
from functools import partial
from pathlib import Path
from typing import Any

import jinja2
from markupsafe import Markup

from pipeline import resources
from pipeline.locales import language
from pipeline.report import formats
from pipeline.report.i18n import catalog, labels, term

STYLESHEETS = ("report.css", "print.css")
SCRIPT = "report.js"


class MissingValueError(ValueError):
    """A number the report must show is None or NaN: the context is wrong, not blank."""


@dataclass(frozen=True)
class NotAvailable:
    """A value that is legitimately absent; `reason` is a label key shown in its place."""

    reason: str = "not_available"


NA = NotAvailable()
NO_PREVIOUS = NotAvailable("no_previous_period")
SUPPRESSED = NotAvailable("suppressed")


def _check(value: Any, filter_name: str) -> float:
    if value is None or (isinstance(value, float) and math.isnan(value)):
        raise MissingValueError(f"|{filter_name}: the value is missing (None or NaN)")
    try:
        number = float(value)
    except (TypeError, ValueError):
        raise MissingValueError(f"|{filter_name}: not a number: {value!r}") from None
    if math.isnan(number):
        raise MissingValueError(f"|{filter_name}: the value is missing (NaN)")
    return number


def format_num(value: Any, digits: int = 0, *, locale: str) -> str:
    """1234567.8 -> en "1,234,568", es_ES "1.234.568"; digits sets decimals."""
    if isinstance(value, NotAvailable):
        return labels(locale)[value.reason]
    return formats.number(_check(value, "num"), digits, locale)


def format_pct(value: Any, digits: int = 1, *, locale: str) -> str:
    """A share 0.1234 -> en "12.3%", es_ES "12,3 %"."""
    if isinstance(value, NotAvailable):
        return labels(locale)[value.reason]
    return formats.percent(_check(value, "pct"), digits, locale)


def format_money(
    value: Any, digits: int = 0, compact: bool = False, *, locale: str, currency: str
) -> str:
    """en "CN¥1,234,568" or compact "CN¥1.23M"; zh_CN "¥1,234,568" or "¥123.46万"."""
    if isinstance(value, NotAvailable):
        return labels(locale)[value.reason]
    number = _check(value, "money")
    if compact:
        return formats.compact_money(number, currency, locale)
    return formats.money(number, digits, currency, locale)


def format_delta(
    value: Any, kind: str = "num", digits: int | None = None, *, locale: str, currency: str
) -> str:
    """A signed change: num "+1,234"; pp (a change of shares) "+1.2 pp"; money "+CN¥1.2M"."""
    if isinstance(value, NotAvailable):
        return labels(locale)[value.reason]
    number = _check(value, "delta")
    if kind == "num":
        digits = 0 if digits is None else digits
        shown = round(abs(number), digits)
        body = formats.number(abs(number), digits, locale)
    elif kind == "pp":
        digits = 1 if digits is None else digits
        shown = round(abs(number) * 100, digits)
        points = formats.number(abs(number) * 100, digits, locale)
        body = labels(locale)["delta_pp"].format(points=points)
    elif kind == "money":
        shown = round(abs(number))
        body = formats.compact_money(abs(number), currency, locale)
    else:
        raise ValueError(f"|delta: unknown kind {kind!r} (num, pp, money)")
    return formats.signed(body, number, shown, locale)


def format_date(value: Any, *, locale: str) -> str:
    """2026-10-31 -> en "Oct 31, 2026", zh_CN "2026年10月31日" (the locale's medium date)."""
    if isinstance(value, NotAvailable):
        return labels(locale)[value.reason]
    if value is None:
        raise MissingValueError("|date: the value is missing")
    if isinstance(value, str):
        value = date.fromisoformat(value[:10])
    if isinstance(value, datetime) or hasattr(value, "to_pydatetime"):
        value = value.date()
    if not isinstance(value, date):
        raise MissingValueError(f"|date: not a date: {value!r}")
    return formats.day(value, locale)


def format_month(period: Any, *, locale: str) -> str:
    """A period "2026-09" -> en "Sep 2026", zh_CN "2026年9月"."""
    if isinstance(period, NotAvailable):
        return labels(locale)[period.reason]
    year, month = (int(x) for x in str(period).split("-"))
    return formats.month(year, month, locale)


# A printed table of at most this many rows is kept on one page (print.css); a longer
# one (a row per branch of a large bank) runs on from where its section starts: moved
# whole it would leave half a page empty, or its heading alone on a page.
WHOLE_TABLE_ROWS = 25

# Chinese is written without spaces, and a line may break between any two characters
# (UAX #14), which splits words across lines ("贵宾客/户"). Browsers would honour
# `word-break: keep-all`; WeasyPrint does not, so the text itself says where it may
# not break: a WORD JOINER between two characters of a run of Chinese, letters and
# digits. Lines then break only at spaces and punctuation (，。；：（）), or where a
# label holds a ZERO WIDTH SPACE on purpose.
WORD_JOINER = "\u2060"
_CJK = "\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff"
_JOINABLE = re.compile(f"(?<=[{_CJK}])(?=[{_CJK}A-Za-z0-9])|(?<=[{_CJK}A-Za-z0-9])(?=[{_CJK}])")


def keep_words(text: str) -> str:
    """`text` with a word joiner wherever a line must not break inside Chinese words
    (between two Chinese characters, or one and an adjacent letter or digit)."""
    return _JOINABLE.sub(WORD_JOINER, text)


def _finalize_zh(value: Any) -> Any:
    """Every value a Chinese template prints, its Chinese words kept whole on a line."""
    if isinstance(value, Markup):
        return Markup(keep_words(str(value)))
    if isinstance(value, str):
        return keep_words(value)
    return value


def sentence(text: str) -> str:
    """`text` starting a sentence: its first letter upper case, the rest as written
    (Jinja's `capitalize` lowers the rest: "No rm data")."""
    return text[:1].upper() + text[1:]


def page_footer(pattern: str) -> list[str]:
    """A "page {page} of {pages}" label split for a CSS `content:` value: text, counter
    name, text, counter name, text (a language may put {pages} first)."""
    return re.split(r"\{(pages?)\}", pattern)


def make_environment(
    locale: str, currency: str, template_dir: Path | None = None
) -> jinja2.Environment:
    """The environment every report renders with, its filters bound to one locale
    (templates: the package's unless a folder is given)."""
    env = jinja2.Environment(
        loader=jinja2.FileSystemLoader(str(template_dir or resources.template_dir())),
        autoescape=True,
        undefined=jinja2.StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
        keep_trailing_newline=True,
        finalize=_finalize_zh if language(locale) == "zh" else None,
        extensions=["jinja2.ext.i18n"],
    )
    env.install_gettext_translations(  # type: ignore[attr-defined]
        catalog(locale).translations, newstyle=False
    )
    env.filters.update(
        num=partial(format_num, locale=locale),
        pct=partial(format_pct, locale=locale),
        money=partial(format_money, locale=locale, currency=currency),
        delta=partial(format_delta, locale=locale, currency=currency),
        date=partial(format_date, locale=locale),
        month=partial(format_month, locale=locale),
        term=partial(term, locale),
        sentence=sentence,
    )
    env.globals.update(
        page_footer=page_footer(labels(locale)["page_x_of_y"]),
        locale=locale,
        chinese=language(locale) == "zh",  # Chinese column widths (partials/macros.html)
        currency=currency,
        currency_name=formats.currency_name(currency, locale),
        whole_table_rows=WHOLE_TABLE_ROWS,
    )
    return env


def script(static_dir: Path | None = None) -> Markup:
    """The reports' one script (sortable, filterable tables), inlined: it works offline
    and loads nothing. PDFs ignore it."""
    folder = static_dir or resources.static_dir()
    return Markup((folder / SCRIPT).read_text(encoding="utf-8"))


def stylesheet(static_dir: Path | None = None) -> Markup:
    """The report's own CSS, inlined into every page (trusted text, not escaped)."""
    folder = static_dir or resources.static_dir()
    parts = [(folder / name).read_text(encoding="utf-8") for name in STYLESHEETS]
    return Markup("\n".join(parts))
