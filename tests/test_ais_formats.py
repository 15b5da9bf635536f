# ruff: noqa: E501  (the published CSV headers and rows are kept verbatim)
"""Input kinds, dump layouts, decoded tables, compression and bad input for read_ais."""

from __future__ import annotations

import bz2
import gzip
import io
import json
import lzma
import os

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from pyais.encode import encode_dict

from stsdetect.ais import DecodeReport, read_ais

T0 = 1_596_628_800  # 2020-08-05T12:00:00Z


def _pos(mmsi=445000001, lat=30.5, lon=122.25, **extra):
    return encode_dict({"type": 1, "mmsi": mmsi, "lat": lat, "lon": lon, "speed": 3.2,
                        "course": 45.5, "heading": 44, **extra}, talker_id="AI")[0]


def _tag(body: str) -> str:
    checksum = 0
    for ch in body:
        checksum ^= ord(ch)
    return f"\\{body}*{checksum:02X}\\"


SENTENCES = [_pos(445000000 + i, 30 + i / 100, 122 + i / 100) for i in range(20)]


# ---------------------------------------------------------------- time and source layouts
@pytest.mark.parametrize("make_line", [
    lambda i, s: f"{_tag(f's:rx1,c:{T0 + i}')}{s}",
    lambda i, s: f"{_tag(f's:rx1,c:{(T0 + i) * 1000}')}{s}",  # c: in milliseconds
    lambda i, s: f"{s},rrx1,{T0 + i}",  # USCG N-AIS
    lambda i, s: f"{s},d-109,S2105,t050056.00,T56.13,rrx1,{T0 + i},{T0 + i - 59}",
    lambda i, s: f"{pd.Timestamp(T0 + i, unit='s', tz='UTC').isoformat()},{s}",
    lambda i, s: f"{pd.Timestamp(T0 + i, unit='s').strftime('%Y-%m-%dT%H:%M:%SZ')},{s}",
    lambda i, s: f"{T0 + i},{s}",
    lambda i, s: f"{pd.Timestamp(T0 + i, unit='s'):%Y-%m-%d %H:%M:%S}|445000001|30.5|122.2|{s}",
])
def test_times_from_every_layout(make_line):
    lines = [make_line(i, s) for i, s in enumerate(SENTENCES)]
    data = read_ais(lines)
    data.report.check()
    assert len(data.positions) == len(SENTENCES)
    seconds = data.positions["time"].astype("int64").to_numpy() // 10**9
    np.testing.assert_array_equal(seconds, T0 + np.arange(len(SENTENCES)))
    if "rx1" in lines[0]:
        assert (data.positions["source"] == "rx1").all()


def test_pghp_applies_to_next_sentence_only():
    pghp = "$PGHP,1,2020,8,5,12,0,0,250,445,,4450001,1,00*00"
    lines = [pghp, SENTENCES[0], SENTENCES[1], pghp.replace(",0,0,250,", ",0,9,0,"),
             SENTENCES[2]]
    pos = read_ais(lines).positions
    assert pos["time"].iloc[0] == pd.Timestamp("2020-08-05 12:00:00.250Z")
    assert pd.isna(pos["time"].iloc[1])
    assert pos["time"].iloc[2] == pd.Timestamp("2020-08-05 12:00:09Z")
    assert list(pos["source"]) == ["4450001", "", "4450001"]


def test_talkers_and_own_ship():
    base = SENTENCES[0]
    body = base[1:base.index("*")]
    lines = []
    for talker in ("AI", "AB", "BS", "SA", "--"):
        for kind in ("VDM", "VDO"):
            text = talker + kind + body[5:]
            checksum = 0
            for ch in text:
                checksum ^= ord(ch)
            lines.append(f"!{text}*{checksum:02X}")
    data = read_ais(lines)
    assert len(data.positions) == 10
    data.report.check()


