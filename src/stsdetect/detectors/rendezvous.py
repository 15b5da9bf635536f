"""Rendezvous (encounter) detector: two vessels close together, slow, for a long time.

The definition follows the Global Fishing Watch encounter events: two vessels within 500 m of
each other for at least 2 hours, with a median speed under 2 knots (Miller, N. A., Roan, A.,
Hochberg, T., Amos, J. & Kroodsma, D. A. (2018). Identifying Global Patterns of Transshipment
Behavior. *Frontiers in Marine Science* 5:240, doi:10.3389/fmars.2018.00240). The tracks are
first resampled onto a shared 10-minute grid.

Three stages, all vectorized:

1. :func:`resample` -- every track onto one shared time grid (interpolated within a segment,
   never across a reporting gap longer than ``max_gap``);
2. close pairs at every grid time at once, with a grid of cells over Earth-centred unit
   vectors (one compiled pass), chunked over grid time for bounded memory;
3. :func:`find_pair_runs` -- consecutive close grid times of one pair joined into runs
   (tolerating a short interruption), with per-run statistics; :func:`find_rendezvous` keeps
   the slow ones and returns the events table.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from ..events import make_events
from ..geo import duration_s, latlon_from_xyz, unit_xyz, utc_from_ns, wrap_lon_deg
from ..tracks import Tracks
from ._checks import check_tracks
from ._grid import (
    Resampled,
    close_pairs,
    count_rows_between,
    group_median,
    resample_tracks,
    run_mean_of_two,
)

__all__ = ["PAIR_RUN_COLUMNS", "Resampled", "find_pair_runs", "find_rendezvous", "resample"]

#: Columns of :func:`find_pair_runs` and their dtypes.
PAIR_RUN_COLUMNS = {
    "mmsi": "int64",
    "other_mmsi": "int64",
    "segment": "int64",
    "other_segment": "int64",
    "start_ns": "int64",
    "end_ns": "int64",
    "lat": "float64",
    "lon": "float64",
    "distance_m": "float64",
    "min_distance_m": "float64",
    "median_sog_kn_a": "float64",
    "median_sog_kn_b": "float64",
    "mean_sog_kn": "float64",
    "n_positions": "int64",
    "n_steps": "int64",
}

_DEFAULT_CHUNK_POINTS = 2_000_000


def _positive_s(name: str, value) -> float:
    seconds = duration_s(value)
    if seconds <= 0:
        raise ValueError(f"{name} must be a positive duration, got {value!r}")
    return seconds


def resample(tracks: Tracks, step="10min", max_gap="1h") -> Resampled:
    """Resample every track segment onto one shared time grid.

    Parameters
    ----------
    tracks : Tracks
        Cleaned tracks (:func:`stsdetect.build_tracks`).
    step : duration, default "10min"
        Grid spacing: at least 1 s (AIS times are whole seconds), and long enough that the
        grid stays within ``MAX_GRID_POINTS`` (2**28) points, else ValueError (both bounds in
        ``stsdetect.detectors._grid``). 10 minutes (our choice) resolves the 2-hour minimum
        duration of the GFW definition into 13 grid times, and is longer than the 3-minute
        report interval of a slow Class A ship, so most grid times have a report on each
        side. The grid is aligned to multiples of ``step`` since the Unix epoch, the same
        for every vessel.
    max_gap : duration, default "1h"
        Longest reporting gap interpolated across; grid times inside longer gaps are left out.
        One hour: a Class A transponder reports at least every 3 minutes even at anchor
        (ITU-R M.1371-5, Table 1), so an hour of silence is an outage, not sparse reporting.

    Returns
    -------
    Resampled
        A named tuple ``(grid, segment, lat_deg, lon_deg, sog_kn)`` of equal-length arrays,
        sorted by ``(segment, grid)``; the time of a row is ``grid * step`` since the
        epoch. Positions are interpolated along the great circle; speeds linearly between
        reported speeds, else the speed implied by the bracketing positions.
    """
    tracks = check_tracks(tracks)
    return resample_tracks(tracks, _positive_s("step", step), duration_s(max_gap))


_EMPTY_RUNS = pd.DataFrame({k: pd.Series([], dtype=v) for k, v in PAIR_RUN_COLUMNS.items()})


def find_pair_runs(
    tracks: Tracks,
    max_distance_m: float = 500.0,
    min_duration="2h",
    step="10min",
    max_gap="1h",
    tolerance="10min",
    chunk_points: int = _DEFAULT_CHUNK_POINTS,
) -> pd.DataFrame:
    """Runs of grid times during which two vessels stay within ``max_distance_m``.

    Parameters
    ----------
    tracks : Tracks
        Cleaned tracks.
    max_distance_m : float, default 500.0
        Greatest great-circle separation of a close pair (GFW encounters: 500 m, Miller et al.
        2018). Pairs at exactly this distance are close.
    min_duration : duration, default "2h"
        Least time from the first to the last close grid time of a run (GFW: 2 hours).
    step, max_gap : duration
        Resampling grid, see :func:`resample`.
    tolerance : duration, default "10min"
        Longest interruption bridged inside one run: close grid times at most
        ``step + tolerance`` apart are joined. The default bridges one missed grid step, e.g.
        one position glitch; use ``0`` for strictly consecutive grid times. (Our choice; the
        GFW paper does not specify one.)
    chunk_points : int, default 2_000_000
        Most resampled points in one pair search (searches take about 50 000 points, whole
        grid times, unless a grid time has more); bounds the pair search's working memory.
        Any value gives the same result.

    Returns
    -------
    pandas.DataFrame
        One row per run, columns :data:`PAIR_RUN_COLUMNS`: ``mmsi`` < ``other_mmsi`` (two
        segments of one MMSI are never paired), their segment ids, ``start_ns`` and
        ``end_ns`` (grid times, int64 nanoseconds since the epoch, UTC), ``lat``/``lon`` (mean
        position of both vessels), ``distance_m`` (median separation), ``min_distance_m``,
        ``median_sog_kn_a``/``_b`` (median resampled speed of each vessel over the close grid
        times), ``mean_sog_kn`` (both vessels), ``n_positions`` (real reports of both vessels
        within ``[start_ns, end_ns]``) and ``n_steps`` (close grid times). Sorted by
        ``(start_ns, mmsi, other_mmsi)``. The result does not depend on input row order.
    """
    tracks = check_tracks(tracks)
    if not (np.isfinite(max_distance_m) and max_distance_m > 0):
        raise ValueError(f"max_distance_m must be a positive distance, got {max_distance_m!r}")
    step_s = _positive_s("step", step)
    min_duration_s = duration_s(min_duration)
    tolerance_s = duration_s(tolerance)
    res, xyz = resample_tracks(tracks, step_s, duration_s(max_gap), return_xyz=True)
    a, b, dist = close_pairs(res, tracks.segment_mmsi, float(max_distance_m), chunk_points,
                             xyz=xyz)
    del xyz
    if a.size == 0:
        return _EMPTY_RUNS.copy()

    seg_a, seg_b, k = res.segment[a], res.segment[b], res.grid[a]
    order = np.lexsort((k, seg_b, seg_a))
    a, b, dist, seg_a, seg_b, k = (x[order] for x in (a, b, dist, seg_a, seg_b, k))
    max_jump = int(np.floor((step_s + tolerance_s) / step_s + 1e-9))
    step_ns = round(step_s * 1e9)
    new_run = np.ones(a.size, dtype=bool)
    new_run[1:] = ((seg_a[1:] != seg_a[:-1]) | (seg_b[1:] != seg_b[:-1])
                   | (k[1:] - k[:-1] > max_jump))
    run = np.cumsum(new_run) - 1
    first = np.flatnonzero(new_run)
    last = np.append(first[1:] - 1, a.size - 1)
    start_ns = k[first] * step_ns
    end_ns = k[last] * step_ns
    long_enough = (end_ns - start_ns) >= round(min_duration_s * 1e9)
    if not long_enough.any():
        return _EMPTY_RUNS.copy()
    # Keep only observations of long runs, renumbered.
    keep_obs = long_enough[run]
    a, b, dist, seg_a, seg_b, run = (x[keep_obs] for x in (a, b, dist, seg_a, seg_b, run))
    run = np.cumsum(long_enough)[run] - 1
    first, start_ns, end_ns = first[long_enough], start_ns[long_enough], end_ns[long_enough]
    n_runs = first.size
    first = np.searchsorted(run, np.arange(n_runs), "left")

    sog_a, sog_b = res.sog_kn[a], res.sog_kn[b]
    xyz = unit_xyz(res.lat_deg[a], res.lon_deg[a]) + unit_xyz(res.lat_deg[b], res.lon_deg[b])
    xyz_sum = np.add.reduceat(xyz, first, axis=0)
    lat, lon = latlon_from_xyz(xyz_sum)
    mean_sog = run_mean_of_two(sog_a, sog_b, first)
    ra, rb = seg_a[first], seg_b[first]
    n_pos = count_rows_between(tracks, np.concatenate((ra, rb)), np.tile(start_ns, 2),
                               np.tile(end_ns, 2)).reshape(2, -1).sum(axis=0)
    cols = {
        "mmsi": tracks.segment_mmsi[ra],
        "other_mmsi": tracks.segment_mmsi[rb],
        "segment": ra,
        "other_segment": rb,
        "start_ns": start_ns,
        "end_ns": end_ns,
        "lat": lat,
        "lon": wrap_lon_deg(lon),
        "distance_m": group_median(run, dist, n_runs),
        "min_distance_m": np.minimum.reduceat(dist, first),
        "median_sog_kn_a": group_median(run, sog_a, n_runs),
        "median_sog_kn_b": group_median(run, sog_b, n_runs),
        "mean_sog_kn": mean_sog,
        "n_positions": n_pos,
        "n_steps": np.diff(np.append(first, run.size)),
    }
    cols = {k: np.asarray(v, dtype=PAIR_RUN_COLUMNS[k]) for k, v in cols.items()}
    # sorted by (start_ns, mmsi, other_mmsi, segment, other_segment), stably, on the arrays
    order = np.lexsort(tuple(cols[k] for k in ("other_segment", "segment", "other_mmsi",
                                               "mmsi", "start_ns")))
    return pd.DataFrame({k: v[order] for k, v in cols.items()})


def find_rendezvous(
    tracks: Tracks,
    max_distance_m: float = 500.0,
    min_duration="2h",
    max_speed_kn: float = 2.0,
    step="10min",
    max_gap="1h",
    tolerance="10min",
    chunk_points: int = _DEFAULT_CHUNK_POINTS,
) -> pd.DataFrame:
    """Find rendezvous: two vessels within 500 m, for 2 hours or more, both nearly still.

    Defaults follow the Global Fishing Watch encounter definition: within 500 m for at least
    2 hours with a median speed under 2 knots (Miller, N. A., Roan, A., Hochberg, T., Amos, J.
    & Kroodsma, D. A. (2018). Identifying Global Patterns of Transshipment Behavior.
    *Frontiers in Marine Science* 5:240, doi:10.3389/fmars.2018.00240).

    Parameters
    ----------
    tracks : Tracks
        Cleaned tracks (:func:`stsdetect.build_tracks`).
    max_distance_m : float, default 500.0
        Greatest separation, great-circle metres (GFW: 500 m).
    min_duration : duration, default "2h"
        Least duration of the close run (GFW: 2 hours).
    max_speed_kn : float, default 2.0
        Each vessel's median speed over the run must be under this (GFW: 2 knots). A run where
        a vessel's speed is unknown throughout is not reported.
    step, max_gap, tolerance, chunk_points
        See :func:`find_pair_runs` and :func:`resample`.

    Returns
    -------
    pandas.DataFrame
        The events table (:data:`stsdetect.events.EVENT_COLUMNS`), ``event_type`` =
        ``"rendezvous"``: ``mmsi`` the smaller MMSI, ``other_mmsi`` the other, ``start``/``end``
        the first and last close grid time, ``lat``/``lon`` the mean position, ``distance_m``
        the median separation, ``min_distance_m``, ``mean_sog_kn`` and ``n_positions`` (real
        reports of both vessels within the span). Independent of input row order; (a, b) and
        (b, a) are the same event.
    """
    if not (np.isfinite(max_speed_kn) and max_speed_kn > 0):
        raise ValueError(f"max_speed_kn must be a positive speed, got {max_speed_kn!r}")
    runs = find_pair_runs(tracks, max_distance_m=max_distance_m, min_duration=min_duration,
                          step=step, max_gap=max_gap, tolerance=tolerance,
                          chunk_points=chunk_points)
    slow = ((runs["median_sog_kn_a"] < max_speed_kn)
            & (runs["median_sog_kn_b"] < max_speed_kn)).to_numpy()
    runs = runs[slow]
    return make_events(
        "rendezvous",
        n=len(runs),
        mmsi=runs["mmsi"].to_numpy(),
        other_mmsi=runs["other_mmsi"].to_numpy(),
        start=utc_from_ns(runs["start_ns"].to_numpy()),
        end=utc_from_ns(runs["end_ns"].to_numpy()),
        lat=runs["lat"].to_numpy(),
        lon=runs["lon"].to_numpy(),
        distance_m=runs["distance_m"].to_numpy(),
        min_distance_m=runs["min_distance_m"].to_numpy(),
        mean_sog_kn=runs["mean_sog_kn"].to_numpy(),
        n_positions=runs["n_positions"].to_numpy(),
    )
