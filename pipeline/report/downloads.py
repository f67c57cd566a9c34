"""The lists a report links to, for people who work them in a spreadsheet: the watchlist,
the customers to give an RM, and each RM's call list, as CSV and XLSX.

In the report's language: column heads are the report's labels, tiers its terms, reasons
worded (pipeline/report/reasons.py), yes/no in words; numbers stay numbers (money to the
cent, probabilities 0-1) and ids stay text. The bytes are the same for the same list:
the workbook carries the period's as-of date and its zip entries one fixed time.
Written as the processed lists are (pipeline.io.csv_bytes, pipeline.sheets): text a
spreadsheet would run as a formula is neutralised, CSV lines end in CRLF.
"""

from __future__ import annotations

from datetime import date

import pandas as pd

from pipeline.io import csv_bytes
from pipeline.report.context_actions import download_names
from pipeline.report.context_data import BALANCE_MEASURES
from pipeline.report.i18n import labels, term
from pipeline.report.reasons import ReasonWords
from pipeline.sheets import workbook_bytes

# list column -> label key; in this order
COLUMNS = (
    ("rank", "rank"),
    ("customer_id", "customer_id"),
    ("rm_id", "rm_id"),
    ("tier", "tier"),
    ("aum", "aum"),
    ("monthly_profit", "monthly_profit"),
    ("clv", "clv"),
    ("churn_probability", "churn_probability"),
    ("value_at_risk", "value_at_risk"),
    ("high_value", "high_value"),
    ("reason_codes", "reasons"),
    ("last_contact_date", "last_contact"),
    ("contact_effect", "contact_effect"),
    ("value_saved", "value_saved"),
    ("action", "call_action"),
)
# the score stage's actions (pipeline.scoring.books) -> label key
ACTIONS = {
    "call": "action_call",
    "do not call": "action_do_not_call",
    "assign an RM": "action_assign",
}
MONEY = ("aum", "monthly_profit", "clv", "value_at_risk", "value_saved")
# the columns seen only from balance snapshots (the measures the pages leave out without
# them): empty cells, not 0, where the exports hold none
BALANCE_COLUMNS = tuple(column for column, _ in COLUMNS if column in BALANCE_MEASURES)
MONEY_FORMAT = "#,##0.00"
PROBABILITY_FORMAT = "0.00"
ZWSP = "\u200b"  # a line-break hint for the page, not text for a spreadsheet


def readable(
    frame: pd.DataFrame, words: ReasonWords, unknown: tuple[str, ...] = ()
) -> pd.DataFrame:
    """A list with the report's column heads and words; numbers untouched, except the
    `unknown` columns' (what the exports cannot give), which are left empty."""
    t = labels(words.locale)
    out = {}
    for column, key in COLUMNS:
        if column not in frame.columns:
            continue
        values = frame[column]
        if column in unknown:
            values = pd.Series([None] * len(frame), index=frame.index, dtype=object)
        elif column == "tier":
            values = values.map(lambda v: term(words.locale, v))
        elif column == "reason_codes":
            values = values.map(
                lambda v: words.text(None if pd.isna(v) else str(v)).replace(ZWSP, "")
            )
        elif column == "action":
            values = values.map(lambda v: "" if pd.isna(v) else t[ACTIONS[v]])
        elif column == "high_value":
            values = values.map(lambda v: t["yes"] if bool(v) else t["no"])
        elif column in ("customer_id", "rm_id"):
            values = values.map(lambda v: "" if pd.isna(v) else str(v))
        elif column == "last_contact_date":
            values = values.map(lambda v: "" if pd.isna(v) else str(v)[:10])
        out[t[key]] = values.reset_index(drop=True)
    return pd.DataFrame(out)


def list_files(
    stem: str,
    frame: pd.DataFrame,
    words: ReasonWords,
    as_of: date,
    balances: bool = True,
) -> dict[str, bytes]:
    """`<stem>.csv` and `<stem>.xlsx` of one list, in the report's language (without
    `balances` in the exports, BALANCE_COLUMNS empty)."""
    shown = readable(frame, words, () if balances else BALANCE_COLUMNS)
    t = labels(words.locale)
    formats = {t[key]: MONEY_FORMAT for column, key in COLUMNS if column in MONEY}
    formats[t["churn_probability"]] = PROBABILITY_FORMAT
    return {
        f"{stem}.csv": csv_bytes(shown),
        f"{stem}.xlsx": workbook_bytes(shown, stem, as_of, formats),
    }


def branch_lists(
    branch_id: str,
    watchlist: pd.DataFrame,
    unassigned: pd.DataFrame,
    call_lists: dict[str, pd.DataFrame],
    words: ReasonWords,
    as_of: date,
    balances: bool = True,
) -> tuple[dict[str, str], dict[str, bytes]]:
    """A branch's lists to download: each list's file stem (the report's links and the
    index use them) and the files, CSV and XLSX of the watchlist, of the customers to
    give an RM (high value first) and of each RM's call list (`call_lists` by rm_id)."""
    rms = sorted(call_lists)
    names = download_names(branch_id, rms)
    lists = {
        "watchlist": watchlist,
        "unassigned": unassigned,
        **{f"calls:{rm}": call_lists[rm] for rm in rms},
    }
    files: dict[str, bytes] = {}
    for key, frame in lists.items():
        files.update(list_files(names[key], frame, words, as_of, balances))
    return names, files
