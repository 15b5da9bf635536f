"""The kernel's one-pass framing of lines holding several sentences, against the rules.

The kernel reads a line once: up to its first AIS sentence start, through the sentence
to its '*' (or the next start, or the line's end), then on from the '*' to the next start
or the line's end. These tests run together whole sentences, sentences with a wrong
checksum, sentences cut short (before their sixth comma, so no later byte completes
them), tag blocks (with their own '*'), spaces, other bytes and every line end, at any
offset in the chunk's words, and check that each sentence start is one record with the
outcome its kind gives (decoded, bad checksum, malformed), and the lines and the other
records as :mod:`test_ais_kern_lines` writes their rules.
"""

from __future__ import annotations

import re

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st
from test_ais_kern_lines import SENTENCE, _classes

from stsdetect.ais.kernel import decode_chunk

BAD_SUM = SENTENCE[:-1] + b"B"
#: cuts of SENTENCE from its start (7 bytes, "!AIVDM,") to before its sixth comma
CUTS = [SENTENCE[:k] for k in (7, 8, 12, 14, 15, 20, 31, 32, 40, 44)]

tokens = st.one_of(
    st.sampled_from([SENTENCE, BAD_SUM, b"\\s:1*5B\\", b"\\g:1-2-3,c:1600000000*00\\",
                     b" ", b"        ", b"x", b"12", b"1600000000 ", b"\t", b"#", b"\xff",
                     b",1600000000", b",r003669987", b"\\"]),
    st.sampled_from(CUTS),
)
_AIS = re.compile(rb"!(?=[\x2d-\xff]{2}VD[MO],)")
lines = st.tuples(st.lists(tokens, max_size=10).map(b"".join),
                  st.sampled_from([b"\n", b"\n", b"\r\n", b"\r"]))


def _records(line: bytes) -> tuple:
    """(malformed, bad checksum, other) records of a line by the framing rules: a record
    from each AIS sentence start to the next start (or the tag block right before it) or
    the line's end; its '*' the first after its start and before the next start, none when
    past the record's end; then 6 commas before the '*', two hex digits after it inside
    the record, and the XOR of the bytes between the '!' and the '*'. ``other``: records
    that pass these and are not a whole SENTENCE (their fields decide)."""
    starts = [m.start() for m in _AIS.finditer(line)]
    malformed = bad = other = 0
    for i, sv in enumerate(starts):
        nxt = starts[i + 1] if i + 1 < len(starts) else -1
        rec_end = len(line)
        if nxt >= 0:
            rec_end = nxt
            if line[nxt - 1:nxt] == b"\\":
                q = line.rfind(b"\\", sv + 1, nxt - 1)
                if q > sv:
                    rec_end = q
        star = line.find(b"*", sv + 1, nxt if nxt >= 0 else len(line))
        if star >= rec_end:
            star = -1
        hexd = b"0123456789ABCDEFabcdef"
        if (star < 0 or line.count(b",", sv, star) < 6 or star + 3 > rec_end
                or line[star + 1] not in hexd or line[star + 2] not in hexd):
            malformed += 1
            continue
        x = 0
        for b in line[sv + 1:star]:
            x ^= b
        if x != int(line[star + 1:star + 3], 16):
            bad += 1
        elif line[sv:star + 3] != SENTENCE:
            other += 1
    return malformed, bad, other


@settings(max_examples=150, deadline=None)
@given(ls=st.lists(lines, min_size=1, max_size=10), pad=st.integers(0, 15))
def test_sentences_run_together_are_framed_one_by_one(ls, pad):
    """Each sentence start one record: decoded when whole, a bad checksum when its sum is
    wrong, malformed when cut; the lines and other records as the line rules say."""
    body = b"".join(text + end for text, end in ls)
    data = b"#" + b"x" * pad + b"\n" + body
    res = decode_chunk(np.frombuffer(data, np.uint8), len(data))
    counts, records, starts, good = _classes(data)
    malformed = bad = other = 0
    for text in re.split(rb"\r\n|\r|\n", body):
        m, b, o = _records(text)
        malformed, bad, other = malformed + m, bad + b, other + o
    assert res.counts["sentences"] == starts
    assert res.counts["records"] == records
    assert res.counts["lines"] == len(re.findall(rb"\r\n|\r|\n", data))
    assert res.counts["bad_checksum"] == bad
    assert malformed <= res.counts["malformed_sentence"] <= malformed + other
    assert good <= res.pos["mmsi"].tolist().count(371798000) <= good + other
    got = [res.counts[k] for k in ("comment_or_blank", "metadata_line", "non_ais_nmea",
                                   "not_nmea")]
    assert got == counts
