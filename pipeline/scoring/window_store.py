"""Label windows kept between score runs on the same canonical tables (the score edge's).

A label window (pipeline.scoring.churn.window: the features mart at a past month end,
and who churned after it) depends only on the canonical tables, the config keys and
code the score stage reads, and the window's start, end and model inputs. Months scored
one after another on the same tables -- `make demo`'s three, a backfill -- need mostly
the same windows: the contact effect stacks a year of them, and month m + 1 needs all
but one or two of month m's. So the score stage's edge keeps every window it builds in
<data>/interim/label_windows/, named by a fingerprint of all of the above, and reads a
window back when both match. An ingest that rewrites a table, a changed config key or
a changed module gives a new fingerprint; the first score run under it removes the
windows of every other.

Windows are kept only where the contact effect stacks several
(contact_effect.max_training_rows holds more than one window of the bank's customers):
at a million customers it stacks one, and writing gigabytes of windows each month would
cost more than reading them back saves. A window read back holds the same frames,
column types and values as the one built (tests/test_window_store.py), so scores and
card are the same byte for byte with or without the store.
"""

from __future__ import annotations

import hashlib
import logging
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from pipeline.catalog import Catalog
from pipeline.engine import Engine
from pipeline.io import read_parquet, write_parquet
from pipeline.schema import TABLES
from pipeline.scoring import churn
from pipeline.scoring.settings import ScoreSettings
from pipeline.stamps import digest_json, stage_stamp

log = logging.getLogger(__name__)

FORMAT = 1  # the layout of a stored window; a new layout is a new fingerprint
FOOTER_BYTES = 1 << 16  # a Parquet file's tail read for its digest: the footer, and more
IDS, LABEL = "customer_id", "churned"
X_PREFIX, CONTEXT_PREFIX = "x:", "context:"


def stacks_several(s: ScoreSettings, customers: int) -> bool:
    """Whether the contact effect stacks more than one window for a bank of `customers`."""
    c = s.contact_effect
    return c.enabled and c.windows > 1 and c.max_training_rows // max(customers, 1) > 1


def table_listing(interim_dir: Path) -> list[tuple[str, int, int, str]]:
    """(file, size, modification time in ns, digest of its Parquet footer) of each
    canonical table there. Ingest writes a table anew whenever it changes; the footer
    (row groups' sizes, offsets and statistics) tells two versions apart even where the
    file system keeps times to the second and the sizes happen to match."""
    found = []
    for name in sorted(TABLES):
        path = Path(interim_dir) / f"{name}.parquet"
        if path.is_file():
            st = path.stat()
            with open(path, "rb") as fh:
                fh.seek(max(0, st.st_size - FOOTER_BYTES))
                footer = hashlib.sha256(fh.read()).hexdigest()
            found.append((path.name, st.st_size, st.st_mtime_ns, footer))
    return found


def fingerprint(cfg: dict[str, Any], catalog: Catalog) -> str:
    """What every window of a score run depends on besides its own dates and inputs: the
    score stage's config keys and code (its make stamp), the canonical tables, and the
    engine (DuckDB or Spark, and where Spark's executors read the tables)."""
    spark = cfg.get("spark") or {}
    parts = {
        "format": FORMAT,
        "stage": stage_stamp("score", cfg, catalog.data_dir),
        "tables": table_listing(catalog.interim_dir),
        "engine": [cfg.get("engine"), spark.get("interim_uri")],
    }
    return digest_json(parts)[:24]


def window_name(start: date, end: date, columns: tuple[str, ...]) -> str:
    """A window's part of its file name: its dates and model inputs."""
    key = digest_json([start.isoformat(), end.isoformat(), list(columns)])
    return f"{start.isoformat()}-{key[:16]}"


def window_frame(w: churn.Window) -> pd.DataFrame:
    """One frame holding a window: ids, label, context and model inputs by prefix."""
    parts = {IDS: w.ids.to_numpy(), LABEL: np.asarray(w.y)}
    parts.update({CONTEXT_PREFIX + c: w.context[c].to_numpy() for c in w.context.columns})
    parts.update({X_PREFIX + c: w.X[c].to_numpy() for c in w.X.columns})
    return pd.DataFrame(parts)


def frame_window(frame: pd.DataFrame, columns: tuple[str, ...]) -> churn.Window:
    """The window window_frame stored (X in `columns`' order, indexed from 0)."""
    context = [c for c in frame.columns if c.startswith(CONTEXT_PREFIX)]
    X = pd.DataFrame(
        np.asarray(frame[[X_PREFIX + c for c in columns]], dtype="float64", order="F"),
        columns=list(columns),
        copy=False,
    )
    return churn.Window(
        frame[IDS],
        X,
        frame[LABEL].to_numpy(dtype=int),
        frame[context].rename(columns=lambda c: c[len(CONTEXT_PREFIX) :]),
    )


@dataclass
class WindowStore:
    """A churn.WindowSource: the window stored under `fingerprint` in `folder`, else built by
    churn.window and stored. A window that cannot be stored (a full disk, a read-only
    folder) is only not kept: the run goes on, and says so once."""

    folder: Path
    fingerprint: str
    unwritable: bool = False

    def path(self, start: date, end: date, columns: tuple[str, ...]) -> Path:
        return self.folder / f"{self.fingerprint}-{window_name(start, end, columns)}.parquet"

    def __call__(
        self, engine: Engine, start: date, end: date, plan: churn.ChurnPlan, s: ScoreSettings
    ) -> churn.Window:
        path = self.path(start, end, tuple(plan.columns))
        try:
            window = frame_window(read_parquet(path), tuple(plan.columns))
        except FileNotFoundError:
            pass
        except Exception as error:  # noqa: BLE001  (unreadable: built again, stored anew)
            log.debug("label window %s unreadable (%s): built again", path.name, error)
        else:
            log.debug("label window %s to %s: stored", start, end)
            return window
        window = churn.window(engine, start, end, plan, s)
        try:
            write_parquet(window_frame(window), path)
        except OSError as error:
            if not self.unwritable:
                log.warning("label windows not kept for the next month's run: %s", error)
            self.unwritable = True
        return window

    def remove_others(self) -> list[Path]:
        """Remove the windows stored under another fingerprint (other tables, config or
        code): they will never be read again."""
        if not self.folder.is_dir():
            return []
        stale = [
            p
            for p in self.folder.glob("*.parquet")
            if not p.name.startswith(f"{self.fingerprint}-")
        ]
        for path in stale:
            path.unlink(missing_ok=True)
        return stale


def window_source(
    cfg: dict[str, Any], catalog: Catalog, s: ScoreSettings, customers: int
) -> churn.WindowSource:
    """The score run's label windows: a WindowStore where the contact effect stacks
    several windows (see the module), else churn.window itself."""
    if not stacks_several(s, customers):
        return churn.window
    store = WindowStore(catalog.label_window_dir, fingerprint(cfg, catalog))
    removed = store.remove_others()
    if removed:
        log.debug("label windows: %d of other tables, config or code removed", len(removed))
    return store
