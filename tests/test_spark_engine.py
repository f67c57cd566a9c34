"""engine: spark gives the DuckDB engine's results, in Spark local mode on a sample bank.

Everything is compared exactly (floats too): both engines sum money as exact decimals
and convert to double the same way, and the per-partition CLV predictions apply the same
elementwise formulas to the same rows, so there is no summation-order slack to allow.
Skipped cleanly without PySpark or Java. One Spark session serves the whole module.
"""

from __future__ import annotations

import datetime as dt
import json
import shutil
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import pytest
from click.testing import CliRunner

pytest.importorskip("pyspark", reason="engine: spark needs PySpark (pip install '.[spark]')")
if shutil.which("java") is None:
    pytest.skip("engine: spark needs Java 17+ on PATH", allow_module_level=True)

from scoring_support import clv_settings  # noqa: E402

from pipeline import btyd  # noqa: E402
from pipeline.catalog import Catalog  # noqa: E402
from pipeline.cli import cli  # noqa: E402
from pipeline.config import load_config  # noqa: E402
from pipeline.dialect import DUCKDB, SPARK  # noqa: E402
from pipeline.engine import connect  # noqa: E402
from pipeline.errors import ConfigError, InputError  # noqa: E402
from pipeline.features import FeatureSettings, customer_features  # noqa: E402
from pipeline.scoring.clv import fit_models, predict_clv  # noqa: E402
from pipeline.scoring.summary import btyd_summaries, btyd_summary  # noqa: E402
from pipeline.spark.engine import SparkEngine, connect_spark  # noqa: E402
from pipeline.spark.session import session_conf, spark_session  # noqa: E402

PERIOD = "2026-10"
AS_OF = dt.date(2026, 10, 31)


@pytest.fixture(scope="module")
def bank(tmp_path_factory) -> Path:
    """A small generated bank (1,500 customers, 24 months, dirt on), ingested."""
    root = tmp_path_factory.mktemp("spark_bank") / "data"
    args = ["--data-dir", str(root), "--report-dir", str(root.parent / "reports")]
    runner = CliRunner()
    sample = ["sample", "--customers", "1500", "--branches", "2", "--months", "24"]
    for step in ([*sample, "--end-month", PERIOD], ["ingest"]):
        done = runner.invoke(cli, [*args, *step])
        assert done.exit_code == 0, (step, done.output)
    return root


@pytest.fixture(scope="module")
def cfg(bank: Path) -> dict:
    c = load_config(data_dir=bank)
    c["spark"] = dict(c["spark"], shuffle_partitions=2)
    return c


@pytest.fixture(scope="module")
def spark(cfg):
    session = spark_session(dict(cfg, engine="spark"))
    yield session
    session.stop()


@pytest.fixture(scope="module")
def engines(cfg, spark, bank):
    """(DuckDB engine, Spark engine) over the same interim Parquet."""
    catalog = Catalog.from_config(cfg)
    duck = connect(catalog.interim_dir)
    sc = connect_spark(spark, str(catalog.interim_dir))
    yield duck, sc
    duck.close()
    sc.close()


def test_session_is_local_quiet_and_utc(spark):
    conf = spark.sparkContext.getConf()
    assert spark.sparkContext.master == "local[2]"
    assert conf.get("spark.ui.enabled") == "false"
    assert spark.conf.get("spark.sql.shuffle.partitions") == "2"
    assert spark.conf.get("spark.sql.session.timeZone") == "UTC"


def test_session_conf_applies_extras_and_guards_what_the_sql_needs():
    base = {"shuffle_partitions": 3, "conf": {"spark.executor.memory": "8g", "a.flag": True}}
    conf = session_conf(base)
    assert conf["spark.sql.shuffle.partitions"] == "3"
    assert conf["spark.executor.memory"] == "8g"
    assert conf["a.flag"] == "true"
    assert conf["spark.sql.timestampType"] == "TIMESTAMP_NTZ"
    with pytest.raises(ConfigError, match="spark.conf.spark.sql.session.timeZone"):
        session_conf({"shuffle_partitions": 3, "conf": {"spark.sql.session.timeZone": "CET"}})


