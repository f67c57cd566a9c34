"""Questionnaire analytics: reliability, dimension scores, NPS, importance-performance,
SERVQUAL gaps, and what customers say linked to what they do.

core.py is the computation per audience (analysis.py the analysis of one survey on a
DataFrame and a definition, usable without the catalog); stage.py the `crm survey` edge.
"""

from pipeline.survey.analysis import SurveyResult, analyse_survey
from pipeline.survey.core import SurveySettings, analyse_audience
from pipeline.survey.definition import SurveyDefinition, load_definition, parse_definition

__all__ = [
    "SurveyDefinition",
    "SurveyResult",
    "SurveySettings",
    "analyse_audience",
    "analyse_survey",
    "load_definition",
    "parse_definition",
]
