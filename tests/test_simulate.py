"""The scenario generator: its encoder against pyais, and its truth against its own positions."""

from __future__ import annotations

import gzip
import re

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from pyais import decode
from pyais.encode import encode_dict

from stsdetect.geo import haversine_m
from stsdetect.simulate import (
    DEMO_PARAMS,
    TRUTH_COLUMNS,
    demo_path,
    demo_truth_path,
    encode_position_reports,
    read_truth,
    simulate,
    tag_blocks,
)

LINE = re.compile(rb"^\\(?P<tag>s:(?P<st>\w+),c:(?P<c>\d{10}))\*(?P<tcs>[0-9A-F]{2})\\"
                  rb"(?P<nmea>!(?P<body>AIVDM,[^*]*)\*(?P<cs>[0-9A-F]{2}))$")


def _xor(data: bytes) -> int:
    value = 0
    for b in data:
        value ^= b
    return value


@pytest.fixture(scope="module")
def scenario():
    # Realistic intervals (10 s / 30 s / 3 min) over 40 h: larger than the demo.
    return simulate(seed=7, duration="40h", n_background=6, n_anchored=2)


def _pyais_reference(mt, mmsi, lat, lon, sog, cog, hdg, sec, status, chan):
    data = {"type": int(mt), "msg_type": int(mt), "mmsi": int(mmsi),
            "lat": 91 if np.isnan(lat) else lat, "lon": 181 if np.isnan(lon) else lon,
            "speed": 102.3 if np.isnan(sog) else sog, "course": 360 if np.isnan(cog) else cog,
            "heading": 511 if np.isnan(hdg) else int(hdg), "second": int(sec)}
    if mt == 18:
        data.update(cs=1, dsc=1, band=1, msg22=1)
    else:
        data.update(status=int(status), turn=-128, maneuver=0)
    return encode_dict(data, talker_id="AI", sentence_type="VDM", radio_channel=chan)[0]


def test_encoder_equals_pyais_on_field_ranges_and_not_available_values():
    rng = np.random.default_rng(0)
    n = 400
    mt = rng.choice([1, 2, 3, 18], n)
    mmsi = rng.integers(0, 2**30, n)
    lat, lon = rng.uniform(-90, 90, n), rng.uniform(-180, 180, n)
    sog, cog = rng.uniform(0, 102.2, n), rng.uniform(0, 359.9, n)
    hdg = rng.integers(0, 360, n).astype(float)
    sec, status = rng.integers(0, 61, n), rng.integers(0, 16, n)
    # The extremes of every field, and each "not available" value.
    lat[:4], lon[:4] = [-90, 90, 0, np.nan], [-180, 179.999999, 0, np.nan]
    sog[:4], cog[:4] = [0, 102.2, np.nan, 0.1], [0, 359.9, np.nan, 0.1]
    hdg[:4] = [0, 359, np.nan, 1]
    na = rng.random((n, 4)) < 0.1
    lat[na[:, 0]] = lon[na[:, 0]] = np.nan
    sog[na[:, 1]], cog[na[:, 2]], hdg[na[:, 3]] = np.nan, np.nan, np.nan
    chan = rng.choice([b"A", b"B"], n)
    ours = encode_position_reports(mt, mmsi, lat, lon, sog, cog, hdg, sec, status, chan)
    for i in range(n):
        ref = _pyais_reference(mt[i], mmsi[i], lat[i], lon[i], sog[i], cog[i], hdg[i], sec[i],
                               status[i], chan[i].decode())
        assert ours[i].decode() == ref, i


