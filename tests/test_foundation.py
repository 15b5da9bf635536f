"""geo helpers, the events schema and writers, and the Tracks container."""

from __future__ import annotations

import datetime

import numpy as np
import pandas as pd
import pytest
from hypothesis import given
from hypothesis import strategies as st

from stsdetect import geo
from stsdetect.events import (
    EVENT_COLUMNS,
    EVENT_TYPES,
    concat_events,
    empty_events,
    make_events,
    read_events,
    write_events,
)
from stsdetect.tracks import Tracks, build_tracks

lats = st.floats(-89.9, 89.9)
lons = st.floats(-180, 180)


def test_haversine_known_distances():
    # One degree of latitude along a meridian, and a quarter of the equator.
    assert geo.haversine_m(0, 0, 1, 0) == pytest.approx(np.pi * geo.EARTH_RADIUS_M / 180)
    assert geo.haversine_m(0, 0, 0, 90) == pytest.approx(np.pi / 2 * geo.EARTH_RADIUS_M)
    # Across the antimeridian: 179.99E to 179.99W is 0.02 deg of longitude, not 359.98.
    assert geo.haversine_m(0, 179.99, 0, -179.99) == pytest.approx(2223.9, rel=1e-3)


@given(lats, lons, lats, lons)
def test_chord_and_arc_agree_with_haversine(lat1, lon1, lat2, lon2):
    xyz = geo.unit_xyz([lat1, lat2], [lon1, lon2])
    chord_m = np.linalg.norm(xyz[0] - xyz[1]) * geo.EARTH_RADIUS_M
    arc_m = geo.haversine_m(lat1, lon1, lat2, lon2)
    assert geo.chord_to_arc_m(chord_m) == pytest.approx(arc_m, abs=1e-3)
    assert geo.arc_to_chord_m(arc_m) == pytest.approx(chord_m, abs=1e-3)


@pytest.mark.parametrize(("text", "seconds"), [
    ("2h", 7200), ("90min", 5400), ("1d", 86400), ("1h30min", 5400), ("7200s", 7200),
    (" 3d ", 3 * 86400), ("0", 0), (0, 0), (pd.Timedelta("1h"), 3600),
    (np.timedelta64(5, "s"), 5), (datetime.timedelta(minutes=2), 120)])
def test_duration_s(text, seconds):
    assert geo.duration_s(text) == seconds


@pytest.mark.parametrize("bad", ["two hours", "-1h", float("nan"), True, "1e30d"])
def test_duration_s_rejects(bad):
    with pytest.raises(ValueError, match="duration"):
        geo.duration_s(bad)


@pytest.mark.parametrize("bare", ["7200", 7200, 7200.0, "21600", " 1.5 ", "1e3", np.int64(60)])
def test_duration_without_unit_rejected(bare):
    """#14 item 5: '7200' was read by pandas as 7200 ns (--min-duration 7200 acted as 0s)."""
    with pytest.raises(ValueError, match="has no unit"):
        geo.duration_s(bare)


def test_duration_numbers_in_seconds_only_when_asked():
    assert geo.duration_s(600, numbers_in_seconds=True) == 600
    with pytest.raises(ValueError, match="has no unit"):  # a string still needs its unit
        geo.duration_s("600", numbers_in_seconds=True)


def _sample_events():
    return make_events(
        "rendezvous", mmsi=[445000001, 412000002], other_mmsi=[412000003, 412000004],
        start=[1.6e9, 1.6e9 - 100], end=[1.6e9 + 7200, 1.6e9 + 9000], lat=[30.4, 31.0],
        lon=[121.4, 122.0], flags=[["hangzhou_bay", "dprk"], []], n_positions=[30, 40],
    )


def test_make_events_schema_and_order():
    events = _sample_events()
    assert list(events.columns) == list(EVENT_COLUMNS)
    assert events["start"].is_monotonic_increasing
    assert events["flags"][1] == ["dprk", "hangzhou_bay"]
    assert events["duration_h"][1] == pytest.approx(2.0)
    assert events["event_id"][1] == "rv-445000001-412000003-20200913T122640Z"
    assert str(events["start"].dtype) == "datetime64[ns, UTC]"


