"""The detectors' pair search (a grid of cells over unit vectors) against brute force."""

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from stsdetect.detectors._pairs import pairs_within
from stsdetect.geo import unit_xyz


def _brute(xyz, chord, group=None, other=None, other_group=None):
    """Every pair by all-pairs squared chord (the oracle)."""
    b = xyz if other is None else other
    d2 = ((xyz[:, None, :] - b[None, :, :]) ** 2).sum(axis=2)
    ok = d2 <= chord * chord
    ga = np.zeros(len(xyz), int) if group is None else np.asarray(group)
    gb = (ga if other is None else np.zeros(len(b), int) if other_group is None
          else np.asarray(other_group))
    ok &= ga[:, None] == gb[None, :]
    if other is None:
        ok &= np.triu(np.ones_like(ok), k=1)
    i, j = np.nonzero(ok)
    return set(zip(i.tolist(), j.tolist(), strict=True))


def _points(rng, n, where):
    if where == "pole":
        return unit_xyz(90.0 - rng.uniform(0, 0.02, n), rng.uniform(-180, 180, n))
    if where == "antimeridian":
        return unit_xyz(rng.uniform(30, 30.02, n), np.where(rng.random(n) < 0.5,
                        rng.uniform(179.99, 180, n), rng.uniform(-180, -179.99, n)))
    if where == "globe":
        return unit_xyz(rng.uniform(-90, 90, n), rng.uniform(-180, 180, n))
    return unit_xyz(rng.uniform(30, 30.05, n), rng.uniform(122, 122.05, n))


@pytest.mark.parametrize("where", ["pole", "antimeridian", "globe", "port"])
@pytest.mark.parametrize("chord", [1e-7, 2e-5, 1e-4, 0.3])
def test_pairs_match_brute_force(where, chord):
    rng = np.random.default_rng([len(where), round(chord * 1e7)])
    xyz = _points(rng, 600, where)
    group = rng.integers(0, 3, len(xyz))
    i, j = pairs_within(xyz, chord, group=group)
    assert (i < j).all()
    found = set(zip(i.tolist(), j.tolist(), strict=True))
    assert len(found) == i.size  # each pair once
    assert found == _brute(xyz, chord, group)
    other = _points(rng, 200, where)
    i, j = pairs_within(other, chord, other_xyz=xyz)
    assert set(zip(i.tolist(), j.tolist(), strict=True)) == _brute(other, chord, other=xyz)


@settings(max_examples=60, deadline=None)
@given(st.lists(st.tuples(st.floats(-90, 90), st.floats(-180, 180), st.integers(0, 2)),
                min_size=0, max_size=40),
       st.sampled_from([1e-6, 1e-3, 0.1, 2.0]))
def test_pairs_property(points, chord):
    lat = np.array([p[0] for p in points], float)
    lon = np.array([p[1] for p in points], float)
    group = np.array([p[2] for p in points], np.int64)
    xyz = unit_xyz(lat, lon).reshape(-1, 3)
    i, j = pairs_within(xyz, chord, group=group)
    assert set(zip(i.tolist(), j.tolist(), strict=True)) == _brute(xyz, chord, group)


def test_non_finite_points_pair_with_nothing():
    xyz = unit_xyz(np.array([10.0, 10.0, np.nan]), np.array([20.0, 20.0, 20.0]))
    i, j = pairs_within(xyz, 0.01)
    assert i.tolist() == [0] and j.tolist() == [1]
