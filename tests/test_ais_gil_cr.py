"""Issue #15, session 21: the calling thread's reads cut down: a file whose lines end in CR
alone is cut in a window (its chunks read by the threads that decode them).

Oracles: the old stream chunker of ``test_ais_two_pread`` and the reads of these files as
they were before (chunks of a CR-only file read whole by the calling thread)."""

from __future__ import annotations

import os

import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from test_ais_two_pread import _old_chunks, _pread_chunks

from stsdetect.ais import read_ais, reader
from stsdetect.ais.reader import _file_chunks

# ------------------------------------------------------------------ CR-only files
_SENT = b"!AIVDM,1,1,,A,15RTgt0PAso;90TKcjM8h6g208CQ,0*4A"
_CR_PIECES = [_SENT, b"$PGHP,1,2012,11,08*00", b"\\s:x,c:1352351932*00\\",
              b"\\g:1-2-3*00\\!AIVDM,2,1,3,A,5,0*00", b"# comment", b"1352351932 ",
              b"x" * 97, b"y" * 900, b"", b" "]
_CR_DUMPS = st.lists(st.tuples(st.sampled_from(_CR_PIECES), st.sampled_from([b"\r", b"\r",
                                                                             b""])),
                     min_size=1, max_size=100).map(lambda p: b"".join(a + b for a, b in p))


@settings(max_examples=150, deadline=None)
@given(data=_CR_DUMPS, chunk=st.integers(40, 700), part=st.integers(1, 5),
       window=st.integers(1, 300))
def test_cr_only_files_give_the_old_chunks(tmp_path_factory, data, chunk, part, window):
    """A file whose lines end in CR alone is cut in a window as it was when each chunk was
    read whole (byte for byte, with the same ``continued``)."""
    path = tmp_path_factory.mktemp("cr") / "d.nmea"
    path.write_bytes(data)
    assert _pread_chunks(path, chunk, chunk // part, window) == _old_chunks(data, chunk,
                                                                             chunk // part)


def _offsets(path, chunk, window):
    fd = os.open(path, os.O_RDONLY)
    try:
        return [c[3] for c in _file_chunks(fd, chunk, 3, None, chunk // 4, window)]
    finally:
        os.close(fd)


def test_cr_only_chunks_are_read_where_they_are_decoded(tmp_path):
    """Lines ended by CR alone: the calling thread reads none of the file's chunks itself
    (it read them all before); a file with a '\\n' near its start keeps the old rule."""
    path = tmp_path / "d.nmea"
    path.write_bytes((b"\\s:x,c:1352351932*00\\" + _SENT + b"\r") * 4000)
    offsets = _offsets(path, 8192, 1024)
    assert len(offsets) > 30 and None not in offsets
    path.write_bytes(b"# one LF line\n" + (_SENT + b"\r") * 4000)
    assert set(_offsets(path, 8192, 1024)[1:-1]) == {None}


@pytest.fixture(scope="module")
def cr_files(shared_data, tmp_path_factory):
    """CR-only dumps: chhs2131's, and gfw's tag-block and DMA's $PGHP dumps with their line
    ends made CR."""
    out = [shared_data / "chhs2131-pyais-ec" / "ais_20211104_15.txt"]
    for name, f in (("tag.nmea", "gfw-ais-listener/nmea-with-tagblock.txt"),
                    ("dma.txt", "dma-aisabnormal/ais-sample.txt")):
        data = (shared_data / f).read_bytes().replace(b"\r\n", b"\n").replace(b"\n", b"\r")
        path = tmp_path_factory.mktemp("crread") / name
        path.write_bytes(data[:300_000])
        out.append(path)
    return [str(p) for p in out]


@pytest.mark.parametrize("chunk_bytes", [4096, 65536])
@pytest.mark.parametrize("workers", [2, 3])
def test_cr_only_reads_are_the_reads_of_whole_chunks(cr_files, monkeypatch, workers,
                                                      chunk_bytes):
    """read_ais of CR-only files on threads, their chunks cut in a window, equals the same
    read with every chunk read whole by the calling thread (the rule before), and the
    one-thread read of the file in one chunk: a header line ($PGHP, ``\\si``) stays with
    its sentence wherever a chunk is cut (it did not in lines ended by CR alone)."""
    got = [read_ais(p, workers=workers, chunk_bytes=chunk_bytes) for p in cr_files]
    monkeypatch.setattr(reader, "_cr_only", lambda fd: False)
    want = [read_ais(p, workers=workers, chunk_bytes=chunk_bytes) for p in cr_files]
    for g, w in zip(got, want, strict=True):
        for table in ("positions", "statics", "vessels"):
            pd.testing.assert_frame_equal(getattr(g, table), getattr(w, table))
        assert g.report == w.report
    for g, p in zip(got, cr_files, strict=True):
        one = read_ais(p, workers=1, chunk_bytes=1 << 20)
        for table in ("positions", "statics", "vessels"):
            pd.testing.assert_frame_equal(getattr(g, table), getattr(one, table))
        assert g.report == one.report
