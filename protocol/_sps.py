"""SPS (Simple Packed Serialization) type descriptors: one object per wire type, both directions.

SPS has no tags, no padding and no alignment; integers are little-endian two's complement. Both
sides know the signature, so the bytes are only the values, concatenated:

| descriptor | Python value | bytes |
|---|---|---|
| `Bool` | `bool` | 1 byte, ``00`` or ``01`` (any other byte is a `DecodeError`) |
| `Char` | `int` 0..255 | 1 byte (the raw byte; never a 1-byte `bytes`) |
| `Int8`/`UInt8` | `int` | 1 byte |
| `Int16`/`UInt16`, `Int32`/`UInt32`, `Int64`/`UInt64` | `int` | 2 / 4 / 8 bytes LE |
| `Size` (``SPSSize``) | `int` | u64 LE |
| `Addr` (``SPSExecutorAddr``) | `int` | u64 LE |
| `AddrRange` (``SPSExecutorAddrRange``) | `ExecutorAddrRange` | u64 start, u64 end (end >= start) |
| `String` (``SPSString``) | `str` | u64 byte count, then UTF-8 bytes (no NUL) [1] |
| `Buffer` (``SPSSequence<char>`` as bytes) | `bytes` | u64 byte count, then the bytes |
| `Empty` (``SPSEmpty``, ``void``) | `None` | nothing |
| `Error` (``SPSError``) | `None` or `Failure` | ``00`` = success; ``01`` + SPSString message |
| `Sequence(T)` | tuple of T (encode: any sequence) | u64 count, then each element |
| `Tuple(T1..Tn)` | tuple | the elements concatenated |
| `Optional(T)` | T or `None` | ``00``; or ``01`` then T |
| `Expected(T)` | T or `Failure` | ``01`` then T; or ``00`` + SPSString message |
| `Map(K, V)` | dict (encode: any mapping) | as ``Sequence(Tuple(K, V))`` [2] |
| `Record(cls, T1..Tn)` | instance of record ``cls`` | as ``Tuple(T1..Tn)`` of its fields |

[1] Bytes that are not UTF-8 round-trip exactly through ``errors="surrogateescape"``.
[2] A key seen twice is a `DecodeError`; `Record` fields go in declaration order.

Decoders check every declared length against the bytes that remain, and sequence counts against a
cap (`DEFAULT_MAX_SEQUENCE_COUNT` unless given), before allocating anything. Errors name the type,
what was wrong and the byte offset in the input.
"""

from __future__ import annotations

import abc
import collections.abc as cabc
import operator
import reprlib
import struct
from collections.abc import Callable
from typing import Any, Final, Generic, TypeVar, overload

from ._errors import DecodeError, EncodeError, LimitExceededError
from ._frozen import Frozen
from ._values import ExecutorAddrRange, Failure

__all__ = [
    "DEFAULT_MAX_SEQUENCE_COUNT",
    "Addr",
    "AddrRange",
    "Bool",
    "Buffer",
    "BytesLike",
    "Char",
    "Empty",
    "Error",
    "Expected",
    "Int8",
    "Int16",
    "Int32",
    "Int64",
    "Map",
    "Optional",
    "Record",
    "SPSType",
    "Sequence",
    "Size",
    "String",
    "Tuple",
    "UInt8",
    "UInt16",
    "UInt32",
    "UInt64",
]

T = TypeVar("T")
E = TypeVar("E")
K = TypeVar("K")
V = TypeVar("V")
A = TypeVar("A")
B = TypeVar("B")
C = TypeVar("C")
D = TypeVar("D")

BytesLike = bytes | bytearray | memoryview
"""What every decoder accepts as input."""

DEFAULT_MAX_SEQUENCE_COUNT: Final = 1 << 24
"""Default cap on a decoded `Sequence`/`Map` element count (``Buffer``/``String`` are bounded by
the input size only, since segment contents can legitimately be large)."""

_U64: Final = struct.Struct("<Q")
_SHORT = reprlib.Repr()
_SHORT.maxstring = 60
_SHORT.maxother = 60
_SHORT.maxlist = 6
_SHORT.maxtuple = 6


def _short(value: object) -> str:
    """A bounded repr for error messages (values may be megabytes of segment content)."""
    return _SHORT.repr(value)


