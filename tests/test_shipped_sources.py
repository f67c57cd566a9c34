"""Every shipped source config, from raw exports to HTML and PDF reports with `crm run`
and the default settings, through the CLI: the sample bank, the GB18030 example, the
Czech bank (Berka, a 1994 period) and the Online Retail II card-spend export. What the
reports say is read back from the HTML and, where pdftotext is installed, the PDF.

Berka's 77 branches are run to HTML only, and the PDFs of one branch and of the network
made from their HTML: 77 branch PDFs would be three fifths of this file's time and test
the same HTML-to-PDF step 77 times over."""

from __future__ import annotations

import csv
import html
import io
import json
import os
import re
import shutil
import subprocess
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from click.testing import CliRunner
from conftest import shared_data

from pipeline.catalog import Catalog
from pipeline.cli import cli
from pipeline.periods import as_of_date
from pipeline.report.i18n import labels
from pipeline.report.pdf import html_to_pdf
from pipeline.scoring.reasons import number_text

pytestmark = pytest.mark.slow
EN = labels("en")


@dataclass(frozen=True)
class Run:
    catalog: Catalog
    period: str
    output: str


def run_source(
    root: Path, source: str, period: str | None, *before: list[str], settings: str = ""
) -> Run:
    """`crm run` for `source` with a user config naming only the source (and `settings`,
    YAML lines)."""
    config = root / "bank.yml"
    config.write_text(f"source: {source}\n{settings}", encoding="utf-8")
    catalog = Catalog(root / "data", root / "reports")
    args = ["--config", str(config), "--data-dir", str(catalog.data_dir)]
    args += ["--report-dir", str(catalog.report_dir)]
    runner = CliRunner()
    for step in before:
        done = runner.invoke(cli, [*args, *step])
        assert done.exit_code == 0, done.output
    done = runner.invoke(cli, [*args, "run", *(["--period", period] if period else [])])
    assert done.exit_code == 0, done.output
    resolved = period or re.search(r"run manifest: .*/runs/(\d{4}-\d{2})/", done.output)[1]
    return Run(catalog, resolved, done.output)


def link_raw(root: Path, name: str, data: Path) -> None:
    (root / "data" / "raw").mkdir(parents=True)
    os.symlink(data, root / "data" / "raw" / name)


def text(path: Path) -> str:
    """What a reader of the HTML sees: tags, styles and images left out."""
    body = path.read_text(encoding="utf-8")
    body = re.sub(r"<style>.*?</style>", "", body, flags=re.S)
    body = re.sub(r"<img[^>]*>", "", body)
    return re.sub(r"\s+", " ", html.unescape(re.sub(r"<[^>]+>", " ", body)))


def pdf_text(path: Path) -> str | None:
    if shutil.which("pdftotext") is None:
        return None
    done = subprocess.run(["pdftotext", str(path), "-"], capture_output=True, check=True)
    return re.sub(r"\s+", " ", done.stdout.decode("utf-8"))


def reports(run: Run) -> dict[str, Path]:
    out = run.catalog.report_locale_dir(run.period, "en")
    return {p.name: p for p in sorted(out.iterdir()) if p.is_file()}


def assert_every_report_is_written(
    run: Run, branches: list[str], formats: tuple[str, ...] = ("html", "pdf")
) -> None:
    files = reports(run)
    expected = {"index.html"} | {f"network.{ext}" for ext in formats}
    expected |= {f"branch-{b}.{ext}" for b in branches for ext in formats}
    assert set(files) == expected
    for name, path in files.items():
        if name.endswith(".pdf"):
            assert path.read_bytes()[:5] == b"%PDF-" and path.stat().st_size > 20_000


def manifest(run: Run) -> dict:
    return json.loads(run.catalog.ingest_manifest.read_text(encoding="utf-8"))


def card(run: Run) -> dict:
    return json.loads(run.catalog.model_card(run.period).read_text(encoding="utf-8"))


# --- the sample bank (conftest runs it once for the session) -------------------------
def test_sample_bank_runs_to_reports_with_every_part(sample_bank_run):
    run = Run(
        Catalog(sample_bank_run.data_dir, sample_bank_run.report_dir),
        sample_bank_run.period,
        sample_bank_run.run_output,
    )
    assert_every_report_is_written(run, ["B01", "B02"])
    network = text(reports(run)["network.html"])
    assert "CNY" in network and "no balances" not in network
    branch = text(reports(run)["branch-B01.html"])
    for absent in ("no such questionnaire", "no relationship-manager data", "no NPS"):
        assert absent not in branch
    assert "NPS (customer survey)" in branch


