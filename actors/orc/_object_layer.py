"""ObjectLinkingLayer: relocatable objects defined into JITDylibs, linked into the executor
when one of their symbols is first looked up.

LLVM's ``ObjectLinkingLayer`` (orcv2-reference.md §3.1, §3.2). `ObjectLinkingLayer.add`
defines an object's interface (its symbols and flags, read from the symbol table) in a
JITDylib as one lazy unit: duplicate strong definitions fail right there, weak ones lose
quietly. The first lookup of any of those symbols materializes the unit, which links the whole
object (`ObjectLinkingLayer.emit`, the async driver of ``_link_driver``): one reservation in
the executor, externals resolved through the JITDylib's link order, segments finalized,
symbols emitted with their dependencies so lookups become Ready exactly when everything they
reach is.

Resources: each finalized allocation is filed under the materialization's resource tracker.
Removing the tracker (or its JITDylib, or ending the session) tells the plugins, then
releases all of that tracker's allocations in one ``release`` call (14: ``deallocate``).
"""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from typing import TYPE_CHECKING, TypeVar

from ._epc import ExecutorProcessControl
from ._jitdylib import JITDylib
from ._link_driver import MemoryManager, link_object
from ._link_plugin import LinkPlugin
from ._materialization import MaterializationResponsibility, MaterializationUnit
from ._tracker import ResourceManager, ResourceTracker

if TYPE_CHECKING:
    from ._session import ExecutionSession
    from .jitlink import ElfObject

__all__ = ["ObjectLinkingLayer", "ObjectMaterializationUnit"]

P = TypeVar("P", bound=LinkPlugin)

_DEFAULT_PAGE_SIZE = 4096


class ObjectMaterializationUnit(MaterializationUnit):
    """One object file's symbols, linked by its layer when first looked up (made by
    `ObjectLinkingLayer.add`). Its name is the object's name; `discard` does nothing, as in
    LLVM (the link turns a discarded weak definition into a reference to the winner)."""

    def __init__(self, layer: ObjectLinkingLayer, data: bytes, name: str) -> None:
        from .jitlink import elf_interface, read_elf

        # Read once: the interface and, later, the link's graph come from the same tables.
        elf = read_elf(data, name)
        interface = elf_interface(elf)
        super().__init__(dict(interface.symbols), interface.init_symbol)
        self._layer = layer
        self._data = data
        self._elf: ElfObject | None = elf
        self._object_name = name

    @property
    def name(self) -> str:
        """The object's name (``In <name>, duplicate definition of symbol ...``)."""
        return self._object_name

    async def materialize(self, mr: MaterializationResponsibility) -> None:
        """Link the object for ``mr`` (see `ObjectLinkingLayer.emit`)."""
        data, self._data = self._data, b""  # linked once: the unit need not keep the bytes
        elf, self._elf = self._elf, None
        await self._layer._emit(mr, data, self._object_name, elf)


