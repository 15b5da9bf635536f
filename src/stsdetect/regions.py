"""Named regions and vectorized point-in-region membership.

Built-in regions ship as package data (``stsdetect/data/regions.geojson``), drawn by
``tools/make_regions.py`` from Natural Earth 1:10M marine polygons, the base points of China's
1996 straight-baseline declaration and hand-placed headland coordinates. They are approximate
working areas for flagging events, not legal boundaries. How each was drawn
(:data:`REGION_SOURCES`):

``hangzhou_bay``
    Natural Earth 1:10M marine polygon "Hangzhou Bay", unchanged: the bay from the Qiantang
    mouth out to its closing line at about 122.0E.
``yangtze_estuary``
    Natural Earth 1:10M marine polygon "Yangtze River", unchanged: the tidal Yangtze from about
    120.0E to the mouth at about 121.95E (shoals seaward of 122E not included).
``ningbo_zhoushan``
    Box 121.7-122.6E, 29.5-30.4N: the Zhoushan archipelago and the Ningbo-Zhoushan port
    anchorages, islands included.
``china_territorial_sea``
    China's internal waters plus the 12-nautical-mile territorial sea for the stretch 28.9-33.4N
    covered by base points 9 (Macaiheng) to 15 (Yushanliedao) of the 1996 declaration: the area
    landward of the baseline (closed due west along the latitudes of points 9 and 15, land
    included) united with the baseline buffered 12 nmi in an azimuthal equidistant projection,
    clipped to 118.5-125E, 27-34N. Approximate; nothing north of point 9 or south of point 15
    beyond the 12-nmi end caps.
``korea_bay``
    Polygon along the Liaodong coast from Laotieshan to the Yalu mouth, down the DPRK west coast
    to Changsan-got, closed by the line Changsan-got - Laotieshan.
``dprk_west_coast``
    Hand-drawn DPRK west-coast polyline (Yalu mouth to the Han estuary) buffered 12 nmi: a band
    standing in for DPRK territorial waters; ignores DPRK baselines and overlaps the ROK-held
    Northwest Islands.

User regions come as GeoJSON or shapefile paths or as GeoDataFrames with a ``name`` column (see
:func:`load_regions`). Membership (:func:`region_mask`) is one vectorized
:func:`shapely.intersects_xy` call per region over all points - regions are few, points many.
"""

from __future__ import annotations

import json
import sys
import warnings
import weakref
from functools import lru_cache
from importlib import resources
from pathlib import Path

import numpy as np
import pandas as pd
import shapely

from stsdetect.geo import wrap_lon_deg

__all__ = [
    "BUILTIN_REGIONS",
    "REGION_SOURCES",
    "RESERVED_NAMES",
    "load_regions",
    "region_mask",
    "regions_at",
]


@lru_cache(maxsize=1)
def _builtin_text() -> str:
    ref = resources.files("stsdetect") / "data" / "regions.geojson"
    return ref.read_text(encoding="utf-8")


def _builtin_collection() -> dict:
    """The built-in regions' GeoJSON, parsed afresh (9 kB): no caller shares a mutable dict."""
    return json.loads(_builtin_text())


#: Names of the built-in regions, in package-data order.
BUILTIN_REGIONS: tuple[str, ...] = tuple(
    f["properties"]["name"] for f in _builtin_collection()["features"]
)

#: Names a user region may not take: the event flags that are not regions
#: (:data:`stsdetect.flags.DEFAULT_WEIGHTS`; a test keeps the two in step). A region named
#: ``dprk`` would otherwise set the ``dprk`` flag on every event inside it (#14 item 8).
RESERVED_NAMES: frozenset = frozenset({
    "dprk", "watchlist", "barge", "identity_anomaly", "dark_before", "dark_after",
    "likely_intentional", "anchorage", "port", "crowded", "residence", "visit",
    "draught_change", "destination_change", "duration_log_h", "user_region",
    "unseen_partner", "tow", "near_match", "identity_link", "barge_weak", "identity_changed",
    "flag_mismatch", "imo_shared", "watchlist_similar", "handover",
})

#: Built-in region name -> how it was drawn and from what source.
REGION_SOURCES: dict[str, str] = {
    f["properties"]["name"]: f["properties"]["description"]
    for f in _builtin_collection()["features"]
}


#: Frames returned by :func:`load_regions` in this process, by id (weak: no frame is kept
#: alive): one passed back to it again (``detect`` loads the regions first, then hands them to
#: the flags) is returned as it is instead of being normalised a second time.
_LOADED: weakref.WeakValueDictionary = weakref.WeakValueDictionary()