# --- the GB18030 example ----------------------------------------------------------------
@pytest.fixture(scope="module")
def cn_bank(tmp_path_factory) -> Run:
    root = tmp_path_factory.mktemp("cn_bank")
    sample = ["sample", "--customers", "1500", "--branches", "2", "--months", "14"]
    sample += ["--end-month", "2026-10", "--layout", "cn_bank_gb18030"]
    return run_source(root, "cn_bank_gb18030", "2026-10", sample)


def test_gb18030_example_runs_to_reports(cn_bank):
    tables = manifest(cn_bank)["tables"]
    assert set(tables) == {"customers", "transactions", "balances"}
    assert all(t["reject_rate"] < 0.01 for t in tables.values())
    assert manifest(cn_bank)["not_in_source"] == [
        "rm_contacts",
        "survey_responses",
        "staff_survey_responses",
    ]
    assert_every_report_is_written(cn_bank, ["上海分行", "北京分行"])
    branch = text(reports(cn_bank)["branch-北京分行.html"])
    assert "Branch 北京分行" in branch and "CNY" in branch
    # no questionnaire: one line per survey section, everything else renders
    assert branch.count("This bank's exports hold no such questionnaire.") == 2
    # RM ids in the customer file but no contact records: said, not shown as 0%
    assert "The exports hold no RM contact records" in branch
    assert "no contact records" in branch
    pdf = pdf_text(reports(cn_bank)["branch-北京分行.pdf"])
    assert pdf is None or ("北京分行" in pdf and "no such questionnaire" in pdf)


# --- Berka, the Czech bank ------------------------------------------------------------
@pytest.fixture(scope="module")
def berka(tmp_path_factory) -> Run:
    root = tmp_path_factory.mktemp("berka_run")
    link_raw(root, "berka", shared_data("berka"))
    return run_source(root, "berka", "1994-03", settings="report: {formats: [html]}\n")


@pytest.mark.realdata
def test_berka_runs_to_reports_for_a_1994_period(berka, tmp_path):
    kpis = berka.catalog.branch_kpis("1994-03")
    import pandas as pd

    branches = sorted(pd.read_parquet(kpis).query("scope == 'branch'")["branch_id"])
    assert len(branches) == 77
    assert_every_report_is_written(berka, branches, formats=("html",))
    network = text(reports(berka)["network.html"])
    assert "CZK" in network and "CNY" not in network
    assert card(berka)["clv"]["currency"] == "CZK"
    branch = text(reports(berka)["branch-1.html"])  # Prague
    assert "CZK" in branch and "CNY" not in branch
    # loans and cards are products beside the current account
    for product in ("Current deposit", "Loan", "Credit card"):
        assert product in branch
    assert branch.count("This bank's exports hold no such questionnaire.") == 2
    assert "no relationship-manager data" in branch
    glance = branch[: branch.index("Contents")]  # no RM target missed, no one to assign
    assert "AUM" in glance and "RM coverage" not in glance and "Assign an RM" not in glance
    # the PDFs of Prague's report and of the 77-branch network report, made from their
    # HTML as the report stage does
    for name in ("branch-1", "network"):
        html = reports(berka)[f"{name}.html"].read_text(encoding="utf-8")
        made = html_to_pdf(html, as_of_date("1994-03"))
        assert made[:5] == b"%PDF-" and len(made) > 20_000
        (tmp_path / f"{name}.pdf").write_bytes(made)
    pdf = pdf_text(tmp_path / "branch-1.pdf")
    assert pdf is None or ("CZK" in pdf and "Loan" in pdf)
    pdf = pdf_text(tmp_path / "network.pdf")
    assert pdf is None or ("CZK" in pdf and "CNY" not in pdf)


@pytest.mark.realdata
def test_berka_network_report_with_77_branches_leaves_no_page_part_empty(berka):
    # tables with a row per branch run over several pages: each starts where its section
    # does, instead of leaving the section's heading alone on a page
    import report_layout as rl

    pages = rl.layout(reports(berka)["network.html"].read_text(encoding="utf-8"))
    ends = rl.part_ends(pages)
    assert len(pages) > 10
    half_empty = [p.number for p in pages if p.number not in ends and rl.fill(p) < 0.5]
    assert half_empty == []


