"""Executor -> controller calls: handler types, the record of an unanswered call, SPS handlers.

JIT'd code calls the controller through the executor's dispatch function with a *tag* (an
executor address); the EPC runs the handler registered for that tag
(`ExecutorProcessControl.register_handler`). A handler takes the argument bytes and returns the
result bytes, synchronously or as a coroutine; `sps_handler` makes one from a typed function and
a `protocol.WrapperSignature`. A call nobody answers (no handler, or a failing one) becomes an
`UnansweredCall` for the EPC's ``on_unanswered`` callback.
"""

from __future__ import annotations

import inspect
import logging
from collections.abc import Awaitable, Callable
from typing import Any, TypeVar

import attrs

import protocol

__all__ = ["Handler", "Unanswered", "UnansweredCall", "log_unanswered", "sps_handler"]

log = logging.getLogger(__name__)

R = TypeVar("R")

Handler = Callable[[bytes], "bytes | Awaitable[bytes]"]
"""An executor -> controller call handler: argument bytes in, result bytes out (sync or async).
An exception it raises becomes an out-of-band error result."""

Unanswered = Callable[["UnansweredCall"], object]
"""Told about each executor -> controller call answered with an error (on the EPC's loop)."""


@attrs.frozen(kw_only=True)
class UnansweredCall:
    """An executor -> controller call answered with an out-of-band error.

    Attributes:
        seq_no: the executor's sequence number (in-process: the controller access's).
        tag: the tag address it called.
        args: the argument bytes.
        reason: why: no handler for the tag (``No function registered for tag 0x…``), or the
            handler's exception.
    """

    seq_no: int
    tag: int
    args: bytes
    reason: str


def log_unanswered(call: UnansweredCall) -> None:
    """The default ``on_unanswered``: a warning on this module's logger."""
    log.warning(
        "executor call %d to tag %#x answered with an error: %s", call.seq_no, call.tag, call.reason
    )


def sps_handler(signature: protocol.WrapperSignature[R], fn: Callable[..., Any]) -> Handler:
    """A `Handler` that decodes its arguments with ``signature``, calls ``fn(*args)`` (sync or
    async) and encodes what it returns as the signature's result.

    To answer with an error value, ``fn`` returns a `protocol.Failure` (for ``SPSError`` and
    ``SPSExpected`` results). Bad argument bytes and exceptions of ``fn`` become out-of-band
    errors, as in LLVM's ``wrapAsyncWithSPS``.
    """

    async def handle(args: bytes) -> bytes:
        value = fn(*signature.decode_args(args))
        if inspect.isawaitable(value):
            value = await value
        return signature.encode_result(value)

    handle.__name__ = getattr(fn, "__name__", "sps_handler")
    return handle
