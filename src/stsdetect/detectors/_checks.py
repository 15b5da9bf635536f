"""Argument checks shared by the detectors."""

from __future__ import annotations

import numpy as np
import pandas as pd

from stsdetect.tracks import Tracks


def check_tracks(tracks) -> Tracks:
    """Raise a clear error unless ``tracks`` is a :class:`Tracks` with finite times and places."""
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
    return tracks


def positive(name: str, value: float) -> float:
    """``value`` as a float, or a ValueError naming ``name`` unless it is positive and finite."""
    value = float(value)
    if not np.isfinite(value) or value <= 0:
        raise ValueError(f"{name} must be a positive finite number, got {value!r}")
    return value
