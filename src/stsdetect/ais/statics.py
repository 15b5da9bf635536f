"""Static and voyage data (types 5, 19, 24) via pyais, and the per-MMSI vessels table.

Static messages are a small fraction of any dump, so they are decoded one by one with pyais.
"""

from __future__ import annotations

import functools

import numpy as np
import pandas as pd
from pyais.bit_vector import bit_vector
from pyais.messages import MSG_CLASS

__all__ = ["STATIC_TYPES", "VESSEL_COLUMNS", "build_vessels", "decode_static"]

#: Message types carrying static data.
STATIC_TYPES = (5, 19, 24)

#: Columns of the vessels table, in order.
VESSEL_COLUMNS = [
    "mmsi", "imo", "callsign", "name", "ship_type", "length_m", "beam_m", "draught_m",
    "destination", "ais_class", "first_seen", "last_seen", "n_name_changes", "n_type_changes",
]


def _text(value) -> str | None:
    if value is None:
        return None
    text = str(value).replace("@", " ").strip()
    return text or None


def _positive(value) -> float:
    try:
        value = float(value)
    except (TypeError, ValueError):
        return np.nan
    return value if value > 0 else np.nan


@functools.lru_cache(maxsize=65536)
def decode_static(msg_type: int, payload: bytes, fill_bits: int):
    """Decode one static message with pyais.

    Parameters
    ----------
    msg_type : int
        5, 19 or 24.
    payload : bytes
        Armoured payload (all fragments joined).
    fill_bits : int
        Fill bits of the last fragment.

    Returns
    -------
    dict or str
        The static fields (``mmsi``, ``msg_type``, ``imo``, ``callsign``, ``name``,
        ``ship_type``, ``length_m``, ``beam_m``, ``draught_m``, ``destination``; None / NaN when
        absent or "not available"), or a skip reason (``"undecodable_payload"``,
        ``"invalid_type24_part"``). Results are cached: vessels repeat the same static
        message every few minutes, so most calls on a real dump are cache hits. Treat the
        returned dict as read-only.
    """
    if msg_type == 24 and len(payload) > 6:
        char = payload[6]
        value = char - 48 - (8 if char >= 96 else 0)
        if (value >> 2) & 3 > 1:  # part number, bits 38-39
            return "invalid_type24_part"
    try:
        msg = MSG_CLASS[msg_type].from_vector(bit_vector(payload, fill_bits))
    except Exception:  # pyais raises many types on bad bit strings; all mean the same here
        return "undecodable_payload"
    rec = {"mmsi": int(msg.mmsi), "msg_type": int(msg_type), "imo": None, "callsign": None,
           "name": None, "ship_type": None, "length_m": np.nan, "beam_m": np.nan,
           "draught_m": np.nan, "destination": None}
    if msg_type == 24:
        part = int(getattr(msg, "partno", -1))
        if part == 0:
            rec["name"] = _text(msg.shipname)
            return rec
        if part != 1:
            return "invalid_type24_part"
    else:
        rec["name"] = _text(getattr(msg, "shipname", None))
    ship_type = int(getattr(msg, "ship_type", 0) or 0)
    rec["ship_type"] = ship_type if 0 < ship_type < 100 else None
    rec["callsign"] = _text(getattr(msg, "callsign", None))
    to_bow = getattr(msg, "to_bow", None)
    if to_bow is not None:
        rec["length_m"] = _positive((msg.to_bow or 0) + (msg.to_stern or 0))
        rec["beam_m"] = _positive((msg.to_port or 0) + (msg.to_starboard or 0))
    if msg_type == 5:
        imo = int(msg.imo or 0)
        rec["imo"] = imo if 0 < imo < 1_000_000_000 else None
        rec["draught_m"] = _positive(msg.draught)
        rec["destination"] = _text(msg.destination)
    return rec


def _changes(frame: pd.DataFrame, column: str) -> pd.Series:
    """Per MMSI, how many times a non-null ``column`` differs from its previous non-null value."""
    known = frame.loc[frame[column].notna(), ["mmsi", column]]
    previous = known.groupby("mmsi")[column].shift()
    changed = previous.notna() & (known[column] != previous)
    return changed.groupby(known["mmsi"]).sum()


def build_vessels(statics: pd.DataFrame, positions: pd.DataFrame | None = None) -> pd.DataFrame:
    """One row per MMSI from static records, latest values kept and changes counted.

    Parameters
    ----------
    statics : pandas.DataFrame
        Static records in arrival order with the fields of :func:`decode_static` plus
        ``time`` (UTC, may be NaT) and ``ais_class``.
    positions : pandas.DataFrame, optional
        Position reports; their times widen ``first_seen`` / ``last_seen``.

    Returns
    -------
    pandas.DataFrame
        Columns :data:`VESSEL_COLUMNS`. "Latest" is the last non-null value in arrival order;
        ``n_name_changes`` / ``n_type_changes`` count how often the reported name / ship type
        changed from one static message to the next.
    """
    if statics is None or len(statics) == 0:
        return _empty_vessels()
    statics = statics.reset_index(drop=True)
    grouped = statics.groupby("mmsi", sort=True)
    fields = ["imo", "callsign", "name", "ship_type", "length_m", "beam_m", "draught_m",
              "destination", "ais_class"]
    out = grouped[fields].last()  # last non-null per column
    times = statics["time"]
    first = times.groupby(statics["mmsi"]).min()
    last = times.groupby(statics["mmsi"]).max()
    if positions is not None and len(positions):
        mmsi = positions["mmsi"]
        keep = mmsi.isin(out.index).to_numpy()  # only vessels with static data are listed
        pos_times = positions["time"][keep].groupby(mmsi[keep].to_numpy())
        pos_first = pos_times.min()
        pos_last = pos_times.max()
        first = pd.concat([first, pos_first]).groupby(level=0).min()
        last = pd.concat([last, pos_last]).groupby(level=0).max()
    out["first_seen"] = first.reindex(out.index)
    out["last_seen"] = last.reindex(out.index)
    out["n_name_changes"] = _changes(statics, "name").reindex(out.index, fill_value=0)
    out["n_type_changes"] = _changes(statics, "ship_type").reindex(out.index, fill_value=0)
    out = out.reset_index()
    return _typed(out)


def _typed(out: pd.DataFrame) -> pd.DataFrame:
    out["mmsi"] = out["mmsi"].astype("int64")
    out["imo"] = pd.array(out["imo"], dtype="Int64")
    out["ship_type"] = pd.array(out["ship_type"], dtype="Int64")
    for col in ("length_m", "beam_m", "draught_m"):
        out[col] = out[col].astype("float64")
    for col in ("callsign", "name", "destination", "ais_class"):
        out[col] = out[col].astype("string")
    for col in ("first_seen", "last_seen"):
        out[col] = pd.to_datetime(out[col], utc=True)
    for col in ("n_name_changes", "n_type_changes"):
        out[col] = out[col].fillna(0).astype("int64")
    return out[VESSEL_COLUMNS]


def _empty_vessels() -> pd.DataFrame:
    frame = pd.DataFrame({c: [] for c in VESSEL_COLUMNS})
    frame["first_seen"] = pd.Series([], dtype="datetime64[ns, UTC]")
    frame["last_seen"] = pd.Series([], dtype="datetime64[ns, UTC]")
    return _typed(frame)
