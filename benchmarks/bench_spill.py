"""The spill's layout and format: partitions by window or by window and MMSI hash; Parquet or
Arrow IPC files.

Usage::

    python benchmarks/bench_spill.py [--files DIR] [--days 14] [--buckets 8] [--repeat 3]

Writes the positions of ``--days`` daily Parquet files (those of ``bench_dask.py``: made
here with its generator unless ``--files`` names a folder of them) the way
:func:`stsdetect.scale.windows.spill_positions` does -- a hive dataset ``w=<k>/`` -- and a
second time with one more partition key, ``h = mmsi % buckets`` (``w=<k>/h=<j>/``), then
and a third time by window in uncompressed Arrow IPC files (``spill_format="arrow"``), and a
fourth time as the engine writes its spill (:func:`stsdetect.scale.windows.spill_positions`:
Arrow IPC by window and part of the window, ``w=<k>/e=<j>/``, read back with its
:func:`~stsdetect.scale.windows.load_positions`), then reads back what the engine's tasks
read:

* a window task: one day plus its margins, the six track columns, in input order (every
  vessel: the pair search needs them all);
* a status task of the context stage: one day's ``mmsi, time, nav_status`` of the event
  participants (here 40 vessels, the anchored pairs);
* a whole-track read: every window's rows of 2 vessels (the flags' tow check).

Prints, per layout: files written, their size, write seconds (wall and CPU), and the
best-of-``--repeat`` seconds of each read (wall and CPU). Issue #16 point 3 asks for MMSI-hash
partitions "where it helps"; this is the measurement behind the choices in
``docs/scaling.md``.
"""

from __future__ import annotations

import argparse
import shutil
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import pandas as pd

SRC = str(Path(__file__).resolve().parents[1] / "src")
TRACK = ["mmsi", "time", "lat", "lon", "sog_kn", "cog_deg"]


def _write(frames, folder: Path, buckets: int, fmt: str) -> tuple[float, float, int, int]:
    import pyarrow as pa
    import pyarrow.dataset as ds

    from stsdetect.scale.windows import SPILL_FORMATS, _preserve_order, _spill_write_options

    kind, suffix = SPILL_FORMATS[fmt]
    keys = _keys(buckets)
    t0, c0 = time.perf_counter(), time.process_time()
    seq = 0
    for i, frame in enumerate(frames):  # one file per day, as the decode tasks write them
        f = frame.reset_index(drop=True)
        f["_seq"] = np.arange(seq, seq + len(f), dtype=np.int64)
        seq += len(f)
        f["w"] = f["time"].to_numpy("datetime64[ns]").astype(np.int64) // (86400 * 10**9)
        if buckets > 0:
            f["h"] = f["mmsi"].to_numpy(np.int64) % buckets
        elif buckets == PARTS:
            from stsdetect.scale.windows import window_part

            f["e"] = window_part(f["time"].to_numpy("datetime64[ns]").astype(np.int64),
                                 86400 * 10**9)
        ds.write_dataset(
            pa.Table.from_pandas(f, preserve_index=False), folder, format=kind,
            file_options=_spill_write_options(fmt),
            partitioning=ds.partitioning(pa.schema(keys), flavor="hive"),
            basename_template=f"f{i:06d}-{{i}}{suffix}",
            existing_data_behavior="overwrite_or_ignore", max_partitions=1 << 20,
            **_preserve_order())
    written = list(folder.rglob("*" + suffix))
    return (time.perf_counter() - t0, time.process_time() - c0, len(written),
            sum(p.stat().st_size for p in written))


#: ``buckets`` value of the layout by window and part of the window (the engine's keys).
PARTS = -1


def _keys(buckets):
    import pyarrow as pa

    return [("w", pa.int64())] + ([("h", pa.int64())] if buckets > 0 else []) + (
        [("e", pa.int8())] if buckets == PARTS else [])


