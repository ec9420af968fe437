"""GenericPlatform: static constructors and destructors without the ORC runtime, run in the
executor (LLVM's ``GenericLLVMIRPlatform``, orcv2-reference.md §3.3).

LLVM's generic platform calls initializers as function pointers of the controller's own
process, so it works only in process. This one does the same job for any executor (LLVM 14's
and 22's ``llvm-jitlink-executor``, orcrt's, in process): everything that runs, runs in the
executor, from code the platform compiles into it.

| piece | where | what |
|---|---|---|
| runtime module | the platform JITDylib | ``__cxa_atexit`` (interposed: found before the process's), a registry of exit handlers keyed by DSO handle, ``__orcrt_run_atexits(dso)``, and ``__orcrt_run_functions``: a wrapper function (LLVM's wrapper ABI) calling a list of ``void()`` functions in order |
| per-JITDylib module | each user JITDylib | ``__dso_handle`` (hidden: each JITDylib is one DSO), ``atexit`` (hidden; glibc's lives in ``libc_nonshared.a``, not in ``libc.so``), ``__orcrt_run_jd_atexits`` |
| `InitializerPlugin` | the ObjectLinkingLayer | keeps ``.init_array``/``.ctors``/``.fini_array``/``.dtors`` of links that carry an init symbol (IR ``llvm.global_ctors``/``dtors`` and objects' initializer sections) and records their functions per JITDylib, in link order |

Both modules are IR compiled lazily: nothing is compiled until code uses ``atexit``,
``__cxa_atexit`` or ``__dso_handle``, or something needs running.

`GenericPlatform.initialize` (``jd``): the init symbols registered for each JITDylib of
``jd``'s depth-first link order are looked up (this links what was not linked yet); then
every recorded initializer that has not run yet runs, dependencies first (the link order
reversed), in one call of ``__orcrt_run_functions``. `GenericPlatform.deinitialize` runs, in
the link order (dependants first), each JITDylib's exit handlers (newest first) and the
destructors of its initialized links (last linked first), again in one call. Destructors of
links whose constructors never ran are not run, as glibc does not. Records of a resource
tracker go away with it.

Everything runs on the session's loop.
"""

from __future__ import annotations

import asyncio
import struct
from collections.abc import Sequence
from typing import TYPE_CHECKING, Final

import attrs

from ._epc import ExecutorProcessControl
from ._flags import JITDylibLookupFlags, SymbolLookupFlags, SymbolLookupSet
from ._link_plugin import LinkedGraph, LinkPlugin
from ._names import Name

if TYPE_CHECKING:
    from ._ir_layers import IRLayer
    from ._jitdylib import JITDylib
    from ._materialization import MaterializationResponsibility
    from ._session import ExecutionSession
    from .jitlink import LinkGraph, PassConfiguration

__all__ = [
    "JITDYLIB_ATEXITS",
    "RUN_FUNCTIONS",
    "GenericPlatform",
    "InitializerPlugin",
    "jitdylib_module",
    "runtime_module",
]

RUN_FUNCTIONS: Final = "__orcrt_run_functions"
"""The runtime's wrapper function that calls a list of ``void()`` functions."""

JITDYLIB_ATEXITS: Final = "__orcrt_run_jd_atexits"
"""Each JITDylib's ``void()`` running the exit handlers registered with its ``__dso_handle``."""

_ALL: Final = JITDylibLookupFlags.MATCH_ALL_SYMBOLS
_Q: Final = struct.Struct("<Q")

