"""The real Spanish bank satisfaction survey (250 customers, 27 items 0-10 in six
blocks): our definition for it, alphas against an independent computation, and a
complete analysis. Skipped where ../shared/data is absent."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from conftest import shared_data

from pipeline.config import CONFIG_DIR
from pipeline.survey import analyse_survey, load_definition
from pipeline.survey.reliability import pearson

pytestmark = pytest.mark.realdata
BLOCKS = {"image": ("imag", 5), "expectations": ("expe", 5), "quality": ("qual", 5),
          "value": ("val", 4), "satisfaction": ("sat", 4), "loyalty": ("loy", 4)}


@pytest.fixture(scope="module")
def survey():
    path = shared_data("bank_satisfaction_survey", "satisfaction_spanish_bank_250.csv")
    frame = pd.read_csv(path, index_col=0)  # first column is a row index
    definition = load_definition(CONFIG_DIR / "surveys" / "spanish_bank_satisfaction.yml")
    result = analyse_survey(frame, definition, min_group_size=10, alpha_threshold=0.7,
                            group_by=["gender"])
    return frame, definition, result


def numpy_alpha(values: np.ndarray) -> float:
    """Independent alpha: mean inter-item covariance form, k c / (v + (k - 1) c)."""
    cov = np.cov(values, rowvar=False)
    k = cov.shape[0]
    v = np.diag(cov).mean()
    c = cov[~np.eye(k, dtype=bool)].mean()
    return k * c / (v + (k - 1) * c)


def test_file_is_what_the_definition_expects(survey):
    frame, definition, _ = survey
    assert frame.shape == (250, 28)
    assert [c for c in frame.columns if c != "gender"] == definition.dimension_items
    for dim, (prefix, k) in BLOCKS.items():
        assert definition.dimensions[dim] == tuple(f"{prefix}{i}" for i in range(1, k + 1))


def test_alphas_per_block_match_an_independent_computation(survey):
    frame, _, result = survey
    rel = result.tables["reliability"].set_index("dimension")
    for dim, (prefix, k) in BLOCKS.items():
        values = frame[[f"{prefix}{i}" for i in range(1, k + 1)]].to_numpy(dtype=float)
        assert rel.loc[dim, "alpha"] == pytest.approx(numpy_alpha(values), abs=1e-9)
        assert rel.loc[dim, "n_complete"] == 250
        assert rel.loc[dim, "alpha_ci_low"] < rel.loc[dim, "alpha"] < rel.loc[dim, "alpha_ci_high"]
    # every block is an acceptable scale on this data
    assert result.summary["flagged_dimensions"] == []


def test_item_statistics_match_numpy(survey):
    frame, _, result = survey
    items = result.tables["items"].set_index("item")
    values = frame[["val1", "val2", "val3", "val4"]].to_numpy(dtype=float)
    rest = values[:, 1:].sum(axis=1)
    assert items.loc["val1", "item_total_corr"] == pytest.approx(
        np.corrcoef(values[:, 0], rest)[0, 1], abs=1e-12)
    assert items.loc["val1", "alpha_if_deleted"] == pytest.approx(numpy_alpha(values[:, 1:]),
                                                                  abs=1e-9)


def test_full_analysis_is_complete(survey):
    frame, _, result = survey
    s = result.summary
    assert s["n_responses"] == 250
    assert s["n_anonymous"] is None  # no customer_id column: anonymity does not apply
    assert s["scale_adequacy"]["status"] == "ok" and s["scale_adequacy"]["kmo"] > 0.8
    assert s["scale_adequacy"]["bartlett_df"] == 27 * 26 // 2
    # NPS from loy3 (0-10 intention to recommend), by hand
    loy3 = frame["loy3"]
    expected = 100 * ((loy3 >= 9).mean() - (loy3 <= 6).mean())
    assert s["nps"]["network"]["nps"] == pytest.approx(expected, abs=1e-9)
    assert set(s["nps"]["by_group"]["gender"]) == {"female", "male"}
    # IPA: the three drivers, importance = r(dimension score, sat1)
    ipa = result.tables["ipa"]
    net = ipa[ipa["group_type"] == "network"].set_index("dimension")
    assert list(net.index) == ["image", "quality", "value"]
    value_score = frame[["val1", "val2", "val3", "val4"]].mean(axis=1)
    assert net.loc["value", "importance"] == pytest.approx(pearson(value_score, frame["sat1"]))
    assert net.loc["value", "performance"] == pytest.approx(value_score.mean())
    assert net["quadrant"].notna().all()
    # SERVQUAL gaps: perceived quality against expectations, five pairs
    gaps = result.tables["servqual"]
    net_gaps = gaps[gaps["group_type"] == "network"].set_index("perception_item")
    assert len(net_gaps) == 5
    assert net_gaps.loc["qual3", "gap"] == pytest.approx((frame["qual3"] - frame["expe3"]).mean())
    assert s["servqual"]["status"] == "ok"
    dims = result.tables["dimensions"]
    assert len(dims) == (1 + 2) * (6 + 1)  # network + 2 genders, 6 dimensions + sat1
    assert s["suppressed"] == []
    assert result.tables["linkage"].empty  # no customer ids to link: nothing invented
