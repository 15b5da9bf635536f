"""Figures of results: events on a map, one map per event, and a pair's timeline.

Needs the ``[plot]`` extra (matplotlib, imported on first use)::

    pip install 'stsdetect[plot]'

Every figure is drawn on a :class:`matplotlib.figure.Figure` made without ``pyplot``, so no
display or GUI backend is ever touched (rendering is Agg, as in ``savefig``), and an ``ax`` you
pass in is drawn on as it is.

Functions (the CLI's ``plot`` subcommand calls these):

``plot_events_map(events, tracks=None, regions=None, ax=None, pad_deg=0.2, tail_h=12) -> Axes``
    Events as markers coloured by type and labelled by MMSI, the participants' tracks within
    ``tail_h`` hours of each event, the regions and the coastline outline.
``save_map(events, path, tracks=None, regions=None, pad_deg=0.2, tail_h=12) -> Path``
    The same map written to a PNG.
``save_event_maps(events, tracks, out_dir, regions=None) -> list[Path]``
    One PNG per event, named ``<event_id>.png``.
``plot_pair_timeline(tracks, event, ax=None) -> Axes``
    Separation of the two vessels (m) and each vessel's speed over ground (kn) from two hours
    before to two hours after the event.

``events`` is an events table (:data:`stsdetect.events.EVENT_COLUMNS`) or a path that
:func:`stsdetect.events.read_events` reads. ``tracks`` is a :class:`stsdetect.tracks.Tracks` or a
positions-like DataFrame with ``mmsi``, ``time`` (or ``time_s``), ``lat``, ``lon`` (and optionally
``sog_kn``, ``cog_deg``). ``regions`` is a GeoDataFrame with ``name`` and ``geometry`` columns,
a region name or list of names, or ``True`` for every built-in region (those are loaded with
``stsdetect.regions.load_regions``; when that module is missing they are skipped with a warning).

Drawing conventions:

* At most about :data:`MAX_TRACK_POINTS` track reports are drawn per map (thinned evenly).
* Track lines are broken at reporting gaps longer than :data:`TRACK_BREAK_S` (1 h), so no line
  suggests a path that was never reported; a dark event is drawn as a dashed line from where the
  vessel vanished to where it reappeared.
* Longitudes are unwrapped around the centre of the view, so a map across the antimeridian is
  drawn in one piece.
* Events close together on the map (chained within 1/40 of the view) share one label listing
  their MMSIs; at most :data:`MAX_LABELS` labels (text does not scale).
"""

from __future__ import annotations

import functools
import json
import re
import warnings
from importlib import resources
from pathlib import Path

import numpy as np
import pandas as pd

from .events import read_events
from .geo import epoch_s, haversine_m, wrap_lon_deg
from .tracks import Tracks

__all__ = [
    "EVENT_STYLE",
    "MAX_LABELS",
    "MAX_TRACK_POINTS",
    "PAIR_WINDOW_S",
    "TRACK_BREAK_S",
    "load_coastline",
    "plot_events_map",
    "plot_pair_timeline",
    "save_event_maps",
    "save_map",
]

#: Message of the ImportError raised when matplotlib is missing.
PLOT_EXTRA_MESSAGE = "plotting needs the [plot] extra: pip install 'stsdetect[plot]'"
#: Track lines are broken at reporting gaps longer than this (seconds): a drawing choice, not a
#: detection threshold (the dark-period detector's own default is 6 h).
TRACK_BREAK_S = 3600.0
#: The pair timeline covers the event and this many seconds either side (2 h).
PAIR_WINDOW_S = 7200.0
#: At most this many events get MMSI labels on a map.
MAX_LABELS = 30
#: At most about this many track reports are drawn on one map; beyond it every k-th report
#: of each unbroken piece of track is drawn (and each piece's last), which keeps rendering
#: to seconds (Agg draws some 10^5 segments per second).
MAX_TRACK_POINTS = 20_000
#: Reference lines on the timeline: the GFW encounter definition (Miller et al. 2018,
#: Front. Mar. Sci. 5:240): within 500 m, median speed below 2 kn.
ENCOUNTER_DISTANCE_M = 500.0
ENCOUNTER_SPEED_KN = 2.0
#: Marker, colour and legend label per event type.
EVENT_STYLE: dict[str, dict[str, object]] = {
    "rendezvous": {"marker": "o", "color": "#d62728", "label": "rendezvous"},
    "dark_rendezvous": {"marker": "D", "color": "#9467bd", "label": "dark rendezvous"},
    "dark_period": {"marker": "X", "color": "#1f1f1f", "label": "dark period"},
    "loitering": {"marker": "s", "color": "#ff7f0e", "label": "loitering"},
}
_OTHER_STYLE = {"marker": "P", "color": "#7f7f7f", "label": "other"}
#: Vessel colours (matplotlib's tab10 without red/purple/orange used by events).
_VESSEL_COLORS = np.array(["#1f77b4", "#2ca02c", "#8c564b", "#e377c2", "#17becf",
                           "#bcbd22", "#393b79", "#637939", "#843c39", "#7b4173"])
