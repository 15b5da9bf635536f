"""Dask detection equals the single-process run, and survives failing tasks and workers."""

from __future__ import annotations

import io
import os
import sys

import pandas as pd
import pytest
from distributed import Client, LocalCluster  # the [test] extra installs dask[distributed]
from test_windows import (
    DAY0,
    assert_same_events,
    detectors,
    make_scenario,
    single_run,
    split_files,
)

import stsdetect.dask as sd
from stsdetect.scale import windows


@pytest.fixture(scope="module")
def scenario():
    return make_scenario()


@pytest.fixture(scope="module")
def reference(scenario):
    return single_run(scenario, detectors())


@pytest.fixture(scope="module")
def client():
    with LocalCluster(n_workers=2, threads_per_worker=1, processes=False,
                      dashboard_address=":0") as cluster, Client(cluster) as c:
        yield c


def test_import_stsdetect_does_not_import_dask():
    import subprocess

    code = ("import sys, stsdetect, stsdetect.scale; "
            "print(any(m == 'dask' or m.startswith('dask.') for m in sys.modules))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         check=True)
    assert out.stdout.strip() == "False"


def test_dask_equals_single_process_and_out_of_core(scenario, reference, client, tmp_path):
    files = split_files(scenario, [24, 48])
    got = sd.detect(files, client=client, workdir=tmp_path / "d", only=detectors())
    assert_same_events(got.events, reference)
    ooc = windows.detect_windowed(files, workdir=tmp_path / "w", only=detectors())
    assert_same_events(got.events, ooc.events)
    assert got.report["windows"] == 3 and got.report["tasks"] >= 3 + 3
    # events crossing midnight came out once, whole
    crossing = got.events.loc[got.events["start"].dt.floor("D") != got.events["end"].dt.floor(
        "D")]
    assert len(crossing) >= 4 and got.events["event_id"].is_unique
    assert (crossing["start"] < DAY0 + pd.Timedelta("3D")).all()


def _flaky(original, flag):
    """A window task that fails the first time it runs (anywhere), then works."""
    def run(*args, **kwargs):
        if not os.path.exists(flag):
            open(flag, "w").close()
            raise RuntimeError("simulated worker failure")
        return original(*args, **kwargs)
    return run


def test_failed_task_is_retried_without_loss_or_duplicates(scenario, reference, client,
                                                           tmp_path, monkeypatch):
    files = split_files(scenario, [24, 48])
    monkeypatch.setattr(windows, "detect_window",
                        _flaky(windows.detect_window, str(tmp_path / "flag1")))
    got = sd.detect(files, client=client, workdir=tmp_path / "d", retries=1,
                    only=detectors())
    assert (tmp_path / "flag1").exists()  # the failure did happen
    assert_same_events(got.events, reference)
    # without retries the same failure surfaces: the retry above is what saved the run
    monkeypatch.setattr(windows, "detect_window",
                        _flaky(windows.detect_window, str(tmp_path / "flag2")))
    with pytest.raises(RuntimeError, match="simulated worker failure"):
        sd.detect(files, client=client, workdir=tmp_path / "e", retries=0, only=detectors())


def _die_once(original, flag):
    """A spill task that kills its worker process the first time it runs."""
    def run(*args, **kwargs):
        if not os.path.exists(flag):
            open(flag, "w").close()
            os._exit(1)
        return original(*args, **kwargs)
    return run


def test_killed_worker_process_is_recovered(scenario, reference, tmp_path, monkeypatch):
    import cloudpickle

    cloudpickle.register_pickle_by_value(sys.modules[__name__])
    try:
        monkeypatch.setattr(windows, "spill_source",
                            _die_once(windows.spill_source, str(tmp_path / "flag")))
        files = split_files(scenario, [24, 48])
        got = sd.detect(files, workers=2, workdir=tmp_path / "d", only=detectors())
    finally:
        cloudpickle.unregister_pickle_by_value(sys.modules[__name__])
    assert (tmp_path / "flag").exists()  # a worker did die mid-task
    assert_same_events(got.events, reference)


def test_client_arguments_are_exclusive():
    with pytest.raises(ValueError, match="at most one"):
        sd.get_client(scheduler="tcp://x:1", workers=2)
    with pytest.raises(ValueError, match="positive integer"):
        sd.get_client(workers=0)


def _environ(name):
    return os.environ.get(name)


def test_local_cluster_workers_get_their_own_malloc_settings():
    """The local cluster's workers run with sd.WORKER_MALLOC, not Dask's
    MALLOC_TRIM_THRESHOLD_=65536 (it doubled a window task's CPU), still with one OpenMP
    thread; the caller's config and environment are left as they were."""
    import dask

    before = dask.config.get("distributed.nanny.pre-spawn-environ")
    env_before = {k: os.environ.get(k) for k in sd.WORKER_MALLOC}
    with sd.local_cluster(1) as cluster, Client(cluster) as client:
        got = {k: set(client.run(_environ, k).values()) for k in sd.WORKER_MALLOC}
        omp = set(client.run(_environ, "OMP_NUM_THREADS").values())
    assert got == {k: {os.environ.get(k, v)} for k, v in sd.WORKER_MALLOC.items()}
    assert got["MALLOC_TRIM_THRESHOLD_"] != {before["MALLOC_TRIM_THRESHOLD_"]}
    assert omp == {"1"}
    assert dask.config.get("distributed.nanny.pre-spawn-environ") == before
    assert "MALLOC_TRIM_THRESHOLD_" in before  # Dask's default, untouched for others
    assert {k: os.environ.get(k) for k in sd.WORKER_MALLOC} == env_before


def _daily_nmea(tmp_path, seed=3):
    """A simulated NMEA dump (tag-block times) cut into one file per UTC day."""
    import re

    import numpy as np

    from stsdetect.simulate import simulate

    sc = simulate(seed=seed, duration="3d", min_interval_s=240, n_background=8)
    lines = np.array(sc.nmea.decode().splitlines(), dtype=object)
    stamp = pd.Series(lines).str.extract(r"c:(\d+)", flags=re.ASCII)[0]
    day = pd.to_numeric(stamp).ffill().bfill().to_numpy() // 86400
    files = []
    for i, d in enumerate(np.unique(day)):  # one file per day
        path = tmp_path / f"day{i}.nmea"
        path.write_text("\n".join(lines[day == d]) + "\n")
        files.append(path)
    return files


def test_cli_scheduler_on_daily_nmea_files(client, tmp_path):
    from stsdetect.ais import read_ais
    from stsdetect.cli import main
    from stsdetect.events import read_events, write_events

    files = _daily_nmea(tmp_path)
    assert len(files) >= 3
    out = tmp_path / "events.csv"
    code = main(["detect", *map(str, files), "-o", str(out), "-q",
                 "--scheduler", client.scheduler.address])
    assert code == 0
    # oracle: one decode of all files at once, every stage once in memory
    data = read_ais([str(f) for f in files])
    want = single_run(data.positions, detectors(), vessels=data.vessels, statics=data.statics)
    write_events(want, tmp_path / "want.csv")
    assert len(want) >= 5
    assert_same_events(read_events(out), read_events(tmp_path / "want.csv"))
    # the positions table of `stsdetect decode` (with its vessels table beside it) too
    table = tmp_path / "pos.parquet"
    assert main(["decode", *map(str, files), "-o", str(table), "-q"]) == 0
    assert main(["detect", str(table), "-o", str(tmp_path / "t.csv"), "-q",
                 "--scheduler", client.scheduler.address]) == 0
    # a decoded table keeps the vessels table but not the statics history: the identity
    # links then cite the vessels table's counts (same flags, other evidence)
    write_events(single_run(data.positions, detectors(), vessels=data.vessels),
                 tmp_path / "want_decoded.csv")
    assert_same_events(read_events(tmp_path / "t.csv"),
                       read_events(tmp_path / "want_decoded.csv"))
    # both at once is a usage error (exit 2), before any work
    assert main(["detect", str(files[0]), "-o", str(tmp_path / "x.csv"),
                 "--scheduler", "tcp://h:1", "--workers", "2"]) == 2


def test_one_big_nmea_file_decoded_in_pieces(tmp_path):
    """One dump much larger than the decode chunk: same events, same decode counts."""
    import gzip

    from stsdetect.ais import read_ais
    from stsdetect.scale.windows import nmea_pieces

    files = _daily_nmea(tmp_path, seed=4)
    big = tmp_path / "all.nmea.gz"
    whole = b"".join(f.read_bytes() for f in files)
    big.write_bytes(gzip.compress(whole))
    pieces = list(nmea_pieces(big, chunk_bytes=150_000))
    assert len(pieces) > 5 and b"".join(pieces) == whole
    # no multipart message cut: the pieces' decode counts add up to the whole file's
    data = read_ais(str(big))
    total = None
    for piece in pieces:  # a few dozen pieces
        rep = read_ais(io.BytesIO(piece)).report
        total = rep if total is None else total.merge(rep)
    assert total.decoded == data.report.decoded and total.skipped == data.report.skipped
    res = windows.detect_windowed([big], workdir=tmp_path / "w", only=detectors(),
                                  chunk_bytes=150_000)
    want = single_run(data.positions, detectors(), vessels=data.vessels, statics=data.statics)
    assert_same_events(res.events, want)
    assert res.decode_report.decoded == data.report.decoded


def test_dask_equals_pipeline_detect_on_daily_nmea(client, tmp_path):
    from stsdetect import pipeline

    files = _daily_nmea(tmp_path, seed=4)
    want = pipeline.detect([str(f) for f in files]).events
    got = sd.detect(files, client=client, workdir=tmp_path / "d")
    assert_same_events(got.events, want)
    assert got.report["status_passes"] == 1  # the statuses came with the finish round


def test_decode_tasks_use_their_workers_threads(client, tmp_path, monkeypatch):
    """read_ais in a decode task runs on the worker's threads (1 here), not on every core of
    the machine (oversubscribed with several workers); a given read_kwargs workers wins."""
    import stsdetect

    seen = []
    original = stsdetect.read_ais

    def spy(*args, **kwargs):
        seen.append(kwargs.get("workers"))
        return original(*args, **kwargs)

    monkeypatch.setattr(stsdetect, "read_ais", spy)  # the workers are threads of this process
    files = _daily_nmea(tmp_path, seed=4)
    assert sd.task_threads(client) == 1
    sd.detect(files, client=client, workdir=tmp_path / "a", only=["rendezvous"])
    assert seen and set(seen) == {1}
    seen.clear()
    sd.detect(files, client=client, workdir=tmp_path / "b", only=["rendezvous"],
              read_kwargs={"workers": 2})
    assert seen and set(seen) == {2}


def test_dask_tow_evidence_reaches_the_flags(client, tmp_path):
    from test_windows import tow_scenario

    positions, vessels = tow_scenario()
    want = single_run(positions, detectors(), vessels=vessels)
    got = sd.detect(split_files(positions, [24]), client=client, workdir=tmp_path / "d",
                    only=detectors(), vessels=vessels)
    assert_same_events(got.events, want)
    assert any("barge" in f for f in got.events["flags"])


# --- noise, retries, interrupts and leaks (issue 14, item 11) --------------------------------

def test_input_error_is_not_retried(scenario, client, tmp_path, monkeypatch):
    calls = tmp_path / "calls"

    def bad_input(*args, **kwargs):
        with open(calls, "a") as fh:  # tasks run on copies of this function: count in a file
            fh.write(f"{args[0]}\n")
        raise ValueError("not an AIS dump: bad.nmea")

    monkeypatch.setattr(windows, "spill_source", bad_input)
    with pytest.raises(ValueError, match="not an AIS dump"):
        sd.detect(split_files(scenario, [24]), client=client, workdir=tmp_path / "d",
                  retries=2, only=detectors())
    runs = calls.read_text().split()
    assert runs and len(runs) == len(set(runs))  # each file's task ran once: not retried


def test_spill_folder_removed_when_connecting_fails(scenario, tmp_path, monkeypatch):
    import tempfile

    import dask

    monkeypatch.setattr(tempfile, "tempdir", str(tmp_path))
    with dask.config.set({"distributed.comm.timeouts.connect": "1s"}), \
            pytest.raises((OSError, TimeoutError)):
        sd.detect([scenario], scheduler="tcp://127.0.0.1:9", only=["dark_period"])
    assert not list(tmp_path.glob(sd.SPILL_PREFIX + "*"))


def test_stale_spill_folders_are_swept(tmp_path):
    import subprocess

    dead = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"],
                          capture_output=True, text=True, check=True).stdout.strip()
    (tmp_path / f"{sd.SPILL_PREFIX}{dead}-abc" / "positions").mkdir(parents=True)
    (tmp_path / f"{sd.SPILL_PREFIX}{os.getpid()}-def").mkdir()
    (tmp_path / "other").mkdir()
    assert sd.sweep_stale_spills(tmp_path) == 1
    assert sorted(p.name for p in tmp_path.iterdir()) == sorted([
        f"{sd.SPILL_PREFIX}{os.getpid()}-def", "other"])


