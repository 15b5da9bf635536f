"""Out-of-core windowed detection equals a single in-memory run (stsdetect.scale.windows).

The oracle is the single-process run over all positions at once: build_tracks on everything,
every detector once, dark rendezvous from the dark periods. The scenario is generated here with
NumPy: vessels over three days with events deliberately crossing midnight.
"""

from __future__ import annotations

import itertools

import numpy as np
import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from stsdetect.events import ENRICHMENT_COLUMNS, EVENT_COLUMNS, concat_events
from stsdetect.scale import detect_windowed, make_plan
from stsdetect.scale.windows import finish_events, merge_vessels

DAY0 = pd.Timestamp("2024-03-01", tz="UTC")
T0 = DAY0.value / 1e9
H = 3600.0
LAT0, LON0 = 30.5, 122.3


def _latlon(x_km, y_km, lon0=LON0):
    lat = LAT0 + np.asarray(y_km) / 111.2
    lon = lon0 + np.asarray(x_km) / (111.2 * np.cos(np.radians(LAT0)))
    return lat, (lon + 180.0) % 360.0 - 180.0


def _vessel(rng, mmsi, keyframes, every_s=180.0, dark=(), start_h=0.0, end_h=72.0,
            lon0=LON0):
    """Reports along piecewise-linear keyframes [(hour, x_km, y_km), ...], minus dark spans."""
    kt = np.array([k[0] for k in keyframes]) * H + T0
    kx = np.array([k[1] for k in keyframes], float)
    ky = np.array([k[2] for k in keyframes], float)
    t = np.arange(T0 + start_h * H, T0 + end_h * H, every_s)
    t = t + rng.uniform(0, every_s * 0.5, t.size)
    for a_h, b_h in dark:
        t = t[(t < T0 + a_h * H) | (t > T0 + b_h * H)]
    x = np.interp(t, kt, kx) + rng.normal(0, 0.01, t.size)
    y = np.interp(t, kt, ky) + rng.normal(0, 0.01, t.size)
    vx = np.gradient(np.interp(t, kt, kx), t) if t.size > 1 else np.zeros(t.size)
    vy = np.gradient(np.interp(t, kt, ky), t) if t.size > 1 else np.zeros(t.size)
    sog = np.hypot(vx, vy) * 1000 / 0.514444 + np.abs(rng.normal(0, 0.1, t.size))
    lat, lon = _latlon(x, y, lon0)
    return pd.DataFrame({"mmsi": np.full(t.size, mmsi, np.int64), "t": t, "lat": lat,
                         "lon": lon, "sog_kn": sog})


def _positions(frame: pd.DataFrame) -> pd.DataFrame:
    """A positions table from :func:`_vessel` rows (times in float seconds, to the ns)."""
    return pd.DataFrame({
        "mmsi": frame["mmsi"].to_numpy(np.int64),
        "time": pd.to_datetime(np.round(frame["t"].to_numpy() * 1e9).astype("int64"),
                               utc=True),
        "lat": frame["lat"].to_numpy(), "lon": frame["lon"].to_numpy(),
        "sog_kn": frame["sog_kn"].to_numpy()})


def make_scenario(seed=7, lon0=LON0):
    """Positions over three UTC days, with events crossing both midnights.

    Returns the positions table (time-sorted) with the schema of ``read_ais(...).positions``.
    """
    rng = np.random.default_rng(seed)
    parts = [
        # A rendezvous (DPRK ship 445..., barge 412...) stopped together 21:00-04:00 day 0-1.
        _vessel(rng, 445100001, [(0, -60, -20), (21, 0, 0), (28, 0.1, 0), (40, 50, 30),
                                 (72, 60, 80)], lon0=lon0),
        _vessel(rng, 412300002, [(0, 40, -50), (21, 0.2, 0.1), (28, 0.2, 0.1), (45, -40, 10),
                                 (72, -50, 30)], lon0=lon0),
        # Long silence: 18:00 day 0 -> 03:00 day 2, near passing traffic.
        _vessel(rng, 445100003, [(0, -10, 30), (72, 40, 30)], dark=[(18, 51)], lon0=lon0),
        # Loitering across midnight day 1-2: 22:30 -> 03:10.
        _vessel(rng, 412300004, [(0, 30, 60), (22.5, 0, 20), (27.2, 0.3, 20), (72, -60, 40)],
                lon0=lon0),
        # Two vessels dark together, 23:00 day 1 -> 08:00 day 2, vanish and reappear together.
        _vessel(rng, 445100005, [(0, -40, -40), (22.9, 10, -10), (32.1, 12, -9),
                                 (72, 60, -60)], dark=[(23, 32)], lon0=lon0),
        _vessel(rng, 412300006, [(0, 40, 20), (22.9, 10.5, -10), (32.1, 12.4, -9.2),
                                 (72, -20, -60)], dark=[(23.1, 32)], lon0=lon0),
        # A 6.5 h silence across midnight day 0-1, and a short one well inside day 2.
        _vessel(rng, 412300007, [(0, 0, -30), (72, 20, 40)], dark=[(20.5, 27), (50, 57)],
                lon0=lon0),
    ]
    # Background traffic crossing the area all three days.
    for i in range(6):
        y = -30 + 12 * i
        parts.append(_vessel(rng, 413000100 + i, [(0, -80, y), (72, 80, y + 5)],
                             every_s=240, lon0=lon0))
    frame = pd.concat(parts, ignore_index=True)
    n = len(frame)
    positions = pd.DataFrame({
        "mmsi": frame["mmsi"].to_numpy(np.int64),
        "time": pd.to_datetime(np.round(frame["t"].to_numpy() * 1e9).astype("int64"),
                               utc=True),
        "lat": frame["lat"].to_numpy(float),
        "lon": frame["lon"].to_numpy(float),
        "sog_kn": frame["sog_kn"].to_numpy(float),
        "cog_deg": np.full(n, np.nan),
        "heading_deg": np.full(n, np.nan),
        "nav_status": np.full(n, 15, np.int8),
        "msg_type": np.ones(n, np.int8),
        "source": pd.array([""] * n, dtype="string"),
    })
    return positions.sort_values("time", kind="stable").reset_index(drop=True)