_RUNTIME: Final = r"""; orcrt's platform runtime (actors/orc/_lljit_platform.py)
%node = type { ptr, ptr, ptr, ptr }

@__orcrt_atexit_head = internal global ptr null, align 8
@__orcrt_atexit_lock = internal global i32 0, align 4
@__orcrt_bad_list = private constant [49 x i8] c"orcrt: __orcrt_run_functions: malformed argument\00"

declare ptr @malloc(i64)
declare void @free(ptr)
declare i32 @sched_yield()
declare ptr @strdup(ptr)

define internal void @__orcrt_lock() {
entry:
  br label %try
try:
  %old = atomicrmw xchg ptr @__orcrt_atexit_lock, i32 1 acquire
  %held = icmp ne i32 %old, 0
  br i1 %held, label %wait, label %done
wait:
  %y = call i32 @sched_yield()
  br label %try
done:
  ret void
}

define internal void @__orcrt_unlock() {
entry:
  store atomic i32 0, ptr @__orcrt_atexit_lock release, align 4
  ret void
}

; int __cxa_atexit(void (*fn)(void *), void *arg, void *dso): remembered, newest first.
define i32 @__cxa_atexit(ptr %fn, ptr %arg, ptr %dso) {
entry:
  %node = call ptr @malloc(i64 32)
  %none = icmp eq ptr %node, null
  br i1 %none, label %fail, label %fill
fail:
  ret i32 -1
fill:
  store ptr %fn, ptr %node, align 8
  %argp = getelementptr inbounds %node, ptr %node, i32 0, i32 1
  store ptr %arg, ptr %argp, align 8
  %dsop = getelementptr inbounds %node, ptr %node, i32 0, i32 2
  store ptr %dso, ptr %dsop, align 8
  %nextp = getelementptr inbounds %node, ptr %node, i32 0, i32 3
  call void @__orcrt_lock()
  %head = load ptr, ptr @__orcrt_atexit_head, align 8
  store ptr %head, ptr %nextp, align 8
  store ptr %node, ptr @__orcrt_atexit_head, align 8
  call void @__orcrt_unlock()
  ret i32 0
}

; Runs (and forgets) the handlers registered with %dso, newest first; a handler may register
; more, which run too. Handlers run outside the lock.
define void @__orcrt_run_atexits(ptr %dso) {
entry:
  br label %restart
restart:
  call void @__orcrt_lock()
  br label %scan
scan:
  %link = phi ptr [ @__orcrt_atexit_head, %restart ], [ %nextp, %skip ]
  %node = load ptr, ptr %link, align 8
  %end = icmp eq ptr %node, null
  br i1 %end, label %done, label %check
check:
  %dsop = getelementptr inbounds %node, ptr %node, i32 0, i32 2
  %owner = load ptr, ptr %dsop, align 8
  %nextp = getelementptr inbounds %node, ptr %node, i32 0, i32 3
  %mine = icmp eq ptr %owner, %dso
  br i1 %mine, label %run, label %skip
skip:
  br label %scan
run:
  %after = load ptr, ptr %nextp, align 8
  store ptr %after, ptr %link, align 8
  call void @__orcrt_unlock()
  %fn = load ptr, ptr %node, align 8
  %argp = getelementptr inbounds %node, ptr %node, i32 0, i32 1
  %arg = load ptr, ptr %argp, align 8
  call void @free(ptr %node)
  call void %fn(ptr %arg)
  br label %restart
done:
  call void @__orcrt_unlock()
  ret void
}

; The wrapper ABI: CWrapperFunctionResult fn(const char *data, size_t size), returned in
; rax:rdx. data is an SPS sequence of u64: a count, then the addresses of void() functions,
; called in order. An empty result on success; an out-of-band error if malformed.
define { i64, i64 } @__orcrt_run_functions(ptr %data, i64 %size) {
entry:
  %short = icmp ult i64 %size, 8
  br i1 %short, label %bad, label %head
head:
  %count = load i64, ptr %data, align 1
  %room = sub i64 %size, 8
  %fit = udiv i64 %room, 8
  %exact = urem i64 %room, 8
  %same = icmp eq i64 %count, %fit
  %whole = icmp eq i64 %exact, 0
  %ok = and i1 %same, %whole
  br i1 %ok, label %loop, label %bad
loop:
  %i = phi i64 [ 0, %head ], [ %i1, %call ]
  %more = icmp ult i64 %i, %count
  br i1 %more, label %call, label %done
call:
  %index = add i64 %i, 1
  %offset = mul i64 %index, 8
  %slot = getelementptr i8, ptr %data, i64 %offset
  %fn = load ptr, ptr %slot, align 1
  call void %fn()
  %i1 = add i64 %i, 1
  br label %loop
done:
  ret { i64, i64 } zeroinitializer
bad:
  %message = call ptr @strdup(ptr @__orcrt_bad_list)
  %address = ptrtoint ptr %message to i64
  %error = insertvalue { i64, i64 } zeroinitializer, i64 %address, 0
  ret { i64, i64 } %error
}
"""

