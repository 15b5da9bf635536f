"""An offline HTML report of events: one self-contained file, no network needed to view it.

``write_html_report(events, path, tracks=None, regions=None, title="stsdetect report",
max_events=50, decode_report=None, tracks_report=None) -> Path``

The file holds inline CSS and, when matplotlib (the ``[plot]`` extra) is installed, each
figure as a base64 PNG inside the page: no scripts, fonts, style sheets or images are fetched
from anywhere, so it opens the same on an air-gapped machine and can be mailed as one
attachment. Without matplotlib the report has the tables only and says why.

Contents, in order: a summary (events by type, time span), the decode and cleaning reports when
given, the events table ranked by ``score`` (highest first) then ``start``, what each flag
that occurs means, and for the first
``max_events`` of that ranking a section with the event's fields, its map and, for pairs, the
separation/speed timeline (:mod:`stsdetect.plot`). All text taken from the data is escaped
with :func:`html.escape`.
"""

from __future__ import annotations

import base64
import dataclasses
import html
from collections.abc import Mapping
from pathlib import Path

import numpy as np
import pandas as pd

from ._html import escape as _esc
from .events import list_text, read_events

__all__ = ["FLAG_MEANINGS", "MAX_TABLE_ROWS", "write_html_report"]

#: The events table lists at most this many events (the highest ranked); the rest are counted.
MAX_TABLE_ROWS = 5000

_CSS = """
body{font-family:system-ui,-apple-system,"Segoe UI",Roboto,Helvetica,Arial,sans-serif;
margin:1.5em auto;max-width:1100px;padding:0 1em;color:#222;line-height:1.4}
h1{font-size:1.6em;margin-bottom:.2em}h2{font-size:1.25em;border-bottom:1px solid #ccc;
padding-bottom:.2em;margin-top:1.6em}h3{font-size:1.05em;margin-bottom:.3em}
table{border-collapse:collapse;font-size:.82em;margin:.5em 0}
th,td{border:1px solid #ddd;padding:.2em .45em;text-align:left;vertical-align:top}
th{background:#f2f2f2}tr:nth-child(even) td{background:#fafafa}
td.num{text-align:right;font-variant-numeric:tabular-nums}
.note{background:#fff8e1;border-left:4px solid #f0ad4e;padding:.4em .8em}
.event{border:1px solid #ddd;border-radius:4px;padding:.6em 1em;margin:1em 0}
.figs img{max-width:100%;height:auto;display:block;margin:.4em 0}
.muted{color:#777;font-size:.85em}code{font-size:.95em}
"""

# Columns of the events table in the report: (column, header, format): a format is None
# (text), "time", "flags" or a number of decimals.
_TABLE_COLUMNS = [
    ("event_id", "event", None),
    ("event_type", "type", None),
    ("mmsi", "MMSI", None),
    ("name", "name", None),
    ("flag_iso", "flag", None),
    ("other_mmsi", "other MMSI", None),
    ("other_name", "other name", None),
    ("other_flag_iso", "other flag", None),
    ("start", "start (UTC)", "time"),
    ("end", "end (UTC)", "time"),
    ("duration_h", "hours", 1),
    ("lat", "lat", 4),
    ("lon", "lon", 4),
    ("distance_m", "distance m", 0),
    ("min_distance_m", "min distance m", 0),
    ("mean_sog_kn", "mean SOG kn", 1),
    ("flags", "flags", "flags"),
    ("score", "score", 2),
    ("scene_id", "image scene", None),
]


