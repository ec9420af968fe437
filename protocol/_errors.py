"""The exceptions of the protocol layer: one base, grouped by what the caller can do.

```
ProtocolError                 the bytes are wrong -> close the link
├─ DecodeError(ValueError)    the peer's bytes are malformed or truncated (.offset)
│  └─ LimitExceededError      a declared length or count is over a configured cap (.limit)
└─ EncodeError(ValueError)    a value we tried to send cannot be represented
```

Offsets are byte offsets into the input the failing decoder was given: the payload for SPS and
msgpack decoders, the whole stream (bytes fed so far) for `FrameDecoder`.
"""

from __future__ import annotations

from typing import Self

__all__ = ["DecodeError", "EncodeError", "LimitExceededError", "ProtocolError"]


class ProtocolError(Exception):
    """Base of every error raised by `protocol`: the bytes on the wire are wrong.

    Never raised directly; catch it to treat any wire-format failure as "close the link".
    """


class DecodeError(ProtocolError, ValueError):
    """The peer's bytes are malformed, truncated, or carry trailing garbage.

    Raised by every decoder in `protocol`; never `IndexError` or `struct.error`.

    Attributes:
        what: what was wrong, without the offset (e.g. ``"invalid SPS bool byte 0x02"``).
        offset: byte offset of the problem in the decoder's input.
    """

    what: str
    offset: int

    def __init__(self, what: str, *, offset: int) -> None:
        super().__init__(f"{what} (at byte offset {offset})")
        self.what = what
        self.offset = offset

    def with_context(self, context: str) -> Self:
        """Return a copy whose message starts with ``context`` (e.g. ``"argument 1 of reserve"``).

        Called only on the error path by enclosing decoders, to name where the failing value sits;
        the offset and traceback are kept.
        """
        clone = self._clone(f"{context}: {self.what}")
        return clone.with_traceback(self.__traceback__)

    def _clone(self, what: str) -> Self:
        return type(self)(what, offset=self.offset)


class LimitExceededError(DecodeError):
    """A declared length or count is over a configured cap; detected before anything is allocated.

    Attributes:
        limit: the cap that was exceeded (the largest accepted value).
    """

    limit: int

    def __init__(self, what: str, *, offset: int, limit: int) -> None:
        super().__init__(what, offset=offset)
        self.limit = limit

    def _clone(self, what: str) -> Self:
        return type(self)(what, offset=self.offset, limit=self.limit)


class EncodeError(ProtocolError, ValueError):
    """A value we tried to send cannot be represented on the wire.

    Raised by every encoder in `protocol` for out-of-range integers, values of the wrong type,
    and similar; the message names the wire type and the offending value.
    """
