"""notebooks/: stored without outputs, and each runs top to bottom (a fresh kernel, as an
analyst would) on the sample bank's processed data."""

from __future__ import annotations

from pathlib import Path

import pytest

nbformat = pytest.importorskip("nbformat")

NOTEBOOK_DIR = Path(__file__).resolve().parents[1] / "notebooks"
NOTEBOOKS = sorted(NOTEBOOK_DIR.glob("*.ipynb"))
EXPECTED = ["01_segments_and_tiers", "02_clv_fit_diagnostics", "03_survey_drivers"]


def test_the_three_notebooks_are_there() -> None:
    assert [p.stem for p in NOTEBOOKS] == EXPECTED


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.stem)
def test_stored_without_outputs_and_importing_pipeline(path: Path) -> None:
    nb = nbformat.read(path, as_version=4)
    nbformat.validate(nb)
    code = [c for c in nb.cells if c.cell_type == "code"]
    assert code, path.name
    for cell in code:
        assert cell.execution_count is None and cell.outputs == [], path.name
    assert any("from pipeline" in c.source or "import pipeline" in c.source for c in code)
    assert nb.metadata["kernelspec"]["name"] == "python3"


@pytest.mark.slow
@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.stem)
def test_runs_top_to_bottom_on_the_sample_bank(path, sample_bank_run, monkeypatch) -> None:
    nbclient = pytest.importorskip("nbclient")
    pytest.importorskip("ipykernel")
    monkeypatch.setenv("CRM_DATA_DIR", str(sample_bank_run.data_dir))
    monkeypatch.setenv("CRM_REPORT_DIR", str(sample_bank_run.report_dir))
    monkeypatch.setenv("CRM_PERIOD", sample_bank_run.period)
    monkeypatch.setenv("MPLBACKEND", "agg")
    nb = nbformat.read(path, as_version=4)
    client = nbclient.NotebookClient(
        nb, timeout=300, kernel_name="python3", resources={"metadata": {"path": str(NOTEBOOK_DIR)}}
    )
    client.execute()  # a failing cell raises CellExecutionError with its traceback
    printed = "".join(
        o.get("text", "") for c in nb.cells if c.cell_type == "code" for o in c.outputs
    )
    assert f"period {sample_bank_run.period}" in printed
    assert str(sample_bank_run.data_dir) in printed
    assert not [o for c in nb.cells for o in c.get("outputs", []) if o.output_type == "error"]