def _as_input(data: BytesLike) -> BytesLike:
    """Make ``len(data)`` count bytes (a memoryview of e.g. u32 items would count items)."""
    if isinstance(data, memoryview) and (data.format != "B" or data.ndim != 1):
        return data.cast("B")
    return data


def _truncated(name: str, need: int, offset: int, size: int) -> DecodeError:
    remain = max(size - offset, 0)
    return DecodeError(
        f"truncated SPS {name}: needs {need} bytes, only {remain} remain", offset=offset
    )


def _trailing(name: str, end: int, size: int) -> DecodeError:
    return DecodeError(f"{size - end} trailing bytes after SPS {name}", offset=end)


def _encode_failure(name: str, value: object, exc: BaseException) -> EncodeError:
    return EncodeError(f"cannot encode {_short(value)} as SPS {name}: {exc}")


_ENCODE_MISTAKES = (TypeError, ValueError, OverflowError, AttributeError, struct.error)
"""What Python raises when a value of the wrong type or range reaches an encoder."""


class SPSType(abc.ABC, Generic[T]):
    """Descriptor of one SPS wire type: encodes Python values of type ``T`` and decodes them.

    Instances are immutable and shared; use the module singletons (`UInt64`, `String`, ...) and
    constructors (`Sequence`, `Tuple`, ...). Safe to use from any thread; no I/O.

    Attributes:
        name: the type as written in this module, e.g. ``"Sequence(String)"``.
        min_size: the fewest bytes any value of this type occupies (used to reject impossible
            sequence counts before allocating).
        fixed_size: the exact size if every value has the same size, else ``None``.
    """

    __slots__ = ("code", "fallible", "fixed_size", "min_size", "name", "nullable")

    name: str
    min_size: int
    fixed_size: int | None
    code: str | None
    nullable: bool
    fallible: bool

    def __init__(
        self,
        name: str,
        *,
        min_size: int,
        fixed_size: int | None = None,
        code: str | None = None,
        nullable: bool = False,
        fallible: bool = False,
    ) -> None:
        self.name = name
        self.min_size = min_size
        self.fixed_size = fixed_size
        # A struct format character when the Python value is exactly what struct packs (ints);
        # such fields are packed in runs with one precompiled Struct.
        self.code = code
        # Whether None / a Failure is a legal Python value (makes Optional/Expected ambiguous).
        self.nullable = nullable
        self.fallible = fallible

    def __repr__(self) -> str:
        return self.name

    def encode(self, value: T) -> bytes:
        """Serialize ``value``; returns exactly its SPS bytes.

        Raises:
            EncodeError: the value has the wrong type or is out of range (message names both).
        """
        out = bytearray()
        self.encode_into(out, value)
        return bytes(out)

    def encode_into(self, out: bytearray, value: T) -> None:
        """Append the SPS bytes of ``value`` to ``out``.

        On error nothing is appended (``out`` is restored to its previous length).

        Raises:
            EncodeError: the value has the wrong type or is out of range.
        """
        start = len(out)
        try:
            self._enc(out, value)
        except EncodeError:
            del out[start:]
            raise
        except _ENCODE_MISTAKES as exc:
            del out[start:]
            raise _encode_failure(self.name, value, exc) from exc

    def decode(self, data: BytesLike) -> T:
        """Decode one value that must occupy all of ``data``.

        Raises:
            DecodeError: ``data`` is truncated, malformed, or has trailing bytes.
            LimitExceededError: a sequence count is over its cap.
        """
        data = _as_input(data)
        value, end = self._dec(data, 0)
        if end != len(data):
            raise _trailing(self.name, end, len(data))
        return value

    def decode_from(self, data: BytesLike, offset: int) -> tuple[T, int]:
        """Decode one value starting at ``offset``; return it and the offset just after it.

        Raises:
            ValueError: ``offset`` is outside ``0..len(data)`` (a caller bug, not bad input).
            DecodeError: the bytes at ``offset`` are truncated or malformed.
            LimitExceededError: a sequence count is over its cap.
        """
        data = _as_input(data)
        if not 0 <= offset <= len(data):
            raise ValueError(f"offset {offset} is outside the input of {len(data)} bytes")
        return self._dec(data, offset)

    @abc.abstractmethod
    def _enc(self, out: bytearray, value: T) -> None:
        """Append ``value``; may raise EncodeError or any of ``_ENCODE_MISTAKES``."""

    @abc.abstractmethod
    def _dec(self, data: BytesLike, offset: int) -> tuple[T, int]:
        """Decode at ``offset`` (known to be within ``data``); raise only DecodeError."""