_PER_JITDYLIB: Final = r"""; orcrt's per-JITDylib platform support (actors/orc/_lljit_platform.py)
@__dso_handle = hidden global i8 0, align 8

declare i32 @__cxa_atexit(ptr, ptr, ptr)
declare void @__orcrt_run_atexits(ptr)

define hidden i32 @atexit(ptr %fn) {
entry:
  %r = call i32 @__cxa_atexit(ptr %fn, ptr null, ptr @__dso_handle)
  ret i32 %r
}

define hidden void @__orcrt_run_jd_atexits() {
entry:
  call void @__orcrt_run_atexits(ptr @__dso_handle)
  ret void
}
"""


def runtime_module() -> str:
    """The runtime module's IR text (module docstring); no triple: the layer adds it."""
    return _RUNTIME


def jitdylib_module() -> str:
    """The per-JITDylib module's IR text (module docstring)."""
    return _PER_JITDYLIB


@attrs.define(eq=False)
class _Record:
    """What one link left to run: its initializers and finalizers, in run order."""

    key: int
    initializers: tuple[int, ...]
    finalizers: tuple[int, ...]


@attrs.define(eq=False)
class _JDState:
    """The platform's view of one JITDylib."""

    init_symbols: list[str] = attrs.Factory(list)
    pending: list[_Record] = attrs.Factory(list)  # linked, constructors not run yet
    armed: list[_Record] = attrs.Factory(list)  # constructors ran; destructors due
    atexits: tuple[int, int] | None = None  # (tracker key, __orcrt_run_jd_atexits)


class InitializerPlugin(LinkPlugin):
    """The platform's link plugin (module docstring): keeps initializer sections of links
    with an init symbol and records their functions. Added by `GenericPlatform`."""

    def __init__(self, platform: GenericPlatform) -> None:
        self._platform = platform

    def modify_pass_config(
        self, mr: MaterializationResponsibility, graph: LinkGraph, config: PassConfiguration
    ) -> None:
        """Keep the initializer tables alive and define the init symbol on them."""
        init = mr.initializer_symbol
        if init is not None:
            from .jitlink import keep_initializers_alive

            config.pre_prune.append(keep_initializers_alive(str(init)))

    async def notify_emitted(self, mr: MaterializationResponsibility, linked: LinkedGraph) -> None:
        """Record the link's constructors and destructors (and a JITDylib's exit-handler
        runner) under its JITDylib and tracker key."""
        result = linked.result
        runner = result.symbols.get(JITDYLIB_ATEXITS)
        initializers = result.initializers() if result.init_sections else ()
        finalizers = result.finalizers() if result.init_sections else ()
        if runner is None and not initializers and not finalizers:
            return
        state = self._platform._state(mr.target_jitdylib)

        def record(key: int) -> None:
            if runner is not None:
                state.atexits = (key, runner.address)
            if initializers or finalizers:
                state.pending.append(_Record(key, initializers, finalizers))

        await mr.with_resource_key_do(record)

    async def notify_remove_resources(self, jd: JITDylib, key: int) -> None:
        """Forget what the tracker's links left to run (their code is going away)."""
        self._platform._forget(jd, key)

    def notify_transfer_resources(self, jd: JITDylib, dst_key: int, src_key: int) -> None:
        """Re-file the tracker's records."""
        state = self._platform._states.get(jd)
        if state is None:
            return
        for record in (*state.pending, *state.armed):
            if record.key == src_key:
                record.key = dst_key
        if state.atexits is not None and state.atexits[0] == src_key:
            state.atexits = (dst_key, state.atexits[1])


