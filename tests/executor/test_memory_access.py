"""The bootstrap memory access wrappers: writes (14, 22), reads (22), and bad addresses."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, TypeVar

import pytest

import protocol
from actors import RemoteCallError
from actors.testing._wire import WireController
from protocol import ExecutorAddrRange, Failure, SegmentFinalizeRequest, WrapperSignature

from ._jit import PAGE, RW, R, finalize, peek, requires_x86_64, reserve

pytestmark = [pytest.mark.asyncio, pytest.mark.timeout(30), requires_x86_64]

UNMAPPED = 0x10
T = TypeVar("T")


async def _read(
    wire: WireController, signature: WrapperSignature[Sequence[T]], args: list[Any]
) -> list[T]:
    return list(await wire.call_sps(signature, args))


async def _writable(wire: WireController, size: int = PAGE) -> int:
    base = await reserve(wire, size)
    assert await finalize(wire, [SegmentFinalizeRequest(RW, base, size, b"")]) == base
    return base


async def test_memory_access_writes_of_every_width(wire: WireController) -> None:
    """uint8/16/32/64 and buffer writes land little-endian at their addresses."""
    base = await _writable(wire)
    await wire.call_sps(protocol.MEM_WRITE_UINT8S, [(base, 0x11), (base + 1, 0x22)])
    await wire.call_sps(protocol.MEM_WRITE_UINT16S, [(base + 2, 0x4433)])
    await wire.call_sps(protocol.MEM_WRITE_UINT32S, [(base + 4, 0x88776655)])
    await wire.call_sps(protocol.MEM_WRITE_UINT64S, [(base + 8, 0x0102030405060708)])
    await wire.call_sps(protocol.MEM_WRITE_BUFFERS, [(base + 16, b"buf")])
    assert await peek(wire, base, 19) == (
        b"\x11\x22\x33\x44\x55\x66\x77\x88\x08\x07\x06\x05\x04\x03\x02\x01buf"
    )


@pytest.mark.parametrize("llvm_major", [22])
async def test_memory_access_22_reads_of_every_kind(wire: WireController) -> None:
    """22: the read wrappers return what the writes put there, C strings up to their NUL."""
    base = await _writable(wire)
    await wire.call_sps(protocol.MEM_WRITE_POINTERS, [(base, base + 64)])
    await wire.call_sps(protocol.MEM_WRITE_BUFFERS, [(base + 64, b"text\0more")])
    assert await _read(wire, protocol.MEM_READ_POINTERS, [base]) == [base + 64]
    assert await _read(wire, protocol.MEM_READ_UINT64S, [base]) == [base + 64]
    assert await _read(wire, protocol.MEM_READ_UINT32S, [base + 64]) == [0x74786574]
    assert await _read(wire, protocol.MEM_READ_UINT16S, [base + 64, base + 66]) == [
        0x6574,
        0x7478,
    ]
    assert await _read(wire, protocol.MEM_READ_UINT8S, [base + 67]) == [0x74]
    assert await _read(wire, protocol.MEM_READ_STRINGS, [base + 64, base + 69]) == [
        "text",
        "more",
    ]
    buffers = await wire.call_sps(
        protocol.MEM_READ_BUFFERS,
        [ExecutorAddrRange(base + 64, base + 68), ExecutorAddrRange(base, base)],
    )
    assert [bytes(b) for b in buffers] == [b"text", b""]


async def test_memory_access_write_to_unmapped_address_fails_cleanly(
    wire: WireController,
) -> None:
    """A write to 0x10 is refused (logged, empty result); the executor keeps serving."""
    for signature, value in (
        (protocol.MEM_WRITE_UINT8S, 1),
        (protocol.MEM_WRITE_UINT64S, 1),
        (protocol.MEM_WRITE_BUFFERS, b"x"),
    ):
        assert await wire.call(signature.name, signature.encode_args([(UNMAPPED, value)])) == b""
    base = await _writable(wire)  # still serving, and still writing where it may
    await wire.call_sps(protocol.MEM_WRITE_UINT8S, [(base, 7)])
    assert await peek(wire, base, 1) == b"\x07"
    await wire.close()
    status = await wire.wait()
    assert status.returncode == 0
    refusals = [line for line in status.stderr_lines if f"{UNMAPPED:#x}" in line]
    assert len(refusals) == 3, status.stderr


async def test_memory_access_write_to_read_only_segment_fails_cleanly(
    wire: WireController,
) -> None:
    """A write into finalized read-only memory is refused, not a crash; the bytes stay."""
    base = await reserve(wire, PAGE)
    assert await finalize(wire, [SegmentFinalizeRequest(R, base, PAGE, b"ro")]) == base
    payload = protocol.MEM_WRITE_BUFFERS.encode_args([(base, b"rw")])
    assert await wire.call(protocol.MEM_WRITE_BUFFERS.name, payload) == b""
    assert await peek(wire, base, 2) == b"ro"
    await wire.close()
    status = await wire.wait()
    assert status.returncode == 0
    assert any(f"{base:#x}" in line for line in status.stderr_lines), status.stderr


@pytest.mark.parametrize("llvm_major", [22])
async def test_memory_access_22_read_of_unmapped_address_fails_cleanly(
    wire: WireController,
) -> None:
    """22: reads of 0x10 (every kind) fail out of band; the executor keeps serving."""
    signature: WrapperSignature[Any]
    for signature in (
        protocol.MEM_READ_UINT8S,
        protocol.MEM_READ_UINT64S,
        protocol.MEM_READ_POINTERS,
        protocol.MEM_READ_STRINGS,
    ):
        with pytest.raises(RemoteCallError):
            await wire.call_sps(signature, [UNMAPPED])
    with pytest.raises(RemoteCallError):
        await wire.call_sps(protocol.MEM_READ_BUFFERS, [ExecutorAddrRange(UNMAPPED, UNMAPPED + 8)])
    assert await _read(wire, protocol.MEM_READ_UINT8S, []) == []


@pytest.mark.parametrize("llvm_major", [14])
async def test_memory_access_14_ehframe_registration_of_bad_range_is_an_error_value(
    wire: WireController,
) -> None:
    """14: registering an eh-frame section at an unmapped or empty range answers an error
    value (nothing reaches libgcc); deregistering one never registered too."""
    bad = ExecutorAddrRange(UNMAPPED, UNMAPPED + 16)
    for signature, section in (
        (protocol.REGISTER_EHFRAME_SECTION, bad),
        (protocol.REGISTER_EHFRAME_SECTION, ExecutorAddrRange(0, 0)),
        (protocol.DEREGISTER_EHFRAME_SECTION, bad),
    ):
        outcome = await wire.call_sps(signature, section)
        assert isinstance(outcome, Failure), (signature, outcome)
        assert f"{section.start:#x}" in outcome.message
