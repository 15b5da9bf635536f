"""The offline HTML report: self-contained, escaped, ranked, with figures when it can."""

from __future__ import annotations

import base64
import dataclasses
import re
from html.parser import HTMLParser

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from stsdetect.events import concat_events, empty_events, make_events, write_events
from stsdetect.report import _esc, write_html_report
from stsdetect.tracks import Tracks

T0 = 1_700_000_000.0
VOID = {"meta", "img", "br", "hr", "link", "input", "col", "area", "base", "wbr", "source"}


class _Collector(HTMLParser):
    """Collects tags, attributes and text, and checks that elements nest properly."""

    def __init__(self):
        super().__init__(convert_charrefs=True)
        self.stack: list[str] = []
        self.errors: list[str] = []
        self.tags: list[tuple[str, dict]] = []
        self.text: list[str] = []

    def handle_starttag(self, tag, attrs):
        self.tags.append((tag, dict(attrs)))
        if tag not in VOID:
            self.stack.append(tag)

    def handle_endtag(self, tag):
        if tag in VOID:
            return
        if not self.stack or self.stack[-1] != tag:
            self.errors.append(f"</{tag}> closes {self.stack[-1:] or 'nothing'}")
        else:
            self.stack.pop()

    def handle_data(self, data):
        self.text.append(data)


def _parse(path):
    parser = _Collector()
    parser.feed(path.read_text(encoding="utf-8"))
    parser.close()
    assert parser.errors == [] and parser.stack == []
    return parser


@pytest.fixture
def events():
    t = T0 + np.arange(6) * 3600.0
    rv = make_events("rendezvous", mmsi=[412000001, 412000002, 412000003],
                     other_mmsi=pd.array([445000001, 445000002, 445000003], dtype="Int64"),
                     start=t[:3], end=t[:3] + 3 * 3600, lat=[30.6, 30.7, 30.8],
                     lon=[122.0, 122.1, 122.2], score=[2.0, 5.0, 2.0],
                     flags=[["dprk"], ["dprk", "hangzhou_bay"], []])
    dk = make_events("dark_period", mmsi=[445000001, 445000002], start=t[3:5],
                     end=t[3:5] + 8 * 3600, lat=[30.5, 30.4], lon=[122.3, 122.4],
                     end_lat=[30.6, 30.5], end_lon=[122.5, 122.6], score=[9.0, 0.5])
    return concat_events([rv, dk])


@pytest.fixture
def tracks():
    t = np.arange(0.0, 20 * 3600.0, 300.0)
    mmsis = [412000001, 445000001, 412000002, 445000002]
    return Tracks.from_arrays(
        np.repeat(mmsis, t.size), np.tile(T0 + t, len(mmsis)),
        np.tile(30.6 + 0.0 * t, len(mmsis)) + np.repeat([0, 0.001, 0.1, 0.101], t.size),
        np.tile(122.0 + 0.0 * t, len(mmsis)), np.full(t.size * len(mmsis), 0.5))


