"""Flags and score on every event: who took part, where, and whether they went dark around it.

:func:`flag_events` fills the ``flags`` column of an events table (see
:mod:`stsdetect.events`) with sorted tokens and :func:`score_events` ranks the events for an
investigator. Tokens:

=========================  ================================================================
token                      set when
=========================  ================================================================
``dprk``                   a participant (``mmsi`` or ``other_mmsi``) has the DPRK MID 445
                           (:func:`stsdetect.identity.is_dprk`), or matches exactly a
                           watch-list entry whose flag is the DPRK; any other watch-list
                           match sets ``watchlist`` only
``watchlist``              a participant matches the watch-list exactly
                           (:func:`stsdetect.identity.watchlist.watchlist_hits`)
``watchlist_similar``      a participant is close to a listed identity but not equal: IMO one
                           digit or one adjacent swap off, a name one edit away, reordered or
                           romanised differently, a listed call sign under another MMSI
``barge``                  a participant is a barge on strong evidence (name, ERI type, tow,
                           unknown type with barge dimensions;
                           :func:`stsdetect.identity.classify_barges`)
``barge_weak``             ... on weak evidence only (unknown type plus Class B, a Chinese or
                           invalid MMSI); never for a vessel at sea speed for a day
``identity_anomaly``       a participant has an identity anomaly
                           (:func:`stsdetect.identity.identity_anomalies`)
``imo_shared``,            identity links over time
``identity_changed``,      (:func:`stsdetect.identity.links.identity_links`): one IMO under
``flag_mismatch``,         several MMSIs; one MMSI with several IMOs or names; an MID against
``handover``               the flag of the matching watch-list entry; one identity falling
                           silent as another with the same dimensions appears nearby
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
``unseen_partner``         an imagery detection that no AIS track explains lay within 500 m
                           of a vessel of the rendezvous or loitering during it (set by
                           :func:`stsdetect.detectors.dark_vessels.mark_unseen_partners`,
                           kept here; its detection ids are in the ``evidence`` column)
=========================  ================================================================

``dark_vessel`` events (imagery detections without AIS) have no participants (``mmsi`` 0):
they get region tokens only.

Every token carries its reason in the ``evidence`` column (JSON text: token -> reason object,
or an array of them when several hold, e.g. both participants; see :class:`Evidence`): the
watch-list entry, field and value matched (and the rule and similarity of a near match), the
barge rules that fired, the anomalies found, the link and its figures, the region and the
position tested, the dark period (``dark_event_id``, its start and end, hours apart) that set
``dark_before``/``dark_after``. :func:`evidence_table` reads it back as a long table.

Tokens already on an event are kept. A dark period never flags itself: for a ``dark_period``
event the windows exclude its own start and end instants, so only *other* silences of its
vessel (repeated switching off) set ``dark_before``/``dark_after`` on it.
"""

from __future__ import annotations

import json
import math

import numpy as np
import pandas as pd

from stsdetect._json import (
    TEXT_SEP,
    dumps_each,
    grouped_arrays,
    is_instance,
    joined_texts,
    json_arrays,
    json_objects,
    json_where,
    loads_each,
    object_array,
    object_items,
    parse_texts,
)
from stsdetect.geo import epoch_s

__all__ = ["DEFAULT_WEIGHTS", "Evidence", "add_flag", "evidence_table", "flag_events",
           "json_arrays", "json_objects", "score_events"]

