"""The NMEA kernel: one compiled pass that frames and decodes a chunk of any NMEA dump layout.

:func:`decode_chunk` reads a chunk of whole lines once in machine code (numba, ``nogil`` so
that chunks decode on several cores at once, ``cache=True`` so that the compilation is paid
once per machine; line ends and a sentence's structure are looked for 8 bytes at a time).
For every line it finds the records (a line, or each AIS sentence of a line holding several
run together, wherever the next one starts: after the checksum, a ``\\``, a ``,`` or a
space), classifies them, checks the sentence structure and
the NMEA checksum, attaches a time and a source, and decodes each message into columns:
position reports (types 1, 2, 3, 18, 19, 27) and static messages (types 5, 24 parts A and B,
and the static half of type 19). A fragment 2 of 2 right after its fragment 1 (how receivers
emit nearly every multipart message) is joined in the kernel; other fragments (interleaved,
tag-block ``g:`` groups of 3 or more, a message cut by a chunk's end) are handed to
:class:`Assembler`, the compiled sequential assembler that carries open groups from chunk to
chunk. Every record is counted: decoded, or under a named skip reason
(:data:`stsdetect.ais.report.SKIP_REASONS`). Output rows go into a :class:`Workspace` reused
from chunk to chunk.

A tag block's ``c:`` is a time whatever its number of digits (Unix seconds, or
milliseconds from 11 digits on): a ``c:`` of 9 digits is a wrong clock, which the reader
counts as ``implausible_time``, not a missing time.

Times and sources, in order of priority, from whichever the dump carries:

* an NMEA 4.10 tag block ``\\s:<source>,c:<unix s or ms>,g:<n>-<m>-<id>*hh\\`` before the
  sentence (blocks run together are read as one);
* a Gatehouse ``$PGHP,1,yyyy,mm,dd,hh,mm,ss,ms,country,region,pss,...`` line, which applies to
  the next AIS sentence of the same file (source = ``pss``);
* columns after the checksum: USCG N-AIS ``,r<station>,<unix>`` and the longer
  ``,d-109,S2105,t..,T..,r<station>,<unix>,<unix>`` form, a bare ``,<unix>`` column (the first
  all-digit 10- or 13-digit column is the time), extra fields (SignalK), or ``;<ISO time>``;
* a leading column before the sentence, up to the first ``,``, ``|``, ``;`` or tab (or the
  sentence itself): ``<unix>``, ``<unix>.<fraction>``, ``<unix> `` (a space before the
  sentence), an ISO 8601 time (``2020-08-05T12:00:00Z``, ``2012-11-08 05:18:52``), or such a
  time in square brackets; satellite exports ``time|mmsi|lat|lon|!AIVDM...`` read their
  first field. A UTF-8 byte order mark at a line start is ignored.
"""

from __future__ import annotations

import threading
from functools import partial
from typing import NamedTuple

import numpy as np
from numba import njit
from numba.core.cpu import CPUTargetOptions
from numba.cpython.unsafe.numbers import leading_zeros, trailing_zeros

from .statics import STATICS_MIN_BITS

__all__ = ["COUNT_NAMES", "NAT_NS", "TEXT_SLOTS", "Assembler", "ChunkResult",
           "Workspace", "decode_chunk", "decode_payloads", "decode_statics", "outside",
           "static_texts", "time_ranges", "touch_pages", "trim_text",
           "whole_numbers"]

NAT_NS = np.iinfo(np.int64).min
_INT64_MAX = np.iinfo(np.int64).max
#: Fibonacci hashing (Knuth) of the key tables: a 64-bit key times 2**64 / the golden ratio,
#: its top bits the slot.
_FIB = np.uint64(0x9E3779B97F4A7C15)

# The kernel and its helpers are compiled without numba's reference counting (NRT): they
# allocate nothing (every array comes from the caller), and with it every call of a helper
# taking arrays cost an atomic increment and decrement per array (a quarter of the time).
# ``_nrt`` is an underscore option of numba's CPU target: where a numba release no longer has
# it, the kernel compiles with reference counting (same output, ~20 % slower), never fails.
_JIT = {"cache": True, "nogil": True}
if hasattr(CPUTargetOptions, "_nrt"):
    _JIT["_nrt"] = False
# The per-line helpers the kernel calls on every line or sentence (_line_scan,
# _sentence_scan, _is_ais_start, _uint, _code, _digest, _decode_position) are inlined into
# it at numba's level (inline="always"; LLVM left the larger ones as calls): 10-17 % less
# kernel time per layout, for ~5 s more of the one-off cold compile (17 -> 22.5 s).

#: Names of the kernel's per-chunk counters (skip reasons of the report, then totals).
COUNT_NAMES = (
    "comment_or_blank", "metadata_line", "non_ais_nmea", "not_nmea", "malformed_sentence",
    "bad_checksum", "empty_payload", "bad_payload_char", "unsupported_type", "short_payload",
    "invalid_mmsi", "out_of_range_position", "undecodable_payload", "invalid_type24_part",
    "multipart_joined", "incomplete_multipart",
    # totals and notes (not skip reasons)
    "records", "lines", "sentences", "sentence_records", "time_unparsed",
)
#: How many of :data:`COUNT_NAMES` (the first) are skip reasons of the report.
N_SKIPS = 16

#: Longest payload accepted in one sentence: an NMEA sentence has at most 82 characters, but
#: some receivers exceed that; 1000 leaves room for them while rejecting runaway garbage.
MAX_PAYLOAD_CHARS = 1000
#: Trailing columns after the checksum examined for a time or station id (the longest known
#: layout, USCG N-AIS with libais metadata, has 7).
_MAX_TRAILING_COLUMNS = 12
#: Longest source name kept (tag ``s:``, $PGHP ``pss``, N-AIS ``r``), in bytes.
MAX_SOURCE_BYTES = 32
# Unix time plausibility: 2001-09-09 .. 2103-02-04 (seconds; the same span in milliseconds).
# AIS carriage became mandatory under SOLAS V/19 from July 2002, so no earlier AIS time is
# plausible, and from 2001-09-09 on Unix seconds have exactly 10 digits (13 in milliseconds).
_UNIX_S_MIN, _UNIX_S_MAX = 1_000_000_000, 4_200_000_000

# Payload bits needed to reach the last field read (true heading, or course for type 27);
# ITU-R M.1371-5 Annex 8.
_REQUIRED = np.zeros(64, dtype=np.int64)
_REQUIRED[[1, 2, 3]] = 137
_REQUIRED[[18, 19]] = 133
_REQUIRED[27] = 94
_KIND = np.zeros(64, dtype=np.int8)  # 1 position report, 2 static message, 0 other
_KIND[[1, 2, 3, 18, 19, 27]] = 1
_KIND[[5, 24]] = 2


@njit(**_JIT)
def _sixbit(c):
    if 48 <= c < 88:
        return c - 48
    if 96 <= c < 120:
        return c - 56
    return 255


@njit(**_JIT)
def _hex(c):
    if 48 <= c <= 57:
        return c - 48
    if 65 <= c <= 70:
        return c - 55
    if 97 <= c <= 102:
        return c - 87
    return 255


@njit(**_JIT, inline="always")
def _uint(a, s, e, max_width):
    """Decimal digits a[s:e] -> value, or -1 (empty, too long, or not all digits)."""
    if e <= s or e - s > max_width:
        return -1
    v = 0
    for i in range(s, e):
        d = a[i] - 48
        if d < 0 or d > 9:
            return -1
        v = v * 10 + d
    return v


@njit(**_JIT)
def _unix_ns(v):
    """Unix seconds or milliseconds -> ns (NAT_NS when implausible)."""
    if _UNIX_S_MIN <= v < _UNIX_S_MAX:
        return v * 1_000_000_000
    if _UNIX_S_MIN * 1000 <= v < _UNIX_S_MAX * 1000:
        return v * 1_000_000
    return NAT_NS


@njit(**_JIT)
def _tag_time_ns(v):
    """A tag block's ``c:`` number -> ns: Unix seconds up to 9e9 (year 2255), milliseconds
    above (from 11 digits on), so that any number is a time (an implausible one when it is
    too short or too long, for the reader's plausibility check); NAT_NS for no number."""
    if v < 0:
        return NAT_NS
    if v <= 9_000_000_000:
        return v * 1_000_000_000
    if v > 9_000_000_000_000:
        v = 9_000_000_000_000
    return v * 1_000_000


@njit(**_JIT)
def _days(y, m, d):
    """Days since 1970-01-01 of a proleptic Gregorian date (H. Hinnant's days_from_civil)."""
    y -= m <= 2
    era = (y if y >= 0 else y - 399) // 400
    yoe = y - era * 400
    mp = (m + 9) % 12
    doy = (153 * mp + 2) // 5 + d - 1
    doe = yoe * 365 + yoe // 4 - yoe // 100 + doy
    return era * 146097 + doe - 719468


@njit(**_JIT)
def _civil_ns(y, mo, d, h, mi, s, frac_ns):
    """ns since the epoch of a UTC civil time, or NAT_NS when a field is out of range."""
    if y < 1970 or mo < 1 or mo > 12 or d < 1 or h > 23 or mi > 59 or s > 59:
        return NAT_NS
    leap = (y % 4 == 0 and y % 100 != 0) or y % 400 == 0
    dim = 31
    if mo == 2:
        dim = 29 if leap else 28
    elif mo == 4 or mo == 6 or mo == 9 or mo == 11:
        dim = 30
    if d > dim:
        return NAT_NS
    return ((_days(y, mo, d) * 86400 + h * 3600 + mi * 60 + s) * 1_000_000_000 + frac_ns)


@njit(**_JIT)
def _iso_ns(a, s, e):
    """An ISO 8601 time ``YYYY-MM-DD[T ]HH:MM:SS[.f][Z|+hh:mm|-hh:mm]`` in a[s:e] -> ns."""
    while s < e and (a[s] == 32 or a[s] == 91):  # spaces, '['
        s += 1
    while e > s and (a[e - 1] == 32 or a[e - 1] == 93 or a[e - 1] == 9):  # spaces, ']'
        e -= 1
    if e - s < 19 or a[s + 4] != 45 or a[s + 7] != 45 or a[s + 13] != 58 or a[s + 16] != 58:
        return NAT_NS
    if a[s + 10] != 84 and a[s + 10] != 32 and a[s + 10] != 116:
        return NAT_NS
    y = _uint(a, s, s + 4, 4)
    mo = _uint(a, s + 5, s + 7, 2)
    d = _uint(a, s + 8, s + 10, 2)
    h = _uint(a, s + 11, s + 13, 2)
    mi = _uint(a, s + 14, s + 16, 2)
    sec = _uint(a, s + 17, s + 19, 2)
    if y < 0 or mo < 0 or d < 0 or h < 0 or mi < 0 or sec < 0:
        return NAT_NS
    i = s + 19
    frac = 0
    if i < e and a[i] == 46:  # fraction of a second, up to ns
        i += 1
        scale = 100_000_000
        n_dig = 0
        while i < e and 48 <= a[i] <= 57:
            frac += (a[i] - 48) * scale
            scale //= 10
            i += 1
            n_dig += 1
        if n_dig == 0:
            return NAT_NS
    offset = 0
    if i < e and (a[i] == 90 or a[i] == 122):  # 'Z'
        i += 1
    elif i < e and (a[i] == 43 or a[i] == 45):  # +hh:mm / -hh:mm / +hhmm / +hh
        sign = 1 if a[i] == 43 else -1
        oh = _uint(a, i + 1, i + 3, 2)
        if oh < 0:
            return NAT_NS
        om = 0
        j = i + 3
        if j < e and a[j] == 58:
            j += 1
        if j < e:
            om = _uint(a, j, j + 2, 2)
            if om < 0:
                return NAT_NS
            j += 2
        offset = sign * (oh * 3600 + om * 60)
        i = j
    if i != e:
        return NAT_NS
    ns = _civil_ns(y, mo, d, h, mi, sec, frac)
    if ns == NAT_NS:
        return ns
    return ns - offset * 1_000_000_000


@njit(**_JIT)
def _lead_ns(a, s, e):
    """A leading time column a[s:e]: Unix s/ms (optionally with a fraction) or ISO time."""
    while s < e and (a[s] == 32 or a[s] == 9):
        s += 1
    while e > s and (a[e - 1] == 32 or a[e - 1] == 9):
        e -= 1
    if e <= s:
        return NAT_NS
    dot = -1
    for i in range(s, e):
        if a[i] == 46:
            dot = i
            break
    whole_end = e if dot < 0 else dot
    v = _uint(a, s, whole_end, 13)
    if v >= 0:
        ns = _unix_ns(v)
        if ns == NAT_NS or dot < 0:
            return ns
        frac = 0
        scale = 100_000_000 if whole_end - s <= 10 else 100_000  # seconds or milliseconds
        if dot + 1 >= e:
            return NAT_NS
        for i in range(dot + 1, e):
            d = a[i] - 48
            if d < 0 or d > 9:
                return NAT_NS
            frac += d * scale
            scale //= 10
        return ns + frac
    if e - s >= 8:
        return _iso_ns(a, s, e)
    return NAT_NS


@njit(**_JIT, inline="always")
def _is_ais_start(a, p, end):
    """Whether an AIS sentence ``!ccVDM,`` / ``!ccVDO,`` starts at a[p] (inside a[:end])."""
    return (p + 6 < end and a[p] == 33 and a[p + 3] == 86 and a[p + 4] == 68
            and (a[p + 5] == 77 or a[p + 5] == 79) and a[p + 6] == 44
            and a[p + 1] > 44 and a[p + 2] > 44)


#: SWAR constants: a byte of 1 in every lane, of 37, and every lane's high bit.
_L = np.uint64(0x0101010101010101)
_LANES_37 = np.uint64(0x2525252525252525)
_LANES_HIGH = np.uint64(0x8080808080808080)


#: A byte of 127 in every lane (see :func:`_line_scan`).
_LANES_127 = np.uint64(0x7F7F7F7F7F7F7F7F)
_LANES_32 = np.uint64(0x2020202020202020)


