"""Tows: a vessel travelling with a tug, both under way (a barge being towed).

A detector like the others (``Tracks (+ params) -> table``): its table feeds the barge rules of
:func:`stsdetect.identity.classify_barges` through :func:`stsdetect.flags.flag_events`
(``tows=``), so the flagging stage runs no pair search of its own.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

__all__ = ["TUG_SHIP_TYPES", "find_tows", "tug_mmsi"]

#: AIS ship types (ITU-R M.1371-5, Table 53) of vessels that tow or push: 31 towing,
#: 32 towing with tow longer than 200 m or wider than 25 m, 52 tug.
TUG_SHIP_TYPES = (31, 32, 52)


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
    ``min_duration``. A run of a tug (AIS type 31, 32 or 52, :data:`TUG_SHIP_TYPES`) with a
    vessel that is not a tug, both with median speed over ``min_sog_kn``, is a tow. Two tugs
    together are not a tow (harbour tugs travel in company).

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
    if not np.isin(tracks.mmsi[moving], tug_mmsi).any():
        return empty
    runs = find_pair_runs(tracks.take(moving), max_distance_m=max_distance_m,
                          min_duration=min_duration, step=step)
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