# --------------------------------------------------------------------------------------------
# Scalars


class _IntType(SPSType[int]):
    __slots__ = ("_struct",)

    def __init__(self, name: str, code: str) -> None:
        packer = struct.Struct("<" + code)
        super().__init__(name, min_size=packer.size, fixed_size=packer.size, code=code)
        self._struct = packer

    def _enc(self, out: bytearray, value: int) -> None:
        try:
            out += self._struct.pack(value)
        except struct.error as exc:
            raise _encode_failure(self.name, value, exc) from None

    def _dec(self, data: BytesLike, offset: int) -> tuple[int, int]:
        end = offset + self._struct.size
        if end > len(data):
            raise _truncated(self.name, self._struct.size, offset, len(data))
        return self._struct.unpack_from(data, offset)[0], end


class _BoolType(SPSType[bool]):
    __slots__ = ()

    def __init__(self) -> None:
        super().__init__("bool", min_size=1, fixed_size=1)

    def _enc(self, out: bytearray, value: bool) -> None:
        if value is True:
            out.append(1)
        elif value is False:
            out.append(0)
        else:
            raise EncodeError(f"cannot encode {_short(value)} as SPS bool: expected a bool")

    def _dec(self, data: BytesLike, offset: int) -> tuple[bool, int]:
        return _read_flag(data, offset, "bool"), offset + 1


def _read_flag(data: BytesLike, offset: int, name: str) -> bool:
    """Read an SPS bool (also the presence/success byte of Optional/Error/Expected)."""
    if offset >= len(data):
        raise _truncated(name, 1, offset, len(data))
    byte = data[offset]
    if byte == 1:
        return True
    if byte == 0:
        return False
    raise DecodeError(f"invalid SPS {name} flag byte {byte:#04x} (must be 0 or 1)", offset=offset)


class _EmptyType(SPSType[None]):
    __slots__ = ()

    def __init__(self) -> None:
        super().__init__("Empty", min_size=0, fixed_size=0, nullable=True)

    def _enc(self, out: bytearray, value: None) -> None:
        if value is not None:
            raise EncodeError(f"cannot encode {_short(value)} as SPS Empty: expected None")

    def _dec(self, data: BytesLike, offset: int) -> tuple[None, int]:
        return None, offset


def _read_length(data: BytesLike, offset: int, name: str) -> tuple[int, int]:
    """Read a u64 length prefix and check that many bytes remain after it."""
    body = offset + 8
    if body > len(data):
        raise _truncated(name + " length", 8, offset, len(data))
    (length,) = _U64.unpack_from(data, offset)
    if length > len(data) - body:
        raise DecodeError(
            f"SPS {name} declares {length} bytes but only {len(data) - body} remain",
            offset=offset,
        )
    return body, body + length


class _StringType(SPSType[str]):
    __slots__ = ()

    def __init__(self) -> None:
        super().__init__("String", min_size=8)

    def _enc(self, out: bytearray, value: str) -> None:
        if not isinstance(value, str):
            raise EncodeError(f"cannot encode {_short(value)} as SPS String: expected a str")
        raw = value.encode("utf-8", "surrogateescape")
        out += _U64.pack(len(raw))
        out += raw

    def _dec(self, data: BytesLike, offset: int) -> tuple[str, int]:
        body, end = _read_length(data, offset, "String")
        return str(data[body:end], "utf-8", "surrogateescape"), end


class _BufferType(SPSType[bytes]):
    __slots__ = ()

    def __init__(self) -> None:
        super().__init__("Buffer", min_size=8)

    def _enc(self, out: bytearray, value: bytes) -> None:
        raw: object = value  # callers may pass any bytes-like object despite the annotation
        if isinstance(raw, bytes | bytearray):
            out += _U64.pack(len(raw))
            out += raw
        elif isinstance(raw, memoryview):
            out += _U64.pack(raw.nbytes)
            out += raw
        else:
            raise EncodeError(
                f"cannot encode {_short(value)} as SPS Buffer: expected bytes, bytearray "
                "or memoryview"
            )

    def _dec(self, data: BytesLike, offset: int) -> tuple[bytes, int]:
        body, end = _read_length(data, offset, "Buffer")
        return bytes(data[body:end]), end


