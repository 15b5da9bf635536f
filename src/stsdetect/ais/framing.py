"""Vectorized framing of NMEA text: records, sentences, checksums, tag blocks, timestamps.

One call to :func:`frame_chunk` handles a whole chunk of bytes with NumPy: it finds records
(lines, and sentences run together on one line), classifies them, validates AIS sentence
structure and NMEA checksums, and attaches a time and a source to each AIS sentence from
whichever of these the dump carries:

* NMEA 4.10 tag blocks ``\\s:<source>,c:<unix s or ms>,g:<n>-<m>-<id>*hh\\`` before the sentence;
* a Gatehouse ``$PGHP,1,yyyy,mm,dd,hh,mm,ss,ms,country,region,pss,...`` line, which applies to
  the next AIS sentence (source = ``pss``);
* trailing columns after the checksum: USCG N-AIS ``,r<station>,<unix>`` and the longer
  ``,d-109,S2105,t..,T..,r<station>,<unix>,<unix>`` form, or a bare ``,<unix>`` column (the first
  all-digit 10- or 13-digit column is the time);
* a leading column before the sentence: ``2020-08-05T12:00:00Z,``, ``<unix>,`` or the first
  ``|``-separated field.

When several are present the priority is tag block, $PGHP, trailing column, leading column.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from .sixbit import sixbit_values

__all__ = ["FAST_BLOCK_LINES", "NAT_NS", "PART_FIELDS", "FramedChunk", "frame_chunk"]

NAT_NS = np.iinfo(np.int64).min
_PAD = 64
_BIG = np.int64(1) << 62

_HEX = np.full(256, 255, dtype=np.int16)
for _i, _c in enumerate(b"0123456789ABCDEF"):
    _HEX[_c] = _i
for _i, _c in enumerate(b"abcdef"):
    _HEX[_c] = 10 + _i


def _byte_set(chars: bytes) -> np.ndarray:
    """Lookup table: ``table[byte]`` is True for bytes in ``chars``."""
    table = np.zeros(256, dtype=bool)
    table[np.frombuffer(chars, dtype=np.uint8)] = True
    return table


# A '!' preceded by one of these does not start a new record (tag block end, leading columns).
_NO_SPLIT_BEFORE = _byte_set(b"\\,|; \t\r\n")
_LEAD_DELIMS = _byte_set(b",|;\t")
_TAG_KEY_PREV = _byte_set(b"\\,")
_IS_POSITION = np.zeros(256, dtype=bool)  # 6-bit value of the first character -> position type
_IS_POSITION[[1, 2, 3, 18, 19, 27]] = True

# Unix time plausibility: 2001-09-09 .. 2103-02-04 (seconds; the same span in milliseconds).
# AIS carriage became mandatory under SOLAS V/19 from July 2002, so no earlier AIS time is
# plausible, and from 2001-09-09 on Unix seconds have exactly 10 digits (13 in milliseconds).
_UNIX_S_MIN, _UNIX_S_MAX = 1_000_000_000, 4_200_000_000


@dataclass
class FramedChunk:
    """Result of :func:`frame_chunk`: counts and the valid AIS sentences of one chunk.

    ``buf`` holds the chunk bytes (zero padded); payload ``i`` is
    ``buf[p0[i] : p0[i] + n_chars[i]]``. All other arrays have one entry per valid AIS
    sentence; ``record`` is the sentence's record number in the chunk, and the rows are in
    record order from the general path but grouped by line layout from :func:`frame_chunk`
    (order them by ``record`` where order matters). ``source`` holds codes into
    ``source_names`` (0 = none). ``talker``, ``seq`` and ``channel``, which only pair up the
    fragments of multipart messages, are 0, -1 and 0 for single-part sentences.

    ``parts`` holds the single-part sentences that :func:`frame_chunk`'s fast path framed,
    one dict per line layout and block of lines, with the columns :data:`PART_FIELDS` (the
    others are constants for them: talker 0, n_frags 1, frag 1, seq -1, channel 0,
    group_id -1, group_total 0); they are not repeated in the arrays, which hold every other
    sentence. :meth:`rows` gives all sentences as arrays.
    """

    buf: np.ndarray
    n_records: int
    n_sentences: int
    skipped: dict
    notes: dict
    record: np.ndarray = field(default_factory=lambda: np.zeros(0, np.int64))
    talker: np.ndarray = field(default_factory=lambda: np.zeros(0, np.int64))
    n_frags: np.ndarray = field(default_factory=lambda: np.zeros(0, np.int64))
    frag: np.ndarray = field(default_factory=lambda: np.zeros(0, np.int64))
    seq: np.ndarray = field(default_factory=lambda: np.zeros(0, np.int64))
    channel: np.ndarray = field(default_factory=lambda: np.zeros(0, np.int64))
    p0: np.ndarray = field(default_factory=lambda: np.zeros(0, np.int64))
    n_chars: np.ndarray = field(default_factory=lambda: np.zeros(0, np.int64))
    fill: np.ndarray = field(default_factory=lambda: np.zeros(0, np.int64))
    msg_type: np.ndarray = field(default_factory=lambda: np.zeros(0, np.int64))
    time_ns: np.ndarray = field(default_factory=lambda: np.zeros(0, np.int64))
    source: np.ndarray = field(default_factory=lambda: np.zeros(0, np.int32))
    source_names: list = field(default_factory=lambda: [""])
    group_id: np.ndarray = field(default_factory=lambda: np.zeros(0, np.int64))
    group_total: np.ndarray = field(default_factory=lambda: np.zeros(0, np.int64))
    #: first byte of every record (records = lines plus sentences run together); set by the
    #: general path only, where frame_chunk needs it to place the records of the lines it
    #: hands over (empty in frame_chunk's result)
    rec_start: np.ndarray = field(default_factory=lambda: np.zeros(0, np.int64))
    parts: list = field(default_factory=list)
    #: records (numbers in the chunk, ascending) that are not the first record of their line:
    #: sentences run together after another one; the others start a line each, so a record's
    #: line is its number minus the extra records up to it
    extra: np.ndarray = field(default_factory=lambda: np.zeros(0, np.int64))

    def rows(self) -> dict:
        """Every sentence's columns (:data:`_ARRAY_FIELDS`): the parts', then the arrays'."""
        single = {"talker": 0, "n_frags": 1, "frag": 1, "seq": -1, "channel": 0,
                  "group_id": -1, "group_total": 0}
        out = {}
        for k in _ARRAY_FIELDS:
            cols = [p[k] if k in p else np.full(p["record"].size, single[k],
                                                dtype=getattr(self, k).dtype)
                    for p in self.parts]
            out[k] = np.concatenate([*cols, getattr(self, k)])
        return out


#: Columns of FramedChunk.parts.
PART_FIELDS = ("record", "p0", "n_chars", "fill", "msg_type", "time_ns", "source")


def _take(arr: np.ndarray, idx: np.ndarray, fill_value) -> np.ndarray:
    """``arr[idx]`` with ``fill_value`` where idx is out of range."""
    ok = (idx >= 0) & (idx < arr.size)
    out = np.full(idx.shape, fill_value, dtype=arr.dtype)
    out[ok] = arr[idx[ok]]
    return out


# SWAR ("SIMD within a register") constants: eight ASCII bytes per little-endian uint64 word.
_U64 = np.dtype("<u8")
_ASCII_ZEROS = np.uint64(0x3030303030303030)
_HIGH_BITS = np.uint64(0x8080808080808080)
_PLUS_46 = np.uint64(0x4646464646464646)
#: ``_LEAD_MASKS[k]``: per word of a right-aligned 16-byte field with ``k`` bytes before the
#: number (k = 0..16), the mask of those bytes (the low bytes of each word come first)
_LEAD_MASKS = np.array([[(1 << (8 * min(k, 8))) - 1, (1 << (8 * min(max(k - 8, 0), 8))) - 1]
                        for k in range(17)], dtype=np.uint64)
_C = {k: np.uint64(k) for k in (8, 10, 16, 32, 100, 10000, 100_000_000, 0x0F0F0F0F0F0F0F0F,
                                 0x00FF00FF00FF00FF, 0x0000FFFF0000FFFF, 0xFFFFFFFF, 0xFFFF)}


def words_at(a: np.ndarray) -> np.ndarray:
    """``words_at(a)[p]``: the little-endian 64-bit word of bytes ``a[p : p + 8]``.

    An overlapping view (stride 1 byte, item size 8), so gathering words at any byte offsets
    is one 1-D fancy index, twice as fast as gathering rows of a 2-D byte window.
    """
    a = np.ascontiguousarray(a, dtype=np.uint8)
    return np.ndarray(shape=(max(a.size - 7, 0),), dtype=_U64, buffer=a, strides=(1,))


