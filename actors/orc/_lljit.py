"""LLJIT and LLLazyJIT: the one-object JIT (LLVM's ``LLJIT``/``LLLazyJIT``, orcv2-reference.md
§3.3), made by the builders of ``_lljit_builder``.

An `LLJIT` owns an ExecutionSession over one executor and LLVM 22's layer stack and
JITDylib layout:

    add_ir ─> IRTransformLayer ─> IRCompileLayer ─> ObjectLinkingLayer <─ add_object
    (LLLazyJIT) add_lazy_ir ─> CompileOnDemandLayer ─┘ (stubs: LazyReexportsManager)

    main ──links──> <Platform> ──links──> <Process Symbols>   (the executor's symbols)

- ``main`` and every JITDylib made by `LLJIT.create_jitdylib` link against ``<Platform>``
  (the `GenericPlatform` runtime: ``__cxa_atexit``; its initializer runner) and
  ``<Process Symbols>`` (the executor's own symbols: libc, libm ...), exported symbols only,
  and get their own ``__dso_handle`` and ``atexit``.
- `LLJIT.initialize` runs static constructors (IR ``llvm.global_ctors``, objects'
  ``.init_array``/``.ctors``) in the executor; `LLJIT.deinitialize` runs ``atexit`` handlers
  and destructors; `LLJIT.run_main` does both around ``main``, as ``lli`` does.
- `LLJIT.function` gives Python callables running JIT'd functions (``_function``).
- `LLJIT.close` ends the session: memory released, the executor link closed (a spawned
  executor exits).

Every coroutine runs on the JIT's event loop (the one it was built on); `LLJIT.blocking`
runs them from other threads (a script with a `BlockingPortal`).
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
from collections.abc import Coroutine, Sequence
from types import TracebackType
from typing import TYPE_CHECKING, Any, Final, Self, TypeVar

from actors import DisconnectedError

from ._epc import ExecutorProcessControl
from ._flags import JITDylibLookupFlags
from ._function import FunctionSignature, JITFunction, wrapper_ir
from ._ir import IRTarget
from ._jitdylib import JITDylib
from ._object_layer import ObjectMaterializationUnit
from ._tracker import ResourceTracker

if TYPE_CHECKING:
    from ._cod import CompileOnDemandLayer
    from ._ir_layers import IRCompileLayer, IRTransformLayer
    from ._lazy import LazyReexportsManager
    from ._lljit_platform import GenericPlatform
    from ._object_layer import ObjectLinkingLayer
    from ._session import ExecutionSession

__all__ = ["LLJIT", "LLJITBlocking", "LLLazyJIT"]

T = TypeVar("T")

_ALL: Final = JITDylibLookupFlags.MATCH_ALL_SYMBOLS
_EXPORTED: Final = JITDylibLookupFlags.MATCH_EXPORTED_SYMBOLS_ONLY
_WRAPPER_PREFIX: Final = "__orcrt_call."


class LLJIT:
    """An ORC JIT in one object (module docstring). Made by ``LLJITBuilder.create`` or
    ``open_lljit``, never directly.

    Use it on the event loop it was built on; close it with `close` (or ``async with``).
    After `close`, its methods raise (the session's shutdown error, or
    ``actors.DisconnectedError`` for calls into the executor).
    """

    def __init__(
        self,
        *,
        stack: contextlib.AsyncExitStack,
        es: ExecutionSession,
        epc: ExecutorProcessControl,
        main: JITDylib,
        default_links: Sequence[tuple[JITDylib, JITDylibLookupFlags]],
        process_symbols: JITDylib,
        platform: GenericPlatform,
        object_layer: ObjectLinkingLayer,
        compile_layer: IRCompileLayer,
        transform_layer: IRTransformLayer,
    ) -> None:
        self._stack = stack
        self._es = es
        self._epc = epc
        self._main = main
        self._process = process_symbols
        self._default_links = list(default_links)
        self._platform = platform
        self._object_layer = object_layer
        self._compile_layer = compile_layer
        self._transform_layer = transform_layer
        self._loop = asyncio.get_running_loop()
        self._wrappers: dict[str, asyncio.Future[int]] = {}
        self._objects = itertools.count()
        self._closed = False
        self._blocking = LLJITBlocking(self)

    def __repr__(self) -> str:
        state = "closed" if self._closed else self._epc.triple
        return f"<{type(self).__name__} {self._es.name} {state}>"

    # -- parts -------------------------------------------------------------------------------

    @property
    def session(self) -> ExecutionSession:
        """The ExecutionSession."""
        return self._es

    @property
    def epc(self) -> ExecutorProcessControl:
        """The executor's EPC."""
        return self._epc

    @property
    def main_jitdylib(self) -> JITDylib:
        """``main``: where `add_ir`, `add_object` and `lookup` go by default."""
        return self._main

    @property
    def process_symbols_jitdylib(self) -> JITDylib:
        """``<Process Symbols>``: the executor's own symbols (libc, libm ...), on demand."""
        return self._process

    @property
    def platform_jitdylib(self) -> JITDylib:
        """``<Platform>``: the platform runtime and the call wrappers."""
        return self._platform.platform_jitdylib

    @property
    def platform(self) -> GenericPlatform:
        """The platform (static initialization, ``atexit``)."""
        return self._platform

    @property
    def object_layer(self) -> ObjectLinkingLayer:
        """The ObjectLinkingLayer (add plugins here)."""
        return self._object_layer

    @property
    def compile_layer(self) -> IRCompileLayer:
        """The IRCompileLayer (its ``on_compiled`` sees every compiled module)."""
        return self._compile_layer

    @property
    def transform_layer(self) -> IRTransformLayer:
        """The IRTransformLayer `add_ir` enters (its ``transform`` may be replaced)."""
        return self._transform_layer

    @property
    def target(self) -> IRTarget:
        """The executor's triple and data layout (what IR is compiled for)."""
        return self._compile_layer.target

    @property
    def blocking(self) -> LLJITBlocking:
        """This JIT's methods for threads other than its event loop's."""
        return self._blocking

    # -- adding code -------------------------------------------------------------------------

    async def create_jitdylib(self, name: str) -> JITDylib:
        """A new JITDylib linked as ``main`` is (``<Platform>``, then ``<Process Symbols>``
        unless the builder said otherwise), with its own ``__dso_handle`` and ``atexit``
        (LLVM ``LLJIT::createJITDylib``).

        Raises:
            ValueError: a JITDylib of that name exists.
        """
        if self._es.get_jitdylib_by_name(name) is not None:
            raise ValueError(f"a JITDylib named {name!r} exists already")
        jd = await self._es.create_jitdylib(name)
        await jd.set_link_order(self._default_links)
        await self._platform.setup_jitdylib(jd)
        return jd

    async def add_ir(
        self,
        module: object,
        target: JITDylib | ResourceTracker | None = None,
        *,
        name: str | None = None,
    ) -> None:
        """Add an IR module (LLVM ``addIRModule``): its symbols are defined now, the module
        is optimized (if the builder asked), compiled and linked when one is looked up.

        Args:
            module: IR text, bitcode, an ``llvmlite.ir.Module``, an
                ``llvmlite.binding.ModuleRef`` or an `IRModule`; an empty triple or data
                layout becomes the executor's.
            target: a JITDylib or resource tracker (default: ``main``).
            name: the module's name (errors, init symbols); default its own.

        Raises:
            ValueError: the IR does not parse or verify, or its data layout differs.
            DuplicateDefinitionError: it defines a strong symbol the JITDylib has.
        """
        where = target if target is not None else self._main
        init = await self._transform_layer.add(where, module, name=name)
        self._platform.register_init_symbol(_jitdylib(where), init)

    async def add_object(
        self,
        data: bytes | bytearray | memoryview,
        target: JITDylib | ResourceTracker | None = None,
        *,
        name: str | None = None,
    ) -> None:
        """Add a relocatable object file (LLVM ``addObjectFile``), linked when one of its
        symbols is looked up.

        Args:
            data: an x86-64 ELF relocatable object.
            target: a JITDylib or resource tracker (default: ``main``).
            name: the object's name (errors, init symbols); default ``object<n>.o``.

        Raises:
            ObjectFormatError: not an object the linker supports (one line naming it).
            DuplicateDefinitionError: it defines a strong symbol the JITDylib has.
        """
        where = target if target is not None else self._main
        label = name if name is not None else f"object{next(self._objects)}.o"
        unit = await asyncio.to_thread(
            ObjectMaterializationUnit, self._object_layer, bytes(data), label
        )
        if isinstance(where, ResourceTracker):
            await where.jitdylib.define(unit, where)
        else:
            await where.define(unit)
        self._platform.register_init_symbol(_jitdylib(where), unit.init_symbol)

    async def link_library(self, path: str, jd: JITDylib | None = None) -> None:
        """Load a shared library into the executor (``dlopen``) and define its symbols on
        demand in ``jd`` (default ``<Process Symbols>``, which ``main`` links against).

        Raises:
            ExecutorCallError: the executor could not load it (the message names it).
        """
        from ._epc_generator import EPCDynamicLibrarySearchGenerator

        generator = await EPCDynamicLibrarySearchGenerator.load(self._es, path)
        await (jd if jd is not None else self._process).add_generator(generator)

    # -- finding and running -----------------------------------------------------------------

    async def lookup(self, name: str, jd: JITDylib | None = None) -> int:
        """The executor address of ``name`` in ``jd`` (default ``main``), all symbols,
        linking it (and what it needs) first (LLVM ``lookupLinkerMangled``).

        Raises:
            SymbolsNotFoundError: ``jd`` does not define it.
            FailedToMaterializeError: it could not be compiled or linked.
        """
        where = jd if jd is not None else self._main
        found = await self._es.lookup([(where, _ALL)], [name])
        return found[self._es.intern(name)].address

    async def initialize(self, jd: JITDylib | None = None) -> None:
        """Run the static constructors of ``jd`` (default ``main``) and of what it links
        against that have not run yet, in the executor, dependencies first (linking the
        modules that have constructors).

        Raises:
            FailedToMaterializeError: such a module could not be linked.
            actors.DisconnectedError, RemoteCallError: the executor went away or refused.
        """
        await self._platform.initialize(jd if jd is not None else self._main)

    async def deinitialize(self, jd: JITDylib | None = None) -> None:
        """Run the ``atexit``/``__cxa_atexit`` handlers and the static destructors of ``jd``
        (default ``main``) and what it links against, in the executor, dependants first.

        Raises:
            actors.DisconnectedError, RemoteCallError: the executor went away or refused.
        """
        await self._platform.deinitialize(jd if jd is not None else self._main)

    async def run_main(
        self, argv: Sequence[str] = (), *, entry: str = "main", jd: JITDylib | None = None
    ) -> int:
        """Run ``int main(int argc, char **argv)`` as ``lli`` does: `initialize`, main with
        exactly ``argv`` (no program name is added), `deinitialize`; main's result.

        Raises:
            SymbolsNotFoundError: no ``entry`` in ``jd`` (default ``main``).
            FailedToMaterializeError, RemoteCallError, actors.DisconnectedError: as
            `lookup` and `initialize`.
        """
        where = jd if jd is not None else self._main
        address = await self.lookup(entry, where)
        await self.initialize(where)
        status = await self._epc.run_as_main(address, list(argv))
        await self.deinitialize(where)
        return status

    def function(
        self, name: str, signature: str | Any, *, jd: JITDylib | None = None
    ) -> JITFunction:
        """A Python callable running ``name`` (in ``jd``, default ``main``) in the executor
        (``_function``: types, errors). Nothing is looked up or compiled until its first
        call.

        Args:
            name: the function's (linker) name.
            signature: ``"int(int, int)"``-style text or a ctypes function type.
            jd: where to look ``name`` up (all symbols).

        Raises:
            ValueError, TypeError: the signature is malformed or unsupported.
        """
        parsed = FunctionSignature.parse(signature)
        where = jd if jd is not None else self._main

        async def lookup() -> int:
            return await self.lookup(name, where)

        async def wrapper() -> int:
            return await self._wrapper(parsed)

        return JITFunction(name, parsed, lookup, wrapper, self._epc.call_wrapper, self._loop)

    async def _wrapper(self, signature: FunctionSignature) -> int:
        """The wrapper of ``signature`` in ``<Platform>``, compiled on first need, once."""
        symbol = _WRAPPER_PREFIX + signature.key
        pending = self._wrappers.get(symbol)
        if pending is None:
            pending = self._wrappers[symbol] = self._loop.create_future()
            try:
                await self._compile_layer.add(
                    self.platform_jitdylib, wrapper_ir(signature, symbol), name=symbol
                )
                address = await self.lookup(symbol, self.platform_jitdylib)
            except BaseException as exc:
                del self._wrappers[symbol]  # a later call tries again
                pending.set_exception(exc)
                pending.exception()  # retrieved: no "never retrieved" warning if unawaited
                raise
            pending.set_result(address)
        return await asyncio.shield(pending)

    # -- the end -----------------------------------------------------------------------------

    @property
    def closed(self) -> bool:
        """True once `close` was called."""
        return self._closed

    async def close(self) -> None:
        """End the session (LLVM: destroying the LLJIT calls ``endSession``): pending
        lookups fail, the JITDylibs are removed (executor memory released), the executor
        link is closed. Destructors do not run here (`deinitialize` runs them).
        Idempotent. If the executor had gone away already (it crashed, say), the memory
        went with it: the ``DisconnectedError``s of releasing it are not raised again.

        Raises:
            Exception: the first error met on the way (the others are reported).
        """
        if self._closed:
            return
        self._closed = True
        gone = self._epc.disconnected
        try:
            await self._stack.aclose()
        except Exception as exc:
            if not (gone and _only_disconnections(exc)):
                raise

    async def __aenter__(self) -> Self:
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        await self.close()


