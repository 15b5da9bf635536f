"""Detection on a Dask cluster (the ``[dask]`` extra): the windowed algorithm, as Dask tasks.

The work is the same as :func:`stsdetect.scale.detect_windowed` (see
:mod:`stsdetect.scale.windows` for how windows are merged exactly); only who does it changes:

1. **decode**: one :func:`dask.delayed` task per dump decodes it with
   :func:`stsdetect.read_ais` and spills its positions to Parquet, partitioned by window, in
   ``workdir``;
2. **detect**: one task per time window reads its window plus the margins from the spill,
   builds tracks and runs the detectors; it returns the events it can prove final and the
   open ones (cut by the window's edges);
3. **re-run**: open events are joined on the client and re-run in tasks (one per detector
   and window) on just their vessels, until all are closed;
4. **merge**: on the client, events are deduplicated by ``event_id``, dark rendezvous
   derived and flags applied with the vessels table merged over all dumps.

Events equal a single-process run, whatever the number of workers. A task whose worker dies
or that raises is re-run by Dask (``retries``; the scheduler also re-runs tasks lost with a
worker); tasks are idempotent -- a spill piece is written to a temporary name and renamed --
so a retried task neither loses nor duplicates events.

``workdir`` and the dumps must be reachable under the same path from every worker: on a real
cluster, a shared file system (NFS, Lustre, EFS ...). See ``docs/scaling.md``.
"""

from __future__ import annotations

import math
import shutil
import tempfile
from pathlib import Path

import pandas as pd

from stsdetect.scale import windows as _w

__all__ = ["detect", "get_client"]


def get_client(client=None, scheduler=None, workers=None):
    """The :class:`distributed.Client` to use, and whether we created it (and must close it).

    Parameters
    ----------
    client : distributed.Client, optional
        Used as is.
    scheduler : str, optional
        Address of a running ``dask.distributed`` scheduler, e.g. ``"tcp://10.0.0.5:8786"``.
    workers : int, optional
        Start a local cluster of this many single-threaded worker processes.

    Returns
    -------
    client : distributed.Client
    owned : bool

    Raises
    ------
    ValueError
        If more than one of ``client``, ``scheduler`` and ``workers`` is given, or
        ``workers`` is not a positive integer.
    ImportError
        If dask.distributed is not installed (``pip install stsdetect[dask]``).
    """
    given = [x is not None for x in (client, scheduler, workers)]
    if sum(given) > 1:
        raise ValueError("give at most one of client, scheduler and workers")
    try:
        from distributed import Client, LocalCluster
    except ImportError as exc:  # pragma: no cover - the extra is installed in CI
        raise ImportError("stsdetect.dask needs the [dask] extra: "
                          "pip install 'stsdetect[dask]'") from exc
    if client is not None:
        return client, False
    if scheduler is not None:
        return Client(scheduler), True
    if workers is not None:
        if int(workers) != workers or workers < 1:
            raise ValueError(f"workers must be a positive integer, got {workers!r}")
        cluster = LocalCluster(n_workers=int(workers), threads_per_worker=1, processes=True,
                               dashboard_address=":0")
        return Client(cluster), True
    try:
        from distributed import get_client as _current

        return _current(), False
    except ValueError:
        cluster = LocalCluster(threads_per_worker=1, processes=True, dashboard_address=":0")
        return Client(cluster), True


def _close(client) -> None:
    cluster = getattr(client, "cluster", None)
    client.close()
    if cluster is not None:
        cluster.close()


def _run(client, tasks, retries):
    """Compute delayed tasks on the cluster and gather their results, in order."""
    if not tasks:
        return []
    futures = client.compute(tasks, retries=retries)
    return client.gather(futures)


