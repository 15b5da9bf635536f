"""``read_ais``: positions, vessels and a decode report from AIS dumps of any common layout."""

from __future__ import annotations

import os
import re
import warnings
from collections import deque
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass

import numpy as np
import pandas as pd

from .kernel import COUNT_NAMES, NAT_NS, ChunkResult, decode_chunk, decode_payloads
from .multipart import MultipartAssembler
from .plausible import DEFAULT_VALID_TIMES, drop_implausible_times, valid_time_range
from .report import DecodeReport
from .sources import open_sources
from .statics import STATICS_SKIP_REASONS, build_statics, build_vessels, decode_statics

__all__ = ["FORMATS", "POSITION_COLUMNS", "AISData", "read_ais"]

#: Values accepted by ``read_ais(format=...)``.
FORMATS = ("auto", "nmea", "marinecadastre", "dma", "gfw_jsonl", "csv")

#: Columns of the positions table, in order.
POSITION_COLUMNS = ["mmsi", "time", "lat", "lon", "sog_kn", "cog_deg", "heading_deg",
                    "nav_status", "msg_type", "source", "file", "line"]

#: Default chunk size: 1 MiB (about 14 000 tag-blocked sentences). Chunks are decoded in
#: parallel, so working memory is about (workers + 1) chunks plus the rows kept; large enough
#: that the per-chunk Python work (a few dict and array operations) is negligible.
DEFAULT_CHUNK_BYTES = 2**20

# Static messages waiting to be decoded together (decode_statics has a fixed cost per call).
_STATICS_BATCH = 4096
_STATIC_FIELDS = ("mmsi", "msg_type", "imo", "callsign", "name", "ship_type", "length_m",
                  "beam_m", "draught_m", "destination")

# 6-bit message type value -> 1 position report, 2 static message, 0 other
_TYPE_GROUP = np.zeros(256, dtype=np.int8)
_TYPE_GROUP[[1, 2, 3, 18, 19, 27]] = 1
_TYPE_GROUP[[5, 24]] = 2
# payload character -> 6-bit value (255 outside the armouring alphabet)
_SIXBIT = np.full(256, 255, dtype=np.uint8)
_SIXBIT[48:88] = np.arange(40)
_SIXBIT[96:120] = np.arange(40, 64)

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
#: ``source`` as codes into the reader's source names, ``record`` the reader-wide record
#: number, turned into ``file`` and ``line`` at the end).
_ROW_DTYPES = {"mmsi": np.int64, "time": np.int64, "lat": np.float64, "lon": np.float64,
               "sog_kn": np.float64, "cog_deg": np.float64, "heading_deg": np.float64,
               "nav_status": np.int8, "msg_type": np.int8, "source": np.int32,
               "record": np.int64}


class _RowStore:
    """Position rows collected chunk by chunk as blocks, joined column by column at the end.

    Memory: the rows kept, plus (while :meth:`columns` joins them) one column twice.
    """

    def __init__(self):
        self.blocks: list = []
        self.n_rows = 0

    def append(self, cols: dict) -> None:
        """Append rows (a dict of equal-length arrays with the keys of :data:`_ROW_DTYPES`)."""
        n = len(cols["mmsi"])
        if n:
            self.blocks.append({k: cols[k] for k in _ROW_DTYPES})
            self.n_rows += n

    def columns(self) -> dict | None:
        """The rows collected, as one array per column (None when there are none)."""
        blocks, self.blocks = self.blocks, []
        if not blocks:
            return None
        out = {}
        for k, dtype in _ROW_DTYPES.items():
            out[k] = np.concatenate([b.pop(k) for b in blocks]).astype(dtype, copy=False)
        return out