class LLLazyJIT(LLJIT):
    """An `LLJIT` that can also compile functions lazily (LLVM ``LLLazyJIT``): made by
    ``LLLazyJITBuilder.create`` or ``open_lllazyjit``.

    `add_lazy_ir` goes through a `CompileOnDemandLayer`: each function of the module
    compiles on its first call (``<jd>.impl`` holds the bodies; ``jd`` holds stubs).
    """

    def __init__(
        self,
        *,
        lazy_reexports: LazyReexportsManager,
        cod_layer: CompileOnDemandLayer,
        **parts: Any,
    ) -> None:
        super().__init__(**parts)
        self._lazy = lazy_reexports
        self._cod = cod_layer

    @property
    def lazy_reexports(self) -> LazyReexportsManager:
        """The stubs and reentry machinery (its ``reentries`` counts first calls; its
        ``error_handler`` says where calls go when a body fails)."""
        return self._lazy

    @property
    def cod_layer(self) -> CompileOnDemandLayer:
        """The CompileOnDemandLayer (its ``partition`` may be replaced)."""
        return self._cod

    async def add_lazy_ir(
        self,
        module: object,
        target: JITDylib | ResourceTracker | None = None,
        *,
        name: str | None = None,
    ) -> None:
        """Add an IR module whose functions compile on their first call (LLVM
        ``addLazyIRModule``); its variables and constructors are compiled when they are
        looked up (`initialize` does for constructors). Arguments and errors as `add_ir`.
        """
        where = target if target is not None else self._main
        init = await self._cod.add(where, module, name=name)
        self._platform.register_init_symbol(_jitdylib(where), init)

    async def set_lazy_compile_failure_handler(self, handler: str | int | None) -> None:
        """Where calls of a lazy function whose body failed to compile or link continue,
        with their arguments (LLVM ``setLazyCompileFailureAddr``): a function name in
        ``main`` (looked up now), an executor address, or None for the default (print the
        function's name to the executor's stderr and abort).

        Raises:
            SymbolsNotFoundError: no such function in ``main``.
        """
        address = await self.lookup(handler) if isinstance(handler, str) else handler
        self._lazy.error_handler = address


