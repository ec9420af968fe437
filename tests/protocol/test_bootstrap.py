"""Bootstrap and ORC-runtime signature tables: names, coverage, and fuzzing every decoder."""

from __future__ import annotations

from functools import partial
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from protocol import (
    BOOTSTRAP_SIGNATURES,
    DISPATCH_CTX_SYMBOL,
    DISPATCH_FN_SYMBOL,
    DYLIB_MANAGER_INSTANCE_SYMBOL,
    LLVM_PROTOCOLS,
    MEMORY_MANAGER_INSTANCE_SYMBOL,
    ORC_RUNTIME_SIGNATURES,
    SHARED_MEMORY_MAPPER_INSTANCE_SYMBOL,
    WrapperSignature,
)
from tests.protocol.helpers import decode_error_of

DATA_SYMBOLS = {
    DISPATCH_CTX_SYMBOL,
    DISPATCH_FN_SYMBOL,
    MEMORY_MANAGER_INSTANCE_SYMBOL,
    DYLIB_MANAGER_INSTANCE_SYMBOL,
    SHARED_MEMORY_MAPPER_INSTANCE_SYMBOL,
}
ALL_SIGNATURES: dict[str, WrapperSignature[Any]] = {
    **BOOTSTRAP_SIGNATURES,
    **ORC_RUNTIME_SIGNATURES,
}


def test_bootstrap_symbol_lists_match_the_real_executors() -> None:
    """14 advertises 17 distinct names and 22 advertises 34 (simple-remote-epc.md §4.1); every
    row advertises what its controller requires."""
    llvm14, llvm22 = LLVM_PROTOCOLS[14].bootstrap_symbols, LLVM_PROTOCOLS[22].bootstrap_symbols
    assert len(llvm14) == len(set(llvm14)) == 17
    assert len(llvm22) == len(set(llvm22)) == 34
    for row in LLVM_PROTOCOLS.values():
        assert len(set(row.bootstrap_symbols)) == len(row.bootstrap_symbols)
        assert set(row.required) | set(row.session_required) <= set(row.bootstrap_symbols)
    assert "__llvm_orc_SimpleExecutorMemoryManager_finalize_wrapper" in llvm14
    assert "__llvm_orc_SimpleExecutorMemoryManager_finalize_wrapper" not in llvm22


@pytest.mark.parametrize("major", list(LLVM_PROTOCOLS))
def test_bootstrap_every_advertised_function_has_a_signature(major: int) -> None:
    """Every advertised name is either a data symbol or a wrapper with a known signature."""
    names = LLVM_PROTOCOLS[major].bootstrap_symbols
    assert [n for n in names if n not in DATA_SYMBOLS and n not in BOOTSTRAP_SIGNATURES] == []


def test_bootstrap_signature_names_are_their_keys() -> None:
    """Each table maps a symbol name to the signature carrying that name."""
    assert all(name == sig.name for name, sig in ALL_SIGNATURES.items())
    assert len(ALL_SIGNATURES) == len(BOOTSTRAP_SIGNATURES) + len(ORC_RUNTIME_SIGNATURES)


def test_bootstrap_tables_are_read_only() -> None:
    """Nobody can add to or replace entries of the shared tables."""
    with pytest.raises(TypeError):
        BOOTSTRAP_SIGNATURES["x"] = ORC_RUNTIME_SIGNATURES["__orc_rt_run_program_wrapper"]  # type: ignore[index]  # on purpose


SIGNATURE_NAMES = sorted(ALL_SIGNATURES)


@pytest.mark.parametrize("name", SIGNATURE_NAMES)
@settings(max_examples=40, deadline=None)
@given(wire=st.binary(max_size=96))
def test_bootstrap_decoders_fuzz_only_protocol_errors(name: str, wire: bytes) -> None:
    """Random bytes fed to any signature's argument and result decoders give values or
    DecodeErrors with offsets inside the input: no other exception, no hang."""
    signature = ALL_SIGNATURES[name]
    for decode in (signature.decode_args, signature.decode_result):
        error = decode_error_of(partial(decode, wire))
        assert error is None or 0 <= error.offset <= len(wire)
