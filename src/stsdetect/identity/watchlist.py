"""Watch-lists of vessels of interest: loading, exact matches and near matches."""

from __future__ import annotations

import re
from pathlib import Path

import numpy as np
import pandas as pd

from stsdetect.identity.mid import _as_mmsi_array
from stsdetect.identity.mid import check_vessels as _check_vessels

__all__ = [
    "FLAG_ALIASES",
    "HIT_COLUMNS",
    "NAME_MIN_LENGTH",
    "NUMBER_WORDS",
    "ROMANISATION_FOLDS",
    "SIMILARITY",
    "WATCHLIST_COLUMNS",
    "flag_iso_of",
    "imo_near",
    "load_watchlist",
    "match_watchlist",
    "normalise_name",
    "romanised_key",
    "watchlist_hits",
    "word_key",
]

_NUMBERED_SPLIT = re.compile(r"(?:^|[,;]\s*)\d+\s*:\s*")


def normalise_name(values) -> pd.Series:
    """Vessel names or call signs normalised for matching.

    Unicode compatibility-decomposed, accents dropped, upper-cased, and everything that is not
    a letter or digit removed, so ``"Sea-Falcon  No.7"`` and ``"SEA FALCON NO 7"`` agree.
    Empty results become ``<NA>``.

    Parameters
    ----------
    values : array_like of str

    Returns
    -------
    pandas.Series of string dtype
    """
    s = (values if isinstance(values, pd.Series) else pd.Series(np.asarray(values, dtype=object)))
    s = s.astype("string")
    if len(s) and s.str.contains(r"[^\x00-\x7f]", regex=True, na=False).any():
        s = s.str.normalize("NFKD")
    out = s.str.upper().str.replace(r"[^0-9A-Z]", "", regex=True)
    return out.mask(out == "")


def _split_cells(values: pd.Series) -> pd.Series:
    """Multi-value cells ("1: A, 2: B" or "A; B") -> exploded Series keeping the row index."""
    s = values.astype("string").fillna("")
    numbered = s.str.match(r"^\s*\d+\s*:")
    parts = s.where(~numbered, s.str.replace(_NUMBERED_SPLIT, "\x1f", regex=True))
    parts = parts.where(numbered, parts.str.replace(";", "\x1f", regex=False))
    out = parts.str.split("\x1f").explode().str.strip()
    return out[out.notna() & (out != "")]


_WATCH_COLUMNS = {
    "name": ("vessel_name", "name", "names", "ship_name"),
    "imo": ("imo_number", "imo", "imo_no"),
    "mmsi": ("mmsi",),
    "callsign": ("call_sign", "callsign"),
}


def load_watchlist(path_or_frame) -> pd.DataFrame:
    """Load a watch-list of vessels of interest into one row per identifier.

    Reads the column layout of the UN Security Council 1718 Committee designated-vessels list as
    transcribed by OpenSanctions (``vessel_name, imo_number, designated_owner, mmsi, flag,
    call_sign, type, ...``) as well as simple lists with columns ``name``, ``imo``, ``mmsi``,
    ``callsign`` (case-insensitive; any subset). Cells may hold several values written
    ``"1: FIRST, 2: SECOND"`` or ``"FIRST; SECOND"``. IMO numbers are taken as every 7-digit
    run in the cell and MMSIs as every 9-digit run, so ``"IMO 8910603"`` works.

    Parameters
    ----------
    path_or_frame : str, os.PathLike or pandas.DataFrame
        A CSV file or an already loaded table.

    Returns
    -------
    pandas.DataFrame
        Columns (:data:`WATCHLIST_COLUMNS`) ``entry`` (int, row of the list), ``entry_name``
        (first name given, for reports), ``entry_flag`` (the list's flag text, ``""`` when
        none), ``entry_flag_iso`` (its ISO code by :func:`flag_iso_of`, ``""`` when unknown),
        ``raw`` (the value as written), ``field`` (``imo``, ``mmsi``, ``name`` or
        ``callsign``) and ``value``
        (``imo``/``mmsi`` as decimal strings, names and call signs normalised by
        :func:`normalise_name`). Duplicate identifiers of one entry appear once.

    Raises
    ------
    ValueError
        If the table has none of the identifier columns.
    FileNotFoundError
        If the path does not exist.
    """
    if isinstance(path_or_frame, pd.DataFrame):
        frame = path_or_frame.copy()
    else:
        path = Path(path_or_frame)
        if not path.exists():
            raise FileNotFoundError(f"watch-list not found: {path}")
        frame = pd.read_csv(path, dtype=str, keep_default_na=False, comment=None)
    frame.columns = [str(c).strip().lower() for c in frame.columns]
    frame = frame.reset_index(drop=True)
    found = {field: next((c for c in cands if c in frame.columns), None)
             for field, cands in _WATCH_COLUMNS.items()}
    if not any(found.values()):
        raise ValueError(
            "watch-list has no identifier column; expected some of "
            f"{sorted(c for cands in _WATCH_COLUMNS.values() for c in cands)}, got "
            f"{list(frame.columns)}"
        )
    pieces = []
    names = None
    for field, column in found.items():
        if column is None:
            continue
        cells = frame[column].astype("string").fillna("")
        if field in ("imo", "mmsi"):
            width = 7 if field == "imo" else 9
            values = cells.str.findall(rf"(?<!\d)\d{{{width}}}(?!\d)").explode()
            values = values[values.notna()].astype("string")
            values = values.str.lstrip("0").where(values.str.lstrip("0") != "", "0")
            raw = values
        else:
            raw = _split_cells(cells)
            if field == "name":
                names = raw.groupby(level=0).first()
            values = normalise_name(raw)
            keep = values.notna().to_numpy()
            values, raw = values[keep], raw[keep]
        pieces.append(pd.DataFrame({"entry": values.index.to_numpy(dtype=np.int64),
                                    "field": field, "value": values.to_numpy(dtype=object),
                                    "raw": raw.astype(object).to_numpy(dtype=object)}))
    long = pd.concat(pieces, ignore_index=True) if pieces else pd.DataFrame(
        columns=["entry", "field", "value", "raw"])
    long = long.drop_duplicates(["entry", "field", "value"])
    entry_name = pd.Series("", index=frame.index, dtype=object)
    if names is not None:
        entry_name.loc[names.index] = names.astype(object).to_numpy()
    long["entry_name"] = entry_name.reindex(long["entry"]).fillna("").to_numpy(dtype=object)
    flag_col = next((c for c in ("flag", "flag_state", "country") if c in frame.columns), None)
    flag = (frame[flag_col].astype("string").fillna("").str.strip() if flag_col
            else pd.Series("", index=frame.index, dtype="string"))
    long["entry_flag"] = flag.reindex(long["entry"]).fillna("").to_numpy(dtype=object)
    long["entry_flag_iso"] = flag_iso_of(long["entry_flag"])
    long["entry"] = long["entry"].astype(np.int64)
    return long[WATCHLIST_COLUMNS].sort_values(["entry", "field", "value"], ignore_index=True)


