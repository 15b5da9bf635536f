"""Identity: MID table, MMSI forms, DPRK, IMO check digits, watch-lists, barges, anomalies."""

from __future__ import annotations

import warnings
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from stsdetect.detectors.tows import find_tows, tug_mmsi
from stsdetect.identity import (
    MMSI_KINDS,
    classify_barges,
    flag_state,
    identity_anomalies,
    imo_valid,
    is_dprk,
    is_placeholder_mmsi,
    load_watchlist,
    match_watchlist,
    mid_of,
    mid_table,
    mmsi_kind,
    normalise_name,
)
from stsdetect.tracks import Tracks

EXAMPLES = Path(__file__).resolve().parents[1] / "examples"
ALLOCATED = mid_table()["mid"].to_numpy()

# --------------------------------------------------------------------------- MID table


def test_mid_table_shape_and_known_entries():
    t = mid_table()
    assert 280 <= len(t) <= 300
    assert t["mid"].is_unique
    assert t["mid"].between(201, 775).all()
    assert t["iso2"].str.fullmatch(r"[A-Z]{2}").all()  # "NA" (Namibia) must not become NaN
    by_mid = t.set_index("mid")
    expected = {445: "KP", 440: "KR", 441: "KR", 412: "CN", 413: "CN", 414: "CN", 416: "TW",
                477: "HK", 453: "MO", 232: "GB", 235: "GB", 338: "US", 366: "US", 369: "US",
                351: "PA", 357: "PA", 370: "PA", 373: "PA", 374: "PA", 636: "LR", 538: "MH",
                659: "NA", 273: "RU", 431: "JP", 667: "SL", 511: "PW", 572: "TV", 620: "KM"}
    for mid, iso in expected.items():
        assert by_mid.loc[mid, "iso2"] == iso, mid
    assert "Democratic People's Republic" in by_mid.loc[445, "country"]
    # MIDs that the ITU has not allocated
    for mid in (200, 217, 221, 222, 223, 260, 280, 300, 400, 500, 600, 700, 776, 999):
        assert mid not in by_mid.index


def test_mid_table_every_country_has_one_iso_code_per_name():
    t = mid_table()
    assert (t.groupby("country")["iso2"].nunique() == 1).all()


# --------------------------------------------------------------------------- MMSI forms

CASES = [
    (445123456, "ship", 445),
    (412000001, "ship", 412),
    (2320001, "coast_station", 232),        # 00 232 0001
    (4450001, "coast_station", 445),
    (44512345, "group", 445),               # 0 445 12345
    (111445123, "sar_aircraft", 445),
    (111232001, "sar_aircraft", 232),
    (992351234, "aton", 235),
    (994121234, "aton", 412),
    (984451234, "craft_with_parent", 445),
    (844512345, "handheld_vhf", 445),
    (970123456, "sart_mob_epirb", -1),
    (972000001, "sart_mob_epirb", -1),
    (974123456, "sart_mob_epirb", -1),
    (976123456, "invalid", -1),            # 97x other than 970/972/974
    (200123456, "invalid", -1),            # MID 200 not allocated
    (981234567, "invalid", -1),            # 98 + MID 123 not allocated
    (112445123, "invalid", -1),            # 1xx other than 111
    (0, "invalid", -1),
    (-445123456, "invalid", -1),
    (1_000_000_000, "invalid", -1),        # ten digits
    (999999999, "invalid", -1),            # 99 + MID 999
]


@pytest.mark.parametrize(("mmsi", "kind", "mid"), CASES)
def test_mmsi_forms(mmsi, kind, mid):
    assert mmsi_kind([mmsi])[0] == kind
    assert mid_of([mmsi])[0] == mid
    assert is_dprk([mmsi])[0] == (mid == 445)


def test_mmsi_kinds_vectorized_and_missing_values():
    arr = np.array([c[0] for c in CASES], dtype=np.int64)
    assert list(mmsi_kind(arr)) == [c[1] for c in CASES]
    assert set(mmsi_kind(arr)) <= set(MMSI_KINDS)
    s = pd.Series([445123456, None, 412000001], dtype="Int64")
    assert list(mmsi_kind(s)) == ["ship", "invalid", "ship"]
    assert list(mmsi_kind(["445123456", "abc", 4.5e8 + 0.5])) == ["ship", "invalid", "invalid"]
    assert mmsi_kind([]).shape == (0,)


@settings(max_examples=60, deadline=None)
@given(st.sampled_from(list(ALLOCATED)), st.integers(0, 999))
def test_every_form_recovers_its_mid(mid, suffix):
    mid = int(mid)
    forms = {
        "ship": mid * 1_000_000 + suffix * 1000 + suffix,
        "group": mid * 100_000 + suffix,
        "coast_station": mid * 10_000 + suffix,
        "sar_aircraft": 111_000_000 + mid * 1000 + suffix,
        "craft_with_parent": 980_000_000 + mid * 10_000 + suffix,
        "aton": 990_000_000 + mid * 10_000 + suffix,
        "handheld_vhf": 800_000_000 + mid * 100_000 + suffix,
    }
    kinds = mmsi_kind(list(forms.values()))
    assert list(kinds) == list(forms)
    assert (mid_of(list(forms.values())) == mid).all()


def test_flag_state_columns():
    fs = flag_state([445123456, 2320001, 970123456, 412999001])
    assert list(fs.columns) == ["mmsi", "kind", "mid", "country", "iso2", "is_flag"]
    assert list(fs["iso2"].iloc[[0, 1, 3]]) == ["KP", "GB", "CN"]
    assert pd.isna(fs["iso2"].iloc[2]) and pd.isna(fs["mid"].iloc[2])
    assert list(fs["is_flag"]) == [True, False, False, True]
    assert len(flag_state([])) == 0


def test_placeholders():
    assert list(is_placeholder_mmsi([0, 111111111, 999999999, 123456789, 412000000,
                                     445123456, 412000001])) == [True] * 5 + [False] * 2


# --------------------------------------------------------------------------- IMO


def _imo_check_oracle(n: int) -> bool:
    s = str(n)
    weights = range(7, 1, -1)
    total = sum(int(d) * w for d, w in zip(s[:6], weights, strict=True))
    return len(s) == 7 and total % 10 == int(s[6])


def test_imo_known_numbers():
    # 9074729 is the worked example in IMO Res. A.1078(28); 1000019 our made-up example
    assert list(imo_valid([9074729, "IMO 9074729", 9074728, None, np.nan, 0, 1000019,
                           "12345678", "abc"])) == [True, True, False, False, False, False,
                                                   True, False, False]


@settings(max_examples=80, deadline=None)
@given(st.integers(1_000_000, 9_999_999))
def test_imo_matches_string_oracle(n):
    assert imo_valid([n])[0] == _imo_check_oracle(n)


# --------------------------------------------------------------------------- watch-lists


def test_normalise_name_variants():
    names = ["Sea-Falcon  No.7", "SEA FALCON NO 7", "sea falcon no.7", " SEAFALCON NO7 "]
    assert normalise_name(names).nunique() == 1
    assert normalise_name(["Café"]).iloc[0] == "CAFE"
    assert normalise_name(["", None, "--"]).isna().all()


