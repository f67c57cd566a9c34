"""Shared fixtures: a temporary data root per test, and the public data folder."""

from __future__ import annotations

from pathlib import Path

import pytest

PROJECT_ROOT = Path(__file__).resolve().parents[1]
SHARED_DATA = PROJECT_ROOT.parent / "shared" / "data"


@pytest.fixture
def data_root(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A fresh data root; the environment points the pipeline at it."""
    root = tmp_path / "data"
    root.mkdir()
    monkeypatch.setenv("CRM_DATA_DIR", str(root))
    monkeypatch.setenv("CRM_REPORT_DIR", str(tmp_path / "reports"))
    return root


def shared_data(*parts: str) -> Path:
    """A path under ../shared/data, or skip the test cleanly where it is absent."""
    path = SHARED_DATA.joinpath(*parts)
    if not path.exists():
        pytest.skip(f"public data not present: {path}")
    return path
