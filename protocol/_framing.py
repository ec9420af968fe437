"""SimpleRemoteEPC frames: the 32-byte header codec and an incremental, sans-IO frame decoder.

Byte layout of one frame (simple-remote-epc.md §2), all fields little-endian:

| offset | size | field | notes |
|---|---|---|---|
| 0  | u64 | MsgSize | total size *including* the header: ``32 + len(payload)``; < 32 is an error |
| 8  | u64 | OpC     | `Opcode`: 0 Setup, 1 Hangup, 2 Result, 3 CallWrapper; anything else is an error |
| 16 | u64 | SeqNo   | sequence number (Setup and Hangup: 0) |
| 24 | u64 | TagAddr | wrapper address / dispatch tag for CallWrapper, else 0 |
| 32 | MsgSize - 32 | payload | SPS bytes |

Theory of operation of `FrameDecoder`: bytes go into one ``bytearray`` with a read cursor
(``_pos``) and a scan cursor (``_scan``, the start of the first header not yet checked). Every
header is checked (size >= 32, size <= cap, known opcode) as soon as its 32 bytes are present,
before its body is waited for, so an oversized declaration fails at once instead of being
buffered. Complete frames are cut out at the read cursor; the consumed prefix is dropped when the
buffer empties, or when it is both large and more than half the buffer, so copying stays linear.
When the buffer is empty and a whole ``bytes`` chunk arrives, `FrameDecoder.feed_frames` parses
it in place, so each payload is copied exactly once. After any error the decoder is poisoned and
raises that error again from every method.
"""

from __future__ import annotations

import enum
import struct
from typing import Final, NamedTuple

from ._errors import DecodeError, EncodeError, LimitExceededError
from ._sps import BytesLike

__all__ = [
    "DEFAULT_MAX_FRAME_SIZE",
    "HEADER_SIZE",
    "Frame",
    "FrameDecoder",
    "Opcode",
    "encode_frame",
]

HEADER_SIZE: Final = 32
"""Bytes in a frame header; also the smallest legal MsgSize."""

DEFAULT_MAX_FRAME_SIZE: Final = 1 << 30
"""Default cap on MsgSize (header included) accepted by `FrameDecoder`."""

_HEADER: Final = struct.Struct("<QQQQ")
_COMPACT_THRESHOLD: Final = 1 << 16


class Opcode(enum.IntEnum):
    """SimpleRemoteEPC message kinds (``SimpleRemoteEPCOpcode``; same numbers in 14-22)."""

    SETUP = 0
    HANGUP = 1
    RESULT = 2
    CALL_WRAPPER = 3


_OPCODES: Final = tuple(Opcode)


class Frame(NamedTuple):
    """One decoded frame: header fields plus the payload bytes (header excluded)."""

    opcode: Opcode
    seq_no: int
    tag: int
    payload: bytes


def encode_frame(opcode: Opcode | int, seq_no: int, tag: int, payload: BytesLike) -> bytes:
    """Build one frame as a single contiguous bytes object (header + payload).

    Called by the executor's writer for every outgoing message; send the result with one write.

    Raises:
        EncodeError: unknown opcode, or seq_no/tag/size outside u64.
    """
    if isinstance(payload, bytes | bytearray):
        size = len(payload)
    elif isinstance(payload, memoryview):
        size = payload.nbytes
    else:
        raise EncodeError(f"cannot encode frame: payload must be bytes-like, got {type(payload)}")
    try:
        header = _HEADER.pack(HEADER_SIZE + size, opcode, seq_no, tag)
    except struct.error as exc:
        raise EncodeError(
            f"cannot encode frame header (opcode={opcode!r}, seq_no={seq_no!r}, tag={tag!r}): {exc}"
        ) from exc
    if opcode > 3:
        raise EncodeError(f"cannot encode frame: unknown opcode {opcode!r}")
    return header + payload


