"""Implausible times (#14 item 7, contract C6): counted under a reason, never passed on."""

from __future__ import annotations

import io
from functools import reduce

import numpy as np
import pandas as pd
import pytest

from stsdetect.ais import read_ais
from stsdetect.ais.plausible import DEFAULT_VALID_TIMES, valid_time_range
from stsdetect.cli import EXIT_BAD_INPUT, EXIT_OK, main
from stsdetect.scale.windows import window_numbers

SENTENCES = ["!AIVDM,1,1,,A,13prmQ?P001EOA4OC3h@u?vl20SR,0*7F",
             "!AIVDM,1,1,,B,13prWJW010QF:eHO>V<Koqdn0D3G,0*1A"]
TYPE5 = ["!AIVDM,2,1,3,B,55P5TL01VIaAL@7WKO@mBplU@<PDhh000000001S;AJ::4A80?4i@E53,0*3E",
         "!AIVDM,2,2,3,B,1@0000000000000,2*55"]


def _tagged(sentence: str, epoch_s: int) -> str:
    body = f"c:{epoch_s}"
    checksum = reduce(lambda a, b: a ^ b, body.encode(), 0)
    return f"\\{body}*{checksum:02X}\\{sentence}"


def _iso(sentence: str, t: str) -> str:
    """A leading ISO time column (epochs before 2001-09-09 are not read as times at all)."""
    return f"{pd.Timestamp(t):%Y-%m-%dT%H:%M:%SZ},{sentence}"


def _ok(t: str) -> int:
    return int(pd.Timestamp(t, tz="UTC").timestamp())


def test_far_future_and_pre_ais_times_are_counted_and_dropped():
    lines = [_tagged(SENTENCES[0], _ok("2024-03-01")),
             _tagged(SENTENCES[1], _ok("2024-03-01 00:10")),
             _tagged(SENTENCES[0], _ok("2100-01-01")),   # the report that made 664,776 h gaps
             _iso(SENTENCES[1], "1995-06-01"),   # before AIS existed
             SENTENCES[0]]                               # no time at all: kept (NaT)
    data = read_ais(lines)
    data.report.check()
    assert data.report.skipped["implausible_time"] == 2
    assert data.report.decoded == {1: 3}
    times = data.positions["time"]
    assert times.isna().sum() == 1
    assert (times.dropna() < pd.Timestamp("2025-01-01", tz="UTC")).all()
    assert "implausible_time" in str(data.report)


@pytest.mark.parametrize("c", ["0", "123456789", "99999999999", "999999999999",
                               "9999999999999"])
def test_tag_block_c_of_any_length_is_an_implausible_time_not_a_missing_one(c):
    """A ``c:`` of too few (or too many) digits is a wrong clock: the record is counted as
    implausible_time, not decoded with no time (which the track stage would count as
    dropped_no_time)."""
    body = f"c:{c}"
    checksum = reduce(lambda a, b: a ^ b, body.encode(), 0)
    data = read_ais([f"\\{body}*{checksum:02X}\\{SENTENCES[0]}",
                     _tagged(SENTENCES[1], _ok("2024-03-01"))])
    data.report.check()
    assert data.report.skipped == {"implausible_time": 1}
    assert len(data.positions) == 1 and data.positions["time"].notna().all()
    assert "time_unparsed" not in data.report.notes


def test_window_can_be_widened_on_either_side():
    lines = [_iso(SENTENCES[0], "1995-06-01"), _tagged(SENTENCES[1], _ok("2100-01-01"))]
    assert len(read_ais(lines).positions) == 0
    assert len(read_ais(lines, valid_times="1990-01-01..").positions) == 1
    wide = read_ais(lines, valid_times=("1990-01-01", "2200-01-01"))
    assert len(wide.positions) == 2 and "implausible_time" not in wide.report.skipped


def test_static_records_with_implausible_times():
    lines = [_tagged(TYPE5[0], _ok("2100-01-01")), TYPE5[1],
             _tagged(TYPE5[0], _ok("2024-01-01")), TYPE5[1]]
    data = read_ais(lines)
    data.report.check()
    assert data.report.skipped["implausible_time"] == 1
    assert len(data.statics) == 1 and len(data.vessels) == 1


def test_tables_too():
    csv = ("MMSI,BaseDateTime,LAT,LON,SOG,COG,Heading,VesselName,IMO,CallSign,VesselType,"
           "Status,Length,Width,Draft,Cargo,TransceiverClass\n"
           "367000001,2023-01-01T00:00:00,32.1,-79.1,0.1,10,511,A,,C,70,0,100,20,5,70,A\n"
           "367000001,2099-01-01T00:00:00,32.1,-79.1,0.1,10,511,A,,C,70,0,100,20,5,70,A\n")
    data = read_ais(io.BytesIO(csv.encode()))
    data.report.check()
    assert len(data.positions) == 1 and data.report.skipped["implausible_time"] == 1
    assert data.vessels["last_seen"].max() < pd.Timestamp("2024-01-01", tz="UTC")


def test_valid_time_range_parsing():
    lo, hi = valid_time_range()
    assert lo == pd.Timestamp("2002-01-01", tz="UTC").value
    now = pd.Timestamp.now(tz="UTC").value
    assert 0 < hi - now <= pd.Timedelta("1D").value
    assert valid_time_range("2010-05-01T12:00+02:00..now")[0] == \
        pd.Timestamp("2010-05-01T10:00", tz="UTC").value
    assert valid_time_range(None)[0] == valid_time_range(DEFAULT_VALID_TIMES)[0]
    for bad in ("2002-01-01", "yesterday..now", "2020-01-01..2010-01-01", "now+7200..",
                "..now+soon"):
        with pytest.raises(ValueError, match="valid_times"):
            valid_time_range(bad)


def test_cli_valid_times(tmp_path, capsys):
    dump = tmp_path / "d.nmea"
    dump.write_text("\n".join([_iso(SENTENCES[0], "1995-06-01"),
                               _tagged(SENTENCES[1], _ok("2020-06-01"))]) + "\n")
    out = tmp_path / "p.csv"
    assert main(["decode", str(dump), "-o", str(out)]) == EXIT_OK
    assert "implausible_time" in capsys.readouterr().out
    assert len(pd.read_csv(out)) == 1
    assert main(["-q", "decode", str(dump), "-o", str(out), "--valid-times", "1990-01-01.."]) \
        == EXIT_OK
    assert len(pd.read_csv(out)) == 2
    assert main(["-q", "decode", str(dump), "-o", str(out), "--valid-times", "soon"]) == \
        EXIT_BAD_INPUT
    assert "valid_times" in capsys.readouterr().err


def test_a_lone_far_report_does_not_stretch_a_windowed_run():
    """Windows far from any data are not run: one report years away adds its own windows only
    (it used to make the run visit every window between)."""
    spills = [{"windows": np.array([0, 1, 2])}, {"windows": np.array([1000])}]
    assert window_numbers(spills, 1).tolist() == [0, 1, 2, 3, 999, 1000]
    assert window_numbers(spills, 0).tolist() == [0, 1, 2, 1000]
    assert window_numbers([{"windows": np.array([5, 7])}], 1).tolist() == [5, 6, 7]
