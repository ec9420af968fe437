"""The link graph: sections of blocks, symbols on blocks, edges from blocks to symbols.

This is JITLink's ``LinkGraph`` model (jitlink-elf-x86-64.md §0):

- A `Section` has a name, a protection (`MemProt`), a `Lifetime` and an ordinal (creation
  order, which the layout sorts by). It holds `Block`\\ s.
- A `Block` is a contiguous piece of memory: content bytes (a ``bytearray`` while the graph is
  built; after `assign_addresses` a ``memoryview`` into the segment's working memory) or
  zero-fill (``content is None``), with a size, an alignment and an alignment offset, and the
  `Edge`\\ s (fixups) that patch it. ``address`` is 0 until layout assigns it; ``origin`` is its
  address in the object (the ELF section's ``sh_addr`` plus the block's offset), used only to
  order blocks.
- A `Symbol` is either *defined* (on a block, at an offset, with a size), *external* (a name
  to be bound by `LinkGraph.bind_external`, optionally weakly referenced) or *absolute* (a fixed
  address). It has a `Linkage` (strong/weak), a `Scope` (default/hidden/local), a callable flag
  and a live flag (a root for dead stripping). Names are ``str``; anonymous symbols (ELF
  section symbols, eh-frame records, GOT entries, stubs) have ``name is None``.
- An `Edge` says: at ``offset`` in its block, write the value of ``kind`` (`EdgeKind`) for
  ``target`` and ``addend``. ``relocation`` is the ELF relocation type it came from, or -1
  for edges the linker made.

`Block`, `Symbol` and `Edge` are mutable slotted classes, not attrs: a large object has
hundreds of thousands of edges, and passes rewrite them in place (JITLink does the same).
A graph belongs to one link and is used from one thread at a time.
"""

from __future__ import annotations

import enum
from collections.abc import Iterator

from ._x86_64 import EdgeKind

__all__ = [
    "Block",
    "Edge",
    "Lifetime",
    "LinkGraph",
    "Linkage",
    "MemProt",
    "Scope",
    "Section",
    "Symbol",
    "SymbolKind",
]


class _Enum(enum.Enum):
    """The graph's plain enums hash by identity: members are singletons compared by identity,
    and `enum.Enum`'s own ``__hash__`` (``hash(self._name_)``, a Python call) was a measurable
    share of the per-symbol dict lookups keyed by them (flags, layout groups)."""

    __hash__ = object.__hash__


class MemProt(enum.IntFlag):
    """Memory protection of a section or segment; the bits are the wire's (R=1, W=2, X=4)."""

    NONE = 0
    READ = 1
    WRITE = 2
    EXEC = 4

    def __str__(self) -> str:
        return "".join(
            letter if self & bit else "-"
            for letter, bit in (("R", MemProt.READ), ("W", MemProt.WRITE), ("X", MemProt.EXEC))
        )


class Lifetime(_Enum):
    """How long a section's memory lives (JITLink's ``MemLifetime``).

    STANDARD memory lives until the allocation is released; FINALIZE memory is needed only
    while finalize actions run; NO_ALLOC sections exist only in the controller's graph and are
    never given executor memory.
    """

    STANDARD = "standard"
    FINALIZE = "finalize"
    NO_ALLOC = "no-alloc"


class Linkage(_Enum):
    """Whether another definition of the same name may replace this one."""

    STRONG = "strong"
    WEAK = "weak"


class Scope(_Enum):
    """Visibility: DEFAULT (exported), HIDDEN (this JITDylib only), LOCAL (this graph only).

    SIDE_EFFECTS_ONLY (JITLink 22's scope of the same name) marks an init symbol: it is
    reported to ORC so that looking it up runs the link, but it has no meaningful address.
    """

    DEFAULT = "default"
    HIDDEN = "hidden"
    LOCAL = "local"
    SIDE_EFFECTS_ONLY = "side-effects-only"


