"""Reading and writing at the edges. Every write is atomic: a temporary file in the
target folder, then a rename, so a crash never leaves half a file behind. Inside
`promote_on_success()` the renames wait until the whole stage has succeeded."""

from __future__ import annotations

import hashlib
import json
import os
import re
import tempfile
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:  # pandas and pyarrow are imported by the functions that read or write
    import pandas as pd  # tables, so a command that only resolves a period skips them

_UMASK = os.umask(0)
os.umask(_UMASK)
# (temporary, target) renames held back by an active promote_on_success block
# (temporary None: a removal of target, see remove_output).
_PENDING: ContextVar[list[tuple[Path | None, Path]] | None] = ContextVar("_PENDING", default=None)
# what atomic_path names its temporaries: .<target name>.<mkstemp letters>.tmp
_TEMP = re.compile(r"\..+\.[A-Za-z0-9_]{8}\.tmp")


@contextmanager
def atomic_path(target: Path) -> Iterator[Path]:
    """Yield a temporary path beside `target`; rename it over `target` on success."""
    target = Path(target)
    target.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{target.name}.", suffix=".tmp", dir=target.parent)
    _usual_mode(fd, tmp)
    os.close(fd)
    tmp_path = Path(tmp)
    pending = _PENDING.get()
    try:
        yield tmp_path
        with open(tmp_path, "r+b") as fh:  # writable: Windows flushes no read-only handle
            os.fsync(fh.fileno())
        if pending is None:
            os.replace(tmp_path, target)
        else:
            pending.append((tmp_path, target))
    finally:
        if tmp_path.exists() and not (pending and pending[-1][0] == tmp_path):
            tmp_path.unlink()


def _usual_mode(fd: int, path: str) -> None:
    """mkstemp makes 0600; outputs get the usual mode (0666 less the umask). Windows has
    neither fchmod nor group and other permissions: nothing to do there."""
    if hasattr(os, "fchmod"):
        os.fchmod(fd, 0o666 & ~_UMASK)
    elif os.name != "nt":
        os.chmod(path, 0o666 & ~_UMASK)


@contextmanager
def promote_on_success(enabled: bool = True) -> Iterator[None]:
    """Hold back every atomic write in this block; put them all in place only when the
    block completes. A failure (bad input, disk full, a bug) leaves the previous good
    outputs untouched and removes the new temporaries; a killed process leaves only
    hidden `.name.*.tmp` files, which no reader opens. A stage inside the block must
    not read back its own outputs (it would see the previous version).

    Blocks nest: an inner block joins the outer one (its writes wait for the outer
    block; a failure inside it drops only its own). `enabled=False` writes straight
    through for the block -- for a stage that writes into its own staging folder and
    swaps the folder in itself, where a held rename would point into a moved folder.
    """
    outer = _PENDING.get()
    if not enabled:
        token = _PENDING.set(None)
        try:
            yield
        finally:
            _PENDING.reset(token)
        return
    if outer is not None:
        start = len(outer)
        try:
            yield
        except BaseException:
            _discard(outer[start:])
            del outer[start:]
            raise
        return
    pending: list[tuple[Path | None, Path]] = []
    token = _PENDING.set(pending)
    try:
        yield
    except BaseException:
        _discard(pending)
        raise
    finally:
        _PENDING.reset(token)
    for tmp, target in pending:
        if tmp is None:
            target.unlink(missing_ok=True)
        else:
            os.replace(tmp, target)


def _discard(pending: list[tuple[Path | None, Path]]) -> None:
    for tmp, _ in pending:
        if tmp is not None:
            tmp.unlink(missing_ok=True)


def remove_output(target: Path) -> None:
    """Delete an output that is no longer produced -- inside promote_on_success only
    when the block completes, so a failed stage keeps it like its other outputs."""
    pending = _PENDING.get()
    if pending is None:
        Path(target).unlink(missing_ok=True)
    else:
        pending.append((None, Path(target)))


