"""Identity over the whole output: near watch-list matches, evidence, links, barge strength,
and the disguised identities of the simulator found end to end (issue #13)."""

from __future__ import annotations

import json
import re
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from stsdetect.events import ENRICHMENT_COLUMNS, make_events, read_events, write_events
from stsdetect.flags import DEFAULT_WEIGHTS, evidence_table, flag_events
from stsdetect.identity import classify_barges, identity_links, load_watchlist, watchlist_hits
from stsdetect.identity.columns import ship_type_text, vessel_identity
from stsdetect.identity.watchlist import (
    _byte_matrix,
    _one_edit,
    imo_near,
    romanised_key,
    word_key,
)
from stsdetect.tracks import Tracks

WATCHLIST = Path(__file__).resolve().parents[1] / "examples" / "watchlist_example.csv"
T0 = pd.Timestamp("2024-03-01T00:00:00Z").timestamp()


def _imo(six: int) -> int:
    d = f"{six:06d}"
    return six * 10 + sum(int(c) * w for c, w in zip(d, range(7, 1, -1), strict=True)) % 10


# --------------------------------------------------------------------------- near rules


def test_imo_near_rules():
    assert imo_near([1000019], [1000091]).tolist() == [True]      # adjacent swap
    assert imo_near([1000019], [1000018]).tolist() == [True]      # one digit
    assert imo_near([1000019], [1000019]).tolist() == [False]     # equal is exact, not near
    assert imo_near([1000019], [1000910]).tolist() == [False]     # two changes
    assert imo_near([1000019], [1001009]).tolist() == [False]     # a swap that is not adjacent
    assert imo_near([1000019], [123]).tolist() == [False]


@settings(max_examples=200, deadline=None)
@given(st.integers(1_000_000, 9_999_999), st.integers(1_000_000, 9_999_999))
def test_imo_near_symmetric_and_never_equal(a, b):
    assert imo_near([a], [b])[0] == imo_near([b], [a])[0]
    assert not imo_near([a], [a])[0]
    # an independent oracle: digit strings
    sa, sb = str(a), str(b)
    diffs = [i for i in range(7) if sa[i] != sb[i]]
    swap = (len(diffs) == 2 and diffs[1] == diffs[0] + 1
            and sa[diffs[0]] == sb[diffs[1]] and sa[diffs[1]] == sb[diffs[0]])
    assert imo_near([a], [b])[0] == (len(diffs) == 1 or swap)


def _osa1(a: str, b: str) -> bool:
    """Oracle: strings exactly one substitution, insertion/deletion or adjacent swap apart."""
    if a == b:
        return False
    if len(a) == len(b):
        d = [i for i in range(len(a)) if a[i] != b[i]]
        return len(d) == 1 or (len(d) == 2 and d[1] == d[0] + 1 and a[d[0]] == b[d[1]]
                               and a[d[1]] == b[d[0]])
    if abs(len(a) - len(b)) != 1:
        return False
    lo, sh = (a, b) if len(a) > len(b) else (b, a)
    return any(lo[:i] + lo[i + 1:] == sh for i in range(len(lo)))


names = st.text(alphabet="ABCDEFG0123", min_size=1, max_size=9)


@settings(max_examples=300, deadline=None)
@given(names, names)
def test_one_edit_matches_oracle_and_is_symmetric(a, b):
    width = 12
    ma, la = _byte_matrix(np.array([a], dtype=object), width)
    mb, lb = _byte_matrix(np.array([b], dtype=object), width)
    ab, _ = _one_edit(ma, la, mb, lb)
    ba, _ = _one_edit(mb, lb, ma, la)
    assert ab[0] == ba[0] == _osa1(a, b)


@settings(max_examples=100, deadline=None)
@given(st.lists(st.sampled_from(["CHON", "MA", "SAN", "KUM", "UN", "SONG", "3", "NO", "SAM"]),
                min_size=1, max_size=4), st.lists(st.sampled_from(
                    ["CHON", "MA", "SAN", "KUM", "UN", "SONG", "3", "NO", "SAM"]),
                    min_size=1, max_size=4))
def test_name_near_matches_symmetric_never_on_equality(a, b):
    """Near-match rules are symmetric and never fire for equal normalised names."""
    na, nb = " ".join(a), " ".join(b)
    v = pd.DataFrame({"mmsi": [412000001], "name": [na]})
    w = pd.DataFrame({"name": [nb]})
    v2 = pd.DataFrame({"mmsi": [412000001], "name": [nb]})
    w2 = pd.DataFrame({"name": [na]})
    ab = watchlist_hits(v, load_watchlist(w))
    ba = watchlist_hits(v2, load_watchlist(w2))
    assert set(ab["rule"]) == set(ba["rule"])
    if na.replace(" ", "") == nb.replace(" ", ""):
        assert set(ab["rule"]) <= {"exact"}
    assert (ab["similarity"] <= 1).all()
    assert (ab.loc[ab["rule"] != "exact", "similarity"] < 1).all()


def test_romanisation_and_reordering_keys():
    k = romanised_key(["Cheon Ma-San No. 3", "CHON MA SAN 3", "CHONMASAN SAM", "KUM UN SAN 3"])
    assert k[0] == k[1] == k[2] != k[3]
    w = word_key(["SONG HWA 1", "HWA SONG 1", "SONGHWA 1"])
    assert w[0] == w[1] and pd.isna(w[2]) is False


