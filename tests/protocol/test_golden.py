"""Golden vectors: real LLVM 14-22 frames (golden_frames.txt) decode and re-encode identically.

Each frame is decoded with the signatures of its own version (`protocol.LLVMProtocol.signatures`):
the same wrapper name means different bytes in some versions (19's lookup answers symbol
definitions, 14's addresses).
"""

from __future__ import annotations

from functools import partial
from pathlib import Path
from typing import Any, NamedTuple

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from protocol import (
    BOOTSTRAP_SIGNATURES,
    LLVM_PROTOCOLS,
    MEMORY_FINALIZE,
    MEMORY_INITIALIZE,
    ORC_RUNTIME_SIGNATURES,
    REGISTER_EHFRAME_ALLOC_ACTION,
    DecodeError,
    ExecutorAddrRange,
    ExecutorInfo,
    FinalizeRequest,
    Frame,
    FrameDecoder,
    Opcode,
    SetupLayout,
    WrapperSignature,
    decode_setup,
    detect_setup_layout,
    encode_frame,
    encode_setup,
    recognise_llvm_protocol,
    setup_layout_for,
)
from tests.protocol.helpers import decode_error_of

DATA = Path(__file__).with_name("golden_frames.txt")


class Golden(NamedTuple):
    source: str
    llvm: int
    kind: str
    symbol: str
    header: bytes
    payload: bytes
    shown_prefix: bytes


def _load() -> list[Golden]:
    rows = []
    for line in DATA.read_text().splitlines():
        if not line or line.startswith("#"):
            continue
        fields = line.split()
        source, llvm, kind, symbol, header, payload = fields[:6]
        prefix = bytes.fromhex(fields[6]) if len(fields) > 6 else b""
        rows.append(
            Golden(
                source,
                int(llvm),
                kind,
                symbol,
                bytes.fromhex(header),
                b"" if payload == "-" else bytes.fromhex(payload),
                prefix,
            )
        )
    return rows


GOLDEN = _load()


def _signature(golden: Golden) -> WrapperSignature[Any]:
    """The signature of the golden frame's wrapper in its own LLVM version."""
    table = {**LLVM_PROTOCOLS[golden.llvm].signatures, **ORC_RUNTIME_SIGNATURES}
    return table[golden.symbol]


CALLS = [g for g in GOLDEN if g.kind in ("args", "result")]
SETUPS = {g.llvm: g for g in GOLDEN if g.kind == "setup"}


TESTED = [major for major, row in LLVM_PROTOCOLS.items() if not row.inferred]


def test_golden_table_covers_every_tested_version_and_all_kinds() -> None:
    """The data file holds Setup, calls and results of every version tested on real binaries."""
    kinds = {(g.llvm, g.kind) for g in GOLDEN}
    assert kinds == {(v, k) for v in TESTED for k in ("setup", "args", "result")}
    symbols = {g.symbol for g in CALLS}
    for needed in (
        "__llvm_orc_SimpleExecutorMemoryManager_finalize_wrapper",
        "__llvm_orc_SimpleExecutorMemoryManager_initialize_wrapper",
        "__llvm_orc_SimpleExecutorDylibManager_lookup_wrapper",
        "__llvm_orc_SimpleExecutorDylibManager_resolve_wrapper",
        "__llvm_orc_bootstrap_run_as_main_wrapper",
        "__orc_rt_elfnix_symbol_lookup_tag",
    ):
        assert needed in symbols


@pytest.mark.parametrize("golden", GOLDEN, ids=lambda g: f"{g.source}-{g.kind}")
def test_golden_frame_decodes_and_reencodes(golden: Golden) -> None:
    """Header + payload decode to one frame, whole and byte by byte, and re-encode identically."""
    wire = golden.header + golden.payload
    (frame,) = FrameDecoder().feed_frames(wire)
    assert frame.payload == golden.payload
    assert encode_frame(frame.opcode, frame.seq_no, frame.tag, frame.payload) == wire
    expected = {"setup": Opcode.SETUP, "args": Opcode.CALL_WRAPPER, "result": Opcode.RESULT}
    assert frame.opcode is expected[golden.kind]
    slow = FrameDecoder()
    got: list[Frame] = []
    for index in range(len(wire)):
        got.extend(slow.feed_frames(wire[index : index + 1]))
    assert got == [frame]


