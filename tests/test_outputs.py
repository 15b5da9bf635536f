"""Outputs (#14 items 2, 3, 12): never over an input, atomic writes, no formulas in CSV cells.

Fault tests: an output equal to an input, a process killed while writing, a read-only target,
a full disk (simulated), an output that is a folder.
"""

from __future__ import annotations

import errno
import os
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from conftest import default_sigint
from hypothesis import given, settings
from hypothesis import strategies as st

from stsdetect.cli import EXIT_BAD_INPUT, EXIT_OK, main
from stsdetect.events import make_events, read_events, write_events
from stsdetect.outputs import (
    FORMULA_TRIGGERS,
    atomic_path,
    check_outputs,
    neutralise_formulas,
    restore_formulas,
    write_table,
)

REPO = Path(__file__).resolve().parents[1]
SENTENCES = ["!AIVDM,1,1,,A,13prmQ?P001EOA4OC3h@u?vl20SR,0*7F",
             "!AIVDM,1,1,,B,13prWJW010QF:eHO>V<Koqdn0D3G,0*1A"]
MC_HEADER = ("MMSI,BaseDateTime,LAT,LON,SOG,COG,Heading,VesselName,IMO,CallSign,VesselType,"
             "Status,Length,Width,Draft,Cargo,TransceiverClass\n")


def _mc_csv(path: Path, name: str = "SHIP A") -> Path:
    path.write_text(MC_HEADER
                    + f'367000001,2023-01-01T00:00:00,32.1,-79.1,0.1,10,511,"{name}",,C,70,0,'
                      "100,20,5,70,A\n"
                    + f'367000001,2023-01-01T00:05:00,32.1,-79.1,0.1,10,511,"{name}",,C,70,0,'
                      "100,20,5,70,A\n")
    return path


def _events(n: int = 2) -> pd.DataFrame:
    return make_events("rendezvous", mmsi=np.arange(n) + 445000001,
                       other_mmsi=np.arange(n) + 412000001, start=np.full(n, 1.6e9),
                       end=np.full(n, 1.6e9 + 7200), lat=np.full(n, 30.4),
                       lon=np.full(n, 121.4), flags=[["dprk"]] * n,
                       n_positions=np.full(n, 30))


# ------------------------------------------------------------------------- formula injection
text_cells = st.one_of(st.none(), st.text(alphabet=st.sampled_from(
    ["'", "=", "+", "-", "@", "\t", "a", "1", " ", "("]), max_size=6))


@settings(max_examples=200, deadline=None)
@given(st.lists(text_cells, min_size=1, max_size=20))
def test_neutralise_then_restore_is_exact_and_safe(cells):
    frame = pd.DataFrame({"name": pd.Series(cells, dtype=object), "n": range(len(cells))})
    safe = neutralise_formulas(frame)
    for v in safe["name"]:
        if isinstance(v, str) and v:
            assert v[0] not in FORMULA_TRIGGERS
    back = restore_formulas(safe.copy())
    assert back["name"].tolist() == frame["name"].tolist()
    assert back["n"].tolist() == frame["n"].tolist()


def test_events_csv_neutralises_ship_names(tmp_path):
    """#14 item 12: '=HYPERLINK(...)' went raw into the CSVs."""
    ev = _events()
    ev["name"] = ["=HYPERLINK(\"http://x\",\"click\")", "-ALPHA-"]
    path = write_events(ev, tmp_path / "e.csv")
    raw = pd.read_csv(path, dtype=str)
    assert raw["name"].tolist() == ["'=HYPERLINK(\"http://x\",\"click\")", "'-ALPHA-"]
    assert raw["mmsi"].tolist() == ["445000001", "445000002"]  # numbers untouched
    assert restore_formulas(pd.read_csv(path))["name"].tolist() == ev["name"].tolist()
    back = read_events(path)  # (read_events restores the cells the same way)
    assert back["mmsi"].tolist() == ev["mmsi"].tolist()
    if "name" in back:  # extra columns round-trip once contract C3 lands
        assert back["name"].tolist() == ev["name"].tolist()


