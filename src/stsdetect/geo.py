"""Distances on the sphere, unit conversions and durations: the one place for them.

Every function takes and returns NumPy arrays (or scalars) and works on whole arrays at once.
Distances use a spherical Earth of mean radius :data:`EARTH_RADIUS_M` (IUGG mean radius R1);
the error against the WGS 84 ellipsoid is below 0.5 %, far below AIS position noise at the
hundreds-of-metres scale the detectors work at.
"""

from __future__ import annotations

import re

import numpy as np
import pandas as pd

__all__ = [
    "EARTH_RADIUS_M",
    "KNOT_M_S",
    "NM_M",
    "arc_to_chord_m",
    "chord_to_arc_m",
    "duration_s",
    "epoch_ns",
    "epoch_s",
    "haversine_m",
    "knots_to_m_s",
    "latlon_from_xyz",
    "m_s_to_knots",
    "unit_components",
    "unit_xyz",
    "utc_from_epoch_s",
    "utc_from_ns",
    "wrap_lon_deg",
]

#: IUGG mean Earth radius R1 in metres (Moritz 1980, Geodetic Reference System 1980).
EARTH_RADIUS_M = 6_371_008.8
#: International nautical mile in metres.
NM_M = 1852.0
#: One knot in metres per second.
KNOT_M_S = NM_M / 3600.0


def knots_to_m_s(speed_kn):
    """Convert knots to metres per second."""
    return np.asarray(speed_kn, dtype=float) * KNOT_M_S


def m_s_to_knots(speed_m_s):
    """Convert metres per second to knots."""
    return np.asarray(speed_m_s, dtype=float) / KNOT_M_S


def wrap_lon_deg(lon_deg):
    """Wrap longitudes into [-180, 180); a longitude already in that range is returned as it is.

    (The wrapping arithmetic rounds: 122.6 would come back as 122.60000000000002, which moves
    a point lying exactly on a region's edge out of it.)
    """
    lon = np.asarray(lon_deg, dtype=float)
    wrapped = (lon + 180.0) % 360.0 - 180.0
    out = np.where((lon >= -180.0) & (lon < 180.0), lon, wrapped)
    return out[()] if out.ndim == 0 else out  # a scalar stays a scalar


def haversine_m(lat1_deg, lon1_deg, lat2_deg, lon2_deg):
    """Great-circle distance in metres between points, elementwise with broadcasting.

    Parameters
    ----------
    lat1_deg, lon1_deg, lat2_deg, lon2_deg : array_like
        Coordinates in degrees. Longitudes may be given in any wrapping; the antimeridian
        needs no special care.

    Returns
    -------
    numpy.ndarray
        Distance in metres on a sphere of radius :data:`EARTH_RADIUS_M`.
    """
    lat1 = np.radians(np.asarray(lat1_deg, dtype=float))
    lat2 = np.radians(np.asarray(lat2_deg, dtype=float))
    dlat = lat2 - lat1
    dlon = np.radians(np.asarray(lon2_deg, dtype=float) - np.asarray(lon1_deg, dtype=float))
    h = np.sin(dlat / 2.0) ** 2 + np.cos(lat1) * np.cos(lat2) * np.sin(dlon / 2.0) ** 2
    return 2.0 * EARTH_RADIUS_M * np.arcsin(np.sqrt(np.clip(h, 0.0, 1.0)))


def unit_xyz(lat_deg, lon_deg):
    """Earth-centred unit vectors, shape ``(n, 3)``, for chord-distance spatial indexes.

    A k-d tree over these points with radius :func:`arc_to_chord_m` ``/ EARTH_RADIUS_M`` finds
    neighbours by true great-circle distance at any latitude and across the antimeridian.
    """
    return np.column_stack(unit_components(lat_deg, lon_deg))


def unit_components(lat_deg, lon_deg):
    """The x, y, z components of :func:`unit_xyz` as three 1-D arrays (no stacking copy)."""
    lat = np.radians(np.asarray(lat_deg, dtype=float))
    lon = np.radians(np.asarray(lon_deg, dtype=float))
    cos_lat = np.cos(lat)
    return cos_lat * np.cos(lon), cos_lat * np.sin(lon), np.sin(lat)


