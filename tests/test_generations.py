"""A period's outputs as one generation (issue 22): the report shows which generation it
renders and refuses mixed ones, removes report files it did not write, carries ingest's
warnings; a report root belongs to one bank; render workers end with the run; and
report.workers stays within the machine's CPUs. On the small processed bank of
tests/test_report_fixtures.py (HTML only: the PDFs add nothing here)."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from test_report_fixtures import PERIOD, make_bank

from pipeline.config import cpu_count, load_config
from pipeline.errors import ConfigError, InputError
from pipeline.generation import PeriodStage, read_stamps, verify
from pipeline.io import read_json, write_json
from pipeline.report.stage import run_report
from pipeline.runner import run_manifest

pytestmark = pytest.mark.slow


def html_bank(root: Path):
    cfg, catalog = make_bank(root)
    cfg["report"]["formats"] = ["html"]
    return cfg, catalog


def test_the_report_shows_its_generation_and_refuses_outputs_of_two(tmp_path):
    cfg, catalog = html_bank(tmp_path)
    run_report(cfg, catalog, PERIOD)
    generation = verify(catalog, PERIOD)
    out = catalog.report_locale_dir(PERIOD, "en")
    for name in ("index.html", "network.html", "branch-B01.html"):
        assert f'Generation: <span class="mono">{generation}</span>' in (out / name).read_text()

    # new features (another setting) beside the old scores and survey: one stage re-run
    changed = load_config(
        data_dir=catalog.data_dir,
        report_dir=catalog.report_dir,
        overrides={"features.dormant_days": 90},
        env={},
    )
    before = read_stamps(catalog, PERIOD)
    with PeriodStage(changed, catalog, PERIOD, "features") as stage:
        stage.complete()
    now = read_stamps(catalog, PERIOD)["features"]["generation"]
    assert now != before["features"]["generation"]
    with pytest.raises(
        InputError,
        match=rf"the outputs of {PERIOD} are incomplete: score was made from features "
        rf"generation {before['features']['generation']}, but features is now generation {now}",
    ):
        run_report(cfg, catalog, PERIOD)


def test_report_files_of_a_branch_that_is_gone_are_removed(tmp_path):
    cfg, catalog = html_bank(tmp_path)
    out = catalog.report_locale_dir(PERIOD, "en")
    out.mkdir(parents=True)
    for name in ("branch-B09.html", "branch-B09.pdf", "branch-B01.pdf", "notes.txt"):
        (out / name).write_text("from an earlier run", encoding="utf-8")
    run_report(cfg, catalog, PERIOD)  # B09 merged away; PDFs no longer asked for
    assert sorted(p.name for p in out.iterdir() if not p.name.startswith(".")) == [
        "branch-B01.html",
        "branch-B02.html",
        "branch-B03.html",
        "downloads",
        "index.html",
        "network.html",
        "notes.txt",  # not a report file: the report stage leaves it alone
    ]


def test_a_report_root_belongs_to_one_bank(tmp_path):
    cfg_a, bank_a = html_bank(tmp_path / "a")
    run_report(cfg_a, bank_a, PERIOD)
    cfg_b, bank_b = html_bank(tmp_path / "b")
    shared = bank_a.report_dir
    cfg_b["paths"]["report_dir"] = str(shared)
    bank_b = type(bank_b)(bank_b.data_dir, shared)
    before = {p: p.read_bytes() for p in bank_a.report_build_dir(PERIOD).rglob("*") if p.is_file()}
    with pytest.raises(
        ConfigError,
        match=rf"paths\.report_dir: {shared} holds the reports of data root "
        rf"{bank_a.data_dir}, not {bank_b.data_dir}: give each bank its own report root",
    ):
        run_report(cfg_b, bank_b, PERIOD)
    after = {p: p.read_bytes() for p in bank_a.report_build_dir(PERIOD).rglob("*") if p.is_file()}
    assert after == before  # bank a's reports untouched
    run_report(cfg_a, bank_a, PERIOD)  # and bank a still reports there


def test_ingest_warnings_reach_the_run_manifest_and_the_data_quality_appendix(tmp_path):
    cfg, catalog = html_bank(tmp_path)
    manifest = read_json(catalog.ingest_manifest)
    manifest["warnings"] = [
        "transactions: no rows for 2026-07, between 2025-11 and 2026-10: "
        "is a monthly export missing?"
    ]
    # the same finding as ingest keeps it (a code with its parameters), worded by the report
    gap = dict(table="transactions", start="2026-07", end="2026-07", first="2025-11")
    manifest["findings"] = [{"code": "missing_months", **gap, "last": "2026-10"}]
    write_json(manifest, catalog.ingest_manifest)
    run_report(cfg, catalog, PERIOD)
    record = run_manifest(cfg, catalog, PERIOD, [])
    assert record["warnings"][0] == (
        "ingest: transactions: no rows for 2026-07, between 2025-11 and 2026-10: "
        "is a monthly export missing?"
    )
    assert record["generation"] == verify(catalog, PERIOD)
    for name in ("network.html", "branch-B02.html"):
        html = (catalog.report_locale_dir(PERIOD, "en") / name).read_text(encoding="utf-8")
        box = html[html.index("Data warnings") :]
        assert box.index("<li>Transactions: no rows for 2026-07, between 2025-11 and") < 400
    run_report(cfg, catalog, PERIOD, locales=("zh_CN",))  # and in Chinese, in its words
    html = (catalog.report_locale_dir(PERIOD, "zh_CN") / "branch-B02.html").read_text("utf-8")
    shown = html.replace("\u2060", "")  # the word joiners that keep Chinese words whole
    said = "交易表：2025-11至2026-10之间，2026-07没有数据：是否缺少该月的导出文件？"
    assert f"<li>{said}</li>" in shown


# --- workers end with the run -------------------------------------------------------

HOLD_POOL = """
import time
from pipeline.config import load_config
from pipeline.report.pool import RenderPool
from pipeline.report.stage import report_setup

