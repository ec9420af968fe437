"""The executor's bootstrap services: the wrapper functions an LLVM controller expects.

`install_bootstrap` spawns the memory manager and the dylib resolver, registers every bootstrap
wrapper of the LLVM version being served as a Python wrapper function of the Session, and
returns the name -> address table that goes into Setup. What a version needs (which wrappers,
which variant of each) is its row of the version table, `protocol.LLVM_PROTOCOLS`; this module
only maps each variant to the service that implements it.

How each wrapper runs:

| wrappers                                  | where                             | why                          |
|-------------------------------------------|-----------------------------------|------------------------------|
| memory manager, dylib manager             | asking the actor (inline if idle) | state owned by those actors  |
| memory reads and writes                   | on the loop, inline               | checked copies, microseconds |
| run_as_main / run_as_void / run_as_int    | on the thread-pool dispatcher     | JIT'd code may block         |
| eh-frame and debugger registration        | asking the memory manager         | it owns the registrations    |

Errors become values where the result type can carry them (``SPSError``/``SPSExpected``, so
the controller prints the message, §5); elsewhere they are out-of-band errors. The shared-memory
mapper of LLVM 16+ (``-use-memmgr=shared``) is not offered, so a controller asking for it fails
at once with a clear "symbol not found" instead of a broken call.
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import TYPE_CHECKING, Any, Final, assert_never

import native
import protocol
from protocol import ExecutorSymbolDef, Failure, Frozen, WrapperSignature

from ._actor import PENDING, ActorRef, Ask
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
from ._wrappers import (
    OutOfBandError,
    ReturnFn,
    WrapperFunction,
    WrapperResult,
    describe_exception,
)

if TYPE_CHECKING:
    from ._session import Session

__all__ = ["SUPPORTED_LLVM_VERSIONS", "BootstrapOptions", "ExecutorServices", "install_bootstrap"]

SUPPORTED_LLVM_VERSIONS = protocol.SUPPORTED_LLVM_MAJORS
"""The LLVM majors whose controllers orcrt serves: the rows of `protocol.LLVM_PROTOCOLS`."""

# Instance tokens: opaque values the controller passes back; never called, never dereferenced.
_MEMORY_INSTANCE = 0xFFFF_FE00_0000_1000
_DYLIB_INSTANCE = 0xFFFF_FE00_0000_2000

_CSTRING_LIMIT = 1 << 20  # read_strings: longest C string read (LLVM reads to the NUL)


class BootstrapOptions(Frozen):
    """What the executor offers: the LLVM major served and whether native calls are guarded."""

    _fields = ("llvm_major", "guarded")
    __slots__ = _fields

    def __init__(self, *, llvm_major: int, guarded: bool = True) -> None:
        self.llvm_major: Final = llvm_major
        self.guarded: Final = guarded


class ExecutorServices(Frozen):
    """What `install_bootstrap` set up: the Setup symbol table and the native dispatch entry."""

    _fields = ("symbols", "dispatch", "memory", "dylibs")
    __slots__ = _fields

    def __init__(
        self,
        *,
        symbols: dict[str, int],
        dispatch: native.DispatchContext,
        memory: MemoryManager,
        dylibs: DylibResolver,
    ) -> None:
        self.symbols: Final = symbols
        self.dispatch: Final = dispatch
        self.memory: Final = memory
        self.dylibs: Final = dylibs


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


def _error_result(signature: WrapperSignature[Any], error: BaseException) -> WrapperResult:
    """``error`` as the signature's error value if it has one, else as an out-of-band error."""
    try:
        return signature.encode_result(Failure(str(error) or type(error).__name__))
    except (protocol.EncodeError, TypeError, ValueError):
        return OutOfBandError(describe_exception(error))