#: Columns of :func:`load_watchlist`'s table.
WATCHLIST_COLUMNS = ["entry", "entry_name", "entry_flag", "entry_flag_iso", "field", "value",
                     "raw"]

#: Other spellings of flag states in watch-lists -> ISO 3166-1 alpha-2 (compared after
#: :func:`normalise_name`). The country names of the ITU MID table and ISO alpha-2 codes are
#: recognised as well.
FLAG_ALIASES = {
    "DPRK": "KP", "NORTHKOREA": "KP", "PRK": "KP", "KOREADPR": "KP",
    "DEMOCRATICPEOPLESREPUBLICOFKOREA": "KP", "KOREADEMOCRATICPEOPLESREPUBLIC": "KP",
    "KOREADEMOCRATICPEOPLESREPUBLICOF": "KP", "KOREANORTH": "KP",
    "SOUTHKOREA": "KR", "REPUBLICOFKOREA": "KR", "KOREAREPUBLICOF": "KR", "ROK": "KR",
    "KOREASOUTH": "KR", "CHN": "CN", "PRC": "CN", "PEOPLESREPUBLICOFCHINA": "CN",
    "RUSSIA": "RU", "RUSSIANFEDERATION": "RU", "UK": "GB", "UNITEDKINGDOM": "GB",
    "USA": "US", "UNITEDSTATES": "US", "UNITEDSTATESOFAMERICA": "US",
}


def flag_iso_of(flags) -> np.ndarray:
    """ISO 3166-1 alpha-2 code of flag-state texts, ``""`` where not recognised.

    Recognises the country names of the ITU MID table (:func:`stsdetect.identity.mid_table`),
    two-letter codes and :data:`FLAG_ALIASES` (``"DPRK"``, ``"North Korea"``, ...).

    Parameters
    ----------
    flags : array_like of str

    Returns
    -------
    numpy.ndarray of object
    """
    from stsdetect.identity.mid import _mid_table

    table = _mid_table()  # (read only here)
    known = dict(zip(normalise_name(table["country"]).to_numpy(dtype=object),
                     table["iso2"], strict=True))
    known.update({code: code for code in table["iso2"]})
    known.update(FLAG_ALIASES)
    key = normalise_name(pd.Series(np.asarray(flags, dtype=object))).fillna("")
    return key.map(known).fillna("").to_numpy(dtype=object)


