"""Imagery matching against the simulator's truth: precision, recall, dark vessels, partners.

Run ``python benchmarks/eval_imagery.py [--seeds 5]``. For each seed a two-day scenario
(:func:`stsdetect.simulate.simulate`) is imaged (:func:`stsdetect.simulate.imagery_detections`:
one image in the middle of each injected transfer and 6 spread over the span, 90 % of vessels
detected, 50 m position error, a hull without AIS 100-300 m from each transfer's DPRK vessel, 5
lone hulls without AIS) and run through :func:`stsdetect.detect` with the detections. Prints
per seed and overall: matching precision (matches to the right MMSI / matches) and recall
(imaged AIS vessels matched to themselves / imaged AIS vessels), the share of ``dark_vessel``
events that are hulls without AIS or ships silent at the image time, the share of hulls
without AIS that became ``dark_vessel`` events, and the transfers marked ``unseen_partner``.
"""

from __future__ import annotations

import argparse

import pandas as pd

from stsdetect import pipeline
from stsdetect.simulate import imagery_detections, simulate


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--seeds", type=int, default=5)
    args = ap.parse_args()
    rows = []
    for seed in range(1, args.seeds + 1):
        sc = imagery_detections(simulate(seed=seed), seed=seed, n_scenes=6)
        res = pipeline.detect(sc.positions, detections=sc.detections)
        m = res.detections
        right = (m["mmsi"] == m["truth_mmsi"]).fillna(False).to_numpy(bool)
        ais = (m["truth_kind"] == "ais").to_numpy()
        no_ais = m["truth_kind"].isin(["dark", "unseen_partner"]).to_numpy()
        silent = (m["truth_kind"] == "ais_silent").to_numpy()
        unmatched = ~m["matched"].to_numpy(bool)
        ev = res.events
        rv = ev[ev["event_type"] == "rendezvous"]
        marked = rv[rv["flags"].map(lambda f: "unseen_partner" in f)]
        transfers = sc.truth[sc.truth["kind"] == "transfer"]
        pairs = set(zip(transfers["mmsi"], transfers["other_mmsi"], strict=True))
        rows.append({
            "seed": seed, "detections": len(m), "ais": int(ais.sum()),
            "matched": int(m["matched"].sum()), "right": int(right.sum()),
            "right_ais": int((right & ais).sum()), "dark_vessel": int(unmatched.sum()),
            "dark_vessel_true": int((unmatched & (no_ais | silent)).sum()),
            "no_ais": int(no_ais.sum()), "no_ais_found": int((unmatched & no_ais).sum()),
            "transfers": len(transfers),
            "marked": len(marked),
            "marked_true": len(set(zip(marked["mmsi"], marked["other_mmsi"], strict=True))
                               & pairs)})
    df = pd.DataFrame(rows)
    print(df.to_string(index=False))
    s = df.sum()
    print(f"matching precision {s['right'] / s['matched']:.3f}, recall "
          f"{s['right_ais'] / s['ais']:.3f}; dark_vessel precision "
          f"{s['dark_vessel_true'] / s['dark_vessel']:.3f}, hulls without AIS found "
          f"{s['no_ais_found'] / s['no_ais']:.3f}; transfers marked unseen_partner "
          f"{s['marked_true']}/{s['transfers']} ({s['marked'] - s['marked_true']} others)")


if __name__ == "__main__":
    main()