def split_files(positions, boundaries_h, origin=DAY0):
    """Cut a time-sorted positions table into "files" at the given hours after ``origin``."""
    t = (positions["time"] - origin).dt.total_seconds().to_numpy() / H
    edges = [-np.inf, *boundaries_h, np.inf]
    return [positions.loc[(t >= a) & (t < b)].reset_index(drop=True)
            for a, b in itertools.pairwise(edges)]


DETECTORS = ["dark_period", "dark_rendezvous", "loitering"]


def detectors():
    return [*DETECTORS, "rendezvous"]


def single_run(positions, only, vessels=None, statics=None, **params):
    """The oracle: every stage once, over all positions in memory (``statics``: the statics
    history, for the identity links and the draught of the context stage)."""
    from stsdetect.detectors import dark, loitering
    from stsdetect.tracks import build_tracks

    plan = make_plan(only=only, **params)
    tracks = build_tracks(positions, **plan.params["tracks"])
    found = []
    if "dark_period" in plan.detectors:
        found.append(dark.find_dark_periods(tracks, **plan.params["dark_period"]))
    if "loitering" in plan.detectors:
        found.append(loitering.find_loitering(tracks, **plan.params["loitering"]))
    if "rendezvous" in plan.detectors:
        from stsdetect.detectors import rendezvous

        found.append(rendezvous.find_rendezvous(tracks, **plan.params["rendezvous"]))
    class_b = None
    if "msg_type" in positions:
        class_b = np.unique(positions.loc[positions["msg_type"].isin([18, 19]), "mmsi"])
    # flags see every track, as in stsdetect.detect
    everyone = pd.DataFrame({"mmsi": tracks.segment_mmsi, "partner": -1})

    def context(events):  # the context stage over all the data at once, as detect() runs it
        from stsdetect.context import add_context, find_anchorages, find_stops

        stops = find_stops(tracks)
        a = plan.objects["anchorages"]
        areas = find_anchorages(tracks, positions=positions, stops=stops,
                                min_vessels=a.min_vessels, min_duration=a.min_duration,
                                cell_m=a.cell_m)
        return add_context(events, tracks=tracks, anchorages=areas, positions=positions,
                           statics=statics, stops=stops, **plan.objects["context"].kwargs())

    return finish_events([concat_events(found)], plan, class_b=class_b, vessels=vessels,
                         flag_candidates=everyone, load_tracks=lambda m: tracks,
                         statics=statics, context=context if plan.context else None)


def assert_same_events(got, want):
    got = got.sort_values("event_id").reset_index(drop=True)
    want = want.sort_values("event_id").reset_index(drop=True)
    assert list(got["event_id"]) == list(want["event_id"])
    pd.testing.assert_frame_equal(got, want, check_exact=False, rtol=1e-9, atol=1e-9)


@pytest.fixture(scope="module")
def scenario():
    return make_scenario()


@pytest.fixture(scope="module")
def reference(scenario):
    return single_run(scenario, detectors())


def test_reference_has_the_planted_events(reference):
    ev = reference
    def span(kind, mmsi):
        row = ev.loc[(ev["event_type"] == kind) & (ev["mmsi"] == mmsi)]
        assert len(row) >= 1, f"no {kind} for {mmsi}"
        return row
    # The planted events exist in the oracle, and several cross a midnight.
    long_dark = span("dark_period", 445100003)
    assert (long_dark["duration_h"] > 30).any()
    assert len(span("dark_period", 412300007)) == 2
    dr = span("dark_rendezvous", 412300006)
    assert (dr["other_mmsi"] == 445100005).sum() == 1
    lo = span("loitering", 412300004)
    midnight = DAY0 + pd.Timedelta("2D")
    assert ((lo["start"] < midnight) & (lo["end"] > midnight)).any()
    crossing = ev.loc[(ev["start"].dt.floor("D") != ev["end"].dt.floor("D"))]
    assert len(crossing) >= 4


def test_daily_files_equal_single_run(scenario, reference, tmp_path):
    files = split_files(scenario, [24, 48])
    res = detect_windowed(files, window="1d", workdir=tmp_path / "w", only=detectors())
    assert_same_events(res.events, reference)
    assert res.report["rows_spilled"] == len(scenario)
    assert res.report["windows"] == 3
    assert res.report["open_entries"] > 0  # the merging across windows was exercised
    # events crossing midnight came out once, whole
    assert res.events["event_id"].is_unique
    # bounded memory: no window loaded the whole data set
    assert res.report["max_rows_loaded"] < len(scenario)
    assert res.workdir == tmp_path / "w"


def test_parquet_spill_equals_arrow_spill(scenario, reference, tmp_path):
    files = split_files(scenario, [24, 48])
    res = detect_windowed(files, window="1d", workdir=tmp_path / "w", only=detectors(),
                          spill_format="parquet")
    assert_same_events(res.events, reference)
    spilled = {p.suffix for p in (tmp_path / "w" / "positions").rglob("*.*")}
    assert spilled == {".parquet"}
    res = detect_windowed(files, window="1d", workdir=tmp_path / "a", only=detectors())
    assert {p.suffix for p in (tmp_path / "a" / "positions").rglob("*.*")} == {".arrow"}
    with pytest.raises(ValueError, match="spill_format must be one of"):
        detect_windowed(files, spill_format="csv")


