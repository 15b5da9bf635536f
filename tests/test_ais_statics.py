"""Vectorized static decoding (decode_statics) against pyais (decode_static), and build_vessels
against a plain pandas implementation."""

from __future__ import annotations

import functools
import math
import re

import numpy as np
import pandas as pd
import pytest
from _nmea import armour as _armour
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from pyais.bit_vector import bit_vector
from pyais.encode import encode_dict
from pyais.messages import MSG_CLASS

import stsdetect.ais.statics as statics_mod
from stsdetect.ais.statics import (
    STATICS_MIN_BITS,
    STATICS_SKIP_REASONS,
    VESSEL_COLUMNS,
    _positive,
    build_vessels,
    decode_statics,
)
from stsdetect.ais.statics import _text as _static_text

# --- the oracle: pyais, one message at a time --------------------------------------------------


@functools.lru_cache(maxsize=65536)
def decode_static(msg_type: int, payload: bytes, fill_bits: int):
    """Decode one static message with pyais.

    Parameters
    ----------
    msg_type : int
        5, 19 or 24.
    payload : bytes
        Armoured payload (all fragments joined).
    fill_bits : int
        Fill bits of the last fragment.

    Returns
    -------
    dict or str
        The static fields (``mmsi``, ``msg_type``, ``imo``, ``callsign``, ``name``,
        ``ship_type``, ``length_m``, ``beam_m``, ``draught_m``, ``destination``; None / NaN when
        absent or "not available"), or a skip reason (``"undecodable_payload"``,
        ``"invalid_type24_part"``). Results are cached: vessels repeat the same static
        message every few minutes, so most calls on a real dump are cache hits. Treat the
        returned dict as read-only.
    """
    if msg_type == 24 and len(payload) > 6:
        char = payload[6]
        value = char - 48 - (8 if char >= 96 else 0)
        if (value >> 2) & 3 > 1:  # part number, bits 38-39
            return "invalid_type24_part"
    try:
        msg = MSG_CLASS[msg_type].from_vector(bit_vector(payload, fill_bits))
    except Exception:  # pyais raises many types on bad bit strings; all mean the same here
        return "undecodable_payload"
    rec = {"mmsi": int(msg.mmsi), "msg_type": int(msg_type), "imo": None, "callsign": None,
           "name": None, "ship_type": None, "length_m": np.nan, "beam_m": np.nan,
           "draught_m": np.nan, "destination": None}
    if msg_type == 24:
        part = int(getattr(msg, "partno", -1))
        if part == 0:
            rec["name"] = _static_text(msg.shipname)
            return rec
        if part != 1:
            return "invalid_type24_part"
    else:
        rec["name"] = _static_text(getattr(msg, "shipname", None))
    ship_type = int(getattr(msg, "ship_type", 0) or 0)
    rec["ship_type"] = ship_type if 0 < ship_type < 100 else None
    rec["callsign"] = _static_text(getattr(msg, "callsign", None))
    to_bow = getattr(msg, "to_bow", None)
    if to_bow is not None:
        rec["length_m"] = _positive((msg.to_bow or 0) + (msg.to_stern or 0))
        rec["beam_m"] = _positive((msg.to_port or 0) + (msg.to_starboard or 0))
    if msg_type == 5:
        imo = int(msg.imo or 0)
        rec["imo"] = imo if 0 < imo < 1_000_000_000 else None
        rec["draught_m"] = _positive(msg.draught)
        rec["destination"] = _static_text(msg.destination)
    return rec


FIELDS = ["mmsi", "msg_type", "imo", "callsign", "name", "ship_type", "length_m", "beam_m",
          "draught_m", "destination"]
# the AIS 6-bit text alphabet (ITU-R M.1371-5 table 47), '@' = "not available"
SIXBIT_TEXT = "@ABCDEFGHIJKLMNOPQRSTUVWXYZ[\\]^_ !\"#$%&'()*+,-./0123456789:;<=>?"
ARMOUR = bytes(list(range(48, 88)) + list(range(96, 120)))
NOT_ARMOUR = bytes(sorted(set(range(256)) - set(ARMOUR)))


# --- helpers ----------------------------------------------------------------------------------