def _loaded(frame):
    """Remember ``frame`` as a result of :func:`load_regions`; return it."""
    _LOADED[id(frame)] = frame
    return frame


def _names_ok(frame) -> bool:
    """Names still distinct, non-empty strings and no event flag (cheap: regions are few)."""
    names = list(frame["name"])
    return (len(set(names)) == len(names)
            and all(isinstance(n, str) and n.strip() for n in names)  # a few regions
            and not {n.strip().lower() for n in names} & RESERVED_NAMES)


def _builtin_shapes() -> tuple[list, list]:
    """The built-in regions' names and shapely geometries, in package-data order."""
    features = _builtin_collection()["features"]
    return ([f["properties"]["name"] for f in features],
            [shapely.geometry.shape(f["geometry"]) for f in features])


def _builtin_frame():
    import geopandas as gpd

    names, geoms = _builtin_shapes()
    return gpd.GeoDataFrame({"name": names}, geometry=geoms, crs="EPSG:4326")


def _builtin_selection(regions) -> list | None:
    """The built-in names ``regions`` selects when it is None or distinct built-in names only
    (the command line's default); None for anything else (files, frames, repeats)."""
    if regions is None:
        return list(BUILTIN_REGIONS)
    if isinstance(regions, str):
        regions = [regions]
    if not isinstance(regions, (list, tuple)) or not regions:
        return None
    if not all(isinstance(r, str) and r in BUILTIN_REGIONS for r in regions):
        return None
    return list(regions) if len(set(regions)) == len(regions) else None


def _region_table(regions=None):
    """Regions for the flags: :func:`load_regions`' table, built-ins without geopandas.

    For ``None`` or distinct built-in names, the result is a plain :class:`pandas.DataFrame`
    with the same ``name`` and ``geometry`` (shapely, EPSG:4326) as :func:`load_regions` gives,
    which :func:`region_mask`, :func:`regions_at` and :func:`stsdetect.flags.flag_events`
    take as loaded; geopandas (about 0.05 CPU s to import, with pyproj) is not imported for
    it. Anything else goes through :func:`load_regions`.

    Parameters
    ----------
    regions : optional
        Anything :func:`load_regions` accepts.

    Returns
    -------
    pandas.DataFrame or geopandas.GeoDataFrame
        Columns ``name`` and ``geometry``, one row per region, in the order given.
    """
    names = _builtin_selection(regions)
    if names is None:
        return load_regions(regions)
    all_names, geoms = _builtin_shapes()
    index = {name: i for i, name in enumerate(all_names)}
    return _loaded(pd.DataFrame({"name": pd.Series(names, dtype=object),
                                 "geometry": pd.Series([geoms[index[n]] for n in names],
                                                       dtype=object)}))


def _finite(geom) -> bool:
    return bool(np.isfinite(shapely.get_coordinates(geom)).all())


def _normalise_frame(frame, origin: str):
    """GeoDataFrame -> (name, geometry) in EPSG:4326, one row per name."""
    import geopandas as gpd

    if not isinstance(frame, gpd.GeoDataFrame):
        raise TypeError(f"{origin}: expected a GeoDataFrame, got {type(frame).__name__}")
    if "name" not in frame.columns:
        raise ValueError(f"{origin}: regions need a 'name' column (got {list(frame.columns)})")
    if frame.crs is None:
        raise ValueError(f"{origin}: regions have no CRS; set one (e.g. EPSG:4326)")
    frame = frame.to_crs("EPSG:4326")
    geom = frame.geometry
    polygonal = geom.geom_type.isin(["Polygon", "MultiPolygon"]) | geom.is_empty
    if not polygonal.all():
        kinds = sorted(set(geom.geom_type[~polygonal]))
        raise ValueError(f"{origin}: regions must be polygons, found {kinds}")
    names = frame["name"].astype("string")
    if names.isna().any() or (names.str.strip() == "").any():
        raise ValueError(f"{origin}: every region needs a non-empty name")
    reserved = sorted(set(names.str.strip().str.lower()) & RESERVED_NAMES)
    if reserved:
        raise ValueError(f"{origin}: region name(s) {', '.join(reserved)} are event flags; "
                         "rename the region (e.g. 'my_" + reserved[0] + "')")
    shapes = geom.to_numpy()
    bad = np.array([g is not None and not g.is_empty and not _finite(g) for g in shapes])
    if bad.any():  # a loop over a user's few regions
        raise ValueError(f"{origin}: region {names[bad].iloc[0]!r} has NaN or infinite "
                         "coordinates")
    invalid = ~shapely.is_valid(shapes) & ~shapely.is_empty(shapes)
    if invalid.any():  # self-intersecting rings and the like: repaired, and said
        warnings.warn(f"{origin}: region(s) {', '.join(map(str, names[invalid]))} were not "
                      "valid polygons (e.g. a self-intersecting ring) and were repaired with "
                      "shapely.make_valid", UserWarning, stacklevel=3)
    out = gpd.GeoDataFrame({"name": names.astype(object).to_numpy()},
                           geometry=shapely.make_valid(shapes), crs="EPSG:4326")
    return out.dissolve(by="name", sort=False, as_index=False)[["name", "geometry"]]


