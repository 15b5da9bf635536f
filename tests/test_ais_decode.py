"""The vectorized decoder against pyais's encoder and decoder (an independent oracle)."""

from __future__ import annotations

import io
import math
import random

import numpy as np
import pandas as pd
import pytest
from _reads import assert_same_read
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from pyais import decode as pyais_decode
from pyais.encode import encode_dict

from stsdetect.ais import read_ais

SETTINGS = settings(max_examples=40, deadline=None,
                    suppress_health_check=[HealthCheck.too_slow])

# Full field ranges in the raw units of ITU-R M.1371 (so every encodable value is reachable),
# including the not-available values.
lat_raw = st.one_of(st.integers(-90 * 600_000, 90 * 600_000), st.just(91 * 600_000))
lon_raw = st.one_of(st.integers(-180 * 600_000, 180 * 600_000), st.just(181 * 600_000))
mmsi = st.integers(1, 999_999_999)


@st.composite
def position_message(draw):
    msg_type = draw(st.sampled_from([1, 2, 3, 18, 19, 27]))
    data = {"type": msg_type, "mmsi": draw(mmsi)}
    if msg_type == 27:
        data["lat"] = draw(st.one_of(st.integers(-90 * 600, 90 * 600), st.just(91 * 600))) / 600
        data["lon"] = draw(st.one_of(st.integers(-180 * 600, 180 * 600),
                                     st.just(181 * 600))) / 600
        data["speed"] = draw(st.integers(0, 63))
        data["course"] = draw(st.one_of(st.integers(0, 359), st.just(511)))
        data["status"] = draw(st.integers(0, 15))
    else:
        data["lat"] = draw(lat_raw) / 600_000
        data["lon"] = draw(lon_raw) / 600_000
        data["speed"] = draw(st.integers(0, 1023)) / 10
        data["course"] = draw(st.integers(0, 3600)) / 10
        data["heading"] = draw(st.one_of(st.integers(0, 359), st.just(511)))
        if msg_type < 4:
            data["status"] = draw(st.integers(0, 15))
        if msg_type == 19:
            data["shipname"] = draw(st.text("ABCDEFGHIJKLMNOPQRSTUVWXYZ 0123456789", max_size=20))
    return data


def _expected(sentence: str) -> dict:
    msg = pyais_decode(sentence)
    t = msg.msg_type
    speed, course = float(msg.speed), float(msg.course)
    return {
        "mmsi": msg.mmsi,
        "lat": math.nan if msg.lat == 91 else msg.lat,
        "lon": math.nan if msg.lon == 181 else msg.lon,
        "sog_kn": math.nan if (speed == 63 if t == 27 else speed > 102.25) else speed,
        "cog_deg": math.nan if course >= 360 else course,
        "heading_deg": math.nan if t == 27 or msg.heading >= 360 else float(msg.heading),
        "nav_status": int(msg.status) if t in (1, 2, 3, 27) else 15,
        "msg_type": t,
    }


def _close(a, b, tol=1e-9):
    if isinstance(a, float) and math.isnan(a):
        return isinstance(b, float) and math.isnan(b)
    return abs(a - b) <= tol


@SETTINGS
@given(st.lists(position_message(), min_size=1, max_size=30))
def test_positions_match_pyais(messages):
    sentences = [encode_dict(m, talker_id="AI")[0] for m in messages]
    data = read_ais(sentences)
    data.report.check()
    pos = data.positions
    assert len(pos) == len(sentences)
    for row, sentence in zip(pos.itertuples(index=False), sentences, strict=True):
        want = _expected(sentence)
        for key, value in want.items():
            tol = 1e-6 if key in ("lat", "lon") else 1e-9
            assert _close(float(getattr(row, key)), float(value), tol), (key, sentence)
    assert pos["time"].isna().all()
    assert sum(data.report.decoded.values()) == len(sentences)