#: What each flag token means, for the report's glossary (see stsdetect.flags).
FLAG_MEANINGS = {
    "dprk": "a participant's MMSI carries the DPRK's MID 445, or it matches a DPRK-flagged "
            "watch-list entry",
    "watchlist": "a participant matches the watch-list exactly",
    "watchlist_similar": "a participant is close to a listed identity (IMO one digit off, "
                         "name variant, call sign under another MMSI)",
    "barge": "a participant is a barge on strong evidence (name, type, tow, barge size)",
    "barge_weak": "a participant may be a barge (unknown type, Class B, Chinese MMSI only)",
    "imo_shared": "a participant's IMO number was broadcast under several MMSIs",
    "identity_changed": "a participant's MMSI broadcast several IMO numbers or names",
    "flag_mismatch": "a participant's MID contradicts the flag of its watch-list entry",
    "handover": "a participant fell silent as another identity of the same size appeared "
                "nearby (or appeared so)",
    "identity_anomaly": "a participant's identity is doubtful (several names or types, "
                        "invalid or placeholder MMSI, two places at once, bad IMO check digit)",
    "dark_before": "a participant was dark (silent) in the 24 h before the event",
    "dark_after": "a participant went dark in the 24 h after the event",
    "likely_intentional": "a silence while other vessels nearby were still heard, where "
                          "reception along its path was good (coverage)",
    "unseen_partner": "an imagery detection that no AIS track explains lay within 500 m of a "
                      "vessel of the event, during it (detection ids and scenes in the "
                      "evidence field)",
}


def _glossary(events: pd.DataFrame) -> str:
    """Meaning of every flag token that occurs, as a table ('' when there are none)."""
    if "flags" not in events or not len(events):
        return ""
    # Lists of tokens, or ';'-joined text as in CSV and GeoJSON files.
    tokens = events["flags"].explode().dropna().astype(str).str.split(";").explode()
    tokens = sorted(set(tokens[tokens != ""]))
    if not tokens:
        return ""
    rows = "".join(
        f"<tr><th>{html.escape(t)}</th><td>"
        f"{html.escape(FLAG_MEANINGS.get(t, 'the event lies in this region'))}</td></tr>"
        for t in tokens)  # distinct tokens: a handful
    return f"<h2>Flags</h2><table><tr><th>flag</th><th>meaning</th></tr>{rows}</table>"


def _formatted(column: pd.Series, fmt: str | int | None) -> pd.Series:
    """Text of a column, vectorized where the format allows; missing values as ''."""
    if fmt == "time":
        t = pd.to_datetime(column, utc=True)
        return pd.Series(t.dt.strftime("%Y-%m-%d %H:%M:%S"), index=column.index).astype(
            "string").fillna("")
    if fmt == "flags":
        return list_text(column, " ").astype("string")
    if fmt is None:
        return column.astype("string").fillna("")
    values = pd.to_numeric(column, errors="coerce").astype(float).to_numpy()
    text = np.char.mod(f"%.{int(fmt)}f", values)
    return pd.Series(np.where(np.isfinite(values), text, ""), index=column.index,
                     dtype="string")


def _rank(events: pd.DataFrame) -> pd.DataFrame:
    """Events of ordinary port life (``anchorage``, ``port``) last; each part by score
    (highest first), then start, then event id (:func:`stsdetect.events.rank_events`)."""
    from stsdetect.events import rank_events

    return rank_events(events)


def _events_table(events: pd.DataFrame, anchors: pd.Series) -> str:
    """The ranked events as an HTML table, built with vectorized string operations."""
    header = "<tr><th>#</th>" + "".join(
        f"<th>{html.escape(h)}</th>" for c, h, _ in _TABLE_COLUMNS if c in events) + "</tr>"
    if not len(events):
        return f"<table>{header}</table>"
    rank = pd.Series(np.arange(1, len(events) + 1), index=events.index).astype(str)
    row = '<tr id="row-' + rank + '"><td class=num>' + rank + "</td>"
    for col, _, fmt in _TABLE_COLUMNS:
        if col not in events:
            continue
        cell = _esc(_formatted(events[col], fmt))
        if col == "event_id":
            linked = '<a href="#' + anchors + '">' + cell + "</a>"
            cell = linked.where(anchors != "", cell)
        cls = "<td class=num>" if isinstance(fmt, int) else "<td>"
        row = row + cls + cell + "</td>"
    body = (row + "</tr>").str.cat(sep="\n")
    return f"<table>\n{header}\n{body}\n</table>"


