"""Evidence packages: what the raw data said about an event, in a folder anyone can check.

``write_evidence(events, event_ids, sources, out_dir, margin="2h", detect_params=None)``
writes one folder per event; ``verify_evidence(path, sources=None)`` checks folders against
the source files. The CLI's ``stsdetect evidence`` calls these.

A package (``OUT/<event_id>/``) holds:

``lines.txt``
    Every raw input line that supports the event, byte for byte as in the (decompressed)
    source, one per line (each ended by ``\\n``, whatever the source's own line ends): the
    lines of every position report and static record of both vessels from ``margin`` before
    the start to ``margin`` after the end, the last static record of each vessel before that
    (its identity as then broadcast), the earlier fragments of multipart messages, and the
    ``$PGHP`` or tag-block lines right before a sentence that carry its time.
``lines_index.tsv``
    Line ``n`` of ``lines.txt`` is row ``n`` here: the source it came from (as named in the
    manifest), its 1-based line number there, its role (``position``, ``static``,
    ``fragment``, ``time``), and for decoded rows the MMSI, message type and UTC time.
``manifest.json``
    The stsdetect version, the package format, every parameter (the package's own, and the
    detection parameters: those ``stsdetect detect`` recorded in ``<stem>.params.json``
    beside the events file, see :func:`stsdetect.events.write_events`; when there is none,
    or it does not match the events file, ``detect_known`` is false and the defaults of
    every stage with any given in ``detect_params`` are shown),
    the event row with all its columns (identity and evidence included; the ``evidence``
    JSON text parsed), each source's name, size and SHA-256, and the SHA-256 of every other
    file in the package.
``map.png``, ``timeline.png``
    The event's map and its pair timeline (with the ``[plot]`` extra), drawn from the
    cleaned tracks of the decoded reports.

Nothing in a package depends on the time or place it was made, so making it twice from the
same inputs gives the same bytes. Line numbers come from the decoder's provenance columns
``file`` and ``line`` (contract C1): the line holding the sentence, for a multipart message
its last fragment's, counted in the decompressed content with ``\\r\\n``, ``\\r`` and ``\\n``
as line ends.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import re
from collections.abc import Iterable
from pathlib import Path

import numpy as np
import pandas as pd

__all__ = ["FORMAT", "EvidenceCheck", "verify_evidence", "write_evidence"]

#: Name and version of the package layout, written into every manifest.
FORMAT = "stsdetect-evidence/1"
#: Default margin before the start and after the end of the event: two hours, the window of
#: the pair timeline (:data:`stsdetect.plot.PAIR_WINDOW_S`), enough to show the approach and
#: the parting. A presentation choice, not a published value.
DEFAULT_MARGIN = "2h"
#: Lines read per block when scanning a source for the lines a package needs.
_BLOCK_BYTES = 1 << 24
#: How far back (lines) to look for a multipart message's earlier fragments and its time line.
_LOOK_BACK = 8
_FRAGMENT = re.compile(rb"[!$][A-Z]{2}VD[MO],(\d),(\d),(\d?),")
_TIME_LINE = re.compile(rb"^(\$PGHP,.*|\\[^\\]*\\\s*)$")
_FILES = ("lines.txt", "lines_index.tsv", "map.png", "timeline.png")


def _sha256_file(path) -> tuple[str, int]:
    digest = hashlib.sha256()
    size = 0
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            digest.update(block)
            size += len(block)
    return digest.hexdigest(), size


def _safe_name(event_id) -> str:
    return re.sub(r"[^A-Za-z0-9._-]+", "_", str(event_id)) or "event"


def _read_lines(sources, wanted: dict[str, np.ndarray]) -> dict[tuple[str, int], bytes]:
    """The lines numbered ``wanted[name]`` of each source, as bytes without their line end.

    Sources are opened (and decompressed) as the decoder opens them, and scanned in blocks:
    line ends are found with NumPy over each block, and only the wanted lines are kept.
    """
    from .ais.sources import open_sources

    found: dict[tuple[str, int], bytes] = {}
    for source in open_sources(sources):
        need = np.unique(np.asarray(wanted.get(source.name, []), dtype=np.int64))
        if need.size == 0:
            continue
        carry = b""
        base = 0  # lines before the current block
        eof = False
        while not eof and base < need[-1]:
            block = source.stream.read(_BLOCK_BYTES)
            eof = not block
            buf = carry + (block or b"")
            arr = np.frombuffer(buf, dtype=np.uint8)
            scan = arr if eof or not len(arr) or arr[-1] != 13 else arr[:-1]  # '\r' pending
            lf = np.flatnonzero(scan == 10)
            cr = np.flatnonzero(scan == 13)
            cr_pair = cr[(cr + 1 < len(arr)) & (arr[np.minimum(cr + 1, len(arr) - 1)] == 10)]
            cr_alone = np.setdiff1d(cr, cr_pair, assume_unique=True)
            lf_end = lf - np.isin(lf - 1, cr_pair)  # content end of a '\r\n' line
            ends = np.concatenate([lf_end, cr_alone])
            nexts = np.concatenate([lf + 1, cr_alone + 1])
            order = np.argsort(nexts, kind="stable")
            ends, nexts = ends[order], nexts[order]
            starts = np.r_[0, nexts[:-1]]
            last_start = int(nexts[-1]) if len(nexts) else 0
            if eof and last_start < len(buf):  # a last line without a line end
                starts = np.r_[starts, last_start]
                ends = np.r_[ends, len(buf)]
                nexts = np.r_[nexts, len(buf)]
            numbers = base + 1 + np.arange(len(ends))
            hit = np.flatnonzero(np.isin(numbers, need))
            for i in hit.tolist():  # only the package's lines
                found[(source.name, int(numbers[i]))] = bytes(buf[starts[i]:ends[i]])
            base += len(ends)
            carry = buf[int(nexts[-1]):] if len(nexts) else buf
    return found


def _context(lines: dict[tuple[str, int], bytes], name: str, number: int) -> list[tuple]:
    """(line, role) of the earlier fragments and the time line before a cited line."""
    text = lines.get((name, number), b"")
    extra = []
    m = _FRAGMENT.search(text)
    if m and int(m.group(1)) > 1 and int(m.group(2)) > 1:
        total, seq = m.group(1), m.group(3)
        missing = set(range(1, int(m.group(2))))
        for back in range(1, _LOOK_BACK + 1):  # a handful of lines
            if not missing:
                break
            prev = lines.get((name, number - back), b"")
            pm = _FRAGMENT.search(prev)
            if pm and pm.group(1) == total and pm.group(3) == seq and int(pm.group(2)) in missing:
                missing.discard(int(pm.group(2)))
                extra.append((number - back, "fragment"))
    first = min([number] + [n for n, _ in extra])
    for back in (1, 2):  # the $PGHP / tag-block line(s) right before carry the time
        prev = lines.get((name, first - back))
        if prev is None or not _TIME_LINE.match(prev.strip(b"\r")):
            break
        extra.append((first - back, "time"))
    return extra


def _json_value(value):
    """A JSON-safe value: times as ISO 8601 UTC text, missing as None, numpy as Python."""
    if isinstance(value, (list, tuple, np.ndarray)):
        return [_json_value(v) for v in value]
    if value is None or (pd.api.types.is_scalar(value) and pd.isna(value)):
        return None
    if isinstance(value, pd.Timestamp):
        return value.tz_convert("UTC").strftime("%Y-%m-%dT%H:%M:%S.%fZ") if value.tzinfo \
            else value.strftime("%Y-%m-%dT%H:%M:%S.%f")
    if isinstance(value, np.generic):
        return value.item()
    return value


def _event_json(event: pd.Series) -> dict:
    row = {str(k): _json_value(v) for k, v in event.items()}
    if isinstance(row.get("evidence"), str):
        try:
            row["evidence"] = json.loads(row["evidence"])
        except ValueError:
            pass  # kept as the text it is
    return row


def _parameters(margin: str, detect_params, events_path=None) -> dict:
    """The manifest's parameters: the package's own and the detection parameters, taken from
    the ``<stem>.params.json`` beside the events file when there is one that matches it."""
    from .events import _stage_json, params_path, read_params
    from .params import stage_params

    own = {"margin": margin, "last_static_before": True, "look_back_lines": _LOOK_BACK}
    record = read_params(events_path) if events_path is not None else None
    if record is not None and record["matches_events"]:
        if detect_params:
            raise ValueError(f"{params_path(events_path)} records the parameters the events "
                             "were detected with; give detect_params (--params) only for "
                             "events files without one")
        return {
            "evidence": own,
            "detect": record["parameters"],
            "detect_known": True,
            "detect_note": f"as recorded by the detection run in "
                           f"{params_path(events_path).name} (stsdetect "
                           f"{record.get('stsdetect_version')}), which matches the events "
                           "file's SHA-256",
            "detect_run": record.get("run", {}),
        }
    stages = stage_params(dict(detect_params or {}))
    if record is not None:
        why = (f"{params_path(events_path).name} was written for another version of the "
               "events file (SHA-256 differs)")
    elif events_path is not None:
        why = f"the events file has no {params_path(events_path).name} beside it"
    else:
        why = "the events were given as a table, not a file"
    return {
        "evidence": own,
        "detect": {stage: _stage_json(p) for stage, p in sorted(stages.items())},
        "detect_known": False,
        "detect_note": f"parameters unknown: {why}; shown are the defaults of every stage, "
                       "with those given to write_evidence (detect_params / --params)",
    }


def _figures(folder: Path, event: pd.DataFrame, positions: pd.DataFrame) -> list[str]:
    """map.png and timeline.png of the event, when matplotlib is installed."""
    try:
        from . import plot

        plot._require_matplotlib()
    except ImportError:
        return []
    import io

    from .tracks import build_tracks

    tracks = build_tracks(positions) if len(positions) else None
    written = []
    ax = plot.plot_events_map(event, tracks=tracks, regions=True)
    ax.set_title(str(event["event_id"].iloc[0]), fontsize=9)
    buf = io.BytesIO()
    ax.figure.savefig(buf, format="png", dpi=110, metadata={"Software": None})
    _write_bytes(folder / "map.png", buf.getvalue())
    written.append("map.png")
    if tracks is not None and len(tracks):
        canvas = plot._TimelineCanvas()
        _write_bytes(folder / "timeline.png", canvas.png(tracks, event.iloc[0], dpi=110))
        written.append("timeline.png")
    return written


def write_evidence(events, event_ids: Iterable[str], sources, out_dir, *,
                   margin: str = DEFAULT_MARGIN, detect_params=None) -> list[Path]:
    """Write one evidence package (a folder) per event.

    Parameters
    ----------
    events : pandas.DataFrame or str or os.PathLike
        The events table, or a file :func:`stsdetect.events.read_events` reads.
    event_ids : iterable of str
        The ``event_id`` of each event to package.
    sources : str, path-like or list of them
        The dump files the events were detected from (any layout and compression
        :func:`stsdetect.read_ais` reads). They are decoded again, with provenance.
    out_dir : str or os.PathLike
        Folder that receives one sub-folder per event, named after its id (characters other
        than letters, digits, ``.``, ``_`` and ``-`` become ``_``).
    margin : str, default "2h"
        Reports from this long before the start to this long after the end are included
        (:data:`DEFAULT_MARGIN`); a duration with its unit.
    detect_params : mapping, optional
        Detection parameters the events were found with, as ``stsdetect.detect`` keywords
        (``min_gap="12h"`` ...), for events files without a ``<stem>.params.json``; recorded
        in the manifest with every other stage default (and ``detect_known`` false).

    Returns
    -------
    list of pathlib.Path
        The package folders, in the order of ``event_ids``.

    Raises
    ------
    ValueError
        For an event id not in the table, a bad margin, ``detect_params`` given for an events
        file that records its own, or when no source line supports an event (the sources are
        not the ones it was detected from).
    """
    from . import __version__
    from .ais import read_ais
    from .events import read_events
    from .params import duration_ns

    events_path = None
    if isinstance(events, (str, Path)):
        events_path = Path(events)
        events = read_events(events)
    ids = [str(i) for i in event_ids]
    if not ids:
        raise ValueError("name at least one event id")
    known = events["event_id"].astype(str)
    unknown = [i for i in ids if i not in set(known)]
    if unknown:
        raise ValueError(f"event id(s) not in the events table: {', '.join(unknown)}")
    margin_ns = duration_ns(margin, "margin")
    parameters = _parameters(str(margin), detect_params, events_path)
    source_list = [sources] if isinstance(sources, (str, Path)) else list(sources)
    if not source_list:
        raise ValueError("name the source dump(s) the events were detected from")
    data = read_ais([str(s) for s in source_list])
    if "file" not in data.positions or "line" not in data.positions:
        raise ValueError("this decoder gives no provenance (file, line) columns")
    hashes = []
    for source in source_list:
        digest, size = _sha256_file(source)
        hashes.append({"name": str(source), "bytes": size, "sha256": digest})
    positions = data.positions
    statics = data.statics if data.statics is not None else pd.DataFrame(
        columns=["time", "mmsi", "msg_type", "file", "line"])
    pos_t = positions["time"].astype("int64").to_numpy()
    sta_t = statics["time"].astype("datetime64[ns, UTC]").astype("int64").to_numpy() \
        if len(statics) else np.zeros(0, np.int64)
    sta_t = np.where(pd.isna(statics["time"]).to_numpy(), np.iinfo(np.int64).min, sta_t) \
        if len(statics) else sta_t

    out_dir = Path(out_dir)
    folders = []
    plans = []
    for event_id in ids:  # the events asked for: a handful
        event = events[known == event_id].iloc[[0]]
        row = event.iloc[0]
        vessels = [int(row["mmsi"])]
        other = row.get("other_mmsi")
        if other is not None and not pd.isna(other):
            vessels.append(int(other))
        t0 = pd.Timestamp(row["start"]).value - margin_ns
        t1 = pd.Timestamp(row["end"]).value + margin_ns
        pos_in = np.isin(positions["mmsi"].to_numpy(), vessels) & (pos_t >= t0) & (pos_t <= t1)
        sta_mmsi = statics["mmsi"].to_numpy().astype(np.int64) if len(statics) else np.zeros(0)
        sta_vessel = np.isin(sta_mmsi, vessels)
        sta_in = sta_vessel & (sta_t >= t0) & (sta_t <= t1)
        before = np.flatnonzero(sta_vessel & (sta_t < t0))
        last_before = pd.Series(before).groupby(sta_mmsi[before]).max().to_numpy() \
            if before.size else np.zeros(0, np.int64)
        sta_in[last_before] = True
        cited = pd.concat([
            pd.DataFrame({"file": positions["file"][pos_in].astype(str),
                          "line": positions["line"][pos_in].astype("int64"),
                          "role": "position", "mmsi": positions["mmsi"][pos_in],
                          "msg_type": positions["msg_type"][pos_in],
                          "time": positions["time"][pos_in]}),
            pd.DataFrame({"file": statics["file"][sta_in].astype(str),
                          "line": statics["line"][sta_in].astype("int64"),
                          "role": "static", "mmsi": statics["mmsi"][sta_in],
                          "msg_type": statics["msg_type"][sta_in],
                          "time": pd.to_datetime(statics["time"][sta_in], utc=True)}),
        ], ignore_index=True)
        if not len(cited):
            raise ValueError(f"no line of the sources supports event {event_id}: are these "
                             "the dumps it was detected from?")
        cited = cited.drop_duplicates(["file", "line"])
        plans.append((event_id, event, vessels, t0, t1, cited))
    # One pass over each source for the lines of every package (and a few lines before each,
    # where earlier fragments and time lines are).
    every = pd.concat([plan[5] for plan in plans], ignore_index=True)
    wanted = {name: np.unique(np.concatenate([g["line"].to_numpy() - k
                                              for k in range(_LOOK_BACK + 1)]))
              for name, g in every.groupby("file")}
    lines = _read_lines([str(s) for s in source_list], wanted)
    for event_id, event, vessels, t0, t1, cited in plans:
        row = event.iloc[0]
        context = [(name, n, role) for name, number in zip(cited["file"], cited["line"],
                                                            strict=True)
                   for n, role in _context(lines, name, int(number))]
        extra = pd.DataFrame(context, columns=["file", "line", "role"])
        table = pd.concat([cited, extra], ignore_index=True)
        table = table.drop_duplicates(["file", "line"], keep="first")
        order = {str(s): i for i, s in enumerate(source_list)}
        table["source_order"] = table["file"].map(order).fillna(len(order))
        table = table.sort_values(["source_order", "file", "line"], kind="stable")
        missing = [(f, int(n)) for f, n in zip(table["file"], table["line"], strict=True)
                   if (f, int(n)) not in lines]
        if missing:
            raise ValueError(f"source lines not found for event {event_id}: {missing[:5]}")

        folder = out_dir / _safe_name(event_id)
        folder.mkdir(parents=True, exist_ok=True)
        raw = b"".join(lines[(f, int(n))] + b"\n"
                       for f, n in zip(table["file"], table["line"], strict=True))
        _write_bytes(folder / "lines.txt", raw)
        times = pd.to_datetime(table["time"], utc=True).dt.strftime("%Y-%m-%dT%H:%M:%S.%fZ")
        index = pd.DataFrame({
            "n": np.arange(1, len(table) + 1), "file": table["file"].to_numpy(),
            "line": table["line"].astype("int64").to_numpy(), "role": table["role"].to_numpy(),
            "mmsi": pd.array(table["mmsi"], dtype="Int64"),
            "msg_type": pd.array(table["msg_type"], dtype="Int64"),
            "time_utc": times.fillna("").to_numpy()})
        _write_bytes(folder / "lines_index.tsv",
                     index.to_csv(sep="\t", index=False, lineterminator="\n").encode())
        near = positions[np.isin(positions["mmsi"].to_numpy(), vessels)
                         & (pos_t >= t0 - 12 * 3600 * 10**9) & (pos_t <= t1 + 12 * 3600 * 10**9)]
        for stale in _FILES[2:]:
            (folder / stale).unlink(missing_ok=True)
        figures = _figures(folder, event, near)
        manifest = {
            "format": FORMAT,
            "stsdetect_version": __version__,
            "event": _event_json(row),
            "parameters": parameters,
            "sources": hashes,
            "counts": {"lines": len(table),
                       **{role: int((table["role"] == role).sum())
                          for role in ("position", "static", "fragment", "time")}},
            "files": {name: _sha256_file(folder / name)[0]
                      for name in ("lines.txt", "lines_index.tsv", *figures)},
        }
        text = json.dumps(manifest, indent=2, sort_keys=True, ensure_ascii=False,
                          allow_nan=False) + "\n"
        _write_bytes(folder / "manifest.json", text.encode("utf-8"))
        folders.append(folder)
    return folders


@dataclasses.dataclass
class EvidenceCheck:
    """The result of :func:`verify_evidence` for one package.

    Attributes
    ----------
    package : pathlib.Path
        The package folder.
    problems : list of str
        What does not match; empty when the package checks out.
    lines_checked : int
        Lines of ``lines.txt`` compared with the sources.
    """

    package: Path
    problems: list[str]
    lines_checked: int

    @property
    def ok(self) -> bool:
        """True when nothing failed."""
        return not self.problems


def verify_evidence(path, sources=None) -> list[EvidenceCheck]:
    """Check evidence packages against their manifest and the source files.

    For each package (``path`` itself when it holds a ``manifest.json``, else every folder
    in it that does): the SHA-256 of every package file listed in the manifest; the SHA-256
    of each source; and every line of ``lines.txt``, byte for byte, against the line of the
    source that ``lines_index.tsv`` names.

    Parameters
    ----------
    path : str or os.PathLike
        A package folder, or a folder of packages.
    sources : list of str or os.PathLike, optional
        Where the sources are now: each is matched to a manifest source by its file name.
        Default: the paths recorded in the manifest.

    Returns
    -------
    list of EvidenceCheck
        One per package.

    Raises
    ------
    ValueError
        When ``path`` holds no package.
    """
    path = Path(path)
    packages = [path] if (path / "manifest.json").is_file() else sorted(
        p.parent for p in path.glob("*/manifest.json"))
    if not packages:
        raise ValueError(f"no evidence package (manifest.json) in {path}")
    moved = {Path(s).name: str(s) for s in (sources or [])}
    checks = []
    for package in packages:  # a handful
        problems: list[str] = []
        try:
            manifest = json.loads((package / "manifest.json").read_text(encoding="utf-8"))
        except (OSError, ValueError) as exc:
            checks.append(EvidenceCheck(package, [f"manifest.json unreadable: {exc}"], 0))
            continue
        if manifest.get("format") != FORMAT:
            problems.append(f"format {manifest.get('format')!r} is not {FORMAT!r}")
        for name, digest in sorted(manifest.get("files", {}).items()):
            file = package / name
            if not file.is_file():
                problems.append(f"{name} is missing")
            elif _sha256_file(file)[0] != digest:
                problems.append(f"{name} does not match its SHA-256 in the manifest")
        located = {}
        for src in manifest.get("sources", []):
            where = moved.get(Path(src["name"]).name, src["name"])
            if not Path(where).is_file():
                problems.append(f"source {src['name']} not found (give it with --source)")
                continue
            if _sha256_file(where)[0] != src["sha256"]:
                problems.append(f"source {where} does not match its SHA-256 in the manifest")
                continue
            located[src["name"]] = where
        checked = 0
        try:
            index = pd.read_csv(package / "lines_index.tsv", sep="\t", dtype={"file": str},
                                keep_default_na=False)
            raw = (package / "lines.txt").read_bytes().split(b"\n")[:-1]
        except (OSError, ValueError) as exc:
            problems.append(f"lines unreadable: {exc}")
            index, raw = pd.DataFrame(columns=["file", "line"]), []
        if len(raw) != len(index):
            problems.append(f"lines.txt has {len(raw)} lines, lines_index.tsv {len(index)}")
        elif len(index) and set(index["file"]) <= set(located):
            # Sources are read under their recorded names, from where they are now.
            names = sorted(set(index["file"]))
            wanted = {located[n]: index.loc[index["file"] == n, "line"].to_numpy()
                      for n in names}
            found = _read_lines([located[n] for n in names], wanted)
            for i, (name, number) in enumerate(zip(index["file"], index["line"],
                                                   strict=True)):
                got = found.get((located[name], int(number)))
                if got != raw[i]:
                    problems.append(f"line {i + 1} of lines.txt differs from {name} line "
                                    f"{number}")
                    if len(problems) > 20:
                        break
                checked += 1
        checks.append(EvidenceCheck(package, problems, checked))
    return checks


def _write_bytes(path: Path, data: bytes) -> None:
    """Write a package file atomically (#14 item 3: an interrupted write leaves the old one)."""
    from stsdetect.outputs import atomic_path

    with atomic_path(path) as tmp:
        tmp.write_bytes(data)
