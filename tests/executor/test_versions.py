"""orcrt-executor serves every row of the version table: its Setup, and the wrappers that changed.

The other wire tests run for 14 and 22 (the two ends); these cover what differs in between
(tests/protocol/traces/README.md): each supported major's Setup, 19's symbol-definition
lookups, the two forms of the GDB wrapper, and where each row's eh-frame wrappers are found.
"""

from __future__ import annotations

import pytest

import protocol
from actors.testing._wire import WireController
from protocol import ExecutorAddrRange, Failure, SymbolLookup

pytestmark = [pytest.mark.asyncio, pytest.mark.timeout(60)]

# Not offered by orcrt (-use-memmgr=shared only): see actors/_bootstrap.py.
SHARED_MEMORY_SYMBOLS = frozenset(
    {
        protocol.SHARED_MEMORY_MAPPER_INSTANCE_SYMBOL,
        protocol.SHARED_MEMORY_RESERVE.name,
        protocol.SHARED_MEMORY_INITIALIZE.name,
        protocol.SHARED_MEMORY_DEINITIALIZE.name,
        protocol.SHARED_MEMORY_RELEASE.name,
    }
)


async def _open_process(wire: WireController) -> int:
    instance = wire.address(protocol.DYLIB_MANAGER_INSTANCE_SYMBOL)
    handle = await wire.call_sps(protocol.DYLIB_OPEN, instance, "", 0)
    assert isinstance(handle, int), handle
    return handle


async def _lookup(wire: WireController, names: list[tuple[str, bool]]) -> list[int]:
    """Addresses of ``names`` in the process, through the row's lookup variant."""
    handle = await _open_process(wire)
    lookups = [SymbolLookup(name, required) for name, required in names]
    row = protocol.llvm_protocol(wire.llvm_major)
    if row.dylib_lookup is protocol.DylibLookup.RESOLVE:
        resolved = await wire.call_sps(protocol.DYLIB_RESOLVE, handle, lookups)
        assert not isinstance(resolved, Failure), resolved
        return [item.addr if item is not None else 0 for item in resolved]
    signature = row.signatures[protocol.DYLIB_LOOKUP.name]
    instance = wire.address(protocol.DYLIB_MANAGER_INSTANCE_SYMBOL)
    found = await wire.call_sps(signature, instance, handle, lookups)
    assert not isinstance(found, Failure), found
    return [getattr(item, "addr", item) for item in found]


@pytest.mark.parametrize("major", protocol.SUPPORTED_LLVM_MAJORS)
async def test_versions_setup_is_the_rows(major: int) -> None:
    """Told any supported major, the executor sends Setup in that row's layout (the
    WireController decodes it in that layout only) naming exactly the row's symbols, minus the
    shared-memory mapper orcrt does not offer; the row's required symbols are all there."""
    async with await WireController.spawn(major) as wire:
        row = protocol.llvm_protocol(major)
        assert protocol.detect_setup_layout(wire.setup_payload) is row.setup_layout
        assert set(wire.symbols) == set(row.bootstrap_symbols) - SHARED_MEMORY_SYMBOLS
        assert set(row.required) | set(row.session_required) <= set(wire.symbols)


async def test_versions_19_lookup_answers_symbol_definitions() -> None:
    """19's lookup_wrapper answers (address, flags 0x10, 0) per name, as 19.1.7's executor
    does; a missing weak symbol is (0, 0x10), a missing required one an error value."""
    async with await WireController.spawn(19) as wire:
        handle = await _open_process(wire)
        instance = wire.address(protocol.DYLIB_MANAGER_INSTANCE_SYMBOL)
        found = await wire.call_sps(
            protocol.DYLIB_LOOKUP_SYMBOL_DEFS,
            instance,
            handle,
            [SymbolLookup("puts", False), SymbolLookup("no_such_symbol_here", False)],
        )
        assert not isinstance(found, Failure), found
        puts, missing = found
        assert puts.addr != 0
        assert (puts.flags, missing.addr, missing.flags) == (0x10, 0, 0x10)
        refused = await wire.call_sps(
            protocol.DYLIB_LOOKUP_SYMBOL_DEFS,
            instance,
            handle,
            [SymbolLookup("no_such_symbol_here", True)],
        )
        assert isinstance(refused, Failure)
        assert "no_such_symbol_here" in refused.message


@pytest.mark.parametrize("major", [14, 17, 19])
async def test_versions_gdb_wrapper_takes_a_range_with_or_without_the_bool(major: int) -> None:
    """The looked-up llvm_orc_registerJITLoaderGDBWrapper answers both 14-16's (range) and
    19's (range, bool) arguments: an empty debug object is refused by value either way (a
    misread argument would be an out-of-band error instead)."""
    async with await WireController.spawn(major) as wire:
        (gdb,) = await _lookup(wire, [(protocol.REGISTER_JITLOADER_GDB_WRAPPER.name, True)])
        empty = ExecutorAddrRange(0x1000, 0x1000)
        for outcome in (
            await wire.call_sps(protocol.REGISTER_JITLOADER_GDB_WRAPPER, empty, target=gdb),
            await wire.call_sps(
                protocol.REGISTER_JITLOADER_GDB_WRAPPER_AUTO, empty, True, target=gdb
            ),
        ):
            assert isinstance(outcome, Failure)
            assert "0x1000" in outcome.message


@pytest.mark.parametrize(
    ("major", "bootstrap_names", "looked_up"),
    [
        (16, (protocol.REGISTER_EHFRAME_SECTION.name,), True),
        (19, (protocol.REGISTER_EHFRAME_SECTION_WRAPPER.name,), False),
        (
            17,
            (
                protocol.REGISTER_EHFRAME_SECTION.name,
                protocol.REGISTER_EHFRAME_SECTION_WRAPPER.name,
            ),
            True,
        ),
        (
            21,
            (
                protocol.REGISTER_EHFRAME_SECTION_WRAPPER.name,
                protocol.REGISTER_EHFRAME_ALLOC_ACTION.name,
            ),
            False,
        ),
    ],
)
async def test_versions_eh_frame_wrappers_are_where_the_row_says(
    major: int, bootstrap_names: tuple[str, ...], looked_up: bool
) -> None:
    """16 advertises __llvm_orc_bootstrap_register_ehframe_section_wrapper and answers the
    process lookup of llvm_orc_registerEHFrameSectionWrapper with it; 19 advertises the latter
    name itself; the inferred 17 and 21 offer both of their neighbours' ways."""
    async with await WireController.spawn(major) as wire:
        eh_frame_names = {
            protocol.REGISTER_EHFRAME_SECTION.name,
            protocol.REGISTER_EHFRAME_SECTION_WRAPPER.name,
            protocol.REGISTER_EHFRAME_ALLOC_ACTION.name,
        }
        assert eh_frame_names & set(wire.symbols) == set(bootstrap_names)
        (found,) = await _lookup(wire, [(protocol.REGISTER_EHFRAME_SECTION_WRAPPER.name, False)])
        if looked_up:
            assert found == wire.address(bootstrap_names[0])
        else:
            assert found == 0
        # One direct-call wrapper behind every name it is known by (the alloc action is a
        # token the memory manager recognises, not a wrapper of the same kind).
        wrappers = [n for n in bootstrap_names if n != protocol.REGISTER_EHFRAME_ALLOC_ACTION.name]
        assert len({wire.address(name) for name in wrappers}) == 1
