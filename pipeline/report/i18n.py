"""Report labels in every language that has a message catalog: one template structure,
one vocabulary per language.

The words themselves live in gettext catalogs (catalogs.py, reports/locales/): a label
is a symbolic message id (`sec_kpis`) with no context, a configured term's display name
an id in context "term". Templates call `_("sec_kpis")`; Python reads `labels(locale)`,
a read-only mapping from the same catalog. Both raise on an id the catalog lacks, so a
missing label fails the render instead of printing its id. Terms from configuration
(tier names, RFM segments, products) are translated where the name is a known default
and shown as configured otherwise.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from pipeline.locales import babel_locale, language
from pipeline.report import catalogs
from pipeline.report.catalogs import Messages

LOCALES: tuple[str, ...] = catalogs.catalog_locales()


def label_locale(locale: str) -> str:
    """The label set a configured locale reads: its own, else its language's (zh_TW and
    zh_Hans read zh_CN, en_GB reads en), else English. Numbers and dates follow the
    configured locale itself (formats.py)."""
    name = str(locale).replace("-", "_")
    if name in LOCALES:
        return name
    return next((known for known in LOCALES if language(known) == language(name)), "en")


def locale_name(locale: str) -> dict[str, str]:
    """A locale's name in its own language and its HTML lang code: its catalog's words
    when it has a catalog of its own, else Babel's (es_ES, which reads English labels,
    is still "español (España)", lang es-ES)."""
    if label_locale(locale) == locale:
        words = labels(locale)
        return {"name": words["language_name"], "lang": words["html_lang"]}
    known = babel_locale(locale)
    return {"name": known.get_display_name(known) or locale, "lang": str(known).replace("_", "-")}


def locale_names(locales: Iterable[str] = LOCALES) -> dict[str, dict[str, str]]:
    """Each locale's name in its own language, and its HTML lang code (locale_name)."""
    return {loc: locale_name(loc) for loc in locales}


def catalog(locale: str) -> catalogs.Loaded:
    """The catalog a locale reads its words from (label_locale's)."""
    return catalogs.load(label_locale(locale))


def labels(locale: str) -> Messages:
    """The label set a locale reads (label_locale), read-only; an unknown key raises."""
    return catalog(locale).messages()


def vocabulary(locale: str, context: str) -> Messages:
    """One namespace of the catalog a locale reads: "term", "feature", "reason", ..."""
    return catalog(locale).messages(context)


def term(locale: str, name: Any) -> str:
    """Display form of a configured or data-borne name (tier, segment, product, band)."""
    text = str(name)
    return vocabulary(locale, catalogs.TERM).get(text, text)
