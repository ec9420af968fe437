"""`GraphLinker`: JITLink's link pipeline as separate, synchronous phases.

The phases and where ObjectLinkingLayer plugins hook in (orcv2-reference.md §3.2,
jitlink-elf-x86-64.md §0). Each row is one method; a driver calls them in this order and may
stop between any two (to reserve executor memory, or to look up externals), since the linker
keeps all state in the object:

| # | method | does | pass list |
|---|---|---|---|
| 1 | `run_pre_prune_passes` | roots, eh-frame splitting, plugins | ``pre_prune`` |
| 2 | `prune` | dead stripping | — |
| 3 | `run_post_prune_passes` | GOT, stubs, TLS entries | ``post_prune`` |
| 4 | `allocation_request` | layout; size of the one reservation | — |
| 5 | `assign_addresses` (base) | addresses, working memory | — |
| 6 | `run_post_allocation_passes` | ``__start_``/``__stop_`` bounds, plugins | ``post_allocation`` |
| 7 | `defined_symbols`, `external_symbols` | for MR.notifyResolved and the lookup | — |
| 8 | `bind_externals` (addresses) | weak missing -> 0, strong missing -> error | — |
| 9 | `run_pre_fixup_passes` | GOT/stub relaxation, plugins | ``pre_fixup`` |
| 10 | `apply_fixups` | every edge, range-checked | — |
| 11 | `run_post_fixup_passes` | plugins (e.g. recording eh-frame ranges) | ``post_fixup`` |
| 12 | `result` | segments, eh-frame / init / section ranges | — |

`prepare`, `allocate` and `finish` run rows 1-4, 5-6 and 8-12 in one call each; `link` runs
everything for a caller-chosen base and a symbol resolver (``-noexec`` with ``-slab-address``,
tests). Calling a phase out of order raises RuntimeError; after any exception the linker is
failed and refuses further calls (the driver releases the reservation, if any).

Nothing here does I/O; a linker object is used by one thread at a time (the driver runs it on
a worker thread or inline, as it likes).
"""

from __future__ import annotations

import enum
from collections.abc import Callable, Iterable, Iterator, Mapping
from typing import Final, TypeVar

import attrs

from protocol import ExecutorAddrRange

from ._ehframe import EH_FRAME_SECTION, split_eh_frame
from ._errors import UnresolvedSymbolsError
from ._fixup import apply_fixups
from ._graph import Lifetime, LinkGraph, Scope, Symbol
from ._initializers import InitSection, collect_init_sections, keep_initializers_alive, run_order
from ._interface import SymbolFlags, graph_symbol_flags
from ._layout import AllocationRequest, Layout, Segment
from ._prune import mark_live, prune
from ._section_bounds import define_section_bounds, keep_bounded_sections_alive
from ._tables import build_tables, optimize_got_and_stubs

__all__ = [
    "DEFAULT_PAGE_SIZE",
    "DefinedSymbol",
    "GraphLinker",
    "LinkPhase",
    "LinkResult",
    "Pass",
    "PassConfiguration",
    "default_passes",
    "link",
]

DEFAULT_PAGE_SIZE: Final = 4096

Pass = Callable[[LinkGraph], None]
"""A graph pass: mutates the graph in place; raises `JITLinkError` to fail the link."""

_T = TypeVar("_T")


@attrs.define(kw_only=True)
class PassConfiguration:
    """The pass lists run at each hook point (JITLink's ``PassConfiguration``).

    Mutable on purpose: a driver starts from `default_passes` and its plugins append (or
    insert) their passes before the link starts; the linker reads the lists when each phase
    runs. ORC's pre-prune step that turns lost weak definitions into external references
    (`LinkGraph.make_external`) goes *before* ``mark_live`` (``pre_prune.insert(0, ...)``), so
    that only the definitions this graph keeps become roots.
    """

    pre_prune: list[Pass] = attrs.Factory(list)
    post_prune: list[Pass] = attrs.Factory(list)
    post_allocation: list[Pass] = attrs.Factory(list)
    pre_fixup: list[Pass] = attrs.Factory(list)
    post_fixup: list[Pass] = attrs.Factory(list)


