"""identity_anomalies and identity_links as they were before their final tables (and the
handover join) were made on plain arrays (pandas merge, concat, drop_duplicates, sort_values,
groupby): the oracles of tests/test_identity_near.py."""

from __future__ import annotations

import numpy as np
import pandas as pd

from stsdetect._json import json_objects
from stsdetect.identity.links import (
    HANDOVER_DIM_TOLERANCE_M,
    HANDOVER_EDGE_S,
    HANDOVER_MAX_DISTANCE_M,
    HANDOVER_MAX_GAP_S,
    _as_mmsi_array,
    _bearing_on,
    _check_vessels,
    _history,
    _json_list,
    imo_valid,
    is_placeholder_mmsi,
    mmsi_kind,
)


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
    from stsdetect.geo import haversine_m
    from stsdetect.identity.mid import flag_state

    rows = [pd.DataFrame({"mmsi": np.zeros(0, np.int64), "token": np.zeros(0, object),
                          "evidence": np.zeros(0, object)})]
    h = _history(vessels, _bearing_on(statics, vessels, mmsi))

    # one IMO under several MMSIs
    hi = h[h["imo"].notna()][["imo", "mmsi"]].drop_duplicates()
    hi = hi.assign(imo=hi["imo"].astype(np.int64))
    n_mmsi = hi.groupby("imo")["mmsi"].transform("nunique")
    shared = hi[n_mmsi > 1]
    if len(shared):
        lists = _json_list(shared["mmsi"], shared["imo"])
        ev = json_objects(pd.DataFrame({"vessel": shared["mmsi"].to_numpy(np.int64),
                                 "imo": shared["imo"].to_numpy(np.int64),
                                 "mmsis": lists.reindex(shared["imo"]).to_numpy(dtype=object)}),
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
            ev = json_objects(pd.DataFrame({
                "vessel": changed, "imos": imos.fillna("[]").to_numpy(dtype=object),
                "names": names.fillna("[]").to_numpy(dtype=object),
                "first_seen": tt["min"].reset_index(drop=True),
                "last_seen": tt["max"].reset_index(drop=True)}), raw=("imos", "names"))
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
            ev = json_objects(pd.DataFrame({"vessel": vm[more], "n_names": k[more] + 1}))
            rows.append(pd.DataFrame({"mmsi": vm[more], "token": "identity_changed",
                                      "evidence": ev}))

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

    # handover: one identity falls silent, another appears nearby with the same dimensions
    if activity is None and tracks is not None and len(tracks):
        from stsdetect.identity.activity import vessel_activity

        activity = vessel_activity(tracks)
    if activity is not None:  # vessels with cleaned reports only
        activity = activity[activity["t_first_ns"].to_numpy() != -1]
    if activity is not None and len(activity) and vessels is not None and len(vessels) \
            and {"length_m", "beam_m"} <= set(vessels.columns):
        ids = activity["mmsi"].to_numpy(np.int64)
        t_first = activity["t_first_ns"].to_numpy(np.int64)
        t_last = activity["t_last_ns"].to_numpy(np.int64)
        t_lo, t_hi = t_first.min(), t_last.max()
        v = vessels.drop_duplicates("mmsi", keep="last").set_index("mmsi")
        length = pd.to_numeric(v["length_m"], errors="coerce").reindex(ids).to_numpy(float)
        beam = pd.to_numeric(v["beam_m"], errors="coerce").reindex(ids).to_numpy(float)
        dims = np.isfinite(length) & np.isfinite(beam) & (length > 0) & (beam > 0)
        edge_ns = round(HANDOVER_EDGE_S * 1e9)
        gone = pd.DataFrame({"a": ids, "ta": t_last, "lat_a": activity["lat_last"].to_numpy(),
                             "lon_a": activity["lon_last"].to_numpy(),
                             "L": np.round(length), "B": np.round(beam)})[
            dims & (t_last < t_hi - edge_ns)]
        new = pd.DataFrame({"b": ids, "tb": t_first, "lat_b": activity["lat_first"].to_numpy(),
                            "lon_b": activity["lon_first"].to_numpy(), "L": np.round(length),
                            "B": np.round(beam)})[dims & (t_first > t_lo + edge_ns)]
        tol = int(np.ceil(HANDOVER_DIM_TOLERANCE_M))
        # the appearing vessels once per shift of their dimensions (9 shifts, shift-major),
        # made with array tiling rather than 9 frames concatenated
        shifts = np.arange(-tol, tol + 1)
        n_shift = shifts.size * shifts.size
        shifted = pd.DataFrame({c: np.tile(new[c].to_numpy(), n_shift) for c in new.columns})
        shifted["L"] += np.repeat(np.repeat(shifts, shifts.size), len(new))
        shifted["B"] += np.repeat(np.tile(shifts, shifts.size), len(new))
        pairs = gone.merge(shifted, on=["L", "B"])
        gap = pairs["tb"] - pairs["ta"]
        pairs = pairs[(pairs["a"] != pairs["b"]) & (gap > 0) & (gap <= round(max_gap_s * 1e9))]
        if len(pairs):
            dist = haversine_m(pairs["lat_a"].to_numpy(), pairs["lon_a"].to_numpy(),
                               pairs["lat_b"].to_numpy(), pairs["lon_b"].to_numpy())
            pairs = pairs[dist <= max_distance_m].assign(dist=dist[dist <= max_distance_m])
        if len(pairs):
            from stsdetect.geo import utc_from_ns

            base = pd.DataFrame({
                "silent_at": utc_from_ns(pairs["ta"].to_numpy(np.int64)),
                "appeared_at": utc_from_ns(pairs["tb"].to_numpy(np.int64)),
                "gap_h": ((pairs["tb"] - pairs["ta"]) / 3.6e12).to_numpy(),
                "distance_km": (pairs["dist"] / 1000.0).to_numpy(),
                "length_m": pairs["L"].to_numpy(), "beam_m": pairs["B"].to_numpy()})
            for role, me, other in (("fell_silent", "a", "b"), ("appeared", "b", "a")):
                frame = pd.concat([pd.DataFrame({
                    "vessel": pairs[me].to_numpy(np.int64), "role": role,
                    "other": pairs[other].to_numpy(np.int64)}), base], axis=1)
                rows.append(pd.DataFrame({"mmsi": pairs[me].to_numpy(np.int64),
                                          "token": "handover", "evidence": json_objects(frame)}))

    out = pd.concat(rows, ignore_index=True)
    out["mmsi"] = out["mmsi"].astype(np.int64)
    if mmsi is not None:
        out = out[out["mmsi"].isin(_as_mmsi_array(mmsi))]
    # several links of one kind for one vessel: one JSON array
    out = out.sort_values(["mmsi", "token", "evidence"], kind="stable")
    many = out.duplicated(["mmsi", "token"], keep=False).to_numpy()
    if many.any():
        grouped = out[many].groupby(["mmsi", "token"], sort=True)["evidence"].agg(
            lambda s: "[" + ", ".join(s) + "]").reset_index()   # per (vessel, link kind)
        out = pd.concat([out[~many], grouped], ignore_index=True)
    return out.sort_values(["mmsi", "token"], ignore_index=True)[["mmsi", "token", "evidence"]]


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
