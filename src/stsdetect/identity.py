"""Who a vessel is: flag state, DPRK links, watch-lists, barges and identity anomalies.

Everything here works on whole arrays or tables at once.

MMSI forms (ITU-R M.585-9, Annex 1), with ``M`` the three Maritime Identification Digits and
``x`` any digit; only the first form is a ship's own identity and carries a flag:

=========================  ==================  ================================================
form                       :func:`mmsi_kind`   meaning
=========================  ==================  ================================================
``MIDxxxxxx`` (2-7 first)  ``ship``            ship station; the MID is the flag state
``0MIDxxxxx``              ``group``           group of ship stations
``00MIDxxxx``              ``coast_station``   coast station (incl. AIS base stations)
``111MIDxxx``              ``sar_aircraft``    search-and-rescue aircraft
``98MIDxxxx``              ``craft_with_parent`` craft associated with a parent ship
``99MIDxxxx``              ``aton``            aid to navigation
``8MIDxxxxx``              ``handheld_vhf``    hand-held VHF transceiver with DSC/GNSS
``970xxxxxx``, ``972...``  ``sart_mob_epirb``  AIS-SART, man-overboard device, EPIRB-AIS
``974xxxxxx``
anything else              ``invalid``         incl. a MID not in the ITU table, negative
                                               numbers and more than nine digits
=========================  ==================  ================================================
"""

from __future__ import annotations

import re
from functools import lru_cache
from importlib import resources
from pathlib import Path

import numpy as np
import pandas as pd

from stsdetect.geo import epoch_s

__all__ = [
    "BARGE_ERI_TYPES",
    "BARGE_NAME_WORDS",
    "DPRK_MID",
    "MMSI_KINDS",
    "STATIC_INTERVAL_S",
    "TUG_SHIP_TYPES",
    "classify_barges",
    "find_tows",
    "flag_state",
    "identity_anomalies",
    "imo_valid",
    "is_dprk",
    "is_placeholder_mmsi",
    "load_watchlist",
    "match_watchlist",
    "mid_of",
    "mid_table",
    "mmsi_kind",
    "normalise_name",
]

#: MID of the Democratic People's Republic of Korea in the ITU table.
DPRK_MID = 445

#: Every value :func:`mmsi_kind` returns.
MMSI_KINDS = (
    "ship", "group", "coast_station", "sar_aircraft", "craft_with_parent", "aton",
    "handheld_vhf", "sart_mob_epirb", "invalid",
)

#: AIS ship types (ITU-R M.1371-5, Table 53) of vessels that tow or push: 31 towing,
#: 32 towing with tow longer than 200 m or wider than 25 m, 52 tug.
TUG_SHIP_TYPES = (31, 32, 52)

#: Inland AIS "ERI" ship/convoy type codes (ERI code list of the Inland ECDIS/AIS standard,
#: annex "ERI ship or convoy types") that are barges or convoys made of barges:
#: 8150 freight barge, 8160-8163 tank barges, 8170 freight barge with containers, 8180 gas
#: tank barge, 8210-8290 and 8310-8390 push-tows of barges, 8470 towed object, 8500 chemical
#: tank barge.
BARGE_ERI_TYPES = frozenset(
    [8150, 8160, 8161, 8162, 8163, 8170, 8180, 8470, 8500,
     *range(8210, 8300, 10), *range(8310, 8400, 10)]
)

#: Whole words in a vessel name that mark a barge (English usage in AIS names; Chinese names
#: arrive in 6-bit ASCII pinyin where no single syllable reliably means "barge").
BARGE_NAME_WORDS = ("BARGE", "PONTOON", "LIGHTER", "HOPPER", "DUMB")

#: Barge size limits used as supporting evidence (metres). Chinese coastal and Yangtze barges
#: are mostly 20-90 m long and at most about 16 m wide (the standardised Yangtze main-line
#: ship types run 50-90 m by 10.8-16.2 m); below 20 m is small craft (the ERI list itself
#: separates pleasure craft "longer than 20 metres").
BARGE_MIN_LENGTH_M = 20.0
BARGE_MAX_LENGTH_M = 90.0
BARGE_MAX_BEAM_M = 16.2

#: Static-data reporting interval in seconds: Class A static and voyage data and Class B
#: type 24 parts are sent every 6 minutes (ITU-R M.1371-5). A vessel heard for less than this
#: may simply not have sent its static data yet.
STATIC_INTERVAL_S = 360.0


# --------------------------------------------------------------------------- MID table


def mid_table() -> pd.DataFrame:
    """The ITU Table of Maritime Identification Digits shipped as package data.

    Returns
    -------
    pandas.DataFrame
        Columns ``mid`` (int64), ``country`` (str) and ``iso2`` (ISO 3166-1 alpha-2), one row per
        MID, sorted by ``mid``. Source and caveats are in the header of
        ``stsdetect/data/mid.csv`` (ITU "Table of Maritime Identification Digits"). A fresh
        copy on every call: changing it changes nothing else (a shared table once let one
        in-place ``drop`` make every MMSI of a country ``invalid`` for the whole process).
    """
    return _mid_table().copy(deep=True)


@lru_cache(maxsize=1)  # lru_cache is thread-safe; the table is only read after this
def _mid_table() -> pd.DataFrame:
    """The cached MID table: read only, never handed out (see :func:`mid_table`)."""
    ref = resources.files("stsdetect") / "data" / "mid.csv"
    with resources.as_file(ref) as path:
        # keep_default_na=False: "NA" is Namibia, not a missing value.
        table = pd.read_csv(path, comment="#", dtype=str, keep_default_na=False)
    table["mid"] = table["mid"].astype("int64")
    table["country"] = table["country"].astype(object)
    table["iso2"] = table["iso2"].astype(object)
    return table.sort_values("mid", ignore_index=True)


