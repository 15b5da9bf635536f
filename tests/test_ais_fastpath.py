"""The line-structured fast path of ``frame_chunk`` against the general path on the same bytes."""

from __future__ import annotations

import functools
import os

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from stsdetect.ais import framing
from stsdetect.ais.framing import _ARRAY_FIELDS, _frame_general, frame_chunk

SETTINGS = settings(max_examples=40, deadline=None)


def _assert_same(data: bytes) -> None:
    """Same counts and the same rows (frame_chunk's grouped by layout: compared by record)."""
    fast, general = frame_chunk(data), _frame_general(data)
    assert fast.n_records == general.n_records
    assert fast.n_sentences == general.n_sentences
    assert fast.skipped == general.skipped
    assert fast.notes == general.notes
    assert not general.parts
    assert (np.diff(general.record) > 0).all()
    rows = fast.rows()
    order = np.argsort(rows["record"], kind="stable")
    for k in _ARRAY_FIELDS:
        x, y = rows[k][order], getattr(general, k)
        if k == "source":
            x = np.array(fast.source_names, dtype=object)[x]
            y = np.array(general.source_names, dtype=object)[y]
        np.testing.assert_array_equal(x, y, err_msg=k)


def _xor(text: bytes) -> int:
    return functools.reduce(lambda acc, ch: acc ^ ch, text, 0)


# position payloads (types 1, 3, 18, 19, 27 and others), with ':' ';' '`' that are payload bytes
PAYLOADS = [b"19qV9O@P2;8owl`A5?BQDmr1P000", b"B9Sg5WP0FR8T<=TUv7=CN9000000",
            b"3:rjQl@P2H8i?c6BQidTw0d1P000", b"K8VSqb9LdU28WP8<", b"4h3Ovk1udp6I9o>jPHEdjdW000S:",
            b"C5N3SRgPEnJGEBT>NhWAwwo862PaLELTBJ:V00000000S0D:R220"]


@st.composite
def sentence(draw) -> bytes:
    payload = draw(st.sampled_from(PAYLOADS))
    head = b"AIVD" + draw(st.sampled_from([b"M", b"O"])) + b",1,1," + draw(
        st.sampled_from([b"", b"3"])) + b"," + draw(st.sampled_from([b"A", b"B", b""])) + b","
    body = head + payload + b"," + draw(st.sampled_from([b"0", b"2"]))
    csum = _xor(body) ^ draw(st.sampled_from([0] * 6 + [1]))
    return b"!" + body + b"*%02X" % csum


@st.composite
def line(draw, same_length: bool = False) -> bytes:
    """A tag-blocked sentence; with ``same_length`` mostly lines of one layout and length."""
    if same_length:
        body = draw(st.sampled_from([b"AIVDM,1,1,,A,19qV9O@P2;8owl`A5?BQDmr1P000,0",
                                     b"AIVDO,1,1,,B,3:rjQl@P2H8i?c6BQidTw0d1P000,0",
                                     b"AIVDM,1,1,,B,4h3Ovk1udp6I9o>jPHEdjdW000S:,0"]))
        sent = b"!" + body + b"*%02x" % (_xor(body) ^ draw(st.sampled_from([0] * 9 + [1])))
    else:
        sent = draw(sentence())
    station = draw(st.sampled_from([b"rx0", b"rx1", b"r:1", b"ab;", b"x,y"]
                                   + ([] if same_length else [b"", b"12345"])))
    c = draw(st.sampled_from([b"1600000000", b"1600000001", b"16000x0000", b"0000000099"]
                             + ([] if same_length else [b"1600000000123", b"99"])))
    tags = draw(st.sampled_from([[b"s:" + station, b"c:" + c]] * (4 if same_length else 1)
                                + [[b"c:" + c, b"s:" + station], [b"c:" + c, b"s:" + station],
                                   [b"s:" + station, b"c:" + c, b"s:x"]]))
    tag = b",".join(tags)
    text = b"\\" + tag + b"*%02X\\" % _xor(tag) + sent
    if draw(st.integers(0, 4)) == 0:  # a bare sentence, without tag block
        text = sent
    if draw(st.integers(0, 9)) == 0:  # a stray or changed byte somewhere
        pos = draw(st.integers(0, len(text) - 1))
        text = text[:pos] + draw(st.sampled_from([b",", b"*", b"!", b"\\", b"$", b":", b"\r",
                                                  b"|", b"x", b"\x00", b"\xff"])) + text[pos + 1:]
    return text