def test_watchlist_hits_each_rule():
    w = load_watchlist(WATCHLIST)
    v = pd.DataFrame({
        "mmsi": [520190019, 412000001, 412000002, 412000003, 219000001, 412000004, 412000005],
        "imo": pd.array([1000091, None, 1000029, None, None, None, 9074729], dtype="Int64"),
        "name": ["X", "EXAMPEL STAR", "Y", "EXAMPLE STAR SEVEN", "VOYAGER SAMPLE", "Z",
                 "SAMPLE VOYAGER"],
        "callsign": ["", "", "", "", "", "XX9ZZ", ""],
    })
    hits = watchlist_hits(v, w)
    got = {(r.mmsi, r.rule) for r in hits.itertuples()}
    assert (520190019, "imo_transposition") in got
    assert (412000001, "name_edit") in got
    assert (412000002, "imo_one_digit") in got
    assert (412000003, "name_romanisation") in got
    assert (219000001, "name_reordered") in got
    assert (412000004, "callsign_other_mmsi") in got       # entry 0 lists MMSI 445999001
    assert (412000005, "exact") in got
    near = hits[hits["rule"] != "exact"]
    assert (near["similarity"] < 1).all() and (near["similarity"] > 0.75).all()
    # the evidence names the entry matched
    row = hits[(hits["mmsi"] == 520190019)].iloc[0]
    assert row["entry"] == 0 and row["entry_name"] == "EXAMPLE STAR" and row["listed"] == "1000019"
    # exact matches stay exact: match_watchlist is unchanged for them
    assert not ((hits["mmsi"] == 412000005) & (hits["rule"] != "exact")).any()


def test_no_near_match_for_fleet_numbers_and_short_names():
    w = load_watchlist(pd.DataFrame({"name": ["ZHE HAI 801", "STAR"]}))
    v = pd.DataFrame({"mmsi": [412000001, 412000002], "name": ["ZHE HAI 802", "STAY"]})
    assert len(watchlist_hits(v, w)) == 0


# --------------------------------------------------------------------------- flags + evidence


def _events():
    return make_events(
        "loitering", mmsi=[219000001, 445000001, 520190019, 412000009],
        start=[T0, T0, T0, T0], end=[T0 + 6 * 3600] * 4, lat=[30.0] * 4, lon=[125.5] * 4)


def test_dprk_only_for_mid_445_or_a_dprk_flagged_entry():
    """A Danish MMSI on a watch-list is 'watchlist' only; a DPRK-flagged entry gives dprk."""
    w = pd.DataFrame({"mmsi": ["219000001", "412000009"], "name": ["DANE", "LISTED KP"],
                      "flag": ["Denmark", "DPRK"]})
    out = flag_events(_events(), watchlist=w, regions=[]).set_index("mmsi")
    assert "watchlist" in out.loc[219000001, "flags"] and "dprk" not in out.loc[219000001,
                                                                                  "flags"]
    assert {"watchlist", "dprk"} <= set(out.loc[412000009, "flags"])
    assert "dprk" in out.loc[445000001, "flags"]
    ev = json.loads(out.loc[412000009, "evidence"])
    assert ev["dprk"]["rule"] == "watchlist_flag" and ev["dprk"]["flag"] == "DPRK"
    assert json.loads(out.loc[445000001, "evidence"])["dprk"] == {
        "vessel": 445000001, "rule": "mid", "mid": 445}
    # a DPRK-listed ship under a Chinese MMSI: MID against the listed flag
    assert "flag_mismatch" in out.loc[412000009, "flags"]


def test_every_flag_has_its_reason(tmp_path):
    import stsdetect
    from stsdetect.simulate import simulate

    sc = simulate(seed=3, min_interval_s=180, n_background=4, disguised=True)
    res = stsdetect.detect(sc.lines(), watchlist=WATCHLIST)
    ev = res.events
    assert list(ev.columns[-len(ENRICHMENT_COLUMNS):]) == list(ENRICHMENT_COLUMNS)
    for flags, text in zip(ev["flags"], ev["evidence"], strict=True):  # per event
        reasons = json.loads(text)
        assert set(reasons) == set(flags), (flags, reasons)
    # written next to the events, and read back
    path = write_events(ev, tmp_path / "events.csv")
    back = read_events(path)
    assert back["evidence"].tolist() == ev["evidence"].tolist()
    lines = (tmp_path / "events.evidence.jsonl").read_text().splitlines()
    assert len(lines) == len(evidence_table(ev)) == sum(len(f) for f in ev["flags"])
    first = json.loads(lines[0])
    assert {"event_id", "token", "reason", "mmsi"} <= set(first)


def test_dark_before_names_the_dark_period():
    dark = make_events("dark_period", mmsi=[445000001], start=[T0 - 20 * 3600],
                       end=[T0 - 5 * 3600], lat=[30.0], lon=[125.5])
    rv = make_events("rendezvous", mmsi=[412000001], other_mmsi=pd.array([445000001],
                                                                          dtype="Int64"),
                     start=[T0], end=[T0 + 3 * 3600], lat=[30.0], lon=[125.5])
    from stsdetect.events import concat_events

    out = flag_events(concat_events([dark, rv]), regions=[])
    row = out[out["event_type"] == "rendezvous"].iloc[0]
    reason = json.loads(row["evidence"])["dark_before"]
    assert reason["dark_event_id"] == dark["event_id"].iloc[0]
    assert reason["vessel"] == 445000001 and reason["hours_apart"] == pytest.approx(5.0)


