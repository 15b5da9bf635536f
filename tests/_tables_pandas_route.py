"""The pandas route that read decoded tables before Arrow did (csv_formats.py at 771c010),
kept as the oracle of tests/test_ais_tables.py.

Each is read in chunks with pandas and mapped onto the positions / static-records layout used
for NMEA. Rows of a decoded table have no AIS message type: they get ``msg_type`` 0 and are
counted under ``decoded[0]`` in the report.
"""

from __future__ import annotations

import io
import json
import warnings

import numpy as np
import pandas as pd

# the layouts' constants and the column mapping are not what this oracle checks (both routes
# choose the same columns): taken from the library, not copied
from stsdetect.ais.csv_formats import (
    _DMA_NAV_STATUS,
    _DMA_SHIP_TYPE,
    _EPOCH_UNITS,
    _NOT_AN_OBJECT,
    DMA_COLUMNS,
    MARINECADASTRE_COLUMNS,
    csv_columns,
)
from stsdetect.ais.kernel import NAT_NS
from stsdetect.ais.report import DecodeReport

__all__ = ["DMA_COLUMNS", "MARINECADASTRE_COLUMNS", "read_table"]


_CHUNK_ROWS = 500_000


class _LineCounter(io.RawIOBase):
    """A byte stream that counts the lines passing through it (to count rows pandas skips)."""

    def __init__(self, stream):
        self._s = stream
        self.newlines = 0
        self._last = b"\n"

    def readable(self) -> bool:
        return True

    tail = b""  #: bytes after the last newline read so far (up to 64 KiB)

    def readinto(self, buffer) -> int:
        data = self._s.read(len(buffer)) or b""
        buffer[:len(data)] = data
        if data:
            self.newlines += data.count(b"\n")
            self._last = data[-1:]
            cut = data.rfind(b"\n")
            self.tail = data[cut + 1:] if cut >= 0 else (self.tail + data)[-65536:]
        return len(data)

    @property
    def lines(self) -> int:
        """Lines read so far, counting an unterminated last line."""
        return self.newlines + (self._last != b"\n")


class _BadLines:
    """Counts the rows pandas skips (``on_bad_lines="warn"``) from its warnings."""

    def __init__(self):
        self.count = 0

    def wrap(self, reader):
        while True:
            with warnings.catch_warnings(record=True) as caught:
                warnings.simplefilter("always", pd.errors.ParserWarning)
                try:
                    chunk = next(reader)
                except StopIteration:
                    chunk = None
            for w in caught:  # one warning per chunk, naming every line it skipped
                text = str(w.message)
                if issubclass(w.category, pd.errors.ParserWarning):
                    self.count += text.count("Skipping line")
                    if "Skipping line" in text:
                        continue
                warnings.warn_explicit(w.message, w.category, w.filename, w.lineno)
            if chunk is None:
                return
            yield chunk


