"""Atomic writes and stage-level promotion: a failure never leaves half an output."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest

from pipeline.io import promote_on_success, read_json, write_json, write_parquet, write_text


def test_write_parquet_is_deterministic(tmp_path: Path) -> None:
    df = pd.DataFrame({"customer_id": ["b", "a"], "aum": [1.5, 2.0]})
    write_parquet(df, tmp_path / "one.parquet")
    write_parquet(df, tmp_path / "two.parquet")
    assert (tmp_path / "one.parquet").read_bytes() == (tmp_path / "two.parquet").read_bytes()
    assert pd.read_parquet(tmp_path / "one.parquet").equals(df)


def test_failed_write_leaves_previous_file_and_no_temporary(tmp_path: Path) -> None:
    target = tmp_path / "card.json"
    write_json({"v": 1}, target)
    with pytest.raises(TypeError):
        write_json({"v": object()}, target)
    assert read_json(target) == {"v": 1}
    assert [p.name for p in tmp_path.iterdir()] == ["card.json"]


def test_promotion_waits_for_the_whole_block(tmp_path: Path) -> None:
    a, b = tmp_path / "a.txt", tmp_path / "b.txt"
    write_text("old a", a)
    with promote_on_success():
        write_text("new a", a)
        write_text("new b", b)
        assert a.read_text() == "old a" and not b.exists()
    assert (a.read_text(), b.read_text()) == ("new a", "new b")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["a.txt", "b.txt"]


def test_failure_inside_the_block_keeps_every_previous_output(tmp_path: Path) -> None:
    a, b = tmp_path / "a.txt", tmp_path / "b.txt"
    write_text("old a", a)
    with pytest.raises(OSError, match="disk full"), promote_on_success():
        write_text("new a", a)
        write_text("new b", b)
        raise OSError("disk full")
    assert a.read_text() == "old a" and not b.exists()
    assert [p.name for p in tmp_path.iterdir()] == ["a.txt"]


def test_outputs_are_readable_by_others_like_any_file_the_user_writes(tmp_path: Path) -> None:
    target = write_text("report", tmp_path / "index.html")
    plain = tmp_path / "plain.txt"
    plain.write_text("x")
    assert target.stat().st_mode & 0o777 == plain.stat().st_mode & 0o777
