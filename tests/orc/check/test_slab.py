"""`SlabMemoryManager`: reservations at predictable addresses, finalize, release, reads."""

from __future__ import annotations

import itertools

import pytest
from hypothesis import given
from hypothesis import strategies as st

from actors.orc import Segment, SlabExhaustedError, SlabMemoryManager, parse_slab_size
from actors.orc.jitlink import Lifetime, MemProt
from actors.orc.jitlink import Segment as GraphSegment

BASE = 0x1000_0000
PAGE = 0x1000


def _slab(pages: int = 16) -> SlabMemoryManager:
    return SlabMemoryManager(size=pages * PAGE, address=BASE, page_size=PAGE)


@pytest.mark.parametrize(
    ("text", "size"),
    [
        ("100Kb", 100 << 10),
        ("100", 100 << 10),
        ("2Mb", 2 << 20),
        ("1gb", 1 << 30),
        (" 4 KB ", 4096),
    ],
)
def test_parse_slab_size_reads_llvm_jitlink_sizes(text: str, size: int) -> None:
    """Decimal with Kb/Mb/Gb (any case); Kb when no unit is given."""
    assert parse_slab_size(text) == size


@pytest.mark.parametrize("text", ["", "Kb", "0x100", "1.5Mb", "10Tb", "-1"])
def test_parse_slab_size_rejects_other_text(text: str) -> None:
    """Anything else is a ValueError naming the text."""
    with pytest.raises(ValueError, match="invalid numeric format for slab size"):
        parse_slab_size(text)


def test_slab_reservations_follow_each_other_from_the_start() -> None:
    """Reservations are page-rounded and placed one after the other from the slab's base."""
    slab = _slab()
    assert slab.reserve_nowait(1) == BASE
    assert slab.reserve_nowait(PAGE + 1) == BASE + PAGE
    assert slab.reserve_nowait(PAGE) == BASE + 3 * PAGE
    assert slab.reserve_nowait(0) == BASE + 4 * PAGE  # an empty graph still gets a base
    assert [(a.base, a.size) for a in slab.allocations()] == [
        (BASE, PAGE),
        (BASE + PAGE, 2 * PAGE),
        (BASE + 3 * PAGE, PAGE),
        (BASE + 4 * PAGE, PAGE),
    ]
    with pytest.raises(ValueError, match="cannot reserve -1 bytes"):
        slab.reserve_nowait(-1)


def test_slab_exhaustion_names_the_sizes() -> None:
    """A reservation that does not fit fails, saying how much was asked and what is left."""
    slab = _slab(4)
    slab.reserve_nowait(3 * PAGE)
    with pytest.raises(
        SlabExhaustedError, match=r"0x2000 bytes does not fit \(largest free range: 0x1000"
    ):
        slab.reserve_nowait(2 * PAGE)
    assert slab.reserve_nowait(PAGE) == BASE + 3 * PAGE
    with pytest.raises(SlabExhaustedError, match="largest free range: 0x0 bytes"):
        slab.reserve_nowait(1)


def test_slab_release_merges_and_the_lowest_free_range_is_reused() -> None:
    """Freed ranges merge with their neighbours; the next reservation takes the lowest fit."""
    slab = _slab(8)
    first, second, third = (slab.reserve_nowait(PAGE) for _ in range(3))
    slab.release_nowait([second])
    slab.release_nowait([first])
    assert slab.reserve_nowait(2 * PAGE) == first  # the merged [first, second) range
    slab.release_nowait([third])
    assert slab.reserve_nowait(6 * PAGE) == third  # third merged with the untouched rest


def test_slab_release_of_an_unknown_base_fails_and_frees_nothing() -> None:
    """Releasing something that is not a reservation's start is a ValueError; no change."""
    slab = _slab()
    base = slab.reserve_nowait(PAGE)
    with pytest.raises(ValueError, match="no reservation of this slab starts at 0x10000008"):
        slab.release_nowait([base, base + 8])
    assert len(slab.allocations()) == 1