@SETTINGS
@given(st.lists(position_message(), min_size=2, max_size=20), st.randoms())
def test_order_and_chunking_do_not_change_the_rows(messages, rnd):
    lines = [f"\\s:rx{i},c:{1_600_000_000 + i}*00\\" + encode_dict(m, talker_id="AI")[0]
             for i, m in enumerate(messages)]
    whole = read_ais(lines).positions
    shuffled = lines[:]
    rnd.shuffle(shuffled)
    small = read_ais(io.BytesIO("\n".join(shuffled).encode()), chunk_bytes=1024).positions
    key = ["source", "mmsi"]
    a = whole.sort_values(key).reset_index(drop=True)
    b = small.sort_values(key).reset_index(drop=True)
    # provenance: each row names the line it came from, wherever the shuffle put it
    where = {line: i + 1 for i, line in enumerate(shuffled)}
    assert list(b["line"]) == [where[lines[int(s[2:])]] for s in b["source"]]
    assert list(whole["line"]) == list(range(1, len(lines) + 1))
    pd.testing.assert_frame_equal(a.drop(columns="line"), b.drop(columns="line"))
    assert (whole["source"] == [f"rx{i}" for i in range(len(lines))]).all()
    assert (whole["time"].astype("int64") // 10**9 == 1_600_000_000 + np.arange(len(lines))).all()


def _type5(mmsi_value, seq_id, name):
    return encode_dict({"type": 5, "mmsi": mmsi_value, "shipname": name, "ship_type": 70,
                        "to_bow": 100, "to_stern": 20, "to_port": 10, "to_starboard": 10,
                        "imo": 1234567, "callsign": "CALL", "destination": "NAMPO",
                        "draught": 5.5}, talker_id="AI", seq_id=seq_id)


@SETTINGS
@given(st.lists(st.integers(1, 999_999_999), min_size=1, max_size=9, unique=True), st.randoms())
def test_interleaved_multipart_assembles(mmsis, rnd):
    """Fragments of different type-5 messages interleaved in any order still pair up."""
    messages = [_type5(m, i, f"SHIP {i}") for i, m in enumerate(mmsis)]
    firsts = [m[0] for m in messages]
    seconds = [m[1] for m in messages]
    rnd.shuffle(firsts)
    rnd.shuffle(seconds)
    data = read_ais(firsts + seconds)
    data.report.check()
    vessels = data.vessels.set_index("mmsi")
    assert sorted(vessels.index) == sorted(mmsis)
    for i, m in enumerate(mmsis):
        assert vessels.loc[m, "name"] == f"SHIP {i}"
        assert vessels.loc[m, "length_m"] == 120 and vessels.loc[m, "beam_m"] == 20
    assert data.report.decoded == {5: len(mmsis)}
    assert data.report.skipped == {"multipart_joined": len(mmsis)}


def test_missing_fragments_are_counted_and_bounded():
    complete = _type5(445000001, 1, "OK")
    lonely = _type5(445000002, 2, "LOST")[0]  # part 2 never comes
    orphan = _type5(445000003, 3, "ORPHAN")[1]  # part 1 never came
    filler = [encode_dict({"type": 1, "mmsi": 445000009, "lat": 39, "lon": 125},
                          talker_id="AI")[0]] * 150
    data = read_ais([lonely, orphan, *filler, *complete], multipart_window=100)
    report = data.report
    report.check()
    assert report.skipped["incomplete_multipart"] == 2
    assert report.decoded[5] == 1 and report.decoded[1] == 150
    assert list(data.vessels["name"]) == ["OK"]


def _cut_after(lines_before: list, first: str, rest: list, at: int) -> bytes:
    """``lines_before``, a comment line as padding and ``first`` ending exactly at byte
    ``at``, then ``rest``: a chunk of ``at`` bytes ends right after ``first``."""
    head = "".join(f"{line}\n" for line in lines_before)
    pad = at - len(head) - len(first) - 2
    assert pad > 1
    return f"{head}#{'x' * (pad - 1)}\n{first}\n".encode() + "".join(
        f"{line}\n" for line in rest).encode()


@pytest.mark.parametrize("workers", [1, 2])
def test_a_pair_cut_apart_by_a_chunk_end_joins_as_in_one_chunk(workers):
    """A fragment 1 of 2 at a chunk's end and its fragment 2 at the next one's start are one
    message, as when one chunk holds both, even when an orphaned fragment 2 of the same
    key waits in the assembler (error_data.txt has such lines): before, the fragment 1
    completed the orphan instead, a garbled message, and its own fragment 2 was lost."""
    a = _type5(445000001, 1, "ORPHANED")
    b = _type5(445000002, 1, "PAIRED")
    filler = encode_dict({"type": 1, "mmsi": 445000009, "lat": 39, "lon": 125},
                         talker_id="AI")[0]
    data = _cut_after([a[1], *[filler] * 5], b[0], [b[1], *[filler] * 3], 1024)
    whole = read_ais(io.BytesIO(data), workers=1)
    cut = read_ais(io.BytesIO(data), workers=workers, chunk_bytes=1024)
    for got in (whole, cut):
        assert list(got.statics["mmsi"]) == [445000002]
        assert list(got.statics["name"]) == ["PAIRED"]
        assert list(got.statics["line"]) == [9]  # the fragment 2's line
        assert got.report.skipped["incomplete_multipart"] == 1
    assert_same_read(cut, whole)


@pytest.mark.parametrize("workers", [1, 2])
def test_a_fragment_1_starts_a_message(workers):
    """A fragment 1 gives up the open fragments of its key: an orphaned fragment 2 is not
    joined to the next message's fragment 1 (a garbled message), here a fragment 1 not
    followed by its fragment 2 either, with a static row after it in the chunk it ends: the
    rows, their order included, are those of one chunk (before, the fragment 1 held at a
    chunk's end completed the orphan in the next chunk, after the static row)."""
    a = _type5(445000001, 1, "ORPHANED")
    b = _type5(445000002, 1, "UNPAIRED")
    c = _type5(445000003, 2, "OTHER")
    lone = _type5(445000005, 3, "LONE")[0]  # (its arrival makes the assembler take b's)
    static24 = encode_dict({"type": 24, "mmsi": 445000004, "partno": 0, "shipname": "B24"},
                           talker_id="AI")[0]
    filler = encode_dict({"type": 1, "mmsi": 445000009, "lat": 39, "lon": 125},
                         talker_id="AI")[0]
    data = _cut_after([a[1], filler, b[0], filler], static24, [c[0], c[1], lone, filler],
                      1024)
    whole = read_ais(io.BytesIO(data), workers=1)
    cut = read_ais(io.BytesIO(data), workers=workers, chunk_bytes=1024)
    for got in (whole, cut):
        assert list(got.statics["name"]) == ["B24", "OTHER"]
        assert got.report.skipped["incomplete_multipart"] == 3
    assert_same_read(cut, whole)


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(st.tuples(st.integers(0, 5), st.sampled_from([0, 1, 1, 2])), min_size=20,
                max_size=70),
       st.integers(1024, 1600), st.sampled_from([1, 2]))