def _allocated_mask(mid: np.ndarray) -> np.ndarray:
    allocated = np.zeros(1000, dtype=bool)
    allocated[_mid_table()["mid"].to_numpy()] = True
    inside = (mid >= 0) & (mid < 1000)
    out = np.zeros(mid.shape, dtype=bool)
    out[inside] = allocated[mid[inside]]
    return out


def _as_mmsi_array(mmsi) -> np.ndarray:
    """MMSIs as int64 with -1 for missing, non-integral or non-numeric values."""
    arr = np.asarray(mmsi.to_numpy() if isinstance(mmsi, pd.Series) else mmsi)
    arr = np.atleast_1d(arr)
    if arr.dtype.kind in "iu":
        return arr.astype(np.int64)
    num = pd.to_numeric(pd.Series(arr.ravel(), dtype=object), errors="coerce")
    num = num.astype("float64").to_numpy()
    bad = ~np.isfinite(num) | (num != np.round(num)) | (np.abs(num) > 9e18)
    return np.where(bad, -1, np.where(bad, 0, num)).astype(np.int64)


def _mmsi_parts(mmsi) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(kind index into MMSI_KINDS, embedded MID or -1, int64 MMSI) per value."""
    m = _as_mmsi_array(mmsi)
    valid_range = (m > 0) & (m <= 999_999_999)
    d1 = m // 100_000_000            # first digit of the zero-padded 9-digit form
    d2 = m // 10_000_000             # first two digits
    d3 = m // 1_000_000              # first three digits
    conds = [
        ~valid_range,
        (d1 >= 2) & (d1 <= 7),
        d3 == 111,
        d2 == 98,
        d2 == 99,
        (d3 == 970) | (d3 == 972) | (d3 == 974),
        d1 == 8,
        (d2 == 0) & (m // 1_000_000 % 10 >= 2) & (m // 1_000_000 % 10 <= 7),
        (d1 == 0) & (d2 >= 2) & (d2 <= 7),
    ]
    kinds = ["invalid", "ship", "sar_aircraft", "craft_with_parent", "aton",
             "sart_mob_epirb", "handheld_vhf", "coast_station", "group"]
    # the MID is (m // divisor) % 1000 for each form; 0 = the form has no MID
    divisors = [0, 1_000_000, 1000, 10_000, 10_000, 0, 100_000, 10_000, 100_000]
    kind_idx = np.select(conds, [np.int8(MMSI_KINDS.index(k)) for k in kinds],
                         default=np.int8(MMSI_KINDS.index("invalid")))
    divisor = np.select(conds, [np.int64(d) for d in divisors], default=np.int64(0))
    mid = np.where(divisor > 0, (m // np.maximum(divisor, 1)) % 1000, -1)
    has_mid = mid >= 0
    unallocated = has_mid & ~_allocated_mask(mid)
    kind_idx = np.where(unallocated, MMSI_KINDS.index("invalid"), kind_idx)
    mid = np.where(unallocated, -1, mid)
    return kind_idx, mid, m


def mmsi_kind(mmsi) -> np.ndarray:
    """What kind of station each MMSI identifies (ITU-R M.585-9, Annex 1).

    Parameters
    ----------
    mmsi : array_like of int
        MMSIs as integers (leading zeros of the nine-digit form are implied). Missing or
        non-numeric values count as ``invalid``.

    Returns
    -------
    numpy.ndarray of str
        One of :data:`MMSI_KINDS` per value (see the module docstring). A MID that is not in the
        ITU table (:func:`mid_table`) makes the MMSI ``invalid``.
    """
    kind_idx, _, _ = _mmsi_parts(mmsi)
    return np.asarray(MMSI_KINDS, dtype=object)[kind_idx]


def mid_of(mmsi) -> np.ndarray:
    """The Maritime Identification Digits embedded in each MMSI, -1 where the form has none.

    Parameters
    ----------
    mmsi : array_like of int

    Returns
    -------
    numpy.ndarray of int64
        The MID for ship, group, coast-station, SAR-aircraft, parent-craft, AtoN and hand-held
        forms when it is in the ITU table; -1 otherwise.
    """
    return _mmsi_parts(mmsi)[1]


def flag_state(mmsi) -> pd.DataFrame:
    """Flag state (ship stations) or administration (other forms) of each MMSI.

    Parameters
    ----------
    mmsi : array_like of int

    Returns
    -------
    pandas.DataFrame
        One row per input value, in input order: ``mmsi`` (int64, -1 where unreadable),
        ``kind`` (see :func:`mmsi_kind`), ``mid`` (Int64), ``country`` and ``iso2`` (str, ``None``
        where the MMSI has no MID), and ``is_flag`` (bool): True only for the ``ship`` form,
        whose MID is the flag state; the others name the administration that issued them.
    """
    kind_idx, mid, m = _mmsi_parts(mmsi)
    table = _mid_table()
    country = np.full(1000, None, dtype=object)
    iso2 = np.full(1000, None, dtype=object)
    country[table["mid"].to_numpy()] = table["country"].to_numpy()
    iso2[table["mid"].to_numpy()] = table["iso2"].to_numpy()
    has = mid >= 0
    safe = np.where(has, mid, 0)
    kinds = np.asarray(MMSI_KINDS, dtype=object)[kind_idx]
    return pd.DataFrame({
        "mmsi": m,
        "kind": kinds,
        "mid": pd.arrays.IntegerArray(np.where(has, mid, 0).astype(np.int64), ~has),
        "country": np.where(has, country[safe], None),
        "iso2": np.where(has, iso2[safe], None),
        "is_flag": kinds == "ship",
    })


def is_dprk(mmsi) -> np.ndarray:
    """Whether each MMSI carries the DPRK's MID 445 (in any form that embeds a MID).

    A watch-list match also makes a vessel DPRK-linked; :func:`stsdetect.flags.flag_events`
    combines both.

    Parameters
    ----------
    mmsi : array_like of int

    Returns
    -------
    numpy.ndarray of bool
    """
    return mid_of(mmsi) == DPRK_MID


def is_placeholder_mmsi(mmsi) -> np.ndarray:
    """MMSIs that are factory defaults or typed-in placeholders rather than assigned numbers.

    Caught: all nine digits equal (``000000000``, ``111111111`` ...), ``123456789``,
    ``987654321``, ``012345678``, and a ship-form MID followed by six zeros (``412000000``)
    - values that many transponders ship with or that installers enter when the real number
    is not known.

    Parameters
    ----------
    mmsi : array_like of int

    Returns
    -------
    numpy.ndarray of bool
    """
    m = _as_mmsi_array(mmsi)
    repdigit = (m >= 0) & (m <= 999_999_999) & (m % 111_111_111 == 0)
    seq = np.isin(m, [123456789, 987654321, 12345678])
    mid_zeros = (m >= 200_000_000) & (m <= 799_999_999) & (m % 1_000_000 == 0)
    return repdigit | seq | mid_zeros


def imo_valid(imo) -> np.ndarray:
    """Whether each IMO ship number passes its check digit.

    The seventh digit of an IMO number equals the sum of the first six multiplied by
    7, 6, 5, 4, 3, 2 respectively, modulo 10 (IMO Resolution A.1078(28), Annex para. 3).

    Parameters
    ----------
    imo : array_like
        Integers, or strings such as ``"IMO 9074729"``; missing values give False.

    Returns
    -------
    numpy.ndarray of bool
    """
    series = pd.Series(np.atleast_1d(np.asarray(imo, dtype=object)) if np.ndim(imo) == 0
                       else imo if isinstance(imo, pd.Series) else list(imo), dtype=object)
    text = series.astype("string").str.replace(r"^\s*IMO\s*", "", regex=True, case=False)
    num = pd.to_numeric(text.str.strip(), errors="coerce").astype("float64").to_numpy()
    ok = np.isfinite(num) & (num >= 1_000_000) & (num <= 9_999_999) & (num == np.round(num))
    n = np.where(ok, num, 0).astype(np.int64)
    digits = (n[:, None] // 10 ** np.arange(6, -1, -1)) % 10
    check = (digits[:, :6] * np.arange(7, 1, -1)).sum(axis=1) % 10
    return ok & (check == digits[:, 6])


# --------------------------------------------------------------------------- watch-lists

_NUMBERED_SPLIT = re.compile(r"(?:^|[,;]\s*)\d+\s*:\s*")


def normalise_name(values) -> pd.Series:
    """Vessel names or call signs normalised for matching.

    Unicode compatibility-decomposed, accents dropped, upper-cased, and everything that is not
    a letter or digit removed, so ``"Sea-Falcon  No.7"`` and ``"SEA FALCON NO 7"`` agree.
    Empty results become ``<NA>``.

    Parameters
    ----------
    values : array_like of str

    Returns
    -------
    pandas.Series of string dtype
    """
    s = (values if isinstance(values, pd.Series) else pd.Series(np.asarray(values, dtype=object)))
    s = s.astype("string")
    if len(s) and s.str.contains(r"[^\x00-\x7f]", regex=True, na=False).any():
        s = s.str.normalize("NFKD")
    out = s.str.upper().str.replace(r"[^0-9A-Z]", "", regex=True)
    return out.mask(out == "")


def _split_cells(values: pd.Series) -> pd.Series:
    """Multi-value cells ("1: A, 2: B" or "A; B") -> exploded Series keeping the row index."""
    s = values.astype("string").fillna("")
    numbered = s.str.match(r"^\s*\d+\s*:")
    parts = s.where(~numbered, s.str.replace(_NUMBERED_SPLIT, "\x1f", regex=True))
    parts = parts.where(numbered, parts.str.replace(";", "\x1f", regex=False))
    out = parts.str.split("\x1f").explode().str.strip()
    return out[out.notna() & (out != "")]


_WATCH_COLUMNS = {
    "name": ("vessel_name", "name", "names", "ship_name"),
    "imo": ("imo_number", "imo", "imo_no"),
    "mmsi": ("mmsi",),
    "callsign": ("call_sign", "callsign"),
}


def load_watchlist(path_or_frame) -> pd.DataFrame:
    """Load a watch-list of vessels of interest into one row per identifier.

    Reads the column layout of the UN Security Council 1718 Committee designated-vessels list as
    transcribed by OpenSanctions (``vessel_name, imo_number, designated_owner, mmsi, flag,
    call_sign, type, ...``) as well as simple lists with columns ``name``, ``imo``, ``mmsi``,
    ``callsign`` (case-insensitive; any subset). Cells may hold several values written
    ``"1: FIRST, 2: SECOND"`` or ``"FIRST; SECOND"``. IMO numbers are taken as every 7-digit
    run in the cell and MMSIs as every 9-digit run, so ``"IMO 8910603"`` works.

    Parameters
    ----------
    path_or_frame : str, os.PathLike or pandas.DataFrame
        A CSV file or an already loaded table.

    Returns
    -------
    pandas.DataFrame
        Columns ``entry`` (int, row of the list), ``entry_name`` (first name given, for
        reports), ``field`` (``imo``, ``mmsi``, ``name`` or ``callsign``) and ``value``
        (``imo``/``mmsi`` as decimal strings, names and call signs normalised by
        :func:`normalise_name`). Duplicate identifiers of one entry appear once.

    Raises
    ------
    ValueError
        If the table has none of the identifier columns.
    FileNotFoundError
        If the path does not exist.
    """
    if isinstance(path_or_frame, pd.DataFrame):
        frame = path_or_frame.copy()
    else:
        path = Path(path_or_frame)
        if not path.exists():
            raise FileNotFoundError(f"watch-list not found: {path}")
        frame = pd.read_csv(path, dtype=str, keep_default_na=False, comment=None)
    frame.columns = [str(c).strip().lower() for c in frame.columns]
    frame = frame.reset_index(drop=True)
    found = {field: next((c for c in cands if c in frame.columns), None)
             for field, cands in _WATCH_COLUMNS.items()}
    if not any(found.values()):
        raise ValueError(
            "watch-list has no identifier column; expected some of "
            f"{sorted(c for cands in _WATCH_COLUMNS.values() for c in cands)}, got "
            f"{list(frame.columns)}"
        )
    pieces = []
    names = None
    for field, column in found.items():
        if column is None:
            continue
        cells = frame[column].astype("string").fillna("")
        if field in ("imo", "mmsi"):
            width = 7 if field == "imo" else 9
            values = cells.str.findall(rf"(?<!\d)\d{{{width}}}(?!\d)").explode()
            values = values[values.notna()].astype("string")
            values = values.str.lstrip("0").where(values.str.lstrip("0") != "", "0")
        else:
            raw = _split_cells(cells)
            if field == "name":
                names = raw.groupby(level=0).first()
            values = normalise_name(raw)
            values = values[values.notna()]
        pieces.append(pd.DataFrame({"entry": values.index.to_numpy(dtype=np.int64),
                                    "field": field, "value": values.to_numpy(dtype=object)}))
    long = pd.concat(pieces, ignore_index=True) if pieces else pd.DataFrame(
        columns=["entry", "field", "value"])
    long = long.drop_duplicates(["entry", "field", "value"])
    entry_name = pd.Series("", index=frame.index, dtype=object)
    if names is not None:
        entry_name.loc[names.index] = names.astype(object).to_numpy()
    long["entry_name"] = entry_name.reindex(long["entry"]).fillna("").to_numpy(dtype=object)
    long["entry"] = long["entry"].astype(np.int64)
    return long[["entry", "entry_name", "field", "value"]].sort_values(
        ["entry", "field", "value"], ignore_index=True)


def _check_vessels(vessels) -> None:
    """A clear error for anything that is not a vessels table (None is allowed)."""
    if vessels is None:
        return
    if not isinstance(vessels, pd.DataFrame):
        raise TypeError(f"vessels must be a DataFrame (read_ais(...).vessels), got "
                        f"{type(vessels).__name__}")
    if "mmsi" not in vessels.columns:
        raise ValueError(f"vessels table has no 'mmsi' column (columns: {list(vessels.columns)})")


def _vessel_identifiers(vessels: pd.DataFrame) -> pd.DataFrame:
    """Long table (mmsi, field, value) of a vessels table's identifiers, normalised."""
    pieces = []
    if vessels is None or not len(vessels):
        return pd.DataFrame({"mmsi": np.zeros(0, np.int64), "field": np.zeros(0, object),
                             "value": np.zeros(0, object)})
    vessels = vessels.reset_index(drop=True)  # exploded names map back by position
    mmsi = vessels["mmsi"].astype("int64")
    pieces.append(pd.DataFrame({"mmsi": mmsi.to_numpy(), "field": "mmsi",
                                "value": mmsi.astype(str).to_numpy(dtype=object)}))
    if "imo" in vessels:
        imo = pd.to_numeric(vessels["imo"], errors="coerce")
        ok = imo.notna() & (imo > 0)
        pieces.append(pd.DataFrame({"mmsi": mmsi[ok].to_numpy(), "field": "imo",
                                    "value": imo[ok].astype("int64").astype(str)
                                    .to_numpy(dtype=object)}))
    name_cols = [c for c in ("name", "names") if c in vessels]
    for col in name_cols:
        cells = vessels[col].astype("string")
        split = cells.str.split(";").explode() if col == "names" else cells
        norm = normalise_name(split.to_numpy())
        ok = norm.notna().to_numpy()
        pieces.append(pd.DataFrame({"mmsi": mmsi.reindex(split.index).to_numpy()[ok],
                                    "field": "name", "value": norm[ok].to_numpy(dtype=object)}))
    if "callsign" in vessels:
        norm = normalise_name(vessels["callsign"].to_numpy())
        ok = norm.notna().to_numpy()
        pieces.append(pd.DataFrame({"mmsi": mmsi.to_numpy()[ok], "field": "callsign",
                                    "value": norm[ok].to_numpy(dtype=object)}))
    return pd.concat(pieces, ignore_index=True).drop_duplicates()