other_lines = st.sampled_from([
    b"", b"# comment", b"!AIVDM,1,1,,A,19qV9O@P2;8owl`A5?BQDmr1P000,0*1B",
    b"$PGHP,1,2020,01,02,03,04,05,006,219,,2190047,1,48*1A",
    b"\\g:1-2-7,s:rx0,c:1600000000*00\\!AIVDM,2,1,7,A,55P5TL01VIaAL@7WKO@mBplU@<PDhh000000001S;AJ::4A80?4i@E53,0*3E",
    b"\\g:2-2-7*00\\!AIVDM,2,2,7,A,1@0000000000000,2*55", b"\\s:rx0*00\\",
    b"1600000000,!AIVDM,1,1,,B,B9Sg5WP0FR8T<=TUv7=CN9000000,0*5A",
    b"\\s:rx9,c:1600000000*01\\!AIVDM,1,1,,A,19qV9O@P2;8owl`A5?BQDmr1P000,0*1B!AIVDM,1,1,,A,1",
])


@SETTINGS
@given(st.lists(st.one_of(line(True), line(True), line(True), line(), other_lines),
                min_size=60, max_size=150),
       st.sampled_from([b"\n", b"\r\n"]))
def test_fast_path_matches_general_path(lines, eol):
    _assert_same(eol.join(lines) + eol)


@SETTINGS
@given(line(), st.integers(40, 120), st.lists(st.tuples(st.integers(0, 119), other_lines),
                                              max_size=8))
def test_one_layout_with_interruptions(template_line, count, inserts):
    lines = [template_line] * count
    for pos, text in inserts:
        lines.insert(min(pos, len(lines)), text)
    _assert_same(b"\n".join(lines) + b"\n")


def test_fast_path_takes_most_lines_of_a_clean_dump():
    sent = b"AIVDM,1,1,,A,19qV9O@P2;8owl`A5?BQDmr1P000,0"
    tag = b"s:rx0,c:1600000000"
    line_ = b"\\" + tag + b"*%02X\\!" % _xor(tag) + sent + b"*%02X" % _xor(sent)
    data = b"\n".join([line_] * 100) + b"\n"
    tp = framing._line_template(line_)
    assert tp is not None
    _assert_same(data)


def test_real_dumps_match(shared_data):
    n = 0
    for root, _, files in os.walk(shared_data):
        for name in sorted(files):
            path = os.path.join(root, name)
            if os.path.getsize(path) > 20_000_000:
                continue
            with open(path, "rb") as fh:
                data = fh.read()
            if not data:
                continue
            _assert_same(data if data.endswith(b"\n") else data + b"\n")
            n += 1
    assert n > 10


@pytest.mark.parametrize("chunk_bytes", [1024, 4096])
def test_read_ais_report_invariant(tmp_path, chunk_bytes):
    from stsdetect import read_ais

    sent = b"AIVDM,1,1,,A,19qV9O@P2;8owl`A5?BQDmr1P000,0"
    tag = b"s:rx0,c:1600000000"
    good = b"\\" + tag + b"*%02X\\!" % _xor(tag) + sent + b"*%02X" % _xor(sent)
    lines = [good] * 200
    lines[50] = good[:-1] + b"0"  # bad checksum
    lines[90] = b"garbage"
    p = tmp_path / "d.nmea"
    p.write_bytes(b"\n".join(lines) + b"\n")
    res = read_ais(str(p), chunk_bytes=chunk_bytes)
    rep = res.report
    assert rep.lines == 200
    assert rep.lines == sum(rep.decoded.values()) + sum(rep.skipped.values())
    assert len(res.positions) == 198


def _tagged(tags: bytes, body: bytes, bad_sum: bool = False) -> bytes:
    return (b"\\" + tags + b"*%02X\\!" % _xor(tags) + body
            + b"*%02X" % (_xor(body) ^ int(bad_sum)))


