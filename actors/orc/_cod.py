"""CompileOnDemandLayer: each function of a module compiles on its first call.

LLVM's CompileOnDemandLayer (14), which 22 splits into IRPartitionLayer and
CompileOnDemandLayer (orcv2-reference.md §2.3), over lazy reexports (``_lazy``) and module
partitioning (``_ir_partition``):

1. ``add(jd, module)`` defines the module's interface in ``jd`` (an `IRMaterializationUnit`,
   as every IR layer does).
2. When a lookup first asks for one of those symbols, `CompileOnDemandLayer.emit` runs once
   for the module: it makes (once per JITDylib) an implementation JITDylib ``<jd>.impl``
   placed right after ``jd`` in both link orders, defines there a *partitioning unit* holding
   the module with its locals promoted, and replaces the symbols in ``jd``: functions by lazy
   reexports of their ``impl`` definitions (stubs), everything else (variables, the init
   symbol) by plain reexports.
3. A stub's first call looks its body up in ``impl``: the partitioning unit extracts a
   partition (by default just the requested functions; with any variable, all remaining
   variables: globals live in one shared partition), hands the rest back to ``impl`` as a new
   partitioning unit, and sends the partition module down to the base layer (compile, link).

Because the partitions resolve their references through ``jd`` first, a call from one lazily
compiled function to another goes through the other's stub, which compiles it on its own
first call.

Limitations, as in LLVM: what lands in ``impl`` stays there when a tracker of ``jd`` is
removed (it belongs to ``impl``'s default tracker); a later change of ``jd``'s link order does
not reach ``impl``.
"""

from __future__ import annotations

import asyncio
import itertools
from collections.abc import Callable, Collection
from typing import TYPE_CHECKING, Final

from ._flags import JITDylibLookupFlags, JITSymbolFlags, SymbolAliasMapEntry
from ._ir import IRModule, IRTarget
from ._ir_layers import IRLayer
from ._ir_partition import PartitionSource, expand_partition, extract, prepare_partitioning
from ._jitdylib import JITDylib
from ._lazy import LazyReexportsManager, lazy_reexports
from ._materialization import MaterializationResponsibility, MaterializationUnit
from ._names import Name, NameMap
from ._units import reexports

if TYPE_CHECKING:
    from ._session import ExecutionSession

__all__ = [
    "CompileOnDemandLayer",
    "PartitionFunction",
    "compile_requested",
    "compile_whole_module",
]

PartitionFunction = Callable[[frozenset[str], Collection[str]], Collection[str] | None]
"""Chooses what to compile when some functions are requested: ``(requested, remaining)`` (IR
names) -> the IR names to compile together, or None for all that remain (the whole module).
The result is then grown by LLVM's rule (any variable brings all remaining variables)."""

_MATCH_ALL: Final = JITDylibLookupFlags.MATCH_ALL_SYMBOLS
_MSEO: Final = JITSymbolFlags.MATERIALIZATION_SIDE_EFFECTS_ONLY


def compile_requested(requested: frozenset[str], remaining: Collection[str]) -> Collection[str]:
    """The default partition: just what was requested (LLVM ``compileRequested``)."""
    return requested


def compile_whole_module(
    requested: frozenset[str], remaining: Collection[str]
) -> Collection[str] | None:
    """Compile everything that remains at the first request (LLVM ``compileWholeModule``)."""
    return None


