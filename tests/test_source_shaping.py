"""Source configs beyond renaming (pipeline.ingest.shaping, expressions): computed and
constant columns, rows excluded by rule, line items aggregated into one transaction per
invoice and customer, customers derived from the transactions, balances absent -- on a
hand-made line-item export whose every number is worked out here. And the expressions'
checks: errors name the config key and the expression."""

from __future__ import annotations

import datetime as dt
import shutil
from pathlib import Path

import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from pipeline.catalog import Catalog
from pipeline.config import load_config
from pipeline.errors import ConfigError, InputError
from pipeline.ingest import expressions
from pipeline.ingest.source import load_source
from pipeline.ingest.stage import run_ingest
from pipeline.io import read_json

# line 1 is the header; data lines 2-10
SALES = """Invoice,Customer,When,Qty,Price,Shop,Email
1001,C1,2026-09-03 10:00:00,2,5.00,North,a@x.cn
1001,C1,2026-09-03 10:00:00,1,3.50,North,a@x.cn
1002,C2,2026-09-05 12:30:00,1,10.00,South,b@x.cn
C1003,C1,2026-09-06 09:00:00,1,5.00,North,a@x.cn
1004,,2026-09-07 09:00:00,1,5.00,North,
1005,C2,2026-10-01 08:00:00,abc,2.00,South,b@x.cn
1006,C3,2026-10-02 08:00:00,3,1.00,North,c@x.cn
1006,C3,2026-10-02 07:59:00,1,1.00,North,c@x.cn
1007,C1,2026-10-03 11:00:00,0,4.00,North,a@x.cn
"""
CONFIG = """
name: shop
raw_dir: shop
currency: EUR
customer_initiated_txn_types: [card_purchase]
pii:
  drop: [Email]
tables:
  customers:
    derive_from: transactions
    columns:
      branch_id: Shop
  transactions:
    files: sales.csv
    exclude:
      cancellation: "Invoice LIKE 'C%'"
      no_customer: "Customer IS NULL"
      not_a_sale: "CAST(Qty AS DOUBLE) <= 0"
    columns:
      txn_id: Invoice
      customer_id: Customer
      txn_time: When
      amount: {expr: "CAST(Qty AS DOUBLE) * CAST(Price AS DOUBLE)"}
      direction: {value: debit}
      channel: {value: pos}
      txn_type: {value: card_purchase}
    aggregate: {by: [txn_id, customer_id], sum: [amount], min: [txn_time]}
"""


def shop(root: Path, config: str = CONFIG, sales: str = SALES) -> tuple[dict, Catalog]:
    (root / "raw" / "shop").mkdir(parents=True)
    (root / "raw" / "shop" / "sales.csv").write_text(sales, encoding="utf-8")
    path = root / "shop.yml"
    path.write_text(config, encoding="utf-8")
    cfg = load_config(data_dir=root, overrides={"source": str(path), "ingest.max_reject_rate": 0.5})
    return cfg, Catalog.from_config(cfg)


@pytest.fixture(scope="module")
def ingested(tmp_path_factory):
    root = tmp_path_factory.mktemp("shop") / "data"
    root.mkdir()
    cfg, catalog = shop(root)
    said = run_ingest(cfg, catalog)
    return cfg, catalog, said


def test_line_items_become_one_transaction_per_invoice_and_customer(ingested):
    _, catalog, _ = ingested
    txns = pd.read_parquet(catalog.interim_table("transactions")).set_index("txn_id")
    assert txns.index.tolist() == ["1001", "1002", "1006"]
    assert txns["amount"].tolist() == [2 * 5.0 + 1 * 3.5, 10.0, 3 * 1.0 + 1 * 1.0]
    # an invoice's time is its first line's (1006's second line is a minute earlier)
    assert txns.loc["1006", "txn_time"] == pd.Timestamp("2026-10-02 07:59:00")
    assert txns["customer_id"].tolist() == ["C1", "C2", "C3"]
    assert set(txns["direction"]) == {"debit"} and set(txns["channel"]) == {"pos"}
    assert txns["customer_initiated"].all()


