"""A bank where no BTYD transactions model holds runs end to end through the CLI: the
small generated bank (1,500 customers, 2 branches, 24 months), on which BG/NBD,
MBG/NBD and Pareto/NBD all find every customer with the same dropout."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from click.testing import CliRunner

from pipeline.catalog import Catalog
from pipeline.cli import cli
from pipeline.config import load_config
from pipeline.report.i18n import labels

PERIOD = "2026-10"


@pytest.fixture(scope="module")
def run(tmp_path_factory) -> tuple[Path, dict[str, str]]:
    root = tmp_path_factory.mktemp("no_btyd") / "data"
    html_only = root.parent / "html.yml"  # the reports as these tests read them
    html_only.write_text("report: {formats: [html]}\n", encoding="utf-8")
    args = ["--config", str(html_only), "--data-dir", str(root)]
    args += ["--report-dir", str(root.parent / "reports")]
    runner = CliRunner()
    sample = ["sample", "--customers", "1500", "--branches", "2", "--months", "24"]
    outputs = {}
    for step in (
        [*sample, "--end-month", PERIOD],
        ["ingest"],
        ["features", "--period", PERIOD],
        ["score", "--period", PERIOD],
        ["survey", "--period", PERIOD],
        ["report", "--period", PERIOD],
    ):
        done = runner.invoke(cli, [*args, *step])
        assert done.exit_code == 0, (step, done.output)
        outputs[step[0]] = done.output
    return root, outputs


@pytest.mark.slow
def test_score_goes_on_without_a_transactions_model_and_says_why(run):
    root, outputs = run
    catalog = Catalog.from_config(load_config(data_dir=root))
    card = json.loads(catalog.model_card(PERIOD).read_text())
    clv = card["clv"]
    assert clv["status"] == "no_model"
    assert [(t["model"], t["outcome"]) for t in clv["models_set_aside"]] == [
        ("bgnbd", "degenerate"),
        ("mbgnbd", "degenerate"),
        ("pareto_nbd", "degenerate"),
    ]
    assert "s and beta ran off to infinity" in clv["models_set_aside"][2]["reason"]
    assert "What may help" in clv["message"]
    assert card["clv_validation"]["status"] == "no_model"
    # the stage logs the message once, as a warning line
    assert outputs["score"].count(clv["message"]) == 1
    assert "warning: No transactions model this month" in outputs["score"]
    scores = pd.read_parquet(catalog.customer_scores(PERIOD))
    assert scores["p_alive"].isna().all() and not scores["in_btyd"].any()
    active = scores["status"] == "active"
    assert np.isfinite(scores.loc[active, "clv"]).all()
    assert (scores.loc[active, "clv"] > 0).sum() > 0.9 * active.sum()


@pytest.mark.slow
def test_the_reports_say_there_is_no_transactions_model(run):
    root, _ = run
    t = labels("en")
    branch = (root.parent / "reports" / "build" / PERIOD / "en" / "branch-B01.html").read_text()
    network = (root.parent / "reports" / "build" / PERIOD / "en" / "network.html").read_text()
    html = [branch.replace("&#39;", "'"), network.replace("&#39;", "'")]
    assert t["p_alive_no_model"] in html[0]
    assert t["trust_clv_no_model"] in html[0] and t["trust_clv_no_model"] in html[1]
    assert "Mean P(alive)" not in html[0]  # no numbers where there is no model
