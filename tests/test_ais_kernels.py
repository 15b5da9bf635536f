"""The word-at-a-time framing kernels against plain Python parsing of the same bytes."""

from __future__ import annotations

import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from stsdetect.ais.framing import _parse_uint, _strings, _two_dashes, words_at
from stsdetect.ais.sixbit import _pack

SETTINGS = settings(max_examples=60, deadline=None)

# digits mostly, and the bytes that border them in dumps (or break the SWAR range checks)
field_bytes = st.lists(st.sampled_from(b"0123456789" * 4 + b"/:a-, \x00\x7f\x80\xb9\xff"),
                       max_size=20).map(bytes)


def _layout(fields: list[bytes], lead: bytes = b","):
    """Fields joined by ',' in one padded buffer; (buffer, starts, ends)."""
    buf, starts, ends = bytearray(lead), [], []
    for f in fields:
        starts.append(len(buf))
        buf += f
        ends.append(len(buf))
        buf += b","
    a = np.frombuffer(bytes(buf) + b"\0" * 64, dtype=np.uint8)
    return a, np.array(starts, dtype=np.int64), np.array(ends, dtype=np.int64)


@SETTINGS
@given(st.lists(field_bytes, max_size=30), st.sampled_from([2, 4, 12, 13, 16]),
       st.sampled_from([b"", b",", b"x" * 20]))
def test_parse_uint_matches_python(fields, max_width, lead):
    a, start, end = _layout(fields, lead)
    value, ok = _parse_uint(a, start, end, max_width)
    for f, v, good in zip(fields, value.tolist(), ok.tolist(), strict=True):
        expect = 0 < len(f) <= max_width and all(48 <= b <= 57 for b in f)
        assert good == expect, f
        assert v == (int(f) if expect else 0)


def test_parse_uint_refuses_more_than_16_digits():
    a, start, end = _layout([b"1"])
    with pytest.raises(ValueError, match="16 digits"):
        _parse_uint(a, start, end, 17)


names = st.binary(max_size=40).filter(lambda b: b"," not in b).map(
    lambda b: bytes(c & 0x7F for c in b))


@SETTINGS
@given(st.lists(st.sampled_from([b"", b"rx0", b"rx00", b"abcdefgh", b"abcdefg`",
                                 b"r003669945", b"x" * 31, b"x" * 32, b"x" * 33]) | names,
                max_size=40), st.integers(0, 100))
def test_strings_distinct_names_and_codes(fields, n_repeat):
    # names first seen after the first 64 rows take the hash path
    fields = [b"rx1"] * n_repeat + fields
    a, start, end = _layout(fields)
    codes, distinct = _strings(a, start, end, max_width=32)
    texts = [f[:32].decode("ascii") for f in fields]
    assert [distinct[c] for c in codes.tolist()] == texts
    assert sorted(distinct) == sorted(set(texts))  # one name per distinct string


@SETTINGS
@given(st.lists(st.binary(max_size=80).map(lambda b: bytes(b"-1a"[c % 3] for c in b)),
                max_size=30))
def test_two_dashes_in_span(fields):
    a, start, end = _layout(fields)
    d1, d2 = _two_dashes(a, start, end)
    for f, s, e, x1, x2 in zip(fields, start.tolist(), end.tolist(), d1.tolist(),
                               d2.tolist(), strict=True):
        dashes = [s + i for i, c in enumerate(f) if c == 45] + [e, e]
        assert (x1, x2) == (dashes[0], dashes[1])


def test_words_at_reads_unaligned_little_endian_words():
    a = np.arange(40, dtype=np.uint8)
    at = words_at(a)
    for p in (0, 1, 7, 13, 32):
        assert int(at[p]) == int.from_bytes(bytes(a[p:p + 8]), "little")
    assert at.size == 33


@SETTINGS
@given(st.lists(st.integers(0, 63), min_size=24, max_size=24), st.integers(1, 5))
def test_pack_matches_bit_string(values, n_rows):
    v = np.array([values] * n_rows, dtype=np.uint8)
    w = _pack(v)
    bits = "".join(f"{x:06b}" for x in values)
    for k in range(3):
        assert (w[:, k] == int(bits[48 * k:48 * (k + 1)], 2)).all()


SENTENCE = b"!AIVDM,1,1,,A,13u?etPv2;0n:dDPwUM1U1Cb069D,0*24"
tag_values = st.text(alphabet="abcxyz0123456789:-/ ", max_size=12)


