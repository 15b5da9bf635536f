"""Stops: where and when each vessel lay stationary.

A *stop* is a stretch of one vessel's reports during which it stayed within ``radius_m`` of one
point, moving no faster than ``max_speed_kn``, without a silence longer than ``max_gap``.
Stops are the raw material of the context stage: anchorages and berths are places where many
vessels stop (:func:`stsdetect.context.find_anchorages`), the crowd around an event is the
number of other vessels stopped near it, and a vessel's stop around an event tells whether it
came for the event (a visit) or lay there throughout (residence).

How stops are found (all vectorized over the sorted track columns):

1. a report is *slow* when its reported speed is at most ``max_speed_kn`` (its speed implied by
   the next report when the speed is not available);
2. consecutive slow reports of one MMSI form a *run*; a run breaks at a fast report, a silence
   longer than ``max_gap`` or a jump of more than ``radius_m`` between two reports;
3. runs of one MMSI that follow each other within ``max_gap`` and whose mean positions lie
   within ``radius_m`` are joined: an anchored ship swinging with the tide briefly shows more
   than ``max_speed_kn`` and must not count as leaving and coming back;
4. a joined run is a stop when it lasts at least ``min_duration`` and no report of it lies
   farther than ``radius_m`` from its mean position (bounded through the runs' own extents).

The defaults follow Global Fishing Watch's anchorage rule ("stayed within 0.5 km", see
``docs/method.md``) for ``radius_m``; ``max_speed_kn`` = 1 kn is half the rendezvous detector's
2 kn (a ship at anchor or moored reports 0-0.5 kn, a ship drifting with its engine stopped
1-2 kn); ``max_gap`` = 3 h bridges the reception gaps of shore networks (a Class A ship at anchor
reports every 3 min, ITU-R M.1371-5).
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from stsdetect.geo import (
    EARTH_RADIUS_M,
    KNOT_M_S,
    chord_to_arc_m,
    duration_s,
    haversine_m,
    latlon_from_xyz,
    unit_xyz,
)

__all__ = ["STOP_COLUMNS", "find_stops", "track_times_s"]

#: Columns of the stops table, in order: ``mmsi``; ``start_s``/``end_s`` (float seconds since
#: the Unix epoch, UTC: first and last report of the stop); ``lat``/``lon`` (spherical mean
#: position, degrees); ``extent_m`` (bound on the farthest report from that mean);
#: ``n_positions``; ``arrived`` (the vessel was heard before the stop, so it came from
#: elsewhere or from a silence, rather than being stopped when the data begins); ``departed``
#: (it was heard after the stop).
STOP_COLUMNS = ["mmsi", "start_s", "end_s", "lat", "lon", "extent_m", "n_positions", "arrived",
                "departed"]


def track_times_s(tracks) -> np.ndarray:
    """Report times of a :class:`~stsdetect.tracks.Tracks` as float seconds since the epoch."""
    if hasattr(tracks, "time_s"):
        return np.asarray(tracks.time_s, dtype=np.float64)
    return np.asarray(tracks.time_ns, dtype=np.int64) / 1e9  # int64-ns tracks


def _empty() -> pd.DataFrame:
    return pd.DataFrame({
        "mmsi": np.zeros(0, np.int64), "start_s": np.zeros(0), "end_s": np.zeros(0),
        "lat": np.zeros(0), "lon": np.zeros(0), "extent_m": np.zeros(0),
        "n_positions": np.zeros(0, np.int64), "arrived": np.zeros(0, bool),
        "departed": np.zeros(0, bool)})


def find_stops(tracks, max_speed_kn: float = 1.0, radius_m: float = 500.0, max_gap="3h",
               min_duration="1h") -> pd.DataFrame:
    """Every stretch during which a vessel lay stationary (see the module notes).

    Parameters
    ----------
    tracks : stsdetect.tracks.Tracks
        Cleaned tracks (rows sorted by MMSI, segment and time).
    max_speed_kn : float, default 1.0
        Highest speed of a stationary report, knots.
    radius_m : float, default 500
        A stop's reports lie within this distance of its mean position (GFW anchorages:
        0.5 km).
    max_gap : str or pandas.Timedelta, default "3h"
        Longest silence inside a stop.
    min_duration : str or pandas.Timedelta, default "1h"
        Shortest stop kept.

    Returns
    -------
    pandas.DataFrame
        Columns :data:`STOP_COLUMNS`, sorted by ``mmsi`` then ``start_s``; independent of the
        order of the input rows (tracks are sorted).

    Raises
    ------
    ValueError
        On a negative radius or speed, or a bad duration.
    """
    if not (radius_m > 0 and max_speed_kn >= 0):
        raise ValueError(f"radius_m must be positive and max_speed_kn non-negative, got "
                         f"{radius_m!r}, {max_speed_kn!r}")
    gap_s, min_s = duration_s(max_gap), duration_s(min_duration)
    n = len(tracks)
    if n == 0:
        return _empty()
    mmsi = np.asarray(tracks.mmsi, dtype=np.int64)
    t = track_times_s(tracks)
    # tracks are sorted by (mmsi, segment, time); a vessel's segments may interleave in time
    # when one MMSI is shared, so order by (mmsi, time) here
    same_v = mmsi[1:] == mmsi[:-1]
    in_order = bool((mmsi[1:] >= mmsi[:-1]).all() and (t[1:][same_v] >= t[:-1][same_v]).all())
    if not in_order:
        order = np.lexsort((t, mmsi))
        mmsi, t = mmsi[order], t[order]
        lat, lon = np.asarray(tracks.lat_deg)[order], np.asarray(tracks.lon_deg)[order]
        sog = np.asarray(tracks.sog_kn, dtype=float)[order]
    else:
        lat, lon = np.asarray(tracks.lat_deg), np.asarray(tracks.lon_deg)
        sog = np.asarray(tracks.sog_kn, dtype=float)
    same = np.zeros(n, dtype=bool)  # same[i]: row i follows row i-1 of the same vessel
    same[1:] = mmsi[1:] == mmsi[:-1]
    dt = np.zeros(n)
    dt[1:] = t[1:] - t[:-1]
    # distances between consecutive reports only where needed: the implied speed of reports
    # without a speed, and the jump test between two slow reports
    fin = np.isfinite(sog)
    implied = np.full(n, np.nan)  # speed to the next report, knots
    nxt = np.flatnonzero(~fin[:-1] & same[1:])
    if nxt.size:
        step = haversine_m(lat[nxt], lon[nxt], lat[nxt + 1], lon[nxt + 1])
        with np.errstate(divide="ignore", invalid="ignore"):
            implied[nxt] = step / np.maximum(dt[nxt + 1], 1.0) / KNOT_M_S
    speed = np.where(fin, sog, implied)
    # a report with no speed of its own and no next report: slow (nothing says otherwise)
    slow = (np.isfinite(speed) & (speed <= max_speed_kn)) | ~np.isfinite(speed)
    cand = same & slow & np.roll(slow, 1) & (dt <= gap_s)
    ci = np.flatnonzero(cand)
    linked = np.zeros(n, dtype=bool)
    linked[ci] = haversine_m(lat[ci - 1], lon[ci - 1], lat[ci], lon[ci]) <= radius_m
    rows = np.flatnonzero(slow)
    if rows.size == 0:
        return _empty()
    starts_run = ~linked[rows]
    run = np.cumsum(starts_run) - 1
    first = rows[starts_run]
    last = np.append(rows[np.flatnonzero(starts_run)[1:] - 1], rows[-1])
    xyz = unit_xyz(lat[rows], lon[rows])
    sums = np.add.reduceat(xyz, np.flatnonzero(starts_run), axis=0)
    r_lat, r_lon = latlon_from_xyz(sums)
    # distance of each report to its run's mean direction, from the chord (no trigonometry)
    mean_dir = sums / np.linalg.norm(sums, axis=1, keepdims=True)
    d = chord_to_arc_m(np.linalg.norm(xyz - mean_dir[run], axis=1) * EARTH_RADIUS_M)
    r_ext = np.maximum.reduceat(d, np.flatnonzero(starts_run))
    r_n = np.diff(np.append(np.flatnonzero(starts_run), rows.size))
    r_mmsi, r_t0, r_t1 = mmsi[first], t[first], t[last]
    # join runs of one vessel separated by a short blip (within max_gap, same place)
    join = np.zeros(first.size, dtype=bool)
    join[1:] = ((r_mmsi[1:] == r_mmsi[:-1]) & (r_t0[1:] - r_t1[:-1] <= gap_s)
                & (haversine_m(r_lat[:-1], r_lon[:-1], r_lat[1:], r_lon[1:]) <= radius_m))
    heads = np.flatnonzero(~join)
    stop = np.cumsum(~join) - 1
    s_sums = np.add.reduceat(sums, heads, axis=0)
    s_lat, s_lon = latlon_from_xyz(s_sums)
    # farthest report from the joined mean <= a run's distance to it + that run's own extent
    bound = haversine_m(r_lat, r_lon, s_lat[stop], s_lon[stop]) + r_ext
    s_ext = np.maximum.reduceat(bound, heads)
    s_first_row = first[heads]
    s_last_row = last[np.append(heads[1:] - 1, first.size - 1)]
    out = pd.DataFrame({
        "mmsi": r_mmsi[heads], "start_s": t[s_first_row], "end_s": t[s_last_row],
        "lat": s_lat, "lon": s_lon, "extent_m": s_ext,
        "n_positions": np.add.reduceat(r_n, heads).astype(np.int64),
        "arrived": same[s_first_row],
        "departed": np.append(same[1:], False)[s_last_row],
    })
    keep = (out["end_s"] - out["start_s"] >= min_s) & (out["extent_m"] <= radius_m)
    return out[keep.to_numpy()].reset_index(drop=True)
