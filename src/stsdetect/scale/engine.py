"""The one driver: stages of the registry run over time windows by an executor.

::

    sources --decode--> positions, partitioned by window (pyarrow.dataset, hive "w=<k>")
            --map (executor: in-process or Dask client.map), one task per window-->
              window k: load [core - margin, core + margin), build tracks, each stage's
              ``carry.map`` -> small tables of pieces
            --fold (client, in window order): pieces + carried state -> closed events,
              open runs carried on (pairs alongside, silences, loitering)
            --post stages (dark rendezvous) and flags, once, on the merged events

:func:`stsdetect.detect` is the case of one window holding all the data: every stage's
whole-data form runs once (:func:`run_stages`), nothing is carried. The windowed and Dask runs
(:func:`stsdetect.scale.detect_windowed`, :func:`stsdetect.dask.detect`) run the same stages
through :func:`run_windows` with an in-process or a Dask executor, and give the same events.
"""

from __future__ import annotations

import pandas as pd

from stsdetect.events import concat_events, empty_events
from stsdetect.scale.registry import STAGES, StageInputs

__all__ = ["run_stages"]


def run_stages(inputs: StageInputs, run: tuple, params: dict, advance=None) -> dict:
    """Run the registry's stages on one window that holds all the data.

    Parameters
    ----------
    inputs : StageInputs
        Tracks, positions, vessels; ``tables`` is filled with each stage's output.
    run : tuple of str
        Stage names to run (see :func:`stsdetect.scale.registry.select`), in registry order.
    params : dict
        Stage name -> parameter object (:func:`stsdetect.params.stage_params`).
    advance : callable, optional
        Called with each stage name when it is done (progress).

    Returns
    -------
    dict
        Stage name -> its table.
    """
    for name, stage in STAGES.items():  # loop over stages (a handful)
        if name not in run:
            continue
        out = stage.run(inputs, params[name])
        inputs.tables[name] = out if out is not None else empty_events()
        if advance is not None:
            advance(name)
    return inputs.tables


def merge_events(tables: dict, emit: tuple) -> pd.DataFrame:
    """The events of the emitted stages, as one table sorted by start."""
    chosen = [tables[n] for n in emit if n in tables and STAGES[n].event_type is not None]
    return concat_events(chosen) if chosen else empty_events()
