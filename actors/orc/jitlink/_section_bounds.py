"""``__start_SEC`` / ``__stop_SEC``: bound to SEC's first and past-the-end addresses.

A static linker defines these for every section whose name is a C identifier, so C code can
walk a table built with ``__attribute__((section("SEC")))``. JITLink 14 does not know them and
22 binds them but may prune SEC first (jitlink-elf-x86-64.md §11.5). Here:

- `keep_bounded_sections_alive` (pre-prune) makes every block of SEC a root when the graph
  refers to ``__start_SEC`` or ``__stop_SEC`` and defines a section SEC;
- `define_section_bounds` (post-allocation) turns those external references into local
  absolute symbols at the section's bounds, so the driver never looks them up.

Only the graph's own section counts: a reference to another object's section stays external.
"""

from __future__ import annotations

from typing import Final

from ._graph import LinkGraph, Section, Symbol

__all__ = ["define_section_bounds", "keep_bounded_sections_alive"]

_PREFIXES: Final = ("__start_", "__stop_")


def _bounded(graph: LinkGraph) -> list[tuple[Symbol, Section, bool]]:
    """(external symbol, its section, is-start) for each bound symbol the graph can define."""
    found = []
    for name, symbol in graph.externals.items():
        for prefix in _PREFIXES:
            if name.startswith(prefix):
                section = graph.sections.get(name[len(prefix) :])
                if section is not None and section.blocks:
                    found.append((symbol, section, prefix == "__start_"))
    return found


def keep_bounded_sections_alive(graph: LinkGraph) -> None:
    """Pre-prune pass: keep every section named by a ``__start_``/``__stop_`` reference."""
    kept: set[str] = set()
    for _symbol, section, _is_start in _bounded(graph):
        if section.name in kept:
            continue
        kept.add(section.name)
        for block in section.blocks:
            graph.add_defined_symbol(block, 0, None, live=True)


def define_section_bounds(graph: LinkGraph) -> None:
    """Post-allocation pass: bind ``__start_SEC``/``__stop_SEC`` to SEC's address range."""
    for symbol, section, is_start in _bounded(graph):
        if is_start:
            address = min(block.address for block in section.blocks)
        else:
            address = max(block.address + block.size for block in section.blocks)
        graph.make_absolute(symbol, address)
