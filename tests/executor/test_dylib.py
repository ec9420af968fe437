"""The dylib manager over the wire: open, lookup (14) / resolve (22), and error values."""

from __future__ import annotations

import ctypes

import pytest

import protocol
from actors.testing._wire import WireController
from protocol import ExecutorSymbolDef, Failure, SymbolLookup

pytestmark = [pytest.mark.asyncio, pytest.mark.timeout(30)]

MISSING = "orcrt_no_such_symbol_anywhere"


def _instance(wire: WireController) -> int:
    return wire.address(protocol.DYLIB_MANAGER_INSTANCE_SYMBOL)


async def _open_process(wire: WireController) -> int:
    handle = await wire.call_sps(protocol.DYLIB_OPEN, _instance(wire), "", 0)
    assert isinstance(handle, int), handle
    return handle


async def _find(
    wire: WireController, handle: int, lookups: list[SymbolLookup]
) -> list[int] | Failure:
    """Addresses (0 = missing) from lookup (14) or resolve (22), or the error value."""
    if wire.llvm_major == 14:
        found = await wire.call_sps(protocol.DYLIB_LOOKUP, _instance(wire), handle, lookups)
        return found if isinstance(found, Failure) else list(found)
    resolved = await wire.call_sps(protocol.DYLIB_RESOLVE, handle, lookups)
    if isinstance(resolved, Failure):
        return resolved
    assert all(item is not None for item in resolved)  # 22.1.8 never sends "absent"
    return [item.addr for item in resolved if item is not None]


async def _found(wire: WireController, handle: int, lookups: list[SymbolLookup]) -> list[int]:
    found = await _find(wire, handle, lookups)
    assert not isinstance(found, Failure), found
    return found


async def test_dylib_open_process_and_find_puts(wire: WireController) -> None:
    """open("") gives a handle in which puts is found, weak or required."""
    handle = await _open_process(wire)
    weak, required = await _found(
        wire, handle, [SymbolLookup("puts", False), SymbolLookup("puts", True)]
    )
    assert weak != 0
    assert weak == required


@pytest.mark.parametrize("llvm_major", [22])
async def test_dylib_resolved_puts_is_libc_puts(wire: WireController) -> None:
    """22: the address found holds libc's code for puts (read back with mem_read)."""
    (puts,) = await _found(wire, await _open_process(wire), [SymbolLookup("puts", True)])
    (code,) = await wire.call_sps(
        protocol.MEM_READ_BUFFERS, [protocol.ExecutorAddrRange(puts, puts + 16)]
    )
    ours = ctypes.cast(ctypes.CDLL(None).puts, ctypes.c_void_p).value
    assert ours is not None
    assert bytes(code) == ctypes.string_at(ours, 16)


@pytest.mark.parametrize("llvm_major", [14])
async def test_dylib_14_missing_weak_symbol_is_zero(wire: WireController) -> None:
    """14: a missing weak symbol is address 0 in the answer."""
    handle = await _open_process(wire)
    found = await wire.call_sps(
        protocol.DYLIB_LOOKUP,
        _instance(wire),
        handle,
        [SymbolLookup("puts", False), SymbolLookup(MISSING, False)],
    )
    assert not isinstance(found, Failure)
    assert found[0] != 0
    assert found[1] == 0


@pytest.mark.parametrize("llvm_major", [22])
async def test_dylib_22_missing_weak_symbol_is_present_at_zero(wire: WireController) -> None:
    """22: found and missing weak symbols both come back present, flags 0x10 (as 22.1.8)."""
    handle = await _open_process(wire)
    resolved = await wire.call_sps(
        protocol.DYLIB_RESOLVE, handle, [SymbolLookup("puts", False), SymbolLookup(MISSING, False)]
    )
    assert not isinstance(resolved, Failure)
    puts, missing = resolved
    assert puts is not None
    assert puts.addr != 0
    assert (puts.flags, puts.target_flags) == (protocol.SYMBOL_FLAG_EXPORTED, 0)
    assert missing == ExecutorSymbolDef(addr=0, flags=protocol.SYMBOL_FLAG_EXPORTED, target_flags=0)