def _swar_digits(x: np.ndarray) -> np.ndarray:
    """Value of eight ASCII digits per word (first digit in the lowest byte), as uint64.

    Three multiply-shift-mask steps combine neighbouring digits, pairs and quads in place.
    """
    c = _C
    x = x & c[0x0F0F0F0F0F0F0F0F]
    x = (x * c[10] + (x >> c[8])) & c[0x00FF00FF00FF00FF]
    x = (x * c[100] + (x >> c[16])) & c[0x0000FFFF0000FFFF]
    return (x * c[10000] + (x >> c[32])) & c[0xFFFFFFFF]


def _swar_not_digits(x: np.ndarray) -> np.ndarray:
    """Whether any of the eight bytes of each word is not an ASCII digit ``0-9``.

    A byte b <= 0x7F has its high bit set in ``b + 0x46`` iff b > '9' and in ``b - 0x30`` iff
    b < '0'; bytes >= 0x80 show in ``b`` itself. Carries and borrows between bytes only start
    at a byte that is already invalid, so they never turn a valid word invalid.
    """
    return (((x + _PLUS_46) | (x - _ASCII_ZEROS) | x) & _HIGH_BITS) != 0


def _parse_uint(a: np.ndarray, start: np.ndarray, end: np.ndarray, max_width: int):
    """Decimal integers in ``a[start:end]``: (value int64, ok bool).

    The bytes are gathered right-aligned into a ``(n, 16)`` block, read as two little-endian
    64-bit words per number, the bytes before the number replaced by ``'0'``, and the digits
    validated and combined eight at a time with integer arithmetic (exact up to 16 digits).
    """
    if max_width > 16:
        raise ValueError("at most 16 digits are parsed")
    length = end - start
    ok = (length > 0) & (length <= max_width)
    if not start.size:
        return np.zeros(0, dtype=np.int64), ok
    if (end[ok] < 16).any():  # a number at the very start of the buffer
        a = np.concatenate([np.zeros(16, dtype=np.uint8), a])
        end = end + 16
    at = words_at(a)
    e = np.where(ok, end, 16)
    lead = np.where(ok, 16 - length, 0)  # bytes before the number, replaced by '0'
    value = None
    for k in range(2):  # bytes e-16 .. e-9, then e-8 .. e-1
        mask = _LEAD_MASKS[lead, k]
        word = (at[e - 16 + 8 * k] & ~mask) | (_ASCII_ZEROS & mask)
        ok &= ~_swar_not_digits(word)
        digits = _swar_digits(word)
        value = digits if value is None else value * _C[100_000_000] + digits
    return np.where(ok, value.astype(np.int64), 0), ok


def _first_per_row(rows: np.ndarray):
    """Distinct values of a non-decreasing array and the index of each one's first entry."""
    if rows.size == 0:
        return rows, rows
    first = np.flatnonzero(np.concatenate(([True], rows[1:] != rows[:-1])))
    return rows[first], first


def _strings(a: np.ndarray, start: np.ndarray, end: np.ndarray, max_width: int = 32,
             digest: np.ndarray | None = None):
    """Distinct ASCII strings ``a[start:end]`` (cut at ``max_width``) and a code per span.

    Returns ``(codes int32, names list)``: span ``i`` reads ``names[codes[i]]``. Spans are
    told apart by a 64-bit key read 8 bytes at a time: a string of up to 7 bytes is its own
    key (its bytes and its length), a longer one a multiplicative hash of its words, so only
    distinct strings are ever turned into Python objects. A caller that already holds those
    keys (the fast path reads short fixed-width values from its words) passes ``digest``.
    """
    if start.size == 0:
        return np.zeros(0, dtype=np.int32), []
    length = np.minimum(np.maximum(end - start, 0), max_width)
    if digest is None:
        digest = _string_digest(a, start, length)
    codes, first = _digest_codes(digest)
    names = [bytes(a[start[i]:start[i] + length[i]]).decode("ascii", "replace") for i in first]
    return codes, names


def _digest_codes(digest: np.ndarray):
    """Codes of the distinct keys ``digest`` (in order of first appearance) and the index of
    each one's first row: ``(codes int32, first)``."""
    # A dump has few distinct names, nearly all among its first rows; look every row up
    # among those (a binary search in a tiny sorted array), hash-factorize only the rest.
    keys, first = np.unique(digest[:64], return_index=True)
    codes = np.minimum(np.searchsorted(keys, digest), keys.size - 1)
    miss = np.flatnonzero(keys[codes] != digest)
    if miss.size:
        extra = pd.factorize(digest[miss])[0]  # in order of first appearance
        codes[miss] = keys.size + extra
        seen = np.maximum.accumulate(extra)
        first = np.concatenate((first, miss[np.flatnonzero(np.concatenate(
            ([True], seen[1:] > seen[:-1])))]))
    return codes.astype(np.int32), first


def _names_at(a: np.ndarray, start: np.ndarray, width: int) -> list:
    """The strings ``a[s : s + width]`` for each ``s`` in ``start``."""
    return [bytes(a[s:s + width]).decode("ascii", "replace") for s in start.tolist()]


def _string_digest(a: np.ndarray, start: np.ndarray, length: np.ndarray) -> np.ndarray:
    """The 64-bit key of each string ``a[start : start + length]`` (see :func:`_strings`)."""
    at = words_at(a)
    top = at.size - 1
    width = int(length[0])
    if (length.min() != width) or (length.max() != width):
        width = -1  # strings of several lengths: masks per string

    def word(k):  # bytes 8k .. 8k+7 of each string, zero past its end
        raw = at[np.minimum(start + 8 * k, top)]
        if width >= 0:  # one length (a fast-path layout): one mask for all
            return raw & _LEAD_MASKS[min(max(width - 8 * k, 0), 8), 0]
        return raw & _LEAD_MASKS[np.clip(length - 8 * k, 0, 8), 0]

    first_word = word(0)
    digest = first_word | (length.astype(np.uint64) << np.uint64(56))
    n_words = (int(length.max()) + 7) // 8
    if length.max() > 7:
        prime = np.uint64(1099511628211)
        long_ = np.flatnonzero(length > 7)
        with np.errstate(over="ignore"):
            mixed = ((first_word[long_] * prime) ^ length[long_].astype(np.uint64)) * prime
            for k in range(1, n_words):  # a loop over 8-byte columns, not rows
                mixed = (mixed ^ word(k)[long_]) * prime
        digest[long_] = mixed
    return digest


def _string_array(a, start, end, max_width: int = 32) -> np.ndarray:
    """Object array of the strings ``a[start:end]`` (built from the distinct ones only)."""
    codes, names = _strings(a, start, end, max_width)
    return np.array([*names, ""], dtype=object)[codes] if codes.size else np.zeros(0, object)


def _two_dashes(a: np.ndarray, start: np.ndarray, end: np.ndarray):
    """Positions of the first two ``'-'`` in each ``a[start:end]`` (``end`` where missing).

    The values (tag-block group tags ``<n>-<m>-<id>``, of fragments only) are short, so they are
    scanned as one ``(n, width)`` window; a longer one is scanned in further windows.
    """
    d1 = end.copy()
    d2 = end.copy()
    seen = np.zeros(start.size, dtype=np.int64)
    active = np.flatnonzero(end > start)
    col = 0
    while active.size:  # blocks of 32 columns; one for every real group tag
        cols = np.arange(col, col + 32)
        pos = start[active, None] + cols
        dash = (a[np.minimum(pos, a.size - 1)] == 45) & (pos < end[active, None])
        rank = np.cumsum(dash, axis=1) + seen[active, None]
        for target, out in ((1, d1), (2, d2)):
            hit = dash & (rank == target)
            has = hit.any(axis=1)
            out[active[has]] = pos[has, hit[has].argmax(axis=1)]
        seen[active] = rank[:, -1]
        col += 32
        active = active[(seen[active] < 2) & (end[active] > start[active] + col)]
    return d1, d2


def _unix_to_ns(value: np.ndarray, ok: np.ndarray):
    """Unix seconds or milliseconds to ns; (ns, understood)."""
    secs = (value >= _UNIX_S_MIN) & (value < _UNIX_S_MAX)
    millis = (value >= _UNIX_S_MIN * 1000) & (value < _UNIX_S_MAX * 1000)
    good = ok & (secs | millis)
    ns = np.where(secs, value * 1_000_000_000, value * 1_000_000)
    return np.where(good, ns, NAT_NS), good


#: Trailing columns after the checksum that are examined for a time or station id (the
#: longest known layout, USCG N-AIS with libais metadata, has 7).
_MAX_TRAILING_COLUMNS = 12

#: Longest payload accepted in one sentence: an NMEA sentence has at most 82 characters, but
#: some receivers exceed that; 1000 leaves room for them while rejecting runaway garbage.
_MAX_PAYLOAD_CHARS = 1000


