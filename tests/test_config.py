"""The config loader: defaults as schema, overrides, roots, and errors that name the key."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from pipeline.catalog import Catalog
from pipeline.config import check_safe_id_pattern, default_config, load_config, read_yaml
from pipeline.errors import ConfigError


def write(tmp_path: Path, body: dict) -> Path:
    path = tmp_path / "user.yml"
    path.write_text(yaml.safe_dump(body), encoding="utf-8")
    return path


def test_defaults_load_and_roots_resolve(tmp_path: Path) -> None:
    cfg = load_config(env={})
    assert cfg["tiers"][1] == {"name": "affluent", "min_aum": 50000}
    assert Path(cfg["paths"]["data_dir"]).is_absolute()


def test_user_config_overrides_nested_key_and_keeps_siblings(tmp_path: Path) -> None:
    cfg = load_config(write(tmp_path, {"rfm": {"population": "branch"}}), env={})
    assert cfg["rfm"]["population"] == "branch"
    assert cfg["rfm"]["monetary"] == "revenue"


def test_root_precedence_flag_over_env_over_config(tmp_path: Path) -> None:
    user = write(tmp_path, {"paths": {"data_dir": str(tmp_path / "from_config")}})
    env = {"CRM_DATA_DIR": str(tmp_path / "from_env"), "CRM_REPORT_DIR": str(tmp_path / "rep")}
    assert load_config(user, env={})["paths"]["data_dir"] == str(tmp_path / "from_config")
    assert load_config(user, env=env)["paths"]["data_dir"] == str(tmp_path / "from_env")
    cfg = load_config(user, data_dir=tmp_path / "from_flag", env=env)
    assert cfg["paths"]["data_dir"] == str(tmp_path / "from_flag")
    catalog = Catalog.from_config(cfg)
    assert catalog.customer_scores("2026-10") == (
        tmp_path / "from_flag" / "processed" / "2026-10" / "customer_scores.parquet"
    )
    assert catalog.branch_report("2026-10", "B01", "pdf", "zh_CN") == (
        tmp_path / "rep" / "build" / "2026-10" / "zh_CN" / "branch-B01.pdf"
    )


@pytest.mark.parametrize(
    ("body", "message"),
    [
        ({"rfm": {"populaton": "bank"}}, r"rfm\.populaton: unknown key"),
        ({"colour": "red"}, r"colour: unknown key"),
        (
            {"features": {"dormant_days": "ninety"}},
            r"features\.dormant_days: expected int, got str",
        ),
        ({"churn": {"aum_drop_share": True}}, r"churn\.aum_drop_share: expected float, got bool"),
        ({"rfm": "bank"}, r"rfm: expected a mapping"),
        ({"clv": {"model": "magic"}}, r"clv\.model: must be one of bgnbd, pareto_nbd, mbgnbd"),
        (
            {"tiers": [{"name": "mass", "min_aum": 0}, {"name": "vip", "min_aum": 0}]},
            r"tiers\[1\]\.min_aum: thresholds must increase",
        ),
        (
            {"tiers": [{"name": "mass", "min_aum": 10}]},
            r"tiers\[0\]\.min_aum: the first tier must start at 0",
        ),
        ({"period": "2026-13"}, r"^period: expected YYYY-MM \(e\.g\. 2026-10\), got '2026-13'$"),
        ({"period": 202610}, r"period: expected str or null, got int"),
        ({"source": "nowhere"}, r"source: no source config .*nowhere\.yml"),
        (
            {"survey": {"staff_definition": "missing"}},
            r"survey\.staff_definition: no survey definition",
        ),
        (
            {"paths": {"data_dir": "/no/such/parent/data"}},
            r"paths\.data_dir: parent folder does not exist",
        ),
        ({"churn": {"bands": {"medium": 0.6, "high": 0.5}}}, r"churn\.bands"),
        ({"rm_tiers": ["diamond"]}, r"rm_tiers: 'diamond' is not a tier"),
        ({"locale": "kli"}, r"locale: 'kli' is not a locale Babel knows"),
        # Babel would read it, but the report's folder and catalog are zh_CN
        (
            {"locale": "ZH_cn"},
            r"^locale: 'ZH_cn': write a locale as language_REGION, language in lower case and "
            r"region in upper case \('zh_CN'\?\), e\.g\. en, zh_CN, es_ES$",
        ),
        ({"locale": "cs-CZ"}, r"\('cs_CZ'\?\)"),
        ({"currency": "RMB"}, r"currency: 'RMB' is not an ISO 4217 currency code"),
        (
            {"rfm": {"segments": [{"name": "A", "r": [0, 5], "f": [1, 5]}]}},
            r"rfm\.segments\[0\]\.r",
        ),
        (
            {"ingest": {"max_balance": 1.0e15}},
            r"ingest\.max_balance: must be above 0 and at most 1e\+13 \(money is summed "
            r"exactly as DECIMAL\(18,4\), below 1e14\), got 1000000000000000\.0",
        ),
        ({"ingest": {"max_amount": 0}}, r"ingest\.max_amount: must be above 0"),
        (
            {"ingest": {"earliest_date": "01/01/1970"}},
            r"ingest\.earliest_date: expected a date YYYY-MM-DD, got '01/01/1970'",
        ),
        (
            {"ingest": {"safe_id_pattern": "[a-z"}},
            r"ingest\.safe_id_pattern: not a valid RE2 pattern: .*missing \]",
        ),
        ({"report": {"workers": "many"}}, r"report\.workers: expected int or null, got str"),
        # checked when the config loads, not after a run's other stages rewrote the period
        (
            {"report": {"formats": ["html", "docx"]}},
            r"^report\.formats: must include html and may add pdf; got \['html', 'docx'\]$",
        ),
        ({"report": {"formats": []}}, r"^report\.formats: must include html"),
        ({"report": {"formats": ["PDF"]}}, r"^report\.formats: must include html"),
    ],
)
def test_invalid_config_names_the_key(tmp_path: Path, body: dict, message: str) -> None:
    with pytest.raises(ConfigError, match=message):
        load_config(write(tmp_path, body), env={})


def test_the_shipped_safe_id_pattern_passes_the_check_a_banks_own_gets() -> None:
    # load_config checks only a pattern that differs from the shipped one
    check_safe_id_pattern(read_yaml(default_config())["ingest"]["safe_id_pattern"])
    with pytest.raises(ConfigError, match=r"it matches '\.\.'"):
        check_safe_id_pattern(r"[\p{L}.]+")


def test_missing_and_malformed_config_files(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="config file not found"):
        load_config(tmp_path / "absent.yml", env={})
    bad = tmp_path / "bad.yml"
    bad.write_text("rfm: [unclosed\n", encoding="utf-8")
    with pytest.raises(ConfigError, match="not valid YAML"):
        load_config(bad, env={})


def test_overrides_apply_after_user_config(tmp_path: Path) -> None:
    user = write(tmp_path, {"sample": {"customers": 100}})
    cfg = load_config(user, overrides={"sample.customers": 7, "sample.seed": None}, env={})
    assert cfg["sample"]["customers"] == 7
    assert cfg["sample"]["seed"] == load_config(env={})["sample"]["seed"]
    with pytest.raises(ConfigError, match=r"sample\.nope: unknown key"):
        load_config(overrides={"sample.nope": 1}, env={})


def test_any_locale_babel_knows_is_accepted(tmp_path: Path) -> None:
    cfg = load_config(write(tmp_path, {"locale": "es_ES", "currency": "EUR"}), env={})
    assert (cfg["locale"], cfg["currency"]) == ("es_ES", "EUR")
