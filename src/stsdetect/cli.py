"""The ``stsdetect`` command line (also ``python -m stsdetect``).

Sub-commands: ``detect``, ``decode``, ``simulate``, ``demo``, ``plot``, ``report`` and
``evidence``. Run
``stsdetect COMMAND --help`` for each one's options. This module only parses arguments, shows
progress and maps errors to exit codes; the work is done by the library functions it calls.
"""

from __future__ import annotations

import argparse
import contextlib
import glob
import json
import logging
import os
import sys
from pathlib import Path
from typing import TYPE_CHECKING

from stsdetect import __version__

if TYPE_CHECKING:  # numpy and pandas load when a command runs, not for --help
    import pandas as pd

__all__ = ["EXIT_BAD_INPUT", "EXIT_EMPTY", "EXIT_ERROR", "EXIT_MISMATCH", "EXIT_OK", "main"]

log = logging.getLogger("stsdetect")

#: Exit codes (also listed in ``stsdetect --help``).
EXIT_OK = 0
EXIT_ERROR = 1
EXIT_BAD_INPUT = 2
EXIT_EMPTY = 3
EXIT_MISMATCH = 4

EXIT_CODES_HELP = """\
exit codes:
  0  success (also when no events are found: that is said plainly on stdout)
  1  internal error (a bug: rerun with --log-level DEBUG for the traceback)
  2  bad usage or input: unreadable or missing file, unknown region, bad duration string,
     unknown option value
  3  no events found, only with --fail-on-empty
  4  an evidence package does not match its sources (evidence --verify)
"""

#: Events given their own section with figures in the demo's report.html (the top ones by
#: score; the table lists all of them). A size choice: each section costs two PNGs.
DEMO_REPORT_EVENTS = 10

#: Columns of the ranked summary table printed after detection.
SUMMARY_COLUMNS = ["score", "event_type", "mmsi", "name", "other_mmsi", "other_name", "start",
                   "duration_h", "lat", "lon", "distance_m", "flags"]


class UsageError(Exception):
    """Bad input from the user: printed as one line, exit code 2."""


class _Parser(argparse.ArgumentParser):
    """An argument parser whose errors are one line (plus a pointer to ``--help``)."""

    def error(self, message):
        self.exit(EXIT_BAD_INPUT, f"{self.prog}: error: {message} (see {self.prog} --help)\n")


def _duration(text: str) -> str:
    """argparse type: a duration like ``90min``, ``2h``, ``1d``; returned as given, validated.

    A bare number is refused (``--min-gap 2`` once silently meant two seconds).
    """
    from stsdetect.params import duration_ns

    try:
        duration_ns(text)
    except ValueError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from None
    return text


def _seconds(text: str) -> float:
    """argparse type: a duration given as text, returned in seconds (for ``*_s`` parameters)."""
    from stsdetect.params import duration_ns

    try:
        return duration_ns(text) / 1e9
    except ValueError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from None


class _NoneValue:
    """Marks an option given as ``none`` (a parameter set to None)."""


def _positive_float_or_none(text: str):
    return _NoneValue() if text.strip().lower() == "none" else _positive_float(text)