def test_multipart_streams_read_the_same_whatever_the_chunks(stream, chunk_bytes, workers):
    """Any mix of fragments of a few keys (pairs, orphans, repeats, lone fragments 1) and
    position reports reads the same rows, in the same order, with the same counts, in one
    chunk and in chunks of ``chunk_bytes`` on 1 or 2 threads."""
    filler = encode_dict({"type": 1, "mmsi": 445000009, "lat": 39, "lon": 125},
                         talker_id="AI")[0]
    lines = []
    for i, (key, what) in enumerate(stream):
        first, second = _type5(445000100 + i, key % 3, f"V{i}")
        if what == 0:
            lines.append(filler)
        elif what == 1:  # a pair; every third one parted by a report (to the assembler)
            lines += [first, filler, second] if i % 3 == 0 else [first, second]
        else:  # a lone fragment: an orphaned fragment 2 or a fragment 1 never completed
            lines.append(second if i % 2 else first)
    data = "".join(f"{line}\n" for line in lines).encode()
    whole = read_ais(io.BytesIO(data), workers=1)
    cut = read_ais(io.BytesIO(data), workers=workers, chunk_bytes=chunk_bytes)
    assert_same_read(cut, whole)


def test_multipart_rows_do_not_depend_on_chunk_size(shared_data):
    """error_data.txt (a real receiver log with orphaned fragments) reads the same at every
    chunk size: 20 sizes of 1024-4096 bytes each lost or garbled 2 static rows before."""
    path = shared_data / "chhs2131-pyais-ec" / "error_data.txt"
    whole = read_ais(path, workers=1, chunk_bytes=1 << 22)
    for chunk_bytes in (1072, 1232, 1392, 2064, 2736, 3024, 3792, 4096):
        for workers in (1, 2):
            got = read_ais(path, workers=workers, chunk_bytes=chunk_bytes)
            assert_same_read(got, whole)


def test_open_groups_are_capped():
    parts = [_type5(445000000 + i, i % 10, "X")[0] for i in range(50)]
    # distinct keys via channel/seq would collide; make them distinct through tag-block groups
    lines = [f"\\g:1-2-{i}*00\\" + p for i, p in enumerate(parts)]
    data = read_ais(lines, max_open_groups=5, multipart_window=10**6)
    assert data.report.skipped == {"incomplete_multipart": 50}
    data.report.check()


