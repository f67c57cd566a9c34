"""What may be part of a file name: the one rule the catalog (before it hands out a path
built from data) and ingest (bounds.py, before such an id is accepted) both apply. Kept
apart from the catalog so that ingest's pure core can use it without reaching the edge.
"""

from __future__ import annotations

import re

MAX_NAME_BYTES = 200  # a file name (a prefix, an id or two, a suffix) stays under 255 bytes
_CONTROL = re.compile(r"[\x00-\x1f\x7f]")


def unsafe_name(text: str) -> str | None:
    """Why `text` cannot be part of a file name (None: it can)."""
    if not isinstance(text, str) or not text:
        return "it is empty"
    if "/" in text or "\\" in text:
        return "it holds a path separator"
    if ".." in text or text == ".":
        return "it holds '..'"
    if _CONTROL.search(text):
        return "it holds a control character"
    if len(text.encode("utf-8")) > MAX_NAME_BYTES:
        return f"it is longer than {MAX_NAME_BYTES} bytes"
    return None


def shared_name(named: dict[str, str]) -> tuple[str, str, str] | None:
    """Two of the things `named` (what each is -> its file name) that would write one file,
    and the name, or None. Ids joined by '-' can meet (branch B01 with RM RM9-X1, branch
    B01-RM9 with RM X1: calls-B01-RM9-X1.csv both), and names that differ only in case are
    one file on macOS and Windows."""
    seen: dict[str, str] = {}
    for what, name in named.items():
        key = name.casefold()
        if key in seen:
            return seen[key], what, name
        seen[key] = what
    return None