@pytest.mark.parametrize(("window", "cuts"), [("6h", [13.0, 37.5]), ("1d", [5.0, 23.99])])
def test_other_windows_and_file_cuts_equal_single_run(scenario, reference, window, cuts,
                                                      tmp_path):
    files = split_files(scenario, cuts)
    res = detect_windowed(files, window=window, workdir=tmp_path / "w", only=detectors())
    assert_same_events(res.events, reference)


def test_parquet_input_spilled_from_arrow_equals_pandas(scenario, tmp_path):
    """A saved positions table is spilled from its Arrow table (no pandas round trip): the
    same counts and the same rows read back as through pandas, rows without time and
    Class B reports included."""
    import pyarrow.parquet as pq

    from stsdetect.scale.windows import load_positions, spill_positions

    pos = scenario.copy()
    pos["msg_type"] = np.where(np.arange(len(pos)) % 7 == 0, 18, 1).astype(np.int8)
    pos.loc[pos.index[::11], "time"] = pd.NaT
    path = tmp_path / "p.parquet"
    pos.to_parquet(path)
    plan = make_plan()
    got = spill_positions(pq.read_table(path), tmp_path / "a", plan.window_s, "x", seq_start=5)
    want = spill_positions(pd.read_parquet(path), tmp_path / "b", plan.window_s, "x",
                           seq_start=5)
    assert got["no_time"] == want["no_time"] > 0 and got["rows"] == want["rows"]
    assert len(want["class_b"]) > 0
    for key in ("class_b", "mmsis", "windows"):
        np.testing.assert_array_equal(got[key], want[key])
    assert (got["t_min"], got["t_max"]) == (want["t_min"], want["t_max"])
    lo = int(want["windows"][1]) * plan.window_ns - plan.margin_ns
    hi = lo + plan.window_ns + 2 * plan.margin_ns
    a = load_positions(tmp_path / "a", plan, lo, hi, schema=got["schema"])
    b = load_positions(tmp_path / "b", plan, lo, hi, schema=want["schema"])
    assert len(a) > 0
    pd.testing.assert_frame_equal(a, b)


def test_window_read_equals_every_spill_file_read_and_filtered(scenario, tmp_path):
    """A window's read (memory-mapped spill, rows into the system allocator's memory: see
    ``windows.read_pool``) gives the rows a plain read of every spill file gives, filtered
    to the range and put in input order by hand: same rows, order, values and dtypes."""
    import pyarrow as pa
    import pyarrow.ipc as ipc

    from stsdetect.scale import windows as W

    plan = make_plan()
    got = W.spill_positions(scenario, tmp_path, plan.window_s, "x")
    files = sorted((tmp_path / W._POSITION_DIR).rglob("*.arrow"))
    assert len(files) > 3
    every = pa.concat_tables([ipc.open_file(pa.OSFile(str(f))).read_all() for f in files],
                             promote_options="default").to_pandas()
    for k in got["windows"][:3]:  # a few windows, the first with no rows before it
        lo = int(k) * plan.window_ns - plan.margin_ns
        hi = lo + plan.window_ns + 2 * plan.margin_ns
        ns = every["time"].to_numpy("datetime64[ns]").view(np.int64)
        want = every.loc[(ns >= lo) & (ns < hi)].sort_values(W._SEQ)
        want = want.drop(columns=[W._SEQ]).reset_index(drop=True)
        for cols in (None, list(W.TRACK_COLUMNS)):
            a = W.load_positions(tmp_path, plan, lo, hi, schema=got["schema"], columns=cols)
            assert len(a) > 0
            b = want if cols is None else want[cols]
            pd.testing.assert_frame_equal(a.reset_index(drop=True), b[list(a.columns)],
                                          check_categorical=False)
            assert list(a.columns) == [c for c in want.columns if cols is None or c in cols]


def test_antimeridian(tmp_path):
    positions = make_scenario(seed=3, lon0=179.95)
    assert (positions["lon"] < 0).any() and (positions["lon"] > 0).any()
    want = single_run(positions, DETECTORS)
    assert len(want) >= 5
    res = detect_windowed(split_files(positions, [24, 48]), workdir=tmp_path / "w",
                          only=DETECTORS)
    assert_same_events(res.events, want)


def test_rows_without_time_are_counted_not_lost(scenario, tmp_path):
    pos = scenario.copy()
    pos.loc[pos.index[:7], "time"] = pd.NaT
    res = detect_windowed(pos, workdir=tmp_path / "w", only=["dark_period"])
    assert res.report["rows_no_time"] == 7
    assert res.report["rows_spilled"] == len(pos) - 7


def test_empty_and_single_vessel(scenario, tmp_path):
    empty = scenario.iloc[:0]
    res = detect_windowed(empty, workdir=tmp_path / "e", only=detectors())
    assert len(res.events) == 0
    assert list(res.events.columns[:len(EVENT_COLUMNS)]) == list(EVENT_COLUMNS)
    assert set(ENRICHMENT_COLUMNS) <= set(res.events.columns)
    one = scenario.loc[scenario["mmsi"] == 445100003]
    res = detect_windowed(split_files(one, [24, 48]), workdir=tmp_path / "o",
                          only=DETECTORS)
    assert_same_events(res.events, single_run(one, DETECTORS))
    assert (res.events["event_type"] == "dark_period").sum() == 1


