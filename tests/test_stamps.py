"""Make tracks what matters: a stage's stamp changes exactly when what it reads changed
(config keys, files, code, templates, raw exports), and `make` reruns exactly those
stages."""

from __future__ import annotations

import ast
import copy
import json
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from conftest import files_a_run_writes

from pipeline import resources, stamps
from pipeline.catalog import Catalog
from pipeline.config import load_config
from pipeline.generation import PeriodStage
from pipeline.io import promote_on_success
from pipeline.stamps import MACHINE_KEYS, STAGE_KEYS, code_files, stage_stamp, write_stamp

PROJECT_ROOT = Path(__file__).resolve().parents[1]
PERIOD = "2026-10"
SMALL_BANK = {
    "sample.customers": 1200,
    "sample.branches": 2,
    "sample.months": 18,
    "report.formats": ["html"],
}


class RecordingConfig(dict):
    """A config that notes every key read through it. A mapping read but none of its keys
    (handed whole to code that reads it without this class) counts as read entirely."""

    def __init__(self, data, prefix="", leaves=None, sections=None):
        super().__init__(data)
        self._prefix = prefix
        self.leaves = set() if leaves is None else leaves
        self.sections = set() if sections is None else sections

    def _seen(self, key, value):
        dotted = f"{self._prefix}{key}"
        if isinstance(value, dict):
            self.sections.add(dotted)
            return RecordingConfig(value, f"{dotted}.", self.leaves, self.sections)
        self.leaves.add(dotted)
        return value

    def __getitem__(self, key):
        return self._seen(key, super().__getitem__(key))

    def get(self, key, default=None):
        return self._seen(key, super().__getitem__(key)) if key in self else default

    def items(self):
        return [(k, self._seen(k, v)) for k, v in super().items()]

    def values(self):
        return [v for _, v in self.items()]

    def read(self) -> set[str]:
        whole = {s for s in self.sections if not any(k.startswith(f"{s}.") for k in self.leaves)}
        return self.leaves | whole


def _covered(key: str, declared: tuple[str, ...]) -> bool:
    return any(key == d or key.startswith(f"{d}.") for d in declared)


@pytest.mark.slow
def test_every_config_key_a_stage_reads_is_in_its_stamp(tmp_path):
    from pipeline.features.stage import run_features
    from pipeline.ingest.stage import run_ingest
    from pipeline.report.stage import run_report
    from pipeline.sample.stage import run_sample
    from pipeline.scoring.stage import run_score
    from pipeline.survey.stage import run_survey

    cfg = load_config(
        data_dir=tmp_path / "data",
        report_dir=tmp_path / "reports",
        overrides={**SMALL_BANK, "report.workers": 1},
        env={},
    )
    catalog = Catalog.from_config(cfg)
    runs = {
        "sample": (run_sample, ()),
        "ingest": (run_ingest, ()),
        "features": (run_features, (PERIOD,)),
        "score": (run_score, (PERIOD,)),
        "survey": (run_survey, (PERIOD,)),
        "report": (run_report, (PERIOD,)),
    }
    assert set(runs) == set(stamps.STAGES)
    for stage, (run, args) in runs.items():
        recorded = RecordingConfig(copy.deepcopy(cfg))
        if not args:
            with promote_on_success():
                run(recorded, catalog)
        else:  # stamped as the CLI stamps it (runner.period_stage), on the plain config:
            # the generation hashes every setting, which is not what the stage reads
            with PeriodStage(cfg, catalog, PERIOD, stage) as generation, promote_on_success():
                run(recorded, catalog, *args)
                generation.complete()
        read = recorded.read()
        assert read, stage
        missing = sorted(k for k in read if not _covered(k, STAGE_KEYS[stage] + MACHINE_KEYS))
        assert missing == [], f"{stage} reads config keys its stamp leaves out: {missing}"


