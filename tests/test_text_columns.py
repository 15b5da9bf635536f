"""Whole-column text helpers (flags lists, HTML escaping) against their per-value oracles."""

import html

import numpy as np
import pandas as pd
from hypothesis import given, settings
from hypothesis import strategies as st

from stsdetect._html import escape
from stsdetect.events import list_text, text_lists

_items = st.text(alphabet=st.characters(blacklist_categories=("Cs",)), max_size=6)
_value = st.one_of(
    st.lists(_items, max_size=4),
    st.lists(_items, max_size=4).map(tuple),
    st.lists(_items, max_size=4).map(lambda v: np.array(v, dtype=object)),
    _items,
    st.none(),
    st.just(np.nan),
)


def _oracle(value, sep):
    if isinstance(value, (list, tuple, np.ndarray)):
        return sep.join(value)
    if value is None or (isinstance(value, float) and np.isnan(value)):
        return ""
    return value


@settings(max_examples=150, deadline=None)
@given(st.lists(_value, max_size=12), st.sampled_from([";", " ", ", "]))
def test_list_text_joins_each_list_like_the_per_value_route(values, sep):
    column = pd.Series(values, dtype=object, index=np.arange(len(values)) * 3)
    got = list_text(column, sep)
    assert got.index.equals(column.index)
    assert got.tolist() == [_oracle(v, sep) for v in values]


def test_list_text_keeps_a_plain_string_whole():
    # ";".join("ab") would be "a;b": a flags value already written as text stays as it is.
    assert list_text(pd.Series(["rendezvous;dprk", ["a", "b"]], dtype=object)).tolist() == [
        "rendezvous;dprk", "a;b"]


@settings(max_examples=150, deadline=None)
@given(st.lists(st.one_of(_items, st.none()), max_size=12))
def test_escape_is_html_escape_of_each_value(values):
    got = escape(pd.Series(values, dtype=object)).tolist()
    assert got == ["" if v is None else html.escape(v) for v in values]


_flag = st.text(alphabet=st.characters(blacklist_categories=("Cs",), blacklist_characters=";"),
                min_size=1, max_size=6)


@settings(max_examples=150, deadline=None)
@given(st.lists(st.lists(_flag, max_size=4), max_size=12))
def test_text_lists_reads_back_what_list_text_wrote(flags):
    column = pd.Series(flags, dtype=object)
    back = text_lists(list_text(column))
    assert [list(v) for v in back] == flags
    assert all(type(v) is list for v in back)


def test_text_lists_of_arrays_missing_and_empty_text():
    got = text_lists(pd.Series([np.array(["a", "b"], dtype=object), None, np.nan, "", "c;d"],
                               dtype=object))
    assert [list(v) for v in got] == [["a", "b"], [], [], [], ["c", "d"]]
    got[1].append("x")  # each value is a list of its own
    assert got[2] == []
