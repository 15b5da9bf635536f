"""Out-of-core detection: fixed UTC time windows, partitioned positions, carried state.

A month of AIS does not fit in memory; one day does. :func:`detect_windowed` decodes each dump
once into a Parquet dataset partitioned by window (``positions/w=<k>/``, hive style, written
and read through :mod:`pyarrow.dataset`), then runs the driver of
:mod:`stsdetect.scale.engine` over the windows with an in-process executor: each window loads
its positions plus a small margin, builds tracks and runs each detector's windowed form
(:mod:`stsdetect.scale.carry`); the runs still open at a window's end (pairs alongside,
silences, loitering) are carried to the next window as small tables. The events come out
identical to a single in-memory run over all the dumps -- including events that last days
across many windows, which come out once and whole. :func:`stsdetect.dask.detect` runs the
same driver with a Dask executor.

Windows are ``[k W, (k + 1) W)`` since the Unix epoch (``W`` = ``window``, default one day), so
they never depend on where the data starts. Window ``k`` loads ``[k W - M, (k + 1) W + M)``
where the margin ``M`` is what the detectors need around a report or grid time (the
rendezvous grid interpolates across at most ``max_gap``, loitering implies speeds from
neighbours within ``max_gap``, the heard test thins reports in ``heard_bin`` bins) plus
``track_context`` for the cleaning of :func:`stsdetect.build_tracks`. The margin does not
grow with the events' durations: nothing is re-run.

Assumptions (hold for the detectors and the cleaning shipped with stsdetect): the cleaning's
decisions about a report depend only on that vessel's reports within ``track_context``. The
identity split of :func:`build_tracks` keeps, for an MMSI shared by several transmitters, the
*largest* segment: that is a decision over the MMSI's whole history, so for such MMSIs (and
only them) windowed segmentation may differ near window edges from a single run.

Memory: the positions of one window with its margins (the executor runs one window at a time
in-process), plus the carried state (rows of the runs still open), plus one row per vessel,
plus the spill itself while it fits ``spill_memory_bytes`` (:mod:`stsdetect.scale.spill`: a
run in one process holds its partitions in memory up to that budget, 1 GiB by default, and
writes them to files beyond it).
"""

from __future__ import annotations

import functools
import io
import math
import os
import re
import shutil
import tempfile
import uuid
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd

from stsdetect.events import concat_events
from stsdetect.geo import duration_s

__all__ = [
    "DEFAULT_TRACK_CONTEXT",
    "DEFAULT_WINDOW",
    "WindowPlan",
    "WindowedResult",
    "detect_windowed",
    "make_plan",
]

#: Default window length: one UTC day, the unit in which AIS archives are delivered (NOAA
#: MarineCadastre, the Danish Maritime Authority and most receiver networks write one file per
#: UTC day), and short enough that a day of a regional feed fits easily in memory.
DEFAULT_WINDOW = "1d"
#: How far (in time) the cleaning of :func:`stsdetect.tracks.build_tracks` looks around a
#: report: duplicates are within 5 s, and the impossible-jump test compares consecutive
#: reports of one vessel; one hour covers the consecutive report of any vessel that reports
#: at least as often as the 1 h ``max_gap`` the detectors interpolate across.
DEFAULT_TRACK_CONTEXT = "1h"

_ALL = ("rendezvous", "dark_period", "dark_rendezvous", "loitering")
_POSITION_DIR = "positions"
_HEARD_DIR = "heard"
_LOITER_DIR = "loiter"
_SEQ = "_seq"
_WIN = "w"
#: Second partition key of the positions spill: the part of its window a row lies in, so that
#: a window's task reads only the edges of its neighbours (see :func:`window_part`).
_PART = "e"
_NO_OTHER = -1


@dataclass(frozen=True)
class WindowPlan:
    """Everything a window task needs, picklable (it travels to Dask workers).

    Attributes
    ----------
    window_s : float
        Window length in seconds; windows are ``[k window_s, (k + 1) window_s)`` since the
        Unix epoch (UTC).
    margin_s : float
        Positions loaded beyond each edge of a window.
    context_s : dict
        Per detector name: how far beyond a report or grid time its windowed form looks
        (seconds), cleaning included.
    detectors : tuple of str
        Stages run per window (registry names).
    dark_rendezvous : bool
        Whether dark rendezvous are derived from the merged dark periods.
    params : dict
        Per stage: the keyword arguments given (non-default ones).
    emit : tuple of str
        Event types to return (dark periods may run only to find dark rendezvous).
    objects : dict
        Per stage: its frozen parameter object (:mod:`stsdetect.params`).
    context : bool
        Run the context stage (:mod:`stsdetect.context`): stop pieces per window, anchorages
        and context columns at the end.
    imagery : bool
        Imagery detections are matched in each window (:mod:`stsdetect.detectors.dark_vessels`).
    spill_format : str
        Format of the spill's files: ``"arrow"`` (Arrow IPC, uncompressed) or ``"parquet"``
        (see :data:`SPILL_FORMATS`).
    """

    window_s: float
    margin_s: float
    context_s: dict
    detectors: tuple
    dark_rendezvous: bool
    params: dict = field(default_factory=dict)
    emit: tuple = _ALL
    objects: dict = field(default_factory=dict)
    context: bool = False
    imagery: bool = False
    spill_format: str = "arrow"

    @property
    def window_ns(self) -> int:
        return round(self.window_s * 1e9)

    @property
    def margin_ns(self) -> int:
        return round(self.margin_s * 1e9)


def make_plan(window=DEFAULT_WINDOW, only=None, track_context=DEFAULT_TRACK_CONTEXT,
              context: bool = True, imagery: bool = False, spill_format: str = "arrow",
              **params) -> WindowPlan:
    """Route detection parameters to the stages and derive the margin.

    Parameters
    ----------
    window : duration, default "1d"
        Window length (see :data:`DEFAULT_WINDOW`).
    only : iterable of str, optional
        Detectors whose events are returned: ``rendezvous``, ``dark_period`` (alias ``dark``),
        ``dark_rendezvous``, ``loitering``. All when omitted. Dark periods always run (as in
        :func:`stsdetect.pipeline.detect`: the ``dark_before``/``dark_after`` flags need
        them).
    track_context : duration, default "1h"
        See :data:`DEFAULT_TRACK_CONTEXT`.
    context : bool, default True
        Run the context stage (as ``stsdetect.detect(context=...)``).
    imagery : bool, default False
        Imagery detections will be matched in the windows (the margin then holds the
        ``match_max_gap`` and ``match_max_extrapolate`` of reports a position at an image
        time needs).
    spill_format : {"arrow", "parquet"}, default "arrow"
        Format of the spill (see :data:`SPILL_FORMATS`).
    **params
        Stage parameters named as for :func:`stsdetect.pipeline.detect` (its ``PARAMETERS``:
        ``min_gap``, ``max_distance_m``, ``loiter_min_duration`` ...); every default is the
        stage's parameter object's.

    Returns
    -------
    WindowPlan

    Raises
    ------
    ValueError
        For an unknown detector name, a parameter no stage takes, or a window that is not a
        whole number of seconds.
    """
    from stsdetect.params import duration_ns, flat_parameters, stage_params
    from stsdetect.scale.registry import STAGES, select

    run_context = bool(context)
    if spill_format not in SPILL_FORMATS:
        raise ValueError(f"spill_format must be one of {sorted(SPILL_FORMATS)}, "
                         f"got {spill_format!r}")

    window_ns = duration_ns(window, "window") if not isinstance(window, (int, float)) \
        else round(duration_s(window) * 1e9)
    if window_ns <= 0 or window_ns % 10**9:
        raise ValueError(f"window must be a positive whole number of seconds, got {window!r}")
    try:
        run, emit = select(only)
    except ValueError as exc:
        raise ValueError(str(exc).replace("only: unknown detector(s)",
                                          "unknown detector")) from None
    names = flat_parameters()
    unknown = sorted(set(params) - set(names))
    if unknown:
        raise ValueError(f"unknown parameter(s) {unknown}; known (as for stsdetect.detect): "
                         f"{sorted(names)}")
    objects = stage_params(params)
    given: dict = {s: {} for s in ("read", "tracks", *run, "flags")}
    for key, value in params.items():
        stage, name = names[key]
        given.setdefault(stage, {})[name] = value
    # The reception coverage of dark periods (stsdetect.detectors.coverage) counts vessels per
    # cell and hour bin: each window counts the bins of its core, so windows must hold whole bins.
    from stsdetect.scale.carry import COVERAGE_BIN_S

    if "dark_period" in run and objects["dark_period"].coverage \
            and window_ns % round(COVERAGE_BIN_S * 1e9):
        raise ValueError(f"window {window!r}: with the reception coverage on, windows must be a "
                         "whole number of hours (its time bin); or pass coverage=False "
                         "(--coverage off)")
    track_ns = duration_ns(track_context, "track_context") if not isinstance(
        track_context, (int, float)) else round(duration_s(track_context) * 1e9)
    detectors = tuple(n for n in run if STAGES[n].kind == "detector")
    context = {}
    for d in detectors:
        reach = STAGES[d].reach_ns(objects[d])
        if STAGES[d].heard and objects[d].heard_bin is not None:
            reach += objects[d].ns("heard_bin")
        context[d] = (reach + track_ns) / 1e9
    margin = max([*context.values(), track_ns / 1e9])
    if given.get("imagery") and not imagery:
        raise ValueError(f"imagery parameters {sorted(given['imagery'])} need detections "
                         "(detections=, --detections FILE)")
    if imagery:
        context["imagery"] = (STAGES["imagery"].reach_ns(objects["imagery"]) + track_ns) / 1e9
        margin = max(margin, context["imagery"])
    with_context = run_context and "anchorages" in run
    if with_context:  # stop pieces look one max_gap (3 h) beyond a report, after cleaning
        from stsdetect.context.stops import STOP_MAX_GAP_S

        margin = max(margin, STOP_MAX_GAP_S + track_ns / 1e9)
    margin = math.ceil(margin / 60.0 + 1) * 60.0  # whole minutes, strictly more than needed
    window_s = window_ns / 1e9
    if margin > 8 * window_s:
        raise ValueError(f"window {window!r} is short for detectors needing {margin:.0f} s of "
                         "margin: use a window of at least an eighth of the margin")
    return WindowPlan(window_s=float(window_s), margin_s=margin, context_s=context,
                      detectors=detectors, dark_rendezvous="dark_rendezvous" in run,
                      params=given, emit=tuple(sorted(emit)), objects=objects,
                      context=with_context, imagery=bool(imagery),
                      spill_format=spill_format)


