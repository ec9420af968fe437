"""The composite records of the bootstrap services, as frozen attrs classes with their SPS types.

Byte layouts (all little-endian, fields concatenated, see `protocol._sps`):

```
WrapperFunctionCall         addr FnAddr | u64 len | len bytes ArgData          (FnAddr 0 = none)
AllocActionCallPair         WrapperFunctionCall Finalize | WrapperFunctionCall Dealloc
SegmentFinalizeRequest      u8 Prot | addr Addr | u64 Size | u64 len | len bytes Content
FinalizeRequest             u64 n | n x SegmentFinalizeRequest | u64 m | m x AllocActionCallPair
SharedMemorySegmentFinalizeRequest   u8 Prot | addr Addr | u64 Size
SharedMemoryFinalizeRequest u64 n | n x SharedMemorySegmentFinalizeRequest
                            | u64 m | m x AllocActionCallPair
SymbolLookup                u64 len | name bytes | bool Required           (RemoteSymbolLookupSetElement)
ExecutorSymbolDef           addr Addr | u8 Flags | u8 TargetFlags                       (LLVM 22)
```

``Prot`` is the wire byte as-is: R=1, W=2, X=4, and in LLVM 22 8 = FinalizeLifetime (`MemProt`).
"""

from __future__ import annotations

import enum
from collections.abc import Iterable
from typing import Final

import attrs

from ._sps import (
    Addr,
    Bool,
    Buffer,
    Record,
    Sequence,
    SPSType,
    String,
    UInt8,
    UInt64,
)

__all__ = [
    "NULL_WRAPPER_CALL",
    "SYMBOL_FLAG_EXPORTED",
    "AllocActionCallPair",
    "ExecutorSymbolDef",
    "FinalizeRequest",
    "MemProt",
    "SPSAllocActionCallPair",
    "SPSExecutorSymbolDef",
    "SPSFinalizeRequest",
    "SPSLookupSet",
    "SPSSegmentFinalizeRequest",
    "SPSSharedMemoryFinalizeRequest",
    "SPSSharedMemorySegmentFinalizeRequest",
    "SPSSymbolLookup",
    "SPSWrapperFunctionCall",
    "SegmentFinalizeRequest",
    "SharedMemoryFinalizeRequest",
    "SharedMemorySegmentFinalizeRequest",
    "SymbolLookup",
    "WrapperFunctionCall",
]


class MemProt(enum.IntFlag):
    """Bits of the segment protection byte (``tpctypes::RemoteAllocGroup`` wire bits)."""

    NONE = 0
    READ = 1
    WRITE = 2
    EXEC = 4
    FINALIZE_LIFETIME = 8
    """LLVM 22 only: the segment is needed only until the finalize actions have run."""


SYMBOL_FLAG_EXPORTED: Final = 0x10
"""``JITSymbolFlags::Exported``: the flags byte LLVM 22's executor reports for every resolved
symbol (also for missing ones, with address 0)."""


@attrs.frozen
class WrapperFunctionCall:
    """A call to wrapper function ``fn`` with SPS argument bytes ``args`` (an alloc action).

    ``fn == 0`` means "no call" (e.g. an action pair without a dealloc action).
    """

    fn: int
    args: bytes

    @property
    def is_null(self) -> bool:
        """Whether this is the empty action (function address 0)."""
        return self.fn == 0


NULL_WRAPPER_CALL: Final = WrapperFunctionCall(0, b"")
"""The null call (function address 0, no arguments): "no action"."""


@attrs.frozen
class AllocActionCallPair:
    """A finalize action and the dealloc action that undoes it (either may be null)."""

    finalize: WrapperFunctionCall
    dealloc: WrapperFunctionCall


def _tuple_of_segments(
    items: Iterable[SegmentFinalizeRequest],
) -> tuple[SegmentFinalizeRequest, ...]:
    return tuple(items)


def _tuple_of_shared_segments(
    items: Iterable[SharedMemorySegmentFinalizeRequest],
) -> tuple[SharedMemorySegmentFinalizeRequest, ...]:
    return tuple(items)


def _tuple_of_actions(items: Iterable[AllocActionCallPair]) -> tuple[AllocActionCallPair, ...]:
    return tuple(items)


@attrs.frozen
class SegmentFinalizeRequest:
    """One segment of a finalize/initialize request.

    Attributes:
        prot: the protection byte as sent (see `MemProt`; unknown bits are kept, not rejected).
        addr: where the segment starts in executor memory.
        size: the segment size; ``content`` is copied to ``addr`` and the rest up to ``size``
            zero-filled (content longer than size is the memory manager's error to report).
        content: the initial bytes.
    """

    prot: int
    addr: int
    size: int
    content: bytes


