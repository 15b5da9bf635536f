"""An interactive map for the HTML report: inline SVG with a small script, no network.

``events_svg_map(events, links, tracks=None, regions=None) -> str`` returns an HTML fragment
(a toolbar, an ``<svg>`` map, a tooltip, a ``<script>``) that the report puts in its page.

Why inline SVG and about 100 lines of plain JavaScript rather than a mapping library such as
Leaflet or OpenLayers: those draw tiles fetched from a server, which an offline file cannot
use; without tiles they add 40-150 KB of code to every report for what the browser already
does with SVG (vector drawing, hit testing, links). SVG keeps the page one self-contained
file that opens on an air-gapped machine, has nothing to update or license, and its shapes
are ordinary page elements a test can query.

What it draws: land (the bundled Natural Earth layers of :func:`stsdetect.plot.load_land`,
clipped to the view and simplified to about a pixel), the regions with their names, the
participants' tracks (one colour per vessel, broken at silences of over an hour, thinned to
at most :data:`MAX_TRACK_POINTS` points), dashed lines for dark events, and one marker per
event coloured by type. A marker is a link to the event's section in the report (or to its
table row when it has no section); hovering or focusing it shows the event's type, time,
score, flags (with the reasons of the ``evidence`` column, when there is one) and both
vessels' identity (name, IMO, call sign, ship type, flag, AIS class and length, from the
identity columns where the events carry them). Drag to pan; the wheel
or the + / - buttons zoom about the pointer or the centre; "reset" restores the view. A
scale bar under the map follows the zoom.

The projection is equirectangular, with x shrunk by the cosine of the middle latitude so
that shapes are true near the centre; longitudes are unwrapped around the events' centre, so
a view across the antimeridian is one piece. All text from the data is HTML-escaped and the
script writes it with ``textContent`` only.
"""

from __future__ import annotations

import html

import numpy as np
import pandas as pd

from stsdetect._html import escape
from stsdetect.events import list_text

__all__ = ["IDENTITY_FIELDS", "MAX_TRACK_POINTS", "events_svg_map"]

#: At most about this many track points are drawn (every k-th report beyond it).
MAX_TRACK_POINTS = 20_000
#: Width of the drawing in SVG units (the page scales it to the column's width).
_WIDTH = 1000.0
#: The drawing's height is kept between these fractions of its width.
_MIN_ASPECT, _MAX_ASPECT = 0.5, 0.65
#: Identity columns shown in a marker's tooltip, for the vessel and (``other_`` prefix) its
#: partner (contract C3 of the identity issue); missing columns or values are left out.
IDENTITY_FIELDS = [
    ("name", "name"), ("imo", "IMO"), ("callsign", "call sign"),
    ("ship_type_text", "type"), ("flag_country", "flag"), ("flag_iso", "flag code"),
    ("ais_class", "AIS class"), ("length_m", "length m"),
]
_TYPE_COLOR = {"rendezvous": "#d62728", "dark_rendezvous": "#9467bd",
               "dark_period": "#1f1f1f", "loitering": "#ff7f0e"}
_VESSEL_COLORS = ["#1f77b4", "#2ca02c", "#8c564b", "#e377c2", "#17becf", "#bcbd22",
                  "#393b79", "#637939", "#843c39", "#7b4173"]

_CSS = """
.stsmap-wrap{position:relative;border:1px solid #ccc;background:#f4f8fb;touch-action:none}
.stsmap-wrap svg{display:block;width:100%;height:auto;cursor:grab;user-select:none}
.stsmap-wrap svg.dragging{cursor:grabbing}
.stsmap-bar{display:flex;gap:.4em;align-items:center;margin:.3em 0;font-size:.85em}
.stsmap-bar button{font-size:1em;min-width:2em}
.stsmap-scale{display:inline-block;border:2px solid #333;border-top:0;height:.4em}
#stsmap-tip{position:absolute;display:none;pointer-events:none;background:#fff;
border:1px solid #888;border-radius:3px;padding:.3em .5em;font-size:.8em;white-space:pre-line;
box-shadow:0 1px 4px rgba(0,0,0,.25);max-width:26em;z-index:5}
.stsmap-land{fill:#efe9da;stroke:none}
.stsmap-coast{fill:none;stroke:#8a8a8a;stroke-width:.6}
.stsmap-region{fill:none;stroke:#2b8cbe;stroke-width:1;stroke-dasharray:5 3}
.stsmap-rlabel{fill:#2b8cbe;font-size:11px;text-anchor:middle;paint-order:stroke;
stroke:#fff;stroke-width:3px}
.stsmap-trk{fill:none;stroke-width:1.6;stroke-linejoin:round}
.stsmap-dark{fill:none;stroke:#222;stroke-width:1.2;stroke-dasharray:4 3}
.stsmap-wrap svg *{vector-effect:non-scaling-stroke}
.stsmap-ev{stroke:#fff;stroke-width:1.2}
.stsmap-ev:hover,a:focus>.stsmap-ev{stroke:#000;stroke-width:2}
.stsmap-legend span{margin-right:1em;white-space:nowrap}
.stsmap-legend i{display:inline-block;width:.8em;height:.8em;border-radius:50%;
margin-right:.3em;vertical-align:middle}
"""