def match_watchlist(vessels: pd.DataFrame, watchlist, mmsi=None) -> pd.DataFrame:
    """Which vessels match a watch-list, and why.

    IMO numbers and MMSIs match exactly; names (the ``name`` column and every name in
    ``names``) and call signs match after :func:`normalise_name`.

    Parameters
    ----------
    vessels : pandas.DataFrame or None
        Vessels table (``mmsi`` required; ``imo``, ``name``, ``names``, ``callsign`` used when
        present).
    watchlist : pandas.DataFrame, str or os.PathLike
        Output of :func:`load_watchlist`, or anything it accepts.
    mmsi : array_like of int, optional
        Extra MMSIs to check (e.g. participants with no static data); they can match only by
        MMSI.

    Returns
    -------
    pandas.DataFrame
        One row per distinct MMSI (vessels and ``mmsi``), sorted: ``mmsi``, ``matched`` (bool),
        ``reason`` (str, e.g. ``"imo 1000019 = SEA FALCON"``, several joined by ``"; "``,
        ``""`` when unmatched).
    """
    _check_vessels(vessels)
    if not (isinstance(watchlist, pd.DataFrame)
            and {"entry", "field", "value"} <= set(watchlist.columns)):
        watchlist = load_watchlist(watchlist)
    ids = _vessel_identifiers(vessels)
    if mmsi is not None:
        extra = np.unique(_as_mmsi_array(mmsi))
        extra = extra[extra >= 0]  # -1 marks unreadable values
        ids = pd.concat([ids, pd.DataFrame({"mmsi": extra, "field": "mmsi",
                                            "value": extra.astype(str).astype(object)})],
                        ignore_index=True).drop_duplicates()
    all_mmsi = np.unique(ids["mmsi"].to_numpy(dtype=np.int64))
    hits = ids.merge(watchlist, on=["field", "value"], how="inner")
    hits = hits.sort_values(["mmsi", "entry", "field", "value"])
    label = hits["entry_name"].astype(str)
    label = label.where(label != "", "entry " + hits["entry"].astype(str))
    hits["text"] = (hits["field"].astype(str) + " " + hits["value"].astype(str) + " = "
                    + label).astype(object)
    reason = hits.drop_duplicates(["mmsi", "text"]).groupby("mmsi")["text"].agg("; ".join)
    out = pd.DataFrame({"mmsi": all_mmsi})
    out["reason"] = reason.reindex(all_mmsi).fillna("").to_numpy(dtype=object)
    out["matched"] = out["reason"] != ""
    return out[["mmsi", "matched", "reason"]]