#: View shown when there is nothing to frame: Yangtze estuary and Hangzhou Bay.
_DEFAULT_VIEW = (120.5, 123.5, 29.5, 32.0)


# --------------------------------------------------------------------------------- helpers
def _require_matplotlib():
    """Import matplotlib's object-oriented pieces, or raise the [plot] extra's ImportError."""
    try:
        import matplotlib  # noqa: F401
        from matplotlib.collections import LineCollection
        from matplotlib.figure import Figure
    except ImportError as exc:
        raise ImportError(PLOT_EXTRA_MESSAGE) from exc
    return Figure, LineCollection


def _new_axes(ax, figsize, margins=None):
    """``ax``, or the axes of a new figure: fixed ``margins`` (left, bottom, right, top
    fractions) when given, which renders about a third faster than constrained layout."""
    Figure, _ = _require_matplotlib()
    if ax is not None:
        return ax
    if margins is None:
        return Figure(figsize=figsize, layout="constrained").add_subplot()
    fig = Figure(figsize=figsize)
    left, bottom, right, top = margins
    fig.subplots_adjust(left=left, bottom=bottom, right=right, top=top)
    return fig.add_subplot()


def _as_events(events) -> pd.DataFrame:
    if isinstance(events, (str, Path)):
        return read_events(events)
    if isinstance(events, pd.Series):
        return events.to_frame().T.reset_index(drop=True)
    if not isinstance(events, pd.DataFrame):
        raise TypeError(f"events must be an events table or a path, not {type(events).__name__}")
    missing = {"event_id", "event_type", "mmsi", "start", "end", "lat", "lon"} - set(events)
    if missing:
        raise ValueError(f"events table lacks columns {sorted(missing)}")
    return events


def _as_tracks(tracks) -> Tracks | None:
    if tracks is None or isinstance(tracks, Tracks):
        return tracks
    if isinstance(tracks, pd.DataFrame):
        if "time_s" in tracks:
            time_s = np.asarray(tracks["time_s"], dtype=float)
        elif "time" in tracks:
            t = pd.to_datetime(tracks["time"], utc=True)
            time_s = t.astype("datetime64[ns, UTC]").astype("int64").to_numpy() / 1e9
            time_s = np.where(t.isna().to_numpy(), np.nan, time_s)
        else:
            raise ValueError("a tracks DataFrame needs a 'time' or 'time_s' column")
        lat = tracks["lat_deg"] if "lat_deg" in tracks else tracks.get("lat")
        lon = tracks["lon_deg"] if "lon_deg" in tracks else tracks.get("lon")
        if lat is None or lon is None or "mmsi" not in tracks:
            raise ValueError("a tracks DataFrame needs 'mmsi', 'lat' and 'lon' columns")
        ok = np.isfinite(time_s) & np.isfinite(np.asarray(lat, float)) & np.isfinite(
            np.asarray(lon, float))
        if not ok.all():
            warnings.warn(f"{int((~ok).sum())} of {ok.size} positions have no time or no "
                          "position and are not drawn", stacklevel=3)
        def pick(c):
            return (None if c not in tracks else np.asarray(tracks[c], float)[ok])
        return Tracks.from_arrays(
            np.asarray(tracks["mmsi"])[ok], time_s[ok], np.asarray(lat, float)[ok],
            np.asarray(lon, float)[ok], pick("sog_kn"), pick("cog_deg"),
            segment=None if "segment" not in tracks else np.asarray(tracks["segment"])[ok],
        )
    raise TypeError(f"tracks must be Tracks or a DataFrame, not {type(tracks).__name__}")


def _participants(events: pd.DataFrame):
    """(mmsi, t0, t1) per event participant: the mmsi and, where present, the other_mmsi."""
    mmsi = np.asarray(events["mmsi"], dtype=np.int64)
    start = epoch_s(events["start"])
    end = epoch_s(events["end"])
    other = pd.array(events["other_mmsi"], dtype="Int64") if "other_mmsi" in events else None
    if other is not None:
        has = ~np.asarray(other.isna(), dtype=bool)
        other_v = np.asarray(other.fillna(0), dtype=np.int64)
        mmsi = np.concatenate([mmsi, other_v[has]])
        start = np.concatenate([start, start[has]])
        end = np.concatenate([end, end[has]])
    return mmsi, start, end


