"""AIS sentences built for tests: armoured payloads and checksummed ``!AIVDM`` sentences."""

from __future__ import annotations

__all__ = ["armour", "sentence"]


def armour(bits: str) -> tuple[bytes, int]:
    """A bit string as armoured payload characters (padded to 6 bits) and its fill bits."""
    fill = -len(bits) % 6
    bits += "0" * fill
    v = [int(bits[i:i + 6], 2) for i in range(0, len(bits), 6)]
    return bytes(x + 48 if x < 40 else x + 56 for x in v), fill


def sentence(payload: bytes, fill: int, n_frags: int = 1, frag: int = 1, seq: bytes = b"",
             channel: bytes = b"", talker: bytes = b"AI") -> bytes:
    """An AIS sentence with its checksum (the shortest form: empty sequential id and
    channel unless given)."""
    body = b"%sVDM,%d,%d,%s,%s,%s,%d" % (talker, n_frags, frag, seq, channel, payload, fill)
    x = 0
    for b in body:
        x ^= b
    return b"!" + body + b"*%02X" % x
