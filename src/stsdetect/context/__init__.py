"""Where ships ordinarily wait: anchorages, berths, crowds, and the context of every event.

::

    find_stops(tracks)                    -> stops: where and when each vessel lay stationary
    find_anchorages(tracks)               -> anchorages and berths learned from the stops
    load_ports(path or GeoDataFrame)      -> user-supplied port / anchorage polygons
    write_anchorages / read_anchorages    -> save the areas, reuse them on the next dump
    add_context(events, ...)              -> context columns and tokens on every event
    StatusIndex(positions)                -> navigational statuses indexed once, read by both

The context stage knows nothing of identities: it reads tracks, positions (navigational
status) and the statics history (draught, destination), and writes columns, tokens and their
reasons that :mod:`stsdetect.flags` scores.
"""

from __future__ import annotations

from stsdetect.context.anchorages import (
    ANCHORAGE_COLUMNS,
    ANCHORAGE_KINDS,
    auto_thresholds,
    find_anchorages,
    load_ports,
    read_anchorages,
    write_anchorages,
)
from stsdetect.context.columns import (
    CONTEXT_COLUMNS,
    CONTEXT_TOKENS,
    ORDINARY_TOKENS,
    StatusIndex,
    add_context,
)
from stsdetect.context.stops import STOP_COLUMNS, find_stops

__all__ = ["ANCHORAGE_COLUMNS", "ANCHORAGE_KINDS", "CONTEXT_COLUMNS", "CONTEXT_TOKENS",
           "ORDINARY_TOKENS", "STOP_COLUMNS", "StatusIndex", "add_context", "auto_thresholds",
           "find_anchorages", "find_stops", "load_ports", "read_anchorages",
           "write_anchorages"]