class CompileOnDemandLayer(IRLayer):
    """Splits modules so that each function compiles on its first call (module docstring).

    Args:
        es: the session.
        base: the layer partitions go to (an `IRTransformLayer` or `IRCompileLayer`).
        lazy: the session's `LazyReexportsManager` (stubs and reentry).
        partition: how much to compile per request (`compile_requested`, the default, or
            `compile_whole_module`, or your own `PartitionFunction`).
    """

    def __init__(
        self,
        es: ExecutionSession,
        base: IRLayer,
        lazy: LazyReexportsManager,
        *,
        partition: PartitionFunction = compile_requested,
    ) -> None:
        super().__init__(es)
        self._base = base
        self._lazy = lazy
        self.partition = partition
        self._impls: dict[JITDylib, JITDylib] = {}
        self._impl_lock = asyncio.Lock()
        self._promotions = itertools.count()
        self._partitions = itertools.count()

    def __repr__(self) -> str:
        return f"<CompileOnDemandLayer over {self._base!r}>"

    @property
    def target(self) -> IRTarget:
        """The base layer's target."""
        return self._base.target

    @property
    def base(self) -> IRLayer:
        """The layer partitions are emitted through."""
        return self._base

    async def implementation_dylib(self, jd: JITDylib) -> JITDylib:
        """``<jd>.impl``, made on first use and linked as LLVM links it (module docstring)."""
        async with self._impl_lock:  # two modules of one JITDylib: one impl
            impl = self._impls.get(jd)
            if impl is None:
                impl = await self._es.create_jitdylib(f"{jd.name}.impl")
                order = await jd.link_order()
                if not order or order[0] != (jd, _MATCH_ALL):
                    raise ValueError(
                        f"{jd.name} must come first in its own link order (match all) for "
                        "CompileOnDemand"
                    )
                new_order = [order[0], (impl, _MATCH_ALL), *order[1:]]
                await impl.set_link_order(new_order, link_against_self_first=False)
                await jd.set_link_order(new_order, link_against_self_first=False)
                self._impls[jd] = impl
            return impl

    async def emit(self, mr: MaterializationResponsibility, module: IRModule) -> None:
        """Move the module into ``<jd>.impl`` and put stubs and reexports in its place."""
        jd = mr.target_jitdylib
        impl = await self.implementation_dylib(jd)
        source = await asyncio.to_thread(prepare_partitioning, module, self._promotions)
        init = mr.initializer_symbol
        symbols: dict[str | Name, JITSymbolFlags] = {
            name: flags for name, flags in source.interface.symbols.items()
        }
        if init is not None:
            symbols[init] = _MSEO
        await impl.define(_PartitioningUnit(self, source, symbols, init))
        callables: dict[str | Name, SymbolAliasMapEntry] = {}
        others: dict[str | Name, SymbolAliasMapEntry] = {}
        for name, flags in mr.symbols.items():
            entry = SymbolAliasMapEntry(name, flags)
            if flags & JITSymbolFlags.CALLABLE:
                callables[name] = entry
            else:
                others[name] = entry
        if others:
            await mr.replace(reexports(impl, others, _MATCH_ALL))
        if callables:
            await mr.replace(lazy_reexports(self._lazy, impl, callables))

    async def _emit_partition(
        self,
        mr: MaterializationResponsibility,
        unit: _PartitioningUnit,
    ) -> None:
        """The partitioning unit's materialization (module docstring, step 3)."""
        source = unit.source
        by_linker_name = source.interface.ir_names
        requested = {str(n) for n in await mr.get_requested_symbols()}
        init = unit.init_symbol_name
        with_init = init is not None and init in requested
        remaining = {by_linker_name[str(n)] for n in mr.symbols if str(n) in by_linker_name}
        wanted = frozenset(by_linker_name[n] for n in requested if n in by_linker_name)
        chosen = self.partition(wanted, remaining) if source.splittable else None
        if chosen is None:
            partition = set(remaining)
            with_init = init is not None
        else:
            partition = expand_partition(source, set(chosen) & remaining, remaining)
            if with_init:
                partition |= source.variables & remaining  # the init arrays use them
        if not partition and not with_init:  # the init arrays alone make a module
            raise ValueError(
                f"the partition function chose nothing of {sorted(wanted)} in {source.module.name}"
            )
        kept = {
            name: flags
            for name, flags in mr.symbols.items()
            if by_linker_name.get(str(name)) in partition or (with_init and str(name) == init)
        }
        rest = {name: flags for name, flags in mr.symbols.items() if name not in kept}
        if rest:
            # The unit's symbols are interned names: its init symbol must be one of them.
            rest_init = next((n for n in rest if str(n) == init), None) if not with_init else None
            await mr.replace(_PartitioningUnit(self, source, rest, rest_init))
        name = f"{source.module.name}.part{next(self._partitions)}"
        module = await asyncio.to_thread(
            extract, source, partition, with_static_init=with_init, name=name
        )
        await self._base.emit(mr, module)


class _PartitioningUnit(MaterializationUnit):
    """The module (locals promoted) in ``<jd>.impl``: compiles a partition per request."""

    def __init__(
        self,
        layer: CompileOnDemandLayer,
        source: PartitionSource,
        symbols: NameMap[JITSymbolFlags],
        init_symbol: str | Name | None,
    ) -> None:
        super().__init__(symbols, init_symbol)
        self._layer = layer
        self.source = source
        self.init_symbol_name = None if init_symbol is None else str(init_symbol)

    @property
    def name(self) -> str:
        """The module's name."""
        return self.source.module.name

    async def materialize(self, mr: MaterializationResponsibility) -> None:
        """Compile the partition of the requested symbols; hand the rest back."""
        await self._layer._emit_partition(mr, self)
