"""Seeded synthetic AIS scenarios with a known truth, for tests, benchmarks and the demo.

:func:`simulate` writes a day or more of traffic in the East China Sea, Hangzhou Bay and the
Yangtze estuary as NMEA 0183 ``!AIVDM`` sentences with NMEA 4.10 tag blocks
(``\\s:<station>,c:<unix seconds>*hh\\``), the way a shore network logs them, and the truth of
what it injected:

* **transfers**: a DPRK vessel (MMSI MID 445) comes from the north-east, goes dark for about
  18 h, reappears in Hangzhou Bay or the Yangtze estuary, lies alongside a Chinese barge
  (MID 412/413, Class B, ship type 99 or no static data at all) 100-300 m apart at under 1 kn
  for 3-6 h, then leaves;
* **a dark rendezvous**: a DPRK vessel and a Chinese cargo ship go dark together 5 km apart
  and reappear together elsewhere 10-14 h later;
* **decoys** that a correct detector must *not* report: a DPRK vessel passing a barge at 10 kn,
  a DPRK vessel and a barge stationary 2 km apart, a DPRK vessel alongside a barge for only
  75 min;
* **background**: transits, lone vessels at anchor, an anchorage pair lying 300 m apart for the
  whole scenario, a tug towing a barge at 5 kn, pair trawlers moving together at 3.5 kn;
* **crowds** (optional, :func:`simulate` ``n_crowded_anchorages``, ``n_berth``): anchorages of
  dozens of ships at anchor within 3 km (AIS status 1), most lying there throughout and some
  coming and going, the first ones about 5 km from a transfer's meeting point (so transfers
  happen close to an anchorage but not in it); a row of ships moored at a quay 150 m apart
  (status 5);
* **draught changes** (optional, ``draught_changes``): each transfer's DPRK vessel reports a
  draught 3-5 m smaller after the transfer (it discharged its cargo; the new draught is keyed in
  half-way through the transfer), and three ships at an anchorage change draught once
  (ordinary cargo work), so the truth of ``draught_change`` is known;
* **reception noise**: corrupted checksums, truncated lines, exact duplicates heard by a second
  station, reports with the "not available" position (lat 91, lon 181).

Report intervals follow ITU-R M.1371-5 (Class A: 10 s underway at 0-14 kn, 3 min at anchor;
Class B "CS": 30 s above 2 kn, 3 min below), floored at ``min_interval_s`` so that a small demo
stays small. Static data (type 5, type 24 A/B) is encoded with :func:`pyais.encode.encode_dict`;
the many position reports (types 1 and 18) with the vectorized 6-bit encoder
:func:`encode_position_reports`, whose output the tests check against pyais.

The truth table (:data:`TRUTH_COLUMNS`) has one row per thing a detector should or should not
find, with the event time span, region and expected flags.
"""

from __future__ import annotations

import gzip
import io
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path

import numpy as np
import pandas as pd

from stsdetect.geo import EARTH_RADIUS_M, KNOT_M_S, duration_s, haversine_m

__all__ = [
    "TRUTH_COLUMNS",
    "Scenario",
    "demo_path",
    "demo_truth_path",
    "encode_position_reports",
    "read_truth",
    "satellite_view",
    "simulate",
    "tag_blocks",
    "write_demo",
]

#: Truth table columns: ``kind`` (see the module docstring), the vessels (``mmsi`` the smaller
#: MMSI of a pair, as in the events table), the UTC time span, the region name ("" outside the
#: named regions), whether a correct detector run with the default parameters reports it, and the
#: flags it should then carry (';'-joined).
TRUTH_COLUMNS = [
    "kind",
    "event_type",
    "mmsi",
    "other_mmsi",
    "start",
    "end",
    "lat",
    "lon",
    "region",
    "expect_detected",
    "expected_flags",
]

H = 3600.0
#: ITU-R M.1371-5, Annex 1, Table 1: Class A reports every 10 s at 0-14 kn, every 3 min at
#: anchor or moored and not moving faster than 3 kn.
CLASS_A_UNDERWAY_S = 10.0
CLASS_A_ANCHORED_S = 180.0
#: ITU-R M.1371-5, Annex 1, Table 2 (Class B "CS", ITU-R M.1371 / IEC 62287-1): every 30 s above
#: 2 kn, every 3 min at or below 2 kn.
CLASS_B_UNDERWAY_S = 30.0
CLASS_B_SLOW_S = 180.0
#: ITU-R M.1371-5: static and voyage data every 6 min.
STATIC_INTERVAL_S = 360.0

#: Named places of the scenario: (lat, lon) of their centres, in degrees.
SITES = {
    "hangzhou_bay": (30.45, 121.45),
    "yangtze_estuary": (31.30, 121.78),
}

_STATIONS = np.array([b"stsim01", b"stsim02", b"stsim03"])
_DPRK_NAMES = ["RYONG GANG", "CHOL SAN", "PAEK DU", "MYO HYANG", "KUM GANG", "TAE DONG",
               "SONG RIM", "JANG JA", "UN PA", "RA SON"]
_MIDS_BACKGROUND = np.array([412, 413, 414, 477, 440, 441, 431, 636, 538, 351, 563, 372])
_ENCODE_CHUNK = 200_000
_ARMOR = np.array([c + 48 if c < 40 else c + 56 for c in range(64)], dtype=np.uint8)


# --------------------------------------------------------------------------------------------
# The vectorized encoder
# --------------------------------------------------------------------------------------------

def _bits(value: np.ndarray, width: int) -> np.ndarray:
    """Big-endian bits of integers (two's complement in ``width`` bits), shape (n, width)."""
    value = np.asarray(value, dtype=np.int64) & ((1 << width) - 1)
    as_bytes = value.astype(">u8").view(np.uint8).reshape(-1, 8)
    return np.unpackbits(as_bytes, axis=1)[:, 64 - width:]


