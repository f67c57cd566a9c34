"""The reports' words as gettext message catalogs: one `.po` file per language.

`reports/locales/<locale>/LC_MESSAGES/messages.po` holds every word a report shows in
that language; `reports/locales/messages.pot` is the same list with empty texts, the
file a translator copies to start a language. The set of languages is the set of
folders holding a catalog (English first), so a new language is a new folder with one
file and no code.

Message ids are symbolic, not English: msgid `sec_kpis` is the KPI section's title in
every catalog, English included, so rewording English changes no id. Placeholders are
str.format fields (`{name}`), filled by the caller; a language may use any field the
English entry's comment names (a currency's name where English writes its code).
Namespaces are msgctxt: report labels have none, display names of configured terms
"term", and the vocabulary of the data "feature", "reason", "data_quality" and "column".

Catalogs are read with Babel and compiled in memory into `babel.support.Translations`
(a gettext.GNUTranslations) once per process; nothing is compiled at build time. An id
a catalog lacks -- or holds only as fuzzy or empty -- is an error naming the id and the
file, never shown as the id itself (the templates' StrictUndefined guarantee, kept).
"""

from __future__ import annotations

import gettext
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from functools import cache
from io import BytesIO
from pathlib import Path

from babel.messages.catalog import Catalog
from babel.messages.mofile import write_mo
from babel.messages.pofile import read_po
from babel.support import Translations

from pipeline import resources

DOMAIN = "messages"
SOURCE_LOCALE = "en"
TEMPLATE = f"{DOMAIN}.pot"
TERM, FEATURE, REASON, DATA_QUALITY, COLUMN = "term", "feature", "reason", "data_quality", "column"


class MissingMessageError(KeyError):
    """A message id the catalog does not hold (or holds only fuzzy or empty)."""

    def __str__(self) -> str:
        return str(self.args[0])


def catalog_path(locale: str, folder: Path | None = None) -> Path:
    """Where a locale's catalog lives (under the package's locales unless a folder is given)."""
    return (folder or resources.locale_dir()) / locale / "LC_MESSAGES" / f"{DOMAIN}.po"


def catalog_locales(folder: Path | None = None) -> tuple[str, ...]:
    """The locales with a catalog in `folder`: English first, then the rest sorted."""
    root = folder or resources.locale_dir()
    found = sorted(p.name for p in root.iterdir() if catalog_path(p.name, root).is_file())
    return tuple(sorted(found, key=lambda loc: loc != SOURCE_LOCALE))


def read_catalog(path: Path) -> Catalog:
    """A .po or .pot file as Babel reads it."""
    with path.open("rb") as fh:
        return read_po(fh, domain=DOMAIN)


def _missing(path: Path, message: str, context: str | None) -> MissingMessageError:
    where = f"msgctxt {context!r} " if context else ""
    return MissingMessageError(
        f"no text for {where}msgid {message!r} in {path} "
        "(missing, empty or fuzzy: add it to every catalog)"
    )


class _Raise(gettext.NullTranslations):
    """The last fallback of a catalog: every lookup that reaches it is an error."""

    def __init__(self, path: Path) -> None:
        super().__init__()
        self.path = path

    def gettext(self, message: str) -> str:
        raise _missing(self.path, message, None)

    def pgettext(self, context: str, message: str) -> str:
        raise _missing(self.path, message, context)

    def ngettext(self, msgid1: str, msgid2: str, n: int) -> str:
        raise _missing(self.path, msgid1, None)

    def npgettext(self, context: str, msgid1: str, msgid2: str, n: int) -> str:
        raise _missing(self.path, msgid1, context)


class Messages(Mapping[str, str]):
    """One namespace (msgctxt) of one catalog as a read-only mapping id -> text; an
    unknown id raises MissingMessageError (a KeyError: `.get` and `in` work)."""

    def __init__(self, texts: dict[str, str], path: Path, context: str | None) -> None:
        self._texts, self.path, self.context = texts, path, context

    def __getitem__(self, message: str) -> str:
        try:
            return self._texts[message]
        except KeyError:
            raise _missing(self.path, message, self.context) from None

    def __iter__(self) -> Iterator[str]:
        return iter(self._texts)

    def __len__(self) -> int:
        return len(self._texts)


@dataclass(frozen=True)
class Loaded:
    """A locale's catalog read once: its gettext translations and its texts by context."""

    path: Path
    translations: Translations
    texts: dict[str | None, Messages]

    def messages(self, context: str | None = None) -> Messages:
        return self.texts.get(context) or Messages({}, self.path, context)


def compile_catalog(path: Path) -> Loaded:
    """Read a .po and compile it in memory; fuzzy and empty entries are left out, so a
    lookup of them raises like a lookup of an id that is not there."""
    catalog = read_catalog(path)
    buffer = BytesIO()
    write_mo(buffer, catalog, use_fuzzy=False)
    buffer.seek(0)
    translations = Translations(buffer, domain=DOMAIN)
    translations.add_fallback(_Raise(path))
    by_context: dict[str | None, dict[str, str]] = {}
    for message in catalog:
        if message.id and isinstance(message.id, str) and message.string and not message.fuzzy:
            by_context.setdefault(message.context, {})[message.id] = str(message.string)
    texts = {ctx: Messages(t, path, ctx) for ctx, t in by_context.items()}
    return Loaded(path, translations, texts)


@cache
def load(locale: str) -> Loaded:
    """The package's catalog of one locale (a name catalog_locales lists), read once."""
    path = catalog_path(locale)
    if not path.is_file():
        raise FileNotFoundError(f"no message catalog for locale {locale!r} at {path}")
    return compile_catalog(path)
