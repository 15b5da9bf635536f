"""Chunks read by the threads that decode them (``os.pread`` on a plain file): the same
chunks as a stream gives, and the same read (issue #15, the calling thread's serial work).
Both routes are one chunker: their chunks are checked against the stream chunker as it was
before they shared one (kept here as the oracle)."""

import io
import os
import re
import threading

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from stsdetect.ais import read_ais, reader
from stsdetect.ais.reader import (
    _PAD,
    _WS_SLACK,
    _chunks,
    _file_chunks,
    _last_sentence_start,
    _line_cut,
    _read_at,
)

#: line pieces that move a cut: $PGHP and tag-only header lines (kept with the sentence
#: after them), sentences (where a line longer than a chunk is cut), CR-only line ends
_PIECES = [b"!AIVDM,1,1,,A,15RTgt0PAso;90TKcjM8h6g208CQ,0*4A", b"$PGHP,1,2012,11,08*00",
           b"\\s:x,c:1352351932*00\\", b"\\g:1-2-3*00\\!AIVDM,2,1,3,A,5,0*00", b"# comment",
           b"1352351932 ", b"x" * 97, b"y" * 900, b"", b" ", b"\\"]
#: what follows each piece (mostly a line end)
_ENDS = [b"\n", b"\n", b"\n", b"\r\n", b"\r", b""]
_DUMPS = st.lists(st.tuples(st.sampled_from(_PIECES), st.sampled_from(_ENDS)),
                  max_size=100).map(lambda p: b"".join(a + b for a, b in p))


def _old_is_header(line):
    return line.startswith(b"$PGHP") or (line.startswith(b"\\") and line.endswith(b"\\"))


#: a line as the kernel reads it: up to a '\n', a '\r' or both
_LINE = re.compile(rb"[^\r\n]*(?:\r\n|\r|\n)")


def _old_keep_headers_with_sentence(data, cut):
    # (up to 130ec26 a line started only after a '\n', so that a header line of a file
    # whose lines end in CR alone was left behind its sentence: fixed in session 21)
    starts = [m.start() for m in _LINE.finditer(bytes(data[:cut]))]
    for start in starts[::-1][:3]:
        if not _old_is_header(data[start:cut].rstrip()) or start == 0:
            break
        cut = start
    return cut


def _old_line_cut(buf, end):
    cut = buf.rfind(b"\n", 0, end) + 1 or buf.rfind(b"\r", 0, end - 1) + 1
    return _old_keep_headers_with_sentence(buf, cut) if cut else 0


def _old_chunks(data, chunk_bytes, first_bytes):
    """The stream chunker of 130ec26 (one buffer per chunk here: the bytes are the same)."""
    stream = io.BytesIO(data)
    carry, continued = b"", False
    want = min(first_bytes or chunk_bytes, chunk_bytes)
    out = []
    while True:
        buf = bytearray(max(len(carry) + chunk_bytes, chunk_bytes + _WS_SLACK) + _PAD)
        buf[:len(carry)] = carry
        asked, want = want, chunk_bytes
        end = len(carry) + stream.readinto(memoryview(buf)[len(carry):len(carry) + asked])
        if end == len(carry):
            if carry:
                out.append((bytes(buf[:end]), continued))
            return out
        cut = end if end < len(carry) + asked else _old_line_cut(buf, end)
        if cut == 0:
            cut = _last_sentence_start(buf, end)
            out.append((bytes(buf[:cut]), continued))
            carry, continued = bytes(buf[cut:end]), True
            continue
        out.append((bytes(buf[:cut]), continued))
        carry, continued = bytes(buf[cut:end]), False


def _stream_chunks(data, chunk, first):
    return [(bytes(a[:n]), c) for a, n, c in _chunks(io.BytesIO(data), chunk, 3, None, first)]


def _pread_chunks(path, chunk, first, window):
    fd = os.open(path, os.O_RDONLY)
    try:
        got = []
        for a, n, c, offset in _file_chunks(fd, chunk, 3, None, first, window):
            if offset is not None:
                _read_at(a, n, fd, offset)
            got.append((bytes(a[:n]), c))
        return got
    finally:
        os.close(fd)


