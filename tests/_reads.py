"""Comparing two reads of the same input (threads, chunk sizes, order, layout)."""

from __future__ import annotations

import pandas as pd


def assert_same_read(got, want) -> None:
    """``got`` and ``want`` (:class:`~stsdetect.ais.AISData`) hold the same positions,
    statics and vessels, row for row and dtype for dtype, and the same report."""
    pd.testing.assert_frame_equal(got.positions, want.positions)
    pd.testing.assert_frame_equal(got.statics, want.statics)
    pd.testing.assert_frame_equal(got.vessels, want.vessels)
    assert got.report == want.report
