"""The configuration values the score stage uses, read once at its edge.

`configs/default.yml` documents each key (sections clv, churn, value_risk); the shared
loader (pipeline.config) has checked types, choices and ranges. The score stage's pure
functions take these objects, never the whole config, so what each depends on is
explicit and a notebook can build one by hand.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from pipeline.config import CHOICES
from pipeline.errors import ConfigError
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
    fallback_models: tuple[str, ...] = ()  # tried in order when a fit is degenerate
    event_period: str = "day"  # day | week: a customer's transactions in one are one event
    value_penalizer: float = 0.0  # Gamma-Gamma's, on values scaled to their mean
    currency: str = "CNY"  # of every money value

    @classmethod
    def from_config(cls, cfg: dict[str, Any]) -> ClvSettings:
        c = cfg["clv"]
        settings = cls(
            model=str(c["model"]),
            time_unit=str(c["time_unit"]),
            horizon_months=int(c["horizon_months"]),
            discount_rate_annual=float(c["discount_rate_annual"]),
            penalizer=float(c["penalizer"]),
            holdout_months=int(c["holdout_months"]),
            value_source=str(c["value_source"]),
            margin_rates=tuple(sorted((str(k), float(v)) for k, v in c["margin_rates"].items())),
            min_repeat_customers=int(c["min_repeat_customers"]),
            fallback_models=tuple(str(m) for m in c["fallback_models"]),
            event_period=str(c["event_period"]),
            value_penalizer=float(c["value_penalizer"]),
            currency=str(cfg["currency"]),
        )
        settings.check()
        return settings

    def check(self) -> None:
        """ConfigError naming the key for values the CLV functions cannot use."""
        known = CHOICES["clv.model"]
        for model in self.fallback_models:
            if model not in known:
                raise ConfigError(
                    f"clv.fallback_models: {model!r} is not a model ({', '.join(known)})"
                )
        if len(set(self.fallback_models)) != len(self.fallback_models):
            raise ConfigError(
                f"clv.fallback_models: each model once; got {list(self.fallback_models)}"
            )
        for key in ("penalizer", "value_penalizer"):
            if getattr(self, key) < 0:
                raise ConfigError(f"clv.{key}: must be 0 or more, got {getattr(self, key)}")

    @property
    def models(self) -> tuple[str, ...]:
        """The transactions models in the order they are tried: clv.model, then the
        fallbacks (clv.model among them is not tried twice)."""
        return (self.model, *(m for m in self.fallback_models if m != self.model))

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
class ContactEffectSettings:
    """How the effect of an RM's contact is estimated and used (`contact_effect`)."""

    enabled: bool
    contact_cost: float
    segments: tuple[str, ...]
    windows: int
    max_training_rows: int
    folds: int
    overlap: tuple[float, float]
    min_contacts: int
    min_overlap_share: float
    random_state: int

    @classmethod
    def from_config(cls, cfg: dict[str, Any]) -> ContactEffectSettings:
        c = cfg["contact_effect"]
        low, high = (float(x) for x in c["overlap"])
        return cls(
            enabled=bool(c["enabled"]),
            contact_cost=float(c["contact_cost"]),
            segments=tuple(str(x) for x in c["segments"]),
            windows=int(c["windows"]),
            max_training_rows=int(c["max_training_rows"]),
            folds=int(c["folds"]),
            overlap=(low, high),
            min_contacts=int(c["min_contacts"]),
            min_overlap_share=float(c["min_overlap_share"]),
            random_state=int(cfg["churn"]["random_state"]),
        )


@dataclass(frozen=True)
class ScoreSettings:
    clv: ClvSettings
    churn: ChurnSettings
    value: ValueSettings
    contact_effect: ContactEffectSettings
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
            contact_effect=ContactEffectSettings.from_config(cfg),
            features=FeatureSettings.from_config(cfg),
            tier_names=tuple(t["name"] for t in cfg["tiers"]),
            rm_tiers=tuple(cfg["rm_tiers"]),
            high_value_share=float(cfg["value_risk"]["high_value_share"]),
            watchlist_size=int(cfg["value_risk"]["watchlist_size"]),
            rm_monthly_calls=int(cfg["value_risk"]["rm_monthly_calls"]),
            rm_contact_days=int(cfg["features"]["rm_contact_days"]),
        )
