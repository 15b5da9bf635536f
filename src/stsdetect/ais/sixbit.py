"""Vectorized decoding of AIS 6-bit payloads of position reports (types 1, 2, 3, 18, 19, 27).

Field layouts follow ITU-R M.1371-5, Annex 8 (message tables 45-47, 49 and 73 for types
1/2/3, 18, 19 and 27). Every function works on whole arrays of payloads at once.

:func:`decode_positions` works on 64-bit words, eight payload characters at a time: one
gather of 24-byte items fetches each payload's first 24 characters, SWAR arithmetic turns them
into 6-bit values (flagging characters outside the armouring alphabet), three
shift-multiply-subtract steps pack each word's eight values into 48 bits, and each field is
two shifts of a 64-bit window of those bits. Rows with an invalid character are decoded again
by the byte-lookup-table decoder it replaced, so their (meaningless) fields stay as they were.
"""

from __future__ import annotations

import numpy as np

__all__ = [
    "OUT_FIELDS",
    "POSITION_TYPES",
    "REQUIRED_BITS",
    "decode_positions",
    "sixbit_values",
]

#: Message types decoded here (position reports).
POSITION_TYPES = (1, 2, 3, 18, 19, 27)

#: Payload bits needed to reach the last field read (true heading, or course for type 27).
REQUIRED_BITS = {1: 137, 2: 137, 3: 137, 18: 133, 19: 133, 27: 94}

#: Characters gathered per payload: 24 characters = 144 bits cover every field read.
_WIDTH = 24

# ITU-R M.1371-5 "not available" values and scales.
_LAT_NA_RAW = 91 * 600_000
_LON_NA_RAW = 181 * 600_000
_LAT27_NA_RAW = 91 * 600
_LON27_NA_RAW = 181 * 600

# payload character -> 6-bit value (255 for characters outside the armouring alphabet)
_SIXBIT_LUT = np.full(256, 255, dtype=np.uint8)
for _c in range(48, 88):
    _SIXBIT_LUT[_c] = _c - 48
for _c in range(96, 120):
    _SIXBIT_LUT[_c] = _c - 56


def sixbit_values(chars: np.ndarray) -> np.ndarray:
    """6-bit values (0..63) of armoured payload characters; 255 where a character is invalid."""
    return np.take(_SIXBIT_LUT, np.asarray(chars, dtype=np.uint8))  # take: faster than []


_MASK48 = np.uint64((1 << 48) - 1)
_U = {k: np.uint64(k) for k in (2, 4, 8, 44, 0x00FF00FF00FF00FF, 0xFF00FF00FF00FF00,
                                 0x0000FFFF0000FFFF, 0xFFFF0000FFFF0000, 0x00000000FFFFFFFF,
                                 0xFFFFFFFF00000000, 0x8080808080808080)}

# message type -> layout: 1 = class A (1, 2, 3), 2 = class B (18, 19), 3 = long range (27)
_LAYOUT = np.zeros(256, dtype=np.uint8)
_LAYOUT[[1, 2, 3]] = 1
_LAYOUT[[18, 19]] = 2
_LAYOUT[27] = 3
_REQUIRED_LUT = np.full(256, 1 << 30, dtype=np.int64)
for _t, _bits in REQUIRED_BITS.items():
    _REQUIRED_LUT[_t] = _bits


def _field(w: np.ndarray, start: int, width: int, signed: bool = False) -> np.ndarray:
    """Bits ``start .. start + width - 1`` (MSB first) from rows of packed 48-bit words ``w``."""
    k, offset = divmod(start, 48)
    if offset + width <= 48:
        val = (w[:, k] >> np.uint64(48 - offset - width)) & np.uint64((1 << width) - 1)
    else:  # the field straddles two words
        high_bits = 48 - offset
        low_bits = width - high_bits
        high = w[:, k] & np.uint64((1 << high_bits) - 1)
        val = (high << np.uint64(low_bits)) | (w[:, k + 1] >> np.uint64(48 - low_bits))
    val = val.astype(np.int64)
    if signed:
        val = np.where(val >= (1 << (width - 1)), val - (1 << width), val)
    return val