def _window_rows(tracks: Tracks, mmsi, t0_s, t1_s) -> np.ndarray:
    """Boolean mask of track rows of vessel ``mmsi[i]`` within ``[t0_s[i], t1_s[i]]`` for any i.

    Vectorized: each (interval, segment of that vessel) pair becomes a row range found by
    binary search on an integer key (segment, milliseconds), and the ranges are marked with a
    difference array.
    """
    n = len(tracks)
    mask = np.zeros(n, dtype=bool)
    ok = np.isfinite(t0_s) & np.isfinite(t1_s)
    mmsi, t0_s, t1_s = np.asarray(mmsi)[ok], np.asarray(t0_s)[ok], np.asarray(t1_s)[ok]
    if n == 0 or mmsi.size == 0:
        return mask
    seg_mmsi = tracks.segment_mmsi  # sorted, since rows are sorted by mmsi first
    lo = np.searchsorted(seg_mmsi, mmsi, "left")
    hi = np.searchsorted(seg_mmsi, mmsi, "right")
    count = hi - lo
    interval = np.repeat(np.arange(mmsi.size), count)
    first = np.repeat(lo, count)
    within = np.arange(interval.size) - np.repeat(np.cumsum(count) - count, count)
    seg = first + within
    if seg.size == 0:
        return mask
    # key = segment * span + milliseconds since the first report: sorted like the rows.
    # Built in place (one 8-byte array per row besides the mask).
    key = tracks.time_s * 1000.0
    np.floor(key, out=key)
    key = key.astype(np.int64)
    tmin = int(key.min())
    span = int(key.max()) - tmin + 2
    key -= tmin
    key += tracks.segment * np.int64(span)
    a = np.clip(np.floor(t0_s[interval] * 1000.0).astype(np.int64) - tmin, -1, span - 1)
    b = np.clip(np.ceil(t1_s[interval] * 1000.0).astype(np.int64) - tmin, -1, span - 1)
    row_lo = np.searchsorted(key, seg * span + a, "left")
    row_hi = np.searchsorted(key, seg * span + b, "right")
    del key
    # Mark the row ranges: +1 at each start, -1 at each end, covered where the sum is > 0.
    diff = np.zeros(n + 1, dtype=np.int32)
    np.add.at(diff, row_lo, 1)
    np.add.at(diff, row_hi, -1)
    np.cumsum(diff, out=diff)
    return diff[:-1] > 0


def _centre_lon(lon_deg) -> float:
    """Circular mean of longitudes in degrees (0 when there are none)."""
    lon = np.radians(np.asarray(lon_deg, dtype=float))
    lon = lon[np.isfinite(lon)]
    if lon.size == 0:
        return 0.0
    return float(np.degrees(np.arctan2(np.sin(lon).mean(), np.cos(lon).mean())))


def _unwrap(lon_deg, centre_deg: float) -> np.ndarray:
    """Longitudes shifted by whole turns to lie within 180 degrees of ``centre_deg``."""
    return centre_deg + wrap_lon_deg(np.asarray(lon_deg, dtype=float) - centre_deg)


def _lines_with_breaks(x, y, breaks) -> tuple[np.ndarray, np.ndarray]:
    """Coordinates with NaN inserted before every index in ``breaks`` (one Line2D, many parts)."""
    return (np.insert(np.asarray(x, float), breaks, np.nan),
            np.insert(np.asarray(y, float), breaks, np.nan))


def _geometry_lines(geoms) -> tuple[np.ndarray, np.ndarray]:
    """Boundary/line coordinates of shapely geometries as NaN-separated x, y arrays."""
    import shapely

    geoms = np.asarray(geoms, dtype=object)
    if geoms.size == 0:
        return np.zeros(0), np.zeros(0)
    polys = shapely.get_parts(geoms)
    is_line = np.isin(shapely.get_type_id(polys), (1, 2))  # LineString, LinearRing
    lines = np.concatenate([shapely.get_parts(polys[is_line]),
                            shapely.get_parts(shapely.boundary(polys[~is_line]))])
    lines = lines[~shapely.is_empty(lines)]
    coords, index = shapely.get_coordinates(lines, return_index=True)
    if coords.size == 0:
        return np.zeros(0), np.zeros(0)
    breaks = np.flatnonzero(np.diff(index)) + 1
    return _lines_with_breaks(coords[:, 0], coords[:, 1], breaks)


@functools.lru_cache(maxsize=1)
def load_coastline():
    """The bundled coastline outline of the East China coast as shapely LineStrings.

    Returns
    -------
    numpy.ndarray of shapely.LineString
        Natural Earth 1:10m coastline (public domain), clipped to lon 118.5-125 E,
        lat 27-33.5 N and simplified to about 200 m (``tools/make_coastline.py``).
    """
    import shapely

    text = resources.files("stsdetect").joinpath("data/coastline_china_east.geojson").read_text()
    features = json.loads(text)["features"]
    return shapely.from_geojson([json.dumps(f["geometry"]) for f in features])


