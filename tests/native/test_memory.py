"""Memory primitives: real mmap/mprotect/memcpy, and checked access via process_vm_*."""

import struct
from collections.abc import Iterator

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import native
from native import MemoryAccessError, MemoryMapError

PAGE = native.page_size()


@pytest.fixture
def pages() -> Iterator[int]:
    """Three RW pages; the last one is made inaccessible (PROT_NONE) to fault on."""
    base = native.map_anonymous(3 * PAGE)
    native.protect(base + 2 * PAGE, PAGE, 0)
    yield base
    native.unmap(base, 3 * PAGE)


def test_memory_page_size_is_a_power_of_two() -> None:
    """The page size is the system's (4096 on x86-64 Linux)."""
    size = native.page_size()
    assert size >= 4096
    assert size & (size - 1) == 0


def test_memory_map_anonymous_is_zeroed_and_writable(pages: int) -> None:
    """Fresh anonymous memory reads as zeros and accepts writes."""
    assert native.read(pages, 16) == bytes(16)
    native.write(pages + 10, b"hello")
    assert native.read(pages + 8, 9) == b"\0\0hello\0\0"
    native.zero(pages + 11, 2)
    assert native.read(pages + 10, 5) == b"h\0\0lo"


@pytest.mark.parametrize("size", [0, -1])
def test_memory_map_anonymous_rejects_non_positive_sizes(size: int) -> None:
    """Mapping nothing is refused with a MemoryMapError naming the size."""
    with pytest.raises(MemoryMapError, match="size must be positive"):
        native.map_anonymous(size)


def test_memory_protect_rejects_unknown_bits(pages: int) -> None:
    """Only R=1, W=2, X=4 are protection bits."""
    with pytest.raises(ValueError, match="bits other than"):
        native.protect(pages, PAGE, 8)


def test_memory_os_refusals_chain_the_oserror() -> None:
    """mprotect/munmap failures carry the OSError as __cause__ and name the range."""
    with pytest.raises(MemoryMapError, match="munmap of 0x1001") as info:
        native.unmap(0x1001, PAGE)  # not page aligned: EINVAL
    assert isinstance(info.value.__cause__, OSError)
    assert info.value.address == 0x1001


def test_memory_null_and_out_of_range_addresses_are_refused() -> None:
    """Address 0 and ranges past 2**64 are refused even in unchecked mode (no crash)."""
    with pytest.raises(MemoryAccessError, match="null address"):
        native.read(0, 1)
    with pytest.raises(MemoryAccessError, match="outside the address space"):
        native.write((1 << 64) - 2, b"abc")
    with pytest.raises(MemoryAccessError, match="null address"):
        native.write_uints(4, [(0, 1)], checked=False)


def test_memory_uint_round_trip_every_width(pages: int) -> None:
    """read_uint/write_uint use native (little-endian) order for each width."""
    for offset, width in enumerate((1, 2, 4, 8)):
        address = pages + 16 * offset
        value = (1 << (8 * width)) - 2
        native.write_uint(address, width, value)
        assert native.read_uint(address, width) == value
        assert native.read(address, width) == value.to_bytes(width, "little")


def test_memory_uint_bad_width_and_value_are_refused(pages: int) -> None:
    """Widths other than 1, 2, 4, 8 and values that do not fit raise ValueError."""
    with pytest.raises(ValueError, match="width 3"):
        native.read_uint(pages, 3)
    with pytest.raises(ValueError, match="does not fit in an unsigned 8-bit"):
        native.write_uint(pages, 1, 256)
    with pytest.raises(ValueError, match="does not fit"):
        native.write_uints(2, [(pages, 1), (pages + 2, -1)], checked=True)
    assert native.read(pages, 4) == bytes(4)  # nothing was written


@pytest.mark.parametrize("checked", [False, True])
def test_memory_batch_uints_round_trip(pages: int, checked: bool) -> None:
    """write_uints/read_uints handle many addresses in one call (mem_*_uintNs wrappers)."""
    pairs = [(pages + 8 * i, i * 0x0101010101010101) for i in range(20)]
    native.write_uints(8, pairs, checked=checked)
    assert native.read_uints(8, [a for a, _ in pairs], checked=checked) == [v for _, v in pairs]
    assert native.read_uints(2, [pages + 8], checked=checked) == [0x0101]


@pytest.mark.parametrize("checked", [False, True])
def test_memory_batch_buffers_round_trip(pages: int, checked: bool) -> None:
    """write_buffers/read_buffers copy each buffer in order, including empty ones."""
    native.write_buffers([(pages, b"abc"), (pages + 100, b""), (pages + 2, b"XY")], checked=checked)
    assert native.read_buffers([(pages, 4), (pages + 100, 0)], checked=checked) == [b"abXY", b""]


def test_memory_checked_read_of_inaccessible_memory_fails_cleanly(pages: int) -> None:
    """A checked read of a PROT_NONE or unmapped page raises instead of crashing."""
    bad = pages + 2 * PAGE
    with pytest.raises(MemoryAccessError, match=f"cannot read {bad + 4:#x}") as info:
        native.read_uints(4, [pages, bad + 4], checked=True)
    assert info.value.address == bad + 4
    assert isinstance(info.value.__cause__, OSError)
    with pytest.raises(MemoryAccessError, match="cannot read 0x1000"):
        native.checked_read(0x1000, 8)


