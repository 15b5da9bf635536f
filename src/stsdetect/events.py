"""The events table: one schema shared by every detector, and its writers.

Every detector returns a :class:`pandas.DataFrame` with exactly the columns of
:data:`EVENT_COLUMNS`, in that order, built with :func:`make_events`. Columns that do not apply to
an event type hold a missing value (``NaN``, ``<NA>`` or ``NaT``).

=====================  ======================  ==================================================
column                 dtype                   meaning
=====================  ======================  ==================================================
``event_id``           str                     stable id: type, MMSIs and start time
``event_type``         str                     ``rendezvous``, ``dark_period``,
                                               ``dark_rendezvous``, ``loitering`` or
                                               ``dark_vessel`` (an imagery detection no AIS
                                               track explains; ``mmsi`` 0)
``mmsi``               int64                   the (first) vessel; the smaller MMSI of a pair
``other_mmsi``         Int64                   the other vessel of a pair; ``<NA>`` otherwise
``start``, ``end``     datetime64[ns, UTC]     time span of the event
``duration_h``         float64                 ``end - start`` in hours
``lat``, ``lon``       float64                 representative position (degrees); for a dark
                                               period, where the vessel vanished
``end_lat``,           float64                 dark events: where the vessel reappeared
``end_lon``
``distance_m``         float64                 pairs: median separation; dark period: distance
                                               from vanishing to reappearing point; dark
                                               rendezvous: separation when both vanished
``min_distance_m``     float64                 pairs: least separation
``end_distance_m``     float64                 dark rendezvous: separation when both reappeared
``mean_sog_kn``        float64                 mean speed over ground during the event
``implied_speed_kn``   float64                 dark period: ``distance_m / duration``
``n_positions``        int64                   real reports (not interpolated) supporting it
``n_other_heard``      Int64                   dark period: other vessels heard nearby meanwhile
``likely_intentional`` boolean                 dark period: silent while others were heard
                                               and reception was good along its path
``coverage``           float64                 dark events: share of other vessels known
                                               present along the path that were heard, hour by
                                               hour (0..1; :mod:`stsdetect.detectors.coverage`)
``flags``              object (list of str)    sorted tokens (``dprk``, ``barge``, regions ...)
``score``              float64                 investigator ranking, higher first
=====================  ======================  ==================================================

Enrichment stages append columns after these (:data:`ENRICHMENT_COLUMNS`, contract C3):
``evidence`` (JSON text, the reason of every flag; :func:`stsdetect.flags.flag_events`) and
the identity columns of the vessel and, prefixed ``other_``, of its partner (``name``,
``imo``, ``callsign``, ``ship_type``, ``ship_type_text``, ``flag_iso``, ``flag_country``,
``ais_class``, ``length_m``; :mod:`stsdetect.identity.columns`). The writers and
:func:`read_events` keep every extra column, in order, with these dtypes.
"""

from __future__ import annotations

import functools
import re
from pathlib import Path

import numpy as np
import pandas as pd

from stsdetect.geo import utc_from_epoch_s

__all__ = [
    "ENRICHMENT_COLUMNS",
    "EVENT_COLUMNS",
    "EVENT_TYPES",
    "concat_events",
    "empty_events",
    "evidence_path",
    "make_events",
    "params_path",
    "rank_events",
    "read_events",
    "read_params",
    "to_geodataframe",
    "write_events",
    "write_evidence",
]

#: Column name -> pandas dtype of the events table, in order.
EVENT_COLUMNS: dict[str, str] = {
    "event_id": "object",
    "event_type": "object",
    "mmsi": "int64",
    "other_mmsi": "Int64",
    "start": "datetime64[ns, UTC]",
    "end": "datetime64[ns, UTC]",
    "duration_h": "float64",
    "lat": "float64",
    "lon": "float64",
    "end_lat": "float64",
    "end_lon": "float64",
    "distance_m": "float64",
    "min_distance_m": "float64",
    "end_distance_m": "float64",
    "mean_sog_kn": "float64",
    "implied_speed_kn": "float64",
    "n_positions": "int64",
    "n_other_heard": "Int64",
    "likely_intentional": "boolean",
    "coverage": "float64",
    "flags": "object",
    "score": "float64",
}

