"""Navigational-status counts window by window (stsdetect.scale.status) equal the in-memory
StatusIndex over all the positions: counts, moored shares and the middle report of each range.

The oracle is :class:`stsdetect.context.StatusIndex` over the whole table (what
:func:`stsdetect.detect` uses). Positions span three days with statuses that change, unknown
ones (15, missing), several reports at the same second with different statuses (the middle
report is then decided by input order), and queries crossing one or both midnights, inside one
window, empty, at NaT, for unknown vessels.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from stsdetect.context.columns import StatusIndex, _nav_status
from stsdetect.scale import make_plan
from stsdetect.scale.engine import LocalExecutor
from stsdetect.scale.status import WindowedStatus
from stsdetect.scale.windows import spill_positions, unify_schemas

DAY0 = pd.Timestamp("2024-03-01", tz="UTC").value
NAT = np.iinfo(np.int64).min
H = 3600 * 10**9


def _positions(rng, n_vessels=6, n=3000, days=3):
    t = DAY0 + rng.integers(0, days * 24 * 3600, n) * 10**9
    dup = rng.random(n) < 0.1  # same second as the row before: ties broken by input order
    t[1:][dup[1:]] = t[:-1][dup[1:]]
    status = rng.choice([0, 1, 1, 5, 5, 15, -1], n).astype(float)
    status[status < 0] = np.nan
    mmsi = 412000000 + rng.integers(0, n_vessels, n)
    return pd.DataFrame({"mmsi": mmsi.astype(np.int64),
                         "time": pd.to_datetime(t, utc=True),
                         "lat": 30.0, "lon": 122.0, "sog_kn": 0.0,
                         "nav_status": pd.array(status, dtype="Float64").astype("Int64")})


def _spill(positions, tmp_path, plan, pieces=3):
    schemas, windows = [], []
    seq = 0
    for i, part in enumerate(np.array_split(np.arange(len(positions)), pieces)):  # a few
        got = spill_positions(positions.iloc[part].reset_index(drop=True), tmp_path,
                              plan.window_s, part=f"f{i:06d}-000000", seq_start=seq)
        seq += part.size
        schemas.append(got["schema"])
        windows.append(got["windows"])
    return unify_schemas(schemas), np.unique(np.concatenate(windows))


def _queries(rng, positions, m=200):
    mmsi = positions["mmsi"].to_numpy(np.int64)
    q = rng.choice(np.concatenate([np.unique(mmsi), [999, -1]]), m)
    lo = DAY0 + rng.integers(-2 * 3600, 3 * 24 * 3600, m) * 10**9
    length = rng.choice([0, 1, 600, 6 * 3600, 30 * 3600, 80 * 3600], m) * 10**9
    hi = lo + length
    # some queries exactly at a report's time (inclusive ends)
    at = rng.random(m) < 0.2
    hi[at] = positions["time"].to_numpy("datetime64[ns]").astype(np.int64)[
        rng.integers(0, len(positions), at.sum())]
    lo[at] = np.minimum(lo[at], hi[at])
    nat = rng.random(m) < 0.03
    lo[nat] = NAT
    return q, lo, hi


@settings(max_examples=8, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(seed=st.integers(0, 10_000), window=st.sampled_from(["1d", "6h"]))
def test_windowed_status_equals_the_whole_index(seed, window, tmp_path_factory):
    rng = np.random.default_rng(seed)
    positions = _positions(rng)
    plan = make_plan(window=window)
    work = tmp_path_factory.mktemp("status")
    schema, windows = _spill(positions, work, plan)
    q, lo, hi = _queries(rng, positions)
    whole = StatusIndex(positions, q[q >= 0])
    got = WindowedStatus(LocalExecutor(), work, plan, windows, schema)
    want_counts = whole.counts(q, lo, hi)
    got_counts = got.counts(q, lo, hi)
    for name, w, g in zip(("known", "n1", "n5"), want_counts[:3], got_counts[:3], strict=True):
        np.testing.assert_array_equal(g, w, err_msg=name)
    # b > a exactly where the range holds reports
    np.testing.assert_array_equal(got_counts[4] > got_counts[3],
                                  want_counts[4] > want_counts[3])
    # the participant's status: the majority, else the middle report of the range
    want_nav = _nav_status(whole, q, lo, hi)
    got_nav = _nav_status(got, q, lo, hi)
    np.testing.assert_array_equal(got_nav, want_nav)
    assert (want_nav >= 0).sum() > 20  # majorities and middles both happened
    middle = (want_counts[1] * 2 <= want_counts[0]) & (want_counts[2] * 2 <= want_counts[0])
    assert (middle & (want_nav >= 0)).sum() > 5


def test_windowed_status_through_the_context_functions(tmp_path):
    """find_anchorages' moored share and add_context's nav_status are the same with the
    windowed stand-in as with the whole index."""
    from stsdetect.context.anchorages import _moored_share

    rng = np.random.default_rng(3)
    positions = _positions(rng, n_vessels=4, n=4000)
    plan = make_plan(window="1d")
    schema, windows = _spill(positions, tmp_path, plan)
    q, lo, hi = _queries(rng, positions, m=60)
    ok = (q >= 0) & (lo != NAT)
    stops = pd.DataFrame({"mmsi": q[ok], "start_ns": lo[ok], "end_ns": hi[ok]})
    got = WindowedStatus(LocalExecutor(), tmp_path, plan, windows, schema)
    # both consumers' queries fetched in one pass, as the windowed context stage does
    got.prefetch(np.concatenate([stops["mmsi"], q]), np.concatenate([stops["start_ns"], lo]),
                 np.concatenate([stops["end_ns"], hi]))
    want = _moored_share(stops, positions)
    np.testing.assert_array_equal(_moored_share(stops, None, status=got), want)
    assert np.isfinite(want).sum() > 20
    whole = StatusIndex(positions, q[q >= 0])
    np.testing.assert_array_equal(_nav_status(got, q, lo, hi), _nav_status(whole, q, lo, hi))
    assert got.n_passes == 1  # nothing asked twice
    # the tasks read one window each: a 3-day run never holds more than a day
    assert got.n_tasks >= len(windows)


@pytest.mark.parametrize("status", [None, "all-unknown"])
def test_windowed_status_without_statuses(status, tmp_path):
    rng = np.random.default_rng(5)
    positions = _positions(rng, n=500)
    if status is None:
        positions = positions.drop(columns=["nav_status"])
    else:
        positions["nav_status"] = pd.array([15] * len(positions), dtype="Int64")
    plan = make_plan(window="1d")
    schema, windows = _spill(positions, tmp_path, plan)
    q, lo, hi = _queries(rng, positions, m=40)
    got = WindowedStatus(LocalExecutor(), tmp_path, plan, windows, schema)
    known, n1, n5, _a, _b = got.counts(q, lo, hi)
    assert not known.any() and not n1.any() and not n5.any()
    nav = _nav_status(got, q, lo, hi)
    assert (nav == -1).all()
