"""Out-of-core detection: fixed UTC time windows, processed in order, merged exactly.

A month of AIS does not fit in memory; one day does. :func:`detect_windowed` decodes each dump
once, spills its positions to Parquet partitioned by time window, and then runs the ordinary
stages (:func:`stsdetect.tracks.build_tracks` and the detectors) one window at a time, holding
at most three windows of positions. The events come out identical to a single in-memory run
over all the dumps -- including events that cross midnight or a file boundary, which come out
once and whole.

How it stays exact
------------------
*Windows* are ``[k W, (k + 1) W)`` seconds since the Unix epoch (``W`` = ``window``, default
one day), so they never depend on where the data starts. Window ``k`` *loads* its positions
plus a margin ``M`` on both sides, ``[k W - M, (k + 1) W + M)``, and runs the stages on that.

Every detector is *local*: an event spanning ``[s, e]`` depends only on reports within a
*context* ``C`` of that span (for the rendezvous detector ``C = max_gap + step + tolerance``: a
grid point is interpolated from the reports at most ``max_gap`` around it, and a run ends one
``step`` -- or one bridged gap -- beyond its last point; for loitering ``C = max_gap``; for dark
periods ``C = heard_bin``; plus ``track_context`` for the cleaning in
:func:`~stsdetect.tracks.build_tracks`). So a window's event is *closed* -- provably the same as
in a run over all the data -- when ``[s - C, e + C]`` lies inside the loaded range (or the
loaded range reaches past the first or last report of the whole data set). Closed events are
kept by the window whose core ``[k W, (k + 1) W)`` holds their start: each comes out once.

The rest are *open*: they touch the loaded range's edge, so they may be cut. The margin is ``M =
C + min_duration + step`` (rounded up to whole minutes), so an event that starts in a window's
core is either closed there or long enough that its visible part is itself reported (open) -- no
event can slip through unseen. The rendezvous detector's median-speed test is over the whole
run, so a cut run may fail it while the whole passes: its open runs are taken from
:func:`~stsdetect.detectors.rendezvous.find_pair_runs` without that test (and without the least
duration) in the two edge zones of each window. Open events of the same type and the same
vessels (``mmsi``, ``other_mmsi``) whose spans overlap are joined, and the detector is re-run
*on just those vessels* over the joined span plus ``M`` on both sides, read back from the
Parquet spill by MMSI. If the re-run's event is still open it is extended again (by a whole
window beyond the edge it touches, so each round strictly grows) until it is closed. Open events
are few (those crossing a window edge), so re-runs are cheap; they are batched per event type
and per window so no Python loop runs per event.

Dark periods need two more things. A silence longer than the margin is seen by no window at
all (neither report of the gap is in one loaded range), so the last *cleaned* report of every
vessel is carried from window to window (the Dask version joins every window's first and last
report per vessel instead), and every silence longer than ``min_gap`` that no
window closed becomes an open entry. And a dark period's ``n_other_heard`` counts *other*
vessels heard near the vanishing point during the silence, so its re-run also loads every
vessel with a report within ``radius_m`` of that point during the silence (found by scanning
the spill, one window partition at a time, with a k-d tree). Dark rendezvous are computed at
the end from the merged dark periods (they are a function of the dark-period table alone),
and flags (identity, regions, watch-list) are applied once to the merged table with the
vessels table merged over all dumps, and with whole tracks of the few event participants whose
flags look at tracks: MMSIs some window split into several transmitters
(``two_places_at_once``) and vessels some window saw close to a moving tug (the barge tow
check).

Assumptions (hold for the detectors and the cleaning shipped with stsdetect): detectors are
local as above, pair and single-vessel events depend only on their own vessels (and, for dark
periods, the vessels heard), and the cleaning's decisions about a report depend only on that
vessel's reports within ``track_context``. The identity split of :func:`build_tracks` keeps,
for an MMSI shared by several transmitters, the *largest* segment: that is a decision over the
MMSI's whole history, so for such MMSIs (and only them) windowed segmentation may differ near
window edges from a single run.

Memory: the positions of at most ``1 + 2 ceil(M / W)`` windows (three with the defaults), plus
the re-runs' positions of few vessels, plus one row per vessel carried between windows. Time:
each window partition is read once by the pass over windows (kept while the next windows need
it), plus the re-runs' reads filtered by MMSI.
"""

from __future__ import annotations

import inspect
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

from stsdetect.events import EVENT_COLUMNS, concat_events, empty_events
from stsdetect.geo import EARTH_RADIUS_M, arc_to_chord_m, duration_s, epoch_s, unit_xyz

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

#: Detectors that run per window: name -> (module, function, event type, scope).
#: ``scope`` "own": an event depends on its own vessels only; "heard": also on the vessels
#: heard within ``radius_m`` of its position during it.
_DETECTORS = {
    "rendezvous": ("stsdetect.detectors.rendezvous", "find_rendezvous", "rendezvous", "own"),
    "dark_period": ("stsdetect.detectors.dark", "find_dark_periods", "dark_period", "heard"),
    "loitering": ("stsdetect.detectors.loitering", "find_loitering", "loitering", "own"),
}
#: Names accepted in ``only`` (the pipeline's names, with their aliases).
_ONLY_ALIASES = {
    "rendezvous": "rendezvous",
    "dark": "dark_period",
    "dark_period": "dark_period",
    "dark_periods": "dark_period",
    "dark_rendezvous": "dark_rendezvous",
    "loitering": "loitering",
}
_ALL = ("rendezvous", "dark_period", "dark_rendezvous", "loitering")
_POSITION_DIR = "positions"
_SEQ = "_seq"
_NO_OTHER = -1


def _function(module: str, name: str):
    import importlib

    return getattr(importlib.import_module(module), name)