def _enrichment_columns() -> dict[str, str]:
    from stsdetect.identity.columns import IDENTITY_COLUMNS

    cols = {"evidence": "object"}
    cols.update(IDENTITY_COLUMNS)
    cols.update({"other_" + k: v for k, v in IDENTITY_COLUMNS.items()})
    return cols


#: Columns enrichment stages append after :data:`EVENT_COLUMNS` -> dtype (contract C3):
#: ``evidence`` and the identity columns of both participants. Stages register theirs here so
#: that :func:`read_events` restores their dtypes.
ENRICHMENT_COLUMNS: dict[str, str] = _enrichment_columns()

#: Event types and the prefix of their ``event_id``.
EVENT_TYPES: dict[str, str] = {
    "rendezvous": "rv",
    "dark_period": "dk",
    "dark_rendezvous": "dr",
    "loitering": "lo",
    "dark_vessel": "dv",
}


def _to_utc(values) -> pd.DatetimeIndex:
    """Seconds since the Unix epoch (float) or datetimes -> UTC nanosecond timestamps."""
    arr = np.asarray(values)
    if arr.dtype.kind in "fiu":
        return utc_from_epoch_s(arr)
    return pd.DatetimeIndex(pd.to_datetime(arr, utc=True)).as_unit("ns")


def _missing_column(dtype: str, n: int):
    """``n`` missing values of an events column's dtype."""
    if dtype == "float64":
        return np.full(n, np.nan)
    if dtype == "Int64":
        return pd.arrays.IntegerArray(np.zeros(n, np.int64), np.ones(n, dtype=bool))
    if dtype == "boolean":
        return pd.arrays.BooleanArray(np.zeros(n, dtype=bool), np.ones(n, dtype=bool))
    return pd.array([None] * n, dtype=dtype) if n else pd.array([], dtype=dtype)


def make_events(event_type: str, n: int | None = None, **columns) -> pd.DataFrame:
    """Build an events table of one type from column arrays.

    Parameters
    ----------
    event_type : str
        One of :data:`EVENT_TYPES`.
    n : int, optional
        Number of events; inferred from the first array given when omitted.
    **columns
        Arrays named after :data:`EVENT_COLUMNS`. ``start`` and ``end`` may be float seconds
        since the Unix epoch (as in :class:`stsdetect.tracks.Tracks`) or datetimes.
        ``duration_h`` and ``event_id`` are derived; missing columns are filled with missing
        values, ``flags`` with empty lists and ``score`` with 0.

    Returns
    -------
    pandas.DataFrame
        The events table, sorted by ``start``, ``mmsi``, ``other_mmsi``.
    """
    if event_type not in EVENT_TYPES:
        raise ValueError(f"unknown event type {event_type!r}; expected one of {list(EVENT_TYPES)}")
    unknown = set(columns) - set(EVENT_COLUMNS)
    if unknown:
        raise ValueError(f"not event columns: {sorted(unknown)}")
    if n is None:
        n = len(next(iter(columns.values()))) if columns else 0
    if "mmsi" not in columns:
        raise ValueError("events need an 'mmsi' column")
    # Each column is made in its final dtype, so that _finish converts none of them.
    data: dict[str, object] = {}
    for name, dtype in EVENT_COLUMNS.items():
        if name in columns:
            values = columns[name]
            if name in ("start", "end"):
                data[name] = _to_utc(values)
            elif name == "flags":
                data[name] = [sorted(set(f)) for f in values]
            else:
                data[name] = pd.array(np.asarray(values) if dtype != "Int64" else values,
                                      dtype=dtype)
        elif name == "flags":
            data[name] = [[] for _ in range(n)]
        elif name == "score":
            data[name] = np.zeros(n)
        elif name == "event_type":  # a Series keeps the object dtype (no str inference)
            data[name] = pd.Series(np.full(n, event_type, dtype=object), dtype=object)
        elif name in ("event_id", "duration_h"):
            data[name] = None  # derived below, in this place
        elif dtype == "int64":
            data[name] = np.zeros(n, dtype=np.int64)
        else:
            data[name] = _missing_column(dtype, n)
    start, end = pd.DatetimeIndex(data["start"]), pd.DatetimeIndex(data["end"])
    data["duration_h"] = (end - start).total_seconds().to_numpy(float) / 3600.0
    data["event_id"] = pd.Series(
        _event_ids(data["mmsi"], data["other_mmsi"], start, EVENT_TYPES[event_type]) if n
        else np.zeros(0, dtype=object), dtype=object)
    return _finish(pd.DataFrame(data, index=pd.RangeIndex(n)))


