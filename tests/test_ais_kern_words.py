"""The kernel's word-at-a-time helpers of session 20 against plain Python.

The kernel finds the commas of the columns after a sentence's checksum 8 bytes a word
(``_comma_or_end``). These tests draw byte strings rich in commas and look-alikes
(bytes one off a ',', high bytes) at every alignment, with the span's end and the chunk's
end anywhere, and compare each answer with the first ',' found by Python.
"""

from __future__ import annotations

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

from stsdetect.ais.kernel import TEXT_BYTES, TEXT_SLOTS, _comma_or_end, take_names, trim_text

chars = st.sampled_from([44, 44, 43, 45, 0, 128, 172, 255, 48, 114, 32, 10])


@settings(max_examples=400, deadline=None)
@given(data=st.lists(chars, min_size=0, max_size=40), cuts=st.tuples(
    st.integers(0, 40), st.integers(0, 40), st.integers(0, 40)))
def test_comma_or_end_matches_python(data, cuts):
    """The first ',' of a[p:e] (or e), whatever the alignment of p, e and the chunk's end
    n (words are read only while within a[:n])."""
    n = len(data)
    p, e = sorted(min(c, n) for c in cuts[:2])
    a = np.array(data + [44] * 8, np.uint8)  # (commas past n: never to be seen)
    want = bytes(data[p:e]).find(b",")
    assert _comma_or_end(a, p, e, n) == (e if want < 0 else p + want)


names = st.lists(st.text(st.sampled_from("ab0 é,\t"), max_size=19), min_size=1, max_size=9)


@settings(max_examples=200, deadline=None)
@given(names=names, codes=st.lists(st.integers(0, 8), max_size=60))
def test_take_names_matches_python(names, codes):
    """take_names (names copied 8 bytes a word) gives the bytes of ``names[codes]``, row
    after row, whatever the names' lengths."""
    codes = [c % len(names) for c in codes]
    offsets, data = take_names(names, np.array(codes, np.int32))
    enc = [names[c].encode() for c in codes]
    assert offsets.tolist() == [0, *np.cumsum([len(b) for b in enc]).tolist()]
    assert data.tobytes() == b"".join(enc)


slot_text = st.text(st.sampled_from("  AB9@-"), max_size=20)


@settings(max_examples=200, deadline=None)
@given(rows=st.lists(st.tuples(slot_text, slot_text, slot_text), max_size=20),
       junk=st.integers(0, 255))
def test_trim_text_matches_python(rows, junk):
    """trim_text (slots read and copied 8 bytes a word) gives each slot's bytes from its
    first to its last non-space, null for a blank one, whatever lies in the bytes between
    the slots."""
    text = np.full((len(rows), TEXT_BYTES), junk, np.uint8)
    for i, row in enumerate(rows):
        for field, value in zip(("callsign", "name", "destination"), row, strict=True):
            at, width = TEXT_SLOTS[field]
            v = value[:width].ljust(width).encode()
            text[i, at:at + width] = np.frombuffer(v, np.uint8)
    for k, field in enumerate(("callsign", "name", "destination")):
        width = TEXT_SLOTS[field][1]
        want = [r[k][:width].strip(" ").encode() for r in rows]
        offsets, data, valid, blank = trim_text(text, field)
        assert offsets.tolist() == [0, *np.cumsum([len(b) for b in want]).tolist()]
        assert data.tobytes() == b"".join(want)
        bits = np.unpackbits(valid, bitorder="little")[:len(rows)] if rows else []
        assert [bool(b) for b in bits] == [bool(w) for w in want]
        assert blank == sum(not w for w in want)