def test_memory_checked_read_names_the_failing_range_in_a_batch(pages: int) -> None:
    """When one of many ranges fails, the error names that range."""
    bad = pages + 2 * PAGE
    ranges = [(pages, 8), (pages + PAGE, 8), (bad, 8), (pages, 8)]
    with pytest.raises(MemoryAccessError) as info:
        native.read_buffers(ranges, checked=True)
    assert (info.value.address, info.value.size) == (bad, 8)


def test_memory_checked_write_honours_page_protection(pages: int) -> None:
    """A checked write to read-only memory fails and leaves it unchanged."""
    native.write(pages + PAGE, b"original")
    native.protect(pages + PAGE, PAGE, native.PROT_READ)
    with pytest.raises(MemoryAccessError, match="cannot write"):
        native.checked_write(pages + PAGE, b"changed!")
    assert native.read(pages + PAGE, 8) == b"original"
    with pytest.raises(MemoryAccessError):
        native.write_uints(1, [(pages + 2 * PAGE, 1)], checked=True)


def test_memory_read_size_limit(pages: int) -> None:
    """A read larger than MAX_READ_SIZE is refused before allocating."""
    with pytest.raises(MemoryAccessError, match="limit"):
        native.read_buffers([(pages, native.MAX_READ_SIZE + 1)], checked=True)
    with pytest.raises(MemoryAccessError, match="limit"):
        native.read(pages, native.MAX_READ_SIZE + 1)


@pytest.mark.parametrize("checked", [False, True])
def test_memory_read_cstrings(pages: int, checked: bool) -> None:
    """C strings are read up to their NUL, which is not included."""
    native.write(pages, b"first\0\0second\0")
    strings = native.read_cstrings([pages, pages + 5, pages + 7], limit=64, checked=checked)
    assert strings == [b"first", b"", b"second"]
    native.write(pages + 64, b"x" * 16)
    with pytest.raises(MemoryAccessError, match="no NUL terminator within 8 bytes"):
        native.read_cstrings([pages + 64], limit=8, checked=checked)


def test_memory_checked_cstring_stops_at_an_inaccessible_page(pages: int) -> None:
    """A string ending right before a bad page is read; one running into it fails cleanly."""
    end = pages + 2 * PAGE
    native.write(end - 4, b"abc\0")
    assert native.read_cstrings([end - 4], limit=100, checked=True) == [b"abc"]
    native.write(end - 4, b"abcd")
    with pytest.raises(MemoryAccessError, match=f"cannot read {end:#x}"):
        native.read_cstrings([end - 4], limit=100, checked=True)


def test_memory_checked_access_of_process_memory_outside_any_map() -> None:
    """Checked access works for any mapped memory, e.g. a ctypes buffer."""
    import ctypes

    buffer = ctypes.create_string_buffer(b"\x01\x00\x02\x00", 4)
    address = ctypes.addressof(buffer)
    assert native.read_uints(2, [address, address + 2], checked=True) == [1, 2]
    native.write_uints(2, [(address, 0xBEEF)], checked=True)
    assert struct.unpack("<H", buffer.raw[:2]) == (0xBEEF,)


def test_memory_flush_icache_accepts_code_ranges(pages: int) -> None:
    """Flushing the instruction cache of written memory succeeds (no-op on x86-64)."""
    native.flush_icache(pages, PAGE)


@settings(max_examples=30, deadline=None)
@given(chunks=st.lists(st.binary(max_size=64), max_size=8))
def test_memory_checked_and_unchecked_writes_agree(chunks: list[bytes]) -> None:
    """Checked and unchecked buffer writes leave the same bytes behind."""
    size = max(PAGE, sum(len(c) for c in chunks))
    first, second = native.map_anonymous(size), native.map_anonymous(size)
    try:
        offsets = [sum(len(c) for c in chunks[:i]) for i in range(len(chunks))]
        native.write_buffers(
            [(first + o, c) for o, c in zip(offsets, chunks, strict=True)], checked=False
        )
        native.write_buffers(
            [(second + o, c) for o, c in zip(offsets, chunks, strict=True)], checked=True
        )
        assert native.read(first, size) == native.read(second, size)
    finally:
        native.unmap(first, size)
        native.unmap(second, size)


def test_memory_write_segment_copies_zero_fills_and_protects(pages: int) -> None:
    """write_segment: content, zeros up to the size, the protection (none for RW), one call."""
    native.write(pages, b"\xff" * 2 * PAGE)
    native.write_segment(pages, b"abc", PAGE, native.PROT_READ)
    assert native.read(pages, 5) == b"abc\x00\x00"
    assert native.read(pages + PAGE - 1, 1) == b"\x00"
    with pytest.raises(native.MemoryAccessError):
        native.checked_write(pages, b"x")  # read-only now
    native.protect(pages, PAGE, native.PROT_READ | native.PROT_WRITE)
    native.write_segment(pages + PAGE, b"", 16, native.PROT_READ | native.PROT_WRITE)
    assert native.read(pages + PAGE, 17) == bytes(16) + b"\xff"


@pytest.mark.parametrize(
    ("content", "size", "prot", "error"),
    [
        (b"toolong", 3, 1, "exceeds its size"),
        (b"", 8, 8, "bits other than"),
    ],
)
def test_memory_write_segment_rejects_bad_requests(
    pages: int, content: bytes, size: int, prot: int, error: str
) -> None:
    """Content longer than the segment and unknown protection bits are refused up front."""
    with pytest.raises(ValueError, match=error):
        native.write_segment(pages, content, size, prot)