def test_plan_errors_are_specific(tmp_path):
    with pytest.raises(ValueError, match="unknown detector"):
        make_plan(only=["teleport"])
    with pytest.raises(ValueError, match="unknown parameter"):
        make_plan(not_a_parameter=3, only=DETECTORS)
    with pytest.raises(ValueError, match="whole number"):
        make_plan(window="0.5s", only=DETECTORS)
    with pytest.raises(ValueError, match="whole number of hours"):
        make_plan(window="90min", only=DETECTORS)
    assert make_plan(window="90min", only=DETECTORS, coverage=False).window_s == 5400
    (tmp_path / "busy").mkdir()
    (tmp_path / "busy" / "x").write_text("x")
    with pytest.raises(ValueError, match="not empty"):
        detect_windowed([pd.DataFrame()], workdir=tmp_path / "busy", only=DETECTORS)
    with pytest.raises(ValueError, match="no sources"):
        detect_windowed([], workdir=tmp_path / "new", only=DETECTORS)


def test_plan_margin_covers_context_but_not_durations():
    plan = make_plan(only=["dark_period"], min_gap="8h", heard_bin="20min")
    assert plan.params["dark_period"] == {"min_gap": "8h", "heard_bin": "20min"}
    # context = heard_bin (thinning bins at the span's ends) + the coverage's cadence rule
    # (a pass gap and a pass: 30 + 20 min) + cleaning context
    assert plan.context_s["dark_period"] == pytest.approx(20 * 60 + 50 * 60 + H)
    assert plan.margin_s >= plan.context_s["dark_period"]
    assert plan.margin_s % 60 == 0
    assert plan.emit == ("dark_period",)
    # dark periods always run (flags need them), but only dark rendezvous are returned
    plan = make_plan(only=["dark_rendezvous"])
    assert "dark_period" in plan.detectors and plan.emit == ("dark_rendezvous",)
    plan = make_plan(only=["loitering"])
    assert plan.detectors == ("dark_period", "loitering")
    assert plan.margin_s >= plan.context_s["loitering"]
    # Open runs are carried between windows, so the margin does not grow with how long
    # events must or may last.
    longer = make_plan(only=["loitering"], loiter_min_duration="3d", min_duration="5d")
    # (the widest reach is the context stage's: a stop looks one max_gap, 3 h, beyond a
    # report, after the cleaning's 1 h)
    assert longer.margin_s == plan.margin_s <= 4 * H + 60


def test_merge_vessels_counts_changes_across_dumps():
    t = pd.Timestamp("2024-03-01", tz="UTC")
    a = pd.DataFrame({"mmsi": [1, 2], "name": ["A", "B"], "ship_type": pd.array([70, 80], "Int64"),
                      "first_seen": [t, t], "last_seen": [t, t],
                      "n_name_changes": [0, 1], "n_type_changes": [0, 0]})
    b = pd.DataFrame({"mmsi": [1, 3], "name": ["A2", "C"], "ship_type": pd.array([70, 60],
                                                                                  "Int64"),
                      "first_seen": [t + pd.Timedelta("1D")] * 2,
                      "last_seen": [t + pd.Timedelta("2D")] * 2,
                      "n_name_changes": [0, 0], "n_type_changes": [0, 0]})
    m = merge_vessels([a, b]).set_index("mmsi")
    assert list(m.index) == [1, 2, 3]
    assert m.loc[1, "name"] == "A2" and m.loc[1, "n_name_changes"] == 1
    assert m.loc[2, "n_name_changes"] == 1 and m.loc[1, "n_type_changes"] == 0
    assert m.loc[1, "first_seen"] == t and m.loc[1, "last_seen"] == t + pd.Timedelta("2D")


@settings(max_examples=6, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    gaps=st.lists(st.tuples(st.floats(0, 70), st.floats(0.5, 40)), min_size=1, max_size=4),
    cuts=st.lists(st.floats(1, 71), max_size=3),
    window_h=st.sampled_from([6, 12, 24]),
    seed=st.integers(0, 2**16),
)
def test_random_silences_and_cuts_equal_single_run(tmp_path_factory, gaps, cuts, window_h,
                                                   seed):
    rng = np.random.default_rng(seed)
    dark = [(a, a + d) for a, d in gaps]
    parts = [_vessel(rng, 445100001, [(0, 0, 0), (72, 30, 5)], dark=dark, every_s=600),
             _vessel(rng, 413000001, [(0, 5, -3), (72, -20, 4)], every_s=900),
             _vessel(rng, 412300002, [(0, 0.2, 0), (72, 30.1, 5)], dark=dark[:1],
                     every_s=700)]
    frame = pd.concat(parts, ignore_index=True).sort_values("t")
    positions = _positions(frame)
    # Order invariance too: rows shuffled within each file.
    files = [f.sample(frac=1.0, random_state=seed) for f in split_files(positions, sorted(cuts))]
    work = tmp_path_factory.mktemp("w")
    # the first two drift together 200 m apart: rendezvous and loitering cut by the silences
    res = detect_windowed(files, window=f"{window_h}h", workdir=work / "s", only=detectors())
    assert_same_events(res.events, single_run(positions, detectors()))


def test_simulated_traffic_in_daily_files_equals_single_run(tmp_path):
    """E's scenario generator: busy realistic traffic, Class B barges, noise-free positions."""
    from stsdetect.simulate import simulate

    sc = simulate(seed=5, duration="3d", min_interval_s=240, n_background=8)
    positions = sc.positions.sort_values("time", kind="stable").reset_index(drop=True)
    want = single_run(positions, detectors())
    day = (positions["time"] - DAY0).dt.days
    files = []
    for i, d in enumerate(sorted(day.unique())):  # one Parquet "dump" per UTC day
        path = tmp_path / f"day{i}.parquet"
        positions.loc[day == d].to_parquet(path)
        files.append(path)
    res = detect_windowed(files, workdir=tmp_path / "w", only=detectors())
    assert_same_events(res.events, want)
    assert len(want) >= 5


