"""The files the package carries (configs, templates, stylesheets), found through one
module; `crm init` and `crm config`; relative paths in a user config."""

from __future__ import annotations

import zipfile
from pathlib import Path

import pytest
import yaml
from click.testing import CliRunner

from pipeline import resources
from pipeline.cli import cli
from pipeline.config import load_config, source_config_path, survey_definition_path
from pipeline.errors import ConfigError
from pipeline.ingest.source import load_source
from pipeline.report.environment import make_environment, stylesheet

PROJECT_ROOT = Path(__file__).resolve().parents[1]


def test_a_checkout_reads_the_repository_folders():
    assert resources.config_dir() == PROJECT_ROOT / "configs"
    assert resources.template_dir() == PROJECT_ROOT / "reports" / "templates"
    assert resources.static_dir() == PROJECT_ROOT / "reports" / "static"
    assert resources.default_config().is_file()
    assert resources.bundled("sources") == [
        "berka",
        "cn_bank_gb18030",
        "online_retail_ii",
        "sample",
    ]
    assert "customer_satisfaction" in resources.bundled("surveys")
    assert source_config_path("sample") == PROJECT_ROOT / "configs" / "sources" / "sample.yml"
    with pytest.raises(ValueError, match="unknown resource kind"):
        resources.resource_dir("fonts")


def test_the_report_environment_and_stylesheet_come_from_the_resources():
    env = make_environment("en", "CNY")
    assert env.get_template("branch.html").filename == str(resources.template_dir() / "branch.html")
    css = (resources.static_dir() / "print.css").read_text(encoding="utf-8")
    assert css in str(stylesheet())


def test_resources_of_a_zipped_package_are_extracted_once(tmp_path):
    archive = tmp_path / "pkg.zip"
    with zipfile.ZipFile(archive, "w") as zf:
        zf.writestr("pipeline/_resources/templates/base.html", "<html>{{ x }}</html>")
        zf.writestr("pipeline/_resources/templates/partials/kpis.html", "kpis")
    tree = zipfile.Path(archive, "pipeline/_resources/templates/")
    out = resources._extract(tree)
    assert (out / "base.html").read_text() == "<html>{{ x }}</html>"
    assert (out / "partials" / "kpis.html").read_text() == "kpis"


def test_relative_paths_in_a_user_config_are_relative_to_that_file(tmp_path, monkeypatch):
    bank = tmp_path / "bank"
    (bank / "sources").mkdir(parents=True)
    (bank / "sources" / "b.yml").write_text(
        source_config_path("sample").read_text(encoding="utf-8"), encoding="utf-8"
    )
    user = bank / "crm.yml"
    user.write_text(
        "paths: {data_dir: data, report_dir: out}\nsource: sources/b.yml\n"
        "survey: {customer_definition: customer_satisfaction}\n",
        encoding="utf-8",
    )
    monkeypatch.chdir(tmp_path)  # anywhere but the config's folder
    cfg = load_config(user, env={})
    assert cfg["paths"]["data_dir"] == str(bank / "data")
    assert cfg["paths"]["report_dir"] == str(bank / "out")
    assert cfg["source"] == str(bank / "sources" / "b.yml")
    # a name stays a bundled definition's name
    assert cfg["survey"]["customer_definition"] == "customer_satisfaction"
    assert survey_definition_path("customer_satisfaction").parent == (
        resources.config_dir() / "surveys"
    )
    # flags and the environment stay relative to the working directory
    cfg = load_config(user, data_dir="here", env={"CRM_REPORT_DIR": "there"})
    assert cfg["paths"]["data_dir"] == str(tmp_path / "here")
    assert cfg["paths"]["report_dir"] == str(tmp_path / "there")


