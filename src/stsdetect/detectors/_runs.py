"""Private helpers: statistics per run of rows, in plain NumPy.

Apart from :mod:`stsdetect.detectors._grid` (whose pair search is compiled with numba) so
that the fold of rendezvous runs in a windowed run's client (:mod:`stsdetect.scale.carry`)
imports no numba: a Dask client only joins the windows' pieces and never needs it (importing
numba is ~0.12 CPU s, which on a two-core machine the client took from its workers).
"""

from __future__ import annotations

import numpy as np

__all__ = ["group_median", "run_mean_of_two"]


def group_median(group: np.ndarray, values: np.ndarray, n_groups: int) -> np.ndarray:
    """Median of ``values`` per group id in ``[0, n_groups)``, ignoring NaN (NaN if none)."""
    order = np.lexsort((values, group))  # NaN sorts last within each group
    v, g = values[order], group[order]
    count = np.bincount(g, weights=~np.isnan(v), minlength=n_groups).astype(np.int64)
    start = np.searchsorted(g, np.arange(n_groups), "left")
    lo = np.clip(start + (count - 1) // 2, 0, max(v.size - 1, 0))
    hi = np.clip(start + count // 2, 0, max(v.size - 1, 0))
    if v.size == 0:
        return np.full(n_groups, np.nan)
    return np.where(count > 0, (v[lo] + v[hi]) / 2.0, np.nan)


def run_mean_of_two(a: np.ndarray, b: np.ndarray, first: np.ndarray) -> np.ndarray:
    """Per run, the mean of the non-missing values of two paired columns (NaN where none).

    ``first`` holds each run's first row, as for :func:`numpy.add.reduceat`; the pair's
    speeds of a rendezvous run are averaged this way in one pass and in its windowed form.
    """
    valid_a, valid_b = ~np.isnan(a), ~np.isnan(b)
    total = np.add.reduceat(np.where(valid_a, a, 0.0) + np.where(valid_b, b, 0.0), first)
    count = np.add.reduceat(valid_a.astype(np.int64) + valid_b, first)
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(count > 0, total / np.maximum(count, 1), np.nan)