@st.composite
def fragment_pair(draw, gid: bytes = b"99", seq: bytes = b"0") -> list:
    """A two-part type 5 as receivers emit it, sometimes damaged."""
    p1 = b"55P5TL01VIaAL@7WKO@mBplU@<PDhh000000001S;AJ::4A80?4i@E53"
    p2 = draw(st.sampled_from([b"1@0000000000000", b"1@00000000000~0", b"1@0000000000001"]))
    g1 = draw(st.sampled_from([b"g:1-2-" + gid, b"g:1-2-" + gid, b"g:1-x-" + gid, b"g:12" + gid]))
    lines = [_tagged(g1 + b",s:rx0,c:1600000000", b"AIVDM,2,1," + seq + b",A," + p1 + b",0",
                     draw(st.booleans()) and draw(st.booleans())),
             _tagged(b"g:2-2-" + gid + b",s:rx0,c:1600000000",
                     b"AIVDM," + draw(st.sampled_from([b"2,2", b"2,2", b"2,3", b"1,2"])) + b","
                     + seq + b",A," + p2 + b",2")]
    return lines


@SETTINGS
@given(st.data(), st.sampled_from([b"7", b"99", b"1234"]), st.sampled_from([b"0", b"1", b""]))
def test_fragments_among_fast_path_lines_match(data, gid, seq):
    groups = data.draw(st.lists(st.one_of(fragment_pair(gid, seq), fragment_pair(),
                                          st.lists(line(True), max_size=3)),
                                min_size=40, max_size=90))
    _assert_same(b"\n".join(x for g in groups for x in g) + b"\n")


def _read_both(monkeypatch, source, **kw):
    """read_ais with the fast path, then with the general path only."""
    from stsdetect import read_ais
    from stsdetect.ais import reader

    fast = read_ais(source, **kw)
    with monkeypatch.context() as m:
        m.setattr(reader, "frame_chunk", _frame_general)
        general = read_ais(source, **kw)
    return fast, general


def _assert_same_read(fast, general):
    import pandas as pd

    pd.testing.assert_frame_equal(fast.positions, general.positions)
    pd.testing.assert_frame_equal(fast.vessels, general.vessels)
    for k in ("lines", "sentences", "decoded", "skipped", "notes"):
        assert getattr(fast.report, k) == getattr(general.report, k), k
    rep = fast.report
    assert rep.lines == sum(rep.decoded.values()) + sum(rep.skipped.values())


def test_read_ais_real_dumps_same_positions_and_report(shared_data, monkeypatch):
    paths = sorted(p for p in shared_data.rglob("*") if p.is_file()
                   and p.stat().st_size < 20_000_000 and p.suffix in (".nmea", ".txt", ".ais",
                                                                       ".log", ".gz", ""))
    n = 0
    for path in paths:
        try:
            fast, general = _read_both(monkeypatch, str(path), chunk_bytes=65536)
        except (OSError, ValueError, TypeError):
            continue
        _assert_same_read(fast, general)
        n += fast.report.lines > 0
    assert n > 5


@settings(max_examples=15, deadline=None)
@given(st.lists(st.one_of(line(True), line(True), line(True), line(), other_lines),
                min_size=60, max_size=200))
def test_read_ais_mixed_stream_same_positions_and_report(lines):
    import pytest as _pytest

    with _pytest.MonkeyPatch.context() as mp:
        _assert_same_read(*_read_both(mp, lines, chunk_bytes=2048))


@SETTINGS
@given(st.lists(st.one_of(sentence(), sentence(), other_lines), min_size=40, max_size=120))
def test_bare_sentences_match(lines):
    _assert_same(b"\n".join(lines) + b"\n")


def _spy_fast_lines(monkeypatch) -> list:
    """Record how many lines each fast-path template call accepts."""
    seen: list = []
    orig = framing._fast_lines

    def spy(a, starts, tp):
        ok, cols = orig(a, starts, tp)
        seen.append(int(ok.sum()))
        return ok, cols

    monkeypatch.setattr(framing, "_fast_lines", spy)
    return seen


def test_two_layouts_of_one_length(monkeypatch):
    """``s:139 ... ,A,`` and ``s:1180 ... ,,`` lines have one length but two layouts."""
    one = _tagged(b"s:139,c:1668046199", b"AIVDM,1,1,,B,1815L`@01VNwRhh5B4IC62Kh08RH,0")
    two = _tagged(b"s:1180,c:1668046490", b"AIVDM,1,1,,,18;97k0Mf@hVMs810r16?h65q<LL,0")
    assert len(one) == len(two)
    seen = _spy_fast_lines(monkeypatch)
    data = b"\n".join([one, two] * 50 + [two] * 40) + b"\n"
    _assert_same(data)
    assert sorted(seen) == [50, 90]