# --------------------------------------------------------------------------- barges


def _static_frame(vessels: pd.DataFrame | None, mmsi: np.ndarray) -> pd.DataFrame:
    """Vessels table reindexed onto ``mmsi`` (one row each) with a ``has_static`` column."""
    cols = ["ship_type", "length_m", "beam_m", "name", "names", "ais_class", "eri_type"]
    if vessels is None or not len(vessels):
        base = pd.DataFrame({"mmsi": mmsi})
        for c in cols:
            base[c] = pd.NA
        base["has_static"] = False
        return base
    v = vessels.drop_duplicates("mmsi", keep="last").set_index("mmsi")
    base = pd.DataFrame(index=pd.Index(mmsi, name="mmsi"))
    for c in cols:
        base[c] = v[c].reindex(mmsi).to_numpy() if c in v else pd.NA
    base["has_static"] = np.isin(mmsi, v.index.to_numpy())
    return base.reset_index()


def find_tows(tracks, tug_mmsi, max_distance_m: float = 500.0, min_duration="1h",
              min_sog_kn: float = 2.0, step="10min") -> pd.DataFrame:
    """Vessels travelling together with a tug: close, both under way, for long enough.

    The tracks are cut to the reports of vessels moving faster than ``min_sog_kn``, then
    :func:`stsdetect.detectors.rendezvous.find_pair_runs` (the rendezvous detector's vectorized
    pair search on its time grid) finds pairs within ``max_distance_m`` for at least
    ``min_duration``. A run of a tug (AIS type 31, 32 or 52, :data:`TUG_SHIP_TYPES`) with a
    vessel that is not a tug, both with median speed over ``min_sog_kn``, is a tow. Two tugs
    together are not a tow (harbour tugs travel in company).

    Parameters
    ----------
    tracks : stsdetect.tracks.Tracks
    tug_mmsi : array_like of int
        MMSIs of the towing vessels.
    max_distance_m : float, default 500.0
        Separation limit: the Global Fishing Watch encounter distance (500 m, Miller et al.
        2018, "Identifying global patterns of transshipment behavior", Front. Mar. Sci.),
        also the rendezvous detector's default; it covers coastal towing hawsers of a few
        hundred metres and pushed or alongside tows.
    min_duration : duration, default "1h"
        Least time together: one hour, as the issue defines a tow ("for an hour or more").
    min_sog_kn : float, default 2.0
        Both moving faster than 2 kn (the issue's definition), which separates a tow from two
        vessels moored together.
    step : duration, default "10min"
        Time grid of :func:`~stsdetect.detectors.rendezvous.find_pair_runs` (its default); a
        moving Class B reports every 30 s to 3 min (ITU-R M.1371-5), so every step has data.

    Returns
    -------
    pandas.DataFrame
        ``tug_mmsi``, ``mmsi`` (the towed vessel), ``duration_s`` (longest run together),
        one row per pair, sorted.
    """
    from stsdetect.detectors.rendezvous import find_pair_runs

    empty = pd.DataFrame({"tug_mmsi": np.zeros(0, np.int64), "mmsi": np.zeros(0, np.int64),
                          "duration_s": np.zeros(0)})
    tug_mmsi = np.unique(_as_mmsi_array(tug_mmsi))
    if tracks is None or len(tracks) == 0 or tug_mmsi.size == 0:
        return empty
    moving = np.isfinite(tracks.sog_kn) & (tracks.sog_kn > min_sog_kn)
    if not np.isin(tracks.mmsi[moving], tug_mmsi).any():
        return empty
    runs = find_pair_runs(tracks.take(moving), max_distance_m=max_distance_m,
                          min_duration=min_duration, step=step)
    a_tug = np.isin(runs["mmsi"].to_numpy(), tug_mmsi)
    b_tug = np.isin(runs["other_mmsi"].to_numpy(), tug_mmsi)
    fast = ((runs["median_sog_kn_a"] > min_sog_kn) & (runs["median_sog_kn_b"] > min_sog_kn))
    keep = (a_tug ^ b_tug) & fast.to_numpy(dtype=bool)
    if not keep.any():
        return empty
    runs = runs[keep]
    a_is_tug = a_tug[keep]
    tows = pd.DataFrame({
        "tug_mmsi": np.where(a_is_tug, runs["mmsi"], runs["other_mmsi"]).astype(np.int64),
        "mmsi": np.where(a_is_tug, runs["other_mmsi"], runs["mmsi"]).astype(np.int64),
        "duration_s": (runs["end_s"] - runs["start_s"]).to_numpy(dtype=float),
    })
    tows = tows.groupby(["tug_mmsi", "mmsi"], as_index=False)["duration_s"].max()
    return tows.sort_values(["tug_mmsi", "mmsi"], ignore_index=True)


