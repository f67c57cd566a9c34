"""HTML to PDF with WeasyPrint: print CSS gives the cover, TOC page numbers, running
headers and "page x of y"; fonts used are embedded (subset) in the PDF."""

from __future__ import annotations

from pathlib import Path

from pipeline.report.environment import STATIC_DIR


def html_to_pdf(html: str, base_url: Path = STATIC_DIR) -> bytes:
    """The PDF bytes of a self-contained report page."""
    from weasyprint import HTML

    return HTML(string=html, base_url=str(base_url)).write_pdf()
