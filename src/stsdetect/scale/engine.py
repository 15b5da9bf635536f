"""The one driver: stages of the registry run over time windows by an executor.

::

    sources --decode--> positions, partitioned by window (pyarrow.dataset, hive "w=<k>")
            --map (executor: in-process or Dask client.map), one task per window-->
              window k: load [core - margin, core + margin), build tracks, each stage's
              ``carry.map`` -> small tables of pieces
            --fold (client, in window order): pieces + carried state -> closed events,
              open runs carried on (pairs alongside, silences, loitering)
            --post stages (dark rendezvous) and flags, once, on the merged events

:func:`stsdetect.detect` is the case of one window holding all the data: every stage's
whole-data form runs once (:func:`run_stages`), nothing is carried. The windowed and Dask runs
(:func:`stsdetect.scale.detect_windowed`, :func:`stsdetect.dask.detect`) run the same stages
through :func:`run_windows` with an in-process or a Dask executor, and give the same events.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from stsdetect.events import concat_events, empty_events
from stsdetect.scale.registry import STAGES, StageInputs

__all__ = ["LocalExecutor", "run_stages", "run_windows", "warm_client"]


def run_stages(inputs: StageInputs, run: tuple, params: dict, advance=None) -> dict:
    """Run the registry's stages on one window that holds all the data.

    Parameters
    ----------
    inputs : StageInputs
        Tracks, positions, vessels; ``tables`` is filled with each stage's output.
    run : tuple of str
        Stage names to run (see :func:`stsdetect.scale.registry.select`), in registry order.
    params : dict
        Stage name -> parameter object (:func:`stsdetect.params.stage_params`).
    advance : callable, optional
        Called with each stage name when it is done (progress).

    Returns
    -------
    dict
        Stage name -> its table.
    """
    for name, stage in STAGES.items():  # loop over stages (a handful)
        if name not in run:
            continue
        out = stage.run(inputs, params[name])
        inputs.tables[name] = out if out is not None else empty_events()
        if advance is not None:
            advance(name)
    return inputs.tables


def merge_events(tables: dict, emit: tuple) -> pd.DataFrame:
    """The events of the emitted stages, as one table sorted by start."""
    chosen = [tables[n] for n in emit if n in tables and STAGES[n].event_type is not None]
    return concat_events(chosen) if chosen else empty_events()


def warm_client() -> None:
    """Load what the finish of a windowed run executes, in this process: the context stage,
    the flags and the dark rendezvous' compiled pair search (imports and numba's first
    initialisation, ~0.6 CPU s on the 14-day benchmark, about half of it numba's).

    A Dask run ends in a task on a worker (:func:`finish_run`), so the client needs none of
    it; ``benchmarks/bench_dask.py`` warms its workers with it, as a long-lived cluster has
    paid it once. It computes nothing that is kept (one pair search over two points).
    """
    import importlib

    for name in ("stsdetect.context", "stsdetect.flags", "stsdetect.identity",
                 "stsdetect.scale.status", "stsdetect.scale.carry", "stsdetect.detectors.dark",
                 "stsdetect.detectors.tows", "stsdetect.identity.activity"):
        importlib.import_module(name)
    from stsdetect.detectors._pairs import pairs_within
    from stsdetect.geo import unit_xyz

    pairs_within(unit_xyz(np.zeros(2), np.array([0.0, 1e-9])), 1e-6)


# ------------------------------------------------------------------------------ executors

class LocalExecutor:
    """Runs tasks in this process, one at a time, lazily and in order (bounded memory).

    ``map(func, *iterables, **kwargs)`` has the meaning of Dask's ``Client.map``: one call
    ``func(*items, **kwargs)`` per tuple of items, the keyword arguments the same for all; the
    results are yielded in order. :class:`stsdetect.dask.DaskExecutor` is the other executor.
    """

    def __init__(self):
        self.n_tasks = 0

    def map(self, func, *iterables, **kwargs):
        """Yield ``func(*items, **kwargs)`` for each tuple of items, in order."""
        for items in zip(*iterables, strict=True):  # loop over windows (or dumps)
            self.n_tasks += 1
            yield func(*items, **kwargs)

    def submit(self, func, *args, **kwargs):
        """``func(*args, **kwargs)``, run now (a Dask executor returns a future instead)."""
        self.n_tasks += 1
        return func(*args, **kwargs)

    def map_submit(self, func, *iterables, **kwargs) -> list:
        """The results of :meth:`map`, as a list (a Dask executor returns futures, which its
        later tasks may take as arguments)."""
        return list(self.map(func, *iterables, **kwargs))

    def result(self, value):
        """What :meth:`submit` returned (here already the value)."""
        return value


def run_windows(files, plan, work, executor, *, read=None, chunk_bytes=None, progress=False,
                regions=None, watchlist=None, vessels=None, areas=None, learn_anchorages=True,
                detections=None):
    """The driver: decode to partitions, map windows, fold carried state, finish.

    Parameters
    ----------
    files : list
        Dumps (paths) or positions tables, in time order.
    plan : stsdetect.scale.windows.WindowPlan
        Window length, margin and the stages' parameters.
    work : pathlib.Path or stsdetect.scale.spill.MemorySpill
        Spill folder (the partitioned dataset), empty; or, when the executor runs the tasks
        in this process, a spill held in memory up to a budget (in that folder beyond it).
    executor : LocalExecutor or stsdetect.dask.DaskExecutor
        Runs the decode, window and heard tasks; ``map`` yields results in input order.
    read : dict, optional
        Arguments of :func:`stsdetect.read_ais`.
    chunk_bytes : int, optional
        See :func:`stsdetect.scale.windows.spill_source`.
    progress : bool
        Progress bars over dumps and windows.
    regions, watchlist, vessels : optional
        As for :func:`stsdetect.detect`.
    areas : list of geopandas.GeoDataFrame, optional
        Supplied ports and saved anchorages (:func:`stsdetect.context.load_ports`).
    learn_anchorages : bool, default True
        Learn anchorages from the stops (as :func:`stsdetect.detect` does without
        ``anchorages=``).
    detections : pandas.DataFrame, optional
        Imagery detections (:func:`stsdetect.imagery.read_detections`; ``plan.imagery``):
        written beside the spill by window, matched in each window's task, joined to the
        merged events at the end (the imagery stage of the registry).

    Returns
    -------
    stsdetect.scale.windows.WindowedResult
    """
    import time

    from tqdm.auto import tqdm

    from stsdetect.identity.activity import merge_activity
    from stsdetect.scale import windows as W
    from stsdetect.scale.carry import Win
    from stsdetect.scale.registry import STAGES
    from stsdetect.scale.spill import MemorySpill

    t_start, c_start = time.perf_counter(), time.process_time()
    held = isinstance(work, MemorySpill)
    if not held:
        work = str(work)  # the tasks take the folder by name (a remote executor's too)
    kw = {} if chunk_bytes is None else {"chunk_bytes": chunk_bytes}
    n = len(files)
    decoded = executor.map(W.spill_source, range(n), files, [work] * n,
                           window_s=plan.window_s, read_kwargs=read or {},
                           spill_format=plan.spill_format, **kw)
    remote = getattr(executor, "remote", False)
    spills = list(tqdm(decoded, total=n, desc="decode", disable=not progress))
    schema = W.unify_schemas([s["schema"] for s in spills])
    extent = W._extent(spills)
    # only windows near data: a lone far report must not stretch the run (#14 item 7)
    numbers = W.window_numbers(spills, int(np.ceil(plan.margin_s / plan.window_s)))
    if vessels is None:
        vessels = W.merge_vessels([s["vessels"] for s in spills])
    from stsdetect.detectors.tows import tug_mmsi

    tugs = tug_mmsi(vessels)
    det_windows = (W.spill_detections(work, detections, plan) if detections is not None
                   else np.zeros(0, np.int64))
    matched_parts = []
    t_decoded, c_decoded = time.perf_counter(), time.process_time()
    state = {name: None for name in plan.detectors}
    closed, silences, flagc, stop_parts, activity = [], [], [], [], []
    carried = max_rows = 0
    m = len(numbers)
    outs = executor.map(W.detect_window, [work] * m, [plan] * m,
                        [int(k) for k in numbers], extent=extent, tugs=tugs, schema=schema)
    for out in tqdm(outs, total=len(numbers), desc="windows", disable=not progress):
        k = out["window"]  # results come in window order: fold them
        a_ns = k * plan.window_ns
        win = Win(k=k, a_ns=a_ns, b_ns=a_ns + plan.window_ns, lo_ns=a_ns - plan.margin_ns,
                  hi_ns=a_ns + plan.window_ns + plan.margin_ns)
        for name in plan.detectors:  # a handful of stages
            carry = STAGES[name].carry()
            found, state[name] = carry.fold(state[name], out["pieces"][name],
                                            plan.objects[name], win)
            if name == "dark_period":
                silences.append(found)
            else:
                closed.append(found)
                open_now = state[name]
                if isinstance(open_now, dict):
                    open_now = open_now["open"]
                carried += 0 if open_now is None else len(open_now)
        flagc.append(out["flag_candidates"])
        activity.append(out["activity"])
        stop_parts.append(out.get("stops"))
        matched_parts.append(out.get("matched"))
        max_rows = max(max_rows, out["rows"])
    t_windows, c_windows = time.perf_counter(), time.process_time()
    for name in plan.detectors:
        if name not in ("loitering", "dark_period"):
            closed.append(STAGES[name].carry().finish(state[name], plan.objects[name]))
    n_open = carried
    # Loitering runs that crossed window edges need their largest drift, and silences whose
    # heard count needs other windows' reports need those: one round of tasks, one per
    # window either touches (W.finish_task), so the executor's per-round cost is paid once.
    runs, loiter_jobs = (_loiter_jobs(plan, state["loitering"], numbers)
                         if "loitering" in plan.detectors else (None, {}))
    gaps = unknown = coverage = None
    heard_jobs = {}
    if "dark_period" in plan.detectors:
        p = plan.objects["dark_period"]
        gaps = (pd.concat(silences, ignore_index=True) if silences else pd.DataFrame(
            columns=["mmsi", "rank", "t0", "lat0", "lon0", "t1", "lat1", "lon1", "n_heard",
                     "sat0", "sat1"])).reset_index(drop=True)
        unknown = gaps["n_heard"].to_numpy() < 0 if len(gaps) else np.zeros(0, bool)
        n_open += int(unknown.sum())
        if p.radius_m is not None and unknown.any():
            heard_jobs = _heard_jobs(plan, gaps, unknown, numbers)
        # the reception coverage, from the counts carried over the windows
        coverage = STAGES["dark_period"].carry().finish(state["dark_period"], p)
    # The context stage's stops, and the statuses it will ask of them and of the events'
    # vessels over each event: known now (the drifts and heard counts still to come change
    # no event's vessels nor times), so their status tasks join the same round. With a remote
    # executor the rest of the run is submitted at once, as a chain of tasks: the status
    # plan (a task: it runs the provisional dark rendezvous), the round (each task takes
    # its window's status queries from the plan) and the end of the run (fed by the round):
    # no round trip through the client between them, and the client builds the end's
    # inputs while the round runs.
    stops = status = planned = None
    status_jobs = {}
    if plan.context:
        stops = _join_stops(stop_parts)
        if schema is not None and "nav_status" in schema.names:
            from stsdetect.scale.status import WindowedStatus

            status = WindowedStatus(None, work, plan, numbers, schema)
            planned = executor.submit(_plan_status, status, plan, stops[0], closed, runs,
                                      state.get("loitering"), gaps, coverage)
            # in this process the plan is known: only the windows with queries get a task
            status_jobs = set(numbers.tolist()) if remote else planned[1]
    ks = sorted(set(loiter_jobs) | set(heard_jobs) | set(status_jobs))
    radius = (float(plan.objects["dark_period"].radius_m) if heard_jobs else None)
    done = executor.map_submit(W.finish_task, [work] * len(ks), ks,
                               [loiter_jobs.get(k) for k in ks],
                               [heard_jobs.get(k) for k in ks], radius_m=radius, plan=plan,
                               schema=schema, planned=planned)
    matched = None
    if detections is not None:
        matched = W.merge_matched(work, matched_parts, numbers, det_windows, detections)
    finish = Finish(
        plan=plan, work=work, numbers=numbers, schema=schema, closed=closed, runs=runs,
        loiter_parts=None, loitering=state.get("loitering"), gaps=gaps, unknown=unknown,
        heard_keys=None, coverage=coverage, status=status, status_new=None,
        status_parts=None, matched=matched, vessels=vessels, regions=regions,
        watchlist=watchlist, class_b=W.class_b_ids(spills),
        flag_candidates=pd.concat(flagc, ignore_index=True) if flagc else None,
        statics=W.merge_statics(sorted(spills, key=lambda s: s["index"])),
        activity=merge_activity(activity), stops=stops, areas=areas,
        learn_anchorages=learn_anchorages)
    if remote:
        events, status_passes = executor.result(executor.submit(
            finish_round, finish, planned, done, bool(heard_jobs)))
    else:
        events, status_passes = finish_round(finish, planned, done, bool(heard_jobs), executor)
    report = {
        "rows_spilled": int(sum(s["rows"] for s in spills)),
        # where the spill's positions were read from: "memory" (a run in one process whose
        # reports fit the budget of stsdetect.scale.spill) or "disk"
        "spill": "memory" if held and not work.on_disk else "disk",
        "rows_no_time": int(sum(s["no_time"] for s in spills)),
        "vessels_heard": W.vessels_heard(spills),
        "windows": len(numbers),
        "max_rows_loaded": int(max_rows),
        "open_entries": int(n_open),
        "tasks": int(getattr(executor, "n_tasks", 0)),
        # passes over the windows for navigational statuses (the context stage): 1 when all
        # the statuses were asked in the finish round
        "status_passes": int(status_passes),
        # wall seconds of the phases: decode and spill; map windows and fold their pieces;
        # finish (loitering drift, heard counts, context, flags)
        "decode_s": t_decoded - t_start,
        "windows_s": t_windows - t_decoded,
        "finish_s": time.perf_counter() - t_windows,
        # CPU seconds of this process (the client's, with a remote executor: it folds the
        # windows' pieces and runs the finish; a local cluster's scheduler too) per phase
        "decode_cpu_s": c_decoded - c_start,
        "windows_cpu_s": c_windows - c_decoded,
        "finish_cpu_s": time.process_time() - c_windows,
    }
    return W.WindowedResult(events=events, vessels=vessels,
                            decode_report=W.merge_reports([s["report"] for s in spills]),
                            report=report, detections=matched)


def _one_task(executor, func, *args):
    """``func(*args)`` as one task of the executor (on a worker, with a remote one)."""
    return next(iter(executor.map(func, *([a] for a in args))))


@dataclass
class Finish:
    """What the end of a windowed run needs once the finish round is back: the closed
    events, the open runs and silences with the round's answers, the statuses fetched, and
    what the context stage and the flags read (see :func:`finish_run`). Small tables only:
    with a Dask executor it travels to a worker as one task."""

    plan: object
    work: object  # the spill folder's name, or the MemorySpill of a run in this process
    numbers: np.ndarray
    schema: object
    closed: list
    runs: object
    loiter_parts: list
    loitering: object
    gaps: object
    unknown: object
    heard_keys: object
    coverage: object
    status: object
    status_new: object
    status_parts: list
    matched: object
    vessels: object
    regions: object
    watchlist: object
    class_b: np.ndarray
    flag_candidates: object
    statics: object
    activity: object
    stops: object
    areas: object
    learn_anchorages: bool
    #: The provisional dark rendezvous of the status plan (:func:`_plan_status`), or None.
    dark_guess: object = None


def finish_round(f: Finish, planned, done: list, heard: bool, executor=None):
    """The end of a windowed run from the finish round's answers: ``done`` holds each round
    task's ``(chords, heard keys, statuses)`` (:func:`stsdetect.scale.windows.finish_task`),
    ``planned`` the status plan (:func:`_plan_status`; None without the context stage),
    ``heard`` whether heard counts were asked. Fills them into ``f`` and runs
    :func:`finish_run`. With a Dask executor it is one task whose inputs are the round's
    tasks, so it starts as soon as they end."""
    f.loiter_parts = [d[0] for d in done]
    f.heard_keys = [d[1] for d in done] if heard else None
    f.status_parts = [d[2] for d in done if d[2] is not None]
    if planned is not None:
        f.status_new, f.dark_guess = planned[0], planned[2]
    return finish_run(f, executor)


def finish_run(f: Finish, executor=None):
    """The end of a windowed run: loitering and dark-period events from the finish round's
    answers, then :func:`stsdetect.scale.windows.finish_events` (dark rendezvous, the context
    stage, imagery, flags) on all the events.

    With a remote executor (Dask) it runs as one task on a worker, so the client imports
    none of the context stage, the flags or the compiled pair searches, and spends no CPU on
    them beside the workers (on a two-core machine it shared the cores with them); what it
    still reads from the spill (whole tracks of the flags' candidates, statuses the finish
    round lacked) it reads there, in that task. Returns the events and the passes over the
    windows for statuses.
    """
    from stsdetect.scale import windows as W
    from stsdetect.scale.carry import dark_events

    executor = LocalExecutor() if executor is None else executor
    plan, closed = f.plan, list(f.closed)
    status = f.status
    if status is not None:
        status.executor = executor
        if f.status_new is not None:
            status.absorb(f.status_new, f.status_parts)
    if f.runs is not None:
        closed.append(_loitering_events(plan, f.runs, f.loiter_parts, f.loitering))
    if f.gaps is not None:
        gaps = f.gaps
        if f.heard_keys is not None:
            keys = np.unique(np.concatenate([np.zeros((0, 2), np.int64), *f.heard_keys]),
                             axis=0)
            counts = np.bincount(keys[:, 0], minlength=len(gaps)) if len(keys) else \
                np.zeros(len(gaps), np.int64)
            n_heard = gaps["n_heard"].to_numpy(np.int64).copy()
            n_heard[f.unknown] = counts[f.unknown]
            gaps = gaps.assign(n_heard=n_heard)
        closed.append(dark_events(gaps, plan.objects["dark_period"], f.coverage))
    imagery = None
    if f.matched is not None:

        def imagery(ev):
            return _imagery_stage(ev, f.matched, executor, f.work, plan, f.numbers, f.schema)
    events = W.finish_events(
        [concat_events(closed)], plan, vessels=f.vessels, regions=f.regions,
        watchlist=f.watchlist, class_b=f.class_b, flag_candidates=f.flag_candidates,
        load_tracks=lambda m: _one_task(executor, W.whole_tracks, f.work, plan, m,
                                        f.numbers, f.schema),
        statics=f.statics, activity=f.activity, dark_guess=f.dark_guess,
        context=(None if not plan.context else lambda ev: _context_stage(
            ev, f.stops, status, f.statics, plan, f.areas, f.learn_anchorages)),
        imagery=imagery)
    return events, (status.n_passes if status is not None else 0)


def _imagery_stage(events, matched, executor, work, plan, numbers, schema):
    """Dark vessels and unseen partners on the merged events, as :func:`stsdetect.detect`
    adds them: the tracks of the rendezvous and loitering vessels whose events saw an
    unmatched detection are read back whole from the spill (one task)."""
    from stsdetect.detectors.dark_vessels import dark_vessel_events
    from stsdetect.geo import epoch_ns
    from stsdetect.scale import windows as W
    from stsdetect.tracks import Tracks

    p = plan.objects["imagery"]
    dark_t = np.sort(epoch_ns(matched.loc[~matched["matched"].to_numpy(bool), "time"]))
    ev = events.loc[events["event_type"].isin(["rendezvous", "loitering"])]
    lo = np.searchsorted(dark_t, epoch_ns(ev["start"]), side="left")
    hi = np.searchsorted(dark_t, epoch_ns(ev["end"]), side="right")
    ev = ev.loc[hi > lo]
    who = np.union1d(ev["mmsi"].to_numpy(np.int64),
                     ev["other_mmsi"].dropna().to_numpy(np.int64))
    tracks = (next(iter(executor.map(W.whole_tracks, [work], [plan], [who],
                                     windows=numbers, schema=schema)))
              if who.size else Tracks.empty())
    return dark_vessel_events(events, matched, tracks, p.unseen_partner_distance_m, p.max_gap,
                              p.max_extrapolate)


def _heard_jobs(plan, gaps, unknown, numbers) -> dict:
    """Per window: the silences (``q``: their row in ``gaps``) whose heard count needs that
    window's thinned reports."""
    from stsdetect.scale import windows as W

    q = gaps.loc[unknown].copy()
    q["q"] = np.flatnonzero(unknown)
    k0 = q["t0"].to_numpy(np.int64) // plan.window_ns
    k1 = q["t1"].to_numpy(np.int64) // plan.window_ns
    return W.jobs_by_window(q, k0, k1, numbers)