def _resolve_regions(regions):
    """Regions argument -> GeoDataFrame-like with name/geometry, or None."""
    if regions is None or regions is False:
        return None
    if hasattr(regions, "geometry"):
        return regions
    try:
        from .regions import load_regions
    except ImportError:
        warnings.warn("stsdetect.regions is not available: regions not drawn", stacklevel=3)
        return None
    if regions is True:
        return load_regions()
    names = [regions] if isinstance(regions, str) else list(regions)
    return load_regions(names)


def _view(lon, lat, pad_deg: float):
    """(xmin, xmax, ymin, ymax) framing finite points with padding; None if there are none."""
    lon = np.asarray(lon, float)
    lat = np.asarray(lat, float)
    ok = np.isfinite(lon) & np.isfinite(lat)
    if not ok.any():
        return None
    return (lon[ok].min() - pad_deg, lon[ok].max() + pad_deg,
            max(lat[ok].min() - pad_deg, -90.0), min(lat[ok].max() + pad_deg, 90.0))


def _clusters(x, y, ok, radius: float) -> np.ndarray:
    """Cluster id per point: connected components of pairs closer than ``radius``."""
    from scipy.sparse import coo_matrix
    from scipy.sparse.csgraph import connected_components
    from scipy.spatial import cKDTree

    n = len(x)
    idx = np.flatnonzero(ok)
    label = np.full(n, -1, dtype=np.int64)
    label[~ok] = -1 - np.arange(int((~ok).sum()))  # each missing point alone
    if idx.size:
        pairs = cKDTree(np.column_stack([x[idx], y[idx]])).query_pairs(
            radius, output_type="ndarray")
        graph = coo_matrix((np.ones(len(pairs)), (pairs[:, 0], pairs[:, 1])),
                           shape=(idx.size, idx.size))
        label[idx] = connected_components(graph, directed=False)[1]
    return label


