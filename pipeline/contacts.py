"""Who counts as contacted by their RM: the one rule the branch KPIs (rm_contact_coverage),
the RM books and the report's coverage by tier share, so that "contacted in 90 days"
is the same figure wherever a branch head reads it."""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd


def contacted_within(days_since_contact: Any, days: int) -> np.ndarray:
    """True where the last RM contact was within the last `days` days, the as-of day
    counted: days_since_rm_contact < days (0 is a contact on the as-of day itself);
    never contacted (null) is False. Takes an array or a Series of days."""
    values = pd.Series(days_since_contact).to_numpy(dtype="float64", na_value=np.nan)
    return np.nan_to_num(values, nan=np.inf) < days
