"""What each vessel did over the whole data, in one row: the input of the barge rules and the
handover link.

Per MMSI: its first and last cleaned report (time and place), the seconds it spent at
:data:`~stsdetect.identity.barges.SEA_SPEED_KN` or more, and the span of its raw reports.
:func:`vessel_activity` computes it in one pass over the tracks (already sorted by MMSI and
time: no sort, no pandas round trip), so the flags need not walk the tracks twice; a windowed
or Dask run computes it per window over the window's core and :func:`merge_activity` joins the
windows exactly, so the flags see the same figures as a single in-memory run.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

__all__ = ["ACTIVITY_COLUMNS", "merge_activity", "vessel_activity"]

#: Columns of the activity table -> dtype. ``t_first_ns``/``t_last_ns`` and the positions of the
#: first and last cleaned report (NaT-like ``-1`` and NaN when the vessel has no cleaned
#: report); ``sea_s``: seconds at sea speed (each such report counts the time to the vessel's
#: next report, at most ``SEA_GAP_CAP_S``); ``tail_s``: what the last report of a window's core
#: adds once a later window shows the vessel again (windowed runs; 0 otherwise);
#: ``pos_first_ns``/``pos_last_ns``: first and last raw report (-1 when unknown).
ACTIVITY_COLUMNS = {
    "mmsi": "int64", "t_first_ns": "int64", "lat_first": "float64", "lon_first": "float64",
    "t_last_ns": "int64", "lat_last": "float64", "lon_last": "float64", "sea_s": "float64",
    "tail_s": "float64", "pos_first_ns": "int64", "pos_last_ns": "int64",
}

_NONE = -1  # no time known (no real report is stamped 1969-12-31T23:59:59.999999999)


def _empty() -> pd.DataFrame:
    return pd.DataFrame({c: np.zeros(0, d) for c, d in ACTIVITY_COLUMNS.items()})


def _track_part(tracks, a_ns, b_ns) -> pd.DataFrame:
    from stsdetect._order import sea_steps
    from stsdetect.identity.barges import SEA_GAP_CAP_S, SEA_SPEED_KN
    from stsdetect.tracks import _read_only

    m, t = tracks.mmsi, tracks.time_ns
    sm = tracks.segment_mmsi
    split = sm.size > 1 and bool(np.any(sm[1:] == sm[:-1]))
    if split:  # a split MMSI: order by time (read-only, as a Tracks' columns: the compiled
        # pass has one specialisation to load whichever way it is reached)
        order = np.lexsort((t, m))
        m, t = _read_only(m[order]), _read_only(t[order])
        lat, lon, sog = (_read_only(x[order])
                         for x in (tracks.lat_deg, tracks.lon_deg, tracks.sog_kn))
    else:  # rows are already sorted by (mmsi, time)
        lat, lon, sog = tracks.lat_deg, tracks.lon_deg, tracks.sog_kn
    # seconds to the vessel's next report, where the report is at sea speed (one pass)
    sea = sea_steps(m, t, sog, float(SEA_SPEED_KN), float(SEA_GAP_CAP_S))
    if a_ns is None and not split:  # every row, one segment per MMSI: the segments' offsets
        start = tracks.offsets[:-1]
        return pd.DataFrame({
            "mmsi": sm, "t_first_ns": t[start], "lat_first": lat[start],
            "lon_first": lon[start], "t_last_ns": t[tracks.offsets[1:] - 1],
            "lat_last": lat[tracks.offsets[1:] - 1], "lon_last": lon[tracks.offsets[1:] - 1],
            "sea_s": np.add.reduceat(sea, start), "tail_s": np.zeros(start.size)})
    if not split:  # one segment per MMSI, each sorted by time: its core rows are one run
        return _core_part(tracks, sea, a_ns, b_ns)
    return _masked_part(m, t, lat, lon, sog, sea, a_ns, b_ns)


def _masked_part(m, t, lat, lon, sog, sea, a_ns, b_ns) -> pd.DataFrame:
    """:func:`_track_part` of rows sorted by (MMSI, time), in general: the core's rows
    masked, grouped by MMSI."""
    from stsdetect.identity.barges import SEA_GAP_CAP_S, SEA_SPEED_KN

    n = m.size
    same = m[1:] == m[:-1]
    fast = sog >= SEA_SPEED_KN  # NaN is not fast
    last_of = np.ones(n, dtype=bool)
    last_of[:-1] = ~same
    core = np.ones(n, dtype=bool) if a_ns is None else (t >= a_ns) & (t < b_ns)
    tail = np.zeros(n)
    if a_ns is not None:
        # the last loaded report of a vessel, in the core: its next report, if any, lies
        # beyond the margin (longer than the cap), so it adds the cap once a later window
        # shows the vessel
        tail = np.where(last_of & core & fast, SEA_GAP_CAP_S, 0.0)
    rows = np.flatnonzero(core)
    if rows.size == 0:
        return _empty()
    mc = m[rows]
    start = np.flatnonzero(np.r_[True, mc[1:] != mc[:-1]])
    first, last = rows[start], rows[np.r_[start[1:], rows.size] - 1]
    return pd.DataFrame({
        "mmsi": m[first], "t_first_ns": t[first], "lat_first": lat[first],
        "lon_first": lon[first], "t_last_ns": t[last], "lat_last": lat[last],
        "lon_last": lon[last], "sea_s": np.add.reduceat(sea[rows], start),
        "tail_s": np.add.reduceat(tail[rows], start),
    })


def _core_part(tracks, sea, a_ns: int, b_ns: int) -> pd.DataFrame:
    """:func:`_track_part` of a window's core ``[a_ns, b_ns)`` when each MMSI is one segment
    sorted by time: each segment's core rows are the run ``[lo, hi)`` found by counting its
    rows before ``a_ns`` and before ``b_ns``, and the sums are one ``reduceat`` over those
    runs of the same values in the same order as :func:`_masked_part`'s (so equal to the
    bit), without its passes over every row for the mask, the groups and the gathers."""
    from stsdetect.identity.barges import SEA_GAP_CAP_S, SEA_SPEED_KN

    t, off = tracks.time_ns, tracks.offsets
    start = off[:-1]
    lo = start + np.add.reduceat((t < a_ns).view(np.int8), start, dtype=np.int64)
    hi = start + np.add.reduceat((t < b_ns).view(np.int8), start, dtype=np.int64)
    keep = hi > lo
    if not keep.any():
        return _empty()
    lo, hi, end = lo[keep], hi[keep], off[1:][keep]
    first, last = lo, hi - 1
    lat, lon = tracks.lat_deg, tracks.lon_deg
    # runs [lo, hi) interleaved with the gaps between them; the gaps' sums are dropped
    bounds = np.empty(2 * lo.size, np.int64)
    bounds[0::2], bounds[1::2] = lo, hi
    padded = np.append(sea, 0.0)  # a run may end at the last row
    sea_s = np.add.reduceat(padded, bounds)[0::2]
    # the vessel's last loaded report, in the core and at sea speed: its next report lies
    # beyond the margin, so it adds the cap once a later window shows the vessel (as the
    # general path's tail)
    tail = np.where((hi == end) & (tracks.sog_kn[last] >= SEA_SPEED_KN), SEA_GAP_CAP_S, 0.0)
    return pd.DataFrame({
        "mmsi": tracks.segment_mmsi[keep], "t_first_ns": t[first], "lat_first": lat[first],
        "lon_first": lon[first], "t_last_ns": t[last], "lat_last": lat[last],
        "lon_last": lon[last], "sea_s": sea_s, "tail_s": tail,
    })


def _position_part(positions, a_ns, b_ns) -> pd.DataFrame:
    from stsdetect._order import vessel_codes
    from stsdetect.geo import epoch_ns
    from stsdetect.tracks import spans_frame

    t = positions["time"]
    if not (isinstance(t.dtype, pd.DatetimeTZDtype) or t.dtype.kind == "M"):
        t = pd.to_datetime(t, utc=True, errors="coerce")
    ns = epoch_ns(t, copy=False)  # read-only, like the cleaning's (one specialisation)
    raw = positions["mmsi"]
    if isinstance(raw.dtype, np.dtype) and raw.dtype.kind in "iu":  # integers: as they are
        mmsi = raw.to_numpy().astype(np.int64, copy=False)
        skip = np.zeros(0, dtype=bool)
    else:
        mmsi_f = pd.to_numeric(raw, errors="coerce").to_numpy(dtype=float)
        skip = ~np.isfinite(mmsi_f)
        mmsi = np.where(skip, 0.0, mmsi_f).astype(np.int64)
    if a_ns is not None:
        out = (ns < a_ns) | (ns >= b_ns)
        skip = out if skip.size == 0 else skip | out
    # per MMSI (hashed to codes in one compiled pass), the earliest and latest time; the
    # unused coordinates read-only like the cleaning's, so both calls share one compiled
    # specialisation (each one costs a few ms to load in a fresh process)
    none = np.zeros(0)
    none.flags.writeable = False
    _, uniq, _, first, last, _, _, _ = vessel_codes(
        np.ascontiguousarray(mmsi), np.ascontiguousarray(ns), skip, True, none, none, False)
    return spans_frame(uniq, first, last)  # (the cleaning's table: tracks.heard_spans)


def _positions_as_tracks_part(positions) -> pd.DataFrame:
    """Sea seconds from raw positions (no tracks given): rows ordered by MMSI and time."""
    from stsdetect.identity.barges import SEA_GAP_CAP_S, SEA_SPEED_KN

    if "sog_kn" not in positions:
        return _empty()
    ns = pd.DatetimeIndex(pd.to_datetime(positions["time"], utc=True, errors="coerce")) \
        .as_unit("ns").asi8
    ok = ns != np.iinfo(np.int64).min
    m = positions["mmsi"].to_numpy(dtype=np.int64)[ok]
    t = ns[ok]
    v = pd.to_numeric(positions["sog_kn"], errors="coerce").to_numpy(dtype=float)[ok]
    order = np.lexsort((t, m))
    m, t, v = m[order], t[order], v[order]
    if m.size == 0:
        return _empty()
    same = m[1:] == m[:-1]
    dt = np.zeros(m.size)
    dt[:-1] = np.where(same, np.clip((t[1:] - t[:-1]) / 1e9, 0.0, SEA_GAP_CAP_S), 0.0)
    start = np.flatnonzero(np.r_[True, ~same])
    sea = np.add.reduceat(np.where(v >= SEA_SPEED_KN, dt, 0.0), start)
    k = start.size
    return pd.DataFrame({"mmsi": m[start], "t_first_ns": np.full(k, _NONE),
                         "lat_first": np.full(k, np.nan), "lon_first": np.full(k, np.nan),
                         "t_last_ns": np.full(k, _NONE), "lat_last": np.full(k, np.nan),
                         "lon_last": np.full(k, np.nan), "sea_s": sea, "tail_s": np.zeros(k)})


def vessel_activity(tracks=None, positions: pd.DataFrame | None = None, core=None,
                    heard: pd.DataFrame | None = None) -> pd.DataFrame:
    """One row per MMSI: first and last cleaned report, seconds at sea speed, raw span.

    Parameters
    ----------
    tracks : stsdetect.tracks.Tracks, optional
        Cleaned tracks. Without them the sea seconds come from the raw ``positions`` (as the
        barge rules did before) and the first/last reports are unknown.
    positions : pandas.DataFrame, optional
        The raw positions table (``mmsi``, ``time``; ``sog_kn``), for the span of the raw
        reports (a vessel whose every report was dropped by the cleaning was still heard).
    core : tuple of int, optional
        ``(a_ns, b_ns)``: count only reports in this window core (a windowed run; the rows
        outside it are the window's margins). The whole input when None.
    heard : pandas.DataFrame, optional
        The raw span of ``positions`` when already known: ``mmsi``, ``pos_first_ns``,
        ``pos_last_ns`` (the first and last time of each MMSI's reports with a time), sorted
        by MMSI, one row each, as the cleaning finds it on its pass over the positions
        (:attr:`stsdetect.tracks.Tracks.heard`; :func:`stsdetect.detect` passes it); used
        instead of a pass over ``positions`` (which must be given too). Only without
        ``core``.

    Returns
    -------
    pandas.DataFrame
        Columns :data:`ACTIVITY_COLUMNS`, sorted by ``mmsi``, one row per MMSI.

    Raises
    ------
    ValueError
        If ``heard``'s MMSIs are not strictly increasing (one row per MMSI, sorted).
    """
    a_ns, b_ns = (None, None) if core is None else (int(core[0]), int(core[1]))
    if heard is not None and core is None:
        hm = heard["mmsi"].to_numpy(np.int64)
        if hm.size > 1 and not bool(np.all(hm[1:] > hm[:-1])):
            raise ValueError("heard must have one row per MMSI, sorted by MMSI (as "
                             "Tracks.heard from build_tracks)")
    if tracks is not None and len(tracks):
        part = _track_part(tracks, a_ns, b_ns)
    elif tracks is None and positions is not None and len(positions) and "time" in positions:
        part = _positions_as_tracks_part(positions)
    else:
        part = _empty()
    part = part.drop(columns=["pos_first_ns", "pos_last_ns"], errors="ignore")
    if positions is not None and len(positions) and "time" in positions:
        pos = heard if heard is not None and core is None else \
            _position_part(positions, a_ns, b_ns)
        return _outer_join(part, pos)
    else:
        out = part.assign(pos_first_ns=np.full(len(part), _NONE),
                          pos_last_ns=np.full(len(part), _NONE))
    return _finish(out)


def _outer_join(part: pd.DataFrame, pos: pd.DataFrame) -> pd.DataFrame:
    """The activity table of the tracks' part and the raw spans (one row per MMSI each): their
    outer join on ``mmsi``, sorted, missing values as :func:`_finish` fills them.

    Made column by column in NumPy: a pandas outer merge turns the int64 nanosecond columns
    into float64 as soon as one MMSI is on one side only, rounding them (to 256 ns in 2024).

    Both sides have one row per MMSI by construction: the tracks' part groups rows sorted by
    MMSI (every Tracks is sorted by ``(mmsi, segment, time)``; a split MMSI is re-sorted by
    time first), the raw part is one row per distinct MMSI of a hash pass
    (:func:`_position_part`) or the cleaning's own such table (``heard``, checked by
    :func:`vessel_activity`)."""
    pm = part["mmsi"].to_numpy(np.int64)
    qm = pos["mmsi"].to_numpy(np.int64)
    mmsi = np.union1d(pm, qm)  # sorted, unique
    cols = {"mmsi": mmsi}
    for col, dtype in ACTIVITY_COLUMNS.items():
        if col == "mmsi":
            continue
        src, at = (pos, np.searchsorted(mmsi, qm)) if col in pos else \
            (part, np.searchsorted(mmsi, pm))
        fill = _NONE if dtype == "int64" else (0.0 if col in ("sea_s", "tail_s") else np.nan)
        values = np.full(mmsi.size, fill, dtype=dtype)
        if col in src:
            values[at] = src[col].to_numpy(dtype=dtype)
        cols[col] = values
    return pd.DataFrame(cols)


def _finish(out: pd.DataFrame) -> pd.DataFrame:
    for col, dtype in ACTIVITY_COLUMNS.items():
        if col not in out:
            out[col] = _NONE if dtype == "int64" else (0.0 if col in ("sea_s", "tail_s")
                                                         else np.nan)
        elif dtype == "int64":
            out[col] = out[col].fillna(_NONE)
        elif col in ("sea_s", "tail_s"):
            out[col] = out[col].fillna(0.0)
    return out[list(ACTIVITY_COLUMNS)].astype(ACTIVITY_COLUMNS).sort_values(
        "mmsi", ignore_index=True)


def merge_activity(parts) -> pd.DataFrame:
    """Join the activity tables of consecutive window cores into the whole data's.

    The first report of an MMSI is that of its earliest window, the last that of its latest;
    sea seconds add up, plus each window's ``tail_s`` except the MMSI's latest window's
    (the report that ends the vessel's data has no next report); the raw span is the widest.
    """
    parts = [p for p in parts if p is not None and len(p)]
    if not parts:
        return _empty()
    a = pd.concat(parts, ignore_index=True)
    has = a["t_first_ns"].to_numpy() != _NONE
    tr = a.loc[has]
    first = tr.sort_values(["mmsi", "t_first_ns"], kind="stable").drop_duplicates("mmsi")
    last = tr.sort_values(["mmsi", "t_last_ns"], kind="stable").drop_duplicates(
        "mmsi", keep="last")
    sums = a.groupby("mmsi", sort=True)[["sea_s", "tail_s"]].sum()
    sea = sums["sea_s"] + sums["tail_s"] - last.set_index("mmsi")["tail_s"].reindex(
        sums.index).fillna(0.0)
    pos = a.loc[a["pos_first_ns"] != _NONE].groupby("mmsi")["pos_first_ns"].min()
    pos_last = a.loc[a["pos_last_ns"] != _NONE].groupby("mmsi")["pos_last_ns"].max()
    out = pd.DataFrame({"mmsi": sums.index.to_numpy(np.int64)})
    out = out.merge(first[["mmsi", "t_first_ns", "lat_first", "lon_first"]], on="mmsi",
                    how="left")
    out = out.merge(last[["mmsi", "t_last_ns", "lat_last", "lon_last"]], on="mmsi", how="left")
    out["sea_s"] = sea.to_numpy()
    out["tail_s"] = 0.0
    out["pos_first_ns"] = pos.reindex(out["mmsi"]).to_numpy()
    out["pos_last_ns"] = pos_last.reindex(out["mmsi"]).to_numpy()
    return _finish(out)
