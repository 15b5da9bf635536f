"""Dark vessels: imagery detections that no AIS track explains, and transfers' unseen partners.

A ship-to-ship transfer with a partner that carries no AIS at all leaves one AIS trace: the
loitering (or the rendezvous) of the ship that does. Satellite imagery sees both hulls. This
module joins vessel detections from imagery (:func:`stsdetect.imagery.read_detections`) to the
AIS tracks:

1. :func:`match_detections`: each AIS track's position at the image time (interpolated
   between its two reports around that time, at most ``max_gap`` apart, or dead-reckoned from
   a report at most ``max_extrapolate`` away) is compared with the detections of that time. A
   detection and a track match when they are within ``max_distance_m`` (1.5 km, the distance
   Skylight matches radar and optical detections to AIS within); each detection matches at
   most one track and each track at most one detection of the same image time, closest pairs
   first (greedy by distance, see the function's notes for why not the Hungarian method).
2. :func:`find_dark_vessels`: the detections left unmatched become ``dark_vessel`` events (no
   MMSI: ``mmsi`` is 0), which the flag stage tags with the regions they lie in.
3. :func:`find_unseen_partners`: a ``rendezvous`` or ``loitering`` event with an unmatched
   detection within ``max_distance_m`` (500 m, the rendezvous distance) of one of its vessels
   at the image time, during the event, has an unseen partner;
   :func:`mark_unseen_partners` gives it the flag ``unseen_partner`` with the detection ids as
   evidence (the ``evidence`` column, JSON).
"""

from __future__ import annotations

import json
import operator
from collections import deque
from itertools import chain, repeat

import numpy as np
import pandas as pd

from stsdetect._json import (
    TEXT_SEP,
    dumps_each,
    is_instance,
    loads_each,
    object_array,
    parse_texts,
)
from stsdetect.detectors._checks import check_tracks, positive
from stsdetect.detectors._pairs import pairs_within
from stsdetect.events import make_events
from stsdetect.geo import (
    EARTH_RADIUS_M,
    KNOT_M_S,
    arc_to_chord_m,
    duration_s,
    epoch_ns,
    epoch_s,
    haversine_m,
    unit_xyz,
)
from stsdetect.tracks import Tracks

__all__ = ["MATCH_COLUMNS", "dark_vessel_events", "find_dark_vessels", "find_unseen_partners",
           "imagery_events", "mark_unseen_partners", "match_detections", "positions_at",
           "unseen_partner_points"]

#: Columns :func:`match_detections` adds to the detections table.
MATCH_COLUMNS = ["mmsi", "match_distance_m", "n_candidates", "matched"]

_SLACK = 1.0 + 1e-9


def positions_at(tracks: Tracks, segment, time, max_gap="2h", max_extrapolate="10min"):
    """Positions of track segments at given times, all at once.

    Parameters
    ----------
    tracks : Tracks
        Cleaned tracks.
    segment : array_like of int
        Segment id per query.
    time : array_like
        Query time per query: datetime64 (UTC) or int64 ns since the epoch (floats are
        seconds since the epoch; NaN/NaT give NaN positions).
    max_gap : duration, default "2h"
        Longest time between the two reports interpolated between.
    max_extrapolate : duration, default "10min"
        Outside such a pair, a report at most this far in time is dead-reckoned from (its
        speed and course; held still when they are not available).

    Returns
    -------
    (numpy.ndarray, numpy.ndarray)
        Latitude and longitude per query; NaN where the position is not known.
    """
    seg = np.asarray(segment, dtype=np.int64)
    t_ns, missing = _query_ns(time)
    if t_ns.size == 0 or len(tracks) == 0 or missing.all():
        return np.full(t_ns.size, np.nan), np.full(t_ns.size, np.nan)
    index = _TimeIndex(tracks, int(t_ns[~missing].min()), int(t_ns[~missing].max()))
    lat, lon = index.at(seg, t_ns, duration_s(max_gap), duration_s(max_extrapolate))
    return np.where(missing, np.nan, lat), np.where(missing, np.nan, lon)


def _query_ns(time):
    """Query times as int64 ns and a mask of the missing ones (NaN, NaT)."""
    arr = np.asarray(time)
    if arr.dtype.kind == "f":
        missing = ~np.isfinite(arr)
        return np.round(np.where(missing, 0.0, arr) * 1e9).astype(np.int64), missing
    if arr.dtype.kind in "iu":
        return arr.astype(np.int64), np.zeros(arr.shape, dtype=bool)
    ns = epoch_ns(time)
    missing = ns == np.iinfo(np.int64).min
    return np.where(missing, 0, ns), missing


