"""Figures of results: events on a map, one map per event, and a pair's timeline.

Needs the ``[plot]`` extra (matplotlib, imported on first use)::

    pip install 'stsdetect[plot]'

Every figure is drawn on a :class:`matplotlib.figure.Figure` made without ``pyplot``, so no
display or GUI backend is ever touched (rendering is Agg, as in ``savefig``), and an ``ax`` you
pass in is drawn on as it is.

Functions (the CLI's ``plot`` subcommand calls these):

``plot_events_map(events, tracks=None, regions=None, ax=None, pad_deg=0.2, tail_h=12) -> Axes``
    Events as markers coloured by type and numbered, with a key of numbers to vessels beside
    the map; the participants' tracks within ``tail_h`` hours of each event; land (Natural
    Earth 1:10m for 105-135 E, 15-45 N, 1:110m elsewhere); the regions, each named; a scale
    bar.
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
* Events close together on the map (chained within 1/40 of the view) share one number, so
  numbers do not collide; at most :data:`MAX_LABELS` numbers. The key beside the map lists
  each number's event type and vessels (with ship names where the events carry ``name`` /
  ``other_name``); tracks of up to :data:`LEGEND_VESSELS` vessels get a colour legend.
* The map frames the events, where dark events ended and the drawn tracks, with a margin of
  at least 6% of the span, and fills its figure (the view widens in one direction).
* Many maps (:func:`save_event_maps`, the HTML report) are drawn on one reused figure whose
  land and regions are drawn once.
"""

from __future__ import annotations

