"""The tag block's ``c:`` time rule written in Python: the reference the kernel's tag
tests (``test_ais_kern*.py``) hold it to."""
from __future__ import annotations

from stsdetect.ais.kernel import NAT_NS


def tag_time_ns(v: bytes) -> int:
    """``c:`` value ``v`` as ns: Unix seconds, or milliseconds past 9e9 (capped at 9e12);
    NaT unless all digits and at most 13 of them."""
    if not v.isdigit() or len(v) > 13:
        return NAT_NS
    n = int(v)
    return n * 10**9 if n <= 9_000_000_000 else min(n, 9 * 10**12) * 10**6