def _loiter_jobs(plan, state, numbers):
    """Loitering runs summed over the windows (with their centres) and, per window they
    span, the runs whose largest drift needs that window's rows."""
    from stsdetect.scale import windows as W
    from stsdetect.scale.carry import LOITERING

    p = plan.objects["loitering"]
    runs = LOITERING.finish(state, p).reset_index(drop=True)
    if not len(runs):
        return runs, {}
    xyz = runs[["x", "y", "z"]].to_numpy(float)
    centre = xyz / np.linalg.norm(xyz, axis=1, keepdims=True)
    runs["id"] = np.arange(len(runs))
    runs["cx"], runs["cy"], runs["cz"] = centre[:, 0], centre[:, 1], centre[:, 2]
    k0, k1 = runs["k0"].to_numpy(np.int64), runs["k1"].to_numpy(np.int64)
    cols = ["id", "mmsi", "rank", "t0", "t1", "cx", "cy", "cz"]
    return runs, W.jobs_by_window(runs[cols], k0, k1, numbers)


def _loitering_events(plan, runs, parts, state):
    """Loitering events of the runs, with the largest drift chords the tasks measured, and
    of the loitering closed inside single windows (kept in the fold's ``state``)."""
    from stsdetect.scale.carry import loitering_from_runs

    p = plan.objects["loitering"]
    closed = (state or {}).get("closed", [])
    if not len(runs) and not closed:
        return empty_events()
    chords = pd.concat([pd.DataFrame({"id": np.zeros(0, np.int64), "chord": np.zeros(0)}),
                        *parts], ignore_index=True).groupby("id")["chord"].max()
    max_chord = (chords.reindex(runs["id"]).to_numpy(float) if len(runs)
                 else np.zeros(0))
    return loitering_from_runs(runs, np.nan_to_num(max_chord, nan=0.0), p, closed)