class LLJITBlocking:
    """The blocking facade of an `LLJIT` (``jit.blocking``): the same methods, for threads
    that do not run the JIT's event loop (a script with a `BlockingPortal`). Each call
    blocks its thread until the coroutine finished on the JIT's loop.

    Raises (every method): RuntimeError on the JIT's event-loop thread (that would
    deadlock); otherwise what the asynchronous method raises.
    """

    def __init__(self, jit: LLJIT) -> None:
        self._jit = jit

    def _run(self, coro: Coroutine[Any, Any, T]) -> T:
        loop = self._jit._loop
        try:
            running = asyncio.get_running_loop()
        except RuntimeError:
            running = None
        if running is loop:
            coro.close()
            raise RuntimeError(
                "a blocking LLJIT call on the JIT's event-loop thread would deadlock; await "
                "the asynchronous method instead"
            )
        return asyncio.run_coroutine_threadsafe(coro, loop).result()

    def create_jitdylib(self, name: str) -> JITDylib:
        """`LLJIT.create_jitdylib`."""
        return self._run(self._jit.create_jitdylib(name))

    def add_ir(
        self,
        module: object,
        target: JITDylib | ResourceTracker | None = None,
        *,
        name: str | None = None,
    ) -> None:
        """`LLJIT.add_ir`."""
        self._run(self._jit.add_ir(module, target, name=name))

    def add_lazy_ir(
        self,
        module: object,
        target: JITDylib | ResourceTracker | None = None,
        *,
        name: str | None = None,
    ) -> None:
        """`LLLazyJIT.add_lazy_ir`.

        Raises:
            TypeError: this JIT is not an `LLLazyJIT`.
        """
        jit = self._jit
        if not isinstance(jit, LLLazyJIT):
            raise TypeError("add_lazy_ir needs an LLLazyJIT (open_lllazyjit)")
        self._run(jit.add_lazy_ir(module, target, name=name))

    def add_object(
        self,
        data: bytes | bytearray | memoryview,
        target: JITDylib | ResourceTracker | None = None,
        *,
        name: str | None = None,
    ) -> None:
        """`LLJIT.add_object`."""
        self._run(self._jit.add_object(data, target, name=name))

    def link_library(self, path: str, jd: JITDylib | None = None) -> None:
        """`LLJIT.link_library`."""
        self._run(self._jit.link_library(path, jd))

    def lookup(self, name: str, jd: JITDylib | None = None) -> int:
        """`LLJIT.lookup`."""
        return self._run(self._jit.lookup(name, jd))

    def initialize(self, jd: JITDylib | None = None) -> None:
        """`LLJIT.initialize`."""
        self._run(self._jit.initialize(jd))

    def deinitialize(self, jd: JITDylib | None = None) -> None:
        """`LLJIT.deinitialize`."""
        self._run(self._jit.deinitialize(jd))

    def run_main(
        self, argv: Sequence[str] = (), *, entry: str = "main", jd: JITDylib | None = None
    ) -> int:
        """`LLJIT.run_main`."""
        return self._run(self._jit.run_main(argv, entry=entry, jd=jd))

    def close(self) -> None:
        """`LLJIT.close`."""
        self._run(self._jit.close())


def _only_disconnections(error: BaseException) -> bool:
    """Whether ``error`` is a DisconnectedError, or a group of nothing else."""
    if isinstance(error, BaseExceptionGroup):
        return all(_only_disconnections(inner) for inner in error.exceptions)
    return isinstance(error, DisconnectedError)


def _jitdylib(target: JITDylib | ResourceTracker) -> JITDylib:
    return target.jitdylib if isinstance(target, ResourceTracker) else target
