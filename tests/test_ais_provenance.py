"""Provenance (contract C1): every position and static row names its file and line.

The oracle is independent of the reader: the real dumps split into lines with Python's own
rules, and the line a row names decoded by pyais (see ``test_ais_real.pyais_positions``),
with the lines before it for a multipart message (a row names its last fragment's line).
"""

from __future__ import annotations

import gzip
import io

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from test_ais_real import NMEA_FILES, _path, pyais_positions

from stsdetect.ais import read_ais


def _lines(data: bytes) -> list[bytes]:
    import re

    return re.split(rb"\r\n|\r|\n", data)


SMALL = [n for n in NMEA_FILES if not n.startswith(("dma-aisabnormal/", "dma-aislib/stream",
                                                      "gfw-ais-listener/nmea"))]


@pytest.mark.parametrize("name", SMALL)
def test_positions_carry_file_and_line(shared_data, name):
    path = _path(shared_data, name)
    data = read_ais(path)
    pos = data.positions
    assert (pos["file"] == str(path)).all()
    assert pos["line"].dtype == np.int64
    raw = path.read_bytes()
    lines = _lines(raw)
    assert ((pos["line"] >= 1) & (pos["line"] <= len(lines))).all()
    ours = sorted(zip(pos["mmsi"], pos["line"], strict=True))
    # every row's line holds a sentence that pyais decodes to that MMSI (single-part), or
    # the last fragment of one (multipart: the oracle reassembles the preceding lines)
    for mmsi, number in ours:
        text = b"\n".join(lines[max(number - 9, 0):number])
        got = {r[0] for r in pyais_positions(text)}
        last_only = {r[0] for r in pyais_positions(lines[number - 1])}
        assert mmsi in got or mmsi in last_only, (name, number, lines[number - 1][:80])


def test_line_numbers_exact_on_a_constructed_dump():
    good = [b"!AIVDM,1,1,,A,15RTgt0PAso;90TKcjM8h6g208CQ,0*4A",
            b"!AIVDM,1,1,,A,16SteH0P00Jt63hHaa6SagvJ087r,0*42"]
    dump = b"\n".join([b"# header", good[0], b"", b"garbage", good[1] + good[0],
                       b"\\c:1600000000*5C\\" + good[1], good[0] + b"\r", good[1]]) + b"\n"
    data = read_ais(io.BytesIO(dump))
    pos = data.positions
    assert list(pos["line"]) == [2, 5, 5, 6, 7, 8]
    assert (pos["file"] == "<stream>").all()
    data.report.check()


def test_line_numbers_across_files_and_chunks(tmp_path):
    lines = [b"!AIVDM,1,1,,A,15RTgt0PAso;90TKcjM8h6g208CQ,0*4A",
             b"!AIVDM,1,1,,A,16SteH0P00Jt63hHaa6SagvJ087r,0*42", b"junk"] * 3000
    a, b = tmp_path / "a.nmea", tmp_path / "b.nmea.gz"
    a.write_bytes(b"\n".join(lines) + b"\n")
    b.write_bytes(gzip.compress(b"\n".join([b"x", *lines]) + b"\n"))
    data = read_ais([a, b], chunk_bytes=4096)
    pos = data.positions
    want_a = [i + 1 for i, ln in enumerate(lines) if ln != b"junk"]
    assert list(pos.loc[pos["file"] == str(a), "line"]) == want_a
    assert list(pos.loc[pos["file"] == str(b), "line"]) == [n + 1 for n in want_a]


def test_statics_carry_file_and_line(shared_data):
    path = _path(shared_data, "gfw-ais-listener/nmea-with-tagblock.txt")
    lines = _lines(path.read_bytes())
    stat = read_ais(path).statics
    assert list(stat.columns[-2:]) == ["file", "line"] and stat["line"].dtype == np.int64
    assert (stat["file"] == str(path)).all()
    assert len(stat) > 100
    # each row's line is the last fragment of its type 5 (or the one line of a type 24/19)
    for mmsi, number in zip(stat["mmsi"], stat["line"], strict=True):
        assert _static_mmsi(lines, number) == mmsi, (number, lines[number - 1])


def _static_mmsi(lines, number):
    """pyais's MMSI of the static message completed on line ``number`` (1-based)."""
    from pyais import decode

    def sentence(line):
        return line[line.index(b"!"):] if b"!" in line else line

    last = sentence(lines[number - 1])
    fields = last.split(b",")
    n, k = int(fields[1]), int(fields[2])
    parts = [last]
    at = number - 2
    while len(parts) < k and at >= 0:  # earlier fragments of the same message
        cand = sentence(lines[at]).split(b",")
        if len(cand) > 3 and cand[1] == fields[1] and cand[3] == fields[3]:
            parts.insert(0, sentence(lines[at]))
        at -= 1
    assert n == k
    return decode(*parts).mmsi


def test_csv_rows_carry_file_and_line(tmp_path):
    csv = tmp_path / "mc.csv"
    csv.write_text(
        "MMSI,BaseDateTime,LAT,LON,SOG,COG,Heading,VesselName,IMO,CallSign,VesselType,Status,"
        "Length,Width,Draft,Cargo,TransceiverClass\n"
        "367000001,2020-01-01T00:00:00,30.0,-90.0,1,2,3,A,IMO1,C,70,0,100,20,5,,A\n"
        "0,2020-01-01T00:00:00,30.0,-90.0,1,2,3,A,IMO1,C,70,0,100,20,5,,A\n"
        "367000002,2020-01-01T00:01:00,30.0,-90.0,1,2,3,B,IMO2,C,70,0,100,20,5,,A\n")
    pos = read_ais(csv).positions
    assert list(pos["line"]) == [2, 4]
    assert (pos["file"] == str(csv)).all()
    assert isinstance(pos["file"].dtype, pd.StringDtype)
    stat = read_ais(csv).statics
    assert list(stat["line"]) == [2, 4] and (stat["file"] == str(csv)).all()


def test_large_dumps_decoded_in_pieces_keep_file_and_line(tmp_path):
    """The out-of-core driver decodes a large dump piece by piece: rows still name the dump
    and their line in it (not "<stream>" and the line in the piece)."""
    from stsdetect.scale.windows import _decoded_pieces

    lines = [b"!AIVDM,1,1,,A,15RTgt0PAso;90TKcjM8h6g208CQ,0*4A",
             b"!AIVDM,1,1,,A,16SteH0P00Jt63hHaa6SagvJ087r,0*42", b"junk"] * 2000
    path = tmp_path / "big.nmea"
    path.write_bytes(b"\n".join(lines) + b"\n")
    pieces = list(_decoded_pieces(path, str(path), 8192, {}))
    assert len(pieces) > 5
    got = pd.concat([p[0] for p in pieces], ignore_index=True)
    want = read_ais(path).positions
    pd.testing.assert_frame_equal(got[["file", "line"]], want[["file", "line"]])


@settings(max_examples=40, deadline=None)
@given(st.lists(st.tuples(st.sampled_from(["", "a.nmea", "dir/" + "x" * 300 + ".txt", "é"]),
                          st.integers(0, 5000)), max_size=4))
def test_string_runs_are_each_text_repeated(runs):
    """The file / source columns made of runs of one text (blocks shared between runs and
    sliced, the empty text's offsets left zero) hold each text ``count`` times, in order."""
    from stsdetect.ais.reader import _string_runs

    got = _string_runs(runs, {})
    want = [t for t, k in runs for _ in range(k)]
    assert len(got) == len(want)
    assert list(got) == want
