"""The workspace's row bounds: no chunk makes the kernel write more rows than it holds.

:class:`stsdetect.ais.kernel.Workspace` sizes each kind of output row (positions,
statics, fragments, records after the first of a line, source names) to the most a chunk
of its size can give (``_row_bounds``), and the kernel, compiled without bounds checks,
writes rows there unchecked: a bound that a chunk can exceed is memory corruption. These
tests build the densest chunks there are for each kind (the shortest sentence that gives
such a row, run together with no separator, or on lines, after a cut ``continued`` line)
and check that they reach the bound but never pass it, and draw chunks of every kind of
record mixed (sentences of each position and static type at their shortest, multipart
messages joined or not, fragments, tag blocks, N-AIS columns and $PGHP lines naming new
sources, malformed starts, any separator) whose rows are counted in a workspace sized
for 64 times the bytes, then decoded again in one sized for the chunk: the same output.
"""

from __future__ import annotations

import numpy as np
from _nmea import armour as _armour
from _nmea import sentence as _sentence
from hypothesis import given, settings
from hypothesis import strategies as st

from stsdetect.ais.kernel import Workspace, _row_bounds, decode_chunk


def _bits(v: int, width: int) -> str:
    return format(v & ((1 << width) - 1), f"0{width}b")


def _position_bits(mt: int, mmsi: int, rest: int) -> str:
    """The fewest bits a position report of type ``mt`` is decoded from (its position not
    available: always in range), ``rest`` filling the other fields."""
    head = _bits(mt, 6) + "00" + _bits(mmsi, 30)
    if mt == 27:  # accuracy, RAIM, status, lon 18, lat 17, sog 6, cog 9, GNSS, spare
        return (head + _bits(rest, 6) + _bits(181 * 600, 18) + _bits(91 * 600, 17)
                + _bits(rest, 16))
    if mt in (18, 19):  # reserved 8, sog 10, accuracy, lon 28, lat 27, cog 12, heading 9
        return (head + _bits(rest, 19) + _bits(181 * 600_000, 28) + _bits(91 * 600_000, 27)
                + _bits(rest, 21))
    return (head + _bits(rest, 23) + _bits(181 * 600_000, 28) + _bits(91 * 600_000, 27)
            + _bits(rest, 21))


#: Fewest payload bits each message is decoded from (position: the kernel's _REQUIRED,
#: statics: STATICS_MIN_BITS).
_MIN_BITS = {1: 137, 2: 137, 3: 137, 18: 133, 27: 94, 5: 420, 24: 158, 19: 301}


def _payload(mt: int, mmsi: int, rest: int, extra_bits: int = 0) -> tuple:
    """A payload of type ``mt`` of its fewest bits (plus ``extra_bits``): (chars, fill)."""
    if mt in (1, 2, 3, 18, 27):
        bits = _position_bits(mt, mmsi, rest)
    else:
        bits = _bits(mt, 6) + "00" + _bits(mmsi, 30)
        if mt == 24:
            bits += _bits(rest & 1, 2)  # part A or B (2 and 3 are invalid)
        if mt == 19:  # a decodable position too
            bits = _position_bits(19, mmsi, rest)
    n = _MIN_BITS[mt] + extra_bits
    bits = (bits + _bits(rest * 2654435761, 64) * 8)[:n]
    return _armour(bits)


def _counts(res) -> dict:
    return {"positions": len(res.pos["mmsi"]), "statics": len(res.stat["mmsi"]),
            "fragments": res.frags.shape[1], "extra": len(res.extra),
            "names": len(res.source_names) - 1}