def _defaults(func) -> dict:
    return {k: p.default for k, p in inspect.signature(func).parameters.items()
            if p.default is not inspect.Parameter.empty}


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
        Per detector name: how far beyond an event's span data can change it (seconds),
        cleaning included.
    detectors : tuple of str
        Detectors run per window (names of ``_DETECTORS``).
    dark_rendezvous : bool
        Whether dark rendezvous are derived from the merged dark periods.
    emit : tuple of str
        Event types to return (dark periods may run only to find dark rendezvous).
    params : dict
        Per stage (``"tracks"``, detector names, ``"dark_rendezvous"``): keyword arguments.
    """

    window_s: float
    margin_s: float
    context_s: dict
    detectors: tuple
    dark_rendezvous: bool
    params: dict = field(default_factory=dict)
    emit: tuple = _ALL

    def core(self, k):
        """Start and end (seconds) of window ``k``'s core."""
        return k * self.window_s, (k + 1) * self.window_s

    def loaded(self, k):
        """Start and end (seconds) of the positions window ``k`` loads."""
        a, b = self.core(k)
        return a - self.margin_s, b + self.margin_s


def _route(params: dict, detectors: tuple, dark_rv: bool) -> dict:
    """Keyword arguments per stage, named as :func:`stsdetect.pipeline.detect` names them."""
    from stsdetect.pipeline import PARAMETERS

    unknown = sorted(set(params) - set(PARAMETERS))
    if unknown:
        raise ValueError(f"unknown parameter(s) {unknown}; known (as for stsdetect.detect): "
                         f"{sorted(PARAMETERS)}")
    routed: dict = {s: {} for s in ("read", "tracks", *detectors, "dark_rendezvous", "flags")}
    for key, value in params.items():
        stage, name = PARAMETERS[key]
        routed.setdefault(stage, {})[name] = value
    return routed


def make_plan(window=DEFAULT_WINDOW, only=None, track_context=DEFAULT_TRACK_CONTEXT,
              **params) -> WindowPlan:
    """Route detection parameters to the stages and derive the margins.

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
    **params
        Stage parameters named as for :func:`stsdetect.pipeline.detect` (its ``PARAMETERS``:
        ``min_gap``, ``max_distance_m``, ``loiter_min_duration`` ...); every default is the
        stage function's own.

    Returns
    -------
    WindowPlan

    Raises
    ------
    ValueError
        For an unknown detector name, a parameter no stage takes, or a window that is not a
        whole number of seconds.
    """
    window_s = duration_s(window)
    if window_s <= 0 or window_s != round(window_s):
        raise ValueError(f"window must be a positive whole number of seconds, got {window!r}")
    wanted = _ALL if only is None else tuple(only)
    names = set()
    for name in wanted:
        if name not in _ONLY_ALIASES:
            raise ValueError(f"unknown detector {name!r}; expected some of {sorted(_ONLY_ALIASES)}")
        names.add(_ONLY_ALIASES[name])
    dark_rv = "dark_rendezvous" in names
    emit = tuple(sorted(names))
    # As in stsdetect.pipeline.detect: dark periods always run, for the dark_before /
    # dark_after flags of the other events.
    names.add("dark_period")
    detectors = tuple(d for d in _DETECTORS if d in names)
    routed = _route(params, detectors, dark_rv)
    # The reception coverage of dark periods is learned from the whole dump at once
    # (stsdetect.detectors.coverage); this driver does not carry it across windows yet, so its
    # dark periods are judged by the heard count alone, as detect(coverage=False) does (and
    # dark rendezvous then need no coverage).
    given = sorted(k for k in routed["dark_period"]
                   if k in ("satellite_sources", "reception", "coverage_cell_deg")
                   or (k == "coverage" and routed["dark_period"][k]))
    if given:
        raise ValueError(f"coverage parameters {given} need the whole dump in memory: the "
                         "windowed and Dask drivers do not compute coverage")
    routed["dark_period"]["coverage"] = False
    track_s = duration_s(track_context)
    context, reach = {}, {}
    for d in detectors:
        eff = {**_defaults(_function(*_DETECTORS[d][:2])), **routed[d]}
        step = duration_s(eff["step"]) if "step" in eff else 0.0
        ctx = step + (duration_s(eff["max_gap"]) if "max_gap" in eff else 0.0)
        if "tolerance" in eff:
            ctx += duration_s(eff["tolerance"])
        if eff.get("heard_bin"):
            ctx += duration_s(eff["heard_bin"])
        context[d] = ctx + track_s
        reach[d] = (duration_s(eff["min_duration"]) + step) if "min_duration" in eff else 0.0
    margin = max([context[d] + reach[d] for d in detectors] + [track_s])
    margin = math.ceil(margin / 60.0 + 1) * 60.0  # whole minutes, strictly more than needed
    if margin > 8 * window_s:
        raise ValueError(f"window {window!r} is short for detectors needing {margin:.0f} s of "
                         "margin: use a window of at least a quarter of the margin")
    return WindowPlan(window_s=float(window_s), margin_s=margin, context_s=context,
                      detectors=detectors, dark_rendezvous=dark_rv, params=routed,
                      emit=emit)


# ------------------------------------------------------------------------------------------
# Spill: positions -> Parquet partitioned by window
# ------------------------------------------------------------------------------------------

def _window_dir(workdir: Path, k: int) -> Path:
    return Path(workdir) / _POSITION_DIR / f"w={int(k)}"


