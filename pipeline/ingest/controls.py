"""Whether a CSV file may hold a text value with a control character in it.

No id or code a bank exports holds a line break, a tab or another control character,
yet one arrives there whenever a quote is opened in one row and closed in the next: the
two rows are read as one, the second inside a value of the first, and nothing else
about the row looks wrong (a merged transaction type still casts as text). Such a value
is rejected (`control_character`, cast.py), so the merged row is quarantined with its
line rather than accepted with another row's values in it.

Looking for it costs a regular expression per text value -- about 2 s per column of 15M
rows -- so only files that may hold one are checked: a byte below 0x20 other than a line
break (and the separator, when it is a tab), DEL, or a line break inside quotes (quotes
counted from the start of the file: an odd count before it). The scan runs on the
blocks `rawtext.prepare` already reads; any doubt (a separator or quote of more than one
character, an escape that is not the quote doubled) checks the file.
"""

from __future__ import annotations

import numpy as np

LINE_BREAKS = b"\r\n"
CONTROL_PATTERN = "[\\x00-\\x1f\\x7f]"  # RE2, as cast.py checks a value


class ControlScan:
    """Fed a file's blocks in order; `finish()` says whether a value may hold a control
    character. A clean block costs a few vectorised counts (about 2 GB/s, beside the
    hash); only a block holding quotes is searched for line breaks inside them."""

    def __init__(self, separator: str, quote: str, escape: str):
        simple = len(separator) == 1 and len(quote) == 1 and escape == quote
        simple = simple and separator.isascii() and quote.isascii()
        self.found = not simple
        allowed = {*LINE_BREAKS, *([ord(separator)] if simple and ord(separator) < 0x20 else [])}
        self._allowed = sorted(allowed)  # bytes below 0x20 that are not values' characters
        self._quote = ord(quote) if simple else -1
        self._quoted = False  # an odd number of quotes so far: inside a quoted value

    def feed(self, block: bytes, newlines: int | None = None) -> None:
        """`newlines`: the block's b"\\n" bytes when the caller has counted them."""
        if self.found or not block:
            return
        a = np.frombuffer(block, dtype=np.uint8)
        low = np.count_nonzero(a < 0x20)
        allowed = 0 if newlines is None else newlines
        for b in self._allowed:
            if (newlines is None or b != 0x0A) and bytes([b]) in block:
                allowed += np.count_nonzero(a == b)
        if low != allowed or b"\x7f" in block:
            self.found = True
            return
        quotes = 0
        if self._quote >= 0 and bytes([self._quote]) in block:
            is_quote = a == self._quote
            quotes = int(np.count_nonzero(is_quote))
            at = np.flatnonzero(is_quote)
            breaks = np.flatnonzero((a == 0x0A) | (a == 0x0D))
            before = np.searchsorted(at, breaks) + self._quoted  # quotes before each break
            self.found = bool((before % 2 == 1).any())
        elif self._quoted and low:  # a value opened in an earlier block runs through this one
            self.found = True
        self._quoted = (quotes + self._quoted) % 2 == 1

    def finish(self) -> bool:
        return self.found
