"""Initializer and finalizer sections: which they are, keeping them alive, reading them out.

Sections (jitlink-elf-x86-64.md §7.1): ``.init_array`` and ``.init_array.NNNNN``,
``.fini_array(.NNNNN)``, ``.preinit_array``, and the legacy ``.ctors(.NNNNN)`` and
``.dtors(.NNNNN)``; all hold 8-byte function pointers (R_X86_64_64). ORC's init symbol exists
when the object has an *initializer* section: ``.init_array``, ``.init`` or ``.ctors``, each
optionally with a ``.NNNNN`` suffix (22's ``ObjectFormats.cpp``).

Without a platform JITLink prunes these sections (nothing references them); a driver that runs
constructors adds `keep_initializers_alive` to the pre-prune passes, which makes each of their
blocks a root and, given ORC's init-symbol name, defines that symbol (scope
SIDE_EFFECTS_ONLY) on the first one.

Run order, as a static linker and glibc arrange it (§11.7): ``.preinit_array`` first, then by
priority (``.init_array.N`` is N, ``.ctors.N`` is 65535 - N, unsuffixed sections 65536), then
section order, then entry order (``.ctors`` entries reversed). Finalizers run in the reverse
of the same order computed over ``.fini_array``/``.dtors`` (``.dtors`` entries reversed first).
"""

from __future__ import annotations

import re
import struct
from collections.abc import Callable
from typing import Final

import attrs

from protocol import ExecutorAddrRange

from ._graph import LinkGraph, Scope

__all__ = [
    "InitSection",
    "collect_init_sections",
    "is_initializer_section",
    "keep_initializers_alive",
    "run_order",
]

_TABLE: Final = re.compile(r"^\.(preinit_array|init_array|fini_array|ctors|dtors)(?:\.(\d{1,5}))?$")
_INITIALIZER: Final = re.compile(r"^\.(init_array|init|ctors)(?:\.\d{1,5})?$")
_DEFAULT_PRIORITY: Final = 65536
_POINTER: Final = struct.Struct("<Q")
_FINALIZER_KINDS: Final = frozenset({"fini_array", "dtors"})


def is_initializer_section(name: str) -> bool:
    """True for the sections that give an object ORC's init symbol (module docstring)."""
    return _INITIALIZER.match(name) is not None


def _table_kind(name: str) -> tuple[str, int] | None:
    match = _TABLE.match(name)
    if match is None:
        return None
    kind, suffix = match.group(1), match.group(2)
    if suffix is None:
        return kind, _DEFAULT_PRIORITY
    number = int(suffix)
    return kind, (65535 - number if kind in ("ctors", "dtors") else number)


@attrs.frozen(kw_only=True)
class InitSection:
    """One initializer or finalizer table after fixups.

    Attributes:
        name: the section name (``.init_array.101``).
        kind: ``preinit_array``, ``init_array``, ``fini_array``, ``ctors`` or ``dtors``.
        priority: the sort priority (module docstring); 65536 for unsuffixed sections.
        ordinal: the section's position in the graph (ties between equal priorities).
        range: where the table is in executor memory.
        entries: the function addresses it holds, in table order.
    """

    name: str
    kind: str
    priority: int
    ordinal: int
    range: ExecutorAddrRange
    entries: tuple[int, ...]

    @property
    def is_finalizer(self) -> bool:
        """True for ``.fini_array``/``.dtors`` tables."""
        return self.kind in _FINALIZER_KINDS


def keep_initializers_alive(init_symbol: str | None = None) -> Callable[[LinkGraph], None]:
    """A pre-prune pass keeping every initializer/finalizer table block alive.

    Args:
        init_symbol: ORC's init-symbol name for this object (`object_interface` computes it);
            if given, it is defined with scope SIDE_EFFECTS_ONLY on the first initializer
            block, so resolving it reports the link.

    Returns:
        The pass.
    """

    def keep_initializers_alive_pass(graph: LinkGraph) -> None:
        first = None
        for section in graph.sections.values():
            if _table_kind(section.name) is None and not is_initializer_section(section.name):
                continue
            for block in section.blocks:
                graph.add_defined_symbol(block, 0, None, live=True)
                if first is None and is_initializer_section(section.name):
                    first = block
        if init_symbol is not None and first is not None:
            graph.add_defined_symbol(
                first, 0, init_symbol, scope=Scope.SIDE_EFFECTS_ONLY, live=True
            )

    keep_initializers_alive_pass.__qualname__ = "keep_initializers_alive"
    keep_initializers_alive_pass.__name__ = "keep_initializers_alive"
    return keep_initializers_alive_pass


def collect_init_sections(graph: LinkGraph) -> tuple[InitSection, ...]:
    """The live initializer/finalizer tables of a laid-out, fixed-up graph, in graph order."""
    found: list[InitSection] = []
    for section in graph.sections.values():
        kind = _table_kind(section.name)
        if kind is None or not section.blocks:
            continue
        start = min(block.address for block in section.blocks)
        end = max(block.address + block.size for block in section.blocks)
        entries: list[int] = []
        for block in sorted(section.blocks, key=lambda b: b.address):
            content = block.content
            if content is None:
                continue
            usable = len(content) // 8 * 8
            entries.extend(value for (value,) in _POINTER.iter_unpack(content[:usable]))
        found.append(
            InitSection(
                name=section.name,
                kind=kind[0],
                priority=kind[1],
                ordinal=section.ordinal,
                range=ExecutorAddrRange(start, end),
                entries=tuple(entries),
            )
        )
    return tuple(found)


def run_order(sections: tuple[InitSection, ...], *, finalizers: bool) -> tuple[int, ...]:
    """Function addresses to call, in order: initializers (`finalizers` False) or finalizers.

    Zero entries (weak references to nothing) are left out.
    """

    def key(section: InitSection) -> tuple[int, int, int]:
        return (0 if section.kind == "preinit_array" else 1, section.priority, section.ordinal)

    chosen = sorted(
        (section for section in sections if section.is_finalizer == finalizers), key=key
    )
    ordered: list[int] = []
    for section in chosen:
        entries = list(section.entries)
        if section.kind in ("ctors", "dtors"):
            entries.reverse()
        ordered.extend(entries)
    if finalizers:
        ordered.reverse()
    return tuple(address for address in ordered if address)