class _AddrRangeType(SPSType[ExecutorAddrRange]):
    __slots__ = ()
    _STRUCT: Final = struct.Struct("<QQ")

    def __init__(self) -> None:
        super().__init__("AddrRange", min_size=16, fixed_size=16)

    def _enc(self, out: bytearray, value: ExecutorAddrRange) -> None:
        if not isinstance(value, ExecutorAddrRange):
            raise EncodeError(
                f"cannot encode {_short(value)} as SPS AddrRange: expected an ExecutorAddrRange"
            )
        try:
            out += self._STRUCT.pack(value.start, value.end)
        except struct.error as exc:
            raise _encode_failure(self.name, value, exc) from None

    def _dec(self, data: BytesLike, offset: int) -> tuple[ExecutorAddrRange, int]:
        end = offset + 16
        if end > len(data):
            raise _truncated(self.name, 16, offset, len(data))
        start, stop = self._STRUCT.unpack_from(data, offset)
        if stop < start:
            raise DecodeError(
                f"SPS AddrRange end {stop:#x} is below its start {start:#x}", offset=offset
            )
        return ExecutorAddrRange(start, stop), end


class _ErrorType(SPSType[Failure | None]):
    __slots__ = ()

    def __init__(self) -> None:
        super().__init__("Error", min_size=1, nullable=True, fallible=True)

    def _enc(self, out: bytearray, value: Failure | None) -> None:
        if value is None:
            out.append(0)
        elif isinstance(value, Failure):
            out.append(1)
            String._enc(out, value.message)
        else:
            raise EncodeError(
                f"cannot encode {_short(value)} as SPS Error: expected None or a Failure"
            )

    def _dec(self, data: BytesLike, offset: int) -> tuple[Failure | None, int]:
        if not _read_flag(data, offset, "Error"):
            return None, offset + 1
        try:
            message, end = String._dec(data, offset + 1)
        except DecodeError as exc:
            raise exc.with_context("message of SPS Error") from None
        return Failure(message), end


Bool: Final[SPSType[bool]] = _BoolType()
"""``bool``: 1 byte, 0 or 1."""
Char: Final[SPSType[int]] = _IntType("char", "B")
"""``char``: 1 raw byte, as an int 0..255."""
Int8: Final[SPSType[int]] = _IntType("int8", "b")
"""``int8_t``: 1 byte, -128..127."""
UInt8: Final[SPSType[int]] = _IntType("uint8", "B")
"""``uint8_t``: 1 byte, 0..255."""
Int16: Final[SPSType[int]] = _IntType("int16", "h")
"""``int16_t``: 2 bytes LE."""
UInt16: Final[SPSType[int]] = _IntType("uint16", "H")
"""``uint16_t``: 2 bytes LE."""
Int32: Final[SPSType[int]] = _IntType("int32", "i")
"""``int32_t``: 4 bytes LE."""
UInt32: Final[SPSType[int]] = _IntType("uint32", "I")
"""``uint32_t``: 4 bytes LE."""
Int64: Final[SPSType[int]] = _IntType("int64", "q")
"""``int64_t``: 8 bytes LE."""
UInt64: Final[SPSType[int]] = _IntType("uint64", "Q")
"""``uint64_t``: 8 bytes LE."""
Size: Final[SPSType[int]] = _IntType("size", "Q")
"""``SPSSize`` (``size_t``): u64 LE on the wire."""
Addr: Final[SPSType[int]] = _IntType("addr", "Q")
"""``SPSExecutorAddr``: u64 LE executor address."""
AddrRange: Final[SPSType[ExecutorAddrRange]] = _AddrRangeType()
"""``SPSExecutorAddrRange``: u64 start, u64 end; decode rejects end < start."""
String: Final[SPSType[str]] = _StringType()
"""``SPSString``: u64 length + UTF-8 bytes (surrogateescape both ways), no NUL."""
Buffer: Final[SPSType[bytes]] = _BufferType()
"""``SPSSequence<char>`` used as raw bytes: u64 length + bytes."""
Empty: Final[SPSType[None]] = _EmptyType()
"""``SPSEmpty`` / a ``void`` result: zero bytes, value None."""
Error: Final[SPSType[Failure | None]] = _ErrorType()
"""``SPSError``: ``00`` (None) or ``01`` + SPSString message (`Failure`)."""

_String: Final = String


# --------------------------------------------------------------------------------------------
# Field lists: shared by Tuple, Record and WrapperSignature's argument lists.


