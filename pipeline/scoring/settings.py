"""The configuration values the score stage uses, read once at its edge.

`configs/default.yml` documents each key (sections clv, churn, value_risk); the shared
loader (pipeline.config) has checked types, choices and ranges. The score stage's pure
functions take these objects, never the whole config, so what each depends on is
explicit and a notebook can build one by hand.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from pipeline.features.settings import FeatureSettings


@dataclass(frozen=True)
class ClvSettings:
    model: str
    time_unit: str
    horizon_months: int
    discount_rate_annual: float
    penalizer: float
    holdout_months: int
    value_source: str
    margin_rates: tuple[tuple[str, float], ...]  # (txn_type, share of amount), sorted
    min_repeat_customers: int

    @classmethod
    def from_config(cls, cfg: dict[str, Any]) -> ClvSettings:
        c = cfg["clv"]
        return cls(
            model=str(c["model"]),
            time_unit=str(c["time_unit"]),
            horizon_months=int(c["horizon_months"]),
            discount_rate_annual=float(c["discount_rate_annual"]),
            penalizer=float(c["penalizer"]),
            holdout_months=int(c["holdout_months"]),
            value_source=str(c["value_source"]),
            margin_rates=tuple(sorted((str(k), float(v)) for k, v in c["margin_rates"].items())),
            min_repeat_customers=int(c["min_repeat_customers"]),
        )

    @property
    def rated_txn_types(self) -> set[str]:
        return {k for k, _ in self.margin_rates}


@dataclass(frozen=True)
class ChurnSettings:
    definition: str
    horizon_months: int
    aum_drop_share: float
    inactive_in_window: bool
    medium: float  # churn_probability from which a customer is in the medium band
    high: float  # ... and the high band
    min_churners: int
    max_training_rows: int
    random_state: int

    @classmethod
    def from_config(cls, cfg: dict[str, Any]) -> ChurnSettings:
        c = cfg["churn"]
        return cls(
            definition=str(c["definition"]),
            horizon_months=int(c["horizon_months"]),
            aum_drop_share=float(c["aum_drop_share"]),
            inactive_in_window=bool(c["inactive_in_window"]),
            medium=float(c["bands"]["medium"]),
            high=float(c["bands"]["high"]),
            min_churners=int(c["min_churners"]),
            max_training_rows=int(c["max_training_rows"]),
            random_state=int(c["random_state"]),
        )

    @property
    def bands(self) -> dict[str, float]:
        return {"medium": self.medium, "high": self.high}


@dataclass(frozen=True)
class ValueSettings:
    """What a customer earns the bank per month (configs/default.yml `value`) and how
    it is carried over the CLV horizon (`clv`: horizon, discount rate)."""

    margin_rates: tuple[tuple[str, float], ...]  # (product, annual margin on balance)
    card_spend_txn_types: tuple[str, ...]
    interchange_rate: float
    fee_schedule: tuple[tuple[str, float], ...]  # (txn_type, fee per transaction)
    cost_per_transaction: tuple[tuple[str, float], ...]  # (channel, cost)
    run_rate_months: int
    horizon_months: int
    discount_rate_annual: float

    @classmethod
    def from_config(cls, cfg: dict[str, Any]) -> ValueSettings:
        v = cfg["value"]

        def pairs(mapping: dict) -> tuple[tuple[str, float], ...]:
            return tuple(sorted((str(k), float(x)) for k, x in mapping.items()))

        return cls(
            margin_rates=pairs(v["margin_rates"]),
            card_spend_txn_types=tuple(sorted(str(t) for t in v["card_spend_txn_types"])),
            interchange_rate=float(v["interchange_rate"]),
            fee_schedule=pairs(v["fee_schedule"]),
            cost_per_transaction=pairs(v["cost_per_transaction"]),
            run_rate_months=int(v["run_rate_months"]),
            horizon_months=int(cfg["clv"]["horizon_months"]),
            discount_rate_annual=float(cfg["clv"]["discount_rate_annual"]),
        )


@dataclass(frozen=True)
class ScoreSettings:
    clv: ClvSettings
    churn: ChurnSettings
    value: ValueSettings
    features: FeatureSettings  # to build the mart at earlier month ends (churn training)
    tier_names: tuple[str, ...]
    rm_tiers: tuple[str, ...]
    high_value_share: float
    watchlist_size: int
    rm_monthly_calls: int
    rm_contact_days: int

    @classmethod
    def from_config(cls, cfg: dict[str, Any]) -> ScoreSettings:
        return cls(
            clv=ClvSettings.from_config(cfg),
            churn=ChurnSettings.from_config(cfg),
            value=ValueSettings.from_config(cfg),
            features=FeatureSettings.from_config(cfg),
            tier_names=tuple(t["name"] for t in cfg["tiers"]),
            rm_tiers=tuple(cfg["rm_tiers"]),
            high_value_share=float(cfg["value_risk"]["high_value_share"]),
            watchlist_size=int(cfg["value_risk"]["watchlist_size"]),
            rm_monthly_calls=int(cfg["value_risk"]["rm_monthly_calls"]),
            rm_contact_days=int(cfg["features"]["rm_contact_days"]),
        )