def _bits(payload: bytes, fill: int) -> str:
    """The payload's bit string (fill bits dropped)."""
    v = [c - 48 - (8 if c >= 96 else 0) for c in payload]
    bits = "".join(f"{x:06b}" for x in v)
    return bits[:len(bits) - fill]


def _encode(msg: dict) -> tuple[bytes, int]:
    """Payload and fill bits of a message encoded by pyais (all fragments joined)."""
    sentences = encode_dict(msg, talker_id="AI")
    payload = b"".join(s.split(",")[5].encode() for s in sentences)
    return payload, int(sentences[-1].split(",")[6][0])


def _pack(rows, sep: bytes = b",") -> tuple:
    """decode_statics' arguments for rows of (msg_type, payload, fill).

    Payloads are separated by ``sep`` (not armour characters by default, as in a real NMEA
    buffer) and followed by 64 bytes of it.
    """
    chunks, starts, pos = [], [], 0
    for _, payload, _ in rows:
        starts.append(pos)
        chunks.append(payload + sep)
        pos += len(payload) + len(sep)
    buf = np.frombuffer(b"".join(chunks) + sep * 64, np.uint8)
    return (buf, np.array(starts, dtype=np.int64),
            np.array([len(p) for _, p, _ in rows], dtype=np.int64),
            np.array([f for _, _, f in rows], dtype=np.int64),
            np.array([t for t, _, _ in rows], dtype=np.int64))


def _decode_both_ways(rows, sep: bytes = b",") -> dict:
    """decode_statics on rows (one call; the payloads in one buffer, as the reader has them)."""
    return decode_statics(*_pack(rows, sep))


def _missing(x) -> bool:
    return x is None or (isinstance(x, float) and math.isnan(x))


def _expected(msg_type: int, payload: bytes, fill: int):
    """What decode_statics should give for one row: a skip reason or decode_static's dict."""
    if 6 * len(payload) - fill < STATICS_MIN_BITS[msg_type]:
        return "short_payload"
    if any(c not in ARMOUR for c in payload):
        return "undecodable_payload"  # pyais would decode garbage: see decode_statics' notes
    return decode_static(msg_type, payload, fill)


def _assert_rows_match(rows, out) -> None:
    for i, (msg_type, payload, fill) in enumerate(rows):
        ref = _expected(msg_type, payload, fill)
        reason = STATICS_SKIP_REASONS[out["reason"][i]]
        if isinstance(ref, str):
            assert reason == ref, (i, payload, fill)
            assert out["mmsi"][i] == 0 and out["name"][i] is None
            continue
        assert reason == "", (i, payload, fill)
        for key in FIELDS:
            got, want = out[key][i], ref[key]
            if _missing(want):
                assert _missing(got), (i, key, payload, fill, got, want)
            else:
                assert got == want, (i, key, payload, fill, got, want)
                if isinstance(want, str):
                    assert isinstance(got, str)


# --- hypothesis strategies ----------------------------------------------------------------------

def _text(max_size: int):
    return st.text(alphabet=SIXBIT_TEXT, max_size=max_size)


_mmsi = st.one_of(st.integers(0, 2**30 - 1), st.integers(980_000_000, 989_999_999),
                  st.sampled_from([0, 1, 999_999_999, 2**30 - 1]))
_dims = st.fixed_dictionaries({"to_bow": st.integers(0, 511), "to_stern": st.integers(0, 511),
                               "to_port": st.integers(0, 63),
                               "to_starboard": st.integers(0, 63)})
_ship_type = st.one_of(st.integers(0, 255), st.sampled_from([0, 1, 99, 100, 255]))


