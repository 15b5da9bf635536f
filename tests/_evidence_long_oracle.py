"""``_evidence_long`` and ``evidence_table`` of stsdetect.flags as they were before they were
made column-wise (one json.loads per event, one json.dumps and one json.loads per token): the
oracles of tests/test_flags_evidence_columns.py."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd


def evidence_long(events: pd.DataFrame) -> pd.DataFrame:
    """The old per-event ``stsdetect.flags._evidence_long``."""
    text = events["evidence"].astype(object).where(events["evidence"].notna(), "{}")
    parsed = [json.loads(t) if isinstance(t, str) and t else {} for t in text]  # per event
    rows, toks, reasons = [], [], []
    for i, obj in enumerate(parsed):  # per event
        for k, v in obj.items():
            rows.append(i)
            toks.append(k)
            reasons.append(json.dumps(v, ensure_ascii=False))
    return pd.DataFrame({"row": np.asarray(rows, np.int64), "token": toks, "reason": reasons})


def evidence_table(events: pd.DataFrame) -> pd.DataFrame:
    """The old per-token ``stsdetect.flags.evidence_table``."""
    if "evidence" not in events.columns or not len(events):
        return pd.DataFrame({"event_id": pd.Series([], dtype=object),
                             "token": pd.Series([], dtype=object),
                             "reason": pd.Series([], dtype=object)})
    long = evidence_long(events.reset_index(drop=True))
    ids = events["event_id"].to_numpy(dtype=object)
    return pd.DataFrame({"event_id": ids[long["row"].to_numpy(np.int64)],
                         "token": long["token"].to_numpy(dtype=object),
                         "reason": [json.loads(r) for r in long["reason"]]})