def _make_events_oracle(event_type, n=None, **columns):
    """The pandas-only make_events of before (astype of every column, a sort of every table):
    the oracle of the faster one."""
    from stsdetect.events import ENRICHMENT_COLUMNS, EVENT_TYPES, _to_utc

    if n is None:
        n = len(next(iter(columns.values()))) if columns else 0
    data = {}
    for name, dtype in EVENT_COLUMNS.items():
        if name in columns:
            values = columns[name]
            if name in ("start", "end"):
                data[name] = _to_utc(values)
            elif name == "flags":
                data[name] = [sorted(set(f)) for f in values]
            else:
                data[name] = pd.array(np.asarray(values) if dtype != "Int64" else values,
                                      dtype=dtype)
        elif name == "flags":
            data[name] = [[] for _ in range(n)]
        elif name == "score":
            data[name] = np.zeros(n)
        elif name in ("event_id", "duration_h", "event_type"):
            continue
        elif dtype == "int64":
            data[name] = np.zeros(n, dtype=np.int64)
        else:
            data[name] = pd.array([None] * n, dtype=dtype) if n else pd.array([], dtype=dtype)
    frame = pd.DataFrame(data, index=pd.RangeIndex(n))
    frame["event_type"] = event_type
    frame["duration_h"] = (frame["end"] - frame["start"]).dt.total_seconds() / 3600.0
    other = frame["other_mmsi"].astype("string").fillna("")
    other = other.where(other == "", "-" + other)
    stamp = frame["start"].dt.strftime("%Y%m%dT%H%M%SZ")
    frame["event_id"] = ("-".join([EVENT_TYPES[event_type], ""]) + frame["mmsi"].astype(str)
                         + other + "-" + stamp).astype(object)
    extra = [c for c in frame.columns if c not in EVENT_COLUMNS]
    frame = frame[list(EVENT_COLUMNS) + extra].astype(
        {k: v for k, v in EVENT_COLUMNS.items() if k != "flags"})
    known = {c: ENRICHMENT_COLUMNS[c] for c in extra if c in ENRICHMENT_COLUMNS}
    if known:
        frame = frame.astype(known)
    frame = frame.sort_values(["start", "mmsi", "other_mmsi", "event_type"], kind="stable")
    return frame.reset_index(drop=True)


@given(st.sampled_from(["rendezvous", "dark_period", "loitering"]),
       st.lists(st.tuples(st.sampled_from([412000001, 412000002]),
                          st.sampled_from([None, 412000003, 412000001]),
                          st.sampled_from([0.0, 60.0, np.nan]), st.sampled_from([7200.0, 30.0]),
                          st.sampled_from([30.5, np.nan]), st.sampled_from([None, True, False]),
                          st.sampled_from([None, 3]), st.lists(st.sampled_from(["b", "a"]))),
                max_size=6),
       st.sets(st.sampled_from(["other_mmsi", "lat", "likely_intentional", "n_other_heard",
                                "flags", "n_positions"])))