def test_crlf_lines_take_the_fast_path(monkeypatch):
    one = _tagged(b"s:139,c:1668046199", b"AIVDM,1,1,,B,1815L`@01VNwRhh5B4IC62Kh08RH,0")
    seen = _spy_fast_lines(monkeypatch)
    _assert_same(b"\r\n".join([one] * 60) + b"\r\n")
    assert seen == [60]
    seen.clear()
    # lone and doubled '\r' (old Mac line ends) among them: general path, same result
    _assert_same(b"\n".join([one + b"\r", one + b"\r\r", one, one + b"\r" + one] * 30) + b"\n")
    assert sum(seen) == 60


@SETTINGS
@given(st.data(), st.sampled_from([b"7", b"1234", b"123456789012", b"1234567890123"]),
       st.sampled_from([b"0", b"1", b""]))
def test_fragment_layouts_match(data, gid, seq):
    """Many fragments of one layout (a template each for parts 1 and 2), some damaged."""
    pairs = data.draw(st.lists(fragment_pair(gid, seq), min_size=40, max_size=70))
    _assert_same(b"\n".join(x for p in pairs for x in p) + b"\n")


def test_clean_fragments_take_the_fast_path(monkeypatch):
    p1 = b"55P5TL01VIaAL@7WKO@mBplU@<PDhh000000001S;AJ::4A80?4i@E53"
    lines = []
    for gid in range(1000, 1040):
        lines += [_tagged(b"g:1-2-%d,s:rx0,c:1600000000" % gid, b"AIVDM,2,1,3,A," + p1 + b",0"),
                  _tagged(b"g:2-2-%d,s:rx0,c:1600000000" % gid, b"AIVDM,2,2,3,A,1@,2")]
    seen = _spy_fast_lines(monkeypatch)
    _assert_same(b"\n".join(lines) + b"\n")
    assert sorted(seen) == [40, 40]
    fc = frame_chunk(b"\n".join(lines) + b"\n")
    order = np.argsort(fc.record)
    assert fc.group_id[order].tolist() == [g for g in range(1000, 1040) for _ in (1, 2)]
    assert set(fc.group_total.tolist()) == {2}
    assert fc.frag[order].tolist() == [1, 2] * 40


@SETTINGS
@given(st.lists(st.tuples(st.sampled_from([
    b"403OviQuMGCqWrRO9>E6fE700@GO",  # type 4, base station report
    b"H3m9b:@Tu>1UF2220000000000000",  # type 24 part A
    b"402=0N1ulT3>T0Hi;`NJ9a100000",
    b"402=0N1ulT3>T0Hi;`NJ9a10000~",  # an invalid character past the 24th
    b"oO2=0N1ulT3>T0Hi;`NJ9a100000",  # type 55: unsupported
]), st.booleans()), min_size=40, max_size=80))
def test_single_part_other_types_match(items):
    lines = [_tagged(b"s:rx0,c:1600000000", b"AIVDM,1,1,,A," + p + b",0", bad)
             for p, bad in items]
    _assert_same(b"\n".join(lines) + b"\n")


def test_base_station_reports_take_the_fast_path(monkeypatch):
    line_ = _tagged(b"s:rx0,c:1600000000", b"AIVDM,1,1,,A,403OviQuMGCqWrRO9>E6fE700@GO,0")
    seen = _spy_fast_lines(monkeypatch)
    _assert_same(b"\n".join([line_] * 50) + b"\n")
    assert seen == [50]


@SETTINGS
@given(st.lists(st.one_of(line(True), line(True), line(True), line(), other_lines),
                min_size=60, max_size=150), st.integers(1, 40))
def test_blocks_of_lines_change_nothing(lines, block):
    """The fast path and the decoder in blocks of ``block`` lines give the same result."""
    import pytest as _pytest

    from stsdetect.ais import reader

    data = b"\n".join(lines) + b"\n"
    whole = frame_chunk(data)
    with _pytest.MonkeyPatch.context() as mp:
        mp.setattr(framing, "FAST_BLOCK_LINES", block)
        mp.setattr(reader, "FAST_BLOCK_LINES", block)
        _assert_same(data)
        blocked = frame_chunk(data)
        fast, general = _read_both(mp, lines)
        _assert_same_read(fast, general)
    whole, blocked = whole.rows(), blocked.rows()
    order_w, order_b = np.argsort(whole["record"]), np.argsort(blocked["record"])
    for k in _ARRAY_FIELDS:
        if k != "source":
            np.testing.assert_array_equal(whole[k][order_w], blocked[k][order_b], err_msg=k)


