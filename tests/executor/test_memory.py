"""The memory manager over the wire: reserve, finalize/initialize, release, and error values."""

from __future__ import annotations

import asyncio

import pytest

import protocol
from actors import RemoteCallError
from actors.testing._wire import WireController
from protocol import ExecutorAddrRange, Failure, FinalizeRequest, SegmentFinalizeRequest

from ._jit import PAGE, RW, R, finalize, memory_instance, peek, requires_x86_64, reserve

pytestmark = [pytest.mark.asyncio, pytest.mark.timeout(30), requires_x86_64]

DIRT = 0xAA


async def _dirty(wire: WireController, base: int, size: int) -> None:
    """Fill reserved memory with non-zero bytes, so zero fill is observable."""
    await wire.call_sps(protocol.MEM_WRITE_BUFFERS, [(base, bytes([DIRT]) * size)])


async def test_memory_finalize_copies_content_and_zero_fills(wire: WireController) -> None:
    """Content lands at each segment, the rest up to its size is zeroed, other pages untouched."""
    base = await reserve(wire, 3 * PAGE)
    await _dirty(wire, base, 3 * PAGE)
    key = await finalize(
        wire,
        [
            SegmentFinalizeRequest(RW, base, PAGE, b"hello"),
            SegmentFinalizeRequest(R, base + PAGE, PAGE, b"\x01\x02\x03"),
        ],
    )
    assert key == base
    assert await peek(wire, base, 6) == b"hello\0"
    assert await peek(wire, base + PAGE - 1, 4) == b"\0\x01\x02\x03"
    assert await peek(wire, base + 2 * PAGE - 1, 1) == b"\0"
    assert await peek(wire, base + 2 * PAGE, 1) == bytes([DIRT])  # beyond the segments


async def test_memory_write_round_trip_into_a_writable_segment(wire: WireController) -> None:
    """A mem_write into finalized RW memory is what a later read sees."""
    base = await reserve(wire, PAGE)
    assert await finalize(wire, [SegmentFinalizeRequest(RW, base, PAGE, b"")]) == base
    await wire.call_sps(protocol.MEM_WRITE_UINT32S, [(base + 8, 0xDEADBEEF)])
    await wire.call_sps(protocol.MEM_WRITE_UINT16S, [(base + 12, 0x0102)])
    assert await peek(wire, base + 8, 6) == b"\xef\xbe\xad\xde\x02\x01"


@pytest.mark.parametrize("llvm_major", [14])
async def test_memory_14_deallocate_frees_once(wire: WireController) -> None:
    """14: deallocate succeeds once; a second time the base is unknown (an error value)."""
    inst = memory_instance(wire)
    base = await reserve(wire, PAGE)
    assert await finalize(wire, [SegmentFinalizeRequest(RW, base, PAGE, b"x")]) == base
    assert await wire.call_sps(protocol.MEMORY_DEALLOCATE, inst, [base]) is None
    again = await wire.call_sps(protocol.MEMORY_DEALLOCATE, inst, [base])
    assert isinstance(again, Failure)
    assert f"{base:#x}" in again.message


@pytest.mark.parametrize("llvm_major", [14])
async def test_memory_14_empty_finalize_is_a_no_op(wire: WireController) -> None:
    """14: a finalize with no segments and no actions succeeds (as LLVM's does)."""
    request = FinalizeRequest([], [])
    assert await wire.call_sps(protocol.MEMORY_FINALIZE, memory_instance(wire), request) is None


@pytest.mark.parametrize("llvm_major", [22])
async def test_memory_22_initialize_deinitialize_release(wire: WireController) -> None:
    """22: initialize answers the region start; deinitialize keeps memory; release unmaps it."""
    inst = memory_instance(wire)
    base = await reserve(wire, 2 * PAGE)
    key = await finalize(wire, [SegmentFinalizeRequest(RW, base + PAGE, PAGE, b"region")])
    assert key == base + PAGE
    assert await wire.call_sps(protocol.MEMORY_DEINITIALIZE, inst, [key]) is None
    assert await peek(wire, base + PAGE, 6) == b"region"  # deinitialize keeps the slab mapped
    again = await wire.call_sps(protocol.MEMORY_DEINITIALIZE, inst, [key])
    assert isinstance(again, Failure)
    assert await wire.call_sps(protocol.MEMORY_RELEASE, inst, [base]) is None
    with pytest.raises(RemoteCallError):  # unmapped now: a checked read fails out of band
        await wire.call_sps(
            protocol.MEM_READ_BUFFERS, [ExecutorAddrRange(base + PAGE, base + PAGE + 1)]
        )
    released = await wire.call_sps(protocol.MEMORY_RELEASE, inst, [base])
    assert isinstance(released, Failure)
    assert f"{base:#x}" in released.message