def test_make_events_equals_the_pandas_oracle(event_type, rows, given_columns):
    """Columns built in their dtypes, astype only where one differs, no sort of a table
    already in order: the same table as astype-everything-and-sort (ties in start and mmsi,
    missing partners, NaT, NA booleans and counts)."""
    cols = list(zip(*rows, strict=True)) if rows else [()] * 8
    all_columns = {
        "mmsi": np.array(cols[0], np.int64),
        "other_mmsi": pd.array(list(cols[1]), dtype="Int64"),
        "start": 1.6e9 + np.array(cols[2], float),
        "end": 1.6e9 + np.array(cols[2], float) + np.array(cols[3], float),
        "lat": np.array(cols[4], float),
        "likely_intentional": pd.array(list(cols[5]), dtype="boolean"),
        "n_other_heard": pd.array(list(cols[6]), dtype="Int64"),
        "flags": [list(f) for f in cols[7]],
        "n_positions": np.arange(len(rows)),
    }
    kw = {k: v for k, v in all_columns.items()
          if k in given_columns or k in ("mmsi", "start", "end")}
    with np.errstate(invalid="ignore"):  # NaN start seconds: NaT (numpy warns on the cast)
        got = make_events(event_type, n=len(rows), **kw)
        want = _make_events_oracle(event_type, n=len(rows), **kw)
    pd.testing.assert_frame_equal(got, want, check_exact=True)
    # concat_events skips the sort only when the rows are already in order
    more = make_events("dark_vessel", n=1, mmsi=[0], start=[1.6e9], end=[1.6e9])
    merged = pd.concat([got, more], ignore_index=True)
    pd.testing.assert_frame_equal(concat_events([got, more]), merged.sort_values(
        ["start", "mmsi", "other_mmsi", "event_type"], kind="stable").reset_index(drop=True))


def test_make_events_rejects_unknown():
    with pytest.raises(ValueError, match="unknown event type"):
        make_events("party", mmsi=[1])
    with pytest.raises(ValueError, match="not event columns"):
        make_events("rendezvous", mmsi=[1], colour=["red"])


@pytest.mark.parametrize("suffix", [".csv", ".geojson", ".parquet"])
def test_write_read_round_trip(tmp_path, suffix):
    events = concat_events([_sample_events(), make_events("dark_period", mmsi=[3], start=[0],
                                                          end=[3600], likely_intentional=[True])])
    path = write_events(events, tmp_path / f"events{suffix}")
    back = read_events(path)
    pd.testing.assert_frame_equal(back, events, check_exact=False)
    empty = read_events(write_events(empty_events(), tmp_path / f"empty{suffix}"))
    assert empty.empty and list(empty.columns) == list(EVENT_COLUMNS)


def test_csv_times_are_iso_utc(tmp_path):
    text = write_events(_sample_events(), tmp_path / "e.csv").read_text()
    assert "2020-09-13T12:26:40Z" in text and "dprk;hangzhou_bay" in text


def test_write_events_unknown_format(tmp_path):
    with pytest.raises(ValueError, match="unknown events format"):
        write_events(_sample_events(), tmp_path / "e.xlsx")


_T2024_NS = 1_704_067_200 * 10**9


@given(st.lists(st.tuples(st.integers(1, 4), st.integers(_T2024_NS, _T2024_NS + 10**15),
                          st.integers(0, 2)), max_size=30))
def test_tracks_from_arrays_sorted_with_offsets(rows):
    mmsi = [r[0] for r in rows]
    time_ns = np.array([r[1] for r in rows], dtype=np.int64)
    label = [r[2] for r in rows]
    tracks = Tracks.from_arrays(mmsi, time_ns, np.zeros(len(rows)), np.zeros(len(rows)),
                                segment=label)
    assert tracks.time_ns.dtype == np.int64
    assert sorted(tracks.time_ns.tolist()) == sorted(time_ns.tolist())  # exact, no float
    assert len(tracks) == len(rows)
    assert tracks.offsets[0] == 0 and tracks.offsets[-1] == len(rows)
    assert tracks.n_segments == len({(m, s) for m, _, s in rows})
    for k in range(tracks.n_segments):
        seg = slice(tracks.offsets[k], tracks.offsets[k + 1])
        assert np.all(tracks.mmsi[seg] == tracks.segment_mmsi[k])
        assert np.all(np.diff(tracks.time_ns[seg]) >= 0)
        assert np.all(tracks.segment[seg] == k)
    assert np.all(np.diff(tracks.segment_mmsi) >= 0)