@pytest.mark.parametrize("golden", CALLS, ids=lambda g: f"{g.source}-{g.kind}")
def test_golden_payload_decodes_and_reencodes(golden: Golden) -> None:
    """Argument and result payloads decode with their signature and re-encode to the same bytes."""
    signature = _signature(golden)
    if golden.kind == "args":
        decode = signature.decode_args
        values = signature.decode_args(golden.payload)
        assert signature.encode_args(*values) == golden.payload
    else:
        decode = signature.decode_result
        value = signature.decode_result(golden.payload)
        assert signature.encode_result(value) == golden.payload
    # SPS is self-delimiting: every strict prefix is truncated, any extra byte is trailing.
    for cut in range(len(golden.payload)):
        with pytest.raises(DecodeError):
            decode(golden.payload[:cut])
    with pytest.raises(DecodeError, match="trailing") as info:
        decode(golden.payload + b"\x00")
    assert info.value.offset == len(golden.payload)


@pytest.mark.parametrize("llvm", TESTED)
def test_golden_setup_matches_trace(llvm: int) -> None:
    """The Setup payload matches the trace's shown prefix and MsgSize, round-trips, and names
    exactly the symbols of its version's row."""
    golden = SETUPS[llvm]
    assert golden.payload.startswith(golden.shown_prefix)
    assert len(golden.shown_prefix) == 256
    (frame,) = FrameDecoder().feed_frames(golden.header + golden.payload)
    layout = setup_layout_for(llvm)
    info = decode_setup(frame.payload, layout)
    assert detect_setup_layout(frame.payload) is layout
    assert info.triple == "x86_64-pc-linux-gnu"
    assert info.page_size == 4096
    assert dict(info.bootstrap_map) == {}
    assert sorted(info.bootstrap_symbols) == sorted(LLVM_PROTOCOLS[llvm].bootstrap_symbols)
    assert encode_setup(info, layout) == golden.payload


@pytest.mark.parametrize("llvm", TESTED)
def test_golden_setup_is_recognised_as_its_version(llvm: int) -> None:
    """A controller not told the version recognises it from the Setup alone; 15's Setup is
    14's (same names, same layout, and both speak alike), so it is spoken to as 14."""
    golden = SETUPS[llvm]
    layout = detect_setup_layout(golden.payload)
    row = recognise_llvm_protocol(decode_setup(golden.payload, layout), layout)
    assert row.major == (14 if llvm == 15 else llvm)
    assert LLVM_PROTOCOLS[llvm].signatures == row.signatures


@pytest.mark.parametrize("llvm", TESTED)
def test_golden_setup_layouts_are_incompatible(llvm: int) -> None:
    """Each version's Setup fails to decode in the other layout, as the real binaries do."""
    other = {
        SetupLayout.WITH_MAP: SetupLayout.WITHOUT_MAP,
        SetupLayout.WITHOUT_MAP: SetupLayout.WITH_MAP,
    }[setup_layout_for(llvm)]
    with pytest.raises(ValueError, match="SPS"):
        decode_setup(SETUPS[llvm].payload, other)


def _find(source: str, kind: str) -> Golden:
    (golden,) = [g for g in GOLDEN if g.source == source and g.kind == kind]
    return golden


def _setup_symbols(llvm: int) -> dict[str, int]:
    info: ExecutorInfo = decode_setup(SETUPS[llvm].payload, setup_layout_for(llvm))
    return dict(info.bootstrap_symbols)


def test_golden_llvm14_finalize_request_values() -> None:
    """LLVM 14 hello #18: three page-sized segments R, RW, RX and no actions."""
    instance, request = MEMORY_FINALIZE.decode_args(_find("llvm14-hello.txt#18", "args").payload)
    assert instance == _setup_symbols(14)["__llvm_orc_SimpleExecutorMemoryManager_Instance"]
    assert isinstance(request, FinalizeRequest)
    assert [s.prot for s in request.segments] == [0x01, 0x03, 0x05]
    assert [s.addr for s in request.segments] == [0x7FBF62E7E000, 0x7FBF62E7F000, 0x7FBF62E80000]
    assert [s.size for s in request.segments] == [4096] * 3
    assert [len(s.content) for s in request.segments] == [8, 68, 26]
    assert request.segments[1].content.startswith(b"Hello, world!\0")
    assert request.actions == ()


