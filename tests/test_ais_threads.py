"""read_ais gives the same tables and report whatever the threads and chunk size (#15 item 3).

The reference is one thread with 1 MiB chunks; the property draws the decoding threads, the
chunk size (down to 1 KiB: many chunk boundaries inside tag-block groups, $PGHP headers and
multipart messages), the plausible-time window (rows dropped chunk by chunk) and the file
order, over real dumps of every NMEA layout family in ../shared/data read together.
"""

from __future__ import annotations

import pandas as pd
import pytest
from _reads import assert_same_read
from hypothesis import given, settings
from hypothesis import strategies as st

from stsdetect.ais import read_ais

FILES = [
    "gfw-ais-listener/nmea-with-tagblock.txt",  # tag blocks with g: groups
    "gfw-ais-listener/nmea.txt",  # bare VDM, many type 5 (statics, two-part)
    "noaadata/test.ais",  # N-AIS trailing columns, 55 source stations
    "gfw-ais-tools/multi-part.nmea",  # multipart messages
    "libais/tagblock.nmea",
    "pyais/mixed.txt",
]
WINDOWS = [None, "2012-01-01..2016-01-01", "2015-06-01..2015-06-02"]


@pytest.fixture(scope="module")
def dumps(shared_data, tmp_path_factory):
    """The real files, and a cut of the DMA dump ($PGHP and \\si lines), as paths."""
    paths = [shared_data / f for f in FILES]
    dma = (shared_data / "dma-aisabnormal" / "ais-sample.txt").read_bytes()[:300_000]
    cut = tmp_path_factory.mktemp("dma") / "ais-sample-head.txt"
    cut.write_bytes(dma[:dma.rfind(b"\n") + 1])
    return [str(p) for p in paths] + [str(cut)]


_REFERENCE: dict = {}


def _read(paths, window, **kw):
    return read_ais(paths, **kw) if window is None else read_ais(paths, valid_times=window,
                                                                  **kw)


@settings(max_examples=25, deadline=None)
@given(workers=st.integers(1, 3), chunk_bytes=st.integers(1024, 1 << 17),
       window=st.sampled_from(WINDOWS), order=st.permutations(range(len(FILES) + 1)))
def test_threads_and_chunks_do_not_change_the_result(dumps, workers, chunk_bytes, window,
                                                     order):
    paths = [dumps[i] for i in order]
    key = (tuple(paths), window)
    if key not in _REFERENCE:
        _REFERENCE[key] = _read(paths, window, workers=1, chunk_bytes=1 << 20)
    want = _REFERENCE[key]
    assert len(want.positions) and len(want.statics)  # the property has something to hold
    assert_same_read(_read(paths, window, workers=workers, chunk_bytes=chunk_bytes), want)


def test_a_window_drops_rows_chunk_by_chunk_as_one_pass_would(dumps):
    """Dropping implausible times as chunks come in counts and keeps what one pass at the
    end would (every position stamped inside the window, the report adding up)."""
    everything = read_ais(dumps, workers=1)
    window = read_ais(dumps, workers=2, chunk_bytes=4096, valid_times=WINDOWS[1])
    window.report.check()
    lo, hi = pd.Timestamp("2012-01-01", tz="UTC"), pd.Timestamp("2016-01-01", tz="UTC")
    t = everything.positions["time"]
    inside = t.isna() | ((t >= lo) & (t <= hi))
    pd.testing.assert_frame_equal(window.positions,
                                  everything.positions[inside].reset_index(drop=True))
    dropped = window.report.skipped.get("implausible_time", 0)
    assert dropped >= int((~inside).sum()) > 0


def test_workspaces_and_buffers_kept_between_calls_change_nothing(dumps):
    """The reader's private cache of workspaces and chunk buffers (stale bytes and rows of
    earlier calls in them) is bounded and gives what fresh ones give."""
    from stsdetect.ais import reader

    with reader._ws_lock:
        reader._ws_cache.clear()
        reader._buf_cache.clear()
    fresh = read_ais(dumps[::-1], workers=3)
    for workers in (3, 1, 2):
        assert_same_read(read_ais(dumps[::-1], workers=workers), fresh)
        assert 0 < len(reader._ws_cache) <= reader._WS_KEEP
        assert 0 < len(reader._buf_cache) <= reader._BUF_KEEP


def test_a_one_thread_read_takes_the_workspace_written_last(dumps):
    """After a read on several threads, one-thread reads take the workspace put back last
    (its pages written) every time, not in turn each of the others (their pages never
    written by a tiny read: a fresh workspace's first chunk faults in tens of MB)."""
    from stsdetect.ais import reader

    with reader._ws_lock:
        reader._ws_cache.clear()
    read_ais(dumps[:1], workers=3)  # several workspaces taken and put back
    assert len(reader._ws_cache) > 1
    used = []
    decode = reader.decode_chunk

    def spy(a, n, continued=False, workspace=None, copy=True):
        used.append(workspace)
        return decode(a, n, continued, workspace, copy)

    reader.decode_chunk = spy
    try:
        for _ in range(3):
            read_ais(dumps[:1], workers=1)
    finally:
        reader.decode_chunk = decode
    assert used and all(ws is used[0] for ws in used)
    assert reader._ws_cache[-1] is used[0]


