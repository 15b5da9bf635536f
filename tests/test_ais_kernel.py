"""The compiled NMEA kernel (:mod:`stsdetect.ais.kernel`) against independent oracles.

Oracles: a plain-Python decoder of one payload's bit string (the ITU-R M.1371-5 layouts), a
Python split of tag blocks, and pyais on every line layout ``read_ais`` supports.
"""

from __future__ import annotations

import functools
import io
import math

import numpy as np
import pandas as pd
import pytest
from _reads import assert_same_read
from hypothesis import given, settings
from hypothesis import strategies as st
from pyais.encode import encode_dict

from stsdetect.ais import read_ais
from stsdetect.ais.kernel import COUNT_NAMES, NAT_NS, decode_chunk, decode_payloads

SETTINGS = settings(max_examples=40, deadline=None)
REQUIRED_BITS = {1: 137, 2: 137, 3: 137, 18: 133, 19: 133, 27: 94}


SENTENCE = b"!AIVDM,1,1,,A,13u?etPv2;0n:dDPwUM1U1Cb069D,0*24"
tag_values = st.text(alphabet="abcxyz0123456789:-/ ", max_size=12)


@st.composite
def tag_block(draw):
    """A tag block as (text, expected c value or None, expected s value)."""
    tags = draw(st.lists(st.tuples(st.sampled_from("cstgdnx"), tag_values), max_size=5))
    if draw(st.booleans()):
        tags.append(("c", str(draw(st.integers(1_000_000_000, 4_199_999_999)))))
    tags = draw(st.permutations(tags))
    text = ",".join(f"{k}:{v}" for k, v in tags)
    first = {}
    for k, v in tags:
        first.setdefault(k, v)
    return text, first.get("c"), first.get("s", "")


@SETTINGS
@given(st.lists(tag_block(), min_size=1, max_size=20), st.booleans())
def test_tag_blocks_read_like_python_split(blocks, one_without_checksum):
    """Tag blocks (with or without '*hh') read like splitting their text at ',' and ':'."""
    lines = [b"\\" + text.encode() + b"*00\\" + SENTENCE for text, _, _ in blocks]
    if one_without_checksum:  # a block without its '*hh'
        lines.append(b"\\s:zz\\" + SENTENCE)
        blocks = [*blocks, ("s:zz", None, "zz")]
    _check_tag_blocks(blocks, lines)


def _check_tag_blocks(blocks: list, lines: list) -> None:
    """Each of ``lines`` (one sentence each, tag block ``blocks[i]``) decodes with the time
    and source a Python split of its block gives, and a 'c:' that is no number counts as
    time_unparsed."""
    data = b"\n".join(lines) + b"\n"
    res = decode_chunk(np.frombuffer(data, dtype=np.uint8), len(data))
    assert res.counts["sentences"] == res.counts["sentence_records"] == len(blocks)
    pos = res.pos
    assert list(pos["record"]) == list(range(len(blocks)))
    unparsed = 0
    for i, (_, c, s) in enumerate(blocks):
        value = int(c) if c and c.isascii() and c.isdigit() and len(c) <= 13 else -1
        # any number is a time (seconds, or ms from 11 digits on; read_ais then counts an
        # implausible one as implausible_time); anything else is no time
        if value < 0:
            expect = NAT_NS
            unparsed += c is not None
        elif value <= 9_000_000_000:
            expect = value * 10**9
        else:
            expect = min(value, 9 * 10**12) * 10**6
        assert pos["time"][i] == expect
        assert res.source_names[pos["source"][i]] == s
    assert res.counts["time_unparsed"] == unparsed


