"""Whether a CSV file may hold a value with a space at either end (one that needs trim).

Trimming every value in SQL is about half of what casting a file costs (a CASE per value
that copies the strings it keeps), yet most exports hold no padded value at all. A value
starts or ends with a space only where a space touches a field boundary: the separator,
the quote, a line break, or the start or end of the file. trim() removes the ASCII space
and the Unicode space characters (U+00A0, U+3000, ...) but not tabs; the Unicode ones are
never ASCII, so a file that is pure ASCII and has no space next to a boundary needs no
trim, exactly.
The scan runs on the blocks `rawtext.prepare` already reads for the file's hash; a space
inside a quoted value that happens to sit next to a separator only sends the file down
the trimming path (slower, same result), never the other way.
"""

from __future__ import annotations

import numpy as np

SPACE = 0x20
LINE_BREAKS = "\r\n"


class PaddingScan:
    """Fed a file's blocks in order; `padded` says whether trim may change any value."""

    def __init__(self, separator: str, quote: str):
        marks = separator + quote + LINE_BREAKS
        self.padded = " " in marks or not marks.isascii()  # cannot tell: always trim
        self._edges = np.zeros(256, dtype=bool)
        self._edges[list(marks.encode("ascii", errors="ignore"))] = True
        self._before = ord("\n")  # the file's start bounds its first field
        self._open = False  # the last block ended with a space: its next byte decides

    def feed(self, block: bytes) -> None:
        if self.padded or not block:
            return
        if not block.isascii():  # Unicode spaces are trimmed too: cannot tell cheaply
            self.padded = True
            return
        a = np.frombuffer(block, dtype=np.uint8)
        if self._open and self._edges[a[0]]:
            self.padded = True
            return
        at = np.flatnonzero(a == SPACE)
        self._open = bool(len(at)) and at[-1] == len(a) - 1
        if len(at):
            left = a[at - 1]  # at 0 this wraps round; the previous block's byte is used
            if at[0] == 0:
                left[0] = self._before
            right = a[np.minimum(at + 1, len(a) - 1)]
            if self._open:  # the next block's first byte, checked on the next feed
                right[-1] = SPACE
            self.padded = bool(self._edges[left].any() or self._edges[right].any())
        self._before = int(a[-1])

    def finish(self) -> bool:
        """Whether the file may hold a padded value (a space at its very end is one)."""
        return self.padded or self._open