@st.composite
def _static_message(draw):
    """(msg_type, payload, fill) of a pyais-encoded static message, maybe cut or extended."""
    kind = draw(st.sampled_from(["5", "19", "24A", "24B"]))
    mmsi = draw(_mmsi)
    if kind == "5":
        msg = {"type": 5, "mmsi": mmsi, "imo": draw(st.one_of(st.integers(0, 2**30 - 1),
                                                              st.sampled_from([0, 999_999_999,
                                                                               10**9]))),
               "callsign": draw(_text(7)), "shipname": draw(_text(20)),
               "ship_type": draw(_ship_type), "draught": draw(st.integers(0, 255)) / 10,
               "destination": draw(_text(20)), **draw(_dims)}
    elif kind == "19":
        msg = {"type": 19, "mmsi": mmsi, "shipname": draw(_text(20)),
               "ship_type": draw(_ship_type), "lat": 30.5, "lon": 122.0, **draw(_dims)}
    elif kind == "24A":
        msg = {"type": 24, "mmsi": mmsi, "partno": 0, "shipname": draw(_text(20))}
    else:
        msg = {"type": 24, "mmsi": mmsi, "partno": 1, "ship_type": draw(_ship_type),
               "callsign": draw(_text(7)), "vendorid": draw(_text(3)),
               "mothership_mmsi": draw(_mmsi), **draw(_dims)}  # the mother ship: 98XXXYYYY
    msg_type = msg["type"]
    payload, fill = _encode(msg)
    bits = _bits(payload, fill)
    if msg_type == 24 and draw(st.integers(0, 9)) == 0:  # an invalid part number, 2 or 3
        bits = bits[:38] + draw(st.sampled_from(["10", "11"])) + bits[40:]
    # any raw ship type (pyais's encoder maps reserved codes to others, its decoder too)
    at = {"5": 232, "19": 263, "24B": 40}.get(kind)
    if at is not None:
        bits = bits[:at] + f"{draw(_ship_type):08b}" + bits[at + 8:]
    # lengths around the minimum and past the standard length (pyais reads what is there)
    n_bits = draw(st.integers(STATICS_MIN_BITS[msg_type] - 8, len(bits) + 14))
    extra = draw(st.text(alphabet="01", min_size=14, max_size=14))
    payload, fill = _armour((bits + extra)[:n_bits])
    return msg_type, payload, fill


# --- decode_statics: against pyais --------------------------------------------------------------

@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(_static_message(), min_size=1, max_size=12), st.integers(0, 3))
def test_decode_statics_matches_pyais(rows, n_repeats):
    rows = rows + rows[:n_repeats]  # repeated payloads are decoded once, then copied
    _assert_rows_match(rows, _decode_both_ways(rows))


@settings(max_examples=30, deadline=None)
@given(st.lists(_static_message(), min_size=1, max_size=6))
def test_decode_statics_ignores_bytes_past_the_payload(rows):
    """Armour characters right after a payload (a neighbour's) change nothing."""
    a = _decode_both_ways(rows, sep=b"w")
    b = _decode_both_ways(rows, sep=b"0")
    _assert_rows_match(rows, a)
    for key in [*FIELDS, "reason"]:
        assert [None if _missing(x) else x for x in a[key]] == \
               [None if _missing(x) else x for x in b[key]]


def test_decode_statics_type5_and_type24_lengths():
    """Type 5 of 420..426 bits and type 24 of 158..168 bits, as pyais reads them."""
    five, five_fill = _encode({"type": 5, "mmsi": 413_000_001, "imo": 9_123_456,
                               "callsign": "BXYZ", "shipname": "HAI YANG 7",
                               "destination": "NINGBO ZHOUSHAN?", "ship_type": 80,
                               "to_bow": 100, "to_stern": 20, "to_port": 10,
                               "to_starboard": 63, "draught": 12.5})
    part_a, a_fill = _encode({"type": 24, "mmsi": 445_000_002, "partno": 0,
                              "shipname": "PYONG HWA 0123456789"})
    part_b, b_fill = _encode({"type": 24, "mmsi": 445_000_002, "partno": 1, "ship_type": 52,
                              "callsign": "HMAB", "to_bow": 10, "to_stern": 5, "to_port": 3,
                              "to_starboard": 63})
    rows = []
    for payload, fill, msg_type, lengths in ((five, five_fill, 5, range(418, 428)),
                                             (part_a, a_fill, 24, range(156, 170)),
                                             (part_b, b_fill, 24, range(156, 170))):
        bits = _bits(payload, fill) + "101101101101"
        rows += [(msg_type, *_armour(bits[:n])) for n in lengths]
    out = _decode_both_ways(rows)
    _assert_rows_match(rows, out)
    reasons = [STATICS_SKIP_REASONS[r] for r in out["reason"]]
    assert reasons[:2] == ["short_payload"] * 2 and set(reasons[2:10]) == {""}
    assert out["destination"][2] == decode_static(*rows[2])["destination"]  # 420 bits: cut