def _join_stops(stop_parts):
    """The stops joined from the windows' pieces (exact: see
    :func:`stsdetect.context.stops.join_stop_pieces`) and the span of the cleaned tracks in
    seconds (what :func:`stsdetect.detect` adapts the anchorage thresholds to)."""
    from stsdetect.context.stops import join_stop_pieces

    parts = [p for p in stop_parts if p is not None]
    ends = [p[1] for p in parts if len(p[1])]
    stops = join_stop_pieces([p[0] for p in parts], ends)
    span = (max(int(e["last_ns"].max()) for e in ends)
            - min(int(e["first_ns"].min()) for e in ends)) / 1e9 if ends else 0.0
    return stops, float(span)


def _ranges(events):
    """(vessel, start, end) of each event's vessel and partner (-1: none), int64 ns: the
    statuses the context stage asks of the events."""
    from stsdetect.geo import epoch_ns

    s_ns, e_ns = epoch_ns(events["start"]), epoch_ns(events["end"])
    mmsi = pd.to_numeric(events["mmsi"], errors="coerce").fillna(-1).to_numpy(np.int64)
    other = pd.to_numeric(events["other_mmsi"], errors="coerce").fillna(-1).to_numpy(np.int64)
    return np.concatenate([mmsi, other]), np.tile(s_ns, 2), np.tile(e_ns, 2)


