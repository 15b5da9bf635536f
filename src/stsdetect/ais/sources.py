"""Opening AIS sources: paths, globs, archives, compressed files, file objects and line lists.

:func:`open_sources` turns whatever :func:`~stsdetect.read_ais` was given into a sequence of
:class:`Source` objects, each a binary stream of one decompressed input with the first bytes
already read (for sniffing its layout) and the name it is known by in provenance.

What is recognised, and how:

* a path that exists is read as itself, whatever characters its name holds (``day[1].nmea``
  is that file, never ``day1.nmea``); only a path that does not exist is expanded as a glob;
* gzip, bzip2, xz and zstd data (by their magic bytes, not by file name) are decompressed
  on the fly; a stream that breaks part-way ends there and the break is kept in
  :attr:`Source.error` (everything before it is good data);
* a ZIP archive (magic ``PK``) is read member by member, in the archive's order, each member
  named ``archive.zip:member`` (members are themselves decompressed if compressed);
  directories in the archive are skipped;
* a file object (binary or text) is read as it is; an iterable of lines as one dump.
"""

from __future__ import annotations

import bz2
import glob
import gzip
import io
import lzma
import os
import shutil
import tempfile
import zipfile
import zlib
from collections.abc import Iterator
from dataclasses import dataclass

__all__ = ["HEAD_BYTES", "Source", "expand", "open_sources"]

#: Bytes read ahead from each decompressed source so its layout can be recognised.
HEAD_BYTES = 65536

_ZIP_MAGIC = (b"PK\x03\x04", b"PK\x05\x06")  # a local file header, an empty archive
_ZSTD_MAGIC = b"\x28\xb5\x2f\xfd"


class _ZstdReader(io.RawIOBase):
    """zstd frames, one after another, decompressed as read; a cut frame raises EOFError.

    (``zstandard``'s own stream reader ends silently where the data is cut, which would pass
    a half-written dump off as a whole one.)
    """

    def __init__(self, stream, block: int = 1 << 17):
        import zstandard

        self._zstd = zstandard
        self._s = stream
        self._block = block
        self._obj = zstandard.ZstdDecompressor().decompressobj()
        self._in_frame = False  # bytes of a frame fed and its end not seen yet
        self._out = b""

    def readable(self) -> bool:
        return True

    def read1(self, size: int = -1) -> bytes:
        while not self._out:
            data = self._s.read(self._block)
            if not data:
                if self._in_frame:
                    raise EOFError("zstd data ends before the end of its frame")
                return b""
            while data:
                self._in_frame = True
                self._out += self._obj.decompress(data)
                if not self._obj.eof:
                    break
                self._in_frame = False  # a frame ended: the next one starts afresh
                data = self._obj.unused_data
                self._obj = self._zstd.ZstdDecompressor().decompressobj()
        if size < 0:
            out, self._out = self._out, b""
        else:
            out, self._out = self._out[:size], self._out[size:]
        return out

    read = read1


def _zstd_open(stream):
    try:
        import zstandard  # noqa: F401
    except ImportError as exc:  # pragma: no cover - a core dependency
        raise OSError("zstd-compressed input needs the 'zstandard' package "
                      "(pip install zstandard)") from exc
    return _ZstdReader(stream)


_MAGIC = ((b"\x1f\x8b", gzip.open), (b"BZh", bz2.open), (b"\xfd7zXZ\x00", lzma.open),
          (_ZSTD_MAGIC, _zstd_open))


def _stream_errors() -> tuple:
    """Exceptions a decompressor raises where its data breaks."""
    errors = [EOFError, OSError, lzma.LZMAError, zlib.error, zipfile.BadZipFile]
    try:
        import zstandard

        errors.append(zstandard.ZstdError)
    except ImportError:  # pragma: no cover - a core dependency
        pass
    return tuple(errors)


class _IterStream(io.RawIOBase):
    """A binary stream over an iterable of lines (str or bytes), read in batches."""

    def __init__(self, lines, batch: int = 65536):
        self._it = iter(lines)
        self._batch = batch
        self._buf = b""

    def readable(self) -> bool:
        return True

    def read(self, size: int = -1) -> bytes:
        while (size < 0 or len(self._buf) < size) and self._it is not None:
            batch = []
            for line in self._it:
                if isinstance(line, str):
                    line = line.encode("utf-8", "replace")
                elif not isinstance(line, (bytes, bytearray, memoryview)):
                    raise TypeError(f"lines must be str or bytes, got {type(line).__name__}")
                batch.append(bytes(line).rstrip(b"\r\n"))
                if len(batch) >= self._batch:
                    break
            if not batch:
                self._it = None
                break
            self._buf += b"\n".join(batch) + b"\n"
        if size < 0:
            out, self._buf = self._buf, b""
        else:
            out, self._buf = self._buf[:size], self._buf[size:]
        return out


