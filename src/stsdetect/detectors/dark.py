"""Going dark: reporting gaps (dark periods) and pairs of vessels that go dark together.

A *dark period* is a silence between two consecutive reports of one vessel track (segment)
longer than ``min_gap``. A dump's first and last report of a vessel open and close nothing: only
silences with a report on both sides are gaps.

A gap alone does not prove a transponder was switched off: the vessel may have sailed out of
receiver range, or the receiver itself may have stopped. :func:`find_dark_periods` therefore
counts the other vessels heard near where the vessel vanished while it was silent. A vessel that
falls silent where others are still heard is ``likely_intentional``; when everybody around it
falls silent together (a receiver outage, or a place no receiver covers) the gap is not.

A *dark rendezvous* (:func:`find_dark_rendezvous`) is two vessels that vanish near each other
and reappear near each other, with silences overlapping in time: the pattern of a transfer made
with both transponders off.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from stsdetect.detectors._checks import check_tracks, positive
from stsdetect.detectors._pairs import pairs_within
from stsdetect.detectors.coverage import (
    Coverage,
    estimate_coverage,
    path_coverage,
    reception_of_reports,
)
from stsdetect.events import make_events
from stsdetect.geo import (
    EARTH_RADIUS_M,
    KNOT_M_S,
    arc_to_chord_m,
    duration_s,
    epoch_s,
    haversine_m,
    latlon_from_xyz,
    unit_xyz,
    utc_from_ns,
)
from stsdetect.tracks import Tracks, as_time_ns, first_rows_in_bins, gap_rows

__all__ = ["find_dark_periods", "find_dark_rendezvous", "heard_counts"]

#: Most thinned reports per pair search when counting vessels heard (bounds peak memory).
_CHUNK_REPORTS = 1_000_000
#: Time slice per pair search when counting vessels heard, seconds.
_CHUNK_S = 3 * 3600.0
#: Relative slack on search chords; the exact test is then done with :func:`haversine_m`.
_RADIUS_SLACK = 1.0 + 1e-9


def _midpoint(lat1, lon1, lat2, lon2) -> tuple[np.ndarray, np.ndarray]:
    """Great-circle midpoints, correct across the antimeridian."""
    return latlon_from_xyz(unit_xyz(lat1, lon1) + unit_xyz(lat2, lon2))


def heard_counts(
    tracks: Tracks,
    lat_deg,
    lon_deg,
    start,
    end,
    mmsi,
    radius_m: float = 20_000.0,
    heard_bin="10min",
) -> np.ndarray:
    """Count distinct other vessels heard near points during time windows.

    For each query ``k``: the number of distinct MMSIs other than ``mmsi[k]`` with at least one
    report strictly inside ``(start[k], end[k])`` within ``radius_m`` (great-circle) of
    ``(lat_deg[k], lon_deg[k])``.

    Parameters
    ----------
    tracks : Tracks
        All reports of the dump.
    lat_deg, lon_deg : array_like
        Query points in degrees.
    start, end : array_like
        Query windows, exclusive at both ends: datetime64 (UTC) or int64 nanoseconds since
        the Unix epoch (floats are taken as seconds; see :func:`stsdetect.tracks.as_time_ns`).
    mmsi : array_like of int
        The vessel each query is about; its own reports are not counted.
    radius_m : float, default 20_000
        Search radius in metres (see :func:`find_dark_periods`).
    heard_bin : duration or None, default "10min"
        Before searching, keep only the first report of each track in each bin of this
        length aligned to the Unix epoch (``time_ns // heard_bin``, so the thinning of a
        report does not depend on where the dump starts). One report per vessel per 10 minutes is
        enough to know that it was heard, and cuts a 10-second reporting rate 60-fold; a vessel
        whose only reports inside the circle were thinned away is missed, so counts are a lower
        bound. ``None`` or ``0`` uses every report (exact, slower and larger).

    Returns
    -------
    numpy.ndarray of int64
        One count per query.

    Raises
    ------
    ValueError
        If the query arrays differ in shape or hold non-finite values.

    Notes
    -----
    The thinned reports are sorted by time and cut into 3-hour slices of at most one million
    rows; in each slice the queries whose windows overlap it are paired with the reports
    within the search chord over Earth-centred unit vectors (:func:`stsdetect.geo.unit_xyz`;
    a grid of cells, :func:`stsdetect.detectors._pairs.pairs_within`), and the candidate
    pairs are filtered by window, MMSI and exact haversine distance with NumPy. No Python loop
    runs per report or query.
    """
    lat_q = np.asarray(lat_deg, dtype=float)
    lon_q = np.asarray(lon_deg, dtype=float)
    start_q = as_time_ns(start, "start") if np.size(start) else np.zeros(0, np.int64)
    end_q = as_time_ns(end, "end") if np.size(end) else np.zeros(0, np.int64)
    mmsi_q = np.asarray(mmsi, dtype=np.int64)
    n_q = lat_q.size
    for name, arr in (("lon_deg", lon_q), ("start", start_q), ("end", end_q),
                      ("mmsi", mmsi_q)):
        if arr.shape != lat_q.shape or lat_q.ndim != 1:
            raise ValueError(f"{name} has shape {arr.shape}, expected ({n_q},) like lat_deg")
    bad = ~(np.isfinite(lat_q) & np.isfinite(lon_q))
    if bad.any():
        raise ValueError(f"{int(bad.sum())} queries have a non-finite position or time")
    counts = np.zeros(n_q, dtype=np.int64)
    if n_q == 0 or len(tracks) == 0:
        return counts
    radius_m = positive("radius_m", radius_m)
    bin_ns = 0 if heard_bin is None else round(duration_s(heard_bin) * 1e9)

    # Thin: first report of each segment in each time bin (rows are sorted by segment, time).
    if bin_ns > 0:
        rows = first_rows_in_bins(tracks, bin_ns)
    else:
        rows = np.arange(len(tracks))
    rows = rows[np.argsort(tracks.time_ns[rows], kind="stable")]
    # Vessel codes: small integers per distinct MMSI, to dedupe (query, vessel) pairs.
    uniq_mmsi, seg_code = np.unique(tracks.segment_mmsi, return_inverse=True)
    r_code = seg_code[tracks.segment[rows]]
    r_time = tracks.time_ns[rows]
    r_lat = tracks.lat_deg[rows]
    r_lon = tracks.lon_deg[rows]
    q_code = np.searchsorted(uniq_mmsi, mmsi_q)  # may point at another MMSI if mmsi_q unknown
    q_known = (q_code < uniq_mmsi.size) & (uniq_mmsi[np.minimum(q_code, uniq_mmsi.size - 1)]
                                            == mmsi_q)
    q_code = np.where(q_known, q_code, -1)
    q_xyz = unit_xyz(lat_q, lon_q)
    chord = arc_to_chord_m(radius_m) / EARTH_RADIUS_M * _RADIUS_SLACK

    n_codes = np.int64(uniq_mmsi.size)
    keys = []
    # Chunks: short time slices (so that a report found near a query is mostly inside its
    # window) of at most _CHUNK_REPORTS rows (bounded memory).
    slice_ns = max(round(_CHUNK_S * 1e9), (int(r_time[-1]) - int(r_time[0])) // 100_000 + 1)
    edges = np.arange(r_time[0], r_time[-1] + slice_ns, slice_ns)  # at most 1e5 edges
    bounds = np.union1d(np.searchsorted(r_time, edges, side="left"),
                        np.arange(0, rows.size, _CHUNK_REPORTS))
    bounds = np.union1d(bounds, [0, rows.size])
    for lo, hi in zip(bounds[:-1].tolist(), bounds[1:].tolist(), strict=True):  # chunks
        if hi <= lo:
            continue
        t_lo, t_hi = r_time[lo], r_time[hi - 1]
        q_sel = np.flatnonzero((start_q < t_hi) & (end_q > t_lo))
        if q_sel.size == 0:
            continue
        pq, pr = pairs_within(q_xyz[q_sel], chord,
                              other_xyz=unit_xyz(r_lat[lo:hi], r_lon[lo:hi]))
        if pq.size == 0:
            continue
        qi = q_sel[pq]
        ri = lo + pr
        ok = (r_time[ri] > start_q[qi]) & (r_time[ri] < end_q[qi]) & (r_code[ri] != q_code[qi])
        qi, ri = qi[ok], ri[ok]
        ok = haversine_m(lat_q[qi], lon_q[qi], r_lat[ri], r_lon[ri]) <= radius_m
        keys.append(np.unique(qi[ok] * n_codes + r_code[ri[ok]]))
    if keys:
        key = np.unique(np.concatenate(keys))
        counts = np.bincount(key // n_codes, minlength=n_q).astype(np.int64)
    return counts


def find_dark_periods(
    tracks: Tracks,
    min_gap="6h",
    radius_m: float | None = 20_000.0,
    min_others_heard: int = 1,
    heard_bin="10min",
    coverage=True,
    min_coverage: float = 0.5,
    coverage_cell_deg: float = 0.25,
    satellite_sources=None,
    reception: str = "auto",
    positions: pd.DataFrame | None = None,
    coverage_max_bracket="48h",
    coverage_min_vessels: int = 3,
    satellite_pass_gap="30min",
    satellite_pass_max="20min",
) -> pd.DataFrame:
    """Find reporting gaps ("dark periods") longer than ``min_gap``, for all vessels at once.

    Parameters
    ----------
    tracks : Tracks
        Cleaned tracks (:func:`stsdetect.build_tracks`). Gaps are looked for between
        consecutive reports of one segment; a vessel's first and last report are not gaps.
    min_gap : duration, default "6h"
        A silence must last strictly longer than this. Six hours is the shortest gap in
        Global Fishing Watch's AIS gap events and Skylight's dark-activity events; GFW's
        published "likely intentional disabling" events (Welch et al. 2022, *Hot spots of
        unseen fishing vessels*, Science Advances 8: eabq2109) use 12 hours: pass ``"12h"``
        to follow them.
    radius_m : float or None, default 20_000
        Radius around the vanishing point within which other vessels heard during the silence
        are counted. 20 km is a few times the position error of a vessel moving at 10 kn
        between two 10-minute samples and well inside the ~40 nmi range of a shore receiver,
        so a receiver that heard anybody there could have heard this vessel. ``None`` skips
        the count: ``n_other_heard`` and ``likely_intentional`` are then missing (``<NA>``).
    min_others_heard : int, default 1
        A gap is ``likely_intentional`` when at least this many other vessels were heard.
        With the default, one other vessel heard near the vanishing point while the vessel
        was silent is enough (the reception-quality test of Welch et al. 2022 in its
        simplest form).
    heard_bin : duration or None, default "10min"
        Thinning of the reports used to count vessels heard; see :func:`heard_counts`.
    coverage : bool or Coverage, default True
        Reception coverage learned from the data (:mod:`stsdetect.detectors.coverage`):
        ``True`` estimates it from ``tracks`` (reception inferred from the report cadence), a
        :class:`~stsdetect.detectors.coverage.Coverage` is used as given (e.g. built with the
        sources' satellite/terrestrial split), ``False`` skips it (``coverage`` is then NaN and
        only the heard count decides).
    min_coverage : float, default 0.5
        A gap is ``likely_intentional`` only when its ``coverage`` (the share of other vessels
        known to be along its path that were heard, hour by hour) is at least this: where at
        least half the vessels around were heard in a typical hour, a vessel heard in none of
        many hours is unlikely to be out of reception. Shore coverage gives ~1, satellite
        revisits every few hours ~0.1-0.2 (:func:`stsdetect.detectors.coverage.path_coverage`).
    coverage_cell_deg : float, default 0.25
        Grid cell of the coverage estimate
        (:func:`~stsdetect.detectors.coverage.estimate_coverage`).
    satellite_sources : str, sequence of str or None
        Source names (regular expression or list) of satellite reception, read from
        ``positions["source"]`` (:func:`~stsdetect.detectors.coverage.reception_of_reports`);
        None infers each report's reception from the cadence.
    reception : {"auto", "terrestrial", "satellite"}, default "auto"
        Say that the whole dump is one kind of reception.
    positions : pandas.DataFrame, optional
        The positions table the tracks came from (its ``source`` column), for
        ``satellite_sources``.
    coverage_max_bracket : duration, default "48h"
        A vessel silent longer than this is not counted present in the hours between
        (``max_bracket`` of :func:`~stsdetect.detectors.coverage.estimate_coverage`, where the
        default is explained).
    coverage_min_vessels : int, default 3
        Fewest other vessels a coverage cell-hour needs for its own figure, else a coarser
        cell is used (``min_vessels`` of
        :func:`~stsdetect.detectors.coverage.estimate_coverage`).
    satellite_pass_gap, satellite_pass_max : duration, default "30min", "20min"
        The cadence rule that tells satellite passes from shore reception when the sources do
        not say (``pass_gap``/``pass_max`` of
        :func:`~stsdetect.detectors.coverage.reception_of_reports`: a pass is seen for 10-15
        minutes).

    Returns
    -------
    pandas.DataFrame
        Events table (:data:`stsdetect.events.EVENT_COLUMNS`) of type ``dark_period``:
        ``start`` is the last report before the silence and ``end`` the first after it;
        ``lat``/``lon`` where the vessel vanished, ``end_lat``/``end_lon`` where it
        reappeared, ``distance_m`` between them, ``implied_speed_kn = distance_m / duration``,
        ``n_positions = 2``, ``n_other_heard``, ``coverage``, ``likely_intentional`` (at least
        ``min_others_heard`` heard *and* coverage at least ``min_coverage``) and the flag token
        ``likely_intentional`` when it holds. Region flags are added later by
        :func:`stsdetect.flags.flag_events`.

    Raises
    ------
    TypeError
        If ``tracks`` is not a :class:`~stsdetect.tracks.Tracks`.
    ValueError
        If a parameter is out of range, or tracks hold non-finite times or positions.
    """
    check_tracks(tracks)
    gap_s = duration_s(min_gap)
    if radius_m is not None:
        radius_m = positive("radius_m", radius_m)
    if int(min_others_heard) != min_others_heard or min_others_heard < 1:
        raise ValueError(f"min_others_heard must be a positive integer, got {min_others_heard!r}")
    if not 0.0 <= float(min_coverage) <= 1.0:
        raise ValueError(f"min_coverage must be between 0 and 1, got {min_coverage!r}")
    if not isinstance(coverage, (bool, Coverage)):
        raise TypeError(f"coverage must be True, False or a Coverage, got "
                        f"{type(coverage).__name__}")
    t = tracks.time_ns
    before = gap_rows(tracks, round(gap_s * 1e9))  # (no temporary of the rows' size)
    after = before + 1
    lat0, lon0 = tracks.lat_deg[before], tracks.lon_deg[before]
    lat1, lon1 = tracks.lat_deg[after], tracks.lon_deg[after]
    mmsi = tracks.mmsi[before]
    start, end = t[before], t[after]
    dist = haversine_m(lat0, lon0, lat1, lon1)
    speed_kn = dist / ((end - start) / 1e9) / KNOT_M_S if before.size else np.zeros(0)
    cover = np.full(before.size, np.nan)
    if coverage is not False and before.size:
        if coverage is True:
            satellite = reception_of_reports(tracks, positions,
                                             satellite_sources=satellite_sources,
                                             reception=reception, pass_gap=satellite_pass_gap,
                                             pass_max=satellite_pass_max)
            model = estimate_coverage(tracks, satellite=satellite, cell_deg=coverage_cell_deg,
                                      max_bracket=coverage_max_bracket,
                                      min_vessels=coverage_min_vessels)
        else:
            model = coverage
        if model.satellite.shape != (len(tracks),):
            raise ValueError("coverage was estimated from other tracks (its satellite flags do "
                             "not match these rows)")
        along = path_coverage(model, lat0, lon0, start, lat1, lon1, end)
        # A vessel last or next heard by satellite was out of shore range: only the satellite
        # coverage could have heard it.
        by_sat = model.satellite[before] | model.satellite[after]
        cover = np.where(by_sat, along["coverage_satellite"].to_numpy(float),
                         along["coverage"].to_numpy(float))
    if radius_m is None:
        heard = pd.array([None] * before.size, dtype="Int64")
        intentional = pd.array([None] * before.size, dtype="boolean")
        flags = [[] for _ in range(before.size)]
    else:
        heard = heard_counts(tracks, lat0, lon0, start, end, mmsi, radius_m=radius_m,
                             heard_bin=heard_bin)
        intentional = heard >= int(min_others_heard)
        if coverage is not False:
            intentional &= np.nan_to_num(cover, nan=-1.0) >= float(min_coverage)
        flags = [["likely_intentional"] if f else [] for f in intentional.tolist()]
    return make_events(
        "dark_period",
        n=before.size,
        mmsi=mmsi,
        start=utc_from_ns(start),
        end=utc_from_ns(end),
        lat=lat0,
        lon=lon0,
        end_lat=lat1,
        end_lon=lon1,
        distance_m=dist,
        implied_speed_kn=speed_kn,
        n_positions=np.full(before.size, 2, dtype=np.int64),
        n_other_heard=heard,
        coverage=cover,
        likely_intentional=intentional,
        flags=flags,
    )


def find_dark_rendezvous(
    dark_periods: pd.DataFrame,
    max_distance_m: float = 10_000.0,
    min_overlap="2h",
    min_coverage: float | None = 0.5,
) -> pd.DataFrame:
    """Find pairs of vessels that went dark near each other and reappeared near each other.

    Parameters
    ----------
    dark_periods : pandas.DataFrame
        An events table holding ``dark_period`` events (from :func:`find_dark_periods`);
        rows of other event types are ignored.
    max_distance_m : float, default 10_000
        Most separation, both where the two vessels vanished and where they reappeared.
        10 km is half the default heard radius of :func:`find_dark_periods`: two vessels
        that switch off within sight of each other (horizon distance from a bridge ~10 nmi)
        and switch on again close together.
    min_overlap : duration, default "2h"
        Least time both were silent at once; the published encounter definition (Miller et
        al. 2018, *Identifying global patterns of transshipment behavior*, Frontiers in Marine
        Science 5: 240) requires two hours alongside.
    min_coverage : float or None, default 0.5
        Both silences need a ``coverage`` (:func:`find_dark_periods`) of at least this: two
        companions that fall into the same satellite revisit gap, or a place no receiver
        hears, are not a dark rendezvous. A silence whose coverage is unknown (NaN: no other
        vessel was known present) fails the test. When the dark periods carry no coverage
        figures at all (computed with ``coverage=False``, or a table without the column), or
        with ``None``, there is no requirement.

    Returns
    -------
    pandas.DataFrame
        Events table of type ``dark_rendezvous``: ``mmsi`` the smaller MMSI, ``other_mmsi``
        the larger; ``start``/``end`` the overlap of the two silences; ``lat``/``lon`` the
        midpoint of the vanishing points and ``end_lat``/``end_lon`` of the reappearing
        points; ``distance_m`` the separation at vanishing and ``end_distance_m`` at
        reappearing; ``n_positions = 4`` (the reports bounding both silences);
        ``coverage`` the smaller of the two silences' coverages;
        ``likely_intentional`` (and its flag token) when both silences were. Region and
        identity flags are added later by :func:`stsdetect.flags.flag_events`.

    Notes
    -----
    Candidate pairs are the dark periods whose vanishing points lie within the chord radius
    (a grid of cells over unit vectors, :func:`stsdetect.detectors._pairs.pairs_within`);
    the exact haversine tests at both ends, the MMSI and overlap tests are then NumPy
    filters. The result does not depend on row order.
    """
    if not isinstance(dark_periods, pd.DataFrame):
        raise TypeError(f"expected an events DataFrame, got {type(dark_periods).__name__}")
    max_distance_m = positive("max_distance_m", max_distance_m)
    overlap_s = duration_s(min_overlap)
    need = ["event_type", "mmsi", "start", "end", "lat", "lon", "end_lat", "end_lon"]
    missing = [c for c in need if c not in dark_periods.columns]
    if missing:
        raise ValueError(f"dark_periods lacks columns {missing}; pass find_dark_periods output")
    dp = dark_periods[dark_periods["event_type"] == "dark_period"]
    dp = dp.dropna(subset=["lat", "lon", "end_lat", "end_lon", "start", "end"])
    if min_coverage is not None and not 0.0 <= float(min_coverage) <= 1.0:
        raise ValueError(f"min_coverage must be between 0 and 1, got {min_coverage!r}")
    if min_coverage is not None and "coverage" in dp.columns:
        cov = pd.to_numeric(dp["coverage"], errors="coerce").to_numpy(float)
        if np.isfinite(cov).any():  # figures were computed: require them
            dp = dp[np.nan_to_num(cov, nan=-1.0) >= float(min_coverage)]
    def empty():
        return make_events("dark_rendezvous", n=0, mmsi=np.zeros(0, np.int64))

    if len(dp) < 2:
        return empty()
    mmsi = dp["mmsi"].to_numpy(np.int64)
    start = epoch_s(dp["start"])
    end = epoch_s(dp["end"])
    lat0, lon0 = dp["lat"].to_numpy(float), dp["lon"].to_numpy(float)
    lat1, lon1 = dp["end_lat"].to_numpy(float), dp["end_lon"].to_numpy(float)
    # Candidates: start points within the chord (the end points are checked below).
    chord = arc_to_chord_m(max_distance_m) / EARTH_RADIUS_M * _RADIUS_SLACK
    i, j = pairs_within(unit_xyz(lat0, lon0), chord)
    if i.size == 0:
        return empty()
    ov_start = np.maximum(start[i], start[j])
    ov_end = np.minimum(end[i], end[j])
    d0 = haversine_m(lat0[i], lon0[i], lat0[j], lon0[j])
    d1 = haversine_m(lat1[i], lon1[i], lat1[j], lon1[j])
    ok = ((mmsi[i] != mmsi[j]) & (ov_end - ov_start >= overlap_s)
          & (d0 <= max_distance_m) & (d1 <= max_distance_m))
    i, j, ov_start, ov_end, d0, d1 = i[ok], j[ok], ov_start[ok], ov_end[ok], d0[ok], d1[ok]
    # The smaller MMSI first, so that the pair reads the same whichever order it came in.
    swap = mmsi[i] > mmsi[j]
    i, j = np.where(swap, j, i), np.where(swap, i, j)
    mid_lat0, mid_lon0 = _midpoint(lat0[i], lon0[i], lat0[j], lon0[j])
    mid_lat1, mid_lon1 = _midpoint(lat1[i], lon1[i], lat1[j], lon1[j])
    # A total order on the output, so that ties in (start, mmsi, other_mmsi) do not leave the
    # row order to the input's.
    order = np.lexsort((d1, d0, mid_lon1, mid_lat1, mid_lon0, mid_lat0, ov_end, mmsi[j],
                        mmsi[i], ov_start))
    i, j, ov_start, ov_end, d0, d1 = (a[order] for a in (i, j, ov_start, ov_end, d0, d1))
    mid_lat0, mid_lon0, mid_lat1, mid_lon1 = (
        a[order] for a in (mid_lat0, mid_lon0, mid_lat1, mid_lon1))
    if "coverage" in dp.columns:
        cov_all = pd.to_numeric(dp["coverage"], errors="coerce").to_numpy(float)
        pair_cov = np.fmin(cov_all[i], cov_all[j])
    else:
        pair_cov = np.full(i.size, np.nan)
    if "likely_intentional" in dp.columns:
        li = dp["likely_intentional"].astype("boolean").fillna(False).to_numpy(bool)
        both = li[i] & li[j]
    else:
        both = np.zeros(i.size, dtype=bool)
    return make_events(
        "dark_rendezvous",
        n=i.size,
        mmsi=mmsi[i],
        other_mmsi=mmsi[j],
        start=ov_start,
        end=ov_end,
        lat=mid_lat0,
        lon=mid_lon0,
        end_lat=mid_lat1,
        end_lon=mid_lon1,
        distance_m=d0,
        end_distance_m=d1,
        n_positions=np.full(i.size, 4, dtype=np.int64),
        coverage=pair_cov,
        likely_intentional=both,
        flags=[["likely_intentional"] if f else [] for f in both.tolist()],
    )
