"""msgpack payloads for wrapper functions written in Python: arguments, results, errors as values.

Byte layout (all msgpack, https://msgpack.org/ spec):

- Call payload: one msgpack array holding the positional arguments, e.g. ``f(1, "a")`` ->
  ``92 01 a1 61``.
- Result payload: a 2-element array ``[kind, body]``: ``[0, value]`` on success
  (``92 00 <value>``), ``[1, "message"]`` on failure (``92 01 <str>``).

Strings are UTF-8 ``str``, ``bytes`` use the bin types; arrays decode as lists (the top-level
argument array as a tuple); map keys must be ``str`` or ``bytes``. Decoding is bounded by the
limits of the `MsgpackSignature`, and any malformed input raises `DecodeError` (offset 0 = the
start of the payload, except for trailing bytes, where it is the first extra byte; msgpack does
not report positions otherwise).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, Final, Generic, TypeVar, cast

import msgpack  # type: ignore[import-untyped]  # msgpack ships no type hints

from ._errors import DecodeError, EncodeError, LimitExceededError
from ._sps import BytesLike
from ._values import Failure

__all__ = [
    "DEFAULT_MSGPACK_MAX_CONTAINER_LEN",
    "DEFAULT_MSGPACK_MAX_PAYLOAD_SIZE",
    "MsgpackSignature",
    "MsgpackWrapper",
    "msgpack_wrapper",
]

R = TypeVar("R")

DEFAULT_MSGPACK_MAX_PAYLOAD_SIZE: Final = 1 << 26
"""Default cap on a msgpack payload's size in bytes."""
DEFAULT_MSGPACK_MAX_CONTAINER_LEN: Final = 1 << 20
"""Default cap on the element count of any one msgpack array or map."""

_OK: Final = 0
_FAILED: Final = 1


class MsgpackSignature(Generic[R]):
    """The msgpack codecs of one Python-defined wrapper function returning ``R``.

    Callee side (the executor, possibly awaiting between the steps): `decode_args`, then
    `encode_value` or `encode_failure`. Caller side: `encode_call`, then `decode_result`.
    Immutable and thread-safe. The result type ``R`` is a static promise only: msgpack values
    are not checked against it.

    Args:
        name: the function's name, used in error messages.
        arity: if given, `decode_args` requires exactly this many arguments.
        max_payload_size: the largest payload accepted by the decoders, in bytes.
        max_container_len: the largest array or map accepted by the decoders.

    Raises:
        ValueError: a limit or the arity is negative.
    """

    __slots__ = ("_limits", "arity", "max_payload_size", "name")

    def __init__(
        self,
        name: str = "",
        *,
        arity: int | None = None,
        max_payload_size: int = DEFAULT_MSGPACK_MAX_PAYLOAD_SIZE,
        max_container_len: int = DEFAULT_MSGPACK_MAX_CONTAINER_LEN,
    ) -> None:
        if arity is not None and arity < 0:
            raise ValueError(f"arity must be >= 0, got {arity}")
        if max_payload_size < 0 or max_container_len < 0:
            raise ValueError("msgpack limits must be >= 0")
        self.name = name or "msgpack wrapper"
        self.arity = arity
        self.max_payload_size = max_payload_size
        self._limits: dict[str, int] = {
            "max_str_len": max_payload_size,
            "max_bin_len": max_payload_size,
            "max_array_len": max_container_len,
            "max_map_len": max_container_len,
            "max_ext_len": max_payload_size,
        }

    def __repr__(self) -> str:
        return f"<MsgpackSignature {self.name} arity={self.arity}>"

    def encode_call(self, *args: object) -> bytes:
        """Encode a call's arguments as one msgpack array (the CallWrapper payload).

        Raises:
            EncodeError: an argument is not msgpack-able (or an int is out of 64-bit range).
        """
        return self._pack(list(args), "arguments")

    def decode_args(self, data: BytesLike) -> tuple[Any, ...]:
        """Decode a call payload into the positional arguments.

        Raises:
            DecodeError: not msgpack, not an array, wrong arity, or trailing bytes.
            LimitExceededError: the payload or a container is over its limit.
        """
        args = self._unpack(data, "arguments")
        if not isinstance(args, list):
            raise DecodeError(
                f"{self.name}: msgpack arguments must be an array, got {type(args).__name__}",
                offset=0,
            )
        if self.arity is not None and len(args) != self.arity:
            raise DecodeError(
                f"{self.name}: expected {self.arity} msgpack arguments, got {len(args)}", offset=0
            )
        return tuple(args)

    def encode_value(self, value: R) -> bytes:
        """Encode a successful result (``[0, value]``).

        Raises:
            EncodeError: the value is not msgpack-able.
        """
        return self._pack([_OK, value], "result")

    def encode_failure(self, message: str) -> bytes:
        """Encode a failed result (``[1, message]``) carrying ``message`` verbatim.

        Raises:
            EncodeError: ``message`` is not a str.
        """
        if not isinstance(message, str):
            raise EncodeError(f"{self.name}: failure message must be a str, got {message!r}")
        return self._pack([_FAILED, message], "failure")

    def decode_result(self, data: BytesLike) -> R | Failure:
        """Decode a result payload: the value, or a `Failure` with the callee's message.

        Raises:
            DecodeError: not msgpack, not a well-formed ``[kind, body]`` envelope, or trailing
                bytes.
            LimitExceededError: the payload or a container is over its limit.
        """
        envelope = self._unpack(data, "result")
        if not isinstance(envelope, list) or len(envelope) != 2:
            raise DecodeError(
                f"{self.name}: msgpack result must be a 2-element array [kind, body], "
                f"got {type(envelope).__name__}",
                offset=0,
            )
        kind, body = envelope
        if kind == _OK and type(kind) is int:
            return cast(R, body)
        if kind == _FAILED and type(kind) is int:
            if not isinstance(body, str):
                raise DecodeError(
                    f"{self.name}: msgpack failure message must be a str, "
                    f"got {type(body).__name__}",
                    offset=0,
                )
            return Failure(body)
        raise DecodeError(f"{self.name}: unknown msgpack result kind {kind!r}", offset=0)

    def _pack(self, value: object, what: str) -> bytes:
        try:
            return cast(bytes, msgpack.packb(value, use_bin_type=True))
        except (TypeError, ValueError, OverflowError) as exc:
            raise EncodeError(f"{self.name}: cannot encode {what} as msgpack: {exc}") from exc

    def _unpack(self, data: BytesLike, what: str) -> object:
        if len(data) > self.max_payload_size:
            raise LimitExceededError(
                f"{self.name}: msgpack {what} payload of {len(data)} bytes exceeds the limit of "
                f"{self.max_payload_size}",
                offset=0,
                limit=self.max_payload_size,
            )
        try:
            return msgpack.unpackb(
                data, raw=False, use_list=True, strict_map_key=True, **self._limits
            )
        except msgpack.ExtraData as exc:
            extra = len(exc.extra)
            raise DecodeError(
                f"{self.name}: {extra} trailing bytes after the msgpack {what}",
                offset=len(data) - extra,
            ) from exc
        except (ValueError, TypeError, msgpack.UnpackException) as exc:
            # Truncation, bad UTF-8, reserved type bytes, nesting too deep, limits, bad map keys.
            raise DecodeError(f"{self.name}: malformed msgpack {what}: {exc}", offset=0) from exc


