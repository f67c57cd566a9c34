"""The one configuration loader: defaults, a user override file, flags and environment.

`configs/default.yml` is both the defaults and the schema: a user config may only
set keys that exist there, with values of the same type. Semantic checks (tiers
increasing, known choices, files that must exist) follow. Every error names the key.
The default config, source configs and survey definitions the package carries are found
through pipeline.resources; a relative path written in a user config file (a source
config, a survey definition, a data or report root) is relative to that file's folder.
"""

from __future__ import annotations

import copy
import os
from collections.abc import Mapping
from datetime import date
from pathlib import Path
from typing import Any

import yaml

from pipeline.errors import ConfigError
from pipeline.locales import check_currency, check_locale
from pipeline.periods import parse_period
from pipeline.privacy import id_salt
from pipeline.resources import config_dir, default_config
from pipeline.schema import CHANNELS, PRODUCTS

# Keys of a user config whose relative paths are relative to the config file's folder.
RELATIVE_TO_FILE = (
    "paths.data_dir",
    "paths.report_dir",
    "source",
    "survey.customer_definition",
    "survey.staff_definition",
)
# Keys whose default is null: the type a value must have when set.
NULLABLE: dict[str, type] = {
    "period": str,
    "spark.master": str,
    "spark.interim_uri": str,
    "report.workers": int,
}
# Calendar days: written YYYY-MM-DD, quoted or not (YAML reads an unquoted one as a date).
DATE_KEYS = {"ingest.earliest_date", "ingest.earliest_customer_date"}
# Money is summed exactly as DECIMAL(18,4) downstream (features): a value must stay below
# 1e14, so a configured bound may not exceed this.
MONEY_CEILING = 1e13
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
    "rfm.population": ("bank", "branch"),
    "rfm.monetary": ("revenue", "amount"),
    "clv.model": ("bgnbd", "pareto_nbd", "mbgnbd"),
    "clv.time_unit": ("week", "day"),
    "clv.event_period": ("day", "week"),
    "clv.value_source": ("revenue", "margin_rates"),
    "churn.definition": ("silent_attrition", "closed"),
}
REPORT_FORMATS = ("html", "pdf")  # report.formats: html always, pdf beside it if asked


class _DuplicateKey(Exception):
    def __init__(self, key: Any, line: int, first: int):
        super().__init__(f"line {line}: duplicate key {key!r} (first set on line {first})")


class _UniqueKeyLoader(getattr(yaml, "CSafeLoader", yaml.SafeLoader)):
    """yaml's safe loader that refuses a mapping holding one key twice: PyYAML would keep
    the last value without a word, so a pasted setting silently overrides another.
    libyaml's parser where PyYAML has it (its wheels do): ten times faster, and every crm
    command reads the defaults."""

    def construct_mapping(self, node: yaml.MappingNode, deep: bool = False) -> dict:
        seen: dict[Any, int] = {}
        for key_node, _ in node.value:
            if key_node.tag == "tag:yaml.org,2002:merge":  # `<<: *base` may be overridden
                continue
            key = self.construct_object(key_node, deep=True)
            try:
                first = seen.get(key)
            except TypeError:  # an unhashable key: PyYAML's own error follows
                continue
            if first is not None:
                raise _DuplicateKey(key, key_node.start_mark.line + 1, first)
            seen[key] = key_node.start_mark.line + 1
        return super().construct_mapping(node, deep=deep)


def read_yaml(path: Path) -> Any:
    """Parse a YAML file; a missing or malformed file, or a key given twice in one
    mapping, is a ConfigError naming it."""
    if not path.is_file():
        raise ConfigError(f"config file not found: {path}")
    try:
        return yaml.load(path.read_text(encoding="utf-8"), Loader=_UniqueKeyLoader)  # noqa: S506
    except _DuplicateKey as exc:
        raise ConfigError(f"{path}: {exc}") from None
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
    defaults = read_yaml(default_config())
    cfg = copy.deepcopy(defaults)
    chosen: set[str] = set()  # top-level keys the user config or a flag set
    if user_config is not None:
        user = read_yaml(Path(user_config)) or {}
        if not isinstance(user, dict):
            raise ConfigError(f"{user_config}: expected a mapping of keys at the top level")
        _merge(cfg, user, defaults, prefix="")
        _relative_to(cfg, user, Path(user_config).expanduser().resolve().parent)
        chosen |= set(user)
    for dotted, value in (overrides or {}).items():
        if value is not None:
            _set_dotted(cfg, defaults, dotted, value)
            chosen.add(dotted.split(".")[0])
    _source_defaults(cfg, chosen)
    for key, var, flag in (
        ("data_dir", "CRM_DATA_DIR", data_dir),
        ("report_dir", "CRM_REPORT_DIR", report_dir),
    ):
        if flag is not None:
            cfg["paths"][key] = str(flag)
        elif env.get(var):
            cfg["paths"][key] = env[var]
    validate(cfg, defaults)
    for key in ("data_dir", "report_dir"):
        cfg["paths"][key] = str(Path(cfg["paths"][key]).expanduser().resolve())
    return cfg