@pytest.fixture(scope="module")
def busy_dump(tmp_path_factory):
    from stsdetect.simulate import simulate

    path = tmp_path_factory.mktemp("busy") / "busy.nmea"
    path.write_bytes(simulate(seed=3, duration="3d", min_interval_s=30, n_background=40).nmea)
    return path


def _cli(args, tmp):
    import subprocess

    from conftest import default_sigint

    env = dict(os.environ, TMPDIR=str(tmp),
               PYTHONPATH=os.pathsep.join([str(__import__("pathlib").Path(sd.__file__)
                                                .parents[1]), os.environ.get("PYTHONPATH", "")]))
    return subprocess.Popen([sys.executable, "-m", "stsdetect", *args], env=env,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                            start_new_session=True, preexec_fn=default_sigint)


def test_quiet_dask_run_is_quiet(busy_dump, tmp_path):
    tmp = tmp_path / "tmp"
    tmp.mkdir()
    proc = _cli(["detect", str(busy_dump), "--workers", "1", "-q", "--only", "dark_period",
                 "-o", str(tmp_path / "e.csv")], tmp)
    out, err = proc.communicate(timeout=300)
    assert proc.returncode == 0, err.decode()
    assert err.decode() == ""  # no Dask INFO lines
    assert out.decode().strip().endswith("e.csv") or len(out.splitlines()) <= 1
    assert not list(tmp.glob(sd.SPILL_PREFIX + "*"))