def _has_invalid_chars(a, p0, n_chars, rows) -> np.ndarray:
    """Whether each payload holds a character outside the 6-bit armouring alphabet.

    Payload bytes are gathered in blocks of 32 columns, only for payloads that reach that far,
    so the work is proportional to the payload bytes, not to the whole chunk.
    """
    bad = np.zeros(p0.size, dtype=bool)
    active = np.flatnonzero(rows)
    col = 0
    while active.size:  # blocks of columns (at most 1000 / 32 iterations)
        cols = np.arange(col, col + 32)
        inside = cols < n_chars[active, None]
        idx = np.where(inside, p0[active, None] + cols, 0)
        bad[active] |= ((sixbit_values(a[idx]) == 255) & inside).any(axis=1)
        col += 32
        active = active[n_chars[active] > col]
    return bad


def _tag_fields(a, rs, sv, tag_end, has_tag, j, ist, commas, commas_p, stars, stars_p):
    """Tags ``<letter>:<value>`` of the tag blocks: (sentence, value start, value end, letter).

    A tag block ``\\k:v,k:v*hh\\`` (NMEA 4.10) spans ``rs .. tag_end`` before sentence ``i``;
    its fields start after the opening ``\\`` and after each ``,`` (the commas before the
    sentence, whose index range in ``commas`` ends at ``j``), and a value ends at the next
    ``,`` or at the ``*`` (the last one before the sentence, index ``ist - 1`` in
    ``stars``). When every block of the chunk has this form the fields are enumerated from
    the commas alone; otherwise (blocks without a checksum, blocks run
    together) every ``<letter>:`` after a ``\\`` or ``,`` is a tag. A ``\\`` inside a
    value of a well-formed block (NMEA 4.10 reserves it as the block delimiter) is read as
    part of the value. Tags are returned in input order.
    """
    T = np.flatnonzero(has_tag)
    rs_t, end_t = rs[T], tag_end[T]
    j0 = np.searchsorted(commas, rs_t)
    ist_t = ist[T]
    star = stars_p[ist_t - 1]  # the last '*' before the sentence (index -1: padding) ...
    before_star = stars_p[ist_t - 2]  # ... and the one before it
    if ((ist_t < 1) | (star != end_t - 3) | ((ist_t >= 2) & (before_star > rs_t))).any():
        # a block not ending in its only '*hh' (no checksum, or blocks run together): tags may
        # follow a '\' inside it; find them by their ':' instead
        return _tag_fields_by_colon(a, rs, sv, tag_end, commas, commas_p, stars, stars_p)
    n_commas = j[T] - j0
    ordinal = np.arange(T.size)
    before = np.cumsum(n_commas) - n_commas  # commas of the blocks before
    total = int(n_commas.sum())
    row = np.repeat(ordinal, n_commas)  # block of each comma inside a block
    comma_idx = np.arange(total) + np.repeat(j0 - before, n_commas)
    # fields in input order: each block's first field, then one per comma
    first_out = before + ordinal
    comma_out = np.arange(total) + row + 1
    f = np.empty(T.size + total, dtype=np.int64)
    f[first_out] = rs_t + 1
    f[comma_out] = commas[comma_idx] + 1
    blk = np.empty(T.size + total, dtype=np.int64)
    blk[first_out] = ordinal
    blk[comma_out] = row
    nxt = np.empty(T.size + total, dtype=np.int64)  # the next ',' after the field start
    nxt[first_out] = commas_p[j0]
    nxt[comma_out] = commas_p[comma_idx + 1]
    end_f = end_t[blk]
    is_tag = np.flatnonzero((f + 1 < end_f) & (a[f + 1] == 58))
    f, blk, nxt, end_f = f[is_tag], blk[is_tag], nxt[is_tag], end_f[is_tag]
    value_end = np.minimum(np.minimum(nxt, star[blk]), end_f)
    return T[blk], f + 2, value_end, a[f]


def _tag_fields_by_colon(a, rs, sv, tag_end, commas, commas_p, stars, stars_p):
    """:func:`_tag_fields` for any tag block: every ``<letter>:`` after a ``\\`` or ``,``."""
    colon = np.flatnonzero(a == 58)
    colon = colon[(colon >= 2) & _TAG_KEY_PREV[a[colon - 2]]]
    # the sentence whose tag block holds the colon: the first one starting after it
    vi = np.searchsorted(sv, colon)
    inside = vi < sv.size
    inside[inside] &= (colon[inside] > rs[vi[inside]]) & (colon[inside] < tag_end[vi[inside]])
    colon, vi = colon[inside], vi[inside]
    vstart = colon + 1
    value_end = np.minimum(np.minimum(commas_p[np.searchsorted(commas, vstart)],
                                      stars_p[np.searchsorted(stars, vstart)]), tag_end[vi])
    return vi, vstart, value_end, a[colon - 1]


def _padded(data: bytes, n: int) -> np.ndarray:
    """The first ``n`` bytes of ``data`` and :data:`_PAD` zero bytes, as one uint8 array."""
    a = np.empty(n + _PAD, dtype=np.uint8)
    a[:n] = np.frombuffer(data, dtype=np.uint8, count=n)
    a[n:] = 0
    return a


def _padded_view(data: bytes, n: int, padded: bool) -> np.ndarray:
    """``data[:n]`` and :data:`_PAD` zero bytes as a uint8 array: in place when ``padded``."""
    if padded and len(data) >= n + _PAD:
        return np.frombuffer(data, dtype=np.uint8, count=n + _PAD)
    return _padded(data, n)


