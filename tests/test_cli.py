"""The ``stsdetect`` command line, run in-process through ``main([...])`` and once as a process."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest

from stsdetect.cli import EXIT_BAD_INPUT, EXIT_EMPTY, EXIT_OK, main
from stsdetect.events import read_events
from stsdetect.simulate import read_truth, simulate


@pytest.fixture(scope="module")
def scenario_dir(tmp_path_factory):
    out = tmp_path_factory.mktemp("scenario")
    code = main(["simulate", "-o", str(out), "--seed", "3", "--duration", "40h",
                 "--background", "3", "--min-interval", "3min", "-q"])
    assert code == EXIT_OK
    return out


@pytest.fixture(scope="module")
def detected(scenario_dir, tmp_path_factory):
    out = tmp_path_factory.mktemp("detect") / "events.csv"
    code = main(["detect", str(scenario_dir / "scenario.nmea.gz"), "-o", str(out), "-q"])
    assert code == EXIT_OK
    return out


def _one_error_line(capsys, *needles):
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1, err
    for needle in needles:
        assert needle in err, err
    return err


@pytest.mark.parametrize("cmd", [[], ["detect"], ["decode"], ["simulate"], ["demo"], ["plot"],
                                 ["report"]])
def test_help_documents_every_command(cmd, capsys):
    assert main([*cmd, "--help"]) == EXIT_OK
    out = capsys.readouterr().out
    assert "exit codes" in out
    if cmd == ["detect"]:
        for option in ("--fail-on-empty", "--max-distance", "--min-duration", "--max-speed",
                       "--min-gap", "--region", "--watchlist", "--only", "--max-gap", "--step",
                       "--quiet", "--log-level", "90min"):
            assert option in out


def test_no_command_prints_help_and_fails(capsys):
    assert main([]) == EXIT_BAD_INPUT
    assert "COMMAND" in capsys.readouterr().out


def test_simulate_writes_scenario_and_truth(scenario_dir):
    truth = read_truth(scenario_dir / "scenario_truth.csv")
    assert (truth["kind"] == "transfer").sum() == 2
    vessels = pd.read_csv(scenario_dir / "scenario_vessels.csv")
    assert vessels["mmsi"].astype(str).str.startswith("445").any()
    same = simulate(seed=3, duration="40h", n_background=3, min_interval_s=180)
    import gzip

    assert gzip.decompress((scenario_dir / "scenario.nmea.gz").read_bytes()) == same.nmea


def test_simulate_options(tmp_path):
    out = tmp_path / "s"
    assert main(["simulate", "-o", str(out), "--duration", "12h", "--transfers", "0",
                 "--dark-rendezvous", "0", "--no-decoys", "--background", "1", "--anchored",
                 "0", "--no-noise", "--no-gzip", "-q"]) == EXIT_OK
    truth = read_truth(out / "scenario_truth.csv")
    assert set(truth["kind"]) == {"anchorage_pair", "tow", "pair_trawl"}
    text = (out / "scenario.nmea").read_text()
    # No noise: every line is complete and its checksum is right.
    for line in text.splitlines():
        m = re.fullmatch(r"\\s:\w+,c:\d{10}\*[0-9A-F]{2}\\!(AIVDM,.*)\*([0-9A-F]{2})", line)
        assert m, line
        xor = 0
        for ch in m.group(1).encode():
            xor ^= ch
        assert xor == int(m.group(2), 16), line
    assert main(["simulate", "-o", str(out), "--anchored", "-1"]) == EXIT_BAD_INPUT


def test_decode_writes_positions_and_vessels_beside(scenario_dir, tmp_path, capsys):
    out = tmp_path / "pos.parquet"
    assert main(["decode", str(scenario_dir / "scenario.nmea.gz"), "-o", str(out)]) == EXIT_OK
    text = capsys.readouterr().out
    assert "Decode report" in text and "bad_checksum" in text
    positions = pd.read_parquet(out)
    vessels = pd.read_parquet(tmp_path / "pos.vessels.parquet")
    truth_vessels = pd.read_csv(scenario_dir / "scenario_vessels.csv")
    assert set(positions["mmsi"]) == set(truth_vessels["mmsi"])
    assert set(vessels["mmsi"]) == set(truth_vessels.loc[truth_vessels["has_static"], "mmsi"])
    # CSV output too.
    assert main(["decode", str(scenario_dir / "scenario.nmea.gz"), "-o",
                 str(tmp_path / "pos.csv"), "-q"]) == EXIT_OK
    assert len(pd.read_csv(tmp_path / "pos.csv")) == len(positions)


def test_detect_finds_the_transfers_and_prints_a_ranked_table(scenario_dir, detected, capsys):
    events = read_events(detected)
    truth = read_truth(scenario_dir / "scenario_truth.csv")
    transfers = truth[truth["kind"] == "transfer"]
    rv = events[events["event_type"] == "rendezvous"]
    for row in transfers.itertuples():
        assert ((rv["mmsi"] == row.mmsi) & (rv["other_mmsi"] == row.other_mmsi)).any()
    capsys.readouterr()
    code = main(["detect", str(scenario_dir / "scenario.nmea.gz"), "-o",
                 str(detected.with_name("again.geojson")), "--top", "3"])
    assert code == EXIT_OK
    captured = capsys.readouterr()
    assert "Decode report" in captured.out and "Top events by score" in captured.out
    table = captured.out.split("Top events by score:")[1]
    assert "more (all in the output file)" in table
    # Not a terminal: no progress bars on stderr.
    assert captured.err == ""
    assert len(read_events(detected.with_name("again.geojson"))) == len(events)


def test_detect_reads_decoded_positions_like_the_dump(scenario_dir, detected, tmp_path):
    pos = tmp_path / "pos.parquet"
    assert main(["decode", str(scenario_dir / "scenario.nmea.gz"), "-o", str(pos), "-q"]) == 0
    out = tmp_path / "events.parquet"
    assert main(["detect", str(pos), "-o", str(out), "-q"]) == EXIT_OK
    a, b = read_events(detected), read_events(out)
    assert list(a["event_id"]) == list(b["event_id"])
    assert [sorted(f) for f in a["flags"]] == [sorted(f) for f in b["flags"]]


def test_detect_parameters_reach_the_detectors(scenario_dir, tmp_path, capsys):
    out = tmp_path / "e.csv"
    code = main(["detect", str(scenario_dir / "scenario.nmea.gz"), "-o", str(out), "--only",
                 "rendezvous", "--max-distance", "50", "--min-duration", "90min", "-q"])
    assert code == EXIT_OK
    assert "No events found" in capsys.readouterr().out
    assert len(read_events(out)) == 0
    code = main(["detect", str(scenario_dir / "scenario.nmea.gz"), "-o", str(out), "--only",
                 "rendezvous", "--max-distance", "50", "--fail-on-empty", "-q"])
    assert code == EXIT_EMPTY
    code = main(["detect", str(scenario_dir / "scenario.nmea.gz"), "-o", str(out), "--only",
                 "dark_period", "--min-gap", "1d", "-q"])
    events = read_events(out)
    assert code == EXIT_OK and set(events["event_type"]) <= {"dark_period"}
    assert (events["duration_h"] >= 24).all()


def test_detect_region_file_and_watchlist(scenario_dir, tmp_path):
    import geopandas as gpd
    from shapely.geometry import box

    region = tmp_path / "bay.geojson"
    gpd.GeoDataFrame({"name": ["my_box"]}, geometry=[box(121.0, 30.3, 122.0, 30.6)],
                     crs="EPSG:4326").to_file(region, driver="GeoJSON")
    truth = read_truth(scenario_dir / "scenario_truth.csv")
    barge = int(truth.loc[truth["kind"] == "transfer", "mmsi"].iloc[0])
    watch = tmp_path / "watch.csv"
    watch.write_text(f"mmsi,name\n{barge},WATCHED BARGE\n")
    out = tmp_path / "e.csv"
    code = main(["detect", str(scenario_dir / "scenario.nmea.gz"), "-o", str(out), "--region",
                 str(region), "--watchlist", str(watch), "-q"])
    assert code == EXIT_OK
    events = read_events(out)
    flagged = events[[("watchlist" in f) for f in events["flags"]]]
    assert len(flagged) and ((flagged["mmsi"] == barge) | (flagged["other_mmsi"] == barge)).all()
    assert any("my_box" in f for f in events["flags"])


@pytest.mark.parametrize(
    ("argv", "needles"),
    [
        (["detect", "missing.nmea", "-o", "e.csv"], ["not found", "missing.nmea"]),
        (["decode", "missing.nmea", "-o", "p.parquet"], ["not found"]),
        (["detect", "{scenario}", "-o", "e.csv", "--min-duration", "2 hours-ish"],
         ["--min-duration", "not a duration"]),
        (["detect", "{scenario}", "-o", "e.csv", "--min-gap", "-1h"], ["--min-gap"]),
        # #14 item 5: bare numbers were read as nanoseconds
        (["detect", "{scenario}", "-o", "e.csv", "--min-duration", "7200"],
         ["--min-duration", "has no unit"]),
        (["detect", "{scenario}", "-o", "e.csv", "--min-gap", "21600"], ["has no unit"]),
        (["detect", "{scenario}", "-o", "e.csv", "--step", "1ns"], ["step", "shortest"]),
        (["detect", "{scenario}", "-o", "e.csv", "--region", "atlantis"],
         ["unknown region", "atlantis", "hangzhou_bay"]),
        (["detect", "{scenario}", "-o", "e.csv", "--region", "nowhere.geojson"], ["not found"]),
        (["detect", "{scenario}", "-o", "e.csv", "--only", "rendezvous,teleport"],
         ["teleport"]),
        (["detect", "{scenario}", "-o", "e.csv", "--max-speed", "-2"], ["--max-speed"]),
        (["detect", "{scenario}", "-o", "events.txt"], [".csv"]),
        (["detect", "{dir}", "-o", "e.csv"], ["folder"]),
        (["detect", "{corrupt}", "-o", "e.csv"], ["cannot read"]),
        (["detect", "{scenario}", "-o", "e.csv", "--watchlist", "nolist.csv"], ["not found"]),
        (["simulate", "-o", "x", "--duration", "10h"], ["too short"]),
        (["detect", "{scenario}", "-o", "e.csv", "--format", "bogus"], ["unknown format"]),
        (["detect", "{scenario}", "{table}", "-o", "e.csv"], ["not a mix"]),
        (["detect", "{table_bad}", "-o", "e.csv"], ["not a positions table"]),
    ],
)
def test_bad_input_is_one_clear_line_and_exit_2(argv, needles, scenario_dir, tmp_path, capsys,
                                                monkeypatch):
    monkeypatch.chdir(tmp_path)
    corrupt = tmp_path / "corrupt.nmea.gz"
    corrupt.write_bytes(b"\x1f\x8b\x08\x00garbage")
    table = tmp_path / "pos.parquet"
    pd.DataFrame({"mmsi": [1], "time": pd.to_datetime(["2024-01-01"], utc=True), "lat": [0.0],
                  "lon": [0.0]}).to_parquet(table)
    table_bad = tmp_path / "other.parquet"
    pd.DataFrame({"x": [1]}).to_parquet(table_bad)
    fill = {"scenario": str(scenario_dir / "scenario.nmea.gz"), "dir": str(tmp_path),
            "corrupt": str(corrupt), "table": str(table), "table_bad": str(table_bad)}
    argv = [a.format(**fill) for a in argv]
    assert main(argv) == EXIT_BAD_INPUT
    _one_error_line(capsys, *needles)


def test_an_input_that_is_not_ais_is_told_plainly(tmp_path, capsys):
    """#15 item 5: a file with no AIS in it exits 2 with a message, and nothing is written."""
    junk = tmp_path / "notes.txt"
    junk.write_text("hello\nworld\n")
    for cmd in ("detect", "decode"):
        out = tmp_path / f"{cmd}.csv"
        assert main([cmd, str(junk), "-o", str(out), "-q"]) == EXIT_BAD_INPUT
        _one_error_line(capsys, "no AIS messages", "notes.txt", "not_nmea")
        assert not out.exists()


