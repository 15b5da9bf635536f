"""Detection on a Dask cluster (the ``[dask]`` extra): the one driver, with a Dask executor.

The work is the driver of :mod:`stsdetect.scale.engine`, the same as
:func:`stsdetect.scale.detect_windowed`; only who runs the tasks changes (``Client.map``):

1. **decode**: one task per dump decodes it with :func:`stsdetect.read_ais` and writes its
   positions to the spill in ``workdir`` (an Arrow dataset partitioned by window);
2. **map**: one task per time window reads its window plus a small margin, builds tracks and
   runs each detector's windowed form; it returns small tables (closed events, pieces of
   open runs);
3. **fold**: on the client, in window order, open runs are carried from window to window
   (:mod:`stsdetect.scale.carry`); nothing is re-run, so an anchorage pair lying together
   for two weeks costs what its data costs;
4. **finish**: the dark periods still missing their heard counts get them from one task per
   window they span (with the drifts of loitering runs and the statuses the context stage
   asks); then one task on a worker ends the run (:func:`stsdetect.scale.engine.finish_run`:
   dark rendezvous, the context stage, the flags), so the client never runs that code.

Events equal a single-process run, whatever the number of workers. A task that raises on bad
input (an unreadable or malformed dump) is not retried: the error comes back at once, whole.
Other failures are retried (``retries``; the scheduler also re-runs tasks lost with a worker);
tasks are idempotent, so a retried task neither loses nor duplicates events.

``workdir`` and the dumps must be reachable under the same path from every worker: on a real
cluster, a shared file system (NFS, Lustre, EFS ...). See ``docs/scaling.md``.
"""

from __future__ import annotations

import contextlib
import logging
import os
import shutil
import tempfile
import uuid
from pathlib import Path

from stsdetect.scale import windows as _w

__all__ = ["DaskExecutor", "detect", "get_client", "local_cluster"]

#: Prefix of the spill folders this module creates in the temporary folder.
SPILL_PREFIX = "stsdetect-dask-"

#: glibc ``malloc`` settings of the worker processes :func:`local_cluster` starts (their
#: environment only): arrays up to 32 MB (glibc's own largest adaptive threshold) come from
#: the heap, which keeps up to 256 MB free before shrinking and grows by 64 MB at a time.
#: A window task's arrays then reuse the memory of the task before instead of being faulted
#: in and zeroed by the kernel again: on ``bench_dask.py``'s 14 days the window tasks' page
#: faults fell from ~175k to ~34k and their CPU by 0.3-0.35 of 2.2-2.5 s (one process),
#: for ~40 MB more peak memory.
WORKER_MALLOC = {"MALLOC_MMAP_THRESHOLD_": str(32 * 2**20),
                 "MALLOC_TRIM_THRESHOLD_": str(256 * 2**20),
                 "MALLOC_TOP_PAD_": str(64 * 2**20)}

#: Dask's large-graph warning threshold while this module submits tasks (Dask's own: 10 MB).
#: A task's arguments (the end of a run: its closed events, vessels, statics and activity
#: tables, 1-10 MB) are sent inside the task graph on purpose: the scheduler keeps them and
#: can run the task again on another worker when one dies, while data scattered to a worker
#: ahead is lost with it (``test_killed_worker_process_is_recovered`` fails that way). So
#: Dask's advice to scatter does not apply, and its warning would only alarm the user.
GRAPH_WARNING_BYTES = "256 MB"

#: Exceptions that mean bad input: a task raising one is not retried and its error is
#: carried back to the caller as it is.
INPUT_ERRORS = (ValueError, OSError, EOFError, UnicodeError, KeyError)


