"""Static and voyage data (types 5, 19, 24) and the per-MMSI vessels table.

:func:`decode_statics` decodes whole arrays of static messages at once with the NMEA
kernel's compiled decoder (tested row by row against pyais: ``decode_static`` in
tests/test_ais_statics.py).
Field layouts follow ITU-R M.1371-5, Annex 8: type 5 (table 52), type 19 (table 49) and
type 24 parts A and B (table 76); text uses the AIS 6-bit ASCII table (table 47).
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from ._frames import frame, utc_array

__all__ = ["STATICS_COLUMNS", "STATICS_MIN_BITS", "STATICS_SKIP_REASONS", "STATIC_TYPES",
           "VESSEL_COLUMNS", "build_statics", "build_vessels", "decode_statics",
           "vessels_from_columns"]

#: Message types carrying static data.
STATIC_TYPES = (5, 19, 24)

#: Columns of the vessels table, in order.
VESSEL_COLUMNS = [
    "mmsi", "imo", "callsign", "name", "ship_type", "length_m", "beam_m", "draught_m",
    "destination", "ais_class", "first_seen", "last_seen", "n_name_changes", "n_type_changes",
]

#: Columns of the statics history table (``AISData.statics``), in order: one row per decoded
#: static record (contract C2). ``msg_type`` is 5, 19 or 24 for NMEA records and 0 for rows
#: of decoded tables (CSV, whose static columns ride on position rows).
STATICS_COLUMNS = [
    "time", "mmsi", "msg_type", "imo", "name", "callsign", "ship_type", "length_m", "beam_m",
    "draught_m", "destination", "ais_class", "file", "line",
]

#: Minimum payload bits of a static message below which :func:`decode_statics` skips it as
#: ``"short_payload"``: the end of the last field read (ITU-R M.1371-5: type 5 destination ends
#: at bit 420 before its last character's two low bits, type 24 part A name at 160 (some units
#: send 158), type 24 part B dimensions at 162, type 19 dimensions at 301). The compiled
#: decoder (:mod:`stsdetect.ais.kernel`) takes its limits from this table.
STATICS_MIN_BITS = {5: 420, 24: 158, 19: 301}

#: Skip reasons of :func:`decode_statics`, indexed by its ``reason`` codes (0 = decoded).
STATICS_SKIP_REASONS = ("", "short_payload", "undecodable_payload", "invalid_type24_part")

def _text(value) -> str | None:
    if value is None:
        return None
    text = str(value).replace("@", " ").strip()
    return text or None


def _positive(value) -> float:
    try:
        value = float(value)
    except (TypeError, ValueError):
        return np.nan
    return value if value > 0 else np.nan


# --- decoding (compiled, in the NMEA kernel) ---------------------------------------------------

def decode_statics(buf, start, n_chars, fill_bits, msg_type) -> dict:
    """Decode static messages (types 5, 19, 24) stored in one byte buffer, all at once.

    Row for row the same values as pyais (tested against it in tests/test_ais_statics.py),
    through the NMEA kernel's compiled static decoder
    (:func:`stsdetect.ais.kernel.decode_statics`, the one ``read_ais`` uses).

    Parameters
    ----------
    buf : numpy.ndarray of uint8 or bytes
        Bytes holding the armoured payloads (all fragments of a message joined).
    start, n_chars : numpy.ndarray of int
        Offset of each payload's first character in ``buf`` and its length in characters.
        Payloads must lie inside ``buf``; padding past the end is not needed.
    fill_bits : numpy.ndarray of int
        Fill bits of each payload (of its last fragment).
    msg_type : numpy.ndarray of int
        Message type of each payload, each one of :data:`STATIC_TYPES`; it selects the layout
        (the payload's own type field is not read).

    Returns
    -------
    dict of numpy.ndarray
        One entry per input row:

        * ``reason`` (int8): index into :data:`STATICS_SKIP_REASONS`; 0 = decoded,
          1 ``"short_payload"`` (``6 * n_chars - fill_bits`` below :data:`STATICS_MIN_BITS`,
          the table the reader applies before calling ``decode_static``),
          2 ``"undecodable_payload"`` (a byte outside the AIS armouring alphabet anywhere in
          the payload, or negative fill bits), 3 ``"invalid_type24_part"`` (type 24 part
          number 2 or 3). Checked in that order. Deviation from ``decode_static``: pyais
          silently maps bytes outside the alphabet to arbitrary 6-bit values (the reader's
          framing rejects such payloads before either decoder sees them).
        * ``mmsi``, ``msg_type`` (int64). The MMSI is not range-checked (the reader's
          ``invalid_mmsi`` check applies to it as to ``decode_static``'s).
        * ``imo``, ``ship_type`` (float64): NaN where ``decode_static`` gives None (IMO
          outside 1..999 999 999 or not type 5; ship type outside 1..99 or type 24 part A).
          Types 5 and 19 report ship types as pyais reads them (reserved codes 1-19, 38-39
          as not available, other reserved codes as their category's first reserved one);
          type 24 part B as sent.
        * ``callsign``, ``name``, ``destination`` (object: ``str`` or None): '@' read as a
          space, leading / trailing spaces stripped, None when blank or not carried by the
          message type / part.
        * ``length_m``, ``beam_m``, ``draught_m`` (float64): bow + stern, port + starboard,
          draught / 10; NaN unless positive, not carried, or (type 24 part B) an auxiliary
          craft (MMSI 98XXXYYYY), whose part B carries its mother ship's MMSI instead.

        Fields of skipped rows (``reason != 0``) are blank: ``mmsi`` 0, None / NaN elsewhere.
        As in pyais, a field cut short by the end of the payload is the value of the bits
        present (for example the last character of a type 5 destination of 420 or 421 bits).

    Raises
    ------
    ValueError
        If a message type is not one of :data:`STATIC_TYPES`, the arrays differ in length, or
        a payload lies outside ``buf``.
    """
    if isinstance(buf, (bytes, bytearray, memoryview)):
        buf = np.frombuffer(buf, dtype=np.uint8)
    buf = np.ascontiguousarray(buf, dtype=np.uint8).ravel()
    start = np.asarray(start, dtype=np.int64).ravel()
    n_chars = np.asarray(n_chars, dtype=np.int64).ravel()
    fill = np.asarray(fill_bits, dtype=np.int64).ravel()
    msg_type = np.asarray(msg_type, dtype=np.int64).ravel()
    n = start.size
    if not n_chars.size == fill.size == msg_type.size == n:
        raise ValueError("decode_statics: start, n_chars, fill_bits and msg_type must have the "
                         f"same length, got {n}, {n_chars.size}, {fill.size}, {msg_type.size}")
    unknown = (msg_type != 5) & (msg_type != 19) & (msg_type != 24)
    if unknown.any():
        raise ValueError(f"decode_statics: message types {np.unique(msg_type[unknown]).tolist()}"
                         f" are not static types {STATIC_TYPES}")
    if n and (start.min() < 0 or n_chars.min() < 0 or (start + n_chars).max() > buf.size):
        raise ValueError("decode_statics: payloads must lie inside buf")
    from .kernel import COUNT_NAMES, TEXT_SLOTS
    from .kernel import decode_statics as _compiled

    counter, mmsi, floats, text = _compiled(buf, start, n_chars, fill, msg_type)
    to_reason = np.zeros(len(COUNT_NAMES), np.int8)
    for code, name in enumerate(STATICS_SKIP_REASONS[1:], start=1):
        to_reason[COUNT_NAMES.index(name)] = code
    reason = to_reason[counter]
    out = {"mmsi": np.where(reason == 0, mmsi, 0), "msg_type": msg_type.copy(),
           "imo": floats[0], "ship_type": floats[1], "length_m": floats[2],
           "beam_m": floats[3], "draught_m": floats[4], "reason": reason}
    for name, (at, width) in TEXT_SLOTS.items():
        raw = np.ascontiguousarray(text[:, at:at + width]).view(f"S{width}").ravel()
        stripped = np.char.strip(raw)
        texts = stripped.astype(str).astype(object)
        texts[(stripped == b"") | (reason != 0)] = None
        out[name] = texts
    return out


_NAT = np.iinfo(np.int64).min  # NaT as int64
_INT64_MAX = np.iinfo(np.int64).max
_FIELDS = ["imo", "callsign", "name", "ship_type", "length_m", "beam_m", "draught_m",
           "destination", "ais_class"]
_UNITS = ("s", "ms", "us", "ns")


def _epoch_ns(times) -> tuple[np.ndarray, str]:
    """int64 nanoseconds since the epoch (NaT = int64 min) and unit of datetimes (naive = UTC):
    a Series or array of times, or int64 ns already (unit "ns")."""
    if isinstance(times, np.ndarray) and times.dtype == np.int64:
        return times, "ns"
    if not isinstance(times.dtype, pd.DatetimeTZDtype):
        times = pd.to_datetime(times, utc=True)
    arr = times.array if isinstance(times, pd.Series) else times
    unit = arr.unit
    if unit != "ns":
        arr = arr.as_unit("ns")
    return arr.asi8, unit


def _known_values(arr):
    """A column's values (``arr``: its array) and which rows hold one (not null / NaN): plain
    NumPy arrays for numbers (no per-call pandas machinery), the extension array otherwise."""
    if isinstance(arr, pd.arrays.IntegerArray):
        return arr._data, ~arr._mask
    values = np.asarray(arr) if arr.dtype.kind == "f" else arr
    if isinstance(values, np.ndarray):
        return values, ~np.isnan(values)
    if isinstance(values, pd.arrays.ArrowStringArray) and values._pa_array.num_chunks == 1:
        chunk = values._pa_array.chunk(0)  # (its validity bits, unpacked: no pandas isna)
        bits = chunk.buffers()[0]
        if bits is None:
            return values, np.ones(len(chunk), dtype=bool)
        at = chunk.offset
        return values, np.unpackbits(np.frombuffer(bits, np.uint8), count=at + len(chunk),
                                     bitorder="little")[at:].view(bool)
    return values, ~np.asarray(values.isna(), dtype=bool)


def _text_bytes(values) -> tuple:
    """Each value of a text column as bytes to compare: ``(offsets, data)``, value ``i``
    being ``data[offsets[i]:offsets[i + 1]]``, equal exactly when the values are. An Arrow
    string column gives its own buffers (no copy when it is one chunk); others their codes
    of :func:`pandas.factorize` (8 bytes each)."""
    if isinstance(values, pd.arrays.ArrowStringArray):
        import pyarrow as pa

        arr = values._pa_array
        arr = arr.chunk(0) if arr.num_chunks == 1 else arr.combine_chunks()
        if not pa.types.is_large_string(arr.type):
            arr = arr.cast(pa.large_string())
        _, offsets, data = arr.buffers()
        offsets = np.frombuffer(offsets, np.int64)[arr.offset:arr.offset + len(arr) + 1]
        return offsets, (np.frombuffer(data, np.uint8) if data is not None
                         else np.zeros(0, np.uint8))
    codes = np.ascontiguousarray(pd.factorize(values)[0], dtype=np.int64)
    return np.arange(codes.size + 1, dtype=np.int64) * 8, codes.view(np.uint8)


def _numbers(values) -> np.ndarray:
    """A numeric column's values as float64 to compare (codes of :func:`pandas.factorize`
    for any other)."""
    if isinstance(values, np.ndarray) and values.dtype.kind in "iuf":
        return values.astype(np.float64, copy=False)
    return pd.factorize(values)[0].astype(np.float64)


def build_vessels(statics: pd.DataFrame, positions: pd.DataFrame | None = None) -> pd.DataFrame:
    """One row per MMSI from static records, latest values kept and changes counted.

    Parameters
    ----------
    statics : pandas.DataFrame
        Static records in arrival order with the fields of ``decode_static`` plus
        ``time`` (UTC, may be NaT) and ``ais_class``.
    positions : pandas.DataFrame, optional
        Position reports; their times widen ``first_seen`` / ``last_seen``.

    Returns
    -------
    pandas.DataFrame
        Columns :data:`VESSEL_COLUMNS`, one row per MMSI of ``statics`` in increasing MMSI
        order. "Latest" is the last non-null value in arrival order; ``first_seen`` /
        ``last_seen`` are the earliest / latest non-NaT time of the MMSI's static records and
        position reports (NaT if none has a time); ``n_name_changes`` / ``n_type_changes``
        count how often the reported name / ship type changed from one static message to the
        next. Vessels only seen in ``positions`` are not listed.
    """
    if statics is None or len(statics) == 0:
        return _empty_vessels()
    seen = None
    if positions is not None and len(positions):
        seen = (np.asarray(positions["mmsi"], dtype=np.int64), positions["time"])
    return vessels_from_columns({c: statics[c].array for c in ("mmsi", "time", *_FIELDS)},
                                seen)


def vessels_from_columns(cols: dict, seen: tuple | None = None,
                         started: tuple | None = None) -> pd.DataFrame:
    """:func:`build_vessels` from the static records' column arrays (no DataFrame).

    Parameters
    ----------
    cols : dict
        ``mmsi``, ``time`` (datetimes, or int64 ns with NaT as int64 min) and the columns of
        :data:`VESSEL_COLUMNS` taken from the records (``imo`` ... ``ais_class``), each a
        NumPy or pandas array of one row per record, in arrival order (at least one row).
    seen : tuple, optional
        ``(mmsi, time)`` of position reports (int64 array; times as for ``cols``), or
        ``(mmsi, first, last)`` (int64 ns: each row's earliest and latest time, both NaT
        or neither, e.g. a chunk's :func:`~.kernel.time_ranges`): they widen
        ``first_seen`` / ``last_seen``.
    started : tuple, optional
        What :func:`_start_vessels` returned for ``cols`` (the compiled grouping started
        on another thread earlier, with its own ``seen``: this one is then not used); by
        default it is done here.

    Returns
    -------
    pandas.DataFrame
        As :func:`build_vessels`.
    """
    values, unit, groups = _start_vessels(cols, seen=seen) if started is None else started
    keys, at, first, last, changes = groups()  # (widened by ``seen`` already)
    out = {"mmsi": keys}
    for j, field in enumerate(_FIELDS):  # latest non-null value: a fixed loop over the columns
        if isinstance(values[field], np.ndarray):  # numbers: NaN / masked where none is known
            out[field] = _latest_numbers(cols[field], values[field], at[j])
        else:
            out[field] = _take(values[field], at[j])
    first[first == _INT64_MAX] = _NAT
    for name, ns in (("first_seen", first), ("last_seen", last)):
        out[name] = utc_array(ns, unit)
    out["n_name_changes"], out["n_type_changes"] = changes
    return _vessels_frame(out)


def _start_vessels(cols: dict, run=None, seen: tuple | None = None) -> tuple:
    """The first part of :func:`vessels_from_columns`: each field's values and which
    records hold one, and the records grouped by MMSI (:func:`~.kernel.vessel_groups`,
    handed to ``run`` when given: like a pool's ``submit``, so that the compiled pass runs
    beside the caller's other work), their times widened by ``seen`` (as for
    :func:`vessels_from_columns`) in the same pass. Returns ``(values, time unit,
    groups)``, ``groups()`` the grouping's result (waiting for it)."""
    from .kernel import vessel_groups

    mmsi = np.asarray(cols["mmsi"], dtype=np.int64)
    values, known = {}, np.empty((mmsi.size, len(_FIELDS)), dtype=bool)
    for j, field in enumerate(_FIELDS):
        values[field], known[:, j] = _known_values(cols[field])
    times, unit = _epoch_ns(cols["time"])
    if seen is not None and len(seen) == 2:  # (mmsi, time): each time both first and last
        pos_times, pos_unit = _epoch_ns(seen[1])
        seen = (seen[0], pos_times, pos_times)
        unit = max(unit, pos_unit, key=_UNITS.index)
    offsets, data = _text_bytes(values["name"])
    args = (mmsi, times, known, _FIELDS.index("name"), _FIELDS.index("ship_type"), offsets,
            data, _numbers(values["ship_type"]))
    if run is None:
        result = vessel_groups(*args, seen=seen)
        return values, unit, lambda: result
    return values, unit, vessel_groups(*args, run=run, seen=seen)


def build_statics(statics: pd.DataFrame | None) -> pd.DataFrame:
    """The statics history table: every static record, typed, in input order.

    Parameters
    ----------
    statics : pandas.DataFrame or None
        Static records in input order with the fields of ``decode_static`` plus ``time``
        (UTC, may be NaT) and ``ais_class``; extra columns (``file``, ``line``) are kept
        after :data:`STATICS_COLUMNS`.

    Returns
    -------
    pandas.DataFrame
        Columns :data:`STATICS_COLUMNS` (then any extra columns), one row per record:
        ``time`` datetime64[ns, UTC] (NaT when the record carried no time), ``mmsi`` and
        ``msg_type`` int64, ``imo`` / ``ship_type`` nullable Int64, ``length_m`` /
        ``beam_m`` / ``draught_m`` float64 (NaN when not carried or "not available"), text
        columns nullable strings. A type 5 record carries the draught and destination the
        crew last entered; the history lets later stages see when they changed (for example
        a draught change across a transfer). Empty input gives an empty table of these
        columns.
    """
    if statics is None or len(statics) == 0:
        frame = pd.DataFrame({c: [] for c in STATICS_COLUMNS})
        frame["time"] = pd.Series([], dtype="datetime64[ns, UTC]")
    else:
        # (copy-on-write: columns replaced below leave the caller's frame as it was)
        frame = (statics.copy(deep=False) if statics.index.equals(pd.RangeIndex(len(statics)))
                 else statics.reset_index(drop=True))
        for col in STATICS_COLUMNS:
            if col not in frame.columns:
                frame[col] = None
        if not isinstance(frame["time"].dtype, pd.DatetimeTZDtype):
            frame["time"] = pd.to_datetime(frame["time"], utc=True)
        if frame["time"].dtype != _UTC_NS:
            frame["time"] = frame["time"].dt.as_unit("ns")
    # each column converted only when it is not of its type already (the NMEA reader builds
    # them typed)
    for col in ("mmsi", "msg_type"):
        if frame[col].dtype != np.int64:
            frame[col] = frame[col].astype("int64")
    for col in ("imo", "ship_type"):
        if frame[col].dtype != "Int64":
            frame[col] = pd.array(pd.to_numeric(frame[col]), dtype="Int64")
    for col in ("length_m", "beam_m", "draught_m"):
        if frame[col].dtype != np.float64:
            frame[col] = pd.to_numeric(frame[col]).astype("float64")
    for col in ("callsign", "name", "destination", "ais_class", "file"):
        if frame[col].dtype != _STRING:
            frame[col] = frame[col].astype("string")
    # provenance (contract C1): the source path as given or "<stream>", 1-based line
    if frame["line"].dtype != np.int64:
        frame["line"] = pd.to_numeric(frame["line"]).fillna(0).astype("int64")
    extra = [c for c in frame.columns if c not in STATICS_COLUMNS]
    if list(frame.columns) == STATICS_COLUMNS + extra:
        return frame
    return frame[STATICS_COLUMNS + extra]


_UTC_NS = pd.DatetimeTZDtype("ns", "UTC")
_STRING = pd.StringDtype()


def _latest_numbers(arr, values: np.ndarray, at: np.ndarray):
    """``values[at]`` typed as :func:`_typed` types the column of array ``arr`` (missing where
    ``at`` < 0)."""
    taken = values[at]
    missing = at < 0
    if isinstance(arr, pd.arrays.IntegerArray):
        return pd.arrays.IntegerArray(taken.astype(np.int64), missing | arr._mask[at])
    taken = taken.astype(np.float64)
    taken[missing] = np.nan
    return taken


def _vessels_frame(cols: dict) -> pd.DataFrame:
    """The vessels table from its columns, with the dtypes :func:`_typed` gives."""
    for col in ("imo", "ship_type"):
        if cols[col].dtype != "Int64":
            cols[col] = pd.array(cols[col], dtype="Int64")
    for col in ("length_m", "beam_m", "draught_m"):
        if not (isinstance(cols[col], np.ndarray) and cols[col].dtype == np.float64):
            cols[col] = cols[col].to_numpy(dtype=np.float64, na_value=np.nan)
    for col in ("callsign", "name", "destination", "ais_class"):
        if cols[col].dtype != _STRING:
            cols[col] = pd.array(cols[col], dtype="string")
    return frame({c: cols[c] for c in VESSEL_COLUMNS})


def _take(values, at: np.ndarray):
    """``values.take(at, allow_fill=True)`` (-1: missing); for an Arrow large_string array
    of one chunk, its buffers gathered in one compiled pass (:func:`~.kernel.take_text`:
    pandas' take cost 0.1 ms per column after the decoding threads had run, Arrow's own
    take 0.05 ms)."""
    if isinstance(values, pd.arrays.ArrowStringArray) and values._pa_array.num_chunks == 1:
        import pyarrow as pa

        chunk = values._pa_array.chunk(0)
        if pa.types.is_large_string(chunk.type):
            from .kernel import take_text

            bits, offsets, data = chunk.buffers()
            at0 = chunk.offset
            offsets, data, valid, nulls = take_text(
                np.frombuffer(offsets, np.int64)[at0:at0 + len(chunk) + 1],
                np.frombuffer(data, np.uint8) if data is not None else np.zeros(0, np.uint8),
                np.frombuffer(bits, np.uint8) if bits is not None else np.zeros(0, np.uint8),
                at0, at)
            return pd.arrays.ArrowStringArray(pa.LargeStringArray.from_buffers(
                len(at), pa.py_buffer(offsets), pa.py_buffer(data), pa.py_buffer(valid),
                null_count=nulls))
    return values.take(at, allow_fill=True)


def _typed(out: pd.DataFrame) -> pd.DataFrame:
    out["mmsi"] = out["mmsi"].astype("int64")
    out["imo"] = pd.array(out["imo"], dtype="Int64")
    out["ship_type"] = pd.array(out["ship_type"], dtype="Int64")
    for col in ("length_m", "beam_m", "draught_m"):
        out[col] = out[col].astype("float64")
    for col in ("callsign", "name", "destination", "ais_class"):
        out[col] = out[col].astype("string")
    for col in ("first_seen", "last_seen"):
        out[col] = pd.to_datetime(out[col], utc=True)
    for col in ("n_name_changes", "n_type_changes"):
        out[col] = out[col].fillna(0).astype("int64")
    return out[VESSEL_COLUMNS]


def _empty_vessels() -> pd.DataFrame:
    frame = pd.DataFrame({c: [] for c in VESSEL_COLUMNS})
    frame["first_seen"] = pd.Series([], dtype="datetime64[ns, UTC]")
    frame["last_seen"] = pd.Series([], dtype="datetime64[ns, UTC]")
    return _typed(frame)
