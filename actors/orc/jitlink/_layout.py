"""Layout: live blocks into segments by (protection, lifetime), then addresses from a base.

JITLink's ``BasicLayout`` (jitlink-elf-x86-64.md §2.1):

- One segment per *alloc group* (protection, lifetime). Segments are ordered STANDARD before
  FINALIZE, then by protection value (R=1, W=2, X=4): R, RW, RX. NO_ALLOC sections get no
  memory.
- In a segment, content blocks come first, then zero-fill blocks; each list is sorted by
  (section ordinal, origin address, block ordinal), so sections keep their object order and
  the linker's own (``$__GOT``, ``$__STUBS``) follow the object's.
- Each block goes at the next offset that satisfies its alignment and alignment offset; a block
  aligned above the page size fails the layout. Each segment starts on a page boundary and its
  size is rounded up to whole pages; segments follow each other without gaps.

The request for memory (`AllocationRequest`) is one contiguous range: the driver reserves
``size`` bytes anywhere page-aligned (or picks a fixed base, as ``-slab-address`` does) and
calls `Layout.assign`. Assigning copies every content block into its segment's working memory
and points the block's ``content`` at that memory, so fixups patch the segment bytes in place
(JITLink's working memory); `Layout.segments` then hands them out.
"""

from __future__ import annotations

from typing import Final

import attrs

from ._errors import LayoutError
from ._graph import Block, Lifetime, LinkGraph, MemProt

__all__ = ["MAX_ALLOCATION_SIZE", "AllocationRequest", "Layout", "Segment", "SegmentRequest"]

MAX_ALLOCATION_SIZE: Final = 1 << 31
"""Largest graph allocation (2 GiB): the small code model needs it within +-2 GiB."""

_LIFETIME_ORDER: Final = {Lifetime.STANDARD: 0, Lifetime.FINALIZE: 1}
_ADDRESS_LIMIT: Final = 1 << 64


@attrs.frozen(kw_only=True)
class SegmentRequest:
    """One segment of an `AllocationRequest`: where it goes relative to the base, and how big.

    ``size`` is page-rounded; ``content_size`` bytes are copied, the rest is zero-filled.
    """

    protection: MemProt
    lifetime: Lifetime
    offset: int
    size: int
    content_size: int
    alignment: int


@attrs.frozen(kw_only=True)
class AllocationRequest:
    """What a graph needs from the memory manager: one page-aligned range of ``size`` bytes."""

    size: int
    page_size: int
    segments: tuple[SegmentRequest, ...]


@attrs.frozen(kw_only=True)
class Segment:
    """A laid-out, fixed-up segment for the memory manager's finalize (EPC contract 2).

    ``content`` is written at ``address``; the remaining ``size - len(content)`` bytes are
    zero-fill. ``size`` is a multiple of the page size.
    """

    protection: MemProt
    lifetime: Lifetime
    address: int
    size: int
    content: bytes

    @property
    def zero_fill_size(self) -> int:
        """Bytes past the content, which the executor zero-fills."""
        return self.size - len(self.content)


class _SegmentPlan:
    __slots__ = ("alignment", "blocks", "content_size", "lifetime", "offset", "protection", "size")

    def __init__(self, protection: MemProt, lifetime: Lifetime) -> None:
        self.protection = protection
        self.lifetime = lifetime
        self.blocks: list[tuple[Block, int]] = []  # (block, offset in segment)
        self.content_size = 0
        self.size = 0
        self.offset = 0
        self.alignment = 1