class SymbolKind(_Enum):
    """Where a symbol's address comes from."""

    DEFINED = "defined"
    EXTERNAL = "external"
    ABSOLUTE = "absolute"


class Edge:
    """A fixup: at ``offset`` in its block write ``kind``'s value for ``target`` + ``addend``."""

    __slots__ = ("addend", "kind", "offset", "relocation", "target")

    def __init__(
        self, kind: EdgeKind, offset: int, target: Symbol, addend: int, relocation: int = -1
    ) -> None:
        """Make an edge; attach it with `Block.add_edge`."""
        self.kind = kind
        self.offset = offset
        self.target = target
        self.addend = addend
        self.relocation = relocation

    def __repr__(self) -> str:
        return (
            f"<Edge {self.kind.name} +{self.offset:#x} -> {self.target.display_name}"
            f"{self.addend:+#x}>"
        )


class Block:
    """A contiguous piece of a section: content bytes or zero-fill, plus its edges."""

    __slots__ = (
        "address",
        "alignment",
        "alignment_offset",
        "content",
        "edges",
        "elf_section",
        "live",
        "ordinal",
        "origin",
        "section",
        "size",
    )

    content: bytearray | memoryview | None

    def __init__(
        self,
        section: Section,
        content: bytearray | None,
        size: int,
        alignment: int,
        alignment_offset: int,
        origin: int,
        ordinal: int,
        elf_section: int | None,
    ) -> None:
        """Made by `LinkGraph.add_content_block` and `LinkGraph.add_zero_fill_block` only."""
        self.section = section
        self.content = content
        self.size = size
        self.alignment = alignment
        self.alignment_offset = alignment_offset
        self.origin = origin
        self.ordinal = ordinal
        self.elf_section = elf_section
        self.edges: list[Edge] = []
        self.address = 0
        self.live = False

    @property
    def is_zero_fill(self) -> bool:
        """True for a block without content (``.bss``, commons): memory is zeroed instead."""
        return self.content is None

    def add_edge(
        self, kind: EdgeKind, offset: int, target: Symbol, addend: int, relocation: int = -1
    ) -> Edge:
        """Append an edge patching this block at `offset` and return it."""
        edge = Edge(kind, offset, target, addend, relocation)
        self.edges.append(edge)
        return edge

    def __repr__(self) -> str:
        kind = "zero-fill" if self.content is None else "content"
        return (
            f"<Block {self.section.name} {kind} size={self.size:#x} align={self.alignment} "
            f"address={self.address:#x} edges={len(self.edges)}>"
        )


class Symbol:
    """A named or anonymous address: defined on a block, external, or absolute."""

    __slots__ = (
        "_address",
        "block",
        "callable",
        "kind",
        "linkage",
        "live",
        "name",
        "offset",
        "scope",
        "size",
        "weakly_referenced",
    )

    def __init__(
        self,
        name: str | None,
        kind: SymbolKind,
        *,
        block: Block | None = None,
        offset: int = 0,
        size: int = 0,
        linkage: Linkage = Linkage.STRONG,
        scope: Scope = Scope.LOCAL,
        callable: bool = False,
        live: bool = False,
        address: int = 0,
        weakly_referenced: bool = False,
    ) -> None:
        """Made by the `LinkGraph.add_*_symbol` methods only."""
        self.name = name
        self.kind = kind
        self.block = block
        self.offset = offset
        self.size = size
        self.linkage = linkage
        self.scope = scope
        self.callable = callable
        self.live = live
        self._address = address
        self.weakly_referenced = weakly_referenced

    @property
    def address(self) -> int:
        """The symbol's address: block address + offset, or the absolute/bound address."""
        block = self.block
        if block is not None:
            return block.address + self.offset
        return self._address

    @property
    def is_defined(self) -> bool:
        """True if the symbol lives on a block of this graph."""
        return self.kind is SymbolKind.DEFINED

    @property
    def display_name(self) -> str:
        """The name, or ``<anonymous>`` (used in errors and dumps)."""
        return self.name if self.name is not None else "<anonymous>"

    def __repr__(self) -> str:
        return (
            f"<Symbol {self.display_name} {self.kind.value} {self.linkage.value} "
            f"{self.scope.value} address={self.address:#x}{' live' if self.live else ''}>"
        )