def _frame_general(data: bytes, n: int | None = None, padded: bool = False) -> FramedChunk:
    """Frame and validate one chunk of NMEA text, any layout (see :func:`frame_chunk`).

    Parameters
    ----------
    data : bytes
        Whole lines; the last one must end with ``b"\\n"``.
    n : int, optional
        Use only the first ``n`` bytes of ``data`` (default: all).
    padded : bool, default False
        Whether ``data[n : n + 64]`` already holds zero bytes (see :func:`frame_chunk`).

    Returns
    -------
    FramedChunk
    """
    n = len(data) if n is None else n
    a = _padded_view(data, n, padded)
    body = a[:n]
    skipped: dict = {}
    notes: dict = {}

    def skip(reason, count):
        count = int(count)
        if count:
            skipped[reason] = skipped.get(reason, 0) + count

    # ---- one pass over the bytes: positions of every structural character ----
    # (every byte it needs is <= 44: \t \n \r ! $ * ,; a compare beats a lookup)
    special = np.flatnonzero(body <= 44)
    kind = body[special]

    def where(byte):  # compress: faster than boolean-mask indexing
        return np.compress(kind == byte, special)

    bang = where(33)
    commas = where(44)
    stars = where(42)
    cand = np.compress((kind == 33) | (kind == 36), special)
    # a line ends at '\n', or at a '\r' not followed by '\n' (old Mac-style captures)
    cr = where(13)
    newline = np.union1d(where(10), cr[a[cr + 1] != 10]) if cr.size else where(10)
    # padded copies: indexing up to 16 places past the last hit reads "not found" (_BIG)
    pad = np.full(16, _BIG, dtype=np.int64)
    cand_p, commas_p, stars_p = (np.concatenate([x, pad]) for x in (cand, commas, stars))

    # ---- records: lines, and sentences run together on one line ----
    line_start = np.r_[0, newline[:-1] + 1].astype(np.int64)
    line_end = newline.astype(np.int64)
    cr = (line_end > line_start) & (a[line_end - 1] == 13)
    line_end[cr] -= 1
    split = bang[(bang > 0) & ~_NO_SPLIT_BEFORE[a[bang - 1]]]
    if split.size:
        rec_start = np.sort(np.concatenate([line_start, split]))
        rec_line = np.searchsorted(line_start, rec_start, side="right") - 1
        rec_end = np.minimum(line_end[rec_line], np.r_[rec_start[1:], n])
        extra = np.searchsorted(rec_start, split)  # (a split never falls on a line start)
    else:  # one record per line (a line ends before the next one starts)
        rec_start, rec_end = line_start, line_end
        extra = np.zeros(0, dtype=np.int64)
    n_rec = rec_start.size
    length = rec_end - rec_start

    # ---- classify records ----
    s = cand_p[np.searchsorted(cand, rec_start)]
    has = s < rec_end
    s = np.where(has, s, n)
    first = a[rec_start]
    is_vdx = (has & (a[s + 3] == 86) & (a[s + 4] == 68) & ((a[s + 5] == 77) | (a[s + 5] == 79))
              & (a[s + 6] == 44))
    is_pghp = has & (a[s] == 36) & (a[s + 1] == 80) & (a[s + 2] == 71) & (a[s + 3] == 72) \
        & (a[s + 4] == 80)
    # an NMEA address: 5 (or 4, proprietary '$Pxxx') upper-case letters / digits, then ','
    nmea_like = np.ones(n_rec, dtype=bool)
    for k in range(1, 5):
        c = a[s + k]
        nmea_like &= ((c >= 65) & (c <= 90)) | ((c >= 48) & (c <= 57)) | (c == 45)
    c5, c6 = a[s + 5], a[s + 6]
    nmea_like &= (c5 == 44) | ((((c5 >= 65) & (c5 <= 90)) | ((c5 >= 48) & (c5 <= 57)))
                               & ((c6 == 44) | (c6 == 42)))
    blank = ~has & ((length == 0) | (first == 35))
    tag_only = ~has & ~blank & (first == 92) & (a[np.maximum(rec_end - 1, 0)] == 92)
    skip("comment_or_blank", blank.sum())
    skip("metadata_line", tag_only.sum() + is_pghp.sum())
    other = has & ~is_vdx & ~is_pghp
    skip("non_ais_nmea", (other & nmea_like).sum())
    skip("not_nmea", (other & ~nmea_like).sum() + (~has & ~blank & ~tag_only).sum())

    V = np.flatnonzero(is_vdx)
    sv, rs, re_ = s[V], rec_start[V], rec_end[V]
    nv = V.size

    # ---- AIS sentence structure: 6 commas, '*hh' ----
    j = np.searchsorted(commas, sv)
    c = [commas_p[j + k] for k in range(6)]
    ist = np.searchsorted(stars, sv)  # index of each sentence's '*' (the first after '!')
    st = stars_p[ist]
    ok = (c[0] == sv + 6) & (c[5] < st) & (st + 3 <= re_)
    st_s = np.where(ok, st, n)
    cs = [np.where(ok, ck, n) for ck in c]
    h1, h2 = _HEX[a[st_s + 1]], _HEX[a[st_s + 2]]
    ok &= (h1 < 16) & (h2 < 16)
    bad_structure = ~ok
    # checksum: XOR of the bytes between '!' and '*'
    checked = np.flatnonzero(ok)
    bounds = np.empty(2 * checked.size, dtype=np.int64)
    bounds[0::2] = sv[checked] + 1
    bounds[1::2] = st_s[checked]
    xor = np.zeros(nv, dtype=np.int16)
    if checked.size:
        xor[checked] = np.bitwise_xor.reduceat(a, bounds)[0::2]
    bad_sum = ok & (xor != h1 * 16 + h2)
    ok &= ~bad_sum
    # fields
    d = lambda pos: a[pos].astype(np.int64) - 48  # noqa: E731
    n_frags = d(cs[0] + 1)
    frag = d(cs[1] + 1)
    seq_len = cs[3] - cs[2] - 1
    seq = np.where(seq_len == 1, d(cs[2] + 1), -1)
    chan_len = cs[4] - cs[3] - 1
    channel = np.where(chan_len == 1, a[cs[3] + 1], 0).astype(np.int64)
    fill = d(cs[5] + 1)
    fields_ok = ((cs[1] == cs[0] + 2) & (cs[2] == cs[1] + 2) & (n_frags >= 1) & (n_frags <= 9)
                 & (frag >= 1) & (frag <= n_frags) & (seq_len <= 1) & ((seq_len == 0) | (seq >= 0))
                 & (seq <= 9) & (chan_len <= 1) & (cs[5] + 1 < st_s) & (fill >= 0) & (fill <= 5))
    bad_fields = ok & ~fields_ok
    ok &= fields_ok
    p0 = cs[4] + 1
    n_chars = cs[5] - p0
    empty = ok & (n_chars <= 0)
    ok &= ~empty
    too_long = ok & (n_chars > _MAX_PAYLOAD_CHARS)
    ok &= ~too_long
    bad_structure |= too_long
    # Armouring characters: position reports are checked by the decoder on the characters it
    # reads (their first 24); other messages over their whole payload, here.
    first_value = sixbit_values(a[np.where(ok, p0, n)])
    is_position = np.take(_IS_POSITION, first_value) & (n_frags == 1)
    bad_chars = ok & ~is_position & _has_invalid_chars(a, p0, n_chars, ok & ~is_position)
    bad_chars |= ok & (first_value == 255)
    ok &= ~bad_chars
    msg_type = np.where(ok, first_value, 0).astype(np.int64)
    unsupported = ok & (n_frags == 1) & ((msg_type == 0) | (msg_type > 27))
    ok &= ~unsupported
    skip("malformed_sentence", bad_structure.sum() + bad_fields.sum())
    skip("bad_checksum", bad_sum.sum())
    skip("empty_payload", empty.sum())
    skip("bad_payload_char", bad_chars.sum())
    skip("unsupported_type", unsupported.sum())

    # ---- time and source ----
    time_ns = np.full(nv, NAT_NS, dtype=np.int64)
    source = np.zeros(nv, dtype=np.int32)  # codes into source_names; 0 = no source
    source_names = [""]
    name_code = {"": 0}

    def codes_of(local_codes, local_names):
        lookup = np.array([name_code.setdefault(nm, len(name_code)) for nm in local_names]
                          + [0], dtype=np.int32)
        source_names[:] = list(name_code)
        return lookup[local_codes]
    group_id = np.full(nv, -1, dtype=np.int64)  # tag-block g:<n>-<total>-<id>; -1 = none
    group_total = np.zeros(nv, dtype=np.int64)
    has_tag = (a[rs] == 92) & (sv - rs >= 2) & (a[sv - 1] == 92)
    tag_end = np.where(has_tag, sv - 1, -1)

    if nv and has_tag.any():
        vi, vstart_all, value_end, key = _tag_fields(a, rs, sv, tag_end, has_tag, j, ist,
                                                     commas, commas_p, stars, stars_p)
        for letter in (b"c", b"s", b"g"):
            sel = np.flatnonzero(key == letter[0])
            if sel.size == 0:
                continue
            rows, firsts = _first_per_row(vi[sel])
            sel = sel[firsts]
            if letter == b"g":  # group ids matter for multipart fragments only
                keep = n_frags[rows] > 1
                rows, sel = rows[keep], sel[keep]
            vstart = vstart_all[sel]
            vend = value_end[sel]
            if letter == b"c":
                val, vok = _parse_uint(a, vstart, vend, 13)
                ns, good = _unix_to_ns(val, vok)
                notes["time_unparsed"] = notes.get("time_unparsed", 0) + int((~good).sum())
                time_ns[rows] = ns
            elif letter == b"s":
                source[rows] = codes_of(*_strings(a, vstart, vend))
            else:
                d1, d2 = _two_dashes(a, vstart, vend)
                fine = d2 < vend
                total, ok_total = _parse_uint(a, np.where(fine, d1 + 1, 0),
                                              np.where(fine, d2, 0), 2)
                gid, ok_id = _parse_uint(a, np.where(fine, d2 + 1, 0), np.where(fine, vend, 0), 12)
                fine &= ok_total & ok_id
                group_id[rows[fine]] = gid[fine]
                group_total[rows[fine]] = total[fine]

    # $PGHP lines: time and source for the next AIS sentence
    P = np.flatnonzero(is_pghp)
    if P.size and nv:
        sp = s[P]
        jp = np.searchsorted(commas, sp)
        pc = [commas_p[jp + k] for k in range(12)]
        pok = pc[11] < rec_end[P]
        pcs = [np.where(pok, x, n) for x in pc]
        parts = {}
        for name, k, width in (("year", 1, 4), ("month", 2, 2), ("day", 3, 2), ("hour", 4, 2),
                               ("minute", 5, 2), ("second", 6, 2), ("ms", 7, 4)):
            val, vok = _parse_uint(a, pcs[k] + 1, pcs[k + 1], width)
            pok &= vok
            parts[name] = np.where(pok, val, 1)
        # ms values above 999 are not milliseconds: leave the sentence without time
        pok &= parts["ms"] <= 999
        stamp = pd.to_datetime(pd.DataFrame(parts), errors="coerce", utc=True)
        pns = stamp.to_numpy(dtype="datetime64[ns]").view(np.int64)
        pns = np.where(pok, pns, NAT_NS)
        pss = codes_of(*_strings(a, pcs[10] + 1, pcs[11]))
        nxt_v = np.searchsorted(V, P)  # first AIS record after each $PGHP
        nxt_p = np.r_[P[1:], _BIG]
        applies = (nxt_v < nv) & (_take(V, nxt_v, _BIG) < nxt_p)
        tgt = nxt_v[applies]
        fill_t = time_ns[tgt] == NAT_NS
        time_ns[tgt[fill_t]] = pns[applies][fill_t]
        fill_s = source[tgt] == 0
        source[tgt[fill_s]] = pss[applies][fill_s]
        notes["time_unparsed"] = notes.get("time_unparsed", 0) + int((~pok).sum())

    # trailing columns after '*hh': walk the commas of the records that have a tail
    tailed = np.flatnonzero(ok & (re_ > st_s + 3) & (a[st_s + 3] == 44))
    if tailed.size:
        first_comma = np.searchsorted(commas, st_s[tailed] + 3)
        idx_parts, vi_parts = [], []
        for k in range(_MAX_TRAILING_COLUMNS):  # a loop over columns, not rows
            idx_k = first_comma + k
            inside = idx_k < commas.size
            inside[inside] &= commas[idx_k[inside]] < re_[tailed[inside]]
            if not inside.any():
                break
            idx_parts.append(idx_k[inside])
            vi_parts.append(tailed[inside])
        idx = np.concatenate(idx_parts) if idx_parts else np.zeros(0, np.int64)
        vi = np.concatenate(vi_parts) if vi_parts else np.zeros(0, np.int64)
        order = np.argsort(idx, kind="stable")
        idx, vi = idx[order], vi[order]
        if idx.size:
            fstart = commas[idx] + 1
            fend = np.minimum(commas_p[idx + 1], re_[vi])
            val, vok = _parse_uint(a, fstart, fend, 13)
            flen = fend - fstart
            vok &= (flen == 10) | (flen == 13)
            ns, good = _unix_to_ns(val, vok)
            sel = np.flatnonzero(good)
            rows, firsts = _first_per_row(vi[sel])
            empty_t = time_ns[rows] == NAT_NS
            time_ns[rows[empty_t]] = ns[sel[firsts]][empty_t]
            sel = np.flatnonzero((a[fstart] == 114) & (flen > 1))  # 'r<station>'
            rows, firsts = _first_per_row(vi[sel])
            empty_s = source[rows] == 0
            src = codes_of(*_strings(a, fstart[sel[firsts]] + 1, fend[sel[firsts]]))
            source[rows[empty_s]] = src[empty_s]

    # leading column before the sentence
    lead = ok & ~has_tag & (sv > rs) & (time_ns == NAT_NS)
    L = np.flatnonzero(lead)
    if L.size:
        ldel = np.flatnonzero(_LEAD_DELIMS[body])
        lend = np.minimum(_take(ldel, np.searchsorted(ldel, rs[L]), n), sv[L])
        val, vok = _parse_uint(a, rs[L], lend, 13)
        ns, good = _unix_to_ns(val, vok)
        text_rows = ~vok & (lend - rs[L] >= 8)
        if text_rows.any():
            text = _string_array(a, rs[L][text_rows], lend[text_rows], 40)
            parsed = pd.to_datetime(pd.Series(text, dtype=object), errors="coerce", utc=True,
                                    format="ISO8601")
            tns = parsed.to_numpy(dtype="datetime64[ns]").view(np.int64)
            ns[text_rows] = tns
            good[text_rows] = tns != NAT_NS
        time_ns[L] = np.where(good, ns, NAT_NS)
        notes["time_unparsed"] = notes.get("time_unparsed", 0) + int((~good).sum())

    G = np.flatnonzero(ok)
    notes = {k: v for k, v in notes.items() if v}
    fragment = n_frags[G] > 1  # talker, sequence id and channel matter for fragments only
    return FramedChunk(
        buf=a,
        n_records=int(n_rec),
        n_sentences=int(nv),
        skipped=skipped,
        notes=notes,
        record=V[G],
        talker=np.where(fragment, (a[sv[G] + 1].astype(np.int64) << 8) | a[sv[G] + 2], 0),
        n_frags=n_frags[G],
        frag=frag[G],
        seq=np.where(fragment, seq[G], -1),
        channel=np.where(fragment, channel[G], 0),
        p0=p0[G],
        n_chars=n_chars[G],
        fill=fill[G],
        msg_type=msg_type[G],
        time_ns=time_ns[G],
        source=source[G],
        source_names=source_names,
        group_id=group_id[G],
        group_total=group_total[G],
        rec_start=rec_start,
        extra=extra,
    )