def spill_positions(positions: pd.DataFrame, workdir, window_s: float, part: str,
                    seq_start: int = 0) -> dict:
    """Write a positions table to ``workdir`` as Parquet files, one per window it touches.

    Parameters
    ----------
    positions : pandas.DataFrame
        A positions table (see :func:`stsdetect.read_ais`).
    workdir : path
        Spill folder; files go to ``workdir/positions/w=<k>/<part>.parquet``.
    window_s : float
        Window length in seconds.
    part : str
        Name of this piece (unique per file and chunk, sorting in input order).
    seq_start : int, default 0
        Sequence number of the first row; rows keep their input order through the spill.

    Returns
    -------
    dict
        ``rows`` written, ``no_time`` rows skipped (no time: they could belong to no window,
        and the cleaning drops them anyway), ``windows`` (sorted window numbers written),
        ``t_min``/``t_max`` (seconds, NaN when nothing was written), ``class_b`` (MMSIs
        seen in type 18/19 reports, for the barge rules of the flags) and ``mmsis`` (distinct
        MMSIs with a time).
    """
    import pyarrow as pa
    import pyarrow.parquet as pq

    if "time" not in positions.columns:
        raise ValueError("positions need a 'time' column (datetime64, UTC)")
    t = epoch_s(positions["time"])
    ok = np.isfinite(t)
    frame = positions.reset_index(drop=True)
    frame[_SEQ] = np.arange(seq_start, seq_start + len(frame), dtype=np.int64)
    win = np.floor(t / window_s)
    rows = np.flatnonzero(ok)
    rows = rows[np.argsort(win[rows], kind="stable")]
    wins, first = np.unique(win[rows], return_index=True)
    bounds = np.append(first, rows.size)
    for i, k in enumerate(wins):  # loop over the windows this piece touches
        piece = frame.iloc[rows[bounds[i]:bounds[i + 1]]]
        folder = _window_dir(workdir, int(k))
        folder.mkdir(parents=True, exist_ok=True)
        table = pa.Table.from_pandas(piece, preserve_index=False)
        # Write then rename: a retried or duplicated task replaces its piece whole.
        tmp = folder / f".{part}.{uuid.uuid4().hex}.tmp"
        pq.write_table(table, tmp)
        os.replace(tmp, folder / f"{part}.parquet")
    class_b = np.zeros(0, np.int64)
    if "msg_type" in frame.columns:
        is_b = frame["msg_type"].isin([18, 19]).to_numpy(bool)
        class_b = np.unique(frame["mmsi"].to_numpy(np.int64)[is_b])
    return {
        "rows": int(rows.size),
        "no_time": int((~ok).sum()),
        "class_b": class_b,
        "mmsis": np.unique(frame["mmsi"].to_numpy(np.int64)[ok]),
        "windows": wins.astype(np.int64),
        "t_min": float(t[ok].min()) if rows.size else np.nan,
        "t_max": float(t[ok].max()) if rows.size else np.nan,
    }


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
                 chunk_bytes: int = DEFAULT_SPILL_CHUNK_BYTES) -> dict:
    """Decode one dump with :func:`stsdetect.read_ais` and spill its positions.

    Parameters
    ----------
    index : int
        Position of the dump in the input list (orders rows and names the Parquet pieces).
    source : path or pandas.DataFrame
        The dump, or an already decoded positions table (in memory, or a ``.parquet`` file
        of one, e.g. ``read_ais(...).positions.to_parquet(...)``).
    workdir : path
        Spill folder (see :func:`spill_positions`).
    window_s : float
        Window length in seconds.
    read_kwargs : dict, optional
        Extra arguments of :func:`stsdetect.read_ais`.
    chunk_bytes : int, default :data:`DEFAULT_SPILL_CHUNK_BYTES`
        An NMEA dump larger than this is decoded in pieces (:func:`nmea_pieces`).

    Returns
    -------
    dict
        :func:`spill_positions`'s counts plus ``vessels`` (the dump's vessels table) and
        ``report`` (its decode report).
    """
    pieces = None
    if isinstance(source, pd.DataFrame):  # an already decoded positions table
        pieces = [(source, None, None)]
    elif str(source).lower().endswith((".parquet", ".pq")):  # a positions table saved
        pieces = [(pd.read_parquet(source), None, None)]
    else:
        from stsdetect import read_ais

        kwargs = dict(read_kwargs or {})
        path = Path(source) if isinstance(source, (str, os.PathLike)) else None
        if (path is not None and path.is_file() and path.stat().st_size > chunk_bytes
                and kwargs.get("format", "auto") in ("auto", "nmea") and _is_nmea(path)):
            pieces = (_decoded(read_ais(io.BytesIO(piece), **kwargs))
                      for piece in nmea_pieces(path, chunk_bytes))
        else:
            pieces = [_decoded(read_ais(source, **kwargs))]
    out = {"rows": 0, "no_time": 0, "windows": [], "t_min": np.nan, "t_max": np.nan,
           "class_b": [], "mmsis": []}
    vessels, reports = [], []
    seq = int(index) << 40
    for j, (positions, ves, rep) in enumerate(pieces):  # loop over pieces of the dump
        got = spill_positions(positions, workdir, window_s, part=f"f{index:06d}-{j:06d}",
                              seq_start=seq)
        seq += len(positions)
        for key in ("rows", "no_time"):
            out[key] += got[key]
        for key in ("windows", "class_b", "mmsis"):
            out[key].append(got[key])
        out["t_min"] = np.fmin(out["t_min"], got["t_min"])
        out["t_max"] = np.fmax(out["t_max"], got["t_max"])
        vessels.append(ves)
        reports.append(rep)
    for key in ("windows", "class_b", "mmsis"):
        out[key] = np.unique(np.concatenate([np.zeros(0, np.int64), *out[key]]))
    out["vessels"] = merge_vessels(vessels) if len(vessels) > 1 else vessels[0]
    out["report"] = merge_reports(reports)
    out["index"] = index
    return out


def _decoded(data):
    return data.positions, data.vessels, data.report


def _partition_files(workdir, k) -> list:
    folder = _window_dir(workdir, k)
    return sorted(folder.glob("*.parquet")) if folder.is_dir() else []