def _event_ids(mmsi, other_mmsi, start: pd.DatetimeIndex, prefix: str) -> np.ndarray:
    """``prefix-mmsi[-other]-YYYYmmddTHHMMSSZ`` per event (object array; NaN where the start
    is missing).

    Built with NumPy's string operations on whole columns: pandas' string route (Int64 to
    text, ``dt.strftime``, four concatenations of Series) cost ~4 ms of fixed overhead per
    call for the few dozen events of a typical table. The time is the start floored to the
    second, as ``Timestamp.strftime`` formats it (NumPy's cast to seconds floors too)."""
    ns = pd.DatetimeIndex(start).as_unit("ns").asi8
    seconds = ns.view("datetime64[ns]").astype("datetime64[s]")
    stamp = np.datetime_as_string(seconds, unit="s")  # YYYY-mm-ddTHH:MM:SS
    stamp = np.char.add(np.char.replace(np.char.replace(stamp, "-", ""), ":", ""), "Z")
    other = pd.array(other_mmsi, dtype="Int64")
    other_text = np.where(np.asarray(other.isna()), "",
                          np.char.add("-", other.fillna(0).to_numpy(np.int64).astype(str)))
    ids = np.char.add(np.char.add(prefix + "-", np.asarray(mmsi, dtype=np.int64).astype(str)),
                      np.char.add(other_text, np.char.add("-", stamp))).astype(object)
    ids[np.isnat(seconds)] = np.nan
    return ids


@functools.cache
def _dtype(name: str):
    """The pandas dtype object of a dtype name (cached: resolving a name costs more than
    comparing)."""
    return pd.api.types.pandas_dtype(name)


def _finish(frame: pd.DataFrame) -> pd.DataFrame:
    # the schema's columns first, then any columns later stages added (kept, in order)
    extra = [c for c in frame.columns if c not in EVENT_COLUMNS and c != "geometry"]
    order = list(EVENT_COLUMNS) + extra
    if list(frame.columns) != order:
        frame = frame[order]
    want = {k: v for k, v in EVENT_COLUMNS.items() if k != "flags"}
    want.update({c: ENRICHMENT_COLUMNS[c] for c in extra if c in ENRICHMENT_COLUMNS})
    # only the columns not already of their dtype (astype to the same dtype changes nothing)
    have = dict(zip(frame.columns, frame.dtypes, strict=True))  # (not a Series per column)
    change = {k: v for k, v in want.items() if have[k] != _dtype(v)}
    if change:
        frame = frame.astype(change)
    if len(frame) > 1 and not _strictly_sorted(frame):
        frame = frame.sort_values(["start", "mmsi", "other_mmsi", "event_type"], kind="stable")
    return frame.reset_index(drop=True)


