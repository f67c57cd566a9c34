"""CLV predictions per partition: the model is fitted on the driver, applied on executors.

The fit needs only the weighted unique (frequency, recency, T) rows, which are few, so
it runs on the driver (pipeline.scoring.clv.fit_models). What grows with customers is
applying it: here each partition of the BTYD summary is scored on an executor from the
fitted parameters alone (the lifetimes fitters are rebuilt there by
pipeline.btyd.*_from_params, so no fitted object or training data is shipped). Each
prediction depends only on its own customer's row and the parameters; the one
population-wide number (the mean value per repeat event used without Gamma-Gamma) is
computed on the driver and passed in. So the values equal the in-process
`predict_clv`'s, and so does the row order (rows carry their position).
Data moves as Arrow both ways (mapInArrow): PySpark's pandas conversions are not used.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd
import pyarrow as pa

from pipeline import btyd
from pipeline.scoring.clv import clv_predictions, require_finite
from pipeline.spark.session import without_pandas_notice

SUMMARY_COLUMNS = ("customer_id", "frequency", "recency", "T", "monetary_value")
PREDICTION_COLUMNS = ("p_alive", "expected_transactions", "expected_value_per_event", "clv")
_ROW = "_row"


def _schema() -> str:
    doubles = [c for c in (*SUMMARY_COLUMNS[1:], *PREDICTION_COLUMNS)]
    return ", ".join(["customer_id string", *(f"`{c}` double" for c in doubles), f"{_ROW} long"])


def partition_predictor(
    model: str,
    params: dict[str, float],
    gg_params: dict[str, float] | None,
    cfg: dict[str, Any],
    population_value: float | None,
):
    """The function each executor runs over its partition's Arrow batches."""
    clv_cfg = {"clv": dict(cfg["clv"])}  # only plain values travel with the closure

    def predict(batches):
        fitted = btyd.transactions_model_from_params(model, params)
        gg = None if gg_params is None else btyd.gamma_gamma_from_params(gg_params)
        for batch in batches:
            part = batch.to_pandas()
            if part.empty:
                continue
            out = clv_predictions(
                part[list(SUMMARY_COLUMNS)], fitted, gg, clv_cfg, population_value
            )
            out[_ROW] = part[_ROW].to_numpy()
            yield pa.RecordBatch.from_pandas(out, preserve_index=False)

    return predict


def predict_clv_partitioned(
    spark,
    summary: pd.DataFrame,
    fitted: btyd.FittedBtyd,
    gg: btyd.FittedGammaGamma | None,
    cfg: dict[str, Any],
    partitions: int | None = None,
) -> pd.DataFrame:
    """predict_clv's output, computed per partition of the summary on Spark.

    `partitions` (default: Spark's default parallelism) splits the summary's rows.
    Non-finite predictions are a BtydFitError, raised on the driver as predict_clv does.
    """
    population = (
        None
        if gg is not None
        else btyd.population_value_per_event(summary["frequency"], summary["monetary_value"])
    )
    frame = summary[list(SUMMARY_COLUMNS)].copy()
    frame["customer_id"] = frame["customer_id"].astype(str)
    frame[_ROW] = np.arange(len(frame), dtype=np.int64)
    table = pa.Table.from_pandas(frame, preserve_index=False)
    n = partitions or spark.sparkContext.defaultParallelism
    source = spark.createDataFrame(table).repartition(max(1, n))
    predictor = partition_predictor(
        fitted.model,
        dict(fitted.params),
        None if gg is None else dict(gg.params),
        cfg,
        population,
    )
    with without_pandas_notice():
        mapped = source.mapInArrow(predictor, _schema())
    result = mapped.toArrow().to_pandas()
    out = result.sort_values(_ROW, kind="stable").drop(columns=_ROW).reset_index(drop=True)
    out = out.astype({"customer_id": summary["customer_id"].dtype})
    out = out[[*SUMMARY_COLUMNS, *PREDICTION_COLUMNS]]
    require_finite(out, fitted)
    return out
