"""Flags and score on every event: who took part, where, and whether they went dark around it.

:func:`flag_events` fills the ``flags`` column of an events table (see
:mod:`stsdetect.events`) with sorted tokens and :func:`score_events` ranks the events for an
investigator. Tokens:

=========================  ================================================================
token                      set when
=========================  ================================================================
``dprk``                   a participant (``mmsi`` or ``other_mmsi``) has the DPRK MID 445
                           (:func:`stsdetect.identity.is_dprk`) or matches the watch-list
``watchlist``              a participant matches the watch-list
                           (:func:`stsdetect.identity.match_watchlist`)
``barge``                  a participant is a barge (:func:`stsdetect.identity.classify_barges`)
``identity_anomaly``       a participant has an identity anomaly
                           (:func:`stsdetect.identity.identity_anomalies`)
region name                the event's position (and, for dark events, where the vessel
                           reappeared: ``end_lat``/``end_lon``) is in that region - the
                           built-ins ``china_territorial_sea``, ``hangzhou_bay``,
                           ``yangtze_estuary``, ``ningbo_zhoushan``, ``korea_bay``,
                           ``dprk_west_coast``, or a user region's own name
``dark_before``            a participant has a ``dark_period`` event that ended within
                           ``before_after_s`` (24 h) before the event's start
``dark_after``             a participant has a ``dark_period`` event that started within
                           ``before_after_s`` after the event's end
``likely_intentional``     the event's ``likely_intentional`` is true (set by the dark-period
                           detector, kept here)
=========================  ================================================================

Tokens already on an event are kept. A dark period never flags itself: for a ``dark_period``
event the windows exclude its own start and end instants, so only *other* silences of its
vessel (repeated switching off) set ``dark_before``/``dark_after`` on it.
"""

from __future__ import annotations

import math

import numpy as np
import pandas as pd

from stsdetect.geo import epoch_s
from stsdetect.identity import (
    classify_barges,
    identity_anomalies,
    is_dprk,
    match_watchlist,
)

__all__ = ["DEFAULT_WEIGHTS", "flag_events", "score_events"]

#: Default score weights: token -> points, plus ``duration_log_h`` (points per natural log of
#: 1 + duration in hours) and ``user_region`` (points for a region token not listed here).
#:
#: The ordering follows the pattern the UN Panel of Experts on the DPRK (1718 Committee) reports
#: as typical of sanctions-evading ship-to-ship transfers (e.g. UN documents S/2019/171,
#: S/2020/151, S/2021/211): a DPRK-flagged or designated vessel (5 each; a designated vessel
#: scores both ``dprk`` and ``watchlist``), meeting a small Chinese barge (2), with AIS switched
#: off around the meeting (2 before, 2 after), in Chinese internal or territorial waters near
#: Ningbo-Zhoushan, Hangzhou Bay and the Yangtze (1 each). Identity manipulation (1) and a
#: silence while others were heard (1) add a little; a longer meeting moves more cargo, with
#: diminishing returns (``log1p(hours)``). These are judgement weights for ranking, not
#: probabilities: pass ``weights`` to change them.
#:
#: Context weights (:mod:`stsdetect.context`): ``anchorage`` and ``port`` (-4 each) are where
#: ordinary ships lie together for days. GFW drops every encounter within 10 km of an
#: anchorage outright; we keep them but take 4 points, which cancels what a two-day wait in
#: Chinese waters earns without any evidence (``log1p(48 h)`` = 3.9 for its duration, plus 1-2
#: region points), so such a pair sinks below any event with one real indicator. A ``crowded``
#: spot (-2: five or more other ships stopped within 2 km) and ``residence`` (-2: both ships
#: lay there longer than the visit window on both sides) are ordinary port life too, but weaker
#: evidence, as a transfer can happen in a crowd or with a mother ship waiting for days.
#: ``visit`` (+2): both ships came for the meeting and left after it, the pattern of the UN
#: Panel's barge cases. ``draught_change`` (+3): a participant's reported draught changed by
#: 0.5 m or more across the event, i.e. cargo moved (UN Panel and Sandia's STS indicators list
#: it; it is the one direct cargo sign AIS carries, but crews key draught in by hand and often
#: late, so it stays below ``dprk``). ``destination_change`` (+1): the declared voyage changed
#: across the meeting, weaker because destinations are often blank or updated at random.
DEFAULT_WEIGHTS: dict[str, float] = {
    "dprk": 5.0,
    "watchlist": 5.0,
    "barge": 2.0,
    "identity_anomaly": 1.0,
    "china_territorial_sea": 1.0,
    "hangzhou_bay": 1.0,
    "yangtze_estuary": 1.0,
    "ningbo_zhoushan": 1.0,
    "korea_bay": 1.0,
    "dprk_west_coast": 1.0,
    "dark_before": 2.0,
    "dark_after": 2.0,
    "likely_intentional": 1.0,
    "anchorage": -4.0,
    "port": -4.0,
    "crowded": -2.0,
    "residence": -2.0,
    "visit": 2.0,
    "draught_change": 3.0,
    "destination_change": 1.0,
    "duration_log_h": 1.0,
    "user_region": 1.0,
}