class Layout:
    """The segments of one graph; made by `Layout.plan`, placed by `Layout.assign`."""

    def __init__(self, graph: LinkGraph, page_size: int, plans: list[_SegmentPlan]) -> None:
        """Made by `Layout.plan` only."""
        self.graph = graph
        self.page_size = page_size
        self._plans = plans
        self.size = sum(plan.size for plan in plans)
        self.base: int | None = None
        self._buffers: list[bytearray] = []

    @classmethod
    def plan(cls, graph: LinkGraph, page_size: int) -> Layout:
        """Group and order the live blocks of `graph` and compute their offsets.

        Raises:
            ValueError: `page_size` is not a power of two.
            LayoutError: a block's alignment exceeds the page size, or the total exceeds
                `MAX_ALLOCATION_SIZE`.
        """
        if page_size <= 0 or page_size & (page_size - 1):
            raise ValueError(f"page size {page_size} is not a power of two")
        groups: dict[tuple[int, int], _SegmentPlan] = {}
        members: dict[tuple[int, int], tuple[list[Block], list[Block]]] = {}
        for section in graph.sections.values():
            if section.lifetime is Lifetime.NO_ALLOC or not section.blocks:
                continue
            key = (_LIFETIME_ORDER[section.lifetime], int(section.protection))
            if key not in groups:
                groups[key] = _SegmentPlan(section.protection, section.lifetime)
                members[key] = ([], [])
            content, zero_fill = members[key]
            for block in section.blocks:
                if block.alignment > page_size:
                    raise LayoutError(
                        f"{graph.name}: segment alignment greater than page size: block in "
                        f"{section.name} needs {block.alignment}-byte alignment, page size is "
                        f"{page_size}"
                    )
                (zero_fill if block.content is None else content).append(block)
        plans = [groups[key] for key in sorted(groups)]
        offset = 0
        for key in sorted(groups):
            plan = groups[key]
            content, zero_fill = members[key]
            position = 0
            for blocks in (content, zero_fill):
                blocks.sort(key=lambda b: (b.section.ordinal, b.origin, b.ordinal))
                for block in blocks:
                    align, align_offset = block.alignment, block.alignment_offset
                    position += (align_offset - position) % align
                    plan.blocks.append((block, position))
                    position += block.size
                    plan.alignment = max(plan.alignment, align)
                if blocks is content:
                    plan.content_size = position
            plan.size = -(-position // page_size) * page_size
            plan.offset = offset
            offset += plan.size
            if offset > MAX_ALLOCATION_SIZE:
                raise LayoutError(
                    f"{graph.name}: graph needs more than {MAX_ALLOCATION_SIZE:#x} bytes "
                    f"(at least {offset:#x}); it would not fit the small code model"
                )
        return cls(graph, page_size, plans)

    def request(self) -> AllocationRequest:
        """The memory this layout needs, for the driver's reservation."""
        return AllocationRequest(
            size=self.size,
            page_size=self.page_size,
            segments=tuple(
                SegmentRequest(
                    protection=plan.protection,
                    lifetime=plan.lifetime,
                    offset=plan.offset,
                    size=plan.size,
                    content_size=plan.content_size,
                    alignment=plan.alignment,
                )
                for plan in self._plans
            ),
        )

    def assign(self, base: int) -> None:
        """Give every block its address from `base` and move contents into working memory.

        Called exactly once per layout.

        Raises:
            LayoutError: `base` is not page-aligned, or the range leaves the address space.
            RuntimeError: called twice.
        """
        if self.base is not None:
            raise RuntimeError(f"{self.graph.name}: addresses were already assigned")
        if base % self.page_size or base < 0:
            raise LayoutError(
                f"{self.graph.name}: base address {base:#x} is not aligned to the page size "
                f"{self.page_size:#x}"
            )
        if base + self.size > _ADDRESS_LIMIT:
            raise LayoutError(
                f"{self.graph.name}: [{base:#x}, +{self.size:#x}) leaves the 64-bit address space"
            )
        self.base = base
        for plan in self._plans:
            buffer = bytearray(plan.content_size)
            view = memoryview(buffer)
            segment_address = base + plan.offset
            for block, offset in plan.blocks:
                block.address = segment_address + offset
                content = block.content
                if content is not None:
                    end = offset + block.size
                    buffer[offset:end] = content
                    block.content = view[offset:end]
            self._buffers.append(buffer)

    def segments(self) -> tuple[Segment, ...]:
        """The segments as they are now (call after fixups); empty segments are left out.

        Raises:
            RuntimeError: before `assign`.
        """
        if self.base is None:
            raise RuntimeError(f"{self.graph.name}: segments requested before address assignment")
        return tuple(
            Segment(
                protection=plan.protection,
                lifetime=plan.lifetime,
                address=self.base + plan.offset,
                size=plan.size,
                content=bytes(buffer),
            )
            for plan, buffer in zip(self._plans, self._buffers, strict=True)
            if plan.size
        )
