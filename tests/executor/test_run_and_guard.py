"""Running JIT'd code over the wire, and the native-call guard (guarded and --unguarded).

The guard lets the controller's native calls (CallWrapper to a non-wrapper address, run_as_main
and friends) reach only executable memory this session initialized and symbols it resolved.
A refused call answers an empty Result (an out-of-band error, one log line naming the address)
and jumps nowhere: the executor keeps serving.
"""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator

import pytest

import protocol
from actors import RemoteCallError
from actors.testing._wire import ListeningExecutor, WireController
from protocol import Failure, SegmentFinalizeRequest, SymbolLookup

from ._jit import (
    INCREMENT,
    PAGE,
    RETURN_ARGC,
    RW,
    finalize,
    load_code,
    memory_instance,
    requires_x86_64,
    reserve,
    return_int,
    run_main,
    wrapper_returning,
)

pytestmark = [pytest.mark.asyncio, pytest.mark.timeout(30), requires_x86_64]

OUTSIDE = 0x10  # never mapped: a jump there would kill the executor with SIGSEGV


async def _refused_main(wire: WireController, address: int) -> None:
    with pytest.raises(RemoteCallError):
        await run_main(wire, address)


async def _lines_naming(wire: WireController, *addresses: int) -> list[str]:
    await wire.close()
    status = await wire.wait()
    assert status.returncode == 0, status
    return [line for line in status.stderr_lines if any(f"{a:#x}" in line for a in addresses)]


async def test_run_as_main_runs_jitted_code(wire: WireController) -> None:
    """``mov eax, 42; ret`` in an R-X segment: run_as_main answers 42 (sign-extended i64)."""
    assert await run_main(wire, await load_code(wire, return_int(42))) == 42
    assert await run_main(wire, await load_code(wire, return_int(-3))) == -3


async def test_run_as_main_passes_args_without_program_name(wire: WireController) -> None:
    """argc is exactly the number of arguments sent (no program name is prepended)."""
    address = await load_code(wire, RETURN_ARGC)
    assert await run_main(wire, address) == 0
    assert await run_main(wire, address, ("a", "b", "c")) == 3


@pytest.mark.parametrize("llvm_major", [22])
async def test_run_as_int_and_void_run_jitted_code(wire: WireController) -> None:
    """22: run_as_int_function passes its argument; run_as_void_function answers 0."""
    assert await wire.call_sps(protocol.RUN_AS_INT, await load_code(wire, INCREMENT), 41) == 42
    assert await wire.call_sps(protocol.RUN_AS_VOID, await load_code(wire, return_int(9))) == 0


async def test_guard_allows_calls_into_own_executable_memory(wire: WireController) -> None:
    """A CallWrapper to a wrapper-ABI function in this session's R-X memory runs it."""
    address = await load_code(wire, wrapper_returning(b"OK!!"))
    assert await wire.call(address, b"ignored") == b"OK!!"
    assert await wire.call(await load_code(wire, wrapper_returning(b"")), b"") == b""


async def test_guard_refuses_call_to_unknown_address(wire: WireController) -> None:
    """CallWrapper to an address that is no wrapper, no code of ours, no resolved symbol:
    an empty Result, one log line naming it, and the executor keeps running."""
    assert await wire.call(OUTSIDE, b"\x01\x02") == b""
    assert await run_main(wire, await load_code(wire, return_int(1))) == 1
    assert len(await _lines_naming(wire, OUTSIDE)) == 1


async def test_guard_refuses_run_as_main_outside_executable_memory(wire: WireController) -> None:
    """run_as_main of an unmapped address, or of this session's non-executable memory, is
    refused without jumping (a jump would crash the executor)."""
    data = await reserve(wire, PAGE)
    assert await finalize(wire, [SegmentFinalizeRequest(RW, data, PAGE, return_int(5))]) == data
    await _refused_main(wire, OUTSIDE)
    await _refused_main(wire, data)
    if wire.llvm_major == 22:
        with pytest.raises(RemoteCallError):
            await wire.call_sps(protocol.RUN_AS_INT, data, 1)
        with pytest.raises(RemoteCallError):
            await wire.call_sps(protocol.RUN_AS_VOID, OUTSIDE)
    assert await run_main(wire, await load_code(wire, return_int(7))) == 7
    assert len(await _lines_naming(wire, OUTSIDE, data)) >= 2


