"""Assembly of multipart AIS messages, correct under interleaving and bounded in memory."""

from __future__ import annotations

from collections import OrderedDict

__all__ = ["MultipartAssembler"]

NAT_NS = -(2**63)


class _Group:
    __slots__ = ("first_record", "n_frags", "parts", "source", "time_ns")

    def __init__(self, first_record: int, n_frags: int):
        self.first_record = first_record
        self.n_frags = n_frags
        self.parts: dict = {}
        self.time_ns = NAT_NS
        self.source = 0


class MultipartAssembler:
    """Join fragments of multipart messages in arrival order.

    Fragments are grouped by the tag-block group id (``g:<n>-<m>-<id>``) when present, otherwise
    by (talker, radio channel, sequential message id, fragment count), so fragments of
    different messages may interleave freely. A group still open after ``window_records``
    further records, or pushed out because more than ``max_open`` groups are open, or
    superseded by a repeat of one of its fragment numbers or by a fragment 1 (a message
    starts with it), is given up: its fragments are counted in :attr:`incomplete`.

    A fragment 1 of 2 followed, on the next record, by its fragment 2 (the same key) is
    joined as it is, the open groups untouched: the decoder joins such a pair within a chunk
    without the assembler, and the assembler joins it the same way when a chunk's end parts
    it (so a fragment 1 of 2 is held until the next fragment comes).

    Parameters
    ----------
    window_records : int, default 100
        Records after a group's first fragment within which it must complete. AIS transmits
        the fragments of a message in consecutive slots, and receivers emit them together; 100
        records leaves room for feeds that interleave many receivers or metadata lines.
    max_open : int, default 1000
        Most groups kept open at once (bounds memory when fragments never complete).
    """

    def __init__(self, window_records: int = 100, max_open: int = 1000):
        if window_records < 1 or max_open < 1:
            raise ValueError("window_records and max_open must be at least 1")
        self.window_records = int(window_records)
        self.max_open = int(max_open)
        self._open: OrderedDict = OrderedDict()
        self._held: tuple | None = None  # a fragment 1 of 2: the arguments of its add()
        #: fragments given up so far (incomplete, orphaned or expired)
        self.incomplete = 0

    def _expire(self, record: int) -> None:
        while self._open:
            key, group = next(iter(self._open.items()))
            if record - group.first_record > self.window_records or len(self._open) > self.max_open:
                del self._open[key]
                self.incomplete += len(group.parts)
            else:
                break

    def add(self, record, key, n_frags, frag, payload, fill, time_ns, source) -> list:
        """Add one fragment; return the messages it completes, each ``(record, payload, fill,
        time_ns, source)`` (``record``: that of the fragment that completed it).

        ``payload`` is the fragment's armoured text (bytes), ``fill`` its fill bits (only the last
        fragment's count), ``source`` an int code (0 = unknown). The returned time and source
        are the first known ones among the fragments in arrival order (tag blocks usually
        stamp only the first fragment).
        """
        args = (record, key, n_frags, frag, payload, fill, time_ns, source)
        held, self._held, done = self._held, None, []
        if held is not None:
            if n_frags == 2 and frag == 2 and key == held[1] and record == held[0] + 1:
                return [(record, held[4] + payload, fill,
                         time_ns if held[6] == NAT_NS else held[6], held[7] or source)]
            done += self._add(*held)
        if n_frags == 2 and frag == 1:
            self._held = args
            return done
        return done + self._add(*args)

    def _add(self, record, key, n_frags, frag, payload, fill, time_ns, source) -> list:
        self._expire(record)
        group = self._open.get(key)
        if group is not None and (frag in group.parts or frag == 1):
            del self._open[key]
            self.incomplete += len(group.parts)
            group = None
        if group is None:
            group = _Group(record, n_frags)
            self._open[key] = group
        group.parts[frag] = (payload, fill)
        if group.time_ns == NAT_NS and time_ns != NAT_NS:
            group.time_ns = time_ns
        if not group.source and source:
            group.source = source
        if len(group.parts) < group.n_frags:
            return []
        del self._open[key]
        ordered = [group.parts[k] for k in range(1, group.n_frags + 1)]
        return [(record, b"".join(p for p, _ in ordered), ordered[-1][1], group.time_ns,
                 group.source)]

    def flush(self) -> int:
        """Give up every open group and a held fragment (end of input); return how many
        fragments that was."""
        count = sum(len(g.parts) for g in self._open.values()) + (self._held is not None)
        self._held = None
        self._open.clear()
        self.incomplete += count
        return count

    @property
    def n_open(self) -> int:
        """Groups currently waiting for fragments."""
        return len(self._open)
