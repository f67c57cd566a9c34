"""A small processed bank for the report tests, written to a temporary data root.

Three branches of 40 customers, ids that say their branch (B01-C001...), one customer
id and one RM id that carry `<script>`, every input the report reads. The frames the
features, score and survey stages would write are built with those stages' own pure
functions where they exist (branch KPIs, Lorenz points, tier migration, survey
analysis), so the fixture follows their real output contract.
"""

from __future__ import annotations

import atexit
import shutil
import tempfile
from pathlib import Path

import numpy as np
import pandas as pd

from pipeline.catalog import Catalog
from pipeline.config import cpu_count, load_config, survey_definition_path
from pipeline.features.kpis import compute_branch_kpis, compute_lorenz
from pipeline.features.migration import compute_tier_migration
from pipeline.features.settings import FeatureSettings
from pipeline.features.tiers import assign_tiers
from pipeline.generation import STAMPED, PeriodStage
from pipeline.io import write_csv, write_json, write_parquet
from pipeline.periods import as_of_date, previous_period
from pipeline.schema import PRODUCTS
from pipeline.scoring.books import call_lists, rm_books, unassigned
from pipeline.scoring.calls import RANKING_EFFECT, RANKING_VALUE_AT_RISK, ContactEffects
from pipeline.scoring.value_risk import WATCHLIST_COLUMNS, branch_scores
from pipeline.survey.analysis import analyse_survey
from pipeline.survey.definition import load_definition

PERIOD = "2026-10"
BRANCHES = ("B01", "B02", "B03")
PER_BRANCH = 40
SCRIPT_CUSTOMER = '<script>alert("c")</script>'
SCRIPT_RM = "RM<script>x"  # no "/": ids that name files never hold one (ingest)
SEGMENTS = ("Champions", "Loyal Customers", "At Risk", "Hibernating", "Lost")


def customer_ids(branch: str) -> list[str]:
    ids = [f"{branch}-C{i:03d}" for i in range(1, PER_BRANCH + 1)]
    if branch == "B02":
        ids[-1] = SCRIPT_CUSTOMER
    return ids


def make_features(cfg: dict, period: str, seed: int) -> pd.DataFrame:
    """The feature mart's columns the KPIs and the report use, for every customer."""
    rng = np.random.default_rng(seed)
    s = FeatureSettings.from_config(cfg)
    ids = [c for b in BRANCHES for c in customer_ids(b)]
    n = len(ids)
    branch = np.repeat(BRANCHES, PER_BRANCH)
    aum = np.round(np.exp(rng.normal(9.5, 2.2, n)), 2)
    aum[rng.choice(n, 3, replace=False)] = 7_000_000.0  # some private-banking customers
    tier = assign_tiers(aum, s.tier_names, s.tier_min_aum)
    status = np.where(rng.random(n) < 0.05, "closed", "active")
    has = {
        p: rng.random(n) < q
        for p, q in zip(PRODUCTS, (0.95, 0.4, 0.2, 0.15, 0.1, 0.05, 0.1, 0.3), strict=True)
    }
    rm = np.where(
        np.isin(tier, s.rm_tiers) & (rng.random(n) < 0.8),
        np.array([f"RM{b}{k}" for b, k in zip(branch, rng.integers(1, 4, n), strict=True)]),
        None,
    )
    rm = rm.astype(object)
    rm[ids.index("B01-C002")] = SCRIPT_RM
    tier[ids.index("B01-C002")] = "wealth"
    recency = pd.array(np.where(rng.random(n) < 0.1, -1, rng.integers(0, 400, n)), dtype="Int64")
    recency[recency == -1] = pd.NA
    txn = rng.integers(0, 60, n)
    digital_txn = np.minimum(txn, rng.integers(0, 60, n))
    contact = pd.array(np.where(rng.random(n) < 0.3, -1, rng.integers(0, 200, n)), dtype="Int64")
    contact[contact == -1] = pd.NA
    frame = pd.DataFrame(
        {
            "customer_id": ids,
            "branch_id": branch,
            "rm_id": rm,
            "period": period,
            "status": status,
            "closed_in_period": status == "closed",
            "new_in_period": rng.random(n) < 0.05,
            "aum": aum,
            "tier": tier,
            "products_held": np.sum(list(has.values()), axis=0).astype("int64"),
            **{f"has_{p}": v for p, v in has.items()},
            "recency_days": recency,
            "frequency": rng.integers(0, 40, n),
            "monetary": np.round(rng.gamma(2.0, 50.0, n), 2),
            "txn_count": txn,
            "digital_txn_count": digital_txn,
            "digital_share": np.where(txn > 0, digital_txn / np.maximum(txn, 1), np.nan),
            "digital_enrolled": rng.random(n) < 0.6,
            "days_since_rm_contact": contact,
            "dormant": rng.random(n) < 0.3,
            "rfm_segment": rng.choice(SEGMENTS, n),
        }
    )
    frame["digital_adopter"] = frame["digital_enrolled"] | (frame["digital_share"].fillna(0) > 0.5)
    return frame