# ------------------------------------------------------------------------------------------
# Spill: positions -> a dataset partitioned by window (Arrow IPC or Parquet files)
# ------------------------------------------------------------------------------------------

#: Formats of the spill (:func:`pyarrow.dataset.write_dataset`'s ``format`` and the files'
#: suffix). ``"arrow"``, the default: Arrow IPC files, uncompressed -- the columns as they
#: lie in memory, so writing and reading back are copies (``benchmarks/bench_spill.py`` on
#: the 14-day benchmark's 6.2 M reports: write 0.54 CPU s and read one window's six columns
#: 0.032 s, against 1.24 and 0.072 s for snappy Parquet), at about twice Parquet's size on
#: disk (67 against 31 bytes a report). ``"parquet"``: snappy
#: Parquet, for a spill on shared storage where bytes moved cost more than CPU.
SPILL_FORMATS = {"arrow": ("ipc", ".arrow"), "parquet": ("parquet", ".parquet")}


def _spill_write_options(spill_format: str):
    import pyarrow.dataset as ds

    if spill_format == "parquet":
        return ds.ParquetFileFormat().make_write_options(
            compression="snappy", use_dictionary=list(_DICTIONARY_COLUMNS))
    return ds.IpcFileFormat().make_write_options(compression=None)


def spill_positions(positions: pd.DataFrame, workdir, window_s: float, part: str,
                    seq_start: int = 0, spill_format: str = "arrow") -> dict:
    """Write a positions table to ``workdir`` as a dataset partitioned by window.

    Parameters
    ----------
    positions : pandas.DataFrame or pyarrow.Table
        A positions table (see :func:`stsdetect.read_ais`); an Arrow table (a positions
        table read from Parquet) is spilled as it is, without going through pandas.
    workdir : path or stsdetect.scale.spill.MemorySpill
        Spill folder; files go to ``workdir/positions/w=<k>/e=<j>/<part>-<i>.arrow`` (hive
        partitioning, written with :func:`pyarrow.dataset.write_dataset`; ``j`` the part of
        window ``k`` the rows lie in: :func:`window_part`). A retried task writes the same
        file names, so it replaces its pieces whole. A ``MemorySpill`` holds the same
        partitions while its budget lasts.
    window_s : float
        Window length in seconds.
    part : str
        Name of this piece (unique per file and chunk, sorting in input order).
    seq_start : int, default 0
        Sequence number of the first row; rows keep their input order through the spill.
    spill_format : {"arrow", "parquet"}, default "arrow"
        See :data:`SPILL_FORMATS`.

    Returns
    -------
    dict
        ``rows`` written, ``no_time`` rows skipped (no time: they could belong to no window,
        and the cleaning drops them anyway), ``windows`` (sorted window numbers written),
        ``t_min``/``t_max`` (seconds, NaN when nothing was written), ``class_b`` (MMSIs
        seen in type 18/19 reports, for the barge rules of the flags), ``mmsis`` (distinct
        MMSIs with a time) and ``schema`` (the Arrow schema written, or None).
    """
    import pyarrow as pa

    if isinstance(positions, pa.Table) and "time" in positions.column_names \
            and pa.types.is_timestamp(positions.schema.field("time").type):
        table = positions  # a positions table read from Parquet: spilled as it was read
    else:
        if isinstance(positions, pa.Table):
            positions = positions.to_pandas()
        if "time" not in positions.columns:
            raise ValueError("positions need a 'time' column (datetime64, UTC)")
        time = pd.to_datetime(positions["time"], utc=True).dt.as_unit("ns")
        table = pa.Table.from_pandas(positions.assign(time=time), preserve_index=False)
    return _spill_table(table, workdir, window_s, part, seq_start, spill_format)


def _write_spill(table, workdir, part: str, spill_format: str):
    """Write a table with ``_seq``, ``w`` and ``e`` columns to the spill (a folder, or a
    :class:`~stsdetect.scale.spill.MemorySpill`); return its schema without ``w`` and ``e``
    (the partition keys)."""
    from stsdetect.scale.spill import MemorySpill

    if isinstance(workdir, MemorySpill):
        workdir.add(table, part, _WIN, _PART, WINDOW_PARTS)
    else:
        _write_files(table, workdir, part, spill_format)
    schema = table.schema.remove(table.schema.get_field_index(_WIN))
    return schema.remove(schema.get_field_index(_PART))


def _write_files(table, workdir, part: str, spill_format: str) -> None:
    """:func:`_write_spill` to the spill folder's files."""
    import pyarrow.dataset as ds

    fmt, suffix = SPILL_FORMATS[spill_format]
    ds.write_dataset(
        table, Path(workdir) / _POSITION_DIR, format=fmt,
        file_options=_spill_write_options(spill_format), **_preserve_order(),
        partitioning=ds.partitioning(_partition_schema(), flavor="hive"),
        basename_template=f"{part}-{{i}}{suffix}",
        existing_data_behavior="overwrite_or_ignore", max_partitions=1 << 20)


def _partition_schema():
    import pyarrow as pa

    return pa.schema([(_WIN, pa.int64()), (_PART, pa.int8())])


#: Parts of a window in the spill: its first quarter (0), its middle half (1) and its last
#: quarter (2). A window's task reads its margins from the last quarter of the window before
#: and the first quarter of the window after (the default margin of 4 h 1 min is within a
#: one-day window's quarter), so it reads a day and a half of rows instead of three days and
#: filters those by time; the two extra files per window and dump cost little to write.
WINDOW_PARTS = 3


def window_part(ns, window_ns: int) -> np.ndarray:
    """The part (0, 1, 2: see :data:`WINDOW_PARTS`) of its window each time (int64 ns since
    the epoch) lies in: 0 in the window's first quarter, 2 in its last, 1 between."""
    r = np.asarray(ns, np.int64) % int(window_ns)
    q = int(window_ns) // 4
    return ((r >= q).astype(np.int8) + (r >= int(window_ns) - q)).astype(np.int8)


def _part_bounds(window_ns: int):
    """Start and end (ns from the window's start) of each part of a window."""
    q = int(window_ns) // 4
    return (0, q, int(window_ns) - q), (q, int(window_ns) - q, int(window_ns))


def _parts_touched(k: int, lo_ns: int, hi_ns: int, window_ns: int) -> list:
    """The parts of window ``k`` that ``[lo_ns, hi_ns)`` touches."""
    a = int(k) * int(window_ns)
    starts, ends = _part_bounds(window_ns)
    return [j for j in range(WINDOW_PARTS)
            if int(lo_ns) < a + ends[j] and int(hi_ns) > a + starts[j]]


def _part_inside(k: int, j: int, lo_ns: int, hi_ns: int, window_ns: int) -> bool:
    """Whether part ``j`` of window ``k`` lies wholly in ``[lo_ns, hi_ns)`` (its rows are
    read without a time test)."""
    a = int(k) * int(window_ns)
    starts, ends = _part_bounds(window_ns)
    return int(lo_ns) <= a + starts[j] and a + ends[j] <= int(hi_ns)


def partition_keys(lo_ns: int, hi_ns: int, window_ns: int) -> list:
    """The partitions (window, part) holding the rows of ``[lo_ns, hi_ns)``: those
    :func:`range_filter` reads."""
    w = int(window_ns)
    k0, k1 = int(lo_ns) // w, (int(hi_ns) - 1) // w
    return [(k, j) for k in range(k0, k1 + 1)  # loop over the windows of the range
            for j in (_parts_touched(k, lo_ns, hi_ns, w) if k in (k0, k1)
                      else range(WINDOW_PARTS))]