async def test_dylib_missing_required_symbol_is_an_error_value(wire: WireController) -> None:
    """A missing required symbol fails the whole lookup with a message naming it."""
    handle = await _open_process(wire)
    outcome = await _find(wire, handle, [SymbolLookup("puts", True), SymbolLookup(MISSING, True)])
    assert outcome == Failure(f"Missing definition for {MISSING}")


async def test_dylib_open_missing_library_is_an_error_value(wire: WireController) -> None:
    """Opening a library that does not exist answers an error value naming the path."""
    path = "/nonexistent/liborcrt_missing.so"
    outcome = await wire.call_sps(protocol.DYLIB_OPEN, _instance(wire), path, 0)
    assert isinstance(outcome, Failure)
    assert path in outcome.message
    assert await _open_process(wire)  # still serving


async def test_dylib_bad_instance_is_an_error_value(wire: WireController) -> None:
    """open (and 14's lookup) check ``Inst``; a wrong one answers an error value naming it."""
    bad = _instance(wire) + 8
    outcomes: list[object] = [await wire.call_sps(protocol.DYLIB_OPEN, bad, "", 0)]
    if wire.llvm_major == 14:
        handle = await _open_process(wire)
        lookup = [SymbolLookup("puts", True)]
        outcomes.append(await wire.call_sps(protocol.DYLIB_LOOKUP, bad, handle, lookup))
    for outcome in outcomes:
        assert isinstance(outcome, Failure), outcome
        assert f"{bad:#x}" in outcome.message


@pytest.mark.parametrize("llvm_major", [22])
async def test_dylib_22_unknown_handle_is_an_error_value(wire: WireController) -> None:
    """22: resolve in a handle never opened answers an error value (no lookup in garbage)."""
    outcome = await wire.call_sps(protocol.DYLIB_RESOLVE, 0x3039, [SymbolLookup("puts", False)])
    assert isinstance(outcome, Failure)
    assert "0x3039" in outcome.message


@pytest.mark.parametrize("llvm_major", [14])
async def test_dylib_14_self_lookups_resolve_to_the_advertised_wrappers(
    wire: WireController,
) -> None:
    """14 looks up its eh-frame and GDB registration functions by name (required): they
    resolve to the executor's own wrappers, the eh-frame ones to the advertised addresses."""
    handle = await _open_process(wire)
    found = await _find(
        wire,
        handle,
        [
            SymbolLookup(protocol.REGISTER_EHFRAME_SECTION_WRAPPER.name, True),
            SymbolLookup(protocol.DEREGISTER_EHFRAME_SECTION_WRAPPER.name, True),
            SymbolLookup(protocol.REGISTER_JITLOADER_GDB_WRAPPER.name, True),
        ],
    )
    assert not isinstance(found, Failure), found
    register, deregister, gdb = found
    assert register == wire.address(protocol.REGISTER_EHFRAME_SECTION.name)
    assert deregister == wire.address(protocol.DEREGISTER_EHFRAME_SECTION.name)
    assert gdb != 0
    assert gdb not in wire.symbols.values()


@pytest.mark.parametrize("llvm_major", [14])
async def test_dylib_14_gdb_wrapper_found_by_lookup_is_callable(wire: WireController) -> None:
    """14 calls the looked-up llvm_orc_registerJITLoaderGDBWrapper directly: it answers an
    SPSError value (here: an empty debug object is refused), not a crash."""
    handle = await _open_process(wire)
    found = await _find(
        wire, handle, [SymbolLookup(protocol.REGISTER_JITLOADER_GDB_WRAPPER.name, True)]
    )
    assert not isinstance(found, Failure)
    outcome = await wire.call_sps(
        protocol.REGISTER_JITLOADER_GDB_WRAPPER,
        protocol.ExecutorAddrRange(0x1000, 0x1000),
        target=found[0],
    )
    assert isinstance(outcome, Failure)
    assert "0x1000" in outcome.message
    assert await _open_process(wire)
