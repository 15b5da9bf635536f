"""One frozen parameter object per stage, with units, defaults and their sources.

Every stage of the pipeline (``read``, ``tracks``, each detector, ``flags``) takes its options
as one frozen dataclass defined here. A field's metadata says:

``flat``
    its name among :func:`stsdetect.detect`'s keyword arguments (``min_gap``,
    ``loiter_min_duration`` ...);
``kind``
    ``"m"``, ``"kn"`` (positive floats), ``"dur"`` (a duration with a unit: ``"2h"``,
    :class:`pandas.Timedelta`), ``"s"`` (a duration held as seconds: the field name ends in
    ``_s``), ``"int"``, ``"m|none"`` (a distance or None), ``"frac"`` (0 to 1), ``"deg"``
    (degrees, up to 45), ``"bool"`` (``on``/``off`` on the command line), ``"text"``,
    ``"regex|none"``, ``"choice"`` or ``"object"``;
``cli``
    the ``stsdetect detect`` option (None: not on the command line);
``help``
    one line of help.

The command line options and :data:`stsdetect.pipeline.PARAMETERS` are generated from these
objects, so a default is written in one place only: here. The defaults equal the stage
functions' own keyword defaults (a test checks it), documented there with their sources.

This module imports only the standard library, NumPy and pandas: ``stsdetect --help`` builds
its options from it without loading any detector.
"""

from __future__ import annotations

import dataclasses
import datetime as _dt
from dataclasses import dataclass, field

__all__ = [
    "STAGE_PARAMS",
    "AnchorageParams",
    "ContextParams",
    "DarkParams",
    "DarkRendezvousParams",
    "FlagsParams",
    "ImageryParams",
    "LoiteringParams",
    "ReadParams",
    "RendezvousParams",
    "TowParams",
    "TracksParams",
    "duration_ns",
    "flat_parameters",
    "stage_params",
]


def _opt(default, flat, kind, help, cli=True, optional=False):
    import re

    option = "--" + re.sub(r"_(m|kn|s)$", "", flat).replace("_", "-")
    meta = {"flat": flat, "kind": kind, "help": help, "optional": optional,
            "cli": option if cli is True else cli}
    return field(default=default, metadata=meta)


def duration_ns(value, name: str = "duration") -> int:
    """Nanoseconds in a duration given with its unit; bare numbers are refused.

    Parameters
    ----------
    value : str, datetime.timedelta, pandas.Timedelta or numpy.timedelta64
        ``"2h"``, ``"90min"``, ``"1d"``, ``"1h30min"``, ``pd.Timedelta("2h")``.
    name : str
        Parameter name, for the error message.

    Returns
    -------
    int
        The duration in whole nanoseconds (exact).

    Raises
    ------
    ValueError
        For a bare number (a unit is required: ``--min-gap 2`` once silently meant two
        seconds), a string that is not a duration, or a negative duration.
    """
    import re

    import numpy as np
    import pandas as pd

    from stsdetect.geo import duration_s

    try:
        seconds = duration_s(value)  # the one parser (contract C5): a unit is required
    except ValueError as exc:
        raise ValueError(f"{name}: {exc}") from None
    if seconds == 0:
        return 0
    if isinstance(value, str):
        ns = pd.Timedelta(re.sub(r"(?<=\d)\s*d(?=$|\d|\s)", "D", value.strip())).value
    elif isinstance(value, (_dt.timedelta, np.timedelta64, pd.Timedelta)):
        ns = pd.Timedelta(value).value
    else:
        raise ValueError(f"{name}: not a duration: {value!r}")
    return int(ns)


def _seconds(value, name: str) -> float:
    """Seconds of a ``*_s`` field: a duration with a unit, or a number of seconds."""
    import numpy as np

    if isinstance(value, (int, float, np.integer, np.floating)) and not isinstance(value, bool):
        if not np.isfinite(value) or value < 0:
            raise ValueError(f"{name}: must be a finite non-negative number of seconds, "
                             f"got {value!r}")
        return float(value)
    return duration_ns(value, name) / 1e9