# The script: pan (drag), zoom (wheel, buttons), reset, tooltips, scale bar. A drag starts
# only after the pointer has moved a few pixels, so a click on a marker still follows its
# link. Written for any current browser; no libraries.
_SCRIPT = """
(function () {
  var svg = document.getElementById('stsmap');
  if (!svg) { return; }
  var wrap = svg.parentNode, tip = document.getElementById('stsmap-tip');
  var home = svg.getAttribute('viewBox').split(' ').map(Number), vb = home.slice();
  var kmPerUnit = Number(svg.getAttribute('data-km-per-unit'));
  var markers = svg.querySelectorAll('.stsmap-ev');
  var scaleBar = document.getElementById('stsmap-scale');
  var scaleText = document.getElementById('stsmap-scale-text');
  function apply() {
    svg.setAttribute('viewBox', vb.join(' '));
    var s = vb[2] / home[2];
    for (var i = 0; i < markers.length; i++) {
      markers[i].setAttribute('r', Number(markers[i].getAttribute('data-r')) * s);
    }
    var px = svg.getBoundingClientRect().width / vb[2];
    if (px > 0 && kmPerUnit > 0) {
      var want = 120 / px * kmPerUnit, p = Math.pow(10, Math.floor(Math.log10(want)));
      var km = want >= 5 * p ? 5 * p : (want >= 2 * p ? 2 * p : p);
      scaleBar.style.width = (km / kmPerUnit * px) + 'px';
      scaleText.textContent = (km >= 1 ? km : km.toPrecision(1)) + ' km';
    }
  }
  function toSvg(evt) {
    var pt = svg.createSVGPoint();
    pt.x = evt.clientX; pt.y = evt.clientY;
    return pt.matrixTransform(svg.getScreenCTM().inverse());
  }
  function zoom(f, at) {
    if (!at) { at = {x: vb[0] + vb[2] / 2, y: vb[1] + vb[3] / 2}; }
    var w = vb[2] * f;
    if (w < home[2] / 2000 || w > home[2] * 8) { return; }
    vb = [at.x - (at.x - vb[0]) * f, at.y - (at.y - vb[1]) * f, w, vb[3] * f];
    apply();
  }
  svg.addEventListener('wheel', function (e) {
    e.preventDefault();
    zoom(e.deltaY < 0 ? 0.8 : 1.25, toSvg(e));
  }, {passive: false});
  var down = null, moved = false;
  svg.addEventListener('pointerdown', function (e) {
    down = {x: e.clientX, y: e.clientY, vb: vb.slice(), id: e.pointerId}; moved = false;
  });
  svg.addEventListener('pointermove', function (e) {
    if (!down) { return; }
    var dx = e.clientX - down.x, dy = e.clientY - down.y;
    if (!moved && Math.abs(dx) + Math.abs(dy) < 4) { return; }
    if (!moved) { moved = true; svg.setPointerCapture(down.id); svg.classList.add('dragging'); }
    var k = vb[2] / svg.getBoundingClientRect().width;
    vb[0] = down.vb[0] - dx * k; vb[1] = down.vb[1] - dy * k;
    apply();
  });
  function up() { down = null; svg.classList.remove('dragging'); }
  svg.addEventListener('pointerup', up);
  svg.addEventListener('pointercancel', up);
  svg.addEventListener('click', function (e) {
    if (moved) { e.preventDefault(); moved = false; }
  }, true);
  function show(target, x, y) {
    var text = target.getAttribute('data-tip');
    if (!text) { return; }
    tip.textContent = text;
    tip.style.display = 'block';
    var r = wrap.getBoundingClientRect();
    var left = Math.min(x - r.left + 12, r.width - tip.offsetWidth - 4);
    tip.style.left = Math.max(left, 0) + 'px';
    var below = y + 12 + tip.offsetHeight <= window.innerHeight;  // else above the pointer
    tip.style.top = (below ? y - r.top + 12 : y - r.top - tip.offsetHeight - 12) + 'px';
  }
  svg.addEventListener('mouseover', function (e) {
    var m = e.target.closest('.stsmap-ev');
    if (m) { show(m, e.clientX, e.clientY); }
  });
  svg.addEventListener('mouseout', function (e) {
    if (e.target.closest('.stsmap-ev')) { tip.style.display = 'none'; }
  });
  svg.addEventListener('focusin', function (e) {
    var m = e.target.querySelector && e.target.querySelector('.stsmap-ev');
    if (m) { var b = m.getBoundingClientRect(); show(m, b.right, b.bottom); }
  });
  svg.addEventListener('focusout', function () { tip.style.display = 'none'; });
  document.getElementById('stsmap-in').onclick = function () { zoom(0.5); };
  document.getElementById('stsmap-out').onclick = function () { zoom(2); };
  document.getElementById('stsmap-reset').onclick = function () { vb = home.slice(); apply(); };
  window.addEventListener('resize', apply);
  apply();
})();
"""