def _strictly_sorted(frame: pd.DataFrame) -> bool:
    """Whether the rows are in strictly increasing (start, mmsi, other_mmsi) order, a missing
    ``other_mmsi`` after every MMSI (as a stable sort by the events' order keys would leave
    them: no row moves). False on any tie or missing start, which the sort then settles."""
    start = frame["start"].to_numpy(dtype="datetime64[ns]").view(np.int64)
    if (start == np.iinfo(np.int64).min).any():  # NaT
        return False
    mmsi = frame["mmsi"].to_numpy(np.int64)
    other = frame["other_mmsi"].array
    o = np.where(np.asarray(other.isna()), np.iinfo(np.int64).max,
                 np.asarray(other.fillna(0), dtype=np.int64))
    ds, dm, do = np.diff(start), np.diff(mmsi), np.diff(o)
    return bool(((ds > 0) | ((ds == 0) & ((dm > 0) | ((dm == 0) & (do > 0))))).all())


#: Flag tokens of ordinary port life (set by :mod:`stsdetect.context`): ranked after the rest.
ORDINARY_TOKENS = ("anchorage", "port")


def _has_token(flags: pd.Series, tokens) -> np.ndarray:
    """Rows whose flag list holds any of ``tokens`` (one explode, no loop over events)."""
    long = pd.Series(flags.to_numpy(dtype=object), index=np.arange(len(flags))).explode()
    hit = long.isin(list(tokens))
    return np.bincount(long.index[hit.to_numpy()].to_numpy(np.int64),
                       minlength=len(flags))[:len(flags)] > 0


def rank_events(events: pd.DataFrame, drop=(), ordinary=ORDINARY_TOKENS) -> pd.DataFrame:
    """Events ranked for an investigator: ordinary port life last, then by score.

    Parameters
    ----------
    events : pandas.DataFrame
        A flagged and scored events table.
    drop : iterable of str, default ()
        Flag tokens whose events are left out (e.g. ``("anchorage", "port")``).
    ordinary : iterable of str, default :data:`ORDINARY_TOKENS`
        Tokens that put an event after every event without them.

    Returns
    -------
    pandas.DataFrame
        The kept events: those without an ``ordinary`` token first, each group by ``score``
        (highest first), then ``start`` and ``event_id``; index reset.
    """
    if not len(events):
        return events.reset_index(drop=True)
    flags = events["flags"] if "flags" in events.columns else pd.Series([[]] * len(events))
    keep = ~_has_token(flags, tuple(drop)) if drop else np.ones(len(events), dtype=bool)
    late = _has_token(flags, tuple(ordinary))
    score = pd.to_numeric(events["score"], errors="coerce").to_numpy(float) \
        if "score" in events.columns else np.zeros(len(events))
    order = pd.DataFrame({"late": late, "score": -np.nan_to_num(score, nan=-np.inf),
                          "start": events["start"].to_numpy(),
                          "event_id": events["event_id"].astype(str).to_numpy()})
    order = order[keep].sort_values(["late", "score", "start", "event_id"], kind="stable")
    return events.iloc[order.index.to_numpy()].reset_index(drop=True)


def empty_events() -> pd.DataFrame:
    """An events table with no rows and the full schema."""
    return make_events("rendezvous", n=0, mmsi=np.zeros(0, np.int64))


def concat_events(tables) -> pd.DataFrame:
    """Concatenate events tables of any types into one, sorted by start time."""
    tables = [t for t in tables if t is not None and len(t)]
    if not tables:
        return empty_events()
    return _finish(pd.concat(tables, ignore_index=True))


def to_geodataframe(events: pd.DataFrame):
    """The events table as a :class:`geopandas.GeoDataFrame` of points (EPSG:4326).

    The geometry is the representative position (``lon``, ``lat``).
    """
    import geopandas as gpd

    return gpd.GeoDataFrame(
        events.copy(),
        geometry=gpd.points_from_xy(events["lon"], events["lat"]),
        crs="EPSG:4326",
    )


