"""The kernel's position reports of fewer than 24 characters against a Python reference.

The kernel reads a position report's first 24 characters as three words of 8 (144 bits,
every field it reads); a shorter payload (type 27 takes 16 characters, a class A report
cut short 23) is read a word at a time where 8 characters are there and one at a time for
the rest. These tests draw payloads of types 1 and 27 of 12 to 26 characters of any
6-bit values (and now and then a byte outside the armouring alphabet), with any fill
bits, and check each row and skip count against the field layout written out in Python
(ITU-R M.1371-5 Annex 8, messages 1 and 27).
"""

from __future__ import annotations

import math

import numpy as np
from _nmea import sentence
from hypothesis import given, settings
from hypothesis import strategies as st

from stsdetect.ais.kernel import decode_chunk


def _armour(v: int) -> int:
    return v + 48 if v < 40 else v + 56


def _sentence(payload: bytes, fill: int) -> bytes:
    return sentence(payload, fill, channel=b"B")


def _reference(values: list, fill: int):
    """A skip reason, or (mmsi, lat, lon, sog, cog, heading, nav, type)."""
    mt = values[0]
    nbits = 6 * len(values) - fill
    if nbits < (94 if mt == 27 else 137):
        return "short_payload"
    bits = "".join(format(v, "06b") for v in values)

    def u(start: int, width: int) -> int:
        return int(bits[start:start + width], 2)

    def s(start: int, width: int) -> int:
        v = u(start, width)
        return v - (1 << width) if v >= 1 << (width - 1) else v

    mmsi = u(8, 30)
    if not 1 <= mmsi <= 999_999_999:
        return "invalid_mmsi"
    if mt == 27:
        nav, lon_raw, lat_raw, scale = u(40, 4), s(44, 18), s(62, 17), 600
        sog = math.nan if u(79, 6) == 63 else float(u(79, 6))
        cog = math.nan if u(85, 9) >= 360 else float(u(85, 9))
        hdg = math.nan
    else:
        nav, lon_raw, lat_raw, scale = u(38, 4), s(61, 28), s(89, 27), 600_000
        sog = math.nan if u(50, 10) == 1023 else u(50, 10) / 10.0
        cog = math.nan if u(116, 12) >= 3600 else u(116, 12) / 10.0
        hdg = math.nan if u(128, 9) >= 360 else float(u(128, 9))
    lat_na, lon_na = lat_raw == 91 * scale, lon_raw == 181 * scale
    lat, lon = lat_raw / scale, lon_raw / scale
    if (abs(lat) > 90 and not lat_na) or (abs(lon) > 180 and not lon_na):
        return "out_of_range_position"
    return (mmsi, math.nan if lat_na else lat, math.nan if lon_na else lon, sog, cog, hdg,
            nav, mt)


@st.composite
def _report(draw):
    mt = draw(st.sampled_from([1, 27]))
    n = draw(st.integers(12, 26))
    values = draw(st.lists(st.integers(0, 63), min_size=n, max_size=n))
    values[0] = mt
    if draw(st.booleans()):  # a position in range now and then
        values[9:14] = [0, 0, 0, 0, 0]
    payload = bytearray(_armour(v) for v in values)
    bad = draw(st.integers(0, 3)) == 0
    if bad:  # a byte outside the armouring alphabet, among the characters read
        at = draw(st.one_of(st.integers(1, min(n, 24) - 1), st.sampled_from([7, 8, 15, 16])))
        payload[min(at, n - 1)] = draw(st.sampled_from(b"\x00 X_xz\x7f\xff"))
    return values, bytes(payload), draw(st.integers(0, 5)), bad


@settings(max_examples=300, deadline=None)
@given(reports=st.lists(_report(), min_size=1, max_size=6), pad=st.integers(0, 15))
def test_short_position_reports_match_the_field_layout(reports, pad):
    """Each report's row, or its skip count, as the field layout says."""
    want, skips = [], {}
    for values, _, fill, bad in reports:
        r = "bad_payload_char" if bad else _reference(values, fill)
        if isinstance(r, str):
            skips[r] = skips.get(r, 0) + 1
        else:
            want.append(r)
    data = b"#" + b"x" * pad + b"\n" + b"".join(
        _sentence(p, fill) + b"\n" for _, p, fill, _ in reports)
    res = decode_chunk(np.frombuffer(data, np.uint8), len(data))
    cols = ("mmsi", "lat", "lon", "sog_kn", "cog_deg", "heading_deg", "nav_status",
            "msg_type")
    got = list(zip(*(res.pos[c].tolist() for c in cols), strict=True))
    assert len(got) == len(want)
    for g, w in zip(got, want, strict=True):
        assert np.array_equal(np.array(g, float), np.array(w, float), equal_nan=True), (g, w)
    for reason in ("bad_payload_char", "short_payload", "invalid_mmsi",
                   "out_of_range_position"):
        assert res.counts[reason] == skips.get(reason, 0), reason
