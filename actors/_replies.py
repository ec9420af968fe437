"""Where an actor's reply goes: a `Reply` is an ``asyncio.Future`` or a `CallbackReply`.

An ``ask`` carries a reply object with the envelope; the actor's task (or an inline handler)
settles it exactly once. A future wakes the asking task; a `CallbackReply` forwards the
outcome at once, on the replying actor's task, which is what a hot path that only passes the
result on wants. `copy_outcome` bridges a finished asyncio future to a thread's
``concurrent.futures.Future`` (``ask_threadsafe``).
"""

from __future__ import annotations

import asyncio
import concurrent.futures
from collections.abc import Callable
from typing import Generic, Protocol, TypeVar

__all__ = ["CallbackReply", "Reply", "copy_outcome"]

R = TypeVar("R")
R_contra = TypeVar("R_contra", contravariant=True)


class Reply(Protocol[R_contra]):
    """Where a reply goes: an ``asyncio.Future`` or a `CallbackReply` (the three methods)."""

    def done(self) -> bool: ...

    def set_result(self, result: R_contra, /) -> None: ...

    def set_exception(self, exception: BaseException, /) -> None: ...


class CallbackReply(Generic[R]):
    """A reply that calls ``callback(result, None)`` or ``callback(None, error)`` once.

    Cheaper than a future when the reply only needs to be forwarded (usually as a ``tell``):
    no task wakes up and no extra loop iteration passes. The callback runs on the replying
    actor's task and must be quick, must not block, and should not raise (an exception is
    reported to the Session's error reporter).
    """

    __slots__ = ("_callback", "_done")

    def __init__(self, callback: Callable[[R | None, BaseException | None], None]) -> None:
        self._callback = callback
        self._done = False

    def done(self) -> bool:
        """True once the callback has run."""
        return self._done

    def set_result(self, result: R, /) -> None:
        """Deliver ``result`` (the first delivery wins)."""
        if not self._done:
            self._done = True
            self._callback(result, None)

    def set_exception(self, exception: BaseException, /) -> None:
        """Deliver ``exception`` (the first delivery wins)."""
        if not self._done:
            self._done = True
            self._callback(None, exception)


def copy_outcome(source: asyncio.Future[R], target: concurrent.futures.Future[R]) -> None:
    """Copy a finished asyncio future's outcome into a concurrent future (a done-callback)."""
    if target.done():
        return
    if source.cancelled():
        target.cancel()
    elif (exc := source.exception()) is not None:
        target.set_exception(exc)
    else:
        target.set_result(source.result())