def _vessel_identifiers(vessels: pd.DataFrame) -> pd.DataFrame:
    """Long table (mmsi, field, value, raw) of a vessels table's identifiers, normalised."""
    pieces = []
    if vessels is None or not len(vessels):
        return pd.DataFrame({"mmsi": np.zeros(0, np.int64), "field": np.zeros(0, object),
                             "value": np.zeros(0, object), "raw": np.zeros(0, object)})
    vessels = vessels.reset_index(drop=True)  # exploded names map back by position
    mmsi = vessels["mmsi"].astype("int64")
    text = mmsi.astype(str).to_numpy(dtype=object)
    pieces.append(pd.DataFrame({"mmsi": mmsi.to_numpy(), "field": "mmsi", "value": text,
                                "raw": text}))
    if "imo" in vessels:
        imo = pd.to_numeric(vessels["imo"], errors="coerce")
        ok = imo.notna() & (imo > 0)
        text = imo[ok].astype("int64").astype(str).to_numpy(dtype=object)
        pieces.append(pd.DataFrame({"mmsi": mmsi[ok].to_numpy(), "field": "imo",
                                    "value": text, "raw": text}))
    name_cols = [c for c in ("name", "names") if c in vessels]
    for col in name_cols:
        cells = vessels[col].astype("string")
        split = cells.str.split(";").explode() if col == "names" else cells
        norm = normalise_name(split.to_numpy())
        ok = norm.notna().to_numpy()
        pieces.append(pd.DataFrame({"mmsi": mmsi.reindex(split.index).to_numpy()[ok],
                                    "field": "name", "value": norm[ok].to_numpy(dtype=object),
                                    "raw": split.str.strip().to_numpy(dtype=object)[ok]}))
    if "callsign" in vessels:
        norm = normalise_name(vessels["callsign"].to_numpy())
        ok = norm.notna().to_numpy()
        pieces.append(pd.DataFrame({"mmsi": mmsi.to_numpy()[ok], "field": "callsign",
                                    "value": norm[ok].to_numpy(dtype=object),
                                    "raw": vessels["callsign"].to_numpy(dtype=object)[ok]}))
    # duplicates (a name also in ``names``) are harmless: the hits are made unique at the end
    return pd.concat(pieces, ignore_index=True)


def _identifiers(vessels, mmsi, statics=None) -> pd.DataFrame:
    _check_vessels(vessels)
    ids = _vessel_identifiers(vessels)
    if statics is not None and len(statics) and "mmsi" in statics:
        cols = [c for c in ("mmsi", "imo", "name", "callsign") if c in statics]
        hist = statics[cols].drop_duplicates()
        hist = hist[pd.to_numeric(hist["mmsi"], errors="coerce").notna()]
        ids = pd.concat([ids, _vessel_identifiers(hist.astype({"mmsi": "int64"}))],
                        ignore_index=True)
    if mmsi is not None:
        extra = np.unique(_as_mmsi_array(mmsi))
        extra = extra[extra >= 0]  # -1 marks unreadable values
        text = extra.astype(str).astype(object)
        ids = pd.concat([ids, pd.DataFrame({"mmsi": extra, "field": "mmsi", "value": text,
                                            "raw": text})], ignore_index=True)
    return ids


def _as_watchlist(watchlist) -> pd.DataFrame:
    if not (isinstance(watchlist, pd.DataFrame)
            and {"entry", "field", "value"} <= set(watchlist.columns)):
        watchlist = load_watchlist(watchlist)
    watchlist = watchlist.copy()
    for col, default in (("entry_name", ""), ("entry_flag", ""), ("entry_flag_iso", "")):
        if col not in watchlist:
            watchlist[col] = default
    if "raw" not in watchlist:
        watchlist["raw"] = watchlist["value"]
    return watchlist


def match_watchlist(vessels: pd.DataFrame, watchlist, mmsi=None) -> pd.DataFrame:
    """Which vessels match a watch-list exactly, and why.

    IMO numbers and MMSIs match exactly; names (the ``name`` column and every name in
    ``names``) and call signs match after :func:`normalise_name`. A call sign matches exactly
    only when the entry lists no MMSI or the vessel has one of them; the same call sign under
    another MMSI is a near match (:func:`watchlist_hits`).

    Parameters
    ----------
    vessels : pandas.DataFrame or None
        Vessels table (``mmsi`` required; ``imo``, ``name``, ``names``, ``callsign`` used when
        present).
    watchlist : pandas.DataFrame, str or os.PathLike
        Output of :func:`load_watchlist`, or anything it accepts.
    mmsi : array_like of int, optional
        Extra MMSIs to check (e.g. participants with no static data); they can match only by
        MMSI.

    Returns
    -------
    pandas.DataFrame
        One row per distinct MMSI (vessels and ``mmsi``), sorted: ``mmsi``, ``matched`` (bool),
        ``reason`` (str, e.g. ``"imo 1000019 = SEA FALCON"``, several joined by ``"; "``,
        ``""`` when unmatched).
    """
    ids = _identifiers(vessels, mmsi)
    all_mmsi = np.unique(ids["mmsi"].to_numpy(dtype=np.int64))
    hits = watchlist_hits(vessels, watchlist, mmsi=mmsi, near=False)
    label = hits["entry_name"].astype(str)
    label = label.where(label != "", "entry " + hits["entry"].astype(str))
    hits["text"] = (hits["field"].astype(str) + " " + hits["listed"].astype(str) + " = "
                    + label).astype(object)
    reason = hits.drop_duplicates(["mmsi", "text"]).groupby("mmsi")["text"].agg("; ".join)
    out = pd.DataFrame({"mmsi": all_mmsi})
    out["reason"] = reason.reindex(all_mmsi).fillna("").to_numpy(dtype=object)
    out["matched"] = out["reason"] != ""
    return out[["mmsi", "matched", "reason"]]


