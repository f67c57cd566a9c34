"""Repeated keys found in the sorted pass (accept.py): the same verdicts whatever the
batch boundaries, and the verdicts a plain reading of the key rules gives.

Line numbers: frames are written with a header line, so row i of a frame is line i + 2.
"""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pyarrow as pa
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from test_ingest_support import bank_frames, config_for, write_frames

from pipeline.ingest import accept, run_ingest
from pipeline.io import read_json

BAL_SEP = "balances/balances_2026-09.csv"
BAL_OCT = "balances/balances_2026-10.csv"


def ingest(data_root: Path, frames: dict) -> tuple[dict, object]:
    write_frames(data_root / "raw" / "sample", frames)
    cfg, catalog = config_for(data_root, **{"ingest.max_reject_rate": 1.0})
    run_ingest(cfg, catalog)
    return read_json(catalog.ingest_manifest), catalog


def dirty_balances() -> dict:
    """Oct: an exact copy of row 0, a differing twin of row 1, a copy of row 3 failing a
    check; Sep: a copy of Oct's row 4 (an earlier file, so the copy is the one kept)."""
    frames = bank_frames()
    oct_ = frames[BAL_OCT]
    twin = oct_.iloc[[1]].copy()
    twin["balance"] = "1.00"
    negative = oct_.iloc[[3]].copy()
    negative["balance"] = "-5.00"  # current_deposit: an asset cannot be negative
    frames[BAL_OCT] = pd.concat([oct_, oct_.iloc[[0]], twin, negative], ignore_index=True)
    frames[BAL_SEP] = pd.concat([frames[BAL_SEP], oct_.iloc[[4]]], ignore_index=True)
    rm = frames["rm_contacts.csv"]
    rm.loc[0, "channel"] = ""  # a key column left empty: empty keys still match
    frames["rm_contacts.csv"] = pd.concat([rm, rm.iloc[[0]]], ignore_index=True)
    return frames


@pytest.mark.parametrize("batch", [1, 2, 5, accept.BATCH])
def test_shared_keys_in_key_order_tables(data_root, monkeypatch, batch):
    monkeypatch.setattr(accept, "BATCH", batch)  # groups that straddle batches
    manifest, catalog = ingest(data_root, dirty_balances())
    bal = manifest["tables"]["balances"]
    assert (bal["rows_read"], bal["accepted"], bal["duplicates_dropped"]) == (28, 23, 2)
    assert bal["rejected_by_reason"] == {"conflicting_key": 2, "negative_balance": 1}
    got = pd.read_parquet(catalog.rejects_dir / "balances.parquet")
    assert list(zip(got["source_file"], got["line_number"], got["reason"], strict=True)) == [
        (BAL_OCT, 3, "conflicting_key"),
        (BAL_OCT, 6, "exact_duplicate"),  # its copy in the September file comes first
        (BAL_OCT, 14, "exact_duplicate"),
        (BAL_OCT, 15, "conflicting_key"),
        (BAL_OCT, 16, "negative_balance"),
    ]
    assert got["value"].iloc[0] == "C0002, 2026-10-31, current_deposit"
    out = pd.read_parquet(catalog.interim_table("balances"))
    assert not out.duplicated(["customer_id", "month_end", "product"]).any()
    october = out[out["month_end"].astype(str) == "2026-10-31"]
    assert ("C0002", "current_deposit") not in set(
        zip(october["customer_id"], october["product"], strict=True)
    )
    rm = manifest["tables"]["rm_contacts"]
    assert (rm["accepted"], rm["duplicates_dropped"]) == (2, 1)


def test_batch_boundaries_do_not_change_the_bytes(tmp_path, monkeypatch):
    written = []
    for batch in (1, 3, accept.BATCH):
        monkeypatch.setattr(accept, "BATCH", batch)
        root = tmp_path / f"b{batch}"
        root.mkdir()
        _, catalog = ingest(root, dirty_balances())
        written.append(
            [
                (catalog.interim_table(t).read_bytes(), (catalog.rejects_dir / f"{t}.parquet"))
                for t in ("customers", "transactions", "balances", "rm_contacts")
            ]
        )
    for other in written[1:]:
        assert [b for b, _ in other] == [b for b, _ in written[0]]
        assert [r.read_bytes() for _, r in other] == [r.read_bytes() for _, r in written[0]]


