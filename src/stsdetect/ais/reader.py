"""``read_ais``: positions, vessels and a decode report from AIS dumps of any common layout."""

from __future__ import annotations

import mmap
import re
import warnings
from dataclasses import dataclass

import numpy as np
import pandas as pd

from .framing import FAST_BLOCK_LINES, NAT_NS, PART_FIELDS, frame_chunk
from .multipart import MultipartAssembler
from .plausible import DEFAULT_VALID_TIMES, drop_implausible_times, valid_time_range
from .report import DecodeReport
from .sixbit import OUT_FIELDS, POSITION_TYPES, decode_positions, sixbit_values
from .sources import open_sources
from .statics import STATICS_SKIP_REASONS, build_statics, build_vessels, decode_statics

__all__ = ["FORMATS", "POSITION_COLUMNS", "AISData", "read_ais"]

#: Values accepted by ``read_ais(format=...)``.
FORMATS = ("auto", "nmea", "marinecadastre", "dma", "gfw_jsonl", "csv")

#: Columns of the positions table, in order.
POSITION_COLUMNS = ["mmsi", "time", "lat", "lon", "sog_kn", "cog_deg", "heading_deg",
                    "nav_status", "msg_type", "source", "file", "line"]

#: Default chunk size. 2 MiB (about 29 000 tag-blocked sentences): the fast path and the
#: position decoder work on blocks of framing.FAST_BLOCK_LINES lines within a chunk, so the
#: chunk size trades the fixed per-chunk cost (the general path on the chunk's odd lines)
#: against memory traffic. On the benchmark dump (benchmarks/bench_decode.py, 1.2M
#: sentences), alternating runs measured 0.49 s CPU (best of 15) against 0.51 s for 1 MiB and
#: 0.51 s for 4 MiB.
DEFAULT_CHUNK_BYTES = 2**21

# Static messages waiting to be decoded together (decode_statics has a fixed cost per call).
_STATICS_BATCH = 4096
_STATIC_FIELDS = ("mmsi", "msg_type", "imo", "callsign", "name", "ship_type", "length_m",
                  "beam_m", "draught_m", "destination")

# 6-bit message type value -> 1 position report, 2 static message, 0 other
_TYPE_GROUP = np.zeros(256, dtype=np.int8)
_TYPE_GROUP[list(POSITION_TYPES)] = 1
_TYPE_GROUP[[5, 24]] = 2


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
    for line in head.splitlines():
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
    return "nmea"


#: A CSV header of another layout: no sentence characters, three or more names that start
#: with a letter (an NMEA line always has '!' or '$'; a data row starts with a number).
_CSV_HEADER = re.compile(rb'^(?:"?[A-Za-z_][^,!$\\]*"?\s*[,;\t]\s*){2,}"?[A-Za-z_][^,!$\\]*"?$')


# --------------------------------------------------------------------------- NMEA
#: Columns of decoded position rows as the reader collects them (``time`` as int64 ns,
#: ``source`` as codes into the reader's source names).
_ROW_DTYPES = {"mmsi": np.int64, "time": np.int64, "lat": np.float64, "lon": np.float64,
               "sog_kn": np.float64, "cog_deg": np.float64, "heading_deg": np.float64,
               "nav_status": np.int8, "msg_type": np.int8, "source": np.int32,
               "record": np.int64}

#: Bytes of the shortest line that can hold a position report: ``!AIVDM,1,1,,,`` + 16
#: payload characters (a type 27 report, 96 bits) + ``,0*hh`` + a newline is 35; 32 leaves a
#: margin. A plain file of ``S`` bytes therefore holds fewer than ``S / 32`` reports.
_MIN_BYTES_PER_REPORT = 32

#: Most rows one segment of the row store reserves at once (2**27 rows: 1 GiB per int64
#: column, of address space; only the rows written are ever touched).
_MAX_SEGMENT_ROWS = 2**27


_allocator_ready = False


def _raise_malloc_thresholds() -> None:
    """Let glibc's malloc keep freed chunk-sized buffers instead of returning them to the OS.

    glibc serves a request above its mmap threshold (128 KiB at start) with a fresh mapping,
    and gives freed heap memory back to the OS once more than its trim threshold (twice the
    mmap threshold) is free; both rise the first time a larger mapped block is freed
    (mallopt(3), "dynamic mmap threshold", up to 32 MiB). The reader's temporaries, 0.1 to
    4 MiB, are freed after every chunk, so until then every chunk page-faults its working set
    anew: on the bench dump (benchmarks/bench_decode.py), a fresh process took 58k page faults
    and 0.45 s CPU, against 8k and 0.39 s after one 16 MiB block is allocated and freed here
    first. Other allocators ignore this; the memory kept is at most 32 MiB.
    """
    global _allocator_ready
    if not _allocator_ready:
        np.empty(16 << 20, dtype=np.uint8)  # allocated and freed at once, never touched
        _allocator_ready = True