def _count(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a whole number: {text!r}") from None
    if value < 0:
        raise argparse.ArgumentTypeError(f"must be 0 or more, got {text!r}")
    return value


def _positive_float(text: str) -> float:
    import numpy as np

    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a number: {text!r}") from None
    if not np.isfinite(value) or value <= 0:
        raise argparse.ArgumentTypeError(f"must be a positive number, got {text!r}")
    return value


def _only(text: str) -> list[str]:
    from stsdetect.scale.registry import detector_names

    kinds = [k.strip() for k in text.split(",") if k.strip()]
    unknown = [k for k in kinds if k not in detector_names()]
    if not kinds or unknown:
        raise argparse.ArgumentTypeError(
            f"unknown event type(s) {', '.join(unknown) or repr(text)}; choose from "
            f"{', '.join(detector_names())}")
    return kinds


def _fraction(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a number: {text!r}") from None
    if not 0.0 <= value <= 1.0:
        raise argparse.ArgumentTypeError(f"must be between 0 and 1, got {text!r}")
    return value


def _on_off(text: str) -> bool:
    value = text.strip().lower()
    if value not in ("on", "off"):
        raise argparse.ArgumentTypeError(f"must be on or off, got {text!r}")
    return value == "on"


def _pattern_or_none(text: str):
    import re

    if text.strip().lower() == "none":
        return _NoneValue()
    try:
        re.compile(text)
    except re.error as exc:
        raise argparse.ArgumentTypeError(f"not a regular expression: {exc}") from None
    return text


_OPTION_TYPES = {"m": _positive_float, "kn": _positive_float, "dur": _duration,
                 "s": _seconds, "int": _count, "m|none": _positive_float_or_none,
                 "frac": _fraction, "bool": _on_off, "deg": _positive_float, "text": str,
                 "regex|none": _pattern_or_none}
_METAVARS = {"m": "M", "kn": "KN", "dur": "DUR", "s": "DUR", "int": "N", "m|none": "M|none",
             "frac": "F", "bool": "on|off", "deg": "DEG", "text": "TEXT",
             "regex|none": "REGEX|none"}

def _shown(default, kind: str) -> str:
    """A default as the help shows it (seconds fields as durations: ``5s``, ``1d``)."""
    if kind == "s":
        seconds = float(default)
        for unit, size in (("d", 86400), ("h", 3600), ("min", 60)):
            if seconds >= size and seconds % size == 0:
                return f"{int(seconds // size)}{unit}"
        return f"{seconds:g}s"
    if kind == "bool":
        return "on" if default else "off"
    if default is None:
        return "none"
    if isinstance(default, float):
        return f"{default:g}"
    return str(default)


def _detect_options() -> dict[str, list[tuple[str, str, str, str, str]]]:
    """Detector options generated from the stages' parameter objects (:mod:`stsdetect.params`)."""
    import dataclasses

    from stsdetect.params import CLI_SECTIONS, STAGE_PARAMS

    out: dict[str, list] = {}
    order = ["rendezvous", "dark_period", "dark_rendezvous", "loitering", "tracks", "flags"]
    stages = [s for s in order if s in STAGE_PARAMS] + [s for s in STAGE_PARAMS
                                                          if s not in order]
    for stage in stages:  # a handful of stages
        for f in dataclasses.fields(STAGE_PARAMS[stage]):
            meta = f.metadata
            if meta.get("cli"):
                title = CLI_SECTIONS.get(stage, stage.replace("_", " "))
                out.setdefault(title, []).append(
                    (meta["cli"], meta["flat"], meta["kind"], _shown(f.default, meta["kind"]),
                     meta["help"]))
    return out


#: Detector options of ``stsdetect detect``: (flag, ``detect()`` keyword, kind, default as
#: shown, help), per section. Generated from the stages' parameter objects
#: (:mod:`stsdetect.params`): no default is written here. Every keyword of
#: :data:`stsdetect.pipeline.PARAMETERS` but ``format`` (the ``--format`` option) and
#: ``weights`` (a mapping, set in Python).
DETECT_OPTIONS: dict[str, list[tuple[str, str, str, str, str]]] = _detect_options()


# --------------------------------------------------------------------------------- parser

def build_parser() -> argparse.ArgumentParser:
    """The argument parser of the ``stsdetect`` command."""
    from stsdetect.scale.registry import detector_names

    def options(defaults: bool) -> argparse.ArgumentParser:
        # Accepted before and after the command; the sub-command's copy must not reset a value
        # given before it, so only the top-level copy has defaults.
        p = argparse.ArgumentParser(add_help=False)
        p.add_argument("-q", "--quiet", action="store_true",
                       default=False if defaults else argparse.SUPPRESS,
                       help="no progress bars and no tables, only errors and the output paths")
        p.add_argument("--log-level", type=str.upper,
                       default="WARNING" if defaults else argparse.SUPPRESS,
                       choices=["DEBUG", "INFO", "WARNING", "ERROR"],
                       help="logging detail on stderr (default WARNING)")
        return p

    top_options, common = options(True), options(False)
    parser = _Parser(
        prog="stsdetect",
        description="Find ship-to-ship transfers, dark periods and dark rendezvous in AIS dumps. "
                    "Start with `stsdetect demo`.",
        epilog=EXIT_CODES_HELP, formatter_class=argparse.RawDescriptionHelpFormatter,
        parents=[top_options])
    parser.add_argument("--version", action="version", version=f"stsdetect {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", parser_class=_Parser)

    fmt_help = ("input layout: auto (default: sniffed per file), nmea, marinecadastre, dma, "
                "gfw_jsonl or csv (any CSV, with --columns). Files may be gzip, bzip2, xz or "
                "zstd compressed or ZIP archives (every member is read); an existing path is "
                "read as itself, any other is expanded as a glob")

    # detect
    p = sub.add_parser(
        "detect", parents=[common], epilog=EXIT_CODES_HELP,
        formatter_class=argparse.RawDescriptionHelpFormatter,
        help="find rendezvous, dark periods, dark rendezvous and loitering in dumps",
        description="Decode the dumps, build tracks, run the detectors, flag and rank the events, "
                    "write them and print the decode report and the top events. INPUT may also "
                    "be a positions table written by `stsdetect decode` (.parquet or .csv; its "
                    "vessels table is picked up beside it). Durations are written like 90min, "
                    "2h, 1d, 7200s or 1h30min (a number without a unit is an error). Every "
                    "default shown is the library's own, documented with its published source "
                    "in the stage functions (stsdetect.detectors, "
                    "stsdetect.tracks.build_tracks, stsdetect.flags).")
    p.add_argument("inputs", nargs="+", metavar="INPUT", help="AIS dump file(s) or glob(s)")
    p.add_argument("-o", "--output", required=True, type=Path,
                   help="events file: .csv, .geojson or .parquet (GeoParquet)")
    p.add_argument("--format", default="auto", help=fmt_help)
    for title, options in DETECT_OPTIONS.items():
        g = p.add_argument_group(title)
        for flag, dest, kind, default, text in options:
            g.add_argument(flag, dest=dest, type=_OPTION_TYPES[kind], metavar=_METAVARS[kind],
                           help=f"{text} (default {default})")
    p.add_argument("--region", action="append", metavar="NAME|FILE", dest="regions",
                   help="region to flag events in: a built-in name (hangzhou_bay, "
                        "yangtze_estuary, ningbo_zhoushan, china_territorial_sea, korea_bay, "
                        "dprk_west_coast) or a GeoJSON/shapefile with a 'name' column; repeat "
                        "for several (default: all built-ins)")
    p.add_argument("--detections", type=Path, metavar="FILE",
                   help="vessel detections from satellite imagery (.csv or .parquet): a table "
                        "of time, lat, lon, scene_id (optional length_m, detection_id) or "
                        "Global Fishing Watch's SAR vessel detections; unmatched ones become "
                        "dark_vessel events and mark unseen partners (see "
                        "stsdetect.imagery)")
    p.add_argument("--watchlist", type=Path, metavar="FILE",
                   help="CSV watch-list of MMSI/IMO/names to flag (see stsdetect.identity)")
    p.add_argument("--only", type=_only, metavar="TYPES",
                   help=f"comma-separated event types to run: {','.join(detector_names())}")
    p.add_argument("--top", type=int, default=15, metavar="N",
                   help="events shown in the summary table (default 15)")
    p.add_argument("--fail-on-empty", action="store_true",
                   help="exit with code 3 when no events are found (default: exit 0)")
    g = p.add_argument_group(
        "context: port files, saved anchorages, dropping ordinary events",
        "Anchorages and berths are learned from where many vessels lie stationary (GFW's "
        "rule adapted to the dump's length); events in them are flagged anchorage or port, "
        "score lower and are listed after the others.")
    g.add_argument("--ports", type=Path, metavar="FILE",
                   help="port/anchorage polygons (GeoJSON, shapefile ...; optional 'name' and "
                        "'kind' columns, kind port|anchorage|berth, default port)")
    g.add_argument("--anchorages", type=Path, metavar="FILE",
                   help="anchorages saved by --save-anchorages on an earlier dump: used "
                        "instead of learning them again")
    g.add_argument("--save-anchorages", type=Path, metavar="FILE",
                   help="write the anchorages, berths and ports used (.geojson or .parquet)")
    g.add_argument("--drop", type=_tokens, metavar="TOKENS",
                   help="leave out events carrying any of these comma-separated flags, e.g. "
                        "anchorage,port")
    g.add_argument("--no-context", action="store_true",
                   help="skip the context stage (no anchorage/port/draught flags)")
    g = p.add_argument_group(
        "distributed (needs the [dask] extra)",
        "Run decoding per file and detection per time window as Dask tasks, with results "
        "identical to a single-process run (see stsdetect.dask). Input files and --workdir "
        "must be reachable under the same path from every worker.")
    g.add_argument("--scheduler", metavar="ADDRESS",
                   help="address of a running dask.distributed scheduler, e.g. "
                        "tcp://10.0.0.5:8786")
    g.add_argument("--workers", type=int, metavar="N",
                   help="start a local Dask cluster of N worker processes")
    g.add_argument("--window", type=_duration, default="1d", metavar="DUR",
                   help="time window of one detection task (default 1d)")
    g.add_argument("--workdir", type=Path, metavar="DIR",
                   help="empty folder on shared storage for the Parquet spill (default: a "
                        "temporary folder, fine for a local cluster)")
    p.set_defaults(func=cmd_detect)

    # decode
    p = sub.add_parser(
        "decode", parents=[common], epilog=EXIT_CODES_HELP,
        formatter_class=argparse.RawDescriptionHelpFormatter,
        help="decode dumps once into a positions table (and a vessels table beside it)",
        description="Decode AIS dumps into the positions table and the vessels table, so that a "
                    "big dump is decoded once and `stsdetect detect` can read the result.")
    p.add_argument("inputs", nargs="+", metavar="INPUT", help="AIS dump file(s) or glob(s)")
    p.add_argument("-o", "--output", required=True, type=Path,
                   help="positions file: .parquet or .csv")
    p.add_argument("--vessels", type=Path, metavar="FILE",
                   help="vessels file (default: OUTPUT's name with '.vessels' before the suffix)")
    p.add_argument("--format", default="auto", help=fmt_help)
    p.add_argument("--valid-times", default="2002-01-01..now+1d", metavar="FROM..TO",
                   help="plausible report times; records stamped outside are counted as "
                        "implausible_time and dropped (default 2002-01-01..now+1d)")
    p.add_argument("--columns", metavar="KEY=COL,...",
                   help="columns of a CSV of another layout, e.g. mmsi=ID,"
                        "time=ais_pos_timestamp,lat=latitude,lon=longitude")
    p.set_defaults(func=cmd_decode)

    # simulate
    p = sub.add_parser(
        "simulate", parents=[common], epilog=EXIT_CODES_HELP,
        formatter_class=argparse.RawDescriptionHelpFormatter,
        help="write a synthetic scenario (NMEA with tag blocks) and its truth",
        description="Write a seeded synthetic scenario: background traffic, DPRK-barge transfers "
                    "after dark periods, a dark rendezvous, decoys and reception noise, as "
                    "gzipped NMEA with tag blocks, plus its truth and vessels (see "
                    "stsdetect.simulate).")
    p.add_argument("-o", "--output", required=True, type=Path, metavar="DIR",
                   help="folder to write scenario.nmea.gz, scenario_truth.csv, "
                        "scenario_vessels.csv")
    p.add_argument("--seed", type=int, default=0, help="random seed (default 0)")
    p.add_argument("--start", default="2024-03-01", help="start time, UTC (default 2024-03-01)")
    p.add_argument("--duration", type=_duration, default="2d",
                   help="length, at least 36h with injected events (default 2d)")
    p.add_argument("--transfers", type=int, default=2, help="injected transfers (default 2)")
    p.add_argument("--background", type=int, default=20,
                   help="transiting background vessels (default 20)")
    p.add_argument("--min-interval", type=_duration, default="0s", metavar="DUR",
                   help="floor on the report interval; 0s keeps AIS's 10 s/30 s/3 min "
                        "(default 0s; the bundled demo uses 2min)")
    p.add_argument("--dark-rendezvous", type=int, default=1, metavar="N",
                   help="pairs that go dark together (default 1)")
    p.add_argument("--anchored", type=int, default=4, metavar="N",
                   help="lone vessels at anchor (default 4)")
    p.add_argument("--no-decoys", action="store_true", help="leave the decoys out")
    p.add_argument("--no-noise", action="store_true",
                   help="no corrupted, truncated, duplicated or not-available reports")
    p.add_argument("--no-gzip", action="store_true", help="write plain scenario.nmea")
    p.set_defaults(func=cmd_simulate)

    # demo
    p = sub.add_parser(
        "demo", parents=[common], epilog=EXIT_CODES_HELP,
        formatter_class=argparse.RawDescriptionHelpFormatter,
        help="run the whole pipeline on the bundled scenario",
        description="Run the whole pipeline on the bundled demo scenario (2 days of simulated "
                    "traffic off Shanghai with two injected DPRK-barge transfers) and write "
                    "events.csv, events.geojson, report.html (figures for the top 10 events "
                    "when matplotlib is installed) and map.png (with matplotlib). The events are "
                    "checked against the scenario's truth.")
    p.add_argument("-o", "--output", type=Path, default=Path("stsdetect-demo"), metavar="DIR",
                   help="output folder (default ./stsdetect-demo)")
    p.set_defaults(func=cmd_demo)

    # plot
    p = sub.add_parser(
        "plot", parents=[common], epilog=EXIT_CODES_HELP,
        formatter_class=argparse.RawDescriptionHelpFormatter,
        help="map of events (needs the [plot] extra)",
        description="Draw an events file on a map with the built-in regions and the coastline "
                    "(stsdetect.plot); with --tracks also the participants' tracks. Needs "
                    "matplotlib (pip install 'stsdetect[plot]').")
    p.add_argument("events", type=Path, help="events file written by `stsdetect detect`")
    p.add_argument("-o", "--output", required=True, type=Path,
                   help="map .png; with --each, a folder for one <event_id>.png per event")
    p.add_argument("--tracks", nargs="+", dest="inputs", metavar="INPUT",
                   help="the dump(s), or positions written by `stsdetect decode`, to draw "
                        "tracks from")
    p.add_argument("--format", default="auto", help=fmt_help)
    p.add_argument("--each", action="store_true", help="one map per event into folder OUTPUT")
    p.set_defaults(func=cmd_plot)

    # report
    p = sub.add_parser(
        "report", parents=[common], epilog=EXIT_CODES_HELP,
        formatter_class=argparse.RawDescriptionHelpFormatter,
        help="self-contained HTML report of events",
        description="Write an offline HTML report of an events file (stsdetect.report); with "
                    "--tracks it shows tracks and pair timelines (figures need matplotlib).")
    p.add_argument("events", type=Path, help="events file written by `stsdetect detect`")
    p.add_argument("-o", "--output", required=True, type=Path, help="report .html")
    p.add_argument("--tracks", nargs="+", dest="inputs", metavar="INPUT",
                   help="the dump(s), or positions written by `stsdetect decode`, for maps and "
                        "timelines")
    p.add_argument("--format", default="auto", help=fmt_help)
    p.add_argument("--title", default="stsdetect report", help="page title")
    p.add_argument("--max-events", type=_count, default=50, metavar="N",
                   help="top-ranked events given their own section (default 50)")
    p.add_argument("--max-figures", type=_count, default=50, metavar="N",
                   help="how many of those sections get a map and a timeline (default 50; "
                        "about 0.1 s each)")
    p.set_defaults(func=cmd_report)

    # evidence
    p = sub.add_parser(
        "evidence", parents=[common], epilog=EXIT_CODES_HELP,
        formatter_class=argparse.RawDescriptionHelpFormatter,
        help="evidence packages: the raw lines, hashes and figures behind events",
        description="Write one folder per event (stsdetect.evidence): the raw input lines of "
                    "both vessels from --margin before to --margin after the event, byte for "
                    "byte with their file and line number, the SHA-256 of every source, a "
                    "manifest (version, parameters, the event row, hashes) and the event's "
                    "map and timeline. Running it twice gives the same bytes. With --verify, "
                    "check packages against the sources instead.")
    p.add_argument("events", type=Path, nargs="?",
                   help="events file written by `stsdetect detect`")
    p.add_argument("--event", action="append", dest="event_ids", metavar="ID", default=[],
                   help="event_id to package (repeat for several)")
    p.add_argument("--source", nargs="+", dest="sources", metavar="DUMP", default=[],
                   help="the dump(s) the events were detected from; with --verify, where "
                        "the sources are now (matched by file name)")
    p.add_argument("-o", "--output", type=Path, metavar="DIR",
                   help="folder that receives one package folder per event")
    p.add_argument("--margin", default="2h",
                   help="reports from this long before to this long after the event "
                        "(default 2h, with its unit)")
    p.add_argument("--params", type=Path, metavar="JSON",
                   help="the detection parameters used, as a JSON object of `stsdetect "
                        "detect` keywords (e.g. {\"min_gap\": \"12h\"}), for events files "
                        "without the <name>.params.json that `stsdetect detect` writes "
                        "beside them; recorded in the manifest beside every default")
    p.add_argument("--verify", type=Path, metavar="DIR",
                   help="check the package(s) in DIR against their manifest and the sources")
    p.set_defaults(func=cmd_evidence)
    return parser


# --------------------------------------------------------------------------------- helpers

def _progress(args) -> bool:
    """Progress bars only for a person watching: stderr is a terminal and not --quiet."""
    return not args.quiet and sys.stderr.isatty()


@contextlib.contextmanager
def _source(inputs: list[str], args):
    """The dump(s) to read: a single file is opened behind a byte-count progress bar when
    progress is shown; otherwise (and for several files or globs) the paths themselves."""
    if not _progress(args) or len(inputs) != 1 or not os.path.isfile(inputs[0]):
        yield inputs if len(inputs) > 1 else inputs[0]
        return
    from tqdm.auto import tqdm

    path = inputs[0]
    with open(path, "rb") as raw, tqdm.wrapattr(
        raw, "read", total=os.path.getsize(path), desc=f"reading {Path(path).name}",
        unit="B", unit_scale=True, unit_divisor=1024, file=sys.stderr, leave=False,
    ) as wrapped:
        yield wrapped


def _say(args, *lines) -> None:
    if not args.quiet:
        for line in lines:
            print(line)


def _check_inputs(inputs) -> list[str]:
    """Existing readable files (globs are left for the reader); a clear error otherwise."""
    out = []
    for item in inputs:
        text = str(item)
        path = Path(text)
        if not path.exists() and glob.has_magic(text):  # an existing path is never a glob
            out.append(text)
            continue
        if not path.exists():
            raise UsageError(f"input file not found: {text}")
        if path.is_dir():
            raise UsageError(f"input is a folder, not a file: {text}")
        if not os.access(path, os.R_OK):
            raise UsageError(f"input file is not readable: {text}")
        out.append(text)
    return out


def _check_output(path: Path, suffixes, label: str = "-o") -> Path:
    if path.suffix.lower() not in suffixes:
        raise UsageError(f"output {path} ({label}) must end in {', '.join(suffixes)}")
    return path


def _input_files(*groups) -> list:
    """Every file a command will read: dumps (globs expanded as the reader expands them),
    the vessels tables read beside positions tables, watch-lists and region files."""
    from stsdetect.ais.sources import expand

    files = []
    for item in (i for group in groups for i in (group or ())):
        try:
            files.extend(Path(path) for _, path, _ in expand(str(item)) if path is not None)
        except (FileNotFoundError, IsADirectoryError, TypeError):
            continue
        if _is_table(str(item)):
            files.append(_vessels_path(Path(item)))
    return files


def _guard_outputs(outputs: dict, inputs, folders=()) -> None:
    """#14 item 2: before any work, refuse an output that is an input or another output, or
    that cannot be written (stsdetect.outputs.check_outputs)."""
    from stsdetect.outputs import check_outputs

    try:
        check_outputs(outputs, inputs, folders)
    except ValueError as exc:
        raise UsageError(str(exc)) from None
    for path in outputs.values():
        if path is not None:
            Path(path).parent.mkdir(parents=True, exist_ok=True)


def _is_table(path: str) -> bool:
    """A positions table written by ``stsdetect decode`` (CSV dumps in other layouts, such as
    MarineCadastre's, are told apart by their columns)."""
    path = str(path)
    if path.lower().endswith(".parquet"):
        return True
    if path.lower().endswith(".csv") and Path(path).is_file():
        with open(path, encoding="utf-8", errors="replace") as fh:
            header = fh.readline().strip().split(",")
        return {"mmsi", "time", "lat", "lon", "sog_kn"} <= set(header)
    return False


def _vessels_path(positions_path: Path) -> Path:
    return positions_path.with_name(f"{positions_path.stem}.vessels{positions_path.suffix}")


def _read_table(path: Path) -> pd.DataFrame:
    import pandas as pd

    if path.suffix.lower() == ".parquet":
        return pd.read_parquet(path)
    from stsdetect.outputs import restore_formulas

    frame = restore_formulas(pd.read_csv(path))
    for col in ("time", "first_seen", "last_seen"):
        if col in frame:
            frame[col] = pd.to_datetime(frame[col], utc=True, format="ISO8601")
    return frame


def _load_decoded(inputs):
    """Positions and vessels written by ``stsdetect decode`` (all inputs must be tables)."""
    import pandas as pd

    positions, vessels = [], []
    for item in inputs:
        path = Path(item)
        try:
            frame = _read_table(path)
        except Exception as exc:  # pyarrow/pandas raise many types for a bad file
            raise UsageError(f"cannot read positions table {path}: {exc}") from None
        missing = {"mmsi", "time", "lat", "lon"} - set(frame.columns)
        if missing:
            raise UsageError(f"{path} is not a positions table (missing {sorted(missing)}); "
                             "write one with `stsdetect decode`")
        positions.append(frame)
        vpath = _vessels_path(path)
        if vpath.exists():
            vessels.append(_read_table(vpath))
    pos = pd.concat(positions, ignore_index=True)
    ves = pd.concat(vessels, ignore_index=True) if vessels else None
    if ves is not None and ves["mmsi"].duplicated().any():
        ves = ves.sort_values("last_seen").drop_duplicates("mmsi", keep="last")
    return pos, ves


def _read(inputs, fmt: str):
    """Decode dumps (or load decoded tables): positions, vessels, decode report or None."""
    if all(_is_table(i) for i in inputs):
        pos, ves = _load_decoded(inputs)
        return pos, ves, None
    from stsdetect.ais import read_ais

    data = read_ais(inputs if len(inputs) > 1 else inputs[0], format=fmt)
    return data.positions, data.vessels, data.report


def _summary_table(events: pd.DataFrame, top: int) -> str:
    import pandas as pd

    from stsdetect.events import rank_events

    ranked = rank_events(events).head(max(top, 0))  # anchorage / port events last
    table = ranked[[c for c in SUMMARY_COLUMNS if c in ranked]].copy()
    table["start"] = table["start"].dt.strftime("%Y-%m-%d %H:%M")
    table["flags"] = [",".join(f) for f in table["flags"]]
    table["other_mmsi"] = table["other_mmsi"].astype("string").fillna("")
    with pd.option_context("display.width", 200, "display.max_colwidth", 60):
        text = table.to_string(index=False, float_format=lambda v: f"{v:.1f}", na_rep="")
    more = len(events) - len(table)
    return text + (f"\n... and {more} more (all in the output file)" if more > 0 else "")


def _counts(events: pd.DataFrame) -> str:
    counts = events["event_type"].value_counts()
    return ", ".join(f"{n} {kind}" for kind, n in counts.items())


def _tokens(text: str) -> tuple:
    tokens = tuple(t.strip() for t in str(text).split(",") if t.strip())
    if not tokens:
        raise argparse.ArgumentTypeError("give comma-separated flag tokens, e.g. anchorage,port")
    return tokens


def _context_kwargs(args) -> dict:
    """detect() keywords of the context options (files checked first: exit 2 if missing)."""
    kwargs = {}
    if getattr(args, "no_context", False):
        return {"context": False}
    for name in ("ports", "anchorages"):
        path = getattr(args, name, None)
        if path is not None:
            _check_inputs([path])
            kwargs[name] = path
    return kwargs


def _run_pipeline(source, args, regions=None, watchlist=None, only=None, params=None,
                  vessels=None, detections=None):
    from stsdetect.pipeline import detect

    return detect(source, regions=regions, watchlist=watchlist, only=only,
                  progress=_progress(args), vessels=vessels, detections=detections,
                  **_context_kwargs(args),
                  **(params or {}))


def _detector_params(args) -> dict:
    """The detector options given on the command line, as ``detect()`` keywords."""
    params = {}
    for options in DETECT_OPTIONS.values():
        for _, dest, _, _, _ in options:
            value = getattr(args, dest, None)
            if value is not None:
                params[dest] = None if isinstance(value, _NoneValue) else value
    return params


def _regions(args):
    if not args.regions:
        return None
    from stsdetect.regions import _region_table

    _region_table(list(args.regions))  # unknown name or missing file -> ValueError, exit 2
    return list(args.regions)


# --------------------------------------------------------------------------------- commands

def cmd_detect(args) -> int:
    inputs = _check_inputs(args.inputs)
    out = _check_output(args.output, (".csv", ".geojson", ".json", ".parquet", ".geoparquet"))
    regions = _regions(args)
    watchlist = None
    if args.watchlist is not None:
        _check_inputs([args.watchlist])
        watchlist = args.watchlist  # read (and checked) by detect() before any decoding
    from stsdetect.events import evidence_path, params_path

    outputs = {"-o": out, "-o (its evidence)": evidence_path(out),
               "-o (its parameters)": params_path(out)}
    if args.detections:  # the detections with their matches, beside the events
        from stsdetect.imagery import matches_path

        outputs["matched detections"] = matches_path(out)
    _guard_outputs(outputs, _input_files(inputs, [args.watchlist] if watchlist else [],
                                         [r for r in (args.regions or [])
                                          if Path(r).is_file()],
                                         [args.detections] if args.detections else []))
    params = _detector_params(args)
    detections = None
    if getattr(args, "detections", None) is not None:
        _check_inputs([args.detections])
        from stsdetect.imagery import read_detections

        detections = read_detections(args.detections)  # bad layout -> ValueError, exit 2
        skipped = {k: v for k, v in detections.attrs.get("skipped", {}).items() if v}
        if skipped:
            _say(args, f"{args.detections}: skipped detections {skipped}")
    if args.save_anchorages is not None:
        _check_output(args.save_anchorages, (".geojson", ".json", ".parquet", ".geoparquet"))
    if getattr(args, "scheduler", None) or getattr(args, "workers", None) is not None:
        if args.save_anchorages:
            raise UsageError("--save-anchorages is not available with --workers/--scheduler "
                             "(save anchorages from an in-memory run)")
        return _detect_dask(args, inputs, out, regions, watchlist, params, detections)
    vessels = None
    tables = [_is_table(i) for i in inputs]
    if any(tables) and not all(tables):
        raise UsageError("give either AIS dumps or positions tables written by `stsdetect "
                         "decode`, not a mix of both")
    if all(tables):
        source, vessels = _load_decoded(inputs)
    else:
        source = None
        if args.format != "auto":
            params["format"] = args.format
    try:
        with contextlib.ExitStack() as stack:
            if source is None:
                source = stack.enter_context(_source(inputs, args))
            result = _run_pipeline(source, args, regions=regions, watchlist=watchlist,
                                   only=args.only, params=params, vessels=vessels,
                                   detections=detections)
    except (OSError, EOFError) as exc:
        raise UsageError(f"cannot read {', '.join(inputs)}: {_one_line(exc)}") from None
    return _finish_detect(args, result, out, label=", ".join(inputs), params=params,
                          run=_run_record(args, inputs))


def _run_record(args, inputs) -> dict:
    """What else a detection run was given, for ``<stem>.params.json`` (names as given)."""
    run = {"inputs": [str(i) for i in inputs]}
    for name in ("only", "regions", "watchlist", "detections", "ports", "anchorages",
                 "window"):
        value = getattr(args, name, None)
        if value is not None:
            run[name] = [str(v) for v in value] if isinstance(value, (list, tuple)) \
                else str(value)
    if getattr(args, "no_context", False):
        run["context"] = False
    return run


def _detect_dask(args, inputs, out: Path, regions, watchlist, params, detections=None) -> int:
    """``detect --scheduler/--workers``: the same detection as Dask tasks (stsdetect.dask)."""
    import pandas as pd

    if args.scheduler and args.workers is not None:
        raise UsageError("give --scheduler or --workers, not both")
    if args.workers is not None and args.workers < 1:
        raise UsageError(f"--workers must be at least 1, got {args.workers}")
    try:
        import distributed  # noqa: F401  (its import sets up its loggers, quietened below)

        import stsdetect.dask as sd
    except ImportError:
        raise UsageError("--scheduler/--workers need the [dask] extra: "
                         "pip install 'stsdetect[dask]'") from None
    # Dask's own INFO lines (workers starting, clients connecting) are not the user's business
    # unless asked for with --log-level INFO or DEBUG; with --quiet only a crash is shown.
    level = getattr(logging, args.log_level)
    for name in ("distributed", "tornado", "bokeh"):
        logging.getLogger(name).setLevel(
            logging.CRITICAL if args.quiet else max(level, logging.ERROR)
            if level >= logging.WARNING else level)
    from stsdetect.ais.sources import expand

    files = []
    for item in inputs:  # one decode task per file: expand globs here (as the reader would)
        try:
            files.extend(path for _, path, _ in expand(item))
        except (FileNotFoundError, IsADirectoryError):
            pass
    if not files:
        raise UsageError(f"no input files match {', '.join(inputs)}")
    tables = [_is_table(f) for f in files]
    vessels = None
    if all(tables):  # positions tables of `stsdetect decode`: Parquet ones are read by workers
        beside = [_vessels_path(Path(f)) for f in files]
        found = [_read_table(v) for v in beside if v.exists()]
        if found:
            vessels = pd.concat(found, ignore_index=True)
            vessels = vessels.sort_values("last_seen").drop_duplicates("mmsi", keep="last")
        files = [_read_table(Path(f)) if not f.lower().endswith(".parquet") else f
                 for f in files]
    elif any(tables):
        raise UsageError("give either AIS dumps or positions tables of `stsdetect decode`, "
                         "not both")
    elif args.format != "auto":
        params["format"] = args.format
    try:
        result = sd.detect(files, scheduler=args.scheduler, workers=args.workers,
                           window=args.window, workdir=args.workdir, only=args.only,
                           regions=regions, watchlist=watchlist, vessels=vessels,
                           detections=detections,
                           **{k: v for k, v in _context_kwargs(args).items()
                              if k in ("ports", "anchorages", "context")}, **params)
    except (OSError, EOFError) as exc:
        raise UsageError(f"cannot read {', '.join(inputs)}: {_one_line(exc)}") from None
    return _finish_detect(args, result, out, label=", ".join(inputs), params=params,
                          run=_run_record(args, inputs))


def _finish_detect(args, result, out: Path, label: str, announce: bool = True,
                   params=None, run=None) -> int:
    from stsdetect.events import rank_events, write_events

    events = result.events
    if result.decode_report is not None:
        if not args.quiet:  # (the texts below are made only to be printed)
            _say(args, "Decode report", str(result.decode_report), "")
        if not result.decode_report.decoded_lines:  # #15 item 5: not AIS at all
            raise UsageError(_no_ais_message(label, result.decode_report))
    cleaning = getattr(result, "tracks_report", None)
    if cleaning and not args.quiet:
        _say(args, _cleaning_summary(cleaning), "")
    drop = getattr(args, "drop", None)
    if drop:
        kept = rank_events(events, drop=drop)
        n_dropped = len(events) - len(kept)
        events = events[events["event_id"].isin(kept["event_id"])].reset_index(drop=True)
        _say(args, f"--drop {','.join(drop)}: left out {n_dropped} events", "")
    save = getattr(args, "save_anchorages", None)
    if save is not None:  # read only here: reading them makes the GeoDataFrame (geopandas)
        from stsdetect.context import write_anchorages

        areas = getattr(result, "anchorages", None)
        if areas is None:
            raise UsageError("--save-anchorages needs the context stage (not with "
                             "--no-context or --workers/--scheduler)")
        write_anchorages(areas, save)
        _say(args, f"wrote {len(areas)} anchorages, berths and ports to {save}", "")
    write_events(events, out, params=params if params is not None else {}, run=run)
    matched = getattr(result, "detections", None)
    if matched is not None:
        from stsdetect.imagery import matches_path, write_matches

        n_dark = int((~matched["matched"].to_numpy(bool)).sum())
        _say(args, f"imagery: {len(matched) - n_dark:,} of {len(matched):,} detections matched "
                   f"to AIS; {n_dark:,} dark vessels; matches written to "
                   f"{write_matches(matched, matches_path(out))}", "")
    positions = getattr(result, "positions", None)
    if positions is None and hasattr(result, "report"):  # windowed / Dask: counts only
        n_pos, n_ves = result.report["rows_spilled"], result.report["vessels_heard"]
    else:
        n_pos = len(positions) if positions is not None else 0
        n_ves = None  # counted below only where it is printed (a pass over every report)
    if not n_pos and result.decode_report is not None:
        print(f"No AIS position reports could be decoded from {label}: is it an AIS dump? "
              f"(see the decode report above); wrote an empty table to {out}.")
        return EXIT_EMPTY if getattr(args, "fail_on_empty", False) else EXIT_OK
    if not len(events) and cleaning and n_pos and not cleaning.get("rows_out", 1):
        # #14 item 12: every position was dropped; say how many and why, not "no events"
        print(f"None of the {n_pos:,} positions decoded from {label} could be used "
              f"({_dropped_reasons(cleaning)}); wrote an empty table to {out}.")
        return EXIT_EMPTY if getattr(args, "fail_on_empty", False) else EXIT_OK
    if n_ves is None and (not len(events) or not args.quiet):
        n_ves = positions["mmsi"].nunique() if n_pos else 0
    if not len(events):
        print(f"No events found in {label} ({n_pos:,} positions from {n_ves:,} vessels) with "
              f"these parameters; wrote an empty table to {out}.")
        return EXIT_EMPTY if getattr(args, "fail_on_empty", False) else EXIT_OK
    if not args.quiet:
        _say(args, f"{len(events)} events ({_counts(events)}) from {n_pos:,} positions of "
                   f"{n_ves:,} vessels. Top events by score:", "",
             _summary_table(events, getattr(args, "top", 15)), "")
    if announce:
        print(f"wrote {out}")
    return EXIT_OK


_DROP_WORDS = {"dropped_no_time": "without a time", "dropped_no_position": "without a position",
               "dropped_invalid_mmsi": "with an invalid MMSI",
               "dropped_duplicate": "duplicates", "dropped_outlier": "outliers"}


def _dropped_reasons(cleaning: dict) -> str:
    parts = [f"{cleaning[k]:,} {words}" for k, words in _DROP_WORDS.items()
             if cleaning.get(k)]
    return "dropped: " + (", ".join(parts) if parts else "none")


def _cleaning_summary(cleaning: dict) -> str:
    """One line: the track stage's cleaning counts (stsdetect.tracks.build_tracks)."""
    return (f"Track cleaning: {cleaning.get('rows_in', 0):,} positions in, "
            f"{cleaning.get('rows_out', 0):,} kept; {_dropped_reasons(cleaning)}; "
            f"{cleaning.get('segments_split', 0):,} segments split")


def _no_ais_message(label: str, report) -> str:
    skipped = sorted(report.skipped.items(), key=lambda kv: -kv[1])[:3]
    why = ", ".join(f"{n:,} {k}" for k, n in skipped) or "it is empty"
    return (f"no AIS messages in {label} ({report.lines:,} records read: {why}); is it an "
            "AIS dump? Accepted: NMEA (!AIVDM/!AIVDO, any talker, tag blocks, $PGHP), "
            "MarineCadastre or DMA CSV, GFW JSON lines")


def cmd_decode(args) -> int:
    inputs = _check_inputs(args.inputs)
    out = _check_output(args.output, (".parquet", ".csv"))
    vessels_out = args.vessels or _vessels_path(out)
    _check_output(vessels_out, (".parquet", ".csv"), label="--vessels")
    _guard_outputs({"-o": out, "--vessels": vessels_out}, _input_files(inputs))
    from stsdetect.ais import read_ais
    from stsdetect.outputs import write_table

    try:
        with _source(inputs, args) as source:
            data = read_ais(source, format=args.format, valid_times=args.valid_times,
                            columns=args.columns)
    except (OSError, EOFError) as exc:
        raise UsageError(f"cannot read {', '.join(inputs)}: {_one_line(exc)}") from None
    _say(args, "Decode report", str(data.report), "")
    if not data.report.decoded_lines:  # #15 item 5: nothing of AIS in it; write nothing
        raise UsageError(_no_ais_message(", ".join(inputs), data.report))
    for frame, path in ((data.positions, out), (data.vessels, vessels_out)):
        write_table(frame, path, date_format="%Y-%m-%dT%H:%M:%S.%fZ")  # atomic
    if not len(data.positions):
        print(f"No position reports decoded from {', '.join(inputs)}; wrote empty tables.")
    print(f"wrote {out} ({len(data.positions):,} positions) and {vessels_out} "
          f"({len(data.vessels):,} vessels)")
    return EXIT_OK


def cmd_simulate(args) -> int:
    from stsdetect.geo import duration_s
    from stsdetect.simulate import simulate

    for name in ("transfers", "background", "dark_rendezvous", "anchored"):
        if getattr(args, name) < 0:
            raise UsageError(f"--{name.replace('_', '-')} must be 0 or more")
    noise = {} if not args.no_noise else {
        "corrupt_fraction": 0.0, "truncate_fraction": 0.0, "duplicate_fraction": 0.0,
        "not_available_fraction": 0.0}
    scenario = simulate(seed=args.seed, start=args.start, duration=args.duration,
                        n_transfers=args.transfers, n_dark_rendezvous=args.dark_rendezvous,
                        n_background=args.background, n_anchored=args.anchored,
                        min_interval_s=duration_s(args.min_interval), decoys=not args.no_decoys,
                        **noise)
    paths = scenario.write(args.output, compress=not args.no_gzip)
    truth = scenario.truth
    _say(args, f"Scenario {scenario.start:%Y-%m-%d %H:%M} to {scenario.end:%Y-%m-%d %H:%M} UTC: "
               f"{len(scenario.vessels)} vessels, {scenario.noise['lines']:,} lines "
               f"({scenario.noise['corrupt_checksum']} corrupt, {scenario.noise['truncated']} "
               f"truncated, {scenario.noise['duplicates']} duplicates).",
         "Truth: " + ", ".join(f"{n} {k}" for k, n in truth["kind"].value_counts().items()))
    print("wrote " + ", ".join(str(p) for p in paths.values()))
    return EXIT_OK


def cmd_demo(args) -> int:
    from stsdetect.events import write_events
    from stsdetect.simulate import demo_path, demo_truth_path, read_truth

    out_dir = args.output
    _guard_outputs({}, [], folders=[out_dir])
    out_dir.mkdir(parents=True, exist_ok=True)
    dump = demo_path()
    _say(args, f"stsdetect demo: {dump.name}, a simulated 2-day dump off Shanghai", "")
    with _source([str(dump)], args) as source:
        result = _run_pipeline(source, args)
    code = _finish_detect(args, result, out_dir / "events.csv", label=dump.name, announce=False)
    write_events(result.events, out_dir / "events.geojson", params={},
                 run={"inputs": [dump.name]})
    written = [out_dir / "events.csv", out_dir / "events.geojson"]
    try:
        import matplotlib  # noqa: F401
    except ImportError:
        _say(args, "matplotlib is not installed: no map or HTML figures "
                   "(pip install 'stsdetect[plot]').")
        have_mpl = False
    else:
        have_mpl = True
    if have_mpl and len(result.events):
        from stsdetect.plot import save_map

        written.append(save_map(result.events, out_dir / "map.png", tracks=result.tracks,
                                regions=True))
    from stsdetect.report import write_html_report

    written.append(write_html_report(
        result.events, out_dir / "report.html", tracks=result.tracks if have_mpl else None,
        regions=True, title="stsdetect demo", decode_report=result.decode_report,
        max_events=DEMO_REPORT_EVENTS,
        tracks_report=getattr(result, "tracks_report", None)))
    truth = read_truth(demo_truth_path())
    found, expected = _score_against_truth(result.events, truth)
    _say(args, f"Against the scenario's truth: {found} of {expected} injected events found "
               "(transfers, dark periods, dark rendezvous).")
    print("wrote " + ", ".join(str(p) for p in written))
    return code


def _score_against_truth(events: pd.DataFrame, truth: pd.DataFrame) -> tuple[int, int]:
    """How many truth rows that expect detection have a same-type, same-vessels event overlapping
    in time. Events and truth rows are few (tens): a small cross join."""
    want = truth[truth["expect_detected"]
                 & truth["kind"].isin(["transfer", "dark_period", "dark_rendezvous"])]
    if not len(want) or not len(events):
        return 0, len(want)
    ev = events[["event_type", "mmsi", "other_mmsi", "start", "end"]]
    pairs = want.reset_index().merge(ev, on=["event_type", "mmsi"], suffixes=("", "_ev"))
    same_other = (pairs["other_mmsi"].fillna(-1).astype("int64")
                  == pairs["other_mmsi_ev"].fillna(-1).astype("int64"))
    overlap = (pairs["start_ev"] <= pairs["end"]) & (pairs["end_ev"] >= pairs["start"])
    return int(pairs.loc[same_other & overlap, "index"].nunique()), len(want)


def _tracks_from(args):
    if not args.inputs:
        return None
    from stsdetect.tracks import build_tracks

    inputs = _check_inputs(args.inputs)
    positions, _, _ = _read(inputs, args.format)
    # Draw the cleaned tracks the detectors saw, not raw reports with their duplicates,
    # outliers and not-available positions.
    return build_tracks(positions)


def cmd_plot(args) -> int:
    _check_inputs([args.events])
    from stsdetect.events import read_events
    from stsdetect.plot import save_event_maps, save_map

    if not args.each:
        out = _check_output(args.output, (".png",))
        _guard_outputs({"-o": out}, _input_files([args.events], args.inputs))
    elif args.output.exists() and not args.output.is_dir():
        raise UsageError(f"with --each, output {args.output} must be a folder")
    else:
        _guard_outputs({}, _input_files([args.events], args.inputs), folders=[args.output])
    events = read_events(args.events)
    tracks = _tracks_from(args)
    if not len(events):
        print(f"No events in {args.events}: nothing to plot.")
        return EXIT_OK
    if args.each:
        written = save_event_maps(events, tracks, args.output, regions=True)
        print(f"wrote {len(written)} maps into {args.output}")
    else:
        print(f"wrote {save_map(events, out, tracks=tracks, regions=True)}")
    return EXIT_OK


def cmd_report(args) -> int:
    _check_inputs([args.events])
    out = _check_output(args.output, (".html", ".htm"))
    _guard_outputs({"-o": out}, _input_files([args.events], args.inputs))
    from stsdetect.events import read_events
    from stsdetect.report import write_html_report

    events = read_events(args.events)
    if not len(events):
        print(f"No events in {args.events}: the report says so.")
    path = write_html_report(events, out, tracks=_tracks_from(args), regions=True,
                             title=args.title, max_events=args.max_events,
                             max_figures=args.max_figures)
    print(f"wrote {path}")
    return EXIT_OK


def cmd_evidence(args) -> int:
    from stsdetect.evidence import verify_evidence, write_evidence

    if args.verify is not None:
        if args.events is not None or args.event_ids or args.output is not None:
            raise UsageError("--verify DIR takes only --source, not EVENTS, --event or -o")
        checks = verify_evidence(args.verify, sources=args.sources or None)
        for check in checks:  # one line per package
            if check.ok:
                print(f"OK    {check.package} ({check.lines_checked} lines match the "
                      "sources, every hash matches)")
            else:
                print(f"FAIL  {check.package}")
                for problem in check.problems:
                    print(f"      {problem}")
        return EXIT_OK if all(c.ok for c in checks) else EXIT_MISMATCH
    if args.events is None or not args.event_ids or not args.sources or args.output is None:
        raise UsageError("evidence needs EVENTS, at least one --event ID, --source DUMP... "
                         "and -o DIR (or --verify DIR)")
    _check_inputs([args.events, *args.sources])
    params = None
    if args.params is not None:
        try:
            params = json.loads(args.params.read_text(encoding="utf-8"))
        except ValueError as exc:
            raise UsageError(f"--params {args.params}: not JSON: {exc}") from None
        if not isinstance(params, dict):
            raise UsageError(f"--params {args.params}: must hold a JSON object")
    folders = write_evidence(args.events, args.event_ids, args.sources, args.output,
                             margin=args.margin, detect_params=params)
    for folder in folders:
        print(f"wrote {folder}")
    return EXIT_OK


# --------------------------------------------------------------------------------- main

def main(argv=None) -> int:
    """Run the ``stsdetect`` command line; returns the exit code.

    Parameters
    ----------
    argv : list of str, optional
        Arguments without the program name; default ``sys.argv[1:]``.

    Returns
    -------
    int
        0 success, 1 internal error, 2 bad usage or input, 3 no events with --fail-on-empty.
    """
    parser = build_parser()
    try:
        args = parser.parse_args(argv)
    except SystemExit as exc:  # --help, --version, usage errors
        return int(exc.code or 0)
    if args.command is None:
        parser.print_help()
        return EXIT_BAD_INPUT
    level = getattr(logging, args.log_level)
    logging.basicConfig(level=level, stream=sys.stderr,
                        format="%(levelname)s %(name)s: %(message)s")
    logging.getLogger("stsdetect").setLevel(logging.CRITICAL if args.quiet else level)
    import signal
    import threading

    def _terminated(signum, frame):  # SIGTERM: unwind like Ctrl-C, so cleanups run
        raise KeyboardInterrupt

    previous = None
    if threading.current_thread() is threading.main_thread():
        previous = signal.signal(signal.SIGTERM, _terminated)
    try:
        return int(args.func(args))
    except (UsageError, FileNotFoundError, ValueError, PermissionError, IsADirectoryError,
            UnicodeDecodeError, EOFError) as exc:
        print(f"stsdetect {args.command}: error: {_one_line(exc)}", file=sys.stderr)
        return EXIT_BAD_INPUT
    except OSError as exc:  # e.g. a corrupt .gz (gzip.BadGzipFile), a full disk
        print(f"stsdetect {args.command}: error: {_one_line(exc)}", file=sys.stderr)
        return EXIT_BAD_INPUT
    except ImportError as exc:
        print(f"stsdetect {args.command}: error: {_one_line(exc)}", file=sys.stderr)
        return EXIT_ERROR
    except KeyboardInterrupt:
        print("stsdetect: interrupted", file=sys.stderr)
        return 130
    except Exception as exc:
        log.debug("traceback", exc_info=True)
        print(f"stsdetect {args.command}: internal error: {type(exc).__name__}: "
              f"{_one_line(exc)} (rerun with --log-level DEBUG for the traceback)",
              file=sys.stderr)
        return EXIT_ERROR
    finally:
        if previous is not None:
            signal.signal(signal.SIGTERM, previous)


def console() -> None:
    """Run the ``stsdetect`` program: :func:`main`, then leave without the interpreter's teardown.

    When :func:`main` returns, every output has been written and closed. The exit handlers
    (``atexit``, ``weakref.finalize``: temporary folders, logging) are run here as at a normal
    exit; what is skipped is the teardown of the modules, which with numba's compiled code
    loaded takes 0.3-0.5 s (on the 1.31M-line dump of ``bench_engine.py e2e``: 2.68 s -> 2.13 s
    wall) and leaves nothing behind that the program needs. Only the program does this
    (``stsdetect`` and ``python -m stsdetect``); :func:`main` never ends the process.

    The program also sets the garbage collector's schedule for its process
    (:func:`stsdetect._program.configure_gc`: fewer collections walking the objects that
    pandas and numba leave: none at all on the 1.31M-line dump, about 0.2 CPU s less than
    with CPython's defaults); :func:`main`
    leaves the collector as it finds it.
    """
    import atexit

    from stsdetect._program import configure_gc

    configure_gc()
    code = main()
    atexit._run_exitfuncs()
    try:
        sys.stdout.flush()
        sys.stderr.flush()
    except (BrokenPipeError, ValueError):  # a reader that went away (``| head``), a closed stream
        code = code or EXIT_ERROR
    os._exit(code)


def _one_line(exc: BaseException) -> str:
    text = str(exc) or type(exc).__name__
    if isinstance(exc, FileNotFoundError) and exc.filename and exc.filename not in text:
        text = f"{text}: {exc.filename}"
    return " ".join(text.split())
