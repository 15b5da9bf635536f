"""Stops: where and when each vessel lay stationary.

A *stop* is a stretch of one vessel's reports during which it stayed within ``radius_m`` of one
point, moving no faster than ``max_speed_kn``, without a silence longer than ``max_gap``.
Stops are the raw material of the context stage: anchorages and berths are places where many
vessels stop (:func:`stsdetect.context.find_anchorages`), the crowd around an event is the
number of other vessels stopped near it, and a vessel's stop around an event tells whether it
came for the event (a visit) or lay there throughout (residence).

How stops are found (all vectorized over the sorted track columns):

1. a report is *slow* when its reported speed is at most ``max_speed_kn`` (its speed implied by
   the next report, if within ``max_gap``, when the speed is not available; slow when neither
   is known);
2. consecutive slow reports of one MMSI form a *run*; a run breaks at a fast report, a silence
   longer than ``max_gap`` or a jump of more than ``radius_m`` between two reports;
3. runs of one MMSI that follow each other within ``max_gap`` and whose mean positions lie
   within ``radius_m`` are joined: an anchored ship swinging with the tide briefly shows more
   than ``max_speed_kn`` and must not count as leaving and coming back;
4. a joined run is a stop when it lasts at least ``min_duration`` and no report of it lies
   farther than ``radius_m`` from the centre of its bounding box.

Every quantity of a stop adds up from pieces of consecutive time ranges (counts, sums of unit
vectors, bounding boxes, first and last report times), so a windowed run
(:func:`stop_pieces` per window, :func:`join_stop_pieces` at the end) gives the stops of a
single run over all the data.

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
    KNOT_M_S,
    duration_s,
    haversine_m,
    latlon_from_xyz,
    unit_xyz,
)

__all__ = ["STOP_COLUMNS", "STOP_MAX_GAP_S", "find_stops", "join_stop_pieces", "stop_pieces",
           "track_times_ns"]

#: Columns of the stops table, in order: ``mmsi``; ``start_ns``/``end_ns`` (int64 nanoseconds
#: since the Unix epoch, UTC: first and last report of the stop); ``lat``/``lon`` (spherical mean
#: position, degrees); ``extent_m`` (half the diagonal of its bounding box);
#: ``n_positions``; ``arrived`` (the vessel was heard before the stop, so it came from
#: elsewhere or from a silence, rather than being stopped when the data begins); ``departed``
#: (it was heard after the stop).
STOP_COLUMNS = ["mmsi", "start_ns", "end_ns", "lat", "lon", "extent_m", "n_positions", "arrived",
                "departed"]


#: Default ``max_gap`` of a stop, seconds: how far beyond a window's core its stop pieces look.
STOP_MAX_GAP_S = 3 * 3600.0


def track_times_ns(tracks) -> np.ndarray:
    """Report times of a :class:`~stsdetect.tracks.Tracks`: int64 ns since the epoch, UTC."""
    return np.asarray(tracks.time_ns, dtype=np.int64)


def _empty() -> pd.DataFrame:
    return pd.DataFrame({
        "mmsi": np.zeros(0, np.int64), "start_ns": np.zeros(0, np.int64),
        "end_ns": np.zeros(0, np.int64),
        "lat": np.zeros(0), "lon": np.zeros(0), "extent_m": np.zeros(0),
        "n_positions": np.zeros(0, np.int64), "arrived": np.zeros(0, bool),
        "departed": np.zeros(0, bool)})


def _no_ends() -> pd.DataFrame:
    return pd.DataFrame({"mmsi": np.zeros(0, np.int64), "first_ns": np.zeros(0, np.int64),
                         "last_ns": np.zeros(0, np.int64)})


def _sorted_columns(tracks, gap_ns: int):
    """Track columns ordered by (mmsi, time) (tracks are by segment: shared MMSIs interleave),
    and the rows whose speed is implied by the step to their next report
    (:func:`stsdetect.context._kernels.speedless_steps`)."""
    from stsdetect.context._kernels import speedless_steps

    mmsi = np.asarray(tracks.mmsi, dtype=np.int64)
    t = track_times_ns(tracks)
    lat, lon = np.asarray(tracks.lat_deg, float), np.asarray(tracks.lon_deg, float)
    sog = np.asarray(tracks.sog_kn, dtype=float)
    sm = np.asarray(tracks.segment_mmsi)
    with np.errstate(over="ignore", invalid="ignore"):
        every_speed = bool(np.isfinite(np.sum(sog)))  # (huge speeds overflow: the kernel)
    if every_speed and (sm.size < 2 or bool(np.all(sm[1:] > sm[:-1]))):
        # one segment per MMSI: the rows are in (mmsi, time) order already (Tracks are by
        # (mmsi, segment, time)), and no row lacks a speed: nothing for the kernel to find
        # (and it need not be loaded, a few ms in a fresh process)
        return mmsi, t, lat, lon, sog, np.zeros(0, np.int64)
    in_order, nxt = speedless_steps(mmsi, t, sog, np.int64(gap_ns))
    if not in_order:
        order = np.lexsort((t, mmsi))
        mmsi, t, lat, lon, sog = mmsi[order], t[order], lat[order], lon[order], sog[order]
        in_order, nxt = speedless_steps(mmsi, t, sog, np.int64(gap_ns))
    return mmsi, t, lat, lon, sog, nxt


def stop_pieces(tracks, a_ns: int | None = None, b_ns: int | None = None,
                max_speed_kn: float = 1.0, radius_m: float = 500.0,
                max_gap="3h") -> tuple[pd.DataFrame, pd.DataFrame]:
    """The windowed form of :func:`find_stops`: pieces of stationary runs in ``[a_ns, b_ns)``.

    ``a_ns``, ``b_ns``: int64 nanoseconds since the epoch (None: unbounded).
    ``tracks`` may hold reports beyond ``[a_ns, b_ns)`` (a window's margins): they decide
    whether the first report of the range continues a run (the slow test of a report looks at
    the next one, the link at the previous one), but only reports inside the range make
    pieces. Every field of a piece adds up exactly across pieces (counts, sums of unit
    vectors, bounding boxes), so :func:`join_stop_pieces` over the pieces of consecutive
    ranges gives the stops of the whole, as :func:`find_stops` does in one go.

    Returns
    -------
    pieces : pandas.DataFrame
        ``mmsi``, ``t0``, ``t1`` (int64 ns), ``n``, ``x``, ``y``, ``z`` (sums of unit vectors),
        ``lat_min``, ``lat_max``, ``lon_min``, ``lon_max``, ``linked`` (the first report
        continues a run from before the range).
    ends : pandas.DataFrame
        ``mmsi``, ``first_ns``, ``last_ns``: each vessel's first and last report in the range.
    """
    gap_ns = round(duration_s(max_gap) * 1e9)
    cols = ["mmsi", "t0", "t1", "n", "x", "y", "z", "lat_min", "lat_max", "lon_min",
            "lon_max", "linked"]
    empty = (pd.DataFrame({c: [] for c in cols}), _no_ends())
    n = len(tracks)
    if n == 0:
        return empty
    from stsdetect.context._kernels import stop_rows, stop_steps

    # distances between consecutive reports only where needed: the implied speed of reports
    # without a speed (only from a next report within max_gap: a window loaded with a margin
    # of max_gap sees it too, so the windowed form decides the same) ...
    mmsi, t, lat, lon, sog, nxt = _sorted_columns(tracks, gap_ns)
    implied = np.zeros(0)
    if nxt.size:
        step = haversine_m(lat[nxt], lon[nxt], lat[nxt + 1], lon[nxt + 1])
        with np.errstate(divide="ignore", invalid="ignore"):
            implied = step / np.maximum((t[nxt + 1] - t[nxt]) * 1e-9, 1.0) / KNOT_M_S
    # ... and the jump test between two slow reports of one vessel within max_gap
    slow, ci = stop_steps(mmsi, t, sog, nxt, implied, float(max_speed_kn), np.int64(gap_ns))
    linked = haversine_m(lat[ci - 1], lon[ci - 1], lat[ci], lon[ci]) <= radius_m
    rows, first, heads_v, tails_v = stop_rows(
        mmsi, t, slow, ci, linked, a_ns is not None, np.int64(0 if a_ns is None else a_ns),
        b_ns is not None, np.int64(0 if b_ns is None else b_ns))
    ends = pd.DataFrame({"mmsi": mmsi[heads_v], "first_ns": t[heads_v], "last_ns": t[tails_v]})
    if rows.size == 0:
        return empty[0], ends
    # a piece starts at a row not linked to the row before it, or at the range's first row
    xyz = unit_xyz(lat[rows], lon[rows])
    sums = np.add.reduceat(xyz, first, axis=0)
    last = np.append(first[1:] - 1, rows.size - 1)
    pieces = pd.DataFrame({
        "mmsi": mmsi[rows[first]], "t0": t[rows[first]], "t1": t[rows[last]],
        "n": np.diff(np.append(first, rows.size)), "x": sums[:, 0], "y": sums[:, 1],
        "z": sums[:, 2], "lat_min": np.minimum.reduceat(lat[rows], first),
        "lat_max": np.maximum.reduceat(lat[rows], first),
        "lon_min": np.minimum.reduceat(lon[rows], first),
        "lon_max": np.maximum.reduceat(lon[rows], first),
        "linked": _linked_at(rows[first], ci, linked)})
    return pieces, ends


def _linked_at(rows, link_rows, linked):
    """Whether each of ``rows`` is linked to the row before it (``linked`` at the ascending
    ``link_rows``; other rows are not)."""
    if link_rows.size == 0:
        return np.zeros(rows.size, dtype=bool)
    pos = np.minimum(np.searchsorted(link_rows, rows), link_rows.size - 1)
    return (link_rows[pos] == rows) & linked[pos]


def join_stop_pieces(pieces, ends, radius_m: float = 500.0, max_gap="3h",
                     min_duration="1h") -> pd.DataFrame:
    """Stops from the pieces of consecutive time ranges (:func:`stop_pieces`).

    Parameters
    ----------
    pieces, ends : pandas.DataFrame or list of them
        What :func:`stop_pieces` returned for each range (any order).
    radius_m, max_gap, min_duration
        As for :func:`find_stops`.

    Returns
    -------
    pandas.DataFrame
        Columns :data:`STOP_COLUMNS`, sorted by ``mmsi`` then ``start_ns``.
    """
    gap_ns = round(duration_s(max_gap) * 1e9)
    min_ns = round(duration_s(min_duration) * 1e9)
    if isinstance(pieces, (list, tuple)):
        pieces = pd.concat([p for p in pieces if len(p)], ignore_index=True) if any(
            len(p) for p in pieces) else pd.DataFrame()
    if isinstance(ends, (list, tuple)):
        ends = pd.concat([e for e in ends if len(e)], ignore_index=True) if any(
            len(e) for e in ends) else _no_ends()
    if not len(pieces):
        return _empty()
    p = pieces.sort_values(["mmsi", "t0"], kind="stable").reset_index(drop=True)
    # runs: a piece whose first report is linked continues the previous piece of its vessel
    same = np.zeros(len(p), dtype=bool)
    same[1:] = p["mmsi"].to_numpy()[1:] == p["mmsi"].to_numpy()[:-1]
    cont = p["linked"].to_numpy(bool) & same
    runs = _aggregate(p, np.flatnonzero(~cont))
    # join runs of one vessel separated by a short blip (within max_gap, same place)
    r_lat, r_lon = latlon_from_xyz(runs[["x", "y", "z"]].to_numpy())
    r_mmsi = runs["mmsi"].to_numpy()
    join = np.zeros(len(runs), dtype=bool)
    join[1:] = ((r_mmsi[1:] == r_mmsi[:-1])
                & (runs["t0"].to_numpy()[1:] - runs["t1"].to_numpy()[:-1] <= gap_ns)
                & (haversine_m(r_lat[:-1], r_lon[:-1], r_lat[1:], r_lon[1:]) <= radius_m))
    st = _aggregate(runs, np.flatnonzero(~join))
    s_lat, s_lon = latlon_from_xyz(st[["x", "y", "z"]].to_numpy())
    # extent: half the diagonal of the bounding box, so every report lies within it of the
    # box's centre (exact from pieces; a stop astride the antimeridian is not recognised)
    ext = haversine_m(st["lat_min"], st["lon_min"], st["lat_max"], st["lon_max"]) / 2.0
    e = ends.groupby("mmsi").agg(first_ns=("first_ns", "min"), last_ns=("last_ns", "max"))
    first_ns = e["first_ns"].reindex(st["mmsi"]).to_numpy(np.int64)
    last_ns = e["last_ns"].reindex(st["mmsi"]).to_numpy(np.int64)
    t0, t1 = st["t0"].to_numpy(np.int64), st["t1"].to_numpy(np.int64)
    out = pd.DataFrame({
        "mmsi": st["mmsi"].to_numpy(np.int64), "start_ns": t0, "end_ns": t1,
        "lat": s_lat, "lon": s_lon,
        "extent_m": np.asarray(ext, dtype=float), "n_positions": st["n"].to_numpy(np.int64),
        "arrived": t0 > first_ns, "departed": t1 < last_ns})
    keep = (t1 - t0 >= min_ns) & (out["extent_m"].to_numpy() <= radius_m)
    return out[keep].reset_index(drop=True)


def _aggregate(p: pd.DataFrame, heads: np.ndarray) -> pd.DataFrame:
    """Rows ``heads[i] .. heads[i+1]-1`` of a pieces-like table merged into one each."""
    last = np.append(heads[1:] - 1, len(p) - 1)
    return pd.DataFrame({
        "mmsi": p["mmsi"].to_numpy()[heads], "t0": p["t0"].to_numpy()[heads],
        "t1": p["t1"].to_numpy()[last],
        "n": np.add.reduceat(p["n"].to_numpy(), heads),
        "x": np.add.reduceat(p["x"].to_numpy(), heads),
        "y": np.add.reduceat(p["y"].to_numpy(), heads),
        "z": np.add.reduceat(p["z"].to_numpy(), heads),
        "lat_min": np.minimum.reduceat(p["lat_min"].to_numpy(), heads),
        "lat_max": np.maximum.reduceat(p["lat_max"].to_numpy(), heads),
        "lon_min": np.minimum.reduceat(p["lon_min"].to_numpy(), heads),
        "lon_max": np.maximum.reduceat(p["lon_max"].to_numpy(), heads)})


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
        Every report of a stop lies within this distance of the centre of the stop's bounding
        box (GFW anchorages: within 0.5 km).
    max_gap : str or pandas.Timedelta, default "3h"
        Longest silence inside a stop.
    min_duration : str or pandas.Timedelta, default "1h"
        Shortest stop kept.

    Returns
    -------
    pandas.DataFrame
        Columns :data:`STOP_COLUMNS`, sorted by ``mmsi`` then ``start_ns``; independent of the
        order of the input rows (tracks are sorted). The same as
        :func:`join_stop_pieces` over :func:`stop_pieces` of consecutive time ranges.

    Raises
    ------
    ValueError
        On a negative radius or speed, or a bad duration.
    """
    if not (radius_m > 0 and max_speed_kn >= 0):
        raise ValueError(f"radius_m must be positive and max_speed_kn non-negative, got "
                         f"{radius_m!r}, {max_speed_kn!r}")
    duration_s(min_duration)  # fail early on a bad duration
    pieces, ends = stop_pieces(tracks, max_speed_kn=max_speed_kn, radius_m=radius_m,
                               max_gap=max_gap)
    return join_stop_pieces(pieces, ends, radius_m=radius_m, max_gap=max_gap,
                            min_duration=min_duration)
