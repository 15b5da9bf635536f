"""The kernel's one-pass readers of times and sources against its general route.

The NMEA kernel reads the common forms of a line's time (a leading Unix time, a trailing
time column, a tag block's ``c:``) and its source names through fast paths: digits 8 at a
time, names compared with the last one read. These tests draw columns around those forms
(digits, fractions, spaces, delimiters, junk) at every alignment in the chunk and check
the kernel's answer against its general readers (:func:`stsdetect.ais.kernel._lead_ns`,
``_uint``) and against Python.
"""

from __future__ import annotations

import numpy as np
from _tag_rules import tag_time_ns
from hypothesis import given, settings
from hypothesis import strategies as st

from stsdetect.ais.kernel import NAT_NS, _digit_run, _lead_ns, _words, decode_chunk

SENTENCE = b"!AIVDM,1,1,,A,15RTgt0PAso;90TKcjM8h6g208CQ,0*4A"

digits = st.text("0123456789", min_size=0, max_size=16)
epochs = st.one_of(digits, st.integers(1_000_000_000, 4_300_000_000_000).map(str))
columns = st.tuples(
    st.sampled_from(["", "", "", " ", "x"]),  # before the number
    epochs,
    st.one_of(st.just(""), st.tuples(st.just("."), digits).map("".join)),
    st.sampled_from(["", " ", "  ", "\t", " x"]),  # after it
    st.sampled_from(["", ",", "|", ";", "\t", " ,"]),  # the delimiter (or the sentence)
    st.sampled_from(["", "123456789|1.5|2.5|", "x,"]),  # further columns
).map(lambda t: "".join(t).encode())


def _expected(line: bytes) -> int:
    """The general route's time of a leading column: up to its first delimiter, read by
    ``_lead_ns``."""
    sv = line.index(b"!")
    lend = 0
    while lend < sv and line[lend] not in b",|;\t":
        lend += 1
    return int(_lead_ns(np.frombuffer(line, np.uint8), 0, lend))


@settings(max_examples=400, deadline=None)
@given(col=columns, pad=st.integers(0, 15))
def test_leading_time_matches_the_general_reader(col, pad):
    """A leading column reads as ``_lead_ns`` reads it, wherever the line sits in the chunk
    (a comment line of ``pad`` bytes before it shifts it across word boundaries)."""
    line = col + SENTENCE
    data = b"#" + b"x" * pad + b"\n" + line + b"\n"
    a = np.frombuffer(data, np.uint8)
    res = decode_chunk(a, a.size)
    assert res.pos["mmsi"].tolist() == [371798000]
    want = _expected(line) if col else NAT_NS
    assert res.pos["time"][0] == want
    assert res.counts["time_unparsed"] == (1 if col and want == NAT_NS else 0)


def test_leading_times_of_the_known_layouts():
    """Epoch and space, fractional epoch (s and ms), satellite columns, by hand."""
    cases = {
        b"1600000000 ": 1_600_000_000 * 10**9,
        b"1600000000.123,": 1_600_000_000 * 10**9 + 123_000_000,
        b"1600000000.000000001,": 1_600_000_000 * 10**9 + 1,
        b"1600000000123.5,": 1_600_000_000_123 * 10**6 + 500_000,
        b"1600000000|123456789|1.5|2.5|": 1_600_000_000 * 10**9,
        b"16000000000 ": NAT_NS,  # 11 digits: neither seconds nor milliseconds
        b"1600000000.,": NAT_NS,
        # digits past the ns: ignored (by the general route: the fast one hands it over)
        b"1600000000.1234567891,": 1_600_000_000 * 10**9 + 123_456_789,
    }
    for col, want in cases.items():
        data = col + SENTENCE + b"\n"
        res = decode_chunk(np.frombuffer(data, np.uint8), len(data))
        assert res.pos["time"].tolist() == [want], col


@settings(max_examples=300, deadline=None)
@given(text=st.binary(max_size=40), p=st.integers(0, 40), cut=st.integers(0, 40))
def test_digit_run_matches_python(text, p, cut):
    """_digit_run's value and length of the digits from a[p] before e, any bytes around."""
    data = text + b"0123456789" * 3
    p = min(p, len(data))
    e = min(len(data), p + cut)
    a, a64 = _words(np.frombuffer(data, np.uint8), len(data))
    v, nd = _digit_run(a, a64, p, e)
    k = p
    while k < e and 48 <= data[k] <= 57:
        k += 1
    assert nd == k - p
    if nd <= 18:
        assert v == (int(data[p:k]) if nd else 0)