@SETTINGS
@given(st.lists(st.tuples(st.sampled_from([b"rx1", b"station01", b"station02",
                                            b"a-long-station-name-of-32-bytes!"]),
                          st.sampled_from(PAYLOADS[:3])), min_size=40, max_size=120))
def test_long_and_short_source_names_match(items):
    """Source values of up to 7 bytes are keyed from the fast path's words, longer ones by
    _strings; layouts of both kinds in one chunk keep their names apart."""
    lines = [_tagged(b"s:" + name + b",c:1600000000", b"AIVDM,1,1,,A," + p + b",0")
             for name, p in items]
    _assert_same(b"\n".join(lines) + b"\n")


@st.composite
def split_position(draw) -> list:
    """A position report sent as two fragments (legal, if rare), tag-blocked or bare."""
    payload = draw(st.sampled_from(PAYLOADS[:3]))
    cut = draw(st.integers(1, len(payload) - 1))
    seq = b"%d" % draw(st.integers(0, 9))
    one = b"AIVDM,2,1," + seq + b",A," + payload[:cut] + b",0"
    two = b"AIVDM,2,2," + seq + b",A," + payload[cut:] + b",0"
    if draw(st.booleans()):
        return [b"!" + one + b"*%02X" % _xor(one), b"!" + two + b"*%02X" % _xor(two)]
    return [_tagged(b"s:rx5,c:1600000100", one), _tagged(b"s:rx5,c:1600000100", two)]


@settings(max_examples=25, deadline=None)
@given(st.lists(st.tuples(st.integers(0, 99), st.one_of(st.lists(sentence(), min_size=1,
                                                                  max_size=2),
                                                         split_position())),
                min_size=1, max_size=6),
       st.sampled_from([4096, 1 << 16]))
def test_positions_from_every_path_keep_input_order(inserts, chunk_bytes):
    """Fast-path reports (decoded straight into the row store), general-path reports and
    reports assembled from fragments, interleaved in one chunk, come out in input order
    and as the general path alone gives them."""
    import pytest as _pytest

    lines = [_tagged(b"s:rx0,c:%d" % (1_600_000_000 + i),
                     b"AIVDM,1,1,,A,19qV9O@P2;8owl`A5?BQDmr1P000,0") for i in range(100)]
    for at, extra in sorted(inserts, reverse=True):
        lines[at:at] = extra
    with _pytest.MonkeyPatch.context() as mp:
        seen = _spy_fast_lines(mp)
        fast, general = _read_both(mp, lines, chunk_bytes=chunk_bytes)
    assert sum(seen) >= 50  # most lines took the fast path
    _assert_same_read(fast, general)


def test_assembled_and_paired_reports_around_stored_ones_keep_order(monkeypatch):
    """A report assembled from fragments with a sentence between them comes before a later
    report from an adjacent pair; single-part reports between must stay between."""
    payload = PAYLOADS[0]
    one, two = payload[:10], payload[10:]

    def frag(k, seq, part):
        body = b"AIVDM,2,%d,%d,A,%s,0" % (k, seq, part)
        return b"!" + body + b"*%02X" % _xor(body)

    single = [_tagged(b"s:rx0,c:%d" % (1_600_000_000 + i),
                      b"AIVDM,1,1,,A,19qV9O@P2;8owl`A5?BQDmr1P000,0") for i in range(40)]
    lines = [frag(1, 1, one), single[0], frag(2, 1, two), *single[1:40],
             frag(1, 2, one), frag(2, 2, two)]
    fast, general = _read_both(monkeypatch, lines)
    _assert_same_read(fast, general)
    # input order: single 0, then A (complete at its second fragment), the other singles, B
    missing = fast.positions["time"].isna().to_numpy()
    assert len(missing) == 42 and np.flatnonzero(missing).tolist() == [1, 41]


