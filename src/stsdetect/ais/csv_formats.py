"""Decoded AIS tables: NOAA MarineCadastre CSV, Danish Maritime Authority CSV, GFW JSON lines.

A file is read in blocks of about :data:`BLOCK_BYTES`, cut at line ends (never inside a
quoted field), and each block is parsed by Arrow's compiled CSV or JSON reader into typed
columns: numbers become float64 in C++, with no Python object per field (``pandas.read_csv``
with ``dtype=str`` and then ``pandas.to_numeric`` on strings read about 0.1M rows/s; this
reads over ten times as many). With ``workers`` > 1 the blocks are parsed on the reader's
pool, one block per thread and each parse single-threaded, so ``workers`` is the number of
threads (Arrow's own thread pool, sized for the whole process, is never used). The rows are
then mapped onto the positions / static-records layout used for NMEA. Rows of a decoded
table have no AIS message type: they get ``msg_type`` 0 and are counted under ``decoded[0]``
in the report.

A block that Arrow does not read as a whole -- a row with a wrong number of fields, a quoted
newline, bytes that are not UTF-8, a blank MMSI (an all-empty row is a blank line), a JSON
line that is not an object with the expected types -- is read by pandas as before
(``on_bad_lines="warn"``, ``encoding_errors="replace"``), so that every line is decoded or
counted under the same reason as before. Number columns holding text (``Unknown``) are
converted by ``pandas.to_numeric`` over their distinct values only. Memory: the output, plus
about ``workers + 1`` blocks.
"""

from __future__ import annotations

import io
import json
import re
import warnings
from collections import deque

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.csv as pa_csv
import pyarrow.json as pa_json

from .kernel import NAT_NS
from .report import DecodeReport

__all__ = ["BLOCK_BYTES", "DMA_COLUMNS", "MARINECADASTRE_COLUMNS", "read_table"]

#: NOAA MarineCadastre AIS CSV header (2015 onwards, https://marinecadastre.gov/ais/).
MARINECADASTRE_COLUMNS = [
    "MMSI", "BaseDateTime", "LAT", "LON", "SOG", "COG", "Heading", "VesselName", "IMO",
    "CallSign", "VesselType", "Status", "Length", "Width", "Draft", "Cargo", "TransceiverClass",
]

#: Danish Maritime Authority AIS CSV header (http://web.ais.dk/aisdata/).
DMA_COLUMNS = [
    "# Timestamp", "Type of mobile", "MMSI", "Latitude", "Longitude", "Navigational status",
    "ROT", "SOG", "COG", "Heading", "IMO", "Callsign", "Name", "Ship type", "Cargo type",
    "Width", "Length", "Type of position fixing device", "Draught", "Destination", "ETA",
    "Data source type", "A", "B", "C", "D",
]

# DMA writes navigational status as ITU-R M.1371 text; map back to the 4-bit code.
_DMA_NAV_STATUS = {
    "under way using engine": 0, "at anchor": 1, "not under command": 2,
    "restricted manoeuverability": 3, "restricted maneuverability": 3,
    "constrained by her draught": 4, "moored": 5, "aground": 6, "engaged in fishing": 7,
    "under way sailing": 8, "reserved for future amendment [hsc]": 9,
    "reserved for future amendment [wig]": 10, "power-driven vessel towing astern": 11,
    "power-driven vessel pushing ahead or towing alongside": 12, "reserved for future use": 13,
    "ais-sart": 14, "unknown value": 15,
}
# DMA ship type text -> the first ITU-R M.1371 ship-type code of that category.
_DMA_SHIP_TYPE = {
    "wig": 20, "fishing": 30, "towing": 31, "towing long/wide": 32, "dredging": 33,
    "diving": 34, "military": 35, "sailing": 36, "pleasure": 37, "hsc": 40, "pilot": 50,
    "sar": 51, "tug": 52, "port tender": 53, "anti-pollution": 54, "law enforcement": 55,
    "medical": 58, "not party to conflict": 59, "passenger": 60, "cargo": 70, "tanker": 80,
    "other": 90,
}

#: Bytes of a table parsed at once (4 MiB: about 45k MarineCadastre rows). Each block
#: costs about 20 ms of fixed work beside its rows (pandas on the columns' distinct values,
#: Arrow calls): on a 200k-row MarineCadastre table, one worker took 0.53 s with 1 MiB
#: blocks, 0.39 s with 2, 0.28 s with 4, 0.31-0.33 s with 8 and 16.
BLOCK_BYTES = 4 << 20
#: Blocks read without a line end outside quotes before an unclosed quote is taken as a
#: literal character (a quoted field longer than 16 MiB is not a real AIS table's).
QUOTED_BLOCKS = 4

#: How pandas reads a block Arrow cannot (the reading of every earlier version).
_PANDAS_CSV = {"dtype": str, "keep_default_na": False, "on_bad_lines": "warn",
               "skip_blank_lines": False, "encoding_errors": "replace", "index_col": False}
#: GFW / gpsdio JSON keys read as numbers (others are ignored; ``timestamp`` is text).
_GFW_NUMBERS = ("ssvid", "lat", "lon", "speed", "course", "heading")