def test_every_line_is_accounted_for(ingested):
    _, catalog, said = ingested
    manifest = read_json(catalog.ingest_manifest)
    assert manifest["reconciled"] is True
    t = manifest["tables"]["transactions"]
    assert t["lines_read"] == 9
    assert t["lines_excluded"] == {"cancellation": 1, "no_customer": 1, "not_a_sale": 1}
    # 1001's and 1006's second lines merge into their first: 2 lines
    assert t["lines_merged"] == 2
    # 9 = 3 transactions + 1 rejected line + 3 excluded + 2 merged
    assert (t["rows_read"], t["accepted"], t["rejected"]) == (4, 3, 1)
    assert "9 lines read, 1 excluded (cancellation), 1 excluded (no_customer)" in said
    # the line whose quantity does not parse is rejected with its line, not hidden:
    # NULL in an exclusion rule excludes nothing
    rejects = pd.read_parquet(catalog.rejects_dir / "transactions.parquet")
    assert rejects[["source_file", "line_number", "column", "reason", "value"]].values.tolist() == [
        ["sales.csv", 7, "amount", "unparseable_number", "Qty=abc; Price=2.00"]
    ]
    assert "@" not in rejects["raw"].iloc[0]  # the PII column is never read


def test_customers_derived_from_transactions_first_seen(ingested):
    _, catalog, _ = ingested
    customers = pd.read_parquet(catalog.interim_table("customers")).set_index("customer_id")
    assert customers.index.tolist() == ["C1", "C2", "C3"]
    assert customers["branch_id"].tolist() == ["North", "South", "North"]
    # first seen on a kept line: C1's cancelled and zero-quantity lines do not count
    assert customers["open_date"].tolist() == [
        dt.date(2026, 9, 3),
        dt.date(2026, 9, 5),
        dt.date(2026, 10, 2),
    ]
    assert "Email" not in customers.columns


def test_a_source_without_balances_gets_an_empty_balances_table(ingested):
    _, catalog, _ = ingested
    balances = pd.read_parquet(catalog.interim_table("balances"))
    assert len(balances) == 0
    assert list(balances.columns) == ["customer_id", "month_end", "product", "balance"]
    manifest = read_json(catalog.ingest_manifest)
    assert "balances" in manifest["not_in_source"] and manifest["currency"] == "EUR"


def test_an_unchanged_rerun_is_skipped_and_a_changed_rule_is_not(ingested, tmp_path):
    cfg, catalog, _ = ingested
    assert "0 file(s) parsed, 1 reused" in run_ingest(cfg, catalog)
    root = tmp_path / "data"
    shutil.copytree(catalog.data_dir, root, symlinks=True)
    changed = CONFIG.replace("""      not_a_sale: "CAST(Qty AS DOUBLE) <= 0"\n""", "")
    (root / "shop.yml").write_text(changed, encoding="utf-8")
    cfg2 = load_config(
        data_dir=root, overrides={"source": str(root / "shop.yml"), "ingest.max_reject_rate": 0.5}
    )
    said = run_ingest(cfg2, Catalog.from_config(cfg2))
    assert "1 file(s) parsed" in said  # the part holds the rules' marks: parsed again
    t = read_json(Catalog.from_config(cfg2).ingest_manifest)["tables"]["transactions"]
    assert t["lines_excluded"] == {"cancellation": 1, "no_customer": 1}
    # 1007 (quantity 0) is no longer left out: a transaction of amount 0, rejected
    assert (t["accepted"], t["rejected_by_reason"]) == (
        3,
        {"amount_not_positive": 1, "unparseable_number": 1},
    )


def bad(config_change: tuple[str, str], tmp_path: Path, match: str, error=ConfigError):
    cfg, catalog = shop(tmp_path / "data", CONFIG.replace(*config_change))
    with pytest.raises(error, match=match):
        load_source(cfg["source"])
        run_ingest(cfg, catalog)