@njit(**_JIT, inline="always")
def _line_scan(a, a64, j, n, text):
    """From a[j] on, the line's first AIS sentence start or else its end: ``(q, start,
    cand)``, ``start`` True when q is a sentence start, else q is the line's end (its '\\n'
    or '\\r', or ``n``); ``cand``: the first '!' or '$' before q (-1 when none: where a
    sentence of another kind may start). The kernel reads a line in one pass: this scan up
    to its first sentence, :func:`_sentence_scan` through it, this scan again from its '*'
    on, and so on.

    Bytes above 36 are skipped 8 at a time: each 8 bytes are read as one little-endian word
    (:func:`_load8`, from any byte on), and ``(w - 0x25..25) & ~w & 0x80..80`` marks every
    byte below 37 of a word ``w`` (and possibly a 37 right after one: each marked byte is
    checked on its own). With ``text``
    (a comment line: words of text) the spaces are left unmarked too (exactly: a byte of
    ``w ^ 0x20..20`` is zero where ``w`` has a space, and only there is ``((x & 0x7f..7f) +
    0x7f..7f) | x`` without its high bit), so that a line of words costs a few marks.
    """
    cand = -1
    while j < n:
        m_q = j
        if j + 8 <= n:
            w = _load8(a, j)
            m = (w - _LANES_37) & ~w & _LANES_HIGH
            if text:
                x = w ^ _LANES_32
                m &= ((x & _LANES_127) + _LANES_127) | x
            j += 8
        else:
            m = np.uint64(128) if a[j] <= 36 else np.uint64(0)
            j += 1
        while m != 0:
            q = m_q + (np.int64(trailing_zeros(m)) >> 3)
            m &= m - np.uint64(1)
            c = a[np.uint64(q)]  # (unsigned: no negative-index check)
            if c == 10 or c == 13:
                return q, False, cand
            if c == 33 or c == 36:
                if cand < 0:
                    cand = q
                if c == 33 and _is_ais_start(a, q, n):
                    return q, True, cand
    return n, False, cand


#: A byte of 45 in every lane: bytes below it are a sentence's structure (',', '*', '!').
_LANES_45 = np.uint64(0x2D2D2D2D2D2D2D2D)


@njit(**_JIT, inline="always")
def _xor_lanes(x64):
    """The XOR of the 8 byte lanes of ``x64`` (the checksum of 8 bytes XORed as one word)."""
    x64 ^= x64 >> np.uint64(32)
    x64 ^= x64 >> np.uint64(16)
    x64 ^= x64 >> np.uint64(8)
    return np.int64(x64 & np.uint64(255))


@njit(**_JIT, inline="always")
def _sentence_scan(a, a64, sv, n, commas):
    """Scan the sentence starting at a[sv] (its '!') up to its '*', the next AIS sentence
    start or the line's end: (star, nxt, nc, x, stop), the '*' (or -1), the next sentence's
    start (or -1), how many of its first 6 commas were found (their positions into
    ``commas``), the XOR of the bytes between the '!' and the '*' (the NMEA checksum), and
    where the scan stopped (the '*', the next start, or else the line's end: its '\\n' or
    '\\r', or ``n``).

    Words of 8 bytes with no byte below 45 are only XORed (see :func:`_line_scan`).
    """
    nc = 0
    x = 0
    x64 = np.uint64(0)
    p = sv + 1
    while p < n:
        if p + 8 <= n:
            w = _load8(a, p)
            m = (w - _LANES_45) & ~w & _LANES_HIGH
            while m != 0:
                k = np.int64(trailing_zeros(m)) >> 3
                m &= m - np.uint64(1)
                q = p + k
                c = a[np.uint64(q)]
                if (c == 42 or c == 10 or c == 13
                        or (c == 33 and q >= sv + 7 and _is_ais_start(a, q, n))):
                    if k > 0:  # the word's bytes before q
                        x64 ^= w & ((np.uint64(1) << np.uint64(8 * k)) - np.uint64(1))
                    x ^= _xor_lanes(x64)
                    if c == 42:
                        return q, -1, nc, x, q
                    if c == 33:
                        return -1, q, nc, x, q
                    return -1, -1, nc, x, q
                if c == 44 and nc < 6:
                    commas[np.uint64(nc)] = q
                    nc += 1
            x64 ^= w
            p += 8
            continue
        c = a[np.uint64(p)]
        if c == 42 or c == 10 or c == 13 or (c == 33 and p >= sv + 7
                                               and _is_ais_start(a, p, n)):
            break
        x ^= c
        if c == 44 and nc < 6:
            commas[np.uint64(nc)] = p
            nc += 1
        p += 1
    x ^= _xor_lanes(x64)
    if p >= n:
        return -1, -1, nc, x, n
    if a[p] == 42:
        return p, -1, nc, x, p
    if a[p] == 33:
        return -1, p, nc, x, p
    return -1, -1, nc, x, p


#: A byte of 44 (',') in every lane (see :func:`_comma_or_end`).
_LANES_44 = np.uint64(0x2C2C2C2C2C2C2C2C)


@njit(**_JIT, inline="always")
def _comma_or_end(a, p, e, n):
    """The first ',' of a[p:e], or ``e`` when it has none: 8 bytes a word while a word is
    within a[:n] (:func:`_load8`), the last ones one at a time. ``x = w ^ 0x2c..2c`` has a
    zero byte where the word ``w`` has a ',', and the lowest marked lane of ``(x - 0x01..01)
    & ~x & 0x80..80`` is its first zero byte (a borrow may mark lanes above it, never one
    below)."""
    while p < e and p + 8 <= n:
        x = _load8(a, p) ^ _LANES_44
        m = (x - _L) & ~x & _LANES_HIGH
        if m != 0:
            return min(p + (np.int64(trailing_zeros(m)) >> 3), e)
        p += 8
    while p < e and a[np.uint64(p)] != 44:
        p += 1
    return min(p, e)


@njit(**_JIT)
def _load8(a, p):
    """The 8 bytes a[p : p + 8] as one little-endian word (byte p in its lowest lane): one
    unaligned load, as the index is unsigned (numba adds no negative-index check, and LLVM
    joins the 8 byte loads into one). The caller keeps p + 8 within ``a``."""
    u = np.uint64(p)
    x = np.uint64(0)
    for q in range(8):
        x |= np.uint64(a[u + np.uint64(q)]) << np.uint64(8 * q)
    return x


@njit(**_JIT)
def _store8(a, p, x):
    """The word ``x`` into the 8 bytes a[p : p + 8] (its lowest lane first): one unaligned
    store (see :func:`_load8`)."""
    u = np.uint64(p)
    for q in range(8):
        a[u + np.uint64(q)] = np.uint8((x >> np.uint64(8 * q)) & np.uint64(255))


@njit(**_JIT)
def _copy(src, s, dst, d, n):
    """src[s : s + n] into dst[d : d + n], 8 bytes at a time (the last few one by one)."""
    q = 0
    while q + 8 <= n:
        _store8(dst, d + q, _load8(src, s + q))
        q += 8
    while q < n:
        dst[d + q] = src[s + q]
        q += 1


@njit(**_JIT)
def _copy_over(src, s, dst, d, n):
    """src[s : s + n] into dst[d : d + n], 8 bytes at a time while a word is within
    ``src``, the rest one by one: unlike :func:`_copy` it may write up to 7 bytes past
    dst[d + n] (``dst`` needs that slack; bytes a next copy overwrites)."""
    q = 0
    while q < n and s + q + 8 <= src.size:
        _store8(dst, d + q, _load8(src, s + q))
        q += 8
    while q < n:
        dst[d + q] = src[s + q]
        q += 1


@njit(**_JIT)
def _same_span(a, p, q, n):
    """Whether the ``n`` bytes from a[p] equal those from a[q] (8 at a time, reading
    nothing past either span)."""
    k = 0
    while k + 8 <= n:
        if _load8(a, p + k) != _load8(a, q + k):
            return False
        k += 8
    while k < n:
        if a[p + k] != a[q + k]:
            return False
        k += 1
    return True


@njit(**_JIT, inline="always")
def _word_at(a64, p):
    """The 8 bytes from byte ``p`` of ``a64``'s bytes as one little-endian word (from the
    one or two whole words holding them: the kernel's words are aligned)."""
    k = p >> 3
    sh = np.uint64((p & 7) * 8)
    if sh == 0:
        return a64[k]
    return (a64[k] >> sh) | (a64[k + 1] << (np.uint64(64) - sh))


#: Powers of ten (a digit run's value shifted by its digits, a fraction scaled to ns).
_POW10 = np.array([10 ** k for k in range(19)], np.int64)
_LANES_48 = np.uint64(0x3030303030303030)
_LANES_70 = np.uint64(0x4646464646464646)  # 128 - 58 in every lane
_LANES_80 = np.uint64(0x5050505050505050)  # 128 - 48 in every lane


@njit(**_JIT, inline="always")
def _eight_digits(d):
    """The value of the decimal digits in the byte lanes of ``d`` (each 0-9, the first
    digit in the lowest lane, the most significant): three multiplies, no loop."""
    d = d * np.uint64(10) + (d >> np.uint64(8))
    d = ((d & np.uint64(0x00FF00FF00FF00FF)) * np.uint64(100 * 65536 + 1)) >> np.uint64(16)
    d = ((d & np.uint64(0x0000FFFF0000FFFF)) * np.uint64(10000 * 4294967296 + 1)) \
        >> np.uint64(32)
    return np.int64(d)


@njit(**_JIT, inline="always")
def _digit_run(a, a64, p, e):
    """The run of decimal digits from a[p] before ``e``: (its value, its digits). The value
    is exact up to 18 digits (past that the caller rejects the run by its length).

    Runs of 8 bytes within a[p:e] are read as one word (:func:`_load8`; ``a64`` is not
    read): its bytes outside '0'-'9' marked lane by lane (as in :func:`_six8`), the digits
    before the first of them converted by :func:`_eight_digits`; the last bytes one at a
    time.
    """
    v = 0
    q = p
    while q + 8 <= e:
        w = _load8(a, q)
        low7 = w & ~_LANES_HIGH
        bad = ((w & _LANES_HIGH) | (~(low7 + _LANES_80) & _LANES_HIGH)  # >= 128, < 48
               | ((low7 + _LANES_70) & _LANES_HIGH))  # >= 58
        k = 8 if bad == 0 else np.int64(trailing_zeros(bad)) >> 3
        if k == 0:
            return v, q - p
        # the k digits (no borrow reaches them: they are the lowest lanes) moved to the
        # highest lanes, zeros (leading zeros of the number) below them
        d = (w - _LANES_48) << np.uint64(8 * (8 - k))
        v = v * _POW10[k] + _eight_digits(d)
        q += k
        if k < 8:
            return v, q - p
    while q < e:
        d = np.int64(a[q]) - 48
        if d < 0 or d > 9:
            break
        v = v * 10 + d
        q += 1
    return v, q - p


@njit(**_JIT, inline="always")
def _uint_run(a, a64, s, e, max_width):
    """:func:`_uint` (digits a[s:e] -> value, or -1) read 8 digits a word by
    :func:`_digit_run`."""
    if e <= s or e - s > max_width:
        return -1
    v, nd = _digit_run(a, a64, s, e)
    return v if nd == e - s else -1


#: :func:`_lead_number_ns`' answer for a column that is not a number (read it otherwise).
_NOT_NUMBER = NAT_NS + 1


@njit(**_JIT, inline="always")
def _lead_number_ns(a, a64, s, e):
    """A leading column from a[s] (``e``: the sentence's start) that is a Unix time
    ``<digits>[.<digits>]`` followed by spaces and then a ``,``, ``|``, ``;``, tab or the
    sentence: its time in ns as :func:`_lead_ns` reads it (NAT_NS when implausible), in
    one pass over its digits, 8 at a time; :data:`_NOT_NUMBER` for any other column."""
    v, nd = _digit_run(a, a64, s, e)
    if nd < 1 or nd > 13:
        return _NOT_NUMBER
    q = s + nd
    frac = 0
    if q < e and a[q] == 46:  # '.': a fraction of a second (or of a millisecond)
        keep = 9 if nd <= 10 else 6  # its digits down to the ns
        f, nf = _digit_run(a, a64, q + 1, e)
        if nf < 1 or nf > keep:
            return _NOT_NUMBER
        q += 1 + nf
        frac = f * _POW10[keep - nf]
    while q < e and a[q] == 32:
        q += 1
    if q < e and a[q] != 44 and a[q] != 124 and a[q] != 59 and a[q] != 9:
        return _NOT_NUMBER
    ns = _unix_ns(v)
    if ns == NAT_NS:
        return ns
    return ns + frac


@njit(**_JIT, inline="always")
def _same_bytes8(a64, p, q, n):
    """Whether the ``n`` bytes from byte ``p`` equal those from byte ``q`` (of ``a64``'s
    bytes), 8 at a time. Reads up to 7 bytes past each span's end: within the words of the
    chunk wherever an AIS sentence start (7 bytes or more) follows the spans."""
    k = 0
    while k + 8 <= n:
        if _word_at(a64, p + k) != _word_at(a64, q + k):
            return False
        k += 8
    if k < n:
        mask = (np.uint64(1) << np.uint64(8 * (n - k))) - np.uint64(1)
        return ((_word_at(a64, p + k) ^ _word_at(a64, q + k)) & mask) == 0
    return True


@njit(**_JIT, inline="always")
def _digest(a, s, e):
    """64-bit key of the source name a[s:e] (FNV-1a; 0 is kept for "no source")."""
    h = np.uint64(14695981039346656037)
    for i in range(s, e):
        h = (h ^ np.uint64(a[i])) * np.uint64(1099511628211)
    h = h ^ np.uint64(e - s)
    return np.int64(h | np.uint64(1))


@njit(**_JIT, inline="always")
def _code(a, s, e, keys, codes, first, length, slots, n_names):
    """Code (1, 2, ... in order of first appearance) of the source name a[s:e]: (code, names).

    ``keys``/``codes`` are an open-addressing table of name digests; ``first``/``length``
    the span of each code's first appearance, ``slots`` its slot in the table (to empty it
    after the chunk). An empty name is code 0 (no source).
    """
    if e - s > MAX_SOURCE_BYTES:
        e = s + MAX_SOURCE_BYTES
    if e <= s:
        return 0, n_names
    h = _digest(a, s, e)
    mask = keys.size - 1
    k = h & mask
    while True:
        if keys[k] == 0:
            keys[k] = h
            n_names += 1
            codes[k] = n_names
            first[n_names] = s
            length[n_names] = e - s
            slots[n_names] = k
            return n_names, n_names
        if keys[k] == h:
            return codes[k], n_names
        k = (k + 1) & mask


@njit(**_JIT)
def _field(w0, w1, w2, start, width):
    """Bits start .. start + width - 1 (MSB first) of 24 six-bit values packed in 3 x 48 bits."""
    k = start // 48
    off = start % 48
    w = w0 if k == 0 else (w1 if k == 1 else w2)
    if off + width <= 48:
        return (w >> np.uint64(48 - off - width)) & np.uint64((1 << width) - 1)
    high_bits = 48 - off
    low_bits = width - high_bits
    nxt = w1 if k == 0 else w2
    high = w & np.uint64((1 << high_bits) - 1)
    return (high << np.uint64(low_bits)) | (nxt >> np.uint64(48 - low_bits))