class MsgpackWrapper(Generic[R]):
    """A Python function ``f(*args) -> R`` as a ``bytes -> bytes`` msgpack wrapper function.

    Calling it decodes the arguments, calls ``f`` synchronously on the caller's thread, and
    encodes the outcome. It never raises for bad input or a failing ``f``: every error becomes a
    failure result (errors as values) whose message is ``"<ExcType>: <message>"``. Async
    functions belong to the actors layer, which uses `signature` directly.

    Attributes:
        fn: the wrapped function.
        signature: its `MsgpackSignature`, for callers and for step-by-step use.
    """

    __slots__ = ("fn", "signature")

    def __init__(self, fn: Callable[..., R], signature: MsgpackSignature[R]) -> None:
        self.fn = fn
        self.signature = signature

    def __repr__(self) -> str:
        return f"<MsgpackWrapper {self.signature.name}>"

    def __call__(self, data: BytesLike) -> bytes:
        """Run the wrapped function on a call payload; return the result payload."""
        signature = self.signature
        try:
            args = signature.decode_args(data)
        except DecodeError as exc:
            return signature.encode_failure(f"{type(exc).__name__}: {exc}")
        try:
            value = self.fn(*args)
        except Exception as exc:  # errors as values: the caller gets the message
            return signature.encode_failure(f"{type(exc).__name__}: {exc}")
        try:
            return signature.encode_value(value)
        except EncodeError as exc:
            return signature.encode_failure(f"{type(exc).__name__}: {exc}")


def msgpack_wrapper(fn: Callable[..., R]) -> MsgpackWrapper[R]:
    """Decorator: turn ``fn(*args) -> R`` of msgpack-able values into a `MsgpackWrapper`.

    The signature is named after ``fn.__qualname__`` and uses the default limits; build a
    `MsgpackWrapper` with your own `MsgpackSignature` for other limits or a fixed arity.
    """
    name = getattr(fn, "__qualname__", None) or repr(fn)
    return MsgpackWrapper(fn, MsgpackSignature(name))