def test_report_lists_every_event_ranked_and_is_offline(events, tracks, tmp_path):
    pytest.importorskip("matplotlib")
    path = write_html_report(events, tmp_path / "out" / "report.html", tracks=tracks,
                             decode_report={"lines": 100, "bad_checksum": {"AIVDM": 3}},
                             tracks_report={"rows_in": 90, "dropped_speed": 2})
    html = path.read_text(encoding="utf-8")
    parsed = _parse(path)
    for event_id in events["event_id"]:
        assert event_id in html
    assert not re.search(r"https?://", html)
    for tag, attrs in parsed.tags:
        assert tag not in ("link", "iframe", "object")
        assert tag != "script" or not attrs  # the map's own inline script, nothing fetched
        for key in ("src", "href"):
            value = attrs.get(key)
            assert value is None or value.startswith(("data:image/png;base64,", "#"))
    assert len([t for t, _ in parsed.tags if t == "script"]) == 1
    # Ranked by score (desc) then start: rows of the events table in order.
    table_ids = re.findall(r'<a href="#ev-\d+">([^<]+)</a>', html)
    ranked = events.sort_values(["score", "start"], ascending=[False, True])["event_id"]
    assert table_ids == list(ranked)
    # Every internal link has its target.
    ids = {attrs["id"] for _, attrs in parsed.tags if "id" in attrs}
    assert {a["href"][1:] for t, a in parsed.tags if t == "a"} <= ids
    # Figures: per event, a map and a timeline; all real PNGs.
    imgs = [a["src"] for t, a in parsed.tags if t == "img"]
    assert len(imgs) == 2 * len(events)
    for src in imgs:
        png = base64.b64decode(src.split(",", 1)[1])
        assert png[:8] == b"\x89PNG\r\n\x1a\n" and len(png) > 1000
    text = " ".join(parsed.text)
    assert "bad_checksum.AIVDM" in text and "dropped_speed" in text
    # Each section's headline: type, vessels, span and flags of that event.
    top = events.sort_values(["score", "start"], ascending=[False, True]).iloc[0]
    assert (f"dark_period · {top['mmsi']} · {top['start']:%Y-%m-%d %H:%M} to "
            f"{top['end']:%Y-%m-%d %H:%M} UTC (8.0 h) · score 9.00") in text
    assert "412000002 / 445000002" in text and "flags: dprk hangzhou_bay" in text
    # The glossary explains each flag that occurs, and only those.
    glossary = html.split("<h2>Flags</h2>", 1)[1].split("</table>", 1)[0]
    assert re.findall(r"<tr><th>([^<]+)</th><td>", glossary) == ["dprk", "hangzhou_bay"]
    assert "the DPRK&#x27;s MID 445" in glossary and "the event lies in this region" in glossary


def test_report_max_events_limits_sections_not_table(events, tmp_path):
    pytest.importorskip("matplotlib")
    path = write_html_report(events, tmp_path / "r.html", max_events=2)
    parsed = _parse(path)
    sections = [a for t, a in parsed.tags if t == "section"]
    assert len(sections) == 2
    html = path.read_text()
    for event_id in events["event_id"]:
        assert event_id in html
    # The two sections are the two highest scores.
    heads = re.findall(r'<section class="event" id="ev-\d+"><h3>([^<]+)</h3>', html)
    top2 = events.sort_values("score", ascending=False)["event_id"].iloc[:2]
    assert heads == list(top2)
    assert len([t for t, _ in parsed.tags if t == "img"]) == 2  # no tracks: maps only


def test_report_escapes_all_text(events, tmp_path):
    evil = events.copy()
    evil.loc[0, "event_id"] = '<script>alert("x")</script>&'
    evil.at[1, "flags"] = ["<b>bold</b>"]
    path = write_html_report(evil, tmp_path / "r.html", title="A & B <i>",
                             decode_report="line 1 <b>", max_events=len(evil))
    html = path.read_text()
    # One script: the map's own; the data's text is escaped everywhere, map tooltips included.
    assert html.count("<script") == 1 and "<b>" not in html and "<i>" not in html
    assert "&lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt;&amp;" in html
    assert "A &amp; B &lt;i&gt;" in html
    parsed = _parse(path)
    assert '<script>alert("x")</script>&' in "".join(parsed.text)


def test_report_without_matplotlib_has_tables_and_a_note(events, tracks, tmp_path,
                                                         monkeypatch):
    from stsdetect import plot

    def missing():
        raise ImportError(plot.PLOT_EXTRA_MESSAGE)

    monkeypatch.setattr(plot, "_require_matplotlib", missing)
    path = write_html_report(events, tmp_path / "r.html", tracks=tracks)
    html = path.read_text()
    assert "<img" not in html
    assert "pip install &#x27;stsdetect[plot]&#x27;" in html
    for event_id in events["event_id"]:
        assert event_id in html
    _parse(path)


def test_report_empty_and_from_file(tmp_path, events):
    path = write_html_report(empty_events(), tmp_path / "empty.html")
    assert "No events." in path.read_text()
    _parse(path)
    src = write_events(events, tmp_path / "events.csv")
    path = write_html_report(src, tmp_path / "from_csv.html", max_events=0)
    html = path.read_text()
    assert all(e in html for e in events["event_id"])
    assert "<section" not in html


