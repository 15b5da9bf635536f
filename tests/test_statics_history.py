"""The statics history (contract C2): every static record with its time, in input order."""

from __future__ import annotations

import pandas as pd
from pyais.encode import encode_dict

from stsdetect.ais import read_ais
from stsdetect.ais.reader import AISData
from stsdetect.ais.report import DecodeReport
from stsdetect.ais.statics import STATICS_COLUMNS, build_statics

T0 = pd.Timestamp("2024-03-01T00:00:00Z")


def _type5(mmsi: int, draught_m: float, destination: str) -> dict:
    return {"type": 5, "mmsi": mmsi, "imo": 9123456, "callsign": "BXYZ", "shipname": "HAI XING",
            "ship_type": 70, "to_bow": 100, "to_stern": 20, "to_port": 10, "to_starboard": 10,
            "draught": draught_m, "destination": destination}


def _lines(records):
    """Tag-blocked NMEA lines (c: epoch seconds) of (seconds after T0, message dict)."""
    out = []
    for dt, msg in records:
        for sentence in encode_dict(msg, talker_id="AI"):
            body = f"c:{int(T0.timestamp()) + dt}"
            check = 0
            for ch in body:
                check ^= ord(ch)
            out.append(f"\\{body}*{check:02X}\\{sentence}")
    return out


def test_read_ais_keeps_every_static_record_with_its_time(tmp_path):
    records = [
        (0, _type5(412000001, 5.1, "NINGBO")),
        (60, {"type": 1, "mmsi": 412000001, "lat": 30.0, "lon": 122.0, "speed": 0.1}),
        (600, _type5(412000002, 7.0, "SHANGHAI")),
        (3600, _type5(412000001, 5.1, "NINGBO")),          # the same record again
        (7200, _type5(412000001, 9.8, "NAMPO")),           # loaded, new destination
        (7300, {"type": 24, "mmsi": 412000003, "partno": 0, "shipname": "ZHE YU 1"}),
        (7400, {"type": 24, "mmsi": 412000003, "partno": 1, "ship_type": 52,
                "callsign": "BZZZ", "to_bow": 20, "to_stern": 10, "to_port": 4,
                "to_starboard": 4}),
    ]
    path = tmp_path / "dump.nmea"
    path.write_text("\n".join(_lines(records)) + "\n")
    ais = read_ais(path)
    st = ais.statics
    assert list(st.columns[:len(STATICS_COLUMNS)]) == STATICS_COLUMNS
    assert str(st["time"].dtype) == "datetime64[ns, UTC]"
    expect_t = [T0 + pd.Timedelta(seconds=s) for s, m in records if m["type"] != 1]
    assert list(st["time"]) == expect_t
    assert st["mmsi"].tolist() == [412000001, 412000002, 412000001, 412000001, 412000003,
                                   412000003]
    assert st["msg_type"].tolist() == [5, 5, 5, 5, 24, 24]
    assert st["draught_m"].iloc[:4].tolist() == [5.1, 7.0, 5.1, 9.8]
    assert st["destination"].iloc[:4].tolist() == ["NINGBO", "SHANGHAI", "NINGBO", "NAMPO"]
    assert st["name"].iloc[4] == "ZHE YU 1" and st["callsign"].iloc[5] == "BZZZ"
    assert st["ship_type"].iloc[5] == 52 and pd.isna(st["ship_type"].iloc[4])
    # the vessels table stays the latest-per-MMSI summary of the same records
    v = ais.vessels.set_index("mmsi")
    assert v.loc[412000001, "draught_m"] == 9.8 and v.loc[412000001, "destination"] == "NAMPO"


def test_statics_history_agrees_with_pyais_on_real_dumps(shared_data):
    # every type 5 of a real tag-blocked dump, as pyais's own stream reader decodes it, in
    # order, against the history read_ais keeps
    from pyais.stream import FileReaderStream

    path = shared_data / "gfw-ais-listener" / "nmea-with-tagblock.txt"
    expect = []
    for msg in FileReaderStream(str(path)):
        try:
            d = msg.decode()
        except Exception:  # pyais raises many types on bad input; not records either way
            continue
        if d.msg_type == 5:
            expect.append((d.mmsi, float(d.draught or 0), (d.destination or "").strip() or None))
    ais = read_ais(path)
    st = ais.statics
    type5 = st[st["msg_type"] == 5]
    got = list(zip(type5["mmsi"], type5["draught_m"].fillna(0.0),
                   type5["destination"].astype(object).where(type5["destination"].notna(), None),
                   strict=True))
    assert len(expect) > 500 and got == expect
    for t in (5, 19, 24):
        assert (st["msg_type"] == t).sum() == ais.report.decoded.get(t, 0)
    assert st["time"].notna().all()


def test_empty_and_default_statics():
    empty = build_statics(None)
    assert list(empty.columns) == STATICS_COLUMNS and len(empty) == 0
    assert str(empty["time"].dtype) == "datetime64[ns, UTC]"
    data = AISData(pd.DataFrame(), pd.DataFrame(), DecodeReport())
    assert list(data.statics.columns) == STATICS_COLUMNS
    ais = read_ais(["\\c:1709251200*55\\!AIVDM,1,1,,A,13u?etPv2;0n:dDPwUM1U1Cb069D,0*24"])
    assert len(ais.statics) == 0 and list(ais.statics.columns) == STATICS_COLUMNS


def test_decoded_tables_keep_changes_of_static_columns(tmp_path):
    csv = tmp_path / "mc.csv"
    csv.write_text(
        "MMSI,BaseDateTime,LAT,LON,SOG,COG,Heading,VesselName,IMO,CallSign,VesselType,Status,"
        "Length,Width,Draft,Cargo,TransceiverClass\n"
        "367000001,2024-01-01T00:00:00,30,-90,0,0,0,A,IMO9000001,C,70,1,100,20,5.0,,A\n"
        "367000001,2024-01-01T01:00:00,30,-90,0,0,0,A,IMO9000001,C,70,1,100,20,5.0,,A\n"
        "367000001,2024-01-01T02:00:00,30,-90,0,0,0,A,IMO9000001,C,70,1,100,20,8.5,,A\n")
    st = read_ais(csv).statics
    assert st["draught_m"].tolist() == [5.0, 8.5]
    assert st["msg_type"].tolist() == [0, 0]
    assert st["time"].tolist() == [pd.Timestamp("2024-01-01T00:00Z"),
                                   pd.Timestamp("2024-01-01T02:00Z")]
