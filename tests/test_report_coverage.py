"""What the bank's exports hold, as the reports say it (pipeline.report.context_data), and
the bank's own currency and tiers from its source config (pipeline.config)."""

from __future__ import annotations

import csv
import io
from dataclasses import replace
from datetime import date
from pathlib import Path

import pandas as pd
import pytest

from pipeline.config import load_config
from pipeline.errors import ConfigError
from pipeline.report import context_data as cd
from pipeline.report import context_kpis as kp
from pipeline.report import glance
from pipeline.report.context_network import LEAGUE, LEAGUE_WIDTH, LEAGUE_WIDTHS, column_widths
from pipeline.report.downloads import list_files
from pipeline.report.environment import NA, NO_PREVIOUS
from pipeline.report.i18n import labels
from pipeline.report.reasons import ReasonWords


def network(rm_count) -> pd.Series:
    return pd.Series({"rm_count": rm_count, "customers": 10.0}, dtype=object)


SURVEY_OK = {"status": "ok", "n_responses": 40, "nps_item": "nps"}


@pytest.mark.parametrize(
    "absent,rm_count,survey,expected",
    [
        ([], 3.0, SURVEY_OK, cd.Coverage(True, "ok", True)),
        # a card-spend export: no balances, no RM, no questionnaire
        (
            ["balances", "rm_contacts", "survey_responses", "staff_survey_responses"],
            0.0,
            {"status": "not available: survey_responses not ingested"},
            cd.Coverage(False, "none", False),
        ),
        # RM ids on customers but no contact records (the GB18030 example)
        (["rm_contacts"], 12.0, SURVEY_OK, cd.Coverage(True, "no_contacts", True)),
        # a survey without an NPS question
        ([], float("nan"), {**SURVEY_OK, "nps_item": None}, cd.Coverage(True, "ok", False)),
        # a survey with no response in the period has no NPS to show
        ([], 1.0, {**SURVEY_OK, "n_responses": 0}, cd.Coverage(True, "ok", False)),
    ],
)
def test_coverage_from_manifest_kpis_and_survey(absent, rm_count, survey, expected):
    assert cd.coverage({"not_in_source": absent}, network(rm_count), survey) == expected


def test_an_older_manifest_without_the_list_means_everything_is_there():
    assert cd.coverage({}, network(2.0), SURVEY_OK) == cd.Coverage(True, "ok", True)


def test_kpis_the_exports_cannot_give_are_left_out_and_said_once():
    row = pd.Series(
        {
            "customers": 10.0,
            "aum": 0.0,
            "gini_aum": float("nan"),
            "rm_coverage": 0.0,
            "rm_contact_coverage": 0.0,
            "customers_per_rm": float("nan"),
        },
        dtype=object,
    )
    rows = kp.headline_kpis(row, row, None)
    cov = cd.Coverage(balances=False, rm="no_contacts", nps=True)
    masked = cd.masked(rows, cov)
    by_label = {r["label"]: r for r in masked}
    assert by_label["kpi_aum"]["value"] is cd.NO_BALANCES
    assert by_label["kpi_aum"]["network"] is cd.NO_BALANCES
    assert by_label["kpi_rm_contacted"]["value"] is cd.NO_RM_CONTACTS
    assert by_label["kpi_rm_coverage"]["value"] == 0.0  # RM ids exist: coverage is real
    assert by_label["kpi_customers"]["previous"] is NO_PREVIOUS
    shown, left = cd.left_out(masked)
    assert [r["label"] for r in shown] == [
        "kpi_customers",
        "kpi_new",
        "kpi_closed",
        "kpi_dormant_share",
        "kpi_digital_adoption",
        "kpi_rm_coverage",
        "kpi_customers_per_rm",
    ]
    assert left == [
        {
            "reason": "no_balances",
            "kpis": [
                "kpi_aum",
                "kpi_long_tail_share",
                "kpi_gini",
                "kpi_top10",
                "kpi_products_per_customer",
            ],
        },
        {"reason": "no_rm_contacts", "kpis": ["kpi_rm_contacted"]},
    ]


def test_league_columns_fill_the_page_whatever_the_exports_leave_out():
    every = [k.label for k in LEAGUE]
    assert column_widths(every, LEAGUE_WIDTHS, LEAGUE_WIDTH) == ["8", "9", "11"] + ["8"] * 9
    # a card-spend export: no AUM, products, RM or NPS columns; 8 + 9 + 8 x 5 = 57 parts
    kept = ["league_customers", "league_dormant", "league_digital"]
    kept += ["league_attrition", "league_high_risk", "league_var_share"]
    widths = column_widths(kept, LEAGUE_WIDTHS, LEAGUE_WIDTH)
    assert widths == ["14", "15.8"] + ["14"] * 5  # 800/57, 900/57
    assert sum(float(w) for w in widths) == pytest.approx(100, abs=0.5)


