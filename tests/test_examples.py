"""The investigator scripts in examples/ run as they are, on the bundled demo and on a dump path."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from stsdetect.simulate import demo_path, demo_truth_path, read_truth, simulate

EXAMPLES = Path(__file__).resolve().parents[1] / "examples"


def _run(script, *args, cwd=None):
    proc = subprocess.run([sys.executable, str(EXAMPLES / script), *map(str, args)],
                          capture_output=True, text=True, timeout=300, cwd=cwd)
    assert proc.returncode == 0, proc.stderr
    return proc.stdout


@pytest.fixture(scope="module")
def truth():
    return read_truth(demo_truth_path())


def test_barge_transfers_in_hangzhou_bay(truth, tmp_path):
    out = _run("barge_transfers_hangzhou_bay.py", cwd=tmp_path)
    bay = truth[(truth["kind"] == "transfer") & (truth["region"] == "hangzhou_bay")]
    assert len(bay) == 1 and out.startswith("1 barge transfer(s) in hangzhou_bay")
    row = bay.iloc[0]
    assert str(row.mmsi) in out and str(row.other_mmsi) in out
    # The Yangtze transfer is not in Hangzhou Bay, nor are the decoys.
    for other in truth.loc[truth["region"] != "hangzhou_bay", "other_mmsi"].dropna():
        assert str(other) not in out
    out = _run("barge_transfers_hangzhou_bay.py", "--region", "yangtze_estuary", cwd=tmp_path)
    yz = truth[(truth["kind"] == "transfer") & (truth["region"] == "yangtze_estuary")].iloc[0]
    assert str(yz.mmsi) in out and str(yz.other_mmsi) in out


def test_dprk_dark_periods_and_where_they_ended(truth, tmp_path):
    out = _run("dprk_dark_periods.py", cwd=tmp_path)
    dark = truth[(truth["kind"] == "dark_period") & truth["mmsi"].astype(str).str.startswith("445")]
    assert out.startswith(f"{len(dark)} dark period(s) of DPRK vessels")
    lines = {line.split()[0]: line for line in out.splitlines()[2:]}
    assert set(lines) == {str(m) for m in dark["mmsi"]}
    transfers = truth[truth["kind"] == "transfer"]
    for row in transfers.itertuples():
        # Reappeared in the transfer's region, then met the barge.
        assert row.region in lines[str(row.other_mmsi)]
        assert str(row.mmsi) in lines[str(row.other_mmsi)]


def test_check_watchlist_on_the_demo_and_on_a_given_dump(tmp_path):
    out = _run("check_watchlist.py", cwd=tmp_path)
    assert out.startswith("2 of ")
    assert "445999001" in out and "445999002" in out and "EXAMPLE STAR" in out
    assert "imo 1000019" in out
    events_part = out.split("event(s) involving listed vessels:")
    assert int(events_part[0].split("\n")[-1]) >= 4
    # A dump without listed vessels, given by path.
    dump = simulate(seed=9, duration="36h", n_background=2, n_anchored=1,
                    min_interval_s=600).write(tmp_path)["nmea"]
    out = _run("check_watchlist.py", dump, cwd=tmp_path)
    assert out.startswith("0 of ")
    # #14 item 12: the watch-list as the second argument, as the README shows it (it was
    # decoded as a second dump)
    listed = tmp_path / "mine.csv"
    listed.write_text("name,imo,mmsi,callsign\nNOBODY,,445999001,\n")
    out = _run("check_watchlist.py", str(demo_path()), listed, cwd=tmp_path)
    assert out.startswith("1 of ") and "mine.csv" in out.splitlines()[0]