# --------------------------------------------------------------------------- near matches

#: Similarity figure of each match rule (1 = exact). Near matches always score below 1: an IMO
#: number one digit off keeps 6 of 7 digits (6/7); a name one edit away keeps ``1 - 1/length``
#: of its letters (at most 0.95 since names of 5 letters or more are compared, see
#: :data:`NAME_MIN_LENGTH`); a reordering or a romanisation variant keeps every letter but not
#: their order or spelling (0.9, 0.95); a shared call sign under another MMSI is weaker, since
#: call-sign series are reissued (0.8).
SIMILARITY = {
    "exact": 1.0,
    "imo_one_digit": 6 / 7,
    "imo_transposition": 6 / 7,
    "name_edit": None,          # 1 - 1 / max(len(a), len(b)), capped at 0.95
    "name_reordered": 0.9,
    "name_romanisation": 0.95,
    "callsign_other_mmsi": 0.8,
}

#: Normalised names shorter than this take part in no near-match rule: one edit of a
#: four-letter name is a different common word ("STAR"/"STAY").
NAME_MIN_LENGTH = 5

#: Korean and English number words read as digits when they are a name's last word ("CHON MA
#: SAN SAM" = "CHON MA SAN 3"): the Sino-Korean numerals as romanised by McCune-Reischauer and by
#: the Revised Romanization, and English ones. One-letter numerals ("I" 2, "O" 5) are left out:
#: they are too often initials.
NUMBER_WORDS = {
    "IL": "1", "SAM": "3", "SA": "4", "YUK": "6", "RYUK": "6", "CHIL": "7", "CHIR": "7",
    "PAL": "8", "KU": "9", "GU": "9", "SIP": "10", "SHIP": "10",
    "ONE": "1", "TWO": "2", "THREE": "3", "FOUR": "4", "FIVE": "5", "SIX": "6", "SEVEN": "7",
    "EIGHT": "8", "NINE": "9", "TEN": "10",
}

#: Spellings that differ between the romanisations of Korean in use on ship names
#: (McCune-Reischauer 1939, used by the DPRK, with its diacritics and apostrophes dropped
#: by AIS's 6-bit alphabet; and the Revised Romanization of 2000): vowels eo/o, eu/u, and the
#: consonant pairs k/g, t/d, p/b, ch/j, r/l, sh/s. Each pair is folded to one letter for the
#: ``name_romanisation`` rule, after spaces and hyphens are dropped.
ROMANISATION_FOLDS = (("EO", "O"), ("EU", "U"), ("SH", "S"), ("CH", "J"), ("G", "K"),
                      ("D", "T"), ("B", "P"), ("L", "R"))


def _words(raw) -> pd.Series:
    """Upper-case words of raw names, "NO" before a number dropped, a last number word as digits."""
    s = pd.Series(np.asarray(raw, dtype=object)).astype("string")
    if len(s) and s.str.contains(r"[^\x00-\x7f]", regex=True, na=False).any():
        s = s.str.normalize("NFKD")
    # only patterns without look-around, so that Arrow's regex engine runs them (no Python loop)
    s = s.str.upper().str.replace(r"[^0-9A-Z]+", " ", regex=True).str.strip()
    s = s.str.replace(r"([A-Z])([0-9])", r"\1 \2", regex=True)      # "SAN3" -> "SAN 3"
    s = s.str.replace(r"([0-9])([A-Z])", r"\1 \2", regex=True)
    s = (" " + s + " ").str.replace(r" NO ([0-9])", r" \1", regex=True).str.strip()
    last = s.str.extract(r"(?:^|\s)([A-Z]+)$", expand=False)
    digits = last.map(NUMBER_WORDS)
    has_words = s.str.contains(" ", regex=False, na=False)
    swap = (digits.notna() & has_words).to_numpy(dtype=bool)
    if swap.any():
        s = s.where(~swap, s.str.replace(r"[A-Z]+$", "", regex=True) + digits)
    return s.str.strip()


def _romanised_from_words(words: pd.Series) -> pd.Series:
    s = words.str.replace(" ", "", regex=False)
    for a, b in ROMANISATION_FOLDS:  # a fixed handful of folds, each over all names
        s = s.str.replace(a, b, regex=False)
    return s.mask(s == "")


def _word_key_from_words(words: pd.Series) -> pd.Series:
    parts = words.fillna("").str.split(" ", expand=True)
    if parts.shape[1] < 2:
        return pd.Series(pd.NA, index=words.index, dtype="string")
    arr = parts.fillna("").to_numpy(dtype=object).astype(str)
    arr = np.sort(np.where(arr == "", "\x7f", arr), axis=1)        # empty slots sort last
    out = arr[:, 0].astype(object)
    for j in range(1, arr.shape[1]):  # words per name: a handful
        out = np.where(arr[:, j] == "\x7f", out, out + " " + arr[:, j].astype(object))
    key = pd.Series(out, index=words.index, dtype="string")
    return key.where(words.str.contains(" ", regex=False, na=False))


