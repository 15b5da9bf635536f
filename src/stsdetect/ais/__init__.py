"""AIS ingest: ``read_ais`` turns dumps (raw NMEA of any common layout, or decoded tables) into
a positions table, a vessels table and a decode report."""

from __future__ import annotations

from .reader import FORMATS, POSITION_COLUMNS, AISData, read_ais
from .report import SKIP_REASONS, DecodeReport

__all__ = ["FORMATS", "POSITION_COLUMNS", "SKIP_REASONS", "AISData", "DecodeReport", "read_ais"]
