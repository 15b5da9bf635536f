"""Anchorages and berths: learned from where many vessels stop, or supplied as polygons.

Learned areas (:func:`find_anchorages`) start from Global Fishing Watch's published rule
(anchorages of the GFW port-visit pipeline: S2 level-14 cells, about 0.5 km, where at least 20
distinct vessels stayed within 0.5 km for 12 h or more; port entry at 3 km, exit at 4 km):

* **Grid.** Cells ``cell_m`` (500 m) tall; each 1-degree band of latitude has columns
  ``cell_m`` wide at its middle latitude. The cells are about 0.25 km2 everywhere below 80
  degrees (S2 level-14 cells average 0.32 km2, edges about 0.57 km, and vary in shape by up to a
  factor of two), so the grid has S2 level 14's scale; it needs no S2 library, and its cell of a
  point is two integer divisions (a row belongs to the band of its centre). Within a band,
  columns line up, so a cell's eight neighbours are the cells at row and column +-1; across a
  band edge the neighbour's column is found again from its longitude.
* **Crowd.** A cell is an anchorage cell when at least one vessel made a *qualifying stop*
  there (:func:`~stsdetect.context.stops.find_stops` with ``min_duration``) and at least
  ``min_vessels`` distinct vessels made qualifying stops in it or its eight neighbours (a
  1.5 km square). GFW counts one cell over a multi-year archive, in which each berth and each
  patch of an anchorage sees dozens of different ships; a dump of days sees each patch used
  once, by the one or two ships that lie in it, so the crowd is counted over the neighbourhood.
* **Areas.** Anchorage cells at most two cells apart form one area (a patch of the anchorage
  left empty in a short dump must not cut it in two), with an id made from its rounded centre
  (stable from one dump to the next) and its outline: the union of its cells grown by one cell
  (``cell_m``) on every side, because ships swing round their anchors and a pair's midpoint
  falls between their cells. GFW grows its anchorage points far more (port entry at 3 km);
  one cell keeps a transfer held a few kilometres off an anchorage outside it. An area is a
  ``berth`` when most reports of its stops say "moored" (AIS
  navigational status 5, needs ``positions``), else an ``anchorage``.
* **Thresholds adapted to the dump** (``min_vessels=None``, ``min_duration=None``): with a
  span of ``D`` days, ``min_duration`` = 12 h when ``D >= 3``, else ``max(2 h, D / 6)``: a
  one-day dump cannot hold 12 h stops at both ends, and 2 h is the rendezvous detector's
  minimum. ``min_vessels = max(5, round(20 * D / 30))``, at most 20: GFW's 20 at a month and
  more, scaled down linearly with the span, floored at 5, the smallest crowd in which two
  stopped ships within 500 m of each other are a matter of routine.

Supplied areas (:func:`load_ports`) come as GeoJSON, shapefile or any file geopandas reads,
or a GeoDataFrame, one polygon per port or anchorage; a ``kind`` column (``port``,
``anchorage`` or ``berth``; default ``port``) and a ``name`` column are read when present.

The result is a GeoDataFrame (:data:`ANCHORAGE_COLUMNS`) that :func:`write_anchorages` saves
(GeoJSON, GeoParquet) and :func:`read_anchorages` loads, so the areas learned from one dump are
reused on the next.
"""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import pandas as pd

from stsdetect.context.stops import find_stops, track_times_ns
from stsdetect.geo import EARTH_RADIUS_M, duration_s, wrap_lon_deg

__all__ = ["ANCHORAGE_COLUMNS", "ANCHORAGE_KINDS", "auto_thresholds", "combine_areas",
           "find_anchorages",
           "load_ports", "read_anchorages", "write_anchorages"]

#: Columns of the anchorages table (a GeoDataFrame, EPSG:4326): ``anchorage_id`` (str),
#: ``name`` (str: the supplied name, or the id), ``kind`` (:data:`ANCHORAGE_KINDS`), ``source``
#: (``learned`` or ``supplied``), ``lat``/``lon`` (centre, degrees), ``n_vessels`` (distinct
#: vessels that made qualifying stops in it; 0 when supplied), ``n_stops``, ``area_km2`` and
#: ``geometry`` (its outline polygon).
ANCHORAGE_COLUMNS = ["anchorage_id", "name", "kind", "source", "lat", "lon", "n_vessels",
                     "n_stops", "area_km2", "geometry"]