def test_init_writes_a_config_and_source_config_that_load(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    result = CliRunner().invoke(cli, ["init", "acme", "--bank", "acme_bank"])
    assert result.exit_code == 0, result.output
    config = tmp_path / "acme" / "crm.yml"
    source = tmp_path / "acme" / "sources" / "acme_bank.yml"
    assert result.output.splitlines() == [
        f"wrote {Path('acme') / 'crm.yml'}",
        f"wrote {Path('acme') / 'sources' / 'acme_bank.yml'}",
        f"wrote {Path('acme') / 'data' / 'raw' / 'acme_bank'}",
    ]
    assert (tmp_path / "acme" / "data" / "raw" / "acme_bank").is_dir()
    monkeypatch.chdir(tmp_path.parent)  # run from elsewhere: paths follow the file
    cfg = load_config(config, env={})
    defaults = load_config(env={})
    assert cfg["source"] == str(source)
    assert cfg["paths"]["data_dir"] == str(tmp_path / "acme" / "data")
    assert cfg["tiers"] == defaults["tiers"] and cfg["locale"] == defaults["locale"]
    spec = load_source(cfg["source"])
    like = load_source("cn_bank_gb18030")
    assert spec.name == "acme_bank"
    assert spec.raw_path(tmp_path / "acme" / "data" / "raw") == (
        tmp_path / "acme" / "data" / "raw" / "acme_bank"
    )
    assert spec.tables.keys() == like.tables.keys()
    assert spec.tables["transactions"].columns == like.tables["transactions"].columns
    assert "# Source config format" in source.read_text(encoding="utf-8")


def test_init_never_overwrites_unless_forced(tmp_path):
    runner = CliRunner()
    assert runner.invoke(cli, ["init", str(tmp_path)]).exit_code == 0
    (tmp_path / "crm.yml").write_text("locale: zh_CN\n", encoding="utf-8")
    again = runner.invoke(cli, ["init", str(tmp_path)])
    assert again.exit_code == 2
    assert "already exists (pass --force to overwrite)" in again.output
    assert (tmp_path / "crm.yml").read_text(encoding="utf-8") == "locale: zh_CN\n"
    assert runner.invoke(cli, ["init", str(tmp_path), "--force"]).exit_code == 0
    assert "tiers:" in (tmp_path / "crm.yml").read_text(encoding="utf-8")


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--bank", "my bank"], "--bank: 'my bank' must be letters, digits, _ or -"),
        (["--like", "nowhere"], "--like: no bundled source config 'nowhere' (bundled: berka"),
    ],
)
def test_init_rejects_a_bad_name(tmp_path, args, message):
    result = CliRunner().invoke(cli, ["init", str(tmp_path / "x"), *args])
    assert result.exit_code == 2
    assert message in result.output
    assert not (tmp_path / "x" / "crm.yml").exists()


def test_config_prints_the_merged_config_or_one_key(tmp_path):
    user = tmp_path / "u.yml"
    user.write_text("locale: zh_CN\ntiers: [{name: all, min_aum: 0}]\nrm_tiers: []\n")
    runner = CliRunner()
    args = ["--config", str(user), "--data-dir", str(tmp_path / "d"), "config"]
    assert runner.invoke(cli, [*args, "locale"]).output == "zh_CN\n"
    assert runner.invoke(cli, [*args, "source"]).output == "sample\n"
    assert runner.invoke(cli, [*args, "period"]).output == "\n"
    assert yaml.safe_load(runner.invoke(cli, [*args, "tiers"]).output) == [
        {"name": "all", "min_aum": 0}
    ]
    merged = yaml.safe_load(runner.invoke(cli, args).output)
    assert merged["paths"]["data_dir"] == str(tmp_path / "d")
    assert merged["rfm"]["population"] == "bank"
    bad = runner.invoke(cli, [*args, "rfm.nothing"])
    assert bad.exit_code == 2 and "rfm.nothing: unknown key" in bad.output


def test_missing_resources_are_one_clear_error(monkeypatch, tmp_path):
    monkeypatch.setattr(resources, "CHECKOUT", {**resources.CHECKOUT, "static": ("nowhere",)})
    resources.resource_dir.cache_clear()
    try:
        with pytest.raises(ConfigError, match="the package's static are missing"):
            resources.resource_dir("static")
    finally:
        monkeypatch.undo()
        resources.resource_dir.cache_clear()
