"""SPS type descriptors: golden bytes, malformed input, limits, and Hypothesis round-trips."""

from __future__ import annotations

import struct
from functools import partial
from typing import Any

import attrs
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from protocol import (
    DEFAULT_MAX_SEQUENCE_COUNT,
    Addr,
    AddrRange,
    Bool,
    Buffer,
    Char,
    DecodeError,
    Empty,
    EncodeError,
    Error,
    ExecutorAddrRange,
    Expected,
    Failure,
    Int8,
    Int16,
    Int32,
    Int64,
    LimitExceededError,
    Map,
    Optional,
    Record,
    Sequence,
    Size,
    SPSType,
    String,
    Tuple,
    UInt8,
    UInt16,
    UInt32,
    UInt64,
)
from tests.protocol.helpers import decode_error_of

U64 = struct.Struct("<Q")


def u64(n: int) -> bytes:
    return U64.pack(n)


# One table drives both directions: (type, value, bytes), worked examples from the SPS spec
# (orc-rt-reference.md §3.2) plus the edges of each integer range.
GOLDEN: list[tuple[SPSType[Any], object, bytes]] = [
    (Bool, True, b"\x01"),
    (Bool, False, b"\x00"),
    (Char, 0x41, b"A"),
    (Char, 255, b"\xff"),
    (Int8, -1, b"\xff"),
    (Int8, -128, b"\x80"),
    (UInt8, 255, b"\xff"),
    (Int16, -2, b"\xfe\xff"),
    (UInt16, 0xFFFF, b"\xff\xff"),
    (Int32, 42, b"\x2a\x00\x00\x00"),
    (Int32, -(2**31), b"\x00\x00\x00\x80"),
    (UInt32, 2**32 - 1, b"\xff\xff\xff\xff"),
    (Int64, 1, u64(1)),
    (Int64, -1, b"\xff" * 8),
    (UInt64, 2**64 - 1, b"\xff" * 8),
    (Size, 42, u64(42)),
    (Addr, 0x1000, b"\x00\x10" + b"\x00" * 6),
    (AddrRange, ExecutorAddrRange(0x1000, 0x2000), u64(0x1000) + u64(0x2000)),
    (String, "foo", u64(3) + b"foo"),
    (String, "", u64(0)),
    (String, "\u00e9", u64(2) + b"\xc3\xa9"),
    (String, "a\udcffb", u64(3) + b"a\xffb"),
    (Buffer, b"foo\x00", u64(4) + b"foo\x00"),
    (Empty, None, b""),
    (Error, None, b"\x00"),
    (Error, Failure("bad"), b"\x01" + u64(3) + b"bad"),
    (Sequence(Int32), (1, 2), u64(2) + b"\x01\x00\x00\x00\x02\x00\x00\x00"),
    (Sequence(String), ("a", "bc"), u64(2) + u64(1) + b"a" + u64(2) + b"bc"),
    (Sequence(Bool), (), u64(0)),
    (Tuple(Int32, String, Bool), (42, "foo", True), b"\x2a\0\0\0" + u64(3) + b"foo\x01"),
    (Optional(Int64), None, b"\x00"),
    (Optional(Int64), 42, b"\x01" + u64(42)),
    (Expected(UInt32), 42, b"\x01\x2a\x00\x00\x00"),
    (Expected(UInt32), Failure("x"), b"\x00" + u64(1) + b"x"),
    (Map(String, UInt32), {"a": 1}, u64(1) + u64(1) + b"a\x01\x00\x00\x00"),
]


@pytest.mark.parametrize(("sps", "value", "wire"), GOLDEN, ids=lambda v: repr(v)[:40])
def test_sps_golden_encode(sps: SPSType[Any], value: object, wire: bytes) -> None:
    """Each golden value encodes to exactly its bytes."""
    assert sps.encode(value) == wire


@pytest.mark.parametrize(("sps", "value", "wire"), GOLDEN, ids=lambda v: repr(v)[:40])
def test_sps_golden_decode_whole(sps: SPSType[Any], value: object, wire: bytes) -> None:
    """Each golden byte string decodes to its value, from bytes, bytearray and memoryview."""
    assert sps.decode(wire) == value
    assert sps.decode(bytearray(wire)) == value
    assert sps.decode(memoryview(wire)) == value


@pytest.mark.parametrize(("sps", "value", "wire"), GOLDEN, ids=lambda v: repr(v)[:40])
def test_sps_golden_decode_every_prefix_is_truncated(
    sps: SPSType[Any], value: object, wire: bytes
) -> None:
    """Fed one byte short (or fewer), every decoder reports a DecodeError, nothing else."""
    del value
    for cut in range(len(wire)):
        with pytest.raises(DecodeError) as info:
            sps.decode(wire[:cut])
        assert 0 <= info.value.offset <= cut


