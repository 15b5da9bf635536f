"""MMSI forms, Maritime Identification Digits and flag states; IMO number check digits.

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

from functools import lru_cache
from importlib import resources

import numpy as np
import pandas as pd

__all__ = [
    "DPRK_MID",
    "MMSI_KINDS",
    "flag_state",
    "imo_valid",
    "is_dprk",
    "is_placeholder_mmsi",
    "mid_of",
    "mid_table",
    "mmsi_kind",
]

#: MID of the Democratic People's Republic of Korea in the ITU table.
DPRK_MID = 445

#: Every value :func:`mmsi_kind` returns.
MMSI_KINDS = (
    "ship", "group", "coast_station", "sar_aircraft", "craft_with_parent", "aton",
    "handheld_vhf", "sart_mob_epirb", "invalid",
)

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
    import csv

    # Read with the csv module: every field text as it is ("NA" is Namibia, not a missing
    # value), '#' lines skipped. pandas.read_csv gives the same table but costs ~8 ms on its
    # first call in a process, most of this function's cost in a run of the program.
    text = (resources.files("stsdetect") / "data" / "mid.csv").read_text(encoding="utf-8")
    rows = [r for r in csv.reader(line for line in text.splitlines()
                                  if not line.startswith("#")) if r]
    header, body = rows[0], rows[1:]
    cols = {name: np.array([r[i] for r in body], dtype=object)
            for i, name in enumerate(header)}
    table = pd.DataFrame({"mid": cols["mid"].astype(np.int64),
                          "country": pd.Series(cols["country"], dtype=object),
                          "iso2": pd.Series(cols["iso2"], dtype=object)})
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
    kinds, iso2, country, is_flag = _flag_of_parts(kind_idx, mid)
    has = mid >= 0
    return pd.DataFrame({
        "mmsi": m,
        "kind": kinds,
        "mid": pd.arrays.IntegerArray(np.where(has, mid, 0).astype(np.int64), ~has),
        "country": country,
        "iso2": iso2,
        "is_flag": is_flag,
    })


def _flag_parts(mmsi) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """:func:`flag_state`'s ``kind``, ``iso2``, ``country`` (object, None where no MID) and
    ``is_flag`` as arrays, without the frame."""
    kind_idx, mid, _ = _mmsi_parts(mmsi)
    return _flag_of_parts(kind_idx, mid)


def _flag_of_parts(kind_idx: np.ndarray, mid: np.ndarray):
    country, iso2 = _mid_lookup()
    has = mid >= 0
    safe = np.where(has, mid, 0)
    kinds = np.asarray(MMSI_KINDS, dtype=object)[kind_idx]
    return (kinds, np.where(has, iso2[safe], None), np.where(has, country[safe], None),
            kinds == "ship")


@lru_cache(maxsize=1)
def _mid_lookup() -> tuple[np.ndarray, np.ndarray]:
    """MID (0-999) -> country and ISO code (object arrays, None where unallocated), from
    :func:`_mid_table` (read only)."""
    table = _mid_table()
    country = np.full(1000, None, dtype=object)
    iso2 = np.full(1000, None, dtype=object)
    country[table["mid"].to_numpy()] = table["country"].to_numpy()
    iso2[table["mid"].to_numpy()] = table["iso2"].to_numpy()
    country.flags.writeable = False
    iso2.flags.writeable = False
    return country, iso2


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


def check_vessels(vessels) -> None:
    """A clear error for anything that is not a vessels table (None is allowed)."""
    if vessels is None:
        return
    if not isinstance(vessels, pd.DataFrame):
        raise TypeError(f"vessels must be a DataFrame (read_ais(...).vessels), got "
                        f"{type(vessels).__name__}")
    if "mmsi" not in vessels.columns:
        raise ValueError(f"vessels table has no 'mmsi' column (columns: {list(vessels.columns)})")


def _rows_per_mmsi(key: np.ndarray, ids: np.ndarray, keep: str = "first") -> np.ndarray:
    """The row of ``key`` holding the first (``keep="first"``) or last occurrence of each of
    ``ids`` (-1 where none): what ``drop_duplicates(keep=...).set_index(...).reindex(ids)``
    picks, by a binary search."""
    order = np.argsort(key, kind="stable")
    k = key[order]
    if not k.size:
        return np.full(ids.size, -1, np.int64)
    change = k[1:] != k[:-1]
    edge = np.r_[True, change] if keep == "first" else np.r_[change, True]
    k, rows = k[edge], order[edge]
    pos = np.minimum(np.searchsorted(k, ids), k.size - 1)
    return np.where(k[pos] == ids, rows[pos], -1).astype(np.int64)


def _column_at(column: pd.Series, rows: np.ndarray):
    """The values of ``column`` at ``rows`` (from :func:`_rows_per_mmsi`), in its dtype, -1
    filled as a reindex fills a missing row."""
    values = column.array if isinstance(column.dtype, pd.api.extensions.ExtensionDtype) \
        else column.to_numpy()
    return pd.api.extensions.take(values, rows, allow_fill=True)


def _values_per_mmsi(key: np.ndarray, ids: np.ndarray, values, keep: str = "first") -> list:
    """Each of ``values`` (float arrays along ``key``) at the first (``keep="first"``) or
    last row of each MMSI of ``ids`` in ``key`` (:func:`_rows_per_mmsi`), NaN where it has
    none."""
    rows = _rows_per_mmsi(key, ids, keep)
    found = rows >= 0
    out = []
    for v in values:  # (a handful of columns)
        got = np.full(ids.size, np.nan)
        got[found] = np.asarray(v, float)[rows[found]]
        out.append(got)
    return out