def get_client(client=None, scheduler=None, workers=None, local_directory=None):
    """The :class:`distributed.Client` to use, and whether we created it (and must close it).

    Parameters
    ----------
    client : distributed.Client, optional
        Used as is.
    scheduler : str, optional
        Address of a running ``dask.distributed`` scheduler, e.g. ``"tcp://10.0.0.5:8786"``.
    workers : int, optional
        Start a local cluster of this many single-threaded worker processes.
    local_directory : path, optional
        Scratch folder of the local cluster's workers (Dask's ``dask-scratch-space`` in the
        temporary folder when omitted); :func:`detect` puts it inside its spill folder, so
        that it goes with it.

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
        from distributed import Client
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
        return Client(local_cluster(int(workers), local_directory=local_directory)), True
    try:
        from distributed import get_client as _current

        return _current(), False
    except ValueError:
        return Client(local_cluster(None, local_directory=local_directory)), True


def local_cluster(workers=None, local_directory=None):
    """A :class:`distributed.LocalCluster` of single-threaded worker processes, as
    ``--workers N`` starts it.

    Parameters
    ----------
    workers : int, optional
        Worker processes (Dask's default, one per core, when omitted).
    local_directory : path, optional
        The workers' scratch folder.

    Returns
    -------
    distributed.LocalCluster

    Notes
    -----
    The workers start with SIGINT ignored (see ``_workers_ignore_ctrl_c``) and without the
    ``MALLOC_TRIM_THRESHOLD_=65536`` that Dask's nanny sets by default in its workers'
    environment (``distributed.nanny.pre-spawn-environ``): setting glibc's trim threshold
    turns off its adaptive mmap threshold, so every large NumPy array of a window task is a
    fresh ``mmap`` whose pages fault in again, and a window task took twice the CPU it takes
    in one process (0.55 against 0.25 CPU s per one-day window of ``bench_dask.py``'s 14
    days). Instead the workers get :data:`WORKER_MALLOC`: even glibc's adaptive thresholds
    let a window task's arrays be handed back to the kernel and faulted in (zeroed) again by
    the next task; these keep up to 256 MB of freed memory for reuse. The settings are
    changed only while the workers start (``dask.config.set`` as a context) and taken out of
    this process's ``os.environ`` again, where Dask's nanny copies them to pass them on
    (a worker that the nanny restarts later starts without them); a variable already set in
    this process's environment is left as it is. ``OMP_NUM_THREADS=1`` and the like stay
    (Dask's, as Dask sets them).
    """
    import dask
    from distributed import LocalCluster

    environ = {k: v for k, v in
               (dask.config.get("distributed.nanny.pre-spawn-environ", None) or {}).items()
               if k != "MALLOC_TRIM_THRESHOLD_"}
    ours = {k: v for k, v in WORKER_MALLOC.items() if k not in os.environ}
    environ.update(ours)
    kw = {} if workers is None else {"n_workers": int(workers)}
    try:
        with _workers_ignore_ctrl_c(), \
                dask.config.set({"distributed.nanny.pre-spawn-environ": environ}):
            cluster = LocalCluster(threads_per_worker=1, processes=True, dashboard_address=":0",
                                   silence_logs=_quiet_level(), local_directory=local_directory,
                                   **kw)
    finally:
        # Dask's nanny puts its pre-spawn variables into this process's os.environ to pass
        # them on; ours are taken out again (a worker restarted later starts without them)
        for k in ours:  # three names
            os.environ.pop(k, None)
    for nanny in getattr(cluster, "workers", {}).values():  # one per worker
        for k in ours:
            getattr(nanny, "pre_spawn_env", {}).pop(k, None)
    return cluster


@contextlib.contextmanager
def _workers_ignore_ctrl_c():
    """Start local worker processes with SIGINT ignored (restored here at once after).

    Ctrl-C in a terminal reaches every process of the foreground group: the workers would each
    print a traceback while this process, which owns them, shuts them down cleanly anyway.
    A process started while SIGINT is ignored keeps it ignored (Python installs its
    KeyboardInterrupt handler only where the parent left SIGINT at its default).
    """
    import signal
    import threading

    if threading.current_thread() is not threading.main_thread():
        yield
        return
    previous = signal.signal(signal.SIGINT, signal.SIG_IGN)
    try:
        yield
    finally:
        signal.signal(signal.SIGINT, previous)


def _quiet_level() -> int:
    """Log level of the local workers: the level of our ``stsdetect`` logger, at least ERROR
    (Dask's lines about workers starting, stopping and tasks cancelled on Ctrl-C are not the
    user's business; real failures come back as exceptions)."""
    return max(logging.getLogger("stsdetect").getEffectiveLevel(), logging.ERROR)


def _close(client) -> None:
    cluster = getattr(client, "cluster", None)
    try:
        client.close()
    finally:
        if cluster is not None:
            cluster.close()


def task_threads(client) -> int:
    """Threads a decode task may use: the fewest threads of any worker (at least 1).

    :func:`stsdetect.read_ais` decodes on as many threads as the machine has cores by
    default; in a worker process that is one of several on a machine (``--workers N``, or
    ``dask worker --nthreads 1`` per core) that would run ``N x cores`` decoding threads on
    ``cores`` cores. So a Dask run decodes each dump on its worker's own threads (one, for
    the single-threaded workers :func:`local_cluster` starts) unless ``read_kwargs`` sets
    ``workers``. Nothing process-wide is changed.
    """
    counts = [int(n) for n in (client.nthreads() or {}).values() if n]
    return max(1, min(counts)) if counts else 1


def _large_graphs():
    """A ``dask.config`` context raising the large-graph warning to :data:`GRAPH_WARNING_BYTES`."""
    import dask

    return dask.config.set({"distributed.admin.large-graph-warning-threshold":
                            GRAPH_WARNING_BYTES})


class _Failed:
    """An input error raised by a task, returned as a value so that Dask does not retry it."""

    def __init__(self, exc: BaseException):
        self.exc = exc


class _Guarded:
    """A task function whose input errors come back as :class:`_Failed` values."""

    def __init__(self, func):
        self.func = func

    def __call__(self, *args, **kwargs):
        # a task fed by another's result: an input error upstream passes through
        for arg in (*args, *kwargs.values()):
            for item in (arg if isinstance(arg, (list, tuple)) else (arg,)):
                if isinstance(item, _Failed):
                    return item
        try:
            return self.func(*args, **kwargs)
        except INPUT_ERRORS as exc:
            return _Failed(exc)


class DaskExecutor:
    """Runs the driver's tasks on a Dask cluster with ``Client.map``, results in order.

    Parameters
    ----------
    client : distributed.Client
        The cluster.
    retries : int
        Times a task that raised (other than on bad input) is re-run.
    """

    #: The tasks run in other processes: the driver may do its own set-up meanwhile.
    remote = True

    def __init__(self, client, retries: int = 2):
        self.client = client
        self.retries = int(retries)
        self.n_tasks = 0
        self._live = []  # futures of submit and map_submit not yet released

    def map(self, func, *iterables, **kwargs):
        """Submit ``func(*items, **kwargs)`` for each tuple of items at once; return an
        iterator of the results, in order.

        A task's input error (:data:`INPUT_ERRORS`) is raised by the iterator, once, and the
        remaining tasks are cancelled; other exceptions are raised after the retries.
        """
        futures = self._map(func, iterables, kwargs)
        return self._results(futures) if futures else iter(())

    def _map(self, func, iterables, kwargs) -> list:
        columns = [list(x) for x in iterables]
        if not columns or not columns[0]:
            return []
        # keys named after the task function (decode, window, finish ... in the dashboard)
        with _large_graphs():
            futures = self.client.map(_Guarded(func), *columns, pure=False,
                                      retries=self.retries,
                                      key=getattr(func, "__name__", None), **kwargs)
        self.n_tasks += len(futures)
        return futures

    def submit(self, func, *args, **kwargs):
        """Submit ``func(*args, **kwargs)`` as one task; return its future. Arguments may be
        futures of earlier tasks (or lists of them): the task then waits for them on the
        cluster, with no round trip through this process."""
        with _large_graphs():
            future = self.client.submit(_Guarded(func), *args, pure=False,
                                        retries=self.retries,
                                        key=f"{getattr(func, '__name__', 'task')}-"
                                            f"{uuid.uuid4().hex}", **kwargs)
        self.n_tasks += 1
        self._live.append(future)
        return future

    def map_submit(self, func, *iterables, **kwargs) -> list:
        """Submit like :meth:`map`; return the futures, in order (for later tasks'
        arguments)."""
        futures = self._map(func, iterables, kwargs)
        self._live.extend(futures)
        return futures

    def result(self, future):
        """The result of a future from :meth:`submit`: an input error is raised (once);
        on any error every task submitted with :meth:`submit` or :meth:`map_submit` and not
        done is cancelled. The futures are released once the result is in."""
        try:
            out = future.result()
            if isinstance(out, _Failed):
                raise out.exc
        except BaseException:
            self.client.cancel([f for f in self._live if not f.done()])
            raise
        finally:
            live, self._live = self._live, []
            for f in live:
                f.release()
        return out

    def _results(self, futures):
        try:
            for fut in futures:  # in input order
                out = fut.result()
                fut.release()
                if isinstance(out, _Failed):
                    raise out.exc
                yield out
        finally:
            self.client.cancel([f for f in futures if not f.done()])


def sweep_stale_spills(folder=None) -> int:
    """Remove spill folders left by runs whose process is gone (killed with SIGKILL).

    A spill folder is named ``stsdetect-dask-<pid>-<random>``; it is stale when no process
    ``<pid>`` runs on this machine. Returns how many folders were removed.
    """
    base = Path(folder or tempfile.gettempdir())
    removed = 0
    for path in base.glob(SPILL_PREFIX + "*"):  # a few folders
        parts = path.name[len(SPILL_PREFIX):].split("-", 1)
        if not path.is_dir() or not parts[0].isdigit():
            continue
        pid = int(parts[0])
        try:
            os.kill(pid, 0)
        except ProcessLookupError:
            shutil.rmtree(path, ignore_errors=True)
            removed += 1
        except PermissionError:  # another user's live process
            continue
    return removed


def detect(sources, client=None, scheduler=None, workers=None, window=_w.DEFAULT_WINDOW,
           workdir=None, *, only=None, regions=None, watchlist=None, retries=2,
           track_context=_w.DEFAULT_TRACK_CONTEXT, read_kwargs=None,
           keep_workdir=False, chunk_bytes=_w.DEFAULT_SPILL_CHUNK_BYTES, vessels=None,
           ports=None, anchorages=None, detections=None, context=True,
           spill_format="arrow", **params) -> _w.WindowedResult:
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
        temporary folder ``stsdetect-dask-<pid>-*`` on this machine when omitted (fine for
        local clusters only), removed on every exit that Python sees (also when connecting
        to the cluster fails, and on Ctrl-C or SIGTERM under the command line) unless
        ``keep_workdir``; folders left by a killed run (SIGKILL) are removed by the next run
        (:func:`sweep_stale_spills`).
    only, regions, watchlist, track_context, read_kwargs, chunk_bytes, vessels, ports, \
    anchorages, detections, context, spill_format, **params
        As for :func:`stsdetect.scale.detect_windowed`.
    retries : int, default 2
        Times Dask re-runs a task that raised (tasks lost with a dead worker are re-run by
        the scheduler regardless, up to its ``allowed-failures``, 3 by default). Dask's own
        default is 0; two retries ride out a transient failure (a worker restarted, a file
        system hiccup). A task that fails on its input (:data:`INPUT_ERRORS`: an unreadable
        or malformed dump) is never retried: its error is raised at once. Tasks are
        idempotent, so a retry is always safe.
    keep_workdir : bool, default False
        Keep the spill.

    Returns
    -------
    stsdetect.scale.WindowedResult
        ``report`` also holds ``tasks`` (decode, window and re-run tasks submitted).
    """
    from stsdetect.scale.engine import run_windows

    dets = _w.read_detections_arg(detections)
    plan = _w.make_plan(window, only=only, track_context=track_context,
                        imagery=dets is not None, context=context,
                        spill_format=spill_format, **params)
    files = _w._sources(sources)
    own_dir = workdir is None
    if not own_dir:
        work = Path(workdir)
        if work.exists() and any(work.iterdir()):
            raise ValueError(f"workdir {work} is not empty; give an empty or new folder")
    cluster_client = owned = None
    work = None if own_dir else Path(workdir)
    try:
        if own_dir:
            sweep_stale_spills()
            work = Path(tempfile.mkdtemp(prefix=f"{SPILL_PREFIX}{os.getpid()}-"))
        else:
            work.mkdir(parents=True, exist_ok=True)
        scratch = str(work / "dask-scratch") if own_dir else None
        cluster_client, owned = get_client(client, scheduler, workers, local_directory=scratch)
        read = {**plan.params.get("read", {}), **(read_kwargs or {})}
        read.setdefault("workers", task_threads(cluster_client))
        result = run_windows(files, plan, work, DaskExecutor(cluster_client, retries), read=read,
                             chunk_bytes=chunk_bytes, regions=regions, watchlist=watchlist,
                             vessels=vessels, detections=dets,
                             **_w.context_areas(ports, anchorages))
    finally:
        try:
            if owned:
                _close(cluster_client)
        finally:
            if own_dir and not keep_workdir and work is not None:
                shutil.rmtree(work, ignore_errors=True)
    result.workdir = work if (keep_workdir or not own_dir) else None
    return result
