"""The report's view of the effect of an RM's call: exact values from a hand-made model
card section, and what a branch report says when the lists are or are not ranked by it."""

from __future__ import annotations

import re

import pandas as pd
import pytest
from test_report_fixtures import EFFECT_CARD as CARD

from pipeline.report import context_actions as ac
from pipeline.report import context_effect as ce
from pipeline.report.environment import NA


def test_ranking_says_how_the_lists_are_ranked_and_why():
    assert ce.ranking(CARD) == {"by_effect": True, "status": "ok", "contact_cost": 5.0}
    fallback = {"status": "fallback", "ranking": "value_at_risk", "contact_cost": 5.0}
    assert ce.ranking(fallback)["by_effect"] is False
    assert ce.ranking(fallback)["status"] == "fallback"
    # a card from before the effect existed: not estimated, ranked by value at risk
    assert ce.ranking({}) == {"by_effect": False, "status": "not_estimated", "contact_cost": NA}


def test_lists_figures_read_the_branch_figures():
    row = pd.Series(
        {"call_list_customers": 12, "expected_value_saved": 345.5, "do_not_call_customers": 2}
    )
    assert ce.lists_figures(row) == {
        "calls": 12.0,
        "expected_value_saved": 345.5,
        "do_not_call": 2.0,
    }


def test_closed_loop_rows_network_and_branch():
    (net,) = ce.closed_loop_rows(CARD, None)
    assert net == {
        "period": "2026-06",
        "months": 1.0,
        "contacted": 40.0,
        "contacted_rate": 0.05,
        "not_contacted": 60.0,
        "not_contacted_rate": 0.1,
        "difference": {"value": 0.05, "low": -0.05, "high": 0.15},
        "expected": 0.01,
    }
    (b01,) = ce.closed_loop_rows(CARD, "B01")
    assert b01["contacted"] == 10.0 and b01["not_contacted_rate"] is NA
    assert b01["difference"] == {"value": NA, "low": NA, "high": NA}
    assert ce.closed_loop_rows(CARD, "B09") == []  # a branch without listed customers


def test_effect_appendix_exact_values():
    e = ce.effect_appendix(CARD)
    assert e["estimated"] and e["by_effect"] and e["message"] is None
    assert (e["windows"], e["customers"], e["contacted"]) == (2.0, 1000.0, 120.0)
    assert [q["q"] for q in e["quantiles"]] == [0.01, 0.5, 0.99]  # in order, as numbers
    assert e["average"] == {"value": 0.004, "low": -0.001, "high": 0.009}
    assert e["naive"] == -0.016
    assert e["relative"]["overall"] == 0.25
    assert e["relative"]["low"] == pytest.approx(0.25 - 1.96 * 0.1)
    assert e["relative"]["high"] == pytest.approx(0.25 + 1.96 * 0.1)
    assert [r["shrunk"] for r in e["relative"]["rows"]] == [0.15, 0.4]
    assert e["by_branch"][0]["effect"] == {"value": NA, "low": NA, "high": NA}
    assert e["check"]["versus"] == {"value": 400.0, "low": -100.0, "high": 900.0}
    assert e["check"]["value_saved"]["churn_risk"] == -50.0
    assert len(e["closed_loop"]) == 1


def test_effect_appendix_without_an_estimate_keeps_the_reason():
    card = {"status": "not_estimated", "ranking": "value_at_risk", "message": "too few contacts"}
    e = ce.effect_appendix(card)
    assert not e["estimated"] and not e["by_effect"]
    assert e["message"] == "too few contacts" and "check" not in e