_NO_HUGE_PAGES = getattr(mmap, "MADV_NOHUGEPAGE", None)


def _column(n_rows: int, dtype) -> np.ndarray:
    """An uninitialised column of ``n_rows`` in its own mapping, on small pages.

    NumPy asks the kernel for transparent huge pages for every array of 4 MiB or more; the
    reader's output columns are touched once, row block by row block, where a huge page
    fault has to find and clear 2 MiB at once. On the VM measured here that cost a fresh
    process 0.1 to 0.25 s of system time on the bench dump (1.2M lines; 0.5 s on 3M lines)
    whenever the host was in a state that made huge pages dear (often right after another
    long process), against 0.04 to 0.08 s (0.2 s) on 4 KiB pages. Where the kernel has no
    such advice (not Linux), a plain array.
    """
    nbytes = n_rows * np.dtype(dtype).itemsize
    if _NO_HUGE_PAGES is None or nbytes < (4 << 20):
        return np.empty(n_rows, dtype=dtype)
    buf = mmap.mmap(-1, nbytes)
    buf.madvise(_NO_HUGE_PAGES)
    return np.frombuffer(buf, dtype=dtype, count=n_rows)


class _RowStore:
    """Position rows collected chunk by chunk into preallocated column segments.

    Rows are written into the current segment while it has room; when a file's size bounds
    its rows (:meth:`reserve`), one segment holds them all and :meth:`columns` returns views of
    it: no final concatenation, and every row's memory is touched once. Otherwise a new
    segment is started whenever one fills up, and the segments are concatenated at the end.
    """

    def __init__(self):
        self.segments: list = []  # [columns dict, rows used, capacity]
        self.n_rows = 0

    def reserve(self, n_rows: int) -> None:
        """Make room for ``n_rows`` more rows in one segment (address space only; a hint,
        capped at :data:`_MAX_SEGMENT_ROWS`)."""
        if not self.segments or self.segments[-1][2] - self.segments[-1][1] < n_rows:
            self._new_segment(min(max(n_rows, 1), _MAX_SEGMENT_ROWS))

    def _new_segment(self, n_rows: int) -> None:
        n_rows = int(n_rows)
        self.segments.append([{k: _column(n_rows, d) for k, d in _ROW_DTYPES.items()},
                              0, n_rows])

    def claim(self, n_rows: int) -> tuple:
        """Room for ``n_rows`` rows at the end of one segment: (its columns, first row).

        The caller writes the rows there itself (the decoder decodes into them) and gives
        back what it does not use with :meth:`shrink`.
        """
        if not self.segments or self.segments[-1][2] - self.segments[-1][1] < n_rows:
            # twice the last segment (within the cap), and never less than asked for
            last = self.segments[-1][2] if self.segments else 1 << 16
            self._new_segment(max(n_rows, min(2 * last, _MAX_SEGMENT_ROWS)))
        seg = self.segments[-1]
        first = seg[1]
        seg[1] += n_rows
        self.n_rows += n_rows
        return seg[0], first

    def shrink(self, n_rows: int) -> None:
        """Give back the last ``n_rows`` rows claimed or appended."""
        self.segments[-1][1] -= n_rows
        self.n_rows -= n_rows

    def append(self, cols: dict) -> None:
        """Append rows (a dict of equal-length arrays with the keys of :data:`_ROW_DTYPES`)."""
        n = len(cols["mmsi"])
        into, first = self.claim(n)
        for k, col in into.items():
            col[first:first + n] = cols[k]

    def columns(self) -> dict | None:
        """The rows collected, as one array per column (None when there are none)."""
        used = [(cols, n) for cols, n, _ in self.segments if n]
        self.segments = []
        if not used:
            return None
        if len(used) == 1:
            cols, n = used[0]
            return {k: v[:n] for k, v in cols.items()}
        return {k: np.concatenate([cols[k][:n] for cols, n in used]) for k in _ROW_DTYPES}


