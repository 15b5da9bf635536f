"""The evidence read back column-wise (``flags._evidence_long``, ``flags.evidence_table``: one
json.loads of all events, one json.dumps of all reasons) against their per-event versions
(tests/_evidence_long_oracle.py): the same rows, tokens and reason texts byte for byte, the
same errors."""

from __future__ import annotations

import json
from unittest.mock import patch

import _evidence_long_oracle as oracle
import _json_strategies
import numpy as np
import pandas as pd
import pytest
from _json_strategies import TOKENS
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from stsdetect import flags
from stsdetect.flags import _evidence_long, add_flag, evidence_table

# keys and texts as the unseen partners' tests draw them, with the marker escaped and doubled;
# integers past 2**64
TEXT = st.one_of(_json_strategies.TEXT, st.sampled_from(["\\uffff", "\uffff\uffff"]))
SCALAR = st.one_of(_json_strategies.SCALAR, TEXT, st.integers(-2**70, 2**70))
REASON = _json_strategies.reasons(SCALAR, max_leaves=8)
# a token's reason as the flags write it: an object, or an array of objects
FLAG_REASON = st.one_of(REASON, st.dictionaries(TEXT, REASON, max_size=3),
                        st.lists(st.dictionaries(TEXT, REASON, max_size=3), max_size=3))


@st.composite
def evidence_text(draw) -> str:
    """An evidence object's JSON as the flags write it (non-ASCII raw) or as others did
    (ASCII, sorted, indented, blanks around it, a key twice)."""
    obj = draw(st.dictionaries(st.one_of(TOKENS, TEXT), FLAG_REASON, max_size=4))
    text = json.dumps(obj, ensure_ascii=draw(st.booleans()), sort_keys=draw(st.booleans()),
                      indent=draw(st.sampled_from([None, None, 1])),
                      separators=draw(st.sampled_from([None, None, (",", ":")])))
    if obj and draw(st.integers(0, 5)) == 0:  # a key twice: the last value, the first place
        key = draw(st.sampled_from(sorted(obj)))
        text = text[:-1] + ", " + json.dumps(key) + ": " + json.dumps(draw(FLAG_REASON)) + "}"
    return draw(st.sampled_from(["", " ", "\n"])) + text + draw(st.sampled_from(["", " \t"]))


# what an event's evidence holds besides an object's text: none (None, NaN, pd.NA), empty,
# not a str (ignored as before)
NOT_TEXT = st.sampled_from([None, np.nan, pd.NA, "", 3.5, {"zz": 1}])


@st.composite
def events_with_evidence(draw, bad=False):
    n = draw(st.integers(0, 9))
    evidence = [draw(st.one_of(evidence_text(), evidence_text(), NOT_TEXT)) for _ in range(n)]
    if bad and n:  # text that is not JSON, or JSON but not an object
        at = draw(st.integers(0, n - 1))
        evidence[at] = draw(st.sampled_from([
            "{", '{"a": 1', '{"a": 1}}', "{} {}", "{}, {}", '{"a": 1}, "\uffff", {}', "nope",
            "[1]", "null", '"text"', "3", " ", "{'a': 1}", "]", '{"a": 1}]', '[{"a": 1}']))
        if draw(st.booleans()) and at + 1 < n:  # texts that are JSON only together
            evidence[at], evidence[at + 1] = '{"a": [1', '2]}'
        if draw(st.booleans()) and at + 2 < n:  # and a JSON error after an object error
            evidence[at], evidence[at + 2] = "[1]", draw(st.sampled_from(["{", "nope", "{}]"]))
    ids = [f"ev{i}" for i in range(n)]
    dtype = draw(st.sampled_from([object, object, "str"]))
    column = pd.Series(evidence, dtype=object)
    if dtype == "str" and all(isinstance(t, str) or t is None or t is pd.NA
                              or (isinstance(t, float) and np.isnan(t)) for t in evidence):
        column = column.astype("str")
    index = pd.RangeIndex(n) if draw(st.booleans()) else pd.Index(np.arange(n) * 3 + 7)
    return pd.DataFrame({"event_id": ids, "evidence": column.to_numpy()}, index=index)


def _same_long(got: pd.DataFrame, want: pd.DataFrame) -> None:
    pd.testing.assert_frame_equal(got, want, check_exact=True)
    assert got["token"].tolist() == want["token"].tolist()
    assert got["reason"].tolist() == want["reason"].tolist()  # byte for byte