@pytest.mark.parametrize(("name", "group"), [("SIGINT", True), ("SIGTERM", False)])
def test_interrupt_gives_one_line_and_leaves_no_spill(busy_dump, tmp_path, name, group):
    import signal
    import time

    tmp = tmp_path / "tmp"
    tmp.mkdir()
    proc = _cli(["detect", str(busy_dump), "--workers", "1", "-o", str(tmp_path / "e.csv")],
                tmp)
    t0 = time.monotonic()
    while not list(tmp.glob(sd.SPILL_PREFIX + "*/positions")):  # decoding has begun
        assert proc.poll() is None and time.monotonic() - t0 < 120
        time.sleep(0.05)
    sig = getattr(signal, name)
    if group:  # Ctrl-C in a terminal: the whole foreground process group, workers included
        os.killpg(proc.pid, sig)
    else:
        proc.send_signal(sig)
    _, err = proc.communicate(timeout=120)
    lines = err.decode().splitlines()
    assert proc.returncode == 130
    assert lines == ["stsdetect: interrupted"], lines
    assert not list(tmp.glob(sd.SPILL_PREFIX + "*"))


def test_dask_carries_events_of_three_days_and_more(client, tmp_path):
    from test_windows import long_events_scenario

    positions = long_events_scenario()
    want = single_run(positions, detectors())
    assert (want["duration_h"] >= 72).sum() >= 3
    got = sd.detect(split_files(positions, [24, 48, 72, 96]), client=client,
                    workdir=tmp_path / "d", only=detectors())
    assert_same_events(got.events, want)