import functools
import io
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
    "EAST_ASIA_BOX",
    "EVENT_STYLE",
    "KEY_DETAIL_PLACES",
    "LEGEND_VESSELS",
    "MAP_FIGSIZE",
    "MAX_LABELS",
    "MAX_TRACK_POINTS",
    "PAIR_WINDOW_S",
    "TRACK_BREAK_S",
    "load_coastline",
    "load_land",
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
#: At most this many places (events, or events close together) are numbered on a map; the
#: key beside the map lists each number's event type and vessels, one line per place.
MAX_LABELS = 30
#: Tracks get a colour key in the legend when a map draws at most this many vessels.
LEGEND_VESSELS = 8
#: With at most this many numbered places, the key gives two lines to each (type; vessels).
KEY_DETAIL_PLACES = 12
#: At most about this many track reports are drawn on one map; beyond it every k-th report
#: of each unbroken piece of track is drawn (and each piece's last), which keeps rendering
#: to seconds (Agg draws some 10^5 segments per second).
MAX_TRACK_POINTS = 20_000
#: zlib level of the PNGs of reused figures (report, event maps): 1 writes about 15% larger
#: files than the default 6 in a fifth less time.
PNG_COMPRESS_LEVEL = 1
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
    "dark_vessel": {"marker": "^", "color": "#000080", "label": "dark vessel (imagery)"},
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
        if "time" in tracks:
            t = pd.DatetimeIndex(pd.to_datetime(tracks["time"], utc=True))
            time_ns, no_time = t.as_unit("ns").asi8, np.asarray(t.isna())
        elif "time_s" in tracks:
            sec = np.asarray(tracks["time_s"], dtype=float)
            no_time = ~np.isfinite(sec)
            time_ns = np.round(np.where(no_time, 0.0, sec) * 1e9).astype(np.int64)
        else:
            raise ValueError("a tracks DataFrame needs a 'time' or 'time_s' column")
        lat = tracks["lat_deg"] if "lat_deg" in tracks else tracks.get("lat")
        lon = tracks["lon_deg"] if "lon_deg" in tracks else tracks.get("lon")
        if lat is None or lon is None or "mmsi" not in tracks:
            raise ValueError("a tracks DataFrame needs 'mmsi', 'lat' and 'lon' columns")
        ok = ~no_time & np.isfinite(np.asarray(lat, float)) & np.isfinite(
            np.asarray(lon, float))
        if not ok.all():
            warnings.warn(f"{int((~ok).sum())} of {ok.size} positions have no time or no "
                          "position and are not drawn", stacklevel=3)
        def pick(c):
            return (None if c not in tracks else np.asarray(tracks[c], float)[ok])
        return Tracks.from_arrays(
            np.asarray(tracks["mmsi"])[ok], time_ns[ok], np.asarray(lat, float)[ok],
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
    key = tracks.time_ns // 1_000_000
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
    return _read_only(shapely.from_geojson([json.dumps(f["geometry"]) for f in features]))


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


#: The box the fine land layer covers (lon min, lat min, lon max, lat max); the coarse world
#: layer covers everything else (``tools/make_land.py``).
EAST_ASIA_BOX = (105.0, 15.0, 135.0, 45.0)
_LAND_COLOR = "#efe9da"
_COAST_COLOR = "0.45"
_REGION_COLOR = "#2b8cbe"
#: Own map figures: size in inches and (left, bottom, right, top) margins; the right quarter
#: holds the numbered key and the legend.
MAP_FIGSIZE = (10.0, 7.0)
_MAP_MARGINS = (0.07, 0.07, 0.72, 0.95)
#: Margin around what a map frames, as a fraction of the framed span (at least ``pad_deg``),
#: so that numbers beside markers at the edge stay inside the map.
_PAD_FRACTION = 0.06


@functools.lru_cache(maxsize=1)
def load_land():
    """The bundled land layers: polygons and their coastlines.

    Returns
    -------
    polygons : numpy.ndarray of shapely.Polygon
        Natural Earth 1:10m land and minor islands for :data:`EAST_ASIA_BOX` (lon 105-135 E,
        lat 15-45 N), simplified to about 500 m, and 1:110m land (simplified to about 5 km)
        everywhere else; both public domain, made by ``tools/make_land.py``.
    coast : numpy.ndarray of shapely geometries
        The polygons' outlines without the straight cuts along the box edges, where the two
        layers meet (lines drawn there would be no coast).
    """
    import shapely

    parts = []
    for name in ("land_east_asia", "land_world"):
        text = resources.files("stsdetect").joinpath(f"data/{name}.geojson").read_text()
        features = json.loads(text)["features"]
        parts.append(shapely.get_parts(
            shapely.from_geojson([json.dumps(f["geometry"]) for f in features])))
    polygons = np.concatenate(parts)
    seam = shapely.buffer(shapely.box(*EAST_ASIA_BOX).exterior, 1e-4)
    world_edge = shapely.buffer(shapely.box(-180.0, -90.0, 180.0, 90.0).exterior, 1e-4)
    coast = shapely.difference(shapely.difference(shapely.boundary(polygons), seam), world_edge)
    return _read_only(polygons), _read_only(coast[~shapely.is_empty(coast)])


def _read_only(arr: np.ndarray) -> np.ndarray:
    """A cached array handed to every caller: made read-only so no caller can change it."""
    arr.flags.writeable = False
    return arr


@functools.lru_cache(maxsize=1)
def _land_drawing():
    """Land exteriors as a list of (n, 2) vertex arrays, and the coast as NaN-broken x, y."""
    import shapely

    polygons, coast = load_land()
    coords, index = shapely.get_coordinates(shapely.get_exterior_ring(polygons),
                                            return_index=True)
    coords.flags.writeable = False  # cached and shared: the pieces are views of it
    verts = tuple(np.split(coords, np.flatnonzero(np.diff(index)) + 1))
    return verts, tuple(_read_only(np.asarray(a)) for a in _geometry_lines(coast))


def _shifts(view) -> list[float]:
    """Whole turns (-360, 0, 360) by which [-180, 180] layers must move to meet the view."""
    return [k for k in (-360.0, 0.0, 360.0) if view[0] < 180.0 + k and view[1] > -180.0 + k]


def _draw_layers(ax, regions, shifts) -> list:
    """Land, coastline and region outlines, moved by each whole turn in ``shifts``."""
    from matplotlib.collections import PolyCollection
    from matplotlib.transforms import Affine2D

    verts, (coast_x, coast_y) = _land_drawing()
    if regions is not None and len(regions):
        region_x, region_y = _geometry_lines(np.asarray(regions.geometry))
    artists = []
    for k in shifts:
        transform = Affine2D().translate(k, 0.0) + ax.transData
        land = PolyCollection(verts, facecolors=_LAND_COLOR, edgecolors="none", zorder=0.5,
                              transform=transform, gid="land")
        artists.append(ax.add_collection(land, autolim=False))
        artists += ax.plot(coast_x, coast_y, color=_COAST_COLOR, lw=0.6, zorder=1,
                           transform=transform, gid="coastline")
        if regions is not None and len(regions):
            artists += ax.plot(region_x, region_y, color=_REGION_COLOR, lw=1.0, ls="--",
                               zorder=1.5, transform=transform, gid="regions")
    return artists


def _region_labels(ax, regions, view) -> tuple[list, list[str]]:
    """A name for every region that shows in the view, placed inside its visible part.

    Names are placed in the regions' order; a name whose box (7 pt text) would overlap one
    already placed, or stick out of the map, is replaced by a letter (``a``, ``b`` ...) at
    the same place and spelt out in the key beside the map. Returns the artists and the
    key's lines (``"a  hangzhou_bay"``).
    """
    import shapely
    import shapely.affinity

    if regions is None or not len(regions):
        return [], []
    names = (np.asarray(regions["name"], dtype=object) if "name" in regions
             else np.full(len(regions), "", dtype=object))
    geoms = np.asarray(regions.geometry)
    fig_w, _ = ax.figure.get_size_inches()
    width_pt = ax.get_position(original=True).width * fig_w * 72.0
    points_per_deg = width_pt / (view[1] - view[0])
    # The map's aspect: a degree of latitude is 1/cos(mid latitude) times as tall.
    y_scale = points_per_deg / max(np.cos(np.radians(0.5 * (view[2] + view[3]))), 0.05)
    height_pt = (view[3] - view[2]) * y_scale
    placed = []  # (x0, y0, x1, y1) in points from the map's lower left corner
    # The scale bar's corner (lower right, about a quarter of the width, 30 pt tall) is
    # kept clear: a name there would be hidden under it.
    bar = shapely.box(view[1] - 0.27 * (view[1] - view[0]), view[2], view[1],
                      view[2] + 30.0 / y_scale)
    artists, key = [], []
    def anchor(geom, k, text):
        """A point of the region's visible part, inside the view by half the text's width
        (7 pt, about 0.6 em a letter) and a line's height where it can be, so that the text
        is not cut at the edge; its box in points; None when the region is not in view."""
        half_w, half_h = 0.5 * len(text) * 7 * 0.6, 5.0
        inset_x = min(half_w / points_per_deg, 0.45 * (view[1] - view[0]))
        inset_y = min(8.0 / y_scale, 0.45 * (view[3] - view[2]))
        for dx, dy in ((inset_x, inset_y), (0.0, 0.0)):
            visible = shapely.clip_by_rect(geom, view[0] + dx - k, view[2] + dy,
                                           view[1] - dx - k, view[3] - dy)
            clear_of_bar = shapely.difference(visible, shapely.affinity.translate(bar, -k))
            if not shapely.is_empty(clear_of_bar) and shapely.area(clear_of_bar) > 0:
                visible = clear_of_bar
            if not shapely.is_empty(visible) and shapely.area(visible) > 0:
                x, y = shapely.get_coordinates(shapely.point_on_surface(visible))[0]
                px, py = (x + k - view[0]) * points_per_deg, (y - view[2]) * y_scale
                return x, y, (px - half_w, py - half_h, px + half_w, py + half_h)
        return None

    for k in _shifts(view):  # at most three turns
        for geom, name in zip(geoms, names, strict=True):  # regions: a handful
            text = str(name)
            found = anchor(geom, k, text)
            if found is None:
                continue
            x, y, box = found
            inside = box[0] >= 0 and box[2] <= width_pt and box[1] >= 0 and box[3] <= height_pt
            clear = all(box[2] < b[0] or b[2] < box[0] or box[3] < b[1] or b[3] < box[1]
                        for b in placed)  # a handful of names
            if inside and clear:
                placed.append(box)
            else:  # a letter instead, spelt out in the key
                text = chr(ord("a") + len(key) % 26)
                key.append(f"{text}  {name}")
                x, y, _ = anchor(geom, k, text)
            # A letter is drawn above the scale bar, in case its region shows only there.
            artists.append(ax.text(x + k, y, text, color=_REGION_COLOR, fontsize=7,
                                   ha="center", va="center", clip_on=True,
                                   zorder=1.6 if text == str(name) else 6.5,
                                   gid="region-label", path_effects=_halo()))
    return artists, key


def _halo():
    from matplotlib import patheffects

    return [patheffects.withStroke(linewidth=2.5, foreground="white")]


def _key_rows(ax, entries, anchor, step_pt, fontsize: float = 7) -> list:
    """A legend drawn as plain lines and texts: entry ``i`` at ``anchor`` (axes fraction)
    moved by ``i * step_pt`` (points), a 16 pt sample of its style, then its label.

    ``entries`` are ``(style, label)``: ``style`` holds :class:`~matplotlib.lines.Line2D`
    keywords (a marker with ``ls="none"`` is drawn once, mid-sample). Matplotlib's
    ``Legend`` lays out its boxes on every draw, which cost as much as the rest of a
    timeline; these rows cost what their texts do. Returns the artists added (``gid``
    ``"key-row"``).
    """
    from matplotlib.lines import Line2D
    from matplotlib.transforms import ScaledTranslation

    inches = ax.figure.dpi_scale_trans
    at_anchor = inches + ScaledTranslation(anchor[0], anchor[1], ax.transAxes)
    artists = []
    for i, (style, label) in enumerate(entries):  # a handful of rows
        at = at_anchor + ScaledTranslation(i * step_pt[0] / 72.0, i * step_pt[1] / 72.0,
                                           inches)
        marker_only = str(style.get("ls", "-")).lower() == "none"
        xs = [8 / 72.0] if marker_only else [0.0, 16 / 72.0]
        artists.append(ax.add_artist(Line2D(xs, [0.0] * len(xs), transform=at,
                                            clip_on=False, gid="key-row", **style)))
        artists.append(ax.text(20 / 72.0, 0.0, label, transform=at, fontsize=fontsize,
                               va="center", ha="left", clip_on=False, gid="key-row"))
    return artists


#: Outside :data:`EAST_ASIA_BOX` the land is Natural Earth 1:110m, whose coasts are off by
#: up to some 10-20 km: on maps narrower than this (degrees) that shows, so the map says so.
COARSE_LAND_NOTE_DEG = 20.0


def _coarse_land_note(ax, view) -> list:
    """A note in the map's lower left corner when part of a narrow view lies outside the fine
    land layer's box: coasts there are 1:110m and events can seem to lie on land."""
    x0, x1, y0, y1 = view
    if max(x1 - x0, y1 - y0) >= COARSE_LAND_NOTE_DEG:
        return []
    box_x0, box_y0, box_x1, box_y1 = EAST_ASIA_BOX
    inside = any(box_x0 <= x0 + k and x1 + k <= box_x1 for k in (-360.0, 0.0, 360.0))
    if inside and box_y0 <= y0 and y1 <= box_y1:
        return []
    return [ax.text(0.01, 0.01, "coast: Natural Earth 1:110m (coarse, ~10 km) outside "
                    "105-135°E 15-45°N", transform=ax.transAxes, fontsize=6, color="0.35",
                    ha="left", va="bottom", zorder=6, gid="coarse-land-note",
                    path_effects=_halo())]


def _nice_km(width_km: float) -> float:
    """A round length (1, 2 or 5 times a power of ten km) near a fifth of ``width_km``."""
    target = max(width_km / 5.0, 1e-3)
    power = 10.0 ** np.floor(np.log10(target))
    return float(max(m * power for m in (1.0, 2.0, 5.0) if m * power <= target))


def _scale_bar(ax, view) -> list:
    """A scale bar in the lower right corner, true at the view's middle latitude."""
    from matplotlib.font_manager import FontProperties
    from mpl_toolkits.axes_grid1.anchored_artists import AnchoredSizeBar

    mid_lat = 0.5 * (view[2] + view[3])
    km_per_deg = 6371.0088 * np.pi / 180.0 * max(np.cos(np.radians(mid_lat)), 0.05)
    km = _nice_km((view[1] - view[0]) * km_per_deg)
    label = f"{km:g} km"
    if view[3] - view[2] > 4.0:  # the scale changes with latitude over a tall view
        label += f" at {abs(mid_lat):.0f}°{'N' if mid_lat >= 0 else 'S'}"
    bar = AnchoredSizeBar(ax.transData, km / km_per_deg, label, "lower right", pad=0.4,
                          borderpad=0.6, sep=3, frameon=True, size_vertical=0,
                          fontproperties=FontProperties(size=7))
    bar.patch.set_alpha(0.8)
    bar.set_gid("scale-bar")
    bar.set_zorder(6)
    return [ax.add_artist(bar)]


def _vessel_names(events: pd.DataFrame) -> dict[int, str]:
    """MMSI -> ship name from the identity columns ``name``/``other_name`` where present."""
    frames = []
    for m_col, n_col in (("mmsi", "name"), ("other_mmsi", "other_name")):
        if m_col in events and n_col in events:
            frames.append(pd.DataFrame({"mmsi": pd.array(events[m_col], dtype="Int64"),
                                        "name": events[n_col].astype("string")}))
    if not frames:
        return {}
    both = pd.concat(frames).dropna()
    both = both[both["name"].str.strip() != ""]
    return dict(zip(both["mmsi"].astype("int64"), both["name"].str.strip(), strict=True))


def _event_labels(ax, events, lx, ly, view, region_key=()) -> list:
    """Numbers beside the events and a key listing each number's vessels (then the
    regions named by a letter, ``region_key``).

    Events close together on the map (chained within 1/40 of the framed span) share one
    number, so numbers keep apart; at most :data:`MAX_LABELS` numbers, in the order of the
    events (the report ranks them first). Numbers near the right or top edge are set on the
    inner side of their marker, so none is cut off.
    """
    ok = np.isfinite(lx) & np.isfinite(ly)
    if not ok.any():
        return _key_text(ax, ["regions:", *region_key] if region_key else [])
    span = max(view[1] - view[0], view[3] - view[2])
    cluster = _clusters(lx, ly, ok, span / 40.0)
    is_first = np.zeros(cluster.size, dtype=bool)
    is_first[np.unique(cluster, return_index=True)[1]] = True
    first = np.flatnonzero(ok & is_first)  # each place's first event, in event order
    n_places = first.size
    first = first[:MAX_LABELS]
    chosen = cluster[first]
    # The participants of the numbered places (NumPy: this runs once per map).
    p_cluster, p_mmsi = cluster, np.asarray(events["mmsi"], np.int64)
    p_order = np.arange(len(events))
    if "other_mmsi" in events:
        other = pd.array(events["other_mmsi"], dtype="Int64")
        has = ~np.asarray(other.isna(), dtype=bool)
        p_cluster = np.r_[p_cluster, cluster[has]]
        p_mmsi = np.r_[p_mmsi, np.asarray(other[has], dtype=np.int64)]
        p_order = np.r_[p_order, np.flatnonzero(has)]
    sel = np.flatnonzero(np.isin(p_cluster, chosen))
    sel = sel[np.lexsort((p_mmsi[sel], p_order[sel]))]  # by event, then MMSI
    pairs = np.column_stack([p_cluster[sel], p_mmsi[sel]])
    sel = sel[np.sort(np.unique(pairs, axis=0, return_index=True)[1])]  # each vessel once
    names = _vessel_names(events)
    n_events = dict(zip(*np.unique(cluster, return_counts=True), strict=True))
    sel_cluster = p_cluster[sel]
    n_vessels = dict(zip(*np.unique(sel_cluster, return_counts=True), strict=True))
    by_place = np.argsort(sel_cluster, kind="stable")
    starts = np.r_[0, np.flatnonzero(np.diff(sel_cluster[by_place])) + 1]
    rank = np.arange(sel.size) - np.repeat(starts, np.diff(np.r_[starts, sel.size]))
    shown = np.sort(by_place[rank < 2])  # the first two vessels of each place
    vessels: dict = {}
    for c, m in zip(sel_cluster[shown].tolist(), p_mmsi[sel][shown].tolist(), strict=True):
        vessels.setdefault(c, []).append(  # <= 2 * MAX_LABELS rows
            "no AIS (imagery)" if m == 0 else  # dark_vessel events: a hull without AIS
            f"{m} {names[m][:20]}" if m in names else str(m))
    types = np.asarray(events["event_type"], dtype=object)
    artists, key = [], []
    x_right = view[0] + 0.9 * (view[1] - view[0])
    y_top = view[2] + 0.93 * (view[3] - view[2])
    for number, (i, c) in enumerate(zip(first, chosen, strict=True), start=1):  # <= 30
        left = lx[i] > x_right
        down = ly[i] > y_top
        artists.append(ax.annotate(
            str(number), (lx[i], ly[i]), xytext=(-5 if left else 5, -5 if down else 5),
            textcoords="offset points", ha="right" if left else "left",
            va="top" if down else "bottom", fontsize=7, fontweight="bold", zorder=5,
            annotation_clip=True, gid="event-label", path_effects=_halo()))
        if n_events[c] == 1 and len(first) <= KEY_DETAIL_PLACES:  # two lines: what, who
            key.append(f"{number:>2} {str(types[i]).replace('_', ' ')}")
            key.append("   " + " / ".join(vessels[c]))
        else:  # one line per place
            what = (str(types[i]).replace("_", " ") if n_events[c] == 1
                    else f"{n_events[c]} events")
            if n_vessels[c] > 1:
                what += f", {n_vessels[c]} vessels"
            more = " ..." if n_vessels[c] > 1 else ""
            key.append(f"{number:>2} {what}: {vessels[c][0]}{more}")
    if n_places > len(first):
        key.append(f"   ({n_places - len(first)} more places not numbered)")
    if region_key:
        key += ["", "regions:", *region_key]
    return artists + _key_text(ax, key)


def _key_text(ax, lines) -> list:
    """The key beside the map: one monospace text, each line cut (ending in "...") to fit
    between the map and the figure's right edge."""
    if not lines:
        return []
    fig_w, _ = ax.figure.get_size_inches()
    right = ax.get_position(original=True).x1
    room_pt = ((1.0 - right) * fig_w * 72.0) - 0.03 * ax.get_position(original=True).width \
        * fig_w * 72.0 - 4.0
    width = max(int(room_pt / (0.6 * 6.5)), 12)  # a monospace letter is 0.6 em wide
    lines = [line if len(line) <= width else line[:width - 3] + "..." for line in lines]
    return [ax.text(1.03, 1.0, "\n".join(lines), transform=ax.transAxes, va="top",
                    ha="left", fontsize=6.5, family="monospace", clip_on=False,
                    gid="label-key")]


def _fill_box(ax, view):
    """The view widened in one direction, about its centre, to fill the axes' box at the
    map's aspect (1 / cos of the middle latitude), so the figure has no blank band; never
    wider than a turn nor beyond the poles (the box shrinks instead)."""
    fig_w, fig_h = ax.figure.get_size_inches()
    box = ax.get_position(original=True)
    box_ratio = (box.width * fig_w) / max(box.height * fig_h, 1e-9)  # width / height
    x0, x1, y0, y1 = view
    aspect = 1.0 / max(np.cos(np.radians(0.5 * (y0 + y1))), 0.05)
    dx, dy = x1 - x0, y1 - y0
    if dx < box_ratio * aspect * dy:  # too narrow: widen
        half = 0.5 * min(box_ratio * aspect * dy, max(360.0, dx))
        cx = 0.5 * (x0 + x1)
        return (cx - half, cx + half, y0, y1)
    half = 0.5 * dx / (box_ratio * aspect)  # too flat: heighten, within the poles
    cy = 0.5 * (y0 + y1)
    return (x0, x1, max(cy - half, -90.0), min(cy + half, 90.0))


def _frame(ev_lon, ev_lat, end_lon, end_lat, track_lon, track_lat, pad_deg):
    """Centre longitude and view framing the events, their ends and the drawn tracks."""
    all_lon = np.concatenate([ev_lon, end_lon, track_lon])
    all_lat = np.concatenate([ev_lat, end_lat, track_lat])
    ok = np.isfinite(all_lon) & np.isfinite(all_lat)
    if not ok.any():
        return 121.5, _DEFAULT_VIEW
    event_lon = np.concatenate([ev_lon, end_lon])
    centre = _centre_lon(event_lon if np.isfinite(event_lon).any() else all_lon)
    x = _unwrap(all_lon[ok], centre)
    y = all_lat[ok]
    span_x = x.max() - x.min()
    # The relative margin never takes the view past one turn (plus pad_deg a side).
    pad_x = max(float(pad_deg), min(_PAD_FRACTION * span_x, 0.5 * (360.0 - span_x)))
    pad_y = max(float(pad_deg), _PAD_FRACTION * (y.max() - y.min()))
    view = (x.min() - pad_x, x.max() + pad_x, max(y.min() - pad_y, -89.0),
            min(y.max() + pad_y, 89.0))
    if view[1] - view[0] < 1e-6 or view[3] - view[2] < 1e-6:  # pad_deg=0, one point
        view = (view[0] - 0.01, view[1] + 0.01, view[2] - 0.01, view[3] + 0.01)
    return centre, view


# ------------------------------------------------------------------------------------ maps
def plot_events_map(events, tracks=None, regions=None, ax=None, pad_deg: float = 0.2,
                    tail_h: float = 12):
    """Draw events on a map with their participants' tracks, regions, land and a scale bar.

    Parameters
    ----------
    events : pandas.DataFrame or str or os.PathLike
        Events table (:data:`stsdetect.events.EVENT_COLUMNS`) or a file
        :func:`stsdetect.events.read_events` reads.
    tracks : stsdetect.tracks.Tracks or pandas.DataFrame, optional
        Tracks (or a positions table) to draw the participants' tracks from.
    regions : geopandas.GeoDataFrame or str or list of str or bool, optional
        Regions to outline: a GeoDataFrame with ``name`` and ``geometry``, built-in region
        name(s), or ``True`` for all built-ins. Default None: none. Every region that shows
        in the view is labelled with its name.
    ax : matplotlib.axes.Axes, optional
        Axes to draw on; default a new :data:`MAP_FIGSIZE` figure whose right quarter holds
        the key of numbered events and the legend.
    pad_deg : float, default 0.2
        Least margin around what is framed, in degrees (0.2 degrees is about 20 km: enough to
        show the approach of a vessel at 5 kn over two hours); the margin is at least 6% of
        the framed span, so numbers beside markers at the edge are not cut. A drawing choice,
        not a published value.
    tail_h : float, default 12
        Tracks are drawn from ``tail_h`` hours before each event's start to ``tail_h`` hours
        after its end: half a day, enough to show where a pair came from and went. A drawing
        choice, not a published value.

    Returns
    -------
    matplotlib.axes.Axes
        The axes (``ax.figure.savefig(path)`` writes it). The map frames the events, where
        dark events ended, and the drawn tracks. Artists carry ``gid`` values
        ``"events-<type>"``, ``"tracks"``, ``"track-points"``, ``"dark-gaps"``, ``"land"``,
        ``"coastline"``, ``"regions"``, ``"region-label"``, ``"event-label"`` (the numbers),
        ``"label-key"`` (the key of numbers to vessels) and ``"scale-bar"``.

    Raises
    ------
    ImportError
        Without matplotlib (the ``[plot]`` extra).
    ValueError
        If ``pad_deg`` or ``tail_h`` is negative or not finite, or the events lack columns.
    """
    _require_matplotlib()
    for name, value in (("pad_deg", pad_deg), ("tail_h", tail_h)):
        if not np.isfinite(value) or value < 0:
            raise ValueError(f"{name} must be finite and >= 0, got {value!r}")
    events = _as_events(events)
    tracks = _as_tracks(tracks)
    regions = _resolve_regions(regions)
    own = ax is None
    ax = _new_axes(ax, MAP_FIGSIZE, margins=_MAP_MARGINS)
    _draw_map(ax, events, tracks, regions, pad_deg, tail_h, base_shifts=(), fill=own)
    return ax


def _draw_map(ax, events, tracks, regions, pad_deg, tail_h, base_shifts, fill=True) -> list:
    """Everything of one map on ``ax``; returns the artists added, for removal.

    Land and region outlines moved by a turn in ``base_shifts`` are taken to be drawn
    already (a reused base map); the others the view needs are drawn here. ``fill`` widens
    the view to fill the axes box (own figures) instead of shrinking the box.
    """
    from matplotlib.collections import LineCollection

    ev_lat = np.asarray(events["lat"], dtype=float)
    ev_lon = np.asarray(events["lon"], dtype=float)
    end_lat = np.asarray(events["end_lat"], float) if "end_lat" in events else ev_lat * np.nan
    end_lon = np.asarray(events["end_lon"], float) if "end_lon" in events else ev_lon * np.nan
    types = np.asarray(events["event_type"], dtype=object)
    no_position = int((~(np.isfinite(ev_lat) & np.isfinite(ev_lon))).sum())
    if no_position:
        warnings.warn(f"{no_position} of {len(events)} events have no position and are not "
                      "drawn", stacklevel=3)

    # Track rows of the participants around each event.
    rows = np.zeros(0, dtype=np.int64)
    if tracks is not None and len(tracks) and len(events):
        p_mmsi, p_t0, p_t1 = _participants(events)
        tail_s = float(tail_h) * 3600.0
        rows = np.flatnonzero(_window_rows(tracks, p_mmsi, p_t0 - tail_s, p_t1 + tail_s))
    track_lon = tracks.lon_deg[rows] if rows.size else np.zeros(0)
    track_lat = tracks.lat_deg[rows] if rows.size else np.zeros(0)
    centre, view = _frame(ev_lon, ev_lat, end_lon, end_lat, track_lon, track_lat, pad_deg)
    if fill:
        view = _fill_box(ax, view)

    # Land, coastline and regions (behind everything else), and the regions' names.
    artists = _draw_layers(ax, regions, [k for k in _shifts(view) if k not in base_shifts])
    region_artists, region_key = _region_labels(ax, regions, view)
    artists += region_artists

    # Tracks: one LineCollection of consecutive report pairs, coloured per vessel.
    drawn_mmsi = np.zeros(0, dtype=np.int64)
    if rows.size:
        r0, r1 = rows[:-1], rows[1:]
        joined = ((r1 == r0 + 1) & (tracks.segment[r0] == tracks.segment[r1])
                  & (tracks.time_ns[r1] - tracks.time_ns[r0] <= round(TRACK_BREAK_S * 1e9)))
        piece = np.r_[0, np.cumsum(~joined)]  # unbroken pieces of track
        if rows.size > MAX_TRACK_POINTS:  # thin: every k-th report, keeping each piece's end
            k = -(-rows.size // MAX_TRACK_POINTS)
            first = np.r_[True, piece[1:] != piece[:-1]]
            last = np.r_[piece[1:] != piece[:-1], True]
            pos = np.arange(rows.size) - np.maximum.accumulate(
                np.where(first, np.arange(rows.size), 0))
            keep = (pos % k == 0) | last
            rows, piece = rows[keep], piece[keep]
        drawn_mmsi, vessel = np.unique(tracks.mmsi[rows], return_inverse=True)
        from matplotlib.colors import to_rgba_array

        # RGBA floats, not colour names: matplotlib would parse a name per segment.
        colors = to_rgba_array(_VESSEL_COLORS)[vessel % len(_VESSEL_COLORS)]
        x = _unwrap(tracks.lon_deg[rows], centre)
        y = tracks.lat_deg[rows]
        # One polyline per unbroken piece (not one path per pair of reports: matplotlib
        # makes a Path object per line, which cost more than drawing them).
        starts = np.flatnonzero(np.r_[True, piece[1:] != piece[:-1]])
        lines = np.split(np.column_stack([x, y]), starts[1:])
        artists.append(ax.add_collection(LineCollection(
            lines, colors=colors[starts], linewidths=1.2, zorder=2, gid="tracks"),
            autolim=False))
        artists.append(ax.scatter(x, y, s=3, c=colors, zorder=2, linewidths=0,
                                  gid="track-points"))

    # Dark events: where the vessel vanished -> where it reappeared.
    dark = np.isfinite(end_lat) & np.isfinite(end_lon) & np.isfinite(ev_lat) & np.isfinite(ev_lon)
    if dark.any():
        seg_xy = np.stack([
            np.column_stack([_unwrap(ev_lon[dark], centre), ev_lat[dark]]),
            np.column_stack([_unwrap(end_lon[dark], centre), end_lat[dark]]),
        ], axis=1)
        artists.append(ax.add_collection(LineCollection(
            seg_xy, colors="0.1", linestyles="--", linewidths=1.0, zorder=2.5,
            gid="dark-gaps"), autolim=False))

    # Event markers, one scatter per type (a handful of types).
    key = []
    for etype in pd.unique(types):
        style = EVENT_STYLE.get(etype, _OTHER_STYLE)
        sel = types == etype
        artists.append(ax.scatter(
            _unwrap(ev_lon[sel], centre), ev_lat[sel], s=70, marker=style["marker"],
            c=style["color"], edgecolors="white", linewidths=0.8, zorder=4,
            gid=f"events-{etype}"))
        key.append(({"marker": style["marker"], "color": style["color"], "ls": "none",
                     "ms": 7}, f"{style['label']} ({int(sel.sum())})"))

    unseen = _unseen_partners(ax, events, centre)
    if unseen:  # the detections behind unseen_partner flags, with scene and time
        artists += unseen
        n_unseen = len(unseen[0].get_offsets())
        key.append(({"marker": EVENT_STYLE["dark_vessel"]["marker"], "ls": "none", "ms": 7,
                     "mfc": "none", "mec": EVENT_STYLE["dark_vessel"]["color"]},
                    f"unseen partner (imagery) ({n_unseen})"))
    if len(events):
        artists += _event_labels(ax, events, _unwrap(ev_lon, centre), ev_lat, view,
                                 region_key)
        if 0 < drawn_mmsi.size <= LEGEND_VESSELS:  # which track is whose
            names = _vessel_names(events)
            key += [({"color": _VESSEL_COLORS[i % len(_VESSEL_COLORS)], "lw": 1.5},
                     f"{m} {names.get(m, '')[:20]}".strip())
                    for i, m in enumerate(drawn_mmsi.tolist())]
        # The legend: rows upwards from the bottom of the panel right of the map.
        artists += _key_rows(ax, key[::-1], anchor=(1.03, 0.015), step_pt=(0.0, 11.0))
    elif region_key:
        artists += _key_text(ax, ["regions:", *region_key])

    ax.set_xlim(view[0], view[1])
    ax.set_ylim(view[2], view[3])
    mid_lat = np.radians(0.5 * (view[2] + view[3]))
    ax.set_aspect(1.0 / max(np.cos(mid_lat), 0.05), adjustable="box")
    artists += _scale_bar(ax, view)
    artists += _coarse_land_note(ax, view)
    from matplotlib.ticker import MaxNLocator

    # Six ticks a side, not matplotlib's nine: tick labels are most of a map's drawing time.
    ax.xaxis.set_major_locator(MaxNLocator(6))
    ax.yaxis.set_major_locator(MaxNLocator(6))
    ax.set_xlabel("longitude (deg E)")
    ax.set_ylabel("latitude (deg N)")
    ax.grid(True, lw=0.3, alpha=0.5)
    ax.set_facecolor("#f4f8fb")
    return artists


def _unseen_partners(ax, events, centre) -> list:
    """Hollow triangles at the imagery detections behind ``unseen_partner`` flags, each with
    its scene and image time (#18)."""
    from stsdetect.detectors.dark_vessels import unseen_partner_points

    pts = unseen_partner_points(events)
    pts = pts[np.isfinite(pts["lat"].to_numpy(float)) & np.isfinite(pts["lon"].to_numpy(float))]
    pts = pts.drop_duplicates("detection_id")
    if not len(pts):
        return []
    style = EVENT_STYLE["dark_vessel"]
    x = _unwrap(pts["lon"].to_numpy(float), centre)
    y = pts["lat"].to_numpy(float)
    artists = [ax.scatter(x, y, s=55, marker=style["marker"], facecolors="none",
                          edgecolors=style["color"], linewidths=1.2, zorder=4.5,
                          gid="unseen-partners")]
    text = (pts["scene_id"].astype(str).str.slice(0, 24) + " "
            + pts["time"].dt.strftime("%m-%d %H:%M")).tolist()
    for xi, yi, t in zip(x[:MAX_LABELS], y[:MAX_LABELS], text[:MAX_LABELS],
                         strict=False):  # <= MAX_LABELS labels
        artists.append(ax.annotate(t, (xi, yi), xytext=(4, -9), textcoords="offset points",
                                   fontsize=6, color=style["color"], zorder=5,
                                   annotation_clip=True, gid="unseen-partner-label",
                                   path_effects=_halo()))
    return artists


def _png_bytes(figure, dpi: float) -> bytes:
    """The figure rendered by Agg at ``dpi`` as RGB PNG bytes (no metadata, so the same
    figure gives the same bytes; the background is opaque, so no alpha channel).

    Not a palette PNG: a fast quantizer (Pillow's octree) merged the white page and the pale
    sea into one colour, and the exact ones cost more than the whole PNG.
    """
    from PIL import Image

    from ._agg import GlyphCacheCanvas

    canvas = figure.canvas
    if not isinstance(canvas, GlyphCacheCanvas):  # reused figures: text drawn from a cache
        canvas = GlyphCacheCanvas(figure)
    if figure.get_dpi() != dpi:
        figure.set_dpi(dpi)
    canvas.draw()
    image = Image.frombuffer("RGBA", canvas.get_width_height(), canvas.buffer_rgba(),
                             "raw", "RGBA", 0, 1).convert("RGB")
    buf = io.BytesIO()
    image.save(buf, format="png", compress_level=PNG_COMPRESS_LEVEL)
    return buf.getvalue()


class _MapCanvas:
    """One figure reused for many maps: the land and region outlines are drawn once, and
    each map adds its own artists, is saved, and takes them away again."""

    def __init__(self, regions, figsize=MAP_FIGSIZE):
        self.ax = _new_axes(None, figsize, margins=_MAP_MARGINS)
        self.regions = regions
        _draw_layers(self.ax, regions, [0.0])

    def png(self, events, tracks=None, title: str = "", dpi: int = 90, pad_deg: float = 0.2,
            tail_h: float = 12) -> bytes:
        """The PNG bytes of one map (as :func:`plot_events_map` draws it)."""
        artists = _draw_map(self.ax, events, tracks, self.regions, pad_deg, tail_h,
                            base_shifts=(0.0,))
        self.ax.set_title(title, fontsize=9, y=1.0)  # fixed: see _draw_timeline
        try:
            return _png_bytes(self.ax.figure, dpi)
        finally:
            for artist in artists:
                artist.remove()


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
        Resolution (a 10 x 7 inch figure at 110 dpi is 1100 x 770 pixels).

    Returns
    -------
    pathlib.Path
        The path written.
    """
    ax = plot_events_map(events, tracks=tracks, regions=regions, pad_deg=pad_deg, tail_h=tail_h)
    from stsdetect.outputs import atomic_path

    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    with atomic_path(path) as tmp:  # an interrupted write leaves the old map whole
        ax.figure.savefig(tmp, dpi=dpi, format="png", metadata={"Software": None})
    return path


def _safe_names(ids) -> list[str]:
    """File-system-safe, unique stems for event ids."""
    stems = pd.Series([re.sub(r"[^A-Za-z0-9._-]+", "_", str(i)) or "event" for i in ids])
    dup = stems.groupby(stems).cumcount()
    return list(stems.where(dup == 0, stems + "-" + (dup + 1).astype(str)))


def _near_events(tracks, events, tail_s: float = 12 * 3600.0):
    """The tracks cut down, in one vectorized pass, to the participants' rows near events."""
    if tracks is None or not len(tracks) or not len(events):
        return tracks
    p_mmsi, p_t0, p_t1 = _participants(events)
    return tracks.take(_window_rows(tracks, p_mmsi, p_t0 - tail_s, p_t1 + tail_s))


def save_event_maps(events, tracks, out_dir, regions=None, dpi: int = 110) -> list[Path]:
    """Write one map PNG per event, named ``<event_id>.png``, into ``out_dir``.

    Each map frames its event with the default padding and tail of :func:`plot_events_map`
    and shows its participants' tracks. The tracks are first cut down, in one vectorized pass,
    to the rows near any event, and all maps are drawn on one reused figure whose land and
    regions are drawn once.

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
    dpi : int, default 110
        Resolution of each PNG.

    Returns
    -------
    list of pathlib.Path
        The files written, in the order of the events. Characters other than letters, digits,
        ``.``, ``_`` and ``-`` in an event id become ``_``; repeated ids get ``-2``, ``-3`` ...
    """
    from stsdetect.outputs import atomic_path

    _require_matplotlib()
    events = _as_events(events)
    tracks = _near_events(_as_tracks(tracks), events)
    canvas = _MapCanvas(_resolve_regions(regions))
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    paths = []
    for i, stem in enumerate(_safe_names(events["event_id"])):  # one file per event
        path = out_dir / f"{stem}.png"
        png = canvas.png(events.iloc[[i]], tracks, title=str(events["event_id"].iloc[i]),
                         dpi=dpi)
        with atomic_path(path) as tmp:  # an interrupted write leaves the old map whole
            Path(tmp).write_bytes(png)
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
    t = tracks.time_ns[rows] / 1e9  # float seconds for the plot's interpolation only
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
    ax = _new_axes(ax, (8, 4))
    _draw_timeline(ax, None, tracks, event, max_gap_s, step_s)
    return ax


def _draw_timeline(ax, sog_ax, tracks: Tracks, event: pd.Series, max_gap_s: float,
                   step_s: float) -> list:
    """The timeline of one event on ``ax`` (and ``sog_ax`` for a pair's speeds: a twin of
    ``ax`` made here when None); returns the artists added, for removal."""
    start = float(epoch_s([event["start"]])[0])
    end = float(epoch_s([event["end"]])[0])
    if not (np.isfinite(start) and np.isfinite(end)):
        raise ValueError("event start/end must be set")
    t0, t1 = start - PAIR_WINDOW_S, end + PAIR_WINDOW_S
    mmsi = int(event["mmsi"])
    other = event.get("other_mmsi", pd.NA)
    other = None if other is None or pd.isna(other) else int(other)

    vessels = [mmsi] if other is None else [mmsi, other]
    near = tracks.take(_window_rows(tracks, vessels, [t0] * len(vessels), [t1] * len(vessels)))
    tracks = near  # both vessels' reports in the window: one pass over all rows
    rows = {m: _vessel_window(tracks, m, t0, t1) for m in vessels}
    def hours(t):
        return ((np.asarray(t, float) - start) / 3600.0)

    artists = []
    if other is not None:
        step = max(float(step_s), (t1 - t0) / 5000.0)
        grid = np.arange(t0, t1 + step / 2, step)
        dist = np.full(grid.shape, np.nan)
        if rows[mmsi].size and rows[other].size:
            lat1, lon1 = _interp_positions(tracks, rows[mmsi], grid, max_gap_s)
            lat2, lon2 = _interp_positions(tracks, rows[other], grid, max_gap_s)
            dist = haversine_m(lat1, lon1, lat2, lon2)
        artists += ax.plot(hours(grid), dist, color="k", lw=1.5, gid="separation",
                           label=f"separation {mmsi} - {other}")
        artists.append(ax.axhline(ENCOUNTER_DISTANCE_M, color="k", ls=":", lw=0.8,
                                  label="_reference"))
        finite = dist[np.isfinite(dist)]
        top = (max(1.1 * float(finite.max()), 2 * ENCOUNTER_DISTANCE_M) if finite.size
               else 2 * ENCOUNTER_DISTANCE_M)
        ax.set_ylim(0, top)
        # The data stay in metres; beyond 10 km the ticks read in km, so that long labels
        # ("400000") do not push the axis label off the figure.
        from matplotlib.ticker import FuncFormatter, ScalarFormatter

        if top > 10_000.0:
            ax.yaxis.set_major_formatter(FuncFormatter(lambda v, _: f"{v / 1000:g}"))
            ax.set_ylabel("separation (km)")
        else:
            ax.yaxis.set_major_formatter(ScalarFormatter())
            ax.set_ylabel("separation (m)")
        if sog_ax is None:
            sog_ax = ax.twinx()
        sog_ax.set_visible(True)
    else:
        if sog_ax is not None:
            sog_ax.set_visible(False)
        sog_ax = ax
    for i, m in enumerate(vessels):
        r = rows[m]
        artists += sog_ax.plot(hours(tracks.time_ns[r] / 1e9), tracks.sog_kn[r], ".-", ms=3, lw=0.8,
                               color=_VESSEL_COLORS[i], gid=f"sog-{m}", label=f"SOG {m}")
    artists.append(sog_ax.axhline(ENCOUNTER_SPEED_KN, color=_VESSEL_COLORS[0], ls=":", lw=0.8,
                                  label="_reference"))
    sog_ax.set_ylabel("speed over ground (kn)")
    speeds = np.concatenate([tracks.sog_kn[rows[m]] for m in vessels])
    speeds = speeds[np.isfinite(speeds)]
    sog_ax.set_ylim(0.0, max(1.05 * float(speeds.max()), 2.5 * ENCOUNTER_SPEED_KN)
                    if speeds.size else 2.5 * ENCOUNTER_SPEED_KN)
    artists.append(ax.axvspan(0.0, hours(end), color="#d62728", alpha=0.12, lw=0,
                              label="_event"))
    ax.set_xlim(hours(t0), hours(t1))
    from matplotlib.ticker import MaxNLocator

    # Few ticks: tick labels are most of a figure's drawing time.
    ax.xaxis.set_major_locator(MaxNLocator(8))
    ax.yaxis.set_major_locator(MaxNLocator(5))
    if sog_ax is not ax:
        sog_ax.yaxis.set_major_locator(MaxNLocator(5))
    stamp = pd.Timestamp(start, unit="s", tz="UTC").strftime("%Y-%m-%d %H:%M UTC")
    # The shading and the reference lines are named in the axis label, not the legend (a
    # legend entry costs more to draw than a line of the label).
    reference = (f"dotted: {ENCOUNTER_DISTANCE_M:.0f} m, " if other is not None else "dotted: ")
    ax.set_xlabel(f"hours from event start ({stamp}); shaded: the event; {reference}"
                  f"{ENCOUNTER_SPEED_KN:g} kn (GFW encounter)", fontsize=8)
    handles, labels = ax.get_legend_handles_labels()
    if sog_ax is not ax:
        h2, l2 = sog_ax.get_legend_handles_labels()
        handles, labels = handles + h2, labels + l2
    key = [({"color": h.get_color(), "lw": h.get_linewidth(), "ls": h.get_linestyle(),
             "marker": h.get_marker(), "ms": h.get_markersize()}, label)
           for h, label in zip(handles, labels, strict=True)]  # two or three lines
    artists += _key_rows(ax, key, anchor=(0.0, -0.27), step_pt=(170.0, 0.0))
    # A title at a fixed height: matplotlib's automatic placement measures every tick label.
    ax.set_title(str(event.get("event_id", "")), fontsize=9, y=1.0)
    return artists


class _TimelineCanvas:
    """One figure reused for many pair timelines, with fixed margins instead of a layout
    engine: its axes, their ticks and the speed axis are made once, and each timeline's
    lines are taken away after it is saved."""

    #: (left, bottom, right, top) margins of the 8 x 4 inch timeline; room below for the
    #: legend, on the right for the speed axis.
    MARGINS = (0.09, 0.3, 0.91, 0.92)

    def __init__(self, figsize=(8.0, 4.0)):
        Figure, _ = _require_matplotlib()
        self.figure = Figure(figsize=figsize)
        left, bottom, right, top = self.MARGINS
        self.figure.subplots_adjust(left=left, bottom=bottom, right=right, top=top)
        self.ax = self.figure.add_subplot()
        self.sog_ax = self.ax.twinx()
        self.sog_ax.set_title("", y=1.0)

    def png(self, tracks, event, dpi: int = 90) -> bytes:
        """The PNG bytes of :func:`plot_pair_timeline` of one event."""
        artists = _draw_timeline(self.ax, self.sog_ax, _as_tracks(tracks), _event_row(event),
                                 TRACK_BREAK_S, 60.0)
        try:
            return _png_bytes(self.figure, dpi)
        finally:
            for artist in artists:
                artist.remove()
