"""The version table (protocol._versions): lookups, recognition from a Setup, row invariants."""

from __future__ import annotations

from collections.abc import Callable

import pytest
from hypothesis import given
from hypothesis import strategies as st

import protocol
from protocol import (
    LLVM_PROTOCOLS,
    SUPPORTED_LLVM_MAJORS,
    DylibLookup,
    ExecutorInfo,
    MemoryManagerProtocol,
    SetupLayout,
    llvm_protocol,
    recognise_llvm_protocol,
)

TESTED = [row for row in LLVM_PROTOCOLS.values() if not row.inferred]
INFERRED = [row for row in LLVM_PROTOCOLS.values() if row.inferred]


def _info(names: tuple[str, ...] | set[str]) -> ExecutorInfo:
    return ExecutorInfo(
        triple="x86_64-pc-linux-gnu",
        page_size=4096,
        bootstrap_symbols={name: 0x1000 + 16 * i for i, name in enumerate(sorted(names))},
    )


def test_versions_table_is_14_to_22_with_five_tested() -> None:
    """Every major from 14 to 22 has a row, keyed by itself; 14, 15, 16, 19 and 22 were
    checked against real binaries (their releases are named), the rest are inferred."""
    assert tuple(range(14, 23)) == SUPPORTED_LLVM_MAJORS
    assert all(LLVM_PROTOCOLS[major].major == major for major in SUPPORTED_LLVM_MAJORS)
    assert {row.major: row.tested for row in TESTED} == {
        14: "14.0.6",
        15: "15.0.6",
        16: "16.0.6",
        19: "19.1.7",
        22: "22.1.8",
    }
    assert protocol.supported_majors_text() == (
        "14-22 (tested: 14, 15, 16, 19, 22; inferred: 17, 18, 20, 21)"
    )


@given(st.integers().filter(lambda major: major not in LLVM_PROTOCOLS))
def test_versions_unsupported_major_is_a_value_error_listing_the_table(major: int) -> None:
    """Any other major is refused, naming it and what is supported."""
    with pytest.raises(ValueError, match=rf"^LLVM {major} is not supported: .*14-22 \(tested"):
        llvm_protocol(major)


def test_versions_changes_happen_once_in_order() -> None:
    """Along the table, each protocol feature changes at most once (no version goes back to an
    older way), so a new row between two others follows its neighbours."""
    rows = list(LLVM_PROTOCOLS.values())
    features: list[Callable[[protocol.LLVMProtocol], bool]] = [
        lambda row: row.setup_layout is SetupLayout.WITH_MAP,
        lambda row: row.memory_manager is MemoryManagerProtocol.INITIALIZE,
        lambda row: row.segment_lifetime_bit,
        lambda row: protocol.ExecutorService.RUN_AS_VOID_INT in row.services,
        lambda row: protocol.ExecutorService.MEMORY_READS in row.services,
        lambda row: row.dylib_lookup is DylibLookup.RESOLVE,
        lambda row: row.dylib_lookup is not DylibLookup.ADDRESSES,
    ]
    for feature in features:
        values = [feature(row) for row in rows]
        assert values == sorted(values), values


def test_versions_inferred_rows_offer_what_both_neighbours_need() -> None:
    """An inferred row's executor offers every symbol the controllers of its tested
    neighbours require at setup, where the neighbours agree on the variant (the same memory
    manager and lookup); its own controller requires nothing beyond them."""
    for row in INFERRED:
        before = max((r for r in TESTED if r.major < row.major), key=lambda r: r.major)
        after = min((r for r in TESTED if r.major > row.major), key=lambda r: r.major)
        offered = set(row.bootstrap_symbols)
        for neighbour in (before, after):
            if (neighbour.memory_manager, neighbour.dylib_lookup) == (
                row.memory_manager,
                row.dylib_lookup,
            ):
                assert set(neighbour.required) <= offered, (row.major, neighbour.major)
        assert set(row.required) <= set(before.required) | set(after.required)


@pytest.mark.parametrize("row", list(LLVM_PROTOCOLS.values()), ids=lambda row: str(row.major))
def test_versions_every_row_is_recognised_from_its_own_setup(
    row: protocol.LLVMProtocol,
) -> None:
    """A Setup naming exactly a row's symbols is recognised as that row, except 15's, which
    is 14's (the same Setup: spoken to as 14, which speaks alike) and rows with identical
    symbol sets (inferred 17 and 18: the older is named; the EPC reads either lookup
    answer)."""
    recognised = recognise_llvm_protocol(_info(row.bootstrap_symbols), row.setup_layout)
    same = [
        other.major
        for other in LLVM_PROTOCOLS.values()
        if other.setup_layout is row.setup_layout
        and set(other.bootstrap_symbols) == set(row.bootstrap_symbols)
    ]
    assert recognised.major == min(same)
    assert recognised.major == row.major or row.major in (15, 18)


def test_versions_recognition_of_partial_and_insufficient_setups() -> None:
    """Only the required symbols (a minimal executor): the oldest row of the layout they
    satisfy; too few: the row missing the fewest, so that its check names what is missing."""
    assert (
        recognise_llvm_protocol(_info(LLVM_PROTOCOLS[14].required), SetupLayout.WITHOUT_MAP).major
        == 14
    )
    assert (
        recognise_llvm_protocol(_info(LLVM_PROTOCOLS[16].required), SetupLayout.WITHOUT_MAP).major
        == 16
    )
    assert (
        recognise_llvm_protocol(_info(LLVM_PROTOCOLS[22].required), SetupLayout.WITH_MAP).major
        == 22
    )
    missing_one = set(LLVM_PROTOCOLS[22].required) - {protocol.RUN_AS_MAIN.name}
    row = recognise_llvm_protocol(_info(missing_one), SetupLayout.WITH_MAP)
    assert row.major == 22
    assert [name for name in row.required if name not in missing_one] == [protocol.RUN_AS_MAIN.name]


def test_versions_signatures_follow_the_row() -> None:
    """The lookup answer and the GDB wrapper's arguments are the names whose bytes differ."""
    lookup, gdb = protocol.DYLIB_LOOKUP.name, protocol.REGISTER_JITLOADER_GDB_WRAPPER.name
    assert LLVM_PROTOCOLS[16].signatures[lookup] is protocol.DYLIB_LOOKUP
    assert LLVM_PROTOCOLS[19].signatures[lookup] is protocol.DYLIB_LOOKUP_SYMBOL_DEFS
    assert LLVM_PROTOCOLS[16].signatures[gdb] is protocol.REGISTER_JITLOADER_GDB_WRAPPER
    assert LLVM_PROTOCOLS[19].signatures[gdb] is protocol.REGISTER_JITLOADER_GDB_WRAPPER_AUTO
    assert all(name == sig.name for name, sig in LLVM_PROTOCOLS[19].signatures.items())


def test_versions_process_lookups_of_the_executors_own_functions() -> None:
    """14-16 look their eh-frame and GDB wrappers up in the process; 19 only the GDB one;
    22 none (everything is a bootstrap symbol)."""
    eh, gdb = (
        protocol.REGISTER_EHFRAME_SECTION_WRAPPER.name,
        protocol.REGISTER_JITLOADER_GDB_WRAPPER.name,
    )
    assert eh in LLVM_PROTOCOLS[16].process_lookup_symbols
    assert LLVM_PROTOCOLS[19].process_lookup_symbols == (gdb,)
    assert LLVM_PROTOCOLS[22].process_lookup_symbols == ()
