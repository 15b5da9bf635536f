# ruff: noqa: E501  (the published CSV headers are kept verbatim)
"""Decoded tables (MarineCadastre, DMA, other CSV, GFW JSON lines) read block by block by Arrow,
against the pandas route that read them before (the oracle: tests/_tables_pandas_route.py).

Every row must be decoded or counted under the same reason, with the same values, whatever
the block size, the number of workers and the broken rows in the table.
"""

from __future__ import annotations

import io
import json
import warnings

import numpy as np
import pandas as pd
import pytest
from _tables_pandas_route import read_table as pandas_read_table
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

import stsdetect.ais.csv_formats as csv_formats
from stsdetect.ais import read_ais

MC_HEAD = ("MMSI,BaseDateTime,LAT,LON,SOG,COG,Heading,VesselName,IMO,CallSign,VesselType,"
           "Status,Length,Width,Draft,Cargo,TransceiverClass")
DMA_HEAD = ("# Timestamp,Type of mobile,MMSI,Latitude,Longitude,Navigational status,ROT,SOG,COG,"
            "Heading,IMO,Callsign,Name,Ship type,Cargo type,Width,Length,"
            "Type of position fixing device,Draught,Destination,ETA,Data source type,A,B,C,D")


def _read(data: bytes, route: str, block_bytes: int = 8 << 20, workers: int = 1, **kw):
    """read_ais through the Arrow route (``"arrow"``) or the old pandas route."""
    saved = csv_formats.read_table, csv_formats.BLOCK_BYTES
    try:
        if route == "pandas":
            csv_formats.read_table = lambda stream, fmt, report, columns=None, name="table", \
                pool=None, workers=1: pandas_read_table(stream, fmt, report, columns, name)
        csv_formats.BLOCK_BYTES = block_bytes
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            return read_ais(io.BytesIO(data), workers=workers,
                            valid_times="1990-01-01..2100-01-01", **kw)
    finally:
        csv_formats.read_table, csv_formats.BLOCK_BYTES = saved


def _assert_same(new, old, lines=True, statics=True):
    for part in ("lines", "skipped", "decoded", "notes"):
        assert getattr(new.report, part) == getattr(old.report, part), (
            part, getattr(new.report, part), getattr(old.report, part))
    drop = [] if lines else ["line"]
    pd.testing.assert_frame_equal(new.positions.drop(columns=drop),
                                  old.positions.drop(columns=drop))
    if statics:
        pd.testing.assert_frame_equal(new.statics.drop(columns=drop),
                                      old.statics.drop(columns=drop))
        pd.testing.assert_frame_equal(new.vessels, old.vessels)


# ------------------------------------------------------------------ generated tables
_NAMES = ["A", "ALPHA", " ALPHA ", "Unknown", "", "nan", 'SAY "HI"', '"Q,UOTED"', "NA"]
_IMOS = ["", "IMO9123456", "IMO0", "9123456", "IMO12X", "Unknown"]
_NUMBER = st.one_of(st.sampled_from(["", "0", "511", "-1", "nan", "1e2", "102.3", "inf"]),
                    st.floats(-400, 400, allow_nan=False).map(lambda x: f"{x:.5f}"),
                    st.integers(0, 400).map(str))
_MMSI = st.one_of(st.sampled_from(["367000001", "367000002", "413000003", "0", "1000000000",
                                   "", "abc", "367000001.0", " 367000002"]))
_TIME = st.one_of(st.integers(0, 86_399).map(
    lambda s: f"2023-01-01T{s // 3600:02d}:{s // 60 % 60:02d}:{s % 60:02d}"),
    st.sampled_from(["", "not a time", "2023-01-01 00:00:05", "2023-01-01T00:00:05.5"]))