class _Params:
    """Checks shared by the parameter objects (a mixin of the frozen dataclasses)."""

    def __post_init__(self):
        import math

        for f in dataclasses.fields(self):
            value = getattr(self, f.name)
            kind = f.metadata.get("kind")
            if kind == "dur":
                if value is None and f.metadata.get("optional"):
                    continue
                duration_ns(value, f.name)
            elif kind == "s":
                object.__setattr__(self, f.name, _seconds(value, f.name))
            elif kind in ("m", "kn") or (kind == "m|none" and value is not None):
                try:
                    number = float(value)
                except (TypeError, ValueError):
                    raise ValueError(f"{f.name}: not a number: {value!r}") from None
                if not (math.isfinite(number) and number > 0):
                    raise ValueError(f"{f.name}: must be a positive number, got {value!r}")
            elif kind == "frac":
                try:
                    number = float(value)
                except (TypeError, ValueError):
                    raise ValueError(f"{f.name}: not a number: {value!r}") from None
                if not 0.0 <= number <= 1.0:
                    raise ValueError(f"{f.name}: must be between 0 and 1, got {value!r}")
            elif kind == "bool":
                if not isinstance(value, bool):
                    raise ValueError(f"{f.name}: must be True or False, got {value!r}")
            elif kind == "deg":
                try:
                    number = float(value)
                except (TypeError, ValueError):
                    raise ValueError(f"{f.name}: not a number: {value!r}") from None
                if not (math.isfinite(number) and 0 < number <= 45):
                    raise ValueError(f"{f.name}: must be in (0, 45] degrees, got {value!r}")
            elif kind == "int":
                if isinstance(value, bool) or int(value) != value or value < 0:
                    raise ValueError(f"{f.name}: must be a whole number >= 0, got {value!r}")

    def kwargs(self) -> dict:
        """The fields as keyword arguments of the stage function."""
        return {f.name: getattr(self, f.name) for f in dataclasses.fields(self)}

    def ns(self, name: str) -> int:
        """A duration field in nanoseconds (int64, exact)."""
        value = getattr(self, name)
        if isinstance(value, float):
            return round(value * 1e9)
        return duration_ns(value, name)


@dataclass(frozen=True)
class ReadParams(_Params):
    """Options of :func:`stsdetect.read_ais` used by :func:`stsdetect.detect`."""

    format: str = _opt("auto", "format", "choice", "input layout", cli=None)
    valid_times: str = _opt("2002-01-01..now+1d", "valid_times", "text",
                            "plausible report times FROM..TO; others are counted as "
                            "implausible_time and dropped (stsdetect.ais.plausible)")
    columns: object = _opt(None, "columns", "text",
                           "columns of a CSV of another layout: mmsi=COL,time=COL,lat=COL,"
                           "lon=COL (optional sog, cog, heading, nav_status)", optional=True)


@dataclass(frozen=True)
class TracksParams(_Params):
    """Options of :func:`stsdetect.build_tracks` (sources there)."""

    max_speed_kn: float = _opt(50.0, "track_max_speed_kn", "kn",
                               "implied speed above which a position is an outlier, knots",
                               cli="--track-max-speed")
    duplicate_window_s: float = _opt(5.0, "duplicate_window_s", "s",
                                     "reports of one MMSI this close in time ...",
                                     cli="--duplicate-window")
    duplicate_distance_m: float = _opt(15.0, "duplicate_distance_m", "m",
                                       "... and this close in metres are duplicates")
    position_noise_m: float = _opt(100.0, "position_noise_m", "m",
                                   "position noise allowed for in the outlier test, metres")
    min_segment_reports: int = _opt(3, "min_segment_reports", "int",
                                    "fewest reports a track segment needs")


@dataclass(frozen=True)
class RendezvousParams(_Params):
    """Options of :func:`stsdetect.find_rendezvous` (GFW encounters, Miller et al. 2018)."""

    max_distance_m: float = _opt(500.0, "max_distance_m", "m", "largest separation, metres")
    min_duration: object = _opt("2h", "min_duration", "dur", "shortest time together")
    max_speed_kn: float = _opt(2.0, "max_speed_kn", "kn",
                               "fastest speed of either vessel, knots")
    step: object = _opt("10min", "step", "dur", "time grid the tracks are compared on")
    max_gap: object = _opt("1h", "max_gap", "dur",
                           "longest reporting gap bridged by interpolation")
    tolerance: object = _opt("10min", "tolerance", "dur",
                             "longest interruption within one rendezvous")