def classify_barges(vessels: pd.DataFrame | None, tracks=None, positions=None, mmsi=None,
                    tows: pd.DataFrame | None = None) -> pd.DataFrame:
    """Decide which vessels are barges, giving the evidence for each.

    Evidence collected per MMSI (tokens in ``reason``):

    ============================  ========  ================================================
    token                         strength  rule
    ============================  ========  ================================================
    ``name:<WORD>``               decisive  a word of :data:`BARGE_NAME_WORDS` in the name
    ``eri_type:<code>``           decisive  inland ERI type in :data:`BARGE_ERI_TYPES`
                                            (column ``eri_type`` of the vessels table)
    ``towed_by:<mmsi>``           decisive  travels with a tug/towing vessel (AIS type 31, 32
                                            or 52) > 2 kn, <= 500 m, >= 1 h (:func:`find_tows`)
    ``ship_type:99`` /            weak      AIS type 99 "other, no additional information" /
    ``ship_type:0`` /                       0 "not available" / static data without a type
    ``ship_type:missing``
    ``no_static``                 weak      heard in positions but never sent static data,
                                            over at least :data:`STATIC_INTERVAL_S` (6 min)
    ``class_b``                   weak      Class B transponder (``ais_class`` 'B', or type 18
                                            / 19 position reports in ``positions``)
    ``small:<L>x<B>m``            weak      length 20-90 m and beam <= 16.2 m (``BARGE_MIN_
                                            LENGTH_M``, ``BARGE_MAX_LENGTH_M``, ``_MAX_BEAM_M``)
    ``china_mid`` /               weak      MID 412-414 (China) / not a valid ship MMSI
    ``invalid_mmsi``
    ============================  ========  ================================================

    A vessel is a barge when any decisive evidence holds, or when its type is unknown or "other"
    (``ship_type:*`` or ``no_static``) and at least one of ``class_b``, ``small``,
    ``china_mid``, ``invalid_mmsi`` holds - the way Chinese coastal barges usually appear (Class
    B, type 99 or no static data at all, Chinese or made-up MMSIs). Vessels whose type says tug or
    towing (31, 32, 52) are barges only when name or ERI type says so (a tug-and-barge unit
    such as "MEGA+BARGE MOTTI", type 52, in the real samples). When ``vessels`` is None
    nothing is known about static data, so ``no_static`` is not used; nor is it for a vessel
    heard (in ``tracks`` or ``positions``) for less than one static-data interval, which says
    nothing about whether it sends static data.

    Parameters
    ----------
    vessels : pandas.DataFrame or None
        Vessels table (see :func:`stsdetect.read_ais`).
    tracks : stsdetect.tracks.Tracks, optional
        Adds MMSIs heard only in positions, and enables the tow check.
    positions : pandas.DataFrame, optional
        Positions table; its ``msg_type`` 18/19 rows mark Class B transponders.
    mmsi : array_like of int, optional
        Further MMSIs to classify (e.g. event participants).
    tows : pandas.DataFrame, optional
        Precomputed ``tug_mmsi, mmsi`` pairs (e.g. from :func:`find_tows`); computed from
        ``tracks`` when omitted.

    Returns
    -------
    pandas.DataFrame
        ``mmsi`` (int64, sorted, unique), ``is_barge`` (bool), ``reason`` (str: the evidence
        tokens joined by ``"; "``, decisive first; ``""`` when there is none).
    """
    _check_vessels(vessels)
    known = vessels is not None
    parts = [np.zeros(0, np.int64)]
    if known and len(vessels):
        parts.append(vessels["mmsi"].to_numpy(dtype=np.int64))
    if tracks is not None and len(tracks):
        parts.append(np.asarray(tracks.segment_mmsi, dtype=np.int64))
    if positions is not None and len(positions):
        parts.append(positions["mmsi"].to_numpy(dtype=np.int64))
    if mmsi is not None:
        parts.append(_as_mmsi_array(mmsi))
    all_mmsi = np.unique(np.concatenate(parts))
    s = _static_frame(vessels, all_mmsi)
    n = len(s)

    ship_type = pd.to_numeric(s["ship_type"], errors="coerce").to_numpy(dtype=float)
    has_static = s["has_static"].to_numpy(dtype=bool)
    is_tug = np.isin(ship_type, TUG_SHIP_TYPES)

    name_text = (s["name"].astype("string").fillna("") + ";"
                 + s["names"].astype("string").fillna("")).str.upper()
    name_word = pd.Series("", index=s.index, dtype=object)
    for word in BARGE_NAME_WORDS[::-1]:  # fixed, five words: first listed wins
        hit = name_text.str.contains(rf"\b{word}\b", regex=True, na=False).to_numpy()
        name_word = name_word.where(~hit, word)
    name_word = name_word.to_numpy(dtype=object)

    eri = pd.to_numeric(s["eri_type"], errors="coerce").to_numpy(dtype=float)
    eri_barge = np.isin(eri, list(BARGE_ERI_TYPES))

    if tows is None:
        tug_ids = s["mmsi"].to_numpy()[is_tug]
        tows = find_tows(tracks, tug_ids) if tracks is not None else None
    towed_by = np.full(n, "", dtype=object)
    if tows is not None and len(tows):
        first = tows.sort_values(["mmsi", "tug_mmsi"]).drop_duplicates("mmsi")
        pos = np.searchsorted(all_mmsi, first["mmsi"].to_numpy(dtype=np.int64))
        ok = (pos < n) & (all_mmsi[np.minimum(pos, n - 1)] == first["mmsi"].to_numpy())
        towed_by[pos[ok]] = first["tug_mmsi"].to_numpy()[ok].astype(str)
    towed = towed_by != ""

    type99 = ship_type == 99
    type0 = ship_type == 0
    type_missing = has_static & np.isnan(ship_type)
    heard_s = _heard_span_s(all_mmsi, tracks, positions)
    briefly = heard_s < STATIC_INTERVAL_S          # NaN (span unknown) -> False
    no_static = (~has_static & ~briefly) if known else np.zeros(n, dtype=bool)
    unknown_type = type99 | type0 | type_missing | no_static

    class_b = s["ais_class"].astype("string").str.upper().eq("B").fillna(False).to_numpy(bool)
    if positions is not None and len(positions) and "msg_type" in positions:
        b_ids = positions.loc[positions["msg_type"].isin([18, 19]), "mmsi"].to_numpy(np.int64)
        class_b |= np.isin(all_mmsi, b_ids)

    length = pd.to_numeric(s["length_m"], errors="coerce").to_numpy(dtype=float)
    beam = pd.to_numeric(s["beam_m"], errors="coerce").to_numpy(dtype=float)
    small = ((length >= BARGE_MIN_LENGTH_M) & (length <= BARGE_MAX_LENGTH_M)
             & (beam > 0) & (beam <= BARGE_MAX_BEAM_M))

    mid = mid_of(all_mmsi)
    kinds = mmsi_kind(all_mmsi)
    china = np.isin(mid, [412, 413, 414]) & (kinds == "ship")
    invalid = kinds == "invalid"

    stated = (name_word != "") | eri_barge   # the transponder's owner says "barge"
    supporting = class_b | small | china | invalid
    is_barge = stated | ((towed | (unknown_type & supporting)) & ~is_tug)

    def tok(mask, text):
        return np.where(mask, text, "")

    eri_txt = np.where(np.isnan(eri), 0, eri).astype(np.int64).astype(str)
    len_txt = np.char.add(np.char.add(np.round(np.nan_to_num(length)).astype(np.int64)
                                      .astype(str), "x"),
                          np.round(np.nan_to_num(beam)).astype(np.int64).astype(str))
    tokens = [
        tok(name_word != "", np.char.add("name:", name_word.astype(str))),
        tok(eri_barge, np.char.add("eri_type:", eri_txt)),
        tok(towed, np.char.add("towed_by:", towed_by.astype(str))),
        tok(type99, "ship_type:99"), tok(type0, "ship_type:0"),
        tok(type_missing, "ship_type:missing"), tok(no_static, "no_static"),
        tok(class_b, "class_b"), tok(small, np.char.add(np.char.add("small:", len_txt), "m")),
        tok(china, "china_mid"), tok(invalid, "invalid_mmsi"),
    ]
    joined = _join_tokens(tokens, n)
    return pd.DataFrame({
        "mmsi": all_mmsi,
        "is_barge": is_barge,
        "reason": joined,
    })


