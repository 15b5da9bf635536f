"""Speed of reading the flags' evidence back: ``flags._evidence_long`` and ``evidence_table``.

Run ``python benchmarks/bench_evidence.py [--events 200000] [--repeat 5] [--seed 0]``.

``--events`` flagged events with evidence as :func:`stsdetect.flags.flag_events` writes it
(JSON text of an object keyed by token: region positions, an array of two positions for a
dark period that reappeared elsewhere, residence and visit figures, a DPRK MID, a watch-list
entry with a non-ASCII name, a barge's rules for both participants, dark periods), two to
six tokens each; one event in twenty has none (empty text, or NaN). Prints the best and
median wall time over ``--repeat`` calls (after one warm-up call) of

- ``long``: ``flags._evidence_long`` (what ``Evidence.finish`` reads back when it re-scores
  flagged events, e.g. :func:`stsdetect.flags.add_flag`),
- ``table``: :func:`stsdetect.flags.evidence_table` (what ``events.evidence.jsonl`` is
  written from),

as one JSON line. For an A/B comparison run it in fresh processes of the two versions in
turn, e.g. ``PYTHONPATH=OLD/src`` then ``PYTHONPATH=NEW/src``, each under
``flock /tmp/bench.lock``.
"""

from __future__ import annotations

import argparse
import gc
import json
import statistics
import time

import numpy as np
import pandas as pd

from stsdetect import flags

REGIONS = ["china_territorial_sea", "hangzhou_bay", "yangtze_estuary", "ningbo_zhoushan",
           "korea_bay", "dprk_west_coast"]


def synthetic_evidence(n_events: int, seed: int = 0) -> pd.DataFrame:
    """``n_events`` events (``event_id``, ``evidence``) with evidence texts as the flags
    write them (json.dumps, non-ASCII raw, tokens sorted)."""
    rng = np.random.default_rng(seed)
    lat = np.round(rng.uniform(29.0, 40.0, n_events), 6)
    lon = np.round(rng.uniform(120.0, 125.0, n_events), 6)
    mmsi = rng.integers(412_000_000, 414_000_000, n_events)
    other = rng.integers(445_000_000, 446_000_000, n_events)
    hours = np.round(rng.exponential(12.0, n_events), 2)
    kinds = rng.random((n_events, 8))
    texts = []
    for i in range(n_events):  # the input, not the code timed
        if kinds[i, 0] < 0.05:
            texts.append("" if kinds[i, 1] < 0.5 else np.nan)
            continue
        pos = {"at": "position", "lat": float(lat[i]), "lon": float(lon[i])}
        obj = {REGIONS[int(kinds[i, 1] * 6)]: pos if kinds[i, 2] < 0.8 else [
            pos, {"at": "reappeared", "lat": float(lat[i]) + 0.1, "lon": float(lon[i])}]}
        if kinds[i, 3] < 0.6:
            obj["residence" if kinds[i, 3] < 0.3 else "visit"] = {
                "vessel": int(mmsi[i]), "stopped_h_before": float(hours[i]),
                "stayed_h_after": 0.0}
        if kinds[i, 4] < 0.3:
            obj["dprk"] = {"vessel": int(other[i]), "rule": "mid", "mid": 445}
        if kinds[i, 5] < 0.15:
            obj["watchlist"] = {"vessel": int(other[i]), "field": "name",
                                "value": "\uc9c0\uc131 " + str(i % 97), "list": "un_1718"}
        if kinds[i, 6] < 0.2:
            obj["barge"] = [{"vessel": int(v), "rules": ["name", "length<=60m"]}
                            for v in (mmsi[i], other[i])]
        if kinds[i, 7] < 0.25:
            obj["dark_before"] = {"vessel": int(mmsi[i]), "dark_event_id": f"dk-{i}",
                                  "start": "2024-03-01T00:00:00Z",
                                  "end": "2024-03-01T06:00:00Z", "hours_apart": 3.5}
        texts.append(json.dumps(dict(sorted(obj.items())), ensure_ascii=False))
    return pd.DataFrame({"event_id": [f"ev-{i}" for i in range(n_events)],
                         "evidence": pd.Series(texts, dtype=object)})


def _time(call, repeat: int) -> list[float]:
    call()  # warm-up
    out = []
    for _ in range(repeat):
        gc.collect()
        t = time.perf_counter()
        call()
        out.append(time.perf_counter() - t)
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--events", type=int, default=200_000)
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()
    events = synthetic_evidence(args.events, args.seed)
    result = {"events": args.events, "rows": len(flags._evidence_long(events))}
    for name, call in (("long", lambda: flags._evidence_long(events)),
                       ("table", lambda: flags.evidence_table(events))):
        times = _time(call, args.repeat)
        result[f"{name}_min_s"] = round(min(times), 4)
        result[f"{name}_median_s"] = round(statistics.median(times), 4)
    print(json.dumps(result))


if __name__ == "__main__":
    main()
