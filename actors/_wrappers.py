"""Wrapper functions: the seed's C signature in Python, and adapters for plain functions.

A wrapper function takes bytes and returns bytes. orc-rt's C signature is asynchronous:

    void fn(orc_rt_SessionRef S, uint64_t CallId, orc_rt_WrapperFunctionReturn Return,
            orc_rt_WrapperFunctionBuffer ArgBytes);

and the Python form is the same four arguments, ``fn(session, call_id, return_fn, arg_bytes)``:
the function calls ``return_fn(session, call_id, result)`` exactly once, now or later, from any
task or thread. A result is the bytes of the reply or an `OutOfBandError` (a failure outside
the wrapper's own result type: bad arguments, a crash, a transport problem). A Python wrapper
may also return an awaitable; the in-loop dispatcher runs it as a task of the Session.

`python_wrapper` turns an ordinary ``bytes -> bytes`` function (sync or async) into that form,
turning an exception into an `OutOfBandError` that keeps the message.
"""

from __future__ import annotations

import inspect
from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING, Final, Protocol, TypeAlias

from protocol import Frozen

from ._errors import RemoteCallError

if TYPE_CHECKING:
    from ._session import Session

__all__ = [
    "OutOfBandError",
    "ReturnFn",
    "WrapperFunction",
    "WrapperResult",
    "python_wrapper",
]


class OutOfBandError(Frozen):
    """A wrapper call failed outside its result type; ``message`` says why.

    Travels in place of result bytes. On LLVM 14/22 wires there is no encoding for it, so the
    stream controller access sends an empty payload and logs the message. Compares by value.
    """

    _fields = ("message",)
    __slots__ = _fields

    def __init__(self, message: str) -> None:
        self.message: Final = message


WrapperResult: TypeAlias = bytes | OutOfBandError
"""What a wrapper returns: the result bytes, or an out-of-band error."""


class ReturnFn(Protocol):
    """``return_fn(session, call_id, result)``: deliver a wrapper's result, exactly once.

    Thread-safe; may be called from any task or thread, at any later time. A second call for
    the same CallId, or a CallId the Session does not know, is reported to the Session's error
    reporter and otherwise ignored.
    """

    def __call__(self, session: Session, call_id: int, result: WrapperResult, /) -> None: ...


WrapperFunction: TypeAlias = Callable[["Session", int, ReturnFn, bytes], "Awaitable[None] | None"]
"""The seed's wrapper signature in Python: ``fn(session, call_id, return_fn, arg_bytes)``."""

PlainWrapper: TypeAlias = Callable[[bytes], "bytes | Awaitable[bytes]"]


def as_wrapper_result(result: bytes | None, error: BaseException | None) -> WrapperResult:
    """A reply's outcome as a wrapper result: the bytes, or the error as an out-of-band error
    (a `RemoteCallError` keeps its message as it is)."""
    if error is None:
        assert result is not None
        return result
    message = error.message if isinstance(error, RemoteCallError) else str(error)
    return OutOfBandError(message or type(error).__name__)


def describe_exception(exc: BaseException) -> str:
    """``"<ExceptionType>: <message>"``, the text an out-of-band error keeps."""
    text = str(exc)
    return f"{type(exc).__name__}: {text}" if text else type(exc).__name__


def python_wrapper(fn: PlainWrapper) -> WrapperFunction:
    """Adapt a ``bytes -> bytes`` function (sync or ``async``) to the wrapper signature.

    The result is returned through ``return_fn`` once: the bytes the function returned, or an
    `OutOfBandError` with ``"<ExceptionType>: <message>"`` if it raised (or returned something
    other than bytes). A sync function runs on the loop without a hand-off (directly on the
    Session's task with the standard in-loop dispatcher), so it must not block; an async one
    runs as a task of the Session, so a slow wrapper never holds up other calls.
    """
    if inspect.iscoroutinefunction(fn):
        async_fn = fn

        async def run_async(
            session: Session, call_id: int, return_fn: ReturnFn, arg_bytes: bytes
        ) -> None:
            try:
                result = await async_fn(arg_bytes)
            except Exception as exc:
                return_fn(session, call_id, OutOfBandError(describe_exception(exc)))
                return
            return_fn(session, call_id, _checked(fn, result))

        run_async.__name__ = getattr(fn, "__name__", "wrapper")
        return run_async

    def run_sync(session: Session, call_id: int, return_fn: ReturnFn, arg_bytes: bytes) -> None:
        try:
            result = fn(arg_bytes)
        except Exception as exc:
            return_fn(session, call_id, OutOfBandError(describe_exception(exc)))
            return
        return_fn(session, call_id, _checked(fn, result))

    run_sync.__name__ = getattr(fn, "__name__", "wrapper")
    return run_sync


def _checked(fn: object, result: object) -> WrapperResult:
    if isinstance(result, bytes):
        return result
    if isinstance(result, bytearray | memoryview):
        return bytes(result)
    name = getattr(fn, "__name__", repr(fn))
    return OutOfBandError(f"TypeError: wrapper {name} returned {type(result).__name__}, not bytes")