@pytest.fixture
def cfg(tmp_path):
    return load_config(data_dir=tmp_path / "data", report_dir=tmp_path / "r", env={})


def test_a_stamp_is_rewritten_only_when_its_own_inputs_change(cfg, tmp_path):
    data = Path(cfg["paths"]["data_dir"])
    target = tmp_path / "stamps" / "features.json"
    assert write_stamp("features", cfg, data, target) == ["config", "files", "code"]
    written = target.stat().st_mtime_ns
    assert write_stamp("features", cfg, data, target) == []
    other = copy.deepcopy(cfg)
    other["clv"]["horizon_months"] = 24  # score's key, not features'
    other["paths"]["data_dir"] = "/elsewhere"
    other["engine"] = "spark"
    assert write_stamp("features", other, data, target) == []
    assert target.stat().st_mtime_ns == written
    other["rfm"]["population"] = "branch"
    assert write_stamp("features", other, data, target) == ["config"]
    assert json.loads(target.read_text())["stage"] == "features"
    assert write_stamp("score", other, data, tmp_path / "stamps" / "score.json")


def test_report_stamps_follow_templates_catalogs_and_survey_definitions(cfg, tmp_path, monkeypatch):
    data = Path(cfg["paths"]["data_dir"])
    before = stage_stamp("report", cfg, data)
    templates = tmp_path / "templates"
    shutil.copytree(resources.template_dir(), templates)
    monkeypatch.setattr(resources, "template_dir", lambda: templates)
    assert stage_stamp("report", cfg, data) == before  # same bytes elsewhere
    (templates / "partials" / "kpis.html").write_text("edited", encoding="utf-8")
    changed = stage_stamp("report", cfg, data)
    assert [k for k in before if before[k] != changed[k]] == ["templates"]
    locales = tmp_path / "locales"  # a reworded label reruns the report too
    shutil.copytree(resources.locale_dir(), locales)
    monkeypatch.setattr(resources, "locale_dir", lambda: locales)
    assert stage_stamp("report", cfg, data) == changed
    (locales / "zh_CN" / "LC_MESSAGES" / "messages.po").write_text("edited", encoding="utf-8")
    assert stage_stamp("report", cfg, data)["templates"] != changed["templates"]
    survey = tmp_path / "staff_engagement.yml"
    survey.write_text(
        resources.config_dir().joinpath("surveys", "staff_engagement.yml").read_text(),
        encoding="utf-8",
    )
    other = copy.deepcopy(cfg)
    other["survey"]["staff_definition"] = str(survey)
    assert stage_stamp("survey", other, data)["files"] == stage_stamp("survey", cfg, data)["files"]
    survey.write_text(survey.read_text() + "\n# edited\n", encoding="utf-8")
    assert stage_stamp("survey", other, data)["files"] != stage_stamp("survey", cfg, data)["files"]


def test_the_ingest_stamp_follows_the_raw_exports_and_the_salt(cfg, monkeypatch):
    data = Path(cfg["paths"]["data_dir"])
    raw = data / "raw" / "sample"
    raw.mkdir(parents=True)
    before = stage_stamp("ingest", cfg, data)
    (raw / "customers.csv").write_text("customer_id\n1\n", encoding="utf-8")
    added = stage_stamp("ingest", cfg, data)
    assert [k for k in before if before[k] != added[k]] == ["raw"]
    os.utime(raw / "customers.csv", ns=(1, 1))  # touched: ingest decides by content
    assert stage_stamp("ingest", cfg, data)["raw"] != added["raw"]
    salted = copy.deepcopy(cfg)
    salted["privacy"]["hash_customer_ids"] = True
    monkeypatch.setenv("CRM_ID_SALT", "a salt of sixteen chars")
    assert stage_stamp("ingest", salted, data)["id_salt"] != added["id_salt"]


