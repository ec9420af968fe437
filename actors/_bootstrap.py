"""The executor's bootstrap services: the wrapper functions an LLVM controller expects.

`install_bootstrap` spawns the memory manager and the dylib resolver, registers every bootstrap
wrapper of the LLVM version being served (simple-remote-epc.md §4.1, §7) as a Python wrapper
function of the Session, and returns the name -> address table that goes into Setup.

How each wrapper runs:

| wrappers                                  | where                          | why                          |
|-------------------------------------------|--------------------------------|------------------------------|
| memory manager, dylib manager             | on the loop, asking the actor  | state owned by those actors  |
| memory reads and writes                   | on the loop, inline            | checked copies, microseconds |
| run_as_main / run_as_void / run_as_int    | on the thread-pool dispatcher  | JIT'd code may block         |
| eh-frame and debugger registration        | asking the memory manager      | it owns the registrations    |

Errors become values where the result type can carry them (``SPSError``/``SPSExpected``, so
the controller prints the message, §5); elsewhere they are out-of-band errors. The shared-memory
mapper of LLVM 22 (``-use-memmgr=shared``) is not offered, so a controller asking for it fails
at once with a clear "symbol not found" instead of a broken call.
"""

from __future__ import annotations

import ctypes
import functools
from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING, Any

import attrs

import native
import protocol
from protocol import ExecutorSymbolDef, Failure, WrapperSignature

from ._dylib_manager import DylibResolver, LookupSymbols, OpenLibrary
from ._errors import ActorError
from ._memory_manager import (
    Deallocate,
    Deinitialize,
    Finalize,
    Initialize,
    MemoryManager,
    RegisterDebugObject,
    RegisterEhFrame,
    Release,
    Reserve,
)
from ._session import CheckNativeTarget

if TYPE_CHECKING:
    from ._session import Session

__all__ = ["SUPPORTED_LLVM_VERSIONS", "BootstrapOptions", "ExecutorServices", "install_bootstrap"]

SUPPORTED_LLVM_VERSIONS = (14, 22)
"""The LLVM majors whose controllers orcrt serves (their bootstrap sets were checked on wire)."""

# Instance tokens: opaque values the controller passes back; never called, never dereferenced.
_MEMORY_INSTANCE = 0xFFFF_FE00_0000_1000
_DYLIB_INSTANCE = 0xFFFF_FE00_0000_2000

_CSTRING_LIMIT = 1 << 20  # read_strings: longest C string read (LLVM reads to the NUL)


@attrs.frozen(kw_only=True)
class BootstrapOptions:
    """What the executor offers: the LLVM major served and whether native calls are guarded."""

    llvm_major: int
    guarded: bool = True


@attrs.frozen(kw_only=True)
class ExecutorServices:
    """What `install_bootstrap` set up: the Setup symbol table and the native dispatch entry."""

    symbols: dict[str, int]
    dispatch: native.DispatchContext
    memory: MemoryManager
    dylibs: DylibResolver


def _failure_or_raise(signature: WrapperSignature[Any], error: Exception) -> bytes:
    """Encode ``error`` as the signature's error value, or re-raise it as out-of-band."""
    try:
        return signature.encode_result(Failure(str(error) or type(error).__name__))
    except (protocol.EncodeError, TypeError, ValueError):
        raise error from None


_Handled = (
    protocol.ProtocolError,
    native.NativeError,
    ActorError,
    ValueError,
    OSError,
    RuntimeError,
)


def _sps_async(
    signature: WrapperSignature[Any], handler: Callable[..., Awaitable[Any]]
) -> Callable[[bytes], Awaitable[bytes]]:
    """An async bytes -> bytes wrapper: decode, await ``handler(*args)``, encode."""

    async def run(data: bytes) -> bytes:
        try:
            result = await handler(*signature.decode_args(data))
        except _Handled as exc:
            return _failure_or_raise(signature, exc)
        return signature.encode_result(result)

    run.__name__ = signature.name
    return run


def _sps_sync(
    signature: WrapperSignature[Any], handler: Callable[..., Any]
) -> Callable[[bytes], bytes]:
    """A sync bytes -> bytes wrapper: decode, ``handler(*args)``, encode (runs inline)."""

    def run(data: bytes) -> bytes:
        try:
            result = handler(*signature.decode_args(data))
        except _Handled as exc:
            return _failure_or_raise(signature, exc)
        return signature.encode_result(result)

    run.__name__ = signature.name
    return run


