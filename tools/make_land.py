"""Regenerate the land layers the maps draw, from Natural Earth, byte for byte.

Writes two files into ``src/stsdetect/data``:

``land_east_asia.geojson``
    Natural Earth 1:10m land plus 1:10m minor islands (public domain,
    https://www.naturalearthdata.com/), as clipped to lon 105-135 E, lat 15-45 N in
    ``../shared/data/naturalearth`` (see its SOURCES.md): the Yellow Sea, Korea Bay and both
    Korean coasts, the East and South China Seas and Japan. Simplified with Douglas-Peucker
    at :data:`EAST_ASIA_TOLERANCE_DEG` (topology preserved, so islands stay closed rings) and
    rounded to :data:`EAST_ASIA_DECIMALS` places; islands smaller than
    :data:`MIN_ISLAND_AREA_DEG2` are dropped.
``land_world.geojson``
    Natural Earth 1:110m land (whole world), simplified at :data:`WORLD_TOLERANCE_DEG`, with
    the East Asia box cut out (the finer layer covers it), for events anywhere else.

The maps draw both layers, each clipped to the view. Usage::

    python tools/make_land.py [NATURALEARTH_DIR] [OUT_DIR]
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

import numpy as np
import shapely

REPO = Path(__file__).resolve().parents[1]
SOURCE_DIR = REPO.parent / "shared" / "data" / "naturalearth"
OUT_DIR = REPO / "src" / "stsdetect" / "data"
#: The box the fine layer covers (lon min, lat min, lon max, lat max): the clip of the source.
EAST_ASIA_BOX = (105.0, 15.0, 135.0, 45.0)
#: 0.005 degrees is about 500 m: a few pixels on a map 1 degree wide at 110 dpi
#: (880 pixels, 1 pixel = 0.0011 degrees), and inside
#: the 1:10m source's own accuracy (about 1 km).
EAST_ASIA_TOLERANCE_DEG = 0.005
#: 3 decimal places of a degree is about 110 m, below the simplification tolerance.
EAST_ASIA_DECIMALS = 3
#: Islands under about 1 km^2 (1e-4 square degrees near 30 N is about 1.06 km^2) are dropped:
#: they are dots at any scale the maps draw, and the 1:10m source places them only roughly.
MIN_ISLAND_AREA_DEG2 = 1e-4
#: 0.05 degrees (about 5 km) for the 1:110m world layer, whose own accuracy is 10-20 km.
WORLD_TOLERANCE_DEG = 0.05
WORLD_DECIMALS = 2


def _polygons(path: Path) -> np.ndarray:
    data = json.loads(path.read_text())
    geoms = shapely.from_geojson([json.dumps(f["geometry"]) for f in data["features"]])
    parts = shapely.get_parts(geoms)
    return parts[shapely.get_type_id(parts) == 3]  # Polygon


def _simplified(polys: np.ndarray, tolerance: float, decimals: int) -> np.ndarray:
    simple = shapely.simplify(polys, tolerance, preserve_topology=True)
    simple = shapely.set_precision(simple, 10.0**-decimals)
    parts = shapely.get_parts(simple)
    parts = parts[(shapely.get_type_id(parts) == 3) & ~shapely.is_empty(parts)]
    return parts[shapely.area(parts) > 0]


def _collection(polys: np.ndarray, name: str, source: str, decimals: int) -> dict:
    features = []
    # Sorted by the first vertex so the output does not depend on the order of the source.
    first = shapely.get_coordinates(shapely.get_exterior_ring(polys))
    index = shapely.get_coordinates(shapely.get_exterior_ring(polys), return_index=True)[1]
    starts = np.r_[0, np.flatnonzero(np.diff(index)) + 1]
    order = np.lexsort((first[starts, 1], first[starts, 0]))
    rings = []
    for poly in polys[order]:  # a few thousand polygons, once, offline
        ring = [np.round(shapely.get_coordinates(shapely.get_exterior_ring(poly)),
                         decimals).tolist()]
        ring += [np.round(shapely.get_coordinates(r), decimals).tolist()
                 for r in shapely.get_interior_ring(poly, np.arange(
                     shapely.get_num_interior_rings(poly)))]
        rings.append(ring)
    features.append({"type": "Feature", "properties": {},
                     "geometry": {"type": "MultiPolygon", "coordinates": rings}})
    return {"type": "FeatureCollection", "name": name, "source": source, "features": features}


def build(source_dir: Path) -> dict[str, dict]:
    """Both layers as GeoJSON FeatureCollection dicts, keyed by output file name."""
    land = _polygons(source_dir / "ne_10m_land_east_asia_clip.geojson")
    islands = _polygons(source_dir / "ne_10m_minor_islands_east_asia_clip.geojson")
    islands = islands[shapely.area(islands) >= MIN_ISLAND_AREA_DEG2]
    east = _simplified(np.concatenate([land, islands]), EAST_ASIA_TOLERANCE_DEG,
                       EAST_ASIA_DECIMALS)
    world = _polygons(source_dir / "ne_110m_land.geojson")
    world = shapely.difference(world, shapely.box(*EAST_ASIA_BOX))
    world = _simplified(world, WORLD_TOLERANCE_DEG, WORLD_DECIMALS)
    return {
        "land_east_asia.geojson": _collection(
            east, "land_east_asia",
            "Natural Earth 1:10m land + minor islands (public domain), clipped to "
            f"{EAST_ASIA_BOX}, simplified {EAST_ASIA_TOLERANCE_DEG} deg, islands >= "
            f"{MIN_ISLAND_AREA_DEG2} deg2, by tools/make_land.py", EAST_ASIA_DECIMALS),
        "land_world.geojson": _collection(
            world, "land_world",
            "Natural Earth 1:110m land (public domain) without the box "
            f"{EAST_ASIA_BOX}, simplified {WORLD_TOLERANCE_DEG} deg, by tools/make_land.py",
            WORLD_DECIMALS),
    }


def main(argv: list[str] | None = None) -> None:
    argv = sys.argv[1:] if argv is None else argv
    source_dir = Path(argv[0]) if argv else SOURCE_DIR
    out_dir = Path(argv[1]) if len(argv) > 1 else OUT_DIR
    out_dir.mkdir(parents=True, exist_ok=True)
    for name, collection in build(source_dir).items():
        text = json.dumps(collection, separators=(",", ":")) + "\n"
        (out_dir / name).write_text(text, encoding="utf-8")
        print(f"wrote {out_dir / name} ({len(text) / 1e3:.0f} kB)")


if __name__ == "__main__":
    main()
