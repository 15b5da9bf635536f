"""Detectors: each a function ``Tracks (+ params) -> events table``.

The whole pipeline is :func:`stsdetect.detect`; this subpackage holds the single detectors it
runs (named ``detectors`` so that it never shadows that function).
"""

from __future__ import annotations

from stsdetect._lazy import lazy_exports

_EXPORTS = {
    "find_rendezvous": "stsdetect.detectors.rendezvous",
    "find_pair_runs": "stsdetect.detectors.rendezvous",
    "find_dark_periods": "stsdetect.detectors.dark",
    "find_dark_rendezvous": "stsdetect.detectors.dark",
    "find_loitering": "stsdetect.detectors.loitering",
    "find_tows": "stsdetect.detectors.tows",
}

__all__ = sorted(_EXPORTS)


__getattr__, _ = lazy_exports(__name__, _EXPORTS, globals(), __all__)
