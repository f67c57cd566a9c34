"""The reports' message catalogs (reports/locales/): every language holds every message
English holds and nothing else, with English's placeholders (or the fields its comment
names); every id a template asks for
exists; an id a catalog lacks is an error, not text; a new language is a new folder."""

from __future__ import annotations

import re
import shutil
from pathlib import Path

import pytest
from babel import Locale
from jinja2.ext import babel_extract
from markupsafe import escape

from pipeline import resources
from pipeline.report import catalogs
from pipeline.report.catalogs import MissingMessageError, catalog_locales, compile_catalog
from pipeline.report.environment import make_environment, page_footer
from pipeline.report.i18n import LOCALES, label_locale, labels, locale_names, term

PLACEHOLDER = re.compile(r"{(\w*)}")


def entries(path: Path) -> dict[tuple[str | None, str], str]:
    """(msgctxt, msgid) -> msgstr of every message of a .po or .pot (not the header)."""
    return {(m.context, m.id): m.string for m in catalogs.read_catalog(path) if m.id}


def template_ids() -> set[str]:
    """The constant message ids the templates pass to `_()`, found by Jinja's Babel
    extractor (ids built at render time, `_("rag_" ~ k.status)`, are the render tests')."""
    found = set()
    for template in resources.template_dir().rglob("*.html"):
        with template.open("rb") as fh:
            for _, _, message, _ in babel_extract(fh, ("_",), [], {}):
                if isinstance(message, str):
                    found.add(message)
    return found


EN = entries(catalogs.catalog_path("en"))


def test_the_locales_are_the_folders_english_first():
    assert catalog_locales() == ("en", "zh_CN")


@pytest.mark.parametrize("locale", LOCALES)
def test_every_catalog_holds_exactly_englishs_messages_with_text(locale):
    catalog = catalogs.read_catalog(catalogs.catalog_path(locale))
    assert catalog.locale == Locale.parse(locale)
    found = entries(catalogs.catalog_path(locale))
    assert found.keys() == EN.keys()
    assert [m.id for m in catalog if m.id and (m.fuzzy or not m.string.strip())] == []
    assert not catalog.obsolete


def fields(path: Path) -> dict[tuple[str | None, str], set[str]]:
    """The placeholders each message's translator comment names: fields a language may
    use where English uses others (a currency's name where English writes its code)."""
    return {
        (m.context, m.id): set(PLACEHOLDER.findall(" ".join(m.auto_comments)))
        for m in catalogs.read_catalog(path)
        if m.id
    }


@pytest.mark.parametrize("locale", LOCALES)
def test_every_text_has_englishs_placeholders(locale):
    found = entries(catalogs.catalog_path(locale))
    named = fields(catalogs.catalog_path("en"))

    def fits(key: tuple[str | None, str], text: str) -> bool:
        """English's placeholders, or -- where English's comment names the fields -- any
        of those fields."""
        used, english = set(PLACEHOLDER.findall(text)), set(PLACEHOLDER.findall(EN[key]))
        return used == english or bool(named[key]) and used <= english | named[key]

    differ = [key for key, text in found.items() if not fits(key, text)]
    assert differ == []
    # the language's own choice: the axis names the currency, English gives its code
    assert named[(None, "chart_millions_axis")] == {"code", "name"}
    # the placeholders are there to fill: the texts use them
    assert set(PLACEHOLDER.findall(found[(None, "amounts_in")])) == {"name", "code"}


def test_the_template_a_translator_copies_lists_englishs_ids_without_text():
    template = entries(resources.locale_dir() / catalogs.TEMPLATE)
    assert template.keys() == EN.keys()
    assert set(template.values()) == {""}


@pytest.mark.parametrize("locale", LOCALES)
def test_every_label_a_template_asks_for_is_in_every_catalog(locale):
    ids = template_ids()
    assert {"cover_note", "amounts_in", "html_lang", "confidential"} <= ids
    assert ids - set(labels(locale)) == set()
    # nothing in a template reads labels the old way
    for template in resources.template_dir().rglob("*.html"):
        assert not re.search(r"[{(\s]t[.\[]", template.read_text(encoding="utf-8")), template


