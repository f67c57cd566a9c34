"""Which raw text a reject may keep: only what the source config says may be read.

A rejected row's `raw` text lets the data team find and fix it in the export. A row
that casts keeps only its mapped columns' values (cast.py); a row DuckDB could not split
into columns (a malformed, ragged row) is one line of text in which no value can be told
from its neighbours. Its text is kept only when every column of the file is one the
source config maps onto a canonical column or lists under `pii.safe`; otherwise a column
the config never mentions -- `full_name`, `id_no`, `mobile` under headers nobody
declared as PII -- could be stored verbatim in interim/rejects/ and interim/parts/, so
the text is withheld and the reject says which columns withheld it.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from pipeline.ingest.source import SourceConfig, TableSpec

MAX_NAMED = 5  # columns named in the placeholder text


def readable_columns(source: SourceConfig, spec: TableSpec | None) -> set[str]:
    """Source columns whose text may be kept: mapped (PII masks excepted) or safe."""
    readable = set(source.pii_safe)
    if spec is not None:
        for canonical, sources in spec.columns.items():
            if not canonical.endswith("_masked"):
                readable.update(sources)
    return readable - source.pii_source_columns


def withheld_text(headers: Iterable[str], readable: set[str]) -> str | None:
    """The placeholder that replaces a malformed row's text (None: the text may be kept)."""
    unread = sorted({h.strip() for h in headers} - readable)
    if not unread:
        return None
    named = ", ".join(unread[:MAX_NAMED]) + (", ..." if len(unread) > MAX_NAMED else "")
    return f"<withheld: the file holds columns not mapped or listed under pii.safe: {named}>"