def read_table(stream, fmt: str, report: DecodeReport, columns=None, name: str = "table",
               pool=None, workers: int = 1):
    """Read a decoded table; return (positions DataFrame, static records DataFrame or None).

    Parameters
    ----------
    stream : binary file object
        The table's bytes (decompressed).
    fmt : {'marinecadastre', 'dma', 'csv', 'gfw_jsonl'}
        The layout; ``"csv"`` is any other CSV, read through ``columns`` (see
        :func:`csv_columns`).
    report : DecodeReport
        Counts are added to it: rows pandas cannot split (wrong number of fields, broken
        JSON) as ``bad_row``, blank lines as ``comment_or_blank``, a last row cut short (no
        newline, fewer fields than the header) as ``truncated_row``.
    columns : dict or str, optional
        The column mapping of a ``"csv"`` table.
    name : str
        The file's name, for messages.
    pool : concurrent.futures.Executor, optional
        Threads that parse blocks while the calling thread parses another.
    workers : int
        Blocks parsed at once: the calling thread and ``workers - 1`` of ``pool``'s threads.

    Returns
    -------
    tuple
        Positions (with ``line``, each row's 1-based line in the file) and the static
        records of the rows whose static columns changed for their MMSI (None for JSON).
    """
    if fmt == "gfw_jsonl":
        header = b""
        layout = _Layout(fmt, None, columns, name)
        first_line = 1
    elif fmt in ("csv", "marinecadastre", "dma"):
        header = _header_line(stream)
        names = list(pd.read_csv(io.BytesIO(header), nrows=0, **_PANDAS_CSV).columns)
        layout = _Layout(fmt, names, columns, name)
        first_line = 2
    else:  # pragma: no cover - guarded by read_ais
        raise ValueError(fmt)
    n_fields = len(layout.names) if layout.names is not None else 0

    def work(block, line0, n_newlines):
        return _thinned_in_block(_arrow_block(block, line0, n_newlines, layout))

    blocks = _blocks(stream, header, first_line, report, n_fields, quotes=fmt != "gfw_jsonl")
    positions, statics = [], []
    thinner = _Thinner()
    first_width = n_fields  # fields of the file's first data row, when pandas read it
    for (block, line0, _), result in _in_order(blocks, work, pool, workers):
        if result is None:  # Arrow could not read it as a whole: pandas, as before
            if line0 == first_line and n_fields:
                first_width = max(n_fields, _first_row_width(block))
            result = _thinned_in_block(_pandas_block(block, line0, header, layout,
                                                     first_width))
        cols, stat, block_report = result
        _add_report(report, block_report)
        if cols is not None and len(cols["mmsi"]):
            positions.append(cols)
        if stat is not None:
            frame = thinner.frame(stat)
            if frame is not None and len(frame):
                statics.append(frame)
    from .reader import _positions_frame

    if positions:
        cols = {k: np.concatenate([p[k] for p in positions]) for k in positions[0]}
    else:
        cols = None
    stat_frame = pd.concat(statics, ignore_index=True) if statics else None
    return _positions_frame(cols), stat_frame


def _thinned_in_block(result):
    """A block's ``(columns, stat, report)`` with ``stat`` as :meth:`_Thinner.block` makes it:
    the static rows' thinning that needs no other block, done on the thread that parsed it
    (None as it is)."""
    if result is None or result[1] is None:
        return result
    return result[0], _Thinner.block(result[1]), result[2]


def _header_line(stream) -> bytes:
    """The first line of ``stream`` (with its newline), read byte-block-wise."""
    parts = []
    while True:
        piece = stream.readline(1 << 16) if hasattr(stream, "readline") else stream.read(1)
        if not piece:
            break
        parts.append(piece)
        if piece.endswith(b"\n"):
            break
    return b"".join(parts)


def _blocks(stream, header: bytes, first_line: int, report, n_fields: int, quotes: bool):
    """``(block, its first line number, its newlines)`` of whole lines; a block never ends
    inside a quoted field, and the last block takes the file's last line (so that a table
    smaller than a block is one block). A last line without a newline and with fewer fields
    than the header (``...,32.4042,-79.``: #15 item 5) is counted as ``truncated_row`` and
    left out."""
    carry = b""
    line = first_line
    held = None  # the block before the newest: sent when more data comes
    while True:
        data = stream.read(BLOCK_BYTES)
        if not data:
            break
        data = carry + data if carry else data
        cut = data.rfind(b"\n") + 1
        if quotes and cut and b'"' in data:
            quoted_cut = _cut_outside_quotes(data, cut)
            # a quote not closed within QUOTED_BLOCKS blocks is a literal one mid-field
            # (``5" GUN``: Arrow and pandas read it as text), not an open quoted field: cut at
            # the last line end anyway, so that the carry (and its rescans) stay bounded
            cut = quoted_cut if quoted_cut or len(data) <= QUOTED_BLOCKS * BLOCK_BYTES \
                else cut
        if cut == 0:
            carry = data
            continue
        carry = data[cut:]
        block = data[:cut] if carry else data
        if held is not None:
            n_newlines = held.count(b"\n")
            yield held, line, n_newlines
            line += n_newlines
        held = block
    tail = carry[carry.rfind(b"\n") + 1:]  # (a carry holds newlines only inside quotes)
    if quotes and n_fields and tail.strip() and tail.count(b",") + 1 < n_fields:
        report.lines += 1
        report.add_skip("truncated_row")  # (the whole row, quoted newlines and all)
        carry = carry[:_cut_outside_quotes(carry, len(carry))]
    last = held + carry if held is not None else carry
    if last:
        yield last, line, last.count(b"\n")


def _cut_outside_quotes(data: bytes, cut: int) -> int:
    """The last line end before ``cut`` that is not inside a quoted field (0 if none)."""
    raw = np.frombuffer(data, dtype=np.uint8, count=cut)
    ends = np.flatnonzero(raw == 10)
    quotes_before = np.cumsum(raw == 34)[ends]
    even = ends[quotes_before % 2 == 0]
    return int(even[-1]) + 1 if even.size else 0


def _in_order(items, work, pool, workers: int):
    """``(item, work(*item))`` in the order of ``items``: up to ``workers - 1`` items on
    ``pool`` while the calling thread works on the next."""
    pending = deque()
    for item in items:
        if pool is not None and len(pending) < workers - 1:
            pending.append((item, pool.submit(work, *item)))
            continue
        mine = work(*item)
        while pending:
            done, future = pending.popleft()
            yield done, future.result()
        yield item, mine
    while pending:
        done, future = pending.popleft()
        yield done, future.result()


def _add_report(report: DecodeReport, part: DecodeReport) -> None:
    report.lines += part.lines
    for reason, count in part.skipped.items():
        report.add_skip(reason, count)
    for msg_type, count in part.decoded.items():
        report.add_decoded(msg_type, count)
    for note, count in part.notes.items():
        report.add_note(note, count)


