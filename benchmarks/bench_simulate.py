"""Speed of the scenario generator and of its vectorized position encoder.

Prints a table: scenario size (vessels, lines), wall time and lines per second for
:func:`stsdetect.simulate.simulate` at the ITU report intervals over 1-4 days, and the encoder
alone against pyais's ``encode_dict`` (per message, the reference it is tested against).

Usage::

    python benchmarks/bench_simulate.py
"""

from __future__ import annotations

import time

import numpy as np


def _best_of(fn, repeat=3):
    best = np.inf
    for _ in range(repeat):
        t0 = time.perf_counter()
        out = fn()
        best = min(best, time.perf_counter() - t0)
    return best, out


def encoder_inputs(n: int, seed: int = 0):
    rng = np.random.default_rng(seed)
    return (rng.choice([1, 18], n), rng.integers(200_000_000, 800_000_000, n),
            rng.uniform(29, 33, n), rng.uniform(120, 125, n), rng.uniform(0, 20, n),
            rng.uniform(0, 360, n), rng.integers(0, 360, n).astype(float),
            rng.integers(0, 60, n), np.zeros(n, np.int64))


def main() -> None:
    from pyais.encode import encode_dict

    from stsdetect.simulate import encode_position_reports, simulate

    print(f"{'case':<44}{'lines':>12}{'seconds':>10}{'lines/s':>14}")
    for days, n_background in ((1, 20), (2, 20), (4, 100)):
        secs, sc = _best_of(lambda d=days, b=n_background: simulate(
            seed=0, duration=f"{d}d" if d > 1 else "36h", n_background=b), repeat=1)
        lines = sc.noise["lines"]
        label = f"simulate {days}d, {len(sc.vessels)} vessels, ITU intervals"
        print(f"{label:<44}{lines:>12,}{secs:>10.2f}{lines / secs:>14,.0f}")
    n = 1_000_000
    args = encoder_inputs(n)
    secs, _ = _best_of(lambda: encode_position_reports(*args))
    print(f"{'encode_position_reports (numpy)':<44}{n:>12,}{secs:>10.2f}{n / secs:>14,.0f}")
    m = 5_000
    small = encoder_inputs(m)
    dicts = [{"type": int(t), "msg_type": int(t), "mmsi": int(mm), "lat": la, "lon": lo,
              "speed": s, "course": c, "heading": int(h), "second": int(sec)}
             for t, mm, la, lo, s, c, h, sec, _ in zip(*small, strict=True)]
    secs, _ = _best_of(lambda: [encode_dict(d, talker_id="AI", sentence_type="VDM")
                                for d in dicts], repeat=1)
    print(f"{'pyais encode_dict (per message)':<44}{m:>12,}{secs:>10.2f}{m / secs:>14,.0f}")


if __name__ == "__main__":
    main()
