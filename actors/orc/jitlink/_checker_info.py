"""`LinkedAddresses`: what a session's ``-check`` rules and ``-show-addrs`` can see.

llvm-jitlink registers, for each graph it links (a post-fixup pass,
``llvm/tools/llvm-jitlink/llvm-jitlink-elf.cpp``), every named symbol on a live block and every
absolute symbol (session-wide, by name; a later graph's symbol replaces an earlier one of the
same name), and per file (the object's name without its directory) each section's range, each
GOT entry and each stub by the name of the symbol it leads to. The driver adds the absolute
symbols it defines itself (``-abs``/``-define-abs``). We record the same, plus a copy of each
linked block's bytes, so that checks can also read memory when it lives in another process.

Differences from llvm-jitlink, all in the direction of seeing more: local symbols on live
blocks are registered even if no edge points at them (JITLink deletes those symbols when it
prunes); a section's range runs from its first block to the end of its last (LLVM starts at its
first *symbol*); sections mixing content and zero-fill blocks are accepted (LLVM refuses them).

One object per session; the recording pass runs on whatever thread links the graph, and the
driver reads the result after every link it checks has finished (one thread at a time).
"""

from __future__ import annotations

import bisect
import posixpath
import re
from collections.abc import Callable

import attrs

from ._checker import MemoryRegion
from ._errors import JITLinkError
from ._graph import Lifetime, LinkGraph

__all__ = ["CheckRegistrationError", "LinkedAddresses", "LinkedFile"]


class CheckRegistrationError(JITLinkError):
    """A graph cannot be recorded for ``-check``: another linked file has the same name."""


@attrs.define
class LinkedFile:
    """One linked object, as ``got_addr``/``stub_addr``/``section_addr`` see it.

    Attributes:
        name: the object's file name without directory.
        sections: section name -> its range.
        got_entries: target symbol name -> its GOT entry.
        stubs: target symbol name -> its stubs (one per target on x86-64).
    """

    name: str
    sections: dict[str, MemoryRegion] = attrs.Factory(dict)
    got_entries: dict[str, MemoryRegion] = attrs.Factory(dict)
    stubs: dict[str, list[MemoryRegion]] = attrs.Factory(dict)


def stub_kind(stub: MemoryRegion) -> str:
    """The kind name ``stub_addr``'s filter matches: "" for x86-64's one stub shape, as LLVM's
    ``detectStubKind`` answers for every non-ARM stub."""
    del stub
    return ""