def list_text(column: pd.Series, sep: str = ";") -> pd.Series:
    """A column of lists (such as ``flags``) as text: each list's items joined by ``sep``.

    Vectorized (:meth:`pandas.Series.str.join`); a value that is already a string stays as
    it is, and a missing value or an empty list is ''.

    Parameters
    ----------
    column : pandas.Series
        Lists, tuples or arrays of strings; strings; missing values.
    sep : str, default ";"
        Between items (``;`` is how the text formats write ``flags``).

    Returns
    -------
    pandas.Series
        ``str`` values, same index.
    """
    values = column.astype(object)
    listed = values.map(pd.api.types.is_list_like).to_numpy(dtype=bool)
    joined = values.where(~listed, values.where(listed).str.join(sep))
    # Not lists: strings as they are, missing values as ''; the rest (numbers) as str.
    return joined.where(joined.notna(), "").astype(str)


def text_lists(column: pd.Series, sep: str = ";") -> np.ndarray:
    """The inverse of :func:`list_text`: each value as a list of its items.

    Text is split at ``sep``, vectorized (:meth:`pandas.Series.str.findall`), empty items
    dropped; list-likes (a Parquet file's arrays) become lists; missing values and '' become
    empty lists.

    Parameters
    ----------
    column : pandas.Series
        Text, list-likes or missing values.
    sep : str, default ";"
        One character.

    Returns
    -------
    numpy.ndarray
        Object array of lists, one per value, each a list of its own.
    """
    values = column.astype(object)
    listed = values.map(pd.api.types.is_list_like).to_numpy(dtype=bool)
    text = values.where(~listed).fillna("").astype(str)
    out = text.str.findall(f"[^{re.escape(sep)}]+").to_numpy(dtype=object, copy=True)
    out[listed] = values[listed].map(list).to_numpy(dtype=object)
    return out


def _flat_for_text(events: pd.DataFrame) -> pd.DataFrame:
    out = events.copy()
    out["flags"] = list_text(out["flags"]).to_numpy(dtype=object)
    return out


def write_events(events: pd.DataFrame, path, params=None, run=None) -> Path:
    """Write an events table, the format chosen by the file extension.

    Parameters
    ----------
    events : pandas.DataFrame
        An events table (see :data:`EVENT_COLUMNS`).
    path : str or os.PathLike
        ``.csv`` (ISO 8601 UTC times ending in ``Z``, flags joined by ``;``, text cells that
        a spreadsheet would run as a formula prefixed with ``'``, see
        :func:`stsdetect.outputs.neutralise_formulas`), ``.geojson`` (points, flags joined by
        ``;``) or ``.parquet`` (GeoParquet, flags as a list column). The file is replaced
        atomically (:func:`stsdetect.outputs.atomic_path`): an interrupted write leaves the
        previous file whole.
    params : dict, optional
        The detection parameters the events were found with: :func:`stsdetect.detect`
        keywords (``min_duration="3h"`` ...), or per stage as in
        :attr:`stsdetect.pipeline.DetectResult.params`; ``{}`` means all defaults. When given,
        every stage's full parameters (defaults filled in) are written beside the events as
        ``<stem>.params.json`` (:func:`params_path`), which ``stsdetect evidence`` puts in its
        manifests. When None, a ``<stem>.params.json`` left by an earlier write is removed (it
        would describe other events).
    run : dict, optional
        Other JSON-able facts of the run recorded in the same file (input names, ``only``,
        regions ...).

    Returns
    -------
    pathlib.Path
        The path written.
    """
    from stsdetect.outputs import atomic_path, neutralise_formulas

    path = Path(path)
    suffix = path.suffix.lower()
    if suffix not in (".csv", ".geojson", ".json", ".parquet", ".geoparquet"):
        raise ValueError(f"unknown events format {suffix!r}: use .csv, .geojson or .parquet")
    objects = _param_objects(params) if params is not None else None  # checked first
    with atomic_path(path) as tmp:  # the old file stays whole until the new one is
        if suffix == ".csv":
            out = _flat_for_text(events)
            for col in ("start", "end"):
                out[col] = out[col].dt.strftime("%Y-%m-%dT%H:%M:%SZ")
            neutralise_formulas(out).to_csv(tmp, index=False)
        elif suffix in (".geojson", ".json"):
            gdf = to_geodataframe(_flat_for_text(events))
            for col in ("start", "end"):
                gdf[col] = gdf[col].dt.strftime("%Y-%m-%dT%H:%M:%SZ")
            # GeoJSON text written by Python (not GDAL): a full disk is an OSError like any
            # other, and an empty table needs no schema
            tmp.write_text(gdf.to_json(drop_id=True, to_wgs84=False), encoding="utf-8")
        else:
            to_geodataframe(events).to_parquet(tmp)
    if "evidence" in events.columns:
        write_evidence(events, evidence_path(path))
    if objects is not None:
        _write_params(objects, path, run)
    else:
        params_path(path).unlink(missing_ok=True)
    return path