def _check(chunk: bytes, continued: bool = False) -> dict:
    """Rows of each kind of ``chunk`` (decoded in a workspace for 64 times its bytes),
    checked against the bounds of a workspace for the chunk, which then decodes the chunk
    to the same output."""
    a = np.frombuffer(chunk, np.uint8)
    n = len(chunk)
    big = decode_chunk(a, n, continued, Workspace(64 * n + 64))
    got = _counts(big)
    bounds = _row_bounds(n)
    over = {k: (v, bounds[k]) for k, v in got.items()
            if v > bounds[k] - (1 if k == "names" else 0)}  # (names: code 0 is no row)
    assert not over, over
    ws = Workspace(n)
    assert ws.n_bytes == n
    exact = decode_chunk(a, n, continued, ws)
    for part in ("pos", "stat"):
        for k, v in getattr(big, part).items():
            np.testing.assert_array_equal(getattr(exact, part)[k], v, err_msg=k)
    np.testing.assert_array_equal(exact.frags, big.frags)
    np.testing.assert_array_equal(exact.extra, big.extra)
    np.testing.assert_array_equal(exact.decoded, big.decoded)
    assert exact.counts == big.counts
    assert exact.source_names == big.source_names
    return got


def _names(k: int) -> list:
    """``k`` distinct one- or two-byte source names (no ',', '*', '\\', line ends)."""
    alphabet = [bytes([c]) for c in range(48, 123) if c not in (92,)]
    out = list(alphabet)
    for x in alphabet:
        out += [x + y for y in alphabet]
    return out[:k]


# ---------------------------------------------------------------- the densest chunks
SHORTEST_27 = _sentence(*_payload(27, 123456789, 5))  # 34 bytes
SHORTEST_24 = _sentence(*_payload(24, 123456789, 0))  # 45 bytes
SHORTEST_FRAG = _sentence(b"1", 0, 3, 1)  # 19 bytes


def test_shortest_sentences_are_the_bounds_sizes():
    assert len(SHORTEST_27) == 34
    assert len(SHORTEST_24) == 45
    assert len(SHORTEST_FRAG) == 19


def test_densest_positions_statics_fragments_reach_their_bounds():
    for sentence, kind in ((SHORTEST_27, "positions"), (SHORTEST_24, "statics"),
                           (SHORTEST_FRAG, "fragments")):
        for k in (1, 2, 3, 50, 997):
            for sep in (b"", b"\n"):
                chunk = (sentence + sep) * k
                got = _check(chunk)
                assert got[kind] == k
                if not sep:  # run together: the bound, less its margin of one row
                    assert got[kind] == _row_bounds(len(chunk))[kind] - 1


def test_densest_extra_records():
    for k in (1, 2, 9, 1000):
        chunk = b"!AIVDM," * k  # sentence starts 7 bytes apart on one line: all malformed
        got = _check(chunk)
        assert got["extra"] == k - 1
        assert _check(b"x" + chunk, continued=True)["extra"] == k  # (a cut line's rest)


def test_densest_names():
    names = _names(3000)
    pghp = b"".join(b"$PGHP,,,,,,,,,,,%s,\n" % nm for nm in names[:74])  # 19 bytes a name
    assert len(pghp) == 19 * 74
    assert _check(pghp)["names"] == 74
    assert _check(pghp[:-1])["names"] == 74  # the last line without its line end
    tail = _sentence(b"1", 0)  # 19 bytes, then ",r<name>"
    n_ais = b"".join(tail + b",r" + nm for nm in names)
    assert _check(n_ais)["names"] == len(names)
    tags = b"".join(b"\\s:" + nm + b"\\" + tail for nm in names)
    assert _check(tags)["names"] == len(names)


# ---------------------------------------------------------------- drawn chunks
position_types = st.sampled_from([1, 2, 3, 18, 19, 27])
static_types = st.sampled_from([5, 24, 19])


