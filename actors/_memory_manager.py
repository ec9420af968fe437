"""MemoryManager: the executor's JIT memory as a resource-manager actor.

| message              | from (wrapper)                          | reply                           |
|----------------------|-----------------------------------------|---------------------------------|
| `Reserve`            | reserve (14-22)                         | base address                    |
| `Finalize`           | finalize (14-21)                        | None                            |
| `Deallocate`         | deallocate (14-21)                      | None                            |
| `Initialize`         | initialize (22)                         | region start (the init key)     |
| `Deinitialize`       | deinitialize (22)                       | None                            |
| `Release`            | release (22)                            | None                            |
| `RegisterEhFrame`    | 14-20's directly called eh-frame wrappers, 21-22's eh-frame alloc actions | None |
| `RegisterDebugObject`| 14-21's registerJITLoaderGDBWrapper, 22's GDB alloc action | None         |

(Which version sends which: `protocol.LLVM_PROTOCOLS`.)

The bookkeeping (slabs, regions, alloc actions in order and dealloc actions in reverse) is
`native.MemoryMap`; this actor owns one, and is the only thing that touches it. Alloc actions
whose target is one of the executor's own action tokens (21-22's eh-frame, 22's GDB actions) run in
Python; any other target is JIT'd code, called natively on a worker thread, and in guarded mode
only if it lies inside executable memory of this map. Requests with native actions wait for
them here, so a native action that calls back into the controller, which in turn calls this
memory manager, would deadlock; LLVM's controllers never do that (their platform actions only
register with the JIT'd runtime), and requests without native actions never leave the loop.

When a request changes the map's executable ranges, the actor announces them to the Session's
native-call guard before it replies, so a controller never sees a reply before the guard knows
the code (the announcement is a message queued for the Session ahead of anything the reply can
provoke).

Requests that run no native code are handled synchronously: `handle_request` is a plain
``def``, so when the manager is idle a wrapper's request is served inline on the caller's stack
(`actors._actor`, inline delivery) and the reply reaches the wrapper without a hop. Requests
that may run native actions return a coroutine that runs them on a worker thread.
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Coroutine, Iterable, Iterator, Sequence
from typing import TYPE_CHECKING, Any, Final, TypeVar, assert_never

import native
import protocol
from protocol import AllocActionCallPair, FinalizeRequest, SegmentFinalizeRequest

from ._actor import Ask
from ._resources import ResourceManager
from ._worker import NativeWorker

if TYPE_CHECKING:
    from ._session import Session

__all__ = [
    "ActionHandler",
    "Deallocate",
    "Deinitialize",
    "Finalize",
    "Initialize",
    "MemoryManager",
    "MemoryRequest",
    "RegisterDebugObject",
    "RegisterEhFrame",
    "Release",
    "Reserve",
]

_T = TypeVar("_T")
_EXEC: Final = int(protocol.MemProt.EXEC)  # a plain int: IntFlag's & costs microseconds

ActionHandler = Callable[[bytes], "str | None"]
"""A Python-implemented alloc action: argument bytes in, None (success) or an error message."""


class Reserve(Ask[int]):
    """Reserve ``size`` bytes of address space (read-write); reply with the base."""

    __slots__ = ("size",)

    def __init__(self, *, size: int) -> None:
        self.size: Final = size


class Finalize(Ask[None]):
    """LLVM 14: copy and protect segments, run finalize actions (allocation keyed by base)."""

    __slots__ = ("request",)

    def __init__(self, *, request: FinalizeRequest) -> None:
        self.request: Final = request


class Deallocate(Ask[None]):
    """LLVM 14: run dealloc actions and unmap each allocation in ``bases``."""

    __slots__ = ("bases",)

    def __init__(self, *, bases: tuple[int, ...]) -> None:
        self.bases: Final = bases


class Initialize(Ask[int]):
    """LLVM 22: like `Finalize`, recording a region; reply with its start (the init key)."""

    __slots__ = ("request",)

    def __init__(self, *, request: FinalizeRequest) -> None:
        self.request: Final = request


class Deinitialize(Ask[None]):
    """LLVM 22: run the dealloc actions of the regions ``keys`` (in reverse order)."""

    __slots__ = ("keys",)

    def __init__(self, *, keys: tuple[int, ...]) -> None:
        self.keys: Final = keys


class Release(Ask[None]):
    """LLVM 22: release each slab in ``bases`` with whatever regions it still holds."""

    __slots__ = ("bases",)

    def __init__(self, *, bases: tuple[int, ...]) -> None:
        self.bases: Final = bases


class RegisterEhFrame(Ask[None]):
    """Register (or deregister) the ``.eh_frame`` section [start, end) with the unwinder."""

    __slots__ = ("end", "register", "start")

    def __init__(self, *, start: int, end: int, register: bool = True) -> None:
        self.start: Final = start
        self.end: Final = end
        self.register: Final = register


class RegisterDebugObject(Ask[None]):
    """Tell an attached debugger about the debug object at [start, end) (GDB JIT interface)."""

    __slots__ = ("end", "start")

    def __init__(self, *, start: int, end: int) -> None:
        self.start: Final = start
        self.end: Final = end


MemoryRequest = (
    Reserve
    | Finalize
    | Deallocate
    | Initialize
    | Deinitialize
    | Release
    | RegisterEhFrame
    | RegisterDebugObject
)


class MemoryManager(ResourceManager[MemoryRequest]):
    """The executor's memory manager (see the module table).

    ``action_tokens`` maps the addresses of the executor's own alloc-action functions to the
    Python code that implements them. ``guarded`` refuses native actions outside executable
    memory of this map. Register with ``await session.add_resource_manager(manager)``.
    """

    inline_delivery = True  # idle: take mail on the sender's stack (actors._actor)

    def __init__(
        self,
        session: Session,
        *,
        guarded: bool = True,
        action_tokens: dict[int, ActionHandler] | None = None,
    ) -> None:
        self._session = session
        self._guarded = guarded
        self._action_tokens = dict(action_tokens or {})
        self._map = native.MemoryMap(self._run_action)
        self._worker = NativeWorker("orcrt-memory")
        self._eh_frames = native.EhFrameRegistrar()
        self._debug_objects = native.DebugObjectRegistrar()
        self._shutting_down = False
        # Executable segments of the request being finalized: by the time its actions run
        # they are mapped executable, and actions may target them (the map records the
        # region only after its actions succeeded).
        self._request_code: tuple[tuple[int, int], ...] = ()
        self._announced_version = self._map.executable_version

    def __repr__(self) -> str:
        stats = self._map.statistics()
        return f"<MemoryManager slabs={stats.slabs} regions={stats.regions}>"

    def add_action_token(self, address: int, handler: ActionHandler) -> None:
        """Implement the alloc action at ``address`` in Python (before the actor is spawned)."""
        self._action_tokens[address] = handler

    def handle_request(self, message: MemoryRequest) -> object:
        """Serve one memory request (see the module table): the reply, or a coroutine of it
        for a request that runs native actions (on a worker thread)."""
        memory = self._map
        match message:
            case Reserve(size=size):
                return memory.reserve(size)
            case Finalize(request=request):
                return self._finalize(memory.finalize, request)
            case Deallocate(bases=bases):
                natives = self._natives_among(memory.dealloc_functions(bases=bases))
                return self._free(memory.deallocate, bases, natives)
            case Initialize(request=request):
                return self._finalize(memory.initialize, request)
            case Deinitialize(keys=keys):
                natives = self._natives_among(memory.dealloc_functions(keys=keys))
                return self._free(memory.deinitialize, keys, natives)
            case Release(bases=bases):
                natives = self._natives_among(memory.dealloc_functions(bases=bases))
                return self._free(memory.release, bases, natives)
            case RegisterEhFrame(start=start, end=end, register=register):
                if register:
                    self._eh_frames.register_eh_frame(start, end - start)
                else:
                    self._eh_frames.deregister_eh_frame(start)
                return None
            case RegisterDebugObject(start=start, end=end):
                self._debug_objects.register(start, end - start)
                return None
            case _:
                assert_never(message)

    # Native actions may block (they run JIT'd code): a worker thread runs them. Requests
    # without any stay on the loop (copying and mprotect are quick), synchronously.

    def _finalize(
        self,
        operation: Callable[[Sequence[SegmentFinalizeRequest], Sequence[AllocActionCallPair]], _T],
        request: FinalizeRequest,
    ) -> _T | Coroutine[Any, Any, _T]:
        actions = request.actions
        if not actions:  # the common case: nothing runs, nothing may target the new code
            result = operation(request.segments, actions)
            self._announce()
            return result
        if any(self._is_native(pair) for pair in actions):
            return self._finalize_on_thread(operation, request)
        with self._code_of(request):
            result = operation(request.segments, actions)
        self._announce()
        return result

    async def _finalize_on_thread(
        self,
        operation: Callable[[Sequence[SegmentFinalizeRequest], Sequence[AllocActionCallPair]], _T],
        request: FinalizeRequest,
    ) -> _T:
        with self._code_of(request):
            result = await self._worker.run(operation, request.segments, request.actions)
        self._announce()
        return result

    def _free(
        self, operation: Callable[[tuple[int, ...]], None], keys: tuple[int, ...], natives: bool
    ) -> Coroutine[Any, Any, None] | None:
        if natives:
            return self._free_on_thread(operation, keys)
        operation(keys)
        self._announce()
        return None

    async def _free_on_thread(
        self, operation: Callable[[tuple[int, ...]], None], keys: tuple[int, ...]
    ) -> None:
        await self._worker.run(operation, keys)
        self._announce()

    def _natives_among(self, functions: Iterable[int]) -> bool:
        """Whether any of these dealloc action targets is native (not one of our tokens)."""
        tokens = self._action_tokens
        return any(fn not in tokens for fn in functions)

    @contextlib.contextmanager
    def _code_of(self, request: FinalizeRequest) -> Iterator[None]:
        self._request_code = tuple(
            (segment.addr, segment.addr + segment.size)
            for segment in request.segments
            if segment.prot & _EXEC
        )
        try:
            yield
        finally:
            self._request_code = ()

    def _executable(self, address: int) -> bool:
        if self._map.contains_executable(address):
            return True
        return any(start <= address < end for start, end in self._request_code)

    def _is_native(self, pair: AllocActionCallPair) -> bool:
        return any(
            call.fn != 0 and call.fn not in self._action_tokens
            for call in (pair.finalize, pair.dealloc)
        )

    def _run_action(self, fn: int, args: bytes) -> str | None:
        """Run one alloc action (called by the memory map, on whichever thread runs it)."""
        handler = self._action_tokens.get(fn)
        if handler is not None:
            return handler(args)
        if self._guarded and not self._executable(fn):
            return (
                f"refusing alloc action at {fn:#x}: not inside executable memory this session "
                "initialized (guarded mode)"
            )
        try:
            result = native.call_wrapper(fn, args)
        except native.NativeCallError as exc:
            return exc.message
        if not result:
            return None  # an empty result is success (orc-rt AllocActionFn convention)
        try:
            outcome = protocol.Error.decode(result)
        except protocol.DecodeError as exc:
            return f"alloc action at {fn:#x} returned an undecodable result: {exc}"
        return None if outcome is None else outcome.message

    def register_eh_frame_action(self, args: bytes) -> str | None:
        """22's ``llvm_orc_registerEHFrameAllocAction``: ``SPSError(AddrRange)`` arguments."""
        try:
            (section,) = protocol.REGISTER_EHFRAME_ALLOC_ACTION.decode_args(args)
            self._eh_frames.register_eh_frame(section.start, section.size)
        except (protocol.DecodeError, native.NativeError) as exc:
            return str(exc)
        return None

    def deregister_eh_frame_action(self, args: bytes) -> str | None:
        """22's ``llvm_orc_deregisterEHFrameAllocAction``: ``SPSError(AddrRange)`` arguments."""
        try:
            (section,) = protocol.DEREGISTER_EHFRAME_ALLOC_ACTION.decode_args(args)
            if self._shutting_down and section.start not in self._eh_frames.registered():
                return None  # shutdown already took the unwinder entry out, before unmapping
            self._eh_frames.deregister_eh_frame(section.start)
        except (protocol.DecodeError, native.NativeError) as exc:
            return str(exc)
        return None

    def register_debug_object_action(self, args: bytes) -> str | None:
        """22's ``llvm_orc_registerJITLoaderGDBAllocAction``: ``SPSError(AddrRange, bool)``."""
        try:
            section, _auto_register = protocol.REGISTER_JITLOADER_GDB_ALLOC_ACTION.decode_args(args)
            self._debug_objects.register(section.start, section.size)
        except (protocol.DecodeError, native.NativeError) as exc:
            return str(exc)
        return None

    def _announce(self) -> None:
        """Tell the Session's guard the executable ranges, if they changed since last time."""
        version = self._map.executable_version
        if version != self._announced_version:
            self._announced_version = version
            self._session.allow_native_targets("memory", ranges=self._map.executable_ranges())

    async def detach(self) -> None:
        """Keep everything: JIT'd code may still run (orc-rt: detach is a no-op here)."""
        self._map.detach()

    async def shutdown(self) -> None:
        """Drop the unwinder and debugger registrations, then release all memory (running
        pending dealloc actions in reverse)."""
        # The unwinder and the debugger must forget the code before its memory goes away
        # (libgcc keeps pointers into registered sections).
        self._shutting_down = True
        errors: list[str] = []
        for cleanup in (self._eh_frames.close, self._debug_objects.close):
            try:
                cleanup()
            except native.NativeError as exc:
                errors.append(str(exc))
        try:
            if self._natives_among(self._map.dealloc_functions()):
                await self._worker.run(self._map.shutdown)
            else:
                self._map.shutdown()
        except native.NativeError as exc:
            errors.append(str(exc))
        self._worker.close()
        self._announce()
        if errors:
            raise native.NativeError("memory manager shutdown: " + "; ".join(errors))

    async def on_stop(self) -> None:
        """Join the worker thread if shutdown never came (the actor was closed)."""
        self._worker.close()
