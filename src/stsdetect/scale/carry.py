"""Carried state: the windowed forms of the detectors (see :mod:`stsdetect.scale.engine`).

Each detector is cut in two:

``map(tracks, params, win)``
    runs on one window's cleaned tracks, loaded with a margin on both sides, and returns
    small tables: events it can close inside the window, and *pieces* of runs that may go on
    beyond the window's core (close-pair observations at grid times, slow reports, the first
    and last report of every vessel);
``fold(state, piece, params, win)``
    runs on the client in window order: it joins the pieces with the state carried from
    the windows before (the open runs only), returns the events that closed, and the state to
    carry on. ``finish(state, params)`` closes what is left after the last window.

A run that lasts three days across daily windows is thus seen once by each window and
carried as a few rows; nothing is read twice and nothing is re-run, so the cost is linear in
the data whatever the events' durations. The events equal those of one run over all the data
(the tests compare both on events of 3+ days across 1-day windows): every quantity of an event
is computed from the same rows as the whole-data detector computes it (a loitering run's sums
are added window by window, so its centre and mean speed agree to rounding).

Keys across windows are ``(mmsi, rank)``: ``rank`` is a segment's number among its MMSI's
segments in the window. An MMSI that :func:`stsdetect.build_tracks` does not split (nearly
all) has rank 0 everywhere; for the few split ones the window's split may differ near its
edges from a whole-data split (see :mod:`stsdetect.scale.windows`).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from stsdetect.events import empty_events, make_events
from stsdetect.geo import utc_from_ns
from stsdetect.tracks import first_rows_in_bins, gap_rows, range_rows

__all__ = ["DARK", "LOITERING", "RENDEZVOUS", "Carry", "Win", "drift_chords",
           "loitering_from_runs"]


@dataclass(frozen=True)
class Win:
    """One window: its core ``[a_ns, b_ns)`` and its loaded range ``[lo_ns, hi_ns)`` (int64 ns).

    ``first``/``last``: whether no data lies before ``lo_ns`` / at or after ``hi_ns`` (then an
    event touching that side of the loaded range is not cut there).
    """

    k: int
    a_ns: int
    b_ns: int
    lo_ns: int
    hi_ns: int
    first: bool = False
    last: bool = False


@dataclass(frozen=True)
class Carry:
    """The windowed form of one stage: ``map``, ``fold`` and ``finish``."""

    map: object
    fold: object
    finish: object


def _ranks(tracks) -> np.ndarray:
    """Rank of each segment among its MMSI's segments (0 for the first)."""
    sm = tracks.segment_mmsi
    if sm.size == 0:
        return np.zeros(0, np.int64)
    new = np.ones(sm.size, dtype=bool)
    new[1:] = sm[1:] != sm[:-1]
    first = np.maximum.accumulate(np.where(new, np.arange(sm.size), 0))
    return (np.arange(sm.size) - first).astype(np.int64)


#: Bits of a run key (:func:`_run_keys`) given to the segment's rank within its MMSI.
RANK_BITS = 16


def _run_keys(frame: pd.DataFrame, prefix: str = "") -> np.ndarray:
    """One int64 key per ``(mmsi, rank)``, ``mmsi * 2**16 + rank``; of the columns
    ``<prefix>mmsi`` and ``<prefix>rank`` (``prefix="other_"``: the partner's).

    Ranks are small (a few segments per MMSI in a window: the identity split of
    :func:`stsdetect.build_tracks` keeps a handful of transmitters per MMSI), but the key is
    only one-to-one for ranks below 2**16 and MMSIs within +-2**47 (an AIS MMSI has 9
    digits, below 2**30): beyond either, two runs would share a key and be joined, so that
    raises instead.

    Raises
    ------
    ValueError
        A rank of 2**16 or more, or an MMSI outside +-2**47.
    """
    mmsi = frame[prefix + "mmsi"].to_numpy(np.int64)
    rank = frame[prefix + "rank"].to_numpy(np.int64)
    if rank.size and (int(rank.max()) >> RANK_BITS or int(rank.min()) < 0
                      or int(mmsi.max()) >= 1 << (63 - RANK_BITS)
                      or int(mmsi.min()) < -(1 << (63 - RANK_BITS))):
        bad = ((rank >> RANK_BITS) != 0) | (mmsi >= 1 << (63 - RANK_BITS)) \
            | (mmsi < -(1 << (63 - RANK_BITS)))
        i = int(np.flatnonzero(bad)[0])
        raise ValueError(
            f"MMSI {int(mmsi[i])} has a segment of rank {int(rank[i])} in one window: the "
            f"windowed engine keys a vessel's runs by (MMSI, rank) in 64 bits, which holds "
            f"fewer than {1 << RANK_BITS:,} segments per MMSI and MMSIs within "
            f"+-2**{63 - RANK_BITS}; use shorter windows or clean the MMSIs")
    return (mmsi << RANK_BITS) + rank


def _count_between(tracks, seg, lo_ns, hi_ns, hi_inclusive: bool) -> np.ndarray:
    from stsdetect.detectors._grid import count_rows_between

    n = count_rows_between(tracks, seg, lo_ns, hi_ns)
    if not hi_inclusive:
        n = n - count_rows_between(tracks, seg, hi_ns, hi_ns)
    return n


# ----------------------------------------------------------------------------- rendezvous

_OBS = ("mmsi", "rank", "other_mmsi", "other_rank", "k", "dist", "sog_a", "sog_b", "x", "y",
        "z", "n_at", "n_next", "n_lead")


def _no_obs() -> pd.DataFrame:
    return pd.DataFrame({c: np.zeros(0, np.float64 if c in ("dist", "sog_a", "sog_b", "x", "y",
                                                            "z") else np.int64) for c in _OBS})