@njit(**_JIT)
def _signed(v, width):
    v = np.int64(v)
    if v >= (1 << (width - 1)):
        v -= 1 << width
    return v


@njit(**_JIT)
def _six_word(x):
    """Eight armoured characters in the byte lanes of ``x`` (the first in the lowest) as 48
    bits (MSB first), and whether all are valid: all eight handled at once (SWAR), no
    branch per character. A character c is valid when 48 <= c < 88 or 96 <= c < 120; its
    value is c - 48, less 8 from c = 96 on."""
    hi = _L * np.uint64(128)
    # lane-wise tests, each lane's answer in its high bit (no carry crosses lanes: the
    # high bit of every lane is tested on its own first)
    big = x & hi  # c >= 128
    low7 = x & ~hi
    lt48 = ~(low7 + _L * np.uint64(128 - 48)) & hi  # c < 48
    ge120 = (low7 + _L * np.uint64(128 - 120)) & hi  # c >= 120
    ge88 = (low7 + _L * np.uint64(128 - 88)) & hi  # c >= 88
    ge96 = (low7 + _L * np.uint64(128 - 96)) & hi  # c >= 96
    bad = big | lt48 | ge120 | (ge88 & ~ge96)
    # values: c - 48 (no borrow: every valid c >= 48), less 8 where c >= 96
    d = x - _L * np.uint64(48) - ((ge96 >> np.uint64(7)) * np.uint64(8))
    d &= _L * np.uint64(63)
    # pack: lanes (d0 d1 ... d7, d0 lowest) -> d0 d1 ... d7 MSB first in 48 bits
    m8 = np.uint64(0x00FF00FF00FF00FF)
    d = ((d & m8) << np.uint64(6)) | ((d >> np.uint64(8)) & m8)
    m16 = np.uint64(0x0000FFFF0000FFFF)
    d = ((d & m16) << np.uint64(12)) | ((d >> np.uint64(16)) & m16)
    d = ((d & np.uint64(0xFFFFFFFF)) << np.uint64(24)) | (d >> np.uint64(32))
    return d, bad == 0


@njit(**_JIT)
def _six8(a, p):
    """Eight armoured characters a[p : p + 8] as 48 bits (MSB first), and whether all are
    valid (see :func:`_six_word`)."""
    return _six_word(_load8(a, p))


@njit(**_JIT)
def _six_part(a, p, k):
    """The first ``k`` (any number) of 8 armoured characters a[p : p + 8] as 48 bits (MSB
    first, zeros for the missing), or -1 when one is invalid: the 8 as one word when all
    are there, else one at a time."""
    if k >= 8:
        d, ok = _six8(a, p)
        return np.int64(d) if ok else -1
    acc = 0
    for q in range(8):
        v = 0
        if q < k:
            v = _sixbit(a[p + q])
            if v == 255:
                return -1
        acc = (acc << 6) | v
    return acc


@njit(**_JIT, inline="always")
def _ab_fields(w0, w1, w2, b):
    """Speed, longitude, latitude, course and heading (raw) of a class A (``b`` 0) or class B
    (``b`` 4) position report."""
    return (np.int64(_field(w0, w1, w2, 50 - b, 10)),
            _signed(_field(w0, w1, w2, 61 - b, 28), 28),
            _signed(_field(w0, w1, w2, 89 - b, 27), 27),
            np.int64(_field(w0, w1, w2, 116 - b, 12)),
            np.int64(_field(w0, w1, w2, 128 - b, 9)))


@njit(**_JIT, inline="always")
def _decode_position(a, p0, n_chars, fill, mt, required):
    """Decode the position report of type ``mt`` in payload a[p0 : p0 + n_chars].

    Returns (status, mmsi, lat, lon, sog_kn, cog_deg, heading_deg, nav_status); status 0 when
    decoded, else the counter of its skip reason (bad_payload_char, short_payload,
    invalid_mmsi, out_of_range_position). Fields follow ITU-R M.1371-5 Annex 8; "not
    available" values are NaN (nav_status 15 for class B, which carries none).
    """
    nan = np.nan
    # the first 24 characters (144 bits, every field read) as three 48-bit words
    if n_chars >= 24:  # (nearly always: the branch-free path)
        w0, ok0 = _six8(a, p0)
        w1, ok1 = _six8(a, p0 + 8)
        w2, ok2 = _six8(a, p0 + 16)
        if not (ok0 and ok1 and ok2):
            return 7, 0, nan, nan, nan, nan, nan, 0
    else:  # (type 27: 16 characters) whole words of 8 as above, a last part one by one
        x0 = _six_part(a, p0, n_chars)
        x1 = _six_part(a, p0 + 8, n_chars - 8)
        x2 = _six_part(a, p0 + 16, n_chars - 16)
        if x0 < 0 or x1 < 0 or x2 < 0:
            return 7, 0, nan, nan, nan, nan, nan, 0
        w0 = np.uint64(x0)
        w1 = np.uint64(x1)
        w2 = np.uint64(x2)
    if n_chars * 6 - fill < required[mt]:
        return 9, 0, nan, nan, nan, nan, nan, 0
    mmsi = np.int64(_field(w0, w1, w2, 8, 30))
    if mmsi < 1 or mmsi > 999_999_999:
        return 10, 0, nan, nan, nan, nan, nan, 0
    if mt == 27:
        nav = np.int64(_field(w0, w1, w2, 40, 4))
        lon_raw = _signed(_field(w0, w1, w2, 44, 18), 18)
        lat_raw = _signed(_field(w0, w1, w2, 62, 17), 17)
        scale = 600.0
        lat_na = 91 * 600
        lon_na = 181 * 600
        sog_raw = np.int64(_field(w0, w1, w2, 79, 6))
        cog_raw = np.int64(_field(w0, w1, w2, 85, 9))
        sog = nan if sog_raw == 63 else float(sog_raw)
        cog = nan if cog_raw >= 360 else float(cog_raw)
        hdg = nan
    else:
        # class B fields sit 4 bits earlier (two calls with a constant offset each: the
        # compiler resolves every field's word and shifts)
        if mt == 18 or mt == 19:
            nav = 15
            sog_raw, lon_raw, lat_raw, cog_raw, hdg_raw = _ab_fields(w0, w1, w2, 4)
        else:
            nav = np.int64(_field(w0, w1, w2, 38, 4))
            sog_raw, lon_raw, lat_raw, cog_raw, hdg_raw = _ab_fields(w0, w1, w2, 0)
        scale = 600_000.0
        lat_na = 91 * 600_000
        lon_na = 181 * 600_000
        sog = nan if sog_raw == 1023 else sog_raw / 10.0
        cog = nan if cog_raw >= 3600 else cog_raw / 10.0
        hdg = nan if hdg_raw >= 360 else float(hdg_raw)
    lat = lat_raw / scale
    lon = lon_raw / scale
    if (abs(lat) > 90 and lat_raw != lat_na) or (abs(lon) > 180 and lon_raw != lon_na):
        return 11, 0, nan, nan, nan, nan, nan, 0
    if lat_raw == lat_na:
        lat = nan
    if lon_raw == lon_na:
        lon = nan
    return 0, mmsi, lat, lon, sog, cog, hdg, nav


@njit(cache=True, nogil=True)
def _decode_payloads(buf, start, n_chars, fill, msg_type, required):
    n = start.size
    status = np.zeros(n, np.int64)
    mmsi = np.zeros(n, np.int64)
    out = np.empty((6, n), np.float64)
    nav = np.zeros(n, np.int8)
    for i in range(n):
        (st, mm, lat, lon, sog, cog, hdg, nv) = _decode_position(
            buf, start[i], n_chars[i], fill[i], msg_type[i], required)
        status[i] = st
        mmsi[i] = mm
        out[0, i] = lat
        out[1, i] = lon
        out[2, i] = sog
        out[3, i] = cog
        out[4, i] = hdg
        nav[i] = nv
    return status, mmsi, out, nav


def decode_payloads(buf: np.ndarray, start: np.ndarray, n_chars: np.ndarray,
                    fill: np.ndarray, msg_type: np.ndarray) -> dict:
    """Decode position reports from armoured payloads ``buf[start : start + n_chars]``.

    The kernel's own decoder, for payloads assembled from fragments. Returns a dict of
    columns ``mmsi``, ``lat``, ``lon``, ``sog_kn``, ``cog_deg``, ``heading_deg``,
    ``nav_status`` and ``status`` (0 decoded, else the index in :data:`COUNT_NAMES` of the
    skip reason).
    """
    status, mmsi, out, nav = _decode_payloads(
        np.ascontiguousarray(buf, dtype=np.uint8), np.asarray(start, np.int64),
        np.asarray(n_chars, np.int64), np.asarray(fill, np.int64),
        np.asarray(msg_type, np.int64), _REQUIRED)
    return {"status": status, "mmsi": mmsi, "lat": out[0], "lon": out[1], "sog_kn": out[2],
            "cog_deg": out[3], "heading_deg": out[4], "nav_status": nav}


# --------------------------------------------------------------------------- static messages
# Minimum payload bits of a static message, below which it is skipped as ``short_payload``:
# :data:`stsdetect.ais.statics.STATICS_MIN_BITS` (as compile-time constants of the kernel).
_MIN_BITS_5, _MIN_BITS_19, _MIN_BITS_24 = (STATICS_MIN_BITS[t] for t in (5, 19, 24))
#: Bytes of the text slots of a static row (``callsign`` at 0, ``name`` at 8,
#: ``destination`` at 32; 6-bit characters as ASCII, '@' as a space, padded with spaces).
TEXT_SLOTS = {"callsign": (0, 7), "name": (8, 20), "destination": (32, 20)}
TEXT_BYTES = 56
# Ship type code -> the code pyais reports for types 5 and 19 (ITU-R M.1371-5 table 53):
# reserved codes 1-19 and 38-39 read as 0 (not available), the other reserved codes of a
# category as its first reserved one, codes past 99 as 0. Type 24 part B: as sent.
_SHIP_TYPE_5_19 = np.arange(256, dtype=np.int64)
_SHIP_TYPE_5_19[[*range(1, 20), 38, 39, *range(100, 256)]] = 0
for _first, _last in ((25, 28), (45, 48), (56, 57), (65, 68), (75, 78), (85, 88), (95, 98)):
    _SHIP_TYPE_5_19[_first:_last + 1] = _first
# Auxiliary craft (MMSI 98XXXYYYY, ITU-R M.585) send their mother ship's MMSI in place of the
# dimensions of type 24 part B; pyais decodes no dimensions for them, nor do we.
_AUX_LO, _AUX_HI = 980_000_000, 989_999_999


#: Words of a static payload packed by :func:`_pack` (its first 80 characters, 8 to a word,
#: and a last word left zero: a 48-bit window may read the word after any field's).
_PACK_WORDS = 11


@njit(**_JIT)
def _pack(a, p0, n_chars, w):
    """The payload's first 80 characters as 6-bit values, 8 to a 48-bit word of ``w`` (MSB
    first; :data:`_PACK_WORDS` words, zero past the payload); False when a character of the
    payload is outside the armouring alphabet. Each group of 8 characters is read by
    :func:`_six_part` (a whole group as one word, the last few one at a time)."""
    for k in range(_PACK_WORDS):
        w[k] = 0
    for q in range(0, n_chars, 8):
        x = _six_part(a, p0 + q, n_chars - q)
        if x < 0:
            return False
        if q < 80:
            w[q >> 3] = np.uint64(x)
    return True


@njit(**_JIT)
def _bits(w, nbits, start, width):
    """Unsigned field of ``width`` bits (at most 48) at bit ``start`` of a payload packed by
    :func:`_pack` (MSB first, 48 bits to a word). Like pyais, a field cut by the payload's
    end (``nbits``) is the value of the bits present (not shifted up), and 0 when none is."""
    end = start + width
    if end > nbits:
        end = nbits
    present = end - start
    if present <= 0:
        return 0
    k = start // 48
    off = start - 48 * k
    if off + present <= 48:
        v = (w[k] >> np.uint64(48 - off - present)) & np.uint64((1 << present) - 1)
    else:
        hi = 48 - off
        lo = present - hi
        v = ((w[k] & np.uint64((1 << hi) - 1)) << np.uint64(lo)) | (w[k + 1] >> np.uint64(48 - lo))
    return np.int64(v)


#: A byte of 63 in every lane, and 63 in the low 6 bits of every 16-bit lane.
_LANES_63 = np.uint64(0x3F3F3F3F3F3F3F3F)
_LANES16_63 = np.uint64(0x003F003F003F003F)


@njit(**_JIT)
def _text(w, nbits, start, n, txt, row, slot):
    """``n`` 6-bit characters at bit ``start`` as ASCII into txt[row, slot:slot + n] ('@'
    (0) as a space): 8 at a time from a 48-bit window of the packed words ``w`` (spread to
    one per byte lane and mapped lane by lane), a character cut by the payload's end from
    :func:`_bits` (the value of its bits present)."""
    k = 0
    while k < n:
        b = start + 6 * k
        m = min(8, n - k)
        if b + 6 * m > nbits:  # cut by the payload's end: one at a time
            for j in range(m):
                v = _bits(w, nbits, b + 6 * j, 6)
                txt[row, slot + k + j] = 32 if v == 0 else (v + 64 if v < 32 else v)
            k += m
            continue
        i = b // 48
        off = np.uint64(b - 48 * i)
        x = ((w[i] << off) | (w[i + 1] >> (np.uint64(48) - off))) & np.uint64(0xFFFFFFFFFFFF)
        # 8 fields of 6 bits (the first highest) -> byte lanes (the first lowest)
        x = (x >> np.uint64(24)) | ((x & np.uint64(0xFFFFFF)) << np.uint64(32))
        x = (((x >> np.uint64(12)) & np.uint64(0x00000FFF00000FFF))
             | ((x & np.uint64(0x00000FFF00000FFF)) << np.uint64(16)))
        x = ((x >> np.uint64(6)) & _LANES16_63) | ((x & _LANES16_63) << np.uint64(8))
        # v < 32: v + 64; then v == 0 (now 64): 32
        lt32 = ~(x + _L * np.uint64(128 - 32)) & (_L * np.uint64(128))
        zero = ~(x + _L * np.uint64(127)) & (_L * np.uint64(128))
        x = x + (lt32 >> np.uint64(1)) - (zero >> np.uint64(2))
        for j in range(m):
            txt[row, slot + k + j] = np.uint8((x >> np.uint64(8 * j)) & np.uint64(255))
        k += m


@njit(**_JIT)
def _positive_or_nan(v):
    return float(v) if v > 0 else np.nan


