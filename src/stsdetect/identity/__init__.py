"""Who a vessel is: flag state, DPRK links, watch-lists and near matches, barges, identity links.

One module per concern; everything here works on whole arrays or tables at once.

=============================  ===================================================================
module                         concern
=============================  ===================================================================
:mod:`.mid`                    MMSI forms, Maritime Identification Digits, flag state, DPRK MID,
                               placeholder MMSIs, IMO check digits
:mod:`.watchlist`              loading watch-lists, exact matches, near matches
                               (``watchlist_similar``)
:mod:`.barges`                 barge rules with the strength of their evidence
:mod:`.links`                  identity anomalies of one MMSI, and links between identities over
                               time (shared IMO, changing IMO/name, MID against the listed flag,
                               handovers)
:mod:`.columns`                the identity columns of the events table (name, IMO, call sign,
                               ship type, flag state, AIS class, length of both participants)
=============================  ===================================================================

Tows, which the barge rules use, are found by the detector
:func:`stsdetect.detectors.tows.find_tows`.
"""

from __future__ import annotations

from stsdetect.identity.barges import (
    BARGE_ERI_TYPES,
    BARGE_MAX_BEAM_M,
    BARGE_MAX_LENGTH_M,
    BARGE_MIN_LENGTH_M,
    BARGE_NAME_WORDS,
    STATIC_INTERVAL_S,
    TUG_SHIP_TYPES,
    classify_barges,
)
from stsdetect.identity.columns import IDENTITY_COLUMNS, add_identity_columns, vessel_identity
from stsdetect.identity.links import identity_anomalies, identity_links
from stsdetect.identity.mid import (
    DPRK_MID,
    MMSI_KINDS,
    flag_state,
    imo_valid,
    is_dprk,
    is_placeholder_mmsi,
    mid_of,
    mid_table,
    mmsi_kind,
)
from stsdetect.identity.watchlist import (
    load_watchlist,
    match_watchlist,
    normalise_name,
    watchlist_hits,
)

__all__ = [
    "BARGE_ERI_TYPES",
    "BARGE_MAX_BEAM_M",
    "BARGE_MAX_LENGTH_M",
    "BARGE_MIN_LENGTH_M",
    "BARGE_NAME_WORDS",
    "DPRK_MID",
    "IDENTITY_COLUMNS",
    "MMSI_KINDS",
    "STATIC_INTERVAL_S",
    "TUG_SHIP_TYPES",
    "add_identity_columns",
    "classify_barges",
    "flag_state",
    "identity_anomalies",
    "identity_links",
    "imo_valid",
    "is_dprk",
    "is_placeholder_mmsi",
    "load_watchlist",
    "match_watchlist",
    "mid_of",
    "mid_table",
    "mmsi_kind",
    "normalise_name",
    "vessel_identity",
    "watchlist_hits",
]