def test_rm_pages_split_calls_from_do_not_call():
    from pipeline.report.reasons import ReasonWords

    books = pd.DataFrame(
        {
            "rm_id": ["R1"],
            "customers": [3],
            "high_value_customers": [1],
            "clv": [900.0],
            "value_at_risk": [300.0],
            "contacted_share": [0.5],
            "expected_value_saved": [42.0],
        }
    )
    calls = pd.DataFrame(
        {
            "rank": [1, 2, 3],
            "customer_id": ["C1", "C2", "C3"],
            "rm_id": ["R1"] * 3,
            "tier": ["mass"] * 3,
            "aum": [1.0] * 3,
            "clv": [100.0, 200.0, 600.0],
            "churn_probability": [0.2, 0.3, 0.4],
            "value_at_risk": [20.0, 60.0, 240.0],
            "high_value": [False, False, True],
            "reason_codes": [None] * 3,
            "last_contact_date": [None] * 3,
            "contact_effect": [0.1, 0.2, -0.05],
            "value_saved": [5.0, 35.0, -35.0],
            "action": ["call", "call", "do not call"],
        }
    )
    (page,) = ac.rm_pages(books, {"R1": calls}, ("mass",), 2, ReasonWords("en", "CNY", ("mass",)))
    assert [r["customer_id"] for r in page["calls"]] == ["C1", "C2"]
    assert [r["customer_id"] for r in page["do_not_call"]] == ["C3"]
    assert page["do_not_call"][0]["contact_effect"] == -0.05
    assert page["expected_value_saved"] == 42.0
    assert page["call_value_at_risk"] == 80.0  # the calls only


# ---- rendered: the branch report's RM pages and the network appendix -----------------


@pytest.fixture(scope="module")
def effect_reports(tmp_path_factory):
    """The small bank with call lists ranked by the effect of a call, in both locales
    (HTML: what these tests read)."""
    from test_report_fixtures import PERIOD, make_bank

    from pipeline.report.stage import run_report

    root = tmp_path_factory.mktemp("effect")
    cfg, catalog = make_bank(root, effect=True)
    cfg["report"]["formats"] = ["html"]
    run_report(cfg, catalog, PERIOD)
    cfg_zh, _ = make_bank(root / "zh", effect=True, locale="zh_CN")
    cfg_zh["paths"] = cfg["paths"]
    cfg_zh["report"]["formats"] = ["html"]
    run_report(cfg_zh, catalog, PERIOD)
    return catalog, PERIOD


def _text(path) -> str:
    from test_report_render import visible

    return visible(path)


@pytest.mark.slow
def test_branch_report_ranks_calls_by_value_saved_and_says_whom_not_to_call(effect_reports):
    from pipeline.report.environment import format_money, format_num
    from pipeline.report.i18n import labels

    catalog, period = effect_reports
    en = labels("en")
    books = pd.read_parquet(catalog.rm_books(period))
    b01 = books[books["branch_id"].astype(str) == "B01"]
    harmful = set()
    for rm in b01["rm_id"].astype(str):
        calls = pd.read_csv(catalog.call_list(period, "B01", rm), dtype={"customer_id": str})
        harmful |= set(calls.loc[calls["action"] == "do not call", "customer_id"])
    assert harmful, "the fixture has a customer not to call in B01"
    text = _text(catalog.branch_report(period, "B01", "html", "en"))
    assert "Ranked by expected value saved" in text
    assert en["do_not_call_title"] in text and en["do_not_call_note"] in text
    for customer in harmful:
        assert customer in text
    # each call's value saved as the list holds it, small ones with their cents (a value of
    # 0.11 read "CN¥0", as if the call saved nothing)
    html = catalog.branch_report(period, "B01", "html", "en").read_text(encoding="utf-8")
    for rm in b01["rm_id"].astype(str):
        calls = pd.read_csv(catalog.call_list(period, "B01", rm), dtype={"customer_id": str})
        for v in calls.loc[calls["action"] == "call", "value_saved"]:
            shown = format_money(v, currency="CNY", locale="en", compact=True)
            assert re.search(rf'class="num strong" data-sort="[^"]*">{re.escape(shown)}</td>', html)
    # the branch's lists, as branch_scores counts them
    row = pd.read_parquet(catalog.branch_scores(period)).set_index("branch_id").loc["B01"]
    saved = format_money(row["expected_value_saved"], currency="CNY", locale="en", compact=True)
    assert (
        en["lists_saved"].format(
            calls=format_num(float(row["call_list_customers"]), locale="en"),
            saved=saved,
            do_not_call=format_num(float(row["do_not_call_customers"]), locale="en"),
        )
        in text
    )
    # what the earlier lists did, for this branch only
    assert en["closed_loop_title"] in text and en["closed_loop_note"] in text


