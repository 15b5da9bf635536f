"""Draw docs/images/anchorage.png: a crowded simulated anchorage, its learned outline, and a
transfer held 5 km off it.

Run from the repository root: ``python tools/make_anchorage_figure.py`` (needs the [plot]
extra). The scenario is ``simulate(seed=1, duration="2d", n_crowded_anchorages=3,
anchorage_size=40, n_berth=12, draught_changes=True, min_interval_s=180)``.
"""

from __future__ import annotations

from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt
import numpy as np

from stsdetect.events import rank_events
from stsdetect.pipeline import detect
from stsdetect.simulate import simulate

OUT = Path(__file__).resolve().parents[1] / "docs" / "images" / "anchorage.png"


def main() -> Path:
    sc = simulate(seed=1, duration="2d", n_crowded_anchorages=3, anchorage_size=40,
                  n_berth=12, draught_changes=True, min_interval_s=180, n_background=8)
    result = detect(sc.lines())
    areas = result.anchorages
    transfer = sc.truth[sc.truth["kind"] == "transfer"].iloc[0]
    # the anchorage nearest the first transfer
    d = np.hypot(areas["lat"] - transfer["lat"], areas["lon"] - transfer["lon"])
    area = areas.iloc[int(np.argmin(d))]
    pos = sc.positions
    role = sc.vessels.set_index("mmsi")["role"]
    box = (area["lon"] - 0.06, area["lon"] + 0.06, transfer["lat"] - 0.02, area["lat"] + 0.03)
    inside = pos["lon"].between(box[0], box[1]) & pos["lat"].between(box[2], box[3])
    pos = pos[inside]
    fig, ax = plt.subplots(figsize=(7.0, 6.4), dpi=130)
    r = pos["mmsi"].map(role)
    anchored = pos[(r == "anchorage") & (pos["sog_kn"] < 1)]
    ax.scatter(anchored["lon"], anchored["lat"], s=2, c="#4a78b5", alpha=0.35,
               label="ships at anchor (reports)")
    moving = pos[(r == "anchorage") & (pos["sog_kn"] >= 1)]
    ax.scatter(moving["lon"], moving["lat"], s=1, c="#9bb7d9", alpha=0.3,
               label="ships arriving / leaving")
    for geom in getattr(area.geometry, "geoms", [area.geometry]):  # the outline's parts
        x, y = geom.exterior.xy
        ax.plot(x, y, color="#c0392b", lw=1.6)
    ax.plot([], [], color="#c0392b", lw=1.6,
            label=f"learned outline {area['anchorage_id']} ({area['n_vessels']} vessels)")
    pair = sc.positions[sc.positions["mmsi"].isin([transfer["mmsi"], transfer["other_mmsi"]])]
    pair = pair[(pair["time"] >= transfer["start"]) & (pair["time"] <= transfer["end"])]
    ax.scatter(pair["lon"], pair["lat"], s=6, c="#e67e22", label="transfer (DPRK ship, barge)")
    ev = rank_events(result.events)
    rank = int(np.flatnonzero((ev["mmsi"] == transfer["mmsi"])
                              & (ev["event_type"] == "rendezvous"))[0]) + 1
    row = ev[(ev["mmsi"] == transfer["mmsi"]) & (ev["event_type"] == "rendezvous")].iloc[0]
    ax.annotate(f"transfer: {row['anchorage_distance_m'] / 1000:.1f} km from the outline,\n"
                f"crowd {row['crowd_n']}, ranked #{rank} of {len(ev)} events\n"
                f"flags: {', '.join(row['flags'][:4])},\n"
                f"       {', '.join(row['flags'][4:])}",
                (row["lon"], row["lat"]), xytext=(0.03, 0.06), textcoords="axes fraction",
                fontsize=7.5, arrowprops={"arrowstyle": "->", "color": "#555"},
                bbox={"boxstyle": "round", "fc": "white", "ec": "#bbb"})
    ax.set_xlim(box[0], box[1])
    ax.set_ylim(box[2], box[3])
    ax.set_aspect(1.0 / np.cos(np.radians(area["lat"])))
    ax.set_xlabel("longitude (deg E)")
    ax.set_ylabel("latitude (deg N)")
    ax.set_title("A learned anchorage (simulated, Hangzhou Bay) and a transfer "
                 f"{row['anchorage_distance_m'] / 1000:.1f} km off its outline", fontsize=9)
    ax.legend(loc="lower right", bbox_to_anchor=(1.0, 0.22), fontsize=7, markerscale=3,
              framealpha=0.9)
    fig.tight_layout()
    OUT.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(OUT)
    return OUT


if __name__ == "__main__":
    print(main())