def _spill_table(table, workdir, window_s: float, part: str, seq_start: int,
                 spill_format: str) -> dict:
    """:func:`spill_positions` of an Arrow table with a timestamp ``time`` column (naive
    times are UTC): rows without a time are counted and dropped, the rest written with their
    sequence number and window."""
    import pyarrow as pa
    import pyarrow.compute as pc

    stamp = pa.timestamp("ns", tz="UTC")
    time = table.column("time")
    if time.type != stamp:  # naive times are UTC, as pandas.to_datetime(utc=True) reads them
        time = time.cast(stamp)
        table = table.set_column(table.column_names.index("time"), "time", time)
    ok = pc.is_valid(time).to_numpy(zero_copy_only=False)
    ns = pc.fill_null(time.cast(pa.int64()), 0).to_numpy()
    window_ns = round(window_s * 1e9)
    table = table.append_column(_SEQ, pa.array(
        np.arange(seq_start, seq_start + len(table), dtype=np.int64)))
    table = table.append_column(_WIN, pa.array(
        np.where(ok, np.floor_divide(ns, window_ns), 0).astype(np.int64)))
    table = table.append_column(_PART, pa.array(window_part(ns, window_ns)))
    rows = int(ok.sum())
    if rows < len(table):
        table = table.filter(pa.array(ok))
    schema = _write_spill(table, workdir, part, spill_format) if rows else None
    mmsi = table.column("mmsi")
    class_b = np.zeros(0, np.int64)
    if "msg_type" in table.column_names:
        is_b = pc.is_in(table.column("msg_type"), value_set=pa.array([18, 19])).to_numpy(
            zero_copy_only=False)
        class_b = np.unique(mmsi.filter(pa.array(is_b)).to_numpy().astype(np.int64))
    t = ns[ok]
    return {
        "rows": rows,
        "no_time": int(ok.size - rows),
        "class_b": class_b,
        "mmsis": np.sort(pc.unique(mmsi).to_numpy().astype(np.int64)),
        "windows": np.sort(pc.unique(table.column(_WIN)).to_numpy().astype(np.int64)),
        "t_min": float(t.min() / 1e9) if rows else np.nan,
        "t_max": float(t.max() / 1e9) if rows else np.nan,
        "schema": schema,
    }


#: Columns of a Parquet spill written with Parquet's dictionary encoding: few distinct values
#: (a vessel's MMSI, its status, the source file ...). Positions, speeds and times have
#: nearly as many values as rows, so a dictionary only costs time: writing every column with
#: one took three times as long for the same file size (snappy compresses them alike).
_DICTIONARY_COLUMNS = ("mmsi", "nav_status", "msg_type", "file", "source")


@functools.cache
def _preserve_order() -> dict:
    """``preserve_order=True`` where :func:`pyarrow.dataset.write_dataset` has it (pyarrow 15
    and later): without it, its threads write batches out of order, and every window read
    back had to be sorted by sequence number again (a tenth of a windowed run's time)."""
    import inspect

    import pyarrow.dataset as ds

    return ({"preserve_order": True}
            if "preserve_order" in inspect.signature(ds.write_dataset).parameters else {})


#: Bytes of a dump decoded at once by :func:`spill_source`: a 50 GB dump is decoded in pieces
#: of this size, so memory stays bounded whatever the file size (positions take about as many
#: bytes in memory as their NMEA lines).
DEFAULT_SPILL_CHUNK_BYTES = 256 * 2**20

_MAGIC = {b"\x1f\x8b": "gzip", b"BZh": "bz2", b"\xfd7zXZ\x00": "lzma"}
#: A line that may start a piece: an AIS sentence that is a message's first fragment.
_LAST_FIRST_FRAGMENT = re.compile(rb"(?s).*\n([^\n]*!\w{2}VD[MO],\d,1,)")


def _open_dump(path):
    """A binary stream of a dump file, decompressed on the fly (gzip, bz2, xz by magic)."""
    raw = open(path, "rb")
    head = raw.read(6)
    raw.seek(0)
    for magic, kind in _MAGIC.items():
        if head.startswith(magic):
            import importlib

            return importlib.import_module(kind).open(raw)
    return raw


def _is_nmea(path) -> bool:
    with _open_dump(path) as fh:
        head = fh.read(65536)
    lines = [ln.strip() for ln in head.splitlines() if ln.strip()]
    return bool(lines) and any(b"VDM," in ln or b"VDO," in ln for ln in lines[:20])


def nmea_pieces(path, chunk_bytes: int = DEFAULT_SPILL_CHUNK_BYTES):
    """Cut an NMEA dump into pieces of about ``chunk_bytes``, only where no message is split.

    A piece ends before a line holding the *first* fragment of an AIS message (so multipart
    messages, and the tag-block or ``$PGHP`` header lines before a sentence, stay in one
    piece). Decoding the pieces one by one gives the same positions and statics as decoding
    the whole file, in bounded memory.

    Yields
    ------
    bytes
        Whole lines.
    """
    with _open_dump(path) as fh:
        carry = b""
        while True:
            block = fh.read(int(chunk_bytes))
            data = carry + block
            if not block:
                if data:
                    yield data
                return
            end = data.rfind(b"\n") + 1
            m = _LAST_FIRST_FRAGMENT.match(data, 0, end)  # one C-level scan per chunk
            cut = m.start(1) if m else 0
            for _ in range(3):  # keep header lines ($PGHP, lone tag block) with their sentence
                if not _header_before(data, cut):
                    break
                cut = data.rfind(b"\n", 0, cut - 1) + 1
            if cut <= 0:
                carry = data  # no safe cut yet: read on
                continue
            yield data[:cut]
            carry = data[cut:]


def _header_before(data: bytes, start: int) -> bool:
    """Whether the line before ``start`` is a header ($PGHP, tag block alone) of this line."""
    if start <= 0:
        return False
    prev = data[data.rfind(b"\n", 0, start - 1) + 1:start].strip()
    return prev.startswith(b"$PGHP") or (prev.startswith(b"\\") and prev.endswith(b"\\"))


def spill_source(index: int, source, workdir, window_s: float, read_kwargs=None,
                 chunk_bytes: int = DEFAULT_SPILL_CHUNK_BYTES,
                 spill_format: str = "arrow") -> dict:
    """Decode one dump with :func:`stsdetect.read_ais` and spill its positions.

    Parameters
    ----------
    index : int
        Position of the dump in the input list (orders rows and names the Parquet pieces).
    source : path or pandas.DataFrame
        The dump, or an already decoded positions table (in memory, or a ``.parquet`` file
        of one, e.g. ``read_ais(...).positions.to_parquet(...)``).
    workdir : path or stsdetect.scale.spill.MemorySpill
        Spill folder (see :func:`spill_positions`).
    window_s : float
        Window length in seconds.
    read_kwargs : dict, optional
        Extra arguments of :func:`stsdetect.read_ais`.
    chunk_bytes : int, default :data:`DEFAULT_SPILL_CHUNK_BYTES`
        An NMEA dump larger than this is decoded in pieces (:func:`nmea_pieces`).
    spill_format : {"arrow", "parquet"}, default "arrow"
        See :data:`SPILL_FORMATS`.

    Returns
    -------
    dict
        :func:`spill_positions`'s counts plus ``vessels`` (the dump's vessels table) and
        ``report`` (its decode report).
    """
    pieces = None
    if isinstance(source, pd.DataFrame):  # an already decoded positions table
        pieces = [(source, None, None, None)]
    elif str(source).lower().endswith((".parquet", ".pq")):  # a positions table saved
        import pyarrow.parquet as pq

        pieces = [(pq.read_table(source), None, None, None)]
    else:
        from stsdetect import read_ais

        kwargs = dict(read_kwargs or {})
        path = Path(source) if isinstance(source, (str, os.PathLike)) else None
        if (path is not None and path.is_file() and path.stat().st_size > chunk_bytes
                and kwargs.get("format", "auto") in ("auto", "nmea") and _is_nmea(path)):
            pieces = _decoded_pieces(path, source, chunk_bytes, kwargs)
        else:
            pieces = [_decoded(read_ais(source, **kwargs))]
    out = {"rows": 0, "no_time": 0, "windows": [], "t_min": np.nan, "t_max": np.nan,
           "class_b": [], "mmsis": [], "schema": []}
    vessels, reports, statics = [], [], []
    seq = int(index) << 40
    for j, (positions, ves, rep, sta) in enumerate(pieces):  # loop over pieces of the dump
        got = spill_positions(positions, workdir, window_s, part=f"f{index:06d}-{j:06d}",
                              seq_start=seq, spill_format=spill_format)
        seq += len(positions)
        for key in ("rows", "no_time"):
            out[key] += got[key]
        for key in ("windows", "class_b", "mmsis"):
            out[key].append(got[key])
        if got["schema"] is not None:
            out["schema"].append(got["schema"])
        out["t_min"] = np.fmin(out["t_min"], got["t_min"])
        out["t_max"] = np.fmax(out["t_max"], got["t_max"])
        vessels.append(ves)
        reports.append(rep)
        statics.append(sta)
    for key in ("windows", "class_b", "mmsis"):
        out[key] = np.unique(np.concatenate([np.zeros(0, np.int64), *out[key]]))
    out["schema"] = unify_schemas(out["schema"])
    out["vessels"] = merge_vessels(vessels) if len(vessels) > 1 else vessels[0]
    out["report"] = merge_reports(reports)
    out["statics"] = merge_statics([{"statics": x} for x in statics])
    out["index"] = index
    return out