@settings(max_examples=60, deadline=None)
@given(
    mt=st.sampled_from([1, 3, 18]),
    mmsi=st.integers(0, 2**30 - 1),
    lat=st.floats(-90, 90) | st.just(float("nan")),
    lon=st.floats(-180, 180, exclude_max=True) | st.just(float("nan")),
    sog=st.floats(0, 102.2) | st.just(float("nan")),
    cog=st.floats(0, 359.9) | st.just(float("nan")),
)
def test_encoder_decodes_with_pyais(mt, mmsi, lat, lon, sog, cog):
    line = encode_position_reports([mt], [mmsi], [lat], [lon], [sog], [cog], [np.nan], [12],
                                   [5])[0].decode()
    msg = decode(line)
    assert msg.msg_type == mt and msg.mmsi == mmsi
    assert msg.lat == (91.0 if np.isnan(lat) else pytest.approx(lat, abs=2e-6))
    assert msg.lon == (181.0 if np.isnan(lon) else pytest.approx(lon, abs=2e-6))
    assert msg.speed == (102.3 if np.isnan(sog) else pytest.approx(np.trunc(sog * 10) / 10))
    assert msg.course == (360.0 if np.isnan(cog) else pytest.approx(np.trunc(cog * 10) / 10))
    assert msg.heading == 511


def test_encoder_rejects_other_types():
    with pytest.raises(ValueError, match="types 1, 2, 3 and 18"):
        encode_position_reports([5], [1], [0], [0], [0], [0], [0], [0])


@settings(max_examples=50, deadline=None)
@given(station=st.text("abcdefghijklmnopqrstuvwxyz0123456789", min_size=1, max_size=12),
       unix=st.lists(st.integers(1_000_000_000, 9_999_999_999), min_size=1, max_size=5))
def test_tag_blocks_parse_back(station, unix):
    tags = tag_blocks(station.encode(), unix)
    for tag, t in zip(tags, unix, strict=True):
        m = re.fullmatch(rb"\\s:(\w+),c:(\d{10})\*([0-9A-F]{2})\\", tag)
        assert m and m.group(1) == station.encode() and int(m.group(2)) == t
        assert int(m.group(3), 16) == _xor(tag[1:tag.index(b"*")])


def test_tag_blocks_checksum_and_errors():
    tags = tag_blocks([b"abc", b"xyz"], [1709251200, 1709251299])
    for tag in tags:
        m = re.fullmatch(rb"\\(.*)\*([0-9A-F]{2})\\", tag)
        assert m and int(m.group(2), 16) == _xor(m.group(1))
    with pytest.raises(ValueError, match="10-digit"):
        tag_blocks([b"a"], [12])


def test_same_seed_same_bytes_other_seed_other_bytes():
    kw = {"duration": "36h", "n_background": 2, "n_anchored": 1, "min_interval_s": 300}
    a, b, c = simulate(seed=3, **kw), simulate(seed=3, **kw), simulate(seed=4, **kw)
    assert a.nmea == b.nmea
    pd.testing.assert_frame_equal(a.truth, b.truth)
    assert a.nmea != c.nmea


def test_lines_are_framed_checksummed_and_decode_to_the_positions(scenario):
    lines = scenario.nmea.split(b"\n")[:-1]
    assert len(lines) == scenario.noise["lines"]
    good, bad_checksum, unparsed = [], 0, 0
    for line in lines:
        m = LINE.match(line)
        if not m:
            unparsed += 1
            continue
        assert int(m["tcs"], 16) == _xor(m["tag"])
        if int(m["cs"], 16) != _xor(m["body"]):
            bad_checksum += 1
        else:
            good.append(m)
    noise = scenario.noise
    # Every truncated line fails to parse or fails its checksum; corrupted ones fail the checksum.
    assert noise["corrupt_checksum"] <= bad_checksum + unparsed
    assert bad_checksum + unparsed <= noise["corrupt_checksum"] + noise["truncated"]
    assert unparsed >= 1 and bad_checksum >= 1
    # Decode a sample of the good single-sentence position reports with pyais: each one equals
    # a row of the positions table (the oracle), matched on MMSI and receive time.
    pos = scenario.positions.set_index(["mmsi", "time"]).sort_index()
    singles = [m for m in good if m["body"].startswith(b"AIVDM,1,1,")]
    rng = np.random.default_rng(1)
    checked = 0
    for i in rng.choice(len(singles), 400, replace=False):
        m = singles[i]
        msg = decode(m["nmea"].decode())
        if msg.msg_type not in (1, 18):
            continue
        t = pd.Timestamp(int(m["c"]), unit="s", tz="UTC")
        row = pos.loc[(msg.mmsi, t)]
        row = row.iloc[0] if isinstance(row, pd.DataFrame) else row
        if np.isnan(row["lat"]):
            assert (msg.lat, msg.lon) == (91.0, 181.0)
        else:
            assert msg.lat == pytest.approx(row["lat"], abs=1e-6)
            assert msg.lon == pytest.approx(row["lon"], abs=1e-6)
        assert msg.speed == pytest.approx(row["sog_kn"])
        assert msg.second == t.second
        checked += 1
    assert checked > 300
    # Duplicates: the same sentence heard by two stations.
    bodies = pd.Series([m["nmea"] for m in good])
    assert bodies.duplicated().sum() >= 0.5 * noise["duplicates"]