_CLIENT_ONLY = """
import pickle, sys
import pandas as pd
import stsdetect.dask as sd

files = sorted(sys.argv[1:-1])
got = sd.detect([pd.read_parquet(f) for f in files], workers=1,
                only=["dark_period", "dark_rendezvous", "loitering", "rendezvous"])
loaded = [m for m in ("stsdetect.flags", "geopandas", "scipy.linalg", "numba")
          if m in sys.modules]
with open(sys.argv[-1], "wb") as fh:
    pickle.dump((got.events, loaded, got.report["status_passes"]), fh)
"""


def test_finish_runs_on_a_worker_not_in_the_client(scenario, reference, tmp_path):
    """With Dask, the end of the run (loitering and dark-period events, dark rendezvous, the
    context stage, the flags) is one task on a worker: the client's process neither imports
    the flags, geopandas, scipy.linalg (numba's BLAS check) nor even numba (0.12 CPU s to
    import; the folds use plain NumPy), so it spends no CPU on them beside the workers; the
    events still equal the in-memory run's and the statuses still take one pass."""
    import pickle
    import subprocess

    paths = []
    for i, part in enumerate(split_files(scenario, [24, 48])):
        paths.append(tmp_path / f"part{i}.parquet")
        part.to_parquet(paths[-1])
    out = tmp_path / "out.pkl"
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(p for p in sys.path if p)}
    subprocess.run([sys.executable, "-c", _CLIENT_ONLY, *map(str, paths), str(out)],
                   check=True, env=env, timeout=600)
    with open(out, "rb") as fh:
        events, loaded, passes = pickle.load(fh)
    assert loaded == []
    assert passes == 1
    assert_same_events(events, reference)
