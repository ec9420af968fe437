"""The bootstrap wrapper functions of LLVM 14-22 executors: one signature per line.

Each constant is a `WrapperSignature` whose ``.name`` is the symbol the executor advertises (or,
for alloc actions and LLVM 14's self-lookups, the name the controller uses). Argument and result
bytes follow `protocol._signature` (arguments concatenated, result = one value). Sources: the
installed LLVM 14.0.6 / 15.0.6 / 16.0.6 / 19.1.7 / 22.1.8 headers (``Shared/OrcRTBridge.h``, ``SimpleRemoteEPCUtils.h``,
``TargetProcessControlTypes.h``, ``EPCGenericMemoryAccess.h``) and simple-remote-epc.md §4.1, §7.

Which version advertises which name, and which variant it speaks, is `protocol._versions`
(the version table); the version numbers in the docstrings below say the same for reference.

``Inst`` below is the value of the matching ``*_Instance`` bootstrap symbol, passed back verbatim.
"""

from __future__ import annotations

from collections.abc import Mapping
from types import MappingProxyType
from typing import Any, Final

from ._records import (
    SPSExecutorSymbolDef,
    SPSFinalizeRequest,
    SPSLookupSet,
    SPSSharedMemoryFinalizeRequest,
)
from ._signature import WrapperSignature
from ._sps import (
    Addr,
    AddrRange,
    Bool,
    Buffer,
    Empty,
    Error,
    Expected,
    Int32,
    Int64,
    Optional,
    Sequence,
    String,
    Tuple,
    UInt8,
    UInt16,
    UInt32,
    UInt64,
)

__all__ = [
    "BOOTSTRAP_SIGNATURES",
    "DEREGISTER_EHFRAME_ALLOC_ACTION",
    "DEREGISTER_EHFRAME_SECTION",
    "DEREGISTER_EHFRAME_SECTION_WRAPPER",
    "DISPATCH_CTX_SYMBOL",
    "DISPATCH_FN_SYMBOL",
    "DYLIB_LOOKUP",
    "DYLIB_LOOKUP_SYMBOL_DEFS",
    "DYLIB_MANAGER_INSTANCE_SYMBOL",
    "DYLIB_OPEN",
    "DYLIB_RESOLVE",
    "MEMORY_DEALLOCATE",
    "MEMORY_DEINITIALIZE",
    "MEMORY_FINALIZE",
    "MEMORY_INITIALIZE",
    "MEMORY_MANAGER_INSTANCE_SYMBOL",
    "MEMORY_RELEASE",
    "MEMORY_RESERVE",
    "MEM_READ_BUFFERS",
    "MEM_READ_POINTERS",
    "MEM_READ_STRINGS",
    "MEM_READ_UINT8S",
    "MEM_READ_UINT16S",
    "MEM_READ_UINT32S",
    "MEM_READ_UINT64S",
    "MEM_WRITE_BUFFERS",
    "MEM_WRITE_POINTERS",
    "MEM_WRITE_UINT8S",
    "MEM_WRITE_UINT16S",
    "MEM_WRITE_UINT32S",
    "MEM_WRITE_UINT64S",
    "REGISTER_EHFRAME_ALLOC_ACTION",
    "REGISTER_EHFRAME_SECTION",
    "REGISTER_EHFRAME_SECTION_WRAPPER",
    "REGISTER_JITLOADER_GDB_ALLOC_ACTION",
    "REGISTER_JITLOADER_GDB_WRAPPER",
    "REGISTER_JITLOADER_GDB_WRAPPER_AUTO",
    "RUN_AS_INT",
    "RUN_AS_MAIN",
    "RUN_AS_VOID",
    "SHARED_MEMORY_DEINITIALIZE",
    "SHARED_MEMORY_INITIALIZE",
    "SHARED_MEMORY_MAPPER_INSTANCE_SYMBOL",
    "SHARED_MEMORY_RELEASE",
    "SHARED_MEMORY_RESERVE",
]

# Data symbols (not wrapper functions): the controller passes them back as arguments or, for
# dispatch_ctx/dispatch_fn, hands them to JIT'd code (simple-remote-epc.md §8).
DISPATCH_CTX_SYMBOL: Final = "__llvm_orc_SimpleRemoteEPC_dispatch_ctx"
"""The executor's session object, passed to ``dispatch_fn`` by JIT'd code (14-22)."""
DISPATCH_FN_SYMBOL: Final = "__llvm_orc_SimpleRemoteEPC_dispatch_fn"
"""A native ``CWrapperFunctionResult(ctx, tag, data, size)`` JIT'd code calls (14-22)."""
MEMORY_MANAGER_INSTANCE_SYMBOL: Final = "__llvm_orc_SimpleExecutorMemoryManager_Instance"
"""``Inst`` of the memory-manager wrappers (14-22)."""
DYLIB_MANAGER_INSTANCE_SYMBOL: Final = "__llvm_orc_SimpleExecutorDylibManager_Instance"
"""``Inst`` of the dylib-manager wrappers (14-22)."""
SHARED_MEMORY_MAPPER_INSTANCE_SYMBOL: Final = (
    "__llvm_orc_ExecutorSharedMemoryMapperService_Instance"
)
"""``Inst`` of the shared-memory mapper wrappers (22)."""

