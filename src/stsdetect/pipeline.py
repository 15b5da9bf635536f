"""One call for the whole pipeline: :func:`detect`.

::

    read_ais(source)                      -> positions, vessels, decode report
    build_tracks(positions)               -> Tracks, cleaning report
    find_rendezvous(tracks)               -> rendezvous
    find_dark_periods(tracks)             -> dark periods
    find_dark_rendezvous(dark periods)    -> dark rendezvous
    find_loitering(tracks)                -> loitering
    find_anchorages(tracks) + ports       -> anchorages, berths, ports (stsdetect.context)
    add_context(events, ...)              -> crowd, nav status, anchorage, visit, draught
    find_tows(tracks, tugs)               -> tows (a table for the barge rules)
    flag_events(all events, tows, ...)    -> identity, region and dark_before/dark_after flags,
                                             their evidence, identity columns, score

The stages and their parameter objects come from the registry
(:mod:`stsdetect.scale.registry`, :mod:`stsdetect.params`); :func:`detect` is the driver's
one-window case (:func:`stsdetect.scale.engine.run_stages`): every stage's whole-data form runs
once on all the data.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import pandas as pd

from stsdetect.params import flat_parameters
from stsdetect.scale.registry import DETECTORS
from stsdetect.tracks import Tracks

__all__ = ["DETECTORS", "PARAMETERS", "DetectResult", "detect"]

#: ``detect()`` keyword -> (stage, field of that stage's parameter object), generated from
#: :data:`stsdetect.params.STAGE_PARAMS`. Stages: ``read`` (:func:`stsdetect.read_ais`),
#: ``tracks`` (:func:`stsdetect.build_tracks`), ``rendezvous``
#: (:func:`stsdetect.find_rendezvous`), ``dark_period`` (:func:`stsdetect.find_dark_periods`),
#: ``dark_rendezvous`` (:func:`stsdetect.find_dark_rendezvous`), ``loitering``
#: (:func:`stsdetect.find_loitering`), ``imagery``
#: (:func:`stsdetect.detectors.dark_vessels.imagery_events`), ``anchorages``
#: (:func:`stsdetect.context.find_anchorages`), ``context``
#: (:func:`stsdetect.context.add_context`) and ``flags`` (:func:`stsdetect.flags.flag_events`).
#: Every default is the parameter object's, equal to that function's own, documented there
#: with its source.
PARAMETERS: dict[str, tuple[str, str]] = flat_parameters()

class _GeoTable:
    """A :class:`DetectResult` field holding an anchorages table as the pipeline made it (a
    plain table of shapely polygons: :func:`stsdetect.context.anchorages._learn_areas`) and
    giving it as a GeoDataFrame when read, so that a run whose caller never reads it (the
    command line without ``--save-anchorages``) does not import geopandas (a dataclass
    descriptor-typed field)."""

    def __set_name__(self, owner, name: str) -> None:
        self._key = "_" + name

    def __get__(self, obj, owner=None):
        if obj is None:
            return None  # the field's default
        value = obj.__dict__.get(self._key)
        if type(value) is pd.DataFrame:
            from stsdetect.context.anchorages import _as_geodataframe

            value = obj.__dict__[self._key] = _as_geodataframe(value)
        return value

    def __set__(self, obj, value) -> None:
        obj.__dict__[self._key] = value


@dataclass(frozen=True, eq=False)
class DetectResult:
    """What :func:`detect` returns.

    Attributes
    ----------
    events : pandas.DataFrame
        One events table (:data:`stsdetect.events.EVENT_COLUMNS`) of every selected type,
        flagged and scored, sorted by ``start`` (then ``mmsi``, ``other_mmsi``, type).
    positions : pandas.DataFrame or None
        The positions table decoded (None when the source was :class:`Tracks`).
    vessels : pandas.DataFrame or None
        The vessels table (None when the source carried none and none was given).
    tracks : Tracks
        The cleaned tracks the detectors ran on.
    decode_report : stsdetect.ais.DecodeReport or None
        Counts of the decode stage (None when the source was already decoded).
    tracks_report : dict
        Cleaning counts of :func:`stsdetect.build_tracks`.
    params : dict
        The keyword arguments each stage was called with (non-default ones only).
    detections : pandas.DataFrame or None
        The imagery detections given, matched to the tracks
        (:func:`stsdetect.detectors.dark_vessels.match_detections`); None without them.
    anchorages : geopandas.GeoDataFrame or None
        The anchorages, berths and ports the context stage used (learned and supplied; save
        them with :func:`stsdetect.context.write_anchorages` to reuse them); None when the
        context stage was off.
    """

    events: pd.DataFrame
    positions: pd.DataFrame | None
    vessels: pd.DataFrame | None
    tracks: Tracks
    decode_report: object | None
    tracks_report: dict
    params: dict = field(default_factory=dict)
    detections: pd.DataFrame | None = None
    anchorages: object | None = _GeoTable()


def _split_params(params: dict) -> dict[str, dict]:
    """Given keywords per stage (only those given), checked by the parameter objects."""
    from stsdetect.params import stage_params

    try:
        stage_params(params)
    except TypeError as exc:
        raise TypeError(f"detect() got {exc}") from None
    stages: dict[str, dict] = {}
    for name, value in params.items():
        stage, key = PARAMETERS[name]
        stages.setdefault(stage, {})[key] = value
    return stages


def _select(only) -> tuple[str, ...]:
    from stsdetect.scale.registry import select

    return select(only)[1]


class _NoBar:
    """The part of a tqdm bar :func:`detect` uses, doing nothing (``progress=False``)."""

    def set_postfix_str(self, text: str) -> None:
        pass

    def update(self, n: int = 1) -> None:
        pass

    def close(self) -> None:
        pass


def detect(source, regions=None, watchlist=None, only=None, progress: bool = False,
           vessels: pd.DataFrame | None = None, detections=None, ports=None,
           anchorages=None, context: bool = True, **params) -> DetectResult:
    """Run the whole pipeline: decode, clean, detect, flag and score.

    Parameters
    ----------
    source : path, list of paths or globs, file object, iterable of lines, AISData, \
