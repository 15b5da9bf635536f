"""The registry of stages: what runs, with which parameters, and what it needs across windows.

Each :class:`Stage` names its function (the whole-data form: what :func:`stsdetect.detect`
runs on one window holding all the data), its frozen parameter class
(:mod:`stsdetect.params`), the inputs it reads, and how it runs over time windows:

``carry``
    the windowed form: ``map`` runs on one window's tracks (with its margins) and returns a
    small table of pieces; ``fold`` runs on the client, window after window, joins those
    pieces with the *state* carried from the windows before (open runs: pairs alongside,
    silences, loitering) and returns the events it can close; ``finish`` closes what is left
    at the end. None for stages that run once on merged tables (``post``).
``reach_ns``
    how much data beyond a window's core the ``map`` needs (a function of the parameters):
    the loaded margin is the largest reach of the stages run plus the cleaning context.
``heard``
    whether the stage needs vessels heard near its events (dark periods: ``n_other_heard``).
``positions``
    ``positions(params) -> bool``: whether the windowed ``map`` also reads the window's
    positions table (keyword ``positions``): the dark periods' reception coverage reads its
    ``source`` column (tag-block / ``$PGHP`` source) when ``satellite_sources`` is given.
    Otherwise a window task frees the table once its tracks are built (a third of a window
    task's memory).

The dark-period stage also carries the reception coverage (:mod:`stsdetect.detectors.coverage`):
counts of vessels present and heard per cell and hour add up over windows, so each window
counts its core's hours and the few silences across window edges are counted from the carried
last reports; the model is assembled once at the end (``carry.finish``) and judges the
silences, so windowed and Dask runs give the same ``coverage`` and ``likely_intentional`` as
one in-memory run.

Adding a stage (a detector over tracks, a context table, an enrichment of the events) is one
entry in :data:`STAGES` plus its parameter class in :data:`stsdetect.params.STAGE_PARAMS`.
The driver (:mod:`stsdetect.scale.engine`) runs the entries in order.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from stsdetect import params as P

if TYPE_CHECKING:
    import pandas as pd

__all__ = ["DETECTORS", "STAGES", "Stage", "StageInputs", "detector_names", "select"]


@dataclass
class StageInputs:
    """What stages read: the tables produced so far (one window, or all the data).

    Attributes
    ----------
    tracks : stsdetect.tracks.Tracks
        Cleaned tracks.
    positions : pandas.DataFrame or None
        The positions table (None when the source was Tracks).
    vessels : pandas.DataFrame or None
        The vessels table.
    tables : dict
        Outputs of the stages run so far, by stage name.
    extra : dict
        Anything else a stage needs (regions, watch-list ...), by name.
    """

    tracks: object
    positions: pd.DataFrame | None = None
    vessels: pd.DataFrame | None = None
    tables: dict = field(default_factory=dict)
    extra: dict = field(default_factory=dict)


@dataclass(frozen=True)
class Stage:
    """One registry entry.

    Attributes
    ----------
    name : str
        Stage name (also the ``only=`` name of a detector and the key of its parameters).
    params : type
        Its frozen parameter class.
    run : callable
        ``run(inputs: StageInputs, params) -> pandas.DataFrame``, the whole-data form.
    event_type : str or None
        The event type it produces (None for stages that produce no events).
    kind : str
        ``"detector"`` (over tracks, per window), ``"post"`` (over merged events, once),
        ``"context"`` (a table other stages read) or ``"imagery"`` (imagery detections
        matched per window, then joined to the merged events; runs only with detections).
    always : bool
        Runs even when not selected (dark periods feed the ``dark_before``/``dark_after``
        flags).
    reach_ns : callable
        ``reach_ns(params) -> int``: data needed beyond a window's core, nanoseconds.
    heard : bool
        Needs vessels heard near its events.
    positions : callable
        ``positions(params) -> bool``: its windowed ``map`` reads the window's positions
        table too.
    carry : object or None
        The windowed (carried-state) form, with ``map``, ``fold`` and ``finish``; see
        :mod:`stsdetect.scale.carry`.
    """

    name: str
    params: type
    run: Callable
    event_type: str | None = None
    kind: str = "detector"
    always: bool = False
    reach_ns: Callable = lambda p: 0
    heard: bool = False
    positions: Callable = lambda p: False
    carry: object = None


# -------------------------------------------------------------------- the shipped stages

def _rendezvous(inp: StageInputs, p: P.RendezvousParams):
    from stsdetect.detectors.rendezvous import find_rendezvous

    return find_rendezvous(inp.tracks, **p.kwargs())


def _dark(inp: StageInputs, p: P.DarkParams):
    from stsdetect.detectors.dark import find_dark_periods

    return find_dark_periods(inp.tracks, positions=inp.positions, **p.kwargs())


def _dark_reach_ns(p: P.DarkParams) -> int:
    """The coverage's cadence rule looks one pass gap and one pass beyond a report."""
    if not p.coverage:
        return 0
    return p.ns("satellite_pass_gap") + p.ns("satellite_pass_max")


def _dark_positions(p: P.DarkParams) -> bool:
    """The coverage tells satellite reports by their source only with ``satellite_sources``
    (else by their cadence, from the tracks alone)."""
    return bool(p.coverage) and p.satellite_sources is not None


def _dark_rendezvous(inp: StageInputs, p: P.DarkRendezvousParams):
    from stsdetect.detectors.dark import find_dark_rendezvous

    return find_dark_rendezvous(inp.tables["dark_period"], **p.kwargs())


