"""`SlabMemoryManager`: JIT memory at a fixed address that lives in Python (``-noexec`` tests).

llvm-jitlink ``-noexec -slab-allocate=SIZE -slab-address=ADDR -slab-page-size=N`` links every
graph into one slab of SIZE bytes that pretends to start at ADDR, so a test knows where
everything lands and can state it in ``-check`` rules; nothing runs. This is that slab for
orcrt: it has the EPC memory manager's interface (`reserve`, `finalize`, `release`, as
``ObjectLinkingLayer(es, memory_manager=...)`` expects, PLAN.md contract 4), but the bytes stay
in this process, in one ``bytearray`` per reservation, and no executor is involved.

| call | does |
|---|---|
| `reserve` (size) | the lowest free page-aligned range of the page-rounded size (first fit); its base |
| `finalize` (segments, actions) | copies each segment's content into its reservation, zero-fills the rest of the segment; records the alloc actions without running them (nothing runs: llvm-jitlink's ``InProcessDeltaMapper`` drops them too); returns the reservation's base (LLVM 22's key) |
| `release` (bases) | frees those reservations (adjacent free ranges merge) |
| `read` (address, size) | finalized bytes, by target address: the checker's `MemoryReader` |

Placement compared with llvm-jitlink (observed): 22 places graph after graph from the slab's
start, page after page, as we do; 14 leaves gaps between graphs. 22 reuses freed ranges in the
order they were freed; we reuse the lowest one. Check rules that use symbols, ``section_addr``,
``got_addr`` and ``stub_addr`` rather than fixed offsets between graphs hold in all three.

The async methods exist for the layer; each has a ``*_nowait`` twin that does the same work at
once (there is nothing to wait for), for synchronous drivers and tests. One loop or thread at
a time; nothing to close.
"""

from __future__ import annotations

import bisect
from collections.abc import Iterable, Sequence
from typing import Final, Protocol

import attrs

from ._epc_errors import ExecutorCallError

__all__ = [
    "DEFAULT_SLAB_ADDRESS",
    "SlabAllocation",
    "SlabExhaustedError",
    "SlabMemoryManager",
    "parse_slab_size",
]

DEFAULT_SLAB_ADDRESS: Final = 0x1000_0000
"""Where a slab starts when ``-slab-address`` is not given (llvm-jitlink would take whatever
``mmap`` returns; a fixed default keeps ``-noexec`` runs reproducible). Below 2 GiB, so
``-fno-pic`` code's 32-bit absolute relocations fit, and far from where shared libraries
are mapped, so calls into them always go through stubs."""

_ADDRESS_LIMIT: Final = 1 << 64
_UNITS: Final = {"kb": 1 << 10, "mb": 1 << 20, "gb": 1 << 30}


class SlabExhaustedError(ExecutorCallError):
    """A reservation does not fit in the slab's free space.

    An `ExecutorCallError` (function ``reserve``), as the EPC memory manager raises when the
    executor refuses a reservation: a driver handles both the same way.
    """

    def __init__(self, message: str) -> None:
        super().__init__(message, function="reserve")


class _SegmentLike(Protocol):
    """What `finalize` needs of a segment: the EPC's `Segment` and jitlink's both have it."""

    @property
    def address(self) -> int: ...

    @property
    def size(self) -> int: ...

    @property
    def content(self) -> bytes: ...


@attrs.frozen(kw_only=True)
class SlabAllocation:
    """A reservation as `SlabMemoryManager.allocations` reports it.

    Attributes:
        base: its first address; ``size`` its page-rounded length.
        segments: (address, size) of each finalized segment, in finalize order.
        actions: the alloc actions `finalize` was given (recorded, never run).
    """

    base: int
    size: int
    segments: tuple[tuple[int, int], ...]
    actions: tuple[object, ...]


class _Reservation:
    __slots__ = ("actions", "base", "memory", "segments", "size")

    def __init__(self, base: int, size: int) -> None:
        self.base = base
        self.size = size
        self.memory: bytearray | None = None  # made by the first finalize
        self.segments: list[tuple[int, int]] = []
        self.actions: list[object] = []


