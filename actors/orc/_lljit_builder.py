"""Building an LLJIT: `LLJITBuilder`, `LLLazyJITBuilder`, `open_lljit`, `open_lllazyjit`.

LLVM's ``LLJITBuilder``: options first, then ``create()``. The executor is chosen here:

| ``executor`` | what runs the code |
|---|---|
| ``"inprocess"`` (default) | an orcrt executor Session in this process (`open_inprocess_executor`) |
| ``"orcrt"`` | orcrt's executor in a child process (``python -m actors``), over pipes |
| ``"llvm14"`` ... ``"llvm22"`` | LLVM's ``/usr/lib/llvm-NN/bin/llvm-jitlink-executor``, over pipes (any NN; 14, 15, 16, 19 and 22 are tested) |
| a path or an argument vector | that executor, over pipes (``filedescs=R,W`` appended) |
| an `ExecutorProcessControl` | that EPC (the JIT owns it from then on) |

or ``connect="HOST:PORT"`` for an executor listening on TCP (``listen=HOST:PORT``).
``llvm_version`` is the protocol generation an orcrt executor speaks (14 or 22; default 22);
LLVM's executors are told by their path, TCP ones by their Setup.

`open_lljit`/`open_lllazyjit` take the same options and return a `JITOpener`: await it for
the JIT, or use it as an async context manager (the JIT is closed when the block ends), or
enter it with a `BlockingPortal` from a script.
"""

from __future__ import annotations

import contextlib
import os
import re
import sys
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any, Final, TypeVar

import attrs

from ._cod import PartitionFunction, compile_requested
from ._epc import ExecutorProcessControl
from ._flags import JITDylibLookupFlags
from ._lljit import LLJIT, LLLazyJIT
from ._names import Name
from ._opener import Opener

if TYPE_CHECKING:
    import actors

__all__ = [
    "EXECUTOR_VERSION_ENV",
    "ExecutorChoice",
    "JITOpener",
    "LLJITBuilder",
    "LLLazyJITBuilder",
    "open_executor",
    "open_lljit",
    "open_lllazyjit",
]

J = TypeVar("J", bound=LLJIT)

ExecutorChoice = str | os.PathLike[str] | Sequence[str] | ExecutorProcessControl | None
"""What runs the JIT'd code (module docstring's table)."""

EXECUTOR_VERSION_ENV: Final = "ORCRT_LLVM_VERSION"
"""Tells a spawned orcrt executor which protocol generation to speak."""

_LLVM_EXECUTOR: Final = re.compile(r"^llvm-?(\d+)$")
_EXPORTED: Final = JITDylibLookupFlags.MATCH_EXPORTED_SYMBOLS_ONLY


def _llvm_executor(major: int) -> Path:
    path = Path(f"/usr/lib/llvm-{major}/bin/llvm-jitlink-executor")
    if not os.access(path, os.X_OK):
        raise FileNotFoundError(
            f"executor 'llvm{major}': no {path} (install LLVM {major}: apt-get install "
            f"llvm-{major})"
        )
    return path


async def open_executor(
    executor: ExecutorChoice = None,
    *,
    connect: str | None = None,
    llvm_version: int | None = None,
    capture_output: bool = False,
    inherit_stdin: bool = False,
) -> ExecutorProcessControl:
    """The EPC of an executor chosen as the module docstring says.

    Raises:
        ValueError: both ``executor`` and ``connect`` given, a malformed ``connect``, or an
            unsupported ``llvm_version``.
        FileNotFoundError: ``llvm14``/``llvm22`` is not installed.
        OSError: the executor cannot be started or reached.
        DisconnectedError, TimeoutError, MissingBootstrapSymbolError: as `spawn_executor`.
    """
    from ._epc_connect import connect_executor, spawn_executor
    from ._epc_inprocess import open_inprocess_executor

    if llvm_version is not None and llvm_version not in (14, 22):
        raise ValueError(f"llvm_version must be 14 or 22, not {llvm_version!r}")
    if connect is not None:
        if executor not in (None, "inprocess"):
            raise ValueError("give either executor= or connect=, not both")
        host, _, port = connect.rpartition(":")
        if not host or not port.isdigit() or not 0 < int(port) < 65536:
            raise ValueError(f"connect={connect!r}: expected HOST:PORT, e.g. 127.0.0.1:20000")
        return await connect_executor(host.strip("[]"), int(port), llvm_major=llvm_version)
    if isinstance(executor, ExecutorProcessControl):
        return executor
    if executor is None or executor == "inprocess":
        return await open_inprocess_executor(llvm_version or 22)
    version = str(llvm_version or 22)
    if executor == "orcrt":
        command: Any = [sys.executable, "-m", "actors", "--llvm-version", version]
    elif isinstance(executor, str) and (match := _LLVM_EXECUTOR.match(executor)):
        command = _llvm_executor(int(match.group(1)))
    else:
        command = executor
    env: dict[str, str | None] = {}
    if not os.environ.get(EXECUTOR_VERSION_ENV):
        env[EXECUTOR_VERSION_ENV] = version  # orcrt-executor reads it; LLVM's ignore it
    try:
        return await spawn_executor(
            command, env=env, capture_output=capture_output, inherit_stdin=inherit_stdin
        )
    except OSError as exc:
        shown = command if isinstance(command, str | Path) else " ".join(map(str, command))
        raise type(exc)(exc.errno, f"cannot start the executor {shown}: {exc.strerror}") from exc