def test_equals_pipeline_detect_on_simulated_traffic(tmp_path):
    """The user-facing oracle: stsdetect.detect over everything at once, flags and scores too."""
    from stsdetect import pipeline
    from stsdetect.simulate import simulate

    sc = simulate(seed=6, duration="3d", min_interval_s=240, n_background=8)
    positions = sc.positions.sort_values("time", kind="stable").reset_index(drop=True)
    want = pipeline.detect(positions).events
    res = detect_windowed(split_files(positions, [24, 48]), workdir=tmp_path / "w")
    assert_same_events(res.events, want)
    assert len(want) >= 5
    # the context stage's statuses (stops, every event's vessel and partner) were all asked
    # in the finish round, beside the loitering drifts and heard counts: one pass
    assert res.report["status_passes"] == 1


def test_rendezvous_whose_cut_part_is_too_fast_is_not_lost(tmp_path):
    """Together from 23:00 to 07:00: 2.5 kn for 3 h, then 0.5 kn for 5 h (median < 2 kn).

    The day-0 window sees only the fast start (its median fails the 2 kn test), the day-1
    window sees it whole but does not own it (it starts on day 0). Open runs are therefore taken
    without the speed test at the window edges.
    """
    rng = np.random.default_rng(11)
    km_h = 1.852  # one knot in km/h
    a = [(0, -120, 0), (23, 0, 0), (26, 2.5 * km_h * 3, 0),
         (31, 2.5 * km_h * 3 + 0.5 * km_h * 5, 0), (48, 150, 40)]
    b = [(0, 0, -120), (23, 0, 0.15), (26, 2.5 * km_h * 3, 0.15),
         (31, 2.5 * km_h * 3 + 0.5 * km_h * 5, 0.15), (48, -100, 60)]
    frame = pd.concat([_vessel(rng, 445100001, a, every_s=120, end_h=48),
                       _vessel(rng, 412300002, b, every_s=150, end_h=48)]).sort_values("t")
    positions = _positions(frame)
    want = single_run(positions, ["rendezvous"])
    assert len(want) == 1 and want["start"].iloc[0] < DAY0 + pd.Timedelta("1D") < \
        want["end"].iloc[0]
    res = detect_windowed(split_files(positions, [24]), workdir=tmp_path / "w",
                          only=["rendezvous"])
    assert_same_events(res.events, want)


def tow_scenario(seed=2):
    """A tug tows a barge across midnight; next day the barge meets a DPRK ship.

    The barge (cargo type, no barge name) is a barge only by the tow check, which needs the
    tug's and barge's tracks of the day before the rendezvous.
    """
    rng = np.random.default_rng(seed)
    tug = [(0, -80, 5), (20, 0, 0.2), (26, 66.7, 0.2), (48, 200, 0.2)]
    barge = [(0, -80, 5.2), (20, 0, 0), (26, 66.7, 0), (30, 70, 0), (38, 70, 0),
             (48, 120, -40)]
    dprk = [(0, 150, 80), (33, 70.1, 0.1), (38, 70.1, 0.1), (48, 160, 90)]
    frame = pd.concat([_vessel(rng, 412000010, tug, every_s=120, end_h=48),
                       _vessel(rng, 412000011, barge, every_s=150, end_h=48),
                       _vessel(rng, 445000012, dprk, every_s=180, end_h=48),
                       _vessel(rng, 413000020, [(0, -50, -50), (48, 50, 60)], every_s=300,
                               end_h=48)]).sort_values("t")
    positions = _positions(frame)
    vessels = pd.DataFrame({
        "mmsi": np.array([412000010, 412000011, 445000012, 413000020], np.int64),
        "imo": pd.array([pd.NA] * 4, dtype="Int64"),
        "callsign": ["BTUG1", "BDH7", "HMXX", "BBGX"],
        "name": ["HAI TUO 1", "DONG HAI 7", "SEA STAR", "PASSER"],
        "ship_type": pd.array([52, 70, 70, 70], dtype="Int64"),
        "length_m": [30.0, 80.0, 95.0, 120.0], "beam_m": [9.0, 20.0, 15.0, 20.0],
        "draught_m": [3.0, 4.0, 6.0, 7.0], "destination": [""] * 4,
        "ais_class": ["A"] * 4,
        "first_seen": [DAY0] * 4, "last_seen": [DAY0 + pd.Timedelta("2D")] * 4,
        "n_name_changes": [0] * 4, "n_type_changes": [0] * 4,
    })
    return positions, vessels


def test_tow_evidence_from_another_day_reaches_the_flags(tmp_path):
    positions, vessels = tow_scenario()
    want = single_run(positions, detectors(), vessels=vessels)
    rv = want.loc[(want["event_type"] == "rendezvous") & (want["other_mmsi"] == 445000012)]
    assert len(rv) == 1 and "barge" in rv["flags"].iloc[0]  # only through the tow check
    res = detect_windowed(split_files(positions, [24]), workdir=tmp_path / "w",
                          only=detectors(), vessels=vessels)
    assert_same_events(res.events, want)


