"""MemoryMap against real memory and real native alloc actions (LLVM 14 and 22 models)."""

from collections.abc import Callable, Iterator

import pytest

import native
from native import FINALIZE_LIFETIME, MemoryMap, MemoryMapError

from ._records import Call, Pair, Seg
from .conftest import CLib

PAGE = native.page_size()
R, W, X = native.PROT_READ, native.PROT_WRITE, native.PROT_EXEC

RunAction = Callable[[int, bytes], str | None]


NONE = Call(0, b"")


def perms(address: int) -> str | None:
    """The rwx permissions of the mapping containing `address`, from /proc/self/maps."""
    with open("/proc/self/maps") as maps:
        for line in maps:
            span, mode = line.split()[:2]
            low, high = (int(part, 16) for part in span.split("-"))
            if low <= address < high:
                return mode[:3]
    return None


class Actions:
    """Builds alloc-action pairs that call the test library's logging action."""

    def __init__(self, testlib: CLib) -> None:
        self.fn = testlib.address("record_action")

    def call(self, code: str, mode: int = 0) -> Call:
        return Call(self.fn, bytes([ord(code), mode]))

    def pair(self, code: str, undo: str | None, *, mode: int = 0, undo_mode: int = 0) -> Pair:
        dealloc = NONE if undo is None else self.call(undo, undo_mode)
        return Pair(self.call(code, mode), dealloc)


@pytest.fixture
def actions(testlib: CLib) -> Actions:
    return Actions(testlib)


@pytest.fixture
def memory_map(action_runner: RunAction) -> Iterator[MemoryMap]:
    memory = MemoryMap(action_runner)
    yield memory
    memory.shutdown()


# ---- reserve ----------------------------------------------------------------------------------


def test_memory_map_reserve_returns_page_aligned_read_write_memory(memory_map: MemoryMap) -> None:
    """reserve maps page-aligned RW memory and records a slab."""
    base = memory_map.reserve(3 * PAGE)
    assert base % PAGE == 0
    assert perms(base) == "rw-"
    native.write(base + 3 * PAGE - 1, b"\x7f")  # the whole reservation is writable
    assert memory_map.statistics() == native.MemoryMapStatistics(
        slabs=1, regions=0, reserved_bytes=3 * PAGE, dealloc_actions=0
    )


@pytest.mark.parametrize("size", [0, -PAGE, 1 << 64])
def test_memory_map_reserve_rejects_bad_sizes(memory_map: MemoryMap, size: int) -> None:
    """A reservation must be positive and within the address space."""
    with pytest.raises(MemoryMapError, match="the size must be positive") as info:
        memory_map.reserve(size)
    assert info.value.size == size
    assert memory_map.statistics().slabs == 0


def test_memory_map_reserve_accepts_non_page_multiples(memory_map: MemoryMap) -> None:
    """A size that is not a page multiple is mapped whole-page but bounded by its size."""
    base = memory_map.reserve(100)
    assert memory_map.contains(base, 100)
    assert not memory_map.contains(base, 101)


def test_memory_map_reserve_refused_by_the_os_chains_oserror(memory_map: MemoryMap) -> None:
    """An mmap the kernel refuses raises MemoryMapError with the OSError as cause."""
    with pytest.raises(MemoryMapError, match="mmap of") as info:
        memory_map.reserve(1 << 62)
    assert isinstance(info.value.__cause__, OSError)


# ---- LLVM 14: finalize / deallocate -----------------------------------------------------------