def test_near_match_scores_below_exact():
    w = load_watchlist(WATCHLIST)
    ev = make_events("loitering", mmsi=[520190019, 412999003], start=[T0, T0],
                     end=[T0 + 3600] * 2, lat=[30.0] * 2, lon=[125.5] * 2)
    v = pd.DataFrame({"mmsi": [520190019, 412999003], "imo": pd.array([1000091, None],
                                                                      dtype="Int64"),
                      "name": ["Q", "R"]})
    out = flag_events(ev, vessels=v, watchlist=w, regions=[]).set_index("mmsi")
    assert "watchlist_similar" in out.loc[520190019, "flags"]
    assert "watchlist" in out.loc[412999003, "flags"]
    assert DEFAULT_WEIGHTS["watchlist_similar"] < DEFAULT_WEIGHTS["watchlist"]
    sims = json.loads(out.loc[520190019, "evidence"])["watchlist_similar"]
    # 1000091 is an adjacent swap of entry 0's 1000019 and one digit off entry 1's 1000021
    assert {s["entry"] for s in sims} == {0, 1}
    sim = next(s for s in sims if s["entry"] == 0)
    assert sim["rule"] == "imo_transposition" and sim["similarity"] < 1
    assert sim["entry"] == 0 and sim["listed"] == "1000019" and sim["broadcast"] == "1000091"


# --------------------------------------------------------------------------- identity columns


def test_identity_columns_of_both_participants():
    v = pd.DataFrame({"mmsi": [445000001, 412000001], "name": ["CHOL SAN", "ZHE HAI 1"],
                      "imo": pd.array([9074729, 0], dtype="Int64"),
                      "callsign": ["HMAB", None], "ship_type": pd.array([80, 99], dtype="Int64"),
                      "ais_class": ["A", "B"], "length_m": [120.0, 45.0]})
    ev = make_events("rendezvous", mmsi=[412000001], other_mmsi=pd.array([445000001],
                                                                          dtype="Int64"),
                     start=[T0], end=[T0 + 3 * 3600], lat=[30.0], lon=[125.5])
    out = flag_events(ev, vessels=v, regions=[]).iloc[0]
    assert out["name"] == "ZHE HAI 1" and pd.isna(out["imo"]) and out["ship_type"] == 99
    assert out["ship_type_text"] == "other type, no additional information"
    assert out["flag_iso"] == "CN" and out["flag_country"] == "China"
    assert out["ais_class"] == "B" and out["length_m"] == 45.0
    assert out["other_name"] == "CHOL SAN" and out["other_imo"] == 9074729
    assert out["other_flag_iso"] == "KP" and out["other_callsign"] == "HMAB"
    assert out["other_ship_type_text"] == "tanker, all ships of this type"
    assert ship_type_text([31, 255, None, 15]).tolist() == [
        "towing", "reserved", None, "reserved"]
    # a coast-station MMSI carries no flag
    assert pd.isna(vessel_identity([2_412_000_0])["flag_iso"].iloc[0])


def _vessel_identity_oracle(mmsi, vessels, positions):
    """vessel_identity as first written: a frame with one column assignment at a time."""
    from stsdetect.identity.barges import class_b_mmsi
    from stsdetect.identity.mid import _as_mmsi_array, flag_state

    m = _as_mmsi_array(mmsi)
    out = pd.DataFrame({"mmsi": m})
    v = None
    if vessels is not None and len(vessels) and "mmsi" in vessels:
        v = vessels.drop_duplicates("mmsi", keep="last").set_index("mmsi").reindex(m)

    def col(name):
        if v is None or name not in v:
            return pd.Series([pd.NA] * len(m), dtype=object)
        return v[name].reset_index(drop=True)

    out["name"] = col("name").astype("string").str.strip()
    imo = pd.to_numeric(col("imo"), errors="coerce")
    out["imo"] = imo.where(imo > 0).astype("Int64")
    out["callsign"] = col("callsign").astype("string").str.strip()
    st_ = pd.to_numeric(col("ship_type"), errors="coerce")
    out["ship_type"] = st_.astype("Int64")
    out["ship_type_text"] = pd.array(ship_type_text(st_.to_numpy(dtype=float)), dtype="string")
    flag = flag_state(m)
    ship = flag["is_flag"].to_numpy(bool)
    out["flag_iso"] = pd.array(np.where(ship, flag["iso2"], None), dtype="string")
    out["flag_country"] = pd.array(np.where(ship, flag["country"], None), dtype="string")
    cls = col("ais_class").astype("string").str.upper()
    if positions is not None and len(positions) and "msg_type" in positions:
        cls = cls.mask(cls.isna() & pd.Series(np.isin(m, class_b_mmsi(positions))), "B")
    out["ais_class"] = cls.astype("string")
    out["length_m"] = pd.to_numeric(col("length_m"), errors="coerce").astype("float64")
    out.loc[out["length_m"] <= 0, "length_m"] = np.nan
    return out


def _identity_columns_oracle(events, vessels, positions):
    """add_identity_columns as first written: one reindex per participant, one column
    assignment at a time."""
    from stsdetect.identity.columns import IDENTITY_COLUMNS

    out = events.copy()
    n = len(out)
    a = pd.to_numeric(out["mmsi"], errors="coerce").fillna(-1).to_numpy(np.int64)
    b = pd.to_numeric(out["other_mmsi"], errors="coerce").fillna(-1).to_numpy(np.int64)
    uniq = np.unique(np.concatenate([a, b]))
    ident = vessel_identity(uniq, vessels, positions).set_index("mmsi")
    for prefix, ids in (("", a), ("other_", b)):
        rows = ident.reindex(ids)
        for name, dtype in IDENTITY_COLUMNS.items():
            values = rows[name].to_numpy() if n else np.zeros(0, dtype=object)
            out[prefix + name] = pd.array(values, dtype=dtype) if n else pd.array([], dtype)
    return out