@dataclass(frozen=True)
class DarkParams(_Params):
    """Options of :func:`stsdetect.find_dark_periods` (GFW gaps, Skylight; Welch et al. 2022)."""

    min_gap: object = _opt("6h", "min_gap", "dur", "shortest silence reported as a dark period")
    radius_m: float | None = _opt(
        20_000.0, "dark_radius_m", "m|none",
        "radius in metres for 'other vessels heard nearby' meanwhile; none: gaps only",
        cli="--dark-radius")
    min_others_heard: int = _opt(1, "min_others_heard", "int",
                                 "vessels heard nearby for a silence to count as likely "
                                 "intentional")
    heard_bin: object = _opt("10min", "heard_bin", "dur",
                             "time bins for the vessels-heard test", optional=True)
    coverage: bool = _opt(True, "coverage", "bool",
                          "learn reception coverage from the data and require it of "
                          "likely_intentional silences and dark rendezvous; off: heard count "
                          "only")
    min_coverage: float = _opt(0.5, "min_coverage", "frac",
                               "least coverage along a silence for likely_intentional and "
                               "around both vessels of a dark rendezvous")
    coverage_cell_deg: float = _opt(0.25, "coverage_cell_deg", "deg",
                                    "coverage grid cell, degrees", cli="--coverage-cell")
    satellite_sources: object = _opt(
        None, "satellite_sources", "regex|none",
        "regular expression of the tag-block / $PGHP source names heard by satellite; none: "
        "satellite passes are inferred from the report cadence")
    reception: str = _opt("auto", "reception", "text",
                          "auto, or terrestrial / satellite for a dump that is all one kind")
    coverage_max_bracket: object = _opt(
        "48h", "coverage_max_bracket", "dur",
        "coverage: a vessel silent longer than this is not counted present in the hours between")
    coverage_min_vessels: int = _opt(
        3, "coverage_min_vessels", "int",
        "coverage: fewest other vessels a cell-hour needs for its own figure (else a coarser "
        "cell)")
    satellite_pass_gap: object = _opt(
        "30min", "satellite_pass_gap", "dur",
        "coverage: reports this far apart or more are separate passes (cadence rule)")
    satellite_pass_max: object = _opt(
        "20min", "satellite_pass_max", "dur",
        "coverage: a burst of reports at most this long, alone between silences, is a "
        "satellite pass (cadence rule)")


@dataclass(frozen=True)
class DarkRendezvousParams(_Params):
    """Options of :func:`stsdetect.find_dark_rendezvous`."""

    max_distance_m: float = _opt(
        10_000.0, "dark_max_distance_m", "m",
        "dark rendezvous: largest separation where both vanished and where both reappeared, "
        "metres", cli="--dark-max-distance")
    min_overlap: object = _opt("2h", "min_overlap", "dur",
                               "dark rendezvous: least time both were silent at once")
    min_coverage: float = _opt(0.5, "dark_rendezvous_min_coverage", "frac",
                               "dark rendezvous: least coverage of both silences",
                               cli="--dark-rendezvous-min-coverage")


@dataclass(frozen=True)
class LoiteringParams(_Params):
    """Options of :func:`stsdetect.find_loitering` (GFW carrier loitering)."""

    max_speed_kn: float = _opt(2.0, "loiter_max_speed_kn", "kn", "fastest speed, knots",
                               cli="--loiter-max-speed")
    min_duration: object = _opt("4h", "loiter_min_duration", "dur", "shortest loitering")
    max_gap: object = _opt("1h", "loiter_max_gap", "dur", "longest gap within one run")


@dataclass(frozen=True)
class ImageryParams(_Params):
    """Options of :func:`stsdetect.detectors.dark_vessels.imagery_events` (``--detections``)."""

    match_distance_m: float = _opt(
        1500.0, "match_distance_m", "m",
        "imagery: largest distance from a detection to a track's position at the image time "
        "for a match, metres (Skylight's matching distance)")
    unseen_partner_distance_m: float = _opt(
        500.0, "unseen_partner_distance_m", "m",
        "imagery: an unmatched detection this close to a rendezvous or loitering vessel during "
        "the event marks unseen_partner, metres (the rendezvous distance)")
    max_gap: object = _opt("2h", "match_max_gap", "dur",
                           "imagery: longest gap between two reports a track's position at "
                           "the image time is interpolated across")
    max_extrapolate: object = _opt("10min", "match_max_extrapolate", "dur",
                                   "imagery: a track's report this close in time to the image "
                                   "is dead-reckoned from")


@dataclass(frozen=True)
class AnchorageParams(_Params):
    """Options of :func:`stsdetect.context.find_anchorages` (GFW anchorages, adapted)."""

    min_vessels: int = _opt(0, "anchorage_min_vessels", "int",
                            "distinct vessels stopped in a 1.5 km square for an anchorage; 0: "
                            "adapted to the dump (20 from 30 days, at least 5)")
    min_duration: object = _opt(None, "anchorage_min_duration", "dur",
                                "shortest stop counted for an anchorage; none: adapted (12 h "
                                "from 3 days)", optional=True)
    cell_m: float = _opt(500.0, "anchorage_cell_m", "m",
                         "anchorage grid cell, metres (S2 level 14 is about 0.5 km)")


