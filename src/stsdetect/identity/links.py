"""Identity anomalies of one MMSI and links between identities over time."""

from __future__ import annotations

import numpy as np
import pandas as pd

from stsdetect._json import JSON_ESCAPES, json_objects, json_string
from stsdetect.identity.mid import (
    _as_mmsi_array,
    _values_per_mmsi,
    imo_valid,
    is_placeholder_mmsi,
    mmsi_kind,
)
from stsdetect.identity.mid import check_vessels as _check_vessels

__all__ = [
    "HANDOVER_DIM_TOLERANCE_M",
    "HANDOVER_EDGE_S",
    "HANDOVER_MAX_DISTANCE_M",
    "HANDOVER_MAX_GAP_S",
    "LINK_TOKENS",
    "identity_anomalies",
    "identity_links",
]

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
    rows = []  # (mmsi, reason) arrays, made into one table at the end
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
        rows.append((vm[many], np.char.add("several_names:", n_names[many].astype(str))))
        if "n_type_changes" in v:
            nt = pd.to_numeric(v["n_type_changes"], errors="coerce").fillna(0) \
                .to_numpy(dtype=np.int64)
            rows.append((vm[nt > 0], np.char.add("several_ship_types:",
                                                 (nt[nt > 0] + 1).astype(str))))
        if "imo" in v:
            imo = pd.to_numeric(v["imo"], errors="coerce")
            given = (imo.notna() & (imo != 0)).to_numpy(dtype=bool)
            bad = given & ~imo_valid(v["imo"].astype(object).where(imo.notna(), None))
            rows.append((vm[bad], np.full(int(bad.sum()), "imo_check_digit", object)))
    if tracks is not None and len(tracks):
        seg = np.asarray(tracks.segment_mmsi, dtype=np.int64)
        parts.append(seg)
        ids, counts = np.unique(seg, return_counts=True)
        rows.append((ids[counts > 1], np.char.add("two_places_at_once:",
                                                  counts[counts > 1].astype(str))))
    if mmsi is not None:
        parts.append(_as_mmsi_array(mmsi))
    all_mmsi = np.unique(np.concatenate(parts))
    kinds = mmsi_kind(all_mmsi)
    bad_kind = kinds != "ship"
    rows.append((all_mmsi[bad_kind], np.char.add("invalid_mmsi:", kinds[bad_kind].astype(str))))
    ph = is_placeholder_mmsi(all_mmsi)
    rows.append((all_mmsi[ph], np.full(int(ph.sum()), "placeholder_mmsi", object)))
    # distinct (mmsi, reason), sorted: on arrays (a drop_duplicates and a sort_values of a
    # concatenated frame cost more than the few rows)
    m = np.concatenate([np.zeros(0, np.int64)] + [np.asarray(r[0], np.int64) for r in rows])
    why = np.concatenate([np.zeros(0, object)] + [np.asarray(r[1]).astype(object)
                                                  for r in rows])
    if m.size:
        code = np.unique(why, return_inverse=True)[1].reshape(-1)
        order = np.lexsort((code, m))
        m, why, code = m[order], why[order], code[order]
        new = np.r_[True, (m[1:] != m[:-1]) | (code[1:] != code[:-1])]
        m, why = m[new], why[new]
    return pd.DataFrame({"mmsi": m, "reason": pd.Series(why, dtype=object)})




# --------------------------------------------------------------------------- links over time

#: Tokens :func:`identity_links` can give.
LINK_TOKENS = ("imo_shared", "identity_changed", "flag_mismatch", "handover")

#: Handover: the longest silence between one identity's last report and another's first
#: ("within a few hours", issue #13): 6 h.
HANDOVER_MAX_GAP_S = 6 * 3600.0

#: Handover: the farthest apart the last and first positions may be ("a few km"): 5 km.
HANDOVER_MAX_DISTANCE_M = 5000.0

#: Handover: a silence this close to the end of the data, or an appearance this close to its
#: start, says nothing (the receiver may simply have started or stopped): 1 h.
HANDOVER_EDGE_S = 3600.0