@settings(max_examples=60, deadline=None)
@given(st.lists(st.tuples(st.sampled_from([412000001, 445000001, 211000000, 2_412_000_0]),
                          st.sampled_from([None, 412000001, 445000001, 538000009])),
                max_size=6),
       st.sampled_from([None, "name", "other_ais_class"]), st.booleans())
def test_identity_columns_equal_the_column_by_column_route(pairs, present, with_positions):
    """The identity columns appended together (and those already present replaced in place)
    equal one assignment per column, as do vessel_identity's columns made at once (with a
    full, no or a partial vessels table); a given class_b equals the one computed from the
    positions."""
    from stsdetect.identity.barges import class_b_mmsi
    from stsdetect.identity.columns import add_identity_columns

    v = pd.DataFrame({"mmsi": [445000001, 412000001, 445000001],
                      "name": ["OLD", " ZHE HAI 1 ", "CHOL SAN"],
                      "imo": pd.array([9074729, 0, 9074729], dtype="Int64"),
                      "callsign": ["HMAB", None, "HMAB"],
                      "ship_type": pd.array([80, None, 80], dtype="Int64"),
                      "ais_class": [None, "a", None], "length_m": [120.0, -1.0, 121.0]})
    positions = pd.DataFrame({"mmsi": [445000001, 538000009, 211000000],
                              "msg_type": np.array([18, 19, 1], np.int8)}) \
        if with_positions else None
    ev = make_events("rendezvous", n=len(pairs), mmsi=[p[0] for p in pairs],
                     other_mmsi=pd.array([p[1] for p in pairs], dtype="Int64"),
                     start=[T0] * len(pairs), end=[T0 + 3600] * len(pairs),
                     lat=[30.0] * len(pairs), lon=[125.5] * len(pairs))
    if present is not None:
        ev[present] = "stale"
    want = _identity_columns_oracle(ev, v, positions)
    got = add_identity_columns(ev, v, positions)
    m = [p[0] for p in pairs] + [x for p in pairs for x in p[1:] if x is not None]
    for table in (v, None, v.drop(columns=["name", "imo", "ais_class"])):
        pd.testing.assert_frame_equal(vessel_identity(m, table, positions),
                                      _vessel_identity_oracle(m, table, positions))
    pd.testing.assert_frame_equal(got, want)
    given_b = add_identity_columns(ev, v, positions, class_b=class_b_mmsi(positions))
    pd.testing.assert_frame_equal(given_b, want)



_IDENTITY_TABLE = pd.DataFrame({
    "mmsi": [445000001, 412000001, 445000001, 636000002],
    "name": ["OLD", " ZHE HAI 1 ", "CHOL SAN", None],
    "imo": pd.array([9074729, 0, 9074729, None], dtype="Int64"),
    "callsign": ["HMAB", None, "HMAB", "X"],
    "ship_type": pd.array([80, None, 80, 52], dtype="Int64"),
    "ais_class": [None, "a", None, "b"], "length_m": [120.0, -1.0, 121.0, np.nan]})


@pytest.mark.parametrize("table", [
    _IDENTITY_TABLE,
    _IDENTITY_TABLE.astype({"mmsi": "Int64"}),  # not int64: found by a reindex
    _IDENTITY_TABLE.astype({"mmsi": "float64", "name": "string", "imo": "float64"}),
    _IDENTITY_TABLE.astype({"name": object}).assign(
        ship_type=np.array([80, 70, 31, 52]), length_m=[120, 0, 121, 7]),
    _IDENTITY_TABLE.iloc[:0],
    _IDENTITY_TABLE.drop(columns=["callsign", "length_m"]),
], ids=["int64", "Int64-mmsi", "float-mmsi", "numpy-cols", "empty", "no-columns"])
def test_identity_columns_take_each_vessels_column_as_the_reindex_did(table):
    """The last row of each MMSI taken column by column (a binary search on int64 MMSIs)
    gives what the frame reindexed by MMSI gave, for numpy, nullable and object columns,
    MMSIs absent from the table, a table of no rows and missing columns."""
    from stsdetect.identity.columns import add_identity_columns

    pairs = [(412000001, 445000001), (445000001, None), (211000000, 636000002),
             (636000002, 412000001), (538000009, None)]
    positions = pd.DataFrame({"mmsi": [445000001, 538000009, 211000000],
                              "msg_type": np.array([18, 19, 1], np.int8)})
    ev = make_events("rendezvous", n=len(pairs), mmsi=[p[0] for p in pairs],
                     other_mmsi=pd.array([p[1] for p in pairs], dtype="Int64"),
                     start=[T0] * len(pairs), end=[T0 + 3600] * len(pairs),
                     lat=[30.0] * len(pairs), lon=[125.5] * len(pairs))
    m = [412000001, 445000001, 211000000, 636000002, 538000009, 445000001, -1]
    pd.testing.assert_frame_equal(vessel_identity(m, table, positions),
                                  _vessel_identity_oracle(m, table, positions))
    pd.testing.assert_frame_equal(add_identity_columns(ev, table, positions),
                                  _identity_columns_oracle(ev, table, positions))
    pd.testing.assert_frame_equal(add_identity_columns(ev.iloc[:0], table, positions),
                                  _identity_columns_oracle(ev.iloc[:0], table, positions))


# --------------------------------------------------------------------------- links


