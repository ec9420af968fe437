"""Opener: what a factory of a closable resource returns, awaitable or an async context manager.

The EPC factories (`spawn_executor`, ...) and the JIT builders (`open_lljit`, ...) start
something that must be closed. Their callers either await the factory's result and close the
resource themselves, or use it as ``async with`` so that it is closed when the block ends (and
a `BlockingPortal` enters it the same way). One class serves both; subclasses only say how
their resource is closed.
"""

from __future__ import annotations

import abc
from collections.abc import Coroutine, Generator
from types import TracebackType
from typing import Any, Generic, TypeVar

__all__ = ["Opener"]

T = TypeVar("T")


class Opener(abc.ABC, Generic[T]):
    """A pending resource: ``await`` it, or ``async with`` it (closed when the block ends).

    Made by a factory on the event loop that will use the resource; awaited or entered at
    most once (a second time raises RuntimeError). A factory result that is dropped unused
    closes its start coroutine, so nothing warns that it was never awaited.
    """

    def __init__(self, start: Coroutine[Any, Any, T]) -> None:
        self._start: Coroutine[Any, Any, T] | None = start
        self._resource: T | None = None

    def __del__(self) -> None:
        if self._start is not None:
            self._start.close()  # never awaited: no "coroutine was never awaited" warning

    @abc.abstractmethod
    async def _close(self, resource: T) -> None:
        """Close ``resource`` at the end of an ``async with`` block."""

    def _take(self) -> Coroutine[Any, Any, T]:
        start, self._start = self._start, None
        if start is None:
            raise RuntimeError(f"this {type(self).__name__} was awaited already")
        return start

    def __await__(self) -> Generator[Any, None, T]:
        return self._take().__await__()

    async def __aenter__(self) -> T:
        self._resource = await self._take()
        return self._resource

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        if self._resource is not None:
            await self._close(self._resource)