def test_unusable_dump_says_what_was_dropped_and_cleaning_is_printed(tmp_path, capsys):
    """#14 item 12: a dump with no usable times said "No events found ... with these
    parameters"; the cleaning summary (with dropped_no_time) is printed after every detect."""
    dump = tmp_path / "no_times.nmea"  # bare sentences: no time anywhere
    dump.write_text("!AIVDM,1,1,,A,13prmQ?P001EOA4OC3h@u?vl20SR,0*7F\n"
                    "!AIVDM,1,1,,B,13prWJW010QF:eHO>V<Koqdn0D3G,0*1A\n")
    assert main(["detect", str(dump), "-o", str(tmp_path / "e.csv")]) == EXIT_OK
    out = capsys.readouterr().out
    assert "Track cleaning: 2 positions in, 0 kept; dropped: 2 without a time" in out
    assert "None of the 2 positions decoded from" in out and "No events found" not in out


def test_cleaning_summary_after_detect(detected, scenario_dir, tmp_path, capsys):
    out = tmp_path / "e.csv"
    assert main(["detect", str(scenario_dir / "scenario.nmea.gz"), "-o", str(out)]) == EXIT_OK
    text = capsys.readouterr().out
    assert re.search(r"Track cleaning: [\d,]+ positions in, [\d,]+ kept; dropped: ", text)


