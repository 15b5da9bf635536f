"""The detection parameters recorded beside an events file, and used by evidence packages."""

from __future__ import annotations

import json
import os
import shutil

import pandas as pd
import pytest

from stsdetect.cli import EXIT_BAD_INPUT, EXIT_OK, main
from stsdetect.events import params_path, read_events, read_params, write_events
from stsdetect.simulate import demo_path as demo_dump_path


@pytest.fixture(scope="module")
def runs(tmp_path_factory):
    """Two `stsdetect detect` runs of the demo with a non-default minimum rendezvous duration,
    into two folders (same command otherwise)."""
    tmp = tmp_path_factory.mktemp("params")
    dump = tmp / "demo.nmea.gz"
    shutil.copyfile(demo_dump_path(), dump)
    outs = []
    for name in ("a", "b"):
        out = tmp / name / "events.csv"
        assert main(["detect", str(dump), "-o", str(out), "--min-duration", "3h",
                     "--min-gap", "720min", "-q"]) == EXIT_OK
        outs.append(out)
    return dump, outs


def _top(events_file):
    events = read_events(events_file)
    rv = events[events["event_type"] == "rendezvous"]
    return rv.sort_values("score", ascending=False).iloc[0]


def test_detect_records_every_stage_parameter_beside_the_events(runs):
    dump, (a, b) = runs
    side = params_path(a)
    assert side.name == "events.params.json" and side.is_file()
    record = read_params(a)
    assert record["matches_events"]
    detect = record["parameters"]
    assert detect["rendezvous"]["min_duration"] == "3h"      # given
    assert detect["dark_period"]["min_gap"] == "12h"         # given as 720min, exact text
    assert detect["rendezvous"]["max_distance_m"] == 500.0    # a default, filled in
    from stsdetect.params import STAGE_PARAMS

    assert set(detect) == set(STAGE_PARAMS)
    assert record["run"]["inputs"] == [str(dump)]
    # the run only found rendezvous lasting the recorded minimum
    events = read_events(a)
    rv = events[events["event_type"] == "rendezvous"]
    assert len(rv) and ((rv["end"] - rv["start"]) >= pd.Timedelta("3h")).all()
    # deterministic: the two runs wrote the same bytes (sorted keys, no clock)
    assert side.read_bytes() == params_path(b).read_bytes()


def test_evidence_manifest_shows_the_parameters_detect_used(runs, tmp_path):
    dump, (a, b) = runs
    top = _top(a)
    pkgs = []
    for events_file, name in ((a, "pa"), (b, "pb")):
        assert main(["evidence", str(events_file), "--event", top["event_id"], "--source",
                     str(dump), "-o", str(tmp_path / name), "-q"]) == EXIT_OK
        pkgs.append(tmp_path / name / top["event_id"])
    manifest = json.loads((pkgs[0] / "manifest.json").read_text())
    params = manifest["parameters"]
    assert params["detect_known"] is True
    assert params["detect"]["rendezvous"]["min_duration"] == "3h"
    assert params["detect"]["dark_period"]["min_gap"] == "12h"
    assert params["detect_run"]["inputs"] == [str(dump)]
    for name in sorted(p.name for p in pkgs[0].iterdir()):  # byte-identical packages
        assert (pkgs[0] / name).read_bytes() == (pkgs[1] / name).read_bytes(), name
    assert main(["evidence", "--verify", str(tmp_path / "pa")]) == EXIT_OK
    # --params would contradict the record: refused (exit 2)
    given = tmp_path / "p.json"
    given.write_text(json.dumps({"min_duration": "2h"}))
    assert main(["evidence", str(a), "--event", top["event_id"], "--source", str(dump),
                 "-o", str(tmp_path / "pc"), "--params", str(given), "-q"]) == EXIT_BAD_INPUT


def test_without_a_matching_record_the_manifest_says_parameters_unknown(runs, tmp_path):
    dump, (a, _) = runs
    top = _top(a)
    old = tmp_path / "old" / "events.csv"   # an events file from before the record existed
    old.parent.mkdir()
    shutil.copyfile(a, old)
    edited = tmp_path / "edited" / "events.csv"  # a record that describes other events
    edited.parent.mkdir()
    edited.write_bytes(a.read_bytes() + b"\n")
    shutil.copyfile(params_path(a), params_path(edited))
    for events_file, why in ((old, "no events.params.json"), (edited, "SHA-256 differs")):
        out = tmp_path / ("pkg-" + events_file.parent.name)
        assert main(["evidence", str(events_file), "--event", top["event_id"], "--source",
                     str(dump), "-o", str(out), "-q"]) == EXIT_OK
        params = json.loads((out / top["event_id"] / "manifest.json").read_text())["parameters"]
        assert params["detect_known"] is False
        assert params["detect_note"].startswith("parameters unknown") and why in \
            params["detect_note"]
        assert params["detect"]["rendezvous"]["min_duration"] == "2h"  # the default, shown
        assert "detect_run" not in params
        assert main(["evidence", "--verify", str(out)]) == EXIT_OK


def test_python_writer_records_or_removes_the_parameters(tmp_path):
    from stsdetect.events import empty_events

    path = tmp_path / "ev.parquet"
    write_events(empty_events(), path, params={"min_duration": pd.Timedelta("90min")})
    record = read_params(path)
    assert record["parameters"]["rendezvous"]["min_duration"] == "90min"
    assert record["parameters"]["flags"]["before_after_s"] == 86400.0  # unit in the name
    # per-stage dicts (DetectResult.params) are accepted too
    write_events(empty_events(), path, params={"loitering": {"min_duration": "5h"}})
    assert read_params(path)["parameters"]["loitering"]["min_duration"] == "5h"
    # written without parameters: a record of earlier events would mislead, so it goes
    write_events(empty_events(), path)
    assert read_params(path) is None and not params_path(path).exists()
    with pytest.raises(ValueError, match="positive"):  # checked before anything is written
        write_events(empty_events(), tmp_path / "bad.csv", params={"max_distance_m": -1})
    assert not (tmp_path / "bad.csv").exists()


def test_detect_refuses_a_read_only_parameters_file_before_any_work(runs, tmp_path):
    dump, _ = runs
    out = tmp_path / "events.csv"
    side = params_path(out)
    side.write_text("{}")
    os.chmod(side, 0o444)
    try:
        assert main(["detect", str(dump), "-o", str(out), "-q"]) == EXIT_BAD_INPUT
    finally:
        os.chmod(side, 0o644)
    assert not out.exists() and side.read_text() == "{}"
