"""Context on every event: crowd, navigational status, anchorage or port, visit pattern, draught.

:func:`add_context` appends the context columns (contract C3: the vessel's, then its partner's
with an ``other_`` prefix) and sets the context tokens with their reasons in the ``evidence``
column (contract C4: JSON text mapping each token to its reason). Columns:

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

from stsdetect.context.stops import find_stops
from stsdetect.geo import (
    EARTH_RADIUS_M,
    arc_to_chord_m,
    duration_s,
    epoch_s,
    haversine_m,
    unit_xyz,
)

__all__ = ["CONTEXT_COLUMNS", "CONTEXT_TOKENS", "ORDINARY_TOKENS", "add_context",
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

#: Tokens that mark ordinary port life: the CLI and the report list such events last.
ORDINARY_TOKENS = ("anchorage", "port")


class _Series:
    """Rows keyed by (mmsi, time) for "last at or before" / "first at or after" look-ups.

    One composite float key per row, ``rank(mmsi) * span + (t - t0)``, sorted: a query is a
    :func:`numpy.searchsorted`. Rows already in time order (a receiver's log, the statics
    history) need only a stable sort by MMSI.
    """

    def __init__(self, mmsi, t):
        mmsi = np.asarray(mmsi, dtype=np.int64)
        t = np.asarray(t, dtype=float)
        rows = np.flatnonzero(np.isfinite(t))
        mm, tt = mmsi[rows], t[rows]
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
        self.t0 = ts.min() if ts.size else 0.0
        self.span = (ts.max() - self.t0 + 1.0) * 4.0 + 1e6 if ts.size else 1.0
        self.key = cs * self.span + (ts - self.t0)
        self.rows = rows[order]

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
        q_t = np.asarray(q_t, float)
        ok = found & np.isfinite(q_t)
        k = np.searchsorted(self.key, base + (np.where(ok, q_t, self.t0) - self.t0),
                            side="right") - 1
        good = ok & (k >= 0) & (k >= np.searchsorted(self.key, base, side="left"))
        return np.where(good, self.rows[np.maximum(k, 0)] if self.rows.size else -1, -1)

    def first_at_or_after(self, q_mmsi, q_t):
        """Row of the first record of each query's MMSI at or after its time (-1 if none)."""
        base, found = self._qkey(q_mmsi, q_t)
        q_t = np.asarray(q_t, float)
        ok = found & np.isfinite(q_t)
        k = np.searchsorted(self.key, base + (np.where(ok, q_t, self.t0) - self.t0),
                            side="left")
        end = np.searchsorted(self.key, base + self.span, side="left")
        good = ok & (k < end) & (k < self.key.size)
        return np.where(good, self.rows[np.minimum(k, max(self.key.size - 1, 0))]
                        if self.rows.size else -1, -1)

    def count_between(self, q_mmsi, lo, hi):
        """(first, end) positions in the sorted keys of each query's MMSI with lo <= t <= hi."""
        base, found = self._qkey(q_mmsi, lo)
        lo, hi = np.asarray(lo, float), np.asarray(hi, float)
        ok = found & np.isfinite(lo) & np.isfinite(hi)
        a = np.searchsorted(self.key, base + (np.where(ok, lo, self.t0) - self.t0), side="left")
        b = np.searchsorted(self.key, base + (np.where(ok, hi, self.t0) - self.t0), side="right")
        return np.where(ok, a, 0), np.where(ok, b, 0)


def status_counts(positions: pd.DataFrame, q_mmsi, q_lo, q_hi, index=None):
    """Per query (MMSI, time range): reports with a known status, at anchor (1), moored (5).

    Status 15 (not defined, also what Class B units carry) counts as unknown.
    """
    idx = index if index is not None else _status_index(positions, q_mmsi)
    series, csum, _ = idx
    a, b = series.count_between(np.asarray(q_mmsi, np.int64), q_lo, q_hi)
    return tuple(c[b] - c[a] for c in csum)


