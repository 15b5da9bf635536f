"""asv benchmarks: AIS decoding with read_ais on a tag-blocked, position-heavy dump.

200 000 sentences keep an asv run short; ``benchmarks/bench_decode.py`` measures 1.2 million
against pyais and libais.
"""

from __future__ import annotations

from typing import ClassVar

from stsdetect.ais import read_ais

from .bench_decode import make_dump


class DecodeSuite:
    """Time and peak memory of read_ais on NMEA with tag blocks (1 % two-part type 5)."""

    params: ClassVar[list] = [200_000]
    param_names: ClassVar[list] = ["sentences"]
    timeout = 300

    def setup(self, sentences):
        self.path = make_dump(sentences)

    def time_read_ais(self, sentences):
        read_ais(self.path)

    def peakmem_read_ais(self, sentences):
        read_ais(self.path)

    def track_messages_per_second(self, sentences):
        import time

        start = time.perf_counter()
        data = read_ais(self.path)
        return data.report.decoded_lines / (time.perf_counter() - start)

    track_messages_per_second.unit = "messages/s"


class ChunkSizeSuite:
    """read_ais time by chunk size (the default, 2 MiB, was chosen from these)."""

    params: ClassVar[list] = [[1 << 18, 1 << 19, 1 << 20, 1 << 21, 1 << 22]]
    param_names: ClassVar[list] = ["chunk_bytes"]
    timeout = 300

    def setup(self, chunk_bytes):
        self.path = make_dump(200_000)

    def time_read_ais(self, chunk_bytes):
        read_ais(self.path, chunk_bytes=chunk_bytes)


class FramingSuite:
    """frame_chunk on one 1 MiB chunk: the line-structured fast path against the general path."""

    params: ClassVar[list] = [["fast", "general"]]
    param_names: ClassVar[list] = ["path"]
    timeout = 120

    def setup(self, path):
        from stsdetect.ais import framing

        data = make_dump(200_000).read_bytes()[: 1 << 20]
        self.data = data[: data.rfind(b"\n") + 1]
        self.frame = framing.frame_chunk if path == "fast" else framing._frame_general

    def time_frame_chunk(self, path):
        self.frame(self.data)