def test_tag_block_groups_join_multipart_and_carry_the_time():
    parts = encode_dict({"type": 5, "mmsi": 445000001, "shipname": "CHON MA SAN",
                         "ship_type": 80, "to_bow": 90, "to_stern": 20, "imo": 8660313,
                         "callsign": "HMYB"}, talker_id="AI", seq_id=1)
    lines = [_tag(f"g:1-2-77,s:rx1,c:{T0}") + parts[0], SENTENCES[0], _tag("g:2-2-77") + parts[1]]
    data = read_ais(lines)
    v = data.vessels.iloc[0]
    assert v["name"] == "CHON MA SAN" and v["imo"] == 8660313 and v["ship_type"] == 80
    assert v["first_seen"] == pd.Timestamp(T0, unit="s", tz="UTC")
    data.report.check()


# ---------------------------------------------------------------- sources and compression
def test_every_source_kind_reads_the_same(tmp_path):
    text = "\n".join(SENTENCES) + "\n"
    plain = tmp_path / "a.nmea"
    plain.write_text(text)
    (tmp_path / "b.nmea.gz").write_bytes(gzip.compress(text.encode()))
    (tmp_path / "c.nmea.bz2").write_bytes(bz2.compress(text.encode()))
    (tmp_path / "d.nmea.xz").write_bytes(lzma.compress(text.encode()))
    want = read_ais(plain).positions
    for source in (str(plain), tmp_path / "b.nmea.gz", tmp_path / "c.nmea.bz2",
                   tmp_path / "d.nmea.xz", io.BytesIO(text.encode()), io.StringIO(text),
                   SENTENCES, (s.encode() for s in SENTENCES), iter(text.splitlines(True))):
        got = read_ais(source).positions
        # provenance: the path as given, or "<stream>"; the same line numbers
        name = (os.fspath(source) if isinstance(source, (str, os.PathLike))
                else "<stream>")
        assert (got["file"] == name).all()
        pd.testing.assert_frame_equal(got.drop(columns="file"), want.drop(columns="file"))
    both = read_ais([tmp_path / "*.nmea", str(tmp_path / "*.gz")])
    assert len(both.positions) == 2 * len(SENTENCES)
    assert list(both.positions["file"].unique()) == [str(plain), str(tmp_path / "b.nmea.gz")]
    everything = read_ais(str(tmp_path / "*"))
    assert len(everything.positions) == 4 * len(SENTENCES)
    everything.report.check()


def test_bad_sources_raise_clear_errors(tmp_path):
    with pytest.raises(FileNotFoundError, match="no such"):
        read_ais(tmp_path / "missing.nmea")
    with pytest.raises(FileNotFoundError, match="no files match"):
        read_ais(str(tmp_path / "*.nothing"))
    with pytest.raises(IsADirectoryError):
        read_ais(tmp_path)
    with pytest.raises(TypeError, match="source must be"):
        read_ais(42)
    with pytest.raises(TypeError, match=r"io\.BytesIO"):
        read_ais(b"!AIVDM")
    with pytest.raises(ValueError, match="chunk_bytes"):
        read_ais(SENTENCES, chunk_bytes=10)


# ---------------------------------------------------------------- bad input
def test_empty_inputs(tmp_path):
    empty = tmp_path / "empty.nmea"
    empty.write_bytes(b"")
    for source in (empty, io.BytesIO(b""), []):
        data = read_ais(source)
        assert data.positions.empty and data.vessels.empty
        assert data.report.lines == 0
        assert str(data.positions["time"].dtype) == "datetime64[ns, UTC]"
        data.report.check()


def test_huge_line_and_garbage_without_newlines():
    huge = "x" * 1_000_000
    blob = bytes(np.random.default_rng(1).integers(0, 256, 3_000_000, dtype=np.uint8))
    blob = blob.replace(b"\n", b" ").replace(b"\r", b" ")
    body = "\n".join([SENTENCES[0], huge, SENTENCES[1]]).encode() + b"\n" + blob
    data = read_ais(io.BytesIO(body), chunk_bytes=1 << 20)
    data.report.check()
    assert len(data.positions) == 2
    assert data.report.skipped["not_nmea"] >= 2