def test_golden_llvm22_initialize_with_ehframe_action() -> None:
    """LLVM 22 hello #10: two segments and one eh-frame register/deregister pair."""
    symbols = _setup_symbols(22)
    instance, request = MEMORY_INITIALIZE.decode_args(_find("llvm22-hello.txt#10", "args").payload)
    assert instance == symbols["__llvm_orc_SimpleExecutorMemoryManager_Instance"]
    assert [(s.prot, s.size, len(s.content)) for s in request.segments] == [
        (0x01, 4096, 80),
        (0x05, 4096, 26),
    ]
    (pair,) = request.actions
    assert pair.finalize.fn == symbols["llvm_orc_registerEHFrameAllocAction"]
    assert pair.dealloc.fn == symbols["llvm_orc_deregisterEHFrameAllocAction"]
    (eh_frame,) = REGISTER_EHFRAME_ALLOC_ACTION.decode_args(pair.finalize.args)
    assert eh_frame == ExecutorAddrRange(0x7F43C0081010, 0x7F43C0081044)
    assert eh_frame.size == 52
    result = MEMORY_INITIALIZE.decode_result(_find("llvm22-hello.txt#11", "result").payload)
    assert result == 0x7F43C0081000


def test_golden_lookup_and_resolve_results() -> None:
    """14 lookup answers addresses; 22 resolve answers (addr, 0x10, 0), addr 0 when missing."""
    lookup = BOOTSTRAP_SIGNATURES["__llvm_orc_SimpleExecutorDylibManager_lookup_wrapper"]
    handle, names = lookup.decode_args(_find("llvm14-hello.txt#6", "args").payload)[1:]
    assert handle == 1
    assert [(n.name, n.required) for n in names] == [
        ("llvm_orc_registerEHFrameSectionWrapper", True),
        ("llvm_orc_deregisterEHFrameSectionWrapper", True),
    ]
    assert lookup.decode_result(_find("llvm14-hello.txt#7", "result").payload) == (
        0x43C750,
        0x43C830,
    )
    resolve = BOOTSTRAP_SIGNATURES["__llvm_orc_SimpleExecutorDylibManager_resolve_wrapper"]
    (found,) = resolve.decode_result(_find("llvm22-hello.txt#9", "result").payload)
    assert (found.addr, found.flags, found.target_flags) == (0x7F43BE695980, 0x10, 0)
    results = [
        resolve.decode_result(g.payload)
        for g in GOLDEN
        if g.source.startswith("llvm22-undef") and g.symbol == resolve.name and g.kind == "result"
    ]
    assert any(d is not None and d.addr == 0 and d.flags == 0x10 for r in results for d in r)


def test_golden_run_as_main_and_program_wrapper() -> None:
    """run_as_main answers 42 as an i64; the ORC runtime's run_program carries the args."""
    run = BOOTSTRAP_SIGNATURES["__llvm_orc_bootstrap_run_as_main_wrapper"]
    assert run.decode_args(_find("llvm14-hello.txt#22", "args").payload) == (0x7FBF62E80000, ())
    assert run.decode_result(_find("llvm22-hello.txt#13", "result").payload) == 42
    program = ORC_RUNTIME_SIGNATURES["__orc_rt_run_program_wrapper"]
    assert program.decode_args(_find("llvm14-global_ctor-orcrt.txt#56", "args").payload) == (
        "main",
        "main",
        ("first", "second"),
    )


def test_golden_gdb_alloc_action_args() -> None:
    """LLVM 22 hello_debug #12, action 1: the 17 argument bytes (range + bool) the trace shows.

    The initialize payload itself is longer than the trace prints, but the decoded listing shows
    this action's ``args[17]`` whole.
    """
    args = bytes.fromhex("0020f882237f0000182cf882237f000001")
    signature = BOOTSTRAP_SIGNATURES["llvm_orc_registerJITLoaderGDBAllocAction"]
    debug_object, auto_register = signature.decode_args(args)
    assert debug_object == ExecutorAddrRange(0x7F2382F82000, 0x7F2382F82C18)
    assert debug_object.size == 3096
    assert auto_register is True
    assert signature.encode_args(debug_object, auto_register) == args


