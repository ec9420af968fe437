"""Fakes shared by the actor tests: a recording resource manager and an event log."""

from __future__ import annotations

import asyncio
import inspect
import threading
from collections.abc import Callable

from actors import ResourceManager


class EventLog:
    """An ordered, thread-safe list of events that tests assert on."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self.events: list[tuple[str, ...]] = []

    def add(self, *event: str) -> None:
        with self._lock:
            self.events.append(event)

    def named(self, kind: str) -> list[tuple[str, ...]]:
        return [event for event in self.events if event[0] == kind]


class RecordingResourceManager(ResourceManager[None]):
    """Logs ``("detach", name)`` and ``("shutdown", name)``; can be told to fail or to wait."""

    def __init__(
        self,
        name: str,
        log: EventLog,
        *,
        fail_detach: bool = False,
        fail_shutdown: bool = False,
        shutdown_gate: asyncio.Event | None = None,
    ) -> None:
        self.name = name
        self.log = log
        self.fail_detach = fail_detach
        self.fail_shutdown = fail_shutdown
        self.shutdown_gate = shutdown_gate

    async def detach(self) -> None:
        self.log.add("detach", self.name)
        if self.fail_detach:
            raise RuntimeError(f"{self.name} failed to detach")

    async def shutdown(self) -> None:
        if self.shutdown_gate is not None:
            await self.shutdown_gate.wait()
        self.log.add("shutdown", self.name)
        if self.fail_shutdown:
            raise RuntimeError(f"{self.name} failed to shut down")


class ErrorSink:
    """An error reporter that keeps what it is given and lets tests wait for it."""

    def __init__(self) -> None:
        self.errors: list[BaseException] = []
        self._changed = asyncio.Event()

    def __call__(self, error: BaseException) -> None:
        self.errors.append(error)
        self._changed.set()

    async def wait_for(self, count: int, timeout: float = 5.0) -> list[BaseException]:
        async with asyncio.timeout(timeout):
            while len(self.errors) < count:
                self._changed.clear()
                await self._changed.wait()
        return self.errors

    def messages(self) -> list[str]:
        return [str(error) for error in self.errors]


async def wait_until(predicate: Callable[[], object], timeout: float = 5.0) -> None:
    """Yield to the loop until ``predicate()`` (awaited if it returns an awaitable) is true.

    Raises TimeoutError after ``timeout`` seconds.
    """
    # Actor state offers no event to wait on from outside, so this polls, yielding to the
    # loop each time; the timeout bounds it. It is the only polling loop in the tests.
    async with asyncio.timeout(timeout):
        while True:
            value = predicate()
            if inspect.isawaitable(value):
                value = await value
            if value:
                return
            await asyncio.sleep(0)
