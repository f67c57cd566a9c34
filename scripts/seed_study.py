"""Do the sample bank's ground-truth results hold on other seeds of the same bank?

The tests check the value model and the contact effect against the generator's truth on
the default seed (tests/test_value_sample_bank.py, test_contact_effect_sample_bank.py).
This runs the same two scenarios on other seeds -- the demo-sized bank scored a year
before its data ends (value), and at 2026-07 after 2026-06 (contact effect) -- and
writes each seed's figures, so a claim in the README can say on how many banks it held.

    .venv/bin/python scripts/seed_study.py --out /tmp/seeds 20261101 7 11 23

About a minute a seed on two cores. Prints each seed's figures as a line of JSON and
writes them all to <out>/seed_study.json.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import click
import numpy as np
import pandas as pd
from scipy.stats import spearmanr

from pipeline.catalog import Catalog

VALUE_PERIOD = "2025-10"  # a year before the generated data ends
FORWARD = pd.period_range("2025-11", "2026-10", freq="M").strftime("%Y-%m").tolist()
PAST = pd.period_range("2024-11", "2025-10", freq="M").strftime("%Y-%m").tolist()
EFFECT_PERIODS, EFFECT_MONTH = ("2026-06", "2026-07"), "2026-08"
SHARES = (0.02, 0.05, 0.1)
RANKINGS = ("value_saved", "value_at_risk", "churn_probability", "clv")


def _bank(root: Path, seed: int, steps: list[list[str]]) -> Catalog:
    """A fresh sample bank of `seed` in `root`, ingested and run through `steps`."""
    root.mkdir(parents=True, exist_ok=True)
    crm = [sys.executable, "-m", "pipeline.cli", "-q", "--data-dir", str(root / "data")]
    crm += ["--report-dir", str(root / "reports")]
    sample = ["sample", "--seed", str(seed), "--end-month", "2026-10"]
    for step in [sample, ["ingest"], *steps]:
        subprocess.run(crm + step, check=True, stdout=subprocess.DEVNULL)
    return Catalog(root / "data", root / "reports")


def value_figures(catalog: Catalog) -> dict:
    """What test_value_sample_bank asserts, measured."""
    scores = pd.read_parquet(catalog.customer_scores(VALUE_PERIOD))
    features = pd.read_parquet(catalog.customer_features(VALUE_PERIOD))
    truth = pd.read_parquet(catalog.ground_truth_dir() / "monthly_profit.parquet")
    truth = truth.set_index("customer_id")
    card = json.loads(catalog.model_card(VALUE_PERIOD).read_text())
    active = scores[scores["status"] == "active"].set_index("customer_id")
    forward = truth.loc[active.index, FORWARD].sum(axis=1)
    tier_mean = active.groupby("tier")["clv"].mean()
    wealthy = features["tier"].isin(["wealth", "private"]) & (features["status"] == "active")
    falling = features[wealthy & (features["aum_change_pct_3m"] <= -0.2)]
    lists = {
        b: pd.read_csv(catalog.watchlist(VALUE_PERIOD, b)) for b in features["branch_id"].unique()
    }
    missed = [
        c
        for c, b in zip(falling["customer_id"], falling["branch_id"], strict=True)
        if c not in set(lists[b]["customer_id"])
    ]
    listed = pd.concat(lists.values())
    check, churn = card["value"]["validation"], card["churn"]
    return {
        "clv_spearman": spearmanr(active["clv"], forward).statistic,
        "naive_spearman": spearmanr(truth.loc[active.index, PAST].sum(axis=1), forward).statistic,
        "clv_mean_by_tier": {t: round(float(v)) for t, v in tier_mean.items()},
        "value_check_beats_baseline": bool(check["model_beats_baseline"]),
        "wealthy_falling_aum": len(falling),
        "wealthy_falling_aum_not_listed": len(missed),
        "wealthy_share_of_watchlists": float(listed["tier"].isin(["wealth", "private"]).mean()),
        "simple_rule": churn["simple_rule"]["rule"],
        "simple_rule_roc_auc": churn["metrics"]["simple_rule"]["roc_auc"],
        "model_beats_simple_rule": bool(churn["model_beats_simple_rule"]),
    }


def effect_figures(catalog: Catalog) -> dict:
    """What test_contact_effect_sample_bank asserts, measured (the verdict alone where
    the lists fell back to value at risk: no customer then has an effect)."""
    period = EFFECT_PERIODS[-1]
    scores = pd.read_parquet(catalog.customer_scores(period))
    card = json.loads(catalog.model_card(period).read_text())["contact_effect"]
    verdict = {
        "status": card["status"],
        "ranking": card.get("ranking"),
        "message": card.get("message"),
        "naive_difference": card.get("naive_difference"),
        "average_effect": (card.get("average_effect") or {}).get("effect"),
        "average_effect_ci": (card.get("average_effect") or {}).get("ci"),
    }
    if card["status"] != "ok":
        return verdict
    truth = pd.read_parquet(catalog.ground_truth_dir() / "contact_effect.parquet")
    a = scores[(scores["status"] == "active") & scores["contact_effect"].notna()]
    a = a.reset_index(drop=True)
    true = truth.set_index("customer_id").loc[a["customer_id"], EFFECT_MONTH].to_numpy()
    decile = pd.qcut(a["contact_effect"].rank(method="first"), 10, labels=False)
    by_decile = pd.Series(true).groupby(decile.to_numpy()).mean()
    clv = a["clv"].clip(lower=0).to_numpy()
    true_value = true * clv
    captured = {}
    for share in SHARES:
        k = int(share * len(a))
        row = {}
        for name in RANKINGS:
            score = clv if name == "clv" else a[name].to_numpy(dtype=float)
            order = np.lexsort((a["customer_id"].to_numpy(), -score))
            row[name] = round(float(true_value[order[:k]].sum()))
        captured[f"{share:.0%}"] = row
    return {
        **verdict,
        "effect_spearman": spearmanr(a["contact_effect"], true).statistic,
        "decile_spearman": spearmanr(by_decile.index, by_decile.to_numpy()).statistic,
        "top_decile_over_mean": float(by_decile.iloc[-1] / true.mean()),
        "squared_error": float(((a["contact_effect"] - true) ** 2).mean()),
        "naive_squared_error": float(((card["naive_difference"] - true) ** 2).mean()),
        "captured_true_value": captured,
    }


@click.command()
@click.option("--out", type=click.Path(path_type=Path), required=True)
@click.argument("seeds", type=int, nargs=-1, required=True)
def main(out: Path, seeds: tuple[int, ...]) -> None:
    """Run both scenarios on every seed."""
    results = {}
    for seed in seeds:
        value = _bank(
            out / f"value-{seed}",
            seed,
            [["features", "--period", VALUE_PERIOD], ["score", "--period", VALUE_PERIOD]],
        )
        effect_steps = [[s, "--period", p] for p in EFFECT_PERIODS for s in ("features", "score")]
        effect = _bank(out / f"effect-{seed}", seed, effect_steps)
        results[seed] = {"value": value_figures(value), "effect": effect_figures(effect)}
        click.echo(json.dumps({seed: results[seed]}, default=float))
    (out / "seed_study.json").write_text(json.dumps(results, indent=2, default=float))


if __name__ == "__main__":
    main()