#: Kinds of area: ``anchorage`` (ships wait at anchor), ``berth`` (ships lie moored), ``port``
#: (a supplied port polygon).
ANCHORAGE_KINDS = ("anchorage", "berth", "port")

_M_PER_DEG = EARTH_RADIUS_M * math.pi / 180.0
_DAY_S = 86400.0


def auto_thresholds(span_s: float) -> tuple[float, int]:
    """``(min_duration_s, min_vessels)`` for a dump spanning ``span_s`` seconds.

    See the module notes: GFW's 12 h and 20 vessels, scaled to short dumps.
    """
    days = max(float(span_s), 0.0) / _DAY_S
    min_s = 12 * 3600.0 if days >= 3 else max(2 * 3600.0, span_s / 6.0)
    min_vessels = int(min(20, max(5, round(20 * days / 30))))
    return min_s, min_vessels


def _cells(lat, lon, cell_m: float):
    """(band, row, column) of the grid cell of each point."""
    lat = np.asarray(lat, dtype=float)
    lon = wrap_lon_deg(np.asarray(lon, dtype=float))
    row = np.floor(lat * _M_PER_DEG / cell_m).astype(np.int64)
    band = np.floor((row + 0.5) * cell_m / _M_PER_DEG).astype(np.int64)  # of the row's centre
    col = np.floor((lon + 180.0) / _width_deg(band, cell_m)).astype(np.int64)
    return band, row, col


def _width_deg(band, cell_m: float):
    return cell_m / (_M_PER_DEG * np.cos(np.radians(np.clip(band + 0.5, -89.5, 89.5))))


def _neighbour(row, col, dr: int, dc: int, cell_m: float):
    """(band, row, column) of the cell ``dr`` rows and ``dc`` columns from each cell.

    Within a band it is plain index arithmetic; across a band edge the column is found again
    from the longitude of the shifted cell's centre, so neighbours stay neighbours.
    """
    band = np.floor((row + 0.5) * cell_m / _M_PER_DEG).astype(np.int64)
    lon = (col + 0.5 + dc) * _width_deg(band, cell_m) - 180.0
    row2 = row + dr
    band2 = np.floor((row2 + 0.5) * cell_m / _M_PER_DEG).astype(np.int64)
    col2 = np.floor((lon + 180.0) / _width_deg(band2, cell_m)).astype(np.int64)
    return band2, row2, col2


def _cell_boxes(band, row, col, cell_m: float):
    """Polygons (lon/lat boxes) of grid cells."""
    import shapely

    # each edge from the same formula as the neighbouring cell's, so shared edges coincide
    # exactly and the union of an area's cells is one polygon
    lat0 = row * cell_m / _M_PER_DEG
    lat1 = (row + 1) * cell_m / _M_PER_DEG
    width_deg = _width_deg(band, cell_m)
    return shapely.box(col * width_deg - 180.0, lat0, (col + 1) * width_deg - 180.0, lat1)


def _key(row, col):
    return row * (1 << 32) + col


def _empty_table() -> pd.DataFrame:
    """No areas, as a plain table (:func:`_learn_areas`)."""
    return pd.DataFrame({
        "anchorage_id": pd.Series([], dtype=object), "name": pd.Series([], dtype=object),
        "kind": pd.Series([], dtype=object), "source": pd.Series([], dtype=object),
        "lat": np.zeros(0), "lon": np.zeros(0), "n_vessels": np.zeros(0, np.int64),
        "n_stops": np.zeros(0, np.int64), "area_km2": np.zeros(0),
        "geometry": pd.Series([], dtype=object)})


def _empty_frame():
    return _as_geodataframe(_empty_table())


def _as_geodataframe(table):
    """An anchorages table as a GeoDataFrame (EPSG:4326): the public form of the plain tables
    the in-memory pipeline keeps (a ``geometry`` column of shapely polygons, so that geopandas
    is imported only when a caller wants the areas). A GeoDataFrame is returned as it is.

    Parameters
    ----------
    table : pandas.DataFrame or None
        Columns :data:`ANCHORAGE_COLUMNS`.

    Returns
    -------
    geopandas.GeoDataFrame or None
        The same rows and columns; None for None.
    """
    if table is None:
        return None
    import geopandas as gpd

    if isinstance(table, gpd.GeoDataFrame):
        return table
    return gpd.GeoDataFrame(table, geometry="geometry", crs="EPSG:4326")