@attrs.define(kw_only=True)
class LLJITBuilder:
    """Options of an `LLJIT` (LLVM ``LLJITBuilder``); `create` builds one.

    Attributes:
        executor: what runs the code (module docstring).
        connect: ``HOST:PORT`` of an executor listening on TCP (instead of ``executor``).
        llvm_version: the protocol generation of an orcrt executor (14 or 22).
        link_process_symbols: ``main`` and the JITDylibs `LLJIT.create_jitdylib` makes
            link against ``<Process Symbols>``, the executor's own symbols (libc, libm ...)
            (LLVM 22's ``LinkProcessSymbolsByDefault``, default True). Without it JIT'd code
            sees only what the JIT defines and `LLJIT.link_library` adds (the platform still
            uses libc).
        optimize: run LLVM's ``-O<n>`` IR pipeline on modules before compiling (None: no IR
            passes, LLJIT's default).
        codegen_opt_level: the code generator's optimization level (0-3, default 2).
        capture_output: keep a spawned executor's stdout/stderr (``epc.process``) instead
            of letting it write to ours.
        inherit_stdin: a spawned executor reads our stdin (default: /dev/null).
        debugger_support: register JIT'd code with GDB (``DebugObjectPlugin``).
        error_reporter: receives errors nobody waits for (link failures of lazy bodies,
            say); default: logged.
        name: the session's name (logs, errors).
    """

    executor: ExecutorChoice = None
    connect: str | None = None
    llvm_version: int | None = None
    link_process_symbols: bool = True
    optimize: int | None = None
    codegen_opt_level: int = 2
    capture_output: bool = False
    inherit_stdin: bool = False
    debugger_support: bool = False
    error_reporter: actors.ErrorReporter | None = None
    name: str = "lljit"

    async def create(self) -> LLJIT:
        """Start (or reach) the executor and build the JIT, on the running loop.

        Raises:
            ValueError: a bad option (named), e.g. ``optimize`` not 0-3.
            Whatever `open_executor` raises.
        """
        return await self._create(LLJIT)

    def open(self) -> JITOpener[LLJIT]:
        """`create`, as an awaitable / async context manager (`JITOpener`)."""
        return JITOpener(self.create())

    def _check(self) -> None:
        if self.optimize is not None and not 0 <= self.optimize <= 3:
            raise ValueError(f"optimize must be 0..3 or None, not {self.optimize!r}")
        if not 0 <= self.codegen_opt_level <= 3:
            raise ValueError(f"codegen_opt_level must be 0..3, not {self.codegen_opt_level!r}")

    async def _create(self, kind: type[J]) -> J:
        self._check()
        epc = await open_executor(
            self.executor,
            connect=self.connect,
            llvm_version=self.llvm_version,
            capture_output=self.capture_output,
            inherit_stdin=self.inherit_stdin,
        )
        stack = contextlib.AsyncExitStack()
        try:
            stack.push_async_callback(epc.disconnect)  # if the session never starts
            from ._session import open_execution_session

            es = await stack.enter_async_context(
                open_execution_session(epc=epc, error_reporter=self.error_reporter, name=self.name)
            )
            parts = await self._parts(es, epc, stack)
            if kind is LLLazyJIT:
                parts.update(await self._lazy_parts(parts, stack))
            return kind(stack=stack, **parts)
        except BaseException:
            await stack.aclose()
            raise

    async def _parts(
        self, es: Any, epc: ExecutorProcessControl, stack: contextlib.AsyncExitStack
    ) -> dict[str, Any]:
        import asyncio

        from ._epc_generator import EPCDynamicLibrarySearchGenerator
        from ._ir_compile import IRCompiler
        from ._ir_layers import IRCompileLayer, IRTransformLayer, optimize
        from ._lljit_platform import GenericPlatform
        from ._object_layer import ObjectLinkingLayer

        compiler = await asyncio.to_thread(IRCompiler, epc.triple, opt_level=self.codegen_opt_level)
        object_layer = ObjectLinkingLayer(es)
        if self.debugger_support:
            from ._link_debug import DebugObjectPlugin

            object_layer.add_plugin(DebugObjectPlugin(epc, object_layer.memory_manager))
        compile_layer = IRCompileLayer(es, object_layer, compiler)
        transform = None if self.optimize is None else optimize(self.optimize)
        transform_layer = IRTransformLayer(es, compile_layer, transform)
        # The platform's runtime needs libc (malloc, strdup ...), so <Process Symbols> is
        # always there; link_process_symbols says whether user JITDylibs link against it
        # (LLVM 22's LinkProcessSymbolsByDefault).
        process = await es.create_jitdylib("<Process Symbols>")
        await process.add_generator(await EPCDynamicLibrarySearchGenerator.for_process(es))
        platform_jd = await es.create_jitdylib("<Platform>")
        await platform_jd.set_link_order([(process, _EXPORTED)])
        platform = await GenericPlatform.create(es, epc, compile_layer, platform_jd)
        object_layer.add_plugin(platform.plugin)
        main = await es.create_jitdylib("main")
        links = [(platform_jd, _EXPORTED)]
        if self.link_process_symbols:
            links.append((process, _EXPORTED))
        await main.set_link_order(links)
        await platform.setup_jitdylib(main)
        return {
            "es": es,
            "epc": epc,
            "main": main,
            "default_links": links,
            "process_symbols": process,
            "platform": platform,
            "object_layer": object_layer,
            "compile_layer": compile_layer,
            "transform_layer": transform_layer,
        }

    async def _lazy_parts(
        self, parts: dict[str, Any], stack: contextlib.AsyncExitStack
    ) -> dict[str, Any]:
        raise TypeError("an LLJITBuilder builds LLJITs; use LLLazyJITBuilder for LLLazyJIT")