@pytest.mark.slow
def test_network_appendix_shows_the_effects_assumptions_and_checks(effect_reports):
    from pipeline.report.i18n import labels

    catalog, period = effect_reports
    en, zh = labels("en"), labels("zh_CN")
    html = catalog.network_report(period, "html", "en").read_text(encoding="utf-8")
    text = _text(catalog.network_report(period, "html", "en"))
    for key in (
        "effect_title",
        "effect_assumptions",
        "effect_by_segment",
        "effect_by_tier",
        "effect_by_branch",
        "closed_loop_title",
        "effect_check_note",
    ):
        assert en[key] in text, key
    assert en["chart_gain_title"] in html  # the gain chart's caption
    zh_text = _text(catalog.network_report(period, "html", "zh_CN"))
    assert zh["effect_title"] in zh_text and zh["effect_assumptions"] in zh_text


@pytest.mark.slow
def test_call_list_download_says_the_action_in_words(effect_reports):
    from pipeline.report.i18n import labels

    catalog, period = effect_reports
    folder = catalog.report_locale_dir(period, "zh_CN") / "downloads"
    frames = [pd.read_csv(p, encoding="utf-8-sig") for p in folder.glob("calls-B01-*.csv")]
    zh = labels("zh_CN")
    actions = set(pd.concat(frames)[zh["call_action"]])
    assert actions == {zh["action_call"], zh["action_do_not_call"]}
    assert zh["contact_effect"] in frames[0].columns and zh["value_saved"] in frames[0].columns


@pytest.mark.slow
def test_without_the_effect_the_lists_say_they_are_ranked_by_value_at_risk(tmp_path):
    from test_report_fixtures import PERIOD, make_bank

    from pipeline.report.i18n import labels
    from pipeline.report.stage import run_report

    cfg, catalog = make_bank(tmp_path)
    cfg["report"]["formats"] = ["html"]
    run_report(cfg, catalog, PERIOD)
    en = labels("en")
    text = _text(catalog.branch_report(PERIOD, "B01", "html", "en"))
    assert f"{en['ranked_by_var']} {en['effect_status_not_estimated']}" in text
    assert en["do_not_call_title"] not in text
    assert en["closed_loop_none"] in text


@pytest.mark.slow
def test_the_first_page_says_whom_to_call_first_by_value_saved(effect_reports):
    from pipeline.report.environment import format_money
    from pipeline.report.i18n import labels

    catalog, period = effect_reports
    books = pd.read_parquet(catalog.rm_books(period))
    lists = [
        pd.read_csv(catalog.call_list(period, "B01", rm), dtype={"customer_id": str, "rm_id": str})
        for rm in books.loc[books["branch_id"].astype(str) == "B01", "rm_id"].astype(str)
    ]
    calls = pd.concat(lists)
    top = calls[calls["action"] == "call"].sort_values("value_saved", ascending=False).iloc[0]
    saved = format_money(top["value_saved"], currency="CNY", locale="en", compact=True)
    said = labels("en")["story_call_saved"].format(
        customer=top["customer_id"], rm=top["rm_id"], saved=saved, reason=""
    )
    text = _text(catalog.branch_report(period, "B01", "html", "en"))
    assert said.split(": .")[0] in text  # up to the reason


def test_segments_read_as_words_in_both_locales():
    columns = ["tier", "digital_enrolled"]
    assert ce.segment_words("affluent / False", columns, "en") == (
        "Affluent · not enrolled in digital banking"
    )
    assert ce.segment_words("mass / True", columns, "zh_CN") == "大众客户 · 已开通数字银行"
    # a segment not made of the configured columns' values stays as the card says it
    assert ce.segment_words("affluent", columns, "en") == "affluent"
    rows = ce.effect_appendix(CARD, "zh_CN")["relative"]["rows"]
    assert [r["segment"] for r in rows] == ["大众客户", "财富客户"]


def test_a_switched_off_estimate_is_said_as_such():
    card = {"status": "switched_off", "ranking": "value_at_risk", "contact_cost": 5.0}
    assert ce.ranking(card) == {"by_effect": False, "status": "switched_off", "contact_cost": 5.0}