#: Handover: dimensions match when length and beam differ by at most this much (metres). AIS
#: dimensions are whole metres from the antenna position; the same hull can be entered a metre
#: differently on two transponders.
HANDOVER_DIM_TOLERANCE_M = 1.0


def _json_list(values: pd.Series, by) -> pd.Series:
    """JSON array text of the distinct values per group (numbers bare, text quoted)."""
    vals = values.to_numpy()
    if vals.dtype.kind in "iu":
        text = vals.astype(str).astype(object)
    elif vals.dtype == object and pd.api.types.infer_dtype(vals, skipna=False) == "string":
        text = json_string(vals) if vals.size else vals
    else:
        text = None
    if text is not None:  # plain arrays: one sort by (group, text), one join per group
        by = np.asarray(by)
        codes, _ = pd.factorize(text, sort=True)  # text order, as sorting the texts
        order = np.lexsort((codes, by))
        by, codes, text = by[order], codes[order], text[order]
        new = np.ones(by.size, dtype=bool)
        new[1:] = (by[1:] != by[:-1]) | (codes[1:] != codes[:-1])  # distinct (group, text)
        by, text = by[new], text[new]
        first = np.flatnonzero(np.r_[True, by[1:] != by[:-1]]) if by.size else by[:0]
        text = text.copy()
        later = np.ones(text.size, dtype=bool)
        later[first] = False
        text[later] = ", " + text[later]
        joined = np.add.reduceat(text, first) if first.size else text[:0]
        return pd.Series("[" + joined + "]", index=pd.Index(by[first], name="by"),
                         dtype=object, name="t")
    text = values.astype(str)
    if not pd.api.types.is_numeric_dtype(values):
        text = '"' + text.str.translate(JSON_ESCAPES) + '"'
    frame = pd.DataFrame({"by": np.asarray(by), "t": text.to_numpy(dtype=object)})
    frame = frame.drop_duplicates().sort_values(["by", "t"])
    return "[" + frame.groupby("by")["t"].agg(", ".join) + "]"


def _first_and_last(key: np.ndarray) -> np.ndarray:
    """Rows holding the first occurrence of each value of ``key``, then rows holding the last
    one, each ascending: ``np.sort`` of :func:`numpy.unique`'s ``return_index`` of ``key`` and
    of its reverse, by hashing (:func:`pandas.factorize` numbers values in order of first
    appearance, so a first occurrence is where the code passes every code before it)."""
    out = []
    for k in (key, key[::-1]):
        codes = pd.factorize(k)[0]
        seen = np.maximum.accumulate(codes)
        new = np.ones(codes.size, dtype=bool)
        new[1:] = seen[1:] > seen[:-1]
        out.append(np.flatnonzero(new))
    return np.concatenate((out[0], (key.size - 1 - out[1])[::-1]))