def make_scores(features: pd.DataFrame, seed: int, churn_model: bool = True) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    n = len(features)
    clv = np.round(rng.gamma(1.5, 800.0, n), 2)
    prob = rng.random(n) if churn_model else np.full(n, np.nan)
    band = pd.Series(
        pd.cut(prob, [-0.01, 0.2, 0.5, 1.0], labels=["low", "medium", "high"]).astype(object)
    )
    decile = (pd.Series(clv).rank(method="min").to_numpy() - 1) * 10 // n + 1
    high_value, high_risk = decile >= 8, band.eq("high").to_numpy()
    aum = features["aum"].to_numpy(dtype=float)
    margin = np.round(aum * 0.0015, 2)
    interchange = np.round(rng.gamma(1.0, 0.5, n), 2)
    fees = np.round(rng.gamma(1.0, 3.0, n), 2)
    cost = np.round(rng.gamma(1.0, 0.4, n), 2)
    active = (features["status"] == "active").to_numpy()
    risk = np.nan_to_num(prob, nan=0.1)
    quadrant = np.select(
        [high_value & high_risk, high_value, high_risk],
        ["retain now", "protect", "win back cheaply"],
        "develop",
    )
    return pd.DataFrame(
        {
            "customer_id": features["customer_id"],
            "branch_id": features["branch_id"],
            "rm_id": features["rm_id"],
            "tier": features["tier"],
            "aum": aum,
            "rfm_segment": features["rfm_segment"],
            "status": features["status"],
            "in_btyd": True,
            "p_alive": np.round(rng.random(n), 4),
            "expected_transactions": np.round(rng.gamma(2, 3, n), 3),
            "monthly_balance_margin": margin,
            "monthly_interchange": interchange,
            "monthly_fees": fees,
            "monthly_cost_to_serve": cost,
            "monthly_profit": margin + interchange + fees - cost,
            "transaction_clv": np.round(clv * 0.1, 2),
            "clv": clv,
            "leave_probability": risk,
            "value_at_risk": np.where(active, np.round(clv * risk, 2), 0.0),
            "clv_decile": pd.array(decile.astype(int), dtype="Int64"),
            "high_value": high_value & active,
            "churn_probability": prob,
            "churn_band": band.where(band.notna(), None) if churn_model else None,
            "value_risk_quadrant": quadrant,
            "reason_codes": np.where(
                high_risk, "recency_days:120:14;aum_change_pct_3m:-0.6:0.01", ""
            ),
        }
    )


def make_watchlist(scores: pd.DataFrame, branch: str, as_of) -> pd.DataFrame:
    mine = scores[scores["branch_id"] == branch]
    # the customer and the RM whose ids carry <script> are always on their watchlist
    marked = mine["customer_id"].eq(SCRIPT_CUSTOMER) | mine["rm_id"].eq(SCRIPT_RM)
    w = mine[mine["value_risk_quadrant"].eq("retain now") & ~marked]
    w = pd.concat(
        [mine[marked], w.sort_values(["clv", "customer_id"], ascending=[False, True])]
    ).head(5)
    w["rank"] = np.arange(1, len(w) + 1)
    w["last_contact_date"] = [None if i % 2 else str(as_of) for i in range(len(w))]
    return w[WATCHLIST_COLUMNS]