def expected(rows: list[tuple[int, int, int, int]]) -> tuple[int, int, int, set]:
    """The key rules read plainly: (accepted, duplicates, conflicting, accepted rows) for
    balance rows (file, customer, product, balance) in file order."""
    frame = pd.DataFrame(rows, columns=["file", "customer", "product", "balance"])
    frame["order"] = range(len(frame))
    accepted, duplicates, conflicting, kept = 0, 0, 0, set()
    for _, group in frame.sort_values(["file", "order"]).groupby(["customer", "product"]):
        if group["balance"].nunique() > 1:
            conflicting += len(group)
        else:
            accepted += 1
            duplicates += len(group) - 1
            first = group.iloc[0]
            kept.add((int(first["customer"]), int(first["product"]), int(first["balance"])))
    return accepted, duplicates, conflicting, kept


BALANCE_ROW = st.tuples(
    st.integers(0, 2),  # customer
    st.integers(0, 1),  # product
    st.integers(0, 2),  # balance
)


@settings(
    max_examples=8,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture],
)
@given(
    september=st.lists(BALANCE_ROW, min_size=1, max_size=12),
    october=st.lists(BALANCE_ROW, min_size=1, max_size=12),
    batch=st.sampled_from([1, 2, 7, accept.BATCH]),
)
def test_key_verdicts_match_the_rules(tmp_path_factory, monkeypatch, september, october, batch):
    monkeypatch.setattr(accept, "BATCH", batch)
    root = tmp_path_factory.mktemp("bank")
    frames = bank_frames(n_customers=3)
    products = ["current_deposit", "loan"]
    for name, mine in ((BAL_SEP, september), (BAL_OCT, october)):
        frames[name] = pd.DataFrame(
            {
                "customer_id": [f"C{c + 1:04d}" for c, _, _ in mine],
                "month_end": ["2026-10-31"] * len(mine),  # one month: keys meet across files
                "product": [products[p] for _, p, _ in mine],
                "balance": [f"{100 * (b + 1)}.00" for _, _, b in mine],
            }
        )
    _, catalog = ingest(root, frames)
    rows = [(0, *r) for r in september] + [(1, *r) for r in october]
    accepted, duplicates, conflicting, kept = expected(rows)
    bal = read_json(catalog.ingest_manifest)["tables"]["balances"]
    assert (bal["accepted"], bal["duplicates_dropped"]) == (accepted, duplicates)
    assert bal["rejected_by_reason"] == ({"conflicting_key": conflicting} if conflicting else {})
    out = pd.read_parquet(catalog.interim_table("balances"))
    got = {
        (int(c[1:]) - 1, products.index(p), int(b) // 100 - 1)
        for c, p, b in zip(out["customer_id"], out["product"], out["balance"], strict=True)
    }
    assert got == kept


def test_read_ahead_passes_batches_and_errors_through():
    schema = pa.schema([("x", pa.int64())])

    def batches(fail_after: int | None):
        for i in range(5):
            if fail_after is not None and i == fail_after:
                raise ValueError("export went away")
            yield pa.record_batch([pa.array([i])], schema=schema)

    reader = pa.RecordBatchReader.from_batches(schema, batches(None))
    assert [b["x"][0].as_py() for b in accept._read_ahead(reader)] == [0, 1, 2, 3, 4]
    reader = pa.RecordBatchReader.from_batches(schema, batches(2))
    seen = []
    with pytest.raises(ValueError, match="export went away"):
        for b in accept._read_ahead(reader):
            seen.append(b["x"][0].as_py())
    assert seen == [0, 1]
    # a caller that stops early does not leave the reading thread blocked
    reader = pa.RecordBatchReader.from_batches(schema, batches(None))
    for _ in accept._read_ahead(reader, depth=1):
        break