def _same_table(got: pd.DataFrame, want: pd.DataFrame) -> None:
    assert list(got.columns) == list(want.columns)
    assert got.dtypes.to_dict() == want.dtypes.to_dict()
    assert got["event_id"].tolist() == want["event_id"].tolist()
    assert got["token"].tolist() == want["token"].tolist()
    # the reasons as parsed: equal as JSON (NaN included) and of the same types
    assert [json.dumps(r, ensure_ascii=False) for r in got["reason"]] == [
        json.dumps(r, ensure_ascii=False) for r in want["reason"]]
    assert [type(r) for r in got["reason"]] == [type(r) for r in want["reason"]]


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(events_with_evidence())
def test_evidence_long_and_table_as_per_event(events):
    want_long, want_table = oracle.evidence_long(events), oracle.evidence_table(events)
    _same_long(_evidence_long(events), want_long)
    _same_table(evidence_table(events), want_table)
    with patch.object(flags, "_CHUNK", 2):  # the events parsed a few at a time
        _same_long(_evidence_long(events), want_long)
        _same_table(evidence_table(events), want_table)


def _error(call, events):
    try:
        call(events)
    except Exception as exc:  # the oracle's error, whatever it is
        return exc
    return None


@pytest.mark.parametrize("chunk", [1, 2, 256])
@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(events=events_with_evidence(bad=True))
def test_malformed_evidence_fails_as_per_event(events, chunk):
    want = _error(oracle.evidence_long, events)
    with patch.object(flags, "_CHUNK", chunk):  # the events parsed a few at a time or all
        got = _error(_evidence_long, events)
        if want is None:
            _same_long(_evidence_long(events), oracle.evidence_long(events))
            return
        assert type(got) is type(want)
        if isinstance(want, json.JSONDecodeError):  # the same text, the same place
            assert str(got) == str(want)
        else:
            assert str(got).startswith(str(want))
        assert type(_error(evidence_table, events)) is type(
            _error(oracle.evidence_table, events))


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(events_with_evidence(), st.data())
def test_add_flag_keeps_the_old_reasons_as_per_event(events, data):
    """Evidence.finish reads the evidence already on the events back (to keep the reasons of
    the tokens it does not recompute): the same events as with the per-event reading."""
    n = len(events)
    events = events.assign(
        event_type="rendezvous", mmsi=np.arange(n) + 412_000_000,
        other_mmsi=np.arange(n) + 413_000_000,
        start=pd.Timestamp("2024-01-01", tz="UTC"), end=pd.Timestamp("2024-01-02", tz="UTC"),
        lat=30.0, lon=122.0,
        flags=pd.Series([["zz"]] * n, dtype=object, index=events.index))
    mask = np.array(data.draw(st.lists(st.booleans(), min_size=n, max_size=n)), dtype=bool)
    token = data.draw(TOKENS)
    got = add_flag(events, token, mask, '{"why": "\u00e9"}')
    with patch.object(flags, "_evidence_long", oracle.evidence_long):
        want = add_flag(events, token, mask, '{"why": "\u00e9"}')
    assert got["evidence"].tolist() == want["evidence"].tolist()
    assert got["flags"].tolist() == want["flags"].tolist()


def test_marker_and_nested_reasons_read_back_byte_for_byte():
    events = pd.DataFrame({"event_id": list("abcdef"), "evidence": [
        '{"zz": ["\\uffff", "\uffff", 1], "dprk": {"b": [{"c": NaN}], "a": "\u00e9"}}',
        '{"barge": [{"vessel": 1, "rules": ["x"]}, {"vessel": 2}], "zz": Infinity}',
        "", np.nan, None,
        '{"\u4e2d": "\U0001f6a2\u2028", "k": 12345678901234567890123, "f": 1e400, "g": -0.0}']})
    want = oracle.evidence_long(events)
    _same_long(_evidence_long(events), want)
    assert want["reason"].tolist()[:2] == ['["\uffff", "\uffff", 1]',
                                           '{"b": [{"c": NaN}], "a": "\u00e9"}']
    _same_table(evidence_table(events), oracle.evidence_table(events))
    empty = events.iloc[2:5]
    _same_long(_evidence_long(empty), oracle.evidence_long(empty))
    _same_table(evidence_table(empty), oracle.evidence_table(empty))


@pytest.mark.parametrize("evidence, error", [
    (['{"a": 1}', '{"a": [1', '2]}'], json.JSONDecodeError),
    (['{"a": 1}', "{}, {}", "{}"], json.JSONDecodeError),
    (['{"a": 1}', "[1]", "{"], json.JSONDecodeError),  # the JSON error first, as before
    (['{"a": 1}', "[1]", "null"], AttributeError),
])
@pytest.mark.parametrize("chunk", [1, 2, 256])
def test_the_first_bad_event_is_the_error(evidence, error, chunk):
    events = pd.DataFrame({"event_id": ["a", "b", "c"], "evidence": evidence})
    want = _error(oracle.evidence_long, events)
    assert type(want) is error
    with patch.object(flags, "_CHUNK", chunk):
        got = _error(_evidence_long, events)
    assert type(got) is error
    assert str(got).startswith(str(want))