def with_effects(scores: pd.DataFrame, effect: bool) -> pd.DataFrame:
    """The scores with the contact effect's columns: none (lists by value at risk), or a
    made-up effect (30% of the churn probability) with each branch's customer of an RM
    with the most value at risk one not to call (a call estimated to push them away)."""
    if not effect:
        return scores.assign(contact_effect=np.nan, value_saved=np.nan, do_not_call=False)
    active = (scores["status"] == "active").to_numpy()
    effect_ = np.where(active, np.round(0.3 * scores["churn_probability"].to_numpy(), 4), np.nan)
    served = scores[active & scores["rm_id"].notna().to_numpy()]
    top = served.sort_values(["value_at_risk", "customer_id"], ascending=[False, True])
    harmful = scores["customer_id"].isin(top.groupby("branch_id")["customer_id"].first()).to_numpy()
    effect_ = np.where(harmful, -0.02, effect_)
    return scores.assign(
        contact_effect=effect_,
        value_saved=np.round(effect_ * scores["clv"].to_numpy() - 5.0, 2),
        do_not_call=harmful,
    )


def rm_lists(
    scores: pd.DataFrame, features: pd.DataFrame, s: FeatureSettings, as_of, effect: bool = False
):
    """The score stage's RM books, call lists and unassigned lists of the fixture's scores
    (ranked by expected value saved when `effect`, else by value at risk)."""
    scored = scores.merge(features[["customer_id", "days_since_rm_contact"]], on="customer_id")
    ranking = RANKING_EFFECT if effect else RANKING_VALUE_AT_RISK
    effects = ContactEffects(scores=None, ranking=ranking, card={})
    calls = call_lists(with_effects(scored, effect), as_of, 5, effects)
    books = rm_books(with_effects(scored, effect), calls, s.tier_names, s.rm_contact_days, PERIOD)
    return books, calls, unassigned(scored, as_of, s.rm_tiers)


ATTRITION = {"B01": (30, 1), "B02": (28, 2), "B03": (35, 0)}  # (labelled, churners)


def make_history(kpis_by_period: dict[str, pd.DataFrame]) -> pd.DataFrame:
    """branch_history's rows for the given periods' KPIs, with made-up attrition."""
    parts = []
    for kpis in kpis_by_period.values():
        part = kpis.copy()
        labelled = part["branch_id"].map(lambda b: ATTRITION.get(b, (93, 3))[0])
        churners = part["branch_id"].map(lambda b: ATTRITION.get(b, (93, 3))[1])
        part["attrition_customers"] = labelled.astype("Int64")
        part["attrition_churners"] = churners.astype("Int64")
        part["attrition_rate"] = churners / labelled
        part["source"] = "stored"
        parts.append(part)
    return pd.concat(parts, ignore_index=True)


def make_responses(
    definition,
    seed: int,
    per_branch: dict[str, int],
    staff: bool = False,
    customers: list[str] | None = None,
) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    rows = []
    k = 0
    for branch, count in per_branch.items():
        for _ in range(count):
            k += 1
            mood = rng.normal(0, 1)
            row = {
                "response_id": f"R{k:04d}",
                "branch_id": branch,
                "response_date": pd.Timestamp("2026-10-15"),
            }
            if not staff:
                row["customer_id"] = customers[k % len(customers)] if customers and k % 3 else None
            for item in definition.dimension_items:
                row[item] = float(np.clip(np.round(3 + mood + rng.normal(0, 0.7)), 1, 5))
            if definition.overall_item:
                row[definition.overall_item] = float(np.clip(np.round(3 + mood), 1, 5))
            if definition.nps_item:
                row[definition.nps_item] = float(np.clip(np.round(7 + 2 * mood), 0, 10))
            rows.append(row)
    frame = pd.DataFrame(rows)
    frame["response_date"] = frame["response_date"].dt.date
    return frame


def make_survey_summary(cfg: dict, scores: pd.DataFrame, period: str) -> dict:
    survey_cfg = cfg["survey"]
    common = {
        "min_group_size": survey_cfg["min_group_size"],
        "alpha_threshold": survey_cfg["alpha_threshold"],
    }
    customer_def = load_definition(survey_definition_path(survey_cfg["customer_definition"]))
    staff_def = load_definition(survey_definition_path(survey_cfg["staff_definition"]))
    # B03 has too few customer answers: its survey figures are suppressed.
    responses = make_responses(
        customer_def, 1, {"B01": 40, "B02": 35, "B03": 6}, customers=list(scores["customer_id"])
    )
    bands = scores.set_index("customer_id")["churn_band"]
    groups = pd.DataFrame(
        {"branch_id": responses["branch_id"], "churn_band": responses["customer_id"].map(bands)}
    )
    customer = analyse_survey(
        responses,
        customer_def,
        group_by=["branch_id", "churn_band"],
        groups=groups,
        linked_groups=["churn_band"],
        **common,
    )
    from pipeline.survey.core import SurveySettings, nps_history

    trend = nps_history(responses, customer_def, period, SurveySettings.from_config(cfg))
    staff_resp = make_responses(staff_def, 2, {"B01": 14, "B02": 12, "B03": 11}, staff=True)
    staff = analyse_survey(staff_resp, staff_def, group_by=["branch_id"], **common)
    return {
        "period": period,
        "surveys": {
            "customer": {"status": "ok", **customer.summary, "nps_history": trend},
            "staff": {"status": "ok", **staff.summary},
        },
    }