#: Default score weights: token -> points, plus ``duration_log_h`` (points per natural log of
#: 1 + duration in hours) and ``user_region`` (points for a region token not listed here).
#:
#: The ordering follows the pattern the UN Panel of Experts on the DPRK (1718 Committee) reports
#: as typical of sanctions-evading ship-to-ship transfers (e.g. UN documents S/2019/171,
#: S/2020/151, S/2021/211): a DPRK-flagged or designated vessel (5 each; a designated DPRK
#: vessel scores both ``dprk`` and ``watchlist``), a near match to a listed identity (3: below
#: an exact match, as the issue asks, yet above a barge, since the Panel's cases show listed
#: ships disguised exactly so), identity links over time (1 each, as anomalies; a handover 2,
#: since it is the disguise itself), meeting a small Chinese barge (2), with AIS switched
#: off around the meeting (2 before, 2 after), in Chinese internal or territorial waters near
#: Ningbo-Zhoushan, Hangzhou Bay and the Yangtze (1 each). A barge called on weak evidence
#: only (Class B, no static data) scores a quarter of a barge (0.5). Identity manipulation (1)
#: and a silence while others were heard (1) add a little; a longer meeting moves more cargo, with
#: diminishing returns (``log1p(hours)``). An imagery detection without AIS beside the vessel
#: during the event (``unseen_partner``, 3) is the one direct trace of the AIS-less barges the
#: Panel describes, a sensor observation rather than an inference: it weighs more than a barge
#: identity (2) and less than a designated vessel (5). These are judgement weights for
#: ranking, not
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
    "watchlist_similar": 3.0,
    "barge": 2.0,
    "barge_weak": 0.5,
    "identity_anomaly": 1.0,
    "imo_shared": 1.0,
    "identity_changed": 1.0,
    "flag_mismatch": 1.0,
    "handover": 2.0,
    "china_territorial_sea": 1.0,
    "hangzhou_bay": 1.0,
    "yangtze_estuary": 1.0,
    "ningbo_zhoushan": 1.0,
    "korea_bay": 1.0,
    "dprk_west_coast": 1.0,
    "dark_before": 2.0,
    "dark_after": 2.0,
    "likely_intentional": 1.0,
    "unseen_partner": 3.0,
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
    if "flags" not in events.columns:
        return pd.DataFrame({"row": np.zeros(0, dtype=np.int64),
                             "token": np.zeros(0, dtype=object)})
    flags = events["flags"]
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


def _count_in_window(key_id, key_t, q_id, q_lo, q_hi, which=None):
    """For each query, how many keys have the same id and lo <= time <= hi? Vectorized.

    Keys are sorted by one composite number ``rank(id) * span + (t - t0)``, so a window of one
    id is a contiguous key range found by two :func:`numpy.searchsorted` calls. With
    ``which="first"`` or ``"last"`` also returns the index (into the keys as given) of the
    earliest or latest key in each window (-1 where none), for the evidence of a flag.
    """
    out = np.zeros(q_id.size, dtype=np.int64)
    pick = np.full(q_id.size, -1, dtype=np.int64)
    ok_k = np.isfinite(key_t)
    key_index = np.nonzero(ok_k)[0]
    key_id, key_t = key_id[ok_k], key_t[ok_k]
    ok_q = np.isfinite(q_lo) & np.isfinite(q_hi)
    if key_id.size == 0 or not ok_q.any():
        return out if which is None else (out, pick)
    ids, rank = np.unique(key_id, return_inverse=True)
    t0 = min(key_t.min(), q_lo[ok_q].min())
    span = max(key_t.max(), q_hi[ok_q].max()) - t0 + 1.0
    composite = rank * span + (key_t - t0)
    order = np.argsort(composite, kind="stable")
    keys = composite[order]
    pos = np.searchsorted(ids, q_id)
    found = ok_q & (pos < ids.size) & (ids[np.minimum(pos, ids.size - 1)] == q_id)
    base = np.minimum(pos, ids.size - 1) * span
    # same arithmetic as the keys, so a window edge equal to a key time compares exactly
    lo = np.searchsorted(keys, base + (np.where(ok_q, q_lo, t0) - t0), side="left")
    hi = np.searchsorted(keys, base + (np.where(ok_q, q_hi, t0) - t0), side="right")
    out[found] = (hi - lo)[found]
    if which is None:
        return out
    some = found & (hi > lo)
    at = np.where(which == "first", lo, hi - 1)
    pick[some] = key_index[order[at[some]]]
    return out, pick


# --------------------------------------------------------------------------- evidence (C4)


