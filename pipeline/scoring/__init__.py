"""The score stage: CLV and P(alive) (lifetimes), supervised churn, value x risk.

core.py is the computation (pure over an engine), stage.py the `crm score` edge.
"""

from pipeline.scoring.core import ScoreResult, score_period
from pipeline.scoring.settings import ScoreSettings

__all__ = ["ScoreResult", "ScoreSettings", "score_period"]
