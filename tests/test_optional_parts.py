"""Each optional part of a bank's exports missing on its own, from `crm run` to the
reports: no questionnaire, no balances, no relationship-manager contacts. The sample
bank with one table taken out of its source config; the reports say what is missing in
one line and render everything else."""

from __future__ import annotations

import html
import json
import re
import shutil

import pytest
import yaml
from click.testing import CliRunner

from pipeline.catalog import Catalog
from pipeline.cli import cli
from pipeline.config import CONFIG_DIR

pytestmark = pytest.mark.slow

MISSING = {
    "questionnaire": ("survey_responses", "staff_survey_responses"),
    "balances": ("balances",),
    "rm_contacts": ("rm_contacts",),
}


@pytest.fixture(scope="module", params=list(MISSING))
def without(request, sample_bank_run, tmp_path_factory):
    root = tmp_path_factory.mktemp(f"without_{request.param}")
    catalog = Catalog(root / "data", root / "reports")
    shutil.copytree(sample_bank_run.data_dir / "raw", catalog.data_dir / "raw")
    source = yaml.safe_load((CONFIG_DIR / "sources" / "sample.yml").read_text())
    for table in MISSING[request.param]:
        del source["tables"][table]
    path = root / "source.yml"
    path.write_text(yaml.safe_dump(source), encoding="utf-8")
    (root / "user.yml").write_text(f"source: {path}\n", encoding="utf-8")
    args = ["--config", str(root / "user.yml"), "--data-dir", str(catalog.data_dir)]
    args += ["--report-dir", str(catalog.report_dir), "run", "--period", sample_bank_run.period]
    done = CliRunner().invoke(cli, args)
    assert done.exit_code == 0, done.output
    return request.param, catalog, sample_bank_run.period


def page(catalog: Catalog, period: str, name: str) -> str:
    body = (catalog.report_locale_dir(period, "en") / name).read_text(encoding="utf-8")
    body = re.sub(r"<style>.*?</style>|<img[^>]*>", "", body, flags=re.S)
    return re.sub(r"\s+", " ", html.unescape(re.sub(r"<[^>]+>", " ", body)))


def test_the_missing_part_is_said_in_a_line_and_the_rest_renders(without):
    missing, catalog, period = without
    build = catalog.report_locale_dir(period, "en")
    assert {p.name for p in build.glob("*.pdf")} == {
        "network.pdf",
        "branch-B01.pdf",
        "branch-B02.pdf",
    }
    branch = page(catalog, period, "branch-B01.html")
    said = {
        "questionnaire": "This bank's exports hold no such questionnaire.",
        "balances": "This bank's exports hold no balances",
        "rm_contacts": "The exports hold no RM contact records",
    }
    for part, line in said.items():
        assert (line in branch) == (part == missing), part
    card = json.loads(catalog.model_card(period).read_text(encoding="utf-8"))
    if missing == "balances":
        assert card["clv"]["value_basis"] == "transactions only: no balances"
        assert "Value from transactions only" in branch
        assert "the products customers hold are not known" in branch  # one line, no table
        assert "Penetration" not in branch
    else:
        assert card["clv"]["value_basis"] == "transactions"
        assert "AUM Gini" in branch
    if missing == "questionnaire":
        assert branch.count("This bank's exports hold no such questionnaire.") == 2
        assert "NPS (customer survey)" not in branch
    else:
        assert "Cronbach" in branch or "alpha" in branch.lower()
    if missing == "rm_contacts":  # RMs are on the customers: coverage is real, contact not
        assert "With an RM" in branch and "no contact records" in branch
