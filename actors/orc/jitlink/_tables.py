"""GOT entries, PLT stubs and TLS descriptors (post-prune), and their relaxation (pre-fixup).

`build_tables` rewrites the ``REQUEST_*`` edges and calls to symbols this graph does not
define (jitlink-elf-x86-64.md §4.3):

- **GOT entry**: an 8-byte zero block in ``$__GOT`` (R, alignment 8) with one POINTER64 edge to
  the target; one per target symbol per graph, for every GOTPCREL, GOTPCRELX, REX_GOTPCRELX,
  GOTPCREL64 and GOT64 relocation, whatever the target is.
- **Stub**: ``FF 25 <rel32>`` (``jmp *slot(%rip)``), 6 bytes in ``$__STUBS`` (RX, alignment 1),
  with a DELTA32 edge (addend -4) at offset 2 to the target's GOT entry; one per target that a
  PLT32 call reaches and that is not defined in this graph (externals, absolutes). Calls to
  symbols defined here are direct.
- **TLS info entry** (TLSGD): 16 bytes in ``$__TLSINFO`` (R, alignment 8): a key word the TLS
  runtime's platform writes, then a POINTER64 to the variable. Without a TLS runtime TLSGD is
  refused, naming the variable (§11.2: glibc's ``__tls_get_addr`` would return garbage).
- ``_GLOBAL_OFFSET_TABLE_`` is defined (scope local) at the start of ``$__GOT`` whenever an edge
  needs it (GOTPC32/64, GOTOFF64, GOT64); if the graph has no GOT entry an empty GOT block is
  made for it to stand on.

`optimize_got_and_stubs` runs once all addresses are known (§4.4), testing the exact value it
would write (not JITLink's ``T - F + 4``; §4.4 "range test"):

- a call through a stub whose final target is within +-2 GiB calls the target directly;
- ``mov foo@GOTPCREL(%rip), %reg`` (opcode 8B, with or without REX) becomes ``lea`` (8D);
- ``call *foo@GOTPCREL(%rip)`` (FF 15, GOTPCRELX) becomes ``addr32 call rel32`` (67 E8) and
  ``jmp *foo@GOTPCREL(%rip)`` (FF 25) becomes ``jmp rel32; nop`` (E9 .. 90), both with the
  PC-relative displacement: JITLink writes the absolute address there (§4.4 "Defect"); we
  do not. They need the usual addend -4 (field last in the instruction).
- Anything else stays as is; GOT entries and stubs stay allocated even when unused.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Final

from ._builder import GOT_SYMBOL
from ._errors import ObjectFormatError
from ._graph import Block, LinkGraph, MemProt, Section, Symbol, SymbolKind
from ._x86_64 import EdgeKind, relocation_name

__all__ = [
    "GOT_SECTION",
    "STUBS_SECTION",
    "TLSINFO_SECTION",
    "build_tables",
    "optimize_got_and_stubs",
]

GOT_SECTION: Final = "$__GOT"
STUBS_SECTION: Final = "$__STUBS"
TLSINFO_SECTION: Final = "$__TLSINFO"

_STUB_BYTES: Final = b"\xff\x25\x00\x00\x00\x00"
_INT32_MIN: Final = -(1 << 31)
_INT32_MAX: Final = (1 << 31) - 1

_GOT_TRANSFORMS: Final = {
    EdgeKind.REQUEST_GOT_AND_TRANSFORM_TO_DELTA32: EdgeKind.DELTA32,
    EdgeKind.REQUEST_GOT_AND_TRANSFORM_TO_DELTA64: EdgeKind.DELTA64,
    EdgeKind.REQUEST_GOT_AND_TRANSFORM_TO_DELTA64_FROM_GOT: EdgeKind.DELTA64_FROM_GOT,
    EdgeKind.REQUEST_GOT_AND_TRANSFORM_TO_PCREL32_GOT_LOAD_RELAXABLE: (
        EdgeKind.PCREL32_GOT_LOAD_RELAXABLE
    ),
    EdgeKind.REQUEST_GOT_AND_TRANSFORM_TO_PCREL32_GOT_LOAD_REX_RELAXABLE: (
        EdgeKind.PCREL32_GOT_LOAD_REX_RELAXABLE
    ),
}


_REWRITTEN: Final = frozenset(
    {*_GOT_TRANSFORMS, EdgeKind.DELTA64_FROM_GOT, EdgeKind.REQUEST_TLSINFO_AND_TRANSFORM_TO_DELTA32}
)
"""The kinds `build_tables` acts on besides BRANCH_PCREL32."""

_RELAXABLE: Final = frozenset(
    {
        EdgeKind.BRANCH_PCREL32_TO_STUB_BYPASSABLE,
        EdgeKind.PCREL32_GOT_LOAD_RELAXABLE,
        EdgeKind.PCREL32_GOT_LOAD_REX_RELAXABLE,
    }
)
"""The kinds `optimize_got_and_stubs` looks at."""


class _Tables:
    """Creates entries on demand; the sections appear only when first needed."""

    def __init__(self, graph: LinkGraph) -> None:
        self.graph = graph

    def section(self, name: str, protection: MemProt) -> Section:
        return self.graph.add_section(name, protection)

    def got_entry(self, target: Symbol) -> Symbol:
        graph = self.graph
        entry = graph.got_entries.get(target)
        if entry is None:
            block = graph.add_content_block(
                self.section(GOT_SECTION, MemProt.READ), bytes(8), alignment=8
            )
            block.add_edge(EdgeKind.POINTER64, 0, target, 0)
            entry = graph.add_defined_symbol(block, 0, None, 8, live=True)
            graph.got_entries[target] = entry
        return entry

    def stub(self, target: Symbol) -> Symbol:
        graph = self.graph
        stub = graph.stubs.get(target)
        if stub is None:
            slot = self.got_entry(target)
            block = graph.add_content_block(
                self.section(STUBS_SECTION, MemProt.READ | MemProt.EXEC), _STUB_BYTES
            )
            block.add_edge(EdgeKind.DELTA32, 2, slot, -4)
            stub = graph.add_defined_symbol(block, 0, None, 6, callable=True, live=True)
            graph.stubs[target] = stub
        return stub

    def tlsinfo_entry(self, target: Symbol) -> Symbol:
        graph = self.graph
        entry = graph.tlsinfo_entries.get(target)
        if entry is None:
            block = graph.add_content_block(
                self.section(TLSINFO_SECTION, MemProt.READ), bytes(16), alignment=8
            )
            block.add_edge(EdgeKind.POINTER64, 8, target, 0)
            entry = graph.add_defined_symbol(block, 0, None, 16, live=True)
            graph.tlsinfo_entries[target] = entry
        return entry

    def define_got_symbol(self) -> None:
        graph = self.graph
        if graph.got_symbol is not None:
            return
        section = self.section(GOT_SECTION, MemProt.READ)
        if section.blocks:
            first = min(section.blocks, key=lambda block: (block.origin, block.ordinal))
        else:
            first = graph.add_content_block(section, b"", alignment=8)
        external = graph.externals.get(GOT_SYMBOL)
        if external is not None:
            graph.make_defined(external, first, 0)
            external.live = True
            graph.got_symbol = external
        else:
            graph.got_symbol = graph.add_defined_symbol(first, 0, GOT_SYMBOL, live=True)


def build_tables(*, tls_runtime: bool = False) -> Callable[[LinkGraph], None]:
    """A post-prune pass building GOT entries, stubs and TLS info entries (module docstring).

    Args:
        tls_runtime: True when a TLS runtime (the ORC runtime's ``__tls_get_addr``
            replacement) will serve TLSGD; otherwise a TLSGD relocation fails the link.

    Returns:
        The pass (``ObjectFormatError`` from it names the TLS variable and the file).
    """

    def build_tables_pass(graph: LinkGraph) -> None:
        tables = _Tables(graph)
        need_got = GOT_SYMBOL in graph.externals
        transforms = _GOT_TRANSFORMS
        # One turn per edge: branches (most edges) are tested first, and every kind this pass
        # leaves alone costs one set lookup.
        branch, defined, interesting = EdgeKind.BRANCH_PCREL32, SymbolKind.DEFINED, _REWRITTEN
        for block in [block for section in graph.sections.values() for block in section.blocks]:
            for edge in block.edges:
                kind = edge.kind
                if kind is branch:
                    target = edge.target
                    if target.kind is not defined:
                        edge.target = tables.stub(target)
                        edge.kind = EdgeKind.BRANCH_PCREL32_TO_STUB_BYPASSABLE
                elif kind not in interesting:
                    continue
                elif kind in transforms:
                    edge.target = tables.got_entry(edge.target)
                    edge.kind = transforms[kind]
                    need_got = need_got or kind is (
                        EdgeKind.REQUEST_GOT_AND_TRANSFORM_TO_DELTA64_FROM_GOT
                    )
                elif kind is EdgeKind.DELTA64_FROM_GOT:
                    need_got = True
                else:  # REQUEST_TLSINFO_AND_TRANSFORM_TO_DELTA32
                    if not tls_runtime:
                        raise ObjectFormatError(
                            graph.name,
                            f"thread-local variable '{edge.target.display_name}' is accessed "
                            f"with {relocation_name(edge.relocation)} in {block.section.name}, "
                            "which needs a TLS runtime (the ORC runtime); none is loaded",
                        )
                    edge.target = tables.tlsinfo_entry(edge.target)
                    edge.kind = EdgeKind.DELTA32
        if need_got:
            tables.define_got_symbol()

    build_tables_pass.__qualname__ = build_tables_pass.__name__ = "build_tables"
    return build_tables_pass


def _fits_int32(value: int) -> bool:
    return _INT32_MIN <= value <= _INT32_MAX


def _slot_target(entry: Symbol) -> Symbol | None:
    """What a GOT entry points at, or None if `entry` is not a GOT entry of the usual shape."""
    block = entry.block
    if block is None or block.section.name != GOT_SECTION or len(block.edges) != 1:
        return None
    return block.edges[0].target


def optimize_got_and_stubs(graph: LinkGraph) -> None:
    """Pre-fixup pass: bypass stubs and relax GOT loads whose target is in range (module
    docstring). Needs every address, so it runs after `GraphLinker.bind_externals`."""
    relaxable = _RELAXABLE
    for section in graph.sections.values():
        for block in section.blocks:
            # Most blocks have no relaxable edge (eh-frame records, data): one set lookup per
            # edge decides, before the per-block work.
            for edge in block.edges:
                if edge.kind in relaxable:
                    _relax_block(block)
                    break


def _relax_block(block: Block) -> None:
    content = block.content
    base = block.address
    relaxable = _RELAXABLE
    for edge in block.edges:
        kind = edge.kind
        if kind not in relaxable:
            continue
        if kind is EdgeKind.BRANCH_PCREL32_TO_STUB_BYPASSABLE:
            stub_block = edge.target.block
            if stub_block is None or not stub_block.edges:
                continue
            final = _slot_target(stub_block.edges[0].target)
            if final is not None and _fits_int32(final.address + edge.addend - base - edge.offset):
                edge.kind = EdgeKind.BRANCH_PCREL32
                edge.target = final
        else:  # PCREL32_GOT_LOAD_RELAXABLE, PCREL32_GOT_LOAD_REX_RELAXABLE
            offset = edge.offset
            final = _slot_target(edge.target)
            if final is None or content is None or offset < 2:
                continue
            fixup = base + offset
            opcode, modrm = content[offset - 2], content[offset - 1]
            if opcode == 0x8B:  # mov disp(%rip), reg -> lea disp(%rip), reg
                if _fits_int32(final.address + edge.addend - fixup):
                    content[offset - 2] = 0x8D
                    edge.kind = EdgeKind.DELTA32
                    edge.target = final
            elif (
                kind is EdgeKind.PCREL32_GOT_LOAD_RELAXABLE and opcode == 0xFF and edge.addend == -4
            ):
                if modrm == 0x15 and _fits_int32(final.address - 4 - fixup):
                    content[offset - 2] = 0x67  # addr32 prefix keeps the length at 6 bytes
                    content[offset - 1] = 0xE8  # call rel32
                    edge.kind = EdgeKind.BRANCH_PCREL32
                    edge.target = final
                elif (
                    modrm == 0x25
                    and offset + 4 <= len(content)
                    and _fits_int32(final.address - 4 - (fixup - 1))
                ):
                    content[offset - 2] = 0xE9  # jmp rel32, one byte earlier
                    content[offset + 3] = 0x90  # the freed last byte: nop
                    edge.offset = offset - 1
                    edge.kind = EdgeKind.BRANCH_PCREL32
                    edge.target = final