def test_decode_statics_invalid_characters():
    payload, fill = _encode({"type": 5, "mmsi": 413_000_001, "shipname": "A"})
    long_payload = payload + b"0" * 40  # past the 72 bytes gathered per payload
    rows = [(5, payload, fill), (5, long_payload, fill)]
    for bad in (b" ", b"X", b"_", b"x", b"z", b"\x00", b"\xff", b"/"):
        for pos in (0, 1, 6, 40, len(payload) - 1):
            rows.append((5, payload[:pos] + bad + payload[pos + 1:], fill))
        rows.append((5, long_payload[:100] + bad + long_payload[101:], fill))
    out = _decode_both_ways(rows)
    reasons = [STATICS_SKIP_REASONS[r] for r in out["reason"]]
    assert reasons[:2] == ["", ""]
    assert set(reasons[2:]) == {"undecodable_payload"}
    assert out["name"][0] == out["name"][1] == "A"
    assert [decode_static(*r)["name"] for r in rows[:2]] == ["A", "A"]


def test_decode_statics_reason_order():
    """short beats an invalid character, which beats an invalid type 24 part."""
    payload, fill = _encode({"type": 24, "mmsi": 1, "partno": 0, "shipname": "X"})
    bits = _bits(payload, fill)
    part3, fill3 = _armour(bits[:38] + "11" + bits[40:])
    rows = [(24, part3, fill3), (24, part3[:10] + b"!" + part3[11:], fill3),
            (24, part3[:20], 0), (24, b"!" * 20, 0)]
    out = decode_statics(*_pack(rows))
    assert [STATICS_SKIP_REASONS[r] for r in out["reason"]] == [
        "invalid_type24_part", "undecodable_payload", "short_payload", "short_payload"]
    assert decode_static(*rows[0]) == "invalid_type24_part"


def test_decode_statics_negative_fill_is_undecodable():
    payload, _ = _encode({"type": 5, "mmsi": 2, "shipname": "A"})
    out = decode_statics(*_pack([(5, payload, -1)]))
    assert STATICS_SKIP_REASONS[out["reason"][0]] == "undecodable_payload"
    assert decode_static(5, payload, -1) == "undecodable_payload"


def test_decode_statics_empty_and_bad_arguments():
    out = decode_statics(np.zeros(64, np.uint8), [], [], [], [])
    assert set(out) == set(FIELDS) | {"reason"}
    assert all(len(v) == 0 for v in out.values())
    assert out["reason"].dtype == np.int8 and out["name"].dtype == object
    payload, fill = _encode({"type": 5, "mmsi": 2})
    buf, start, n_chars, fills, types = _pack([(5, payload, fill)])
    with pytest.raises(ValueError, match="not static types"):
        decode_statics(buf, start, n_chars, fills, [18])
    with pytest.raises(ValueError, match="same length"):
        decode_statics(buf, start, n_chars, fills, [5, 5])
    with pytest.raises(ValueError, match="inside buf"):
        decode_statics(buf[:40], start, n_chars, fills, types)
    # no padding after the payload is needed; bytes do as well as an array
    for b in (buf[:len(payload)], payload, bytearray(payload)):
        out = decode_statics(b, start, n_chars, fills, types)
        assert out["mmsi"][0] == 2 and out["reason"][0] == 0


def _nmea_statics(path) -> list:
    """(msg_type, payload, fill) of the static messages of an NMEA file, fragments joined."""
    sentence = re.compile(rb"[!$][A-Z]{2}VD[MO],(\d),(\d),(\d?),([^,]*),([^,]*),(\d)\*")
    pending, found = {}, []
    for line in path.read_bytes().splitlines():
        m = sentence.search(line)
        if not m:
            continue
        n, i, seq, channel, payload, fill = m.groups()
        n, i = int(n), int(i)
        if n == 1:
            found.append((payload, int(fill)))
            continue
        parts = [] if i == 1 else pending.get((seq, channel), [])
        if len(parts) != i - 1:
            pending.pop((seq, channel), None)
            continue
        parts.append(payload)
        pending[(seq, channel)] = parts
        if i == n:
            found.append((b"".join(parts), int(fill)))
            del pending[(seq, channel)]
    types = {b"5": 5, b"C": 19, b"H": 24}
    return [(types[p[:1]], p, f) for p, f in found if p[:1] in types]