@njit(**_JIT)
def _decode_static(a, p0, n_chars, fill, mt, ship_types, s_f64, txt, row, check_mmsi, w):
    """Decode the static message of type ``mt`` (5, 19 or 24) in payload a[p0 : p0 + n_chars].

    Writes ``imo``, ``ship_type``, ``length_m``, ``beam_m``, ``draught_m`` into
    ``s_f64[:, row]`` (NaN when absent) and its texts into ``txt[row]`` (see
    :data:`TEXT_SLOTS`); returns (reason, mmsi), reason 0 when decoded or else the counter of
    its skip reason, checked in this order: short_payload, undecodable_payload (a byte
    outside the armouring alphabet, or negative fill bits), invalid_type24_part (type 24 part
    2 or 3), invalid_mmsi (only when ``check_mmsi``). ``w``: :data:`_PACK_WORDS` words of
    scratch. Field layouts: ITU-R M.1371-5 tables 52 (type 5), 49 (type 19), 76 (type 24
    parts A and B); text: table 47.
    """
    nbits = 6 * n_chars - fill
    min_bits = _MIN_BITS_5 if mt == 5 else (_MIN_BITS_19 if mt == 19 else _MIN_BITS_24)
    if nbits < min_bits:
        return 9, 0
    if fill < 0:
        return 12, 0
    if not _pack(a, p0, n_chars, w):
        return 12, 0
    part = 0
    if mt == 24:
        part = (_sixbit(a[p0 + 6]) >> 2) & 3
        if part > 1:
            return 13, 0
    mmsi = _bits(w, nbits, 8, 30)
    if check_mmsi and (mmsi < 1 or mmsi > 999_999_999):
        return 10, 0
    nan = np.nan
    for k in range(txt.shape[1]):
        txt[row, k] = 32
    imo = nan
    ship_type = nan
    length = nan
    beam = nan
    draught = nan
    dims = -1
    if mt == 5:
        v = _bits(w, nbits, 40, 30)
        imo = float(v) if 0 < v < 1_000_000_000 else nan
        _text(w, nbits, 70, 7, txt, row, 0)
        _text(w, nbits, 112, 20, txt, row, 8)
        _text(w, nbits, 302, 20, txt, row, 32)
        st = ship_types[_bits(w, nbits, 232, 8)]
        dims = 240
        draught = _positive_or_nan(_bits(w, nbits, 294, 8) / 10.0)
    elif mt == 19:
        _text(w, nbits, 143, 20, txt, row, 8)
        st = ship_types[_bits(w, nbits, 263, 8)]
        dims = 271
    elif part == 0:
        st = 0
        _text(w, nbits, 40, 20, txt, row, 8)
    else:
        st = _bits(w, nbits, 40, 8)
        _text(w, nbits, 90, 7, txt, row, 0)
        if not (_AUX_LO <= mmsi <= _AUX_HI):
            dims = 132
    if 0 < st < 100:
        ship_type = float(st)
    if dims >= 0:
        length = _positive_or_nan(_bits(w, nbits, dims, 9)
                                  + _bits(w, nbits, dims + 9, 9))
        beam = _positive_or_nan(_bits(w, nbits, dims + 18, 6)
                                + _bits(w, nbits, dims + 24, 6))
    s_f64[0, row] = imo
    s_f64[1, row] = ship_type
    s_f64[2, row] = length
    s_f64[3, row] = beam
    s_f64[4, row] = draught
    return 0, mmsi


@njit(cache=True, nogil=True)
def _decode_statics(buf, start, n_chars, fill, msg_type, ship_types):
    n = start.size
    reason = np.zeros(n, np.int64)
    mmsi = np.zeros(n, np.int64)
    s_f64 = np.full((5, n), np.nan)
    txt = np.full((n, TEXT_BYTES), 32, np.uint8)
    w = np.zeros(_PACK_WORDS, np.uint64)
    for i in range(n):
        reason[i], mmsi[i] = _decode_static(buf, start[i], n_chars[i], fill[i], msg_type[i],
                                            ship_types, s_f64, txt, i, False, w)
    return reason, mmsi, s_f64, txt


@njit(**_JIT, inline="always")
def _emit(buf, p0, n_chars, fill, t_ns, src, rec, required, kind, ship_types, counts, decoded,
          p_i64, p_f64, p_i8, s_i64, s_f64, txt, n_out, w):
    """A whole message (one sentence, or fragments joined) in buf[p0 : p0 + n_chars]: decode
    it into a position row (``p_*``) or a static row (``s_*``, ``txt``), count it.

    Types 19 give both (the static row not counted: its record is the position's); other
    types 1-27 are counted as decoded without field decoding.
    """
    mt = _sixbit(buf[p0])
    if mt == 255 or mt == 0 or mt > 27:
        counts[8] += 1  # unsupported_type
        return
    k = kind[mt]
    if k == 1:
        (status, mmsi, lat, lon, sog, cog, hdg, nav) = _decode_position(
            buf, p0, n_chars, fill, mt, required)
        if status:
            counts[status] += 1
            return
        decoded[mt] += 1
        i = n_out[0]
        p_i64[0, i] = mmsi
        p_i64[1, i] = t_ns
        p_i64[2, i] = rec
        p_i64[3, i] = src
        p_f64[0, i] = lat
        p_f64[1, i] = lon
        p_f64[2, i] = sog
        p_f64[3, i] = cog
        p_f64[4, i] = hdg
        p_i8[0, i] = nav
        p_i8[1, i] = mt
        n_out[0] = i + 1
        if mt != 19:
            return
    elif k != 2:
        decoded[mt] += 1  # validated, not decoded further
        return
    j = n_out[1]
    reason, mmsi = _decode_static(buf, p0, n_chars, fill, mt, ship_types, s_f64, txt, j,
                                  True, w)
    if mt != 19:  # a record of its own: counted
        if reason:
            counts[reason] += 1
            return
        decoded[mt] += 1
    elif reason:
        return
    s_i64[0, j] = rec
    s_i64[1, j] = t_ns
    s_i64[2, j] = src
    s_i64[3, j] = mmsi
    s_i64[4, j] = mt
    n_out[1] = j + 1



@njit(**_JIT, inline="always")
def _ends_held_pair(pend, r, n_frags, frag, talker, channel, seq, gid):
    """Whether a fragment (record ``r``, its fragment count and number, talker, channel,
    sequential id and tag-block group) is the fragment 2 of 2, on the next record, of the
    fragment 1 held in ``pend`` (a fragment row; ``pend[0]`` -1: none). :func:`_kernel`
    joins such a pair within a chunk and :func:`_assemble` across a chunk's end, by this one
    rule, so that the rows do not depend on where chunks are cut."""
    return (pend[0] >= 0 and n_frags == 2 and frag == 2 and r == pend[0] + 1
            and talker == pend[1] and channel == pend[5] and seq == pend[4]
            and gid == pend[11])


@njit(**_JIT, inline="always")
def _emit_pair(scratch, n_chars, fill, t_ns, src, r, pend, required, kind, ship_types,
               counts, decoded, p_i64, p_f64, p_i8, s_i64, s_f64, txt, n_out, w):
    """:func:`_emit` of a pair (:func:`_ends_held_pair`) joined in ``scratch[:n_chars]``:
    the fill bits and record of its fragment 2, the time and source of its fragment 1
    (``pend``) when known, else those of its fragment 2; counted as joined."""
    counts[14] += 1  # multipart_joined
    _emit(scratch, 0, n_chars, fill, pend[9] if pend[9] != NAT_NS else t_ns,
          pend[10] if pend[10] != 0 else src, r, required, kind, ship_types, counts, decoded,
          p_i64, p_f64, p_i8, s_i64, s_f64, txt, n_out, w)