_MM = "__llvm_orc_SimpleExecutorMemoryManager_"
_SHM = "__llvm_orc_ExecutorSharedMemoryMapperService_"
_DM = "__llvm_orc_SimpleExecutorDylibManager_"
_BS = "__llvm_orc_bootstrap_"

# Memory manager (simple-remote-epc.md §7.2).
MEMORY_RESERVE: Final = WrapperSignature(Expected(Addr), Addr, UInt64, name=_MM + "reserve_wrapper")
"""14, 22: ``Expected<addr Base>(addr Inst, u64 Size)``."""
MEMORY_FINALIZE: Final = WrapperSignature(
    Error, Addr, SPSFinalizeRequest, name=_MM + "finalize_wrapper"
)
"""14: ``SPSError(addr Inst, FinalizeRequest)``."""
MEMORY_DEALLOCATE: Final = WrapperSignature(
    Error, Addr, Sequence(Addr), name=_MM + "deallocate_wrapper"
)
"""14: ``SPSError(addr Inst, Sequence<addr Base>)``."""
MEMORY_INITIALIZE: Final = WrapperSignature(
    Expected(Addr), Addr, SPSFinalizeRequest, name=_MM + "initialize_wrapper"
)
"""22: ``Expected<addr InitKey>(addr Inst, FinalizeRequest)``."""
MEMORY_DEINITIALIZE: Final = WrapperSignature(
    Error, Addr, Sequence(Addr), name=_MM + "deinitialize_wrapper"
)
"""22: ``SPSError(addr Inst, Sequence<addr InitKey>)``."""
MEMORY_RELEASE: Final = WrapperSignature(Error, Addr, Sequence(Addr), name=_MM + "release_wrapper")
"""22: ``SPSError(addr Inst, Sequence<addr Base>)``."""

# Shared-memory mapper (22; used only with -use-memmgr=shared).
SHARED_MEMORY_RESERVE: Final = WrapperSignature(
    Expected(Tuple(Addr, String)), Addr, UInt64, name=_SHM + "Reserve"
)
"""22: ``Expected<Tuple<addr, String SharedMemoryName>>(addr Inst, u64 Size)``."""
SHARED_MEMORY_INITIALIZE: Final = WrapperSignature(
    Expected(Addr), Addr, Addr, SPSSharedMemoryFinalizeRequest, name=_SHM + "Initialize"
)
"""22: ``Expected<addr>(addr Inst, addr Reservation, SharedMemoryFinalizeRequest)``."""
SHARED_MEMORY_DEINITIALIZE: Final = WrapperSignature(
    Error, Addr, Sequence(Addr), name=_SHM + "Deinitialize"
)
"""22: ``SPSError(addr Inst, Sequence<addr>)``."""
SHARED_MEMORY_RELEASE: Final = WrapperSignature(Error, Addr, Sequence(Addr), name=_SHM + "Release")
"""22: ``SPSError(addr Inst, Sequence<addr>)``."""

# Dylib manager (§7.1). 14's open returns a u64 handle, 22's an addr: the same 8 bytes.
DYLIB_OPEN: Final = WrapperSignature(
    Expected(Addr), Addr, String, UInt64, name=_DM + "open_wrapper"
)
"""14, 22: ``Expected<handle>(addr Inst, String Path, u64 Mode)``."""
DYLIB_LOOKUP: Final = WrapperSignature(
    Expected(Sequence(Addr)), Addr, UInt64, SPSLookupSet, name=_DM + "lookup_wrapper"
)
"""14-17: ``Expected<Sequence<addr>>(addr Inst, u64 Handle, Sequence<SymbolLookup>)``."""
DYLIB_LOOKUP_SYMBOL_DEFS: Final = WrapperSignature(
    Expected(Sequence(SPSExecutorSymbolDef)),
    Addr,
    UInt64,
    SPSLookupSet,
    name=_DM + "lookup_wrapper",
)
"""18-21: the same wrapper answering ``Expected<Sequence<ExecutorSymbolDef>>`` (19.1.7 traces:
``(addr, flags 0x10, 0)`` per name, address 0 for a missing weak symbol)."""
DYLIB_RESOLVE: Final = WrapperSignature(
    Expected(Sequence(Optional(SPSExecutorSymbolDef))),
    Addr,
    SPSLookupSet,
    name=_DM + "resolve_wrapper",
)
"""22: ``Expected<Sequence<Optional<ExecutorSymbolDef>>>(addr Handle, Sequence<SymbolLookup>)``
(no ``Inst`` argument)."""

