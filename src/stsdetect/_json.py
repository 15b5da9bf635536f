"""JSON text of table columns, built column by column over whole arrays.

The evidence of every flag (:mod:`stsdetect.flags`), the context reasons
(:mod:`stsdetect.context`) and the identity links' lists (:mod:`stsdetect.identity.links`) are
JSON written here, so that a text is escaped the same way wherever it appears (RFC 8259,
section 7: quote, backslash and control characters may not stand raw in a string).
"""

from __future__ import annotations

import json
import re
from itertools import chain

import numpy as np
import pandas as pd

__all__ = [
    "JSON_ESCAPES",
    "TEXT_SEP",
    "dumps_each",
    "grouped_arrays",
    "is_instance",
    "joined_texts",
    "json_arrays",
    "json_literals",
    "json_objects",
    "json_string",
    "json_where",
    "loads_each",
    "object_array",
    "object_items",
    "parse_texts",
]


#: JSON string escapes of :func:`json_literals` as one ``str.translate`` table: backslash,
#: quote, newline, carriage return and tab escaped, any other control character a space.
JSON_ESCAPES = {**{c: " " for c in range(32)}, ord("\\"): "\\\\", ord('"'): '\\"',
                 ord("\n"): "\\n", ord("\r"): "\\r", ord("\t"): "\\t"}


def json_literals(values) -> np.ndarray:
    """JSON literal text of each value of one column (vectorized by dtype)."""
    if type(values) is np.ndarray and values.ndim == 1 and values.dtype.kind in "biuf":
        return _number_literals(values)  # what the Series of it gives, without the Series
    s = values if isinstance(values, pd.Series) else pd.Series(values)
    s = s.reset_index(drop=True)
    n = len(s)
    if n == 0:
        return np.zeros(0, dtype=object)
    kind = s.dtype.kind if not isinstance(s.dtype, pd.StringDtype) else "U"
    if isinstance(s.dtype, pd.DatetimeTZDtype) or kind == "M":
        # the int64 values of a datetime column are UTC nanoseconds whatever its time zone
        # (naive ones read as UTC), as pd.to_datetime(s, utc=True) would give them
        ns = pd.DatetimeIndex(s).as_unit("ns").asi8
        text = np.char.add(np.char.add('"', np.datetime_as_string(
            ns.view("datetime64[ns]"), unit="s")), 'Z"').astype(object)
        return np.where(ns == np.iinfo(np.int64).min, "null", text).astype(object)
    if kind == "b" or isinstance(s.dtype, pd.BooleanDtype):
        b = s.astype("boolean")
        return np.where(b.isna(), "null", np.where(b.fillna(False), "true", "false")).astype(
            object)
    if kind in "iu" and isinstance(s.dtype, np.dtype):  # plain integers: no missing values
        return s.to_numpy().astype(str).astype(object)
    if isinstance(s.dtype, pd.Int64Dtype):  # nullable int64: the digits, null where missing
        text = s.to_numpy(dtype=np.int64, na_value=0).astype(str).astype(object)
        text[s.isna().to_numpy()] = "null"
        return text
    if kind in "iu" or isinstance(s.dtype, pd.core.arrays.integer.IntegerDtype):
        i = s.astype("Int64")
        return i.astype("string").fillna("null").to_numpy(dtype=object)
    if kind == "f":
        f = np.round(s.to_numpy(dtype=float), 6) + 0.0  # + 0.0: no "-0.0"
        out = f.astype(str).astype(object)
        return np.where(np.isfinite(f), out, "null").astype(object)
    if kind in "UO":  # text: when every present value is a str, escaped and quoted as is
        vals = s.to_numpy(dtype=object)
        missing = pd.isna(vals)
        present = vals[~missing]
        if pd.api.types.infer_dtype(present, skipna=False) in ("string", "empty"):
            out = np.full(n, "null", dtype=object)
            out[~missing] = json_string(present) if present.size else present
            return out
    # anything else as pandas' string dtype makes it text (str of each value)
    esc = s.astype("string").str.translate(JSON_ESCAPES)
    return ('"' + esc + '"').astype(object).fillna("null").to_numpy(dtype=object)


