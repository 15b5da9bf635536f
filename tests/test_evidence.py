"""Evidence packages: raw lines byte for byte with file and line, hashes, manifest, figures;
the same bytes twice; verification against the sources catches any change."""

from __future__ import annotations

import gzip
import hashlib
import json
import re
import shutil

import numpy as np
import pandas as pd
import pytest

from stsdetect import detect
from stsdetect.cli import EXIT_BAD_INPUT, EXIT_MISMATCH, EXIT_OK, main
from stsdetect.events import make_events, write_events
from stsdetect.evidence import FORMAT, verify_evidence, write_evidence
from stsdetect.simulate import demo_path as demo_dump_path

pyais = pytest.importorskip("pyais")


def _split_lines(data: bytes) -> list[bytes]:
    """Lines as the provenance contract counts them (an oracle independent of the reader)."""
    return re.split(rb"\r\n|\r|\n", data)


@pytest.fixture(scope="module")
def demo(tmp_path_factory):
    """The bundled demo dump (copied, so that tests may alter the copy), its events and the
    top-ranked rendezvous."""
    tmp = tmp_path_factory.mktemp("evidence")
    dump = tmp / "demo.nmea.gz"
    shutil.copyfile(demo_dump_path(), dump)
    events = detect(str(dump)).events
    events_file = write_events(events, tmp / "events.csv")
    top = events[events["event_type"] == "rendezvous"].sort_values(
        "score", ascending=False).iloc[0]
    return dump, events_file, events, top


def test_package_holds_every_raw_line_of_both_vessels_byte_for_byte(demo, tmp_path):
    dump, _, events, top = demo
    folder, = write_evidence(events, [top["event_id"]], [str(dump)], tmp_path, margin="2h")
    assert folder.name == top["event_id"]
    assert sorted(p.name for p in folder.iterdir()) == [
        "lines.txt", "lines_index.tsv", "manifest.json", "map.png", "timeline.png"]
    raw = (folder / "lines.txt").read_bytes().split(b"\n")[:-1]
    index = pd.read_csv(folder / "lines_index.tsv", sep="\t", keep_default_na=False)
    assert len(raw) == len(index) and list(index["n"]) == list(range(1, len(raw) + 1))
    assert set(index["file"]) == {str(dump)}
    # Each line is the source's line of that number, byte for byte (own split of the file).
    source_lines = _split_lines(gzip.decompress(dump.read_bytes()))
    for line, number in zip(raw, index["line"], strict=True):
        assert line == source_lines[number - 1]
    # Oracle: every position report of either vessel in the window, found by pyais in the
    # raw dump with the tag block's c: time, is in the package as a position line.
    vessels = {int(top["mmsi"]), int(top["other_mmsi"])}
    t0 = (top["start"] - pd.Timedelta("2h")).timestamp()
    t1 = (top["end"] + pd.Timedelta("2h")).timestamp()
    expected = set()
    for number, line in enumerate(source_lines, start=1):  # the demo: some 20k lines
        m = re.search(rb"c:(\d+)", line)
        if not m or not t0 <= int(m.group(1)) <= t1 or b",1,1," not in line:
            continue
        sentence = line.split(b"\\")[-1]
        try:
            if not pyais.NMEAMessage(sentence).is_valid:  # a bad checksum: not a report
                continue
            msg = pyais.decode(sentence.decode()).asdict()
        except Exception:  # the demo holds corrupted sentences on purpose; pyais refuses them
            continue
        if msg["msg_type"] in (1, 2, 3, 18, 19) and msg["mmsi"] in vessels:
            expected.add(number)
    got = set(index.loc[index["role"] == "position", "line"])
    assert expected and got == expected
    # The identity each vessel broadcast is there: its static lines (type 5 or 24).
    statics = index[index["role"] == "static"]
    assert set(statics["mmsi"].astype(int)) <= vessels and len(statics)
    # A two-part type 5 comes with its first fragment, on the line before.
    fragments = index.loc[index["role"] == "fragment", "line"]
    assert fragments.isin(index.loc[index["role"] == "static", "line"] - 1).all()


