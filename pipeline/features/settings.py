"""The configuration values the features stage uses, read once and checked.

Pure functions in this package take a `FeatureSettings` rather than the whole config,
so every value they depend on is explicit. `configs/default.yml` documents each key
(sections tiers, rm_tiers, features, rfm); the checks here are the ones the shared
loader does not make (choices and ranges of keys this stage added).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from pipeline.errors import ConfigError

FREQUENCY_UNITS = ("day", "transaction")


@dataclass(frozen=True)
class Segment:
    """One RFM rule: a customer whose r and f scores fall in both inclusive ranges."""

    name: str
    r: tuple[int, int]
    f: tuple[int, int]


@dataclass(frozen=True)
class FeatureSettings:
    window_months: int
    dormant_days: int
    rm_contact_days: int
    aum_change_months: tuple[int, ...]
    age_bands: tuple[int, ...]
    frequency_unit: str
    digital_majority: float
    lorenz_points: int
    tier_names: tuple[str, ...]
    tier_min_aum: tuple[float, ...]
    rm_tiers: tuple[str, ...]
    rfm_population: str
    rfm_monetary: str
    inactive_segment: str
    unmatched_segment: str
    segments: tuple[Segment, ...]

    @classmethod
    def from_config(cls, cfg: dict[str, Any]) -> FeatureSettings:
        """Settings from a merged config (pipeline.config.load_config), with stage checks."""
        feats, rfm = cfg["features"], cfg["rfm"]
        settings = cls(
            window_months=int(feats["window_months"]),
            dormant_days=int(feats["dormant_days"]),
            rm_contact_days=int(feats["rm_contact_days"]),
            aum_change_months=tuple(int(m) for m in feats["aum_change_months"]),
            age_bands=tuple(int(a) for a in feats["age_bands"]),
            frequency_unit=str(feats["frequency_unit"]),
            digital_majority=float(feats["digital_majority"]),
            lorenz_points=int(feats["lorenz_points"]),
            tier_names=tuple(t["name"] for t in cfg["tiers"]),
            tier_min_aum=tuple(float(t["min_aum"]) for t in cfg["tiers"]),
            rm_tiers=tuple(cfg["rm_tiers"]),
            rfm_population=str(rfm["population"]),
            rfm_monetary=str(rfm["monetary"]),
            inactive_segment=str(rfm["inactive_segment"]),
            unmatched_segment=str(rfm["unmatched_segment"]),
            segments=tuple(
                Segment(s["name"], (s["r"][0], s["r"][1]), (s["f"][0], s["f"][1]))
                for s in rfm["segments"]
            ),
        )
        settings.check()
        return settings

    def check(self) -> None:
        """Raise ConfigError naming the key for values this stage cannot use."""
        if self.frequency_unit not in FREQUENCY_UNITS:
            raise ConfigError(
                f"features.frequency_unit: must be one of {', '.join(FREQUENCY_UNITS)}; "
                f"got {self.frequency_unit!r}"
            )
        if not 0 <= self.digital_majority < 1:
            raise ConfigError(
                f"features.digital_majority: must be in [0, 1), got {self.digital_majority}"
            )
        if self.lorenz_points < 1:
            raise ConfigError(
                f"features.lorenz_points: must be at least 1, got {self.lorenz_points}"
            )
        if self.rm_contact_days < 1:
            raise ConfigError(
                f"features.rm_contact_days: must be at least 1, got {self.rm_contact_days}"
            )
        months = self.aum_change_months
        if not months or any(m < 1 for m in months) or len(set(months)) != len(months):
            raise ConfigError(
                "features.aum_change_months: expected distinct whole months >= 1, "
                f"got {list(months)}"
            )
        bands = self.age_bands
        if any(a < 1 for a in bands) or any(b <= a for a, b in zip(bands, bands[1:], strict=False)):
            raise ConfigError(
                f"features.age_bands: expected increasing ages >= 1, got {list(bands)}"
            )
        if not self.unmatched_segment.strip():
            raise ConfigError("rfm.unmatched_segment: must be a non-empty name")