@pytest.mark.parametrize(
    "change,match",
    [
        (
            ('"CAST(Qty AS DOUBLE) * CAST(Price AS DOUBLE)"', '"CAST(Qty AS DOUBLE) *"'),
            r"tables.transactions.columns.amount.expr: 'CAST\(Qty AS DOUBLE\) \*': not a valid "
            "SQL expression: syntax error",
        ),
        (
            ('"CAST(Qty AS DOUBLE) * CAST(Price AS DOUBLE)"', '"(SELECT max(Qty) FROM sales)"'),
            r"tables.transactions.columns.amount.expr: '\(SELECT max\(Qty\) FROM sales\)': "
            "no subqueries",
        ),
        (
            ('"CAST(Qty AS DOUBLE) * CAST(Price AS DOUBLE)"', "\"read_csv('x.csv')\""),
            r"columns.amount.expr: \"read_csv\('x.csv'\)\": function read_csv\(\) is not allowed",
        ),
        (
            ('"CAST(Qty AS DOUBLE) * CAST(Price AS DOUBLE)"', '"sum(CAST(Qty AS DOUBLE))"'),
            r"function sum\(\) is not allowed .* no aggregates or windows",
        ),
        (
            ('"Customer IS NULL"', '"Email IS NULL"'),
            r"tables.transactions.exclude.no_customer: 'Email IS NULL' reads 'Email', a PII "
            "column",
        ),
        (
            ("{by: [txn_id, customer_id]", "{by: [customer_id]"),
            r"tables.transactions.aggregate.by: must hold the table's key \['txn_id'\]",
        ),
        (
            ("      branch_id: Shop", "      open_date: When"),
            r"tables.customers.columns.branch_id: required for a derived customers table",
        ),
        (
            ("{value: pos}", "{value: null}"),
            r"tables.transactions.columns.channel.value: expected a text or number",
        ),
    ],
)
def test_config_errors_name_the_key_and_the_expression(tmp_path, change, match):
    bad(change, tmp_path, match)


def test_a_reference_to_a_column_the_file_lacks_names_file_key_and_column(tmp_path):
    change = ('"CAST(Qty AS DOUBLE) * CAST(Price AS DOUBLE)"', '"CAST(Quantity AS DOUBLE)"')
    bad(
        change,
        tmp_path,
        r"sales.csv: tables.transactions.columns.amount.expr 'CAST\(Quantity AS DOUBLE\)': "
        r"column 'Quantity' is not in the file; its columns are: Invoice, Customer, When",
        InputError,
    )


@pytest.mark.parametrize(
    "text,columns,duckdb_sql",
    [
        ("CAST(Qty AS DOUBLE) * 2", ("Qty",), '(TRY_CAST("Qty" AS DOUBLE) * 2)'),
        ('"Customer ID" IS NULL', ("Customer ID",), '("Customer ID" IS NULL)'),
        (
            "CASE WHEN Country = 'United Kingdom' THEN 'UK' ELSE 'other' END",
            ("Country",),
            "(CASE WHEN (\"Country\" = 'United Kingdom') THEN 'UK' ELSE 'other' END)",
        ),
        ("coalesce(a, b) || '-x'", ("a", "b"), '(coalesce("a", "b") || \'-x\')'),
        (
            "x NOT LIKE 'C%' AND y IN (1, 2)",
            ("x", "y"),
            '(("x" NOT LIKE \'C%\') AND ("y" IN (1, 2)))',
        ),
    ],
)
def test_expressions_are_parsed_checked_and_written_back(text, columns, duckdb_sql):
    e = expressions.parse(text, "k", "w")
    assert e.columns == columns
    assert e.to_sql(expressions.quote) == duckdb_sql


SPARK_CASES = [
    ("CAST(q AS DOUBLE) * CAST(p AS DOUBLE)", {"q": "3", "p": "2.5"}),
    ("CAST(q AS DOUBLE) * CAST(p AS DOUBLE)", {"q": "x", "p": "2.5"}),  # TRY_CAST: NULL
    ("CASE WHEN c = 'United Kingdom' THEN 'UK' ELSE 'other' END", {"c": "France"}),
    ("upper(trim(c)) || '/' || substr(c, 1, 3)", {"c": " ab cd "}),
    ("round(CAST(p AS DOUBLE) / 3, 2)", {"p": "10"}),
    ("coalesce(nullif(c, ''), 'none')", {"c": ""}),
    ("c LIKE 'C%' OR CAST(q AS INTEGER) BETWEEN 1 AND 5", {"c": "X1", "q": "4"}),
    ("greatest(CAST(q AS BIGINT), 3) % 4", {"q": "9"}),
]


def test_expressions_evaluate_alike_on_duckdb_and_spark():
    """What ingest runs on DuckDB is SQL Spark evaluates the same way (where the engine is
    Spark, Spark SQL gets the same expression written in its dialect)."""
    pytest.importorskip("pyspark")
    if shutil.which("java") is None:
        pytest.skip("Spark needs Java")
    import duckdb

    from pipeline.spark.session import spark_session

    spark = spark_session(dict(load_config(), engine="spark"))  # the project's own session
    con = duckdb.connect()  # its own: the module's default connection may hold a result
    try:
        compare_on_spark(spark, con)
    finally:
        con.close()
        spark.stop()


