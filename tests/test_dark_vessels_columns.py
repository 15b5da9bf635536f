"""mark_unseen_partners and unseen_partner_points, made column-wise, against their per-event
versions (tests/_unseen_partners_oracle.py): the same flags, byte-identical evidence and the
same points, on random events with and without evidence of other flags."""

from __future__ import annotations

import json
from unittest.mock import patch

import _unseen_partners_oracle as oracle
import numpy as np
import pandas as pd
import pytest
from _json_strategies import REASON, SCALAR, TEXT, TOKENS
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from stsdetect.detectors import dark_vessels
from stsdetect.detectors.dark_vessels import mark_unseen_partners, unseen_partner_points

T0 = 1_700_000_000


def _evidence_text(draw, obj: dict) -> str:
    """An object's JSON as the flags stage writes it (keys in any order, non-ASCII raw) or
    as this function did (sorted, ASCII), sometimes with blanks around it."""
    text = json.dumps(obj, ensure_ascii=draw(st.booleans()), sort_keys=draw(st.booleans()),
                      indent=draw(st.sampled_from([None, None, 1])))
    return draw(st.sampled_from(["", " ", "\n"])) + text + draw(st.sampled_from(["", " \t"]))


@st.composite
def marked_inputs(draw):
    n = draw(st.integers(1, 7))
    ids = draw(st.lists(TEXT, min_size=n, max_size=n, unique=True))
    evidence = []
    for _ in range(n):
        kind = draw(st.sampled_from(["none", "empty", "nan", "object", "object", "object"]))
        if kind == "object":
            obj = draw(st.dictionaries(st.one_of(TEXT, TOKENS), REASON, max_size=4))
            evidence.append(_evidence_text(draw, obj))
        else:
            evidence.append({"none": None, "empty": "", "nan": np.nan}[kind])
    flags = [draw(st.lists(TOKENS, max_size=4)) for _ in range(n)]
    flags = [np.array(f, dtype=object) if draw(st.booleans()) and f else f for f in flags]
    events = pd.DataFrame({"event_id": ids, "flags": pd.Series(flags, dtype=object),
                           "evidence": pd.Series(evidence, dtype=object), "x": np.arange(n)})
    if draw(st.booleans()):  # a table without evidence yet
        events = events.drop(columns="evidence")
    # detections: some events several, some none; ids of no event too
    m = draw(st.integers(0, 9))
    owner = draw(st.lists(st.sampled_from([*ids, "not-an-event"]), min_size=m, max_size=m))
    finite = st.floats(-1e4, 1e4, allow_nan=False)
    partners = pd.DataFrame({
        "event_id": pd.Series(owner, dtype=object),
        "detection_id": pd.Series(draw(st.lists(TEXT, min_size=m, max_size=m)), dtype=object),
        "scene_id": pd.Series(draw(st.lists(TEXT, min_size=m, max_size=m)), dtype=object),
        "time": pd.to_datetime(np.array(draw(st.lists(
            st.integers(0, 10**9).map(lambda s: (T0 + s) * 10**9 + s % 7 * 10**8),
            min_size=m, max_size=m)), dtype=np.int64), utc=True),
        "distance_m": np.array(draw(st.lists(st.floats(0, 500), min_size=m, max_size=m)),
                               dtype=float),
        "mmsi": np.array(draw(st.lists(st.integers(0, 999_999_999), min_size=m, max_size=m)),
                         dtype=np.int64),
        "lat": np.array(draw(st.lists(st.one_of(finite, st.just(np.nan)), min_size=m,
                                      max_size=m)), dtype=float),
        "lon": np.array(draw(st.lists(finite, min_size=m, max_size=m)), dtype=float),
    })
    return events, partners


def _same_events(got: pd.DataFrame, want: pd.DataFrame) -> None:
    assert list(got.columns) == list(want.columns)
    assert got.index.equals(want.index)
    # evidence byte for byte, flags as lists of the same tokens in the same order
    assert got["evidence"].tolist() == want["evidence"].tolist()
    assert [list(f) for f in got["flags"]] == [list(f) for f in want["flags"]]
    assert [type(f) for f in got["flags"]] == [type(f) for f in want["flags"]]
    rest = [c for c in want.columns if c not in ("flags", "evidence")]
    pd.testing.assert_frame_equal(got[rest], want[rest])