def remove_unwritten(folder: Path, patterns: tuple[str, ...], written: list[Path]) -> list[Path]:
    """Remove (with the stage's outputs: remove_output) the files in `folder` matching a
    stage's own `patterns` that it did not write this time -- the watchlist and reports
    of a branch that is gone -- so a folder holds one generation of that stage's files."""
    keep = {os.path.abspath(p) for p in written}
    stale = sorted(
        {p for pattern in patterns for p in Path(folder).glob(pattern) if p.is_file()}
        - {p for p in Path(folder).glob("*") if os.path.abspath(p) in keep}
    )
    for path in stale:
        remove_output(path)
    return stale


def remove_stale_temporaries(folder: Path) -> list[Path]:
    """Delete the hidden `.name.*.tmp` files a killed writer left under `folder`.

    Only safe while no other process writes there: call it under the data-root lock.
    """
    if not Path(folder).is_dir():
        return []
    stale = sorted(
        p for p in Path(folder).rglob(".*.tmp") if p.is_file() and _TEMP.fullmatch(p.name)
    )
    for path in stale:
        path.unlink(missing_ok=True)
    return stale


def write_parquet(df: pd.DataFrame, target: Path) -> Path:
    """Write a frame as Parquet, deterministically (no index, fixed writer settings)."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    table = pa.Table.from_pandas(df, preserve_index=False)
    with atomic_path(target) as tmp:
        pq.write_table(table, tmp, compression="zstd", write_statistics=True)
    return target


def read_parquet(path: Path, columns: list[str] | None = None) -> pd.DataFrame:
    import pandas as pd

    return pd.read_parquet(path, columns=columns)


def write_json(obj: Any, target: Path) -> Path:
    """Write JSON with sorted keys and a trailing newline: same object, same bytes."""
    text = json.dumps(obj, indent=2, sort_keys=True, ensure_ascii=False, default=_json_default)
    return write_text(text + "\n", target)


def read_json(path: Path) -> Any:
    return json.loads(Path(path).read_text(encoding="utf-8"))


def write_text(text: str, target: Path, encoding: str = "utf-8") -> Path:
    with atomic_path(target) as tmp:
        tmp.write_text(text, encoding=encoding)
    return target


def write_bytes(data: bytes, target: Path) -> Path:
    with atomic_path(target) as tmp:
        tmp.write_bytes(data)
    return target


def write_with(target: Path, writer: Callable[[Path], None]) -> Path:
    """Atomically write `target` with a function that writes to a given path."""
    with atomic_path(target) as tmp:
        writer(tmp)
    return target


def write_csv(df: pd.DataFrame, target: Path) -> Path:
    """Write a frame as CSV for people to open (csv_bytes), atomically; read it back
    with read_csv."""
    return write_bytes(csv_bytes(df), target)


def csv_bytes(df: pd.DataFrame) -> bytes:
    """A frame as CSV for people to open: text a spreadsheet would run as a formula is
    quoted (pipeline.spreadsheet). UTF-8, with a byte-order mark when any header or text
    is not ASCII (the CSV's own text is checked: numbers and dates are written in
    ASCII), since Excel reads a CSV without one in the machine's code page (Chinese
    names and reasons garbled). Lines end in CRLF (RFC 4180), so a value holding a
    carriage return is quoted as one holding a line feed is (Python's csv quotes only
    the characters of its line ending)."""
    from pipeline.spreadsheet import neutralise

    text = neutralise(df).to_csv(index=False, lineterminator="\r\n")
    return text.encode("utf-8" if text.isascii() else "utf-8-sig")


def read_csv(path: Path, **kwargs: Any) -> pd.DataFrame:
    """A CSV written by write_csv, its text cells exactly as they were given (a
    byte-order mark, if any, is not part of the first header)."""
    import pandas as pd

    from pipeline.spreadsheet import restore

    options = {"encoding": "utf-8-sig", **kwargs}
    return restore(pd.read_csv(path, **options))


def sha256_file(path: Path, chunk: int = 1 << 20) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as fh:
        while block := fh.read(chunk):
            digest.update(block)
    return digest.hexdigest()


def _json_default(obj: Any) -> Any:
    if hasattr(obj, "isoformat"):
        return obj.isoformat()
    if hasattr(obj, "item"):  # numpy scalars
        return obj.item()
    if isinstance(obj, Path):
        return str(obj)
    raise TypeError(f"not JSON serialisable: {type(obj).__name__}")