@njit(**_JIT)
def _kernel(a, a64, n, continued, required, kind, ship_types, p_i64, p_f64, p_i8, s_i64,
            s_f64, txt, f_lo, f_hi, extra, keys, codes, first, length, slots, scratch, counts,
            decoded, n_out, pend, cur, w, commas):
    # rows are written into the caller's workspace (reused chunk after chunk: no fresh pages);
    # n_out: position rows, static rows, fragment rows; pend: a fragment 1 of 2 waiting for
    # its fragment 2; w: a static payload's bits; commas: a sentence's or $PGHP's commas
    counts[:] = 0
    decoded[:] = 0
    n_out[:] = 0
    pend[:] = -1
    n_extra = 0
    n_names = 0
    # a $PGHP line waiting for the next AIS sentence
    pg_pending = False
    pg_time = NAT_NS
    pg_src = 0
    n_sentence_starts = 0
    n_sentence_records = 0
    pg_ymd = -1  # the date of the last $PGHP time read, and its day's start (ns)
    pg_day = NAT_NS
    # the last tag block read without a g: field (its start and length) and what it gave
    tc_s = 0
    tc_len = -1
    tc_t = NAT_NS
    tc_src = 0
    tc_bad = 0
    # ... where its first c: value starts and ends, and where the bytes that may differ
    # with the c: value (its checksum digits) start (offsets into the block; tc_cvs -1:
    # no c:)
    tc_cvs = -1
    tc_cve = -1
    tc_sum = -1
    # the last N-AIS station name coded (its start, length and code)
    st_s = 0
    st_len = -1
    st_code = 0
    rec = 0
    line = 0
    i = 0
    while i < n:
        ls = i
        # up to the line's first AIS sentence start, or its end
        if a[i] == 35:  # '#': a comment (its own copy of the scan, for text)
            j, at_start, cand = _line_scan(a, a64, i, n, True)
        else:
            j, at_start, cand = _line_scan(a, a64, i, n, False)
        cont = continued and line == 0
        line += 1
        if (ls + 3 <= n and a[ls] == 0xEF and a[ls + 1] == 0xBB and a[ls + 2] == 0xBF):
            ls += 3  # UTF-8 byte order mark (no line end: the line has these 3 bytes)
        if not at_start:  # ---- a line without AIS sentences ----
            le = j
            if le < n and a[le] == 13 and le + 1 < n and a[le + 1] == 10:
                i = le + 2
            else:
                i = le + 1
            if cont:
                continue  # the rest of a line already counted
            rec += 1
            if cand < 0:
                if le == ls or a[ls] == 35:
                    counts[0] += 1  # comment_or_blank
                elif a[ls] == 92 and a[le - 1] == 92:
                    counts[1] += 1  # a tag block on a line of its own
                else:
                    counts[3] += 1
                continue
            if (cand + 4 < le and a[cand] == 36 and a[cand + 1] == 80 and a[cand + 2] == 71
                    and a[cand + 3] == 72 and a[cand + 4] == 80):
                counts[1] += 1  # $PGHP: time and source for the next AIS sentence
                pg_pending = True
                pg_time = NAT_NS
                pg_src = 0
                k = 0
                p = cand
                while p < le and k < 12:
                    if a[p] == 44:
                        commas[k] = p
                        k += 1
                    p += 1
                if k < 12:
                    counts[20] += 1
                    continue
                y = _uint(a, commas[1] + 1, commas[2], 4)
                mo = _uint(a, commas[2] + 1, commas[3], 2)
                d = _uint(a, commas[3] + 1, commas[4], 2)
                h = _uint(a, commas[4] + 1, commas[5], 2)
                mi = _uint(a, commas[5] + 1, commas[6], 2)
                sec = _uint(a, commas[6] + 1, commas[7], 2)
                ms = _uint(a, commas[7] + 1, commas[8], 4)
                if (min(y, mo, d, h, mi, sec, ms) >= 0 and ms <= 999 and h <= 23 and mi <= 59
                        and sec <= 59):
                    # consecutive lines nearly always share their date: its day's start is
                    # kept (any date; NAT_NS when invalid)
                    ymd = (y * 100 + mo) * 100 + d
                    if ymd != pg_ymd:
                        pg_ymd = ymd
                        pg_day = _civil_ns(y, mo, d, 0, 0, 0, 0)
                    if pg_day != NAT_NS:
                        pg_time = pg_day + ((h * 3600 + mi * 60 + sec) * 1_000_000_000
                                            + ms * 1_000_000)
                if pg_time == NAT_NS:
                    counts[20] += 1
                code, n_names = _code(a, commas[10] + 1, commas[11], keys, codes, first,
                                      length, slots, n_names)
                pg_src = code
                continue
            # an NMEA address: 5 (or 4, proprietary '$Pxxx') upper-case letters / digits
            like = True
            for k in range(1, 5):
                c = a[cand + k] if cand + k < n else 0
                like = like and ((65 <= c <= 90) or (48 <= c <= 57) or c == 45)
            c5 = a[cand + 5] if cand + 5 < n else 0
            c6 = a[cand + 6] if cand + 6 < n else 0
            like = like and (c5 == 44 or (((65 <= c5 <= 90) or (48 <= c5 <= 57))
                                          and (c6 == 44 or c6 == 42)))
            counts[2 if like else 3] += 1
            continue
        # ---- one record per AIS sentence (the first at j) ----
        s_first = j
        n_sentence_starts += 1
        le = n  # (the line's end: known once its last sentence is read)
        sv = s_first
        rs = ls
        if cont:  # the rest of a cut line: its first record starts at the sentence ...
            rs = sv
            if sv > ls and a[sv - 1] == 92:  # ... or at the sentence's tag block
                q = sv - 2
                while q >= ls and a[q] != 92:
                    q -= 1
                if q >= ls:
                    rs = q
        first_of_line = not cont
        while sv >= 0:
            if not first_of_line:
                extra[n_extra] = rec
                n_extra += 1
            first_of_line = False
            r = rec
            rec += 1
            n_sentence_records += 1
            # PGHP applies to this sentence, whatever becomes of it
            use_pg = pg_pending
            pg_pending = False
            # ---- structure: 6 commas, then '*hh' (one pass: the checksum, the commas, and
            # where the next sentence starts on this line) ----
            star, nxt, nc, x, stop = _sentence_scan(a, a64, sv, n, commas)
            if star >= 0:  # the rest of the line from the '*': the next start, or its end
                stop, at_start, _c = _line_scan(a, a64, star + 1, n, False)
                if at_start:
                    nxt = stop
            if nxt >= 0:
                n_sentence_starts += 1
            else:
                le = stop
            re_ = le
            nxt_rs = -1
            if nxt >= 0:
                nxt_rs = nxt
                if a[nxt - 1] == 92:  # a tag block before it: the record starts there
                    q = nxt - 2
                    while q > sv and a[q] != 92:
                        q -= 1
                    if q > sv:
                        nxt_rs = q
                re_ = nxt_rs
            if star >= re_:  # the '*' of the next record's tag block: none of its own
                star = -1
            ok = (star >= 0 and nc == 6 and star + 3 <= re_ and _hex(a[star + 1]) < 16
                  and _hex(a[star + 2]) < 16)
            if not ok:
                counts[4] += 1
                sv = nxt
                rs = nxt_rs
                continue
            if x != _hex(a[star + 1]) * 16 + _hex(a[star + 2]):
                counts[5] += 1
                sv = nxt
                rs = nxt_rs
                continue
            c0, c1, c2, c3, c4, c5 = (commas[0], commas[1], commas[2], commas[3], commas[4],
                                      commas[5])
            n_frags = np.int64(a[c0 + 1]) - 48
            frag = np.int64(a[c1 + 1]) - 48
            seq_len = c3 - c2 - 1
            seq = np.int64(a[c2 + 1]) - 48 if seq_len == 1 else -1
            chan_len = c4 - c3 - 1
            channel = np.int64(a[c3 + 1]) if chan_len == 1 else 0
            fill = np.int64(a[c5 + 1]) - 48
            if not (c1 == c0 + 2 and c2 == c1 + 2 and 1 <= n_frags <= 9 and 1 <= frag <= n_frags
                    and seq_len <= 1 and (seq_len == 0 or 0 <= seq <= 9) and chan_len <= 1
                    and c5 + 1 < star and 0 <= fill <= 5):
                counts[4] += 1
                sv = nxt
                rs = nxt_rs
                continue
            p0 = c4 + 1
            n_chars = c5 - p0
            if n_chars <= 0:
                counts[6] += 1
                sv = nxt
                rs = nxt_rs
                continue
            if n_chars > MAX_PAYLOAD_CHARS:
                counts[4] += 1
                sv = nxt
                rs = nxt_rs
                continue
            mt = _sixbit(a[p0])
            is_pos = mt < 64 and kind[mt] == 1 and n_frags == 1
            if mt == 255:
                counts[7] += 1
                sv = nxt
                rs = nxt_rs
                continue
            if not is_pos:  # (a position report's characters are checked as it is decoded)
                bad = False
                p = p0
                while p + 8 <= c5:  # 8 characters at a time
                    if not _six8(a, p)[1]:
                        bad = True
                        break
                    p += 8
                while not bad and p < c5:
                    bad = _sixbit(a[p]) == 255
                    p += 1
                if bad:
                    counts[7] += 1
                    sv = nxt
                    rs = nxt_rs
                    continue
            if n_frags == 1 and (mt == 0 or mt > 27):
                counts[8] += 1
                sv = nxt
                rs = nxt_rs
                continue
            # ---- time and source ----
            t_ns = NAT_NS
            src = 0
            gid = -1
            gtot = 0
            has_tag = a[rs] == 92 and sv - rs >= 2 and a[sv - 1] == 92
            read_tag = has_tag
            if has_tag and sv - rs == tc_len:
                # the same tag block as the last one read without a g: field (a feed
                # repeats its block line after line until the second changes): its
                # results again, without reading its fields
                if tc_cvs < 0:
                    if _same_bytes8(a64, rs + 1, tc_s + 1, tc_len - 2):
                        t_ns = tc_t
                        src = tc_src
                        counts[20] += tc_bad
                        read_tag = False
                elif (_same_bytes8(a64, rs + 1, tc_s + 1, tc_cvs - 1)
                      and _same_bytes8(a64, rs + tc_cve, tc_s + tc_cve, tc_sum - tc_cve)):
                    # ... or it with another c: value (the clock's second changed) and
                    # checksum: when its value is all digits (its fields then the same but
                    # c:) and no field starts in the new checksum, only c: is read
                    v = _uint_run(a, a64, rs + tc_cvs, rs + tc_cve, 13)
                    q = rs + tc_sum
                    while q < sv - 1 and a[q] != 44 and a[q] != 92:
                        q += 1
                    if v >= 0 and q == sv - 1:
                        t_ns = _tag_time_ns(v)  # (a time: v >= 0)
                        src = tc_src
                        read_tag = False
                        tc_s = rs
                        tc_t = t_ns
                        tc_bad = 0
            if read_tag:
                tag_end = sv - 1
                bad_c = 0
                c_vs = 0
                c_ve = 0
                seen_c = False
                seen_s = False
                seen_g = False
                k = rs  # fields start after the block's '\\', a ',' or a '\\' inside it
                while True:
                    k += 1
                    while k < tag_end - 1 and a[k - 1] != 44 and a[k - 1] != 92:
                        k += 1
                    if k >= tag_end - 1:
                        break
                    if a[k + 1] != 58:
                        continue
                    key = a[k]
                    vs = k + 2
                    ve = vs
                    while ve < tag_end and a[ve] != 44 and a[ve] != 42 and a[ve] != 92:
                        ve += 1
                    if key == 99 and not seen_c:  # c:
                        seen_c = True
                        v = _uint_run(a, a64, vs, ve, 13)
                        # any number is a time (Unix s, or ms from 11 digits on): one too
                        # short or too long is an implausible time, not a missing one
                        t_ns = _tag_time_ns(v)
                        if t_ns == NAT_NS:
                            counts[20] += 1
                            bad_c = 1
                        c_vs = vs
                        c_ve = ve
                        k = ve  # (the next field starts after its value)
                    elif key == 115 and not seen_s:  # s:
                        seen_s = True
                        src, n_names = _code(a, vs, ve, keys, codes, first, length, slots, n_names)
                        k = ve
                    elif key == 103 and not seen_g:  # g:
                        seen_g = True
                        k = ve
                        if n_frags > 1:
                            d1 = -1
                            d2 = -1
                            for q in range(vs, ve):
                                if a[q] == 45:
                                    if d1 < 0:
                                        d1 = q
                                    else:
                                        d2 = q
                                        break
                            if d2 > 0:
                                tot = _uint(a, d1 + 1, d2, 2)
                                g = _uint(a, d2 + 1, ve, 12)
                                if tot >= 0 and g >= 0:
                                    gid = g
                                    gtot = tot
                if not seen_g:  # (a block with a g: field changes from record to record)
                    tc_s = rs
                    tc_len = sv - rs
                    tc_t = t_ns
                    tc_src = src
                    tc_bad = bad_c
                    tc_cvs = -1
                    if seen_c:
                        # the checksum digits: after the first '*' from the c: value on,
                        # unless a field could start after it (then every byte counts)
                        tc_cvs = c_vs - rs
                        tc_cve = c_ve - rs
                        tc_sum = tc_len - 1
                        q = c_ve
                        while q < tag_end and a[q] != 42:
                            q += 1
                        if q < tag_end:
                            q2 = q + 1
                            while q2 < tag_end and a[q2] != 44 and a[q2] != 92:
                                q2 += 1
                            if q2 == tag_end:
                                tc_sum = q + 1 - rs
            if use_pg:
                if t_ns == NAT_NS:
                    t_ns = pg_time
                if src == 0:
                    src = pg_src
            # columns after '*hh'
            if re_ > star + 3 and (a[star + 3] == 44 or a[star + 3] == 59):
                if a[star + 3] == 59:  # ';<ISO time>', up to a ',' or the record's end
                    fe = star + 4
                    while fe < re_ and a[fe] != 44:
                        fe += 1
                    if t_ns == NAT_NS:
                        t_ns = _iso_ns(a, star + 4, fe)
                else:
                    fs = star + 4
                    found_t = t_ns != NAT_NS
                    found_s = src != 0
                    for _col in range(_MAX_TRAILING_COLUMNS):
                        fe = _comma_or_end(a, fs, re_, n)
                        ve = fe  # (a space may end the last column, before a next sentence)
                        while ve > fs and (a[np.uint64(ve - 1)] == 32
                                             or a[np.uint64(ve - 1)] == 9):
                            ve -= 1
                        flen = ve - fs
                        if not found_t and (flen == 10 or flen == 13):
                            v, nd = _digit_run(a, a64, fs, ve)
                            if nd == flen:
                                tv = _unix_ns(v)
                                if tv != NAT_NS:
                                    t_ns = tv
                                    found_t = True
                        if not found_s and flen > 1 and a[np.uint64(fs)] == 114:  # 'r<station>'
                            # lines of a feed mostly repeat the last station: its code
                            # again when the name's bytes do (its name kept to 32 bytes)
                            nlen = min(flen - 1, MAX_SOURCE_BYTES)
                            if nlen == st_len and _same_span(a, fs + 1, st_s, nlen):
                                src = st_code
                            else:
                                src, n_names = _code(a, fs + 1, ve, keys, codes, first,
                                                     length, slots, n_names)
                                st_s = fs + 1
                                st_len = nlen
                                st_code = src
                            found_s = True
                        if fe >= re_:
                            break
                        fs = fe + 1
            # a leading column before the sentence
            if not has_tag and sv > rs and t_ns == NAT_NS:
                t_ns = _lead_number_ns(a, a64, rs, sv)  # (nearly every leading time)
                if t_ns == _NOT_NUMBER:
                    lend = rs
                    while lend < sv and a[lend] != 44 and a[lend] != 124 and a[lend] != 59 \
                            and a[lend] != 9:
                        lend += 1
                    t_ns = _lead_ns(a, rs, lend)
                if t_ns == NAT_NS:
                    counts[20] += 1
            # ---- output ----
            if n_frags == 1:
                _emit(a, p0, n_chars, fill, t_ns, src, r, required, kind, ship_types, counts,
                      decoded, p_i64, p_f64, p_i8, s_i64, s_f64, txt, n_out, w)
            else:
                talker = (np.int64(a[sv + 1]) << 8) | a[sv + 2]
                if _ends_held_pair(pend, r, n_frags, frag, talker, channel, seq, gid):
                    # fragment 2 of 2 right after its fragment 1, as receivers emit nearly
                    # all of them: joined here
                    m = pend[7]
                    _copy(a, pend[6], scratch, 0, m)
                    _copy(a, p0, scratch, m, n_chars)
                    _emit_pair(scratch, m + n_chars, fill, t_ns, src, r, pend, required, kind,
                               ship_types, counts, decoded, p_i64, p_f64, p_i8, s_i64, s_f64,
                               txt, n_out, w)
                    pend[0] = -1
                else:
                    if pend[0] >= 0:  # fragment 1 of 2 not followed by its fragment 2
                        _put_row(f_lo, f_hi, n_out[2], pend)
                        n_out[2] += 1
                        pend[0] = -1
                    row = cur
                    row[0] = r
                    row[1] = talker
                    row[2] = n_frags
                    row[3] = frag
                    row[4] = seq
                    row[5] = channel
                    row[6] = p0
                    row[7] = n_chars
                    row[8] = fill
                    row[9] = t_ns
                    row[10] = src
                    row[11] = gid
                    row[12] = gtot
                    if n_frags == 2 and frag == 1:
                        for k in range(13):
                            pend[k] = cur[k]
                    else:
                        _put_row(f_lo, f_hi, n_out[2], cur)
                        n_out[2] += 1
            sv = nxt
            rs = nxt_rs
        if le < n and a[le] == 13 and le + 1 < n and a[le + 1] == 10:
            i = le + 2
        else:
            i = le + 1
    counts[16] += rec  # (kept in registers while the chunk is read)
    counts[18] += n_sentence_starts
    counts[19] += n_sentence_records
    counts[17] = line - 1 if continued and line > 0 else line
    if pend[0] >= 0:
        _put_row(f_lo, f_hi, n_out[2], pend)
        n_out[2] += 1
    for k in range(1, n_names + 1):  # leave the name table empty for the next chunk
        keys[slots[k]] = 0
    return n_extra, n_names


@njit(**_JIT)
def _put_row(f_lo, f_hi, j, row):
    """Fragment row ``row`` (13 values) into column ``j`` of ``f_lo`` (its first
    :data:`_F_LO` values) and ``f_hi`` (the others): two arrays, each of them below NumPy's
    huge-page size for a 1 MiB chunk (see :class:`Workspace`)."""
    for k in range(_F_LO):
        f_lo[k, j] = row[k]
    for k in range(_F_LO, row.size):
        f_hi[k - _F_LO, j] = row[k]


# --------------------------------------------------------------------------- multipart
# Columns of a group in the assembler's ``groups`` table.
_G_KEY, _G_FIRST, _G_N, _G_TIME, _G_SRC, _G_PARTS, _G_MASK, _G_PREV, _G_NEXT = range(9)
_G_OFF = 9  # then 10 part offsets, 10 part lengths and 10 fill bits (parts 1..9)
_G_COLS = _G_OFF + 30
# Indices into the assembler's ``state``.
_S_OPEN, _S_HEAD, _S_TAIL, _S_USED, _S_FREE, _S_TOMBS, _S_BITS = range(7)
# Key table slots (open addressing, linear probing): never used, and emptied.
_EMPTY, _GONE = -1, -2


@njit(cache=True)
def _slot(key, bits):
    """First slot of ``key`` in a key table of 2**bits slots (Fibonacci hashing)."""
    return np.int64((np.uint64(key) * _FIB) >> np.uint64(64 - bits))


@njit(cache=True)
def _find(table, bits, key):
    """The group of ``key`` in the key table (keys, then groups), or -1."""
    size = table.size // 2
    h = _slot(key, bits)
    while True:
        k = table[h]
        if k == key:
            return table[size + h]
        if k == _EMPTY:
            return np.int64(-1)
        h = (h + 1) & (size - 1)


@njit(cache=True)
def _put(table, bits, key, g):
    """Enter ``key`` (absent) with group ``g``."""
    size = table.size // 2
    h = _slot(key, bits)
    while table[h] >= 0:
        h = (h + 1) & (size - 1)
    table[h] = key
    table[size + h] = g


@njit(cache=True)
def _drop(table, bits, key, state, groups):
    """Remove ``key``; rebuild the table from the open groups once emptied slots abound."""
    size = table.size // 2
    h = _slot(key, bits)
    while table[h] != key:
        h = (h + 1) & (size - 1)
    table[h] = _GONE
    state[_S_TOMBS] += 1
    if state[_S_TOMBS] * 4 > size:
        table[:size] = _EMPTY
        state[_S_TOMBS] = 0
        g = state[_S_HEAD]
        while g >= 0:
            if groups[g, _G_KEY] != key:
                _put(table, bits, groups[g, _G_KEY], g)
            g = groups[g, _G_NEXT]


@njit(cache=True)
def _unlink(g, groups, state, table, free):
    """Take group ``g`` out of the open groups (the order list, the key table)."""
    prev = groups[g, _G_PREV]
    nxt = groups[g, _G_NEXT]
    if prev >= 0:
        groups[prev, _G_NEXT] = nxt
    else:
        state[_S_HEAD] = nxt
    if nxt >= 0:
        groups[nxt, _G_PREV] = prev
    else:
        state[_S_TAIL] = prev
    _drop(table, state[_S_BITS], groups[g, _G_KEY], state, groups)
    free[state[_S_FREE]] = g
    state[_S_FREE] += 1
    state[_S_OPEN] -= 1


