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
    """Rows of 24 six-bit values -> rows of three 48-bit words (as uint64)."""
    w = np.zeros((v.shape[0], 3), dtype=np.uint64)
    for i in range(_WIDTH):  # a loop over character columns, not rows
        w[:, i // 8] |= v[:, i].astype(np.uint64) << np.uint64(6 * (7 - i % 8))
    return w


def _gather(buf: np.ndarray, start: np.ndarray, n_chars: np.ndarray) -> np.ndarray:
    """Rows of the first :data:`_WIDTH` 6-bit values of each payload, zero past its end.

    ``buf`` must extend at least :data:`_WIDTH` bytes past the last payload start.
    """
    windows = np.lib.stride_tricks.sliding_window_view(buf, _WIDTH)
    v = np.take(_SIXBIT_LUT, windows[start])
    v[np.arange(_WIDTH) >= n_chars[:, None]] = 0
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
    bad = v == 255
    bad_char = bad.any(axis=1)
    v[bad] = 0
    msg_type = v[:, 0].astype(np.int8)
    v = _pack(v)
    nbits = 6 * n_chars - np.asarray(fill_bits, dtype=np.int64)
    required = np.full(n, 1 << 30, dtype=np.int64)
    for t, bits in REQUIRED_BITS.items():
        required[msg_type == t] = bits
    out = {
        "msg_type": msg_type,
        "mmsi": _field(v, 8, 30),
        "nav_status": np.full(n, 15, dtype=np.int8),
        "sog_kn": np.full(n, np.nan),
        "cog_deg": np.full(n, np.nan),
        "heading_deg": np.full(n, np.nan),
        "lat": np.full(n, np.nan),
        "lon": np.full(n, np.nan),
        "short": nbits < required,
        "bad_char": bad_char,
        "out_of_range": np.zeros(n, dtype=bool),
    }
    class_a = np.isin(msg_type, (1, 2, 3))
    class_b = np.isin(msg_type, (18, 19))
    long_range = msg_type == 27
    layouts = (
        # mask, status bit, sog (bit, width, NA), lon bit, lat bit, cog (bit, width), heading bit
        (class_a, 38, (50, 10, 1023), 61, 89, (116, 12), 128),
        (class_b, None, (46, 10, 1023), 57, 85, (112, 12), 124),
    )
    for mask, status_bit, (sog_bit, sog_w, sog_na), lon_bit, lat_bit, (cog_bit, cog_w), hdg_bit \
            in layouts:
        if not mask.any():
            continue
        sub = v[mask]
        if status_bit is not None:
            out["nav_status"][mask] = _field(sub, status_bit, 4)
        sog = _field(sub, sog_bit, sog_w)
        out["sog_kn"][mask] = np.where(sog == sog_na, np.nan, sog / 10.0)
        cog = _field(sub, cog_bit, cog_w)
        out["cog_deg"][mask] = np.where(cog >= 3600, np.nan, cog / 10.0)
        hdg = _field(sub, hdg_bit, 9)
        out["heading_deg"][mask] = np.where(hdg >= 360, np.nan, hdg.astype(float))
        lon_raw = _field(sub, lon_bit, 28, signed=True)
        lat_raw = _field(sub, lat_bit, 27, signed=True)
        _set_lat_lon(out, mask, lat_raw, lon_raw, 600_000.0, _LAT_NA_RAW, _LON_NA_RAW)
    if long_range.any():
        sub = v[long_range]
        out["nav_status"][long_range] = _field(sub, 40, 4)
        lon_raw = _field(sub, 44, 18, signed=True)
        lat_raw = _field(sub, 62, 17, signed=True)
        _set_lat_lon(out, long_range, lat_raw, lon_raw, 600.0, _LAT27_NA_RAW, _LON27_NA_RAW)
        sog = _field(sub, 79, 6)
        out["sog_kn"][long_range] = np.where(sog == 63, np.nan, sog.astype(float))
        cog = _field(sub, 85, 9)
        out["cog_deg"][long_range] = np.where(cog >= 360, np.nan, cog.astype(float))
    return out


def _set_lat_lon(out, mask, lat_raw, lon_raw, scale, lat_na, lon_na) -> None:
    lat = lat_raw / scale
    lon = lon_raw / scale
    lat_missing = lat_raw == lat_na
    lon_missing = lon_raw == lon_na
    out["out_of_range"][mask] = ((np.abs(lat) > 90) & ~lat_missing) | (
        (np.abs(lon) > 180) & ~lon_missing
    )
    out["lat"][mask] = np.where(lat_missing, np.nan, lat)
    out["lon"][mask] = np.where(lon_missing, np.nan, lon)