@pytest.mark.parametrize(("sps", "value", "wire"), GOLDEN, ids=lambda v: repr(v)[:40])
def test_sps_golden_decode_rejects_trailing_bytes(
    sps: SPSType[Any], value: object, wire: bytes
) -> None:
    """One-shot decode rejects trailing bytes at their offset; decode_from stops before them."""
    with pytest.raises(DecodeError, match="1 trailing bytes") as info:
        sps.decode(wire + b"\x00")
    assert info.value.offset == len(wire)
    assert sps.decode_from(b"\xee" + wire + b"\x00\x00", 1) == (value, len(wire) + 1)


def test_sps_decode_from_rejects_offset_outside_input() -> None:
    """An offset past the end is a caller bug: ValueError, not a DecodeError."""
    with pytest.raises(ValueError, match="offset 5 is outside"):
        UInt8.decode_from(b"\x00", 5)


def test_sps_decode_accepts_non_byte_memoryview() -> None:
    """A memoryview of wider items is read as its bytes."""
    view = memoryview(struct.pack("<2I", 1, 2)).cast("I")
    assert Tuple(UInt32, UInt32).decode(view) == (1, 2)


# Malformed input table: (type, bytes, exception, offset, message fragment).
MALFORMED: list[tuple[SPSType[Any], bytes, type[DecodeError], int, str]] = [
    (Bool, b"\x02", DecodeError, 0, "invalid SPS bool flag byte 0x02"),
    (Optional(UInt8), b"\xff", DecodeError, 0, "flag byte 0xff"),
    (Expected(UInt8), b"\x07", DecodeError, 0, "flag byte 0x07"),
    (Error, b"\x02", DecodeError, 0, "flag byte 0x02"),
    (Error, b"\x01" + u64(5) + b"ab", DecodeError, 1, "message of SPS Error"),
    (Expected(UInt8), b"\x00" + u64(9), DecodeError, 1, "error message of Expected(uint8)"),
    (Expected(UInt64), b"\x01\x00", DecodeError, 1, "value of Expected(uint64)"),
    (UInt32, b"\x01\x02", DecodeError, 0, "needs 4 bytes, only 2 remain"),
    (String, u64(4) + b"abc", DecodeError, 0, "declares 4 bytes but only 3 remain"),
    (String, b"\x01\x00", DecodeError, 0, "String length"),
    (Buffer, u64(2**64 - 1), DecodeError, 0, "declares 18446744073709551615 bytes"),
    (
        AddrRange,
        u64(0x2000) + u64(0x1000),
        DecodeError,
        0,
        "end 0x1000 is below its start 0x2000",
    ),
    (Sequence(UInt64), u64(2) + u64(1), DecodeError, 0, "declares 2 elements of at least 8"),
    (Sequence(String), u64(1) + u64(3) + b"ab", DecodeError, 8, "element 0 of Sequence(String)"),
    (Sequence(Bool), u64(2) + b"\x01\x05", DecodeError, 9, "element 1 of Sequence(bool)"),
    (
        Map(String, UInt8),
        u64(2) + u64(1) + b"a\x01" + u64(1) + b"a\x02",
        DecodeError,
        18,
        "duplicate key 'a'",
    ),
    (Tuple(UInt8, Bool), b"\x01\x09", DecodeError, 1, "field 1"),
    (Tuple(UInt32, UInt32), b"\x01\x00\x00\x00\x02", DecodeError, 0, "field 0..field 1"),
    (
        Sequence(UInt8),
        u64(DEFAULT_MAX_SEQUENCE_COUNT + 1),
        LimitExceededError,
        0,
        "the limit is 16777216",
    ),
]


@pytest.mark.parametrize(("sps", "wire", "error", "offset", "fragment"), MALFORMED)
def test_sps_malformed_input_names_problem_and_offset(
    sps: SPSType[Any], wire: bytes, error: type[DecodeError], offset: int, fragment: str
) -> None:
    """Each malformed input raises the listed error at the listed offset, naming the problem."""
    with pytest.raises(error) as info:
        sps.decode(wire)
    assert type(info.value) is error
    assert info.value.offset == offset
    assert fragment in str(info.value)
    assert f"at byte offset {offset}" in str(info.value)


