"""Tag blocks read again, or only their ``c:``, against the rules written out in Python.

The kernel keeps the last tag block it read without a ``g:`` field. A block that equals it
takes its time and source again; a block that equals it but for the ``c:`` value (all
digits) and the checksum after the ``*`` has only its ``c:`` read. These tests draw runs
of blocks that repeat, change their ``c:`` (same or other length, junk), their checksum
(including bytes that start a field after the ``*``) or other fields, and check every
line's time and source against a Python reading of every block from scratch.
"""

from __future__ import annotations

import numpy as np
from _tag_rules import tag_time_ns
from hypothesis import given, settings
from hypothesis import strategies as st

from stsdetect.ais.kernel import NAT_NS, decode_chunk

SENTENCE = b"!AIVDM,1,1,,A,15RTgt0PAso;90TKcjM8h6g208CQ,0*4A"


def _read_block(block: bytes) -> tuple:
    """(time, source, whether it has a c: field) of the tag block ``\\<block>\\``: its
    fields start after its first ``\\`` or a ``,`` or ``\\`` inside it, as ``<key>:<value>``
    with the value up to a ``,``, ``*`` or ``\\``; the first ``c:`` is the time, the first
    ``s:`` the source."""
    t, src = NAT_NS, b""
    seen = set()
    starts = [0] + [i + 1 for i, b in enumerate(block) if b in b",\\"]
    for k in starts:
        if k + 1 >= len(block) or block[k + 1] != 58:
            continue
        key = block[k]
        if key not in b"cs" or key in seen:
            continue
        seen.add(key)
        ve = k + 2
        while ve < len(block) and block[ve] not in b",*\\":
            ve += 1
        if key == 99:
            t = tag_time_ns(block[k + 2:ve])
        else:
            src = block[k + 2:ve][:32]
    return t, src, 99 in seen


c_values = st.one_of(
    st.sampled_from([b"1668046497", b"1668046498", b"1668046499", b"1668046597",
                     b"1668046497123", b"166804649", b"16680464970", b"", b"166804649x",
                     b"1668046497 "]),
    st.text("0123456789", min_size=0, max_size=14).map(str.encode),
)
sums = st.sampled_from([b"*0A", b"*0B", b"", b"*", b"*0A0A", b"*,s:9", b"*,c:5", b"*c:5",
                        b"*x\\c:9", b"*\\s:8", b"**"])
others = st.sampled_from([b"s:117", b"s:118", b"s:119", b"s:AISD", b"s:", b"x:5", b"x:6",
                          b"d:1,2", b"c:7", b"s:1*2", b"g:1-1-5"])


@st.composite
def runs(draw):
    """Lines of tag blocks: a base block of fields around one c:, then near-repeats."""
    before = draw(st.lists(others, max_size=2))
    after = draw(st.lists(others, max_size=2))
    c = draw(c_values)
    s = draw(sums)
    out = []
    for _ in range(draw(st.integers(1, 8))):
        change = draw(st.integers(0, 9))
        if change < 4:
            c = draw(c_values)
        elif change < 6:
            s = draw(sums)
        elif change == 6:
            after = draw(st.lists(others, max_size=2))
        elif change < 9 and before:  # one field before c: for another (same length often)
            before = list(before)
            before[draw(st.integers(0, len(before) - 1))] = draw(others)
        out.append(b",".join([*before, b"c:" + c, *after]) + s)
    return out


@settings(max_examples=300, deadline=None)
@given(blocks=runs(), pad=st.integers(0, 15))
def test_repeated_and_near_repeated_tag_blocks(blocks, pad):
    """Each line's time, source and unparsed-time count, read from scratch in Python,
    whatever the last block read was (the kernel's cached one)."""
    data = b"#" + b"x" * pad + b"\n" + b"".join(
        b"\\" + b + b"\\" + SENTENCE + b"\n" for b in blocks)
    res = decode_chunk(np.frombuffer(data, np.uint8), len(data))
    want = [_read_block(b) for b in blocks]
    assert res.pos["time"].tolist() == [t for t, _, _ in want]
    names = [res.source_names[c] for c in res.pos["source"].tolist()]
    assert names == [s.decode() for _, s, _ in want]
    assert res.counts["time_unparsed"] == sum(t == NAT_NS and c for t, _, c in want)


def test_tag_blocks_by_hand():
    """A feed's clock ticking, the checksum with it; a field after the '*'."""
    lines = [b"s:117,c:1668046497*0A", b"s:117,c:1668046498*05", b"s:117,c:1668046498*05",
             b"s:117,c:1668046499*04", b"s:118,c:1668046499*04", b"s:118,c:1668046499*,c:5",
             b"s:118,c:1668046500*,c:5", b"s:118,c:16680465xx*00", b"c:1668046500*0A0A",
             b"c:1668046501*,s:9"]
    data = b"".join(b"\\" + b + b"\\" + SENTENCE + b"\n" for b in lines)
    res = decode_chunk(np.frombuffer(data, np.uint8), len(data))
    s = 10**9
    assert res.pos["time"].tolist() == [1668046497 * s, 1668046498 * s, 1668046498 * s,
                                        1668046499 * s, 1668046499 * s, 1668046499 * s,
                                        1668046500 * s, NAT_NS, 1668046500 * s,
                                        1668046501 * s]
    assert [res.source_names[c] for c in res.pos["source"].tolist()] == \
        ["117"] * 4 + ["118"] * 4 + ["", "9"]