_REQUIRED = ("event_type", "mmsi", "other_mmsi", "start", "end", "lat", "lon")
_SPECIAL = ("duration_log_h", "user_region")
_SEP = "\x1f"  # unit separator: cannot occur in a token


def _check_events(events: pd.DataFrame) -> None:
    if not isinstance(events, pd.DataFrame):
        raise TypeError(f"events must be a DataFrame, got {type(events).__name__}")
    missing = [c for c in _REQUIRED if c not in events.columns]
    if missing:
        raise ValueError(f"not an events table: missing columns {missing} "
                         "(see stsdetect.events.EVENT_COLUMNS)")


def _resolve_weights(weights) -> dict[str, float]:
    merged = dict(DEFAULT_WEIGHTS)
    if weights:
        for key, value in dict(weights).items():
            try:
                value = float(value)
            except (TypeError, ValueError) as exc:
                raise ValueError(f"weight {key!r} is not a number: {value!r}") from exc
            if not math.isfinite(value):
                raise ValueError(f"weight {key!r} must be finite, got {value!r}")
            merged[str(key)] = value
    return merged


def _flags_long(events: pd.DataFrame) -> pd.DataFrame:
    """(row, token) pairs of the flags already on the events."""
    flags = events["flags"] if "flags" in events.columns else pd.Series(
        [[] for _ in range(len(events))], dtype=object)
    flags = pd.Series(flags.to_numpy(dtype=object), index=np.arange(len(events)))
    long = flags.explode().dropna()   # lists -> one row per token; [] and NaN -> dropped
    long = long[long.astype(str) != ""]
    return pd.DataFrame({"row": long.index.to_numpy(dtype=np.int64),
                         "token": long.astype(str).to_numpy(dtype=object)})


def score_events(events: pd.DataFrame, weights=None, region_names=None) -> pd.DataFrame:
    """Score events from their flags and duration.

    ``score = sum of weights[token] over the event's flags + weights["duration_log_h"] *
    log(1 + duration_h)``. A token with no weight scores ``weights["user_region"]`` when it is
    one of ``region_names``, else 0.

    Parameters
    ----------
    events : pandas.DataFrame
        Events table with ``flags`` (lists of tokens) and ``duration_h``.
    weights : dict, optional
        Overrides of :data:`DEFAULT_WEIGHTS` (other keys kept), e.g.
        ``{"barge": 4, "my_anchorage": 3}``.
    region_names : iterable of str, optional
        Region tokens that get the ``user_region`` weight when they have none of their own.

    Returns
    -------
    pandas.DataFrame
        A copy of ``events`` with ``score`` (float64) filled.

    Raises
    ------
    ValueError
        If a weight is not a finite number.
    """
    w = _resolve_weights(weights)
    out = events.copy()
    n = len(out)
    long = _flags_long(out)
    token_w = pd.Series({k: v for k, v in w.items() if k not in _SPECIAL}, dtype=float)
    region_names = set(region_names or ())
    extra = sorted(region_names - set(token_w.index))
    if extra:
        token_w = pd.concat([token_w, pd.Series(w["user_region"], index=extra)])
    pts = long["token"].map(token_w).fillna(0.0).to_numpy(dtype=float)
    score = np.bincount(long["row"].to_numpy(dtype=np.int64), weights=pts, minlength=n)[:n]
    if "duration_h" in out.columns:
        hours = pd.to_numeric(out["duration_h"], errors="coerce").astype(float).to_numpy()
    else:
        hours = ((out["end"] - out["start"]).dt.total_seconds() / 3600.0).to_numpy(float)
    hours = np.clip(np.nan_to_num(hours, nan=0.0), 0.0, None)
    out["score"] = score + w["duration_log_h"] * np.log1p(hours)
    return out