def test_code_is_each_stages_own_modules_and_what_they_import():
    def names(stage):
        return {p.relative_to(PROJECT_ROOT).as_posix() for p in code_files(stage)}

    features, score, report = names("features"), names("score"), names("report")
    assert "pipeline/features/core.py" in features and "pipeline/steps.py" in features
    assert not any(p.startswith("pipeline/scoring/") for p in features)
    # score builds feature marts for its training windows (not through features/stage.py)
    # (the KPI history is the features stage's own)
    assert features - {"pipeline/features/stage.py", "pipeline/features/history.py"} <= score
    assert "pipeline/report/render.py" in report  # loaded by name in the workers
    assert "pipeline/ingest/adapters/berka.py" in names("ingest")  # named in a config
    assert "pipeline/cli.py" not in features | score | report


def _parsed_imports(path: Path, name: str) -> set[str]:
    """What a full parse of the module finds: every import statement and every string
    constant that is a package module's name (the reference the text scanner must meet)."""
    found: list[str] = []
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            found += [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            base = "." * node.level + (node.module or "")
            base = stamps._absolute(base, name, path.name == "__init__.py")
            found += [base, *(f"{base}.{alias.name}" for alias in node.names)]
        elif isinstance(node, ast.Constant) and isinstance(node.value, str):
            if node.value.startswith("pipeline.") and node.value.replace(".", "").isidentifier():
                found.append(node.value)
    return {m for m in found if m == "pipeline" or m.startswith("pipeline.")}


def test_imports_read_off_the_text_are_those_a_full_parse_finds_in_every_module():
    root = stamps.package_dir()
    modules = sorted(root.rglob("*.py"))
    assert len(modules) > 100
    for path in modules:
        name = ".".join(["pipeline", *path.relative_to(root).with_suffix("").parts])
        name = name.removesuffix(".__init__")
        assert set(stamps._imported(path, name)) == _parsed_imports(path, name), path


def test_imports_read_off_the_text_of_every_form_of_import(tmp_path):
    package = tmp_path / "__init__.py"
    package.write_text(
        '''"""A package.

import pipeline.docs_mention
"""
import os, pipeline.a as a, pipeline.b
from . import sibling
from .sub.mod import (  # noqa: F401 (a comment with ( and ) in it)
    one,
    two as deux,  # another
)
from ..up import x
from pipeline.c import d; import pipeline.e


def lazy():
    from pipeline.f import g

    return "pipeline.named.worker", "pipeline. not a name", "#c00000"
''',
        encoding="utf-8",
    )
    found = set(stamps._imported(package, "pipeline.pkg"))
    assert found == {
        "pipeline.docs_mention",  # a docstring's line that looks like one: counted
        "pipeline.a", "pipeline.b",
        "pipeline.pkg", "pipeline.pkg.sibling",
        "pipeline.pkg.sub.mod", "pipeline.pkg.sub.mod.one", "pipeline.pkg.sub.mod.two",
        "pipeline.up", "pipeline.up.x",
        "pipeline.c", "pipeline.c.d", "pipeline.e",
        "pipeline.f", "pipeline.f.g",
        "pipeline.named.worker",
    }  # fmt: skip


def _make_project(tmp_path: Path) -> Path:
    """The Makefile with a .venv whose crm is this checkout's (no install)."""
    project = tmp_path / "project"
    project.mkdir()
    for name in ("Makefile", "pyproject.toml", "setup.py"):
        shutil.copy(PROJECT_ROOT / name, project / name)
    bin_dir = project / ".venv" / "bin"
    bin_dir.mkdir(parents=True)
    crm = bin_dir / "crm"
    crm.write_text(
        f'#!/bin/sh\nPYTHONPATH="{PROJECT_ROOT}" exec "{sys.executable}" '
        f'-c "from pipeline.cli import main; main()" "$@"\n',
        encoding="utf-8",
    )
    crm.chmod(0o755)
    stamp = project / ".venv" / ".installed"
    stamp.touch()
    os.utime(stamp, (2e9, 2e9))  # newer than pyproject.toml: set up already
    (project / "bank.yml").write_text(
        "sample: {customers: 1200, branches: 2, months: 18}\n"
        "report: {formats: [html], workers: 1}\n",
        encoding="utf-8",
    )
    return project


def _make_output(project: Path, *args: str, period: str = PERIOD) -> list[str]:
    """Run make; the lines it printed."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("CRM_", "MAKE"))}
    done = subprocess.run(
        ["make", "--no-print-directory", *args, "CONFIG=bank.yml", f"PERIOD={period}"],
        cwd=project,
        env=env,
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert done.returncode == 0, done.stdout + done.stderr
    return done.stdout.splitlines()


def _make(project: Path, *args: str, period: str = PERIOD) -> list[str]:
    """Run make; the stages it ran, in order."""
    return [
        next(word for word in line.split() if word in stamps.STAGES)
        for line in _make_output(project, *args, period=period)
        if line.startswith(".venv/bin/crm ")
    ]


@pytest.mark.slow
@pytest.mark.skipif(shutil.which("make") is None or os.name == "nt", reason="needs make and sh")
def test_make_reruns_exactly_the_stages_whose_inputs_changed(tmp_path):
    project = _make_project(tmp_path)
    assert _make(project, "report") == ["sample", "ingest", "features", "score", "survey", "report"]
    assert _make(project, "report") == []
    # another month: only its own stages, never the sample or ingest again
    assert _make(project, "score", period="2026-09") == ["features", "score"]
    assert _make(project, "score", period="2026-09") == []
    manifest = project / "data" / "interim" / "manifest.json"
    ingested = manifest.stat().st_mtime_ns

    bank = project / "bank.yml"
    settings = bank.read_text()
    targets = settings.replace(
        "workers: 1}", "workers: 1, targets: {nps: {green: 30.0, amber: 0.0}}}"
    )
    assert targets != settings
    bank.write_text(targets)
    assert _make(project, "report") == ["report"]  # KPI targets show only in reports
    bank.write_text(targets + "value_risk: {watchlist_size: 10}\n")
    assert _make(project, "report") == ["score", "survey", "report"]
    assert _make(project, "ingest") == []
    assert manifest.stat().st_mtime_ns == ingested

    # a raw file touched (same content): ingest looks, finds nothing new, rewrites nothing
    os.utime(project / "data" / "raw" / "sample" / "rm_contacts.csv")
    ran = _make(project, "report")
    assert ran[0] == "ingest"
    if manifest.stat().st_mtime_ns == ingested:
        assert ran == ["ingest"]
    assert _make(project, "report") == []

    # several locales: one crm run renders every one of them, then all are up to date
    assert _make(project, "report", "LOCALE=en es_ES") == ["report"]
    build = project / "reports" / "build" / PERIOD
    assert (build / "es_ES" / "index.html").is_file() and (build / "en" / "index.html").is_file()
    # es_ES has no labels of its own (English ones): its name is still its own
    assert "español (España)" in (build / "index.html").read_text(encoding="utf-8")
    assert _make(project, "report", "LOCALE=en es_ES") == []


@pytest.mark.slow
@pytest.mark.skipif(shutil.which("make") is None or os.name == "nt", reason="needs make and sh")
def test_make_monthly_writes_the_reports_in_each_locale_given(tmp_path):
    """The scheduled run of a bank that reads its reports in two languages: one `crm run`,
    both locales' folders, and the run manifest says which locales it wrote."""
    project = _make_project(tmp_path)
    _make_output(project, "sample")
    lines = _make_output(project, "monthly", "LOCALE=zh_CN en")
    assert any(f"run --period {PERIOD} --locale zh_CN --locale en" in line for line in lines)
    build = project / "reports" / "build" / PERIOD
    assert (build / "zh_CN" / "index.html").is_file() and (build / "en" / "index.html").is_file()
    assert '<html lang="zh-CN">' in (build / "zh_CN" / "index.html").read_text(encoding="utf-8")
    manifest = project / "data" / "runs" / PERIOD / "run_manifest.json"
    assert json.loads(manifest.read_text(encoding="utf-8"))["locales"] == ["zh_CN", "en"]


@pytest.mark.slow
@pytest.mark.skipif(shutil.which("make") is None or os.name == "nt", reason="needs make and sh")
def test_make_builds_months_in_order_and_side_by_side_where_the_order_allows(tmp_path):
    """What `make demo` does: each month's features and scores after the month before's
    (they read them), the rest of a month beside another's."""
    project = _make_project(tmp_path)
    months = ["2026-09", "2026-10"]
    goals = [f"data/processed/{month}/survey_summary.json" for month in months]
    order = f"IN_ORDER={' '.join(months)}"
    lines = _make_output(project, "-j2", "--output-sync=line", order, *goals)

    def at(text: str) -> int:
        return next(i for i, line in enumerate(lines) if text in line)

    for earlier, later in zip(months[:-1], months[1:], strict=True):
        # a stage's summary is its last line: the earlier month ended before the later began
        assert at(f"features {earlier}: ") < at(f"features --period {later}")
        assert at(f"score {earlier}: ") < at(f"score --period {later}")
    assert all((project / goal).is_file() for goal in goals)
    assert _make(project, *goals) == []  # up to date without the order too


@pytest.mark.slow
@pytest.mark.skipif(shutil.which("make") is None or os.name == "nt", reason="needs make and sh")
def test_make_generates_the_sample_bank_only_for_the_sample_source(tmp_path):
    project = _make_project(tmp_path)
    (project / "bank.yml").write_text("source: cn_bank_gb18030\n", encoding="utf-8")
    env = {k: v for k, v in os.environ.items() if not k.startswith(("CRM_", "MAKE"))}
    done = subprocess.run(
        ["make", "--no-print-directory", "ingest", "CONFIG=bank.yml"],
        cwd=project, env=env, capture_output=True, text=True, timeout=600,
    )  # fmt: skip
    assert done.returncode != 0  # no exports for that bank here
    assert " sample" not in done.stdout and not (project / "data" / "raw" / "sample").exists()
    assert "no export folder for source 'cn_bank_gb18030'" in done.stderr


def test_make_clean_removes_what_a_run_wrote_and_keeps_the_banks_own_exports(
    tmp_path, sample_bank_run
):
    """`make clean` leaves the data and report roots as a checkout has them: every file the
    pipeline writes there (conftest's files_a_run_writes, recreated under a project
    copy) is gone; a bank's own exports in raw/ and the data folder's README stay."""
    project = _make_project(tmp_path)
    kept = {"data/README.md", "data/raw/mybank/customers.csv"}
    for name in [*files_a_run_writes(sample_bank_run, tmp_path / "scratch"), *kept]:
        (project / name).parent.mkdir(parents=True, exist_ok=True)
        (project / name).touch()
    _make_output(project, "clean")
    left = {
        p.relative_to(project).as_posix()
        for root in ("data", "reports")
        for p in (project / root).rglob("*")
        if p.is_file()
    }
    assert left == kept


def test_make_help_lists_every_documented_target_once(tmp_path):
    """`make help` (the default goal) shows each target that has a `## ` description,
    once, with the description."""
    project = _make_project(tmp_path)
    shown = [line.split(None, 1) for line in _make_output(project) if line.startswith("  ")]
    names = [name for name, _ in shown]
    makefile = (project / "Makefile").read_text(encoding="utf-8")
    documented = re.findall(r"^([a-zA-Z_-]+):.*## ", makefile, flags=re.M)
    assert sorted(names) == sorted(set(documented))
    assert {"demo", "test", "report", "clean"} <= set(names)
    assert all(description.strip() for _, description in shown)
