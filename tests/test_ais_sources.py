"""Opening sources: literal glob characters, ZIP archives and zstd data (stsdetect.ais.sources)."""

from __future__ import annotations

import gzip
import io
import zipfile

import pytest
import zstandard

from stsdetect.ais import read_ais
from stsdetect.ais.sources import expand, open_sources

SENTENCE_A = "!AIVDM,1,1,,A,13prmQ?P001EOA4OC3h@u?vl20SR,0*7F"
SENTENCE_B = "!AIVDM,1,1,,B,13prWJW010QF:eHO>V<Koqdn0D3G,0*1A"
DUMP = (SENTENCE_A + "\n" + SENTENCE_B + "\n").encode()

MC_CSV = (
    "MMSI,BaseDateTime,LAT,LON,SOG,COG,Heading,VesselName,IMO,CallSign,VesselType,Status,"
    "Length,Width,Draft,Cargo,TransceiverClass\n"
    "367000001,2023-01-01T00:00:00,32.1,-79.1,0.1,10.0,511,SHIP A,IMO1234567,CALL,70,0,100,"
    "20,5,70,A\n"
    "367000002,2023-01-01T00:01:00,32.2,-79.2,0.2,20.0,511,SHIP B,,CALL2,80,0,120,"
    "22,6,80,A\n"
)


def _expected(data: bytes):
    return read_ais(io.BytesIO(data)).positions.drop(columns=["source"], errors="ignore")


def test_existing_path_with_glob_characters_is_read_as_itself(tmp_path):
    """#14 item 4: 'day[1].nmea' is that file, not 'day1.nmea'."""
    (tmp_path / "day[1].nmea").write_bytes((SENTENCE_A + "\n").encode())
    (tmp_path / "day1.nmea").write_bytes(DUMP)
    data = read_ais(str(tmp_path / "day[1].nmea"))
    assert len(data.positions) == 1
    assert [name for name, _, _ in expand(str(tmp_path / "day[1].nmea"))] == [
        str(tmp_path / "day[1].nmea")]
    # a path that does not exist is still a glob
    assert [n for n, _, _ in expand(str(tmp_path / "day?.nmea"))] == [str(tmp_path / "day1.nmea")]
    with pytest.raises(FileNotFoundError, match="no files match"):
        expand(str(tmp_path / "night*.nmea"))
    with pytest.raises(FileNotFoundError, match="no such AIS dump"):
        expand(str(tmp_path / "night.nmea"))


def test_cli_reads_existing_path_with_glob_characters(tmp_path, capsys):
    from stsdetect.cli import main

    (tmp_path / "day[1].nmea").write_bytes((SENTENCE_A + "\n").encode())
    (tmp_path / "day1.nmea").write_bytes(DUMP)
    out = tmp_path / "p.csv"
    assert main(["-q", "decode", str(tmp_path / "day[1].nmea"), "-o", str(out)]) == 0
    assert "(1 positions)" in capsys.readouterr().out


def test_zip_every_member_read_and_named(tmp_path):
    """#15 item 5: a ZIP is read member by member (was: 0 positions, exit 0)."""
    path = tmp_path / "day.zip"
    with zipfile.ZipFile(path, "w", compression=zipfile.ZIP_DEFLATED) as zf:
        zf.writestr("a.nmea", (SENTENCE_A + "\n").encode())
        zf.writestr("sub/", b"")  # a folder entry: skipped
        zf.writestr("sub/b.nmea.gz", gzip.compress((SENTENCE_B + "\n").encode()))
        zf.writestr("c.csv", MC_CSV.encode())
    names = [s.name for s in open_sources(str(path))]
    assert names == [f"{path}:a.nmea", f"{path}:sub/b.nmea.gz", f"{path}:c.csv"]
    data = read_ais(str(path))
    data.report.check()
    assert len(data.positions) == 4
    assert sorted(data.positions["mmsi"])[-2:] == [367000001, 367000002]
    assert data.positions["mmsi"].head(2).tolist() == _expected(DUMP)["mmsi"].tolist()


def test_zip_from_a_pipe(tmp_path):
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as zf:
        zf.writestr("a.nmea", DUMP)

    class Pipe(io.RawIOBase):  # readable, not seekable
        def __init__(self, data):
            self._b = io.BytesIO(data)

        def readable(self):
            return True

        def seekable(self):
            return False

        def readinto(self, b):
            return self._b.readinto(b)

    data = read_ais(io.BufferedReader(Pipe(buf.getvalue())))
    assert len(data.positions) == 2


def test_broken_zip_member_keeps_what_came_before(tmp_path):
    path = tmp_path / "bad.zip"
    big = DUMP * 5000
    with zipfile.ZipFile(path, "w", compression=zipfile.ZIP_DEFLATED) as zf:
        zf.writestr("a.nmea", big)
    raw = bytearray(path.read_bytes())
    # corrupt the compressed stream in its second half (the central directory stays intact)
    start = 30 + len("a.nmea")
    info = zipfile.ZipFile(path).infolist()[0]
    mid = start + info.compress_size * 3 // 4
    raw[mid:mid + 16] = b"\xff" * 16
    path.write_bytes(bytes(raw))
    with pytest.warns(RuntimeWarning, match=r"bad\.zip:a\.nmea"):
        data = read_ais(str(path))
    assert data.report.notes.get("truncated_compressed_files") == 1
    assert 0 < len(data.positions) < 10000


def test_not_a_zip_after_all(tmp_path):
    path = tmp_path / "fake.zip"
    path.write_bytes(b"PK\x03\x04 not really an archive")
    with pytest.raises(OSError, match="not a readable ZIP archive"):
        read_ais(str(path))


def test_zstd(tmp_path):
    path = tmp_path / "day.nmea.zst"
    path.write_bytes(zstandard.ZstdCompressor().compress(DUMP * 3))
    data = read_ais(str(path))
    assert len(data.positions) == 6
    # several frames, as `zstd` writes for a concatenation
    path.write_bytes(zstandard.ZstdCompressor().compress(DUMP)
                     + zstandard.ZstdCompressor().compress(DUMP))
    assert len(read_ais(str(path)).positions) == 4


def test_zstd_truncated_keeps_the_start(tmp_path):
    path = tmp_path / "cut.nmea.zst"
    whole = zstandard.ZstdCompressor(write_content_size=False).compress(DUMP * 20000)
    path.write_bytes(whole[: len(whole) // 2])
    with pytest.warns(RuntimeWarning, match="compressed data ends early"):
        data = read_ais(str(path))
    assert 0 < len(data.positions) < 40000
    data.report.check()


def test_zstd_csv(tmp_path):
    path = tmp_path / "AIS_2024_01_01.csv.zst"
    path.write_bytes(zstandard.ZstdCompressor().compress(MC_CSV.encode()))
    data = read_ais(str(path))
    assert data.positions["mmsi"].tolist() == [367000001, 367000002]


def test_file_object_left_open_path_closed(tmp_path):
    path = tmp_path / "a.nmea"
    path.write_bytes(DUMP)
    with open(path, "rb") as fh:
        read_ais(fh)
        assert not fh.closed
    for src in open_sources(str(path)):
        stream = src.stream
        assert src.size_hint == len(DUMP)
        assert src.head == DUMP
    with pytest.raises(ValueError, match="closed file"):  # closed once the loop moved on
        stream.read()
