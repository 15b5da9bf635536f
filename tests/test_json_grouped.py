"""_json.grouped_arrays and json_arrays (each group's JSON texts as one array, all groups
joined and split at once) against the group-by-group pandas route they replace."""

from __future__ import annotations

import numpy as np
import pandas as pd
from _json_strategies import TEXT
from hypothesis import given, settings
from hypothesis import strategies as st

from stsdetect._json import grouped_arrays, json_arrays


def _arrays_oracle(texts, keys, single_bare):
    """The old route: a list per key (groupby), then one join per key."""
    agg = pd.Series(texts, dtype=object).groupby(np.asarray(keys)).agg(list)
    return agg.index.to_numpy(), [
        t[0] if single_bare and len(t) == 1 else "[" + ", ".join(t) + "]" for t in agg]


@settings(max_examples=150, deadline=None)
@given(st.lists(st.tuples(st.integers(-3, 3), TEXT), max_size=12), st.booleans())
def test_grouped_arrays_equal_the_groupby_route(rows, single_bare):
    keys = np.array([k for k, _ in rows], dtype=np.int64)
    texts = [t for _, t in rows]  # any text, the separator U+FFFF too
    got_keys, got = grouped_arrays(np.array(texts, dtype=object), keys, single_bare)
    want_keys, want = _arrays_oracle(texts, keys, single_bare)
    assert got_keys.tolist() == want_keys.tolist()
    assert got.dtype == object and got.tolist() == want
    series = pd.Series(texts, dtype=object, name="why")
    want_series = ("[" + series.groupby(keys).agg(", ".join) + "]").astype(object)
    pd.testing.assert_series_equal(json_arrays(series, keys), want_series)


def test_single_rows_bare_and_several_as_arrays():
    keys, texts = grouped_arrays(np.array(['{"a": 1}', '{"b": 2}', '{"c": 3}'], dtype=object),
                                 np.array([7, 3, 7]), single_bare=True)
    assert keys.tolist() == [3, 7]
    assert texts.tolist() == ['{"b": 2}', '[{"a": 1}, {"c": 3}]']