@pytest.mark.parametrize("llvm_major", [22])
async def test_memory_22_empty_initialize_is_an_error(wire: WireController) -> None:
    """22: an initialize request without segments is an error value, as in LLVM."""
    request = FinalizeRequest([], [])
    outcome = await wire.call_sps(protocol.MEMORY_INITIALIZE, memory_instance(wire), request)
    assert outcome == Failure("Finalization request is empty")


async def test_memory_unknown_base_is_an_error_value(wire: WireController) -> None:
    """Releasing (22) / deallocating (14) an address never reserved answers an error value."""
    inst = memory_instance(wire)
    signature = protocol.MEMORY_DEALLOCATE if wire.llvm_major == 14 else protocol.MEMORY_RELEASE
    outcome = await wire.call_sps(signature, inst, [0x7B000])
    assert isinstance(outcome, Failure)
    assert "0x7b000" in outcome.message


async def test_memory_segment_outside_any_reservation_is_refused(wire: WireController) -> None:
    """A segment at an address this session never reserved is an error; nothing is written."""
    base = await reserve(wire, PAGE)
    outside = base + 64 * PAGE
    outcome = await finalize(wire, [SegmentFinalizeRequest(RW, outside, PAGE, b"evil")])
    assert isinstance(outcome, Failure)
    assert await reserve(wire, PAGE)  # still serving


async def test_memory_segment_reaching_into_another_reservation_is_refused(
    wire: WireController,
) -> None:
    """A segment that starts in one reservation and runs past its end (14: or a second
    segment in another reservation) is refused; the other reservation keeps its bytes."""
    victim = await reserve(wire, PAGE)
    await _dirty(wire, victim, 16)
    base = await reserve(wire, PAGE)
    too_long = await finalize(wire, [SegmentFinalizeRequest(RW, base, 2 * PAGE, b"x")])
    assert isinstance(too_long, Failure)
    base = await reserve(wire, PAGE)
    elsewhere = await finalize(
        wire,
        [
            SegmentFinalizeRequest(RW, base, PAGE, b""),
            SegmentFinalizeRequest(RW, victim, PAGE, b""),
        ],
    )
    assert isinstance(elsewhere, Failure)
    assert await peek(wire, victim, 16) == bytes([DIRT]) * 16


async def test_memory_bad_instance_is_an_error_value(wire: WireController) -> None:
    """Every memory wrapper checks ``Inst``: a wrong one answers an error value naming it."""
    bad = memory_instance(wire) ^ 0x10
    request = FinalizeRequest([], [])
    outcomes: list[object] = [await wire.call_sps(protocol.MEMORY_RESERVE, bad, PAGE)]
    if wire.llvm_major == 14:
        outcomes.append(await wire.call_sps(protocol.MEMORY_FINALIZE, bad, request))
        outcomes.append(await wire.call_sps(protocol.MEMORY_DEALLOCATE, bad, []))
    else:
        outcomes.append(await wire.call_sps(protocol.MEMORY_INITIALIZE, bad, request))
        outcomes.append(await wire.call_sps(protocol.MEMORY_DEINITIALIZE, bad, []))
        outcomes.append(await wire.call_sps(protocol.MEMORY_RELEASE, bad, []))
    for outcome in outcomes:
        assert isinstance(outcome, Failure), outcome
        assert f"{bad:#x}" in outcome.message


async def test_memory_pipelined_reserves_get_distinct_blocks(wire: WireController) -> None:
    """Many reserves in flight at once each answer their own call with their own block."""
    bases = await asyncio.gather(*(reserve(wire, PAGE) for _ in range(32)))
    assert len(set(bases)) == 32
    assert all(base % PAGE == 0 for base in bases)