def _flatten(mapping: Mapping, prefix: str = "") -> list[tuple[str, object]]:
    items: list[tuple[str, object]] = []
    for key, value in mapping.items():
        name = f"{prefix}{key}"
        if isinstance(value, Mapping):
            items.extend(_flatten(value, name + "."))
        else:
            items.append((name, value))
    return items


def _report_html(report) -> str:
    """A decode or cleaning report as an HTML table (mappings, dataclasses, DataFrames) or text."""
    if isinstance(report, pd.DataFrame):
        return _frame_table(report)
    if dataclasses.is_dataclass(report) and not isinstance(report, type):
        report = dataclasses.asdict(report)
    elif not isinstance(report, Mapping) and hasattr(report, "to_dict"):
        try:
            report = report.to_dict()
        except TypeError:
            pass
    if isinstance(report, Mapping):
        if not report:
            return "<p>(empty)</p>"
        rows = "\n".join(
            f"<tr><th>{html.escape(str(k))}</th><td>{html.escape(str(v))}</td></tr>"
            for k, v in _flatten(report))
        return f"<table>\n{rows}\n</table>"
    return f"<pre>{html.escape(str(report))}</pre>"


def _frame_table(frame: pd.DataFrame) -> str:
    header = "<tr>" + "".join(f"<th>{html.escape(str(c))}</th>" for c in frame.columns) + "</tr>"
    if not len(frame):
        return f"<table>{header}</table>"
    row = pd.Series("<tr>", index=frame.index)
    for col in frame.columns:
        row = row + "<td>" + _esc(frame[col].astype(str)) + "</td>"
    return f"<table>\n{header}\n{(row + '</tr>').str.cat(sep=chr(10))}\n</table>"


def _png_tag(png: bytes, alt: str) -> str:
    """An <img> with PNG bytes inlined as base64."""
    data = base64.b64encode(png).decode("ascii")
    return f'<img alt="{html.escape(alt)}" src="data:image/png;base64,{data}">'


def _summary(events: pd.DataFrame) -> str:
    if not len(events):
        return "<p>No events.</p>"
    counts = events["event_type"].astype(str).value_counts().sort_index()
    items = "".join(f"<tr><th>{html.escape(k)}</th><td class=num>{v}</td></tr>"
                    for k, v in counts.items())
    start = pd.to_datetime(events["start"], utc=True).min()
    end = pd.to_datetime(events["end"], utc=True).max()
    span = ""
    if pd.notna(start) and pd.notna(end):
        span = (f"<p>From {html.escape(start.strftime('%Y-%m-%d %H:%M'))} to "
                f"{html.escape(end.strftime('%Y-%m-%d %H:%M'))} UTC.</p>")
    return (f"<p>{len(events)} events.</p>{span}<table><tr><th>type</th><th>events</th></tr>"
            f"{items}</table>")


def _headline(event: pd.Series) -> str:
    """One line: type, vessels, time span, duration, score and flags."""
    vessels = _cell_text(event.get("mmsi"))
    other = _cell_text(event.get("other_mmsi"))
    if other:
        vessels += f" / {other}"
    start = pd.to_datetime(event.get("start"), utc=True)
    end = pd.to_datetime(event.get("end"), utc=True)
    span = ""
    if pd.notna(start) and pd.notna(end):
        span = (f"{start.strftime('%Y-%m-%d %H:%M')} to {end.strftime('%Y-%m-%d %H:%M')} UTC "
                f"({(end - start).total_seconds() / 3600:.1f} h)")
    score = pd.to_numeric(pd.Series([event.get("score")]), errors="coerce").iloc[0]
    if _cell_text(event.get("scene_id")):  # an imagery detection: its image and time
        vessels = f"scene {_cell_text(event.get('scene_id'))} at {span[:16]} UTC"
        span = ""
    seen = ""
    if "unseen_partner" in _cell_text(event.get("flags")):  # the image that showed it
        from stsdetect.detectors.dark_vessels import unseen_partner_points

        pts = unseen_partner_points(pd.DataFrame([event]))
        seen = "; ".join(
            f"unseen partner: scene {p.scene_id} at {p.time:%Y-%m-%d %H:%M} UTC, "
            f"{p.distance_m:.0f} m from {p.beside_mmsi}" for p in pts.head(3).itertuples())
    items = [str(event.get("event_type", "")), vessels, span, seen,
             f"score {score:.2f}" if pd.notna(score) else "",
             "flags: " + _cell_text(event.get("flags")) if _cell_text(event.get("flags")) else ""]
    return " · ".join(i for i in items if i)


