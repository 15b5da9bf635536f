"""Dark-period precision and recall against the simulator's truth, shore vs satellite reception.

Run ``python benchmarks/eval_dark_coverage.py [--seeds 3]``. For each seed, a three-day scenario
(:func:`stsdetect.simulate.simulate`, 20 transits, reports every 60 s) is seen three ways: by
shore stations (the scenario as it is), by a satellite alone
(:func:`stsdetect.simulate.satellite_view`: passes every 1-12 h, 40-90 % of vessels decoded per
pass) and by the satellite plus one shore station of 74 km range at the Yangtze mouth. Each view
is run with the learned reception coverage (``coverage=True``, the default) and without it (the
heard count alone). A dark period called ``likely_intentional`` is true when it overlaps an
injected silence of the same vessel. Prints the counts per view and the precision and recall of
``likely_intentional``, and the dark rendezvous found. ``--window 6h`` runs the windowed
(out-of-core) driver instead, with the coverage carried across windows.
"""

from __future__ import annotations

import argparse

import numpy as np
import pandas as pd

from stsdetect import pipeline
from stsdetect.simulate import satellite_view, simulate


def score(events: pd.DataFrame, truth: pd.DataFrame) -> dict:
    """Counts of dark periods, intentional ones, true ones and truth found."""
    dark = events[events["event_type"] == "dark_period"]
    inten = dark[dark["likely_intentional"].fillna(False).astype(bool)]
    tr = truth[truth["event_type"] == "dark_period"]

    def hits(rows):
        hit = np.zeros(len(rows), bool)
        found = np.zeros(len(tr), bool)
        for i, (m, s, e) in enumerate(zip(rows["mmsi"], rows["start"], rows["end"],
                                          strict=True)):  # a few dozen rows
            ok = ((tr["mmsi"] == m) & (tr["start"] < e) & (tr["end"] > s)).to_numpy()
            hit[i] = ok.any()
            found |= ok
        return int(hit.sum()), int(found.sum())

    true_int, found_int = hits(inten)
    _, found_any = hits(dark)
    return {"dark": len(dark), "intentional": len(inten), "true": true_int,
            "truth": len(tr), "truth_intentional": found_int, "truth_found": found_any,
            "dark_rendezvous": int((events["event_type"] == "dark_rendezvous").sum())}


def _detect(positions, coverage: bool, window):
    """detect() in memory, or the windowed driver with ``window`` (the same events)."""
    if window is None:
        return pipeline.detect(positions, coverage=coverage).events
    import tempfile

    from stsdetect.scale import detect_windowed

    with tempfile.TemporaryDirectory() as tmp:
        return detect_windowed([positions], window=window, workdir=f"{tmp}/w",
                               coverage=coverage).events


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--seeds", type=int, default=3)
    ap.add_argument("--window", default=None,
                    help="run the windowed (out-of-core) driver with windows of this length, "
                         "e.g. 6h, instead of one in-memory run")
    args = ap.parse_args()
    rows = []
    for seed in range(args.seeds):
        sc = simulate(seed=seed, duration="3d", min_interval_s=60, n_background=20)
        views = {"shore": sc, "satellite": satellite_view(sc, seed=seed),
                 "satellite+shore": satellite_view(sc, seed=seed,
                                                   shore=[(30.6, 121.9, 74_000.0)])}
        for name, view in views.items():
            for coverage in (True, False):
                ev = _detect(view.positions, coverage, args.window)
                rows.append({"seed": seed, "view": name, "coverage": coverage,
                             **score(ev, sc.truth)})
    table = pd.DataFrame(rows).groupby(["view", "coverage"]).sum().drop(columns="seed")
    table["precision"] = (table["true"] / table["intentional"]).round(3)
    table["recall"] = (table["truth_intentional"] / table["truth"]).round(3)
    print(table.to_string())


if __name__ == "__main__":
    main()
