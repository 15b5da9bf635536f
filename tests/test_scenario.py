"""End to end: the whole pipeline on simulated scenarios finds every injected transfer, dark
period and dark rendezvous, and raises no flagged false alarm (the known truth is the oracle)."""

from __future__ import annotations

import pandas as pd
import pytest

from stsdetect.pipeline import detect
from stsdetect.simulate import demo_path, demo_truth_path, read_truth, simulate

#: Event types held to "no false alarm": every such event must be in the truth. Loitering is
#: not simulated as such (every stationary vessel loiters), so it is not judged here.
JUDGED = ("rendezvous", "dark_period", "dark_rendezvous")


def _other(values) -> pd.Series:
    return pd.Series(values).astype("Int64").fillna(-1).astype("int64").to_numpy()


def _matches(events: pd.DataFrame, truth: pd.DataFrame) -> pd.DataFrame:
    """All (truth row, event) pairs of the same type and vessels overlapping in time: a merge
    on type and MMSIs (tables of tens of rows), then a vectorized overlap test."""
    t = truth.reset_index(names="truth_row").assign(other=lambda f: _other(f["other_mmsi"]))
    e = events.reset_index(names="event_row").assign(other=lambda f: _other(f["other_mmsi"]))
    pairs = t.merge(e, on=["event_type", "mmsi", "other"], suffixes=("", "_ev"))
    return pairs[(pairs["start_ev"] <= pairs["end"]) & (pairs["end_ev"] >= pairs["start"])]


def _check(events: pd.DataFrame, truth: pd.DataFrame) -> None:
    pairs = _matches(events, truth)
    # Recall: every truth row that a correct detector reports is reported, with its flags.
    want = truth[truth["expect_detected"]]
    missed = want.loc[~want.index.isin(pairs["truth_row"]), ["kind", "mmsi", "other_mmsi"]]
    assert missed.empty, f"missed:\n{missed}"
    for row in pairs[pairs["expect_detected"]].itertuples():
        expected = {f for f in row.expected_flags.split(";") if f}
        assert expected <= set(row.flags), (row.kind, expected, row.flags)
    # Decoys, tows and pair trawlers are never reported.
    decoys = truth[~truth["expect_detected"]]
    hit = decoys[decoys.index.isin(pairs["truth_row"])]
    assert hit.empty, f"false alarms on decoys:\n{hit[['kind', 'mmsi', 'other_mmsi']]}"
    # No false alarm: every judged event is in the truth (flagged or not), and so is every
    # event of any type flagged dprk except loitering.
    judged = events[events["event_type"].isin(JUDGED)]
    extra = judged.loc[~judged.index.isin(pairs.loc[pairs["expect_detected"], "event_row"]),
                       ["event_type", "mmsi", "other_mmsi", "start", "flags"]]
    assert extra.empty, f"events not in the truth:\n{extra}"
    # The injected transfers rank above every other rendezvous.
    rv = events[events["event_type"] == "rendezvous"].sort_values("score", ascending=False)
    n_transfers = int((truth["kind"] == "transfer").sum())
    top = rv.head(n_transfers)
    transfer_pairs = set(zip(truth.loc[truth["kind"] == "transfer", "mmsi"],
                             truth.loc[truth["kind"] == "transfer", "other_mmsi"], strict=True))
    assert set(zip(top["mmsi"], top["other_mmsi"], strict=True)) == transfer_pairs


def test_bundled_demo_end_to_end():
    result = detect(str(demo_path()))
    truth = read_truth(demo_truth_path())
    assert (truth["kind"] == "transfer").sum() == 2
    _check(result.events, truth)
    # Reception noise was seen and counted, not crashed on.
    report = str(result.decode_report)
    assert "bad_checksum" in report and "malformed" in report


@pytest.mark.parametrize("seed", [1, 2])
def test_realistic_scenario_end_to_end(seed):
    # ITU report intervals (10 s / 30 s / 3 min), four transfers, 20 transits: ~130k lines.
    scenario = simulate(seed=seed, n_transfers=4)
    result = detect(scenario.nmea.decode("ascii").splitlines())
    assert (scenario.truth["kind"] == "transfer").sum() == 4
    _check(result.events, scenario.truth)
    # Every decodable position report came through (the corrupted and truncated ones not).
    n = len(result.positions)
    noise = scenario.noise
    assert noise["position_reports"] - noise["corrupt_checksum"] - noise["truncated"] <= n
    assert n <= noise["position_reports"] + noise["duplicates"]


def test_events_do_not_depend_on_line_order():
    scenario = simulate(seed=4, duration="40h", n_background=4, min_interval_s=60)
    lines = scenario.nmea.decode("ascii").splitlines()
    a = detect(lines).events
    b = detect(lines[::-1]).events
    # a renamed vessel's "latest" name is the last one in input order: reversing the lines
    # changes which name the identity columns show, and nothing else
    order_dependent = ["flags", "score", "name", "other_name"]
    pd.testing.assert_frame_equal(a.drop(columns=order_dependent),
                                  b.drop(columns=order_dependent))


def test_top_level_detect_is_the_pipeline_after_the_detectors_are_imported():
    import stsdetect
    from stsdetect.pipeline import detect as pipeline_detect

    first = stsdetect.detect(str(demo_path()), only=["dark_period"])
    # Running the pipeline imported stsdetect.detectors.*, which must not shadow detect().
    assert stsdetect.detect is pipeline_detect
    second = stsdetect.detect(str(demo_path()), only=["dark_period"])
    pd.testing.assert_frame_equal(first.events, second.events)
    assert callable(stsdetect.detectors.find_rendezvous)