@st.composite
def tag_block(draw):
    """A tag block as (text, expected c value or None, expected s value)."""
    tags = draw(st.lists(st.tuples(st.sampled_from("cstgdnx"), tag_values), max_size=5))
    if draw(st.booleans()):
        tags.append(("c", str(draw(st.integers(1_000_000_000, 4_199_999_999)))))
    tags = draw(st.permutations(tags))
    text = ",".join(f"{k}:{v}" for k, v in tags)
    first = {}
    for k, v in tags:
        first.setdefault(k, v)
    return text, first.get("c"), first.get("s", "")


@SETTINGS
@given(st.lists(tag_block(), min_size=1, max_size=20), st.booleans())
def test_tag_blocks_read_like_python_split(blocks, one_without_checksum):
    """Both tag paths (comma walk for '*hh'-terminated blocks, ':' search otherwise) agree
    with splitting the block text at ',' and ':' in Python."""
    from stsdetect.ais.framing import NAT_NS, frame_chunk

    lines = [b"\\" + text.encode() + b"*00\\" + SENTENCE for text, _, _ in blocks]
    if one_without_checksum:  # sends the whole chunk down the ':' search path
        lines.append(b"\\s:zz\\" + SENTENCE)
        blocks = [*blocks, ("s:zz", None, "zz")]
    fc = frame_chunk(b"\n".join(lines) + b"\n")
    assert fc.n_sentences == len(blocks)
    rows = fc.rows()
    order = np.argsort(rows["record"])  # rows by record (frame_chunk groups them by layout)
    fc.time_ns, fc.source = rows["time_ns"][order], rows["source"][order]
    for i, (_, c, s) in enumerate(blocks):
        value = int(c) if c is not None and c.isascii() and c.isdigit() else -1
        if len(c or "") == 10 and 10**9 <= value < 4_200_000_000:
            expect = value * 10**9
        elif len(c or "") == 13 and 10**12 <= value < 4_200_000_000_000:
            expect = value * 10**6
        else:
            expect = NAT_NS
        assert fc.time_ns[i] == expect
        assert fc.source_names[fc.source[i]] == s


# --- decode_positions: the word-at-a-time decoder ---------------------------------------------
#
# Two oracles: ``_reference`` decodes one payload from its bit string in plain Python (the
# ITU-R M.1371-5 layouts), and ``sixbit._decode_lut`` is the byte-lookup-table decoder that
# decode_positions replaced (kept for rows with invalid characters), which every output key,
# dtype and value must equal, garbage fields of rows with invalid characters included.

ALPHABET = bytes(range(48, 88)) + bytes(range(96, 120))
SIXBIT = {c: i for i, c in enumerate(ALPHABET)}
_NA = {1: (91 * 600_000, 181 * 600_000), 27: (91 * 600, 181 * 600)}


def _reference(payload: bytes, n_chars: int, fill: int) -> dict:
    """One row of decode_positions' contract, from the payload's bit string."""
    from stsdetect.ais.sixbit import REQUIRED_BITS

    head = payload[:24]
    bad = any(ch not in SIXBIT for ch in head)
    msg_type = SIXBIT.get(head[0], 0) if head else 0
    bits = "".join(f"{SIXBIT.get(ch, 0):06b}" for ch in head).ljust(144, "0")

    def u(a, n):
        return int(bits[a:a + n], 2)

    def s(a, n):
        v = u(a, n)
        return v - (1 << n) if v >= 1 << (n - 1) else v

    nan = math.nan
    row = {"msg_type": msg_type, "bad_char": bad, "mmsi": u(8, 30),
           "short": 6 * n_chars - fill < REQUIRED_BITS.get(msg_type, 1 << 30),
           "nav_status": 15, "sog_kn": nan, "cog_deg": nan, "heading_deg": nan, "lat": nan,
           "lon": nan, "out_of_range": False}
    if msg_type in (1, 2, 3, 18, 19):
        d = 4 if msg_type >= 18 else 0  # class B fields from speed on: 4 bits earlier
        if d == 0:
            row["nav_status"] = u(38, 4)
        sog, cog, hdg = u(50 - d, 10), u(116 - d, 12), u(128 - d, 9)
        row["sog_kn"] = nan if sog == 1023 else sog / 10
        row["cog_deg"] = cog / 10 if cog < 3600 else nan
        row["heading_deg"] = float(hdg) if hdg < 360 else nan
        lon, lat, scale, na = s(61 - d, 28), s(89 - d, 27), 600_000, _NA[1]
    elif msg_type == 27:
        row["nav_status"] = u(40, 4)
        sog, cog = u(79, 6), u(85, 9)
        row["sog_kn"] = nan if sog == 63 else float(sog)
        row["cog_deg"] = float(cog) if cog < 360 else nan
        lon, lat, scale, na = s(44, 18), s(62, 17), 600, _NA[27]
    else:
        return row
    row["lat"] = nan if lat == na[0] else lat / scale
    row["lon"] = nan if lon == na[1] else lon / scale
    row["out_of_range"] = (abs(lat) > 90 * scale and lat != na[0]) or (
        abs(lon) > 180 * scale and lon != na[1])
    return row


