"""Test-only: link ELF objects into this process with the linker core and run their ``main``.

``python -m tests.orc.jitlink.run_jit [--low-memory] [--run-initializers] OBJ... [-- ARG...]``

This is a miniature ObjectLinkingLayer plus in-process memory manager, written only to prove
the pure linker right before any executor or ORC core exists: the objects form one "JITDylib"
(first weak definition wins, strong beats weak, two strong definitions fail), every graph goes
through `GraphLinker`'s phases, all graphs share one RW mapping (so everything is within
+-2 GiB; ``--low-memory`` maps it below 2 GiB with MAP_32BIT for ``-fno-pic`` code), externals
resolve first in the dylib and then with ``dlsym`` in this process (libstdc++ loaded
RTLD_GLOBAL), segments are protected, eh-frames registered with libgcc, and ``main`` is called
with the arguments. ``--run-initializers`` keeps and runs ``.init_array``/``.ctors`` entries
before ``main`` (and defines ``__dso_handle``).

The test suite runs it as a subprocess so a crash in JIT'd code cannot take pytest down, and
so ``exit()`` and stdout behave as in a real program. Exit status: main's return value (mod
256); 1 with ``error: <message>`` on stderr for a link error.
"""

from __future__ import annotations

import ctypes
import sys
from collections.abc import Callable
from pathlib import Path

import native
from actors.orc.jitlink import (
    GraphLinker,
    JITLinkError,
    LinkGraph,
    LinkResult,
    Scope,
    SymbolFlags,
    default_passes,
    object_interface,
    read_object,
)

_MAP_32BIT = 0x40
_PROT_RW = 3


def _map(size: int, low: bool) -> int:
    if not low:
        return native.map_anonymous(size)
    libc = ctypes.CDLL(None, use_errno=True)
    libc.mmap.restype = ctypes.c_void_p
    libc.mmap.argtypes = (
        ctypes.c_void_p, ctypes.c_size_t, ctypes.c_int, ctypes.c_int, ctypes.c_int, ctypes.c_long,
    )  # fmt: skip
    address = libc.mmap(None, size, _PROT_RW, 0x02 | 0x20 | _MAP_32BIT, -1, 0)
    if address in (None, ctypes.c_void_p(-1).value):
        raise OSError(ctypes.get_errno(), "mmap(MAP_32BIT) failed")
    return int(address)


class _Dylib:
    """Definitions of the objects added so far: name -> (owner index, flags)."""

    def __init__(self) -> None:
        self.owner: dict[str, tuple[int, SymbolFlags]] = {}

    def add(self, index: int, name: str, flags: dict[str, SymbolFlags], files: list[str]) -> None:
        for symbol, symbol_flags in flags.items():
            weak = bool(symbol_flags & (SymbolFlags.WEAK | SymbolFlags.COMMON))
            previous = self.owner.get(symbol)
            if previous is None:
                self.owner[symbol] = (index, symbol_flags)
                continue
            previous_weak = bool(previous[1] & (SymbolFlags.WEAK | SymbolFlags.COMMON))
            if not weak and not previous_weak:
                raise JITLinkError(
                    f"{name}: duplicate definition of symbol '{symbol}' "
                    f"(first defined in {files[previous[0]]})"
                )
            if previous_weak and not weak:
                self.owner[symbol] = (index, symbol_flags)


def _externalize_losers(
    index: int, owner: dict[str, tuple[int, SymbolFlags]]
) -> Callable[[LinkGraph], None]:
    def pass_(graph: LinkGraph) -> None:
        for symbol in list(graph.defined):
            if symbol.name is None or symbol.scope is Scope.LOCAL:
                continue
            winner = owner.get(symbol.name)
            if winner is not None and winner[0] != index:
                graph.make_external(symbol)

    return pass_


def link_and_run(files: list[Path], args: list[str], *, low: bool, run_inits: bool) -> int:
    """Link `files` into this process and return main's result (see the module docstring)."""
    names = [path.name for path in files]
    datas = [path.read_bytes() for path in files]
    dylib = _Dylib()
    interfaces = []
    for index, (name, data) in enumerate(zip(names, datas, strict=True)):
        interface = object_interface(data, name)
        interfaces.append(interface)
        dylib.add(index, name, dict(interface.symbols), names)
    linkers: list[GraphLinker] = []
    for index, (name, data) in enumerate(zip(names, datas, strict=True)):
        graph = read_object(data, name)
        owned = [s for s, (i, _) in dylib.owner.items() if i == index]
        passes = default_passes(
            live_symbols=owned,
            keep_initializers=run_inits,
            init_symbol=interfaces[index].init_symbol,
        )
        passes.pre_prune.insert(0, _externalize_losers(index, dylib.owner))
        linkers.append(GraphLinker(graph, passes, page_size=native.page_size()))
    requests = [linker.prepare() for linker in linkers]
    total = sum(request.size for request in requests)
    base = _map(max(total, native.page_size()), low)
    address = base
    table: dict[str, int] = {}
    for linker, request in zip(linkers, requests, strict=True):
        linker.allocate(address)
        address += request.size
        for symbol, definition in linker.defined_symbols().items():
            table.setdefault(symbol, definition.address)
    dso_handle = ctypes.create_string_buffer(8)
    if run_inits:
        table.setdefault("__dso_handle", ctypes.addressof(dso_handle))
    dylibs = native.DylibManager()
    dylibs.load_cxx_runtime()
    process = dylibs.open("")
    results: list[LinkResult] = []
    for linker in linkers:
        addresses = {}
        for symbol in linker.external_symbols():
            found = table.get(symbol)
            if found is None:
                found = dylibs.lookup(process, symbol)
            if found is not None:
                addresses[symbol] = found
        results.append(linker.finish(addresses))
    for result in results:
        for segment in result.segments:
            native.write(segment.address, segment.content)
    for result in results:
        for segment in result.segments:
            native.protect(segment.address, segment.size, int(segment.protection))
    registrar = native.EhFrameRegistrar()
    for result in results:
        if result.eh_frame is not None:
            registrar.register_eh_frame(result.eh_frame.start, result.eh_frame.size)
    if run_inits:
        for result in results:
            for initializer in result.initializers():
                native.run_as_void(initializer)
    main = table.get("main")
    if main is None:
        raise JITLinkError("symbols not found: [ main ]")
    status = native.run_as_main(main, [arg.encode() for arg in args])
    if run_inits:
        for result in reversed(results):
            for finalizer in result.finalizers():
                native.run_as_void(finalizer)
    return status


def main(argv: list[str]) -> int:
    """Entry point: parse the command line, link, run; prints link errors as one line."""
    low = "--low-memory" in argv
    run_inits = "--run-initializers" in argv
    argv = [arg for arg in argv if arg not in ("--low-memory", "--run-initializers")]
    if "--" in argv:
        split = argv.index("--")
        files, args = argv[:split], argv[split + 1 :]
    else:
        files, args = argv, []
    try:
        status = link_and_run([Path(f) for f in files], args, low=low, run_inits=run_inits)
    except JITLinkError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    libc = ctypes.CDLL(None)
    libc.fflush(None)  # JIT'd printf writes through C stdio; flush before Python exits
    return status & 0xFF


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