def test_statics_decode_with_pyais_to_the_vessels_table(scenario):
    text = scenario.nmea.decode()
    vessels = scenario.vessels.set_index("mmsi")
    # Type 5 is two sentences; take the first complete pair of each vessel.
    pairs = re.findall(r"(!AIVDM,2,1,\d,[AB],[^*]*\*[0-9A-F]{2})\n\\[^\\]*\\"
                       r"(!AIVDM,2,2,\d,[AB],[^*]*\*[0-9A-F]{2})", text)
    seen = set()
    for first, second in pairs:
        msg = decode(first, second)
        assert msg.msg_type == 5
        seen.add(msg.mmsi)
        row = vessels.loc[msg.mmsi]
        assert msg.ship_type == row["ship_type"]
        assert msg.to_bow + msg.to_stern == row["length_m"]
    class_a = set(vessels.index[(vessels["ais_class"] == "A") & vessels["has_static"]])
    assert seen == class_a
    # Barges with no static data at all really send none.
    silent = vessels.index[~vessels["has_static"]]
    for mmsi in silent:
        assert scenario.positions["mmsi"].eq(mmsi).any()
    statics_24 = [decode(s) for s in re.findall(r"!AIVDM,1,1,,[AB],H[^*]*\*[0-9A-F]{2}", text)]
    assert {m.mmsi for m in statics_24}.isdisjoint(set(silent))
    # One DPRK vessel changes its name after its dark period (an identity anomaly).
    names = {}
    for first, second in pairs:
        msg = decode(first, second)
        names.setdefault(msg.mmsi, set()).add(msg.shipname)
    assert sum(len(v) > 1 for v in names.values()) == 1


def _track(positions, mmsi):
    p = positions[positions["mmsi"] == mmsi].dropna(subset=["lat"])
    return p.set_index("time").sort_index()


def _separation(positions, a, b, start, end):
    """Separation of a pair at b's report times within [start, end] (a interpolated)."""
    ta, tb = _track(positions, a), _track(positions, b)
    tb = tb[(tb.index >= start) & (tb.index <= end)]
    sa = ta.index.asi8.astype(float)
    st_ = tb.index.asi8.astype(float)
    lat = np.interp(st_, sa, ta["lat"].to_numpy())
    lon = np.interp(st_, sa, ta["lon"].to_numpy())
    return haversine_m(lat, lon, tb["lat"].to_numpy(), tb["lon"].to_numpy()), tb


