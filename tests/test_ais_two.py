"""read_ais's output columns: one allocation per table, and no memory kept for rows that
never came (issue #15, two-thread scaling and system time)."""

from concurrent.futures import Future

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

from stsdetect.ais import reader
from stsdetect.ais.reader import _ROW_DTYPES, _STAT_DTYPES, _block_columns, _Columns


def _done(fn, *args) -> Future:
    """A pool's ``submit`` that runs ``fn`` at once."""
    future = Future()
    future.set_result(fn(*args))
    return future


@settings(max_examples=30, deadline=None)
@given(st.sampled_from([_ROW_DTYPES, _STAT_DTYPES]), st.integers(0, 70_000))
def test_block_columns_are_disjoint_views_of_one_allocation(dtypes, n):
    """Each column has its dtype and ``n`` rows, starts a multiple of 64 bytes into the
    allocation, and no two share memory; all are views of a single array (one allocation:
    NumPy asks for huge pages on it once it is 4 MB or more)."""
    cols = _block_columns(dtypes, n)
    assert list(cols) == list(dtypes)
    assert all(a.base is not None for a in cols.values())
    assert len({id(a.base) for a in cols.values()}) == 1
    for k, a in cols.items():
        assert a.dtype == dtypes[k] and a.shape == (n,) and a.flags.c_contiguous
        assert (a.ctypes.data - a.base.ctypes.data) % 64 == 0 and a.ctypes.data % 16 == 0
    arrays = list(cols.values())
    for i, a in enumerate(arrays):
        a[:] = i + 1  # (fails, or is overwritten below, if two columns overlap)
    for i, a in enumerate(arrays):
        assert (a == i + 1).all()


def test_columns_share_one_allocation_in_read_ais(tmp_path):
    """The positions a read returns are views of one allocation (not one per column)."""
    line = b"!AIVDM,1,1,,A,15RTgt0PAso;90TKcjM8h6g208CQ,0*4A\n"
    path = tmp_path / "d.nmea"
    path.write_bytes(line * 3000)
    for workers in (1, 2):
        pos = reader.read_ais(path, workers=workers, chunk_bytes=1 << 14).positions
        bases = {id(np.asarray(pos[c]).base) for c in ("mmsi", "lat", "lon", "line")}
        assert len(pos) == 3000 and len(bases) == 1


@settings(max_examples=40, deadline=None)
@given(st.integers(1, 5000), st.integers(0, 60_000))
def test_rows_far_fewer_than_written_ahead_get_their_own_allocation(rows, reserved):
    """Columns made ahead on another thread have every page written: when the rows kept
    are far fewer, :meth:`_Columns.columns` copies them into an allocation of their size
    (so the memory kept is the rows', not the estimate's); otherwise it hands over views of
    the columns written (no copy). Either way the rows are the rows appended."""
    store = _Columns(_ROW_DTYPES)
    store.reserve(reserved, _done)
    rng = np.random.default_rng(rows)
    block = {k: rng.integers(0, 100, rows).astype(d) for k, d in _ROW_DTYPES.items()}
    store.append(block)
    out = store.columns()
    for k in _ROW_DTYPES:
        np.testing.assert_array_equal(out[k], block[k])
    base = out["mmsi"].base
    cap = max(reserved, rows)
    if cap > rows + rows // 8 + 1024:
        assert base.nbytes < rows * 70 + 11 * 64  # (70 bytes a row, 11 columns padded)
    else:
        assert base.nbytes >= cap * 70  # (70 bytes a row)


def test_chunk_bytes_default_is_the_one_documented():
    """``read_ais``'s docstring states the default chunk size it has (session 16 said
    2 MiB over a 1 MiB default)."""
    import inspect
    import re

    default = inspect.signature(reader.read_ais).parameters["chunk_bytes"].default
    assert default == reader.DEFAULT_CHUNK_BYTES
    said = re.search(r"chunk_bytes : int, default (\d+) (KiB|MiB)", reader.read_ais.__doc__)
    assert said is not None
    assert int(said.group(1)) << (10 if said.group(2) == "KiB" else 20) == default