# --------------------------------------------------------------------------- fast path
# Bytes that can change how the general path frames a line: everything it searches for
# (<= 44: \t \n \r ! $ * , ...), '\\' and '|'; before the sentence also the tag-key ':' and the
# leading-column ';'. In a line of the fast path they sit exactly where the template has them.


def _structural(mat: np.ndarray, sv: int) -> np.ndarray:
    """Whether each byte of ``mat`` (lines as rows; the sentence starts at column ``sv``) is
    one the general path treats as structure (';' and ':' only matter before the sentence:
    after it they are payload characters)."""
    out = (mat <= 44) | (mat == 92) | (mat == 124)
    head = mat[:, :sv]
    out[:, :sv] |= (head == 58) | (head == 59)
    return out


#: Smallest group of same-length lines worth a template (below it the general path is cheaper).
_MIN_BUCKET = 32
#: Layouts tried per line length (e.g. ``s:139,...,A`` and ``s:1180,...,<no channel>``).
_LAYOUTS_PER_LENGTH = 3


@dataclass
class _Template:
    """Column layout shared by lines of one length: ``\\k:v,...*hh\\!xxVDx,1,1,s,c,<p>,f*hh``."""

    struct: np.ndarray  # whether each column holds a structural byte (:func:`_structural`)
    fixed: np.ndarray  # columns that must hold the template's byte: structure, tag keys, ...
    fixed_bytes: np.ndarray  # ... 'VD' of 'VDM'/'VDO' and the fragment numbers ('1,1', '2,1')
    sv: int
    seq: int  # column of the sequence digit, -1 if the field is empty
    chan: int  # column of the channel, -1 if empty
    p0: int
    n_chars: int
    fill: int
    st: int
    c_span: tuple | None
    s_span: tuple | None
    n_frags: int = 1
    frag: int = 1
    #: columns of a fragment's ``g:<a>-<total>-<id>`` value: (start, first '-', second '-', end)
    g_span: tuple | None = None
    words: dict = field(default_factory=dict)  # the masks above as 64-bit words (_word_masks)


_ONES = np.uint64(0x0101010101010101)


def _as_words(row: np.ndarray, n_words: int) -> np.ndarray:
    out = np.zeros(8 * n_words, dtype=np.uint8)
    out[:row.size] = row
    return out.view(_U64)


def _row_byte(w: np.ndarray, col: int) -> np.ndarray:
    """Byte ``col`` of every line (word rows ``w``) as uint64."""
    return (w[col >> 3] >> np.uint64(8 * (col & 7))) & np.uint64(0xFF)


def _pair_from_rows(w: np.ndarray, col: int) -> np.ndarray:
    """Bytes ``col`` and ``col + 1`` of every line as a 16-bit number (uint64)."""
    j, r = col >> 3, col & 7
    if r < 7:
        return (w[j] >> np.uint64(8 * r)) & np.uint64(0xFFFF)
    return (w[j] >> np.uint64(56)) | ((w[j + 1] & np.uint64(0xFF)) << np.uint64(8))


def _digit_plan(c0: int, c1: int) -> list:
    """How :func:`_digits_value` reads the digits in columns ``c0 .. c1 - 1`` (1 to 16).

    One step per word row the digits touch: (row, left shift that puts the row's last digit
    in the word's top byte, number of digits in the row, mask of their low nibbles).
    """
    plan = []
    for j in range(c0 >> 3, ((c1 - 1) >> 3) + 1):
        lo, hi = max(c0 - 8 * j, 0), min(c1 - 1 - 8 * j, 7)
        nd = hi - lo + 1
        mask = sum(0x0F << (8 * b) for b in range(8 - nd, 8))
        plan.append((j, np.uint64(8 * (7 - hi)), nd, np.uint64(mask)))
    return plan


def _digits_value(w: np.ndarray, plan: list) -> np.ndarray:
    """The decimal number at the columns of ``plan`` (:func:`_digit_plan`) of every line.

    The digits must be valid (the template checks them): each word row's digits, moved to
    the top bytes behind leading zeros, are combined pairwise by SWAR multiply-shift-mask
    steps, the first digit in the lowest byte. Returns uint64.
    """
    c = _C
    value = None
    for j, shift, nd, mask in plan:  # a loop over the (one to three) word rows
        x = w[j] << shift if shift else w[j].copy()
        x &= mask
        if nd <= 4:  # the digits sit in the top four bytes: two steps on the upper half
            x >>= c[32]
            x = (x * c[10] + (x >> c[8])) & c[0x00FF00FF00FF00FF]
            x = (x * c[100] + (x >> c[16])) & c[0xFFFF]
        else:
            x = (x * c[10] + (x >> c[8])) & c[0x00FF00FF00FF00FF]
            x = (x * c[100] + (x >> c[16])) & c[0x0000FFFF0000FFFF]
            x = (x * c[10000] + (x >> c[32])) & c[0xFFFFFFFF]
        if value is None:
            value = x
        else:
            value *= np.uint64(10 ** nd)
            value += x
    return value


# --- the byte tests of a template, one word operation each over all word rows -----------
# Every byte b of a line gets one threshold test: y = b ^ T ^ 0x80, then (y - B) has its top
# bit set iff (y & 0x7F) >= B (B <= 0x80: no borrow between bytes while b < 0x80), compared
# with the expected top bit E, and any b >= 0x80 is bad (a conservative rule: such lines
# take the general path; a borrow from such a byte only reaches later bytes of its line).
_FIXED = (0x00, 1, 0x00)  # a template byte (T set to it below): bad unless y == 0
_DIGIT = (0x30, 10, 0x00)  # a decimal digit: bad unless b ^ '0' <= 9
_FILL = (0x30, 6, 0x00)  # a fill-bits digit 0..5
_PLAIN = (0x00, 45, 0x80)  # any other byte of the line: bad if b <= 44, a structural byte
_PAST = (0x00, 0, 0x80)  # past the line end: never bad (their high bits are masked off)