def _loitering(inp: StageInputs, p: P.LoiteringParams):
    from stsdetect.detectors.loitering import find_loitering

    return find_loitering(inp.tracks, **p.kwargs())


def _anchorages(inp: StageInputs, p):
    """Learned anchorages and berths plus any given areas (``extra["areas"]``); the stops
    and the navigational-status index made on the way are left in ``extra["stops"]`` and
    ``extra["status"]`` for the context columns (computed once, read twice)."""
    from stsdetect.context import StatusIndex, find_stops
    from stsdetect.context.anchorages import _combine, _learn_areas
    from stsdetect.context.columns import has_status

    stops = find_stops(inp.tracks)
    inp.extra["stops"] = stops
    status = StatusIndex(inp.positions, stops["mmsi"].to_numpy()) if has_status(
        inp.positions) else None  # the vessels that stopped: most participants of crowds
    inp.extra["status"] = status
    given = list(inp.extra.get("areas") or [])
    if inp.extra.get("learn_anchorages", True):
        kw = p.kwargs()
        given.append(_learn_areas(inp.tracks, positions=inp.positions, stops=stops,
                                  min_vessels=kw["min_vessels"], status=status,
                                  min_duration=kw["min_duration"], cell_m=kw["cell_m"]))
    return _combine(given)  # plain while every part is (no geopandas on the CLI's path)


def _tows(inp: StageInputs, p):
    """The tow detector's table (tug, towed vessel), read by the barge rules of the flags."""
    from stsdetect.detectors.tows import find_tows, tug_mmsi

    return find_tows(inp.tracks, tug_mmsi(inp.vessels), **p.kwargs())


def _imagery(inp: StageInputs, p: P.ImageryParams):
    """The imagery stage over merged events: ``extra["detections"]`` matched to the tracks,
    dark vessels added, unseen partners marked; the matched detections are left in
    ``extra["matched"]``."""
    from stsdetect.detectors.dark_vessels import imagery_events

    events, inp.extra["matched"] = imagery_events(inp.extra["events"], inp.extra["detections"],
                                                  inp.tracks, **p.kwargs())
    return events


def _carry(name):
    def get():
        from stsdetect.scale import carry

        return getattr(carry, name)
    return get


#: The stages, in the order they run. ``flags`` (identity, regions, scores) runs after them
#: on the merged events (see :mod:`stsdetect.scale.engine`).
STAGES: dict[str, Stage] = {
    "rendezvous": Stage(
        "rendezvous", P.RendezvousParams, _rendezvous, "rendezvous",
        reach_ns=lambda p: p.ns("max_gap") + p.ns("step"), carry=_carry("RENDEZVOUS")),
    "dark_period": Stage(
        "dark_period", P.DarkParams, _dark, "dark_period", always=True, heard=True,
        positions=_dark_positions, reach_ns=_dark_reach_ns, carry=_carry("DARK")),
    "dark_rendezvous": Stage(
        "dark_rendezvous", P.DarkRendezvousParams, _dark_rendezvous, "dark_rendezvous",
        kind="post"),
    "loitering": Stage(
        "loitering", P.LoiteringParams, _loitering, "loitering",
        reach_ns=lambda p: p.ns("max_gap"), carry=_carry("LOITERING")),
    # context (stsdetect.context): where ships ordinarily wait; add_context reads it after
    # the detectors, on the merged events
    "anchorages": Stage(
        "anchorages", P.AnchorageParams, _anchorages, kind="context", always=True),
    # tows (stsdetect.detectors.tows): a table the barge rules of the flags read
    "tows": Stage("tows", P.TowParams, _tows, kind="context", always=True),
    # imagery (stsdetect.detectors.dark_vessels), with detections only: an enrichment of the
    # merged events (dark_vessel events, unseen_partner) after the context. Windowed runs
    # match each window's detections in its task (the position at the image time needs one
    # max_gap of reports around it) and mark unseen partners once on the merged events.
    "imagery": Stage("imagery", P.ImageryParams, _imagery, kind="imagery",
                     reach_ns=lambda p: p.ns("max_gap") + p.ns("max_extrapolate")),
}

#: Detector names accepted by ``only``, in the order they run.
DETECTORS = tuple(n for n, s in STAGES.items() if s.event_type is not None)

#: Other names accepted in ``only``.
ALIASES = {"dark": "dark_period", "dark_periods": "dark_period", "rendezvouses": "rendezvous"}


def detector_names() -> tuple[str, ...]:
    """Names of the stages that produce events, in order."""
    return tuple(s.name for s in STAGES.values() if s.event_type is not None)


def select(only) -> tuple[tuple[str, ...], tuple[str, ...]]:
    """Stages to run and event types to return for an ``only=`` selection.

    Returns
    -------
    run : tuple of str
        Stage names to run, in registry order (the selected ones plus ``always`` ones and
        the inputs of selected ``post`` stages).
    emit : tuple of str
        Stage names whose events are returned.

    Raises
    ------
    ValueError
        On an unknown name (the message lists the known ones).
    """
    names = detector_names()
    if only is None:
        chosen = names
    else:
        chosen = (only,) if isinstance(only, str) else tuple(only)
        chosen = tuple(ALIASES.get(d, d) for d in chosen)
        bad = [d for d in chosen if d not in names]
        if bad or not chosen:
            raise ValueError(f"only: unknown detector(s) {bad}; choose from {list(names)}")
    emit = tuple(n for n in names if n in chosen)
    run = tuple(n for n, s in STAGES.items() if n in chosen or s.always)
    return run, emit
