"""End to end: the small bank's reports as a reader gets them (HTML, PDF text, downloads),
in both locales, side by side."""

from __future__ import annotations

import csv
import functools
import io
import re
from html.parser import HTMLParser
from pathlib import Path

import pandas as pd
import pytest
from pypdf import PdfReader
from test_report_fixtures import (
    BRANCHES,
    MODEL_CARD,
    PERIOD,
    SCRIPT_CUSTOMER,
    SCRIPT_RM,
    bank_config,
    make_bank,
)

from pipeline.errors import ConfigError, InputError
from pipeline.report import fonts
from pipeline.report.context import BRANCH_SECTIONS
from pipeline.report.context_network import NETWORK_SECTIONS
from pipeline.report.environment import format_money, format_num
from pipeline.report.i18n import labels
from pipeline.report.stage import run_report

pytestmark = pytest.mark.slow
EN = labels("en")
JOINER = "\u2060"


@functools.cache
def pdf_text(path: Path) -> str:
    """All pages' text with whitespace collapsed (titles may wrap across lines) and the
    word joiners of zh_CN text left out; read once per file."""
    text = " ".join(page.extract_text() or "" for page in PdfReader(path).pages)
    return re.sub(r"\s+", " ", text).replace(JOINER, "")


class Page(HTMLParser):
    """Links, the text a reader sees (outside scripts and styles) and the table rows."""

    def __init__(self) -> None:
        super().__init__()
        self.hrefs: list[str] = []
        self.text: list[str] = []
        self.english: list[str] = []  # text inside lang="en" elements
        self._skip = 0
        self._lang_en = 0
        self._stack: list[tuple[str, bool]] = []

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        if tag == "a" and "href" in attrs:
            self.hrefs.append(attrs["href"])
        if tag in ("script", "style"):
            self._skip += 1
        en = attrs.get("lang") == "en" and tag != "html"
        self._lang_en += en
        self._stack.append((tag, en))

    def handle_endtag(self, tag):
        if tag in ("script", "style"):
            self._skip -= 1
        while self._stack:
            name, en = self._stack.pop()
            self._lang_en -= en
            if name == tag:
                break

    def handle_data(self, data):
        if not self._skip:
            (self.english if self._lang_en else self.text).append(data)


def parse(path: Path) -> Page:
    page = Page()
    page.feed(path.read_text(encoding="utf-8"))
    return page


def visible(path: Path) -> str:
    return re.sub(r"\s+", " ", " ".join(parse(path).text)).replace(JOINER, "")


@pytest.fixture(scope="module")
def built(tmp_path_factory) -> tuple[dict, object, Path]:
    cfg, catalog = make_bank(tmp_path_factory.mktemp("bank"), workers=2)
    summary = run_report(cfg, catalog, PERIOD)
    assert "3 branch reports" in summary and "per branch" in summary
    return cfg, catalog, catalog.report_locale_dir(PERIOD, "en")


def branch_ids_of(catalog, branch: str) -> set[str]:
    features = pd.read_parquet(catalog.customer_features(PERIOD))
    return set(features.loc[features["branch_id"] == branch, "customer_id"])


def test_every_file_is_written_in_the_locales_folder_and_every_link_resolves(built):
    _, catalog, out = built
    assert out == catalog.report_build_dir(PERIOD) / "en"
    expected = {f"branch-{b}.{ext}" for b in BRANCHES for ext in ("html", "pdf")}
    expected |= {"network.html", "network.pdf", "index.html"}
    assert expected <= {p.name for p in out.iterdir()}
    for name in ("index.html", *(f"branch-{b}.html" for b in BRANCHES), "network.html"):
        for href in parse(out / name).hrefs:
            if not href.startswith("#"):
                assert (out / href).is_file(), (name, href)
    languages = catalog.report_languages(PERIOD)
    assert parse(languages).hrefs == ["en/index.html"]


def test_the_index_shows_each_branchs_figures_against_the_targets(built):
    _, catalog, out = built
    text = visible(out / "index.html")
    kpis = pd.read_parquet(catalog.branch_kpis(PERIOD)).set_index("branch_id", drop=False)
    for b in BRANCHES:
        assert f"{EN['branch']} {b}" in text
        assert format_num(kpis.loc[b, "customers"], locale="en") in text
    html = (out / "index.html").read_text(encoding="utf-8")
    statuses = re.findall(r'class="rag rag-(green|amber|red)"', html)
    assert len(statuses) >= 4 * (len(BRANCHES) + 1)  # every KPI with a target, per row
    assert "downloads/watchlist-B01.xlsx" in html


