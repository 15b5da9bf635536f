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

from stsdetect.ais.kernel import _comma_or_end

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