def _record_rows(statics: pd.DataFrame) -> np.ndarray:
    """The rows of a statics history (positions) that :func:`_history` keeps: each
    ``(mmsi, imo, name)``'s first and last record in time order (NaT last, ties in row order),
    firsts then lasts. A history repeats them every few minutes; the links need each once,
    with its first and last time.

    Values are compared as :func:`_history` reads them (``pd.to_numeric``, ``"string"``,
    ``pd.to_datetime(utc=True)``; a missing column is the same value on every row, missing
    values equal to each other), found on the columns as they are when that reading leaves
    them unchanged (the decoder's layout: no conversion of the whole history), else on those
    readings of only the four columns; then factorized to codes and the first and last
    occurrences found by hashing (:func:`_first_and_last`)."""
    from stsdetect.geo import epoch_ns

    def column(name, as_is, convert):
        if name not in statics:
            return None
        col = statics[name]
        return col if as_is(col.dtype) else convert(col)

    mmsi = column("mmsi", lambda d: d == np.dtype(np.int64),
                  lambda c: pd.to_numeric(c, errors="coerce"))
    imo = column("imo", lambda d: str(d) in ("Int64", "int64", "float64"),
                 lambda c: pd.to_numeric(c, errors="coerce"))
    name = column("name", lambda d: isinstance(d, pd.StringDtype), lambda c: c.astype("string"))
    time = column("time", lambda d: isinstance(d, pd.DatetimeTZDtype) and str(d.tz) == "UTC",
                  lambda c: pd.to_datetime(c, utc=True, errors="coerce"))
    order = None
    if time is not None:
        ns = epoch_ns(time, copy=False)
        nat = np.iinfo(np.int64).min
        by = np.where(ns == nat, np.iinfo(np.int64).max, ns)  # NaT last, as sort_values has it
        order = None if bool(np.all(by[1:] >= by[:-1])) else np.argsort(by, kind="stable")
    # one int64 key per (mmsi, imo, name), missing values equal to each other: each column
    # factorized to codes (only which rows are equal matters), then combined
    key = np.zeros(len(statics), np.int64)
    for col in (mmsi, imo, name):  # three columns
        if col is None:
            continue
        codes, uniq = pd.factorize(col, use_na_sentinel=True)
        codes = np.asarray(codes, np.int64) if order is None else np.asarray(codes,
                                                                             np.int64)[order]
        if (int(key.max()) + 1) * (len(uniq) + 1) >= 2**62:  # keep the key in int64
            key = pd.factorize(key)[0].astype(np.int64)
        key = key * (len(uniq) + 1) + (codes + 1)
    rows = _first_and_last(key)
    return rows if order is None else order[rows]


def _history(vessels, statics) -> pd.DataFrame:
    """(mmsi, imo, name, time) of every static record known: statics history and vessels."""
    from stsdetect.identity.watchlist import normalise_name

    parts = []
    for table in (statics, vessels):
        if table is None or not len(table) or "mmsi" not in table:
            continue
        if table is statics and len(table) > 1:  # (only the rows kept are converted)
            table = table.iloc[_record_rows(table)]
        t = pd.DataFrame({"mmsi": pd.to_numeric(table["mmsi"], errors="coerce")})
        t["imo"] = pd.to_numeric(table["imo"], errors="coerce") if "imo" in table else np.nan
        t["name"] = table["name"].astype("string") if "name" in table else pd.NA
        t["time"] = (pd.to_datetime(table["time"], utc=True, errors="coerce")
                     if "time" in table else pd.NaT)
        parts.append(t.reset_index(drop=True))
        if table is vessels and "names" in table:  # every name an MMSI used (';'-joined)
            each = table["names"].astype("string").str.split(";").explode().str.strip()
            mm = pd.to_numeric(table["mmsi"], errors="coerce").reindex(each.index)
            parts.append(pd.DataFrame({"mmsi": mm.to_numpy(), "imo": np.nan,
                                       "name": each.to_numpy(), "time": pd.NaT}))
    if not parts:
        return pd.DataFrame({"mmsi": np.zeros(0, np.int64), "imo": np.zeros(0),
                             "name": pd.Series([], dtype="string"),
                             "norm": pd.Series([], dtype="string"),
                             "time": pd.Series([], dtype="datetime64[ns, UTC]")})
    h = pd.concat(parts, ignore_index=True)
    h = h[h["mmsi"].notna()].reset_index(drop=True)
    h["mmsi"] = h["mmsi"].astype(np.int64)
    h["imo"] = h["imo"].where(h["imo"] > 0)
    h["name"] = h["name"].astype("string").str.strip()
    h["norm"] = normalise_name(h["name"].to_numpy(dtype=object)).to_numpy()
    return h


def _truncated(values, positive: bool = False) -> np.ndarray:
    """Numbers as :func:`_history` and the IMO grouping read them (``pd.to_numeric``, then
    int64, truncating), with -1 where missing (or, with ``positive``, not above 0, as
    :func:`_history` drops IMO numbers)."""
    if isinstance(values.dtype, np.dtype) and values.dtype.kind in "iu":
        num = values.to_numpy()
        return np.where(num > 0, num, -1).astype(np.int64) if positive else \
            num.astype(np.int64, copy=False)
    num = pd.to_numeric(values, errors="coerce").to_numpy(dtype="float64", na_value=np.nan)
    ok = np.isfinite(num) & (np.abs(num) < 9e18)
    if positive:
        ok &= num > 0
    return np.where(ok, np.where(ok, num, 0.0).astype(np.int64), -1)


