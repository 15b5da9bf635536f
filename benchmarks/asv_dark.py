"""asv benchmarks: dark periods, dark rendezvous and loitering on synthetic AIS.

One million reports keep an asv run short; ``benchmarks/bench_dark.py`` measures 10 million.
"""

from __future__ import annotations

from typing import ClassVar

from stsdetect.detectors.dark import find_dark_periods, find_dark_rendezvous
from stsdetect.detectors.loitering import find_loitering

from .bench_dark import synthetic_tracks


class DarkSuite:
    """Time and peak memory of the going-dark detectors."""

    params: ClassVar[list] = [1_000_000]
    param_names: ClassVar[list] = ["reports"]
    timeout = 300

    def setup(self, reports):
        self.tracks = synthetic_tracks(reports, max(reports // 5000, 2))
        self.dark = find_dark_periods(self.tracks)

    def time_dark_periods(self, reports):
        find_dark_periods(self.tracks)

    def time_dark_periods_gaps_only(self, reports):
        find_dark_periods(self.tracks, radius_m=None)

    def time_dark_rendezvous(self, reports):
        find_dark_rendezvous(self.dark)

    def time_loitering(self, reports):
        find_loitering(self.tracks)

    def peakmem_dark_periods(self, reports):
        find_dark_periods(self.tracks)

    def peakmem_loitering(self, reports):
        find_loitering(self.tracks)