@pytest.mark.parametrize("dtype", [object, "str"])
def test_identity_link_names_with_control_characters_are_valid_json(dtype):
    """A name broadcast with a tab, a newline or another control character (real type 5 text
    is 6-bit ASCII, but decoded CSVs carry anything) still gives evidence strict JSON parses:
    tab, newline and CR escaped, the rest as spaces, as every other evidence text."""
    statics = pd.DataFrame({
        "time": pd.to_datetime([T0, T0 + 3600, T0 + 7200], unit="s", utc=True),
        "mmsi": [412000001] * 3,
        "imo": [9074729] * 3,
        "name": pd.Series(['ALPHA\tONE', 'BETA "2"\nB', "GAMMA\x01\\"], dtype=dtype),
    })
    links = identity_links(statics=statics)
    changed = links[links["token"] == "identity_changed"]
    ev = json.loads(changed["evidence"].iloc[0], strict=True)
    assert sorted(ev["names"]) == sorted(['ALPHA\tONE', 'BETA "2"\nB', "GAMMA \\"])


def test_identity_links_shared_imo_changes_and_handover():
    statics = pd.DataFrame({
        "time": pd.to_datetime([T0, T0 + 3600, T0 + 7200, T0], unit="s", utc=True),
        "mmsi": [412000001, 412000001, 412000001, 413000002],
        "imo": [9074729, 9074729, 9074731, 9074729],
        "name": ["ALPHA", "ALPHA", "BETA", "GAMMA"],
    })
    links = identity_links(statics=statics)
    got = {(r.mmsi, r.token) for r in links.itertuples()}
    assert {(412000001, "imo_shared"), (413000002, "imo_shared"),
            (412000001, "identity_changed")} <= got
    changed = links[(links["mmsi"] == 412000001) & (links["token"] == "identity_changed")]
    ev = json.loads(changed["evidence"].iloc[0])
    assert ev["imos"] == [9074729, 9074731] and ev["names"] == ["ALPHA", "BETA"]
    # handover: A silent at 10 h, B appears 2 h later 1.5 km away, same 105 x 17 m
    t_a = np.arange(0, 10 * 3600, 300.0) + T0
    t_b = np.arange(12 * 3600, 24 * 3600, 300.0) + T0
    t_c = np.arange(0, 24 * 3600, 300.0) + T0
    tracks = Tracks.from_arrays(
        np.concatenate([np.full(t_a.size, 667000001), np.full(t_b.size, 511000002),
                        np.full(t_c.size, 511000003)]),
        np.concatenate([t_a, t_b, t_c]),
        np.concatenate([np.full(t_a.size, 30.95), np.full(t_b.size, 30.96),
                        np.full(t_c.size, 30.95)]),
        np.concatenate([np.full(t_a.size, 122.8), np.full(t_b.size, 122.81),
                        np.full(t_c.size, 122.801)]))
    vessels = pd.DataFrame({"mmsi": [667000001, 511000002, 511000003],
                            "length_m": [105.0, 105.0, 105.0], "beam_m": [17.0, 17.0, 17.0]})
    links = identity_links(vessels, tracks=tracks)
    hand = links[links["token"] == "handover"].set_index("mmsi")
    assert set(hand.index) == {667000001, 511000002}    # 511000003 was there all along
    ev = json.loads(hand.loc[511000002, "evidence"])
    assert ev["role"] == "appeared" and ev["other"] == 667000001
    assert ev["gap_h"] == pytest.approx(2.0 + 300 / 3600) and ev["distance_km"] < 5
    # other dimensions: no handover
    vessels.loc[1, "length_m"] = 180.0
    assert "handover" not in set(identity_links(vessels, tracks=tracks)["token"])


@st.composite
def _histories(draw):
    """A statics history and a vessels table over a few MMSIs sharing a few IMO numbers
    (with missing, zero, negative and fractional ones), names and times."""
    pool = [412000001, 412000002, 413000003, 414000004, 415000005, 416000006]
    imos = [None, 9074729, 9074731, 9074743, 0, -3, 9074729.6, 0.5, 0.7]
    n = draw(st.integers(0, 30))
    rows = draw(st.lists(st.tuples(st.sampled_from(pool), st.sampled_from(imos),
                                   st.sampled_from([None, "ALPHA", "BETA", "GAMMA 2", ""]),
                                   st.integers(0, 10**6)), min_size=n, max_size=n))
    statics = pd.DataFrame({
        "time": pd.to_datetime([T0 + r[3] for r in rows], unit="s", utc=True),
        "mmsi": np.array([r[0] for r in rows], np.int64),
        "imo": pd.array([r[1] for r in rows], dtype="Float64"),
        "name": pd.array([r[2] for r in rows], dtype="string")})
    vmmsi = draw(st.lists(st.sampled_from(pool), unique=True, max_size=len(pool)))
    vessels = pd.DataFrame({
        "mmsi": np.array(vmmsi, np.int64),
        "imo": pd.array([draw(st.sampled_from(imos)) for _ in vmmsi], dtype="Float64"),
        "name": pd.array([draw(st.sampled_from([None, "ALPHA", "DELTA"])) for _ in vmmsi],
                         dtype="string")})
    wanted = draw(st.lists(st.sampled_from(pool), max_size=4))
    return statics, vessels, wanted


@settings(max_examples=50, deadline=None)
@given(_histories())
def test_identity_links_of_some_vessels_equal_all_links_filtered(case):
    """identity_links(mmsi=...) reads only the history rows bearing on those vessels; its
    links are those of the whole history, filtered to them (the oracle)."""
    statics, vessels, wanted = case
    for v in (None, vessels):
        got = identity_links(v, statics=statics, mmsi=wanted)
        every = identity_links(v, statics=statics)
        oracle = every[every["mmsi"].isin(wanted)].reset_index(drop=True)
        pd.testing.assert_frame_equal(got, oracle)