@SETTINGS
@given(st.binary(min_size=1, max_size=80), st.data())
def test_eight_bytes_at_once_compare_like_bytes(raw, data):
    """The kernel's tag-block comparison, 8 bytes at a time from aligned words at any
    offsets, against comparing the bytes (a span equal to another but for one byte, which
    may be its last)."""
    from stsdetect.ais.kernel import _same_bytes8

    n = len(raw)
    buf = np.zeros((2 * n + 64) // 8 * 8, np.uint8)  # (words past both spans, as the kernel has)
    p = data.draw(st.integers(0, 8))
    q = data.draw(st.integers(p + n, p + n + 8))
    buf[p:p + n] = np.frombuffer(raw, np.uint8)
    buf[q:q + n] = buf[p:p + n]
    if data.draw(st.booleans()):
        at = data.draw(st.sampled_from([0, n - 1, n // 2]))
        buf[q + at] ^= np.uint8(1 << data.draw(st.integers(0, 7)))
    words = buf.view(np.uint64)
    for k in range(n + 1):  # (every prefix)
        assert _same_bytes8(words, p, q, k) == (bytes(buf[p:p + k]) == bytes(buf[q:q + k]))


def _split_tags(text: str) -> tuple:
    """The first 'c:' value (None: none) and 's:' value ("": none) of a tag block's text."""
    first: dict = {}
    for field in text.split(",") if text else []:
        first.setdefault(field[0], field[2:])
    return first.get("c"), first.get("s", "")


@SETTINGS
@given(st.lists(tag_block(), min_size=1, max_size=4), st.data())
def test_repeated_tag_blocks_read_like_python_split(pool, data):
    """A feed repeats its tag block line after line (the kernel then reuses what it read
    from the last one): blocks drawn from a few, of equal length or not, with and without
    'g:' fields and numbers that differ in one digit, read as each one alone."""
    texts = [t for t, _, _ in pool]
    texts += [t.replace("1", "2", 1) for t in texts if "1" in t]  # (of the same length)
    if data.draw(st.booleans()):
        texts.append("g:1-1-42,s:ab,c:1600000000")
    pool = [(t, *_split_tags(t)) for t in texts]
    blocks = data.draw(st.lists(st.sampled_from(pool), min_size=1, max_size=30))
    lines = [b"\\" + text.encode() + b"*00\\" + SENTENCE for text, _, _ in blocks]
    _check_tag_blocks(blocks, lines)



# --- the position decoder against a Python reference ------------------------------------

ALPHABET = bytes(range(48, 88)) + bytes(range(96, 120))
SIXBIT = {c: i for i, c in enumerate(ALPHABET)}
_NA = {1: (91 * 600_000, 181 * 600_000), 27: (91 * 600, 181 * 600)}


def _reference(payload: bytes, n_chars: int, fill: int) -> dict:
    """One row of decode_positions' contract, from the payload's bit string."""
    head = payload[:24]
    bad = any(ch not in SIXBIT for ch in head)
    msg_type = SIXBIT.get(head[0], 0) if head else 0
    bits = "".join(f"{SIXBIT.get(ch, 0):06b}" for ch in head).ljust(144, "0")

    def u(a, n):
        return int(bits[a:a + n], 2)

    def s(a, n):
        v = u(a, n)
        return v - (1 << n) if v >= 1 << (n - 1) else v

    nan = math.nan
    row = {"msg_type": msg_type, "bad_char": bad, "mmsi": u(8, 30),
           "short": 6 * n_chars - fill < REQUIRED_BITS.get(msg_type, 1 << 30),
           "nav_status": 15, "sog_kn": nan, "cog_deg": nan, "heading_deg": nan, "lat": nan,
           "lon": nan, "out_of_range": False}
    if msg_type in (1, 2, 3, 18, 19):
        d = 4 if msg_type >= 18 else 0  # class B fields from speed on: 4 bits earlier
        if d == 0:
            row["nav_status"] = u(38, 4)
        sog, cog, hdg = u(50 - d, 10), u(116 - d, 12), u(128 - d, 9)
        row["sog_kn"] = nan if sog == 1023 else sog / 10
        row["cog_deg"] = cog / 10 if cog < 3600 else nan
        row["heading_deg"] = float(hdg) if hdg < 360 else nan
        lon, lat, scale, na = s(61 - d, 28), s(89 - d, 27), 600_000, _NA[1]
    elif msg_type == 27:
        row["nav_status"] = u(40, 4)
        sog, cog = u(79, 6), u(85, 9)
        row["sog_kn"] = nan if sog == 63 else float(sog)
        row["cog_deg"] = float(cog) if cog < 360 else nan
        lon, lat, scale, na = s(44, 18), s(62, 17), 600, _NA[27]
    else:
        return row
    row["lat"] = nan if lat == na[0] else lat / scale
    row["lon"] = nan if lon == na[1] else lon / scale
    row["out_of_range"] = (abs(lat) > 90 * scale and lat != na[0]) or (
        abs(lon) > 180 * scale and lon != na[1])
    return row


_STATUS = {name: i for i, name in enumerate(COUNT_NAMES)}


def _check_decode(buf: np.ndarray, start, n_chars, fill, n_reference: int | None = None):
    """The kernel's decoder equals the Python reference on every position report row."""
    buf = np.asarray(buf, dtype=np.uint8)
    start, n_chars, fill = (np.asarray(x, dtype=np.int64) for x in (start, n_chars, fill))
    first = np.array([SIXBIT.get(int(buf[s]), -1) if n else -1
                      for s, n in zip(start, n_chars, strict=True)], dtype=np.int64)
    rows = np.flatnonzero(np.isin(first, list(REQUIRED_BITS)) & (n_chars > 0))
    got = decode_payloads(buf, start[rows], n_chars[rows], fill[rows], first[rows])
    for j, i in enumerate(rows.tolist()):
        payload = bytes(buf[start[i]:start[i] + min(n_chars[i], 24)])
        expect = _reference(payload, int(n_chars[i]), int(fill[i]))
        if expect["bad_char"]:
            want = _STATUS["bad_payload_char"]
        elif expect["short"]:
            want = _STATUS["short_payload"]
        elif not 1 <= expect["mmsi"] <= 999_999_999:
            want = _STATUS["invalid_mmsi"]
        elif expect["out_of_range"]:
            want = _STATUS["out_of_range_position"]
        else:
            want = 0
        assert got["status"][j] == want, (payload, got["status"][j], want)
        if want:
            continue
        for k in ("mmsi", "nav_status", "sog_kn", "cog_deg", "heading_deg", "lat", "lon"):
            v = got[k][j].item()
            e = expect[k]
            assert v == e or (isinstance(e, float) and math.isnan(e) and math.isnan(v)), (
                k, payload, v, e)
    return got


def _bits_payload(fields: list[tuple[int, int, int]], n_chars: int, noise: int) -> bytes:
    """Armoured payload of ``n_chars`` characters: random bits ``noise`` with the given
    (start bit, width, value) fields written over them (values two's complement)."""
    n_bits = 6 * n_chars
    v = noise & ((1 << n_bits) - 1)
    for at, width, value in fields:
        shift = n_bits - at - width
        if shift < 0:
            continue
        v &= ~(((1 << width) - 1) << shift)
        v |= (value & ((1 << width) - 1)) << shift
    return bytes(ALPHABET[(v >> (n_bits - 6 * (k + 1))) & 63] for k in range(n_chars))


@st.composite
def position_payload(draw):
    """Payloads of position types (and a few others) with edge values in every field."""
    t = draw(st.sampled_from([1, 2, 3, 18, 19, 27, 0, 5, 24, 63]))
    noise = draw(st.integers(0, (1 << 240) - 1))
    fields = [(0, 6, t)]
    if t == 27:
        lat = draw(st.sampled_from([0, 54_000, -54_000, 54_001, -54_001, 54_600, 65_535,
                                    -65_536]) | st.integers(-65_536, 65_535))
        lon = draw(st.sampled_from([108_000, -108_000, 108_001, -108_001, 108_600, 131_071,
                                    -131_072]) | st.integers(-131_072, 131_071))
        fields += [(44, 18, lon), (62, 17, lat), (79, 6, draw(st.sampled_from([0, 62, 63]))),
                   (85, 9, draw(st.sampled_from([0, 359, 360, 511])))]
        n = draw(st.sampled_from([16, 15, 17, 28]) | st.integers(0, 30))
    else:
        d = 4 if t in (18, 19) else 0
        lat = draw(st.sampled_from([0, 54_000_000, -54_000_000, 54_000_001, -54_000_001,
                                    54_600_000, (1 << 26) - 1, -(1 << 26)])
                   | st.integers(-(1 << 26), (1 << 26) - 1))
        lon = draw(st.sampled_from([108_000_000, -108_000_000, 108_000_001, -108_000_001,
                                    108_600_000, (1 << 27) - 1, -(1 << 27)])
                   | st.integers(-(1 << 27), (1 << 27) - 1))
        fields += [(50 - d, 10, draw(st.sampled_from([0, 1022, 1023]))),
                   (61 - d, 28, lon), (89 - d, 27, lat),
                   (116 - d, 12, draw(st.sampled_from([0, 3599, 3600, 4095]))),
                   (128 - d, 9, draw(st.sampled_from([0, 359, 360, 511])))]
        n = draw(st.sampled_from([28, 23, 22, 24, 27, 168 // 6 + 10]) | st.integers(0, 40))
    payload = bytearray(_bits_payload(fields, n, noise))
    for _ in range(draw(st.integers(0, 2)) if draw(st.integers(0, 3)) == 0 else 0):
        if payload:  # an invalid character (or a byte that breaks the SWAR range checks)
            at = draw(st.integers(0, len(payload) - 1))
            payload[at] = draw(st.sampled_from(b"\x00\x2f\x58\x5f\x78\x7f\x80\xa7\xff,*!")
                               | st.integers(0, 255))
    return bytes(payload), draw(st.integers(0, 5))


@st.composite
def payload_buffer(draw, rows):
    """Payloads placed at arbitrary offsets, separated by ',' or random bytes; the buffer
    ends exactly 24 bytes after the last payload start (so short payloads there are followed
    by the buffer's end, not by padding)."""
    items = draw(st.lists(rows, max_size=30))
    buf, start, n_chars, fill = bytearray(draw(st.binary(max_size=9))), [], [], []
    for payload, f in items:
        start.append(len(buf))
        buf += payload
        n_chars.append(len(payload))
        fill.append(f)
        buf += draw(st.sampled_from([b",", b",0*5C\r\n", b""]) | st.binary(max_size=12))
    if start:  # cut 24 bytes after the last start: the end of a long last payload is cut off
        end = start[-1] + 24
        buf = buf[:end].ljust(end, b"\x00")
    return np.frombuffer(bytes(buf), dtype=np.uint8), start, n_chars, fill


@settings(max_examples=150, deadline=None)
@given(payload_buffer(position_payload()))
def test_decoder_edge_fields(case):
    _check_decode(*case)


@settings(max_examples=80, deadline=None)
@given(payload_buffer(st.tuples(
    st.binary(max_size=30).map(lambda b: bytes(ALPHABET[c % 64] if c < 224 else c for c in b)),
    st.integers(0, 5))))
def test_decoder_random_payloads(case):
    _check_decode(*case)


@SETTINGS
@given(st.binary(min_size=8, max_size=8), st.integers(0, 7))
def test_eight_characters_at_once_like_one_by_one(raw, bad_at):
    """The kernel's word-at-a-time armouring (_six8) against its per-character one (_sixbit):
    the same 48 bits and validity, for valid characters and any byte put among them."""
    from stsdetect.ais.kernel import _six8, _sixbit

    for chars in (bytes(ALPHABET[c % 64] for c in raw),
                  bytes(ALPHABET[c % 64] if i != bad_at else c for i, c in enumerate(raw))):
        a = np.frombuffer(chars, np.uint8)
        values = [_sixbit(c) for c in chars]
        w, ok = _six8(a, 0)
        assert ok == all(v != 255 for v in values)
        if ok:
            assert w == functools.reduce(lambda acc, v: (acc << 6) | v, values, 0)


def test_decoder_mixed_chunk_all_classes():
    """One chunk holding every layout at every byte alignment, with and without bad rows."""
    rng = np.random.default_rng(5)
    payloads = []
    for t in (1, 2, 3, 18, 19, 27, 5, 0):
        for k in range(40):
            n = 16 if t == 27 else 28
            fields = [(0, 6, t)]
            payloads.append((_bits_payload(fields, n - (k % 3 == 2), int(rng.integers(1 << 62))
                                           << 120 | int(rng.integers(1 << 62))), k % 6))
    for with_bad in (False, True):
        items = list(payloads)
        if with_bad:
            items[7] = (items[7][0][:5] + b"!" + items[7][0][6:], 0)
            items[200] = (items[200][0][:20] + b"\xff" + items[200][0][21:], 0)
        rng.shuffle(items)
        buf, start = bytearray(), []
        for k, (p, _) in enumerate(items):
            buf += b"x" * (k % 8)
            start.append(len(buf))
            buf += p + b",0*00\n"
        buf = np.frombuffer(bytes(buf) + bytes(24), dtype=np.uint8)
        got = _check_decode(buf, start, [len(p) for p, _ in items], [f for _, f in items])
        assert (got["status"] == _STATUS["bad_payload_char"]).sum() >= with_bad


@settings(max_examples=40, deadline=None)
@given(st.lists(st.tuples(st.sampled_from([1, 2, 3, 18, 19]), st.integers(21, 25),
                          st.integers(0, 5)), min_size=1, max_size=12),
       st.integers(0, (1 << 150) - 1))
def test_decoder_short_limit_class_a_b_only(rows, noise):
    """Chunks of class A/B rows only, around the 137 / 133 bits they need."""
    payloads = [(_bits_payload([(0, 6, t)], n, noise >> (3 * k)), f)
                for k, (t, n, f) in enumerate(rows)]
    buf = b"".join(p + b"," for p, _ in payloads)
    start = np.cumsum([0] + [len(p) + 1 for p, _ in payloads[:-1]])
    _check_decode(np.frombuffer(buf + bytes(24), dtype=np.uint8), start,
                  [len(p) for p, _ in payloads], [f for _, f in payloads])




# --- every line layout, against pyais and the times written -------------------------------

def _xor(text: bytes) -> int:
    return functools.reduce(lambda acc, ch: acc ^ ch, text, 0)


def _iso(t: int, sep: str = "T", zone: str = "Z") -> str:
    return pd.Timestamp(t, unit="s").strftime(f"%Y-%m-%d{sep}%H:%M:%S") + zone


def _layout(kind: str, s: str, t: int, mmsi: int) -> tuple[list[str], int | None]:
    """Lines of one sentence ``s`` in layout ``kind`` and the time (ns) it must get."""
    ns = t * 10**9
    if kind == "bare":
        return [s], None
    if kind == "tag":
        tag = f"s:rx1,c:{t}"
        return [f"\\{tag}*{_xor(tag.encode()):02X}\\{s}"], ns
    if kind == "tag_ms":
        return [f"\\c:{t}250,s:rx1*00\\{s}"], ns + 250 * 10**6
    if kind == "epoch":
        return [f"{t},{s}"], ns
    if kind == "epoch_space":
        return [f"{t} {s}"], ns
    if kind == "epoch_fraction":
        return [f"{t}.5,{s}"], ns + 5 * 10**8
    if kind == "iso":
        return [f"{_iso(t)},{s}"], ns
    if kind == "bracket":
        return [f"[{_iso(t, ' ', '')}] {s}"], ns
    if kind == "trailing_iso":
        return [f"{s};{_iso(t)}"], ns
    if kind == "nais":
        return [f"{s},r003669987,{t}"], ns
    if kind == "nais_long":
        return [f"{s},d-109,S2105,t050056.00,T56.1,r003669946,{t},{t - 59}"], ns
    if kind == "satellite":
        return [f"{t}|{mmsi}|1.5|2.5|{s}"], ns
    if kind == "pghp":
        stamp = pd.Timestamp(t, unit="s")
        body = (f"PGHP,1,{stamp.year},{stamp.month},{stamp.day},{stamp.hour},{stamp.minute},"
                f"{stamp.second},7,219,,2190047,1")
        return [f"${body}*{_xor(body.encode()):02X}", s], ns + 7 * 10**6
    raise ValueError(kind)


LAYOUT_KINDS = ["bare", "tag", "tag_ms", "epoch", "epoch_space", "epoch_fraction", "iso",
                "bracket", "trailing_iso", "nais", "nais_long", "satellite", "pghp"]


@st.composite
def dump(draw):
    """A dump mixing every layout, some sentences run together, with the expected rows."""
    n = draw(st.integers(1, 25))
    lines: list[str] = []
    expect = []  # (mmsi, time ns or NaT, line)
    for _ in range(n):
        mmsi = draw(st.integers(1, 999_999_999))
        lat = draw(st.integers(-5400, 5400)) / 60
        lon = draw(st.integers(-10800, 10800)) / 60
        t = 1_600_000_000 + draw(st.integers(0, 10**7))
        msg = {"type": 1, "mmsi": mmsi, "lat": lat, "lon": lon, "speed": 3.5, "course": 90}
        s = encode_dict(msg, talker_id=draw(st.sampled_from(["AI", "BS", "AB"])))[0]
        kind = draw(st.sampled_from(LAYOUT_KINDS))
        joiner = draw(st.sampled_from([None, None, "", ",", " ", "\\"]))
        if lines and joiner is not None and kind in ("bare", "tag", "tag_ms"):
            # run together with the previous line: after nothing, a ',', a space, or as a
            # tag block right after it
            got, ns = _layout(kind, s, t, mmsi)
            text = got[0]
            if joiner == "\\" and kind == "bare":
                text = f"\\c:{t}*00\\{s}"
                ns = t * 10**9
            elif joiner != "\\":
                text = joiner + text
            lines[-1] += text
            expect.append((mmsi, ns, len(lines)))
            continue
        got, ns = _layout(kind, s, t, mmsi)
        lines.extend(got)
        expect.append((mmsi, ns, len(lines)))
    if draw(st.booleans()):
        lines[0] = "\ufeff" + lines[0]
    eol = draw(st.sampled_from(["\n", "\r\n"]))
    return eol.join(lines) + eol, expect


@settings(max_examples=60, deadline=None)
@given(dump(), st.sampled_from([1024, 1 << 20]), st.sampled_from([1, 2]))
def test_every_layout_decodes_with_its_time_and_line(case, chunk_bytes, workers):
    text, expect = case
    data = read_ais(io.BytesIO(text.encode()), chunk_bytes=chunk_bytes,
                    workers=workers)
    data.report.check()
    pos = data.positions
    assert data.report.sentences == len(expect)
    assert list(pos["mmsi"]) == [m for m, _, _ in expect]
    assert list(pos["line"]) == [ln for _, _, ln in expect]
    times = [None if t is pd.NaT else t.value for t in pos["time"]]
    assert times == [t for _, t, _ in expect]


# --- #14: losses and crashes found by fuzzing -----------------------------------------------

GOOD = "!AIVDM,1,1,,A,15RTgt0PAso;90TKcjM8h6g208CQ,0*4A"


@pytest.mark.parametrize("joint", ["", ",", " ", "\\c:1600000000*00\\", "\\s:rx\\"])
def test_run_together_sentences_are_all_read(joint):
    """#14.1: a second sentence after a ',', a space or a tag block is read, and counted."""
    line = GOOD + joint + GOOD
    data = read_ais([line, line])
    data.report.check()
    assert len(data.positions) == 4
    assert data.report.sentences == data.report.sentence_records == 4
    assert list(data.positions["line"]) == [1, 1, 2, 2]


def test_many_tag_blocked_sentences_on_one_long_line():
    """#14.1 / 12: one line of 60 000 tag-blocked sentences (over a chunk) loses none."""
    one = "\\s:rx,c:1600000000*00\\" + GOOD
    text = one * 60_000 + "\n" + GOOD + "\n"
    data = read_ais(io.BytesIO(text.encode()), chunk_bytes=1 << 16)
    data.report.check()
    assert len(data.positions) == 60_001
    assert data.report.lines == 60_001
    assert (data.positions["line"].to_numpy()[:-1] == 1).all()
    assert data.positions["line"].iloc[-1] == 2
    assert data.positions["time"].iloc[:-1].notna().all()


def test_tag_block_lines_of_one_template_do_not_crash():
    """#14.9: 32 identical ``\\s:117,c:1668046496*0A\\!AIVDM`` lines (a cut sentence)."""
    data = read_ais(["\\s:117,c:1668046496*0A\\!AIVDM"] * 32)
    data.report.check()
    assert data.report.skipped == {"not_nmea": 32}  # no "VDM," : not a sentence start


def test_a_line_longer_than_a_chunk_is_one_record():
    """#14.12: a 3 MiB line without a sentence is one record, not one per chunk."""
    text = "x" * (3 << 20) + "\n" + GOOD + "\n"
    data = read_ais(io.BytesIO(text.encode()), chunk_bytes=1 << 20)
    data.report.check()
    assert data.report.lines == 2 and data.report.skipped == {"not_nmea": 1}
    assert list(data.positions["line"]) == [2]


def test_stray_pghp_at_a_file_end_stays_in_its_file(tmp_path):
    """#14.12: a $PGHP closing one file lends its time to nothing in the next file."""
    body = "PGHP,1,2013,11,12,12,0,0,11,219,,2190067,1"
    a, b = tmp_path / "a.nmea", tmp_path / "b.nmea"
    a.write_text(f"{GOOD}\n${body}*{_xor(body.encode()):02X}\n")
    b.write_text(f"{GOOD}\n")
    for files in ([a, b], [str(tmp_path / "*.nmea")]):
        pos = read_ais(files).positions
        assert len(pos) == 2 and pos["time"].isna().all()
        assert list(pos["file"]) == [str(a), str(b)] and list(pos["line"]) == [1, 1]


@SETTINGS
@given(st.lists(st.text(max_size=6), min_size=2, max_size=6, unique=True), st.data())
def test_names_taken_per_row_like_pandas(names, data):
    """The reader's per-row names (source, file: compiled take_names) equal pandas' take."""
    from stsdetect.ais.reader import _string_codes

    # (the codes are read in their own dtype, whichever: the reader passes int32 and int8)
    dtype = data.draw(st.sampled_from([np.int8, np.uint16, np.int32, np.int64]))
    codes = np.array(data.draw(st.lists(st.integers(0, len(names) - 1), max_size=40)),
                     dtype=dtype)
    got = _string_codes(names, codes)
    assert got.dtype == "string" and list(got) == [names[c] for c in codes]
    assert pd.Series(got).equals(pd.Series(pd.array(names, dtype="string").take(codes)))


def test_pghp_times_of_valid_and_invalid_dates_in_a_row():
    """$PGHP times: each line's own date and clock, whatever the lines before it held
    (the kernel keeps the last date's start): invalid dates and clock fields give NaT."""
    fields = [(2013, 11, 12, 12, 0, 0, 11), (2013, 2, 30, 1, 2, 3, 4),
              (2013, 2, 28, 23, 59, 59, 999), (2013, 2, 28, 24, 0, 0, 0),
              (2013, 2, 28, 0, 60, 0, 0), (2013, 2, 28, 0, 0, 60, 0), (2013, 2, 28, 0, 0, 0, 1000),
              (2012, 2, 29, 5, 6, 7, 8), (2013, 2, 29, 5, 6, 7, 8), (2013, 13, 1, 0, 0, 0, 0),
              (1969, 12, 31, 0, 0, 0, 0), (2013, 11, 12, 12, 0, 1, 0)]
    lines, expected = [], []
    for y, mo, d, h, mi, s, ms in fields:
        body = f"PGHP,1,{y},{mo},{d},{h},{mi},{s},{ms},219,,2190067,1"
        lines += [f"${body}*{_xor(body.encode()):02X}", GOOD]
        try:
            t = pd.Timestamp(year=y, month=mo, day=d, hour=h, minute=mi, second=s, tz="UTC")
            ok = y >= 1970 and ms <= 999
        except ValueError:
            ok = False
        expected.append(t + pd.Timedelta(ms, "ms") if ok else pd.NaT)
    got = read_ais(io.BytesIO("\n".join(lines).encode())).positions["time"]
    assert list(got) == expected


def test_two_threads_give_the_same_result_as_one(shared_data):
    path = shared_data / "dma-aisabnormal" / "ais-sample.txt"
    one = read_ais(path, workers=1, chunk_bytes=1 << 16)
    two = read_ais(path, workers=2, chunk_bytes=1 << 16)
    assert_same_read(two, one)


def test_nat_constant():
    assert NAT_NS == np.iinfo(np.int64).min


def _tagged(tags: bytes, body: bytes, bad_sum: bool = False) -> bytes:
    return (b"\\" + tags + b"*%02X\\!" % _xor(tags) + body
            + b"*%02X" % (_xor(body) ^ int(bad_sum)))


@pytest.mark.parametrize("chunk_bytes", [1024, 4096])
def test_read_ais_report_invariant(tmp_path, chunk_bytes):
    sent = b"AIVDM,1,1,,A,19qV9O@P2;8owl`A5?BQDmr1P000,0"
    good = _tagged(b"s:rx0,c:1600000000", sent)
    lines = [good] * 200
    lines[50] = _tagged(b"s:rx0,c:1600000000", sent, bad_sum=True)
    lines[90] = b"garbage"
    p = tmp_path / "d.nmea"
    p.write_bytes(b"\n".join(lines) + b"\n")
    res = read_ais(str(p), chunk_bytes=chunk_bytes)
    rep = res.report
    rep.check()
    assert rep.lines == 200 and rep.skipped == {"bad_checksum": 1, "not_nmea": 1}
    assert len(res.positions) == 198


def test_assembled_reports_keep_input_order():
    """A report assembled from fragments with a sentence between them comes before a later
    report from an adjacent pair; single-part reports between them stay between."""
    payload = b"19qV9O@P2;8owl`A5?BQDmr1P000"
    one, two = payload[:10], payload[10:]

    def frag(k, seq, part):
        body = b"AIVDM,2,%d,%d,A,%s,0" % (k, seq, part)
        return b"!" + body + b"*%02X" % _xor(body)

    single = [_tagged(b"s:rx0,c:%d" % (1_600_000_000 + i),
                      b"AIVDM,1,1,,A,19qV9O@P2;8owl`A5?BQDmr1P000,0") for i in range(40)]
    lines = [frag(1, 1, one), single[0], frag(2, 1, two), *single[1:40],
             frag(1, 2, one), frag(2, 2, two)]
    for workers in (1, 2):
        data = read_ais(io.BytesIO(b"\n".join(lines) + b"\n"), workers=workers,
                        chunk_bytes=1024)
        missing = data.positions["time"].isna().to_numpy()
        # input order: single 0, then A (complete at its second fragment), the others, B
        assert len(missing) == 42 and np.flatnonzero(missing).tolist() == [1, 41]
        assert list(data.positions["line"].iloc[[1, 41]]) == [3, 44]