def test_plot_and_report(detected, scenario_dir, tmp_path, capsys):
    from stsdetect.events import write_events

    dump = str(scenario_dir / "scenario.nmea.gz")
    # The three top-scored events keep the figures few (each map takes a moment).
    top = read_events(detected).sort_values("score", ascending=False).head(3)
    detected = write_events(top, tmp_path / "top.csv")
    assert main(["plot", str(detected), "-o", str(tmp_path / "map.png"), "--tracks", dump]) == 0
    assert (tmp_path / "map.png").read_bytes()[:4] == b"\x89PNG"
    assert main(["plot", str(detected), "-o", str(tmp_path / "maps"), "--each"]) == 0
    assert len(list((tmp_path / "maps").glob("*.png"))) == len(read_events(detected))
    assert main(["report", str(detected), "-o", str(tmp_path / "r.html"), "--tracks",
                 dump]) == 0
    html = (tmp_path / "r.html").read_text()
    assert "<html" in html.lower() and str(read_events(detected)["mmsi"].iloc[0]) in html
    assert html.count("<img") == 2 * 3  # a map and a timeline per event
    assert main(["report", str(detected), "-o", str(tmp_path / "r1.html"), "--tracks", dump,
                 "--max-figures", "1"]) == 0
    assert (tmp_path / "r1.html").read_text().count("<img") == 2
    assert main(["report", str(detected), "-o", str(tmp_path / "r1.html"),
                 "--max-figures", "-1"]) == EXIT_BAD_INPUT
    assert main(["plot", str(detected), "-o", str(tmp_path / "map.jpg")]) == EXIT_BAD_INPUT