def test_report_renders_report_objects(events, tmp_path):
    @dataclasses.dataclass
    class DecodeReport:
        lines: int
        by_reason: dict

    class WithToDict:
        def to_dict(self):
            return {"segments_split": 4}

    path = write_html_report(events, tmp_path / "r.html", max_events=0,
                             decode_report=DecodeReport(7, {"checksum": 1}),
                             tracks_report=WithToDict())
    text = " ".join(_parse(path).text)
    assert "by_reason.checksum" in text and "segments_split" in text
    path = write_html_report(events, tmp_path / "r2.html", max_events=0,
                             tracks_report=pd.DataFrame({"reason": ["speed"], "rows": [3]}))
    assert "speed" in " ".join(_parse(path).text)


def test_report_rejects_bad_arguments(events, tmp_path):
    with pytest.raises(ValueError, match="max_events"):
        write_html_report(events, tmp_path / "r.html", max_events=-1)
    with pytest.raises(ValueError, match="lacks columns"):
        write_html_report(events.drop(columns="start"), tmp_path / "r.html")


@settings(max_examples=60, deadline=None)
@given(st.lists(st.one_of(st.none(), st.text(max_size=20)), max_size=8))
def test_vectorized_escape_matches_html_escape(values):
    import html

    got = list(_esc(pd.Series(values, dtype=object)))
    assert got == [html.escape(v) if v is not None else "" for v in values]


def test_report_order_invariant(events, tmp_path):
    shuffled = events.sample(frac=1.0, random_state=1).reset_index(drop=True)
    a = write_html_report(events, tmp_path / "a.html", max_events=0).read_text()
    b = write_html_report(shuffled, tmp_path / "b.html", max_events=0).read_text()
    stamp = r"Generated [^<]* UTC"
    assert re.sub(stamp, "", a) == re.sub(stamp, "", b)


def test_report_of_the_demo_pipeline(tmp_path):
    """The whole chain on the bundled demo: real decode report, tracks and flagged events."""
    pytest.importorskip("matplotlib")
    from stsdetect.pipeline import detect
    from stsdetect.simulate import demo_path

    result = detect(demo_path())
    assert len(result.events) > 0
    path = write_html_report(result.events, tmp_path / "demo.html", tracks=result.tracks,
                             regions=True, max_events=3, decode_report=result.decode_report,
                             tracks_report=result.tracks_report)
    parsed = _parse(path)
    html = path.read_text()
    assert all(e in html for e in result.events["event_id"])
    assert len([a for t, a in parsed.tags if t == "section"]) == 3
    assert len([t for t, _ in parsed.tags if t == "img"]) == 2 * 3
    text = " ".join(parsed.text)
    assert "Decoding" in text and "Track cleaning" in text and "rows_in" in text
    # The highest-scored event (a DPRK rendezvous in the demo) heads the ranking.
    top = result.events.sort_values(["score", "start"], ascending=[False, True]).iloc[0]
    assert re.search(r'<a href="#ev-1">([^<]+)</a>', html).group(1) == top["event_id"]


def test_report_glossary_reads_joined_flags(events, tmp_path):
    flat = events.copy()
    flat["flags"] = [";".join(f) for f in flat["flags"]]  # as a plain CSV reader gives them
    html = write_html_report(flat, tmp_path / "r.html", max_events=0).read_text()
    glossary = html.split("<h2>Flags</h2>", 1)[1].split("</table>", 1)[0]
    assert re.findall(r"<tr><th>([^<]+)</th><td>", glossary) == ["dprk", "hangzhou_bay"]


def test_report_max_figures_limits_figures_not_sections(events, tracks, tmp_path):
    pytest.importorskip("matplotlib")
    path = write_html_report(events, tmp_path / "r.html", tracks=tracks, max_events=4,
                             max_figures=1)
    parsed = _parse(path)
    assert len([a for t, a in parsed.tags if t == "section"]) == 4
    alts = [a["alt"] for t, a in parsed.tags if t == "img"]
    top = events.sort_values(["score", "start"], ascending=[False, True])["event_id"].iloc[0]
    assert alts == [f"map of {top}", f"timeline of {top}"]
    with pytest.raises(ValueError, match="max_figures"):
        write_html_report(events, tmp_path / "r.html", max_figures=-1)