@st.composite
def _mc_row(draw):
    fields = [draw(_MMSI), draw(_TIME), draw(_NUMBER), draw(_NUMBER), draw(_NUMBER),
              draw(_NUMBER), draw(_NUMBER), draw(st.sampled_from(_NAMES)),
              draw(st.sampled_from(_IMOS)), draw(st.sampled_from(["", "C1", "C2 "])),
              draw(st.sampled_from(["", "70", "0", "100", "x"])), draw(_NUMBER), draw(_NUMBER),
              draw(_NUMBER), draw(_NUMBER), "", draw(st.sampled_from(["A", "B", "", " b"]))]
    kind = draw(st.sampled_from(["ok"] * 12 + ["extra", "short", "blank", "commas", "newline"]))
    if kind == "extra":
        fields.append("X")
    elif kind == "short":
        fields = fields[:draw(st.integers(1, 16))]
    elif kind == "blank":
        return ""
    elif kind == "commas":
        return "," * 16
    elif kind == "newline":
        fields[7] = '"TWO\nLINES"'
    return ",".join(fields)


_VALID_MC = st.builds(
    lambda mmsi, t, lat, lon, name, imo: (
        f"{mmsi},2023-01-01T{t // 3600:02d}:{t // 60 % 60:02d}:{t % 60:02d},{lat:.5f},"
        f"{lon:.5f},1.5,90.0,511,{name},{imo},C,70,0,100,20,5.0,70,A"),
    st.sampled_from([367000001, 367000002, 413000003]), st.integers(0, 86_399),
    st.floats(-90, 90), st.floats(-180, 180), st.sampled_from(["A", "ALPHA", ""]),
    st.sampled_from(["", "IMO9123456"]))


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(st.one_of(_mc_row(), _VALID_MC), min_size=1, max_size=30),
       st.booleans(), st.booleans())
def test_marinecadastre_rows_as_the_pandas_route_reads_them(rows, newline_at_end, crlf):
    """One block: every count, value, line number and static record as before."""
    end = "\r\n" if crlf else "\n"
    text = end.join([MC_HEAD, *rows]) + (end if newline_at_end else "")
    data = text.encode()
    _assert_same(_read(data, "arrow"), _read(data, "pandas"))


@settings(max_examples=20, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(st.one_of(_mc_row(), _VALID_MC, _VALID_MC, _VALID_MC), min_size=1,
                max_size=60),
       st.sampled_from([64, 300, 2048]), st.sampled_from([1, 2]))
def test_blocks_and_workers_change_nothing_but_exact_lines(rows, block_bytes, workers):
    """Small blocks on one or two workers: the same rows, counts and values as the pandas
    route, and static records as when the whole table is one block. Line numbers are exact
    in blocks Arrow reads (each block starts at its true line; in a block pandas reads,
    rows after a dropped row or a quoted newline are numbered as before, off by those)."""
    data = ("\n".join([MC_HEAD, *rows]) + "\n").encode()
    new = _read(data, "arrow", block_bytes, workers)
    _assert_same(new, _read(data, "pandas"), lines=False, statics=False)
    _assert_same(new, _read(data, "arrow"), lines=False)
    if '"' not in data.decode():  # no quoted newline: every kept row's line holds its MMSI
        lines = data.decode().split("\n")
        clean = all(r.count(",") == 16 or not r.strip(",") for r in rows)
        for mmsi, line in zip(new.positions["mmsi"], new.positions["line"], strict=True):
            assert not clean or lines[line - 1].lstrip().startswith(str(mmsi)), (mmsi, line)


def test_static_records_thinned_across_blocks_as_in_one():
    """A vessel's static columns unchanged across a block boundary are not a new record."""
    rows = [f"36700000{i % 3},2023-01-01T00:{i // 60:02d}:{i % 60:02d},30,-80,1,2,3,"
            f"{'SHIP' if i < 100 else 'RENAMED'},IMO9123456,C,70,0,100,20,5,70,A"
            for i in range(200)]
    data = ("\n".join([MC_HEAD, *rows]) + "\n").encode()
    small = _read(data, "arrow", block_bytes=512, workers=2)
    whole = _read(data, "arrow")
    _assert_same(small, whole)
    _assert_same(whole, _read(data, "pandas"))
    assert len(whole.statics) == 6  # each of 3 vessels: first seen, renamed