def test_load_example_watchlist_opensanctions_layout():
    w = load_watchlist(EXAMPLES / "watchlist_example.csv")
    assert list(w.columns) == ["entry", "entry_name", "entry_flag", "entry_flag_iso", "field",
                               "value", "raw"]
    assert w.loc[w["entry"] == 0, "entry_flag_iso"].iloc[0] == "KP"      # DPRK in the list
    assert w.loc[w["entry"] == 3, "entry_flag_iso"].iloc[0] == "SL"      # Sierra Leone
    assert w.loc[w["entry"] == 1, "entry_flag_iso"].iloc[0] == ""        # "Unknown"
    got = set(map(tuple, w[["entry", "field", "value"]].to_numpy().tolist()))
    # multi-value cells "1: ..., 2: ..." are split; "IMO 1000021" read as 1000021
    for item in [(0, "name", "EXAMPLESTAR"), (0, "name", "EXAMPLESTAR7"),
                 (0, "callsign", "XX9ZZ"), (0, "callsign", "XX9ZY"), (0, "imo", "1000019"),
                 (1, "imo", "1000021"), (1, "mmsi", "445999002"), (1, "mmsi", "412999003"),
                 (1, "name", "SAMPLEVOYAGERNO3"), (3, "imo", "1000033"),
                 (3, "imo", "1000045")]:
        assert item in got, item
    assert w.loc[w["entry"] == 0, "entry_name"].iloc[0] == "EXAMPLE STAR"
    # every made-up IMO passes its check digit, as real ones do
    assert imo_valid(w.loc[w["field"] == "imo", "value"]).all()


def test_load_watchlist_errors_and_simple_layout(tmp_path):
    with pytest.raises(FileNotFoundError):
        load_watchlist(tmp_path / "nope.csv")
    with pytest.raises(ValueError, match="no identifier column"):
        load_watchlist(pd.DataFrame({"owner": ["x"]}))
    w = load_watchlist(pd.DataFrame({"Name": ["Alpha; Beta"], "IMO": ["9074729"]}))
    assert set(w["value"]) == {"ALPHA", "BETA", "9074729"}


def test_match_watchlist_imo_name_callsign_mmsi():
    w = load_watchlist(EXAMPLES / "watchlist_example.csv")
    vessels = pd.DataFrame({
        "mmsi": [412111111, 413222222, 445999001, 440000001, 431000001],
        "imo": pd.array([1000021, None, None, 9074729, 1000020], dtype="Int64"),
        "name": ["OTHER", "Example-Star  7", "Z", "nobody", "EXAMPLE STARS"],
        "callsign": ["", "", "", "zz0tt", ""],
        "names": ["OTHER;sample voyager", "", "", "", ""],
    })
    m = match_watchlist(vessels, w, mmsi=[412999003, 441000000]).set_index("mmsi")
    assert m.loc[412111111, "matched"] and "imo 1000021" in m.loc[412111111, "reason"]
    assert "SAMPLEVOYAGER" in m.loc[412111111, "reason"]          # via the names list
    assert m.loc[413222222, "matched"]                             # name variant
    assert m.loc[445999001, "matched"]                             # mmsi
    assert m.loc[440000001, "matched"] and "callsign" in m.loc[440000001, "reason"]
    assert m.loc[412999003, "matched"]                             # second mmsi of a cell
    assert not m.loc[431000001, "matched"]                        # near-miss IMO and name
    assert not m.loc[441000000, "matched"] and m.loc[441000000, "reason"] == ""


def test_match_watchlist_empty_vessels():
    m = match_watchlist(None, EXAMPLES / "watchlist_example.csv")
    assert len(m) == 0 and list(m.columns) == ["mmsi", "matched", "reason"]
    m = match_watchlist(pd.DataFrame({"mmsi": np.zeros(0, np.int64)}),
                        EXAMPLES / "watchlist_example.csv", mmsi=[445999002])
    assert m["matched"].tolist() == [True]


# --------------------------------------------------------------------------- barges


def _vessels(**cols):
    n = len(next(iter(cols.values())))
    base = {"mmsi": np.arange(412000001, 412000001 + n), "name": ["X"] * n,
            "ship_type": pd.array([70] * n, dtype="Int64"), "length_m": [150.0] * n,
            "beam_m": [25.0] * n, "ais_class": ["A"] * n}
    base.update(cols)
    return pd.DataFrame(base)


def test_barge_rules_crafted():
    v = _vessels(
        mmsi=[412000001, 412000002, 412000003, 412000004, 412000005, 235000001, 412000006,
              412000007, 412000008],
        name=["HAI XING BARGE 3", "X", "X", "X", "X", "X", "X", "LIGHTER", "X"],
        ship_type=pd.array([70, 99, 0, None, 99, 99, 52, 52, 70], dtype="Int64"),
        length_m=[150.0, 150, 60, 150, 150, 150, 30, 30, 150],
        beam_m=[25.0, 25, 12, 25, 25, 25, 8, 8, 25],
        ais_class=["A", "B", "A", "A", "A", "A", "A", "A", "A"],
    )
    b = classify_barges(v).set_index("mmsi")
    assert b.loc[412000001, "is_barge"] and "name:BARGE" in b.loc[412000001, "reason"]
    assert b.loc[412000002, "is_barge"] and "class_b" in b.loc[412000002, "reason"]
    assert b.loc[412000003, "is_barge"] and "small:60x12m" in b.loc[412000003, "reason"]
    assert b.loc[412000004, "is_barge"] and "ship_type:missing" in b.loc[412000004, "reason"]
    assert b.loc[412000005, "is_barge"]                        # type 99 + Chinese MID
    assert not b.loc[235000001, "is_barge"]                    # type 99, big, UK, class A
    assert not b.loc[412000006, "is_barge"]                    # tug
    assert b.loc[412000007, "is_barge"]                        # tug type, but named LIGHTER
    assert not b.loc[412000008, "is_barge"] and b.loc[412000008, "reason"] == "china_mid"


def test_barge_no_static_and_class_b_positions():
    v = _vessels(mmsi=[235000001])
    positions = pd.DataFrame({"mmsi": [235000002, 235000003, 412000009],
                              "msg_type": np.array([18, 1, 1], dtype=np.int8)})
    b = classify_barges(v, positions=positions).set_index("mmsi")
    assert b.loc[235000002, "is_barge"]          # no static, Class B
    assert not b.loc[235000003, "is_barge"]      # no static, Class A, UK: not enough
    assert b.loc[412000009, "is_barge"]          # no static, Chinese MID
    assert b.loc[412000009, "reason"] == "no_static; china_mid"
    # without a vessels table nothing is known about static data
    b2 = classify_barges(None, positions=positions).set_index("mmsi")
    assert not b2["is_barge"].any()


def test_barge_eri_type():
    v = _vessels(mmsi=[211000001, 211000002], eri_type=[8160, 8010])
    b = classify_barges(v).set_index("mmsi")
    assert b.loc[211000001, "is_barge"] and "eri_type:8160" in b.loc[211000001, "reason"]
    assert not b.loc[211000002, "is_barge"]


def test_barge_empty_inputs():
    out = classify_barges(None)
    assert list(out.columns) == ["mmsi", "is_barge", "strength", "reason"] and len(out) == 0
    out = classify_barges(pd.DataFrame({"mmsi": np.zeros(0, np.int64)}), tracks=Tracks.empty())
    assert len(out) == 0


