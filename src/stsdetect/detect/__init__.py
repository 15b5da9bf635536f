"""Detectors: each a function ``Tracks (+ params) -> events table``."""

from __future__ import annotations

import importlib

_EXPORTS = {
    "find_rendezvous": "stsdetect.detect.rendezvous",
    "find_pair_runs": "stsdetect.detect.rendezvous",
    "find_dark_periods": "stsdetect.detect.dark",
    "find_dark_rendezvous": "stsdetect.detect.dark",
    "find_loitering": "stsdetect.detect.loitering",
}

__all__ = sorted(_EXPORTS)


def __getattr__(name: str):
    module = _EXPORTS.get(name)
    if module is None:
        raise AttributeError(f"module 'stsdetect.detect' has no attribute {name!r}")
    value = getattr(importlib.import_module(module), name)
    globals()[name] = value
    return value