def _read_partition(workdir, k, mmsi=None, columns=None) -> pd.DataFrame | None:
    import pyarrow as pa
    import pyarrow.parquet as pq

    files = _partition_files(workdir, k)
    if not files:
        return None
    filters = None if mmsi is None else [("mmsi", "in", [int(m) for m in np.unique(mmsi)])]
    tables = [pq.read_table(f, filters=filters, columns=columns) for f in files]
    return pa.concat_tables(tables, promote_options="default").to_pandas()


class PartitionCache:
    """The last few window partitions read, whole (least recently used dropped first).

    Parameters
    ----------
    workdir : path
        Spill folder.
    max_windows : int
        Most partitions held.
    """

    def __init__(self, workdir, max_windows: int):
        from collections import OrderedDict

        self.workdir = workdir
        self.max_windows = max(int(max_windows), 1)
        self._parts: OrderedDict = OrderedDict()

    def get(self, k: int):
        """Window ``k``'s partition (None when it has no data)."""
        if k in self._parts:
            self._parts.move_to_end(k)
            return self._parts[k]
        part = _read_partition(self.workdir, k)
        self._parts[k] = part
        while len(self._parts) > self.max_windows:
            self._parts.popitem(last=False)
        return part

    def clear(self) -> None:
        """Drop every partition."""
        self._parts.clear()


def load_positions(workdir, plan: WindowPlan, lo_s: float, hi_s: float, mmsi=None,
                   cache: PartitionCache | None = None) -> pd.DataFrame:
    """Positions with time in ``[lo_s, hi_s)`` from the spill, in input order.

    Parameters
    ----------
    workdir : path
        Spill folder.
    plan : WindowPlan
        For the window length.
    lo_s, hi_s : float
        Time range, seconds since the Unix epoch.
    mmsi : array_like of int, optional
        Only these vessels (read with a Parquet filter, or filtered from the cache).
    cache : PartitionCache, optional
        Whole partitions kept between calls (the sequential run); without it each call reads
        what it needs.

    Returns
    -------
    pandas.DataFrame
        The positions table (same columns as spilled, without the sequence column).
    """
    k0 = math.floor(lo_s / plan.window_s)
    k1 = math.floor(hi_s / plan.window_s)
    parts = []
    for k in range(k0, k1 + 1):  # loop over the windows the range touches
        if cache is not None:
            part = cache.get(k)
            if part is not None and mmsi is not None:
                part = part.loc[part["mmsi"].isin(np.asarray(mmsi, np.int64))]
        else:
            part = _read_partition(workdir, k, mmsi=mmsi)
        if part is not None and len(part):
            parts.append(part)
    if not parts:
        return pd.DataFrame()
    frame = pd.concat(parts, ignore_index=True)
    t = epoch_s(frame["time"])
    frame = frame.loc[(t >= lo_s) & (t < hi_s)]
    frame = frame.sort_values(_SEQ, kind="stable").drop(columns=_SEQ)
    return frame.reset_index(drop=True)


# ------------------------------------------------------------------------------------------
# One window
# ------------------------------------------------------------------------------------------

def _tracks(positions: pd.DataFrame, plan: WindowPlan):
    from stsdetect.tracks import Tracks, build_tracks

    if not len(positions):
        return Tracks.empty()
    return build_tracks(positions, **plan.params.get("tracks", {}))


def _run(name: str, tracks, plan: WindowPlan) -> pd.DataFrame:
    if len(tracks) == 0:
        return empty_events()
    return _function(*_DETECTORS[name][:2])(tracks, **plan.params.get(name, {}))


def _closed(events: pd.DataFrame, context_s: float, lo_s: float, hi_s: float,
            extent: tuple) -> np.ndarray:
    """Which events are provably unaffected by the loaded range's edges."""
    s, e = epoch_s(events["start"]), epoch_s(events["end"])
    ok_lo = (s - context_s >= lo_s) | (lo_s <= extent[0])
    ok_hi = (e + context_s < hi_s) | (hi_s > extent[1])
    return ok_lo & ok_hi


def _entries(events: pd.DataFrame, name: str) -> pd.DataFrame:
    """Open events -> open entries (detector, vessels, span, position)."""
    return pd.DataFrame({
        "detector": pd.Series([name] * len(events), dtype=object),
        "mmsi": events["mmsi"].to_numpy(np.int64),
        "other": events["other_mmsi"].astype("Int64").fillna(_NO_OTHER).to_numpy(np.int64),
        "s": epoch_s(events["start"]),
        "e": epoch_s(events["end"]),
        "lat": events["lat"].to_numpy(float),
        "lon": events["lon"].to_numpy(float),
    })


_ENTRY_COLUMNS = ("detector", "mmsi", "other", "s", "e", "lat", "lon")


def _no_entries() -> pd.DataFrame:
    return pd.DataFrame({c: pd.Series(dtype=object if c == "detector" else
                                      (np.int64 if c in ("mmsi", "other") else float))
                         for c in _ENTRY_COLUMNS})


def _core_ends(tracks, a_s: float, b_s: float, k: int) -> pd.DataFrame:
    """First and last cleaned report of each vessel inside a window's core."""
    rows = np.flatnonzero((tracks.time_s >= a_s) & (tracks.time_s < b_s))
    rows = rows[np.lexsort((tracks.time_s[rows], tracks.mmsi[rows]))]
    m = tracks.mmsi[rows]
    if rows.size == 0:
        first = last = rows
    else:
        cut = np.flatnonzero(np.diff(m)) + 1
        first = rows[np.r_[0, cut]]
        last = rows[np.r_[cut - 1, rows.size - 1]]
    return pd.DataFrame({
        "mmsi": tracks.mmsi[first], "window": np.full(first.size, k, np.int64),
        "t_first": tracks.time_s[first], "t_last": tracks.time_s[last],
        "lat_last": tracks.lat_deg[last], "lon_last": tracks.lon_deg[last],
    })