# 16-bit pairs of bytes (the first in the low byte) looked up at once
_PAIR_FIRST, _PAIR_SECOND = np.arange(1 << 16) & 0xFF, np.arange(1 << 16) >> 8
#: pair -> neither byte is ':' nor '\\' (which may start or end a tag)
_NO_TAG_DELIM = ~(_byte_set(b":\\")[_PAIR_FIRST] | _byte_set(b":\\")[_PAIR_SECOND])
#: pair -> its value as two hex digits (either case, as the general path reads them), or -1
_HEX_PAIR = np.where((_HEX[_PAIR_FIRST] < 16) & (_HEX[_PAIR_SECOND] < 16),
                     _HEX[_PAIR_FIRST] * 16 + _HEX[_PAIR_SECOND], -1).astype(np.int16)


def _word_masks(tp: _Template, row: np.ndarray) -> dict:
    """The template's checks as per-word constants over a line gathered ``8 * n`` bytes wide."""
    width = row.size
    n = (width + 7) // 8
    tbl = np.empty((8 * n, 3), dtype=np.int64)
    tbl[:] = _PAST
    tbl[:width] = _PLAIN
    tbl[tp.fixed] = _FIXED
    tbl[tp.fixed, 0] = row[tp.fixed]
    tbl[tp.sv + 5] = (row[tp.sv + 5], 1, 0)  # 'M' or 'O': bit 1 cleared from y below
    digits = []
    if tp.c_span is not None:
        digits.append(tp.c_span)
    if tp.g_span is not None:
        g0, d1, d2, g1 = tp.g_span
        digits += [(g0, d1), (d1 + 1, d2), (d2 + 1, g1)]
    for lo, hi in digits:
        tbl[lo:hi] = _DIGIT
    if tp.seq >= 0:
        tbl[tp.seq] = _DIGIT
    tbl[tp.fill] = _FILL
    as_words = lambda k: _as_words(tbl[:, k].astype(np.uint8), n)[:, None]  # noqa: E731
    m = {"n": n, "T": as_words(0) ^ _HIGH_BITS, "B": as_words(1), "E": as_words(2)}
    mo = tp.sv + 5
    m["mo"] = (mo >> 3, ~np.uint64(2 << (8 * (mo & 7))))
    m["last"] = np.uint64((1 << (8 * (width - 8 * (n - 1)))) - 1) if width % 8 else None
    # tag values must hold no ':' or '\\' (they would start or end a tag): checked on the
    # tag checksum's two characters with a table, and on a short source name (its own
    # digest key, see _strings) per distinct name; any other tag value byte by byte (SWAR)
    free = np.zeros(width, dtype=bool)
    free[1:tp.sv] = True
    free[tp.fixed[tp.fixed < tp.sv]] = False
    for lo, hi in digits:
        free[lo:hi] = False
    s_width = tp.s_span[1] - tp.s_span[0] if tp.s_span is not None else 0
    named = free.copy()
    if tp.sv:
        named[tp.sv - 3:tp.sv - 1] = False  # the tag checksum
    if 1 <= s_width <= 7:
        named[tp.s_span[0]:tp.s_span[1]] = False
    byte_by_byte = named.any()
    m["tag_pair"] = tp.sv - 3 if tp.sv and not byte_by_byte else -1
    m["s_names"] = not byte_by_byte and 1 <= s_width <= 7
    if not byte_by_byte:
        free[:] = False
    free_w = _as_words(free.astype(np.uint8) * np.uint8(0xFF), n)
    tag_rows = np.flatnonzero(free_w)
    m.update(tag_rows=tag_rows, free=free_w[tag_rows][:, None],
             not_free=(~free_w[tag_rows] & np.uint64(0x4141414141414141))[:, None])
    m["c_plan"] = _digit_plan(*tp.c_span) if tp.c_span is not None else None
    if tp.g_span is not None:
        g0, d1, d2, g1 = tp.g_span
        m["g_plans"] = (_digit_plan(d1 + 1, d2), _digit_plan(d2 + 1, g1))
    # the checksum: XOR of the sentence's bytes between '!' and '*', whole words at once
    xor = np.zeros(8 * n, dtype=np.uint8)
    xor[tp.sv + 1:tp.st] = 0xFF
    xor_w = _as_words(xor, n)
    full = np.flatnonzero(xor_w == np.uint64(0xFFFFFFFFFFFFFFFF))
    part = np.flatnonzero((xor_w != 0) & (xor_w != np.uint64(0xFFFFFFFFFFFFFFFF)))
    m["xor_full"] = (int(full[0]), int(full[-1]) + 1) if full.size else (0, 0)
    m["xor_part"] = [(int(k), xor_w[k]) for k in part]
    payload = np.zeros(8 * n, dtype=np.uint8)
    payload[tp.p0:tp.p0 + tp.n_chars] = 0x80
    m["payload"] = _as_words(payload, n)[:, None]
    return m


def _line_template(t: bytes) -> _Template | None:
    """The fast-path layout of line ``t``, or None when the line is not of that form.

    The form: one NMEA 4.10 tag block ``\\<fields>*hh\\`` at the line start, directly followed
    by a ``!xxVDM``/``!xxVDO`` sentence (single-part, or one fragment of a multipart message,
    with one-digit fragment fields) ending in ``*hh`` at the line end (or that sentence alone
    on its line), with no byte that the general path treats as structure anywhere else. A
    fragment's ``g:`` group value is read at the columns of the template's two dashes. Only
    the structure is checked here; each line's own values are checked in :func:`_fast_lines`.
    """
    n = len(t)
    if n < 20 or t[0] not in (33, 92):
        return None
    c_span = s_span = g_span = None
    if t[0] == 33:  # a bare sentence: no tag block, so no time and no source either
        sv = 0
        allowed = {0}
    else:
        bs = t.find(b"\\", 1)
        if bs < 4 or bs + 1 >= n or t[bs + 1] != 33 or t[bs - 3] != 42:
            return None
        sv, star_t = bs + 1, bs - 3
        allowed = {0, star_t, bs, sv}
        f = 1
        for fld in t[1:star_t].split(b","):
            if f > 1:
                allowed.add(f - 1)  # the comma before this field
            if len(fld) >= 2 and fld[1] == 58:
                allowed.add(f + 1)
                span = (f + 2, f + len(fld))
                if fld[0] == 99 and c_span is None:
                    c_span = span
                elif fld[0] == 115 and s_span is None:
                    s_span = span
                elif fld[0] == 103 and g_span is None:
                    g_span = span
            f += len(fld) + 1
    n_frags, frag = t[sv + 7] - 48, t[sv + 9] - 48
    if t[sv + 6] != 44 or t[sv + 8] != 44 or t[sv + 10] != 44 or not 1 <= frag <= n_frags <= 9:
        return None
    commas = [i for i in range(sv, n) if t[i] == 44][:6]
    st = t.find(b"*", sv)
    if len(commas) < 6 or st < commas[5] + 2 or st + 3 != n:
        return None
    cs = commas
    seq_len, chan_len = cs[3] - cs[2] - 1, cs[4] - cs[3] - 1
    n_chars = cs[5] - cs[4] - 1
    if (cs[0] != sv + 6 or cs[1] != cs[0] + 2 or cs[2] != cs[1] + 2 or seq_len > 1
            or chan_len > 1 or not 0 < n_chars <= _MAX_PAYLOAD_CHARS):
        return None
    if c_span is not None and not 1 <= c_span[1] - c_span[0] <= 13:
        return None
    dashes: list = []
    if n_frags > 1 and g_span is not None:  # '<a>-<total>-<id>': the general path's limits
        g0, g1 = g_span
        dashes = [i for i in range(g0, g1) if t[i] == 45][:2]
        if (len(dashes) < 2 or not 1 <= dashes[0] - g0 <= 16
                or not 1 <= dashes[1] - dashes[0] - 1 <= 2 or not 1 <= g1 - dashes[1] - 1 <= 12):
            return None
        g_span = (g0, dashes[0], dashes[1], g1)
    else:
        g_span = None
    allowed |= set(cs) | {st}
    row = np.frombuffer(t, dtype=np.uint8)
    struct = _structural(row[None, :], sv)[0]
    if set(np.flatnonzero(struct).tolist()) != allowed:
        return None
    if t[sv + 3:sv + 5] != b"VD" or t[sv + 5] not in (77, 79):
        return None
    keys = [k - 1 for k in allowed if k < sv and t[k] == 58]
    fixed = np.array(sorted(allowed | set(keys) | set(dashes)
                            | {sv + 3, sv + 4, cs[0] + 1, cs[1] + 1}), dtype=np.int64)
    tp = _Template(struct=struct, fixed=fixed, fixed_bytes=row[fixed], sv=sv,
                   seq=cs[2] + 1 if seq_len else -1,
                   chan=cs[3] + 1 if chan_len else -1, p0=cs[4] + 1, n_chars=n_chars,
                   fill=cs[5] + 1, st=st, c_span=c_span, s_span=s_span, n_frags=n_frags,
                   frag=frag, g_span=g_span)
    tp.words = _word_masks(tp, row)
    return tp