def _join_reasons(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Combine two reason texts per row: one alone stays as it is, two make a JSON array."""
    a = np.asarray(a, dtype=object)
    b = np.asarray(b, dtype=object)
    ha, hb = a != "", b != ""

    def items(x):
        if pd.api.types.infer_dtype(x, skipna=False) == "string":  # texts: no round trip
            return _array_items(x)
        xs = pd.Series(x, dtype=object).astype(str)
        arr = xs.str.startswith("[").to_numpy()
        return np.where(arr, xs.str.slice(1, -1).to_numpy(dtype=object), x)

    both = ha & hb
    out = np.where(ha, a, b).astype(object)
    if both.any():
        out[both] = "[" + items(a[both]) + ", " + items(b[both]) + "]"
    return out


_array_items_each = np.frompyfunc(lambda v: v[1:-1] if v.startswith("[") else v, 1, 1)


def _array_items(values: np.ndarray) -> np.ndarray:
    """Each reason text's items, over a 1-D object array of str: a JSON array's text without
    its brackets, any other text as it is (what ``_join_reasons`` did with pandas'
    ``.str.startswith`` and ``.str.slice``, 0.5-1 ms a call on a few events). The arrays'
    texts are unbracketed as one joined text, not value by value."""
    out = values.copy()
    if not values.size:
        return out
    starts = np.char.startswith(values.astype(str), "[")
    arrays = values[starts]
    if not arrays.size:
        return out
    joined = joined_texts(arrays)
    cut = "]" + TEXT_SEP + "["
    # each text but the last must end in "]" to be cut there, and the last must be longer
    # than its "[" (whose one character the cut and the end would both take); otherwise (or
    # when a text holds the separator) the texts are done value by value
    if joined is None or joined.count(cut) != arrays.size - 1 or arrays[-1] == "[":
        out[starts] = _array_items_each(arrays)
    else:
        out[starts] = object_array(joined[1:-1].replace(cut, TEXT_SEP).split(TEXT_SEP))
    return out


class Evidence:
    """Flag tokens and their reasons, accumulated over the rows of an events table.

    The mechanism behind the ``flags`` and ``evidence`` columns (contract C4): every stage
    that sets a token adds it with :meth:`add` (a row mask and, per row, the reason as JSON
    text, e.g. from :func:`json_objects`), or with :meth:`add_vessels` for a property of a
    participant. :meth:`finish` writes ``flags`` (sorted tokens) and ``evidence`` (one JSON
    object per row mapping each token to its reason: an object, or an array of objects when
    several reasons hold, e.g. both participants) onto the table.

    Parameters
    ----------
    events : pandas.DataFrame
        The events table (index 0..n-1).
    """

    def __init__(self, events: pd.DataFrame):
        self.n = len(events)
        self.tokens: dict[str, np.ndarray] = {}
        self.reasons: dict[str, np.ndarray] = {}
        a = pd.to_numeric(events["mmsi"], errors="coerce").fillna(-1).to_numpy(np.int64)
        b = pd.to_numeric(events["other_mmsi"], errors="coerce").fillna(-1).to_numpy(np.int64)
        self._a, self._b = a, b

    def add(self, token: str, mask, reason=None) -> None:
        """Set ``token`` on the rows of ``mask``, with the reason (JSON text) of each row.

        Parameters
        ----------
        token : str
        mask : array_like of bool
            Rows that get the token (others keep what they had).
        reason : str or array_like of str, optional
            JSON text per row (``""`` for none), or one text for every row of ``mask``.
        """
        mask = np.asarray(mask, dtype=bool)
        old = self.tokens.get(token, np.zeros(self.n, bool))
        self.tokens[token] = old | mask
        if reason is None:
            return
        text = np.full(self.n, reason, dtype=object) if isinstance(reason, str) else \
            np.asarray(reason, dtype=object)
        text = np.where(mask, text, "").astype(object)
        prev = self.reasons.get(token, np.full(self.n, "", dtype=object))
        self.reasons[token] = _join_reasons(prev, text)

    def add_vessels(self, token: str, mmsi, reason) -> None:
        """Set ``token`` on every event in which one of ``mmsi`` takes part.

        Parameters
        ----------
        token : str
        mmsi : array_like of int
            Vessels with the property.
        reason : array_like of str
            JSON text of the reason for each of ``mmsi`` (it should name the vessel).
        """
        mmsi = np.asarray(mmsi, dtype=np.int64)
        reason = np.asarray(reason, dtype=object)
        if mmsi.size == 0:
            return
        order = np.argsort(mmsi, kind="stable")
        mmsi, reason = mmsi[order], reason[order]
        texts = []
        masks = []
        for side in (self._a, self._b):  # the two participants
            pos = np.searchsorted(mmsi, side)
            pos = np.minimum(pos, mmsi.size - 1)
            hit = mmsi[pos] == side
            masks.append(hit)
            texts.append(np.where(hit, reason[pos], "").astype(object))
        self.add(token, masks[0] | masks[1], _join_reasons(texts[0], texts[1]))

    def add_participants(self, token: str, mask_a, reason_a, mask_b, reason_b) -> None:
        """Set ``token`` where a participant of the event has a property during it.

        For properties of a vessel *in one event* (its draught changed across it, it was
        moored during it ...); :meth:`add_vessels` is for properties of a vessel whatever the
        event. The reason of each participant should name the vessel (``"vessel": mmsi``);
        when both participants have it, the reason is an array of the two.

        Parameters
        ----------
        token : str
        mask_a, mask_b : array_like of bool
            Rows where the vessel (``mmsi``), resp. its partner (``other_mmsi``), has it.
        reason_a, reason_b : array_like of str
            JSON text per row for each participant (read only where its mask is set).
        """
        mask_a = np.asarray(mask_a, dtype=bool)
        mask_b = np.asarray(mask_b, dtype=bool)
        self.add(token, mask_a | mask_b, _join_reasons(
            np.where(mask_a, np.asarray(reason_a, dtype=object), ""),
            np.where(mask_b, np.asarray(reason_b, dtype=object), "")))

    def finish(self, events: pd.DataFrame) -> pd.DataFrame:
        """``events`` with ``flags`` and ``evidence`` written (earlier ones kept)."""
        out = events
        old_reasons = _evidence_long(out) if "evidence" in out.columns else None
        existing = _flags_long(out)
        for name, rows_with in existing.groupby("token")["row"]:  # per distinct token
            mask = np.zeros(self.n, dtype=bool)
            mask[rows_with.to_numpy(dtype=np.int64)] = True
            self.tokens[name] = self.tokens.get(name, np.zeros(self.n, bool)) | mask
        if old_reasons is not None and len(old_reasons):
            for name, part in old_reasons.groupby("token"):  # per distinct token
                if name in self.reasons:      # recomputed here: the new reason stands
                    continue
                text = np.full(self.n, "", dtype=object)
                text[part["row"].to_numpy(np.int64)] = part["reason"].to_numpy(dtype=object)
                self.reasons[name] = text
        joined = np.full(self.n, "", dtype=object)
        evid = np.full(self.n, "", dtype=object)
        for name in sorted(self.tokens):  # a few dozen token kinds, each over its own rows
            # Only the rows holding the token are touched (texts are joined element by
            # element, so whole-array joins cost ~0.4 s on a crowded 35k-event run).
            rows = np.flatnonzero(self.tokens[name])
            if rows.size == 0:
                continue
            j = joined[rows]
            joined[rows] = np.where(j != "", j + (_SEP + name), name)
            r = self.reasons.get(name)
            if r is None:
                continue
            r = r[rows]
            rows = rows[r != ""]
            if rows.size == 0:
                continue
            item = f'"{name}": ' + r[r != ""]
            e = evid[rows]
            evid[rows] = np.where(e != "", e + ", " + item, item)
        out = out.copy()
        out["flags"] = pd.Series(joined, dtype=object).str.findall(f"[^{_SEP}]+").to_numpy(
            dtype=object)
        out["evidence"] = pd.Series("{" + evid + "}", dtype=object, index=out.index)
        return out


#: Events whose evidence is parsed (and whose reasons are written) at once: a chunk's text
#: and objects stay in the CPU caches (all events at once were 1.3-2x as slow from 20,000
#: events on).
_CHUNK = 256


def _first_json_error(texts: np.ndarray) -> None:
    """Raise what ``json.loads`` raises on the first text that is not JSON, if any."""
    _, ok = loads_each(texts)
    if not ok.all():
        json.loads(texts[np.flatnonzero(~ok)[0]])
        raise AssertionError("the evidence does not parse together, but each text does")


def _evidence_items(events: pd.DataFrame, as_text: bool) -> tuple[np.ndarray, list, list]:
    """(row, token, reason) of each item of the ``evidence`` objects, in event order then
    token order; the reasons as parsed, or as ``json.dumps(reason, ensure_ascii=False)``
    (``as_text``).

    The events are parsed a chunk at a time, each chunk by one ``json.loads`` of its texts as
    one JSON array, and its reasons written by one ``json.dumps``
    (:func:`stsdetect._json.parse_texts`, :func:`stsdetect._json.dumps_each`). An event whose
    evidence is not a str, or is empty, has none. Raises what ``json.loads`` of each event's
    text, then ``.items()`` of what it gives, raise on the first event that fails (as when
    each event was parsed in turn).
    """
    text = events["evidence"].to_numpy(dtype=object)
    at = np.flatnonzero(is_instance(text, str))
    at = at[text[at] != ""]
    texts = text[at]
    counts, tokens, reasons = [np.zeros(0, dtype=np.int64)], [], []
    for lo in range(0, texts.size, _CHUNK):  # chunks of events
        chunk = texts[lo:lo + _CHUNK]
        parsed = parse_texts(chunk)
        if parsed is None:  # some text is not JSON: the error of the first one
            _first_json_error(chunk)
        items, mark = parsed
        objs = items[0::2]
        is_obj = is_instance(object_array(objs), dict)
        if not is_obj.all():  # JSON, not an object: the error its .items() gave
            _first_json_error(texts[lo + _CHUNK:])  # (a text not JSON after it first)
            bad = np.flatnonzero(~is_obj)[0]
            raise AttributeError(f"{type(objs[bad]).__name__!r} object has no attribute "
                                 f"'items' (the evidence of row {at[lo + bad]} is not a JSON "
                                 "object)")
        n, keys, values = object_items(objs)
        counts.append(n)
        tokens += keys
        if as_text and values:
            spaced = [mark] * (2 * len(values) - 1)
            spaced[0::2] = values
            values = dumps_each(spaced, mark, len(values), ensure_ascii=False).tolist()
        reasons += values
    return np.repeat(at.astype(np.int64), np.concatenate(counts)), tokens, reasons


def _evidence_long(events: pd.DataFrame) -> pd.DataFrame:
    """(row, token, reason JSON text) of an ``evidence`` column, in event order then token
    order: each reason as ``json.dumps(reason, ensure_ascii=False)`` (:func:`_evidence_items`)."""
    rows, tokens, reasons = _evidence_items(events, as_text=True)
    return pd.DataFrame({"row": rows, "token": tokens, "reason": reasons})


def evidence_table(events: pd.DataFrame) -> pd.DataFrame:
    """The ``evidence`` column as a long table: one row per event, token and reason.

    Parameters
    ----------
    events : pandas.DataFrame
        A flagged events table (with ``event_id`` and ``evidence``).

    Returns
    -------
    pandas.DataFrame
        ``event_id``, ``token`` and ``reason`` (a dict, or a list of dicts when several
        reasons hold), in event order then token order.

    Notes
    -----
    The evidence is parsed a chunk of events at a time, by one ``json.loads`` of their texts
    as the items of one JSON array; the reasons are the values parsed.
    """
    if "evidence" not in events.columns or not len(events):
        return pd.DataFrame({"event_id": pd.Series([], dtype=object),
                             "token": pd.Series([], dtype=object),
                             "reason": pd.Series([], dtype=object)})
    rows, tokens, reasons = _evidence_items(events, as_text=False)
    ids = events["event_id"].to_numpy(dtype=object)
    return pd.DataFrame({"event_id": ids[rows],
                         "token": object_array(tokens),
                         "reason": reasons})


def add_flag(events: pd.DataFrame, token: str, mask, reason=None, weights=None,
             region_names=None) -> pd.DataFrame:
    """Set one more token, with its reason, on an already flagged events table and re-score.

    For stages that run after :func:`flag_events`; stages inside it use :class:`Evidence`.

    Parameters
    ----------
    events : pandas.DataFrame
        A flagged events table.
    token : str
    mask : array_like of bool
        Rows that get the token.
    reason : str or array_like of str, optional
        JSON text per row (see :meth:`Evidence.add`).
    weights, region_names : optional
        As for :func:`score_events`.

    Returns
    -------
    pandas.DataFrame
        A new table with ``flags``, ``evidence`` and ``score`` updated.
    """
    out = events.reset_index(drop=True)
    ev = Evidence(out)
    ev.add(token, mask, reason)
    return score_events(ev.finish(out), weights, region_names)


def _rules_json(reasons: pd.Series) -> np.ndarray:
    """The rules of each barge reason (``"rule; rule; ..."``) as a JSON array of strings,
    each rule quoted as it is (rules are fixed words and numbers): one replace of the
    separator over the whole column (a split and a join per vessel before)."""
    text = '["' + reasons.astype(str).str.replace("; ", '", "', regex=False) + '"]'
    return text.to_numpy(dtype=object)


def _vessel_reason(mmsi: np.ndarray, **fields) -> np.ndarray:
    return json_objects({"vessel": np.asarray(mmsi, np.int64), **fields})


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
    tows: pd.DataFrame | None = None,
    statics: pd.DataFrame | None = None,
    activity: pd.DataFrame | None = None,
    evidence: Evidence | None = None,
) -> pd.DataFrame:
    """Add identity, region and darkness flags, their evidence and the identity columns.

    Parameters
    ----------
    events : pandas.DataFrame
        Events table (:data:`stsdetect.events.EVENT_COLUMNS`), any mix of types.
    vessels : pandas.DataFrame, optional
        Vessels table from :func:`stsdetect.read_ais`; needed for watch-list matching by
        name / IMO / call sign, for the static-data barge rules, the static-data identity
        anomalies and the identity columns. Without it those rules see only MMSIs.
    tracks : stsdetect.tracks.Tracks, optional
        Gives the ``two_places_at_once`` anomaly, listening spans and sea speeds of the barge
        rules, and the handover link (:func:`stsdetect.identity.links.identity_links`).
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
    tows : pandas.DataFrame, optional
        The tow detector's table (:func:`stsdetect.detectors.tows.find_tows`): ``towed_by``
        barge evidence. Flags consume tables only; no pair search runs here.
    statics : pandas.DataFrame, optional
        Statics history (``AISData.statics``): one row per static report, for the identity
        links over time (several IMOs or names under one MMSI).
    activity : pandas.DataFrame, optional
        Each vessel's first and last report, time at sea speed and listening span
        (:func:`stsdetect.identity.activity.vessel_activity`), for the barge rules and the
        handover link; computed once from ``tracks`` and ``positions`` when None (a windowed
        run passes the one merged over its windows).
    evidence : Evidence, optional
        Tokens and reasons an earlier stage gathered for these same rows (the context stage:
        :func:`stsdetect.context.add_context` with ``evidence=``); they are written together
        with this function's own, in one pass. Without it, the tokens and reasons already in
        the ``flags`` and ``evidence`` columns are kept (read back from their JSON).

    Returns
    -------
    pandas.DataFrame
        A new events table, same rows in the same order (index reset), with ``flags``
        (sorted unique tokens; earlier tokens kept), ``score`` filled, then the appended
        columns ``evidence`` (JSON text: token -> reason, see :class:`Evidence`) and the
        identity columns of both participants
        (:data:`stsdetect.identity.columns.IDENTITY_COLUMNS` and their ``other_`` twins).

    Raises
    ------
    ValueError
        If ``events`` lacks event columns or a weight is not a finite number.
    """
    from stsdetect.geo import duration_s
    from stsdetect.identity.barges import class_b_mmsi, classify_barges
    from stsdetect.identity.columns import add_identity_columns
    from stsdetect.identity.links import identity_anomalies, identity_links
    from stsdetect.identity.mid import DPRK_MID, mid_of
    from stsdetect.identity.watchlist import _as_watchlist, watchlist_hits
    from stsdetect.regions import _region_table, region_mask

    _check_events(events)
    window_s = duration_s(before_after_s, numbers_in_seconds=True)
    _resolve_weights(weights)  # fail early on bad weights
    out = events.copy().reset_index(drop=True)
    n = len(out)
    region_frame = _region_table(regions) if not (isinstance(regions, (list, tuple))
                                                 and len(regions) == 0) else None
    region_names = [] if region_frame is None else list(region_frame["name"])
    if evidence is not None and evidence.n != n:
        raise ValueError(f"evidence gathered for {evidence.n} rows, events have {n}")
    ev = evidence if evidence is not None else Evidence(out)
    if n == 0:
        out = ev.finish(out)
        out = add_identity_columns(out, vessels, positions)
        return score_events(out, weights, region_names)

    # participants: one row per (event row, mmsi)
    mmsi_a = pd.to_numeric(out["mmsi"], errors="coerce").astype("Int64")
    mmsi_b = pd.to_numeric(out["other_mmsi"], errors="coerce").astype("Int64")
    rows = np.concatenate([np.arange(n), np.arange(n)])
    part = pd.concat([mmsi_a, mmsi_b], ignore_index=True)
    no_vessel = (out["event_type"] == "dark_vessel").to_numpy()
    have = part.notna().to_numpy() & ~np.concatenate([no_vessel, no_vessel])
    p_row = rows[have]
    p_mmsi = part[have].to_numpy(dtype=np.int64)
    uniq = np.unique(p_mmsi)

    # DPRK by MID
    dprk_mid = uniq[mid_of(uniq) == DPRK_MID]
    ev.add_vessels("dprk", dprk_mid, _vessel_reason(dprk_mid, rule="mid", mid=np.full(
        dprk_mid.size, DPRK_MID)))
    hits = None
    if watchlist is not None:
        w = _as_watchlist(watchlist)
        hits = watchlist_hits(vessels, w, mmsi=uniq, statics=statics)
        hits = hits[hits["mmsi"].isin(uniq)]
        exact = hits[hits["rule"] == "exact"]
        near = hits[hits["rule"] != "exact"]
        for token, part_hits, cols in (
                ("watchlist", exact, ["entry", "entry_name", "field", "listed", "broadcast"]),
                ("watchlist_similar", near, ["entry", "entry_name", "field", "listed",
                                             "broadcast", "rule", "similarity"])):
            if not len(part_hits):
                continue
            text = _vessel_reason(part_hits["mmsi"].to_numpy(), **{
                c: part_hits[c].reset_index(drop=True) for c in cols})
            mmsi, joined = grouped_arrays(text, part_hits["mmsi"].to_numpy(), single_bare=True)
            ev.add_vessels(token, mmsi.astype(np.int64), joined)
        # dprk: a match with an entry whose flag is the DPRK
        kp = exact[exact["entry_flag_iso"] == "KP"].drop_duplicates("mmsi")
        ev.add_vessels("dprk", kp["mmsi"].to_numpy(), _vessel_reason(
            kp["mmsi"].to_numpy(), rule="watchlist_flag",
            entry=kp["entry"].reset_index(drop=True),
            entry_name=kp["entry_name"].reset_index(drop=True),
            flag=kp["entry_flag"].reset_index(drop=True)))

    if activity is None:
        from stsdetect.identity.activity import vessel_activity

        activity = vessel_activity(tracks, positions)
    # the MMSIs heard in Class B reports: one pass over the positions, for the barge rules
    # and the identity columns
    class_b = class_b_mmsi(positions)
    barges = classify_barges(vessels, tracks=tracks, positions=positions, mmsi=uniq, tows=tows,
                             activity=activity, mmsi_only=True, class_b=class_b)
    barges = barges[barges["mmsi"].isin(uniq)]
    for token, strength in (("barge", "strong"), ("barge_weak", "weak")):
        b = barges[barges["strength"] == strength]
        ev.add_vessels(token, b["mmsi"].to_numpy(), json_objects({
            "vessel": b["mmsi"].to_numpy(np.int64), "strength": strength,
            "rules": _rules_json(b["reason"])}, raw=("rules",)))

    anomalies = identity_anomalies(vessels, tracks=tracks, mmsi=uniq)
    anomalies = anomalies[anomalies["mmsi"].isin(uniq)]
    if len(anomalies):
        found = json_arrays('"' + anomalies["reason"].astype(str) + '"',
                            anomalies["mmsi"].to_numpy())
        ev.add_vessels("identity_anomaly", found.index.to_numpy(np.int64), json_objects(
            {"vessel": found.index.to_numpy(np.int64),
             "anomalies": found.to_numpy(dtype=object)}, raw=("anomalies",)))

    links = identity_links(vessels, statics=statics, tracks=tracks, hits=hits, mmsi=uniq,
                           activity=activity)
    links = links[links["mmsi"].isin(uniq)]
    for token, part_links in links.groupby("token"):  # a handful of link kinds
        ev.add_vessels(token, part_links["mmsi"].to_numpy(np.int64),
                       part_links["evidence"].to_numpy(dtype=object))

    if region_frame is not None and len(region_frame):
        lat = pd.to_numeric(out["lat"], errors="coerce").to_numpy(dtype=float)
        lon = pd.to_numeric(out["lon"], errors="coerce").to_numpy(dtype=float)
        mask = region_mask(lat, lon, region_frame)
        end_mask = np.zeros_like(mask)
        elat = elon = np.full(n, np.nan)
        if {"end_lat", "end_lon"} <= set(out.columns):
            is_dark = out["event_type"].isin(["dark_period", "dark_rendezvous"]).to_numpy()
            elat = pd.to_numeric(out["end_lat"], errors="coerce").to_numpy(dtype=float)
            elon = pd.to_numeric(out["end_lon"], errors="coerce").to_numpy(dtype=float)
            elat = np.where(is_dark, elat, np.nan)
            end_mask = region_mask(elat, elon, region_frame)
        at_start = json_where(mask.any(axis=1), at="position", lat=lat, lon=lon)
        at_end = json_where(end_mask.any(axis=1), at="reappeared", lat=elat, lon=elon)
        for j, name in enumerate(region_names):  # loop over regions (few)
            ev.add(name, mask[:, j], np.where(mask[:, j], at_start, ""))
            ev.add(name, end_mask[:, j], np.where(end_mask[:, j], at_end, ""))

    dark = dark_periods if dark_periods is not None else out
    dark = dark[dark["event_type"] == "dark_period"].reset_index(drop=True) if len(dark) \
        else dark
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
        n_before, last_before = _count_in_window(d_mmsi, d_end, p_mmsi, s - window_s, s,
                                                 which="last")
        n_after, first_after = _count_in_window(d_mmsi, d_start, p_mmsi, e, e + window_s,
                                                which="first")
        before = n_before - own > 0
        after = n_after - own > 0
        ids = dark["event_id"].to_numpy(dtype=object)
        for token, hit, k, gap in (
                ("dark_before", before, last_before, s - d_end[np.maximum(last_before, 0)]),
                ("dark_after", after, first_after, d_start[np.maximum(first_after, 0)] - e)):
            k = np.maximum(k, 0)
            text = json_where(
                hit, vessel=p_mmsi, dark_event_id=ids[k] if len(ids) else "",
                dark_start=dark["start"].to_numpy()[k], dark_end=dark["end"].to_numpy()[k],
                hours_apart=gap / 3600.0)
            sides = []
            is_a = np.arange(p_row.size) < int(have[:n].sum())
            for side in (is_a, ~is_a):  # the vessel, then its partner
                mask = np.zeros(n, dtype=bool)
                reason = np.full(n, "", dtype=object)
                mask[p_row[hit & side]] = True
                reason[p_row[hit & side]] = text[hit & side]
                sides += [mask, reason]
            ev.add_participants(token, *sides)

    if "likely_intentional" in out.columns:
        li = out["likely_intentional"].astype("boolean").fillna(False).to_numpy(dtype=bool)
        heard = out["n_other_heard"] if "n_other_heard" in out.columns else pd.Series(
            [pd.NA] * n, dtype="Int64")
        ev.add("likely_intentional", li, json_objects({
            "vessel": out["mmsi"].to_numpy(np.int64),
            "n_other_heard": heard.astype("Int64").reset_index(drop=True)}))

    out = ev.finish(out)
    out = add_identity_columns(out, vessels, positions, class_b=class_b)
    return score_events(out, weights, region_names)