def read_table(stream, fmt: str, report: DecodeReport, columns=None, name: str = "table"):
    """Read a decoded table; return (positions DataFrame, static records DataFrame).

    Rows pandas cannot parse (wrong number of fields, broken JSON) are counted as ``bad_row``;
    a last row cut short (no newline, fewer fields than the header) as ``truncated_row``.
    ``fmt`` ``"csv"`` is any other CSV, read through ``columns`` (see :func:`csv_columns`).
    """
    bad_lines = None
    if fmt in ("csv", "marinecadastre", "dma"):
        counter = _LineCounter(stream)
        # index_col=False: a first data row with one field too many must not turn the first
        # column into the index (that lost every row); rows pandas cannot split are reported
        # as warnings and counted from them (not from physical lines, which a quoted newline
        # inflates)
        bad_lines = _BadLines()
        reader = bad_lines.wrap(pd.read_csv(
            io.BufferedReader(counter), chunksize=_CHUNK_ROWS, dtype=str,
            keep_default_na=False, on_bad_lines="warn", skip_blank_lines=False,
            encoding_errors="replace", index_col=False))
    if fmt == "csv":
        mapping = {}

        def convert(chunk, report):
            if not mapping:
                mapping.update(csv_columns(list(chunk.columns), columns, name))
            return _generic(chunk, report, mapping)
    elif fmt in ("marinecadastre", "dma"):
        convert = _marinecadastre if fmt == "marinecadastre" else _dma
    elif fmt == "gfw_jsonl":
        counter = None
        reader = _json_line_chunks(stream, report)
        convert = _gfw
    else:  # pragma: no cover - guarded by read_ais
        raise ValueError(fmt)
    positions, statics = [], []
    rows = 0
    for chunk in _last_row_checked(reader, counter, report):
        if not len(chunk):
            continue
        # provenance: a CSV row's physical line (after the header line; exact unless pandas
        # dropped malformed rows or a quoted field holds a newline), a JSON row's line number
        first_line = 2 if counter is not None else 1
        chunk.attrs["line"] = np.arange(rows, rows + len(chunk), dtype=np.int64) + first_line
        rows += len(chunk)
        blank = (chunk == "").all(axis=1).to_numpy()  # blank lines: not bad rows
        if blank.any():
            report.lines += int(blank.sum())
            report.add_skip("comment_or_blank", int(blank.sum()))
            line = chunk.attrs["line"][~blank]
            chunk = chunk.loc[~blank].reset_index(drop=True)
            chunk.attrs["line"] = line
            if not len(chunk):
                continue
        pos, stat = convert(chunk, report)
        positions.append(pos)
        if stat is not None:
            statics.append(stat)
    if bad_lines is not None:  # lines pandas dropped as malformed
        report.lines += bad_lines.count
        report.add_skip("bad_row", bad_lines.count)
    from stsdetect.ais.reader import _positions_frame

    if positions:
        cols = {k: np.concatenate([p[k] for p in positions]) for k in positions[0]}
    else:
        cols = None
    stat_frame = pd.concat(statics, ignore_index=True) if statics else None
    return _positions_frame(cols), stat_frame


def _last_row_checked(reader, counter, report):
    """The chunks of ``reader``, the last one without its last row if that row was cut short:
    the file ends without a newline and the row has fewer fields than the header (#15 item 5:
    ``...,32.4042,-79.`` was read as longitude -79.0)."""
    held = None
    for chunk in reader:
        if held is not None:
            yield held
        held = chunk
    if held is None:
        return
    if counter is not None and len(held) and counter.tail.strip():
        n_fields = counter.tail.count(b",") + 1
        if n_fields < len(held.columns):
            report.lines += 1
            report.add_skip("truncated_row")
            held = held.iloc[:-1]
    yield held


def _generic(chunk: pd.DataFrame, report, mapping: dict):
    n = len(chunk)
    get = (lambda k: chunk[mapping[k]] if k in mapping  # noqa: E731
           else pd.Series([""] * n, index=chunk.index))
    time_ns = _time_ns(chunk[mapping["time"]], report=report)
    cols, _ = _rows(report, _num(chunk[mapping["mmsi"]]), time_ns, _num(chunk[mapping["lat"]]),
                    _num(chunk[mapping["lon"]]), _num(get("sog")), _num(get("cog")),
                    _num(get("heading")), _num(get("nav_status")), line=chunk.attrs["line"])
    return cols, None


def _json_line_chunks(stream, report, block_bytes: int = 16 * 2**20):
    """DataFrames of JSON lines read in blocks; broken lines are counted, not fatal."""
    carry = b""
    while True:
        block = stream.read(block_bytes)
        if not block:
            break
        data = carry + block
        cut = data.rfind(b"\n") + 1
        if cut == 0:
            carry = data
            continue
        carry = data[cut:]
        yield _parse_json_lines(data[:cut], report)
    if carry.strip():
        yield _parse_json_lines(carry, report)


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


