"""What a report's pages look like once laid out, for the layout tests: where each piece
of text landed, which part of the report each page belongs to, what the running header
says, how full each page is. From WeasyPrint's own layout of the HTML (the same layout
its PDF is drawn from) and, for ink, from the PDF's pages rendered to PNG by pdftoppm.
"""

from __future__ import annotations

import re
import subprocess
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

WORD_JOINER = "\u2060"
TOLERANCE = 0.6  # points: text may touch its cell's edge


@dataclass
class Text:
    text: str
    x0: float
    y0: float
    x1: float
    y1: float
    cell: tuple[float, float] | None  # the table cell's horizontal border box
    heading: bool  # inside a table head cell


@dataclass
class PageLayout:
    number: int  # 1-based
    parts: list[int] = field(default_factory=list)  # the parts on the page, in order
    texts: list[Text] = field(default_factory=list)
    headings: list[tuple[float, str]] = field(default_factory=list)  # h2: (y, text)
    running: str = ""  # the top-right margin box's text
    top: float = 0.0  # content area
    height: float = 0.0
    left: float = 0.0
    right: float = 0.0
    bottom_of_content: float = 0.0
    top_of_content: float | None = None  # where the first text or picture starts


def _classes(box) -> set[str]:
    element = getattr(box, "element", None)
    if element is None or not hasattr(element, "get"):
        return set()
    return set((element.get("class") or "").split())


def _text_of(box) -> str:
    from weasyprint.formatting_structure import boxes

    if isinstance(box, boxes.TextBox):
        return box.text
    return "".join(_text_of(c) for c in getattr(box, "children", []))


def layout(html: str) -> list[PageLayout]:
    """Every page of the report as WeasyPrint lays it out (for print)."""
    from weasyprint import HTML

    document = HTML(string=html).render()
    parts: dict[int, int] = {}  # the part elements, numbered in document order
    return [
        page_layout(page._page_box, number, parts)
        for number, page in enumerate(document.pages, start=1)
    ]


def page_layout(root, number: int, parts: dict[int, int]) -> PageLayout:
    """One laid-out page: its parts, texts (with their table cells), headings and
    running header, and how far its content reaches."""
    from weasyprint.formatting_structure import boxes

    info = PageLayout(
        number,
        top=root.content_box_y(),
        height=root.height,
        left=root.content_box_x(),
        right=root.content_box_x() + root.width,
        bottom_of_content=root.content_box_y(),
    )

    def seen(y0: float, y1: float) -> None:
        info.bottom_of_content = max(info.bottom_of_content, y1)
        if info.top_of_content is None or y0 < info.top_of_content:
            info.top_of_content = y0

    def walk(box, cell, heading):
        classes = _classes(box)
        tag = getattr(box, "element_tag", "")
        if "part" in classes:
            part = parts.setdefault(id(box.element), len(parts))
            if not info.parts or info.parts[-1] != part:
                info.parts.append(part)
        if isinstance(box, boxes.MarginBox):
            if box.at_keyword == "@top-right":
                info.running = _text_of(box).strip()
            return
        if isinstance(box, boxes.TableCellBox):
            cell = (box.border_box_x(), box.border_box_x() + box.border_width())
            heading = tag == "th" and heading
        if tag == "thead":
            heading = True
        if tag == "h2" and "section-title" in classes:
            info.headings.append((box.position_y, _text_of(box).strip()))
        if isinstance(box, boxes.TextBox) and box.text.strip():
            x1, y1 = box.position_x + box.width, box.position_y + box.height
            info.texts.append(Text(box.text, box.position_x, box.position_y, x1, y1, cell, heading))
            seen(box.position_y, y1)
        if isinstance(box, boxes.ReplacedBox):
            seen(box.position_y, box.position_y + box.margin_height())
        for child in getattr(box, "children", []):
            walk(child, cell, heading)

    walk(root, None, False)
    return info