def test_the_network_reports_links_to_branches_resolve_beside_it(built):
    """In the HTML and in the PDF, the network report links each branch to its report by
    a relative address, so the links work wherever the folder is copied."""
    _, _, out = built
    branch_links = {h for h in parse(out / "network.html").hrefs if not h.startswith("#")}
    assert branch_links == {f"branch-{b}.html" for b in BRANCHES}
    uris = {
        annot.get_object()["/A"]["/URI"]
        for page in PdfReader(out / "network.pdf").pages
        for annot in page.get("/Annots") or []
        if "/URI" in annot.get_object().get("/A", {})
    }
    assert uris == {f"branch-{b}.html" for b in BRANCHES}


def test_html_is_self_contained_with_one_inline_script(built):
    _, _, out = built
    html = (out / "branch-B01.html").read_text(encoding="utf-8")
    assert "<link" not in html and 'src="http' not in html and "https://" not in html
    assert html.count("<script") == 1 and "<script src" not in html
    images = re.findall(r'<img src="([^"]+)"', html)
    assert len(images) >= 8 and all(src.startswith("data:image/png;base64,") for src in images)
    assert "@page" in html and "target-counter" in html
    # values on hover: a titled region per bar or point of every chart, a title per
    # sparkline month
    assert len(re.findall(r'<span class="hot"[^>]*title="[^"]+"', html)) > 30
    assert html.count("<title>") >= 8 * 2  # the KPIs with two months of history


def test_pdf_has_every_section_the_branchs_figures_and_a_page_per_rm(built):
    _, catalog, out = built
    kpis = pd.read_parquet(catalog.branch_kpis(PERIOD)).set_index("branch_id", drop=False)
    books = pd.read_parquet(catalog.rm_books(PERIOD))
    for b in BRANCHES:
        text = pdf_text(out / f"branch-{b}.pdf")
        for _, key, _ in BRANCH_SECTIONS:
            if key != "sec_rm_pages":
                assert EN[key] in text, (b, key)
        row = kpis.loc[b]
        aum = format_money(row["aum"], compact=True, locale="en", currency="CNY")
        assert f"{EN['kpi_aum']} {aum}" in text
        assert f"{EN['kpi_customers']} {format_num(row['customers'], locale='en')}" in text
        assert f"{EN['branch']} {b}" in text and "Page 3 of" in text
        for rm in books.loc[books["branch_id"] == b, "rm_id"]:
            assert f"{EN['rm_page_title']} {rm}".replace(" ", "") in text.replace(" ", "")
        # the model that loses to its baseline says so, in the report's words
        assert "does not beat the best simple rule (AUM change over 3 months)" in text
    network = pdf_text(out / "network.pdf")
    for _, key, _ in NETWORK_SECTIONS:
        assert EN[key] in network


def test_branch_reports_speak_words_not_code_names(built):
    """No model feature, reason code, data-quality code or modeller's note in a branch
    report: they are worded, and the notes live in the network report's appendix."""
    _, _, out = built
    codes = re.compile(
        r"recency_days|aum_change|has_[a-z]|tier_rank|days_since|unknown_customer|"
        r"unparseable_date|amount_not_positive|missing_value|gradient_boosting|simple_rule"
    )
    note = MODEL_CARD["warnings"][0]
    for b in BRANCHES:
        text = visible(out / f"branch-{b}.html") + pdf_text(out / f"branch-{b}.pdf")
        assert not codes.search(text), (b, codes.search(text))
        assert note not in text
    assert "no own transaction for 120 days (typical 14)" in visible(out / "branch-B02.html")
    assert "customer not in the customer file: 6" in visible(out / "branch-B01.html")
    network = parse(out / "network.html")
    assert note in " ".join(network.english)  # modellers' notes, marked as English


def test_network_tables_in_a_branch_report_say_they_are_network_wide(built):
    _, _, out = built
    html = (out / "branch-B01.html").read_text(encoding="utf-8")
    for heading in (EN["drivers"], "Cronbach&#39;s alpha", EN["linkage"]):
        tagged = f'{heading} <span class="scope-tag">{EN["network_wide"]}</span>'
        assert tagged in html, heading


