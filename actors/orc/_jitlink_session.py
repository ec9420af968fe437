"""The ``orcrt-jitlink`` session: executor, JITDylibs, inputs, the entry point, the run.

What ``llvm-jitlink`` does between parsing and exiting (orcv2-reference.md §5), in its order:

1. the executor: ``-oop-executor[=PATH]`` spawns one with ``filedescs=R,W`` (LLVM 14-22's
   ``llvm-jitlink-executor``, or ``orcrt-executor``: the LLVM version comes from its path or
   its Setup), ``-oop-executor-connect=HOST:PORT`` reaches one over TCP, neither runs an
   orcrt executor Session in this very process;
2. the session: an ExecutionSession, an ObjectLinkingLayer (eh-frames registered as the
   executor's generation wants), ``-preload`` libraries opened, LLVM 22's JITDylib layout:
   ``Process`` (the executor's symbols, minus the entry point's name) and ``main`` linking
   against it; ``-jd`` opens more JITDylibs, ``-L``/``-l`` add libraries to the current one
   (``lib<name>.so``: a generator searching it in the executor; ``lib<name>.a``: an archive);
3. the inputs: each object's symbols defined lazily in its JITDylib (a duplicate strong
   definition fails here, naming both objects); a ``.a`` input is a static archive whose
   members join as lookups need them;
4. the entry point looked up (all JITDylibs, all symbols): this links everything it reaches;
5. the testing options' reports and ``-check`` rules (`_jitlink_testing`: which also supplies
   the slab memory manager of ``-slab-allocate``, the ``-abs``/``-alias`` definitions met
   in step 3, and ``-phony-externals``); a failed rule makes the status 1;
6. ``-noexec`` stops here (status 0); otherwise ``main(argc, argv)`` runs with the
   ``-args``, and its result, reduced to 8 bits, is the exit status;
7. the session ends: memory released, the executor told to exit (it ends cleanly).

Errors: each one is one line on stderr, ``orcrt-jitlink: error: <what>``, naming the file
or symbol, and the status is 1. A link failure is printed where it is reported (the session's
error reporter); the "Failed to materialize" consequences are not repeated, as in LLVM 22.
An error that is not a user's (a bug) gets its traceback.
"""

from __future__ import annotations

import asyncio
import gc
import os
import re
import sys
import traceback
from pathlib import Path
from typing import TYPE_CHECKING, Final

from actors import ActorError, DisconnectedError

from ._epc import ExecutorProcessControl
from ._epc_errors import ExecutorCallError, MissingBootstrapSymbolError
from ._errors import (
    DuplicateDefinitionError,
    FailedToMaterializeError,
    OrcError,
    UnsatisfiedSymbolDependenciesError,
)
from ._flags import JITDylibLookupFlags
from ._jitdylib import JITDylib

if TYPE_CHECKING:
    from ._jitlink_cli import CommandLine
    from ._jitlink_testing import TestingSetup
    from ._object_layer import ObjectLinkingLayer
    from ._session import ExecutionSession

__all__ = ["EXECUTOR_VERSION_ENV", "JitlinkError", "run"]

EXECUTOR_VERSION_ENV: Final = "ORCRT_LLVM_VERSION"
"""Tells a spawned ``orcrt-executor`` which protocol generation to speak (LLVM's executors
ignore it); orcrt-jitlink sets it to 22 unless it is set already."""

_ALL = JITDylibLookupFlags.MATCH_ALL_SYMBOLS
_EXPORTED = JITDylibLookupFlags.MATCH_EXPORTED_SYMBOLS_ONLY


class JitlinkError(Exception):
    """A user-facing failure of the run: printed as one line, exit status 1."""


def _user_error(error: BaseException) -> bool:
    """Whether ``error`` is a user's problem (one line) rather than a bug (traceback)."""
    from protocol import ProtocolError

    from .jitlink import JITLinkError

    return isinstance(
        error,
        JitlinkError
        | OrcError
        | JITLinkError
        | ExecutorCallError
        | MissingBootstrapSymbolError
        | ActorError
        | ProtocolError
        | OSError
        | TimeoutError
        | ValueError
        | re.error,
    )