# --------------------------------------------------------------------------- barge strength


def test_weak_barge_never_for_a_vessel_at_sea_speed_for_days():
    """A Chinese-MID Class B vessel making 9 kn for two days is no barge (issue #13)."""
    t = np.arange(0, 48 * 3600, 60.0) + T0
    lat = -20.0 + np.arange(t.size) * (9 * 1852 / 60 / 111_195)
    tracks = Tracks.from_arrays(np.full(t.size, 412000077), t, lat, np.full(t.size, -170.0),
                                np.full(t.size, 9.0))
    positions = pd.DataFrame({"mmsi": [412000077], "msg_type": np.array([18], np.int8)})
    v = pd.DataFrame({"mmsi": [235000001], "ship_type": pd.array([70], dtype="Int64")})
    b = classify_barges(v, tracks=tracks, positions=positions).set_index("mmsi")
    assert not b.loc[412000077, "is_barge"] and "sea_going:48h" in b.loc[412000077, "reason"]
    # the same vessel moored: a weak call
    slow = Tracks.from_arrays(np.full(t.size, 412000077), t, np.full(t.size, -20.0),
                              np.full(t.size, -170.0), np.full(t.size, 0.2))
    b = classify_barges(v, tracks=slow, positions=positions).set_index("mmsi")
    assert b.loc[412000077, "is_barge"] and b.loc[412000077, "strength"] == "weak"
    assert DEFAULT_WEIGHTS["barge_weak"] < DEFAULT_WEIGHTS["barge"]


# --------------------------------------------------------------------------- end to end


def test_disguised_identities_found_end_to_end():
    """The simulator's disguises (foreign MMSI, near IMO, name variant, handover) are found,
    each with its evidence."""
    import stsdetect
    from stsdetect.simulate import DISGUISED_IDENTITY, HANDOVER_IDENTITIES, simulate

    sc = simulate(seed=5, min_interval_s=120, n_background=6, disguised=True)
    res = stsdetect.detect(sc.lines(), watchlist=WATCHLIST)
    ev = res.events
    other = ev["other_mmsi"].fillna(-1).astype("int64")
    for row in sc.truth[sc.truth["expect_detected"]].itertuples():
        o = -1 if pd.isna(row.other_mmsi) else int(row.other_mmsi)
        same = ((ev["event_type"] == row.event_type) & (ev["mmsi"] == row.mmsi)
                & (other == o) & (ev["start"] < row.end) & (ev["end"] > row.start))
        assert same.any(), (row.kind, row.mmsi)
        expected = set(filter(None, str(row.expected_flags).split(";")))
        flags = set().union(*ev.loc[same, "flags"])
        assert expected <= flags, (row.kind, expected, flags)
    disguised = DISGUISED_IDENTITY["mmsi"]
    transfer = ev[(ev["other_mmsi"] == disguised) & (ev["event_type"] == "rendezvous")].iloc[0]
    assert "dprk" not in transfer["flags"]                         # the MID is hidden
    reasons = json.loads(transfer["evidence"])
    sim = reasons["watchlist_similar"]
    sims = sim if isinstance(sim, list) else [sim]
    rules = {s["rule"] for s in sims}
    # from the statics history, both names ("EXAMPLE STAR SEVEN", then "EXAMPEL STAR 7")
    # are near the listed alias "EXAMPLE STAR 7"; the strongest rule is reported
    assert {"imo_transposition", "name_romanisation"} <= rules
    assert "EXAMPLE STAR" in {s["entry_name"] for s in sims}
    assert reasons["flag_mismatch"]["mid_iso"] == "FJ"
    assert reasons["flag_mismatch"]["entry_flag"].startswith("Korea")
    assert transfer["other_flag_country"] == "Fiji" and transfer["other_imo"] == 1000091
    # the rename after the dark period: name one edit off, and an identity change over time
    assert "identity_changed" in reasons
    # the handover, both sides
    a, b = (h["mmsi"] for h in HANDOVER_IDENTITIES)
    for mmsi, role, other_id in ((a, "fell_silent", b), (b, "appeared", a)):
        row = ev[(ev["mmsi"] == mmsi) & (ev["event_type"] == "loitering")].iloc[0]
        hand = json.loads(row["evidence"])["handover"]
        assert hand["role"] == role and hand["other"] == other_id
        assert hand["length_m"] == 105 and hand["distance_km"] < 2


def test_false_near_matches_on_real_ship_names_are_rare(shared_data):
    """Every named vessel of the real dumps against 500 made-up DPRK-style entries: under 1 %
    get a near match (measured: 8 of 4,150, 0.19 %; see benchmarks/bench_watchlist.py)."""
    import warnings

    from stsdetect.ais import read_ais

    parts = []
    for path in sorted(p for p in shared_data.rglob("*") if p.is_file()):  # per sample file
        if path.suffix in (".md", ".geojson"):
            continue
        try:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                v = read_ais(path).vessels
        except Exception:
            continue
        parts.append(v[[c for c in ("mmsi", "name", "imo", "callsign") if c in v]])
    real = pd.concat(parts, ignore_index=True)
    real = real[real["name"].notna() & (real["name"].astype(str).str.strip() != "")]
    real = real.drop_duplicates(["mmsi", "name"])
    assert len(real) > 3000                      # thousands of real ship names
    rng = np.random.default_rng(1)
    syll = np.array(["CHON", "MA", "SAN", "KUM", "UN", "SONG", "RIM", "PAEK", "DU", "JI", "YU",
                     "JONG", "NAM", "HWA", "RYONG", "GANG", "CHOL", "AN", "BU", "KWANG"],
                    dtype=object)
    n = 500
    name = syll[rng.integers(0, syll.size, n)] + " " + syll[rng.integers(0, syll.size, n)]
    name = np.where(rng.random(n) < 0.6, name + " " + rng.integers(1, 30, n).astype(str), name)
    listed = pd.DataFrame({"vessel_name": name,
                           "imo_number": [str(_imo(x)) for x in rng.integers(100_000, 999_999,
                                                                              n)],
                           "flag": "DPRK"})
    hits = watchlist_hits(real, load_watchlist(listed))
    false = hits.loc[hits["rule"] != "exact", "mmsi"].nunique()
    assert false / len(real) < 0.01, false


