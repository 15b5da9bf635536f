"""Watch-list matching: speed at scale, and the false-match rate on real ship names.

Run ``python benchmarks/bench_watchlist.py [--vessels 100_000] [--entries 500] [--repeat 5]
[--data ../shared/data]``.

Speed: ``--vessels`` synthetic vessels (real ship names from the dumps, varied, plus random
names, IMO numbers and call signs) matched against a list of ``--entries`` entries in the
layout of the UN 1718 list (Korean-style names, IMO numbers, MMSIs, call signs), exact and
near (:func:`stsdetect.identity.watchlist.watchlist_hits`). Best of ``--repeat`` wall times;
run it on a quiet machine, or several times, since the figure is noisy on a shared one.

False matches: every vessel decoded from every dump under ``--data`` (the real public AIS
samples, ``read_ais`` on each file) is matched against

1. ``dprk-style``: the ``--entries`` synthetic Korean-style entries (none is a real ship in the
   dumps, so every near match is false);
2. ``leave-one-out``: ``--entries`` real vessels of the dumps used as the list; a near match of
   a vessel to an entry other than itself (another MMSI, another name) is false. This is the
   harsh case: the list shares the alphabet, fleets and naming habits of the traffic.

The rate is the share of real vessels with at least one false near match, per rule.
"""

from __future__ import annotations

import argparse
import sys
import time
import warnings
from pathlib import Path

import numpy as np
import pandas as pd

sys.path.insert(0, str(Path(__file__).resolve().parent))

from stsdetect.identity.watchlist import load_watchlist, watchlist_hits

SYLLABLES = ["CHON", "MA", "SAN", "KUM", "UN", "SONG", "RIM", "PAEK", "DU", "JI", "YU", "JONG",
             "NAM", "HWA", "RYONG", "GANG", "CHOL", "AN", "BU", "KWANG", "MYONG", "SAM", "RA",
             "SON", "HYANG", "TAE", "DONG", "HUI", "CHANG", "O", "RYE", "SUNG", "PYONG", "GYONG"]


