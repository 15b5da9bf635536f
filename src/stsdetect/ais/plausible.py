"""Plausible report times (contract C6): records stamped far from any real AIS time are skipped.

A single report stamped 2100 once made 664,776-hour dark periods and 190 dark rendezvous, and
kept a Dask run busy for more than 15 minutes. AIS did not exist before 2002: the IMO made
it mandatory under SOLAS chapter V regulation 19 from 1 July 2002 (ships built from then,
the existing fleet by the end of 2004), so a report stamped earlier is a wrong clock or a
bad parse; and nothing can be stamped after the present beyond clock skew. Records whose
time falls outside the window are counted in the decode report under ``implausible_time``
and are not passed on. Records without a time (NaT) are not affected (the track stage
counts them as ``dropped_no_time``).
"""

from __future__ import annotations

import re
import time
from functools import lru_cache

import numpy as np
import pandas as pd

from .report import DecodeReport

__all__ = ["DEFAULT_VALID_TIMES", "drop_implausible_times", "valid_time_range"]

#: The default plausible window: from 2002-01-01 (before the first AIS carriage date, 1 July
#: 2002, SOLAS V/19) to one day after the present (clock skew, time zones mistaken for UTC).
DEFAULT_VALID_TIMES = "2002-01-01..now+1d"

_NAT = np.iinfo(np.int64).min
_INT64_MAX = np.iinfo(np.int64).max


def _bound(text: str, default: str) -> int:
    text = (text or default).strip()
    now_relative, ns = _parsed(text)
    if now_relative:
        ns += time.time_ns()  # (the clock pd.Timestamp.now reads)
        if not _NAT < ns <= _INT64_MAX:
            raise ValueError(f"valid_times: {text!r} is not a time (out of range)")
    return ns


@lru_cache(maxsize=64)
def _parsed(text: str) -> tuple[bool, int]:
    """A bound's text parsed once per text: ``(False, ns since the epoch)`` for a time,
    ``(True, ns from now)`` for ``now[+-DURATION]`` (the parse cost each read_ais call
    0.2 ms, most of it pandas' time parser; errors are not cached)."""
    m = re.fullmatch(r"now\s*(?:([+-])\s*(.+))?", text, flags=re.IGNORECASE)
    try:
        if m:
            delta = 0
            if m.group(1):
                from stsdetect.geo import duration_s

                delta = int(pd.Timedelta(seconds=duration_s(m.group(2))).as_unit("ns").value)
            return True, delta if m.group(1) != "-" else -delta
        t = pd.Timestamp(text)
        if t is not pd.NaT:
            t = t.tz_localize("UTC") if t.tzinfo is None else t.tz_convert("UTC")
    except (ValueError, TypeError, OverflowError) as exc:
        raise ValueError(f"valid_times: {text!r} is not a time (write an ISO date such as "
                         "2002-01-01, or now, now+1d)") from exc
    if t is pd.NaT:
        raise ValueError(f"valid_times: {text!r} is not a time")
    return False, int(t.as_unit("ns").value)


def valid_time_range(valid_times=DEFAULT_VALID_TIMES) -> tuple[int, int]:
    """The plausible window as (first, last) int64 nanoseconds since the epoch, UTC.

    Parameters
    ----------
    valid_times : str or tuple, default :data:`DEFAULT_VALID_TIMES`
        ``"FROM..TO"`` with ISO times or dates (UTC when no zone is given), ``now`` or
        ``now+DURATION`` / ``now-DURATION``; an empty side keeps the default
        (``"1990-01-01.."`` widens only the start). A ``(from, to)`` tuple of such strings or
        timestamps (None for a default side) works too. None: the default.

    Returns
    -------
    tuple of int

    Raises
    ------
    ValueError
        A side that is not a time, or a window that ends before it starts.
    """
    lo_default, hi_default = DEFAULT_VALID_TIMES.split("..")
    if valid_times is None:
        valid_times = DEFAULT_VALID_TIMES
    if isinstance(valid_times, str):
        if ".." not in valid_times:
            raise ValueError(f"valid_times: {valid_times!r} should be FROM..TO, e.g. "
                             f"{DEFAULT_VALID_TIMES!r}")
        lo, hi = valid_times.split("..", 1)
    else:
        lo, hi = valid_times
    lo = _bound(lo if isinstance(lo, str) or lo is None else str(pd.Timestamp(lo)), lo_default)
    hi = _bound(hi if isinstance(hi, str) or hi is None else str(pd.Timestamp(hi)), hi_default)
    if hi < lo:
        raise ValueError(f"valid_times: {valid_times!r} ends before it starts")
    return lo, hi


def _implausible(times: pd.Series, lo: int, hi: int) -> np.ndarray:
    ns = times.to_numpy(dtype="datetime64[ns]").view(np.int64) if len(times) else \
        np.zeros(0, np.int64)
    return (ns != _NAT) & ((ns < lo) | (ns > hi))


def drop_implausible_times(positions: pd.DataFrame, statics: pd.DataFrame | None,
                           report: DecodeReport, valid_times=DEFAULT_VALID_TIMES):
    """Drop rows whose time is outside the plausible window and count them.

    A position row was counted as a decoded message of its ``msg_type``; it moves to the
    ``implausible_time`` skip reason, so the report still adds up. So does a static record
    of type 5 or 24 (static rows that come with a position, type 19 or a table row, were
    counted with it).

    Parameters
    ----------
    positions : pandas.DataFrame
        With a UTC ``time`` column and ``msg_type``.
    statics : pandas.DataFrame or None
        Static records with ``time`` and ``msg_type``.
    report : DecodeReport
        Updated in place.
    valid_times : str or tuple
        See :func:`valid_time_range`.

    Returns
    -------
    (pandas.DataFrame, pandas.DataFrame or None)
        The rows kept (index reset where rows were dropped).
    """
    lo, hi = valid_time_range(valid_times)
    bad = _implausible(positions["time"], lo, hi)
    if bad.any():
        _recount(report, positions["msg_type"].to_numpy()[bad])
        positions = positions.loc[~bad].reset_index(drop=True)
    if statics is not None and len(statics):
        bad = _implausible(statics["time"], lo, hi)
        if bad.any():
            types = statics["msg_type"].to_numpy()[bad]
            _recount(report, types[np.isin(types, (5, 24))])
            statics = statics.loc[~bad].reset_index(drop=True)
    return positions, statics


def _recount(report: DecodeReport, msg_types: np.ndarray) -> None:
    """Move records from decoded (by type) to the ``implausible_time`` skip reason."""
    counts = np.bincount(np.asarray(msg_types, dtype=np.int64), minlength=28)
    for t in np.flatnonzero(counts):  # a loop over message types
        left = report.decoded.get(int(t), 0) - int(counts[t])
        if left > 0:
            report.decoded[int(t)] = left
        else:
            report.decoded.pop(int(t), None)
    report.add_skip("implausible_time", int(counts.sum()))