class _TimeIndex:
    """One sorted key per report, ``segment * span + (time - t0)``, for many look-ups.

    Times are float seconds from the local origin ``t0_ns`` (int64 ns), so the keys keep
    sub-microsecond resolution whatever the epoch.
    """

    def __init__(self, tracks: Tracks, lo_ns: int, hi_ns: int):
        tt = tracks.time_ns
        self.tracks = tracks
        self.t0_ns = min(int(tt.min()), lo_ns) - 10**9
        self.tt = (tt - self.t0_ns) / 1e9  # report times as offsets from the origin
        self.span = (max(int(tt.max()), hi_ns) - self.t0_ns) / 1e9 + 2.0
        self.key = tracks.segment * self.span + self.tt  # sorted: rows by (seg, time)

    def at(self, seg, t_ns, gap_s: float, ext_s: float):
        """Positions of segments ``seg`` at int64 ns times ``t_ns`` (see :func:`positions_at`)."""
        t = (np.asarray(t_ns, dtype=np.int64) - self.t0_ns) / 1e9
        return _positions_at(self, seg, t, gap_s, ext_s)


def _positions_at(index: _TimeIndex, seg, t, gap_s: float, ext_s: float):
    tracks = index.tracks
    tt = index.tt
    j = np.searchsorted(index.key, seg * index.span + t, side="right") - 1
    lo, hi = tracks.offsets[seg], tracks.offsets[seg + 1]
    has_prev = (j >= lo) & (j < hi)
    has_next = (j + 1 >= lo) & (j + 1 < hi)
    jp = np.clip(j, 0, len(tracks) - 1)
    jn = np.clip(j + 1, 0, len(tracks) - 1)
    both = has_prev & has_next & (tt[jn] - tt[jp] <= gap_s)
    frac = np.where(both, (t - tt[jp]) / np.maximum(tt[jn] - tt[jp], 1e-9), 0.0)
    dlon = (tracks.lon_deg[jn] - tracks.lon_deg[jp] + 180.0) % 360.0 - 180.0
    lat = np.where(both, tracks.lat_deg[jp] + frac * (tracks.lat_deg[jn] - tracks.lat_deg[jp]),
                   np.nan)
    lon = np.where(both, (tracks.lon_deg[jp] + frac * dlon + 180.0) % 360.0 - 180.0, np.nan)
    # dead reckoning from the nearer report within max_extrapolate
    dt_p = np.where(has_prev, t - tt[jp], np.inf)
    dt_n = np.where(has_next, tt[jn] - t, np.inf)
    use_n = dt_n < dt_p
    r = np.where(use_n, jn, jp)
    dt = np.where(use_n, -dt_n, dt_p)
    near = ~both & (np.abs(dt) <= ext_s)
    sog = np.nan_to_num(tracks.sog_kn[r], nan=0.0)
    cog = np.radians(np.nan_to_num(tracks.cog_deg[r], nan=0.0))
    dist = sog * KNOT_M_S * dt
    dlat = np.degrees(dist * np.cos(cog) / EARTH_RADIUS_M)
    dlon_r = np.degrees(dist * np.sin(cog) / (EARTH_RADIUS_M
                                              * np.maximum(np.cos(np.radians(tracks.lat_deg[r])),
                                                           1e-6)))
    lat = np.where(near, np.clip(tracks.lat_deg[r] + dlat, -90, 90), lat)
    lon = np.where(near, (tracks.lon_deg[r] + dlon_r + 180.0) % 360.0 - 180.0, lon)
    return lat, lon


def _greedy_one_to_one(a, b, dist):
    """Closest pairs first, each ``a`` and each ``b`` used once: mutual-nearest rounds.

    With distinct distances (ties are broken by ``a`` then ``b``) the pairs accepted by rounds
    of mutual nearest neighbours are exactly those of the greedy algorithm that walks all pairs
    by increasing distance: the globally closest remaining pair is always mutual. Each round is
    whole-array NumPy; the number of rounds is the length of the longest chain of
    "my nearest prefers another" links, a handful in practice.
    """
    keep = np.zeros(a.size, dtype=bool)
    alive = np.ones(a.size, dtype=bool)
    order = np.lexsort((b, a, dist))  # global order: distance, then a, then b
    rank = np.empty(a.size, dtype=np.int64)
    rank[order] = np.arange(a.size)
    while alive.any():  # rounds, not pairs
        idx = np.flatnonzero(alive)
        best_a = _best(a[idx], rank[idx])
        best_b = _best(b[idx], rank[idx])
        mutual = idx[np.intersect1d(best_a, best_b, assume_unique=True)]
        keep[mutual] = True
        used_a = np.isin(a, a[mutual])
        used_b = np.isin(b, b[mutual])
        alive &= ~(used_a | used_b)
    return keep


def _best(key, rank):
    """Positions (into ``key``) of the lowest-rank entry per distinct key."""
    order = np.lexsort((rank, key))
    first = np.ones(order.size, dtype=bool)
    first[1:] = key[order][1:] != key[order][:-1]
    return np.sort(order[first])


