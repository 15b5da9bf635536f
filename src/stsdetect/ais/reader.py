"""``read_ais``: positions, vessels and a decode report from AIS dumps of any common layout."""

from __future__ import annotations

import _thread
import os
import queue
import re
import threading
import warnings
from collections import deque
from concurrent.futures import Future
from contextlib import contextmanager
from dataclasses import dataclass
from functools import partial
from typing import NamedTuple

import numpy as np
import pandas as pd

from ._frames import frame as _frame
from ._frames import utc_array as _utc_array
from .kernel import (
    COUNT_NAMES,
    N_SKIPS,
    NAT_NS,
    TEXT_SLOTS,
    Assembler,
    ChunkResult,
    Workspace,
    decode_chunk,
    outside,
    static_texts,
    take_names,
    time_ranges,
    touch_pages,
    whole_numbers,
)
from .plausible import DEFAULT_VALID_TIMES, drop_implausible_times, valid_time_range
from .report import DecodeReport
from .sources import open_sources
from .statics import _start_vessels, build_statics, build_vessels, vessels_from_columns

__all__ = ["FORMATS", "POSITION_COLUMNS", "AISData", "read_ais"]

#: Values accepted by ``read_ais(format=...)``.
FORMATS = ("auto", "nmea", "marinecadastre", "dma", "gfw_jsonl", "csv")

#: Columns of the positions table, in order.
POSITION_COLUMNS = ["mmsi", "time", "lat", "lon", "sog_kn", "cog_deg", "heading_deg",
                    "nav_status", "msg_type", "source", "file", "line"]

#: Default chunk size: 1 MiB (about 14 000 tag-blocked sentences). Chunks are decoded in
#: parallel, so working memory is about 3 chunks per worker plus the rows kept; large enough
#: that the per-chunk Python work (a few dict and array operations) is negligible.
DEFAULT_CHUNK_BYTES = 2**20

#: Most threads :func:`read_ais` decodes chunks on by default.
MAX_DEFAULT_WORKERS = 8


@dataclass
class AISData:
    """What :func:`read_ais` returns.

    Attributes
    ----------
    positions : pandas.DataFrame
        One row per position report, columns :data:`POSITION_COLUMNS`, in input order.
    vessels : pandas.DataFrame
        One row per MMSI seen in static messages (see
        :func:`stsdetect.ais.statics.build_vessels`).
    report : DecodeReport
        Counts of records read, messages decoded by type and records skipped by reason.
    statics : pandas.DataFrame
        The static history: one row per decoded static record (types 5, 19, 24; for decoded
        tables, one row per change of a vessel's static columns) in input order, columns
        :data:`stsdetect.ais.statics.STATICS_COLUMNS` (see
        :func:`stsdetect.ais.statics.build_statics`). ``vessels`` is its latest-per-MMSI
        summary. Defaults to an empty table.
    """

    positions: pd.DataFrame
    vessels: pd.DataFrame
    report: DecodeReport
    statics: pd.DataFrame = None

    def __post_init__(self):
        if self.statics is None:
            self.statics = build_statics(None)

    def __repr__(self) -> str:
        return (f"AISData({len(self.positions):,} positions, {len(self.vessels):,} vessels, "
                f"{self.report.lines:,} records read)")


# --------------------------------------------------------------------------- sources
def _sniff(head: bytes) -> str:
    # the first lines first (the head is 64 KiB: splitting it all cost 0.1 ms per file)
    cut = head.rfind(b"\n", 0, 4096) + 1 if len(head) > 4096 else len(head)
    return _sniff_lines(head[:cut].splitlines()) or _sniff_lines(
        head[cut:].splitlines()) or "nmea"


def _sniff_lines(lines: list) -> str | None:
    """The format the first line of ``lines`` that is not blank or a comment tells (None
    when there is none)."""
    for line in lines:
        text = line.strip().lstrip(b"\xef\xbb\xbf")
        if not text:
            continue
        if text.startswith(b"{") and b'"ssvid"' in text:
            return "gfw_jsonl"
        if text.startswith(b"MMSI,BaseDateTime"):
            return "marinecadastre"
        if text.startswith(b"# Timestamp,Type of mobile") or text.startswith(
                b"Timestamp,Type of mobile"):
            return "dma"
        if not text.startswith(b"#"):
            return "csv" if _CSV_HEADER.match(text) else "nmea"
    return None


#: A CSV header of another layout: no sentence characters, three or more names that start
#: with a letter (an NMEA line always has '!' or '$'; a data row starts with a number).
_CSV_HEADER = re.compile(rb'^(?:"?[A-Za-z_][^,!$\\]*"?\s*[,;\t]\s*){2,}"?[A-Za-z_][^,!$\\]*"?$')


# --------------------------------------------------------------------------- NMEA
#: Columns of decoded position rows as the reader collects them (``time`` as int64 ns,
#: ``source`` as codes into the reader's source names, ``line`` the 1-based line in its
#: file; each file's rows are a run, named at the end).
_ROW_DTYPES = {"mmsi": np.int64, "time": np.int64, "lat": np.float64, "lon": np.float64,
               "sog_kn": np.float64, "cog_deg": np.float64, "heading_deg": np.float64,
               "nav_status": np.int8, "msg_type": np.int8, "source": np.int32,
               "line": np.int64}
#: The same for static rows (``text``: rows of the kernel's text slots).
_STAT_DTYPES = {"line": np.int64, "time": np.int64, "source": np.int32, "mmsi": np.int64,
                "msg_type": np.int64, "imo": np.float64, "ship_type": np.float64,
                "length_m": np.float64, "beam_m": np.float64, "draught_m": np.float64}
#: Text fields of static rows: made strings chunk by chunk (:func:`_texts_of`).
_TEXT_FIELDS = ("name", "callsign", "destination")


