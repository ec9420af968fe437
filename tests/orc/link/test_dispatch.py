"""register_jit_dispatch_handlers: executor -> controller handlers bound by tag name (checklist
47-49), called by JIT'd code through the executor's dispatch function."""

from __future__ import annotations

import pytest

import protocol
from actors.orc import (
    ExecutorSymbolDef,
    JITSymbolFlags,
    OrcError,
    absolute_symbols,
    register_jit_dispatch_handlers,
    sps_handler,
)

from . import _objects as src
from .conftest import Assemble, Harness, open_harness

pytestmark = pytest.mark.asyncio


async def _define_dispatch(h: Harness) -> None:
    """``__orc_rt_jit_dispatch`` and ``..._ctx`` as absolute symbols (what a platform does)."""
    dispatch = h.epc.jit_dispatch
    await h.main.define(
        absolute_symbols(
            {
                "__orc_rt_jit_dispatch": ExecutorSymbolDef(dispatch.fn, JITSymbolFlags.CALLABLE),
                "__orc_rt_jit_dispatch_ctx": ExecutorSymbolDef(dispatch.ctx),
            }
        )
    )


@pytest.mark.parametrize("kind", ["inprocess", "llvm22"])
async def test_dispatch_handler_by_tag_name_answers_jit_code(assemble: Assemble, kind: str) -> None:
    """The tag names are looked up in the JITDylib (this links the object defining them),
    names not found are skipped, and JIT'd code calling the dispatch function with a tag's
    address reaches its handler; a tag without a handler gets an (empty) error result."""
    async with open_harness(kind) as h:
        await _define_dispatch(h)
        await h.layer.add(h.main, assemble(src.DISPATCH), "dispatch.o")
        seen: list[bytes] = []

        def add(args: bytes) -> bytes:
            seen.append(args)
            return bytes([sum(args)])

        tags = await register_jit_dispatch_handlers(
            h.es, h.main, {"tag_a": add, "tag_nowhere": add}
        )
        assert list(tags) == ["tag_a"]
        assert tags["tag_a"] == await h.address("tag_a")
        assert await h.run_main("call_a") == (1 << 8) | 12
        assert seen == [b"\x05\x07"]
        assert (await h.run_main("call_b")) >> 8 == 0  # no handler: an error, size 0


async def test_dispatch_clash_installs_nothing() -> None:
    """Two names at one address, or a tag registered twice: LLVM 22's error text, and none
    of the call's handlers is installed (22 checks before installing)."""
    async with open_harness() as h:
        await h.main.define(
            absolute_symbols(
                {"tag_x": ExecutorSymbolDef(0x1234), "tag_y": ExecutorSymbolDef(0x1234)}
            )
        )
        handler = sps_handler(protocol.RUN_AS_VOID, lambda address: 0)
        with pytest.raises(OrcError, match=r"^Tag 0x1234 \(for tag_y\) already registered$"):
            await register_jit_dispatch_handlers(h.es, h.main, {"tag_x": handler, "tag_y": handler})
        assert await register_jit_dispatch_handlers(h.es, h.main, {"tag_x": handler}) == {
            "tag_x": 0x1234
        }
        with pytest.raises(OrcError, match=r"^Tag 0x1234 \(for tag_y\) already registered$"):
            await register_jit_dispatch_handlers(h.es, h.main, {"tag_y": handler})
        assert await register_jit_dispatch_handlers(h.es, h.main, {}) == {}


async def test_dispatch_sps_handler_decodes_and_encodes(assemble: Assemble) -> None:
    """An SPS-wrapped handler (checklist 49): the arguments are decoded with the signature,
    the result encoded; here a ``u8(u8, u8)``-shaped handler on raw bytes."""
    async with open_harness() as h:
        await _define_dispatch(h)
        await h.layer.add(h.main, assemble(src.DISPATCH), "dispatch.o")
        signature = protocol.WrapperSignature(protocol.UInt8, protocol.UInt8, protocol.UInt8)
        await register_jit_dispatch_handlers(
            h.es, h.main, {"tag_b": sps_handler(signature, lambda a, b: a * b)}
        )
        assert await h.run_main("call_b") == (1 << 8) | 35