def _status_queries(plan, stops, closed, runs, loitering, gaps, coverage):
    """The statuses the context stage will ask, known before the finish round: the stops',
    and over each event its vessel's and partner's -- rendezvous (closed), loitering (every
    run summed over windows and every run closed in one; the drift measured in the round
    changes no run's times), dark periods and the dark rendezvous derived from them (the
    heard counts still to come change neither). Queries the context stage then asks and
    that are not among these are fetched by another pass (correct either way).

    Returns the queries ``(mmsi, lo, hi)`` and the provisional dark rendezvous (from the
    dark periods with the heard counts still unknown taken as 0; None when not run)."""
    from stsdetect.scale.carry import dark_events
    from stsdetect.scale.registry import STAGES, StageInputs

    q = [stops["mmsi"].to_numpy(np.int64)]
    lo = [stops["start_ns"].to_numpy(np.int64)]
    hi = [stops["end_ns"].to_numpy(np.int64)]

    def add(m, a, b):
        q.append(np.asarray(m, np.int64))
        lo.append(np.asarray(a, np.int64))
        hi.append(np.asarray(b, np.int64))

    for table in closed:  # rendezvous events (other stages' closed tables are None here)
        if table is not None and len(table):
            add(*_ranges(table))
    if runs is not None and len(runs):
        add(runs["mmsi"], runs["t0"], runs["t1"])
    for c in (loitering or {}).get("closed", []):
        add(c["mmsi"], c["start_ns"], c["end_ns"])
    post = None
    if gaps is not None and len(gaps):
        p = plan.objects["dark_period"]
        if "dark_period" in plan.emit:
            add(gaps["mmsi"], gaps["t0"], gaps["t1"])
        if plan.dark_rendezvous:
            guess = gaps.assign(n_heard=np.maximum(gaps["n_heard"].to_numpy(np.int64), 0))
            dark = dark_events(guess, p, coverage)
            post = STAGES["dark_rendezvous"].run(StageInputs(None, tables={"dark_period": dark}),
                                                 plan.objects["dark_rendezvous"])
            if post is not None and len(post):
                add(*_ranges(post))
    return (np.concatenate(q), np.concatenate(lo), np.concatenate(hi)), post


