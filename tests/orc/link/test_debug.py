"""DebugObjectPlugin: a ``-g`` object's copy, with load addresses, registered with the
executor's GDB JIT interface (14: a wrapper call, 22: an alloc action)."""

from __future__ import annotations

import io
import struct
from typing import Any

import pytest
from elftools.elf.elffile import ELFFile

import native
import protocol
from actors.orc import DebugObjectPlugin, JITDylibLookupFlags
from actors.orc._link_debug import debug_object, has_debug_info

from .conftest import Assemble, open_harness

pytestmark = pytest.mark.asyncio

DEBUG_MAIN = """
        .text
        .globl main
        .type main,@function
main:
        .file 1 "/tmp" "dbg.c"
        .loc 1 3 0
        movl $6, %eax
        retq
"""
"""A ``main`` returning 6 with a line table (``.debug_line``: debug info)."""

PLAIN_MAIN = ".text\n.globl main\n.type main,@function\nmain: movl $6, %eax\n retq\n"


def _text_address(image: bytes) -> int:
    text = ELFFile(io.BytesIO(image)).get_section_by_name(".text")
    assert text is not None
    return int(text["sh_addr"])


async def test_debug_object_copy_has_the_load_addresses(assemble: Assemble) -> None:
    """has_debug_info sees .debug_* sections; debug_object patches sh_addr of loaded
    PROGBITS sections and nothing else."""
    data = assemble(DEBUG_MAIN)
    assert has_debug_info(data)
    assert not has_debug_info(assemble(PLAIN_MAIN))
    text_index = next(
        i for i, s in enumerate(ELFFile(io.BytesIO(data)).iter_sections()) if s.name == ".text"
    )
    image = debug_object(data, {text_index: 0x7F00_1234_0000})
    assert _text_address(image) == 0x7F00_1234_0000
    assert len(image) == len(data)
    assert debug_object(data, {}) == data


async def test_debug_object_registered_in_process(assemble: Assemble) -> None:
    """In process: one more entry in this process's __jit_debug_descriptor, whose bytes are
    the object with .text at main's address; an object without debug info adds none."""
    async with open_harness() as h:
        h.layer.add_plugin(DebugObjectPlugin(h.epc, h.memory))
        before = native.jit_debug_descriptor().entries
        await h.layer.add(h.main, assemble(PLAIN_MAIN), "plain.o")
        other = await h.es.create_jitdylib("other")
        await h.layer.add(other, assemble(DEBUG_MAIN), "dbg.o")
        assert await h.run_main() == 6
        assert native.jit_debug_descriptor().entries == before
        assert await h.epc.run_as_main(await h.address("main", other)) == 6
        after = native.jit_debug_descriptor().entries
        assert after[: len(before)] == before
        ((address, size),) = after[len(before) :]
        (image,) = await h.epc.memory_access.read_buffers([(address, size)])
        assert _text_address(image) == await h.address("main", other)
        assert len(h.memory.reserved) == 3  # two graphs, one debug object


async def test_debug_object_registered_with_llvm22(assemble: Assemble) -> None:
    """LLVM 22's executor: the alloc action puts the copy on the executor's
    __jit_debug_descriptor list (read back through its memory-read wrappers)."""
    async with open_harness("llvm22") as h:
        h.layer.add_plugin(DebugObjectPlugin(h.epc, h.memory))
        await h.layer.add(h.main, assemble(DEBUG_MAIN), "dbg.o")
        assert await h.run_main() == 6
        process = await h.epc.dylibs.open(None)
        (descriptor,) = await h.epc.dylibs.lookup(process, [("__jit_debug_descriptor", True)])
        assert descriptor is not None
        (raw,) = await h.epc.memory_access.read_buffers([(descriptor.address, 24)])
        version, action, relevant, _first = struct.unpack("<IIQQ", raw)
        assert (version, action) == (1, 1)
        (entry,) = await h.epc.memory_access.read_buffers([(relevant, 32)])
        _next, _prev, address, size = struct.unpack("<QQQQ", entry)
        (image,) = await h.epc.memory_access.read_buffers([(address, size)])
        assert _text_address(image) == await h.address("main")


async def test_debug_object_registered_with_llvm14(
    assemble: Assemble, monkeypatch: pytest.MonkeyPatch
) -> None:
    """LLVM 14's executor: the wrapper is looked up (required) and called after finalize."""
    async with open_harness("llvm14") as h:
        h.layer.add_plugin(DebugObjectPlugin(h.epc, h.memory))
        calls: list[str] = []
        original = h.epc.call_sps

        async def spy(signature: Any, *args: Any, **kwargs: Any) -> Any:
            calls.append(signature.name)
            return await original(signature, *args, **kwargs)

        monkeypatch.setattr(h.epc, "call_sps", spy)
        await h.layer.add(h.main, assemble(DEBUG_MAIN), "dbg.o")
        found = await h.es.lookup([(h.main, JITDylibLookupFlags.MATCH_ALL_SYMBOLS)], ["main"])
        assert found
        register = protocol.REGISTER_JITLOADER_GDB_WRAPPER.name
        finalizes = [i for i, name in enumerate(calls) if name == protocol.MEMORY_FINALIZE.name]
        assert len(finalizes) == 2  # the debug object, then the code
        assert calls.index(register) > finalizes[-1]
