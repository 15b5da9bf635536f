"""Reception coverage learned from the data: how well was each place heard, hour by hour?

A silence of a vessel means something only where a receiver was listening. Shore stations listen
all the time within their range; satellites listen for ten minutes or so per pass, every 1-12
hours, and decode only part of what they hear. The test "another vessel was heard within 20 km"
(:func:`stsdetect.detectors.dark.heard_counts`) cannot tell the two apart: on satellite data some
vessel is heard near almost every silence at some pass, so every revisit gap looks intentional.

:func:`estimate_coverage` measures reception from the dump itself. For each cell of a grid
(default 0.25 degrees) and each hour:

* a vessel is *known present* in an hour when it has a report in that hour, or a report before
  and a report after it (bracketed, at most ``max_bracket`` apart); its cell in an hour without a
  report is where it was at the middle of the hour, interpolated between the two bracketing
  reports;
* it was *heard* when it has a report in that hour;
* the cell's coverage in that hour is ``heard / present``.

Where a cell holds too few vessels (fewer than ``min_vessels`` others), the estimate falls back
to a coarser cell (4 x 4 cells, 1 degree by default) and then to the whole dump in that hour.

Reports are also split by *reception*: terrestrial or satellite. Where the source says which is
which (the tag-block ``s:`` source or the ``$PGHP`` ``pss`` field, kept in the positions table's
``source`` column, matched against a user pattern ``satellite_sources``), that is used; where it
does not, the reception of each report is inferred from the report cadence: a satellite pass
gives a short burst of reports (at most ``pass_max`` long) with long silences on both sides (more
than ``pass_gap``), a shore station a continuous stream. The grid carries ``heard_terrestrial``
and ``heard_satellite`` counts beside the total.

:func:`path_coverage` then gives a silence its ``coverage``: the mean, over the hours strictly
inside the silence, of the coverage of the cell the vessel was in (interpolated between where it
vanished and where it reappeared), with the vessel itself left out of the counts (it was present
and not heard, by definition). It reads as "the share of vessels known to be along this path that
were heard, hour by hour". Continuous shore reception gives a figure near 1; satellite revisits
every few hours give about (decoding rate) x (passes per hour), far below 0.5.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

import numpy as np
import pandas as pd

from stsdetect.detectors._checks import check_tracks, positive
from stsdetect.geo import duration_s
from stsdetect.tracks import Tracks, as_time_ns, gap_rows

__all__ = ["COUNT_COLUMNS", "COVERAGE_COLUMNS", "RECEPTIONS", "Coverage", "assemble_coverage",
           "bursts", "coverage_counts", "estimate_coverage", "path_coverage",
           "reception_of_reports", "tally", "unheard_hours"]

#: Columns of :attr:`Coverage.grid`.
COVERAGE_COLUMNS = ["level", "cell_deg", "lat", "lon", "start", "present", "heard",
                    "heard_terrestrial", "heard_satellite", "coverage"]

#: Values of ``reception``: every report heard on shore, every report heard from space, or
#: inferred report by report from the cadence (``"auto"``).
RECEPTIONS = ("auto", "terrestrial", "satellite")

#: Coarser fallback cells are this many fine cells on a side.
_COARSE_FACTOR = 4


@dataclass(frozen=True, eq=False)
class Coverage:
    """Coverage counts per (level, cell, hour bin), from :func:`estimate_coverage`.

    Attributes
    ----------
    keys : numpy.ndarray of int64
        Sorted composite keys ``(level * n_cells + cell) * n_bins + (bin - bin0)``.
    present, heard, heard_terrestrial, heard_satellite : numpy.ndarray of int64
        Vessel-hours per key: known present, heard, heard by terrestrial / satellite reception.
    cell_deg : float
        Side of a fine cell in degrees.
    bin_s : float
        Length of a time bin in seconds.
    bin0, n_bins : int
        First bin (``time_ns // bin_ns``, bins aligned to the Unix epoch) and number of bins
        covered.
    max_bracket_s : float
        Longest silence across which a vessel is counted present.
    min_vessels : int
        Fewest other vessels a cell needs before its own figure is used.
    satellite : numpy.ndarray of bool
        Per row of the tracks the counts were made from: received by satellite.
    """

    keys: np.ndarray
    present: np.ndarray
    heard: np.ndarray
    heard_terrestrial: np.ndarray
    heard_satellite: np.ndarray
    cell_deg: float
    bin_s: float
    bin0: int
    n_bins: int
    max_bracket_s: float
    min_vessels: int
    satellite: np.ndarray

    @property
    def grid(self) -> pd.DataFrame:
        """The counts as a table (:data:`COVERAGE_COLUMNS`), one row per level, cell and hour.

        ``level`` 0 is the fine grid, 1 the coarse one, 2 the whole dump; ``lat``/``lon`` the
        cell's centre (NaN for level 2); ``start`` the UTC start of the hour;
        ``coverage = heard / present``.
        """
        n_cells = _n_cells(self.cell_deg)
        slot = self.keys // self.n_bins
        level = slot // n_cells
        cell = slot % n_cells
        size = self.cell_deg * float(_COARSE_FACTOR) ** level
        nx = np.ceil(360.0 / size).astype(np.int64)
        iy, ix = cell // nx, cell % nx
        lat = -90.0 + (iy + 0.5) * size
        lon = -180.0 + (ix + 0.5) * size
        start = (self.bin0 + self.keys % self.n_bins) * self.bin_s
        return pd.DataFrame({
            "level": level.astype(np.int8), "cell_deg": size, "lat": lat, "lon": lon,
            "start": pd.to_datetime(np.round(start * 1e9).astype(np.int64), utc=True),
            "present": self.present, "heard": self.heard,
            "heard_terrestrial": self.heard_terrestrial, "heard_satellite": self.heard_satellite,
            "coverage": self.heard / np.maximum(self.present, 1),
        }, columns=COVERAGE_COLUMNS)


def _n_cells(cell_deg: float) -> int:
    return int(np.ceil(180.0 / cell_deg)) * int(np.ceil(360.0 / cell_deg))


def _cell(lat, lon, size_deg: float) -> np.ndarray:
    """Cell index of points on a grid of ``size_deg`` (rows from the south, columns from -180)."""
    ny, nx = int(np.ceil(180.0 / size_deg)), int(np.ceil(360.0 / size_deg))
    iy = np.clip(np.floor((np.asarray(lat) + 90.0) / size_deg), 0, ny - 1).astype(np.int64)
    ix = np.floor(((np.asarray(lon) + 180.0) % 360.0) / size_deg).astype(np.int64) % nx
    return iy * nx + ix


def _interp(t, t0, lat0, lon0, t1, lat1, lon1):
    """Positions at times ``t`` on the straight (lat/lon) line between two reports."""
    span = np.where(t1 > t0, t1 - t0, 1.0)
    frac = np.clip((t - t0) / span, 0.0, 1.0)
    dlon = (lon1 - lon0 + 180.0) % 360.0 - 180.0  # the short way across the antimeridian
    lon = (lon0 + frac * dlon + 180.0) % 360.0 - 180.0
    return lat0 + frac * (lat1 - lat0), lon


def _runs_of_hours(n):
    """Expand ``n[k]`` consecutive offsets 0..n[k]-1 per item: (item index, offset)."""
    item = np.repeat(np.arange(n.size), n)
    off = np.arange(item.size) - np.repeat(np.cumsum(n) - n, n)
    return item, off


def reception_of_reports(tracks: Tracks, positions: pd.DataFrame | None = None,
                         satellite_sources=None, reception: str = "auto",
                         pass_gap="30min", pass_max="20min") -> np.ndarray:
    """Whether each report of ``tracks`` was received by satellite (True) or on shore (False).

    Parameters
    ----------
    tracks : Tracks
        The cleaned reports.
    positions : pandas.DataFrame, optional
        The positions table the tracks were built from, with its ``source`` column (tag-block
        ``s:`` or ``$PGHP`` source); used with ``satellite_sources``.
    satellite_sources : str, sequence of str or None
        A regular expression (searched) or a list of exact source names that mark satellite
        reception. Source names are not standardised (ORBCOMM, Spire and exactEarth name
        their shore and space receivers alike), so there is no default: without it the
        reception is inferred from the cadence.
    reception : {"auto", "terrestrial", "satellite"}, default "auto"
        Say that the whole dump is one kind; ``"auto"`` uses the sources when
        ``satellite_sources`` is given, else the cadence.
    pass_gap, pass_max : duration, default "30min", "20min"
        Cadence rule: a burst of a vessel's reports no more than ``pass_gap`` apart, lasting at
        most ``pass_max``, with silences longer than ``pass_gap`` on both sides (or the track's
        ends), is a satellite pass. A low-orbit AIS satellite sees a ship for about 10-15
        minutes per pass (footprint ~5,000 km at 7.5 km/s); a shore station hears a ship in
        range continuously (Class A every 10 s to 3 min).

    Returns
    -------
    numpy.ndarray of bool
        One value per row of ``tracks``.

    Raises
    ------
    ValueError
        On an unknown ``reception`` or a positions table without ``source``.
    """
    check_tracks(tracks)
    if reception not in RECEPTIONS:
        raise ValueError(f"reception must be one of {RECEPTIONS}, got {reception!r}")
    n = len(tracks)
    if reception != "auto":
        return np.full(n, reception == "satellite")
    if satellite_sources is not None:
        if positions is None or "source" not in positions.columns:
            raise ValueError("satellite_sources needs the positions table with its 'source' "
                             "column")
        return _satellite_from_sources(tracks, positions, satellite_sources)
    if n == 0:
        return np.zeros(0, dtype=bool)
    starts, short, alone = _burst_starts(tracks, pass_gap, pass_max)
    # A track of a single burst is not a pass pattern (nothing shows the silences around it).
    # Each burst's value repeated over its rows (no burst number per row to make and read).
    return np.repeat(short & ~alone, np.diff(np.append(starts, n)))


def bursts(tracks: Tracks, pass_gap="30min", pass_max="20min"):
    """Bursts of reports: each segment's runs of reports at most ``pass_gap`` apart.

    Parameters
    ----------
    tracks : Tracks
        Cleaned tracks.
    pass_gap, pass_max : duration
        See :func:`reception_of_reports`.

    Returns
    -------
    burst : numpy.ndarray of int64
        Burst number of each row.
    starts : numpy.ndarray of int64
        First row of each burst.
    short : numpy.ndarray of bool
        Per burst: lasts at most ``pass_max``.
    alone : numpy.ndarray of bool
        Per burst: the only burst of its segment in ``tracks``.
    """
    n = len(tracks)
    if n == 0:
        e = np.zeros(0, np.int64)
        return e, e, np.zeros(0, bool), np.zeros(0, bool)
    starts, short, alone = _burst_starts(tracks, pass_gap, pass_max)
    burst = np.repeat(np.arange(starts.size, dtype=np.int64), np.diff(np.append(starts, n)))
    return burst, starts, short, alone


def _burst_starts(tracks: Tracks, pass_gap, pass_max):
    """:func:`bursts` without the burst number of each row: ``starts``, ``short``, ``alone``
    (``tracks`` not empty)."""
    gap_ns, max_ns = round(duration_s(pass_gap) * 1e9), round(duration_s(pass_max) * 1e9)
    t, seg = tracks.time_ns, tracks.segment
    n = len(tracks)
    # a burst starts each segment and follows each step longer than the gap (gap_rows: no
    # temporary of the rows' size)
    starts = np.union1d(tracks.offsets[:-1], gap_rows(tracks, gap_ns) + 1)
    ends = np.r_[starts[1:], n] - 1
    short = (t[ends] - t[starts]) <= max_ns
    b_seg = seg[starts]
    alone = np.r_[True, b_seg[1:] != b_seg[:-1]] & np.r_[b_seg[1:] != b_seg[:-1], True]
    return starts, short, alone


def _satellite_from_sources(tracks, positions, satellite_sources) -> np.ndarray:
    src = positions["source"].astype("string").fillna("")
    names = pd.unique(src.to_numpy(dtype=object))
    if isinstance(satellite_sources, str):
        pattern = re.compile(satellite_sources)
        sat_names = {s for s in names if pattern.search(str(s))}
    else:
        sat_names = {str(s) for s in satellite_sources}
    is_sat = src.isin(sat_names).to_numpy(dtype=bool)
    # Align positions with track rows on (mmsi, time in ns): a report kept by the cleaning is
    # satellite when any copy of it (another station heard it too) came by satellite.
    p_mmsi = positions["mmsi"].to_numpy(dtype=np.int64)
    p_ns = pd.to_datetime(positions["time"], utc=True).to_numpy(dtype="datetime64[ns]") \
        .view(np.int64)
    t_ns = tracks.time_ns
    if not len(tracks) or not p_ns.size:
        return np.zeros(len(tracks), dtype=bool)
    # dense ranks of the times make (mmsi, time) one int64 key: mmsi < 2**30, ranks < 2**33
    _, rank = np.unique(np.r_[p_ns, t_ns], return_inverse=True)
    p_key = p_mmsi * np.int64(2**33) + rank[:p_ns.size]
    t_key = tracks.mmsi * np.int64(2**33) + rank[p_ns.size:]
    sat_keys = np.unique(p_key[is_sat])
    return np.isin(t_key, sat_keys)


def estimate_coverage(
    tracks: Tracks,
    satellite=None,
    cell_deg: float = 0.25,
    time_bin="1h",
    max_bracket="48h",
    min_vessels: int = 3,
) -> Coverage:
    """Learn reception coverage per cell and hour from who was heard and who was known present.

    Parameters
    ----------
    tracks : Tracks
        Cleaned tracks.
    satellite : array_like of bool, optional
        Per track row, whether the report came by satellite (:func:`reception_of_reports`);
        inferred from the cadence when None.
    cell_deg : float, default 0.25
        Side of a grid cell in degrees (about 28 km of latitude): a few times a shore
        station's spacing along a busy coast, and the footprint of one satellite pass is far
        larger, so one cell is heard or not as a whole. Coarser fallback cells are 4 x 4 fine
        cells.
    time_bin : duration, default "1h"
        Time resolution: one hour is longer than a satellite pass (about 10-15 min) and than
        every AIS reporting interval, so a vessel in range is heard in every bin.
    max_bracket : duration, default "48h"
        A vessel silent for longer than this is not counted present in the hours between
        (its interpolated position is then too uncertain to place it in a cell). Silences up to
        two days cover the revisit gaps of satellite AIS (hours) with room to spare.
    min_vessels : int, default 3
        A cell-hour needs at least this many vessels (other than the one asked about) for its
        own figure; otherwise the coarse cell, then the whole dump, is used.

    Returns
    -------
    Coverage

    Raises
    ------
    ValueError
        On out-of-range parameters or a ``satellite`` array of the wrong length.
    """
    check_tracks(tracks)
    cell_deg = positive("cell_deg", cell_deg)
    if cell_deg > 45:
        raise ValueError(f"cell_deg must be at most 45, got {cell_deg}")
    bin_s = duration_s(time_bin)
    if bin_s <= 0:
        raise ValueError("time_bin must be positive")
    bracket_s = duration_s(max_bracket)
    if int(min_vessels) != min_vessels or min_vessels < 1:
        raise ValueError(f"min_vessels must be a positive integer, got {min_vessels!r}")
    n = len(tracks)
    sat = (reception_of_reports(tracks) if satellite is None
           else np.asarray(satellite, dtype=bool))
    if sat.shape != (n,):
        raise ValueError(f"satellite has shape {sat.shape}, expected ({n},)")
    piece = coverage_counts(tracks, sat, cell_deg, bin_s, bracket_s)
    return assemble_coverage([piece], cell_deg, bin_s, bracket_s, int(min_vessels), sat)


#: Columns of a table of coverage counts (:func:`coverage_counts`): ``slot`` is
#: ``level * n_cells + cell`` (:func:`_n_cells` of the fine grid), ``hour`` the time bin number
#: (``time_ns // bin_ns``); the counts are vessel-hours.
COUNT_COLUMNS = ["slot", "hour", "present", "heard", "heard_terrestrial", "heard_satellite"]


def _groups(tracks: Tracks, bin_ns: int):
    """Per (segment, time bin) with a report: first row, last row, bin."""
    seg = tracks.segment
    n = len(tracks)
    hb = tracks.time_ns // bin_ns
    first = np.ones(n, dtype=bool)
    first[1:] = (seg[1:] != seg[:-1]) | (hb[1:] != hb[:-1])
    grp = np.flatnonzero(first)
    grp_last = np.r_[grp[1:], n] - 1
    return grp, grp_last, hb[grp]


def unheard_hours(t_a, lat_a, lon_a, t_b, lat_b, lon_b, bin_s: float, bracket_s: float):
    """The bins a vessel was known present but not heard, between two consecutive reports.

    ``a`` is the last report of a bin with reports and ``b`` the first of the next such bin of
    the same segment (times int64 ns since the epoch). When ``b`` comes at most ``bracket_s``
    after ``a``, every bin strictly between theirs is a bin the vessel was present and silent,
    at the position interpolated for the bin's middle (from exact int64 time differences, so
    the result does not depend on which reports are passed with them).

    Returns
    -------
    (numpy.ndarray, numpy.ndarray, numpy.ndarray)
        Latitude, longitude and bin number per unheard vessel-bin.
    """
    bin_ns = round(bin_s * 1e9)
    t_a, t_b = np.asarray(t_a, np.int64), np.asarray(t_b, np.int64)
    h_a, h_b = t_a // bin_ns, t_b // bin_ns
    j = np.flatnonzero((h_b - h_a >= 2) & (t_b - t_a <= round(bracket_s * 1e9)))
    item, off = _runs_of_hours(h_b[j] - h_a[j] - 1)
    hour = h_a[j][item] + 1 + off
    ta, tb = t_a[j][item], t_b[j][item]
    frac = np.clip((hour * bin_ns + bin_ns // 2 - ta) / np.maximum(tb - ta, 1), 0.0, 1.0)
    la0, lo0 = np.asarray(lat_a, float)[j][item], np.asarray(lon_a, float)[j][item]
    la1, lo1 = np.asarray(lat_b, float)[j][item], np.asarray(lon_b, float)[j][item]
    dlon = (lo1 - lo0 + 180.0) % 360.0 - 180.0  # the short way across the antimeridian
    return la0 + frac * (la1 - la0), (lo0 + frac * dlon + 180.0) % 360.0 - 180.0, hour


def tally(lat, lon, hour, heard, heard_terrestrial, heard_satellite,
          cell_deg: float) -> pd.DataFrame:
    """Vessel-bins summed per (level, cell, bin): a table of :data:`COUNT_COLUMNS`."""
    hour = np.asarray(hour, np.int64)
    n_cells = _n_cells(cell_deg)
    slot = np.concatenate([level * n_cells + _cell(lat, lon, cell_deg * _COARSE_FACTOR ** level)
                           for level in range(3)])
    hours = np.tile(hour, 3)
    if not slot.size:
        return pd.DataFrame({c: np.zeros(0, np.int64) for c in COUNT_COLUMNS})
    h0 = int(hours.min())
    span = int(hours.max()) - h0 + 1
    keys, inv = np.unique(slot * span + (hours - h0), return_inverse=True)

    def add(w):
        return np.bincount(inv, weights=np.tile(np.asarray(w, float), 3),
                           minlength=keys.size).astype(np.int64)

    return pd.DataFrame({"slot": keys // span, "hour": keys % span + h0,
                         "present": add(np.ones(hour.size)), "heard": add(heard),
                         "heard_terrestrial": add(heard_terrestrial),
                         "heard_satellite": add(heard_satellite)}, columns=COUNT_COLUMNS)


def coverage_counts(tracks: Tracks, satellite, cell_deg: float = 0.25, bin_s: float = 3600.0,
                    bracket_s: float = 48 * 3600.0, core_ns=None) -> pd.DataFrame:
    """Coverage counts of a set of tracks, optionally only for one time window's share.

    Parameters
    ----------
    tracks : Tracks
        Cleaned tracks.
    satellite : numpy.ndarray of bool
        Per row: received by satellite.
    cell_deg, bin_s, bracket_s : float
        Grid cell (degrees), time bin and longest bracketing silence (seconds); see
        :func:`estimate_coverage`.
    core_ns : (int, int), optional
        A window's core ``[a, b)`` (int64 ns, multiples of the bin): count only the heard
        bins inside it, and the unheard bins between two reports whose later report lies
        in it and whose earlier one is in ``tracks`` (the window's share; the silences whose
        earlier report lies before the loaded data are counted by the driver from its carried
        state with :func:`unheard_hours`). Counts of the windows then add up to the counts of
        all the data (:func:`assemble_coverage`).

    Returns
    -------
    pandas.DataFrame
        :data:`COUNT_COLUMNS`.
    """
    if len(tracks) == 0:
        return tally(np.zeros(0), np.zeros(0), np.zeros(0, np.int64), [], [], [], cell_deg)
    sat = np.asarray(satellite, dtype=bool)
    bin_ns = round(bin_s * 1e9)
    t = tracks.time_ns
    grp, grp_last, g_h = _groups(tracks, bin_ns)
    g_sat = np.maximum.reduceat(sat.astype(np.int8), grp).astype(bool)
    g_ter = np.maximum.reduceat((~sat).astype(np.int8), grp).astype(bool)
    g_seg = tracks.segment[grp]
    pair = np.flatnonzero(g_seg[1:] == g_seg[:-1])
    keep = np.ones(grp.size, dtype=bool)
    if core_ns is not None:
        keep = (g_h >= core_ns[0] // bin_ns) & (g_h < core_ns[1] // bin_ns)
        pair = pair[keep[pair + 1]]
    a, b = grp_last[pair], grp[pair + 1]
    u_lat, u_lon, u_h = unheard_hours(t[a], tracks.lat_deg[a], tracks.lon_deg[a], t[b],
                                      tracks.lat_deg[b], tracks.lon_deg[b], bin_s, bracket_s)
    k = grp[keep]
    zeros = np.zeros(u_h.size, np.int64)
    return tally(np.r_[tracks.lat_deg[k], u_lat], np.r_[tracks.lon_deg[k], u_lon],
                 np.r_[g_h[keep], u_h], np.r_[np.ones(k.size, np.int64), zeros],
                 np.r_[g_ter[keep].astype(np.int64), zeros],
                 np.r_[g_sat[keep].astype(np.int64), zeros], cell_deg)


def assemble_coverage(pieces, cell_deg: float, bin_s: float, bracket_s: float,
                      min_vessels: int, satellite=None) -> Coverage:
    """One :class:`Coverage` from tables of counts (:func:`coverage_counts`), summed by key.

    Counts are vessel-bins, so the counts of time windows (each counting its own bins once)
    add up to the counts of all the data: the windowed and Dask drivers build the same model
    as :func:`estimate_coverage` over everything.
    """
    parts = [p for p in pieces if p is not None and len(p)]
    sat = np.zeros(0, dtype=bool) if satellite is None else np.asarray(satellite, dtype=bool)
    empty = np.zeros(0, dtype=np.int64)
    if not parts:
        return Coverage(empty, empty, empty, empty, empty, cell_deg, bin_s, 0, 1, bracket_s,
                        int(min_vessels), sat)
    frame = pd.concat(parts, ignore_index=True)
    hour = frame["hour"].to_numpy(np.int64)
    bin0 = int(hour.min())
    n_bins = int(hour.max()) - bin0 + 1
    keys, inv = np.unique(frame["slot"].to_numpy(np.int64) * n_bins + (hour - bin0),
                          return_inverse=True)

    def add(col):
        return np.bincount(inv, weights=frame[col].to_numpy(float),
                           minlength=keys.size).astype(np.int64)

    return Coverage(keys, add("present"), add("heard"), add("heard_terrestrial"),
                    add("heard_satellite"), cell_deg, bin_s, bin0, n_bins, bracket_s,
                    int(min_vessels), sat)


def _keys(lat, lon, hour, level, cell_deg, bin0, n_bins):
    n_cells = _n_cells(cell_deg)
    if level == 0:
        cell = _cell(lat, lon, cell_deg)
    elif level == 1:
        cell = _cell(lat, lon, cell_deg * _COARSE_FACTOR)
    else:
        cell = _cell(lat, lon, cell_deg * _COARSE_FACTOR ** 2)
    return (level * n_cells + cell) * n_bins + (hour - bin0)


def path_coverage(coverage: Coverage, lat0, lon0, start, lat1, lon1, end) -> pd.DataFrame:
    """Coverage along silences: the share of other vessels heard, hour by hour, on the path.

    Parameters
    ----------
    coverage : Coverage
        From :func:`estimate_coverage` on the tracks the silences come from.
    lat0, lon0, start : array_like
        Where and when each vessel was last heard before its silence (datetime64 UTC or
        int64 ns since the epoch; see :func:`stsdetect.tracks.as_time_ns`).
    lat1, lon1, end : array_like
        Where and when it was heard again.

    Returns
    -------
    pandas.DataFrame
        One row per silence: ``coverage`` (0..1, NaN when no other vessel was known present in
        any of its hours), ``coverage_terrestrial`` and ``coverage_satellite`` (the same from
        each reception alone), ``n_hours`` (hour bins strictly inside the silence; the bin of
        its midpoint when none).

    Notes
    -----
    The silent vessel itself was counted present and not heard in those hours (when the
    silence is at most ``max_bracket``), so one is taken off ``present`` at every level: the
    figure is about the *other* vessels. Each hour uses the finest level whose cell holds at
    least ``min_vessels`` other vessels, else the whole dump when it holds any.
    """
    lat0, lon0 = (np.asarray(x, dtype=float) for x in (lat0, lon0))
    lat1, lon1 = (np.asarray(x, dtype=float) for x in (lat1, lon1))
    m = lat0.size
    t0_ns = as_time_ns(start, "start") if m else np.zeros(0, np.int64)
    t1_ns = as_time_ns(end, "end") if m else np.zeros(0, np.int64)
    cols = {"coverage": np.full(m, np.nan), "coverage_terrestrial": np.full(m, np.nan),
            "coverage_satellite": np.full(m, np.nan), "n_hours": np.zeros(m, np.int64)}
    if m == 0 or coverage.keys.size == 0:
        return pd.DataFrame(cols)
    bin_s = coverage.bin_s
    bin_ns = round(bin_s * 1e9)
    h0 = t0_ns // bin_ns
    h1 = t1_ns // bin_ns
    h_org = int(h0.min())  # local origin: float seconds only as offsets from it
    t0 = (t0_ns - h_org * bin_ns) / 1e9
    t1 = (t1_ns - h_org * bin_ns) / 1e9
    inside = np.maximum(h1 - h0 - 1, 0)
    n_h = np.maximum(inside, 1)
    item, off = _runs_of_hours(n_h)
    hour = np.where(inside[item] > 0, h0[item] + 1 + off,
                    h_org + (t0_ns[item] - h_org * bin_ns + (t1_ns[item] - t0_ns[item]) // 2)
                    // bin_ns)
    lat, lon = _interp((hour - h_org + 0.5) * bin_s, t0[item], lat0[item], lon0[item], t1[item],
                       lat1[item], lon1[item])
    own = ((inside[item] > 0) & (t1[item] - t0[item] <= coverage.max_bracket_s)).astype(np.int64)
    in_range = (hour >= coverage.bin0) & (hour < coverage.bin0 + coverage.n_bins)
    hour_c = np.clip(hour, coverage.bin0, coverage.bin0 + coverage.n_bins - 1)
    chosen_p = np.zeros(item.size, np.int64)
    chosen_h = np.zeros((3, item.size), np.int64)
    done = np.zeros(item.size, dtype=bool)
    cnt = (coverage.present, coverage.heard, coverage.heard_terrestrial, coverage.heard_satellite)
    for level in range(3):  # three levels, each a whole-array lookup
        key = _keys(lat, lon, hour_c, level, coverage.cell_deg, coverage.bin0, coverage.n_bins)
        pos = np.minimum(np.searchsorted(coverage.keys, key), coverage.keys.size - 1)
        found = in_range & (coverage.keys[pos] == key)
        present = np.where(found, cnt[0][pos] - own, 0)
        enough = present >= (coverage.min_vessels if level < 2 else 1)
        take = ~done & enough
        chosen_p[take] = present[take]
        for k in range(3):
            chosen_h[k, take] = cnt[k + 1][pos[take]]
        done |= take
    ok = done & (chosen_p > 0)
    # an hour nobody else was known present counts as not heard: no evidence of reception
    denom = np.bincount(item, minlength=m).astype(float)
    for name, k in (("coverage", 0), ("coverage_terrestrial", 1), ("coverage_satellite", 2)):
        share = chosen_h[k, ok] / chosen_p[ok]
        total = np.bincount(item[ok], weights=share, minlength=m)
        with np.errstate(invalid="ignore", divide="ignore"):
            cols[name] = np.where(denom > 0, total / np.maximum(denom, 1), np.nan)
    cols["n_hours"] = n_h
    return pd.DataFrame(cols)