class _NmeaDecoder:
    """Chunked NMEA decode state: multipart assembler, collected rows and the report."""

    def __init__(self, report: DecodeReport, window_records: int, max_open_groups: int):
        self.report = report
        self.asm = MultipartAssembler(window_records, max_open_groups)
        self.record_offset = 0
        self.rows = _RowStore()
        self._blocks: list = []  # this chunk's decoded rows, before they are put in order
        self._stored = None  # (columns, first row, records) of rows decoded into the store
        self._queued: dict = {k: [] for k in ("payload", "n_chars", "fill", "msg_type",
                                              "time", "record", "counted")}
        self._n_queued = 0
        self.statics: dict = {k: [] for k in (*_STATIC_FIELDS, "time", "record")}
        self.source_names = [""]
        self._source_code = {"": 0}
        # provenance: records not first on their line (reader-wide numbers), and each file's
        # (name, first record)
        self._extra: list = []
        self._files: list = []
        self._continued = False  # the next chunk's first line continues the last one's

    def start_file(self, name: str) -> None:
        """Records fed from here on come from ``name``, numbered from its line 1."""
        self._files.append((name, self.record_offset))
        self._continued = False

    def provenance(self, records: np.ndarray) -> tuple:
        """(file codes into :attr:`file_names`, 1-based line numbers) of reader-wide records."""
        records = np.asarray(records, dtype=np.int64)
        extra = (np.concatenate(self._extra) if self._extra
                 else np.zeros(0, dtype=np.int64))
        first = np.array([f for _, f in self._files] or [0], dtype=np.int64)
        code = np.searchsorted(first, records, side="right") - 1
        # a record's line, counted over every file: its number less the extra records up to it
        line0 = records - np.searchsorted(extra, records, side="right")
        start0 = first - np.searchsorted(extra, first, side="left")
        return code.astype(np.int32), line0 - start0[code] + 1

    @property
    def file_names(self) -> list:
        """The names of the files fed, in order (:meth:`provenance` codes index them)."""
        return [name for name, _ in self._files] or [""]

    def _emit_positions(self, dec, time_ns, source, types, records):
        """Count decoded position rows and keep the good ones as a block (see _store_blocks)."""
        keep = self._count_positions(dec, types)
        sel = slice(None) if keep.all() else keep  # all kept: no copies
        block = {k: dec[k][sel] for k in OUT_FIELDS}
        block.update(time=time_ns[sel], source=source[sel], record=records[sel])
        self._blocks.append(block)
        return keep

    def _decode_into_rows(self, buf, positions: list) -> None:
        """Decode a chunk's single-part position reports straight into the row store.

        ``positions``: (group of single-part rows, which of its rows) pairs. Rows that turn
        out bad are squeezed out afterwards; if the rows are not in record order (reports
        from more than one line layout), they are taken back out and put in order with the
        chunk's other rows by :meth:`_store_blocks`. Type 19 reports also queue their
        static data.
        """
        n = sum(gr["record"][rows].size for gr, rows in positions)
        cols, first = self.rows.claim(n)
        keep = np.empty(n, dtype=bool)
        records = []
        at = first
        for gr, rows in positions:  # a loop over line layouts
            p0, n_chars, fill = gr["p0"][rows], gr["n_chars"][rows], gr["fill"][rows]
            types, time_ns = gr["msg_type"][rows], gr["time_ns"][rows]
            record = gr["record"][rows] + self.record_offset
            m = p0.size
            for i in range(0, m, FAST_BLOCK_LINES):  # blocks of cache-sized rows
                b = slice(i, i + FAST_BLOCK_LINES)
                into = slice(at + i, at + min(i + FAST_BLOCK_LINES, m))
                dec = decode_positions(buf, p0[b], n_chars[b], fill[b],
                                       out={k: cols[k][into] for k in OUT_FIELDS})
                keep[into.start - first:into.stop - first] = self._count_positions(dec,
                                                                                   types[b])
            cols["time"][at:at + m] = time_ns
            cols["source"][at:at + m] = gr["source"][rows]
            cols["record"][at:at + m] = record
            b19 = np.flatnonzero(keep[at - first:at - first + m] & (types == 19))
            if b19.size:  # class B position and static data
                self._queue_statics(buf, p0[b19], n_chars[b19], fill[b19], types[b19],
                                    time_ns[b19], record[b19], counted=False)
            records.append(record)
            at += m
        records = np.concatenate(records) if len(records) > 1 else records[0]
        mine = slice(first, first + n)
        n_kept = n
        if not keep.all():
            n_kept = int(keep.sum())
            for col in cols.values():
                col[first:first + n_kept] = col[mine][keep]
            self.rows.shrink(n - n_kept)
            records = records[keep]
        if n_kept > 1 and not (records[1:] > records[:-1]).all():
            self._blocks.append({k: col[first:first + n_kept].copy() for k, col in cols.items()})
            self.rows.shrink(n_kept)
        elif n_kept:
            self._stored = (cols, first, records)

    def _count_positions(self, dec, types) -> np.ndarray:
        """Count decoded position rows by type and skip reason; return which ones are good."""
        rep = self.report
        mmsi = dec["mmsi"]
        bad_char = dec["bad_char"]
        # MMSI outside 1 .. 999999999: as unsigned, mmsi - 1 above 999999998
        bad_mmsi = (mmsi.view(np.uint64) - np.uint64(1)) > np.uint64(999_999_998)
        if not (bad_char.any() or dec["short"].any() or dec["out_of_range"].any()
                or bad_mmsi.any()):  # the usual block: every row good
            counts = np.bincount(types, minlength=28)
            for t in np.flatnonzero(counts):
                rep.add_decoded(int(t), int(counts[t]))
            return np.ones(types.size, dtype=bool)
        short = dec["short"] & ~bad_char
        rep.add_skip("bad_payload_char", bad_char.sum())
        short |= bad_char  # from here on: rows already accounted for
        bad_mmsi &= ~short
        oor = ~short & ~bad_mmsi & dec["out_of_range"]
        keep = ~(short | bad_mmsi | oor)
        rep.add_skip("short_payload", (short & ~bad_char).sum())
        rep.add_skip("invalid_mmsi", bad_mmsi.sum())
        rep.add_skip("out_of_range_position", oor.sum())
        counts = np.bincount(types[keep], minlength=28)
        for t in np.flatnonzero(counts):
            rep.add_decoded(int(t), int(counts[t]))
        return keep

    def _queue_statics(self, buf, p0, n_chars, fill, msg_type, time_ns, record,
                       counted: bool) -> None:
        """Queue static messages (payloads ``buf[p0 : p0 + n_chars]``) for :meth:`_decode_statics`.

        ``counted``: whether they are records of their own (types 5, 24) whose outcome the
        report counts, or the static half of a type 19 position report, already counted.
        """
        if not p0.size:
            return
        q = self._queued
        q["payload"].append(_segments(buf, p0, n_chars))
        q["n_chars"].append(n_chars)
        q["fill"].append(fill)
        q["msg_type"].append(msg_type)
        q["time"].append(time_ns)
        q["record"].append(record)
        q["counted"].append(np.full(p0.size, counted))
        self._n_queued += p0.size
        if self._n_queued >= _STATICS_BATCH:
            self._decode_statics()

    def _decode_statics(self) -> None:
        """Decode the queued static messages at once, count their outcomes, keep the good ones."""
        if not self._n_queued:
            return
        q = {k: np.concatenate(v) for k, v in self._queued.items()}
        for v in self._queued.values():
            v.clear()
        self._n_queued = 0
        n_chars = q["n_chars"]
        out = decode_statics(q["payload"], np.cumsum(n_chars) - n_chars, n_chars, q["fill"],
                             q["msg_type"])
        rep = self.report
        counted = q["counted"]
        reason = out["reason"]
        skips = np.bincount(reason[counted], minlength=len(STATICS_SKIP_REASONS))
        for code in np.flatnonzero(skips[1:]) + 1:  # code 0: decoded
            rep.add_skip(STATICS_SKIP_REASONS[code], int(skips[code]))
        ok = reason == 0
        bad_mmsi = ok & ((out["mmsi"] < 1) | (out["mmsi"] > 999_999_999))
        rep.add_skip("invalid_mmsi", (bad_mmsi & counted).sum())
        ok &= ~bad_mmsi
        counts = np.bincount(q["msg_type"][ok & counted], minlength=28)
        for t in np.flatnonzero(counts):
            rep.add_decoded(int(t), int(counts[t]))
        c = self.statics
        for k in _STATIC_FIELDS:
            c[k].append(out[k][ok])
        c["time"].append(q["time"][ok])
        c["record"].append(q["record"][ok])

    def _statics_frame(self) -> pd.DataFrame | None:
        """The decoded static records in input order (None when there are none)."""
        self._decode_statics()
        c = self.statics
        if not c["mmsi"]:
            return None
        cols = {k: np.concatenate(v) for k, v in c.items()}
        order = np.argsort(cols["record"], kind="stable")
        cols = {k: v[order] for k, v in cols.items()}
        code, line = self.provenance(cols.pop("record"))
        cols["file"] = pd.array(self.file_names, dtype="string").take(code)
        cols["line"] = line
        frame = pd.DataFrame(cols)
        if not len(frame):
            return None
        frame["ais_class"] = np.where(frame["msg_type"] == 5, "A", "B")
        return frame

    def feed(self, data: bytes, n: int | None = None, padded: bool = False) -> None:
        """Decode the first ``n`` bytes of ``data`` (whole lines; default: all of it).

        ``padded``: ``data`` (a bytearray) holds zero bytes after ``n`` (see frame_chunk).
        """
        fc = frame_chunk(data, n, padded)
        rep = self.report
        extra = fc.extra
        if self._continued and fc.n_records:
            # the first line is the rest of the previous chunk's last line (cut for length)
            extra = np.r_[0, extra[extra > 0]]
        if extra.size:
            self._extra.append(extra + self.record_offset)
        self._continued = False
        rep.lines += fc.n_records
        rep.sentences += fc.n_sentences
        for k, v in fc.skipped.items():
            rep.add_skip(k, v)
        for k, v in fc.notes.items():
            rep.add_note(k, v)
        buf = fc.buf
        # chunk source codes -> reader-wide codes (a loop over distinct names only)
        lookup = np.array([self._source_code.setdefault(nm, len(self._source_code))
                           for nm in fc.source_names], dtype=np.int32)
        self.source_names = list(self._source_code)
        # single-part sentences: the fast path's parts (one per line layout and block) and
        # the other single-part rows, as groups of the same columns
        groups = [dict(p, source=lookup[p["source"]]) for p in fc.parts]
        single = np.flatnonzero(fc.n_frags == 1)
        if single.size:
            groups.append({k: getattr(fc, k)[single] for k in PART_FIELDS})
            groups[-1]["source"] = lookup[groups[-1]["source"]]
        positions = []  # (group, its position rows)
        for gr in groups:  # a loop over line layouts
            kind = np.take(_TYPE_GROUP, gr["msg_type"])
            if (kind == 1).all():  # position reports only: the usual case, no gathers
                positions.append((gr, slice(None)))
                continue
            rows = np.flatnonzero(kind == 1)
            if rows.size:
                positions.append((gr, rows))
            st = np.flatnonzero(kind == 2)  # statics (5, 24)
            self._queue_statics(buf, gr["p0"][st], gr["n_chars"][st], gr["fill"][st],
                                gr["msg_type"][st], gr["time_ns"][st],
                                gr["record"][st] + self.record_offset, counted=True)
            counts = np.bincount(gr["msg_type"][kind == 0], minlength=28)  # other types
            for t in np.flatnonzero(counts):
                rep.add_decoded(int(t), int(counts[t]))
        if positions:
            self._decode_into_rows(buf, positions)
        # multipart fragments: assembled in arrival order
        multi = np.flatnonzero(fc.n_frags > 1)
        if multi.size:
            fc.source = lookup[fc.source]
            self._multipart(fc, multi[np.argsort(fc.record[multi], kind="stable")])
        self._store_blocks()
        self.record_offset += fc.n_records

    def _store_blocks(self) -> None:
        """Put this chunk's decoded rows into the row store, in input (record) order."""
        blocks, self._blocks = self._blocks, []
        stored, self._stored = self._stored, None
        blocks = [b for b in blocks if b["record"].size]
        if not blocks:
            return
        if stored is not None and stored[2][-1] > min(int(b["record"].min()) for b in blocks):
            # rows decoded into the store earlier in this chunk interleave with these: take
            # them back out (they are the store's last rows) and merge them all
            cols, first, records = stored
            n = records.size
            blocks.append({k: col[first:first + n].copy() for k, col in cols.items()})
            self.rows.shrink(n)
        ends = [(b["record"][0], b["record"][-1]) for b in blocks if b["record"].size]
        in_order = all((b["record"][1:] > b["record"][:-1]).all() for b in blocks) and all(
            ends[i][1] < ends[i + 1][0] for i in range(len(ends) - 1))
        if not in_order:  # rows from several layouts or from multipart messages: merge them
            order = np.argsort(np.concatenate([b["record"] for b in blocks]), kind="stable")
            blocks = [{k: np.concatenate([b[k] for b in blocks])[order] for k in blocks[0]}]
        for b in blocks:  # a loop over a few blocks per chunk
            self.rows.append(b)

    def _multipart(self, fc, multi) -> None:
        """Assemble the chunk's fragments: adjacent two-part pairs at once, the rest in order."""
        rep = self.report
        buf = fc.buf
        before = self.asm.incomplete
        # Fast path: fragment 1 of 2 directly followed by its fragment 2 (same talker, channel,
        # sequence id and tag-block group id) -- how receivers emit nearly all of them.
        cur, nxt = multi[:-1], multi[1:]
        pair = ((fc.n_frags[cur] == 2) & (fc.n_frags[nxt] == 2) & (fc.frag[cur] == 1)
                & (fc.frag[nxt] == 2) & (fc.record[nxt] == fc.record[cur] + 1)
                & (fc.talker[cur] == fc.talker[nxt]) & (fc.channel[cur] == fc.channel[nxt])
                & (fc.seq[cur] == fc.seq[nxt]) & (fc.group_id[cur] == fc.group_id[nxt]))
        first = cur[pair]
        second = nxt[pair]
        paired = np.zeros(multi.size, dtype=bool)
        paired[:-1] |= pair
        paired[1:] |= pair
        rep.add_skip("multipart_joined", first.size)
        t1, t2 = fc.time_ns[first], fc.time_ns[second]
        s1, s2 = fc.source[first], fc.source[second]
        # both fragments' payloads, one after the other, copied out in one gather
        seg_start = np.column_stack([fc.p0[first], fc.p0[second]]).ravel()
        seg_len = np.column_stack([fc.n_chars[first], fc.n_chars[second]]).ravel()
        joined = [_segments(buf, seg_start, seg_len)]
        lengths = [fc.n_chars[first] + fc.n_chars[second]]
        fills = [fc.fill[second]]
        times = [np.where(t1 != NAT_NS, t1, t2)]
        sources = [np.where(s1 != 0, s1, s2)]
        records = [fc.record[second] + self.record_offset]
        # General path: every other fragment, through the bounded assembler, in arrival order.
        rest = multi[~paired]
        done = []  # (payload bytes, fill, time_ns, source, record)
        for (group, total, n_frags, talker, channel, seq, p0, n_chars, record, frag, fill,
             time_ns, source) in zip(
                fc.group_id[rest].tolist(), fc.group_total[rest].tolist(),
                fc.n_frags[rest].tolist(), fc.talker[rest].tolist(),
                fc.channel[rest].tolist(), fc.seq[rest].tolist(), fc.p0[rest].tolist(),
                fc.n_chars[rest].tolist(), (fc.record[rest] + self.record_offset).tolist(),
                fc.frag[rest].tolist(), fc.fill[rest].tolist(), fc.time_ns[rest].tolist(),
                fc.source[rest].tolist(), strict=True):
            if group >= 0:
                key = ("g", group, total)
            else:
                key = ("s", talker, channel, seq, n_frags)
            out = self.asm.add(record, key, n_frags, frag, buf[p0:p0 + n_chars].tobytes(),
                               fill, time_ns, source)
            if out is not None:
                rep.add_skip("multipart_joined", n_frags - 1)
                done.append((*out, record))
        rep.add_skip("incomplete_multipart", self.asm.incomplete - before)
        if done:
            payloads, fill_d, time_d, source_d, record_d = zip(*done, strict=True)
            joined.append(np.frombuffer(b"".join(payloads), dtype=np.uint8))
            lengths.append(np.array([len(p) for p in payloads], dtype=np.int64))
            fills.append(np.array(fill_d, dtype=np.int64))
            times.append(np.array(time_d, dtype=np.int64))
            sources.append(np.array(source_d, dtype=np.int32))
            records.append(np.array(record_d, dtype=np.int64))
        length = np.concatenate(lengths)
        if not length.size:
            return
        payload = np.concatenate([*joined, np.zeros(64, dtype=np.uint8)])
        start = np.cumsum(length) - length
        fill, time_ns = np.concatenate(fills), np.concatenate(times)
        source, record = np.concatenate(sources), np.concatenate(records)
        msg_type = sixbit_values(payload[start]).astype(np.int64)
        msg_type[msg_type == 255] = 0
        unsupported = (msg_type < 1) | (msg_type > 27)
        rep.add_skip("unsupported_type", unsupported.sum())
        group = np.take(_TYPE_GROUP, msg_type)
        pos = np.flatnonzero(group == 1)
        if pos.size:
            dec = decode_positions(payload, start[pos], length[pos], fill[pos])
            keep = self._emit_positions(dec, time_ns[pos], source[pos],
                                        dec["msg_type"].astype(np.int64), record[pos])
            b = pos[keep & (msg_type[pos] == 19)]
            self._queue_statics(payload, start[b], length[b], fill[b], msg_type[b], time_ns[b],
                                record[b], counted=False)
        st = np.flatnonzero(group == 2)
        self._queue_statics(payload, start[st], length[st], fill[st], msg_type[st], time_ns[st],
                            record[st], counted=True)
        other = (group == 0) & ~unsupported
        counts = np.bincount(msg_type[other], minlength=28)
        for t in np.flatnonzero(counts):
            rep.add_decoded(int(t), int(counts[t]))

    def finish(self):
        self.report.add_skip("incomplete_multipart", self.asm.flush())
        cols = self.rows.columns()
        if cols is not None:
            cols["file"], cols["line"] = self.provenance(cols.pop("record"))
        return (_positions_frame(cols, self.source_names, self.file_names),
                self._statics_frame())


