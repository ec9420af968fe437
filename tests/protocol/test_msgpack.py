"""msgpack wrappers: envelopes, errors as values, limits, and malformed payloads."""

from __future__ import annotations

from functools import partial

import msgpack  # type: ignore[import-untyped]  # msgpack ships no type hints
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from protocol import (
    DecodeError,
    EncodeError,
    Failure,
    LimitExceededError,
    MsgpackSignature,
    MsgpackWrapper,
    msgpack_wrapper,
)
from tests.protocol.helpers import decode_error_of


@msgpack_wrapper
def add(a: int, b: int) -> int:
    """Add two numbers; the test wrapper."""
    return a + b


@msgpack_wrapper
def divide(a: int, b: int) -> float:
    """Divide; fails for b == 0."""
    return a / b


def test_msgpack_call_and_result_layout() -> None:
    """Arguments are one array; results are [0, value] or [1, message]."""
    signature: MsgpackSignature[int] = add.signature
    assert signature.encode_call(1, "a") == bytes.fromhex("9201a161")
    assert signature.encode_value(3) == bytes.fromhex("920003")
    assert signature.encode_failure("no") == bytes.fromhex("9201a26e6f")
    assert signature.decode_result(bytes.fromhex("920003")) == 3
    assert signature.decode_result(bytes.fromhex("9201a26e6f")) == Failure("no")


def test_msgpack_wrapper_runs_the_function() -> None:
    """A wrapper is bytes -> bytes: decode args, call, encode the value."""
    result = add(add.signature.encode_call(2, 3))
    assert add.signature.decode_result(result) == 5
    assert add.fn(1, 1) == 2
    assert "add" in repr(add)


def test_msgpack_wrapper_exceptions_become_failures() -> None:
    """An exception inside the function comes back as '<ExcType>: <message>'."""
    result = divide(divide.signature.encode_call(1, 0))
    assert divide.signature.decode_result(result) == Failure("ZeroDivisionError: division by zero")
    wrong_arity = add(add.signature.encode_call(1))
    outcome = add.signature.decode_result(wrong_arity)
    assert isinstance(outcome, Failure)
    assert outcome.message.startswith("TypeError: ")


def test_msgpack_wrapper_bad_input_and_bad_result_become_failures() -> None:
    """Undecodable arguments and unencodable results are failures too, never exceptions."""
    outcome = add.signature.decode_result(add(b"\xc1"))
    assert isinstance(outcome, Failure)
    assert outcome.message.startswith("DecodeError: ")
    wrapper = msgpack_wrapper(lambda: object())
    unencodable = wrapper.signature.decode_result(wrapper(wrapper.signature.encode_call()))
    assert isinstance(unencodable, Failure)
    assert unencodable.message.startswith("EncodeError: ")


def test_msgpack_async_pieces_step_by_step() -> None:
    """The actors layer can decode, await elsewhere, then encode the outcome."""
    signature: MsgpackSignature[list[str]] = MsgpackSignature("names", arity=2)
    args = signature.decode_args(signature.encode_call("a", b"\x00"))
    assert args == ("a", b"\x00")
    assert signature.decode_result(signature.encode_value(["x"])) == ["x"]
    with pytest.raises(DecodeError, match="expected 2 msgpack arguments, got 1"):
        signature.decode_args(signature.encode_call("a"))


@pytest.mark.parametrize(
    ("wire", "fragment", "offset"),
    [
        (b"", "malformed msgpack arguments", 0),
        (b"\xc1", "malformed msgpack arguments", 0),
        (b"\x92\x01", "malformed msgpack arguments", 0),
        (b"\x05", "must be an array, got int", 0),
        (b"\x90\x00\x00", "2 trailing bytes after the msgpack arguments", 1),
        (b"\x91\xa1\xff", "malformed msgpack arguments", 0),
        (b"\x91\x81\x01\x02", "malformed msgpack arguments", 0),
    ],
)
def test_msgpack_decode_args_malformed(wire: bytes, fragment: str, offset: int) -> None:
    """Malformed argument payloads raise DecodeError naming the problem."""
    with pytest.raises(DecodeError) as info:
        add.signature.decode_args(wire)
    assert fragment in str(info.value)
    assert info.value.offset == offset