class FrameDecoder:
    """Split a SimpleRemoteEPC byte stream into `Frame` objects. No I/O; poisoned after an error.

    Used by one reader (a protocol's ``data_received`` or a reader loop); not thread-safe. Feed
    chunks of any size with `feed` or `feed_frames`, take frames with `next_frame`, and call
    `feed_eof` when the stream ends.

    Args:
        max_frame_size: the largest MsgSize (header included) accepted; must be >= 32.

    Raises:
        ValueError: ``max_frame_size`` is below `HEADER_SIZE`.
    """

    __slots__ = ("_base", "_buf", "_eof", "_error", "_max", "_pos", "_scan")

    def __init__(self, max_frame_size: int = DEFAULT_MAX_FRAME_SIZE) -> None:
        if max_frame_size < HEADER_SIZE:
            raise ValueError(f"max_frame_size must be >= {HEADER_SIZE}, got {max_frame_size}")
        self._max = max_frame_size
        self._buf = bytearray()
        self._pos = 0  # read cursor: start of the next frame to return
        self._scan = 0  # start of the first header not yet checked (>= _pos)
        self._base = 0  # stream offset of _buf[0]
        self._eof = False
        self._error: DecodeError | None = None

    def __repr__(self) -> str:
        state = "poisoned" if self._error else "eof" if self._eof else "open"
        return (
            f"<FrameDecoder {state} buffered={len(self._buf) - self._pos} "
            f"offset={self._base + self._pos} max_frame_size={self._max}>"
        )

    @property
    def max_frame_size(self) -> int:
        """The configured cap on MsgSize."""
        return self._max

    @property
    def offset(self) -> int:
        """Stream offset of the next frame to return (bytes consumed as whole frames so far)."""
        return self._base + self._pos

    def feed(self, data: BytesLike) -> None:
        """Append bytes from the stream and check every header that became complete.

        Raises:
            DecodeError: a header declares MsgSize < 32 or an unknown opcode (stream offset).
            LimitExceededError: a header declares MsgSize above the cap.
            RuntimeError: called after `feed_eof`.
        """
        self._check_usable()
        self._buf += data
        self._scan_headers()

    def next_frame(self) -> Frame | None:
        """Return the next complete frame, or None if more bytes are needed.

        Raises:
            DecodeError: the decoder is poisoned by an earlier error (raised again).
        """
        if self._error is not None:
            raise self._error
        buf = self._buf
        pos = self._pos
        if len(buf) - pos < HEADER_SIZE:
            return None
        size, opcode, seq_no, tag = _HEADER.unpack_from(buf, pos)
        end = pos + size  # size was checked by _scan_headers when the header arrived
        if end > len(buf):
            return None
        with memoryview(buf) as view:
            payload = view[pos + HEADER_SIZE : end].tobytes()
        self._advance(end)
        return Frame(_OPCODES[opcode], seq_no, tag, payload)

    def feed_frames(self, data: BytesLike) -> list[Frame]:
        """Feed ``data`` and return every frame now complete, in order (the bulk fast path).

        Raises:
            DecodeError: as `feed`; frames complete before the bad header are not returned.
            LimitExceededError: as `feed`.
            RuntimeError: called after `feed_eof`.
        """
        self._check_usable()
        if self._pos != len(self._buf) or type(data) is not bytes:
            self.feed(data)
            frames = []
            while (frame := self.next_frame()) is not None:
                frames.append(frame)
            return frames
        # Nothing buffered: parse the chunk in place (one copy per payload).
        self._base += len(self._buf)
        self._buf.clear()
        self._pos = self._scan = 0
        frames = []
        size = len(data)
        pos = 0
        while size - pos >= HEADER_SIZE:
            length, opcode, seq_no, tag = _HEADER.unpack_from(data, pos)
            self._check_header(length, opcode, self._base + pos)
            end = pos + length
            if end > size:
                break
            frames.append(Frame(_OPCODES[opcode], seq_no, tag, data[pos + HEADER_SIZE : end]))
            pos = end
        self._base += pos
        if pos < size:
            self._buf += memoryview(data)[pos:]
            self._scan_headers()
        return frames

    def feed_eof(self) -> None:
        """Mark the end of the stream. Fine at a frame boundary; an error inside a frame.

        Complete frames still buffered remain available from `next_frame`. Idempotent.

        Raises:
            DecodeError: the stream ended inside a frame (offset = end of stream).
        """
        if self._error is not None:
            raise self._error
        self._eof = True
        if self._scan != len(self._buf):
            # _scan lands exactly on the end only if every buffered frame is complete.
            start = self._base + self._last_frame_start()
            end = self._base + len(self._buf)
            self._error = DecodeError(
                f"unexpected end of stream inside a frame that starts at offset {start} "
                f"({end - start} bytes of it received)",
                offset=end,
            )
            raise self._error

    def _check_usable(self) -> None:
        if self._error is not None:
            raise self._error
        if self._eof:
            raise RuntimeError("FrameDecoder.feed called after feed_eof")

    def _check_header(self, size: int, opcode: int, offset: int) -> None:
        if size < HEADER_SIZE:
            self._error = DecodeError(
                f"frame MsgSize {size} is smaller than the {HEADER_SIZE}-byte header",
                offset=offset,
            )
            raise self._error
        if size > self._max:
            self._error = LimitExceededError(
                f"frame MsgSize {size} exceeds the limit of {self._max} bytes",
                offset=offset,
                limit=self._max,
            )
            raise self._error
        if opcode > 3:
            self._error = DecodeError(f"unknown frame opcode {opcode}", offset=offset + 8)
            raise self._error

    def _scan_headers(self) -> None:
        buf = self._buf
        scan = self._scan
        while len(buf) - scan >= HEADER_SIZE:
            size, opcode, _, _ = _HEADER.unpack_from(buf, scan)
            self._check_header(size, opcode, self._base + scan)
            scan += size
        self._scan = scan

    def _last_frame_start(self) -> int:
        """Buffer index where the incomplete frame at the end of the buffer starts."""
        pos = self._pos
        while len(self._buf) - pos >= HEADER_SIZE:
            (size,) = struct.unpack_from("<Q", self._buf, pos)
            if pos + size > len(self._buf):
                break
            pos += size
        return pos

    def _advance(self, end: int) -> None:
        buf = self._buf
        if end == len(buf):
            self._base += end
            self._scan -= end
            buf.clear()
            self._pos = 0
        elif end > _COMPACT_THRESHOLD and end * 2 > len(buf):
            del buf[:end]
            self._base += end
            self._scan -= end
            self._pos = 0
        else:
            self._pos = end
