"""The asynchronous link driver: one object under one MaterializationResponsibility.

LLVM's JITLink context of ObjectLinkingLayer (22: ``LinkGraphLinkingLayer::JITLinkCtx``),
driving the linker core's phases (`actors.orc.jitlink.GraphLinker`) with the executor's
memory manager and the session's lookups in between (orcv2-reference.md §3.2,
jitlink-elf-x86-64.md §0). Pure work runs on a worker thread, so a large link never stalls
the session's loop; everything touching the session or the executor runs on the loop:

| # | where | step |
|---|---|---|
| 1 | thread | build the graph (`read_object`; from the unit's `read_elf` result if it has one) |
| 2 | loop | claim the weak definitions the MR is not responsible for (``define_materializing``); make the ones another definition won into external references |
| 3 | loop | plugins' ``notify_materializing`` (the object's bytes), ``modify_pass_config`` |
| 4 | thread | pre-prune passes (roots: the MR's symbols), prune, post-prune passes (GOT, stubs), layout |
| 5 | loop | one ``reserve`` of the graph's page-rounded size (the small code model keeps a graph within +-2 GiB) |
| 6 | thread | addresses, post-allocation passes |
| 7 | loop | Missing / Unexpected definitions checked; ``notify_resolved`` (lookups waiting for Resolved complete) |
| 8 | loop | the externals looked up in the target JITDylib's link order at state Resolved (weak references weakly), noting which JITDylib supplied each |
| 9 | thread | bind (weak missing -> 0), pre-fixup passes (relaxation), fixups, post-fixup passes, dependence groups |
| 10 | loop | plugins' ``notify_linked`` (alloc actions), ``finalize`` |
| 11 | loop | plugins' ``notify_emitted``; the allocation filed under the MR's tracker key; ``notify_emitted`` with one SymbolDependenceGroup per block |

On failure at any step: the reservation is released (if it was not filed under a tracker
yet), plugins hear ``notify_failed``, the error goes to ``es.report_error`` and the MR fails:
exactly the lookups that needed its symbols fail. Nothing is raised to the caller.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Iterable, Mapping, Sequence
from typing import TYPE_CHECKING, Any, Final, Protocol

import protocol
from protocol import AllocActionCallPair

from ._epc_memory import Segment
from ._errors import MissingSymbolDefinitionsError, UnexpectedSymbolDefinitionsError
from ._flags import (
    ExecutorSymbolDef,
    JITSymbolFlags,
    SymbolDependenceGroup,
    SymbolLookupFlags,
    SymbolLookupSet,
    SymbolState,
)
from ._link_plugin import LinkedGraph, LinkPlugin
from ._names import Name

if TYPE_CHECKING:
    from ._jitdylib import JITDylib
    from ._materialization import MaterializationResponsibility
    from .jitlink import ElfObject, GraphLinker, LinkGraph, LinkResult

__all__ = ["LinkRecorder", "MemoryManager", "link_object"]

_MSEO: Final = JITSymbolFlags.MATERIALIZATION_SIDE_EFFECTS_ONLY
_WEAK: Final = JITSymbolFlags.WEAK


class MemoryManager(Protocol):
    """What the layer needs of a JIT memory manager (the EPC's `EPCMemoryManager` fits; so
    does a slab allocator).

    ``reserve`` returns the page-aligned base of ``size`` bytes; ``finalize`` writes the
    segments (content, zero-fill, protection) and runs the finalize side of the actions;
    ``release`` frees reservations by base, running the dealloc side of their actions.
    """

    async def reserve(self, size: int) -> int:
        """Reserve ``size`` bytes; the base."""
        ...

    async def finalize(
        self, segments: Iterable[Segment], actions: Iterable[AllocActionCallPair] = ()
    ) -> object:
        """Write and protect ``segments``; run the actions' finalize side."""
        ...

    async def release(self, bases: Sequence[int]) -> None:
        """Free the reservations starting at ``bases``."""
        ...


class LinkRecorder(Protocol):
    """The layer's side of a link: where a finalized allocation is filed."""

    def record_allocation(self, key: int, base: int) -> None:
        """File the reservation at ``base`` under tracker ``key`` (on the session's task)."""
        ...


def _segment(segment: Any) -> Segment:
    from .jitlink import Lifetime

    return Segment(
        protocol.MemProt(int(segment.protection)),
        segment.address,
        segment.size,
        segment.content,
        finalize_lifetime=segment.lifetime is Lifetime.FINALIZE,
    )


def _claim_candidates(graph: LinkGraph, owned: Mapping[Name, JITSymbolFlags]) -> dict[str, Any]:
    """Weak non-local definitions of ``graph`` that the MR is not responsible for."""
    from .jitlink import Linkage, Scope

    found: dict[str, Any] = {}
    owned_names = {str(name) for name in owned}
    for symbol in graph.defined:
        name = symbol.name
        if (
            name is not None
            and symbol.linkage is Linkage.WEAK
            and symbol.scope is not Scope.LOCAL
            and name not in owned_names
        ):
            found[name] = symbol
    return found


