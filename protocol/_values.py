"""Small value types that SPS decodes into: `Failure` (an error as a value) and address ranges.

Byte layouts (see `protocol._sps` for the codecs):

- `ExecutorAddrRange` travels as ``SPSExecutorAddrRange`` = u64 LE start, u64 LE end (16 bytes;
  end is exclusive and never below start).
- `Failure` travels inside ``SPSError`` (``01`` + SPSString message) and ``SPSExpected<T>``
  (``00`` + SPSString message), and inside the msgpack result envelope.
"""

from __future__ import annotations

from typing import Final

from ._frozen import Frozen

__all__ = ["ExecutorAddrRange", "Failure"]


class Failure(Frozen):
    """An error carried as a value: the message of an ``SPSError``/``SPSExpected`` failure.

    Created by decoders (controller or wrapper reported an error) and by wrapper functions that
    want to answer with an error; never raised. The message is kept verbatim.
    """

    _fields = ("message",)
    __slots__ = _fields

    def __init__(self, message: str) -> None:
        self.message: Final = message


class ExecutorAddrRange(Frozen):
    """A half-open range ``[start, end)`` of executor addresses (``SPSExecutorAddrRange``).

    Raises:
        ValueError: at construction if ``end < start``.
    """

    _fields = ("start", "end")
    __slots__ = _fields

    def __init__(self, start: int, end: int) -> None:
        if end < start:
            raise ValueError(f"address range end {end:#x} is below its start {start:#x}")
        self.start: Final = start
        self.end: Final = end

    @property
    def size(self) -> int:
        """Number of bytes in the range (``end - start``)."""
        return self.end - self.start