def match_detections(
    detections: pd.DataFrame,
    tracks: Tracks,
    max_distance_m: float = 1500.0,
    max_gap="2h",
    max_extrapolate="10min",
) -> pd.DataFrame:
    """Match imagery detections to AIS tracks, one to one, by position at the image time.

    Parameters
    ----------
    detections : pandas.DataFrame
        From :func:`stsdetect.imagery.read_detections` (``detection_id``, ``scene_id``,
        ``time``, ``lat``, ``lon``).
    tracks : Tracks
        Cleaned AIS tracks.
    max_distance_m : float, default 1500
        Largest distance between a detection and a track's position at the image time.
        1.5 km is Skylight's matching distance for radar and optical detections; it allows
        for the image's geolocation error (tens of metres for Sentinel-1) and for the track's
        interpolation error over a few minutes.
    max_gap : duration, default "2h"
        A track's position is interpolated only between reports at most this far apart
        (:func:`positions_at`); a ship at 12 kn that turns within a 2 h gap can be off by
        km, so longer gaps leave the track unmatched rather than wrongly matched.
    max_extrapolate : duration, default "10min"
        A track whose nearest report is at most this far from the image time (before its
        first or after its last report, or beside a long gap) is dead-reckoned from it.

    Returns
    -------
    pandas.DataFrame
        The detections (same rows, same order) with :data:`MATCH_COLUMNS`: ``mmsi`` (Int64,
        ``<NA>`` when unmatched), ``match_distance_m`` (NaN when unmatched), ``n_candidates``
        (tracks within ``max_distance_m``: more than one means the match was a choice) and
        ``matched``.

    Raises
    ------
    TypeError
        If ``tracks`` is not :class:`~stsdetect.tracks.Tracks` or ``detections`` not a table.
    ValueError
        If ``detections`` lacks columns or a parameter is out of range.

    Notes
    -----
    The loop runs over the distinct image times (scenes), not over detections or vessels: for
    each, the tracks spanning that time are placed at it (:func:`positions_at`), those near
    the scene's detections are paired with them within the search chord over unit vectors
    (a grid of cells, :func:`stsdetect.detectors._pairs.pairs_within`), and the candidates
    are checked with the exact haversine distance.

    One-to-one by **greedy distance order** (:func:`_greedy_one_to_one`), not by the
    Hungarian method (``scipy.optimize.linear_sum_assignment``): greedy never pairs a
    detection with a farther vessel while a closer free one exists, which is what an analyst
    reading a match distance expects; it is independent of row order; and it costs
    ``O(E log E)`` over the candidate pairs, where the Hungarian method is cubic in the size
    of a crowded anchorage. The two differ only where several vessels and detections lie
    within 1.5 km of each other, where no position-only match is reliable: those matches have
    ``n_candidates > 1``.
    """
    check_tracks(tracks)
    if not isinstance(detections, pd.DataFrame):
        raise TypeError(f"detections must be a DataFrame, got {type(detections).__name__}")
    missing = [c for c in ("detection_id", "time", "lat", "lon") if c not in detections]
    if missing:
        raise ValueError(f"detections lack columns {missing}; read them with "
                         "stsdetect.imagery.read_detections")
    max_distance_m = positive("max_distance_m", max_distance_m)
    gap_s, ext_s = duration_s(max_gap), duration_s(max_extrapolate)
    out = detections.drop(columns=[c for c in MATCH_COLUMNS if c in detections]).copy()
    n = len(out)
    d_t = epoch_ns(out["time"])
    ext_ns = round(ext_s * 1e9)
    d_lat = out["lat"].to_numpy(float)
    d_lon = out["lon"].to_numpy(float)
    chord = arc_to_chord_m(max_distance_m) / EARTH_RADIUS_M * _SLACK
    parts_d, parts_s, parts_dist, parts_k = [], [], [], []
    if n and len(tracks):
        seg_first = tracks.time_ns[tracks.offsets[:-1]]
        seg_last = tracks.time_ns[tracks.offsets[1:] - 1]
        starts = tracks.offsets[:-1]
        # each segment's box over all its reports (a cheap first cut per image)
        s_lat0 = np.minimum.reduceat(tracks.lat_deg, starts)
        s_lat1 = np.maximum.reduceat(tracks.lat_deg, starts)
        s_lon0 = np.minimum.reduceat(tracks.lon_deg, starts)
        s_lon1 = np.maximum.reduceat(tracks.lon_deg, starts)
        wide = s_lon1 - s_lon0 > 180.0  # crosses the antimeridian: no longitude cut
        index = _TimeIndex(tracks, int(d_t.min()), int(d_t.max()))
        times, t_idx = np.unique(d_t, return_inverse=True)
        order = np.argsort(t_idx, kind="stable")
        bounds = np.searchsorted(t_idx[order], np.arange(times.size + 1))
        # margin of the boxes: the matching distance plus dead reckoning, in degrees
        reach_m = max_distance_m + 40.0 * KNOT_M_S * ext_s
        margin_deg = np.degrees(reach_m / EARTH_RADIUS_M) * 1.01
        for k in range(times.size):  # one image time (scene) at a time
            rows = order[bounds[k]:bounds[k + 1]]
            t = times[k]
            la0, la1 = d_lat[rows].min() - margin_deg, d_lat[rows].max() + margin_deg
            coslat = max(np.cos(np.radians(min(max(abs(la0), abs(la1)), 89.0))), 1e-3)
            lo0 = d_lon[rows].min() - margin_deg / coslat
            lo1 = d_lon[rows].max() + margin_deg / coslat
            near = (s_lat1 >= la0) & (s_lat0 <= la1)
            if lo1 - lo0 < 180.0 and lo0 > -180.0 and lo1 < 180.0:
                near &= wide | ((s_lon1 >= lo0) & (s_lon0 <= lo1))
            seg = np.flatnonzero(near & (seg_first <= t + ext_ns) & (seg_last >= t - ext_ns))
            if seg.size == 0:
                continue
            lat, lon = index.at(seg, np.full(seg.size, t), gap_s, ext_s)
            ok = np.isfinite(lat)
            seg, lat, lon = seg[ok], lat[ok], lon[ok]
            if seg.size == 0:
                continue
            pi, si = pairs_within(unit_xyz(d_lat[rows], d_lon[rows]), chord,
                                  other_xyz=unit_xyz(lat, lon))
            if pi.size == 0:
                continue
            di = rows[pi]
            dist = haversine_m(d_lat[di], d_lon[di], lat[si], lon[si])
            good = dist <= max_distance_m
            parts_d.append(di[good])
            parts_s.append(seg[si[good]])
            parts_dist.append(dist[good])
            parts_k.append(np.full(int(good.sum()), k, dtype=np.int64))
    mmsi = pd.array([pd.NA] * n, dtype="Int64")
    match_dist = np.full(n, np.nan)
    n_cand = np.zeros(n, dtype=np.int64)
    if parts_d:
        di = np.concatenate(parts_d)
        si = np.concatenate(parts_s)
        dist = np.concatenate(parts_dist)
        kk = np.concatenate(parts_k)
        n_cand = np.bincount(di, minlength=n).astype(np.int64)
        # a track is used once per image time: its key is (time, segment)
        keep = _greedy_one_to_one(di, kk * (tracks.n_segments + 1) + si, dist)
        chosen = np.zeros(n, dtype=bool)
        chosen[di[keep]] = True
        m = np.full(n, 0, dtype=np.int64)
        m[di[keep]] = tracks.segment_mmsi[si[keep]]
        match_dist[di[keep]] = dist[keep]
        mmsi = pd.array(np.where(chosen, m, 0), dtype="Int64")
        mmsi[~chosen] = pd.NA
    out["mmsi"] = mmsi
    out["match_distance_m"] = match_dist
    out["n_candidates"] = n_cand
    out["matched"] = np.isfinite(match_dist)
    return out