def test_slab_finalize_writes_content_and_zero_fill() -> None:
    """Content lands at its address, the rest of each segment is zeros; actions are kept,
    never run. The EPC's and the linker core's segments are both accepted."""
    slab = _slab()
    base = slab.reserve_nowait(2 * PAGE)
    key = slab.finalize_nowait(
        [
            Segment(MemProt.READ, base, PAGE, b"abc"),
            GraphSegment(
                protection=MemProt.READ | MemProt.WRITE,
                lifetime=Lifetime.STANDARD,
                address=base + PAGE,
                size=PAGE,
                content=b"\xff" * 8,
            ),
        ],
        ["action"],
    )
    assert key == base
    assert slab.read(base, 4) == b"abc\0"
    assert slab.read(base + PAGE - 2, 4) == b"\0\0\xff\xff"
    assert slab.read(base + PAGE + 8, 8) == bytes(8)
    (allocation,) = slab.allocations()
    assert allocation.segments == ((base, PAGE), (base + PAGE, PAGE))
    assert allocation.actions == ("action",)


def test_slab_finalize_refuses_segments_outside_one_reservation() -> None:
    """Segments must lie in a reservation, all in the same one, content within size."""
    slab = _slab()
    first, second = slab.reserve_nowait(PAGE), slab.reserve_nowait(PAGE)
    with pytest.raises(ValueError, match="is not inside a reservation"):
        slab.finalize_nowait([Segment(MemProt.READ, BASE + 8 * PAGE, PAGE)])
    with pytest.raises(ValueError, match="is not inside a reservation"):
        slab.finalize_nowait([Segment(MemProt.READ, first, 2 * PAGE)])
    with pytest.raises(ValueError, match="one finalize covers one reservation"):
        slab.finalize_nowait(
            [Segment(MemProt.READ, first, PAGE), Segment(MemProt.READ, second, PAGE)]
        )
    with pytest.raises(ValueError, match="at least one segment"):
        slab.finalize_nowait([])


def test_slab_reads_only_finalized_memory() -> None:
    """Reads outside the slab, in a reservation not yet finalized, or across its end fail."""
    slab = _slab()
    base = slab.reserve_nowait(PAGE)
    with pytest.raises(LookupError, match="not inside a finalized reservation"):
        slab.read(base, 1)
    slab.finalize_nowait([Segment(MemProt.READ, base, PAGE)])
    assert slab.read(base + PAGE - 1, 1) == b"\0"
    with pytest.raises(LookupError, match="not inside finalized slab memory"):
        slab.read(base + PAGE - 1, 2)
    with pytest.raises(LookupError, match="not inside finalized slab memory"):
        slab.read(BASE - 8, 4)


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"size": PAGE, "address": BASE + 8}, "is not aligned to the page size"),
        ({"size": PAGE - 1, "address": BASE}, "holds no whole page"),
        ({"size": PAGE, "address": BASE, "page_size": 3000}, "is not a power of two"),
        ({"size": 2 * PAGE, "address": (1 << 64) - PAGE}, "does not fit in the 64-bit"),
    ],
)
def test_slab_rejects_bad_geometry(kwargs: dict[str, int], message: str) -> None:
    """The slab's base, size and page size are checked when it is made."""
    with pytest.raises(ValueError, match=message):
        SlabMemoryManager(**kwargs)


@pytest.mark.asyncio
async def test_slab_async_interface_is_the_memory_manager_one() -> None:
    """reserve/finalize/release as the ObjectLinkingLayer calls them (contract 4)."""
    slab = _slab()
    base = await slab.reserve(10)
    assert await slab.finalize([Segment(MemProt.READ, base, PAGE, b"x")]) == base
    assert slab.read(base, 1) == b"x"
    await slab.release([base])
    assert slab.allocations() == ()


@given(st.lists(st.tuples(st.booleans(), st.integers(1, 5 * PAGE)), max_size=40))
def test_slab_reservations_never_overlap(operations: list[tuple[bool, int]]) -> None:
    """Whatever the reserve/release sequence, live reservations are disjoint, page-aligned,
    inside the slab, and a release makes room for a reservation of the same size."""
    slab = _slab(32)
    live: list[int] = []
    for release, size in operations:
        if release and live:
            slab.release_nowait([live.pop(size % len(live))])
            continue
        try:
            live.append(slab.reserve_nowait(size))
        except SlabExhaustedError:
            continue
    spans = sorted((a.base, a.base + a.size) for a in slab.allocations())
    for (_, end), (start, _) in itertools.pairwise(spans):
        assert end <= start
    for start, end in spans:
        assert start % PAGE == 0
        assert BASE <= start < end <= BASE + 32 * PAGE
    slab.release_nowait(live)
    assert slab.reserve_nowait(32 * PAGE) == BASE