def _check_decode(buf: np.ndarray, start, n_chars, fill, n_reference: int | None = None):
    """decode_positions equals the LUT decoder exactly and the Python reference row by row."""
    from stsdetect.ais.sixbit import _decode_lut, decode_positions

    start, n_chars, fill = (np.asarray(x, dtype=np.int64) for x in (start, n_chars, fill))
    got = decode_positions(buf, start, n_chars, fill)
    old = _decode_lut(buf, start, n_chars, fill)
    assert list(got) == list(old)
    for k in old:
        assert got[k].dtype == old[k].dtype, k
        assert got[k].shape == (start.size,), k
        np.testing.assert_array_equal(got[k], old[k], err_msg=k)
    for i in range(start.size if n_reference is None else min(start.size, n_reference)):
        payload = bytes(buf[start[i]:start[i] + n_chars[i]])
        expect = _reference(payload, int(n_chars[i]), int(fill[i]))
        keys = expect if not expect["bad_char"] else ("msg_type", "bad_char", "short")
        for k in keys:
            v = got[k][i].item()
            e = expect[k]
            assert v == e or (isinstance(e, float) and math.isnan(e) and math.isnan(v)), (
                k, payload, v, e)
    return got


def _bits_payload(fields: list[tuple[int, int, int]], n_chars: int, noise: int) -> bytes:
    """Armoured payload of ``n_chars`` characters: random bits ``noise`` with the given
    (start bit, width, value) fields written over them (values two's complement)."""
    n_bits = 6 * n_chars
    v = noise & ((1 << n_bits) - 1)
    for at, width, value in fields:
        shift = n_bits - at - width
        if shift < 0:
            continue
        v &= ~(((1 << width) - 1) << shift)
        v |= (value & ((1 << width) - 1)) << shift
    return bytes(ALPHABET[(v >> (n_bits - 6 * (k + 1))) & 63] for k in range(n_chars))


