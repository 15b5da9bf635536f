"""List the dark periods of DPRK-flagged vessels in an AIS dump, and where they ended.

A dark period is a gap of at least 6 h in a vessel's reports (the library's default,
``--min-gap`` to change it). For each DPRK vessel (MMSI MID 445) the script prints when it went
silent and where, when and where it was heard again, in which named regions that was, how far
it moved meanwhile, whether other vessels were heard nearby during the silence (so the gap is
likely intentional rather than lack of coverage), and the first rendezvous after it reappeared.

Usage::

    python examples/dprk_dark_periods.py [DUMP ...] [--min-gap 6h]

Without DUMP it runs on the bundled demo scenario.
"""

from __future__ import annotations

import argparse

import numpy as np
import pandas as pd

from stsdetect.identity import is_dprk
from stsdetect.pipeline import detect
from stsdetect.regions import regions_at
from stsdetect.simulate import demo_path


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("dumps", nargs="*", help="AIS dump(s); default: the bundled demo")
    parser.add_argument("--min-gap", default="6h", help="shortest silence, e.g. 6h, 90min, 1d")
    args = parser.parse_args(argv)
    source = args.dumps or str(demo_path())

    result = detect(source, only=["dark_period", "rendezvous"], min_gap=args.min_gap)
    events = result.events
    dark = events[(events["event_type"] == "dark_period") & is_dprk(events["mmsi"])]
    dark = dark.sort_values(["mmsi", "start"]).reset_index(drop=True)
    print(f"{len(dark)} dark period(s) of DPRK vessels (MID 445), silent for at least "
          f"{args.min_gap}")
    if dark.empty:
        return 0

    # Where each gap ended: the regions around the point where the vessel was heard again.
    ended_in = pd.Series(regions_at(dark["end_lat"], dark["end_lon"]), index=dark.index,
                         dtype=object).str.join(",").replace("", "-")

    # The first rendezvous of the same vessel starting after it reappeared: an as-of join
    # (vectorized), with the vessel on either side of the pair.
    rv = events[events["event_type"] == "rendezvous"]
    sides = pd.concat([
        pd.DataFrame({"mmsi": rv["mmsi"], "partner": rv["other_mmsi"], "rv_start": rv["start"]}),
        pd.DataFrame({"mmsi": rv["other_mmsi"].astype("int64"), "partner": rv["mmsi"],
                      "rv_start": rv["start"]}),
    ]).sort_values("rv_start")
    nxt = pd.merge_asof(dark[["end", "mmsi"]].reset_index().sort_values("end"), sides,
                        left_on="end", right_on="rv_start", by="mmsi", direction="forward",
                        tolerance=pd.Timedelta("2D")).set_index("index").sort_index()

    names = (result.vessels.drop_duplicates("mmsi").set_index("mmsi")["name"]
             if result.vessels is not None and len(result.vessels) else pd.Series(dtype=object))
    table = pd.DataFrame({
        "mmsi": dark["mmsi"],
        "name": dark["mmsi"].map(names).fillna(""),
        "dark from (UTC)": dark["start"].dt.strftime("%Y-%m-%d %H:%M"),
        "hours": dark["duration_h"].round(1),
        "vanished at": dark["lat"].round(3).astype(str) + "N " + dark["lon"].round(3).astype(str)
        + "E",
        "reappeared at": dark["end_lat"].round(3).astype(str) + "N "
        + dark["end_lon"].round(3).astype(str) + "E",
        "reappeared in": ended_in,
        "moved km": (dark["distance_m"] / 1000).round(1),
        "others heard": dark["n_other_heard"],
        "intentional?": dark["likely_intentional"],
        "next rendezvous with": nxt["partner"].astype("Int64").astype("string").fillna("-"),
        "hours after": np.round((nxt["rv_start"] - dark["end"]).dt.total_seconds() / 3600, 1),
    })
    with pd.option_context("display.width", 250):
        print(table.to_string(index=False, na_rep="-"))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