@settings(max_examples=20, deadline=None)
@given(st.permutations(range(9)))
def test_barge_order_invariant(perm):
    v = _vessels(
        mmsi=np.arange(412000001, 412000010),
        name=["BARGE", "X", "X", "X", "X", "X", "X", "X", "X"],
        ship_type=pd.array([70, 99, 0, None, 99, 99, 52, 52, 70], dtype="Int64"),
        length_m=[150.0, 150, 60, 150, 150, 150, 30, 30, 150],
        beam_m=[25.0, 25, 12, 25, 25, 25, 8, 8, 25],
        ais_class=["A", "B", "A", "A", "A", "A", "A", "A", "A"],
    )
    a = classify_barges(v)
    b = classify_barges(v.iloc[list(perm)])
    pd.testing.assert_frame_equal(a, b)


def _tow_tracks(tug=412500001, tow=412500002, stranger=412500003, hours=2.0, sog=6.0):
    t = np.arange(0, hours * 3600, 60.0) + 1.7e9
    lat = 30.5 + np.arange(t.size) * (sog * 1852 / 60 / 111_195)   # moving north at sog
    lon = np.full(t.size, 122.0)
    m = np.concatenate([np.full(t.size, tug), np.full(t.size, tow), np.full(t.size, stranger)])
    return Tracks.from_arrays(
        m, np.tile(t, 3),
        np.concatenate([lat, lat - 0.002, lat + 0.2]),     # tow 220 m astern; stranger 22 km
        np.tile(lon, 3), np.full(m.size, sog),
    )


def test_tow_detection_marks_barge():
    tracks = _tow_tracks()
    tows = find_tows(tracks, [412500001])
    assert tows[["tug_mmsi", "mmsi"]].to_numpy().tolist() == [[412500001, 412500002]]
    v = _vessels(mmsi=[412500001, 412500002, 412500003],
                 ship_type=pd.array([52, 70, 70], dtype="Int64"))
    assert tug_mmsi(v).tolist() == [412500001]
    b = classify_barges(v, tracks=tracks, tows=tows).set_index("mmsi")
    assert b.loc[412500002, "is_barge"] and "towed_by:412500001" in b.loc[412500002, "reason"]
    assert b.loc[412500002, "strength"] == "strong"
    # flags consume tables only: without the tow table there is no tow evidence
    b = classify_barges(v, tracks=tracks).set_index("mmsi")
    assert not b.loc[412500002, "is_barge"]
    assert not b.loc[412500003, "is_barge"] and not b.loc[412500001, "is_barge"]


def test_tow_needs_an_hour_and_motion():
    assert len(find_tows(_tow_tracks(hours=0.5), [412500001])) == 0
    assert len(find_tows(_tow_tracks(sog=0.5), [412500001])) == 0
    assert len(find_tows(Tracks.empty(), [412500001])) == 0
    assert len(find_tows(_tow_tracks(), [])) == 0
    # two tugs in company are not a tow
    assert len(find_tows(_tow_tracks(), [412500001, 412500002])) == 0


def test_tow_found_after_lying_together_at_anchor():
    """Hours moored alongside (0 kn) before a 1.5 h tow: only the moving part counts."""
    moored = _tow_tracks(hours=5.0, sog=0.0)
    towing = _tow_tracks(hours=1.5, sog=6.0)
    shift = 5.0 * 3600
    both = Tracks.from_arrays(
        np.concatenate([moored.mmsi, towing.mmsi]),
        np.concatenate([(moored.time_ns / 1e9), (towing.time_ns / 1e9) + shift]),
        np.concatenate([moored.lat_deg, towing.lat_deg]),
        np.concatenate([moored.lon_deg, towing.lon_deg]),
        np.concatenate([moored.sog_kn, towing.sog_kn]))
    tows = find_tows(both, [412500001])
    assert tows[["tug_mmsi", "mmsi"]].to_numpy().tolist() == [[412500001, 412500002]]
    assert 3600 <= tows["duration_s"].iloc[0] <= 1.5 * 3600


def _intermittent_tracks(seed: int) -> tuple[Tracks, list[int]]:
    """Six vessels (two tugs) moving together, with stops of a few hours and silences of
    every length around the pair search's limits (1 h interpolation, 2.3 h time bins)."""
    rng = np.random.default_rng(seed)
    rows = []
    for v in range(6):
        t = 1.7e9 + rng.uniform(0, 1800)
        phase_end, sog = t, 6.0
        while t < 1.7e9 + 30 * 3600:
            if t >= phase_end:  # moving or stopped for 1-8 hours
                phase_end, sog = t + rng.uniform(1, 8) * 3600, rng.choice([0.5, 6.0])
            lat = 30.5 + (t - 1.7e9) * 6 * 1852 / 3600 / 111_195 + rng.normal(0, 0.001)
            rows.append((412500001 + v, t, lat, 122.0 + v * 0.001, sog))
            t += rng.choice([60.0, 300.0, 50 * 60.0, 70 * 60.0, 2.4 * 3600, 5 * 3600],
                            p=[0.7, 0.27, 0.01, 0.01, 0.005, 0.005])
    m, t, lat, lon, sog = (np.array(c) for c in zip(*rows, strict=True))
    return Tracks.from_arrays(m, t, lat, lon, sog), [412500001, 412500004]


def _tug_pair_runs(runs, tugs):
    one_tug = np.isin(runs["mmsi"], tugs) ^ np.isin(runs["other_mmsi"], tugs)
    return runs[one_tug].drop(columns=["segment", "other_segment"]).reset_index(drop=True)


@settings(max_examples=25, deadline=None)
@given(st.integers(0, 2**32 - 1))
def test_tows_search_near_tugs_equals_the_search_over_every_moving_report(seed):
    """find_tows gives the pair search only the reports near a moving tug's in time: every
    run of a pair with a tug, and so the tows table, equals the search over all moving
    reports (the oracle)."""
    from stsdetect.detectors import tows as T
    from stsdetect.detectors.rendezvous import find_pair_runs

    tracks, tugs = _intermittent_tracks(seed)
    moving = tracks.sog_kn > 2.0
    kw = {"max_distance_m": 500.0, "min_duration": "1h", "step": "10min",
          "max_gap": T._PAIR_MAX_GAP, "tolerance": T._PAIR_TOLERANCE}
    want = _tug_pair_runs(find_pair_runs(tracks.take(moving), **kw), tugs)
    tug_ns = tracks.time_ns[moving & np.isin(tracks.mmsi, tugs)]
    reach_ns = T._reach_ns("10min")
    assert reach_ns >= (2 * 3600 + 600 + 600) * 10**9  # 2 max_gap + step + tolerance
    near = T._near_tug_times(tracks.time_ns, tug_ns, reach_ns)
    assert near[moving & np.isin(tracks.mmsi, tugs)].all()
    got = _tug_pair_runs(find_pair_runs(tracks.take(moving & near), **kw), tugs)
    pd.testing.assert_frame_equal(got, want)
    # the tows table: runs of a tug with a non-tug, both moving (the rule of find_tows)
    fast = (want["median_sog_kn_a"] > 2.0) & (want["median_sog_kn_b"] > 2.0)
    a_tug = np.isin(want["mmsi"], tugs)
    pairs = sorted({(int(a), int(b)) if t else (int(b), int(a)) for a, b, t in
                    zip(want["mmsi"][fast], want["other_mmsi"][fast], a_tug[fast],
                        strict=True)})
    assert find_tows(tracks, tugs)[["tug_mmsi", "mmsi"]].to_numpy().tolist() == \
        [list(p) for p in pairs]


@settings(max_examples=80, deadline=None)
@given(st.lists(st.integers(-10**6, 10**6), min_size=1, max_size=30),
       st.lists(st.integers(-3 * 10**6, 3 * 10**6), max_size=60), st.integers(1, 400_000))
