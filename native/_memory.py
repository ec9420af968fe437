"""Process memory primitives: map, protect, copy, and checked or unchecked reads and writes.

All functions are synchronous, fast, and safe to call from the event-loop thread (no function
here runs foreign code). Addresses are plain ints; memory is in native byte order (little-endian
on x86-64).

Two kinds of access:

- *Unchecked* (`read`, `write`, `zero`, `read_uint`, `write_uint`, `read_cstring`, and the
  batch helpers with ``checked=False``): a plain memcpy, as LLVM's executor does. An address
  that is not mapped (or lacks the permission) crashes the process, so use them only on memory
  known to be valid (e.g. `MemoryMap.contains`). Address 0 is always refused.
- *Checked* (``checked=True``, `checked_read`, `checked_write`): the copy goes through
  ``process_vm_readv``/``process_vm_writev`` on our own pid. The kernel validates every page
  and fails with EFAULT instead of faulting, and honours page protections (a checked write to
  a read-only page fails). Many addresses go in one system call. This works for any memory
  of the process, not only the MemoryMap's; it needs no ptrace permission for one's own pid.
  Failures raise `MemoryAccessError` naming the first bad address.

Protection bits use the wire encoding R=1, W=2, X=4 (the same values as Linux PROT_*).
"""

import ctypes
import mmap
import os
import struct
from collections.abc import Iterable, Sequence
from typing import Final

from ._errors import MemoryAccessError, MemoryMapError
from ._libc import MAP_ANONYMOUS, MAP_FAILED, MAP_PRIVATE, IoVec, libc
from ._shim import load_shim

__all__ = [
    "MAX_READ_SIZE",
    "PROT_EXEC",
    "PROT_READ",
    "PROT_WRITE",
    "checked_read",
    "checked_write",
    "flush_icache",
    "map_anonymous",
    "page_size",
    "protect",
    "read",
    "read_buffers",
    "read_cstring",
    "read_cstrings",
    "read_uint",
    "read_uints",
    "unmap",
    "write",
    "write_buffers",
    "write_segment",
    "write_uint",
    "write_uints",
    "zero",
]

PROT_READ: Final = 1
"""Wire protection bit R (equal to Linux PROT_READ)."""
PROT_WRITE: Final = 2
"""Wire protection bit W (equal to Linux PROT_WRITE)."""
PROT_EXEC: Final = 4
"""Wire protection bit X (equal to Linux PROT_EXEC)."""
_PROT_ALL: Final = PROT_READ | PROT_WRITE | PROT_EXEC

MAX_READ_SIZE: Final = 1 << 30
"""Largest total number of bytes one read call returns (a controller cannot make us allocate
more than this per request)."""

_ADDRESS_LIMIT: Final = 1 << 64
_IOV_MAX: Final = 1024  # Linux UIO_MAXIOV: most iovecs one process_vm_* call accepts
_UINT_FORMATS: Final = {1: "B", 2: "H", 4: "I", 8: "Q"}
_UINT_CTYPES: Final = {
    1: ctypes.c_uint8,
    2: ctypes.c_uint16,
    4: ctypes.c_uint32,
    8: ctypes.c_uint64,
}


def page_size() -> int:
    """The system page size in bytes."""
    return mmap.PAGESIZE


def _check_range(address: int, size: int, what: str) -> None:
    if not 0 <= size < _ADDRESS_LIMIT or not 0 <= address <= _ADDRESS_LIMIT - size:
        raise MemoryAccessError(
            f"cannot {what} 0x{address:x} ({size:#x} bytes): range outside the address space",
            address=address,
            size=size,
        )
    if address == 0:
        raise MemoryAccessError(
            f"cannot {what} 0x0 ({size:#x} bytes): null address", address=0, size=size
        )


def _check_read_size(address: int, size: int) -> None:
    if size > MAX_READ_SIZE:
        raise MemoryAccessError(
            f"cannot read 0x{address:x} ({size:#x} bytes): more than the limit of "
            f"{MAX_READ_SIZE:#x} bytes per request",
            address=address,
            size=size,
        )


def _os_error(what: str, address: int, size: int) -> MemoryMapError:
    errno = ctypes.get_errno()
    cause = OSError(errno, os.strerror(errno))
    error = MemoryMapError(
        f"{what} 0x{address:x} ({size:#x} bytes) failed: {os.strerror(errno)}",
        address=address,
        size=size,
    )
    error.__cause__ = cause
    return error


