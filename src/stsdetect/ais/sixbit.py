"""Vectorized decoding of AIS 6-bit payloads of position reports (types 1, 2, 3, 18, 19, 27).

Field layouts follow ITU-R M.1371-5, Annex 8 (message tables 45-47, 49 and 73 for types
1/2/3, 18, 19 and 27). Every function works on whole arrays of payloads at once.
"""

from __future__ import annotations

import numpy as np

__all__ = [
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


def decode_positions(buf, start, n_chars, fill_bits) -> dict:
    """Decode position reports from payloads stored in one byte buffer.

    Parameters
    ----------
    buf : numpy.ndarray of uint8
        Bytes holding the armoured payloads.
    start, n_chars : numpy.ndarray of int64
        Offset of each payload's first character in ``buf`` and its length in characters.
        Characters outside the armouring alphabet among the first 24 set ``bad_char``.
    fill_bits : numpy.ndarray of int
        Fill bits (0-5) of each payload.

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
        in :data:`POSITION_TYPES` are returned with NaN fields and ``short`` set.
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