def test_memory_map_finalize_copies_zero_fills_and_protects(memory_map: MemoryMap) -> None:
    """finalize copies content, zero-fills to the size, and applies each protection."""
    base = memory_map.reserve(3 * PAGE)
    native.write(base, b"\xff" * 3 * PAGE)  # zero-fill must overwrite this
    memory_map.finalize(
        [
            Seg(R, base, PAGE, b"rodata"),
            Seg(R | W, base + PAGE, PAGE, b"data" * 100),
            Seg(R | X, base + 2 * PAGE, PAGE, b"\xc3"),
        ],
        [],
    )
    assert native.read(base, PAGE) == b"rodata" + bytes(PAGE - 6)
    assert native.read(base + PAGE, PAGE) == b"data" * 100 + bytes(PAGE - 400)
    assert native.read(base + 2 * PAGE, 2) == b"\xc3\x00"
    assert [perms(base), perms(base + PAGE), perms(base + 2 * PAGE)] == ["r--", "rw-", "r-x"]
    assert memory_map.executable_ranges() == ((base + 2 * PAGE, base + 3 * PAGE),)
    assert memory_map.contains_executable(base + 2 * PAGE + 5)
    assert not memory_map.contains_executable(base + PAGE)
    assert memory_map.statistics().regions == 1