class _TextToBytes(io.RawIOBase):
    def __init__(self, text_stream):
        self._s = text_stream

    def readable(self) -> bool:
        return True

    def read(self, size: int = -1) -> bytes:
        return self._s.read(size).encode("utf-8", "replace")


class _Prefixed(io.RawIOBase):
    """Bytes already read (for sniffing) followed by the rest of a stream."""

    def __init__(self, head: bytes, stream):
        self._head = head
        self._s = stream
        # the inner stream's own readinto (a file's), unless it only has RawIOBase's stub
        inner = getattr(type(stream), "readinto", None)
        self._inner_readinto = (stream.readinto if inner is not None
                                and inner is not io.RawIOBase.readinto else None)

    def readable(self) -> bool:
        return True

    def readinto(self, b) -> int:
        if self._inner_readinto is None:
            data = self.read(len(b)) or b""
            b[:len(data)] = data
            return len(data)
        if self._head:  # the head, then the stream straight into the rest (no copies)
            view = memoryview(b).cast("B")
            k = min(len(self._head), len(view))
            view[:k] = self._head[:k]
            self._head = self._head[k:]
            return k + ((self._inner_readinto(view[k:]) or 0) if k < len(view) else 0)
        return self._inner_readinto(b) or 0

    def read(self, size: int = -1) -> bytes:
        if self._head:
            if size < 0:
                out, self._head = self._head + self._s.read(), b""
                return out
            out, self._head = self._head[:size], self._head[size:]
            if len(out) < size:
                out += self._s.read(size - len(out))
            return out
        return self._s.read(size)


class _Guarded(io.RawIOBase):
    """A decompressing stream that ends, instead of raising, where the compressed data breaks.

    A dump still being written, or cut short by a copy, is a truncated archive: everything
    before the break is still good data. The error is kept in :attr:`error`.
    """

    def __init__(self, stream):
        self._s = stream
        self.error: Exception | None = None
        self._errors = _stream_errors()

    def readable(self) -> bool:
        return True

    def read(self, size: int = -1) -> bytes:
        if self.error is not None:
            return b""
        parts, total = [], 0
        read1 = getattr(self._s, "read1", None) or self._s.read
        try:  # read1 returns what one decompression step yields, so a break loses nothing
            while size < 0 or total < size:
                part = read1(-1 if size < 0 else size - total)
                if not part:
                    break
                parts.append(part)
                total += len(part)
        except self._errors as exc:
            self.error = exc
        return b"".join(parts)


@dataclass
class Source:
    """One decompressed input, opened, with its first bytes read ahead.

    Attributes
    ----------
    name : str
        The name it is known by in provenance: the path as the user gave it (or as a glob
        expanded it), ``archive.zip:member`` for a ZIP member, the ``name`` of a file object,
        or ``"<stream>"`` for a file object without a name and for an iterable of lines
        (contract C1).
    stream : io.RawIOBase
        The whole decompressed content, from its first byte (the head included); it has
        ``read`` and ``readinto``.
    head : bytes
        Up to :data:`HEAD_BYTES` first bytes of the content (for sniffing the layout).
    path : str or None
        The file on disk the bytes come from, if any.
    size_hint : int or None
        Bytes of content when known in advance (a plain, uncompressed file), else None.
    """

    name: str
    stream: io.RawIOBase
    head: bytes
    path: str | None = None
    size_hint: int | None = None
    _guard: _Guarded | None = None

    @property
    def compressed(self) -> bool:
        """Whether the content is decompressed on the fly."""
        return self._guard is not None

    @property
    def error(self) -> Exception | None:
        """The error where the compressed data broke off (None: read to its end intact)."""
        return None if self._guard is None else self._guard.error


def _looks_like_path(item) -> bool:
    """A list item is a path or glob, not a line: lines of every supported format have commas."""
    if isinstance(item, os.PathLike):
        return True
    return isinstance(item, str) and "," not in item and "\n" not in item and bool(item.strip())


