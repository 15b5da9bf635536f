"""The HTML report in a real browser: headless Chromium (Debian's package) over DevTools.

The report is opened from a file with no network, as an investigator would open a mailed
report. The test asserts that the page renders with no console error or uncaught exception,
that the interactive map draws the tracks (as SVG paths with a length, and as pixels of the
tracks' colours in a screenshot), that hovering an event marker shows the event's identity
and flags, that the wheel zooms and a drag pans, and that clicking a marker scrolls the page
to that event's section. The screenshots are kept in ``tests/output/browser/`` for a person
to look at.

Without Chromium the test fails with a message saying how to install it (CI installs it in
``.ci/run``); it is never skipped silently.
"""

from __future__ import annotations

import time
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from _chromium import MISSING_MESSAGE, Browser, find_chromium

from stsdetect.events import concat_events, make_events
from stsdetect.report import write_html_report
from stsdetect.tracks import Tracks

OUTPUT = Path(__file__).resolve().parent / "output" / "browser"
T0 = 1_700_000_000.0  # 2023-11-14T22:13:20Z
DPRK, BARGE = 445111000, 412000001
TRACK_RGB = {DPRK: (0x1F, 0x77, 0xB4), BARGE: (0x2C, 0xA0, 0x2C)}  # first two vessel colours


@pytest.fixture(scope="module")
def browser():
    binary = find_chromium()
    if binary is None:
        pytest.fail(MISSING_MESSAGE)
    with Browser(binary) as b:
        yield b


def _korea_bay_case(identity: bool):
    """A barge meets a DPRK ship in Korea Bay; the DPRK ship was dark before."""
    t = np.arange(0.0, 20 * 3600.0, 120.0)
    lat_b = np.maximum(39.5 - t / 3600 * 0.05, 38.902)
    lon_d = np.minimum(124.2 + t / 3600 * 0.03, 124.6)
    silent = (t > 2 * 3600) & (t < 9 * 3600)
    tracks = Tracks.from_arrays(
        np.r_[np.full((~silent).sum(), DPRK), np.full(t.size, BARGE)],
        np.r_[T0 + t[~silent], T0 + t], np.r_[np.full((~silent).sum(), 38.9), lat_b],
        np.r_[lon_d[~silent], np.full(t.size, 124.6)],
        np.r_[np.full((~silent).sum(), 3.0), np.full(t.size, 2.0)])
    rv = make_events("rendezvous", mmsi=[BARGE], other_mmsi=pd.array([DPRK], dtype="Int64"),
                     start=[T0 + 13 * 3600], end=[T0 + 18 * 3600], lat=[38.901], lon=[124.6],
                     score=[5.0], flags=[["dprk", "korea_bay"]])
    dk = make_events("dark_period", mmsi=[DPRK], start=[T0 + 2 * 3600], end=[T0 + 9 * 3600],
                     lat=[38.9], lon=[124.26], end_lat=[38.9], end_lon=[124.47], score=[2.0],
                     flags=[["korea_bay"]])
    events = concat_events([rv, dk]).sort_values("score", ascending=False)
    if identity:  # the identity columns of contract C3, where the events carry them
        is_rv = (events["event_type"] == "rendezvous").to_numpy()
        events["name"] = np.where(is_rv, "HUA XIN 8", "CHON MA SAN")
        events["imo"] = np.where(is_rv, np.nan, 8660313.0)
        events["flag_country"] = np.where(is_rv, "China", "North Korea")
        events["other_name"] = np.where(is_rv, "CHON MA SAN", None)
        events["other_imo"] = np.where(is_rv, 8660313.0, np.nan)
        events["other_flag_country"] = np.where(is_rv, "North Korea", None)
    return events.reset_index(drop=True), tracks


def _open(browser, path):
    browser.events.clear()
    browser.open(path.resolve().as_uri())
    browser.evaluate("document.getElementById('map').scrollIntoView()")
    time.sleep(0.2)


def _centre(browser, selector):
    return browser.evaluate(
        f"(function(){{var r=document.querySelector({selector!r}).getBoundingClientRect();"
        "return [r.x + r.width / 2, r.y + r.height / 2];})()")


def _pixels_near(png: bytes, rgb, tol: int = 40) -> int:
    import io

    import matplotlib.image

    image = (matplotlib.image.imread(io.BytesIO(png), format="png")[..., :3] * 255).astype(int)
    return int((np.abs(image - np.array(rgb)).max(axis=-1) <= tol).sum())