def _pair_run_edges(tracks, plan: WindowPlan, lo: float, hi: float, extent: tuple):
    """Open entries for every close pair run touching an edge of the loaded range.

    The rendezvous detector keeps a run only if each vessel's *median* speed over the whole
    run is low: a cut run may fail that test while the whole passes it, so open runs are
    taken from :func:`~stsdetect.detectors.rendezvous.find_pair_runs` (no speed test, no least
    duration) on the two edge zones of the window, ``2 C`` long, where the grid is exact.
    """
    find_pair_runs = _function("stsdetect.detectors.rendezvous", "find_pair_runs")
    params = {k: v for k, v in plan.params.get("rendezvous", {}).items()
              if k in inspect.signature(find_pair_runs).parameters}
    params["min_duration"] = 0
    ctx = plan.context_s["rendezvous"]
    zone = 2.0 * ctx
    t = tracks.time_s
    rows = np.zeros(len(tracks), dtype=bool)
    if lo > extent[0]:
        rows |= t < lo + zone
    if hi <= extent[1]:
        rows |= t >= hi - zone
    if not rows.any():
        return _no_entries()
    runs = find_pair_runs(tracks.take(rows), **params)
    runs = runs.loc[((runs["start_s"] - ctx < lo) & (lo > extent[0]))
                    | ((runs["end_s"] + ctx >= hi) & (hi <= extent[1]))]
    return pd.DataFrame({
        "detector": pd.Series(["rendezvous"] * len(runs), dtype=object),
        "mmsi": runs["mmsi"].to_numpy(np.int64),
        "other": runs["other_mmsi"].astype("Int64").fillna(_NO_OTHER).to_numpy(np.int64),
        "s": runs["start_s"].to_numpy(float), "e": runs["end_s"].to_numpy(float),
        "lat": runs["lat"].to_numpy(float), "lon": runs["lon"].to_numpy(float),
    })


def _flag_candidates(tracks, tugs) -> pd.DataFrame:
    """Vessels whose flags need their whole track: split MMSIs and (tug, vessel) close pairs.

    ``two_places_at_once`` needs an MMSI's segment count and the barge tow check needs the
    runs of a tug with another vessel, both under way (:func:`stsdetect.identity.find_tows`),
    over all the data. A window lists every MMSI it split and every pair of a moving tug with
    a moving vessel within the tow distance at one of its grid times (no least duration and no
    median-speed test: a cut run may fail them); :func:`finish_events` then builds whole
    tracks for just those of them that take part in an event.
    """
    seg_mmsi, n_seg = np.unique(tracks.segment_mmsi, return_counts=True)
    split = seg_mmsi[n_seg > 1]
    parts = [pd.DataFrame({"mmsi": split, "partner": np.full(split.size, _NO_OTHER, np.int64)})]
    tugs = np.zeros(0, np.int64) if tugs is None else np.asarray(tugs, np.int64)
    if tugs.size and len(tracks):
        find_tows = _function("stsdetect.identity", "find_tows")
        eff = _defaults(find_tows)
        moving = np.isfinite(tracks.sog_kn) & (tracks.sog_kn > float(eff["min_sog_kn"]))
        if np.isin(tracks.mmsi[moving], tugs).any():
            find_pair_runs = _function("stsdetect.detectors.rendezvous", "find_pair_runs")
            runs = find_pair_runs(tracks.take(moving), max_distance_m=eff["max_distance_m"],
                                  min_duration=0, step=eff["step"])
            a = runs["mmsi"].to_numpy(np.int64)
            b = runs["other_mmsi"].astype("Int64").fillna(_NO_OTHER).to_numpy(np.int64)
            one = np.isin(a, tugs) ^ np.isin(b, tugs)
            parts.append(pd.DataFrame({"mmsi": a[one], "partner": b[one]}))
    return pd.concat(parts, ignore_index=True).drop_duplicates(ignore_index=True)


def detect_window(workdir, plan: WindowPlan, k: int, extent: tuple,
                  cache: PartitionCache | None = None, tugs=None) -> dict:
    """Run the stages on window ``k`` (with its margins) and sort the events.

    Parameters
    ----------
    workdir : path
        Spill folder.
    plan : WindowPlan
        Parameters and margins.
    k : int
        Window number.
    extent : tuple of float
        First and last report time of the whole data set (seconds).
    cache : PartitionCache, optional
        Partition cache for :func:`load_positions`.
    tugs : array_like of int, optional
        MMSIs of tugs (from the merged vessels table), for the tow check of the flags.

    Returns
    -------
    dict
        ``events`` (closed events starting in the core: final), ``open`` (open entries),
        ``ends`` (first/last cleaned report per vessel in the core), ``flag_candidates``
        (see ``_flag_candidates``) and ``rows`` (positions loaded).
    """
    a, b = plan.core(k)
    lo, hi = plan.loaded(k)
    positions = load_positions(workdir, plan, lo, hi, cache=cache)
    tracks = _tracks(positions, plan)
    kept, opened = [], [_no_entries()]
    for name in plan.detectors:
        if name == "rendezvous":
            opened.append(_pair_run_edges(tracks, plan, lo, hi, extent))
        ev = _run(name, tracks, plan)
        if not len(ev):
            continue
        closed = _closed(ev, plan.context_s[name], lo, hi, extent)
        s = epoch_s(ev["start"])
        own = closed & (s >= a) & (s < b)
        kept.append(ev.loc[own])
        opened.append(_entries(ev.loc[~closed], name))
    return {
        "window": k,
        "events": concat_events(kept),
        "open": pd.concat(opened, ignore_index=True),
        "ends": _core_ends(tracks, a, b, k),
        "flag_candidates": _flag_candidates(tracks, tugs),
        "rows": len(positions),
    }


# ------------------------------------------------------------------------------------------
# Open events: join and re-run on their vessels
# ------------------------------------------------------------------------------------------