def _member(x: np.ndarray, values: np.ndarray) -> np.ndarray:
    """``np.isin(x, values)`` for int64 ``x`` against a few ``values``: one binary search per
    element (np.isin compares every element with each value in turn when they are few)."""
    v = np.unique(values)
    if v.size == 0:
        return np.zeros(x.shape, dtype=bool)
    return v[np.minimum(np.searchsorted(v, x), v.size - 1)] == x


def _bearing_on(statics: pd.DataFrame | None, vessels: pd.DataFrame | None, mmsi):
    """The rows of a statics history that can bear on the links of ``mmsi`` (all of them when
    ``mmsi`` is None): those of these MMSIs, and every row carrying one of their IMO numbers
    (the other MMSIs of an ``imo_shared`` link, with every record of theirs under that IMO).
    The others only make links of other vessels, which are dropped at the end; a history is
    a record every few minutes per vessel, so this is most of the history's cost."""
    if mmsi is None or statics is None or not len(statics) or "mmsi" not in statics:
        return statics
    want = _as_mmsi_array(mmsi)
    mine = _member(_truncated(statics["mmsi"]), want)
    # the columns _history reads, before the rows are taken (a history has many others)
    statics = statics[[c for c in ("time", "mmsi", "imo", "name") if c in statics.columns]]
    if "imo" not in statics:
        return statics[mine]
    s_imo = _truncated(statics["imo"], positive=True)
    imos = [s_imo[mine]]
    if vessels is not None and len(vessels) and {"mmsi", "imo"} <= set(vessels.columns):
        imos.append(_truncated(vessels["imo"], positive=True)[
            _member(_truncated(vessels["mmsi"]), want)])
    imos = np.concatenate(imos)
    return statics[mine | _member(s_imo, imos[imos >= 0])]


