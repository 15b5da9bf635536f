"""Writing outputs without losing anything: atomic replacement, early path checks, safe CSV cells.

Every file stsdetect writes (events, positions, vessels, the HTML report, maps, evidence) goes
through :func:`atomic_path`: it is written to a temporary file beside its target and moved over
the target with :func:`os.replace` only once complete. A run killed or failing part-way (Ctrl-C,
SIGTERM, SIGKILL, a full disk) leaves the previous file as it was, never a truncated one that
still parses. (A SIGKILL or SIGTERM can leave the hidden temporary file
``.NAME.<pid>-<host>-<random>.tmpSUFFIX`` behind; it is never mistaken for the output, and the
next write of that output removes it once the process that wrote it is gone.)

:func:`check_outputs` checks, before any work, that no output path is an input or another
output, and that each can be written. :func:`neutralise_formulas` keeps text such as ship
names (``=HYPERLINK(...)``) from being run as spreadsheet formulas when a CSV is opened.
"""

from __future__ import annotations

import contextlib
import hashlib
import os
import re
import socket
import time
import uuid
from collections.abc import Iterable, Iterator
from pathlib import Path

import numpy as np
import pandas as pd

__all__ = ["FORMULA_TRIGGERS", "atomic_path", "check_outputs", "neutralise_formulas",
           "restore_formulas", "same_file", "write_table"]

#: First characters that make a spreadsheet (Excel, LibreOffice, Google Sheets) read a CSV
#: cell as a formula: ``=``, ``+``, ``-``, ``@`` and tab / carriage return (OWASP, "CSV
#: Injection"). A text cell starting with one gets a leading ``'``, which spreadsheets show as
#: text and :func:`restore_formulas` removes again.
FORMULA_TRIGGERS = ("=", "+", "-", "@", "\t", "\r")


#: This machine, in the names of temporary files (a hash: host names may hold any letter).
_HOST = hashlib.sha256(socket.gethostname().encode()).hexdigest()[:6]
#: A temporary file of another machine (a shared file system, whose processes this one
#: cannot see) is taken to be abandoned when it has not changed for this long (seconds).
STALE_FOREIGN_TEMPORARY_S = 86_400.0


def _process_gone(pid: int) -> bool:
    """Whether no process ``pid`` runs on this machine (signal 0 tests, sends nothing)."""
    if os.name == "nt":  # os.kill would end the process there: never guess on Windows
        return False
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return True
    except OSError:  # EPERM: it runs, as another user
        return False
    return False


def _remove_stale_temporaries(path: Path) -> None:
    """Remove the temporary files :func:`atomic_path` left beside ``path`` in runs that were
    killed (SIGKILL, SIGTERM): those of processes no longer running on this machine, and
    those of other machines untouched for :data:`STALE_FOREIGN_TEMPORARY_S`. A write in
    progress (its process alive) is never touched; nor is any file of another naming."""
    name = re.compile(rf"\.{re.escape(path.stem)}\.(\d+)-([0-9a-f]{{6}})-[0-9a-f]{{8}}"
                      rf"\.tmp{re.escape(path.suffix)}")
    prefix = f".{path.stem}."  # a cheap test first: a shared folder (/tmp) holds hundreds
    try:
        candidates = [path.parent / n for n in os.listdir(path.parent)
                      if n.startswith(prefix) and name.fullmatch(n)]
    except OSError:
        return
    for tmp in candidates:  # left-overs of killed runs: a few
        pid, host = name.fullmatch(tmp.name).groups()
        with contextlib.suppress(OSError):
            if (_process_gone(int(pid)) if host == _HOST
                    else time.time() - tmp.stat().st_mtime > STALE_FOREIGN_TEMPORARY_S):
                tmp.unlink()


