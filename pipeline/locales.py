"""Locales and currencies as Babel (CLDR) knows them: what a config's `locale` and
`currency` may be. The report formats numbers, money and dates in any such locale
(pipeline.report.formats); its labels exist in a few (pipeline.report.i18n)."""

from __future__ import annotations

from functools import cache

from babel import Locale, UnknownLocaleError, numbers

from pipeline.errors import ConfigError


@cache
def babel_locale(name: str) -> Locale:
    """The Babel locale of a configured name (en, zh_CN, es_ES, cs-CZ ...); ConfigError
    naming the key when Babel does not know it."""
    try:
        return Locale.parse(str(name).replace("-", "_"))
    except (UnknownLocaleError, ValueError, TypeError):
        raise ConfigError(
            f"locale: {name!r} is not a locale Babel knows (e.g. en, zh_CN, es_ES, cs_CZ)"
        ) from None


def language(name: str) -> str:
    """The language part of a configured locale: zh_CN, zh-TW and zh_Hant_HK are "zh"."""
    return str(name).replace("-", "_").split("_")[0]


def check_currency(code: str) -> str:
    """An ISO 4217 code Babel knows, else ConfigError naming the key."""
    if not isinstance(code, str) or code not in numbers.list_currencies():
        raise ConfigError(f"currency: {code!r} is not an ISO 4217 currency code (e.g. CNY, EUR)")
    return code
