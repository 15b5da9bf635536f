"""The word-at-a-time framing kernels against plain Python parsing of the same bytes."""

from __future__ import annotations

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
