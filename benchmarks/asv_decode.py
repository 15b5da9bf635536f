"""asv benchmarks: read_ais on every dump layout of ``bench_decode.LAYOUTS``.

200 000 lines per layout, built from the real files under ../shared/data;
``benchmarks/bench_decode.py`` compares the same dumps against pyais and libais.
"""

from __future__ import annotations

from typing import ClassVar

from stsdetect.ais import read_ais

from .bench_decode import LAYOUTS, make_dump


class DecodeSuite:
    """Time and peak memory of read_ais per layout and number of threads."""

    params: ClassVar[list] = [list(LAYOUTS), [1, 2]]
    param_names: ClassVar[list] = ["layout", "workers"]
    timeout = 300

    def setup(self, layout, workers):
        self.path = make_dump(layout, 200_000)
        read_ais([b"!AIVDM,1,1,,A,15RTgt0PAso;90TKcjM8h6g208CQ,0*4A"])  # compiled / cached

    def time_read_ais(self, layout, workers):
        read_ais(self.path, workers=workers)

    def peakmem_read_ais(self, layout, workers):
        read_ais(self.path, workers=workers)


class ChunkSizeSuite:
    """read_ais time by chunk size on the tag-blocked layout (the default is 1 MiB)."""

    params: ClassVar[list] = [[1 << 18, 1 << 19, 1 << 20, 1 << 21, 1 << 22]]
    param_names: ClassVar[list] = ["chunk_bytes"]
    timeout = 300

    def setup(self, chunk_bytes):
        self.path = make_dump("tag blocks + g: (gfw nmea-with-tagblock.txt)", 200_000)

    def time_read_ais(self, chunk_bytes):
        read_ais(self.path, chunk_bytes=chunk_bytes, workers=1)
