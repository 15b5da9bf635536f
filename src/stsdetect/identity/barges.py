"""Which vessels are barges, with the evidence and its strength."""

from __future__ import annotations

import numpy as np
import pandas as pd

from stsdetect.detectors.tows import TUG_SHIP_TYPES
from stsdetect.identity.mid import (
    _as_mmsi_array,
    _column_at,
    _rows_per_mmsi,
    _values_per_mmsi,
    mid_of,
    mmsi_kind,
)
from stsdetect.identity.mid import check_vessels as _check_vessels

__all__ = [
    "BARGE_ERI_TYPES",
    "BARGE_MAX_BEAM_M",
    "BARGE_MAX_LENGTH_M",
    "BARGE_MIN_LENGTH_M",
    "BARGE_NAME_WORDS",
    "SEA_GOING_MIN_H",
    "SEA_SPEED_KN",
    "STATIC_INTERVAL_S",
    "TUG_SHIP_TYPES",
    "class_b_mmsi",
    "classify_barges",
]

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

#: Speed over ground from which a vessel is making a sea passage rather than shifting between
#: anchorages (knots). Barges are towed or pushed at 4-7 kn; weak barge evidence is not given to
#: a vessel that keeps to 7 kn or more for :data:`SEA_GOING_MIN_H` hours in all. A judgement
#: threshold, chosen below the ~9 kn of the ocean-going Class B vessel of issue #13 and above
#: towing speeds.
SEA_SPEED_KN = 7.0

#: Hours at :data:`SEA_SPEED_KN` or more that make a vessel sea-going (a day: more than a
#: barge's hop between anchorages of one port area).
SEA_GOING_MIN_H = 24.0

#: Longest time between two reports counted as time at the first report's speed (1 h).
SEA_GAP_CAP_S = 3600.0



def class_b_mmsi(positions: pd.DataFrame | None) -> np.ndarray:
    """MMSIs heard in Class B position reports (message types 18 and 19), sorted unique.

    Parameters
    ----------
    positions : pandas.DataFrame or None
        Positions table with ``mmsi`` and ``msg_type``.

    Returns
    -------
    numpy.ndarray of int64
        Empty without positions or a ``msg_type`` column.
    """
    if positions is None or not len(positions) or "msg_type" not in positions:
        return np.zeros(0, np.int64)
    kind = positions["msg_type"]
    if isinstance(kind.dtype, np.dtype) and kind.dtype.kind in "iu":  # plain integers: no hash
        msg = kind.to_numpy()
        is_b = (msg == 18) | (msg == 19)
    else:
        is_b = kind.isin([18, 19]).to_numpy(bool)
    ids = positions["mmsi"].to_numpy()[is_b].astype(np.int64)
    return np.sort(pd.unique(ids))


def _static_frame(vessels: pd.DataFrame | None, mmsi: np.ndarray) -> pd.DataFrame:
    """Vessels table reindexed onto ``mmsi`` (one row each) with a ``has_static`` column."""
    cols = ["ship_type", "length_m", "beam_m", "name", "names", "ais_class", "eri_type"]
    if vessels is None or not len(vessels):
        base = pd.DataFrame({"mmsi": mmsi})
        for c in cols:
            base[c] = pd.NA
        base["has_static"] = False
        return base
    data = {"mmsi": pd.Index(mmsi, name="mmsi").to_numpy()}
    if vessels["mmsi"].dtype == np.dtype(np.int64):
        # each MMSI's last row by a binary search, each column taken there as the reindex
        # of the indexed frame took it (missing rows filled as it filled them)
        at = _rows_per_mmsi(vessels["mmsi"].to_numpy(), np.asarray(mmsi, np.int64), "last")
        for c in cols:
            data[c] = pd.Series(_column_at(vessels[c], at)).to_numpy() if c in vessels \
                else np.full(len(mmsi), pd.NA, dtype=object)
        data["has_static"] = at >= 0
        return pd.DataFrame(data)
    v = vessels.drop_duplicates("mmsi", keep="last").set_index("mmsi")
    # one reindex of the columns there are (not one per column), one frame made at once
    rows = v[[c for c in cols if c in v]].reindex(mmsi)
    for c in cols:
        data[c] = rows[c].to_numpy() if c in v else np.full(len(mmsi), pd.NA, dtype=object)
    data["has_static"] = np.isin(mmsi, v.index.to_numpy())
    return pd.DataFrame(data)