def test_numbers_sort_as_numbers(built):
    """CLV deciles and survey groups are in numeric order, and every number cell carries
    the number a browser sorts by."""
    _, _, out = built
    html = (out / "branch-B01.html").read_text(encoding="utf-8")
    deciles = html[html.index(EN["clv_decile"]) :]
    deciles = deciles[: deciles.index("</table>")]
    shown = [int(d) for d in re.findall(r'<td class="num" data-sort="(\d+)">\1</td>', deciles)]
    assert shown == sorted(shown, reverse=True) and len(shown) >= 3
    linkage = html[html.index(EN["linkage"]) :]
    linkage = linkage[: linkage.index("</table>")]
    groups = [int(g) for g in re.findall(rf"{EN['link_clv_decile']}: (\d+)", linkage)]
    assert groups == sorted(groups)
    cells = re.findall(r'class="num[^"]*" data-sort="([^"]*)"', html)
    assert len(cells) > 100 and all(c == "" or float(c) == float(c) for c in cells)


def test_customers_per_rm_is_written_alike_wherever_it_is_shown(built):
    """An average of customers: one decimal in the headline table, its change, the RM
    section and the network's league table alike (it read 139.00 in one, 139.0 in
    another)."""
    _, catalog, out = built
    kpis = pd.read_parquet(catalog.branch_kpis(PERIOD)).set_index("branch_id", drop=False)
    value = format_num(kpis.loc["B01", "customers_per_rm"], 1, locale="en")
    html = (out / "branch-B01.html").read_text(encoding="utf-8")
    row = html[html.index(f"<td>{EN['kpi_customers_per_rm']}</td>") :]
    cells = re.findall(r"<td[^>]*>\s*([^<]*?)\s*</td>", row[: row.index("</tr>")])
    change = rf"[+\-−]?\d+\.\d|{re.escape(EN['no_previous_period'])}"  # one decimal too
    assert cells[1] == value and re.fullmatch(change, cells[3]), cells
    assert f"{EN['customers_per_rm']}{EN['colon']}<strong>{value}</strong>" in html
    league = (out / "network.html").read_text(encoding="utf-8")
    raw = float(kpis.loc["B01", "customers_per_rm"])
    shown = re.findall(rf'data-sort="{re.escape(repr(raw))}">\s*([^<]*?)\s*</td>', league)
    assert shown and set(shown) == {value}  # the league table and the KPIs table


def test_a_figure_over_part_of_the_customers_says_which_part(built):
    _, catalog, out = built
    text = visible(out / "branch-B01.html")
    scores = pd.read_parquet(catalog.customer_scores(PERIOD))
    active = scores[(scores["branch_id"] == "B01") & (scores["status"] == "active")]
    assert re.search(
        rf"over the {active['p_alive'].notna().sum()} of {len(active)} active customers", text
    )
    assert re.search(r"the \d+ of \d+ active customers who transacted in the window", text)
    assert "the churn model scored" in text


