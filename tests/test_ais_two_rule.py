"""read_ais's default decodes a file too small for a second thread to pay on the calling
thread alone, starting no thread (issue #15: the default ``workers`` never makes a read
slower than one thread); an explicit ``workers`` is kept. The oracle is the one-thread
read."""

import pytest
from _reads import assert_same_read

from stsdetect.ais import read_ais, reader
from stsdetect.ais.reader import _MIN_THREADED_WORK, _SENTENCE_BYTES, _nmea_threads

_LINE = b"!AIVDM,1,1,,A,15RTgt0PAso;90TKcjM8h6g208CQ,0*4A\n"  # 50 bytes
_STATIC = (b"!AIVDM,2,1,3,B,55P5TL01VIaAL@7WKO@mBplU@<PDhh000000001S;AJ::4A80?4i@E53,0*3E\n"
           b"!AIVDM,2,2,3,B,1@0000000000000,2*55\n")
#: N-AIS lines: a receiving station (the ``source`` column) and a time per line
_STATIONS = (b"!AIVDM,1,1,,A,14`qQb0000o?u?DK>Smo2E`v0404,0*1A,r003669987,1152921693\n"
             b"!AIVDM,1,1,,B,15NOdr?001o?v:RK@p@QDQBv0D1<,0*44,r003669707,1152921693\n")
#: gpsd's sample layout: one sentence in about 400 bytes, the rest comment lines
_SPARSE = _LINE + b"# " + b"x" * 346 + b"\n"


def test_small_inputs_are_read_on_one_thread_large_ones_on_all():
    """One thread below the work threshold (bytes plus a cost per sentence), all of them at
    or above it; the sentences are counted in the head and scaled to the file's size."""
    head = _LINE * 1000  # a whole small file
    assert _nmea_threads(head, len(head), 2) == 1
    work = len(_LINE) + _SENTENCE_BYTES  # per line of this head
    lines = -(-_MIN_THREADED_WORK // work)
    assert _nmea_threads(head, lines * len(_LINE), 4) == 4
    assert _nmea_threads(head, (lines - 2) * len(_LINE), 4) == 1
    # a sparse layout: the same bytes hold fewer sentences, so a larger file stays on one
    sparse = _SPARSE * 100
    size = int(_MIN_THREADED_WORK / (1 + _SENTENCE_BYTES / len(_SPARSE))) - 1000
    assert _nmea_threads(sparse, size, 2) == 1
    assert _nmea_threads(head, size, 2) == 2
    # one worker asked, an unknown size (a stream, a compressed file) or no head: unchanged
    assert _nmea_threads(head, len(head), 1) == 1
    assert _nmea_threads(head, None, 3) == 3
    assert _nmea_threads(b"", 10, 3) == 3


@pytest.fixture
def pools(monkeypatch):
    """The pools read_ais starts (a list), on a machine taken to have two CPUs."""
    made = []

    class Counted(reader._Pool):
        def __init__(self, n):
            made.append(n)
            super().__init__(n)

    monkeypatch.setattr(reader, "_Pool", Counted)
    monkeypatch.setattr(reader.os, "sched_getaffinity", lambda pid: {0, 1}, raising=False)
    monkeypatch.setattr(reader.os, "cpu_count", lambda: 2)
    return made


def test_default_reads_a_small_file_without_starting_threads(tmp_path, pools, monkeypatch):
    """A small plain file read with the default ``workers``: no pool started, the same
    tables as one thread; an explicit ``workers=2`` still decodes on a pool; with the
    threshold at zero the default starts one too (and reads the same)."""
    path = tmp_path / "small.nmea"
    path.write_bytes((_LINE * 40 + _STATIC) * 50)
    want = read_ais(path, workers=1, chunk_bytes=4096)
    assert not pools
    assert_same_read(read_ais(path, chunk_bytes=4096), want)
    assert not pools  # (the rule: one thread, and no thread started for nothing)
    assert_same_read(read_ais(path, workers=2, chunk_bytes=4096), want)
    assert pools == [1]
    monkeypatch.setattr(reader, "_MIN_THREADED_WORK", 0)
    assert_same_read(read_ais(path, chunk_bytes=4096), want)
    assert pools == [1, 1]


def test_default_with_small_and_large_files_together(tmp_path, pools, monkeypatch):
    """Files read together: the small one on the calling thread, the other on the pool
    (started for it), and the tables are those of one thread, in either order; a stream
    (size unknown) keeps the default's threads."""
    small = tmp_path / "a.nmea"
    small.write_bytes((_LINE * 30 + _STATIONS + _STATIC) * 20)
    large = tmp_path / "b.nmea"
    large.write_bytes((_STATIC + _LINE * 7 + _STATIONS) * 400)
    # (the threshold between the two files' work: the large one is read on threads)
    monkeypatch.setattr(reader, "_MIN_THREADED_WORK", small.stat().st_size * 3)
    assert _nmea_threads(small.read_bytes(), small.stat().st_size, 2) == 1
    assert _nmea_threads(large.read_bytes()[:65536], large.stat().st_size, 2) == 2
    for paths in ([small, large], [large, small]):
        want = read_ais(paths, workers=1, chunk_bytes=4096)
        n = len(pools)
        assert_same_read(read_ais(paths, chunk_bytes=4096), want)
        assert len(pools) == n + 1
    want = read_ais(small.open("rb"), workers=1, chunk_bytes=4096)
    assert_same_read(read_ais(small.open("rb"), chunk_bytes=4096), want)
    assert len(pools) == 3
