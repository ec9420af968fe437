"""`WrapperSignature`: a wrapper function's SPS signature, written once, giving both codecs.

Byte layout: a wrapper function's *argument bytes* are its arguments serialized back to back
(LLVM's ``SPSArgList<Ts...>``, identical to ``SPSTuple<Ts...>``); its *result bytes* are the one
return value serialized (zero bytes for ``Empty``/``void``). Nothing else is added: no count, no
tags. For example ``reserve(addr Instance, u64 Size) -> Expected<addr>`` takes 16 argument bytes
and answers ``01 <8-byte addr>`` or ``00 <u64 len> <message>``.
"""

from __future__ import annotations

import contextlib
import struct
from typing import Any, Generic, TypeVar

from ._errors import DecodeError, EncodeError
from ._sps import BytesLike, SPSType, _as_input, _Fields, _trailing, _truncated

__all__ = ["WrapperSignature"]

R = TypeVar("R")


class WrapperSignature(Generic[R]):
    """The SPS signature ``R(Args...)`` of one wrapper function, with encoders and decoders.

    Built once at import time (module constants in `protocol`), then used on every call: the
    executor decodes arguments and encodes results, the controller (or a test) does the reverse.
    Immutable; safe from any thread. Argument lists made only of integers and addresses are packed
    and unpacked with one precompiled `struct.Struct`.

    Args:
        result: the SPS type of the return value (`Empty` for ``void``).
        args: the SPS types of the arguments, in order.
        name: the wrapper's symbol name, used in error messages (optional).
    """

    __slots__ = ("_fields", "_fixed", "_label", "args", "name", "result")

    result: SPSType[R]
    args: tuple[SPSType[Any], ...]
    name: str

    def __init__(self, result: SPSType[R], *args: SPSType[Any], name: str = "") -> None:
        self.result = result
        self.args = args
        self.name = name
        self._label = name or "wrapper"
        labels = tuple(f"argument {i} ({t.name}) of {self._label}" for i, t in enumerate(args))
        self._fields = _Fields(args, labels)
        self._fixed: struct.Struct | None = self._fields.fixed

    def __repr__(self) -> str:
        args = ", ".join(t.name for t in self.args)
        prefix = f"{self.name}: " if self.name else ""
        return f"<WrapperSignature {prefix}{self.result.name}({args})>"

    def encode_args(self, *values: Any) -> bytes:
        """Serialize one call's arguments (the CallWrapper payload).

        Raises:
            TypeError: the number of values differs from the number of arguments.
            EncodeError: a value has the wrong type or is out of range (names the argument).
        """
        if len(values) != len(self.args):
            raise TypeError(
                f"{self._label} takes {len(self.args)} arguments, {len(values)} were given"
            )
        fixed = self._fixed
        if fixed is not None:
            # A value struct refuses goes on to the field-by-field path, which names it.
            with contextlib.suppress(struct.error):
                return fixed.pack(*values)
        out = bytearray()
        self._fields.encode(out, values)
        return bytes(out)

    def decode_args(self, data: BytesLike) -> tuple[Any, ...]:
        """Decode one call's argument bytes, which must be exactly the arguments.

        Raises:
            DecodeError: truncated, malformed, or trailing bytes (names the argument and offset).
            LimitExceededError: a sequence count is over its cap.
        """
        fixed = self._fixed
        if fixed is not None and type(data) is not memoryview and len(data) == fixed.size:
            return fixed.unpack(data)
        data = _as_input(data)
        values, end = self._fields.decode(data, 0)
        if end != len(data):
            raise _trailing(f"arguments of {self._label}", end, len(data))
        return tuple(values)

    def encode_result(self, value: R) -> bytes:
        """Serialize a return value (the Result payload).

        Raises:
            EncodeError: the value does not fit the result type.
        """
        try:
            return self.result.encode(value)
        except EncodeError as exc:
            raise EncodeError(f"result of {self._label}: {exc}") from exc

    def decode_result(self, data: BytesLike) -> R:
        """Decode a Result payload, which must be exactly one value of the result type.

        Raises:
            DecodeError: truncated, malformed, or trailing bytes. An empty payload for a non-void
                result (LLVM's lost out-of-band error) is reported as truncation at offset 0.
            LimitExceededError: a sequence count is over its cap.
        """
        data = _as_input(data)
        if not data and self.result.min_size > 0:
            raise _truncated(
                f"result of {self._label} (empty payload: the callee reported an "
                "out-of-band error or crashed)",
                self.result.min_size,
                0,
                0,
            )
        try:
            return self.result.decode(data)
        except DecodeError as exc:
            raise exc.with_context(f"result of {self._label}") from None
