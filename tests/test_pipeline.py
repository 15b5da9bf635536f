"""detect(): the whole pipeline on crafted scenarios, the bundled demo's truth and real dumps."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from stsdetect.events import ENRICHMENT_COLUMNS, EVENT_COLUMNS
from stsdetect.geo import KNOT_M_S, haversine_m
from stsdetect.pipeline import DETECTORS, PARAMETERS, DetectResult, detect

T0 = pd.Timestamp("2024-03-01", tz="UTC")
H = 3600.0
DPRK = 445_123_456
BARGE = 412_987_654
WITNESS = 413_555_555
CARGO = 413_777_777
BARGE_SITE = (30.45, 121.45)  # Hangzhou Bay, inside China's territorial sea / internal waters


def _leg(mmsi, t_from_h, t_to_h, lat_from, lon_from, lat_to=None, lon_to=None, step_s=300.0,
         msg_type=1):
    """Reports every ``step_s`` moving in a straight line (degrees linearly) between two points."""
    lat_to = lat_from if lat_to is None else lat_to
    lon_to = lon_from if lon_to is None else lon_to
    t = np.arange(t_from_h * H, t_to_h * H + step_s / 2, step_s)
    f = (t - t[0]) / max(t[-1] - t[0], 1.0)
    lat = lat_from + f * (lat_to - lat_from)
    lon = lon_from + f * (lon_to - lon_from)
    dist = haversine_m(lat_from, lon_from, lat_to, lon_to)
    sog = dist / max(t[-1] - t[0], 1.0) / KNOT_M_S + 0.1
    return pd.DataFrame({
        "mmsi": np.full(t.size, mmsi, np.int64),
        "time": T0 + pd.to_timedelta(t, unit="s"),
        "lat": lat, "lon": lon,
        "sog_kn": np.full(t.size, sog), "cog_deg": np.full(t.size, np.nan),
        "heading_deg": np.full(t.size, np.nan),
        "nav_status": np.full(t.size, 15, np.int8), "msg_type": np.full(t.size, msg_type, np.int8),
        "source": pd.array([""] * t.size, dtype="string"),
    })


def _vessels(rows):
    return pd.DataFrame(rows, columns=["mmsi", "name", "ship_type", "ais_class", "length_m",
                                       "beam_m"]).astype({"mmsi": "int64", "ship_type": "Int64"})


def _transfer_scenario():
    """A DPRK ship goes dark 18 h crossing the sea, then lies alongside a barge in Hangzhou Bay."""
    positions = pd.concat([
        # Steams south-west for 6 h and vanishes at (33.0N, 124.0E) ...
        _leg(DPRK, 0, 6, 34.0, 124.5, 33.0, 124.0),
        # ... reappears 18 h later 280 m from the barge, lies there 5 h, then leaves east.
        _leg(DPRK, 24, 29, BARGE_SITE[0] + 0.002, BARGE_SITE[1] + 0.002, step_s=180),
        _leg(DPRK, 29.1, 32, BARGE_SITE[0] + 0.002, BARGE_SITE[1] + 0.45),
        # The barge (Class B, type 99) lies at its site for the whole day and a half.
        _leg(BARGE, 0, 36, *BARGE_SITE, step_s=180, msg_type=18),
        # Another ship is heard passing 11 km from the vanishing point during the silence.
        _leg(WITNESS, 4, 14, 33.1, 123.5, 33.1, 124.5),
    ], ignore_index=True)
    vessels = _vessels([(DPRK, "CHON MA SAN", 70, "A", 110.0, 18.0),
                        (BARGE, "", 99, "B", 45.0, 10.0),
                        (WITNESS, "EAST STAR", 70, "A", 180.0, 30.0)])
    return positions, vessels


def _one(events, **match):
    sel = np.ones(len(events), bool)
    for col, value in match.items():
        sel &= (events[col] == value).fillna(False).to_numpy(bool)
    assert sel.sum() == 1, f"expected one event matching {match}, got {int(sel.sum())}"
    return events[sel].iloc[0]


def test_dark_crossing_then_transfer_in_hangzhou_bay():
    positions, vessels = _transfer_scenario()
    result = detect(positions, vessels=vessels)
    assert isinstance(result, DetectResult)
    ev = result.events
    # the core columns first (contract C3); enrichment stages append theirs after them
    assert list(ev.columns[:len(EVENT_COLUMNS)]) == list(EVENT_COLUMNS)
    assert set(ENRICHMENT_COLUMNS) <= set(ev.columns)   # evidence, identity (#13)
    assert ev["start"].is_monotonic_increasing

    dark = _one(ev, event_type="dark_period", mmsi=DPRK)
    assert dark["start"] == T0 + pd.Timedelta(hours=6)
    assert dark["end"] == T0 + pd.Timedelta(hours=24)
    assert (dark["lat"], dark["lon"]) == pytest.approx((33.0, 124.0))
    assert dark["n_other_heard"] == 1 and dark["likely_intentional"]
    assert {"dprk", "likely_intentional", "hangzhou_bay"} <= set(dark["flags"])

    rv = _one(ev, event_type="rendezvous")
    assert (rv["mmsi"], rv["other_mmsi"]) == (BARGE, DPRK)
    assert rv["start"] >= T0 + pd.Timedelta(hours=24)
    assert rv["end"] <= T0 + pd.Timedelta(hours=29.2)
    assert rv["duration_h"] >= 4
    assert {"dprk", "barge", "hangzhou_bay", "china_territorial_sea", "dark_before"} <= set(
        rv["flags"])
    assert "dark_after" not in rv["flags"]
    # The flagged transfer ranks above everything else found.
    assert rv["score"] == ev["score"].max()

    # The barge lay still all along: loitering, no dark period of its own.
    _one(ev, event_type="loitering", mmsi=BARGE)
    assert not ((ev["event_type"] == "dark_period") & (ev["mmsi"] != DPRK)).any()
    assert result.tracks_report["rows_out"] == len(result.tracks) == len(positions)
    assert result.decode_report is None  # nothing was decoded


def test_sources_agree_and_row_order_does_not_matter():
    from stsdetect.ais import AISData, DecodeReport
    from stsdetect.tracks import build_tracks

    positions, vessels = _transfer_scenario()
    a = detect(positions, vessels=vessels).events
    b = detect(AISData(positions, vessels, DecodeReport())).events
    shuffled = positions.sample(frac=1.0, random_state=7).reset_index(drop=True)
    c = detect(shuffled, vessels=vessels).events
    pd.testing.assert_frame_equal(a, b)
    pd.testing.assert_frame_equal(a, c)
    d = detect(build_tracks(positions), vessels=vessels)
    assert d.positions is None
    assert sorted(d.events["event_type"]) == sorted(a["event_type"])


def _dark_pair_positions(sep_deg=0.045):
    """Two ships vanish together ~5 km apart and reappear together, while a third is heard."""
    return pd.concat([
        _leg(DPRK, 0, 4, 31.0, 123.0),
        _leg(DPRK, 16, 20, 31.3, 123.2),
        _leg(CARGO, 0, 4, 31.0 + sep_deg, 123.0),
        _leg(CARGO, 16, 20, 31.3 + sep_deg, 123.2),
        _leg(WITNESS, 0, 20, 31.1, 123.1),
    ], ignore_index=True)


def test_two_vessels_going_dark_together_give_a_dark_rendezvous():
    result = detect(_dark_pair_positions(), only=["dark_rendezvous"], regions=[])
    ev = result.events
    assert set(ev["event_type"]) == {"dark_rendezvous"}
    e = _one(ev, event_type="dark_rendezvous")
    assert (e["mmsi"], e["other_mmsi"]) == (CARGO, DPRK)
    assert e["distance_m"] == pytest.approx(5004, rel=0.01)
    assert e["start"] == T0 + pd.Timedelta(hours=4)
    assert e["end"] == T0 + pd.Timedelta(hours=16)
    assert {"dprk", "likely_intentional"} <= set(e["flags"])
    # Too far apart at both ends for the default 10 km: nothing.
    far = detect(_dark_pair_positions(sep_deg=0.2), only="dark_rendezvous", regions=[])
    assert len(far.events) == 0
    # ... unless the threshold is raised through detect()'s parameter.
    wide = detect(_dark_pair_positions(sep_deg=0.2), only="dark_rendezvous", regions=[],
                  dark_max_distance_m=30_000)
    assert len(wide.events) == 1


def test_receiver_outage_gives_gaps_that_are_not_intentional():
    # Every vessel in the area falls silent from 4 h to 16 h: the receiver, not the ships.
    parts = []
    for k in range(4):
        lat = 30.8 + 0.03 * k
        parts += [_leg(CARGO + k, 0, 4, lat, 122.6), _leg(CARGO + k, 16, 20, lat, 122.6)]
    result = detect(pd.concat(parts, ignore_index=True), only="dark", regions=[])
    ev = result.events
    assert len(ev) == 4 and set(ev["event_type"]) == {"dark_period"}
    assert (ev["n_other_heard"] == 0).all()
    assert not ev["likely_intentional"].any()
    assert not any("likely_intentional" in f for f in ev["flags"])


def test_parameters_reach_their_stage():
    positions, vessels = _transfer_scenario()
    # An 18 h silence is not longer than 20 h: no dark period, so no dark_before either.
    res = detect(positions, vessels=vessels, min_gap="20h")
    ev = res.events
    assert not (ev["event_type"] == "dark_period").any()
    rv = _one(ev, event_type="rendezvous")
    assert "dark_before" not in rv["flags"]
    assert res.params["dark_period"] == {"min_gap": "20h"}
    # Loitering parameters are their own: 2 days is longer than anything here.
    ev = detect(positions, vessels=vessels, loiter_min_duration="2d").events
    assert not (ev["event_type"] == "loitering").any()
    assert (ev["event_type"] == "rendezvous").sum() == 1
    # only= restricts the events returned but keeps dark_before on rendezvous.
    ev = detect(positions, vessels=vessels, only="rendezvous").events
    assert set(ev["event_type"]) == {"rendezvous"}
    assert "dark_before" in ev["flags"].iloc[0]


def test_watchlist_and_regions_are_applied():
    positions, vessels = _transfer_scenario()
    watch = pd.DataFrame({"name": ["Chon Ma San"], "mmsi": [""]})
    ev = detect(positions, vessels=vessels, watchlist=watch, regions=["hangzhou_bay"]).events
    rv = _one(ev, event_type="rendezvous")
    assert {"watchlist", "dprk", "hangzhou_bay"} <= set(rv["flags"])
    assert "china_territorial_sea" not in rv["flags"]  # only the region asked for
    assert not any("watchlist" in f for f in ev.loc[ev["mmsi"] == WITNESS, "flags"])
    with pytest.raises(ValueError):
        detect(positions, regions=["atlantis"])


def test_bad_arguments_are_named():
    positions, _ = _transfer_scenario()
    with pytest.raises(TypeError, match="min_gapp"):
        detect(positions, min_gapp="6h")
    with pytest.raises(ValueError, match="only"):
        detect(positions, only=["rendezvous", "teleport"])
    with pytest.raises(TypeError, match="format"):
        detect(positions, format="nmea")
    with pytest.raises(TypeError, match="cannot read AIS"):
        detect(42)
    with pytest.raises(TypeError, match="vessels"):
        detect(positions, vessels=[1, 2])
    with pytest.raises(ValueError, match="duration"):
        detect(positions, min_gap="a while")
    assert set(PARAMETERS) >= {"max_distance_m", "min_duration", "max_speed_kn", "step",
                               "max_gap", "min_gap", "dark_radius_m", "dark_max_distance_m",
                               "min_overlap", "loiter_max_speed_kn", "loiter_min_duration"}


def test_empty_positions_give_an_empty_table():
    positions, _ = _transfer_scenario()
    result = detect(positions.iloc[:0], regions=[])
    assert len(result.events) == 0
    assert list(result.events.columns[:len(EVENT_COLUMNS)]) == list(EVENT_COLUMNS)
    assert set(ENRICHMENT_COLUMNS) <= set(result.events.columns)   # evidence, identity (#13)


def test_bundled_demo_matches_its_truth():
    from stsdetect.simulate import demo_path, demo_truth_path, read_truth

    result = detect(demo_path())
    ev, truth = result.events, read_truth(demo_truth_path())
    assert result.decode_report is not None and result.decode_report.lines > 0
    other = ev["other_mmsi"].fillna(-1).astype("int64")
    for row in truth.itertuples():
        same = ((ev["event_type"] == row.event_type) & (ev["mmsi"] == row.mmsi)
                & (other == (-1 if pd.isna(row.other_mmsi) else int(row.other_mmsi)))
                & (ev["start"] < row.end) & (ev["end"] > row.start))
        if row.expect_detected:
            assert same.sum() == 1, f"{row.kind} {row.mmsi}-{row.other_mmsi} not found once"
            expected = set(filter(None, str(row.expected_flags or "").split(";")))
            assert expected <= set(ev[same]["flags"].iloc[0]), row.kind
        else:
            assert same.sum() == 0, f"decoy {row.kind} reported"


def test_real_dump_single_drifting_vessel(shared_data):
    # DMA test dump: one vessel drifting for 14.5 h, reported by three stations (duplicates).
    result = detect(shared_data / "dma-aisabnormal" / "212123000_drift_1.ais", regions=[])
    assert result.decode_report.lines > 10_000
    assert result.tracks_report["dropped_duplicate"] > 0
    ev = result.events
    assert set(ev["event_type"]) == {"loitering"}
    lo = _one(ev, event_type="loitering", mmsi=212_123_000)
    assert lo["duration_h"] > 10 and lo["mean_sog_kn"] < 2


def test_real_gfw_track_gaps_equal_reference(shared_data):
    # GFW segmenter test track: a single vessel with multi-hour holes in coverage.
    result = detect(shared_data / "gfw-gpsdio-segment" / "338013000.json", only="dark",
                    regions=[])
    t = result.tracks
    gaps = np.flatnonzero((np.diff(t.time_ns) > 6 * H * 10**9) & (np.diff(t.segment) == 0))
    got = (result.events["start"] - pd.Timestamp(0, tz="UTC")).dt.total_seconds().to_numpy()
    assert len(gaps) >= 1
    np.testing.assert_allclose(np.sort(got), np.sort((t.time_ns / 1e9)[gaps]), atol=1e-3)
    assert (result.events["n_other_heard"] == 0).all()  # nobody else in the file


def test_progress_bar_runs(capsys):
    positions, vessels = _transfer_scenario()
    detect(positions, vessels=vessels, progress=True, regions=[])
    assert "stsdetect" in capsys.readouterr().err
    assert DETECTORS == ("rendezvous", "dark_period", "dark_rendezvous", "loitering")


def test_no_progress_bar_and_tqdm_unloaded_without_progress():
    """progress=False draws nothing, and (a start-up cost of the command, ~0.02 s) does not
    import tqdm, whose ``tqdm.auto`` imports asyncio."""
    import subprocess
    import sys

    code = ("import sys; from stsdetect.pipeline import detect; "
            "r = detect(sys.argv[1], regions=[]); "
            "print(len(r.events), any(m.split('.')[0] == 'tqdm' for m in sys.modules))")
    from stsdetect.simulate import demo_path  # the bundled demo dump

    out = subprocess.run([sys.executable, "-c", code, str(demo_path())], capture_output=True,
                         text=True, check=True)
    n_events, loaded = out.stdout.split()
    assert int(n_events) > 0 and loaded == "False"
    assert "stsdetect" not in out.stderr