class _Step:
    """One decoding step: a run of struct-packable fields, or one field with its own codec."""

    __slots__ = ("count", "field", "first", "packer")

    def __init__(
        self, first: int, count: int, packer: struct.Struct | None, field: SPSType[Any] | None
    ) -> None:
        self.first: Final = first
        self.count: Final = count
        self.packer: Final = packer
        self.field: Final = field


class _Fields:
    """An ordered list of SPS fields compiled for speed: adjacent integer fields share a Struct."""

    __slots__ = ("fixed", "labels", "min_size", "steps", "types")

    def __init__(self, types: tuple[SPSType[Any], ...], labels: tuple[str, ...]) -> None:
        self.types = types
        self.labels = labels
        self.min_size = sum(t.min_size for t in types)
        steps: list[_Step] = []
        index = 0
        while index < len(types):
            code = types[index].code
            if code is None:
                steps.append(_Step(index, 1, None, types[index]))
                index += 1
                continue
            end = index
            codes = ""
            while end < len(types) and (next_code := types[end].code) is not None:
                codes += next_code
                end += 1
            steps.append(_Step(index, end - index, struct.Struct("<" + codes), None))
            index = end
        self.steps = tuple(steps)
        # Every field an integer: the whole list is one Struct (the executor's hot path).
        only = self.steps[0].packer if len(self.steps) == 1 else None
        self.fixed: struct.Struct | None = only if len(types) > 0 else struct.Struct("<")

    def label(self, step: _Step) -> str:
        if step.count == 1:
            return self.labels[step.first]
        return f"{self.labels[step.first]}..{self.labels[step.first + step.count - 1]}"

    def encode(self, out: bytearray, values: cabc.Sequence[object]) -> None:
        for step in self.steps:
            if step.packer is not None:
                chunk = values[step.first : step.first + step.count]
                try:
                    out += step.packer.pack(*chunk)
                except struct.error:
                    self._blame_run(step, chunk)
                    raise
            else:
                assert step.field is not None
                value = values[step.first]
                try:
                    step.field._enc(out, value)
                except EncodeError as exc:
                    raise EncodeError(f"{self.labels[step.first]}: {exc}") from exc
                except _ENCODE_MISTAKES as exc:
                    failure = _encode_failure(step.field.name, value, exc)
                    raise EncodeError(f"{self.labels[step.first]}: {failure}") from exc

    def _blame_run(self, step: _Step, chunk: cabc.Sequence[object]) -> None:
        """Find which integer of a failed run is bad and raise an EncodeError naming it."""
        for position, value in enumerate(chunk):
            index = step.first + position
            try:
                self.types[index].encode(value)
            except EncodeError as exc:
                raise EncodeError(f"{self.labels[index]}: {exc}") from None

    def decode(self, data: BytesLike, offset: int) -> tuple[list[Any], int]:
        values: list[Any] = []
        size = len(data)
        for step in self.steps:
            packer = step.packer
            if packer is not None:
                end = offset + packer.size
                if end > size:
                    names = ", ".join(
                        t.name for t in self.types[step.first : step.first + step.count]
                    )
                    raise _truncated(names, packer.size, offset, size).with_context(
                        self.label(step)
                    )
                values.extend(packer.unpack_from(data, offset))
                offset = end
            else:
                assert step.field is not None
                try:
                    value, offset = step.field._dec(data, offset)
                except DecodeError as exc:
                    raise exc.with_context(self.labels[step.first]) from None
                values.append(value)
        return values, offset


# --------------------------------------------------------------------------------------------
# Constructors


