"""The SimpleRemoteEPC protocol of each LLVM major: one row per version, read by both halves.

The executor (``actors``) serves a row: it sends Setup in the row's layout, advertises the row's
bootstrap symbols and answers the row's wrapper variants. The controller (``actors.orc``)
speaks a row: it checks the row's required symbols and calls its memory-manager and
dylib-manager variants. Adding a version is adding a row here (and its traces under
``tests/protocol/traces/``); nothing else names versions.

How each fact was established (tests/protocol/traces/README.md has the details):

| what changed                          | last old | first new | evidence                             |
|---------------------------------------|----------|-----------|--------------------------------------|
| Setup carries a bootstrap map         | 16       | 17 (inf.) | 16.0.6 and 19.1.7 Setups; upstream   |
| shared-memory mapper advertised       | 15       | 16        | 15.0.6 and 16.0.6 Setups             |
| run_as_void / run_as_int (required)   | 15       | 16        | Setups; probe_required.py            |
| segment byte may carry 0x08 (finalize | 15       | 16        | installed headers (AllocGroup bits)  |
| lifetime)                             |          |           |                                      |
| eh-frame wrappers: process lookup ->  | 16       | 17-19     | 16.0.6 / 19.1.7 traces               |
| bootstrap symbols                     |          |           |                                      |
| GDB wrapper takes (range, bool)       | 16       | 17-19     | 16.0.6 / 19.1.7 hello_debug traces   |
| dylib lookup answers ExecutorSymbolDef| 17       | 18 (inf.) | 19.1.7 traces; upstream (Jan 2024)   |
| ORC runtime: alloc actions, push-     | 19       | 20 (inf.) | 19.1.7 / 22.1.8 orcrt traces;        |
| initializers tag                      |          |           | upstream (Aug 2024)                  |
| eh-frame as alloc actions             | 20       | 21 (inf.) | 22.1.8 traces; upstream (Mar 2025)   |
| memory reads, write_pointers          | 19       | 20-22     | 22.1.8 Setup; upstream (2025)        |
| memory manager initialize/release,    | 21       | 22        | 22.1.8 traces; upstream (Oct 2025)   |
| dylib resolve, GDB alloc action       |          |           |                                      |

Rows of majors that could not be run here (17, 18, 20, 21) are *inferred*: where their
neighbours or the upstream history leave a choice open, the executor offers both ways (extra
bootstrap symbols are harmless: a controller looks up the names it wants) and a controller
checks only what both neighbours require.
"""

from __future__ import annotations

import enum
from collections.abc import Mapping
from types import MappingProxyType
from typing import Any, Final

import attrs

from . import _bootstrap as b
from ._setup import ExecutorInfo, SetupLayout
from ._signature import WrapperSignature

__all__ = [
    "LLVM_PROTOCOLS",
    "SUPPORTED_LLVM_MAJORS",
    "DebugObjectRegistration",
    "DylibLookup",
    "EhFrameRegistration",
    "ExecutorService",
    "LLVMProtocol",
    "MemoryManagerProtocol",
    "OrcRuntimePlatform",
    "llvm_protocol",
    "recognise_llvm_protocol",
    "supported_majors_text",
]


class MemoryManagerProtocol(enum.Enum):
    """How the controller's ``EPCGenericJITLinkMemoryManager`` talks to the executor."""

    FINALIZE = "finalize"
    """reserve / finalize / deallocate (14-21): finalize answers ``SPSError``."""
    INITIALIZE = "initialize"
    """reserve / initialize / deinitialize / release (22): slabs holding regions."""


class DylibLookup(enum.Enum):
    """How the controller resolves process symbols (``EPCGenericDylibManager``)."""

    ADDRESSES = "addresses"
    """``lookup_wrapper(Inst, handle, set) -> Expected<Sequence<addr>>`` (14-17)."""
    SYMBOL_DEFS = "symbol-defs"
    """``lookup_wrapper(Inst, handle, set) -> Expected<Sequence<ExecutorSymbolDef>>`` (18-21)."""
    RESOLVE = "resolve"
    """``resolve_wrapper(handle, set) -> Expected<Sequence<Optional<ExecutorSymbolDef>>>`` (22)."""


