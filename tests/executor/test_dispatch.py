"""Executor -> controller calls: the dispatch entry JIT'd code calls (simple-remote-epc.md §8).

The ORC runtime interop tests cover real dispatch; here a few bytes of hand-written code call
``dispatch_fn(dispatch_ctx, tag, data, size)`` from ``main``, so the executor sends a
CallWrapper to the WireController, whose handler answers it.
"""

from __future__ import annotations

import pytest

import protocol
from actors.testing._wire import WireController

from ._jit import PAGE, load_dispatching_main, requires_x86_64, reserve, run_main

pytestmark = [pytest.mark.asyncio, pytest.mark.timeout(30), requires_x86_64]

TAG = 0x5EED_0000_7A60


async def test_dispatch_symbols_are_advertised(wire: WireController) -> None:
    """dispatch_ctx and dispatch_fn are in Setup, non-zero, and distinct."""
    ctx = wire.address(protocol.DISPATCH_CTX_SYMBOL)
    fn = wire.address(protocol.DISPATCH_FN_SYMBOL)
    assert ctx != 0
    assert fn != 0
    assert ctx != fn


async def test_dispatch_call_reaches_the_controller_handler(wire: WireController) -> None:
    """JIT'd code's dispatch becomes a CallWrapper to the tag; the handler's inline result
    (<= 8 bytes) is what the native caller gets back."""
    seen: list[bytes] = []

    def handler(args: bytes) -> bytes:
        seen.append(args)
        return bytes([sum(args)])

    wire.add_handler(TAG, handler)
    main = await load_dispatching_main(wire, TAG, b"\x05\x07")
    assert await run_main(wire, main) == (1 << 8) | 0x0C
    assert seen == [b"\x05\x07"]
    assert wire.unanswered == []


async def test_dispatch_large_result_goes_out_of_line(wire: WireController) -> None:
    """A result over 8 bytes reaches the caller through a pointer (malloc'ed by the executor)."""

    async def handler(args: bytes) -> bytes:  # an async handler: answered from its own task
        return b"\x99" + bytes(range(15))

    wire.add_handler(TAG, handler)
    main = await load_dispatching_main(wire, TAG, b"")
    assert await run_main(wire, main) == (16 << 8) | 0x99


async def test_dispatch_unknown_tag_gets_an_empty_result(wire: WireController) -> None:
    """A tag without handler is answered with an empty payload, as LLVM's controller does;
    the native caller sees Size 0 and the executor keeps running."""
    main = await load_dispatching_main(wire, TAG + 1, b"\x01")
    assert await run_main(wire, main) == 0
    (unanswered,) = wire.unanswered
    assert (unanswered.tag, unanswered.args) == (TAG + 1, b"\x01")
    assert await run_main(wire, main) == 0  # and again: nothing got stuck


async def test_dispatch_handler_may_call_the_executor_back(wire: WireController) -> None:
    """While JIT'd code waits in dispatch, the controller's handler can call the executor."""

    async def handler(args: bytes) -> bytes:
        base = await reserve(wire, PAGE)
        return bytes([base % 251 + 1])

    wire.add_handler(TAG, handler)
    main = await load_dispatching_main(wire, TAG, b"")
    result = await run_main(wire, main)
    assert result >> 8 == 1
    assert result & 0xFF != 0