def test_report_in_chromium_map_tracks_tooltips_zoom_and_links(browser, tmp_path):
    pytest.importorskip("matplotlib")
    events, tracks = _korea_bay_case(identity=True)
    OUTPUT.mkdir(parents=True, exist_ok=True)
    path = write_html_report(events, OUTPUT / "report.html", tracks=tracks, regions=True,
                             title="Korea Bay: a barge meets a DPRK ship")
    _open(browser, path)
    assert browser.evaluate("document.title") == "Korea Bay: a barge meets a DPRK ship"

    # The map draws both vessels' tracks: SVG paths of some length, inside the drawing...
    tracks_drawn = browser.evaluate(
        "Array.from(document.querySelectorAll('#stsmap path.stsmap-trk')).map(function(p){"
        "var b = p.getBoundingClientRect();"
        "return [Number(p.dataset.mmsi), p.getTotalLength(), b.width + b.height];})")
    assert sorted(m for m, _, _ in tracks_drawn) == [BARGE, DPRK]
    assert all(length > 50 and extent > 50 for _, length, extent in tracks_drawn)
    # ... and visible on screen: pixels of each track's colour in a screenshot.
    shot = browser.screenshot()
    (OUTPUT / "report-map.png").write_bytes(shot)
    colour = dict(browser.evaluate(
        "Array.from(document.querySelectorAll('#stsmap path.stsmap-trk')).map(function(p){"
        "return [Number(p.dataset.mmsi), getComputedStyle(p).stroke];})"))
    for mmsi in (BARGE, DPRK):
        rgb = tuple(int(v) for v in colour[mmsi][4:-1].split(","))
        assert _pixels_near(shot, rgb) > 100, f"track of {mmsi} not visible"

    # Hovering the rendezvous marker shows who (identity columns) and why (flags).
    rv_link = "#stsmap a[href='#ev-1'] circle"
    browser.mouse("mouseMoved", *_centre(browser, rv_link))
    tip = browser.evaluate(
        "[getComputedStyle(document.getElementById('stsmap-tip')).display,"
        " document.getElementById('stsmap-tip').textContent]")
    assert tip[0] == "block"
    for expected in ("rendezvous", "flags: dprk korea_bay", f"MMSI {BARGE}: HUA XIN 8",
                     f"MMSI {DPRK}: CHON MA SAN, IMO 8660313", "flag North Korea"):
        assert expected in tip[1]
    (OUTPUT / "report-tooltip.png").write_bytes(browser.screenshot())

    # The wheel zooms in about the pointer; a drag pans.
    box = browser.evaluate("document.getElementById('stsmap').getAttribute('viewBox')")
    x, y = _centre(browser, "#stsmap")
    browser.mouse("mouseMoved", x, y)
    browser.mouse("mouseWheel", x, y, deltaX=0, deltaY=-240)
    time.sleep(0.2)
    zoomed = browser.evaluate("document.getElementById('stsmap').getAttribute('viewBox')")
    assert float(zoomed.split()[2]) < float(box.split()[2])
    browser.mouse("mousePressed", x, y + 100)
    browser.mouse("mouseMoved", x + 80, y + 100, buttons=1)
    browser.mouse("mouseMoved", x + 160, y + 100, buttons=1)
    browser.mouse("mouseReleased", x + 160, y + 100)
    panned = browser.evaluate("document.getElementById('stsmap').getAttribute('viewBox')")
    assert float(panned.split()[0]) < float(zoomed.split()[0])
    browser.evaluate("document.getElementById('stsmap-reset').click()")
    assert browser.evaluate("document.getElementById('stsmap').getAttribute('viewBox')") == box

    # Clicking an event marker scrolls to that event's section.
    for anchor in ("ev-2", "ev-1"):
        browser.evaluate("document.getElementById('map').scrollIntoView()")
        time.sleep(0.2)
        before = browser.evaluate("window.scrollY")
        browser.click(*_centre(browser, f"#stsmap a[href='#{anchor}'] circle"))
        time.sleep(0.5)
        where = browser.evaluate(
            f"[location.hash, window.scrollY, "
            f"document.getElementById('{anchor}').getBoundingClientRect().top]")
        assert where[0] == f"#{anchor}"
        assert where[1] > before and abs(where[2]) < 5, where
    (OUTPUT / "report-section.png").write_bytes(browser.screenshot())
    assert browser.errors() == []


def test_report_in_chromium_without_identity_columns_or_figures(browser, tmp_path, monkeypatch):
    """Events without identity columns, and no matplotlib: the map and tooltips still work."""
    import sys

    events, tracks = _korea_bay_case(identity=False)
    monkeypatch.setitem(sys.modules, "matplotlib", None)
    path = write_html_report(events, tmp_path / "plain.html", tracks=tracks, regions=True,
                             max_events=1)
    _open(browser, path)
    assert browser.evaluate("document.querySelectorAll('#stsmap path.stsmap-trk').length") == 2
    # The second event has no section: its marker links to its row of the table.
    assert browser.evaluate("document.querySelectorAll(\"#stsmap a[href='#row-2']\").length") == 1
    browser.mouse("mouseMoved", *_centre(browser, "#stsmap a[href='#ev-1'] circle"))
    tip = browser.evaluate("document.getElementById('stsmap-tip').textContent")
    assert f"MMSI {BARGE}" in tip and f"MMSI {DPRK}" in tip and "HUA" not in tip
    browser.click(*_centre(browser, "#stsmap a[href='#row-2'] circle"))
    time.sleep(0.5)
    assert browser.evaluate("location.hash") == "#row-2"
    # The page ends soon after the table: the row is scrolled into view, if not to the top.
    top = browser.evaluate("document.getElementById('row-2').getBoundingClientRect().top")
    assert 0 <= top < browser.evaluate("window.innerHeight") - 20
    assert browser.errors() == []
