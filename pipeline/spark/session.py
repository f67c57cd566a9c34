"""The SparkSession the pipeline runs on, built from the config's `spark:` section.

- spark.master null: the master spark-submit gave (its --master or spark-defaults.conf)
  when it started this process, else local[2];
  a value (local[4], spark://host:7077, yarn, k8s://https://...) is used as is.
- spark.shuffle_partitions: spark.sql.shuffle.partitions (per-customer aggregates are
  one shuffle each; a few partitions per executor core is right).
- spark.conf: any other Spark setting (spark.executor.memory: 8g, ...), applied last.

Always set, because the SQL depends on them: the session time zone is UTC and timestamp
literals are TIMESTAMP_NTZ, so the interim Parquet's naive timestamps compare as
DuckDB compares them, whatever the cluster's local zone. The UI and console progress
bars are off unless spark.conf turns them on.
"""

from __future__ import annotations

import contextlib
import os
import sys
import warnings
from typing import Any

from pipeline.errors import ConfigError

DEFAULT_MASTER = "local[2]"
# Set when spark-submit started this Python process (it then owns the JVM and master).
SUBMITTED = "PYSPARK_GATEWAY_PORT"

FIXED_CONF = {
    "spark.sql.session.timeZone": "UTC",
    "spark.sql.timestampType": "TIMESTAMP_NTZ",
}
QUIET_CONF = {
    "spark.ui.enabled": "false",
    "spark.ui.showConsoleProgress": "false",
}


def session_conf(spark_cfg: dict[str, Any]) -> dict[str, str]:
    """Every Spark setting the pipeline applies, in order (later wins)."""
    conf = dict(QUIET_CONF)
    conf["spark.sql.shuffle.partitions"] = str(spark_cfg["shuffle_partitions"])
    for key, value in spark_cfg["conf"].items():
        if key in FIXED_CONF:
            raise ConfigError(
                f"spark.conf.{key}: the pipeline's SQL needs {FIXED_CONF[key]!r}; do not set it"
            )
        conf[str(key)] = str(value).lower() if isinstance(value, bool) else str(value)
    conf.update(FIXED_CONF)
    return conf


def spark_session(cfg: dict[str, Any]):
    """getOrCreate a SparkSession for the config (a running one is reused and reconfigured
    with the runtime-settable SQL options)."""
    try:
        from pyspark.sql import SparkSession
    except ImportError:
        raise ConfigError(
            "engine: spark needs PySpark: pip install '.[spark]' (and Java 17 or later)"
        ) from None
    s = cfg["spark"]
    if s["shuffle_partitions"] < 1:
        raise ConfigError(
            f"spark.shuffle_partitions: must be at least 1, got {s['shuffle_partitions']}"
        )
    _quiet_pandas_notice()
    builder = SparkSession.builder.appName(s["app_name"])
    master = s["master"]
    if master:
        builder = builder.master(master)
    elif SUBMITTED in os.environ:  # under spark-submit: its --master, in its JVM's conf
        master = ""
    else:
        master = DEFAULT_MASTER
        builder = builder.master(master)
    conf = session_conf(s)
    if master.startswith("local"):
        # Local workers run this interpreter (the one with the pipeline installed), not
        # whatever `python3` is first on PATH; PySpark reads only the environment for it.
        os.environ.setdefault("PYSPARK_PYTHON", sys.executable)
    for key, value in conf.items():
        builder = builder.config(key, value)
    spark = builder.getOrCreate()
    spark.sparkContext.setLogLevel(s["log_level"])
    for key, value in conf.items():
        if key.startswith("spark.sql."):
            spark.conf.set(key, value)
    return spark


PANDAS_NOTICE = "PySpark does not yet fully support pandas"


@contextlib.contextmanager
def without_pandas_notice():
    """Silence PySpark 4's notice that pandas 3 is not fully supported, raised when its
    type converters first import its test helpers and whenever mapInArrow builds its
    UDF. The pipeline never hands Spark a pandas frame (Arrow tables both ways), so the
    notice does not apply; other warnings pass."""
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", PANDAS_NOTICE, FutureWarning)
        yield


def _quiet_pandas_notice() -> None:
    with without_pandas_notice():
        try:
            import pyspark.testing.utils  # noqa: F401
        except ImportError:  # a PySpark without the module has no notice either
            pass