#: Layout name and version of the ``<stem>.params.json`` file beside an events file.
PARAMS_FORMAT = "stsdetect-params/1"


def params_path(path) -> Path:
    """Where :func:`write_events` records the detection parameters: ``<stem>.params.json``."""
    path = Path(path)
    return path.with_name(path.stem + ".params.json")


def _duration_text(ns: int) -> str:
    """A duration as exact text with the largest whole unit: ``"3h"``, ``"90min"``."""
    for unit, size in (("d", 86_400 * 10**9), ("h", 3600 * 10**9), ("min", 60 * 10**9),
                       ("s", 10**9), ("ms", 10**6), ("us", 10**3)):
        if ns and ns % size == 0:
            return f"{ns // size}{unit}"
    return f"{ns}ns"


def _stage_json(obj) -> dict:
    """A parameter object's fields as JSON values: durations as text with their unit."""
    import dataclasses
    import json

    from stsdetect.params import duration_ns

    out = {}
    for f in dataclasses.fields(obj):
        value = getattr(obj, f.name)
        if f.metadata.get("kind") == "dur" and value is not None:
            value = _duration_text(duration_ns(value, f.name))
        elif isinstance(value, np.generic):
            value = value.item()
        elif isinstance(value, Path):
            value = str(value)
        try:
            json.dumps(value, allow_nan=False)
        except (TypeError, ValueError):
            value = repr(value)
        out[f.name] = value
    return out


def _param_objects(params) -> dict:
    """Every stage's parameter object from flat ``detect()`` keywords or per-stage dicts."""
    from stsdetect.params import STAGE_PARAMS, stage_params

    params = dict(params)
    if params and set(params) <= set(STAGE_PARAMS):
        return stage_params(**params)
    return stage_params(params)