#: Bits per axis of a :func:`grid_keys` cell key (three axes: 60-bit int64 keys).
GRID_BITS = 20
#: Offset added to each axis' cell index: cells of unit vectors lie within +-2**18
#: (:func:`grid_cell` is at least 2**-18), so biased indices fit :data:`GRID_BITS` bits.
GRID_BIAS = 1 << 19


def grid_cell(chord: float) -> float:
    """Grid cell size for a search chord on the unit sphere: the chord, at least 2**-18.

    With cells one chord wide, the 27 cells around a unit vector hold every unit vector
    within the chord (across the antimeridian and at the poles alike).
    """
    return max(float(chord), 4.0 / (1 << GRID_BITS))


def grid_keys(xyz: np.ndarray, cell: float) -> np.ndarray:
    """int64 key of the 3-D grid cell of each unit vector (rows of ``xyz``), axes x, y, z."""
    ijk = np.floor(np.asarray(xyz, dtype=np.float64) / cell).astype(np.int64) + GRID_BIAS
    return (ijk[:, 0] << (2 * GRID_BITS)) | (ijk[:, 1] << GRID_BITS) | ijk[:, 2]


def latlon_from_xyz(xyz) -> tuple[np.ndarray, np.ndarray]:
    """Latitude and longitude in degrees of the directions of Earth-centred vectors.

    The inverse of :func:`unit_xyz`; vectors need not be unit length, so a sum of unit vectors
    gives the spherical mean position (correct across the antimeridian). Longitude in
    [-180, 180).
    """
    xyz = np.asarray(xyz, dtype=float)
    x, y, z = xyz[:, 0], xyz[:, 1], xyz[:, 2]
    lat = np.degrees(np.arctan2(z, np.hypot(x, y)))
    return lat, wrap_lon_deg(np.degrees(np.arctan2(y, x)))


def arc_to_chord_m(arc_m):
    """Straight-line (chord) length in metres for a great-circle arc length in metres."""
    return 2.0 * EARTH_RADIUS_M * np.sin(np.asarray(arc_m, dtype=float) / (2.0 * EARTH_RADIUS_M))


def chord_to_arc_m(chord_m):
    """Great-circle arc length in metres for a chord length in metres."""
    ratio = np.clip(np.asarray(chord_m, dtype=float) / (2.0 * EARTH_RADIUS_M), 0.0, 1.0)
    return 2.0 * EARTH_RADIUS_M * np.arcsin(ratio)


_BARE_NUMBER = re.compile(r"^[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?$")


def duration_s(value, *, numbers_in_seconds: bool = False) -> float:
    """Seconds in a duration: the one parser of durations (contract C5).

    A duration must carry its unit: ``"2h"``, ``"90min"``, ``"1d"``, ``"1h30min"``,
    ``"7200s"``, a :class:`datetime.timedelta`, :class:`pandas.Timedelta` or
    :class:`numpy.timedelta64`. A number without a unit (``7200``, ``"7200"``) is rejected,
    because it is ambiguous: pandas reads the string ``"7200"`` as 7200 *nanoseconds*, which
    made ``--min-duration 7200`` behave like ``0s``. Zero is the same in every unit and is
    accepted. Only a parameter whose name says its unit (``before_after_s``,
    ``duplicate_window_s``) takes a plain number, through ``numbers_in_seconds=True``.

    Parameters
    ----------
    value : str, datetime.timedelta, pandas.Timedelta or numpy.timedelta64
        The duration.
    numbers_in_seconds : bool, default False
        Take a Python or NumPy number (not a string) as seconds.

    Returns
    -------
    float
        The duration in seconds.

    Raises
    ------
    ValueError
        If the value is not a duration, has no unit, or is negative or not finite.
    """
    hint = "write it with a unit, like '7200s', '90min', '2h', '1d' or '1h30min'"
    if isinstance(value, np.timedelta64):  # (a subclass of np.integer)
        value = pd.Timedelta(value)
    if isinstance(value, (int, float, np.integer, np.floating)) and not isinstance(value, bool):
        seconds = float(value)
        if not numbers_in_seconds and seconds != 0 and np.isfinite(seconds):
            raise ValueError(f"duration {value!r} has no unit: {hint}")
    elif isinstance(value, bool):
        raise ValueError(f"not a duration: {value!r} ({hint})")
    else:
        if isinstance(value, str):
            text = value.strip()
            if _BARE_NUMBER.match(text):
                if float(text) != 0:
                    raise ValueError(f"duration {value!r} has no unit: {hint}")
                return 0.0
            # pandas deprecates the lower-case day unit ("1d") that users naturally write.
            value = re.sub(r"(?<=\d)\s*d(?=$|\d|\s)", "D", text)
        try:
            seconds = pd.Timedelta(value).total_seconds()
        except (ValueError, TypeError, OverflowError) as exc:
            raise ValueError(f"not a duration: {value!r} ({hint})") from exc
    if not np.isfinite(seconds) or seconds < 0:
        raise ValueError(f"duration must be finite and non-negative, got {value!r}")
    return seconds