@settings(max_examples=100, deadline=None)
@given(st.lists(st.integers(-5, 20), max_size=40), st.lists(st.integers(-5, 20), max_size=8))
def test_member_equals_isin(x, values):
    from stsdetect.identity.links import _member

    x, values = np.array(x, np.int64), np.array(values, np.int64)
    assert _member(x, values).tolist() == np.isin(x, values).tolist()


@st.composite
def _handover_fleet(draw):
    """A few vessels with first/last reports and dimensions near each other (the activity
    table of the handover rule), in one small area and one day."""
    n = draw(st.integers(2, 7))
    rows = []
    for i in range(n):
        first = draw(st.integers(0, 20)) * 1800
        last = first + draw(st.integers(0, 20)) * 1800
        rows.append({
            "mmsi": 412000001 + i, "t_first_ns": (T0 + first) * 10**9,
            "lat_first": 30.9 + draw(st.integers(0, 8)) * 0.01,
            "lon_first": 122.8 + draw(st.integers(0, 8)) * 0.01,
            "t_last_ns": (T0 + last) * 10**9,
            "lat_last": 30.9 + draw(st.integers(0, 8)) * 0.01,
            "lon_last": 122.8 + draw(st.integers(0, 8)) * 0.01,
            "sea_s": 0.0, "tail_s": 0.0, "pos_first_ns": (T0 + first) * 10**9,
            "pos_last_ns": (T0 + last) * 10**9})
    act = pd.DataFrame(rows)
    dims = st.one_of(st.just(np.nan), st.floats(99.0, 102.0).map(lambda x: round(x, 1)))
    vessels = pd.DataFrame({"mmsi": act["mmsi"],
                            "length_m": [draw(dims) for _ in range(n)],
                            "beam_m": [draw(st.floats(15.0, 18.0).map(lambda x: round(x, 1)))
                                       for _ in range(n)]})
    return act, vessels


@settings(max_examples=60, deadline=None)
@given(_handover_fleet())
def test_handover_links_equal_a_brute_force_over_all_pairs(fleet):
    """The handover rule against every ordered pair checked one by one: dimensions equal
    within a metre after rounding, silence at most 6 h, at most 5 km, away from the data's
    edges (the shifted-dimension join finds exactly these pairs)."""
    from stsdetect.geo import haversine_m
    from stsdetect.identity.links import (
        HANDOVER_EDGE_S,
        HANDOVER_MAX_DISTANCE_M,
        HANDOVER_MAX_GAP_S,
    )

    act, vessels = fleet
    got = identity_links(vessels, activity=act)
    got = got[got["token"] == "handover"]
    found = set()
    for m, text in zip(got["mmsi"], got["evidence"], strict=True):
        evs = json.loads(text)
        for ev in (evs if isinstance(evs, list) else [evs]):
            pair = (m, ev["other"]) if ev["role"] == "fell_silent" else (ev["other"], m)
            found.add((ev["role"], m, pair))
    lo, hi = act["t_first_ns"].min(), act["t_last_ns"].max()
    edge = HANDOVER_EDGE_S * 1e9
    want = set()
    rows = act.to_dict("records")
    dims = vessels.set_index("mmsi")
    for a in rows:  # a few vessels: every ordered pair
        for b in rows:
            la, ba = dims.loc[a["mmsi"], "length_m"], dims.loc[a["mmsi"], "beam_m"]
            lb, bb = dims.loc[b["mmsi"], "length_m"], dims.loc[b["mmsi"], "beam_m"]
            if a["mmsi"] == b["mmsi"] or not all(np.isfinite([la, ba, lb, bb])):
                continue
            gap = b["t_first_ns"] - a["t_last_ns"]
            if (abs(round(la) - round(lb)) <= 1 and abs(round(ba) - round(bb)) <= 1
                    and a["t_last_ns"] < hi - edge and b["t_first_ns"] > lo + edge
                    and 0 < gap <= HANDOVER_MAX_GAP_S * 1e9
                    and haversine_m(a["lat_last"], a["lon_last"], b["lat_first"],
                                    b["lon_first"]) <= HANDOVER_MAX_DISTANCE_M):
                pair = (a["mmsi"], b["mmsi"])
                want |= {("fell_silent", a["mmsi"], pair), ("appeared", b["mmsi"], pair)}
    assert found == want


#: Control characters JSON text of names keeps only as spaces (all but tab, newline, CR).
_CONTROL = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f]")