@contextlib.contextmanager
def atomic_path(path) -> Iterator[Path]:
    """A temporary path beside ``path`` to write to; moved over ``path`` when the block succeeds.

    Parameters
    ----------
    path : str or os.PathLike
        The file to (re)place. Its folder is created if missing.

    Yields
    ------
    pathlib.Path
        ``.NAME.<pid>-<host>-<random>.tmpSUFFIX`` in the same folder (the same file system,
        so the final :func:`os.replace` is atomic); it keeps the target's suffix for writers
        that choose a format by it. Temporaries of ``path`` left by killed runs are removed
        first (:func:`_remove_stale_temporaries`).

    Raises
    ------
    IsADirectoryError
        ``path`` is a folder.
    PermissionError
        ``path`` exists and has no write permission bits (it was made read-only).

    Notes
    -----
    The temporary file is flushed to disk (``fsync``) before it replaces the target, and
    removed if the block raises; the target is then unchanged.
    """
    path = Path(path)
    if path.is_dir():
        raise IsADirectoryError(f"output {path} is a folder; give a file name")
    if path.exists() and not path.stat().st_mode & 0o222:
        raise PermissionError(f"output {path} is read-only; refusing to replace it")
    path.parent.mkdir(parents=True, exist_ok=True)
    _remove_stale_temporaries(path)
    tmp = path.with_name(f".{path.stem}.{os.getpid()}-{_HOST}-{uuid.uuid4().hex[:8]}"
                         f".tmp{path.suffix}")
    try:
        yield tmp
        if not tmp.exists():
            raise OSError(f"nothing was written for {path}")
        _fsync(tmp)
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(OSError):
            tmp.unlink()
        raise


def _fsync(path: Path) -> None:
    try:
        fd = os.open(path, os.O_RDONLY)
    except OSError:  # pragma: no cover - e.g. a platform without O_RDONLY on files
        return
    try:
        os.fsync(fd)
    except OSError:  # pragma: no cover - file systems without fsync
        pass
    finally:
        os.close(fd)


def same_file(a, b) -> bool:
    """Whether paths ``a`` and ``b`` name the same file (through links and relative parts)."""
    a, b = Path(a), Path(b)
    try:
        if a.exists() and b.exists():
            return os.path.samefile(a, b)
    except OSError:
        pass
    return os.path.realpath(a) == os.path.realpath(b)


def check_outputs(outputs: dict, inputs: Iterable = (), folders: Iterable = ()) -> None:
    """Refuse, before any work, outputs that would overwrite an input or each other.

    Parameters
    ----------
    outputs : dict
        ``{label: path}`` of files to be written, e.g. ``{"-o": "events.csv",
        "--vessels": "v.csv"}`` (the label names the option in the message).
    inputs : iterable of path
        Files that will be read. Non-paths (streams) are ignored.
    folders : iterable of path
        Output folders (``--each``, ``demo -o``): they must be folders or not exist yet.

    Raises
    ------
    ValueError
        An output that is an input, two outputs that are the same file, an output that is a
        folder, read-only, or in a folder that cannot be written.
    """
    inputs = [Path(os.fspath(p)) for p in inputs if isinstance(p, (str, os.PathLike))]
    seen: list = []
    for label, out in outputs.items():
        if out is None:
            continue
        out = Path(out)
        for src in inputs:
            if same_file(out, src):
                raise ValueError(f"output {out} ({label}) is also an input: refusing to "
                                 "overwrite it; choose another output path")
        for other_label, other in seen:
            if same_file(out, other):
                raise ValueError(f"outputs {label} and {other_label} are the same file {out}")
        seen.append((label, out))
        _check_writable(out, label)
    for folder in folders:
        folder = Path(folder)
        if folder.exists() and not folder.is_dir():
            raise ValueError(f"output {folder} exists and is not a folder")
        for src in inputs:
            if same_file(folder, src):
                raise ValueError(f"output folder {folder} is also an input")
        parent = _existing_parent(folder)
        if not os.access(parent, os.W_OK | os.X_OK):
            raise ValueError(f"cannot write in {parent}: permission denied")


def _existing_parent(path: Path) -> Path:
    parent = path if path.is_dir() else path.parent
    while not parent.exists() and parent != parent.parent:
        parent = parent.parent
    return parent


def _check_writable(path: Path, label: str) -> None:
    if path.is_dir():
        raise ValueError(f"output {path} ({label}) is a folder; give a file name")
    # the mode bits, not os.access: root may write anything, but a file made read-only
    # (chmod a-w) says it is not to be replaced
    if path.exists() and not (path.stat().st_mode & 0o222 and os.access(path, os.W_OK)):
        raise ValueError(f"output {path} ({label}) is read-only; refusing to replace it")
    parent = _existing_parent(path)
    if not parent.is_dir():
        raise ValueError(f"output {path} ({label}): {parent} is not a folder")
    if not os.access(parent, os.W_OK | os.X_OK):
        raise ValueError(f"output {path} ({label}): cannot write in {parent} "
                         "(permission denied)")