def parse_slab_size(text: str) -> int:
    """The bytes of a ``-slab-allocate`` value, as llvm-jitlink reads it.

    A decimal number with an optional ``Kb``, ``Mb`` or ``Gb`` suffix (any case, blanks
    allowed); without a suffix the unit is Kb.

    Raises:
        ValueError: not a number with one of those suffixes.
    """
    body = text.strip()
    unit = _UNITS["kb"]
    suffix = body[-2:].lower()
    if suffix in _UNITS:
        unit = _UNITS[suffix]
        body = body[:-2].rstrip()
    if not body.isascii() or not body.isdigit():
        raise ValueError(f"invalid numeric format for slab size: '{text}'")
    return int(body) * unit


class SlabMemoryManager:
    """A slab of `size` bytes at `address` in Python memory (module docstring).

    Made by the driver for ``-slab-allocate``; handed to the ObjectLinkingLayer as its memory
    manager and to the checker as its memory. Reservations are page-aligned and page-rounded.
    """

    def __init__(self, *, size: int, address: int = DEFAULT_SLAB_ADDRESS, page_size: int = 4096):
        """A slab of `size` bytes (rounded down to whole pages) starting at `address`.

        Raises:
            ValueError: `page_size` is not a power of two, `address` is not page-aligned, the
                slab is smaller than a page, or it does not fit below 2**64.
        """
        if page_size <= 0 or page_size & (page_size - 1):
            raise ValueError(f"slab page size {page_size:#x} is not a power of two")
        if address < 0 or address % page_size:
            raise ValueError(
                f"slab address {address:#x} is not aligned to the page size {page_size:#x}"
            )
        usable = size - size % page_size
        if usable <= 0:
            raise ValueError(f"slab of {size} bytes holds no whole page of {page_size:#x} bytes")
        if address + usable > _ADDRESS_LIMIT:
            raise ValueError(
                f"slab [{address:#x}, +{usable:#x}) does not fit in the 64-bit address space"
            )
        self.address = address
        self.size = usable
        self.page_size = page_size
        self._free: list[tuple[int, int]] = [(address, usable)]  # (start, size), by address
        self._reservations: dict[int, _Reservation] = {}
        self._bases: list[int] = []  # sorted keys of _reservations

    def __repr__(self) -> str:
        used = sum(r.size for r in self._reservations.values())
        return (
            f"<SlabMemoryManager [{self.address:#x}, +{self.size:#x}) page={self.page_size:#x} "
            f"reservations={len(self._reservations)} used={used:#x}>"
        )

    # -- the memory manager interface -----------------------------------------------------

    async def reserve(self, size: int) -> int:
        """`reserve_nowait`, for the ObjectLinkingLayer (contract 4)."""
        return self.reserve_nowait(size)

    async def finalize(
        self, segments: Iterable[_SegmentLike], actions: Iterable[object] = ()
    ) -> int:
        """`finalize_nowait`, for the ObjectLinkingLayer."""
        return self.finalize_nowait(segments, actions)

    async def release(self, bases: Sequence[int]) -> None:
        """`release_nowait`, for the ObjectLinkingLayer."""
        self.release_nowait(bases)

    def reserve_nowait(self, size: int) -> int:
        """Reserve `size` bytes (rounded up to whole pages, at least one) at the lowest free
        address.

        Raises:
            ValueError: `size` is negative.
            SlabExhaustedError: no free range is large enough.
        """
        if size < 0:
            raise ValueError(f"cannot reserve {size} bytes")
        rounded = max(-(-size // self.page_size), 1) * self.page_size
        for index, (start, free) in enumerate(self._free):
            if free >= rounded:
                if free == rounded:
                    del self._free[index]
                else:
                    self._free[index] = (start + rounded, free - rounded)
                self._reservations[start] = _Reservation(start, rounded)
                bisect.insort(self._bases, start)
                return start
        largest = max((free for _, free in self._free), default=0)
        raise SlabExhaustedError(
            f"slab [{self.address:#x}, +{self.size:#x}) is exhausted: a reservation of "
            f"{rounded:#x} bytes does not fit (largest free range: {largest:#x} bytes); "
            "raise -slab-allocate"
        )

    def finalize_nowait(
        self, segments: Iterable[_SegmentLike], actions: Iterable[object] = ()
    ) -> int:
        """Write `segments` (content, then zeros up to each segment's size) and record
        `actions` (never run). All segments must lie in one reservation.

        Returns:
            The reservation's base (the key LLVM 22's ``initialize`` returns).

        Raises:
            ValueError: a segment is not inside a reservation, segments span two
                reservations, or a segment's content is longer than its size.
        """
        segments = list(segments)
        if not segments:
            raise ValueError("finalize needs at least one segment")
        reservation: _Reservation | None = None
        for segment in segments:
            found = self._reservation_at(segment.address, segment.size)
            if found is None:
                raise ValueError(
                    f"segment [{segment.address:#x}, +{segment.size:#x}) is not inside a "
                    "reservation of this slab"
                )
            if reservation is not None and found is not reservation:
                raise ValueError(
                    f"segments span the reservations at {reservation.base:#x} and "
                    f"{found.base:#x}; one finalize covers one reservation"
                )
            if len(segment.content) > segment.size:
                raise ValueError(
                    f"segment at {segment.address:#x}: {len(segment.content)} bytes of content "
                    f"do not fit its size {segment.size}"
                )
            reservation = found
        assert reservation is not None
        if reservation.memory is None:
            reservation.memory = bytearray(reservation.size)
        memory = reservation.memory
        for segment in segments:
            offset = segment.address - reservation.base
            content = bytes(segment.content)
            memory[offset : offset + len(content)] = content
            memory[offset + len(content) : offset + segment.size] = bytes(
                segment.size - len(content)
            )
            reservation.segments.append((segment.address, segment.size))
        reservation.actions.extend(actions)
        return reservation.base

    def release_nowait(self, bases: Sequence[int]) -> None:
        """Free the reservations starting at `bases`; their range becomes free again.

        Raises:
            ValueError: a base is not the start of a live reservation (nothing is freed).
        """
        unknown = [base for base in bases if base not in self._reservations]
        if unknown:
            raise ValueError(
                "no reservation of this slab starts at " + ", ".join(f"{b:#x}" for b in unknown)
            )
        for base in bases:
            reservation = self._reservations.pop(base)
            del self._bases[bisect.bisect_left(self._bases, base)]
            self._give_back(reservation.base, reservation.size)

    def _give_back(self, start: int, size: int) -> None:
        index = bisect.bisect_left(self._free, (start, 0))
        self._free.insert(index, (start, size))
        # Merge with the next range, then with the previous one.
        if index + 1 < len(self._free):
            next_start, next_size = self._free[index + 1]
            if start + size == next_start:
                self._free[index : index + 2] = [(start, size + next_size)]
        if index > 0:
            prev_start, prev_size = self._free[index - 1]
            current_start, current_size = self._free[index]
            if prev_start + prev_size == current_start:
                self._free[index - 1 : index + 1] = [(prev_start, prev_size + current_size)]

    def _reservation_at(self, address: int, size: int) -> _Reservation | None:
        index = bisect.bisect_right(self._bases, address) - 1
        if index < 0:
            return None
        reservation = self._reservations[self._bases[index]]
        if address + size <= reservation.base + reservation.size:
            return reservation
        return None

    # -- reading --------------------------------------------------------------------------

    def read(self, address: int, size: int) -> bytes:
        """`size` bytes at `address`, which must lie in one finalized reservation.

        Raises:
            LookupError: the range is not (entirely) inside finalized slab memory.
        """
        reservation = self._reservation_at(address, size)
        if reservation is None or reservation.memory is None:
            where = "finalized slab memory" if reservation is None else "a finalized reservation"
            raise LookupError(f"[{address:#x}, +{size:#x}) is not inside {where}")
        offset = address - reservation.base
        return bytes(reservation.memory[offset : offset + size])

    def allocations(self) -> tuple[SlabAllocation, ...]:
        """The live reservations, by address (for tests and ``-show``-style output)."""
        return tuple(
            SlabAllocation(
                base=reservation.base,
                size=reservation.size,
                segments=tuple(reservation.segments),
                actions=tuple(reservation.actions),
            )
            for reservation in (self._reservations[base] for base in self._bases)
        )