def _moored_share(stops: pd.DataFrame, positions: pd.DataFrame | None,
                  status=None) -> np.ndarray:
    """Share of each stop's reports (known status) that say moored (5); NaN without status."""
    from stsdetect.context.columns import StatusIndex, has_status

    if not len(stops) or (status is None and not has_status(positions)):
        return np.full(len(stops), np.nan)
    q_mmsi = stops["mmsi"].to_numpy(np.int64)
    index = status if status is not None else StatusIndex(positions, q_mmsi)
    known, _n1, n5, _a, _b = index.counts(q_mmsi, stops["start_ns"].to_numpy(np.int64),
                                          stops["end_ns"].to_numpy(np.int64))
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(known > 0, n5 / np.maximum(known, 1), np.nan)


def _components(n: int, src: np.ndarray, dst: np.ndarray) -> np.ndarray:
    """Connected components of an undirected graph of ``n`` nodes: a label per node,
    numbered in the order of each component's lowest node (as
    ``scipy.sparse.csgraph.connected_components`` numbers them; scipy is not imported for it).

    Min-label propagation with pointer jumping: each pass halves the chains, so the loop runs
    about log2(diameter) times, over whole arrays.
    """
    root = np.arange(n, dtype=np.int64)
    while True:  # passes, not nodes
        low = np.minimum(root[src], root[dst])
        new = root.copy()
        np.minimum.at(new, src, low)
        np.minimum.at(new, dst, low)
        new = new[new]  # pointer jumping
        if np.array_equal(new, root):
            break
        root = new
    return np.unique(root, return_inverse=True)[1].astype(np.int64)


def find_anchorages(tracks, min_vessels: int = 0, min_duration=None,
                    cell_m: float = 500.0, radius_m: float = 500.0, max_speed_kn: float = 1.0,
                    max_gap="3h", positions: pd.DataFrame | None = None, stops=None,
                    span_s: float | None = None, status=None):
    """Anchorages and berths: areas where many distinct vessels lay stationary.

    Parameters
    ----------
    tracks : stsdetect.tracks.Tracks
        Cleaned tracks of the dump.
    min_vessels : int, default 0
        Distinct vessels with qualifying stops in a cell's 3 x 3 neighbourhood for it to be an
        anchorage cell. 0 (or None): adapted to the dump's span (:func:`auto_thresholds`:
        GFW's 20 for a month and more, at least 5).
    min_duration : str or pandas.Timedelta, optional
        Shortest qualifying stop. Default adapted to the span (12 h, GFW's figure, from three
        days on).
    cell_m : float, default 500
        Grid cell size (S2 level 14 is about 0.5 km; see the module notes).
    radius_m, max_speed_kn, max_gap
        Stop parameters (:func:`~stsdetect.context.stops.find_stops`): 0.5 km (GFW), 1 kn,
        3 h.
    positions : pandas.DataFrame, optional
        The positions table (with ``nav_status``): areas whose stops mostly report "moored"
        are berths.
    stops : pandas.DataFrame, optional
        Stops already found with the same stop parameters (saves finding them again; the
        windowed form: :func:`~stsdetect.context.stops.join_stop_pieces`).
    span_s : float, optional
        Time span of the data in seconds, for the adapted thresholds; from ``tracks`` when
        omitted (``tracks`` may then be None if ``stops`` are given).
    status : stsdetect.context.StatusIndex, optional
        The navigational statuses of ``positions`` already indexed (shared with
        :func:`~stsdetect.context.add_context`); built here from ``positions`` if omitted.

    Returns
    -------
    geopandas.GeoDataFrame
        Columns :data:`ANCHORAGE_COLUMNS`, one row per area, sorted by ``anchorage_id``;
        empty when none qualifies (and for empty or single-vessel input). The result does not
        depend on the order of the input rows.
    """
    return _as_geodataframe(_learn_areas(
        tracks, min_vessels=min_vessels, min_duration=min_duration, cell_m=cell_m,
        radius_m=radius_m, max_speed_kn=max_speed_kn, max_gap=max_gap, positions=positions,
        stops=stops, span_s=span_s, status=status))