def test_no_report_or_list_holds_another_branchs_customer(built):
    _, catalog, out = built
    downloads = out / "downloads"
    texts = {
        b: (out / f"branch-{b}.html").read_text(encoding="utf-8")
        + pdf_text(out / f"branch-{b}.pdf")
        + "".join(p.read_text(encoding="utf-8-sig") for p in downloads.glob(f"*-{b}*.csv"))
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
    assert shown > 0  # the action pages do show the branch's own customers
    for name in ("network.html", "index.html"):
        assert not re.search(r"B0\d-C\d{3}", (out / name).read_text(encoding="utf-8"))
    assert not re.search(r"B0\d-C\d{3}", pdf_text(out / "network.pdf"))


def test_script_in_an_id_is_shown_as_text(built):
    _, _, out = built
    for path in out.glob("*.html"):
        assert path.read_text(encoding="utf-8").lower().count("<script") == 1, path.name
    b02 = (out / "branch-B02.html").read_text(encoding="utf-8")
    assert "&lt;script&gt;alert(&#34;c&#34;)&lt;/script&gt;" in b02
    assert SCRIPT_CUSTOMER in pdf_text(out / "branch-B02.pdf").replace(" ", "")
    assert "RM&lt;script&gt;x" in (out / "branch-B01.html").read_text(encoding="utf-8")
    assert SCRIPT_RM in pdf_text(out / "branch-B01.pdf").replace(" ", "")


def test_lists_download_in_the_reports_words_and_keep_their_numbers(built):
    from openpyxl import load_workbook

    from pipeline.report.context_actions import file_part

    _, catalog, out = built
    path = out / "downloads" / "watchlist-B02.csv"
    rows = list(csv.DictReader(io.StringIO(path.read_text(encoding="utf-8-sig"))))
    source = pd.read_csv(catalog.watchlist(PERIOD, "B02"), dtype={"customer_id": str})
    assert [r[EN["customer_id"]] for r in rows] == list(source["customer_id"])
    assert [float(r[EN["value_at_risk"]]) for r in rows] == list(source["value_at_risk"])
    worded = [r[EN["reasons"]] for r in rows if r[EN["reasons"]]]
    assert worded and all("no own transaction for 120 days" in w for w in worded)
    sheet = load_workbook(out / "downloads" / "watchlist-B02.xlsx").active
    values = list(sheet.iter_rows(values_only=True))
    assert list(values[0]) == list(rows[0].keys())
    assert [v[1] for v in values[1:]] == list(source["customer_id"])  # ids stay text
    for b in BRANCHES:
        for rm in pd.read_parquet(catalog.rm_books(PERIOD)).query("branch_id == @b")["rm_id"]:
            assert (out / "downloads" / f"calls-{b}-{file_part(rm)}.xlsx").is_file()
    # an id that would make a path is written by a stand-in name
    assert file_part(SCRIPT_RM).startswith("id-") and file_part("RM01001") == "RM01001"


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


def test_same_inputs_give_the_same_bytes(built, tmp_path):
    cfg, catalog, out = built
    again = render_one(cfg, catalog, "B01")
    assert again.html == (out / "branch-B01.html").read_text(encoding="utf-8")
    assert again.pdf == (out / "branch-B01.pdf").read_bytes()
    # its lists to download (CSV and XLSX: no timestamps inside either), every one the
    # run wrote for B01
    written = {p.name for p in (out / "downloads").iterdir() if re.search(r"-B01[-.]", p.name)}
    assert set(again.lists) == written and len(written) >= 4
    assert again.lists == {n: (out / "downloads" / n).read_bytes() for n in again.lists}


def test_the_first_page_tells_what_changed_with_trends_and_targets(built):
    _, _, out = built
    html = (out / "branch-B01.html").read_text(encoding="utf-8")
    first = html[html.index('id="glance"') : html.index('class="toc part"')]
    story = re.findall(r"<p>([^<]+)</p>", first[: first.index('class="tiles"')])
    assert 3 <= len(story) <= 5
    assert story[0].startswith("Since Sep 2026, active customers")
    assert any(s.startswith("The biggest risk:") for s in story)
    assert len(re.findall(r'class="tile status-', first)) == 9
    assert len(re.findall(r'class="rag rag-', first)) == 6  # the KPIs with a target
    # two months of history: each trend has its two points (one hover title each)
    assert first.count("<title>Sep 2026:") >= 8 and first.count("<title>Oct 2026:") == 9


def test_a_first_period_without_history_says_so_and_no_model_says_so(tmp_path):
    cfg, catalog = make_bank(tmp_path, previous=False, churn_model=False)
    cfg["report"]["formats"] = ["html"]
    rendered = render_one(cfg, catalog, "B01")
    assert rendered.pdf is None
    html = rendered.html
    assert html.count("no previous period") >= 13  # every headline KPI, and the tiles
    assert "This is the first month on record" in html
    assert labels("en")["churn_model_absent"] in html
    assert "No supervised churn model this month" in html
    # no model, no drivers: no empty "n/a" table of them
    assert labels("en")["drivers"] not in html and labels("en")["drivers_note"] not in html


def test_scores_without_status_are_an_error_naming_the_file_and_column(tmp_path):
    """The reports count active customers; scores that cannot say who is active stop
    the run before any work, instead of counting closed customers in."""
    cfg, catalog = make_bank(tmp_path)
    path = catalog.customer_scores(PERIOD)
    pd.read_parquet(path).drop(columns="status").to_parquet(path)
    expected = r"customer_scores.parquet: missing column\(s\) status needed by the report"
    with pytest.raises(InputError, match=expected):
        run_report(cfg, catalog, PERIOD)


def test_a_suppressed_branch_shows_suppressed_not_blank(built):
    _, _, out = built
    html = (out / "branch-B03.html").read_text(encoding="utf-8")
    section = html[html.index('id="survey-customer"') : html.index('id="survey-staff"')]
    assert "suppressed" in section
    assert labels("en")["suppressed_note"].format(n=10) in section
    assert "Groups smaller than 10 responses are not reported" in section


# ---- zh_CN beside en ---------------------------------------------------------------------
# Latin text a Chinese report may keep: units and names banks use as they are.
ALLOWED_LATIN = {
    "A",
    "CNY",  # the currency's ISO code, beside its name on the cover
    "AUM",
    "RM",
    "NPS",
    "CLV",
    "RFM",
    "KMO",
    "PSI",
    "BTYD",
    "ROC",
    "AUC",
    "PR",
    "KS",
    "CI",
    "CSV",
    "XLSX",
    "HTML",
    "PDF",
    "P",
    "alive",
    "n",
    "p",
    "df",
    "B",
    "C",
    "R",
    "RM0",
    "model_card",
    "json",
    "interim",
    "rejects",
    "English",
    "BG",
    "NBD",
    "Pareto",
    "MBG",
    "script",
    "alert",
    "x",
    "c",  # the fixture's hostile ids, shown as text
}


@pytest.fixture(scope="module")
def built_zh(built):
    if fonts.find_cjk_font() is None:
        pytest.skip("no CJK font installed")
    cfg, catalog, _ = built
    run_report({**cfg, "locale": "zh_CN"}, catalog, PERIOD)
    return cfg, catalog, catalog.report_locale_dir(PERIOD, "zh_CN")


def test_zh_cn_reports_sit_beside_the_english_ones(built, built_zh):
    _, catalog, en = built
    _, _, zh = built_zh
    assert en.parent == zh.parent and en.name == "en" and zh.name == "zh_CN"
    for name in ("branch-B01.html", "network.pdf", "index.html"):
        assert (en / name).is_file() and (zh / name).is_file()
    assert sorted(parse(catalog.report_languages(PERIOD)).hrefs) == [
        "en/index.html",
        "zh_CN/index.html",
    ]
    assert "../en/index.html" in parse(zh / "index.html").hrefs


def test_several_locales_in_one_run_write_what_a_run_of_each_does(built, built_zh):
    """`crm report --locale en --locale zh_CN`: one run (inputs read once, one pool) writes
    what a run of en and then one of zh_CN did, file for file, except that the English
    index now links the Chinese reports too (the run of en alone came before them)."""
    cfg, catalog, en = built
    both = bank_config(catalog.data_dir, catalog.report_dir.parent / "both", workers=2)[1]
    summary = run_report(cfg, both, PERIOD, locales=("en", "zh_CN", "en"))
    assert "(html, pdf, en, zh_CN)" in summary
    one_by_one = catalog.report_build_dir(PERIOD)
    together = both.report_build_dir(PERIOD)
    files = sorted(p.relative_to(one_by_one) for p in one_by_one.rglob("*") if p.is_file())
    assert sorted(p.relative_to(together) for p in together.rglob("*") if p.is_file()) == files
    assert len([f for f in files if f.suffix == ".pdf"]) == 2 * (1 + len(BRANCHES))
    differ = [f for f in files if (one_by_one / f).read_bytes() != (together / f).read_bytes()]
    assert differ == [Path("en/index.html")]
    assert "../zh_CN/index.html" not in parse(en / "index.html").hrefs
    assert "../zh_CN/index.html" in parse(together / "en" / "index.html").hrefs


def test_no_english_left_in_zh_cn_pages(built_zh):
    _, _, out = built_zh
    for name in ("branch-B01.html", "branch-B02.html", "network.html", "index.html"):
        text = visible(out / name)
        assert latin_words(text) <= ALLOWED_LATIN, (name, sorted(latin_words(text) - ALLOWED_LATIN))
    text = pdf_text(out / "branch-B02.pdf")
    assert latin_words(text) <= ALLOWED_LATIN, sorted(latin_words(text) - ALLOWED_LATIN)


def test_no_english_left_in_zh_cn_charts(built_zh, monkeypatch):
    """Charts are pictures the page checks above cannot read: every word handed to a
    chart (titles, axes with their units, series, categories) is checked here."""
    from pipeline.report import charts
    from pipeline.report.context import branch_context
    from pipeline.report.context_kpis import rm_by_tier
    from pipeline.report.context_network import network_context
    from pipeline.report.core import branch_slices
    from pipeline.report.figures import branch_figures, network_figures
    from pipeline.report.stage import load_inputs, report_settings

    cfg, catalog, _ = built_zh
    words: list[str] = []

    def collect(value) -> None:
        if isinstance(value, str):
            words.append(value)
        elif isinstance(value, dict):
            for key, item in value.items():
                collect(key)
                collect(item)
        elif isinstance(value, list | tuple):
            for item in value:
                collect(item)

    def chart(*args, **kwargs) -> str:
        collect([*args, *kwargs.values()])
        return "data:image/png;base64,"

    drawn = ("grouped_bars", "horizontal_bars", "histogram", "lorenz", "intervals")
    for name in (*drawn, "ipa_scatter", "gain"):
        monkeypatch.setattr(charts, name, chart)
    settings = report_settings({**cfg, "locale": "zh_CN"})
    inputs = load_inputs(catalog, PERIOD)
    files = {b: {"html": "x.html"} for b in (None, *inputs.branch_ids)}
    figures = network_figures(network_context(inputs, settings, files), "zh_CN", "CNY")
    network_rm = rm_by_tier(inputs.features, settings.rm_tiers, settings.rm_contact_days)
    for b in branch_slices(inputs, network_rm):
        figures |= branch_figures(branch_context(b, settings), b, "zh_CN", "CNY")
    assert {"aum", "clv", "tiers", "rfm"} <= set(figures)
    text = " ".join(words)
    assert "人民币" in text and "对数刻度" in text  # the money axes' units, in Chinese
    assert latin_words(text) <= ALLOWED_LATIN, sorted(latin_words(text) - ALLOWED_LATIN)


def test_a_chart_axis_names_any_currency_in_the_reports_words():
    from pipeline.report.figures import money_unit

    en, zh = labels("en"), labels("zh_CN")
    assert money_unit(en, "chart_millions_axis", "CNY", "en") == "CNY m"
    assert money_unit(zh, "chart_millions_axis", "CNY", "zh_CN") == "百万人民币"
    assert money_unit(zh, "chart_millions_axis", "USD", "zh_CN") == "百万美元"
    assert money_unit(zh, "chart_currency_axis", "EUR", "zh_CN") == "欧元"
    assert money_unit(en, "chart_currency_axis", "EUR", "en") == "EUR"


def latin_words(text: str) -> set[str]:
    """Latin words of a text, leaving out ids (letters and digits: C00012, RM01001)."""
    tokens = re.findall(r"[A-Za-z0-9_]+", text)
    return {w for t in tokens if not re.search(r"\d", t) for w in [t]}


def test_zh_cn_words_never_split_across_lines(built_zh):
    """Between two Chinese characters (or one and a letter or digit) stands a word
    joiner, so a line can break only at a space or punctuation; in the PDF no term a
    table shows is split across two lines."""
    _, _, out = built_zh
    html = (out / "branch-B01.html").read_text(encoding="utf-8")
    body = html[html.index("<body") :]
    body = re.sub(r"<script.*?</script>", "", body, flags=re.S)
    text = re.sub(r"<[^>]+>", " ", body)  # a tag ends a run of text
    unjoined = re.findall(r"[\u4e00-\u9fff][\u4e00-\u9fffA-Za-z0-9]", text)
    assert unjoined == []
    raw = "".join(page.extract_text() or "" for page in PdfReader(out / "branch-B01.pdf").pages)
    raw = raw.replace(JOINER, "")
    t = labels("zh_CN")
    terms = ["贵宾客户", "财富客户", "私人银行客户", "大众客户"]
    terms += [t[k] for k in ("customer_id", "value_at_risk", "churn_probability_short")]
    terms += [t[k] for k in ("last_contact", "clv_short", "rm_id")]
    for term in terms:
        joined = raw.replace("\n", "").count(term)
        assert joined == raw.count(term), term


def test_zh_cn_pdf_has_chinese_text_and_a_font_that_has_it(built_zh):
    _, _, out = built_zh
    pdf = out / "branch-B01.pdf"
    text = pdf_text(pdf)
    t = labels("zh_CN")
    for key in ("sec_glance", "sec_kpis", "sec_tiers", "sec_churn", "sec_appendix_trust"):
        assert t[key] in text
    assert "网点 B01" in text and "第 3 页，共" in text
    fonts_used = {
        str(f.get("/BaseFont"))
        for p in PdfReader(pdf).pages
        for f in (p["/Resources"].get("/Font") or {}).values()
        for f in [f.get_object()]
    }
    assert any("WenQuanYi" in f or "CJK" in f or "Hei" in f for f in fonts_used), fonts_used


def test_zh_cn_without_a_cjk_font_says_so(tmp_path, monkeypatch):
    cfg, catalog = make_bank(tmp_path, locale="zh_CN")
    monkeypatch.setattr(fonts, "find_cjk_font", lambda: None)
    with pytest.raises(ConfigError, match="no CJK font.*fonts-wqy-microhei"):
        run_report(cfg, catalog, PERIOD)
    assert not catalog.report_build_dir(PERIOD).exists()
