"""asv benchmarks: maps, timelines and the HTML report on synthetic AIS.

One million reports keep an asv run short; ``benchmarks/bench_plot.py`` measures 10 million.
"""

from __future__ import annotations

import tempfile
from pathlib import Path
from typing import ClassVar

from stsdetect import plot
from stsdetect.report import write_html_report

from .bench_dark import synthetic_tracks
from .bench_plot import synthetic_events


class PlotSuite:
    """Time and peak memory of selecting, drawing and rendering results."""

    params: ClassVar[list] = [1_000_000]
    param_names: ClassVar[list] = ["reports"]
    timeout = 300

    def setup(self, reports):
        self.tracks = synthetic_tracks(reports, max(reports // 5000, 2))
        self.events = synthetic_events(self.tracks, 100)
        self.many = synthetic_events(self.tracks, 10_000, seed=2)
        self.participants = plot._participants(self.events)
        self.out = Path(tempfile.mkdtemp(prefix="asv_plot_"))

    def time_select_tracks(self, reports):
        mmsi, t0, t1 = self.participants
        plot._window_rows(self.tracks, mmsi, t0 - 43200, t1 + 43200)

    def time_events_map_png(self, reports):
        ax = plot.plot_events_map(self.events, self.tracks)
        ax.figure.savefig(self.out / "map.png", dpi=110)

    def time_pair_timeline_png(self, reports):
        ax = plot.plot_pair_timeline(self.tracks, self.events.iloc[0])
        ax.figure.savefig(self.out / "timeline.png", dpi=110)

    def time_report_table_10k_events(self, reports):
        write_html_report(self.many, self.out / "table.html", max_events=0)

    def peakmem_events_map(self, reports):
        plot.plot_events_map(self.events, self.tracks)
