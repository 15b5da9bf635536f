"""Regions: built-in polygons against known points, user regions, vectorized membership."""

from __future__ import annotations

import subprocess
import sys
import warnings

import geopandas as gpd
import numpy as np
import pandas as pd
import pytest
import shapely
from hypothesis import given, settings
from hypothesis import strategies as st
from shapely.geometry import MultiPolygon, Point, box

from stsdetect.regions import (
    BUILTIN_REGIONS,
    REGION_SOURCES,
    load_regions,
    region_mask,
    regions_at,
)

CHINESE = {"hangzhou_bay", "yangtze_estuary", "ningbo_zhoushan", "china_territorial_sea"}

# (lat, lon, regions it must be in, regions it must not be in)
KNOWN = [
    (30.4, 121.4, {"hangzhou_bay", "china_territorial_sea"}, {"yangtze_estuary"}),  # the bay
    (29.8, 124.5, set(), CHINESE),                                  # open East China Sea
    (31.3, 121.9, {"yangtze_estuary", "china_territorial_sea"}, {"hangzhou_bay"}),  # S channel
    (31.8, 121.2, {"yangtze_estuary", "china_territorial_sea"}, set()),  # North Branch
    (30.0, 122.3, {"ningbo_zhoushan", "china_territorial_sea"}, {"hangzhou_bay"}),  # Zhoushan
    (29.9, 122.4, {"ningbo_zhoushan", "china_territorial_sea"}, set()),   # Xiazhimen anchorage
    (30.7, 123.3, {"china_territorial_sea"}, {"ningbo_zhoushan"}),  # ~8 nmi east of Haijiao
    (30.7, 123.6, set(), CHINESE),                                  # ~22 nmi east of Haijiao
    (32.0, 122.9, set(), CHINESE),                                  # outside the baseline
    (32.0, 122.1, {"china_territorial_sea"}, set()),                # 4 nmi off P10-P11 line
    (32.0, 122.3, set(), CHINESE),                                  # 13.5 nmi off that line
    (26.0, 120.5, set(), CHINESE),                                  # south of the covered stretch
    (39.0, 124.0, {"korea_bay"}, CHINESE | {"dprk_west_coast"}),   # middle of Korea Bay
    (38.75, 125.05, {"korea_bay", "dprk_west_coast"}, CHINESE),    # off Nampho
    (37.9, 125.5, {"dprk_west_coast"}, {"korea_bay"}),              # off Haeju
    (37.0, 124.0, set(), set(BUILTIN_REGIONS)),                    # central Yellow Sea
    (37.45, 126.6, set(), set(BUILTIN_REGIONS)),                   # Incheon (ROK)
    (55.7, 12.6, set(), set(BUILTIN_REGIONS)),                     # Copenhagen
]


def test_builtins_present_and_documented():
    assert set(BUILTIN_REGIONS) == CHINESE | {"korea_bay", "dprk_west_coast"}
    for name in BUILTIN_REGIONS:
        assert len(REGION_SOURCES[name]) > 60, name
    frame = load_regions()
    assert list(frame.columns) == ["name", "geometry"]
    assert frame.crs.to_epsg() == 4326
    assert frame.is_valid.all() and (~frame.is_empty).all()
    assert set(frame.geom_type) <= {"Polygon", "MultiPolygon"}


@pytest.mark.parametrize(("lat", "lon", "inside", "outside"), KNOWN)
def test_known_points(lat, lon, inside, outside):
    got = set(regions_at([lat], [lon])[0])
    assert inside <= got, (inside, got)
    assert not (outside & got), (outside, got)


def test_china_territorial_sea_is_baseline_plus_12_nmi():
    # points 11 and 12 nmi seaward of base point 12 (Haijiao) along its parallel
    lat = 30 + 44.1 / 60
    lon0 = 123 + 9.4 / 60
    dlon_per_nmi = 1 / 60 / np.cos(np.radians(lat))
    m = region_mask([lat, lat], [lon0 + 11 * dlon_per_nmi, lon0 + 13 * dlon_per_nmi],
                    ["china_territorial_sea"])
    assert m[:, 0].tolist() == [True, False]


def test_unknown_name_lists_valid_ones():
    with pytest.raises(ValueError, match=r"hangzhou_bay.*korea_bay"):
        load_regions("hangzhou")
    with pytest.raises(ValueError, match="not found"):
        load_regions("nowhere.geojson")
    with pytest.raises(TypeError):
        load_regions([42])


def test_select_builtins_by_name_keeps_order():
    frame = load_regions(["korea_bay", "hangzhou_bay"])
    assert frame["name"].tolist() == ["korea_bay", "hangzhou_bay"]
    assert region_mask([30.4], [121.4], frame).tolist() == [[False, True]]


