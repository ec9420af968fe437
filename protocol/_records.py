"""The composite records of the bootstrap services, as `Frozen` value classes with their SPS types.

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

from ._frozen import Frozen
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


class WrapperFunctionCall(Frozen):
    """A call to wrapper function ``fn`` with SPS argument bytes ``args`` (an alloc action).

    ``fn == 0`` means "no call" (e.g. an action pair without a dealloc action).
    """

    _fields = ("fn", "args")
    __slots__ = _fields

    def __init__(self, fn: int, args: bytes) -> None:
        self.fn: Final = fn
        self.args: Final = args

    @property
    def is_null(self) -> bool:
        """Whether this is the empty action (function address 0)."""
        return self.fn == 0


NULL_WRAPPER_CALL: Final = WrapperFunctionCall(0, b"")
"""The null call (function address 0, no arguments): "no action"."""


class AllocActionCallPair(Frozen):
    """A finalize action and the dealloc action that undoes it (either may be null)."""

    _fields = ("finalize", "dealloc")
    __slots__ = _fields

    def __init__(self, finalize: WrapperFunctionCall, dealloc: WrapperFunctionCall) -> None:
        self.finalize: Final = finalize
        self.dealloc: Final = dealloc


class SegmentFinalizeRequest(Frozen):
    """One segment of a finalize/initialize request.

    Attributes:
        prot: the protection byte as sent (see `MemProt`; unknown bits are kept, not rejected).
        addr: where the segment starts in executor memory.
        size: the segment size; ``content`` is copied to ``addr`` and the rest up to ``size``
            zero-filled (content longer than size is the memory manager's error to report).
        content: the initial bytes.
    """

    _fields = ("prot", "addr", "size", "content")
    __slots__ = _fields

    def __init__(self, prot: int, addr: int, size: int, content: bytes) -> None:
        self.prot: Final = prot
        self.addr: Final = addr
        self.size: Final = size
        self.content: Final = content


class FinalizeRequest(Frozen):
    """A memory-manager finalize (LLVM 14) / initialize (LLVM 22) request.

    Sequences given as lists are stored as tuples.
    """

    _fields = ("segments", "actions")
    __slots__ = _fields

    def __init__(
        self,
        segments: Iterable[SegmentFinalizeRequest],
        actions: Iterable[AllocActionCallPair],
    ) -> None:
        self.segments: Final = tuple(segments)
        self.actions: Final = tuple(actions)


class SharedMemorySegmentFinalizeRequest(Frozen):
    """One segment of an LLVM 22 shared-memory-mapper initialize request (no content)."""

    _fields = ("prot", "addr", "size")
    __slots__ = _fields

    def __init__(self, prot: int, addr: int, size: int) -> None:
        self.prot: Final = prot
        self.addr: Final = addr
        self.size: Final = size


class SharedMemoryFinalizeRequest(Frozen):
    """LLVM 22 ``ExecutorSharedMemoryMapperService`` initialize request (lists become tuples)."""

    _fields = ("segments", "actions")
    __slots__ = _fields

    def __init__(
        self,
        segments: Iterable[SharedMemorySegmentFinalizeRequest],
        actions: Iterable[AllocActionCallPair],
    ) -> None:
        self.segments: Final = tuple(segments)
        self.actions: Final = tuple(actions)


class SymbolLookup(Frozen):
    """One element of a lookup set: a symbol name and whether it must be found.

    ``required=True`` is LLVM's ``SymbolLookupFlags::RequiredSymbol`` (wire ``01``); weak lookups
    send ``00``.
    """

    _fields = ("name", "required")
    __slots__ = _fields

    def __init__(self, name: str, required: bool) -> None:
        self.name: Final = name
        self.required: Final = required


class ExecutorSymbolDef(Frozen):
    """LLVM 22's resolve result for one symbol: address plus ``JITSymbolFlags`` bytes."""

    _fields = ("addr", "flags", "target_flags")
    __slots__ = _fields

    def __init__(self, addr: int, flags: int = SYMBOL_FLAG_EXPORTED, target_flags: int = 0) -> None:
        self.addr: Final = addr
        self.flags: Final = flags
        self.target_flags: Final = target_flags


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