def expand(source) -> list:
    """Paths, globs, file objects and line iterables -> list of (name, path or None, opener).

    A path that exists is taken as itself, whatever its characters; only a path that does not
    exist is expanded as a glob (sorted), and one that matches nothing raises.

    Raises
    ------
    FileNotFoundError
        A path that does not exist and matches nothing as a glob.
    IsADirectoryError
        A directory.
    TypeError
        A source of an unsupported type.
    """
    if isinstance(source, (str, os.PathLike)):
        text = os.fspath(source)
        if isinstance(text, bytes):
            text = os.fsdecode(text)
        if os.path.exists(text):
            if os.path.isdir(text):
                raise IsADirectoryError(
                    f"{text!r} is a directory; pass a glob like '{text}/*.nmea'")
            return [(text, text, _path_opener(text))]
        if glob.has_magic(text):
            paths = [p for p in sorted(glob.glob(text)) if not os.path.isdir(p)]
            if not paths:
                raise FileNotFoundError(f"no files match {text!r}")
            return [(p, p, _path_opener(p)) for p in paths]
        raise FileNotFoundError(f"no such AIS dump: {text!r}")
    if isinstance(source, (bytes, bytearray)):
        raise TypeError("pass raw bytes as io.BytesIO(data) or as a list of lines")
    if hasattr(source, "read"):
        name = getattr(source, "name", None)  # (an int for a file opened from a descriptor)
        name = name if isinstance(name, str) else "<stream>"
        return [(name, None, lambda: _binary(source))]
    if isinstance(source, (list, tuple)) and source and all(map(_looks_like_path, source)):
        out = []
        for item in source:
            out.extend(expand(item))
        return out
    try:
        iter(source)
    except TypeError:
        raise TypeError(
            "source must be a path, a list of paths or globs, a file object or an iterable of "
            f"lines, not {type(source).__name__}") from None
    return [("<stream>", None, lambda: _IterStream(source))]


def _path_opener(path: str):
    def opener():
        return open(path, "rb")
    return opener


def _binary(stream):
    probe = stream.read(0)
    return _TextToBytes(stream) if isinstance(probe, str) else stream


def _read_head(stream, n: int) -> bytes:
    parts, total = [], 0
    while total < n:
        part = stream.read(n - total)
        if not part:
            break
        parts.append(part)
        total += len(part)
    return b"".join(parts)


def _decompress(stream) -> tuple:
    """Wrap ``stream`` in a decompressor chosen by its magic bytes: (stream, head, guard)."""
    head = _read_head(stream, 6)
    for magic, opener in _MAGIC:
        if head.startswith(magic):
            guard = _Guarded(opener(_Prefixed(head, stream)))
            first = _read_head(guard, HEAD_BYTES)
            if not first and guard.error is not None:
                # Broken before its first byte: nothing to keep, so the file is unreadable.
                raise OSError(f"corrupt compressed data ({guard.error})")
            return guard, first, guard
    rest = _read_head(stream, HEAD_BYTES - len(head))
    return stream, head + rest, None


def _zip_members(name: str, raw) -> Iterator[Source]:
    """The members of a ZIP archive (``raw``: a seekable binary file), in archive order."""
    try:
        archive = zipfile.ZipFile(raw)
    except zipfile.BadZipFile as exc:
        raise OSError(f"{name}: not a readable ZIP archive ({exc})") from None
    with archive:
        for info in archive.infolist():
            if info.is_dir():
                continue
            member = archive.open(info)
            try:
                guard = _Guarded(member)
                inner, head, inner_guard = _decompress(guard)
                yield Source(f"{name}:{info.filename}", _Prefixed(head, inner), head,
                             _guard=_ChainedGuard(guard, inner_guard))
            finally:
                member.close()


class _ChainedGuard:
    """The first error of a ZIP member's own stream or of its inner decompressor."""

    def __init__(self, *guards):
        self._guards = [g for g in guards if g is not None]

    @property
    def error(self):
        for g in self._guards:
            if g.error is not None:
                return g.error
        return None


def open_sources(source, close: bool | None = None) -> Iterator[Source]:
    """Open each input of ``source`` in turn, decompressed, as a :class:`Source`.

    Each source is closed when the caller asks for the next one (or the loop ends).

    Parameters
    ----------
    source : str, path-like, list of paths or globs, file object or iterable of lines
        As :func:`stsdetect.read_ais` takes it (see :func:`expand`).
    close : bool, optional
        Whether to close the streams opened here. Default: close files opened from paths;
        a file object passed in is left open for its owner.

    Yields
    ------
    Source

    Raises
    ------
    OSError
        A compressed file broken before its first byte, or an unreadable ZIP archive.
    """
    for name, path, opener in expand(source):
        raw = opener()
        own = path is not None if close is None else close
        try:
            head = _read_head(raw, 4)
            if head.startswith(_ZIP_MAGIC):
                if _seekable(raw):
                    raw.seek(0)
                    yield from _zip_members(name, raw)
                else:  # a pipe: ZIP keeps its directory at the end, so spool it first
                    with tempfile.TemporaryFile() as spool:
                        spool.write(head)
                        shutil.copyfileobj(raw, spool)
                        spool.seek(0)
                        yield from _zip_members(name, spool)
                continue
            stream, rest, guard = _decompress(_Prefixed(head, raw))
            size = None
            if guard is None and path is not None and os.path.isfile(path):
                size = os.path.getsize(path)
            yield Source(name, _Prefixed(rest, stream), rest, path=path, size_hint=size,
                         _guard=guard)
        finally:
            if own:
                raw.close()


def _seekable(stream) -> bool:
    try:
        return bool(stream.seekable())
    except (AttributeError, OSError, ValueError):
        return False