class _Columns:
    """Rows appended block by block into one array per column, so that the finished
    columns need no join at the end.

    The columns are views into one allocation owned here (:func:`_block_columns`: NumPy
    asks for transparent huge pages on an allocation of 4 MB or more, so that writing the
    rows costs a fifth of the page-fault time of one allocation per column, each too small
    for huge pages). :meth:`reserve` sizes them for the rows expected (the reader estimates
    them from the file size after the first chunk); past that they grow 1.5 times into a
    fresh allocation. :meth:`columns` hands over the rows kept, views of the first rows of
    each column (the rest of the allocation, never written, takes no memory; columns made
    on another thread have all their pages written: when far more than the rows kept, the
    rows are copied into an allocation of their own).
    Appending happens while other threads decode the next chunks. Memory: the rows kept, up
    to 1.5 times (while growing: 2.5 times) that.
    """

    def __init__(self, dtypes: dict = _ROW_DTYPES):
        self.dtypes = dtypes
        self.n_rows = 0
        self._cap = 0
        self._written = 0  # rows whose pages were all written ahead (_fresh_columns)
        self._cols = _block_columns(dtypes, 0)
        self._coming = None  # (rows, future of their columns) from reserve(run=...)

    def reserve(self, n: int, run=None) -> None:
        """Make room for ``n`` rows in all (no-op when there is room already).

        ``run``: like a pool's ``submit``. The columns are then made, and their pages
        written once, on another thread (:func:`_fresh_columns`), while rows go on being
        appended here
        to the columns there are; the first :meth:`append` after they are ready copies
        the rows so far into them. Writing fresh pages costs about 1 ms per 4 MB in page
        faults, which the calling thread would otherwise pay chunk by chunk as it
        appends, the last chunks after every decoding thread is done.
        """
        if n <= self._cap:
            return
        if run is not None:
            self._coming = (n, run(_fresh_columns, self.dtypes, n))
            return
        at = self.n_rows
        grown = _block_columns(self.dtypes, n)
        for k, a in self._cols.items():
            grown[k][:at] = a[:at]
        self._cols, self._cap, self._written = grown, n, 0

    def append(self, cols: dict) -> None:
        """Append rows (a dict of equal-length arrays with the keys of ``dtypes``)."""
        n = len(cols["mmsi"])
        if not n:
            return
        at = self.n_rows
        if self._coming is not None and self._coming[1].done():
            self._adopt()
        if at + n > self._cap:
            self.reserve(max(at + n, self._cap + self._cap // 2, 1024))
        for k, a in self._cols.items():
            a[at:at + n] = cols[k]
        self.n_rows = at + n

    def _adopt(self) -> None:
        """Move the rows so far into the columns made on the pool (when they are larger)."""
        (n, future), self._coming = self._coming, None
        fresh = future.result()
        if n <= self._cap:
            return
        at = self.n_rows
        for k, a in self._cols.items():
            fresh[k][:at] = a[:at]
        self._cols, self._cap, self._written = fresh, n, n

    def columns(self) -> dict | None:
        """The rows collected, as one array per column (None when there are none); the
        store is empty afterwards."""
        cols, n, written = self._cols, self.n_rows, self._written
        self.__init__(self.dtypes)
        if not n:
            return None
        if written > n + n // 8 + 1024:  # memory written for many more rows than came: freed
            kept = _block_columns(self.dtypes, n)
            for k, a in cols.items():
                kept[k][:] = a[:n]
            return kept
        return {k: a[:n] for k, a in cols.items()}


def _block_columns(dtypes: dict, n: int, touch: bool = False) -> dict:
    """Arrays of ``n`` rows of ``dtypes``, views into one fresh allocation, one after
    another (each a multiple of 64 bytes from the first); with ``touch``, each of its pages
    written once (compiled, the GIL released)."""
    sizes = [-(-n * np.dtype(d).itemsize // 64) * 64 for d in dtypes.values()]
    block = np.empty(sum(sizes), np.uint8)
    if touch:
        touch_pages(block)
    cols, at = {}, 0
    for (k, d), size in zip(dtypes.items(), sizes, strict=True):
        cols[k] = block[at:at + size].view(d)[:n]
        at += size
    return cols


def _fresh_columns(dtypes: dict, n: int) -> dict:
    """:func:`_block_columns` of ``n`` rows, each page written once."""
    return _block_columns(dtypes, n, touch=True)


def _merge(a: dict, b: dict, a_texts: dict | None = None, b_texts: dict | None = None):
    """Rows of ``a`` and ``b`` (each in record order) together in record order; with
    ``a_texts`` / ``b_texts`` (their text values per field, :func:`_texts_of`), also
    those texts merged: ``(rows, texts)``."""
    if not len(b["record"]) or not len(a["record"]):
        rows, texts = (a, a_texts) if len(a["record"]) else (b, b_texts)
        return rows if a_texts is None else (rows, texts)
    order = np.argsort(np.concatenate([a["record"], b["record"]]), kind="stable")
    rows = {k: np.concatenate([a[k], b[k]])[order] for k in a}
    if a_texts is None:
        return rows
    return rows, {f: _take_strings([a_texts[f], b_texts[f]], order) for f in a_texts}


def _drop_implausible(block: dict, statics: bool, valid_ns: tuple) -> tuple:
    """``block`` without its rows stamped outside ``valid_ns`` (contract C6), and the message
    types of the records they were counted as (by type, 28 counts): those move from decoded
    to the ``implausible_time`` skip reason, as
    :func:`~stsdetect.ais.plausible.drop_implausible_times` does (a static row of type 19
    was counted with its position)."""
    t = block["time"]
    lo, hi = valid_ns
    if not outside(t, lo, hi):  # (one compiled pass, no temporary arrays)
        return block, None
    bad = (t != NAT_NS) & ((t < lo) | (t > hi))
    types = block["msg_type"][bad].astype(np.int64)
    if statics:
        types = types[(types == 5) | (types == 24)]
    keep = ~bad
    return {k: v[keep] for k, v in block.items()}, np.bincount(types, minlength=28)


class _Prepared(NamedTuple):
    """A chunk's rows made ready on its decoding thread (:func:`_prepare`)."""

    pos: dict  # position rows (chunk record numbers), with ``line0``
    stat: dict  # static rows, the same
    texts: dict  # the static rows' text values per field (:func:`_texts_of`)
    dropped: np.ndarray | None  # records dropped for implausible times, by message type
    seen: tuple  # the position rows' vessels with their first and last times (time_ranges)
    names: object = None  # the position rows' source names (an Arrow array), when asked


def _prepare(res: ChunkResult, valid_ns: tuple, names: bool = False) -> _Prepared:
    """The per-chunk work that needs no earlier chunk, done on the thread that decoded it:
    implausible times dropped, each row's line counted from the chunk's first line
    (``line0``: its record number less the records before it not first on their line), the
    static texts made strings, each vessel's first and last position time (for the
    vessels table: the end then merges a few rows per chunk), and with ``names`` the
    position rows' source names as strings (when the chunk has any)."""
    blocks, dropped = [], None
    for block, statics in ((res.pos, False), (res.stat, True)):
        block, types = _drop_implausible(block, statics, valid_ns)
        if types is not None:
            dropped = types if dropped is None else dropped + types
        rec = block["record"]
        block["line0"] = (rec - np.searchsorted(res.extra, rec, side="right")
                          if res.extra.size else rec)  # (only read: line = line0 + base)
        blocks.append(block)
    pos = blocks[0]
    return _Prepared(pos, blocks[1], _texts_of(blocks[1]), dropped,
                     time_ranges(pos["mmsi"], pos["time"]),
                     _arrow_names(res.source_names, pos["source"])
                     if names and len(res.source_names) > 1 else None)


def _texts_of(stat: dict) -> dict:
    """The text values of static rows, per field; with Arrow-backed strings also their
    ``ais_class`` ("A" for type 5, else "B"), made here rather than after the last chunk."""
    if not len(stat["mmsi"]):
        return {}
    if not _arrow_strings():
        return {f: _text_values(stat["text"], f) for f in _TEXT_FIELDS}
    import pyarrow as pa

    # (one compiled pass for all four: 20-odd NumPy calls fewer under the GIL per chunk)
    return {f: pa.LargeStringArray.from_buffers(
                len(offsets) - 1, pa.py_buffer(offsets), pa.py_buffer(data),
                None if valid is None else pa.py_buffer(valid), null_count=blank)
            for f, (offsets, data, valid, blank) in zip(
                (*_TEXT_FIELDS, "ais_class"), static_texts(stat["text"], stat["msg_type"]),
                strict=True)}


_CLASSES = ("B", "A")  # ais_class by whether the record is a type 5


class _NmeaDecoder:
    """Chunked NMEA decode state: the multipart assembler, collected rows and the report.

    Chunks are decoded by :func:`~stsdetect.ais.kernel.decode_chunk` (possibly on other
    threads); :meth:`absorb` takes their results in input order and puts their rows straight
    into the final columns (with their line numbers), so that :meth:`finish` only wraps them.
    """

    def __init__(self, report: DecodeReport, window_records: int, max_open_groups: int,
                 valid_ns: tuple = (np.iinfo(np.int64).min + 1, np.iinfo(np.int64).max)):
        self.report = report
        # plausible times (contract C6): rows stamped outside are dropped as chunks come in
        self.valid_ns = valid_ns
        self._implausible = 0
        self.asm = Assembler(window_records, max_open_groups)
        self.record_offset = 0
        self.rows = _Columns(_ROW_DTYPES)
        self.stat_rows = _Columns(_STAT_DTYPES)
        self._texts = {f: [] for f in (*_TEXT_FIELDS, "ais_class")}
        self.source_names = [""]
        self._source_code = {"": 0}
        # provenance: the records not first on their line (reader-wide numbers: how many so
        # far, and the arrays, kept for rows completed after their chunk), and the files
        # fed: (name, first position row, first static row)
        self._n_extra = 0
        self._extra: list = []
        self._files: list = []
        self._seen: list = []  # per chunk: time_ranges of its position rows
        # per chunk, with chunk_names: its position rows' source names (Arrow), or how many
        # rows it has without any (chunk_names: made per chunk, on the decoding threads)
        self.chunk_names = False
        self._names: list = []
        self._file_start0 = 0  # the current file's first record, less the extra ones before
        self._counts = np.zeros(len(COUNT_NAMES), np.int64)
        self._decoded = np.zeros(28, np.int64)
        self._blocks: dict = {}  # text -> its block (_run_block), (text,) -> a run of it

    def expect(self, fraction: float, run=None) -> None:
        """Size the output columns for the current file, ``fraction`` of which was read, and
        make its name's array for the ``file`` column now (while other threads decode; the
        end slices it) rather than after the last chunk (``run``: like a pool's ``submit``,
        which then makes the columns; see :meth:`_Columns.reserve`)."""
        for store, at in ((self.rows, 1), (self.stat_rows, 2)):
            first = self._files[-1][at] if self._files else 0
            in_file = store.n_rows - first
            if in_file:
                rows = int(in_file / fraction * 1.05) + 1024
                store.reserve(first + rows, run)
                _string_runs([(self._files[-1][0], rows)], self._blocks)
                if at == 1 and len(self.source_names) == 1:  # rows with no source name (so far)
                    _string_runs([("", rows)], self._blocks)

    def start_file(self, name: str) -> None:
        """Records fed from here on come from ``name``, numbered from its line 1."""
        self._files.append((name, self.rows.n_rows, self.stat_rows.n_rows))
        self._file_start0 = self.record_offset - self._n_extra

    @property
    def file_names(self) -> list:
        """The names of the files fed, in order."""
        return [f[0] for f in self._files] or [""]

    def _lines(self, records: np.ndarray, extra: np.ndarray) -> np.ndarray:
        """1-based line numbers in the current file of reader-wide ``records`` of the chunk
        being absorbed (``extra``: its records not first on their line, reader-wide)."""
        if records.size and records[0] < self.record_offset:  # (rows in record order)
            # a row completed by this chunk from a record of an earlier one: count over all
            extra = np.concatenate([*self._extra, extra])
            before = np.searchsorted(extra, records, side="right")
        else:
            before = self._n_extra + np.searchsorted(extra, records, side="right")
        return records - before - self._file_start0 + 1

    def feed(self, data, continued: bool = False) -> None:
        """Decode ``data`` (bytes or uint8 array of whole lines) in this thread."""
        a = np.frombuffer(data, dtype=np.uint8) if not isinstance(data, np.ndarray) else data
        self.absorb(decode_chunk(a, a.size, continued), a)

    def absorb(self, res: ChunkResult, buf: np.ndarray, prep: _Prepared | None = None,
               run=None) -> None:
        """Take one chunk's kernel result (``buf``: its bytes; ``prep``: :func:`_prepare` of
        it, made here when absent), in input order. ``run``: like a pool's ``submit``, while
        chunks are read on threads: folds of the chunks' time ranges then run there (see
        :class:`_Folding`)."""
        if prep is None:  # (source names as strings per chunk too, when the others have them)
            prep = _prepare(res, self.valid_ns, self.chunk_names)
        c = res.counts
        self._counts += np.fromiter(c.values(), np.int64, len(c))
        self._decoded += res.decoded
        self._drop_counts(prep.dropped)
        off = self.record_offset
        extra = res.extra + off if res.extra.size else res.extra
        # chunk source codes -> reader-wide codes (a loop over distinct names only)
        if len(res.source_names) > 1:
            lookup = np.array([self._source_code.setdefault(nm, len(self._source_code))
                               for nm in res.source_names], dtype=np.int32)
            self.source_names = list(self._source_code)
        else:
            lookup = None
        pos, stat, texts, names = prep.pos, prep.stat, prep.texts, prep.names
        # line in the file = line counted from the chunk's first line + the lines before it
        base = off - self._n_extra - self._file_start0 + 1
        for block in (pos, stat):
            if lookup is not None:
                block["source"] = lookup[block["source"]]
            block["line"] = block.pop("line0") + base
        if res.frags.shape[1]:
            frags = res.frags
            if lookup is not None:
                frags[10] = lookup[frags[10]]
            done = self.asm.add(frags, off, buf)
            self._counts += np.fromiter(done.counts.values(), np.int64, len(done.counts))
            self._decoded += done.decoded
            d_pos, types = _drop_implausible(done.pos, False, self.valid_ns)
            self._drop_counts(types)
            d_stat, types = _drop_implausible(done.stat, True, self.valid_ns)
            self._drop_counts(types)
            for block in (d_pos, d_stat):
                block["line"] = self._lines(block["record"], extra)
            for block in (pos, stat):
                block["record"] = block["record"] + off
            if len(d_pos["mmsi"]):  # (most chunks: nothing to merge)
                if self.chunk_names and (names is not None or len(self.source_names) > 1):
                    if names is None:  # (codes reader-wide by now, 0 = none)
                        names = _arrow_names(self.source_names, pos["source"])
                    pos, names = _merge(pos, d_pos, {"n": names},
                                        {"n": _arrow_names(self.source_names, d_pos["source"])})
                    names = names["n"]
                else:
                    pos = _merge(pos, d_pos)
                self._seen.append(time_ranges(d_pos["mmsi"], d_pos["time"]))
            if len(d_stat["mmsi"]):  # (texts made of the merged rows' text slots: cheaper
                # than taking the texts made of each part in the merged order)
                stat = _merge(stat, d_stat)
                texts = _texts_of(stat)
        self.rows.append(pos)
        self.stat_rows.append(stat)
        self._seen.append(prep.seen)
        if len(self._seen) >= _SEEN_PARTS:  # (folded as chunks come, not all at the end)
            parts = [_settled(p) for p in self._seen]
            self._seen = [_fold_ranges(parts) if run is None else
                          _Folding(run(_fold_ranges, parts), parts)]
        if self.chunk_names:
            self._names.append(len(pos["mmsi"]) if names is None else names)
        for f, values in texts.items():
            self._texts[f].append(values)
        if extra.size:
            self._extra.append(extra)
            self._n_extra += extra.size
        self.record_offset += c["records"]

    def _drop_counts(self, types: np.ndarray | None) -> None:
        """Move records dropped for implausible times (counts by type) out of decoded."""
        if types is not None:
            self._decoded -= types
            self._implausible += int(types.sum())

    def _report(self) -> None:
        """Move the counts gathered into the report."""
        rep = self.report
        counts = dict(zip(COUNT_NAMES, self._counts.tolist(), strict=True))
        rep.lines += counts["records"]
        rep.sentences += counts["sentences"]
        rep.sentence_records += counts["sentence_records"]
        for name in COUNT_NAMES[:N_SKIPS]:
            rep.add_skip(name, counts[name])
        rep.add_note("time_unparsed", counts["time_unparsed"])
        rep.add_skip("implausible_time", self._implausible)
        self._implausible = 0
        for t in np.flatnonzero(self._decoded):
            rep.add_decoded(int(t), int(self._decoded[t]))
        self._counts[:] = 0
        self._decoded[:] = 0

    def _file_column(self, which: int, n: int):
        """The ``file`` column of the position (``which`` 1) or static (2) rows."""
        runs = [(f[0], f[which]) for f in self._files if f[which] < n]
        bounds = [at for _, at in runs[1:]] + [n]
        return _string_runs([(name, end - at) for (name, at), end in zip(runs, bounds,
                                                                         strict=True)],
                            self._blocks)

    def _statics_arrays(self) -> dict | None:
        """The decoded static records' columns in input order (None when there are none)."""
        cols = self.stat_rows.columns()
        if cols is None:
            return None
        texts, self._texts = self._texts, {f: [] for f in (*_TEXT_FIELDS, "ais_class")}
        arrays = {
            "time": cols["time"], "mmsi": cols["mmsi"], "msg_type": cols["msg_type"],
            "imo": _nullable_int(cols["imo"]), "name": _join_strings(texts["name"]),
            "callsign": _join_strings(texts["callsign"]),
            "ship_type": _nullable_int(cols["ship_type"]),
            "length_m": cols["length_m"], "beam_m": cols["beam_m"],
            "draught_m": cols["draught_m"], "destination": _join_strings(texts["destination"]),
            "ais_class": _join_strings(texts["ais_class"]) if texts["ais_class"] else
            _string_codes(_CLASSES, (cols["msg_type"] == 5).view(np.int8)),
            "file": self._file_column(2, len(cols["mmsi"])),
            "line": cols["line"],
        }
        return arrays

    def finish(self, run=None, vessels: bool = True):
        """The positions and statics frames of everything absorbed.

        ``stat_arrays`` are then the statics' columns (for the vessels table, without going
        through the frame), and with ``vessels`` ``vessels_started`` the vessels table's
        compiled grouping of them, their times widened by the position rows' (see
        :func:`~.statics.vessels_from_columns`): with ``run`` (like a pool's ``submit``,
        its threads idle), started there before the frames are made here.
        """
        if self._files:  # (no NMEA read, e.g. only tables: no kernel to load)
            self._counts[COUNT_NAMES.index("incomplete_multipart")] += self.asm.flush()
        self._report()
        # for the vessels table: each vessel's first and last position times of each chunk,
        # (mmsi, first, last) rows not folded into one per vessel (the grouping widens its
        # few vessels' times by all of them in its compiled pass)
        parts, self._seen = _ranges_parts(self._seen), []
        seen = tuple(np.concatenate([p[j] for p in parts]) for j in range(3)) \
            if parts else None
        # the statics first: their grouping then runs on the pool while the frames are made
        self.stat_arrays = arrays = self._statics_arrays()
        self.vessels_started = None if arrays is None or not vessels else _start_vessels(
            arrays, None if run is None or len(arrays["mmsi"]) + (
                0 if seen is None else 2 * len(seen[0])) < _GROUPS_ON_POOL else run, seen)
        cols = self.rows.columns()
        if cols is not None:
            cols["file"] = self._file_column(1, len(cols["mmsi"]))
        names, self._names = self._names, []
        source = None  # the names made per chunk, joined (when a chunk had any)
        if cols is not None and any(not isinstance(p, int) for p in names):
            import pyarrow as pa

            source = _from_arrow(pa.chunked_array(
                [_arrow_names([""], np.zeros(p, np.int32)) if isinstance(p, int) else p
                 for p in names], type=pa.large_string()))
        elif cols is not None and len(self.source_names) == 1:  # no names: slices of a block
            source = _string_runs([("", len(cols["mmsi"]))], self._blocks)
        return (_positions_frame(cols, self.source_names, source=source),
                None if arrays is None else _frame({**arrays,
                                                    "time": _utc_array(arrays["time"])}))


#: Chunks' vessel time ranges (:func:`~stsdetect.ais.kernel.time_ranges`) kept before they
#: are folded into one: a chunk of a busy feed has thousands of vessels, and joining every
#: chunk's after the last one cost the tag-block layout 2 ms. The parts left after the last
#: chunk are not folded: the vessels table reads them as they are, which costs less than
#: folding them (0.03-0.4 ms, with one thread waiting).
_SEEN_PARTS = 8


class _Folding(NamedTuple):
    """Time ranges being folded on another thread: the future of :func:`_fold_ranges` of
    ``parts``, which stand for them until it is done."""

    future: Future
    parts: list


def _settled(part):
    """``part`` of a decoder's time ranges, its fold's result when that is done."""
    if isinstance(part, _Folding) and part.future.done() and not part.future.cancelled() \
            and part.future.exception() is None:
        return part.future.result()
    return part


def _ranges_parts(parts: list) -> list:
    """Time ranges ``(keys, first, last)`` standing for ``parts``, none waited for (a fold
    not done yet, or failed, is replaced by the parts it folds: the same first and last
    times)."""
    out = []
    for part in parts:  # (a loop over the parts: at most _SEEN_PARTS, and nested folds)
        part = _settled(part)
        if isinstance(part, _Folding):
            out.extend(_ranges_parts(part.parts))
        else:
            out.append(part)
    return out


def _fold_ranges(parts: list) -> tuple:
    """Time ranges ``(keys, first, last)`` of several chunks as one: each key once, with its
    earliest first and latest last time (``parts`` may hold :class:`_Folding` ones)."""
    parts = _ranges_parts(parts)
    keys = np.concatenate([p[0] for p in parts])
    # (mostly the same vessels in each part: a key table for twice the largest part's)
    return time_ranges(np.concatenate([keys, keys]),
                       np.concatenate([p[1] for p in parts] + [p[2] for p in parts]),
                       2 * max(p[0].size for p in parts))


def _nullable_int(values: np.ndarray):
    """A nullable Int64 array of whole numbers held as floats (NaN: missing)."""
    return pd.arrays.IntegerArray(*whole_numbers(values))


#: pandas' "string" dtype keeps its values in Arrow arrays (pandas 3, or
#: ``pd.options.future.infer_string``): string columns are then built from buffers.
def _arrow_strings() -> bool:
    return pd.StringDtype().storage == "pyarrow"


def _from_arrow(arr):
    """A pandas "string" array over the Arrow (large_)string array ``arr`` (no copy)."""
    return pd.arrays.ArrowStringArray(arr)


def _string_runs(runs: list, blocks: dict | None = None):
    """A string array of each ``(text, count)`` of ``runs`` repeated ``count`` times, in order.

    No per-row string objects, and no copy of a text per row: each run is slices of one
    Arrow block holding its text up to about 1 MiB worth of times, all sharing that block's
    buffers (a loop over the runs, i.e. the files read, and over their slices only);
    ``blocks``: the blocks made so far, by text (reused, and new ones added), and the
    array of a single run (under ``(text,)``: a shorter run of that text later is a slice
    of it, so that the reader makes its columns' arrays while other threads decode and
    only slices them after the last chunk).
    """
    if not _arrow_strings():
        names = [t for t, _ in runs] or [""]
        codes = np.repeat(np.arange(len(runs), dtype=np.int32), [k for _, k in runs])
        return pd.array(list(names), dtype="string").take(codes)
    import pyarrow as pa

    single = blocks is not None and len(runs) == 1
    made = blocks.get((runs[0][0],)) if single else None
    if made is not None and len(made) >= runs[0][1]:
        return _from_arrow(made.slice(0, runs[0][1]))
    pieces = []
    for text, k in runs:
        block = _run_block(text, k, {} if blocks is None else blocks)
        if block is not None:
            size = min(k, len(block))
            pieces += [block.slice(0, min(size, k - at)) for at in range(0, k, size)]
    out = pa.chunked_array(pieces, type=pa.large_string())
    if single:  # (longer than the one there, if any)
        blocks[(runs[0][0],)] = out
    return _from_arrow(out)


def _run_block(text: str, k: int, blocks: dict):
    """The Arrow block :func:`_string_runs` slices a run of ``k`` times ``text`` from
    (``blocks[text]`` when it is long enough, else a new one put there; None for k = 0)."""
    b = text.encode()
    size = min(k, max(1024, _RUN_BLOCK_BYTES // (len(b) + 8)))  # (8: its offset)
    block = blocks.get(text)
    if size and (block is None or len(block) < size) and _arrow_strings():
        import pyarrow as pa

        # (offsets 0, len, 2 len ...; for "" all 0: zeroed pages, never written)
        offsets = (np.arange(0, (size + 1) * len(b), len(b), dtype=np.int64) if b else
                   np.zeros(size + 1, np.int64))
        block = blocks[text] = pa.LargeStringArray.from_buffers(
            size, pa.py_buffer(offsets), pa.py_buffer(b * size))
    return block if size else None


#: Bytes of the shared block :func:`_string_runs` slices a repeated text from.
_RUN_BLOCK_BYTES = 1 << 20


def _string_codes(names, codes: np.ndarray):
    """A string array of ``names[codes]`` (few distinct names taken per row, no per-row
    string objects)."""
    if len(names) == 1:
        return _string_runs([(names[0], len(codes))])
    if not _arrow_strings():
        return pd.array(list(names), dtype="string").take(codes)
    return _from_arrow(_arrow_names(names, codes))


def _arrow_names(names, codes: np.ndarray):
    """``names[codes]`` as an Arrow large_string array (one compiled pass, no string
    objects)."""
    import pyarrow as pa

    offsets, data = take_names(list(names), codes)
    return pa.LargeStringArray.from_buffers(len(codes), pa.py_buffer(offsets),
                                            pa.py_buffer(data))


def _text_values(text: np.ndarray, field: str) -> np.ndarray:
    """One text field of static rows as object values, None when blank: without
    Arrow-backed strings (with them, :func:`_texts_of` makes every field's Arrow array
    from the buffers of :func:`~stsdetect.ais.kernel.static_texts`).

    The kernel writes each field as ASCII padded with spaces (characters 32-95 only): each
    string is its slot's bytes from the first to the last non-space.
    """
    at, width = TEXT_SLOTS[field]
    return np.array([bytes(r).strip().decode("ascii") or None
                     for r in text[:, at:at + width]] or [], dtype=object)


def _join_strings(parts: list):
    """One pandas "string" array of the text values (:func:`_texts_of`) in ``parts``."""
    if not _arrow_strings():
        return pd.array(np.concatenate(parts) if parts else [], dtype="string")
    import pyarrow as pa

    return _from_arrow(pa.concat_arrays(parts) if parts else pa.array([], pa.large_string()))


def _take_strings(parts: list, order: np.ndarray):
    """The text values of ``parts`` (:func:`_texts_of`) joined, then taken in ``order``."""
    if not _arrow_strings():
        return np.concatenate(parts)[order]
    import pyarrow as pa

    return pa.concat_arrays(parts).take(pa.array(order))


def _positions_frame(cols, source_names=("",), file_names=("",), source=None) -> pd.DataFrame:
    """The positions DataFrame from column arrays (None for an empty table).

    ``cols["source"]`` holds int codes into ``source_names`` (or ``source`` is that column
    made already); ``cols["file"]`` int codes into ``file_names`` or a string array;
    ``cols["line"]`` the 1-based line numbers (both optional: "" and 0). The arrays become
    the frame's columns (no copies).
    """
    if cols is None:
        cols = {"mmsi": np.zeros(0, np.int64), "time": np.zeros(0, np.int64),
                "nav_status": np.zeros(0, np.int8), "msg_type": np.zeros(0, np.int8),
                "source": np.zeros(0, np.int32)}
        for k in ("lat", "lon", "sog_kn", "cog_deg", "heading_deg"):
            cols[k] = np.zeros(0)
    n = len(cols["mmsi"])
    time = _utc_array(np.asarray(cols["time"], dtype=np.int64))
    file = cols.get("file")
    if file is None or isinstance(file, np.ndarray):
        file = _string_codes(list(file_names), np.asarray(
            file if file is not None else np.zeros(n, np.int32), dtype=np.int32))
    return _frame({
        "mmsi": np.asarray(cols["mmsi"], dtype=np.int64),
        "time": time,
        "lat": np.asarray(cols["lat"], dtype=np.float64),
        "lon": np.asarray(cols["lon"], dtype=np.float64),
        "sog_kn": np.asarray(cols["sog_kn"], dtype=np.float64),
        "cog_deg": np.asarray(cols["cog_deg"], dtype=np.float64),
        "heading_deg": np.asarray(cols["heading_deg"], dtype=np.float64),
        "nav_status": np.asarray(cols["nav_status"], dtype=np.int8),
        "msg_type": np.asarray(cols["msg_type"], dtype=np.int8),
        # the distinct names as a string array, taken per row (no per-row string objects)
        "source": source if source is not None else _string_codes(
            list(source_names), np.asarray(cols["source"], dtype=np.int32)),
        "file": file,
        "line": np.asarray(cols.get("line", np.zeros(n, np.int64)), dtype=np.int64),
    })  # (fresh arrays, each its own block: no copies)


_PAD = 64  # zero bytes after each chunk (the kernel never reads past its end; a margin)
# A chunk holds the previous one's unfinished line too: workspaces are this much larger
# (a longer carried line, rare, gets a workspace of its own).
_WS_SLACK = 4096


def _chunks(stream, chunk_bytes: int, n_buffers: int = 2, ring: list | None = None,
            first_bytes: int | None = None):
    """Chunks of whole lines of ``stream``: (uint8 array, bytes used, continued); those of
    :func:`_chunker` reading the stream in turn."""
    for a, n, continued, _ in _chunker(partial(_stream_read, stream), chunk_bytes,
                                       n_buffers, ring, first_bytes):
        yield a, n, continued


def _stream_read(stream, view, offset: int) -> int:
    """:func:`_chunker`'s ``read`` of a stream (``offset``: always where the last read
    ended)."""
    return _fill(stream, view)


def _chunker(read, chunk_bytes: int, n_buffers: int = 2, ring: list | None = None,
             first_bytes: int | None = None, window_chunk=None):
    """Chunks of whole lines of the bytes ``read`` gives: (uint8 array, bytes used,
    continued, offset).

    ``read(view, offset)`` fills ``view`` with the bytes from ``offset`` on until it is
    full or they end, and returns how many it read; each call asks for the bytes after
    those of the last one. The first chunk reads ``first_bytes`` (default
    ``chunk_bytes``; at most that), the others ``chunk_bytes``, after the bytes carried
    over from the chunk before (those after its cut, kept here: never read twice).

    ``window_chunk(start, end, stop)`` (optional, for a file that can be read anywhere;
    see :func:`_window_chunk`): where the chunk from byte ``start`` to at most ``stop`` is
    cut (bytes up to ``end`` are carried) when it can tell that without the whole chunk,
    as ``(where, bytes from there to stop)``, else None. Such a chunk is yielded with its
    ``offset`` (its first byte) and not read: the consumer reads it into the array
    (:func:`_read_at`). Chunks read here have ``offset`` None.

    Chunks go into ``n_buffers`` buffers in turn (reused: fresh ones would be zeroed
    and faulted in for every chunk), so that a chunk's buffer stays untouched until
    ``n_buffers - 1`` later chunks have been yielded: the consumer must be done with it by
    then (a chunk of a line carried over, longer than the slack, gets a buffer of its
    own). ``ring``: a list of ``n_buffers`` buffers (None where one is to be made, which
    is then put there). A line longer than a chunk is cut before its last sentence (or
    that sentence's tag block), or anywhere when it holds none; the next chunk then says
    ``continued``, so that the kernel neither counts the rest as a new line nor its text
    before a sentence as a record.
    """
    carry = b""  # the bytes read after the last chunk's cut
    start = 0  # the chunk's first byte
    continued = False
    size = chunk_bytes + _WS_SLACK + _PAD
    if ring is None:
        ring = [None] * n_buffers  # (each made when first used: none zeroed before needed)
    turn = 0
    want = min(first_bytes or chunk_bytes, chunk_bytes)
    while True:
        asked, want = want, chunk_bytes
        held = len(carry)
        if held + asked + _PAD <= size:
            if ring[turn] is None or len(ring[turn]) < size:
                ring[turn] = bytearray(size)
            buf = ring[turn]
            turn = (turn + 1) % n_buffers
        else:
            buf = bytearray(held + asked + _PAD)
        if window_chunk is not None:
            found = window_chunk(start, start + held, start + held + asked)
            if found is not None:
                cut, carry = found[0] - start, found[1]
                yield np.frombuffer(buf, dtype=np.uint8), cut, continued, start
                start, continued = start + cut, False
                continue
        buf[:held] = carry
        got = held + read(memoryview(buf)[held:held + asked], start + held)
        if got == held:  # the bytes ended
            if held:
                yield np.frombuffer(buf, dtype=np.uint8), held, continued, None
            return
        cut = got if got < held + asked else _line_cut(buf, got)  # (short: all that is left)
        long_line = cut == 0  # no line end in a whole chunk
        if long_line:
            cut = _last_sentence_start(buf, got)
        yield np.frombuffer(buf, dtype=np.uint8), cut, continued, None
        carry = bytes(buf[cut:got])
        start, continued = start + cut, long_line


#: Bytes before a chunk's end in which :func:`_window_chunk` looks for its last line end
#: (and the header lines kept with the sentence after it); a chunk whose cut it does not
#: find there is read whole by the calling thread.
_CUT_WINDOW = 16384


def _pread_full(fd: int, view, offset: int) -> int:
    """Read file ``fd`` at ``offset`` into ``view`` until it is full or the file ends;
    bytes read."""
    total = 0
    while total < len(view):
        got = os.preadv(fd, [view[total:]], offset + total)
        if not got:
            break
        total += got
    return total


def _read_at(buf, n: int, fd: int, offset: int) -> None:
    """Fill ``buf[:n]`` from file ``fd`` at ``offset`` (on the thread that decodes it)."""
    got = _pread_full(fd, memoryview(buf)[:n], offset)
    if got != n:
        raise OSError(f"the file changed while it was read: {n} bytes expected at byte "
                      f"{offset}, {got} there")


def _window_chunk(fd: int, window: int, start: int, end: int, stop: int,
                  cr_only: bool = False):
    """:func:`_chunker`'s ``window_chunk`` for file ``fd``: the cut of the chunk from
    ``start`` to at most ``stop`` found in its last ``window`` bytes (read here), or, when
    the file ends after ``end`` and before ``stop``, its end; None when that needs more
    (no line end in the window, a line that may start before it, or no new bytes).
    ``cr_only``: the file's lines end in CR alone (:func:`_cr_only`): a window without
    '\\n' is cut after a '\\r' (:func:`_line_cut`; a chunk of such a file with a '\\n'
    before its window, which the whole read would cut there, is cut at a '\\r' after it:
    a line end too, the rows the same)."""
    lo = max(start, stop - window)
    if lo <= start:
        return None
    tail = os.pread(fd, stop - lo, lo)
    if len(tail) == stop - lo:
        cut = _line_cut(tail, len(tail), whole=False, cr=cr_only)
        return None if cut is None else (lo + cut, tail[cut:])
    last = lo + len(tail) if tail else os.fstat(fd).st_size  # (the file ends before stop)
    return (last, b"") if end < last < stop else None


#: Bytes at the start of a file that tell whether its lines end in CR alone (:func:`_cr_only`).
_CR_HEAD = 65536


def _cr_only(fd: int) -> bool:
    """Whether file ``fd``'s first :data:`_CR_HEAD` bytes hold a '\\r' and no '\\n' (old
    Mac line ends: the windows of :func:`_window_chunk` then look for a '\\r' too)."""
    head = os.pread(fd, _CR_HEAD, 0)
    return b"\n" not in head and b"\r" in head


def _file_chunks(fd: int, chunk_bytes: int, n_buffers: int = 2, ring: list | None = None,
                 first_bytes: int | None = None, window: int | None = None):
    """The chunks :func:`_chunks` makes of a regular file ``fd`` (from its byte 0), mostly
    not read: those of :func:`_chunker` over ``pread``, whose cuts are found in a window
    of ``window`` bytes (default: :data:`_CUT_WINDOW`, at most a quarter of a chunk)
    before each chunk's end (:func:`_window_chunk`; in a file whose lines end in CR alone,
    after a '\\r'); a chunk whose cut needs more (a line longer than the
    window, a header line before the cut) is read here whole.
    """
    window = window or min(_CUT_WINDOW, max(chunk_bytes // 4, 64))
    return _chunker(partial(_pread_full, fd), chunk_bytes, n_buffers, ring, first_bytes,
                    partial(_window_chunk, fd, window, cr_only=_cr_only(fd)))


def _last_sentence_start(buf: bytearray, end: int) -> int:
    """Where to cut a line longer than a chunk: before its last AIS sentence (and that
    sentence's tag block), or at ``end`` when no sentence starts after its first byte."""
    at = end
    while True:
        at = buf.rfind(b"!", 0, at)
        if at <= 0:
            return end
        if buf[at + 3:at + 7] in (b"VDM,", b"VDO,"):
            break
    if buf[at - 1] == 92:  # '\\': a tag block before it
        tag = buf.rfind(b"\\", 0, at - 1)
        if tag > 0:
            return tag
    return at


#: Least work, in bytes plus :data:`_SENTENCE_BYTES` per AIS sentence, a plain NMEA file
#: must hold (as estimated by :func:`_nmea_threads`) for ``read_ais``'s default to decode
#: it on more than one thread. A two-thread read has costs one thread has not (a pool
#: thread's first wake-up, a workspace per chunk in flight, the threads taking turns at
#: the GIL for each chunk's Python work, a serial head and tail), worth paying only when
#: there is enough to decode. Measured (idle two-core VM, min of 24 calls, one thread /
#: two threads): bare VDM of 10k lines (0.5 MB) 3.8 / 4.6 ms, of 25k lines (1.3 MB)
#: 10.9 / 8.5 ms; gpsd's commented sample (one sentence in 400 bytes) to 50k lines
#: (2.1 MB) 5.8 / 6.7 ms, to 100k lines (4.2 MB) 8.9 / 7.9 ms.
_MIN_THREADED_WORK = 2_750_000

#: What decoding an AIS sentence costs in bytes read (one thread: about 1.7 ms per MB and
#: 0.12 ms per thousand sentences, fitted on bare VDM and gpsd's commented sample).
_SENTENCE_BYTES = 70


def _nmea_threads(head: bytes, size: int | None, workers: int) -> int:
    """Threads ``read_ais``'s default decodes an NMEA file of ``size`` bytes (None: not a
    plain file) whose first bytes are ``head`` on, of ``workers``: one when its work, its
    bytes plus :data:`_SENTENCE_BYTES` per sentence, is under :data:`_MIN_THREADED_WORK`
    (sentences estimated from the sentence starts, '!', in ``head``: one pass over at most
    64 KiB, exact for a file no longer than that), else ``workers``. Streams and compressed
    files (size unknown) keep ``workers``."""
    if workers < 2 or not size or not head:
        return workers
    sentences = head.count(b"!") * size / len(head)
    return 1 if size + _SENTENCE_BYTES * sentences < _MIN_THREADED_WORK else workers


def _balanced_chunk(size: int | None, chunk_bytes: int, workers: int) -> int:
    """The chunk size for a file of ``size`` bytes decoded on ``workers`` threads: at most
    about :data:`_SIZED_CHUNK` times ``chunk_bytes``, and such that the chunks are a
    multiple of ``workers`` of about equal size, so that no thread decodes a last chunk
    alone while the others wait (the result does not depend on the chunk size; unknown
    sizes, and one thread, keep ``chunk_bytes``)."""
    if not size or workers < 2:
        return chunk_bytes
    chunk_bytes = int(chunk_bytes * _SIZED_CHUNK)
    n = -(-size // chunk_bytes)
    n = -(-n // workers) * workers
    # (a little over an even share: cutting at line ends leaves no tiny chunk at the end)
    return max(1024, min(chunk_bytes, -(-size // n) + 1024))


#: Most workspaces and chunk buffers kept between calls, and the largest chunk kept for:
#: a private cache (a fresh workspace costs the first chunk it decodes about 1 ms of page
#: faults, a fresh 1 MiB buffer 0.3 ms). It holds the pages written: a few MB per
#: workspace, 1 MiB per buffer.
_WS_KEEP = 6
_BUF_KEEP = 8
_WS_KEEP_BYTES = 2 * DEFAULT_CHUNK_BYTES + _WS_SLACK
_ws_cache: list = []
_buf_cache: list = []
_ws_lock = threading.Lock()


@contextmanager
def _workspaces(n: int, n_bytes: int, n_buffers: int):
    """``n`` workspaces for chunks of ``n_bytes`` and a ring of ``n_buffers`` chunk buffers
    for :func:`_chunks` (from the cache when it has them), put back into the cache when the
    block ends without an error (after an error a thread may still be using one).

    The workspaces put back last are taken first: those have their pages written. A
    workspace's first chunk faults in its pages (huge pages: 13-14 of 2 MB for a 1 MiB
    chunk, 4-44 ms of system time on the VM this was measured on); taken oldest first, a
    one-thread read after a read on more threads (or after a tiny one, which writes one
    workspace of the several it takes) got one of the others, never written, in each of
    its next calls; and a full cache kept its old workspaces rather than the ones just
    used (a one-thread read after reads of small files on several threads, whose
    workspaces are too small for its chunks, made a fresh workspace in every call)."""
    with _ws_lock:
        got = [ws for ws in reversed(_ws_cache) if ws.n_bytes >= n_bytes][:n]
        for ws in got:
            _ws_cache.remove(ws)
        ring = [_buf_cache.pop() if _buf_cache else None for _ in range(n_buffers)]
    got += [Workspace(n_bytes) for _ in range(n - len(got))]
    yield got, ring
    with _ws_lock:
        # the ones written last kept (a full cache drops its oldest, not the newcomers)
        _ws_cache.extend(ws for ws in got if ws.n_bytes <= _WS_KEEP_BYTES)
        del _ws_cache[:-_WS_KEEP]
        for buf in ring:
            if buf is not None and len(_buf_cache) < _BUF_KEEP \
                    and len(buf) <= _WS_KEEP_BYTES + _PAD:
                _buf_cache.append(buf)


#: On several threads the first chunk of a file is this fraction of the others: the pool
#: threads wait for it to be read (0.2 ms per MiB) before any starts.
_FIRST_PART = 4

#: Chunks in flight per decoding thread (each with its workspace and buffer): the reading
#: thread keeps this many read ahead, so that a thread done with a chunk finds the next one
#: waiting even while the reading thread absorbs a slow one.
_IN_FLIGHT = 3

#: On several threads, a file of known size is cut into chunks of up to this many times
#: ``chunk_bytes`` (:func:`_balanced_chunk`), :data:`_SIZED_IN_FLIGHT` of them in flight
#: per thread: no more bytes in flight than :data:`_IN_FLIGHT` chunks of ``chunk_bytes``,
#: in fewer chunks. Each chunk costs two threads a fixed 0.1-0.5 ms of
#: CPU beyond its bytes (its task, prepare and absorb, the GIL passed between the threads
#: and each one's wake-ups), which a one-thread read pays 9-16 times for these dumps, a
#: two-thread one 11-17 times. Measured (two-core VM, two threads, median of 32 calls in
#: alternated fresh processes, ms): SignalK 6.86 -> 6.22, $PGHP 12.40 -> 9.99, gpsd 8.02
#: -> 6.45, bare VDM 14.69 -> 14.05, CR-only 12.69 -> 12.19, tag blocks 20.70 -> 20.12
#: (with 1.5). 1.35 is the most that keeps a default chunk's workspace arrays below
#: NumPy's 4 MiB huge-page size (:class:`~.kernel.Workspace`; at 1.5 its fragment rows
#: took 4.4 MiB): 1.3 against 1.5, alternated, was within the noise (two threads, min ms:
#: tag blocks 24.51 -> 23.05, SignalK 6.08 -> 6.28, `$PGHP` 10.10 -> 10.82).
_SIZED_CHUNK = 1.35
_SIZED_IN_FLIGHT = 2


def _read_nmea(stream, decoder: _NmeaDecoder, chunk_bytes: int, pool=None,
               workers: int = 1, size: int | None = None, path: str | None = None) -> None:
    """Decode ``stream`` chunk by chunk: on ``pool`` and this thread (the kernel releases
    the GIL, each chunk in flight with its own workspace, and :func:`_prepare` where it was
    decoded; see :func:`_read_on_pool`), this thread reading the next chunks and taking the
    results in order.
    ``size``: the stream's length when known (the output columns are sized from it after
    the first chunk). ``path``: the plain file the stream reads, from its first byte
    (None: not one); on several threads, each chunk is then read from it by the thread that
    decodes it (:func:`_file_chunks`), not by this one."""
    first = [True]
    chores: deque = deque()  # (future, function, arguments): run by the next chunk's task

    def chore(fn, *args) -> Future:
        done = Future()
        chores.append((done, fn, args))
        return done

    def absorb(res, buf, n, prep=None):
        decoder.absorb(res, buf, prep, None if pool is None else chore)
        if first[0]:
            first[0] = False
            if size and n < size:
                decoder.expect(n / size, None if pool is None else chore)

    if pool is None:
        with _workspaces(1, chunk_bytes + _WS_SLACK, 2) as ((ws,), ring):
            for a, n, continued in _chunks(stream, chunk_bytes, 2, ring):
                # rows as views into the workspace: absorbed (copied into the columns)
                # before it decodes the next chunk
                absorb(decode_chunk(a, n, continued, ws, copy=False), a, n)
        return
    # (chunks of a file of known size are larger: fewer in flight, see _SIZED_CHUNK)
    depth = (_SIZED_IN_FLIGHT if size else _IN_FLIGHT) * workers
    fd = os.open(path, os.O_RDONLY | getattr(os, "O_BINARY", 0)) \
        if path is not None and hasattr(os, "preadv") else None
    done = False
    try:
        with _workspaces(depth, chunk_bytes + _WS_SLACK, depth + 2) as (spaces, ring):
            part = chunk_bytes // _FIRST_PART  # (so that a pool thread starts sooner)
            chunks = (_file_chunks(fd, chunk_bytes, len(ring), ring, part) if fd is not None
                      else _chunker(partial(_stream_read, stream), chunk_bytes, len(ring),
                                    ring, part))
            _read_on_pool(chunks, decoder, pool, list(spaces), absorb, chores, fd)
        done = True
    finally:
        if fd is not None:
            # after an error a pool thread may still be reading it: closed once they end
            later = None if done else getattr(pool, "close_after", None)
            if later is not None:
                later(fd)
            else:
                os.close(fd)


def _read_on_pool(chunks, decoder, pool, free, absorb, chores: deque | None = None,
                  fd: int | None = None) -> None:
    """:func:`_read_nmea` on ``pool`` and this thread, with the workspaces in ``free``:
    ``chunks`` as :func:`_file_chunks` yields them (those with an offset read from ``fd``
    where they are decoded).

    Each chunk is given a workspace when it is read, and submitted to the pool; it decodes
    into the workspace without copying its rows out: the workspace returns to ``free`` once
    the chunk is absorbed (its rows copied into the final columns), so chunks in flight are
    at most the workspaces. This thread reads ahead while a workspace is free, absorbs the
    first chunk in line once it is done, and otherwise decodes the oldest chunk no pool
    thread has started (taking it back from the pool): so the pool has one thread fewer
    than the cores, and no more threads run than there are cores. The oldest, not the
    newest: a chunk decoded here is then next in line, absorbed as soon as the chunks the
    pool decodes before it are, rather than held (with its workspace) behind all of them
    until the end, to run on this thread alone while the pool's threads have nothing left
    to do (N-AIS, two threads: 4-6 absorbs, 1-1.5 ms, after the last decode). When no pool
    thread has started the oldest chunk by the time the next one is read (the pool's
    threads are asleep or not yet scheduled), this thread decodes that one first.
    ``chores``: (future, function, arguments) the next chunk's task a pool thread runs
    runs before decoding it (so that such work waits for no chunk queued before it; a
    chunk taken back here leaves them to the pool: they are this thread's work handed
    over, and a chore not run is never waited for).
    """

    def task(a, n, continued, offset, ws, here=False):
        while chores and not here:  # work handed over by the calling thread (_read_nmea)
            try:
                done, fn, args = chores.popleft()
            except IndexError:  # (taken by another thread meanwhile)
                break
            try:
                done.set_result(fn(*args))
            except BaseException as exc:  # (raised where the result is used)
                done.set_exception(exc)
        if offset is not None:
            _read_at(a, n, fd, offset)
        res = decode_chunk(a, n, continued, ws, copy=False)
        return res, _prepare(res, decoder.valid_ns, decoder.chunk_names)

    pending: deque = deque()  # [future, buffer, bytes, continued, offset, workspace]

    def absorb_first() -> None:
        fut, buf, used, _, _, ws = pending.popleft()
        res, prep = fut.result()
        absorb(res, buf, used, prep)
        free.append(ws)

    def take_back(entries) -> bool:
        """Decode here the first chunk of ``entries`` no pool thread has started (False:
        none)."""
        for entry in entries:
            if entry[0].cancel():
                done = Future()
                done.set_result(task(*entry[1:], here=True))
                entry[0] = done
                return True
        return False

    more = True
    while more or pending:
        if more and free:
            chunk = next(chunks, None)
            if chunk is None:
                more = False
            else:
                ws = free.pop()
                pending.append([pool.submit(task, *chunk, ws), *chunk, ws])
                # no pool thread took the oldest chunk not decoded while this one was read
                # (they are asleep, or not yet running: a new thread's first wake-up takes
                # 0.1 to 5 ms): decode it here rather than read further ahead
                oldest = next((e for e in pending if not e[0].done()), pending[-1])
                if oldest is not pending[-1] and not oldest[0].running():
                    take_back((oldest,))
        elif pending[0][0].done() or not take_back(pending):
            absorb_first()


class _Pool:
    """The decoding threads of one :func:`read_ais` call: ``submit`` and ``shutdown`` as a
    :class:`concurrent.futures.ThreadPoolExecutor`'s (futures that can be cancelled until
    a thread starts them), its ``n`` threads started at once without waiting for them to
    run.

    ``ThreadPoolExecutor`` starts each thread with :meth:`threading.Thread.start`, which
    waits until the new thread has run: 0.2 ms on an idle two-core host, and 2-6 ms
    (median) while other processes keep both cores busy, all before the first chunk was
    read. Here the calling thread opens the file and reads the first chunk meanwhile. The
    threads exit on :meth:`shutdown` once their task (if any) is done, and
    ``shutdown(wait=True)`` (or :meth:`join`) returns once every one has ended, so that a
    call leaves no thread of its own running behind it, whether it returns or raises.
    """

    def __init__(self, n: int):
        self._n = int(n)
        self._queue: queue.SimpleQueue = queue.SimpleQueue()
        self._stopped = False
        self._fds: list = []  # closed once every thread has ended (close_after)
        # what tells when each thread has ended: its handle (Python 3.13 and later), or a
        # lock the thread releases once it has set up ``_ends`` (see _work)
        self._handles: list = []
        self._ready: list = []
        self._ends: list = []
        start = getattr(_thread, "start_joinable_thread", None)
        for _ in range(self._n):
            if start is not None:
                self._handles.append(start(self._work, daemon=True))
                continue
            ready = _thread.allocate_lock()
            ready.acquire()
            self._ready.append(ready)
            _thread.start_new_thread(self._work, (ready,))

    def submit(self, fn, *args) -> Future:
        """Run ``fn(*args)`` on a pool thread; its future."""
        future = Future()
        self._queue.put((future, fn, args))
        return future

    def _work(self, ready=None) -> None:
        # without a handle: a lock the interpreter releases once this thread's state is
        # gone (Python 3.12 and older), else one released as the thread's last Python step
        sentinel = getattr(_thread, "_set_sentinel", None)
        end = None
        if ready is not None:
            end = sentinel() if sentinel is not None else _thread.allocate_lock()
            end.acquire()
            self._ends.append(end)  # (list.append is atomic)
            ready.release()
        try:
            while True:
                task = self._queue.get()
                if task is None:
                    return
                future, fn, args = task
                del task
                if future.set_running_or_notify_cancel():
                    try:
                        result = fn(*args)
                    except BaseException as exc:  # (raised where the result is asked for)
                        future.set_exception(exc)
                    else:
                        future.set_result(result)
                        del result
                del future, fn, args  # (no reference kept while waiting for the next task)
        finally:
            if end is not None and sentinel is None:
                end.release()

    def shutdown(self, wait: bool = False, cancel_futures: bool = True) -> None:
        """Let the threads exit once idle: tasks not started are cancelled (with
        ``cancel_futures``); with ``wait``, return once every thread has ended (see
        :meth:`join`). Calling it again only waits (when asked)."""
        if not self._stopped:
            self._stopped = True
            if cancel_futures:
                while True:
                    try:
                        task = self._queue.get_nowait()
                    except queue.Empty:
                        break
                    if task is not None:
                        task[0].cancel()
            for _ in range(self._n):
                self._queue.put(None)
        if wait:
            self.join()

    def join(self) -> None:
        """Wait until every thread has ended (after :meth:`shutdown`: each ends once its
        task, if any, is done)."""
        for handle in self._handles:
            handle.join()
        for ready in self._ready:  # (a thread not yet run: it is, once this returns)
            ready.acquire()
            ready.release()
        for end in self._ends:
            end.acquire()
            end.release()
        while self._fds:
            os.close(self._fds.pop())

    def close_after(self, fd: int) -> None:
        """Close file descriptor ``fd`` once every thread has ended (:meth:`join`)."""
        self._fds.append(fd)


class _LazyPool:
    """A :class:`_Pool` of ``n`` threads started when first used (:meth:`start`, or a
    task submitted): a read whose files are all decoded on the calling thread alone
    (:func:`_nmea_threads`) starts and joins no thread. ``shutdown`` and ``close_after``
    as the pool's (no-ops before it is started)."""

    def __init__(self, n: int):
        self._n = int(n)
        self._pool = None

    @property
    def started(self) -> bool:
        """Whether the threads were started."""
        return self._pool is not None

    def start(self) -> _Pool:
        """The pool, its threads started now if they were not."""
        if self._pool is None:
            self._pool = _Pool(self._n)
        return self._pool

    def submit(self, fn, *args) -> Future:
        """Run ``fn(*args)`` on a pool thread (started now if need be); its future."""
        return self.start().submit(fn, *args)

    def close_after(self, fd: int) -> None:
        """As :meth:`_Pool.close_after` (closed now when no thread was started)."""
        later = getattr(self._pool, "close_after", None)
        if later is None:
            os.close(fd)
        else:
            later(fd)

    def shutdown(self, wait: bool = False, cancel_futures: bool = True) -> None:
        """As :meth:`_Pool.shutdown` (nothing to do when no thread was started)."""
        if self._pool is not None:
            self._pool.shutdown(wait, cancel_futures)


def _run_started(pool, fn, *args) -> Future:
    """``pool.submit(fn, *args)``, returning once a pool thread has started it: a compiled
    ``fn`` that releases the GIL then runs beside this thread's Python work (submitted
    alone, it would wait for this thread to release the GIL, i.e. until its result is
    asked for). When no pool thread starts it within :data:`_START_WAIT_S`, it is taken
    back and run here."""
    started = threading.Event()

    def task():
        started.set()
        return fn(*args)

    future = pool.submit(task)
    if not started.wait(_START_WAIT_S) and future.cancel():
        future = Future()
        future.set_result(fn(*args))
    return future


#: Longest wait for an idle pool thread to start a task (it takes tens of microseconds).
_START_WAIT_S = 0.05

#: Fewest static records, plus position time ranges (two per row), whose grouping for the
#: vessels table is handed to a pool thread (about 20 ns per record, 2-4 ns per time;
#: handing it over costs two thread wake-ups, 0.1 ms).
_GROUPS_ON_POOL = 8192


def _fill(stream, view) -> int:
    """Read from ``stream`` (a :class:`_Prefixed`) into ``view`` until it is full or the
    stream ends; bytes read."""
    total = 0
    while total < len(view):
        got = stream.readinto(view[total:])
        if not got:
            break
        total += got
    return total


def _line_cut(data, end: int, whole: bool = True, cr: bool = False) -> int | None:
    """Where a chunk read in full (``data[:end]``) is cut: after its last '\\n', or (old Mac
    files) a '\\r' not the last byte read (that one may be the first half of a '\\r\\n' split
    by the read), moved back before header lines ($PGHP or tag-block-only lines: they
    belong with the sentence after them; a line ends at a '\\n', a '\\r' or both, as the
    kernel reads it); 0 when no line ends in it. With ``whole`` False, ``data[:end]`` is
    only the chunk's last bytes: None when its cut needs bytes before them (no line end in
    them, or a header line moved over that may start before them); ``cr``: the file's lines
    end in CR alone (:func:`_cr_only`), so that bytes with no '\\n' are cut at a '\\r' too."""
    cut = data.rfind(b"\n", 0, end) + 1
    if not cut:
        if not (whole or cr):
            return None
        cut = data.rfind(b"\r", 0, end - 1) + 1
        if not cut:
            return 0 if whole else None
    for _ in range(3):
        start = _line_start(data, cut)
        if start == 0:  # (the chunk's first line, or one that may start before ``data``)
            return cut if whole else None
        if not _is_header(data[start:cut].rstrip()):
            break
        cut = start
    return cut


def _line_start(data, cut: int) -> int:
    """Where the line that ends just before ``cut`` (with a '\\n', a '\\r' or '\\r\\n')
    starts: after the line end before it, or 0."""
    end = cut - 1  # its line end
    if end > 0 and data[end] == 10 and data[end - 1] == 13:
        end -= 1
    return max(data.rfind(b"\n", 0, end), data.rfind(b"\r", 0, end)) + 1


def _is_header(line: bytes) -> bool:
    """A ``$PGHP`` or tag-block-only line: it belongs with the sentence after it."""
    return line.startswith(b"$PGHP") or (line.startswith(b"\\") and line.endswith(b"\\"))


def _utc_times(frame: pd.DataFrame) -> pd.DataFrame:
    """``frame`` with its int64-ns ``time`` column as UTC datetimes."""
    frame["time"] = pd.Series(np.asarray(frame["time"], dtype=np.int64).view("datetime64[ns]"),
                              index=frame.index).dt.tz_localize("UTC")
    return frame


# --------------------------------------------------------------------------- entry point
def _read_sources(source, format, decoder, report, tables, table_statics, chunk_bytes, pool,
                  n_workers, columns=None, auto_workers: bool = False) -> None:
    """Read every source: NMEA through ``decoder``, decoded tables into ``tables``
    (``auto_workers``: ``n_workers`` is the default, and an NMEA file a second thread
    would not speed up is read on the calling thread alone; see :func:`_nmea_threads`)."""
    from .csv_formats import read_table

    for src in open_sources(source):
        fmt = _sniff(src.head) if format == "auto" else format
        if fmt == "nmea":
            decoder.start_file(src.name)
            plain = src.size_hint is not None and not src.compressed  # (a file's own bytes)
            threads = (_nmea_threads(src.head, src.size_hint if plain else None, n_workers)
                       if auto_workers else n_workers)
            if threads > 1:
                pool.start()  # (its threads wake while this one reads the first chunk)
            _read_nmea(src.stream, decoder, _balanced_chunk(src.size_hint, chunk_bytes,
                                                            threads),
                       pool if threads > 1 else None, threads, src.size_hint,
                       src.path if plain else None)
        else:
            if columns is not None and fmt in ("marinecadastre", "dma"):
                fmt = "csv"  # the user's mapping wins over the known layout
            if pool is not None:
                pool.start()  # (before the table is read: its threads wake meanwhile)
            positions, statics = read_table(src.stream, fmt, report, columns=columns,
                                            name=src.name, pool=pool, workers=n_workers)
            positions["file"] = _string_runs([(src.name, len(positions))])
            if statics is not None:
                statics["file"] = _string_runs([(src.name, len(statics))])
            tables.append(positions)
            table_statics.append(statics)
        if src.error is not None:
            report.add_note("truncated_compressed_files")
            warnings.warn(f"{src.name}: compressed data ends early ({src.error}); "
                          "decoded everything before the break", RuntimeWarning,
                          stacklevel=2)


def _read_all(source, format, decoder, report, chunk_bytes, pool, n_workers, columns,
              valid_ns, auto_workers: bool = False) -> AISData:
    """:func:`read_ais` once its arguments are checked and its ``pool`` started."""
    tables, table_statics = [], []
    try:
        _read_sources(source, format, decoder, report, tables, table_statics, int(chunk_bytes),
                      pool, n_workers, columns, auto_workers)
        # (implausible times dropped already; the vessels' compiled grouping on the pool)
        positions, statics_frame = decoder.finish(  # (a pool not started stays so)
            None if pool is None or tables or not pool.started else partial(_run_started,
                                                                            pool),
            vessels=not tables)
    finally:
        if pool is not None:  # every chunk was taken (or the read failed): the threads told
            pool.shutdown(wait=False, cancel_futures=True)  # to exit (read_ais waits at its end)
    if tables:  # decoded tables: their implausible times dropped here
        table_positions = pd.concat(tables, ignore_index=True)
        extra = [_utc_times(s) for s in table_statics if s is not None and len(s)]
        table_statics = pd.concat(extra, ignore_index=True) if extra else None
        table_positions, table_statics = drop_implausible_times(
            table_positions, table_statics, report, valid_ns)
        positions = (pd.concat([positions, table_positions], ignore_index=True)
                     if len(positions) else table_positions)
        if table_statics is not None and len(table_statics):
            statics_frame = (table_statics if statics_frame is None else
                             pd.concat([statics_frame, table_statics], ignore_index=True))
    if tables or decoder.stat_arrays is None:
        vessels = build_vessels(statics_frame, positions)
    else:  # from the decoded columns: the same table without pandas' per-column overhead
        vessels = vessels_from_columns(decoder.stat_arrays, started=decoder.vessels_started)
    try:
        report.check()
    except AssertionError as exc:  # a bug of ours, not of the input: say so, keep the data
        report.add_note("unaccounted_records", report.lines - report.decoded_lines
                        - sum(report.skipped.values()))
        warnings.warn(f"{exc} (please report this as a stsdetect bug)", RuntimeWarning,
                      stacklevel=3)  # (the caller of read_ais)
    if tables or statics_frame is None:
        statics_frame = build_statics(statics_frame)  # (the decoder's own is typed already)
    return AISData(positions=positions, vessels=vessels, report=report, statics=statics_frame)


def read_ais(source, *, format: str = "auto", chunk_bytes: int = DEFAULT_CHUNK_BYTES,
             multipart_window: int = 100, max_open_groups: int = 1000,
             workers: int | None = None, valid_times: str = DEFAULT_VALID_TIMES,
             columns=None) -> AISData:
    """Read AIS dumps into positions, vessels and a decode report.

    Parameters
    ----------
    source : str, path-like, list of paths or globs, file object or iterable of lines
        The dump(s). gzip, bzip2, xz and zstd data (recognised by their magic bytes) are
        decompressed on the fly, and every member of a ZIP archive is read (see
        :mod:`stsdetect.ais.sources`). A path that exists is read as itself; only a path that
        does not exist is expanded as a glob. A list whose items are all path-likes or strings
        without a comma is a list of paths or globs; any other list or iterable is lines of a dump
        (every supported line layout has commas).
    format : {'auto', 'nmea', 'marinecadastre', 'dma', 'gfw_jsonl'}, default 'auto'
        'auto' looks at the start of each file: a MarineCadastre header (``MMSI,BaseDateTime``),
        a Danish Maritime Authority header (``# Timestamp,Type of mobile``), GFW JSON lines
        (``{"ssvid": ...}``) or else NMEA. 'nmea' covers every NMEA variant (bare sentences of
        any talker, tag blocks, $PGHP, leading/trailing time columns, sentences run together).
    chunk_bytes : int, default 1 MiB (:data:`DEFAULT_CHUNK_BYTES`)
        Bytes read and decoded at once; working memory is a small multiple of this (the
        output tables grow with the dump, the working set does not).
    multipart_window : int, default 100
        Records after its first fragment within which a multipart message must complete
        (see :class:`~stsdetect.ais.kernel.Assembler`).
    max_open_groups : int, default 1000
        Most incomplete multipart messages held at once.
    workers : int, optional
        Threads that decode NMEA chunks at once (the compiled kernel releases the GIL; the
        results are taken in input order, so the output does not depend on it): the calling
        thread and ``workers - 1`` pool threads. Default: the CPUs this process may run on,
        at most :data:`MAX_DEFAULT_WORKERS`, except that a plain NMEA file too small for a
        second thread to pay (about 2.7 MB of dense sentences or 1.4 MB of bare VDM, told
        from its size and first 64 KiB) is decoded on the calling thread alone; 1 decodes
        in the calling thread alone.
    columns : dict or str, optional
        Which column of a CSV of another layout holds each field: ``{"mmsi": "ID", "time":
        "ais_pos_timestamp", "lat": "latitude", "lon": "longitude"}`` or the same as
        ``"mmsi=ID,time=ais_pos_timestamp,lat=latitude,lon=longitude"``; optional keys
        ``sog``, ``cog``, ``heading``, ``nav_status``. Without it, a CSV whose header is not
        MarineCadastre's or DMA's is read when its columns have common names (``mmsi``,
        ``timestamp``, ``latitude`` ...; :data:`stsdetect.ais.csv_formats.CSV_ALIASES`), and
        otherwise raises ValueError listing its columns and the accepted layouts. Numeric
        times are Unix seconds, ms, us or ns, told by their size.
    valid_times : str or tuple, default "2002-01-01..now+1d"
        Plausible report times (contract C6, :mod:`stsdetect.ais.plausible`): records stamped
        outside are counted under ``implausible_time`` and dropped. ``"FROM..TO"`` with ISO
        dates, ``now`` or ``now+1d``; an empty side keeps its default (``"1990-01-01.."``).

    Returns
    -------
    AISData
        ``positions``, ``vessels``, ``report`` and ``statics`` (the static history: every
        type 5, 19 and 24 record with its time).

    Raises
    ------
    ValueError
        Unknown ``format`` or a non-positive ``chunk_bytes``.
    FileNotFoundError
        A path or glob that matches nothing.
    TypeError
        A source of an unsupported type.
    """
    if format not in FORMATS:
        raise ValueError(f"unknown format {format!r}; valid formats: {', '.join(FORMATS)}")
    if int(chunk_bytes) < 1024:
        raise ValueError(f"chunk_bytes must be at least 1024, got {chunk_bytes!r}")
    valid_ns = valid_time_range(valid_times)  # a bad window or mapping fails before reading
    from .csv_formats import parse_columns

    parse_columns(columns)
    auto_workers = workers is None
    if auto_workers:
        affinity = getattr(os, "sched_getaffinity", None)
        workers = min(len(affinity(0)) if affinity else (os.cpu_count() or 1),
                      MAX_DEFAULT_WORKERS)
    n_workers = int(workers)
    if n_workers < 1:
        raise ValueError(f"workers must be at least 1, got {workers!r}")
    report = DecodeReport()
    decoder = _NmeaDecoder(report, multipart_window, max_open_groups, valid_ns)
    # on threads, each chunk's source names are made as strings where it is decoded
    decoder.chunk_names = n_workers > 1 and _arrow_strings()
    # (the calling thread decodes too: the pool has the other threads, started now)
    pool = _LazyPool(n_workers - 1) if n_workers > 1 else None
    try:
        return _read_all(source, format, decoder, report, int(chunk_bytes), pool, n_workers,
                         columns, valid_ns, auto_workers)
    finally:
        if pool is not None:  # every pool thread has ended when the call returns or raises
            pool.shutdown(wait=True, cancel_futures=True)  # (after an error: once its chunk
            # is decoded; by then, after a return, they are long gone)