MONTHS = ["2026-09", "2026-10"]
HISTORY = pd.DataFrame(
    {
        "period": MONTHS,
        "customers": [100.0, 104.0],
        "aum": [0.0, 0.0],  # a card-spend export: no balances, so no AUM
        "rm_coverage": [0.0, 0.0],  # no RM data: 0%, which is not a fact
        "rm_contact_coverage": [0.0, 0.0],
        "attrition_rate": [0.01, 0.03],  # red: past the amber line
        "dormant_share": [0.3, 0.6],  # red too, and known without balances
        "digital_adoption": [0.6, 0.7],
    }
)
SCORE_HISTORY = pd.DataFrame({"period": MONTHS, "value_at_risk": [50.0, 60.0]})
TARGETS = {
    "rm_coverage": (0.9, 0.75),
    "attrition_rate": (0.015, 0.025),
    "dormant_share": (0.4, 0.5),
}


def test_first_page_tiles_leave_out_what_the_exports_cannot_give():
    def keys(cov):
        tiles = glance.tiles(HISTORY, SCORE_HISTORY, None, None, MONTHS, TARGETS, "en", "CNY", cov)
        return [t["key"] for t in tiles]

    everything = ["customers", "aum", "value_at_risk", "rm_coverage", "rm_contact_coverage"]
    everything += ["nps", "attrition_rate", "dormant_share", "digital_adoption"]
    assert keys(cd.Coverage(True, "ok", True)) == everything
    # attrition is seen from balance snapshots: without them it is not known either
    assert keys(cd.Coverage(False, "none", False)) == [
        "customers",
        "value_at_risk",
        "dormant_share",
        "digital_adoption",
    ]
    assert "rm_contact_coverage" not in keys(cd.Coverage(True, "no_contacts", True))
    # so the story's KPI furthest from its target is a real one, not RM coverage at 0%
    tiles = glance.tiles(
        HISTORY,
        SCORE_HISTORY,
        None,
        None,
        MONTHS,
        TARGETS,
        "en",
        "CNY",
        cd.Coverage(False, "none", False),
    )
    told = glance.story(facts(tiles), "en", "CNY")
    t = labels("en")
    assert told[0] == "Since Sep 2026, active customers rose by 4 to 104."
    assert "AUM" not in told[0]
    assert told[2] == t["story_target"].format(
        kpi=t["kpi_dormant_share"], value="60.0%", target="40.0%"
    )


def test_without_an_rm_to_call_the_story_names_the_first_on_the_watchlist():
    # no RM data (Online Retail): nobody listed has an RM, nobody is listed to assign
    listed = pd.DataFrame(
        {"customer_id": ["17448", "15768"], "rm_id": [None, None], "value_at_risk": [11.1, 8.9]}
    )
    silent = "silent for 123 days, usually active every 9 days"
    told = glance.story(replace(facts([]), watchlist=listed, first_reason=silent), "en", "GBP")
    t = labels("en")
    assert told[-1] == t["story_first_listed"].format(customer="17448", var="£11.10", reason=silent)
    assert told[-1] == (
        "First on the watchlist: customer 17448, with £11.10 at risk: silent for 123 days, "
        "usually active every 9 days."
    )
    # with nobody listed it says so, as before
    assert glance.story(facts([]), "en", "GBP")[-1] == t["story_nobody"]


def test_lists_to_download_leave_aum_empty_where_the_exports_hold_no_balances():
    from openpyxl import load_workbook

    listed = pd.DataFrame(
        {
            "rank": [1],
            "customer_id": ["17448"],
            "rm_id": [None],
            "tier": ["mass"],
            "aum": [0.0],
            "monthly_profit": [0.0],
            "clv": [15.06],
            "churn_probability": [0.7371],
            "value_at_risk": [11.1],
            "high_value": [False],
            "reason_codes": ["btyd_silence:123:8.70588"],
            "last_contact_date": [None],
        }
    )
    words = ReasonWords("en", "GBP", ("mass",))

    def row(balances: bool) -> tuple[list[str], tuple]:
        files = list_files("watchlist-UK", listed, words, date(2010, 11, 30), balances)
        text = files["watchlist-UK.csv"].decode("utf-8-sig").splitlines()[1]
        sheet = load_workbook(io.BytesIO(files["watchlist-UK.xlsx"])).active
        return next(csv.reader([text])), list(sheet.iter_rows(values_only=True))[1]

    cells, sheet = row(balances=False)
    assert cells[:6] == ["1", "17448", "", "Mass", "", "0.0"]  # AUM unknown, profit 0
    assert sheet[4] is None and sheet[5] == 0
    assert cells[10] == "silent for 123 days, usually active every 9 days"
    cells, sheet = row(balances=True)
    assert cells[4] == "0.0" and sheet[4] == 0


def facts(tiles: list[dict]) -> glance.StoryFacts:
    empty = pd.DataFrame()
    return glance.StoryFacts(
        month="2026-10",
        previous_month="2026-09",
        customers=(104.0, 100.0),
        aum=(None, None),
        value_at_risk=(60.0, 50.0),
        value_at_risk_share=0.01,
        high_value_at_risk=30.0,
        horizon_months=3,
        tiles=tiles,
        unassigned=empty,
        watchlist=empty,
        rm_books=empty,
        first_reason="",
    )


