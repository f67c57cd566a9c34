"""End to end: the small bank's reports as a reader gets them (HTML, PDF text, pixels)."""

from __future__ import annotations

import functools
import re
import shutil
import subprocess
from html.parser import HTMLParser
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from pypdf import PdfReader
from test_report_fixtures import BRANCHES, PERIOD, SCRIPT_CUSTOMER, SCRIPT_RM, make_bank

from pipeline.errors import ConfigError
from pipeline.report import fonts
from pipeline.report.context import BRANCH_SECTIONS, NETWORK_SECTIONS
from pipeline.report.environment import format_money, format_num
from pipeline.report.i18n import LABELS
from pipeline.report.stage import run_report

pytestmark = pytest.mark.slow


@functools.cache
def pdf_text(path: Path) -> str:
    """All pages' text with whitespace collapsed (titles may wrap across lines); read once
    per file (the module's reports are written once and read by several tests)."""
    text = " ".join(page.extract_text() or "" for page in PdfReader(path).pages)
    return re.sub(r"\s+", " ", text)


class Links(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.hrefs: list[str] = []

    def handle_starttag(self, tag, attrs):
        if tag == "a":
            self.hrefs += [v for k, v in attrs if k == "href"]


@pytest.fixture(scope="module")
def built(tmp_path_factory) -> tuple[dict, object, Path]:
    cfg, catalog = make_bank(tmp_path_factory.mktemp("bank"), workers=2)
    summary = run_report(cfg, catalog, PERIOD)
    assert "3 branch reports" in summary and "per branch" in summary
    return cfg, catalog, catalog.report_build_dir(PERIOD)


def branch_ids_of(catalog, branch: str) -> set[str]:
    features = pd.read_parquet(catalog.customer_features(PERIOD))
    return set(features.loc[features["branch_id"] == branch, "customer_id"])


def test_every_file_is_written_and_every_index_link_resolves(built):
    _, catalog, out = built
    expected = {f"branch-{b}.{ext}" for b in BRANCHES for ext in ("html", "pdf")}
    expected |= {"network.html", "network.pdf", "index.html"}
    assert expected <= {p.name for p in out.iterdir()}
    parser = Links()
    parser.feed((out / "index.html").read_text(encoding="utf-8"))
    assert len(parser.hrefs) == len(expected) - 1
    for href in parser.hrefs:
        assert (out / href).is_file(), href


def test_the_network_reports_links_to_branches_resolve_beside_it(built):
    """In the HTML and in the PDF, the league table links each branch to its report by a
    relative address, so the links work wherever the folder is copied (an absolute
    file:// address would point into the code's folder)."""
    _, _, out = built
    parser = Links()
    parser.feed((out / "network.html").read_text(encoding="utf-8"))
    branch_links = [h for h in parser.hrefs if not h.startswith("#")]
    assert sorted(branch_links) == [f"branch-{b}.html" for b in BRANCHES]
    uris = [
        annot.get_object()["/A"]["/URI"]
        for page in PdfReader(out / "network.pdf").pages
        for annot in page.get("/Annots") or []
        if "/URI" in annot.get_object().get("/A", {})
    ]
    assert sorted(uris) == [f"branch-{b}.html" for b in BRANCHES]
    assert all((out / uri).is_file() for uri in uris)


def test_html_is_self_contained(built):
    _, _, out = built
    html = (out / "branch-B01.html").read_text(encoding="utf-8")
    assert "<link" not in html and 'src="http' not in html
    images = re.findall(r'<img src="([^"]+)"', html)
    assert len(images) >= 8 and all(src.startswith("data:image/png;base64,") for src in images)
    assert "@page" in html and "target-counter" in html


def test_pdf_has_every_section_and_the_branchs_own_figures(built):
    _, catalog, out = built
    t = LABELS["en"]
    kpis = pd.read_parquet(catalog.branch_kpis(PERIOD)).set_index("branch_id", drop=False)
    for b in BRANCHES:
        text = pdf_text(out / f"branch-{b}.pdf")
        for _, key in BRANCH_SECTIONS:
            assert t[key] in text, (b, key)
        row = kpis.loc[b]
        assert (
            f"{t['kpi_aum']} {format_money(row['aum'], compact=True, locale='en', currency='CNY')}"
            in text
        )
        assert f"Customers {format_num(row['customers'], locale='en')}" in text
        assert f"Branch {b}" in text and "Page 3 of" in text
        # the model card's warning is shown, not hidden
        assert "did not beat the best simple rule (AUM change over 3 months)" in text
        # and so is the value model's check
        assert "the value model beats the naive baseline" in text
    network = pdf_text(out / "network.pdf")
    for _, key in NETWORK_SECTIONS:
        assert t[key] in network


def test_no_branch_report_holds_another_branchs_customer(built):
    _, catalog, out = built
    texts = {
        b: (out / f"branch-{b}.html").read_text(encoding="utf-8")
        + pdf_text(out / f"branch-{b}.pdf")
        for b in BRANCHES
    }
    shown = 0
    for b in BRANCHES:
        for other in BRANCHES:
            if other == b:
                continue
            for cid in branch_ids_of(catalog, other):
                for form in (cid, cid.replace("<", "&lt;").replace(">", "&gt;")):
                    assert form not in texts[b], (b, cid)
        shown += sum(cid in texts[b] for cid in branch_ids_of(catalog, b))
    assert shown > 0  # watchlists do show the branch's own customers
    network = (out / "network.html").read_text(encoding="utf-8") + pdf_text(out / "network.pdf")
    assert not re.search(r"B0\d-C\d{3}", network)


def test_script_in_an_id_is_shown_as_text(built):
    _, _, out = built
    for path in out.glob("*.html"):
        assert "<script" not in path.read_text(encoding="utf-8").lower(), path.name
    b02 = (out / "branch-B02.html").read_text(encoding="utf-8")
    assert "&lt;script&gt;alert(&#34;c&#34;)&lt;/script&gt;" in b02
    assert SCRIPT_CUSTOMER in pdf_text(out / "branch-B02.pdf").replace(" ", "")  # wraps in its cell
    assert "RM&lt;script&gt;x&lt;/script&gt;" in (out / "branch-B01.html").read_text(
        encoding="utf-8"
    )
    assert SCRIPT_RM in pdf_text(out / "branch-B01.pdf").replace(" ", "")


def render_one(cfg: dict, catalog, branch: str):
    """One branch rendered in this process, as a worker would."""
    from pipeline.report import render
    from pipeline.report.context_kpis import rm_by_tier
    from pipeline.report.core import branch_slice
    from pipeline.report.stage import load_inputs, report_settings

    settings = report_settings(cfg)
    inputs = load_inputs(catalog, PERIOD)
    render.init_worker(settings)
    network_rm = rm_by_tier(inputs.features, settings.rm_tiers, settings.rm_contact_days)
    return render.render_branch(branch_slice(inputs, branch, network_rm))


def test_same_inputs_give_the_same_bytes(built):
    cfg, catalog, out = built
    again = render_one(cfg, catalog, "B01")
    assert again.html == (out / "branch-B01.html").read_text(encoding="utf-8")
    assert again.pdf == (out / "branch-B01.pdf").read_bytes()


def test_first_period_says_no_previous_period_and_no_model_says_so(tmp_path):
    cfg, catalog = make_bank(tmp_path, previous=False, churn_model=False)
    cfg["report"]["formats"] = ["html"]
    rendered = render_one(cfg, catalog, "B01")
    assert rendered.pdf is None
    html = rendered.html
    assert html.count("no previous period") >= 13  # every headline KPI, and the cover
    assert LABELS["en"]["churn_model_absent"] in html
    assert LABELS["en"]["no_churn_metrics"] in html


def test_a_suppressed_branch_shows_suppressed_not_blank(built):
    _, _, out = built
    html = (out / "branch-B03.html").read_text(encoding="utf-8")
    section = html[html.index('id="survey-customer"') : html.index('id="survey-staff"')]
    assert "suppressed" in section
    assert "Groups smaller than 10 responses are not reported." in section


@pytest.mark.skipif(fonts.find_cjk_font() is None, reason="no CJK font installed")
def test_zh_cn_pdf_has_chinese_text_and_a_page_that_is_not_blank(tmp_path):
    cfg, catalog = make_bank(tmp_path, locale="zh_CN")
    pdf = tmp_path / "branch-B01.pdf"
    pdf.write_bytes(render_one(cfg, catalog, "B01").pdf)
    text = pdf_text(pdf)
    t = LABELS["zh_CN"]
    for key in ("sec_kpis", "sec_tiers", "sec_churn", "sec_survey_customer", "sec_appendix_model"):
        assert t[key] in text
    assert "网点 B01" in text and "第 3 页，共" in text
    fonts_used = {
        str(f.get("/BaseFont"))
        for p in PdfReader(pdf).pages
        for f in (p["/Resources"].get("/Font") or {}).values()
        for f in [f.get_object()]
    }
    assert any("WenQuanYi" in f or "CJK" in f or "Hei" in f for f in fonts_used), fonts_used
    if shutil.which("pdftoppm") is None:
        pytest.skip("pdftoppm (poppler-utils) not installed")
    subprocess.run(
        ["pdftoppm", "-f", "3", "-l", "3", "-r", "40", "-png", str(pdf), str(tmp_path / "page")],
        check=True,
    )
    import matplotlib.image as mpimg

    page = mpimg.imread(next(tmp_path.glob("page*.png")))
    gray = page[..., :3].mean(axis=2)
    assert gray.std() > 0.05  # a blank (or boxes-only) page is nearly uniform
    assert (gray < 0.5).mean() > 0.01  # there is dark ink: text, tables, bars


def test_zh_cn_without_a_cjk_font_says_so(tmp_path, monkeypatch):
    cfg, catalog = make_bank(tmp_path, locale="zh_CN")
    monkeypatch.setattr(fonts, "find_cjk_font", lambda: None)
    with pytest.raises(ConfigError, match="no CJK font.*fonts-wqy-microhei"):
        run_report(cfg, catalog, PERIOD)
    assert not catalog.report_build_dir(PERIOD).exists()


def test_charts_are_labelled(tmp_path):
    from pipeline.report import charts

    uri = charts.grouped_bars(["a", "b"], {"x": [0.1, 0.2]}, title="T", xlabel="X", ylabel="Y (%)")
    assert uri.startswith("data:image/png;base64,")
    import base64
    import io

    import matplotlib.image as mpimg

    png = mpimg.imread(io.BytesIO(base64.b64decode(uri.split(",", 1)[1])))
    assert png.shape[1] == round(charts.WIDTH_IN * charts.DPI)
    assert np.asarray(png).std() > 0