def _pack(v: np.ndarray) -> np.ndarray:
    """Rows of 24 six-bit values (uint8, C-contiguous) -> rows of three 48-bit words (uint64).

    Each group of eight values is read as one big-endian 64-bit word (first value in the top
    byte) and squeezed in three shift-and-mask steps: pairs into 12 bits, quads into 24 bits,
    then all eight into 48 bits.
    """
    u = _U
    x = np.ascontiguousarray(v).view(">u8").astype(np.uint64)
    x = (x & u[0x00FF00FF00FF00FF]) | ((x & u[0xFF00FF00FF00FF00]) >> u[2])
    x = (x & u[0x0000FFFF0000FFFF]) | ((x & u[0xFFFF0000FFFF0000]) >> u[4])
    return (x & u[0x00000000FFFFFFFF]) | ((x & u[0xFFFFFFFF00000000]) >> u[8])


def _gather(buf: np.ndarray, start: np.ndarray, n_chars: np.ndarray) -> np.ndarray:
    """Rows of the first :data:`_WIDTH` 6-bit values of each payload, zero past its end.

    ``buf`` must extend at least :data:`_WIDTH` bytes past the last payload start.
    """
    windows = np.lib.stride_tricks.as_strided(buf, shape=(buf.size - _WIDTH + 1, _WIDTH),
                                              strides=(buf.strides[0], buf.strides[0]),
                                              writeable=False)
    v = np.take(_SIXBIT_LUT, windows[start])
    short = np.flatnonzero(n_chars < _WIDTH)  # rare: only those rows need masking
    if short.size:
        v[short[:, None], np.arange(_WIDTH)] *= (np.arange(_WIDTH) < n_chars[short, None])
    return v


def _decode_lut(buf, start, n_chars, fill_bits) -> dict:
    """Byte-lookup-table decoder, kept for rows with invalid characters.

    Same contract as :func:`decode_positions`. The fields of a row with an invalid character
    are meaningless, but decoding those rows here keeps them exactly what they always were.
    """
    buf = np.asarray(buf, dtype=np.uint8)
    start = np.asarray(start, dtype=np.int64)
    n_chars = np.asarray(n_chars, dtype=np.int64)
    n = start.size
    v = _gather(buf, start, n_chars) if n else np.zeros((0, _WIDTH), np.uint8)
    first = v[:, 0]
    msg_type = np.where(first == 255, 0, first).astype(np.int8)
    # invalid characters are 255, valid ones 0..63: a set top bit marks them, 8 at a time
    raw = v.view(np.uint64)  # (n, 3)
    bad_char = ((raw[:, 0] | raw[:, 1] | raw[:, 2]) & _U[0x8080808080808080]) != 0
    w = _pack(v)  # bytes of rows with a bad character decode to garbage: they are dropped
    nbits = 6 * n_chars - np.asarray(fill_bits, dtype=np.int64)
    layout = np.take(_LAYOUT, msg_type.view(np.uint8))
    class_a = layout == 1
    class_b = layout == 2
    long_range = layout == 3
    out = {
        "msg_type": msg_type,
        "mmsi": _field(w, 8, 30),
        "short": nbits < np.take(_REQUIRED_LUT, msg_type.view(np.uint8)),
        "bad_char": bad_char,
    }
    # Class B fields from speed on sit 4 bits before class A's (ITU-R M.1371-5 tables 45/47):
    # move class B rows 4 bits later and read every row with the class A layout.
    if class_b.any():
        u = _U
        wb = np.empty_like(w)
        wb[:, 0] = w[:, 0] >> u[4]
        wb[:, 1] = ((w[:, 0] << u[44]) | (w[:, 1] >> u[4])) & _MASK48
        wb[:, 2] = ((w[:, 1] << u[44]) | (w[:, 2] >> u[4])) & _MASK48
        w_ab = np.where(class_b[:, None], wb, w)
    else:
        w_ab = w
    ab = class_a | class_b
    sog = _field(w_ab, 50, 10)
    cog = _field(w_ab, 116, 12)
    hdg = _field(w_ab, 128, 9)
    out["nav_status"] = np.where(class_a, _field(w_ab, 38, 4), 15).astype(np.int8)
    out["sog_kn"] = np.where(ab & (sog != 1023), sog / 10.0, np.nan)
    out["cog_deg"] = np.where(ab & (cog < 3600), cog / 10.0, np.nan)
    out["heading_deg"] = np.where(ab & (hdg < 360), hdg.astype(np.float64), np.nan)
    lon_raw = _field(w_ab, 61, 28, signed=True)
    lat_raw = _field(w_ab, 89, 27, signed=True)
    out["lat"] = np.full(n, np.nan)
    out["lon"] = np.full(n, np.nan)
    out["out_of_range"] = np.zeros(n, dtype=bool)
    _set_lat_lon(out, ab, lat_raw, lon_raw, 600_000.0, _LAT_NA_RAW, _LON_NA_RAW, masked=False)
    if long_range.any():
        sub = w[long_range]
        out["nav_status"][long_range] = _field(sub, 40, 4)
        lon_raw = _field(sub, 44, 18, signed=True)
        lat_raw = _field(sub, 62, 17, signed=True)
        _set_lat_lon(out, long_range, lat_raw, lon_raw, 600.0, _LAT27_NA_RAW, _LON27_NA_RAW)
        sog = _field(sub, 79, 6)
        out["sog_kn"][long_range] = np.where(sog == 63, np.nan, sog.astype(float))
        cog = _field(sub, 85, 9)
        out["cog_deg"][long_range] = np.where(cog >= 360, np.nan, cog.astype(float))
    return out


