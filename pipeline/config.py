"""The one configuration loader: defaults, a user override file, flags and environment.

`configs/default.yml` is both the defaults and the schema: a user config may only
set keys that exist there, with values of the same type. Semantic checks (tiers
increasing, known choices, files that must exist) follow. Every error names the key.
"""

from __future__ import annotations

import copy
import os
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import yaml

from pipeline.errors import ConfigError
from pipeline.periods import parse_period
from pipeline.privacy import id_salt
from pipeline.schema import CHANNELS, PRODUCTS

PROJECT_ROOT = Path(__file__).resolve().parents[1]
CONFIG_DIR = Path(os.environ.get("CRM_CONFIG_DIR", PROJECT_ROOT / "configs"))
DEFAULT_CONFIG = CONFIG_DIR / "default.yml"

# Keys whose default is null: the type a value must have when set.
NULLABLE: dict[str, type] = {"period": str, "spark.master": str, "spark.interim_uri": str}
# Mappings whose keys are free (a txn_type, say) but whose values must be numbers.
OPEN_NUMBER_MAPS = {
    "clv.margin_rates",
    "churn.bands",
    "value.margin_rates",
    "value.fee_schedule",
    "value.cost_per_transaction",
}
# Mappings whose keys are free and whose values are scalars (Spark settings).
OPEN_SCALAR_MAPS = {"spark.conf"}
CHOICES: dict[str, tuple[str, ...]] = {
    "engine": ("duckdb", "spark"),
    "locale": ("en", "zh_CN"),
    "rfm.population": ("bank", "branch"),
    "rfm.monetary": ("revenue", "amount"),
    "clv.model": ("bgnbd", "pareto_nbd", "mbgnbd"),
    "clv.time_unit": ("week", "day"),
    "clv.value_source": ("revenue", "margin_rates"),
    "churn.definition": ("silent_attrition", "closed"),
}


def read_yaml(path: Path) -> Any:
    """Parse a YAML file; a missing or malformed file is a ConfigError naming it."""
    if not path.is_file():
        raise ConfigError(f"config file not found: {path}")
    try:
        return yaml.safe_load(path.read_text(encoding="utf-8"))
    except yaml.YAMLError as exc:
        raise ConfigError(f"{path}: not valid YAML: {exc}") from None


def load_config(
    user_config: str | Path | None = None,
    *,
    data_dir: str | Path | None = None,
    report_dir: str | Path | None = None,
    overrides: Mapping[str, Any] | None = None,
    env: Mapping[str, str] | None = None,
) -> dict[str, Any]:
    """Merge defaults <- user config <- environment <- flags, validate, resolve paths.

    `overrides` are dotted keys (`{"sample.customers": 500}`) applied last, as the
    CLI's own options are. Root precedence: flag, then environment
    (CRM_DATA_DIR, CRM_REPORT_DIR), then config.
    """
    env = os.environ if env is None else env
    defaults = read_yaml(DEFAULT_CONFIG)
    cfg = copy.deepcopy(defaults)
    if user_config is not None:
        user = read_yaml(Path(user_config)) or {}
        if not isinstance(user, dict):
            raise ConfigError(f"{user_config}: expected a mapping of keys at the top level")
        _merge(cfg, user, defaults, prefix="")
    for dotted, value in (overrides or {}).items():
        if value is not None:
            _set_dotted(cfg, defaults, dotted, value)
    for key, var, flag in (
        ("data_dir", "CRM_DATA_DIR", data_dir),
        ("report_dir", "CRM_REPORT_DIR", report_dir),
    ):
        if flag is not None:
            cfg["paths"][key] = str(flag)
        elif env.get(var):
            cfg["paths"][key] = env[var]
    validate(cfg)
    for key in ("data_dir", "report_dir"):
        cfg["paths"][key] = str(Path(cfg["paths"][key]).expanduser().resolve())
    return cfg


def _merge(cfg: dict, user: Mapping, defaults: Mapping, prefix: str) -> None:
    for key, value in user.items():
        dotted = f"{prefix}{key}"
        if key not in defaults:
            known = ", ".join(sorted(str(k) for k in defaults))
            raise ConfigError(f"{dotted}: unknown key (known here: {known})")
        default = defaults[key]
        if isinstance(default, dict) and dotted not in OPEN_NUMBER_MAPS | OPEN_SCALAR_MAPS:
            if not isinstance(value, dict):
                raise ConfigError(f"{dotted}: expected a mapping, got {_type_name(value)}")
            _merge(cfg[key], value, default, prefix=f"{dotted}.")
        else:
            cfg[key] = value