def test_decode_csv_neutralises_vessel_names(tmp_path):
    dump = _mc_csv(tmp_path / "mc.csv", name="=HYPERLINK(1)")
    out = tmp_path / "p.csv"
    assert main(["-q", "decode", str(dump), "-o", str(out)]) == EXIT_OK
    vessels = pd.read_csv(tmp_path / "p.vessels.csv", dtype=str)
    assert vessels["name"].tolist() == ["'=HYPERLINK(1)"]
    # `detect` reads the decoded tables back with the name restored
    from stsdetect.cli import _load_decoded

    _, ves = _load_decoded([str(out)])
    assert ves["name"].tolist() == ["=HYPERLINK(1)"]


# ------------------------------------------------------------------------- output == input
def test_detect_refuses_to_overwrite_its_positions_table(tmp_path, capsys):
    """#14 item 2: `detect pos.parquet -o pos.parquet` replaced 119k rows with 21 events."""
    dump = _mc_csv(tmp_path / "mc.csv")
    pos = tmp_path / "pos.parquet"
    assert main(["-q", "decode", str(dump), "-o", str(pos)]) == EXIT_OK
    before = pos.read_bytes()
    assert main(["-q", "detect", str(pos), "-o", str(pos)]) == EXIT_BAD_INPUT
    assert "is also an input" in capsys.readouterr().err
    assert pos.read_bytes() == before
    # the vessels table beside it is an input too
    vessels = tmp_path / "pos.vessels.parquet"
    before_v = vessels.read_bytes()
    assert main(["-q", "detect", str(pos), "-o", str(vessels)]) == EXIT_BAD_INPUT
    assert vessels.read_bytes() == before_v


@pytest.mark.parametrize("case", ["same", "vessels_is_input", "vessels_is_output",
                                  "through_a_link", "glob"])
def test_decode_refuses_outputs_over_inputs(case, tmp_path, capsys):
    dump = tmp_path / "dump.nmea"
    dump.write_text("\n".join(SENTENCES) + "\n")
    mc = _mc_csv(tmp_path / "mc.csv")
    before = {p: p.read_bytes() for p in (dump, mc)}
    argv = {
        "same": ["decode", str(mc), "-o", str(mc)],
        "vessels_is_input": ["decode", str(dump), str(mc), "-o", str(tmp_path / "p.csv"),
                             "--vessels", str(mc)],
        "vessels_is_output": ["decode", str(dump), "-o", str(tmp_path / "p.csv"),
                              "--vessels", str(tmp_path / "p.csv")],
        "through_a_link": ["decode", str(mc), "-o", str(tmp_path / "link.csv")],
        "glob": ["decode", str(tmp_path / "*.csv"), "-o", str(mc)],
    }[case]
    if case == "through_a_link":
        os.symlink(mc, tmp_path / "link.csv")
    assert main(["-q", *argv]) == EXIT_BAD_INPUT
    err = capsys.readouterr().err
    assert ("also an input" in err) or ("same file" in err), err
    assert {p: p.read_bytes() for p in (dump, mc)} == before


def test_decode_vessels_needs_a_table_suffix(tmp_path, capsys):
    dump = tmp_path / "dump.nmea"
    dump.write_text(SENTENCES[0] + "\n")
    assert main(["-q", "decode", str(dump), "-o", str(tmp_path / "p.csv"), "--vessels",
                 str(tmp_path / "v.nmea")]) == EXIT_BAD_INPUT
    assert "--vessels" in capsys.readouterr().err


def test_report_and_plot_refuse_their_input(tmp_path, capsys):
    ev = write_events(_events(), tmp_path / "e.csv")
    before = ev.read_bytes()
    # a report named like the events file is refused by its suffix; one over a tracks input
    # is refused as an input
    dump = tmp_path / "tracks.html"
    dump.write_text("\n".join(SENTENCES) + "\n")
    assert main(["-q", "report", str(ev), "-o", str(dump), "--tracks", str(dump)]) == \
        EXIT_BAD_INPUT
    assert "also an input" in capsys.readouterr().err
    assert ev.read_bytes() == before


def test_check_outputs_library():
    with pytest.raises(ValueError, match="same file"):
        check_outputs({"a": "x.csv", "b": "./x.csv"})
    check_outputs({"a": "x.csv", "b": None}, inputs=["y.csv", object()])