def _json_list_oracle(values: pd.Series, by) -> pd.Series:
    """identity.links._json_list as pandas made it (drop_duplicates, sort, groupby join)."""
    text = values.astype(str)
    if not pd.api.types.is_numeric_dtype(values):
        text = text.map(lambda v: json.dumps(_CONTROL.sub(" ", v), ensure_ascii=False))
    frame = pd.DataFrame({"by": np.asarray(by), "t": text.to_numpy(dtype=object)})
    frame = frame.drop_duplicates().sort_values(["by", "t"])
    return "[" + frame.groupby("by")["t"].agg(", ".join) + "]"


@settings(max_examples=80, deadline=None)
@given(st.lists(st.tuples(st.integers(0, 4), st.text(max_size=4),
                          st.integers(0, 10**10)), max_size=20))
def test_json_list_equals_the_pandas_oracle(rows):
    """The distinct values per group as JSON arrays (texts quoted and escaped, numbers bare,
    sorted as text, groups sorted): the same texts per group as the pandas version."""
    from stsdetect.identity.links import _json_list

    by = np.array([r[0] for r in rows], np.int64)
    for values in (pd.Series([r[1] for r in rows], dtype=object),
                   pd.Series([r[1] for r in rows], dtype="str"),
                   pd.Series(np.array([r[2] for r in rows], np.int64))):
        got, want = _json_list(values, by), _json_list_oracle(values, by)
        assert got.index.tolist() == want.index.tolist()
        assert got.tolist() == want.tolist()


@st.composite
def _links_inputs(draw):
    """A handover fleet plus statics history, IMOs and names drawn from small pools (shared
    IMOs, changed names), duplicate vessel rows, and sometimes float MMSIs or a filter."""
    act, vessels = draw(_handover_fleet())
    n = len(vessels)
    vessels = vessels.assign(
        imo=[draw(st.sampled_from([0, 9074729, 9176187, 1234567])) for _ in range(n)],
        name=[draw(st.sampled_from(["A", "B", "SEA STAR", ""])) for _ in range(n)],
        n_name_changes=[draw(st.integers(0, 2)) for _ in range(n)])
    if draw(st.booleans()):  # a vessel twice: its last row counts
        extra = vessels.iloc[[draw(st.integers(0, n - 1))]].assign(
            length_m=draw(st.sampled_from([np.nan, 100.0, 101.4])))
        vessels = pd.concat([vessels, extra], ignore_index=True)
    if draw(st.booleans()):
        vessels = vessels.assign(mmsi=vessels["mmsi"].astype(float))
    k = draw(st.integers(0, 12))
    statics = pd.DataFrame({
        "time": pd.to_datetime([(T0 + draw(st.integers(0, 86400))) * 10**9 for _ in range(k)],
                               utc=True),
        "mmsi": [412000001 + draw(st.integers(0, n)) for _ in range(k)],
        "imo": pd.array([draw(st.sampled_from([None, 9074729, 9176187])) for _ in range(k)],
                        dtype="Int64"),
        "name": pd.array([draw(st.sampled_from([None, "A", "B", "C"])) for _ in range(k)],
                         dtype="string")})
    mmsi = None if draw(st.booleans()) else draw(st.lists(
        st.integers(412000001, 412000008), max_size=4))
    return act, vessels, statics if k else None, mmsi


@settings(max_examples=60, deadline=None)
@given(_links_inputs())
def test_identity_links_equal_the_pandas_route(case):
    """identity_links (handover join and final merge on plain arrays) equals the route that
    made them with pandas merge, concat, sort_values and groupby (tests/_links_oracle.py):
    same rows, dtypes and texts."""
    from _links_oracle import identity_links as pandas_route

    act, vessels, statics, mmsi = case
    got = identity_links(vessels, statics=statics, activity=act, mmsi=mmsi)
    want = pandas_route(vessels, statics=statics, activity=act, mmsi=mmsi)
    pd.testing.assert_frame_equal(got, want)


class _Segments:
    """The part of a Tracks that identity_anomalies reads."""

    def __init__(self, segment_mmsi):
        self.segment_mmsi = np.asarray(segment_mmsi, np.int64)

    def __len__(self):
        return self.segment_mmsi.size


_ANOMALY_MMSI = st.sampled_from([0, 123456789, 111111111, 412000001, 412000002, 445028319,
                                 2573001, 970123456, 992351000, 1193046, 998123456])


@settings(max_examples=60, deadline=None)
@given(st.lists(st.tuples(_ANOMALY_MMSI, st.integers(0, 3), st.integers(0, 2),
                          st.sampled_from([None, 0, 9074729, 9074728, 1234567])),
                max_size=8),
       st.lists(_ANOMALY_MMSI, max_size=6), st.lists(_ANOMALY_MMSI, max_size=4),
       st.booleans(), st.booleans())
def test_identity_anomalies_equal_the_pandas_route(rows, segments, extra, names, tracks):
    """identity_anomalies (its table made on arrays) equals the route that concatenated
    frames, dropped duplicates and sorted them (tests/_links_oracle.py)."""
    from _links_oracle import identity_anomalies as pandas_route

    from stsdetect.identity.links import identity_anomalies

    vessels = pd.DataFrame({
        "mmsi": np.array([r[0] for r in rows], np.int64),
        "n_name_changes": [r[1] for r in rows], "n_type_changes": [r[2] for r in rows],
        "imo": pd.array([r[3] for r in rows], dtype="Int64")})
    if names:
        vessels["names"] = [";".join(["A", "B", "C"][:r[1]]) for r in rows]
    seg = _Segments(segments) if tracks else None
    for v in (vessels, None):
        got = identity_anomalies(v, tracks=seg, mmsi=extra)
        want = pandas_route(v, tracks=seg, mmsi=extra)
        pd.testing.assert_frame_equal(got, want)