class EhFrameRegistration(enum.Enum):
    """How llvm-jitlink gets JIT'd eh-frames registered with the unwinder (no ORC runtime)."""

    PROCESS_LOOKUP = "process-lookup"
    """Looks up ``llvm_orc_(de)registerEHFrameSectionWrapper`` in the process (required) and
    calls it after finalize / before deallocate (14-16)."""
    BOOTSTRAP_WRAPPER = "bootstrap-wrapper"
    """The same wrappers, advertised as bootstrap symbols of those names (19; 17-20 inf.)."""
    ALLOC_ACTION = "alloc-action"
    """``llvm_orc_(de)registerEHFrameAllocAction`` bootstrap symbols as alloc actions (22)."""


class DebugObjectRegistration(enum.Enum):
    """How debug objects (``-g``) reach the GDB JIT interface."""

    WRAPPER_RANGE = "wrapper-range"
    """``llvm_orc_registerJITLoaderGDBWrapper(AddrRange)``, looked up in the process (14-16)."""
    WRAPPER_RANGE_AUTO = "wrapper-range-auto"
    """The same wrapper with ``(AddrRange, bool AutoRegisterCode)`` (19; 17-21 inf.)."""
    ALLOC_ACTION = "alloc-action"
    """``llvm_orc_registerJITLoaderGDBAllocAction(AddrRange, bool)`` alloc action (22)."""


class OrcRuntimePlatform(enum.Enum):
    """How the ELFNix platform of ``-orc-runtime`` drives the runtime (executor-agnostic)."""

    DIRECT_CALLS = "direct-calls"
    """Calls ``__orc_rt_elfnix_platform_bootstrap`` / ``register_object_sections`` directly;
    the runtime calls back ``__orc_rt_elfnix_get_initializers_tag`` (14-19)."""
    ALLOC_ACTIONS = "alloc-actions"
    """Platform functions run as alloc actions; the runtime calls back
    ``__orc_rt_elfnix_push_initializers_tag`` (22; 20-21 inf.)."""


class ExecutorService(enum.Enum):
    """Optional groups of bootstrap wrappers an executor of a version advertises."""

    SHARED_MEMORY_MAPPER = "shared-memory-mapper"
    """``__llvm_orc_ExecutorSharedMemoryMapperService_*`` (16+; orcrt does not implement it)."""
    RUN_AS_VOID_INT = "run-as-void-int"
    """``run_as_void_function_wrapper`` and ``run_as_int_function_wrapper`` (16+)."""
    MEMORY_READS = "memory-reads"
    """``mem_read_*`` and ``mem_write_pointers`` (22; 20-21 inf.)."""