def identity_links(vessels: pd.DataFrame | None = None, statics: pd.DataFrame | None = None,
                   tracks=None, hits: pd.DataFrame | None = None, mmsi=None,
                   max_gap_s: float = HANDOVER_MAX_GAP_S,
                   max_distance_m: float = HANDOVER_MAX_DISTANCE_M,
                   activity: pd.DataFrame | None = None) -> pd.DataFrame:
    """Links between identities over the whole dump, one row per vessel and link.

    ===================  ====================================================================
    token                rule and evidence
    ===================  ====================================================================
    ``imo_shared``       one IMO number broadcast under several MMSIs (vessels table and
                         statics history): ``imo``, ``mmsis``
    ``identity_changed`` one MMSI broadcast several IMO numbers or names over time (statics
                         history, or the vessels table's ``names``): ``imos``, ``names``,
                         ``first_seen``/``last_seen`` of its static records; from a vessels
                         table alone, its ``n_name_changes`` (``n_names``)
    ``flag_mismatch``    the MID of the MMSI names another flag state than the watch-list
                         entry it matches (exactly or nearly): ``entry``, ``entry_flag``,
                         ``mid_iso``, ``mid_country``
    ``handover``         one identity falls silent and another first appears within
                         ``max_gap_s`` (6 h) and ``max_distance_m`` (5 km), both with the same
                         length and beam (within :data:`HANDOVER_DIM_TOLERANCE_M`): ``role``
                         (``fell_silent`` / ``appeared``), ``other``, ``silent_at``,
                         ``appeared_at``, ``gap_h``, ``distance_km``, ``length_m``, ``beam_m``
    ===================  ====================================================================

    Parameters
    ----------
    vessels : pandas.DataFrame, optional
        Vessels table (``mmsi``, ``imo``, ``name``, ``names``, ``length_m``, ``beam_m``).
    statics : pandas.DataFrame, optional
        Statics history (``AISData.statics``: ``time``, ``mmsi``, ``imo``, ``name``, ...).
    tracks : stsdetect.tracks.Tracks, optional
        First and last reports of each MMSI, for handovers.
    hits : pandas.DataFrame, optional
        Watch-list hits (:func:`stsdetect.identity.watchlist.watchlist_hits`), for
        ``flag_mismatch``.
    mmsi : array_like of int, optional
        Keep only links of these MMSIs (all when None).
    max_gap_s, max_distance_m : float
        Handover limits (see above; defaults :data:`HANDOVER_MAX_GAP_S`,
        :data:`HANDOVER_MAX_DISTANCE_M`).
    activity : pandas.DataFrame, optional
        First and last reports of each MMSI (:func:`stsdetect.identity.activity.vessel_activity`,
        or merged over the windows of a windowed run), for handovers; from ``tracks`` when
        None.

    Returns
    -------
    pandas.DataFrame
        ``mmsi`` (int64), ``token`` (one of :data:`LINK_TOKENS`) and ``evidence`` (JSON
        object text naming the ``vessel``), sorted by ``mmsi`` and ``token``.
    """
    rows = _record_links(statics, vessels, hits, mmsi)
    # handover: one identity falls silent, another appears nearby with the same dimensions
    activity = _handover_activity(activity, tracks, vessels)
    if activity is not None:
        ids = activity["mmsi"].to_numpy(np.int64)
        t_first = activity["t_first_ns"].to_numpy(np.int64)
        t_last = activity["t_last_ns"].to_numpy(np.int64)
        t_lo, t_hi = t_first.min(), t_last.max()
        length, beam = _last_per_mmsi(vessels, ("length_m", "beam_m"), ids)
        dims = np.isfinite(length) & np.isfinite(beam) & (length > 0) & (beam > 0)
        edge_ns = round(HANDOVER_EDGE_S * 1e9)
        go = np.flatnonzero(dims & (t_last < t_hi - edge_ns))
        nw = np.flatnonzero(dims & (t_first > t_lo + edge_ns))
        # + 0.0: -0.0 becomes 0.0, as equal keys in a merge
        size_l, size_b = np.round(length) + 0.0, np.round(beam) + 0.0
        tol = int(np.ceil(HANDOVER_DIM_TOLERANCE_M))
        # the appearing vessels once per shift of their dimensions (9 shifts), joined with the
        # silent ones on equal (length, beam) by sorting: what a merge of the two frames gave,
        # each matching (silent, appearing, shift) once
        shifts = np.arange(-tol, tol + 1)
        n_shift = shifts.size * shifts.size
        nw_rep = np.tile(nw, n_shift)
        s_l = size_l[nw_rep] + np.repeat(np.repeat(shifts, shifts.size), nw.size)
        s_b = size_b[nw_rep] + np.repeat(np.tile(shifts, shifts.size), nw.size)
        ia, ib = _equal_pairs(size_l[go], size_b[go], s_l, s_b)
        ia, ib = go[ia], nw_rep[ib]
        gap = t_first[ib] - t_last[ia]
        keep = (ids[ia] != ids[ib]) & (gap > 0) & (gap <= round(max_gap_s * 1e9))
        ia, ib = ia[keep], ib[keep]
        if ia.size:
            rows += _handover_rows(pd.DataFrame({
                "a": ids[ia], "ta": t_last[ia], "lat_a": activity["lat_last"].to_numpy()[ia],
                "lon_a": activity["lon_last"].to_numpy()[ia], "L": size_l[ia], "B": size_b[ia],
                "b": ids[ib], "tb": t_first[ib], "lat_b": activity["lat_first"].to_numpy()[ib],
                "lon_b": activity["lon_first"].to_numpy()[ib]}), max_distance_m)

    return _merge_links(rows, mmsi)


def _record_links(statics, vessels, hits, mmsi) -> list:
    """The link frames that need no tracks: ``imo_shared`` and ``identity_changed`` from the
    static records, ``flag_mismatch`` from the watch-list hits; an empty frame first."""
    rows = [pd.DataFrame({"mmsi": np.zeros(0, np.int64), "token": np.zeros(0, object),
                          "evidence": np.zeros(0, object)})]
    h = _history(vessels, _bearing_on(statics, vessels, mmsi))
    rows += _history_links(h, vessels)
    rows += _flag_mismatch_links(hits)
    return rows


