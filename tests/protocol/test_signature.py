"""WrapperSignature: argument lists and results, fast and general paths, error naming."""

from __future__ import annotations

import struct

import pytest

from protocol import (
    Addr,
    Bool,
    DecodeError,
    Empty,
    EncodeError,
    Error,
    Expected,
    Failure,
    Int64,
    LimitExceededError,
    Sequence,
    String,
    UInt8,
    UInt64,
    WrapperSignature,
)

U64 = struct.Struct("<Q")
RESERVE = WrapperSignature(Expected(Addr), Addr, UInt64, name="reserve")
MIXED = WrapperSignature(Error, Addr, UInt8, String, Bool, UInt64, name="mixed")


def test_signature_fixed_args_round_trip() -> None:
    """Integer-only argument lists pack into exactly their bytes (16 for reserve)."""
    wire = RESERVE.encode_args(0x3DB5B760, 12288)
    assert wire == U64.pack(0x3DB5B760) + U64.pack(12288)
    assert RESERVE.decode_args(wire) == (0x3DB5B760, 12288)
    assert RESERVE.decode_args(bytearray(wire)) == (0x3DB5B760, 12288)
    assert RESERVE.decode_args(memoryview(wire)) == (0x3DB5B760, 12288)


def test_signature_mixed_args_round_trip() -> None:
    """Runs of integers around variable-size fields encode and decode in order."""
    values = (1, 2, "name", True, 2**64 - 1)
    wire = MIXED.encode_args(*values)
    assert wire == U64.pack(1) + b"\x02" + U64.pack(4) + b"name" + b"\x01" + b"\xff" * 8
    assert MIXED.decode_args(wire) == values


def test_signature_no_args() -> None:
    """A wrapper without arguments takes an empty payload and nothing else."""
    signature = WrapperSignature(Empty)
    assert signature.encode_args() == b""
    assert signature.decode_args(b"") == ()
    with pytest.raises(DecodeError, match="1 trailing bytes after SPS arguments of wrapper"):
        signature.decode_args(b"\x00")


def test_signature_results() -> None:
    """Results encode as exactly one value; failures are values too."""
    assert RESERVE.encode_result(0x1000) == b"\x01" + U64.pack(0x1000)
    assert RESERVE.decode_result(b"\x01" + U64.pack(0x1000)) == 0x1000
    failure = b"\x00" + U64.pack(8) + b"no space"
    assert RESERVE.encode_result(Failure("no space")) == failure
    assert RESERVE.decode_result(failure) == Failure("no space")
    assert WrapperSignature(Empty, Addr).encode_result(None) == b""
    assert WrapperSignature(Empty, Addr).decode_result(b"") is None


def test_signature_arity_mismatch_is_type_error() -> None:
    """Calling encode_args with the wrong number of values is a programming error."""
    with pytest.raises(TypeError, match="reserve takes 2 arguments, 1 were given"):
        RESERVE.encode_args(1)


@pytest.mark.parametrize(
    ("values", "fragment"),
    [
        ((2**64, 1), "argument 0 (addr) of reserve: cannot encode 18446744073709551616"),
        ((1, -1), "argument 1 (uint64) of reserve"),
        ((1, "x"), "argument 1 (uint64) of reserve"),
    ],
)
def test_signature_encode_error_names_argument(values: tuple[object, ...], fragment: str) -> None:
    """The fast path falls back to naming the argument that cannot be encoded."""
    with pytest.raises(EncodeError) as info:
        RESERVE.encode_args(*values)
    assert fragment in str(info.value)


def test_signature_encode_error_in_variable_field() -> None:
    """Variable-size fields are named too."""
    with pytest.raises(EncodeError, match=r"argument 2 \(String\) of mixed"):
        MIXED.encode_args(1, 2, 3, True, 4)
    with pytest.raises(EncodeError, match=r"argument 3 \(bool\) of mixed"):
        MIXED.encode_args(1, 2, "x", 1, 4)
    with pytest.raises(EncodeError, match="result of reserve"):
        RESERVE.encode_result("nope")  # type: ignore[arg-type]  # on purpose


@pytest.mark.parametrize(
    ("wire", "offset", "fragment"),
    [
        (b"", 0, "argument 0 (addr) of reserve..argument 1 (uint64) of reserve"),
        (U64.pack(1), 0, "needs 16 bytes, only 8 remain"),
        (U64.pack(1) * 2 + b"\x00", 16, "1 trailing bytes after SPS arguments of reserve"),
    ],
)
def test_signature_fixed_decode_errors(wire: bytes, offset: int, fragment: str) -> None:
    """Short or long payloads fail with the offset and the arguments concerned."""
    with pytest.raises(DecodeError) as info:
        RESERVE.decode_args(wire)
    assert info.value.offset == offset
    assert fragment in str(info.value)


def test_signature_variable_decode_errors_name_argument() -> None:
    """A bad variable-size argument is named with its index and type."""
    wire = U64.pack(1) + b"\x02" + U64.pack(10) + b"abc"
    with pytest.raises(DecodeError, match=r"argument 2 \(String\) of mixed") as info:
        MIXED.decode_args(wire)
    assert info.value.offset == 9
    bad_bool = U64.pack(1) + b"\x02" + U64.pack(0) + b"\x03"
    with pytest.raises(DecodeError, match=r"argument 3 \(bool\) of mixed"):
        MIXED.decode_args(bad_bool)


def test_signature_decode_result_errors() -> None:
    """An empty payload for a value result is reported as LLVM's lost out-of-band error."""
    with pytest.raises(DecodeError, match="empty payload") as info:
        RESERVE.decode_result(b"")
    assert info.value.offset == 0
    with pytest.raises(DecodeError, match="result of reserve: 1 trailing bytes"):
        RESERVE.decode_result(b"\x01" + U64.pack(1) + b"\x00")


def test_signature_sequence_limit_in_arguments() -> None:
    """Sequence caps apply inside argument lists and keep their LimitExceededError type."""
    signature = WrapperSignature(Int64, Addr, Sequence(String, max_count=2), name="run")
    ok = signature.encode_args(1, ["a", "b"])
    assert signature.decode_args(ok) == (1, ("a", "b"))
    with pytest.raises(LimitExceededError, match="argument 1") as info:
        signature.decode_args(signature.encode_args(1, ["a", "b", "c"]))
    assert info.value.limit == 2
    assert info.value.offset == 8


def test_signature_repr_shows_name_and_types() -> None:
    """repr names the symbol and the SPS signature."""
    assert repr(RESERVE) == "<WrapperSignature reserve: Expected(addr)(addr, uint64)>"
    assert repr(WrapperSignature(Empty)) == "<WrapperSignature Empty()>"