@pytest.mark.parametrize("cap", [0, 1, 3])
def test_sequence_limit_at_n_and_n_plus_one(cap: int) -> None:
    """A count equal to the cap decodes; one more is LimitExceededError carrying the cap."""
    sps = Sequence(UInt8, max_count=cap)
    assert sps.decode(u64(cap) + bytes(cap)) == (0,) * cap
    with pytest.raises(LimitExceededError) as info:
        sps.decode(u64(cap + 1) + bytes(cap + 1))
    assert info.value.limit == cap
    assert info.value.offset == 0


@pytest.mark.parametrize("cap", [0, 2])
def test_map_limit_at_n_and_n_plus_one(cap: int) -> None:
    """A map with exactly cap entries decodes; cap + 1 entries exceed the limit."""
    sps = Map(UInt8, UInt8, max_count=cap)
    entries = {i: i for i in range(cap + 1)}
    ok = dict(list(entries.items())[:cap])
    assert sps.decode(sps.encode(ok)) == ok
    with pytest.raises(LimitExceededError) as info:
        sps.decode(sps.encode(entries))
    assert info.value.limit == cap


def test_sequence_huge_count_rejected_before_allocating() -> None:
    """A count the remaining bytes cannot hold fails at once, even for a generous cap."""
    sps = Sequence(Sequence(UInt64), max_count=2**64)
    with pytest.raises(DecodeError, match="declares 18446744073709551615 elements"):
        sps.decode(u64(2**64 - 1) + bytes(64))


def test_sequence_of_empty_is_bounded_by_cap() -> None:
    """Zero-size elements are bounded only by the cap, which is checked before the loop."""
    with pytest.raises(LimitExceededError):
        Sequence(Empty, max_count=10).decode(u64(11))
    assert Sequence(Empty, max_count=10).decode(u64(10)) == (None,) * 10


def test_sequence_and_map_reject_negative_cap() -> None:
    """A negative cap is a programming error."""
    with pytest.raises(ValueError, match="max_count"):
        Sequence(UInt8, max_count=-1)
    with pytest.raises(ValueError, match="max_count"):
        Map(UInt8, UInt8, max_count=-1)


def test_optional_and_expected_reject_ambiguous_inner_types() -> None:
    """Optional(None-able) and Expected(Failure-able) could not tell their cases apart."""
    nullable: tuple[SPSType[Any], ...] = (Empty, Error, Optional(UInt8))
    for inner in nullable:
        with pytest.raises(ValueError, match="ambiguous"):
            Optional(inner)
    fallible: tuple[SPSType[Any], ...] = (Error, Expected(UInt8))
    for inner in fallible:
        with pytest.raises(ValueError, match="ambiguous"):
            Expected(inner)


# Encoding errors: (type, value, message fragment).
BAD_VALUES: list[tuple[SPSType[Any], object, str]] = [
    (UInt8, 256, "cannot encode 256 as SPS uint8"),
    (UInt8, -1, "as SPS uint8"),
    (Int8, 128, "as SPS int8"),
    (UInt64, 2**64, "as SPS uint64"),
    (Int64, 1.5, "as SPS int64"),
    (Addr, "0x10", "as SPS addr"),
    (Bool, 1, "expected a bool"),
    (String, b"bytes", "expected a str"),
    (String, "\ud800", "as SPS String"),
    (Buffer, "text", "expected bytes"),
    (Empty, 0, "expected None"),
    (Error, "oops", "expected None or a Failure"),
    (AddrRange, (1, 2), "expected an ExecutorAddrRange"),
    (Sequence(UInt8), "abc", "expected a sequence"),
    (Sequence(UInt8), [1, 300], "element 1 of Sequence(uint8)"),
    (Sequence(String), ["a", 3], "element 1 of Sequence(String)"),
    (Sequence(String), 5, "expected a sequence"),
    (Tuple(UInt8, String), (1,), "expected 2 items, got 1"),
    (Tuple(UInt8, String), (1, 2), "field 1"),
    (Tuple(UInt8, UInt8), (1, 256), "field 1"),
    (Tuple(UInt8, UInt8), 7, "expected a tuple"),
    (Optional(UInt8), 999, "as SPS uint8"),
    (Expected(String), 5, "expected a str"),
    (Map(String, UInt8), [("a", 1)], "expected a mapping"),
    (Map(String, UInt8), {"a": 1000}, "entry 'a' of Map(String, uint8)"),
]


@pytest.mark.parametrize(("sps", "value", "fragment"), BAD_VALUES, ids=lambda v: repr(v)[:30])
def test_sps_encode_rejects_unrepresentable_values(
    sps: SPSType[Any], value: object, fragment: str
) -> None:
    """Out-of-range or wrongly typed values raise EncodeError naming type and value."""
    with pytest.raises(EncodeError) as info:
        sps.encode(value)
    assert fragment in str(info.value)


