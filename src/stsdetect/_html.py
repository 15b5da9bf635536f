"""HTML text of whole columns, for the report and the web map."""

from __future__ import annotations

import pandas as pd


def escape(values) -> pd.Series:
    """HTML-escape a column of text, vectorized: the five characters :func:`html.escape`
    escapes, with the same entities; missing values as ''.

    Parameters
    ----------
    values : pandas.Series or array_like
        Text (anything else is made text with :meth:`pandas.Series.astype`).

    Returns
    -------
    pandas.Series
        ``string`` dtype.
    """
    s = pd.Series(values) if not isinstance(values, pd.Series) else values
    s = s.astype("string").fillna("")
    for char, entity in (("&", "&amp;"), ("<", "&lt;"), (">", "&gt;"), ('"', "&quot;"),
                         ("'", "&#x27;")):
        s = s.str.replace(char, entity, regex=False)
    return s