def test_memory_map_write_gives_each_page_its_protection_once(
    memory_map: MemoryMap, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Fresh slab pages are read-write already: a segment costs no mprotect before its copy,
    and a read-write segment none at all (one native call per segment)."""
    calls: list[tuple[int, int, int]] = []
    real = native.protect

    def protect(address: int, size: int, prot: int) -> None:
        calls.append((address, size, prot))
        real(address, size, prot)

    monkeypatch.setattr("native._memory_map._memory.protect", protect)
    base = memory_map.reserve(3 * PAGE)
    memory_map.finalize(
        [
            Seg(R, base, PAGE, b"r"),
            Seg(R | W, base + PAGE, PAGE, b"w"),
            Seg(R | X, base + 2 * PAGE, PAGE, b"\xc3"),
        ],
        [],
    )
    assert calls == []  # all in write_segment, none made writable first
    assert [perms(base), perms(base + PAGE), perms(base + 2 * PAGE)] == ["r--", "rw-", "r-x"]


def test_memory_map_segment_sharing_a_page_with_read_only_code_is_written_safely(
    memory_map: MemoryMap,
) -> None:
    """A segment whose page holds a read-only segment (of a live region, or of the same
    request) is made writable first instead of crashing the memcpy."""
    base = memory_map.reserve(2 * PAGE)
    code = memory_map.initialize([Seg(R | X, base, 16, b"\xc3")], [])
    memory_map.initialize([Seg(R | W, base + 64, 16, b"data")], [])  # same page as the code
    assert native.read(base + 64, 4) == b"data"
    memory_map.initialize(
        [Seg(R, base + PAGE, 16, b"ro"), Seg(R | W, base + PAGE + 64, 16, b"rw")], []
    )
    assert native.read(base + PAGE + 64, 2) == b"rw"
    assert code == base


def test_memory_map_executable_version_changes_only_with_the_executable_ranges(
    memory_map: MemoryMap,
) -> None:
    """The version moves when code is added or removed, not for data or reservations."""
    start = memory_map.executable_version
    base = memory_map.reserve(2 * PAGE)
    memory_map.initialize([Seg(R | W, base, PAGE, b"")], [])
    assert memory_map.executable_version == start
    key = memory_map.initialize([Seg(R | X, base + PAGE, PAGE, b"")], [])
    added = memory_map.executable_version
    assert added != start
    memory_map.deinitialize([key])
    assert memory_map.executable_version not in (start, added)


def test_memory_map_dealloc_functions_name_what_freeing_would_run(
    memory_map: MemoryMap, actions: Actions
) -> None:
    """dealloc_functions lists the dealloc targets of given slabs, regions, or everything."""
    one = memory_map.reserve(PAGE)
    two = memory_map.reserve(2 * PAGE)
    memory_map.finalize([Seg(R, one, PAGE, b"")], [actions.pair("A", "a")])
    first = memory_map.initialize([Seg(R, two, PAGE, b"")], [actions.pair("B", "b")])
    memory_map.initialize([Seg(R, two + PAGE, PAGE, b"")], [actions.pair("C", None)])
    fn = actions.fn
    assert memory_map.dealloc_functions(bases=[one]) == [fn]
    assert memory_map.dealloc_functions(bases=[two, 12345]) == [fn]
    assert memory_map.dealloc_functions(keys=[first, two + PAGE, 999]) == [fn]
    assert memory_map.dealloc_functions() == [fn, fn]
    assert memory_map.dealloc_functions(bases=[]) == []


def test_memory_map_finalize_without_segments_or_actions_is_a_no_op(
    memory_map: MemoryMap,
) -> None:
    """An empty LLVM 14 finalize succeeds and changes nothing."""
    memory_map.finalize([], [])
    assert memory_map.statistics().regions == 0


def test_memory_map_finalize_actions_without_segments_fail(
    memory_map: MemoryMap, actions: Actions
) -> None:
    """Actions attached to an empty request are refused with LLVM's message."""
    with pytest.raises(MemoryMapError) as info:
        memory_map.finalize([], [actions.pair("A", None)])
    assert str(info.value) == "Finalization actions attached to empty finalization request"


def test_memory_map_finalize_unknown_allocation_fails(memory_map: MemoryMap) -> None:
    """The lowest segment must be a reservation base."""
    base = memory_map.reserve(2 * PAGE)
    with pytest.raises(MemoryMapError) as info:
        memory_map.finalize([Seg(R, base + PAGE, PAGE, b"")], [])
    assert str(info.value) == f"Attempt to finalize unrecognized allocation {base + PAGE:#x}"
    assert info.value.address == base + PAGE
    assert memory_map.statistics().slabs == 1


def test_memory_map_finalize_oversized_content_frees_the_allocation(
    memory_map: MemoryMap,
) -> None:
    """Content larger than its segment fails and, as in LLVM 14, frees the allocation."""
    base = memory_map.reserve(PAGE)
    with pytest.raises(MemoryMapError) as info:
        memory_map.finalize([Seg(R, base, 4, b"12345")], [])
    assert str(info.value) == (
        f"Segment {base:#x} content size (0x5 bytes) exceeds segment size (0x4 bytes)"
    )
    assert memory_map.statistics().slabs == 0
    assert perms(base) is None or not memory_map.contains(base, 1)


def test_memory_map_finalize_segment_crossing_the_allocation_fails(
    memory_map: MemoryMap,
) -> None:
    """A segment reaching past its reservation fails with LLVM 14's boundary message."""
    base = memory_map.reserve(PAGE)
    with pytest.raises(MemoryMapError) as info:
        memory_map.finalize([Seg(R, base, 2 * PAGE, b"")], [])
    assert str(info.value) == (
        f"Segment {base:#x} -- {base + 2 * PAGE:#x} crosses boundary of allocation "
        f"{base:#x} -- {base + PAGE:#x}"
    )
    assert memory_map.statistics().slabs == 0


def test_memory_map_finalize_twice_is_refused(memory_map: MemoryMap) -> None:
    """A second finalize of one allocation would lose dealloc actions, so it is refused."""
    base = memory_map.reserve(PAGE)
    memory_map.finalize([Seg(R | W, base, PAGE, b"")], [])
    with pytest.raises(MemoryMapError, match=f"Allocation {base:#x} is already finalized"):
        memory_map.finalize([Seg(R | W, base, PAGE, b"")], [])


def test_memory_map_finalize_runs_actions_in_order_and_deallocate_in_reverse(
    memory_map: MemoryMap, actions: Actions, testlib: CLib
) -> None:
    """Finalize actions run in order; deallocate runs the dealloc actions in reverse."""
    base = memory_map.reserve(PAGE)
    pairs = [actions.pair("A", "a"), actions.pair("B", "b"), actions.pair("C", None)]
    memory_map.finalize([Seg(R, base, PAGE, b"x")], pairs)
    assert testlib.action_log() == b"ABC"
    assert memory_map.statistics().dealloc_actions == 2
    memory_map.deallocate([base])
    assert testlib.action_log() == b"ABCba"
    assert memory_map.statistics() == native.MemoryMapStatistics(
        slabs=0, regions=0, reserved_bytes=0, dealloc_actions=0
    )
    assert not memory_map.contains(base, 1)


def test_memory_map_finalize_null_finalize_action_keeps_its_dealloc(
    memory_map: MemoryMap, actions: Actions, testlib: CLib
) -> None:
    """A pair with no finalize action still records its dealloc action."""
    base = memory_map.reserve(PAGE)
    memory_map.finalize([Seg(R, base, PAGE, b"")], [Pair(NONE, actions.call("z"))])
    assert testlib.action_log() == b""
    memory_map.deallocate([base])
    assert testlib.action_log() == b"z"


@pytest.mark.parametrize(
    ("mode", "message"), [(1, "action B failed"), (2, "action failed out of band")]
)
def test_memory_map_finalize_action_failure_rolls_back_and_frees(
    memory_map: MemoryMap, actions: Actions, testlib: CLib, mode: int, message: str
) -> None:
    """A failing finalize action undoes completed pairs in reverse and frees the allocation."""
    base = memory_map.reserve(PAGE)
    pairs = [actions.pair("A", "a"), actions.pair("B", "b", mode=mode), actions.pair("C", "c")]
    with pytest.raises(MemoryMapError) as info:
        memory_map.finalize([Seg(R, base, PAGE, b"")], pairs)
    assert str(info.value) == message
    assert testlib.action_log() == b"ABa"
    assert memory_map.statistics().slabs == 0


def test_memory_map_finalize_failure_reports_rollback_failures_too(
    memory_map: MemoryMap, actions: Actions, testlib: CLib
) -> None:
    """Dealloc failures during rollback are appended to the action's error, one per line."""
    base = memory_map.reserve(PAGE)
    pairs = [actions.pair("A", "a", undo_mode=1), actions.pair("B", None, mode=1)]
    with pytest.raises(MemoryMapError) as info:
        memory_map.finalize([Seg(R, base, PAGE, b"")], pairs)
    assert str(info.value) == "action B failed\naction a failed"
    assert testlib.action_log() == b"ABa"


def test_memory_map_run_action_exception_is_a_chained_failure(testlib: CLib) -> None:
    """If run_action raises, the request fails naming it, with the exception as cause."""

    def broken(fn: int, args: bytes) -> str | None:
        raise RuntimeError("runner broke")

    memory = MemoryMap(broken)
    base = memory.reserve(PAGE)
    fn = testlib.address("record_action")
    with pytest.raises(MemoryMapError) as info:
        memory.initialize([Seg(R, base, PAGE, b"")], [Pair(Call(fn, b"A\0"), NONE)])
    assert str(info.value) == f"alloc action {fn:#x} raised RuntimeError: runner broke"
    assert isinstance(info.value.__cause__, RuntimeError)
    memory.shutdown()


def test_memory_map_deallocate_reports_unknown_bases_and_frees_the_rest(
    memory_map: MemoryMap, actions: Actions, testlib: CLib
) -> None:
    """Unknown bases are reported (LLVM text) while every known base is still freed."""
    first = memory_map.reserve(PAGE)
    second = memory_map.reserve(PAGE)
    memory_map.finalize([Seg(R, first, PAGE, b"")], [actions.pair("A", "a")])
    memory_map.finalize([Seg(R, second, PAGE, b"")], [actions.pair("B", "b")])
    with pytest.raises(MemoryMapError) as info:
        memory_map.deallocate([first, 0x1234, second, first])
    assert str(info.value) == (
        f"No allocation entry found for 0x1234\nNo allocation entry found for {first:#x}"
    )
    assert testlib.action_log() == b"ABba"  # bases processed last to first
    assert memory_map.statistics().slabs == 0


def test_memory_map_deallocate_runs_every_dealloc_action_despite_failures(
    memory_map: MemoryMap, actions: Actions, testlib: CLib
) -> None:
    """Dealloc failures are collected after all dealloc actions ran."""
    base = memory_map.reserve(PAGE)
    pairs = [actions.pair("A", "a", undo_mode=1), actions.pair("B", "b", undo_mode=2)]
    memory_map.finalize([Seg(R, base, PAGE, b"")], pairs)
    with pytest.raises(MemoryMapError) as info:
        memory_map.deallocate([base])
    assert str(info.value) == "action failed out of band\naction a failed"
    assert testlib.action_log() == b"ABba"
    assert memory_map.statistics().slabs == 0


# ---- LLVM 22: initialize / deinitialize / release ---------------------------------------------


def test_memory_map_initialize_returns_lowest_standard_segment(memory_map: MemoryMap) -> None:
    """The init key is the lowest standard segment; finalize-lifetime ones end up plain RW."""
    base = memory_map.reserve(4 * PAGE)
    key = memory_map.initialize(
        [
            Seg(R | FINALIZE_LIFETIME, base, PAGE, b"scratch"),
            Seg(R | X, base + 2 * PAGE, PAGE, b"\x90\xc3"),
            Seg(R, base + PAGE, PAGE, b"ro"),
        ],
        [],
    )
    assert key == base + PAGE
    assert native.read(base, 7) == b"scratch"
    assert [perms(base), perms(base + PAGE), perms(base + 2 * PAGE)] == ["rw-", "r--", "r-x"]
    assert memory_map.executable_ranges() == ((base + 2 * PAGE, base + 3 * PAGE),)
    # The region is [key, end of the last standard segment): the page after it is still free.
    assert memory_map.initialize([Seg(R, base + 3 * PAGE, PAGE, b"")], []) == base + 3 * PAGE


@pytest.mark.parametrize(
    ("with_actions", "message"),
    [
        (False, "Finalization request is empty"),
        (True, "Finalization actions attached to empty finalization request"),
    ],
)
def test_memory_map_initialize_empty_request_fails(
    memory_map: MemoryMap, actions: Actions, with_actions: bool, message: str
) -> None:
    """An initialize without segments is an error (unlike LLVM 14's finalize)."""
    pairs = [actions.pair("A", None)] if with_actions else []
    with pytest.raises(MemoryMapError) as info:
        memory_map.initialize([], pairs)
    assert str(info.value) == message


def test_memory_map_initialize_needs_a_standard_segment(memory_map: MemoryMap) -> None:
    """Only finalize-lifetime segments leave no region to key the request by."""
    base = memory_map.reserve(PAGE)
    with pytest.raises(MemoryMapError, match="no standard-lifetime segment"):
        memory_map.initialize([Seg(R | FINALIZE_LIFETIME, base, PAGE, b"")], [])


def test_memory_map_initialize_outside_any_slab_writes_nothing(memory_map: MemoryMap) -> None:
    """A region leaving its slab is refused before any segment is written."""
    base = memory_map.reserve(PAGE)
    native.write(base, b"keep")
    segments = [Seg(R, base, 16, b"overwrite"), Seg(R, base + PAGE, PAGE, b"")]
    with pytest.raises(MemoryMapError) as info:
        memory_map.initialize(segments, [])
    assert str(info.value) == (
        f"In initialize, range {base:#x} -- {base + 2 * PAGE:#x} is not part of any reserved "
        "address range"
    )
    assert native.read(base, 4) == b"keep"
    assert perms(base) == "rw-"


def test_memory_map_initialize_oversized_content_fails(memory_map: MemoryMap) -> None:
    """Content larger than its segment is refused with LLVM's message; the slab stays."""
    base = memory_map.reserve(PAGE)
    with pytest.raises(MemoryMapError) as info:
        memory_map.initialize([Seg(R, base, 2, b"abc")], [])
    assert str(info.value) == (
        f"Segment {base:#x} content size (0x3 bytes) exceeds segment size (0x2 bytes)"
    )
    assert memory_map.statistics().slabs == 1


def test_memory_map_initialize_overlapping_regions_fail(memory_map: MemoryMap) -> None:
    """A region overlapping an earlier or later one is refused, naming the other region."""
    base = memory_map.reserve(4 * PAGE)
    memory_map.initialize([Seg(R, base + PAGE, PAGE, b"")], [])
    with pytest.raises(MemoryMapError) as info:
        memory_map.initialize([Seg(R, base + PAGE, 2 * PAGE, b"")], [])
    assert str(info.value) == (
        f"In initialize, region {base + PAGE:#x} -- {base + 3 * PAGE:#x} overlaps previous "
        f"region {base + PAGE:#x} -- {base + 2 * PAGE:#x}"
    )
    with pytest.raises(MemoryMapError) as info:
        memory_map.initialize([Seg(R, base, 2 * PAGE, b"")], [])
    assert str(info.value) == (
        f"In initialize, region {base:#x} -- {base + 2 * PAGE:#x} overlaps following "
        f"region {base + PAGE:#x} -- {base + 2 * PAGE:#x}"
    )
    assert memory_map.statistics().regions == 1


@pytest.mark.parametrize("prot", [0x10, 0x80, -1])
def test_memory_map_unknown_protection_bits_are_refused(memory_map: MemoryMap, prot: int) -> None:
    """Protection bits beyond RWX and FinalizeLifetime are refused before anything happens."""
    base = memory_map.reserve(PAGE)
    with pytest.raises(MemoryMapError, match="unknown protection bits"):
        memory_map.initialize([Seg(prot, base, PAGE, b"")], [])


def test_memory_map_initialize_action_failure_resets_and_keeps_the_slab(
    memory_map: MemoryMap, actions: Actions, testlib: CLib
) -> None:
    """A failing action rolls back completed pairs, resets segments to RW, keeps the slab."""
    base = memory_map.reserve(PAGE)
    segments = [Seg(R | X, base, PAGE, b"\xc3")]
    with pytest.raises(MemoryMapError) as info:
        memory_map.initialize(segments, [actions.pair("A", "a"), actions.pair("B", "b", mode=1)])
    assert str(info.value) == "action B failed"
    assert testlib.action_log() == b"ABa"
    assert perms(base) == "rw-"
    assert memory_map.statistics() == native.MemoryMapStatistics(
        slabs=1, regions=0, reserved_bytes=PAGE, dealloc_actions=0
    )
    assert memory_map.executable_ranges() == ()
    assert memory_map.initialize(segments, []) == base


def test_memory_map_deinitialize_runs_deallocs_in_reverse_and_keeps_memory(
    memory_map: MemoryMap, actions: Actions, testlib: CLib
) -> None:
    """deinitialize processes keys last to first and forgets the regions, keeping the slab."""
    base = memory_map.reserve(2 * PAGE)
    first = memory_map.initialize([Seg(R | X, base, PAGE, b"")], [actions.pair("A", "a")])
    second = memory_map.initialize(
        [Seg(R, base + PAGE, PAGE, b"")], [actions.pair("B", "b"), actions.pair("C", "c")]
    )
    memory_map.deinitialize([first, second])
    assert testlib.action_log() == b"ABCcba"
    assert memory_map.statistics().regions == 0
    assert memory_map.executable_ranges() == ()
    assert memory_map.contains(base, 2 * PAGE)
    assert memory_map.initialize([Seg(R, base, 2 * PAGE, b"again")], []) == base


def test_memory_map_deinitialize_reports_bad_keys(
    memory_map: MemoryMap, actions: Actions, testlib: CLib
) -> None:
    """Keys outside any slab or not at a region start are reported; good keys still run."""
    base = memory_map.reserve(2 * PAGE)
    key = memory_map.initialize([Seg(R, base, PAGE, b"")], [actions.pair("A", "a")])
    with pytest.raises(MemoryMapError) as info:
        memory_map.deinitialize([0x1000, key, base + 8])
    assert str(info.value) == (
        f"In deinitialize, address {base + 8:#x} does not correspond to the start of any "
        "initialized region\n"
        "In deinitialize, address 0x1000 is not part of any reserved address range"
    )
    assert testlib.action_log() == b"Aa"


def test_memory_map_release_runs_live_regions_newest_first_and_unmaps(
    memory_map: MemoryMap, actions: Actions, testlib: CLib
) -> None:
    """release runs dealloc actions of regions still initialized (newest first), then unmaps."""
    first = memory_map.reserve(2 * PAGE)
    second = memory_map.reserve(PAGE)
    memory_map.initialize([Seg(R, first + PAGE, PAGE, b"")], [actions.pair("A", "a")])
    memory_map.initialize([Seg(R, first, PAGE, b"")], [actions.pair("B", "b")])
    memory_map.initialize([Seg(R, second, PAGE, b"")], [actions.pair("C", "c")])
    memory_map.release([first, second])
    assert testlib.action_log() == b"ABCcba"
    assert memory_map.statistics().slabs == 0
    assert not memory_map.contains(first, 1)


def test_memory_map_release_unknown_base_fails(memory_map: MemoryMap) -> None:
    """A base that is not a reservation start gets LLVM 22's message."""
    base = memory_map.reserve(2 * PAGE)
    with pytest.raises(MemoryMapError) as info:
        memory_map.release([base + PAGE])
    assert str(info.value) == (
        f"In release, {base + PAGE:#x} is not part of any reserved address range"
    )
    assert memory_map.statistics().slabs == 1


# ---- queries and lifecycle --------------------------------------------------------------------


def test_memory_map_contains_checks_bounds_and_writability(memory_map: MemoryMap) -> None:
    """contains covers reservations only; writable excludes non-W segments."""
    base = memory_map.reserve(2 * PAGE)
    memory_map.initialize([Seg(R, base, PAGE, b"")], [])
    assert memory_map.contains(base, 2 * PAGE)
    assert not memory_map.contains(base - 1, 2)
    assert not memory_map.contains(base + PAGE, PAGE + 1)
    assert not memory_map.contains(base, -1)
    assert memory_map.contains(base + PAGE, PAGE, writable=True)
    assert not memory_map.contains(base + PAGE - 1, 2, writable=True)


def test_memory_map_detach_keeps_memory_and_actions(
    memory_map: MemoryMap, actions: Actions, testlib: CLib
) -> None:
    """detach is a no-op: memory stays and dealloc actions wait for shutdown."""
    base = memory_map.reserve(PAGE)
    memory_map.initialize([Seg(R, base, PAGE, b"kept")], [actions.pair("A", "a")])
    memory_map.detach()
    assert native.read(base, 4) == b"kept"
    assert testlib.action_log() == b"A"
    memory_map.shutdown()
    assert testlib.action_log() == b"Aa"


def test_memory_map_shutdown_releases_everything_once(
    action_runner: RunAction, actions: Actions, testlib: CLib
) -> None:
    """shutdown runs pending dealloc actions newest first, unmaps all, and is idempotent."""
    memory = MemoryMap(action_runner)
    first = memory.reserve(PAGE)
    second = memory.reserve(PAGE)
    memory.finalize([Seg(R, first, PAGE, b"")], [actions.pair("A", "a")])
    memory.initialize([Seg(R, second, PAGE, b"")], [actions.pair("B", "b", undo_mode=1)])
    with pytest.raises(MemoryMapError) as info:
        memory.shutdown()
    assert str(info.value) == "action b failed"
    assert testlib.action_log() == b"ABba"
    assert memory.statistics().slabs == 0
    memory.shutdown()  # the second call does nothing and raises nothing
    assert testlib.action_log() == b"ABba"
    with pytest.raises(RuntimeError, match="after shutdown"):
        memory.reserve(PAGE)
    assert "shut down" in repr(memory)
