"""Independent oracle for the AIS decoder tests: pyais, line by line, with plain-Python framing."""

from __future__ import annotations

import math
import re

from pyais.messages import NMEAMessage, NMEASentenceFactory

REQUIRED_BITS = {1: 137, 2: 137, 3: 137, 18: 133, 19: 133, 27: 94}
_SPLIT = re.compile(rb"(?<!\\)(?=![A-Z-]{2}VD[MO],)")
_TRAILER = re.compile(rb"(![^*]*\*[0-9A-Fa-f]{2}).+$")


def _nan_if(value, bad):
    return math.nan if bad else float(value)


def pyais_positions(data: bytes) -> list[tuple]:
    """(mmsi, lat, lon, sog, cog, heading) of every valid position message pyais decodes.

    The same validity rules as stsdetect's documented ones are applied to pyais's output
    (checksum valid, enough payload bits, MMSI 1..999999999, coordinates in range or the
    not-available values), and not-available values are mapped to NaN.
    """
    out = []
    open_groups: dict = {}
    for line in re.split(rb"\r\n|\r|\n", data):
        for piece in _SPLIT.split(line):
            piece = piece.strip()
            if b"VDM," not in piece and b"VDO," not in piece:
                continue
            piece = _TRAILER.sub(rb"\1", piece)  # anything after "*hh" (N-AIS columns) is metadata
            try:
                sentence = NMEASentenceFactory.produce(piece)
            except Exception:
                continue
            if not sentence.is_valid or not hasattr(sentence, "frag_cnt"):
                continue
            if sentence.frag_cnt > 1:
                key = (sentence.talker, sentence.channel, sentence.seq_id, sentence.frag_cnt)
                parts = open_groups.setdefault(key, {})
                parts[sentence.frag_num] = sentence
                if len(parts) < sentence.frag_cnt:
                    continue
                del open_groups[key]
                try:
                    sentence = NMEAMessage.assemble_from_iterable(
                        [parts[k] for k in range(1, sentence.frag_cnt + 1)])
                except Exception:
                    continue
            if sentence.ais_id not in REQUIRED_BITS:
                continue
            if len(sentence.bv) < REQUIRED_BITS[sentence.ais_id]:
                continue
            try:
                msg = sentence.decode()
            except Exception:
                continue
            row = _row(msg)
            if row is not None:
                out.append(row)
    return out


def _row(msg):
    t = msg.msg_type
    if not 1 <= msg.mmsi <= 999_999_999:
        return None
    lat, lon = float(msg.lat), float(msg.lon)
    if (abs(lat) > 90 and lat != 91) or (abs(lon) > 180 and lon != 181):
        return None
    speed, course = float(msg.speed), float(msg.course)
    if t == 27:
        sog = _nan_if(speed, speed == 63)
        cog = _nan_if(course, course >= 360)
        heading = math.nan
    else:
        sog = _nan_if(speed, speed >= 102.25)
        cog = _nan_if(course, course >= 360)
        heading = _nan_if(msg.heading, msg.heading >= 360)
    return (int(msg.mmsi), _nan_if(lat, lat == 91), _nan_if(lon, lon == 181), sog, cog, heading)
