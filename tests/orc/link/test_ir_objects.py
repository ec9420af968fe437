"""IRCompileLayer on top of the ObjectLinkingLayer: IR compiled to objects, linked into the
executor, run (the contract issue #11 builds on: ``emit(mr, object_bytes, name)``)."""

from __future__ import annotations

import pytest

from actors.orc import IRCompileLayer, IRCompiler, ObjectEmitter

from .conftest import open_harness

pytestmark = pytest.mark.asyncio

F = "define i32 @f(i32 %x) {\n  %r = add i32 %x, 1\n  ret i32 %r\n}\n"
MAIN = (
    "declare i32 @f(i32)\n"
    "define i32 @main(i32 %argc, i8** %argv) {\n"
    "  %r = call i32 @f(i32 41)\n"
    "  ret i32 %r\n"
    "}\n"
)


@pytest.mark.parametrize("kind", ["inprocess", "llvm14"])
async def test_ir_modules_link_through_the_object_layer(kind: str) -> None:
    """Two IR modules, compiled on demand and linked by the ObjectLinkingLayer: main calls
    f across objects and returns 42."""
    async with open_harness(kind) as h:
        emitter: ObjectEmitter = h.layer  # the layer is what IRCompileLayer emits through
        compile_layer = IRCompileLayer(h.es, emitter, IRCompiler("x86_64-pc-linux-gnu"))
        await compile_layer.add(h.main, F, name="f")
        await compile_layer.add(h.main, MAIN, name="main")
        assert await h.run_main() == 42
        assert h.errors == []
        assert len(h.memory.reserved) == 2