class _Layout:
    """What a layout reads from a block: Arrow's column types, and the converter."""

    def __init__(self, fmt: str, names, columns, name: str):
        self.fmt, self.names, self.name = fmt, names, name
        self.error = None
        self.mapping = None
        if fmt == "gfw_jsonl":
            self.numbers, self.texts = list(_GFW_NUMBERS), ["timestamp"]
            self.mmsi = None
            return
        if fmt == "marinecadastre":
            numbers = ["MMSI", "LAT", "LON", "SOG", "COG", "Heading", "Status", "VesselType",
                       "Length", "Width", "Draft"]
            texts = ["BaseDateTime", "VesselName", "IMO", "CallSign", "TransceiverClass"]
            self.mmsi = "MMSI"
        elif fmt == "dma":
            numbers = ["MMSI", "Latitude", "Longitude", "SOG", "COG", "Heading", "Width",
                       "Length", "Draught"]
            texts = ["# Timestamp", "Timestamp", "Type of mobile", "Navigational status",
                     "IMO", "Callsign", "Name", "Ship type", "Destination"]
            self.mmsi = "MMSI"
        else:
            try:
                self.mapping = csv_columns(names, columns, name)
            except ValueError as exc:  # raised when the first rows come (as before)
                self.error = exc
                self.mapping = {}
            numbers = [self.mapping[k] for k in ("mmsi", "lat", "lon", "sog", "cog",
                                                 "heading", "nav_status") if k in self.mapping]
            texts = [self.mapping["time"]] if "time" in self.mapping else []
            self.mmsi = self.mapping.get("mmsi")
        present = set(names)
        self.texts = [c for c in dict.fromkeys(texts) if c in present and c not in numbers]
        self.numbers = [c for c in dict.fromkeys(numbers) if c in present]

    def convert(self, rows, report, line):
        """Positions columns and static rows (or None) of a block's rows."""
        if self.fmt == "marinecadastre":
            return _marinecadastre(rows, report, line)
        if self.fmt == "dma":
            return _dma(rows, report, line)
        if self.fmt == "gfw_jsonl":
            return _gfw(rows, report, line)
        if self.error is not None:
            raise self.error
        return _generic(rows, report, line, self.mapping)


def _arrow_block(block: bytes, line0: int, n_newlines: int, layout: _Layout):
    """A block read by Arrow and converted; None when Arrow cannot read it as a whole."""
    if layout.fmt == "gfw_jsonl":
        # every line an object (Arrow 26 crashes on a block of `null` lines; a blank line or
        # any other start goes to pandas, which counts it as before)
        n_lines = n_newlines + (not block.endswith(b"\n"))
        if block.count(b"\n{") + block.startswith(b"{") != n_lines:
            return None
        schema = pa.schema([(c, pa.float64()) for c in layout.numbers]
                           + [(c, pa.string()) for c in layout.texts])
        try:
            table = pa_json.read_json(
                io.BytesIO(block),
                read_options=pa_json.ReadOptions(use_threads=False,
                                                 block_size=max(len(block), 1 << 16) + 1),
                parse_options=pa_json.ParseOptions(explicit_schema=schema,
                                                   unexpected_field_behavior="ignore"))
        except (pa.ArrowInvalid, pa.ArrowNotImplementedError):
            return None
    else:
        table = None
        for typed in (True, False):  # numbers parsed as such; else all as text
            types = {c: pa.float64() if typed else pa.string() for c in layout.numbers}
            types.update({c: pa.string() for c in layout.texts})
            try:
                table = pa_csv.read_csv(
                    io.BytesIO(block),
                    read_options=pa_csv.ReadOptions(column_names=layout.names,
                                                    use_threads=False,
                                                    block_size=len(block) + 1),
                    parse_options=pa_csv.ParseOptions(newlines_in_values=False),
                    convert_options=pa_csv.ConvertOptions(
                        column_types=types, include_columns=list(types),
                        null_values=[""], strings_can_be_null=True))
                break
            except (pa.ArrowInvalid, pa.ArrowNotImplementedError):
                continue
        if table is None:
            return None
        if layout.mmsi is not None and layout.mmsi in table.column_names and \
                table.column(layout.mmsi).null_count:
            return None  # maybe rows of empty fields only: blank lines to pandas
    n = table.num_rows
    n_lines = n_newlines + (not block.endswith(b"\n"))
    report = DecodeReport()
    if n == n_lines:
        line = np.arange(line0, line0 + n, dtype=np.int64)
    elif layout.fmt == "gfw_jsonl":  # (more objects than lines)
        return None
    else:  # blank lines (Arrow skips them): find them; any other difference goes to pandas
        filled = _filled_lines(block)
        if filled.size != n:
            return None
        line = filled + line0
        report.lines += n_lines - n
        report.add_skip("comment_or_blank", n_lines - n)
    if not n:
        return None, None, report
    cols, stat = layout.convert(_ArrowRows(table), report, line)
    return cols, stat, report


def _filled_lines(block: bytes) -> np.ndarray:
    """Indices of the lines of ``block`` that are neither empty nor a lone CR (the lines of
    ``block.split(b"\\n")``, without the empty piece after a final newline)."""
    raw = np.frombuffer(block, dtype=np.uint8)
    ends = np.flatnonzero(raw == 10)
    starts = np.concatenate([[0], ends + 1])
    stops = np.concatenate([ends, [raw.size]])
    if block.endswith(b"\n"):
        starts, stops = starts[:-1], stops[:-1]
    length = stops - starts
    lone_cr = (length == 1) & (raw[np.minimum(starts, max(raw.size - 1, 0))] == 13) \
        if raw.size else np.zeros(0, bool)
    return np.flatnonzero((length > 0) & ~lone_cr).astype(np.int64)


def _first_row_width(block: bytes) -> int:
    """The number of fields of ``block``'s first row (quotes respected)."""
    import csv

    text = io.TextIOWrapper(io.BytesIO(block), encoding="utf-8", errors="replace", newline="")
    return len(next(csv.reader(text), []))