_DMA_MOBILE = ["Class A", "Class B", "Base Station", "AtoN", " Class A"]
_DMA_STATUS = ["Under way using engine", "Moored", "At anchor", "Unknown value", "", "odd"]
_DMA_TYPE = ["Cargo", "Tanker", "Undefined", "", "Fishing", "odd"]


@st.composite
def _dma_row(draw):
    s = draw(st.integers(0, 86_399))
    t = draw(st.sampled_from([f"27/02/2024 {s // 3600:02d}:{s // 60 % 60:02d}:{s % 60:02d}",
                              f"7/2/2024 0{s % 10}:00:00", "", "2024-02-27"]))
    fields = [t, draw(st.sampled_from(_DMA_MOBILE)), draw(_MMSI), draw(_NUMBER),
              draw(_NUMBER), draw(st.sampled_from(_DMA_STATUS)), "", draw(_NUMBER),
              draw(_NUMBER), draw(_NUMBER), draw(st.sampled_from(["Unknown", "9123456", "", "0"])),
              draw(st.sampled_from(["OXAB2", "", "Unknown"])), draw(st.sampled_from(_NAMES)),
              draw(st.sampled_from(_DMA_TYPE)), "", draw(_NUMBER), draw(_NUMBER), "GPS",
              draw(_NUMBER), draw(st.sampled_from(["AARHUS", "", "Unknown"])), "", "AIS",
              "", "", "", ""]
    if draw(st.integers(0, 15)) == 0:
        fields.append("EXTRA")
    return ",".join(fields)


@settings(max_examples=20, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(_dma_row(), min_size=1, max_size=30), st.sampled_from([1 << 20, 200]))
# the file's first row has one field too many, so pandas keeps such rows (dropping the last
# field) in the whole file, in the later blocks too (found by Hypothesis)
@example(["27/02/2024 19:54:10,Class A,367000001,,,Under way using engine,,,,,Unknown,OXAB2,A,"
          "Cargo,,,,GPS,,AARHUS,,AIS,,,,,EXTRA",
          "7/2/2024 09:00:00,AtoN,abc,0,0,Unknown value,,229,41,-141.45716,0,Unknown,NA,"
          "Undefined,,115.78301,354,GPS,511,AARHUS,,AIS,,,,,EXTRA"], 200)
def test_dma_rows_as_the_pandas_route_reads_them(rows, block_bytes):
    data = ("\n".join([DMA_HEAD, *rows]) + "\n").encode()
    _assert_same(_read(data, "arrow", block_bytes), _read(data, "pandas"),
                 lines=block_bytes > len(data), statics=block_bytes > len(data))


@settings(max_examples=20, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(st.tuples(st.sampled_from(["445000001", "445000002", "", "x"]),
                          st.one_of(st.integers(1_000_000_000, 1_900_000_000).map(str),
                                    st.sampled_from(["", "2024-01-01T00:00:00Z",
                                                     "2024-01-01T00:00:00+01:00",
                                                     "2024-01-01 00:00:00", "1.7e9"])),
                          _NUMBER, _NUMBER), min_size=1, max_size=20),
       st.sampled_from(["s", "ms", "us", "text"]))
def test_other_csv_layouts_and_time_units_as_the_pandas_route_reads_them(rows, unit):
    scale = {"s": 1, "ms": 1000, "us": 10**6, "text": 1}[unit]
    body = [f"{m},{int(t) * scale if t.isdigit() else t},{lat},{lon}" for m, t, lat, lon in rows]
    data = ("\n".join(["mmsi,timestamp,latitude,longitude", *body]) + "\n").encode()
    _assert_same(_read(data, "arrow"), _read(data, "pandas"))
    data = ("\n".join(["ID,ts_ms,y,x", *body]) + "\n").encode()
    mapping = "mmsi=ID,time=ts_ms,lat=y,lon=x"
    _assert_same(_read(data, "arrow", columns=mapping), _read(data, "pandas", columns=mapping))


