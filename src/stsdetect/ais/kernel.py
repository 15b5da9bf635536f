"""The NMEA kernel: one compiled pass that frames and decodes a chunk of any NMEA dump layout.

:func:`decode_chunk` reads a chunk of whole lines once, byte by byte, in machine code (numba,
``nogil`` so that chunks decode on several cores at once, ``cache=True`` so that the
compilation is paid once per machine). For every line it finds the records (a line, or each
AIS sentence of a line holding several run together, wherever the next one starts: after the
checksum, a ``\\``, a ``,`` or a space), classifies them, checks the sentence structure and
the NMEA checksum, attaches a time and a source, and decodes single-part position reports
(types 1, 2, 3, 18, 19, 27) into columns. Fragments of multipart messages and static
messages (types 5, 24; and the static half of type 19) are handed back as sentence rows for
the reader's multipart assembler and static decoder. Every record is counted: decoded, or
under a named skip reason (:data:`stsdetect.ais.report.SKIP_REASONS`).

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

from typing import NamedTuple

import numpy as np
from numba import njit

__all__ = ["COUNT_NAMES", "NAT_NS", "ChunkResult", "decode_chunk", "decode_payloads"]

NAT_NS = np.iinfo(np.int64).min

#: Names of the kernel's per-chunk counters (skip reasons of the report, then totals).
COUNT_NAMES = (
    "comment_or_blank", "metadata_line", "non_ais_nmea", "not_nmea", "malformed_sentence",
    "bad_checksum", "empty_payload", "bad_payload_char", "unsupported_type", "short_payload",
    "invalid_mmsi", "out_of_range_position",
    # totals and notes (not skip reasons)
    "records", "lines", "sentences", "sentence_records", "time_unparsed",
)
_C = {name: i for i, name in enumerate(COUNT_NAMES)}
_N_SKIPS = 12

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


class ChunkResult(NamedTuple):
    """What :func:`decode_chunk` found in one chunk (arrays trimmed to their rows).

    ``pos``: decoded position reports, a dict of columns ``mmsi``, ``time``, ``lat``,
    ``lon``, ``sog_kn``, ``cog_deg``, ``heading_deg``, ``nav_status``, ``msg_type``,
    ``record``, ``source`` (codes into ``source_names``, 0 = none). ``sent``: other valid
    sentences (fragments, static messages, the static half of type 19 reports), columns
    ``record``, ``talker``, ``n_frags``, ``frag``, ``seq``, ``channel``, ``p0``, ``n_chars``,
    ``fill``, ``msg_type``, ``time_ns``, ``source``, ``group_id``, ``group_total``,
    ``counted`` (False for type 19: its record is already counted as a position).
    ``counts``: the counters of :data:`COUNT_NAMES`; ``decoded``: decoded messages by type
    (28 entries; static messages and fragments are counted by the reader); ``extra``: the
    records (ascending) that are not the first record of their line.
    """

    pos: dict
    sent: dict
    counts: dict
    decoded: np.ndarray
    extra: np.ndarray
    source_names: list


@njit(cache=True, nogil=True)
def _sixbit(c):
    if 48 <= c < 88:
        return c - 48
    if 96 <= c < 120:
        return c - 56
    return 255


@njit(cache=True, nogil=True)
def _hex(c):
    if 48 <= c <= 57:
        return c - 48
    if 65 <= c <= 70:
        return c - 55
    if 97 <= c <= 102:
        return c - 87
    return 255


@njit(cache=True, nogil=True)
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


@njit(cache=True, nogil=True)
def _unix_ns(v):
    """Unix seconds or milliseconds -> ns (NAT_NS when implausible)."""
    if _UNIX_S_MIN <= v < _UNIX_S_MAX:
        return v * 1_000_000_000
    if _UNIX_S_MIN * 1000 <= v < _UNIX_S_MAX * 1000:
        return v * 1_000_000
    return NAT_NS


@njit(cache=True, nogil=True)
def _days(y, m, d):
    """Days since 1970-01-01 of a proleptic Gregorian date (H. Hinnant's days_from_civil)."""
    y -= m <= 2
    era = (y if y >= 0 else y - 399) // 400
    yoe = y - era * 400
    mp = (m + 9) % 12
    doy = (153 * mp + 2) // 5 + d - 1
    doe = yoe * 365 + yoe // 4 - yoe // 100 + doy
    return era * 146097 + doe - 719468


@njit(cache=True, nogil=True)
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


@njit(cache=True, nogil=True)
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


@njit(cache=True, nogil=True)
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


@njit(cache=True, nogil=True)
def _is_ais_start(a, p, end):
    """Whether an AIS sentence ``!ccVDM,`` / ``!ccVDO,`` starts at a[p] (inside a[:end])."""
    return (p + 6 < end and a[p] == 33 and a[p + 3] == 86 and a[p + 4] == 68
            and (a[p + 5] == 77 or a[p + 5] == 79) and a[p + 6] == 44
            and a[p + 1] > 44 and a[p + 2] > 44)


@njit(cache=True, nogil=True)
def _digest(a, s, e):
    """64-bit key of the source name a[s:e] (FNV-1a; 0 is kept for "no source")."""
    h = np.uint64(14695981039346656037)
    for i in range(s, e):
        h = (h ^ np.uint64(a[i])) * np.uint64(1099511628211)
    h = h ^ np.uint64(e - s)
    return np.int64(h | np.uint64(1))


@njit(cache=True, nogil=True)
def _code(a, s, e, keys, codes, first, length, n_names):
    """Code (1, 2, ... in order of first appearance) of the source name a[s:e]: (code, names).

    ``keys``/``codes`` are an open-addressing table of name digests; ``first``/``length``
    the span of each code's first appearance. An empty name is code 0 (no source).
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
            return n_names, n_names
        if keys[k] == h:
            return codes[k], n_names
        k = (k + 1) & mask


@njit(cache=True, nogil=True)
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


@njit(cache=True, nogil=True)
def _signed(v, width):
    v = np.int64(v)
    if v >= (1 << (width - 1)):
        v -= 1 << width
    return v


@njit(cache=True, nogil=True)
def _decode_position(a, p0, n_chars, fill, mt, required):
    """Decode the position report of type ``mt`` in payload a[p0 : p0 + n_chars].

    Returns (status, mmsi, lat, lon, sog_kn, cog_deg, heading_deg, nav_status); status 0 when
    decoded, else the counter of its skip reason (bad_payload_char, short_payload,
    invalid_mmsi, out_of_range_position). Fields follow ITU-R M.1371-5 Annex 8; "not
    available" values are NaN (nav_status 15 for class B, which carries none).
    """
    nan = np.nan
    # the first 24 characters (144 bits, every field read) as three 48-bit words
    m = n_chars if n_chars < 24 else 24
    w0 = np.uint64(0)
    w1 = np.uint64(0)
    w2 = np.uint64(0)
    for q in range(24):
        v6 = 0
        if q < m:
            v6 = _sixbit(a[p0 + q])
            if v6 == 255:
                return 7, 0, nan, nan, nan, nan, nan, 0
        if q < 8:
            w0 = (w0 << np.uint64(6)) | np.uint64(v6)
        elif q < 16:
            w1 = (w1 << np.uint64(6)) | np.uint64(v6)
        else:
            w2 = (w2 << np.uint64(6)) | np.uint64(v6)
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
        b = 4 if (mt == 18 or mt == 19) else 0  # class B fields sit 4 bits earlier
        nav = np.int64(_field(w0, w1, w2, 38, 4)) if b == 0 else 15
        sog_raw = np.int64(_field(w0, w1, w2, 50 - b, 10))
        lon_raw = _signed(_field(w0, w1, w2, 61 - b, 28), 28)
        lat_raw = _signed(_field(w0, w1, w2, 89 - b, 27), 27)
        cog_raw = np.int64(_field(w0, w1, w2, 116 - b, 12))
        hdg_raw = np.int64(_field(w0, w1, w2, 128 - b, 9))
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


@njit(cache=True, nogil=True)
def _kernel(a, n, continued, required, kind):
    # capacity: every row is a sentence, and a sentence start "!xxVDM," takes 7 bytes; every
    # source name starts after at least 5 bytes of its own line or sentence
    cap = n // 7 + 2
    counts = np.zeros(len(COUNT_NAMES), dtype=np.int64)
    decoded = np.zeros(28, dtype=np.int64)
    # position rows
    p_mmsi = np.empty(cap, np.int64)
    p_time = np.empty(cap, np.int64)
    p_lat = np.empty(cap, np.float64)
    p_lon = np.empty(cap, np.float64)
    p_sog = np.empty(cap, np.float64)
    p_cog = np.empty(cap, np.float64)
    p_hdg = np.empty(cap, np.float64)
    p_nav = np.empty(cap, np.int8)
    p_type = np.empty(cap, np.int8)
    p_rec = np.empty(cap, np.int64)
    p_src = np.empty(cap, np.int32)
    n_pos = 0
    # other sentence rows
    s_int = np.empty((cap, 13), np.int64)  # see the column order in decode_chunk
    s_src = np.empty(cap, np.int32)
    n_sent = 0
    extra = np.empty(cap, np.int64)
    n_extra = 0
    # source names: open addressing table of digests; codes in order of first appearance
    size = 64
    while size < 2 * cap:
        size *= 2
    keys = np.zeros(size, np.int64)
    codes = np.zeros(size, np.int32)
    first = np.zeros(n // 5 + 2, np.int64)
    length = np.zeros(n // 5 + 2, np.int64)
    n_names = 0
    # a $PGHP line waiting for the next AIS sentence
    pg_pending = False
    pg_time = NAT_NS
    pg_src = 0
    commas = np.empty(12, np.int64)
    rec = 0
    line = 0
    i = 0
    while i < n:
        ls = i
        j = i
        bang = -1  # the line's first '!'
        while j < n:
            c = a[j]
            if c <= 33:
                if c == 10 or c == 13:
                    break
                if c == 33 and bang < 0:
                    bang = j
            j += 1
        le = j
        if j < n and a[j] == 13 and j + 1 < n and a[j + 1] == 10:
            i = j + 2
        else:
            i = j + 1
        cont = continued and line == 0
        line += 1
        if (le - ls >= 3 and a[ls] == 0xEF and a[ls + 1] == 0xBB and a[ls + 2] == 0xBF):
            ls += 3  # UTF-8 byte order mark
        # ---- the line's AIS sentence starts ----
        s_first = -1
        if bang >= ls:
            for p in range(bang, le):
                if a[p] == 33 and _is_ais_start(a, p, le):
                    s_first = p
                    break
        if s_first < 0:
            if cont:
                continue  # the rest of a line already counted
            rec += 1
            counts[12] += 1
            cand = -1
            for p in range(ls, le):
                if a[p] == 33 or a[p] == 36:
                    cand = p
                    break
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
                    counts[16] += 1
                    continue
                y = _uint(a, commas[1] + 1, commas[2], 4)
                mo = _uint(a, commas[2] + 1, commas[3], 2)
                d = _uint(a, commas[3] + 1, commas[4], 2)
                h = _uint(a, commas[4] + 1, commas[5], 2)
                mi = _uint(a, commas[5] + 1, commas[6], 2)
                sec = _uint(a, commas[6] + 1, commas[7], 2)
                ms = _uint(a, commas[7] + 1, commas[8], 4)
                if min(y, mo, d, h, mi, sec, ms) >= 0 and ms <= 999:
                    pg_time = _civil_ns(y, mo, d, h, mi, sec, ms * 1_000_000)
                if pg_time == NAT_NS:
                    counts[16] += 1
                code, n_names = _code(a, commas[10] + 1, commas[11], keys, codes, first,
                                      length, n_names)
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
        # ---- one record per AIS sentence ----
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
            # the next sentence start on this line, and where its record begins
            nxt = -1
            p = sv + 7
            while p < le:
                if a[p] == 33 and _is_ais_start(a, p, le):
                    nxt = p
                    break
                p += 1
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
            if not first_of_line:
                extra[n_extra] = rec
                n_extra += 1
            first_of_line = False
            r = rec
            rec += 1
            counts[12] += 1
            counts[15] += 1
            # PGHP applies to this sentence, whatever becomes of it
            use_pg = pg_pending
            pg_pending = False
            # ---- structure: 6 commas, then '*hh' ----
            star = -1
            nc = 0
            x = 0  # the checksum: XOR of the bytes between '!' and '*'
            for p in range(sv + 1, re_):
                c = a[p]
                if c == 42:
                    star = p
                    break
                x ^= c
                if c == 44 and nc < 6:
                    commas[nc] = p
                    nc += 1
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
            if not is_pos:
                bad = False
                for p in range(p0, c5):
                    if _sixbit(a[p]) == 255:
                        bad = True
                        break
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
            if has_tag:
                tag_end = sv - 1
                seen_c = False
                seen_s = False
                seen_g = False
                for k in range(rs + 1, tag_end - 1):
                    if a[k + 1] != 58 or not (k == rs + 1 or a[k - 1] == 44 or a[k - 1] == 92):
                        continue
                    key = a[k]
                    vs = k + 2
                    ve = vs
                    while ve < tag_end and a[ve] != 44 and a[ve] != 42 and a[ve] != 92:
                        ve += 1
                    if key == 99 and not seen_c:  # c:
                        seen_c = True
                        v = _uint(a, vs, ve, 13)
                        t_ns = _unix_ns(v) if v >= 0 else NAT_NS
                        if t_ns == NAT_NS:
                            counts[16] += 1
                    elif key == 115 and not seen_s:  # s:
                        seen_s = True
                        src, n_names = _code(a, vs, ve, keys, codes, first, length, n_names)
                    elif key == 103 and not seen_g:  # g:
                        seen_g = True
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
                        fe = fs
                        while fe < re_ and a[fe] != 44:
                            fe += 1
                        ve = fe  # (a space may end the last column, before a next sentence)
                        while ve > fs and (a[ve - 1] == 32 or a[ve - 1] == 9):
                            ve -= 1
                        flen = ve - fs
                        if not found_t and (flen == 10 or flen == 13):
                            v = _uint(a, fs, ve, 13)
                            if v >= 0:
                                tv = _unix_ns(v)
                                if tv != NAT_NS:
                                    t_ns = tv
                                    found_t = True
                        if not found_s and flen > 1 and a[fs] == 114:  # 'r<station>'
                            src, n_names = _code(a, fs + 1, ve, keys, codes, first, length,
                                                     n_names)
                            found_s = True
                        if fe >= re_:
                            break
                        fs = fe + 1
            # a leading column before the sentence
            if not has_tag and sv > rs and t_ns == NAT_NS:
                lend = rs
                while lend < sv and a[lend] != 44 and a[lend] != 124 and a[lend] != 59 \
                        and a[lend] != 9:
                    lend += 1
                t_ns = _lead_ns(a, rs, lend)
                if t_ns == NAT_NS:
                    counts[16] += 1
            # ---- output ----
            if is_pos:
                (status, mmsi, lat, lon, sog, cog, hdg, nav) = _decode_position(
                    a, p0, n_chars, fill, mt, required)
                if status:
                    counts[status] += 1
                    sv = nxt
                    rs = nxt_rs
                    continue
                decoded[mt] += 1
                p_mmsi[n_pos] = mmsi
                p_time[n_pos] = t_ns
                p_lat[n_pos] = lat
                p_lon[n_pos] = lon
                p_sog[n_pos] = sog
                p_cog[n_pos] = cog
                p_hdg[n_pos] = hdg
                p_nav[n_pos] = nav
                p_type[n_pos] = mt
                p_rec[n_pos] = r
                p_src[n_pos] = src
                n_pos += 1
            elif n_frags == 1 and kind[mt] != 2:
                decoded[mt] += 1  # validated, not decoded further
            if n_frags > 1 or kind[mt] == 2 or mt == 19:
                frag_row = n_frags > 1
                row = s_int[n_sent]
                row[0] = r
                row[1] = ((np.int64(a[sv + 1]) << 8) | a[sv + 2]) if frag_row else 0
                row[2] = n_frags
                row[3] = frag
                row[4] = seq if frag_row else -1
                row[5] = channel if frag_row else 0
                row[6] = p0
                row[7] = n_chars
                row[8] = fill
                row[9] = mt
                row[10] = t_ns
                row[11] = gid
                row[12] = gtot if frag_row else 0
                s_src[n_sent] = src
                n_sent += 1
            sv = nxt
            rs = nxt_rs
    counts[13] = line - 1 if continued and line > 0 else line
    # sentence starts counted on their own, to check that framing lost none
    for p in range(n):
        if a[p] == 33 and _is_ais_start(a, p, n):
            counts[14] += 1
    # copies: the rows found, not the capacity
    return (p_mmsi[:n_pos].copy(), p_time[:n_pos].copy(), p_lat[:n_pos].copy(),
            p_lon[:n_pos].copy(), p_sog[:n_pos].copy(), p_cog[:n_pos].copy(),
            p_hdg[:n_pos].copy(), p_nav[:n_pos].copy(), p_type[:n_pos].copy(),
            p_rec[:n_pos].copy(), p_src[:n_pos].copy(), s_int[:n_sent].copy(),
            s_src[:n_sent].copy(), counts, decoded, extra[:n_extra].copy(),
            first[:n_names + 1].copy(), length[:n_names + 1].copy())


_SENT_COLUMNS = ("record", "talker", "n_frags", "frag", "seq", "channel", "p0", "n_chars",
                 "fill", "msg_type", "time_ns", "group_id", "group_total")


def decode_chunk(a: np.ndarray, n: int, continued: bool = False) -> ChunkResult:
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

    Returns
    -------
    ChunkResult
    """
    (mmsi, time, lat, lon, sog, cog, hdg, nav, typ, rec, src, s_int, s_src, counts, decoded,
     extra, first, length) = _kernel(a, n, continued, _REQUIRED, _KIND)
    names = [""] + [bytes(a[s:s + k]).decode("ascii", "replace")
                    for s, k in zip(first[1:].tolist(), length[1:].tolist(), strict=True)]
    pos = {"mmsi": mmsi, "time": time, "lat": lat, "lon": lon, "sog_kn": sog, "cog_deg": cog,
           "heading_deg": hdg, "nav_status": nav, "msg_type": typ, "record": rec,
           "source": src}
    sent = {k: s_int[:, i] for i, k in enumerate(_SENT_COLUMNS)}
    sent["source"] = s_src
    sent["counted"] = sent["msg_type"] != 19
    sent["counted"] |= sent["n_frags"] > 1
    return ChunkResult(pos=pos, sent=sent, counts=dict(zip(COUNT_NAMES, counts.tolist(),
                                                           strict=True)),
                       decoded=decoded, extra=extra, source_names=names)