def _swar_not_sixbit(w: np.ndarray, mask: np.ndarray) -> np.ndarray:
    """Whether any byte of each line (word rows ``w``) where ``mask`` has its high bit is not
    an armouring character (``0``-``W``, `````-``w``: ITU-R M.1371-5 Annex 8, table 44).

    With the high bit set first, subtracting ``k`` from every byte leaves that bit set iff
    the byte's low 7 bits are >= k, and no borrow crosses bytes.
    """
    y = w | _HIGH_BITS
    ge = {k: (y - _ONES * np.uint64(k)) for k in (48, 88, 96, 120)}
    valid = (ge[48] & ~ge[88]) | (ge[96] & ~ge[120])
    valid &= ~w  # bytes >= 0x80 are never valid
    bad = ~valid & mask
    return np.bitwise_or.reduce(bad, axis=0) != 0


def _word_from_rows(w: np.ndarray, col: int) -> np.ndarray:
    """Bytes ``col .. col + 7`` of every line as one word, from the word rows ``w``.

    Columns before the line start, and past the last word, read as zero bytes. Always a new
    array (callers modify it in place).
    """
    if col <= -8:
        return np.zeros(w.shape[1], dtype=_U64)
    if col < 0:
        return w[0] << np.uint64(-8 * col)
    j, r = col >> 3, col & 7
    if r == 0:
        return w[j].copy()
    if j + 1 == w.shape[0]:  # the last word: the bytes past it lie beyond the line
        return w[j] >> np.uint64(8 * r)
    return (w[j] >> np.uint64(8 * r)) | (w[j + 1] << np.uint64(64 - 8 * r))


#: Templates seen recently, by line length (a dump repeats a few layouts in every chunk).
_TEMPLATE_CACHE: dict = {}
_TEMPLATES_PER_LENGTH = 8


def _cached_template(t: bytes) -> _Template | None:
    """:func:`_line_template` of ``t``, reusing a cached template of the same layout.

    A line has the layout of a template when it has the template's bytes at the template's
    fixed columns and its structural bytes at the same columns: everything
    :func:`_line_template` derives (field columns, tag value spans) then comes out the same.
    """
    row = np.frombuffer(t, dtype=np.uint8)
    cached = _TEMPLATE_CACHE.setdefault(len(t), [])
    for tp in cached:
        if (np.array_equal(row[tp.fixed], tp.fixed_bytes)
                and np.array_equal(_structural(row[None, :], tp.sv)[0], tp.struct)):
            return tp
    tp = _line_template(t)
    if tp is not None:
        if len(_TEMPLATE_CACHE) > 4096:  # bound the cache on a dump of ever-new layouts
            _TEMPLATE_CACHE.clear()
            _TEMPLATE_CACHE[len(t)] = cached
        cached.insert(0, tp)
        del cached[_TEMPLATES_PER_LENGTH:]
    return tp