# ------------------------------------------------------------------------- unwritable targets
def test_output_folder_and_read_only_target_refused_before_work(tmp_path, capsys):
    dump = _mc_csv(tmp_path / "mc.csv")
    folder = tmp_path / "out.csv"
    folder.mkdir()
    assert main(["-q", "decode", str(dump), "-o", str(folder)]) == EXIT_BAD_INPUT
    assert "is a folder" in capsys.readouterr().err
    target = tmp_path / "locked.csv"
    target.write_text("precious\n")
    target.chmod(0o444)
    try:
        assert main(["-q", "detect", str(dump), "-o", str(target)]) == EXIT_BAD_INPUT
        assert "read-only" in capsys.readouterr().err
        assert target.read_text() == "precious\n"
        with pytest.raises(PermissionError, match="read-only"):
            write_events(_events(), target)
        assert target.read_text() == "precious\n"
    finally:
        target.chmod(0o644)


# ------------------------------------------------------------------------- atomic writes
def test_atomic_path_keeps_the_old_file_when_the_writer_fails(tmp_path):
    target = tmp_path / "t.csv"
    target.write_text("old\n")
    with pytest.raises(RuntimeError), atomic_path(target) as tmp:
        tmp.write_text("half")
        raise RuntimeError("writer died")
    assert target.read_text() == "old\n"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["t.csv"]  # no temporary left
    with atomic_path(target) as tmp:
        assert tmp.parent == target.parent and tmp.suffix == ".csv"
        tmp.write_text("new\n")
    assert target.read_text() == "new\n"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["t.csv"]


def _disk_full(*args, **kwargs):
    raise OSError(errno.ENOSPC, "No space left on device")


@pytest.mark.parametrize("suffix", [".csv", ".geojson", ".parquet"])
def test_full_disk_is_exit_2_and_keeps_the_old_events(suffix, tmp_path, monkeypatch, capsys):
    """#14 items 3, 10: a full disk cut the CSV mid-row, GeoJSON gave exit 1 and 0 bytes."""
    dump = _mc_csv(tmp_path / "mc.csv")
    out = tmp_path / f"events{suffix}"
    assert main(["-q", "detect", str(dump), "-o", str(out)]) == EXIT_OK
    before = out.read_bytes()

    def half_then_full(self, *args, **kwargs):
        Path(args[0] if args else kwargs["path_or_buf"]).write_text("mmsi,ti")
        _disk_full()

    import geopandas as gpd

    monkeypatch.setattr(pd.DataFrame, "to_csv", half_then_full)
    monkeypatch.setattr(gpd.GeoDataFrame, "to_json", _disk_full)
    monkeypatch.setattr(gpd.GeoDataFrame, "to_parquet", half_then_full)
    assert main(["-q", "detect", str(dump), "-o", str(out)]) == EXIT_BAD_INPUT
    assert "No space left" in capsys.readouterr().err
    assert out.read_bytes() == before
    assert [p.name for p in tmp_path.iterdir() if p.name.startswith(".")] == []


_CHILD = textwrap.dedent("""
    import os, sys, time
    import pandas as pd
    import stsdetect.outputs as outputs
    from stsdetect.outputs import write_table

    real = pd.DataFrame.to_csv
    def slow(self, path, **kw):  # write half the rows, then hang until killed
        real(self.iloc[: len(self) // 2], path, **kw)
        print("writing", flush=True)
        time.sleep(60)
    pd.DataFrame.to_csv = slow
    frame = pd.DataFrame({"mmsi": range(100000), "lat": 1.5})
    write_table(frame, sys.argv[1])
""")


@pytest.mark.parametrize("sig", [signal.SIGKILL, signal.SIGTERM, signal.SIGINT])
def test_a_kill_during_a_write_leaves_the_old_file_whole(sig, tmp_path):
    """#14 item 3: a killed `decode` left a truncated CSV that parsed, the old file gone."""
    target = tmp_path / "positions.csv"
    old = pd.DataFrame({"mmsi": [1, 2, 3], "lat": [0.5, 0.5, 0.5]})
    old.to_csv(target, index=False)
    before = target.read_bytes()
    env = dict(os.environ, PYTHONPATH=str(REPO / "src"))
    child = subprocess.Popen([sys.executable, "-c", _CHILD, str(target)],
                             stdout=subprocess.PIPE, env=env, preexec_fn=default_sigint)
    try:
        assert child.stdout.readline().strip() == b"writing"
        child.send_signal(sig)
        child.wait(timeout=60)
    finally:
        child.kill()
    assert child.returncode != 0
    assert target.read_bytes() == before
    tmps = [p for p in tmp_path.iterdir() if p != target]
    if sig == signal.SIGINT:  # KeyboardInterrupt unwinds: the temporary is removed
        assert tmps == []
    else:  # SIGKILL, and SIGTERM's default action, end the process where it stands
        assert [p.name[:11] for p in tmps] == [".positions."]
        # The next write of the same output removes what the killed run left, and nothing
        # else: not a write in progress (a live process), another output's, or another name.
        host = tmps[0].name.split("-")[1]
        alive = tmp_path / f".positions.{os.getpid()}-{host}-0123abcd.tmp.csv"
        other = tmp_path / f".events.{child.pid}-{host}-0123abcd.tmp.csv"
        mine = tmp_path / ".positions.mine.tmp.csv"
        for keep in (alive, other, mine):
            keep.write_text("x")
        write_table(old, target)
        assert sorted(p.name for p in tmp_path.iterdir()) == sorted(
            [target.name, alive.name, other.name, mine.name])