def default_passes(
    *,
    live_symbols: Iterable[str] | None = None,
    keep_initializers: bool = False,
    init_symbol: str | None = None,
    tls_runtime: bool = False,
) -> PassConfiguration:
    """The backend's passes for x86-64 ELF, ready for plugins to extend.

    Args:
        live_symbols: roots for dead stripping; None = every non-local symbol the object
            defines (a stand-alone link). ORC passes the materialization's symbols.
        keep_initializers: keep ``.init_array``/``.fini_array``/``.ctors``/``.dtors`` alive
            (for a driver that runs them); JITLink without a platform prunes them.
        init_symbol: with `keep_initializers`, ORC's init symbol to define on them.
        tls_runtime: a TLS runtime serves TLSGD (else TLSGD fails the link, naming the variable).

    Returns:
        pre-prune: mark_live, split_eh_frame, keep_bounded_sections_alive
        [, keep_initializers_alive]; post-prune: build_tables; post-allocation:
        define_section_bounds; pre-fixup: optimize_got_and_stubs; post-fixup: nothing.
    """
    pre_prune: list[Pass] = [mark_live(live_symbols), split_eh_frame, keep_bounded_sections_alive]
    if keep_initializers:
        pre_prune.append(keep_initializers_alive(init_symbol))
    return PassConfiguration(
        pre_prune=pre_prune,
        post_prune=[build_tables(tls_runtime=tls_runtime)],
        post_allocation=[define_section_bounds],
        pre_fixup=[optimize_got_and_stubs],
        post_fixup=[],
    )


class LinkPhase(enum.IntEnum):
    """How far a `GraphLinker` has come; each phase method moves it one step."""

    CREATED = 0
    PRE_PRUNED = 1
    PRUNED = 2
    POST_PRUNED = 3
    LAID_OUT = 4
    ADDRESSED = 5
    POST_ALLOCATED = 6
    BOUND = 7
    PRE_FIXED = 8
    FIXED = 9
    DONE = 10
    FAILED = 11


@attrs.frozen
class DefinedSymbol:
    """A symbol the graph defines, as ORC's ``notifyResolved`` needs it (address + flags)."""

    address: int
    flags: SymbolFlags


@attrs.frozen(kw_only=True)
class LinkResult:
    """Everything a driver needs once a graph is linked.

    Attributes:
        graph: the graph's name.
        base: the reservation's start; ``size`` its page-rounded length.
        segments: the segments to transfer (content + zero-fill), in address order.
        symbols: the non-local defined symbols (absolute ones included) and their flags.
        eh_frame: ``.eh_frame`` from its first CIE to the end of the terminator, to register
            (14: a wrapper call after finalize; 22: an alloc-action pair); None if the graph
            has no live CFI record.
        init_sections: the live initializer/finalizer tables, in graph order.
        sections: the address range of every allocated section (``.tdata``/``.tbss`` give
            the TLS image; the checker's ``section_addr``).
        elf_sections: ELF section index -> the address its contents were loaded at, for
            the sections that got memory (what a debug-object plugin writes into ``sh_addr``).
            For ``.eh_frame``, split per record and pruned, it is where the first surviving
            record would put the section start.
    """

    graph: str
    base: int
    size: int
    segments: tuple[Segment, ...]
    symbols: Mapping[str, DefinedSymbol]
    eh_frame: ExecutorAddrRange | None
    init_sections: tuple[InitSection, ...]
    sections: Mapping[str, ExecutorAddrRange]
    elf_sections: Mapping[int, int]

    def initializers(self) -> tuple[int, ...]:
        """Constructor addresses in the order to call them (see `_initializers`)."""
        return run_order(self.init_sections, finalizers=False)

    def finalizers(self) -> tuple[int, ...]:
        """Destructor addresses in the order to call them at teardown."""
        return run_order(self.init_sections, finalizers=True)


