"""Context on every event: crowd, navigational status, anchorage or port, visit pattern, draught.

:func:`add_context` appends the context columns (contract C3: the vessel's, then its partner's
with an ``other_`` prefix) and sets the context tokens with their reasons through the one
evidence mechanism, :class:`stsdetect.flags.Evidence` (contract C4: the ``flags`` column and the
``evidence`` column's JSON mapping each token to its reason; a reason about one participant
names it in ``vessel``, and is an array of two when both have it). Columns:

=============================  =========  =======================================================
column                         dtype      meaning
=============================  =========  =======================================================
``crowd_n``                    Int64      other vessels stopped within ``crowd_radius_m`` (2 km)
                                          of the event's position while it lasted
``nav_status``,                Int64      the participant's AIS navigational status during the
``other_nav_status``                      event: the status of most of its reports (1 at anchor,
                                          5 moored ...), else of its report nearest the middle
``anchorage_id``               object     the anchorage, berth or port the event lies in, else
                                          the nearest one within 0.5 degrees (about 55 km;
                                          empty when there is none)
``anchorage_kind``             object     ``anchorage``, ``berth`` or ``port``
``anchorage_distance_m``       float64    0 inside, else the distance to that area's outline
``visit``, ``other_visit``     object     ``visit`` (arrived within ``visit_window`` before the
                                          start and left within it after the end),
                                          ``residence`` (stopped there longer on both sides),
                                          ``arrival``, ``departure``, or ``moving`` (no stop
                                          covers the event)
``draught_before_m``,          float64    the participant's last reported draught at or before
``other_draught_before_m``                the start (type 5), else its first during the event
``draught_after_m``,           float64    its first reported draught at or after the end, else
``other_draught_after_m``                 its last during the event
``destination_before``,        object     the destination reported likewise
``destination_after`` (and
``other_`` ones)
=============================  =========  =======================================================

Tokens:

``anchorage``           the event lies in an area of kind ``anchorage`` (learned or supplied)
``port``                it lies in a berth or port area, or every participant with a known
                        status reports "moored" (5)
``crowded``             ``crowd_n >= crowd_min`` (5): ships lie this close only in anchorages
``residence``           every participant lay there throughout (``residence``)
``visit``               every participant came for the event and left after it (``visit``)
``draught_change``      a participant's draught after differs from before by at least
                        ``draught_change_m`` (0.5 m)
``destination_change``  a participant's reported destination changed across the event

``draught_change_m`` = 0.5 m: draught is keyed in by the crew in 0.1 m steps (ITU-R M.1371-5
table 52: 1/10 m) and often left unchanged for a voyage; 0.5 m is five steps, more than a
correction of a typo, and about 500 t of cargo for a 100 m handysize ship (tonnes per
centimetre immersion about 10 t/cm), the smallest coal shipment the UN Panel of Experts reports.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from stsdetect._json import json_where
from stsdetect.context.stops import find_stops
from stsdetect.geo import (
    EARTH_RADIUS_M,
    arc_to_chord_m,
    duration_s,
    epoch_ns,
    haversine_m,
    unit_xyz,
)

__all__ = ["CONTEXT_COLUMNS", "CONTEXT_TOKENS", "ORDINARY_TOKENS", "StatusIndex", "add_context",
           "status_counts"]

#: Context columns :func:`add_context` appends, in order.
CONTEXT_COLUMNS = [
    "crowd_n", "nav_status", "other_nav_status", "anchorage_id", "anchorage_kind",
    "anchorage_distance_m", "visit", "other_visit", "draught_before_m", "draught_after_m",
    "other_draught_before_m", "other_draught_after_m", "destination_before",
    "destination_after", "other_destination_before", "other_destination_after",
]

#: Tokens :func:`add_context` may set.
CONTEXT_TOKENS = ("anchorage", "port", "crowded", "residence", "visit", "draught_change",
                  "destination_change")

_NAT = np.iinfo(np.int64).min  # NaT as int64 nanoseconds

#: Tokens that mark ordinary port life: the CLI and the report list such events last.
ORDINARY_TOKENS = ("anchorage", "port")


class _Series:
    """Rows keyed by (mmsi, time) for "last at or before" / "first at or after" look-ups.

    Times are int64 nanoseconds since the epoch (``NaT``'s value: no time, left out). One
    composite float key per row, ``rank(mmsi) * span + (t - t0) * 1e-9`` (seconds from a local
    origin ``t0``), sorted: a query is a :func:`numpy.searchsorted`. Rows already in time
    order (a receiver's log, the statics history) need only a stable sort by MMSI.
    """

    def __init__(self, mmsi, t_ns):
        mmsi = np.asarray(mmsi, dtype=np.int64)
        t_ns = np.asarray(t_ns, dtype=np.int64)
        rows = np.flatnonzero(t_ns != _NAT)
        mm, t_ns = mmsi[rows], t_ns[rows]
        self.t0 = int(t_ns.min()) if t_ns.size else 0  # the local origin, ns
        tt = (t_ns - self.t0) * 1e-9
        # rank of each row's MMSI among the sorted MMSIs, by hashing (no sort of the rows);
        # a stable sort of small ranks is a radix sort
        codes, uniq = pd.factorize(mm, sort=True)
        small = np.int16 if uniq.size < 2**15 else np.int32 if uniq.size < 2**31 else np.int64
        order = np.argsort(codes.astype(small), kind="stable")
        cs, ts = codes[order], tt[order]
        same = cs[1:] == cs[:-1]
        if not (ts[1:][same] >= ts[:-1][same]).all():  # not in time order within a vessel
            order = np.lexsort((tt, codes))
            cs, ts = codes[order], tt[order]
        self.ids = np.asarray(uniq, dtype=np.int64)
        self.last = float(ts.max()) if ts.size else 0.0
        self.span = (self.last + 1.0) * 4.0 + 1e6
        self.key = cs * self.span + ts
        self.rows = rows[order]

    def _offset(self, q_ns, ok):
        """Seconds from the local origin of query times (0 where not ``ok``), clipped to just
        outside the records' range, so a query never reaches another vessel's keys."""
        off = (np.asarray(q_ns, np.int64) - self.t0) * 1e-9
        return np.where(ok, np.clip(off, -1.0, self.last + 1.0), 0.0)

    def _qkey(self, q_mmsi, q_t):
        pos = np.searchsorted(self.ids, q_mmsi)
        pos = np.minimum(pos, max(self.ids.size - 1, 0))
        found = (self.ids.size > 0) & (self.ids[pos] == q_mmsi) if self.ids.size else \
            np.zeros(np.size(q_mmsi), bool)
        base = pos * self.span
        return base, found

    def last_at_or_before(self, q_mmsi, q_t):
        """Row of the last record of each query's MMSI at or before its time (-1 if none)."""
        base, found = self._qkey(q_mmsi, q_t)
        ok = found & (np.asarray(q_t, np.int64) != _NAT)
        k = np.searchsorted(self.key, base + self._offset(q_t, ok), side="right") - 1
        good = ok & (k >= 0) & (k >= np.searchsorted(self.key, base, side="left"))
        return np.where(good, self.rows[np.maximum(k, 0)] if self.rows.size else -1, -1)

    def first_at_or_after(self, q_mmsi, q_t):
        """Row of the first record of each query's MMSI at or after its time (-1 if none)."""
        base, found = self._qkey(q_mmsi, q_t)
        ok = found & (np.asarray(q_t, np.int64) != _NAT)
        k = np.searchsorted(self.key, base + self._offset(q_t, ok), side="left")
        end = np.searchsorted(self.key, base + self.span, side="left")
        good = ok & (k < end) & (k < self.key.size)
        return np.where(good, self.rows[np.minimum(k, max(self.key.size - 1, 0))]
                        if self.rows.size else -1, -1)

    def count_between(self, q_mmsi, lo, hi):
        """(first, end) positions in the sorted keys of each query's MMSI with lo <= t <= hi."""
        base, found = self._qkey(q_mmsi, lo)
        lo, hi = np.asarray(lo, np.int64), np.asarray(hi, np.int64)
        ok = found & (lo != _NAT) & (hi != _NAT)
        a = np.searchsorted(self.key, base + self._offset(lo, ok), side="left")
        b = np.searchsorted(self.key, base + self._offset(hi, ok), side="right")
        return np.where(ok, a, 0), np.where(ok, b, 0)


class StatusIndex:
    """AIS navigational statuses of a positions table, by vessel and time, for range counts.

    Built once (one hashing pass over the MMSIs, a radix sort by vessel, cumulative counts)
    and read by both :func:`~stsdetect.context.find_anchorages` (the moored share of each
    stop: berths) and :func:`add_context` (each participant's status during its event);
    :func:`stsdetect.detect` hands the same index to both.

    Parameters
    ----------
    positions : pandas.DataFrame
        ``mmsi``, ``time`` and ``nav_status`` (rows in any order; NaT times are left out).
    mmsi : array_like of int, optional
        Index only the reports of these vessels (the queries' vessels).

    Notes
    -----
    Status 15 (not defined, also what Class B units carry) counts as unknown.
    """

    def __init__(self, positions: pd.DataFrame, mmsi=None):
        pos_mmsi = positions["mmsi"].to_numpy(np.int64)
        times, status = positions["time"], positions["nav_status"]
        #: The vessels indexed (sorted), or None for all of ``positions``.
        self.vessels = None if mmsi is None else np.unique(np.asarray(mmsi, dtype=np.int64))
        if mmsi is not None:
            from stsdetect._order import member_rows

            rows = member_rows(np.ascontiguousarray(pos_mmsi), self.vessels)  # one pass
            if rows.size < pos_mmsi.size:
                pos_mmsi = pos_mmsi[rows]
                times, status = times.iloc[rows], status.iloc[rows]
        self.series = _Series(pos_mmsi, epoch_ns(times, copy=False))  # (read only)
        st = pd.to_numeric(status, errors="coerce").to_numpy(float)[self.series.rows]
        known = np.isfinite(st) & (st != 15)
        self.status = np.where(known, st, -1).astype(np.int64)
        self._csum = [np.concatenate(([0], np.cumsum(x, dtype=np.int64)))
                      for x in (known, st == 1, st == 5)]

    def counts(self, q_mmsi, lo, hi):
        """Per query (MMSI, time range ``[lo, hi]`` in int64 epoch ns): reports with a known
        status, at anchor (1) and moored (5), and the query's range ``a:b`` in the index."""
        a, b = self.series.count_between(np.asarray(q_mmsi, np.int64), lo, hi)
        known, n1, n5 = (c[b] - c[a] for c in self._csum)
        return known, n1, n5, a, b


def status_counts(positions: pd.DataFrame, q_mmsi, q_lo, q_hi, index=None):
    """Per query (MMSI, time range): reports with a known status, at anchor (1), moored (5).

    ``index``: a :class:`StatusIndex` of ``positions`` already built (else built here for
    the queries' vessels). Status 15 (not defined) counts as unknown.
    """
    idx = index if index is not None else StatusIndex(positions, q_mmsi)
    return idx.counts(q_mmsi, q_lo, q_hi)[:3]


def _nav_status(index: StatusIndex, p_mmsi, s, e):
    """Status of most reports of each participant during [s, e], else the one nearest the middle."""
    out = np.full(p_mmsi.size, -1, dtype=np.int64)
    known, n1, n5, a, b = index.counts(p_mmsi, s, e)
    out[(2 * n1 > known) & (known > 0)] = 1
    out[(2 * n5 > known) & (known > 0)] = 5
    rest = (out < 0) & (b > a)
    out[rest] = index.status[(a[rest] + b[rest] - 1) // 2]
    return out


def has_status(positions) -> bool:
    """Whether a positions table can give navigational statuses."""
    return positions is not None and len(positions) > 0 and "nav_status" in positions.columns


def _around(ser: _Series, times, p_mmsi, p_s, p_e):
    """Records before and after each event: the last at or before the start (else the first
    during the event), and the first at or after the end (else the last during the event);
    -1 where none. An event that starts when the data begins, or ends when it ends, still
    compares what the vessel reported at its two ends."""
    k1 = ser.last_at_or_before(p_mmsi, p_s)
    k2 = ser.first_at_or_after(p_mmsi, p_e)
    in1 = ser.first_at_or_after(p_mmsi, p_s)
    in2 = ser.last_at_or_before(p_mmsi, p_e)
    ok1 = (in1 >= 0) & (times[np.maximum(in1, 0)] <= p_e)
    ok2 = (in2 >= 0) & (times[np.maximum(in2, 0)] >= p_s)
    k1 = np.where(k1 >= 0, k1, np.where(ok1, in1, -1))
    k2 = np.where(k2 >= 0, k2, np.where(ok2, in2, -1))
    return k1, k2


def add_context(events: pd.DataFrame, tracks=None, anchorages=None, positions=None,
                statics=None, stops=None, crowd_radius_m: float = 2000.0, crowd_min: int = 5,
                visit_window="6h", draught_change_m: float = 0.5,
                evidence=None, status: StatusIndex | None = None) -> pd.DataFrame:
    """Append the context columns and tokens (module notes) to an events table.

    Parameters
    ----------
    events : pandas.DataFrame
        An events table (:data:`stsdetect.events.EVENT_COLUMNS`, extra columns kept).
    tracks : stsdetect.tracks.Tracks, optional
        The cleaned tracks: their stops give the crowd and the visit pattern.
    anchorages : geopandas.GeoDataFrame, optional
        Learned and supplied areas (:func:`~stsdetect.context.find_anchorages`,
        :func:`~stsdetect.context.load_ports`, concatenated).
    positions : pandas.DataFrame, optional
        The positions table, for the navigational status.
    statics : pandas.DataFrame, optional
        The statics history (``AISData.statics``), for draught and destination.
    stops : pandas.DataFrame, optional
        Stops already found from ``tracks`` (:func:`~stsdetect.context.stops.find_stops`).
    crowd_radius_m : float, default 2000
        Radius of the crowd count (the issue's 2 km; GFW's anchorage entry is 3 km).
    crowd_min : int, default 5
        ``crowded`` from this many other stopped vessels (the floor of the anchorage finder's
        crowd, :func:`~stsdetect.context.anchorages.auto_thresholds`).
    visit_window : str or pandas.Timedelta, default "6h"
        How soon before the start a vessel must have arrived, and after the end left, for a
        visit. 6 h: the barges of the UN Panel's cases come out to the ship, load for some
        hours and go; ships at anchorages wait days (GFW port visits last 1-3 days typically).
    draught_change_m : float, default 0.5
        Least draught change for ``draught_change`` (module notes).
    evidence : stsdetect.flags.Evidence, optional
        Where the tokens and their reasons go (contract C4: the one mechanism behind the
        ``flags`` and ``evidence`` columns). Given one (made for ``events``, index 0..n-1),
        the tokens are added to it and written later, with the other flags, by
        :func:`stsdetect.flags.flag_events` (``evidence=``), as :func:`stsdetect.detect`
        does; without, they are written onto the returned table here.
    status : StatusIndex, optional
        The navigational statuses of ``positions`` already indexed (shared with
        :func:`~stsdetect.context.find_anchorages`, e.g. for the vessels that stopped);
        participants it does not cover are indexed here from ``positions``.

    Returns
    -------
    pandas.DataFrame
        A copy of ``events`` with :data:`CONTEXT_COLUMNS` appended (replaced if present);
        ``flags`` and ``evidence`` extended unless ``evidence`` was given.
    """
    from stsdetect.flags import Evidence

    window_ns = round(duration_s(visit_window) * 1e9)
    out = events.copy().reset_index(drop=True)
    n = len(out)
    if evidence is not None and evidence.n != n:
        raise ValueError(f"evidence made for {evidence.n} rows, events have {n}")
    ev = evidence if evidence is not None else Evidence(out)
    a_mmsi = pd.to_numeric(out["mmsi"], errors="coerce").fillna(-1).to_numpy(np.int64)
    b_mmsi = pd.to_numeric(out["other_mmsi"], errors="coerce").fillna(-1).to_numpy(np.int64)
    has_b = b_mmsi >= 0
    s = epoch_ns(out["start"]) if n else np.zeros(0, np.int64)  # int64 ns
    e = epoch_ns(out["end"]) if n else np.zeros(0, np.int64)
    lat = pd.to_numeric(out["lat"], errors="coerce").to_numpy(float)
    lon = pd.to_numeric(out["lon"], errors="coerce").to_numpy(float)
    p_mmsi = np.concatenate((a_mmsi, b_mmsi))  # participants: the vessels, then the partners
    p_s, p_e = np.concatenate((s, s)), np.concatenate((e, e))

    # --- stops: crowd and visit pattern
    if stops is None and tracks is not None:
        stops = find_stops(tracks)
    crowd = np.zeros(n, dtype=np.int64)
    pattern = np.full(2 * n, "moving", dtype=object)
    arr_h = np.full(2 * n, np.nan)
    left_h = np.full(2 * n, np.nan)
    if stops is not None and len(stops) and n:
        from stsdetect.context._kernels import crowd_counts

        st_mmsi = stops["mmsi"].to_numpy(np.int64)
        st_s = stops["start_ns"].to_numpy(np.int64)
        st_e = stops["end_ns"].to_numpy(np.int64)
        codes, uniq = pd.factorize(st_mmsi, sort=True)
        pos = np.minimum(np.searchsorted(uniq, p_mmsi), uniq.size - 1)
        p_code = np.where(uniq[pos] == p_mmsi, pos, -1)
        t0 = int(st_s.min())  # a local origin: the kernel takes seconds from it
        crowd = crowd_counts(unit_xyz(stops["lat"].to_numpy(float),
                                      stops["lon"].to_numpy(float)),
                             (st_s - t0) * 1e-9, (st_e - t0) * 1e-9, codes, uniq.size,
                             unit_xyz(lat, lon), (s - t0) * 1e-9, (e - t0) * 1e-9,
                             p_code[:n], p_code[n:],
                             arc_to_chord_m(crowd_radius_m) / EARTH_RADIUS_M)
        # each participant's stop covering the event's middle
        series = _Series(st_mmsi, st_s)
        mid = p_s + (p_e - p_s) // 2
        k = series.last_at_or_before(p_mmsi, mid)
        found = (k >= 0) & (p_mmsi >= 0)
        kk = np.maximum(k, 0)
        found &= st_e[kk] >= mid
        arrived = found & stops["arrived"].to_numpy(bool)[kk]
        departed = found & stops["departed"].to_numpy(bool)[kk]
        arr_h = np.where(found, (p_s - st_s[kk]) / 3.6e12, np.nan)
        left_h = np.where(found, (st_e[kk] - p_e) / 3.6e12, np.nan)
        came = arrived & (p_s - st_s[kk] <= window_ns)
        went = departed & (st_e[kk] - p_e <= window_ns)
        pattern = np.where(~found, "moving", np.where(came & went, "visit", np.where(
            came, "arrival", np.where(went, "departure", "residence")))).astype(object)
    pattern[p_mmsi < 0] = None
    new = {"crowd_n": pd.array(crowd, dtype="Int64")}  # the context columns, added at the end
    pa, pb = pattern[:n], pattern[n:]

    # --- navigational status
    nav = np.full(2 * n, -1, dtype=np.int64)
    if n and status is not None:  # vessels outside a shared index: indexed here
        nav = _nav_status(status, p_mmsi, p_s, p_e)
        rest = p_mmsi >= 0
        if status.vessels is not None:
            rest &= ~np.isin(p_mmsi, status.vessels)
        else:
            rest[:] = False
        if rest.any() and has_status(positions):
            nav[rest] = _nav_status(StatusIndex(positions, p_mmsi[rest]), p_mmsi[rest],
                                    p_s[rest], p_e[rest])
    elif n and has_status(positions):
        nav = _nav_status(StatusIndex(positions, p_mmsi[p_mmsi >= 0]), p_mmsi, p_s, p_e)
    nav[n:][~has_b] = -1
    for col, part in (("nav_status", nav[:n]), ("other_nav_status", nav[n:])):
        new[col] = pd.arrays.IntegerArray(np.maximum(part, 0).astype(np.int64), part < 0)

    # --- anchorages and ports
    area_id = np.full(n, None, dtype=object)
    area_kind = np.full(n, None, dtype=object)
    area_dist = np.full(n, np.nan)
    area_nv = np.zeros(n, dtype=np.int64)
    area_src = np.full(n, None, dtype=object)
    if anchorages is not None and len(anchorages) and n:
        import shapely

        geoms = anchorages.geometry.to_numpy()
        tree = shapely.STRtree(geoms)
        ok = np.flatnonzero(np.isfinite(lat) & np.isfinite(lon))
        pts = shapely.points(lon[ok], lat[ok])
        inside = tree.query(pts, predicate="intersects")
        pick = np.full(ok.size, -1, dtype=np.int64)
        is_in = np.zeros(ok.size, dtype=bool)
        out_pts = np.ones(ok.size, dtype=bool)
        out_pts[inside[0]] = False
        if out_pts.any():  # the nearest area of points outside all, within about 55 km
            near = tree.query_nearest(pts[out_pts], max_distance=0.5, all_matches=False)
            pick[np.flatnonzero(out_pts)[near[0]]] = near[1]
        if inside.shape[1]:
            # inside several areas (a supplied port around a learned berth): the smallest
            area = anchorages["area_km2"].fillna(np.inf).to_numpy(float) if "area_km2" in \
                anchorages.columns else np.zeros(len(anchorages))
            o = np.lexsort((area[inside[1]], inside[0]))
            first = np.ones(o.size, bool)
            first[1:] = inside[0][o][1:] != inside[0][o][:-1]
            pick[inside[0][o][first]] = inside[1][o][first]
            is_in[inside[0][o][first]] = True
        g = pick >= 0
        dist = np.zeros(int(g.sum()))
        far = ~is_in[g]  # the distance to the outline, for points outside only
        if far.any():
            line = shapely.shortest_line(pts[g][far], geoms[pick[g][far]])
            c = shapely.get_coordinates(line).reshape(-1, 2, 2)
            dist[far] = haversine_m(c[:, 0, 1], c[:, 0, 0], c[:, 1, 1], c[:, 1, 0])
        rows = ok[g]
        area_dist[rows] = dist
        area_id[rows] = anchorages["anchorage_id"].to_numpy(dtype=object)[pick[g]]
        area_kind[rows] = anchorages["kind"].to_numpy(dtype=object)[pick[g]]
        area_src[rows] = anchorages["source"].to_numpy(dtype=object)[pick[g]]
        area_nv[rows] = anchorages["n_vessels"].to_numpy(np.int64)[pick[g]]
    new["anchorage_id"] = area_id
    new["anchorage_kind"] = area_kind
    new["anchorage_distance_m"] = area_dist
    new["visit"], new["other_visit"] = pa, np.where(has_b, pb, None).astype(object)

    # --- draught and destination from the statics history
    d_before = np.full(2 * n, np.nan)
    d_after = np.full(2 * n, np.nan)
    dest_before = np.full(2 * n, None, dtype=object)
    dest_after = np.full(2 * n, None, dtype=object)
    if statics is not None and len(statics) and n:
        st_t = epoch_ns(statics["time"])
        drt = pd.to_numeric(statics["draught_m"], errors="coerce").to_numpy(float)
        have = np.isfinite(drt) & (st_t != _NAT)
        if have.any():
            ser = _Series(statics["mmsi"].to_numpy(np.int64)[have], st_t[have])
            dv = drt[have]
            k1, k2 = _around(ser, st_t[have], p_mmsi, p_s, p_e)
            d_before = np.where(k1 >= 0, dv[np.maximum(k1, 0)], np.nan)
            d_after = np.where(k2 >= 0, dv[np.maximum(k2, 0)], np.nan)
        dest = statics["destination"].astype("string").str.strip().str.upper()
        have = dest.notna().to_numpy() & (dest != "").fillna(False).to_numpy() \
            & (st_t != _NAT)
        if have.any():
            ser = _Series(statics["mmsi"].to_numpy(np.int64)[have], st_t[have])
            dv = dest.to_numpy(dtype=object)[have]
            k1, k2 = _around(ser, st_t[have], p_mmsi, p_s, p_e)
            dest_before = np.where(k1 >= 0, dv[np.maximum(k1, 0)], None).astype(object)
            dest_after = np.where(k2 >= 0, dv[np.maximum(k2, 0)], None).astype(object)
    for prefix, sl in (("", slice(0, n)), ("other_", slice(n, 2 * n))):
        new[f"{prefix}draught_before_m"] = d_before[sl]
        new[f"{prefix}draught_after_m"] = d_after[sl]
    new["destination_before"], new["destination_after"] = dest_before[:n], dest_after[:n]
    new["other_destination_before"] = dest_before[n:]
    new["other_destination_after"] = dest_after[n:]
    # the events' other columns in their order, then the context columns (replacing any the
    # events had): one concatenation, not sixteen column insertions (each re-making the
    # frame's column index)
    out = pd.concat([out.drop(columns=[c for c in CONTEXT_COLUMNS if c in out.columns]),
                     pd.DataFrame({c: new[c] for c in CONTEXT_COLUMNS}, index=out.index)],
                    axis=1)

    # --- tokens and their reasons, through the one evidence mechanism (stsdetect.flags)
    in_area = area_dist == 0.0
    kind = pd.Series(area_kind, dtype=object)
    anchorage = in_area & (kind == "anchorage").to_numpy()
    berth = in_area & kind.isin(["berth", "port"]).to_numpy()
    area_reason = json_where(anchorage | berth, anchorage_id=area_id, kind=area_kind,
                             source=area_src, n_vessels=area_nv)
    ev.add("anchorage", anchorage, area_reason)
    ev.add("port", berth, area_reason)
    # port by status: every participant with a known status reports "moored" (5)
    moored = nav == 5
    all_moored = ~berth & ((moored[:n] & (moored[n:] | (nav[n:] < 0)))
                           | (moored[n:] & (nav[:n] < 0)))
    moored_reason = json_where(moored & np.concatenate((all_moored, all_moored)),
                               vessel=p_mmsi, nav_status=nav)
    ev.add_participants("port", all_moored & moored[:n], moored_reason[:n],
                        all_moored & moored[n:], moored_reason[n:])
    crowded = crowd >= crowd_min
    ev.add("crowded", crowded, json_where(crowded, n_stopped_within_m=crowd,
                                           radius_m=float(crowd_radius_m)))
    for token in ("residence", "visit"):  # every participant has the pattern
        both = (pa == token) & np.where(has_b, pb == token, True)
        on = np.concatenate((both, both & has_b))
        text = json_where(on, vessel=p_mmsi, stopped_h_before=np.round(arr_h, 1),
                          stayed_h_after=np.round(left_h, 1))
        ev.add_participants(token, on[:n], text[:n], on[n:], text[n:])
    changed = np.abs(d_after - d_before) >= draught_change_m - 1e-9
    changed[n:] &= has_b
    text = json_where(changed, vessel=p_mmsi, before_m=np.round(d_before, 1),
                      after_m=np.round(d_after, 1))
    ev.add_participants("draught_change", changed[:n], text[:n], changed[n:], text[n:])
    changed = pd.notna(dest_before) & pd.notna(dest_after) & (dest_before != dest_after)
    changed[n:] &= has_b
    text = json_where(changed, vessel=p_mmsi, before=dest_before, after=dest_after)
    ev.add_participants("destination_change", changed[:n], text[:n], changed[n:], text[n:])
    return out if evidence is not None else ev.finish(out)