def _leaves(error: BaseException) -> list[BaseException]:
    """The exceptions inside (nested) exception groups, or ``error`` itself."""
    if isinstance(error, BaseExceptionGroup):
        return [leaf for inner in error.exceptions for leaf in _leaves(inner)]
    return [error]


def _one_line(error: BaseException) -> str:
    text = str(error.args[0]) if isinstance(error, KeyError) and error.args else str(error)
    return " ".join(text.split()) or type(error).__name__


class _Run:
    """One run of orcrt-jitlink (the module docstring's steps)."""

    def __init__(self, cmd: CommandLine, prog: str) -> None:
        self.cmd = cmd
        self.prog = prog
        self.reported = 0
        self.executor_gone = False
        self.added: dict[JITDylib, list[str]] = {}
        self.testing: TestingSetup | None = None  # the testing options (made in main)

    # -- errors -----------------------------------------------------------------------------

    def print_error(self, error: BaseException) -> None:
        """One line on stderr; a traceback too if it looks like a bug."""
        sys.stdout.flush()
        if _user_error(error):
            print(f"{self.prog}: error: {_one_line(error)}", file=sys.stderr, flush=True)
            return
        print(f"{self.prog}: internal error: {type(error).__name__}: {error}", file=sys.stderr)
        traceback.print_exception(error, file=sys.stderr)
        sys.stderr.flush()

    def report(self, error: BaseException) -> None:
        """The session's error reporter: link failures and other errors nobody waits for."""
        if self.reported and isinstance(
            error, FailedToMaterializeError | UnsatisfiedSymbolDependenciesError
        ):
            return  # a consequence of an error reported already (LLVM 22 hides these too)
        if self.executor_gone and isinstance(error, DisconnectedError):
            return  # the run's error said so already
        self.reported += 1
        self.print_error(error)

    def warn(self, text: str) -> None:
        print(text, file=sys.stderr, flush=True)

    # -- the run ------------------------------------------------------------------------------

    async def main(self) -> int:
        cmd = self.cmd
        runtime = cmd.text("orc-runtime")
        if runtime is not None:
            raise JitlinkError(
                f"-orc-runtime={runtime}: the ORC runtime is not supported yet; orcrt-jitlink "
                "runs programs without it (static initializers do not run, as in llvm-jitlink "
                "without -orc-runtime)"
            )
        if cmd.flag("noexec") and cmd.program_args:
            self.warn("Warning: --args passed to -noexec run will be ignored.")
        from ._jitlink_testing import TestingSetup

        self.testing = TestingSetup(cmd)
        for warning in self.testing.warnings:
            self.warn(warning)
        from ._session import open_execution_session

        epc = await self.open_executor()
        status = 1
        try:
            async with open_execution_session(
                epc=epc, error_reporter=self.report, name="orcrt-jitlink"
            ) as es:
                status = await self.session(es, epc)
        except Exception as exc:
            for error in _leaves(exc):
                if not (self.executor_gone and isinstance(error, DisconnectedError)):
                    self.print_error(error)
                    status = 1
        return status

    async def open_executor(self) -> ExecutorProcessControl:
        cmd = self.cmd
        path = cmd.values["oop-executor"]
        connect = cmd.text("oop-executor-connect")
        if path is not None and connect is not None:
            raise JitlinkError("-oop-executor and -oop-executor-connect cannot be used together")
        if connect is not None:
            host, _, port = connect.rpartition(":")
            if not host or not port.isdigit() or not 0 < int(port) < 65536:
                raise JitlinkError(
                    f"-oop-executor-connect={connect}: expected host:port, e.g. 127.0.0.1:20000"
                )
            from ._epc_connect import connect_executor

            try:
                return await connect_executor(host.strip("[]"), int(port))
            except OSError as exc:
                raise JitlinkError(f"Failed to connect TCP socket '{connect}': {exc}") from exc
        if path is not None:
            command = str(path) or _default_executor()
            env: dict[str, str | None] = {}
            if not os.environ.get(EXECUTOR_VERSION_ENV):
                env[EXECUTOR_VERSION_ENV] = "22"
            from ._epc_connect import spawn_executor

            try:
                return await spawn_executor(command, env=env, inherit_stdin=True)
            except OSError as exc:
                raise JitlinkError(f"cannot run the executor {command}: {exc}") from exc
        from ._epc_inprocess import open_inprocess_executor

        return await open_inprocess_executor(22, name="orcrt-jitlink-executor")

    async def session(self, es: ExecutionSession, epc: ExecutorProcessControl) -> int:
        from ._epc_generator import EPCDynamicLibrarySearchGenerator
        from ._object_layer import ObjectLinkingLayer

        cmd = self.cmd
        testing = self.testing
        assert testing is not None
        # A slab is controller memory: nothing there is registered with the executor.
        slab = testing.slab
        layer = ObjectLinkingLayer(es, slab, eh_frame_registration=slab is None)
        if testing.plugin is not None:
            layer.add_plugin(testing.plugin)
        pattern = cmd.text("show-graphs")
        if cmd.flag("show-graph") or pattern is not None:
            from ._link_dump import GraphDumpPlugin

            layer.add_plugin(GraphDumpPlugin(pattern))
        debugger = cmd.values["debugger-support"]
        if debugger is None:
            debugger = not cmd.flag("noexec")  # llvm-jitlink's default
        if debugger and slab is not None:
            self.warn("Warning: -debugger-support is ignored with -slab-allocate")
        elif debugger:
            from ._link_debug import DebugObjectPlugin

            try:
                layer.add_plugin(DebugObjectPlugin(epc, layer.memory_manager))
            except MissingBootstrapSymbolError as exc:
                self.warn(f"Debugger support not available: {_one_line(exc)}")
        for library in cmd.items("preload"):
            await epc.dylibs.open(library)
        entry = es.intern(cmd.text("entry") or "main")
        tail: list[tuple[JITDylib, JITDylibLookupFlags]] = []
        if not cmd.flag("no-process-syms"):
            process = await es.create_jitdylib("Process")
            generator = await EPCDynamicLibrarySearchGenerator.for_process(
                es, allow=lambda name: name is not entry
            )
            await process.add_generator(generator)
            tail.append((process, _EXPORTED))
        main_jd = await es.create_jitdylib("main")
        await main_jd.set_link_order(tail)
        if testing.phony_externals:
            from ._jitlink_testing import PhonyExternalsGenerator

            await main_jd.add_generator(PhonyExternalsGenerator())
        jds = [main_jd]
        # Linking builds graphs full of reference cycles (blocks, symbols, edges) that live
        # until the link ends; the cyclic collector walking them mid-link is wasted time
        # (measured: ~8% of a large object's whole run). It is back on before main runs.
        gc.disable()
        try:
            status = await self.add_inputs(es, layer, main_jd, jds, tail)
            if status is not None:
                return status
            if cmd.flag("show-init-es"):
                print(await es.dump(), end="", flush=True)
            try:
                found = await es.lookup([(jd, _ALL) for jd in jds], [entry])
            except Exception as exc:
                if not (isinstance(exc, FailedToMaterializeError) and self.reported):
                    self.print_error(exc)
                return 1
        finally:
            gc.enable()
        if self.reported:
            return 1  # an error without a caller (e.g. in a link the entry did not need)
        if cmd.flag("show-entry-es"):
            print(await es.dump(), end="", flush=True)
        if await testing.after_lookup(self.prog):
            return 1  # a -check rule failed (printed)
        if cmd.flag("noexec"):
            return 0
        sys.stdout.flush()
        sys.stderr.flush()
        try:
            result = await epc.run_as_main(found[entry].address, cmd.program_args)
        except DisconnectedError as exc:
            self.executor_gone = True
            self.print_error(exc)
            return 1
        return result & 0xFF

    async def add_inputs(
        self,
        es: ExecutionSession,
        layer: ObjectLinkingLayer,
        current: JITDylib,
        jds: list[JITDylib],
        tail: list[tuple[JITDylib, JITDylibLookupFlags]],
    ) -> int | None:
        """Add the inputs, ``-jd``, ``-L``, ``-l``, ``-abs`` and ``-alias`` in command-line
        order; a status if adding failed (the error is printed), else None."""
        from ._epc_generator import EPCDynamicLibrarySearchGenerator
        from ._jitlink_testing import TESTING_INPUTS

        search: dict[JITDylib, list[Path]] = {current: []}
        for kind, value in self.cmd.inputs:
            if kind == "jd":
                found = es.get_jitdylib_by_name(value)
                if found is None:
                    found = await es.create_jitdylib(value)
                    await found.set_link_order(tail)
                    jds.append(found)
                current = found
                search.setdefault(current, [])
            elif kind in TESTING_INPUTS:
                assert self.testing is not None
                await self.testing.define(es, current, kind, value)
            elif kind == "L":
                directory = Path(value)
                if not await asyncio.to_thread(directory.is_dir):
                    raise JitlinkError(
                        f"While linking {current.name}, -L{value} does not point to a directory"
                    )
                search[current].append(directory)
            elif kind == "l":
                library = await asyncio.to_thread(_find_library, value, search[current])
                if library is None:
                    raise JitlinkError(
                        f"While linking {current.name}, could not find library for -l{value}"
                    )
                if library.suffix == ".a":
                    await self.add_archive(layer, current, str(library))
                else:
                    generator = await EPCDynamicLibrarySearchGenerator.load(es, str(library))
                    await current.add_generator(generator)
            else:
                status = await self.add_object(layer, current, value)
                if status is not None:
                    return status
        return None

    async def add_archive(self, layer: ObjectLinkingLayer, jd: JITDylib, path: str) -> None:
        """A static archive: its members join ``jd`` as lookups need them (llvm-jitlink
        recognizes archives by the ``.a`` extension)."""
        from ._static_library import StaticLibraryDefinitionGenerator

        try:
            generator = await StaticLibraryDefinitionGenerator.load(layer, path)
        except OSError as exc:
            raise JitlinkError(f"{path}: {exc.strerror or exc}") from exc
        await jd.add_generator(generator)

    async def add_object(self, layer: ObjectLinkingLayer, jd: JITDylib, path: str) -> int | None:
        if path.endswith(".a"):
            await self.add_archive(layer, jd, path)
            return None
        try:
            data = await asyncio.to_thread(Path(path).read_bytes)
        except OSError as exc:
            raise JitlinkError(f"{path}: {exc.strerror or exc}") from exc
        try:
            await layer.add(jd, data, path)
        except DuplicateDefinitionError as exc:
            first = await asyncio.to_thread(_first_definer, self.added.get(jd, []), exc.symbol)
            where = f" (already defined in {first})" if first else ""
            self.print_error(JitlinkError(f"{exc}{where}"))
            return 1
        self.added.setdefault(jd, []).append(path)
        return None


