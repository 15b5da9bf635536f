"""Regenerate the pictures of ``docs/figures.md``: a Korea Bay map, and the HTML report's
interactive map as headless Chromium shows it.

The case is simulated (the same as ``tests/test_browser.py``): a barge comes down to a DPRK
ship in Korea Bay, off Nampo, and lies beside it for five hours; the DPRK ship was dark for
seven hours before. Needs matplotlib and Debian's ``chromium``.

Usage::

    python tools/make_doc_figures.py [OUT_DIR]
"""

from __future__ import annotations

import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO / "tests"))

from _chromium import Browser, find_chromium  # noqa: E402
from test_browser import _korea_bay_case  # noqa: E402

from stsdetect.plot import save_map  # noqa: E402
from stsdetect.report import write_html_report  # noqa: E402


def main(argv: list[str] | None = None) -> None:
    argv = sys.argv[1:] if argv is None else argv
    out = Path(argv[0]) if argv else REPO / "docs" / "img"
    out.mkdir(parents=True, exist_ok=True)
    events, tracks = _korea_bay_case(identity=True)
    save_map(events, out / "korea_bay_map.png", tracks=tracks, regions=True, dpi=80)
    with tempfile.TemporaryDirectory() as tmp:
        report = write_html_report(events, Path(tmp) / "report.html", tracks=tracks,
                                   regions=True, title="Korea Bay: a barge meets a DPRK ship")
        with Browser(find_chromium(), width=1000, height=760) as browser:
            browser.open(report.as_uri())
            browser.evaluate("document.getElementById('map').scrollIntoView()")
            time.sleep(0.3)
            x, y = browser.evaluate(
                "(function(){var r=document.querySelector(\"#stsmap a[href='#ev-1'] circle\")"
                ".getBoundingClientRect(); return [r.x + r.width / 2, r.y + r.height / 2];})()")
            browser.mouse("mouseMoved", x, y)
            time.sleep(0.2)
            (out / "report_map.png").write_bytes(browser.screenshot())
    print(f"wrote {out / 'korea_bay_map.png'} and {out / 'report_map.png'}")


if __name__ == "__main__":
    main()