def _fmt(values) -> np.ndarray:
    """Numbers as text with one decimal (a tenth of an SVG unit, well under a pixel)."""
    return np.char.mod("%.1f", np.round(np.asarray(values, dtype=float), 1))


def _path_d(x, y, starts) -> str:
    """One SVG path ``d`` for polylines: ``M`` at each index in ``starts``, ``L`` elsewhere."""
    if len(x) == 0:
        return ""
    cmd = np.full(len(x), "L", dtype=object)
    cmd[np.asarray(starts, dtype=np.int64)] = "M"
    return "".join(cmd + _fmt(x).astype(object) + "," + _fmt(y).astype(object))


def _text(column: pd.Series) -> pd.Series:
    """A column as text ('' where missing); whole floats without '.0', lists space-joined."""
    if pd.api.types.is_float_dtype(column):
        v = column.to_numpy(dtype=float)
        finite = np.isfinite(v)
        whole = finite & (v == np.round(v))
        text = np.where(whole, np.char.mod("%d", np.where(whole, v, 0).astype(np.int64)),
                        np.char.mod("%g", v))
        return pd.Series(np.where(finite, text, ""), index=column.index, dtype="string")
    if column.dtype == object:
        column = list_text(column, " ")
    return column.astype("string").fillna("").str.strip()


def _join(left: pd.Series, right: pd.Series, sep: str) -> pd.Series:
    """``left + sep + right`` where both are non-empty, else whichever is."""
    both = (left != "") & (right != "")
    return (left + pd.Series(np.where(both, sep, ""), index=left.index) + right)


def _tips(events: pd.DataFrame) -> pd.Series:
    """Tooltip text per event (vectorized over columns): what, when, score and flags, and
    both vessels' identity from the columns present."""
    def col(name):
        if name not in events:
            return pd.Series("", index=events.index, dtype="string")
        return _text(events[name])

    start = pd.to_datetime(events["start"], utc=True).dt.strftime("%Y-%m-%d %H:%M")
    end = pd.to_datetime(events["end"], utc=True).dt.strftime("%Y-%m-%d %H:%M")
    tip = col("event_type") + " " + col("event_id") + "\n" + start.astype("string").fillna(
        "?") + " to " + end.astype("string").fillna("?") + " UTC"
    score = pd.to_numeric(events["score"], errors="coerce") if "score" in events else None
    if score is not None:
        text = pd.Series(np.char.mod("%.2f", score.to_numpy(float)), index=events.index)
        tip = tip + pd.Series(np.where(score.notna(), ", score " + text, ""),
                              index=events.index)
    flags = col("flags").str.replace(";", " ", regex=False)
    tip = tip + "\nflags: " + flags.where(flags != "", "none")
    # Why each flag was set: the evidence column's JSON (contract C4), shortened.
    why = col("evidence").str.slice(0, 300)
    tip = tip + ("\nwhy: " + why).where(~why.isin(["", "{}"]), "")
    for prefix, mmsi_col in (("", "mmsi"), ("other_", "other_mmsi")):
        who = pd.Series("", index=events.index, dtype="string")
        for field, label in IDENTITY_FIELDS:
            value = col(prefix + field)
            item = value if field == "name" else (label + " " + value).where(value != "", "")
            who = _join(who, item, ", ")
        mmsi = col(mmsi_col)
        line = ("MMSI " + mmsi + pd.Series(np.where(who != "", ": ", ""), index=events.index)
                + who)
        tip = tip + ("\n" + line).where(mmsi != "", "")
    return tip.astype(object)