def dark_candidates(ends: pd.DataFrame, plan: WindowPlan) -> pd.DataFrame:
    """Silences between windows that no single window could close, as open entries.

    Parameters
    ----------
    ends : pandas.DataFrame
        Concatenated ``ends`` of every window (see :func:`detect_window`).
    plan : WindowPlan
        Parameters and margins.

    Returns
    -------
    pandas.DataFrame
        Open entries for the ``dark_period`` detector.
    """
    if "dark_period" not in plan.detectors or not len(ends):
        return _no_entries()
    eff = {**_defaults(_function(*_DETECTORS["dark_period"][:2])),
           **plan.params.get("dark_period", {})}
    gap_s = duration_s(eff["min_gap"])
    ends = ends.sort_values(["mmsi", "window"], kind="stable")
    m = ends["mmsi"].to_numpy(np.int64)
    w = ends["window"].to_numpy(np.int64)
    t0 = ends["t_last"].to_numpy(float)[:-1]
    t1 = ends["t_first"].to_numpy(float)[1:]
    same = m[1:] == m[:-1]
    hi = (w[:-1] + 1) * plan.window_s + plan.margin_s
    cand = same & (t1 - t0 > gap_s) & (t1 + plan.context_s["dark_period"] >= hi)
    i = np.flatnonzero(cand)
    return pd.DataFrame({
        "detector": pd.Series(["dark_period"] * i.size, dtype=object),
        "mmsi": m[i], "other": np.full(i.size, _NO_OTHER, np.int64),
        "s": t0[i], "e": t1[i],
        "lat": ends["lat_last"].to_numpy(float)[i], "lon": ends["lon_last"].to_numpy(float)[i],
    })


def _group(entries: pd.DataFrame, join_s: float) -> pd.DataFrame:
    """Join entries of one detector and vessel pair whose spans overlap (within ``join_s``)."""
    e = entries.sort_values(["detector", "mmsi", "other", "s"], kind="stable")
    e = e.reset_index(drop=True)
    key = e["detector"].astype(str) + ":" + e["mmsi"].astype(str) + ":" + e["other"].astype(str)
    reach = e.groupby(key, sort=False)["e"].cummax()
    prev_reach = reach.groupby(key, sort=False).shift(1)
    new = prev_reach.isna() | (e["s"] > prev_reach + join_s)
    e["group"] = np.cumsum(new.to_numpy()) - 1
    return e


def _heard_vessels(workdir, plan: WindowPlan, lat, lon, s, e, radius_m: float,
                   cache: PartitionCache | None = None) -> np.ndarray:
    """MMSIs with a report within ``radius_m`` of a point during its span (a superset)."""
    xyz = unit_xyz(lat, lon)
    chord = arc_to_chord_m(radius_m) / EARTH_RADIUS_M * (1 + 1e-6)
    from scipy.spatial import cKDTree

    tree = cKDTree(xyz)
    found = []
    k0, k1 = math.floor(np.min(s) / plan.window_s), math.floor(np.max(e) / plan.window_s)
    for k in range(k0, k1 + 1):  # loop over window partitions, one in memory at a time
        part = (cache.get(k) if cache is not None else
                _read_partition(workdir, k, columns=["mmsi", "time", "lat", "lon"]))
        if part is None or not len(part):
            continue
        t = epoch_s(part["time"])
        ok = (t >= np.min(s)) & (t <= np.max(e)) & np.isfinite(part["lat"].to_numpy(float))
        ok &= np.isfinite(part["lon"].to_numpy(float))
        part, t = part.loc[ok], t[ok]
        if not len(part):
            continue
        pairs = tree.sparse_distance_matrix(
            cKDTree(unit_xyz(part["lat"].to_numpy(float), part["lon"].to_numpy(float))),
            chord, output_type="ndarray")
        if pairs.size == 0:
            continue
        qi, ri = pairs["i"], pairs["j"]
        keep = (t[ri] >= s[qi]) & (t[ri] <= e[qi])
        found.append(np.unique(part["mmsi"].to_numpy(np.int64)[ri[keep]]))
    return np.unique(np.concatenate(found)) if found else np.zeros(0, np.int64)


