"""Allocation actions inside finalize (14) / initialize (22): run, undone, and guarded."""

from __future__ import annotations

import pytest

import protocol
from actors.testing._wire import WireController
from protocol import (
    NULL_WRAPPER_CALL,
    AllocActionCallPair,
    ExecutorAddrRange,
    Failure,
    FinalizeRequest,
    SegmentFinalizeRequest,
    WrapperFunctionCall,
)

from ._jit import (
    PAGE,
    RW,
    RX,
    load_code,
    memory_instance,
    peek,
    requires_x86_64,
    reserve,
    store_byte,
)

pytestmark = [pytest.mark.asyncio, pytest.mark.timeout(30), requires_x86_64]

STORE_SIZE = len(store_byte(0, 0))


async def _finalize_with(
    wire: WireController, segments: list[SegmentFinalizeRequest], pairs: list[AllocActionCallPair]
) -> Failure | int:
    request = FinalizeRequest(segments, pairs)
    if wire.llvm_major == 14:
        error = await wire.call_sps(protocol.MEMORY_FINALIZE, memory_instance(wire), request)
        return segments[0].addr if error is None else error
    return await wire.call_sps(protocol.MEMORY_INITIALIZE, memory_instance(wire), request)


async def _free(wire: WireController, base: int) -> Failure | None:
    free = protocol.MEMORY_DEALLOCATE if wire.llvm_major == 14 else protocol.MEMORY_RELEASE
    return await wire.call_sps(free, memory_instance(wire), [base])


async def _markers(wire: WireController) -> int:
    """A finalized RW page whose first bytes the test's actions set."""
    markers = await reserve(wire, PAGE)
    segment = SegmentFinalizeRequest(RW, markers, PAGE, b"")
    assert await _finalize_with(wire, [segment], []) == markers
    return markers


async def test_alloc_actions_run_at_finalize_and_dealloc_at_free(wire: WireController) -> None:
    """A finalize action (JIT'd code loaded earlier) runs before the reply; its dealloc action
    runs when the allocation is freed."""
    markers = await _markers(wire)
    code = await load_code(wire, store_byte(markers, 0x5A) + store_byte(markers + 1, 0xA5))
    pair = AllocActionCallPair(
        WrapperFunctionCall(code, b""), WrapperFunctionCall(code + STORE_SIZE, b"")
    )
    base = await reserve(wire, PAGE)
    outcome = await _finalize_with(wire, [SegmentFinalizeRequest(RW, base, PAGE, b"")], [pair])
    assert outcome == base
    assert await peek(wire, markers, 2) == b"\x5a\x00"
    assert await _free(wire, base) is None
    assert await peek(wire, markers, 2) == b"\x5a\xa5"


async def test_alloc_action_may_target_code_of_the_same_request(wire: WireController) -> None:
    """An action may call code finalized by the same request (mapped R-X before actions run)."""
    markers = await _markers(wire)
    base = await reserve(wire, PAGE)
    pair = AllocActionCallPair(WrapperFunctionCall(base, b""), NULL_WRAPPER_CALL)
    segment = SegmentFinalizeRequest(RX, base, PAGE, store_byte(markers, 0x77))
    assert await _finalize_with(wire, [segment], [pair]) == base
    assert await peek(wire, markers, 1) == b"\x77"


async def test_alloc_action_outside_session_code_is_refused(wire: WireController) -> None:
    """Guarded: an action at an address that is not this session's code fails the request
    with an error value naming it; nothing jumps there, the executor keeps serving."""
    base = await reserve(wire, PAGE)
    pair = AllocActionCallPair(WrapperFunctionCall(0x10, b""), NULL_WRAPPER_CALL)
    outcome = await _finalize_with(wire, [SegmentFinalizeRequest(RW, base, PAGE, b"")], [pair])
    assert isinstance(outcome, Failure)
    assert "0x10" in outcome.message
    assert await reserve(wire, PAGE)


async def test_alloc_action_failure_undoes_completed_actions(wire: WireController) -> None:
    """When an action fails, the dealloc actions of the pairs already run are run, and the
    request answers an error value."""
    markers = await _markers(wire)
    code = await load_code(wire, store_byte(markers, 1) + store_byte(markers + 1, 2))
    pairs = [
        AllocActionCallPair(
            WrapperFunctionCall(code, b""), WrapperFunctionCall(code + STORE_SIZE, b"")
        ),
        AllocActionCallPair(WrapperFunctionCall(0x10, b""), NULL_WRAPPER_CALL),
    ]
    base = await reserve(wire, PAGE)
    outcome = await _finalize_with(wire, [SegmentFinalizeRequest(RW, base, PAGE, b"")], pairs)
    assert isinstance(outcome, Failure)
    assert await peek(wire, markers, 2) == b"\x01\x02"


@pytest.mark.parametrize("llvm_major", [22])
async def test_alloc_action_22_ehframe_action_with_bad_range_fails_initialize(
    wire: WireController,
) -> None:
    """22: the executor's own eh-frame action, given an unreadable range, fails initialize
    with an error value (libgcc never sees it)."""
    base = await reserve(wire, PAGE)
    args = protocol.REGISTER_EHFRAME_ALLOC_ACTION.encode_args(ExecutorAddrRange(0x10, 0x40))
    action = WrapperFunctionCall(wire.address(protocol.REGISTER_EHFRAME_ALLOC_ACTION.name), args)
    pair = AllocActionCallPair(action, NULL_WRAPPER_CALL)
    outcome = await _finalize_with(wire, [SegmentFinalizeRequest(RW, base, PAGE, b"")], [pair])
    assert isinstance(outcome, Failure)
    assert "0x10" in outcome.message