def _read(folder: Path, buckets: int, fmt: str, lo_ns, hi_ns, columns, mmsi=None) -> int:
    import pyarrow as pa
    import pyarrow.dataset as ds

    from stsdetect.scale.windows import SPILL_FORMATS

    data = ds.dataset(folder, format=SPILL_FORMATS[fmt][0],
                      partitioning=ds.partitioning(pa.schema(_keys(buckets)), flavor="hive"))
    stamp = pa.timestamp("ns", tz="UTC")
    w = 86400 * 10**9
    if buckets == PARTS:  # the windows, and of the end windows only the parts touched
        from stsdetect.scale.windows import range_filter

        keep = range_filter(max(lo_ns, -2**62 + w), min(hi_ns, 2**62 - w), w)
    else:
        keep = (ds.field("w") >= lo_ns // w) & (ds.field("w") <= (hi_ns - 1) // w)
    cond = (keep & (ds.field("time") >= pa.scalar(int(lo_ns), stamp))
            & (ds.field("time") < pa.scalar(int(hi_ns), stamp)))
    if mmsi is not None:
        m = np.unique(np.asarray(mmsi, np.int64))
        cond &= ds.field("mmsi").isin(pa.array(m))
        if buckets > 0:
            cond &= ds.field("h").isin(pa.array(np.unique(m % buckets)))
    table = data.to_table(filter=cond, columns=[*columns, "_seq"])
    seq = table.column("_seq").to_numpy()
    if seq.size > 1 and not bool(np.all(seq[1:] >= seq[:-1])):
        table = table.sort_by("_seq")  # hash buckets come back bucket by bucket
    return len(table.to_pandas())


def _write_engine(frames, folder: Path) -> tuple[float, float, int, int]:
    """The engine's own spill (by window and part of the window, Arrow IPC)."""
    from stsdetect.scale.windows import spill_positions

    t0, c0 = time.perf_counter(), time.process_time()
    seq = 0
    for i, frame in enumerate(frames):  # one file per day, as the decode tasks write them
        spill_positions(frame, folder, 86400.0, part=f"f{i:06d}", seq_start=seq)
        seq += len(frame)
    written = list((folder / "positions").rglob("*.arrow"))
    return (time.perf_counter() - t0, time.process_time() - c0, len(written),
            sum(p.stat().st_size for p in written))


def _read_engine(folder: Path, lo_ns, hi_ns, columns, mmsi=None) -> int:
    from stsdetect.scale.windows import load_positions, make_plan

    return len(load_positions(folder, make_plan(window="1d"), lo_ns, hi_ns, mmsi=mmsi,
                              columns=tuple(columns)))


def _best(fn, repeat):
    best = best_cpu = np.inf
    for _ in range(repeat):  # a few repeats
        t0, c0 = time.perf_counter(), time.process_time()
        fn()
        best = min(best, time.perf_counter() - t0)
        best_cpu = min(best_cpu, time.process_time() - c0)
    return f"{best:.3f}/{best_cpu:.3f}"


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--files", default=None, help="folder of bench_dask.py's daily files")
    ap.add_argument("--days", type=int, default=14)
    ap.add_argument("--buckets", type=int, default=8)
    ap.add_argument("--repeat", type=int, default=3)
    args = ap.parse_args(argv)
    sys.path.insert(0, SRC)
    sys.path.insert(0, str(Path(__file__).resolve().parent))
    with tempfile.TemporaryDirectory(prefix="bench-spill-") as tmp:
        if args.files:
            files = sorted(Path(args.files).glob("*.parquet"))
        else:
            from bench_dask import make_files

            files, _ = make_files(Path(tmp), args.days, 1500, 15.0, 0, 20)
        frames = [pd.read_parquet(f) for f in files]
        rows = sum(len(f) for f in frames)
        everyone = pd.concat([f[["mmsi"]] for f in frames]).value_counts()
        pairs = np.sort(np.asarray([m for (m,) in everyone.index if 413900000 <= m < 413900040]))
        day = int(np.median([f["time"].iloc[len(f) // 2].floor("D").value for f in frames]))
        margin = 4 * 3600 * 10**9
        print(f"{rows:,} reports in {len(files)} daily files; day read: {pd.Timestamp(day)}")
        print("seconds as wall/CPU (CPU: all of pyarrow's threads)")
        print(f"{'layout':<30} {'files':>6} {'MB':>6} {'write s':>11} {'window s':>11} "
              f"{'status s':>11} {'2 tracks s':>11}")
        layouts = [(0, "parquet"), (args.buckets, "parquet"), (0, "arrow"), (PARTS, "arrow")]
        for buckets, fmt in layouts:  # the four layouts
            folder = Path(tmp) / f"spill-{buckets}-{fmt}"
            write_s, write_c, n_files, size = _write(frames, folder, buckets, fmt)
            win_s = _best(lambda b=buckets, f=folder, x=fmt: _read(
                f, b, x, day - margin, day + 86400 * 10**9 + margin, TRACK), args.repeat)
            st_s = _best(lambda b=buckets, f=folder, x=fmt: _read(
                f, b, x, day, day + 86400 * 10**9, ["mmsi", "time", "nav_status"], pairs),
                args.repeat)
            tr_s = _best(lambda b=buckets, f=folder, x=fmt: _read(
                f, b, x, -2**62, 2**62, TRACK, pairs[:2]), args.repeat)
            name = (f"{fmt}, window" if not buckets else f"{fmt}, window + part"
                    if buckets == PARTS else f"{fmt}, window + mmsi % {buckets}")
            print(f"{name:<30} {n_files:>6} {size / 1e6:6.0f} "
                  f"{f'{write_s:.2f}/{write_c:.2f}':>11} {win_s:>11} {st_s:>11} {tr_s:>11}")
            shutil.rmtree(folder)
        folder = Path(tmp) / "spill-engine"
        write_s, write_c, n_files, size = _write_engine(frames, folder)
        win_s = _best(lambda: _read_engine(folder, day - margin, day + 86400 * 10**9 + margin,
                                           TRACK), args.repeat)
        st_s = _best(lambda: _read_engine(folder, day, day + 86400 * 10**9,
                                          ["mmsi", "time", "nav_status"], pairs), args.repeat)
        tr_s = _best(lambda: _read_engine(folder, -2**62, 2**62, TRACK, pairs[:2]), args.repeat)
        name = "arrow, window + part (engine)"
        print(f"{name:<30} {n_files:>6} {size / 1e6:6.0f} "
              f"{f'{write_s:.2f}/{write_c:.2f}':>11} {win_s:>11} {st_s:>11} {tr_s:>11}")
        shutil.rmtree(folder)


if __name__ == "__main__":
    main()
