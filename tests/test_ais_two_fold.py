"""Chunks' vessel time ranges folded on the pool threads (issue #15, the calling thread's
serial work): a fold not done, cancelled or failed stands for the parts it folds, so the
vessels' first and last times never depend on when, or whether, a pool thread ran it."""

from concurrent.futures import Future

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

from stsdetect.ais.kernel import time_ranges
from stsdetect.ais.reader import _fold_ranges, _Folding, _ranges_parts


def _ranges(pairs):
    keys = np.array([k for k, _ in pairs], np.int64)
    times = np.array([t for _, t in pairs], np.int64)
    return time_ranges(keys, times)


def _extremes(parts):
    """Each key's earliest first and latest last time over ``parts`` (brute force)."""
    out = {}
    for keys, first, last in parts:
        for k, f, g in zip(keys.tolist(), first.tolist(), last.tolist(), strict=True):
            lo, hi = out.get(k, (f, g))
            out[k] = (min(lo, f), max(hi, g))
    return out


_PAIRS = st.lists(st.tuples(st.integers(1, 6), st.integers(0, 10**6)), max_size=8)


def _nest(draw, depth):
    """Parts, some of them folds (done, pending, cancelled or failed) of nested parts;
    also the plain parts they all stand for."""
    parts, flat = [], []
    for _ in range(draw(st.integers(1, 4))):
        if depth and draw(st.booleans()):
            inner, inner_flat = _nest(draw, depth - 1)
            future = Future()
            state = draw(st.sampled_from(["done", "pending", "cancelled", "failed"]))
            if state == "done":
                future.set_result(_fold_ranges(inner))
            elif state == "cancelled":
                future.cancel()
            elif state == "failed":
                future.set_exception(RuntimeError("fold failed"))
            parts.append(_Folding(future, inner))
            flat += inner_flat
        else:
            part = _ranges(draw(_PAIRS))
            parts.append(part)
            flat.append(part)
    return parts, flat


@settings(max_examples=60, deadline=None)
@given(st.data())
def test_folds_on_the_pool_give_the_ranges_of_their_parts(data):
    parts, flat = _nest(data.draw, 2)
    want = _extremes(flat)
    assert _extremes(_ranges_parts(parts)) == want
    keys, first, last = _fold_ranges(parts)
    assert len(set(keys.tolist())) == len(keys)  # each vessel once
    assert _extremes([(keys, first, last)]) == want


def test_folds_and_columns_are_made_on_pool_threads_only(shared_data, monkeypatch):
    """The work the calling thread hands over (folds of time ranges, the output columns
    made ahead) runs on pool threads, not on the calling thread when it decodes a chunk
    itself; the read is the one-thread read."""
    import threading

    import pandas as pd

    from stsdetect.ais import read_ais, reader

    path = shared_data / "gfw-ais-listener" / "nmea.txt"
    want = read_ais(path, workers=1)
    threads = []
    for name in ("_fold_ranges", "_fresh_columns"):
        real = getattr(reader, name)

        def spy(*args, _real=real):
            threads.append(threading.get_ident())
            return _real(*args)

        monkeypatch.setattr(reader, name, spy)
    got = read_ais(path, workers=2, chunk_bytes=4096)
    for table in ("positions", "statics", "vessels"):
        pd.testing.assert_frame_equal(getattr(got, table), getattr(want, table))
    assert threads and threading.get_ident() not in threads