def find_dark_vessels(matched: pd.DataFrame) -> pd.DataFrame:
    """``dark_vessel`` events: the detections no AIS track explains.

    Parameters
    ----------
    matched : pandas.DataFrame
        Output of :func:`match_detections`.

    Returns
    -------
    pandas.DataFrame
        Events table (:data:`stsdetect.events.EVENT_COLUMNS`) of type ``dark_vessel``, one
        per unmatched detection: ``mmsi`` 0 (no identity), ``start`` = ``end`` = the image
        time, ``lat``/``lon`` the detection, ``n_positions`` 0; ``event_id``
        ``dv-<detection_id>``; then the columns ``detection_id``, ``scene_id`` and
        ``detection_length_m``. Region flags are added by :func:`stsdetect.flags.flag_events`.
    """
    if "matched" not in matched:
        raise ValueError("pass the output of match_detections (it has a 'matched' column)")
    dark = matched.loc[~matched["matched"].to_numpy(bool)]
    n = len(dark)
    ev = make_events("dark_vessel", n=n, mmsi=np.zeros(n, np.int64),
                     start=dark["time"].to_numpy(), end=dark["time"].to_numpy(),
                     lat=dark["lat"].to_numpy(float), lon=dark["lon"].to_numpy(float),
                     n_positions=np.zeros(n, np.int64))
    # make_events sorts by start (stable): keep the detections in the same order
    order = np.argsort(epoch_s(dark["time"]), kind="stable")
    det = dark.iloc[order]
    ev["detection_id"] = det["detection_id"].astype(str).to_numpy(dtype=object)
    ev["scene_id"] = det["scene_id"].astype(str).to_numpy(dtype=object)
    ev["detection_length_m"] = (det["length_m"].to_numpy(float) if "length_m" in det
                                else np.full(n, np.nan))
    ev["event_id"] = ("dv-" + ev["detection_id"].astype(str)).astype(object)
    return ev