def _count_in_window(key_id, key_t, q_id, q_lo, q_hi) -> np.ndarray:
    """For each query, how many keys have the same id and lo <= time <= hi? Vectorized.

    Keys are sorted by one composite number ``rank(id) * span + (t - t0)``, so a window of one
    id is a contiguous key range found by two :func:`numpy.searchsorted` calls.
    """
    out = np.zeros(q_id.size, dtype=np.int64)
    ok_k = np.isfinite(key_t)
    key_id, key_t = key_id[ok_k], key_t[ok_k]
    ok_q = np.isfinite(q_lo) & np.isfinite(q_hi)
    if key_id.size == 0 or not ok_q.any():
        return out
    ids, rank = np.unique(key_id, return_inverse=True)
    t0 = min(key_t.min(), q_lo[ok_q].min())
    span = max(key_t.max(), q_hi[ok_q].max()) - t0 + 1.0
    keys = np.sort(rank * span + (key_t - t0))
    pos = np.searchsorted(ids, q_id)
    found = ok_q & (pos < ids.size) & (ids[np.minimum(pos, ids.size - 1)] == q_id)
    base = np.minimum(pos, ids.size - 1) * span
    # same arithmetic as the keys, so a window edge equal to a key time compares exactly
    lo = np.searchsorted(keys, base + (np.where(ok_q, q_lo, t0) - t0), side="left")
    hi = np.searchsorted(keys, base + (np.where(ok_q, q_hi, t0) - t0), side="right")
    out[found] = (hi - lo)[found]
    return out