def _claim_flags(symbol: Any) -> JITSymbolFlags:
    """LLVM's ``getJITSymbolFlagsForSymbol(sym) | Weak`` for a weak definition to claim."""
    from .jitlink import Scope

    flags = _WEAK
    if symbol.scope is Scope.DEFAULT:
        flags |= JITSymbolFlags.EXPORTED
    if symbol.callable:
        flags |= JITSymbolFlags.CALLABLE
    return flags


def _dependence_groups(
    graph: LinkGraph,
    owned: frozenset[str],
    target: JITDylib,
    sources: Mapping[str, JITDylib],
) -> list[SymbolDependenceGroup]:
    """One group per block defining owned symbols: its internal names (this JITDylib) and
    its externals that were not Ready when looked up (their JITDylibs)."""
    from .jitlink import dependence_groups

    groups: list[SymbolDependenceGroup] = []
    for group in dependence_groups(graph):
        symbols = [name for name in group.symbols if name in owned]
        if not symbols:
            continue
        dependencies: dict[JITDylib, set[str]] = {}
        internal = {name for name in group.internal if name in owned}
        if internal:
            dependencies[target] = internal
        for name in group.external:
            source = sources.get(name)
            if source is not None:
                dependencies.setdefault(source, set()).add(name)
        groups.append(SymbolDependenceGroup(symbols, dependencies))
    return groups