def find_unseen_partners(
    events: pd.DataFrame,
    matched: pd.DataFrame,
    tracks: Tracks,
    max_distance_m: float = 500.0,
    max_gap="2h",
    max_extrapolate="10min",
) -> pd.DataFrame:
    """Unmatched detections beside a rendezvous or loitering vessel during its event.

    Parameters
    ----------
    events : pandas.DataFrame
        Events table; its ``rendezvous`` and ``loitering`` rows are tested.
    matched : pandas.DataFrame
        Output of :func:`match_detections`.
    tracks : Tracks
        The tracks the events and the match came from.
    max_distance_m : float, default 500
        Largest distance from one of the event's vessels (at the image time) to the
        detection: the rendezvous distance (GFW encounters, Miller et al. 2018), a vessel
        alongside or close by.
    max_gap, max_extrapolate : duration
        As in :func:`positions_at`.

    Returns
    -------
    pandas.DataFrame
        One row per (event, detection): ``event_id``, ``detection_id``, ``scene_id``,
        ``time``, ``distance_m``, ``mmsi`` (the event vessel it lay beside), ``lat``, ``lon``
        (the detection).
    """
    check_tracks(tracks)
    max_distance_m = positive("max_distance_m", max_distance_m)
    cols = {"event_id": [], "detection_id": [], "scene_id": [], "time": [], "distance_m": [],
            "mmsi": [], "lat": [], "lon": []}
    empty = pd.DataFrame(cols).astype({"distance_m": float, "mmsi": np.int64, "lat": float,
                                       "lon": float})
    empty["time"] = pd.to_datetime(empty["time"], utc=True)
    if not len(events) or not len(matched) or not len(tracks):
        return empty
    ev = events[events["event_type"].isin(["rendezvous", "loitering"])]
    dark = matched.loc[~matched["matched"].to_numpy(bool)]
    if not len(ev) or not len(dark):
        return empty
    d_t = epoch_ns(dark["time"])
    order = np.argsort(d_t, kind="stable")
    d_t = d_t[order]
    dark = dark.iloc[order]
    e_s, e_e = epoch_ns(ev["start"]), epoch_ns(ev["end"])
    lo = np.searchsorted(d_t, e_s, side="left")
    hi = np.searchsorted(d_t, e_e, side="right")
    count = hi - lo
    e_idx = np.repeat(np.arange(len(ev)), count)
    d_idx = np.repeat(lo, count) + (np.arange(count.sum()) - np.repeat(np.cumsum(count) - count,
                                                                       count))
    # each vessel of the event (mmsi, and other_mmsi for a pair), each of its segments
    mm = [ev["mmsi"].to_numpy(np.int64)[e_idx],
          pd.to_numeric(ev["other_mmsi"], errors="coerce").fillna(-1).to_numpy(np.int64)[e_idx]]
    q_pair, q_seg, q_mmsi = [], [], []
    for m in mm:  # two vessels at most
        s0 = np.searchsorted(tracks.segment_mmsi, m, side="left")
        s1 = np.searchsorted(tracks.segment_mmsi, m, side="right")
        c = s1 - s0
        pair = np.repeat(np.arange(m.size), c)
        q_pair.append(pair)
        q_seg.append(np.repeat(s0, c) + (np.arange(c.sum()) - np.repeat(np.cumsum(c) - c, c)))
        q_mmsi.append(m[pair])
    pair = np.concatenate(q_pair)
    seg = np.concatenate(q_seg)
    vm = np.concatenate(q_mmsi)
    lat, lon = positions_at(tracks, seg, d_t[d_idx[pair]], max_gap, max_extrapolate)
    dist = haversine_m(lat, lon, dark["lat"].to_numpy(float)[d_idx[pair]],
                       dark["lon"].to_numpy(float)[d_idx[pair]])
    ok = np.isfinite(dist) & (dist <= max_distance_m)
    if not ok.any():
        return empty
    res = pd.DataFrame({"pair": pair[ok], "distance_m": dist[ok], "mmsi": vm[ok]})
    res = res.sort_values(["pair", "distance_m"], kind="stable").drop_duplicates("pair")
    p = res["pair"].to_numpy()
    return pd.DataFrame({
        "event_id": ev["event_id"].to_numpy(dtype=object)[e_idx[p]],
        "detection_id": dark["detection_id"].astype(str).to_numpy(dtype=object)[d_idx[p]],
        "scene_id": dark["scene_id"].astype(str).to_numpy(dtype=object)[d_idx[p]],
        "time": dark["time"].to_numpy()[d_idx[p]],
        "distance_m": res["distance_m"].to_numpy(float),
        "mmsi": res["mmsi"].to_numpy(np.int64),
        "lat": dark["lat"].to_numpy(float)[d_idx[p]],
        "lon": dark["lon"].to_numpy(float)[d_idx[p]],
    }).sort_values(["event_id", "time", "detection_id"], kind="stable").reset_index(drop=True)


# ------------------------------------------------ the evidence JSON of many events at once
#
# The unseen_partner evidence is written and read back as before (json.loads of each event's
# text, the key set, json.dumps(sort_keys=True)), but for all events in one json.loads and one
# json.dumps (stsdetect._json.parse_texts, dumps_each): the texts are the items of one JSON
# array, a marker string between the events. Per event only C code runs: the json module,
# NumPy object ufuncs and builtin map over C methods (dict.get, dict.__setitem__,
# dict.setdefault, len, operator.contains).

_ROW_END = "\x1e"  # ends a row's joined texts (JSON text never holds a raw control character)
_MISSING = object()


def _lookup(dicts: np.ndarray, key: str) -> np.ndarray:
    """``d.get(key)`` of each dict of an object array (``_MISSING`` where it has none)."""
    return np.fromiter(map(dict.get, dicts, repeat(key), repeat(_MISSING)), dtype=object,
                       count=dicts.size)