def _set_lat_lon(out, mask, lat_raw, lon_raw, scale, lat_na, lon_na, masked=True) -> None:
    """Fill lat/lon/out_of_range of the rows in ``mask`` from raw values.

    The raw values are given for the ``mask`` rows only (``masked``) or for every row.
    """
    lat = lat_raw / scale
    lon = lon_raw / scale
    lat_missing = lat_raw == lat_na
    lon_missing = lon_raw == lon_na
    oor = ((np.abs(lat) > 90) & ~lat_missing) | ((np.abs(lon) > 180) & ~lon_missing)
    lat = np.where(lat_missing, np.nan, lat)
    lon = np.where(lon_missing, np.nan, lon)
    if masked:
        out["out_of_range"][mask] = oor
        out["lat"][mask] = lat
        out["lon"][mask] = lon
    else:
        out["out_of_range"] = oor & mask
        out["lat"] = np.where(mask, lat, np.nan)
        out["lon"] = np.where(mask, lon, np.nan)

# --- word-at-a-time decoding ----------------------------------------------------------------

def _bytes(b: int) -> np.uint64:
    """``b`` in each of the eight bytes of a 64-bit word."""
    return np.uint64(b * 0x0101010101010101)


_ASCII0 = _bytes(0x30)  # '0', the character of 6-bit value 0
_ADD40, _ADD48 = _bytes(0x80 - 40), _bytes(0x80 - 48)  # top bit set from 40 / 48 up
_TOP, _TOP2 = _bytes(0x80), _bytes(0xC0)
_N = {k: np.uint64(k) for k in (4, 6, 8, 9, 10, 12, 18, 29, 30, 32, 36, 42, 47, 48, 52,
                                 53, 54, 55, 58, 60, 63, 0xFF000000, (1 << 30) - 1,
                                 90 * 600_000 * 2, 180 * 600_000 * 2)}
_N16 = {k: np.uint16(k) for k in (8, 192)}
_N32 = {k: np.uint32(k) for k in (16, 0xF000)}
_ROWS3 = np.array([[0], [8], [16]], dtype=np.int64)
_ITEM = np.dtype((np.void, _WIDTH))
# keep the first k characters of a word (first character in the top byte), k = 0..8
_KEEP = np.array([(((1 << (8 * k)) - 1) << (64 - 8 * k)) if k else 0 for k in range(9)],
                 dtype=np.uint64)

# message type -> layout bit: 1 class A, 2 class B, 4 long range, 8 anything else
_LAYOUT_BIT = np.full(64, 8, dtype=np.uint8)
_LAYOUT_BIT[[1, 2, 3]] = 1
_LAYOUT_BIT[[18, 19]] = 2
_LAYOUT_BIT[27] = 4
# message type -> right shift of the bit windows of class B rows (fields 4 bits earlier)
_SHIFT_B = np.zeros(64, dtype=np.uint64)
_SHIFT_B[[18, 19]] = 4
# raw field -> float value, NaN for "not available" (and out-of-range) values
_SOG_KN = np.arange(1024) / 10.0
_SOG_KN[1023] = np.nan
_COG_DEG = np.arange(4096) / 10.0
_COG_DEG[3600:] = np.nan
_HEADING_DEG = np.arange(512, dtype=np.float64)
_HEADING_DEG[360:] = np.nan