def test_statics_latest_value_and_changes():
    lines = [*_type5(445111111, 1, "FIRST"), *_type5(445111111, 2, "SECOND"),
             *_type5(445111111, 3, "SECOND"), *_type5(445111111, 4, "THIRD"),
             encode_dict({"type": 24, "mmsi": 413000001, "partno": 0, "shipname": "BARGE 1"},
                         talker_id="AI")[0],
             encode_dict({"type": 24, "mmsi": 413000001, "partno": 1, "ship_type": 99,
                          "callsign": "B1", "to_bow": 30, "to_stern": 10, "to_port": 5,
                          "to_starboard": 5}, talker_id="AI")[0]]
    v = read_ais(lines).vessels.set_index("mmsi")
    assert v.loc[445111111, "name"] == "THIRD"
    assert v.loc[445111111, "n_name_changes"] == 2
    assert v.loc[445111111, "imo"] == 1234567
    assert v.loc[445111111, "ais_class"] == "A"
    assert v.loc[413000001, "name"] == "BARGE 1"
    assert v.loc[413000001, "ship_type"] == 99
    assert v.loc[413000001, "length_m"] == 40 and v.loc[413000001, "beam_m"] == 10
    assert v.loc[413000001, "ais_class"] == "B"


def test_sentinels_become_nan_and_invalid_rows_are_counted():
    good = encode_dict({"type": 1, "mmsi": 445000001, "lat": 91, "lon": 181, "speed": 102.3,
                        "course": 360, "heading": 511}, talker_id="AI")[0]
    zero = encode_dict({"type": 1, "mmsi": 0, "lat": 30, "lon": 122}, talker_id="AI")[0]
    far = encode_dict({"type": 1, "mmsi": 445000002, "lat": 95, "lon": 122},
                      talker_id="AI")[0]
    data = read_ais([good, zero, far])
    row = data.positions.iloc[0]
    assert len(data.positions) == 1
    for col in ("lat", "lon", "sog_kn", "cog_deg", "heading_deg"):
        assert math.isnan(row[col]), col
    assert data.report.skipped == {"invalid_mmsi": 1, "out_of_range_position": 1}
    data.report.check()


def test_random_garbage_never_raises():
    rnd = random.Random(7)
    good = encode_dict({"type": 1, "mmsi": 445000001, "lat": 30, "lon": 122},
                       talker_id="AI")[0]
    blobs = [bytes(rnd.randrange(256) for _ in range(rnd.randrange(300))) for _ in range(200)]
    truncated = [good[:k] for k in range(len(good))]
    mangled = [good[:k] + chr(rnd.randrange(32, 127)) + good[k + 1:] for k in range(len(good))]
    body = b"\n".join([*blobs, *(t.encode() for t in truncated + mangled), good.encode()])
    data = read_ais(io.BytesIO(body), chunk_bytes=4096)
    data.report.check()
    assert data.report.lines >= 200 + 2 * len(good)
    assert (data.positions["mmsi"] == 445000001).sum() >= 1


def test_multi_sentence_line_counts_each_sentence():
    sentences = [encode_dict({"type": 1, "mmsi": 445000000 + i, "lat": 30, "lon": 122},
                             talker_id="AI")[0] for i in range(5)]
    line = "".join(sentences) + sentences[0][:20]  # run together, last one truncated
    data = read_ais([line])
    assert data.report.lines == 6
    assert len(data.positions) == 5
    assert data.report.skipped == {"malformed_sentence": 1}


def test_unknown_format_is_rejected():
    with pytest.raises(ValueError, match="valid formats"):
        read_ais(["x"], format="kml")


def _fragment_rows(frags) -> tuple:
    """Fragment rows for the compiled Assembler from (record, key, n, k, payload) tuples, and
    the buffer their payloads sit in."""
    payloads = b"".join(p for *_, p in frags)
    rows = np.zeros((13, len(frags)), np.int64)
    at = 0
    for i, (record, key, n, k, payload) in enumerate(frags):
        kind, value = key
        rows[:, i] = (record, 0x4149, n, k, -1, 65 + value % 3, at, len(payload), 0,
                      -(2**63) if k > 1 else 1_600_000_000 * 10**9 + record, 0,
                      value if kind == "g" else -1, n if kind == "g" else 0)
        if kind == "s":
            rows[4, i] = value // 3 % 10  # sequential id (with the channel: the key)
        at += len(payload)
    return rows, np.frombuffer(payloads + bytes(64), np.uint8)


def _payload(mmsi: int, part: int) -> bytes:
    """Fragment ``part`` (1 or 2) of a type 5 payload of ``mmsi``."""
    payload, _ = encode_payload({"type": 5, "mmsi": mmsi, "shipname": f"V{mmsi}"})
    return payload[:40] if part == 1 else payload[40:]


