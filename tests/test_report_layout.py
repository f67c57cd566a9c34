"""The printed pages of the sample bank's reports, in both locales: nothing runs out of its
cell or off the page, nothing is drawn over anything else, the running header names the
section at the top of each page, no table head is hyphenated, and no page is less than
half full unless a part of the report ends on it -- checked on WeasyPrint's layout and,
for how full a page is, on the PDF's pages rendered to PNG."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
import report_layout as rl

from pipeline.catalog import Catalog
from pipeline.config import load_config
from pipeline.report import fonts
from pipeline.report.stage import run_report

pytestmark = pytest.mark.slow
REPORTS = ("branch-B01", "branch-B02", "network")


@pytest.fixture(scope="module")
def folders(sample_bank_run, tmp_path_factory) -> dict[str, Path]:
    """The run's English reports, and the same period's Chinese ones beside a copy."""
    out = {"en": sample_bank_run.report_dir / "build" / sample_bank_run.period / "en"}
    if fonts.find_cjk_font() is not None:
        root = tmp_path_factory.mktemp("zh_reports")
        cfg = load_config(
            data_dir=sample_bank_run.data_dir,
            report_dir=root,
            overrides={"locale": "zh_CN", "report.workers": 2},
        )
        run_report(cfg, Catalog(sample_bank_run.data_dir, root), sample_bank_run.period)
        out["zh_CN"] = root / "build" / sample_bank_run.period / "zh_CN"
    return out


@pytest.fixture(scope="module")
def laid_out(folders) -> dict[tuple[str, str], list[rl.PageLayout]]:
    return {
        (locale, name): rl.layout((folder / f"{name}.html").read_text(encoding="utf-8"))
        for locale, folder in folders.items()
        for name in REPORTS
    }


def _clean(text: str) -> str:
    return text.replace(rl.WORD_JOINER, "")


@pytest.mark.parametrize("locale", ["en", "zh_CN"])
@pytest.mark.parametrize("name", REPORTS)
def test_nothing_overflows_its_cell_or_the_page_or_overlaps(laid_out, locale, name):
    if (locale, name) not in laid_out:
        pytest.skip("no CJK font installed")
    for page in laid_out[(locale, name)]:
        assert rl.overflowing(page) == [], (page.number, rl.overflowing(page)[:3])
        assert rl.outside(page) == [], (page.number, rl.outside(page)[:3])
        assert rl.overlapping(page) == [], (page.number, rl.overlapping(page)[:3])


@pytest.mark.parametrize("locale", ["en", "zh_CN"])
@pytest.mark.parametrize("name", REPORTS)
def test_running_headers_name_the_section_on_the_page(laid_out, locale, name):
    if (locale, name) not in laid_out:
        pytest.skip("no CJK font installed")
    pages = laid_out[(locale, name)]
    expected = rl.section_at_top(pages)
    for page in pages[1:]:
        assert _clean(page.running) == _clean(expected[page.number]), page.number
        assert page.running, page.number
    assert rl.hyphenated_headings(pages) == []


@pytest.mark.parametrize("locale", ["en", "zh_CN"])
@pytest.mark.parametrize("name", REPORTS)
def test_no_page_is_less_than_half_full_unless_a_part_ends_on_it(
    folders, laid_out, tmp_path, locale, name
):
    if (locale, name) not in laid_out:
        pytest.skip("no CJK font installed")
    if shutil.which("pdftoppm") is None:
        pytest.skip("pdftoppm (poppler-utils) not installed")
    pages = laid_out[(locale, name)]
    ends = rl.part_ends(pages)
    images = rl.rendered_pages(folders[locale] / f"{name}.pdf", tmp_path)
    assert len(images) == len(pages)  # the PDF is the layout checked here
    for page, image in zip(pages, images, strict=True):
        if page.number in ends:
            continue
        assert rl.fill(page) >= 0.5, (page.number, rl.fill(page))
        assert rl.ink_fill(image) >= 0.5, (page.number, rl.ink_fill(image))
    # and the checks see ink where there is some: the first page is well over half full
    assert rl.ink_fill(images[0]) > 0.5 and rl.fill(pages[0]) > 0.5