def test_truncated_and_corrupted_lines_are_named():
    s = SENTENCES[0]
    lines = [s[:-3], s.replace(",0*", ",7*"), s[:-2] + "ZZ", s[:14] + "~" + s[15:],
             "!AIVDM,1,1,,A,,0*26", "$GPRMC,123519,A,4807.038,N,01131.000,E,022.4,084.4,230394",
             "# comment", "", "hello", s]
    data = read_ais(lines)
    data.report.check()
    skipped = data.report.skipped
    assert skipped["comment_or_blank"] == 2
    assert skipped["non_ais_nmea"] == 1
    assert skipped["not_nmea"] == 1
    assert skipped["empty_payload"] + skipped["bad_checksum"] >= 1
    assert sum(skipped.values()) == len(lines) - 1
    assert len(data.positions) == 1


# ---------------------------------------------------------------- decoded tables
MARINECADASTRE = """MMSI,BaseDateTime,LAT,LON,SOG,COG,Heading,VesselName,IMO,CallSign,VesselType,Status,Length,Width,Draft,Cargo,TransceiverClass
445123000,2023-01-01T00:00:00,30.5,122.1,0.1,12.3,511,CHON MA SAN,IMO8660313,HMYB,80,1,95.0,15.0,5.5,80,A
445123000,2023-01-01T00:03:00,30.51,122.11,0.2,360.0,45,CHON MA SAN,IMO8660313,HMYB,80,1,95.0,15.0,5.5,80,A
445123000,2023-01-01T00:06:00,30.52,122.12,102.3,90.0,46,NEW NAME,IMO8660313,HMYB,80,1,95.0,15.0,5.5,80,A
413000001,2023-01-01T00:01:00,30.6,122.2,3.0,10.0,12,ZHE YU 1,,BXYZ,99,0,40.0,10.0,,,B
0,2023-01-01T00:01:00,30.6,122.2,3.0,10.0,12,BAD,,,,0,,,,,A
413000002,2023-01-01T00:01:00,95.0,122.2,3.0,10.0,12,FAR,,,,0,,,,,A
"""

DMA = """# Timestamp,Type of mobile,MMSI,Latitude,Longitude,Navigational status,ROT,SOG,COG,Heading,IMO,Callsign,Name,Ship type,Cargo type,Width,Length,Type of position fixing device,Draught,Destination,ETA,Data source type,A,B,C,D
27/02/2024 00:00:00,Class A,219000001,55.6,12.6,Under way using engine,0.0,10.1,180.0,179,9123456,OXAB2,DANA,Cargo,,20,120,GPS,7.5,AARHUS,27/02/2024 12:00:00,AIS,100,20,10,10
27/02/2024 00:00:10,Class A,219000001,55.61,12.61,Moored,,0.0,,,9123456,OXAB2,DANA,Cargo,,20,120,GPS,7.5,AARHUS,27/02/2024 12:00:00,AIS,100,20,10,10
27/02/2024 00:00:10,Base Station,2190047,55.7,12.5,Unknown value,,,,,Unknown,Unknown,,Undefined,,,,Surveyed,,Unknown,,AIS,,,,
27/02/2024 00:00:20,Class B,219000002,91.0,181.0,Unknown value,,,,,Unknown,,SAILOR,Sailing,,3,12,GPS,,Unknown,,AIS,,,,
"""