def _status_index(positions: pd.DataFrame, mmsi=None):
    """Sorted nav-status counts of the positions (of the vessels ``mmsi`` only, if given)."""
    pos_mmsi = positions["mmsi"].to_numpy(np.int64)
    rows = None
    if mmsi is not None:
        rows = np.flatnonzero(pd.Index(np.unique(mmsi)).get_indexer(pos_mmsi) >= 0)
        pos_mmsi = pos_mmsi[rows]
    times = positions["time"]
    status = positions["nav_status"]
    if rows is not None:
        times, status = times.iloc[rows], status.iloc[rows]
    series = _Series(pos_mmsi, epoch_s(times))
    st = pd.to_numeric(status, errors="coerce").to_numpy(float)[series.rows]
    known = np.isfinite(st) & (st != 15)
    csum = [np.concatenate(([0], np.cumsum(x, dtype=np.int64)))
            for x in (known, st == 1, st == 5)]
    return series, csum, st


def _nav_status(positions, p_mmsi, s, e):
    """Status of most reports of each participant during [s, e], else the one nearest the middle."""
    out = np.full(p_mmsi.size, -1, dtype=np.int64)
    if positions is None or not len(positions) or "nav_status" not in positions.columns:
        return out
    series, csum, st = _status_index(positions, p_mmsi[p_mmsi >= 0])
    a, b = series.count_between(p_mmsi, s, e)
    known, n1, n5 = (c[b] - c[a] for c in csum)
    out[(2 * n1 > known) & (known > 0)] = 1
    out[(2 * n5 > known) & (known > 0)] = 5
    rest = (out < 0) & (b > a)
    if rest.any():
        mid = (a[rest] + b[rest] - 1) // 2
        v = st[mid]
        out[rest] = np.where(np.isfinite(v) & (v != 15), v, -1).astype(np.int64)
    return out


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


def _json_num(x: np.ndarray, digits: int = 2) -> np.ndarray:
    x = np.asarray(x, dtype=float)
    txt = np.round(x, digits).astype(str).astype(object)
    return np.where(np.isfinite(x), txt, "null").astype(object)


def _json_str(x) -> np.ndarray:
    s = pd.Series(np.asarray(x, dtype=object), dtype=object)
    missing = s.isna().to_numpy()
    esc = s.where(~missing, "").astype(str).str.replace("\\", "\\\\", regex=False) \
        .str.replace('"', '\\"', regex=False).str.replace(r"[\x00-\x1f]", " ", regex=True)
    return np.where(missing, "null", '"' + esc.to_numpy(dtype=object) + '"').astype(object)


def _pair_json(key: str, a: np.ndarray, b: np.ndarray, has_b: np.ndarray) -> np.ndarray:
    """``"key": [a, b]`` or ``"key": [a]`` per row (a, b: JSON literal texts)."""
    return np.where(has_b, f'"{key}": [' + a + ", " + b + "]", f'"{key}": [' + a + "]") \
        .astype(object)


def _evidence_write(out: pd.DataFrame, tokens: dict, reasons: dict) -> pd.DataFrame:
    """Merge tokens into ``flags`` and reasons into ``evidence`` (C4, minimal form)."""
    n = len(out)
    flags = out["flags"].to_numpy(dtype=object) if "flags" in out.columns else \
        np.empty(0, dtype=object)
    joined = np.full(n, "", dtype=object)
    for name in sorted(tokens):  # a few token kinds, each whole-array
        r = np.where(tokens[name], reasons[name], "").astype(object)
        item = f'"{name}": ' + r
        joined = np.where(r != "", np.where(joined != "", joined + ", " + item, item), joined)
    old = out["evidence"].astype(object).to_numpy() if "evidence" in out.columns else \
        np.full(n, "{}", dtype=object)
    old = np.where(pd.isna(old) | (old == ""), "{}", old).astype(object)
    inner = pd.Series(old, dtype=object).str.slice(1, -1).str.strip().to_numpy(dtype=object)
    merged = np.where((inner != "") & (joined != ""), inner + ", " + joined,
                      np.where(joined != "", joined, inner))
    out["evidence"] = ("{" + merged + "}").astype(object)
    # flags: existing tokens become boolean columns too, then one sorted join per token kind
    have = {name: np.asarray(mask, dtype=bool).copy() for name, mask in tokens.items()}
    long = pd.Series(flags, index=np.arange(flags.size), dtype=object).explode().dropna()
    long = long[long.astype(str) != ""]
    for name, rows_with in pd.Series(long.index, index=long.to_numpy()).groupby(level=0):
        mask = have.get(name, np.zeros(n, dtype=bool))  # per distinct token, not per event
        mask[rows_with.to_numpy(np.int64)] = True
        have[name] = mask
    sep = "\x1f"
    joined_f = np.full(n, "", dtype=object)
    for name in sorted(have):  # a few token kinds, each whole-array
        m = have[name]
        joined_f = np.where(m & (joined_f != ""), joined_f + sep + name,
                            np.where(m, name, joined_f))
    new_flags = pd.Series(joined_f, dtype=object).str.findall(f"[^{sep}]+")
    out["flags"] = new_flags.to_numpy(dtype=object)
    return out


