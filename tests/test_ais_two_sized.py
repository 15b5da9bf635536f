"""A file of known size read on several threads: chunks of up to ``_SIZED_CHUNK`` times
``chunk_bytes``, ``_SIZED_IN_FLIGHT`` of them in flight per thread (issue #15: fewer
chunks, the same bytes in flight). The oracles: the chunk balancing as it was before (kept
here), and the one-thread read (chunks of ``chunk_bytes``, one at a time)."""

import io
from contextlib import contextmanager

import pytest
from _reads import assert_same_read
from hypothesis import given, settings
from hypothesis import strategies as st

from stsdetect.ais import read_ais, reader
from stsdetect.ais.reader import (
    _IN_FLIGHT,
    _SIZED_CHUNK,
    _SIZED_IN_FLIGHT,
    _WS_SLACK,
    _balanced_chunk,
)


def _old_balanced_chunk(size, chunk_bytes, workers):
    """``_balanced_chunk`` before files on threads had larger chunks."""
    if not size or workers < 2:
        return chunk_bytes
    n = -(-size // chunk_bytes)
    n = -(-n // workers) * workers
    return max(1024, min(chunk_bytes, -(-size // n) + 1024))


@settings(max_examples=300, deadline=None)
@given(size=st.none() | st.integers(0, 1 << 28), chunk_bytes=st.integers(1024, 1 << 24),
       workers=st.integers(1, 9))
def test_threads_balance_chunks_of_the_larger_size(size, chunk_bytes, workers):
    got = _balanced_chunk(size, chunk_bytes, workers)
    if not size or workers < 2:  # streams, and one thread: the chunks asked for
        assert got == chunk_bytes
    else:
        assert got == _old_balanced_chunk(size, int(chunk_bytes * _SIZED_CHUNK), workers)
        assert 1024 <= got <= chunk_bytes * _SIZED_CHUNK


@pytest.fixture(scope="module")
def dump(shared_data, tmp_path_factory):
    """Tag blocks, $PGHP headers and multipart messages: a cut of the DMA dump."""
    data = (shared_data / "dma-aisabnormal" / "ais-sample.txt").read_bytes()[:150_000]
    path = tmp_path_factory.mktemp("sized") / "dma.txt"
    path.write_bytes(data[:data.rfind(b"\n") + 1])
    return path


@contextmanager
def _asked():
    """The (workspaces, bytes each, buffers) each read in the block asks
    :func:`_workspaces` for."""
    calls = []
    real = reader._workspaces

    def spy(n, n_bytes, n_buffers):
        calls.append((n, n_bytes, n_buffers))
        return real(n, n_bytes, n_buffers)

    reader._workspaces = spy
    try:
        yield calls
    finally:
        reader._workspaces = real


@settings(max_examples=8, deadline=None)
@given(workers=st.integers(2, 3), chunk_bytes=st.integers(1024, 1 << 14))
def test_a_file_on_threads_keeps_its_bytes_in_flight_and_its_tables(dump, workers,
                                                                     chunk_bytes):
    with _asked() as asked:
        want = read_ais(str(dump), workers=1, chunk_bytes=chunk_bytes)
        got = read_ais(str(dump), workers=workers, chunk_bytes=chunk_bytes)
    assert_same_read(got, want)
    (one, _, _), (n, n_bytes, _) = asked
    assert one == 1 and n == _SIZED_IN_FLIGHT * workers
    assert n_bytes - _WS_SLACK <= chunk_bytes * _SIZED_CHUNK
    # no more bytes in flight than _IN_FLIGHT chunks of chunk_bytes per thread
    assert n * (n_bytes - _WS_SLACK) <= _IN_FLIGHT * workers * chunk_bytes


def test_a_stream_on_threads_keeps_its_chunks(dump):
    data = dump.read_bytes()
    with _asked() as asked:
        got = read_ais(io.BytesIO(data), workers=2, chunk_bytes=4096)
    assert_same_read(got, read_ais(io.BytesIO(data), workers=1, chunk_bytes=4096))
    assert asked[0] == (_IN_FLIGHT * 2, 4096 + _WS_SLACK, _IN_FLIGHT * 2 + 2)