def test_marinecadastre(tmp_path):
    path = tmp_path / "AIS_2023_01_01.csv"
    path.write_text(MARINECADASTRE)
    data = read_ais(path)
    data.report.check()
    pos = data.positions
    assert len(pos) == 4
    assert data.report.skipped == {"invalid_mmsi": 1, "out_of_range_position": 1}
    assert np.isnan(pos["heading_deg"].iloc[0]) and np.isnan(pos["cog_deg"].iloc[1])
    assert np.isnan(pos["sog_kn"].iloc[2])
    assert pos["time"].iloc[0] == pd.Timestamp("2023-01-01T00:00:00Z")
    v = data.vessels.set_index("mmsi")
    assert v.loc[445123000, "name"] == "NEW NAME" and v.loc[445123000, "n_name_changes"] == 1
    assert v.loc[445123000, "imo"] == 8660313 and v.loc[445123000, "ais_class"] == "A"
    assert v.loc[413000001, "ais_class"] == "B" and v.loc[413000001, "ship_type"] == 99
    assert v.loc[445123000, "last_seen"] == pd.Timestamp("2023-01-01T00:06:00Z")
    same = read_ais(io.StringIO(MARINECADASTRE), format="marinecadastre")
    assert (same.positions["file"] == "<stream>").all() and (pos["file"] == str(path)).all()
    pd.testing.assert_frame_equal(same.positions.drop(columns="file"), pos.drop(columns="file"))


def test_dma_csv(tmp_path):
    path = tmp_path / "aisdk-2024-02-27.csv"
    path.write_text(DMA)
    data = read_ais(path)
    data.report.check()
    pos = data.positions
    assert data.report.skipped == {"not_vessel_report": 1}
    assert len(pos) == 3
    assert list(pos["nav_status"]) == [0, 5, 15]
    assert np.isnan(pos["lat"].iloc[2]) and np.isnan(pos["lon"].iloc[2])
    assert pos["time"].iloc[1] == pd.Timestamp("2024-02-27T00:00:10Z")
    v = data.vessels.set_index("mmsi")
    assert v.loc[219000001, "destination"] == "AARHUS"
    assert v.loc[219000001, "length_m"] == 120 and v.loc[219000001, "ship_type"] == 70
    assert v.loc[219000002, "ais_class"] == "B"


def test_gfw_json_lines():
    rows = [{"timestamp": f"2017-07-18T00:0{i}:00.000000Z", "ssvid": 445000001,
             "lon": 122.0 + i, "lat": 30.0, "speed": 10.5, "course": 0} for i in range(3)]
    rows.append({"timestamp": "2017-07-18T00:09:00Z", "ssvid": 445000001, "lon": None,
                 "lat": None, "speed": None, "course": None})
    text = "\n".join(json.dumps(r) for r in rows) + "\n"
    data = read_ais(io.StringIO(text))
    data.report.check()
    assert len(data.positions) == 3 and data.report.skipped == {"bad_row": 1}
    assert (data.positions["sog_kn"] == 10.5).all()


def test_format_override():
    data = read_ais(io.StringIO(MARINECADASTRE), format="nmea")
    assert data.positions.empty
    assert data.report.skipped == {"not_nmea": len(MARINECADASTRE.splitlines())}
    with pytest.raises(ValueError, match="lacks columns"):
        read_ais(io.StringIO(MARINECADASTRE), format="dma")


# ---------------------------------------------------------------- the report
def test_report_table_frame_and_merge():
    a = DecodeReport(lines=5, sentences=4, sentence_records=4, decoded={1: 3},
                     skipped={"bad_checksum": 2})
    b = DecodeReport(lines=2, sentences=2, sentence_records=2, decoded={1: 1, 5: 1})
    merged = a.merge(b)
    assert merged.lines == 7 and merged.decoded == {1: 4, 5: 1}
    merged.check()
    text = str(merged)
    assert "bad_checksum" in text and "type 5" in text
    frame = merged.to_frame()
    assert set(frame["kind"]) == {"total", "decoded", "skipped"}
    with pytest.raises(AssertionError, match="does not add up"):
        DecodeReport(lines=3, decoded={1: 1}).check()
    with pytest.raises(AssertionError, match="lost in framing"):  # a swallowed sentence
        DecodeReport(lines=1, sentences=2, sentence_records=1, decoded={1: 1}).check()
    with pytest.raises(ValueError, match="unknown skip reason"):
        a.add_skip("because")


