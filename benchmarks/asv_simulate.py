"""asv benchmarks: the scenario generator and its vectorized position encoder."""

from __future__ import annotations

from typing import ClassVar

from .bench_simulate import encoder_inputs


class SimulateSuite:
    """Time and peak memory of simulate() and encode_position_reports()."""

    params: ClassVar[list] = ["36h", "2d"]
    param_names: ClassVar[list] = ["duration"]
    timeout = 300

    def setup(self, duration):
        self.args = encoder_inputs(200_000)

    def time_simulate(self, duration):
        from stsdetect.simulate import simulate

        simulate(seed=0, duration=duration)

    def peakmem_simulate(self, duration):
        from stsdetect.simulate import simulate

        simulate(seed=0, duration=duration)

    def time_encode_200k_reports(self, duration):
        from stsdetect.simulate import encode_position_reports

        encode_position_reports(*self.args)