# The contact-effect section of a model card where the effect ranks the lists (the shape
# pipeline.scoring.calls.contact_effects writes), for the report's effect pages.
EFFECT_CARD = {
    "status": "ok",
    "ranking": "expected_value_saved",
    "message": None,
    "contact_cost": 5.0,
    "overlap": [0.02, 0.98],
    "outcome": "churned within 3 months (silent_attrition)",
    "windows": {"evaluation": ["2026-01-31"], "final": ["2026-04-30", "2026-03-31"]},
    "customers": {"evaluation": 900, "final": 1000},
    "contacted": {"evaluation": 90, "final": 120},
    "propensity": {
        "quantiles": {"0.5": 0.13, "0.01": 0.03, "0.99": 0.57},
        "outside_overlap": 7,
        "outside_overlap_share": 0.007,
    },
    "average_effect": {"effect": 0.004, "ci": [-0.001, 0.009], "customers": 993},
    "naive_difference": -0.016,
    "relative_effect": {
        "overall": 0.25,
        "overall_se": 0.1,
        "spread": 0.2,
        "segments": ["tier"],
        "by_segment": [
            {
                "segment": "mass",
                "customers": 800,
                "raw": 0.1,
                "relative_effect": 0.15,
                "relative_effect_se": 0.08,
            },
            {
                "segment": "wealth",
                "customers": 193,
                "raw": 0.6,
                "relative_effect": 0.4,
                "relative_effect_se": 0.2,
            },
        ],
    },
    "by_tier": [
        {
            "group": "mass",
            "customers": 800,
            "effect": 0.002,
            "ci": [-0.004, 0.008],
            "naive_difference": -0.02,
        }
    ],
    "by_branch": [
        {"group": "B01", "customers": 993, "effect": None, "ci": None, "naive_difference": None}
    ],
    "check": {
        "window_start": "2026-04-30",
        "customers": 950,
        "share": 0.1,
        "qini_area": {"effect": 17.2, "churn_risk": 16.8},
        "top_decile_effect": {"effect": 0.01, "ci": [-0.01, 0.03], "customers": 95},
        "average_effect": {"effect": -0.001, "ci": [-0.005, 0.003], "customers": 950},
        "value_saved": {
            "expected_value_saved": 1200.0,
            "value_at_risk": 800.0,
            "churn_risk": -50.0,
        },
        "value_saved_at_random": 73.0,
        "effect_versus_value_at_risk": {"difference": 400.0, "ci": [-100.0, 900.0]},
        "effect_ranking_worse": False,
        "gain_curves": {"effect": [[0.0, 0.0], [1.0, 5.0]], "churn_risk": [[0.0, 0.0], [1.0, 5.0]]},
    },
    "closed_loop": [
        {
            "lists_period": "2026-06",
            "months": 1,
            "network": {
                "contacted": {"customers": 40, "churned": 2, "churn_rate": 0.05},
                "not_contacted": {"customers": 60, "churned": 6, "churn_rate": 0.1},
                "difference": 0.05,
                "ci": [-0.05, 0.15],
                "expected_effect": 0.01,
            },
            "by_branch": {
                "B01": {
                    "contacted": {"customers": 10, "churned": 0, "churn_rate": 0.0},
                    "not_contacted": {"customers": 0, "churned": 0, "churn_rate": None},
                    "difference": None,
                    "ci": None,
                    "expected_effect": None,
                }
            },
        }
    ],
}