def _handover_rows(pairs: pd.DataFrame, max_distance_m: float) -> list:
    """The ``handover`` link frames of candidate pairs (``a`` fell silent at ``ta``,
    ``lat_a``/``lon_a``; ``b`` appeared at ``tb``, ``lat_b``/``lon_b``; their dimensions
    ``L``, ``B``): those within ``max_distance_m``, one frame per role, each vessel's evidence
    naming the other."""
    from stsdetect.geo import haversine_m, utc_from_ns

    dist = haversine_m(pairs["lat_a"].to_numpy(), pairs["lon_a"].to_numpy(),
                       pairs["lat_b"].to_numpy(), pairs["lon_b"].to_numpy())
    pairs = pairs[dist <= max_distance_m].assign(dist=dist[dist <= max_distance_m])
    if not len(pairs):
        return []
    base = pd.DataFrame({
        "silent_at": utc_from_ns(pairs["ta"].to_numpy(np.int64)),
        "appeared_at": utc_from_ns(pairs["tb"].to_numpy(np.int64)),
        "gap_h": ((pairs["tb"] - pairs["ta"]) / 3.6e12).to_numpy(),
        "distance_km": (pairs["dist"] / 1000.0).to_numpy(),
        "length_m": pairs["L"].to_numpy(), "beam_m": pairs["B"].to_numpy()})
    out = []
    for role, me, other in (("fell_silent", "a", "b"), ("appeared", "b", "a")):  # two roles
        frame = pd.concat([pd.DataFrame({
            "vessel": pairs[me].to_numpy(np.int64), "role": role,
            "other": pairs[other].to_numpy(np.int64)}), base], axis=1)
        out.append(pd.DataFrame({"mmsi": pairs[me].to_numpy(np.int64),
                                 "token": "handover", "evidence": json_objects(frame)}))
    return out


def _history_links(h: pd.DataFrame, vessels: pd.DataFrame | None) -> list:
    """The ``imo_shared`` and ``identity_changed`` link frames of :func:`identity_links`
    from the static records ``h`` (:func:`_history`) and, where the history has none for a
    vessel, the vessels table's ``n_name_changes``."""
    rows = []
    # one IMO under several MMSIs
    hi = h[h["imo"].notna()][["imo", "mmsi"]].drop_duplicates()
    hi = hi.assign(imo=hi["imo"].astype(np.int64))
    n_mmsi = hi.groupby("imo")["mmsi"].transform("nunique")
    shared = hi[n_mmsi > 1]
    if len(shared):
        lists = _json_list(shared["mmsi"], shared["imo"])
        ev = json_objects({"vessel": shared["mmsi"].to_numpy(np.int64),
                           "imo": shared["imo"].to_numpy(np.int64),
                           "mmsis": lists.reindex(shared["imo"]).to_numpy(dtype=object)},
                          raw=("mmsis",))
        rows.append(pd.DataFrame({"mmsi": shared["mmsi"].to_numpy(np.int64),
                                  "token": "imo_shared", "evidence": ev}))

    # one MMSI with several IMOs or names
    if len(h):
        n_imo = h[h["imo"].notna()].groupby("mmsi")["imo"].nunique()
        n_name = h[h["norm"].notna()].groupby("mmsi")["norm"].nunique()
        counts = pd.concat([n_imo.rename("i"), n_name.rename("n")], axis=1).fillna(0)
        changed = counts.index[((counts["i"] > 1) | (counts["n"] > 1)).to_numpy()].to_numpy(
            np.int64)
        if changed.size:
            sub = h[h["mmsi"].isin(changed)]
            si = sub[sub["imo"].notna()]
            imos = _json_list(si["imo"].astype(np.int64), si["mmsi"]).reindex(changed)
            sn = sub[sub["name"].notna() & (sub["name"] != "")]
            names = _json_list(sn["name"].astype(str), sn["mmsi"]).reindex(changed)
            tt = sub.groupby("mmsi")["time"].agg(["min", "max"]).reindex(changed)
            ev = json_objects({
                "vessel": changed, "imos": imos.fillna("[]").to_numpy(dtype=object),
                "names": names.fillna("[]").to_numpy(dtype=object),
                "first_seen": tt["min"].reset_index(drop=True),
                "last_seen": tt["max"].reset_index(drop=True)}, raw=("imos", "names"))
            rows.append(pd.DataFrame({"mmsi": changed, "token": "identity_changed",
                                      "evidence": ev}))
    # without the history (a decoded vessels table), its count of name changes
    if vessels is not None and len(vessels) and "n_name_changes" in vessels:
        v = vessels.drop_duplicates("mmsi", keep="last")
        k = pd.to_numeric(v["n_name_changes"], errors="coerce").fillna(0).to_numpy(np.int64)
        vm = v["mmsi"].to_numpy(np.int64)
        done = np.concatenate([r["mmsi"].to_numpy(np.int64) for r in rows
                               if len(r) and (r["token"] == "identity_changed").all()] +
                              [np.zeros(0, np.int64)])
        more = (k > 0) & ~np.isin(vm, done)
        if more.any():
            ev = json_objects({"vessel": vm[more], "n_names": k[more] + 1})
            rows.append(pd.DataFrame({"mmsi": vm[more], "token": "identity_changed",
                                      "evidence": ev}))

    return rows