def _set_dotted(cfg: dict, defaults: dict, dotted: str, value: Any) -> None:
    *parents, leaf = dotted.split(".")
    node, dnode = cfg, defaults
    for part in parents:
        if part not in dnode or not isinstance(dnode[part], dict):
            raise ConfigError(f"{dotted}: unknown key")
        node, dnode = node[part], dnode[part]
    if leaf not in dnode:
        raise ConfigError(f"{dotted}: unknown key")
    node[leaf] = value


def _type_name(value: Any) -> str:
    return "null" if value is None else type(value).__name__


def _check_type(dotted: str, value: Any, default: Any) -> None:
    if default is None:
        expected = NULLABLE.get(dotted)
        if value is not None and expected is not None and not isinstance(value, expected):
            raise ConfigError(
                f"{dotted}: expected {expected.__name__} or null, got {_type_name(value)}"
            )
        return
    if dotted in OPEN_NUMBER_MAPS:
        if not isinstance(value, dict):
            raise ConfigError(f"{dotted}: expected a mapping, got {_type_name(value)}")
        for k, v in value.items():
            if isinstance(v, bool) or not isinstance(v, int | float):
                raise ConfigError(f"{dotted}.{k}: expected a number, got {_type_name(v)}")
        return
    if dotted in OPEN_SCALAR_MAPS:
        if not isinstance(value, dict):
            raise ConfigError(f"{dotted}: expected a mapping, got {_type_name(value)}")
        for k, v in value.items():
            if not isinstance(v, str | int | float | bool):
                raise ConfigError(f"{dotted}.{k}: expected a string or number, got {_type_name(v)}")
        return
    if isinstance(default, bool):
        ok = isinstance(value, bool)
    elif isinstance(default, float):
        ok = isinstance(value, int | float) and not isinstance(value, bool)
    elif isinstance(default, int):
        ok = isinstance(value, int) and not isinstance(value, bool)
    else:
        ok = isinstance(value, type(default))
    if not ok:
        raise ConfigError(
            f"{dotted}: expected {type(default).__name__}, got {_type_name(value)} ({value!r})"
        )
    if isinstance(default, dict):
        for key, sub_default in default.items():
            _check_type(f"{dotted}.{key}", value[key], sub_default)
    elif isinstance(default, list) and default and not isinstance(default[0], dict):
        for i, item in enumerate(value):
            _check_type(f"{dotted}[{i}]", item, default[0])


def validate(cfg: dict[str, Any]) -> None:
    """Types against the defaults, then the rules a bank's config must obey."""
    defaults = read_yaml(DEFAULT_CONFIG)
    for key, default in defaults.items():
        _check_type(key, cfg[key], default)
    for dotted, choices in CHOICES.items():
        value = get(cfg, dotted)
        if value not in choices:
            raise ConfigError(f"{dotted}: must be one of {', '.join(choices)}; got {value!r}")
    if cfg["period"] is not None:
        try:
            parse_period(cfg["period"])
        except ConfigError as exc:
            raise ConfigError(f"period: {exc}") from None
    _validate_tiers(cfg)
    _validate_rfm(cfg["rfm"])
    for dotted in ("ingest.max_reject_rate", "churn.aum_drop_share"):
        if not 0 <= get(cfg, dotted) <= 1:
            raise ConfigError(f"{dotted}: must be between 0 and 1, got {get(cfg, dotted)}")
    bands = cfg["churn"]["bands"]
    if set(bands) != {"medium", "high"} or not 0 < bands["medium"] < bands["high"] < 1:
        raise ConfigError("churn.bands: needs medium and high with 0 < medium < high < 1")
    for dotted in (
        "sample.branches",
        "sample.customers",
        "sample.months",
        "features.window_months",
        "features.dormant_days",
        "features.history_months",
        "clv.horizon_months",
        "churn.horizon_months",
        "value_risk.watchlist_size",
        "value_risk.rm_monthly_calls",
        "value.run_rate_months",
        "churn.max_training_rows",
        "survey.min_group_size",
        "survey.window_months",
        "report.workers",
    ):
        if get(cfg, dotted) < 1:
            raise ConfigError(f"{dotted}: must be at least 1, got {get(cfg, dotted)}")
    if not 0 < cfg["value_risk"]["high_value_share"] <= 1:
        raise ConfigError(
            "value_risk.high_value_share: must be above 0 and at most 1, "
            f"got {cfg['value_risk']['high_value_share']}"
        )
    _validate_value(cfg["value"])
    for kpi, target in cfg["report"]["targets"].items():
        if target["green"] == target["amber"]:
            raise ConfigError(
                f"report.targets.{kpi}: green and amber must differ (their order says which "
                f"way is better), both are {target['green']}"
            )
    source = source_config_path(cfg["source"])
    if not source.is_file():
        raise ConfigError(f"source: no source config {source}")
    for key in ("customer_definition", "staff_definition"):
        path = survey_definition_path(cfg["survey"][key])
        if not path.is_file():
            raise ConfigError(f"survey.{key}: no survey definition {path}")
    id_salt(cfg)  # hashing ids needs its salt in the environment: say so before any work
    for key in ("data_dir", "report_dir"):
        parent = Path(cfg["paths"][key]).expanduser().resolve().parent
        if not parent.is_dir():
            raise ConfigError(f"paths.{key}: parent folder does not exist: {parent}")