class _NmeaDecoder:
    """Chunked NMEA decode state: multipart assembler, collected rows, statics and the report.

    Chunks are decoded by :func:`~stsdetect.ais.kernel.decode_chunk` (possibly on other
    threads); :meth:`absorb` takes their results in input order.
    """

    def __init__(self, report: DecodeReport, window_records: int, max_open_groups: int):
        self.report = report
        self.asm = MultipartAssembler(window_records, max_open_groups)
        self.record_offset = 0
        self.rows = _RowStore()
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

    def start_file(self, name: str) -> None:
        """Records fed from here on come from ``name``, numbered from its line 1."""
        self._files.append((name, self.record_offset))

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

    def feed(self, data, continued: bool = False) -> None:
        """Decode ``data`` (bytes or uint8 array of whole lines) in this thread."""
        a = np.frombuffer(data, dtype=np.uint8) if not isinstance(data, np.ndarray) else data
        self.absorb(decode_chunk(a, a.size, continued), a)

    def absorb(self, res: ChunkResult, buf: np.ndarray) -> None:
        """Take one chunk's kernel result (``buf``: its bytes), in input order."""
        rep = self.report
        c = res.counts
        rep.lines += c["records"]
        rep.sentences += c["sentences"]
        rep.sentence_records += c["sentence_records"]
        for name in COUNT_NAMES[:12]:
            rep.add_skip(name, c[name])
        rep.add_note("time_unparsed", c["time_unparsed"])
        for t in np.flatnonzero(res.decoded):
            rep.add_decoded(int(t), int(res.decoded[t]))
        off = self.record_offset
        if res.extra.size:
            self._extra.append(res.extra + off)
        # chunk source codes -> reader-wide codes (a loop over distinct names only)
        lookup = np.array([self._source_code.setdefault(nm, len(self._source_code))
                           for nm in res.source_names], dtype=np.int32)
        self.source_names = list(self._source_code)
        blocks = []
        if res.pos["mmsi"].size:
            block = dict(res.pos)
            block["record"] = block["record"] + off
            block["source"] = lookup[block["source"]]
            blocks.append(block)
        sent = res.sent
        if sent["record"].size:
            sent = dict(sent)
            sent["record"] = sent["record"] + off
            sent["source"] = lookup[sent["source"]]
            single = np.flatnonzero(sent["n_frags"] == 1)  # statics, type 19's static half
            if single.size:
                self._queue_statics(buf, sent["p0"][single], sent["n_chars"][single],
                                    sent["fill"][single], sent["msg_type"][single],
                                    sent["time_ns"][single], sent["record"][single],
                                    counted=sent["counted"][single])
            multi = np.flatnonzero(sent["n_frags"] > 1)
            if multi.size:
                blocks.extend(self._multipart(buf, {k: v[multi] for k, v in sent.items()}))
        if len(blocks) > 1 or (blocks and (np.diff(blocks[0]["record"]) < 0).any()):
            # assembled messages among single-part ones: put them in order
            order = np.argsort(np.concatenate([b["record"] for b in blocks]), kind="stable")
            blocks = [{k: np.concatenate([b[k] for b in blocks])[order] for k in _ROW_DTYPES}]
        for b in blocks:
            self.rows.append(b)
        self.record_offset += c["records"]

    def _multipart(self, buf: np.ndarray, s: dict) -> list:
        """Assemble a chunk's fragments (rows in record order): adjacent two-part pairs at
        once, the rest through the bounded assembler; decode the completed messages; return
        the blocks of position rows."""
        rep = self.report
        before = self.asm.incomplete
        # Fragment 1 of 2 directly followed by its fragment 2 (same talker, channel, sequence
        # id and tag-block group id): how receivers emit nearly all of them.
        n_frags, frag, record = s["n_frags"], s["frag"], s["record"]
        pair = ((n_frags[:-1] == 2) & (n_frags[1:] == 2) & (frag[:-1] == 1) & (frag[1:] == 2)
                & (record[1:] == record[:-1] + 1))
        for k in ("talker", "channel", "seq", "group_id"):
            pair &= s[k][:-1] == s[k][1:]
        first = np.flatnonzero(pair)
        second = first + 1
        paired = np.zeros(record.size, dtype=bool)
        paired[first] = paired[second] = True
        rep.add_skip("multipart_joined", first.size)
        t1, t2 = s["time_ns"][first], s["time_ns"][second]
        s1, s2 = s["source"][first], s["source"][second]
        seg_start = np.column_stack([s["p0"][first], s["p0"][second]]).ravel()
        seg_len = np.column_stack([s["n_chars"][first], s["n_chars"][second]]).ravel()
        joined = [_segments(buf, seg_start, seg_len)]
        lengths = [s["n_chars"][first] + s["n_chars"][second]]
        fills = [s["fill"][second]]
        times = [np.where(t1 != NAT_NS, t1, t2)]
        sources = [np.where(s1 != 0, s1, s2).astype(np.int32)]
        records = [record[second]]
        rest = np.flatnonzero(~paired)
        done = []  # (payload bytes, fill, time_ns, source, record)
        for (group, total, n, talker, channel, seq, p0, n_chars, rec, k, fill,
             time_ns, source) in zip(*(s[c][rest].tolist() for c in (
                "group_id", "group_total", "n_frags", "talker", "channel", "seq", "p0",
                "n_chars", "record", "frag", "fill", "time_ns", "source")), strict=True):
            key = ("g", group, total) if group >= 0 else ("s", talker, channel, seq, n)
            out = self.asm.add(rec, key, n, k, buf[p0:p0 + n_chars].tobytes(), fill,
                               time_ns, source)
            if out is not None:
                rep.add_skip("multipart_joined", n - 1)
                done.append((*out, rec))
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
            return []
        payload = np.concatenate([*joined, np.zeros(64, dtype=np.uint8)])
        start = np.cumsum(length) - length
        fill, time_ns = np.concatenate(fills), np.concatenate(times)
        source, record = np.concatenate(sources), np.concatenate(records)
        msg_type = _SIXBIT[payload[start]].astype(np.int64)
        msg_type[msg_type == 255] = 0
        unsupported = (msg_type < 1) | (msg_type > 27)
        rep.add_skip("unsupported_type", unsupported.sum())
        group = np.where(unsupported, 0, _TYPE_GROUP[np.minimum(msg_type, 255)])
        blocks = []
        pos = np.flatnonzero(group == 1)
        if pos.size:
            dec = decode_payloads(payload, start[pos], length[pos], fill[pos], msg_type[pos])
            status = dec.pop("status")
            for code in np.flatnonzero(np.bincount(status, minlength=len(COUNT_NAMES))[1:]):
                rep.add_skip(COUNT_NAMES[code + 1], int((status == code + 1).sum()))
            keep = status == 0
            types = msg_type[pos][keep]
            counts = np.bincount(types, minlength=28)
            for t in np.flatnonzero(counts):
                rep.add_decoded(int(t), int(counts[t]))
            block = {k: v[keep] for k, v in dec.items()}
            block.update(time=time_ns[pos][keep], source=source[pos][keep],
                         record=record[pos][keep], msg_type=types.astype(np.int8))
            blocks.append(block)
            b19 = pos[keep & (msg_type[pos] == 19)]
            self._queue_statics(payload, start[b19], length[b19], fill[b19], msg_type[b19],
                                time_ns[b19], record[b19], counted=False)
        st = np.flatnonzero(group == 2)
        self._queue_statics(payload, start[st], length[st], fill[st], msg_type[st],
                            time_ns[st], record[st], counted=True)
        counts = np.bincount(msg_type[(group == 0) & ~unsupported], minlength=28)
        for t in np.flatnonzero(counts):
            rep.add_decoded(int(t), int(counts[t]))
        return blocks

    def _queue_statics(self, buf, p0, n_chars, fill, msg_type, time_ns, record,
                       counted: bool) -> None:
        """Queue static messages (payloads ``buf[p0 : p0 + n_chars]``) for :meth:`_decode_statics`.

        ``counted`` (one flag, or one per message): whether they are records of their own
        (types 5, 24) whose outcome the report counts, or the static half of a type 19
        position report, already counted.
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
        q["counted"].append(np.broadcast_to(np.asarray(counted, dtype=bool), p0.shape))
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


_PAD = 64  # zero bytes after each chunk (the kernel never reads past its end; a margin)


def _chunks(stream, chunk_bytes: int):
    """Chunks of whole lines of ``stream``: (uint8 array, bytes used, continued).

    Each chunk has its own buffer, so that several can be decoded at once. A line longer
    than a chunk is cut before its last sentence (or that sentence's tag block), or anywhere
    when it holds none; the next chunk then says ``continued``, so that the kernel neither
    counts the rest as a new line nor its text before a sentence as a record.
    """
    carry = b""
    continued = False
    while True:
        buf = bytearray(len(carry) + chunk_bytes + _PAD)
        buf[:len(carry)] = carry
        end = len(carry) + _fill(stream, memoryview(buf)[len(carry):len(carry) + chunk_bytes])
        if end == len(carry):  # the stream ended
            if carry:
                yield np.frombuffer(buf, dtype=np.uint8), end, continued
            return
        if end < len(carry) + chunk_bytes:  # the last read: everything left
            cut = end
        else:
            # after the last '\n', or (old Mac files) a '\r' not the last byte read (that
            # one may be the first half of a '\r\n' split by the read)
            cut = buf.rfind(b"\n", 0, end) + 1 or buf.rfind(b"\r", 0, end - 1) + 1
            if cut:
                cut = _keep_headers_with_sentence(buf, cut)
        if cut == 0:  # no line end in a whole chunk: a long line
            cut = _last_sentence_start(buf, end)
            yield np.frombuffer(buf, dtype=np.uint8), cut, continued
            carry = bytes(buf[cut:end])
            continued = True
            continue
        yield np.frombuffer(buf, dtype=np.uint8), cut, continued
        carry = bytes(buf[cut:end])
        continued = False


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


def _read_nmea(stream, decoder: _NmeaDecoder, chunk_bytes: int, pool=None,
               workers: int = 1) -> None:
    """Decode ``stream`` chunk by chunk: on ``pool`` (up to ``workers`` chunks at once,
    the kernel releases the GIL) while this thread takes the results in order."""
    if pool is None:
        for a, n, continued in _chunks(stream, chunk_bytes):
            decoder.absorb(decode_chunk(a, n, continued), a)
        return
    pending: deque = deque()
    for a, n, continued in _chunks(stream, chunk_bytes):
        pending.append((pool.submit(decode_chunk, a, n, continued), a))
        if len(pending) > workers:
            fut, buf = pending.popleft()
            decoder.absorb(fut.result(), buf)
    while pending:
        fut, buf = pending.popleft()
        decoder.absorb(fut.result(), buf)


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
@contextmanager
def _no_pool():
    yield None


def _read_sources(source, format, decoder, report, tables, table_statics, chunk_bytes, pool,
                  n_workers, columns=None) -> None:
    """Read every source: NMEA through ``decoder``, decoded tables into ``tables``."""
    from .csv_formats import read_table

    for src in open_sources(source):
        fmt = _sniff(src.head) if format == "auto" else format
        if fmt == "nmea":
            decoder.start_file(src.name)
            _read_nmea(src.stream, decoder, chunk_bytes, pool, n_workers)
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
    chunk_bytes : int, default 2 MiB (:data:`DEFAULT_CHUNK_BYTES`, measured fastest)
        Bytes read and decoded at once; working memory is a small multiple of this (the
        output tables grow with the dump, the working set does not).
    multipart_window : int, default 100
        Records after its first fragment within which a multipart message must complete
        (see :class:`~stsdetect.ais.multipart.MultipartAssembler`).
    max_open_groups : int, default 1000
        Most incomplete multipart messages held at once.
    workers : int, optional
        Threads that decode NMEA chunks at once (the compiled kernel releases the GIL; the
        results are taken in input order, so the output does not depend on it). Default:
        the CPUs this process may run on, at most :data:`MAX_DEFAULT_WORKERS`; 1 decodes in
        the calling thread.
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
    if workers is None:
        affinity = getattr(os, "sched_getaffinity", None)
        workers = min(len(affinity(0)) if affinity else (os.cpu_count() or 1),
                      MAX_DEFAULT_WORKERS)
    n_workers = int(workers)
    if n_workers < 1:
        raise ValueError(f"workers must be at least 1, got {workers!r}")
    report = DecodeReport()
    decoder = _NmeaDecoder(report, multipart_window, max_open_groups)
    tables, table_statics = [], []
    with (ThreadPoolExecutor(n_workers, thread_name_prefix="stsdetect-decode")
          if n_workers > 1 else _no_pool()) as pool:
        _read_sources(source, format, decoder, report, tables, table_statics, int(chunk_bytes),
                      pool, n_workers, columns)
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
