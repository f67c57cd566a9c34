"""Questionnaire analytics: reliability, dimension scores, NPS, importance-performance,
SERVQUAL gaps, and what customers say linked to what they do (issue 6).

`run_survey` is the stage's I/O edge; `analyse_survey` the pure analysis of one survey
on a DataFrame and a definition, usable without the catalog.
"""

from pipeline.survey.analysis import SurveyResult, analyse_survey
from pipeline.survey.definition import SurveyDefinition, load_definition, parse_definition
from pipeline.survey.run import run_survey

__all__ = [
    "SurveyDefinition",
    "SurveyResult",
    "analyse_survey",
    "load_definition",
    "parse_definition",
    "run_survey",
]