def test_report_map_markers_link_and_carry_identity_and_flags(events, tracks, tmp_path):
    """The interactive map: a marker per event, linking to its section or table row, with a
    tooltip of identity (when the columns are there) and flags; tracks per vessel."""
    named = events.copy()
    named["name"] = "SHIP <" + named["mmsi"].astype(str) + ">"
    named["other_imo"] = np.where(named["other_mmsi"].notna(), 9123456.0, np.nan)
    named["evidence"] = '{"dprk": {"vessel": 445000002, "mid": 445}}'
    path = write_html_report(named, tmp_path / "r.html", tracks=tracks, max_events=2,
                             max_figures=0)
    parsed = _parse(path)
    circles = [a for t, a in parsed.tags if t == "circle"]
    links = [a["href"] for t, a in parsed.tags if t == "a" and "aria-label" in a]
    assert len(circles) == len(links) == len(named)
    ids = {a["id"] for _, a in parsed.tags if "id" in a}
    assert {h[1:] for h in links} <= ids
    assert sorted(h for h in links if h.startswith("#ev-")) == ["#ev-1", "#ev-2"]
    assert sorted(h for h in links if h.startswith("#row-")) == ["#row-3", "#row-4", "#row-5"]
    ranked = named.sort_values(["score", "start"], ascending=[False, True])
    top = ranked.iloc[0]  # drawn last, on top
    tip = circles[-1]["data-tip"]
    assert tip.startswith(f"{top['event_type']} {top['event_id']}")
    assert f"MMSI {top['mmsi']}: SHIP <{top['mmsi']}>" in tip
    second = next(c["data-tip"] for c in circles if ranked.iloc[1]["event_id"] in c["data-tip"])
    assert "flags: dprk hangzhou_bay" in second and "IMO 9123456" in second
    assert 'why: {"dprk": {"vessel": 445000002, "mid": 445}}' in second
    paths = [a for t, a in parsed.tags if t == "path" and "stsmap-trk" in a.get("class", "")]
    assert sorted(int(a["data-mmsi"]) for a in paths) == sorted(
        {*ranked["mmsi"].iloc[:2], *ranked["other_mmsi"].dropna().iloc[:2].astype(int)}
        & set(tracks.mmsi.tolist()))


def _svg_polylines(d: str) -> list[np.ndarray]:
    """The polylines of an SVG path ``d`` made of M/L commands (Z ends a ring)."""
    return [np.array([[float(v) for v in xy.split(",")] for xy in part.split("L")])
            for part in d.replace("Z", "").split("M") if part]


def test_interactive_map_draws_no_line_along_the_land_layers_seam():
    """The fine East Asian land meets the world layer at 105 E / 15 N: the map draws the coast
    from the coast lines, so no outline runs along that seam (or along the clipping box)."""
    from stsdetect.plot import EAST_ASIA_BOX
    from stsdetect.webmap import events_svg_map

    ev = make_events("loitering", mmsi=[1, 2], start=[T0, T0], end=[T0 + 7200, T0 + 7200],
                     lat=[10.0, 22.0], lon=[95.0, 112.0])
    html = events_svg_map(ev, ["ev-1", "ev-2"])
    assert 'class="stsmap-land"' in html and ".stsmap-land{fill:#efe9da;stroke:none}" in html
    coast = re.findall(r'<path class="stsmap-coast" d="([^"]+)"', html)
    assert coast
    # The seam's x in SVG units, from a marker's position and the map's own scale.
    svg = re.search(r'viewBox="0 0 ([\d.]+) ([\d.]+)"', html)
    cx = [float(v) for v in re.findall(r'cx="([-\d.]+)"', html)]  # markers, last first
    x_of = np.poly1d(np.polyfit([112.0, 95.0], cx, 1))
    seam_x = x_of(EAST_ASIA_BOX[0])
    assert 0 < seam_x < float(svg.group(1))
    steps = np.concatenate([np.stack([p[:-1], p[1:]], axis=1) for line in coast
                            for p in _svg_polylines(line) if len(p) > 1])
    along = (np.abs(steps[:, :, 0] - seam_x) < 0.2).all(axis=1) & (
        np.abs(steps[:, 1, 1] - steps[:, 0, 1]) > 1.0)
    assert not along.any()
