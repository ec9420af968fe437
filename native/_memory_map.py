"""`MemoryMap`: the executor's JIT memory bookkeeping for LLVM 14 and LLVM 22 controllers.

Theory of operation (simple-remote-epc.md §7.2, orc-rt-reference.md §2.6, §3.4):

- A *slab* is one `reserve(size)`: anonymous read-write memory, keyed by its base address.
- A *region* is the memory one finalize request (14: `finalize`; 22: `initialize`) wrote and
  protected inside one slab, with the dealloc actions its finalize actions left behind.
  - LLVM 14 keys the request by its lowest segment address, which must be a slab base; one
    region per slab; `deallocate(bases)` runs the dealloc actions and unmaps.
  - LLVM 22 regions are [lowest, highest end) of the standard-lifetime segments (the
    FinalizeLifetime bit 0x08 marks scratch segments, which are written but belong to no
    region); a slab may hold many non-overlapping regions; `initialize` returns the region
    start (the init key); `deinitialize(keys)` runs a region's dealloc actions and forgets it
    (memory stays reserved, reset to read-write); `release(bases)` runs the dealloc actions of every region still
    in the slab, newest first, then unmaps.
- Processing a request: validate everything first (sizes, slab membership, overlap) so a bad
  request writes nothing; then copy content, zero-fill to the segment size, apply the segment's
  protection (widened to whole pages, like LLVM), and flush the instruction cache of X
  segments; then run the finalize actions in order. If one fails, the dealloc actions of the
  pairs that completed run in reverse, and the request fails with the action's message (plus
  any dealloc failure messages, one per line, like LLVM's joinErrors); LLVM 14 then also frees
  the whole allocation, LLVM 22 resets the segments to read-write and keeps the slab.
- Dealloc actions always all run (reverse order) even if some fail; the failures are
  collected and raised together after everything ran, as one `MemoryMapError` whose message
  lists them one per line. Unmap failures are collected the same way.

Actions are never called directly: the constructor's `run_action(fn, args)` runs one (the
actors layer intercepts its own Python-implemented targets and otherwise calls native code) and
returns None for success or the error message. Actions with fn 0 are "none" and are skipped.
If `run_action` raises, that counts as a failure whose message names the exception (and the
exception is chained as ``__cause__`` of the raised error).

Error messages for the controller match LLVM's text (14: SimpleExecutorMemoryManager.cpp in
14.0.6; 22: the same file in 22.1.8); `str(error)` is meant to be sent verbatim.

Deliberate differences from LLVM, all in the direction of refusing what would corrupt state:
validation precedes any write (LLVM 22 writes segments before checking the slab); LLVM 14
silently replaces the dealloc actions of an allocation finalized twice, here the second
finalize is refused; LLVM 22 keeps deinitialized regions as empty entries, here they are
forgotten and their pages reset to read-write so the range can be initialized again; pages
are made writable before each segment is written (so no request can crash on a leftover
protection), and finalize-lifetime segments are reset to read-write once their request
completed. Invariant: slab memory outside live regions' segments is read-write, so writing a
segment is one native call (copy, zero-fill, protect unless read-write, icache) and needs an
mprotect before it only for pages shared with a non-writable segment.

Not thread-safe: one owner (a ResourceManager actor) calls it. Bookkeeping, mmap, mprotect
and memcpy are fast, but `run_action` may run native code, so requests that carry actions can
block; the owner decides which thread that happens on.
"""

from __future__ import annotations

import bisect
from collections.abc import Callable, Iterable, Sequence
from typing import TYPE_CHECKING, Final, Protocol

from . import _memory
from ._errors import MemoryMapError

if TYPE_CHECKING:
    from ._records import MemoryMapStatistics

__all__ = [
    "FINALIZE_LIFETIME",
    "ActionPair",
    "MemoryMap",
    "RunAction",
    "Segment",
    "WrapperCall",
]