# Memory access (§7.5). Writes answer an empty payload.
MEM_WRITE_UINT8S: Final = WrapperSignature(
    Empty, Sequence(Tuple(Addr, UInt8)), name=_BS + "mem_write_uint8s_wrapper"
)
"""14, 22: ``void(Sequence<Tuple<addr, u8>>)``."""
MEM_WRITE_UINT16S: Final = WrapperSignature(
    Empty, Sequence(Tuple(Addr, UInt16)), name=_BS + "mem_write_uint16s_wrapper"
)
"""14, 22: ``void(Sequence<Tuple<addr, u16>>)``."""
MEM_WRITE_UINT32S: Final = WrapperSignature(
    Empty, Sequence(Tuple(Addr, UInt32)), name=_BS + "mem_write_uint32s_wrapper"
)
"""14, 22: ``void(Sequence<Tuple<addr, u32>>)``."""
MEM_WRITE_UINT64S: Final = WrapperSignature(
    Empty, Sequence(Tuple(Addr, UInt64)), name=_BS + "mem_write_uint64s_wrapper"
)
"""14, 22: ``void(Sequence<Tuple<addr, u64>>)``."""
MEM_WRITE_POINTERS: Final = WrapperSignature(
    Empty, Sequence(Tuple(Addr, Addr)), name=_BS + "mem_write_pointers_wrapper"
)
"""22: ``void(Sequence<Tuple<addr, addr>>)``."""
MEM_WRITE_BUFFERS: Final = WrapperSignature(
    Empty, Sequence(Tuple(Addr, Buffer)), name=_BS + "mem_write_buffers_wrapper"
)
"""14, 22: ``void(Sequence<Tuple<addr, Sequence<char>>>)``."""
MEM_READ_UINT8S: Final = WrapperSignature(
    Sequence(UInt8), Sequence(Addr), name=_BS + "mem_read_uint8s_wrapper"
)
"""22: ``Sequence<u8>(Sequence<addr>)``."""
MEM_READ_UINT16S: Final = WrapperSignature(
    Sequence(UInt16), Sequence(Addr), name=_BS + "mem_read_uint16s_wrapper"
)
"""22: ``Sequence<u16>(Sequence<addr>)``."""
MEM_READ_UINT32S: Final = WrapperSignature(
    Sequence(UInt32), Sequence(Addr), name=_BS + "mem_read_uint32s_wrapper"
)
"""22: ``Sequence<u32>(Sequence<addr>)``."""
MEM_READ_UINT64S: Final = WrapperSignature(
    Sequence(UInt64), Sequence(Addr), name=_BS + "mem_read_uint64s_wrapper"
)
"""22: ``Sequence<u64>(Sequence<addr>)``."""
MEM_READ_POINTERS: Final = WrapperSignature(
    Sequence(Addr), Sequence(Addr), name=_BS + "mem_read_pointers_wrapper"
)
"""22: ``Sequence<addr>(Sequence<addr>)``."""
MEM_READ_BUFFERS: Final = WrapperSignature(
    Sequence(Buffer), Sequence(AddrRange), name=_BS + "mem_read_buffers_wrapper"
)
"""22: ``Sequence<Sequence<u8>>(Sequence<AddrRange>)`` (``Sequence<u8>`` has Buffer's bytes)."""
MEM_READ_STRINGS: Final = WrapperSignature(
    Sequence(String), Sequence(Addr), name=_BS + "mem_read_strings_wrapper"
)
"""22: ``Sequence<String>(Sequence<addr>)``; each string is read up to its NUL."""

# Running code (§7.6).
RUN_AS_MAIN: Final = WrapperSignature(
    Int64, Addr, Sequence(String), name=_BS + "run_as_main_wrapper"
)
"""14, 22: ``i64(addr MainFn, Sequence<String> Args)``; no program name is prepended."""
RUN_AS_VOID: Final = WrapperSignature(Int32, Addr, name=_BS + "run_as_void_function_wrapper")
"""22: ``i32(addr Fn)``: calls ``void fn(void)``, answers 0."""
RUN_AS_INT: Final = WrapperSignature(Int32, Addr, Int32, name=_BS + "run_as_int_function_wrapper")
"""22: ``i32(addr Fn, i32 Arg)``: calls ``int fn(int)``."""