@pytest.mark.realdata
def test_berka_action_sections_with_nothing_to_act_on_share_a_page(berka):
    # no RM data, nobody on the watchlist: three one-line sections, not three pages
    import report_layout as rl

    pages = rl.layout(reports(berka)["branch-1.html"].read_text(encoding="utf-8"))
    opened = {text: page.number for page in pages for _, text in page.headings}
    actions = [EN["sec_assign"], EN["sec_watchlist"], EN["sec_rm_pages"]]
    assert len({opened[title] for title in actions}) == 1
    assert opened[EN["sec_kpis"]] == opened[EN["sec_assign"]] + 1  # the analysis: a new page
    # no questionnaire of either kind: the two survey sections say so on one page
    surveys = [EN["sec_survey_customer"], EN["sec_survey_staff"]]
    assert opened[surveys[0]] == opened[surveys[1]]
    assert opened[EN["sec_appendix_dq"]] == opened[surveys[0]] + 1
    # nobody digital in 1994, in any tier or branch: the table says 0.0%, no chart of zeros
    page = reports(berka)["branch-1.html"].read_text(encoding="utf-8")
    digital = page[page.index('id="digital"') : page.index('id="survey-customer"')]
    assert "<table" in digital and "<img" not in digital


@pytest.mark.realdata
def test_berka_value_without_revenue_is_said_not_hidden(berka):
    clv = card(berka)["clv"]
    assert clv["value_model"] == "observed_mean"
    said = " ".join(clv["warnings"])
    assert "no customer-initiated event carries a value, so transaction CLV is 0" in said


# --- Online Retail II, a card-spend export without balances -----------------------------
@pytest.fixture(scope="module")
def online_retail(tmp_path_factory) -> Run:
    root = tmp_path_factory.mktemp("online_retail")
    link_raw(root, "online_retail_ii", shared_data("online_retail_ii_2009_2010"))
    return run_source(root, "online_retail_ii", None)  # the latest complete month