def _pandas_block(block: bytes, line0: int, header: bytes, layout: _Layout,
                  first_width: int = 0):
    """A block read by pandas (every row as text), as every version before Arrow read it.

    ``first_width``: the number of fields of the file's first data row. Pandas reads a file
    whose first row has one field more than the header by dropping the last field of every
    row that long, and skips such rows otherwise: a later block is read as the whole file
    would be."""
    report = DecodeReport()
    if layout.fmt == "gfw_jsonl":
        chunk = _parse_json_lines(block, report)
        if not len(chunk):
            return None, None, report
        line = np.arange(line0, line0 + len(chunk), dtype=np.int64)
        return (*layout.convert(_PandasRows(chunk, text_times=True), report, line), report)
    # a later block's first row is not the file's first: an empty row as wide as the file's
    # first row goes first (and is dropped), so that pandas keeps or skips a row with one
    # field too many as it does in the whole file (it keeps such rows only when the file's
    # first row has one too)
    later = line0 > 2
    width = max(first_width, len(layout.names))
    dummy = b"," * (width - 1) + b"\n" if later else b""
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always", pd.errors.ParserWarning)
        chunk = pd.read_csv(io.BytesIO(header + dummy + block), **_PANDAS_CSV)
    if later:
        chunk = chunk.iloc[1:].reset_index(drop=True)
    for w in caught:  # one warning naming every line it skipped
        text = str(w.message)
        if issubclass(w.category, pd.errors.ParserWarning) and "Skipping line" in text:
            report.lines += text.count("Skipping line")
            report.add_skip("bad_row", text.count("Skipping line"))
            continue
        warnings.warn_explicit(w.message, w.category, w.filename, w.lineno)
    # provenance: exact unless pandas dropped malformed rows or a field holds a newline
    line = np.arange(line0, line0 + len(chunk), dtype=np.int64)
    blank = (chunk == "").all(axis=1).to_numpy() if len(chunk.columns) else \
        np.ones(len(chunk), bool)
    if blank.any():  # blank lines: not bad rows
        report.lines += int(blank.sum())
        report.add_skip("comment_or_blank", int(blank.sum()))
        line = line[~blank]
        chunk = chunk.loc[~blank].reset_index(drop=True)
    if not len(chunk):
        return None, None, report
    return (*layout.convert(_PandasRows(chunk), report, line), report)


class _Rows:
    """A block's rows, column by column (the same for Arrow and pandas blocks)."""

    n: int
    columns: list

    def values(self, col):  # pragma: no cover - abstract
        """``(codes, uniques)``: each row's value as a code into an object array."""
        raise NotImplementedError

    def num(self, col) -> np.ndarray:
        """The column as float64 as ``pandas.to_numeric(errors="coerce")`` reads it."""
        codes, uniques = self.values(col)
        return _num(pd.Series(uniques, dtype=object))[codes]

    def mapped(self, col, func) -> np.ndarray:
        """``func`` (a Series -> Series function working value by value) of each row."""
        codes, uniques = self.values(col)
        return np.asarray(func(pd.Series(uniques, dtype=object)))[codes]

    def coded(self, col, func):
        """``(codes, uniques)`` of ``func`` (as for :meth:`mapped`) of each row (-1:
        missing), as :func:`_codes` of :meth:`mapped`'s values gives them up to the order of
        the uniques (and a unique no row has): from the distinct values only, with no
        per-row Python object (whose factorizing held the GIL for a few ms a block)."""
        codes, uniques = self.values(col)
        return _coded(codes, func(pd.Series(uniques, dtype=object)))

    def text(self, col):
        """``(codes, uniques)`` of the column as :func:`_text` cleans it (-1: missing)."""
        codes, uniques = self.values(col)
        clean_codes, clean = pd.factorize(_text(pd.Series(uniques, dtype=object)))
        return clean_codes[codes], np.asarray(clean, dtype=object)


class _PandasRows(_Rows):
    def __init__(self, frame: pd.DataFrame, text_times: bool = False):
        self.f, self.n, self.columns = frame, len(frame), list(frame.columns)
        self.text_times = text_times  # JSON: times were read as their text

    def values(self, col):
        if col not in self.columns:
            return np.zeros(self.n, np.intp), np.array([""], dtype=object)
        codes, uniques = pd.factorize(self.f[col])
        uniques = np.append(np.asarray(uniques, dtype=object), np.nan)
        return np.where(codes < 0, len(uniques) - 1, codes), uniques

    def num(self, col):
        if col not in self.columns:
            return np.full(self.n, np.nan)
        return _num(self.f[col])

    def time(self, col, fmt=None, report=None):
        if col not in self.columns:
            series = pd.Series(["nan" if self.text_times else ""] * self.n)
        else:
            series = self.f[col].astype(str) if self.text_times else self.f[col]
        return _time_ns(series, fmt, report)