def load_regions(regions=None):
    """Regions as a GeoDataFrame of ``name`` and polygon ``geometry`` (EPSG:4326).

    Parameters
    ----------
    regions : None, str, os.PathLike, GeoDataFrame or list of these
        ``None``: all built-in regions (:data:`BUILTIN_REGIONS`). A string that is a built-in
        name selects that region; any other string or path is read with
        :func:`geopandas.read_file` (GeoJSON, shapefile, GeoPackage ...), and needs a ``name``
        column - or, with a single feature and no ``name``, takes the file's stem. A
        GeoDataFrame is used as is (reprojected to EPSG:4326). Features sharing a name are
        merged.

    Returns
    -------
    geopandas.GeoDataFrame
        Columns ``name`` and ``geometry``, one row per distinct name, in the order given.

    Raises
    ------
    ValueError
        For an unknown built-in name (listing the valid ones), a missing file, a region without
        a name or CRS, or non-polygon geometry.
    """
    if _LOADED.get(id(regions)) is regions and _is_loaded(regions) and _names_ok(regions):
        return regions  # already loaded (and normalised) by this function or _region_table
    import geopandas as gpd

    if regions is None:
        return _loaded(_builtin_frame())
    if isinstance(regions, (str, Path, gpd.GeoDataFrame)):
        regions = [regions]
    parts = []
    builtin = None
    for item in regions:  # a handful of user arguments, not data rows
        if isinstance(item, gpd.GeoDataFrame):
            parts.append(_normalise_frame(item, "GeoDataFrame"))
        elif isinstance(item, str) and item in BUILTIN_REGIONS:
            builtin = _builtin_frame() if builtin is None else builtin
            parts.append(builtin[builtin["name"] == item])
        elif isinstance(item, (str, Path)):
            path = Path(item)
            if not path.exists():
                if isinstance(item, str) and not path.suffix:
                    raise ValueError(
                        f"unknown region {item!r}: built-in regions are "
                        f"{', '.join(BUILTIN_REGIONS)}; anything else must be a file path"
                    )
                raise ValueError(f"region file not found: {path}")
            parts.append(_read_region_file(path))
        else:
            raise TypeError(f"cannot read regions from {type(item).__name__}: {item!r}")
    if not parts:
        return _loaded(gpd.GeoDataFrame({"name": []}, geometry=[], crs="EPSG:4326"))
    out = pd.concat(parts, ignore_index=True)
    out = gpd.GeoDataFrame(out, geometry="geometry", crs="EPSG:4326")
    if out["name"].duplicated().any():
        out = out.dissolve(by="name", sort=False, as_index=False)[["name", "geometry"]]
    return _loaded(out.reset_index(drop=True))


#: What the file reader's (GDAL's) warnings about a broken file mean, in a user's words.
_READER_SAYS = {
    "Non closed ring detected": "a polygon ring is not closed (its last point must repeat its "
                                "first)",
}


def _read_region_file(path: Path):
    """A user's region file read by :func:`geopandas.read_file` and normalised
    (:func:`_normalise_frame`), with the reader's own warnings (pyogrio passes GDAL's
    complaints about the file on as RuntimeWarnings, e.g. an unclosed ring; shapely warns of
    NaN coordinates) caught here, locally: when the read fails they are the reason given in
    its one ValueError; when the normalisation refuses the file its error says why; when
    both succeed each is said once as a UserWarning naming the file. No raw library warning
    reaches the user (the command line prints one error line)."""
    import geopandas as gpd

    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")  # (local to this block: restored on leaving it)
        try:
            frame, error = gpd.read_file(path), None
        except Exception as exc:  # GDAL / pyogrio raise their own types for a bad file
            frame, error = None, " ".join(str(exc).split())
    said = []
    for w in caught:  # the reader's few warnings, not data rows
        text = " ".join(str(w.message).split())
        text = next((v for k, v in _READER_SAYS.items() if text.startswith(k)), text)
        if text not in said:
            said.append(text)
    if error is not None:
        raise ValueError(f"cannot read region file {path}: "
                         + "; ".join([*said, error])) from None
    if "name" not in frame.columns and len(frame) == 1:
        frame["name"] = path.stem
    frame = _normalise_frame(frame, str(path))
    for text in said:
        warnings.warn(f"region file {path}: {text}", UserWarning, stacklevel=3)
    return frame


