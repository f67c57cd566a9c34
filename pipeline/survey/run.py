"""`crm survey --period YYYY-MM`: the I/O edge of the survey stage.

Reads the customer and staff responses (canonical wide tables), keeps those in the
configured window ending on the period's as-of date, links identified customers to
the period's features and scores, runs the pure analysis, and writes
`survey_<table>.parquet` (customer survey), `survey_staff_<table>.parquet` (staff
survey) and `survey_summary.json` under the period's processed folder.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pandas as pd

from pipeline.catalog import Catalog
from pipeline.config import survey_definition_path
from pipeline.errors import ConfigError, InputError
from pipeline.io import read_parquet, write_json, write_parquet
from pipeline.periods import as_of_date
from pipeline.schema import TABLES
from pipeline.survey.analysis import TABLE_NAMES, SurveyResult, analyse_survey
from pipeline.survey.definition import SurveyDefinition, load_definition
from pipeline.survey.linkage import (
    FEATURE_GROUPS,
    LINKED_GROUPS,
    SCORE_GROUPS,
    link_customers,
    responses_in_window,
    window_start,
)

# audience -> (config key of its definition, prefix of its output files)
SURVEYS = {"customer": ("customer_definition", ""), "staff": ("staff_definition", "staff_")}


def output_name(audience: str, table: str) -> str:
    """`dimensions` -> survey_dimensions (customer) / survey_staff_dimensions (staff)."""
    return f"{SURVEYS[audience][1]}{table}"


def _read_optional(path: Path, columns: tuple[str, ...]) -> pd.DataFrame | None:
    if not path.is_file():
        return None
    frame = read_parquet(path)
    missing = [c for c in ("customer_id", *columns) if c not in frame.columns]
    if missing:
        raise InputError(f"{path}: missing column(s) {', '.join(missing)}")
    return frame[["customer_id", *columns]]


def read_responses(path: Path, definition: SurveyDefinition) -> pd.DataFrame:
    """A survey responses table with its fixed columns, unique ids and valid dates."""
    frame = read_parquet(path)
    fixed = [c.name for c in TABLES[definition.table].columns if c.required]
    missing = [c for c in fixed if c not in frame.columns]
    if missing:
        raise InputError(f"{path}: missing column(s) {', '.join(missing)}")
    dup = frame["response_id"].duplicated()
    if dup.any():
        row = int(dup.to_numpy().argmax())
        raise InputError(f"{path}: row {row}, column response_id: duplicate "
                         f"{frame['response_id'].iloc[row]!r}")
    dates = pd.to_datetime(frame["response_date"], errors="coerce")
    bad = dates.isna()
    if bad.any():
        row = int(bad.to_numpy().argmax())
        raise InputError(f"{path}: row {row}, column response_date: not a date "
                         f"({frame['response_date'].iloc[row]!r})")
    return frame


def analyse_audience(
    audience: str, responses: pd.DataFrame, definition: SurveyDefinition,
    features: pd.DataFrame | None, scores: pd.DataFrame | None, survey_cfg: dict, source: str,
) -> SurveyResult:
    """Customer surveys break down by branch and the linked customer attributes;
    staff surveys by branch and role."""
    common = {"min_group_size": survey_cfg["min_group_size"],
              "alpha_threshold": survey_cfg["alpha_threshold"], "source": source}
    if audience == "staff":
        group_by = [c for c in ("branch_id", "role") if c in responses.columns]
        return analyse_survey(responses, definition, group_by=group_by, **common)
    groups, note = link_customers(responses, features, scores)
    linked = [g for g in LINKED_GROUPS if g in groups.columns]
    return analyse_survey(responses, definition, group_by=["branch_id", *linked], groups=groups,
                          linked_groups=linked, linkage_note=note, **common)


def run_survey(cfg: dict[str, Any], catalog: Catalog, period: str) -> str:
    """Analyse both surveys for `period`; write the tables and the summary; say what ran."""
    survey_cfg = cfg["survey"]
    if not 0 < survey_cfg["alpha_threshold"] < 1:
        raise ConfigError(f"survey.alpha_threshold: must be between 0 and 1, "
                          f"got {survey_cfg['alpha_threshold']}")
    as_of = as_of_date(period)
    window = survey_cfg["window_months"]
    features = _read_optional(catalog.customer_features(period), FEATURE_GROUPS)
    scores = _read_optional(catalog.customer_scores(period), SCORE_GROUPS)

    summary: dict[str, Any] = {
        "period": period, "as_of_date": as_of.isoformat(), "window_months": window,
        "window_start": window_start(as_of, window).isoformat(), "surveys": {},
    }
    lines, written = [], 0
    for audience, (key, _) in SURVEYS.items():
        definition = load_definition(survey_definition_path(survey_cfg[key]))
        path = catalog.interim_table(definition.table)
        if not path.is_file():
            summary["surveys"][audience] = {
                "name": definition.name, "table": definition.table,
                "status": f"not available: {definition.table} not ingested ({path})"}
            lines.append(f"{audience} survey {definition.name}: no {definition.table} table")
            continue
        responses = responses_in_window(read_responses(path, definition), as_of, window)
        result = analyse_audience(audience, responses, definition, features, scores,
                                  survey_cfg, str(path))
        for table in TABLE_NAMES:
            if audience == "staff" and table == "linkage":
                continue  # staff answers are not linked to customers
            write_parquet(result.tables[table],
                          catalog.survey_output(period, output_name(audience, table)))
            written += 1
        summary["surveys"][audience] = {"status": "ok", **result.summary}
        lines.append(_line(audience, result.summary))
    if not any(s["status"] == "ok" for s in summary["surveys"].values()):
        raise InputError("no survey responses ingested (survey_responses, "
                         "staff_survey_responses): run `crm ingest` with survey exports")
    write_json(summary, catalog.survey_summary(period))
    lines.append(f"wrote {written} tables and {catalog.survey_summary(period)}")
    return "\n".join(lines)


def _line(audience: str, s: dict) -> str:
    nps = (s["nps"].get("network") or {}).get("nps") if "network" in s["nps"] else None
    flagged = ", ".join(s["flagged_dimensions"]) or "none"
    anonymous = "" if s["share_anonymous"] is None else f" ({s['share_anonymous']:.0%} anonymous)"
    text = (f"{audience} survey {s['name']}: {s['n_responses']} responses{anonymous}, "
            f"alpha < {s['alpha_threshold']}: {flagged}")
    if nps is not None:
        text += f", NPS {nps:+.1f}"
    missing = s["linkage"].get("not_available") or {}
    if missing:
        text += "; " + "; ".join(sorted({f"{v}" for v in missing.values()}))
    return text
