"""Flags and score on events from a crafted scenario, checked against its known truth."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from hypothesis import example, given, settings
from hypothesis import strategies as st

from stsdetect.events import (
    ENRICHMENT_COLUMNS,
    EVENT_COLUMNS,
    concat_events,
    empty_events,
    make_events,
)
from stsdetect.flags import DEFAULT_WEIGHTS, flag_events, score_events

WATCHLIST = Path(__file__).resolve().parents[1] / "examples" / "watchlist_example.csv"
T0 = pd.Timestamp("2020-01-02T00:00:00Z")
H = 3600.0

DPRK, BARGE, UK1, UK2, WATCHED, LONER = 445000001, 412000002, 235000001, 235000002, 412999003, \
    413000009


def ts(hours: float) -> float:
    return T0.timestamp() + hours * H


def scenario() -> tuple[pd.DataFrame, pd.DataFrame]:
    rv = make_events(
        "rendezvous",
        mmsi=[BARGE, UK1], other_mmsi=pd.array([DPRK, UK2], dtype="Int64"),
        start=[ts(0), ts(0)], end=[ts(4), ts(2)],
        lat=[30.4, 29.8], lon=[121.4, 124.5], n_positions=[40, 20],
    )
    dark = make_events(
        "dark_period",
        mmsi=[DPRK, DPRK, BARGE, UK1, DPRK],
        start=[ts(-10), ts(-40), ts(10), ts(-40), ts(30)],
        end=[ts(-4), ts(-25), ts(14), ts(-30), ts(36)],
        lat=[30.0, 30.0, 30.4, 29.8, 39.0], lon=[122.3, 122.3, 121.4, 124.5, 124.0],
        end_lat=[30.4, 30.4, 31.3, 29.8, 39.1], end_lon=[121.4, 121.4, 121.9, 124.5, 124.1],
        likely_intentional=pd.array([True, False, None, False, True], dtype="boolean"),
        flags=[["likely_intentional"], [], [], [], ["likely_intentional"]],
    )
    lo = make_events("loitering", mmsi=[WATCHED, LONER], start=[ts(50), ts(50)],
                     end=[ts(56), ts(51)], lat=[30.0, 29.8], lon=[122.3, 124.5])
    vessels = pd.DataFrame({
        "mmsi": [DPRK, BARGE, UK1, UK2, WATCHED, LONER],
        "imo": pd.array([None, None, 9074729, None, None, None], dtype="Int64"),
        "name": ["CHOL SAN", "ZHE 123", "BRITANNIA", "ALBION", "NEW NAME", "LONE"],
        "ship_type": pd.array([80, 99, 70, 70, 70, 70], dtype="Int64"),
        "length_m": [100.0, 60.0, 200.0, 180.0, 150.0, 150.0],
        "beam_m": [16.0, 12.0, 30.0, 28.0, 25.0, 25.0],
        "ais_class": ["A", "B", "A", "A", "A", "A"],
        "n_name_changes": [0, 0, 0, 0, 0, 2],
        "n_type_changes": [0, 0, 0, 0, 0, 0],
    })
    return concat_events([rv, dark, lo]), vessels


def by_key(events: pd.DataFrame) -> dict:
    return {(r.event_type, r.mmsi, r.start): r for r in events.itertuples()}


def test_scenario_flags_are_the_known_truth():
    events, vessels = scenario()
    out = flag_events(events, vessels=vessels, watchlist=WATCHLIST)
    assert list(out.columns[:len(EVENT_COLUMNS)]) == list(EVENT_COLUMNS)
    assert list(out.columns[len(EVENT_COLUMNS):]) == list(ENRICHMENT_COLUMNS)
    assert len(out) == len(events)
    got = {(r.event_type, r.mmsi, round(r.start.timestamp() - T0.timestamp())): r.flags
           for r in out.itertuples()}
    assert got[("rendezvous", BARGE, 0)] == sorted([
        "barge", "china_territorial_sea", "dark_after", "dark_before", "dprk", "hangzhou_bay"])
    assert got[("rendezvous", UK1, 0)] == []            # open sea, no darkness within 24 h
    # dark periods: regions from start and end positions, likely_intentional kept; the DPRK
    # vessel's earlier silence (-40 h to -25 h) ended within 24 h before this one began
    assert got[("dark_period", DPRK, -10 * 3600)] == sorted([
        "china_territorial_sea", "dark_before", "dprk", "hangzhou_bay", "likely_intentional",
        "ningbo_zhoushan"])
    assert got[("dark_period", DPRK, -40 * 3600)] == sorted([
        "china_territorial_sea", "dark_after", "dprk", "hangzhou_bay", "ningbo_zhoushan"])
    assert got[("dark_period", BARGE, 10 * 3600)] == sorted([
        "barge", "china_territorial_sea", "hangzhou_bay", "yangtze_estuary"])
    assert got[("dark_period", DPRK, 30 * 3600)] == ["dprk", "korea_bay", "likely_intentional"]
    # watch-listed by MMSI (second value of a "1: ..., 2: ..." cell) of an entry whose flag is
    # not the DPRK ("Unknown") and with a Chinese MMSI: watchlist only, never dprk (issue #13)
    assert got[("loitering", WATCHED, 50 * 3600)] == sorted([
        "china_territorial_sea", "ningbo_zhoushan", "watchlist"])
    # 3 names: an anomaly, and an identity change over time (from the name-change count)
    assert got[("loitering", LONER, 50 * 3600)] == ["identity_anomaly", "identity_changed"]


def test_flags_are_sorted_unique_lists():
    events, vessels = scenario()
    out = flag_events(events, vessels=vessels, watchlist=WATCHLIST)
    for f in out["flags"]:
        assert isinstance(f, list) and f == sorted(set(f))


def test_scores_rank_dprk_barge_meeting_first():
    events, vessels = scenario()
    out = flag_events(events, vessels=vessels, watchlist=WATCHLIST)
    top = out.sort_values("score", ascending=False).iloc[0]
    assert top["event_type"] == "rendezvous" and top["mmsi"] == BARGE
    w = DEFAULT_WEIGHTS
    expected = (w["barge"] + w["china_territorial_sea"] + w["dark_after"] + w["dark_before"]
                + w["dprk"] + w["hangzhou_bay"] + w["duration_log_h"] * np.log1p(4.0))
    assert top["score"] == pytest.approx(expected)
    plain = out[(out["event_type"] == "rendezvous") & (out["mmsi"] == UK1)]
    assert plain["score"].iloc[0] == pytest.approx(np.log1p(2.0))


def test_weights_are_configurable():
    events, vessels = scenario()
    base = flag_events(events, vessels=vessels)
    heavy = flag_events(events, vessels=vessels, weights={"barge": 10, "duration_log_h": 0})
    is_barge = base["flags"].map(lambda f: "barge" in f).to_numpy()
    hours = np.log1p(base["duration_h"].to_numpy())
    diff = heavy["score"].to_numpy() - base["score"].to_numpy()
    np.testing.assert_allclose(diff, np.where(is_barge, 8.0, 0.0) - hours)
    with pytest.raises(ValueError, match="finite"):
        flag_events(events, weights={"dprk": float("nan")})
    with pytest.raises(ValueError, match="not a number"):
        score_events(events, weights={"dprk": "lots"})


def test_user_region_adds_its_name_and_weight():
    import geopandas as gpd
    from shapely.geometry import box

    events, vessels = scenario()
    mine = gpd.GeoDataFrame({"name": ["my_box"]}, geometry=[box(124.0, 29.5, 125.0, 30.0)],
                            crs="EPSG:4326")
    out = flag_events(events, vessels=vessels, regions=["hangzhou_bay", mine],
                      weights={"my_box": 3.0})
    r = out[(out["event_type"] == "rendezvous") & (out["mmsi"] == UK1)].iloc[0]
    assert r["flags"] == ["my_box"]
    assert r["score"] == pytest.approx(3.0 + np.log1p(2.0))
    assert not any("china_territorial_sea" in f for f in out["flags"])   # only those asked
    none = flag_events(events, vessels=vessels, regions=[])
    assert not any("hangzhou_bay" in f for f in none["flags"])


def test_no_vessels_table_still_flags_by_mmsi_and_position():
    events, _ = scenario()
    out = flag_events(events)
    r = out[(out["event_type"] == "rendezvous") & (out["mmsi"] == BARGE)].iloc[0]
    assert "dprk" in r["flags"] and "hangzhou_bay" in r["flags"]
    assert "barge" not in r["flags"]    # nothing known about the barge without static data


def test_existing_flags_kept_and_input_not_modified():
    events, vessels = scenario()
    events.loc[0, "flags"] = ["zz_custom"]
    before = events.copy()
    out = flag_events(events, vessels=vessels)
    assert "zz_custom" in out.loc[0, "flags"]
    pd.testing.assert_frame_equal(events, before)


def test_empty_and_bad_inputs():
    out = flag_events(empty_events())
    assert len(out) == 0 and list(out.columns) == list(EVENT_COLUMNS) + list(ENRICHMENT_COLUMNS)
    with pytest.raises(ValueError, match="missing columns"):
        flag_events(pd.DataFrame({"mmsi": [1]}))
    with pytest.raises(TypeError):
        flag_events([1, 2])


def test_pair_symmetry_and_order_invariance():
    events, vessels = scenario()
    a = flag_events(events, vessels=vessels, watchlist=WATCHLIST)
    pairs = events["other_mmsi"].notna()
    swapped = events.copy()
    swapped.loc[pairs, "mmsi"] = events.loc[pairs, "other_mmsi"].astype("int64").to_numpy()
    swapped.loc[pairs, "other_mmsi"] = pd.array(events.loc[pairs, "mmsi"].to_numpy(),
                                                dtype="Int64")
    shuffled = swapped.sample(frac=1.0, random_state=3)
    b = flag_events(shuffled, vessels=vessels, watchlist=WATCHLIST)
    key = ["event_type", "start", "lat", "lon"]
    a = a.sort_values(key).reset_index(drop=True)
    b = b.sort_values(key).reset_index(drop=True)
    assert a["flags"].tolist() == b["flags"].tolist()
    np.testing.assert_allclose(a["score"], b["score"])


# property: dark_before / dark_after against a brute-force oracle

dark_rows = st.lists(st.tuples(st.sampled_from([1, 2, 3]), st.floats(-60, 60),
                               st.floats(0.1, 30)), max_size=12)
meet_rows = st.lists(st.tuples(st.sampled_from([1, 2, 3]), st.sampled_from([1, 2, 3, 4]),
                               st.floats(-60, 60), st.floats(0, 10)), min_size=1, max_size=8)


@settings(max_examples=25, deadline=None)
@given(dark_rows, meet_rows, st.sampled_from([6.0, 24.0]))
# Silences that touch (a vessel heard once between two of them) see each other.
@example(darks=[(1, 0.0, 1.0), (1, 1.0, 1.0)], meets=[(1, 1, 0.0, 0.0)], window_h=6.0)
# A zero-length silence does not see itself.
@example(darks=[(1, 5.0, 0.0)], meets=[(2, 3, 0.0, 1.0)], window_h=6.0)
def test_dark_windows_match_brute_force(darks, meets, window_h):
    base = 412000000
    dark = make_events(
        "dark_period", n=len(darks),
        mmsi=np.array([base + d[0] for d in darks], dtype=np.int64),
        start=[ts(d[1]) for d in darks], end=[ts(d[1] + d[2]) for d in darks],
        lat=np.full(len(darks), 10.0), lon=np.full(len(darks), 10.0))
    ev = make_events(
        "rendezvous",
        mmsi=np.array([base + m[0] for m in meets], dtype=np.int64),
        other_mmsi=pd.array([base + m[1] for m in meets], dtype="Int64"),
        start=[ts(m[2]) for m in meets], end=[ts(m[2] + m[3]) for m in meets],
        lat=np.full(len(meets), 10.0), lon=np.full(len(meets), 10.0))
    both = concat_events([ev, dark])
    out = flag_events(both, before_after_s=window_h * H, regions=[])
    w = window_h * H
    for r in out.itertuples():     # brute-force oracle (test only)
        who = {r.mmsi} if pd.isna(r.other_mmsi) else {r.mmsi, int(r.other_mmsi)}
        s, e = r.start.timestamp(), r.end.timestamp()
        others = [d for d in dark.itertuples()
                  if not (r.event_type == "dark_period" and d.event_id == r.event_id)]
        before = any(d.mmsi in who and s - w <= d.end.timestamp() <= s for d in others)
        after = any(d.mmsi in who and e <= d.start.timestamp() <= e + w for d in others)
        assert ("dark_before" in r.flags) == before
        assert ("dark_after" in r.flags) == after


def test_flags_on_the_bundled_demo_match_its_truth():
    """Truth events of the simulated demo, flagged from its decoded dump, carry their flags."""
    import stsdetect
    from stsdetect.simulate import demo_path, demo_truth_path, read_truth

    truth = read_truth(demo_truth_path())
    data = stsdetect.read_ais(demo_path())
    tracks = stsdetect.build_tracks(data.positions)
    tables = []
    for event_type, rows in truth.groupby("event_type"):   # four event types
        tables.append(make_events(
            event_type, mmsi=rows["mmsi"].to_numpy(), other_mmsi=rows["other_mmsi"].array,
            start=rows["start"], end=rows["end"], lat=rows["lat"].to_numpy(),
            lon=rows["lon"].to_numpy()))
    events = concat_events(tables)
    from stsdetect.detectors.tows import find_tows, tug_mmsi

    tows = find_tows(tracks, tug_mmsi(data.vessels))
    out = flag_events(events, vessels=data.vessels, tracks=tracks, positions=data.positions,
                      watchlist=WATCHLIST, tows=tows)
    merged = out.merge(truth[["event_type", "mmsi", "start", "kind", "expected_flags",
                              "region"]], on=["event_type", "mmsi", "start"])
    assert len(merged) == len(truth)
    for r in merged.itertuples():
        expected = set(filter(None, str(r.expected_flags).split(";")))
        assert expected <= set(r.flags), (r.kind, expected, r.flags)
        if isinstance(r.region, str) and r.region:
            assert r.region in r.flags
    transfers = merged[merged["kind"] == "transfer"]
    assert len(transfers) == 2
    for flags in transfers["flags"]:
        # the demo's DPRK vessels carry the watch-list identities and went dark just before
        assert {"watchlist", "dark_before", "china_territorial_sea"} <= set(flags)
    top = merged.sort_values("score", ascending=False)["kind"].iloc[:2].tolist()
    assert top == ["transfer", "transfer"]


def test_window_edges_are_inclusive_and_exact():
    """A silence ending exactly 24 h before the start counts; one second earlier does not."""
    ev = make_events("rendezvous", mmsi=[DPRK], other_mmsi=pd.array([BARGE], dtype="Int64"),
                     start=[ts(0)], end=[ts(2)], lat=[10.0], lon=[10.0])
    for end_h, start_after_h, expect in ((-24.0, 26.0, True), (-24.0 - 1 / 3600, 26.0 + 1 / 3600,
                                                               False)):
        dark = make_events("dark_period", mmsi=[DPRK, BARGE], start=[ts(-30), ts(start_after_h)],
                           end=[ts(end_h), ts(start_after_h + 3)], lat=[10.0, 10.0],
                           lon=[10.0, 10.0])
        out = flag_events(ev, dark_periods=dark, regions=[], before_after_s="1d")
        flags = set(out["flags"].iloc[0])
        assert ("dark_before" in flags) is expect and ("dark_after" in flags) is expect


def test_single_vessel_inputs():
    dark = make_events("dark_period", mmsi=[DPRK], start=[ts(0)], end=[ts(8)], lat=[30.4],
                       lon=[121.4], end_lat=[39.0], end_lon=[124.0])
    vessels = pd.DataFrame({"mmsi": [DPRK], "name": ["ONE"]})
    out = flag_events(dark, vessels=vessels)
    # start in Hangzhou Bay, reappeared in Korea Bay: both places flagged; no self darkness
    assert out["flags"].iloc[0] == ["china_territorial_sea", "dprk", "hangzhou_bay",
                                    "korea_bay"]
    assert out["score"].iloc[0] == pytest.approx(5 + 1 + 1 + 1 + np.log1p(8.0))


@settings(max_examples=60, deadline=None)
@given(st.data())
def test_evidence_finish_equals_a_row_by_row_oracle(data):
    """``Evidence.finish`` (whole-array joins restricted to each token's rows) writes, per row,
    the sorted tokens set on it and one JSON object of the non-empty reasons, as a plain
    row-by-row join does; a token added twice joins its reasons (array of two)."""
    from stsdetect.flags import Evidence

    n = data.draw(st.integers(0, 12))
    events = pd.DataFrame({"mmsi": np.arange(n) + 412_000_000,
                           "other_mmsi": np.arange(n) + 413_000_000})
    ev = Evidence(events)
    tokens = {}  # oracle: token -> per row (set?, [reasons])
    names = st.sampled_from(["b_tok", "a_tok", "c_tok", "watchlist", "region_x"])
    for _ in range(data.draw(st.integers(0, 6))):
        name = data.draw(names)
        mask = np.array(data.draw(st.lists(st.booleans(), min_size=n, max_size=n)), bool)
        kind = data.draw(st.sampled_from(["none", "one", "rows"]))
        if kind == "none":
            reason = None
        elif kind == "one":
            reason = '{"k": 1}'
        else:
            reason = np.array([data.draw(st.sampled_from(["", f'{{"v": {i}}}']))
                               for i in range(n)], dtype=object)
        ev.add(name, mask, reason)
        has, reasons = tokens.setdefault(name, (np.zeros(n, bool), [[] for _ in range(n)]))
        has |= mask
        for i in np.flatnonzero(mask):  # the oracle: row by row
            text = reason if isinstance(reason, str) else (
                None if reason is None else reason[i])
            if text:
                reasons[i].append(text)
    out = ev.finish(events)
    for i in range(n):
        want_flags = sorted(t for t, (has, _) in tokens.items() if has[i])
        parts = []
        for t in want_flags:
            rs = tokens[t][1][i]
            if rs:
                parts.append(f'"{t}": ' + (rs[0] if len(rs) == 1 else "[" + ", ".join(rs) + "]"))
        assert list(out["flags"].iloc[i]) == want_flags
        assert out["evidence"].iloc[i] == "{" + ", ".join(parts) + "}"


def _json_literals_oracle(values) -> np.ndarray:
    """The evidence's JSON literals as pandas string methods made them before (one replace per
    escape, strftime): the oracle of the faster json_literals."""
    s = pd.Series(values).reset_index(drop=True)
    if len(s) == 0:
        return np.zeros(0, dtype=object)
    kind = s.dtype.kind if not isinstance(s.dtype, pd.StringDtype) else "U"
    if isinstance(s.dtype, pd.DatetimeTZDtype) or kind == "M":
        text = pd.to_datetime(s, utc=True).dt.strftime('"%Y-%m-%dT%H:%M:%SZ"')
        return text.astype(object).where(text.notna(), "null").to_numpy(dtype=object)
    if kind == "b" or isinstance(s.dtype, pd.BooleanDtype):
        b = s.astype("boolean")
        return np.where(b.isna(), "null", np.where(b.fillna(False), "true", "false")).astype(
            object)
    if kind in "iu" or isinstance(s.dtype, pd.core.arrays.integer.IntegerDtype):
        return s.astype("Int64").astype("string").fillna("null").to_numpy(dtype=object)
    if kind == "f":
        f = np.round(s.to_numpy(dtype=float), 6) + 0.0
        return np.where(np.isfinite(f), f.astype(str).astype(object), "null").astype(object)
    text = s.astype("string")
    esc = (text.str.replace("\\", "\\\\", regex=False).str.replace('"', '\\"', regex=False)
           .str.replace("\n", "\\n", regex=False).str.replace("\r", "\\r", regex=False)
           .str.replace("\t", "\\t", regex=False)
           .str.replace(r"[\x00-\x1f]", " ", regex=True))
    return ('"' + esc + '"').astype(object).fillna("null").to_numpy(dtype=object)


@settings(max_examples=60, deadline=None)
@given(st.lists(st.one_of(st.none(), st.text(alphabet=st.characters(max_codepoint=300)))),
       st.lists(st.integers(-(2**62), 2**62)),
       st.lists(st.one_of(st.none(), st.integers(0, 2**40))),
       st.lists(st.one_of(st.none(), st.integers(0, 4 * 10**18))),
       st.lists(st.booleans()))
def test_json_literals_equal_the_string_method_oracle(texts, ints, nullable, stamps, bools):
    """One translate table for the escapes, NumPy for plain integers and times: the same JSON
    literals as the replace chain and strftime (control characters, quotes, backslashes,
    missing values, NaT)."""
    from stsdetect._json import json_literals, json_objects

    times = pd.Series(pd.to_datetime([None if s is None else s for s in stamps], utc=True)
                      ).astype("datetime64[ns, UTC]")
    columns = [pd.Series(texts, dtype="string"), pd.Series(texts, dtype=object),
               pd.Series(texts, dtype="str"),  # pandas' default text dtype (NaN missing)
               # other missing markers, and values that are not str (the pandas path)
               pd.Series([np.nan if t is None else t for t in texts], dtype=object),
               pd.Series([pd.NA if t is None else t for t in texts], dtype=object),
               pd.Series([*texts, 7, 2.5, True], dtype=object),
               pd.Series(np.array(ints, np.int64)), pd.Series(nullable, dtype="Int64"),
               pd.Series(nullable, dtype="UInt64"),
               times, times.dt.tz_convert("Asia/Tokyo"), times.dt.tz_localize(None),
               pd.Series(np.array(bools, bool))]
    for col in columns:
        assert list(json_literals(col)) == list(_json_literals_oracle(col)), col.dtype
    # and the texts come back from JSON as they were, other control characters as spaces
    import json

    frame = pd.DataFrame({"t": pd.Series(texts, dtype=object)})
    for text, got in zip(texts, json_objects(frame), strict=True):
        want = None if text is None else "".join(
            c if ord(c) >= 32 or c in "\n\r\t" else " " for c in text)
        assert json.loads(got)["t"] == want


def _join_reasons_oracle(a, b):
    """_join_reasons as pandas string methods made it (the oracle of its object-array path)."""
    a, b = np.asarray(a, dtype=object), np.asarray(b, dtype=object)
    ha, hb = a != "", b != ""

    def items(x):
        xs = pd.Series(x, dtype=object).astype(str)
        arr = xs.str.startswith("[").to_numpy()
        return np.where(arr, xs.str.slice(1, -1).to_numpy(dtype=object), x)

    both = ha & hb
    out = np.where(ha, a, b).astype(object)
    if both.any():
        out[both] = "[" + items(a[both]) + ", " + items(b[both]) + "]"
    return out


_REASON = st.one_of(st.just(""), st.text(max_size=6),
                    st.text(max_size=6).map(lambda t: "[" + t + "]"),
                    st.just("["), st.just("[]"), st.just('{"vessel": 1}'))


@settings(max_examples=80, deadline=None)
@given(st.lists(st.tuples(_REASON, _REASON), max_size=12))
def test_join_reasons_equal_the_pandas_oracle(pairs):
    """Two reasons per row: one alone kept, two made one JSON array whose items are the
    arrays' items (brackets dropped) -- the same as the pandas string-method version."""
    from stsdetect.flags import _join_reasons

    a = np.array([p[0] for p in pairs], dtype=object)
    b = np.array([p[1] for p in pairs], dtype=object)
    got = _join_reasons(a, b)
    assert list(got) == list(_join_reasons_oracle(a, b))
    assert all(isinstance(v, str) for v in got)