pandas.DataFrame or Tracks
        An AIS dump, anything :func:`stsdetect.read_ais` reads; or an already decoded
        :class:`stsdetect.ais.AISData`; or a positions table (columns of
        ``read_ais(...).positions``); or cleaned :class:`~stsdetect.tracks.Tracks`.
    regions : optional
        Regions for the region flags, anything :func:`stsdetect.regions.load_regions`
        accepts; all built-in regions when None; ``[]`` for none.
    watchlist : str, path or pandas.DataFrame, optional
        A watch-list (:func:`stsdetect.identity.load_watchlist`); its vessels are flagged
        ``watchlist`` (exact), ``watchlist_similar`` (near) and, for DPRK-flagged entries,
        ``dprk``.
    only : str or sequence of str, optional
        Detectors whose events are returned, among :data:`DETECTORS` (also ``"dark"`` for
        ``"dark_period"``); all when None. Dark
        periods are always computed (they are cheap) because the ``dark_before`` /
        ``dark_after`` flags of the other events need them.
    progress : bool, default False
        Show a progress bar over the stages (tqdm, on stderr).
    vessels : pandas.DataFrame, optional
        A vessels table to use with a positions table or Tracks source (it overrides the one
        of an AISData source). Without static data the barge rules see only MMSIs and
        transponder classes.
    detections : str, path or pandas.DataFrame, optional
        Vessel detections from satellite imagery, anything
        :func:`stsdetect.imagery.read_detections` reads. They are matched to the tracks
        (:func:`stsdetect.detectors.dark_vessels.match_detections`, one to one, within
        ``match_distance_m``, default 1.5 km); the unmatched ones become ``dark_vessel``
        events, and rendezvous and loitering events with one within
        ``unseen_partner_distance_m`` (default 500 m) get ``unseen_partner``
        (:mod:`stsdetect.detectors.dark_vessels`).
    ports : str, path or GeoDataFrame, optional
        Port or anchorage polygons (:func:`stsdetect.context.load_ports`): events in them are
        flagged ``port`` (or ``anchorage``, by their ``kind``).
    anchorages : str, path, GeoDataFrame or False, optional
        Anchorages saved from an earlier run (:func:`stsdetect.context.write_anchorages`),
        used instead of learning them from this dump; ``False`` learns none. Default: learn
        them (:func:`stsdetect.context.find_anchorages`).
    context : bool, default True
        Run the context stage (:func:`stsdetect.context.add_context`: crowd, navigational
        status, anchorage, visit pattern, draught; tokens ``anchorage``, ``port``,
        ``draught_change`` ...).
    **params
        Stage parameters, named as in :data:`PARAMETERS` (for example ``min_gap="12h"``,
        ``max_distance_m=300``, ``dark_radius_m=10_000``, ``loiter_min_duration="6h"``,
        ``format="nmea"``). Omitted ones keep the stage function's documented default.

    Returns
    -------
    DetectResult
        ``events`` sorted by start time, plus the intermediate tables and both reports.

    Raises
    ------
    TypeError
        On an unknown keyword parameter (named in the message) or a source of an unusable
        type.
    ValueError
        On an unknown detector in ``only`` or a parameter value a stage rejects; regions and
        the watch-list are loaded, and so checked, before any decoding.
    """
    from stsdetect.flags import flag_events
    from stsdetect.identity import load_watchlist
    from stsdetect.params import stage_params
    from stsdetect.regions import _region_table
    from stsdetect.scale.engine import merge_events, run_stages
    from stsdetect.scale.registry import StageInputs, select
    from stsdetect.tracks import build_tracks, heard_spans

    stage_params_given = _split_params(params)
    objects = stage_params(params)
    run, selected = select(only)
    if vessels is not None and not isinstance(vessels, pd.DataFrame):
        raise TypeError(f"vessels must be a DataFrame, got {type(vessels).__name__}")
    decoded = isinstance(source, (Tracks, pd.DataFrame)) or all(
        hasattr(source, a) for a in ("positions", "vessels", "report"))
    if decoded and stage_params_given.get("read"):
        raise TypeError(f"read parameters {sorted(stage_params_given['read'])} apply only when "
                        "detect() reads a dump, not to an already decoded source")
    # Fail on bad regions or watch-list before spending time on decoding.
    no_regions = isinstance(regions, (list, tuple)) and len(regions) == 0
    region_frame = [] if no_regions else _region_table(regions)
    watch = None if watchlist is None else load_watchlist(watchlist)
    dets = None
    if detections is None and stage_params_given.get("imagery"):
        raise ValueError(f"imagery parameters {sorted(stage_params_given['imagery'])} need "
                         "detections (detections=, --detections FILE)")
    if detections is not None:
        from stsdetect.imagery import read_detections

        dets = read_detections(detections)
    given_areas = []
    if context:
        from stsdetect.context import load_ports

        given_areas = [load_ports(ports)] if ports is not None else []
        if anchorages is not None and anchorages is not False:
            given_areas.append(load_ports(anchorages))
    else:
        run = tuple(r for r in run if r != "anchorages")

    steps = ["read", "tracks", *run, "flags"]
    if progress:
        from tqdm.auto import tqdm

        bar = tqdm(total=len(steps), desc="stsdetect", unit="stage")
    else:  # no bar: tqdm.auto (which imports asyncio) stays unloaded, ~0.02 CPU s
        bar = _NoBar()

    def advance(name: str) -> None:
        bar.set_postfix_str(name)
        bar.update(1)

    try:
        positions = decode_report = heard = None
        source_vessels = statics = None
        if isinstance(source, Tracks):
            tracks = source
            if stage_params_given.get("tracks"):
                raise TypeError(f"tracks parameters {sorted(stage_params_given['tracks'])} do "
                                "not apply to a Tracks source (it is already cleaned)")
            advance("read")
        else:
            if isinstance(source, pd.DataFrame):
                positions = source
            elif all(hasattr(source, a) for a in ("positions", "vessels", "report")):
                positions, source_vessels = source.positions, source.vessels
                decode_report = source.report
                statics = getattr(source, "statics", None)
            elif source is None or isinstance(source, (int, float, dict)):
                raise TypeError(f"cannot read AIS from a {type(source).__name__}: pass a path, "
                                "lines, AISData, a positions DataFrame or Tracks")
            else:
                from stsdetect.ais import read_ais

                data = read_ais(source, **stage_params_given.get("read", {}))
                positions, source_vessels, decode_report = data.positions, data.vessels, \
                    data.report
                statics = data.statics
            advance("read")
            tracks = build_tracks(positions, **objects["tracks"].kwargs())
            # the span each MMSI was heard, found on the cleaning's pass: the flags' activity
            # table needs no pass of its own over the positions
            heard = heard_spans(tracks)
        advance("tracks")
        vessels = vessels if vessels is not None else source_vessels

        # The one-window case of the driver: every stage's whole-data form, once.
        inputs = StageInputs(tracks=tracks, positions=positions, vessels=vessels,
                             extra={"areas": given_areas, "learn_anchorages": anchorages is None})
        tables = run_stages(inputs, run, objects, advance=advance)
        events = merge_events(tables, selected)
        evidence = None  # context tokens and reasons, written with the flags' (C4)
        if context:  # context columns and tokens (stsdetect.context) on the merged events
            from stsdetect.context import add_context
            from stsdetect.flags import Evidence

            events = events.reset_index(drop=True)
            evidence = Evidence(events)
            events = add_context(events, tracks=tracks, anchorages=tables["anchorages"],
                                 positions=positions, statics=statics,
                                 stops=inputs.extra.get("stops"), evidence=evidence,
                                 status=inputs.extra.get("status"),
                                 **objects["context"].kwargs())
        matched = None
        if dets is not None:
            if evidence is not None:  # rows are added below: write the context tokens now
                events, evidence = evidence.finish(events), None
            from stsdetect.scale.registry import STAGES

            extra = {"events": events, "detections": dets}
            events = STAGES["imagery"].run(StageInputs(tracks=tracks, extra=extra),
                                           objects["imagery"])
            matched = extra["matched"]
        tows = tables.get("tows")   # the tow detector's table (a registry stage)
        activity = None
        if heard is not None:
            from stsdetect.identity.activity import vessel_activity

            activity = vessel_activity(tracks, positions, heard=heard)
        events = flag_events(events, vessels=vessels, tracks=tracks, regions=region_frame,
                             watchlist=watch, dark_periods=tables["dark_period"],
                             positions=positions, tows=tows, statics=statics,
                             activity=activity, evidence=evidence,
                             **stage_params_given.get("flags", {}))
        events = events.sort_values(["start", "mmsi", "other_mmsi", "event_type"],
                                    kind="stable").reset_index(drop=True)
        advance("flags")
    finally:
        bar.close()
    return DetectResult(
        events=events,
        positions=positions,
        vessels=vessels,
        tracks=tracks,
        decode_report=decode_report,
        tracks_report=dict(tracks.report),
        params={k: v for k, v in stage_params_given.items() if v},
        detections=matched,
        anchorages=tables.get("anchorages") if context else None,
    )
