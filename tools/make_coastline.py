"""Regenerate ``src/stsdetect/data/coastline_china_east.geojson`` from Natural Earth.

Source: Natural Earth 1:10m coastline (public domain, https://www.naturalearthdata.com/),
clipped to lon 118.5-125.0, lat 27.0-33.5 in ``../shared/data/naturalearth`` (see its
SOURCES.md). The lines are simplified with Douglas-Peucker (shapely, topology not preserved
across features, which is fine for a drawn outline) at ``TOLERANCE_DEG`` and coordinates rounded
to ``DECIMALS`` places, so the file stays small (well under 200 KB) and the output is
byte-for-byte reproducible.

Usage::

    python tools/make_coastline.py [SOURCE.geojson] [OUT.geojson]
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

import numpy as np
import shapely

REPO = Path(__file__).resolve().parents[1]
SOURCE = (REPO.parent / "shared" / "data" / "naturalearth"
          / "ne_10m_coastline_china_east_clip.geojson")
OUT = REPO / "src" / "stsdetect" / "data" / "coastline_china_east.geojson"
#: Simplification tolerance: 0.002 degrees is about 200 m, below the line width of a map of
#: the area at any useful zoom and far below the 1:10m source's own accuracy.
TOLERANCE_DEG = 0.002
#: 4 decimal places of a degree is about 11 m.
DECIMALS = 4


def build(source: Path) -> dict:
    """The simplified coastline as a GeoJSON FeatureCollection dict."""
    data = json.loads(source.read_text())
    geoms = shapely.from_geojson([json.dumps(f["geometry"]) for f in data["features"]])
    simple = shapely.simplify(geoms, TOLERANCE_DEG, preserve_topology=False)
    simple = shapely.set_precision(simple, 10.0**-DECIMALS)
    keep = ~shapely.is_empty(simple)
    features = []
    for geom in simple[keep]:
        coords = np.round(shapely.get_coordinates(geom), DECIMALS)
        if len(coords) < 2:
            continue
        features.append({
            "type": "Feature",
            "properties": {},
            "geometry": {"type": "LineString", "coordinates": coords.tolist()},
        })
    return {
        "type": "FeatureCollection",
        "name": "coastline_china_east",
        "source": "Natural Earth 1:10m coastline (public domain), simplified "
                  f"{TOLERANCE_DEG} deg, by tools/make_coastline.py",
        "features": features,
    }


def main(argv: list[str]) -> int:
    source = Path(argv[1]) if len(argv) > 1 else SOURCE
    out = Path(argv[2]) if len(argv) > 2 else OUT
    if not source.is_file():
        print(f"Natural Earth source not found: {source}", file=sys.stderr)
        return 2
    collection = build(source)
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(collection, separators=(",", ":")) + "\n")
    print(f"wrote {out}: {len(collection['features'])} lines, {out.stat().st_size} bytes")
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv))