@attrs.frozen(kw_only=True)
class LLVMProtocol:
    """One LLVM major's SimpleRemoteEPC protocol (a row of `LLVM_PROTOCOLS`).

    Attributes:
        major: the LLVM major version.
        tested: the release checked against the real binaries (``"19.1.7"``), or None for an
            inferred row.
        setup_layout: the Setup payload layout.
        memory_manager, dylib_lookup: the wrapper variants of the two managers.
        eh_frame: the eh-frame registration styles an executor of this row offers (one for a
            tested row; an inferred row may offer two).
        debug_objects: the debug-object registration style.
        orc_runtime: how ``-orc-runtime`` drives the runtime (documentation: the executor just
            runs the runtime's code).
        services: optional wrapper groups advertised.
        segment_lifetime_bit: the segment byte of a finalize request may carry 0x08
            (``MemProt.FINALIZE_LIFETIME``: free the segment once finalize actions ran); 14
            and 15 send bare RWX bits.
        required: the bootstrap symbols the controller's SimpleRemoteEPC needs at setup (it
            fails, naming the first missing one, before sending a call).
        session_required: what llvm-jitlink's session needs on top (looked up when it sets up
            eh-frame or debugger support).
    """

    major: int
    tested: str | None
    setup_layout: SetupLayout
    memory_manager: MemoryManagerProtocol
    dylib_lookup: DylibLookup
    eh_frame: frozenset[EhFrameRegistration]
    debug_objects: DebugObjectRegistration
    orc_runtime: OrcRuntimePlatform
    services: frozenset[ExecutorService]
    segment_lifetime_bit: bool
    required: tuple[str, ...]
    session_required: tuple[str, ...] = ()

    @property
    def inferred(self) -> bool:
        """True for a row that could not be checked against real binaries."""
        return self.tested is None

    @property
    def bootstrap_symbols(self) -> tuple[str, ...]:
        """The names an executor of this row advertises in Setup, in a fixed order.

        For a tested row exactly what the real ``llvm-jitlink-executor`` advertises
        (tests/protocol/test_versions.py compares it with the captured Setup frames).
        """
        names = [
            b.DISPATCH_CTX_SYMBOL,
            b.DISPATCH_FN_SYMBOL,
            b.MEMORY_MANAGER_INSTANCE_SYMBOL,
            b.MEMORY_RESERVE.name,
        ]
        if self.memory_manager is MemoryManagerProtocol.FINALIZE:
            names += [b.MEMORY_FINALIZE.name, b.MEMORY_DEALLOCATE.name]
        else:
            names += [b.MEMORY_INITIALIZE.name, b.MEMORY_DEINITIALIZE.name, b.MEMORY_RELEASE.name]
        if ExecutorService.SHARED_MEMORY_MAPPER in self.services:
            names += [
                b.SHARED_MEMORY_MAPPER_INSTANCE_SYMBOL,
                b.SHARED_MEMORY_RESERVE.name,
                b.SHARED_MEMORY_INITIALIZE.name,
                b.SHARED_MEMORY_DEINITIALIZE.name,
                b.SHARED_MEMORY_RELEASE.name,
            ]
        names += [b.DYLIB_MANAGER_INSTANCE_SYMBOL, b.DYLIB_OPEN.name]
        names.append(
            b.DYLIB_RESOLVE.name
            if self.dylib_lookup is DylibLookup.RESOLVE
            else b.DYLIB_LOOKUP.name
        )
        names += [
            b.MEM_WRITE_UINT8S.name,
            b.MEM_WRITE_UINT16S.name,
            b.MEM_WRITE_UINT32S.name,
            b.MEM_WRITE_UINT64S.name,
        ]
        if ExecutorService.MEMORY_READS in self.services:
            names.append(b.MEM_WRITE_POINTERS.name)
        names.append(b.MEM_WRITE_BUFFERS.name)
        if ExecutorService.MEMORY_READS in self.services:
            names += [
                b.MEM_READ_UINT8S.name,
                b.MEM_READ_UINT16S.name,
                b.MEM_READ_UINT32S.name,
                b.MEM_READ_UINT64S.name,
                b.MEM_READ_POINTERS.name,
                b.MEM_READ_BUFFERS.name,
                b.MEM_READ_STRINGS.name,
            ]
        names.append(b.RUN_AS_MAIN.name)
        if ExecutorService.RUN_AS_VOID_INT in self.services:
            names += [b.RUN_AS_VOID.name, b.RUN_AS_INT.name]
        if EhFrameRegistration.PROCESS_LOOKUP in self.eh_frame:
            names += [b.REGISTER_EHFRAME_SECTION.name, b.DEREGISTER_EHFRAME_SECTION.name]
        if EhFrameRegistration.BOOTSTRAP_WRAPPER in self.eh_frame:
            names += [
                b.REGISTER_EHFRAME_SECTION_WRAPPER.name,
                b.DEREGISTER_EHFRAME_SECTION_WRAPPER.name,
            ]
        if EhFrameRegistration.ALLOC_ACTION in self.eh_frame:
            names += [b.REGISTER_EHFRAME_ALLOC_ACTION.name, b.DEREGISTER_EHFRAME_ALLOC_ACTION.name]
        if self.debug_objects is DebugObjectRegistration.ALLOC_ACTION:
            names.append(b.REGISTER_JITLOADER_GDB_ALLOC_ACTION.name)
        return tuple(names)

    @property
    def signatures(self) -> Mapping[str, WrapperSignature[Any]]:
        """Wrapper name -> this version's signature for it (`protocol.BOOTSTRAP_SIGNATURES`
        with this version's variants of the names whose meaning changed)."""
        table = dict(b.BOOTSTRAP_SIGNATURES)
        if self.dylib_lookup is DylibLookup.SYMBOL_DEFS:
            table[b.DYLIB_LOOKUP.name] = b.DYLIB_LOOKUP_SYMBOL_DEFS
        if self.debug_objects is DebugObjectRegistration.WRAPPER_RANGE_AUTO:
            table[b.REGISTER_JITLOADER_GDB_WRAPPER.name] = b.REGISTER_JITLOADER_GDB_WRAPPER_AUTO
        return MappingProxyType(table)

    @property
    def process_lookup_symbols(self) -> tuple[str, ...]:
        """The executor's own functions this row's controller looks up *in the process*
        (required lookups through the dylib manager), which an orcrt executor must answer."""
        names: list[str] = []
        if EhFrameRegistration.PROCESS_LOOKUP in self.eh_frame:
            names += [
                b.REGISTER_EHFRAME_SECTION_WRAPPER.name,
                b.DEREGISTER_EHFRAME_SECTION_WRAPPER.name,
            ]
        if self.debug_objects is not DebugObjectRegistration.ALLOC_ACTION:
            names.append(b.REGISTER_JITLOADER_GDB_WRAPPER.name)
        return tuple(names)