def classify_barges(vessels: pd.DataFrame | None, tracks=None, positions=None, mmsi=None,
                    tows: pd.DataFrame | None = None,
                    activity: pd.DataFrame | None = None,
                    mmsi_only: bool = False, class_b=None) -> pd.DataFrame:
    """Decide which vessels are barges, giving the evidence for each.

    Evidence collected per MMSI (tokens in ``reason``):

    ============================  ========  ================================================
    token                         strength  rule
    ============================  ========  ================================================
    ``name:<WORD>``               decisive  a word of :data:`BARGE_NAME_WORDS` in the name
    ``eri_type:<code>``           decisive  inland ERI type in :data:`BARGE_ERI_TYPES`
                                            (column ``eri_type`` of the vessels table)
    ``towed_by:<mmsi>``           decisive  travels with a tug/towing vessel (AIS type 31, 32
                                            or 52) > 2 kn, <= 500 m, >= 1 h (``tows``)
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

    Strength (column ``strength``): ``strong`` when name, ERI type or a tow says so, or when an
    unknown type comes with barge-sized dimensions (``small``); ``weak`` when an unknown type is
    backed only by ``class_b``, ``china_mid`` or ``invalid_mmsi`` - facts that fit many other
    small craft. A weak call is dropped (token ``sea_going:<h>h``, ``is_barge`` False) for a
    vessel that made :data:`SEA_SPEED_KN` (7 kn) or more for :data:`SEA_GOING_MIN_H` (24 h) in
    all, in ``tracks`` or ``positions``: barges do not make sea passages.

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
        Adds MMSIs heard only in positions; gives listening spans and time at sea speed.
    positions : pandas.DataFrame, optional
        Positions table; its ``msg_type`` 18/19 rows mark Class B transponders.
    mmsi : array_like of int, optional
        Further MMSIs to classify (e.g. event participants).
    tows : pandas.DataFrame, optional
        ``tug_mmsi, mmsi`` pairs from the tow detector
        (:func:`stsdetect.detectors.tows.find_tows`); no ``towed_by`` evidence without it.
    activity : pandas.DataFrame, optional
        The vessels' activity (:func:`stsdetect.identity.activity.vessel_activity` of
        ``tracks`` and ``positions``, or merged over windows): listening spans and time at sea
        speed. Computed from ``tracks`` and ``positions`` when None.
    mmsi_only : bool, default False
        Classify only ``mmsi`` (e.g. the participants of a few events): their rows are those
        of the full classification (each vessel's evidence is its own), without classifying
        every other vessel of the tables (the flags' case).
    class_b : array_like of int, optional
        :func:`class_b_mmsi` of ``positions`` when the caller has it already (a pass over
        every report saved); computed from ``positions`` when None.

    Returns
    -------
    pandas.DataFrame
        ``mmsi`` (int64, sorted, unique), ``is_barge`` (bool), ``strength`` (``"strong"``,
        ``"weak"`` or ``""`` for non-barges), ``reason`` (str: the evidence tokens joined by
        ``"; "``, decisive first; ``""`` when there is none).
    """
    all_mmsi, activity = _barge_mmsi(vessels, tracks, positions, mmsi, activity, mmsi_only)
    heard_s, sea_s = _values_per_mmsi(activity["mmsi"].to_numpy(np.int64), all_mmsi,
                                      [_heard_span_s(activity),
                                       activity["sea_s"].to_numpy(float)])
    s = _static_frame(vessels, all_mmsi)
    name_word = _barge_words(_name_text(s))
    return _barge_rules(s, all_mmsi, name_word, heard_s, sea_s, vessels is not None, positions,
                        class_b, tows)


def _barge_mmsi(vessels, tracks, positions, mmsi, activity, mmsi_only: bool):
    """The MMSIs :func:`classify_barges` classifies (sorted, unique) and the vessels'
    activity (that of ``tracks`` and ``positions`` when ``activity`` is None)."""
    _check_vessels(vessels)
    if mmsi_only and mmsi is None:
        raise ValueError("mmsi_only needs the MMSIs to classify (mmsi=)")
    if activity is None:
        from stsdetect.identity.activity import vessel_activity

        activity = vessel_activity(tracks, positions)
    parts = [np.zeros(0, np.int64)]
    if mmsi is not None:
        parts.append(_as_mmsi_array(mmsi))
    if not mmsi_only:  # every vessel the tables hold
        if vessels is not None and len(vessels):
            parts.append(vessels["mmsi"].to_numpy(dtype=np.int64))
        if tracks is not None and len(tracks):
            parts.append(np.asarray(tracks.segment_mmsi, dtype=np.int64))
        if positions is not None and len(positions):
            parts.append(positions["mmsi"].to_numpy(dtype=np.int64))
        parts.append(activity["mmsi"].to_numpy(dtype=np.int64))
    # distinct per part first (hashing; the positions' part has a row per report)
    all_mmsi = np.unique(np.concatenate([pd.unique(p) for p in parts]))
    return all_mmsi, activity


def _name_text(s: pd.DataFrame) -> pd.Series:
    """Each vessel's name and names (``_static_frame``) as one upper-case text."""
    return (s["name"].astype("string").fillna("") + ";"
            + s["names"].astype("string").fillna("")).str.upper()