class _ArrowRows(_Rows):
    def __init__(self, table: pa.Table):
        self.t, self.n, self.columns = table, table.num_rows, table.column_names

    def values(self, col):
        if col not in self.columns:
            return np.zeros(self.n, np.intp), np.array([""], dtype=object)
        column = self.t.column(col)
        if not pa.types.is_string(column.type):
            column = pc.cast(column, pa.string())
        encoded = pc.dictionary_encode(pc.fill_null(column, "")).combine_chunks()
        return (encoded.indices.to_numpy(zero_copy_only=False),
                np.asarray(encoded.dictionary.to_pylist(), dtype=object))

    def num(self, col):
        if col not in self.columns:
            return np.full(self.n, np.nan)
        column = self.t.column(col)
        if pa.types.is_string(column.type):
            try:  # (a failing cast costs ~1 us a value: not tried when the first fails)
                if not _casts(_first_given(column), pa.float64()):
                    raise pa.ArrowInvalid("text")
                column = pc.cast(column, pa.float64())
            except (pa.ArrowInvalid, pa.ArrowNotImplementedError):
                return super().num(col)  # text among the numbers: pandas, value by value
        return np.asarray(column.to_numpy(), dtype=np.float64)

    def time(self, col, fmt=None, report=None):
        if col not in self.columns:
            out = np.full(self.n, NAT_NS, dtype=np.int64)
        else:
            out = self._time(self.t.column(col), fmt)
        if report is not None:
            report.add_note("time_unparsed", int((out == NAT_NS).sum()))
        return out

    def _time(self, column, fmt):
        if column.null_count == len(column):
            return np.full(self.n, NAT_NS, dtype=np.int64)
        if not pa.types.is_string(column.type):  # (JSON numbers: not reached; see schema)
            return _time_ns(pd.Series(column.to_pandas()).astype(str))
        # (a cast that fails costs about 1 us a value: the first value given chooses the
        # one tried, and the others must then agree with it)
        head = _first_given(column)
        values = None
        if _casts(head, pa.float64()):  # numbers: Unix time, the unit told by magnitude
            try:  # (as _numeric_time_ns)
                values = pc.cast(column, pa.float64())
            except (pa.ArrowInvalid, pa.ArrowNotImplementedError):
                pass
        if values is not None:
            whole = None
            if not column.null_count:
                try:
                    whole = pc.cast(column, pa.int64()).to_numpy()
                except (pa.ArrowInvalid, pa.ArrowNotImplementedError):
                    pass
            values = np.asarray(values.to_numpy(), dtype=np.float64)
            given = ~np.isnan(values) if column.null_count else np.ones(values.size, bool)
            if column.null_count and np.isnan(values[given]).any():  # pragma: no cover
                values = None
            else:
                return _epoch_ns(values, given, whole)
        try:
            if fmt:
                parsed = pc.strptime(column, format=fmt, unit="ns")
            else:
                parsed = _iso_ns(column, _casts(head, pa.timestamp("ns", "UTC")))
            return np.asarray(pc.fill_null(parsed.cast(pa.int64()), NAT_NS).to_numpy(),
                              dtype=np.int64)
        except (pa.ArrowInvalid, pa.ArrowNotImplementedError):  # pandas, as before
            return _time_ns(pd.Series(pc.fill_null(column, "").to_pandas()), fmt)


def _iso_ns(column, zoned: bool):
    """ISO 8601 times as UTC timestamps: all with a zone (``zoned``) or none, else those
    ending in ``Z`` and those with no zone (UTC, as pandas reads them: gpsdio files hold
    both); raises ArrowInvalid for anything else."""
    try:
        return pc.cast(column, pa.timestamp("ns", "UTC" if zoned else None))
    except pa.ArrowInvalid:
        z = pc.ends_with(column, "Z")
        none = pa.scalar(None, pa.string())
        with_z = pc.cast(pc.if_else(z, column, none), pa.timestamp("ns", "UTC"))
        naive = pc.cast(pc.if_else(z, none, column), pa.timestamp("ns"))
        return pc.coalesce(with_z.cast(pa.int64()), naive.cast(pa.int64()))


def _first_given(column):
    """The first value of ``column`` that is not null (none: empty)."""
    head = pc.drop_null(column.slice(0, 64))
    return (head if len(head) else pc.drop_null(column)).slice(0, 1)


def _casts(values, to) -> bool:
    """Whether ``values`` cast to type ``to``."""
    try:
        pc.cast(values, to)
    except (pa.ArrowInvalid, pa.ArrowNotImplementedError):
        return False
    return True


class _Thinner:
    """Static records of a file's rows: a row is kept when its static columns differ from
    those of the MMSI's previous row (in the file, across blocks) and are not all missing.

    Across blocks it carries each MMSI's last row as columns sorted by MMSI (``last_mmsi``
    and one value array per field: floats, or text as objects with None for missing), so
    that a block's first rows are compared with them on whole arrays."""

    def __init__(self):
        self.last_mmsi = np.zeros(0, np.int64)
        self.last_values = None  # [array per field] aligned with last_mmsi

    @staticmethod
    def _values(fields, rows) -> list:
        """Each field's values at ``rows``: float64 (NaN missing) or object (None missing)."""
        out = []
        for _, kind, data in fields:  # (a loop over the few static fields)
            if kind == "f":
                out.append(data[rows])
            else:
                codes, uniques = data
                c = codes[rows]
                text = np.full(c.size, None, dtype=object)
                if uniques.size:
                    text[c >= 0] = np.asarray(uniques, dtype=object)[c[c >= 0]]
                out.append(text)
        return out

    def _same_as_carried(self, mmsi, values) -> np.ndarray:
        """Whether each row (``mmsi``, ``values``) equals its MMSI's carried last row."""
        same = np.zeros(mmsi.size, bool)
        if not self.last_mmsi.size or not mmsi.size:
            return same
        at = np.minimum(np.searchsorted(self.last_mmsi, mmsi), self.last_mmsi.size - 1)
        same = self.last_mmsi[at] == mmsi
        for new, old in zip(values, self.last_values, strict=True):
            old = old[at]
            if new.dtype.kind == "f":
                same &= (new == old) | (np.isnan(new) & np.isnan(old))
            else:
                same &= np.equal(new, old, dtype=object).astype(bool)
        return same

    def _carry(self, mmsi, values) -> None:
        """Make (``mmsi``, ``values``), one row per MMSI, the carried last rows."""
        keep = ~np.isin(self.last_mmsi, mmsi)
        merged = np.concatenate([self.last_mmsi[keep], mmsi])
        order = np.argsort(merged, kind="stable")
        self.last_mmsi = merged[order]
        if self.last_values is None:
            self.last_values = [v[:0] for v in values]
        self.last_values = [np.concatenate([old[keep], new])[order]
                            for old, new in zip(self.last_values, values, strict=True)]

    @classmethod
    def block(cls, stat) -> tuple | None:
        """The part of :meth:`frame` that needs no other block (run where the block was
        parsed, beside the other threads): ``stat`` (:func:`_static_rows`) with which rows
        differ from their MMSI's previous row in the block, and each MMSI's first and last
        row here and their values (None when there are no rows)."""
        mmsi, fields = stat[0], stat[4]
        n = mmsi.size
        if not n:
            return None
        order = np.argsort(mmsi, kind="stable")
        ms = mmsi[order]
        same_mmsi = np.zeros(n, bool)
        same_mmsi[1:] = ms[1:] == ms[:-1]
        same = same_mmsi.copy()
        has_any = np.zeros(n, bool)
        for _, kind, data in fields:
            if kind == "f":
                a = data[order]
                nan = np.isnan(a)
                same[1:] &= (a[1:] == a[:-1]) | (nan[1:] & nan[:-1])
                has_any |= ~np.isnan(data)
            else:
                a = data[0][order]
                same[1:] &= a[1:] == a[:-1]
                has_any |= data[0] >= 0
        changed = np.empty(n, bool)
        changed[order] = ~same
        first = np.sort(order[~same_mmsi])
        is_last = np.ones(n, bool)
        is_last[:-1] = ~same_mmsi[1:]
        last = order[is_last]
        return (stat, changed & has_any, first, cls._values(fields, first), last,
                cls._values(fields, last))

    def frame(self, blocked) -> pd.DataFrame | None:
        """The static records of a block's rows (``blocked``: what :meth:`block` made of
        them), blocks taken in file order."""
        (mmsi, time_ns, line, ais_class, fields), changed, first, first_values, last, \
            last_values = blocked
        # an MMSI's first row here against its last row in earlier blocks
        changed[first[self._same_as_carried(mmsi[first], first_values)]] = False
        self._carry(mmsi[last], last_values)
        keep = np.flatnonzero(changed)
        if not keep.size:
            return None
        frame = pd.DataFrame({"mmsi": mmsi[keep], "time": time_ns[keep]})
        for field, kind, data in fields:
            if kind == "f":
                frame[field] = data[keep]
            else:
                codes, uniques = data
                c = codes[keep]
                values = np.where(c >= 0, uniques[np.maximum(c, 0)] if uniques.size else None,
                                  None)
                frame[field] = pd.array(values, dtype="string")
        codes, uniques = ais_class
        c = codes[keep]
        frame["ais_class"] = np.where(c >= 0, uniques[np.maximum(c, 0)] if uniques.size
                                      else None, None)
        frame["msg_type"] = 0
        frame["file"] = pd.array([""] * len(frame), dtype="string")
        frame["line"] = line[keep]
        return frame