# The core every controller needs at setup: dispatch, run_as_main, the two managers.
def _core(memory: MemoryManagerProtocol, dylib: DylibLookup) -> tuple[str, ...]:
    core = [
        b.DISPATCH_CTX_SYMBOL,
        b.DISPATCH_FN_SYMBOL,
        b.RUN_AS_MAIN.name,
        b.DYLIB_MANAGER_INSTANCE_SYMBOL,
        b.DYLIB_OPEN.name,
        b.DYLIB_RESOLVE.name if dylib is DylibLookup.RESOLVE else b.DYLIB_LOOKUP.name,
        b.MEMORY_MANAGER_INSTANCE_SYMBOL,
        b.MEMORY_RESERVE.name,
    ]
    if memory is MemoryManagerProtocol.FINALIZE:
        core += [b.MEMORY_FINALIZE.name, b.MEMORY_DEALLOCATE.name]
    else:
        core += [b.MEMORY_INITIALIZE.name, b.MEMORY_RELEASE.name]
    return tuple(core)


_FINALIZE: Final = MemoryManagerProtocol.FINALIZE
_RUN_VOID_INT: Final = (b.RUN_AS_VOID.name, b.RUN_AS_INT.name)
_BOOTSTRAP_EH: Final = (
    b.REGISTER_EHFRAME_SECTION_WRAPPER.name,
    b.DEREGISTER_EHFRAME_SECTION_WRAPPER.name,
)
_NO_MAP: Final = SetupLayout.WITHOUT_MAP
_MAP: Final = SetupLayout.WITH_MAP
_SHM: Final = ExecutorService.SHARED_MEMORY_MAPPER
_VOID_INT: Final = ExecutorService.RUN_AS_VOID_INT
_READS: Final = ExecutorService.MEMORY_READS
_LOOKUP_EH: Final = EhFrameRegistration.PROCESS_LOOKUP
_WRAPPER_EH: Final = EhFrameRegistration.BOOTSTRAP_WRAPPER
_ACTION_EH: Final = EhFrameRegistration.ALLOC_ACTION

