"""HTML to PDF with WeasyPrint: print CSS gives the cover, TOC page numbers, running
headers and "page x of y"; the fonts used are embedded (subset) in the PDF.

Same HTML, same bytes: fontTools stamps each embedded font subset with the current
time unless SOURCE_DATE_EPOCH is set, so the PDF is written with it set to the
period's as-of date (and the previous value restored).

The page is self-contained (styles inline, charts as data URIs, fonts from the system),
so it has no base URL: a link to a sibling report (the network report's links to the
branches) stays relative in the PDF, and opens the file beside it wherever the reports
are copied. With a base URL WeasyPrint would write it as an absolute file:// address
under that folder -- a dead link, and a PDF whose bytes depend on where the code lives.
"""

from __future__ import annotations

import os
from datetime import UTC, date, datetime


def epoch_of(day: date) -> int:
    """Seconds since 1970 at midnight UTC of `day`."""
    return int(datetime(day.year, day.month, day.day, tzinfo=UTC).timestamp())


def html_to_pdf(html: str, as_of: date) -> bytes:
    """The PDF bytes of a self-contained report page, reproducible for a given as_of."""
    from weasyprint import HTML

    previous = os.environ.get("SOURCE_DATE_EPOCH")
    os.environ["SOURCE_DATE_EPOCH"] = str(epoch_of(as_of))
    try:
        return HTML(string=html).write_pdf()
    finally:
        if previous is None:
            del os.environ["SOURCE_DATE_EPOCH"]
        else:
            os.environ["SOURCE_DATE_EPOCH"] = previous