def resolve_batch(workdir, plan: WindowPlan, name: str, batch: pd.DataFrame,
                  extent: tuple, cache: PartitionCache | None = None,
                  ) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Re-run one detector on the vessels of a batch of grouped open entries.

    Parameters
    ----------
    workdir : path
        Spill folder.
    plan : WindowPlan
        Parameters and margins.
    name : str
        Detector name.
    batch : pandas.DataFrame
        Grouped entries (see ``_group``) of this detector.
    extent : tuple of float
        First and last report time of the whole data set (seconds).
    cache : PartitionCache, optional
        Partition cache (sequential runs).

    Returns
    -------
    events : pandas.DataFrame
        Closed events matching the entries (final).
    still_open : pandas.DataFrame
        Entries to try again over a longer span.
    """
    m = plan.margin_s
    ctx = plan.context_s[name]
    g = batch.groupby("group", sort=True)
    gs = pd.DataFrame({"mmsi": g["mmsi"].first(), "other": g["other"].first(),
                       "S": g["s"].min(), "E": g["e"].max()})
    lo, hi = float(gs["S"].min() - m), float(gs["E"].max() + m)
    vessels = np.unique(np.r_[gs["mmsi"].to_numpy(), gs["other"].to_numpy()])
    vessels = vessels[vessels != _NO_OTHER]
    points = None
    eff = {**_defaults(_function(*_DETECTORS[name][:2])), **plan.params.get(name, {})}
    # radius_m=None switches the heard-nearby test off: then there is nothing to scan for.
    if _DETECTORS[name][3] == "heard" and eff.get("radius_m") is not None:
        # Scan around each entry's point over the whole batch range: heard vessels are
        # then complete for any event of these vessels starting at one of these points.
        points = batch[["lat", "lon"]].drop_duplicates().to_numpy(float)
        n = len(points)
        heard = _heard_vessels(workdir, plan, points[:, 0], points[:, 1], np.full(n, lo),
                               np.full(n, hi), float(eff["radius_m"]), cache=cache)
        vessels = np.union1d(vessels, heard)
    positions = load_positions(workdir, plan, lo, hi, mmsi=vessels, cache=cache)
    ev = _run(name, _tracks(positions, plan), plan)
    if not len(ev):
        return empty_events(), _no_entries()
    # Match events to groups: same vessels, span overlapping the group's (within context).
    ev = ev.reset_index(drop=True)
    ev_other = ev["other_mmsi"].astype("Int64").fillna(_NO_OTHER).to_numpy(np.int64)
    ev_s, ev_e = epoch_s(ev["start"]), epoch_s(ev["end"])
    cand = pd.DataFrame({"ev": np.arange(len(ev)), "mmsi": ev["mmsi"].to_numpy(np.int64),
                         "other": ev_other})
    gtab = gs.reset_index()
    joined = cand.merge(gtab, on=["mmsi", "other"], how="inner")
    ei = joined["ev"].to_numpy()
    overlap = (ev_s[ei] <= joined["E"].to_numpy() + ctx) & (ev_e[ei] >= joined["S"].to_numpy()
                                                             - ctx)
    joined = joined.loc[overlap]
    ei = joined["ev"].to_numpy()
    closed = _closed(ev, ctx, lo, hi, extent)
    good = closed[ei]
    if points is not None:
        # A dark period's heard vessels are complete only around a scanned point.
        scanned = pd.MultiIndex.from_arrays([np.round(points[:, 0], 9),
                                             np.round(points[:, 1], 9)])
        at_point = pd.MultiIndex.from_arrays([
            np.round(ev["lat"].to_numpy(float)[ei], 9),
            np.round(ev["lon"].to_numpy(float)[ei], 9)]).isin(scanned)
        good &= at_point
    final = ev.iloc[np.unique(ei[good])]
    redo = joined.loc[~good]
    r = redo["ev"].to_numpy()
    # Still cut by an edge: widen that side by a whole window, so a long event takes few
    # rounds (the number of rounds grows with its length in windows, not in margins).
    cut_lo = ((ev_s[r] - ctx < lo) & (lo > extent[0])).astype(float)
    cut_hi = ((ev_e[r] + ctx >= hi) & (hi <= extent[1])).astype(float)
    still = pd.DataFrame({
        "detector": pd.Series([name] * len(redo), dtype=object),
        "mmsi": redo["mmsi"].to_numpy(np.int64), "other": redo["other"].to_numpy(np.int64),
        "s": np.minimum(redo["S"].to_numpy(), ev_s[r]) - cut_lo * plan.window_s,
        "e": np.maximum(redo["E"].to_numpy(), ev_e[r]) + cut_hi * plan.window_s,
        "lat": ev["lat"].to_numpy(float)[r], "lon": ev["lon"].to_numpy(float)[r],
    })
    return final.reset_index(drop=True), still


def plan_batches(entries: pd.DataFrame, plan: WindowPlan) -> list:
    """Group open entries and cut them into batches (one per detector and window)."""
    if not len(entries):
        return []
    grouped = _group(entries, plan.margin_s)
    start = grouped.groupby("group")["s"].transform("min")
    grouped["batch_window"] = np.floor(start.to_numpy(float) / plan.window_s).astype(np.int64)
    return [(name, batch) for (_, name), batch in
            grouped.groupby(["batch_window", "detector"], sort=True)]


def resolve_open(workdir, plan: WindowPlan, entries: pd.DataFrame, extent: tuple,
                 max_rounds: int = 10_000, stats: dict | None = None,
                 cache: PartitionCache | None = None) -> pd.DataFrame:
    """Resolve open entries by re-running detectors over growing spans until all are closed.

    Parameters
    ----------
    workdir, plan, extent
        As for :func:`resolve_batch`.
    entries : pandas.DataFrame
        Open entries of every window (and :func:`dark_candidates`).
    max_rounds : int, default 10_000
        Safety bound; every round strictly widens every span still open.
    stats : dict, optional
        Filled with ``rerun_rounds`` and ``rerun_batches``.
    cache : PartitionCache, optional
        Partition cache; batches run in window order, so it stays warm.

    Returns
    -------
    pandas.DataFrame
        The events found (may repeat events already kept by windows; deduplicate by
        ``event_id``).
    """
    found = []
    stats = {} if stats is None else stats
    stats.update(rerun_rounds=0, rerun_batches=0)
    for _ in range(max_rounds):  # rounds
        batches = plan_batches(entries, plan)
        if not batches:
            return concat_events(found)
        stats["rerun_rounds"] += 1
        stats["rerun_batches"] += len(batches)
        redo = [_no_entries()]
        for name, batch in batches:  # loop over detectors x windows
            ev, still = resolve_batch(workdir, plan, name, batch, extent, cache=cache)
            found.append(ev)
            redo.append(still)
        entries = pd.concat(redo, ignore_index=True)
    raise RuntimeError("open events did not close; this is a bug in stsdetect.scale")


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


def finish_events(window_events, rerun_events, plan: WindowPlan, vessels=None, regions=None,
                  watchlist=None, class_b=None, flag_candidates=None,
                  load_tracks=None) -> pd.DataFrame:
    """Deduplicate, derive dark rendezvous and flag the merged events.

    Parameters
    ----------
    window_events, rerun_events : list of pandas.DataFrame
        Events kept by windows, and found by re-runs.
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
    events = concat_events(list(window_events) + list(rerun_events))
    events = events.drop_duplicates("event_id", keep="first").reset_index(drop=True)
    dark = events.loc[events["event_type"] == "dark_period"].reset_index(drop=True)
    if plan.dark_rendezvous:
        func = _function("stsdetect.detectors.dark", "find_dark_rendezvous")
        events = concat_events([events, func(dark, **plan.params.get("dark_rendezvous", {}))])
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
    events = _flag(events, vessels, regions, watchlist, class_b, dark,
                   plan.params.get("flags", {}), tracks)
    return events[list(EVENT_COLUMNS)].reset_index(drop=True)