def _user_frame(crs="EPSG:4326"):
    frame = gpd.GeoDataFrame({"name": ["box_a", "box_b"]},
                             geometry=[box(121.0, 30.0, 122.0, 31.0),
                                       box(10.0, 50.0, 11.0, 51.0)], crs="EPSG:4326")
    return frame.to_crs(crs)


def test_user_regions_geojson_shapefile_and_frame(tmp_path):
    frame = _user_frame()
    frame.to_file(tmp_path / "mine.geojson", driver="GeoJSON")
    frame.to_file(tmp_path / "mine.shp")
    for src in (tmp_path / "mine.geojson", str(tmp_path / "mine.shp"), frame,
                _user_frame("EPSG:3857")):
        loaded = load_regions(src)
        assert loaded["name"].tolist() == ["box_a", "box_b"]
        got = regions_at([30.5, 50.5, 0.0], [121.5, 10.5, 0.0], loaded)
        assert got == [("box_a",), ("box_b",), ()]
    mixed = load_regions(["hangzhou_bay", frame])
    assert regions_at([30.4], [121.4], mixed) == [("hangzhou_bay", "box_a")]


def test_user_region_errors(tmp_path):
    nameless = gpd.GeoDataFrame({"x": [1, 2]}, geometry=[box(0, 0, 1, 1), box(2, 2, 3, 3)],
                                crs="EPSG:4326")
    with pytest.raises(ValueError, match="'name' column"):
        load_regions(nameless)
    with pytest.raises(ValueError, match="CRS"):
        load_regions(gpd.GeoDataFrame({"name": ["a"]}, geometry=[box(0, 0, 1, 1)]))
    with pytest.raises(ValueError, match="polygons"):
        load_regions(gpd.GeoDataFrame({"name": ["a"]}, geometry=[Point(0, 0)], crs="EPSG:4326"))
    # a single nameless feature in a file takes the file's stem
    one = gpd.GeoDataFrame({"x": [1]}, geometry=[box(0, 0, 1, 1)], crs="EPSG:4326")
    one.to_file(tmp_path / "anchorage_7.geojson", driver="GeoJSON")
    assert load_regions(tmp_path / "anchorage_7.geojson")["name"].tolist() == ["anchorage_7"]


def test_antimeridian_region_and_wrapped_longitudes():
    frame = gpd.GeoDataFrame(
        {"name": ["dateline"]},
        geometry=[MultiPolygon([box(179.0, -1.0, 180.0, 1.0), box(-180.0, -1.0, -179.0, 1.0)])],
        crs="EPSG:4326")
    m = region_mask([0.0, 0.0, 0.0, 0.0], [179.5, -179.5, 539.5, 178.0], frame)
    assert m[:, 0].tolist() == [True, True, True, False]
    # the same area drawn continuously past 180 (and past -180)
    for geom in (box(179.0, -1.0, 181.0, 1.0), box(-181.0, -1.0, -179.0, 1.0)):
        frame = gpd.GeoDataFrame({"name": ["dateline"]}, geometry=[geom], crs="EPSG:4326")
        m = region_mask([0.0, 0.0, 0.0, 0.0, 5.0], [179.5, -179.5, 539.5, 178.0, 179.5], frame)
        assert m[:, 0].tolist() == [True, True, True, False, False]


def test_empty_and_nan_inputs():
    assert region_mask([], []).shape == (0, len(BUILTIN_REGIONS))
    assert regions_at([], []) == []
    assert not region_mask([np.nan, 30.4], [121.4, np.nan]).any()
    with pytest.raises(ValueError, match="values"):
        region_mask([1.0, 2.0], [1.0])


points = st.lists(st.tuples(st.floats(27.0, 41.0), st.floats(118.0, 127.0)),
                  min_size=1, max_size=40)


@settings(max_examples=25, deadline=None)
@given(points)
def test_mask_matches_per_point_oracle(pts):
    lat = np.array([p[0] for p in pts])
    lon = np.array([p[1] for p in pts])
    frame = load_regions()
    m = region_mask(lat, lon, frame)
    for j, geom in enumerate(frame.geometry):          # brute-force oracle, test only
        expect = [geom.intersects(Point(x, y)) for x, y in zip(lon, lat, strict=True)]
        assert m[:, j].tolist() == expect


@settings(max_examples=15, deadline=None)
@given(points, st.randoms(use_true_random=False))
def test_mask_is_order_invariant(pts, rnd):
    lat = np.array([p[0] for p in pts])
    lon = np.array([p[1] for p in pts])
    perm = np.arange(len(pts))
    rnd.shuffle(perm)
    assert (region_mask(lat, lon)[perm] == region_mask(lat[perm], lon[perm])).all()