class _IdlePool:
    """A pool whose threads never start a task: the reading thread takes every chunk back."""

    def __init__(self, *args, **kwargs):
        self.submitted = 0

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        return False

    def shutdown(self, wait=True, cancel_futures=False):
        pass

    def submit(self, fn, *args):
        from concurrent.futures import Future

        self.submitted += 1
        return Future()


class _EagerPool(_IdlePool):
    """A pool that runs each task as it is submitted: nothing is left to take back."""

    def submit(self, fn, *args):
        fut = super().submit(fn, *args)
        fut.set_result(fn(*args))
        return fut


@pytest.mark.parametrize("pool", [_IdlePool, _EagerPool])
def test_chunks_taken_back_from_the_pool_or_left_to_it_change_nothing(dumps, monkeypatch,
                                                                     pool):
    """The reading thread decodes the chunks no pool thread has started when it has nothing
    else to do (at the end, all of them); which thread decodes a chunk changes nothing."""
    from stsdetect.ais import reader

    want = read_ais(dumps, workers=1, chunk_bytes=1 << 20)
    made = []
    monkeypatch.setattr(reader, "_Pool",
                        lambda *a, **k: made.append(pool()) or made[-1])
    assert_same_read(read_ais(dumps, workers=2, chunk_bytes=4096), want)
    assert made and made[0].submitted > 100  # (small chunks: many taken back or not)


@pytest.mark.parametrize("workers", [2, 3])
def test_vessels_grouped_on_a_pool_thread_change_nothing(dumps, monkeypatch, workers):
    """The vessels table's grouping handed to a pool thread (any number of static records:
    the threshold set to 1) gives the table made on one thread."""
    from stsdetect.ais import reader

    want = read_ais(dumps, workers=1)
    monkeypatch.setattr(reader, "_GROUPS_ON_POOL", 1)
    assert_same_read(read_ais(dumps, workers=workers, chunk_bytes=1 << 16), want)


def test_decode_pool_runs_cancels_and_lets_its_threads_exit():
    """read_ais's own pool: results and exceptions reach the futures, tasks no thread started
    are cancelled by shutdown, and its threads exit once idle (none left behind per call)."""
    import _thread
    import threading
    import time

    from stsdetect.ais import reader

    before = _thread._count()
    pool = reader._Pool(2)
    assert pool.submit(sum, [1, 2, 3]).result(timeout=10) == 6
    with pytest.raises(ZeroDivisionError):
        pool.submit(divmod, 1, 0).result(timeout=10)
    gate = threading.Event()
    busy = [pool.submit(gate.wait, 10) for _ in range(2)]  # both threads held
    deadline = time.monotonic() + 10
    while not all(f.running() for f in busy) and time.monotonic() < deadline:
        time.sleep(0.001)
    queued = pool.submit(sum, [1])
    pool.shutdown(wait=False, cancel_futures=True)
    assert queued.cancelled()
    gate.set()
    assert all(f.result(timeout=10) for f in busy)
    while _thread._count() > before and time.monotonic() < deadline:
        time.sleep(0.001)
    assert _thread._count() <= before


def _threads_now() -> int:
    """Threads of this process that still exist (started by any means, daemon or not)."""
    import _thread

    return _thread._count()


def test_a_call_leaves_no_thread_of_its_own_running(dumps, monkeypatch):
    """read_ais waits for its pool's threads to end before it returns (they are not left
    to exit on their own after the call; here they take 0.2 s to)."""
    import time

    from stsdetect.ais import reader

    class SlowToEnd(reader._Pool):
        def _work(self, *args):
            try:
                super()._work(*args)
            finally:
                time.sleep(0.2)

    before = _threads_now()
    for workers in (2, 3):
        read_ais(dumps, workers=workers, chunk_bytes=1 << 16)
        assert _threads_now() == before
    monkeypatch.setattr(reader, "_Pool", SlowToEnd)
    read_ais(dumps, workers=3, chunk_bytes=1 << 16)
    assert _threads_now() == before


@pytest.mark.parametrize("error", [RuntimeError, KeyboardInterrupt])
def test_a_call_that_raises_mid_file_leaves_no_thread_running(dumps, monkeypatch, error):
    """An error in the calling thread while a pool thread decodes a chunk (here a slow one):
    the call raises it once that thread has ended, none left running behind it (also for a
    KeyboardInterrupt, which is no Exception)."""
    import threading
    import time

    from stsdetect.ais import reader

    real = reader.decode_chunk
    main = threading.get_ident()
    busy = threading.Event()

    def decode(*args, **kwargs):
        if threading.get_ident() != main:
            busy.set()
            time.sleep(0.3)  # (a chunk still being decoded when the call fails)
            return real(*args, **kwargs)
        busy.wait(10)
        raise error("stop")

    monkeypatch.setattr(reader, "decode_chunk", decode)
    before = _threads_now()
    with pytest.raises(error, match="stop"):
        read_ais(dumps, workers=2, chunk_bytes=4096)
    assert busy.is_set()  # (a pool thread was decoding when the calling thread raised)
    assert _threads_now() == before