def encode_payload(msg: dict) -> tuple:
    sentences = encode_dict(msg, talker_id="AI")
    payload = "".join(s.split(",")[5] for s in sentences)
    return payload.encode(), int(sentences[-1].split(",")[6][0])


@settings(max_examples=60, deadline=None)
@given(st.lists(st.tuples(st.sampled_from("gs"), st.integers(0, 11), st.sampled_from([1, 2]),
                          st.integers(1, 4)), min_size=1, max_size=60),
       st.integers(1, 8), st.integers(1, 5), st.integers(0, 60))
def test_compiled_assembler_matches_the_python_oracle(stream, window, max_open, cut):
    """The compiled Assembler joins, expires and gives up exactly as the Python assembler
    (tests/_multipart_oracle.py, the one read_ais used before) over any fragment stream:
    interleaved groups, repeats, gaps, a window of a few records, few open groups; and the
    same when the rows come in two calls, cut anywhere (as chunks part them)."""
    from _multipart_oracle import MultipartAssembler

    from stsdetect.ais.kernel import Assembler

    frags = []
    record = 0
    for kind, value, k, gap in stream:
        record += gap
        frags.append((record, (kind, value), 2, k, _payload(200_000_000 + value, k)))
    oracle = MultipartAssembler(window, max_open)
    want = []
    for record, key, n, k, payload in frags:
        okey = ("g", key[1], n) if key[0] == "g" else ("s", 0x4149, 65 + key[1] % 3,
                                                       key[1] // 3 % 10, n)
        for done in oracle.add(record, okey, n, k, payload, 0,
                               -(2**63) if k > 1 else 1_600_000_000 * 10**9 + record, 0):
            want.append((done[0], done[1], done[3]))
    rows, buf = _fragment_rows(frags)
    asm = Assembler(window, max_open)
    parts = [asm.add(rows[:, :cut], 0, buf), asm.add(rows[:, cut:], 0, buf)]
    assert asm.n_open == oracle.n_open
    records, times, mmsis = (np.concatenate([p.stat[c] for p in parts])
                             for c in ("record", "time", "mmsi"))
    assert list(records) == [r for r, _, _ in want]
    assert list(times) == [t for _, _, t in want]
    assert list(mmsis) == [decode_type5_mmsi(p) for _, p, _ in want]
    assert sum(p.counts["incomplete_multipart"] for p in parts) == oracle.incomplete
    assert sum(p.counts["multipart_joined"] for p in parts) == len(want)
    assert asm.flush() == oracle.flush()


def decode_type5_mmsi(payload: bytes) -> int:
    bits = "".join(f"{(c - 48 if c < 88 else c - 56):06b}" for c in payload)
    return int(bits[8:38], 2)


def test_assembler_memory_is_bounded():
    from stsdetect.ais.kernel import Assembler

    asm = Assembler(window_records=50, max_open=20)
    payload = _payload(200_000_001, 1)
    for start in range(0, 10_000, 500):  # every fragment a group of its own that never ends
        rows, buf = _fragment_rows([(r, ("g", r), 3, 1, payload)
                                    for r in range(start, start + 500)])
        asm.add(rows, 0, buf)
        assert asm.n_open <= 21
        assert asm._arena.size <= 1 << 16  # the payload store does not grow with the input
    assert asm.flush() <= 21 and asm.n_open == 0
    with pytest.raises(ValueError):
        Assembler(window_records=0)


def test_row_store_keeps_every_row_in_order():
    """Rows appended block by block (the columns grown in place) come back whole, in order,
    with their dtypes."""
    from stsdetect.ais import reader

    store = reader._Columns()
    expect = []
    value = 0
    for size in (3, 4, 0, 9, 1, 300_000, 2000):
        block = {k: (np.arange(value, value + size) % 100).astype(d)
                 for k, d in reader._ROW_DTYPES.items()}
        store.append(block)
        expect.append(block["mmsi"])
        value += size
    n_rows = store.n_rows
    out = store.columns()
    want = np.concatenate(expect)
    assert store.n_rows == 0 and out["mmsi"].size == want.size == n_rows
    for k, d in reader._ROW_DTYPES.items():
        assert out[k].dtype == d and out[k].flags.c_contiguous and out[k].flags.writeable
        np.testing.assert_array_equal(out[k], want.astype(d), err_msg=k)
    assert reader._Columns().columns() is None