def _native(value):
    """NumPy scalars as Python's, as ``DataFrame.to_dict`` gives them (json.dumps' default)."""
    if isinstance(value, np.generic):
        return value.item()
    raise TypeError(f"Object of type {type(value).__name__} is not JSON serializable")


def _json_values(values: list, what: str = "partners' columns") -> np.ndarray:
    """The JSON text of each value of a column, as ``json.dumps(value, sort_keys=True)``
    writes it, in one call."""
    if not values:
        return np.zeros(0, dtype=object)
    text = json.dumps(values, separators=(_ROW_END, ": "), sort_keys=True, default=_native)
    parts = text[1:-1].split(_ROW_END)
    if len(parts) != len(values):
        raise TypeError(f"{what} must hold scalars (numbers, text, booleans)")
    return object_array(parts)


def _detection_items(records: pd.DataFrame, codes: np.ndarray) -> np.ndarray:
    """Per event (``codes`` 0..m-1, -1 for none), its records as the items of a JSON array
    as ``json.dumps(sort_keys=True)`` writes them: ``{"column": value, ...}, {...}``, in the
    records' order."""
    order = np.argsort(codes, kind="stable")
    order = order[codes[order] >= 0]
    code = codes[order]
    columns = sorted(records.columns)
    # one row of texts per record: '{"a": ', value, ', "b": ', value, ..., '}' and its end
    parts = np.empty((order.size, 2 * len(columns) + 1), dtype=object)
    for j, col in enumerate(columns):  # the columns of find_unseen_partners
        parts[:, 2 * j] = ("{" if j == 0 else ", ") + json.dumps(col) + ": "
        parts[:, 2 * j + 1] = _json_values(records[col].tolist())[order]
    last = np.ones(code.size, dtype=bool)
    last[:-1] = code[1:] != code[:-1]
    parts[:, -1] = np.where(last, "}" + _ROW_END, "}, ")
    if not columns:
        parts[:, -1] = np.where(last, "{}" + _ROW_END, "{}, ")
    return object_array("".join(parts.ravel().tolist()).split(_ROW_END)[:-1])


def _with_token(flags: np.ndarray, token: str) -> np.ndarray:
    """Each row's flags (list-likes) with ``token`` added: sorted lists of distinct tokens."""
    n = flags.size
    tokens = pd.Series(flags, dtype=object).explode().dropna()  # [] -> NaN: dropped
    row = np.concatenate([tokens.index.to_numpy(dtype=np.int64), np.arange(n)])
    tok = np.concatenate([tokens.to_numpy(dtype=object), np.full(n, token, dtype=object)])
    by_token = np.argsort(tok, kind="stable")
    order = by_token[np.argsort(row[by_token], kind="stable")]
    row, tok = row[order], tok[order]
    first = np.ones(row.size, dtype=bool)
    first[1:] = (row[1:] != row[:-1]) | (tok[1:] != tok[:-1])
    row, tok = row[first], tok[first]
    # the lists as one JSON array of arrays of the tokens' JSON strings, parsed at once
    first = np.ones(row.size, dtype=bool)
    first[1:] = row[1:] != row[:-1]
    last = np.ones(row.size, dtype=bool)
    last[:-1] = first[1:]
    text = (np.where(first, "[", ", ").astype(object) + _json_values(tok.tolist(), "flags")
            + np.where(last, "], ", "").astype(object))
    return object_array(json.loads("[" + "".join(text.tolist())[:-2] + "]"))


def _with_reason(evidence: np.ndarray, token: str, reason: np.ndarray,
                 event_ids: np.ndarray) -> np.ndarray:
    """Each row's evidence (JSON object text; not text or empty: none) with ``token`` set
    to the row's ``reason``, as ``json.dumps(obj, sort_keys=True)``.

    ``reason`` is JSON text as ``json.dumps(sort_keys=True)`` writes it: it is not parsed,
    but put where ``token``'s value is written (a placeholder string during the dump).
    """
    n = evidence.size
    old = np.where(is_instance(evidence, str), evidence, "{}").astype(object)
    old = np.where(old == "", "{}", old).astype(object)
    parsed = parse_texts(old)
    if parsed is None:
        _, ok = loads_each(old)
        bad = np.flatnonzero(~ok)
        at = f" of event {event_ids[bad[0]]!r}" if bad.size else ""
        raise ValueError(f"the evidence{at} is not JSON")
    items, mark = parsed
    objs = object_array(items[0::2])
    is_obj = is_instance(objs, dict)
    if not is_obj.all():
        raise TypeError(f"the evidence of event {event_ids[~is_obj][0]!r} is not a JSON object")
    hole = mark + TEXT_SEP  # no text holds it either, nor is it the marker
    deque(map(dict.__setitem__, objs, repeat(token), repeat(hole)), maxlen=0)
    texts = dumps_each(items, mark, n, sort_keys=True)
    parts = _ROW_END.join(texts.tolist()).split(json.dumps(hole))  # one hole a row
    if len(parts) != n + 1:
        raise AssertionError("a placeholder string is inside the evidence")
    joined = [""] * (2 * n + 1)
    joined[0::2] = parts
    joined[1::2] = reason.tolist()
    return object_array("".join(joined).split(_ROW_END))