def test_decode_statics_real_dumps(shared_data):
    rows = []
    for path in sorted(shared_data.rglob("*")):
        if path.is_file() and path.suffix not in (".geojson", ".json", ".md"):
            rows += _nmea_statics(path)
    assert len(rows) > 1000
    assert {t for t, _, _ in rows} == {5, 19, 24}
    out = _decode_both_ways(rows)
    _assert_rows_match(rows, out)
    reasons = pd.Series([STATICS_SKIP_REASONS[r] for r in out["reason"]]).value_counts()
    assert reasons[""] > 0.9 * len(rows)
    # the vessels table is the same from either decoder's records
    ok = out["reason"] == 0
    records = [decode_static(*r) for r, good in zip(rows, ok, strict=True) if good]
    one_by_one = pd.DataFrame(records)
    vectorized = pd.DataFrame({key: out[key][ok] for key in FIELDS})
    for frame in (one_by_one, vectorized):
        frame["time"] = _T0 + pd.to_timedelta(np.arange(len(frame)), unit="s")
        frame["ais_class"] = np.where(frame["msg_type"] == 5, "A", "B")
    vessels = build_vessels(vectorized)
    pd.testing.assert_frame_equal(vessels, build_vessels(one_by_one))
    assert len(vessels) > 500 and vessels["name"].notna().mean() > 0.8


# --- build_vessels: against plain pandas ---------------------------------------------------------

def _changes_oracle(frame: pd.DataFrame, column: str) -> pd.Series:
    known = frame.loc[frame[column].notna(), ["mmsi", column]]
    previous = known.groupby("mmsi")[column].shift()
    changed = previous.notna() & (known[column] != previous)
    return changed.groupby(known["mmsi"]).sum()


def _build_vessels_oracle(statics: pd.DataFrame, positions: pd.DataFrame | None):
    """build_vessels as pandas groupbys (the implementation it replaced)."""
    statics = statics.reset_index(drop=True)
    grouped = statics.groupby("mmsi", sort=True)
    fields = ["imo", "callsign", "name", "ship_type", "length_m", "beam_m", "draught_m",
              "destination", "ais_class"]
    out = grouped[fields].last()
    times = statics["time"]
    first = times.groupby(statics["mmsi"]).min()
    last = times.groupby(statics["mmsi"]).max()
    if positions is not None and len(positions):
        mmsi = positions["mmsi"]
        keep = mmsi.isin(out.index).to_numpy()
        pos_times = positions["time"][keep].groupby(mmsi[keep].to_numpy())
        first = pd.concat([first, pos_times.min()]).groupby(level=0).min()
        last = pd.concat([last, pos_times.max()]).groupby(level=0).max()
    out["first_seen"] = first.reindex(out.index)
    out["last_seen"] = last.reindex(out.index)
    out["n_name_changes"] = _changes_oracle(statics, "name").reindex(out.index, fill_value=0)
    out["n_type_changes"] = _changes_oracle(statics, "ship_type").reindex(out.index,
                                                                           fill_value=0)
    return statics_mod._typed(out.reset_index())


_T0 = pd.Timestamp("2024-05-01", tz="UTC")


def _times(draw, n: int) -> pd.Series:
    offsets = draw(st.lists(st.one_of(st.none(), st.integers(0, 10**6)), min_size=n, max_size=n))
    return pd.Series([pd.NaT if o is None else _T0 + pd.Timedelta(seconds=o) for o in offsets],
                     dtype="datetime64[ns, UTC]")


