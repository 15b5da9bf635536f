"""The pandas route that read decoded tables before Arrow did (csv_formats.py at 771c010),
kept as the oracle of tests/test_ais_tables.py.

Each is read in chunks with pandas and mapped onto the positions / static-records layout used
for NMEA. Rows of a decoded table have no AIS message type: they get ``msg_type`` 0 and are
counted under ``decoded[0]`` in the report.
"""

from __future__ import annotations

import io
import json
import re
import warnings

import numpy as np
import pandas as pd

from stsdetect.ais.kernel import NAT_NS
from stsdetect.ais.report import DecodeReport

__all__ = ["DMA_COLUMNS", "MARINECADASTRE_COLUMNS", "read_table"]

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