@settings(max_examples=150, deadline=None)
@given(data=_DUMPS, chunk=st.integers(40, 700), part=st.integers(1, 5),
       window=st.integers(1, 300))
def test_streams_and_files_give_the_old_chunks(tmp_path_factory, data, chunk, part, window):
    """Byte for byte and with the same ``continued``: a stream's chunks, and a file's
    whether their cuts are found in a window (any window, down to one byte) or read whole,
    are those of the old stream chunker."""
    want = _old_chunks(data, chunk, chunk // part)
    assert _stream_chunks(data, chunk, chunk // part) == want
    path = tmp_path_factory.mktemp("chunker") / "d.nmea"
    path.write_bytes(data)
    assert _pread_chunks(path, chunk, chunk // part, window) == want


@settings(max_examples=300, deadline=None)
@given(data=_DUMPS, at=st.floats(0, 1))
def test_a_cut_found_in_the_last_bytes_is_the_whole_chunks_cut(data, at):
    """The cut :func:`_line_cut` finds in a chunk's last bytes, when it finds one, is the
    cut of the whole chunk (the old rules); with two line ends in them it finds none only
    after moving back over a header line, as the whole chunk's cut does."""
    lo = int(at * len(data))
    tail = data[lo:]
    whole = _line_cut(bytearray(data), len(data))
    assert whole == _old_line_cut(bytearray(data), len(data))
    got = _line_cut(tail, len(tail), whole=False)
    if got is not None:
        assert lo + got == whole
    elif b"\n" in tail and b"\n" in tail[:tail.rfind(b"\n")]:
        # (None with two line ends in the window: only after moving over a header line)
        assert whole < tail.rfind(b"\n") + 1 + lo


@pytest.mark.parametrize("window", [20, 100, 299])
def test_a_line_longer_than_a_chunk_continues_only_the_next(tmp_path, window):
    """After a line longer than a chunk, the chunk that ends it is ``continued`` and the
    ones after it are not, whether the cut is found in the window or not."""
    data = b"y" * 900 + b"\n" + _PIECES[0] * 2 + b"\n" + (_PIECES[0] + b"\n") * 40
    path = tmp_path / "d.nmea"
    path.write_bytes(data)
    want = _stream_chunks(data, 300, 300)
    assert [c for _, c in want] == [False, True, True, True] + [False] * (len(want) - 4)
    assert _pread_chunks(path, 300, 300, window) == want


def test_most_chunks_are_read_where_they_are_decoded(tmp_path):
    """With lines shorter than the window, the calling thread reads none of a file's chunks
    itself (the oracle test above holds also when it reads them all)."""
    line = b"\\s:x,c:1352351932*00\\!AIVDM,1,1,,A,15RTgt0PAso;90TKcjM8h6g208CQ,0*4A\n"
    path = tmp_path / "d.nmea"
    path.write_bytes(line * 4000)
    fd = os.open(path, os.O_RDONLY)
    try:
        offsets = [c[3] for c in _file_chunks(fd, 8192, 3, None, 2048, window=1024)]
    finally:
        os.close(fd)
    assert len(offsets) > 30 and None not in offsets


def test_a_file_cut_short_under_a_reader_says_so(tmp_path):
    path = tmp_path / "d.nmea"
    path.write_bytes(b"x" * 100)
    fd = os.open(path, os.O_RDONLY)
    try:
        with pytest.raises(OSError, match="changed while it was read"):
            _read_at(bytearray(300), 200, fd, 0)
    finally:
        os.close(fd)


@settings(max_examples=10, deadline=None)
@given(workers=st.integers(2, 3), chunk_bytes=st.integers(1024, 1 << 15),
       window=st.sampled_from([64, 512, 1 << 14]))
def test_reads_on_the_pool_give_the_one_thread_read(dumps_two, workers, chunk_bytes, window):
    """read_ais of files whose chunks the pool threads read themselves (cuts found in a
    window of each size) equals the one-thread read of the stream."""
    old = reader._CUT_WINDOW
    reader._CUT_WINDOW = window
    try:
        got = read_ais(dumps_two["paths"], workers=workers, chunk_bytes=chunk_bytes)
    finally:
        reader._CUT_WINDOW = old
    want = dumps_two["want"]
    for table in ("positions", "statics", "vessels"):
        assert getattr(got, table).equals(getattr(want, table)), table
    assert got.report == want.report


@pytest.fixture(scope="module")
def dumps_two(shared_data, tmp_path_factory):
    """Real files (tag blocks, N-AIS columns, multipart, and a cut of the DMA dump with its
    $PGHP and \\si lines) and their one-thread read."""
    paths = [str(shared_data / f) for f in ("noaadata/test.ais",
                                            "gfw-ais-tools/multi-part.nmea")]
    for name, f in (("tag.nmea", "gfw-ais-listener/nmea-with-tagblock.txt"),
                    ("dma.txt", "dma-aisabnormal/ais-sample.txt")):
        data = (shared_data / f).read_bytes()[:200_000]
        path = tmp_path_factory.mktemp("two") / name
        path.write_bytes(data[:data.rfind(b"\n") + 1])
        paths.append(str(path))
    return {"paths": paths, "want": read_ais(paths, workers=1)}


def test_an_error_reading_on_a_pool_thread_reaches_the_caller(shared_data, monkeypatch):
    """A chunk a pool thread fails to read raises in the call (once every thread has
    ended), with the reading error."""
    real = reader._read_at
    calls = []

    def failing(buf, n, fd, offset):
        calls.append(offset)
        if len(calls) == 3:
            raise OSError("disk gone")
        return real(buf, n, fd, offset)

    monkeypatch.setattr(reader, "_read_at", failing)
    monkeypatch.setattr(reader, "_CUT_WINDOW", 512)
    before = threading.active_count()
    with pytest.raises(OSError, match="disk gone"):
        read_ais(shared_data / "noaadata" / "test.ais", workers=2, chunk_bytes=4096)
    assert threading.active_count() == before


def test_a_file_stays_open_while_a_pool_thread_reads_it_after_an_error(shared_data,
                                                                        monkeypatch):
    """When the calling thread fails while a pool thread reads a chunk, the file is closed
    only once that thread has ended (its descriptor is never closed under it, nor reused
    by another file meanwhile), and the call leaves no descriptor open."""
    import time

    path = shared_data / "noaadata" / "test.ais"
    main = threading.get_ident()
    real_read, real_chunks = reader._read_at, reader._file_chunks
    reading = threading.Event()
    seen = []

    def slow_read(buf, n, fd, offset):
        if threading.get_ident() != main and not reading.is_set():
            reading.set()
            time.sleep(0.3)  # (the calling thread fails meanwhile)
            try:  # (the file's own descriptor, not one reused by another file meanwhile)
                same = os.fstat(fd).st_ino == os.stat(path).st_ino
                seen.append("open" if same else "reused")
            except OSError:
                seen.append("closed")
        return real_read(buf, n, fd, offset)

    def chunks(*args, **kwargs):
        for i, chunk in enumerate(real_chunks(*args, **kwargs)):
            if i and reading.wait(1):  # (a pool thread is reading: fail here)
                raise RuntimeError("stop")
            yield chunk

    monkeypatch.setattr(reader, "_read_at", slow_read)
    monkeypatch.setattr(reader, "_file_chunks", chunks)
    monkeypatch.setattr(reader, "_CUT_WINDOW", 512)
    fds = set(os.listdir("/proc/self/fd")) if os.path.isdir("/proc/self/fd") else None
    with pytest.raises(RuntimeError, match="stop"):
        read_ais(path, workers=2, chunk_bytes=4096)
    assert seen == ["open"]
    if fds is not None:
        assert set(os.listdir("/proc/self/fd")) <= fds