def _first_definer(paths: list[str], symbol: str) -> str | None:
    """Which of ``paths`` (objects added before) defines ``symbol`` strongly."""
    from .jitlink import SymbolFlags, object_interface

    weak = SymbolFlags.WEAK | SymbolFlags.COMMON
    for path in paths:
        try:
            interface = object_interface(Path(path).read_bytes(), path)
        except (OSError, ValueError):
            continue
        flags = interface.symbols.get(symbol)
        if flags is not None and not flags & weak:
            return path
    return None


def _find_library(name: str, directories: list[Path]) -> Path | None:
    """``lib<name>.so`` or ``lib<name>.a`` in the first directory having one (llvm-jitlink
    probes the shared library first)."""
    for directory in directories:
        for suffix in (".so", ".a"):
            candidate = directory / f"lib{name}{suffix}"
            if candidate.is_file():
                return candidate
    return None


def _default_executor() -> str:
    """orcrt's executor: the ``orcrt-executor`` beside this interpreter, else on PATH."""
    beside = Path(sys.executable).parent / "orcrt-executor"
    if beside.is_file():
        return str(beside)
    import shutil

    return shutil.which("orcrt-executor") or "orcrt-executor"


def run(cmd: CommandLine, *, prog: str) -> int:
    """Run the session of a parsed command line on a fresh event loop (uvloop when
    installed); the exit status. Called once per process by ``_jitlink_cli.main``."""
    driver = _Run(cmd, prog)

    async def guarded() -> int:
        try:
            return await driver.main()
        except Exception as exc:
            driver.print_error(exc)
            return 1

    try:
        import uvloop
    except ImportError:
        return asyncio.run(guarded())
    return uvloop.run(guarded())
