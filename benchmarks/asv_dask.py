"""asv benchmarks: out-of-core windowed detection and Dask, on simulated daily files.

Three simulated days (about 100 k reports) keep an asv run short; ``benchmarks/bench_dask.py``
measures two weeks and compares with the single-process run.
"""

from __future__ import annotations

import tempfile
from pathlib import Path

from .bench_dask import make_files


class WindowedSuite:
    """Time and peak memory of detect_windowed and of stsdetect.dask.detect (2 workers)."""

    timeout = 600

    def setup_cache(self):
        folder = Path(tempfile.mkdtemp(prefix="asv-dask-"))
        files, _ = make_files(folder, days=3, background=60, interval_s=60.0, seed=0)
        return [str(f) for f in files]

    def time_windowed(self, files):
        from stsdetect.scale import detect_windowed

        detect_windowed(files)

    def peakmem_windowed(self, files):
        from stsdetect.scale import detect_windowed

        detect_windowed(files)

    def time_dask_two_workers(self, files):
        from distributed import Client, LocalCluster

        import stsdetect.dask as sd

        with LocalCluster(n_workers=2, threads_per_worker=1, processes=False,
                          dashboard_address=":0") as cluster, Client(cluster) as client:
            sd.detect(files, client=client)
