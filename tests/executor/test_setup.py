"""Setup as a real executor process sends it: layout, symbols, triple and page size."""

from __future__ import annotations

import mmap
import platform

import pytest

import protocol
from actors.testing._wire import WireController

pytestmark = [pytest.mark.asyncio, pytest.mark.timeout(30)]

# orcrt does not offer LLVM 22's shared-memory mapper (used only with -use-memmgr=shared; see
# actors/_bootstrap.py): a controller asking for it fails at once with "symbol not found".
SHARED_MEMORY_SYMBOLS = frozenset(
    {
        protocol.SHARED_MEMORY_MAPPER_INSTANCE_SYMBOL,
        protocol.SHARED_MEMORY_RESERVE.name,
        protocol.SHARED_MEMORY_INITIALIZE.name,
        protocol.SHARED_MEMORY_DEINITIALIZE.name,
        protocol.SHARED_MEMORY_RELEASE.name,
    }
)
EXPECTED_SYMBOLS = {
    major: frozenset(row.bootstrap_symbols) - SHARED_MEMORY_SYMBOLS
    for major, row in protocol.LLVM_PROTOCOLS.items()
}
REQUIRED_SYMBOLS = {major: row.required for major, row in protocol.LLVM_PROTOCOLS.items()}


async def test_setup_advertises_exactly_the_bootstrap_symbols(
    wire: WireController, llvm_major: int
) -> None:
    """The Setup names LLVM's bootstrap symbols (22: minus the 5 shared-memory ones)."""
    assert set(wire.symbols) == EXPECTED_SYMBOLS[llvm_major]
    assert len(wire.symbols) == {14: 17, 22: 29}[llvm_major]
    assert set(REQUIRED_SYMBOLS[llvm_major]) <= set(wire.symbols)


async def test_setup_symbol_addresses_are_distinct_and_nonzero(wire: WireController) -> None:
    """Every advertised address is a non-zero u64, and no two symbols share one."""
    addresses = list(wire.symbols.values())
    assert all(0 < address < 1 << 64 for address in addresses)
    assert len(set(addresses)) == len(addresses)


async def test_setup_reports_triple_page_size_and_empty_map(wire: WireController) -> None:
    """Triple as LLVM spells it on Linux, this machine's page size, no bootstrap map."""
    machine = platform.machine()
    vendor = "pc" if machine in ("x86_64", "i686", "i386") else "unknown"
    assert wire.info.triple == f"{machine}-{vendor}-linux-gnu"
    assert wire.info.page_size == mmap.PAGESIZE
    assert dict(wire.info.bootstrap_map) == {}


async def test_setup_layout_is_the_one_of_the_version(
    wire: WireController, llvm_major: int
) -> None:
    """The payload decodes with its version's layout only (14 and 22 are incompatible)."""
    payload = wire.setup_payload
    own = protocol.setup_layout_for(llvm_major)
    other = protocol.setup_layout_for(22 if llvm_major == 14 else 14)
    assert protocol.decode_setup(payload, own) == wire.info
    assert protocol.encode_setup(wire.info, own) == payload
    with pytest.raises(protocol.DecodeError):
        protocol.decode_setup(payload, other)