def detect(sources, client=None, scheduler=None, workers=None, window=_w.DEFAULT_WINDOW,
           workdir=None, *, only=None, regions=None, watchlist=None, retries=2,
           track_context=_w.DEFAULT_TRACK_CONTEXT, read_kwargs=None,
           keep_workdir=False, chunk_bytes=_w.DEFAULT_SPILL_CHUNK_BYTES, vessels=None,
           **params) -> _w.WindowedResult:
    """Detect events over many dumps on a Dask cluster, identical to a single-process run.

    Parameters
    ----------
    sources : path, folder or list of paths (or of positions DataFrames)
        Dumps in time order (see :func:`stsdetect.scale.detect_windowed`). Paths must be
        readable by every worker.
    client : distributed.Client, optional
        Cluster to use.
    scheduler : str, optional
        Address of a running ``dask.distributed`` scheduler (``stsdetect detect
        --scheduler``).
    workers : int, optional
        Start a local cluster of this many worker processes (``stsdetect detect --workers``).
        When none of ``client``, ``scheduler`` and ``workers`` is given, the current client
        is used, or a local cluster with one worker per core is started.
    window : duration, default "1d"
        Window length, aligned to the Unix epoch; one detection task per window.
    workdir : path, optional
        Folder for the Parquet spill, on storage every worker sees under the same path. A
        temporary folder on this machine when omitted (fine for local clusters only); removed
        at the end unless ``keep_workdir`` or given.
    only, regions, watchlist, track_context, read_kwargs, chunk_bytes, vessels, **params
        As for :func:`stsdetect.scale.detect_windowed`.
    retries : int, default 2
        Times Dask re-runs a task that raised (tasks lost with a dead worker are re-run by
        the scheduler regardless, up to its ``allowed-failures``, 3 by default). Dask's own
        default is 0; two retries ride out a transient failure (a worker restarted, a file
        system hiccup) while a task that fails on its data still fails fast. Tasks are
        idempotent, so a retry is always safe.
    keep_workdir : bool, default False
        Keep the spill.

    Returns
    -------
    stsdetect.scale.WindowedResult
        ``report`` also holds ``tasks`` (decode, window and re-run tasks submitted).
    """
    import dask

    plan = _w.make_plan(window, only=only, track_context=track_context, **params)
    files = _w._sources(sources)
    own_dir = workdir is None
    work = Path(tempfile.mkdtemp(prefix="stsdetect-dask-")) if own_dir else Path(workdir)
    if not own_dir:
        if work.exists() and any(work.iterdir()):
            raise ValueError(f"workdir {work} is not empty; give an empty or new folder")
        work.mkdir(parents=True, exist_ok=True)
    client, owned = get_client(client, scheduler, workers)
    try:
        spill = dask.delayed(_w.spill_source, pure=False)
        read = {**plan.params.get("read", {}), **(read_kwargs or {})}
        spills = _run(client, [spill(i, f, str(work), plan.window_s, read, chunk_bytes)
                               for i, f in enumerate(files)], retries)
        n_tasks = len(spills)
        extent = _w._extent(spills)
        numbers = _w.window_numbers(spills, math.ceil(plan.margin_s / plan.window_s))
        if vessels is None:
            vessels = _w.merge_vessels([s["vessels"] for s in spills])
        tugs = _w.tugs_of(vessels)
        task = dask.delayed(_w.detect_window, pure=False)
        outs = _run(client, [task(str(work), plan, int(k), extent, tugs=tugs)
                             for k in numbers], retries)
        n_tasks += len(outs)
        ends = pd.concat([o["ends"] for o in outs], ignore_index=True) if outs else None
        entries = pd.concat([*(o["open"] for o in outs),
                             _w.dark_candidates(ends if ends is not None else pd.DataFrame(),
                                                plan)], ignore_index=True)
        n_open = len(entries)
        found = []
        rounds = 0
        resolve = dask.delayed(_w.resolve_batch, pure=False, nout=2)
        for _ in range(10_000):  # rounds; each widens every span still open
            batches = _w.plan_batches(entries, plan)
            if not batches:
                break
            results = _run(client, [resolve(str(work), plan, name, batch, extent)
                                    for name, batch in batches], retries)
            n_tasks += len(results)
            rounds += 1
            found.extend(ev for ev, _ in results)
            entries = pd.concat([_w._no_entries(), *(still for _, still in results)],
                                ignore_index=True)
        else:  # pragma: no cover
            raise RuntimeError("open events did not close; this is a bug in stsdetect")
        whole = dask.delayed(_w.whole_tracks, pure=False)

        def load_tracks(mmsi):  # a few vessels' whole tracks, read by a worker
            return _run(client, [whole(str(work), plan, mmsi, numbers)], retries)[0]

        flagc = [o["flag_candidates"] for o in outs]
        events = _w.finish_events([o["events"] for o in outs], found, plan, vessels=vessels,
                                  regions=regions, watchlist=watchlist,
                                  class_b=_w.class_b_ids(spills),
                                  flag_candidates=pd.concat(flagc, ignore_index=True)
                                  if flagc else None, load_tracks=load_tracks)
        report = {
            "rows_spilled": int(sum(s["rows"] for s in spills)),
            "rows_no_time": int(sum(s["no_time"] for s in spills)),
            "vessels_heard": _w.vessels_heard(spills),
            "windows": len(numbers),
            "max_rows_loaded": int(max([o["rows"] for o in outs], default=0)),
            "open_entries": int(n_open),
            "rerun_rounds": rounds,
            "tasks": n_tasks,
        }
        result = _w.WindowedResult(events=events, vessels=vessels,
                                   decode_report=_w.merge_reports([s["report"] for s in spills]),
                                   report=report)
    finally:
        if owned:
            _close(client)
        if own_dir and not keep_workdir:
            shutil.rmtree(work, ignore_errors=True)
    result.workdir = work if (keep_workdir or not own_dir) else None
    return result