@settings(max_examples=50, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(marked_inputs())
def test_mark_and_read_back_as_per_event(inputs):
    events, partners = inputs
    want = oracle.mark_unseen_partners(events, partners)
    got = mark_unseen_partners(events, partners)
    _same_events(got, want)
    points = oracle.unseen_partner_points(want)
    pd.testing.assert_frame_equal(unseen_partner_points(got), points)
    with patch.object(dark_vessels, "_CHUNK", 2):  # the events parsed a few at a time
        pd.testing.assert_frame_equal(unseen_partner_points(got), points)
    # marked twice: the second detections replace the first
    again = partners.assign(distance_m=partners["distance_m"] + 1.0)
    _same_events(mark_unseen_partners(got, again), oracle.mark_unseen_partners(want, again))


# evidence read back: written by this version, by the version before lat/lon were kept, or
# edited into something else
DETECTION = st.fixed_dictionaries(
    {"detection_id": TEXT, "scene_id": TEXT,
     "time": st.sampled_from(["2024-03-02T06:00:00Z", "2021-05-01T10:00:00Z"]),
     "distance_m": st.floats(0, 500), "beside_mmsi": st.integers(0, 999_999_999)},
    optional={"lat": st.floats(-90, 90), "lon": st.floats(-180, 180), "extra": SCALAR})
LISTED = st.fixed_dictionaries({"detections": st.lists(DETECTION, min_size=1, max_size=3)})
UNSEEN = st.one_of(
    LISTED, LISTED, LISTED, st.fixed_dictionaries({"detections": st.lists(DETECTION, max_size=3)}),
    st.fixed_dictionaries({"detections": st.sampled_from(["", {}, []])}),
    st.fixed_dictionaries({"other": REASON}), REASON)


@st.composite
def read_inputs(draw):
    n = draw(st.integers(1, 10))
    ids = draw(st.lists(TEXT, min_size=n, max_size=n, unique=True))
    texts = []
    for _ in range(n):
        kind = draw(st.sampled_from(["good"] * 5 + ["other", "bad", "blank"]))
        obj = draw(st.dictionaries(TOKENS.filter(lambda t: t != "unseen_partner"), REASON,
                                   max_size=2))
        if kind == "good":
            obj["unseen_partner"] = draw(UNSEEN)
            texts.append(_evidence_text(draw, obj))
        elif kind == "other":  # valid JSON, not an object
            texts.append(json.dumps(draw(REASON)))
        elif kind == "bad":  # not JSON: cut short, doubled, trailing text
            text = json.dumps({"unseen_partner": draw(UNSEEN)})
            texts.append(draw(st.sampled_from([text[:-1], text + text, text + ", {}",
                                               "{" + text, "{'a': 1}", "nope"])))
        else:
            texts.append(draw(st.sampled_from(["", None, np.nan, 3.5])))
    with_token = st.lists(TOKENS, max_size=3).map(lambda f: [*f, "unseen_partner"])
    flags = [draw(st.one_of(with_token, with_token, with_token,
                            st.lists(TOKENS, max_size=3), st.just("unseen_partner"),
                            st.just(np.nan), st.lists(TOKENS, max_size=2).map(tuple)))
             for _ in range(n)]
    return pd.DataFrame({"event_id": ids, "flags": pd.Series(flags, dtype=object),
                         "evidence": pd.Series(texts, dtype=object)})


@settings(max_examples=80, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(read_inputs())
def test_read_back_as_per_event(events):
    try:
        want = oracle.unseen_partner_points(events)
    except TypeError:  # detections that are not a list of objects: an error as before
        with pytest.raises(TypeError):
            unseen_partner_points(events)
        return
    pd.testing.assert_frame_equal(unseen_partner_points(events), want)
    with patch.object(dark_vessels, "_CHUNK", 2):  # the events parsed a few at a time
        pd.testing.assert_frame_equal(unseen_partner_points(events), want)


def test_malformed_evidence_of_a_flagged_event_is_an_error():
    events = pd.DataFrame({"event_id": ["a", "b", "c"], "flags": [[], [], []],
                           "evidence": ["", '{"x": 1', "[1]"]})
    partners = pd.DataFrame({"event_id": ["b"], "detection_id": ["d"], "scene_id": ["s"],
                             "time": pd.to_datetime(["2024-03-02T06:00:00Z"]),
                             "distance_m": [10.0], "mmsi": [1], "lat": [1.0], "lon": [2.0]})
    with pytest.raises(ValueError, match="event 'b' is not JSON"):
        mark_unseen_partners(events, partners)
    with pytest.raises(ValueError):
        oracle.mark_unseen_partners(events, partners)
    with pytest.raises(TypeError, match="event 'c' is not a JSON object"):
        mark_unseen_partners(events, partners.assign(event_id="c"))
    with pytest.raises(TypeError):
        oracle.mark_unseen_partners(events, partners.assign(event_id="c"))
    ok = mark_unseen_partners(events, partners.assign(event_id="a"))
    assert ok["flags"].tolist() == [["unseen_partner"], [], []]
    assert ok["evidence"].tolist()[1:] == ['{"x": 1', "[1]"]  # others left as they were


def test_numpy_scalars_in_partner_columns_as_before():
    events = pd.DataFrame({"event_id": ["a", "b"], "flags": [["zz"], []],
                           "evidence": ['{"zz": {"b": 1, "a": "\u00e9"}}', ""]})
    partners = pd.DataFrame({"event_id": ["a", "a", "b"], "detection_id": ["d1", "d2", "d3"],
                             "scene_id": ["s", "s", "s"],
                             "time": pd.to_datetime(["2024-03-02T06:00:00Z"] * 3),
                             "distance_m": [10.04, 20.05, 3.0], "mmsi": [1, 2, 3],
                             "lat": [1.0, 2.0, 3.0], "lon": [2.0, 3.0, np.nan],
                             "extra": pd.Series([np.int64(7), np.float32(0.5), True],
                                                dtype=object)})
    want = oracle.mark_unseen_partners(events, partners)
    _same_events(mark_unseen_partners(events, partners), want)
    assert '"extra": 7' in want["evidence"].iloc[0]
    with pytest.raises(TypeError, match="scalars"):
        mark_unseen_partners(events, partners.assign(extra=[[1, 2], [3], []]))


def test_texts_that_are_json_only_together_are_malformed():
    # each text alone is not JSON; joined they would be an array of three values
    texts = ['{"unseen_partner": {"detections": [{"detection_id": "x"}',
             '{"detection_id": "y"}]}}', "{}, {}, {}"]
    events = pd.DataFrame({"event_id": ["a", "b", "c"], "flags": [["unseen_partner"]] * 3,
                           "evidence": texts})
    want = oracle.unseen_partner_points(events)
    assert len(want) == 0
    pd.testing.assert_frame_equal(unseen_partner_points(events), want)
    # and the marker itself inside evidence, as a value and as a list item
    events["evidence"] = ['{"unseen_partner": {"detections": [{"detection_id": "\uffff"}]}}',
                          '{"zz": ["\\uffff", "\uffff", 1]}', '{"zz": "\uffff"}']
    pd.testing.assert_frame_equal(unseen_partner_points(events),
                                  oracle.unseen_partner_points(events))
    partners = pd.DataFrame({"event_id": ["b", "c"], "detection_id": ["\uffff", "d"],
                             "scene_id": ["s", "\uffff"],
                             "time": pd.to_datetime(["2024-03-02T06:00:00Z"] * 2),
                             "distance_m": [10.0, 1.0], "mmsi": [1, 2], "lat": [1.0, 2.0],
                             "lon": [2.0, 3.0]})
    _same_events(mark_unseen_partners(events, partners),
                 oracle.mark_unseen_partners(events, partners))
