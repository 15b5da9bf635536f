"""Hypothesis strategies of JSON evidence: texts, flag tokens and nested reasons, shared by the
tests of the column-wise evidence parsers (tests/test_dark_vessels_columns.py,
tests/test_flags_evidence_columns.py)."""

from __future__ import annotations

from hypothesis import strategies as st

# ids and names: accents, line separators, quotes, backslashes, control characters, astral
# characters, and the noncharacter the evidence parser uses as its marker
TEXT = st.one_of(st.sampled_from(["\uffff", ""]), st.text(st.sampled_from(list(
    'aZ09 _-;,"\\/:{}[]\u00e9\u2028\x00\x1e\x1f\t\n\U0001f6a2\u4e2d\uffff')), max_size=8))
TOKENS = st.sampled_from(["rendezvous_long", "dprk", "barge", "unseen_partner", "\u00e9t\u00e9",
                          "zz", "a b"])
SCALAR = st.one_of(st.none(), st.booleans(), st.integers(-2**53, 2**53), TEXT,
                   st.floats(allow_nan=True, allow_infinity=True, width=64))


def reasons(scalar, max_leaves: int = 6):
    """Reasons: scalars, and lists and objects of them, nested."""
    return st.recursive(scalar, lambda inner: st.one_of(
        st.lists(inner, max_size=3), st.dictionaries(TEXT, inner, max_size=3)),
        max_leaves=max_leaves)


REASON = reasons(SCALAR)