def test_spark_config_section_is_validated(tmp_path):
    user = tmp_path / "user.yml"
    user.write_text(
        "engine: spark\nspark:\n  master: local[1]\n  conf: {spark.driver.memory: 2g}\n"
    )
    c = load_config(user)
    assert c["spark"]["master"] == "local[1]"
    assert c["spark"]["conf"] == {"spark.driver.memory": "2g"}
    user.write_text("spark:\n  conf: {spark.driver.memory: [2g]}\n")
    with pytest.raises(ConfigError, match="spark.conf.spark.driver.memory"):
        load_config(user)


def test_dialect_date_arithmetic_equals_duckdbs(engines):
    """Spark's spelling of complete months / years and day differences gives DuckDB's
    date_sub / date_diff on month ends, leap days and reversed pairs."""
    duck, sc = engines
    rng = np.random.default_rng(3)
    base = pd.to_datetime("1996-01-01")
    days = rng.integers(0, 365 * 30, size=(3000, 2))
    edges = [
        ("2024-01-31", "2024-02-29"),
        ("2024-01-30", "2024-02-29"),
        ("2023-01-31", "2023-02-28"),
        ("2000-02-29", "2025-02-28"),
        ("2000-02-29", "2024-02-28"),
        ("2024-03-31", "2024-02-29"),
        ("2026-03-01", "2025-02-28"),
        ("2025-10-31", "2025-10-31"),
    ]
    pairs = pd.DataFrame(
        {
            "a": [
                *(base + pd.to_timedelta(days[:, 0], "D")).date,
                *(pd.Timestamp(a).date() for a, _ in edges),
            ],
            "b": [
                *(base + pd.to_timedelta(days[:, 1], "D")).date,
                *(pd.Timestamp(b).date() for _, b in edges),
            ],
        }
    )
    pairs["i"] = np.arange(len(pairs))

    def run(engine):
        d = engine.dialect
        sql = (
            f"SELECT i, CAST({d.complete_months('a', 'b')} AS INTEGER) AS m,"
            f" CAST({d.complete_years('a', 'b')} AS INTEGER) AS y,"
            f" CAST({d.days_between('a', 'b')} AS INTEGER) AS n FROM date_pairs ORDER BY i"
        )
        engine.register("date_pairs", pairs)
        try:
            out = engine.frame(sql)
        finally:
            engine.unregister("date_pairs")
        return out.astype("int64")

    assert sc.dialect is SPARK and duck.dialect is DUCKDB
    pd.testing.assert_frame_equal(run(sc), run(duck), check_exact=True)


@pytest.mark.parametrize("as_of", [AS_OF, dt.date(2026, 6, 15)])
def test_customer_features_equal_duckdbs(engines, cfg, as_of):
    duck, sc = engines
    s = FeatureSettings.from_config(cfg)
    expected = customer_features(duck, as_of, s)
    got = customer_features(sc, as_of, s)
    assert len(expected) > 1000
    pd.testing.assert_frame_equal(got, expected, check_exact=True)


def test_customer_features_equal_with_transaction_frequency(engines, cfg):
    duck, sc = engines
    c = dict(cfg, features=dict(cfg["features"], frequency_unit="transaction"))
    c["rfm"] = dict(cfg["rfm"], monetary="amount", population="branch")
    s = FeatureSettings.from_config(c)
    pd.testing.assert_frame_equal(
        customer_features(sc, AS_OF, s), customer_features(duck, AS_OF, s), check_exact=True
    )