#: Events whose evidence :func:`unseen_partner_points` parses at once (the parsed objects of
#: one chunk are alive at a time, and its text stays in the CPU caches: 20-30 % faster than
#: the whole column at once on 20,000 events).
_CHUNK = 1024


def _detections(texts: np.ndarray, ids: np.ndarray) -> list[dict]:
    """The ``unseen_partner`` detections in events' evidence texts, as the objects parsed,
    each with ``event_id`` (unless it names one itself, as ``{"event_id": id, **d}`` did)."""
    at = np.flatnonzero(is_instance(texts, str) & (texts != ""))
    values, ok = loads_each(texts[at])  # evidence that is not JSON: no detections
    at, values = at[ok], values[ok]
    # evidence["unseen_partner"]["detections"] where both are there (as objects)
    keep = is_instance(values, dict)
    at, reason = at[keep], _lookup(values[keep], "unseen_partner")
    keep = is_instance(reason, dict)
    at, dets = at[keep], _lookup(reason[keep], "detections")
    keep = dets != _MISSING
    at, dets = at[keep], dets[keep]
    listed = is_instance(dets, list)
    # what iterating them gave before: a list its items, an empty text or object nothing
    empty = is_instance(dets, (str, dict)) & ((dets == "") | (dets == {}))
    if not (listed | empty).all():
        raise TypeError(f"unseen_partner detections of event {ids[at[~(listed | empty)][0]]!r} "
                        "are not a list")
    at, dets = at[listed], dets[listed]
    counts = np.fromiter(map(len, dets), dtype=np.int64, count=dets.size)
    found = list(chain.from_iterable(dets))  # the detection objects, event by event
    if not is_instance(object_array(found), dict).all():
        raise TypeError("unseen_partner detections must be JSON objects")
    deque(map(dict.setdefault, found, repeat("event_id"), np.repeat(ids[at], counts).tolist()),
          maxlen=0)
    return found


def mark_unseen_partners(events: pd.DataFrame, partners: pd.DataFrame) -> pd.DataFrame:
    """Add the flag ``unseen_partner``, with the detections as evidence, to events.

    Parameters
    ----------
    events : pandas.DataFrame
        Events table.
    partners : pandas.DataFrame
        Output of :func:`find_unseen_partners`.

    Returns
    -------
    pandas.DataFrame
        A copy of ``events`` where each event in ``partners`` has ``unseen_partner`` among its
        flags and, in the ``evidence`` column (JSON text of an object keyed by flag token; added
        when missing), ``"unseen_partner": {"detections": [{"detection_id", "scene_id",
        "time", "distance_m", "beside_mmsi", "lat", "lon"}, ...]}`` (the maps draw them).
        The evidence of a marked event is rewritten as ``json.dumps(obj, sort_keys=True)``
        (keys sorted at every level, non-ASCII escaped); the other events' is left as it is.

    Raises
    ------
    ValueError
        If the evidence of an event to mark is not JSON.
    TypeError
        If it is JSON but not an object, or a column of ``partners`` holds lists or objects.

    Notes
    -----
    All marked events' evidence is parsed by one ``json.loads`` and written by one
    ``json.dumps`` (:func:`stsdetect._json.parse_texts`, :func:`stsdetect._json.dumps_each`),
    the detections formatted column by column as ``json.dumps(sort_keys=True)`` formats them
    (:func:`_detection_items`): the text is the one an event-by-event round trip gives, byte
    for byte.
    """
    out = events.copy()
    if "evidence" not in out:
        out["evidence"] = pd.Series([""] * len(out), index=out.index, dtype=object)
    if not len(partners) or not len(out):
        return out
    records = partners.assign(
        time=pd.to_datetime(partners["time"], utc=True).dt.strftime("%Y-%m-%dT%H:%M:%SZ"),
        distance_m=partners["distance_m"].round(1), lat=partners["lat"].round(6),
        lon=partners["lon"].round(6))
    records = records.rename(columns={"mmsi": "beside_mmsi"})
    # the detections of each event as one JSON array's items, events by first appearance
    codes, ids = pd.factorize(records["event_id"])
    items = _detection_items(records.drop(columns="event_id"), codes)
    at = pd.Index(ids).get_indexer(out["event_id"])  # -1: no detections
    rows = np.flatnonzero(at >= 0)
    at = at[rows]
    reason = '{"detections": [' + items[at] + "]}"
    flags = out["flags"].to_numpy(dtype=object).copy()
    evidence = out["evidence"].to_numpy(dtype=object).copy()
    flags[rows] = _with_token(flags[rows], "unseen_partner")
    evidence[rows] = _with_reason(evidence[rows], "unseen_partner", reason,
                                  out["event_id"].to_numpy(dtype=object)[rows])
    out["flags"] = pd.Series(flags, index=out.index, dtype=object)
    out["evidence"] = pd.Series(evidence, index=out.index, dtype=object)
    return out