def test_python_dash_m_runs_as_a_process(tmp_path):
    proc = subprocess.run([sys.executable, "-m", "stsdetect", "detect", "no-such-dump.nmea",
                           "-o", "e.csv"], capture_output=True, text=True, cwd=tmp_path,
                          timeout=120)
    assert proc.returncode == EXIT_BAD_INPUT
    assert proc.stderr.strip() == ("stsdetect detect: error: input file not found: "
                                   "no-such-dump.nmea")
    proc = subprocess.run([sys.executable, "-m", "stsdetect", "--version"],
                          capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0 and proc.stdout.startswith("stsdetect ")


@pytest.fixture(scope="module")
def demo_run(tmp_path_factory):
    out = tmp_path_factory.mktemp("demo") / "demo-out"
    import contextlib
    import io

    buf = io.StringIO()
    with contextlib.redirect_stdout(buf):
        code = main(["demo", "-o", str(out)])
    return code, out, buf.getvalue()


def test_demo_writes_outputs_and_finds_every_injected_event(demo_run):
    code, out, text = demo_run
    assert code == EXIT_OK
    for name in ("events.csv", "events.geojson", "map.png", "report.html"):
        assert (out / name).stat().st_size > 0, name
    assert "Decode report" in text and "Top events by score" in text
    assert "7 of 7 injected events found" in text


def test_demo_without_matplotlib_says_so(tmp_path, monkeypatch, capsys):
    import builtins

    real_import = builtins.__import__

    def no_matplotlib(name, *args, **kwargs):
        if name == "matplotlib" or name.startswith("matplotlib."):
            raise ImportError("No module named 'matplotlib'")
        return real_import(name, *args, **kwargs)

    monkeypatch.setattr(builtins, "__import__", no_matplotlib)
    assert main(["demo", "-o", str(tmp_path / "d")]) == EXIT_OK
    out = capsys.readouterr().out
    assert "matplotlib is not installed" in out
    assert (tmp_path / "d" / "events.csv").exists() and not (tmp_path / "d" / "map.png").exists()
    assert (tmp_path / "d" / "report.html").exists()


def test_progress_bars_on_a_terminal_and_never_with_quiet(scenario_dir, tmp_path, capsys,
                                                          monkeypatch):
    import stsdetect.cli as cli

    # Pretend stderr is a terminal (pytest's capture is not one).
    monkeypatch.setattr(cli.sys.stderr, "isatty", lambda: True, raising=False)
    dump = str(scenario_dir / "scenario.nmea.gz")
    assert main(["detect", dump, "-o", str(tmp_path / "e.csv")]) == EXIT_OK
    err = capsys.readouterr().err
    assert "reading scenario.nmea.gz" in err and "stsdetect" in err and "%" in err
    assert main(["detect", dump, "-o", str(tmp_path / "e.csv"), "--quiet"]) == EXIT_OK
    assert capsys.readouterr().err == ""
    assert main(["decode", dump, "-o", str(tmp_path / "p.parquet")]) == EXIT_OK
    assert "reading scenario.nmea.gz" in capsys.readouterr().err


def test_every_pipeline_parameter_is_an_option_with_the_library_default():
    import inspect

    from stsdetect.ais import read_ais
    from stsdetect.cli import DETECT_OPTIONS
    from stsdetect.context import add_context, find_anchorages
    from stsdetect.detectors.dark import find_dark_periods, find_dark_rendezvous
    from stsdetect.detectors.dark_vessels import imagery_events
    from stsdetect.detectors.loitering import find_loitering
    from stsdetect.detectors.rendezvous import find_rendezvous
    from stsdetect.detectors.tows import find_tows
    from stsdetect.flags import flag_events
    from stsdetect.geo import duration_s
    from stsdetect.pipeline import PARAMETERS
    from stsdetect.tracks import build_tracks

    stage_fn = {"read": read_ais, "tracks": build_tracks, "rendezvous": find_rendezvous,
                "dark_period": find_dark_periods, "dark_rendezvous": find_dark_rendezvous,
                "loitering": find_loitering, "anchorages": find_anchorages,
                "context": add_context, "tows": find_tows, "flags": flag_events,
                "imagery": imagery_events}
    options = {dest: (kind, shown) for opts in DETECT_OPTIONS.values()
               for _, dest, kind, shown, _ in opts}
    assert set(options) == set(PARAMETERS) - {"format", "weights"}
    for dest, (kind, shown) in options.items():
        stage, key = PARAMETERS[dest]
        default = inspect.signature(stage_fn[stage]).parameters[key].default
        if default is None:  # "adapted to the dump" (anchorage thresholds)
            assert str(shown).lower() == "none", dest
        elif kind in ("dur", "s"):
            # "s" kinds are parameters named in seconds (their defaults are numbers)
            assert duration_s(shown) == duration_s(default, numbers_in_seconds=kind == "s"), dest
        elif kind == "bool":
            assert (shown == "on") is default, dest
        elif kind in ("text", "regex|none"):
            assert shown == str(default).lower(), dest
        else:
            assert float(shown) == float(default), dest


def test_more_detector_options_reach_the_pipeline(scenario_dir, tmp_path):
    out = tmp_path / "e.csv"
    dump = str(scenario_dir / "scenario.nmea.gz")
    assert main(["detect", dump, "-o", str(out), "-q", "--only", "loitering",
                 "--loiter-min-duration", "30h"]) == EXIT_OK
    events = read_events(out)
    assert len(events) and (events["duration_h"] >= 30).all()
    assert main(["detect", dump, "-o", str(out), "-q", "--only", "dark_period",
                 "--dark-radius", "none", "--duplicate-window", "10s",
                 "--before-after", "12h"]) == EXIT_OK
    gaps_only = read_events(out)
    assert len(gaps_only) and gaps_only["likely_intentional"].isna().all()


def test_program_sets_the_collector_and_main_leaves_it(tmp_path):
    """console() (the program) sets stsdetect._program's collector thresholds before main();
    main() itself, as the library, leaves the collector's schedule as it finds it."""
    import gc

    from stsdetect._program import PROGRAM_GC_THRESHOLDS
    from stsdetect.simulate import demo_path

    script = ("import atexit, gc, sys\n"
              "atexit.register(lambda: print('thresholds', *gc.get_threshold()))\n"
              "sys.argv = ['stsdetect', '--version']\n"
              "from stsdetect.cli import console\n"
              "print('before', *gc.get_threshold())\n"
              "console()\n")
    done = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True,
                          timeout=120, check=False)
    lines = dict(line.split(" ", 1) for line in done.stdout.splitlines() if " " in line)
    assert lines["before"] != lines["thresholds"]  # importing the cli sets nothing
    assert lines["thresholds"] == " ".join(map(str, PROGRAM_GC_THRESHOLDS))
    before = gc.get_threshold()
    assert main(["detect", str(demo_path()), "-o", str(tmp_path / "e.csv"), "-q"]) == EXIT_OK
    assert gc.get_threshold() == before