FINALIZE_LIFETIME: Final = 0x08
"""LLVM 22 segment prot bit: the segment is only needed while finalize actions run."""

_PROT_BITS: Final = _memory.PROT_READ | _memory.PROT_WRITE | _memory.PROT_EXEC
_RW: Final = _memory.PROT_READ | _memory.PROT_WRITE
_ADDRESS_LIMIT: Final = 1 << 64


class Segment(Protocol):
    """One segment of a finalize request, accepted structurally (e.g. protocol's records).

    `prot`: wire bits R=1, W=2, X=4, plus 22's FinalizeLifetime 0x08; `addr`, `size`: where and
    how much (size is the full, usually page-rounded, size); `content`: the bytes to copy
    (at most `size`; the rest is zero-filled).
    """

    @property
    def prot(self) -> int: ...
    @property
    def addr(self) -> int: ...
    @property
    def size(self) -> int: ...
    @property
    def content(self) -> bytes: ...


class WrapperCall(Protocol):
    """A wrapper-function call: native function address `fn` (0 = none) and its argument bytes."""

    @property
    def fn(self) -> int: ...
    @property
    def args(self) -> bytes: ...


class ActionPair(Protocol):
    """An alloc-action pair: `finalize` runs at finalize time, `dealloc` undoes it later."""

    @property
    def finalize(self) -> WrapperCall: ...
    @property
    def dealloc(self) -> WrapperCall: ...


RunAction = Callable[[int, bytes], str | None]
"""Runs one alloc action `(fn, args)`; returns None on success or the error message."""


class _Call:
    __slots__ = ("args", "fn")

    def __init__(self, fn: int, args: bytes) -> None:
        self.fn = fn
        self.args = args


class _Region:
    __slots__ = ("dealloc", "end", "executable", "readonly", "segments", "start")

    def __init__(
        self,
        start: int,
        end: int,
        segments: tuple[tuple[int, int], ...],
        executable: tuple[tuple[int, int], ...],
        readonly: tuple[tuple[int, int], ...],
        dealloc: list[_Call],
    ) -> None:
        self.start = start
        self.end = end
        self.segments = segments
        self.executable = executable
        self.readonly = readonly
        self.dealloc = dealloc


class _Slab:
    __slots__ = ("base", "regions", "size")

    def __init__(self, base: int, size: int) -> None:
        self.base = base
        self.size = size
        self.regions: dict[int, _Region] = {}  # in creation order


class _Seg:
    __slots__ = ("addr", "content", "end", "prot", "size")

    def __init__(self, prot: int, addr: int, size: int, content: bytes) -> None:
        self.prot = prot
        self.addr = addr
        self.size = size
        self.content = content
        self.end = addr + size