@given(st.lists(st.integers(0, 4_000_000_000_000_000_000), max_size=20))
def test_epoch_s_inverts_utc_from_epoch_s(ns):
    stamps = pd.to_datetime(np.array(ns, dtype=np.int64), utc=True)
    back = geo.utc_from_epoch_s(geo.epoch_s(stamps))
    # float64 seconds keep about 0.5 microsecond near 2100
    assert np.all(np.abs(back.asi8 - stamps.asi8) <= 1000)


def test_epoch_s_missing_naive_and_other_zones():
    s = geo.epoch_s(pd.Series([pd.NaT, pd.Timestamp("2024-01-01")]))
    assert np.isnan(s[0]) and s[1] == 1_704_067_200.0
    shanghai = pd.Timestamp("2024-01-01 08:00", tz="Asia/Shanghai")
    assert geo.epoch_s([shanghai])[0] == 1_704_067_200.0


def _epoch_ns_oracle(times):
    """epoch_ns before copy=False: pandas' as_unit("ns") (which always copies), then a copy."""
    if isinstance(times, np.ndarray) and times.dtype.kind == "M":
        return times.astype("datetime64[ns]").view(np.int64)
    if isinstance(times, (pd.Series, pd.Index)) and (
            isinstance(times.dtype, pd.DatetimeTZDtype) or times.dtype.kind == "M"):
        return pd.DatetimeIndex(times).as_unit("ns").asi8.copy()
    return pd.DatetimeIndex(pd.to_datetime(times, utc=True)).as_unit("ns").asi8.copy()


@given(st.lists(st.one_of(st.none(), st.integers(-2**62, 2**62)), max_size=12),
       st.sampled_from(["s", "ms", "us", "ns"]), st.sampled_from([None, "UTC", "Asia/Shanghai"]),
       st.sampled_from(["series", "index", "array", "list"]))
def test_epoch_ns_without_a_copy_equals_the_copying_route(ns, unit, tz, form):
    """epoch_ns(copy=False) gives the values of the old route (as_unit + copy) in every unit,
    zone and form, read-only; the default still returns a new writable array, never the
    input's own data; a nanosecond column is read without a copy."""
    raw = np.array([np.iinfo(np.int64).min if v is None else v // {"s": 10**9, "ms": 10**6,
                    "us": 10**3, "ns": 1}[unit] for v in ns], np.int64)
    stamps = pd.DatetimeIndex(raw.view(f"datetime64[{unit}]"))
    if tz is not None:
        stamps = stamps.tz_localize("UTC").tz_convert(tz)
    times = {"series": pd.Series(stamps), "index": stamps,
             "array": np.asarray(stamps.tz_localize(None) if tz else stamps),
             "list": list(stamps)}[form]
    want = _epoch_ns_oracle(times)
    view = geo.epoch_ns(times, copy=False)
    fresh = geo.epoch_ns(times)
    np.testing.assert_array_equal(view, want)
    np.testing.assert_array_equal(fresh, want)
    assert not view.flags.writeable and fresh.flags.writeable
    if form == "series" and unit == "ns":
        assert np.shares_memory(view, times.array._ndarray) or not len(times)
    if form != "list":
        assert not np.shares_memory(fresh, np.asarray(times))


@given(lats, lons)
def test_latlon_from_xyz_inverts_unit_xyz(lat, lon):
    back_lat, back_lon = geo.latlon_from_xyz(geo.unit_xyz([lat], [lon]) * 3.0)
    assert back_lat[0] == pytest.approx(lat, abs=1e-9)
    assert geo.haversine_m(lat, lon, back_lat[0], back_lon[0]) < 1e-3
    assert -180.0 <= back_lon[0] < 180.0


def test_wrap_lon_keeps_in_range_values_exact():
    """A point on a region's edge (lon 122.6) stayed on it only if wrapping did not round it."""
    lon = np.array([122.6, -180.0, 179.9999999999, 0.1 + 0.2])
    assert (geo.wrap_lon_deg(lon) == lon).all()
    assert geo.wrap_lon_deg(180.0) == -180.0
    assert geo.wrap_lon_deg(181.5) == pytest.approx(-178.5)


