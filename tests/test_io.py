"""Atomic writes and stage-level promotion: a failure never leaves half an output."""

from __future__ import annotations

import errno
from pathlib import Path

import pandas as pd
import pytest

from pipeline.io import (
    promote_on_success,
    read_json,
    remove_output,
    remove_stale_temporaries,
    write_json,
    write_parquet,
    write_text,
)


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


def test_an_inner_block_joins_the_outer_one(tmp_path: Path) -> None:
    a, b = tmp_path / "a.txt", tmp_path / "b.txt"
    write_text("old a", a)
    with promote_on_success():
        with promote_on_success():
            write_text("new a", a)
        assert a.read_text() == "old a"  # the inner block's end promotes nothing
        write_text("new b", b)
    assert (a.read_text(), b.read_text()) == ("new a", "new b")


def test_a_failed_inner_block_drops_only_its_own_writes(tmp_path: Path) -> None:
    a, b = tmp_path / "a.txt", tmp_path / "b.txt"
    with promote_on_success():
        write_text("new a", a)
        with pytest.raises(ValueError), promote_on_success():
            write_text("new b", b)
            raise ValueError("bad input")
    assert a.read_text() == "new a" and not b.exists()
    assert [p.name for p in tmp_path.iterdir()] == ["a.txt"]


def test_a_disabled_block_writes_straight_through(tmp_path: Path) -> None:
    staging = tmp_path / ".staging"
    with promote_on_success():
        with promote_on_success(False):
            write_text("truth", staging / "dirt.json")
            assert (staging / "dirt.json").read_text() == "truth"
        staging.rename(tmp_path / "final")  # the stage swaps its folder in itself
        write_text("stamp", tmp_path / "final" / "params.json")
    assert sorted(p.name for p in (tmp_path / "final").iterdir()) == ["dirt.json", "params.json"]


def test_remove_output_waits_for_the_block(tmp_path: Path) -> None:
    stale = write_text("other source", tmp_path / "stale.parquet")
    with pytest.raises(OSError), promote_on_success():
        remove_output(stale)
        raise OSError(errno.ENOSPC, "No space left on device")
    assert stale.read_text() == "other source"
    with promote_on_success():
        remove_output(stale)
        assert stale.exists()
    assert not stale.exists()
    remove_output(stale)  # outside a block: at once, and a missing file is fine


def test_stale_temporaries_are_swept_and_nothing_else(tmp_path: Path) -> None:
    (tmp_path / "p").mkdir()
    keep = [tmp_path / "p" / n for n in ("scores.parquet", ".crm.lock", "x.tmp", ".notes.tmp")]
    for path in keep:
        path.write_text("keep")
    with promote_on_success():
        write_text("new", tmp_path / "p" / "scores.parquet")
        (left,) = [p for p in (tmp_path / "p").iterdir() if p.name.startswith(".scores")]
        held = left.read_text()
        removed = remove_stale_temporaries(tmp_path)
        assert removed == [left] and held == "new"
        left.write_text(held)  # put it back so the block can finish
    assert sorted(p.name for p in (tmp_path / "p").iterdir()) == sorted(p.name for p in keep)
