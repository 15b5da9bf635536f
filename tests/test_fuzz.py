"""Fuzz suite (#14 "Keep it that way"): hostile and mutated input never crashes the reader, the
decode report always adds up, and the same lines give the same positions however they are cut
into files.

* hypothesis over pyais-encoded sentences with mutations: lines joined together, bytes
  inserted, lines truncated, every line ending (``\\n``, ``\\r\\n``, ``\\r``, mixed);
* seeded byte mutations (flips, insertions, deletions, truncation) of every file in
  ``../shared/data``, each bounded to its first :data:`MUTATE_BYTES` bytes so CI time stays
  bounded;
* one file against the same lines split across many files.

Examples CI runs (``CI=true`` loads the derandomized profile of conftest.py): see
:data:`CI_EXAMPLES` (quoted in the #14 closing note).
"""

from __future__ import annotations

import io
import random
from pathlib import Path

import pandas as pd
import pytest
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st
from pyais.encode import encode_dict

from stsdetect.ais import read_ais

#: Bytes of each shared file that the byte-mutation tests read (their first ones).
MUTATE_BYTES = 64 * 1024
#: Seeded mutations per shared file.
MUTATIONS_PER_FILE = 4
#: Examples of each hypothesis test.
LINE_EXAMPLES = 150
SPLIT_EXAMPLES = 40

_FUZZ = settings(max_examples=LINE_EXAMPLES, deadline=None,
                 suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])

ENDINGS = [b"\n", b"\r\n", b"\r"]
#: What may join two sentences on one line (#14 item 1: after a '\\', ',' or ' ').
JOINS = [b"", b"\\", b",", b" ", b"\t"]


def _data_files() -> list[Path]:
    root = Path(__file__).resolve().parents[2] / "shared" / "data"
    import os

    root = Path(os.environ.get("STSDETECT_SHARED_DATA", root))
    if not root.is_dir():
        return []
    return sorted(p for p in root.rglob("*") if p.is_file() and p.suffix.lower() != ".md")


DATA_FILES = _data_files()

#: Examples the fuzz tests run in CI: hypothesis examples plus seeded byte mutations.
CI_EXAMPLES = LINE_EXAMPLES + SPLIT_EXAMPLES + len(DATA_FILES) * (MUTATIONS_PER_FILE + 1)


def _check(data) -> None:
    """The invariants every read must keep, whatever the input."""
    data.report.check()  # every record decoded or skipped under a reason, exactly once
    pos = data.positions
    assert pos["mmsi"].between(1, 999_999_999).all()
    assert (pos["lat"].isna() | pos["lat"].between(-90, 90)).all()
    assert (pos["lon"].isna() | pos["lon"].between(-180, 180)).all()
    assert len(pos) <= data.report.decoded_lines


@st.composite
def sentence(draw):
    msg_type = draw(st.sampled_from([1, 3, 18]))
    data = {"type": msg_type, "mmsi": draw(st.integers(1, 999_999_999)),
            "lat": draw(st.integers(-90 * 600, 90 * 600)) / 600,
            "lon": draw(st.integers(-180 * 600, 180 * 600)) / 600,
            "speed": draw(st.integers(0, 200)) / 10}
    text = encode_dict(data, talker_id=draw(st.sampled_from(["AI", "AB", "BS"])),
                       radio_channel=draw(st.sampled_from(["A", "B"])))[0]
    if draw(st.booleans()):  # a tag block with a time, as receivers write it
        t = draw(st.integers(1_600_000_000, 1_700_000_000))
        body = f"c:{t}"
        cs = 0
        for ch in body.encode():
            cs ^= ch
        text = f"\\{body}*{cs:02X}\\{text}"
    return text.encode()


@st.composite
def mutated_dump(draw):
    """(dump bytes, the sentences left whole: intact lines and both halves of joined ones)."""
    lines = draw(st.lists(sentence(), min_size=1, max_size=12))
    out: list[bytes] = []
    intact = []
    joined: list[bytes] = []
    i = 0
    while i < len(lines):
        kind = draw(st.sampled_from(["keep", "keep", "join", "insert", "truncate"]))
        line = lines[i]
        if kind == "join" and i + 1 < len(lines):
            # #14 item 1: both sentences of a joined line must decode (and be counted)
            line = line + draw(st.sampled_from(JOINS)) + lines[i + 1]
            joined.extend([lines[i], lines[i + 1]])
            i += 1
        elif kind == "insert":
            at = draw(st.integers(0, len(line)))
            junk = draw(st.binary(min_size=1, max_size=4))
            line = line[:at] + junk + line[at:]
        elif kind == "truncate":
            line = line[:draw(st.integers(0, max(len(line) - 1, 0)))]
        else:
            intact.append(len(out))
        out.append(line)
        i += 1
    kept = [out[k] for k in intact] + joined  # the sentences left whole, by value
    if out and draw(st.booleans()):  # a line repeated: the shape of #14 item 9's crash
        k = draw(st.integers(0, len(out) - 1))
        out[k + 1:k + 1] = [out[k]] * draw(st.integers(1, 40))
    ending = draw(st.sampled_from([*ENDINGS, None]))  # None: a mix of endings
    ends = [ending or draw(st.sampled_from(ENDINGS)) for _ in out]
    last = draw(st.booleans())  # the last line with or without its ending
    body = b"".join(line + end for line, end in zip(out, ends, strict=True))
    if not last:
        body = body[: len(body) - len(ends[-1])]
    return body, kept