class _SequenceType(SPSType[cabc.Sequence[E]]):
    __slots__ = ("_code", "_element", "max_count")

    def __init__(self, element: SPSType[E], max_count: int) -> None:
        super().__init__(f"Sequence({element.name})", min_size=8)
        self._element = element
        self._code = element.code
        self.max_count = max_count

    def _enc(self, out: bytearray, value: cabc.Sequence[E]) -> None:
        if isinstance(value, str) or not isinstance(value, cabc.Sequence):
            raise EncodeError(
                f"cannot encode {_short(value)} as SPS {self.name}: expected a sequence"
            )
        out += _U64.pack(len(value))
        if self._code is not None:
            try:
                out += struct.pack(f"<{len(value)}{self._code}", *value)
            except struct.error:
                for index, item in enumerate(value):
                    try:
                        self._element.encode(item)
                    except EncodeError as exc:
                        raise EncodeError(f"element {index} of {self.name}: {exc}") from None
                raise
            return
        element = self._element
        for index, item in enumerate(value):
            try:
                element._enc(out, item)
            except EncodeError as exc:
                raise EncodeError(f"element {index} of {self.name}: {exc}") from exc
            except _ENCODE_MISTAKES as exc:
                failure = _encode_failure(element.name, item, exc)
                raise EncodeError(f"element {index} of {self.name}: {failure}") from exc

    def _dec(self, data: BytesLike, offset: int) -> tuple[cabc.Sequence[E], int]:
        count, body = _read_count(data, offset, self.name, self._element, self.max_count)
        if self._code is not None:
            # struct caches compiled formats, so repeated counts cost one dict lookup.
            fmt = f"<{count}{self._code}"
            return struct.unpack_from(fmt, data, body), body + struct.calcsize(fmt)
        items: list[E] = []
        decode = self._element._dec
        index = 0
        try:
            for index in range(count):  # noqa: B007 - index names the element on error
                item, body = decode(data, body)
                items.append(item)
        except DecodeError as exc:
            raise exc.with_context(f"element {index} of {self.name}") from None
        return tuple(items), body


def _read_count(
    data: BytesLike, offset: int, name: str, element: SPSType[Any], max_count: int
) -> tuple[int, int]:
    """Read a u64 element count; check it against the cap and the bytes left, before allocating."""
    body = offset + 8
    if body > len(data):
        raise _truncated(name + " count", 8, offset, len(data))
    (count,) = _U64.unpack_from(data, offset)
    if count > max_count:
        raise LimitExceededError(
            f"SPS {name} declares {count} elements; the limit is {max_count}",
            offset=offset,
            limit=max_count,
        )
    remain = len(data) - body
    if count * element.min_size > remain:
        raise DecodeError(
            f"SPS {name} declares {count} elements of at least {element.min_size} bytes "
            f"but only {remain} bytes remain",
            offset=offset,
        )
    return count, body


class _TupleType(SPSType[tuple[Any, ...]]):
    __slots__ = ("_fields",)

    def __init__(self, elements: tuple[SPSType[Any], ...]) -> None:
        fixed = sum(e.fixed_size for e in elements if e.fixed_size is not None)
        all_fixed = all(e.fixed_size is not None for e in elements)
        super().__init__(
            "Tuple(" + ", ".join(e.name for e in elements) + ")",
            min_size=sum(e.min_size for e in elements),
            fixed_size=fixed if all_fixed else None,
        )
        self._fields = _Fields(elements, tuple(f"field {i}" for i in range(len(elements))))

    def _enc(self, out: bytearray, value: tuple[Any, ...]) -> None:
        items: object = value  # any sequence of the right length is accepted
        if not isinstance(items, cabc.Sequence) or isinstance(items, str | bytes):
            raise EncodeError(f"cannot encode {_short(items)} as SPS {self.name}: expected a tuple")
        if len(items) != len(self._fields.types):
            raise EncodeError(
                f"cannot encode {_short(items)} as SPS {self.name}: expected "
                f"{len(self._fields.types)} items, got {len(items)}"
            )
        self._fields.encode(out, items)

    def _dec(self, data: BytesLike, offset: int) -> tuple[tuple[Any, ...], int]:
        values, offset = self._fields.decode(data, offset)
        return tuple(values), offset


class _OptionalType(SPSType[E | None]):
    __slots__ = ("_inner",)

    def __init__(self, inner: SPSType[E]) -> None:
        super().__init__(f"Optional({inner.name})", min_size=1, nullable=True)
        self._inner = inner

    def _enc(self, out: bytearray, value: E | None) -> None:
        if value is None:
            out.append(0)
        else:
            out.append(1)
            self._inner._enc(out, value)

    def _dec(self, data: BytesLike, offset: int) -> tuple[E | None, int]:
        if not _read_flag(data, offset, self.name):
            return None, offset + 1
        try:
            return self._inner._dec(data, offset + 1)
        except DecodeError as exc:
            raise exc.with_context(f"value of {self.name}") from None