def _numeric_time_ns(series: pd.Series) -> np.ndarray | None:
    """Numeric epoch times -> int64 ns, the unit told by magnitude; None if not numeric."""
    number = pd.to_numeric(pd.Series(series), errors="coerce")
    whole = number.to_numpy() if pd.api.types.is_integer_dtype(number.dtype) else None
    values = number.to_numpy(dtype=np.float64)
    given = pd.Series(series).astype(str).str.strip().ne("").to_numpy() & \
        pd.Series(series).notna().to_numpy()
    if not given.any() or np.isnan(values[given]).any():
        return None
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
    bad = keep & (~np.isfinite(mmsi) | (mmsi != np.round(mmsi)) | ~np.isfinite(lat)
                  | ~np.isfinite(lon))
    keep &= ~bad
    bad_mmsi = keep & ((mmsi < 1) | (mmsi > 999_999_999))
    keep &= ~bad_mmsi
    lat_na, lon_na = lat == 91, lon == 181
    oor = keep & (((np.abs(lat) > 90) & ~lat_na) | ((np.abs(lon) > 180) & ~lon_na))
    keep &= ~oor
    report.add_skip("bad_row", bad.sum())
    report.add_skip("invalid_mmsi", bad_mmsi.sum())
    report.add_skip("out_of_range_position", oor.sum())
    report.add_decoded(0, keep.sum())
    sog = np.where((sog >= 102.3) | (sog < 0), np.nan, sog)
    cog = np.where((cog >= 360) | (cog < 0), np.nan, cog)
    heading = np.where((heading >= 360) | (heading < 0), np.nan, heading)
    nav = np.where(np.isfinite(nav_status) & (nav_status >= 0) & (nav_status <= 15),
                   nav_status, 15)
    cols = {
        "mmsi": mmsi[keep].astype(np.int64), "time": time_ns[keep],
        "lat": np.where(lat_na, np.nan, lat)[keep], "lon": np.where(lon_na, np.nan, lon)[keep],
        "sog_kn": sog[keep], "cog_deg": cog[keep], "heading_deg": heading[keep],
        "nav_status": nav[keep].astype(np.int8), "msg_type": np.zeros(keep.sum(), np.int8),
        "source": np.zeros(keep.sum(), dtype=np.int32), "line": line[keep],
    }
    return cols, keep


def _statics(mmsi, time_ns, keep, ais_class, line, **fields) -> pd.DataFrame:
    """Static records of kept rows, thinned to rows whose static fields changed per MMSI."""
    frame = pd.DataFrame({"mmsi": mmsi.astype(np.int64, copy=False)[keep] if keep.any()
                          else np.zeros(0, np.int64), "time": time_ns[keep]})
    for name, values in fields.items():
        frame[name] = pd.Series(values).reset_index(drop=True)[keep].reset_index(drop=True)
    frame["ais_class"] = pd.Series(ais_class).reset_index(drop=True)[keep].reset_index(drop=True)
    frame["msg_type"] = 0
    static_cols = list(fields)
    frame["file"] = pd.array([""] * len(frame), dtype="string")
    frame["line"] = line[keep]
    if not len(frame):
        return frame
    groups = frame.groupby("mmsi")
    prev = groups[static_cols].shift()
    # column by column: equal values, or both missing (shift turns int columns into float,
    # so values are compared as values, never as their text)
    same = np.ones(len(frame), dtype=bool)
    for col in static_cols:  # a fixed loop over the static columns
        a, b = frame[col], prev[col]
        if a.dtype == object:
            a, b = a.astype("string"), b.astype("string")
        eq = np.asarray(a.eq(b).fillna(False), dtype=bool)
        same &= eq | (a.isna().to_numpy() & b.isna().to_numpy())
    changed = ~same | (groups.cumcount().to_numpy() == 0)
    has_any = frame[static_cols].notna().any(axis=1)
    return frame[changed & has_any].reset_index(drop=True)


def _check_columns(chunk, required, name):
    missing = [c for c in required if c not in chunk.columns]
    if missing:
        raise ValueError(f"{name} table lacks columns {missing}; found {list(chunk.columns)}")


