"""Draw the built-in regions and write ``src/stsdetect/data/regions.geojson``.

Run from the repository root, with ``../shared/data`` checked out beside it::

    python tools/make_regions.py [--shared ../shared/data] \
        [--out src/stsdetect/data/regions.geojson]

Only this script reads the shared data; the package ships the GeoJSON it writes. Every region
carries a ``description`` property saying how it was drawn; the same text is in
:data:`stsdetect.regions.REGION_SOURCES`. All regions are approximate working areas for
flagging events, not legal boundaries.

Sources
-------
- Natural Earth 1:10M "marine polygons" (public domain), clipped copy in
  ``../shared/data/naturalearth/ne_10m_marine_polys_china_east_clip.geojson`` (see SOURCES.md).
- Base points 9-15 of the Declaration of the Government of the People's Republic of China on
  the Baselines of the Territorial Sea (15 May 1996), as listed in ``../shared/data/SOURCES.md``.
- Headland and river-mouth coordinates written out below (read off published charts / the
  GeoNames gazetteer to about 0.05 degrees).
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

import geopandas as gpd
import numpy as np
import shapely
from pyproj import CRS, Transformer
from shapely.geometry import LineString, Polygon, box, mapping

NM_M = 1852.0
TERRITORIAL_SEA_M = 12 * NM_M  # UNCLOS art. 3; China's Law on the Territorial Sea (1992) art. 3

#: Area of interest for china_territorial_sea (lon_min, lat_min, lon_max, lat_max).
CHINA_AOI = (118.5, 27.0, 125.0, 34.0)


def dm(deg: int, minutes: float) -> float:
    """Degrees and decimal minutes -> decimal degrees."""
    return deg + minutes / 60.0


#: 1996 declaration base points 9-15 (name, lat, lon), north to south.
CHINA_BASE_POINTS = [
    ("9 Macaiheng", dm(33, 21.8), dm(121, 20.8)),
    ("10 Waikejiao", dm(33, 0.9), dm(121, 38.4)),
    ("11 Sheshandao", dm(31, 25.3), dm(122, 14.6)),
    ("12 Haijiao", dm(30, 44.1), dm(123, 9.4)),
    ("13 Dongnanjiao", dm(30, 43.5), dm(123, 9.7)),
    ("14 Liangxiongdiyu", dm(30, 10.1), dm(122, 56.7)),
    ("15 Yushanliedao", dm(28, 53.3), dm(122, 16.5)),
]

#: DPRK west coast, approximate (lon, lat), Yalu mouth to the Han estuary.
DPRK_WEST_COAST = [
    (124.30, 39.80),   # Sindo / Yalu river mouth (DPRK bank)
    (124.65, 39.58),   # Cholsan peninsula
    (125.05, 39.55),   # Sonchon - Kwaksan coast
    (125.35, 39.40),   # Chongchon river mouth
    (125.25, 39.05),   # Onchon coast
    (125.20, 38.75),   # Taedong mouth (West Sea Barrage, Nampho)
    (124.95, 38.45),   # Kwail - Ryongyon coast
    (124.70, 38.12),   # Changsan-got (Cape Changsan)
    (125.05, 37.85),   # Ongjin peninsula
    (125.40, 37.90),   # Kangryong
    (125.70, 37.95),   # Haeju bay
    (126.10, 37.75),   # Yonan - Han estuary
]

#: Liaodong peninsula south-east coast (lon, lat), Laotieshan to the Yalu mouth.
LIAODONG_COAST = [
    (121.13, 38.73),   # Laotieshan cape
    (121.65, 38.92),   # Dalian
    (122.30, 39.30),   # Pikou
    (122.95, 39.68),   # Zhuanghe
    (124.10, 39.85),   # Donggang
    (124.25, 39.82),   # Yalu mouth (Chinese bank)
]

#: Ningbo-Zhoushan box (lon_min, lat_min, lon_max, lat_max): archipelago and port anchorages.
NINGBO_ZHOUSHAN_BOX = (121.7, 29.5, 122.6, 30.4)

DESCRIPTIONS = {
    "hangzhou_bay": (
        "Natural Earth 1:10M marine polygon 'Hangzhou Bay' (featurecla bay), unchanged: the "
        "bay from the Qiantang mouth out to its closing line at about 122.0E. Approximate."
    ),
    "yangtze_estuary": (
        "Natural Earth 1:10M marine polygon 'Yangtze River' (featurecla river), unchanged: the "
        "tidal Yangtze from about 120.0E down to the mouth at about 121.95E, north and south "
        "channels included. Approximate; the shoals seaward of 122E are not included."
    ),
    "ningbo_zhoushan": (
        "Box 121.7-122.6E, 29.5-30.4N around the Zhoushan archipelago and the Ningbo-Zhoushan "
        "port anchorages, islands included. Hand-drawn working area, approximate."
    ),
    "china_territorial_sea": (
        "China's internal waters plus 12-nmi territorial sea, only for the stretch 28.9-33.4N "
        "covered by base points 9-15 of the 1996 straight-baseline declaration: the union of "
        "(a) everything landward (west) of the baseline P9-P15, closed due west along the "
        "latitudes of P9 and P15 (land included, so ports and rivers count), and (b) the "
        "baseline buffered by 12 nmi in an azimuthal equidistant projection centred at "
        "31N 122E; clipped to 118.5-125E, 27-34N. Approximate: no tide-level low-water line, "
        "no territorial sea north of P9 or south of P15 beyond the 12-nmi end caps."
    ),
    "korea_bay": (
        "Korea Bay / West Korea Bay: polygon along the Liaodong coast from Laotieshan (38.73N "
        "121.13E) to the Yalu mouth, down the DPRK west coast to Changsan-got (38.12N "
        "124.70E), closed by the straight line Changsan-got - Laotieshan. Coast points hand-"
        "placed at about 0.05 degree accuracy; land near the coast is partly included."
    ),
    "dprk_west_coast": (
        "DPRK territorial-waters band on the west coast: a hand-drawn coastline polyline from "
        "the Yalu mouth (39.80N 124.30E) to the Han estuary (37.75N 126.10E) buffered 12 nmi "
        "in an azimuthal equidistant projection centred at 39N 125E. Not a legal line: it "
        "ignores DPRK baselines and overlaps the ROK-held Northwest Islands."
    ),
}


def _buffer_m(geom, distance_m: float, lat0: float, lon0: float):
    """Buffer a lon/lat geometry by metres in an azimuthal equidistant projection."""
    aeqd = CRS.from_proj4(f"+proj=aeqd +lat_0={lat0} +lon_0={lon0} +datum=WGS84 +units=m")
    fwd = Transformer.from_crs("EPSG:4326", aeqd, always_xy=True)
    inv = Transformer.from_crs(aeqd, "EPSG:4326", always_xy=True)

    def apply(transformer):
        return lambda xy: np.column_stack(transformer.transform(xy[:, 0], xy[:, 1]))

    projected = shapely.transform(geom, apply(fwd))
    return shapely.transform(projected.buffer(distance_m, quad_segs=16), apply(inv))


def build(shared: Path) -> gpd.GeoDataFrame:
    """All built-in regions as a GeoDataFrame (name, description, geometry) in EPSG:4326."""
    marine = gpd.read_file(shared / "naturalearth" / "ne_10m_marine_polys_china_east_clip.geojson")
    by_name = dict(zip(marine["name"], marine.geometry, strict=True))
    geoms = {
        "hangzhou_bay": by_name["Hangzhou Bay"],
        "yangtze_estuary": by_name["Yangtze River"],
        "ningbo_zhoushan": box(*NINGBO_ZHOUSHAN_BOX),
    }
    base = [(lon, lat) for _, lat, lon in CHINA_BASE_POINTS]
    west = CHINA_AOI[0]
    landward = Polygon([*base, (west, base[-1][1]), (west, base[0][1])])
    sea = _buffer_m(LineString(base), TERRITORIAL_SEA_M, 31.0, 122.0)
    geoms["china_territorial_sea"] = shapely.intersection(
        shapely.union(landward, sea), box(*CHINA_AOI))
    geoms["korea_bay"] = Polygon([*LIAODONG_COAST, *DPRK_WEST_COAST[:8]])
    geoms["dprk_west_coast"] = _buffer_m(LineString(DPRK_WEST_COAST), TERRITORIAL_SEA_M,
                                         39.0, 125.0)
    names = list(DESCRIPTIONS)
    out = gpd.GeoDataFrame(
        {"name": names, "description": [DESCRIPTIONS[n] for n in names]},
        geometry=[shapely.set_precision(shapely.make_valid(geoms[n]), 1e-5) for n in names],
        crs="EPSG:4326",
    )
    assert out.is_valid.all()
    return out


def main(argv=None) -> None:
    """Command line: build and write the GeoJSON."""
    repo = Path(__file__).resolve().parents[1]
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--shared", type=Path, default=repo.parent / "shared" / "data")
    parser.add_argument("--out", type=Path, default=repo / "src/stsdetect/data/regions.geojson")
    args = parser.parse_args(argv)
    regions = build(args.shared)
    features = [
        {"type": "Feature",
         "properties": {"name": r.name, "description": r.description},
         "geometry": mapping(r.geometry)}
        for r in regions.itertuples()
    ]
    collection = {"type": "FeatureCollection", "name": "stsdetect_regions",
                  "crs": {"type": "name",
                          "properties": {"name": "urn:ogc:def:crs:OGC:1.3:CRS84"}},
                  "features": features}
    text = json.dumps(collection, indent=None, separators=(",", ":"))
    args.out.write_text(text + "\n")
    print(f"wrote {len(features)} regions to {args.out} ({len(text) / 1024:.0f} KiB)")


if __name__ == "__main__":
    main()