def _imo(six: np.ndarray) -> np.ndarray:
    d = (six[:, None] // 10 ** np.arange(5, -1, -1)) % 10
    return six * 10 + (d * np.arange(7, 1, -1)).sum(axis=1) % 10


def dprk_style_list(n: int, seed: int = 1) -> pd.DataFrame:
    """``n`` made-up entries: two or three Korean syllables and a number, IMO, MMSI, call sign."""
    rng = np.random.default_rng(seed)
    words = np.asarray(SYLLABLES, dtype=object)
    k = rng.integers(2, 4, n)
    parts = [words[rng.integers(0, words.size, n)] for _ in range(3)]
    name = parts[0] + " " + parts[1]
    name = np.where(k == 3, name + " " + parts[2], name)
    name = np.where(rng.random(n) < 0.6, name + " " + rng.integers(1, 30, n).astype(str), name)
    return pd.DataFrame({
        "vessel_name": name, "imo_number": _imo(rng.integers(100_000, 999_999, n)).astype(str),
        "mmsi": (445_000_000 + rng.integers(0, 999_999, n)).astype(str),
        "call_sign": np.char.add("HM", rng.integers(1000, 9999, n).astype(str)),
        "flag": "Korea (Democratic People's Republic of)",
    })


def real_vessels(data: Path) -> pd.DataFrame:
    """Every vessel (MMSI, name, IMO, call sign) of every dump under ``data``."""
    import stsdetect

    parts = []
    for path in sorted(p for p in data.rglob("*") if p.is_file()):  # per file
        if path.suffix in (".md", ".geojson"):
            continue
        try:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                v = stsdetect.read_ais(path).vessels
        except Exception:
            continue
        if len(v):
            parts.append(v[[c for c in ("mmsi", "name", "imo", "callsign") if c in v]])
    frame = pd.concat(parts, ignore_index=True)
    frame = frame[frame["name"].notna() & (frame["name"].astype(str).str.strip() != "")]
    return frame.drop_duplicates(["mmsi", "name"]).reset_index(drop=True)


def synthetic_vessels(n: int, real: pd.DataFrame, seed: int = 0) -> pd.DataFrame:
    """``n`` vessels: real names with a suffix, random MMSIs, IMO numbers and call signs."""
    rng = np.random.default_rng(seed)
    base = real["name"].astype(str).to_numpy(dtype=object)
    name = base[rng.integers(0, base.size, n)] + " " + rng.integers(1, 500, n).astype(str)
    return pd.DataFrame({
        "mmsi": 200_000_000 + rng.choice(500_000_000, n, replace=False),
        "imo": pd.array(_imo(rng.integers(100_000, 999_999, n)), dtype="Int64"),
        "name": name,
        "callsign": np.char.add("V", rng.integers(10_000, 99_999, n).astype(str)),
    })


def false_rate(real: pd.DataFrame, listed: pd.DataFrame, own=None) -> tuple[int, dict]:
    """Vessels with a false near match, overall and per rule."""
    hits = watchlist_hits(real, load_watchlist(listed))
    near = hits[hits["rule"] != "exact"]
    if own is not None:  # leave-one-out: a vessel near its own entry is not false
        own_entry = own.reindex(near["mmsi"]).to_numpy()
        near = near[own_entry != near["entry"].to_numpy()]
    per_rule = near.groupby("rule")["mmsi"].nunique().to_dict()
    return near["mmsi"].nunique(), per_rule, near


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--vessels", type=int, default=100_000)
    parser.add_argument("--entries", type=int, default=500)
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument("--data", type=Path,
                        default=Path(__file__).resolve().parents[2] / "shared" / "data")
    parser.add_argument("--show", type=int, default=15, help="false matches printed")
    args = parser.parse_args(argv)

    real = real_vessels(args.data)
    print(f"real vessels with a name in {args.data}: {len(real):,} "
          f"({real['name'].nunique():,} distinct names, "
          f"{pd.to_numeric(real['imo'], errors='coerce').gt(0).sum():,} with an IMO)")

    listed = dprk_style_list(args.entries)
    n_false, per_rule, near = false_rate(real, listed)
    print(f"dprk-style list of {args.entries}: {n_false} of {len(real):,} real vessels "
          f"near-matched ({100 * n_false / len(real):.2f} %), per rule {per_rule}")
    if args.show:
        print(near[["mmsi", "broadcast", "listed", "rule"]].head(args.show).to_string(
            index=False))

    rng = np.random.default_rng(2)
    pick = rng.choice(len(real), min(args.entries, len(real)), replace=False)
    mine = real.iloc[pick].reset_index(drop=True)
    own = pd.Series(np.arange(len(mine)), index=mine["mmsi"].to_numpy())
    own = own[~own.index.duplicated()]
    n_false, per_rule, near = false_rate(real, mine.rename(columns={
        "name": "vessel_name", "imo": "imo_number", "callsign": "call_sign"}).astype(str),
        own=own)
    print(f"leave-one-out list of {len(mine)} real vessels: {n_false} of {len(real):,} "
          f"real vessels near-matched another ({100 * n_false / len(real):.2f} %), "
          f"per rule {per_rule}")
    if args.show:
        print(near[["mmsi", "broadcast", "listed", "rule"]].head(args.show).to_string(
            index=False))

    vessels = synthetic_vessels(args.vessels, real)
    wl = load_watchlist(listed)
    times = []
    for _ in range(args.repeat):  # best of N: a shared machine is noisy
        t = time.perf_counter()
        hits = watchlist_hits(vessels, wl)
        times.append(time.perf_counter() - t)
    print(f"watchlist_hits: {len(vessels):,} vessels x {args.entries} entries "
          f"({len(wl):,} identifiers): best {min(times):.2f} s, median "
          f"{np.median(times):.2f} s of {args.repeat}; {len(hits):,} hits")


if __name__ == "__main__":
    main()