def test_sps_encode_into_restores_buffer_on_error() -> None:
    """A failed encode_into leaves the output buffer as it was."""
    out = bytearray(b"keep")
    with pytest.raises(EncodeError):
        Sequence(String).encode_into(out, ["fine", 7])  # type: ignore[list-item]  # on purpose
    assert out == b"keep"
    Sequence(String).encode_into(out, ["ok"])
    assert out == b"keep" + u64(1) + u64(2) + b"ok"


def test_buffer_encodes_any_bytes_like() -> None:
    """bytes, bytearray and memoryview (even of wide items) encode by their bytes."""
    wide = memoryview(struct.pack("<2H", 1, 2)).cast("H")
    # Buffer is typed bytes (what decode returns); other bytes-like values are accepted too.
    assert Buffer.encode(bytearray(b"ab")) == u64(2) + b"ab"  # type: ignore[arg-type]
    assert Buffer.encode(wide) == u64(4) + b"\x01\x00\x02\x00"  # type: ignore[arg-type]


def test_sequence_of_integers_encodes_from_bytes() -> None:
    """A bytes object is a sequence of u8 values."""
    assert Sequence(UInt8).encode(b"\x01\x02") == u64(2) + b"\x01\x02"


def test_string_surrogateescape_round_trips_arbitrary_bytes() -> None:
    """Names that are not UTF-8 survive a decode/encode cycle byte for byte."""
    wire = u64(4) + b"\xff\xfe\x80a"
    assert String.encode(String.decode(wire)) == wire


@attrs.frozen
class _Point:
    x: int
    name: str


@attrs.frozen
class _Single:
    value: int


def test_record_round_trips_attrs_instances() -> None:
    """Record encodes the fields in order and rebuilds the class on decode."""
    sps = Record(_Point, UInt16, String)
    assert sps.encode(_Point(7, "a")) == b"\x07\x00" + u64(1) + b"a"
    assert sps.decode(b"\x07\x00" + u64(1) + b"a") == _Point(7, "a")
    assert Record(_Single, UInt8).decode(b"\x05") == _Single(5)
    assert Record(_Single, UInt8, name="One").name == "One"


def test_record_rejects_wrong_instance_and_field_count() -> None:
    """Records check the instance type, and the field list must match the class."""
    with pytest.raises(EncodeError, match="expected a _Point"):
        Record(_Point, UInt16, String).encode((7, "a"))  # type: ignore[arg-type]  # on purpose
    with pytest.raises(ValueError, match="2 fields but 1 SPS types"):
        Record(_Point, UInt16)
    with pytest.raises(TypeError, match="record class"):
        Record(int, UInt8)


def test_record_decode_error_names_field() -> None:
    """A bad field is named in the decode error."""
    with pytest.raises(DecodeError, match="field name of _Point") as info:
        Record(_Point, UInt16, String).decode(b"\x07\x00" + u64(9))
    assert info.value.offset == 2


@attrs.frozen
class _Positive:
    value: int = attrs.field(validator=attrs.validators.gt(0))


def test_record_validator_refusal_is_decode_error() -> None:
    """Values the record class refuses surface as a DecodeError at the record's offset."""
    with pytest.raises(DecodeError, match="invalid _Positive") as info:
        Sequence(Record(_Positive, UInt8)).decode(u64(2) + b"\x01\x00")
    assert info.value.offset == 9


def test_map_rejects_map_keys() -> None:
    """Map keys must decode to hashable values."""
    with pytest.raises(ValueError, match="hashable"):
        Map(Map(UInt8, UInt8), UInt8)


def test_sps_type_repr_is_its_name() -> None:
    """Descriptors print as the type expression that built them."""
    assert (
        repr(Sequence(Optional(Tuple(Addr, String)))) == "Sequence(Optional(Tuple(addr, String)))"
    )


# --------------------------------------------------------------------------------------------
# Hypothesis round-trips, one strategy per SPS type (recursive for the constructors).


def _ints(lo: int, hi: int) -> st.SearchStrategy[int]:
    return st.integers(min_value=lo, max_value=hi)


