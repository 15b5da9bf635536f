"""stsdetect: find ship-to-ship transfers, dark periods and dark rendezvous in AIS data.

The stages, each a plain function over columnar data::

    read_ais(dump)            -> positions, vessels, decode report
    build_tracks(positions)   -> Tracks (sorted columns + per-segment offsets)
    find_rendezvous(tracks)   -> events table
    find_dark_periods(tracks) -> events table
    find_loitering(tracks)    -> events table
    detect(dump)              -> all of the above, flagged and scored
    write_evidence(events, ids, dumps, out) -> one evidence package per event
"""

from __future__ import annotations

from stsdetect._lazy import lazy_exports

__version__ = "0.1.0"

# Public name -> module that defines it. Imported on first use so that `import stsdetect` stays
# fast and a stage's optional dependencies load only when that stage is used.
_EXPORTS = {
    "read_ais": "stsdetect.ais",
    "build_tracks": "stsdetect.tracks",
    "Tracks": "stsdetect.tracks",
    "find_rendezvous": "stsdetect.detectors",
    "find_dark_periods": "stsdetect.detectors",
    "find_dark_rendezvous": "stsdetect.detectors",
    "find_loitering": "stsdetect.detectors",
    "detect": "stsdetect.pipeline",
    "write_events": "stsdetect.events",
    "read_events": "stsdetect.events",
    "to_geodataframe": "stsdetect.events",
    "EVENT_COLUMNS": "stsdetect.events",
    "write_evidence": "stsdetect.evidence",
    "verify_evidence": "stsdetect.evidence",
}

__all__ = [*sorted(_EXPORTS), "__version__"]


__getattr__, __dir__ = lazy_exports(__name__, _EXPORTS, globals(), __all__)