def _letter_bag(words: pd.Series) -> np.ndarray:
    """An order-free signature of a name's letters (length and sums of byte powers)."""
    flat = words.fillna("").str.replace(" ", "", regex=False)
    width = max(int(flat.str.len().max() or 0), 1) if len(flat) else 1
    mat, length = _byte_matrix(flat.to_numpy(dtype=object), width)
    m = mat.astype(np.int64)
    return length * 10**12 + (m * m).sum(axis=1) * 10**5 + m.sum(axis=1)


def romanised_key(raw) -> pd.Series:
    """Key under which romanisation variants of one name agree (``name_romanisation``).

    Spaces, hyphens and other punctuation dropped, ``NO.`` before a number dropped, a last
    number word written as digits (:data:`NUMBER_WORDS`) and the letter pairs of
    :data:`ROMANISATION_FOLDS` folded: ``"Cheon Ma-San No. 3"``, ``"CHON MA SAN 3"`` and
    ``"CHONMASAN SAM"`` share one key.

    Parameters
    ----------
    raw : array_like of str

    Returns
    -------
    pandas.Series of string dtype (``<NA>`` for empty names)
    """
    return _romanised_from_words(_words(raw))


def word_key(raw) -> pd.Series:
    """The words of each name sorted, so reorderings agree (``name_reordered``).

    ``<NA>`` for names of one word.
    """
    return _word_key_from_words(_words(raw))