@dataclass(frozen=True)
class TowParams(_Params):
    """Options of :func:`stsdetect.detectors.tows.find_tows` (barge evidence)."""

    max_distance_m: float = _opt(500.0, "tow_max_distance_m", "m",
                                 "tow: largest separation of a tug and its tow, metres",
                                 cli="--tow-max-distance")
    min_duration: object = _opt("1h", "tow_min_duration", "dur",
                                "tow: least time together, both under way")
    min_sog_kn: float = _opt(2.0, "tow_min_sog_kn", "kn",
                             "tow: both faster than this, knots", cli="--tow-min-sog")
    step: object = _opt("10min", "tow_step", "dur", "tow: time grid of the pair search")


@dataclass(frozen=True)
class ContextParams(_Params):
    """Options of :func:`stsdetect.context.add_context`."""

    crowd_radius_m: float = _opt(2000.0, "crowd_radius_m", "m",
                                 "radius of the crowd count (other vessels stopped), metres")
    crowd_min: int = _opt(5, "crowd_min", "int", "other stopped vessels for 'crowded'")
    visit_window: object = _opt("6h", "visit_window", "dur",
                                "arrived this soon before and left this soon after: a visit")
    draught_change_m: float = _opt(0.5, "draught_change_m", "m",
                                   "least draught change for 'draught_change', metres")


@dataclass(frozen=True)
class FlagsParams(_Params):
    """Options of :func:`stsdetect.flags.flag_events`."""

    before_after_s: float = _opt(
        86400.0, "before_after_s", "s",
        "window before and after an event searched for dark periods (dark_before/after)",
        cli="--before-after")
    weights: object = _opt(None, "weights", "object", "score weights (Python only)", cli=None)


#: Stage name -> its parameter class, in pipeline order. A new stage adds its entry here (and
#: one in :data:`stsdetect.scale.registry.STAGES`).
STAGE_PARAMS: dict[str, type] = {
    "read": ReadParams,
    "tracks": TracksParams,
    "rendezvous": RendezvousParams,
    "dark_period": DarkParams,
    "dark_rendezvous": DarkRendezvousParams,
    "loitering": LoiteringParams,
    "anchorages": AnchorageParams,
    "tows": TowParams,
    "imagery": ImageryParams,
    "context": ContextParams,
    "flags": FlagsParams,
}

#: Section titles of the generated ``stsdetect detect`` options, per stage.
CLI_SECTIONS: dict[str, str] = {
    "rendezvous": "rendezvous (two vessels close together, both nearly still)",
    "dark_period": "dark periods and dark rendezvous",
    "dark_rendezvous": "dark periods and dark rendezvous",
    "loitering": "loitering (one vessel nearly still)",
    "tracks": "track cleaning",
    "anchorages": "context: anchorages, ports, crowds, draught",
    "context": "context: anchorages, ports, crowds, draught",
    "tows": "tows (a tug with a vessel, both under way: barge evidence)",
    "flags": "flags",
    "imagery": "imagery detections (--detections): matching, dark vessels, unseen partners",
}


def flat_parameters() -> dict[str, tuple[str, str]]:
    """``detect()`` keyword -> (stage, field), generated from :data:`STAGE_PARAMS`."""
    out = {}
    for stage, cls in STAGE_PARAMS.items():
        for f in dataclasses.fields(cls):
            out[f.metadata["flat"]] = (stage, f.name)
    return out


def stage_params(flat: dict | None = None, **by_stage) -> dict[str, _Params]:
    """Parameter objects of every stage from ``detect()``-style flat keywords.

    Parameters
    ----------
    flat : dict, optional
        Keywords named as :func:`flat_parameters` names them (``min_gap="12h"`` ...).
    **by_stage
        Ready parameter objects (or dicts of fields) per stage name, overriding ``flat``.

    Returns
    -------
    dict
        Stage name -> frozen parameter object, every stage present.

    Raises
    ------
    TypeError
        For a keyword no stage takes (named in the message).
    ValueError
        For a value a parameter object refuses (a bare-number duration, a negative
        distance ...).
    """
    names = flat_parameters()
    flat = dict(flat or {})
    unknown = sorted(set(flat) - set(names))
    if unknown:
        raise TypeError(f"unexpected keyword argument(s) {unknown}; known parameters: "
                        f"{sorted(names)}")
    fields: dict[str, dict] = {s: {} for s in STAGE_PARAMS}
    for key, value in flat.items():
        stage, name = names[key]
        fields[stage][name] = value
    out = {}
    for stage, cls in STAGE_PARAMS.items():
        given = by_stage.get(stage)
        if isinstance(given, cls):
            out[stage] = given
        else:
            out[stage] = cls(**{**fields[stage], **(given or {})})
    return out