def _rv_map(tracks, p, win: Win) -> pd.DataFrame:
    """Close-pair observations at the grid times of the core, with report counts."""
    from stsdetect.detectors._grid import close_pairs, resample_tracks
    from stsdetect.geo import unit_xyz

    if len(tracks) == 0:
        return _no_obs()
    step_ns = p.ns("step")
    res, xyz = resample_tracks(tracks, step_ns / 1e9, p.ns("max_gap") / 1e9, return_xyz=True)
    k_lo = -(-win.a_ns // step_ns)  # first grid time in the core
    k_hi = -(-win.b_ns // step_ns)  # first grid time of the next core
    core = (res.grid >= k_lo) & (res.grid < k_hi)
    if not core.all():
        keep = np.flatnonzero(core)
        res = type(res)(*(arr[keep] for arr in res))
        xyz = xyz[keep]
    a, b, dist = close_pairs(res, tracks.segment_mmsi, float(p.max_distance_m), xyz=xyz)
    if a.size == 0:
        return _no_obs()
    seg_a, seg_b, k = res.segment[a], res.segment[b], res.grid[a]
    order = np.lexsort((k, seg_b, seg_a))
    a, b, dist, seg_a, seg_b, k = (x[order] for x in (a, b, dist, seg_a, seg_b, k))
    xyz_obs = unit_xyz(res.lat_deg[a], res.lon_deg[a]) + unit_xyz(res.lat_deg[b], res.lon_deg[b])
    t = k * step_ns
    same_next = np.zeros(a.size, dtype=bool)
    same_next[:-1] = (seg_a[1:] == seg_a[:-1]) & (seg_b[1:] == seg_b[:-1])
    t_next = np.where(same_next, np.roll(t, -1), win.b_ns)
    first_of_pair = np.ones(a.size, dtype=bool)
    first_of_pair[1:] = ~same_next[:-1]
    both = np.concatenate((seg_a, seg_b))
    n_at = _count_between(tracks, both, np.tile(t, 2), np.tile(t, 2), True)
    n_next = _count_between(tracks, both, np.tile(t, 2), np.tile(t_next, 2), False)
    n_lead = _count_between(tracks, both, np.full(2 * a.size, win.a_ns), np.tile(t, 2), False)
    ranks = _ranks(tracks)
    return pd.DataFrame({
        "mmsi": tracks.segment_mmsi[seg_a], "rank": ranks[seg_a],
        "other_mmsi": tracks.segment_mmsi[seg_b], "other_rank": ranks[seg_b],
        "k": k.astype(np.int64), "dist": dist, "sog_a": res.sog_kn[a], "sog_b": res.sog_kn[b],
        "x": xyz_obs[:, 0], "y": xyz_obs[:, 1], "z": xyz_obs[:, 2],
        "n_at": n_at.reshape(2, -1).sum(axis=0),
        "n_next": n_next.reshape(2, -1).sum(axis=0),
        "n_lead": np.where(first_of_pair, n_lead.reshape(2, -1).sum(axis=0), 0),
    })


def _rv_runs(obs: pd.DataFrame, p, next_k: int | None):
    """Cut sorted observations into runs; return (closed runs, open observations).

    The closed runs come as a plain table of the events' columns (:func:`_rv_events` makes
    the events of all of them once, at the end: building an events table costs ~10 ms
    whatever its size, which a fold per window on the client would pay every window).
    """
    from stsdetect.detectors._runs import group_median, run_mean_of_two
    from stsdetect.geo import latlon_from_xyz, wrap_lon_deg

    if not len(obs):
        return None, _no_obs()
    # by (mmsi, rank, other_mmsi, other_rank, k), stable: one lexsort on int64 keys (the
    # carried observations of pairs alongside for weeks are re-sorted every window)
    key_a = _run_keys(obs)
    key_b = _run_keys(obs, "other_")
    order = np.lexsort((obs["k"].to_numpy(np.int64), key_b, key_a))
    obs = obs.take(order).reset_index(drop=True)
    key_a, key_b = key_a[order], key_b[order]
    step_ns, tol_ns = p.ns("step"), p.ns("tolerance")
    max_jump = int(np.floor((step_ns + tol_ns) / step_ns + 1e-9))
    k = obs["k"].to_numpy(np.int64)
    new_run = np.ones(len(obs), dtype=bool)
    new_run[1:] = ((key_a[1:] != key_a[:-1]) | (key_b[1:] != key_b[:-1])
                   | (k[1:] - k[:-1] > max_jump))
    run = np.cumsum(new_run) - 1
    first = np.flatnonzero(new_run)
    last = np.append(first[1:] - 1, len(obs) - 1)
    closed_run = (np.ones(first.size, dtype=bool) if next_k is None
                  else (next_k - k[last]) > max_jump)
    is_open = ~closed_run[run]
    carried = obs.loc[is_open].reset_index(drop=True)
    if not closed_run.any():
        return None, carried
    sel = closed_run[run]
    o = obs.loc[sel].reset_index(drop=True)
    run = (np.cumsum(closed_run) - 1)[run[sel]]
    first = np.searchsorted(run, np.arange(int(closed_run.sum())), "left")
    last = np.append(first[1:] - 1, len(o) - 1)
    kk = o["k"].to_numpy(np.int64)
    start_ns = kk[first] * step_ns
    end_ns = kk[last] * step_ns
    long_enough = (end_ns - start_ns) >= p.ns("min_duration")
    keep_obs = long_enough[run]
    o = o.loc[keep_obs].reset_index(drop=True)
    run = (np.cumsum(long_enough) - 1)[run[keep_obs]]
    n_runs = int(long_enough.sum())
    if n_runs == 0:
        return None, carried
    first = np.searchsorted(run, np.arange(n_runs), "left")
    last = np.append(first[1:] - 1, len(o) - 1)
    start_ns, end_ns = start_ns[long_enough], end_ns[long_enough]
    xyz_sum = np.add.reduceat(o[["x", "y", "z"]].to_numpy(float), first, axis=0)
    lat, lon = latlon_from_xyz(xyz_sum)
    sog_a, sog_b = o["sog_a"].to_numpy(float), o["sog_b"].to_numpy(float)
    mean_sog = run_mean_of_two(sog_a, sog_b, first)
    # Reports of both vessels within [start, end]: from each observation to the next of its
    # run, the leading part of a window where the run came in from the window before, and
    # the reports at the last grid time.
    is_last = np.zeros(len(o), dtype=bool)
    is_last[last] = True
    is_first = np.zeros(len(o), dtype=bool)
    is_first[first] = True
    part = np.where(is_last, o["n_at"].to_numpy(np.int64), o["n_next"].to_numpy(np.int64))
    part = part + np.where(is_first, 0, o["n_lead"].to_numpy(np.int64))
    n_pos = np.add.reduceat(part, first)
    dist = o["dist"].to_numpy(float)
    med_a = group_median(run, sog_a, n_runs)
    med_b = group_median(run, sog_b, n_runs)
    slow = (med_a < p.max_speed_kn) & (med_b < p.max_speed_kn)
    s = np.flatnonzero(slow)
    closed = pd.DataFrame({
        "mmsi": o["mmsi"].to_numpy(np.int64)[first][s],
        "other_mmsi": o["other_mmsi"].to_numpy(np.int64)[first][s],
        "start_ns": start_ns[s], "end_ns": end_ns[s], "lat": lat[s],
        "lon": wrap_lon_deg(lon)[s],
        "distance_m": group_median(run, dist, n_runs)[s],
        "min_distance_m": np.minimum.reduceat(dist, first)[s],
        "mean_sog_kn": mean_sog[s], "n_positions": n_pos[s]})
    return closed, carried


def _rv_events(closed) -> pd.DataFrame:
    """The rendezvous events of closed runs (tables of :func:`_rv_runs`), in one table."""
    closed = [c for c in closed if c is not None and len(c)]
    if not closed:
        return empty_events()
    c = pd.concat(closed, ignore_index=True) if len(closed) > 1 else closed[0]
    return make_events(
        "rendezvous", n=len(c), mmsi=c["mmsi"].to_numpy(np.int64),
        other_mmsi=c["other_mmsi"].to_numpy(np.int64),
        start=utc_from_ns(c["start_ns"].to_numpy(np.int64)),
        end=utc_from_ns(c["end_ns"].to_numpy(np.int64)), lat=c["lat"].to_numpy(float),
        lon=c["lon"].to_numpy(float), distance_m=c["distance_m"].to_numpy(float),
        min_distance_m=c["min_distance_m"].to_numpy(float),
        mean_sog_kn=c["mean_sog_kn"].to_numpy(float),
        n_positions=c["n_positions"].to_numpy(np.int64))


def _rv_fold(state, piece, p, win: Win):
    """Join the window's observations with the open ones; runs that ended are kept (as
    plain rows) in ``state["closed"]`` and become events once, in :func:`_rv_finish`."""
    state = state or {"open": None, "closed": []}
    obs = piece if state["open"] is None else pd.concat([state["open"], piece],
                                                        ignore_index=True)
    next_k = -(-win.b_ns // p.ns("step"))
    closed, carried = _rv_runs(obs, p, next_k)
    return None, {"open": carried, "closed": [*state["closed"], closed]}


def _rv_finish(state, p):
    if state is None:
        return empty_events()
    closed = list(state["closed"])
    if state["open"] is not None:
        closed.append(_rv_runs(state["open"], p, None)[0])
    return _rv_events(closed)


RENDEZVOUS = Carry(_rv_map, _rv_fold, _rv_finish)


# ------------------------------------------------------------------------------ loitering

_AGG = ("mmsi", "rank", "t0", "lat0", "lon0", "t1", "lat1", "lon1", "n", "ssum", "x", "y", "z",
        "k0", "k1")


def _no_aggs() -> pd.DataFrame:
    return pd.DataFrame({c: np.zeros(0, np.int64 if c in ("mmsi", "rank", "t0", "t1", "n", "k0",
                                                          "k1", "before", "cont")
                                     else float) for c in (*_AGG, "before", "cont")})


def _lo_map(tracks, p, win: Win):
    """Loitering closed in the core; the slow runs crossing its edges, summed, and their rows.

    Returns ``(closed, pieces, rows)``. ``closed``: the loitering of runs inside the core, as
    a plain table of the events' columns (:func:`stsdetect.detectors.loitering.loitering_columns`;
    the events are made once, at the end: an events table costs ~10 ms to build whatever its
    size). ``pieces`` has one row per run crossing an edge of the
    core, summed over its reports in the core: first and last report, count, sum of speeds,
    sum of unit vectors, ``before`` (1: it began before the core, so it continues the run
    carried for its vessel) and ``cont`` (1: it goes on past the core). ``rows`` are those
    reports (``mmsi``, ``rank``, ``t``, ``lat``, ``lon``), written beside the spill by the
    window task: a run's largest drift from its centre is measured once the run has ended and
    its centre is known, one task per window it spanned (:func:`drift_chords`). The carried
    state is then one row per open run, whatever its length.
    """
    from stsdetect.detectors.loitering import loitering_columns, slow_runs
    from stsdetect.geo import unit_xyz

    no_rows = pd.DataFrame({"mmsi": np.zeros(0, np.int64), "rank": np.zeros(0, np.int64),
                            "t": np.zeros(0, np.int64), "lat": np.zeros(0), "lon": np.zeros(0)})
    if len(tracks) == 0:
        return None, _no_aggs(), no_rows
    speed, starts, ends = slow_runs(tracks, p.max_speed_kn, p.ns("max_gap") / 1e9)
    t = tracks.time_ns
    in_core = (t[starts] >= win.a_ns) & (t[ends] < win.b_ns)
    closed = pd.DataFrame(loitering_columns(tracks.mmsi, t, tracks.lat_deg, tracks.lon_deg,
                                            speed, starts[in_core], ends[in_core],
                                            p.max_speed_kn, p.ns("min_duration") / 1e9))
    cross = ~in_core & (t[ends] >= win.a_ns) & (t[starts] < win.b_ns)
    s, e = starts[cross], ends[cross]
    if s.size == 0:
        return closed, _no_aggs(), no_rows
    run_of = np.repeat(np.arange(s.size), e - s + 1)
    rows = range_rows(s, e + 1)
    ok = (t[rows] >= win.a_ns) & (t[rows] < win.b_ns)
    rows, run_of = rows[ok], run_of[ok]
    first = np.searchsorted(run_of, np.arange(s.size), "left")
    last = np.append(first[1:] - 1, rows.size - 1)
    xyz = np.add.reduceat(unit_xyz(tracks.lat_deg[rows], tracks.lon_deg[rows]), first, axis=0)
    fr, lr = rows[first], rows[last]
    ranks = _ranks(tracks)
    pieces = pd.DataFrame({
        "mmsi": tracks.mmsi[fr], "rank": ranks[tracks.segment[fr]],
        "t0": t[fr], "lat0": tracks.lat_deg[fr], "lon0": tracks.lon_deg[fr],
        "t1": t[lr], "lat1": tracks.lat_deg[lr], "lon1": tracks.lon_deg[lr],
        "n": np.diff(np.append(first, rows.size)).astype(np.int64),
        "ssum": np.add.reduceat(speed[rows], first),
        "x": xyz[:, 0], "y": xyz[:, 1], "z": xyz[:, 2],
        "k0": np.full(s.size, win.k, np.int64), "k1": np.full(s.size, win.k, np.int64),
        "before": (t[s] < win.a_ns).astype(np.int64),
        "cont": (t[e] >= win.b_ns).astype(np.int64)})
    return closed, pieces, pd.DataFrame({
        "mmsi": tracks.mmsi[rows], "rank": ranks[tracks.segment[rows]], "t": t[rows],
        "lat": tracks.lat_deg[rows], "lon": tracks.lon_deg[rows]})


def _lo_fold(state, piece, p, win: Win):
    """Join run pieces with the open runs; runs that ended are kept in ``state["done"]``.

    A run carried in from the window before continues in exactly one piece of this window
    (``before`` = 1, same ``(mmsi, rank)``): the two are summed into one row (first report
    of the carried run, last of the piece). Plain arrays, no merge: this runs on the client
    once per window. The loitering closed inside the window's core is kept (as plain rows) in
    ``state["closed"]``: :func:`loitering_from_runs` makes the events of both at the end.
    """
    closed, pieces, _ = piece
    state = state or {"open": _no_aggs()[list(_AGG)], "done": [], "closed": []}
    opened = state["open"]
    before = pieces["before"].to_numpy(np.int64) == 1
    go_on = pieces.loc[before]
    key_g = _run_keys(go_on)
    order = np.argsort(key_g, kind="stable")
    at, carried = _lookup(key_g[order], _run_keys(opened))
    done = [opened.loc[~carried]]  # (not continued: cannot happen with consistent windows)
    j = order[at[carried]]  # the piece continuing each carried run
    o = {c: opened[c].to_numpy()[carried] for c in _AGG}
    g = {c: go_on[c].to_numpy()[j] for c in (*_AGG, "cont")}
    joined = {c: o[c] for c in ("mmsi", "rank", "t0", "lat0", "lon0", "k0")}
    joined.update({c: g[c] for c in ("t1", "lat1", "lon1", "k1", "cont")})
    joined.update({c: o[c] + g[c] for c in ("n", "ssum", "x", "y", "z")})
    fresh = pieces.loc[~before]
    allrun = pd.DataFrame({c: np.concatenate([joined[c], fresh[c].to_numpy()])
                           for c in (*_AGG, "cont")})
    ending = allrun["cont"].to_numpy(np.int64) == 0
    done.append(allrun.loc[ending, list(_AGG)])
    state = {"open": allrun.loc[~ending, list(_AGG)].reset_index(drop=True),
             "done": [*state["done"], *(d for d in done if len(d))],
             "closed": [*state["closed"], *([closed] if closed is not None and len(closed)
                                           else [])]}
    return None, state


def _lo_finish(state, p):
    """Every run summed over its windows (still to get its largest drift)."""
    if state is None:
        return _no_aggs()[list(_AGG)]
    parts = [*state["done"], state["open"]]
    return pd.concat(parts, ignore_index=True)


def drift_chords(rows: pd.DataFrame, runs: pd.DataFrame) -> pd.DataFrame:
    """Largest chord (unit sphere) from each run's centre to its reports among ``rows``.

    Parameters
    ----------
    rows : pandas.DataFrame
        ``mmsi``, ``rank``, ``t``, ``lat``, ``lon``: reports of runs crossing a window's edges.
    runs : pandas.DataFrame
        ``id``, ``mmsi``, ``rank``, ``t0``, ``t1`` and the unit centre ``cx``, ``cy``, ``cz``;
        the runs of one vessel (``mmsi``, ``rank``) do not overlap in time (loitering runs
        are maximal runs of one segment's slow reports).

    Returns
    -------
    pandas.DataFrame
        ``id``, ``chord``: the runs with reports among ``rows``, by ``id``.
    """
    from stsdetect.geo import unit_xyz

    empty = pd.DataFrame({"id": np.zeros(0, np.int64), "chord": np.zeros(0)})
    if not len(rows) or not len(runs):
        return empty
    # Each report's run is its vessel's last run starting at or before it, if the report
    # lies before that run's end: one sort of runs and reports together by (vessel, time),
    # a run ahead of a report at its start time, and the latest run carried forward.
    m, n = len(runs), len(rows)
    vessel = [np.concatenate([runs[c].to_numpy(np.int64), rows[c].to_numpy(np.int64)])
              for c in ("mmsi", "rank")]
    t = np.concatenate([runs["t0"].to_numpy(np.int64), rows["t"].to_numpy(np.int64)])
    is_row = np.arange(m + n) >= m
    order = np.lexsort((is_row, t, vessel[1], vessel[0]))
    pos = np.maximum.accumulate(np.where(is_row[order], -1, np.arange(m + n)))
    at_row = is_row[order] & (pos >= 0)
    row, run = order[at_row] - m, order[np.maximum(pos, 0)[at_row]]
    mine = ((vessel[0][run] == vessel[0][row + m]) & (vessel[1][run] == vessel[1][row + m])
            & (t[row + m] <= runs["t1"].to_numpy(np.int64)[run]))
    row, run = row[mine], run[mine]
    if not row.size:
        return empty
    xyz = unit_xyz(rows["lat"].to_numpy(float)[row], rows["lon"].to_numpy(float)[row])
    xyz -= runs[["cx", "cy", "cz"]].to_numpy(float)[run]
    chord = np.sqrt(np.einsum("ij,ij->i", xyz, xyz))
    ids = runs["id"].to_numpy(np.int64)[run]
    by_id = np.argsort(ids, kind="stable")
    ids, chord = ids[by_id], chord[by_id]
    first = np.flatnonzero(np.concatenate(([True], ids[1:] != ids[:-1])))
    return pd.DataFrame({"id": ids[first], "chord": np.maximum.reduceat(chord, first)})


def loitering_from_runs(runs: pd.DataFrame, max_chord: np.ndarray, p,
                        closed=()) -> pd.DataFrame:
    """Loitering events of runs summed over windows (see :func:`_lo_map`), and of the
    ``closed`` tables (loitering closed inside one window's core, ``state["closed"]`` of the
    fold), in one events table."""
    from stsdetect.geo import (
        EARTH_RADIUS_M,
        KNOT_M_S,
        chord_to_arc_m,
        haversine_m,
        latlon_from_xyz,
    )

    t0, t1 = runs["t0"].to_numpy(np.int64), runs["t1"].to_numpy(np.int64)
    span_s = (t1 - t0) / 1e9
    n = runs["n"].to_numpy(np.int64)
    net_kn = haversine_m(runs["lat0"].to_numpy(float), runs["lon0"].to_numpy(float),
                         runs["lat1"].to_numpy(float), runs["lon1"].to_numpy(float)
                         ) / np.maximum(span_s, 1e-9) / KNOT_M_S
    keep = (span_s >= p.ns("min_duration") / 1e9) & (n >= 2) & (net_kn < p.max_speed_kn)
    r = runs.loc[keep]
    lat, lon = latlon_from_xyz(r[["x", "y", "z"]].to_numpy(float))
    c = pd.concat([pd.DataFrame({
        "mmsi": r["mmsi"].to_numpy(np.int64), "start_ns": t0[keep], "end_ns": t1[keep],
        "lat": lat, "lon": lon,
        "distance_m": chord_to_arc_m(np.asarray(max_chord, float)[keep] * EARTH_RADIUS_M),
        "mean_sog_kn": r["ssum"].to_numpy(float) / n[keep], "n_positions": n[keep]}),
        *closed], ignore_index=True)
    return make_events(
        "loitering", n=len(c), mmsi=c["mmsi"].to_numpy(np.int64),
        start=utc_from_ns(c["start_ns"].to_numpy(np.int64)),
        end=utc_from_ns(c["end_ns"].to_numpy(np.int64)), lat=c["lat"].to_numpy(float),
        lon=c["lon"].to_numpy(float), distance_m=c["distance_m"].to_numpy(float),
        mean_sog_kn=c["mean_sog_kn"].to_numpy(float),
        n_positions=c["n_positions"].to_numpy(np.int64))


LOITERING = Carry(_lo_map, _lo_fold, _lo_finish)


# ----------------------------------------------------------------------------- dark periods

def _dk_map(tracks, p, win: Win, positions=None):
    """Silences ending in the core, each vessel's first and last core report, heard reports,
    and the window's share of the reception coverage counts.

    Returns ``(gaps, ends, heard, cover)``: ``gaps`` are silences whose last report before is
    in the loaded range (with ``n_heard`` counted here when the whole silence, with one heard
    bin before it, lies in the loaded range, else -1; ``sat0``/``sat1``: the reports bounding
    it came by satellite); ``ends`` the first and last report of each vessel in the core
    (``prev`` 1 when the first has a predecessor in the loaded range; their reception, and
    ``n_bursts``, the bursts of reports starting in the core); ``heard`` the reports that
    count as heard (first of each segment per heard bin), in the core; ``cover`` None when the
    coverage is off, else ``(counts, fix)``: the coverage counts of the core
    (:func:`stsdetect.detectors.coverage.coverage_counts`) and the heard bins of short bursts
    that are alone in the loaded data (``fix``: if such a burst is its vessel's only one in
    all the data, the cadence rule calls it shore reception, see :func:`_dk_finish`).
    """
    from stsdetect.detectors.dark import heard_counts

    t = tracks.time_ns
    n = len(tracks)
    gap_ns = p.ns("min_gap")
    ranks = _ranks(tracks)
    before = gap_rows(tracks, gap_ns)  # the silences, as find_dark_periods finds them
    before = before[(t[before + 1] >= win.a_ns) & (t[before + 1] < win.b_ns)]
    after = before + 1
    bin_ns = 0 if p.heard_bin is None else p.ns("heard_bin")
    inside = ((t[before] - bin_ns >= win.lo_ns) | win.first) & ((t[after] < win.hi_ns) | win.last)
    n_heard = np.full(before.size, -1, np.int64)
    if p.radius_m is not None and inside.any():
        i = before[inside]
        n_heard[inside] = heard_counts(tracks, tracks.lat_deg[i], tracks.lon_deg[i], t[i],
                                       t[i + 1], tracks.mmsi[i], radius_m=p.radius_m,
                                       heard_bin=p.heard_bin)
    gaps = pd.DataFrame({
        "mmsi": tracks.mmsi[before], "rank": ranks[tracks.segment[before]],
        "t0": t[before], "lat0": tracks.lat_deg[before], "lon0": tracks.lon_deg[before],
        "t1": t[after], "lat1": tracks.lat_deg[after], "lon1": tracks.lon_deg[after],
        "n_heard": n_heard})
    core = np.flatnonzero((t >= win.a_ns) & (t < win.b_ns))
    seg = tracks.segment[core]
    newseg = np.ones(core.size, dtype=bool)
    newseg[1:] = seg[1:] != seg[:-1]
    fi = core[newseg]
    la = core[np.append(np.flatnonzero(newseg)[1:] - 1, core.size - 1)] if core.size else core
    prev = np.zeros(fi.size, np.int64)
    has = fi > 0
    prev[has] = (tracks.segment[fi[has] - 1] == tracks.segment[fi[has]]).astype(np.int64)
    ends = pd.DataFrame({
        "mmsi": tracks.mmsi[fi], "rank": ranks[tracks.segment[fi]], "prev": prev,
        "t_first": t[fi], "lat_first": tracks.lat_deg[fi], "lon_first": tracks.lon_deg[fi],
        "t_last": t[la], "lat_last": tracks.lat_deg[la], "lon_last": tracks.lon_deg[la]})
    sat, n_bursts, cover = _reception(tracks, p, win, positions, ranks)
    gaps["sat0"] = sat[before]
    gaps["sat1"] = sat[after]
    ends["sat_first"] = sat[fi]
    ends["sat_last"] = sat[la]
    ends["n_bursts"] = n_bursts[tracks.segment[fi]]
    heard = None
    if p.radius_m is not None:
        # thinned as heard_counts thins them
        keep = first_rows_in_bins(tracks, bin_ns) if bin_ns > 0 else np.arange(n)
        keep = keep[(t[keep] >= win.a_ns) & (t[keep] < win.b_ns)]
        heard = pd.DataFrame({"mmsi": tracks.mmsi[keep], "t": t[keep],
                              "lat": tracks.lat_deg[keep], "lon": tracks.lon_deg[keep]})
    return gaps, ends, heard, cover


#: Time bin of the reception coverage (:func:`stsdetect.detectors.coverage.estimate_coverage`'s
#: default): windows of a run with coverage are whole numbers of it.
COVERAGE_BIN_S = 3600.0


def _cadence(p) -> bool:
    return p.reception == "auto" and p.satellite_sources is None


def _reception(tracks, p, win: Win, positions, ranks):
    """Per row: by satellite; per segment: bursts starting in the core; coverage pieces."""
    from stsdetect.detectors.coverage import bursts, coverage_counts, reception_of_reports

    n = len(tracks)
    n_bursts = np.zeros(tracks.n_segments, np.int64)
    if not p.coverage:
        return np.zeros(n, dtype=bool), n_bursts, None
    t = tracks.time_ns
    fix = pd.DataFrame({"mmsi": np.zeros(0, np.int64), "rank": np.zeros(0, np.int64),
                        "lat": np.zeros(0), "lon": np.zeros(0), "hour": np.zeros(0, np.int64)})
    if _cadence(p):
        # The cadence rule without its "alone" clause (a segment's only burst is not a pass):
        # whether a burst is its segment's only one is known only at the end (_dk_finish).
        burst, starts, short, alone = bursts(tracks, p.satellite_pass_gap, p.satellite_pass_max)
        sat = short[burst] if n else np.zeros(0, dtype=bool)
        in_core = (t[starts] >= win.a_ns) & (t[starts] < win.b_ns)
        n_bursts = np.bincount(tracks.segment[starts[in_core]],
                               minlength=tracks.n_segments).astype(np.int64)
        from stsdetect.detectors.coverage import _groups

        if n:
            grp, _, g_h = _groups(tracks, round(COVERAGE_BIN_S * 1e9))
            cand = (short & alone)[burst[grp]] & (t[grp] >= win.a_ns) & (t[grp] < win.b_ns)
            g = grp[cand]
            fix = pd.DataFrame({"mmsi": tracks.mmsi[g], "rank": ranks[tracks.segment[g]],
                                "lat": tracks.lat_deg[g], "lon": tracks.lon_deg[g],
                                "hour": g_h[cand]})
    else:
        sat = reception_of_reports(tracks, positions, satellite_sources=p.satellite_sources,
                                   reception=p.reception)
    counts = coverage_counts(tracks, sat, p.coverage_cell_deg, COVERAGE_BIN_S,
                             p.ns("coverage_max_bracket") / 1e9, core_ns=(win.a_ns, win.b_ns))
    return sat, n_bursts, (counts, fix)


_LAST = ["mmsi", "rank", "t_last", "lat_last", "lon_last", "sat_last"]


def _dk_fold(state, piece, p, win: Win):
    """Join silences across windows; return the silences found (heard counts may be -1).

    The state carries each vessel's last report before the window (``last``), and, with the
    coverage on, the coverage counts so far, the bursts per vessel and the candidate fixes
    (see :func:`_dk_map`).
    """
    from stsdetect.detectors.coverage import tally, unheard_hours

    gaps, ends, _, cover = piece
    gap_ns = p.ns("min_gap")
    state = state or {"last": None, "last_key": None, "counts": [], "fix": [],
                      "bursts": None}
    # the carried last reports are kept sorted by (mmsi, rank) key: lookups are searchsorted
    # on plain arrays (this runs on the client once per window)
    last_c, last_key = state["last"], state["last_key"]
    if last_c is not None and len(gaps):
        # a silence whose last report before lies in the margin: that report was the vessel's
        # last in an earlier core, where its reception was decided with its whole context
        early = (gaps["t0"] < win.a_ns).to_numpy()
        if early.any():
            at, known = _lookup(last_key, _run_keys(gaps.loc[early]))
            sat0 = gaps["sat0"].to_numpy(bool).copy()
            idx = np.flatnonzero(early)[known]
            sat0[idx] = last_c["sat_last"].to_numpy()[at[known]].astype(bool)
            gaps = gaps.assign(sat0=sat0)
    found = [gaps]
    if last_c is not None and len(ends):
        e = ends.loc[ends["prev"].to_numpy() == 0]
        at, hit = _lookup(last_key, _run_keys(e))
        cand = e.loc[hit].reset_index(drop=True)
        for c in ("t_last", "lat_last", "lon_last", "sat_last"):
            cand[c + "_c"] = last_c[c].to_numpy()[at[hit]]
        if cover is not None and len(cand):  # unheard hours between windows
            lat, lon, hour = unheard_hours(
                cand["t_last_c"].to_numpy(np.int64), cand["lat_last_c"].to_numpy(float),
                cand["lon_last_c"].to_numpy(float), cand["t_first"].to_numpy(np.int64),
                cand["lat_first"].to_numpy(float), cand["lon_first"].to_numpy(float),
                COVERAGE_BIN_S, p.ns("coverage_max_bracket") / 1e9)
            zeros = np.zeros(hour.size, np.int64)
            state["counts"].append(tally(lat, lon, hour, zeros, zeros, zeros,
                                         p.coverage_cell_deg))
        cand = cand.loc[cand["t_first"] - cand["t_last_c"] > gap_ns]
        if len(cand):
            found.append(pd.DataFrame({
                "mmsi": cand["mmsi"], "rank": cand["rank"],
                "t0": cand["t_last_c"], "lat0": cand["lat_last_c"], "lon0": cand["lon_last_c"],
                "t1": cand["t_first"], "lat1": cand["lat_first"], "lon1": cand["lon_first"],
                "n_heard": np.full(len(cand), -1, np.int64),
                "sat0": cand["sat_last_c"].to_numpy(bool),
                "sat1": cand["sat_first"].to_numpy(bool)}))
    if cover is not None:
        counts, fix = cover
        state["counts"].append(counts)
        if len(fix):
            state["fix"].append(fix)
        keys = _run_keys(ends)
        nb = ends["n_bursts"].to_numpy(np.int64)
        if state["bursts"] is not None:
            keys = np.concatenate([_run_keys(state["bursts"]), keys])
            nb = np.concatenate([state["bursts"]["n_bursts"].to_numpy(np.int64), nb])
        uk, inv = np.unique(keys, return_inverse=True)
        total = np.zeros(uk.size, np.int64)
        np.add.at(total, inv, nb)
        state["bursts"] = pd.DataFrame({"mmsi": uk >> RANK_BITS,
                                        "rank": uk & ((1 << RANK_BITS) - 1),
                                        "n_bursts": total})  # by (mmsi, rank)
        if len(state["counts"]) >= 16:  # keep the carried counts one table, summed by key
            state["counts"] = [_sum_counts(state["counts"])]
    last, key = ends[_LAST], _run_keys(ends)
    if last_c is not None:  # this window's last reports replace the carried ones
        keep = ~np.isin(last_key, key)
        last = pd.concat([last_c.loc[keep], last], ignore_index=True)
        key = np.concatenate([last_key[keep], key])
    order = np.argsort(key, kind="stable")
    state["last"] = last.iloc[order].reset_index(drop=True)
    state["last_key"] = key[order]
    return pd.concat(found, ignore_index=True), state


def _lookup(sorted_keys: np.ndarray, keys: np.ndarray):
    """Positions of ``keys`` in ``sorted_keys`` (distinct) and whether each is there."""
    at = np.searchsorted(sorted_keys, keys)
    if sorted_keys.size == 0:
        return np.zeros(keys.size, np.int64), np.zeros(keys.size, dtype=bool)
    at = np.minimum(at, sorted_keys.size - 1)
    return at, sorted_keys[at] == keys


def _sum_counts(parts):
    from stsdetect.detectors.coverage import COUNT_COLUMNS

    frame = pd.concat(parts, ignore_index=True)
    return frame.groupby(["slot", "hour"], as_index=False, sort=True)[COUNT_COLUMNS[2:]].sum()


def _dk_finish(state, p):
    """The reception coverage of all the data, and the vessels whose one burst was not a
    pass, from the carried counts: ``(Coverage, alone)``; None when the coverage is off."""
    from stsdetect.detectors.coverage import assemble_coverage, tally

    if not p.coverage:
        return None
    state = state or {"counts": [], "fix": [], "bursts": None}
    parts = list(state["counts"])
    alone = pd.DataFrame({"mmsi": np.zeros(0, np.int64), "rank": np.zeros(0, np.int64)})
    if state["bursts"] is not None and _cadence(p):
        nb = state["bursts"]
        alone = nb.loc[nb["n_bursts"] == 1, ["mmsi", "rank"]].reset_index(drop=True)
        if state["fix"] and len(alone):
            fix = pd.concat(state["fix"], ignore_index=True).merge(alone, on=["mmsi", "rank"])
            if len(fix):  # their heard hours were counted by satellite: by shore instead
                one = np.ones(len(fix), np.int64)
                piece = tally(fix["lat"].to_numpy(float), fix["lon"].to_numpy(float),
                              fix["hour"].to_numpy(np.int64), 0 * one, one, -one,
                              p.coverage_cell_deg)
                piece["present"] = 0
                parts.append(piece)
    model = assemble_coverage(parts, p.coverage_cell_deg, COVERAGE_BIN_S,
                              p.ns("coverage_max_bracket") / 1e9, p.coverage_min_vessels)
    return model, alone


DARK = Carry(_dk_map, _dk_fold, _dk_finish)


def heard_keys(heard: pd.DataFrame, queries: pd.DataFrame, radius_m: float) -> np.ndarray:
    """Distinct ``(query, mmsi)`` pairs: other vessels heard near a silence during it.

    Parameters
    ----------
    heard : pandas.DataFrame
        ``mmsi``, ``t`` (int64 ns), ``lat``, ``lon``: the thinned reports of some windows.
    queries : pandas.DataFrame
        ``q`` (query id), ``mmsi``, ``t0``, ``t1`` (int64 ns), ``lat0``, ``lon0``.
    radius_m : float
        Search radius (great-circle metres).

    Returns
    -------
    numpy.ndarray
        Structured pairs as a two-column int64 array ``[q, mmsi]``, unique.
    """
    from scipy.spatial import cKDTree

    from stsdetect.geo import EARTH_RADIUS_M, arc_to_chord_m, haversine_m, unit_xyz

    empty = np.zeros((0, 2), np.int64)
    if not len(heard) or not len(queries):
        return empty
    t = heard["t"].to_numpy(np.int64)
    qt0, qt1 = queries["t0"].to_numpy(np.int64), queries["t1"].to_numpy(np.int64)
    active = (qt1 > t.min()) & (qt0 < t.max())
    queries = queries.loc[active]
    if not len(queries):
        return empty
    qlat, qlon = queries["lat0"].to_numpy(float), queries["lon0"].to_numpy(float)
    chord = arc_to_chord_m(radius_m) / EARTH_RADIUS_M * (1.0 + 1e-9)
    qtree = cKDTree(unit_xyz(qlat, qlon))
    rlat, rlon = heard["lat"].to_numpy(float), heard["lon"].to_numpy(float)
    rtree = cKDTree(unit_xyz(rlat, rlon), balanced_tree=False, compact_nodes=False)
    pairs = qtree.sparse_distance_matrix(rtree, chord, output_type="ndarray")
    if pairs.size == 0:
        return empty
    qi, ri = pairs["i"].astype(np.int64), pairs["j"].astype(np.int64)
    rm = heard["mmsi"].to_numpy(np.int64)
    ok = ((t[ri] > queries["t0"].to_numpy(np.int64)[qi])
          & (t[ri] < queries["t1"].to_numpy(np.int64)[qi])
          & (rm[ri] != queries["mmsi"].to_numpy(np.int64)[qi]))
    qi, ri = qi[ok], ri[ok]
    ok = haversine_m(qlat[qi], qlon[qi], rlat[ri], rlon[ri]) <= radius_m
    out = np.column_stack((queries["q"].to_numpy(np.int64)[qi[ok]], rm[ri[ok]]))
    return np.unique(out, axis=0) if out.size else empty


def dark_events(silences: pd.DataFrame, p, coverage=None) -> pd.DataFrame:
    """The dark-period events of silences whose heard counts are known.

    ``coverage``: what :func:`_dk_finish` returned (the reception coverage of all the data and
    the vessels heard in one burst only), or None when the coverage is off.
    """
    from stsdetect.detectors.coverage import path_coverage
    from stsdetect.geo import KNOT_M_S, haversine_m

    s = silences
    n = len(s)
    lat0, lon0 = s["lat0"].to_numpy(float), s["lon0"].to_numpy(float)
    lat1, lon1 = s["lat1"].to_numpy(float), s["lon1"].to_numpy(float)
    start, end = s["t0"].to_numpy(np.int64), s["t1"].to_numpy(np.int64)
    dist = haversine_m(lat0, lon0, lat1, lon1)
    speed = dist / ((end - start) / 1e9) / KNOT_M_S if n else np.zeros(0)
    if p.radius_m is None:
        heard = pd.array([None] * n, dtype="Int64")
        intentional = pd.array([None] * n, dtype="boolean")
        flags = [[] for _ in range(n)]
    else:
        heard = s["n_heard"].to_numpy(np.int64)
        intentional = heard >= int(p.min_others_heard)
    cover = np.full(n, np.nan)
    if coverage is not None and n:
        model, alone = coverage
        along = path_coverage(model, lat0, lon0, start, lat1, lon1, end)
        # as find_dark_periods: last or next heard by satellite -> the satellite coverage; a
        # vessel heard in one burst only was heard by shore (the cadence rule's last clause)
        by_sat = s["sat0"].to_numpy(bool) | s["sat1"].to_numpy(bool)
        if len(alone):
            one = pd.MultiIndex.from_frame(alone[["mmsi", "rank"]])
            by_sat &= ~pd.MultiIndex.from_frame(s[["mmsi", "rank"]]).isin(one)
        cover = np.where(by_sat, along["coverage_satellite"].to_numpy(float),
                         along["coverage"].to_numpy(float))
        if p.radius_m is not None:
            intentional &= np.nan_to_num(cover, nan=-1.0) >= float(p.min_coverage)
    if p.radius_m is not None:
        flags = [["likely_intentional"] if f else [] for f in intentional.tolist()]
    return make_events("dark_period", n=n, mmsi=s["mmsi"].to_numpy(np.int64),
                       start=utc_from_ns(start), end=utc_from_ns(end), lat=lat0, lon=lon0,
                       end_lat=lat1, end_lon=lon1,
                       distance_m=dist, implied_speed_kn=speed,
                       n_positions=np.full(n, 2, dtype=np.int64), n_other_heard=heard,
                       coverage=cover, likely_intentional=intentional, flags=flags)
