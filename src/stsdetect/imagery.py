"""Vessel detections from satellite imagery (SAR or optical): reading them in two layouts.

:func:`read_detections` reads a table of detections, one row per vessel seen in an image, into
one schema (:data:`DETECTION_COLUMNS`). Two layouts are recognised by their columns:

**simple** (any CSV or Parquet with these columns)

=============  ===============================================================================
column         meaning
=============  ===============================================================================
``time``       image acquisition time (ISO 8601; UTC when no offset is given)
``lat``,       detected position, degrees (WGS 84)
``lon``
``length_m``   optional: estimated length, metres
``scene_id``   the image (scene) the detection comes from
``detection_   optional: the detection's own id; made from the scene and position when
id``           missing (``<scene_id>;<lon>;<lat>``, GFW's convention)
=============  ===============================================================================

**gfw**: Global Fishing Watch's published Sentinel-1 SAR vessel detections (Paolo et al.
2024, *Satellite mapping reveals extensive industrial activity at sea*, Nature 625: 85-91; the
data set on figshare, doi 10.6084/m9.figshare.24309475, and GFW's "SAR vessel detections"
tables, documented in GlobalFishingWatch/GFW_technical_documentation,
``SAR-object-detections.md``). Their columns, in either spelling:

===========================================  =====================================================
GFW column                                   read as
===========================================  =====================================================
``detect_id``                                ``detection_id`` (GFW builds it as
                                             ``scene_id;lon;lat``)
``scene_id``                                 ``scene_id`` (the Sentinel-1 product id)
``timestamp`` / ``detect_timestamp``         ``time`` (image acquisition time, UTC)
``lat``, ``lon`` / ``detect_lat``,           ``lat``, ``lon``
``detect_lon``
``length_m`` / ``inferred_length_m``         ``length_m`` (length estimated by GFW's neural net)
``mmsi`` / ``ssvid``                         ``gfw_mmsi`` (GFW's own AIS match; empty when
                                             GFW found none)
``matched_category``                         kept (``matched_fishing``, ``matched_nonfishing``,
                                             ``matched_unknown``, ``unmatched``)
``fishing_score``, ``presence_score`` /      kept (GFW's probabilities of a fishing vessel and of
``inferred_presence``, ``overpasses_2017_    a real vessel rather than noise; how many images of
2021``, ``year``, ``eez_iso3``               the place 2017-2021)
===========================================  =====================================================

Other columns are kept as they are. Rows without a usable time or position are not passed on:
they are counted under a named reason in ``frame.attrs["skipped"]`` (``bad_time``,
``bad_position``).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

__all__ = ["DETECTION_COLUMNS", "LAYOUTS", "matches_path", "read_detections", "write_matches"]

#: Columns every detections table has, in order (other columns follow).
DETECTION_COLUMNS = ["detection_id", "scene_id", "time", "lat", "lon", "length_m"]

#: Layouts :func:`read_detections` accepts.
LAYOUTS = ("auto", "simple", "gfw")

#: GFW column -> our column, for each GFW spelling.
_GFW_RENAME = {
    "detect_id": "detection_id",
    "timestamp": "time",
    "detect_timestamp": "time",
    "detect_lat": "lat",
    "detect_lon": "lon",
    "inferred_length_m": "length_m",
    "mmsi": "gfw_mmsi",
    "ssvid": "gfw_mmsi",
    "inferred_presence": "presence_score",
}


def _layout_of(columns) -> str:
    cols = set(columns)
    if "detect_id" in cols or {"detect_lat", "detect_lon"} <= cols or "detect_timestamp" in cols:
        return "gfw"
    if {"timestamp", "lat", "lon", "scene_id"} <= cols and "time" not in cols:
        return "gfw"
    return "simple"


def read_detections(source, layout: str = "auto") -> pd.DataFrame:
    """Read imagery vessel detections into one table.

    Parameters
    ----------
    source : str, path or pandas.DataFrame
        A ``.csv`` (optionally compressed: ``.csv.gz`` ...) or ``.parquet`` file, or a table.
    layout : {"auto", "simple", "gfw"}, default "auto"
        Column layout (see the module docstring); ``"auto"`` tells them apart by the columns.

    Returns
    -------
    pandas.DataFrame
        :data:`DETECTION_COLUMNS` first (``detection_id`` and ``scene_id`` as str, ``time``
        datetime64[ns, UTC], ``lat``/``lon``/``length_m`` float64), then any other columns;
        sorted by time, scene and id. ``attrs["skipped"]`` counts the rows dropped by reason,
        ``attrs["layout"]`` names the layout read.

    Raises
    ------
    ValueError
        On an unknown layout, a file of another type, required columns missing (named), or
        duplicate detection ids.
    FileNotFoundError
        If the file does not exist.
    """
    if layout not in LAYOUTS:
        raise ValueError(f"layout must be one of {LAYOUTS}, got {layout!r}")
    if isinstance(source, pd.DataFrame):
        frame = source.copy()
        name = "detections table"
    else:
        path = Path(source)
        name = str(path)
        if not path.exists():
            raise FileNotFoundError(f"detections file not found: {path}")
        suffixes = "".join(path.suffixes).lower()
        if suffixes.endswith((".parquet", ".geoparquet")):
            frame = pd.read_parquet(path)
        elif ".csv" in suffixes or ".txt" in suffixes:
            frame = pd.read_csv(path, dtype={"scene_id": str, "detect_id": str,
                                             "detection_id": str})
        else:
            raise ValueError(f"{path}: detections must be a .csv or .parquet file")
    frame.columns = [str(c).strip() for c in frame.columns]
    chosen = _layout_of(frame.columns) if layout == "auto" else layout
    if chosen == "gfw":
        frame = frame.rename(columns={k: v for k, v in _GFW_RENAME.items() if k in frame})
    need = ["time", "lat", "lon", "scene_id"]
    missing = [c for c in need if c not in frame.columns]
    if missing:
        raise ValueError(f"{name}: detections lack column(s) {missing}; a {chosen} layout needs "
                         f"{need} (GFW: timestamp/detect_timestamp, lat/detect_lat, "
                         "lon/detect_lon, scene_id)")
    time = pd.to_datetime(frame["time"], utc=True, errors="coerce", format="mixed")
    lat = pd.to_numeric(frame["lat"], errors="coerce").to_numpy(float)
    lon = pd.to_numeric(frame["lon"], errors="coerce").to_numpy(float)
    bad_time = time.isna().to_numpy()
    bad_pos = ~bad_time & ~(np.isfinite(lat) & np.isfinite(lon) & (np.abs(lat) <= 90)
                            & (np.abs(lon) <= 180))
    keep = ~(bad_time | bad_pos)
    out = frame.loc[keep].copy()
    out["time"] = time[keep].dt.as_unit("ns")
    out["lat"] = lat[keep]
    out["lon"] = np.where(lon[keep] >= 180.0, lon[keep] - 360.0, lon[keep])
    out["scene_id"] = out["scene_id"].astype("string").fillna("").astype(str)
    out["length_m"] = (pd.to_numeric(out["length_m"], errors="coerce").astype(float)
                       if "length_m" in out else np.nan)
    if "gfw_mmsi" in out:
        out["gfw_mmsi"] = pd.to_numeric(out["gfw_mmsi"], errors="coerce").astype("Int64")
    if "detection_id" in out:
        ids = out["detection_id"].astype("string")
    else:
        ids = pd.Series(pd.NA, index=out.index, dtype="string")
    made = (out["scene_id"] + ";" + np.char.mod("%.6f", out["lon"].to_numpy(float)) + ";"
            + np.char.mod("%.6f", out["lat"].to_numpy(float)))
    out["detection_id"] = ids.fillna(made).astype(str)
    dup = out["detection_id"].duplicated(keep=False)
    if dup.any():
        raise ValueError(f"{name}: {int(dup.sum())} rows share a detection id, e.g. "
                         f"{out.loc[dup, 'detection_id'].iloc[0]!r}")
    rest = [c for c in out.columns if c not in DETECTION_COLUMNS]
    out = out[DETECTION_COLUMNS + rest]
    out = out.sort_values(["time", "scene_id", "detection_id"], kind="stable")
    out = out.reset_index(drop=True)
    out.attrs["skipped"] = {"bad_time": int(bad_time.sum()), "bad_position": int(bad_pos.sum())}
    out.attrs["layout"] = chosen
    return out


def matches_path(events_path) -> Path:
    """Where the command line writes the matched detections beside an events file:
    ``<stem>.detections.csv``."""
    events_path = Path(events_path)
    return events_path.with_name(events_path.stem + ".detections.csv")


def write_matches(matched: pd.DataFrame, path) -> Path:
    """Write detections with their AIS matches as CSV, atomically.

    Parameters
    ----------
    matched : pandas.DataFrame
        :func:`stsdetect.detectors.dark_vessels.match_detections` output (or
        ``DetectResult.detections``): every detection with ``mmsi`` (empty when no AIS track
        explains it), ``match_distance_m``, ``n_candidates`` and ``matched``.
    path : str or path
        The CSV file. Text cells that a spreadsheet would read as formulas are quoted
        (:func:`stsdetect.outputs.neutralise_formulas`).

    Returns
    -------
    pathlib.Path
    """
    from stsdetect.outputs import atomic_path, neutralise_formulas

    path = Path(path)
    out = matched.copy()
    out["time"] = pd.to_datetime(out["time"], utc=True).dt.strftime("%Y-%m-%dT%H:%M:%SZ")
    with atomic_path(path) as tmp:
        neutralise_formulas(out).to_csv(tmp, index=False)
    return path