@pytest.mark.parametrize(
    "time_unit,event_period", [("week", "week"), ("day", "day"), ("week", "day")]
)
def test_btyd_summary_and_holdout_equal_duckdbs(engines, cfg, time_unit, event_period):
    duck, sc = engines
    s = clv_settings(cfg, time_unit, event_period)
    expected = btyd_summary(duck, AS_OF, s)
    assert (expected["frequency"] > 0).sum() > 300
    pd.testing.assert_frame_equal(btyd_summary(sc, AS_OF, s), expected, check_exact=True)
    cal_end = dt.date(2026, 4, 30)
    for got, want in zip(
        btyd_summaries(sc, AS_OF, cal_end, s),
        btyd_summaries(duck, AS_OF, cal_end, s),
        strict=True,
    ):
        pd.testing.assert_frame_equal(got, want, check_exact=True)


def test_btyd_summary_with_margin_rates_equals_duckdbs(engines, cfg):
    """The value expression's `?` parameters bind the same in Spark SQL."""
    duck, sc = engines
    c = dict(cfg, clv=dict(cfg["clv"], value_source="margin_rates"))
    c["clv"]["margin_rates"] = {"card_purchase": 0.012, "transfer_out": 0.001}
    expected = btyd_summary(duck, AS_OF, clv_settings(c, "week"))
    assert (expected["monetary_value"] > 0).sum() > 100
    pd.testing.assert_frame_equal(
        btyd_summary(sc, AS_OF, clv_settings(c, "week")), expected, check_exact=True
    )


def test_numbers_equal_duckdbs(engines):
    """Money summed as exact decimals comes back as the same doubles, NULL as NaN, text as
    objects: the value model's profit by month reads its columns this way. (A rate of 4
    decimals: Spark keeps at most 6 decimals of a product of 38 digits, and DuckDB turns a
    decimal of more than 15 digits into a double in two roundings.)"""
    duck, sc = engines
    sql = """
        SELECT customer_id,
               sum(CAST(balance AS DECIMAL(38,4)) * CAST(0.0125 AS DECIMAL(12,4))) AS margin,
               max(CASE WHEN product = 'no such product' THEN 1 END) AS never
        FROM balances GROUP BY customer_id ORDER BY customer_id
    """
    expected, got = duck.numbers(sql), sc.numbers(sql)
    assert list(got) == list(expected) == ["customer_id", "margin", "never"]
    assert got["customer_id"].dtype == object and len(got["customer_id"]) > 1000
    assert got["customer_id"].tolist() == expected["customer_id"].tolist()
    assert np.array_equal(got["margin"].view(np.int64), expected["margin"].view(np.int64))
    assert got["never"].dtype == np.float64 and np.isnan(got["never"]).all()
    assert np.isnan(expected["never"]).all()


def _gamma_gamma_fitted() -> btyd.FittedGammaGamma:
    """A real Gamma-Gamma fit on values simulated from known parameters (the bank's
    revenue is too heavy-tailed for one: q <= 1)."""
    rng = np.random.default_rng(11)
    n = 800
    freq = rng.integers(1, 12, size=n).astype(float)
    nu = rng.gamma(3.0, 1.0 / 15.0, size=n)  # q=3, v=15
    means = np.array([rng.gamma(6.0, 1.0 / nu[i], size=int(f)).mean() for i, f in enumerate(freq)])
    return btyd.fit_gamma_gamma(freq, means, 0.0, 30)


@pytest.mark.parametrize("model", ["bgnbd", "pareto_nbd"])
@pytest.mark.parametrize("with_gamma_gamma", [False, True])
def test_per_partition_predictions_equal_in_process(engines, cfg, model, with_gamma_gamma):
    duck, sc = engines
    c = dict(cfg, clv=dict(cfg["clv"], model=model))
    s = clv_settings(c, "week")
    summary = btyd_summary(duck, AS_OF, s)
    fitted, gg, _ = fit_models(summary, s)
    assert gg is None  # the bank's revenue: the observed-mean fallback
    if with_gamma_gamma:
        gg = _gamma_gamma_fitted()
        summary = summary.assign(monetary_value=summary["monetary_value"].clip(lower=0) + 1.0)
    expected = predict_clv(duck, summary, fitted, gg, s)
    got = predict_clv(sc, summary, fitted, gg, s)
    pd.testing.assert_frame_equal(got, expected, check_exact=True)


