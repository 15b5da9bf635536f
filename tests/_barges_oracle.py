"""classify_barges as it was before its barge words and activity look-up ran on plain arrays
(five pandas str.contains calls, a frame reindexed): the oracle of tests/test_identity.py.
The rest of it, unchanged since, is the library's own (imported)."""

from __future__ import annotations

import numpy as np
import pandas as pd

from stsdetect.identity.barges import (
    BARGE_NAME_WORDS,
    _barge_mmsi,
    _barge_rules,
    _heard_span_s,
    _name_text,
    _static_frame,
)


def classify_barges(vessels: pd.DataFrame | None, tracks=None, positions=None, mmsi=None,
                    tows: pd.DataFrame | None = None,
                    activity: pd.DataFrame | None = None,
                    mmsi_only: bool = False, class_b=None) -> pd.DataFrame:
    """:func:`stsdetect.identity.barges.classify_barges` (same parameters and result) with
    the old activity lookup and barge words."""
    # the MMSIs, the static columns and the rules as the library has them: only the
    # activity lookup (a reindexed frame) and the barge words (str.contains and a where per
    # word) are the old route here
    all_mmsi, activity = _barge_mmsi(vessels, tracks, positions, mmsi, activity, mmsi_only)
    act = pd.DataFrame({"heard_s": _heard_span_s(activity), "sea_s": activity["sea_s"]
                        .to_numpy(float)}, index=activity["mmsi"].to_numpy(np.int64))
    act = act[~act.index.duplicated()].reindex(all_mmsi)
    s = _static_frame(vessels, all_mmsi)
    name_text = _name_text(s)
    name_word = pd.Series("", index=s.index, dtype=object)
    for word in BARGE_NAME_WORDS[::-1]:  # fixed, five words: first listed wins
        hit = name_text.str.contains(rf"\b{word}\b", regex=True, na=False).to_numpy()
        name_word = name_word.where(~hit, word)
    name_word = name_word.to_numpy(dtype=object)

    return _barge_rules(s, all_mmsi, name_word, act["heard_s"].to_numpy(dtype=float),
                        act["sea_s"].to_numpy(dtype=float), vessels is not None, positions,
                        class_b, tows)