def _check_instance(expected: int, got: int, what: str) -> None:
    if got != expected:
        raise ValueError(f"unknown {what} instance {got:#x}")


async def install_bootstrap(session: Session, options: BootstrapOptions) -> ExecutorServices:
    """Spawn the executor's resource managers and register its bootstrap wrappers.

    Called once per Session, before the controller access is attached.

    Raises:
        ValueError: ``options.llvm_major`` is not one of `SUPPORTED_LLVM_VERSIONS`.
    """
    major = options.llvm_major
    if major not in SUPPORTED_LLVM_VERSIONS:
        supported = " and ".join(map(str, SUPPORTED_LLVM_VERSIONS))
        raise ValueError(f"LLVM {major} is not supported (orcrt serves LLVM {supported})")
    memory = MemoryManager(session, guarded=options.guarded)
    dylibs = DylibResolver(session)
    symbols: dict[str, int] = {}
    libc = ctypes.CDLL(None)
    fflush = libc.fflush
    fflush.argtypes = [ctypes.c_void_p]

    async def add(signature: WrapperSignature[Any], fn: Callable[[bytes], Any], **kw: Any) -> int:
        address = await session.register_wrapper(fn, name=signature.name, **kw)
        symbols[signature.name] = address
        return address

    def mem(message: Any) -> Awaitable[Any]:
        return memory.ref.ask(message)

    # -- memory manager (§7.2) ----------------------------------------------------------------
    async def reserve(inst: int, size: int) -> int:
        _check_instance(_MEMORY_INSTANCE, inst, "memory manager")
        return int(await mem(Reserve(size=size)))

    async def finalize(inst: int, request: protocol.FinalizeRequest) -> None:
        _check_instance(_MEMORY_INSTANCE, inst, "memory manager")
        await mem(Finalize(request=request))

    async def deallocate(inst: int, bases: tuple[int, ...]) -> None:
        _check_instance(_MEMORY_INSTANCE, inst, "memory manager")
        await mem(Deallocate(bases=tuple(bases)))

    async def initialize(inst: int, request: protocol.FinalizeRequest) -> int:
        _check_instance(_MEMORY_INSTANCE, inst, "memory manager")
        return int(await mem(Initialize(request=request)))

    async def deinitialize(inst: int, keys: tuple[int, ...]) -> None:
        _check_instance(_MEMORY_INSTANCE, inst, "memory manager")
        await mem(Deinitialize(keys=tuple(keys)))

    async def release(inst: int, bases: tuple[int, ...]) -> None:
        _check_instance(_MEMORY_INSTANCE, inst, "memory manager")
        await mem(Release(bases=tuple(bases)))

    symbols[protocol.MEMORY_MANAGER_INSTANCE_SYMBOL] = _MEMORY_INSTANCE
    await add(protocol.MEMORY_RESERVE, _sps_async(protocol.MEMORY_RESERVE, reserve))
    if major == 14:
        await add(protocol.MEMORY_FINALIZE, _sps_async(protocol.MEMORY_FINALIZE, finalize))
        await add(protocol.MEMORY_DEALLOCATE, _sps_async(protocol.MEMORY_DEALLOCATE, deallocate))
    else:
        await add(protocol.MEMORY_INITIALIZE, _sps_async(protocol.MEMORY_INITIALIZE, initialize))
        await add(
            protocol.MEMORY_DEINITIALIZE, _sps_async(protocol.MEMORY_DEINITIALIZE, deinitialize)
        )
        await add(protocol.MEMORY_RELEASE, _sps_async(protocol.MEMORY_RELEASE, release))

    # -- dylib manager (§7.1) ----------------------------------------------------------------
    async def open_library(inst: int, path: str, mode: int) -> int:
        _check_instance(_DYLIB_INSTANCE, inst, "dylib manager")
        handle: int = await dylibs.ref.ask(OpenLibrary(path=path, mode=mode))
        return handle

    async def find(handle: int, lookups: tuple[protocol.SymbolLookup, ...]) -> list[int]:
        found = await dylibs.ref.ask(
            LookupSymbols(handle=handle, names=tuple(item.name for item in lookups))
        )
        missing = [
            item.name
            for item, addr in zip(lookups, found, strict=True)
            if not addr and item.required
        ]
        if missing:
            raise ValueError(f"Missing definition for {missing[0]}")
        return [addr or 0 for addr in found]

    async def lookup14(
        inst: int, handle: int, lookups: tuple[protocol.SymbolLookup, ...]
    ) -> list[int]:
        _check_instance(_DYLIB_INSTANCE, inst, "dylib manager")
        return await find(handle, lookups)

    async def resolve22(
        handle: int, lookups: tuple[protocol.SymbolLookup, ...]
    ) -> list[ExecutorSymbolDef]:
        # 22.1.8 answers a missing weak symbol with a present entry at address 0 (traces).
        return [ExecutorSymbolDef(addr=addr) for addr in await find(handle, lookups)]

    symbols[protocol.DYLIB_MANAGER_INSTANCE_SYMBOL] = _DYLIB_INSTANCE
    await add(protocol.DYLIB_OPEN, _sps_async(protocol.DYLIB_OPEN, open_library))
    if major == 14:
        await add(protocol.DYLIB_LOOKUP, _sps_async(protocol.DYLIB_LOOKUP, lookup14))
    else:
        await add(protocol.DYLIB_RESOLVE, _sps_async(protocol.DYLIB_RESOLVE, resolve22))

    # -- memory access (§7.5): checked copies, so a bad address is an error, not a crash ----
    writes = {
        protocol.MEM_WRITE_UINT8S: 1,
        protocol.MEM_WRITE_UINT16S: 2,
        protocol.MEM_WRITE_UINT32S: 4,
        protocol.MEM_WRITE_UINT64S: 8,
    }
    if major == 22:
        writes[protocol.MEM_WRITE_POINTERS] = 8
    write_signature: WrapperSignature[Any]
    for write_signature, width in writes.items():
        write = functools.partial(_write_uints, width)
        await add(write_signature, _sps_sync(write_signature, write))
    await add(protocol.MEM_WRITE_BUFFERS, _sps_sync(protocol.MEM_WRITE_BUFFERS, _write_buffers))
    if major == 22:
        reads = {
            protocol.MEM_READ_UINT8S: 1,
            protocol.MEM_READ_UINT16S: 2,
            protocol.MEM_READ_UINT32S: 4,
            protocol.MEM_READ_UINT64S: 8,
            protocol.MEM_READ_POINTERS: 8,
        }
        for read_signature, width in reads.items():
            read = functools.partial(_read_uints, width)
            await add(read_signature, _sps_sync(read_signature, read))
        await add(protocol.MEM_READ_BUFFERS, _sps_sync(protocol.MEM_READ_BUFFERS, _read_buffers))
        await add(protocol.MEM_READ_STRINGS, _sps_sync(protocol.MEM_READ_STRINGS, _read_strings))

    # -- running code (§7.6): on worker threads, under the dispatcher's execution scope -------
    def guarded_target(address: int) -> None:
        refusal = session._ref.ask_threadsafe(CheckNativeTarget(address=address)).result(30)
        if refusal is not None:
            raise ValueError(refusal)

    def run_as_main(address: int, args: tuple[str, ...]) -> int:
        guarded_target(address)
        try:
            return native.run_as_main(address, [a.encode("utf-8", "surrogateescape") for a in args])
        finally:
            fflush(None)  # JIT'd output reaches the terminal before the controller's next step

    def run_as_void(address: int) -> int:
        guarded_target(address)
        try:
            native.run_as_void(address)
        finally:
            fflush(None)
        return 0

    def run_as_int(address: int, argument: int) -> int:
        guarded_target(address)
        try:
            return native.run_as_int(address, argument)
        finally:
            fflush(None)

    await add(protocol.RUN_AS_MAIN, _sps_sync(protocol.RUN_AS_MAIN, run_as_main), blocking=True)
    if major == 22:
        await add(protocol.RUN_AS_VOID, _sps_sync(protocol.RUN_AS_VOID, run_as_void), blocking=True)
        await add(protocol.RUN_AS_INT, _sps_sync(protocol.RUN_AS_INT, run_as_int), blocking=True)

    # -- eh-frames and the debugger (§7.3) -------------------------------------------------
    async def register_section(section: protocol.ExecutorAddrRange) -> None:
        await mem(RegisterEhFrame(start=section.start, end=section.end))

    async def deregister_section(section: protocol.ExecutorAddrRange) -> None:
        await mem(RegisterEhFrame(start=section.start, end=section.end, register=False))

    async def register_debug_object(section: protocol.ExecutorAddrRange) -> None:
        await mem(RegisterDebugObject(start=section.start, end=section.end))

    if major == 14:
        # 14 calls these directly after finalize, and also looks them up by the names of the
        # real executor's exported functions, which must resolve to the same wrappers.
        register = await add(
            protocol.REGISTER_EHFRAME_SECTION,
            _sps_async(protocol.REGISTER_EHFRAME_SECTION, register_section),
        )
        deregister = await add(
            protocol.DEREGISTER_EHFRAME_SECTION,
            _sps_async(protocol.DEREGISTER_EHFRAME_SECTION, deregister_section),
        )
        gdb = await session.register_wrapper(
            _sps_async(protocol.REGISTER_JITLOADER_GDB_WRAPPER, register_debug_object),
            name=protocol.REGISTER_JITLOADER_GDB_WRAPPER.name,
        )
        dylibs.add_own_symbol(protocol.REGISTER_EHFRAME_SECTION_WRAPPER.name, register)
        dylibs.add_own_symbol(protocol.DEREGISTER_EHFRAME_SECTION_WRAPPER.name, deregister)
        dylibs.add_own_symbol(protocol.REGISTER_JITLOADER_GDB_WRAPPER.name, gdb)
    else:
        # 22 passes these as alloc actions inside initialize; the memory manager runs them in
        # Python on its own task. They are registered as wrappers too, so the addresses are
        # unique and a direct call works as well (through the memory manager's mailbox).
        async def register_debug_object_22(
            section: protocol.ExecutorAddrRange, auto_register: bool
        ) -> None:
            await register_debug_object(section)

        action_signature: WrapperSignature[Any]
        for action_signature, handler, action in (
            (
                protocol.REGISTER_EHFRAME_ALLOC_ACTION,
                register_section,
                memory.register_eh_frame_action,
            ),
            (
                protocol.DEREGISTER_EHFRAME_ALLOC_ACTION,
                deregister_section,
                memory.deregister_eh_frame_action,
            ),
            (
                protocol.REGISTER_JITLOADER_GDB_ALLOC_ACTION,
                register_debug_object_22,
                memory.register_debug_object_action,
            ),
        ):
            address = await add(action_signature, _sps_async(action_signature, handler))
            memory.add_action_token(address, action)

    # -- calls from JIT'd code to the controller (§8) ---------------------------------------
    def dispatch(tag: int, data: bytes) -> bytes:
        return session.call_controller_blocking(tag, data)

    dispatch_context = native.DispatchContext(dispatch)
    symbols[protocol.DISPATCH_CTX_SYMBOL] = dispatch_context.ctx_address
    symbols[protocol.DISPATCH_FN_SYMBOL] = dispatch_context.fn_address
    session.add_on_shutdown(dispatch_context.close)

    await session.add_resource_manager(memory, name=f"{session.name}.memory")
    await session.add_resource_manager(dylibs, name=f"{session.name}.dylibs")
    return ExecutorServices(
        symbols=symbols, dispatch=dispatch_context, memory=memory, dylibs=dylibs
    )


def _write_uints(width: int, pairs: tuple[tuple[int, int], ...]) -> None:
    native.write_uints(width, pairs, checked=True)


def _write_buffers(pairs: tuple[tuple[int, bytes], ...]) -> None:
    native.write_buffers(pairs, checked=True)


def _read_uints(width: int, addresses: tuple[int, ...]) -> list[int]:
    return native.read_uints(width, addresses, checked=True)


def _read_buffers(ranges: tuple[protocol.ExecutorAddrRange, ...]) -> list[bytes]:
    return native.read_buffers([(r.start, r.size) for r in ranges], checked=True)


def _read_strings(addresses: tuple[int, ...]) -> list[str]:
    raw = native.read_cstrings(addresses, limit=_CSTRING_LIMIT, checked=True)
    return [item.decode("utf-8", "surrogateescape") for item in raw]