def _heard_span_s(all_mmsi: np.ndarray, tracks, positions) -> np.ndarray:
    """Seconds between first and last report of each MMSI; NaN where unknown."""
    span = np.full(all_mmsi.size, np.nan)
    sources = []
    if tracks is not None and len(tracks):
        sources.append((np.asarray(tracks.mmsi), np.asarray(tracks.time_s, dtype=float)))
    if positions is not None and len(positions) and "time" in positions:
        sources.append((positions["mmsi"].to_numpy(dtype=np.int64),
                        epoch_s(positions["time"])))
    for mmsi, sec in sources:  # at most two sources
        ok = np.isfinite(sec)
        frame = pd.DataFrame({"mmsi": mmsi[ok], "t": sec[ok]})
        agg = frame.groupby("mmsi")["t"].agg(["min", "max"])
        these = (agg["max"] - agg["min"]).reindex(all_mmsi).to_numpy(dtype=float)
        span = np.fmax(span, these)
    return span


def _join_tokens(tokens, n: int) -> np.ndarray:
    """Column-wise join of token arrays ("" = absent) with "; ", vectorized over rows."""
    out = np.full(n, "", dtype=object)
    for tok in tokens:  # a fixed dozen token columns, each a whole-array operation
        tok = np.asarray(tok, dtype=object)
        has = tok != ""
        both = has & (out != "")
        out = np.where(both, out + "; " + tok, np.where(has, tok, out))
    return out