#: Accepted names (any case) of the columns a CSV of another layout needs, tried when no
#: mapping is given.
CSV_ALIASES = {
    "mmsi": ("mmsi", "ssvid", "userid", "user_id", "mmsi_number"),
    "time": ("time", "timestamp", "basedatetime", "datetime", "date_time", "ts",
             "t", "received_time", "position_timestamp"),
    "lat": ("lat", "latitude", "y"),
    "lon": ("lon", "lng", "long", "longitude", "x"),
    "sog": ("sog", "speed", "speed_kn", "sog_kn"),
    "cog": ("cog", "course", "cog_deg"),
    "heading": ("heading", "true_heading", "heading_deg"),
    "nav_status": ("nav_status", "navstatus", "status", "navigational_status"),
}
_REQUIRED_KEYS = ("mmsi", "time", "lat", "lon")

ACCEPTED_LAYOUTS = ("NMEA (!AIVDM/!AIVDO sentences, any talker, tag blocks, $PGHP)",
                    "MarineCadastre CSV (MMSI,BaseDateTime,LAT,LON,...)",
                    "DMA CSV (# Timestamp,Type of mobile,MMSI,...)",
                    "GFW JSON lines ({\"ssvid\": ...})",
                    "any CSV with a column mapping (mmsi, time, lat, lon)")


def parse_columns(columns) -> dict:
    """A column mapping as ``{key: column}`` from a dict or ``"mmsi=ID,time=ts,..."``."""
    if columns is None:
        return {}
    if isinstance(columns, str):
        pairs = [p for p in columns.split(",") if p.strip()]
        out = {}
        for pair in pairs:
            if "=" not in pair:
                raise ValueError(f"columns: {pair!r} should be KEY=COLUMN, e.g. mmsi=ID")
            key, col = pair.split("=", 1)
            out[key.strip()] = col.strip()
        columns = out
    unknown = sorted(set(columns) - set(CSV_ALIASES))
    if unknown:
        raise ValueError(f"columns: unknown key(s) {unknown}; keys are {list(CSV_ALIASES)}")
    return dict(columns)


def csv_columns(found: list, columns=None, name: str = "table") -> dict:
    """Which column of a CSV holds each field: the given mapping, else the known aliases.

    Raises
    ------
    ValueError
        A required field (mmsi, time, lat, lon) that no column gives, or a mapped column the
        file does not have: the message lists the file's columns and the accepted layouts.
    """
    mapping = parse_columns(columns)
    lower = {str(c).strip().lower(): c for c in found}
    out = {}
    for key, aliases in CSV_ALIASES.items():
        if key in mapping:
            if mapping[key] not in found:
                raise ValueError(f"{name}: no column {mapping[key]!r} (for {key}); its columns "
                                 f"are {[str(c) for c in found]}")
            out[key] = mapping[key]
            continue
        hit = next((lower[a] for a in aliases if a in lower), None)
        if hit is not None:
            out[key] = hit
    missing = [k for k in _REQUIRED_KEYS if k not in out]
    if missing:
        raise ValueError(
            f"{name}: unrecognised CSV layout (no column for {', '.join(missing)}); its columns "
            f"are {[str(c) for c in found]}. Accepted layouts: {'; '.join(ACCEPTED_LAYOUTS)}. "
            "Map the columns with read_ais(..., columns={'mmsi': ..., 'time': ..., 'lat': ..., "
            "'lon': ...}) or --columns mmsi=COL,time=COL,lat=COL,lon=COL")
    return out


#: A line that is neither blank nor starts a JSON object (``null``, ``[1,2,3]``, a string).
_NOT_AN_OBJECT = re.compile(rb"(?m)^[ \t]*[^{ \t\r\n]")