def _relative_to(cfg: dict, user: Mapping, folder: Path) -> None:
    """Make the relative paths the user file set (RELATIVE_TO_FILE) relative to `folder`.
    A source or survey given by name (no .yml suffix) is a bundled one and stays a name."""
    for dotted in RELATIVE_TO_FILE:
        node: Any = user
        for part in dotted.split("."):
            node = node.get(part) if isinstance(node, Mapping) else None
        if not isinstance(node, str):
            continue
        path = Path(node).expanduser()
        is_path = dotted.startswith("paths.") or path.suffix in (".yml", ".yaml")
        if is_path and not path.is_absolute():
            _set_dotted(cfg, cfg, dotted, str(folder / path))


# Keys a source config may set for its bank (its currency, its tiers), below a user config.
SOURCE_KEYS = ("currency", "tiers", "rm_tiers")


def _source_defaults(cfg: dict, chosen: set[str]) -> None:
    """The source config's currency and tiers, where the user config and flags set none:
    a bank's exports come with its currency and the AUM bands that separate its
    customers (CZK for the Czech bank, not the defaults' CNY)."""
    path = source_config_path(str(cfg["source"]))
    if not path.is_file():
        return  # validate() says so
    source = read_yaml(path) or {}
    if not isinstance(source, dict):
        return  # the source loader says so
    for key in SOURCE_KEYS:
        if key in source and key not in chosen:
            cfg[key] = copy.deepcopy(source[key])


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
    if dotted in DATE_KEYS:
        _config_date(dotted, value)
        return
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


def validate(cfg: dict[str, Any], defaults: dict[str, Any] | None = None) -> None:
    """Types against the defaults (`defaults`: configs/default.yml, read if not given),
    then the rules a bank's config must obey."""
    if defaults is None:
        defaults = read_yaml(default_config())
    for key, default in defaults.items():
        _check_type(key, cfg[key], default)
    for dotted, choices in CHOICES.items():
        value = get(cfg, dotted)
        if value not in choices:
            raise ConfigError(f"{dotted}: must be one of {', '.join(choices)}; got {value!r}")
    check_locale(cfg["locale"])  # any locale Babel knows, written as a folder's name
    check_currency(cfg["currency"])
    if cfg["period"] is not None:
        parse_period(cfg["period"])  # its error names the key
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
        "contact_effect.windows",
        "contact_effect.max_training_rows",
        "contact_effect.min_contacts",
        "survey.min_group_size",
        "survey.window_months",
    ):
        if get(cfg, dotted) < 1:
            raise ConfigError(f"{dotted}: must be at least 1, got {get(cfg, dotted)}")
    if not 0 <= cfg["clv"]["discount_rate_annual"] <= 1:  # NaN too
        raise ConfigError(
            "clv.discount_rate_annual: must be a share between 0 and 1 (the bank's annual "
            f"cost of capital, 0.10 for 10%), got {cfg['clv']['discount_rate_annual']}"
        )
    if not 0 < cfg["value_risk"]["high_value_share"] <= 1:
        raise ConfigError(
            "value_risk.high_value_share: must be above 0 and at most 1, "
            f"got {cfg['value_risk']['high_value_share']}"
        )
    _validate_value(cfg["value"])
    _validate_contact_effect(cfg["contact_effect"])
    _validate_workers(cfg["report"]["workers"])
    check_report_formats(cfg["report"]["formats"])
    _validate_ingest_limits(cfg["ingest"], defaults["ingest"]["safe_id_pattern"])
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


def cpu_count() -> int:
    """CPUs this process may use (a container's or taskset's limit, where the OS says)."""
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # macOS, Windows
        return os.cpu_count() or 1


def report_workers(cfg: dict[str, Any]) -> int:
    """Processes rendering reports: `report.workers`, or one per CPU when null."""
    return cfg["report"]["workers"] or cpu_count()


def _validate_workers(workers: int | None) -> None:
    cpus = cpu_count()
    if workers is not None and not 1 <= workers <= cpus:
        raise ConfigError(
            f"report.workers: must be between 1 and this machine's CPU count ({cpus}), "
            f"got {workers} (null: one per CPU)"
        )


def _config_date(dotted: str, value: Any) -> date:
    if isinstance(value, date):
        return value
    try:
        return date.fromisoformat(str(value))
    except ValueError:
        raise ConfigError(f"{dotted}: expected a date YYYY-MM-DD, got {value!r}") from None