def context_areas(ports=None, anchorages=None) -> dict:
    """``run_windows`` keywords of the context stage's given areas (loaded, so checked, now)."""
    from stsdetect.context import load_ports

    areas = [load_ports(ports)] if ports is not None else []
    if anchorages is not None and anchorages is not False:
        areas.append(load_ports(anchorages))
    return {"areas": areas, "learn_anchorages": anchorages is None}


def _decoded(data):
    return data.positions, data.vessels, data.report, getattr(data, "statics", None)


def merge_statics(spills) -> pd.DataFrame | None:
    """The statics histories (``AISData.statics``) of all spilled dumps, in dump order."""
    parts = [s.get("statics") for s in spills]
    parts = [x for x in parts if x is not None and len(x)]
    return pd.concat(parts, ignore_index=True) if parts else None


def _decoded_pieces(path, source, chunk_bytes, kwargs):
    """Decode a large NMEA dump piece by piece, keeping its provenance (contract C1): rows
    name the dump as given and their line in the whole dump, not in the piece."""
    from stsdetect import read_ais

    lines_before = 0
    for piece in nmea_pieces(path, chunk_bytes):  # pieces end at a '\n' (whole lines)
        data = read_ais(io.BytesIO(piece), **kwargs)
        data.positions["file"] = pd.array([os.fspath(source)] * len(data.positions),
                                          dtype="string")
        data.positions["line"] += lines_before
        lines_before += piece.count(b"\n")
        yield _decoded(data)


def unify_schemas(schemas):
    """One Arrow schema for pieces written from different sources (types promoted)."""
    import pyarrow as pa

    schemas = [x for x in schemas if x is not None]
    if not schemas:
        return None
    return pa.unify_schemas(schemas, promote_options="permissive")


def _dataset(workdir, folder: str, schema=None, spill_format: str = "arrow"):
    import pyarrow.dataset as ds

    path = Path(workdir) / folder
    if not path.is_dir():
        return None
    if schema is not None:
        for key in _partition_schema():
            schema = schema.append(key) if key.name not in schema.names else schema
    part = ds.partitioning(_partition_schema(), flavor="hive")
    return ds.dataset(path, format=SPILL_FORMATS[spill_format][0], partitioning=part,
                      schema=schema, filesystem=_spill_filesystem())


@functools.cache
def _spill_filesystem():
    """The local file system, reading the spill's files memory-mapped.

    A window task reads a day and a half of the spill; read into buffers, each file's bytes
    were fresh memory that the kernel zeroed (Arrow's default pool returns large buffers to
    the system when freed) only to be copied over and filtered at once. Mapped, the filter
    reads the page cache directly: on ``bench_dask.py``'s 14 days the window tasks' system
    time fell from 1.2 to 0.6 CPU s and one process's peak memory from 714 to 500 MB. The
    spill is this run's own files, written whole by the decode tasks before any window task
    starts and never rewritten while they read (a file truncated under a mapping would kill
    the reading process with SIGBUS, which is why the dumps themselves are not mapped).
    """
    import pyarrow.fs as pfs

    return pfs.LocalFileSystem(use_mmap=True)


#: The columns a window task reads back from the spill: what the cleaning and the detectors
#: use (the others -- provenance, heading, status, message type -- stay on disk; the context
#: stage reads them for the few vessels it needs).
TRACK_COLUMNS = ("mmsi", "time", "lat", "lon", "sog_kn", "cog_deg")


def load_positions(workdir, plan: WindowPlan, lo_ns: int, hi_ns: int, mmsi=None,
                   schema=None, columns=None, ordered: bool = True) -> pd.DataFrame:
    """Positions with time in ``[lo_ns, hi_ns)`` from the partitioned spill, in input order.

    Only the partitions the range touches are read (partition pruning of
    :mod:`pyarrow.dataset`: the windows, and of the first and last only the parts touched,
    :func:`range_filter`), with the time (and MMSI) filters pushed down to the reader.

    Parameters
    ----------
    workdir : path or stsdetect.scale.spill.MemorySpill
        Spill folder, or the spill held in memory.
    plan : WindowPlan
        For the window length.
    lo_ns, hi_ns : int
        Time range, nanoseconds since the Unix epoch (UTC).
    mmsi : array_like of int, optional
        Only these vessels.
    schema : pyarrow.Schema, optional
        The unified schema of the spill (see :func:`unify_schemas`).
    columns : sequence of str, optional
        Read only these columns (those present); all when None.
    ordered : bool, default True
        Return the rows in input order (else in whatever order the dataset gives, without
        reading the sequence numbers: for readers that sort by MMSI and time themselves).

    Returns
    -------
    pandas.DataFrame
        The positions table (the columns spilled, or those asked for, without the sequence
        and window columns).
    """
    import pyarrow as pa
    import pyarrow.compute as pc
    import pyarrow.dataset as ds

    from stsdetect.scale.spill import MemorySpill

    pool = read_pool()
    if isinstance(workdir, MemorySpill) and not workdir.on_disk:
        table = _held_rows(workdir, plan, lo_ns, hi_ns, mmsi, schema, columns, ordered, pool)
        if table is None:
            return pd.DataFrame()
    else:
        data = _dataset(workdir, _POSITION_DIR, schema, plan.spill_format)
        if data is None:
            return pd.DataFrame()
        cond = range_filter(lo_ns, hi_ns, plan.window_ns)
        if mmsi is not None:
            cond &= ds.field("mmsi").isin(pa.array(np.unique(np.asarray(mmsi, np.int64))))
        cols = None
        if columns is not None or not ordered:
            cols = _read_columns(data.schema.names, columns, ordered)
        table = data.to_table(filter=cond, columns=cols, memory_pool=pool)
    if ordered:
        seq = table.column(_SEQ).to_numpy()
        if seq.size > 1 and not bool(np.all(seq[1:] >= seq[:-1])):
            # fragments normally come back in file order, which is input order: sort if not
            table = table.take(pc.sort_indices(table.column(_SEQ), memory_pool=pool))
    table = table.drop_columns([c for c in (_SEQ, _WIN, _PART) if c in table.column_names])
    if table.num_rows and table.column(0).num_chunks == 1:
        # one chunk would be converted without a copy, making the frame a view of the spill
        # (of a held table, or of a file's memory-mapped pages): with an empty second chunk
        # to_pandas concatenates, so the frame owns its columns, as a read of several does
        table = pa.concat_tables([table, table.slice(0, 0)])
    return table.to_pandas(self_destruct=True, split_blocks=True, memory_pool=pool)


def range_filter(lo_ns: int, hi_ns: int, window_ns: int):
    """A :mod:`pyarrow.dataset` filter for the rows of ``[lo_ns, hi_ns)``: per partition it
    touches, its keys, and the time test only where the partition reaches beyond the range.
    The scanner simplifies the filter against each file's partition keys, so the files of a
    part wholly in the range are read without testing (or copying) their rows."""
    import pyarrow as pa
    import pyarrow.dataset as ds

    stamp = pa.timestamp("ns", tz="UTC")
    in_range = ((ds.field("time") >= pa.scalar(int(lo_ns), stamp))
                & (ds.field("time") < pa.scalar(int(hi_ns), stamp)))
    w = int(window_ns)
    k0, k1 = int(lo_ns) // w, (int(hi_ns) - 1) // w
    cond = None
    for k in sorted({k0, k1}):  # the end windows: the parts touched, tested where cut
        for j in _parts_touched(k, lo_ns, hi_ns, w):
            c = (ds.field(_WIN) == k) & (ds.field(_PART) == j)
            if not _part_inside(k, j, lo_ns, hi_ns, w):
                c &= in_range
            cond = c if cond is None else cond | c
    if k1 - k0 > 1:  # windows between lie wholly in the range
        cond |= (ds.field(_WIN) > k0) & (ds.field(_WIN) < k1)
    return cond


def _read_columns(names, columns, ordered: bool) -> list:
    """The spill's columns to read: those asked for (all when None) that it has, and the
    sequence number when the rows must come back in input order."""
    names = [c for c in names if c not in (_SEQ, _WIN, _PART)]
    return [c for c in (columns or names) if c in names] + ([_SEQ] if ordered else [])


