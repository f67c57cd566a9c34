"""Which responses a period uses, and who answered: identified responses joined to the
period's customer features (tier, RFM segment) and scores (churn band, CLV decile).

Anonymous responses (no customer_id) count in every network and branch figure but
carry no customer attribute, so they never enter a tier, segment, band or decile group.
"""

from __future__ import annotations

from datetime import date

import pandas as pd

from pipeline.errors import InputError
from pipeline.keys import is_in

FEATURE_GROUPS = ("tier", "rfm_segment")  # from customer_features
SCORE_GROUPS = ("churn_band", "clv_decile")  # from customer_scores
LINKED_GROUPS = FEATURE_GROUPS + SCORE_GROUPS


def window_start(as_of: date, window_months: int) -> date:
    """First day of the `window_months` calendar months that end with as_of's month."""
    month = pd.Period(as_of, freq="M") - (window_months - 1)
    return month.start_time.date()


def responses_in_window(responses: pd.DataFrame, as_of: date, window_months: int) -> pd.DataFrame:
    """Responses dated within the window ending on the as-of date (never later),
    sorted by response_id."""
    dates = pd.to_datetime(responses["response_date"]).dt.date
    keep = (dates >= window_start(as_of, window_months)) & (dates <= as_of)
    return responses.loc[keep].sort_values("response_id", kind="stable").reset_index(drop=True)


def _customer_lookup(frame: pd.DataFrame, columns: tuple[str, ...], source: str) -> pd.DataFrame:
    missing = [c for c in ("customer_id", *columns) if c not in frame.columns]
    if missing:
        raise InputError(f"{source}: missing column(s) {', '.join(missing)}")
    dup = frame["customer_id"].duplicated()
    if dup.any():
        raise InputError(
            f"{source}: row {int(dup.to_numpy().argmax())}, column customer_id: "
            f"duplicate customer {frame.loc[dup, 'customer_id'].iloc[0]!r}"
        )
    return frame[["customer_id", *columns]].astype({"customer_id": "string"})


def link_customers(
    responses: pd.DataFrame,
    features: pd.DataFrame | None,
    scores: pd.DataFrame | None,
    *,
    features_source: str = "customer_features",
    scores_source: str = "customer_scores",
) -> tuple[pd.DataFrame, dict]:
    """Group columns per response (aligned with `responses`): branch_id and, where the
    customer is identified and found, tier, rfm_segment, churn_band, clv_decile.

    Returns the groups frame and a linkage note: counts of identified, matched and
    unmatched responses, and which breakdowns are not available (and why).
    """
    ids = responses["customer_id"].astype("string") if "customer_id" in responses else None
    groups = pd.DataFrame(index=responses.index)
    if "branch_id" in responses:
        groups["branch_id"] = responses["branch_id"].astype("string")
    identified = ids.notna() if ids is not None else pd.Series(False, index=responses.index)
    note: dict = {"n_identified": int(identified.sum()),
                  "n_anonymous": int((~identified).sum()), "not_available": {}}
    for lookup, cols, source, label in (
        (features, FEATURE_GROUPS, features_source, "features"),
        (scores, SCORE_GROUPS, scores_source, "scores"),
    ):
        if lookup is None:
            for col in cols:
                note["not_available"][col] = f"not available: {label} not computed"
            note[f"n_matched_{label}"] = note[f"n_unmatched_{label}"] = None
            continue
        table = _customer_lookup(lookup, cols, source)
        joined = pd.DataFrame({"customer_id": ids if ids is not None else pd.NA},
                              index=responses.index).astype("string")
        joined = joined.merge(table, on="customer_id", how="left", validate="many_to_one")
        joined.index = responses.index
        matched = identified & is_in(joined["customer_id"], table["customer_id"])
        note[f"n_matched_{label}"] = int(matched.sum())
        note[f"n_unmatched_{label}"] = int(identified.sum() - matched.sum())
        for col in cols:
            values = joined[col].where(matched)
            groups[col] = values.astype("Int64") if col == "clv_decile" else values.astype("string")
            if matched.any() and groups[col].isna().all():
                # e.g. churn_band is null when no churn model could be trained
                note["not_available"][col] = f"not available: {col} is empty in {source}"
    return groups, note
