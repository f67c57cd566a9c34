"""Survey definitions as banks write them, from ingest to the reports: without an
`items:` map, without an NPS item (its parts left out of the reports), on a 1-10 scale,
and the shipped Spanish definition (its NPS item also a loyalty item) on the real
Spanish survey, read beside the tables an adapter builds (Berka)."""

from __future__ import annotations

import os
import re
import shutil
from pathlib import Path

import pytest
import yaml
from click.testing import CliRunner
from conftest import shared_data

from pipeline.catalog import Catalog
from pipeline.cli import cli
from pipeline.config import CONFIG_DIR
from pipeline.io import read_json

pytestmark = pytest.mark.slow


def variant(root: Path, bank, name: str, change) -> tuple[list[str], Catalog]:
    """A copy of the sample bank's data root whose customer survey definition is the
    shipped one changed by `change`, named in a source config and the user config."""
    catalog = Catalog(root / "data", root / "reports")
    shutil.copytree(bank.data_dir, catalog.data_dir)
    definition = yaml.safe_load((CONFIG_DIR / "surveys" / "customer_satisfaction.yml").read_text())
    change(definition)
    survey = root / f"{name}.yml"
    survey.write_text(yaml.safe_dump(definition, allow_unicode=True), encoding="utf-8")
    source = yaml.safe_load((CONFIG_DIR / "sources" / "sample.yml").read_text())
    source["tables"]["survey_responses"]["survey"] = str(survey)
    source_path = root / "source.yml"
    source_path.write_text(yaml.safe_dump(source, allow_unicode=True), encoding="utf-8")
    user = root / "user.yml"
    user.write_text(
        f"source: {source_path}\nsurvey:\n  customer_definition: {survey}\n", encoding="utf-8"
    )
    args = ["--config", str(user), "--data-dir", str(catalog.data_dir)]
    return [*args, "--report-dir", str(catalog.report_dir)], catalog


def invoke(args: list[str]) -> str:
    done = CliRunner().invoke(cli, args)
    assert done.exit_code == 0, done.output
    return done.output


def without(*keys):
    def change(d):
        for k in keys:
            d.pop(k)

    return change


def test_a_definition_without_an_items_map_ingests_and_scores(sample_bank_run, tmp_path):
    args, catalog = variant(tmp_path, sample_bank_run, "no_items", without("items"))
    invoke([*args, "ingest"])
    survey = read_json(catalog.ingest_manifest)["tables"]["survey_responses"]
    assert survey["rejected"] == 0 and survey["accepted"] > 0
    invoke([*args, "survey", "--period", sample_bank_run.period])
    summary = read_json(catalog.survey_summary(sample_bank_run.period))
    assert summary["surveys"]["customer"]["status"] == "ok"


def test_a_1_to_10_scale_with_the_nps_question_apart(sample_bank_run, tmp_path):
    def change(d):
        d["scale"] = {"min": 1, "max": 10}

    args, catalog = variant(tmp_path, sample_bank_run, "scale10", change)
    invoke([*args, "ingest"])
    invoke([*args, "survey", "--period", sample_bank_run.period])
    customer = read_json(catalog.survey_summary(sample_bank_run.period))["surveys"]["customer"]
    assert customer["status"] == "ok" and customer["nps_item"] == "nps"
    assert customer["scale"] == {"min": 1, "max": 10}
    # the NPS question keeps its own 0-10 scale, the items theirs: nothing is rejected
    survey = read_json(catalog.ingest_manifest)["tables"]["survey_responses"]
    assert survey["rejected"] == 0 and customer["nps"]["network"]["n"] > 0


def test_without_an_nps_item_the_reports_leave_nps_out(sample_bank_run, tmp_path):
    args, catalog = variant(tmp_path, sample_bank_run, "no_nps", without("nps_item"))
    out = invoke([*args, "run", "--period", sample_bank_run.period])
    assert "NPS" not in out.split("customer survey")[1].splitlines()[0]
    build = catalog.report_locale_dir(sample_bank_run.period, "en")
    for name in ("branch-B01.html", "network.html"):
        page = re.sub(r"<[^>]+>", " ", (build / name).read_text(encoding="utf-8"))
        assert "NPS (customer survey)" not in page and "Net Promoter" not in page
        # the staff survey keeps its eNPS card: only the customer survey lost its item
    network = (build / "network.html").read_text(encoding="utf-8")
    assert "kpi_nps" not in network and network.count('<th class="num">') > 0
    assert (build / "branch-B01.pdf").read_bytes()[:5] == b"%PDF-"


@pytest.mark.realdata
def test_an_adapter_source_reads_survey_files_beside_what_it_builds(tmp_path):
    """Berka's tables from its adapter, and the Spanish bank's questionnaire from a file,
    read with the shipped Spanish definition (loy3 is both a loyalty item and the NPS
    question: one column, checked as both)."""
    berka, spanish = shared_data("berka"), shared_data("bank_satisfaction_survey")
    raw = tmp_path / "data" / "raw" / "berka_and_survey"
    raw.mkdir(parents=True)
    for path in berka.iterdir():
        os.symlink(path, raw / path.name)
    os.symlink(spanish / "satisfaction_spanish_bank_250.csv", raw / "survey.csv")
    source = yaml.safe_load((CONFIG_DIR / "sources" / "berka.yml").read_text())
    source["raw_dir"] = "berka_and_survey"
    source["tables"]["survey_responses"] = {
        "files": "survey.csv",
        "survey": "spanish_bank_satisfaction",
        "columns": {
            "response_id": "column00",  # the file's unnamed first column: a row index
            "branch_id": {"value": "1"},
            "response_date": {"value": "1994-03-15"},
        },
    }
    source_path = tmp_path / "berka_survey.yml"
    source_path.write_text(yaml.safe_dump(source, allow_unicode=True), encoding="utf-8")
    args = ["--data-dir", str(tmp_path / "data"), "--report-dir", str(tmp_path / "reports")]
    user = tmp_path / "user.yml"
    user.write_text(
        f"source: {source_path}\nsurvey:\n  customer_definition: spanish_bank_satisfaction\n",
        encoding="utf-8",
    )
    args += ["--config", str(user)]
    said = invoke([*args, "ingest"])
    assert "survey_responses: 250 read, 250 accepted, 0 rejected" in said
    catalog = Catalog(tmp_path / "data", tmp_path / "reports")
    manifest = read_json(catalog.ingest_manifest)
    assert manifest["tables"]["customers"]["accepted"] == 4500  # the adapter's: owners
    assert {f["file"] for f in manifest["files"] if f["table"] == "survey_responses"} == {
        "survey.csv"
    }
    invoke([*args, "survey", "--period", "1994-03"])
    customer = read_json(catalog.survey_summary("1994-03"))["surveys"]["customer"]
    assert customer["status"] == "ok" and customer["n_responses"] == 250
    assert customer["nps_item"] == "loy3"
