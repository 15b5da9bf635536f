"""Tows: a vessel travelling with a tug, both under way (a barge being towed).

A detector like the others (``Tracks (+ params) -> table``): its table feeds the barge rules of
:func:`stsdetect.identity.classify_barges` through :func:`stsdetect.flags.flag_events`
(``tows=``), so the flagging stage runs no pair search of its own.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from stsdetect.geo import duration_s
from stsdetect.tracks import range_rows

__all__ = ["TUG_SHIP_TYPES", "find_tows", "tug_mmsi"]

#: AIS ship types (ITU-R M.1371-5, Table 53) of vessels that tow or push: 31 towing,
#: 32 towing with tow longer than 200 m or wider than 25 m, 52 tug.
TUG_SHIP_TYPES = (31, 32, 52)

#: The pair search's interpolation limit and bridged interruption
#: (:func:`stsdetect.detectors.rendezvous.find_pair_runs`' own defaults, passed explicitly
#: because the time window of :func:`find_tows` is derived from them).
_PAIR_MAX_GAP = "1h"
_PAIR_TOLERANCE = "10min"


def tug_mmsi(vessels: pd.DataFrame | None) -> np.ndarray:
    """MMSIs whose static ship type says tug or towing (:data:`TUG_SHIP_TYPES`).

    Parameters
    ----------
    vessels : pandas.DataFrame or None
        Vessels table (``mmsi``, ``ship_type``).

    Returns
    -------
    numpy.ndarray of int64
        Sorted unique MMSIs; empty without a vessels table or ship types.
    """
    if vessels is None or not len(vessels) or "ship_type" not in vessels:
        return np.zeros(0, np.int64)
    kind = pd.to_numeric(vessels["ship_type"], errors="coerce")
    return np.unique(vessels.loc[kind.isin(list(TUG_SHIP_TYPES)).to_numpy(bool), "mmsi"]
                     .to_numpy(np.int64))


def find_tows(tracks, tug_mmsi, max_distance_m: float = 500.0, min_duration="1h",
              min_sog_kn: float = 2.0, step="10min") -> pd.DataFrame:
    """Vessels travelling together with a tug: close, both under way, for long enough.

    The tracks are cut to the reports of vessels moving faster than ``min_sog_kn``, then
    :func:`stsdetect.detectors.rendezvous.find_pair_runs` (the rendezvous detector's vectorized
    pair search on its time grid) finds pairs within ``max_distance_m`` for at least
    ``min_duration``. Only pairs with a tug can be tows, and the pair search finds each pair
    from its two tracks alone, so it is given only the reports near a moving tug's in time
    (:func:`_near_tug_times`): the result is the same as over every moving report. A run of
    a tug (AIS type 31, 32 or 52, :data:`TUG_SHIP_TYPES`) with a vessel that is not a tug,
    both with median speed over ``min_sog_kn``, is a tow. Two tugs together are not a tow
    (harbour tugs travel in company).

    Parameters
    ----------
    tracks : stsdetect.tracks.Tracks
    tug_mmsi : array_like of int
        MMSIs of the towing vessels.
    max_distance_m : float, default 500.0
        Separation limit: the Global Fishing Watch encounter distance (500 m, Miller et al.
        2018, "Identifying global patterns of transshipment behavior", Front. Mar. Sci.),
        also the rendezvous detector's default; it covers coastal towing hawsers of a few
        hundred metres and pushed or alongside tows.
    min_duration : duration, default "1h"
        Least time together: one hour, as the issue defines a tow ("for an hour or more").
    min_sog_kn : float, default 2.0
        Both moving faster than 2 kn (the issue's definition), which separates a tow from two
        vessels moored together.
    step : duration, default "10min"
        Time grid of :func:`~stsdetect.detectors.rendezvous.find_pair_runs` (its default); a
        moving Class B reports every 30 s to 3 min (ITU-R M.1371-5), so every step has data.

    Returns
    -------
    pandas.DataFrame
        ``tug_mmsi``, ``mmsi`` (the towed vessel), ``duration_s`` (longest run together),
        one row per pair, sorted.
    """
    from stsdetect.detectors.rendezvous import find_pair_runs

    empty = pd.DataFrame({"tug_mmsi": np.zeros(0, np.int64), "mmsi": np.zeros(0, np.int64),
                          "duration_s": np.zeros(0)})
    tug_mmsi = np.unique(pd.to_numeric(pd.Series(np.atleast_1d(np.asarray(tug_mmsi, dtype=object))),
                                      errors="coerce").dropna().to_numpy(np.int64))
    if tracks is None or len(tracks) == 0 or tug_mmsi.size == 0:
        return empty
    moving = np.isfinite(tracks.sog_kn) & (tracks.sog_kn > min_sog_kn)
    tug_seg = np.flatnonzero(np.isin(tracks.segment_mmsi, tug_mmsi))
    tug_rows = range_rows(tracks.offsets[tug_seg], tracks.offsets[tug_seg + 1])
    tug_rows = tug_rows[moving[tug_rows]]
    if tug_rows.size == 0:
        return empty
    keep = moving & _near_tug_times(tracks.time_ns, tracks.time_ns[tug_rows], _reach_ns(step))
    runs = find_pair_runs(tracks.take(keep), max_distance_m=max_distance_m,
                          min_duration=min_duration, step=step, max_gap=_PAIR_MAX_GAP,
                          tolerance=_PAIR_TOLERANCE)
    a_tug = np.isin(runs["mmsi"].to_numpy(), tug_mmsi)
    b_tug = np.isin(runs["other_mmsi"].to_numpy(), tug_mmsi)
    fast = ((runs["median_sog_kn_a"] > min_sog_kn) & (runs["median_sog_kn_b"] > min_sog_kn))
    keep = (a_tug ^ b_tug) & fast.to_numpy(dtype=bool)
    if not keep.any():
        return empty
    runs = runs[keep]
    a_is_tug = a_tug[keep]
    tows = pd.DataFrame({
        "tug_mmsi": np.where(a_is_tug, runs["mmsi"], runs["other_mmsi"]).astype(np.int64),
        "mmsi": np.where(a_is_tug, runs["other_mmsi"], runs["mmsi"]).astype(np.int64),
        "duration_s": (runs["end_ns"] - runs["start_ns"]).to_numpy(dtype=np.int64) / 1e9,
    })
    tows = tows.groupby(["tug_mmsi", "mmsi"], as_index=False)["duration_s"].max()
    return tows.sort_values(["tug_mmsi", "mmsi"], ignore_index=True)


def _reach_ns(step) -> int:
    """How far in time from a moving tug's report a report may matter to a pair with it:
    ``2 max_gap + step + tolerance`` (see :func:`_near_tug_times`)."""
    return round((2 * duration_s(_PAIR_MAX_GAP) + duration_s(step)
                  + duration_s(_PAIR_TOLERANCE)) * 1e9)


def _near_tug_times(time_ns: np.ndarray, tug_ns: np.ndarray, reach_ns: int) -> np.ndarray:
    """Which reports may matter to a pair with a tug: a superset of those within
    ``reach_ns`` of a moving tug's report (those of the time bins, ``reach_ns`` wide, holding
    a tug report or next to one).

    With ``reach_ns = 2 max_gap + step + tolerance`` nothing a pair with a tug depends on is
    left out: a tug's grid time lies within ``max_gap`` of its reports, the partner's position
    there is interpolated from its reports within ``max_gap`` of it (and a grid time whose
    bracketing reports are farther is not interpolated, with or without the others), and the
    reports counted in a run (``n_positions``) lie within ``step + tolerance`` of a close grid
    time. A report dropped here is at least a whole bin from every kept one it would bracket,
    so no kept grid time is interpolated across a dropped stretch either.
    """
    if tug_ns.size == 0:
        return np.zeros(time_ns.shape, dtype=bool)
    t0 = int(tug_ns.min()) - 2 * reach_ns
    n_bins = (int(tug_ns.max()) + 2 * reach_ns - t0) // reach_ns + 1
    marked = np.zeros(n_bins + 2, dtype=bool)  # bin b at marked[b + 1]
    tug_bin = (tug_ns - t0) // reach_ns
    for d in (0, 1, 2):  # the bin itself and its neighbours
        marked[tug_bin + d] = True
    # each report's bin, clipped to the never-marked bins -1 and n_bins (marked[0] and
    # marked[n_bins + 1]: tug bins lie two bins inside), in place in one int64 array
    pos = np.subtract(time_ns, t0)
    np.floor_divide(pos, reach_ns, out=pos)
    np.clip(pos, -1, n_bins, out=pos)
    pos += 1
    return marked[pos]