# Lines whose layouts the fast path takes, for the byte-by-byte comparison below.
_TEMPLATE_LINES = [
    _tagged(b"s:rx0,c:1600000000", b"AIVDM,1,1,,A,19qV9O@P2;8owl`A5?BQDmr1P000,0"),
    _tagged(b"c:1600000000123,s:station7", b"AIVDO,1,1,3,B,B9Sg5WP0FR8T<=TUv7=CN9000000,0"),
    _tagged(b"s:rx0,c:1600000000", b"AIVDM,1,1,,A,403OviQuMGCqWrRO9>E6fE700@GO,0"),
    _tagged(b"g:1-2-1234,s:rx0,c:1600000000",
            b"AIVDM,2,1,3,A,55P5TL01VIaAL@7WKO@mBplU@<PDhh000000001S;AJ::4A80?4i@E53,0"),
    _tagged(b"g:2-2-1234,s:rx0,c:1600000000", b"AIVDM,2,2,3,A,1@0000000000000,2"),
    b"!AIVDM,1,1,,B,3:rjQl@P2H8i?c6BQidTw0d1P000,2*%02X"
    % _xor(b"AIVDM,1,1,,B,3:rjQl@P2H8i?c6BQidTw0d1P000,2"),
]
#: Replacement bytes: structure, digits at their limits, hex, armouring limits, high bytes.
_CHANGES = b",*!\\$:;|\r\t 0569:/AFafMOLNWX`wx\x00\x7f\x80\xb0\xb5\xff"


@pytest.mark.parametrize("template_line", _TEMPLATE_LINES)
@pytest.mark.parametrize("colon_mode", [False, True])
def test_every_single_byte_change_matches_general_path(template_line, colon_mode):
    """Every byte of a fast-path line changed to each of ``_CHANGES``, among clean lines of
    the layout (which set the template): the fast path must reject or read each one exactly
    as the general path does. ``colon_mode``: the chunk also holds a tag block without a
    checksum, so that the general path finds tags by their ':' (see _tag_fields)."""
    assert framing._line_template(template_line) is not None
    bang, star = template_line.index(b"!"), template_line.rindex(b"*")
    changed = []
    for i in range(len(template_line)):
        for c in _CHANGES:
            if c == template_line[i]:
                continue
            text = template_line[:i] + bytes([c]) + template_line[i + 1:]
            changed.append(text)
            if bang < i < star:  # also with the checksum made right again
                changed.append(text[:star + 1] + b"%02X" % _xor(text[bang + 1:star]))
    clean = [template_line] * 40
    extra = [b"\\s:rx1\\!AIVDM,1,1,,A,19qV9O@P2;8owl`A5?BQDmr1P000,0*1B"] if colon_mode else []
    _assert_same(b"\n".join(clean[:20] + changed + extra + clean[20:]) + b"\n")


@pytest.mark.parametrize("colon_mode", [False, True])
def test_tag_delimiters_in_short_source_names(monkeypatch, colon_mode):
    """``\\c:`` inside a source name starts a tag when the general path reads tags by their
    ':': such lines must leave the fast path (which reads names per distinct name)."""
    body = b"AIVDM,1,1,,A,19qV9O@P2;8owl`A5?BQDmr1P000,0"
    clean = _tagged(b"s:rx000,c:1600000000", body)
    odd = [_tagged(b"s:" + name + b",c:1600000000", body)
           for name in (b"\\c:99", b"r\\c:9", b"rx:00", b"rx\\00")]
    assert {len(x) for x in odd} == {len(clean)}
    extra = [b"\\s:rx1\\!AIVDM,1,1,,A,19qV9O@P2;8owl`A5?BQDmr1P000,0*1B"] if colon_mode else []
    seen = _spy_fast_lines(monkeypatch)
    _assert_same(b"\n".join([clean] * 30 + odd * 3 + extra + [clean] * 30) + b"\n")
    assert sum(seen) == 60  # the clean lines only


def test_vdm_and_vdo_lines_and_high_bytes_after_them_take_the_fast_path(monkeypatch):
    """'VDM' and 'VDO' lines share one template; a high byte just past a line's end (the
    next line's first byte, inside the line's last gathered word) does not reject it."""
    vdm = _tagged(b"s:rx0,c:1600000000", b"AIVDM,1,1,,A,19qV9O@P2;8owl`A5?BQDmr1P000,0")
    vdo = _tagged(b"s:rx0,c:1600000000", b"AIVDO,1,1,,A,19qV9O@P2;8owl`A5?BQDmr1P000,0")
    assert len(vdm) % 8 not in (0, 7)  # the next line's first byte is gathered with it
    seen = _spy_fast_lines(monkeypatch)
    _assert_same(b"\n".join([vdm, vdo] * 20 + [vdm, b"\xff junk"] * 20) + b"\n")
    assert sum(seen) == 60
