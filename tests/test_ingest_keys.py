"""Repeated keys found in the sorted pass (accept.py): the same verdicts whatever the
batch boundaries, and the verdicts a plain reading of the key rules gives.

Line numbers: frames are written with a header line, so row i of a frame is line i + 2.
"""

from __future__ import annotations

from pathlib import Path
from types import SimpleNamespace

import duckdb
import pandas as pd
import pyarrow as pa
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from test_ingest_support import bank_frames, config_for, write_frames

from pipeline.ingest import accept
from pipeline.ingest.stage import run_ingest
from pipeline.io import read_json
from pipeline.schema import TABLES

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


def sliced_bank() -> dict:
    """dirty_balances plus rows that sort last in a sliced pass: a transaction of no
    accepted customer (no rank) and a balance row without a month end."""
    frames = dirty_balances()
    txns = frames["transactions/transactions_2026-10.csv"]
    orphan = txns.iloc[[0]].copy()
    orphan["txn_id"], orphan["customer_id"] = "T-ORPHAN", "C9999"
    frames["transactions/transactions_2026-10.csv"] = pd.concat([txns, orphan], ignore_index=True)
    undated = frames[BAL_OCT].iloc[[2]].copy()
    undated["month_end"] = "not a date"
    frames[BAL_OCT] = pd.concat([frames[BAL_OCT], undated], ignore_index=True)
    return frames


def test_batch_boundaries_and_sort_slices_do_not_change_the_bytes(tmp_path, monkeypatch):
    """Batches of any size, and sorts cut into slices (as a small memory cap or a large
    bank needs: every table but customers in several ranges here), write the same."""
    written = []
    cut: dict[str, int] = {}  # table -> slices in the last run
    slice_ranges = accept.slice_ranges

    def counted(con, spec, fk, n_customers):
        ranges = slice_ranges(con, spec, fk, n_customers)
        cut[spec.name] = len(ranges)
        return ranges

    monkeypatch.setattr(accept, "slice_ranges", counted)
    runs = [(1, None), (3, None), (accept.BATCH, None), (accept.BATCH, 10**12), (2, 10**12)]
    for batch, sort_bytes in runs:
        monkeypatch.setattr(accept, "BATCH", batch)
        if sort_bytes is not None:
            monkeypatch.setattr(accept, "SORT_BYTES_PER_ROW", sort_bytes)
        root = tmp_path / f"b{batch}-{sort_bytes}"
        root.mkdir()
        _, catalog = ingest(root, sliced_bank())
        if sort_bytes is None:
            assert set(cut.values()) == {1}
        else:  # the sorts really were cut: by customer rank, and by month end
            assert cut["customers"] == 1
            assert min(cut["transactions"], cut["balances"], cut["rm_contacts"]) > 1
        written.append(
            [
                (catalog.interim_table(t).read_bytes(), (catalog.rejects_dir / f"{t}.parquet"))
                for t in ("customers", "transactions", "balances", "rm_contacts")
            ]
        )
    for other in written[1:]:
        assert [b for b, _ in other] == [b for b, _ in written[0]]
        assert [r.read_bytes() for _, r in other] == [r.read_bytes() for _, r in written[0]]
    rejects = pd.read_parquet(catalog.rejects_dir / "transactions.parquet")
    assert list(rejects["reason"]) == ["unknown_customer"]
    rejects = pd.read_parquet(catalog.rejects_dir / "balances.parquet")
    assert list(rejects["reason"]).count("unparseable_date") == 1


def test_slice_ranges_cover_every_row_once_in_order(monkeypatch):
    con = duckdb.connect(config={"memory_limit": "1GB"})
    con.execute(
        "CREATE TABLE all_balances AS SELECT (DATE '2026-01-31' + INTERVAL (i % 7) MONTH)::DATE "
        "AS month_end, i FROM range(1000) t(i) UNION ALL SELECT NULL, -1"
    )
    spec = SimpleNamespace(name="balances", table=TABLES["balances"])
    monkeypatch.setattr(accept, "SORT_BYTES_PER_ROW", 10**7)  # 1001 rows: ten-odd slices
    ranges = accept.slice_ranges(con, spec, fk=False, n_customers=0)
    assert len(ranges) > 1
    ordered = "SELECT i FROM all_balances WHERE {} ORDER BY month_end, i"
    seen = [i for where in ranges for (i,) in con.execute(ordered.format(where)).fetchall()]
    assert seen == [i for (i,) in con.execute(ordered.format("TRUE")).fetchall()]
    assert len(seen) == 1001  # the row without a month end is in the last slice


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
