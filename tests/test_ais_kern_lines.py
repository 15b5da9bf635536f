"""The kernel's line framing against a Python reference: comment lines and other text.

The kernel scans a line 8 bytes at a time for the few bytes that matter (line ends, ``!``
and ``$``); on a comment line (``#`` first) it leaves spaces unmarked as well, a second copy
of the scan. These tests draw lines of text, spaces, tabs, stray ``!`` and ``$``, NMEA-like
and AIS sentences, with every line end (LF, CR LF, CR), and check each line's class, the
records and the decoded sentences against the rules written out in Python.
"""

from __future__ import annotations

import re

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

from stsdetect.ais.kernel import decode_chunk

SENTENCE = b"!AIVDM,1,1,,A,15RTgt0PAso;90TKcjM8h6g208CQ,0*4A"

tokens = st.sampled_from([
    b"word", b"MessageID:", b" ", b" ", b"  ", b"        ", b"\t", b"!", b"$", b"#", b"%",
    b"\\", b",", b"*", b"!AB", b"$GPGGA,1", b"$PGHP,1", b"$P", b"-", b"12", b"\x7f", b"\xff",
    b"\xef\xbb\xbf", SENTENCE,
])
lines = st.tuples(
    st.sampled_from([b"#", b"#", b"#", b"# ", b"", b"x", b"!", b"\\"]),
    st.lists(tokens, max_size=12).map(b"".join),
    st.sampled_from([b"\n", b"\n", b"\r\n", b"\r"]),
)

_AIS = re.compile(rb"!(?=[\x2d-\xff]{2}VD[MO],)")


def _classes(data: bytes) -> tuple:
    """(counts of comment_or_blank, metadata_line, non_ais_nmea, not_nmea; records; AIS
    sentence starts; decodable sentences) of the lines of ``data`` by the rules: a line
    with AIS sentence starts is one record per start; otherwise one record classed by its
    first ``!`` or ``$`` (``$PGHP``: metadata; an NMEA address after it: non-AIS NMEA), or
    when it has none by its first byte (``#`` or empty: a comment)."""
    counts = [0, 0, 0, 0]
    records = starts = good = 0
    i, n = 0, len(data)
    while i < n:
        j = i
        while j < n and data[j] not in b"\r\n":
            j += 1
        ls, le = i, j
        i = j + 2 if data[j:j + 2] == b"\r\n" else j + 1
        if data[ls:ls + 3] == b"\xef\xbb\xbf":
            ls += 3
        line = data[ls:le]
        k = len(_AIS.findall(line))
        if k:
            records += k
            starts += k
            good += line.count(SENTENCE)
            continue
        records += 1
        cand = min((p for p in (line.find(b"!"), line.find(b"$")) if p >= 0), default=-1)
        if cand < 0:
            if not line or line[0] == 35:
                counts[0] += 1
            elif line[0] == 92 and line[-1] == 92:
                counts[1] += 1
            else:
                counts[3] += 1
            continue
        if line[cand:cand + 5] == b"$PGHP":
            counts[1] += 1
            continue
        c = cand + ls  # (the address may be read past the line's end, into the chunk)

        def at(p):
            return data[p] if p < n else 0

        def alnum(x):
            return 65 <= x <= 90 or 48 <= x <= 57

        like = all(alnum(at(c + k)) or at(c + k) == 45 for k in range(1, 5))
        c5, c6 = at(c + 5), at(c + 6)
        like = like and (c5 == 44 or (alnum(c5) and c6 in (44, 42)))
        counts[2 if like else 3] += 1
    return counts, records, starts, good


@settings(max_examples=400, deadline=None)
@given(ls=st.lists(lines, min_size=1, max_size=12), pad=st.integers(0, 15))
def test_comment_and_text_lines_match_the_rules(ls, pad):
    """Each line's class and records, its AIS sentences found and decoded, wherever the
    lines sit in the chunk's words (``pad`` bytes of a first comment shift them)."""
    data = b"#" + b"x" * pad + b"\n" + b"".join(b"".join(t) for t in ls)
    res = decode_chunk(np.frombuffer(data, np.uint8), len(data))
    counts, records, starts, good = _classes(data)
    got = [res.counts[k] for k in ("comment_or_blank", "metadata_line", "non_ais_nmea",
                                   "not_nmea")]
    assert got == counts
    assert res.counts["records"] == records
    assert res.counts["sentences"] == starts
    assert res.pos["mmsi"].tolist() == [371798000] * good


def test_comment_lines_by_hand():
    """Comments of spaces and tabs, with a sentence, with NMEA, and each line end."""
    data = (b"#       MessageID:          1\n#\tstate:  2\r\n# " + SENTENCE + b"\r"
            b"#  $GPGGA,1 x\n#" + b" " * 40 + b"!\n" + b"   \n#\n")
    res = decode_chunk(np.frombuffer(data, np.uint8), len(data))
    assert res.pos["mmsi"].tolist() == [371798000]
    assert res.counts["comment_or_blank"] == 3
    assert res.counts["non_ais_nmea"] == 1
    assert res.counts["not_nmea"] == 2
    assert res.counts["records"] == 7
