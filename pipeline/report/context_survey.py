"""Numbers for the customer and staff survey sections, from the survey stage's summary.

The survey stage already suppresses groups smaller than survey.min_group_size; here a
branch whose figures were suppressed shows "suppressed" (never a blank, never another
branch's figure). Reliability and IPA importance are network-wide by design.
"""

from __future__ import annotations

from typing import Any

import pandas as pd

from pipeline.errors import InputError
from pipeline.report.environment import NA, SUPPRESSED

NETWORK_KEY = ("network", "all")
BRANCH_GROUP = "branch_id"


def find_surveys(summary: dict[str, Any], source: str = "survey_summary.json") -> dict[str, Any]:
    """{"customer": s, "staff": s} from the survey stage's summary (`surveys` by audience)."""
    surveys = summary.get("surveys")
    if not isinstance(surveys, dict):
        raise InputError(f"{source}: no 'surveys' object; `crm survey` writes it")
    return {
        kind: surveys[kind] for kind in ("customer", "staff") if isinstance(surveys.get(kind), dict)
    }


def _num(value: Any) -> Any:
    return NA if value is None or pd.isna(value) else float(value)


def _group(tree: dict[str, Any], group_type: str, group: str) -> dict[str, Any] | None:
    return (tree.get(group_type) or {}).get(group)


def reliability_rows(survey: dict[str, Any], labels: dict[str, str]) -> list[dict[str, Any]]:
    """Cronbach's alpha with its CI per dimension; `flag` when below the threshold."""
    rows = []
    for dim, r in survey.get("reliability", {}).items():
        ci = r.get("alpha_ci") or [None, None]
        flag = r.get("below_threshold")
        rows.append(
            {
                "dimension": labels.get(dim, dim),
                "alpha": _num(r.get("alpha")),
                "ci_low": _num(ci[0]),
                "ci_high": _num(ci[1]),
                "n_items": float(r.get("n_items", 0)),
                "flag": NA if flag is None else bool(flag),
                "status": str(r.get("status", "")),
            }
        )
    return rows


def is_suppressed(survey: dict[str, Any], branch_id: str, what: str) -> bool:
    """True when the survey stage suppressed this branch's figure (or all its figures)."""
    return any(
        s.get("group_type") == BRANCH_GROUP
        and str(s.get("group")) == branch_id
        and s.get("what") in (what, "all")
        for s in survey.get("suppressed", [])
    )


def nps_figures(survey: dict[str, Any], branch_id: str | None) -> dict[str, Any]:
    """NPS with its CI for a branch (or the network when branch_id is None)."""
    nps = survey.get("nps") or {}
    if branch_id is None:
        node = nps.get("network")
    else:
        node = _group(nps.get("by_group") or {}, BRANCH_GROUP, branch_id)
    if not node:
        return {
            "available": False,
            "nps": SUPPRESSED,
            "ci_low": SUPPRESSED,
            "ci_high": SUPPRESSED,
            "n": SUPPRESSED,
        }
    return {
        "available": True,
        "nps": float(node["nps"]),
        "ci_low": _num(node.get("nps_ci_low")),
        "ci_high": _num(node.get("nps_ci_high")),
        "n": float(node["n"]),
        "promoters": _num(node.get("promoters")),
        "detractors": _num(node.get("detractors")),
    }


def dimension_rows(
    survey: dict[str, Any], branch_id: str | None, labels: dict[str, str]
) -> list[dict[str, Any]]:
    """Mean score per dimension (and the overall item) for the branch beside the network."""
    dims = survey.get("dimensions") or {}
    network = _group(dims, *NETWORK_KEY) or {}
    branch = _group(dims, BRANCH_GROUP, branch_id) if branch_id is not None else None
    rows = []
    for measure, net in network.items():
        mine = (branch or {}).get(measure)
        rows.append(
            {
                "dimension": labels.get(measure, measure),
                "score": SUPPRESSED
                if branch_id is not None and not mine
                else _num((mine or net)["mean"]),
                "n": SUPPRESSED
                if branch_id is not None and not mine
                else float((mine or net)["n"]),
                "network": _num(net["mean"]),
            }
        )
    return rows


def ipa_rows(
    survey: dict[str, Any], branch_id: str | None, labels: dict[str, str], terms: Any
) -> dict[str, Any]:
    """IPA points for the branch when reported, else the network's (and says which)."""
    ipa = survey.get("ipa") or {}
    points = ipa.get("points") or {}
    node = _group(points, BRANCH_GROUP, branch_id) if branch_id is not None else None
    scope = "branch"
    if not node:
        node, scope = _group(points, *NETWORK_KEY), "network"
    rows = [
        {
            "dimension": labels.get(dim, dim),
            "importance": float(p["importance"]),
            "performance": float(p["performance"]),
            "quadrant": terms(p["quadrant"]),
            "n": float(p["n"]),
        }
        for dim, p in (node or {}).items()
    ]
    return {"rows": rows, "scope": scope, "status": str(ipa.get("status", "ok"))}


def scale_adequacy(survey: dict[str, Any]) -> dict[str, Any]:
    """KMO and Bartlett's test over all items, or the reason they are undefined."""
    s = survey.get("scale_adequacy") or {}
    return {
        "kmo": _num(s.get("kmo")),
        "chi2": _num(s.get("bartlett_chi2")),
        "df": _num(s.get("bartlett_df")),
        "p": _num(s.get("bartlett_p")),
        "status": str(s.get("status", "")),
    }


def _group_order(group_type: str, group: str) -> tuple[float, str]:
    """Churn bands low to high, CLV deciles as numbers (1, 2, ..., 10, never 1, 10, 2)."""
    if group_type == "churn_band":
        order = ("low", "medium", "high")
        return (float(order.index(group)) if group in order else len(order), group)
    try:
        return (float(group), group)
    except ValueError:
        return (float("inf"), group)


def linkage_rows(survey: dict[str, Any], terms: Any) -> list[dict[str, Any]]:
    """Network-wide satisfaction and NPS by churn band and CLV decile: what customers say
    beside what they do (aggregates of at least min_group_size responses), each group
    type in its natural order."""
    by_group = (survey.get("linkage") or {}).get("by_group") or {}
    rows = []
    for group_type in ("churn_band", "clv_decile"):
        groups = by_group.get(group_type) or {}
        for group in sorted(groups, key=lambda g: _group_order(group_type, str(g))):
            r = groups[group]
            rows.append(
                {
                    "group_type": group_type,
                    "group": terms(group),
                    "order": _group_order(group_type, str(group))[0],
                    "satisfaction": _num(r.get("satisfaction_mean")),
                    "nps": _num(r.get("nps")),
                    "n": _num(r.get("n_nps") if r.get("n_nps") is not None else r.get("n_overall")),
                }
            )
    return rows