def test_manifest_records_version_parameters_event_and_hashes(demo, tmp_path):
    dump, _, events, top = demo
    folder, = write_evidence(events, [top["event_id"]], [str(dump)], tmp_path,
                             detect_params={"min_gap": "12h"})
    manifest = json.loads((folder / "manifest.json").read_text())
    assert manifest["format"] == FORMAT
    from stsdetect import __version__

    assert manifest["stsdetect_version"] == __version__
    assert manifest["event"]["event_id"] == top["event_id"]
    assert manifest["event"]["mmsi"] == int(top["mmsi"])
    assert set(manifest["event"]) == set(events.columns)  # every column, identity included
    assert manifest["parameters"]["evidence"]["margin"] == "2h"
    assert manifest["parameters"]["detect"]["dark_period"]["min_gap"] == "12h"
    assert {"rendezvous", "tracks", "flags"} <= set(manifest["parameters"]["detect"])
    source, = manifest["sources"]
    assert source["name"] == str(dump)
    assert source["sha256"] == hashlib.sha256(dump.read_bytes()).hexdigest()
    assert source["bytes"] == dump.stat().st_size
    for name, digest in manifest["files"].items():
        assert hashlib.sha256((folder / name).read_bytes()).hexdigest() == digest
    assert manifest["counts"]["lines"] == len((folder / "lines.txt").read_bytes().split(b"\n")) - 1


def test_same_inputs_give_byte_identical_packages(demo, tmp_path):
    dump, _, events, _ = demo
    ids = list(events.sort_values("score", ascending=False)["event_id"].iloc[:2])
    a = write_evidence(events, ids, [str(dump)], tmp_path / "a")
    b = write_evidence(events, ids, [str(dump)], tmp_path / "b")
    for fa, fb in zip(a, b, strict=True):
        names = sorted(p.name for p in fa.iterdir())
        assert names == sorted(p.name for p in fb.iterdir()) and len(names) >= 4
        for name in names:
            assert (fa / name).read_bytes() == (fb / name).read_bytes(), name


def test_verify_passes_then_catches_every_kind_of_change(demo, tmp_path):
    dump, _, events, top = demo
    folder, = write_evidence(events, [top["event_id"]], [str(dump)], tmp_path / "pkg")
    check, = verify_evidence(tmp_path / "pkg")
    assert check.ok and check.lines_checked == len(
        (folder / "lines.txt").read_bytes().split(b"\n")) - 1
    # A line changed in the package: its hash no longer matches...
    lines = (folder / "lines.txt").read_bytes()
    forged = lines.replace(b"!AIVDM", b"!AIVDX", 1)
    (folder / "lines.txt").write_bytes(forged)
    assert any("lines.txt does not match" in p for p in verify_evidence(folder)[0].problems)
    # ... and with the manifest's hash forged too, the comparison with the source catches it.
    manifest = json.loads((folder / "manifest.json").read_text())
    manifest["files"]["lines.txt"] = hashlib.sha256(forged).hexdigest()
    (folder / "manifest.json").write_text(json.dumps(manifest))
    problems = verify_evidence(folder)[0].problems
    assert problems and all("differs from" in p for p in problems)
    (folder / "lines.txt").write_bytes(lines)
    manifest["files"]["lines.txt"] = hashlib.sha256(lines).hexdigest()
    (folder / "manifest.json").write_text(json.dumps(manifest))
    assert verify_evidence(folder)[0].ok
    # A source that is not the one hashed is refused; a moved source is found by name.
    moved = tmp_path / "moved" / dump.name
    moved.parent.mkdir()
    shutil.copyfile(dump, moved)
    assert verify_evidence(folder, sources=[moved])[0].ok
    other = tmp_path / "other" / dump.name
    other.parent.mkdir()
    other.write_bytes(gzip.compress(gzip.decompress(dump.read_bytes()) + b"\n"))
    assert any("does not match its SHA-256" in p
               for p in verify_evidence(folder, sources=[other])[0].problems)