class ObjectLinkingLayer(ResourceManager):
    """Links relocatable x86-64 ELF objects into the executor (LLVM ``ObjectLinkingLayer``).

    Create it on the session's loop, once per session (or one per memory manager). It
    registers itself as the session's resource manager on first use. Methods run on the
    session's loop.

    Args:
        es: the ExecutionSession; its ``epc`` (an `ExecutorProcessControl`) provides the
            default memory manager and page size.
        memory_manager: where graphs get memory (`MemoryManager`: ``reserve``, ``finalize``,
            ``release``); default ``es.epc.memory_manager``.
        page_size: the executor's page size; default the memory manager's ``page_size``
            attribute if it has one, else the EPC's.
        eh_frame_registration: add an `EHFrameRegistrationPlugin` for ``es.epc`` (default),
            so C++ exceptions unwind through JIT'd frames.

    Raises:
        ValueError: no memory manager was given and the session has no EPC.
        MissingBootstrapSymbolError: LLVM 22 executor without the eh-frame alloc actions
            (pass ``eh_frame_registration=False`` to link without them).
    """

    def __init__(
        self,
        es: ExecutionSession,
        memory_manager: MemoryManager | None = None,
        *,
        page_size: int | None = None,
        eh_frame_registration: bool = True,
    ) -> None:
        epc = es.epc if isinstance(es.epc, ExecutorProcessControl) else None
        if memory_manager is None:
            if epc is None:
                raise ValueError(
                    "ObjectLinkingLayer needs a memory manager: the session has no "
                    "ExecutorProcessControl to take it from"
                )
            memory_manager = epc.memory_manager
        if page_size is None:
            found = getattr(memory_manager, "page_size", None)
            if isinstance(found, int):
                page_size = found
            elif epc is not None:
                page_size = epc.page_size
            else:
                page_size = _DEFAULT_PAGE_SIZE
        self._es = es
        self._memory_manager = memory_manager
        self._page_size = page_size
        self._plugins: list[LinkPlugin] = []
        self._allocations: dict[int, list[int]] = {}
        self._registered = False
        self._registering: asyncio.Event | None = None
        if eh_frame_registration and epc is not None:
            from ._link_ehframe import EHFrameRegistrationPlugin

            self._plugins.append(EHFrameRegistrationPlugin(epc))

    def __repr__(self) -> str:
        held = sum(len(bases) for bases in self._allocations.values())
        return (
            f"<ObjectLinkingLayer {self._es.name} plugins={len(self._plugins)} allocations={held}>"
        )

    @property
    def session(self) -> ExecutionSession:
        """The ExecutionSession."""
        return self._es

    @property
    def memory_manager(self) -> MemoryManager:
        """Where graphs get their memory."""
        return self._memory_manager

    @property
    def page_size(self) -> int:
        """The page size layouts are rounded to."""
        return self._page_size

    @property
    def plugins(self) -> tuple[LinkPlugin, ...]:
        """The plugins, in the order they run."""
        return tuple(self._plugins)

    def add_plugin(self, plugin: P) -> P:
        """Append ``plugin``: links that start from now on use it. Returns it."""
        self._plugins.append(plugin)
        return plugin

    def allocations(self, key: int) -> tuple[int, ...]:
        """The reservation bases filed under tracker ``key`` (a snapshot, for tests/tools)."""
        return tuple(self._allocations.get(key, ()))

    async def add(
        self, target: JITDylib | ResourceTracker, data: bytes | bytearray | memoryview, name: str
    ) -> None:
        """Define the object ``data`` (called ``name``) in a JITDylib, lazily.

        Its symbols (from the symbol table; an initializer section adds the init symbol
        ``$.<name>.__inits.0``) are defined at once; the object is linked when the first of
        them is looked up.

        Args:
            target: the JITDylib (its default tracker owns the definitions), or a tracker.
            data: the object file's bytes (copied).
            name: the object's name, for errors and dumps.

        Raises:
            ObjectFormatError: the file is not an x86-64 ELF relocatable object we support
                (one line naming the file and the problem).
            DuplicateDefinitionError: a strong symbol is already defined (LLVM 22 text:
                ``In <name>, duplicate definition of symbol 'x'``); nothing is added.
            JITDylibDefunctError, ResourceTrackerDefunctError: the target is gone.
        """
        mu = ObjectMaterializationUnit(self, bytes(data), name)
        await self._ensure_registered()
        if isinstance(target, ResourceTracker):
            await target.jitdylib.define(mu, target)
        else:
            await target.define(mu)

    async def emit(
        self, mr: MaterializationResponsibility, data: bytes | bytearray | memoryview, name: str
    ) -> None:
        """Link the object ``data`` for ``mr`` (LLVM ``ObjectLinkingLayer::emit``).

        What a unit's ``materialize`` calls (an IR compile layer, after compiling); called
        once per MR, on the session's loop. Returns when the symbols are emitted, or when
        the link failed: a link error is reported to the session (``es.report_error``) and
        fails ``mr``, never raised. The steps are `_link_driver`'s.
        """
        await self._emit(mr, bytes(data), name, None)

    async def _emit(
        self, mr: MaterializationResponsibility, data: bytes, name: str, elf: ElfObject | None
    ) -> None:
        """`emit`, with the object already read when the unit read it for its interface."""
        await self._ensure_registered()
        await link_object(
            mr,
            data,
            name,
            memory_manager=self._memory_manager,
            page_size=self._page_size,
            plugins=tuple(self._plugins),
            recorder=self,
            elf=elf,
        )

    # -- resources ----------------------------------------------------------------------------

    async def _ensure_registered(self) -> None:
        """Register as the session's resource manager, once; concurrent first callers wait
        for the one doing it (and try again themselves if it failed)."""
        while not self._registered:
            if self._registering is None:
                done = self._registering = asyncio.Event()
                try:
                    await self._es.register_resource_manager(self)
                    self._registered = True
                finally:
                    self._registering = None
                    done.set()
            else:
                await self._registering.wait()

    def record_allocation(self, key: int, base: int) -> None:
        """File a finalized reservation under tracker ``key``. Called by the link driver on
        the session's task (through ``with_resource_key_do``)."""
        self._allocations.setdefault(key, []).append(base)

    async def handle_remove_resources(self, jd: JITDylib, key: int) -> None:
        """Plugins first (LLVM 14 deregisters eh-frames), then one ``release`` of every
        allocation filed under ``key``. Every step runs; the first error is raised."""
        bases = self._allocations.pop(key, [])
        errors: list[BaseException] = []
        for plugin in self._plugins:
            try:
                await plugin.notify_remove_resources(jd, key)
            except Exception as exc:
                errors.append(exc)
        if bases:
            try:
                await self._memory_manager.release(bases)
            except Exception as exc:
                errors.append(exc)
        _raise_first(self._es, errors)

    def handle_transfer_resources(self, jd: JITDylib, dst_key: int, src_key: int) -> None:
        """Re-file ``src_key``'s allocations under ``dst_key``; tell the plugins."""
        moved = self._allocations.pop(src_key, None)
        if moved:
            self._allocations.setdefault(dst_key, []).extend(moved)
        for plugin in self._plugins:
            plugin.notify_transfer_resources(jd, dst_key, src_key)


def _raise_first(es: ExecutionSession, errors: Sequence[BaseException]) -> None:
    if not errors:
        return
    for extra in errors[1:]:
        es.report_error(extra)
    raise errors[0]
