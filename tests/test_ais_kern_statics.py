"""The kernel's static messages (types 5 and 24) against a Python reference of their bits.

The kernel checks a static message's characters 8 at a time, packs its payload 8
characters to a 48-bit word, and spreads its text fields 8 characters at a time into byte
lanes. These tests draw payloads of any 6-bit values (and now and then a byte outside the
armouring alphabet) of lengths around the shortest a type takes and past its standard
length, in one sentence or two fragments joined in the kernel, and check each static row
(MMSI, numbers, texts) and the skip counts against the layout written out in Python
(ITU-R M.1371-5 tables 52 and 76; text: table 47; fields cut by the payload's end read as
pyais reads them: the value of the bits present).
"""

from __future__ import annotations

import math

import numpy as np
from _nmea import sentence
from hypothesis import given, settings
from hypothesis import strategies as st

from stsdetect.ais.kernel import TEXT_BYTES, decode_chunk


def _armour(v: int) -> int:
    return v + 48 if v < 40 else v + 56


def _sentence(n_frags: int, frag: int, payload: bytes, fill: int) -> bytes:
    return sentence(payload, fill, n_frags, frag, b"3" if n_frags > 1 else b"", b"A")


def _ship_type_5(code: int) -> int:
    """Type 5's ship type as reported: reserved codes as 0 or their category's first."""
    if code < 20 or code in (38, 39) or code >= 100:
        return 0
    for first, last in ((25, 28), (45, 48), (56, 57), (65, 68), (75, 78), (85, 88),
                        (95, 98)):
        if first <= code <= last:
            return first
    return code


def _reference(values: list, fill: int, mt: int) -> tuple:
    """(skip reason or None, mmsi, [imo, ship_type, length, beam, draught], text bytes)."""
    nbits = 6 * len(values) - fill
    if nbits < {5: 420, 24: 158}[mt]:
        return "short_payload", None, None, None
    bits = "".join(format(v, "06b") for v in values[:80])  # (the first 80 characters)

    def field(start: int, width: int) -> int:
        end = min(start + width, nbits)
        if end <= start:
            return 0
        chunk = bits[start:end]
        return int(chunk, 2) if chunk else 0

    def text(start: int, n: int) -> bytes:
        out = bytearray()
        for k in range(n):
            b = start + 6 * k
            v = int(bits[b:b + 6], 2) if b + 6 <= nbits else field(b, 6)
            out.append(32 if v == 0 else (v + 64 if v < 32 else v))
        return bytes(out)

    part = (values[6] >> 2) & 3 if mt == 24 else 0
    if part > 1:
        return "invalid_type24_part", None, None, None
    mmsi = field(8, 30)
    if not 1 <= mmsi <= 999_999_999:
        return "invalid_mmsi", None, None, None
    txt = bytearray(b" " * TEXT_BYTES)
    nums = [math.nan] * 5

    def dims(d: int) -> None:
        length = field(d, 9) + field(d + 9, 9)
        beam = field(d + 18, 6) + field(d + 24, 6)
        nums[2] = float(length) if length > 0 else math.nan
        nums[3] = float(beam) if beam > 0 else math.nan

    if mt == 5:
        imo = field(40, 30)
        nums[0] = float(imo) if 0 < imo < 1_000_000_000 else math.nan
        txt[0:7] = text(70, 7)
        txt[8:28] = text(112, 20)
        txt[32:52] = text(302, 20)
        st_ = _ship_type_5(field(232, 8))
        dims(240)
        draught = field(294, 8) / 10.0
        nums[4] = draught if draught > 0 else math.nan
    elif part == 0:
        st_ = 0
        txt[8:28] = text(40, 20)
    else:
        st_ = field(40, 8)
        txt[0:7] = text(90, 7)
        if not 980_000_000 <= mmsi <= 989_999_999:
            dims(132)
    nums[1] = float(st_) if 0 < st_ < 100 else math.nan
    return None, mmsi, nums, bytes(txt)


@st.composite
def _static(draw):
    mt = draw(st.sampled_from([5, 24]))
    lo, hi = (66, 84) if mt == 5 else (25, 34)
    n = draw(st.integers(lo, hi))
    values = draw(st.lists(st.integers(0, 63), min_size=n, max_size=n))
    values[0] = mt
    if mt == 24 and draw(st.booleans()):
        values[6] &= 0b110111  # part A or B (bits 38-39: 0 or 1) half of the time
    payload = bytearray(_armour(v) for v in values)
    split = draw(st.one_of(st.none(), st.integers(1, n - 1)))
    if draw(st.integers(0, 2)) == 0:  # a byte outside the armouring alphabet: anywhere,
        # or where a sentence's payload, or a group of 8 characters, starts or ends
        ends = [1, n - 1, n - 8, n - 9, 7, 8] + ([split - 1, split] if split else [])
        at = draw(st.one_of(st.integers(1, n - 1), st.sampled_from(ends)))
        payload[min(max(at, 1), n - 1)] = draw(st.sampled_from(b"\x00 X_xz\x7f\xff"))
    fill = draw(st.integers(0, 5))
    return mt, values, bytes(payload), fill, split


@settings(max_examples=200, deadline=None)
@given(msgs=st.lists(_static(), min_size=1, max_size=5), pad=st.integers(0, 15))
def test_static_messages_match_the_bit_layout(msgs, pad):
    """Each static message's row, or its skip count, as the bit layout says."""
    lines = []
    want, skips = [], {}
    for mt, values, payload, fill, split in msgs:
        if split is None:
            lines.append(_sentence(1, 1, payload, fill))
        else:
            lines.append(_sentence(2, 1, payload[:split], 0))
            lines.append(_sentence(2, 2, payload[split:], fill))
        if payload != bytes(_armour(v) for v in values):
            # the sentence (or fragment) with the stray byte: counted, nothing decoded;
            # a good fragment 1 left alone is handed on unjoined
            skips["bad_payload_char"] = skips.get("bad_payload_char", 0) + 1
            continue
        reason, mmsi, nums, txt = _reference(values, fill, mt)
        if reason:
            skips[reason] = skips.get(reason, 0) + 1
        else:
            want.append((mmsi, mt, nums, txt))
    data = b"#" + b"x" * pad + b"\n" + b"\n".join(lines) + b"\n"
    res = decode_chunk(np.frombuffer(data, np.uint8), len(data))
    got = res.stat
    assert got["mmsi"].tolist() == [w[0] for w in want]
    assert got["msg_type"].tolist() == [w[1] for w in want]
    for i, (_, _, nums, txt) in enumerate(want):
        row = [got[k][i] for k in ("imo", "ship_type", "length_m", "beam_m", "draught_m")]
        assert np.array_equal(np.array(row), np.array(nums), equal_nan=True)
        assert bytes(got["text"][i]) == txt
    for reason in ("bad_payload_char", "short_payload", "invalid_type24_part",
                   "invalid_mmsi", "undecodable_payload"):
        assert res.counts[reason] == skips.get(reason, 0), reason