def _event_section(event: pd.Series, anchor: str, figures: str) -> str:
    fields = "".join(
        f"<tr><th>{html.escape(str(k))}</th><td>{html.escape(_cell_text(v))}</td></tr>"
        for k, v in event.items())
    title = html.escape(str(event.get("event_id", "")))
    return (f'<section class="event" id="{html.escape(anchor)}"><h3>{title}</h3>'
            f"<p>{html.escape(_headline(event))} · <a href=\"#events\">back to the table</a></p>"
            f'<div class="figs">{figures}</div>'
            f"<details><summary>all fields</summary><table>{fields}</table></details></section>")


def _cell_text(value) -> str:
    if isinstance(value, (list, tuple, np.ndarray)):
        return " ".join(map(str, value))
    if value is None or (pd.api.types.is_scalar(value) and pd.isna(value)):
        return ""
    if isinstance(value, pd.Timestamp):
        return value.strftime("%Y-%m-%d %H:%M:%S UTC")
    return str(value)


def write_html_report(events, path, tracks=None, regions=None, title: str = "stsdetect report",
                      max_events: int = 50, decode_report=None, tracks_report=None,
                      max_figures: int | None = None) -> Path:
    """Write one self-contained, offline HTML file describing the events.

    Parameters
    ----------
    events : pandas.DataFrame or str or os.PathLike
        Events table (:data:`stsdetect.events.EVENT_COLUMNS`) or a file
        :func:`stsdetect.events.read_events` reads.
    path : str or os.PathLike
        Output ``.html`` path; its folder is created.
    tracks : stsdetect.tracks.Tracks or pandas.DataFrame, optional
        Tracks for the maps and timelines; without them maps show the events only and there
        are no timelines.
    regions : geopandas.GeoDataFrame or str or list of str or bool, optional
        Regions to outline on the maps, as for :func:`stsdetect.plot.plot_events_map`.
    title : str, default "stsdetect report"
        Page title and heading.
    max_events : int, default 50
        Number of top-ranked events given their own section (with figures up to
        ``max_figures``; each event's two PNGs cost about 60-120 KB). The table lists up
        to :data:`MAX_TABLE_ROWS` events.
    decode_report, tracks_report : optional
        The decoder's and the cleaning stage's reports (a mapping, dataclass, object with
        ``to_dict()``, DataFrame, or anything with a useful ``str()``), shown as tables.
    max_figures : int, optional
        How many of those sections (the top-ranked first) get a map and a timeline; default
        all of them. Figures dominate the time: about 0.1 s of CPU per event for its map and
        timeline (drawn on reused figures, ``benchmarks/bench_report.py``).

    Returns
    -------
    pathlib.Path
        The path written.

    Raises
    ------
    ValueError
        If ``max_events`` or ``max_figures`` is negative or the events lack required columns.
    """
    if int(max_events) < 0:
        raise ValueError(f"max_events must be >= 0, got {max_events!r}")
    if max_figures is not None and int(max_figures) < 0:
        raise ValueError(f"max_figures must be >= 0, got {max_figures!r}")
    if isinstance(events, (str, Path)):
        events = read_events(events)
    missing = {"event_id", "event_type", "mmsi", "start", "end"} - set(events)
    if missing:
        raise ValueError(f"events table lacks columns {sorted(missing)}")
    ranked = _rank(events)
    n_sections = min(int(max_events), len(ranked))
    n_figures = n_sections if max_figures is None else min(int(max_figures), n_sections)
    anchors = pd.Series("", index=ranked.index, dtype="string")
    anchors.iloc[:n_sections] = ("ev-" + pd.Series(np.arange(1, n_sections + 1)).astype(str)
                                 ).to_numpy()

    notes: list[str] = []
    plot = None
    try:
        from . import plot as _plot

        _plot._require_matplotlib()
        plot = _plot
    except ImportError as exc:
        notes.append(f"Figures are left out: {exc}.")

    from . import plot as _plot_helpers  # imports matplotlib only to draw

    map_tracks = _plot_helpers._as_tracks(tracks)
    map_regions = _plot_helpers._resolve_regions(regions)
    if map_tracks is not None and len(map_tracks) and n_sections:
        map_tracks = _plot_helpers._near_events(map_tracks, ranked.iloc[:n_sections])
    tracks_obj = regions_obj = None
    if plot is not None:
        tracks_obj = plot._near_events(map_tracks, ranked.iloc[:n_figures])
        regions_obj = map_regions

    now = pd.Timestamp.now(tz="UTC").strftime("%Y-%m-%d %H:%M")
    parts = [
        "<!DOCTYPE html>",
        '<html lang="en"><head><meta charset="utf-8">',
        '<meta name="viewport" content="width=device-width, initial-scale=1">',
        f"<title>{html.escape(title)}</title><style>{_CSS}</style></head><body>",
        f"<h1>{html.escape(title)}</h1>",
        f'<p class="muted">Generated {now} UTC by stsdetect. Times are UTC; distances in '
        "metres; speeds in knots.</p>",
    ]
    parts += [f'<p class="note">{html.escape(n)}</p>' for n in notes]
    parts += ["<h2>Summary</h2>", _summary(ranked)]
    shown = ranked.iloc[:MAX_TABLE_ROWS]
    if len(shown):
        from .webmap import events_svg_map

        # Markers link to the event's section, or to its table row when it has none.
        links = anchors.iloc[:len(shown)].where(
            anchors.iloc[:len(shown)] != "",
            "row-" + pd.Series(np.arange(1, len(shown) + 1)).astype(str).to_numpy())
        interactive = events_svg_map(shown, links, tracks=map_tracks, regions=map_regions,
                                     track_events=n_sections)
        if interactive:
            parts += ['<h2 id="map">Map</h2>', interactive]
    if decode_report is not None:
        parts += ["<h2>Decoding</h2>", _report_html(decode_report)]
    if tracks_report is not None:
        parts += ["<h2>Track cleaning</h2>", _report_html(tracks_report)]

    parts.append('<h2 id="events">Events</h2>')
    parts.append('<p class="muted">Ranked by score (highest first), then start time; events '
                 'at anchorages and in port (ordinary port life) come last.</p>')
    if len(ranked) > len(shown):
        parts.append(f'<p class="note">The table lists the top {len(shown)} of {len(ranked)} '
                     "events.</p>")
    parts.append(_events_table(shown, anchors.iloc[:len(shown)]))
    parts.append(_glossary(ranked))

    if n_sections:
        parts.append(f"<h2>Top {n_sections} events</h2>")
    map_canvas = timeline_canvas = None
    if plot is not None and n_figures:
        map_canvas = plot._MapCanvas(regions_obj)
        timeline_canvas = plot._TimelineCanvas()
    for i in range(n_sections):  # bounded by max_events: figures per event
        event = ranked.iloc[i]
        figures = ""
        if map_canvas is not None and i < n_figures:
            eid = str(event["event_id"])
            figures += _png_tag(map_canvas.png(ranked.iloc[[i]], tracks_obj, title=eid),
                                f"map of {eid}")
            if tracks_obj is not None and len(tracks_obj):
                figures += _png_tag(timeline_canvas.png(tracks_obj, event),
                                    f"timeline of {eid}")
        parts.append(_event_section(event, str(anchors.iloc[i]), figures))
    parts.append("</body></html>\n")

    from stsdetect.outputs import atomic_path

    path = Path(path)
    with atomic_path(path) as tmp:  # an interrupted write leaves the old report whole
        tmp.write_text("\n".join(parts), encoding="utf-8")
    return path
