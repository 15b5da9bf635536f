"""Check a watch-list against an AIS dump: which listed vessels were heard, and what they did.

The watch-list is a CSV in the layout of the UN Security Council 1718 Committee's designated
vessels list (``vessel_name, imo_number, mmsi, call_sign ...``) or a simple ``name, imo,
mmsi, callsign`` table; see :func:`stsdetect.identity.load_watchlist`. Vessels match on IMO
number or MMSI exactly, or on name or call sign after normalisation; the script prints why each
one matched, when it was heard, and every event it took part in.

Usage::

    python examples/check_watchlist.py [DUMP] [WATCHLIST]

as the README shows it: the second argument is the watch-list (``--watchlist FILE`` works
too). DUMP may be a glob for several files. Without DUMP it runs on the bundled demo
scenario; the default watch-list is ``examples/watchlist_example.csv`` (made-up entries, two
of which the demo's vessels use).
"""

from __future__ import annotations

import argparse
from pathlib import Path

import pandas as pd

from stsdetect.identity import match_watchlist
from stsdetect.pipeline import detect
from stsdetect.simulate import demo_path

DEFAULT_WATCHLIST = Path(__file__).resolve().with_name("watchlist_example.csv")


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("dump", nargs="?",
                        help="AIS dump, or a glob of several; default: the bundled demo")
    parser.add_argument("list", nargs="?", type=Path, metavar="WATCHLIST",
                        help=f"watch-list CSV (default {DEFAULT_WATCHLIST.name})")
    parser.add_argument("--watchlist", type=Path, help="the watch-list, as an option")
    args = parser.parse_args(argv)
    if args.list is not None and args.watchlist is not None:
        parser.error("give the watch-list once: as the second argument or as --watchlist")
    args.watchlist = args.list or args.watchlist or DEFAULT_WATCHLIST
    source = args.dump or str(demo_path())

    result = detect(source, watchlist=args.watchlist)
    positions, vessels, events = result.positions, result.vessels, result.events

    # Heard vessels against the list: static identities (IMO, name, call sign) and every MMSI
    # heard, including vessels that never sent static data.
    matches = match_watchlist(vessels, args.watchlist, mmsi=positions["mmsi"].unique())
    hits = matches[matches["matched"]]
    print(f"{len(hits)} of {len(matches)} vessels heard match {args.watchlist.name}")
    if hits.empty:
        return 0
    heard = positions.groupby("mmsi").agg(first_heard=("time", "min"), last_heard=("time", "max"),
                                          reports=("time", "size"))
    names = (vessels.drop_duplicates("mmsi").set_index("mmsi")["name"]
             if vessels is not None and len(vessels) else pd.Series(dtype=object))
    table = hits.set_index("mmsi").join(heard).assign(name=lambda t: t.index.map(names))
    table = table.reset_index()[["mmsi", "name", "reports", "first_heard", "last_heard",
                                 "reason"]]
    for col in ("first_heard", "last_heard"):
        table[col] = table[col].dt.strftime("%Y-%m-%d %H:%M")
    with pd.option_context("display.width", 250, "display.max_colwidth", 90):
        print(table.to_string(index=False))

    # Their events: the pipeline flagged every event involving a listed vessel "watchlist".
    flagged = events[events["flags"].explode().eq("watchlist").groupby(level=0).any()
                     .reindex(events.index, fill_value=False)]
    print(f"\n{len(flagged)} event(s) involving listed vessels:")
    if len(flagged):
        out = flagged[["event_type", "mmsi", "other_mmsi", "start", "duration_h", "lat", "lon",
                       "score"]].copy()
        out["start"] = out["start"].dt.strftime("%Y-%m-%d %H:%M")
        out["other_mmsi"] = out["other_mmsi"].astype("string").fillna("")
        out["flags"] = flagged["flags"].str.join(",")
        with pd.option_context("display.width", 250, "display.max_colwidth", 90):
            print(out.sort_values("score", ascending=False).to_string(
                index=False, float_format=lambda v: f"{v:.1f}", na_rep=""))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