def tiers(*shares: float) -> list[dict]:
    return [
        {"tier": name, "customer_share": s}
        for name, s in zip(("mass", "affluent", "wealth"), shares, strict=False)
    ]


def test_a_tier_holding_95_percent_of_customers_is_flagged():
    assert cd.tier_concentration(tiers(0.95, 0.05, 0.0)) == {
        "tier": "mass",
        "share": 0.95,
        "threshold": 0.95,
    }
    assert cd.tier_concentration(tiers(0.9499, 0.0501, 0.0)) is None
    assert cd.tier_concentration([{"tier": "mass", "customer_share": NA}]) is None


# --- the bank's currency and tiers, from its source config -----------------------------
def test_a_source_config_sets_the_currency_and_tiers_of_its_bank():
    berka = load_config(overrides={"source": "berka"})
    assert berka["currency"] == "CZK"
    assert [t["min_aum"] for t in berka["tiers"]] == [0, 40000, 80000, 200000]
    assert load_config(overrides={"source": "online_retail_ii"})["currency"] == "GBP"
    sample = load_config()
    assert sample["currency"] == "CNY" and sample["tiers"][1]["min_aum"] == 50000


def test_a_user_config_beats_the_source_config(tmp_path: Path):
    user = tmp_path / "user.yml"
    user.write_text("source: berka\ncurrency: EUR\n", encoding="utf-8")
    cfg = load_config(user)
    assert cfg["currency"] == "EUR"  # the user's
    assert cfg["tiers"][1]["min_aum"] == 40000  # still the source's


def test_a_source_configs_tiers_are_checked_like_the_users(tmp_path: Path):
    source = tmp_path / "bank.yml"
    source.write_text(
        "name: bank\nraw_dir: bank\ncustomer_initiated_txn_types: [x]\n"
        "tiers: [{name: mass, min_aum: 0}, {name: rich, min_aum: 0}]\n"
        "tables: {customers: {files: c.csv}, transactions: {files: t.csv}}\n",
        encoding="utf-8",
    )
    with pytest.raises(ConfigError, match=r"tiers\[1\].min_aum: thresholds must increase"):
        load_config(overrides={"source": str(source)})
    source.write_text(
        source.read_text().replace("{name: rich, min_aum: 0}", "{name: rich, min_aum: 9}"),
        encoding="utf-8",
    )
    with pytest.raises(ConfigError, match=r"rm_tiers: 'affluent' is not a tier"):
        load_config(overrides={"source": str(source)})  # its tiers need its own rm_tiers


RM_ROWS = [
    {"tier": "affluent", "customers": 10.0, "with_rm": 0.5, "contacted": 0.2,
     "network_with_rm": 0.6, "network_contacted": 0.3},
    {"tier": "wealth", "customers": 2.0, "with_rm": 1.0, "contacted": 0.5,
     "network_with_rm": 0.9, "network_contacted": 0.4},
]  # fmt: skip


def test_without_contact_records_nobody_is_shown_as_contacted_or_not():
    """Coverage by tier, an RM's book and page: the contacted share is the reason, never 0%."""
    cov = cd.Coverage(balances=True, rm="no_contacts", nps=True)
    book = {"rm_id": "RM1", "customers": 12.0, "contacted": 0.0}
    got = cov.unknown_contacts([*RM_ROWS, book])
    assert [r["contacted"] for r in got] == [cd.NO_RM_CONTACTS] * 3
    assert [r.get("network_contacted") for r in got] == [cd.NO_RM_CONTACTS] * 2 + [None]
    assert [r["with_rm"] for r in got[:2]] == [0.5, 1.0]  # RM ids exist: coverage is real
    assert cd.Coverage(True, "ok", True).unknown_contacts(RM_ROWS) == RM_ROWS


@pytest.mark.parametrize(
    "data,rows,series",
    [
        ({"rm": "ok", "balances": True}, RM_ROWS, {"with": [0.5, 1.0], "in 90": [0.2, 0.5]}),
        ({"rm": "no_contacts", "balances": True}, RM_ROWS, {"with": [0.5, 1.0]}),
        ({"rm": "ok", "balances": False}, RM_ROWS, None),  # no tiers
        ({"rm": "none", "balances": True}, RM_ROWS, None),
        (
            {"rm": "ok", "balances": True},
            [{**r, "customers": 0.0, "with_rm": NA, "contacted": NA} for r in RM_ROWS],
            None,  # nobody in an RM-managed tier: bars of zero
        ),
    ],
)
def test_the_rm_chart_draws_only_what_is_known(data, rows, series):
    from pipeline.report.figures import rm_series

    words = {"with_rm": "with", "contacted": "in {days}"}
    assert rm_series(rows, data, words, 90) == series