@settings(max_examples=80, deadline=None)
@given(st.lists(st.tuples(st.booleans(), st.integers(-5, 5),
                          st.sampled_from([0.1, -0.0, 1e-7, np.nan, 30.123456789]),
                          st.sampled_from(["a", 'q"\tz', None, 7]),
                          st.sampled_from([None, 0, 1_709_251_200])),
                min_size=1, max_size=80))
def test_json_of_some_rows_equals_those_rows_of_the_whole_table(rows):
    """_json.json_where (the evidence texts of the rows that get a token only) gives each of
    those rows the text json_objects gives it in the whole table: ints, floats (rounding,
    -0.0, NaN), text (escapes, missing, mixed with numbers), UTC times, nullable ints and a
    scalar column; more than 64 rows too (distinct values formatted once)."""
    from stsdetect._json import json_objects, json_where

    mask = np.array([r[0] for r in rows])
    times = pd.to_datetime([None if r[4] is None else r[4] + 3600 * r[1] for r in rows],
                           unit="s", utc=True)
    cols = {"vessel": np.array([r[1] for r in rows], np.int64), "at": "position",
            "x": np.array([r[2] for r in rows]),
            "text": np.array([r[3] for r in rows], dtype=object),
            "when": times.to_numpy(), "n": pd.array([r[1] if r[1] > 0 else None for r in rows],
                                                    dtype="Int64").to_numpy()}
    whole = json_objects(pd.DataFrame(cols))
    got = json_where(mask, **cols)
    assert got[mask].tolist() == whole[mask].tolist()
    assert (got[~mask] == "").all()