def _learn_areas(tracks, min_vessels: int = 0, min_duration=None,
                 cell_m: float = 500.0, radius_m: float = 500.0, max_speed_kn: float = 1.0,
                 max_gap="3h", positions: pd.DataFrame | None = None, stops=None,
                 span_s: float | None = None, status=None) -> pd.DataFrame:
    """:func:`find_anchorages` as a plain table (its ``geometry`` a column of shapely
    polygons; :func:`_as_geodataframe` makes the GeoDataFrame)."""
    import shapely

    if not cell_m > 0:
        raise ValueError(f"cell_m must be positive, got {cell_m!r}")
    if span_s is None:
        t = track_times_ns(tracks)
        span = (int(t.max()) - int(t.min())) / 1e9 if t.size else 0.0
    else:
        span = float(span_s)
    auto_s, auto_n = auto_thresholds(span)
    min_s = auto_s if min_duration is None else duration_s(min_duration)
    min_vessels = auto_n if not min_vessels else int(min_vessels)
    if min_vessels < 1:
        raise ValueError(f"min_vessels must be at least 1, got {min_vessels}")
    if stops is None:
        stops = find_stops(tracks, max_speed_kn=max_speed_kn, radius_m=radius_m,
                           max_gap=max_gap,
                           min_duration=pd.Timedelta(seconds=min(min_s, 3600.0)))
    long_enough = (stops["end_ns"] - stops["start_ns"]).to_numpy(np.int64) >= round(min_s * 1e9)
    stops = stops[long_enough].reset_index(drop=True)
    if len(stops) == 0 or stops["mmsi"].nunique() < min_vessels:
        return _empty_table()
    band, row, col = _cells(stops["lat"].to_numpy(), stops["lon"].to_numpy(), cell_m)
    own = pd.DataFrame({"row": row, "col": col, "band": band,
                        "mmsi": stops["mmsi"].to_numpy()}).drop_duplicates(["row", "col", "mmsi"])
    # every (cell, vessel) counted in the 3 x 3 neighbourhood of each cell around it
    dr = np.array([-1, -1, -1, 0, 0, 0, 1, 1, 1])
    dc = np.array([-1, 0, 1, -1, 0, 1, -1, 0, 1])
    o_row, o_col = own["row"].to_numpy(), own["col"].to_numpy()
    near = [_neighbour(o_row, o_col, a, b, cell_m) for a, b in zip(dr, dc, strict=True)]
    spread = pd.DataFrame({
        "row": np.concatenate([x[1] for x in near]),
        "col": np.concatenate([x[2] for x in near]),
        "mmsi": np.tile(own["mmsi"].to_numpy(), 9)}).drop_duplicates()
    crowd = spread.groupby(["row", "col"]).size()
    cells = own.drop_duplicates(["row", "col"])[["row", "col", "band"]]
    cells = cells.assign(n=crowd.reindex(pd.MultiIndex.from_frame(cells[["row", "col"]]))
                         .to_numpy())
    cells = cells[cells["n"] >= min_vessels].sort_values(["row", "col"]).reset_index(drop=True)
    if not len(cells):
        return _empty_table()
    # connected areas: edges between anchorage cells that are neighbours
    key = _key(cells["row"].to_numpy(), cells["col"].to_numpy())
    order = np.argsort(key)
    src, dst = [], []
    far = np.arange(-2, 3)
    for a, b in zip(np.repeat(far, 5), np.tile(far, 5), strict=True):  # 25 offsets
        _, n_row, n_col = _neighbour(cells["row"].to_numpy(), cells["col"].to_numpy(), a, b,
                                     cell_m)
        nk = _key(n_row, n_col)
        pos = np.searchsorted(key[order], nk)
        pos = np.minimum(pos, key.size - 1)
        hit = key[order][pos] == nk
        src.append(np.flatnonzero(hit))
        dst.append(order[pos[hit]])
    src, dst = np.concatenate(src), np.concatenate(dst)
    label = _components(key.size, src, dst)
    cells["area"] = label
    # stops of each area (those lying in its cells)
    skey = _key(row, col)
    pos = np.minimum(np.searchsorted(key[order], skey), key.size - 1)
    in_cell = key[order][pos] == skey
    s_area = np.where(in_cell, label[order[pos]], -1)
    st = stops.assign(area=s_area, moored=_moored_share(stops, positions, status))
    st = st[st["area"] >= 0]
    from stsdetect.geo import latlon_from_xyz, unit_xyz

    xyz = unit_xyz(st["lat"].to_numpy(), st["lon"].to_numpy())
    n_area = label.max() + 1
    sums = np.column_stack([np.bincount(st["area"], weights=xyz[:, j], minlength=n_area)
                            for j in range(3)])
    c_lat, c_lon = latlon_from_xyz(sums)
    n_vessels = st.groupby("area")["mmsi"].nunique().reindex(range(n_area), fill_value=0)
    n_stops = np.bincount(st["area"], minlength=n_area)
    moored = st.groupby("area")["moored"].mean().reindex(range(n_area))
    near = [_neighbour(cells["row"].to_numpy(), cells["col"].to_numpy(), a, b, cell_m)
            for a, b in zip(dr, dc, strict=True)]
    grown = pd.DataFrame({
        "band": np.concatenate([x[0] for x in near]),
        "row": np.concatenate([x[1] for x in near]),
        "col": np.concatenate([x[2] for x in near]),
        "area": np.tile(label, 9)}).drop_duplicates(["row", "col"])
    boxes = _cell_boxes(grown["band"].to_numpy(), grown["row"].to_numpy(),
                        grown["col"].to_numpy(), cell_m)
    g_label = grown["area"].to_numpy()
    outline = [shapely.union_all(boxes[g_label == k]) for k in range(n_area)]  # per area
    kind = np.where(moored.to_numpy() > 0.5, "berth", "anchorage")
    ids = pd.Series([f"{'anc' if k == 'anchorage' else 'brt'}{la:+08.3f}{lo:+09.3f}"
                     for k, la, lo in zip(kind, c_lat, c_lon, strict=True)], dtype=object)
    cell_km2 = (cell_m / 1000.0) ** 2
    frame = pd.DataFrame({
        "anchorage_id": ids, "name": ids.copy(), "kind": kind.astype(object),
        "source": "learned", "lat": np.round(c_lat, 6), "lon": np.round(c_lon, 6),
        "n_vessels": n_vessels.to_numpy(np.int64), "n_stops": n_stops.astype(np.int64),
        "area_km2": np.bincount(g_label, minlength=n_area) * cell_km2,
        "geometry": pd.Series(outline, dtype=object)})
    return frame.sort_values("anchorage_id").reset_index(drop=True)[ANCHORAGE_COLUMNS]