def map_anonymous(size: int) -> int:
    """Map `size` bytes of private anonymous read-write memory; returns the page-aligned base.

    Raises:
        MemoryMapError: size is not positive, or mmap refused (OSError as ``__cause__``).
    """
    if not 0 < size < _ADDRESS_LIMIT:
        raise MemoryMapError(
            f"cannot map {size:#x} bytes: size must be positive", address=0, size=size
        )
    address = libc().mmap(None, size, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0)
    if address is None or address == MAP_FAILED:
        raise _os_error("mmap of", 0, size)
    return int(address)


def unmap(address: int, size: int) -> None:
    """Unmap [address, address+size) (whole pages).

    Raises:
        MemoryMapError: munmap refused (OSError as ``__cause__``).
    """
    _check_range(address, size, "unmap")
    if libc().munmap(address, size) != 0:
        raise _os_error("munmap of", address, size)


def protect(address: int, size: int, prot: int) -> None:
    """Set the protection of the pages covering [address, address+size) to wire bits `prot`.

    Like LLVM's ``sys::Memory::protectMappedMemory``, the range is widened to whole pages;
    an empty range does nothing.

    Raises:
        ValueError: `prot` has bits other than R=1, W=2, X=4.
        MemoryMapError: mprotect refused (OSError as ``__cause__``).
    """
    if prot & ~_PROT_ALL or prot < 0:
        raise ValueError(f"protection {prot:#x} has bits other than R=1, W=2, X=4")
    if size == 0:
        return
    _check_range(address, size, "protect")
    page = page_size()
    start = address - address % page
    end = -(-(address + size) // page) * page
    if libc().mprotect(start, end - start, prot) != 0:
        raise _os_error("mprotect of", start, end - start)


def flush_icache(address: int, size: int) -> None:
    """Make code written at [address, address+size) visible to instruction fetch.

    A no-op on x86-64 (coherent caches); required on other architectures after writing code.
    """
    _check_range(address, size, "flush")
    load_shim().flush_icache(address, size)


def write_segment(address: int, content: bytes, size: int, prot: int) -> None:
    """Write one JIT segment in one native call: copy `content` to `address`, zero-fill the rest
    of `size` bytes, give the covering pages protection `prot` (wire bits), make code visible to
    instruction fetch. Unchecked, like `write`: the pages must be mapped and writable.

    A read-write segment gets no mprotect: its pages must already be read-write (the
    `MemoryMap` keeps unused slab memory so). The range is widened to whole pages as in
    `protect`.

    Raises:
        ValueError: `content` is longer than `size`, or `prot` has bits other than R, W, X.
        MemoryAccessError: the range lies outside the address space or starts at 0.
        MemoryMapError: mprotect refused (OSError as ``__cause__``); the bytes are written.
    """
    if prot & ~_PROT_ALL or prot < 0:
        raise ValueError(f"protection {prot:#x} has bits other than R=1, W=2, X=4")
    length = len(content)
    if length > size:
        raise ValueError(f"segment content ({length} bytes) exceeds its size ({size})")
    if not (address > 0 and size >= 0 and address + size <= _ADDRESS_LIMIT):
        _check_range(address, size, "write")  # raises, naming the problem
    page = mmap.PAGESIZE
    error = load_shim().write_segment(address, content, length, size, prot, page)
    if error:
        start = address - address % page
        length = -(-(address + size) // page) * page - start
        cause = OSError(error, os.strerror(error))
        failure = MemoryMapError(
            f"mprotect of 0x{start:x} ({length:#x} bytes) failed: {os.strerror(error)}",
            address=start,
            size=length,
        )
        raise failure from cause


def write(address: int, data: bytes) -> None:
    """Copy `data` to `address` (unchecked memcpy)."""
    _check_range(address, len(data), "write")
    ctypes.memmove(address, data, len(data))


def read(address: int, size: int) -> bytes:
    """Copy `size` bytes from `address` (unchecked memcpy)."""
    _check_range(address, size, "read")
    _check_read_size(address, size)
    return ctypes.string_at(address, size)


def zero(address: int, size: int) -> None:
    """Set `size` bytes at `address` to zero (unchecked memset)."""
    _check_range(address, size, "write")
    ctypes.memset(address, 0, size)


def _uint_type(width: int) -> type[ctypes.c_uint64]:
    try:
        return _UINT_CTYPES[width]  # type: ignore[return-value]  # all are c_uintN types
    except KeyError:
        raise ValueError(f"integer width {width} is not one of 1, 2, 4, 8") from None


def _check_value(value: int, width: int) -> None:
    if not 0 <= value < 1 << (8 * width):
        raise ValueError(f"value {value} does not fit in an unsigned {8 * width}-bit integer")


def read_uint(address: int, width: int) -> int:
    """Read an unsigned native-endian integer of `width` bytes (1, 2, 4, 8), unchecked."""
    ctype = _uint_type(width)
    _check_range(address, width, "read")
    return int(ctype.from_address(address).value)


def write_uint(address: int, width: int, value: int) -> None:
    """Write `value` as an unsigned native-endian integer of `width` bytes, unchecked.

    Raises:
        ValueError: bad width, or `value` does not fit in it.
    """
    ctype = _uint_type(width)
    _check_value(value, width)
    _check_range(address, width, "write")
    ctype.from_address(address).value = value


def read_cstring(address: int, limit: int) -> bytes:
    """Read a NUL-terminated string at `address` (without the NUL), unchecked.

    Raises:
        MemoryAccessError: no NUL within `limit` bytes.
    """
    _check_range(address, 1, "read")
    _check_read_size(address, limit)
    length = int(libc().strnlen(address, limit))
    if length == limit:
        raise MemoryAccessError(
            f"string at 0x{address:x} has no NUL terminator within {limit} bytes",
            address=address,
            size=limit,
        )
    return ctypes.string_at(address, length)


# ---- checked access through process_vm_readv / process_vm_writev -----------------------------


def _transfer(
    remote: Sequence[tuple[int, int]], buffer: ctypes.Array[ctypes.c_char], *, write: bool
) -> None:
    """Move bytes between `buffer` (packed back to back) and the `remote` (address, size) list."""
    call = libc().process_vm_writev if write else libc().process_vm_readv
    what = "write" if write else "read"
    pid = os.getpid()
    buffer_base = ctypes.addressof(buffer)
    offset = 0
    for chunk_start in range(0, len(remote), _IOV_MAX):
        chunk = remote[chunk_start : chunk_start + _IOV_MAX]
        total = sum(size for _, size in chunk)
        if total == 0:
            continue
        local = IoVec(buffer_base + offset, total)
        remotes = (IoVec * len(chunk))(*(IoVec(address, size) for address, size in chunk))
        done = int(call(pid, ctypes.byref(local), 1, remotes, len(chunk), 0))
        if done == total:
            offset += total
            continue
        errno = ctypes.get_errno() if done < 0 else 14  # a short transfer means EFAULT
        # Partial transfers stop at an iovec boundary: the first element not fully done failed.
        moved = max(done, 0)
        address, size = chunk[-1]
        for candidate, candidate_size in chunk:
            if moved < candidate_size:
                address, size = candidate, candidate_size
                break
            moved -= candidate_size
        error = MemoryAccessError(
            f"cannot {what} 0x{address:x} ({size:#x} bytes): {os.strerror(errno)}",
            address=address,
            size=size,
        )
        raise error from OSError(errno, os.strerror(errno))


def _validated(ranges: Iterable[tuple[int, int]], what: str) -> list[tuple[int, int]]:
    checked = []
    for address, size in ranges:
        _check_range(address, size, what)
        checked.append((address, size))
    return checked


def checked_read(address: int, size: int) -> bytes:
    """Read `size` bytes at `address`, failing cleanly if any byte is not readable.

    Raises:
        MemoryAccessError: unmapped or unreadable memory, or more than `MAX_READ_SIZE`.
    """
    return read_buffers([(address, size)], checked=True)[0]


def checked_write(address: int, data: bytes) -> None:
    """Write `data` at `address`, failing cleanly (nothing written) if memory is not writable.

    Raises:
        MemoryAccessError: unmapped or read-only memory.
    """
    write_buffers([(address, data)], checked=True)


def read_buffers(ranges: Sequence[tuple[int, int]], *, checked: bool) -> list[bytes]:
    """Read each (address, size) range; the bootstrap ``mem_read_buffers`` wrapper.

    Raises:
        MemoryAccessError: a range is unreadable (checked mode), null, or the total exceeds
            `MAX_READ_SIZE`.
    """
    validated = _validated(ranges, "read")
    total = sum(size for _, size in validated)
    if validated:
        _check_read_size(validated[0][0], total)
    if not checked:
        return [ctypes.string_at(address, size) for address, size in validated]
    buffer = ctypes.create_string_buffer(total)
    _transfer(validated, buffer, write=False)
    data = buffer.raw
    out, offset = [], 0
    for _, size in validated:
        out.append(data[offset : offset + size])
        offset += size
    return out


def write_buffers(pairs: Sequence[tuple[int, bytes]], *, checked: bool) -> None:
    """Write each (address, data) pair in order; the bootstrap ``mem_write_buffers`` wrapper.

    In checked mode the writes before a failing one have happened (as a sequence of memcpys).

    Raises:
        MemoryAccessError: a target is not writable (checked mode) or null.
    """
    validated = _validated(((address, len(data)) for address, data in pairs), "write")
    if not checked:
        for address, data in pairs:
            ctypes.memmove(address, data, len(data))
        return
    payload = b"".join(data for _, data in pairs)
    if not payload:
        return  # nothing to move: no buffer, no system call
    buffer = ctypes.create_string_buffer(payload, len(payload))
    _transfer(validated, buffer, write=True)


def read_uints(width: int, addresses: Sequence[int], *, checked: bool) -> list[int]:
    """Read one unsigned integer of `width` bytes from each address (``mem_read_uintNs``).

    Pointers are ``width=8``.

    Raises:
        ValueError: bad width.
        MemoryAccessError: an address is unreadable (checked mode) or null.
    """
    ctype = _uint_type(width)
    validated = _validated(((address, width) for address in addresses), "read")
    _check_read_size(validated[0][0] if validated else 0, width * len(validated))
    if not checked:
        return [int(ctype.from_address(address).value) for address, _ in validated]
    buffer = ctypes.create_string_buffer(width * len(validated))
    _transfer(validated, buffer, write=False)
    return list(struct.unpack(f"={len(validated)}{_UINT_FORMATS[width]}", buffer.raw))


def write_uints(width: int, pairs: Sequence[tuple[int, int]], *, checked: bool) -> None:
    """Write each (address, value) as an unsigned `width`-byte integer (``mem_write_uintNs``).

    Raises:
        ValueError: bad width, or a value does not fit (checked before anything is written).
        MemoryAccessError: a target is not writable (checked mode) or null.
    """
    ctype = _uint_type(width)
    for _, value in pairs:
        _check_value(value, width)
    validated = _validated(((address, width) for address, _ in pairs), "write")
    if not checked:
        for address, value in pairs:
            ctype.from_address(address).value = value
        return
    if not validated:
        return
    payload = struct.pack(f"={len(pairs)}{_UINT_FORMATS[width]}", *(value for _, value in pairs))
    buffer = ctypes.create_string_buffer(payload, len(payload))
    _transfer(validated, buffer, write=True)


def _checked_cstring(address: int, limit: int) -> bytes:
    # Read page by page so a string ending just before an unmapped page is still readable.
    page = page_size()
    collected = bytearray()
    cursor = address
    while len(collected) < limit:
        chunk = min(page - cursor % page, limit - len(collected))
        data = read_buffers([(cursor, chunk)], checked=True)[0]
        end = data.find(b"\0")
        if end >= 0:
            collected += data[:end]
            return bytes(collected)
        collected += data
        cursor += chunk
    raise MemoryAccessError(
        f"string at 0x{address:x} has no NUL terminator within {limit} bytes",
        address=address,
        size=limit,
    )


def read_cstrings(addresses: Sequence[int], *, limit: int, checked: bool) -> list[bytes]:
    """Read the NUL-terminated string at each address (``mem_read_strings``), without NULs.

    Raises:
        MemoryAccessError: unreadable memory (checked mode), a null address, or no NUL
            within `limit` bytes.
    """
    if checked:
        for address in addresses:
            _check_range(address, 1, "read")
        _check_read_size(addresses[0] if addresses else 0, limit)
        return [_checked_cstring(address, limit) for address in addresses]
    return [read_cstring(address, limit) for address in addresses]