def epoch_s(times) -> np.ndarray:
    """UTC datetimes -> float seconds since the Unix epoch, NaN where the time is missing.

    Parameters
    ----------
    times : array_like of datetimes, pandas.Series or pandas.DatetimeIndex
        Time-zone-aware times are converted to UTC; naive ones are taken as UTC.

    Returns
    -------
    numpy.ndarray of float64
        The inverse of :func:`utc_from_epoch_s` (to the nanosecond).
    """
    ns = epoch_ns(times)
    seconds = ns / 1e9
    seconds[ns == np.iinfo(np.int64).min] = np.nan  # NaT
    return seconds


def epoch_ns(times, copy: bool = True) -> np.ndarray:
    """UTC datetimes -> int64 nanoseconds since the Unix epoch (NaT stays ``NaT``'s int64 value).

    Parameters
    ----------
    times : array_like of datetimes, pandas.Series or pandas.DatetimeIndex
        Time-zone-aware times are converted to UTC; naive ones are taken as UTC.
    copy : bool, default True
        False: a read-only array, which is the times' own data (no pass over them) when they
        already are nanosecond datetimes (a column of ``read_ais(...).positions``).

    Returns
    -------
    numpy.ndarray of int64
        Exact: no float on the way (the inverse of :func:`utc_from_ns`); a new array unless
        ``copy=False``.
    """
    if isinstance(times, np.ndarray) and times.dtype.kind == "M":
        out = times.astype("datetime64[ns]", copy=copy).view(np.int64)
    else:
        if isinstance(times, (pd.Series, pd.Index)) and (
                isinstance(times.dtype, pd.DatetimeTZDtype) or times.dtype.kind == "M"):
            idx = pd.DatetimeIndex(times)  # UTC instants (a view of the data)
        else:
            idx = pd.DatetimeIndex(pd.to_datetime(times, utc=True))
        if idx.unit == "ns":  # (as_unit would copy even then)
            out = idx.asi8.copy() if copy else idx.asi8
        else:
            out = idx.as_unit("ns").asi8  # a new array
    if not copy:
        out = out.view()
        out.flags.writeable = False
    return out


def utc_from_ns(ns) -> pd.DatetimeIndex:
    """Int64 nanoseconds since the Unix epoch -> UTC timestamps (exact, no copy of the data)."""
    ns = np.asarray(ns, dtype=np.int64)
    return pd.DatetimeIndex(ns.view("datetime64[ns]")).tz_localize("UTC")


def utc_from_epoch_s(seconds) -> pd.DatetimeIndex:
    """Float seconds since the Unix epoch -> UTC timestamps, rounded to the nanosecond."""
    ns = np.round(np.asarray(seconds, dtype=np.float64) * 1e9).astype("int64")
    return pd.to_datetime(ns, utc=True)