def compare_on_spark(spark, duck_con) -> None:
    for text, row in SPARK_CASES:
        e = expressions.parse(text, "k", "w")
        names = sorted(row)
        values = ", ".join("'" + row[n].replace("'", "''") + "'" for n in names)
        duck = duck_con.sql(
            f"SELECT {e.to_sql(expressions.quote)} FROM (SELECT {values}) t({', '.join(names)})"
        ).fetchall()[0][0]
        frame = spark.createDataFrame([tuple(row[n] for n in names)], names)
        frame.createOrReplaceTempView("t")
        got = spark.sql(
            f"SELECT {e.to_sql(lambda c: expressions.quote(c, 'spark'), 'spark')} FROM t"
        ).collect()[0][0]
        assert got == duck, text


def test_shaping_a_table_an_adapter_builds_is_refused(tmp_path):
    source = (Path(__file__).resolve().parents[1] / "configs" / "sources" / "berka.yml").read_text()
    path = tmp_path / "berka.yml"
    path.write_text(
        source.replace("  balances: {}", '  balances:\n    exclude: {overdrawn: "x < 0"}'),
        encoding="utf-8",
    )
    with pytest.raises(ConfigError, match="tables.balances: the adapter .* builds this table"):
        load_source(str(path))


_line_item = st.tuples(
    st.sampled_from(["1001", "1002", "1003", "C1004"]),  # C: a cancellation
    st.sampled_from(["A", "B", "C", ""]),  # "": no customer
    st.integers(min_value=1, max_value=28),  # day of September
    st.integers(min_value=-1, max_value=4),  # quantity
    st.sampled_from(["0.50", "2.00", "3.25"]),
)


@settings(
    max_examples=12, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(lines=st.lists(_line_item, min_size=1, max_size=25))
def test_aggregation_is_a_groupby_of_the_kept_lines(tmp_path_factory, lines):
    """Any line items: the transactions are the kept lines summed per (invoice, customer)
    -- an invoice with two customers is two rows sharing a txn_id, both rejected as a
    conflicting key -- and every line is accounted for."""
    root = tmp_path_factory.mktemp("groupby") / "data"
    rows = [
        f"{inv},{cust},2026-09-{day:02d} 10:00:00,{qty},{price},North,x@y.cn"
        for inv, cust, day, qty, price in lines
    ]
    cfg, catalog = shop(
        root, sales="Invoice,Customer,When,Qty,Price,Shop,Email\n" + "\n".join(rows) + "\n"
    )
    cfg["ingest"]["max_reject_rate"] = 1.0
    frame = pd.DataFrame(lines, columns=["inv", "cust", "day", "qty", "price"])
    kept = frame[~frame["inv"].str.startswith("C") & (frame["cust"] != "") & (frame["qty"] > 0)]
    if kept.empty:
        with pytest.raises(InputError):
            run_ingest(cfg, catalog)  # no transaction at all: no as-of date to derive
        return
    run_ingest(cfg, catalog)
    kept = kept.assign(amount=kept["qty"] * kept["price"].astype(float))
    groups = kept.groupby(["inv", "cust"]).agg(amount=("amount", "sum"), day=("day", "min"))
    groups = groups.reset_index()
    shared = groups["inv"].duplicated(keep=False)  # two customers on one invoice
    expected = groups[~shared].set_index("inv")
    txns = pd.read_parquet(catalog.interim_table("transactions")).set_index("txn_id")
    assert sorted(txns.index) == sorted(expected.index)
    for inv, row in expected.iterrows():
        assert txns.loc[inv, "customer_id"] == row["cust"]
        assert txns.loc[inv, "amount"] == pytest.approx(row["amount"], rel=1e-12)
        assert txns.loc[inv, "txn_time"].day == row["day"]
    t = read_json(catalog.ingest_manifest)["tables"]["transactions"]
    assert t["lines_read"] == len(lines)
    assert t["lines_merged"] == len(kept) - len(groups)
    assert t["rejected"] == int(shared.sum())
    assert read_json(catalog.ingest_manifest)["reconciled"] is True
