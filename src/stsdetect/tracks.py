"""Vessel tracks: columnar, sorted by (mmsi, segment, time), with per-segment offsets.

A *segment* is one physical transmitter's track. Usually an MMSI has exactly one; where two
transmitters share an MMSI (and so alternate between distant places) the cleaning stage splits it
into several. Segments are never split at reporting gaps: gaps are what the dark-period detector
looks for, and the rendezvous detector refuses to interpolate across them itself.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from .geo import (
    EARTH_RADIUS_M,
    KNOT_M_S,
    chord_to_arc_m,
    epoch_ns,
    haversine_m,
    unit_xyz,
    utc_from_ns,
    wrap_lon_deg,
)

__all__ = ["INVALID_MMSIS", "REPORT_KEYS", "TIME_RANGE_NS", "Tracks", "as_time_ns", "build_tracks",
           "check_time_range", "heard_spans", "spans_frame"]


#: Plausible report times of :class:`Tracks`, int64 ns since the Unix epoch: from
#: 1990-01-01 (AIS began in 2002; the decoder's own, tighter window is
#: :mod:`stsdetect.ais.plausible`) to 2100-01-01. Anything outside is a unit error -- seconds
#: or milliseconds given as nanoseconds land in January 1970 -- and is refused.
TIME_RANGE_NS = (631_152_000 * 10**9, 4_102_444_800 * 10**9)


def as_time_ns(values, name: str = "time") -> np.ndarray:
    """Report times as int64 nanoseconds since the Unix epoch, UTC (exact, no float on the way).

    Parameters
    ----------
    values : array_like
        datetime64 values (any unit; a pandas Series/Index, time-zone aware or naive = UTC),
        int64 nanoseconds since the epoch, or floats taken as *seconds* since the epoch
        (rounded to the nanosecond; a convenience for hand-made test tracks). Missing times
        (NaT, NaN) are refused: :class:`Tracks` hold cleaned rows only.
    name : str
        Name used in error messages.

    Returns
    -------
    numpy.ndarray of int64

    Raises
    ------
    ValueError
        If a time is missing or outside :data:`TIME_RANGE_NS` (with the likely unit error).
    """
    if isinstance(values, (pd.Series, pd.Index)) and (
            isinstance(values.dtype, pd.DatetimeTZDtype) or values.dtype.kind == "M"):
        ns = pd.DatetimeIndex(values).as_unit("ns").asi8
        missing = np.asarray(pd.isna(values))
    else:
        arr = np.asarray(values)
        if arr.dtype.kind == "M":
            ns = arr.astype("datetime64[ns]").view(np.int64)
            missing = np.isnat(arr)
        elif arr.dtype.kind in "iu":
            ns = arr.astype(np.int64, copy=False)
            missing = np.zeros(ns.shape, dtype=bool)
        elif arr.dtype.kind == "f":
            missing = ~np.isfinite(arr)
            ns = np.round(np.where(missing, 0.0, arr) * 1e9).astype(np.int64)
        elif arr.dtype.kind == "b":
            raise TypeError(f"{name} is boolean; expected datetime64 or int64 nanoseconds")
        else:  # datetimes as objects or strings
            idx = pd.DatetimeIndex(pd.to_datetime(arr, utc=True, format="mixed"))
            ns = idx.as_unit("ns").asi8
            missing = np.asarray(idx.isna())
    if missing.any():
        raise ValueError(f"{int(missing.sum())} rows have no {name} (NaT/NaN); "
                         "build_tracks drops such rows (Tracks.from_arrays does no cleaning)")
    check_time_range(ns, name)
    return ns


def check_time_range(ns: np.ndarray, name: str = "time") -> None:
    """Raise a ValueError naming the likely unit mistake if any time is implausible."""
    if ns.size == 0:
        return
    lo, hi = int(ns.min()), int(ns.max())
    if lo >= TIME_RANGE_NS[0] and hi < TIME_RANGE_NS[1]:
        return
    bad = lo if lo < TIME_RANGE_NS[0] else hi
    raise ValueError(
        f"{name} {pd.Timestamp(bad, tz='UTC')} ({bad} ns since the epoch) is outside "
        "1990-01-01..2100-01-01: times must be datetime64 or int64 nanoseconds since the "
        "Unix epoch (seconds or milliseconds given as nanoseconds fall in January 1970)")


@dataclass(frozen=True, eq=False)
class Tracks:
    """Cleaned vessel tracks as plain NumPy columns.

    Rows are sorted by ``(mmsi, segment, time_ns)``. Segment ids run from 0 to
    ``n_segments - 1`` in that order, so the rows of segment ``k`` are
    ``offsets[k]:offsets[k + 1]``.

    Time is exact integer nanoseconds everywhere it is stored; kernels that need arithmetic
    take differences in int64 and convert only those (or an offset from a local origin) to
    float seconds.

    Tracks are immutable: the fields cannot be reassigned (a frozen dataclass) and the
    arrays are read-only views (``tracks.lat_deg[0] = 1.0`` raises ``ValueError:
    assignment destination is read-only``), also after pickling or copying. So a Tracks
    checked once (finite places, by the detectors) or indexed once stays as it was; to
    change a column, make new Tracks (:meth:`from_arrays`, or :func:`dataclasses.replace`
    with new arrays). Arrays handed to the constructor directly are not copied: the caller's
    own array stays writable, and changing it changes the Tracks behind those checks.

    Attributes
    ----------
    mmsi : numpy.ndarray of int64
        MMSI of each row.
    segment : numpy.ndarray of int64
        Segment id of each row (non-decreasing).
    time_ns : numpy.ndarray of int64
        Report time, nanoseconds since the Unix epoch, UTC (within :data:`TIME_RANGE_NS`).
    lat_deg, lon_deg : numpy.ndarray of float64
        Position in degrees (WGS 84), longitude in [-180, 180).
    sog_kn : numpy.ndarray of float64
        Reported speed over ground in knots (NaN where not available).
    cog_deg : numpy.ndarray of float64
        Reported course over ground in degrees (NaN where not available).
    offsets : numpy.ndarray of int64
        ``n_segments + 1`` row offsets.
    segment_mmsi : numpy.ndarray of int64
        MMSI of each segment.
    report : dict
        Cleaning counts by reason (rows in, rows dropped per reason, segments split ...).
    heard : pandas.DataFrame or None
        The first and last time each MMSI was heard in the positions these tracks were
        cleaned from (``mmsi``, ``pos_first_ns``, ``pos_last_ns``, sorted by MMSI; see
        :func:`heard_spans`), as :func:`build_tracks` finds it on its own pass; None when not
        known. It describes those positions, not the rows: Tracks made of a subset of rows
        (:meth:`take`) or from arrays have None. A field like the others, so it goes wherever
        the Tracks goes (copied, pickled to a worker).
    """

    mmsi: np.ndarray
    segment: np.ndarray
    time_ns: np.ndarray
    lat_deg: np.ndarray
    lon_deg: np.ndarray
    sog_kn: np.ndarray
    cog_deg: np.ndarray
    offsets: np.ndarray
    segment_mmsi: np.ndarray
    report: dict = field(default_factory=dict)
    heard: pd.DataFrame | None = field(default=None, repr=False)

    def __post_init__(self) -> None:
        _freeze(self)

    def __setstate__(self, state: dict) -> None:
        # pickle and copy restore the fields without __init__: read-only again
        self.__dict__.update(state)
        _freeze(self)

    @classmethod
    def from_arrays(
        cls,
        mmsi,
        time,
        lat_deg,
        lon_deg,
        sog_kn=None,
        cog_deg=None,
        segment=None,
        report: dict | None = None,
    ) -> Tracks:
        """Build tracks from unsorted row arrays, without any cleaning.

        Parameters
        ----------
        mmsi, lat_deg, lon_deg : array_like
            One value per report.
        time : array_like
            One time per report: datetime64 (or a pandas datetime Series, UTC), int64
            nanoseconds since the Unix epoch, or floats taken as seconds since the epoch
            (see :func:`as_time_ns`; implausible epochs raise a ValueError).
        sog_kn, cog_deg : array_like, optional
            Speed and course; NaN when omitted.
        segment : array_like of int, optional
            Any integer label splitting an MMSI into several transmitters; labels are
            renumbered. One segment per MMSI when omitted.
        report : dict, optional
            Cleaning report to attach.

        Returns
        -------
        Tracks
        """
        mmsi = np.asarray(mmsi, dtype=np.int64)
        n = mmsi.size
        time_ns = as_time_ns(time) if n else np.zeros(0, np.int64)
        lat = np.asarray(lat_deg, dtype=np.float64)
        lon = wrap_lon_deg(lon_deg)
        sog = np.full(n, np.nan) if sog_kn is None else np.asarray(sog_kn, dtype=np.float64)
        cog = np.full(n, np.nan) if cog_deg is None else np.asarray(cog_deg, dtype=np.float64)
        label = np.zeros(n, np.int64) if segment is None else np.asarray(segment, np.int64)
        for name, arr in (("time", time_ns), ("lat_deg", lat), ("lon_deg", lon),
                          ("sog_kn", sog), ("cog_deg", cog), ("segment", label)):
            if arr.shape != (n,):
                raise ValueError(f"{name} has shape {arr.shape}, expected ({n},)")
        # Ties in time are broken by the rest of the row, as build_tracks does, so that the
        # result (and every detector's) does not depend on the order rows came in.
        order = np.lexsort((*_row_keys(time_ns, lat, lon, sog, cog), label, mmsi))
        mmsi, label = mmsi[order], label[order]
        new_segment = np.ones(n, dtype=bool)
        new_segment[1:] = (mmsi[1:] != mmsi[:-1]) | (label[1:] != label[:-1])
        starts = np.flatnonzero(new_segment)
        segment_id = np.cumsum(new_segment) - 1
        offsets = np.append(starts, n).astype(np.int64)
        return cls(
            mmsi=mmsi,
            segment=segment_id.astype(np.int64),
            time_ns=time_ns[order],
            lat_deg=lat[order],
            lon_deg=lon[order],
            sog_kn=sog[order],
            cog_deg=cog[order],
            offsets=offsets,
            segment_mmsi=mmsi[starts],
            report=dict(report or {}),
        )

    @classmethod
    def _from_sorted(cls, mmsi, time_ns, lat_deg, lon_deg, sog_kn, cog_deg, label,
                     report=None, heard=None) -> Tracks:
        """Tracks from rows already sorted by ``(mmsi, label, time_ns)`` (no sort, no copy)."""
        n = mmsi.size
        new_segment = np.ones(n, dtype=bool)
        new_segment[1:] = (mmsi[1:] != mmsi[:-1]) | (label[1:] != label[:-1])
        return cls._from_offsets(
            mmsi.astype(np.int64, copy=False), time_ns.astype(np.int64, copy=False),
            *(a.astype(np.float64, copy=False) for a in (lat_deg, lon_deg, sog_kn, cog_deg)),
            np.append(np.flatnonzero(new_segment), n), report, heard)

    @classmethod
    def _from_offsets(cls, mmsi, time_ns, lat_deg, lon_deg, sog_kn, cog_deg, offsets,
                      report=None, heard=None) -> Tracks:
        """Tracks from rows sorted by segment (``(mmsi, time_ns)`` within each), the segments
        starting at ``offsets`` (``n_segments + 1`` values, each segment non-empty; no sort,
        no copy)."""
        offsets = np.asarray(offsets, dtype=np.int64)
        return cls(
            mmsi=mmsi,
            segment=np.repeat(np.arange(offsets.size - 1, dtype=np.int64), np.diff(offsets)),
            time_ns=time_ns,
            lat_deg=lat_deg,
            lon_deg=lon_deg,
            sog_kn=sog_kn,
            cog_deg=cog_deg,
            offsets=offsets,
            segment_mmsi=mmsi[offsets[:-1]],
            report=dict(report or {}),
            heard=heard,
        )

    @classmethod
    def empty(cls) -> Tracks:
        """Tracks with no rows."""
        return cls.from_arrays([], np.zeros(0, np.int64), [], [])

    def __len__(self) -> int:
        return int(self.mmsi.size)

    @property
    def n_segments(self) -> int:
        """Number of segments."""
        return int(self.segment_mmsi.size)

    @property
    def n_vessels(self) -> int:
        """Number of distinct MMSIs."""
        return int(np.unique(self.segment_mmsi).size)

    def take(self, rows) -> Tracks:
        """Tracks made of a subset of rows (a boolean mask or sorted indices).

        The result's ``heard`` is None: the heard spans describe the positions the whole
        tracks were cleaned from, not a subset of their rows.
        """
        rows = np.asarray(rows)
        if rows.dtype == bool and rows.shape == self.mmsi.shape:
            # a mask keeps the (mmsi, segment, time) order: compress, no sort
            return Tracks._from_sorted(
                self.mmsi[rows], self.time_ns[rows], self.lat_deg[rows], self.lon_deg[rows],
                self.sog_kn[rows], self.cog_deg[rows], self.segment[rows], report=self.report)
        if rows.dtype == bool:
            rows = np.flatnonzero(rows)
        if rows.size < 2 or bool(np.all(rows[1:] > rows[:-1])):
            # A subset in row order keeps the (mmsi, segment, time) order: no sort needed.
            return Tracks._from_sorted(
                self.mmsi[rows], self.time_ns[rows], self.lat_deg[rows], self.lon_deg[rows],
                self.sog_kn[rows], self.cog_deg[rows], self.segment[rows], report=self.report)
        return Tracks.from_arrays(
            self.mmsi[rows], self.time_ns[rows], self.lat_deg[rows], self.lon_deg[rows],
            self.sog_kn[rows], self.cog_deg[rows], segment=self.segment[rows],
            report=self.report,
        )

    def to_dataframe(self) -> pd.DataFrame:
        """The tracks as a DataFrame with a UTC ``time`` column, one row per report."""
        return pd.DataFrame({
            "mmsi": self.mmsi,
            "segment": self.segment,
            "time": utc_from_ns(self.time_ns),
            "lat": self.lat_deg,
            "lon": self.lon_deg,
            "sog_kn": self.sog_kn,
            "cog_deg": self.cog_deg,
        })


_ARRAY_FIELDS = ("mmsi", "segment", "time_ns", "lat_deg", "lon_deg", "sog_kn", "cog_deg",
                 "offsets", "segment_mmsi")


def _freeze(tracks: Tracks) -> None:
    """Make each array field of ``tracks`` a read-only view (the fields' own arrays, and any
    caller's, stay as they are; a view costs no copy)."""
    for name in _ARRAY_FIELDS:  # nine columns
        a = getattr(tracks, name)
        if isinstance(a, np.ndarray) and a.flags.writeable:
            a = a.view()
            a.flags.writeable = False
            object.__setattr__(tracks, name, a)


# --------------------------------------------------------------------------------------------
# Cleaning: positions table -> Tracks
# --------------------------------------------------------------------------------------------

#: Placeholder MMSIs that unconfigured or carelessly configured transponders broadcast: the
#: issue 3 specification names 0, 123456789 and 111111111; the other nine-digit repdigits
#: (222222222 ... 999999999) and 987654321 are the same kind of typed-in default. (0 and any
#: MMSI that is not nine digits are rejected by the range check anyway.)
INVALID_MMSIS = frozenset(
    [int(str(d) * 9) for d in range(1, 10)] + [123456789, 987654321]
)

#: Keys of the cleaning report attached to ``Tracks.report`` by :func:`build_tracks`.
REPORT_KEYS = (
    "rows_in",
    "dropped_no_time",
    "dropped_no_position",
    "dropped_invalid_mmsi",
    "dropped_duplicate",
    "dropped_outlier",
    "segments_split",
    "rows_out",
)

_REQUIRED = ("mmsi", "lat", "lon")


def _time_ns(positions: pd.DataFrame):
    """The report times as int64 ns since the epoch (read only), and a mask of the rows
    without one (None for datetimes: NaT, the int64 minimum, marks them).

    ``time`` must hold datetimes (or text parsed as such; unparseable -> no time). Numbers
    carry their unit in the column name: ``time_ns`` (int64 nanoseconds) or ``time_s``
    (seconds); a numeric ``time`` column is refused rather than guessed at.
    """
    if "time" in positions.columns:
        col = positions["time"]
        if pd.api.types.is_bool_dtype(col.dtype):
            raise TypeError("positions 'time' column is boolean; expected datetimes (UTC)")
        if pd.api.types.is_numeric_dtype(col.dtype):
            raise ValueError("positions 'time' column is numeric, so its unit is unknown: "
                             "give datetimes (UTC), or name the column 'time_s' (seconds) or "
                             "'time_ns' (nanoseconds) since the Unix epoch")
        if isinstance(col.dtype, pd.DatetimeTZDtype) or pd.api.types.is_datetime64_dtype(col):
            return epoch_ns(col, copy=False), None  # (ns datetimes: the column's own data)
        # strings or objects: parse, unparseable -> NaT (counted as no time)
        stamps = pd.to_datetime(col, utc=True, errors="coerce", format="mixed")
        return epoch_ns(stamps, copy=False), None
    if "time_ns" in positions.columns:
        col = pd.to_numeric(positions["time_ns"], errors="coerce")
        missing = np.asarray(col.isna())
        return _read_only(col.fillna(0).to_numpy(np.int64)), missing
    if "time_s" in positions.columns:
        sec = pd.to_numeric(positions["time_s"], errors="coerce").to_numpy(dtype=float,
                                                                           na_value=np.nan)
        missing = ~np.isfinite(sec)
        return _read_only(np.round(np.where(missing, 0.0, sec) * 1e9).astype(np.int64)), \
            missing
    raise ValueError("positions need a 'time' column (datetime64 UTC), or a 'time_ns' / "
                     "'time_s' column (nanoseconds / seconds since the Unix epoch)")


def _read_only(a: np.ndarray) -> np.ndarray:
    """A read-only view of ``a`` (every input form then reaches the compiled passes with one
    array type: one compiled specialisation to load)."""
    a = a.view()
    a.flags.writeable = False
    return a


def _float_column(positions: pd.DataFrame, name: str, copy: bool = True) -> np.ndarray:
    """A column as float64 (NaN where missing or not a number); a writable copy unless
    ``copy=False`` (then possibly the frame's own array: read it only)."""
    if name not in positions.columns:
        return np.full(len(positions), np.nan)
    col = positions[name]
    if col.dtype == np.float64:  # NaN is already the missing value: no conversion pass
        values = col.to_numpy()
    else:
        values = pd.to_numeric(col, errors="coerce").to_numpy(dtype=float, na_value=np.nan)
    return np.array(values, dtype=float) if copy else np.asarray(values, dtype=float)


def _take(columns: dict, index) -> None:
    """Re-index every array of ``columns`` in place of the dict, one at a time."""
    for name in list(columns):
        columns[name] = columns[name][index]


def _row_keys(t, lat, lon, sog, cog) -> tuple:
    """The order of one vessel's (or segment's) reports: by time, ties broken by the rest of
    the row (lat, lon, sog, cog; NaN last), so that no result depends on the order rows came
    in. As :func:`numpy.lexsort` keys (least significant first): callers append the vessel
    (and segment) keys. The one spelling of this order, shared by :func:`build_tracks` and
    :meth:`Tracks.from_arrays`; :func:`stsdetect._order.scatter_rows` checks the same order
    in compiled code (one comparison per column in this sequence)."""
    return cog, sog, lon, lat, t


#: Rows per block of :func:`gap_rows` and :func:`first_rows_in_bins`: 2**16, so each block's
#: int64 time steps (512 KiB) stay in cache and no temporary of the rows' size is made (a fresh
#: 9 MB array at 1.2M rows costs its page faults: most of its cost in a fresh process).
_GAP_BLOCK = 1 << 16


def gap_rows(tracks: Tracks, gap_ns: int) -> np.ndarray:
    """The rows ``i`` whose next row is the same segment's and more than ``gap_ns`` later.

    Parameters
    ----------
    tracks : Tracks
    gap_ns : int
        Time step, int64 nanoseconds.

    Returns
    -------
    numpy.ndarray of int64
        Ascending; the same as ``np.flatnonzero((segment[1:] == segment[:-1]) &
        (np.diff(time_ns) > gap_ns))``, computed block by block (:data:`_GAP_BLOCK` rows)
        with each segment's last row left out by its offset.
    """
    t = tracks.time_ns
    n = t.size
    gap_ns = int(gap_ns)
    parts = [np.zeros(0, np.int64)]
    for a in range(0, n - 1, _GAP_BLOCK):  # loop over blocks of rows
        b = min(a + _GAP_BLOCK, n - 1)
        parts.append(np.flatnonzero(t[a + 1:b + 1] - t[a:b] > gap_ns) + a)
    rows = np.concatenate(parts)
    ends = tracks.offsets[1:-1] - 1  # each segment's last row but the last segment's
    if rows.size and ends.size:
        at = np.minimum(np.searchsorted(ends, rows), ends.size - 1)
        rows = rows[ends[at] != rows]
    return rows


def first_rows_in_bins(tracks: Tracks, bin_ns: int) -> np.ndarray:
    """The first row of each segment in each time bin (``time_ns // bin_ns``).

    Parameters
    ----------
    tracks : Tracks
    bin_ns : int
        Bin width, int64 nanoseconds (> 0).

    Returns
    -------
    numpy.ndarray of int64
        Ascending; the same as ``flatnonzero`` of ``(segment[1:] != segment[:-1]) |
        (tbin[1:] != tbin[:-1])`` with the first row kept, computed block by block
        (:data:`_GAP_BLOCK` rows) with each segment's first row set by its offset.
    """
    t = tracks.time_ns
    n = t.size
    keep = np.empty(n, dtype=bool)
    for a in range(0, n, _GAP_BLOCK):  # loop over blocks of rows
        tb = t[max(a - 1, 0):a + _GAP_BLOCK] // bin_ns
        keep[a + (a == 0):a + _GAP_BLOCK] = tb[1:] != tb[:-1]
    keep[tracks.offsets[:-1]] = True  # each segment's first row
    return np.flatnonzero(keep)


def range_rows(lo: np.ndarray, hi: np.ndarray) -> np.ndarray:
    """The row numbers of the ranges ``[lo[i], hi[i])``, one range after the other.

    Parameters
    ----------
    lo, hi : numpy.ndarray of int64
        Start and end (exclusive) of each range, e.g. of segments: ``offsets[seg]`` and
        ``offsets[seg + 1]``.

    Returns
    -------
    numpy.ndarray of int64
        ``concatenate([arange(a, b) for a, b in zip(lo, hi)])``, without a Python loop.
    """
    size = np.asarray(hi, np.int64) - np.asarray(lo, np.int64)
    return np.arange(int(size.sum()), dtype=np.int64) + np.repeat(lo - (np.cumsum(size) - size),
                                                                  size)


def _mmsi_column(positions: pd.DataFrame) -> np.ndarray:
    """The MMSIs as int64; 0 (an invalid MMSI) where a value is missing or not an integer."""
    raw = positions["mmsi"]
    if isinstance(raw.dtype, np.dtype) and raw.dtype.kind in "iu":  # no floats: as they are
        return raw.to_numpy(np.int64)
    mmsi_f = pd.to_numeric(raw, errors="coerce").to_numpy(dtype=float, na_value=np.nan)
    whole = (mmsi_f >= 100_000_000) & (mmsi_f <= 999_999_999) & (mmsi_f == np.round(mmsi_f))
    return np.where(whole, mmsi_f, 0).astype(np.int64)


def _clean_rows(positions, invalid_mmsis, duplicate_window_s, duplicate_distance_m,
                max_speed_kn, noise_m, report):
    """Steps 1-4 of :func:`build_tracks` (times, positions, MMSIs, duplicates) and the
    candidates of step 5's impossible jumps, in a few compiled passes
    (:mod:`stsdetect._order`).

    The kept rows are put in the total order (mmsi, time, lat, lon, sog, cog; NaN last) by a
    stable counting sort by vessel that also cleans speed, course and longitude; only the
    vessels whose rows are not already in (time, lat, lon, sog, cog) order -- none, in a dump
    written in time order -- are then sorted by every column (:func:`numpy.lexsort`). Rows
    equal in every column keep their input order, as in a stable lexsort. Fills the
    ``dropped_*`` counts of steps 1-4 into ``report``.

    Returns
    -------
    columns : dict
        ``mmsi``, ``t``, ``lat``, ``lon``, ``sog``, ``cog`` of the kept rows, in order.
    starts : numpy.ndarray of int64
        Each vessel's first row, and the number of rows.
    jump_rows : numpy.ndarray of int64
        Rows ``i`` whose step to row ``i + 1`` (same vessel) is an impossible jump.
    spans : pandas.DataFrame or None
        ``mmsi``, ``pos_first_ns``, ``pos_last_ns``: the first and last time of each MMSI's
        rows with a time (any MMSI, any position), sorted by MMSI -- what
        :func:`stsdetect.identity.activity.vessel_activity` reads from the positions -- when
        the MMSIs are integers and the times datetimes (as the decoder gives them); else None.
    """
    from stsdetect import _order

    t, no_time = _time_ns(positions)
    lat = np.ascontiguousarray(_float_column(positions, "lat", copy=False))
    lon = np.ascontiguousarray(_float_column(positions, "lon", copy=False))
    sog = np.ascontiguousarray(_float_column(positions, "sog_kn", copy=False))
    cog = np.ascontiguousarray(_float_column(positions, "cog_deg", copy=False))
    mmsi = np.ascontiguousarray(_mmsi_column(positions))
    t = np.ascontiguousarray(t)
    code, uniq, count, t_min, t_max, heard, n_no_time, n_no_pos = _order.vessel_codes(
        mmsi, t, np.zeros(0, bool) if no_time is None else no_time, no_time is None, lat, lon,
        True)
    del mmsi
    valid = (uniq >= 100_000_000) & (uniq <= 999_999_999)
    if len(invalid_mmsis):
        valid &= ~np.isin(uniq, np.fromiter(invalid_mmsis, np.int64))
    report["dropped_no_time"] = int(n_no_time)
    report["dropped_no_position"] = int(n_no_pos)
    report["dropped_invalid_mmsi"] = int(count[~valid].sum())
    valid &= count > 0  # (an MMSI heard only without a position has a code, but no rows)
    if valid.any():
        check_time_range(np.array([t_min[valid].min(), t_max[valid].max()]))
    by = np.flatnonzero(valid)
    by = by[np.argsort(uniq[by], kind="stable")]  # codes of the kept vessels, in MMSI order
    rank = np.full(uniq.size, -1, np.int64)
    rank[by] = np.arange(by.size)
    starts = np.zeros(by.size + 1, np.int64)
    np.cumsum(count[by], out=starts[1:])
    # Duplicates: same MMSI, within the window of the previous report, at the same place;
    # the candidates (within the window) are listed by the counting sort.
    dup_ns = round(float(duplicate_window_s) * 1e9)
    t, lat, lon, sog, cog, unsorted, cand = _order.scatter_rows(code, rank, starts, t, lat,
                                                                lon, sog, cog, np.int64(dup_ns))
    del code, rank
    cols = [t, lat, lon, sog, cog]
    if unsorted.any():  # vessels with rows out of order: sort their rows by every column
        v = np.flatnonzero(unsorted)
        size = starts[v + 1] - starts[v]
        rows = range_rows(starts[v], starts[v + 1])
        order = rows[np.lexsort((*_row_keys(*(a[rows] for a in cols)), np.repeat(v, size)))]
        for a in cols:
            a[rows] = a[order]
        del rows, order
        # their candidates once sorted (those listed while scattering assumed no order)
        cand = cand[~unsorted[np.searchsorted(starts, cand, "right") - 1]]
        later = range_rows(starts[v] + 1, starts[v + 1])
        cand = np.concatenate((cand, later[t[later] - t[later - 1] <= dup_ns]))
    drop = np.zeros(t.size, dtype=bool)
    drop[cand] = haversine_m(lat[cand], lon[cand], lat[cand - 1], lon[cand - 1]) \
        <= duplicate_distance_m
    report["dropped_duplicate"] = int(drop.sum())
    max_speed_m_s = float(max_speed_kn) * KNOT_M_S
    n, starts, cand = _order.drop_rows(drop, starts, *cols, max_speed_m_s, float(noise_m),
                                       np.pi / 180.0 * EARTH_RADIUS_M)
    del drop
    t, lat, lon, sog, cog = (a[:n] for a in cols)
    mmsi = np.repeat(uniq[by], np.diff(starts))
    jump_rows = _exact_jumps(cand, t, lat, lon, max_speed_m_s, float(noise_m))
    # the span each MMSI was heard (rows with a time), as vessel_activity reads it from the
    # positions: given when it reads them so (integer MMSIs, datetime times)
    raw = positions["mmsi"]
    spans = None
    if "time" in positions.columns and no_time is None and isinstance(raw.dtype, np.dtype) \
            and raw.dtype.kind in "iu":
        spans = spans_frame(uniq, heard[0], heard[1])
    return {"mmsi": mmsi, "t": t, "lat": lat, "lon": lon, "sog": sog, "cog": cog}, starts, \
        jump_rows, spans


def _impossible(xyz_i, xyz_j, t_i, t_j, max_speed_m_s, noise_m):
    """Whether going from one report to another needs more than the maximum speed.

    Takes Earth-centred unit vectors (:func:`stsdetect.geo.unit_xyz`) and int64 ns times (the
    difference is exact before it becomes float seconds); returns the flag and the
    great-circle distance in metres.
    """
    chord_m = np.sqrt(np.einsum("ij,ij->i", xyz_j - xyz_i, xyz_j - xyz_i)) * EARTH_RADIUS_M
    dist = chord_to_arc_m(chord_m)
    return dist > max_speed_m_s * (np.abs(t_j - t_i) / 1e9) + noise_m, dist


def _split_pass(group, xyz, t, max_speed_m_s, noise_m, lookback):
    """One vectorized pass of the identity split over rows sorted by (group, time).

    Rows of a group are cut into *runs* at every impossible jump. Each run is linked to the
    most recent of the ``lookback`` runs before it, in the same group, whose last report it can
    reach at ``max_speed_m_s``; runs linked together (transitively) form one
    segment. A run that can be linked only by skipping one report -- the last of the earlier
    run or the first of its own -- is linked so, and the skipped report is an outlier (a
    single bad fix right at a jump).

    Returns
    -------
    label : numpy.ndarray of int64
        Per row, the index of the first run of its segment.
    drop : numpy.ndarray of bool
        Per row, whether it is an outlier skipped by a link.
    found : bool
        Whether any impossible jump was found (nothing changes otherwise).
    """
    n = group.size
    none = np.zeros(n, np.int64), np.zeros(n, dtype=bool), False
    if n < 2:
        return none
    same = group[1:] == group[:-1]
    jump, _ = _impossible(xyz[:-1], xyz[1:], t[:-1], t[1:], max_speed_m_s, noise_m)
    jump &= same
    if not jump.any():
        return none
    run_start = np.ones(n, dtype=bool)
    run_start[1:] = ~same | jump
    run_id = np.cumsum(run_start) - 1
    first = np.flatnonzero(run_start)
    last = np.append(first[1:] - 1, n - 1)
    n_runs = first.size
    runs = np.arange(n_runs)
    long_run = last > first

    def link(end_of, start_of, allowed):
        """Most recent reachable earlier run per run (self where none); loop bounded by
        lookback."""
        parent = runs.copy()
        best = np.full(n_runs, np.inf)
        for k in range(1, lookback + 1):
            cand = runs - k
            ok = allowed & (cand >= 0)
            cand = np.where(ok, cand, 0)
            ok &= group[first[cand]] == group[first]
            end = end_of(cand)
            ok &= end >= first[cand]  # the end point must lie inside the candidate run
            end = np.clip(end, 0, n - 1)
            bad, dist = _impossible(xyz[end], xyz[start_of], t[end], t[start_of],
                                    max_speed_m_s, noise_m)
            better = ok & ~bad & np.isinf(best)  # the most recent reachable run wins
            parent = np.where(better, cand, parent)
            best = np.where(better, dist, best)
        return parent

    drop = np.zeros(n, dtype=bool)
    if lookback == 0:  # cut at every jump, link nothing
        return run_id.astype(np.int64), drop, True
    parent = link(lambda c: last[c], first, np.ones(n_runs, dtype=bool))
    orphan = parent == runs
    # Second chance: skip the last report of the earlier run ...
    p_skip_end = link(lambda c: np.where(long_run[c], last[c] - 1, -1), first, orphan)
    got = orphan & (p_skip_end != runs)
    drop[last[p_skip_end[got]]] = True
    parent = np.where(got, p_skip_end, parent)
    orphan &= ~got
    # ... or the first report of this run.
    p_skip_start = link(lambda c: last[c], np.minimum(first + 1, n - 1), orphan & long_run)
    got = orphan & (p_skip_start != runs)
    drop[first[got]] = True
    parent = np.where(got, p_skip_start, parent)
    # Pointer jumping to the root of each chain: log2(n_runs) passes at most.
    while True:
        nxt = parent[parent]
        if np.array_equal(nxt, parent):
            break
        parent = nxt
    return parent[run_id].astype(np.int64), drop, True


def _spikes(mmsi, t, xyz, max_speed_m_s, noise_m, lookback):
    """Isolated bad fixes, dropped before any linking.

    A spike is a report that cannot be reached from either neighbour, whose neighbours can
    reach each other, and that is not *supported*: no other report among the ``lookback``
    before or after it is both consistent with it and off the neighbours' track (such a report
    would make it part of a second transmitter's track, to be split, not dropped).
    """
    n = mmsi.size
    spike = np.zeros(n, dtype=bool)
    if n < 3:
        return spike
    i = np.arange(1, n - 1)
    same = (mmsi[:-2] == mmsi[1:-1]) & (mmsi[1:-1] == mmsi[2:])
    jump, _ = _impossible(xyz[:-1], xyz[1:], t[:-1], t[1:], max_speed_m_s, noise_m)
    cand = i[same & jump[:-1] & jump[1:]]
    if cand.size == 0:
        return spike
    bridge, _ = _impossible(xyz[cand - 1], xyz[cand + 1], t[cand - 1], t[cand + 1],
                            max_speed_m_s, noise_m)
    cand = cand[~bridge]
    supported = np.zeros(cand.size, dtype=bool)
    for k in range(2, lookback + 1):  # bounded by lookback, not by rows
        for other in (cand - k, cand + k):
            ok = (other >= 0) & (other < n)
            other = np.clip(other, 0, n - 1)
            ok &= mmsi[other] == mmsi[cand]
            bad, _ = _impossible(xyz[other], xyz[cand], t[other], t[cand], max_speed_m_s,
                                 noise_m)
            # ... and not itself on the neighbours' track (both reachable from a neighbour).
            on_a, _ = _impossible(xyz[other], xyz[cand - 1], t[other], t[cand - 1],
                                  max_speed_m_s, noise_m)
            on_b, _ = _impossible(xyz[other], xyz[cand + 1], t[other], t[cand + 1],
                                  max_speed_m_s, noise_m)
            supported |= ok & ~bad & (on_a | on_b)
    spike[cand[~supported]] = True
    return spike


def _exact_jumps(cand, t, lat, lon, max_speed_m_s, noise_m) -> np.ndarray:
    """Of the candidate steps ``cand`` (row ``i`` to ``i + 1``, same MMSI), those that are
    impossible jumps (:func:`_impossible`, exact great-circle test). The candidates come from
    :func:`stsdetect._order.drop_rows`, whose cheap upper bound of the distance,
    ``R (|dlat| + |dlon|)`` in radians (along the meridian, then along the parallel, whose arc
    is at most ``R |dlon|``), clears most steps without trigonometry."""
    if cand.size == 0:
        return cand
    bad, _ = _impossible(unit_xyz(lat[cand], lon[cand]), unit_xyz(lat[cand + 1], lon[cand + 1]),
                         t[cand], t[cand + 1], max_speed_m_s, noise_m)
    return cand[bad]


def _identity_split(mmsi, t, lat, lon, max_speed_m_s, noise_m, lookback, max_passes,
                    jump_rows):
    """Split the MMSIs that contain an impossible jump into segments (see build_tracks).

    ``jump_rows`` are the rows ``i`` whose step to row ``i + 1`` (same MMSI) is an impossible
    jump. Works on the rows of those MMSIs only. Returns None when no MMSI has a jump, else
    ``(rows, label, n_skipped)``: the kept row indices in ``(mmsi, label, time)`` order, their
    segment labels, and how many rows were skipped as outliers. After ``max_passes`` linking
    passes, any jump still left inside a segment is cut without linking, so no segment ever
    keeps an impossible jump.
    """
    if mmsi.size < 2 or jump_rows.size == 0:
        return None
    rows = np.flatnonzero(np.isin(mmsi, np.unique(mmsi[jump_rows])))
    m, tt, xx = mmsi[rows], t[rows], unit_xyz(lat[rows], lon[rows])
    spike = _spikes(m, tt, xx, max_speed_m_s, noise_m, lookback)
    n_skipped = int(spike.sum())
    rows, m, tt, xx = (a[~spike] for a in (rows, m, tt, xx))
    label = np.zeros(rows.size, np.int64)
    for final in [False] * max_passes + [True]:
        group = np.cumsum(np.concatenate(([True], (m[1:] != m[:-1]) | (label[1:] != label[:-1]))))
        sub, skipped, found = _split_pass(group, xx, tt, max_speed_m_s, noise_m,
                                          0 if final else lookback)
        if not found:
            break
        n_skipped += int(skipped.sum())
        # Labels are run indices, numbered in (mmsi, time) order: a stable sort by label alone
        # gives (mmsi, label, time) order.
        order = np.argsort(sub, kind="stable")
        order = order[~skipped[order]]
        rows, m, tt, xx, label = (a[order] for a in (rows, m, tt, xx, sub))
    return rows, label, n_skipped


def build_tracks(
    positions: pd.DataFrame,
    max_speed_kn: float = 50.0,
    duplicate_window_s: float = 5.0,
    duplicate_distance_m: float = 15.0,
    position_noise_m: float = 100.0,
    min_segment_reports: int = 3,
    lookback_runs: int = 8,
    max_passes: int = 16,
    invalid_mmsis=INVALID_MMSIS,
) -> Tracks:
    """Clean a positions table into :class:`Tracks`, counting every row dropped and why.

    Steps, in order (each row is counted once, under the first reason that applies):

    1. drop rows without a time (``dropped_no_time``);
    2. drop rows without a valid position: NaN, or latitude outside [-90, 90] / longitude
       outside [-180, 180], which includes AIS "not available" 91 / 181
       (``dropped_no_position``);
    3. drop invalid MMSIs: not nine digits (100000000-999999999), or a placeholder in
       ``invalid_mmsis`` (``dropped_invalid_mmsi``);
    4. drop duplicates: a report of the same MMSI within ``duplicate_window_s`` of the previous
       one and within ``duplicate_distance_m`` of its position -- the same broadcast heard by
       several stations, or re-sent unchanged (``dropped_duplicate``);
    5. identity split and outliers: first, isolated bad fixes (a report unreachable from both
       neighbours, which reach each other, and consistent with no other nearby report that is
       off the neighbours' track) are dropped as outliers. Then consecutive reports of one
       MMSI that would need more than ``max_speed_kn`` (plus ``position_noise_m``) are an
       *impossible jump*. The reports between jumps form runs; each run is joined to the most
       recent earlier run of the same MMSI (among the ``lookback_runs`` before it) that it can
       reach at ``max_speed_kn``, else it starts a new segment. A run that links only by
       skipping one report at the jump (the last of the earlier run or its own first) links
       so, and that report is an outlier. This is repeated (at most ``max_passes`` passes)
       until no segment contains an impossible jump; jumps still left are then cut. The rule:
       for each MMSI the largest segment is kept; any other segment with fewer than
       ``min_segment_reports`` reports is a sporadic outlier and dropped (``dropped_outlier``);
       larger ones are sustained alternation -- two transmitters sharing the identity -- and
       are kept as separate segments (``segments_split`` counts the MMSIs
       split into more than one segment).

    The result is deterministic and independent of the order of the input rows (rows are
    sorted by every column before any comparison). Distances are great-circle, so tracks
    crossing the antimeridian or passing near a pole need no special care.

    Parameters
    ----------
    positions : pandas.DataFrame
        The positions table (``stsdetect.read_ais(...).positions``): columns ``mmsi``,
        ``time`` (datetime64, UTC; tz-naive datetimes are taken as UTC; instead of ``time``, a
        numeric ``time_ns`` or ``time_s`` column gives nanoseconds or seconds since the Unix
        epoch), ``lat``, ``lon`` (degrees) and
        optionally ``sog_kn``, ``cog_deg`` (NaN where not available; AIS sentinel values
        SOG >= 102.3 kn and COG >= 360 deg are also read as not available).
    max_speed_kn : float, default 50.0
        Fastest plausible speed over ground; faster jumps are impossible. 50 kn is the
        threshold of the issue 3 specification: above the service speed of merchant ships
        (the fastest container ships make about 25 kn) and of any barge or tug, so only a
        high-speed craft could trip it.
    duplicate_window_s : float, default 5.0
        Reports of one MMSI this close in time at (nearly) the same position are one broadcast
        heard by several receivers. Receivers time-stamp with their own clocks, which commonly
        disagree by a few seconds; a Class A transponder reports at most every 2 s
        (ITU-R M.1371-5, Table 1), so no information is lost.
    duplicate_distance_m : float, default 15.0
        Position tolerance of a duplicate: decoders and CSV exports round positions to 4
        decimals of a degree (about 11 m).
    position_noise_m : float, default 100.0
        Distance always allowed between consecutive reports whatever their time difference:
        GNSS error of AIS transponders (IMO A.694 / IEC 61993-2: 10 m, 95 %) plus the 1 s
        resolution of receiver time stamps at 50 kn (26 m), with margin.
    min_segment_reports : int, default 3
        Segments (other than an MMSI's largest) with fewer reports are dropped as outliers.
        Our choice: one or two reports cannot show a track of their own, while three
        consistent reports can (on the GFW gpsdio-segment test track 338013000 every bad fix
        is a singleton).
    lookback_runs : int, default 8
        How many earlier runs a run may be joined to, and how far (in reports) an isolated
        fix looks for support: the number of transmitters sharing one MMSI that can be told
        apart. Our choice; 416000000 in the GFW test data needs four.
    max_passes : int, default 16
        Bound on the number of vectorized linking passes (each over the rows of the MMSIs
        that still have a jump only). Jumps left after the last pass are cut without linking.
        Our choice: 416000000 (several ships on one MMSI for a month) settles in 8.
    invalid_mmsis : collection of int, default :data:`INVALID_MMSIS`
        Placeholder MMSIs to drop.

    Returns
    -------
    Tracks
        Sorted by ``(mmsi, segment, time_ns)``; ``tracks.report`` holds the counts ``rows_in``,
        ``dropped_no_time``, ``dropped_no_position``, ``dropped_invalid_mmsi``,
        ``dropped_duplicate``, ``dropped_outlier``, ``segments_split``, ``rows_out``.

    Raises
    ------
    TypeError
        If ``positions`` is not a DataFrame.
    ValueError
        If a required column is missing, a parameter is out of range, or a time lies outside
        :data:`TIME_RANGE_NS` (a unit error: see :func:`check_time_range`).
    """
    return _build_tracks(positions, max_speed_kn, duplicate_window_s, duplicate_distance_m,
                         position_noise_m, min_segment_reports, lookback_runs, max_passes,
                         invalid_mmsis)


def heard_spans(tracks: Tracks) -> pd.DataFrame | None:
    """The first and last time each MMSI was heard in the positions ``tracks`` was cleaned
    from, found on the cleaning's own pass (:func:`build_tracks`, step 1).

    Parameters
    ----------
    tracks : Tracks
        Tracks returned by :func:`build_tracks` (its field :attr:`Tracks.heard`).

    Returns
    -------
    pandas.DataFrame or None
        ``mmsi``, ``pos_first_ns``, ``pos_last_ns`` (int64 ns): the first and last time of
        each MMSI's rows with a time (any MMSI, with or without a valid position), sorted by
        MMSI -- what :func:`stsdetect.identity.activity.vessel_activity` would read from the
        positions (its ``heard``, sparing it a pass over them). None when not known: tracks
        made otherwise (from arrays, or a subset of rows by :meth:`Tracks.take`), or
        positions whose MMSIs are not integers or whose times are not datetimes (then the
        two readings could differ).
    """
    return tracks.heard


def spans_frame(uniq, first_ns, last_ns) -> pd.DataFrame:
    """The heard-spans table from :func:`stsdetect._order.vessel_codes`' per-code output:
    ``mmsi``, ``pos_first_ns``, ``pos_last_ns``, sorted by MMSI. The one spelling of that
    table, shared by the cleaning (:func:`heard_spans`) and
    :func:`stsdetect.identity.activity.vessel_activity`'s own pass over the positions.

    Parameters
    ----------
    uniq : numpy.ndarray of int64
        One MMSI per code (distinct).
    first_ns, last_ns : numpy.ndarray of int64
        Per code, its first and last time (ns).

    Returns
    -------
    pandas.DataFrame
    """
    by = np.argsort(uniq, kind="stable")
    return pd.DataFrame({"mmsi": uniq[by], "pos_first_ns": first_ns[by],
                         "pos_last_ns": last_ns[by]})


def _build_tracks(positions, max_speed_kn, duplicate_window_s, duplicate_distance_m,
                  position_noise_m, min_segment_reports, lookback_runs, max_passes,
                  invalid_mmsis):
    """:func:`build_tracks` (its parameters, all given, checked here), with the span each
    MMSI was heard (:func:`_clean_rows`' ``spans``; None when not known) as its ``heard``."""
    if not isinstance(positions, pd.DataFrame):
        raise TypeError(f"positions must be a pandas DataFrame, got {type(positions).__name__}")
    missing = [c for c in _REQUIRED if c not in positions.columns]
    if missing:
        raise ValueError(f"positions table lacks column(s) {missing}; expected at least "
                         "mmsi, time, lat, lon")
    for name, value in (("max_speed_kn", max_speed_kn), ("duplicate_window_s",
                                                         duplicate_window_s),
                        ("duplicate_distance_m", duplicate_distance_m),
                        ("position_noise_m", position_noise_m)):
        if not np.isfinite(value) or value < 0 or (name == "max_speed_kn" and value == 0):
            raise ValueError(f"{name} must be a finite positive number, got {value!r}")
    if int(lookback_runs) < 1 or int(max_passes) < 1 or int(min_segment_reports) < 1:
        raise ValueError("lookback_runs, max_passes and min_segment_reports must be >= 1")
    report = dict.fromkeys(REPORT_KEYS, 0)
    n_in = len(positions)
    report["rows_in"] = n_in
    c, vessel_starts, jump_rows, spans = _clean_rows(positions, invalid_mmsis,
                                                     duplicate_window_s, duplicate_distance_m,
                                                     max_speed_kn, position_noise_m, report)
    # Identity split / outliers, in bounded vectorized passes over the MMSIs with a jump.
    max_speed_m_s = float(max_speed_kn) * KNOT_M_S
    n_outliers = 0
    ids = _identity_split(c["mmsi"], c["t"], c["lat"], c["lon"], max_speed_m_s,
                          position_noise_m, int(lookback_runs), int(max_passes),
                          jump_rows=jump_rows)
    if ids is not None:
        sub_rows, sub_label, n_outliers = ids
        mmsi = c["mmsi"]
        rest = np.ones(mmsi.size, dtype=bool)
        rest[np.flatnonzero(np.isin(mmsi, np.unique(mmsi[sub_rows])))] = False
        order = np.concatenate((np.flatnonzero(rest), sub_rows))
        label = np.concatenate((np.zeros(int(rest.sum()), np.int64), sub_label))
        by_mmsi = np.argsort(mmsi[order], kind="stable")  # merges two sorted runs
        order, label = order[by_mmsi], label[by_mmsi]
        del mmsi, rest, by_mmsi, sub_rows, sub_label
        _take(c, order)
        del order
        c["label"] = label
        del label
    # Segment sizes: keep each MMSI's largest; drop small others as outliers. (Without any
    # split each MMSI is one segment, its largest: nothing to drop.)
    if ids is not None and c["mmsi"].size:
        mmsi, label = c["mmsi"], c["label"]
        seg_start = np.concatenate(([True], (mmsi[1:] != mmsi[:-1]) | (label[1:] != label[:-1])))
        seg = np.cumsum(seg_start) - 1
        starts = np.flatnonzero(seg_start)
        size = np.diff(np.append(starts, mmsi.size))
        seg_mmsi = mmsi[starts]
        del mmsi, label, seg_start
        # Largest segment per MMSI (first on ties): sort by (mmsi, -size, start).
        by = np.lexsort((starts, -size, seg_mmsi))
        first_of_mmsi = np.concatenate(([True], seg_mmsi[by][1:] != seg_mmsi[by][:-1]))
        largest = np.zeros(size.size, dtype=bool)
        largest[by[first_of_mmsi]] = True
        keep_seg = largest | (size >= int(min_segment_reports))
        keep = keep_seg[seg]
        report["dropped_outlier"] = n_outliers + int((~keep).sum())
        if not keep.all():
            _take(c, keep)
        kept_mmsi = seg_mmsi[keep_seg]
        report["segments_split"] = int(
            (np.unique(kept_mmsi, return_counts=True)[1] > 1).sum())
    report["rows_out"] = int(c["mmsi"].size)
    dropped = sum(report[k] for k in REPORT_KEYS if k.startswith("dropped_"))
    assert report["rows_out"] == n_in - dropped, "cleaning lost rows without counting them"
    if ids is None:  # one segment per MMSI: the vessels' offsets are the segments'
        return Tracks._from_offsets(c["mmsi"], c["t"], c["lat"], c["lon"], c["sog"], c["cog"],
                                    vessel_starts, report, spans)
    return Tracks._from_sorted(c["mmsi"], c["t"], c["lat"], c["lon"], c["sog"], c["cog"],
                               c["label"], report, spans)