class GraphLinker:
    """Links one `LinkGraph` phase by phase (module docstring has the table).

    Created by the driver per graph (per materialization); not reusable; one thread at a time.
    """

    def __init__(
        self,
        graph: LinkGraph,
        passes: PassConfiguration | None = None,
        *,
        page_size: int = DEFAULT_PAGE_SIZE,
    ) -> None:
        """Prepare to link `graph` with `passes` (default: `default_passes()`).

        Raises:
            ValueError: `page_size` is not a power of two.
        """
        if page_size <= 0 or page_size & (page_size - 1):
            raise ValueError(f"page size {page_size} is not a power of two")
        self.graph = graph
        self.passes = passes if passes is not None else default_passes()
        self.page_size = page_size
        self.phase = LinkPhase.CREATED
        self._layout: Layout | None = None

    def __repr__(self) -> str:
        return f"<GraphLinker {self.graph.name} phase={self.phase.name}>"

    # -- phase plumbing ---------------------------------------------------------------------

    def _step(self, expected: LinkPhase, action: Callable[[], _T]) -> _T:
        if self.phase is not expected:
            raise RuntimeError(
                f"{self.graph.name}: link phase {LinkPhase(expected + 1).name} needs phase "
                f"{expected.name}, but the linker is at {self.phase.name}"
            )
        try:
            result = action()
        except BaseException:
            self.phase = LinkPhase.FAILED
            raise
        self.phase = LinkPhase(expected + 1)
        return result

    def _run(self, passes: list[Pass]) -> None:
        for graph_pass in list(passes):
            graph_pass(self.graph)

    def _require(self, at_least: LinkPhase, what: str) -> None:
        if self.phase is LinkPhase.FAILED or self.phase < at_least:
            raise RuntimeError(
                f"{self.graph.name}: {what} needs phase {at_least.name}, linker is at "
                f"{self.phase.name}"
            )

    # -- the phases -------------------------------------------------------------------------

    def run_pre_prune_passes(self) -> None:
        """Phase 1: run ``passes.pre_prune`` (roots, eh-frame splitting, plugins)."""
        self._step(LinkPhase.CREATED, lambda: self._run(self.passes.pre_prune))

    def prune(self) -> None:
        """Phase 2: dead-strip everything not reachable from a live symbol."""
        self._step(LinkPhase.PRE_PRUNED, lambda: prune(self.graph))

    def run_post_prune_passes(self) -> None:
        """Phase 3: run ``passes.post_prune`` (GOT entries, stubs, TLS info, plugins)."""
        self._step(LinkPhase.PRUNED, lambda: self._run(self.passes.post_prune))

    def allocation_request(self) -> AllocationRequest:
        """Phase 4: lay the graph out; returns the size of the one reservation it needs.

        Raises:
            LayoutError: alignment above the page size, or more than 2 GiB.
        """

        def plan() -> AllocationRequest:
            self._layout = Layout.plan(self.graph, self.page_size)
            return self._layout.request()

        return self._step(LinkPhase.POST_PRUNED, plan)

    def assign_addresses(self, base: int) -> None:
        """Phase 5: place the layout at `base` (page-aligned; the driver's reservation).

        Raises:
            LayoutError: `base` is not page-aligned or the range overflows 64 bits.
        """

        def assign() -> None:
            assert self._layout is not None
            self._layout.assign(base)

        self._step(LinkPhase.LAID_OUT, assign)

    def run_post_allocation_passes(self) -> None:
        """Phase 6: run ``passes.post_allocation`` (section bounds, plugins)."""
        self._step(LinkPhase.ADDRESSED, lambda: self._run(self.passes.post_allocation))

    def defined_symbols(self) -> dict[str, DefinedSymbol]:
        """The graph's non-local named symbols with addresses and ORC flags.

        Available from phase 6 on (what ObjectLinkingLayer passes to ``notifyResolved``).
        Hidden and init symbols are included (ORC tracks them per JITDylib).
        """
        self._require(LinkPhase.POST_ALLOCATED, "defined_symbols")
        return {
            name: DefinedSymbol(address, graph_symbol_flags(symbol))
            for name, address, symbol in self._named_symbols()
        }

    def defined_addresses(self) -> dict[str, int]:
        """`defined_symbols` without the flags: name -> address (what a driver that reports
        the flags it declared needs; no `DefinedSymbol` per symbol). From phase 6 on."""
        self._require(LinkPhase.POST_ALLOCATED, "defined_addresses")
        return {name: address for name, address, _ in self._named_symbols()}

    def _named_symbols(self) -> Iterator[tuple[str, int, Symbol]]:
        local = Scope.LOCAL
        for symbols in (self.graph.defined, self.graph.absolutes):
            for symbol in symbols:
                name = symbol.name
                if name is not None and symbol.scope is not local:
                    block = symbol.block  # Symbol.address, without the property call
                    address = symbol._address if block is None else block.address + symbol.offset
                    yield name, address, symbol

    def external_symbols(self) -> dict[str, bool]:
        """External names to look up -> True if only weakly referenced (missing means 0).

        Available from phase 6 on; lists only what live code references.
        """
        self._require(LinkPhase.POST_ALLOCATED, "external_symbols")
        return {name: sym.weakly_referenced for name, sym in self.graph.externals.items()}

    def bind_externals(self, addresses: Mapping[str, int]) -> None:
        """Phase 7: give every external its address; weakly referenced missing ones get 0.

        Names in `addresses` the graph does not need are ignored.

        Raises:
            UnresolvedSymbolsError: strong externals are missing (all named, sorted).
            ValueError: an address is outside [0, 2**64).
        """

        def bind() -> None:
            missing = []
            for name, symbol in self.graph.externals.items():
                address = addresses.get(name)
                if address is None:
                    if not symbol.weakly_referenced:
                        missing.append(name)
                    address = 0
                elif not 0 <= address < 1 << 64:
                    raise ValueError(f"address {address:#x} for {name} is not a 64-bit address")
                self.graph.bind_external(symbol, address)
            if missing:
                raise UnresolvedSymbolsError(self.graph.name, missing)

        self._step(LinkPhase.POST_ALLOCATED, bind)

    def run_pre_fixup_passes(self) -> None:
        """Phase 8: run ``passes.pre_fixup`` (GOT/stub relaxation, plugins)."""
        self._step(LinkPhase.BOUND, lambda: self._run(self.passes.pre_fixup))

    def apply_fixups(self) -> None:
        """Phase 9: write every edge (see `_fixup`).

        Raises:
            FixupOverflowError: a value does not fit its field.
        """
        self._step(LinkPhase.PRE_FIXED, lambda: apply_fixups(self.graph))

    def run_post_fixup_passes(self) -> None:
        """Phase 10: run ``passes.post_fixup`` (plugins)."""
        self._step(LinkPhase.FIXED, lambda: self._run(self.passes.post_fixup))

    def result(self) -> LinkResult:
        """The linked segments and ranges (phase 11; may be called more than once)."""
        self._require(LinkPhase.DONE, "result")
        layout = self._layout
        assert layout is not None
        assert layout.base is not None
        graph = self.graph
        sections: dict[str, ExecutorAddrRange] = {}
        for section in graph.sections.values():
            if section.lifetime is Lifetime.NO_ALLOC or not section.blocks:
                continue
            start = min(block.address for block in section.blocks)
            end = max(block.address + block.size for block in section.blocks)
            sections[section.name] = ExecutorAddrRange(start, end)
        elf_sections: dict[int, int] = {}
        origins = graph.elf_section_origins
        for section in graph.sections.values():
            if section.lifetime is Lifetime.NO_ALLOC:
                continue
            for block in section.blocks:  # thousands: one per eh-frame record
                index = block.elf_section
                if index is not None:
                    start = block.address - (block.origin - origins.get(index, 0))
                    known = elf_sections.get(index)
                    if known is None or start < known:
                        elf_sections[index] = start
        eh_frame = None
        eh_section = graph.sections.get(EH_FRAME_SECTION)
        if eh_section is not None and len(eh_section.blocks) > 1:  # more than the terminator
            eh_frame = sections[EH_FRAME_SECTION]
        return LinkResult(
            graph=graph.name,
            base=layout.base,
            size=layout.size,
            segments=layout.segments(),
            symbols=self.defined_symbols(),
            eh_frame=eh_frame,
            init_sections=collect_init_sections(graph),
            sections=sections,
            elf_sections=elf_sections,
        )

    # -- grouped phases -----------------------------------------------------------------------

    def prepare(self) -> AllocationRequest:
        """Phases 1-4: everything up to the size of the reservation."""
        self.run_pre_prune_passes()
        self.prune()
        self.run_post_prune_passes()
        return self.allocation_request()

    def allocate(self, base: int) -> None:
        """Phases 5-6: addresses from `base`, then the post-allocation passes."""
        self.assign_addresses(base)
        self.run_post_allocation_passes()

    def finish(self, addresses: Mapping[str, int]) -> LinkResult:
        """Phases 7-11: bind externals, relax, fix up, post-fixup passes; the result."""
        self.bind_externals(addresses)
        self.run_pre_fixup_passes()
        self.apply_fixups()
        self.run_post_fixup_passes()
        return self.result()


def link(
    graph: LinkGraph,
    *,
    base: int,
    resolve: Mapping[str, int] | Callable[[str], int | None],
    passes: PassConfiguration | None = None,
    page_size: int = DEFAULT_PAGE_SIZE,
) -> LinkResult:
    """Link `graph` at `base` in one call, with no executor (``-noexec``/slab style).

    Args:
        graph: a fresh graph from `read_object`.
        base: where the allocation starts (page-aligned); nothing is mapped there.
        resolve: external addresses, as a mapping or a function returning None for unknown
            names (weakly referenced unknown names become 0).
        passes: default `default_passes()`.
        page_size: the target's page size.

    Raises:
        JITLinkError: any link failure (see the phase methods).
    """
    linker = GraphLinker(graph, passes, page_size=page_size)
    linker.prepare()
    linker.allocate(base)
    if callable(resolve):
        found = {name: resolve(name) for name in linker.external_symbols()}
        addresses = {name: address for name, address in found.items() if address is not None}
    else:
        addresses = dict(resolve)
    return linker.finish(addresses)