def _armor(bits: np.ndarray) -> np.ndarray:
    """(n, 6k) bits -> (n, k) armored payload characters (uint8)."""
    n, nbits = bits.shape
    sixes = bits.reshape(n, nbits // 6, 6) @ np.array([32, 16, 8, 4, 2, 1], dtype=np.uint8)
    return _ARMOR[sixes]


def _xor_checksum(chars: np.ndarray) -> np.ndarray:
    """NMEA checksum (XOR of all bytes) of each row of a uint8 matrix (zeros are neutral)."""
    return np.bitwise_xor.reduce(chars, axis=1)


def _hex2(values: np.ndarray) -> np.ndarray:
    """Two upper-case hex digits of each byte, shape (n, 2) uint8."""
    digits = np.frombuffer(b"0123456789ABCDEF", dtype=np.uint8)
    values = np.asarray(values, dtype=np.uint8)
    return np.column_stack((digits[values >> 4], digits[values & 15]))


def _const(text: bytes, n: int) -> np.ndarray:
    return np.broadcast_to(np.frombuffer(text, dtype=np.uint8), (n, len(text)))


def encode_position_reports(
    msg_type,
    mmsi,
    lat_deg,
    lon_deg,
    sog_kn,
    cog_deg,
    heading_deg,
    second,
    nav_status=None,
    channel=None,
) -> np.ndarray:
    """Encode position reports (types 1, 2, 3 and 18) as ``!AIVDM`` sentences, all at once.

    Field scaling and rounding follow pyais's encoder (``pyais.encode.encode_dict``), so each
    sentence equals the one it writes for the same values: speed and course are truncated to
    0.1, positions rounded (half to even) to 1/10000 minute. NaN stands for the AIS "not
    available" value of a field (lat 91, lon 181, speed 102.3, course 360, heading 511).

    Parameters
    ----------
    msg_type : array_like of int
        1, 2 or 3 (Class A) or 18 (Class B), per message.
    mmsi : array_like of int
    lat_deg, lon_deg : array_like of float
        Position in degrees; NaN for "not available".
    sog_kn, cog_deg, heading_deg : array_like of float
        Speed over ground (knots), course over ground and true heading (degrees); NaN for
        "not available".
    second : array_like of int
        UTC second of the report (0-59; 60 means "not available").
    nav_status : array_like of int, optional
        Navigational status for types 1-3 (default 15, "not defined"); ignored for type 18.
    channel : array_like of bytes, optional
        Radio channel ``b"A"`` or ``b"B"`` per message (default ``b"A"``).

    Returns
    -------
    numpy.ndarray
        Fixed-width bytes (``S47``): one single-fragment sentence per message, without line end.
    """
    msg_type = np.asarray(msg_type, dtype=np.int64)
    n = msg_type.size
    if not np.isin(msg_type, (1, 2, 3, 18)).all():
        raise ValueError("encode_position_reports encodes message types 1, 2, 3 and 18 only")
    if n > _ENCODE_CHUNK:
        # Bounded memory: the bit matrices take about 1 KB per message.
        cols = [np.broadcast_to(np.asarray(c), (n,)) if c is not None else None
                for c in (mmsi, lat_deg, lon_deg, sog_kn, cog_deg, heading_deg, second,
                          nav_status, channel)]
        parts = [encode_position_reports(msg_type[i:i + _ENCODE_CHUNK],
                                         *(c if c is None else c[i:i + _ENCODE_CHUNK]
                                           for c in cols))
                 for i in range(0, n, _ENCODE_CHUNK)]
        return np.concatenate(parts)

    def filled(values, scale, na, trunc):
        v = np.asarray(values, dtype=float) * scale
        v = np.trunc(v) if trunc else np.rint(v)
        return np.where(np.isnan(v), na, v).astype(np.int64)

    lat = filled(lat_deg, 600000.0, 91 * 600000, trunc=False)
    lon = filled(lon_deg, 600000.0, 181 * 600000, trunc=False)
    sog = np.minimum(filled(sog_kn, 10.0, 1023, trunc=True), 1023)
    cog = filled(cog_deg, 10.0, 3600, trunc=True)
    hdg = filled(heading_deg, 1.0, 511, trunc=True)
    sec = np.asarray(second, dtype=np.int64) + np.zeros(n, dtype=np.int64)
    status = (np.full(n, 15, np.int64) if nav_status is None
              else np.asarray(nav_status, dtype=np.int64) + np.zeros(n, dtype=np.int64))
    zeros = np.zeros(n, dtype=np.int64)
    ones = np.ones(n, dtype=np.int64)
    head = np.hstack((_bits(msg_type, 6), _bits(zeros, 2), _bits(mmsi, 30)))
    motion = np.hstack((_bits(sog, 10), _bits(zeros, 1), _bits(lon, 28), _bits(lat, 27),
                        _bits(cog, 12), _bits(hdg, 9), _bits(sec, 6)))
    # Types 1-3 (ITU-R M.1371-5 Table 45): status 4, rate of turn 8 (-128 = not available),
    # motion, maneuver 2, spare 3, RAIM 1, radio status 19 (all zero here).
    bits_a = np.hstack((head, _bits(status, 4), _bits(np.full(n, -128), 8), motion,
                        np.zeros((n, 25), dtype=np.uint8)))
    # Type 18 (Table 49): reserved 8, motion, reserved 2, CS unit 1, display 1, DSC 1, band 1,
    # message 22 1, assigned 1, RAIM 1, radio status 20.
    bits_b = np.hstack((head, _bits(zeros, 8), motion, _bits(zeros, 2), _bits(ones, 1),
                        _bits(zeros, 1), _bits(ones, 1), _bits(ones, 1), _bits(ones, 1),
                        _bits(zeros, 1), _bits(zeros, 1), _bits(zeros, 20)))
    bits = np.where((msg_type == 18)[:, None], bits_b, bits_a)
    payload = _armor(bits)  # (n, 28)
    chan = (np.full(n, ord("A"), np.uint8) if channel is None
            else np.frombuffer(b"".join(np.broadcast_to(np.asarray(channel, dtype="S1"), (n,))
                                        .tolist()), dtype=np.uint8))
    # The checksummed part: AIVDM,1,1,,X,<payload>,0
    body = np.hstack((_const(b"AIVDM,1,1,,", n), chan[:, None], _const(b",", n), payload,
                      _const(b",0", n)))
    out = np.hstack((_const(b"!", n), body, _const(b"*", n), _hex2(_xor_checksum(body))))
    return np.ascontiguousarray(out).view(f"S{out.shape[1]}").ravel()


def tag_blocks(station, unix_s) -> np.ndarray:
    """NMEA 4.10 tag blocks ``\\s:<station>,c:<unix seconds>*hh\\``, all at once.

    Parameters
    ----------
    station : array_like of bytes
        Receiver ids, all of one length.
    unix_s : array_like of int
        Receive times in seconds since the Unix epoch (10 digits: 2001-2286).

    Returns
    -------
    numpy.ndarray
        Fixed-width bytes, one tag block per message.
    """
    unix_s = np.asarray(unix_s, dtype=np.int64)
    n = unix_s.size
    station = np.broadcast_to(np.asarray(station, dtype="S"), (n,))
    width = station.dtype.itemsize
    st = np.frombuffer(np.ascontiguousarray(station).tobytes(), np.uint8).reshape(n, width)
    if (st == 0).any():
        raise ValueError("station ids must all have the same length")
    if ((unix_s < 1_000_000_000) | (unix_s > 9_999_999_999)).any():
        raise ValueError("tag block times must be 10-digit Unix seconds (2001-2286)")
    digits = ((unix_s[:, None] // 10 ** np.arange(9, -1, -1)) % 10 + 48).astype(np.uint8)
    inner = np.hstack((_const(b"s:", n), st, _const(b",c:", n), digits))
    out = np.hstack((_const(b"\\", n), inner, _const(b"*", n), _hex2(_xor_checksum(inner)),
                     _const(b"\\", n)))
    return np.ascontiguousarray(out).view(f"S{out.shape[1]}").ravel()


# --------------------------------------------------------------------------------------------
# Kinematics
# --------------------------------------------------------------------------------------------

def _offset(lat, lon, north_m, east_m):
    """Move points by metres north/east (local tangent plane; fine at these km scales)."""
    lat = np.asarray(lat, dtype=float)
    dlat = np.degrees(np.asarray(north_m, dtype=float) / EARTH_RADIUS_M)
    dlon = np.degrees(np.asarray(east_m, dtype=float)
                      / (EARTH_RADIUS_M * np.cos(np.radians(lat))))
    return lat + dlat, np.asarray(lon, dtype=float) + dlon


def _bearing_deg(lat1, lon1, lat2, lon2):
    """Initial great-circle bearing from point 1 to point 2, degrees clockwise from north."""
    p1, p2 = np.radians(lat1), np.radians(lat2)
    dl = np.radians(np.asarray(lon2) - np.asarray(lon1))
    y = np.sin(dl) * np.cos(p2)
    x = np.cos(p1) * np.sin(p2) - np.sin(p1) * np.cos(p2) * np.cos(dl)
    return np.degrees(np.arctan2(y, x)) % 360.0


def _travel_s(lat1, lon1, lat2, lon2, speed_kn):
    return haversine_m(lat1, lon1, lat2, lon2) / (np.asarray(speed_kn, dtype=float) * KNOT_M_S)


@dataclass
class _Fleet:
    """Vessels as blocks of piecewise-linear tracks (knots) plus static identity."""

    knot_vessel: list = field(default_factory=list)
    knot_t: list = field(default_factory=list)
    knot_lat: list = field(default_factory=list)
    knot_lon: list = field(default_factory=list)
    leg_dark: list = field(default_factory=list)
    leg_anchored: list = field(default_factory=list)
    vessels: list = field(default_factory=list)
    statics: list = field(default_factory=list)
    truth: list = field(default_factory=list)
    meetings: list = field(default_factory=list)
    draughts: list = field(default_factory=list)
    n: int = 0

    def add(self, t, lat, lon, dark, anchored, **attrs) -> np.ndarray:
        """Add ``v`` vessels of ``k`` knots: t/lat/lon (v, k), dark/anchored (v, k-1)."""
        t = np.atleast_2d(np.asarray(t, dtype=float))
        v, k = t.shape
        lat = np.broadcast_to(np.asarray(lat, dtype=float), (v, k))
        lon = np.broadcast_to(np.asarray(lon, dtype=float), (v, k))
        if (np.diff(t, axis=1) <= 0).any():
            raise AssertionError("knot times must increase")  # a scenario-construction bug
        ids = np.arange(self.n, self.n + v)
        self.n += v
        self.knot_vessel.append(np.repeat(ids, k))
        self.knot_t.append(t.ravel())
        self.knot_lat.append(lat.ravel())
        self.knot_lon.append(lon.ravel())
        # Legs are stored per knot; the last knot's leg is never used.
        pad = np.zeros((v, 1), dtype=bool)
        self.leg_dark.append(np.hstack((np.broadcast_to(dark, (v, k - 1)), pad)).ravel())
        self.leg_anchored.append(np.hstack((np.broadcast_to(anchored, (v, k - 1)), pad)).ravel())
        frame = pd.DataFrame({key: np.broadcast_to(np.asarray(val, dtype=object), (v,))
                              for key, val in attrs.items()})
        frame["vid"] = ids
        self.vessels.append(frame)
        return ids


# --------------------------------------------------------------------------------------------
# Scenario
# --------------------------------------------------------------------------------------------

@dataclass(frozen=True)
class Scenario:
    """A simulated dump and its truth.

    Attributes
    ----------
    nmea : bytes
        The dump: one tag-blocked ``!AIVDM`` sentence per line, in reception order.
    truth : pandas.DataFrame
        What was injected (:data:`TRUTH_COLUMNS`).
    vessels : pandas.DataFrame
        One row per vessel: ``mmsi``, ``role``, ``name``, ``callsign``, ``ship_type``,
        ``ais_class``, ``length_m``, ``beam_m``, ``has_static``.
    positions : pandas.DataFrame
        Every position report as transmitted, before reception noise: ``mmsi``, ``time``,
        ``lat``, ``lon`` (NaN where "not available" was sent), ``sog_kn``, ``cog_deg``,
        ``heading_deg``, ``nav_status``, ``msg_type``.
    noise : dict
        Counts: ``lines``, ``position_reports``, ``static_sentences``, ``duplicates``,
        ``corrupt_checksum``, ``truncated``, ``not_available_position``.
    start, end : pandas.Timestamp
        The simulated time span (UTC).
    passes : pandas.DataFrame or None
        Satellite passes of :func:`satellite_view` (``start``, ``end``, ``decode_probability``);
        None for shore reception.
    detections : pandas.DataFrame or None
        Imagery detections, when added.
    """

    nmea: bytes
    truth: pd.DataFrame
    vessels: pd.DataFrame
    positions: pd.DataFrame
    noise: dict
    start: pd.Timestamp
    end: pd.Timestamp
    passes: pd.DataFrame | None = None
    detections: pd.DataFrame | None = None

    def lines(self) -> list[str]:
        """The dump as a list of text lines."""
        return self.nmea.decode("ascii").splitlines()

    def write(self, directory, name: str = "scenario", compress: bool = True) -> dict:
        """Write the dump, truth and vessels into ``directory`` (created if needed).

        Returns
        -------
        dict
            ``{"nmea": path, "truth": path, "vessels": path}``.
        """
        directory = Path(directory)
        directory.mkdir(parents=True, exist_ok=True)
        nmea_path = directory / (f"{name}.nmea.gz" if compress else f"{name}.nmea")
        if compress:
            # mtime=0: the same seed gives byte-identical files.
            with open(nmea_path, "wb") as raw, gzip.GzipFile(
                fileobj=raw, mode="wb", mtime=0, filename=""
            ) as gz:
                gz.write(self.nmea)
        else:
            nmea_path.write_bytes(self.nmea)
        truth_path = directory / f"{name}_truth.csv"
        _write_truth(self.truth, truth_path)
        vessels_path = directory / f"{name}_vessels.csv"
        self.vessels.to_csv(vessels_path, index=False)
        return {"nmea": nmea_path, "truth": truth_path, "vessels": vessels_path}


def _write_truth(truth: pd.DataFrame, path: Path) -> None:
    out = truth.copy()
    for col in ("start", "end"):
        out[col] = out[col].dt.strftime("%Y-%m-%dT%H:%M:%SZ")
    out.to_csv(path, index=False)


def read_truth(path) -> pd.DataFrame:
    """Read a truth CSV written by :meth:`Scenario.write` (times as UTC, flags as str)."""
    frame = pd.read_csv(path, dtype={"region": str, "expected_flags": str},
                        keep_default_na=False, na_values={"other_mmsi": [""]})
    missing = set(TRUTH_COLUMNS) - set(frame.columns)
    if missing:
        raise ValueError(f"{path}: not a scenario truth file (missing columns {sorted(missing)})")
    for col in ("start", "end"):
        frame[col] = pd.to_datetime(frame[col], utc=True).dt.as_unit("ns")
    frame["other_mmsi"] = frame["other_mmsi"].astype("Int64")
    frame["expect_detected"] = frame["expect_detected"].astype(str).str.lower().eq("true")
    return frame[TRUTH_COLUMNS]


def demo_path() -> Path:
    """Path of the bundled demo dump (``stsdetect/data/demo.nmea.gz``).

    It is ``simulate(**DEMO_PARAMS)`` written out; its truth is :func:`demo_truth_path`.
    """
    return Path(str(resources.files("stsdetect") / "data" / "demo.nmea.gz"))


def demo_truth_path() -> Path:
    """Path of the bundled demo's truth CSV (``stsdetect/data/demo_truth.csv``)."""
    return Path(str(resources.files("stsdetect") / "data" / "demo_truth.csv"))


#: Identities of ``examples/watchlist_example.csv`` (made-up entries, not real vessels) that the
#: demo gives its first two DPRK vessels, so that the watch-list example finds them.
DEMO_IDENTITIES = [
    {"mmsi": 445999001, "name": "EXAMPLE STAR", "renamed_to": "EXAMPLE STAR 7",
     "callsign": "XX9ZZ", "imo": 1000019},
    {"mmsi": 445999002, "name": "SAMPLE VOYAGER", "imo": 1000021},
]

#: Parameters of the bundled demo scenario: 2 days, 30 vessels, a report every 2-3 min, so the
#: gzipped dump stays near 220 KB.
DEMO_PARAMS = {"seed": 2024, "start": "2024-03-01", "duration": "2d", "n_background": 10,
               "n_anchored": 3, "min_interval_s": 120.0, "static_interval_s": 3 * H,
               "identities": DEMO_IDENTITIES}


def simulate(
    seed: int = 0,
    start="2024-03-01",
    duration="2d",
    n_transfers: int = 2,
    n_dark_rendezvous: int = 1,
    decoys: bool = True,
    n_background: int = 20,
    n_anchored: int = 4,
    min_interval_s: float = 0.0,
    static_interval_s: float = STATIC_INTERVAL_S,
    corrupt_fraction: float = 0.02,
    truncate_fraction: float = 0.01,
    duplicate_fraction: float = 0.05,
    not_available_fraction: float = 0.005,
    identities=None,
    n_crowded_anchorages: int = 0,
    anchorage_size: int = 60,
    n_berth: int = 0,
    draught_changes: bool = False,
    disguised: bool = False,
) -> Scenario:
    """Simulate a scenario: background traffic, injected transfers, decoys and noise.

    Parameters
    ----------
    seed : int, default 0
        Seed of :func:`numpy.random.default_rng`; the same seed gives the same bytes.
    start : str or datetime-like, default "2024-03-01"
        Scenario start (UTC when naive).
    duration : duration, default "2d"
        Length of the scenario (``"36h"``, ``"2d"``; a string with its unit, see
        :func:`stsdetect.geo.duration_s`). The injected events need at
        least 36 h.
    n_transfers : int, default 2
        Injected DPRK-barge transfers, alternating between Hangzhou Bay and the Yangtze estuary.
    n_dark_rendezvous : int, default 1
        Pairs that go dark together and reappear together.
    decoys : bool, default True
        Add the three decoys (fast pass, too far, too short).
    n_background : int, default 20
        Transiting vessels in the open East China Sea (8-14 kn).
    n_anchored : int, default 4
        Lone vessels at anchor, at least 3 km from any other stationary vessel. An anchorage
        pair is always added; a tug with its tow and two pair trawlers when ``duration`` is 12 h
        or more.
    min_interval_s : float, default 0
        Floor on the report interval. 0 keeps the ITU-R M.1371-5 intervals (10 s / 30 s
        underway, 3 min slow or at anchor); the bundled demo uses 240 s.
    static_interval_s : float, default 360
        Static data interval (ITU-R M.1371-5: 6 min).
    corrupt_fraction, truncate_fraction, duplicate_fraction, not_available_fraction : float
        Reception noise: share of position sentences with a corrupted payload character (so a
        wrong checksum), cut short, heard again by a second station, or sent with the "not
        available" position (lat 91, lon 181). Defaults (2 %, 1 %, 5 %, 0.5 %) are in the range
        of public shore-network logs.
    identities : list of dict, optional
        Identities given to the injected DPRK vessels in order (transfers first, then dark
        rendezvous), e.g. to match a watch-list: keys ``mmsi`` (required), ``name``,
        ``callsign``, ``imo``, ``renamed_to`` (the name broadcast after the first transfer's
        dark period). Others keep generated identities.
    n_crowded_anchorages : int, default 0
        Crowded anchorages of ``anchorage_size`` ships at anchor within a disk of 1.5 km
        radius (so dozens within 3 km). Anchorage ``k`` lies 6.5 km north of transfer ``k``'s
        meeting point (its nearest ships about 5 km away); the rest in the Ningbo-Zhoushan
        anchorage area. 70 % lie there throughout; 30 % arrive from 15 km east and leave after
        12 h or more. Their vessels have role ``anchorage``.
    anchorage_size : int, default 60
        Ships per crowded anchorage (the issue's East China Sea test: about 60).
    n_berth : int, default 0
        Ships moored in a row at a quay in Ningbo (150 m apart, status 5 "moored", the whole
        scenario), role ``berth``.
    draught_changes : bool, default False
        Transfers' DPRK vessels report a smaller draught after their transfer (their truth row
        then expects ``draught_change``), and three anchorage ships (when there are crowded
        anchorages) change draught once mid-scenario. Scenario.vessels gives each vessel's
        ``draught_m``, ``draught_after_m`` and ``draught_change_s`` (seconds after the start;
        NaN when it never changes).
    disguised : bool, default False
        Disguised identities (:func:`_add_disguises`), as in the UN Panel of Experts' cases: the
        first transfer's DPRK vessel broadcasts a listed ship of
        ``examples/watchlist_example.csv`` (:data:`DISGUISED_IDENTITY`: a Fijian MMSI, an IMO
        number with two digits swapped, its name with the number written out), and a listed
        ship hands over its voyage to a new identity at anchor (:data:`HANDOVER_IDENTITIES`:
        it falls silent, and 2 h later a vessel of the same dimensions appears 1.5 km away).
        Their truth rows say which near-match and link flags a detector should give; they
        replace ``dprk`` (the disguise hides the MID 445). Needs ``n_transfers`` >= 1.

    Returns
    -------
    Scenario
    """
    for name, value in (("corrupt_fraction", corrupt_fraction),
                        ("truncate_fraction", truncate_fraction),
                        ("duplicate_fraction", duplicate_fraction),
                        ("not_available_fraction", not_available_fraction)):
        if not 0.0 <= value <= 0.5:
            raise ValueError(f"{name} must be between 0 and 0.5, got {value}")
    for name, value in (("n_transfers", n_transfers), ("n_dark_rendezvous", n_dark_rendezvous),
                        ("n_background", n_background), ("n_anchored", n_anchored)):
        if int(value) != value or value < 0:
            raise ValueError(f"{name} must be a non-negative integer, got {value!r}")
    for name, value in (("n_crowded_anchorages", n_crowded_anchorages),
                        ("anchorage_size", anchorage_size), ("n_berth", n_berth)):
        if int(value) != value or value < 0:
            raise ValueError(f"{name} must be a non-negative integer, got {value!r}")
    if n_crowded_anchorages > 8 or anchorage_size > 200 or n_berth > 100:
        raise ValueError("at most 8 crowded anchorages of 200 ships and 100 berths")
    if n_transfers > 16 or n_dark_rendezvous > 8 or n_anchored > 64:
        raise ValueError("at most 16 transfers, 8 dark rendezvous and 64 anchored vessels "
                         "(their sites would start to overlap)")
    rng = np.random.default_rng(seed)
    t0 = pd.Timestamp(start)
    t0 = t0.tz_localize("UTC") if t0.tzinfo is None else t0.tz_convert("UTC")
    span_s = duration_s(duration)
    needs_span = n_transfers or n_dark_rendezvous or decoys
    if needs_span and span_s < 36 * H:
        raise ValueError(f"duration {duration!r} is too short: injected events need at least 36h")
    if span_s <= 0:
        raise ValueError("duration must be positive")
    fleet = _Fleet()
    _add_transfers(fleet, rng, n_transfers, span_s)
    _add_dark_rendezvous(fleet, rng, n_dark_rendezvous, span_s)
    if decoys:
        _add_decoys(fleet, rng, span_s)
    _add_background(fleet, rng, n_background, n_anchored, span_s)
    if n_crowded_anchorages or n_berth:
        _add_crowds(fleet, rng, int(n_crowded_anchorages), int(anchorage_size), int(n_berth),
                    span_s, draught_changes)
    if draught_changes:
        _add_transfer_draughts(fleet, rng)
    if disguised:
        if n_transfers < 1:
            raise ValueError("disguised=True needs n_transfers >= 1 (the disguised ship)")
        identities = _add_disguises(fleet, span_s, identities)
    return _render(fleet, rng, t0, span_s, min_interval_s, static_interval_s,
                   corrupt_fraction, truncate_fraction, duplicate_fraction,
                   not_available_fraction, identities)


#: The disguise of the first transfer's DPRK vessel with ``disguised=True``: entry 0 of
#: ``examples/watchlist_example.csv`` (EXAMPLE STAR, IMO 1000019, MMSI 445999001, flag DPRK)
#: under a Fijian MMSI (MID 520), its IMO number with the last two digits swapped (1000091:
#: like the Panel's case of an IMO one digit off, and an adjacent swap the check digit does
#: not always catch) and its listed alias "EXAMPLE STAR 7" with the number written out; after
#: its dark period it renames itself "EXAMPEL STAR 7" (two letters swapped).
DISGUISED_IDENTITY = {"mmsi": 520190019, "name": "EXAMPLE STAR SEVEN", "imo": 1000091,
                      "callsign": "3DZZ9", "renamed_to": "EXAMPEL STAR 7"}

#: The handover of ``disguised=True``: entry 3 of ``examples/watchlist_example.csv`` (TEST
#: TRADER, Sierra Leone) lies at anchor and falls silent; 2 h later a Palau-flagged vessel of
#: the same dimensions (105 x 17 m) appears 1.5 km away and stays at anchor.
HANDOVER_IDENTITIES = (
    {"mmsi": 667001234, "name": "TEST TRADER", "callsign": "9LTT1", "imo": 1000033},
    {"mmsi": 511004321, "name": "OCEAN GRACE", "callsign": "T8OG2", "imo": 9300001},
)


def _add_disguises(fleet: _Fleet, span_s: float, identities) -> list:
    """Disguised identities (see :func:`simulate`): returns the identities to apply."""
    vessels = pd.concat(fleet.vessels, ignore_index=True)
    first = int(vessels.loc[vessels["role"] == "transfer_dprk", "vid"].min())
    # its truth: no dprk (the MID is hidden), a near match and an MID against the listed flag
    for frame in fleet.truth:  # a handful of truth blocks
        mine = (frame["vid_a"] == first) | (frame["vid_b"] == first)
        flags = frame.loc[mine, "expected_flags"].astype(str).str.replace(
            r"(^|;)dprk(;|$)", r"\1flag_mismatch;watchlist_similar\2", regex=True)
        frame.loc[mine, "expected_flags"] = flags
    # the handover: at anchor 25 km east of the anchorage pair, clear of the other vessels
    p_lat, p_lon = 30.95, 122.80
    q_lat, q_lon = _offset(p_lat, p_lon, 1000.0, 1100.0)          # 1.5 km away
    silent = 0.5 * span_s
    appear = silent + 2 * H
    a_start = max(silent - 10 * H, 0.0)
    b_end = min(appear + 10 * H, span_s)
    ids = []
    for (t0, t1, lat, lon), ident in zip(((a_start, silent, p_lat, p_lon),
                                          (appear, b_end, q_lat, q_lon)),
                                         HANDOVER_IDENTITIES, strict=True):  # two vessels
        ids.append(fleet.add([[t0, t1]], [[lat, lat]], [[lon, lon]], dark=False, anchored=True,
                             mmsi=ident["mmsi"], role="handover", name=ident["name"],
                             ship_type=80, ais_class="A", length_m=105, beam_m=17,
                             has_static=True, callsign=ident["callsign"],
                             renamed_after_s=np.nan, imo=ident["imo"])[0])
        _truth(fleet, "handover", "loitering", ids[-1], -1, t0, t1, lat, lon, "", True,
               "handover")
    given = list(identities or [])
    return [dict(DISGUISED_IDENTITY), *given[1:]]


def _apply_identities(vessels: pd.DataFrame, identities) -> pd.DataFrame:
    """Give the injected DPRK vessels the identities asked for (a handful: a loop over them)."""
    vessels = vessels.copy()
    vessels["imo"] = (pd.to_numeric(vessels["imo"], errors="coerce").astype(float)
                      if "imo" in vessels else np.nan)   # set by a scenario feature, or none
    vessels["renamed_to"] = ""
    if not identities:
        return vessels
    slots = vessels.index[vessels["role"].isin(["transfer_dprk", "dark_rendezvous_dprk"])]
    if len(identities) > len(slots):
        raise ValueError(f"{len(identities)} identities given but only {len(slots)} injected "
                         "DPRK vessels")
    taken = set(vessels["mmsi"].astype(np.int64)) - set(vessels.loc[slots, "mmsi"])
    for idx, ident in zip(slots, identities, strict=False):
        unknown = set(ident) - {"mmsi", "name", "callsign", "imo", "renamed_to"}
        if unknown or "mmsi" not in ident:
            raise ValueError(f"identity {ident!r}: needs 'mmsi'; allowed keys are mmsi, name, "
                             "callsign, imo, renamed_to")
        mmsi = int(ident["mmsi"])
        if mmsi in taken or not 100_000_000 <= mmsi <= 999_999_999:
            raise ValueError(f"identity MMSI {mmsi} is not a free 9-digit MMSI")
        taken.add(mmsi)
        vessels.loc[idx, "mmsi"] = mmsi
        for key in ("name", "callsign", "imo", "renamed_to"):
            if key in ident:
                vessels.loc[idx, key] = ident[key]
    return vessels


def _window(rng, needed_s, span_s, size=None):
    """A random start offset so that ``needed_s`` fits inside the scenario, margin 30 min."""
    hi = span_s - needed_s - 0.5 * H
    if np.any(hi < 0.5 * H):
        raise ValueError("duration too short for the injected events")
    return rng.uniform(0.5 * H, hi, size=size)


def _truth(fleet, kind, event_type, a, b, start, end, lat, lon, region, expect, flags):
    n = np.size(a)
    fleet.truth.append(pd.DataFrame(index=pd.RangeIndex(n), data={
        "kind": kind, "event_type": event_type, "vid_a": a, "vid_b": b,
        "start_s": start, "end_s": end, "lat": lat, "lon": lon, "region": region,
        "expect_detected": expect, "expected_flags": flags,
    }))


def _add_transfers(fleet: _Fleet, rng, n: int, span_s: float) -> None:
    if n == 0:
        return
    j = np.arange(n)
    site = np.where(j % 2 == 0, "hangzhou_bay", "yangtze_estuary")
    hzb = site == "hangzhou_bay"
    slot = j // 2
    centre = np.where(hzb[:, None], SITES["hangzhou_bay"], SITES["yangtze_estuary"])
    # Meeting points 5-6 km apart: east along Hangzhou Bay, south down the Yangtze's south
    # channel (clear of Changxing and Hengsha islands).
    m_lat, m_lon = _offset(centre[:, 0], centre[:, 1], np.where(hzb, 0.0, -5000.0 * slot),
                           np.where(hzb, 6000.0, 1500.0) * slot)
    # The DPRK vessel lies 100-300 m from the barge.
    sep = rng.uniform(140, 230, n)
    ang = rng.uniform(0, 2 * np.pi, n)
    d_lat, d_lon = _offset(m_lat, m_lon, sep * np.cos(ang), sep * np.sin(ang))
    # Dark entry point in the open sea north-east of the estuary, approached from further NE.
    # (on a grid 25-30 km apart, so no two transfers' vessels vanish close enough together to
    # form a dark rendezvous by chance)
    b_lat = 31.2 + 0.25 * (j % 4) + rng.uniform(-0.03, 0.03, n)
    b_lon = 123.2 + 0.3 * (j // 4) + rng.uniform(-0.03, 0.03, n)
    a_lat, a_lon = _offset(b_lat, b_lon, 30000.0, 30000.0)
    # Reappears about 5 km south-east of the meeting point; leaves east (south-east from the
    # Yangtze, around Hengsha island).
    c_lat, c_lon = _offset(m_lat, m_lon, rng.uniform(-5000, -4000, n), rng.uniform(2000, 3000, n))
    e_lat, e_lon = _offset(d_lat, d_lon, np.where(hzb, rng.uniform(-8000, 8000, n), -15000.0),
                           np.where(hzb, 40000.0, 35000.0))
    leg1 = _travel_s(a_lat, a_lon, b_lat, b_lon, 10.0)
    dark = rng.uniform(16 * H, 20 * H, n)
    leg3 = _travel_s(c_lat, c_lon, d_lat, d_lon, 5.0)
    alongside = rng.uniform(3.2 * H, 5.8 * H, n)
    leg5 = _travel_s(d_lat, d_lon, e_lat, e_lon, 9.0)
    before = 2.5 * H  # the barge leaves port before the DPRK vessel arrives
    needed = before + leg1 + dark + leg3 + alongside + leg5
    start = _window(rng, needed, span_s, n) + before
    t = np.cumsum(np.column_stack((start, leg1, dark, leg3, alongside, leg5)), axis=1)
    mmsi = 445_000_000 + rng.choice(1_000_000, n, replace=False)
    names = np.char.add(np.char.add(np.array(_DPRK_NAMES)[j % len(_DPRK_NAMES)], " "),
                        (1 + j // len(_DPRK_NAMES)).astype(str))
    dprk = fleet.add(
        t, np.column_stack((a_lat, b_lat, c_lat, d_lat, d_lat, e_lat)),
        np.column_stack((a_lon, b_lon, c_lon, d_lon, d_lon, e_lon)),
        dark=np.array([False, True, False, False, False]),
        anchored=np.array([False, False, False, True, False]),
        mmsi=mmsi, role="transfer_dprk", name=names, ship_type=np.where(j % 3 == 2, 70, 80),
        ais_class="A", length_m=rng.integers(90, 140, n), beam_m=rng.integers(14, 22, n),
        has_static=True, callsign=_labels("HM", mmsi % 9000 + 1000),
        # Identity change: the first transfer's vessel reappears under another name.
        renamed_after_s=np.where(j == 0, t[:, 2], np.nan),
    )
    # The barge: from 15-20 km up the bay / river to the meeting point at 4 kn, waits, goes back.
    p_lat, p_lon = _offset(m_lat, m_lon, np.where(hzb, 0.0, 11000.0),
                           np.where(hzb, -15000.0, -17000.0))
    to_m = _travel_s(p_lat, p_lon, m_lat, m_lon, 4.0)
    arrive = t[:, 3] - rng.uniform(0.6 * H, 1.5 * H, n)
    leave = t[:, 4] + rng.uniform(0.4 * H, 1.0 * H, n)
    tb = np.column_stack((arrive - to_m, arrive, leave, leave + to_m))
    barge_mmsi = np.where(j % 2 == 0, 412_000_000, 413_000_000) + rng.choice(
        1_000_000, n, replace=False)
    has_static = j % 3 != 1  # some barges send no static data at all
    barge = fleet.add(
        tb, np.column_stack((p_lat, m_lat, m_lat, p_lat)),
        np.column_stack((p_lon, m_lon, m_lon, p_lon)),
        dark=False, anchored=np.array([False, True, False]),
        mmsi=barge_mmsi, role="barge", name=_labels("ZHE HAI ", 100 + j), ship_type=99,
        ais_class="B", length_m=rng.integers(35, 60, n), beam_m=rng.integers(8, 12, n),
        has_static=has_static, callsign="", renamed_after_s=np.nan,
    )
    region = site
    fleet.meetings.append(pd.DataFrame({"lat": m_lat, "lon": m_lon, "vid": dprk,
                                        "start_s": t[:, 3], "end_s": t[:, 4]}))
    # a barge with no static data is called on weak evidence only (Class B, Chinese MID)
    barge_flag = np.where(has_static, "barge;dprk;", "barge_weak;dprk;")
    _truth(fleet, "transfer", "rendezvous", dprk, barge, t[:, 3], t[:, 4],
           (d_lat + m_lat) / 2, (d_lon + m_lon) / 2, region, True,
           np.char.add(barge_flag, region.astype(str)))
    _truth(fleet, "dark_period", "dark_period", dprk, -1, t[:, 1], t[:, 2], b_lat, b_lon, "",
           True, "dprk")


def _add_dark_rendezvous(fleet: _Fleet, rng, n: int, span_s: float) -> None:
    if n == 0:
        return
    j = np.arange(n)
    q_lat, q_lon = 30.95 + 0.12 * j, 123.05 + rng.uniform(-0.05, 0.05, n)
    r_lat, r_lon = _offset(q_lat, q_lon, rng.uniform(-15000, -10000, n),
                           rng.uniform(10000, 20000, n))
    # Vanish 5 km apart (2.5 km either side), reappear 5 km apart.
    v1 = _offset(q_lat, q_lon, 2500.0, 0.0)
    v2 = _offset(q_lat, q_lon, -2500.0, 0.0)
    w1 = _offset(r_lat, r_lon, 0.0, 2500.0)
    w2 = _offset(r_lat, r_lon, 0.0, -2500.0)
    s1 = _offset(*v1, 35000.0, 25000.0)     # DPRK vessel comes from the NE
    s2 = _offset(*v2, -20000.0, -30000.0)   # the other from the SW
    x1 = _offset(*w1, 30000.0, 35000.0)
    x2 = _offset(*w2, -25000.0, -30000.0)
    dark = rng.uniform(10 * H, 14 * H, n)
    in1 = _travel_s(*s1, *v1, 10.0)
    in2 = _travel_s(*s2, *v2, 11.0)
    out1 = _travel_s(*w1, *x1, 10.0)
    out2 = _travel_s(*w2, *x2, 11.0)
    needed = np.maximum(in1, in2) + dark + 0.5 * H + np.maximum(out1, out2)
    vanish = _window(rng, needed, span_s, n) + np.maximum(in1, in2)
    vanish2 = vanish + rng.uniform(-0.25 * H, 0.25 * H, n)
    back = vanish + dark
    back2 = back + rng.uniform(-0.25 * H, 0.25 * H, n)
    mmsi1 = 445_000_000 + rng.choice(1_000_000, n, replace=False)
    mmsi2 = 413_000_000 + rng.choice(1_000_000, n, replace=False)
    a = fleet.add(
        np.column_stack((vanish - in1, vanish, back, back + out1)),
        np.column_stack((s1[0], v1[0], w1[0], x1[0])),
        np.column_stack((s1[1], v1[1], w1[1], x1[1])),
        dark=np.array([False, True, False]), anchored=False,
        mmsi=mmsi1, role="dark_rendezvous_dprk", name=_labels("SONG HWA ", 1 + j),
        ship_type=80, ais_class="A", length_m=110, beam_m=18, has_static=True,
        callsign=_labels("HM", mmsi1 % 9000 + 1000), renamed_after_s=np.nan)
    b = fleet.add(
        np.column_stack((vanish2 - in2, vanish2, back2, back2 + out2)),
        np.column_stack((s2[0], v2[0], w2[0], x2[0])),
        np.column_stack((s2[1], v2[1], w2[1], x2[1])),
        dark=np.array([False, True, False]), anchored=False,
        mmsi=mmsi2, role="dark_rendezvous_other", name=_labels("XIN HUA ", 20 + j),
        ship_type=70, ais_class="A", length_m=95, beam_m=16, has_static=True,
        callsign=_labels("BV", mmsi2 % 9000 + 1000), renamed_after_s=np.nan)
    _truth(fleet, "dark_rendezvous", "dark_rendezvous", a, b, np.minimum(vanish, vanish2),
           np.maximum(back, back2), q_lat, q_lon, "", True, "dprk")
    _truth(fleet, "dark_period", "dark_period", a, -1, vanish, back, v1[0], v1[1], "", True,
           "dprk")
    _truth(fleet, "dark_period", "dark_period", b, -1, vanish2, back2, v2[0], v2[1], "", True, "")


def _add_decoys(fleet: _Fleet, rng, span_s: float) -> None:
    mmsi_d = 445_000_000 + rng.choice(1_000_000, 3, replace=False)
    mmsi_b = 412_000_000 + rng.choice(1_000_000, 3, replace=False)
    common = {"ship_type": 80, "ais_class": "A", "length_m": 100, "beam_m": 16,
              "has_static": True, "renamed_after_s": np.nan}
    barge = {"ship_type": 99, "ais_class": "B", "length_m": 45, "beam_m": 10, "has_static": True,
             "callsign": "", "renamed_after_s": np.nan}
    # Fast pass: a barge at anchor, a DPRK vessel passes 150 m off at 10 kn.
    f_lat, f_lon = 30.40, 121.80
    pass_s = _travel_s(f_lat, f_lon - 0.15, f_lat, f_lon + 0.15, 10.0)
    w0 = float(_window(rng, 6 * H, span_s))
    p_lat = _offset(f_lat, f_lon, 150.0, 0.0)[0]
    tp = w0 + 3 * H - pass_s / 2
    dp = fleet.add([[tp, tp + pass_s]], p_lat, [[f_lon - 0.15, f_lon + 0.15]], dark=False,
                   anchored=False, mmsi=mmsi_d[0], role="decoy_dprk", name="HWANG GUM 1",
                   callsign="HM1001", **common)
    bp = fleet.add([[w0, w0 + 6 * H]], f_lat, f_lon, dark=False, anchored=True,
                   mmsi=mmsi_b[0], role="decoy_barge", name="ZHE HAI 801", **barge)
    _truth(fleet, "decoy_fast_pass", "rendezvous", dp, bp, tp + pass_s / 2 - 60,
           tp + pass_s / 2 + 60, f_lat, f_lon, "hangzhou_bay", False, "")
    # Too far: both stationary 2 km apart for 6 h.
    g_lat, g_lon = 30.55, 121.75
    h_lat = _offset(g_lat, g_lon, 2000.0, 0.0)[0]
    w1 = float(_window(rng, 9 * H, span_s))
    arrive_lat, arrive_lon = _offset(h_lat, g_lon, 0.0, 20000.0)
    leg = float(_travel_s(arrive_lat, arrive_lon, h_lat, g_lon, 8.0))
    df = fleet.add([[w1, w1 + leg, w1 + leg + 6 * H, w1 + 2 * leg + 6 * H]],
                   [[h_lat, h_lat, h_lat, h_lat]], [[arrive_lon, g_lon, g_lon, arrive_lon]],
                   dark=False, anchored=np.array([False, True, False]),
                   mmsi=mmsi_d[1], role="decoy_dprk", name="HWANG GUM 2", callsign="HM1002",
                   **common)
    bf = fleet.add([[w1, w1 + 2 * leg + 6 * H]], g_lat, g_lon, dark=False, anchored=True,
                   mmsi=mmsi_b[1], role="decoy_barge", name="ZHE HAI 802", **barge)
    _truth(fleet, "decoy_far", "rendezvous", df, bf, w1 + leg, w1 + leg + 6 * H, g_lat, g_lon,
           "hangzhou_bay", False, "")
    # Too short: alongside 200 m for 75 min, in the Yangtze estuary.
    s_lat, s_lon = 31.24, 121.84
    d_lat = _offset(s_lat, s_lon, 200.0, 0.0)[0]
    w2 = float(_window(rng, 6 * H, span_s))
    a_lat, a_lon = _offset(d_lat, s_lon, 10000.0, 20000.0)
    leg = float(_travel_s(a_lat, a_lon, d_lat, s_lon, 8.0))
    short = 1.25 * H
    ds = fleet.add([[w2, w2 + leg, w2 + leg + short, w2 + 2 * leg + short]],
                   [[a_lat, d_lat, d_lat, a_lat]], [[a_lon, s_lon, s_lon, a_lon]],
                   dark=False, anchored=np.array([False, True, False]),
                   mmsi=mmsi_d[2], role="decoy_dprk", name="HWANG GUM 3", callsign="HM1003",
                   **common)
    bs = fleet.add([[w2, w2 + 2 * leg + short + 0.5 * H]], s_lat, s_lon, dark=False,
                   anchored=True, mmsi=mmsi_b[2], role="decoy_barge", name="ZHE HAI 803",
                   **barge)
    _truth(fleet, "decoy_short", "rendezvous", ds, bs, w2 + leg, w2 + leg + short, s_lat, s_lon,
           "yangtze_estuary", False, "")


def _add_background(fleet: _Fleet, rng, n_transit: int, n_anchored: int, span_s: float) -> None:
    # Anchorage pair: two cargo ships 300 m apart for the whole scenario, outside the estuary.
    a_lat, a_lon = 31.00, 122.50
    b_lat = _offset(a_lat, a_lon, 300.0, 0.0)[0]
    mm = 412_000_000 + rng.choice(1_000_000, 2, replace=False)
    anchored_pair = fleet.add(
        [[0.0, span_s], [0.0, span_s]], [[a_lat, a_lat], [b_lat, b_lat]], a_lon, dark=False,
        anchored=True, mmsi=mm, role="anchorage_pair", name=["HAI YUN 6", "HAI YUN 7"],
        ship_type=70, ais_class="A", length_m=180, beam_m=28, has_static=True,
        callsign=["BQAA1", "BQAA2"], renamed_after_s=np.nan)
    _truth(fleet, "anchorage_pair", "rendezvous", anchored_pair[0], anchored_pair[1], 0.0,
           span_s, (a_lat + b_lat) / 2, a_lon, "", True, "")
    if span_s >= 12 * H:  # the tow and the pair trawlers need 8 h or so
        _add_moving_pairs(fleet, rng, span_s)
    # Lone vessels at anchor on a 3.5 km grid south-east of the anchorage pair.
    if n_anchored:
        k = np.arange(n_anchored)
        g_lat, g_lon = _offset(30.80, 122.60, -3500.0 * (k // 8), 3500.0 * (k % 8))
        mm = 413_000_000 + rng.choice(1_000_000, n_anchored, replace=False)
        fleet.add(np.column_stack((np.zeros(n_anchored), np.full(n_anchored, span_s))),
                  np.column_stack((g_lat, g_lat)), np.column_stack((g_lon, g_lon)), dark=False,
                  anchored=True, mmsi=mm, role="anchored", name=_labels("MIN HAI ", k),
                  ship_type=70, ais_class="A", length_m=150, beam_m=24, has_static=True,
                  callsign=_labels("BQ", k, 3), renamed_after_s=np.nan)
    # Transits across the open sea east of 122.8E, 8-14 kn, entering at any time.
    if n_transit:
        south = rng.random(n_transit) < 0.5
        lat0 = np.where(south, 29.2, 32.5)
        lat1 = np.where(south, 32.5, 29.2)
        lon0 = rng.uniform(122.9, 125.0, n_transit)
        lon1 = rng.uniform(122.9, 125.0, n_transit)
        speed = rng.uniform(8.0, 14.0, n_transit)
        leg = _travel_s(lat0, lon0, lat1, lon1, speed)
        enter = rng.uniform(-0.7 * leg, span_s - 0.3 * leg)
        mid = rng.choice(_MIDS_BACKGROUND, n_transit)
        mm = mid * 1_000_000 + rng.choice(1_000_000, n_transit, replace=False)
        is_a = rng.random(n_transit) < 0.75
        fleet.add(np.column_stack((enter, enter + leg)), np.column_stack((lat0, lat1)),
                  np.column_stack((lon0, lon1)), dark=False, anchored=False, mmsi=mm,
                  role="transit", name=_labels("OCEAN ", mm % 1000, 3),
                  ship_type=rng.choice([70, 80, 60, 79], n_transit),
                  ais_class=np.where(is_a, "A", "B"),
                  length_m=np.where(is_a, rng.integers(60, 250, n_transit),
                                    rng.integers(15, 40, n_transit)),
                  beam_m=np.where(is_a, rng.integers(10, 40, n_transit),
                                  rng.integers(4, 9, n_transit)), has_static=True,
                  callsign=_labels("V", mm % 100000, 5), renamed_after_s=np.nan)


def _add_moving_pairs(fleet: _Fleet, rng, span_s: float) -> None:
    # Tug and tow: 250 m apart along track at 5 kn, from the estuary south to Hangzhou Bay.
    p0, p1 = (31.05, 122.05), (30.62, 122.10)
    leg = float(_travel_s(*p0, *p1, 5.0))
    w = float(_window(rng, leg + 600, span_s))
    lag = 250.0 / (5.0 * KNOT_M_S)
    mm = np.array([412_000_000, 413_000_000]) + rng.choice(1_000_000, 2, replace=False)
    tow = fleet.add([[w, w + leg], [w + lag, w + leg + lag]], [[p0[0], p1[0]]],
                    [[p0[1], p1[1]]], dark=False, anchored=False, mmsi=mm,
                    role=["tug", "towed_barge"], name=["HU TUO 12", ""], ship_type=[52, 99],
                    ais_class=["A", "B"], length_m=[32, 60], beam_m=[9, 14],
                    has_static=[True, False], callsign=["BTUG1", ""], renamed_after_s=np.nan)
    _truth(fleet, "tow", "rendezvous", tow[0], tow[1], w + lag, w + leg, (p0[0] + p1[0]) / 2,
           (p0[1] + p1[1]) / 2, "", False, "")
    # Pair trawlers: 400 m abeam, zig-zagging at 3.5 kn for 8 h in the open sea.
    z_lat = 30.30 + np.array([0.0, 0.06, 0.0, 0.06, 0.0])
    z_lon = 123.30 + np.array([0.0, 0.05, 0.10, 0.15, 0.20])
    legs = _travel_s(z_lat[:-1], z_lon[:-1], z_lat[1:], z_lon[1:], 3.5)
    w = float(_window(rng, legs.sum(), span_s))
    tz = w + np.concatenate(([0.0], np.cumsum(legs)))
    z2_lat = _offset(z_lat, z_lon, 400.0, 0.0)[0]
    mm = 412_000_000 + rng.choice(1_000_000, 2, replace=False)
    trawl = fleet.add([tz, tz], [z_lat, z2_lat], z_lon, dark=False, anchored=False, mmsi=mm,
                      role="pair_trawler", name=["ZHE DAI YU 3301", "ZHE DAI YU 3302"],
                      ship_type=30, ais_class="B", length_m=38, beam_m=7, has_static=True,
                      callsign="", renamed_after_s=np.nan)
    _truth(fleet, "pair_trawl", "rendezvous", trawl[0], trawl[1], tz[0], tz[-1], z_lat.mean(),
           z_lon.mean(), "", False, "")


def _add_transfer_draughts(fleet: _Fleet, rng) -> None:
    """Transfers' DPRK vessels discharge: draught 8.5-10.5 m before, 3-5 m less after."""
    if not fleet.meetings:
        return
    meet = pd.concat(fleet.meetings, ignore_index=True)
    before = np.round(rng.uniform(8.5, 10.5, len(meet)), 1)
    after = np.round(before - rng.uniform(3.0, 5.0, len(meet)), 1)
    change = (meet["start_s"].to_numpy() + meet["end_s"].to_numpy()) / 2.0
    fleet.draughts.append(pd.DataFrame({"vid": meet["vid"].to_numpy(), "draught_m": before,
                                        "draught_after_m": after, "draught_change_s": change}))
    truth = fleet.truth
    for i, frame in enumerate(truth):  # the few truth blocks, not events
        if (frame["kind"] == "transfer").any():
            flags = frame["expected_flags"].astype(str)
            truth[i] = frame.assign(expected_flags=np.where(
                frame["kind"] == "transfer", flags + ";draught_change", flags))


def _add_crowds(fleet: _Fleet, rng, n_anch: int, size: int, n_berth: int, span_s: float,
                draught_changes: bool) -> None:
    """Crowded anchorages near the transfers and a berth row (see :func:`simulate`)."""
    if n_anch and size:
        meet = pd.concat(fleet.meetings, ignore_index=True) if fleet.meetings else \
            pd.DataFrame({"lat": [], "lon": []})
        k = np.arange(n_anch)
        near = k < len(meet)
        c_lat = np.empty(n_anch)
        c_lon = np.empty(n_anch)
        if near.any():
            c_lat[near], c_lon[near] = _offset(meet["lat"].to_numpy()[k[near]],
                                               meet["lon"].to_numpy()[k[near]], 6500.0, 0.0)
        far = np.flatnonzero(~near)
        c_lat[far], c_lon[far] = _offset(29.85, 122.25, -6000.0 * (far % 3), 8000.0 * (far // 3))
        a = np.repeat(k, size)
        m = a.size
        r = 1500.0 * np.sqrt(rng.uniform(0, 1, m))
        ang = rng.uniform(0, 2 * np.pi, m)
        lat, lon = _offset(c_lat[a], c_lon[a], r * np.cos(ang), r * np.sin(ang))
        visitor = rng.random(m) < 0.3
        arrive = rng.uniform(-0.2 * span_s, 0.5 * span_s, m)
        stay = rng.uniform(12 * H, max(13 * H, 0.8 * span_s), m)
        leave = arrive + stay
        o_lat, o_lon = _offset(lat, lon, 0.0, 15000.0)
        leg = _travel_s(o_lat, o_lon, lat, lon, 10.0)
        mid = rng.choice(_MIDS_BACKGROUND, m)
        mm = mid * 1_000_000 + 500_000 + rng.choice(500_000, m, replace=False)
        common = dict(role="anchorage", ship_type=rng.choice([70, 80], m), ais_class="A",
                      length_m=rng.integers(90, 250, m), beam_m=rng.integers(15, 40, m),
                      has_static=True, renamed_after_s=np.nan)
        names = _labels("HAI CHANG ", np.arange(m), 3)
        calls = _labels("BR", np.arange(m), 4)
        res = np.flatnonzero(~visitor)
        vis = np.flatnonzero(visitor)
        ids = np.empty(m, dtype=np.int64)
        if res.size:
            ids[res] = fleet.add(
                np.column_stack((np.zeros(res.size), np.full(res.size, span_s))),
                np.column_stack((lat[res], lat[res])), np.column_stack((lon[res], lon[res])),
                dark=False, anchored=True, mmsi=mm[res], name=names[res], callsign=calls[res],
                **{key: (v[res] if isinstance(v, np.ndarray) else v)
                   for key, v in common.items()})
        if vis.size:
            ids[vis] = fleet.add(
                np.column_stack((arrive[vis] - leg[vis], arrive[vis], leave[vis],
                                 leave[vis] + leg[vis])),
                np.column_stack((o_lat[vis], lat[vis], lat[vis], o_lat[vis])),
                np.column_stack((o_lon[vis], lon[vis], lon[vis], o_lon[vis])),
                dark=False, anchored=np.array([False, True, False]), mmsi=mm[vis],
                name=names[vis], callsign=calls[vis],
                **{key: (v[vis] if isinstance(v, np.ndarray) else v)
                   for key, v in common.items()})
        if draught_changes and res.size >= 3:
            pick = ids[res[:3]]
            before = np.round(rng.uniform(6.0, 12.0, 3), 1)
            fleet.draughts.append(pd.DataFrame({
                "vid": pick, "draught_m": before,
                "draught_after_m": np.round(before + rng.choice([-2.0, 1.5, 3.0], 3), 1),
                "draught_change_s": rng.uniform(0.3, 0.7, 3) * span_s}))
    if n_berth:
        j = np.arange(n_berth)
        lat, lon = _offset(29.93, 121.86, 0.0, 150.0 * j)
        mm = 413_500_000 + rng.choice(500_000, n_berth, replace=False)
        fleet.add(np.column_stack((np.zeros(n_berth), np.full(n_berth, span_s))),
                  np.column_stack((lat, lat)), np.column_stack((lon, lon)), dark=False,
                  anchored=True, mmsi=mm, role="berth", name=_labels("NING GANG ", j, 2),
                  ship_type=70, ais_class="A", length_m=rng.integers(90, 140, n_berth),
                  beam_m=rng.integers(15, 22, n_berth), has_static=True,
                  callsign=_labels("BN", j, 3), renamed_after_s=np.nan, moored=True)


# --------------------------------------------------------------------------------------------
# Sampling and rendering
# --------------------------------------------------------------------------------------------

def _render(fleet, rng, t0, span_s, min_interval_s, static_interval_s, corrupt_fraction,
            truncate_fraction, duplicate_fraction, not_available_fraction,
            identities=None) -> Scenario:
    vessels = pd.concat(fleet.vessels, ignore_index=True).sort_values("vid")
    vessels = _apply_identities(vessels.reset_index(drop=True), identities)
    n_v = len(vessels)
    moored = (vessels["moored"].fillna(False).to_numpy(dtype=bool) if "moored" in vessels
              else np.zeros(n_v, dtype=bool))
    vessels["draught_m"] = 6.5  # what every ship reports unless its draught is simulated
    vessels["draught_after_m"] = np.nan
    vessels["draught_change_s"] = np.nan
    if fleet.draughts:
        d = pd.concat(fleet.draughts, ignore_index=True)
        vid_row = d["vid"].to_numpy(np.int64)  # vid == row (vessels sorted by vid)
        for col in ("draught_m", "draught_after_m", "draught_change_s"):
            vessels.loc[vid_row, col] = d[col].to_numpy(float)
    kv = np.concatenate(fleet.knot_vessel)
    kt = np.concatenate(fleet.knot_t)
    klat = np.concatenate(fleet.knot_lat)
    klon = np.concatenate(fleet.knot_lon)
    kdark = np.concatenate(fleet.leg_dark)
    kanch = np.concatenate(fleet.leg_anchored)
    order = np.lexsort((kt, kv))  # blocks were added in vid order, so this is already sorted
    kv, kt, klat, klon, kdark, kanch = (a[order] for a in (kv, kt, klat, klon, kdark, kanch))
    first = np.searchsorted(kv, np.arange(n_v), side="left")
    last = np.searchsorted(kv, np.arange(n_v), side="right") - 1
    t_first, t_last = kt[first], kt[last]

    is_a = (vessels["ais_class"] == "A").to_numpy()
    step = np.maximum(np.where(is_a, CLASS_A_UNDERWAY_S, CLASS_B_UNDERWAY_S), min_interval_s)
    slow_step = np.maximum(np.where(is_a, CLASS_A_ANCHORED_S, CLASS_B_SLOW_S), min_interval_s)
    ratio = np.maximum(1, np.round(slow_step / step)).astype(np.int64)

    # Candidate report times: every `step` seconds over each vessel's life (vectorized).
    n_cand = np.floor((t_last - t_first) / step).astype(np.int64) + 1
    vid = np.repeat(np.arange(n_v), n_cand)
    j = np.arange(n_cand.sum()) - np.repeat(np.cumsum(n_cand) - n_cand, n_cand)
    phase = rng.uniform(0, step)
    jitter = rng.uniform(-0.2, 0.2, vid.size) * step[vid]
    t = np.clip(t_first[vid] + (j * step[vid] + phase[vid] + jitter), t_first[vid], t_last[vid])
    t = np.round(t)
    t = np.clip(t, np.ceil(t_first[vid]), np.floor(t_last[vid]))
    # Leg of each candidate: the knot at or before it, never a vessel's last knot.
    big = 2.0 ** np.ceil(np.log2(max(np.abs(kt).max(), span_s) * 4 + 1))
    k = np.searchsorted(kv * big + kt, vid * big + t, side="right") - 1
    k = np.clip(k, first[vid], last[vid] - 1)
    frac = np.clip((t - kt[k]) / (kt[k + 1] - kt[k]), 0.0, 1.0)
    keep = ~kdark[k] & (~kanch[k] | (j % ratio[vid] == 0)) & (t >= 0) & (t <= span_s)
    vid, t, k, frac = vid[keep], t[keep], k[keep], frac[keep]
    anchored = kanch[k]
    lat = klat[k] + frac * (klat[k + 1] - klat[k])
    lon = klon[k] + frac * (klon[k + 1] - klon[k])
    leg_speed_kn = haversine_m(klat[k], klon[k], klat[k + 1], klon[k + 1]) / (
        (kt[k + 1] - kt[k]) * KNOT_M_S)
    leg_course = _bearing_deg(klat[k], klon[k], klat[k + 1], klon[k + 1])
    m = vid.size
    # At anchor: swing on a 25 m circle (period 6-9 h); everywhere: GPS noise of 5 m.
    swing_phase = rng.uniform(0, 2 * np.pi, n_v)[vid] + t / rng.uniform(6 * H, 9 * H, n_v)[vid]
    swings = anchored & ~moored[vid]  # moored ships lie still at the quay
    north = rng.normal(0, 5.0, m) + np.where(swings, 25.0 * np.cos(swing_phase), 0.0)
    east = rng.normal(0, 5.0, m) + np.where(swings, 25.0 * np.sin(swing_phase), 0.0)
    lat, lon = _offset(lat, lon, north, east)
    sog = np.where(anchored, np.abs(rng.normal(0, 0.15, m)),
                   np.maximum(leg_speed_kn + rng.normal(0, 0.15, m), 0.0))
    cog = np.where(anchored, rng.uniform(0, 360, m), leg_course + rng.normal(0, 2.0, m)) % 360.0
    a_row = is_a[vid]
    heading = np.where(a_row, np.floor((cog + rng.normal(0, 3.0, m)) % 360.0), np.nan)
    status = np.where(a_row, np.where(anchored, np.where(moored[vid], 5, 1), 0),
                      15).astype(np.int8)
    msg_type = np.where(a_row, np.int8(1), np.int8(18)).astype(np.int8)
    unix = (t0.value // 10**9) + t.astype(np.int64)
    na = rng.random(m) < not_available_fraction
    lat = np.where(na, np.nan, lat)
    lon = np.where(na, np.nan, lon)
    # Quantize to what the air carries, so `positions` equals what a decoder returns.
    sog_q = np.trunc(sog * 10.0) / 10.0
    cog_q = np.trunc(cog * 10.0) / 10.0
    lat_q = np.rint(lat * 600000.0) / 600000.0
    lon_q = np.rint(lon * 600000.0) / 600000.0
    mmsi_all = vessels["mmsi"].to_numpy(dtype=np.int64)
    mmsi = mmsi_all[vid]
    channel = np.where(rng.random(m) < 0.5, b"A", b"B")
    bodies = encode_position_reports(msg_type, mmsi, lat_q, lon_q, sog_q, cog_q, heading,
                                     unix % 60, status, channel)
    station_idx = (vid % 2)  # each vessel heard mainly by one of two stations
    pos_tag = tag_blocks(_STATIONS[station_idx], unix)
    width_tag, width_body = pos_tag.dtype.itemsize, bodies.dtype.itemsize
    mat = np.hstack((np.frombuffer(pos_tag.tobytes(), np.uint8).reshape(m, width_tag),
                     np.frombuffer(bodies.tobytes(), np.uint8).reshape(m, width_body)))
    line_time = unix.copy()
    # Duplicates: the same sentence heard by the third station too.
    dup = np.flatnonzero(rng.random(m) < duplicate_fraction)
    dup_tag = tag_blocks(np.full(dup.size, _STATIONS[2]), unix[dup])
    dup_mat = np.hstack((np.frombuffer(dup_tag.tobytes(), np.uint8).reshape(dup.size, width_tag),
                         mat[dup, width_tag:]))
    mat = np.vstack((mat, dup_mat))
    line_time = np.concatenate((line_time, unix[dup]))
    n_lines = mat.shape[0]
    # Corrupted payload characters (checksum no longer matches) and truncated lines.
    payload_start = width_tag + len("!AIVDM,1,1,,A,")
    bad = np.flatnonzero(rng.random(n_lines) < corrupt_fraction)
    col = payload_start + rng.integers(0, 28, bad.size)
    inv = np.full(256, 0, np.int64)
    inv[_ARMOR] = np.arange(64)
    mat[bad, col] = _ARMOR[(inv[mat[bad, col]] + rng.integers(1, 64, bad.size)) % 64]
    cut = np.flatnonzero(rng.random(n_lines) < truncate_fraction)
    keep_len = rng.integers(width_tag + 8, mat.shape[1] - 3, cut.size)
    mat[cut] = np.where(np.arange(mat.shape[1])[None, :] >= keep_len[:, None], 0, mat[cut])
    pos_lines = np.ascontiguousarray(mat).view(f"S{mat.shape[1]}").ravel()

    static_lines, static_time = _statics(vessels, kv, kt, kdark, first, last, t0, span_s,
                                         static_interval_s, rng)
    all_lines = np.concatenate((pos_lines.astype(object), static_lines.astype(object)))
    all_time = np.concatenate((line_time, static_time))
    seq = np.arange(all_lines.size)  # stable: a multi-sentence message stays together
    order = np.lexsort((seq, all_time))
    nmea = b"\n".join(all_lines[order].tolist()) + b"\n"

    positions = pd.DataFrame({
        "mmsi": mmsi,
        "time": pd.to_datetime(unix * 10**9, utc=True).as_unit("ns"),
        "lat": lat_q, "lon": lon_q, "sog_kn": sog_q, "cog_deg": cog_q,
        "heading_deg": heading, "nav_status": status, "msg_type": msg_type,
    }).sort_values(["mmsi", "time"], kind="stable").reset_index(drop=True)

    truth = _truth_table(fleet, vessels, t0)
    out_vessels = vessels.drop(columns=["vid", "renamed_after_s", "renamed_to", "imo",
                                        *(["moored"] if "moored" in vessels else [])]).copy()
    out_vessels["mmsi"] = out_vessels["mmsi"].astype(np.int64)
    out_vessels["ship_type"] = out_vessels["ship_type"].astype("Int64")
    out_vessels["has_static"] = out_vessels["has_static"].astype(bool)
    for c in ("length_m", "beam_m"):
        out_vessels[c] = out_vessels[c].astype(float)
    for c in ("role", "name", "callsign", "ais_class"):
        out_vessels[c] = out_vessels[c].astype(str)
    noise = {
        "lines": int(all_lines.size),
        "position_reports": int(m),
        "static_sentences": int(static_lines.size),
        "duplicates": int(dup.size),
        "corrupt_checksum": int(bad.size),
        "truncated": int(cut.size),
        "not_available_position": int(na.sum()),
    }
    return Scenario(nmea=nmea, truth=truth, vessels=out_vessels, positions=positions,
                    noise=noise, start=t0, end=t0 + pd.Timedelta(seconds=span_s))


def _statics(vessels, kv, kt, kdark, first, last, t0, span_s, interval_s, rng):
    """Static sentences with pyais's encoder (a few per vessel), repeated every interval."""
    from pyais.encode import encode_dict

    # One encoding per identity (a vessel, or a vessel before/after a rename): this loop runs
    # over vessels, not messages, and is the pyais part of the generator.
    texts: list[list[bytes]] = []
    ident_vid, ident_from, ident_to = [], [], []
    for row in vessels.itertuples(index=False):
        if not row.has_static:
            continue
        spans = [(-np.inf, np.inf, row.name, row.draught_m)]
        if np.isfinite(row.renamed_after_s):
            spans = [(-np.inf, row.renamed_after_s, row.name, row.draught_m),
                     (row.renamed_after_s, np.inf,
                      row.renamed_to or f"{row.name.split()[0]} STAR", row.draught_m)]
        if np.isfinite(row.draught_change_s):  # split the span holding the change
            cut = row.draught_change_s
            spans = [piece for lo, hi, name, dr in spans for piece in (
                [(lo, min(hi, cut), name, dr), (max(lo, cut), hi, name, row.draught_after_m)]
                if lo < cut < hi else [(lo, hi, name, dr if hi <= cut else
                                        row.draught_after_m)])]
        for lo, hi, name, draught in spans:
            length, beam = int(row.length_m), int(row.beam_m)
            dims = {"to_bow": length // 2, "to_stern": length - length // 2,
                    "to_port": beam // 2, "to_starboard": beam - beam // 2}
            if row.ais_class == "A":
                msg = encode_dict({"type": 5, "mmsi": int(row.mmsi), "ais_version": 2,
                                   "imo": (int(row.imo) if np.isfinite(row.imo)
                                           else _imo(int(row.mmsi))),
                                   "callsign": row.callsign, "shipname": name,
                                   "ship_type": int(row.ship_type), **dims, "epfd": 1,
                                   "draught": float(draught), "destination": "ZHOUSHAN",
                                   "dte": 0},
                                  talker_id="AI", sentence_type="VDM",
                                  seq_id=int(row.vid) % 10)
            else:
                msg = (encode_dict({"type": 24, "partno": 0, "mmsi": int(row.mmsi),
                                    "shipname": name}, talker_id="AI", sentence_type="VDM")
                       + encode_dict({"type": 24, "partno": 1, "mmsi": int(row.mmsi),
                                      "ship_type": int(row.ship_type), "vendorid": "SIM",
                                      "callsign": row.callsign, **dims},
                                     talker_id="AI", sentence_type="VDM"))
            texts.append([s.encode("ascii") for s in msg])
            ident_vid.append(row.vid)
            ident_from.append(lo)
            ident_to.append(hi)
    if not texts:
        return np.array([], dtype="S1"), np.array([], dtype=np.int64)
    ident_vid = np.asarray(ident_vid)
    ident_from, ident_to = np.asarray(ident_from), np.asarray(ident_to)
    # Repeat every interval over the vessel's life, from a random phase (vectorized).
    lo = np.maximum(kt[first][ident_vid], np.maximum(ident_from, 0.0))
    hi = np.minimum(kt[last][ident_vid], np.minimum(ident_to, span_s))
    phase = rng.uniform(0, interval_s, ident_vid.size)
    count = np.maximum(np.floor((hi - lo - phase) / interval_s).astype(np.int64) + 1, 0)
    ident = np.repeat(np.arange(ident_vid.size), count)
    j = np.arange(count.sum()) - np.repeat(np.cumsum(count) - count, count)
    t = np.round(lo[ident] + phase[ident] + j * interval_s)
    vid = ident_vid[ident]
    # Silent while dark.
    big = 2.0 ** np.ceil(np.log2(max(np.abs(kt).max(), span_s) * 4 + 1))
    k = np.searchsorted(kv * big + kt, vid * big + t, side="right") - 1
    k = np.clip(k, first[vid], last[vid] - 1)
    ok = ~kdark[k] & (t >= 0) & (t <= span_s)
    ident, t, vid = ident[ok], t[ok], vid[ok]
    # Expand each message to its sentences (1 for type 24 parts, 2 for type 5).
    n_sent = np.array([len(x) for x in texts])
    flat = np.array([s for x in texts for s in x], dtype=object)
    flat_start = np.cumsum(n_sent) - n_sent
    per = n_sent[ident]
    msg_idx = np.repeat(np.arange(ident.size), per)
    within = np.arange(per.sum()) - np.repeat(np.cumsum(per) - per, per)
    sentence = flat[flat_start[ident][msg_idx] + within]
    unix = (t0.value // 10**9) + t.astype(np.int64)[msg_idx]
    tags = tag_blocks(_STATIONS[vid[msg_idx] % 2], unix)
    lines = np.char.add(tags, sentence.astype("S"))
    return lines, unix


def _labels(prefix: str, numbers, width: int = 0) -> np.ndarray:
    """``prefix`` + zero-padded numbers, as an array of str (vectorized)."""
    digits = np.char.zfill(np.asarray(numbers, dtype=np.int64).astype(str), width)
    return np.char.add(prefix, digits)


def _imo(mmsi: int) -> int:
    """A valid IMO number derived from an MMSI (check digit as in IMO Resolution A.1117(30))."""
    base = 900_000 + mmsi % 99_991
    digits = [int(c) for c in f"{base:06d}"]
    check = sum(d * w for d, w in zip(digits, range(7, 1, -1), strict=True)) % 10
    return base * 10 + check


def _truth_table(fleet, vessels, t0) -> pd.DataFrame:
    if not fleet.truth:
        return pd.DataFrame({c: [] for c in TRUTH_COLUMNS})
    raw = pd.concat(fleet.truth, ignore_index=True)
    mmsi = vessels["mmsi"].to_numpy(dtype=np.int64)
    a = mmsi[raw["vid_a"].to_numpy(dtype=np.int64)]
    vb = raw["vid_b"].to_numpy(dtype=np.int64)
    b = np.where(vb >= 0, mmsi[np.maximum(vb, 0)], -1)
    pair = vb >= 0
    lo = np.where(pair, np.minimum(a, b), a)
    hi = np.where(pair, np.maximum(a, b), -1)
    t0s = t0.value / 1e9
    truth = pd.DataFrame({
        "kind": raw["kind"].astype(str).to_numpy(),
        "event_type": raw["event_type"].astype(str).to_numpy(),
        "mmsi": lo.astype(np.int64),
        "other_mmsi": pd.array(np.where(pair, hi, 0), dtype="Int64"),
        "start": pd.to_datetime(np.round((t0s + raw["start_s"].to_numpy(float)) * 1e9)
                                .astype(np.int64), utc=True),
        "end": pd.to_datetime(np.round((t0s + raw["end_s"].to_numpy(float)) * 1e9)
                              .astype(np.int64), utc=True),
        "lat": raw["lat"].to_numpy(float),
        "lon": raw["lon"].to_numpy(float),
        "region": raw["region"].astype(str).to_numpy(),
        "expect_detected": raw["expect_detected"].to_numpy(bool),
        "expected_flags": raw["expected_flags"].astype(str).to_numpy(),
    })
    truth.loc[~pair, "other_mmsi"] = pd.NA
    truth["start"] = truth["start"].dt.floor("s").dt.as_unit("ns")
    truth["end"] = truth["end"].dt.ceil("s").dt.as_unit("ns")
    return truth.sort_values(["start", "mmsi"], kind="stable").reset_index(drop=True)


def _gzip_bytes(data: bytes) -> bytes:
    buf = io.BytesIO()
    with gzip.GzipFile(fileobj=buf, mode="wb", mtime=0, filename="") as gz:
        gz.write(data)
    return buf.getvalue()


def write_demo(directory=None) -> dict:
    """Regenerate the bundled demo (``demo.nmea.gz``, ``demo_truth.csv``) from :data:`DEMO_PARAMS`.

    Parameters
    ----------
    directory : path, optional
        Where to write; default the package's ``data`` folder (for maintainers).

    Returns
    -------
    dict
        ``{"nmea": path, "truth": path}``.
    """
    directory = Path(directory) if directory is not None else demo_path().parent
    scenario = simulate(**DEMO_PARAMS)
    directory.mkdir(parents=True, exist_ok=True)
    nmea = directory / "demo.nmea.gz"
    nmea.write_bytes(_gzip_bytes(scenario.nmea))
    truth = directory / "demo_truth.csv"
    _write_truth(scenario.truth, truth)
    return {"nmea": nmea, "truth": truth}


# --------------------------------------------------------------------------------------------
# Satellite reception
# --------------------------------------------------------------------------------------------

#: Source name of reports heard by the simulated satellite (tag-block ``s:``).
SATELLITE_SOURCE = "satais1"
#: Source name of reports heard by the simulated shore station in :func:`satellite_view`.
SHORE_SOURCE = "stsim01"


def satellite_view(
    scenario: Scenario,
    seed: int = 0,
    revisit=("1h", "12h"),
    pass_duration="12min",
    decode_probability=(0.4, 0.9),
    message_probability: float = 0.5,
    shore=None,
) -> Scenario:
    """What a satellite AIS service would have heard of a scenario: passes, partial decoding.

    Each pass hears the whole scenario area (a low-orbit AIS satellite's footprint is some
    5,000 km across) for ``pass_duration``; the time from one pass to the next is drawn
    uniformly from ``revisit``. In each pass a vessel is decoded at all with the pass's
    ``decode_probability`` (drawn per pass: message collisions in busy waters make some passes
    poor), and each of its messages in the pass then with ``message_probability``.

    Parameters
    ----------
    scenario : Scenario
        From :func:`simulate`; its transmitted ``positions`` are sampled (static data is not).
    seed : int, default 0
        Seed of the passes and decoding.
    revisit : (duration, duration), default ("1h", "12h")
        Shortest and longest time between pass starts; 1-12 h spans a large constellation
        (Spire, exactEarth) to a single satellite at mid latitudes.
    pass_duration : duration, default "12min"
        How long a pass hears the area (10-15 min for a satellite at 500-800 km).
    decode_probability : float or (float, float), default (0.4, 0.9)
        Share of vessels decoded in a pass, fixed or drawn per pass from this range.
    message_probability : float, default 0.5
        Share of a decoded vessel's messages in the pass that are kept.
    shore : list of (lat, lon, range_m), optional
        Shore stations that also hear, continuously, every report within their range
        (source ``stsim01``). None: satellite only.

    Returns
    -------
    Scenario
        Same truth, vessels and span; ``nmea`` and ``positions`` (with a ``source`` column:
        ``satais1`` or ``stsim01``) hold only what was heard, ``passes`` the passes, ``noise`` the
        counts ``position_reports``, ``satellite_reports``, ``shore_reports``, ``passes``.

    Raises
    ------
    ValueError
        On out-of-range parameters.
    """
    rng = np.random.default_rng(seed)
    lo_s, hi_s = (duration_s(v) for v in revisit)
    pass_s = duration_s(pass_duration)
    if not 0 < lo_s <= hi_s or pass_s <= 0 or pass_s > lo_s:
        raise ValueError("revisit must be (shortest, longest) with 0 < shortest <= longest, and "
                         "pass_duration positive and at most the shortest revisit")
    dec = np.broadcast_to(np.asarray(decode_probability, dtype=float), (2,)) \
        if np.ndim(decode_probability) == 0 else np.asarray(decode_probability, dtype=float)
    if dec.shape != (2,) or not (0 <= dec[0] <= dec[1] <= 1):
        raise ValueError(f"decode_probability must be in [0, 1], got {decode_probability!r}")
    if not 0 < message_probability <= 1:
        raise ValueError(f"message_probability must be in (0, 1], got {message_probability!r}")
    t0 = scenario.start.value / 1e9
    span = (scenario.end - scenario.start).total_seconds()
    n_max = int(np.ceil(span / lo_s)) + 2
    starts = t0 + rng.uniform(0, hi_s) + np.cumsum(np.r_[0.0, rng.uniform(lo_s, hi_s, n_max)])
    starts = starts[starts < t0 + span]
    p_pass = rng.uniform(dec[0], dec[1], starts.size)
    pos = scenario.positions
    t = pos["time"].to_numpy(dtype="datetime64[ns]").view(np.int64) / 1e9
    k = np.searchsorted(starts, t, side="right") - 1
    in_pass = (k >= 0) & (t < starts[np.maximum(k, 0)] + pass_s)
    mmsi = pos["mmsi"].to_numpy(np.int64)
    # one draw per (vessel, pass): decoded at all in this pass?
    vessel_codes, vcode = np.unique(mmsi, return_inverse=True)
    draw = rng.random((vessel_codes.size, max(starts.size, 1)))
    decoded = in_pass & (draw[vcode, np.maximum(k, 0)] < p_pass[np.maximum(k, 0)]) \
        if starts.size else np.zeros(len(pos), dtype=bool)
    sat = decoded & (rng.random(len(pos)) < message_probability)
    ok_pos = np.isfinite(pos["lat"].to_numpy(float))
    ashore = np.zeros(len(pos), dtype=bool)
    for lat_s, lon_s, range_m in (shore or []):  # a few stations
        ashore |= haversine_m(pos["lat"].to_numpy(float), pos["lon"].to_numpy(float),
                              lat_s, lon_s) <= float(range_m)
    keep = (sat | ashore) & ok_pos
    heard = pos.loc[keep].copy()
    heard["source"] = np.where(ashore[keep], SHORE_SOURCE, SATELLITE_SOURCE)
    heard = heard.reset_index(drop=True)
    unix = heard["time"].to_numpy(dtype="datetime64[s]").astype(np.int64)
    bodies = encode_position_reports(heard["msg_type"].to_numpy(), heard["mmsi"].to_numpy(),
                                     heard["lat"].to_numpy(), heard["lon"].to_numpy(),
                                     heard["sog_kn"].to_numpy(), heard["cog_deg"].to_numpy(),
                                     heard["heading_deg"].to_numpy(), unix % 60,
                                     heard["nav_status"].to_numpy())
    station = np.where(heard["source"].to_numpy() == SHORE_SOURCE,
                       SHORE_SOURCE.encode(), SATELLITE_SOURCE.encode()).astype("S7")
    tags = tag_blocks(station, unix)
    lines = np.char.add(tags, bodies)
    order = np.argsort(unix, kind="stable")
    nmea = b"\n".join(lines[order].tolist()) + (b"\n" if lines.size else b"")
    passes = pd.DataFrame({
        "start": pd.to_datetime(np.round(starts * 1e9).astype(np.int64), utc=True),
        "end": pd.to_datetime(np.round((starts + pass_s) * 1e9).astype(np.int64), utc=True),
        "decode_probability": p_pass,
    })
    noise = {"position_reports": int(keep.sum()), "satellite_reports": int((sat & ok_pos
                                                                            & ~ashore).sum()),
             "shore_reports": int((ashore & ok_pos).sum()), "passes": int(starts.size)}
    return Scenario(nmea=nmea, truth=scenario.truth, vessels=scenario.vessels, positions=heard,
                    noise=noise, start=scenario.start, end=scenario.end, passes=passes,
                    detections=scenario.detections)
