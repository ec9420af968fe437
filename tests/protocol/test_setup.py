"""Setup payloads: both layouts, both directions, limits, and malformed input."""

from __future__ import annotations

import struct
from functools import partial

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from protocol import (
    DecodeError,
    EncodeError,
    ExecutorInfo,
    SetupLayout,
    decode_setup,
    detect_setup_layout,
    encode_setup,
    setup_layout_for,
)
from tests.protocol.helpers import decode_error_of

U64 = struct.Struct("<Q")


def _s(text: str) -> bytes:
    return U64.pack(len(text)) + text.encode()


INFO = ExecutorInfo(
    triple="x86_64-pc-linux-gnu",
    page_size=4096,
    bootstrap_symbols={"b_sym": 0x20, "a_sym": 0x10},
)
WIRE_14 = (
    _s("x86_64-pc-linux-gnu")
    + U64.pack(4096)
    + U64.pack(2)
    + _s("b_sym")
    + U64.pack(0x20)
    + _s("a_sym")
    + U64.pack(0x10)
)
WIRE_22 = (
    _s("x86_64-pc-linux-gnu")
    + U64.pack(4096)
    + U64.pack(0)
    + U64.pack(2)
    + _s("b_sym")
    + U64.pack(0x20)
    + _s("a_sym")
    + U64.pack(0x10)
)


@pytest.mark.parametrize(
    ("layout", "wire"), [(SetupLayout.WITHOUT_MAP, WIRE_14), (SetupLayout.WITH_MAP, WIRE_22)]
)
def test_setup_layouts_golden(layout: SetupLayout, wire: bytes) -> None:
    """Both layouts encode symbols in mapping order and decode back to an equal info."""
    assert encode_setup(INFO, layout) == wire
    decoded = decode_setup(wire, layout)
    assert decoded == INFO
    assert list(decoded.bootstrap_symbols) == ["b_sym", "a_sym"]


@pytest.mark.parametrize(
    ("layout", "wire"), [(SetupLayout.WITHOUT_MAP, WIRE_14), (SetupLayout.WITH_MAP, WIRE_22)]
)
def test_setup_decode_truncated_and_trailing(layout: SetupLayout, wire: bytes) -> None:
    """Every prefix is a DecodeError; a trailing byte is rejected at its offset."""
    for cut in range(len(wire)):
        with pytest.raises(DecodeError):
            decode_setup(wire[:cut], layout)
    with pytest.raises(DecodeError, match="trailing") as info:
        decode_setup(wire + b"\x00", layout)
    assert info.value.offset == len(wire)


def test_setup_bootstrap_map_only_in_22_layout() -> None:
    """The 22 layout carries map values; the 14 layout refuses a non-empty map."""
    info = ExecutorInfo(triple="t", page_size=1, bootstrap_map={"k": b"\x01\x02"})
    wire = encode_setup(info, SetupLayout.WITH_MAP)
    assert wire == _s("t") + U64.pack(1) + U64.pack(1) + _s("k") + U64.pack(2) + b"\x01\x02" + (
        U64.pack(0)
    )
    assert decode_setup(wire, SetupLayout.WITH_MAP) == info
    with pytest.raises(EncodeError, match="no bootstrap map, but 1 entries"):
        encode_setup(info, SetupLayout.WITHOUT_MAP)


def test_setup_duplicate_symbol_is_decode_error() -> None:
    """A name advertised twice is rejected, as LLVM's StringMap decoding does."""
    wire = _s("t") + U64.pack(1) + U64.pack(2) + (_s("x") + U64.pack(1)) * 2
    with pytest.raises(DecodeError, match="duplicate key 'x'") as info:
        decode_setup(wire, SetupLayout.WITHOUT_MAP)
    assert info.value.offset == len(_s("t")) + 16 + len(_s("x")) + 8


def test_setup_encode_rejects_bad_values() -> None:
    """Out-of-range page sizes and addresses cannot be sent."""
    with pytest.raises(EncodeError, match="uint64"):
        encode_setup(ExecutorInfo(triple="t", page_size=-1), SetupLayout.WITH_MAP)
    bad = ExecutorInfo(triple="t", page_size=1, bootstrap_symbols={"x": 2**64})
    with pytest.raises(EncodeError, match="entry 'x'"):
        encode_setup(bad, SetupLayout.WITHOUT_MAP)


def test_executor_info_is_a_read_only_copy() -> None:
    """The info copies the caller's mappings and exposes read-only views."""
    symbols = {"a": 1}
    info = ExecutorInfo(triple="t", page_size=1, bootstrap_symbols=symbols)
    symbols["b"] = 2
    assert dict(info.bootstrap_symbols) == {"a": 1}
    with pytest.raises(TypeError):
        info.bootstrap_symbols["c"] = 3  # type: ignore[index]  # on purpose: read-only