@njit(cache=True, inline="always")
def _add_fragment(row, rec, src_buf, groups, state, table, free, arena, window, max_open,
                  required, kind, ship_types, counts, decoded, p_i64, p_f64, p_i8, s_i64,
                  s_f64, txt, n_out, scratch, w):
    """One fragment (``row``: a fragment row, ``rec`` its reader-wide record, its payload at
    ``row[6]`` of ``src_buf``) into the open groups (see :func:`_assemble`); the arena."""
    n_frags = row[2]
    frag = row[3]
    gid = row[11]
    if gid >= 0:
        key = (gid << 8) | row[12]
    else:
        key = ((np.int64(1) << 62) | (row[1] << 24) | (row[5] << 12)
               | ((row[4] + 1) << 4) | n_frags)
    # expire: groups too old, or too many
    while state[_S_HEAD] >= 0:
        g = state[_S_HEAD]
        if rec - groups[g, _G_FIRST] > window or state[_S_OPEN] > max_open:
            counts[15] += groups[g, _G_PARTS]
            _unlink(g, groups, state, table, free)
        else:
            break
    g = _find(table, state[_S_BITS], key)
    # a repeat, or a fragment 1 (a message starts): the old one is given up (so a held
    # fragment 1 never completes a group, see _assemble)
    if g >= 0 and (frag == 1 or (groups[g, _G_MASK] >> frag) & 1):
        counts[15] += groups[g, _G_PARTS]
        _unlink(g, groups, state, table, free)
        g = -1
    if g < 0:
        state[_S_FREE] -= 1
        g = free[state[_S_FREE]]
        groups[g, _G_KEY] = key
        groups[g, _G_FIRST] = rec
        groups[g, _G_N] = n_frags
        groups[g, _G_TIME] = NAT_NS
        groups[g, _G_SRC] = 0
        groups[g, _G_PARTS] = 0
        groups[g, _G_MASK] = 0
        groups[g, _G_NEXT] = -1
        groups[g, _G_PREV] = state[_S_TAIL]
        if state[_S_TAIL] >= 0:
            groups[state[_S_TAIL], _G_NEXT] = g
        else:
            state[_S_HEAD] = g
        state[_S_TAIL] = g
        _put(table, state[_S_BITS], key, g)
        state[_S_OPEN] += 1
    if frag > groups[g, _G_N]:  # a fragment number past its group's count
        counts[15] += groups[g, _G_PARTS] + 1
        _unlink(g, groups, state, table, free)
        return arena
    # the fragment's payload into the arena (compacted or grown when full)
    n_chars = row[7]
    if state[_S_USED] + n_chars > arena.size:
        live = n_chars
        h = state[_S_HEAD]
        while h >= 0:
            for k in range(1, 10):
                if (groups[h, _G_MASK] >> k) & 1:
                    live += groups[h, _G_OFF + 10 + k - 1]
            h = groups[h, _G_NEXT]
        new = np.empty(max(2 * live, arena.size), np.uint8)
        used = 0
        h = state[_S_HEAD]
        while h >= 0:
            for k in range(1, 10):
                if (groups[h, _G_MASK] >> k) & 1:
                    o = groups[h, _G_OFF + k - 1]
                    m = groups[h, _G_OFF + 10 + k - 1]
                    new[used:used + m] = arena[o:o + m]
                    groups[h, _G_OFF + k - 1] = used
                    used += m
            h = groups[h, _G_NEXT]
        arena = new
        state[_S_USED] = used
    o = state[_S_USED]
    p0 = row[6]
    arena[o:o + n_chars] = src_buf[p0:p0 + n_chars]
    state[_S_USED] = o + n_chars
    groups[g, _G_OFF + frag - 1] = o
    groups[g, _G_OFF + 10 + frag - 1] = n_chars
    groups[g, _G_OFF + 20 + frag - 1] = row[8]
    groups[g, _G_MASK] |= np.int64(1) << frag
    groups[g, _G_PARTS] += 1
    if groups[g, _G_TIME] == NAT_NS:
        groups[g, _G_TIME] = row[9]
    if groups[g, _G_SRC] == 0:
        groups[g, _G_SRC] = row[10]
    n = groups[g, _G_N]
    if groups[g, _G_PARTS] < n:
        return arena
    m = 0
    for k in range(1, n + 1):
        o = groups[g, _G_OFF + k - 1]
        ln = groups[g, _G_OFF + 10 + k - 1]
        scratch[m:m + ln] = arena[o:o + ln]
        m += ln
    fill = groups[g, _G_OFF + 20 + n - 1]
    t_ns = groups[g, _G_TIME]
    src = groups[g, _G_SRC]
    _unlink(g, groups, state, table, free)
    counts[14] += n - 1  # multipart_joined
    _emit(scratch, 0, m, fill, t_ns, src, rec, required, kind, ship_types, counts,
          decoded, p_i64, p_f64, p_i8, s_i64, s_f64, txt, n_out, w)
    return arena


@njit(cache=True)
def _assemble(frags, off, buf, groups, state, table, free, arena, pend, pend_chars,
              window, max_open,
              required, kind, ship_types, counts, decoded, p_i64, p_f64, p_i8, s_i64, s_f64,
              txt, n_out, scratch):
    """Join the fragments ``frags`` (fragment rows of one chunk, in input order; payloads in
    ``buf``; record numbers plus ``off`` are reader-wide) that were not joined in the chunk,
    carrying open groups from chunk to chunk; decode completed messages like :func:`_emit`.

    Fragments are grouped by tag-block group (``g:<n>-<m>-<id>``) when present, otherwise
    by (talker, channel, sequential message id, fragment count). A group still open after
    ``window`` further records, or pushed out because more than ``max_open`` groups are open,
    or superseded by a repeat of one of its fragment numbers or by a fragment 1 (a message
    starts with it: fragments before it are not joined to it), is given up: its fragments
    are counted as ``incomplete_multipart``. Returns the payload arena (grown when needed).

    A fragment 1 of 2 followed, on the next record, by its fragment 2 is joined as it is,
    without touching the open groups, as :func:`_kernel` joins such a pair inside a chunk:
    the rows then do not depend on where chunks are cut. So a fragment 1 of 2 is held in
    ``pend`` (a fragment row, ``pend[0]`` -1 when none; its payload in ``pend_chars``)
    until the next fragment comes, in this call or the next.
    """
    w = np.zeros(_PACK_WORDS, np.uint64)
    for i in range(frags.shape[1]):
        row = frags[:, i]
        rec = row[0] + off
        if pend[0] >= 0:
            if _ends_held_pair(pend, rec, row[2], row[3], row[1], row[5], row[4], row[11]):
                # the pair the decoder joins in a chunk, cut apart by the chunks' border:
                # joined as it would have been, the open groups untouched
                m = pend[7]
                scratch[:m] = pend_chars[:m]
                n_chars = row[7]
                scratch[m:m + n_chars] = buf[row[6]:row[6] + n_chars]
                _emit_pair(scratch, m + n_chars, row[8], row[9], row[10], rec, pend, required,
                           kind, ship_types, counts, decoded, p_i64, p_f64, p_i8, s_i64,
                           s_f64, txt, n_out, w)
                pend[0] = -1
                continue
            arena = _add_fragment(pend, pend[0], pend_chars, groups, state, table, free,
                                  arena, window, max_open, required, kind, ship_types, counts,
                                  decoded, p_i64, p_f64, p_i8, s_i64, s_f64, txt, n_out,
                                  scratch, w)
            pend[0] = -1
        if row[2] == 2 and row[3] == 1 and row[7] <= pend_chars.size:
            # fragment 1 of 2: held until the next fragment, as the decoder holds it
            pend[:] = row
            pend[0] = rec
            pend_chars[:row[7]] = buf[row[6]:row[6] + row[7]]
            pend[6] = 0
            continue
        arena = _add_fragment(row, rec, buf, groups, state, table, free, arena, window,
                              max_open, required, kind, ship_types, counts, decoded, p_i64,
                              p_f64, p_i8, s_i64, s_f64, txt, n_out, scratch, w)
    if state[_S_OPEN] == 0:
        state[_S_USED] = 0  # nothing open: the arena starts over
    return arena


@njit(cache=True)
def _flush(groups, state, table, free):
    """Give up every open group; the fragments they held."""
    count = 0
    while state[_S_HEAD] >= 0:
        g = state[_S_HEAD]
        count += groups[g, _G_PARTS]
        _unlink(g, groups, state, table, free)
    state[_S_USED] = 0
    return count