class LinkedAddresses:
    """Symbols, sections, GOT entries, stubs and bytes of every graph linked so far.

    Implements the checker's `AddressLookup` and `MemoryReader`. Graphs enter through
    `recording_pass` (append it to each graph's ``post_fixup`` passes) or `add_graph`.
    """

    def __init__(self) -> None:
        """An empty record."""
        self.symbols: dict[str, MemoryRegion] = {}
        self.files: dict[str, LinkedFile] = {}
        self._starts: list[int] = []
        self._blocks: list[tuple[int, int, bytes | None]] = []  # (start, size, content)

    def __repr__(self) -> str:
        return f"<LinkedAddresses files={sorted(self.files)} symbols={len(self.symbols)}>"

    # -- recording -----------------------------------------------------------------------

    def recording_pass(self) -> Callable[[LinkGraph], None]:
        """A post-fixup pass that records its graph (`add_graph`)."""

        def record_linked_addresses(graph: LinkGraph) -> None:
            self.add_graph(graph)

        return record_linked_addresses

    def add_absolute(self, name: str, address: int) -> None:
        """Register an absolute symbol the driver defined (``-abs name=address``)."""
        self.symbols[name] = MemoryRegion(address, 0)

    def add_graph(self, graph: LinkGraph) -> None:
        """Record a graph whose fixups are applied (its blocks hold their final bytes).

        Raises:
            CheckRegistrationError: a graph of the same file name was recorded before.
        """
        name = posixpath.basename(graph.name)
        if name in self.files:
            raise CheckRegistrationError(
                f"{graph.name}: when -check is passed, file names must be distinct "
                f'(duplicate: "{name}")'
            )
        linked = LinkedFile(name)
        for section in graph.sections.values():
            if section.lifetime is Lifetime.NO_ALLOC or not section.blocks:
                continue
            start = min(block.address for block in section.blocks)
            end = max(block.address + block.size for block in section.blocks)
            zero_fill = all(block.content is None for block in section.blocks)
            linked.sections[section.name] = MemoryRegion(start, end - start, zero_fill)
            for block in section.blocks:
                content = None if block.content is None else bytes(block.content)
                self._insert_block(block.address, block.size, content)
        for symbol in graph.defined:
            home = symbol.block
            if symbol.name is None or home is None or home.section.lifetime is Lifetime.NO_ALLOC:
                continue
            self.symbols[symbol.name] = MemoryRegion(
                symbol.address,
                symbol.size,
                home.content is None,
                home.address + home.size - symbol.address,
            )
        for symbol in graph.absolutes:
            if symbol.name is not None:
                self.symbols[symbol.name] = MemoryRegion(symbol.address, symbol.size)
        for target, entry in graph.got_entries.items():
            if target.name is not None:
                linked.got_entries[target.name] = MemoryRegion(entry.address, entry.size)
        for target, stub in graph.stubs.items():
            if target.name is not None:
                linked.stubs.setdefault(target.name, []).append(
                    MemoryRegion(stub.address, stub.size)
                )
        self.files[name] = linked

    def _insert_block(self, start: int, size: int, content: bytes | None) -> None:
        if size == 0:
            return
        index = bisect.bisect_left(self._starts, start)
        self._starts.insert(index, start)
        self._blocks.insert(index, (start, size, content))

    # -- AddressLookup -------------------------------------------------------------------

    def symbol(self, name: str) -> MemoryRegion | None:
        """The registered symbol `name`, or None."""
        return self.symbols.get(name)

    def _file(self, file: str) -> LinkedFile:
        linked = self.files.get(file)
        if linked is None:
            raise LookupError(f'file "{file}" not recognized')
        return linked

    def section(self, file: str, section: str) -> MemoryRegion:
        """Section `section` of `file`; `LookupError` with LLVM's message if unknown."""
        region = self._file(file).sections.get(section)
        if region is None:
            raise LookupError(f'no section "{section}" registered for file "{file}"')
        return region

    def got_entry(self, file: str, target: str) -> MemoryRegion:
        """`file`'s GOT entry for `target`; `LookupError` with LLVM's message if none."""
        region = self._file(file).got_entries.get(target)
        if region is None:
            raise LookupError(f'no GOT entry for "{target}" registered for file "{file}"')
        return region

    def stub(self, file: str, target: str, kind_filter: str | None) -> MemoryRegion:
        """`file`'s stub for `target`, picked by `kind_filter` (a regex searched in the stub's
        kind) when given or when there are several; `LookupError` as LLVM 22 words it."""
        stubs = self._file(file).stubs.get(target)
        if not stubs:
            raise LookupError(f'no stub for "{target}" registered for file "{file}"')
        if kind_filter is None and len(stubs) == 1:
            return stubs[0]
        try:
            matcher = re.compile(kind_filter or ".*")
        except re.error as exc:
            raise LookupError(f'invalid stub-kind filter "{kind_filter}": {exc}') from exc
        kinds = ", ".join(f'"{stub_kind(stub) or "<unknown>"}"' for stub in stubs)
        matches = [stub for stub in stubs if matcher.search(stub_kind(stub))]
        if not matches:
            raise LookupError(
                f'"{target}" has {len(stubs)} stubs in file "{file}", but none of them matches '
                f'the stub-kind filter "{kind_filter}" (all encountered kinds are {kinds}).'
            )
        if len(matches) > 1:
            raise LookupError(
                f'"{target}" has {len(matches)} candidate stubs in file "{file}". Please refine '
                f'stub-kind filter "{kind_filter}" for disambiguation (encountered kinds are '
                f"{kinds})."
            )
        return matches[0]

    # -- MemoryReader --------------------------------------------------------------------

    def read(self, address: int, size: int) -> bytes:
        """`size` bytes at `address`, from the recorded blocks (zero-fill reads as zeros).

        Raises:
            LookupError: part of the range is not inside a recorded block.
        """
        out = bytearray()
        position = address
        end = address + size
        while position < end:
            index = bisect.bisect_right(self._starts, position) - 1
            if index < 0:
                raise LookupError(f"{position:#x} is not in a linked block")
            start, length, content = self._blocks[index]
            if position >= start + length:
                raise LookupError(f"{position:#x} is not in a linked block")
            stop = min(end, start + length)
            if content is None:
                out += bytes(stop - position)
            else:
                out += content[position - start : stop - start]
            position = stop
        return bytes(out)

    # -- -show-addrs ---------------------------------------------------------------------

    def dump(self) -> str:
        """The ``-show-addrs`` text: symbols, then each file's sections, GOT entries, stubs."""

        def region(item: MemoryRegion) -> str:
            kind = "zero-fill" if item.zero_fill else "content"
            return f"target addr = {item.address:#018x}, {kind}: {item.size} bytes"

        lines = ["Registered addresses:", "Symbols:"]
        lines += [f'  "{name}" {region(item)}' for name, item in sorted(self.symbols.items())]
        for name, linked in sorted(self.files.items()):
            lines.append(f'File "{name}":')
            lines += [
                f'  Section "{section}": {region(item)}'
                for section, item in sorted(linked.sections.items())
            ]
            lines += [
                f'  GOT "{target}": {region(item)}'
                for target, item in sorted(linked.got_entries.items())
            ]
            for target, stubs in sorted(linked.stubs.items()):
                lines.append(f'  Stubs "{target}": ' + " ".join(map(region, stubs)))
        return "\n".join(lines) + "\n"