_ROWS: Final = (
    LLVMProtocol(
        major=14,
        tested="14.0.6",
        setup_layout=_NO_MAP,
        memory_manager=_FINALIZE,
        dylib_lookup=DylibLookup.ADDRESSES,
        eh_frame=frozenset({_LOOKUP_EH}),
        debug_objects=DebugObjectRegistration.WRAPPER_RANGE,
        orc_runtime=OrcRuntimePlatform.DIRECT_CALLS,
        services=frozenset(),
        segment_lifetime_bit=False,
        required=_core(_FINALIZE, DylibLookup.ADDRESSES),
    ),
    LLVMProtocol(
        major=15,
        tested="15.0.6",
        setup_layout=_NO_MAP,
        memory_manager=_FINALIZE,
        dylib_lookup=DylibLookup.ADDRESSES,
        eh_frame=frozenset({_LOOKUP_EH}),
        debug_objects=DebugObjectRegistration.WRAPPER_RANGE,
        orc_runtime=OrcRuntimePlatform.DIRECT_CALLS,
        services=frozenset(),
        segment_lifetime_bit=False,
        required=_core(_FINALIZE, DylibLookup.ADDRESSES),
    ),
    LLVMProtocol(
        major=16,
        tested="16.0.6",
        setup_layout=_NO_MAP,
        memory_manager=_FINALIZE,
        dylib_lookup=DylibLookup.ADDRESSES,
        eh_frame=frozenset({_LOOKUP_EH}),
        debug_objects=DebugObjectRegistration.WRAPPER_RANGE,
        orc_runtime=OrcRuntimePlatform.DIRECT_CALLS,
        services=frozenset({_SHM, _VOID_INT}),
        segment_lifetime_bit=True,
        required=_core(_FINALIZE, DylibLookup.ADDRESSES) + _RUN_VOID_INT,
    ),
    # 17: 16's lookups with 19's Setup and wrappers; where the change could have landed in 17
    # or later, both ways are offered (eh-frame), or the handler takes both (GDB wrapper).
    LLVMProtocol(
        major=17,
        tested=None,
        setup_layout=_MAP,
        memory_manager=_FINALIZE,
        dylib_lookup=DylibLookup.ADDRESSES,
        eh_frame=frozenset({_LOOKUP_EH, _WRAPPER_EH}),
        debug_objects=DebugObjectRegistration.WRAPPER_RANGE_AUTO,
        orc_runtime=OrcRuntimePlatform.DIRECT_CALLS,
        services=frozenset({_SHM, _VOID_INT}),
        segment_lifetime_bit=True,
        required=_core(_FINALIZE, DylibLookup.ADDRESSES) + _RUN_VOID_INT,
    ),
    LLVMProtocol(
        major=18,
        tested=None,
        setup_layout=_MAP,
        memory_manager=_FINALIZE,
        dylib_lookup=DylibLookup.SYMBOL_DEFS,
        eh_frame=frozenset({_LOOKUP_EH, _WRAPPER_EH}),
        debug_objects=DebugObjectRegistration.WRAPPER_RANGE_AUTO,
        orc_runtime=OrcRuntimePlatform.DIRECT_CALLS,
        services=frozenset({_SHM, _VOID_INT}),
        segment_lifetime_bit=True,
        required=_core(_FINALIZE, DylibLookup.SYMBOL_DEFS) + _RUN_VOID_INT,
    ),
    LLVMProtocol(
        major=19,
        tested="19.1.7",
        setup_layout=_MAP,
        memory_manager=_FINALIZE,
        dylib_lookup=DylibLookup.SYMBOL_DEFS,
        eh_frame=frozenset({_WRAPPER_EH}),
        debug_objects=DebugObjectRegistration.WRAPPER_RANGE_AUTO,
        orc_runtime=OrcRuntimePlatform.DIRECT_CALLS,
        services=frozenset({_SHM, _VOID_INT}),
        segment_lifetime_bit=True,
        required=_core(_FINALIZE, DylibLookup.SYMBOL_DEFS) + _RUN_VOID_INT,
        session_required=_BOOTSTRAP_EH,
    ),
    LLVMProtocol(
        major=20,
        tested=None,
        setup_layout=_MAP,
        memory_manager=_FINALIZE,
        dylib_lookup=DylibLookup.SYMBOL_DEFS,
        eh_frame=frozenset({_WRAPPER_EH}),
        debug_objects=DebugObjectRegistration.WRAPPER_RANGE_AUTO,
        orc_runtime=OrcRuntimePlatform.ALLOC_ACTIONS,
        services=frozenset({_SHM, _VOID_INT, _READS}),
        segment_lifetime_bit=True,
        required=_core(_FINALIZE, DylibLookup.SYMBOL_DEFS) + _RUN_VOID_INT,
    ),
    LLVMProtocol(
        major=21,
        tested=None,
        setup_layout=_MAP,
        memory_manager=_FINALIZE,
        dylib_lookup=DylibLookup.SYMBOL_DEFS,
        eh_frame=frozenset({_WRAPPER_EH, _ACTION_EH}),
        debug_objects=DebugObjectRegistration.WRAPPER_RANGE_AUTO,
        orc_runtime=OrcRuntimePlatform.ALLOC_ACTIONS,
        services=frozenset({_SHM, _VOID_INT, _READS}),
        segment_lifetime_bit=True,
        required=_core(_FINALIZE, DylibLookup.SYMBOL_DEFS) + _RUN_VOID_INT,
    ),
    LLVMProtocol(
        major=22,
        tested="22.1.8",
        setup_layout=_MAP,
        memory_manager=MemoryManagerProtocol.INITIALIZE,
        dylib_lookup=DylibLookup.RESOLVE,
        eh_frame=frozenset({_ACTION_EH}),
        debug_objects=DebugObjectRegistration.ALLOC_ACTION,
        orc_runtime=OrcRuntimePlatform.ALLOC_ACTIONS,
        services=frozenset({_SHM, _VOID_INT, _READS}),
        # 22's EPCGenericMemoryAccess is built at setup: the memory wrappers are needed too
        # (probe_required.py; not deinitialize, read_pointers or the shared-memory mapper).
        segment_lifetime_bit=True,
        required=_core(MemoryManagerProtocol.INITIALIZE, DylibLookup.RESOLVE)
        + _RUN_VOID_INT
        + (
            b.MEM_WRITE_UINT8S.name,
            b.MEM_WRITE_UINT16S.name,
            b.MEM_WRITE_UINT32S.name,
            b.MEM_WRITE_UINT64S.name,
            b.MEM_WRITE_BUFFERS.name,
            b.MEM_WRITE_POINTERS.name,
            b.MEM_READ_UINT8S.name,
            b.MEM_READ_UINT16S.name,
            b.MEM_READ_UINT32S.name,
            b.MEM_READ_UINT64S.name,
            b.MEM_READ_BUFFERS.name,
            b.MEM_READ_STRINGS.name,
        ),
        session_required=(
            b.REGISTER_EHFRAME_ALLOC_ACTION.name,
            b.DEREGISTER_EHFRAME_ALLOC_ACTION.name,
        ),
    ),
)

