"""Small value types that SPS decodes into: `Failure` (an error as a value) and address ranges.

Byte layouts (see `protocol._sps` for the codecs):

- `ExecutorAddrRange` travels as ``SPSExecutorAddrRange`` = u64 LE start, u64 LE end (16 bytes;
  end is exclusive and never below start).
- `Failure` travels inside ``SPSError`` (``01`` + SPSString message) and ``SPSExpected<T>``
  (``00`` + SPSString message), and inside the msgpack result envelope.
"""

from __future__ import annotations

import attrs

__all__ = ["ExecutorAddrRange", "Failure"]


@attrs.frozen
class Failure:
    """An error carried as a value: the message of an ``SPSError``/``SPSExpected`` failure.

    Created by decoders (controller or wrapper reported an error) and by wrapper functions that
    want to answer with an error; never raised. The message is kept verbatim.
    """

    message: str


def _check_range(instance: ExecutorAddrRange, attribute: object, end: int) -> None:
    del attribute
    if end < instance.start:
        raise ValueError(f"address range end {end:#x} is below its start {instance.start:#x}")


@attrs.frozen
class ExecutorAddrRange:
    """A half-open range ``[start, end)`` of executor addresses (``SPSExecutorAddrRange``).

    Raises:
        ValueError: at construction if ``end < start``.
    """

    start: int
    end: int = attrs.field(validator=_check_range)

    @property
    def size(self) -> int:
        """Number of bytes in the range (``end - start``)."""
        return self.end - self.start