def imo_near(a, b) -> np.ndarray:
    """Whether IMO numbers are one digit substitution or one adjacent transposition apart.

    Symmetric, and False for equal numbers. The check digit does not guard against this:
    a transposition of two equal-weight positions, and many double changes, still pass it.

    Parameters
    ----------
    a, b : array_like of int
        Seven-digit numbers (anything else gives False).

    Returns
    -------
    numpy.ndarray of bool
    """
    a = np.asarray(a, dtype=np.int64)
    b = np.asarray(b, dtype=np.int64)
    ok = (a >= 1_000_000) & (a <= 9_999_999) & (b >= 1_000_000) & (b <= 9_999_999)
    p = 10 ** np.arange(6, -1, -1)
    da = (a[..., None] // p) % 10
    db = (b[..., None] // p) % 10
    diff = da != db
    n = diff.sum(axis=-1)
    swap = (diff[..., :-1] & diff[..., 1:] & (da[..., :-1] == db[..., 1:])
            & (da[..., 1:] == db[..., :-1])).any(axis=-1)
    return ok & ((n == 1) | ((n == 2) & swap))


def _imo_variants(imo: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Every number one substitution or adjacent transposition from each 7-digit IMO.

    Returns (index into ``imo``, variant, rule) with rule 0 = substitution, 1 = transposition.
    """
    imo = np.asarray(imo, dtype=np.int64)
    p = 10 ** np.arange(6, -1, -1)
    d = (imo[:, None] // p) % 10                                   # (n, 7)
    # substitutions: position j gets digit k != d[j]
    k = np.arange(10)
    sub = imo[:, None, None] + (k[None, None, :] - d[:, :, None]) * p[None, :, None]
    sub_ok = k[None, None, :] != d[:, :, None]
    idx_s = np.broadcast_to(np.arange(imo.size)[:, None, None], sub.shape)[sub_ok]
    # adjacent transpositions of different digits
    a, b = d[:, :-1], d[:, 1:]
    tr = imo[:, None] + (b - a) * p[None, :-1] + (a - b) * p[None, 1:]
    tr_ok = a != b
    idx_t = np.broadcast_to(np.arange(imo.size)[:, None], tr.shape)[tr_ok]
    variant = np.concatenate([sub[sub_ok], tr[tr_ok]])
    rule = np.concatenate([np.zeros(idx_s.size, np.int8), np.ones(idx_t.size, np.int8)])
    keep = variant >= 1_000_000  # a leading zero makes no 7-digit IMO number
    return np.concatenate([idx_s, idx_t])[keep], variant[keep], rule[keep]


def _byte_matrix(values: np.ndarray, width: int) -> tuple[np.ndarray, np.ndarray]:
    """ASCII strings -> (n, width) uint8 matrix, zero padded, and their lengths."""
    if values.size == 0:
        return np.zeros((0, width), np.uint8), np.zeros(0, np.int64)
    fixed = np.asarray(values, dtype=f"S{width}")   # ASCII: names are normalised first
    mat = fixed.view(np.uint8).reshape(-1, width)
    return mat, (mat != 0).sum(axis=1)


def _deletion_hashes(mat: np.ndarray, length: np.ndarray):
    """64-bit hashes of each string and of each of its one-letter deletions.

    Returns (row, hash, new length) for the string itself and every deletion position below
    its length: two strings within one edit (substitution, insertion, deletion or adjacent
    transposition) share at least one (hash, length) key.
    """
    n, w = mat.shape
    base = np.uint64(1099511628211)
    powers = base ** np.arange(w + 1, dtype=np.uint64)            # wraps mod 2**64
    vals = mat.astype(np.uint64) + np.uint64(1)
    vals[mat == 0] = 0
    contrib = vals * powers[:w]
    prefix = np.concatenate([np.zeros((n, 1), np.uint64), np.cumsum(contrib, axis=1,
                                                                    dtype=np.uint64)], axis=1)
    total = prefix[:, -1]
    rows = [np.arange(n)]
    hashes = [total]
    lens = [length]
    inv = np.uint64(pow(int(base), -1, 2**64))  # the base is odd, so invertible mod 2**64
    for j in range(w):  # deletion position: at most the name width (20-35), not the row count
        after = total - prefix[:, j + 1]                      # sum_{k>j} v_k P^k
        h = prefix[:, j] + after * inv                        # tail moved down one place
        ok = j < length
        rows.append(np.nonzero(ok)[0])
        hashes.append(h[ok])
        lens.append(length[ok] - 1)
    return np.concatenate(rows), np.concatenate(hashes), np.concatenate(lens)


def _one_edit(a: np.ndarray, la: np.ndarray, b: np.ndarray, lb: np.ndarray):
    """Pairs of byte rows exactly one edit apart, and whether that edit swaps one digit.

    An edit is a substitution, an insertion/deletion, or a transposition of adjacent
    letters (optimal string alignment distance 1). Returns (one_edit, digit_for_digit).
    """
    n = a.shape[0]
    if n == 0:
        return np.zeros(0, bool), np.zeros(0, bool)
    same = la == lb
    diff = a != b
    nd = diff.sum(axis=1)
    first = np.argmax(diff, axis=1)
    rows = np.arange(n)
    isdig = lambda x: (x >= 48) & (x <= 57)  # noqa: E731
    sub = same & (nd == 1)
    digit = sub & isdig(a[rows, first]) & isdig(b[rows, first])
    nxt = np.minimum(first + 1, a.shape[1] - 1)
    trans = (same & (nd == 2) & (first + 1 < a.shape[1])
             & (a[rows, first] == b[rows, nxt]) & (a[rows, nxt] == b[rows, first]))
    # insertion/deletion: the longer one minus its first differing letter equals the shorter
    longer_is_a = la > lb
    lo = np.where(longer_is_a[:, None], a, b)
    sh = np.where(longer_is_a[:, None], b, a)
    indel = np.abs(la - lb) == 1
    d2 = lo != sh
    p = np.where(d2.any(axis=1), np.argmax(d2, axis=1), a.shape[1])
    shifted = lo[:, 1:] != sh[:, :-1]                       # lo[k+1] vs sh[k]
    cols = np.arange(shifted.shape[1])
    tail_bad = (shifted & (cols[None, :] >= p[:, None])).any(axis=1)
    indel &= ~tail_bad
    return sub | trans | indel, digit


def _name_pairs(v_names: pd.DataFrame, w_names: pd.DataFrame) -> pd.DataFrame:
    """Near name matches between vessel names and listed names (distinct normalised values).

    Both frames have ``value`` (normalised) and ``raw``. Returns ``v``, ``w`` (row positions)
    and ``rule``, ``similarity``; exact equality of normalised names is never returned.
    """
    out = [pd.DataFrame({"v": np.zeros(0, np.int64), "w": np.zeros(0, np.int64),
                         "rule": np.zeros(0, object), "similarity": np.zeros(0)})]
    if not len(v_names) or not len(w_names):
        return out[0]
    # romanisation variants and reorderings: equal keys, different normalised names
    words_v = _words(v_names["raw"])
    words_w = _words(w_names["raw"])
    # a reordering keeps the letters: sort the words only of names with a listed letter bag
    bag_v, bag_w = _letter_bag(words_v), _letter_bag(words_w)
    maybe = np.isin(bag_v, bag_w)
    for rule, keyf, rows in (("name_romanisation", _romanised_from_words, None),
                             ("name_reordered", _word_key_from_words, np.nonzero(maybe)[0])):
        sub = words_v if rows is None else words_v.iloc[rows]
        kv = keyf(sub).to_numpy(dtype=object)
        kw = keyf(words_w).to_numpy(dtype=object)
        vpos = np.arange(len(words_v)) if rows is None else rows
        fv = pd.DataFrame({"key": kv, "v": vpos}).dropna()
        fw = pd.DataFrame({"key": kw, "w": np.arange(len(kw))}).dropna()
        fv = fv[fv["key"].isin(fw["key"])]       # hash filter first: the list is small
        m = fv.merge(fw, on="key")
        m = m[v_names["value"].to_numpy(dtype=object)[m["v"]]
              != w_names["value"].to_numpy(dtype=object)[m["w"]]]
        out.append(pd.DataFrame({"v": m["v"].to_numpy(np.int64), "w": m["w"].to_numpy(np.int64),
                                 "rule": rule, "similarity": SIMILARITY[rule]}))
    # one edit apart, names of NAME_MIN_LENGTH or more letters: shared deletion keys, verified
    vv = v_names["value"].to_numpy(dtype=object)
    ww = w_names["value"].to_numpy(dtype=object)
    width = int(pd.Series(ww, dtype="string").str.len().max())
    vlen = pd.Series(vv, dtype="string").str.len().to_numpy(dtype=np.int64)
    cand = np.nonzero((vlen >= NAME_MIN_LENGTH - 1) & (vlen <= width + 1))[0]
    wmat, wlen = _byte_matrix(ww, width + 1)
    vmat, vlen_c = _byte_matrix(vv[cand], width + 1)
    wr, wh, wl = _deletion_hashes(wmat, wlen)
    vr, vh, vl = _deletion_hashes(vmat, vlen_c)
    fw = pd.DataFrame({"h": wh, "l": wl, "w": wr})
    keep = np.isin(vh, wh)                   # sorted filter first: the list is small
    fv = pd.DataFrame({"h": vh[keep], "l": vl[keep], "v": vr[keep]})
    m = fv.merge(fw, on=["h", "l"]).drop_duplicates(["v", "w"])
    vi = m["v"].to_numpy(np.int64)
    wi = m["w"].to_numpy(np.int64)
    one, digit = _one_edit(vmat[vi], vlen_c[vi], wmat[wi], wlen[wi])
    longest = np.maximum(vlen_c[vi], wlen[wi])
    keep = one & ~digit & (np.minimum(vlen_c[vi], wlen[wi]) >= NAME_MIN_LENGTH)
    sim = np.minimum(1.0 - 1.0 / np.maximum(longest, 1), 0.95)
    out.append(pd.DataFrame({"v": cand[vi[keep]], "w": wi[keep], "rule": "name_edit",
                             "similarity": sim[keep]}))
    return pd.concat(out, ignore_index=True)


#: Columns of :func:`watchlist_hits`.
HIT_COLUMNS = ["mmsi", "entry", "entry_name", "entry_flag", "entry_flag_iso", "field", "listed",
               "broadcast", "rule", "similarity"]


def watchlist_hits(vessels: pd.DataFrame | None, watchlist, mmsi=None,
                   near: bool = True, statics: pd.DataFrame | None = None) -> pd.DataFrame:
    """Every exact and near match of vessels against a watch-list, with its evidence.

    Exact (``rule`` ``"exact"``, similarity 1): IMO number, MMSI, normalised name
    (:func:`normalise_name`) or call sign equal to a listed one; a call sign counts only when
    the entry lists no MMSI or the vessel has one of them.

    Near (``near=True``; similarity from :data:`SIMILARITY`, always below 1), never reported
    for a vessel and entry that already match exactly:

    ==========================  =============================================================
    rule                        when
    ==========================  =============================================================
    ``imo_one_digit``           the IMO number differs from a listed one in one digit
    ``imo_transposition``       ... or by two adjacent digits swapped (:func:`imo_near`)
    ``name_edit``               normalised names of 5+ letters one edit apart (substitution,
                                insertion, deletion, adjacent transposition), except a change
                                of one digit for another ("ZHE HAI 801"/"802": fleets number
                                their ships, and the IMO rule covers number games)
    ``name_romanisation``       same :func:`romanised_key` (spacing, hyphens, "NO.", a last
                                number word written out, Korean romanisation spellings)
    ``name_reordered``          the same words in another order (:func:`word_key`)
    ``callsign_other_mmsi``     a listed call sign broadcast under an MMSI the entry does not
                                list
    ==========================  =============================================================

    Names are compared as distinct values, IMO numbers through the 69 neighbours of each
    listed number, so the cost grows with the number of distinct vessel identifiers, not with
    their product with the list: 100k vessels against 500 entries take about 3 s on a
    loaded 2-core machine (``benchmarks/bench_watchlist.py``).

    Parameters
    ----------
    vessels : pandas.DataFrame or None
        Vessels table (``mmsi``; ``imo``, ``name``, ``names``, ``callsign`` when present).
    watchlist : pandas.DataFrame, str or os.PathLike
        Output of :func:`load_watchlist`, or anything it accepts.
    mmsi : array_like of int, optional
        Further MMSIs (they can match only by MMSI).
    near : bool, default True
        Also report near matches.
    statics : pandas.DataFrame, optional
        Statics history (``AISData.statics``): every name, IMO number and call sign an MMSI
        broadcast over time is matched, not only its latest.

    Returns
    -------
    pandas.DataFrame
        :data:`HIT_COLUMNS`: ``mmsi``, the entry (``entry``, ``entry_name``, ``entry_flag``,
        ``entry_flag_iso``), ``field`` matched, ``listed`` (the listed value, normalised),
        ``broadcast`` (the vessel's value as broadcast), ``rule``, ``similarity``; sorted by
        ``mmsi``, ``entry``, descending similarity.
    """
    ids = _identifiers(vessels, mmsi, statics)
    w = _as_watchlist(watchlist)
    entry_cols = ["entry", "entry_name", "entry_flag", "entry_flag_iso"]
    listed_mmsi = w.loc[w["field"] == "mmsi", ["entry", "value"]]
    listed_values = ids["value"].isin(w["value"])   # hash filter first: the list is small
    hits = ids[listed_values].merge(w.rename(columns={"raw": "listed_raw"}),
                                    on=["field", "value"])
    # a call sign under an MMSI the entry does not list is only a near match
    cs = (hits["field"] == "callsign").to_numpy()
    entry_has_mmsi = hits["entry"].isin(listed_mmsi["entry"]).to_numpy()
    own = pd.MultiIndex.from_frame(hits[["entry", "mmsi"]].astype({"mmsi": str})).isin(
        pd.MultiIndex.from_frame(listed_mmsi.rename(columns={"value": "mmsi"})))
    other_mmsi = cs & entry_has_mmsi & ~own
    hits["rule"] = np.where(other_mmsi, "callsign_other_mmsi", "exact")
    hits["similarity"] = np.where(other_mmsi, SIMILARITY["callsign_other_mmsi"], 1.0)
    hits["listed"] = hits["value"]
    hits["broadcast"] = hits["raw"]
    frames = [hits[HIT_COLUMNS]]
    if near:
        # IMO numbers: the neighbours of each listed number, looked up among vessel IMOs
        wi = w[w["field"] == "imo"].reset_index(drop=True)
        vi = ids[ids["field"] == "imo"].reset_index(drop=True)
        if len(wi) and len(vi):
            listed = pd.to_numeric(wi["value"], errors="coerce").fillna(0).to_numpy(np.int64)
            idx, variant, rule = _imo_variants(listed)
            nb = pd.DataFrame({"imo": variant, "w": idx, "rule": np.where(
                rule == 0, "imo_one_digit", "imo_transposition")})
            vnum = pd.to_numeric(vi["value"], errors="coerce").fillna(0).to_numpy(np.int64)
            m = pd.DataFrame({"imo": vnum, "v": np.arange(len(vi))}).merge(nb, on="imo")
            left = vi.iloc[m["v"].to_numpy()].reset_index(drop=True)
            right = wi.iloc[m["w"].to_numpy()].reset_index(drop=True)
            frames.append(pd.DataFrame({
                "mmsi": left["mmsi"].to_numpy(), **{c: right[c].to_numpy() for c in entry_cols},
                "field": "imo", "listed": right["value"].to_numpy(),
                "broadcast": left["raw"].to_numpy(), "rule": m["rule"].to_numpy(),
                "similarity": SIMILARITY["imo_one_digit"]}))
        # names: distinct values on both sides
        wn = w[w["field"] == "name"].drop_duplicates("value").reset_index(drop=True)
        vn_all = ids[ids["field"] == "name"]
        vn = vn_all.drop_duplicates("value").reset_index(drop=True)
        pairs = _name_pairs(vn, wn)
        if len(pairs):
            pv = vn.iloc[pairs["v"].to_numpy()][["value", "raw"]].reset_index(drop=True)
            pw = wn.iloc[pairs["w"].to_numpy()][["value"]].reset_index(drop=True)
            pairs = pd.DataFrame({"vvalue": pv["value"], "broadcast": pv["raw"],
                                  "listed": pw["value"], "rule": pairs["rule"],
                                  "similarity": pairs["similarity"]})
            # back to every vessel with that name and every entry listing that name
            m = vn_all[["mmsi", "value"]].rename(columns={"value": "vvalue"}).merge(
                pairs, on="vvalue")
            m = m.merge(w.loc[w["field"] == "name", [*entry_cols, "value"]].rename(
                columns={"value": "listed"}), on="listed")
            m["field"] = "name"
            frames.append(m[HIT_COLUMNS])
    out = pd.concat(frames, ignore_index=True)
    out["mmsi"] = out["mmsi"].astype(np.int64)
    out["entry"] = out["entry"].astype(np.int64)
    out["similarity"] = out["similarity"].astype(float)
    exact_pairs = out.loc[out["rule"] == "exact", ["mmsi", "entry"]].drop_duplicates()
    if len(exact_pairs) and near:
        key = pd.MultiIndex.from_frame(out[["mmsi", "entry"]])
        has_exact = key.isin(pd.MultiIndex.from_frame(exact_pairs))
        out = out[(out["rule"] == "exact").to_numpy() | ~has_exact]
    out = out.sort_values(["mmsi", "entry", "similarity", "field", "rule"],
                          ascending=[True, True, False, True, True], kind="stable")
    # one reason per listed value: the strongest rule
    return out.drop_duplicates(["mmsi", "entry", "field", "listed"]).reset_index(
        drop=True)[HIT_COLUMNS]