class _Link:
    """The state of one link (see the module docstring); `run` drives it."""

    def __init__(
        self,
        mr: MaterializationResponsibility,
        data: bytes,
        name: str,
        *,
        memory_manager: MemoryManager,
        page_size: int,
        plugins: Sequence[LinkPlugin],
        recorder: LinkRecorder,
        elf: ElfObject | None,
    ) -> None:
        self.mr = mr
        self.elf = elf
        self.es = mr.session
        self.data = data
        self.name = name
        self.memory_manager = memory_manager
        self.page_size = page_size
        self.plugins = plugins
        self.recorder = recorder
        self.base: int | None = None  # reserved and not yet filed under a tracker

    async def run(self) -> None:
        try:
            await self._link()
        except Exception as exc:
            await self._fail(exc)
        except BaseException:  # cancelled: free what we hold, fail the MR, go
            with contextlib.suppress(Exception):
                await asyncio.shield(self._cleanup())
            raise

    async def _link(self) -> None:
        from .jitlink import GraphLinker, build_graph, default_passes, read_object

        mr = self.mr
        if self.elf is not None:
            graph = await asyncio.to_thread(build_graph, self.elf)
        else:
            graph = await asyncio.to_thread(read_object, self.data, self.name)
        await self._claim_or_externalize(graph)
        owned = mr.symbols
        owned_names = frozenset(str(name) for name in owned)
        config = default_passes(live_symbols=owned_names)
        for plugin in self.plugins:
            plugin.notify_materializing(mr, graph, self.data)
        for plugin in self.plugins:
            plugin.modify_pass_config(mr, graph, config)
        linker = GraphLinker(graph, config, page_size=self.page_size)
        request = await asyncio.to_thread(linker.prepare)
        base = 0
        if request.size:
            base = await self.memory_manager.reserve(request.size)
            self.base = base
        await asyncio.to_thread(linker.allocate, base)
        await mr.notify_resolved(self._resolved(linker, owned, owned_names))
        sources: dict[str, JITDylib] = {}
        addresses = await self._lookup_externals(linker, sources)
        target = mr.target_jitdylib

        def finish() -> tuple[LinkResult, list[SymbolDependenceGroup]]:
            result = linker.finish(addresses)
            if not sources:
                # Every external was Ready when looked up: nothing this graph defines can
                # wait for anything (its internal dependencies are emitted in the same
                # call), so the groups (a walk over every block and edge) are not needed.
                return result, []
            return result, _dependence_groups(graph, owned_names, target, sources)

        result, groups = await asyncio.to_thread(finish)
        linked = LinkedGraph(graph=graph, result=result)
        for plugin in self.plugins:
            await plugin.notify_linked(mr, linked)
        if request.size:
            await self.memory_manager.finalize(
                [_segment(segment) for segment in result.segments], linked.actions
            )
        for plugin in self.plugins:
            await plugin.notify_emitted(mr, linked)
        if self.base is not None:
            await mr.with_resource_key_do(self._file_allocation)
        await mr.notify_emitted(groups)

    def _file_allocation(self, key: int) -> None:
        """On the session's task, atomically with tracker removal: the allocation now
        belongs to the tracker (removing it releases the memory)."""
        assert self.base is not None
        self.recorder.record_allocation(key, self.base)
        self.base = None

    async def _claim_or_externalize(self, graph: LinkGraph) -> None:
        """LLVM's ``claimOrExternalizeWeakAndCommonSymbols``: claim weak definitions nobody
        has yet; turn the others into references to the definition that won."""
        candidates = _claim_candidates(graph, self.mr.symbols)
        if not candidates:
            return
        await self.mr.define_materializing(
            {name: _claim_flags(symbol) for name, symbol in candidates.items()}
        )
        owned = {str(name) for name in self.mr.symbols}
        for name, symbol in candidates.items():
            if name in owned:
                symbol.live = True
            else:
                graph.make_external(symbol)

    def _resolved(
        self,
        linker: GraphLinker,
        owned: Mapping[Name, JITSymbolFlags],
        owned_names: frozenset[str],
    ) -> dict[Name, ExecutorSymbolDef]:
        """The MR's symbols (``owned``; ``owned_names`` their texts) with their addresses,
        after checking the graph defines exactly them (side-effects-only symbols excepted).
        The declared flags are reported, as LLVM does with ``OverrideObjectFlags`` (a common
        symbol stays COMMON)."""
        defined = linker.defined_addresses()
        resolved: dict[Name, ExecutorSymbolDef] = {}
        missing: list[Name] = []
        side_effects_only: dict[JITSymbolFlags, bool] = {}  # a few distinct flag values
        for name, flags in owned.items():
            # `flags & _MSEO` makes a new enum member (~0.7 us): once per distinct value.
            skip = side_effects_only.get(flags)
            if skip is None:
                skip = side_effects_only[flags] = bool(flags & _MSEO)
            if skip:
                continue
            address = defined.get(str(name))
            if address is None:
                missing.append(name)
            else:
                resolved[name] = ExecutorSymbolDef(address, flags)
        if missing:
            raise MissingSymbolDefinitionsError(self.name, sorted(map(str, missing)))
        extra = sorted(name for name in defined if name not in owned_names)
        if extra:
            raise UnexpectedSymbolDefinitionsError(self.name, extra)
        return resolved

    async def _lookup_externals(
        self, linker: GraphLinker, sources: dict[str, JITDylib]
    ) -> dict[str, int]:
        """Look the graph's externals up in the target JITDylib's link order at Resolved;
        fill ``sources`` with the JITDylib of each one not Ready yet."""
        externals = linker.external_symbols()
        if not externals:
            return {}
        lookup_set = SymbolLookupSet()
        for name, weak in externals.items():
            lookup_set.add(
                name,
                SymbolLookupFlags.WEAKLY_REFERENCED if weak else SymbolLookupFlags.REQUIRED,
            )

        def note_sources(dependencies: Mapping[JITDylib, set[Name]]) -> None:
            for jd, names in dependencies.items():
                for dep in names:
                    sources[str(dep)] = jd

        order = await self.mr.target_jitdylib.link_order()
        found = await self.es.lookup(
            order,
            lookup_set,
            required_state=SymbolState.RESOLVED,
            register_dependencies=note_sources,
        )
        return {str(name): definition.address for name, definition in found.items()}

    async def _cleanup(self) -> list[BaseException]:
        """Release an unfiled reservation and fail the MR; the errors met on the way."""
        errors: list[BaseException] = []
        if self.base is not None:
            base, self.base = self.base, None
            try:
                await self.memory_manager.release([base])
            except Exception as exc:
                errors.append(exc)
        try:
            await self.mr.fail_materialization()
        except Exception as exc:
            errors.append(exc)
        return errors

    async def _fail(self, error: BaseException) -> None:
        released: list[BaseException] = []
        if self.base is not None:
            base, self.base = self.base, None
            try:
                await self.memory_manager.release([base])
            except Exception as exc:
                released.append(exc)
        for plugin in self.plugins:
            try:
                await plugin.notify_failed(self.mr, error)
            except Exception as exc:
                released.append(exc)
        self.es.report_error(error)
        for extra in released:
            self.es.report_error(extra)
        try:
            await self.mr.fail_materialization()
        except Exception as exc:
            self.es.report_error(exc)


async def link_object(
    mr: MaterializationResponsibility,
    data: bytes,
    name: str,
    *,
    memory_manager: MemoryManager,
    page_size: int,
    plugins: Sequence[LinkPlugin],
    recorder: LinkRecorder,
    elf: ElfObject | None = None,
) -> None:
    """Link the object ``data`` (called ``name``) for ``mr`` (module docstring); never raises
    a link error: it is reported to the session and fails ``mr``.

    ``elf`` is ``data`` as `read_elf` already read it (the unit did, for its interface);
    None reads it here. Runs on the session's loop; exactly once per MR. Cancellation
    releases the reservation, fails the MR and propagates.
    """
    link = _Link(
        mr,
        data,
        name,
        memory_manager=memory_manager,
        page_size=page_size,
        plugins=plugins,
        recorder=recorder,
        elf=elf,
    )
    await link.run()