def flag_events(
    events: pd.DataFrame,
    vessels: pd.DataFrame | None = None,
    tracks=None,
    regions=None,
    watchlist=None,
    dark_periods: pd.DataFrame | None = None,
    before_after_s: float = 86400.0,
    weights=None,
    positions: pd.DataFrame | None = None,
) -> pd.DataFrame:
    """Add identity, region and darkness flags to every event, then score them.

    Parameters
    ----------
    events : pandas.DataFrame
        Events table (:data:`stsdetect.events.EVENT_COLUMNS`), any mix of types.
    vessels : pandas.DataFrame, optional
        Vessels table from :func:`stsdetect.read_ais`; needed for watch-list matching by
        name / IMO / call sign, for the static-data barge rules and the static-data identity
        anomalies. Without it those rules see only MMSIs (and ``tracks``).
    tracks : stsdetect.tracks.Tracks, optional
        Enables the tow check of the barge classifier and the ``two_places_at_once`` anomaly.
    regions : optional
        Anything :func:`stsdetect.regions.load_regions` accepts; all built-ins when None.
        Pass ``[]`` for no region flags.
    watchlist : optional
        A watch-list (path, table, or output of :func:`stsdetect.identity.load_watchlist`).
    dark_periods : pandas.DataFrame, optional
        ``dark_period`` events to test ``dark_before``/``dark_after`` against; the
        ``dark_period`` rows of ``events`` when None. Every event is tested, dark periods
        included (against the vessel's other dark periods).
    before_after_s : float or str, default 86400
        Window for ``dark_before``/``dark_after``: 24 h, as the issue defines it. Accepts
        duration strings such as ``"12h"``.
    weights : dict, optional
        Score weights overriding :data:`DEFAULT_WEIGHTS`.
    positions : pandas.DataFrame, optional
        Positions table; its type 18/19 reports mark Class B transponders for the barge rules.

    Returns
    -------
    pandas.DataFrame
        A new events table, same rows in the same order (index reset), with ``flags``
        (sorted unique tokens; earlier tokens kept) and ``score`` filled.

    Raises
    ------
    ValueError
        If ``events`` lacks event columns or a weight is not a finite number.
    """
    from stsdetect.geo import duration_s
    from stsdetect.regions import load_regions, region_mask

    _check_events(events)
    window_s = duration_s(before_after_s, numbers_in_seconds=True)
    _resolve_weights(weights)  # fail early on bad weights
    out = events.copy().reset_index(drop=True)
    n = len(out)
    region_frame = load_regions(regions) if not (isinstance(regions, (list, tuple))
                                                 and len(regions) == 0) else None
    region_names = [] if region_frame is None else list(region_frame["name"])
    if n == 0:
        out["flags"] = pd.Series([], dtype=object)
        return score_events(out, weights, region_names)

    # participants: one row per (event row, mmsi)
    mmsi_a = pd.to_numeric(out["mmsi"], errors="coerce").astype("Int64")
    mmsi_b = pd.to_numeric(out["other_mmsi"], errors="coerce").astype("Int64")
    rows = np.concatenate([np.arange(n), np.arange(n)])
    part = pd.concat([mmsi_a, mmsi_b], ignore_index=True)
    have = part.notna().to_numpy()
    p_row = rows[have]
    p_mmsi = part[have].to_numpy(dtype=np.int64)
    uniq = np.unique(p_mmsi)

    def per_event(vessel_mask_uniq: np.ndarray) -> np.ndarray:
        hit = vessel_mask_uniq[np.searchsorted(uniq, p_mmsi)]
        return np.bincount(p_row[hit], minlength=n)[:n] > 0

    tokens: dict[str, np.ndarray] = {}
    watch = np.zeros(uniq.size, dtype=bool)
    if watchlist is not None:
        matched = match_watchlist(vessels, watchlist, mmsi=uniq).set_index("mmsi")["matched"]
        watch = matched.reindex(uniq, fill_value=False).to_numpy(dtype=bool)
        tokens["watchlist"] = per_event(watch)
    tokens["dprk"] = per_event(is_dprk(uniq) | watch)

    barges = classify_barges(vessels, tracks=tracks, positions=positions, mmsi=uniq)
    barge = barges.set_index("mmsi")["is_barge"].reindex(uniq, fill_value=False)
    tokens["barge"] = per_event(barge.to_numpy(dtype=bool))

    anomalies = identity_anomalies(vessels, tracks=tracks, mmsi=uniq)
    tokens["identity_anomaly"] = per_event(np.isin(uniq, anomalies["mmsi"].to_numpy()))

    if region_frame is not None and len(region_frame):
        lat = pd.to_numeric(out["lat"], errors="coerce").to_numpy(dtype=float)
        lon = pd.to_numeric(out["lon"], errors="coerce").to_numpy(dtype=float)
        mask = region_mask(lat, lon, region_frame)
        if {"end_lat", "end_lon"} <= set(out.columns):
            is_dark = out["event_type"].isin(["dark_period", "dark_rendezvous"]).to_numpy()
            elat = pd.to_numeric(out["end_lat"], errors="coerce").to_numpy(dtype=float)
            elon = pd.to_numeric(out["end_lon"], errors="coerce").to_numpy(dtype=float)
            elat = np.where(is_dark, elat, np.nan)
            mask |= region_mask(elat, elon, region_frame)
        for j, name in enumerate(region_names):  # loop over regions (few)
            tokens[name] = tokens.get(name, np.zeros(n, bool)) | mask[:, j]

    dark = dark_periods if dark_periods is not None else out
    dark = dark[dark["event_type"] == "dark_period"] if len(dark) else dark
    if len(dark):
        d_mmsi = pd.to_numeric(dark["mmsi"], errors="coerce").fillna(-1).to_numpy(np.int64)
        d_start, d_end = epoch_s(dark["start"]), epoch_s(dark["end"])
        e_start, e_end = epoch_s(out["start"]), epoch_s(out["end"])
        s, e = e_start[p_row], e_end[p_row]
        # A dark period must not find itself, yet must find a neighbour that touches it (a
        # vessel heard once between two silences). Its own end lies in its "before" window,
        # and its own start in its "after" window, only when it has zero length: discount it.
        is_self = (out["event_type"] == "dark_period").to_numpy() \
            & out["event_id"].isin(dark["event_id"]).to_numpy()
        own = (is_self[p_row] & (s == e) & (p_mmsi == out["mmsi"].to_numpy()[p_row])).astype(int)
        before = _count_in_window(d_mmsi, d_end, p_mmsi, s - window_s, s) - own > 0
        after = _count_in_window(d_mmsi, d_start, p_mmsi, e, e + window_s) - own > 0
        tokens["dark_before"] = np.bincount(p_row[before], minlength=n)[:n] > 0
        tokens["dark_after"] = np.bincount(p_row[after], minlength=n)[:n] > 0

    if "likely_intentional" in out.columns:
        tokens["likely_intentional"] = out["likely_intentional"].astype("boolean") \
            .fillna(False).to_numpy(dtype=bool)

    # existing tokens join the new ones as boolean columns; then one sorted join per column
    existing = _flags_long(out)
    for name, rows_with in existing.groupby("token")["row"]:  # per distinct token, not row
        mask = tokens.get(name, np.zeros(n, dtype=bool)).copy()
        mask[rows_with.to_numpy(dtype=np.int64)] = True
        tokens[name] = mask
    joined = np.full(n, "", dtype=object)
    for name in sorted(tokens):  # a dozen token kinds, each a whole-array operation
        has = tokens[name]
        joined = np.where(has & (joined != ""), joined + _SEP + name,
                          np.where(has, name, joined))
    out["flags"] = pd.Series(joined, dtype=object).str.findall(f"[^{_SEP}]+").to_numpy(
        dtype=object)
    return score_events(out, weights, region_names)
