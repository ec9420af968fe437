"""A user-written ControllerAccess that feeds IncomingCall/IncomingResult/LinkLost to itself."""

from __future__ import annotations

import asyncio

import pytest

from actors import (
    ControllerAccess,
    DisconnectedError,
    IncomingCall,
    IncomingResult,
    LinkLost,
    WrapperResult,
    open_session,
)
from tests.fakes import wait_until


class LoopbackAccess(ControllerAccess):
    """A link whose 'controller' is this test: it records what the executor sends."""

    def __init__(self) -> None:
        super().__init__()
        self.results: dict[int, WrapperResult] = {}
        self.calls: list[tuple[int, int, bytes]] = []
        self.closed_with: list[BaseException | None] = []

    async def send_call(self, seq_no: int, tag: int, args: bytes) -> None:
        self.calls.append((seq_no, tag, args))

    async def send_result(self, ref: int, result: WrapperResult) -> None:
        self.results[ref] = result

    async def close_link(self, reason: BaseException | None) -> None:
        self.closed_with.append(reason)


@pytest.mark.asyncio
async def test_custom_link_incoming_calls_and_results_round_trip() -> None:
    """IncomingCall reaches the wrapper and its result comes back through send_result;
    IncomingResult answers an executor call; after LinkLost, calls are no longer taken."""
    async with open_session() as session:
        access = LoopbackAccess()
        ref = await session.attach(access)
        address = await session.register_wrapper(lambda data: data.upper())
        ref.tell(IncomingCall(ref=7, address=address, args=b"abc"))
        await wait_until(lambda: 7 in access.results)
        assert access.results[7] == b"ABC"

        call = asyncio.ensure_future(session.call_controller(0x40, b"ping"))
        await wait_until(lambda: access.calls)
        seq_no, tag, args = access.calls[0]
        assert (tag, args) == (0x40, b"ping")
        ref.tell(IncomingResult(seq_no=seq_no, result=b"pong"))
        assert await asyncio.wait_for(call, 5) == b"pong"

        pending = asyncio.ensure_future(session.call_controller(0x40, b"again"))
        await wait_until(lambda: len(access.calls) == 2)
        ref.tell(LinkLost(reason=None))
        with pytest.raises(DisconnectedError):
            await asyncio.wait_for(pending, 5)
        assert access.closed_with == [None]
        ref_closed = ref.closed
        if not ref_closed:
            ref.tell(IncomingCall(ref=8, address=address, args=b"late"))
        await session.detach()
        assert 8 not in access.results