def combine_areas(tables):
    """One anchorages table from several (supplied ports, saved and learned anchorages)."""
    return _as_geodataframe(_combine(tables))


def _combine(tables) -> pd.DataFrame:
    """:func:`combine_areas`, kept a plain table when every part is one (learned areas only:
    no geopandas); a GeoDataFrame when a part is (supplied or saved areas)."""
    tables = [t for t in tables if t is not None and len(t)]
    if not tables:
        return _empty_table()
    if all(type(t) is pd.DataFrame for t in tables):
        return pd.concat(tables, ignore_index=True)
    import geopandas as gpd

    return gpd.GeoDataFrame(pd.concat([_as_geodataframe(t) for t in tables],
                                      ignore_index=True), crs="EPSG:4326")


def load_ports(source):
    """User-supplied port or anchorage polygons as an anchorages table.

    Parameters
    ----------
    source : str, os.PathLike, GeoDataFrame or None
        A file geopandas reads (GeoJSON, shapefile, GeoPackage ...) or a GeoDataFrame, one
        (multi)polygon per area. Optional columns: ``name`` (default: the file stem and the row
        number) and ``kind`` (``port``, ``anchorage`` or ``berth``; default ``port``).
        A table written by :func:`write_anchorages` is read back as it was.

    Returns
    -------
    geopandas.GeoDataFrame
        Columns :data:`ANCHORAGE_COLUMNS` (``source`` = ``supplied`` unless the file says
        otherwise), EPSG:4326.

    Raises
    ------
    ValueError
        A missing or unreadable file, no CRS, non-polygon geometry or an unknown kind.
    """
    import geopandas as gpd
    import shapely

    if source is None:
        return _empty_frame()
    if isinstance(source, gpd.GeoDataFrame):
        frame, origin, stem = source.copy(), "ports table", "port"
    else:
        path = Path(source)
        if not path.is_file():
            raise ValueError(f"ports file not found: {path}")
        try:
            frame = gpd.read_file(path) if path.suffix.lower() not in (".parquet",
                                                                      ".geoparquet") \
                else gpd.read_parquet(path)
        except Exception as exc:  # GDAL/pyogrio raise many types; all mean "cannot read"
            raise ValueError(f"{path}: cannot read port polygons ({exc})") from exc
        origin, stem = str(path), path.stem
    if frame.crs is None:
        raise ValueError(f"{origin}: port polygons have no CRS; set one (e.g. EPSG:4326)")
    frame = frame.to_crs("EPSG:4326")
    if not len(frame):
        return _empty_frame()
    geom = frame.geometry
    if not geom.geom_type.isin(["Polygon", "MultiPolygon"]).all():
        kinds = sorted(set(geom.geom_type[~geom.geom_type.isin(["Polygon", "MultiPolygon"])]))
        raise ValueError(f"{origin}: ports must be polygons, found {kinds}")
    n = len(frame)
    names = frame["name"].astype("string") if "name" in frame.columns else \
        pd.Series([None] * n, dtype="string")
    fallback = pd.Series([f"{stem}_{i + 1}" for i in range(n)], dtype="string")
    names = names.where(names.notna() & (names.str.strip() != ""), fallback)
    kind = frame["kind"].astype("string").str.strip().str.lower() if "kind" in frame.columns \
        else pd.Series(["port"] * n, dtype="string")
    kind = kind.fillna("port")
    bad = sorted(set(kind) - set(ANCHORAGE_KINDS))
    if bad:
        raise ValueError(f"{origin}: unknown kind(s) {bad}; use one of {list(ANCHORAGE_KINDS)}")
    valid = shapely.make_valid(geom.to_numpy())
    centre = shapely.centroid(valid)
    source_col = frame["source"].astype(object) if "source" in frame.columns else "supplied"
    ids = frame["anchorage_id"].astype(object) if "anchorage_id" in frame.columns else \
        names.astype(object)

    def column(name, default):
        return frame[name].to_numpy() if name in frame.columns else default

    out = gpd.GeoDataFrame({
        "anchorage_id": np.asarray(ids, dtype=object), "name": names.astype(object).to_numpy(),
        "kind": kind.astype(object).to_numpy(), "source": source_col,
        "lat": shapely.get_y(centre), "lon": shapely.get_x(centre),
        "n_vessels": np.asarray(column("n_vessels", np.zeros(n)), dtype=np.int64),
        "n_stops": np.asarray(column("n_stops", np.zeros(n)), dtype=np.int64),
        "area_km2": np.asarray(column("area_km2", np.full(n, np.nan)), dtype=float)},
        geometry=valid, crs="EPSG:4326")
    return out[ANCHORAGE_COLUMNS].reset_index(drop=True)


def write_anchorages(anchorages, path) -> Path:
    """Save an anchorages table (``.geojson`` or ``.parquet``) for reuse on the next dump.

    Returns
    -------
    pathlib.Path
        The path written.
    """
    import json

    from stsdetect.outputs import atomic_path

    path = Path(path)
    suffix = path.suffix.lower()
    if suffix not in (".geojson", ".json", ".parquet", ".geoparquet"):
        raise ValueError(f"unknown anchorages format {suffix!r}: use .geojson or .parquet")
    with atomic_path(path) as tmp:  # an interrupted write leaves the old file whole
        if suffix in (".geojson", ".json"):
            if len(anchorages):
                anchorages.to_file(tmp, driver="GeoJSON")
            else:
                tmp.write_text(json.dumps({"type": "FeatureCollection", "features": []}))
        else:
            anchorages.to_parquet(tmp)
    return path


def read_anchorages(path):
    """Read a table saved by :func:`write_anchorages` (same as :func:`load_ports`)."""
    path = Path(path)
    if path.suffix.lower() in (".geojson", ".json") and path.is_file() \
            and path.stat().st_size < 80 and '"features": []' in path.read_text():
        return _empty_frame()
    return load_ports(path)