@pytest.mark.realdata
def test_online_retail_runs_to_reports_with_the_usual_preparation(online_retail):
    assert online_retail.period == "2010-11"
    tables = manifest(online_retail)["tables"]
    txns = tables["transactions"]
    # the dataset's README: 19,213 invoices from 4,312 customers
    assert (txns["accepted"], tables["customers"]["accepted"]) == (19213, 4312)
    assert txns["lines_read"] == 525461
    assert txns["lines_excluded"] == {
        "no_customer_id": 107927,
        "cancellation": 9839,
        "not_a_sale": 31,
    }
    assert txns["lines_merged"] == 525461 - 107927 - 9839 - 31 - 19213
    assert_every_report_is_written(online_retail, ["UK", "international"])
    branch = text(reports(online_retail)["branch-UK.html"])
    assert "GBP" in branch and "CNY" not in branch
    assert "This bank's exports hold no balances" in branch
    assert "Value from transactions only" in branch
    assert "no relationship-manager data" in branch
    # nothing the exports do not hold is shown as a figure, a target or an action:
    # no AUM (no balances), no RM coverage, no one "to assign" (no RM data)
    glance = branch[: branch.index("Contents")]
    assert "AUM" not in glance and "RM coverage" not in glance and "Assign an RM" not in glance
    assert EN["kpi_attrition"] not in glance  # who left is seen from balance snapshots
    assert "whether a customer has an RM is not known, so no one is listed to assign" in branch
    assert "No RM data: RM coverage" in branch  # said once under the KPI table
    # the watchlist does not ask for RMs to be assigned where none are recorded
    assert EN["watchlist_lead_no_rm"] in branch and EN["watchlist_lead"] not in branch
    # no churn model (a year of data): value at risk is weighted with 1 - P(alive), and
    # the lists show that probability beside it, not "n/a", and say where it comes from
    scores = pd.read_parquet(online_retail.catalog.customer_scores(online_retail.period))
    assert scores["churn_probability"].isna().all()
    listed = pd.read_csv(
        online_retail.catalog.watchlist(online_retail.period, "UK"), dtype={"customer_id": str}
    )
    mine = scores.set_index("customer_id").loc[listed["customer_id"]]
    np.testing.assert_allclose(listed["churn_probability"], (1 - mine["p_alive"]).round(4))
    np.testing.assert_allclose(mine["value_at_risk"], mine["clv"] * mine["leave_probability"])
    assert EN["risk_from_p_alive"] in branch
    # and a customer silent for at least two of their usual gaps (BTYD times in weeks) has
    # that silence as the first reason, not "no warning sign"
    gap = (mine["btyd_recency"] / mine["btyd_frequency"] * 7).to_numpy()
    silent = ((mine["btyd_T"] - mine["btyd_recency"]) * 7).to_numpy()
    long_silent = (mine["btyd_frequency"] >= 1).to_numpy() & (silent >= 2 * gap)
    assert long_silent.sum() >= len(listed) // 2
    first = listed["reason_codes"].fillna("").str.split(";").str[0].to_numpy()
    assert list(first[long_silent]) == [
        f"btyd_silence:{number_text(s)}:{number_text(g)}"
        for s, g in zip(silent[long_silent], gap[long_silent], strict=True)
    ]
    assert not any(c.startswith("btyd_silence") for c in first[~long_silent])
    # the list to download says what the page does: AUM not known (empty), not 0
    out = online_retail.catalog.report_locale_dir(online_retail.period, "en")
    download = out / "downloads" / "watchlist-UK.csv"
    rows = list(csv.DictReader(io.StringIO(download.read_text(encoding="utf-8-sig"))))
    assert [r["Customer id"] for r in rows] == list(listed["customer_id"])
    assert {r["AUM"] for r in rows} == {""}
    # with no RM to call, the first page names the first on the watchlist, and why
    assert f"First on the watchlist: customer {listed['customer_id'].iloc[0]}, " in glance
    # the RFM table has no AUM column to fill with "no balances", value no AUM Gini card
    page = reports(online_retail)["branch-UK.html"].read_text(encoding="utf-8")
    start = page.index('id="rfm"')
    rfm = page[start : page.index("</table>", start)]
    assert re.findall(r'<th class="num">([^<]*)</th>', rfm) == [
        "Customers",
        "Share of customers",
        "Avg. recency (days)",
        "Avg. transactions",
        "Avg. monetary",
    ]
    start = page.index('id="clv"')
    assert EN["kpi_gini"] not in page[start : page.index("</table>", start)]
    # nor digital adoption by tier (every customer is in the lowest tier): the rate alone
    digital = page[page.index('id="digital"') : page.index('id="survey-customer"')]
    assert "<table" not in digital and "<img" not in digital
    assert "Digital adoption: <strong>100.0%</strong>" in digital
    html_of = reports(online_retail)["branch-UK.html"].read_text(encoding="utf-8")
    start = html_of.index('<table class="compact sortable filterable actions watchlist')
    watchlist = html_of[start : html_of.index("</table>", start)]
    assert watchlist.count("<tr>") > 10  # nor on the watchlist: no RM, AUM or contact to show
    assert EN["no_rm_assign"] not in watchlist and "£0.00" not in watchlist
    assert watchlist.count(", usually active every ") >= len(listed) // 2
    assert watchlist.count(f'<td class="muted">{EN["not_available"]}</td>') == 2 * (
        watchlist.count("<tr>") - 1
    )
    network = reports(online_retail)["network.html"].read_text(encoding="utf-8")
    start = network.index('<table class="league')
    league = network[start : network.index("</table>", start)]
    heads = re.findall(r'<th class="num">([^<]*)</th>', league)
    # nor a column no branch has a figure for: attrition (an AUM fall: no balances) and
    # the high-churn-risk share (no churn model)
    assert heads == ["Customers", "Dormant", "Digital adoption", "CLV at risk"]
    start = network.index('<table class="compact sortable branch-risk')
    risk = network[start : network.index("</table>", start)]
    heads = re.findall(r'<th class="num">([^<]*)</th>', risk)
    assert heads == ["Active", "Value at risk", "Share of CLV", "High value"]
    clv = card(online_retail)["clv"]
    assert clv["value_basis"] == "transactions only: no balances"
    assert clv["gamma_gamma"]["status"] == "ok" and clv["gamma_gamma"]["parameters"]["q"] > 1


def test_online_retail_in_chinese_leaves_no_english_but_the_banks_own_names(online_retail):
    """A real export read in zh_CN: every Latin word on the pages is a name Chinese
    reports keep (AUM, CLV, ...) or one the bank wrote -- its branch ids, its currency's
    code -- never an English sentence. The optional customer columns it does not have
    are declared `absent` in its source config: no warning about them (the words of the
    warnings themselves: test_report_words)."""
    from test_report_render import ALLOWED_LATIN, latin_words, visible

    run, args = online_retail, ["--data-dir", str(online_retail.catalog.data_dir)]
    args += ["--report-dir", str(online_retail.catalog.report_dir)]
    done = CliRunner().invoke(
        cli,
        [
            *args,
            "--config",
            str(run.catalog.data_dir.parent / "bank.yml"),
            "report",
            "--period",
            run.period,
            "--locale",
            "zh_CN",
        ],
    )
    assert done.exit_code == 0, done.output
    assert manifest(run)["findings"] == []
    banks_own = {"UK", "international", "GBP"}
    out = run.catalog.report_locale_dir(run.period, "zh_CN")
    for name in ("branch-UK.html", "network.html", "index.html"):
        words = latin_words(visible(out / name))  # what a reader sees, scripts left out
        assert words - ALLOWED_LATIN - banks_own == set(), name