def _parse_json_lines(data: bytes, report) -> pd.DataFrame:
    if not _NOT_AN_OBJECT.search(data):  # every line an object: pandas reads them at once
        try:
            return pd.read_json(io.BytesIO(data), lines=True, dtype=False)
        except ValueError:
            pass
    rows, bad = [], 0
    for line in data.splitlines():  # only for a block with broken lines: find and count them
        if not line.strip():
            continue
        try:
            obj = json.loads(line)
        except ValueError:
            obj = None
        if isinstance(obj, dict):
            rows.append(obj)
        else:
            bad += 1
    report.lines += bad
    report.add_skip("bad_row", bad)
    return pd.DataFrame(rows)


def _num(series) -> np.ndarray:
    return pd.to_numeric(pd.Series(series), errors="coerce").to_numpy(dtype=np.float64)


def _text(series) -> pd.Series:
    out = pd.Series(series, dtype=object).astype("string").str.strip()
    return out.mask(out.isin(["", "Unknown", "Undefined", "nan", "None"]))


#: Numeric times are read by their size (#15 item 5: BigQuery exports write Unix
#: milliseconds or microseconds, once read as seconds): an epoch in seconds has 10 digits
#: from 2001-09-09 to 2286, in ms 13, in us 16, in ns 19. Below 1e11 (year 5138 in
#: seconds, 1973 in ms) a number is seconds.
_EPOCH_UNITS = ((1e17, "ns"), (1e14, "us"), (1e11, "ms"), (0.0, "s"))


def _numeric_time_ns(series: pd.Series) -> np.ndarray | None:
    """Numeric epoch times -> int64 ns, the unit told by magnitude; None if not numeric."""
    number = pd.to_numeric(pd.Series(series), errors="coerce")
    whole = number.to_numpy() if pd.api.types.is_integer_dtype(number.dtype) else None
    values = number.to_numpy(dtype=np.float64)
    given = pd.Series(series).astype(str).str.strip().ne("").to_numpy() & \
        pd.Series(series).notna().to_numpy()
    if not given.any() or np.isnan(values[given]).any():
        return None
    return _epoch_ns(values, given, whole)


def _epoch_ns(values: np.ndarray, given: np.ndarray, whole) -> np.ndarray:
    """Epoch numbers (``whole``: the same as integers, or None) -> int64 ns, NaT where not
    ``given``; one unit for the column, told by the median magnitude."""
    out = np.full(values.size, NAT_NS, dtype=np.int64)
    magnitude = np.nanmedian(np.abs(values[given]))  # one unit per column
    for bound, unit in _EPOCH_UNITS:
        if magnitude >= bound:
            scale = {"ns": 1, "us": 1_000, "ms": 1_000_000, "s": 1_000_000_000}[unit]
            ok = given & np.isfinite(values) & (np.abs(values) * scale < 9.2e18)
            if whole is not None:  # integers stay exact (no float rounding of ms)
                out[ok] = whole[ok].astype(np.int64) * scale
            else:
                out[ok] = np.round(values[ok] * scale).astype(np.int64)
            return out
    return out  # pragma: no cover - the last bound is 0


def _time_ns(series, fmt=None, report=None) -> np.ndarray:
    numeric = _numeric_time_ns(series)
    if numeric is not None:
        if report is not None:
            report.add_note("time_unparsed", int((numeric == NAT_NS).sum()))
        return numeric
    if fmt:
        parsed = pd.to_datetime(pd.Series(series), format=fmt, errors="coerce", utc=True)
    else:
        parsed = pd.to_datetime(pd.Series(series), format="ISO8601", errors="coerce", utc=True)
    ns = parsed.dt.tz_convert("UTC").to_numpy(dtype="datetime64[ns]").view(np.int64)
    if report is not None:
        report.add_note("time_unparsed", int((ns == NAT_NS).sum()))
    return ns


def _rows(report, mmsi, time_ns, lat, lon, sog, cog, heading, nav_status, keep=None,
          line=None):
    """Validate rows, count skips, return position columns of the kept rows and their mask."""
    n = mmsi.size
    line = np.zeros(n, dtype=np.int64) if line is None else line
    report.lines += n
    keep = np.ones(n, bool) if keep is None else keep.copy()
    with np.errstate(invalid="ignore"):
        bad = keep & (~np.isfinite(mmsi) | (mmsi != np.round(mmsi)) | ~np.isfinite(lat)
                      | ~np.isfinite(lon))
        keep &= ~bad
        bad_mmsi = keep & ((mmsi < 1) | (mmsi > 999_999_999))
        keep &= ~bad_mmsi
        lat_na, lon_na = lat == 91, lon == 181
        oor = keep & (((np.abs(lat) > 90) & ~lat_na) | ((np.abs(lon) > 180) & ~lon_na))
        keep &= ~oor
        sog = np.where((sog >= 102.3) | (sog < 0), np.nan, sog)
        cog = np.where((cog >= 360) | (cog < 0), np.nan, cog)
        heading = np.where((heading >= 360) | (heading < 0), np.nan, heading)
        nav = np.where(np.isfinite(nav_status) & (nav_status >= 0) & (nav_status <= 15),
                       nav_status, 15)
    report.add_skip("bad_row", bad.sum())
    report.add_skip("invalid_mmsi", bad_mmsi.sum())
    report.add_skip("out_of_range_position", oor.sum())
    report.add_decoded(0, keep.sum())
    if keep.all():
        pick = slice(None)
        n_keep = n
    else:
        pick = np.flatnonzero(keep)
        n_keep = pick.size
    cols = {
        "mmsi": mmsi[pick].astype(np.int64), "time": time_ns[pick],
        "lat": np.where(lat_na, np.nan, lat)[pick], "lon": np.where(lon_na, np.nan, lon)[pick],
        "sog_kn": sog[pick], "cog_deg": cog[pick], "heading_deg": heading[pick],
        "nav_status": nav[pick].astype(np.int8), "msg_type": np.zeros(n_keep, np.int8),
        "source": np.zeros(n_keep, dtype=np.int32), "line": line[pick],
    }
    return cols, keep


def _positive(values: np.ndarray, below: float | None = None) -> np.ndarray:
    with np.errstate(invalid="ignore"):
        ok = values > 0 if below is None else (values > 0) & (values < below)
        return np.where(ok, values, np.nan)