def test_an_unknown_id_is_an_error_naming_it_and_the_file():
    path = catalogs.catalog_path("zh_CN")
    with pytest.raises(MissingMessageError, match=rf"'no_such_label' in {re.escape(str(path))}"):
        labels("zh_CN")["no_such_label"]
    with pytest.raises(MissingMessageError, match="no_such_label"):
        catalogs.load("en").translations.gettext("no_such_label")
    env = make_environment("zh_CN", "CNY")
    with pytest.raises(MissingMessageError, match="no_such_label"):
        env.from_string('{{ _("no_such_label") }}').render()
    assert env.from_string('{{ _("sec_kpis") }}').render() == "核\u2060心\u2060指\u2060标"
    # a label is plain text: autoescape escapes it like any value
    shown = make_environment("en", "CNY").from_string('{{ _("alpha") }}').render()
    assert shown == "Cronbach&#39;s alpha" == str(escape(labels("en")["alpha"]))
    # configured names a catalog does not know are shown as configured
    assert term("zh_CN", "Gold tier") == "Gold tier"


def test_every_chinese_locale_keeps_its_words_whole_and_others_are_left_alone():
    for locale in ("zh_CN", "zh_TW", "zh-Hant-HK"):
        shown = make_environment(locale, "CNY").from_string("{{ '贵宾客户' }}").render()
        assert shown == "贵\u2060宾\u2060客\u2060户", locale
    assert make_environment("ja_JP", "JPY").from_string("{{ '顧客' }}").render() == "顧客"
    # and gets the tables' Chinese column widths
    assert make_environment("zh_TW", "TWD").globals["chinese"] is True
    assert make_environment("en_GB", "GBP").globals["chinese"] is False


def test_fuzzy_and_empty_entries_count_as_missing(tmp_path):
    po = tmp_path / "messages.po"
    po.write_text(
        'msgid ""\nmsgstr ""\n"Content-Type: text/plain; charset=utf-8\\n"\n\n'
        'msgid "done"\nmsgstr "Done"\n\n'
        '#, fuzzy\nmsgid "guessed"\nmsgstr "Guessed"\n\n'
        'msgid "empty"\nmsgstr ""\n\n'
        'msgctxt "term"\nmsgid "mass"\nmsgstr "Mass"\n',
        encoding="utf-8",
    )
    loaded = compile_catalog(po)
    assert loaded.translations.gettext("done") == "Done"
    assert loaded.translations.pgettext("term", "mass") == "Mass"
    assert dict(loaded.messages()) == {"done": "Done"}
    for missing in ("guessed", "empty", "mass"):
        with pytest.raises(MissingMessageError, match=missing):
            loaded.translations.gettext(missing)
        with pytest.raises(MissingMessageError, match=missing):
            loaded.messages()[missing]
    with pytest.raises(MissingMessageError, match="msgctxt 'term' msgid 'done'"):
        loaded.translations.pgettext("term", "done")


def test_a_new_language_is_a_new_folder(tmp_path):
    root = tmp_path / "locales"
    shutil.copytree(resources.locale_dir(), root)
    assert catalog_locales(root) == ("en", "zh_CN")
    french = catalogs.catalog_path("fr", root)
    french.parent.mkdir(parents=True)
    shutil.copy(resources.locale_dir() / catalogs.TEMPLATE, french)
    (root / "de").mkdir()  # a folder without a catalog is not a language
    assert catalog_locales(root) == ("en", "fr", "zh_CN")
    # the copied template has every id and no text yet: every lookup says so
    with pytest.raises(MissingMessageError, match="sec_kpis"):
        compile_catalog(french).translations.gettext("sec_kpis")


def test_languages_name_themselves_and_fall_back_by_language():
    assert locale_names() == {
        "en": {"name": "English", "lang": "en"},
        "zh_CN": {"name": "简体中文", "lang": "zh-CN"},
    }
    assert label_locale("zh_TW") == "zh_CN" and label_locale("en_GB") == "en"
    assert label_locale("fr_FR") == "en"
    # a locale without a catalog of its own still has its own name (the links between a
    # period's languages), from Babel
    assert locale_names(["es_ES", "zh_TW"]) == {
        "es_ES": {"name": "español (España)", "lang": "es-ES"},
        "zh_TW": {"name": "中文 (繁體, 台灣)", "lang": "zh-Hant-TW"},
    }


def test_the_pdf_footer_splits_its_pattern_into_text_and_counters():
    assert page_footer(labels("en")["page_x_of_y"]) == ["Page ", "page", " of ", "pages", ""]
    assert page_footer("{pages} pp., p. {page}") == ["", "pages", " pp., p. ", "page", ""]
