"""Appendix B's drift table: numbers from the model card's drift section, the shifted
label in both locales, and a reason (never a blank or a made-up PSI) where none exists."""

from __future__ import annotations

import re

import pytest

from pipeline.report.context_drift import drift_rows, drift_table, shifted_count
from pipeline.report.environment import NA, NotAvailable, make_environment
from pipeline.report.i18n import labels

CARD = {
    "drift": {
        "previous_period": "2026-09",
        "threshold": 0.25,
        "previous_scores": False,
        "measures": [
            {"measure": "aum", "kind": "feature", "psi": 0.4125, "shifted": True, "reason": None},
            {
                "measure": "frequency",
                "kind": "feature",
                "psi": 0.02,
                "shifted": False,
                "reason": None,
            },
            {
                "measure": "p_alive",
                "kind": "score",
                "psi": None,
                "shifted": False,
                "reason": "no_previous",
            },
            {
                "measure": "churn_probability",
                "kind": "score",
                "psi": None,
                "shifted": False,
                "reason": "no_previous_values",
            },
        ],
    }
}


def test_rows_carry_psi_flag_or_the_reason_there_is_none() -> None:
    rows = drift_rows(CARD["drift"])
    assert [(r["measure"], r["psi"], r["shifted"]) for r in rows] == [
        ("aum", 0.4125, True),
        ("frequency", 0.02, False),
        ("p_alive", NotAvailable("drift_no_previous"), False),
        ("churn_probability", NotAvailable("drift_no_previous_values"), False),
    ]
    assert shifted_count(rows) == 1


def test_table_and_a_card_without_drift() -> None:
    table = drift_table(CARD)
    assert (table["available"], table["previous_period"], table["threshold"]) == (
        True,
        "2026-09",
        0.25,
    )
    assert table["shifted"] == 1 and len(table["rows"]) == 4
    old = drift_table({"warnings": []})
    assert old == {
        "available": False,
        "previous_period": NA,
        "threshold": NA,
        "rows": [],
        "shifted": 0,
    }


def _text(html: str) -> str:
    text = re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", html)).strip()
    return text.replace("\u2060", "")  # zh_CN: the word joiners that keep words whole


@pytest.mark.parametrize(
    "locale, shifted, measure, missing",
    [
        ("en", "shifted", "AUM 0.412 shifted", "P(alive) no previous period –"),
        ("zh_CN", "已偏移", "资产管理规模（AUM） 0.412 已偏移", "存活概率 P(alive) 无上期数据 –"),
    ],
)
def test_partial_shows_psi_and_flags_only_shifted_measures(locale, shifted, measure, missing):
    env = make_environment(locale, "CNY")
    html = env.get_template("partials/drift.html").render(appendix={"drift": drift_table(CARD)})
    text = _text(html)
    assert measure in text and missing in text
    assert text.count(shifted) == 1 + labels(locale)["drift_note"].count(shifted)
    assert "2026-09" in text and "0.25" in text
    assert html.count('class="flagged"') == 1


def test_partial_says_when_the_card_has_no_drift() -> None:
    env = make_environment("en", "CNY")
    html = env.get_template("partials/drift.html").render(appendix={"drift": drift_table({})})
    assert labels("en")["drift_absent"] in _text(html) and "<table" not in html


def test_every_measure_the_stage_writes_has_a_label_in_both_locales() -> None:
    from pipeline.drift import KEY_FEATURES, SCORE_MEASURES

    for locale in ("en", "zh_CN"):
        for measure in (*KEY_FEATURES, *SCORE_MEASURES):
            assert labels(locale)[f"drift_{measure}"]