@pytest.mark.parametrize(
    ("major", "layout"),
    [
        (14, SetupLayout.WITHOUT_MAP),
        (15, SetupLayout.WITHOUT_MAP),
        (16, SetupLayout.WITHOUT_MAP),
        (19, SetupLayout.WITH_MAP),
        (22, SetupLayout.WITH_MAP),
    ],
)
def test_setup_layout_for_known_majors(major: int, layout: SetupLayout) -> None:
    """Up to 16 there is no bootstrap map; 19 and 22 have one (their real Setups)."""
    assert setup_layout_for(major) is layout


@pytest.mark.parametrize("major", [13, 23, 0, -1])
def test_setup_layout_for_unknown_majors(major: int) -> None:
    """Majors outside the table are refused rather than guessed; the message lists the rest."""
    with pytest.raises(ValueError, match=rf"LLVM {major} is not supported.*14-22"):
        setup_layout_for(major)


_NAMES = st.text(max_size=12)


@settings(max_examples=100, deadline=None)
@given(
    st.builds(
        ExecutorInfo,
        triple=st.text(max_size=30),
        page_size=st.integers(0, 2**64 - 1),
        bootstrap_map=st.dictionaries(_NAMES, st.binary(max_size=16), max_size=4),
        bootstrap_symbols=st.dictionaries(_NAMES, st.integers(0, 2**64 - 1), max_size=6),
    ),
)
def test_setup_round_trip(info: ExecutorInfo) -> None:
    """Any info round-trips in the 22 layout, and in the 14 layout without a map."""
    assert decode_setup(encode_setup(info, SetupLayout.WITH_MAP), SetupLayout.WITH_MAP) == info
    without = ExecutorInfo(
        triple=info.triple, page_size=info.page_size, bootstrap_symbols=info.bootstrap_symbols
    )
    wire = encode_setup(without, SetupLayout.WITHOUT_MAP)
    assert decode_setup(wire, SetupLayout.WITHOUT_MAP) == without


@settings(max_examples=200, deadline=None)
@given(st.binary(max_size=120), st.sampled_from(list(SetupLayout)))
def test_setup_decode_fuzz_only_protocol_errors(wire: bytes, layout: SetupLayout) -> None:
    """Random payloads give an info or a DecodeError with an offset inside the input."""
    error = decode_error_of(partial(decode_setup, wire, layout))
    assert error is None or 0 <= error.offset <= len(wire)


@pytest.mark.parametrize(
    ("layout", "wire"), [(SetupLayout.WITHOUT_MAP, WIRE_14), (SetupLayout.WITH_MAP, WIRE_22)]
)
def test_setup_detect_layout_of_each_golden(layout: SetupLayout, wire: bytes) -> None:
    """The payload itself tells the layout: each golden fits exactly its own."""
    assert detect_setup_layout(wire) is layout
    assert detect_setup_layout(memoryview(wire)) is layout


def test_setup_detect_layout_of_garbage_names_both_reasons() -> None:
    """A payload that fits neither layout is a DecodeError naming both attempts."""
    with pytest.raises(DecodeError, match=r"neither layout: LLVM 14-16's.*LLVM 17\+'s"):
        detect_setup_layout(WIRE_22 + b"\x01")


def test_setup_detect_layout_refuses_to_guess_an_ambiguous_payload() -> None:
    """A contrived payload that decodes both ways is refused rather than guessed."""
    # 14: symbols {"a": 8, "\\0" * 16: 0}; 22: map {"a": <8 bytes>, "": b""} and no symbols.
    wire = _s("t") + U64.pack(1) + U64.pack(2) + _s("a") + U64.pack(8)
    wire += U64.pack(16) + bytes(16) + U64.pack(0)
    assert decode_setup(wire, SetupLayout.WITHOUT_MAP).bootstrap_symbols["a"] == 8
    assert decode_setup(wire, SetupLayout.WITH_MAP).bootstrap_symbols == {}
    with pytest.raises(DecodeError, match="both layouts"):
        detect_setup_layout(wire)


@settings(max_examples=100, deadline=None)
@given(
    triple=st.text(max_size=30),
    symbols=st.dictionaries(_NAMES, st.integers(1 << 32, 2**64 - 1), max_size=6),
    layout=st.sampled_from(list(SetupLayout)),
)
def test_setup_detect_layout_with_real_addresses(
    triple: str, symbols: dict[str, int], layout: SetupLayout
) -> None:
    """With addresses as executors send them (far above any payload size), detection always
    gives the layout the payload was encoded in."""
    info = ExecutorInfo(triple=triple, page_size=4096, bootstrap_symbols=symbols)
    assert detect_setup_layout(encode_setup(info, layout)) is layout
