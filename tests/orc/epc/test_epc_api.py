"""The EPC's own contract: segments, errors as exceptions, handlers, the factories' opener."""

from __future__ import annotations

import asyncio
import struct

import pytest

import protocol
from actors import RemoteCallError
from actors.orc import (
    EPCOpener,
    ExecutorCallError,
    InProcessEPC,
    Segment,
    open_inprocess_executor,
    spawn_executor,
    sps_handler,
)
from protocol import MemProt

from ._code import requires_x86_64
from .conftest import llvm_executor, orcrt_command

pytestmark = [pytest.mark.timeout(30)]

RW = MemProt.READ | MemProt.WRITE


def test_segment_validates_what_it_carries() -> None:
    """Protections are R/W/X bits only; content must fit; the wire byte follows the version."""
    segment = Segment(RW, 0x1000, 4096, b"abc", finalize_lifetime=True)
    assert segment.wire_request(22) == protocol.SegmentFinalizeRequest(0x0B, 0x1000, 4096, b"abc")
    plain = Segment(MemProt.READ | MemProt.EXEC, 0x1000, 16)
    assert plain.wire_request(14) == protocol.SegmentFinalizeRequest(5, 0x1000, 16, b"")
    with pytest.raises(ValueError, match="LLVM 14's memory manager has no finalize-lifetime"):
        segment.wire_request(14)
    with pytest.raises(ValueError, match="4 bytes of content do not fit its size 3"):
        Segment(RW, 0x1000, 3, b"abcd")
    with pytest.raises(ValueError, match="bits other than READ/WRITE/EXEC"):
        Segment(MemProt.READ | MemProt.FINALIZE_LIFETIME, 0x1000, 16)


@pytest.mark.asyncio
async def test_epc_opener_is_awaited_once() -> None:
    """A factory's result gives one EPC: awaiting it twice is an error, not a second EPC."""
    opener = open_inprocess_executor()
    assert isinstance(opener, EPCOpener)
    epc = await opener
    try:
        with pytest.raises(RuntimeError, match="awaited already"):
            await opener
    finally:
        await epc.disconnect()


@pytest.mark.asyncio
async def test_epc_errors_of_the_executor_are_exceptions() -> None:
    """Error values from the bootstrap wrappers raise ExecutorCallError with the executor's
    message: a finalize outside any reservation, a library that does not exist, a required
    symbol that is missing."""
    async with spawn_executor(orcrt_command(22)) as epc:  # LLVM's would crash at the finalize
        with pytest.raises(ExecutorCallError) as info:
            await epc.memory_manager.finalize([Segment(RW, 0x10000, 4096, b"x")])
        assert info.value.function == protocol.MEMORY_INITIALIZE.name
        with pytest.raises(ExecutorCallError, match=r"/no/such/lib\.so"):
            await epc.dylibs.open("/no/such/lib.so")
        handle = await epc.dylibs.open(None)
        assert await epc.dylibs.lookup(handle, [("no_such_symbol_xyz", False)]) == [None]


@pytest.mark.asyncio
async def test_epc_inprocess_out_of_band_errors_keep_their_text() -> None:
    """In process an out-of-band error arrives with its text (the wire would drop it)."""
    async with open_inprocess_executor() as epc:
        with pytest.raises(RemoteCallError, match="refusing native call to 0x10"):
            await epc.call_wrapper(0x10, b"")
        assert isinstance(epc, InProcessEPC)
        assert epc.session.name == "inprocess-executor"


@pytest.mark.asyncio
async def test_epc_handlers_register_once_and_decode_sps() -> None:
    """A tag takes one handler (LLVM: "Tag 0x… already registered"); deregistering frees it;
    sps_handler decodes arguments and encodes the (async) function's result."""
    async with open_inprocess_executor() as epc:
        epc.register_handler(0x1234, lambda args: args)
        with pytest.raises(ValueError, match="Tag 0x1234 already registered"):
            epc.register_handler(0x1234, lambda args: args)
        epc.deregister_handler(0x1234)
        with pytest.raises(KeyError, match="no handler is registered for tag 0x1234"):
            epc.deregister_handler(0x1234)
        with pytest.raises(ValueError, match="is not a u64"):
            epc.register_handler(-1, lambda args: args)

        async def reserve_twice(instance: int, size: int) -> int:
            await asyncio.sleep(0)
            return instance + 2 * size

        handler = sps_handler(protocol.MEMORY_RESERVE, reserve_twice)
        result = handler(protocol.MEMORY_RESERVE.encode_args(1, 20))
        assert not isinstance(result, bytes)
        assert await result == b"\x01" + struct.pack("<Q", 41)


@requires_x86_64
@pytest.mark.asyncio
async def test_epc_dylib_lookup_of_a_missing_required_symbol_fails() -> None:
    """A required symbol that is missing is the same error with 14 and 22 (whose executor
    answers None)."""
    for major in (14, 22):
        async with spawn_executor(llvm_executor(major)) as epc:
            handle = await epc.dylibs.open("")
            with pytest.raises(ExecutorCallError, match=r"^Missing definition for no_such_xyz$"):
                await epc.dylibs.lookup(handle, [("puts", True), ("no_such_xyz", True)])