@st.composite
def _vessel_inputs(draw):
    pool = draw(st.lists(st.integers(1, 999_999_999), min_size=1, max_size=6, unique=True))
    n = draw(st.integers(1, 30))
    maybe = st.one_of(st.none(), st.sampled_from(["A", "B B", "C"]))
    records = [{"mmsi": draw(st.sampled_from(pool)), "msg_type": 5,
                "imo": draw(st.one_of(st.none(), st.integers(1, 999_999_999))),
                "callsign": draw(maybe), "name": draw(maybe),
                "ship_type": draw(st.one_of(st.none(), st.integers(1, 99))),
                "length_m": draw(st.one_of(st.just(np.nan), st.floats(1, 1000))),
                "beam_m": np.nan, "draught_m": draw(st.sampled_from([np.nan, 2.5])),
                "destination": draw(maybe), "ais_class": draw(st.sampled_from("AB"))}
               for _ in range(n)]
    statics = pd.DataFrame(records)
    statics["time"] = _times(draw, n)
    positions = None
    if draw(st.booleans()):
        m = draw(st.integers(0, 40))
        others = st.integers(1, 999_999_999)  # mostly vessels without statics
        positions = pd.DataFrame({
            "mmsi": np.array(draw(st.lists(st.one_of(st.sampled_from(pool), others),
                                           min_size=m, max_size=m)), dtype=np.int64),
            "time": _times(draw, m)})
    return statics, positions


