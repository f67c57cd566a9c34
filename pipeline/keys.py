"""Joining per-customer results on their key, never on row order.

Every per-customer result of a stage carries `customer_id`; putting two together is a
join on it, and a join whose key repeats on either side would silently multiply rows,
so `join_on_key` checks that each side holds every key once. Results usually come sorted
by customer_id (the SQL orders them), so the check is a comparison of neighbours, and
when both sides hold the same keys in the same order the columns are attached directly
(that is what the join would give, without hashing a million strings). `is_in` asks
which keys are among others in one Arrow pass.
"""

from __future__ import annotations

from collections.abc import Iterable

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from pipeline.errors import InputError

KEY = "customer_id"


def key_array(frame: pd.DataFrame, key: str = KEY) -> pa.Array:
    """The key column as Arrow text."""
    return _text(frame[key].astype(str))


def _text(values: pd.Series | list[str]) -> pa.Array:
    """Keys as Arrow text (missing values null)."""
    return pa.array(values, type=pa.large_string(), from_pandas=True)


def is_in(keys: pd.Series, among: Iterable[str]) -> np.ndarray:
    """`keys.astype(str).isin(among)` as a bool array, in one Arrow pass: pandas' isin on
    Arrow-backed text first makes a Python object of every value sought (7 s of the
    survey stage for a million customer ids). A missing key is among them only when a
    missing value is."""
    if isinstance(among, set | frozenset):
        among = list(among)
    found = pc.is_in(_text(keys.astype(str)), value_set=_text(among))
    return found.to_numpy(zero_copy_only=False)


def require_unique(frame: pd.DataFrame, what: str, key: str = KEY) -> None:
    """InputError naming a repeated key (`what` names the frame in the message)."""
    keys = key_array(frame, key)
    if len(keys) < 2:
        return
    if pc.all(pc.less(keys[:-1], keys[1:])).as_py():  # strictly increasing: unique
        return
    counts = pc.value_counts(keys)
    repeated = counts.filter(pc.greater(counts.field("counts"), 1))
    if len(repeated):
        first = sorted(v.as_py() for v in repeated.field("values"))[0]
        raise InputError(f"{what}: {key} {first!r} appears more than once")


def join_on_key(
    left: pd.DataFrame, right: pd.DataFrame, what: str, how: str = "left", key: str = KEY
) -> pd.DataFrame:
    """`left` with `right`'s other columns joined on `key`, in `left`'s row order; each
    side must hold every key once (`what` names the join in the error)."""
    require_unique(left, f"{what} (left side)", key)
    require_unique(right, f"{what} (right side)", key)
    same = len(left) == len(right) and pc.all(
        pc.equal(key_array(left, key), key_array(right, key))
    ).as_py() in (True, None)
    if same:
        out = left.copy()
        for col in right.columns:
            if col != key:
                out[col] = _values(right[col])
        return out
    return left.merge(right, on=key, how=how, validate="one_to_one")


def _values(column: pd.Series):
    """A column's values without its index (so assignment is by position)."""
    return column.array if not isinstance(column.dtype, np.dtype) else column.to_numpy()