def test_shared_identity_reaches_the_flags(tmp_path):
    """One MMSI on two transmitters 300 km apart (split into two segments), one of which meets
    a barge: ``identity_anomaly`` comes from the whole track, in windows as in one run."""
    rng = np.random.default_rng(4)
    here = [(0, -60, 0), (20, 0, 0), (30, 0.1, 0), (48, 60, 20)]
    there = [(0, 300, 300), (48, 320, 310)]
    barge = [(0, 50, -50), (20, 0.2, 0.1), (30, 0.2, 0.1), (48, -40, 30)]
    frame = pd.concat([_vessel(rng, 445000013, here, every_s=200, end_h=48),
                       _vessel(rng, 445000013, there, every_s=230, end_h=48),
                       _vessel(rng, 412000014, barge, every_s=180, end_h=48)]).sort_values("t")
    positions = _positions(frame)
    want = single_run(positions, detectors())
    rv = want.loc[want["event_type"] == "rendezvous"]
    assert len(rv) == 1 and "identity_anomaly" in rv["flags"].iloc[0]
    res = detect_windowed(split_files(positions, [24]), workdir=tmp_path / "w",
                          only=detectors())
    assert_same_events(res.events, want)


def test_heard_test_switched_off_equals_single_run(scenario, tmp_path):
    # dark_radius_m=None switches the heard-nearby test off, in memory and in windows alike.
    reference = single_run(scenario, ["dark_period"], dark_radius_m=None)
    files = split_files(scenario, [24, 48])
    res = detect_windowed(files, window="1d", workdir=tmp_path / "w", only=["dark_period"],
                          dark_radius_m=None)
    assert_same_events(res.events, reference)
    assert res.events["n_other_heard"].isna().all() and len(res.events)


def long_events_scenario(seed=21):
    """Five days: a pair alongside 3.5 days, a vessel loitering 4 days, a 3.2-day silence.

    Every event spans three or more UTC midnights, so daily windows see each only in parts.
    """
    rng = np.random.default_rng(seed)
    parts = [
        _vessel(rng, 445100031, [(0, -40, 0), (10, 0, 0), (94, 0.05, 0.02), (120, 50, 40)],
                every_s=300, end_h=120),
        _vessel(rng, 412300032, [(0, 40, 10), (10, 0.25, 0.1), (94, 0.3, 0.1),
                                 (120, -40, 50)], every_s=360, end_h=120),
        _vessel(rng, 412300033, [(0, 30, 60), (12, 10, 20), (110, 10.2, 20.1),
                                 (120, 40, 70)], every_s=420, end_h=120),
        _vessel(rng, 445100034, [(0, -10, 30), (120, 40, 30)], dark=[(20, 97)],
                every_s=300, end_h=120),
    ]
    for i in range(4):  # passing traffic, heard near the silent vessel
        parts.append(_vessel(rng, 413000130 + i, [(0, -80, 25 + 3 * i), (120, 80, 30 + i)],
                             every_s=600, end_h=120))
    frame = pd.concat(parts, ignore_index=True).sort_values("t", kind="stable")
    return _positions(frame).reset_index(drop=True)


@pytest.mark.parametrize("window", ["1d", "6h"])
def test_events_of_three_days_and_more_equal_single_run(window, tmp_path):
    positions = long_events_scenario()
    want = single_run(positions, detectors())
    for kind, mmsi in (("rendezvous", 412300032), ("loitering", 412300033),
                       ("dark_period", 445100034)):
        row = want.loc[(want["event_type"] == kind) & (want["mmsi"] == mmsi)]
        assert len(row) == 1 and row["duration_h"].iloc[0] >= 72, (kind, row)
    dark = want.loc[(want["mmsi"] == 445100034) & (want["event_type"] == "dark_period")]
    assert dark["n_other_heard"].iloc[0] >= 1  # heard across several windows
    files = split_files(positions, [24, 48, 72, 96])
    res = detect_windowed(files, window=window, workdir=tmp_path / "w", only=detectors())
    assert_same_events(res.events, want)
    # the runs were carried (not re-run): every window loaded only itself plus its margin
    hours = {"1d": 24, "6h": 6}[window] + 2 * make_plan().margin_s / H
    share = hours / 120
    assert res.report["max_rows_loaded"] < 1.25 * share * len(positions)  # rates vary a little
    assert res.report["open_entries"] > 0