@settings(max_examples=120, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(_vessel_inputs())
def test_build_vessels_matches_pandas(inputs):
    statics, positions = inputs
    got = build_vessels(statics, positions)
    pd.testing.assert_frame_equal(got, _build_vessels_oracle(statics, positions))
    assert list(got.columns) == VESSEL_COLUMNS
    # row order of the statics (within one MMSI: arrival order) is all that matters
    if positions is not None and len(positions):
        shuffled = positions.sample(frac=1, random_state=0)
        pd.testing.assert_frame_equal(build_vessels(statics, shuffled), got)


def test_build_vessels_many_positions_and_shared_slots():
    """Dense and sparse position lookups, and MMSIs sharing a slot of the direct table."""
    rng = np.random.default_rng(1)
    keys = np.array([413_000_000 + k * 2**16 for k in range(5)] + [445_123_456, 777])
    n = len(keys)
    statics = pd.DataFrame({"mmsi": keys, "msg_type": 5, "imo": None, "callsign": None,
                            "name": [f"N{k}" for k in range(n)], "ship_type": 70,
                            "length_m": 100.0, "beam_m": 20.0, "draught_m": np.nan,
                            "destination": None, "ais_class": "A"})
    statics["time"] = pd.Series([pd.NaT] * n, dtype="datetime64[ns, UTC]")
    for frac_with_statics in (0.0, 0.01, 0.9, 1.0):
        m = 5000
        with_statics = rng.random(m) < frac_with_statics
        mmsi = np.where(with_statics, rng.choice(keys, m),
                        rng.choice(keys, m) + rng.integers(1, 2**20, m) * 2**16)
        times = _T0 + pd.to_timedelta(rng.integers(0, 10**6, m), unit="s")
        positions = pd.DataFrame({"mmsi": mmsi, "time": times})
        positions.loc[rng.random(m) < 0.1, "time"] = pd.NaT
        pd.testing.assert_frame_equal(build_vessels(statics, positions),
                                      _build_vessels_oracle(statics, positions))


@given(st.lists(st.tuples(st.integers(0, 40), st.integers(-5, 5) | st.none()), max_size=200))
def test_time_ranges_matches_groupby(rows):
    """A chunk's summary (time_ranges): each value with a time, its min and max time, in
    order of first appearance; rows without a time ignored."""
    from stsdetect.ais.kernel import NAT_NS

    values = np.array([v * 2**33 + 1 for v, _ in rows], np.int64)  # spread over the hash
    times = np.array([NAT_NS if t is None else t * 10**9 for _, t in rows], np.int64)
    assert_time_ranges_are_groupby(values, times)


def assert_time_ranges_are_groupby(values: np.ndarray, times: np.ndarray, **kw) -> None:
    """time_ranges(values, times, **kw) is pandas' groupby of the rows with a time: each
    value's min and max time, in order of first appearance."""
    from stsdetect.ais.kernel import NAT_NS, time_ranges

    keys, first, last = time_ranges(values, times, **kw)
    known = pd.DataFrame({"k": values, "t": times})[times != NAT_NS]
    g = known.groupby("k", sort=False)["t"]
    np.testing.assert_array_equal(keys, g.min().index.to_numpy(dtype=np.int64))
    np.testing.assert_array_equal(first, g.min().to_numpy(dtype=np.int64))
    np.testing.assert_array_equal(last, g.max().to_numpy(dtype=np.int64))


def test_build_vessels_empty_and_without_positions():
    empty = build_vessels(None)
    assert list(empty.columns) == VESSEL_COLUMNS and len(empty) == 0
    statics = pd.DataFrame([{"mmsi": 3, "msg_type": 24, "imo": None, "callsign": None,
                             "name": "X", "ship_type": None, "length_m": np.nan,
                             "beam_m": np.nan, "draught_m": np.nan, "destination": None,
                             "ais_class": "B"}])
    statics["time"] = pd.Series([pd.NaT], dtype="datetime64[ns, UTC]")
    for positions in (None, pd.DataFrame({"mmsi": np.array([], dtype=np.int64),
                                          "time": pd.Series([], dtype="datetime64[ns, UTC]")})):
        got = build_vessels(statics, positions)
        pd.testing.assert_frame_equal(got, _build_vessels_oracle(statics, positions))
        assert got["first_seen"].isna().all() and got["name"].iloc[0] == "X"


@pytest.mark.parametrize(("statics_unit", "positions_unit"),
                         [("ns", "ns"), ("us", "us"), ("us", "ns"), ("ns", "us"), ("s", "ms")])
def test_build_vessels_time_units(statics_unit, positions_unit):
    """pandas 3 parses times to microseconds: units combine as the groupbys did."""
    statics = pd.DataFrame([{"mmsi": m, "msg_type": 5, "imo": None, "callsign": None,
                             "name": n, "ship_type": 70, "length_m": np.nan, "beam_m": np.nan,
                             "draught_m": np.nan, "destination": None, "ais_class": "A"}
                            for m, n in [(5, "A"), (3, "B"), (5, "C"), (9, None)]])
    statics["time"] = pd.Series([_T0 + pd.Timedelta(123456789), pd.NaT,
                                 _T0 - pd.Timedelta(days=300), pd.NaT]).dt.as_unit(statics_unit)
    positions = pd.DataFrame({"mmsi": np.array([5, 3, 7, 9]), "time": pd.Series(
        [_T0 - pd.Timedelta(days=400), pd.NaT, _T0, _T0 + pd.Timedelta(days=1, seconds=0.5)])})
    positions["time"] = positions["time"].dt.as_unit(positions_unit)
    for pos in (positions, None):
        got = build_vessels(statics, pos)
        pd.testing.assert_frame_equal(got, _build_vessels_oracle(statics, pos))
    assert got["first_seen"].isna().tolist() == [True, False, True]  # 3, 5, 9: statics only


def test_build_vessels_more_mmsis_than_the_first_table_holds():
    """More than 2048 distinct MMSIs (the compiled grouping's first table is for 2048): the
    same as the pandas oracle, names and types changing at random."""
    rng = np.random.default_rng(7)
    n = 12_000
    mmsi = rng.integers(200_000_000, 800_000_000, 5_000)[rng.integers(0, 5_000, n)]
    names = np.array(["A", "B", None], dtype=object)[rng.integers(0, 3, n)]
    statics = pd.DataFrame({"mmsi": mmsi, "msg_type": 5,
                            "imo": pd.array(rng.integers(1, 9, n), dtype="Int64"),
                            "callsign": None, "name": names,
                            "ship_type": pd.array(np.where(rng.random(n) < .3, None,
                                                           rng.integers(60, 63, n)),
                                                  dtype="Int64"),
                            "length_m": np.nan, "beam_m": 20.0, "draught_m": np.nan,
                            "destination": None, "ais_class": "A",
                            "time": _T0 + pd.to_timedelta(rng.integers(0, 10**6, n), unit="s")})
    got = build_vessels(statics)
    assert len(got) > 2048
    pd.testing.assert_frame_equal(got, _build_vessels_oracle(statics, None))