def _marinecadastre(chunk: pd.DataFrame, report):
    _check_columns(chunk, ["MMSI", "BaseDateTime", "LAT", "LON"], "MarineCadastre")
    get = lambda c: chunk[c] if c in chunk.columns else pd.Series([""] * len(chunk))  # noqa: E731
    mmsi = _num(chunk["MMSI"])
    time_ns = _time_ns(chunk["BaseDateTime"], report=report)
    cols, keep = _rows(report, mmsi, time_ns, _num(chunk["LAT"]), _num(chunk["LON"]),
                       _num(get("SOG")), _num(get("COG")), _num(get("Heading")),
                       _num(get("Status")), line=chunk.attrs["line"])
    imo = pd.to_numeric(get("IMO").astype(str).str.extract(r"(\d+)")[0], errors="coerce")
    ship_type = pd.to_numeric(get("VesselType"), errors="coerce")
    stat = _statics(
        np.nan_to_num(mmsi).astype(np.int64), time_ns, keep,
        get("TransceiverClass").astype(str).str.strip().str.upper().where(lambda s: s != ""),
        chunk.attrs["line"],
        imo=imo.where(imo > 0), callsign=_text(get("CallSign")), name=_text(get("VesselName")),
        ship_type=ship_type.where((ship_type > 0) & (ship_type < 100)),
        length_m=pd.Series(_num(get("Length"))).where(lambda s: s > 0),
        beam_m=pd.Series(_num(get("Width"))).where(lambda s: s > 0),
        draught_m=pd.Series(_num(get("Draft"))).where(lambda s: s > 0),
        destination=pd.Series([None] * len(chunk), dtype=object),
    )
    return cols, stat


def _dma(chunk: pd.DataFrame, report):
    ts_col = "# Timestamp" if "# Timestamp" in chunk.columns else "Timestamp"
    _check_columns(chunk, [ts_col, "Type of mobile", "MMSI", "Latitude", "Longitude"], "DMA")
    get = lambda c: chunk[c] if c in chunk.columns else pd.Series([""] * len(chunk))  # noqa: E731
    mobile = chunk["Type of mobile"].astype(str).str.strip()
    vessel = mobile.isin(["Class A", "Class B"]).to_numpy()
    n_other = int((~vessel).sum())
    report.add_skip("not_vessel_report", n_other)
    report.lines += n_other
    mmsi = _num(chunk["MMSI"])
    time_ns = _time_ns(chunk[ts_col], fmt="%d/%m/%Y %H:%M:%S", report=report)
    nav = get("Navigational status").astype(str).str.strip().str.lower().map(_DMA_NAV_STATUS)
    # rows of other mobiles were counted above; _rows counts the vessel rows
    sub = np.flatnonzero(vessel)
    cols, keep_sub = _rows(report, mmsi[sub], time_ns[sub], _num(chunk["Latitude"])[sub],
                           _num(chunk["Longitude"])[sub], _num(get("SOG"))[sub],
                           _num(get("COG"))[sub], _num(get("Heading"))[sub],
                           _num(nav)[sub], line=chunk.attrs["line"][sub])
    keep = np.zeros(len(chunk), bool)
    keep[sub[keep_sub]] = True
    imo = pd.to_numeric(get("IMO"), errors="coerce")
    ship_type = get("Ship type").astype(str).str.strip().str.lower().map(_DMA_SHIP_TYPE)
    stat = _statics(
        np.nan_to_num(mmsi).astype(np.int64), time_ns, keep, mobile.str[-1], chunk.attrs["line"],
        imo=imo.where(imo > 0), callsign=_text(get("Callsign")), name=_text(get("Name")),
        ship_type=ship_type,
        length_m=pd.Series(_num(get("Length"))).where(lambda s: s > 0),
        beam_m=pd.Series(_num(get("Width"))).where(lambda s: s > 0),
        draught_m=pd.Series(_num(get("Draught"))).where(lambda s: s > 0),
        destination=_text(get("Destination")),
    )
    return cols, stat


def _gfw(chunk: pd.DataFrame, report):
    # A key missing from every row of a chunk (a misspelt key on a last line read on its
    # own) leaves those rows without a value: they are counted as bad_row, not fatal.
    chunk = chunk.reindex(columns=list(dict.fromkeys([*chunk.columns, "ssvid", "lat", "lon",
                                                      "timestamp"])))
    n = len(chunk)
    get = lambda c: chunk[c] if c in chunk.columns else pd.Series([np.nan] * n)  # noqa: E731
    time_ns = _time_ns(chunk["timestamp"].astype(str), report=report)
    cols, _ = _rows(report, _num(chunk["ssvid"]), time_ns, _num(chunk["lat"]),
                    _num(chunk["lon"]), _num(get("speed")), _num(get("course")),
                    _num(get("heading")), np.full(n, np.nan), line=chunk.attrs["line"])
    return cols, None