class _ExpectedType(SPSType[E | Failure]):
    __slots__ = ("_inner",)

    def __init__(self, inner: SPSType[E]) -> None:
        super().__init__(f"Expected({inner.name})", min_size=1, fallible=True)
        self._inner = inner

    def _enc(self, out: bytearray, value: E | Failure) -> None:
        if isinstance(value, Failure):
            out.append(0)
            _String._enc(out, value.message)
        else:
            out.append(1)
            self._inner._enc(out, value)

    def _dec(self, data: BytesLike, offset: int) -> tuple[E | Failure, int]:
        if _read_flag(data, offset, self.name):
            try:
                return self._inner._dec(data, offset + 1)
            except DecodeError as exc:
                raise exc.with_context(f"value of {self.name}") from None
        try:
            message, end = _String._dec(data, offset + 1)
        except DecodeError as exc:
            raise exc.with_context(f"error message of {self.name}") from None
        return Failure(message), end


class _MapType(SPSType[cabc.Mapping[K, V]]):
    __slots__ = ("_entry", "_key", "_value", "max_count")

    def __init__(self, key: SPSType[K], value: SPSType[V], max_count: int) -> None:
        super().__init__(f"Map({key.name}, {value.name})", min_size=8)
        self._key = key
        self._value = value
        self._entry = _TupleType((key, value))
        self.max_count = max_count

    def _enc(self, out: bytearray, value: cabc.Mapping[K, V]) -> None:
        if not isinstance(value, cabc.Mapping):
            raise EncodeError(
                f"cannot encode {_short(value)} as SPS {self.name}: expected a mapping"
            )
        out += _U64.pack(len(value))
        for key, item in value.items():
            try:
                self._key._enc(out, key)
                self._value._enc(out, item)
            except EncodeError as exc:
                raise EncodeError(f"entry {_short(key)} of {self.name}: {exc}") from exc
            except _ENCODE_MISTAKES as exc:
                raise EncodeError(
                    f"entry {_short(key)} of {self.name}: cannot encode {_short(item)}: {exc}"
                ) from exc

    def _dec(self, data: BytesLike, offset: int) -> tuple[cabc.Mapping[K, V], int]:
        count, body = _read_count(data, offset, self.name, self._entry, self.max_count)
        result: dict[K, V] = {}
        decode_key = self._key._dec
        decode_value = self._value._dec
        index = 0
        try:
            for index in range(count):  # noqa: B007 - index names the entry on error
                start = body
                key, body = decode_key(data, body)
                item, body = decode_value(data, body)
                if key in result:
                    raise DecodeError(f"duplicate key {_short(key)}", offset=start)
                result[key] = item
        except DecodeError as exc:
            raise exc.with_context(f"entry {index} of {self.name}") from None
        return result, body


def _record_fields(cls: type[Any]) -> tuple[str, ...]:
    """The fields of a record class in order: a `Frozen` subclass's ``_fields``, or an attrs
    class's fields (read without importing attrs: its classes carry ``__attrs_attrs__``)."""
    if issubclass(cls, Frozen):
        return cls._fields
    declared = getattr(cls, "__attrs_attrs__", None)
    if declared is None:
        raise TypeError(f"Record needs a record class (Frozen or attrs), got {cls!r}")
    return tuple(field.name for field in declared)


class _RecordType(SPSType[T]):
    __slots__ = ("_cls", "_fields", "_get")

    def __init__(self, cls: type[T], fields: tuple[SPSType[Any], ...], name: str) -> None:
        names = _record_fields(cls)
        if len(names) != len(fields):
            raise ValueError(
                f"{cls.__name__} has {len(names)} fields but {len(fields)} SPS types were given"
            )
        all_fixed = all(f.fixed_size is not None for f in fields)
        super().__init__(
            name,
            min_size=sum(f.min_size for f in fields),
            fixed_size=sum(f.fixed_size or 0 for f in fields) if all_fixed else None,
        )
        self._cls = cls
        self._fields = _Fields(fields, tuple(f"field {n} of {name}" for n in names))
        if len(names) > 1:
            self._get: Callable[[object], tuple[object, ...]] = operator.attrgetter(*names)
        elif names:
            # attrgetter with one name returns the bare value; normalise to a tuple.
            single = operator.attrgetter(names[0])
            self._get = lambda obj: (single(obj),)
        else:
            self._get = lambda obj: ()

    def _enc(self, out: bytearray, value: T) -> None:
        if not isinstance(value, self._cls):
            raise EncodeError(
                f"cannot encode {_short(value)} as SPS {self.name}: expected a {self._cls.__name__}"
            )
        self._fields.encode(out, self._get(value))

    def _dec(self, data: BytesLike, offset: int) -> tuple[T, int]:
        start = offset
        values, offset = self._fields.decode(data, offset)
        try:
            return self._cls(*values), offset
        except (TypeError, ValueError) as exc:  # the class's own validators refused the values
            raise DecodeError(f"invalid {self.name}: {exc}", offset=start) from None