def _segments(buf: np.ndarray, start: np.ndarray, length: np.ndarray) -> np.ndarray:
    """The byte ranges ``buf[start[i] : start[i] + length[i]]``, concatenated (one gather)."""
    total = int(length.sum())
    if not total:
        return np.zeros(0, dtype=np.uint8)
    offset = np.repeat(start - (np.cumsum(length) - length), length)
    return buf[offset + np.arange(total)]


def _positions_frame(cols, source_names=("",), file_names=("",)) -> pd.DataFrame:
    """The positions DataFrame from column arrays (None for an empty table).

    ``cols["source"]`` and ``cols["file"]`` hold int codes into ``source_names`` and
    ``file_names``; ``cols["line"]`` the 1-based line numbers (both optional: "" and 0).
    """
    if cols is None:
        cols = {"mmsi": np.zeros(0, np.int64), "time": np.zeros(0, np.int64),
                "nav_status": np.zeros(0, np.int8), "msg_type": np.zeros(0, np.int8),
                "source": np.zeros(0, np.int32)}
        for k in ("lat", "lon", "sog_kn", "cog_deg", "heading_deg"):
            cols[k] = np.zeros(0)
    # int64 nanoseconds since the epoch read as UTC times in place (tz_localize would copy)
    time = pd.Series(np.asarray(cols["time"], dtype=np.int64), dtype="datetime64[ns, UTC]",
                     copy=False)
    frame = pd.DataFrame({
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
        "source": pd.array(list(source_names), dtype="string").take(
            np.asarray(cols["source"], dtype=np.int32)),  # (int32 codes: no intp copy)
        "file": pd.array(list(file_names), dtype="string").take(
            np.asarray(cols.get("file", np.zeros(len(cols["mmsi"]), np.int32)), dtype=np.int32)),
        "line": np.asarray(cols.get("line", np.zeros(len(cols["mmsi"]), np.int64)),
                           dtype=np.int64),
    }, copy=False)  # fresh arrays: no need to copy them into consolidated blocks
    return frame[POSITION_COLUMNS]