def events_svg_map(events: pd.DataFrame, links, tracks=None, regions=None,
                   tail_h: float = 12.0, track_events: int | None = None) -> str:
    """The interactive map of events as an HTML fragment (toolbar, SVG, tooltip, script).

    Parameters
    ----------
    events : pandas.DataFrame
        Events table (:data:`stsdetect.events.EVENT_COLUMNS`, plus identity columns when
        present); one marker per event with a position, in this order (the first is drawn
        on top).
    links : sequence of str
        Per event, the id of the page element its marker links to (``"ev-3"``).
    tracks : stsdetect.tracks.Tracks or pandas.DataFrame, optional
        Tracks to draw the participants' reports from (``tail_h`` hours either side).
    regions : geopandas.GeoDataFrame, optional
        Regions (``name``, ``geometry``) to outline and name.
    tail_h : float, default 12
        Hours of track drawn before and after each event, as on the static maps.
    track_events : int, optional
        Draw the tracks of the participants of only the first ``track_events`` events
        (the report's top-ranked ones); default all.

    Returns
    -------
    str
        HTML: a ``<style>``, a toolbar, a ``<div class="stsmap-wrap">`` holding the
        ``<svg id="stsmap">`` and the tooltip, a legend and the ``<script>``. Markers are
        ``<a href="#link"><circle class="stsmap-ev" data-tip=...></a>``; tracks are
        ``<path class="stsmap-trk" data-mmsi=...>``. An empty string when no event has a
        position.
    """
    import shapely

    from .plot import (
        _as_tracks,
        _centre_lon,
        _participants,
        _unwrap,
        _window_rows,
        load_land,
    )

    lat = np.asarray(events["lat"], dtype=float)
    lon = np.asarray(events["lon"], dtype=float)
    end_lat = np.asarray(events["end_lat"], float) if "end_lat" in events else lat * np.nan
    end_lon = np.asarray(events["end_lon"], float) if "end_lon" in events else lon * np.nan
    has = np.isfinite(lat) & np.isfinite(lon)
    if not has.any():
        return ""
    centre = _centre_lon(lon[has])
    tracks = _as_tracks(tracks)
    rows = np.zeros(0, dtype=np.int64)
    if tracks is not None and len(tracks):
        p_mmsi, p_t0, p_t1 = _participants(events.iloc[:track_events])
        tail_s = float(tail_h) * 3600.0
        rows = np.flatnonzero(_window_rows(tracks, p_mmsi, p_t0 - tail_s, p_t1 + tail_s))
    # The view frames the events, their ends and the tracks, with a 5% margin.
    xs = [_unwrap(lon[has], centre), _unwrap(end_lon[np.isfinite(end_lon)], centre)]
    ys = [lat[has], end_lat[np.isfinite(end_lat)]]
    if rows.size:
        xs.append(_unwrap(tracks.lon_deg[rows], centre))
        ys.append(tracks.lat_deg[rows])
    all_x, all_y = np.concatenate(xs), np.concatenate(ys)
    x0, x1, y0, y1 = all_x.min(), all_x.max(), all_y.min(), all_y.max()
    pad = max(0.05 * max(x1 - x0, y1 - y0), 0.05)
    x0, x1, y0, y1 = x0 - pad, x1 + pad, max(y0 - pad, -89.0), min(y1 + pad, 89.0)
    coslat = max(np.cos(np.radians(0.5 * (y0 + y1))), 0.05)
    # Between half and two thirds as tall as wide: widen the shorter side about the centre.
    width_deg, height_deg = (x1 - x0) * coslat, y1 - y0
    if height_deg > _MAX_ASPECT * width_deg:
        extra = (height_deg / _MAX_ASPECT / coslat - (x1 - x0)) / 2
        x0, x1 = x0 - extra, x1 + extra
    elif height_deg < _MIN_ASPECT * width_deg:
        extra = (_MIN_ASPECT * width_deg - height_deg) / 2
        y0, y1 = y0 - extra, y1 + extra
    k = _WIDTH / ((x1 - x0) * coslat)  # SVG units per degree of latitude
    height = (y1 - y0) * k

    def sx(lon_deg):
        return (np.asarray(lon_deg, dtype=float) - x0) * coslat * k

    def sy(lat_deg):
        return (y1 - np.asarray(lat_deg, dtype=float)) * k

    parts = []
    # Land, clipped to three times the view (room to pan) and simplified to a pixel.
    span_x, span_y = x1 - x0, y1 - y0
    # The land is filled without an outline and the coast drawn over it from the coast
    # lines, which leave out the seam where the fine East Asian layer meets the world layer
    # and the cuts of the clipping box (outlines of the clipped polygons drew both as lines).
    polygons, coast = load_land()
    for turn in (-360.0, 0.0, 360.0):
        box = (x0 - span_x - turn, y0 - span_y, x1 + span_x - turn, y1 + span_y)
        if box[2] < -180.0 or box[0] > 180.0:
            continue
        clipped = shapely.clip_by_rect(polygons, *box)
        clipped = shapely.simplify(clipped[~shapely.is_empty(clipped)], span_x / 1500.0)
        rings = shapely.get_exterior_ring(shapely.get_parts(clipped))
        coords, index = shapely.get_coordinates(rings, return_index=True)
        if len(coords):
            starts = np.r_[0, np.flatnonzero(np.diff(index)) + 1]
            d = _path_d(sx(coords[:, 0] + turn), sy(coords[:, 1]), starts)
            d = d.replace("M", "ZM")[1:] + "Z"
            parts.append(f'<path class="stsmap-land" d="{d}"/>')
        lines = shapely.clip_by_rect(coast, *box)
        lines = shapely.simplify(lines[~shapely.is_empty(lines)], span_x / 1500.0)
        coords, index = shapely.get_coordinates(shapely.get_parts(lines), return_index=True)
        if len(coords):
            starts = np.r_[0, np.flatnonzero(np.diff(index)) + 1]
            d = _path_d(sx(coords[:, 0] + turn), sy(coords[:, 1]), starts)
            parts.append(f'<path class="stsmap-coast" d="{d}"/>')
    # Regions and their names.
    if regions is not None and len(regions):
        geoms = np.asarray(regions.geometry)
        lines = shapely.get_parts(shapely.boundary(geoms))
        coords, index = shapely.get_coordinates(lines, return_index=True)
        if len(coords):
            starts = np.r_[0, np.flatnonzero(np.diff(index)) + 1]
            d = _path_d(sx(_unwrap(coords[:, 0], centre)), sy(coords[:, 1]), starts)
            parts.append(f'<path class="stsmap-region" d="{d}"/>')
        names = regions["name"] if "name" in regions else pd.Series([""] * len(regions))
        visible = shapely.clip_by_rect(geoms, x0, y0, x1, y1)
        shown = ~shapely.is_empty(visible)
        if shown.any():
            px, py = shapely.get_coordinates(shapely.point_on_surface(visible[shown])).T
            for x, y, name in zip(sx(px), sy(py), np.asarray(names)[shown], strict=True):
                parts.append(f'<text class="stsmap-rlabel" x="{x:.1f}" y="{y:.1f}">'
                             f"{html.escape(str(name))}</text>")  # a handful of regions
    # Tracks: one path per vessel, broken at silences over an hour and between segments.
    if rows.size:
        from .plot import TRACK_BREAK_S

        if rows.size > MAX_TRACK_POINTS:
            rows = rows[:: -(-rows.size // MAX_TRACK_POINTS)]
        mmsi = tracks.mmsi[rows]
        new_piece = np.r_[True, (mmsi[1:] != mmsi[:-1])
                          | (tracks.segment[rows][1:] != tracks.segment[rows][:-1])
                          | (np.diff(tracks.time_ns[rows]) > round(TRACK_BREAK_S * 1e9))]
        tx = sx(_unwrap(tracks.lon_deg[rows], centre))
        ty = sy(tracks.lat_deg[rows])
        vessels, first = np.unique(mmsi, return_index=True)
        bounds = np.r_[first, rows.size]  # rows are sorted by vessel
        for j, m in enumerate(vessels.tolist()):  # one path per vessel near the events
            a, b = bounds[j], bounds[j + 1]
            starts = np.flatnonzero(new_piece[a:b])
            d = _path_d(tx[a:b], ty[a:b], starts)
            color = _VESSEL_COLORS[j % len(_VESSEL_COLORS)]
            parts.append(f'<path class="stsmap-trk" stroke="{color}" data-mmsi="{m}" '
                         f'd="{d}"><title>MMSI {m}</title></path>')
    # Dark events: where the vessel vanished -> where it reappeared.
    dark = has & np.isfinite(end_lat) & np.isfinite(end_lon)
    if dark.any():
        gx0, gy0 = sx(_unwrap(lon[dark], centre)), sy(lat[dark])
        gx1, gy1 = sx(_unwrap(end_lon[dark], centre)), sy(end_lat[dark])
        d = "".join("M" + _fmt(gx0).astype(object) + "," + _fmt(gy0).astype(object) + "L"
                    + _fmt(gx1).astype(object) + "," + _fmt(gy1).astype(object))
        parts.append(f'<path class="stsmap-dark" d="{d}"/>')
    # Event markers, the first event last so that it is drawn on top.
    types = events["event_type"].astype(str).to_numpy()
    color = pd.Series(types).map(_TYPE_COLOR).fillna("#7f7f7f").to_numpy()
    tips = _tips(events).to_numpy(dtype=object)
    links = np.asarray(list(links), dtype=object)
    mx, my = _fmt(sx(_unwrap(lon, centre))), _fmt(sy(lat))
    radius = 6.0 * _WIDTH / 1000.0
    idx = np.flatnonzero(has)[::-1]

    def esc(values):
        return escape(values).to_numpy(dtype=object)

    markers = ('<a href="#' + esc(links[idx]) + '" aria-label="' + esc(tips[idx])
               + '"><circle class="stsmap-ev" data-type="' + esc(types[idx]) + '" cx="'
               + mx[idx].astype(object) + '" cy="' + my[idx].astype(object) + '" r="'
               + f"{radius:.1f}" + '" data-r="' + f"{radius:.1f}" + '" fill="'
               + color[idx] + '" data-tip="' + esc(tips[idx]) + '"/></a>')
    parts.append('<g class="stsmap-events">' + "".join(markers) + "</g>")

    km_per_unit = 6371.0088 * np.pi / 180.0 / k
    legend = "".join(
        f'<span><i style="background:{c}"></i>{html.escape(t.replace("_", " "))} '
        f"({int((types == t).sum())})</span>"
        for t, c in _TYPE_COLOR.items() if (types == t).any())
    svg = (f'<svg id="stsmap" viewBox="0 0 '
           f'{_WIDTH:.0f} {height:.1f}" data-km-per-unit="{km_per_unit:.6g}" role="img" '
           f'aria-label="interactive map of the events">' + "".join(parts) + "</svg>")
    return (
        f"<style>{_CSS}</style>"
        '<div class="stsmap-bar"><button type="button" id="stsmap-in" title="zoom in">+'
        '</button><button type="button" id="stsmap-out" title="zoom out">&minus;</button>'
        '<button type="button" id="stsmap-reset">reset</button>'
        '<span class="muted">Drag to pan, wheel to zoom; hover a marker for who and why, '
        "click it to go to the event.</span></div>"
        f'<div class="stsmap-wrap">{svg}<div id="stsmap-tip" role="tooltip"></div></div>'
        f'<div class="stsmap-bar stsmap-legend">{legend}<span><span class="stsmap-scale" '
        'id="stsmap-scale"></span> <span id="stsmap-scale-text"></span></span></div>'
        f"<script>{_SCRIPT}</script>"
    )

