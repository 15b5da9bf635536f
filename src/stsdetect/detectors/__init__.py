"""Detectors: each a function ``Tracks (+ params) -> events table``.

This subpackage shares its name with the top-level :func:`stsdetect.detect` (the whole
pipeline). Importing any detector module rebinds the attribute ``stsdetect.detect`` to this
subpackage, so the subpackage is itself callable and forwards to
:func:`stsdetect.pipeline.detect`: ``stsdetect.detect(dump)`` keeps working after the first call.
"""

from __future__ import annotations

import importlib
import sys
import types

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


class _PipelineModule(types.ModuleType):
    """This module, callable as :func:`stsdetect.pipeline.detect`."""

    def __call__(self, *args, **kwargs):
        from stsdetect.pipeline import detect

        return detect(*args, **kwargs)


sys.modules[__name__].__class__ = _PipelineModule