def test_truth_matches_the_positions(scenario):
    truth, pos = scenario.truth, scenario.positions
    assert list(truth.columns) == TRUTH_COLUMNS
    kinds = set(truth["kind"])
    assert {"transfer", "dark_period", "dark_rendezvous", "decoy_fast_pass", "decoy_far",
            "decoy_short", "anchorage_pair", "tow", "pair_trawl"} <= kinds
    # Everything on the water of the study area.
    ok = pos.dropna(subset=["lat"])
    assert ok["lat"].between(29.0, 32.5).all() and ok["lon"].between(120.9, 125.0).all()
    for row in truth.itertuples():
        if row.kind == "transfer":
            d, b = _separation(pos, row.mmsi, row.other_mmsi, row.start + pd.Timedelta("10min"),
                               row.end - pd.Timedelta("10min"))
            assert 80 <= d.min() and d.max() <= 320
            assert b["sog_kn"].max() < 1.0
            assert 3 <= (row.end - row.start) / pd.Timedelta("1h") <= 6
            assert row.expect_detected and "dprk" in row.expected_flags
            assert str(row.mmsi).startswith(("412", "413")) and str(row.other_mmsi).startswith(
                "445")
            assert (pos.loc[pos["mmsi"] == row.mmsi, "msg_type"] == 18).all()
            if row.region == "hangzhou_bay":
                assert 30.3 <= row.lat <= 30.6 and 121.0 <= row.lon <= 122.0
        elif row.kind == "dark_period":
            t = _track(pos, row.mmsi).index
            inside = (t > row.start + pd.Timedelta("1min")) & (t < row.end - pd.Timedelta("1min"))
            assert not inside.any()
            assert (t <= row.start + pd.Timedelta("5min")).any()
            assert (t >= row.end - pd.Timedelta("5min")).any()
            assert row.end - row.start >= pd.Timedelta("6h")
        elif row.kind == "decoy_fast_pass":
            d, _ = _separation(pos, row.other_mmsi, row.mmsi, row.start - pd.Timedelta("2h"),
                               row.end + pd.Timedelta("2h"))
            fast = _track(pos, row.other_mmsi)
            assert fast["sog_kn"].median() > 9
            assert d.min() < 500
        elif row.kind == "decoy_far":
            d, _ = _separation(pos, row.other_mmsi, row.mmsi, row.start, row.end)
            assert 1800 < d.min() and d.max() < 2200
        elif row.kind == "decoy_short":
            d, _ = _separation(pos, row.other_mmsi, row.mmsi, row.start - pd.Timedelta("2h"),
                               row.end + pd.Timedelta("2h"))
            assert (row.end - row.start) <= pd.Timedelta("80min")
        elif row.kind in ("tow", "pair_trawl"):
            d, b = _separation(pos, row.mmsi, row.other_mmsi, row.start, row.end)
            assert d.max() < 500 and b["sog_kn"].median() > 3
            assert not row.expect_detected


def test_report_intervals_follow_itu(scenario):
    pos = scenario.positions.sort_values(["mmsi", "time"])
    dt = pos.groupby("mmsi")["time"].diff().dt.total_seconds()
    median = dt.groupby(pos["msg_type"]).median()
    assert median[1] == pytest.approx(10, abs=3)   # Class A underway
    assert median[18] >= 25                        # Class B underway 30 s, slow 3 min
    anchored = pos["nav_status"] == 1
    assert dt[anchored].median() == pytest.approx(180, abs=40)


def test_bad_parameters_raise_clear_errors():
    with pytest.raises(ValueError, match="too short"):
        simulate(duration="10h")
    with pytest.raises(ValueError, match="corrupt_fraction"):
        simulate(corrupt_fraction=2.0)
    with pytest.raises(ValueError, match="n_background"):
        simulate(n_background=-1)
    with pytest.raises(ValueError, match="not a duration"):
        simulate(duration="soon")


def test_background_only_scenario_is_quiet():
    s = simulate(seed=1, duration="12h", n_transfers=0, n_dark_rendezvous=0, decoys=False,
                 n_background=3, n_anchored=1, min_interval_s=120)
    assert set(s.truth["kind"]) == {"anchorage_pair", "tow", "pair_trawl"}
    assert not s.positions["mmsi"].astype(str).str.startswith("445").any()