# ------------------------------------------------------------------------------------ maps
def plot_events_map(events, tracks=None, regions=None, ax=None, pad_deg: float = 0.2,
                    tail_h: float = 12):
    """Draw events on a map with their participants' tracks, regions and the coastline.

    Parameters
    ----------
    events : pandas.DataFrame or str or os.PathLike
        Events table (:data:`stsdetect.events.EVENT_COLUMNS`) or a file
        :func:`stsdetect.events.read_events` reads.
    tracks : stsdetect.tracks.Tracks or pandas.DataFrame, optional
        Tracks (or a positions table) to draw the participants' tracks from.
    regions : geopandas.GeoDataFrame or str or list of str or bool, optional
        Regions to outline: a GeoDataFrame with ``name`` and ``geometry``, built-in region
        name(s), or ``True`` for all built-ins. Default None: none.
    ax : matplotlib.axes.Axes, optional
        Axes to draw on; default a new 8 x 7 inch figure.
    pad_deg : float, default 0.2
        Margin around the events in degrees (0.2 degrees is about 20 km: enough to show the
        approach of a vessel at 5 kn over two hours). A drawing choice, not a published value.
    tail_h : float, default 12
        Tracks are drawn from ``tail_h`` hours before each event's start to ``tail_h`` hours
        after its end: half a day, enough to show where a pair came from and went. A drawing
        choice, not a published value.

    Returns
    -------
    matplotlib.axes.Axes
        The axes (``ax.figure.savefig(path)`` writes it). Artists carry ``gid`` values
        ``"events-<type>"``, ``"tracks"``, ``"dark-gaps"``, ``"regions"`` and ``"coastline"``.

    Raises
    ------
    ImportError
        Without matplotlib (the ``[plot]`` extra).
    ValueError
        If ``pad_deg`` or ``tail_h`` is negative or not finite, or the events lack columns.
    """
    _, LineCollection = _require_matplotlib()
    for name, value in (("pad_deg", pad_deg), ("tail_h", tail_h)):
        if not np.isfinite(value) or value < 0:
            raise ValueError(f"{name} must be finite and >= 0, got {value!r}")
    events = _as_events(events)
    tracks = _as_tracks(tracks)
    regions = _resolve_regions(regions)
    ax = _new_axes(ax, (8, 7), margins=(0.1, 0.08, 0.98, 0.95))

    ev_lat = np.asarray(events["lat"], dtype=float)
    ev_lon = np.asarray(events["lon"], dtype=float)
    end_lat = np.asarray(events["end_lat"], float) if "end_lat" in events else ev_lat * np.nan
    end_lon = np.asarray(events["end_lon"], float) if "end_lon" in events else ev_lon * np.nan
    types = np.asarray(events["event_type"], dtype=object)
    no_position = int((~(np.isfinite(ev_lat) & np.isfinite(ev_lon))).sum())
    if no_position:
        warnings.warn(f"{no_position} of {len(events)} events have no position and are not "
                      "drawn", stacklevel=2)

    # Track rows of the participants around each event.
    rows = np.zeros(0, dtype=np.int64)
    if tracks is not None and len(tracks) and len(events):
        p_mmsi, p_t0, p_t1 = _participants(events)
        tail_s = float(tail_h) * 3600.0
        rows = np.flatnonzero(_window_rows(tracks, p_mmsi, p_t0 - tail_s, p_t1 + tail_s))

    # Centre and view: the events frame the map; tracks only when there are no events.
    all_lon = np.concatenate([ev_lon, end_lon])
    all_lat = np.concatenate([ev_lat, end_lat])
    if not np.isfinite(all_lon).any() and rows.size:
        all_lon, all_lat = tracks.lon_deg[rows], tracks.lat_deg[rows]
    centre = _centre_lon(all_lon) if np.isfinite(all_lon).any() else 121.5
    view = _view(_unwrap(all_lon, centre), all_lat, float(pad_deg))
    if view is None:
        view = _DEFAULT_VIEW
    elif view[1] - view[0] < 1e-6 or view[3] - view[2] < 1e-6:  # pad_deg=0, one point
        view = (view[0] - 0.01, view[1] + 0.01, view[2] - 0.01, view[3] + 0.01)

    # Coastline and regions (behind everything else).
    coast_x, coast_y = _geometry_lines(load_coastline())
    ax.plot(_unwrap(coast_x, centre), coast_y, color="0.35", lw=0.8, zorder=1, gid="coastline")
    if regions is not None and len(regions):
        rx, ry = _geometry_lines(np.asarray(regions.geometry))
        ax.plot(_unwrap(rx, centre), ry, color="#2b8cbe", lw=1.0, ls="--", zorder=1.5,
                gid="regions")
        names = regions["name"] if "name" in regions else pd.Series([""] * len(regions))
        import shapely

        points = shapely.point_on_surface(np.asarray(regions.geometry))
        px, py = shapely.get_coordinates(points).T if len(points) else (np.zeros(0),) * 2
        px = _unwrap(px, centre)
        inside = (px >= view[0]) & (px <= view[1]) & (py >= view[2]) & (py <= view[3])
        for x, y, name in zip(px[inside], py[inside], np.asarray(names)[inside], strict=True):
            ax.annotate(str(name), (x, y), color="#2b8cbe", fontsize=7, ha="center",
                        zorder=1.5, annotation_clip=True)

    # Tracks: one LineCollection of consecutive report pairs, coloured per vessel.
    if rows.size:
        r0, r1 = rows[:-1], rows[1:]
        joined = ((r1 == r0 + 1) & (tracks.segment[r0] == tracks.segment[r1])
                  & (tracks.time_s[r1] - tracks.time_s[r0] <= TRACK_BREAK_S))
        piece = np.r_[0, np.cumsum(~joined)]  # unbroken pieces of track
        if rows.size > MAX_TRACK_POINTS:  # thin: every k-th report, keeping each piece's end
            k = -(-rows.size // MAX_TRACK_POINTS)
            first = np.r_[True, piece[1:] != piece[:-1]]
            last = np.r_[piece[1:] != piece[:-1], True]
            pos = np.arange(rows.size) - np.maximum.accumulate(
                np.where(first, np.arange(rows.size), 0))
            keep = (pos % k == 0) | last
            rows, piece = rows[keep], piece[keep]
        _, vessel = np.unique(tracks.mmsi[rows], return_inverse=True)
        colors = _VESSEL_COLORS[vessel % len(_VESSEL_COLORS)]
        x = _unwrap(tracks.lon_deg[rows], centre)
        y = tracks.lat_deg[rows]
        pair = np.flatnonzero(piece[1:] == piece[:-1])
        seg_xy = np.stack([np.column_stack([x[pair], y[pair]]),
                           np.column_stack([x[pair + 1], y[pair + 1]])], axis=1)
        ax.add_collection(LineCollection(seg_xy, colors=colors[pair], linewidths=1.2,
                                         zorder=2, gid="tracks"), autolim=False)
        ax.scatter(x, y, s=3, c=colors, zorder=2, linewidths=0, gid="track-points")

    # Dark events: where the vessel vanished -> where it reappeared.
    dark = np.isfinite(end_lat) & np.isfinite(end_lon) & np.isfinite(ev_lat) & np.isfinite(ev_lon)
    if dark.any():
        seg_xy = np.stack([
            np.column_stack([_unwrap(ev_lon[dark], centre), ev_lat[dark]]),
            np.column_stack([_unwrap(end_lon[dark], centre), end_lat[dark]]),
        ], axis=1)
        ax.add_collection(LineCollection(seg_xy, colors="0.1", linestyles="--", linewidths=1.0,
                                         zorder=2.5, gid="dark-gaps"), autolim=False)

    # Event markers, one scatter per type (a handful of types).
    for etype in pd.unique(types):
        style = EVENT_STYLE.get(etype, _OTHER_STYLE)
        sel = types == etype
        ax.scatter(_unwrap(ev_lon[sel], centre), ev_lat[sel], s=70, marker=style["marker"],
                   c=style["color"], edgecolors="white", linewidths=0.8, zorder=4,
                   label=f"{style['label']} ({int(sel.sum())})", gid=f"events-{etype}")

    # MMSI labels: events close together on the map (chained within 1/40 of the view, the
    # connected components of a k-d tree's close pairs) share one label listing their
    # vessels, so labels do not pile up.
    if len(events):
        lx = _unwrap(ev_lon, centre)
        ok = np.isfinite(lx) & np.isfinite(ev_lat)
        cluster = pd.Series(_clusters(lx, ev_lat, ok, max(view[1] - view[0],
                                                          view[3] - view[2]) / 40.0))
        first = np.flatnonzero(ok & ~cluster.duplicated().to_numpy())[:MAX_LABELS]
        chosen = cluster.iloc[first]
        p_mmsi = np.asarray(events["mmsi"], dtype=np.int64)
        parts = pd.DataFrame({"cluster": cluster, "mmsi": p_mmsi})
        if "other_mmsi" in events:
            other = pd.array(events["other_mmsi"], dtype="Int64")
            has = ~np.asarray(other.isna(), dtype=bool)
            parts = pd.concat([parts, pd.DataFrame({
                "cluster": cluster[has], "mmsi": np.asarray(other[has], dtype=np.int64)})])
        parts = parts[parts["cluster"].isin(chosen)].drop_duplicates().sort_values("mmsi")
        names = parts.groupby("cluster", sort=False)["mmsi"].agg(  # <= MAX_LABELS groups
            lambda m: ", ".join(map(str, m.iloc[:4])) + (f" +{len(m) - 4}" if len(m) > 4 else ""))
        for x, y, key in zip(lx[first], ev_lat[first], chosen, strict=True):
            ax.annotate(names[key], (x, y), xytext=(6, 6), textcoords="offset points",
                        fontsize=7, zorder=5, annotation_clip=True)
        ax.legend(loc="upper left", fontsize=8, framealpha=0.85)

    ax.set_xlim(view[0], view[1])
    ax.set_ylim(view[2], view[3])
    mid_lat = np.radians(0.5 * (view[2] + view[3]))
    ax.set_aspect(1.0 / max(np.cos(mid_lat), 0.05), adjustable="box")
    ax.set_xlabel("longitude (deg E)")
    ax.set_ylabel("latitude (deg N)")
    ax.grid(True, lw=0.3, alpha=0.5)
    return ax


def save_map(events, path, tracks=None, regions=None, pad_deg: float = 0.2,
             tail_h: float = 12, dpi: int = 110) -> Path:
    """Write :func:`plot_events_map` of ``events`` to a PNG file.

    Parameters
    ----------
    events : pandas.DataFrame or str or os.PathLike
        Events table or a file, as for :func:`plot_events_map`.
    path : str or os.PathLike
        Output PNG path; its folder is created.
    tracks : stsdetect.tracks.Tracks or pandas.DataFrame, optional
        As for :func:`plot_events_map`.
    regions : geopandas.GeoDataFrame or str or list of str or bool, optional
        As for :func:`plot_events_map`.
    pad_deg : float, default 0.2
        As for :func:`plot_events_map`.
    tail_h : float, default 12
        As for :func:`plot_events_map`.
    dpi : int, default 110
        Resolution (an 8 x 7 inch figure at 110 dpi is 880 x 770 pixels).

    Returns
    -------
    pathlib.Path
        The path written.
    """
    ax = plot_events_map(events, tracks=tracks, regions=regions, pad_deg=pad_deg, tail_h=tail_h)
    from stsdetect.outputs import atomic_path

    path = Path(path)
    with atomic_path(path) as tmp:  # an interrupted write leaves the old map whole
        ax.figure.savefig(tmp, dpi=dpi, format="png")
    return path


def _safe_names(ids) -> list[str]:
    """File-system-safe, unique stems for event ids."""
    stems = pd.Series([re.sub(r"[^A-Za-z0-9._-]+", "_", str(i)) or "event" for i in ids])
    dup = stems.groupby(stems).cumcount()
    return list(stems.where(dup == 0, stems + "-" + (dup + 1).astype(str)))


def save_event_maps(events, tracks, out_dir, regions=None) -> list[Path]:
    """Write one map PNG per event, named ``<event_id>.png``, into ``out_dir``.

    Each map frames its event with the default padding and tail of :func:`plot_events_map`
    and shows its participants' tracks. The tracks are first cut down, in one vectorized pass,
    to the rows near any event, so each map only searches those.

    Parameters
    ----------
    events : pandas.DataFrame or str or os.PathLike
        Events table or a file :func:`stsdetect.events.read_events` reads.
    tracks : stsdetect.tracks.Tracks or pandas.DataFrame or None
        Tracks to draw, or None for events only.
    out_dir : str or os.PathLike
        Output folder, created if missing.
    regions : geopandas.GeoDataFrame or str or list of str or bool, optional
        As for :func:`plot_events_map`.

    Returns
    -------
    list of pathlib.Path
        The files written, in the order of the events. Characters other than letters, digits,
        ``.``, ``_`` and ``-`` in an event id become ``_``; repeated ids get ``-2``, ``-3`` ...
    """
    from stsdetect.outputs import atomic_path

    _require_matplotlib()
    events = _as_events(events)
    tracks = _as_tracks(tracks)
    regions = _resolve_regions(regions)
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    if tracks is not None and len(tracks) and len(events):
        tail_s = 12 * 3600.0
        p_mmsi, p_t0, p_t1 = _participants(events)
        tracks = tracks.take(_window_rows(tracks, p_mmsi, p_t0 - tail_s, p_t1 + tail_s))
    paths = []
    for i, stem in enumerate(_safe_names(events["event_id"])):  # one file per event
        ax = plot_events_map(events.iloc[[i]], tracks=tracks, regions=regions)
        ax.set_title(str(events["event_id"].iloc[i]), fontsize=9)
        path = out_dir / f"{stem}.png"
        with atomic_path(path) as tmp:
            ax.figure.savefig(tmp, dpi=110, format="png")
        paths.append(path)
    return paths


# -------------------------------------------------------------------------------- timeline
def _event_row(event) -> pd.Series:
    if isinstance(event, pd.DataFrame):
        if len(event) != 1:
            raise ValueError(f"pass one event, got a table of {len(event)} rows")
        event = event.iloc[0]
    elif isinstance(event, dict):
        event = pd.Series(event)
    if not isinstance(event, pd.Series):
        raise TypeError(f"event must be an events-table row, not {type(event).__name__}")
    missing = {"mmsi", "start", "end"} - set(event.index)
    if missing:
        raise ValueError(f"event lacks {sorted(missing)}")
    return event


def _vessel_window(tracks: Tracks, mmsi: int, t0: float, t1: float):
    """Rows of ``mmsi``'s best-covered segment within [t0, t1] (time-sorted indices)."""
    rows = np.flatnonzero(_window_rows(tracks, [mmsi], [t0], [t1]))
    if rows.size == 0:
        return rows
    seg, counts = np.unique(tracks.segment[rows], return_counts=True)
    return rows[tracks.segment[rows] == seg[np.argmax(counts)]]


def _interp_positions(tracks: Tracks, rows, grid_s, max_gap_s: float):
    """Positions of a vessel interpolated onto ``grid_s``; NaN outside coverage or in gaps."""
    t = tracks.time_s[rows]
    lat = tracks.lat_deg[rows]
    lon = np.degrees(np.unwrap(np.radians(tracks.lon_deg[rows])))
    out_lat = np.interp(grid_s, t, lat)
    out_lon = np.interp(grid_s, t, lon)
    k = np.searchsorted(t, grid_s, "right")
    inside = (k > 0) & (k < t.size)
    exact = np.isin(grid_s, t)
    gap = np.full(grid_s.shape, np.inf)
    gap[inside] = t[k[inside]] - t[k[inside] - 1]
    bad = ~exact & (gap > max_gap_s)
    out_lat[bad] = np.nan
    out_lon[bad] = np.nan
    return out_lat, out_lon


def plot_pair_timeline(tracks, event, ax=None, max_gap_s: float = TRACK_BREAK_S,
                       step_s: float = 60.0):
    """Separation of a pair and each vessel's speed from 2 h before to 2 h after an event.

    Both vessels' positions are linearly interpolated (``numpy.interp``) onto a common time
    grid and their great-circle separation computed with :func:`stsdetect.geo.haversine_m` in
    one pass. Speeds are the reported speeds over ground at the report times. For a
    single-vessel event (no ``other_mmsi``) only the speed is drawn.

    Parameters
    ----------
    tracks : stsdetect.tracks.Tracks or pandas.DataFrame
        Tracks holding both vessels. Where a vessel has several segments, the one with most
        reports in the window is used.
    event : pandas.Series or dict or one-row pandas.DataFrame
        One row of an events table.
    ax : matplotlib.axes.Axes, optional
        Axes to draw on; default a new 8 x 4 inch figure. Speeds go on a twin y axis.
    max_gap_s : float, default 3600
        No separation is drawn where either vessel's bracketing reports are further apart
        than this (1 h, :data:`TRACK_BREAK_S`): a separation interpolated across a silence is
        not an observation.
    step_s : float, default 60
        Grid step in seconds (one minute, finer than Class A reporting at anchor, 3 min);
        widened so the grid has at most 5000 points.

    Returns
    -------
    matplotlib.axes.Axes
        The axes of the separation (or, for single-vessel events, of the speed). The x axis is
        hours from the event start. Lines carry ``gid`` ``"separation"`` and
        ``"sog-<mmsi>"``; the separation line's data are the grid values.

    Raises
    ------
    ImportError
        Without matplotlib.
    ValueError
        If the event lacks ``mmsi``, ``start`` or ``end``, or ``step_s``/``max_gap_s`` are not
        positive.
    """
    _require_matplotlib()
    if not (np.isfinite(step_s) and step_s > 0 and max_gap_s > 0):
        raise ValueError("step_s and max_gap_s must be positive")
    tracks = _as_tracks(tracks)
    if tracks is None:
        raise ValueError("the timeline needs tracks")
    event = _event_row(event)
    start = float(epoch_s([event["start"]])[0])
    end = float(epoch_s([event["end"]])[0])
    if not (np.isfinite(start) and np.isfinite(end)):
        raise ValueError("event start/end must be set")
    t0, t1 = start - PAIR_WINDOW_S, end + PAIR_WINDOW_S
    mmsi = int(event["mmsi"])
    other = event.get("other_mmsi", pd.NA)
    other = None if other is None or pd.isna(other) else int(other)
    ax = _new_axes(ax, (8, 4))

    vessels = [mmsi] if other is None else [mmsi, other]
    near = tracks.take(_window_rows(tracks, vessels, [t0] * len(vessels), [t1] * len(vessels)))
    tracks = near  # both vessels' reports in the window: one pass over all rows
    rows = {m: _vessel_window(tracks, m, t0, t1) for m in vessels}
    def hours(t):
        return ((np.asarray(t, float) - start) / 3600.0)

    if other is not None:
        step = max(float(step_s), (t1 - t0) / 5000.0)
        grid = np.arange(t0, t1 + step / 2, step)
        dist = np.full(grid.shape, np.nan)
        if rows[mmsi].size and rows[other].size:
            lat1, lon1 = _interp_positions(tracks, rows[mmsi], grid, max_gap_s)
            lat2, lon2 = _interp_positions(tracks, rows[other], grid, max_gap_s)
            dist = haversine_m(lat1, lon1, lat2, lon2)
        ax.plot(hours(grid), dist, color="k", lw=1.5, gid="separation",
                label=f"separation {mmsi} - {other}")
        ax.axhline(ENCOUNTER_DISTANCE_M, color="k", ls=":", lw=0.8,
                   label=f"{ENCOUNTER_DISTANCE_M:.0f} m (GFW encounter)")
        ax.set_ylabel("separation (m)")
        finite = dist[np.isfinite(dist)]
        if finite.size:
            ax.set_ylim(0, max(1.1 * float(finite.max()), 2 * ENCOUNTER_DISTANCE_M))
        sog_ax = ax.twinx()
    else:
        sog_ax = ax
    for i, m in enumerate(vessels):
        r = rows[m]
        sog_ax.plot(hours(tracks.time_s[r]), tracks.sog_kn[r], ".-", ms=3, lw=0.8,
                    color=_VESSEL_COLORS[i], gid=f"sog-{m}", label=f"SOG {m}")
    sog_ax.axhline(ENCOUNTER_SPEED_KN, color=_VESSEL_COLORS[0], ls=":", lw=0.8,
                   label=f"{ENCOUNTER_SPEED_KN:g} kn")
    sog_ax.set_ylabel("speed over ground (kn)")
    sog_ax.set_ylim(bottom=0.0)
    ax.axvspan(0.0, hours(end), color="#d62728", alpha=0.12, lw=0, label="event")
    ax.set_xlim(hours(t0), hours(t1))
    stamp = pd.Timestamp(start, unit="s", tz="UTC").strftime("%Y-%m-%d %H:%M UTC")
    ax.set_xlabel(f"hours from event start ({stamp})")
    handles, labels = ax.get_legend_handles_labels()
    if sog_ax is not ax:
        h2, l2 = sog_ax.get_legend_handles_labels()
        handles, labels = handles + h2, labels + l2
    ax.legend(handles, labels, loc="upper center", bbox_to_anchor=(0.5, -0.2), ncol=3,
              fontsize=7, frameon=False)
    ax.set_title(str(event.get("event_id", "")), fontsize=9)
    return ax