def _formula_cells(frame: pd.DataFrame):
    """Text columns of ``frame`` and, per cell of those, whether it starts like a formula
    after leading quotes (``hit``) and whether it starts with a quote (``quoted``): boolean
    arrays of shape (columns, rows). Every text column is looked at in one stacked pass (a
    handful of string operations in all, not a handful per column); the text columns are
    chosen from ``frame.dtypes`` (not a Series per column: the events table has 57)."""
    cols = [c for c, d in zip(frame.columns, frame.dtypes, strict=True)
            if pd.api.types.is_object_dtype(d) or pd.api.types.is_string_dtype(d)]
    n = len(frame)
    none = np.zeros((len(cols), n), dtype=bool)
    if not cols or n == 0:
        return cols, none, none
    stacked = pd.Series(np.concatenate([frame[c].to_numpy(dtype=object) for c in cols]),
                        dtype=object)
    try:  # cells that are not text (numbers, lists, missing values) give NaN: never a hit
        text = stacked.str
        hit = text.lstrip("'").str[:1].isin(FORMULA_TRIGGERS).to_numpy(dtype=bool)
        quoted = (text[:1] == "'").to_numpy(dtype=bool)
    except AttributeError:  # no text cell at all
        return cols, none, none
    return cols, hit.reshape(len(cols), n), quoted.reshape(len(cols), n)


def neutralise_formulas(frame: pd.DataFrame) -> pd.DataFrame:
    """A copy of ``frame`` whose text cells cannot be read as spreadsheet formulas.

    A text cell that starts with one of :data:`FORMULA_TRIGGERS`, possibly after leading
    ``'`` characters, gets one more ``'`` in front. Numbers, times and missing values are
    untouched. :func:`restore_formulas` undoes it exactly.

    Parameters
    ----------
    frame : pandas.DataFrame

    Returns
    -------
    pandas.DataFrame
    """
    out = frame.copy()
    cols, hit, _ = _formula_cells(out)
    for k in np.flatnonzero(hit.any(axis=1)):  # a loop over the (rare) columns with hits
        col = cols[k]
        out[col] = _edit(out[col], hit[k], lambda v: "'" + v)
    return out


def restore_formulas(frame: pd.DataFrame) -> pd.DataFrame:
    """Undo :func:`neutralise_formulas`: in place on ``frame``'s text columns, and returned."""
    cols, hit, quoted = _formula_cells(frame)
    hit = hit & quoted
    for k in np.flatnonzero(hit.any(axis=1)):  # a loop over the (rare) columns with hits
        col = cols[k]
        frame[col] = _edit(frame[col], hit[k], lambda v: v[1:])
    return frame


def _edit(s: pd.Series, rows: np.ndarray, change) -> pd.Series:
    """``s`` with ``change`` applied to the cells ``rows`` (a loop over those cells only:
    cells starting like formulas are rare), keeping its dtype and missing values."""
    values = s.to_numpy(dtype=object, copy=True)
    values[rows] = [change(v) for v in values[rows]]
    return pd.Series(values, index=s.index, dtype=s.dtype, name=s.name)


def write_table(frame: pd.DataFrame, path, **csv_options) -> Path:
    """Write a table atomically as CSV (text cells neutralised) or Parquet, by its suffix.

    Parameters
    ----------
    frame : pandas.DataFrame
    path : str or os.PathLike
        ``.csv`` or ``.parquet``.
    **csv_options
        Passed to :meth:`pandas.DataFrame.to_csv` (``index=False`` always).

    Returns
    -------
    pathlib.Path
    """
    path = Path(path)
    suffix = path.suffix.lower()
    if suffix not in (".csv", ".parquet"):
        raise ValueError(f"unknown table format {suffix!r}: use .csv or .parquet")
    with atomic_path(path) as tmp:
        if suffix == ".parquet":
            frame.to_parquet(tmp, index=False)
        else:
            neutralise_formulas(frame).to_csv(tmp, index=False, **csv_options)
    return path
