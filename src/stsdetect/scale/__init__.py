"""Scaling out: the engine (one windowed driver, a registry of stages, carried state).

:mod:`stsdetect.scale.engine` is the driver, :mod:`stsdetect.scale.registry` the stages,
:mod:`stsdetect.scale.carry` their windowed forms and :mod:`stsdetect.scale.windows` the
out-of-core run on one machine (:func:`detect_windowed`). The distributed version, over Dask,
is :mod:`stsdetect.dask` (the ``[dask]`` extra). Names load on first use, so that importing
this package costs nothing.
"""

from __future__ import annotations

from stsdetect._lazy import lazy_exports

_EXPORTS = {
    "DEFAULT_WINDOW": "stsdetect.scale.windows",
    "WindowPlan": "stsdetect.scale.windows",
    "WindowedResult": "stsdetect.scale.windows",
    "detect_windowed": "stsdetect.scale.windows",
    "make_plan": "stsdetect.scale.windows",
}

__all__ = sorted(_EXPORTS)


__getattr__, __dir__ = lazy_exports(__name__, _EXPORTS, globals(), __all__)