_GFW_LINES = [
    '{"ssvid": 445000001, "lat": 30.5, "lon": 122.25, "timestamp": "2017-07-18T00:00:00.000000Z", "speed": 10.5, "course": 12.0}',
    '{"ssvid": 445000002, "lat": -23.2656002045, "lon": 97.1636123657, "timestamp": "2017-07-18T00:01:00Z", "speed": null, "implied_speed": "3.0"}',
    '{"ssvid": 445000001, "lat": 91, "lon": 181, "timestamp": "2017-07-18T00:02:00Z"}',
    '{"ssvid": 0, "lat": 1, "lon": 2, "timestamp": "2017-07-18T00:03:00Z"}',
    '{"ssvid": 445000003, "lat": null, "lon": 2, "timestamp": "2017-07-18T00:04:00Z"}',
    '{"ssvid": 445000003, "lat": 1, "lon": 2, "timestamp": "2017-07-18T00:05:00Z", "heading": 511}',
]
_GFW_BROKEN = ["", "null", "[1, 2]", '"text"', '{"ssvid": 5', '{"ssvid": "445000001", "lat": 1, "lon": 2, "timestamp": "2017-07-18T00:00:00Z"}',
               '{"ssvid": 445000001, "lat": "1", "lon": 2, "timestamp": "2017-07-18T00:00:00Z"}', "  ",
               '{"a": 1} {"b": 2}']


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(st.one_of(st.sampled_from(_GFW_LINES), st.sampled_from(_GFW_LINES),
                          st.sampled_from(_GFW_BROKEN)), min_size=1, max_size=25),
       st.sampled_from([1 << 20, 100]), st.booleans())
def test_gfw_json_lines_as_the_pandas_route_reads_them(lines, block_bytes, newline_at_end):
    data = ("\n".join(lines) + ("\n" if newline_at_end else "")).encode()
    if not any(s.strip() for s in lines) or not any(s.startswith('{"ssvid') for s in lines):
        return  # not sniffed as JSON lines (read as NMEA)
    new = _read(data, "arrow", block_bytes, format="gfw_jsonl")
    old = _read(data, "pandas", format="gfw_jsonl")
    _assert_same(new, old, lines=False)
    if all(s in _GFW_LINES for s in lines):  # (else the block is pandas': objects numbered)
        text = data.decode().split("\n")
        for mmsi, line in zip(new.positions["mmsi"], new.positions["line"], strict=True):
            assert str(mmsi) in text[line - 1]


@pytest.mark.parametrize("name", ["263576000.json", "338013000.json", "416000000.json"])
def test_real_gpsdio_segments_as_the_pandas_route_reads_them(shared_data, name):
    """Real gpsdio files: the same rows; coordinates equal to json.loads' (pandas' default
    JSON float parsing is not correctly rounded: a value may differ in its last bit)."""
    data = (shared_data / "gfw-gpsdio-segment" / name).read_bytes()
    new, old = _read(data, "arrow", 4096, 2), _read(data, "pandas")
    _assert_same(new.__class__(new.positions.drop(columns=["lat", "lon", "sog_kn", "cog_deg"]),
                               new.vessels, new.report, new.statics),
                 old.__class__(old.positions.drop(columns=["lat", "lon", "sog_kn", "cog_deg"]),
                               old.vessels, old.report, old.statics))
    rows = [json.loads(s) for s in data.splitlines() if s.strip()]
    want = pd.DataFrame(rows)
    kept = new.positions["line"].to_numpy() - 1
    lat, lon = want["lat"].to_numpy(float)[kept], want["lon"].to_numpy(float)[kept]
    np.testing.assert_array_equal(new.positions["lat"], np.where(lat == 91, np.nan, lat))
    np.testing.assert_array_equal(new.positions["lon"], np.where(lon == 181, np.nan, lon))
    np.testing.assert_allclose(new.positions["lat"], old.positions["lat"], rtol=1e-15)