@st.composite
def position_payload(draw):
    """Payloads of position types (and a few others) with edge values in every field."""
    t = draw(st.sampled_from([1, 2, 3, 18, 19, 27, 0, 5, 24, 63]))
    noise = draw(st.integers(0, (1 << 240) - 1))
    fields = [(0, 6, t)]
    if t == 27:
        lat = draw(st.sampled_from([0, 54_000, -54_000, 54_001, -54_001, 54_600, 65_535,
                                    -65_536]) | st.integers(-65_536, 65_535))
        lon = draw(st.sampled_from([108_000, -108_000, 108_001, -108_001, 108_600, 131_071,
                                    -131_072]) | st.integers(-131_072, 131_071))
        fields += [(44, 18, lon), (62, 17, lat), (79, 6, draw(st.sampled_from([0, 62, 63]))),
                   (85, 9, draw(st.sampled_from([0, 359, 360, 511])))]
        n = draw(st.sampled_from([16, 15, 17, 28]) | st.integers(0, 30))
    else:
        d = 4 if t in (18, 19) else 0
        lat = draw(st.sampled_from([0, 54_000_000, -54_000_000, 54_000_001, -54_000_001,
                                    54_600_000, (1 << 26) - 1, -(1 << 26)])
                   | st.integers(-(1 << 26), (1 << 26) - 1))
        lon = draw(st.sampled_from([108_000_000, -108_000_000, 108_000_001, -108_000_001,
                                    108_600_000, (1 << 27) - 1, -(1 << 27)])
                   | st.integers(-(1 << 27), (1 << 27) - 1))
        fields += [(50 - d, 10, draw(st.sampled_from([0, 1022, 1023]))),
                   (61 - d, 28, lon), (89 - d, 27, lat),
                   (116 - d, 12, draw(st.sampled_from([0, 3599, 3600, 4095]))),
                   (128 - d, 9, draw(st.sampled_from([0, 359, 360, 511])))]
        n = draw(st.sampled_from([28, 23, 22, 24, 27, 168 // 6 + 10]) | st.integers(0, 40))
    payload = bytearray(_bits_payload(fields, n, noise))
    for _ in range(draw(st.integers(0, 2)) if draw(st.integers(0, 3)) == 0 else 0):
        if payload:  # an invalid character (or a byte that breaks the SWAR range checks)
            at = draw(st.integers(0, len(payload) - 1))
            payload[at] = draw(st.sampled_from(b"\x00\x2f\x58\x5f\x78\x7f\x80\xa7\xff,*!")
                               | st.integers(0, 255))
    return bytes(payload), draw(st.integers(0, 5))


@st.composite
def payload_buffer(draw, rows):
    """Payloads placed at arbitrary offsets, separated by ',' or random bytes; the buffer
    ends exactly 24 bytes after the last payload start (so short payloads there are followed
    by the buffer's end, not by padding)."""
    items = draw(st.lists(rows, max_size=30))
    buf, start, n_chars, fill = bytearray(draw(st.binary(max_size=9))), [], [], []
    for payload, f in items:
        start.append(len(buf))
        buf += payload
        n_chars.append(len(payload))
        fill.append(f)
        buf += draw(st.sampled_from([b",", b",0*5C\r\n", b""]) | st.binary(max_size=12))
    if start:  # cut 24 bytes after the last start: the end of a long last payload is cut off
        end = start[-1] + 24
        buf = buf[:end].ljust(end, b"\x00")
    return np.frombuffer(bytes(buf), dtype=np.uint8), start, n_chars, fill


@settings(max_examples=150, deadline=None)
@given(payload_buffer(position_payload()))
def test_decode_positions_edge_fields(case):
    _check_decode(*case)


@settings(max_examples=80, deadline=None)
@given(payload_buffer(st.tuples(
    st.binary(max_size=30).map(lambda b: bytes(ALPHABET[c % 64] if c < 224 else c for c in b)),
    st.integers(0, 5))))
def test_decode_positions_random_payloads(case):
    _check_decode(*case)


def test_decode_positions_mixed_chunk_all_classes():
    """One chunk holding every layout at every byte alignment, with and without bad rows."""
    rng = np.random.default_rng(5)
    payloads = []
    for t in (1, 2, 3, 18, 19, 27, 5, 0):
        for k in range(40):
            n = 16 if t == 27 else 28
            fields = [(0, 6, t)]
            payloads.append((_bits_payload(fields, n - (k % 3 == 2), int(rng.integers(1 << 62))
                                           << 120 | int(rng.integers(1 << 62))), k % 6))
    for with_bad in (False, True):
        items = list(payloads)
        if with_bad:
            items[7] = (items[7][0][:5] + b"!" + items[7][0][6:], 0)
            items[200] = (items[200][0][:20] + b"\xff" + items[200][0][21:], 0)
        rng.shuffle(items)
        buf, start = bytearray(), []
        for k, (p, _) in enumerate(items):
            buf += b"x" * (k % 8)
            start.append(len(buf))
            buf += p + b",0*00\n"
        buf = np.frombuffer(bytes(buf) + bytes(24), dtype=np.uint8)
        got = _check_decode(buf, start, [len(p) for p, _ in items], [f for _, f in items])
        assert got["bad_char"].sum() == 2 * with_bad


@settings(max_examples=40, deadline=None)
@given(st.lists(st.tuples(st.sampled_from([1, 2, 3, 18, 19]), st.integers(21, 25),
                          st.integers(0, 5)), min_size=1, max_size=12),
       st.integers(0, (1 << 150) - 1))
def test_decode_positions_short_limit_class_a_b_only(rows, noise):
    """Chunks of class A/B rows only, around the 137 / 133 bits they need."""
    payloads = [(_bits_payload([(0, 6, t)], n, noise >> (3 * k)), f)
                for k, (t, n, f) in enumerate(rows)]
    buf = b"".join(p + b"," for p, _ in payloads)
    start = np.cumsum([0] + [len(p) + 1 for p, _ in payloads[:-1]])
    _check_decode(np.frombuffer(buf + bytes(24), dtype=np.uint8), start,
                  [len(p) for p, _ in payloads], [f for _, f in payloads])


def test_decode_positions_real_dumps(shared_data):
    """Every single-part sentence of the real sample dumps, as the reader frames them."""
    from stsdetect.ais.framing import frame_chunk

    n = 0
    for path in sorted(p for p in shared_data.rglob("*") if p.is_file()):
        data = path.read_bytes()
        while data:
            cut = data.rfind(b"\n", 0, 1 << 20) + 1 or len(data)
            chunk, data = data[:cut], data[cut:]
            fc = frame_chunk(chunk if chunk.endswith(b"\n") else chunk + b"\n")
            cols = fc.rows()
            rows = np.flatnonzero(cols["n_frags"] == 1)
            if rows.size:
                _check_decode(fc.buf, cols["p0"][rows], cols["n_chars"][rows],
                              cols["fill"][rows], n_reference=2000)
                n += rows.size
    assert n > 10_000


def test_decode_positions_empty_and_bad_starts():
    from stsdetect.ais.sixbit import decode_positions

    buf = np.frombuffer(b"13u?etPv2;0n:dDPwUM1U1Cb069D" + bytes(24), dtype=np.uint8)
    empty = decode_positions(buf, np.zeros(0, np.int64), np.zeros(0, np.int64), [])
    assert all(v.size == 0 for v in empty.values()) and len(empty) == 11
    one = decode_positions(buf, [0], [28], [0])
    assert one["mmsi"][0] == 265547250 and not one["bad_char"][0]
    with pytest.raises(ValueError, match="24 bytes"):
        decode_positions(buf, [buf.size - 23], [1], [0])
    with pytest.raises(ValueError, match="24 bytes"):
        decode_positions(buf, [-1], [1], [0])


@SETTINGS
@given(st.lists(st.binary(min_size=24, max_size=24).map(
    lambda b: bytes(b"\x2f\x30\x57\x58\x5f\x60\x77\x78\x7f\x80\xff"[c % 11] if c < 90
                    else ALPHABET[c % 64] for c in b)), min_size=1, max_size=20))
def test_sixbit_words_flags_and_values(rows):
    """SWAR mapping: a word is flagged iff one of its eight characters is invalid, and the
    values of valid words are the 6-bit values of their characters."""
    from stsdetect.ais.sixbit import _TOP2, _pack_words, _sixbit_words

    w = np.frombuffer(b"".join(rows), dtype=">u8").reshape(-1, 3).T.astype(np.uint64, order="C")
    flags, scratch = _sixbit_words(w)
    for i, r in enumerate(rows):
        for k in range(3):
            chars = r[8 * k:8 * k + 8]
            assert bool(flags[k, i] & _TOP2) == any(c not in SIXBIT for c in chars), chars
    _pack_words(w, scratch)
    for i, r in enumerate(rows):
        if all(c in SIXBIT for c in r):
            bits = "".join(f"{SIXBIT[c]:06b}" for c in r)
            assert [int(x) for x in w[:, i]] == [int(bits[48 * k:48 * k + 48], 2)
                                                 for k in range(3)]


@settings(max_examples=40, deadline=None)
@given(payload_buffer(position_payload()), st.integers(1, 4))
def test_decode_positions_into_given_arrays(case, repeat):
    """``out=``: the fields land in the caller's arrays, equal to a plain decode (small and
    large calls, every layout, bad rows)."""
    from stsdetect.ais.sixbit import OUT_FIELDS, decode_positions

    buf, start, n_chars, fill = case
    start = np.tile(np.asarray(start, dtype=np.int64), 30 * repeat)  # crosses 64 rows
    n_chars = np.tile(np.asarray(n_chars, dtype=np.int64), 30 * repeat)
    fill = np.tile(np.asarray(fill, dtype=np.int64), 30 * repeat)
    plain = decode_positions(buf, start, n_chars, fill)
    out = {k: np.full(start.size, 77, dtype=d) for k, d in OUT_FIELDS.items()}
    given_ = decode_positions(buf, start, n_chars, fill, out=out)
    for k in plain:
        np.testing.assert_array_equal(given_[k], plain[k], err_msg=k)
    for k in OUT_FIELDS:
        np.testing.assert_array_equal(out[k], plain[k], err_msg=k)
        assert given_[k] is out[k] or np.shares_memory(given_[k], out[k]), k