def test_temporaries_of_other_machines_are_removed_only_when_long_untouched(tmp_path):
    """On a shared file system another machine's writer cannot be seen: its temporary is
    removed only once it has not changed for a day."""
    from stsdetect.outputs import STALE_FOREIGN_TEMPORARY_S, atomic_path

    target = tmp_path / "events.csv"
    old = tmp_path / ".events.123-ffffff-0123abcd.tmp.csv"
    fresh = tmp_path / ".events.124-ffffff-0123abcd.tmp.csv"
    for tmp in (old, fresh):
        tmp.write_text("x")
    past = time.time() - STALE_FOREIGN_TEMPORARY_S - 60
    os.utime(old, (past, past))
    with atomic_path(target) as tmp:
        tmp.write_text("new\n")
    assert sorted(p.name for p in tmp_path.iterdir()) == [fresh.name, target.name]


def test_write_table_rejects_unknown_suffix(tmp_path):
    with pytest.raises(ValueError, match=r"csv or \.parquet"):
        write_table(pd.DataFrame({"a": [1]}), tmp_path / "x.txt")


def _formula_cells_oracle(frame):
    """outputs._formula_cells as first written: the text columns chosen through a Series per
    column, stacked into one Series, pandas' string methods on it."""
    from stsdetect.outputs import FORMULA_TRIGGERS

    cols = [c for c in frame.columns
            if pd.api.types.is_object_dtype(frame[c]) or pd.api.types.is_string_dtype(frame[c])]
    n = len(frame)
    none = np.zeros((len(cols), n), dtype=bool)
    if not cols or n == 0:
        return cols, none, none
    stacked = pd.Series(np.concatenate([frame[c].to_numpy(dtype=object) for c in cols]),
                        dtype=object)
    try:
        text = stacked.str
        hit = text.lstrip("'").str[:1].isin(FORMULA_TRIGGERS).to_numpy(dtype=bool)
        quoted = (text[:1] == "'").to_numpy(dtype=bool)
    except AttributeError:
        return cols, none, none
    return cols, hit.reshape(len(cols), n), quoted.reshape(len(cols), n)


_CELLS = st.one_of(st.none(), st.just(np.nan), st.integers(-5, 5), st.floats(-1, 1),
                   st.just([1, 2]), st.text(alphabet="'=+-@\t\rab 1", max_size=5))


@given(st.lists(st.tuples(_CELLS, _CELLS), min_size=0, max_size=12),
       st.booleans())
def test_formula_cells_equal_the_pandas_string_route(rows, as_string_dtype):
    """The formula cells, with the text columns chosen from ``frame.dtypes``, equal those of
    the first route (a Series per column): text with leading quotes, empty text, missing
    values, numbers, lists; object and string columns."""
    from stsdetect.outputs import _formula_cells

    frame = pd.DataFrame({"a": pd.Series([r[0] for r in rows], dtype=object),
                          "b": pd.Series([r[1] for r in rows], dtype=object),
                          "n": np.arange(len(rows), dtype=float)})
    if as_string_dtype:
        text = [r[0] if isinstance(r[0], str) else None for r in rows]
        frame["a"] = pd.array(text, dtype="string")
    got, want = _formula_cells(frame), _formula_cells_oracle(frame)
    assert got[0] == want[0]
    np.testing.assert_array_equal(got[1], want[1])
    np.testing.assert_array_equal(got[2], want[2])
