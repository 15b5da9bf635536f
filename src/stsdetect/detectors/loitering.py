"""Loitering: one vessel nearly stopped at sea for hours.

A ship-to-ship transfer needs two vessels alongside, but the partner may carry no AIS at all
(the barges met by DPRK ships often do not). A vessel loitering for hours is then the only trace
left in the data, so it is reported on its own.

The defaults follow the published carrier-loitering definition of Global Fishing Watch
(Miller et al. 2018, *Identifying global patterns of transshipment behavior*, Frontiers in
Marine Science 5: 240; GFW loitering events): average speed under 2 knots for at least 4 hours.
That definition also requires the vessel to be more than 20 nautical miles from shore; this
detector has no shoreline, so it reports loitering anywhere, anchorages included. Filter on the
region flags added by :func:`stsdetect.flags.flag_events`, or on distance from shore if you have
it, to follow the published definition fully.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from stsdetect.detectors._checks import check_tracks, positive
from stsdetect.events import make_events
from stsdetect.geo import (
    EARTH_RADIUS_M,
    KNOT_M_S,
    chord_to_arc_m,
    duration_s,
    haversine_m,
    latlon_from_xyz,
    unit_xyz,
    utc_from_ns,
)
from stsdetect.tracks import Tracks, gap_rows

__all__ = ["find_loitering", "loitering_columns", "loitering_events", "report_speed_kn",
           "slow_runs"]


def report_speed_kn(tracks: Tracks, max_gap="1h") -> np.ndarray:
    """Speed of each report: reported SOG, or implied from positions where SOG is missing.

    Parameters
    ----------
    tracks : Tracks
        Cleaned tracks.
    max_gap : duration, default "1h"
        Steps between consecutive reports longer than this are not used to imply a speed.

    Returns
    -------
    numpy.ndarray of float64
        ``sog_kn`` where it is finite; otherwise the larger of the implied speeds
        (great-circle distance / time) of the steps to the previous and next report of the
        same segment that are at most ``max_gap`` long and of positive duration. NaN where
        neither SOG nor such a step exists.
    """
    n = len(tracks)
    speed = tracks.sog_kn.astype(float, copy=True)
    if n < 2:
        return speed
    gap_s = duration_s(max_gap)
    missing = ~np.isfinite(speed)
    # Only the steps next to a report without SOG are needed.
    need = np.flatnonzero(missing[:-1] | missing[1:])
    if need.size == 0:
        return speed
    a, b = need, need + 1
    dt = (tracks.time_ns[b] - tracks.time_ns[a]) / 1e9
    ok = (tracks.segment[a] == tracks.segment[b]) & (dt > 0) & (dt <= gap_s)
    a, b, dt = a[ok], b[ok], dt[ok]
    # the implied speed of the step from row a[k] to the next (a ascending), kept sparse (no
    # array of every step: the rows without SOG are few)
    step = haversine_m(tracks.lat_deg[a], tracks.lon_deg[a], tracks.lat_deg[b],
                       tracks.lon_deg[b]) / dt / KNOT_M_S

    def step_from(rows):
        """The implied speed of the step from each of ``rows`` (NaN: no such step)."""
        if a.size == 0:
            return np.full(rows.size, np.nan)
        k = np.minimum(np.searchsorted(a, rows), a.size - 1)
        return np.where(a[k] == rows, step[k], np.nan)

    rows = np.flatnonzero(missing)
    # (row 0 has no step before it and row n - 1 none after it: -1 and n - 1 are not in a)
    speed[rows] = np.fmax(step_from(rows - 1), step_from(rows))  # NaN only where both are
    return speed


def find_loitering(
    tracks: Tracks,
    max_speed_kn: float = 2.0,
    min_duration="4h",
    max_gap="1h",
) -> pd.DataFrame:
    """Find runs of reports of one vessel nearly stopped for at least ``min_duration``.

    Parameters
    ----------
    tracks : Tracks
        Cleaned tracks (:func:`stsdetect.build_tracks`).
    max_speed_kn : float, default 2.0
        A report is slow when its speed (:func:`report_speed_kn`) is strictly below this:
        2 knots, the GFW carrier-loitering threshold (Miller et al. 2018).
    min_duration : duration, default "4h"
        Least time from the first to the last report of a run: 4 hours, as in the GFW
        carrier-loitering definition. A run must also be slow as a whole: the great-circle
        distance from its first to its last report divided by its duration must be under
        ``max_speed_kn`` (real dumps hold vessels reporting SOG 0 while under way).
    max_gap : duration, default "1h"
        A run breaks where two consecutive reports are more than this apart, so a vessel is
        never said to loiter through a silence it may have spent elsewhere (silences are
        :func:`~stsdetect.detectors.dark.find_dark_periods`'s business). One hour matches the
        default ``max_gap`` of the rendezvous detector, which refuses to interpolate across
        longer silences.

    Returns
    -------
    pandas.DataFrame
        Events table (:data:`stsdetect.events.EVENT_COLUMNS`) of type ``loitering``:
        ``start``/``end`` the first and last slow report of the run; ``lat``/``lon`` the mean
        position (the normalised mean of unit vectors, correct across the antimeridian);
        ``distance_m`` the largest distance of a report from that position (how far the
        vessel drifted); ``mean_sog_kn`` the mean of the report speeds (reported SOG, or
        implied where SOG is missing); ``n_positions`` the reports in the run.

    Raises
    ------
    TypeError
        If ``tracks`` is not a :class:`~stsdetect.tracks.Tracks`.
    ValueError
        If a parameter is out of range, or tracks hold non-finite times or positions.
    """
    check_tracks(tracks)
    max_speed_kn = positive("max_speed_kn", max_speed_kn)
    min_s = duration_s(min_duration)
    speed, starts, ends = slow_runs(tracks, max_speed_kn, duration_s(max_gap))
    return loitering_events(tracks.mmsi, tracks.time_ns, tracks.lat_deg, tracks.lon_deg, speed,
                            starts, ends, max_speed_kn, min_s)


def slow_runs(tracks: Tracks, max_speed_kn: float, gap_s: float):
    """Maximal runs of slow reports of one segment, no step longer than ``gap_s``.

    Returns
    -------
    speed : numpy.ndarray
        :func:`report_speed_kn` of every row.
    starts, ends : numpy.ndarray of int
        First and last row of each run (rows of :class:`Tracks`), in row order.
    """
    n = len(tracks)
    speed = report_speed_kn(tracks, max_gap=pd.Timedelta(seconds=gap_s))
    slow = speed < max_speed_kn  # NaN (speed unknown) is not slow
    # A run starts at a slow report whose predecessor cannot continue it.
    joins = np.zeros(n, dtype=bool)
    if n > 1:
        np.logical_and(slow[1:], slow[:-1], out=joins[1:])
        # ... of the same segment, within the gap (the few steps that are not, by offsets
        # and gap_rows: no temporaries of the rows' size)
        joins[tracks.offsets[1:-1]] = False
        joins[gap_rows(tracks, round(gap_s * 1e9)) + 1] = False
    starts = np.flatnonzero(slow & ~joins)
    # ... and ends at a slow report whose successor does not join it; runs pair up in order.
    ends = np.flatnonzero(slow & ~np.append(joins[1:], False))
    return speed, starts, ends


def loitering_events(mmsi, t, lat_deg, lon_deg, speed, starts, ends, max_speed_kn: float,
                     min_s: float) -> pd.DataFrame:
    """Loitering events of the runs ``rows[starts[i]:ends[i] + 1]`` that are long and slow.

    The columns are rows in time order (``t`` in int64 ns); a run keeps its events when it
    lasts ``min_s`` or more
    and its net displacement rate is under ``max_speed_kn`` (see :func:`find_loitering`).
    """
    cols = loitering_columns(mmsi, t, lat_deg, lon_deg, speed, starts, ends, max_speed_kn,
                             min_s)
    start_ns, end_ns = cols.pop("start_ns"), cols.pop("end_ns")
    return make_events("loitering", n=start_ns.size, start=utc_from_ns(start_ns),
                       end=utc_from_ns(end_ns), **cols)


def loitering_columns(mmsi, t, lat_deg, lon_deg, speed, starts, ends, max_speed_kn: float,
                      min_s: float) -> dict:
    """The columns of :func:`loitering_events` as plain arrays (``start_ns``/``end_ns`` int64
    ns), without building the events table (the windowed run builds one table at the end).
    """
    starts = np.asarray(starts, np.int64)
    ends = np.asarray(ends, np.int64)
    span_s = (t[ends] - t[starts]) / 1e9
    keep = (span_s >= min_s) & (ends > starts)
    # A vessel that reports SOG 0 while moving (seen in real data) is not loitering: the run's
    # net displacement rate must be slow too.
    net_kn = haversine_m(lat_deg[starts], lon_deg[starts], lat_deg[ends],
                         lon_deg[ends]) / np.maximum(span_s, 1e-9) / KNOT_M_S
    keep &= net_kn < max_speed_kn
    starts, ends = starts[keep], ends[keep]
    if starts.size == 0:
        return {"mmsi": np.zeros(0, np.int64), "start_ns": np.zeros(0, np.int64),
                "end_ns": np.zeros(0, np.int64), "lat": np.zeros(0), "lon": np.zeros(0),
                "distance_m": np.zeros(0), "mean_sog_kn": np.zeros(0),
                "n_positions": np.zeros(0, np.int64)}
    # Per-run sums with reduceat over the rows of the runs only.
    counts = (ends - starts + 1).astype(np.int64)
    first = np.r_[0, np.cumsum(counts)[:-1]]
    run_of_row = np.repeat(np.arange(starts.size), counts)
    rows = np.arange(int(counts.sum()), dtype=np.int64) + (starts - first)[run_of_row]
    xyz = unit_xyz(lat_deg[rows], lon_deg[rows])
    centre = np.add.reduceat(xyz, first, axis=0)
    lat, lon = latlon_from_xyz(centre)
    centre /= np.linalg.norm(centre, axis=1, keepdims=True)
    # Farthest report from the centre: largest chord, converted to a great-circle arc.
    xyz -= centre[run_of_row]
    chord = np.sqrt(np.einsum("ij,ij->i", xyz, xyz))
    max_drift = chord_to_arc_m(np.maximum.reduceat(chord, first) * EARTH_RADIUS_M)
    mean_speed = np.add.reduceat(speed[rows], first) / counts
    return {"mmsi": np.asarray(mmsi[starts], np.int64),
            "start_ns": np.asarray(t[starts], np.int64), "end_ns": np.asarray(t[ends], np.int64),
            "lat": lat, "lon": lon, "distance_m": max_drift, "mean_sog_kn": mean_speed,
            "n_positions": counts}
