"""DylibResolver: dynamic libraries and symbol lookup as a resource-manager actor.

| message        | from (wrapper)            | reply                                          |
|----------------|---------------------------|------------------------------------------------|
| `OpenLibrary`  | open (14-22)              | a handle ("" = the executor process itself)    |
| `LookupSymbols`| lookup (14-21), resolve (22) | one address per name, ``None`` when not found |

The executor is a Python process, so the C++ runtime (libstdc++, libgcc_s) is made global when
the actor starts, as LLVM's own C++ executor has it (simple-remote-epc.md §7.1); the
``orcrt-executor`` process has loaded it before (`native.prepare_cxx_host`). Names the
executor implements itself (LLVM 14-16 look up its eh-frame and debugger wrappers by name, 17-21
the debugger one: `protocol.LLVMProtocol.process_lookup_symbols`) are answered from ``own_symbols`` before the process is searched. Every
address found is announced to the Session's native-call guard before the reply goes out.
Opening a library runs its constructors, so that happens on a worker thread.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Final, assert_never

import native

from ._actor import Ask
from ._resources import ResourceManager
from ._worker import NativeWorker

if TYPE_CHECKING:
    from ._session import Session

__all__ = ["DylibRequest", "DylibResolver", "LookupSymbols", "OpenLibrary"]


class OpenLibrary(Ask[int]):
    """Open ``path`` ("" = this process) with ``mode`` (must be 0); reply with a handle."""

    __slots__ = ("mode", "path")

    def __init__(self, *, path: str, mode: int = 0) -> None:
        self.path: Final = path
        self.mode: Final = mode


class LookupSymbols(Ask["tuple[int | None, ...]"]):
    """Look ``names`` up in the library ``handle``; one address (or None) per name, in order.

    A name flagged in ``required`` that is not found fails the whole lookup with
    "Missing definition for NAME" (LLVM's message).
    """

    __slots__ = ("handle", "names", "required")

    def __init__(
        self, *, handle: int, names: tuple[str, ...], required: tuple[bool, ...] = ()
    ) -> None:
        self.handle: Final = handle
        self.names: Final = names
        self.required: Final = required


DylibRequest = OpenLibrary | LookupSymbols


class DylibResolver(ResourceManager[DylibRequest]):
    """The executor's dylib manager (see the module table)."""

    inline_delivery = True  # idle: take mail on the sender's stack (actors._actor)

    def __init__(self, session: Session, *, own_symbols: dict[str, int] | None = None) -> None:
        self._session = session
        self._own_symbols = dict(own_symbols or {})
        self._dylibs = native.DylibManager()
        self._worker = NativeWorker("orcrt-dylibs")

    def __repr__(self) -> str:
        return f"<DylibResolver own_symbols={len(self._own_symbols)}>"

    def add_own_symbol(self, name: str, address: int) -> None:
        """Answer lookups of ``name`` with ``address`` (before the actor is spawned)."""
        self._own_symbols[name] = address

    async def on_start(self) -> None:
        """Make the C++ runtime visible to JIT'd code: at once if the process has it loaded
        (the executor prepared a C++ host), else off the loop (loading runs constructors)."""
        if not self._dylibs.load_cxx_runtime(if_present=True):
            await self._worker.run(self._dylibs.load_cxx_runtime)

    def handle_request(self, message: DylibRequest) -> object:
        """Serve one request (see the module table): the reply, or for a library to load a
        coroutine of it (loading runs the library's constructors, on a worker thread)."""
        match message:
            case OpenLibrary(path=path, mode=mode):
                if path == "" or mode != 0:
                    return self._dylibs.open(path, mode)  # fast, or an immediate error
                return self._worker.run(self._dylibs.open, path, mode)
            case LookupSymbols(handle=handle, names=names, required=required):
                found = tuple(self._lookup(handle, name) for name in names)
                for name, address, needed in zip(names, found, required, strict=False):
                    if needed and not address:
                        raise native.SymbolNotFoundError(
                            f"Missing definition for {name}", name=name
                        )
                addresses = tuple(address for address in found if address)
                if addresses:
                    self._session.allow_native_targets("dylib", addresses=addresses)
                return found
            case _:
                assert_never(message)

    def _lookup(self, handle: int, name: str) -> int | None:
        if not name:
            return None
        own = self._own_symbols.get(name)
        if own is not None:
            return own
        return self._dylibs.lookup(handle, name)

    async def detach(self) -> None:
        """Nothing to drop: JIT'd code may still use the libraries."""

    async def shutdown(self) -> None:
        """Close the libraries this manager opened (the process itself stays)."""
        self._worker.close()
        self._dylibs.close()

    async def on_stop(self) -> None:
        """Join the worker thread if shutdown never came (the actor was closed)."""
        self._worker.close()