def test_bundled_demo_is_small_and_consistent():
    path = demo_path()
    assert path.is_file() and path.stat().st_size < 1_000_000
    truth = read_truth(demo_truth_path())
    assert (truth["kind"] == "transfer").sum() == 2
    text = gzip.decompress(path.read_bytes()).decode()
    heard = set()
    for m in map(LINE.match, text.encode().split(b"\n")):
        if m and m["body"].startswith(b"AIVDM,1,1,") and int(m["cs"], 16) == _xor(m["body"]):
            heard.add(decode(m["nmea"].decode()).mmsi)
    # Every vessel of the truth is heard in the bundled dump.
    assert set(truth["mmsi"]) | set(truth["other_mmsi"].dropna()) <= heard
    # The bundled files are what DEMO_PARAMS generate (regenerate with write_demo()).
    regenerated = simulate(**DEMO_PARAMS)
    assert regenerated.nmea == gzip.decompress(path.read_bytes()), (
        "bundled demo is stale: run python -c 'import stsdetect.simulate as s; s.write_demo()'")


def test_truth_regions_agree_with_the_builtin_regions():
    from stsdetect.regions import regions_at

    truth = simulate(seed=11, n_transfers=4, n_background=0, n_anchored=0,
                     min_interval_s=600).truth
    named = truth[truth["region"] != ""]
    assert len(named) >= 6
    found_all = regions_at(named["lat"], named["lon"])
    for row, found in zip(named.itertuples(), found_all, strict=True):
        assert row.region in found, (row.kind, row.region, found)


def test_no_position_on_an_island_of_the_bundled_coastline():
    import json
    from importlib import resources

    import shapely

    text = (resources.files("stsdetect") / "data" / "coastline_china_east.geojson").read_text()
    lines = [shapely.geometry.shape(f["geometry"]) for f in json.loads(text)["features"]]
    # Closed coastline rings are islands (the mainland line is open, so not tested here).
    land = shapely.union_all(shapely.get_parts(shapely.polygonize(lines)))
    assert not land.is_empty
    pos = simulate(seed=5, n_transfers=6, min_interval_s=300).positions.dropna(subset=["lat"])
    on_land = shapely.contains_xy(land, pos["lon"].to_numpy(), pos["lat"].to_numpy())
    assert not on_land.any(), pos[on_land].groupby("mmsi").size()


def test_identities_replace_the_injected_dprk_vessels_everywhere():
    ident = [{"mmsi": 445999001, "name": "EXAMPLE STAR", "renamed_to": "EXAMPLE STAR 7",
              "callsign": "XX9ZZ", "imo": 1000019}]
    s = simulate(seed=2, duration="40h", n_background=0, n_anchored=0, min_interval_s=600,
                 identities=ident)
    transfer = s.truth[s.truth["kind"] == "transfer"]
    assert 445999001 in set(transfer["other_mmsi"])
    assert (s.positions["mmsi"] == 445999001).sum() > 10
    text = s.nmea.decode()
    pairs = re.findall(r"(!AIVDM,2,1,\d,[AB],[^*]*\*[0-9A-F]{2})\n\\[^\\]*\\"
                       r"(!AIVDM,2,2,\d,[AB],[^*]*\*[0-9A-F]{2})", text)
    msgs = [decode(a, b) for a, b in pairs]
    mine = [m for m in msgs if m.mmsi == 445999001]
    assert {m.shipname for m in mine} == {"EXAMPLE STAR", "EXAMPLE STAR 7"}
    assert {m.imo for m in mine} == {1000019} and {m.callsign for m in mine} == {"XX9ZZ"}
    with pytest.raises(ValueError, match="not a free"):
        simulate(seed=2, duration="40h", identities=[{"mmsi": 445999001}, {"mmsi": 445999001}])
    with pytest.raises(ValueError, match="needs 'mmsi'"):
        simulate(seed=2, duration="40h", identities=[{"name": "X"}])