def _barge_rules(s: pd.DataFrame, all_mmsi: np.ndarray, name_word: np.ndarray,
                 heard_s: np.ndarray, sea_s: np.ndarray, known: bool, positions, class_b,
                 tows) -> pd.DataFrame:
    """:func:`classify_barges`' rules and evidence for the vessels ``all_mmsi`` from their
    static columns ``s`` (:func:`_static_frame`), the barge word of each name (``""``: none),
    their heard span and time at sea speed (s, NaN: unknown); ``known``: a vessels table was
    given."""
    n = len(s)

    ship_type = pd.to_numeric(s["ship_type"], errors="coerce").to_numpy(dtype=float)
    has_static = s["has_static"].to_numpy(dtype=bool)
    is_tug = np.isin(ship_type, TUG_SHIP_TYPES)

    eri = pd.to_numeric(s["eri_type"], errors="coerce").to_numpy(dtype=float)
    eri_barge = np.isin(eri, list(BARGE_ERI_TYPES))

    towed_by = np.full(n, "", dtype=object)
    if tows is not None and len(tows) and n:
        first = tows.sort_values(["mmsi", "tug_mmsi"]).drop_duplicates("mmsi")
        pos = np.searchsorted(all_mmsi, first["mmsi"].to_numpy(dtype=np.int64))
        ok = (pos < n) & (all_mmsi[np.minimum(pos, n - 1)] == first["mmsi"].to_numpy())
        towed_by[pos[ok]] = first["tug_mmsi"].to_numpy()[ok].astype(str)
    towed = towed_by != ""

    type99 = ship_type == 99
    type0 = ship_type == 0
    type_missing = has_static & np.isnan(ship_type)
    briefly = heard_s < STATIC_INTERVAL_S          # NaN (span unknown) -> False
    no_static = (~has_static & ~briefly) if known else np.zeros(n, dtype=bool)
    unknown_type = type99 | type0 | type_missing | no_static

    heard_b = class_b_mmsi(positions) if class_b is None else class_b
    class_b = s["ais_class"].astype("string").str.upper().eq("B").fillna(False).to_numpy(bool)
    class_b |= np.isin(all_mmsi, heard_b)

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
    strong = stated | ((towed | (unknown_type & small)) & ~is_tug)
    # a weak call (unknown type backed only by Class B, a Chinese or invalid MMSI) is not given
    # to a vessel that sails at sea speed for a day or more: barges do not make voyages
    sea_h = np.nan_to_num(sea_s) / 3600.0
    sea_going = sea_h >= SEA_GOING_MIN_H
    weak = is_barge & ~strong
    is_barge = is_barge & ~(weak & sea_going)
    strength = np.where(strong & is_barge, "strong",
                        np.where(is_barge, "weak", "")).astype(object)

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
        tok(weak & sea_going, np.char.add(np.char.add(
            "sea_going:", np.round(np.nan_to_num(sea_h)).astype(np.int64).astype(str)), "h")),
    ]
    joined = _join_tokens(tokens, n)
    return pd.DataFrame({
        "mmsi": all_mmsi,
        "is_barge": is_barge,
        "strength": strength,
        "reason": joined,
    })


def _barge_words(name_text: pd.Series) -> np.ndarray:
    """The first of :data:`BARGE_NAME_WORDS` (in that order) found as a whole word in each
    text of ``name_text``, ``""`` for none or a missing text: one pandas ``str.contains``
    per word (five, fixed) over all the names at once."""
    out = np.full(len(name_text), "", dtype=object)
    for word in BARGE_NAME_WORDS[::-1]:  # (a loop over the five words) first listed wins
        out[name_text.str.contains(rf"\b{word}\b", regex=True, na=False).to_numpy(bool)] = word
    return out


def _heard_span_s(act: pd.DataFrame) -> np.ndarray:
    """Seconds between first and last report of each MMSI (cleaned or raw, the wider);
    NaN where unknown."""
    def span(lo, hi):
        lo, hi = act[lo].to_numpy(dtype=np.int64), act[hi].to_numpy(dtype=np.int64)
        return np.where((lo != -1) & (hi != -1), (hi - lo) / 1e9, np.nan)

    return np.fmax(span("t_first_ns", "t_last_ns"), span("pos_first_ns", "pos_last_ns"))


def _join_tokens(tokens, n: int) -> np.ndarray:
    """Column-wise join of token arrays ("" = absent) with "; ", vectorized over rows."""
    out = np.full(n, "", dtype=object)
    for tok in tokens:  # a fixed dozen token columns, each a whole-array operation
        tok = np.asarray(tok, dtype=object)
        has = tok != ""
        both = has & (out != "")
        out = np.where(both, out + "; " + tok, np.where(has, tok, out))
    return out