def _plan_status(status, plan, stops, closed, runs, loitering, gaps, coverage):
    """The status queries of the context stage (:func:`_status_queries`) as the finish
    round fetches them: ``(new, jobs)`` of :meth:`WindowedStatus.plan_fetch
    <stsdetect.scale.status.WindowedStatus.plan_fetch>` (the queries, and per window its
    share), and the provisional dark rendezvous (None when not run), which the end of the
    run settles instead of searching again (:func:`stsdetect.scale.windows.settle_dark_rendezvous`).
    A task: the dark rendezvous are a compiled pair search."""
    queries, post = _status_queries(plan, stops, closed, runs, loitering, gaps, coverage)
    return (*status.plan_fetch(*queries), post)


def _context_stage(events, stops, status, statics, plan, areas, learn):
    """The context stage at the end of a windowed run, as :func:`stsdetect.detect` runs it.

    ``stops``: the stops joined from the windows' pieces and the tracks' span
    (:func:`_join_stops`); anchorages are learned from them; the navigational status of the
    stops and the event participants is counted window by window (``status``, a
    :class:`stsdetect.scale.status.WindowedStatus` whose queries mostly came with the
    finish round: one window's statuses in memory at a time, whatever the span; None when
    the spill has no statuses); draught and destination come from the statics history the
    decode tasks returned.
    """
    from stsdetect.context import add_context, find_anchorages
    from stsdetect.context.anchorages import combine_areas

    stops, span = stops
    if status is not None:
        # what both find_anchorages (the stops) and add_context (each event's vessel and
        # partner over the event) will ask, in one pass for whatever the finish round lacked
        q, lo, hi = _ranges(events)
        status.prefetch(np.concatenate([stops["mmsi"].to_numpy(np.int64), q]),
                        np.concatenate([stops["start_ns"].to_numpy(np.int64), lo]),
                        np.concatenate([stops["end_ns"].to_numpy(np.int64), hi]))
    given = list(areas or [])
    if learn:
        a = plan.objects["anchorages"]
        given.append(find_anchorages(None, stops=stops, status=status, span_s=float(span),
                                     min_vessels=a.min_vessels, min_duration=a.min_duration,
                                     cell_m=a.cell_m))
    table = combine_areas(given)
    return add_context(events, anchorages=table, statics=statics, stops=stops, status=status,
                       **plan.objects["context"].kwargs())