def test_activity_merged_over_windows_equals_whole_data(scenario):
    """Each vessel's first/last report, time at sea speed and raw span, computed per window
    core (with the window's margins loaded) and merged, equal the whole-data figures."""
    from stsdetect.identity.activity import merge_activity, vessel_activity
    from stsdetect.tracks import build_tracks

    rng = np.random.default_rng(3)
    fast = [_vessel(rng, 413000200 + i, [(0, -600, 10 * i), (72, 600, 10 * i)], every_s=200,
                    dark=[(5.5 + 6 * i, 6.4 + 6 * i)], start_h=i, end_h=70 - i)
            for i in range(3)]  # ~9 kn, silences across window edges
    fast = pd.concat(fast, ignore_index=True)
    extra = scenario.iloc[:0].reindex(range(len(fast))).assign(
        mmsi=fast["mmsi"].to_numpy(),
        time=pd.to_datetime(np.round(fast["t"].to_numpy() * 1e9).astype("int64"), utc=True),
        lat=fast["lat"].to_numpy(), lon=fast["lon"].to_numpy(), sog_kn=fast["sog_kn"].to_numpy())
    scenario = pd.concat([scenario, extra], ignore_index=True).sort_values("time",
                                                                          kind="stable")
    whole = vessel_activity(build_tracks(scenario), scenario)
    assert (whole["sea_s"] > 0).sum() == 3 and (whole["t_first_ns"] != -1).all()
    plan = make_plan(window="6h")
    ns = scenario["time"].astype("int64").to_numpy()
    parts = []
    for k in range(ns.min() // plan.window_ns, ns.max() // plan.window_ns + 1):  # windows
        a, b = k * plan.window_ns, (k + 1) * plan.window_ns
        sel = (ns >= a - plan.margin_ns) & (ns < b + plan.margin_ns)
        pos = scenario.loc[sel].reset_index(drop=True)
        parts.append(vessel_activity(build_tracks(pos), pos, core=(a, b)))
    got = merge_activity(parts)
    pd.testing.assert_frame_equal(got[["mmsi", "t_first_ns", "t_last_ns", "pos_first_ns",
                                       "pos_last_ns"]],
                                  whole[["mmsi", "t_first_ns", "t_last_ns", "pos_first_ns",
                                         "pos_last_ns"]])
    for col in ("lat_first", "lon_first", "lat_last", "lon_last", "sea_s"):
        np.testing.assert_allclose(got[col], whole[col], rtol=1e-12, atol=1e-9, err_msg=col)


def test_handover_across_midnight_equals_single_run(tmp_path):
    """One identity falls silent at 23:00, another with the same dimensions appears 2 km
    away at 01:00 and meets a DPRK ship: ``handover`` reaches the windowed flags as it does
    the single run's (the first/last reports come from different windows)."""
    rng = np.random.default_rng(5)
    old = [(0, -80, 0), (23, 0, 0), (48, 0, 0)]
    new = [(0, 0, 0), (25, 1.5, 1.0), (30, 20, 5), (36, 20.1, 5), (48, 60, 20)]
    dprk = [(0, 90, 60), (30, 20.2, 5.1), (36, 20.2, 5.1), (48, 100, 70)]
    frame = pd.concat([_vessel(rng, 412000031, old, every_s=150, end_h=23),
                       _vessel(rng, 412000032, new, every_s=150, start_h=25, end_h=48),
                       _vessel(rng, 445000033, dprk, every_s=180, end_h=48)]).sort_values("t")
    positions = _positions(frame)
    ids = np.array([412000031, 412000032, 445000033], np.int64)
    vessels = pd.DataFrame({
        "mmsi": ids, "imo": pd.array([pd.NA] * 3, dtype="Int64"),
        "callsign": ["A", "B", "C"], "name": ["OLD NAME", "NEW NAME", "KP SHIP"],
        "ship_type": pd.array([80, 80, 70], dtype="Int64"), "length_m": [120.0, 120.0, 95.0],
        "beam_m": [18.0, 18.0, 15.0], "ais_class": ["A"] * 3,
        "first_seen": [DAY0] * 3, "last_seen": [DAY0 + pd.Timedelta("2D")] * 3,
        "n_name_changes": [0] * 3, "n_type_changes": [0] * 3})
    want = single_run(positions, detectors(), vessels=vessels)
    rv = want.loc[want["event_type"] == "rendezvous"]
    assert len(rv) == 1 and "handover" in rv["flags"].iloc[0]
    res = detect_windowed(split_files(positions, [24]), workdir=tmp_path / "w",
                          only=detectors(), vessels=vessels)
    assert_same_events(res.events, want)


def test_context_stage_off_equals_single_run(scenario, tmp_path):
    # context=False (stsdetect detect --no-context) runs no context stage in windows either
    want = single_run(scenario, detectors(), context=False)
    res = detect_windowed(split_files(scenario, [24, 48]), workdir=tmp_path / "w",
                          only=detectors(), context=False)
    assert_same_events(res.events, want)
    assert not make_plan(context=False).context and make_plan().context


def test_run_keys_refuse_ranks_and_mmsis_they_cannot_hold():
    # Runs are carried across windows by one int64 key per (mmsi, rank of the segment). With
    # 16 bits for the rank, MMSI 1's first segment and MMSI 0's 65,537th would share a key
    # and be joined into one run: that must raise, not merge them.
    from stsdetect.scale.carry import RANK_BITS, _run_keys

    most = (1 << RANK_BITS) - 1
    ok = pd.DataFrame({"mmsi": np.array([0, 1, 999_999_999, 999_999_999, -5], np.int64),
                       "rank": np.array([most, 0, 0, most, 3], np.int64)})
    keys = _run_keys(ok)
    assert np.unique(keys).size == len(ok)
    assert np.array_equal(keys >> RANK_BITS, ok["mmsi"].to_numpy())
    assert np.array_equal(keys & most, ok["rank"].to_numpy())
    clash = pd.DataFrame({"other_mmsi": np.array([1, 0], np.int64),
                          "other_rank": np.array([0, 1 << RANK_BITS], np.int64)})
    with pytest.raises(ValueError, match="MMSI 0 has a segment of rank 65536"):
        _run_keys(clash, "other_")
    huge = pd.DataFrame({"mmsi": np.array([1 << 47], np.int64), "rank": np.zeros(1, np.int64)})
    with pytest.raises(ValueError, match="fewer than 65,536 segments per MMSI"):
        _run_keys(huge)
    assert _run_keys(ok.iloc[:0]).size == 0


@given(st.lists(st.tuples(st.integers(-(1 << 47), (1 << 47) - 1),
                          st.integers(0, (1 << 16) - 1)), min_size=1, max_size=50))
@settings(max_examples=60, deadline=None)
def test_run_keys_are_one_to_one(pairs):
    from stsdetect.scale.carry import _run_keys

    frame = pd.DataFrame(pairs, columns=["mmsi", "rank"]).astype(np.int64)
    keys = _run_keys(frame)
    assert np.unique(keys).size == len(frame.drop_duplicates())


def _silences(lat, lon, start_h, end_h, mmsi, li, cov):
    from stsdetect.events import make_events

    t0 = DAY0.value / 1e9
    lat, lon = np.asarray(lat, float), np.asarray(lon, float)
    return make_events(
        "dark_period", mmsi=np.asarray(mmsi, np.int64),
        start=t0 + 3600.0 * np.asarray(start_h, float), end=t0 + 3600.0 * np.asarray(end_h),
        lat=lat, lon=lon, end_lat=lat + 0.01, end_lon=lon - 0.01,
        coverage=np.asarray(cov, float), likely_intentional=np.asarray(li, bool),
        flags=[["likely_intentional"] if f else [] for f in li])


@given(st.lists(st.tuples(st.integers(0, 3), st.integers(0, 3), st.integers(0, 8),
                          st.integers(3, 12), st.booleans(), st.booleans(),
                          st.sampled_from([0.2, 0.9, np.nan])), min_size=2, max_size=9),
       st.booleans())
@settings(max_examples=80, deadline=None)
def test_settled_dark_rendezvous_equal_a_new_search(rows, shared):
    # The windowed finish finds dark rendezvous once, before the heard counts are known,
    # and settles them on the final dark periods: only each silence's likely_intentional
    # may change. Settled must equal a new search, or come back None (then it searches).
    from stsdetect.detectors.dark import find_dark_rendezvous
    from stsdetect.scale.windows import settle_dark_rendezvous

    # vessels on a 3 km grid (several pairs within 10 km), silences of 3-12 h; with
    # ``shared`` two rows may share an MMSI and overlap in time (a split identity)
    mmsi = [412000100 + (i % 3 if shared else i) for i in range(len(rows))]
    lat = [30.0 + 0.027 * r[0] for r in rows]
    lon = [122.0 + 0.031 * r[1] for r in rows]
    start = [r[2] for r in rows]
    end = [r[2] + r[3] for r in rows]
    cov = [r[6] for r in rows]
    before = _silences(lat, lon, start, end, mmsi, [r[4] for r in rows], cov)
    after = _silences(lat, lon, start, end, mmsi, [r[4] or r[5] for r in rows], cov)
    guess = find_dark_rendezvous(before)
    want = find_dark_rendezvous(after)
    got = settle_dark_rendezvous(guess, after)
    if not shared:
        assert got is not None  # one silence per vessel: always settled
    if got is not None:
        pd.testing.assert_frame_equal(got, want)


def test_windowed_finish_searches_dark_rendezvous_once(scenario, reference, tmp_path,
                                                       monkeypatch):
    # the status plan's provisional search is settled at the end, not run again
    import stsdetect.detectors.dark as dark

    calls = []
    search = dark.find_dark_rendezvous
    monkeypatch.setattr(dark, "find_dark_rendezvous",
                        lambda *a, **k: calls.append(1) or search(*a, **k))
    got = detect_windowed(split_files(scenario, [24, 48]), workdir=tmp_path / "w",
                          only=detectors())
    assert_same_events(got.events, reference)
    assert (reference["event_type"] == "dark_rendezvous").sum() >= 1
    assert len(calls) == 1


def test_stop_pieces_need_the_margin_the_plan_derives():
    # Why the margin is 4 h 1 min with the context stage and not the detectors' 2 h 11 min:
    # a stop piece's first report in a window links to the vessel's report before it when
    # that one is slow and at most the stops' max_gap (3 h) earlier. A ship creeping north
    # 400 m before a 2 h 40 min silence across midnight, 200 m during it, 390 m after: over
    # the whole data one stop (990 m long: within 500 m of its centre), as the step over
    # the silence links the two halves, whose own centres lie 595 m apart; loaded with the
    # detectors' 2 h 11 min margin the second window cannot see the report before the
    # silence, and the stop splits in two.
    from stsdetect.context.stops import find_stops, join_stop_pieces, stop_pieces
    from stsdetect.tracks import Tracks

    day = DAY0.value
    t_a = np.arange(12 * H, 21 * H + 40 * 60 + 1, 180.0)
    t_b = np.arange(24 * H + 20 * 60, 32 * H, 180.0)
    t = np.concatenate([t_a, t_b])
    north_m = np.concatenate([np.linspace(0.0, 400.0, t_a.size),
                              np.linspace(600.0, 990.0, t_b.size)])
    lat, lon = _latlon(np.zeros(t.size), north_m / 1000.0)
    track = Tracks.from_arrays(np.full(t.size, 412000777), day + (t * 1e9).astype(np.int64),
                               lat, lon, sog_kn=np.full(t.size, 0.3))
    whole = find_stops(track)
    assert len(whole) == 1

    def windowed(margin_s):
        pieces, ends = [], []
        for k in (0, 1):
            a, b = day + k * 86_400 * 10**9, day + (k + 1) * 86_400 * 10**9
            m = round(margin_s * 1e9)
            keep = (track.time_ns >= a - m) & (track.time_ns < b + m)
            part = Tracks.from_arrays(track.mmsi[keep], track.time_ns[keep],
                                      track.lat_deg[keep], track.lon_deg[keep],
                                      sog_kn=track.sog_kn[keep])
            p, e = stop_pieces(part, a, b)
            pieces.append(p)
            ends.append(e)
        return join_stop_pieces(pieces, ends)

    plan = make_plan()
    pd.testing.assert_frame_equal(windowed(plan.margin_s), whole)
    assert plan.margin_s == 4 * H + 60 and make_plan(context=False).margin_s == 2 * H + 11 * 60
    assert len(windowed(make_plan(context=False).margin_s)) == 2