def overflowing(page: PageLayout) -> list[Text]:
    """Text that runs out of its table cell (into the next one)."""
    return [
        t
        for t in page.texts
        if t.cell is not None and (t.x1 > t.cell[1] + TOLERANCE or t.x0 < t.cell[0] - TOLERANCE)
    ]


def outside(page: PageLayout) -> list[Text]:
    """Text beyond the page's content area, left or right (a table wider than the page)."""
    return [t for t in page.texts if t.x1 > page.right + TOLERANCE or t.x0 < page.left - TOLERANCE]


def overlapping(page: PageLayout) -> list[tuple[Text, Text]]:
    """Pairs of pieces of text drawn over each other."""
    found = []
    texts = sorted(page.texts, key=lambda t: (t.y0, t.x0))
    for i, a in enumerate(texts):
        for b in texts[i + 1 :]:
            if b.y0 >= a.y1 - TOLERANCE:
                break
            if b.x0 < a.x1 - TOLERANCE and a.x0 < b.x1 - TOLERANCE and b.y0 < a.y1 - TOLERANCE:
                found.append((a, b))
    return found


def fill(page: PageLayout) -> float:
    """How far down its content area the page's content reaches (0-1)."""
    return (page.bottom_of_content - page.top) / page.height


def part_ends(pages: list[PageLayout]) -> set[int]:
    """Page numbers on which a part ends: the next page opens another part (or none)."""
    ends = set()
    for page, following in zip(pages, pages[1:], strict=False):
        if not following.parts or not page.parts or following.parts[0] != page.parts[-1]:
            ends.add(page.number)
    ends.add(pages[-1].number)
    return ends


def section_at_top(pages: list[PageLayout]) -> dict[int, str]:
    """Per page, the section running at its top: the one whose heading opens the page,
    else the last heading before it."""
    out, current = {}, ""
    for page in pages:
        first = page.top_of_content if page.top_of_content is not None else page.top
        opening = [h for y, h in page.headings if y <= first + 1.0]
        out[page.number] = opening[0] if opening else current
        if page.headings:
            current = page.headings[-1][1]
    return out


def hyphenated_headings(pages: list[PageLayout]) -> list[str]:
    """Words of table heads broken with a hyphen at a line end ("Re-" / "jected")."""
    return [t.text for p in pages for t in p.texts if t.heading and t.text.rstrip().endswith("-")]


CJK = re.compile(r"[\u3400-\u4dbf\u4e00-\u9fff]")
UNJOINED = re.compile(
    r"[\u3400-\u4dbf\u4e00-\u9fff](?=[\u3400-\u4dbf\u4e00-\u9fffA-Za-z0-9])"
    r"|[A-Za-z0-9](?=[\u3400-\u4dbf\u4e00-\u9fff])"
)


def rendered_pages(pdf: Path, out: Path, dpi: int = 40) -> list[np.ndarray]:
    """The PDF's pages as grey images (0 black - 1 white), through pdftoppm."""
    command = ["pdftoppm", "-r", str(dpi), "-gray", "-png", str(pdf), str(out / "page")]
    subprocess.run(command, check=True)
    from PIL import Image

    files = sorted(out.glob("page*.png"), key=lambda p: int(re.findall(r"\d+", p.stem)[-1]))
    return [np.asarray(Image.open(f), dtype=float) / 255.0 for f in files]


def ink_fill(image: np.ndarray, top_mm: float = 20, bottom_mm: float = 18) -> float:
    """How far down the page's body (between the top and bottom margins of an A4 page)
    the last dark pixel row reaches (0-1)."""
    height = image.shape[0]
    per_mm = height / 297.0
    top, bottom = int(top_mm * per_mm), int(height - bottom_mm * per_mm)
    body = image[top:bottom]
    rows = np.flatnonzero((body < 0.75).any(axis=1))
    return 0.0 if rows.size == 0 else (rows[-1] + 1) / body.shape[0]