MODEL_CARD = {
    "clv": {"model": "bgnbd", "model_name": "BG/NBD", "parameters": {"r": 0.5}},
    "clv_validation": {
        "status": "ok",
        "verdict": "BG/NBD beats the naive baseline (MAE 1.200 vs 1.500)",
        "model": {"mae": 1.2, "rmse": 2.0},
        "naive_baseline": {"mae": 1.5, "rmse": 2.4},
        "model_beats_baseline": True,
        "warning": None,
    },
    "churn": {
        "status": "ok",
        "message": None,
        "verdict": "gradient boosting does NOT beat the recency "
        "rule out of time (ROC-AUC 0.610 vs 0.640)",
        "metrics": {
            "gradient_boosting": {
                "roc_auc": 0.61,
                "pr_auc": 0.22,
                "top_decile_lift": 1.8,
                "ks": 0.19,
                "brier": 0.081,
            },
            "logistic_regression": {
                "roc_auc": 0.6,
                "pr_auc": 0.21,
                "top_decile_lift": 1.7,
                "ks": 0.18,
                "brier": 0.083,
            },
            "simple_rule": {
                "roc_auc": 0.64,
                "pr_auc": 0.25,
                "top_decile_lift": 2.1,
                "ks": 0.22,
                "brier": 0.079,
            },
        },
        "simple_rule": {"rule": "aum_change_3m", "train_roc_auc": {"aum_change_3m": 0.66}},
        "top_drivers": [
            {"feature": "recency_days", "importance": 0.0812, "importance_sd": 0.01},
            {"feature": "aum_change_3m", "importance": 0.0311, "importance_sd": 0.004},
        ],
    },
    "value": {
        "validation": {
            "status": "ok",
            "months": 3,
            "verdict": "the value model beats the naive baseline on the next 3 months' profit "
            "(MAE 12.50 vs 14.00; rank correlation 0.950 vs 0.940)",
            "model": {"mae": 12.5, "spearman": 0.95, "aggregate_pct_error": -1.5},
            "naive_baseline": {"mae": 14.0, "spearman": 0.94, "aggregate_pct_error": -3.0},
            "model_beats_baseline": True,
            "warning": None,
        }
    },
    "warnings": [
        "The churn model did not beat the best simple rule (AUM change over 3 months) out "
        "of time: rank customers by that rule instead"
    ],
}

MANIFEST = {
    "tables": {
        "customers": {
            "rows_read": 125,
            "accepted": 120,
            "rejected": 3,
            "rejected_by_reason": {"unparseable_date": 2, "missing_value": 1},
            "duplicates_dropped": 2,
        },
        "transactions": {
            "rows_read": 5000,
            "accepted": 4990,
            "rejected": 10,
            "rejected_by_reason": {"amount_not_positive": 4, "unknown_customer": 6},
            "duplicates_dropped": 0,
        },
    }
}


def bank_config(
    data_dir: Path, report_dir: Path, *, workers: int = 1, locale: str = "en"
) -> tuple[dict, Catalog]:
    """The config and catalog of a bank written under data_dir (at most one report
    worker per CPU, as the config allows)."""
    cfg = load_config(
        data_dir=data_dir,
        report_dir=report_dir,
        overrides={"report.workers": min(workers, cpu_count()), "locale": locale},
    )
    return cfg, Catalog.from_config(cfg)