_SCALARS: list[tuple[SPSType[Any], st.SearchStrategy[Any]]] = [
    (Bool, st.booleans()),
    (Char, _ints(0, 255)),
    (Int8, _ints(-(2**7), 2**7 - 1)),
    (UInt8, _ints(0, 2**8 - 1)),
    (Int16, _ints(-(2**15), 2**15 - 1)),
    (UInt16, _ints(0, 2**16 - 1)),
    (Int32, _ints(-(2**31), 2**31 - 1)),
    (UInt32, _ints(0, 2**32 - 1)),
    (Int64, _ints(-(2**63), 2**63 - 1)),
    (UInt64, _ints(0, 2**64 - 1)),
    (Size, _ints(0, 2**64 - 1)),
    (Addr, _ints(0, 2**64 - 1)),
    (
        AddrRange,
        st.tuples(_ints(0, 2**64 - 1), _ints(0, 2**64 - 1)).map(
            lambda p: ExecutorAddrRange(min(p), max(p))
        ),
    ),
    (String, st.text(max_size=20)),
    (Buffer, st.binary(max_size=40)),
    (Empty, st.none()),
    (Error, st.none() | st.builds(Failure, st.text(max_size=20))),
]


def _compose(
    children: st.SearchStrategy[tuple[SPSType[Any], st.SearchStrategy[Any]]],
) -> st.SearchStrategy[tuple[SPSType[Any], st.SearchStrategy[Any]]]:
    def sequence(pair: tuple[SPSType[Any], st.SearchStrategy[Any]]) -> Any:
        sps, values = pair
        return (Sequence(sps), st.lists(values, max_size=4).map(tuple))

    def optional(pair: tuple[SPSType[Any], st.SearchStrategy[Any]]) -> Any:
        sps, values = pair
        if sps.nullable:
            return sequence(pair)
        return (Optional(sps), st.none() | values)

    def expected(pair: tuple[SPSType[Any], st.SearchStrategy[Any]]) -> Any:
        sps, values = pair
        if sps.fallible:
            return sequence(pair)
        return (Expected(sps), values | st.builds(Failure, st.text(max_size=10)))

    def tuple_of(pairs: list[tuple[SPSType[Any], st.SearchStrategy[Any]]]) -> Any:
        return (Tuple(*(p[0] for p in pairs)), st.tuples(*(p[1] for p in pairs)))

    def map_of(pair: tuple[SPSType[Any], st.SearchStrategy[Any]]) -> Any:
        sps, values = pair
        return (Map(UInt16, sps), st.dictionaries(_ints(0, 2**16 - 1), values, max_size=3))

    return st.one_of(
        children.map(sequence),
        children.map(optional),
        children.map(expected),
        st.lists(children, min_size=0, max_size=3).map(tuple_of),
        children.map(map_of),
    )


_TYPES = st.recursive(st.sampled_from(_SCALARS), _compose, max_leaves=6)


@settings(max_examples=300, deadline=None)
@given(st.data())
def test_sps_round_trip_any_type(data: st.DataObject) -> None:
    """For any (nested) SPS type and value, decode(encode(v)) == v and the bytes re-encode."""
    sps, values = data.draw(_TYPES)
    value = data.draw(values)
    wire = sps.encode(value)
    decoded = sps.decode(wire)
    assert decoded == value
    assert sps.encode(decoded) == wire
    assert sps.decode_from(wire + b"\xaa", 0) == (value, len(wire))


@settings(max_examples=200, deadline=None)
@given(st.data())
def test_sps_truncated_round_trip_raises_decode_error(data: st.DataObject) -> None:
    """Any strict prefix of a valid encoding raises DecodeError, never anything else."""
    sps, values = data.draw(_TYPES)
    wire = sps.encode(data.draw(values))
    if not wire:
        return
    cut = data.draw(st.integers(0, len(wire) - 1))
    with pytest.raises(DecodeError):
        sps.decode(wire[:cut])


@pytest.mark.parametrize(("sps", "values"), _SCALARS, ids=lambda v: repr(v)[:20])
@settings(max_examples=50, deadline=None)
@given(data=st.data())
def test_sps_scalar_round_trip(
    sps: SPSType[Any], values: st.SearchStrategy[Any], data: st.DataObject
) -> None:
    """Every scalar type round-trips every value of its range."""
    value = data.draw(values)
    assert sps.decode(sps.encode(value)) == value


@settings(max_examples=200, deadline=None)
@given(st.binary(max_size=64))
def test_sps_random_bytes_raise_only_decode_errors(wire: bytes) -> None:
    """Random input to a nested type yields a value or a DecodeError, nothing else."""
    sps = Map(String, Sequence(Optional(Tuple(AddrRange, Expected(Bool)))))
    error = decode_error_of(partial(sps.decode, wire))
    assert error is None or 0 <= error.offset <= len(wire)