def _flag(events, vessels, regions, watchlist, class_b, dark, flag_params, tracks=None):
    from stsdetect.flags import flag_events

    ids = np.zeros(0, np.int64) if class_b is None else np.asarray(class_b, np.int64)
    b_positions = pd.DataFrame({"mmsi": ids, "msg_type": np.full(ids.size, 18, np.int8)})
    return flag_events(events, vessels=vessels, regions=regions, watchlist=watchlist,
                       dark_periods=dark, positions=b_positions, tracks=tracks, **flag_params)


def tugs_of(vessels) -> np.ndarray:
    """MMSIs whose static ship type says tug or towing (the tow check's towing vessels)."""
    if vessels is None or not len(vessels) or "ship_type" not in vessels:
        return np.zeros(0, np.int64)
    tug_types = _function("stsdetect.identity", "TUG_SHIP_TYPES")
    kind = pd.to_numeric(vessels["ship_type"], errors="coerce")
    return np.unique(vessels.loc[kind.isin(list(tug_types)).to_numpy(bool), "mmsi"]
                     .to_numpy(np.int64))


def whole_tracks(workdir, plan: WindowPlan, mmsi, windows) -> object:
    """Tracks of a few vessels over all the data, read from the spill by MMSI."""
    parts = [_read_partition(workdir, int(k), mmsi=mmsi) for k in windows]  # per window
    parts = [p for p in parts if p is not None and len(p)]
    if not parts:
        return _tracks(pd.DataFrame(), plan)
    frame = pd.concat(parts, ignore_index=True).sort_values(_SEQ, kind="stable")
    return _tracks(frame.drop(columns=_SEQ).reset_index(drop=True), plan)


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
        (events cut by a window edge or silences spanning windows), ``rerun_rounds`` and
        ``rerun_batches`` (re-runs of detectors on the vessels of open events).
    workdir : pathlib.Path or None
        The spill folder when kept, else None.
    """

    events: pd.DataFrame
    vessels: pd.DataFrame
    decode_report: object
    report: dict
    workdir: Path | None = None


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
    **params
        Stage parameters, named as for :func:`stsdetect.pipeline.detect`.

    Returns
    -------
    WindowedResult
    """
    from tqdm.auto import tqdm

    plan = make_plan(window, only=only, track_context=track_context, **params)
    files = _sources(sources)
    own_dir = workdir is None
    work = Path(tempfile.mkdtemp(prefix="stsdetect-")) if own_dir else Path(workdir)
    if not own_dir:
        if work.exists() and any(work.iterdir()):
            raise ValueError(f"workdir {work} is not empty; give an empty or new folder")
        work.mkdir(parents=True, exist_ok=True)
    try:
        read = {**plan.params.get("read", {}), **(read_kwargs or {})}
        spills = [spill_source(i, f, work, plan.window_s, read, chunk_bytes)
                  for i, f in enumerate(tqdm(files, desc="decode", disable=not progress))]
        result = _detect_spilled(work, plan, spills, progress, regions, watchlist, vessels)
    finally:
        if own_dir and not keep_workdir:
            shutil.rmtree(work, ignore_errors=True)
    result.workdir = work if (keep_workdir or not own_dir) else None
    return result


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


def _detect_spilled(work, plan, spills, progress, regions, watchlist,
                    vessels=None) -> WindowedResult:
    from tqdm.auto import tqdm

    extent = _extent(spills)
    span = math.ceil(plan.margin_s / plan.window_s)
    # The windows a window needs: itself and ``span`` on each side (three by default).
    cache = PartitionCache(work, 2 * span + 1)
    kept, opened, flagc = [], [_no_entries()], []
    if vessels is None:
        vessels = merge_vessels([s["vessels"] for s in spills])
    tugs = tugs_of(vessels)
    carry = None  # last cleaned report of every vessel so far: the open silences
    max_rows = 0
    windows = window_numbers(spills, span)
    for k in tqdm(windows, desc="windows", disable=not progress):  # loop over time windows
        out = detect_window(work, plan, int(k), extent, cache=cache, tugs=tugs)
        kept.append(out["events"])
        opened.append(out["open"])
        flagc.append(out["flag_candidates"])
        # Silences from a vessel's last report in earlier windows to its first in this one
        # (one row per vessel carried, not one per vessel and window).
        both = pd.concat([x for x in (carry, out["ends"]) if x is not None], ignore_index=True)
        opened.append(dark_candidates(both, plan))
        carry = both.sort_values(["mmsi", "window"], kind="stable").drop_duplicates(
            "mmsi", keep="last")
        max_rows = max(max_rows, out["rows"])
    entries = pd.concat(opened, ignore_index=True)
    stats: dict = {"rerun_rounds": 0, "rerun_batches": 0}
    reruns = ([resolve_open(work, plan, entries, extent, stats=stats, cache=cache)]
              if len(entries) else [])
    cache.clear()
    events = finish_events(
        kept, reruns, plan, vessels=vessels, regions=regions, watchlist=watchlist,
        class_b=class_b_ids(spills), flag_candidates=pd.concat(flagc, ignore_index=True)
        if flagc else None,
        load_tracks=lambda m: whole_tracks(work, plan, m, windows))
    report = {
        "rows_spilled": int(sum(s["rows"] for s in spills)),
        "rows_no_time": int(sum(s["no_time"] for s in spills)),
        "vessels_heard": vessels_heard(spills),
        "windows": len(windows),
        "max_rows_loaded": int(max_rows),
        "open_entries": len(entries),
        **stats,
    }
    return WindowedResult(events=events, vessels=vessels,
                          decode_report=merge_reports([s["report"] for s in spills]),
                          report=report)