class MemoryMap:
    """Reserve, finalize/initialize, and free JIT memory; run alloc actions via `run_action`.

    Owned by one actor; not thread-safe. Every method but `run_action`-driven ones is fast.
    See the module docstring for the model and the error conventions.
    """

    def __init__(self, run_action: RunAction, *, page_size: int | None = None) -> None:
        """Create an empty map.

        Args:
            run_action: runs one alloc action; called on the thread that calls `finalize`,
                `initialize`, `deallocate`, `deinitialize`, `release` or `shutdown`.
            page_size: the page size for rounding reservations (default: the system's).
        """
        self._run_action = run_action
        self._page_size = page_size or _memory.page_size()
        self._slabs: dict[int, _Slab] = {}  # in reservation order
        self._bases: list[int] = []  # sorted slab bases, for address lookups
        self._executable: list[tuple[int, int]] = []  # sorted (start, end) of X segments
        self._executable_version = 0  # bumped whenever _executable changes
        self._shut_down = False

    def __repr__(self) -> str:
        stats = self.statistics()
        state = "shut down" if self._shut_down else "open"
        return (
            f"<MemoryMap {state} slabs={stats.slabs} regions={stats.regions} "
            f"reserved={stats.reserved_bytes:#x}>"
        )

    # ---- reservations ----------------------------------------------------------------------

    def reserve(self, size: int) -> int:
        """Reserve `size` bytes of read-write memory (both generations); returns the base.

        The mapping is rounded up to whole pages (as LLVM's allocateMappedMemory does); the
        reservation's extent for segment checks is `size`.

        Raises:
            MemoryMapError: size 0 or beyond the address space, or mmap refused.
            RuntimeError: after `shutdown`.
        """
        self._check_open()
        if not 0 < size < _ADDRESS_LIMIT:
            raise MemoryMapError(
                f"Cannot reserve {size:#x} bytes: the size must be positive",
                address=0,
                size=size,
            )
        base = _memory.map_anonymous(self._mapped_size(size))
        self._slabs[base] = _Slab(base=base, size=size)
        bisect.insort(self._bases, base)
        return base

    # ---- LLVM 14 ---------------------------------------------------------------------------

    def finalize(self, segments: Sequence[Segment], actions: Sequence[ActionPair]) -> None:
        """LLVM 14 finalize: write and protect the segments of one reservation, run actions.

        The request is keyed by its lowest segment address, which must be a reservation base.
        No segments and no actions is a successful no-op. On failure the allocation is freed
        (dealloc actions of completed pairs run in reverse, memory unmapped), as in LLVM 14.

        Raises:
            MemoryMapError: "Finalization actions attached to empty finalization request",
                "Attempt to finalize unrecognized allocation 0x…", "Allocation 0x… is already
                finalized", "Segment 0x… content size (0x… bytes) exceeds segment size (0x…
                bytes)", "Segment 0x… -- 0x… crosses boundary of allocation 0x… -- 0x…", a
                protection failure, or a finalize action's message.
            RuntimeError: after `shutdown`.
        """
        self._check_open()
        segs = [_copy_segment(segment) for segment in segments]
        pairs = [(_copy_call(pair.finalize), _copy_call(pair.dealloc)) for pair in actions]
        if not segs:
            if pairs:
                raise MemoryMapError(
                    "Finalization actions attached to empty finalization request",
                    address=0,
                    size=0,
                )
            return
        base = min(seg.addr for seg in segs)
        slab = self._slabs.get(base)
        if slab is None:
            raise MemoryMapError(
                f"Attempt to finalize unrecognized allocation {base:#x}", address=base, size=0
            )
        if slab.regions:
            raise MemoryMapError(
                f"Allocation {base:#x} is already finalized", address=base, size=slab.size
            )
        try:
            for seg in segs:
                _check_content(seg)
                if seg.end > base + slab.size:
                    raise MemoryMapError(
                        f"Segment {seg.addr:#x} -- {seg.end:#x} crosses boundary of "
                        f"allocation {base:#x} -- {base + slab.size:#x}",
                        address=seg.addr,
                        size=seg.size,
                    )
            self._write_segments(slab, segs)
            dealloc = self._run_finalize_actions(pairs, base)
        except MemoryMapError as error:
            raise self._bail_out_14(slab, error) from error.__cause__
        region_segments = [seg for seg in segs if seg.size]
        self._add_region(slab, base, base + slab.size, region_segments, dealloc)

    def deallocate(self, bases: Sequence[int]) -> None:
        """LLVM 14 deallocate: for each base (processed last to first) run the allocation's
        dealloc actions in reverse and unmap it.

        Every known base is freed even if some fail or are unknown.

        Raises:
            MemoryMapError: "No allocation entry found for 0x…" per unknown base, dealloc
                action failures, unmap failures — all of them, one per line.
            RuntimeError: after `shutdown`.
        """
        self._check_open()
        errors: list[str] = []
        found: dict[int, _Slab] = {}
        for base in bases:
            slab = self._slabs.get(base)
            if slab is None or base in found:
                errors.append(f"No allocation entry found for {base:#x}")
            else:
                found[base] = slab
        for slab in reversed(found.values()):
            errors += self._free_slab(slab)
        _raise_collected(errors, bases[0] if bases else 0)

    # ---- LLVM 22 ---------------------------------------------------------------------------

    def initialize(self, segments: Sequence[Segment], actions: Sequence[ActionPair]) -> int:
        """LLVM 22 initialize: write and protect segments inside one slab, run actions, record
        a region; returns the region start (the key for `deinitialize`).

        On failure nothing is recorded, dealloc actions of completed pairs have run in
        reverse, written segments are reset to read-write, and the slab stays reserved.

        Raises:
            MemoryMapError: "Finalization request is empty", "Finalization actions attached to
                empty finalization request", "In initialize, request has no standard-lifetime
                segment", "Segment 0x… content size (0x… bytes) exceeds segment size (0x…
                bytes)", "In initialize, range 0x… -- 0x… is not part of any reserved address
                range", "In initialize, region 0x… -- 0x… overlaps previous|following region
                0x… -- 0x…", a protection failure, or a finalize action's message.
            RuntimeError: after `shutdown`.
        """
        self._check_open()
        segs = [_copy_segment(segment) for segment in segments]
        pairs = [(_copy_call(pair.finalize), _copy_call(pair.dealloc)) for pair in actions]
        if not segs:
            message = (
                "Finalization actions attached to empty finalization request"
                if pairs
                else "Finalization request is empty"
            )
            raise MemoryMapError(message, address=0, size=0)
        standard = [seg for seg in segs if not seg.prot & FINALIZE_LIFETIME]
        if not standard:
            raise MemoryMapError(
                "In initialize, request has no standard-lifetime segment", address=0, size=0
            )
        start = min(seg.addr for seg in standard)
        end = max(seg.end for seg in standard)
        for seg in segs:
            _check_content(seg)
        slab = self._slab_containing(start, end, "In initialize")
        for seg in segs:
            if seg.prot & FINALIZE_LIFETIME:
                self._slab_containing(seg.addr, seg.end, "In initialize")
        self._check_overlap(slab, start, end)
        written: list[_Seg] = []
        try:
            self._write_segments(slab, segs, written)
            dealloc = self._run_finalize_actions(pairs, start)
        except MemoryMapError as error:
            # LLVM 22 resets the written segments to read-write and keeps the slab.
            errors = [str(error)]
            for seg in written:
                try:
                    _memory.protect(seg.addr, seg.size, _RW)
                except MemoryMapError as reset_error:
                    errors.append(str(reset_error))
            if len(errors) == 1:
                raise
            combined = MemoryMapError("\n".join(errors), address=error.address, size=error.size)
            raise combined from error
        # Finalize-lifetime segments are dead now; hand their pages back as plain RW memory, so
        # that everything in a slab outside live regions is RW (see `contains`).
        for seg in segs:
            if seg.prot & FINALIZE_LIFETIME:
                _memory.protect(seg.addr, seg.size, _RW)
        self._add_region(slab, start, end, [seg for seg in standard if seg.size], dealloc)
        return start

    def deinitialize(self, keys: Sequence[int]) -> None:
        """LLVM 22 deinitialize: for each init key (last to first) run the region's dealloc
        actions in reverse and forget the region; the memory stays reserved.

        Raises:
            MemoryMapError: "In deinitialize, address 0x… is not part of any reserved address
                range", "In deinitialize, address 0x… does not correspond to the start of any
                initialized region", dealloc failures — all of them, one per line.
            RuntimeError: after `shutdown`.
        """
        self._check_open()
        errors: list[str] = []
        for key in reversed(keys):
            slab = self._slab_at(key)
            if slab is None:
                errors.append(
                    f"In deinitialize, address {key:#x} is not part of any reserved address range"
                )
                continue
            region = slab.regions.get(key)
            if region is None:
                errors.append(
                    f"In deinitialize, address {key:#x} does not correspond to the start of "
                    "any initialized region"
                )
                continue
            self._remove_region(slab, region)
            errors += self._run_dealloc_actions(region.dealloc)
            # The memory stays reserved; make it plain RW again so it can be reused and
            # `contains(writable=True)` stays truthful.
            for span_start, span_end in region.segments:
                try:
                    _memory.protect(span_start, span_end - span_start, _RW)
                except MemoryMapError as error:
                    errors.append(str(error))
        _raise_collected(errors, keys[0] if keys else 0)

    def release(self, bases: Sequence[int]) -> None:
        """LLVM 22 release: for each slab base (last to first) run the dealloc actions of the
        regions still initialized in it (newest region first, each in reverse), then unmap.

        Raises:
            MemoryMapError: "In release, 0x… is not part of any reserved address range" per
                unknown base, dealloc and unmap failures — all of them, one per line.
            RuntimeError: after `shutdown`.
        """
        self._check_open()
        errors: list[str] = []
        for base in reversed(bases):
            slab = self._slabs.get(base)
            if slab is None:
                errors.append(f"In release, {base:#x} is not part of any reserved address range")
                continue
            errors += self._free_slab(slab)
        _raise_collected(errors, bases[0] if bases else 0)

    # ---- queries ---------------------------------------------------------------------------

    def executable_ranges(self) -> tuple[tuple[int, int], ...]:
        """Sorted (start, end) ranges of the executable segments of live regions."""
        return tuple(self._executable)

    @property
    def executable_version(self) -> int:
        """A number that changes whenever `executable_ranges` does (to announce changes only)."""
        return self._executable_version

    def dealloc_functions(
        self, *, bases: Sequence[int] | None = None, keys: Sequence[int] | None = None
    ) -> list[int]:
        """The targets of the dealloc actions that freeing would run: of the slabs ``bases``
        (`deallocate`, `release`), of the regions ``keys`` (`deinitialize`), or of the whole
        map when neither is given (`shutdown`). Unknown bases and keys are skipped.

        For the owner to decide where the request runs (native actions may block); O(number
        of regions concerned).
        """
        if keys is not None:
            regions = []
            for key in keys:
                slab = self._slab_at(key)
                region = None if slab is None else slab.regions.get(key)
                if region is not None:
                    regions.append(region)
        else:
            slabs = (
                self._slabs.values()
                if bases is None
                else [slab for base in bases if (slab := self._slabs.get(base)) is not None]
            )
            regions = [region for slab in slabs for region in slab.regions.values()]
        return [call.fn for region in regions for call in region.dealloc]

    def contains_executable(self, address: int) -> bool:
        """Whether `address` lies in an executable segment this map finalized/initialized.

        For the guarded-call check; O(log n).
        """
        index = bisect.bisect_right(self._executable, (address, _ADDRESS_LIMIT)) - 1
        return index >= 0 and self._executable[index][0] <= address < self._executable[index][1]

    def contains(self, address: int, size: int, *, writable: bool = False) -> bool:
        """Whether [address, address+size) lies inside one reservation (so it is mapped).

        With `writable`, also that it overlaps no finalized segment without the W permission.
        For the checked memory-access wrappers.
        """
        if size < 0:
            return False
        slab = self._slab_at(address)
        if slab is None or address + size > slab.base + slab.size:
            return False
        if writable:
            for region in slab.regions.values():
                for start, end in region.readonly:
                    if start < address + size and address < end:
                        return False
        return True

    def statistics(self) -> MemoryMapStatistics:
        """A snapshot of counts and sizes."""
        regions = [region for slab in self._slabs.values() for region in slab.regions.values()]
        from ._records import MemoryMapStatistics

        return MemoryMapStatistics(
            slabs=len(self._slabs),
            regions=len(regions),
            reserved_bytes=sum(slab.size for slab in self._slabs.values()),
            dealloc_actions=sum(len(region.dealloc) for region in regions),
        )

    # ---- lifecycle -------------------------------------------------------------------------

    def detach(self) -> None:
        """The controller went away: nothing to do.

        As in orc-rt's SimpleNativeMemoryMap::onDetach, memory and dealloc actions are kept:
        JIT'd code may still run, and the actions run at `shutdown`.
        """

    def shutdown(self) -> None:
        """Release every reservation, newest first (dealloc actions of still-live regions run,
        newest region first, each in reverse), then refuse further requests. Idempotent.

        Raises:
            MemoryMapError: the collected dealloc/unmap failures, one per line, after
                everything was released (only from the first call).
        """
        if self._shut_down:
            return
        self._shut_down = True
        errors: list[str] = []
        for slab in reversed(list(self._slabs.values())):
            errors += self._free_slab(slab)
        _raise_collected(errors, 0)

    # ---- internals -------------------------------------------------------------------------

    def _check_open(self) -> None:
        if self._shut_down:
            raise RuntimeError("MemoryMap used after shutdown")

    def _mapped_size(self, size: int) -> int:
        return -(-size // self._page_size) * self._page_size

    def _slab_at(self, address: int) -> _Slab | None:
        index = bisect.bisect_right(self._bases, address) - 1
        if index < 0:
            return None
        slab = self._slabs[self._bases[index]]
        return slab if address < slab.base + slab.size else None

    def _slab_containing(self, start: int, end: int, context: str) -> _Slab:
        slab = self._slab_at(start)
        if slab is None or end > slab.base + slab.size:
            raise MemoryMapError(
                f"{context}, range {start:#x} -- {end:#x} is not part of any reserved "
                "address range",
                address=start,
                size=end - start,
            )
        return slab

    def _check_overlap(self, slab: _Slab, start: int, end: int) -> None:
        ordered = sorted(slab.regions)
        index = bisect.bisect_right(ordered, start)
        neighbours = []
        if index > 0:
            neighbours.append((slab.regions[ordered[index - 1]], "previous"))
        if index < len(ordered):
            neighbours.append((slab.regions[ordered[index]], "following"))
        for other, where in neighbours:
            if other.start < end and start < other.end:
                raise MemoryMapError(
                    f"In initialize, region {start:#x} -- {end:#x} overlaps {where} region "
                    f"{other.start:#x} -- {other.end:#x}",
                    address=start,
                    size=end - start,
                )

    def _write_segments(
        self, slab: _Slab, segs: Iterable[_Seg], written: list[_Seg] | None = None
    ) -> None:
        page = self._page_size
        locked: list[tuple[int, int]] = []  # page spans this request made non-writable
        for seg in segs:
            prot = seg.prot & _PROT_BITS
            first = seg.addr - seg.addr % page
            last = -(-seg.end // page) * page
            # Slab memory outside live segments is read-write (the invariant), so a segment
            # needs no mprotect before its memcpy unless one of its pages is shared with a
            # non-writable segment, of a live region or of this request (a memcpy there would
            # crash); then the pages are made writable first, as LLVM never needs to.
            if seg.size and self._pages_locked(slab, first, last, locked):
                _memory.protect(seg.addr, seg.size, _RW)
            if written is not None:
                written.append(seg)
            _memory.write_segment(seg.addr, seg.content, seg.size, prot)
            if seg.size and not prot & _memory.PROT_WRITE:
                locked.append((first, last))

    def _pages_locked(
        self, slab: _Slab, first: int, last: int, locked: list[tuple[int, int]]
    ) -> bool:
        """Whether a page in [first, last) may be non-writable: shared with a read-only
        segment of a live region of ``slab`` or with one of ``locked``."""
        page = self._page_size
        for start, end in locked:
            if start < last and first < end:
                return True
        for region in slab.regions.values():
            if region.start < last and first < region.end:
                for start, end in region.readonly:
                    if start - start % page < last and first < -(-end // page) * page:
                        return True
        return False

    def _call_action(self, call: _Call) -> tuple[str | None, BaseException | None]:
        try:
            message = self._run_action(call.fn, call.args)
        except Exception as exc:  # reported as the action's failure, chained as __cause__
            return f"alloc action {call.fn:#x} raised {type(exc).__name__}: {exc}", exc
        return message, None

    def _run_finalize_actions(self, pairs: Sequence[tuple[_Call, _Call]], key: int) -> list[_Call]:
        dealloc: list[_Call] = []
        for finalize, undo in pairs:
            if finalize.fn:
                message, cause = self._call_action(finalize)
                if message is not None:
                    errors = [message, *self._run_dealloc_actions(dealloc)]
                    error = MemoryMapError("\n".join(errors), address=key, size=0)
                    raise error from cause
            if undo.fn:
                dealloc.append(undo)
        return dealloc

    def _run_dealloc_actions(self, dealloc: Sequence[_Call]) -> list[str]:
        errors = []
        for call in reversed(dealloc):
            message, _ = self._call_action(call)
            if message is not None:
                errors.append(message)
        return errors

    def _add_region(
        self, slab: _Slab, start: int, end: int, segs: Sequence[_Seg], dealloc: list[_Call]
    ) -> None:
        executable = tuple((s.addr, s.end) for s in segs if s.prot & _memory.PROT_EXEC)
        readonly = tuple((s.addr, s.end) for s in segs if not s.prot & _memory.PROT_WRITE)
        spans = tuple((s.addr, s.end) for s in segs)
        region = _Region(start, end, spans, executable, readonly, dealloc)
        slab.regions[start] = region
        for span in executable:
            bisect.insort(self._executable, span)
        if executable:
            self._executable_version += 1

    def _remove_region(self, slab: _Slab, region: _Region) -> None:
        del slab.regions[region.start]
        for span in region.executable:
            self._executable.remove(span)
        if region.executable:
            self._executable_version += 1

    def _free_slab(self, slab: _Slab) -> list[str]:
        """Forget the slab, run its regions' dealloc actions (newest first), unmap it."""
        errors: list[str] = []
        for region in reversed(list(slab.regions.values())):
            self._remove_region(slab, region)
            errors += self._run_dealloc_actions(region.dealloc)
        del self._slabs[slab.base]
        self._bases.remove(slab.base)
        try:
            _memory.unmap(slab.base, self._mapped_size(slab.size))
        except MemoryMapError as error:
            errors.append(str(error))
        return errors

    def _bail_out_14(self, slab: _Slab, error: MemoryMapError) -> MemoryMapError:
        # LLVM 14 frees the whole allocation when finalize fails (its BailOut lambda).
        errors = [str(error), *self._free_slab(slab)]
        return MemoryMapError("\n".join(errors), address=error.address, size=error.size)


def _copy_segment(segment: Segment) -> _Seg:
    prot, addr, size = segment.prot, segment.addr, segment.size
    content = bytes(segment.content)
    if prot & ~(_PROT_BITS | FINALIZE_LIFETIME) or prot < 0:
        raise MemoryMapError(
            f"Segment {addr:#x} has unknown protection bits {prot:#x}", address=addr, size=size
        )
    if not (0 <= addr < _ADDRESS_LIMIT and 0 <= size <= _ADDRESS_LIMIT - addr):
        raise MemoryMapError(
            f"Segment {addr:#x} of {size:#x} bytes lies outside the address space",
            address=addr,
            size=size,
        )
    return _Seg(prot, addr, size, content)


def _copy_call(call: WrapperCall) -> _Call:
    return _Call(call.fn, bytes(call.args))


def _check_content(seg: _Seg) -> None:
    if len(seg.content) > seg.size:
        raise MemoryMapError(
            f"Segment {seg.addr:#x} content size ({len(seg.content):#x} bytes) exceeds "
            f"segment size ({seg.size:#x} bytes)",
            address=seg.addr,
            size=seg.size,
        )


def _raise_collected(errors: list[str], address: int) -> None:
    if errors:
        raise MemoryMapError("\n".join(errors), address=address, size=0)
