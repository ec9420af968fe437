"""Each executor kind through one EPC interface: code, memory, libc, calls back, clean end.

Parametrized over `conftest.KINDS`: LLVM 14's, 15's, 16's, 19's and 22's executors, orcrt's over pipes and TCP,
and an executor Session in this process.
"""

from __future__ import annotations

import asyncio
import struct

import pytest

import protocol
from actors import DisconnectedError
from actors.orc import JITSymbolFlags, MissingBootstrapSymbolError, Segment, sps_handler
from protocol import AllocActionCallPair, MemProt, WrapperFunctionCall

from ._code import (
    DISPATCH_CALLER_SIZE,
    INCREMENT,
    RETURN_ARGC,
    call_with_string,
    dispatch_caller,
    load_byte,
    requires_x86_64,
    return_int,
    store_byte_action,
)
from .conftest import Target

pytestmark = [pytest.mark.asyncio, pytest.mark.timeout(30), requires_x86_64]

RX = MemProt.READ | MemProt.EXEC
RW = MemProt.READ | MemProt.WRITE
TAG = 0x5EED_0000_7A60


async def load(target: Target, code: bytes, prot: MemProt = RX) -> int:
    """Reserve a page, finalize ``code`` into it with ``prot``; its address."""
    memory = target.epc.memory_manager
    page = target.epc.page_size
    base = await memory.reserve(page)
    await memory.finalize([Segment(prot, base, page, code)])
    return base


async def peek(target: Target, address: int, size: int) -> bytes:
    """``size`` bytes of executor memory: read by the executor, or by JIT'd loads (LLVM 14)."""
    if target.can_read:
        (data,) = await target.epc.memory_access.read_buffers([(address, size)])
        return data
    step = len(load_byte(0))
    loaders = await load(target, b"".join(load_byte(address + i) for i in range(size)))
    return bytes([await target.epc.run_as_main(loaders + i * step) for i in range(size)])


async def test_epc_runs_code_returning_a_constant(target: Target) -> None:
    """Code bytes reserved, finalized R-X and run: main's value and argc come back; 16 and
    later (and in-process) also run int(int) and void() functions, 14 and 15 name what they
    lack."""
    epc = target.epc
    assert epc.triple.startswith("x86_64")
    assert epc.page_size % 4096 == 0
    code = return_int(-7) + RETURN_ARGC + INCREMENT
    base = await load(target, code)
    assert await epc.run_as_main(base) == -7
    argc = base + len(return_int(0))
    assert await epc.run_as_main(argc, ["a", "b", "c"]) == 3
    increment = argc + len(RETURN_ARGC)
    if protocol.RUN_AS_INT.name in epc.bootstrap_symbols:
        assert epc.llvm_major >= 16
        assert await epc.run_as_int(increment, 41) == 42
        await epc.run_as_void(base)
    else:
        with pytest.raises(MissingBootstrapSymbolError, match=r"run_as_int.*use run_as_main"):
            await epc.run_as_int(increment, 41)


async def test_epc_reads_back_memory_with_zero_fill(target: Target) -> None:
    """A RW segment holds its content, zeros past it, and what batched writes put there."""
    epc = target.epc
    page = epc.page_size
    base = await epc.memory_manager.reserve(2 * page)
    await epc.memory_manager.finalize(
        [Segment(RX, base, page, return_int(5)), Segment(RW, base + page, page, b"content")]
    )
    data = base + page
    assert await peek(target, data, 10) == b"content\0\0\0"
    access = epc.memory_access
    await access.write_uint8s([(data + 16, 0x11)])
    await access.write_uint16s([(data + 18, 0x2233)])
    await access.write_uint32s([(data + 20, 0x44556677)])
    await access.write_uint64s([(data + 24, 0x8899AABBCCDDEEFF)])
    await access.write_buffers([(data + 32, b"buf"), (data + 40, b"x")])
    expected = b"\x11\0\x33\x22\x77\x66\x55\x44" + struct.pack("<Q", 0x8899AABBCCDDEEFF)
    assert await peek(target, data + 16, 25) == expected + b"buf\0\0\0\0\0x"
    if target.can_read:
        assert await access.read_uint64s([data + 24]) == [0x8899AABBCCDDEEFF]
        assert await access.read_uint16s([data + 18, data]) == [0x2233, 0x6F63]
        assert await access.read_strings([data]) == ["content"]
        await access.write_pointers([(data + 48, data)])
        assert await access.read_pointers([data + 48]) == [data]
    else:
        with pytest.raises(MissingBootstrapSymbolError, match=r"mem_read_buffers.*no memory reads"):
            await access.read_buffers([(data, 1)])
    assert await epc.run_as_main(base) == 5