def test_marinecadastre_built_from_real_reports_as_the_pandas_route_reads_it(shared_data):
    """Positions of a real dump written as a MarineCadastre CSV (zipped and gzipped too)."""
    import gzip
    import zipfile

    src = read_ais(shared_data / "gfw-ais-listener" / "nmea.txt").positions.dropna(
        subset=["lat", "lon"])
    rows = [f"{r.mmsi},2020-01-01T{i // 3600 % 24:02d}:{i // 60 % 60:02d}:{i % 60:02d},"
            f"{r.lat:.5f},{r.lon:.5f},{r.sog_kn},{r.cog_deg},{r.heading_deg},V{r.mmsi % 7},"
            f"IMO{r.mmsi % 1000},,70,{r.nav_status},100,20,5.0,70,A"
            for i, r in enumerate(src.itertuples())]
    data = ("\n".join([MC_HEAD, *rows]) + "\n").encode()
    old = _read(data, "pandas")
    assert len(old.positions) > 100
    _assert_same(_read(data, "arrow", 4096, 2), old, statics=False)
    _assert_same(_read(data, "arrow"), old)
    _assert_same(_read(gzip.compress(data), "arrow"), old)
    packed = io.BytesIO()
    with zipfile.ZipFile(packed, "w") as z:
        z.writestr("AIS_2020_01_01.csv", data)
    got = _read(packed.getvalue(), "arrow")
    pd.testing.assert_frame_equal(got.positions.drop(columns="file"),
                                  old.positions.drop(columns="file"))


def test_bom_encoding_errors_and_a_header_only_table():
    rows = ["367000001,2023-01-01T00:00:00,30,-80,1,2,3,CAF\xe9,,C,70,0,100,20,5,70,A",
            "367000002,2023-01-01T00:00:00,30,-80,1,2,3,OK,,C,70,0,100,20,5,70,A"]
    data = b"\xef\xbb\xbf" + ("\n".join([MC_HEAD, *rows]) + "\n").encode("latin-1")
    new, old = _read(data, "arrow"), _read(data, "pandas")
    _assert_same(new, old)
    assert len(new.positions) == 2
    data = (MC_HEAD + "\n").encode()
    _assert_same(_read(data, "arrow"), _read(data, "pandas"))


@given(st.lists(st.sampled_from([b"", b"\r", b"a", b"ab", b"\r\r", b"a\r", b",,"]), max_size=10),
       st.booleans())
def test_filled_lines_are_the_lines_neither_empty_nor_a_lone_cr(lines, final_newline):
    """The blank-line finder on whole arrays equals a scan of ``block.split(b"\\n")``."""
    from stsdetect.ais.csv_formats import _filled_lines

    block = b"\n".join(lines) + (b"\n" if final_newline else b"")
    pieces = block.split(b"\n")
    if block.endswith(b"\n"):
        pieces.pop()
    want = [i for i, piece in enumerate(pieces) if piece not in (b"", b"\r")]
    assert _filled_lines(block).tolist() == want


def test_a_lone_quote_mid_field_keeps_blocks_small():
    """``5" GUN`` is text to Arrow and pandas alike, not an open quoted field: every row is
    read, and no block grows past a few blocks (before, the rest of the file became one
    block, rescanned at every read)."""
    gun = '5" GUN'
    rows = [f"36700000{i % 3},2023-01-01T{i // 3600:02d}:{i // 60 % 60:02d}:{i % 60:02d},30,-80,"
            f"1,2,3,{gun if i == 3 else 'SHIP'},IMO9123456,C,70,0,100,20,5,70,A"
            for i in range(3000)]
    data = ("\n".join([MC_HEAD, *rows]) + "\n").encode()
    sizes = []
    real_blocks = csv_formats._blocks

    def spy(*args, **kw):
        for block in real_blocks(*args, **kw):
            sizes.append(len(block[0]))
            yield block

    csv_formats._blocks = spy
    try:
        small = _read(data, "arrow", block_bytes=4096)
    finally:
        csv_formats._blocks = real_blocks
    assert max(sizes) <= (csv_formats.QUOTED_BLOCKS + 2) * 4096 < len(data) // 4
    _assert_same(small, _read(data, "pandas"))
    assert len(small.positions) == 3000
    assert (small.statics["name"] == gun).sum() == 1