@_FUZZ
@given(mutated_dump())
@example(case=(b"PK\x05\x06!AIVDO,1,1,,A,100000OP0000000000000001P000,0*5B", []))  # CI, session 13
def test_mutated_sentences_never_crash_and_intact_lines_decode(case):
    body, intact = case
    from stsdetect.ais import sources

    magics = (*sources._ZIP_MAGIC, *(magic for magic, _ in sources._MAGIC))
    if body.startswith(magics):
        # a mutation made the first bytes an archive's or a compressor's magic: the reader
        # takes it for one (by design: by bytes, not by file name) and, when that does not
        # open, says so in a clear error instead of reading it as text
        try:
            read_ais(io.BytesIO(body))
        except OSError as exc:
            assert "ZIP" in str(exc) or "compressed" in str(exc), exc
        return
    data = read_ais(io.BytesIO(body))
    _check(data)
    # every sentence left as pyais encoded it is decoded, whatever its neighbours are, also
    # when run together with another on one line
    want = [read_ais([line.decode()]).positions for line in intact]
    want = pd.concat(want, ignore_index=True) if want else data.positions.iloc[:0]
    got = data.positions
    key = ["mmsi", "lat", "lon"]
    merged = want[key].merge(got[key].drop_duplicates(), how="left", indicator=True)
    assert (merged["_merge"] == "both").all(), (body, merged)


@pytest.mark.skipif(not DATA_FILES, reason="../shared/data is absent")
@pytest.mark.parametrize("path", DATA_FILES, ids=lambda p: f"{p.parent.name}/{p.name}")
def test_byte_mutations_of_real_files(path):
    raw = path.read_bytes()[:MUTATE_BYTES]
    rng = random.Random(f"{path.parent.name}/{path.name}")  # seeded: CI reproduces
    _check(read_ais(io.BytesIO(raw)))
    for _ in range(MUTATIONS_PER_FILE):
        data = bytearray(raw)
        for _ in range(rng.randint(1, 8)):
            op = rng.choice(["flip", "insert", "delete", "newline"])
            at = rng.randrange(len(data) + 1) if data else 0
            if op == "flip" and at < len(data):
                data[at] = rng.randrange(256)
            elif op == "insert":
                data[at:at] = bytes(rng.randrange(256) for _ in range(rng.randint(1, 16)))
            elif op == "delete":
                del data[at:at + rng.randint(1, 32)]
            else:
                data[at:at] = rng.choice([b"\n", b"\r", b"\r\n", b"\x00"])
        data = data[: rng.randint(len(data) // 2, len(data))] if data else data
        _check(read_ais(io.BytesIO(bytes(data))))


def _first_fragment_starts(lines: list[bytes]) -> list[int]:
    """Indexes of lines where a cut cannot split a multipart message or a header line from its
    sentence: lines holding a single-part sentence or a first fragment, after no header."""
    ok = []
    for i, line in enumerate(lines):
        text = line.split(b"!")[-1] if b"!" in line else b""
        parts = text.split(b",")
        prev = lines[i - 1].strip() if i else b""
        header_before = prev.startswith(b"$PGHP") or (prev.startswith(b"\\")
                                                      and prev.endswith(b"\\"))
        if len(parts) > 3 and parts[2] == b"1" and not header_before:
            ok.append(i)
    return ok


_SPLIT_FILES = [p for p in DATA_FILES if p.suffix.lower() not in (".json", ".csv")]


@pytest.mark.skipif(not _SPLIT_FILES, reason="../shared/data is absent")
@settings(max_examples=SPLIT_EXAMPLES, deadline=None,
          suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture])
@given(st.data())
def test_one_file_or_many_give_the_same_positions(tmp_path_factory, data):
    path = data.draw(st.sampled_from(_SPLIT_FILES), label="file")
    lines = path.read_bytes()[:MUTATE_BYTES].split(b"\n")[:-1]
    if not lines:
        return
    starts = _first_fragment_starts(lines)
    cuts = sorted(set(data.draw(st.lists(st.sampled_from(starts), max_size=6), label="cuts")
                      if starts else []))
    folder = tmp_path_factory.mktemp("split")
    pieces, prev = [], 0
    for k, cut in enumerate([*cuts, len(lines)]):
        if cut <= prev and k < len(cuts):
            continue
        piece = folder / f"part{k:02d}.nmea"
        piece.write_bytes(b"".join(line + b"\n" for line in lines[prev:cut]))
        pieces.append(str(piece))
        prev = cut
    whole = folder / "whole.nmea"
    whole.write_bytes(b"".join(line + b"\n" for line in lines))
    one, many = read_ais(str(whole)), read_ais(pieces)
    _check(one)
    _check(many)
    drop = [c for c in ("file", "line") if c in one.positions]  # provenance differs by design
    pd.testing.assert_frame_equal(one.positions.drop(columns=drop),
                                  many.positions.drop(columns=drop))
    assert one.report.decoded == many.report.decoded


@pytest.mark.parametrize("line", [b"\\s:117,c:1668046496*0A\\!AIVDM", b"\\s:1*00\\!AIVDM,1",
                                  b"!AIVDM,1,1,,A,13prmQ?P001EOA4OC3h@u?vl20SR,0*7F\\"])
def test_identical_broken_lines_do_not_crash(line):
    """#14 item 9: 32 identical '\\s:117,c:1668046496*0A\\!AIVDM' lines raised IndexError."""
    for n in (1, 31, 32, 33, 200):
        _check(read_ais(io.BytesIO(b"\n".join([line] * n) + b"\n")))


def test_ci_example_count_is_what_the_closing_note_quotes():
    assert CI_EXAMPLES == LINE_EXAMPLES + SPLIT_EXAMPLES + len(DATA_FILES) * 5