def _held_rows(spill, plan: WindowPlan, lo_ns: int, hi_ns: int, mmsi, schema, columns,
               ordered: bool, pool):
    """:func:`load_positions`'s table from a spill held in memory (None: no rows held there):
    the slices of the partitions the range touches, as the disk route reads their files,
    with the same columns (``schema``'s, where given: missing ones null, types promoted) and
    the rows of ``[lo_ns, hi_ns)`` (and of the vessels ``mmsi``) kept."""
    import pyarrow as pa
    import pyarrow.compute as pc

    pieces = spill.slices(partition_keys(lo_ns, hi_ns, plan.window_ns))
    if not pieces and schema is None:
        return None
    # the columns, types and pandas metadata of the unified schema, as the disk route reads
    like = schema if schema is not None else pieces[0][1].schema
    fields = pa.schema([like.field(c) for c in _read_columns(like.names, columns, ordered)],
                       metadata=like.metadata)
    if not pieces:
        return fields.empty_table()
    stamp = pa.timestamp("ns", tz="UTC")
    lo, hi = pa.scalar(int(lo_ns), stamp), pa.scalar(int(hi_ns), stamp)
    ids = None if mmsi is None else pa.array(np.unique(np.asarray(mmsi, np.int64)))
    kept = []
    for (k, j), piece in pieces:  # loop over the partitions read (windows x parts x dumps)
        part = _conform(piece, fields)
        if ids is None and _part_inside(k, j, lo_ns, hi_ns, plan.window_ns):
            # a part wholly in the range: every row, as held
            kept.append(part)
            continue
        keep = pc.and_(pc.greater_equal(piece["time"], lo), pc.less(piece["time"], hi))
        if ids is not None:
            keep = pc.and_(keep, pc.is_in(piece["mmsi"], value_set=ids.cast(
                piece["mmsi"].type)))
        kept.append(pc.filter(part, keep, memory_pool=pool))
    return pa.concat_tables(kept)


def _conform(piece, schema):
    """A held slice with the columns of ``schema`` (nulls where it has none), of its types."""
    import pyarrow as pa

    have = piece.schema.names
    arrays = [(piece.column(f.name) if f.name in have else pa.nulls(len(piece), f.type))
              for f in schema]  # loop over a handful of columns
    arrays = [a if a.type == f.type else a.cast(f.type) for a, f in zip(arrays, schema,
                                                                        strict=True)]
    return pa.table(arrays, schema=schema)


def read_pool():
    """The Arrow memory pool the spill is read into: the system allocator (``malloc``).

    Chosen per call, so nothing process-wide changes. Arrow's default pool in the wheels
    (mimalloc) hands a large buffer back to the system when it is freed, so each window
    task's columns (tens of MB) were fresh pages that the kernel zeroes again: on
    ``bench_dask.py``'s 14 days that was 1.3 of 3.3 CPU s of the window tasks in system
    time (236k page faults; ``clear_page`` the hottest symbol). The C library's allocator
    keeps recently freed large blocks for reuse instead: 141k faults, 0.4 CPU s of system
    time, and the window tasks' peak memory falls (695 -> 527 MB in one process).
    """
    import pyarrow as pa

    return pa.system_memory_pool()


def _tracks(positions: pd.DataFrame, plan: WindowPlan):
    from stsdetect.tracks import Tracks, build_tracks

    if not len(positions):
        return Tracks.empty()
    return build_tracks(positions, **plan.objects["tracks"].kwargs())


def _flag_candidates(tracks, tugs, tow) -> pd.DataFrame:
    """Vessels whose flags need their whole track: split MMSIs and (tug, vessel) close pairs.

    ``two_places_at_once`` needs an MMSI's segment count and the barge tow check needs the
    runs of a tug with another vessel, both under way (:func:`stsdetect.detectors.tows.find_tows`),
    over all the data. A window lists every MMSI it split and every pair of a moving tug with
    a moving vessel within the tow distance at one of its grid times (no least duration and no
    median-speed test: a cut run may fail them); :func:`finish_events` then builds whole
    tracks for just those of them that take part in an event. ``tow`` is the tow stage's
    parameter object (:class:`stsdetect.params.TowParams`).
    """
    seg_mmsi, n_seg = np.unique(tracks.segment_mmsi, return_counts=True)
    split = seg_mmsi[n_seg > 1]
    parts = [pd.DataFrame({"mmsi": split, "partner": np.full(split.size, _NO_OTHER, np.int64)})]
    tugs = np.zeros(0, np.int64) if tugs is None else np.asarray(tugs, np.int64)
    if tugs.size and len(tracks):
        moving = np.isfinite(tracks.sog_kn) & (tracks.sog_kn > float(tow.min_sog_kn))
        if np.isin(tracks.mmsi[moving], tugs).any():
            from stsdetect.detectors.rendezvous import find_pair_runs

            runs = find_pair_runs(tracks.take(moving), max_distance_m=tow.max_distance_m,
                                  min_duration="0s", step=tow.step)
            a = runs["mmsi"].to_numpy(np.int64)
            b = runs["other_mmsi"].astype("Int64").fillna(_NO_OTHER).to_numpy(np.int64)
            one = np.isin(a, tugs) ^ np.isin(b, tugs)
            parts.append(pd.DataFrame({"mmsi": a[one], "partner": b[one]}))
    return pd.concat(parts, ignore_index=True).drop_duplicates(ignore_index=True)


def detect_window(workdir, plan: WindowPlan, k: int, extent: tuple, tugs=None,
                  schema=None) -> dict:
    """The map task of window ``k``: load it with its margins, build tracks, run each stage's
    windowed form (:mod:`stsdetect.scale.carry`).

    Parameters
    ----------
    workdir : path or stsdetect.scale.spill.MemorySpill
        Spill folder, or the spill held in memory.
    plan : WindowPlan
        Parameters and margin.
    k : int
        Window number.
    extent : tuple of float
        First and last report time of the whole data set (seconds).
    tugs : array_like of int, optional
        MMSIs of tugs (from the merged vessels table), for the tow check of the flags.
    schema : pyarrow.Schema, optional
        Unified schema of the spill.

    Returns
    -------
    dict
        ``pieces`` (stage name -> what its ``map`` returned; the reports heard, for the dark
        periods' heard test, are written to ``workdir/heard/w=<k>/`` instead),
        ``flag_candidates`` (see ``_flag_candidates``), ``activity``
        (:func:`stsdetect.identity.activity.vessel_activity` of the core) and ``rows``
        (positions loaded).
    """
    from stsdetect.scale.carry import Win
    from stsdetect.scale.registry import STAGES

    a_ns, w = int(k) * plan.window_ns, plan.window_ns
    lo_ns, hi_ns = a_ns - plan.margin_ns, a_ns + w + plan.margin_ns
    need_positions = any(STAGES[n].positions(plan.objects[n]) for n in plan.detectors)
    positions = load_positions(workdir, plan, lo_ns, hi_ns, schema=schema,
                               columns=TRACK_COLUMNS + (("source",) if need_positions else ()))
    tracks = _tracks(positions, plan)
    from stsdetect.identity.activity import vessel_activity

    # each vessel's activity in the core (first/last report, time at sea speed), for the barge
    # rules and handovers of the flags (merged exactly over the windows)
    activity = vessel_activity(tracks, positions if len(positions) else None,
                               core=(a_ns, a_ns + w))
    n_rows = len(positions)
    if not need_positions:
        positions = None  # the detectors read the tracks only: free the table
    win = Win(k=int(k), a_ns=a_ns, b_ns=a_ns + w, lo_ns=lo_ns, hi_ns=hi_ns,
              first=lo_ns / 1e9 <= extent[0], last=hi_ns / 1e9 > extent[1])
    pieces = {}
    for name in plan.detectors:  # a handful of stages
        carry = STAGES[name].carry()
        extra = ({"positions": positions} if STAGES[name].positions(plan.objects[name])
                 else {})
        pieces[name] = carry.map(tracks, plan.objects[name], win, **extra)
    if "loitering" in pieces:
        closed, runs, rows = pieces["loitering"]
        if len(rows):
            _write_side(workdir, _LOITER_DIR, k, rows)
        pieces["loitering"] = (closed, runs, None)
    if "dark_period" in pieces:
        gaps, ends, heard, cover = pieces["dark_period"]
        if heard is not None and len(heard):
            _write_side(workdir, _HEARD_DIR, k, heard)
        pieces["dark_period"] = (gaps, ends, None, cover)
    matched = None
    if plan.imagery:  # the imagery detections of the core, matched to this window's tracks
        matched = match_window(workdir, k, tracks, plan)
    stops = None
    if plan.context:  # the context stage's windowed form: pieces of stops in the core
        from stsdetect.context.stops import stop_pieces

        stops = stop_pieces(tracks, a_ns, a_ns + w)
    return {
        "window": int(k),
        "pieces": pieces,
        "stops": stops,
        "activity": activity,
        "flag_candidates": _flag_candidates(tracks, tugs, plan.objects["tows"]),
        "rows": n_rows,
        "matched": matched,
    }


_DETECTIONS_DIR = "detections"
_DET_ROW = "_det_row"


def spill_detections(workdir, detections: pd.DataFrame, plan: WindowPlan) -> np.ndarray:
    """Write imagery detections beside the spill, one file per window of their image time.

    Returns the window numbers written. Each row keeps its position in ``detections``
    (column ``_det_row``) so that the matched table comes back in the same order.
    """
    det = detections.reset_index(drop=True).copy()
    det[_DET_ROW] = np.arange(len(det), dtype=np.int64)
    ns = pd.DatetimeIndex(det["time"]).as_unit("ns").asi8
    k = np.floor_divide(ns, plan.window_ns)
    for w in np.unique(k).tolist():  # loop over windows with detections
        _write_side(workdir, _DETECTIONS_DIR, w, det.loc[k == w])
    return np.unique(k)


