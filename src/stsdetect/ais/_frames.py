"""DataFrames wrapped around column arrays made by the reader, without pandas' per-column
inference: the tables :func:`stsdetect.read_ais` returns."""

from __future__ import annotations

import numpy as np
import pandas as pd

try:  # pandas >= 3.0: a frame straight from its blocks (a public, low-level API)
    from pandas.api.internals import create_dataframe_from_blocks as _from_blocks
except ImportError:  # pragma: no cover - older pandas: the ordinary constructor
    _from_blocks = None


def frame(columns: dict) -> pd.DataFrame:
    """A DataFrame of ``columns`` (name -> array, all of one length), each array its own
    block, not copied.

    Each array must be typed as the column is to be: a 1-D NumPy array of a numeric dtype,
    or a pandas extension array (datetimes with a zone, nullable integers, strings). The
    frame is what ``pd.DataFrame(columns, copy=False)`` gives, without pandas' per-column
    checks and inference (a few microseconds each, several times that right after the
    decoding threads have run: a quarter of the time left after the last chunk); on pandas
    before 3.0 it is that call.
    """
    if _from_blocks is None:
        return pd.DataFrame(columns, copy=False)
    names = list(columns)
    n = len(columns[names[0]]) if names else 0
    blocks = []
    for i, values in enumerate(columns.values()):
        if len(values) != n:
            raise ValueError(f"column {names[i]!r} has {len(values)} rows, not {n}")
        if isinstance(values, np.ndarray):
            if values.ndim != 1 or values.dtype.kind not in "biuf":
                raise TypeError(f"column {names[i]!r}: a 1-D numeric array is needed, "
                                f"got {values.dtype} of {values.ndim} dimensions")
            values = values.reshape(1, n)  # (a block's rows are its columns)
        elif not isinstance(values, pd.api.extensions.ExtensionArray):
            raise TypeError(f"column {names[i]!r}: a NumPy or pandas array is needed, got "
                            f"{type(values).__name__}")
        blocks.append((values, np.array([i], dtype=np.intp)))
    key = tuple(names)
    if key not in _COLUMNS:  # (names as pandas would index them: Arrow-backed strings, whose
        _COLUMNS[key] = pd.Index(names)  # making costs 25 us a frame; a copy shares the data)
    return _from_blocks(blocks, pd.RangeIndex(n), _COLUMNS[key].copy())


#: The column index of each list of names :func:`frame` has wrapped (one per table kind).
_COLUMNS: dict = {}


_UTC = pd.DatetimeTZDtype("ns", "UTC")


def utc_array(ns: np.ndarray, unit: str = "ns"):
    """int64 nanoseconds since the epoch (int64 min: NaT) as a UTC datetime array of
    ``unit``, over ``ns`` itself when ``unit`` is "ns" (no copy, no scan).

    pandas' own routes from int64 nanoseconds to zoned datetimes (a Series of that dtype,
    ``DatetimeIndex(...).tz_localize``) cost 0.1-0.3 ms each right after the decoding
    threads have run, in code paths the array needs none of; ``DatetimeArray._simple_new``
    (in pandas 2.0-3.x) wraps the values as they are, and the Series is the fallback.
    """
    values = np.asarray(ns, dtype=np.int64).view("datetime64[ns]")
    try:
        arr = pd.arrays.DatetimeArray._simple_new(values, dtype=_UTC)
    except (AttributeError, TypeError):  # pragma: no cover - a pandas without it
        arr = pd.Series(values.view(np.int64), dtype=_UTC, copy=False).array
    return arr if unit == "ns" else arr.as_unit(unit)
