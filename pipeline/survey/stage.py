"""`crm survey --period YYYY-MM`: the I/O edge of the survey stage.

Reads the customer and staff responses (canonical wide tables) and the period's
features and scores, runs the core (core.py: the window, the link to customers, the
analysis) per audience, and writes
`survey_<table>.parquet` (customer survey), `survey_staff_<table>.parquet` (staff
survey) and `survey_summary.json` under the period's processed folder. A survey the
bank's exports do not hold is "not available" in the summary (both, for a bank without
questionnaires), which the reports show in one line.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pandas as pd
import pyarrow.parquet as pq

from pipeline.catalog import Catalog
from pipeline.config import survey_definition_path
from pipeline.errors import InputError
from pipeline.io import read_parquet, write_json, write_parquet
from pipeline.periods import as_of_date
from pipeline.schema import TABLES
from pipeline.survey.analysis import TABLE_NAMES
from pipeline.survey.core import (
    SURVEYS,
    SurveySettings,
    analyse_audience,
    nps_history,
    output_name,
    summary_line,
)
from pipeline.survey.definition import SurveyDefinition, load_definition
from pipeline.survey.linkage import (
    FEATURE_GROUPS,
    SCORE_GROUPS,
    responses_in_window,
    window_start,
)


def _read_optional(path: Path, columns: tuple[str, ...]) -> pd.DataFrame | None:
    """customer_id and `columns` of a period's output (None: not written): only those
    are read, since the mart has a hundred columns for every customer."""
    if not path.is_file():
        return None
    wanted = ["customer_id", *columns]
    names = pq.read_schema(path).names
    missing = [c for c in wanted if c not in names]
    if missing:
        raise InputError(f"{path}: missing column(s) {', '.join(missing)}")
    return read_parquet(path, columns=wanted)


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
        raise InputError(
            f"{path}: row {row}, column response_id: duplicate {frame['response_id'].iloc[row]!r}"
        )
    dates = pd.to_datetime(frame["response_date"], errors="coerce")
    bad = dates.isna()
    if bad.any():
        row = int(bad.to_numpy().argmax())
        raise InputError(
            f"{path}: row {row}, column response_date: not a date "
            f"({frame['response_date'].iloc[row]!r})"
        )
    return frame


def run_survey(cfg: dict[str, Any], catalog: Catalog, period: str) -> str:
    """Analyse both surveys for `period`; write the tables and the summary; say what ran."""
    settings = SurveySettings.from_config(cfg)
    as_of = as_of_date(period)
    window = settings.window_months
    features = _read_optional(catalog.customer_features(period), FEATURE_GROUPS)
    scores = _read_optional(catalog.customer_scores(period), SCORE_GROUPS)

    summary: dict[str, Any] = {
        "period": period,
        "as_of_date": as_of.isoformat(),
        "window_months": window,
        "window_start": window_start(as_of, window).isoformat(),
        "surveys": {},
    }
    lines, written = [], 0
    for audience in SURVEYS:
        definition = load_definition(survey_definition_path(settings.definition(audience)))
        path = catalog.interim_table(definition.table)
        if not path.is_file():
            summary["surveys"][audience] = {
                "name": definition.name,
                "table": definition.table,
                "status": f"not available: {definition.table} not ingested "
                f"({path.relative_to(catalog.data_dir)})",
            }  # same bytes in any root
            lines.append(f"{audience} survey {definition.name}: no {definition.table} table")
            continue
        every_response = read_responses(path, definition)
        responses = responses_in_window(every_response, as_of, window)
        result = analyse_audience(
            audience, responses, definition, features, scores, settings, str(path)
        )
        for table in TABLE_NAMES:
            if audience == "staff" and table == "linkage":
                continue  # staff answers are not linked to customers
            write_parquet(
                result.tables[table], catalog.survey_output(period, output_name(audience, table))
            )
            written += 1
        summary["surveys"][audience] = {
            "status": "ok",
            **result.summary,
            "nps_history": nps_history(every_response, definition, period, settings, str(path)),
        }
        lines.append(summary_line(audience, result.summary))
    if not any(s["status"] == "ok" for s in summary["surveys"].values()):
        # a bank without questionnaires: the summary says so, the reports say so in a line
        lines.append(
            "no questionnaire in this bank's exports (survey_responses, "
            "staff_survey_responses): the reports say so"
        )
    write_json(summary, catalog.survey_summary(period))
    lines.append(f"wrote {written} tables and {catalog.survey_summary(period)}")
    return "\n".join(lines)
