"""Argument checks shared by the detectors."""

from __future__ import annotations

import weakref

import numpy as np
import pandas as pd

from stsdetect.tracks import Tracks

#: Tracks -> the (lat_deg, lon_deg) arrays found finite, while that Tracks lives (weak keys).
#: Every detector of a run checks the same Tracks: one pass over them, not one per detector
#: (two sums over 9 MB each on the 1.31M-line dump of ``bench_engine.py e2e``; about 1.4 ms
#: a check, six checks a run). Sound because the columns cannot change: a Tracks' arrays are
#: read-only (:class:`stsdetect.tracks.Tracks`), so writing into them raises instead of
#: going unseen; arrays made writable again (``flags.writeable = True``) are scanned at
#: every check, never cached.
_FINITE: weakref.WeakKeyDictionary = weakref.WeakKeyDictionary()


def check_tracks(tracks) -> Tracks:
    """Raise a clear error unless ``tracks`` is a :class:`Tracks` with finite times and places.

    The places of a Tracks are scanned once (:data:`_FINITE`) while its arrays are
    read-only, as every Tracks' are (writing into them raises); arrays made writable again
    are scanned at every call. Its type checks run each time.
    """
    if isinstance(tracks, pd.DataFrame):
        raise TypeError("expected Tracks, got a DataFrame: clean positions first with "
                        "stsdetect.build_tracks(positions)")
    if not isinstance(tracks, Tracks):
        raise TypeError(
            f"expected stsdetect.tracks.Tracks, got {type(tracks).__name__}; build it with "
            "stsdetect.build_tracks(positions) or Tracks.from_arrays(...)"
        )
    if tracks.time_ns.dtype != np.int64:
        raise TypeError(f"tracks.time_ns must be int64 nanoseconds, got {tracks.time_ns.dtype}")
    lat, lon = tracks.lat_deg, tracks.lon_deg
    fixed = not (lat.flags.writeable or lon.flags.writeable)
    seen = _FINITE.get(tracks)
    if fixed and seen is not None and seen[0] is lat and seen[1] is lon:
        return tracks
    for name in ("lat_deg", "lon_deg"):
        values = getattr(tracks, name)
        with np.errstate(over="ignore", invalid="ignore"):
            total = np.sum(values)
        if np.isfinite(total):  # one fast reduction; a NaN or an infinity makes it non-finite
            continue
        bad = int(np.count_nonzero(~np.isfinite(values)))  # (or an overflow of huge values)
        if bad:
            raise ValueError(
                f"tracks have {bad} rows with a non-finite {name}; build_tracks drops such rows "
                "(Tracks.from_arrays does no cleaning)"
            )
    if fixed:
        _FINITE[tracks] = (lat, lon)
    return tracks


def positive(name: str, value: float) -> float:
    """``value`` as a float, or a ValueError naming ``name`` unless it is positive and finite."""
    value = float(value)
    if not np.isfinite(value) or value <= 0:
        raise ValueError(f"{name} must be a positive finite number, got {value!r}")
    return value