async def test_guard_forgets_code_whose_memory_was_freed(wire: WireController) -> None:
    """After deallocate (14) / release (22) the code's address is refused, not jumped to."""
    address = await load_code(wire, return_int(42))
    assert await run_main(wire, address) == 42
    inst = memory_instance(wire)
    free = protocol.MEMORY_DEALLOCATE if wire.llvm_major == 14 else protocol.MEMORY_RELEASE
    assert await wire.call_sps(free, inst, [address]) is None
    await _refused_main(wire, address)
    assert await wire.call(address, b"") == b""
    assert len(await _lines_naming(wire, address)) == 2


@contextlib.asynccontextmanager
async def _two_sessions(
    llvm_major: int, *, guarded: bool
) -> AsyncIterator[tuple[ListeningExecutor, WireController, WireController]]:
    args = ["--max-sessions", "2", *(() if guarded else ("--unguarded",))]
    async with (
        await ListeningExecutor.start(llvm_major, args=args) as executor,
        await executor.connect() as first,
        await executor.connect() as second,
    ):
        yield executor, first, second


async def _getpid(wire: WireController) -> int:
    dylibs = wire.address(protocol.DYLIB_MANAGER_INSTANCE_SYMBOL)
    handle = await wire.call_sps(protocol.DYLIB_OPEN, dylibs, "", 0)
    assert isinstance(handle, int)
    lookup = [SymbolLookup("getpid", True)]
    if wire.llvm_major == 14:
        addresses = await wire.call_sps(protocol.DYLIB_LOOKUP, dylibs, handle, lookup)
        assert not isinstance(addresses, Failure), addresses
        return addresses[0]
    resolved = await wire.call_sps(protocol.DYLIB_RESOLVE, handle, lookup)
    assert not isinstance(resolved, Failure), resolved
    assert resolved[0] is not None
    return resolved[0].addr


async def test_guard_is_per_session(llvm_major: int) -> None:
    """Guarded: code and symbols of one session are refused to another session of the same
    process until that session resolves them itself (getpid, called as ``main``)."""
    async with _two_sessions(llvm_major, guarded=True) as (executor, first, second):
        wrapper = await load_code(first, wrapper_returning(b"OK!!"))
        main = await load_code(first, return_int(42))
        getpid = await _getpid(first)
        assert await first.call(wrapper) == b"OK!!"
        assert await run_main(first, getpid) == executor.pid

        assert await second.call(wrapper) == b""
        await _refused_main(second, main)
        await _refused_main(second, getpid)
        assert await _getpid(second) == getpid
        assert await run_main(second, getpid) == executor.pid
        for controller in (first, second):
            await controller.close()
        status = await executor.wait()
    assert status.returncode == 0
    refusals = [
        line for line in status.stderr_lines if any(f"{a:#x}" in line for a in (wrapper, main))
    ]
    assert len(refusals) == 2, status.stderr
    assert sum(f"{getpid:#x}" in line for line in status.stderr_lines) == 1


async def test_unguarded_calls_any_address(llvm_major: int) -> None:
    """--unguarded: another session's code and symbols are called as LLVM's executor would."""
    async with _two_sessions(llvm_major, guarded=False) as (executor, first, second):
        wrapper = await load_code(first, wrapper_returning(b"OK!!"))
        main = await load_code(first, return_int(42))
        getpid = await _getpid(first)
        assert await second.call(wrapper, b"") == b"OK!!"
        assert await run_main(second, main) == 42
        assert await run_main(second, getpid) == executor.pid
        for controller in (first, second):
            await controller.close()
        status = await executor.wait()
    assert status.returncode == 0
    assert status.stderr_lines == [f"orcrt-executor: listening on 127.0.0.1:{executor.port}"]