@st.composite
def messages(draw) -> bytes:
    """A message at its shortest or a little longer: one sentence, or its fragments."""
    mt = draw(st.one_of(position_types, static_types))
    mmsi = draw(st.integers(1, 999_999_999))
    chars, fill = _payload(mt, mmsi, draw(st.integers(0, 1 << 30)),
                           draw(st.sampled_from([0, 0, 1, 5, 13])))
    k = draw(st.sampled_from([1, 1, 2, 2, 3]))
    if k > len(chars):
        k = 1
    if k == 1:
        return _sentence(chars, fill)
    cuts = sorted(draw(st.lists(st.integers(1, len(chars) - 1), min_size=k - 1,
                                max_size=k - 1, unique=True)))
    parts = [chars[i:j] for i, j in zip([0, *cuts], [*cuts, len(chars)], strict=True)]
    seq = draw(st.sampled_from([b"", b"3"]))
    sents = [_sentence(p, fill if i == k else 0, k, i, seq)
             for i, p in enumerate(parts, start=1)]
    if k > 2 and draw(st.booleans()):
        sents = sents[1:] + sents[:1]  # out of order: left to the assembler
    return b"".join(sents)


@st.composite
def records(draw, names) -> bytes:
    kind = draw(st.sampled_from(["message", "message", "fragment", "tag", "nais", "pghp",
                                 "start", "junk"]))
    if kind == "message":
        return draw(messages())
    if kind == "fragment":
        n_frags = draw(st.integers(2, 9))
        return _sentence(draw(st.sampled_from([b"1", b"w", b"0", b"15"])), 0, n_frags,
                         draw(st.integers(1, n_frags)))
    if kind == "tag":
        return b"\\s:" + draw(names) + b",c:1600000000\\" + draw(messages())
    if kind == "nais":
        return draw(messages()) + b",r" + draw(names) + b",1600000000"
    if kind == "pghp":
        return b"\n$PGHP,1,2020,1,2,3,4,5,6,219,0,%s,\n" % draw(names)
    if kind == "start":
        return b"!AIVDM,"
    return draw(st.sampled_from([b"x", b"*", b"\\", b"!", b"\\s:a*00\\"]))


separators = st.sampled_from([b"", b"", b"\n", b"\r\n", b"\r", b" ", b",", b"\\"])


@settings(max_examples=300)
@given(st.data())
def test_drawn_chunks_stay_within_bounds(data):
    names = st.sampled_from(_names(40))
    parts = data.draw(st.lists(st.tuples(records(names), separators), max_size=60))
    chunk = b"".join(r + s for r, s in parts)
    continued = data.draw(st.booleans())
    if continued:
        chunk = data.draw(st.sampled_from([b"", b"1,0*4A", b"VDM,1,1,,A,", b"\\s:x"])) + chunk
    if chunk:
        _check(chunk, continued)


@settings(max_examples=100)
@given(st.sampled_from([SHORTEST_27, SHORTEST_24, SHORTEST_FRAG, b"!AIVDM,"]),
       st.integers(1, 400), st.lists(st.sampled_from([b"\n", b"\r", b" ", b""]),
                                     min_size=1, max_size=3))
def test_dense_runs_with_separators(sentence, k, seps):
    chunk = b"".join(sentence + seps[i % len(seps)] for i in range(k))
    _check(chunk)


def test_reader_workspace_arrays_stay_below_numpy_huge_page_size():
    """NumPy advises transparent huge pages for its allocations of 4 MiB or more, and a
    first write into a huge page faults in all 2 MB of it: the reader's workspace keeps
    each array below that, so that its fresh pages are about the rows written."""
    from stsdetect.ais.reader import _WS_SLACK, DEFAULT_CHUNK_BYTES, _balanced_chunk

    # (on threads, a file's chunks are larger: the largest _balanced_chunk gives)
    threaded = max(_balanced_chunk(size, DEFAULT_CHUNK_BYTES, 2)
                   for size in range(1 << 20, 64 << 20, 4093))
    for chunk_bytes in (DEFAULT_CHUNK_BYTES, threaded):
        ws = Workspace(chunk_bytes + _WS_SLACK)
        assert max(a.nbytes for a in ws.arrays) < 4 << 20, chunk_bytes
