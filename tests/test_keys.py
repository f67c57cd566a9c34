"""pipeline.keys.is_in: which customer ids are among others, as pandas' isin says, in
one Arrow pass."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from hypothesis import given
from hypothesis import strategies as st

from pipeline.keys import is_in

IDS = st.lists(st.one_of(st.none(), st.text(max_size=4)), max_size=30)
TEXT_DTYPES = ("object", "str", "string")


@pytest.mark.parametrize("dtype", TEXT_DTYPES)
def test_hand_made_ids_among_a_set_a_list_and_a_column(dtype):
    ids = pd.Series(["C1", "C2", None, "C10"], dtype=dtype)
    assert is_in(ids, {"C10", "C2"}).tolist() == [False, True, False, True]
    assert is_in(ids, ["C1"]).tolist() == [True, False, False, False]
    assert is_in(ids, pd.Series(["C1", None], dtype=dtype)).tolist() == [True, False, True, False]
    assert is_in(ids, []).tolist() == [False] * 4
    assert is_in(ids.iloc[:0], ["C1"]).dtype == bool


@given(IDS, IDS, st.sampled_from(TEXT_DTYPES))
def test_is_in_is_pandas_isin(ids, among, dtype):
    keys = pd.Series(ids, dtype=dtype)
    expected = keys.astype(object).isin(pd.Series(among, dtype=dtype).astype(object))
    assert np.array_equal(is_in(keys, pd.Series(among, dtype=dtype)), expected.to_numpy())
    found = {a for a in among if a is not None}  # a set, as contacted_after gives
    assert np.array_equal(is_in(keys, found), keys.astype(object).isin(found).to_numpy())