def match_window(workdir, k: int, tracks, plan: WindowPlan):
    """Window ``k``'s detections matched to its tracks (None when it has none): the image
    times lie in the core, and the loaded margin holds the reports around them."""
    det = _read_side(workdir, _DETECTIONS_DIR, k)
    if det is None:
        return None
    from stsdetect.detectors.dark_vessels import match_detections

    p = plan.objects["imagery"]
    return match_detections(det, tracks, max_distance_m=p.match_distance_m,
                            max_gap=p.max_gap, max_extrapolate=p.max_extrapolate)


def merge_matched(workdir, parts, windows_run, windows_with, detections) -> pd.DataFrame:
    """The matched detections of all windows, in the order given; detections of windows that
    were not run (no AIS near them) are matched to nothing."""
    from stsdetect.detectors.dark_vessels import match_detections
    from stsdetect.tracks import Tracks

    parts = [p for p in parts if p is not None]
    for w in np.setdiff1d(windows_with, windows_run).tolist():  # windows without AIS
        parts.append(match_detections(_read_side(workdir, _DETECTIONS_DIR, w),
                                      Tracks.empty()))
    if not parts:  # no detections at all
        return match_detections(detections.iloc[:0], Tracks.empty())
    out = pd.concat(parts, ignore_index=True).sort_values(_DET_ROW, kind="stable")
    return out.drop(columns=[_DET_ROW]).reset_index(drop=True)


def _side_path(workdir, folder: str, k: int) -> Path:
    """The file of window ``k``'s side table in ``folder`` (Arrow IPC: written and read
    once, by this run)."""
    return Path(workdir) / folder / f"{_WIN}={int(k)}" / "part.arrow"


def _write_side(workdir, folder: str, k: int, table: pd.DataFrame) -> None:
    """Keep a window's side table (heard reports, loitering rows, imagery detections) for a
    later task: held by a spill in memory while its budget has room, else in a file beside
    the spill."""
    import pyarrow as pa
    import pyarrow.feather as feather

    from stsdetect.scale.spill import MemorySpill

    table = table.reset_index(drop=True)  # as a file gives it back
    if isinstance(workdir, MemorySpill) and workdir.hold((folder, int(k)), table):
        return
    path = _side_path(workdir, folder, k)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.parent / f".part.{uuid.uuid4().hex}.tmp"
    feather.write_feather(pa.Table.from_pandas(table, preserve_index=False), tmp,
                          compression="uncompressed")
    os.replace(tmp, path)  # a retried task replaces it whole


def _read_side(workdir, folder: str, k: int) -> pd.DataFrame | None:
    """Window ``k``'s side table in ``folder`` (None: the window wrote none)."""
    import pyarrow.feather as feather

    from stsdetect.scale.spill import MemorySpill

    if isinstance(workdir, MemorySpill):
        held = workdir.held((folder, int(k)))
        if held is not None:
            return held
    path = _side_path(workdir, folder, k)
    if not path.exists():
        return None
    return feather.read_table(path, memory_map=False).to_pandas()


def windows_spanned(k0, k1, windows) -> np.ndarray:
    """The window numbers among ``windows`` that at least one span ``[k0[i], k1[i]]`` covers.

    Sorted and unique, found by counting spans begun minus spans ended at each window (two
    binary searches), not by listing each span's windows: a silence or a loitering run may
    cross thousands of windows, and there may be millions of them. Spans with ``k0 > k1``
    cover nothing.
    """
    k0, k1 = np.asarray(k0, np.int64), np.asarray(k1, np.int64)
    ok = k0 <= k1
    k0, k1 = np.sort(k0[ok]), np.sort(k1[ok])
    windows = np.unique(np.asarray(windows, np.int64))
    covering = np.searchsorted(k0, windows, "right") - np.searchsorted(k1, windows, "left")
    return windows[covering > 0]


def jobs_by_window(frame: pd.DataFrame, k0, k1, windows) -> dict:
    """``{window: rows of frame}``: each row goes to every window of ``windows`` its span
    ``[k0, k1]`` (window numbers, one per row) covers; windows no row covers are left out.
    One task per window then gets the rows it must look at (finish and status tasks)."""
    k0, k1 = np.asarray(k0, np.int64), np.asarray(k1, np.int64)
    return {k: frame.loc[(k0 <= k) & (k1 >= k)]  # loop over windows
            for k in windows_spanned(k0, k1, windows).tolist()}


def finish_task(workdir, k: int, loiter_runs=None, heard_queries=None, status_queries=None,
                radius_m: float | None = None, plan=None, schema=None, planned=None) -> tuple:
    """Window ``k``'s part of the finish: ``(loiter_task(...), heard_task(...),
    status_task(...))`` for the runs and queries given (None: that part is not asked; an
    empty result comes back, None for the statuses). One task per window does all three, so
    the finish costs one round of tasks (``plan`` and ``schema``: for
    :func:`stsdetect.scale.status.status_task`). ``planned``: the status plan of the run
    (``(queries, jobs by window)``, see :meth:`stsdetect.scale.status.WindowedStatus.plan_fetch`),
    from which window ``k``'s status queries are taken when given."""
    if planned is not None:
        status_queries = planned[1].get(k)
    chords = (loiter_task(workdir, k, loiter_runs) if loiter_runs is not None
              else pd.DataFrame({"id": np.zeros(0, np.int64), "chord": np.zeros(0)}))
    keys = (heard_task(workdir, k, heard_queries, radius_m) if heard_queries is not None
            else np.zeros((0, 2), np.int64))
    status = None
    if status_queries is not None:
        from stsdetect.scale.status import status_task

        status = status_task(workdir, k, status_queries, plan, schema)
    return chords, keys, status


def loiter_task(workdir, k: int, runs: pd.DataFrame) -> pd.DataFrame:
    """Largest drift chords of loitering runs over window ``k``'s rows (see
    :func:`stsdetect.scale.carry.drift_chords`)."""
    from stsdetect.scale.carry import drift_chords

    rows = _read_side(workdir, _LOITER_DIR, k)
    if rows is None:
        return pd.DataFrame({"id": np.zeros(0, np.int64), "chord": np.zeros(0)})
    return drift_chords(rows, runs)


def heard_task(workdir, k: int, queries: pd.DataFrame, radius_m: float) -> np.ndarray:
    """``(query, mmsi)`` pairs heard in window ``k`` (:func:`stsdetect.scale.carry.heard_keys`)."""
    from stsdetect.scale.carry import heard_keys

    heard = _read_side(workdir, _HEARD_DIR, k)
    if heard is None:
        return np.zeros((0, 2), np.int64)
    return heard_keys(heard, queries, radius_m)


# ------------------------------------------------------------------------------------------
# Merge and finish
# ------------------------------------------------------------------------------------------

def merge_vessels(tables) -> pd.DataFrame:
    """Merge per-dump vessels tables into one row per MMSI.

    Returns None when no table is given (positions-only inputs). Identity columns take
    the last dump's non-missing value (dumps are in time order);
    ``first_seen`` is the earliest, ``last_seen`` the latest; ``n_name_changes`` and
    ``n_type_changes`` add up, plus one for each dump boundary across which the name (type)
    differs; ``names`` joins the distinct names.
    """
    tables = [t for t in tables if t is not None]
    if not tables:
        return None  # nothing known about static data (as for a positions-only input)
    if not any(len(t) for t in tables):
        return tables[0]
    tables = [t for t in tables if len(t)]
    frame = pd.concat(tables, keys=range(len(tables)), names=["_dump", None])
    frame = frame.reset_index(level=0).reset_index(drop=True)
    frame = frame.sort_values(["mmsi", "_dump"], kind="stable")
    g = frame.groupby("mmsi", sort=True)
    out = g.last()  # last non-null per column
    if "first_seen" in frame:
        out["first_seen"] = g["first_seen"].min()
    if "last_seen" in frame:
        out["last_seen"] = g["last_seen"].max()
    same_prev = frame["mmsi"].eq(frame["mmsi"].shift(1)).to_numpy()
    for col, count in (("name", "n_name_changes"), ("ship_type", "n_type_changes")):
        if col in frame and count in frame:
            cur, prev = frame[col], frame[col].shift(1)
            changed = same_prev & (cur.notna() & prev.notna() & (cur != prev)).to_numpy(bool)
            extra = pd.Series(changed.astype(np.int64), index=frame.index).groupby(
                frame["mmsi"]).sum()
            out[count] = (g[count].sum() + extra).astype(frame[count].dtype)
    if "names" in frame:
        out["names"] = g["names"].agg(
            lambda s: ";".join(sorted({n for v in s.dropna() for n in str(v).split(";") if n})))
    out = out.drop(columns=["_dump"]).reset_index()
    return out[[c for c in tables[0].columns if c in out.columns]]