def _validate_tiers(cfg: dict[str, Any]) -> None:
    tiers = cfg["tiers"]
    if not tiers:
        raise ConfigError("tiers: at least one tier is needed")
    names = []
    for i, tier in enumerate(tiers):
        if not isinstance(tier, dict) or set(tier) != {"name", "min_aum"}:
            raise ConfigError(f"tiers[{i}]: expected {{name, min_aum}}, got {tier!r}")
        if not isinstance(tier["name"], str) or not isinstance(tier["min_aum"], int | float):
            raise ConfigError(f"tiers[{i}]: name must be text and min_aum a number")
        names.append(tier["name"])
    if tiers[0]["min_aum"] != 0:
        raise ConfigError(
            f"tiers[0].min_aum: the first tier must start at 0, got {tiers[0]['min_aum']}"
        )
    for i in range(1, len(tiers)):
        if tiers[i]["min_aum"] <= tiers[i - 1]["min_aum"]:
            raise ConfigError(
                f"tiers[{i}].min_aum: thresholds must increase "
                f"({tiers[i - 1]['min_aum']} then {tiers[i]['min_aum']})"
            )
    if len(set(names)) != len(names):
        raise ConfigError("tiers: tier names must be unique")
    for name in cfg["rm_tiers"]:
        if name not in names:
            raise ConfigError(f"rm_tiers: {name!r} is not a tier ({', '.join(names)})")


def _validate_value(value: dict[str, Any]) -> None:
    """Every product has a margin rate and every channel a cost; none is negative."""
    for key, names, what in (
        ("margin_rates", PRODUCTS, "product"),
        ("cost_per_transaction", CHANNELS, "channel"),
    ):
        given = value[key]
        for name in names:
            if name not in given:
                raise ConfigError(
                    f"value.{key}: no rate for {what} {name!r} (every {what} needs one: "
                    f"{', '.join(names)})"
                )
        unknown = sorted(set(given) - set(names))
        if unknown:
            raise ConfigError(f"value.{key}.{unknown[0]}: not a {what} ({', '.join(names)})")
    for key in ("margin_rates", "cost_per_transaction", "fee_schedule"):
        for name, rate in value[key].items():
            if rate < 0:
                raise ConfigError(f"value.{key}.{name}: must not be negative, got {rate}")
    if value["interchange_rate"] < 0:
        raise ConfigError(
            f"value.interchange_rate: must not be negative, got {value['interchange_rate']}"
        )


def _validate_rfm(rfm: dict[str, Any]) -> None:
    names = set()
    for i, seg in enumerate(rfm["segments"]):
        if not isinstance(seg, dict) or set(seg) != {"name", "r", "f"}:
            raise ConfigError(f"rfm.segments[{i}]: expected {{name, r, f}}, got {seg!r}")
        for axis in ("r", "f"):
            bounds = seg[axis]
            if (
                not isinstance(bounds, list)
                or len(bounds) != 2
                or not all(isinstance(b, int) and 1 <= b <= 5 for b in bounds)
                or bounds[0] > bounds[1]
            ):
                raise ConfigError(
                    f"rfm.segments[{i}].{axis}: expected [low, high] scores within 1-5, "
                    f"got {bounds!r}"
                )
        names.add(seg["name"])
    if rfm["inactive_segment"] not in names:
        raise ConfigError(f"rfm.inactive_segment: {rfm['inactive_segment']!r} is not a segment")


def get(cfg: Mapping[str, Any], dotted: str) -> Any:
    """`get(cfg, "rfm.population")` -> cfg["rfm"]["population"]."""
    node: Any = cfg
    for part in dotted.split("."):
        node = node[part]
    return node


def source_config_path(source: str) -> Path:
    """Path of a source config: a name under configs/sources/, or a path to a .yml file."""
    path = Path(source)
    if path.suffix in (".yml", ".yaml"):
        return path
    return CONFIG_DIR / "sources" / f"{source}.yml"


def survey_definition_path(name: str) -> Path:
    """Path of a survey definition: a name under configs/surveys/, or a path."""
    path = Path(name)
    if path.suffix in (".yml", ".yaml"):
        return path
    return CONFIG_DIR / "surveys" / f"{name}.yml"