@pytest.mark.parametrize(("args", "code"), [(["--version"], EXIT_OK), (["detect"], EXIT_BAD_INPUT)])
def test_console_runs_exit_handlers_and_keeps_exit_code_and_output(tmp_path, args, code):
    # console() skips the interpreter's teardown: the exit code, the piped output and the
    # process's own exit handlers (temporary folders, a caller's atexit) must survive that.
    marker = tmp_path / "atexit-ran"
    script = (
        "import atexit, sys, tempfile\n"
        f"atexit.register(lambda: open({str(marker)!r}, 'w').write('ran'))\n"
        "folder = tempfile.TemporaryDirectory()\n"
        f"open({str(tmp_path / 'folder.txt')!r}, 'w').write(folder.name)\n"
        f"sys.argv = ['stsdetect', *{args!r}]\n"
        "from stsdetect.cli import console\n"
        "console()\n"
        "raise SystemExit(99)\n"
    )
    done = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True,
                          timeout=120)
    assert done.returncode == code, done.stderr
    assert marker.read_text() == "ran"
    assert not Path((tmp_path / "folder.txt").read_text()).exists()
    if code == EXIT_OK:
        assert re.fullmatch(r"stsdetect \S+\n", done.stdout)
    else:
        assert "error" in done.stderr