def test_pghp_time_lines_and_fragments_of_a_real_dma_dump(shared_data, tmp_path):
    """A real DMA dump, where a tag-block line and a $PGHP line (the time) precede each
    sentence and type 5 comes in two parts."""
    dump = shared_data / "dma-aisabnormal" / "219165000_ssc_1.ais"
    start = pd.Timestamp("2014-10-05 15:58", tz="UTC").timestamp()
    ev = make_events("loitering", mmsi=[219165000], start=[start], end=[start + 420],
                     lat=[54.46], lon=[15.93])
    folder, = write_evidence(ev, ev["event_id"], [str(dump)], tmp_path, margin="5min")
    index = pd.read_csv(folder / "lines_index.tsv", sep="\t", keep_default_na=False)
    raw = (folder / "lines.txt").read_bytes().split(b"\n")[:-1]
    source = _split_lines(dump.read_bytes())
    for line, number in zip(raw, index["line"], strict=True):
        assert line == source[number - 1]
    roles = dict(zip(index["line"], index["role"], strict=True))
    for number, role in roles.items():
        if role in ("position", "static"):
            before = source[number - 2]
            # The time of the sentence is kept: the $PGHP (or tag) line before it.
            if before.startswith((b"$PGHP", b"\\")) and roles.get(number - 1) != "fragment":
                assert roles.get(number - 1) == "time"
    assert "fragment" in roles.values() and "static" in roles.values()
    assert verify_evidence(folder)[0].ok


def test_cli_evidence_and_verify(demo, tmp_path, capsys):
    dump, events_file, _, top = demo
    out = tmp_path / "cases"
    params = tmp_path / "params.json"
    params.write_text(json.dumps({"min_gap": "12h"}))
    assert main(["evidence", str(events_file), "--event", top["event_id"], "--source",
                 str(dump), "-o", str(out), "--params", str(params), "-q"]) == EXIT_OK
    assert (out / top["event_id"] / "manifest.json").is_file()
    assert main(["evidence", "--verify", str(out)]) == EXIT_OK
    assert "OK" in capsys.readouterr().out
    index = out / top["event_id"] / "lines_index.tsv"
    index.write_text(index.read_text().replace("\tposition\t", "\tstatic\t", 1))
    assert main(["evidence", "--verify", str(out)]) == EXIT_MISMATCH
    assert "lines_index.tsv does not match" in capsys.readouterr().out
    assert main(["evidence", str(events_file), "--event", "no-such-event", "--source",
                 str(dump), "-o", str(out)]) == EXIT_BAD_INPUT
    assert "no-such-event" in capsys.readouterr().err
    assert main(["evidence", str(events_file), "-o", str(out)]) == EXIT_BAD_INPUT
    assert main(["evidence", "--verify", str(tmp_path / "nothing")]) == EXIT_BAD_INPUT


def test_sources_that_do_not_hold_the_event_are_refused(demo, tmp_path, shared_data):
    _, _, events, top = demo
    other = shared_data / "dma-aislib" / "small_cb_example.txt"
    with pytest.raises(ValueError, match="no line of the sources supports"):
        write_evidence(events, [top["event_id"]], [str(other)], tmp_path)
    with pytest.raises(ValueError, match="margin"):
        write_evidence(events, [top["event_id"]], [str(other)], tmp_path, margin="2")
    assert np.isfinite(top["lat"])


@pytest.mark.parametrize("ending", [b"\n", b"\r\n", b"\r", b""])
def test_line_reader_counts_lines_as_the_provenance_contract_does(tmp_path, ending):
    """Lines split at \\r\\n, \\r and \\n, across block boundaries, the last maybe unended."""
    from stsdetect import evidence

    rng = np.random.default_rng(7)
    ends = [b"\n", b"\r\n", b"\r"]
    body = b"".join(b"line %d %s" % (i, b"x" * int(rng.integers(0, 40))) + ends[i % 3]
                    for i in range(3000))
    data = body + b"last" + ending
    path = tmp_path / "dump.txt"
    path.write_bytes(data)
    oracle = _split_lines(data)
    if ending:
        oracle = oracle[:-1]  # a final line end ends the last line; it starts none
    wanted = np.array([1, 2, 3, 1000, 2999, 3000, len(oracle)])
    old = evidence._BLOCK_BYTES
    try:
        evidence._BLOCK_BYTES = 97  # many blocks, '\r' and '\r\n' split across them
        got = evidence._read_lines([str(path)], {str(path): wanted})
    finally:
        evidence._BLOCK_BYTES = old
    assert got == {(str(path), int(n)): oracle[n - 1] for n in wanted}
    assert (str(path), len(oracle) + 1) not in evidence._read_lines(
        [str(path)], {str(path): np.array([len(oracle) + 1])})