def _payload_words(buf: np.ndarray, start: np.ndarray, n_chars: np.ndarray) -> np.ndarray:
    """Characters ``start .. start + 23`` of every payload as three 64-bit words, shape (3, n).

    Word ``k`` of row ``i`` holds characters ``8k .. 8k + 7`` of payload ``i``, the first one
    in the top byte; characters past the end of a payload read as ``'0'`` (6-bit value 0).
    One gather of 24-byte items at byte offsets, then one transposing big-endian conversion.
    """
    items = np.ndarray(shape=(buf.size - _WIDTH + 1,), dtype=_ITEM, buffer=buf,
                       strides=(1,))[start]
    w = items.view(">u8").reshape(start.size, 3).T.astype(np.uint64, order="C")
    if int(n_chars.min()) < _WIDTH:  # rare
        short = np.flatnonzero(n_chars < _WIDTH)
        keep = _KEEP[np.clip(n_chars[short] - _ROWS3, 0, 8)]
        w[:, short] = (w[:, short] & keep) | (_ASCII0 & ~keep)
    return w


def _sixbit_words(w: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Map armoured characters to 6-bit values in place (SWAR, eight bytes per word).

    A character ``c`` is valid if ``t = c - 48`` lies in 0..39 or 48..71; its value is ``t``,
    minus 8 from 40 up. Returns flags, words with one of the top two bits of a byte set
    (``& _TOP2``) where the word holds an invalid character (``(t + 80) ^ (t + 88)`` has the
    top bit set for 40 <= t < 48 and neither top bit for a valid ``t``; the value keeps one
    set for t >= 72), and a scratch array shaped like ``w``.

    Arithmetic on valid bytes never carries or borrows into a neighbour, so values and flags
    of words of valid characters are exact; in a word with an invalid character, the lowest
    invalid byte sees no carry or borrow from below and is flagged.
    """
    np.subtract(w, _ASCII0, out=w)  # t
    ge40 = w + _ADD40
    flags = w + _ADD48
    flags ^= ge40
    ge40 &= _TOP
    ge40 >>= _N[4]  # 8 in the bytes where t >= 40
    w -= ge40  # 6-bit values
    flags |= w
    return flags, ge40


def _pack_words(w: np.ndarray, t: np.ndarray) -> None:
    """Squeeze eight 6-bit values per word (first in the top byte) into its low 48 bits, in place.

    Each step subtracts the excess of the upper half of every 16-, 32- and 64-bit lane:
    ``256 a + b -> 64 a + b`` makes pairs of 12 bits, then pairs of those 24 bits, then 48.
    ``t`` is scratch space shaped like ``w``.
    """
    w16, t16 = w.view(np.uint16), t.view(np.uint16)
    np.right_shift(w16, _N16[8], out=t16)
    t16 *= _N16[192]
    w16 -= t16
    w32, t32 = w.view(np.uint32), t.view(np.uint32)
    np.right_shift(w32, _N32[16], out=t32)
    t32 *= _N32[0xF000]
    w32 -= t32
    np.right_shift(w, _N[32], out=t)
    t *= _N[0xFF000000]
    w -= t


#: Fields :func:`decode_positions` can write into arrays the caller provides (``out=``).
OUT_FIELDS = {"mmsi": np.int64, "msg_type": np.int8, "nav_status": np.int8,
              "sog_kn": np.float64, "cog_deg": np.float64, "heading_deg": np.float64,
              "lat": np.float64, "lon": np.float64}


def decode_positions(buf, start, n_chars, fill_bits, out: dict | None = None) -> dict:
    """Decode position reports from payloads stored in one byte buffer.

    Parameters
    ----------
    buf : numpy.ndarray of uint8
        Bytes holding the armoured payloads; it must hold 24 bytes from every payload start.
    start, n_chars : numpy.ndarray of int64
        Offset of each payload's first character in ``buf`` and its length in characters.
        Characters outside the armouring alphabet among the first 24 set ``bad_char``.
    fill_bits : numpy.ndarray of int
        Fill bits (0-5) of each payload.
    out : dict of numpy.ndarray, optional
        Contiguous arrays, one per :data:`OUT_FIELDS` key with its dtype and one entry per
        payload, to decode those fields into (a reader's output columns): no temporary copy.

    Returns
    -------
    dict of numpy.ndarray
        ``msg_type`` (int8), ``mmsi`` (int64), ``nav_status`` (int8, 15 = not defined, also for
        types 18/19 which carry none), ``sog_kn``, ``cog_deg``, ``heading_deg``, ``lat``,
        ``lon`` (float64, NaN for the "not available" values 102.3 kn / 63 kn, 360° / 511°,
        511°, 91°, 181°; course and heading outside [0, 360) are NaN as well), and masks
        ``bad_char``, ``short`` (fewer payload bits than :data:`REQUIRED_BITS`) and
        ``out_of_range``
        (lat/lon outside [-90, 90] / [-180, 180] other than 91/181). Rows whose type is not
        in :data:`POSITION_TYPES` are returned with NaN fields and ``short`` set. The fields
        of rows with ``bad_char`` set are meaningless.

    Raises
    ------
    ValueError
        If a payload starts before ``buf`` or less than 24 bytes before its end.
    """
    buf = np.ascontiguousarray(buf, dtype=np.uint8)
    start = np.asarray(start, dtype=np.int64)
    n_chars = np.asarray(n_chars, dtype=np.int64)
    fill_bits = np.asarray(fill_bits)
    n = start.size
    if n == 0:
        res = _decode_lut(buf, start, n_chars, fill_bits)
        if out is not None:
            res.update({k: out[k] for k in OUT_FIELDS})
        return res
    if out is None:
        out = {k: np.empty(n, dtype=d) for k, d in OUT_FIELDS.items()}
    if int(start.min()) < 0 or int(start.max()) > buf.size - _WIDTH:
        raise ValueError(f"payload starts must lie in 0 .. len(buf) - {_WIDTH} = "
                         f"{buf.size - _WIDTH}: buf must hold {_WIDTH} bytes from each start")
    c = _N
    w = _payload_words(buf, start, n_chars)
    flags, scratch = _sixbit_words(w)
    f = flags[0]
    f |= flags[1]
    f |= flags[2]
    f &= _TOP2
    bad_char = f != 0
    bad_rows = np.flatnonzero(bad_char) if bad_char.any() else None
    _pack_words(w, scratch)  # rows with a bad character hold garbage: redone at the end
    w0, w1, w2 = w
    mt = w0 >> c[42]
    mt &= c[63]
    mt = mt.view(np.int64)
    if bad_rows is not None:  # rare; a class A stand-in type keeps the other layouts' paths off
        mt[bad_rows] = 1
    msg_type = out["msg_type"]
    np.copyto(msg_type, mt, casting="unsafe")
    mmsi = np.right_shift(w0, c[10], out=out["mmsi"].view(np.uint64))
    mmsi &= c[(1 << 30) - 1]
    layout = np.take(_LAYOUT_BIT, mt)
    present = int(np.bitwise_or.reduce(layout))
    if present & 12 or int(n_chars.min()) * 6 - int(fill_bits.max()) < REQUIRED_BITS[1]:
        nbits = n_chars * 6
        nbits -= fill_bits.astype(np.int64, copy=False)
        short = nbits < np.take(_REQUIRED_LUT, mt)
    else:  # class A and B rows only, all long enough
        short = np.zeros(n, dtype=bool)
    # 64-bit windows of payload bits 32..95 and 80..143 (bit 95 - i / 143 - i is payload
    # bit i); class B fields from speed on sit 4 bits before class A's (ITU-R M.1371-5
    # tables 45/47): their windows move 4 bits down so that every field is where class A has it
    v1 = w0 << c[48]
    v1 |= w1
    v2 = np.left_shift(w1, c[48], out=w0)
    v2 |= w2
    long_range = np.flatnonzero(layout == 4) if present & 4 else None
    v27 = v1[long_range] if present & 4 else None
    if present & 2:
        shift = np.take(_SHIFT_B, mt)
        v1 >>= shift
        v2 >>= shift
    t = np.left_shift(v1, c[6], out=w1)  # navigational status, bits 38..41
    t >>= c[60]
    nav_status = out["nav_status"]
    np.copyto(nav_status, t, casting="unsafe")
    if present != 1:  # 15 (not defined) but for class A
        nav_status |= (layout != 1).view(np.int8) * np.int8(15)
    ti = t.view(np.int64)
    np.left_shift(v1, c[18], out=t)  # speed over ground, bits 50..59
    t >>= c[54]
    sog_kn = np.take(_SOG_KN, ti, out=out["sog_kn"], mode="clip")  # (10-bit index: in range)
    np.left_shift(v2, c[36], out=t)  # course over ground, bits 116..127
    t >>= c[52]
    cog_deg = np.take(_COG_DEG, ti, out=out["cog_deg"], mode="clip")
    np.left_shift(v2, c[48], out=t)  # true heading, bits 128..136
    t >>= c[55]
    heading_deg = np.take(_HEADING_DEG, ti, out=out["heading_deg"], mode="clip")
    lon_raw = np.left_shift(v1, c[29], out=v1).view(np.int64)  # longitude, bits 61..88
    lon_raw >>= 36
    lat_raw = np.left_shift(v2, c[9], out=v2).view(np.int64)  # latitude, bits 89..115
    lat_raw >>= 37
    lat = np.divide(lat_raw, 600_000.0, out=out["lat"])
    lon = np.divide(lon_raw, 600_000.0, out=out["lon"])
    # |lat| > 90 or |lon| > 180 exactly when the raw value is beyond 90 / 180 * 600000 (a
    # quotient of integers rounds to 90 / 180 only from exactly there); "not available" too
    np.add(lat_raw, 90 * 600_000, out=ti)
    cand = t > c[90 * 600_000 * 2]
    np.add(lon_raw, 180 * 600_000, out=ti)
    cand |= t > c[180 * 600_000 * 2]
    out_of_range = np.zeros(n, dtype=bool)
    if cand.any():
        i = np.flatnonzero(cand)
        la, lo = lat_raw[i], lon_raw[i]
        la_na, lo_na = la == _LAT_NA_RAW, lo == _LON_NA_RAW
        lat[i[la_na]] = np.nan
        lon[i[lo_na]] = np.nan
        out_of_range[i] = ((np.abs(la) > 90 * 600_000) & ~la_na) | (
            (np.abs(lo) > 180 * 600_000) & ~lo_na)
    res = {
        "msg_type": msg_type,
        "mmsi": mmsi.view(np.int64),
        "short": short,
        "bad_char": bad_char,
        "nav_status": nav_status,
        "sog_kn": sog_kn,
        "cog_deg": cog_deg,
        "heading_deg": heading_deg,
        "lat": lat,
        "lon": lon,
        "out_of_range": out_of_range,
    }
    if present & 12:  # rows of other layouts: no class A/B fields
        i = np.flatnonzero(layout >= 4)
        for k in ("sog_kn", "cog_deg", "heading_deg", "lat", "lon"):
            res[k][i] = np.nan
        out_of_range[i] = False
        if present & 4:
            _long_range(res, v27, long_range)
    if bad_rows is not None:  # rows with invalid characters keep their old garbage fields
        i = bad_rows
        sub = _decode_lut(buf, start[i], n_chars[i], fill_bits[i])
        for k, v in sub.items():
            res[k][i] = v
    return res


def _long_range(out: dict, v: np.ndarray, rows: np.ndarray) -> None:
    """Fill the type 27 fields (ITU-R M.1371-5 table 73) of ``rows`` from their bits 32..95."""
    c = _N
    out["nav_status"][rows] = ((v << c[8]) >> c[60]).astype(np.int8)  # bits 40..43
    lon_raw = (v << c[12]).view(np.int64) >> 46  # bits 44..61
    lat_raw = (v << c[30]).view(np.int64) >> 47  # bits 62..78
    _set_lat_lon(out, rows, lat_raw, lon_raw, 600.0, _LAT27_NA_RAW, _LON27_NA_RAW)
    sog = ((v << c[47]) >> c[58]).view(np.int64)  # bits 79..84
    out["sog_kn"][rows] = np.where(sog == 63, np.nan, sog.astype(float))
    cog = ((v << c[53]) >> c[55]).view(np.int64)  # bits 85..93
    out["cog_deg"][rows] = np.where(cog >= 360, np.nan, cog.astype(float))