def test_package_data_is_reproducible(tmp_path, shared_data):
    """tools/make_regions.py regenerates exactly the shipped GeoJSON from ../shared/data."""
    import importlib.util
    from pathlib import Path

    repo = Path(__file__).resolve().parents[1]
    spec = importlib.util.spec_from_file_location("make_regions", repo / "tools/make_regions.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    out = tmp_path / "regions.geojson"
    module.main(["--shared", str(shared_data), "--out", str(out)])
    shipped = repo / "src/stsdetect/data/regions.geojson"
    assert out.read_text() == shipped.read_text()
    assert shapely.equals(load_regions(out).geometry.iloc[0], load_regions().geometry.iloc[0])


# --------------------------------------------------------------- #14 items 8 and 10: bad regions
def _region_file(path, coords, name="box"):
    import json

    path.write_text(json.dumps({"type": "FeatureCollection", "features": [{
        "type": "Feature", "properties": {"name": name},
        "geometry": {"type": "Polygon", "coordinates": [coords]}}]}))
    return path


@pytest.mark.parametrize("name", ["dprk", "barge", "Watchlist", "dark_before", "anchorage"])
def test_region_named_like_a_flag_is_refused(tmp_path, name):
    """A user region named 'dprk' set the dprk flag on every event inside it."""
    path = _region_file(tmp_path / "r.geojson", [[0, 0], [1, 0], [1, 1], [0, 0]], name=name)
    with pytest.raises(ValueError, match="are event flags"):
        load_regions(str(path))


def test_reserved_names_cover_every_non_region_flag():
    from stsdetect.flags import DEFAULT_WEIGHTS
    from stsdetect.regions import RESERVED_NAMES

    assert set(DEFAULT_WEIGHTS) - set(BUILTIN_REGIONS) <= RESERVED_NAMES


@pytest.mark.parametrize(("text", "needle"), [
    ('{"type": "FeatureCollection", "features": [{"type": "Feature", "properties": '
     '{"name": "box"}, "geometry": {"type": "Polygon", "coordinates": '
     '[[[0, 0], [1, 0], [1, 1], [0, 1]]]}}]}', "closed"),
    ('{"type": "FeatureCollection", "features": [{"type": "Feature", "properties": '
     '{"name": "box"}, "geometry": {"type": "Polygon", "coordinates": '
     '[[[0, 0], [1, 0], [NaN, 1], [0, 0]]]}}]}', "NaN"),
    ("not json at all", "cannot read region file"),
])
def test_broken_region_files_are_exit_2(tmp_path, capsys, text, needle):
    """An unclosed ring, NaN coordinates or no JSON gave exit 1 (an internal error)."""
    from stsdetect.cli import EXIT_BAD_INPUT, main

    path = tmp_path / "r.geojson"
    path.write_text(text)
    with pytest.raises(ValueError, match=needle):
        load_regions(str(path))
    dump = tmp_path / "d.nmea"
    dump.write_text("!AIVDM,1,1,,A,13prmQ?P001EOA4OC3h@u?vl20SR,0*7F\n")
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        assert main(["-q", "detect", str(dump), "-o", str(tmp_path / "e.csv"), "--region",
                     str(path)]) == EXIT_BAD_INPUT
    # (pyogrio's RuntimeWarning about the unclosed ring leaked beside the error)
    assert [str(w.message) for w in caught] == []
    err = capsys.readouterr().err
    assert needle in err and len(err.strip().splitlines()) == 1


def test_unclosed_ring_file_is_one_error_line_from_the_command(tmp_path):
    """The command's stderr (a process: no pytest warning capture) is the one error line,
    naming the fault, without the reader's raw RuntimeWarning."""
    path = tmp_path / "r.geojson"
    path.write_text('{"type": "FeatureCollection", "features": [{"type": "Feature", '
                    '"properties": {"name": "box"}, "geometry": {"type": "Polygon", '
                    '"coordinates": [[[0, 0], [1, 0], [1, 1], [0, 1]]]}}]}')
    dump = tmp_path / "d.nmea"
    dump.write_text("!AIVDM,1,1,,A,13prmQ?P001EOA4OC3h@u?vl20SR,0*7F\n")
    proc = subprocess.run([sys.executable, "-m", "stsdetect", "-q", "detect", str(dump), "-o",
                           str(tmp_path / "e.csv"), "--region", str(path)],
                          capture_output=True, text=True, timeout=120)
    assert proc.returncode == 2
    assert "RuntimeWarning" not in proc.stderr and "Warning" not in proc.stderr
    assert proc.stderr.strip().splitlines() == [
        f"stsdetect detect: error: cannot read region file {path}: a polygon ring is not "
        "closed (its last point must repeat its first); IllegalArgumentException: Points of "
        "LinearRing do not form a closed linestring"]


def test_reader_warning_on_a_file_read_is_said_once_naming_the_file(tmp_path, monkeypatch):
    """A file the reader reads, complaining: its warning comes back once, as a UserWarning
    naming the file, not as the library's raw RuntimeWarning."""
    path = _region_file(tmp_path / "ok.geojson", [[0, 0], [1, 0], [1, 1], [0, 1], [0, 0]])
    real = gpd.read_file

    def complaining(p, *args, **kwargs):
        warnings.warn("Something odd in the file\n detected", RuntimeWarning, stacklevel=2)
        warnings.warn("Something odd in the file\n detected", RuntimeWarning, stacklevel=2)
        return real(p, *args, **kwargs)

    monkeypatch.setattr(gpd, "read_file", complaining)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        frame = load_regions(str(path))
    assert frame["name"].tolist() == ["box"]
    assert [(w.category, str(w.message)) for w in caught] == [
        (UserWarning, f"region file {path}: Something odd in the file detected")]


def test_self_intersecting_region_is_repaired_and_said(tmp_path):
    path = _region_file(tmp_path / "bow.geojson", [[0, 0], [1, 1], [1, 0], [0, 1], [0, 0]])
    with pytest.warns(UserWarning, match="make_valid"):
        frame = load_regions(str(path))
    assert frame.geometry.iloc[0].is_valid
    # both lobes of the bow tie count: points in each are inside
    assert region_mask([0.5, 0.5, 0.9], [0.1, 0.9, 0.5], frame)[:, 0].tolist() == \
        [True, True, False]


# --- built-in regions without geopandas (the command line's default) -------------------------

@pytest.mark.parametrize("regions", [None, "korea_bay", ["dprk_west_coast", "hangzhou_bay"],
                                     list(BUILTIN_REGIONS)])
def test_builtin_region_table_equals_load_regions(regions):
    """The plain table of built-ins: the same names and geometries as load_regions' frame,
    taken as loaded (returned as is) by load_regions, region_mask and regions_at."""
    from stsdetect.regions import _region_table

    light, geo = _region_table(regions), load_regions(regions)
    assert type(light) is pd.DataFrame and list(light.columns) == ["name", "geometry"]
    assert light["name"].tolist() == geo["name"].tolist()
    assert all(a.equals_exact(b, 0.0) for a, b in zip(light["geometry"], geo.geometry,
                                                        strict=True))
    assert load_regions(light) is light
    lat, lon = np.array([30.4, 39.0, 37.9, 55.7]), np.array([121.4, 124.0, 125.5, 12.6])
    assert (region_mask(lat, lon, light) == region_mask(lat, lon, geo)).all()
    assert regions_at(lat, lon, light) == regions_at(lat, lon, geo)


def test_region_table_other_inputs_go_through_load_regions(tmp_path):
    """Files, frames, repeated names and unknown names take load_regions' path (its frame, its
    errors); a plain DataFrame not made by _region_table is not taken as loaded."""
    from stsdetect.regions import _region_table

    path = tmp_path / "zone.geojson"
    gpd.GeoDataFrame({"name": ["zone"]}, geometry=[box(0, 0, 1, 1)],
                     crs="EPSG:4326").to_file(path, driver="GeoJSON")
    for regions in (str(path), ["korea_bay", "korea_bay"], ["korea_bay", str(path)]):
        assert isinstance(_region_table(regions), gpd.GeoDataFrame)
    with pytest.raises(ValueError, match="unknown region"):
        _region_table(["korea_bay", "atlantis"])
    fake = pd.DataFrame({"name": ["dprk_zone"], "geometry": [box(0, 0, 1, 1)]})
    with pytest.raises(ValueError, match="unknown region 'name'"):  # read as a list of names
        region_mask([0.5], [0.5], fake)


@settings(max_examples=20, deadline=None)
@given(points)
def test_builtin_region_table_mask_matches_geodataframe(pts):
    """Hypothesis: on random points around the built-ins, the plain table's mask is the
    GeoDataFrame's."""
    from stsdetect.regions import _region_table

    lat = np.array([p[0] for p in pts])
    lon = np.array([p[1] for p in pts])
    assert (region_mask(lat, lon, _region_table()) == region_mask(lat, lon, load_regions())).all()