def _write_params(objects: dict, path: Path, run=None) -> Path:
    import hashlib
    import json

    from stsdetect import __version__
    from stsdetect.outputs import atomic_path

    digest = hashlib.sha256()
    with open(path, "rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            digest.update(block)
    record = {
        "format": PARAMS_FORMAT,
        "stsdetect_version": __version__,
        "events_file": path.name,
        "events_sha256": digest.hexdigest(),
        "parameters": {stage: _stage_json(obj) for stage, obj in objects.items()},
        "run": json.loads(json.dumps(run or {}, default=str, sort_keys=True)),
    }
    text = json.dumps(record, indent=2, sort_keys=True, ensure_ascii=False, allow_nan=False)
    target = params_path(path)
    with atomic_path(target) as tmp:  # the old file stays whole until the new one is
        tmp.write_text(text + "\n", encoding="utf-8")
    return target


def read_params(path) -> dict | None:
    """The parameters recorded beside an events file by :func:`write_events`.

    Parameters
    ----------
    path : str or os.PathLike
        The events file.

    Returns
    -------
    dict or None
        The ``<stem>.params.json`` record (``parameters``: stage -> field -> value, durations
        as text with their unit; ``events_sha256``; ``stsdetect_version``; ``run``), with
        ``"matches_events"``: whether the events file still has the recorded SHA-256. None
        when there is no such file (events written before it existed, or without
        ``params``).

    Raises
    ------
    ValueError
        When the file is there but is not a parameters record.
    """
    import hashlib
    import json

    path = Path(path)
    side = params_path(path)
    if not side.is_file():
        return None
    try:
        record = json.loads(side.read_text(encoding="utf-8"))
    except ValueError as exc:
        raise ValueError(f"{side}: not JSON: {exc}") from None
    if not isinstance(record, dict) or record.get("format") != PARAMS_FORMAT \
            or not isinstance(record.get("parameters"), dict):
        raise ValueError(f"{side}: not a {PARAMS_FORMAT} record")
    digest = hashlib.sha256()
    with open(path, "rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            digest.update(block)
    record["matches_events"] = digest.hexdigest() == record.get("events_sha256")
    return record


def evidence_path(path) -> Path:
    """Where :func:`write_events` puts the evidence next to ``path``: ``<stem>.evidence.jsonl``."""
    path = Path(path)
    return path.with_name(path.stem + ".evidence.jsonl")


def write_evidence(events: pd.DataFrame, path) -> Path:
    """Write the evidence of every flag as JSON lines, one per event and token.

    Each line is ``{"event_id": ..., "event_type": ..., "mmsi": ..., "other_mmsi": ...,
    "start": ..., "token": ..., "reason": ...}`` with ``reason`` as in the ``evidence``
    column (:func:`stsdetect.flags.flag_events`): a sanctions analyst can grep one event's
    reasons, or load them all with ``pandas.read_json(path, lines=True)``.

    Parameters
    ----------
    events : pandas.DataFrame
        A flagged events table (``evidence`` column).
    path : str or os.PathLike

    Returns
    -------
    pathlib.Path
    """
    from stsdetect.flags import evidence_table
    from stsdetect.outputs import atomic_path

    path = Path(path)
    table = evidence_table(events)
    if len(table):
        ev = events.drop_duplicates("event_id").set_index("event_id")
        ids = table["event_id"]
        meta = pd.DataFrame({
            "event_id": ids.to_numpy(dtype=object),
            "event_type": ev["event_type"].reindex(ids).to_numpy(dtype=object),
            "mmsi": ev["mmsi"].reindex(ids).to_numpy(),
            "other_mmsi": ev["other_mmsi"].reindex(ids).astype("Int64").to_numpy(),
            "start": ev["start"].reindex(ids).dt.strftime("%Y-%m-%dT%H:%M:%SZ").to_numpy(),
            "token": table["token"].to_numpy(dtype=object),
            "reason": table["reason"].to_numpy(dtype=object),
        })
        meta["other_mmsi"] = meta["other_mmsi"].astype(object).where(
            meta["other_mmsi"].notna(), None)
    with atomic_path(path) as tmp:  # the old file stays whole until the new one is
        if len(table):
            meta.to_json(tmp, orient="records", lines=True, force_ascii=False)
        else:
            tmp.write_text("")
    return path


def read_events(path) -> pd.DataFrame:
    """Read an events table written by :func:`write_events` back into the schema."""
    path = Path(path)
    suffix = path.suffix.lower()
    if suffix == ".csv":
        from stsdetect.outputs import restore_formulas

        frame = restore_formulas(pd.read_csv(path, keep_default_na=True))
    elif suffix in (".geojson", ".json"):
        import geopandas as gpd

        frame = pd.DataFrame(gpd.read_file(path)) if path.stat().st_size > 60 else None
        if frame is None:
            return empty_events()
        frame = frame.drop(columns="geometry")
    elif suffix in (".parquet", ".geoparquet"):
        frame = pd.read_parquet(path)
        frame = frame.drop(columns=[c for c in ("geometry",) if c in frame])
    else:
        raise ValueError(f"unknown events format {suffix!r}: use .csv, .geojson or .parquet")
    if not len(frame):
        return empty_events()
    frame["flags"] = text_lists(frame["flags"])
    for col in ("start", "end"):
        frame[col] = pd.to_datetime(frame[col], utc=True).dt.as_unit("ns")
    return _finish(frame)