# --------------------------------------------------------------------------- anomalies


def identity_anomalies(vessels: pd.DataFrame | None, tracks=None, mmsi=None) -> pd.DataFrame:
    """Signs that an MMSI's identity is not what it claims, one row per MMSI and reason.

    Reasons (``reason`` column):

    - ``several_names:<n>``: the MMSI broadcast ``n`` > 1 distinct names in the dump
      (``n_name_changes`` + 1, or the ``names`` list);
    - ``several_ship_types:<n>``: its static ship type changed (``n_type_changes`` > 0);
    - ``invalid_mmsi:<kind>``: not a valid ship MMSI (any form other than ``ship``, including a
      MID missing from the ITU table);
    - ``placeholder_mmsi``: a default or typed-in number (:func:`is_placeholder_mmsi`);
    - ``imo_check_digit``: the broadcast IMO number fails its check digit (:func:`imo_valid`);
      IMO 0 / missing means "not available" and is not an anomaly;
    - ``two_places_at_once:<n>``: the tracks stage split the MMSI into ``n`` > 1 segments,
      i.e. several transmitters used it in places too far apart to be one ship.

    Parameters
    ----------
    vessels : pandas.DataFrame or None
        Vessels table.
    tracks : stsdetect.tracks.Tracks, optional
        Adds MMSIs seen only in positions and the ``two_places_at_once`` check.
    mmsi : array_like of int, optional
        Further MMSIs to check (MMSI-based reasons only).

    Returns
    -------
    pandas.DataFrame
        ``mmsi`` (int64) and ``reason`` (str), sorted; no row for clean MMSIs.
    """
    _check_vessels(vessels)
    rows = [pd.DataFrame({"mmsi": np.zeros(0, np.int64), "reason": np.zeros(0, object)})]
    parts = [np.zeros(0, np.int64)]
    if vessels is not None and len(vessels):
        v = vessels.drop_duplicates("mmsi", keep="last")
        vm = v["mmsi"].to_numpy(dtype=np.int64)
        parts.append(vm)
        n_names = np.zeros(len(v), dtype=np.int64)
        if "n_name_changes" in v:
            n_names = pd.to_numeric(v["n_name_changes"], errors="coerce").fillna(0) \
                .to_numpy(dtype=np.int64) + 1
        if "names" in v:
            each = v["names"].astype("string").fillna("").str.split(";").explode().str.strip()
            each = each[each.notna() & (each != "")]
            listed = each.groupby(level=0).nunique().reindex(v.index, fill_value=0)
            n_names = np.maximum(n_names, listed.to_numpy(dtype=np.int64))
        many = n_names > 1
        rows.append(pd.DataFrame({"mmsi": vm[many], "reason": np.char.add(
            "several_names:", n_names[many].astype(str)).astype(object)}))
        if "n_type_changes" in v:
            nt = pd.to_numeric(v["n_type_changes"], errors="coerce").fillna(0) \
                .to_numpy(dtype=np.int64)
            rows.append(pd.DataFrame({"mmsi": vm[nt > 0], "reason": np.char.add(
                "several_ship_types:", (nt[nt > 0] + 1).astype(str)).astype(object)}))
        if "imo" in v:
            imo = pd.to_numeric(v["imo"], errors="coerce")
            given = (imo.notna() & (imo != 0)).to_numpy(dtype=bool)
            bad = given & ~imo_valid(v["imo"].astype(object).where(imo.notna(), None))
            rows.append(pd.DataFrame({"mmsi": vm[bad], "reason": "imo_check_digit"}))
    if tracks is not None and len(tracks):
        seg = np.asarray(tracks.segment_mmsi, dtype=np.int64)
        parts.append(seg)
        ids, counts = np.unique(seg, return_counts=True)
        rows.append(pd.DataFrame({"mmsi": ids[counts > 1], "reason": np.char.add(
            "two_places_at_once:", counts[counts > 1].astype(str)).astype(object)}))
    if mmsi is not None:
        parts.append(_as_mmsi_array(mmsi))
    all_mmsi = np.unique(np.concatenate(parts))
    kinds = mmsi_kind(all_mmsi)
    bad_kind = kinds != "ship"
    rows.append(pd.DataFrame({"mmsi": all_mmsi[bad_kind], "reason": np.char.add(
        "invalid_mmsi:", kinds[bad_kind].astype(str)).astype(object)}))
    ph = is_placeholder_mmsi(all_mmsi)
    rows.append(pd.DataFrame({"mmsi": all_mmsi[ph], "reason": "placeholder_mmsi"}))
    out = pd.concat(rows, ignore_index=True)
    out["mmsi"] = out["mmsi"].astype(np.int64)
    out["reason"] = out["reason"].astype(object)
    return out.drop_duplicates().sort_values(["mmsi", "reason"], ignore_index=True)