@given(st.integers(_T2024_NS - 10**17, _T2024_NS + 10**17))
def test_tracks_time_forms_agree_to_the_nanosecond(ns):
    stamp = np.array([ns], dtype="datetime64[ns]")
    forms = (np.array([ns]), stamp, stamp.astype("datetime64[us]").astype("datetime64[ns]"),
             pd.Series(pd.to_datetime([ns], utc=True)),
             pd.Series(pd.to_datetime([ns], utc=True)).dt.tz_convert("Asia/Shanghai"))
    got = [Tracks.from_arrays([412000001], f, [30.0], [122.0]).time_ns[0] for f in forms]
    assert got[0] == got[1] == got[3] == got[4] == ns
    assert got[2] == ns // 1000 * 1000


@pytest.mark.parametrize("bad, unit", [(1_704_067_200, "seconds"), (1_704_067_200_000, "ms"),
                                       (1_704_067_200_000_000, "us"),
                                       (7_258_118_400 * 10**9, "year 2200")])
def test_tracks_refuse_implausible_epochs(bad, unit):
    with pytest.raises(ValueError, match=r"outside 1990-01-01\.\.2100-01-01"):
        Tracks.from_arrays([412000001], np.array([bad]), [30.0], [122.0])
    with pytest.raises(ValueError, match="no time"):
        Tracks.from_arrays([412000001], [np.nan], [30.0], [122.0])
    with pytest.raises(ValueError, match="numeric"):
        build_tracks(pd.DataFrame({"mmsi": [412000001], "time": [bad], "lat": [30.0],
                                   "lon": [122.0]}))
    with pytest.raises(ValueError, match="outside 1990-01-01"):
        build_tracks(pd.DataFrame({"mmsi": [412000001], "time_ns": [bad], "lat": [30.0],
                                   "lon": [122.0]}))


def _event_ids_oracle(mmsi, other_mmsi, start, prefix):
    """events._event_ids as first written: pandas' vectorized string route."""
    other = pd.Series(other_mmsi, dtype="Int64").astype("string").fillna("")
    other = other.where(other == "", "-" + other)
    stamp = pd.Series(start).dt.strftime("%Y%m%dT%H%M%SZ")
    mm = pd.Series(np.asarray(mmsi, dtype=np.int64)).astype(str)
    return (prefix + "-" + mm + other + "-" + stamp).astype(object).to_numpy(dtype=object)


@given(st.lists(st.tuples(st.integers(100_000_000, 999_999_999),
                          st.one_of(st.none(), st.integers(100_000_000, 999_999_999)),
                          st.one_of(st.none(), st.integers(-2 * 10**18, 4 * 10**18))),
                min_size=1, max_size=20),
       st.sampled_from(["ns", "us", "s"]), st.sampled_from(list(EVENT_TYPES.values())))
def test_event_ids_equal_the_pandas_string_route(rows, unit, prefix):
    """The ids built on NumPy string columns equal pandas' vectorized route (the one replaced):
    no other MMSI, missing starts (NaN), times before 1970 (floored to the second) and at
    any resolution of the DatetimeIndex."""
    from stsdetect.events import _event_ids

    mmsi = np.array([r[0] for r in rows], np.int64)
    other = [r[1] for r in rows]
    start = pd.DatetimeIndex(pd.to_datetime([r[2] for r in rows], unit="ns", utc=True))
    start = start.as_unit(unit)
    got = _event_ids(mmsi, other, start, prefix)
    want = _event_ids_oracle(mmsi, other, start, prefix)
    assert got.dtype == object and want.dtype == object
    assert [x if isinstance(x, str) else "missing" for x in got] == \
        [x if isinstance(x, str) else "missing" for x in want]
    assert all(isinstance(x, float) and np.isnan(x) for x in got if not isinstance(x, str))
    assert all(isinstance(x, float) and np.isnan(x) for x in want if not isinstance(x, str))