def add_context(events: pd.DataFrame, tracks=None, anchorages=None, positions=None,
                statics=None, stops=None, crowd_radius_m: float = 2000.0, crowd_min: int = 5,
                visit_window="6h", draught_change_m: float = 0.5) -> pd.DataFrame:
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

    Returns
    -------
    pandas.DataFrame
        A copy of ``events`` with :data:`CONTEXT_COLUMNS` appended (replaced if present),
        ``flags`` and ``evidence`` extended.
    """
    window_s = duration_s(visit_window)
    out = events.copy().reset_index(drop=True)
    n = len(out)
    a_mmsi = pd.to_numeric(out["mmsi"], errors="coerce").fillna(-1).to_numpy(np.int64)
    b_mmsi = pd.to_numeric(out["other_mmsi"], errors="coerce").fillna(-1).to_numpy(np.int64)
    has_b = b_mmsi >= 0
    s = epoch_s(out["start"]) if n else np.zeros(0)
    e = epoch_s(out["end"]) if n else np.zeros(0)
    lat = pd.to_numeric(out["lat"], errors="coerce").to_numpy(float)
    lon = pd.to_numeric(out["lon"], errors="coerce").to_numpy(float)
    p_mmsi = np.concatenate((a_mmsi, b_mmsi))
    p_s, p_e = np.concatenate((s, s)), np.concatenate((e, e))
    tokens, reasons = {}, {}

    # --- stops: crowd and visit pattern
    if stops is None and tracks is not None:
        stops = find_stops(tracks)
    crowd = np.zeros(n, dtype=np.int64)
    pattern = np.full(2 * n, "moving", dtype=object)
    arr_h = np.full(2 * n, np.nan)
    left_h = np.full(2 * n, np.nan)
    if stops is not None and len(stops) and n:
        from scipy.spatial import cKDTree

        st_mmsi = stops["mmsi"].to_numpy(np.int64)
        st_s, st_e = stops["start_s"].to_numpy(float), stops["end_s"].to_numpy(float)
        ok = np.isfinite(lat) & np.isfinite(lon)
        ev_rows = np.flatnonzero(ok)
        tree_s = cKDTree(unit_xyz(stops["lat"].to_numpy(), stops["lon"].to_numpy()))
        tree_e = cKDTree(unit_xyz(lat[ok], lon[ok]))
        chord = arc_to_chord_m(crowd_radius_m) / EARTH_RADIUS_M
        pairs = tree_e.sparse_distance_matrix(tree_s, chord, output_type="ndarray")
        ei, si = ev_rows[pairs["i"]], pairs["j"]
        keep = (st_s[si] < e[ei]) & (st_e[si] > s[ei]) & (st_mmsi[si] != a_mmsi[ei]) \
            & (st_mmsi[si] != b_mmsi[ei])
        uniq = pd.DataFrame({"e": ei[keep], "m": st_mmsi[si[keep]]}).drop_duplicates()
        crowd = np.bincount(uniq["e"].to_numpy(np.int64), minlength=n)[:n].astype(np.int64)
        # each participant's stop covering the event's middle
        series = _Series(st_mmsi, st_s)
        mid = (p_s + p_e) / 2.0
        k = series.last_at_or_before(p_mmsi, mid)
        found = (k >= 0) & (p_mmsi >= 0)
        kk = np.maximum(k, 0)
        found &= st_e[kk] >= mid
        arrived = found & stops["arrived"].to_numpy(bool)[kk]
        departed = found & stops["departed"].to_numpy(bool)[kk]
        arr_h = np.where(found, (p_s - st_s[kk]) / 3600.0, np.nan)
        left_h = np.where(found, (st_e[kk] - p_e) / 3600.0, np.nan)
        came = arrived & (p_s - st_s[kk] <= window_s)
        went = departed & (st_e[kk] - p_e <= window_s)
        pattern = np.where(~found, "moving", np.where(came & went, "visit", np.where(
            came, "arrival", np.where(went, "departure", "residence")))).astype(object)
    pattern[p_mmsi < 0] = None
    out["crowd_n"] = pd.array(crowd, dtype="Int64")
    pa, pb = pattern[:n], pattern[n:]

    # --- navigational status
    nav = _nav_status(positions, p_mmsi, p_s, p_e) if n else np.zeros(0, np.int64)
    nav_a = pd.array(np.where(nav[:n] >= 0, nav[:n], 0), dtype="Int64")
    nav_a[nav[:n] < 0] = pd.NA
    nav_b = pd.array(np.where(nav[n:] >= 0, nav[n:], 0), dtype="Int64")
    nav_b[(nav[n:] < 0) | ~has_b] = pd.NA
    out["nav_status"], out["other_nav_status"] = nav_a, nav_b

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
        line = shapely.shortest_line(pts[g], geoms[pick[g]])
        c = shapely.get_coordinates(line).reshape(-1, 2, 2)
        dist = haversine_m(c[:, 0, 1], c[:, 0, 0], c[:, 1, 1], c[:, 1, 0])
        rows = ok[g]
        area_dist[rows] = np.where(is_in[g], 0.0, dist)
        area_id[rows] = anchorages["anchorage_id"].to_numpy(dtype=object)[pick[g]]
        area_kind[rows] = anchorages["kind"].to_numpy(dtype=object)[pick[g]]
        area_src[rows] = anchorages["source"].to_numpy(dtype=object)[pick[g]]
        area_nv[rows] = anchorages["n_vessels"].to_numpy(np.int64)[pick[g]]
    out["anchorage_id"] = area_id
    out["anchorage_kind"] = area_kind
    out["anchorage_distance_m"] = area_dist
    out["visit"], out["other_visit"] = pa, np.where(has_b, pb, None).astype(object)

    # --- draught and destination from the statics history
    d_before = np.full(2 * n, np.nan)
    d_after = np.full(2 * n, np.nan)
    dest_before = np.full(2 * n, None, dtype=object)
    dest_after = np.full(2 * n, None, dtype=object)
    if statics is not None and len(statics) and n:
        st_t = epoch_s(statics["time"])
        drt = pd.to_numeric(statics["draught_m"], errors="coerce").to_numpy(float)
        have = np.isfinite(drt) & np.isfinite(st_t)
        if have.any():
            ser = _Series(statics["mmsi"].to_numpy(np.int64)[have], st_t[have])
            dv = drt[have]
            k1, k2 = _around(ser, st_t[have], p_mmsi, p_s, p_e)
            d_before = np.where(k1 >= 0, dv[np.maximum(k1, 0)], np.nan)
            d_after = np.where(k2 >= 0, dv[np.maximum(k2, 0)], np.nan)
        dest = statics["destination"].astype("string").str.strip().str.upper()
        have = dest.notna().to_numpy() & (dest != "").fillna(False).to_numpy() \
            & np.isfinite(st_t)
        if have.any():
            ser = _Series(statics["mmsi"].to_numpy(np.int64)[have], st_t[have])
            dv = dest.to_numpy(dtype=object)[have]
            k1, k2 = _around(ser, st_t[have], p_mmsi, p_s, p_e)
            dest_before = np.where(k1 >= 0, dv[np.maximum(k1, 0)], None).astype(object)
            dest_after = np.where(k2 >= 0, dv[np.maximum(k2, 0)], None).astype(object)
    for prefix, sl in (("", slice(0, n)), ("other_", slice(n, 2 * n))):
        out[f"{prefix}draught_before_m"] = d_before[sl]
        out[f"{prefix}draught_after_m"] = d_after[sl]
    out["destination_before"], out["destination_after"] = dest_before[:n], dest_after[:n]
    out["other_destination_before"] = dest_before[n:]
    out["other_destination_after"] = dest_after[n:]
    order = [c for c in out.columns if c not in CONTEXT_COLUMNS] + CONTEXT_COLUMNS
    out = out[order]

    # --- tokens and their reasons
    mm_a = a_mmsi.astype(str).astype(object)
    mm_b = b_mmsi.astype(str).astype(object)
    mm_pair = np.where(has_b, "[" + mm_a + ", " + mm_b + "]", "[" + mm_a + "]")
    in_area = area_dist == 0.0
    kind = pd.Series(area_kind, dtype=object)
    area_obj = ('{"anchorage_id": ' + _json_str(area_id) + ', "kind": '
                + _json_str(area_kind) + ', "source": ' + _json_str(area_src)
                + ', "n_vessels": ' + area_nv.astype(str).astype(object) + "}")
    tokens["anchorage"] = in_area & (kind == "anchorage").to_numpy()
    reasons["anchorage"] = area_obj
    moored_a = nav[:n] == 5 if n else np.zeros(0, bool)
    moored_b = nav[n:] == 5 if n else np.zeros(0, bool)
    known_b = has_b & (nav[n:] >= 0) if n else np.zeros(0, bool)
    all_moored = moored_a & (moored_b | ~known_b) | (moored_b & (nav[:n] < 0))
    berth = in_area & kind.isin(["berth", "port"]).to_numpy()
    tokens["port"] = berth | all_moored
    reasons["port"] = np.where(berth, area_obj, '{"nav_status": 5, "mmsi": ' + mm_pair + "}")
    tokens["crowded"] = crowd >= crowd_min
    reasons["crowded"] = ('{"n_stopped_within_m": ' + crowd.astype(str).astype(object)
                          + f', "radius_m": {crowd_radius_m:g}' + "}")
    for token in ("residence", "visit"):
        ok_a = pa == token
        ok_b = np.where(has_b, pb == token, True)
        tokens[token] = ok_a & ok_b
        reasons[token] = ("{" + '"mmsi": ' + mm_pair + ", "
                          + _pair_json("stopped_h_before", _json_num(arr_h[:n], 1),
                                       _json_num(arr_h[n:], 1), has_b)
                          + ", " + _pair_json("stayed_h_after", _json_num(left_h[:n], 1),
                                              _json_num(left_h[n:], 1), has_b) + "}")
    change = np.abs(d_after - d_before) >= draught_change_m - 1e-9
    ch_a, ch_b = change[:n], change[n:] & has_b
    which = np.where(ch_a, 0, n + np.arange(n)) if n else np.zeros(0, np.int64)
    which = np.where(ch_a, np.arange(n), which)
    tokens["draught_change"] = ch_a | ch_b
    reasons["draught_change"] = ('{"vessel": ' + p_mmsi[which].astype(str).astype(object)
                                 + ', "before_m": ' + _json_num(d_before[which], 1)
                                 + ', "after_m": ' + _json_num(d_after[which], 1) + "}")
    dchg = pd.notna(dest_before) & pd.notna(dest_after) & (dest_before != dest_after)
    dc_a, dc_b = dchg[:n], dchg[n:] & has_b
    which = np.where(dc_a, np.arange(n), n + np.arange(n)) if n else np.zeros(0, np.int64)
    tokens["destination_change"] = dc_a | dc_b
    reasons["destination_change"] = ('{"vessel": ' + p_mmsi[which].astype(str).astype(object)
                                     + ', "before": ' + _json_str(dest_before[which])
                                     + ', "after": ' + _json_str(dest_after[which]) + "}")
    if n == 0:
        out["evidence"] = pd.Series([], dtype=object)
        return out
    return _evidence_write(out, tokens, reasons)