def test_near_tug_times_equals_the_masked_route(tug_s, t_s, reach_s):
    """_near_tug_times (each report's bin clipped in place) against the route it replaced
    (the reports inside the marked range looked up, the others False)."""
    from stsdetect.detectors import tows as T

    base = 1_700_000_000 * 10**9
    time_ns = base + np.array(t_s, np.int64) * 10**9
    tug_ns = base + np.array(tug_s, np.int64) * 10**9
    reach_ns = reach_s * 10**9
    t0 = int(tug_ns.min()) - 2 * reach_ns
    n_bins = (int(tug_ns.max()) + 2 * reach_ns - t0) // reach_ns + 1
    marked = np.zeros(n_bins + 2, dtype=bool)
    for d in (0, 1, 2):
        marked[(tug_ns - t0) // reach_ns + d] = True
    rel = time_ns - t0
    inside = (rel >= 0) & (rel < n_bins * reach_ns)
    want = np.zeros(time_ns.shape, dtype=bool)
    want[inside] = marked[rel[inside] // reach_ns + 1]
    np.testing.assert_array_equal(T._near_tug_times(time_ns, tug_ns, reach_ns), want)


def _activity_oracle(tracks, positions):
    """vessel_activity by pandas groupby (the oracle): first/last cleaned report per MMSI,
    seconds at sea speed to the next report (capped), raw span of reports with a time."""
    from stsdetect.identity.barges import SEA_GAP_CAP_S, SEA_SPEED_KN

    f = pd.DataFrame({"mmsi": tracks.mmsi, "t": tracks.time_ns, "lat": tracks.lat_deg,
                      "lon": tracks.lon_deg, "sog": tracks.sog_kn}).sort_values(
        ["mmsi", "t"], kind="stable")
    nxt = f.groupby("mmsi")["t"].shift(-1)
    step = ((nxt - f["t"]) / 1e9).clip(0, SEA_GAP_CAP_S).fillna(0.0)
    f["sea"] = np.where(f["sog"] >= SEA_SPEED_KN, step, 0.0)
    g = f.groupby("mmsi")
    out = pd.DataFrame({"t_first_ns": g["t"].first(), "lat_first": g["lat"].first(),
                        "lon_first": g["lon"].first(), "t_last_ns": g["t"].last(),
                        "lat_last": g["lat"].last(), "lon_last": g["lon"].last(),
                        "sea_s": g["sea"].sum(), "tail_s": 0.0})
    p = pd.DataFrame({"mmsi": pd.to_numeric(positions["mmsi"], errors="coerce"),
                      "t": pd.DatetimeIndex(positions["time"]).as_unit("ns").asi8,
                      "ok": positions["time"].notna().to_numpy()})
    p = p[p["ok"] & p["mmsi"].notna()].astype({"mmsi": np.int64})
    span = p.groupby("mmsi")["t"].agg(["min", "max"]).set_axis(
        ["pos_first_ns", "pos_last_ns"], axis=1)
    out = out.join(span, how="outer").reset_index()
    out[["t_first_ns", "t_last_ns", "pos_first_ns", "pos_last_ns"]] = out[
        ["t_first_ns", "t_last_ns", "pos_first_ns", "pos_last_ns"]].fillna(-1)
    out[["sea_s", "tail_s"]] = out[["sea_s", "tail_s"]].fillna(0.0)
    from stsdetect.identity.activity import ACTIVITY_COLUMNS

    return out[list(ACTIVITY_COLUMNS)].astype(ACTIVITY_COLUMNS)


@settings(max_examples=25, deadline=None)
@given(st.integers(0, 2**32 - 1), st.booleans(), st.booleans())
def test_vessel_activity_equals_a_groupby_oracle(seed, split, float_mmsi):
    """The compiled passes of vessel_activity (sea steps, per-MMSI raw span from a hash
    table) equal pandas groupby, with and without a split MMSI, NaT times and (as floats)
    missing MMSIs in the raw positions."""
    from stsdetect.identity.activity import vessel_activity

    rng = np.random.default_rng(seed)
    n = 300
    mmsi = rng.choice([412000001, 412000002, 412000003, 413000004], n)
    t = 1.7e9 + np.sort(rng.uniform(0, 86400, n))
    sog = rng.choice([0.5, 8.0, 12.0, np.nan], n)
    segment = (rng.random(n) < 0.3).astype(int) if split else None
    tracks = Tracks.from_arrays(mmsi, t, 30 + rng.random(n), 122 + rng.random(n), sog,
                                segment=segment)
    pos = pd.DataFrame({"mmsi": mmsi, "time": pd.to_datetime(t, unit="s", utc=True)})
    pos = pd.concat([pos, pd.DataFrame({"mmsi": [414000005, 412000001, 415000006],
                                        "time": pd.to_datetime([1.6e9, None, None],
                                                               unit="s", utc=True)})],
                    ignore_index=True)
    if float_mmsi:
        pos["mmsi"] = pos["mmsi"].astype(float)
        pos = pd.concat([pos, pd.DataFrame({"mmsi": [np.nan], "time": pd.to_datetime(
            [1.65e9], unit="s", utc=True).as_unit(pos["time"].dt.unit)})], ignore_index=True)
    got = vessel_activity(tracks, pos)
    pd.testing.assert_frame_equal(got, _activity_oracle(tracks, pos), check_exact=False,
                                  rtol=1e-12)


@settings(max_examples=40, deadline=None)
@given(st.integers(0, 2**32 - 1), st.booleans(), st.booleans())
def test_activity_join_sides_have_one_row_per_mmsi(seed, split, windowed):
    """What makes the pandas-merge fallback of _outer_join (for sides with several rows of
    one MMSI) dead, and so removed: for any Tracks (rows in any order, MMSIs split into
    interleaved segments) and positions (repeated, missing or out-of-core MMSIs and times),
    whole or in a window core, the tracks' part and the raw part each have strictly
    increasing MMSIs, and the activity table has one row per MMSI of their union."""
    from stsdetect.identity.activity import _position_part, _track_part, vessel_activity

    rng = np.random.default_rng(seed)
    n = int(rng.integers(1, 200))
    mmsi = rng.choice([412000001, 412000002, 412000003, 413000004], n)
    t = 1.7e9 + rng.uniform(0, 86400, n)  # unsorted: from_arrays sorts
    segment = rng.integers(0, 3, n) if split else None
    tracks = Tracks.from_arrays(mmsi, t, 30 + rng.random(n), 122 + rng.random(n),
                                rng.choice([0.5, 12.0, np.nan], n), segment=segment)
    k = int(rng.integers(0, 6))
    pos = pd.DataFrame({
        "mmsi": np.concatenate((mmsi, rng.choice([412000001, 414000005], k))),
        "time": pd.to_datetime(np.concatenate((t, 1.7e9 + rng.uniform(-3e4, 1e5, k))),
                               unit="s", utc=True)})
    core = (int(1.7e9 + rng.uniform(0, 4e4)) * 10**9, int(1.7e9 + 5e4) * 10**9) \
        if windowed else (None, None)
    for side in (_track_part(tracks, *core), _position_part(pos, *core)):
        m = side["mmsi"].to_numpy()
        assert np.all(m[1:] > m[:-1])
    got = vessel_activity(tracks, pos, core=core if windowed else None)["mmsi"].to_numpy()
    want = np.union1d(_track_part(tracks, *core)["mmsi"], _position_part(pos, *core)["mmsi"])
    np.testing.assert_array_equal(got, want)


@settings(max_examples=60, deadline=None)
@given(st.integers(0, 2**32 - 1), st.integers(1, 250), st.floats(-2e4, 9e4), st.floats(0, 9e4))
def test_core_part_equals_the_masked_route_to_the_bit(seed, n, a_s, length_s):
    """A window core's activity of unsplit tracks by runs (_core_part) equals the general
    masked route (_masked_part) exactly: same rows, same sums to the last bit, cores that
    cut vessels, hold none of them, or end at the last row."""
    from stsdetect._order import sea_steps
    from stsdetect.identity.activity import _core_part, _masked_part
    from stsdetect.identity.barges import SEA_GAP_CAP_S, SEA_SPEED_KN

    rng = np.random.default_rng(seed)
    mmsi = rng.choice([412000001, 412000002, 412000003, 413000004, 413000005], n)
    t = 1.7e9 + rng.uniform(0, 86400, n)
    tracks = Tracks.from_arrays(mmsi, t, 30 + rng.random(n), 122 + rng.random(n),
                                rng.choice([0.5, 8.0, 12.0, 30.0, np.nan], n))
    sea = sea_steps(tracks.mmsi, tracks.time_ns, tracks.sog_kn, float(SEA_SPEED_KN),
                    float(SEA_GAP_CAP_S))
    a_ns = int((1.7e9 + a_s) * 1e9)
    b_ns = a_ns + int(length_s * 1e9)
    got = _core_part(tracks, sea, a_ns, b_ns)
    want = _masked_part(tracks.mmsi, tracks.time_ns, tracks.lat_deg, tracks.lon_deg,
                        tracks.sog_kn, sea, a_ns, b_ns)
    pd.testing.assert_frame_equal(got.reset_index(drop=True), want.reset_index(drop=True),
                                  check_exact=True)


def test_vessel_activity_refuses_heard_with_a_duplicated_mmsi():
    """A ``heard`` table given by hand with an MMSI twice (e.g. two windows' spans
    concatenated) is refused, not joined into two rows of one vessel."""
    from stsdetect.identity.activity import vessel_activity

    tracks = Tracks.from_arrays([412000001] * 3, 1.7e9 + np.arange(3) * 60.0, [30.0] * 3,
                                [122.0] * 3)
    pos = tracks.to_dataframe()
    heard = pd.DataFrame({"mmsi": [412000001, 412000001],
                          "pos_first_ns": [1_700_000_000 * 10**9, 1_700_000_060 * 10**9],
                          "pos_last_ns": [1_700_000_060 * 10**9, 1_700_000_120 * 10**9]})
    with pytest.raises(ValueError, match="one row per MMSI"):
        vessel_activity(tracks, pos, heard=heard)
    assert len(vessel_activity(tracks, pos, heard=heard.iloc[:1])) == 1


def test_vessel_activity_keeps_nanoseconds_exact():
    """The first/last report times survive to the nanosecond when some MMSIs are only in the
    positions and others only in the tracks (a pandas outer merge made those int64 columns
    float64, rounding 2023 times to multiples of 256 ns); the raw span of an MMSI without any
    cleaned report is kept, with -1 / NaN / 0 for its track columns."""
    from stsdetect.identity.activity import ACTIVITY_COLUMNS, vessel_activity

    ns = np.array([1_700_000_000_123_456_789, 1_700_000_100_987_654_321,
                   1_700_000_200_000_000_001], np.int64)
    tracks = Tracks.from_arrays([412000001, 412000001, 412000002],
                                pd.to_datetime(ns, utc=True), [30.0, 30.1, 31.0],
                                [122.0, 122.1, 123.0], [8.0, 8.0, 1.0])
    pos = pd.DataFrame({"mmsi": [412000002, 412000003, 412000003],
                        "time": pd.to_datetime(ns[[2, 0, 1]] + 7, utc=True)})
    got = vessel_activity(tracks, pos)
    assert list(got.columns) == list(ACTIVITY_COLUMNS)
    assert got["mmsi"].tolist() == [412000001, 412000002, 412000003]
    assert got["t_first_ns"].tolist() == [ns[0], ns[2], -1]
    assert got["t_last_ns"].tolist() == [ns[1], ns[2], -1]
    assert got["pos_first_ns"].tolist() == [-1, ns[2] + 7, ns[0] + 7]
    assert got["pos_last_ns"].tolist() == [-1, ns[2] + 7, ns[1] + 7]
    assert np.isnan(got["lat_first"].iloc[2]) and got["sea_s"].iloc[2] == 0.0
    assert got["sea_s"].iloc[0] == pytest.approx(100.864197532)


def test_barges_on_real_statics(shared_data):
    pyais = pytest.importorskip("pyais")
    rows = []
    for msg in pyais.FileReaderStream(str(shared_data / "chhs2131-pyais-ec" / "error_data.txt")):
        try:
            d = msg.decode().asdict()
        except Exception:  # the file holds deliberately broken sentences
            continue
        if d["msg_type"] == 5:
            rows.append((d["mmsi"], d["imo"], (d["shipname"] or "").strip(), int(d["ship_type"]),
                         float(d["to_bow"] + d["to_stern"]),
                         float(d["to_port"] + d["to_starboard"])))
    raw = pd.DataFrame(rows, columns=["mmsi", "imo", "name", "ship_type", "length_m", "beam_m"])
    v = raw.drop_duplicates("mmsi", keep="last").assign(ais_class="A")
    assert len(v) > 1000
    b = classify_barges(v).merge(v, on="mmsi")
    assert len(b) == len(v)
    named = b["name"].str.contains(r"\bBARGE\b")
    assert named.sum() >= 1 and b.loc[named, "is_barge"].all()
    assert (b.loc[b["is_barge"], "reason"] != "").all()
    assert not b.loc[b["ship_type"].isin([31, 32, 52]) & ~named, "is_barge"].any()
    big_cargo = b["ship_type"].between(70, 89) & (b["length_m"] > 150) & ~named
    assert not b.loc[big_cargo, "is_barge"].any()
    # a minority of real traffic, not everything
    assert 0 < b["is_barge"].mean() < 0.2


# --------------------------------------------------------------------------- anomalies


def test_identity_anomalies_each_reason():
    v = pd.DataFrame({
        "mmsi": [412000001, 412000002, 123456789, 412000004, 412000005],
        "imo": pd.array([9074729, 9074728, None, 0, None], dtype="Int64"),
        "n_name_changes": [0, 2, 0, 0, 0],
        "n_type_changes": [0, 0, 1, 0, 0],
        "names": ["A", "A;B;C", "X", "P;Q", ""],
    })
    tracks = Tracks.from_arrays([412000005] * 4, 1.7e9 + np.arange(4.0), [30, 30, 31, 31],
                                [122, 122, 122, 122], segment=[0, 0, 1, 1])
    a = identity_anomalies(v, tracks=tracks, mmsi=[970123456])
    got = set(map(tuple, a.to_numpy().tolist()))
    assert (412000002, "imo_check_digit") in got
    assert (412000002, "several_names:3") in got
    assert (412000004, "several_names:2") in got
    assert (123456789, "several_ship_types:2") in got
    assert (123456789, "invalid_mmsi:invalid") in got
    assert (123456789, "placeholder_mmsi") in got
    assert (412000005, "two_places_at_once:2") in got
    assert (970123456, "invalid_mmsi:sart_mob_epirb") in got
    assert not (a["mmsi"] == 412000001).any()     # clean vessel, valid IMO
    assert not ((a["mmsi"] == 412000004) & (a["reason"] == "imo_check_digit")).any()


def test_identity_anomalies_empty():
    a = identity_anomalies(None)
    assert list(a.columns) == ["mmsi", "reason"] and len(a) == 0
    a = identity_anomalies(pd.DataFrame({"mmsi": np.zeros(0, np.int64)}), tracks=Tracks.empty())
    assert len(a) == 0


def test_rules_on_read_ais_tables(shared_data):
    """classify_barges / identity_anomalies on the real decoder output (Class B and type 5)."""
    ais = pytest.importorskip("stsdetect.ais")
    for rel in ("gpsd/ais-18-27.log", "chhs2131-pyais-ec/error_data.txt",
                "signalk/nais400-merrimac.log"):
        dump = ais.read_ais(shared_data / rel)
        vessels, positions = dump.vessels, dump.positions
        b = classify_barges(vessels, positions=positions)
        ids = set(vessels["mmsi"]) | set(positions["mmsi"])
        assert set(b["mmsi"]) == ids, rel
        assert (b.loc[b["is_barge"], "reason"] != "").all()
        class_b = set(positions.loc[positions["msg_type"].isin([18, 19]), "mmsi"])
        has_token = set(b.loc[b["reason"].str.contains("class_b"), "mmsi"])
        assert class_b <= has_token, rel
        static = set(vessels["mmsi"])
        no_static = set(b.loc[b["reason"].str.contains("no_static"), "mmsi"])
        assert no_static == ids - static, rel
        a = identity_anomalies(vessels)
        kinds = dict(zip(b["mmsi"], mmsi_kind(b["mmsi"].to_numpy()), strict=True))
        bad = {m for m in static if kinds[m] != "ship"}
        assert bad == set(a.loc[a["reason"].str.startswith("invalid_mmsi"), "mmsi"]), rel


def test_barges_on_simulated_scenario_truth():
    """Every simulated barge (incl. one towed, with no static data) and nothing else is a barge."""
    import stsdetect
    from stsdetect.simulate import simulate

    scenario = simulate(seed=0, min_interval_s=240)
    data = stsdetect.read_ais(scenario.lines())
    tracks = stsdetect.build_tracks(data.positions)
    tows = find_tows(tracks, tug_mmsi(data.vessels))
    b = classify_barges(data.vessels, tracks=tracks, positions=data.positions, tows=tows)
    truth = scenario.vessels.set_index("mmsi")["role"]
    got = b.set_index("mmsi").reindex(truth.index)
    barge_roles = {"barge", "decoy_barge", "towed_barge"}
    assert got["is_barge"].fillna(False).astype(bool).to_dict() == {
        m: role in barge_roles for m, role in truth.items()}
    towed = truth.index[truth == "towed_barge"]
    tug = truth.index[truth == "tug"]
    assert got.loc[towed[0], "reason"].startswith(f"towed_by:{tug[0]}")


words = st.lists(st.text(alphabet="ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789", min_size=1,
                         max_size=6), min_size=1, max_size=4)


@settings(max_examples=40, deadline=None)
@given(words, st.data())
def test_name_variants_match_property(parts, data):
    """Any change of case, spacing and punctuation still matches the listed name."""
    listed = " ".join(parts)
    seps = data.draw(st.lists(st.sampled_from(["", " ", "  ", "-", ".", "/", ", "]),
                              min_size=len(parts), max_size=len(parts)))
    variant = "".join(
        (p.lower() if data.draw(st.booleans()) else p) + s for p, s in zip(parts, seps,
                                                                           strict=True))
    w = load_watchlist(pd.DataFrame({"vessel_name": [listed]}))
    m = match_watchlist(pd.DataFrame({"mmsi": [412000001], "name": [variant]}), w)
    assert m["matched"].tolist() == [True]


@settings(max_examples=30, deadline=None)
@given(st.lists(st.integers(100_000, 999_999), min_size=1, max_size=4, unique=True))
def test_multi_value_imo_cells_property(six):
    imos = [n * 10 + sum(int(d) * w for d, w in zip(f"{n:06d}", range(7, 1, -1), strict=True))
            % 10 for n in six]
    cell = ", ".join(f"{i + 1}: {imo}" for i, imo in enumerate(imos))
    w = load_watchlist(pd.DataFrame({"vessel_name": ["X"], "imo_number": [cell]}))
    assert sorted(w.loc[w["field"] == "imo", "value"].astype(int)) == sorted(imos)
    assert imo_valid(imos).all()


def test_bad_vessels_tables_raise_clearly():
    for fn in (classify_barges, identity_anomalies):
        with pytest.raises(ValueError, match="'mmsi' column"):
            fn(pd.DataFrame({"name": ["X"]}))
        with pytest.raises(TypeError, match="DataFrame"):
            fn([412000001])
    with pytest.raises(ValueError, match="'mmsi' column"):
        match_watchlist(pd.DataFrame({"name": ["X"]}), EXAMPLES / "watchlist_example.csv")


def test_no_static_needs_one_static_interval_of_listening():
    """A vessel heard for 2 min may not have sent its static data yet: no evidence either way."""
    v = _vessels(mmsi=[235000001])
    t0 = pd.Timestamp("2024-01-01", tz="UTC")
    positions = pd.DataFrame({
        "mmsi": [412000010, 412000010, 412000011, 412000011],
        "time": [t0, t0 + pd.Timedelta("2min"), t0, t0 + pd.Timedelta("30min")],
        "msg_type": np.array([1, 1, 1, 1], dtype=np.int8),
    })
    b = classify_barges(v, positions=positions).set_index("mmsi")
    assert not b.loc[412000010, "is_barge"] and "no_static" not in b.loc[412000010, "reason"]
    assert b.loc[412000011, "is_barge"] and "no_static" in b.loc[412000011, "reason"]
    tracks = Tracks.from_arrays([412000010] * 2, [1.7e9, 1.7e9 + 120.0], [30.0, 30.0],
                                [122.0, 122.0])
    b = classify_barges(v, tracks=tracks).set_index("mmsi")
    assert not b.loc[412000010, "is_barge"]


def test_match_watchlist_with_odd_index_and_names_list():
    w = load_watchlist(EXAMPLES / "watchlist_example.csv")
    v = pd.DataFrame({"mmsi": [412000001, 412000002], "name": ["A", "B"],
                      "names": ["A;Test-Trader", "B"]}, index=[7, 7])
    m = match_watchlist(v, w, mmsi=["junk"]).set_index("mmsi")
    assert m["matched"].to_dict() == {412000001: True, 412000002: False}


def test_mid_table_is_a_copy_and_safe_under_threads():
    """#14 item 12: one in-place drop on the shared table made 445123456 'invalid' and the DPRK
    flags vanished for the rest of the process."""
    from concurrent.futures import ThreadPoolExecutor

    from stsdetect.identity import mid_table, mmsi_kind

    before = mmsi_kind([445123456]).tolist()
    table = mid_table()
    with warnings.catch_warnings():  # the very call of the #14 bug; pandas 3.1 deprecates it
        warnings.filterwarnings("ignore", message=".*inplace", category=Warning)
        table.drop(table.index[table["mid"] == 445], inplace=True)
    table["mid"] = -1
    assert mmsi_kind([445123456]).tolist() == before
    assert is_dprk([445123456]).tolist() == [True]
    assert (mid_table()["mid"] == 445).sum() == 1

    def work(i):
        t = mid_table()
        t.iloc[:, 0] = i  # every thread scribbles on its own copy
        return mmsi_kind([445123456]).tolist(), bool(is_dprk([445123456])[0])

    with ThreadPoolExecutor(8) as pool:
        results = list(pool.map(work, range(64)))
    assert all(r == (before, True) for r in results)


_SCENARIO_BARGES = {}


def _barge_scenario():
    """A small simulated scenario (barges, a tow), decoded, cleaned and with its tows; once."""
    if not _SCENARIO_BARGES:
        import stsdetect
        from stsdetect.simulate import simulate

        scenario = simulate(seed=3, min_interval_s=240)
        data = stsdetect.read_ais(scenario.lines())
        tracks = stsdetect.build_tracks(data.positions)
        _SCENARIO_BARGES.update(data=data, tracks=tracks,
                                tows=find_tows(tracks, tug_mmsi(data.vessels)))
    return _SCENARIO_BARGES


@settings(max_examples=25, deadline=None)
@given(st.data())
def test_barges_of_some_mmsi_only_equal_those_rows_of_the_full_classification(data):
    """classify_barges(mmsi=m, mmsi_only=True) (the flags' call) gives exactly the rows of m of
    the full classification, for any subset of the vessels (and MMSIs never heard)."""
    sc = _barge_scenario()
    d = sc["data"]
    known = np.unique(np.concatenate([d.vessels["mmsi"].to_numpy(np.int64),
                                      d.positions["mmsi"].to_numpy(np.int64)]))
    picked = data.draw(st.lists(st.sampled_from(list(known)), max_size=12))
    extra = data.draw(st.lists(st.integers(100_000_000, 999_999_999), max_size=2))
    m = np.array(picked + extra, np.int64)
    kw = dict(tracks=sc["tracks"], positions=d.positions, tows=sc["tows"], mmsi=m)
    full = classify_barges(d.vessels, **kw)
    want = full[full["mmsi"].isin(m)].reset_index(drop=True)
    got = classify_barges(d.vessels, mmsi_only=True, **kw)
    # (no rows at all: the text columns' dtype of an empty table is pandas' guess either way)
    pd.testing.assert_frame_equal(got, want, check_dtype=len(want) > 0)
    assert got["is_barge"].any() or not want["is_barge"].any()


def _static_frame_oracle(vessels, mmsi):
    """barges._static_frame as first written: one reindex per column into an indexed frame."""
    cols = ["ship_type", "length_m", "beam_m", "name", "names", "ais_class", "eri_type"]
    v = vessels.drop_duplicates("mmsi", keep="last").set_index("mmsi")
    base = pd.DataFrame(index=pd.Index(mmsi, name="mmsi"))
    for c in cols:
        base[c] = v[c].reindex(mmsi).to_numpy() if c in v else pd.NA
    base["has_static"] = np.isin(mmsi, v.index.to_numpy())
    return base.reset_index()


@settings(max_examples=40, deadline=None)
@given(st.lists(st.sampled_from([412000001, 412000002, 445000001, 211000000]), max_size=6,
                unique=True), st.sets(st.sampled_from(["length_m", "names", "eri_type"])))
def test_barge_static_frame_equals_the_column_by_column_reindex(picked, dropped):
    """The vessels' static columns taken at each MMSI's last row (a binary search) or
    reindexed once onto the MMSIs equal one reindex per column (vessels repeated, unknown
    MMSIs, columns missing from the vessels table, numpy and nullable columns, MMSIs of
    other dtypes)."""
    from stsdetect.identity.barges import _static_frame

    vessels = pd.DataFrame({
        "mmsi": [412000001, 445000001, 412000001],
        "ship_type": pd.array([99, 80, None], dtype="Int64"), "length_m": [45.0, 120.0, 46.0],
        "beam_m": [10.0, np.nan, 11.0], "name": pd.array(["A", None, "B"], dtype="string"),
        "names": ["A", "X;Y", "A;B"], "ais_class": ["B", "A", None],
        "eri_type": pd.array([8150, None, 8160], dtype="Int64")}).drop(columns=list(dropped))
    mmsi = np.unique(np.array(picked, np.int64))
    pd.testing.assert_frame_equal(_static_frame(vessels, mmsi),
                                  _static_frame_oracle(vessels, mmsi))
    # int64 MMSIs are found by a binary search, others by the reindex; numpy columns with
    # missing rows (int64 -> float64, bool -> object) as the reindex fills them
    other = vessels.assign(ship_type=np.array([99, 80, 52]),
                           ais_class=np.array([True, False, True]))
    for table in (other, vessels.astype({"mmsi": "float64"}), other.astype({"mmsi": "Int64"})):
        pd.testing.assert_frame_equal(_static_frame(table, mmsi),
                                      _static_frame_oracle(table, mmsi))


def test_barges_mmsi_only_needs_the_mmsi():
    with pytest.raises(ValueError, match="mmsi_only"):
        classify_barges(None, mmsi_only=True)


def _statics_history_oracle(statics):
    """The statics part of links._history as it was first written: every row converted, sorted
    by time (stable, NaT last), then each (mmsi, imo, name)'s first and last record kept by
    np.unique on a combined key (firsts then lasts, each in time order)."""
    t = pd.DataFrame({"mmsi": pd.to_numeric(statics["mmsi"], errors="coerce")})
    t["imo"] = pd.to_numeric(statics["imo"], errors="coerce") if "imo" in statics else np.nan
    t["name"] = statics["name"].astype("string") if "name" in statics else pd.NA
    t["time"] = (pd.to_datetime(statics["time"], utc=True, errors="coerce")
                 if "time" in statics else pd.NaT)
    t = t.sort_values("time", kind="stable")
    key = np.zeros(len(t), np.int64)
    for col in ("mmsi", "imo", "name"):
        codes, uniq = pd.factorize(t[col], use_na_sentinel=True)
        key = key * (len(uniq) + 1) + (codes.astype(np.int64) + 1)
    _, first = np.unique(key, return_index=True)
    _, last = np.unique(key[::-1], return_index=True)
    return pd.concat([t.iloc[np.sort(first)], t.iloc[np.sort(len(t) - 1 - last)]],
                     ignore_index=True)


@settings(max_examples=80, deadline=None)
@given(st.lists(st.tuples(st.integers(0, 3), st.sampled_from([None, 0, 9074729, 9074731]),
                          st.sampled_from([None, "", "SEA STAR", "SEA  STAR", "OCEAN 7"]),
                          st.one_of(st.none(), st.integers(0, 20))),
                min_size=2, max_size=30),
       st.sampled_from(["decoder", "converted", "no imo", "no time"]))
def test_history_keeps_what_the_converting_route_kept(rows, layout):
    """links._history keeps each (mmsi, imo, name)'s first and last record of a statics
    history (links._record_rows: factorized codes, first and last occurrences by hashing, on
    the columns as they are in the decoder's layout, else on the four columns converted):
    the same table as the route it replaced, which converted and sorted every row first (NaT
    times, missing IMOs and names, ties; the decoder's layout, text and float columns, a
    missing column)."""
    from stsdetect.identity import links as L

    t0 = pd.Timestamp("2024-03-01T00:00Z")
    statics = pd.DataFrame({
        "time": pd.to_datetime([None if r[3] is None else t0 + pd.Timedelta(minutes=r[3])
                                for r in rows], utc=True),
        "mmsi": np.array([412000000 + r[0] for r in rows], np.int64),
        "imo": pd.array([r[1] for r in rows], dtype="Int64"),
        "name": pd.array([r[2] for r in rows], dtype="string"),
        "draught_m": np.nan})
    if layout == "converted":  # as a CSV reader may give them
        statics = statics.assign(mmsi=statics["mmsi"].astype(float),
                                 imo=statics["imo"].astype(object),
                                 name=statics["name"].astype(object),
                                 time=statics["time"].astype(str))
    elif layout != "decoder":
        statics = statics.drop(columns=layout.split()[1])
    got = L._history(None, statics)
    want = _statics_history_oracle(statics)
    want = want[want["mmsi"].notna()].reset_index(drop=True)
    pd.testing.assert_frame_equal(got[["mmsi", "time"]],
                                  want[["mmsi", "time"]].astype({"mmsi": np.int64}))
    pd.testing.assert_series_equal(got["imo"], want["imo"].where(want["imo"] > 0),
                                   check_dtype=False)
    pd.testing.assert_series_equal(got["name"],
                                   want["name"].astype("string").str.strip())


def test_mid_table_equals_the_read_csv_route():
    """The MID table read with the csv module equals pandas.read_csv's reading of the same
    file (the route it replaced: every field text, "NA" is Namibia, '#' lines skipped)."""
    from importlib import resources

    from stsdetect.identity.mid import mid_table

    with resources.as_file(resources.files("stsdetect") / "data" / "mid.csv") as path:
        want = pd.read_csv(path, comment="#", dtype=str, keep_default_na=False)
    want["mid"] = want["mid"].astype("int64")
    want = want.astype({"country": object, "iso2": object}).sort_values("mid",
                                                                        ignore_index=True)
    got = mid_table()
    pd.testing.assert_frame_equal(got, want)
    assert "NA" in set(got["iso2"]) and got["country"].str.contains(",").any()


@settings(max_examples=60, deadline=None)
@given(st.lists(st.tuples(st.sampled_from([412000001, 412000002, 413000003, 123456789, 5]),
                          st.one_of(st.none(), st.integers(0, 50)),
                          st.sampled_from([30.0, 30.001, 91.0, np.nan]),
                          st.sampled_from([122.0, 122.001, 181.0])),
                min_size=1, max_size=40))
def test_cleaning_spans_equal_the_activity_pass_over_the_positions(rows):
    """The span each MMSI was heard, found by the cleaning's pass (tracks.heard_spans of
    build_tracks' result; what detect() hands vessel_activity as ``heard``), equals
    vessel_activity's own pass over the positions (the route it replaces): MMSIs heard
    without a position or with an invalid number, NaT times, rows dropped as duplicates --
    and so does the activity table."""
    from stsdetect.identity.activity import _position_part, vessel_activity
    from stsdetect.tracks import build_tracks, heard_spans

    t0 = pd.Timestamp("2024-03-01T00:00Z")
    pos = pd.DataFrame({
        "mmsi": np.array([r[0] for r in rows], np.int64),
        "time": pd.to_datetime([None if r[1] is None else t0 + pd.Timedelta(minutes=r[1])
                                for r in rows], utc=True),
        "lat": [r[2] for r in rows], "lon": [r[3] for r in rows], "sog_kn": 5.0})
    tracks = build_tracks(pos)
    heard = heard_spans(tracks)
    assert heard is not None
    pd.testing.assert_frame_equal(heard, _position_part(pos, None, None))
    pd.testing.assert_frame_equal(vessel_activity(tracks, pos, heard=heard),
                                  vessel_activity(tracks, pos))
    # other layouts (float MMSIs here) give no spans: vessel_activity reads the positions
    assert heard_spans(build_tracks(pos.astype({"mmsi": float}))) is None
    assert heard_spans(tracks.take(np.arange(len(tracks)))) is None  # not build_tracks' own


_BARGE_NAMES = st.sampled_from([
    None, "", "BARGE", "ZHE HAI BARGE 7", "XBARGE", "ÉBARGE", "BARGE_1", "BARGE-1",
    "dumb hopper", "PONTOON LIGHTER", "²BARGE", "HOPPER DUMB", "SEA STAR", "ß BARGE"])


@settings(max_examples=150, deadline=None)
@given(st.lists(st.tuples(st.sampled_from([412000001, 413000002, 538000009, 123456789,
                                           445000001]),
                          _BARGE_NAMES, st.sampled_from([None, 0, 31, 52, 70, 99]),
                          st.sampled_from([None, 25.0, 60.4, 150.0]),
                          st.sampled_from([None, 8.0, 20.0]),
                          st.sampled_from([None, "A", "b"])), max_size=6),
       st.lists(st.tuples(st.sampled_from([412000001, 413000002, 538000009, 998000001]),
                          st.integers(0, 3 * 86400), st.integers(0, 3 * 86400),
                          st.sampled_from([0.0, 3600.0, 90000.0])), max_size=5),
       st.lists(st.sampled_from([412000001, 413000002, 538000009, 998000001, 211000000]),
                max_size=4),
       st.booleans(), st.booleans(), st.booleans())
def test_classify_barges_equals_the_pandas_route(vessel_rows, act_rows, extra, with_names,
                                                 with_tows, mmsi_only):
    """classify_barges (barge words by one search per name, the activity looked up by a
    binary search) equals the route with five str.contains calls and a reindexed frame
    (tests/_barges_oracle.py), names with non-ASCII word characters included."""
    from _barges_oracle import classify_barges as pandas_route

    vessels = pd.DataFrame({
        "mmsi": np.array([r[0] for r in vessel_rows], np.int64),
        "name": pd.array([r[1] for r in vessel_rows], dtype="string"),
        "ship_type": pd.array([r[2] for r in vessel_rows], dtype="Int64"),
        "length_m": np.array([np.nan if r[3] is None else r[3] for r in vessel_rows], float),
        "beam_m": np.array([np.nan if r[4] is None else r[4] for r in vessel_rows], float),
        "ais_class": pd.array([r[5] for r in vessel_rows], dtype="string")})
    if with_names:
        vessels["names"] = [r[1] if r[1] else "" for r in vessel_rows]
    t0 = 1_709_251_200 * 10**9
    activity = pd.DataFrame({
        "mmsi": np.array([r[0] for r in act_rows], np.int64),
        "t_first_ns": np.array([t0 + r[1] * 10**9 for r in act_rows], np.int64),
        "t_last_ns": np.array([t0 + (r[1] + r[2]) * 10**9 for r in act_rows], np.int64),
        "sea_s": np.array([r[3] for r in act_rows], float),
        "pos_first_ns": np.array([-1 for r in act_rows], np.int64),
        "pos_last_ns": np.array([-1 for r in act_rows], np.int64)})
    positions = pd.DataFrame({"mmsi": np.array([538000009, 998000001], np.int64),
                              "msg_type": np.array([18, 1], np.int64)})
    tows = pd.DataFrame({"tug_mmsi": [538000009, 412000001], "mmsi": [413000002, 998000001]}) \
        if with_tows else None
    mmsi = extra + [r[0] for r in vessel_rows]
    kw = dict(positions=positions, mmsi=mmsi, tows=tows, activity=activity,
              mmsi_only=mmsi_only and bool(mmsi))
    for v in (vessels, None):
        pd.testing.assert_frame_equal(classify_barges(v, **kw), pandas_route(v, **kw))
