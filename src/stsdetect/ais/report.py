"""The decode report: what was read, what was decoded, and why everything else was not."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field

import pandas as pd

__all__ = ["SKIP_REASONS", "DecodeReport"]

#: Every reason a record can be accounted for without yielding a message, with its meaning.
SKIP_REASONS = {
    "comment_or_blank": "empty line or a line starting with '#'",
    "metadata_line": "$PGHP header or a tag block on a line of its own (applies to the next "
                     "sentence)",
    "non_ais_nmea": "an NMEA sentence that is not AIS (VDM/VDO), e.g. $GPRMC, $GPGGA",
    "not_nmea": "a line with no NMEA sentence in it (text, binary garbage)",
    "malformed_sentence": "an AIS sentence whose fields are missing, misplaced or out of range",
    "bad_checksum": "an AIS sentence whose NMEA checksum does not match its contents",
    "empty_payload": "an AIS sentence with an empty payload field",
    "bad_payload_char": "a payload character outside the AIS 6-bit armouring alphabet",
    "unsupported_type": "message type 0 or above 27 (not defined by ITU-R M.1371)",
    "short_payload": "fewer payload bits than the fields stsdetect reads",
    "undecodable_payload": "a static message pyais could not decode",
    "invalid_type24_part": "type 24 with a part number other than 0 (A) or 1 (B)",
    "multipart_joined": "a fragment joined into a multipart message (counted once, as decoded)",
    "incomplete_multipart": "a fragment of a multipart message that never completed (orphaned, "
                            "missing parts, or expired from the bounded assembly window)",
    "invalid_mmsi": "MMSI outside 1..999999999",
    "out_of_range_position": "latitude outside [-90, 90] or longitude outside [-180, 180] "
                             "(other than the not-available values 91 / 181)",
    "not_vessel_report": "decoded-table row for a base station, AtoN or other non-vessel",
    "bad_row": "decoded-table row whose MMSI, time or position cannot be parsed",
    "truncated_row": "the last row of a CSV file cut short (no newline at the end and fewer "
                     "fields than the header), e.g. by a copy still being written",
    "implausible_time": "a record stamped outside the plausible window, by default before "
                        "2002-01-01 (AIS began in 2002) or more than a day after the present "
                        "(read_ais(valid_times=...), --valid-times)",
}


@dataclass
class DecodeReport:
    """Counts of a decode run: every record read is decoded or skipped under a named reason.

    A *record* is one line of the dump, except that a line carrying several NMEA sentences
    run together (no newline between them) counts one record per sentence. For decoded tables
    (CSV, JSON lines) a record is one data row. The invariant
    ``lines == decoded_lines + sum(skipped.values())`` always holds (see :meth:`check`).

    Attributes
    ----------
    lines : int
        Records read.
    sentences : int
        AIS sentence starts (``!xxVDM,`` / ``!xxVDO,``) in the input, valid or not, counted
        apart from the framing.
    sentence_records : int
        Records the framing found holding an AIS sentence. :meth:`check` requires it to
        equal ``sentences``: a sentence run together with another and not framed as a record
        of its own would otherwise be lost without a trace.
    decoded : dict
        Messages decoded, by AIS message type (0 = a row of a decoded table). Types that
        stsdetect does not use (4, 6, 8, ...) are validated (framing, checksum, type) and
        counted here without field decoding.
    skipped : dict
        Records not yielding a message, by reason (see :data:`SKIP_REASONS`).
    notes : dict
        Counts that do not affect the invariant, e.g. ``time_unparsed`` (a timestamp was
        present but not understood, so the row got NaT).
    """

    lines: int = 0
    sentences: int = 0
    sentence_records: int = 0
    decoded: dict = field(default_factory=dict)
    skipped: dict = field(default_factory=dict)
    notes: dict = field(default_factory=dict)

    @property
    def decoded_lines(self) -> int:
        """Records that yielded a message (one per message, multipart or not)."""
        return int(sum(self.decoded.values()))

    def add_skip(self, reason: str, count: int = 1) -> None:
        """Count ``count`` records under ``reason`` (must be one of :data:`SKIP_REASONS`)."""
        if reason not in SKIP_REASONS:
            raise ValueError(f"unknown skip reason {reason!r}; known: {sorted(SKIP_REASONS)}")
        if count:
            self.skipped[reason] = self.skipped.get(reason, 0) + int(count)

    def add_decoded(self, msg_type: int, count: int = 1) -> None:
        """Count ``count`` decoded messages of ``msg_type``."""
        if count:
            key = int(msg_type)
            self.decoded[key] = self.decoded.get(key, 0) + int(count)

    def add_note(self, name: str, count: int = 1) -> None:
        """Count a note that is not part of the invariant."""
        if count:
            self.notes[name] = self.notes.get(name, 0) + int(count)

    def merge(self, other: DecodeReport) -> DecodeReport:
        """A new report adding up this one and ``other`` (e.g. two chunks or two files)."""
        return DecodeReport(
            lines=self.lines + other.lines,
            sentences=self.sentences + other.sentences,
            sentence_records=self.sentence_records + other.sentence_records,
            decoded=dict(Counter(self.decoded) + Counter(other.decoded)),
            skipped=dict(Counter(self.skipped) + Counter(other.skipped)),
            notes=dict(Counter(self.notes) + Counter(other.notes)),
        )

    def check(self) -> None:
        """Raise AssertionError unless every record read is accounted for exactly once."""
        accounted = self.decoded_lines + sum(self.skipped.values())
        if accounted != self.lines:
            raise AssertionError(
                f"decode report does not add up: {self.lines} records read, "
                f"{self.decoded_lines} decoded + {sum(self.skipped.values())} skipped = {accounted}"
            )
        if self.sentences != self.sentence_records:
            raise AssertionError(
                f"decode report does not add up: {self.sentences} AIS sentences in the input, "
                f"but {self.sentence_records} records hold one (sentences lost in framing)")

    def to_frame(self) -> pd.DataFrame:
        """The counts as a DataFrame with columns ``kind``, ``name``, ``count``."""
        rows = [("total", "lines", self.lines), ("total", "sentences", self.sentences)]
        rows += [("decoded", f"type {k}", v) for k, v in sorted(self.decoded.items())]
        rows += [("skipped", k, v) for k, v in sorted(self.skipped.items())]
        rows += [("note", k, v) for k, v in sorted(self.notes.items())]
        return pd.DataFrame(rows, columns=["kind", "name", "count"])

    def __str__(self) -> str:
        frame = self.to_frame()
        width = max([len(n) for n in frame["name"]] + [10])
        out = [f"{'kind':<8} {'name':<{width}} {'count':>12}", "-" * (width + 22)]
        for kind, name, count in frame.itertuples(index=False):
            out.append(f"{kind:<8} {name:<{width}} {count:>12,}")
        out.append("-" * (width + 22))
        out.append(f"{'':<8} {'decoded messages':<{width}} {self.decoded_lines:>12,}")
        out.append(f"{'':<8} {'skipped records':<{width}} {sum(self.skipped.values()):>12,}")
        return "\n".join(out)