def merge_reports(reports):
    """Combine decode reports with their own ``merge`` (or ``+``), when they have one."""
    reports = [r for r in reports if r is not None]
    if not reports:
        return None
    total = reports[0]
    for r in reports[1:]:
        if hasattr(total, "merge"):
            total = total.merge(r)
        else:
            total = total + r
    return total


def finish_events(window_events, plan: WindowPlan, vessels=None, regions=None,
                  watchlist=None, class_b=None, flag_candidates=None,
                  load_tracks=None, statics=None, context=None, imagery=None,
                  activity=None, dark_guess=None) -> pd.DataFrame:
    """Deduplicate, derive dark rendezvous and flag the merged events.

    Parameters
    ----------
    window_events : list of pandas.DataFrame
        Events closed by the windows and by the carried state.
    plan : WindowPlan
        Parameters.
    vessels : pandas.DataFrame, optional
        Merged vessels table, for flags.
    regions, watchlist : optional
        As for :func:`stsdetect.pipeline.detect`.
    class_b : array_like of int, optional
        MMSIs heard in type 18/19 reports (Class B evidence of the barge rules).
    flag_candidates : pandas.DataFrame, optional
        ``mmsi``, ``partner`` rows from the windows (split MMSIs, tug pairs).
    load_tracks : callable, optional
        ``load_tracks(mmsi_array) -> Tracks``: whole tracks of a few vessels.
    statics : pandas.DataFrame, optional
        The statics histories of all dumps (:func:`merge_statics`), for identity links.
    context : callable, optional
        ``context(events) -> events``: the context stage (:mod:`stsdetect.context`), run on
        the merged events before the flags, as :func:`stsdetect.detect` does.
    imagery : callable, optional
        ``imagery(events) -> events``: the imagery stage's join (dark vessels, unseen
        partners), after the context and before the flags, as :func:`stsdetect.detect` runs
        it.
    activity : pandas.DataFrame, optional
        The vessels' activity merged over the windows
        (:func:`stsdetect.identity.activity.merge_activity`), for the flags.
    dark_guess : pandas.DataFrame, optional
        Dark rendezvous found before the heard counts were known (the status plan of the
        finish): settled on the merged dark periods (:func:`settle_dark_rendezvous`)
        instead of searching again; the search runs when they cannot be.

    Returns
    -------
    pandas.DataFrame
        The events table.

    Notes
    -----
    :func:`stsdetect.flags.flag_events` gets the merged vessels table, the Class B MMSIs and
    whole tracks of the event participants listed in ``flag_candidates`` (with their tug or
    towed partners), which is all its tow check and ``two_places_at_once`` anomaly look at.
    """
    events = concat_events(list(window_events))
    events = events.drop_duplicates("event_id", keep="first").reset_index(drop=True)
    dark = events.loc[events["event_type"] == "dark_period"].reset_index(drop=True)
    if plan.dark_rendezvous:  # the registry's post stage, on the merged dark periods
        from stsdetect.scale.registry import STAGES, StageInputs

        post = settle_dark_rendezvous(dark_guess, dark)
        if post is None:
            post = STAGES["dark_rendezvous"].run(
                StageInputs(None, tables={"dark_period": dark}), plan.objects["dark_rendezvous"])
        events = concat_events([events, post])
    if "dark_period" not in plan.emit:  # run only for the flags and dark rendezvous
        events = events.loc[events["event_type"] != "dark_period"].reset_index(drop=True)
    tracks = None
    if flag_candidates is not None and len(flag_candidates) and load_tracks is not None:
        who = np.union1d(events["mmsi"].to_numpy(np.int64),
                         events["other_mmsi"].dropna().to_numpy(np.int64))
        fc = flag_candidates
        mine = fc["mmsi"].isin(who) | fc["partner"].isin(who)
        need = np.union1d(fc.loc[mine, "mmsi"].to_numpy(np.int64),
                          fc.loc[mine, "partner"].to_numpy(np.int64))
        need = need[need != _NO_OTHER]
        if need.size:
            tracks = load_tracks(need)
    if context is not None:  # the context stage (stsdetect.context), before the flags
        events = context(events)
    if imagery is not None:  # dark vessels and unseen partners, before the flags
        events = imagery(events)
    tow_params = getattr(plan, "objects", {}).get("tows")
    events = _flag(events, vessels, regions, watchlist, class_b, dark,
                   plan.params.get("flags", {}), tracks, statics,
                   tow_params.kwargs() if tow_params is not None else {}, activity)
    return events.reset_index(drop=True)  # core columns, then evidence and identity (C3)


def settle_dark_rendezvous(guess, dark: pd.DataFrame):
    """The dark rendezvous of ``dark`` (the final dark periods) from ``guess``, those found
    on the same silences before their heard counts were known; None when that cannot be
    done exactly (the caller then searches again).

    A heard count decides only a silence's ``likely_intentional``; the rendezvous found,
    their times, places, distances and coverage come from the silences' times, end points
    and coverage, which it does not change
    (:func:`stsdetect.detectors.dark.find_dark_rendezvous`). So only each rendezvous'
    ``likely_intentional`` (both silences likely intentional) and its flag are recomputed,
    which needs the two silences of each rendezvous: the vessel's and the partner's silence
    that span its time and whose start points lie exactly its ``distance_m`` apart and end
    points its ``end_distance_m``. A rendezvous matching no such pair, or more than one, is
    not settled (None). The windowed finish uses it so that the pair search runs once.
    """
    from stsdetect.geo import epoch_ns, haversine_m

    if guess is None:
        return None
    dp = dark.loc[dark["event_type"] == "dark_period"]
    dp = dp.dropna(subset=["lat", "lon", "end_lat", "end_lon", "start", "end"])
    if dp["event_id"].duplicated().any():  # the search ran on no such table
        return None
    if not len(guess):
        return guess
    li = dp["likely_intentional"].astype("boolean").fillna(False).to_numpy(bool)
    sil = pd.DataFrame({"s": np.arange(len(dp)), "mmsi": dp["mmsi"].to_numpy(np.int64),
                        "s0": epoch_ns(dp["start"]), "s1": epoch_ns(dp["end"])})
    rows = pd.DataFrame({"r": np.arange(len(guess)),
                         "a": guess["mmsi"].to_numpy(np.int64),
                         "b": pd.to_numeric(guess["other_mmsi"]).to_numpy(np.int64),
                         "t0": epoch_ns(guess["start"]), "t1": epoch_ns(guess["end"])})
    slack = 10**6  # 1 ms: the rendezvous' times went through float seconds

    def spanning(side):
        m = rows.merge(sil, left_on=side, right_on="mmsi")
        ok = (m["s0"] <= m["t0"] + slack) & (m["s1"] >= m["t1"] - slack)
        return m.loc[ok, ["r", "s"]]

    pairs = spanning("a").merge(spanning("b"), on="r", suffixes=("_a", "_b"))
    i, j, r = (pairs[c].to_numpy(np.int64) for c in ("s_a", "s_b", "r"))
    lat0, lon0 = dp["lat"].to_numpy(float), dp["lon"].to_numpy(float)
    lat1, lon1 = dp["end_lat"].to_numpy(float), dp["end_lon"].to_numpy(float)
    same = ((haversine_m(lat0[i], lon0[i], lat0[j], lon0[j])
             == guess["distance_m"].to_numpy(float)[r])
            & (haversine_m(lat1[i], lon1[i], lat1[j], lon1[j])
               == guess["end_distance_m"].to_numpy(float)[r]))
    i, j, r = i[same], j[same], r[same]
    if not np.array_equal(np.sort(r), np.arange(len(guess))):  # one pair per rendezvous
        return None
    both = np.zeros(len(guess), dtype=bool)
    both[r] = li[i] & li[j]
    return guess.assign(
        likely_intentional=pd.array(both, dtype=guess["likely_intentional"].dtype),
        flags=[["likely_intentional"] if f else [] for f in both.tolist()])


def _flag(events, vessels, regions, watchlist, class_b, dark, flag_params, tracks=None,
          statics=None, tow_kwargs=None, activity=None):
    from stsdetect.detectors.tows import find_tows, tug_mmsi
    from stsdetect.flags import flag_events

    ids = np.zeros(0, np.int64) if class_b is None else np.asarray(class_b, np.int64)
    b_positions = pd.DataFrame({"mmsi": ids, "msg_type": np.full(ids.size, 18, np.int8)})
    tows = (find_tows(tracks, tug_mmsi(vessels), **(tow_kwargs or {}))
            if tracks is not None else None)   # the tow detector on the loaded whole tracks
    return flag_events(events, vessels=vessels, regions=regions, watchlist=watchlist,
                       dark_periods=dark, positions=b_positions, tracks=tracks, tows=tows,
                       statics=statics, activity=activity, **flag_params)


def whole_tracks(workdir, plan: WindowPlan, mmsi, windows, schema=None) -> object:
    """Tracks of a few vessels over all the data, read from the spill by MMSI."""
    windows = np.asarray(windows, np.int64)
    if windows.size == 0:
        return _tracks(pd.DataFrame(), plan)
    lo = int(windows.min()) * plan.window_ns
    hi = (int(windows.max()) + 1) * plan.window_ns
    return _tracks(load_positions(workdir, plan, lo, hi, mmsi=mmsi, schema=schema,
                                  columns=TRACK_COLUMNS), plan)