def dark_vessel_events(events: pd.DataFrame, matched: pd.DataFrame, tracks: Tracks,
                       unseen_partner_distance_m: float = 500.0, max_gap="2h",
                       max_extrapolate="10min") -> pd.DataFrame:
    """The events with the ``dark_vessel`` events of ``matched`` added and unseen partners marked.

    The second half of :func:`imagery_events`, for detections already matched (the windowed
    and Dask drivers match them window by window and call this on the merged events with the
    tracks of the event vessels).

    Parameters
    ----------
    events : pandas.DataFrame
        Events table (rendezvous and loitering rows are tested for unseen partners).
    matched : pandas.DataFrame
        Output of :func:`match_detections`.
    tracks : Tracks
        Tracks holding (at least) every vessel of the rendezvous and loitering events.
    unseen_partner_distance_m, max_gap, max_extrapolate
        See :func:`imagery_events`.

    Returns
    -------
    pandas.DataFrame
    """
    from stsdetect.events import concat_events

    out = concat_events([events, find_dark_vessels(matched)])
    partners = find_unseen_partners(out, matched, tracks, max_distance_m=unseen_partner_distance_m,
                                    max_gap=max_gap, max_extrapolate=max_extrapolate)
    return mark_unseen_partners(out, partners)


def imagery_events(
    events: pd.DataFrame,
    detections: pd.DataFrame,
    tracks: Tracks,
    match_distance_m: float = 1500.0,
    unseen_partner_distance_m: float = 500.0,
    max_gap="2h",
    max_extrapolate="10min",
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """The imagery stage: match detections, add ``dark_vessel`` events, mark unseen partners.

    Parameters
    ----------
    events : pandas.DataFrame
        Events of the detectors (rendezvous and loitering rows are tested for unseen partners).
    detections : pandas.DataFrame
        From :func:`stsdetect.imagery.read_detections`.
    tracks : Tracks
        The cleaned tracks the events came from.
    match_distance_m : float, default 1500
        Largest detection-to-track distance of a match (:func:`match_detections`; Skylight's
        1.5 km).
    unseen_partner_distance_m : float, default 500
        Largest distance from a rendezvous or loitering vessel to an unmatched detection for
        ``unseen_partner`` (:func:`find_unseen_partners`; the rendezvous distance of GFW's
        encounters, Miller et al. 2018).
    max_gap : duration, default "2h"
        Longest gap between two reports a track's position is interpolated across
        (:func:`positions_at`).
    max_extrapolate : duration, default "10min"
        A report this close in time to the image is dead-reckoned from (:func:`positions_at`).

    Returns
    -------
    (pandas.DataFrame, pandas.DataFrame)
        The events with the ``dark_vessel`` events added and ``unseen_partner`` marked, and
        the detections with their matches (:data:`MATCH_COLUMNS`).
    """
    matched = match_detections(detections, tracks, max_distance_m=match_distance_m,
                               max_gap=max_gap, max_extrapolate=max_extrapolate)
    return dark_vessel_events(events, matched, tracks, unseen_partner_distance_m, max_gap,
                              max_extrapolate), matched


def unseen_partner_points(events: pd.DataFrame) -> pd.DataFrame:
    """The detections behind the ``unseen_partner`` flags, read back from the evidence.

    Parameters
    ----------
    events : pandas.DataFrame
        Events table with its ``evidence`` column (events read back from a file too).

    Returns
    -------
    pandas.DataFrame
        One row per (flagged event, detection): ``event_id``, ``detection_id``, ``scene_id``,
        ``time`` (UTC), ``lat``, ``lon`` (NaN for evidence written before they were kept),
        ``distance_m``, ``beside_mmsi``; for the maps and the report. An event whose
        evidence is not JSON, not an object, or lacks ``unseen_partner.detections`` gives none.

    Raises
    ------
    TypeError
        If an event's ``unseen_partner.detections`` is there but not a list of objects.
    """
    cols = ["event_id", "detection_id", "scene_id", "time", "lat", "lon", "distance_m",
            "beside_mmsi"]
    if "evidence" not in events or "flags" not in events or not len(events):
        out = pd.DataFrame({c: [] for c in cols})
        out["time"] = pd.to_datetime(out["time"], utc=True)
        return out
    flags = events["flags"].to_numpy(dtype=object)
    listed = np.flatnonzero(is_instance(flags, (list, tuple, np.ndarray)))
    flagged = listed[np.fromiter(map(operator.contains, flags[listed], repeat("unseen_partner")),
                                 dtype=bool, count=listed.size)]
    ids = object_array(events["event_id"].iloc[flagged].tolist())
    texts = events["evidence"].to_numpy(dtype=object)[flagged]
    found = []
    for lo in range(0, texts.size, _CHUNK):  # chunks: one chunk's parsed evidence at a time
        found += _detections(texts[lo:lo + _CHUNK], ids[lo:lo + _CHUNK])
    out = pd.DataFrame(found).reindex(columns=cols)
    out["time"] = pd.to_datetime(out["time"], utc=True)
    for c in ("lat", "lon", "distance_m"):
        out[c] = pd.to_numeric(out[c], errors="coerce").astype(float)
    return out
