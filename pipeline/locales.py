"""Locales and currencies as Babel (CLDR) knows them: what a config's `locale` and
`currency` may be. The report formats numbers, money and dates in any such locale
(pipeline.report.formats); its labels exist in a few (pipeline.report.i18n)."""

from __future__ import annotations

import re
from functools import cache

from babel import Locale, UnknownLocaleError, numbers

from pipeline.errors import ConfigError

# How a locale is written wherever it names something (a report folder, a catalog):
# language in lower case, then its region or script (en, zh_CN, es_ES, zh_Hant).
LOCALE_NAME = re.compile(r"^[a-z]{2,3}(_[A-Z][A-Za-z]{1,3})?$")


def check_locale(name: str) -> Locale:
    """A locale as a config or --locale gives it: written as LOCALE_NAME says (Babel would
    take "ZH_cn", but the report's folder and catalog are zh_CN) and known to Babel;
    ConfigError naming the key, with the spelling meant, otherwise."""
    if not isinstance(name, str) or not LOCALE_NAME.match(name):
        parts = str(name).replace("-", "_").split("_")
        meant = "_".join([parts[0].lower(), *(p.upper() for p in parts[1:2])])
        raise ConfigError(
            f"locale: {name!r}: write a locale as language_REGION, language in lower case "
            f"and region in upper case ({meant!r}?), e.g. en, zh_CN, es_ES"
        )
    return babel_locale(name)


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