LAYOUTS = {
    "tag": lambda t, src, s: f"{_tag(f's:{src},c:{t}')}{s}",
    "tag_ms": lambda t, src, s: f"{_tag(f'c:{t * 1000},s:{src}')}{s}",
    "nais": lambda t, src, s: f"{s},r{src},{t}",
    "pghp": lambda t, src, s: (
        f"$PGHP,1,{pd.Timestamp(t, unit='s'):%Y,%-m,%-d,%-H,%-M,%-S},0,445,,{src},1,00*00\n{s}"),
    "iso": lambda t, src, s: f"{pd.Timestamp(t, unit='s'):%Y-%m-%dT%H:%M:%SZ},{s}",
}


@settings(max_examples=40, deadline=None)
@given(st.lists(st.tuples(st.sampled_from(sorted(LAYOUTS)),
                          st.integers(1_000_000_000, 4_102_444_799),  # 2001-09 .. 2099
                          st.integers(1, 999_999)), min_size=1, max_size=25),
       st.sampled_from([1024, 4096, 1 << 20]), st.sampled_from(["\n", "\r\n", "\r"]))
def test_mixed_layouts_in_one_stream(tmp_path_factory, lines_spec, chunk_bytes, line_end):
    """Lines of different layouts mixed in one file each keep their own time and source,
    whatever ends its lines (a $PGHP line stays with its sentence wherever a chunk is cut,
    lines ended by CR alone too), read as a stream or from a file on two threads."""
    text = "\n".join(LAYOUTS[layout](t, f"{src}", SENTENCES[i % len(SENTENCES)])
                     for i, (layout, t, src) in enumerate(lines_spec)) + "\n"
    raw = text.replace("\n", line_end).encode()
    path = tmp_path_factory.mktemp("mixed") / "mixed.nmea"
    path.write_bytes(raw)
    want_seconds = [t for _, t, _ in lines_spec]
    want_source = ["" if layout == "iso" else str(src) for layout, _, src in lines_spec]
    # (times up to 2099: the plausible window widened, see test_ais_plausible.py)
    for source, workers in ((io.BytesIO(raw), 1), (str(path), 2)):
        data = read_ais(source, chunk_bytes=chunk_bytes, workers=workers,
                        valid_times="2001-01-01..2100-01-01")
        data.report.check()
        pos = data.positions
        assert len(pos) == len(lines_spec)
        seconds = pos["time"].astype("int64").to_numpy() // 10**9
        np.testing.assert_array_equal(seconds, want_seconds)
        assert list(pos["source"]) == want_source


def test_broken_table_rows_are_counted_not_fatal():
    lines = MARINECADASTRE.splitlines()
    broken = "\n".join([lines[0], lines[1], "445123000,2023-01-01,1,2,3,4,5,6,7,8,9,10,11,12,13,14,15,16,17,18",
                        "", lines[2], "445123000,2023"]) + "\n"
    data = read_ais(io.StringIO(broken), format="marinecadastre")
    data.report.check()
    assert len(data.positions) == 2
    # the blank line is a blank line, not a bad row (#14 item 6)
    assert data.report.skipped == {"bad_row": 2, "comment_or_blank": 1}
    rows = [json.dumps({"timestamp": "2017-07-18T00:00:00Z", "ssvid": 445000001, "lat": 30.0,
                        "lon": 122.0}), "{broken", "[1, 2]", ""]
    data = read_ais(io.StringIO("\n".join(rows * 2)), format="gfw_jsonl")
    data.report.check()
    assert len(data.positions) == 2 and data.report.skipped == {"bad_row": 4}