# --------------------------------------------------------------------------- Python side
#: Bytes of the shortest sentence the kernel accepts, less its payload: ``!xxVDM,`` (7: a
#: sentence start, its first ',' 6 bytes after the '!'), ``1,1,,,`` (6: the fragment count
#: and number one digit each, two bytes apart, then an empty sequential id and channel) and
#: ``,0*hh`` (5: the fill bits and the checksum; the '*' at least 2 bytes after the
#: payload's ','). A sentence's record ends no earlier than its checksum's end (the kernel
#: rejects one whose '*hh' reaches the next record: ``star + 3 <= re_``), and the next
#: record starts there or later, so that the sentences behind a chunk's rows are disjoint
#: spans of it: rows of a kind that each need a sentence of at least ``b`` bytes number at
#: most ``n // b`` in a chunk of ``n`` bytes, whatever the layout (lines, sentences run
#: together with no separator, a ``continued`` first line: its sentences are in the chunk).
_FRAME_BYTES = 18
#: Payload characters of the shortest position report decoded: the fewest bits
#: :data:`_REQUIRED` asks of a position type (94, type 27), 6 bits a character (fill bits
#: only take bits away).
_POS_MIN_CHARS = -(-int(_REQUIRED[_KIND == 1].min()) // 6)
#: Payload characters of the shortest static message decoded (:data:`STATICS_MIN_BITS`: 158
#: bits, type 24 part A).
_STAT_MIN_CHARS = -(-min(STATICS_MIN_BITS.values()) // 6)
#: Fragment row values in :class:`Workspace`'s first fragment array (the rest in the second).
_F_LO = 7


def _row_bounds(n_bytes: int) -> dict:
    """The most rows of each kind :func:`_kernel` can write for a chunk of ``n_bytes`` (see
    :data:`_FRAME_BYTES`: each row needs its own bytes of the chunk)."""
    return {
        # a position row: one sentence of a position type with the bits _REQUIRED asks
        # (>= 34 bytes), or a fragment 2 of 2 joined to its fragment 1 (two sentences
        # whose payloads add up to as many characters: >= 52 bytes); a type 19 writes its
        # static row from the same sentence
        "positions": n_bytes // (_FRAME_BYTES + _POS_MIN_CHARS) + 1,
        # a static row (types 5, 24, 19): a message of at least STATICS_MIN_BITS, one
        # sentence (>= 45 bytes) or two joined
        "statics": n_bytes // (_FRAME_BYTES + _STAT_MIN_CHARS) + 1,
        # a fragment row: a sentence of a multipart message (a payload of 1 character at
        # least: >= 19 bytes); each fragment is written once at most (or joined: none)
        "fragments": n_bytes // (_FRAME_BYTES + 1) + 1,
        # a record not the first of its line: a sentence start, 7 bytes or more after the
        # line's previous one (a next sentence is looked for from 7 bytes after a '!' on)
        "extra": n_bytes // 7 + 1,
        # a new source name: at most one per AIS record (tag ``s:`` or else N-AIS ``r``)
        # of a valid sentence (>= 19 bytes, and the name's own), or per $PGHP line
        # ('$PGHP', 12 commas and a name byte: >= 18 bytes and its line end, but for the
        # chunk's last line); codes are 1, 2, ... (index 0 unused)
        "names": n_bytes // (_FRAME_BYTES + 1) + 2,
    }


class Workspace:
    """Output arrays for :func:`decode_chunk`, reused from chunk to chunk.

    Each kind of row gets the most rows a chunk of ``n_bytes`` can give it
    (:func:`_row_bounds`: the kernel is compiled without bounds checks, so that these
    are proven from what it accepts, not estimated), one array per column kind, each
    smaller than 4 MiB for a 1 MiB chunk: NumPy asks for transparent huge pages on its
    allocations of 4 MiB or more (``madvise``), and a first write anywhere in a 2 MB huge
    page faults in all of it, so that the first chunk of a workspace sized for the worst
    case (a row per 7 bytes, 50 MB) faulted in about 28 MB of mostly unused rows, 20-40 ms;
    with 4 KB pages a fresh workspace faults in about the rows written. Reusing the arrays
    keeps their pages warm: allocating them afresh for every chunk cost as much as decoding
    it. One workspace per chunk in flight.
    """

    def __init__(self, n_bytes: int):
        self.n_bytes = int(n_bytes)
        rows = _row_bounds(self.n_bytes)
        cap, cap_s, cap_f = rows["positions"], rows["statics"], rows["fragments"]
        names = rows["names"]
        size = 64  # the names' hash table: at most half full
        while size < 2 * names:
            size *= 2
        self.arrays = (
            np.empty((4, cap), np.int64), np.empty((5, cap), np.float64),
            np.empty((2, cap), np.int8), np.empty((5, cap_s), np.int64),
            np.empty((5, cap_s), np.float64), np.empty((cap_s, TEXT_BYTES), np.uint8),
            np.empty((_F_LO, cap_f), np.int64), np.empty((13 - _F_LO, cap_f), np.int64),
            np.empty(rows["extra"], np.int64),
            np.zeros(size, np.int64), np.empty(size, np.int32), np.empty(names, np.int64),
            np.empty(names, np.int64), np.empty(names, np.int64),
            np.empty(2 * MAX_PAYLOAD_CHARS + 64, np.uint8),
            # counts, decoded, n_out, pend, cur, w, commas (see _kernel)
            np.zeros(len(COUNT_NAMES), np.int64), np.zeros(28, np.int64), np.zeros(3, np.int64),
            np.full(13, -1, np.int64), np.empty(13, np.int64),
            np.zeros(_PACK_WORDS, np.uint64),
            np.empty(12, np.int64),
        )


class ChunkResult(NamedTuple):
    """What :func:`decode_chunk` (or :meth:`Assembler.add`) found (arrays trimmed to rows).

    ``pos``: position reports, columns ``mmsi``, ``time`` (int64 ns, NAT_NS when unknown),
    ``lat``, ``lon``, ``sog_kn``, ``cog_deg``, ``heading_deg``, ``nav_status``,
    ``msg_type``, ``record``, ``source`` (codes into ``source_names``, 0 = none).
    ``stat``: static records (types 5, 24 and the static half of type 19), columns
    ``record``, ``time``, ``source``, ``mmsi``, ``msg_type``, ``imo``, ``ship_type``,
    ``length_m``, ``beam_m``, ``draught_m`` (float, NaN when absent) and ``text`` (rows of
    :data:`TEXT_BYTES` bytes, see :data:`TEXT_SLOTS`). ``frags``: fragments of multipart
    messages not joined in the chunk, rows of 13 int64 (record, talker, fragment count,
    fragment number, sequential id, channel, payload offset, payload characters, fill bits,
    time, source, tag-block group id, group total) for :class:`Assembler`. ``counts``:
    the counters of :data:`COUNT_NAMES`; ``decoded``: decoded messages by type (28
    entries); ``extra``: the records (ascending) that are not the first of their line.
    """

    pos: dict
    stat: dict
    frags: np.ndarray
    counts: dict
    decoded: np.ndarray
    extra: np.ndarray
    source_names: list


def _rows(n_out, p_i64, p_f64, p_i8, s_i64, s_f64, txt, copy: bool = True) -> tuple:
    """The position and static columns of the first rows of output arrays (copies, or with
    ``copy`` False views where the dtype allows)."""
    n_pos, n_stat = int(n_out[0]), int(n_out[1])
    c = np.copy if copy else (lambda x: x)
    pos = {"mmsi": c(p_i64[0, :n_pos]), "time": c(p_i64[1, :n_pos]),
           "lat": c(p_f64[0, :n_pos]), "lon": c(p_f64[1, :n_pos]),
           "sog_kn": c(p_f64[2, :n_pos]), "cog_deg": c(p_f64[3, :n_pos]),
           "heading_deg": c(p_f64[4, :n_pos]), "nav_status": c(p_i8[0, :n_pos]),
           "msg_type": c(p_i8[1, :n_pos]), "record": c(p_i64[2, :n_pos]),
           "source": p_i64[3, :n_pos].astype(np.int32)}
    stat = {"record": c(s_i64[0, :n_stat]), "time": c(s_i64[1, :n_stat]),
            "source": s_i64[2, :n_stat].astype(np.int32), "mmsi": c(s_i64[3, :n_stat]),
            "msg_type": c(s_i64[4, :n_stat]), "imo": c(s_f64[0, :n_stat]),
            "ship_type": c(s_f64[1, :n_stat]), "length_m": c(s_f64[2, :n_stat]),
            "beam_m": c(s_f64[3, :n_stat]), "draught_m": c(s_f64[4, :n_stat]),
            "text": c(txt[:n_stat])}
    return pos, stat


@njit(**_JIT)
def _trim(flat, row_bytes, at, width, offsets, data, valid):
    """Each row's text slot (bytes ``at`` to ``at + width`` of each row of ``row_bytes``
    bytes of ``flat``, the rows one after another) from its first to its last non-space
    byte, one after another into ``data`` (``offsets``: n + 1 ends; ``valid``: a bit per
    row, little-endian, set when the slot is not blank); returns the blank rows.

    8 bytes a word: a slot's words (up to 3; lanes past its width masked off) XORed with
    spaces are zero where it has spaces, so that its first and last non-space byte are
    the lowest nonzero lane of its first nonzero word and the highest of its last; the
    bytes between are copied by :func:`_copy_over` (``data`` has 8 bytes more than the
    slots need)."""
    blank = 0
    k = 0
    n = flat.size // row_bytes
    for i in range(n):
        b = i * row_bytes + at
        s = -1
        e = 0
        for q in range(0, width, 8):
            x = _load8(flat, b + q) ^ _LANES_32
            if width - q < 8:
                x &= (np.uint64(1) << np.uint64(8 * (width - q))) - np.uint64(1)
            if x != 0:
                if s < 0:
                    s = q + (np.int64(trailing_zeros(x)) >> 3)
                e = q + 8 - (np.int64(leading_zeros(x)) >> 3)
        if s < 0:
            blank += 1
            offsets[i + 1] = k
            continue
        valid[i >> 3] |= np.uint8(1 << (i & 7))
        m = e - s
        _copy_over(flat, b + s, data, k, m)
        k += m
        offsets[i + 1] = k
    return blank


@njit(**_JIT)
def _take_names(data, ends, codes, offsets, out):
    """Each row's name ``data[ends[c - 1] : ends[c]]`` (``c = codes[i]``, ``ends[-1]``
    read as 0) one after another into ``out`` (``offsets``: n + 1 ends), by
    :func:`_copy_over` (``out`` has 8 bytes more than the names)."""
    k = 0
    for i in range(codes.size):
        c = codes[i]
        s = ends[c - 1] if c > 0 else 0
        m = ends[c] - s
        _copy_over(data, s, out, k, m)
        k += m
        offsets[i + 1] = k


@njit(**_JIT)
def _names_bytes(ends, codes):
    """Bytes of ``names[codes]`` together (:func:`_take_names`' ``ends`` and ``codes``)."""
    k = 0
    for i in range(codes.size):
        c = codes[i]
        k += ends[c] - (ends[c - 1] if c > 0 else 0)
    return k


def take_names(names: list, codes: np.ndarray) -> tuple:
    """``names[codes]`` as the buffers of an Arrow string array, ``(offsets, data)``: no
    per-row string objects (names: str; codes: an int array of indices into them, read as
    it is: the only arrays of its length made are the two returned, each written once, as
    fresh memory costs page faults)."""
    encoded = [nm.encode() for nm in names]
    ends = np.cumsum([len(b) for b in encoded], dtype=np.int64)
    data = np.frombuffer(b"".join(encoded) + bytes(8), np.uint8)
    codes = np.ascontiguousarray(codes)
    if codes.dtype.kind not in "iu":
        codes = codes.astype(np.int64)
    offsets = np.empty(codes.size + 1, np.int64)
    offsets[0] = 0
    size = _names_bytes(ends, codes)
    out = np.empty(size + 8, np.uint8)
    _take_names(data, ends, codes, offsets, out)
    return offsets, out[:size]


@njit(**_JIT)
def _take_text(offsets, data, valid, bit0, at, out_offsets, out_valid, out):
    """Pass 1 (``out`` empty): each row's end into ``out_offsets``, its validity bit into
    ``out_valid``; the null rows. Pass 2: the bytes into ``out``."""
    nulls = 0
    k = 0
    for i in range(at.size):
        r = at[i]
        if out.size:
            s = out_offsets[i]
            if out_offsets[i + 1] > s:
                r0 = offsets[r]
                for j in range(out_offsets[i + 1] - s):
                    out[s + j] = data[r0 + j]
            continue
        ok = r >= 0
        if ok and valid.size:
            b = bit0 + r
            ok = (valid[b >> 3] >> (b & 7)) & 1 == 1
        if ok:
            k += offsets[r + 1] - offsets[r]
            out_valid[i >> 3] |= np.uint8(1 << (i & 7))
        else:
            nulls += 1
        out_offsets[i + 1] = k
    return nulls


def take_text(offsets: np.ndarray, data: np.ndarray, valid: np.ndarray, bit0: int,
              at: np.ndarray) -> tuple:
    """Rows ``at`` (-1: null) of an Arrow large_string array given by its buffers
    (``offsets``: its own n + 1, int64; ``data``; ``valid``: its validity bits, empty when
    it has none, its row 0 at bit ``bit0``) as the buffers of a new one, in two compiled
    passes: ``(offsets, data, validity bits, null count)``."""
    args = (np.ascontiguousarray(offsets, np.int64), np.ascontiguousarray(data, np.uint8),
            np.ascontiguousarray(valid, np.uint8), int(bit0),
            np.ascontiguousarray(at, np.int64))
    n = args[4].size
    out_offsets, out_valid = np.zeros(n + 1, np.int64), np.zeros((n + 7) // 8, np.uint8)
    nulls = _take_text(*args, out_offsets, out_valid, np.empty(0, np.uint8))
    out = np.empty(out_offsets[-1], np.uint8)
    if out.size:
        _take_text(*args, out_offsets, out_valid, out)
    return out_offsets, out, out_valid, int(nulls)


def trim_text(text: np.ndarray, field: str) -> tuple:
    """One text field of static rows (``text``: rows of :data:`TEXT_BYTES`) as the buffers
    of an Arrow string array: ``(offsets, data, validity bits, blank rows)``, each value its
    slot's bytes from the first to the last non-space (blank slots: null)."""
    at, width = TEXT_SLOTS[field]
    n = text.shape[0]
    offsets = np.zeros(n + 1, np.int64)
    data = np.empty(n * width + 8, np.uint8)
    valid = np.zeros((n + 7) // 8, np.uint8)
    text = np.ascontiguousarray(text, np.uint8)
    blank = _trim(text.reshape(-1), text.shape[1], at, width, offsets, data, valid)
    return offsets, data[:offsets[-1]], valid, int(blank)


@njit(**_JIT, inline="always")
def _probe(table, keys, v, shift):
    """Where the int64 ``v`` is in ``table``, an open-addressing table (linear probing,
    Fibonacci hashing, 2**(64 - shift) slots) whose slots hold rows of ``keys`` (-1: empty):
    ``(slot, row)``, or ``(the empty slot it would take, -1)`` when it is not there."""
    mask = np.uint64(table.size - 1)
    h = (np.uint64(v) * _FIB) >> shift
    k = table[h]
    while k >= 0 and keys[k] != v:
        h = (h + np.uint64(1)) & mask
        k = table[h]
    return h, k


@njit(**_JIT)
def _same_bytes(offsets, data, i, j):
    s, e = offsets[i], offsets[i + 1]
    t = offsets[j]
    if offsets[j + 1] - t != e - s:
        return False
    for k in range(e - s):
        if data[s + k] != data[t + k]:
            return False
    return True


@njit(**_JIT)
def _vessel_groups(mmsi, times, known, name_f, type_f, name_offsets, name_data, type_values,
                   table, shift, keys, at, first, last, changes, prev):
    n_fields = known.shape[1]
    n = 0
    for i in range(mmsi.size):  # rows in arrival order; each MMSI its group when first seen
        v = mmsi[i]
        h, g = _probe(table, keys, v, shift)
        if g < 0:
            if 2 * (n + 1) > table.size:  # more MMSIs than the table is for: a larger one
                return -1
            g = n
            n += 1
            table[h] = g
            keys[g] = v
            first[g] = _INT64_MAX
            last[g] = NAT_NS
            for f in range(n_fields):
                at[g, f] = -1
            prev[0, g] = -1
            prev[1, g] = -1
            changes[0, g] = 0
            changes[1, g] = 0
        t = times[i]
        if t != NAT_NS and t < first[g]:
            first[g] = t
        if t > last[g]:
            last[g] = t
        for f in range(n_fields):  # (rows ascending: the latest is the largest, no branch)
            at[g, f] = max(at[g, f], np.int64(known[i, f]) * (i + 1) - 1)
        if known[i, name_f]:
            p = prev[0, g]
            if p >= 0 and not _same_bytes(name_offsets, name_data, p, i):
                changes[0, g] += 1
            prev[0, g] = i
        if known[i, type_f]:
            p = prev[1, g]
            if p >= 0 and type_values[p] != type_values[i]:
                changes[1, g] += 1
            prev[1, g] = i
    return n


def vessel_groups(mmsi: np.ndarray, times: np.ndarray, known: np.ndarray, name_f: int,
                  type_f: int, name_offsets: np.ndarray, name_data: np.ndarray,
                  type_values: np.ndarray, run=None, seen: tuple | None = None):
    """Static records grouped by MMSI in one compiled pass (the GIL is released).

    ``mmsi``, ``times`` (int64 ns, :data:`NAT_NS` unknown): one per record, in arrival
    order; ``known``: (records, fields) bool, which records hold a value of each field;
    rows ``name_f`` / ``type_f`` of it are the fields whose changes are counted: the names
    compared as the bytes ``name_data[name_offsets[i]:name_offsets[i + 1]]`` of each record
    ``i``, the types as ``type_values``. Returns ``(keys, at, first, last, changes)`` in
    increasing MMSI order: each MMSI, the last record holding each field (fields, keys;
    -1 when none), the earliest time (int64 max when none) and the latest (NaT only if all
    are), and how often (2, keys) the name and the type differ from the MMSI's previous
    record holding one.

    ``run``: like a pool's ``submit``: the compiled pass is handed to it (on another
    thread it runs beside this one's Python work, the GIL released), and a function is
    returned that waits for it and returns the result.

    ``seen``: ``(values, first, last)`` (int64; each row's earliest and latest time in ns,
    both :data:`NAT_NS` when unknown), e.g. chunks' :func:`time_ranges`: the first and last
    times of the MMSIs that are ``values`` are then widened by them in the same pass (as
    a pass over them after it would; other values are ignored), through the grouping's
    own key table.
    """
    n = mmsi.size
    keys, first, last = (np.empty(n, np.int64) for _ in range(3))
    at = np.empty((n, known.shape[1]), np.int64)
    changes, prev = np.empty((2, n), np.int64), np.empty((2, n), np.int64)
    args = (np.ascontiguousarray(mmsi, np.int64), np.ascontiguousarray(times, np.int64),
            np.ascontiguousarray(known), name_f, type_f,
            np.ascontiguousarray(name_offsets, np.int64),
            np.ascontiguousarray(name_data, np.uint8),
            np.ascontiguousarray(type_values, np.float64))
    out = (keys, at, first, last, changes, prev)
    group = _vessel_groups
    if seen is not None:
        group = partial(_vessel_groups_seen, *(np.ascontiguousarray(a, np.int64) for a in seen))
    # a table for up to 2048 MMSIs first (32 KB, where one for every record would take
    # 16 bytes per record to fill): at most half its slots used, else one for every record
    sizes = list(dict.fromkeys((max(6, min(12, (2 * n).bit_length())),
                                max(6, (2 * n).bit_length()))))

    def table(bits):
        return np.full(1 << bits, -1, np.int64), np.uint64(64 - bits)

    started = None if run is None else run(group, *args, *table(sizes[0]), *out)

    def result():
        k = -1
        for i, bits in enumerate(sizes):
            k = started.result() if i == 0 and started is not None else \
                group(*args, *table(bits), *out)
            if k >= 0:
                break
        order = np.argsort(keys[:k])
        return (keys[:k][order], at[:k][order].T, first[:k][order], last[:k][order],
                changes[:, :k][:, order])

    return result() if run is None else result


@njit(**_JIT)
def _ranges(values, times, table, shift, keys, first, last, limit):
    n = 0
    full = False
    for i in range(values.size):
        t = times[i]
        if t == NAT_NS:
            continue
        v = values[i]
        h, k = _probe(table, keys, v, shift)
        if k < 0:  # a value not seen yet: its own slot and row
            if n == limit:  # more values than the table may hold (-1, once it is emptied)
                full = True
                break
            k = n
            n += 1
            table[h] = k
            keys[k] = v
            first[k] = t
            last[k] = t
        else:
            first[k] = min(first[k], t)
            last[k] = max(last[k], t)
    # the table left empty for the next call: each key's slot cleared, the last put first
    # (with linear probing, a key's probe path only crosses keys put before it)
    for k in range(n - 1, -1, -1):
        h, _ = _probe(table, keys, keys[k], shift)
        table[h] = -1
    return -1 if full else n


def time_ranges(values: np.ndarray, times: np.ndarray, distinct: int | None = None) -> tuple:
    """Each distinct value of ``values`` (int64) that has a time (``times``: int64 ns,
    :data:`NAT_NS` unknown: ignored) with its earliest and latest time, in order of first
    appearance: ``(keys, first, last)``, in one compiled pass (the GIL is released). A chunk's
    summary for the vessels table: its vessels' first and last times in a few rows.

    ``distinct``: about how many distinct values to expect (default: as many as values):
    the key table is sized for them (a fold of several chunks' summaries holds the same
    vessels many times over: a table for every row cost page faults, 2-4 MB), and sized
    for every row in a second pass when there are more."""
    n = values.size
    values = np.ascontiguousarray(values, np.int64)
    times = np.ascontiguousarray(times, np.int64)
    keys, first, last = (np.empty(n, np.int64) for _ in range(3))
    full = max(6, (2 * n).bit_length())  # at most half the slots used
    k = -1
    for bits in dict.fromkeys((full if distinct is None else
                               min(full, max(6, (2 * distinct).bit_length())), full)):
        k = _ranges(values, times, _empty_table(bits), np.uint64(64 - bits), keys, first,
                    last, 1 << (bits - 1))
        if k >= 0:
            break
    return keys[:k].copy(), first[:k].copy(), last[:k].copy()


#: Largest key table :func:`time_ranges` keeps per thread between calls (slots): a chunk's
#: (2**15 slots for 1 MiB of bare VDM, 256 KB) was a fresh ``np.full`` per chunk before.
_KEEP_TABLE_BITS = 17
_tables = threading.local()


def _empty_table(bits: int) -> np.ndarray:
    """A key table of ``2**bits`` slots, all -1 (empty), for :func:`_ranges`, which leaves
    it empty again: the first slots of this thread's own, kept between calls (grown to the
    largest asked for, up to ``2**_KEEP_TABLE_BITS``; a prefix, so that a chunk's call after
    a larger one, e.g. a fold of several chunks', probes no more memory than its rows
    need)."""
    if bits > _KEEP_TABLE_BITS:
        return np.full(1 << bits, -1, np.int64)
    table = getattr(_tables, "table", None)
    if table is None or table.size < 1 << bits:
        table = _tables.table = np.full(1 << bits, -1, np.int64)
    return table[:1 << bits]


@njit(**_JIT)
def touch_pages(a):
    """Write a zero at every 4096th byte of ``a`` (uint8, fresh memory: its pages faulted
    in at once, on a thread that has the time; the GIL is released)."""
    for i in range(0, a.size, 4096):
        a[i] = 0


@njit(**_JIT)
def outside(times, lo, hi):
    """Whether a time of ``times`` (int64 ns; :data:`NAT_NS` unknown) is outside [lo, hi]."""
    for t in times:
        if t != NAT_NS and (t < lo or t > hi):
            return True
    return False


def _words(a: np.ndarray, n: int) -> tuple:
    """``a`` (its first ``n`` bytes at least) and a view of its whole 64-bit words (the
    kernel reads a word only when all its bytes are before ``n``): ``a`` itself when its
    buffer is 8-byte aligned (the reader's chunk buffers are), else an aligned copy."""
    if a.dtype == np.uint8 and a.flags.c_contiguous and a.ctypes.data % 8 == 0:
        return a, a[:a.size - a.size % 8].view(np.uint64)
    b = np.zeros(-(-n // 8) * 8, np.uint8)
    b[:n] = a[:n]
    return b, b.view(np.uint64)


def decode_chunk(a: np.ndarray, n: int, continued: bool = False,
                 workspace: Workspace | None = None, copy: bool = True) -> ChunkResult:
    """Frame and decode ``a[:n]``, whole lines of NMEA text (the GIL is released).

    Parameters
    ----------
    a : numpy.ndarray of uint8
        The chunk; ``a[:n]`` ends at a line end (or is a whole file's last line).
    n : int
        Bytes of ``a`` to read.
    continued : bool, default False
        The first line continues the previous chunk's last line (a line longer than a chunk):
        it starts no new line, and text before its first sentence is not a record.
    workspace : Workspace, optional
        Output arrays to reuse (one per thread); a new one when absent or too small.
    copy : bool, default True
        False: the result's ``pos`` and ``stat`` columns are views into ``workspace``, valid
        until it decodes the next chunk.

    Returns
    -------
    ChunkResult
    """
    if workspace is None or workspace.n_bytes < n:
        workspace = Workspace(n)
    ws = workspace.arrays
    p_i64, p_f64, p_i8, s_i64, s_f64, txt, f_lo, f_hi, extra, _k, _c, first, length = ws[:13]
    counts, decoded, n_out = ws[15:18]
    a, a64 = _words(a, n)
    n_extra, n_names = _kernel(a, a64, n, continued, _REQUIRED, _KIND, _SHIP_TYPE_5_19, *ws)
    names = [""] + [bytes(a[s:s + k]).decode("ascii", "replace")
                    for s, k in zip(first[1:n_names + 1].tolist(),
                                    length[1:n_names + 1].tolist(), strict=True)]
    pos, stat = _rows(n_out, p_i64, p_f64, p_i8, s_i64, s_f64, txt, copy)
    n_frags = int(n_out[2])
    return ChunkResult(pos=pos, stat=stat,
                       frags=np.concatenate((f_lo[:, :n_frags], f_hi[:, :n_frags])),
                       counts=dict(zip(COUNT_NAMES, counts.tolist(), strict=True)),
                       decoded=decoded.copy(), extra=extra[:n_extra].copy(),
                       source_names=names)


class Assembler:
    """Joins, in input order, the fragments chunks did not join (compiled; bounded memory).

    A message starts with its fragment 1: open fragments of its key are then given up (see
    :func:`_assemble`), and a fragment 1 of 2 and its fragment 2 on the next record are
    joined as the kernel joins them within a chunk, wherever chunks are cut.

    Parameters
    ----------
    window_records : int, default 100
        Records after a group's first fragment within which it must complete. AIS transmits
        the fragments of a message in consecutive slots, and receivers emit them together; 100
        records leaves room for feeds that interleave many receivers or metadata lines.
    max_open : int, default 1000
        Most groups kept open at once (bounds memory when fragments never complete).
    """

    def __init__(self, window_records: int = 100, max_open: int = 1000):
        if window_records < 1 or max_open < 1:
            raise ValueError("window_records and max_open must be at least 1")
        self.window_records = int(window_records)
        self.max_open = int(max_open)
        slots = self.max_open + 2
        self._groups = np.zeros((slots, _G_COLS), np.int64)
        bits = max(6, (4 * slots - 1).bit_length())  # at most a quarter of the slots used
        self._state = np.array([0, -1, -1, 0, slots, 0, bits], np.int64)
        self._free = np.arange(slots, dtype=np.int64)
        self._table = np.full(2 << bits, _EMPTY, np.int64)  # keys, then their groups
        self._arena = np.empty(1 << 16, np.uint8)
        self._scratch = np.empty(9 * MAX_PAYLOAD_CHARS + 64, np.uint8)
        # a fragment 1 of 2 held for its fragment 2 (see _assemble): its row, its payload
        self._pend = np.full(13, -1, np.int64)
        self._pend_chars = np.empty(MAX_PAYLOAD_CHARS, np.uint8)

    @property
    def n_open(self) -> int:
        """Groups currently waiting for fragments."""
        return int(self._state[_S_OPEN])

    def add(self, frags: np.ndarray, record_offset: int, buf: np.ndarray) -> ChunkResult:
        """Add fragment rows (:attr:`ChunkResult.frags`, source codes reader-wide; payloads
        in ``buf``); the messages they complete, with reader-wide record numbers."""
        n = frags.shape[1] + 1  # (a fragment held from the last call may complete one too)
        p_i64, p_f64 = np.empty((4, n), np.int64), np.empty((5, n), np.float64)
        p_i8, s_i64 = np.empty((2, n), np.int8), np.empty((5, n), np.int64)
        s_f64, txt = np.empty((5, n), np.float64), np.empty((n, TEXT_BYTES), np.uint8)
        counts = np.zeros(len(COUNT_NAMES), np.int64)
        decoded = np.zeros(28, np.int64)
        n_out = np.zeros(3, np.int64)
        self._arena = _assemble(np.ascontiguousarray(frags), int(record_offset), buf,
                                self._groups, self._state, self._table, self._free,
                                self._arena, self._pend, self._pend_chars,
                                self.window_records, self.max_open, _REQUIRED, _KIND,
                                _SHIP_TYPE_5_19, counts, decoded, p_i64, p_f64, p_i8,
                                s_i64, s_f64, txt, n_out, self._scratch)
        pos, stat = _rows(n_out, p_i64, p_f64, p_i8, s_i64, s_f64, txt, False)  # (fresh)
        return ChunkResult(pos=pos, stat=stat, frags=np.zeros((13, 0), np.int64),
                           counts=dict(zip(COUNT_NAMES, counts.tolist(), strict=True)),
                           decoded=decoded, extra=np.zeros(0, np.int64), source_names=[])

    def flush(self) -> int:
        """Give up every open group (end of input); return how many fragments that was."""
        held = int(self._pend[0] >= 0)  # (a fragment 1 of 2 held: given up with them)
        self._pend[0] = -1
        return held + int(_flush(self._groups, self._state, self._table, self._free))


def decode_statics(buf, start, n_chars, fill, msg_type) -> tuple:
    """Decode static messages (types 5, 19, 24) ``buf[start : start + n_chars]`` at once.

    Returns ``(reason, mmsi, floats, text)``: the skip reason's counter in
    :data:`COUNT_NAMES` (0 when decoded; the MMSI is not range-checked), the MMSI, a (5, n)
    array of ``imo``, ``ship_type``, ``length_m``, ``beam_m``, ``draught_m``, and the
    (n, :data:`TEXT_BYTES`) text rows (see :data:`TEXT_SLOTS`).
    """
    return _decode_statics(np.ascontiguousarray(buf, dtype=np.uint8),
                           np.asarray(start, np.int64), np.asarray(n_chars, np.int64),
                           np.asarray(fill, np.int64), np.asarray(msg_type, np.int64),
                           _SHIP_TYPE_5_19)


# --------------------------------------------------------------------------- reader post-passes
# Compiled passes over a decoded chunk's rows that the reader runs on the thread that decoded
# it (stsdetect.ais.reader._prepare): one call each instead of many small NumPy calls, which
# hold the GIL while the other threads wait for it.
_TRIM_SLOTS = np.array([TEXT_SLOTS[f] for f in ("name", "callsign", "destination")],
                       np.int64)


@njit(**_JIT)
def _static_texts(flat, row_bytes, slots, msg_type, offsets, data, valid, blanks):
    n = flat.size // row_bytes
    at = 0
    for f in range(slots.shape[0]):
        size = n * slots[f, 1] + 8  # (8: _copy_over's slack)
        blanks[f] = _trim(flat, row_bytes, slots[f, 0], slots[f, 1], offsets[f],
                          data[at:at + size], valid[f])
        at += size
    last = offsets.shape[0] - 1
    for i in range(n):  # ais_class: "A" for type 5, else "B"
        offsets[last, i + 1] = i + 1
        data[at + i] = 65 if msg_type[i] == 5 else 66


def static_texts(text: np.ndarray, msg_type: np.ndarray) -> list:
    """The text fields ``name``, ``callsign`` and ``destination`` of static rows (``text``:
    rows of :data:`TEXT_BYTES`), each as :func:`trim_text` gives it, then their
    ``ais_class`` ("A" where ``msg_type`` is 5, else "B") as ``(offsets, data, None, 0)``,
    in one compiled pass (the GIL is released) and one allocation per kind of buffer:
    ``[(offsets, data, validity bits or None, blank rows), ...]``."""
    n = text.shape[0]
    text = np.ascontiguousarray(text, np.uint8)
    widths = _TRIM_SLOTS[:, 1]
    offsets = np.zeros((len(widths) + 1, n + 1), np.int64)
    valid = np.zeros((len(widths), (n + 7) // 8), np.uint8)
    blanks = np.zeros(len(widths), np.int64)
    data = np.empty(int((n * widths + 8).sum()) + n, np.uint8)
    _static_texts(text.reshape(-1), TEXT_BYTES, _TRIM_SLOTS, np.ascontiguousarray(msg_type),
                  offsets, data, valid, blanks)
    out, at = [], 0
    for f, w in enumerate(widths.tolist()):  # (a loop over the 3 fields)
        out.append((offsets[f], data[at:at + offsets[f, n]], valid[f], int(blanks[f])))
        at += n * w + 8
    out.append((offsets[-1], data[at:at + n], None, 0))
    return out


@njit(**_JIT)
def _whole_numbers(values, out, missing):
    for i in range(values.size):
        v = values[i]
        if np.isnan(v):
            out[i] = 0
            missing[i] = True
        else:
            out[i] = np.int64(v)
            missing[i] = False


def whole_numbers(values: np.ndarray) -> tuple:
    """Whole numbers held as floats (NaN: missing) as ``(int64 values, missing)``, 0 where
    missing, in one compiled pass (the GIL is released): the buffers of a nullable Int64
    column (four NumPy passes before, after the last chunk)."""
    values = np.ascontiguousarray(values, np.float64)
    out, missing = np.empty(values.size, np.int64), np.empty(values.size, np.bool_)
    _whole_numbers(values, out, missing)
    return out, missing


@njit(**_JIT)
def _vessel_groups_seen(values, seen_first, seen_last, mmsi, times, known, name_f, type_f,
                        name_offsets, name_data, type_values, table, shift, keys, at, first,
                        last, changes, prev):
    """:func:`_vessel_groups`, then each group's first and last times widened by those of
    ``values`` (``seen_first`` / ``seen_last``) that are its MMSI: probed in the key table
    the grouping filled (a table of its own for the keys, as a separate pass would build,
    is not needed)."""
    n = _vessel_groups(mmsi, times, known, name_f, type_f, name_offsets, name_data,
                       type_values, table, shift, keys, at, first, last, changes, prev)
    if n < 0:
        return n
    for i in range(values.size):
        _, k = _probe(table, keys, values[i], shift)
        if k >= 0:
            t = seen_first[i]
            if t != NAT_NS and t < first[k]:
                first[k] = t
            t = seen_last[i]
            if t > last[k]:
                last[k] = t
    return n
