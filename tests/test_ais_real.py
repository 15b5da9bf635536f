"""Every real public dump in ../shared/data reads, adds up, and agrees with pyais."""

from __future__ import annotations

import math
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from stsdetect.ais import POSITION_COLUMNS, read_ais

sys.path.insert(0, str(Path(__file__).parent))
from ais_oracle import pyais_positions

NMEA_FILES = [
    "chhs2131-pyais-ec/ais_20211104_15.txt", "chhs2131-pyais-ec/ais_20211104_16.txt",
    "chhs2131-pyais-ec/error_data.txt", "dma-aisabnormal/212123000_drift_1.ais",
    "dma-aisabnormal/219165000_ssc_1.ais", "dma-aisabnormal/538004030_drift_1.ais",
    "dma-aisabnormal/ais-sample.txt", "dma-aislib/ais250.txt",
    "dma-aislib/decode_encode_messages.txt", "dma-aislib/replay_dump.txt",
    "dma-aislib/small_cb_example.txt", "dma-aislib/stream_example.txt",
    "gfw-ais-listener/mixed-nmea.txt", "gfw-ais-listener/nmea-with-tagblock.txt",
    "gfw-ais-listener/nmea.txt", "gfw-ais-tools/bad-tagblock-group.nmea",
    "gfw-ais-tools/bad-type5.nmea", "gfw-ais-tools/ee-multiline.nmea",
    "gfw-ais-tools/errors.nmea", "gfw-ais-tools/mixed_types.nmea",
    "gfw-ais-tools/multi-part.nmea", "gfw-ais-tools/sample.nmea",
    "gfw-ais-tools/single-message-type-5.nmea", "gfw-ais-tools/spire-test.nmea",
    "gfw-ais-tools/type1-bad-bitcount.nmea", "gfw-ais-tools/type8.nmea",
    "gpsd/ais-18-27.log", "gpsd/ais-nmea-type6-fid55.log", "gpsd/ais-nmea.log",
    "gpsd/ais-raw-messages.log", "gpsd/ais_unpack_sixbit.log", "gpsd/ait250.log",
    "gpsd/saab-r4.log", "gpsd/sample.aivdm", "libais/tagblock.nmea", "libais/test.aivdm",
    "libais/typeexamples.nmea", "noaadata/test.ais", "pyais/ais_test_messages",
    "pyais/gatehouse.nmea", "pyais/messages.ais", "pyais/mixed.txt",
    "pyais/nmea_data_sample.txt", "pyais/sample.ais", "pyais/timestamped.ais",
    "signalk/gofree-merrimac.log", "signalk/nais300-merrimac.log",
    "signalk/nais400-merrimac.log",
]


def _key(row):
    return tuple(-1e18 if isinstance(x, float) and math.isnan(x) else x for x in row)


def _same(a, b):
    return all((x == y) or (x != x and y != y) or abs(x - y) <= 1e-6
               for x, y in zip(a, b, strict=True))


def _path(shared_data, name):
    path = shared_data / name
    if not path.exists():
        pytest.skip(f"{name} is not in this copy of the shared data")
    return path


@pytest.mark.parametrize("name", NMEA_FILES)
def test_real_dump_matches_pyais(shared_data, name):
    path = _path(shared_data, name)
    data = read_ais(path)
    data.report.check()
    pos = data.positions
    assert list(pos.columns) == POSITION_COLUMNS
    assert pos["mmsi"].dtype == np.int64 and str(pos["time"].dtype) == "datetime64[ns, UTC]"
    assert pos["nav_status"].dtype == np.int8 and pos["msg_type"].dtype == np.int8
    assert pos["lat"].abs().max() <= 90 or pos.empty
    assert pos["lon"].abs().max() <= 180 or pos.empty
    raw = path.read_bytes()
    if name.endswith(".gz"):
        import gzip

        raw = gzip.decompress(raw)
    want = sorted(pyais_positions(raw), key=_key)
    ours = sorted(zip(pos["mmsi"].tolist(), pos["lat"].tolist(), pos["lon"].tolist(),
                      pos["sog_kn"].tolist(), pos["cog_deg"].tolist(),
                      pos["heading_deg"].tolist(), strict=True), key=_key)
    assert len(ours) == len(want)
    # sorting puts equal keys together; compare row by row with the lat/lon tolerance
    mismatched = [(a, b) for a, b in zip(ours, want, strict=True) if not _same(a, b)]
    assert not mismatched, mismatched[:3]


def _span(data):
    t = data.positions["time"]
    return t.min(), t.max(), t.isna().mean()


def test_tag_block_times_and_sources(shared_data):
    data = read_ais(_path(shared_data, "gfw-ais-listener/nmea-with-tagblock.txt"))
    first, last, missing = _span(data)
    assert missing == 0
    assert first >= pd.Timestamp("2022-11-10 02:09:52Z")
    assert last <= pd.Timestamp("2022-11-10 02:15:17Z")
    assert data.positions["source"].str.fullmatch(r"\d+").all()
    assert data.positions["source"].nunique() > 10
    assert len(data.vessels) > 100


def test_pghp_times(shared_data):
    data = read_ais(_path(shared_data, "dma-aisabnormal/ais-sample.txt"))
    first, last, missing = _span(data)
    assert missing == 0
    assert pd.Timestamp("2013-11-12 12:00:00Z") <= first <= last < pd.Timestamp(
        "2013-11-12 12:05:00Z")
    # the $PGHP "pss" field (receiving station) is empty on a few dozen headers of this dump
    assert data.positions["source"].str.len().gt(0).mean() > 0.99


def test_nais_trailing_times(shared_data):
    data = read_ais(_path(shared_data, "noaadata/test.ais"))
    first, last, missing = _span(data)
    assert missing == 0
    assert last - first < pd.Timedelta("2min")
    assert first.strftime("%Y-%m-%d") == "2006-07-15"
    assert data.positions["source"].str.len().gt(0).all()
    assert (data.positions["source"] == "003669987").any()
    typeexamples = read_ais(_path(shared_data, "libais/typeexamples.nmea")).positions
    assert typeexamples["time"].notna().all()
    assert typeexamples["time"].dt.year.eq(2012).all()


def test_run_together_capture_counts_each_sentence(shared_data):
    data = read_ais(_path(shared_data, "chhs2131-pyais-ec/ais_20211104_15.txt"))
    assert data.report.sentences == 1201
    assert data.report.lines >= 1201
    assert len(data.positions) > 800


def test_gpsd_type24_bad_parts_are_named(shared_data):
    data = read_ais(_path(shared_data, "gpsd/ais-18-27.log"))
    assert data.report.skipped["invalid_type24_part"] == 69


def test_all_real_files_together_with_glob(shared_data):
    data = read_ais([shared_data / "pyais" / "*.ais", shared_data / "gpsd" / "*.log"])
    data.report.check()
    singles = [read_ais(p).report for p in sorted((shared_data / "pyais").glob("*.ais"))
               + sorted((shared_data / "gpsd").glob("*.log"))]
    assert data.report.lines == sum(r.lines for r in singles)


@pytest.mark.parametrize("name", ["gfw-gpsdio-segment/416000000.json",
                                  "gfw-gpsdio-segment/338013000.json"])
def test_gfw_json_lines(shared_data, name):
    path = _path(shared_data, name)
    data = read_ais(path)
    data.report.check()
    n_rows = sum(1 for line in path.read_text().splitlines() if line.strip())
    assert data.report.lines == n_rows
    assert len(data.positions) == n_rows - data.report.skipped.get("bad_row", 0)
    assert data.positions["time"].notna().all()
