"""Bootstrap records: byte layouts, conversions, and round-trips through their SPS types."""

from __future__ import annotations

import struct

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from protocol import (
    NULL_WRAPPER_CALL,
    SYMBOL_FLAG_EXPORTED,
    AllocActionCallPair,
    DecodeError,
    EncodeError,
    ExecutorSymbolDef,
    FinalizeRequest,
    MemProt,
    SegmentFinalizeRequest,
    SharedMemoryFinalizeRequest,
    SharedMemorySegmentFinalizeRequest,
    SPSAllocActionCallPair,
    SPSExecutorSymbolDef,
    SPSFinalizeRequest,
    SPSLookupSet,
    SPSSharedMemoryFinalizeRequest,
    SPSSymbolLookup,
    SPSWrapperFunctionCall,
    SymbolLookup,
    WrapperFunctionCall,
)

U64 = struct.Struct("<Q")


def test_wrapper_function_call_layout() -> None:
    """A call is the function address, then the argument bytes as a sequence."""
    call = WrapperFunctionCall(0x1234, b"\x01\x02")
    assert SPSWrapperFunctionCall.encode(call) == U64.pack(0x1234) + U64.pack(2) + b"\x01\x02"
    assert not call.is_null
    assert NULL_WRAPPER_CALL.is_null
    assert SPSWrapperFunctionCall.encode(NULL_WRAPPER_CALL) == bytes(16)


def test_alloc_action_pair_layout() -> None:
    """A pair is the finalize call then the dealloc call; a missing dealloc is the null call."""
    pair = AllocActionCallPair(WrapperFunctionCall(1, b"a"), NULL_WRAPPER_CALL)
    wire = U64.pack(1) + U64.pack(1) + b"a" + bytes(16)
    assert SPSAllocActionCallPair.encode(pair) == wire
    assert SPSAllocActionCallPair.decode(wire) == pair


def test_finalize_request_layout_and_list_conversion() -> None:
    """Segments (prot, addr, size, content) then actions; lists become tuples."""
    segment = SegmentFinalizeRequest(MemProt.READ | MemProt.EXEC, 0x1000, 4096, b"\xc3")
    request = FinalizeRequest([segment], [])
    assert request.segments == (segment,)
    wire = (
        U64.pack(1) + b"\x05" + U64.pack(0x1000) + U64.pack(4096) + U64.pack(1) + b"\xc3"
    ) + U64.pack(0)
    assert SPSFinalizeRequest.encode(request) == wire
    decoded = SPSFinalizeRequest.decode(wire)
    assert decoded == request
    assert MemProt(decoded.segments[0].prot) == MemProt.READ | MemProt.EXEC


def test_segment_prot_byte_kept_as_is() -> None:
    """Unknown protection bits are passed through; the byte range is still enforced."""
    wire = U64.pack(1) + b"\xff" + bytes(24) + U64.pack(0)
    assert SPSFinalizeRequest.decode(wire).segments[0].prot == 0xFF
    with pytest.raises(EncodeError, match="field prot of SegmentFinalizeRequest"):
        SPSFinalizeRequest.encode(FinalizeRequest([SegmentFinalizeRequest(256, 0, 0, b"")], []))


def test_finalize_request_decode_error_names_path() -> None:
    """A truncated segment content names the segment, the field and the offset."""
    wire = U64.pack(1) + b"\x01" + bytes(16) + U64.pack(10) + b"abc"
    with pytest.raises(DecodeError) as info:
        SPSFinalizeRequest.decode(wire)
    assert "field segments of FinalizeRequest" in str(info.value)
    assert "element 0 of Sequence(SegmentFinalizeRequest)" in str(info.value)
    assert "field content of SegmentFinalizeRequest" in str(info.value)
    assert info.value.offset == 25


def test_shared_memory_request_layout() -> None:
    """Shared-memory segments carry no content."""
    request = SharedMemoryFinalizeRequest([SharedMemorySegmentFinalizeRequest(3, 0x10, 0x20)], [])
    wire = U64.pack(1) + b"\x03" + U64.pack(0x10) + U64.pack(0x20) + U64.pack(0)
    assert SPSSharedMemoryFinalizeRequest.encode(request) == wire
    assert SPSSharedMemoryFinalizeRequest.decode(wire) == request


def test_symbol_lookup_layout() -> None:
    """A lookup element is the name then the Required bool (01 = required)."""
    wire = U64.pack(4) + b"puts\x00"
    assert SPSSymbolLookup.decode(wire) == SymbolLookup("puts", required=False)
    assert SPSLookupSet.encode([SymbolLookup("a", True)]) == U64.pack(1) + U64.pack(1) + b"a\x01"


def test_executor_symbol_def_layout() -> None:
    """LLVM 22's symbol definition is addr, flags byte, target-flags byte; Exported by default."""
    definition = ExecutorSymbolDef(0x7F43BE695980)
    assert definition.flags == SYMBOL_FLAG_EXPORTED == 0x10
    wire = bytes.fromhex("805969be437f00001000")
    assert SPSExecutorSymbolDef.encode(definition) == wire
    assert SPSExecutorSymbolDef.decode(wire) == definition


_CALLS = st.builds(WrapperFunctionCall, st.integers(0, 2**64 - 1), st.binary(max_size=24))
_PAIRS = st.builds(AllocActionCallPair, _CALLS, _CALLS)
_SEGMENTS = st.builds(
    SegmentFinalizeRequest,
    st.integers(0, 255),
    st.integers(0, 2**64 - 1),
    st.integers(0, 2**64 - 1),
    st.binary(max_size=40),
)


@settings(max_examples=100, deadline=None)
@given(st.lists(_SEGMENTS, max_size=4), st.lists(_PAIRS, max_size=3))
def test_finalize_request_round_trip(
    segments: list[SegmentFinalizeRequest], actions: list[AllocActionCallPair]
) -> None:
    """Any finalize request survives encode/decode unchanged."""
    request = FinalizeRequest(segments, actions)
    assert SPSFinalizeRequest.decode(SPSFinalizeRequest.encode(request)) == request


@settings(max_examples=100, deadline=None)
@given(
    st.builds(
        ExecutorSymbolDef,
        st.integers(0, 2**64 - 1),
        st.integers(0, 255),
        st.integers(0, 255),
    ),
    st.builds(SymbolLookup, st.text(max_size=12), st.booleans()),
)
def test_symbol_records_round_trip(definition: ExecutorSymbolDef, lookup: SymbolLookup) -> None:
    """Symbol definitions and lookup elements survive encode/decode unchanged."""
    assert SPSExecutorSymbolDef.decode(SPSExecutorSymbolDef.encode(definition)) == definition
    assert SPSSymbolLookup.decode(SPSSymbolLookup.encode(lookup)) == lookup