def _unix_ns(v: int) -> int:
    if 1_000_000_000 <= v < 4_200_000_000:
        return v * 10**9
    if 1_000_000_000_000 <= v < 4_200_000_000_000:
        return v * 10**6
    return NAT_NS


def _trailing_oracle(cols: list) -> tuple:
    """The documented rules of columns after the checksum: the first all-digit column of
    10 or 13 digits (trailing spaces and tabs aside) that is a plausible Unix time, and the
    first ``r<station>`` column (up to 32 bytes of its name)."""
    t, src = NAT_NS, b""
    for c in cols[:12]:
        c = c.rstrip(b" \t")
        if t == NAT_NS and len(c) in (10, 13) and c.isdigit():
            t = _unix_ns(int(c))
        if not src and len(c) > 1 and c[:1] == b"r":
            src = c[1:33]
    return t, src


stations = st.sampled_from([b"r003669987", b"r003669988", b"r00366998", b"rb03660465",
                            b"r003669987x", b"r1", b"r" + b"s" * 40, b"r" + b"s" * 32 + b"t",
                            b"r" + b"s" * 31 + b"t", b"r003669987 "])
trailing = st.one_of(
    stations,
    st.sampled_from([b"1152921693", b"1152921693 ", b"1152921693123", b"115292169",
                     b"11529216930", b"9999999999", b"11529x1693", b"d-098", b"T33.71033565",
                     b"x259906", b"", b"1152921693\t"]),
    st.text("0123456789 ", max_size=14).map(str.encode),
)


@settings(max_examples=300, deadline=None)
@given(lines=st.lists(st.lists(trailing, min_size=1, max_size=7), min_size=1, max_size=6),
       pad=st.integers(0, 15))
def test_trailing_columns_and_repeated_stations(lines, pad):
    """Trailing N-AIS-like columns: each line's time and station as the rules say, the
    station names right when lines repeat, alternate or nearly repeat the last one."""
    data = b"#" + b"x" * pad + b"\n" + b"".join(
        SENTENCE + b"," + b",".join(cols) + b"\n" for cols in lines)
    res = decode_chunk(np.frombuffer(data, np.uint8), len(data))
    want = [_trailing_oracle(cols) for cols in lines]
    assert res.pos["time"].tolist() == [t for t, _ in want]
    names = [res.source_names[c] for c in res.pos["source"].tolist()]
    assert names == [s.decode() for _, s in want]


tag_values = st.one_of(
    st.integers(0, 10**14).map(lambda v: str(v).encode()),
    st.text("0123456789", max_size=16).map(str.encode),
    st.sampled_from([b"1668046497x", b"16680-46497", b" 1668046497", b"1668046497 "]),
)


def _tag_block(fields: bytes) -> bytes:
    x = 0
    for b in fields:
        x ^= b
    return b"\\" + fields + b"*%02X\\" % x


@settings(max_examples=300, deadline=None)
@given(blocks=st.lists(st.tuples(tag_values, st.sampled_from([b"117", b"118", b"AISD", b""]),
                                 st.booleans()), min_size=1, max_size=6),
       pad=st.integers(0, 15))
def test_tag_block_times_and_sources(blocks, pad):
    """A tag block's ``c:`` (any digits: s, or ms from 11 digits on; anything else no time)
    and ``s:``, each line's own, blocks repeated or not, the fields in either order."""
    lines, want = [], []
    for c, s, c_first in blocks:
        fields = [b"c:" + c, b"s:" + s] if c_first else [b"s:" + s, b"c:" + c]
        lines.append(_tag_block(b",".join(fields)) + SENTENCE + b"\n")
        want.append((tag_time_ns(c), s.decode()))
    data = b"#" + b"x" * pad + b"\n" + b"".join(lines)
    res = decode_chunk(np.frombuffer(data, np.uint8), len(data))
    assert res.pos["time"].tolist() == [t for t, _ in want]
    assert [res.source_names[c] for c in res.pos["source"].tolist()] == [s for _, s in want]