# eh-frame and debugger registration (§7.3): direct calls in 14, alloc actions in 22.
REGISTER_EHFRAME_SECTION: Final = WrapperSignature(
    Error, AddrRange, name=_BS + "register_ehframe_section_wrapper"
)
"""14: ``SPSError(AddrRange EHFrameSection)``, called directly after finalize."""
DEREGISTER_EHFRAME_SECTION: Final = WrapperSignature(
    Error, AddrRange, name=_BS + "deregister_ehframe_section_wrapper"
)
"""14: ``SPSError(AddrRange EHFrameSection)``, called directly before deallocate."""
REGISTER_EHFRAME_SECTION_WRAPPER: Final = WrapperSignature(
    Error, AddrRange, name="llvm_orc_registerEHFrameSectionWrapper"
)
"""14: the name the controller *looks up* (required) for eh-frame registration; same ABI as
`REGISTER_EHFRAME_SECTION`."""
DEREGISTER_EHFRAME_SECTION_WRAPPER: Final = WrapperSignature(
    Error, AddrRange, name="llvm_orc_deregisterEHFrameSectionWrapper"
)
"""14: looked-up counterpart of `DEREGISTER_EHFRAME_SECTION`."""
REGISTER_JITLOADER_GDB_WRAPPER: Final = WrapperSignature(
    Error, AddrRange, name="llvm_orc_registerJITLoaderGDBWrapper"
)
"""14-16: ``SPSError(AddrRange DebugObject)``, looked up (required) and called directly."""
REGISTER_JITLOADER_GDB_WRAPPER_AUTO: Final = WrapperSignature(
    Error, AddrRange, Bool, name="llvm_orc_registerJITLoaderGDBWrapper"
)
"""19 (17-21 inferred): the same wrapper with ``(AddrRange DebugObject, bool AutoRegisterCode)``
(17 argument bytes in the 19.1.7 hello_debug trace)."""
REGISTER_EHFRAME_ALLOC_ACTION: Final = WrapperSignature(
    Error, AddrRange, name="llvm_orc_registerEHFrameAllocAction"
)
"""22 alloc action: ``SPSError(AddrRange EHFrameSection)``."""
DEREGISTER_EHFRAME_ALLOC_ACTION: Final = WrapperSignature(
    Error, AddrRange, name="llvm_orc_deregisterEHFrameAllocAction"
)
"""22 alloc action (dealloc side): ``SPSError(AddrRange EHFrameSection)``."""
REGISTER_JITLOADER_GDB_ALLOC_ACTION: Final = WrapperSignature(
    Error, AddrRange, Bool, name="llvm_orc_registerJITLoaderGDBAllocAction"
)
"""22 alloc action: ``SPSError(AddrRange DebugObject, bool AutoRegisterCode)``."""

_ALL: Final[tuple[WrapperSignature[Any], ...]] = (
    MEMORY_RESERVE,
    MEMORY_FINALIZE,
    MEMORY_DEALLOCATE,
    MEMORY_INITIALIZE,
    MEMORY_DEINITIALIZE,
    MEMORY_RELEASE,
    SHARED_MEMORY_RESERVE,
    SHARED_MEMORY_INITIALIZE,
    SHARED_MEMORY_DEINITIALIZE,
    SHARED_MEMORY_RELEASE,
    DYLIB_OPEN,
    DYLIB_LOOKUP,
    DYLIB_RESOLVE,
    MEM_WRITE_UINT8S,
    MEM_WRITE_UINT16S,
    MEM_WRITE_UINT32S,
    MEM_WRITE_UINT64S,
    MEM_WRITE_POINTERS,
    MEM_WRITE_BUFFERS,
    MEM_READ_UINT8S,
    MEM_READ_UINT16S,
    MEM_READ_UINT32S,
    MEM_READ_UINT64S,
    MEM_READ_POINTERS,
    MEM_READ_BUFFERS,
    MEM_READ_STRINGS,
    RUN_AS_MAIN,
    RUN_AS_VOID,
    RUN_AS_INT,
    REGISTER_EHFRAME_SECTION,
    DEREGISTER_EHFRAME_SECTION,
    REGISTER_EHFRAME_SECTION_WRAPPER,
    DEREGISTER_EHFRAME_SECTION_WRAPPER,
    REGISTER_JITLOADER_GDB_WRAPPER,
    REGISTER_EHFRAME_ALLOC_ACTION,
    DEREGISTER_EHFRAME_ALLOC_ACTION,
    REGISTER_JITLOADER_GDB_ALLOC_ACTION,
)

BOOTSTRAP_SIGNATURES: Final[Mapping[str, WrapperSignature[Any]]] = MappingProxyType(
    {signature.name: signature for signature in _ALL}
)
"""The signatures above by symbol name (read-only), in their LLVM 14 and 22 variants; the 18-21
lookup result and the 17-21 GDB wrapper share a name with these, so a version's own table is
`protocol.LLVMProtocol.signatures`."""