@settings(max_examples=300, deadline=None)
@given(st.sampled_from(CALLS), st.data())
def test_golden_mutations_raise_only_protocol_errors(golden: Golden, data: st.DataObject) -> None:
    """Real payloads with bytes overwritten or cut decode to values or DecodeErrors only."""
    payload = bytearray(golden.payload)
    for _ in range(data.draw(st.integers(1, 3))):
        if payload:
            payload[data.draw(st.integers(0, len(payload) - 1))] = data.draw(st.integers(0, 255))
    cut = data.draw(st.integers(0, len(payload)))
    wire = bytes(payload[:cut])
    signature = _signature(golden)
    decode = signature.decode_args if golden.kind == "args" else signature.decode_result
    error = decode_error_of(partial(decode, wire))
    assert error is None or 0 <= error.offset <= len(wire)


def test_golden_llvm19_lookup_answers_symbol_definitions() -> None:
    """19.1.7's lookup_wrapper answers (addr, flags 0x10, 0) per name, address 0 for a missing
    weak symbol (undef.o), where 14-16 answer bare addresses."""
    row = LLVM_PROTOCOLS[19]
    lookup = row.signatures["__llvm_orc_SimpleExecutorDylibManager_lookup_wrapper"]
    _, _, names = lookup.decode_args(_find("llvm19-hello.txt#10", "args").payload)
    assert [(n.name, n.required) for n in names] == [("puts", False)]
    (puts,) = lookup.decode_result(_find("llvm19-hello.txt#11", "result").payload)
    assert puts.addr != 0
    assert (puts.flags, puts.target_flags) == (0x10, 0)
    (missing,) = lookup.decode_result(_find("llvm19-undef.txt#11", "result").payload)
    assert (missing.addr, missing.flags) == (0, 0x10)
    old = LLVM_PROTOCOLS[16].signatures["__llvm_orc_SimpleExecutorDylibManager_lookup_wrapper"]
    (address,) = old.decode_result(_find("llvm16-hello.txt#15", "result").payload)
    assert address != 0
    with pytest.raises(DecodeError):
        old.decode_result(_find("llvm19-hello.txt#11", "result").payload)


def test_golden_llvm19_gdb_wrapper_takes_a_bool_and_eh_frame_calls_are_direct() -> None:
    """19.1.7 calls llvm_orc_registerJITLoaderGDBWrapper with 17 bytes (range, bool); its
    eh-frame registration is a direct call of the bootstrap symbol of the exported name."""
    gdb = LLVM_PROTOCOLS[19].signatures["llvm_orc_registerJITLoaderGDBWrapper"]
    debug_object, auto_register = gdb.decode_args(
        _find("llvm19-hello_debug.txt#20", "args").payload
    )
    assert debug_object.size > 0
    assert auto_register is True
    assert LLVM_PROTOCOLS[16].signatures[gdb.name].decode_args(bytes(16))
    register = LLVM_PROTOCOLS[19].signatures["llvm_orc_registerEHFrameSectionWrapper"]
    (eh_frame,) = register.decode_args(_find("llvm19-hello.txt#14", "args").payload)
    assert eh_frame.size == 52  # CIE 24 + FDE 24 + terminator 4, as in 14 and 22


@pytest.mark.parametrize(
    ("source", "prots"),
    [("llvm15-hello.txt#16", [0x01, 0x03, 0x05]), ("llvm19-hello.txt#12", [0x01, 0x05])],
)
def test_golden_finalize_requests_of_newer_versions(source: str, prots: list[int]) -> None:
    """15 and 19 send finalize requests as 14 does (page-sized segments, no actions); 19 has
    the eh-frame in the read-only segment, as 22 has."""
    golden = _find(source, "args")
    instance, request = _signature(golden).decode_args(golden.payload)
    assert (
        instance == _setup_symbols(golden.llvm)["__llvm_orc_SimpleExecutorMemoryManager_Instance"]
    )
    assert [s.prot for s in request.segments] == prots
    assert all(s.size == 4096 for s in request.segments)
    assert request.actions == ()