class Section:
    """A named group of blocks with one protection and lifetime."""

    __slots__ = ("blocks", "lifetime", "name", "ordinal", "protection")

    def __init__(self, name: str, protection: MemProt, lifetime: Lifetime, ordinal: int) -> None:
        """Made by `LinkGraph.add_section` only."""
        self.name = name
        self.protection = protection
        self.lifetime = lifetime
        self.ordinal = ordinal
        self.blocks: list[Block] = []

    def __repr__(self) -> str:
        return (
            f"<Section {self.name} {self.protection} {self.lifetime.value} "
            f"blocks={len(self.blocks)}>"
        )


def _check_alignment(alignment: int, alignment_offset: int) -> None:
    if alignment <= 0 or alignment & (alignment - 1):
        raise ValueError(f"block alignment {alignment} is not a power of two")
    if not 0 <= alignment_offset < alignment:
        raise ValueError(f"alignment offset {alignment_offset} not below {alignment}")


class LinkGraph:
    """One object's sections, blocks, symbols and edges, as `read_object` builds it.

    Created by `read_object` (or by hand in tests); mutated by passes; used by one thread at a
    time. Lookups by name see non-local symbols only (defined, external or absolute).
    """

    def __init__(self, name: str) -> None:
        """An empty graph named `name` (the object's file name; it appears in every error)."""
        self.name = name
        self.sections: dict[str, Section] = {}
        self.defined: list[Symbol] = []  # defined symbols, named or not, in creation order
        self.externals: dict[str, Symbol] = {}
        self.absolutes: list[Symbol] = []
        self.comdat_groups: dict[str, list[Block]] = {}  # signature -> member blocks
        self.elf_section_origins: dict[int, int] = {}  # loaded ELF section index -> sh_addr
        # Made by the GOT/stub pass (keyed by the symbol they point to), for fixups, the
        # checker (got_addr/stub_addr) and dumps.
        self.got_entries: dict[Symbol, Symbol] = {}
        self.stubs: dict[Symbol, Symbol] = {}
        self.tlsinfo_entries: dict[Symbol, Symbol] = {}
        self.got_symbol: Symbol | None = None  # _GLOBAL_OFFSET_TABLE_ once defined
        self._block_count = 0

    def __repr__(self) -> str:
        return (
            f"<LinkGraph {self.name} sections={len(self.sections)} "
            f"symbols={len(self.defined)} externals={len(self.externals)}>"
        )

    # -- construction ------------------------------------------------------------------------

    def add_section(
        self, name: str, protection: MemProt, lifetime: Lifetime = Lifetime.STANDARD
    ) -> Section:
        """Create section `name`, or return the existing one if its attributes match.

        Raises:
            ValueError: a section of that name exists with another protection or lifetime.
        """
        section = self.sections.get(name)
        if section is not None:
            if section.protection != protection or section.lifetime != lifetime:
                raise ValueError(
                    f"section {name} is present more than once with different permissions "
                    f"({section.protection} {section.lifetime.value} vs {protection} "
                    f"{lifetime.value})"
                )
            return section
        section = Section(name, protection, lifetime, len(self.sections))
        self.sections[name] = section
        return section

    def add_content_block(
        self,
        section: Section,
        content: bytes | bytearray | memoryview,
        *,
        alignment: int = 1,
        alignment_offset: int = 0,
        origin: int = 0,
        elf_section: int | None = None,
    ) -> Block:
        """Append a block holding a copy of `content` to `section`."""
        return self._add_block(
            section,
            bytearray(content),
            len(content),
            alignment,
            alignment_offset,
            origin,
            elf_section,
        )

    def add_zero_fill_block(
        self,
        section: Section,
        size: int,
        *,
        alignment: int = 1,
        alignment_offset: int = 0,
        origin: int = 0,
        elf_section: int | None = None,
    ) -> Block:
        """Append a zero-filled block of `size` bytes to `section`."""
        return self._add_block(
            section, None, size, alignment, alignment_offset, origin, elf_section
        )

    def _add_block(
        self,
        section: Section,
        content: bytearray | None,
        size: int,
        alignment: int,
        alignment_offset: int,
        origin: int,
        elf_section: int | None,
    ) -> Block:
        _check_alignment(alignment, alignment_offset)
        block = Block(
            section,
            content,
            size,
            alignment,
            alignment_offset,
            origin,
            self._block_count,
            elf_section,
        )
        self._block_count += 1
        section.blocks.append(block)
        return block

    def split_into_blocks(
        self,
        section: Section,
        content: bytes | bytearray | memoryview,
        pieces: list[tuple[int, int]],
        *,
        alignment: int,
        origin: int,
        elf_section: int | None,
    ) -> list[Block]:
        """Append one content block per ``(start, end)`` piece of `content` to `section`, each
        a copy of those bytes at origin ``origin + start``, and return them in order.

        `add_content_block` per piece, with the alignment checked once: the eh-frame splitter
        makes a block per CFI record, thousands in a large object.
        """
        _check_alignment(alignment, 0)
        ordinal = self._block_count
        blocks = [
            Block(
                section,
                bytearray(content[start:end]),
                end - start,
                alignment,
                0,
                origin + start,
                ordinal + number,
                elf_section,
            )
            for number, (start, end) in enumerate(pieces)
        ]
        self._block_count = ordinal + len(blocks)
        section.blocks.extend(blocks)
        return blocks

    def add_block_symbols(self, blocks: list[Block]) -> list[Symbol]:
        """Define an anonymous local symbol at offset 0 of each block, spanning it (what the
        eh-frame splitter gives each CFI record), and return them in order."""
        symbols = [
            Symbol(None, SymbolKind.DEFINED, block=block, size=block.size) for block in blocks
        ]
        self.defined.extend(symbols)
        return symbols

    def add_defined_symbol(
        self,
        block: Block,
        offset: int,
        name: str | None,
        size: int = 0,
        *,
        linkage: Linkage = Linkage.STRONG,
        scope: Scope = Scope.LOCAL,
        callable: bool = False,
        live: bool = False,
    ) -> Symbol:
        """Define a symbol at `offset` in `block` (anonymous if `name` is None)."""
        symbol = Symbol(
            name,
            SymbolKind.DEFINED,
            block=block,
            offset=offset,
            size=size,
            linkage=linkage,
            scope=scope,
            callable=callable,
            live=live,
        )
        self.defined.append(symbol)
        return symbol

    def add_external_symbol(self, name: str, *, weakly_referenced: bool = False) -> Symbol:
        """The external symbol `name` (created once; weak only while every reference is)."""
        symbol = self.externals.get(name)
        if symbol is None:
            symbol = Symbol(
                name, SymbolKind.EXTERNAL, scope=Scope.DEFAULT, weakly_referenced=weakly_referenced
            )
            self.externals[name] = symbol
        elif not weakly_referenced:
            symbol.weakly_referenced = False
        return symbol

    def add_absolute_symbol(
        self,
        name: str | None,
        address: int,
        *,
        size: int = 0,
        linkage: Linkage = Linkage.STRONG,
        scope: Scope = Scope.LOCAL,
        callable: bool = False,
        live: bool = False,
    ) -> Symbol:
        """A symbol at a fixed `address` (an ELF ``SHN_ABS`` symbol, or a driver's)."""
        symbol = Symbol(
            name,
            SymbolKind.ABSOLUTE,
            size=size,
            linkage=linkage,
            scope=scope,
            callable=callable,
            live=live,
            address=address,
        )
        self.absolutes.append(symbol)
        return symbol

    # -- mutation by passes --------------------------------------------------------------------

    def make_external(self, symbol: Symbol) -> None:
        """Turn defined `symbol` into an external reference to its name, in place.

        Used by ORC's pre-prune pass for weak definitions that lost to another object's: the
        edges that targeted the definition now bind to the winner, and the block is pruned if
        nothing else keeps it.

        Raises:
            ValueError: the symbol is anonymous, local, or not defined in this graph.
        """
        if symbol.kind is not SymbolKind.DEFINED or symbol.name is None:
            raise ValueError(f"{symbol!r} is not a named defined symbol")
        if symbol.scope is Scope.LOCAL:
            raise ValueError(f"local symbol {symbol.name} cannot become external")
        if symbol.name in self.externals:
            raise ValueError(f"{self.name} already has an external symbol {symbol.name}")
        self.defined.remove(symbol)
        symbol.kind = SymbolKind.EXTERNAL
        symbol.block = None
        symbol.offset = 0
        symbol.scope = Scope.DEFAULT
        symbol.linkage = Linkage.STRONG
        symbol.weakly_referenced = False
        self.externals[symbol.name] = symbol

    def make_absolute(self, symbol: Symbol, address: int) -> None:
        """Turn external `symbol` into an absolute symbol at `address` (a local binding made
        by a pass, e.g. ``__start_SEC``), in place; it is no longer listed as external.

        Raises:
            ValueError: `symbol` is not an external symbol of this graph.
        """
        if symbol.kind is not SymbolKind.EXTERNAL or symbol.name not in self.externals:
            raise ValueError(f"{symbol!r} is not an external symbol of {self.name}")
        del self.externals[symbol.name]
        symbol.kind = SymbolKind.ABSOLUTE
        symbol._address = address
        symbol.scope = Scope.LOCAL
        self.absolutes.append(symbol)

    def make_defined(self, symbol: Symbol, block: Block, offset: int) -> None:
        """Turn external `symbol` into a local definition at `offset` in `block`, in place.

        Raises:
            ValueError: `symbol` is not an external symbol of this graph.
        """
        if symbol.kind is not SymbolKind.EXTERNAL or symbol.name not in self.externals:
            raise ValueError(f"{symbol!r} is not an external symbol of {self.name}")
        del self.externals[symbol.name]
        symbol.kind = SymbolKind.DEFINED
        symbol.block = block
        symbol.offset = offset
        symbol.scope = Scope.LOCAL
        self.defined.append(symbol)

    def bind_external(self, symbol: Symbol, address: int) -> None:
        """Give external `symbol` its address (after the driver looked it up)."""
        assert symbol.kind is SymbolKind.EXTERNAL
        symbol._address = address

    # -- queries -------------------------------------------------------------------------------

    def blocks(self) -> Iterator[Block]:
        """Every block, section by section in creation order."""
        for section in self.sections.values():
            yield from section.blocks

    def find_symbol(self, name: str) -> Symbol | None:
        """The non-local symbol called `name` (defined, absolute or external), or None."""
        for symbol in self.defined:
            if symbol.name == name and symbol.scope is not Scope.LOCAL:
                return symbol
        for symbol in self.absolutes:
            if symbol.name == name and symbol.scope is not Scope.LOCAL:
                return symbol
        return self.externals.get(name)

    def find_got_entry(self, name: str) -> Symbol | None:
        """The GOT entry the GOT pass made for target `name`, or None (``got_addr`` of the
        ``-check`` language)."""
        return next((e for t, e in self.got_entries.items() if t.name == name), None)

    def find_stub(self, name: str) -> Symbol | None:
        """The stub the GOT pass made for target `name`, or None (``stub_addr``)."""
        return next((s for t, s in self.stubs.items() if t.name == name), None)

    def find_defined(self, name: str) -> Symbol | None:
        """The defined symbol called `name`, local ones included (first match), or None."""
        for symbol in self.defined:
            if symbol.name == name:
                return symbol
        return None
