"""mark_unseen_partners and unseen_partner_points as they were before they were made
column-wise (one json.loads, json.dumps and dict lookup per flagged event): the oracles of
tests/test_dark_vessels_columns.py."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd


def mark_unseen_partners(events: pd.DataFrame, partners: pd.DataFrame) -> pd.DataFrame:
    """The old per-event marking (see ``stsdetect.detectors.dark_vessels``)."""
    out = events.copy()
    if "evidence" not in out:
        out["evidence"] = pd.Series([""] * len(out), index=out.index, dtype=object)
    if not len(partners) or not len(out):
        return out
    hit = out["event_id"].isin(partners["event_id"]).to_numpy()
    records = partners.assign(
        time=pd.to_datetime(partners["time"], utc=True).dt.strftime("%Y-%m-%dT%H:%M:%SZ"),
        distance_m=partners["distance_m"].round(1), lat=partners["lat"].round(6),
        lon=partners["lon"].round(6))
    records = records.rename(columns={"mmsi": "beside_mmsi"})
    per_event = {eid: grp.drop(columns="event_id").to_dict("records")
                 for eid, grp in records.groupby("event_id", sort=False)}  # per flagged event
    rows = np.flatnonzero(hit)
    flags = out["flags"].to_numpy(dtype=object).copy()
    evidence = out["evidence"].to_numpy(dtype=object).copy()
    for r in rows.tolist():  # the flagged events only
        eid = out["event_id"].iat[r]
        flags[r] = sorted({*flags[r], "unseen_partner"})
        text = evidence[r]
        obj = json.loads(text) if isinstance(text, str) and text else {}
        obj["unseen_partner"] = {"detections": [
            {k: (int(v) if isinstance(v, np.integer) else v) for k, v in d.items()}
            for d in per_event[eid]]}
        evidence[r] = json.dumps(obj, sort_keys=True)
    out["flags"] = pd.Series(list(flags), index=out.index, dtype=object)
    out["evidence"] = pd.Series(list(evidence), index=out.index, dtype=object)
    return out


def unseen_partner_points(events: pd.DataFrame) -> pd.DataFrame:
    """The old per-event reading (see ``stsdetect.detectors.dark_vessels``)."""
    cols = ["event_id", "detection_id", "scene_id", "time", "lat", "lon", "distance_m",
            "beside_mmsi"]
    if "evidence" not in events or "flags" not in events or not len(events):
        out = pd.DataFrame({c: [] for c in cols})
        out["time"] = pd.to_datetime(out["time"], utc=True)
        return out
    flagged = events[events["flags"].map(lambda f: "unseen_partner" in list(f)
                                         if isinstance(f, (list, tuple, np.ndarray)) else False)]
    rows = []
    for eid, text in zip(flagged["event_id"], flagged["evidence"], strict=True):  # flagged
        try:
            dets = json.loads(text)["unseen_partner"]["detections"] if text else []
        except (ValueError, KeyError, TypeError):
            dets = []
        rows += [{"event_id": eid, **d} for d in dets]
    out = pd.DataFrame(rows).reindex(columns=cols)
    out["time"] = pd.to_datetime(out["time"], utc=True)
    for c in ("lat", "lon", "distance_m"):
        out[c] = pd.to_numeric(out[c], errors="coerce").astype(float)
    return out