cfg = load_config(env={})
with RenderPool(report_setup(cfg), 2) as pool:
    executor = pool._started()
    print(" ".join(str(p) for p in sorted(executor._processes)), flush=True)
    time.sleep(300)
"""


def _running(pid: int) -> bool:
    try:
        with open(f"/proc/{pid}/stat", encoding="utf-8") as fh:
            return fh.read().split()[2] != "Z"
    except FileNotFoundError:
        return False


@pytest.mark.skipif(not Path("/proc").is_dir() or cpu_count() < 2, reason="Linux, 2 CPUs")
def test_render_workers_end_when_the_run_is_killed():
    run = subprocess.Popen([sys.executable, "-c", HOLD_POOL], stdout=subprocess.PIPE, text=True)
    try:
        workers = [int(p) for p in run.stdout.readline().split()]
        assert len(workers) == 2 and all(_running(p) for p in workers)
    finally:
        run.kill()  # kill -9: no clean-up of its own
        run.wait()
        run.stdout.close()
    waited = 0.0
    while any(_running(p) for p in workers) and waited < 60:  # a bound, not a timing
        time.sleep(0.1)
        waited += 0.1
    alive = [p for p in workers if _running(p)]
    for pid in alive:  # leave nothing behind even when the test fails
        os.kill(pid, signal.SIGKILL)
    assert alive == []


EARLY_SERVER = """
from multiprocessing import forkserver
from pipeline.config import load_config
from pipeline.forkserver import start_fork_server
from pipeline.report.pool import RenderPool
from pipeline.report.stage import report_setup

start_fork_server(["html"])  # as crm report does first, here for HTML only
server = forkserver._forkserver._forkserver_pid
cfg = load_config(overrides={"report.formats": ["html"]}, env={})
with RenderPool(report_setup(cfg), 2) as pool:
    executor = pool._started()
    parents = {open(f"/proc/{p}/stat").read().split()[3] for p in executor._processes}
    pdf = executor.submit(eval, "'weasyprint' in __import__('sys').modules").result()
print(server, *parents, pdf)
"""


@pytest.mark.skipif(not Path("/proc").is_dir() or cpu_count() < 2, reason="Linux, 2 CPUs")
def test_workers_come_from_the_fork_server_started_early_which_loads_only_what_they_need():
    out = subprocess.run(
        [sys.executable, "-c", EARLY_SERVER], capture_output=True, text=True, check=True
    ).stdout.split()
    server, parents, pdf = out[0], out[1:-1], out[-1]
    assert parents == [server]  # both workers forked by the server started first
    assert pdf == "False"  # no PDF asked: WeasyPrint never imported


def test_report_workers_stay_within_the_machines_cpus(tmp_path):
    cpus = cpu_count()
    for workers in (0, cpus + 1, 10_000):
        with pytest.raises(
            ConfigError,
            match=rf"report\.workers: must be between 1 and this machine's CPU count \({cpus}\), "
            rf"got {workers} \(null: one per CPU\)",
        ):
            load_config(overrides={"report.workers": workers}, env={})
    assert load_config(env={})["report"]["workers"] is None  # the default: one per CPU


def test_a_stage_that_fails_cleanly_leaves_no_folder_it_made(tmp_path):
    """A report asked for a period never run stops at once; the marks it wrote, and the
    period's folders they made, go with it (they were left empty before)."""
    cfg, catalog = html_bank(tmp_path)
    never = "2025-01"
    with pytest.raises(InputError), PeriodStage(cfg, catalog, never, "report"):
        verify(catalog, never)
    assert not catalog.processed_dir(never).exists()
    assert not catalog.report_build_dir(never).exists()
    # a folder that held something before keeps it
    kept = catalog.processed_dir(PERIOD)
    before = sorted(p.name for p in kept.iterdir())
    with pytest.raises(InputError), PeriodStage(cfg, catalog, PERIOD, "report"):
        raise InputError("stopped")
    assert sorted(p.name for p in kept.iterdir()) == before