def write_bank(
    data_dir: Path,
    report_dir: Path,
    *,
    previous: bool = True,
    churn_model: bool = True,
    workers: int = 1,
    locale: str = "en",
    effect: bool = False,
) -> tuple[dict, Catalog]:
    """Write every report input for PERIOD (and the previous period's KPIs if asked; with
    `effect`, call lists ranked by the effect of a call and EFFECT_CARD in the card)."""
    cfg, catalog = bank_config(data_dir, report_dir, workers=workers, locale=locale)
    s = FeatureSettings.from_config(cfg)
    prev = previous_period(PERIOD)
    features = make_features(cfg, PERIOD, 11)
    prev_features = make_features(cfg, prev, 12)
    as_of = as_of_date(PERIOD)
    write_parquet(features, catalog.customer_features(PERIOD))
    kpis = compute_branch_kpis(features, s, PERIOD, as_of)
    write_parquet(kpis, catalog.branch_kpis(PERIOD))
    history = {PERIOD: kpis}
    if previous:
        prev_kpis = compute_branch_kpis(prev_features, s, prev, as_of_date(prev))
        write_parquet(prev_kpis, catalog.branch_kpis(prev))
        write_parquet(
            branch_scores(make_scores(prev_features, 14, churn_model), prev),
            catalog.branch_scores(prev),
        )
        history = {prev: prev_kpis, **history}
    write_parquet(make_history(history), catalog.branch_history(PERIOD))
    write_parquet(compute_lorenz(features, s, PERIOD, as_of), catalog.lorenz(PERIOD))
    write_parquet(
        compute_tier_migration(prev_features, features, s.tier_names, PERIOD),
        catalog.tier_migration(PERIOD),
    )
    scores = make_scores(features, 13, churn_model)
    write_parquet(scores, catalog.customer_scores(PERIOD))
    books, calls, unassigned_lists = rm_lists(scores, features, s, as_of, effect)
    valued = with_effects(scores, effect)
    write_parquet(branch_scores(valued, PERIOD, calls), catalog.branch_scores(PERIOD))
    write_parquet(books, catalog.rm_books(PERIOD))
    for (branch, rm), frame in calls.items():
        write_csv(frame, catalog.call_list(PERIOD, branch, rm))
    for b in BRANCHES:
        write_csv(make_watchlist(scores, b, as_of), catalog.watchlist(PERIOD, b))
        write_csv(unassigned_lists[b], catalog.unassigned_list(PERIOD, b))
    card = dict(MODEL_CARD)
    if effect:
        card["contact_effect"] = EFFECT_CARD
    if not churn_model:
        card["churn"] = {
            "status": "no_model",
            "message": "too few churners for a supervised churn model",
            "metrics": None,
            "top_drivers": None,
        }
        card["warnings"] = ["too few churners for a supervised churn model"]
    write_json(card, catalog.model_card(PERIOD))
    write_json(make_survey_summary(cfg, scores, PERIOD), catalog.survey_summary(PERIOD))
    write_json(MANIFEST, catalog.ingest_manifest)
    for stage in STAMPED:  # one generation, stamped as the stages stamp it (crm run)
        with PeriodStage(cfg, catalog, PERIOD, stage) as run:
            run.complete()
    return cfg, catalog


def test_fixture_customers_belong_to_one_branch(tmp_path: Path) -> None:
    cfg = load_config(data_dir=tmp_path / "d", report_dir=tmp_path / "r")
    features = make_features(cfg, PERIOD, 11)
    assert features["customer_id"].is_unique
    for b in BRANCHES:
        ids = features.loc[features["branch_id"] == b, "customer_id"]
        assert len(ids) == PER_BRANCH
        assert all(i.startswith(f"{b}-") or i == SCRIPT_CUSTOMER for i in ids)


_PRISTINE: dict[tuple[bool, bool, bool], Path] = {}


def make_bank(
    root: Path,
    *,
    previous: bool = True,
    churn_model: bool = True,
    workers: int = 1,
    locale: str = "en",
    effect: bool = False,
) -> tuple[dict, Catalog]:
    """A private copy under root of write_bank's files: written once per test session for
    each (previous, churn_model) into a temporary folder (removed at exit) and copied, so
    a test may delete or change its copy's files."""
    key = (previous, churn_model, effect)
    if key not in _PRISTINE:
        source = Path(tempfile.mkdtemp(prefix="report-bank-"))
        atexit.register(shutil.rmtree, source, True)
        write_bank(
            source / "data",
            source / "reports",
            previous=previous,
            churn_model=churn_model,
            effect=effect,
        )
        _PRISTINE[key] = source / "data"
    shutil.copytree(_PRISTINE[key], root / "data")
    return bank_config(root / "data", root / "reports", workers=workers, locale=locale)


def test_a_copied_bank_holds_the_same_files_as_a_written_one(tmp_path: Path) -> None:
    (tmp_path / "w").mkdir()
    _, written = write_bank(tmp_path / "w" / "data", tmp_path / "w" / "reports")
    _, copied = make_bank(tmp_path / "c")
    files = sorted(
        p.relative_to(written.data_dir) for p in written.data_dir.rglob("*") if p.is_file()
    )
    assert files and files == sorted(
        p.relative_to(copied.data_dir) for p in copied.data_dir.rglob("*") if p.is_file()
    )
    for f in files:
        assert (written.data_dir / f).read_bytes() == (copied.data_dir / f).read_bytes(), f