def test_map_batches_spreads_over_partitions_and_keeps_the_order(engines):
    """Each partition's batch is mapped on its own; the rows come back in input order."""
    _, sc = engines
    n = 1000
    table = pa.table({"customer_id": [f"C{i:04d}" for i in range(n)][::-1], "x": np.arange(n)})
    schema = pa.schema([("customer_id", pa.string()), ("rows_in_batch", pa.int64())])

    def batch_size(batch: pa.Table) -> pa.Table:
        return pa.table(
            {
                "customer_id": batch["customer_id"],
                "rows_in_batch": [batch.num_rows] * batch.num_rows,
            }
        )

    out = sc.map_batches(batch_size, table, schema, partitions=4)
    assert out["customer_id"].to_pylist() == table["customer_id"].to_pylist()
    assert max(out["rows_in_batch"].to_pylist()) < n  # more than one batch


def test_missing_required_table_is_an_input_error(spark, tmp_path):
    with pytest.raises(InputError, match="canonical table 'customers' not found"):
        connect_spark(spark, str(tmp_path))


def test_connection_without_rm_contacts_has_no_view(spark, bank, tmp_path):
    interim = tmp_path / "interim"
    interim.mkdir()
    for name in ("customers", "transactions", "balances"):
        shutil.copy(bank / "interim" / f"{name}.parquet", interim / f"{name}.parquet")
    engine = connect_spark(spark, str(interim))
    try:
        assert isinstance(engine, SparkEngine)
        assert not engine.has_table("rm_contacts")
        assert engine.has_table("transactions")
    finally:
        engine.close()
    assert not spark.catalog.tableExists("transactions")


@pytest.mark.slow
def test_cli_features_and_score_with_engine_spark_write_duckdbs_outputs(bank, spark, tmp_path):
    """`crm features` and `crm score` with `engine: spark` write the same files, byte for byte.

    Settings that let every model fit on this small bank (weekly events: its daily ones
    leave BG/NBD no heterogeneity to fit; a churn model from 10 churners), so the models'
    outputs are compared too, and three months of history and contact windows rather
    than twelve (the same queries, fewer times: Spark pays seconds per query)."""
    runner = CliRunner()
    settings = "features:\n  history_months: 3\ncontact_effect:\n  windows: 3\n"
    settings += "clv:\n  event_period: week\nchurn:\n  min_churners: 10\n"
    outputs = {}
    for engine in ("duckdb", "spark"):
        user = tmp_path / f"{engine}.yml"
        user.write_text(f"engine: {engine}\nspark:\n  shuffle_partitions: 2\n{settings}")
        root = tmp_path / engine / "data"
        shutil.copytree(bank, root)
        args = ["--config", str(user), "--data-dir", str(root)]
        args += ["--report-dir", str(tmp_path / engine / "rep")]
        for step in (["features", "--period", PERIOD], ["score", "--period", PERIOD]):
            done = runner.invoke(cli, [*args, *step])
            assert done.exit_code == 0, (engine, step, done.output)
        outputs[engine] = root / "processed" / PERIOD
    names = sorted(p.name for p in outputs["duckdb"].iterdir())
    assert "customer_scores.parquet" in names and "model_card.json" in names
    assert sorted(p.name for p in outputs["spark"].iterdir()) == names
    for name in names:
        a, b = outputs["duckdb"] / name, outputs["spark"] / name
        assert a.read_bytes() == b.read_bytes(), name
    card = json.loads((outputs["spark"] / "model_card.json").read_text())
    assert card["clv"]["customers"] > 500
    assert (card["clv"]["status"], card["churn"]["status"]) == ("ok", "ok")  # models compared