@pytest.mark.parametrize(
    ("wire", "fragment"),
    [
        (b"\x91\x00", "must be a 2-element array"),
        (b"\x00", "must be a 2-element array"),
        (b"\x92\x02\x00", "unknown msgpack result kind 2"),
        (b"\x92\xc3\x00", "unknown msgpack result kind True"),
        (b"\x92\x01\x05", "failure message must be a str"),
    ],
)
def test_msgpack_decode_result_malformed(wire: bytes, fragment: str) -> None:
    """Result envelopes other than [0, value] / [1, str] are DecodeErrors."""
    with pytest.raises(DecodeError, match=fragment):
        add.signature.decode_result(wire)


def test_msgpack_every_prefix_is_a_decode_error() -> None:
    """Fed short, both decoders report DecodeError for every strict prefix."""
    signature: MsgpackSignature[object] = MsgpackSignature("p")
    call = signature.encode_call(1, "two", [3.5, b"4"], {"five": None})
    result = signature.encode_value({"k": [1, 2]})
    for cut in range(len(call)):
        with pytest.raises(DecodeError):
            signature.decode_args(call[:cut])
    for cut in range(len(result)):
        with pytest.raises(DecodeError):
            signature.decode_result(result[:cut])


def test_msgpack_payload_limit_at_n_and_n_plus_one() -> None:
    """A payload of exactly the cap decodes; one byte more is LimitExceededError."""
    signature: MsgpackSignature[object] = MsgpackSignature("small", max_payload_size=6)
    wire = signature.encode_call("abcd")
    assert len(wire) == 6
    assert signature.decode_args(wire) == ("abcd",)
    longer = signature.encode_call("abcde")
    with pytest.raises(LimitExceededError) as info:
        signature.decode_args(longer)
    assert info.value.limit == 6


def test_msgpack_container_limit_at_n_and_n_plus_one() -> None:
    """An array of exactly the cap decodes; one more element is a DecodeError."""
    signature: MsgpackSignature[object] = MsgpackSignature("arr", max_container_len=3)
    assert signature.decode_args(signature.encode_call(1, 2, 3)) == (1, 2, 3)
    with pytest.raises(DecodeError, match="exceeds max_array_len"):
        signature.decode_args(signature.encode_call(1, 2, 3, 4))


def test_msgpack_encode_errors() -> None:
    """Values msgpack cannot represent raise EncodeError."""
    with pytest.raises(EncodeError, match="cannot encode arguments as msgpack"):
        add.signature.encode_call(object())
    with pytest.raises(EncodeError, match="cannot encode result"):
        add.signature.encode_value(2**64)
    with pytest.raises(EncodeError, match="failure message must be a str"):
        add.signature.encode_failure(5)  # type: ignore[arg-type]  # on purpose


def test_msgpack_signature_rejects_negative_settings() -> None:
    """Negative limits or arity are programming errors."""
    with pytest.raises(ValueError, match="arity"):
        MsgpackSignature("x", arity=-1)
    with pytest.raises(ValueError, match="limits"):
        MsgpackSignature("x", max_payload_size=-1)


def test_msgpack_wrapper_custom_signature() -> None:
    """A wrapper can be built with explicit limits and arity."""
    wrapper = MsgpackWrapper(lambda x: x * 2, MsgpackSignature("double", arity=1))
    assert wrapper.signature.decode_result(wrapper(wrapper.signature.encode_call(4))) == 8


_VALUES = st.recursive(
    st.none()
    | st.booleans()
    | st.integers(-(2**63), 2**64 - 1)
    | st.text(max_size=10)
    | st.binary(max_size=10),
    lambda children: (
        st.lists(children, max_size=3) | st.dictionaries(st.text(max_size=5), children, max_size=3)
    ),
    max_leaves=8,
)


@settings(max_examples=100, deadline=None)
@given(st.lists(_VALUES, max_size=4))
def test_msgpack_round_trip(values: list[object]) -> None:
    """Any msgpack-able arguments and results round-trip."""
    signature: MsgpackSignature[object] = MsgpackSignature("echo")
    assert signature.decode_args(signature.encode_call(*values)) == tuple(values)
    assert signature.decode_result(signature.encode_value(values)) == values


@settings(max_examples=200, deadline=None)
@given(st.binary(max_size=60))
def test_msgpack_fuzz_only_protocol_errors(wire: bytes) -> None:
    """Random payloads give values or DecodeErrors, and wrappers always answer bytes."""
    signature: MsgpackSignature[object] = MsgpackSignature("fuzz", max_container_len=8)
    for decode in (signature.decode_args, signature.decode_result):
        error = decode_error_of(partial(decode, wire))
        assert error is None or 0 <= error.offset <= len(wire)
    assert msgpack.unpackb(add(wire))[0] in (0, 1)