@dataclass
class WindowedResult:
    """What :func:`detect_windowed` found.

    Attributes
    ----------
    events : pandas.DataFrame
        The events table (:data:`stsdetect.events.EVENT_COLUMNS`).
    vessels : pandas.DataFrame
        Vessels table merged over all dumps.
    decode_report : object
        Decode reports of all dumps merged.
    report : dict
        Counts of the windowed run: ``rows_spilled``, ``rows_no_time`` (skipped: no time),
        ``vessels_heard`` (distinct MMSIs),
        ``windows``, ``max_rows_loaded`` (largest window with margins), ``open_entries``
        (runs carried across a window edge, and silences whose heard count needed other
        windows), ``tasks`` (tasks submitted) and ``spill`` (``"memory"``: the positions
        were held in memory, or ``"disk"``: read from files); and the phases' wall seconds
        ``decode_s``, ``windows_s``, ``finish_s`` (decode and spill; map the windows and fold
        their pieces; finish) with this process's CPU seconds in each, ``decode_cpu_s``,
        ``windows_cpu_s``, ``finish_cpu_s`` (on Dask, the client's: the workers' are not in
        them).
    workdir : pathlib.Path or None
        The spill folder when kept, else None.
    detections : pandas.DataFrame or None
        The imagery detections given, matched to the tracks (as
        :attr:`stsdetect.pipeline.DetectResult.detections`); None without them.
    """

    events: pd.DataFrame
    vessels: pd.DataFrame
    decode_report: object
    report: dict
    workdir: Path | None = None
    detections: pd.DataFrame | None = None


def _sources(sources) -> list:
    if isinstance(sources, pd.DataFrame):
        return [sources]
    if isinstance(sources, (str, Path)):
        path = Path(sources)
        if path.is_dir():
            files = sorted(p for p in path.iterdir() if p.is_file())
            if not files:
                raise ValueError(f"no files in folder {path}")
            return files
        return [path]
    files = list(sources)
    if not files:
        raise ValueError("no sources given")
    return files


def detect_windowed(sources, window=DEFAULT_WINDOW, workdir=None, *, only=None, regions=None,
                    watchlist=None, progress=False, keep_workdir=False,
                    track_context=DEFAULT_TRACK_CONTEXT, read_kwargs=None,
                    chunk_bytes=DEFAULT_SPILL_CHUNK_BYTES, vessels=None,
                    ports=None, anchorages=None, detections=None, context=True,
                    spill_format="arrow", spill_memory_bytes=None,
                    **params) -> WindowedResult:
    """Detect events over many dumps (or a huge one) in bounded memory, window by window.

    The result equals a single in-memory run over all dumps concatenated (see the module
    documentation for how, and for the assumptions).

    Parameters
    ----------
    sources : path, folder or list of paths (or of positions DataFrames)
        Dumps in any format :func:`stsdetect.read_ais` reads, in time order (a folder: its
        files sorted by name); a list item may also be an already decoded positions table.
    window : duration, default "1d"
        Window length; windows are aligned to the Unix epoch (UTC midnight for days).
    workdir : path, optional
        Folder for the Parquet spill; a temporary folder when omitted (removed at the end
        unless ``keep_workdir``). Must be empty or not exist.
    only : iterable of str, optional
        Detectors to run (see :func:`make_plan`).
    regions, watchlist : optional
        Passed to :func:`stsdetect.flags.flag_events` as in :func:`stsdetect.pipeline.detect`.
    progress : bool, default False
        Show a progress bar over dumps and windows.
    keep_workdir : bool, default False
        Keep the spill (e.g. to re-run detection with other parameters).
    track_context : duration, default "1h"
        See :data:`DEFAULT_TRACK_CONTEXT`.
    read_kwargs : dict, optional
        Extra arguments of :func:`stsdetect.read_ais`.
    chunk_bytes : int, default :data:`DEFAULT_SPILL_CHUNK_BYTES` (256 MiB)
        NMEA dumps larger than this are decoded piece by piece (:func:`nmea_pieces`), so one
        50 GB dump needs no more memory than a month of daily ones.
    vessels : pandas.DataFrame, optional
        A vessels table to use instead of the one merged from the dumps (as for
        :func:`stsdetect.pipeline.detect`, e.g. with positions-table sources).
    ports, anchorages : optional
        Port polygons and saved anchorages for the context stage, as for
        :func:`stsdetect.pipeline.detect` (``anchorages=False``: learn none).
    detections : str, path or pandas.DataFrame, optional
        Imagery vessel detections, as for :func:`stsdetect.pipeline.detect`: matched window
        by window, then ``dark_vessel`` events and ``unseen_partner`` on the merged events.
    context : bool, default True
        Run the context stage, as :func:`stsdetect.pipeline.detect` does.
    spill_format : {"arrow", "parquet"}, default "arrow"
        Format of the spill's files (:data:`SPILL_FORMATS`): uncompressed Arrow IPC (fast to
        write and read, about twice Parquet's size), or snappy Parquet (compact).
    spill_memory_bytes : int, optional
        The positions spill is held in memory while it takes at most this many bytes
        (:class:`~stsdetect.scale.spill.MemorySpill`; None: :data:`DEFAULT_SPILL_MEMORY_BYTES
        <stsdetect.scale.spill.DEFAULT_SPILL_MEMORY_BYTES>`, 1 GiB), and goes to files in
        the work folder beyond it; 0 always writes files. A spill that must outlive the
        run (``keep_workdir``, or a ``workdir`` given) is always written to files.
    **params
        Stage parameters, named as for :func:`stsdetect.pipeline.detect`.

    Returns
    -------
    WindowedResult
    """
    from stsdetect.scale.engine import LocalExecutor, run_windows

    dets = read_detections_arg(detections)
    plan = make_plan(window, only=only, track_context=track_context, imagery=dets is not None,
                     context=context, spill_format=spill_format, **params)
    files = _sources(sources)
    own_dir = workdir is None
    work = Path(tempfile.mkdtemp(prefix="stsdetect-")) if own_dir else Path(workdir)
    if not own_dir:
        if work.exists() and any(work.iterdir()):
            raise ValueError(f"workdir {work} is not empty; give an empty or new folder")
        work.mkdir(parents=True, exist_ok=True)
    from stsdetect.scale.spill import DEFAULT_SPILL_MEMORY_BYTES, MemorySpill

    budget = DEFAULT_SPILL_MEMORY_BYTES if spill_memory_bytes is None else spill_memory_bytes
    if int(budget) < 0:
        raise ValueError(f"spill_memory_bytes must be 0 or more, not {spill_memory_bytes}")
    spill = work
    if own_dir and not keep_workdir and budget > 0:
        spill = MemorySpill(work, budget, functools.partial(
            _write_files, workdir=work, spill_format=plan.spill_format))
    try:
        read = {**plan.params.get("read", {}), **(read_kwargs or {})}
        result = run_windows(files, plan, spill, LocalExecutor(), read=read,
                             chunk_bytes=chunk_bytes, progress=progress, regions=regions,
                             watchlist=watchlist, vessels=vessels, detections=dets,
                             **context_areas(ports, anchorages))
    finally:
        if own_dir and not keep_workdir:
            shutil.rmtree(work, ignore_errors=True)
    result.workdir = work if (keep_workdir or not own_dir) else None
    return result


def read_detections_arg(detections):
    """Imagery detections read (and so checked) before any decoding; None stays None."""
    if detections is None:
        return None
    from stsdetect.imagery import read_detections

    return read_detections(detections)


def _extent(spills) -> tuple:
    lo = [s["t_min"] for s in spills if s["rows"]]
    hi = [s["t_max"] for s in spills if s["rows"]]
    return (min(lo), max(hi)) if lo else (np.nan, np.nan)


def vessels_heard(spills) -> int:
    """Distinct MMSIs over all dumps."""
    return int(np.unique(np.concatenate([np.zeros(0, np.int64),
                                         *(s["mmsis"] for s in spills)])).size)


def class_b_ids(spills) -> np.ndarray:
    """MMSIs seen in type 18/19 reports in any dump."""
    return np.unique(np.concatenate([np.zeros(0, np.int64), *(s["class_b"] for s in spills)]))


def window_numbers(spills, span: int = 0) -> np.ndarray:
    """The windows to run: every window with data, and the windows between the first and the
    last within ``span`` windows of data (those whose margins reach it), sorted.

    Windows farther than ``span`` from any data have nothing to find, so a lone report far
    from the rest (#14 item 7: one report stamped years away once made a run visit every
    window between) adds only its own few windows.
    """
    wins = [s["windows"] for s in spills if len(s["windows"])]
    if not wins:
        return np.zeros(0, np.int64)
    have = np.unique(np.concatenate(wins).astype(np.int64))
    around = have[:, None] + np.arange(-int(span), int(span) + 1, dtype=np.int64)[None, :]
    around = np.unique(around.ravel())
    return around[(around >= have[0]) & (around <= have[-1])]
