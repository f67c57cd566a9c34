"""Text formatting and file plumbing for the sample bank's CSV exports.

Every column becomes an Arrow string array (formatted in C++, not Python loops); a
piece of a file is the columns joined by commas, one line per row, appended to a file
in a staging folder. The staging folder replaces the export folder only when the whole
bank is written, so a crash never leaves a half-written bank behind.
"""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from pipeline.sample.params import NO_DAY


def ids(prefix: str, numbers: np.ndarray, width: int) -> pa.Array:
    """`ids("C", [7], 8)` -> "C00000007": zero-padded identifiers."""
    digits = pc.utf8_lpad(
        pc.cast(pa.array(np.asarray(numbers, dtype=np.int64)), pa.string()), width, "0"
    )
    return pc.binary_join_element_wise(pa.scalar(prefix), digits, "")


def money(cents: np.ndarray) -> pa.Array:
    """Integer cents -> "1234.50" (always two decimals, never an exponent)."""
    cents = np.asarray(cents, dtype=np.int64)
    whole = pc.cast(pa.array(np.abs(cents) // 100), pa.string())
    frac = pc.utf8_lpad(pc.cast(pa.array(np.abs(cents) % 100), pa.string()), 2, "0")
    text = pc.binary_join_element_wise(whole, frac, ".")
    if (cents < 0).any():
        negative = pc.binary_join_element_wise(pa.scalar("-"), text, "")
        text = pc.if_else(pa.array(cents < 0), negative, text)
    return text


def dates(days: np.ndarray) -> pa.Array:
    """Day numbers (days since 1970-01-01) -> "YYYY-MM-DD"; NO_DAY -> empty."""
    days = np.asarray(days, dtype=np.int64)
    missing = days == NO_DAY
    text = pc.cast(
        pa.array(np.where(missing, 0, days).astype(np.int32), type=pa.date32()), pa.string()
    )
    if missing.any():
        text = pc.if_else(pa.array(missing), pa.scalar(""), text)
    return text


def timestamps(seconds: np.ndarray) -> pa.Array:
    """Seconds since 1970-01-01 -> "YYYY-MM-DD HH:MM:SS"."""
    return pc.cast(
        pa.array(np.asarray(seconds, dtype=np.int64), type=pa.timestamp("s")), pa.string()
    )


def labels(codes: np.ndarray, names: tuple[str, ...] | list[str]) -> pa.Array:
    """Category codes -> their names."""
    return pc.take(
        pa.array(list(names), type=pa.string()), pa.array(np.asarray(codes, dtype=np.int64))
    )


def integers(values: np.ndarray) -> pa.Array:
    return pc.cast(pa.array(np.asarray(values, dtype=np.int64)), pa.string())


def csv_lines(columns: dict[str, pa.Array]) -> bytes:
    """Rows of string columns as CSV lines (no header). Values are written as they are:
    a value holding a comma must already be quoted by its maker."""
    arrays = list(columns.values())
    if len(arrays[0]) == 0:
        return b""
    lines = pc.binary_join_element_wise(*arrays, ",")
    lines = pc.binary_join_element_wise(lines, pa.scalar(""), "\n")
    if isinstance(lines, pa.ChunkedArray):
        lines = lines.combine_chunks()
    offsets = np.frombuffer(lines.buffers()[1], dtype=np.int32)[
        lines.offset : lines.offset + len(lines) + 1
    ]
    data = lines.buffers()[2]
    return data.to_pybytes()[int(offsets[0]) : int(offsets[-1])]


def header(names: list[str] | tuple[str, ...]) -> bytes:
    return (",".join(names) + "\n").encode("utf-8")


def append(path: Path, data: bytes) -> None:
    with open(path, "ab") as fh:
        fh.write(data)


def fresh_staging(target: Path) -> Path:
    """An empty hidden folder beside `target` to write a new version of it into."""
    staging = target.parent / f".{target.name}.staging"
    if staging.exists():
        shutil.rmtree(staging)
    staging.mkdir(parents=True)
    return staging


def promote(staging: Path, target: Path) -> None:
    """Put a finished staging folder in place of `target` (files fsynced first)."""
    for path in sorted(staging.rglob("*")):
        if path.is_file():
            with open(path, "r+b") as fh:  # writable: Windows flushes no read-only handle
                os.fsync(fh.fileno())
    old = target.parent / f".{target.name}.old"
    if old.exists():
        shutil.rmtree(old)
    if target.exists():
        os.replace(target, old)
    os.replace(staging, target)
    if old.exists():
        shutil.rmtree(old)
