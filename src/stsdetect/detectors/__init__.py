"""Detectors: each a function ``Tracks (+ params) -> events table``.

The whole pipeline is :func:`stsdetect.detect`; this subpackage holds the single detectors it
runs (named ``detectors`` so that it never shadows that function).
"""

from __future__ import annotations

import importlib

_EXPORTS = {
    "find_rendezvous": "stsdetect.detectors.rendezvous",
    "find_pair_runs": "stsdetect.detectors.rendezvous",
    "find_dark_periods": "stsdetect.detectors.dark",
    "find_dark_rendezvous": "stsdetect.detectors.dark",
    "find_loitering": "stsdetect.detectors.loitering",
    "find_tows": "stsdetect.detectors.tows",
}

__all__ = sorted(_EXPORTS)


def __getattr__(name: str):
    module = _EXPORTS.get(name)
    if module is None:
        raise AttributeError(f"module 'stsdetect.detectors' has no attribute {name!r}")
    value = getattr(importlib.import_module(module), name)
    globals()[name] = value
    return value