def _fast_lines(a: np.ndarray, starts: np.ndarray, tp: _Template):
    """Lines (starting at ``starts``) that follow template ``tp`` and are valid position reports.

    Each line is gathered as ``n`` little-endian 64-bit words, transposed to one contiguous
    row per word column (``w[k]`` holds bytes ``8k .. 8k + 7`` of every line), and checked
    with a few whole-row word operations; single bytes are read from those rows by shifting,
    never from a strided byte matrix (each such read would touch every cache line of it).

    Returns ``(ok, columns)``: whether each line is handled here, and the FramedChunk columns
    of the handled ones (with ``time_ns`` and the source value span, or its codes).
    """
    m = tp.words
    n_words = m["n"]
    width = 8 * n_words
    # each line as one opaque item of ``width`` bytes: gathering those items and transposing
    # beats gathering rows of a 2-D byte window (twice as slow) or each word column alone
    lines = np.ndarray(shape=(a.size - width + 1,), dtype=np.dtype((np.void, width)),
                       buffer=a, strides=(1,))
    w = np.ascontiguousarray(lines[starts].view(_U64).reshape(-1, n_words).T)
    sv, st = tp.sv, tp.st

    # every byte's test (see _word_masks): structure and fixed bytes where the template has
    # them, digits, fill bits; in place, four whole-matrix operations
    y = w ^ m["T"]
    mo_row, mo_clear = m["mo"]
    y[mo_row] &= mo_clear  # 'M' and 'O' alike
    y -= m["B"]
    y ^= m["E"]
    y |= w
    if m["last"] is not None:
        y[-1] &= m["last"]
    tag_rows = m["tag_rows"]
    if tag_rows.size:  # no ':' or '\\' in the tag values
        tw = w[tag_rows] & m["free"]
        tw |= m["not_free"]
        for c in b":\\":
            v = tw ^ (_ONES * np.uint64(c))
            hit = v - _ONES
            np.invert(v, out=v)
            hit &= v
            hit &= _HIGH_BITS
            y[tag_rows] |= hit
    bad = np.bitwise_or.reduce(y, axis=0)
    bad &= _HIGH_BITS
    ok = bad == 0
    if m["tag_pair"] >= 0:
        ok &= _NO_TAG_DELIM.take(_pair_from_rows(w, m["tag_pair"]))
    # the checksum: XOR of the bytes between '!' and '*' against its two hex characters
    x0, x1 = m["xor_full"]
    xor = np.bitwise_xor.reduce(w[x0:x1], axis=0) if x1 > x0 else np.zeros(starts.size, _U64)
    for k, mask in m["xor_part"]:
        xor ^= w[k] & mask
    xor ^= xor >> np.uint64(32)
    xor ^= xor >> np.uint64(16)
    xor ^= xor >> np.uint64(8)
    xor &= np.uint64(0xFF)
    ok &= _HEX_PAIR.take(_pair_from_rows(w, st + 1)) == xor.view(np.int64)
    fill = _row_byte(w, tp.fill).view(np.int64) - 48
    first_value = sixbit_values(_row_byte(w, tp.p0))
    if tp.n_frags == 1:
        # position reports: the decoder checks the characters it reads; other single-part
        # messages (type 4, 21, 24, ...): every payload character, as the general path does
        is_position = _IS_POSITION.take(first_value)
        other = np.flatnonzero(~is_position)
        if other.size:
            is_position[other] = ((first_value[other] >= 1) & (first_value[other] <= 27)
                                  & ~_swar_not_sixbit(w[:, other], m["payload"]))
        ok &= is_position
    else:
        ok &= ~_swar_not_sixbit(w, m["payload"])
    if tp.c_span is not None:
        c0, c1 = tp.c_span
        value = _digits_value(w, m["c_plan"]).view(np.int64)
        if c1 - c0 in (10, 13):  # one unit only: seconds (10 digits) or milliseconds (13)
            scale = 1_000_000_000 if c1 - c0 == 10 else 1_000_000
            lo = _UNIX_S_MIN * 1_000_000_000 // scale
            ok &= (value >= lo) & (value < lo // _UNIX_S_MIN * _UNIX_S_MAX)
            time_ns = value * scale
        else:
            time_ns, good = _unix_to_ns(value, np.ones(starts.size, dtype=bool))
            ok &= good
    else:
        time_ns = np.full(starts.size, NAT_NS, dtype=np.int64)
    s_span = tp.s_span if tp.s_span is not None else (0, 0)
    s_width = s_span[1] - s_span[0]
    digest = codes = None
    if 1 <= s_width <= 7:  # the source's key as _strings makes it, from the words at hand
        digest = _word_from_rows(w, s_span[0])
        digest &= _LEAD_MASKS[s_width, 0]
        digest |= np.uint64(s_width << 56)
        if m["s_names"]:  # names with a ':' or '\\' leave for the general path
            codes, first = _digest_codes(digest)
            names = _names_at(a, starts[first] + s_span[0], s_width)
            tag_delim = np.array([":" in nm or "\\" in nm for nm in names])
            if tag_delim.any():
                ok &= ~tag_delim[codes]
    k = np.flatnonzero(ok)
    if k.size == ok.size:  # every line passed: the columns as they are, no gathers
        k = slice(None)
    start_k = starts[k]
    n_ok = start_k.size
    cols = {
        "p0": start_k + tp.p0,
        "n_chars": np.full(n_ok, tp.n_chars, dtype=np.int64),
        "fill": fill[k],
        "msg_type": first_value[k].astype(np.int64),
        "time_ns": time_ns[k],
        "s0": start_k + s_span[0],
        "s1": start_k + s_span[1] if tp.s_span is not None else start_k - 1,
    }
    if tp.n_frags > 1:  # the fields that pair up fragments (see FramedChunk)
        if tp.g_span is not None:
            total_plan, id_plan = m["g_plans"]
            group_total = _digits_value(w, total_plan).view(np.int64)[k]
            group_id = _digits_value(w, id_plan).view(np.int64)[k]
        else:
            group_id = np.full(n_ok, -1, dtype=np.int64)
            group_total = np.zeros(n_ok, dtype=np.int64)
        channel = (_row_byte(w, tp.chan).view(np.int64)[k] if tp.chan >= 0
                   else np.zeros(n_ok, dtype=np.int64))
        talker = (_row_byte(w, sv + 1) << np.uint64(8)) | _row_byte(w, sv + 2)
        seq = (_row_byte(w, tp.seq).view(np.int64)[k] - 48 if tp.seq >= 0
               else np.full(n_ok, -1, dtype=np.int64))
        cols.update(talker=talker.view(np.int64)[k], seq=seq,
                    channel=channel, n_frags=np.full(n_ok, tp.n_frags, dtype=np.int64),
                    frag=np.full(n_ok, tp.frag, dtype=np.int64), group_id=group_id,
                    group_total=group_total)
    if codes is not None:
        cols["s_codes"], cols["s_names"] = codes[k], names
    elif digest is not None:
        cols["s_digest"] = digest[k]
    return ok, cols


#: Most lines checked by one :func:`_fast_lines` call in :func:`frame_chunk`. Its working
#: set (the lines as words plus two temporaries of that size, about 3 x 72 bytes a line) then
#: stays near a core's L2 cache while a chunk may be larger, so that the general path's fixed
#: cost is paid for more lines. Measured with DEFAULT_CHUNK_BYTES (see reader.py).
FAST_BLOCK_LINES = 16384


_ARRAY_FIELDS = ("record", "talker", "n_frags", "frag", "seq", "channel", "p0", "n_chars", "fill",
                 "msg_type", "time_ns", "source", "group_id", "group_total")


def frame_chunk(data: bytes, n: int | None = None, padded: bool = False) -> FramedChunk:
    """Frame and validate one chunk of NMEA text.

    Lines sharing one length and one layout (a tag block and a single-part position report
    with every field at the same column, as most lines of a receiver's dump are) are handled
    by a line-structured fast path: a few whole-matrix operations per layout. Every other
    line goes through the general path, and the result is the same as the general path's
    on the whole chunk.

    Parameters
    ----------
    data : bytes
        Whole lines; the last one must end with ``b"\\n"``.
    n : int, optional
        Use only the first ``n`` bytes of ``data`` (default: all), so that a reader can pass
        its buffer without slicing a copy of it.
    padded : bool, default False
        Whether ``data[n : n + 64]`` already holds zero bytes, so that ``data`` (a bytearray)
        can be read in place instead of copied with that padding.

    Returns
    -------
    FramedChunk
    """
    n = len(data) if n is None else n
    a = _padded_view(data, n, padded)
    nl = np.flatnonzero(a[:n] == 10)
    n_lines = nl.size
    if n_lines < _MIN_BUCKET:
        return _frame_general(data, n, padded)
    starts = np.empty(n_lines, dtype=np.int64)
    starts[0] = 0
    starts[1:] = nl[:-1] + 1
    if (a[starts[:_MIN_BUCKET]] == 36).any() and data.find(b"$PGHP", 0, n) >= 0:
        return _frame_general(data, n, padded)  # Gatehouse $PGHP lines, see below
    full = nl - starts
    lengths = full - (a[nl - 1] == 13)  # a line's '\r\n' ends it like '\n' alone
    counts = np.bincount(lengths)
    handled = np.zeros(n_lines, dtype=bool)
    parts = []
    for width in np.flatnonzero(counts >= _MIN_BUCKET).tolist():  # a loop over lengths
        todo = np.flatnonzero(lengths == width)
        seen: list = []  # layouts already tried for this length
        for _ in range(_LAYOUTS_PER_LENGTH):  # lines of one length may differ in layout
            tp = None
            for probe in (0, todo.size // 2, todo.size - 1):
                s0 = int(starts[todo[probe]])
                tp = _cached_template(data[s0:s0 + width])
                if tp is not None and not any(np.array_equal(tp.fixed, f) and np.array_equal(
                        tp.fixed_bytes, b) and np.array_equal(tp.struct, c) for f, b, c in seen):
                    break
                tp = None
            if tp is None:
                break
            seen.append((tp.fixed, tp.fixed_bytes, tp.struct))
            left = []
            for i in range(0, todo.size, FAST_BLOCK_LINES):  # a loop over blocks of lines
                block = todo[i:i + FAST_BLOCK_LINES]
                ok, cols = _fast_lines(a, starts[block], tp)
                cols["line"] = block[ok]
                handled[cols["line"]] = True
                parts.append(cols)  # each block's rows stay a part of their own: no copies
                left.append(block[~ok])
            todo = np.concatenate(left)
            if todo.size < _MIN_BUCKET:
                break
    if not parts:
        return _frame_general(data, n, padded)

    # the other lines, copied together, through the general path
    rest = np.flatnonzero(~handled)
    rest_len = full[rest] + 1
    red_start = np.cumsum(rest_len) - rest_len  # each rest line's start in the copy
    tail = data[int(nl[-1]) + 1:n]
    if rest.size:
        idx = np.repeat(starts[rest] - red_start, rest_len) + np.arange(int(rest_len.sum()))
        reduced = a[idx].tobytes() + tail
    else:
        reduced = tail
    if b"$PGHP" in reduced:
        # a $PGHP line lends its time and source to the next sentence, fast path or not (no
        # line of the fast path holds a '$': every '$' of the chunk is in ``reduced``)
        return _frame_general(data, n, padded)
    g = _frame_general(reduced) if reduced else None

    # records: a fast line is one record; a rest line keeps its records
    n_fast = sum(p["line"].size for p in parts)
    if g is not None and g.record.size:
        k = np.searchsorted(red_start, g.rec_start[g.record], side="right") - 1
        g_record = rest[k] + g.record - k
        g_p0 = g.p0 + (starts[rest] - red_start)[k]
    else:
        g_record = g_p0 = np.zeros(0, dtype=np.int64)
    if g is not None:
        first_rec = np.r_[np.searchsorted(g.rec_start, red_start), g.n_records]
    else:
        first_rec = np.zeros(1, dtype=np.int64)
    for p in parts:  # a loop over layouts and blocks
        before = np.searchsorted(rest, p["line"])  # rest lines before each fast line
        p["record"] = p["line"] + first_rec[before] - before
    if g is not None and g.extra.size:
        k = np.searchsorted(red_start, g.rec_start[g.extra], side="right") - 1
        extra = rest[k] + g.extra - k
    else:
        extra = np.zeros(0, dtype=np.int64)

    # sources: the general part's names, then those of the fast lines
    names = list(g.source_names) if g is not None else [""]
    code_of = {nm: i for i, nm in enumerate(names)}
    for p in parts:  # a loop over layouts: each has one source column span
        s0, s1 = p["s0"], p["s1"]
        if "s_codes" in p or (s0.size and s1[0] >= s0[0]):
            local, local_names = ((p.pop("s_codes"), p.pop("s_names")) if "s_codes" in p
                                  else _strings(a, s0, s1, digest=p.get("s_digest")))
            lookup = np.array([code_of.setdefault(nm, len(code_of)) for nm in local_names],
                              dtype=np.int32)
            p["source"] = lookup[local]
        else:
            p["source"] = np.zeros(s0.size, dtype=np.int32)
    names = list(code_of)

    # single-part layouts stay parts; fragments' layouts, then the general path's rows, are
    # concatenated into the arrays, grouped, not reordered (the reader orders what needs an
    # order, see FramedChunk)
    single = [{k: p[k] for k in PART_FIELDS} for p in parts if "n_frags" not in p]
    multi = [p for p in parts if "n_frags" in p]
    with_g = g is not None and g.record.size
    out = {}
    for k in _ARRAY_FIELDS:
        col = [p[k] for p in multi]
        if with_g:
            col.append(g_record if k == "record" else g_p0 if k == "p0" else getattr(g, k))
        if col:
            out[k] = col[0] if len(col) == 1 else np.concatenate(col)
    return FramedChunk(
        buf=a,
        n_records=int(n_fast + (g.n_records if g is not None else 0)),
        n_sentences=int(n_fast + (g.n_sentences if g is not None else 0)),
        skipped=dict(g.skipped) if g is not None else {},
        notes=dict(g.notes) if g is not None else {},
        source_names=names,
        parts=single,
        extra=extra,
        **out,
    )
