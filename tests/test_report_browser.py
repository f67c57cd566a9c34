"""A branch report in a real browser (headless Chromium, Debian's `chromium` package, which
scripts/install_system_packages.sh installs where it can): the tables sort by a click,
numbers as numbers, the filter keeps the rows that match, a chart shows a value under
the mouse, and a screenshot of the page is saved. Skipped where there is no Chromium."""

from __future__ import annotations

import numpy as np
import pytest
from browser import Browser, find_chromium
from PIL import Image
from test_report_fixtures import PERIOD, make_bank

from pipeline.report.stage import run_report

pytestmark = pytest.mark.slow
EXECUTABLE = find_chromium()


@pytest.fixture(scope="module")
def page(tmp_path_factory):
    if EXECUTABLE is None:
        pytest.skip("no Chromium on this machine (Debian: apt-get install chromium)")
    cfg, catalog = make_bank(tmp_path_factory.mktemp("browser-bank"))
    cfg["report"]["formats"] = ["html"]
    run_report(cfg, catalog, PERIOD)
    out = catalog.report_locale_dir(PERIOD, "en")
    with Browser(EXECUTABLE) as browser:
        browser.open(out / "branch-B01.html")
        yield browser


def column(browser: Browser, table: str, index: int) -> list[str]:
    """The data-sort values of one column, in the rows' order on screen."""
    return browser.evaluate(
        f"Array.from(document.querySelectorAll('{table} tbody tr'))"
        f".filter(r => !r.hidden).map(r => r.cells[{index}].getAttribute('data-sort'))"
    )


def test_a_click_sorts_a_table_by_its_numbers_and_a_second_reverses_it(page):
    table = "table.watchlist"
    heads = page.evaluate(f"Array.from(document.querySelectorAll('{table} thead th')).length")
    clv = 5  # rank, customer, RM, tier, AUM, CLV, ...
    assert heads == 10
    page.click(f"{table} thead th:nth-child({clv + 1})")
    up = [float(v) for v in column(page, table, clv)]
    assert up == sorted(up) and len(up) >= 3
    assert (
        page.evaluate(
            f"document.querySelector('{table} thead th:nth-child(6)').getAttribute('aria-sort')"
        )
        == "ascending"
    )
    page.click(f"{table} thead th:nth-child({clv + 1})")
    down = [float(v) for v in column(page, table, clv)]
    assert down == sorted(up, reverse=True)
    # deciles sort as numbers: 10 after 9, not between 1 and 2
    deciles = "table.deciles"
    page.click(f"{deciles} thead th:first-child")
    shown = [int(v) for v in column(page, deciles, 0)]
    assert shown == sorted(shown)


def test_the_filter_keeps_the_rows_that_match(page):
    table = "table.watchlist"
    ids = page.evaluate(
        f"Array.from(document.querySelectorAll('{table} tbody tr'))"
        ".map(r => r.cells[1].textContent)"
    )
    page.click(f"input.table-filter:has(+ {table})")  # the box the script put above it
    page.type(ids[-1])
    visible = page.evaluate(
        f"Array.from(document.querySelectorAll('{table} tbody tr')).filter(r => !r.hidden)"
        ".map(r => r.cells[1].textContent)"
    )
    assert visible == [ids[-1]]


def test_a_chart_shows_the_value_under_the_mouse(page):
    title = page.evaluate(
        "(() => { const img = document.querySelector('#tiers ~ figure img');"
        " img.scrollIntoView({block: 'center'});"
        " const spot = document.querySelector('#tiers ~ figure .hot');"
        " const r = spot.getBoundingClientRect();"
        " const under = document.elementFromPoint(r.left + r.width / 2, r.top + r.height / 2);"
        " return under.getAttribute('title'); })()"
    )
    assert title and "%" in title and "·" in title  # "<tier> · <series>: 12.3%"


def test_a_screenshot_of_the_report(page, tmp_path_factory):
    # under pytest's base temp (kept after the run, as pytest keeps its last runs')
    shot = page.screenshot(tmp_path_factory.mktemp("screenshots") / "branch-B01.png")
    pixels = np.asarray(Image.open(shot).convert("L"), dtype=float)
    assert pixels.shape[1] >= 1000 and pixels.shape[0] > 2000  # the whole page, not a blank
    assert pixels.std() > 20