def _flag_mismatch_links(hits: pd.DataFrame | None) -> list:
    """The ``flag_mismatch`` link frames of :func:`identity_links` from watch-list hits."""
    from stsdetect.identity.mid import flag_state

    rows = []
    # MID against the flag of the matched watch-list entry
    if hits is not None and len(hits):
        hf = hits[hits["entry_flag_iso"].astype(str) != ""].drop_duplicates(["mmsi", "entry"])
        if len(hf):
            fs = flag_state(hf["mmsi"].to_numpy(np.int64))
            ship = fs["is_flag"].to_numpy(bool)
            iso = fs["iso2"].to_numpy(dtype=object)
            bad = ship & (iso != hf["entry_flag_iso"].to_numpy(dtype=object))
            hb = hf[bad].reset_index(drop=True)
            if len(hb):
                ev = json_objects(pd.DataFrame({
                    "vessel": hb["mmsi"].to_numpy(np.int64), "entry": hb["entry"],
                    "entry_name": hb["entry_name"], "entry_flag": hb["entry_flag"],
                    "match": hb["rule"], "mid": fs["mid"].to_numpy()[bad],
                    "mid_iso": iso[bad], "mid_country": fs["country"].to_numpy()[bad]}))
                rows.append(pd.DataFrame({"mmsi": hb["mmsi"].to_numpy(np.int64),
                                          "token": "flag_mismatch", "evidence": ev}))

    return rows


def _handover_activity(activity: pd.DataFrame | None, tracks,
                       vessels: pd.DataFrame | None) -> pd.DataFrame | None:
    """The first and last reports of each vessel with cleaned reports, for handovers: the
    given ``activity``, else that of ``tracks``; None when there is nothing to join (no such
    vessel, or no vessels table with ``length_m`` and ``beam_m`` to match them on)."""
    if vessels is None or not len(vessels) or not {"length_m", "beam_m"} <= set(
            vessels.columns):
        return None
    if activity is None and tracks is not None and len(tracks):
        from stsdetect.identity.activity import vessel_activity

        activity = vessel_activity(tracks)
    if activity is not None:  # vessels with cleaned reports only
        activity = activity[activity["t_first_ns"].to_numpy() != -1]
    return activity if activity is not None and len(activity) else None


