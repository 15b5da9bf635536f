"""asv benchmarks: region membership, identity rules and event flagging.

Sizes are kept small so an asv run stays short; ``benchmarks/bench_regions.py`` measures
millions of points and 100 000 events.
"""

from __future__ import annotations

from typing import ClassVar

from stsdetect.flags import flag_events
from stsdetect.identity import classify_barges, identity_anomalies
from stsdetect.regions import load_regions, region_mask

from .bench_regions import random_points, synthetic_events, synthetic_vessels


class RegionSuite:
    """Point-in-region over the six built-in regions."""

    params: ClassVar[list] = [1_000_000]
    param_names: ClassVar[list] = ["points"]
    timeout = 300

    def setup(self, points):
        self.regions = load_regions()
        self.lat, self.lon = random_points(points)

    def time_region_mask(self, points):
        region_mask(self.lat, self.lon, self.regions)

    def peakmem_region_mask(self, points):
        region_mask(self.lat, self.lon, self.regions)


class FlagSuite:
    """Identity rules and flagging of an events table."""

    params: ClassVar[list] = [20_000]
    param_names: ClassVar[list] = ["events"]
    timeout = 300

    def setup(self, events):
        self.vessels = synthetic_vessels(events)
        self.events = synthetic_events(events, self.vessels)

    def time_classify_barges(self, events):
        classify_barges(self.vessels)

    def time_identity_anomalies(self, events):
        identity_anomalies(self.vessels)

    def time_flag_events(self, events):
        flag_events(self.events, vessels=self.vessels)

    def peakmem_flag_events(self, events):
        flag_events(self.events, vessels=self.vessels)