_PAD = 64  # zero bytes the framing reads past a chunk's end (framing._PAD)


def _read_nmea(stream, decoder: _NmeaDecoder, chunk_bytes: int) -> None:
    """Feed ``stream`` to ``decoder`` in chunks of whole lines.

    The stream is read into one reused buffer, after the partial line carried over from the
    previous chunk; the decoder frames each chunk in place, in that buffer, with zero
    padding written after the cut (no copies of the chunk).
    """
    buf = bytearray(2 * chunk_bytes + _PAD)
    n_carry = 0
    while True:
        if n_carry + chunk_bytes + _PAD > len(buf):  # a long carried line: a larger buffer
            buf = buf[:n_carry] + bytearray(n_carry + chunk_bytes + _PAD)
        view = memoryview(buf)
        end = n_carry + _fill(stream, view[n_carry:n_carry + chunk_bytes])
        view.release()
        if end == n_carry:
            break
        cut = buf.rfind(b"\n", 0, end) + 1 or buf.rfind(b"\r", 0, end) + 1
        if cut == 0:
            if end < chunk_bytes:
                n_carry = end
                continue
            # a line longer than a chunk: cut before its last sentence start, or anywhere
            cut = buf.rfind(b"!", 0, end)
            cut = cut if cut > 0 else end
            decoder.feed(bytes(buf[:cut]) + b"\n")
            decoder._continued = True
        else:
            cut = _keep_headers_with_sentence(buf, cut)
            carry = bytes(buf[cut:end])
            buf[cut:cut + _PAD] = bytes(_PAD)
            decoder.feed(buf, cut, padded=True)  # framed in place: the bytes before the cut
            buf[:len(carry)] = carry
            n_carry = len(carry)
            continue
        buf[:end - cut] = buf[cut:end]
        n_carry = end - cut
    if n_carry:
        carry = bytes(buf[:n_carry])
        decoder.feed(carry if carry.endswith(b"\n") else carry + b"\n")


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


