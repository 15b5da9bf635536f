"""Vessel tracks: columnar, sorted by (mmsi, segment, time), with per-segment offsets.

A *segment* is one physical transmitter's track. Usually an MMSI has exactly one; where two
transmitters share an MMSI (and so alternate between distant places) the cleaning stage splits it
into several. Segments are never split at reporting gaps: gaps are what the dark-period detector
looks for, and the rendezvous detector refuses to interpolate across them itself.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import pandas as pd

__all__ = ["Tracks"]


@dataclass(frozen=True, eq=False)
class Tracks:
    """Cleaned vessel tracks as plain NumPy columns.

    Rows are sorted by ``(mmsi, segment, time_s)``. Segment ids run from 0 to
    ``n_segments - 1`` in that order, so the rows of segment ``k`` are
    ``offsets[k]:offsets[k + 1]``.

    Attributes
    ----------
    mmsi : numpy.ndarray of int64
        MMSI of each row.
    segment : numpy.ndarray of int64
        Segment id of each row (non-decreasing).
    time_s : numpy.ndarray of float64
        Report time, seconds since the Unix epoch, UTC.
    lat_deg, lon_deg : numpy.ndarray of float64
        Position in degrees (WGS 84), longitude in [-180, 180).
    sog_kn : numpy.ndarray of float64
        Reported speed over ground in knots (NaN where not available).
    cog_deg : numpy.ndarray of float64
        Reported course over ground in degrees (NaN where not available).
    offsets : numpy.ndarray of int64
        ``n_segments + 1`` row offsets.
    segment_mmsi : numpy.ndarray of int64
        MMSI of each segment.
    report : dict
        Cleaning counts by reason (rows in, rows dropped per reason, segments split ...).
    """

    mmsi: np.ndarray
    segment: np.ndarray
    time_s: np.ndarray
    lat_deg: np.ndarray
    lon_deg: np.ndarray
    sog_kn: np.ndarray
    cog_deg: np.ndarray
    offsets: np.ndarray
    segment_mmsi: np.ndarray
    report: dict = field(default_factory=dict)

    @classmethod
    def from_arrays(
        cls,
        mmsi,
        time_s,
        lat_deg,
        lon_deg,
        sog_kn=None,
        cog_deg=None,
        segment=None,
        report: dict | None = None,
    ) -> Tracks:
        """Build tracks from unsorted row arrays, without any cleaning.

        Parameters
        ----------
        mmsi, time_s, lat_deg, lon_deg : array_like
            One value per report; ``time_s`` in seconds since the Unix epoch (UTC).
        sog_kn, cog_deg : array_like, optional
            Speed and course; NaN when omitted.
        segment : array_like of int, optional
            Any integer label splitting an MMSI into several transmitters; labels are
            renumbered. One segment per MMSI when omitted.
        report : dict, optional
            Cleaning report to attach.

        Returns
        -------
        Tracks
        """
        mmsi = np.asarray(mmsi, dtype=np.int64)
        n = mmsi.size
        time_s = np.asarray(time_s, dtype=np.float64)
        lat = np.asarray(lat_deg, dtype=np.float64)
        lon = (np.asarray(lon_deg, dtype=np.float64) + 180.0) % 360.0 - 180.0
        sog = np.full(n, np.nan) if sog_kn is None else np.asarray(sog_kn, dtype=np.float64)
        cog = np.full(n, np.nan) if cog_deg is None else np.asarray(cog_deg, dtype=np.float64)
        label = np.zeros(n, np.int64) if segment is None else np.asarray(segment, np.int64)
        for name, arr in (("time_s", time_s), ("lat_deg", lat), ("lon_deg", lon),
                          ("sog_kn", sog), ("cog_deg", cog), ("segment", label)):
            if arr.shape != (n,):
                raise ValueError(f"{name} has shape {arr.shape}, expected ({n},)")
        order = np.lexsort((time_s, label, mmsi))
        mmsi, label = mmsi[order], label[order]
        new_segment = np.ones(n, dtype=bool)
        new_segment[1:] = (mmsi[1:] != mmsi[:-1]) | (label[1:] != label[:-1])
        starts = np.flatnonzero(new_segment)
        segment_id = np.cumsum(new_segment) - 1
        offsets = np.append(starts, n).astype(np.int64)
        return cls(
            mmsi=mmsi,
            segment=segment_id.astype(np.int64),
            time_s=time_s[order],
            lat_deg=lat[order],
            lon_deg=lon[order],
            sog_kn=sog[order],
            cog_deg=cog[order],
            offsets=offsets,
            segment_mmsi=mmsi[starts],
            report=dict(report or {}),
        )

    @classmethod
    def empty(cls) -> Tracks:
        """Tracks with no rows."""
        return cls.from_arrays([], [], [], [])

    def __len__(self) -> int:
        return int(self.mmsi.size)

    @property
    def n_segments(self) -> int:
        """Number of segments."""
        return int(self.segment_mmsi.size)

    @property
    def n_vessels(self) -> int:
        """Number of distinct MMSIs."""
        return int(np.unique(self.segment_mmsi).size)

    def take(self, rows) -> Tracks:
        """Tracks made of a subset of rows (a boolean mask or sorted indices)."""
        rows = np.asarray(rows)
        if rows.dtype == bool:
            rows = np.flatnonzero(rows)
        return Tracks.from_arrays(
            self.mmsi[rows], self.time_s[rows], self.lat_deg[rows], self.lon_deg[rows],
            self.sog_kn[rows], self.cog_deg[rows], segment=self.segment[rows],
            report=self.report,
        )

    def to_dataframe(self) -> pd.DataFrame:
        """The tracks as a DataFrame with a UTC ``time`` column, one row per report."""
        return pd.DataFrame({
            "mmsi": self.mmsi,
            "segment": self.segment,
            "time": pd.to_datetime(np.round(self.time_s * 1e9).astype("int64"), utc=True),
            "lat": self.lat_deg,
            "lon": self.lon_deg,
            "sog_kn": self.sog_kn,
            "cog_deg": self.cog_deg,
        })