def _sps_ask(
    signature: WrapperSignature[Any],
    prepare: Callable[..., tuple[ActorRef[Any], Ask[Any]]],
    finish: Callable[[Any], Any] = lambda value: value,
) -> WrapperFunction:
    """A raw wrapper that decodes its arguments, asks an actor, and encodes the reply.

    ``prepare(*args)`` names the actor and the request (or raises for bad arguments);
    ``finish(reply)`` turns the reply into the result value. An idle actor answers inline
    (`ActorRef.ask_inline`) and the result is returned at once; otherwise the reply comes back
    through a callback, so no task is created per call and the wrapper returns at once.
    """
    decode_args = signature.decode_args
    encode_result = signature.encode_result

    def run(session: Session, call_id: int, return_fn: ReturnFn, data: bytes) -> None:
        try:
            ref, message = prepare(*decode_args(data))
        except _Handled as exc:
            return_fn(session, call_id, _error_result(signature, exc))
            return

        def done(reply: Any, error: BaseException | None) -> None:
            if error is None:
                try:
                    return_fn(session, call_id, encode_result(finish(reply)))
                    return
                except _Handled as exc:
                    error = exc
            return_fn(session, call_id, _error_result(signature, error))

        try:
            reply = ref.ask_inline(message, done)
        except Exception as exc:  # the handler's error, as ask_callback would deliver it
            return_fn(session, call_id, _error_result(signature, exc))
            return
        if reply is not PENDING:
            done(reply, None)

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
        ValueError: ``options.llvm_major`` is not one of `SUPPORTED_LLVM_VERSIONS` (the message
            lists them).
    """
    row = protocol.llvm_protocol(options.llvm_major)
    memory = MemoryManager(session, guarded=options.guarded)
    dylibs = DylibResolver(session)
    symbols: dict[str, int] = {}

    async def add(signature: WrapperSignature[Any], fn: Callable[[bytes], Any], **kw: Any) -> int:
        address = await session.register_wrapper(fn, name=signature.name, **kw)
        symbols[signature.name] = address
        return address

    async def add_raw(
        signature: WrapperSignature[Any], fn: WrapperFunction, *, advertise: bool = True
    ) -> int:
        address = await session.register_raw_wrapper(fn, name=signature.name, sync=True)
        if advertise:
            symbols[signature.name] = address
        return address

    def to_memory(make: Callable[[Any], Ask[Any]]) -> Callable[[int, Any], Any]:
        """``prepare`` for a memory wrapper: check the instance, build the request."""

        def prepare(instance: int, argument: Any) -> tuple[ActorRef[Any], Ask[Any]]:
            if instance != _MEMORY_INSTANCE:
                _check_instance(_MEMORY_INSTANCE, instance, "memory manager")  # raises
            return memory.ref, make(argument)

        return prepare

    # -- memory manager (§7.2): asks to the memory manager actor ------------------------------
    symbols[protocol.MEMORY_MANAGER_INSTANCE_SYMBOL] = _MEMORY_INSTANCE
    await add_raw(
        protocol.MEMORY_RESERVE,
        _sps_ask(protocol.MEMORY_RESERVE, to_memory(lambda size: Reserve(size=size))),
    )
    if row.memory_manager is protocol.MemoryManagerProtocol.FINALIZE:
        await add_raw(
            protocol.MEMORY_FINALIZE,
            _sps_ask(
                protocol.MEMORY_FINALIZE, to_memory(lambda request: Finalize(request=request))
            ),
        )
        await add_raw(
            protocol.MEMORY_DEALLOCATE,
            _sps_ask(
                protocol.MEMORY_DEALLOCATE,
                to_memory(lambda bases: Deallocate(bases=tuple(bases))),
            ),
        )
    else:
        await add_raw(
            protocol.MEMORY_INITIALIZE,
            _sps_ask(
                protocol.MEMORY_INITIALIZE, to_memory(lambda request: Initialize(request=request))
            ),
        )
        await add_raw(
            protocol.MEMORY_DEINITIALIZE,
            _sps_ask(
                protocol.MEMORY_DEINITIALIZE,
                to_memory(lambda keys: Deinitialize(keys=tuple(keys))),
            ),
        )
        await add_raw(
            protocol.MEMORY_RELEASE,
            _sps_ask(protocol.MEMORY_RELEASE, to_memory(lambda bases: Release(bases=tuple(bases)))),
        )

    # -- dylib manager (§7.1): asks to the dylib resolver actor -------------------------------
    def open_library(inst: int, path: str, mode: int) -> tuple[ActorRef[Any], Ask[Any]]:
        _check_instance(_DYLIB_INSTANCE, inst, "dylib manager")
        return dylibs.ref, OpenLibrary(path=path, mode=mode)

    def find(
        handle: int, lookups: tuple[protocol.SymbolLookup, ...]
    ) -> tuple[ActorRef[Any], Ask[Any]]:
        names = tuple(item.name for item in lookups)
        return dylibs.ref, LookupSymbols(handle=handle, names=names, required=_required(lookups))

    def lookup(
        inst: int, handle: int, lookups: tuple[protocol.SymbolLookup, ...]
    ) -> tuple[ActorRef[Any], Ask[Any]]:
        _check_instance(_DYLIB_INSTANCE, inst, "dylib manager")
        return find(handle, lookups)

    symbols[protocol.DYLIB_MANAGER_INSTANCE_SYMBOL] = _DYLIB_INSTANCE
    await add_raw(protocol.DYLIB_OPEN, _sps_ask(protocol.DYLIB_OPEN, open_library))
    match row.dylib_lookup:
        case protocol.DylibLookup.ADDRESSES:
            await add_raw(
                protocol.DYLIB_LOOKUP, _sps_ask(protocol.DYLIB_LOOKUP, lookup, _addresses)
            )
        case protocol.DylibLookup.SYMBOL_DEFS:
            # 19.1.7 answers a missing weak symbol with (address 0, flags 0x10) (traces).
            signature = protocol.DYLIB_LOOKUP_SYMBOL_DEFS
            await add_raw(signature, _sps_ask(signature, lookup, _symbol_defs))
        case protocol.DylibLookup.RESOLVE:
            # 22.1.8 answers a missing weak symbol with a present entry at address 0 (traces).
            await add_raw(
                protocol.DYLIB_RESOLVE, _sps_ask(protocol.DYLIB_RESOLVE, find, _definitions)
            )
        case _:
            assert_never(row.dylib_lookup)

    # -- memory access (§7.5): checked copies, so a bad address is an error, not a crash ----
    reads_too = protocol.ExecutorService.MEMORY_READS in row.services
    writes = {
        protocol.MEM_WRITE_UINT8S: 1,
        protocol.MEM_WRITE_UINT16S: 2,
        protocol.MEM_WRITE_UINT32S: 4,
        protocol.MEM_WRITE_UINT64S: 8,
    }
    if reads_too:
        writes[protocol.MEM_WRITE_POINTERS] = 8
    write_signature: WrapperSignature[Any]
    for write_signature, width in writes.items():
        write = functools.partial(_write_uints, width)
        await add(write_signature, _sps_sync(write_signature, write))
    await add(protocol.MEM_WRITE_BUFFERS, _sps_sync(protocol.MEM_WRITE_BUFFERS, _write_buffers))
    if reads_too:
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
            # JIT'd output (C++ streams, then C stdio: exit's order) is out when main returns.
            native.flush_standard_streams()

    def run_as_void(address: int) -> int:
        guarded_target(address)
        try:
            native.run_as_void(address)
        finally:
            native.flush_standard_streams()
        return 0

    def run_as_int(address: int, argument: int) -> int:
        guarded_target(address)
        try:
            return native.run_as_int(address, argument)
        finally:
            native.flush_standard_streams()

    await add(protocol.RUN_AS_MAIN, _sps_sync(protocol.RUN_AS_MAIN, run_as_main), blocking=True)
    if protocol.ExecutorService.RUN_AS_VOID_INT in row.services:
        await add(protocol.RUN_AS_VOID, _sps_sync(protocol.RUN_AS_VOID, run_as_void), blocking=True)
        await add(protocol.RUN_AS_INT, _sps_sync(protocol.RUN_AS_INT, run_as_int), blocking=True)

    # -- eh-frames and the debugger (§7.3) -------------------------------------------------
    def register_section(section: protocol.ExecutorAddrRange) -> tuple[ActorRef[Any], Ask[Any]]:
        return memory.ref, RegisterEhFrame(start=section.start, end=section.end)

    def deregister_section(
        section: protocol.ExecutorAddrRange,
    ) -> tuple[ActorRef[Any], Ask[Any]]:
        return memory.ref, RegisterEhFrame(start=section.start, end=section.end, register=False)

    def register_debug_object(
        section: protocol.ExecutorAddrRange, auto_register: bool = True
    ) -> tuple[ActorRef[Any], Ask[Any]]:
        return memory.ref, RegisterDebugObject(start=section.start, end=section.end)

    styles = row.eh_frame
    if styles & {protocol.EhFrameRegistration.PROCESS_LOOKUP, _BOOTSTRAP_WRAPPER}:
        # Called directly after finalize / before deallocate: 14-16 under the bootstrap names
        # __llvm_orc_bootstrap_*, looking the real executor's exported functions up by name in
        # the process too; 19 advertises those exported names as bootstrap symbols instead.
        register = await add_raw(
            protocol.REGISTER_EHFRAME_SECTION,
            _sps_ask(protocol.REGISTER_EHFRAME_SECTION, register_section),
            advertise=False,
        )
        deregister = await add_raw(
            protocol.DEREGISTER_EHFRAME_SECTION,
            _sps_ask(protocol.DEREGISTER_EHFRAME_SECTION, deregister_section),
            advertise=False,
        )
        exported = (
            protocol.REGISTER_EHFRAME_SECTION_WRAPPER.name,
            protocol.DEREGISTER_EHFRAME_SECTION_WRAPPER.name,
        )
        if protocol.EhFrameRegistration.PROCESS_LOOKUP in styles:
            symbols[protocol.REGISTER_EHFRAME_SECTION.name] = register
            symbols[protocol.DEREGISTER_EHFRAME_SECTION.name] = deregister
            dylibs.add_own_symbol(exported[0], register)
            dylibs.add_own_symbol(exported[1], deregister)
        if _BOOTSTRAP_WRAPPER in styles:
            symbols[exported[0]] = register
            symbols[exported[1]] = deregister
    if protocol.EhFrameRegistration.ALLOC_ACTION in styles:
        # 22 passes these as alloc actions inside initialize; the memory manager runs them in
        # Python on its own task. They are registered as wrappers too, so the addresses are
        # unique and a direct call works as well (through the memory manager's mailbox).
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
        ):
            address = await add_raw(action_signature, _sps_ask(action_signature, handler))
            memory.add_action_token(address, action)
    if row.debug_objects is protocol.DebugObjectRegistration.ALLOC_ACTION:
        gdb_action = protocol.REGISTER_JITLOADER_GDB_ALLOC_ACTION
        address = await add_raw(gdb_action, _sps_ask(gdb_action, register_debug_object))
        memory.add_action_token(address, memory.register_debug_object_action)
    else:
        # Looked up in the process and called directly: (range) up to 16, (range, bool) from
        # 19 on; the argument size tells which, so either is answered whatever was announced.
        by_size = {
            _args_size(signature): _sps_ask(signature, register_debug_object)
            for signature in (
                protocol.REGISTER_JITLOADER_GDB_WRAPPER,
                protocol.REGISTER_JITLOADER_GDB_WRAPPER_AUTO,
            )
        }
        gdb = await add_raw(
            protocol.REGISTER_JITLOADER_GDB_WRAPPER, _by_argument_size(by_size), advertise=False
        )
        dylibs.add_own_symbol(protocol.REGISTER_JITLOADER_GDB_WRAPPER.name, gdb)

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


_BOOTSTRAP_WRAPPER = protocol.EhFrameRegistration.BOOTSTRAP_WRAPPER


def _args_size(signature: WrapperSignature[Any]) -> int:
    """The argument byte count of a signature whose arguments all have a fixed size."""
    sizes = [arg.fixed_size for arg in signature.args]
    assert all(size is not None for size in sizes), signature
    return sum(size or 0 for size in sizes)


def _by_argument_size(wrappers: dict[int, WrapperFunction]) -> WrapperFunction:
    """A raw wrapper that hands each call to the wrapper for its argument size; any other size
    goes to the first (whose decoding then reports the problem)."""
    fallback = next(iter(wrappers.values()))

    def run(session: Session, call_id: int, return_fn: ReturnFn, data: bytes) -> None:
        wrappers.get(len(data), fallback)(session, call_id, return_fn, data)

    run.__name__ = fallback.__name__
    return run


def _required(lookups: tuple[protocol.SymbolLookup, ...]) -> tuple[bool, ...]:
    return tuple(item.required for item in lookups)


def _addresses(found: tuple[int | None, ...]) -> list[int]:
    """14's lookup result: an address per name, 0 for a missing weak symbol."""
    return [address or 0 for address in found]


def _symbol_defs(found: tuple[int | None, ...]) -> list[ExecutorSymbolDef]:
    """18-21's lookup result: (address, exported) per name, address 0 for a missing weak one."""
    return [ExecutorSymbolDef(addr=address or 0) for address in found]


def _definitions(found: tuple[int | None, ...]) -> list[ExecutorSymbolDef]:
    """22's resolve result: present entries, address 0 for a missing weak symbol."""
    return [ExecutorSymbolDef(addr=address or 0) for address in found]


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