@attrs.frozen
class FinalizeRequest:
    """A memory-manager finalize (LLVM 14) / initialize (LLVM 22) request.

    Sequences given as lists are stored as tuples.
    """

    segments: tuple[SegmentFinalizeRequest, ...] = attrs.field(converter=_tuple_of_segments)
    actions: tuple[AllocActionCallPair, ...] = attrs.field(converter=_tuple_of_actions)


@attrs.frozen
class SharedMemorySegmentFinalizeRequest:
    """One segment of an LLVM 22 shared-memory-mapper initialize request (no content)."""

    prot: int
    addr: int
    size: int


@attrs.frozen
class SharedMemoryFinalizeRequest:
    """LLVM 22 ``ExecutorSharedMemoryMapperService`` initialize request."""

    segments: tuple[SharedMemorySegmentFinalizeRequest, ...] = attrs.field(
        converter=_tuple_of_shared_segments
    )
    actions: tuple[AllocActionCallPair, ...] = attrs.field(converter=_tuple_of_actions)


@attrs.frozen
class SymbolLookup:
    """One element of a lookup set: a symbol name and whether it must be found.

    ``required=True`` is LLVM's ``SymbolLookupFlags::RequiredSymbol`` (wire ``01``); weak lookups
    send ``00``.
    """

    name: str
    required: bool


@attrs.frozen
class ExecutorSymbolDef:
    """LLVM 22's resolve result for one symbol: address plus ``JITSymbolFlags`` bytes."""

    addr: int
    flags: int = SYMBOL_FLAG_EXPORTED
    target_flags: int = 0


SPSWrapperFunctionCall: Final[SPSType[WrapperFunctionCall]] = Record(
    WrapperFunctionCall, Addr, Buffer
)
"""``SPSWrapperFunctionCall`` = ``SPSTuple<SPSExecutorAddr, SPSSequence<char>>``."""

SPSAllocActionCallPair: Final[SPSType[AllocActionCallPair]] = Record(
    AllocActionCallPair, SPSWrapperFunctionCall, SPSWrapperFunctionCall
)
"""``SPSAllocActionCallPair`` = ``SPSTuple<SPSWrapperFunctionCall, SPSWrapperFunctionCall>``."""

SPSSegmentFinalizeRequest: Final[SPSType[SegmentFinalizeRequest]] = Record(
    SegmentFinalizeRequest, UInt8, Addr, UInt64, Buffer
)
"""``SPSSegFinalizeRequest`` = ``SPSTuple<u8 prot, addr, u64 size, SPSSequence<char>>``."""

SPSFinalizeRequest: Final[SPSType[FinalizeRequest]] = Record(
    FinalizeRequest, Sequence(SPSSegmentFinalizeRequest), Sequence(SPSAllocActionCallPair)
)
"""``SPSFinalizeRequest`` = ``SPSTuple<SPSSequence<SegFinalizeRequest>,
SPSSequence<AllocActionCallPair>>``."""

SPSSharedMemorySegmentFinalizeRequest: Final[SPSType[SharedMemorySegmentFinalizeRequest]] = Record(
    SharedMemorySegmentFinalizeRequest, UInt8, Addr, UInt64
)
"""``SPSSharedMemorySegFinalizeRequest`` = ``SPSTuple<u8 prot, addr, u64 size>``."""

SPSSharedMemoryFinalizeRequest: Final[SPSType[SharedMemoryFinalizeRequest]] = Record(
    SharedMemoryFinalizeRequest,
    Sequence(SPSSharedMemorySegmentFinalizeRequest),
    Sequence(SPSAllocActionCallPair),
)
"""``SPSSharedMemoryFinalizeRequest``: segments without content, then action pairs."""

SPSSymbolLookup: Final[SPSType[SymbolLookup]] = Record(SymbolLookup, String, Bool)
"""``SPSRemoteSymbolLookupSetElement`` = ``SPSTuple<SPSString, bool>``."""

SPSLookupSet: Final = Sequence(SPSSymbolLookup)
"""``SPSRemoteSymbolLookupSet`` = ``SPSSequence<SPSRemoteSymbolLookupSetElement>``."""

SPSExecutorSymbolDef: Final[SPSType[ExecutorSymbolDef]] = Record(
    ExecutorSymbolDef, Addr, UInt8, UInt8
)
"""``SPSExecutorSymbolDef`` = ``SPSTuple<addr, SPSTuple<u8 flags, u8 target flags>>`` (nested
tuples add no bytes, so the record is flat)."""