async def test_epc_opens_libc_and_calls_puts(target: Target) -> None:
    """The process's symbols: puts resolves (required), a missing weak name is None; JIT'd
    main calls puts by its address through run_as_main; the line reaches the executor's stdout."""
    epc = target.epc
    process = await epc.dylibs.open(None)
    puts, missing = await epc.dylibs.lookup(process, [("puts", True), ("no_such_fn_xyz", False)])
    assert missing is None
    assert puts is not None
    assert puts.address != 0
    assert puts.flags == JITSymbolFlags.EXPORTED
    message = f"hello from the {target.kind} EPC".encode() + b"\0"
    code = call_with_string(puts.address, 0, 0)  # measure, then place the string after the code
    base = await epc.memory_manager.reserve(epc.page_size)
    code = call_with_string(puts.address, base + len(code), 9)
    await epc.memory_manager.finalize([Segment(RX, base, epc.page_size, code + message)])
    assert await epc.run_as_main(base) == 9
    output = await target.finish()
    assert f"hello from the {target.kind} EPC\n" in output


async def test_epc_executor_calls_the_controller_through_a_tag(target: Target) -> None:
    """JIT'd code calls the executor's dispatch function with the dispatch context and a tag:
    the tag's handler answers (inline, and out of line over 8 bytes); an unknown tag gets
    LLVM's out-of-band error and nothing breaks."""
    epc = target.epc
    seen: list[bytes] = []

    def add(args: bytes) -> bytes:
        seen.append(args)
        return bytes([sum(args)])

    epc.register_handler(TAG, add)
    epc.register_handler(TAG + 1, sps_handler(protocol.RUN_AS_VOID, lambda addr: addr & 0x7F))

    async def run(tag: int, args: bytes) -> int:
        dispatch = epc.jit_dispatch
        base = await epc.memory_manager.reserve(epc.page_size)
        code = dispatch_caller(
            dispatch.fn, dispatch.ctx, tag, base + DISPATCH_CALLER_SIZE, len(args)
        )
        await epc.memory_manager.finalize([Segment(RX, base, epc.page_size, code + args)])
        return await epc.run_as_main(base)

    assert await run(TAG, b"\x05\x07") == (1 << 8) | 0x0C
    assert seen == [b"\x05\x07"]
    assert await run(TAG + 1, struct.pack("<Q", 0x1234)) == (4 << 8) | 0x34  # SPS i32 result
    assert target.unanswered == []
    unknown = await run(TAG + 2, b"\x01")
    # The wire has no room for the error's text (an empty payload); in process it arrives.
    assert unknown == (0xEE if target.in_process else 0)
    (call,) = target.unanswered
    assert (call.tag, call.args) == (TAG + 2, b"\x01")
    assert call.reason == f"No function registered for tag {TAG + 2:#x}"
    assert await run(TAG, b"\x01\x01") == (1 << 8) | 0x02  # nothing got stuck


async def test_epc_deallocation_runs_dealloc_actions(target: Target) -> None:
    """Alloc actions: the finalize side runs at finalize, the dealloc side at release."""
    epc = target.epc
    markers = await load(target, b"", RW)
    actions = await load(
        target, store_byte_action(markers, 0x5A) + store_byte_action(markers + 1, 0xA5)
    )
    step = len(store_byte_action(0, 0))
    pair = AllocActionCallPair(
        WrapperFunctionCall(actions, b""), WrapperFunctionCall(actions + step, b"")
    )
    page = epc.page_size
    base = await epc.memory_manager.reserve(page)
    key = await epc.memory_manager.finalize([Segment(RW, base, page, b"data")], [pair])
    finalize = protocol.MemoryManagerProtocol.FINALIZE
    assert (key is None) == (epc.llvm_protocol.memory_manager is finalize)
    assert await peek(target, markers, 2) == b"\x5a\x00"
    await epc.memory_manager.release([base])
    assert await peek(target, markers, 2) == b"\x5a\xa5"


async def test_epc_clean_end(target: Target) -> None:
    """disconnect ends the session cleanly (a spawned executor exits 0); later calls fail
    with DisconnectedError; disconnecting again is a no-op."""
    epc = target.epc
    base = await load(target, return_int(1))
    await asyncio.gather(epc.disconnect(), epc.disconnect())
    assert epc.disconnected
    with pytest.raises(DisconnectedError, match="disconnected: the controller disconnected"):
        await epc.run_as_main(base)
    await target.finish()
    process = getattr(epc, "process", None)
    if process is not None:
        assert process.returncode == 0, process.stderr
