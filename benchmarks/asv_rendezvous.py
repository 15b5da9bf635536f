"""asv benchmarks: build_tracks and find_rendezvous on synthetic traffic over 24 h.

1 000 and 10 000 vessels keep an asv run short; ``benchmarks/bench_rendezvous.py`` also measures
100 000 vessels and the speed-up over a brute-force pair search.
"""

from __future__ import annotations

from typing import ClassVar

from stsdetect.detectors.rendezvous import find_pair_runs, find_rendezvous, resample
from stsdetect.tracks import build_tracks

from .bench_rendezvous import synthetic_positions


class RendezvousSuite:
    """Time and peak memory of cleaning tracks and finding rendezvous (one report / 5 min)."""

    params: ClassVar[list] = [1_000, 10_000]
    param_names: ClassVar[list] = ["vessels"]
    timeout = 600

    def setup(self, vessels):
        self.positions = synthetic_positions(vessels)
        self.tracks = build_tracks(self.positions)

    def time_build_tracks(self, vessels):
        build_tracks(self.positions)

    def time_resample(self, vessels):
        resample(self.tracks)

    def time_find_pair_runs(self, vessels):
        find_pair_runs(self.tracks)

    def time_find_rendezvous(self, vessels):
        find_rendezvous(self.tracks)

    def peakmem_build_tracks(self, vessels):
        build_tracks(self.positions)

    def peakmem_find_rendezvous(self, vessels):
        find_rendezvous(self.tracks)

    def track_events(self, vessels):
        return len(find_rendezvous(self.tracks))