def _static_rows(mmsi, time_ns, keep, line, ais_class, fields):
    """What :class:`_Thinner` needs of a block's kept rows: ``(mmsi, time, line, ais_class,
    [(field, "f", floats) or (field, "s", (codes, uniques))])``."""
    pick = np.flatnonzero(keep)
    kept = [(f, kind, data[pick] if kind == "f" else (data[0][pick], data[1]))
            for f, kind, data in fields]
    return (np.nan_to_num(mmsi[pick]).astype(np.int64), time_ns[pick], line[pick],
            (ais_class[0][pick], ais_class[1]), kept)


def _check_columns(found, required, name):
    missing = [c for c in required if c not in found]
    if missing:
        raise ValueError(f"{name} table lacks columns {missing}; found {list(found)}")


def _imo_digits(s: pd.Series) -> pd.Series:
    return pd.to_numeric(s.astype(str).str.extract(r"(\d+)")[0], errors="coerce")


def _upper_class(s: pd.Series) -> pd.Series:
    return s.astype(str).str.strip().str.upper().where(lambda v: v != "")


def _codes(values) -> tuple:
    """``(codes, uniques)`` of per-row values (-1: missing)."""
    codes, uniques = pd.factorize(pd.Series(values, dtype=object))
    return codes, np.asarray(uniques, dtype=object)


def _coded(codes: np.ndarray, values) -> tuple:
    """:func:`_codes` of ``values[codes]`` (``values``: one per distinct value of a column,
    ``codes``: each row's), made from the distinct values: ``(codes, uniques)``."""
    value_codes, uniques = _codes(np.asarray(values, dtype=object))
    return value_codes[codes], uniques


def _marinecadastre(rows: _Rows, report, line):
    _check_columns(rows.columns, ["MMSI", "BaseDateTime", "LAT", "LON"], "MarineCadastre")
    mmsi = rows.num("MMSI")
    time_ns = rows.time("BaseDateTime", report=report)
    cols, keep = _rows(report, mmsi, time_ns, rows.num("LAT"), rows.num("LON"),
                       rows.num("SOG"), rows.num("COG"), rows.num("Heading"),
                       rows.num("Status"), line=line)
    stat = _static_rows(mmsi, time_ns, keep, line, rows.coded("TransceiverClass", _upper_class), [
        ("imo", "f", _positive(rows.mapped("IMO", _imo_digits).astype(np.float64))),
        ("callsign", "s", rows.text("CallSign")), ("name", "s", rows.text("VesselName")),
        ("ship_type", "f", _positive(rows.num("VesselType"), 100)),
        ("length_m", "f", _positive(rows.num("Length"))),
        ("beam_m", "f", _positive(rows.num("Width"))),
        ("draught_m", "f", _positive(rows.num("Draft"))),
        ("destination", "s", (np.full(rows.n, -1), np.array([], dtype=object))),
    ])
    return cols, stat


def _dma(rows: _Rows, report, line):
    ts_col = "# Timestamp" if "# Timestamp" in rows.columns else "Timestamp"
    _check_columns(rows.columns, [ts_col, "Type of mobile", "MMSI", "Latitude", "Longitude"],
                   "DMA")
    codes, uniques = rows.values("Type of mobile")
    mobile = pd.Series(uniques, dtype=object).astype(str).str.strip()
    vessel = mobile.isin(["Class A", "Class B"]).to_numpy()[codes]
    n_other = int((~vessel).sum())
    report.add_skip("not_vessel_report", n_other)
    report.lines += n_other
    mmsi = rows.num("MMSI")
    time_ns = rows.time(ts_col, fmt="%d/%m/%Y %H:%M:%S", report=report)
    nav = rows.mapped("Navigational status", lambda s: s.astype(str).str.strip().str.lower()
                      .map(_DMA_NAV_STATUS)).astype(np.float64)
    # rows of other mobiles were counted above; _rows counts the vessel rows
    sub = np.flatnonzero(vessel)
    cols, keep_sub = _rows(report, mmsi[sub], time_ns[sub], rows.num("Latitude")[sub],
                           rows.num("Longitude")[sub], rows.num("SOG")[sub],
                           rows.num("COG")[sub], rows.num("Heading")[sub], nav[sub],
                           line=line[sub])
    keep = np.zeros(rows.n, bool)
    keep[sub[keep_sub]] = True
    ship_type = rows.mapped("Ship type", lambda s: s.astype(str).str.strip().str.lower()
                            .map(_DMA_SHIP_TYPE)).astype(np.float64)
    stat = _static_rows(mmsi, time_ns, keep, line, _coded(codes, mobile.str[-1]), [
        ("imo", "f", _positive(rows.num("IMO"))),
        ("callsign", "s", rows.text("Callsign")), ("name", "s", rows.text("Name")),
        ("ship_type", "f", ship_type),
        ("length_m", "f", _positive(rows.num("Length"))),
        ("beam_m", "f", _positive(rows.num("Width"))),
        ("draught_m", "f", _positive(rows.num("Draught"))),
        ("destination", "s", rows.text("Destination")),
    ])
    return cols, stat


def _generic(rows: _Rows, report, line, mapping: dict):
    num = lambda k: rows.num(mapping[k]) if k in mapping else np.full(rows.n, np.nan)  # noqa: E731
    time_ns = rows.time(mapping["time"], report=report)
    cols, _ = _rows(report, num("mmsi"), time_ns, num("lat"), num("lon"), num("sog"),
                    num("cog"), num("heading"), num("nav_status"), line=line)
    return cols, None


def _gfw(rows: _Rows, report, line):
    # A key missing from every row of a block (a misspelt key on a last line read on its
    # own) leaves those rows without a value: they are counted as bad_row, not fatal.
    time_ns = rows.time("timestamp", report=report)
    cols, _ = _rows(report, rows.num("ssvid"), time_ns, rows.num("lat"), rows.num("lon"),
                    rows.num("speed"), rows.num("course"), rows.num("heading"),
                    np.full(rows.n, np.nan), line=line)
    return cols, None
