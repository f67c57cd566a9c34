"""Realistic dirt for the raw exports, so that ingest validation has real work to do.

A share `rate` of a piece's rows is made dirty, each row with one kind of dirt: an exact
duplicate (an extra copy right after the row), a malformed date or amount, a negative
amount, or a customer id that is not in the customer file. Everything injected is
counted, so tests and ingest can be checked against exact numbers.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

# Kinds of dirt per export and the column each one damages (None: the whole row).
DIRT_KINDS: dict[str, dict[str, str | None]] = {
    "customers": {"duplicate": None, "malformed_date": "open_date"},
    "transactions": {
        "duplicate": None,
        "malformed_date": "txn_time",
        "malformed_amount": "amount",
        "unknown_customer": "customer_id",
        "negative_amount": "amount",
    },
    "balances": {
        "duplicate": None,
        "malformed_date": "month_end",
        "malformed_amount": "balance",
        "unknown_customer": "customer_id",
    },
    "rm_contacts": {
        "duplicate": None,
        "malformed_date": "contact_date",
        "unknown_customer": "customer_id",
    },
    "survey_customer": {"duplicate": None, "unknown_customer": "customer_id"},
    "survey_staff": {"duplicate": None},
}


def no_dirt(table: str) -> dict[str, int]:
    return {kind: 0 for kind in DIRT_KINDS[table]}


def _malformed_dates(values: pa.Array, variant: np.ndarray) -> pa.Array:
    """ "2026-03-15..." -> month 13, day 32 or month 00: looks like a date, is not one."""
    head, tail = pc.utf8_slice_codeunits(values, 0, 5), pc.utf8_slice_codeunits(values, 7, 10_000)
    month13 = pc.binary_join_element_wise(head, pa.scalar("13"), tail, "")
    month00 = pc.binary_join_element_wise(head, pa.scalar("00"), tail, "")
    day32 = pc.binary_join_element_wise(
        pc.utf8_slice_codeunits(values, 0, 8),
        pa.scalar("32"),
        pc.utf8_slice_codeunits(values, 10, 10_000),
        "",
    )
    return pc.case_when(
        pc.make_struct(pa.array(variant == 0), pa.array(variant == 1)), month13, day32, month00
    )


def _malformed_amounts(values: pa.Array, variant: np.ndarray) -> pa.Array:
    """ "12.30" -> "12,3x" (a decimal comma and a stray letter, quoted for the comma) or
    "12..30"."""
    comma = pc.utf8_slice_codeunits(pc.replace_substring(values, ".", ","), 0, -1)
    comma = pc.binary_join_element_wise(pa.scalar('"'), comma, pa.scalar('x"'), "")
    doubled = pc.replace_substring(values, ".", "..")
    return pc.if_else(pa.array(variant == 0), comma, doubled)


def inject(
    rng: np.random.Generator,
    table: str,
    columns: dict[str, pa.Array],
    rate: float,
    unknown_ids: Callable[[int], pa.Array],
) -> tuple[dict[str, pa.Array], dict[str, int]]:
    """Dirty a piece of an export: returns the new columns and the count of each kind."""
    counts = no_dirt(table)
    n = len(next(iter(columns.values())))
    expected = rate * n
    k = min(n, int(np.floor(expected + rng.random()))) if rate > 0 else 0
    if k == 0:
        return columns, counts
    kinds = list(DIRT_KINDS[table])
    rows = np.sort(rng.choice(n, size=k, replace=False))
    kind = rng.integers(0, len(kinds), size=k)
    variant = rng.integers(0, 3, size=k)
    if "unknown_customer" in kinds:  # anonymous answers have no id to get wrong
        no_id = np.asarray(
            pc.equal(columns["customer_id"].take(pa.array(rows)), "").to_numpy(zero_copy_only=False)
        )
        kind = np.where(
            (kind == kinds.index("unknown_customer")) & no_id, kinds.index("duplicate"), kind
        )
    for i, name in enumerate(kinds):
        counts[name] = int((kind == i).sum())

    dup_rows = rows[kind == kinds.index("duplicate")]
    mod_rows = rows[kind != kinds.index("duplicate")]
    mod_kind = kind[kind != kinds.index("duplicate")]
    mod_variant = variant[kind != kinds.index("duplicate")]
    new_ids = (
        unknown_ids(int((mod_kind == kinds.index("unknown_customer")).sum()))
        if "unknown_customer" in kinds
        else None
    )
    out: dict[str, pa.Array] = {}
    take_mod = pa.array(mod_rows, type=pa.int64())
    for col, values in columns.items():
        modified = values.take(take_mod)
        for i, name in enumerate(kinds):
            if DIRT_KINDS[table][name] != col or name == "duplicate":
                continue
            hit = mod_kind == i
            if not hit.any():
                continue
            if name == "malformed_date":
                damaged = _malformed_dates(modified, mod_variant)
            elif name == "malformed_amount":
                damaged = _malformed_amounts(modified, mod_variant % 2)
            elif name == "negative_amount":
                damaged = pc.binary_join_element_wise(pa.scalar("-"), modified, "")
            else:  # unknown_customer: spread the fresh ids over the hit rows
                slot = np.cumsum(hit) - 1
                damaged = new_ids.take(pa.array(np.where(hit, slot, 0)))
            modified = pc.if_else(pa.array(hit), damaged, modified)
        out[col] = pa.concat_arrays(
            [values, modified, values.take(pa.array(dup_rows, type=pa.int64()))]
        )

    source = np.arange(n)
    source[mod_rows] = n + np.arange(len(mod_rows))
    source = np.concatenate([source, n + len(mod_rows) + np.arange(len(dup_rows))])
    position = np.concatenate([2 * np.arange(n), 2 * dup_rows + 1])
    order = pa.array(source[np.argsort(position, kind="stable")])
    return {col: values.take(order) for col, values in out.items()}, counts
