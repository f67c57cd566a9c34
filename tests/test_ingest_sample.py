"""End to end on a generated sample bank: ingest recovers the generator's injected dirt.

The generator records every dirty row it wrote (ground truth dirt.json, per table and
kind). Ingest must find exactly those, with one consequence the generator does not
count: rows of a customer whose own customer row was rejected have no valid customer,
so they are rejected as unknown_customer too (and an exact duplicate of such a row is
rejected with it rather than dropped).
"""

from __future__ import annotations

import json

import pandas as pd
import pyarrow.parquet as pq
import pytest
from click.testing import CliRunner

from pipeline.catalog import Catalog
from pipeline.cli import cli
from pipeline.io import read_json

pytestmark = pytest.mark.slow

# generator dirt kind -> the reasons ingest gives for it
KIND_REASONS = {
    "malformed_date": {"unparseable_date", "unparseable_timestamp"},
    "malformed_amount": {"unparseable_number"},
    "negative_amount": {"amount_not_positive"},
    "unknown_customer": {"unknown_customer"},
}
CASCADE = {"customer_rejected"}  # not injected: the rows of an injected bad customer row
TABLE_OF = {"survey_customer": "survey_responses", "survey_staff": "staff_survey_responses"}


@pytest.fixture(scope="module")
def sample_bank(tmp_path_factory):
    pytest.importorskip("pipeline.sample")
    root = tmp_path_factory.mktemp("sample") / "data"
    runner = CliRunner()
    args = ["--data-dir", str(root), "--report-dir", str(root.parent / "reports")]
    made = runner.invoke(
        cli, [*args, "sample", "--customers", "2000", "--months", "12", "--dirt-rate", "0.005"]
    )
    assert made.exit_code == 0, made.output
    done = runner.invoke(cli, [*args, "ingest"])
    assert done.exit_code == 0, done.output
    catalog = Catalog(root, root.parent / "reports")
    return (
        catalog,
        read_json(catalog.ingest_manifest),
        read_json(catalog.ground_truth_dir() / "dirt.json"),
    )


def test_manifest_reconciles(sample_bank):
    catalog, manifest, truth = sample_bank
    assert manifest["reconciled"]
    for export, facts in truth["tables"].items():
        t = manifest["tables"][TABLE_OF.get(export, export)]
        assert t["rows_read"] == facts["rows_written"]
        assert t["rows_read"] == t["accepted"] + t["rejected"] + t["duplicates_dropped"]
    by_file = {f["file"]: f for f in manifest["files"]}
    for file in truth["files"]:
        assert by_file[file]["line_numbers"] == "exact"


def test_rejects_by_kind_equal_the_injected_dirt(sample_bank):
    catalog, manifest, truth = sample_bank
    customer_rejects = pd.read_parquet(catalog.rejects_dir / "customers.parquet")
    rejected_customers = {
        json.loads(raw)["customer_id"]
        for raw, status in zip(customer_rejects["raw"], customer_rejects["reason"], strict=True)
        if status != "exact_duplicate"
    }
    for export, facts in truth["tables"].items():
        table = TABLE_OF.get(export, export)
        rejects = pd.read_parquet(catalog.rejects_dir / f"{table}.parquet")
        kinds = facts["kinds"]
        # rows of a customer whose own row was rejected: that customer's, and only those
        cascaded = rejects[rejects["reason"] == "customer_rejected"]
        assert cascaded["value"].isin(rejected_customers).all(), table
        assert (
            not rejects.loc[rejects["reason"] == "unknown_customer", "value"]
            .isin(rejected_customers)
            .any()
        ), table
        for kind, reasons in KIND_REASONS.items():
            if kind not in kinds:
                continue
            got = int(rejects["reason"].isin(reasons).sum())
            assert got == kinds[kind], (table, kind)
        # exact copies among the cascaded rows were duplicates the generator injected
        cascaded_copies = len(cascaded) - cascaded["raw"].nunique()
        t = manifest["tables"][table]
        assert t["duplicates_dropped"] + cascaded_copies == kinds["duplicate"], table
        other = set(t["rejected_by_reason"]) - set().union(*KIND_REASONS.values(), CASCADE)
        assert other == set(), (table, other)


def test_canonical_tables_are_typed_and_sorted(sample_bank):
    catalog, manifest, _ = sample_bank
    txns = pd.read_parquet(catalog.interim_table("transactions"))
    assert str(txns["txn_time"].dtype) == "datetime64[us]"
    assert txns["amount"].gt(0).all() and txns["txn_id"].is_unique
    keys = list(zip(txns["customer_id"], txns["txn_time"], txns["txn_id"], strict=True))
    assert keys == sorted(keys)
    customers = pd.read_parquet(catalog.interim_table("customers"))
    assert not {"name", "national_id", "phone"} & set(customers.columns)
    assert len(customers) == manifest["tables"]["customers"]["accepted"]


def test_canonical_tables_keep_statistics_where_scans_skip_row_groups(sample_bank):
    """Dates, times and numbers carry min/max (a snapshot read skips other months' row
    groups); text does not (no query filters a row group away by a text range)."""
    catalog, _, _ = sample_bank
    for table in ("transactions", "balances", "customers"):
        meta = pq.ParquetFile(catalog.interim_table(table)).metadata
        group = meta.row_group(0)
        for i in range(group.num_columns):
            column = group.column(i)
            text = meta.schema.column(i).logical_type.type == "STRING"
            has_range = column.statistics is not None and column.statistics.has_min_max
            assert has_range != text, (table, column.path_in_schema)


def test_a_bank_too_small_for_a_questionnaire_answer_still_ingests(tmp_path):
    """Twenty customers answer no questionnaire in a year: the sample writes the customer
    survey's header alone, and its own source takes an empty survey (allow_empty) where
    ingest refused the file."""
    root = tmp_path / "data"
    args = ["--data-dir", str(root), "--report-dir", str(tmp_path / "reports")]
    small = ["sample", "--customers", "20", "--branches", "2", "--months", "12"]
    assert CliRunner().invoke(cli, [*args, *small]).exit_code == 0
    done = CliRunner().invoke(cli, [*args, "ingest"])
    assert done.exit_code == 0, done.output
    tables = read_json(Catalog(root, tmp_path / "reports").ingest_manifest)["tables"]
    assert tables["survey_responses"]["rows_read"] == 0
    assert tables["customers"]["rows_read"] == 20