LLVM_PROTOCOLS: Final[Mapping[int, LLVMProtocol]] = MappingProxyType(
    {row.major: row for row in _ROWS}
)
"""Every supported LLVM major -> its protocol row (read-only), oldest first."""

SUPPORTED_LLVM_MAJORS: Final[tuple[int, ...]] = tuple(LLVM_PROTOCOLS)
"""The supported majors, ascending: 14 through 22."""


def supported_majors_text() -> str:
    """``"14-22 (tested: 14, 15, 16, 19, 22; inferred: 17, 18, 20, 21)"``, for messages."""
    tested = ", ".join(str(r.major) for r in _ROWS if not r.inferred)
    inferred = ", ".join(str(r.major) for r in _ROWS if r.inferred)
    return (
        f"{SUPPORTED_LLVM_MAJORS[0]}-{SUPPORTED_LLVM_MAJORS[-1]} "
        f"(tested: {tested}; inferred: {inferred})"
    )


def llvm_protocol(major: int) -> LLVMProtocol:
    """The protocol row of LLVM ``major``. Pure; any thread.

    Raises:
        ValueError: ``major`` is not supported; the message lists what is.
    """
    try:
        return LLVM_PROTOCOLS[major]
    except (KeyError, TypeError):
        raise ValueError(
            f"LLVM {major} is not supported: orcrt speaks the SimpleRemoteEPC protocol of "
            f"LLVM {supported_majors_text()}"
        ) from None


def recognise_llvm_protocol(info: ExecutorInfo, layout: SetupLayout) -> LLVMProtocol:
    """The row an executor's Setup (decoded in ``layout``) was made for. Pure; any thread.

    For a controller that was not told the version: among the rows of that layout whose
    required symbols are all present, the oldest one whose advertised set is exactly the
    Setup's (14 and 15 speak alike, so a 15 executor is spoken to as 14), else the one sharing
    the most names with it. If no row's requirements are met, the row missing the fewest, so
    that checking its requirements names what is missing.
    """
    present = set(info.bootstrap_symbols)
    rows = [row for row in _ROWS if row.setup_layout is layout]

    def missing(row: LLVMProtocol) -> int:
        return sum(name not in present for name in row.required)

    complete = [row for row in rows if missing(row) == 0]
    if not complete:
        return min(rows, key=missing)
    for row in complete:
        if set(row.bootstrap_symbols) == present:
            return row
    return max(complete, key=lambda row: (len(present & set(row.bootstrap_symbols)), -row.major))
