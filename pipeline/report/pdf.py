"""HTML to PDF with WeasyPrint: print CSS gives the cover, TOC page numbers, running
headers and "page x of y"; the fonts used are embedded (subset) in the PDF.

Same HTML, same bytes: fontTools stamps each embedded font subset with the current
time unless SOURCE_DATE_EPOCH is set, so the PDF is written with it set to the
period's as-of date (and the previous value restored).
"""

from __future__ import annotations

import os
from datetime import UTC, date, datetime
from pathlib import Path

from pipeline.resources import static_dir


def epoch_of(day: date) -> int:
    """Seconds since 1970 at midnight UTC of `day`."""
    return int(datetime(day.year, day.month, day.day, tzinfo=UTC).timestamp())


def html_to_pdf(html: str, as_of: date, base_url: Path | None = None) -> bytes:
    """The PDF bytes of a self-contained report page, reproducible for a given as_of
    (relative URLs resolve against base_url, by default the package's static folder)."""
    base_url = base_url or static_dir()
    from weasyprint import HTML

    previous = os.environ.get("SOURCE_DATE_EPOCH")
    os.environ["SOURCE_DATE_EPOCH"] = str(epoch_of(as_of))
    try:
        return HTML(string=html, base_url=str(base_url)).write_pdf()
    finally:
        if previous is None:
            del os.environ["SOURCE_DATE_EPOCH"]
        else:
            os.environ["SOURCE_DATE_EPOCH"] = previous