@attrs.define(kw_only=True)
class LLLazyJITBuilder(LLJITBuilder):
    """Options of an `LLLazyJIT` (LLVM ``LLLazyJITBuilder``): `LLJITBuilder`'s, and

    Attributes:
        partition: how much of a module compiles per first call (`compile_requested`, the
            default: just the called function; `compile_whole_module`).
        on_lazy_call: told the name of each lazy function whose call reached the controller
            (first calls), on the loop.
        lazy_compile_failure_handler: an executor address where calls of a lazy function
            whose body failed continue (see ``LLLazyJIT.set_lazy_compile_failure_handler``
            for naming a JIT'd function); default: print and abort.
    """

    partition: PartitionFunction = compile_requested
    on_lazy_call: Callable[[Name], None] | None = None
    lazy_compile_failure_handler: int | None = None

    async def create(self) -> LLLazyJIT:
        """As `LLJITBuilder.create`, with lazy compilation (stubs in the executor).

        Raises:
            ValueError: the executor is not x86-64 Linux (lazy stubs are x86-64 code).
            Whatever `LLJITBuilder.create` raises.
        """
        return await self._create(LLLazyJIT)

    def open(self) -> JITOpener[LLLazyJIT]:  # type: ignore[override]  # a narrower result
        """`create`, as an awaitable / async context manager (`JITOpener`)."""
        return JITOpener(self.create())

    async def _lazy_parts(
        self, parts: dict[str, Any], stack: contextlib.AsyncExitStack
    ) -> dict[str, Any]:
        from ._cod import CompileOnDemandLayer
        from ._lazy import LazyReexportsManager

        es = parts["es"]
        manager = await LazyReexportsManager.create(
            es,
            epc=parts["epc"],
            error_handler=self.lazy_compile_failure_handler,
            on_call=self.on_lazy_call,
        )
        stack.push_async_callback(manager.close)  # before the session ends (LIFO)
        cod = CompileOnDemandLayer(es, parts["transform_layer"], manager, partition=self.partition)
        return {"lazy_reexports": manager, "cod_layer": cod}


class JITOpener(Opener[J]):
    """What `open_lljit`/`open_lllazyjit`/``.open()`` return: await it for the JIT, or use
    it as an async context manager (the JIT closes when the block ends), or
    ``portal.enter(...)`` it. Awaited or entered at most once.
    """

    async def _close(self, resource: J) -> None:
        await resource.close()


def open_lljit(**options: Any) -> JITOpener[LLJIT]:
    """An `LLJIT` with `LLJITBuilder`'s options (keywords): ``async with
    open_lljit(executor="llvm14") as jit: ...``.

    Raises:
        TypeError: an unknown option.
    """
    return LLJITBuilder(**options).open()


def open_lllazyjit(**options: Any) -> JITOpener[LLLazyJIT]:
    """An `LLLazyJIT` with `LLLazyJITBuilder`'s options (keywords).

    Raises:
        TypeError: an unknown option.
    """
    return LLLazyJITBuilder(**options).open()
