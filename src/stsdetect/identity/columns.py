"""The identity columns of the events table: who both participants are.

Every event gets, for its vessel and (with the ``other_`` prefix) its partner, the identity the
vessel broadcast (its latest static data in the vessels table) and the flag state its MMSI
carries, so that an investigator can read the output without a second look-up.

=====================  ===========  =====================================================
column                 dtype        meaning (source)
=====================  ===========  =====================================================
``name``               string       latest broadcast name (AIS type 5 / 24A)
``imo``                Int64        IMO number broadcast (type 5); ``<NA>`` when 0/missing
``callsign``           string       call sign (type 5 / 24B)
``ship_type``          Int64        AIS ship and cargo type code (type 5 / 24B)
``ship_type_text``     string       its meaning, ITU-R M.1371-5 Table 53
                                    (:data:`SHIP_TYPE_TEXT`)
``flag_iso``           string       ISO 3166-1 alpha-2 code of the MID's country (ship-form
                                    MMSIs only: the others do not carry a flag)
``flag_country``       string       that country's name in the ITU MID table
``ais_class``          string       ``A`` or ``B`` (vessels table; else Class B when the
                                    MMSI sent type 18/19 position reports)
``length_m``           float64      length overall from the type 5 / 24B dimensions
=====================  ===========  =====================================================
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from stsdetect.identity.mid import _as_mmsi_array, _column_at, _flag_parts, _rows_per_mmsi

__all__ = ["IDENTITY_COLUMNS", "SHIP_TYPE_TEXT", "add_identity_columns", "ship_type_text",
           "vessel_identity"]

#: Identity column -> dtype; each also appears with the ``other_`` prefix for the partner.
IDENTITY_COLUMNS: dict[str, str] = {
    "name": "string",
    "imo": "Int64",
    "callsign": "string",
    "ship_type": "Int64",
    "ship_type_text": "string",
    "flag_iso": "string",
    "flag_country": "string",
    "ais_class": "string",
    "length_m": "float64",
}


def _type_text_table() -> np.ndarray:
    """Ship and cargo type code 0-255 -> text, ITU-R M.1371-5 Annex 8, Table 53."""
    text = np.full(256, "reserved", dtype=object)
    text[0] = "not available"
    text[20] = "wing in ground (WIG), all ships of this type"
    for k, c in enumerate("ABCD"):
        text[21 + k] = f"wing in ground (WIG), hazardous category {c}"
        text[41 + k] = f"high speed craft (HSC), hazardous category {c}"
        text[61 + k] = f"passenger, hazardous category {c}"
        text[71 + k] = f"cargo, hazardous category {c}"
        text[81 + k] = f"tanker, hazardous category {c}"
        text[91 + k] = f"other type, hazardous category {c}"
    fixed = {
        30: "fishing", 31: "towing", 32: "towing: length exceeds 200 m or breadth exceeds 25 m",
        33: "dredging or underwater operations", 34: "diving operations",
        35: "military operations", 36: "sailing", 37: "pleasure craft",
        40: "high speed craft (HSC), all ships of this type",
        49: "high speed craft (HSC), no additional information", 50: "pilot vessel",
        51: "search and rescue vessel", 52: "tug", 53: "port tender",
        54: "anti-pollution equipment", 55: "law enforcement", 56: "spare - local vessel",
        57: "spare - local vessel", 58: "medical transport",
        59: "noncombatant ship (RR Resolution No. 18)", 60: "passenger, all ships of this type",
        69: "passenger, no additional information", 70: "cargo, all ships of this type",
        79: "cargo, no additional information", 80: "tanker, all ships of this type",
        89: "tanker, no additional information", 90: "other type, all ships of this type",
        99: "other type, no additional information",
    }
    for code, value in fixed.items():
        text[code] = value
    return text


#: Ship and cargo type code (0-255) -> meaning, ITU-R M.1371-5 Annex 8 Table 53 (1-19, 25-29,
#: 38-39, 45-48, 65-68, 75-78, 85-88, 95-98 and 100-255 are "reserved").
SHIP_TYPE_TEXT = _type_text_table()


def ship_type_text(code) -> np.ndarray:
    """Meaning of AIS ship and cargo type codes (ITU-R M.1371-5, Table 53).

    Parameters
    ----------
    code : array_like
        Type codes; missing or outside 0-255 give None.

    Returns
    -------
    numpy.ndarray of object
    """
    num = pd.to_numeric(pd.Series(np.atleast_1d(np.asarray(code, dtype=object))),
                        errors="coerce").to_numpy(dtype=float)
    ok = np.isfinite(num) & (num >= 0) & (num <= 255) & (num == np.round(num))
    out = np.full(num.shape, None, dtype=object)
    out[ok] = SHIP_TYPE_TEXT[num[ok].astype(np.int64)]
    return out


def vessel_identity(mmsi, vessels: pd.DataFrame | None = None,
                    positions: pd.DataFrame | None = None, class_b=None) -> pd.DataFrame:
    """The identity columns (:data:`IDENTITY_COLUMNS`) of each MMSI.

    Parameters
    ----------
    mmsi : array_like of int
        MMSIs to describe (duplicates allowed; output in input order).
    vessels : pandas.DataFrame, optional
        Vessels table (:func:`stsdetect.read_ais`); its last row per MMSI is used.
    positions : pandas.DataFrame, optional
        Positions table; type 18/19 reports give ``ais_class`` ``B`` where the vessels table
        has no class.
    class_b : array_like of int, optional
        :func:`stsdetect.identity.barges.class_b_mmsi` of ``positions`` when the caller has it
        already (a pass over every report saved); computed from ``positions`` when None.

    Returns
    -------
    pandas.DataFrame
        ``mmsi`` plus the identity columns, one row per input value.
    """
    m = _as_mmsi_array(mmsi)
    return pd.DataFrame({"mmsi": m, **_identity_arrays(m, vessels, positions, class_b)})


def _identity_arrays(m: np.ndarray, vessels, positions, class_b) -> dict:
    """The identity columns of the MMSIs ``m`` (int64), each an array of its dtype
    (:data:`IDENTITY_COLUMNS`): each vessels column taken at the last row of each MMSI (found
    by a binary search when ``mmsi`` is int64, else by a reindex) and converted once."""
    n = m.size
    rows = v = None
    if vessels is not None and len(vessels) and "mmsi" in vessels:
        if vessels["mmsi"].dtype == np.dtype(np.int64):
            rows = _rows_per_mmsi(vessels["mmsi"].to_numpy(), m, "last")
        else:
            v = vessels.drop_duplicates("mmsi", keep="last").set_index("mmsi").reindex(m)

    def col(name):
        if rows is not None and name in vessels:
            return pd.Series(_column_at(vessels[name], rows))
        if v is not None and name in v:
            return v[name].reset_index(drop=True)
        return pd.Series([pd.NA] * n, dtype=object)

    out = {"name": col("name").astype("string").str.strip().array}
    imo = pd.to_numeric(col("imo"), errors="coerce")
    out["imo"] = imo.where(imo > 0).astype("Int64").array
    out["callsign"] = col("callsign").astype("string").str.strip().array
    st = pd.to_numeric(col("ship_type"), errors="coerce")
    out["ship_type"] = st.astype("Int64").array
    out["ship_type_text"] = pd.array(ship_type_text(st.to_numpy(dtype=float)), dtype="string")
    _, iso2, country, ship = _flag_parts(m)
    out["flag_iso"] = pd.array(np.where(ship, iso2, None), dtype="string")
    out["flag_country"] = pd.array(np.where(ship, country, None), dtype="string")
    cls = col("ais_class").astype("string").str.upper()
    if positions is not None and len(positions) and "msg_type" in positions:
        if class_b is None:
            from stsdetect.identity.barges import class_b_mmsi

            class_b = class_b_mmsi(positions)
        cls = cls.mask(cls.isna() & pd.Series(np.isin(m, class_b)), "B")
    out["ais_class"] = cls.astype("string").array
    length = pd.to_numeric(col("length_m"), errors="coerce").to_numpy(dtype="float64",
                                                                       na_value=np.nan)
    out["length_m"] = np.where(length <= 0, np.nan, length)  # (not positive: unknown)
    return out


def add_identity_columns(events: pd.DataFrame, vessels: pd.DataFrame | None = None,
                         positions: pd.DataFrame | None = None, class_b=None) -> pd.DataFrame:
    """Append the identity columns of both participants to an events table.

    Parameters
    ----------
    events : pandas.DataFrame
        Events table (``mmsi``, ``other_mmsi``).
    vessels, positions, class_b : optional
        As for :func:`vessel_identity`.

    Returns
    -------
    pandas.DataFrame
        A copy with :data:`IDENTITY_COLUMNS` for ``mmsi`` and the same names prefixed
        ``other_`` for ``other_mmsi`` (all missing where there is no partner), replacing any
        such columns already present.
    """
    n = len(events)
    a = pd.to_numeric(events["mmsi"], errors="coerce").fillna(-1).to_numpy(np.int64)
    b = pd.to_numeric(events["other_mmsi"], errors="coerce").fillna(-1).to_numpy(np.int64)
    uniq = np.unique(np.concatenate([a, b]))  # -1 (no partner) describes as all missing
    values = _identity_arrays(uniq, vessels, positions, class_b)  # rows of uniq
    new = {}
    for prefix, ids in (("", a), ("other_", b)):
        at = np.searchsorted(uniq, ids)  # (every id is in uniq)
        for name, dtype in IDENTITY_COLUMNS.items():
            new[prefix + name] = values[name].take(at) if n else pd.array([], dtype)
    # columns already there are replaced in place; the others appended together, in order
    present = [c for c in new if c in events.columns]
    out = events.copy() if present or not new else events
    for col in present:
        out[col] = new.pop(col)
    if not new:
        return out
    return pd.concat([out, pd.DataFrame(new, index=out.index)], axis=1)