class GenericPlatform:
    """Static initialization for an LLJIT, run in the executor (module docstring).

    Made by `create` (LLJIT does it); used on the session's loop. `initialize` and
    `deinitialize` are serialized (one at a time).

    Args:
        es: the session.
        epc: its executor.
        ir_layer: where the runtime and per-JITDylib modules are added (compiled on first
            use).
        platform_jd: the JITDylib the runtime module lives in.
    """

    def __init__(
        self,
        es: ExecutionSession,
        epc: ExecutorProcessControl,
        ir_layer: IRLayer,
        platform_jd: JITDylib,
    ) -> None:
        self._es = es
        self._epc = epc
        self._ir_layer = ir_layer
        self._platform_jd = platform_jd
        self._states: dict[JITDylib, _JDState] = {}
        self._lock = asyncio.Lock()
        self._runner: int | None = None
        self.plugin = InitializerPlugin(self)

    @classmethod
    async def create(
        cls,
        es: ExecutionSession,
        epc: ExecutorProcessControl,
        ir_layer: IRLayer,
        platform_jd: JITDylib,
    ) -> GenericPlatform:
        """Add the runtime module to ``platform_jd`` (lazily: nothing compiles yet).

        The caller adds `plugin` to its ObjectLinkingLayer and calls `setup_jitdylib` for
        every JITDylib that holds user code.
        """
        platform = cls(es, epc, ir_layer, platform_jd)
        await ir_layer.add(platform_jd, runtime_module(), name="orcrt-platform-runtime")
        return platform

    def __repr__(self) -> str:
        return f"<GenericPlatform {self._platform_jd.name} jitdylibs={len(self._states)}>"

    @property
    def platform_jitdylib(self) -> JITDylib:
        """Where the runtime module lives."""
        return self._platform_jd

    async def setup_jitdylib(self, jd: JITDylib) -> None:
        """Give ``jd`` its ``__dso_handle``, ``atexit`` and exit-handler runner (lazily).

        ``jd``'s link order must reach the platform JITDylib (for ``__cxa_atexit``).
        """
        self._state(jd)
        await self._ir_layer.add(jd, jitdylib_module(), name=f"orcrt-platform.{jd.name}")

    def register_init_symbol(self, jd: JITDylib, name: str | Name | None) -> None:
        """Remember that ``jd`` defines init symbol ``name`` (a module or object with static
        constructors or destructors was added there); None is ignored."""
        if name is not None:
            self._state(jd).init_symbols.append(str(name))

    async def initialize(self, jd: JITDylib) -> None:
        """Run the static constructors of ``jd`` and what it links against (module
        docstring): each at most once, dependencies first.

        Raises:
            FailedToMaterializeError: a module with constructors could not be linked.
            actors.DisconnectedError, RemoteCallError: the executor went away or refused.
        """
        async with self._lock:
            order = await self._es.get_dfs_link_order([jd])
            lookups = []
            for member in order:
                state = self._states.get(member)
                if state is not None and state.init_symbols:
                    names, state.init_symbols = state.init_symbols, []
                    wanted = SymbolLookupSet(names, SymbolLookupFlags.WEAKLY_REFERENCED)
                    lookups.append(self._es.lookup([(member, _ALL)], wanted))
            for result in await asyncio.gather(*lookups, return_exceptions=True):
                if isinstance(result, BaseException):
                    raise result
            # Again: linking may have changed the link order (CompileOnDemand inserts
            # <jd>.impl, where the bodies and their constructors live, on first use).
            order = await self._es.get_dfs_link_order([jd])
            calls: list[int] = []
            for member in reversed(order):
                state = self._states.get(member)
                if state is None:
                    continue
                pending, state.pending = state.pending, []
                for record in pending:
                    calls.extend(record.initializers)
                state.armed.extend(pending)
            await self._run(calls)

    async def deinitialize(self, jd: JITDylib) -> None:
        """Run the exit handlers and static destructors of ``jd`` and what it links against
        (module docstring): each JITDylib's handlers newest first, then its initialized
        links' destructors, last linked first; dependants before their dependencies.

        Raises:
            actors.DisconnectedError, RemoteCallError: the executor went away or refused.
        """
        async with self._lock:
            order = await self._es.get_dfs_link_order([jd])
            calls: list[int] = []
            for member in order:
                state = self._states.get(member)
                if state is None:
                    continue
                if state.atexits is not None:
                    calls.append(state.atexits[1])
                armed, state.armed = state.armed, []
                for record in reversed(armed):
                    calls.extend(record.finalizers)
            await self._run(calls)

    async def _run(self, functions: Sequence[int]) -> None:
        """Call ``void()`` functions in the executor, in order, in one wrapper call."""
        if not functions:
            return
        if self._runner is None:
            found = await self._es.lookup([(self._platform_jd, _ALL)], [RUN_FUNCTIONS])
            self._runner = found[self._es.intern(RUN_FUNCTIONS)].address
        payload = _Q.pack(len(functions)) + b"".join(_Q.pack(f) for f in functions)
        await self._epc.call_wrapper(self._runner, payload)

    def _state(self, jd: JITDylib) -> _JDState:
        state = self._states.get(jd)
        if state is None:
            state = self._states[jd] = _JDState()
        return state

    def _forget(self, jd: JITDylib, key: int) -> None:
        state = self._states.get(jd)
        if state is None:
            return
        state.pending = [r for r in state.pending if r.key != key]
        state.armed = [r for r in state.armed if r.key != key]
        if state.atexits is not None and state.atexits[0] == key:
            state.atexits = None