def config_date(cfg: dict[str, Any], dotted: str) -> date:
    """A DATE_KEYS setting as a date (validated by load_config)."""
    return _config_date(dotted, get(cfg, dotted))


# Values a file-name identifier pattern must never match: they would leave the folder.
PATH_PROBES = ("a/b", "a\\b", "..", ".", "../a", "a/..", "a..b", "/", "\\", "a\x00b", "a\nb")


def _validate_ingest_limits(ingest: dict[str, Any], shipped_pattern: str) -> None:
    for key in ("max_amount", "max_balance"):
        value = ingest[key]
        if not 0 < value <= MONEY_CEILING:
            raise ConfigError(
                f"ingest.{key}: must be above 0 and at most {MONEY_CEILING:.0e} (money is "
                f"summed exactly as DECIMAL(18,4), below 1e14), got {value}"
            )
    pattern = ingest["safe_id_pattern"]
    if pattern != shipped_pattern:  # the shipped one is checked by the tests
        check_safe_id_pattern(pattern)


def check_report_formats(formats: Any) -> None:
    """report.formats: html, and pdf if asked -- checked when the config loads, not when
    the report starts after every other stage of a run has rewritten the period."""
    if (
        not isinstance(formats, list)
        or any(f not in REPORT_FORMATS for f in formats)
        or "html" not in formats
    ):
        raise ConfigError(f"report.formats: must include html and may add pdf; got {formats!r}")


def check_safe_id_pattern(pattern: str) -> None:
    """A ConfigError unless `pattern` is valid RE2 and matches no PATH_PROBES."""
    import duckdb  # RE2, as ingest applies it (Python's re has no \\p{L})

    try:  # on DuckDB's default connection: a check, not a database of its own
        found = duckdb.execute(
            "SELECT list_filter(?::VARCHAR[], lambda p: regexp_full_match(p, ?))",
            [list(PATH_PROBES), pattern],
        ).fetchone()[0]
    except duckdb.Error as exc:
        first = str(exc).strip().splitlines()[0]
        raise ConfigError(f"ingest.safe_id_pattern: not a valid RE2 pattern: {first}") from None
    matched = [p for p in PATH_PROBES if p in found]
    if matched:
        raise ConfigError(
            f"ingest.safe_id_pattern: may widen the identifiers allowed in file names but "
            f"never to path separators or '..'; it matches {matched[0]!r}"
        )


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


def _validate_contact_effect(c: dict[str, Any]) -> None:
    """Two or more folds; an overlap range inside (0, 1); a share in (0, 1]; a cost >= 0;
    segments named by text."""
    if not isinstance(c["segments"], list) or not all(isinstance(x, str) for x in c["segments"]):
        raise ConfigError(
            f"contact_effect.segments: expected a list of features columns, got {c['segments']!r}"
        )
    if c["folds"] < 2:
        raise ConfigError(f"contact_effect.folds: must be at least 2, got {c['folds']}")
    overlap = c["overlap"]
    if (
        len(overlap) != 2
        or not all(isinstance(x, int | float) for x in overlap)
        or not 0 < overlap[0] < overlap[1] < 1
    ):
        raise ConfigError(
            f"contact_effect.overlap: expected [low, high] with 0 < low < high < 1, got {overlap}"
        )
    if not 0 < c["min_overlap_share"] <= 1:
        raise ConfigError(
            "contact_effect.min_overlap_share: must be above 0 and at most 1, "
            f"got {c['min_overlap_share']}"
        )
    if c["contact_cost"] < 0:
        raise ConfigError(
            f"contact_effect.contact_cost: must not be negative, got {c['contact_cost']}"
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
    """Path of a source config: a bundled one by name (configs/sources/<name>.yml), or a
    path to a .yml file."""
    path = Path(source)
    if path.suffix in (".yml", ".yaml"):
        return path
    return config_dir() / "sources" / f"{source}.yml"


def source_name(source: str) -> str:
    """The `name` a source config (by name or path) gives itself, as ingest records it."""
    raw = read_yaml(source_config_path(source))
    if not isinstance(raw, dict) or "name" not in raw:
        raise ConfigError(f"{source_config_path(source)}: name: required")
    return str(raw["name"])


def survey_definition_path(name: str) -> Path:
    """Path of a survey definition: a bundled one by name (configs/surveys/<name>.yml),
    or a path to a .yml file."""
    path = Path(name)
    if path.suffix in (".yml", ".yaml"):
        return path
    return config_dir() / "surveys" / f"{name}.yml"


def __getattr__(name: str) -> Any:
    """CONFIG_DIR: the bundled configs' folder (pipeline.resources.config_dir())."""
    if name == "CONFIG_DIR":
        return config_dir()
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