def _number_literals(values: np.ndarray) -> np.ndarray:
    """:func:`json_literals` of a 1-D NumPy array of booleans, integers or floats."""
    if values.size == 0:
        return np.zeros(0, dtype=object)
    kind = values.dtype.kind
    if kind == "b":
        return np.where(values, "true", "false").astype(object)
    if kind in "iu":
        return values.astype(str).astype(object)
    f = np.round(values.astype(float), 6) + 0.0  # + 0.0: no "-0.0"
    return np.where(np.isfinite(f), f.astype(str).astype(object), "null").astype(object)


#: Joins a column's texts into one string for whole-column text operations: a Unicode
#: noncharacter, which :data:`JSON_ESCAPES` leaves as it is (a column holding it is done value
#: by value instead).
TEXT_SEP = "\uffff"


def joined_texts(values: np.ndarray) -> str | None:
    """A 1-D object array of str as one string, joined by :data:`TEXT_SEP`; None when a
    value holds :data:`TEXT_SEP` itself (so the join cannot be split back)."""
    joined = TEXT_SEP.join(values.tolist())
    return joined if joined.count(TEXT_SEP) == values.size - 1 else None


def object_array(items: list) -> np.ndarray:
    """A list as a 1-D object array, each item one element (str, and lists or dicts too,
    which ``np.array`` would unpack)."""
    return np.fromiter(items, dtype=object, count=len(items))


# ------------------------------------- the JSON texts of many rows, parsed and written at once
#
# The JSON texts of a column (the events' evidence) are read by one json.loads and written by
# one json.dumps: the texts are the items of one JSON array, a marker string between the rows.
# Per row only C code runs: the json module, NumPy object ufuncs and builtin map over C
# methods (len, dict.values, itertools.chain).

#: The marker :func:`parse_texts` puts between the rows (the noncharacter :data:`TEXT_SEP`),
#: and its escaped form (a text holding either gets a longer marker).
_MARK = TEXT_SEP
_MARK_ESCAPED = re.compile(r"\\u[fF]{4}")
_isinstance = np.frompyfunc(isinstance, 2, 1)


def is_instance(values: np.ndarray, classes) -> np.ndarray:
    """``isinstance(value, classes)`` of each value of a 1-D object array (one ufunc call)."""
    cls = np.empty((), dtype=object)
    cls[()] = classes
    return _isinstance(values, cls).astype(bool)


def parse_texts(texts: np.ndarray) -> tuple[list, str] | None:
    """``json.loads`` of each text of a 1-D object array of str, all in one parse.

    The texts are joined, with a marker string between them that none of them can hold,
    into one JSON array.

    Parameters
    ----------
    texts : numpy.ndarray of object
        JSON texts (str).

    Returns
    -------
    (list, str) or None
        The parsed array (``[value, marker, value, ..., value]``: the values at the even
        positions) and the marker, which no string inside the values holds; None when the
        array does not parse or a text does not give exactly one value (the markers then are
        not where the texts put them).
    """
    n = texts.size
    if n == 0:
        return [], _MARK
    rows = texts.tolist()
    mark = _MARK
    body = (',"' + mark + '",').join(rows)
    if body.count(_MARK) != n - 1 or _MARK_ESCAPED.search(body):
        # a text holds the noncharacter: a run of it longer than any text (no text can hold
        # a string that long)
        mark = _MARK * (max(map(len, rows)) + 1)
        body = (',"' + mark + '",').join(rows)
    try:
        items = json.loads("[" + body + "]")
    except ValueError:
        return None
    if len(items) != 2 * n - 1 or items[1::2].count(mark) != n - 1:
        return None
    return items, mark