_NUMBER = st.sampled_from([0.0, -0.0, 0.5, -2.25, 1e-7, 3.0000004, 1e17, 123456.7890125,
                           np.nan, np.inf, -np.inf, 2.0**53 + 1])


@settings(max_examples=60, deadline=None)
@given(st.lists(st.tuples(_NUMBER, st.integers(-(2**31), 2**31 - 1), st.booleans(),
                          st.integers(0, 2**64 - 1)), max_size=70),
       st.sampled_from([np.float64, np.float32, np.float16]),
       st.sampled_from([np.int64, np.int32, np.int8, np.uint16]))
def test_json_of_a_mapping_equals_the_frame_of_it(rows, float_type, int_type):
    """json_objects of a mapping of columns (arrays, Series, scalars; NumPy numbers formatted
    without a Series) gives the texts json_objects gives the DataFrame of those columns, and
    json_literals of a NumPy array of booleans, integers or floats the texts of its Series
    (floats of every width rounded to 6 places, -0.0, NaN, infinities; integers of every
    width and sign; the route they replaced); fewer and more than 64 rows."""
    from stsdetect._json import json_literals, json_objects

    with np.errstate(over="ignore"):  # (wide values overflow the narrow types to inf)
        x = np.array([r[0] for r in rows], dtype=np.float64).astype(float_type)
    i = np.array([r[1] for r in rows], dtype=np.int64).astype(int_type)
    b = np.array([r[2] for r in rows], dtype=bool)
    u = np.array([r[3] for r in rows], dtype=np.uint64)
    for arr in (x, i, b, u, x.astype(np.float64)):
        assert list(json_literals(arr)) == list(json_literals(pd.Series(arr))), arr.dtype
    cols = {"vessel": i, "x": x, "flag": b, "u": u, "at": "position", "k": 7, "f": 0.25,
            "s": pd.Series(b).astype("boolean"),
            "text": np.array(["a", None, 'q"'] * (len(rows) // 3) + ["z"] * (len(rows) % 3),
                             dtype=object)}
    assert list(json_objects(cols)) == list(json_objects(pd.DataFrame(cols)))
    assert list(json_objects(cols, raw=("at",))) == list(
        json_objects(pd.DataFrame(cols), raw=("at",)))


@settings(max_examples=60, deadline=None)
@given(st.lists(st.lists(st.sampled_from(["class_b", "small:45x10m", "name:BARGE", "", ";",
                                          " ", "; ", "towed_by:412000001", "a;b"]),
                         min_size=1, max_size=5), max_size=8),
       st.sampled_from([object, "str"]))
def test_barge_rules_json_equals_the_split_and_join_per_vessel(rules, dtype):
    """The barge rules as JSON arrays, made by one replace of the separator over the column,
    equal the split of each reason and the join of its quoted rules (the route replaced):
    empty rules, separators and spaces inside rules, no rows."""
    from stsdetect.flags import _rules_json

    reasons = pd.Series(["; ".join(r) for r in rules], dtype=dtype)
    want = ("[" + reasons.astype(str).str.split("; ").map(
        lambda r: ", ".join(f'"{x}"' for x in r)) + "]").to_numpy(dtype=object)
    assert list(_rules_json(reasons)) == list(want)


# ------------------------------------------- whole-column text operations vs value by value
_TEXT = st.text(st.sampled_from(['[', ']', '"', "\\", "\n", "\t", "\x00", "\x1f", "\uffff", "a",
                                 "é", " ", ",", "{", "}"]), max_size=8)


@settings(max_examples=150, deadline=None)
@given(st.lists(_TEXT, max_size=12))
@example(["a\uffffb", "c"])  # a text holding the separator: value by value
@example(["[x]\x00", "[y]", "z"])  # trailing NUL (NumPy's str arrays drop it)
@example(["[]", "["])  # the last array text is its "[" alone
def test_json_string_and_array_items_equal_the_per_value_routes(texts):
    from stsdetect._json import JSON_ESCAPES, json_string
    from stsdetect.flags import _array_items

    values = np.empty(len(texts), dtype=object)
    values[:] = texts
    want = ['"' + v.translate(JSON_ESCAPES) + '"' for v in texts]
    assert list(json_string(values)) == want
    assert list(_array_items(values)) == [v[1:-1] if v.startswith("[") else v for v in texts]
    bracketed = values.copy()
    bracketed[:] = ["[" + v + "]" for v in texts]  # every text an array: the joined route
    assert list(_array_items(bracketed)) == texts
