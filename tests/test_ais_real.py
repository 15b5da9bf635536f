"""Every real public dump in ../shared/data reads, adds up, and agrees with pyais."""

from __future__ import annotations

import math
import re

import numpy as np
import pandas as pd
import pytest
from _reads import assert_same_read
from pyais.messages import NMEASentenceFactory

from stsdetect.ais import POSITION_COLUMNS, read_ais
from stsdetect.ais.statics import build_statics, build_vessels

# ---------------------------------------------------------------- the oracle: pyais, line by line
# Plain-Python framing (split lines, split sentences run together, drop columns after '*hh'),
# then pyais for everything else.

REQUIRED_BITS = {1: 137, 2: 137, 3: 137, 18: 133, 19: 133, 27: 94}
_SPLIT = re.compile(rb"(?<!\\)(?=![A-Z-]{2}VD[MO],)")
_TRAILER = re.compile(rb"(![^*]*\*[0-9A-Fa-f]{2}).+$")


def _nan_if(value, bad):
    return math.nan if bad else float(value)


def pyais_positions(data: bytes) -> list[tuple]:
    """(mmsi, lat, lon, sog, cog, heading) of every valid position message pyais decodes.

    The same validity rules as stsdetect's documented ones are applied to pyais's output
    (checksum valid, enough payload bits, MMSI 1..999999999, coordinates in range or the
    not-available values), and not-available values are mapped to NaN.
    """
    out = []
    open_groups: dict = {}
    for line in re.split(rb"\r\n|\r|\n", data):
        for piece in _SPLIT.split(line):
            piece = piece.strip()
            if b"VDM," not in piece and b"VDO," not in piece:
                continue
            piece = _TRAILER.sub(rb"\1", piece)  # anything after "*hh" (N-AIS columns) is metadata
            try:
                sentence = NMEASentenceFactory.produce(piece)
            except Exception:
                continue
            if not sentence.is_valid or not hasattr(sentence, "frag_cnt"):
                continue
            if sentence.frag_cnt > 1:
                key = (sentence.talker, sentence.channel, sentence.seq_id, sentence.frag_cnt)
                parts = open_groups.setdefault(key, {})
                parts[sentence.frag_num] = sentence
                if len(parts) < sentence.frag_cnt:
                    continue
                del open_groups[key]
                try:
                    sentence = type(sentence).assemble_from_iterable(
                        [parts[k] for k in range(1, sentence.frag_cnt + 1)])
                except Exception:
                    continue
            if sentence.ais_id not in REQUIRED_BITS:
                continue
            if len(sentence.bv) < REQUIRED_BITS[sentence.ais_id]:
                continue
            try:
                msg = sentence.decode()
            except Exception:
                continue
            row = _row(msg)
            if row is not None:
                out.append(row)
    return out


def _row(msg):
    t = msg.msg_type
    if not 1 <= msg.mmsi <= 999_999_999:
        return None
    lat, lon = float(msg.lat), float(msg.lon)
    if (abs(lat) > 90 and lat != 91) or (abs(lon) > 180 and lon != 181):
        return None
    speed, course = float(msg.speed), float(msg.course)
    if t == 27:
        sog = _nan_if(speed, speed == 63)
        cog = _nan_if(course, course >= 360)
        heading = math.nan
    else:
        sog = _nan_if(speed, speed >= 102.25)
        cog = _nan_if(course, course >= 360)
        heading = _nan_if(msg.heading, msg.heading >= 360)
    return (int(msg.mmsi), _nan_if(lat, lat == 91), _nan_if(lon, lon == 181), sog, cog, heading)


# ---------------------------------------------------------------- tests

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
    # the reader builds the vessels table from its columns: the same as from its frames,
    # and as pandas groupbys make it (an independent oracle, over real static histories)
    pd.testing.assert_frame_equal(data.vessels, build_vessels(data.statics, data.positions))
    if len(data.statics):
        from test_ais_statics import _build_vessels_oracle

        pd.testing.assert_frame_equal(data.vessels,
                                      _build_vessels_oracle(data.statics, data.positions))
    # ... and its statics frame typed as build_statics types it
    pd.testing.assert_frame_equal(data.statics, build_statics(data.statics))


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


@pytest.mark.parametrize("name", ["dma-aisabnormal/212123000_drift_1.ais",
                                  "gfw-ais-listener/nmea-with-tagblock.txt",
                                  "noaadata/test.ais", "chhs2131-pyais-ec/ais_20211104_16.txt"])
def test_chunk_size_does_not_change_the_result(shared_data, name):
    """$PGHP headers, tag-block groups and run-together lines survive any chunk boundary."""
    path = _path(shared_data, name)
    whole = read_ais(path, chunk_bytes=1 << 24)
    small = read_ais(path, chunk_bytes=4096)
    assert_same_read(small, whole)
