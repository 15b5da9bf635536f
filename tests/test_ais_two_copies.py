"""Rows copied into read_ais's output columns on pool threads (issue #15, the calling
thread's serial work): whenever, in whatever order, and by whichever thread each handed
copy runs (or is taken back and made by the calling thread), the columns hold the rows
appended, in order."""

import threading
from concurrent.futures import Future

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

from stsdetect.ais import read_ais, reader
from stsdetect.ais.reader import _ROW_DTYPES, _STAT_DTYPES, _Columns, _run_chore


class _Later:
    """A pool's ``submit`` whose tasks wait in a list until :meth:`run_some` runs some of
    them (on another thread, as a pool's chores are); those left can be taken back."""

    def __init__(self):
        self.waiting = []

    def __call__(self, fn, *args):
        done = Future()
        self.waiting.append((done, fn, args))
        return done

    def run_some(self, picks):
        """Run the waiting tasks picked (by position, in the order given) on a thread."""
        at = list(dict.fromkeys(i % len(self.waiting) for i in picks)) if self.waiting else []
        chosen = [self.waiting[i] for i in at]
        self.waiting = [w for i, w in enumerate(self.waiting) if i not in at]
        t = threading.Thread(target=lambda: [_run_chore(*w) for w in chosen])
        t.start()
        t.join()


@settings(max_examples=60, deadline=None)
@given(dtypes=st.sampled_from([_ROW_DTYPES, _STAT_DTYPES]),
       steps=st.lists(st.tuples(st.integers(0, 700), st.sampled_from(["none", "run", "ahead"]),
                                st.lists(st.integers(0, 9), max_size=4)), max_size=25),
       handed=st.booleans())
def test_handed_copies_fill_the_columns_as_copies_here_do(dtypes, steps, handed):
    """Blocks appended with their copies handed to a pool (run there in any order, some
    never: taken back at the end), interleaved with columns made ahead (:meth:`reserve`
    with a pool) and growth, give the columns that copying each block at once gives."""
    later = _Later()
    store = _Columns(dtypes)
    want = {k: [] for k in dtypes}
    rng = np.random.default_rng(len(steps))
    for rows, what, picks in steps:
        block = {k: rng.integers(0, 120, rows).astype(d) for k, d in dtypes.items()}
        for k in dtypes:
            want[k].append(block[k].copy())
        if what == "ahead":
            store.reserve(store.n_rows + rows * 3 + 5, later)
        store.append(block, later if handed else None)
        if what == "run":
            later.run_some(picks)
    out = store.columns()  # (the copies not run yet: taken back, made here)
    n = sum(len(w) for w in want["mmsi"])
    if not n:
        assert out is None
        return
    for k in dtypes:
        np.testing.assert_array_equal(out[k], np.concatenate(want[k]))


def test_copies_are_handed_to_the_pool_threads(shared_data, tmp_path, monkeypatch):
    """On two threads, rows are copied into the columns on the pool thread too (the
    calling thread makes those no pool thread has started when it would otherwise wait:
    here it is slowed after each chunk it absorbs, so that the pool thread starts chunks
    meanwhile), and the read is the one-thread read."""
    import time

    import pandas as pd

    path = tmp_path / "d.ais"
    path.write_bytes((shared_data / "noaadata" / "test.ais").read_bytes() * 12)
    want = read_ais(path, workers=1)
    main = threading.get_ident()
    threads = []
    real_copy, real_absorb = reader._copy_rows, reader._NmeaDecoder.absorb

    def copy(*args):
        threads.append(threading.get_ident())
        return real_copy(*args)

    def absorb(*args, **kwargs):
        copies = real_absorb(*args, **kwargs)
        time.sleep(0.005)
        return copies

    monkeypatch.setattr(reader, "_copy_rows", copy)
    monkeypatch.setattr(reader._NmeaDecoder, "absorb", absorb)
    got = read_ais(path, workers=2, chunk_bytes=1 << 16)
    for table in ("positions", "statics", "vessels"):
        pd.testing.assert_frame_equal(getattr(got, table), getattr(want, table))
    assert main in threads and len(set(threads)) == 2