def test_truncated_archive_keeps_what_precedes_the_break(tmp_path):
    text = ("\n".join(SENTENCES * 50) + "\n").encode()
    packed = gzip.compress(text)
    path = tmp_path / "cut.nmea.gz"
    path.write_bytes(packed[: len(packed) // 2])
    with pytest.warns(RuntimeWarning, match="ends early"):
        data = read_ais(path)
    data.report.check()
    assert data.report.notes["truncated_compressed_files"] == 1
    assert 0 < len(data.positions) < len(SENTENCES) * 50


@pytest.mark.parametrize("magic", [b"\x1f\x8b\x08\x00", b"BZh9", b"\xfd7zXZ\x00"])
def test_archive_broken_before_any_data_is_a_clear_error(tmp_path, magic):
    path = tmp_path / "corrupt.nmea.gz"
    path.write_bytes(magic + b"garbage" * 10)
    with pytest.raises(OSError, match="corrupt compressed data"):
        read_ais(path)


@pytest.mark.parametrize("bad", [b"null", b"[1,2,3]", b'"text"', b'{"ssvid": 5',
                                 b'{"ssvid": 1, "lat": 1, "lonn": 2, '
                                 b'"timestamp": "2020-01-01T00:00:00Z"}'])
@pytest.mark.parametrize("where", ["middle", "last_without_newline"])
def test_gfw_bad_json_line_is_counted_not_fatal(bad, where, shared_data):
    """#14 item 10: `null` or `[1,2,3]` failed the file (exit 1); a misspelt key on a last line
    without its newline rejected the whole file."""
    good = (shared_data / "gfw-gpsdio-segment" / "263576000.json").read_bytes().splitlines()[:4]
    lines = [*good[:2], bad, *good[2:]] if where == "middle" else [*good, bad]
    data = read_ais(io.BytesIO(b"\n".join(lines)))
    data.report.check()
    assert len(data.positions) == 4
    assert data.report.skipped == {"bad_row": 1}


MC_HEAD = ("MMSI,BaseDateTime,LAT,LON,SOG,COG,Heading,VesselName,IMO,CallSign,VesselType,"
           "Status,Length,Width,Draft,Cargo,TransceiverClass\n")


def _mc_row(mmsi, minute, name="A"):
    return (f"{mmsi},2023-01-01T00:{minute:02d}:00,32.1,-79.1,0.1,10,511,{name},,C,70,0,100,"
            "20,5,70,A")


def test_csv_extra_field_blank_lines_and_quoted_newline():
    """#14 item 6: one extra field on the first data row lost every row (the first column
    became the index); blank lines were bad rows; a quoted newline added phantom bad rows."""
    csv = (MC_HEAD + _mc_row(367000001, 0) + ",EXTRA\n\n"
           + _mc_row(367000002, 1, name='"TWO\nLINES"') + "\n\n"
           + _mc_row(367000003, 2) + ",X,Y,Z\n"  # really malformed: counted
           + _mc_row(367000004, 3) + "\n")
    with pytest.warns(pd.errors.ParserWarning, match="Length of header"):
        data = read_ais(io.BytesIO(csv.encode()))
    data.report.check()
    assert data.positions["mmsi"].tolist() == [367000001, 367000002, 367000004]
    assert data.report.skipped == {"comment_or_blank": 2, "bad_row": 1}
    assert data.vessels.set_index("mmsi").loc[367000002, "name"] == "TWO\nLINES"


@pytest.mark.parametrize(("unit", "scale"), [("s", 1), ("ms", 10**3), ("us", 10**6),
                                             ("ns", 10**9)])
def test_numeric_time_columns_by_magnitude(unit, scale):
    """#15 item 5: Unix milliseconds were read as seconds (50 reports -> 49 dark periods)."""
    t0 = 1_700_000_000
    lines = [json.dumps({"ssvid": 445000001, "lat": 30.0, "lon": 122.0,
                         "timestamp": (t0 + 60 * i) * scale + (123 * scale // 1000)})
             for i in range(3)]
    data = read_ais(io.BytesIO(("\n".join(lines) + "\n").encode()))
    want = pd.to_datetime([(t0 + 60 * i) * 10**9 + 123 * 10**6 * (scale >= 1000)
                           for i in range(3)], utc=True)
    assert data.positions["time"].tolist() == list(want)
    csv = MC_HEAD.split(",SOG")[0] + "\n" + f"367000001,{t0 * scale},32.1,-79.1\n"
    assert read_ais(io.BytesIO(csv.encode())).positions["time"].iloc[0] == \
        pd.Timestamp(t0, unit="s", tz="UTC")


SPIRE = (b"ID,ais_pos_timestamp,latitude,longitude,speed\n"
         b"445000001,2024-01-01T00:00:00Z,30.0,122.0,0.1\n"
         b"445000001,2024-01-01T00:10:00Z,30.0,122.1,0.2\n")


def test_unrecognised_csv_layout_is_a_clear_error_listing_its_columns():
    """#15 item 5: a Spire-style export silently gave 0 positions with exit 0."""
    with pytest.raises(ValueError, match="unrecognised CSV layout") as err:
        read_ais(io.BytesIO(SPIRE))
    text = str(err.value)
    for needle in ("ais_pos_timestamp", "MarineCadastre", "GFW JSON lines", "--columns"):
        assert needle in text


@pytest.mark.parametrize("columns", [
    {"mmsi": "ID", "time": "ais_pos_timestamp", "lat": "latitude", "lon": "longitude"},
    "mmsi=ID,time=ais_pos_timestamp,lat=latitude,lon=longitude,sog=speed"])
def test_column_mapping(columns):
    data = read_ais(io.BytesIO(SPIRE), columns=columns)
    data.report.check()
    assert data.positions["mmsi"].tolist() == [445000001, 445000001]
    assert data.positions["lon"].tolist() == [122.0, 122.1]
    assert data.positions["time"].iloc[1] == pd.Timestamp("2024-01-01T00:10", tz="UTC")
    assert data.positions["line"].tolist() == [2, 3]


def test_common_column_names_need_no_mapping_and_bad_mappings_fail():
    csv = b"mmsi,timestamp,latitude,longitude\n445000001,1704067200000,30.0,122.0\n"
    data = read_ais(io.BytesIO(csv))  # (a MovingPandas-style table, times in ms)
    assert data.positions["time"].iloc[0] == pd.Timestamp("2024-01-01", tz="UTC")
    with pytest.raises(ValueError, match="no column 'nope'"):
        read_ais(io.BytesIO(SPIRE), columns={"mmsi": "nope", "time": "ais_pos_timestamp",
                                             "lat": "latitude", "lon": "longitude"})
    with pytest.raises(ValueError, match="unknown key"):
        read_ais(io.BytesIO(SPIRE), columns="ship=ID")
    with pytest.raises(ValueError, match="KEY=COLUMN"):
        read_ais(io.BytesIO(SPIRE), columns="mmsi")


def test_truncated_last_csv_row_is_counted_under_its_own_reason():
    """#15 item 5: '...,32.4042,-79.' without a newline was read as longitude -79.0."""
    whole = MC_HEAD + _mc_row(367000001, 0) + "\n" + _mc_row(367000002, 1)
    cut = whole[: whole.rindex("-79.1") + 4]  # ends '...,32.1,-79.'
    data = read_ais(io.BytesIO(cut.encode()))
    data.report.check()
    assert data.positions["mmsi"].tolist() == [367000001]
    assert data.report.skipped == {"truncated_row": 1}
    # a last row that is whole but lacks its newline is kept
    assert read_ais(io.BytesIO(whole.encode())).positions["mmsi"].tolist() == \
        [367000001, 367000002]


def test_cli_columns_and_unrecognised_layout(tmp_path, capsys):
    from stsdetect.cli import EXIT_BAD_INPUT, EXIT_OK, main

    path = tmp_path / "spire.csv"
    path.write_bytes(SPIRE)
    out = tmp_path / "p.csv"
    assert main(["-q", "decode", str(path), "-o", str(out)]) == EXIT_BAD_INPUT
    assert "unrecognised CSV layout" in capsys.readouterr().err
    assert main(["-q", "decode", str(path), "-o", str(out), "--columns",
                 "mmsi=ID,time=ais_pos_timestamp,lat=latitude,lon=longitude"]) == EXIT_OK
    assert len(pd.read_csv(out)) == 2
    assert main(["-q", "detect", str(path), "-o", str(tmp_path / "e.csv"), "--columns",
                 "mmsi=ID,time=ais_pos_timestamp,lat=latitude,lon=longitude"]) == EXIT_OK