def _keep_headers_with_sentence(data: bytes, cut: int) -> int:
    """Move ``cut`` back so $PGHP / tag-only lines stay in the same chunk as their sentence."""
    for _ in range(3):
        start = data.rfind(b"\n", 0, cut - 1) + 1
        line = data[start:cut].rstrip()
        header = line.startswith(b"$PGHP") or (line.startswith(b"\\") and line.endswith(b"\\"))
        if not header or start == 0:
            break
        cut = start
    return cut


# --------------------------------------------------------------------------- entry point
def read_ais(source, *, format: str = "auto", chunk_bytes: int = DEFAULT_CHUNK_BYTES,
             multipart_window: int = 100, max_open_groups: int = 1000,
             valid_times: str = DEFAULT_VALID_TIMES, columns=None) -> AISData:
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
    chunk_bytes : int, default 2 MiB (:data:`DEFAULT_CHUNK_BYTES`, measured fastest)
        Bytes read and decoded at once; working memory is a small multiple of this (the
        output tables grow with the dump, the working set does not).
    multipart_window : int, default 100
        Records after its first fragment within which a multipart message must complete
        (see :class:`~stsdetect.ais.multipart.MultipartAssembler`).
    max_open_groups : int, default 1000
        Most incomplete multipart messages held at once.
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
    valid_time_range(valid_times)  # a bad window or mapping fails before any reading
    from .csv_formats import parse_columns

    parse_columns(columns)
    from .csv_formats import read_table

    _raise_malloc_thresholds()
    report = DecodeReport()
    decoder = _NmeaDecoder(report, multipart_window, max_open_groups)
    tables, table_statics = [], []
    for src in open_sources(source):
        fmt = _sniff(src.head) if format == "auto" else format
        if fmt == "nmea":
            decoder.start_file(src.name)
            if src.size_hint is not None:
                # a plain file's size bounds its rows: one segment for all of them
                decoder.rows.reserve(src.size_hint // _MIN_BYTES_PER_REPORT + 1)
            _read_nmea(src.stream, decoder, int(chunk_bytes))
        else:
            if columns is not None and fmt in ("marinecadastre", "dma"):
                fmt = "csv"  # the user's mapping wins over the known layout
            positions, statics = read_table(src.stream, fmt, report, columns=columns,
                                            name=src.name)
            positions["file"] = pd.array([src.name] * len(positions), dtype="string")
            if statics is not None:
                statics["file"] = pd.array([src.name] * len(statics), dtype="string")
            tables.append(positions)
            table_statics.append(statics)
        if src.error is not None:
            report.add_note("truncated_compressed_files")
            warnings.warn(f"{src.name}: compressed data ends early ({src.error}); "
                          "decoded everything before the break", RuntimeWarning,
                          stacklevel=2)
    positions, statics = decoder.finish()
    if tables:
        positions = pd.concat([positions, *tables], ignore_index=True) if len(positions) else \
            pd.concat(tables, ignore_index=True)
    statics_frame = statics
    extra = [s for s in table_statics if s is not None and len(s)]
    if extra:
        statics_frame = pd.concat(([statics_frame] if statics_frame is not None else []) + extra,
                                  ignore_index=True)
    if statics_frame is not None and len(statics_frame):
        statics_frame["time"] = pd.Series(
            np.asarray(statics_frame["time"], dtype=np.int64).view("datetime64[ns]")
        ).dt.tz_localize("UTC")
    positions, statics_frame = drop_implausible_times(positions, statics_frame, report,
                                                      valid_times)
    vessels = build_vessels(statics_frame, positions)
    try:
        report.check()
    except AssertionError as exc:  # a bug of ours, not of the input: say so, keep the data
        report.add_note("unaccounted_records", report.lines - report.decoded_lines
                        - sum(report.skipped.values()))
        warnings.warn(f"{exc} (please report this as a stsdetect bug)", RuntimeWarning,
                      stacklevel=2)
    return AISData(positions=positions, vessels=vessels, report=report,
                   statics=build_statics(statics_frame))
