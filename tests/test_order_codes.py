"""The cleaning's first pass (:func:`stsdetect._order.vessel_codes`) against a NumPy oracle,
with enough MMSIs that its hash table and per-code arrays grow several times."""

import numpy as np
import pytest

from stsdetect._order import vessel_codes

NAT = np.iinfo(np.int64).min


def _oracle(mmsi, t, missing, nat_missing, lat, lon):
    has_t = np.ones(mmsi.size, bool) if missing.size == 0 else ~missing
    if nat_missing:
        has_t &= t != NAT
    valid = has_t & (np.abs(lat) <= 90.0) & (np.abs(lon) <= 180.0)
    uniq, first = np.unique(mmsi[has_t], return_index=True)
    uniq = uniq[np.argsort(first)]  # codes in order of first appearance
    code_of = {int(m): c for c, m in enumerate(uniq)}  # (test code: a dict is fine here)
    code = np.array([code_of[int(m)] if ok else -1 for m, ok in zip(mmsi, valid, strict=True)],
                    np.int32)
    count, t_min, t_max, heard = [], [], [], [[], []]
    for m in uniq:
        rows = (mmsi == m) & valid
        heard_rows = (mmsi == m) & has_t
        count.append(int(rows.sum()))
        t_min.append(t[rows].min() if rows.any() else np.iinfo(np.int64).max)
        t_max.append(t[rows].max() if rows.any() else NAT)
        heard[0].append(t[heard_rows].min())
        heard[1].append(t[heard_rows].max())
    return (code, uniq, np.array(count), np.array(t_min), np.array(t_max),
            np.array(heard, np.int64).reshape(2, -1), int((~has_t).sum()),
            int((has_t & ~valid).sum()))


@pytest.mark.parametrize("n_mmsi", [1, 200, 300, 3000])
@pytest.mark.parametrize("with_missing", [False, True])
def test_vessel_codes_match_numpy(n_mmsi, with_missing):
    rng = np.random.default_rng([n_mmsi, with_missing])
    n = 4 * n_mmsi + 50
    mmsi = rng.choice(rng.integers(1, 10**9, n_mmsi), n).astype(np.int64)
    t = rng.integers(0, 10**15, n).astype(np.int64)
    t[rng.random(n) < 0.05] = NAT
    lat = rng.uniform(-95, 95, n)
    lon = rng.uniform(-185, 185, n)
    lat[rng.random(n) < 0.02] = np.nan
    missing = rng.random(n) < 0.05 if with_missing else np.zeros(0, bool)
    got = vessel_codes(mmsi, t, missing, True, lat, lon)
    want = _oracle(mmsi, t, missing, True, lat, lon)
    for g, w in zip(got[:6], want[:6], strict=True):
        np.testing.assert_array_equal(g, w)
    assert (got[6], got[7]) == want[6:]