def region_mask(lat_deg, lon_deg, regions=None) -> np.ndarray:
    """Which regions each point lies in, as a boolean matrix.

    Parameters
    ----------
    lat_deg, lon_deg : array_like of float
        Points in degrees (WGS 84). Longitudes in any wrapping are brought into [-180, 180);
        NaN coordinates are in no region. A region crossing the antimeridian may be drawn
        either split at +-180 or continuously with longitudes beyond 180 (e.g. 179 to 181).
    regions : optional
        Anything :func:`load_regions` accepts; built-ins when omitted.

    Returns
    -------
    numpy.ndarray of bool, shape (n_points, n_regions)
        Column ``j`` is region ``load_regions(regions)["name"][j]``. Points on a boundary count
        as inside.

    Notes
    -----
    One prepared :func:`shapely.intersects_xy` call per region over all points (regions are
    few); millions of points take about a second per complex region.
    """
    frame = regions if _is_loaded(regions) else _region_table(regions)
    lat = np.asarray(lat_deg, dtype=float).ravel()
    lon = wrap_lon_deg(np.asarray(lon_deg, dtype=float).ravel())
    if lat.shape != lon.shape:
        raise ValueError(f"lat_deg has {lat.size} values but lon_deg has {lon.size}")
    geoms = frame.geometry.to_numpy()
    out = np.zeros((lat.size, len(geoms)), dtype=bool)
    finite = np.isfinite(lat) & np.isfinite(lon)
    if not finite.any():
        return out
    x, y = lon[finite], lat[finite]
    for j, geom in enumerate(geoms):  # loop over regions (few), vectorized over points
        if geom is None or geom.is_empty:
            continue
        shapely.prepare(geom)
        xmin, ymin, xmax, ymax = geom.bounds
        hit = np.zeros(x.size, dtype=bool)
        # a polygon drawn across the antimeridian with longitudes beyond +-180 is also tested
        # against the points shifted by one turn
        for shift in (0.0, 360.0, -360.0):  # at most three whole-array passes
            if (shift > 0 and xmax <= 180.0) or (shift < 0 and xmin >= -180.0):
                continue
            xs = x + shift
            near = ~hit & (xs >= xmin) & (xs <= xmax) & (y >= ymin) & (y <= ymax)
            hit[near] = shapely.intersects_xy(geom, xs[near], y[near])
        out[finite, j] = hit
    return out


def _is_loaded(regions) -> bool:
    if type(regions) is pd.DataFrame:  # a table of _region_table's, as it made it
        return (_LOADED.get(id(regions)) is regions
                and list(regions.columns) == ["name", "geometry"])
    gpd = sys.modules.get("geopandas")  # not loaded: no GeoDataFrame exists to test
    if gpd is None or not hasattr(gpd, "GeoDataFrame"):
        return False
    return (isinstance(regions, gpd.GeoDataFrame) and list(regions.columns[:2]) == ["name",
            "geometry"] and regions.crs is not None and regions.crs.to_epsg() == 4326)


def regions_at(lat_deg, lon_deg, regions=None) -> list[tuple[str, ...]]:
    """Names of the regions each point lies in.

    Parameters
    ----------
    lat_deg, lon_deg : array_like of float
        Points in degrees.
    regions : optional
        Anything :func:`load_regions` accepts; built-ins when omitted.

    Returns
    -------
    list of tuple of str
        One tuple per point, names in region order; empty where the point is in none. For
        large inputs prefer :func:`region_mask`.
    """
    frame = regions if _is_loaded(regions) else _region_table(regions)
    mask = region_mask(lat_deg, lon_deg, frame)
    joined = np.full(mask.shape[0], "", dtype=object)
    for j, name in enumerate(frame["name"]):  # loop over regions (few), whole-array ops
        hit = mask[:, j]
        joined = np.where(hit & (joined != ""), joined + "\x1f" + name,
                          np.where(hit, name, joined))
    lists = pd.Series(joined, dtype=object).str.findall("[^\x1f]+")
    return list(map(tuple, lists))