def Sequence(
    element: SPSType[E], *, max_count: int = DEFAULT_MAX_SEQUENCE_COUNT
) -> SPSType[cabc.Sequence[E]]:
    """``SPSSequence<T>``: u64 element count, then the elements.

    Decodes to a tuple; encodes any sequence (list, tuple, bytes for integer elements).

    Args:
        element: the element type.
        max_count: the largest element count `decode` accepts (`LimitExceededError` above it).

    Raises:
        ValueError: ``max_count`` is negative.
    """
    if max_count < 0:
        raise ValueError(f"max_count must be >= 0, got {max_count}")
    return _SequenceType(element, max_count)


@overload
def Tuple(a: SPSType[A], /) -> SPSType[tuple[A]]: ...
@overload
def Tuple(a: SPSType[A], b: SPSType[B], /) -> SPSType[tuple[A, B]]: ...
@overload
def Tuple(a: SPSType[A], b: SPSType[B], c: SPSType[C], /) -> SPSType[tuple[A, B, C]]: ...
@overload
def Tuple(
    a: SPSType[A], b: SPSType[B], c: SPSType[C], d: SPSType[D], /
) -> SPSType[tuple[A, B, C, D]]: ...
@overload
def Tuple(*elements: SPSType[Any]) -> SPSType[tuple[Any, ...]]: ...
def Tuple(*elements: SPSType[Any]) -> SPSType[tuple[Any, ...]]:
    """``SPSTuple<T1..Tn>``: the elements concatenated; decodes to a Python tuple."""
    return _TupleType(elements)


def Optional(inner: SPSType[E]) -> SPSType[E | None]:
    """``SPSOptional<T>``: ``00`` for None, or ``01`` then T.

    Raises:
        ValueError: ``inner`` can itself decode to None (Empty, Error, Optional), which would make
            "absent" and "present None" indistinguishable.
    """
    if inner.nullable:
        raise ValueError(f"Optional({inner.name}) is ambiguous: {inner.name} can already be None")
    return _OptionalType(inner)


def Expected(inner: SPSType[E]) -> SPSType[E | Failure]:
    """``SPSExpected<T>``: ``01`` then T, or ``00`` + SPSString message (decoded as `Failure`).

    Raises:
        ValueError: ``inner`` can itself decode to a `Failure` (Error, Expected).
    """
    if inner.fallible:
        raise ValueError(f"Expected({inner.name}) is ambiguous: {inner.name} can be a Failure")
    return _ExpectedType(inner)


def Map(
    key: SPSType[K], value: SPSType[V], *, max_count: int = DEFAULT_MAX_SEQUENCE_COUNT
) -> SPSType[cabc.Mapping[K, V]]:
    """``SPSSequence<SPSTuple<K, V>>`` read as a map (LLVM's StringMap/DenseMap serialization).

    Encodes any mapping in its iteration order; decodes to a dict in wire order. A key seen twice
    is a `DecodeError` (LLVM rejects it too).

    Raises:
        ValueError: ``max_count`` is negative, or ``key`` is a Map (dicts cannot be keys).
    """
    if max_count < 0:
        raise ValueError(f"max_count must be >= 0, got {max_count}")
    if isinstance(key, _MapType):
        raise ValueError(f"Map keys must be hashable; {key.name} decodes to a dict")
    return _MapType(key, value, max_count)


def Record(cls: type[T], *fields: SPSType[Any], name: str | None = None) -> SPSType[T]:
    """A record class encoded as ``SPSTuple`` of its fields, in declaration order.

    Decoding calls ``cls(*values)`` positionally, so ``cls`` must accept its fields in order; if
    the class refuses the values (TypeError, ValueError), decoding raises `DecodeError` at the
    record's start.

    Args:
        cls: a `Frozen` subclass (fields in ``_fields``) or an attrs class.
        fields: one SPS type per field of ``cls``.
        name: the type's name in messages (default: the class name).

    Raises:
        TypeError: ``cls`` is neither.
        ValueError: the number of SPS types differs from the number of fields.
    """
    return _RecordType(cls, fields, name or cls.__name__)