def loads_each(texts: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """``json.loads`` of each text of a 1-D object array of str: (values, parsed).

    One parse for all texts (:func:`parse_texts`); when one is not JSON (evidence edited by
    hand) the texts are halved around it, so a bad text costs O(log n) parses of halves.
    """
    n = texts.size
    values = np.empty(n, dtype=object)
    ok = np.zeros(n, dtype=bool)
    if n == 0:
        return values, ok
    parsed = parse_texts(texts)
    if parsed is not None:
        values[:] = object_array(parsed[0][0::2])
        ok[:] = True
    elif n > 1:  # halves, only around the texts that do not parse
        half = n // 2
        values[:half], ok[:half] = loads_each(texts[:half])
        values[half:], ok[half:] = loads_each(texts[half:])
    return values, ok


def dumps_each(items: list, mark: str, n: int, **dumps_kwargs) -> np.ndarray:
    """``json.dumps(value, **dumps_kwargs)`` of the ``n`` values of ``[value, mark, value,
    mark, ..., value]``, in one call (``mark`` equals no string inside the values).

    ``dumps_kwargs`` must keep the default item separator ``", "`` (a value inside a list is
    then written as it is alone)."""
    if n == 0:
        return np.zeros(0, dtype=object)
    sep = ", " + json.dumps(mark, **dumps_kwargs) + ", "
    parts = json.dumps(items, **dumps_kwargs)[1:-1].split(sep)
    if len(parts) != n:
        raise AssertionError("a marker string is inside the JSON values")
    return object_array(parts)


def object_items(objs: list) -> tuple[np.ndarray, list, list]:
    """The items of a list of dicts, in order: (count of each dict, keys, values), each
    gathered in one pass of C iteration over all dicts (no Python code per dict)."""
    counts = np.fromiter(map(len, objs), dtype=np.int64, count=len(objs))
    keys = list(chain.from_iterable(objs))
    values = list(chain.from_iterable(map(dict.values, objs)))
    return counts, keys, values


_json_string_each = np.frompyfunc(lambda v: '"' + v.translate(JSON_ESCAPES) + '"', 1, 1)


def json_string(values) -> np.ndarray:
    """Each str value of a 1-D object array as a JSON string literal (:data:`JSON_ESCAPES`).

    The column is escaped as one joined text, not value by value: one search for the
    characters to escape, one ``str.replace`` per character found (backslash first) and one
    ``split`` (1.3-2x as fast as ``str.translate`` value by value from 100 texts on).
    """
    values = np.asarray(values, dtype=object)
    if values.size == 0:
        return values.copy()
    joined = joined_texts(values.ravel())
    if joined is None:  # a value holds the separator itself
        return _json_string_each(values)
    found = set(_TO_ESCAPE.findall(joined))
    if "\\" in found:  # first: the other escapes add backslashes
        joined = joined.replace("\\", JSON_ESCAPES[ord("\\")])
    for char in found - {"\\"}:  # (at most the 33 other characters of JSON_ESCAPES)
        joined = joined.replace(char, JSON_ESCAPES[ord(char)])
    quoted = joined.replace(TEXT_SEP, '"' + TEXT_SEP + '"')
    return object_array(('"' + quoted + '"').split(TEXT_SEP)).reshape(values.shape)


#: The characters :data:`JSON_ESCAPES` changes.
_TO_ESCAPE = re.compile("[" + re.escape("".join(map(chr, JSON_ESCAPES))) + "]")


def json_objects(frame, raw=()) -> np.ndarray:
    """One JSON object text per row of a table of scalar columns, built column by column.

    Parameters
    ----------
    frame : pandas.DataFrame or mapping of str to array_like
        Columns of numbers, booleans, strings or UTC times (missing values become ``null``);
        a mapping's columns (arrays or Series of one length, read by position, or scalars
        for every row) are typed as a DataFrame of them would be, without making the frame.
    raw : iterable of str
        Columns that already hold JSON text (e.g. an array), written as they are.

    Returns
    -------
    numpy.ndarray of object
        ``'{"col": value, ...}'`` per row, keys in column order.
    """
    if isinstance(frame, pd.DataFrame):
        n = len(frame)
        columns = [(col, frame[col]) for col in frame.columns]
    else:
        columns = list(frame.items())
        n = next((len(v) for _, v in columns if np.ndim(v)), 0)
        # a scalar is every row's value, as a frame broadcasts it
        columns = [(col, np.full(n, v) if np.ndim(v) == 0 else v) for col, v in columns]
    out = np.full(n, "{", dtype=object)
    raw = set(raw)
    for j, (col, values) in enumerate(columns):  # a reason has a handful of fields
        vals = (pd.Series(values).astype(object).fillna("null").to_numpy(dtype=object)
                if col in raw else _distinct_literals(values))
        out = out + ("" if j == 0 else ", ") + f'"{col}": ' + vals
    return out + "}"


def _distinct_literals(values) -> np.ndarray:
    """:func:`json_literals` of a column, formatting each distinct value once (reasons
    repeat: one area, one crowd size or one rounded figure for thousands of events)."""
    if len(values) < 64:
        return json_literals(values)
    values = values if isinstance(values, pd.Series) else pd.Series(values)
    codes, uniq = pd.factorize(values.reset_index(drop=True))
    text = json_literals(pd.Series(uniq))
    return np.where(codes >= 0, text[np.maximum(codes, 0)] if len(text) else "null",
                    "null").astype(object)


def json_arrays(texts: pd.Series, by) -> pd.Series:
    """JSON arrays of texts grouped by ``by`` (JSON text per group), e.g. the rules that fired:
    a Series indexed by the distinct keys, ascending (:func:`grouped_arrays`)."""
    keys, arrays = grouped_arrays(texts.to_numpy(dtype=object), np.asarray(by))
    return pd.Series(arrays, index=pd.Index(keys), name=texts.name, dtype=object)


def grouped_arrays(texts, keys, single_bare: bool = False) -> tuple[np.ndarray, np.ndarray]:
    """The texts of each key's rows as one JSON array's text, ``"[a, b]"``, in the rows' order,
    keys ascending (what ``groupby(keys)`` and a join of each group give).

    Parameters
    ----------
    texts : array_like of str
        JSON text per row.
    keys : array_like
        Group key per row (sortable, no missing values).
    single_bare : bool, default False
        A key of one row gets its text as it is, not an array of one.

    Returns
    -------
    (numpy.ndarray, numpy.ndarray of object)
        The distinct keys, ascending, and the text of each.

    Notes
    -----
    All groups are bracketed and joined as one text split on :data:`TEXT_SEP` (one
    ``str.join`` and one ``split``), not group by group.
    """
    texts = np.asarray(texts, dtype=object)
    keys = np.asarray(keys)
    order = np.argsort(keys, kind="stable")
    keys, texts = keys[order], texts[order]
    first = np.ones(keys.size, dtype=bool)
    first[1:] = keys[1:] != keys[:-1]
    last = np.ones(keys.size, dtype=bool)
    last[:-1] = first[1:]
    if not keys.size:
        return keys, np.zeros(0, dtype=object)
    opens, closes = (first & ~last, last & ~first) if single_bare else (first, last)
    ends = np.where(closes, "]" + TEXT_SEP, np.where(last, TEXT_SEP, ", "))
    joined = "".join((np.where(opens, "[", "").astype(object) + texts
                      + ends.astype(object)).tolist())
    n_groups = int(first.sum())
    if joined.count(TEXT_SEP) == n_groups:
        return keys[first], object_array(joined.split(TEXT_SEP)[:-1])
    # a text holds the separator itself: group by group
    lists = pd.Series(texts).groupby(keys).agg(list)
    return keys[first], object_array([
        t[0] if single_bare and len(t) == 1 else "[" + ", ".join(t) + "]" for t in lists])


def json_where(mask, /, **fields) -> np.ndarray:
    """:func:`json_objects` of the table of ``fields`` (arrays of one length, or scalars the
    same on every row), made for the rows of ``mask`` only, ``""`` elsewhere.

    Each row's text is its own (the formatting is per value), so the rows that get no token
    are skipped: the reasons of the flags and of the context stage.
    """
    mask = np.asarray(mask, dtype=bool)
    out = np.full(mask.size, "", dtype=object)
    at = np.flatnonzero(mask)
    if at.size:
        out[at] = json_objects({  # the columns as a frame of them types them (no frame)
            k: np.full(at.size, v) if np.ndim(v) == 0 else np.asarray(v)[at]
            for k, v in fields.items()})
    return out
