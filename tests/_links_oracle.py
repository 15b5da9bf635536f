"""identity_anomalies and identity_links as they were before their final tables (and the
handover join) were made on plain arrays (pandas merge, concat, drop_duplicates, sort_values,
groupby): the oracles of tests/test_identity_near.py. The links of the statics history and
the watch list, unchanged since, are the library's own (imported)."""

from __future__ import annotations

import numpy as np
import pandas as pd

from stsdetect.identity.links import (
    HANDOVER_DIM_TOLERANCE_M,
    HANDOVER_EDGE_S,
    HANDOVER_MAX_DISTANCE_M,
    HANDOVER_MAX_GAP_S,
    _as_mmsi_array,
    _check_vessels,
    _handover_activity,
    _handover_rows,
    _record_links,
    imo_valid,
    is_placeholder_mmsi,
    mmsi_kind,
)


def identity_links(vessels: pd.DataFrame | None = None, statics: pd.DataFrame | None = None,
                   tracks=None, hits: pd.DataFrame | None = None, mmsi=None,
                   max_gap_s: float = HANDOVER_MAX_GAP_S,
                   max_distance_m: float = HANDOVER_MAX_DISTANCE_M,
                   activity: pd.DataFrame | None = None) -> pd.DataFrame:
    """:func:`stsdetect.identity.links.identity_links` (same parameters and result) with
    the old handover join and final table."""

    # the history's and the watch list's links as the library makes them: only the handover
    # join and the final table are the old route here
    rows = _record_links(statics, vessels, hits, mmsi)
    # handover: one identity falls silent, another appears nearby with the same dimensions
    activity = _handover_activity(activity, tracks, vessels)
    if activity is not None:
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
            rows += _handover_rows(pairs, max_distance_m)

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
    """:func:`stsdetect.identity.links.identity_anomalies` (same parameters and result)
    with the old final table."""
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