def _merge_links(rows: list, mmsi) -> pd.DataFrame:
    """The link frames as one table: only the links of ``mmsi`` (all when None), sorted by
    ``mmsi`` and ``token``, several links of one kind for one vessel as one JSON array of
    their texts in text order. On plain arrays (a few pandas calls on tables of a few rows
    cost more than the links)."""
    rows = [r for r in rows if len(r)]
    m = np.concatenate([np.zeros(0, np.int64)] + [r["mmsi"].to_numpy(np.int64) for r in rows])
    tok = np.concatenate([np.zeros(0, object)] + [r["token"].to_numpy(dtype=object)
                                                    for r in rows])
    evid = np.concatenate([np.zeros(0, object)] + [r["evidence"].to_numpy(dtype=object)
                                                     for r in rows])
    if mmsi is not None:
        keep = _member(m, _as_mmsi_array(mmsi))
        m, tok, evid = m[keep], tok[keep], evid[keep]
    if m.size > 1:
        # by (mmsi, token, evidence): texts ranked by Python's order (code points)
        tok_code = np.unique(tok, return_inverse=True)[1].reshape(-1)
        ev_code = np.unique(evid, return_inverse=True)[1].reshape(-1)
        order = np.lexsort((ev_code, tok_code, m))
        m, tok, evid, tok_code = m[order], tok[order], evid[order], tok_code[order]
        start = np.r_[True, (m[1:] != m[:-1]) | (tok_code[1:] != tok_code[:-1])]
        if not start.all():  # several links of one kind for one vessel: one JSON array
            first = np.flatnonzero(start)
            count = np.diff(np.r_[first, m.size])
            # each text and a separator before the next of its group, summed per group
            # (NumPy's reduceat on objects: string concatenation, no Python loop)
            last_of_group = np.r_[start[1:], True]
            pieces = evid.astype(object) + np.where(last_of_group, "", ", ").astype(object)
            joined = np.add.reduceat(pieces, first).astype(object)
            several = count > 1
            joined[several] = "[" + joined[several] + "]"
            m, tok, evid = m[first], tok[first], joined
    return pd.DataFrame({"mmsi": m, "token": pd.Series(tok, dtype=object),
                         "evidence": pd.Series(evid, dtype=object)})


def _last_per_mmsi(vessels: pd.DataFrame, columns, ids: np.ndarray) -> list:
    """Each of ``columns`` (as ``pd.to_numeric``, float) of the last row of each MMSI in
    ``ids`` (NaN where none): ``vessels.drop_duplicates("mmsi", keep="last")
    .set_index("mmsi")[c].reindex(ids)``, by a binary search when ``mmsi`` is int64."""
    vm = vessels["mmsi"]
    if vm.dtype != np.dtype(np.int64):
        v = vessels.drop_duplicates("mmsi", keep="last").set_index("mmsi")
        return [pd.to_numeric(v[c], errors="coerce").reindex(ids).to_numpy(float)
                for c in columns]
    cols = [pd.to_numeric(vessels[c], errors="coerce").to_numpy(dtype="float64", na_value=np.nan)
            for c in columns]
    return _values_per_mmsi(vm.to_numpy(), ids, cols, keep="last")


def _equal_pairs(l_a, b_a, l_b, b_b):
    """Index pairs ``(i, j)`` with ``l_a[i] == l_b[j]`` and ``b_a[i] == b_b[j]`` (no NaN),
    every match once, by sorting (an inner merge on the two keys)."""
    la = np.concatenate([l_a, l_b])
    lb = np.concatenate([b_a, b_b])
    if la.size == 0:
        return np.zeros(0, np.int64), np.zeros(0, np.int64)
    code = np.unique(np.stack([la, lb], axis=1), axis=0, return_inverse=True)[1].reshape(-1)
    ca, cb = code[:l_a.size], code[l_a.size:]
    order = np.argsort(cb, kind="stable")
    sorted_b = cb[order]
    lo = np.searchsorted(sorted_b, ca, side="left")
    hi = np.searchsorted(sorted_b, ca, side="right")
    n = hi - lo
    ia = np.repeat(np.arange(l_a.size), n)
    start = np.repeat(lo - np.r_[0, np.cumsum(n)[:-1]], n)
    ib = order[start + np.arange(ia.size)] if ia.size else np.zeros(0, np.int64)
    return ia, ib
