"""Scaling out: out-of-core windowed detection on one machine (:mod:`stsdetect.scale.windows`).

The distributed version, over Dask, is :mod:`stsdetect.dask` (the ``[dask]`` extra).
"""

from __future__ import annotations

from stsdetect.scale.windows import (
    DEFAULT_WINDOW,
    WindowedResult,
    WindowPlan,
    detect_windowed,
    make_plan,
)

__all__ = ["DEFAULT_WINDOW", "WindowPlan", "WindowedResult", "detect_windowed", "make_plan"]
