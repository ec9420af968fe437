"""BlockingPortal: the blocking facade's event loop on a thread of its own."""

from __future__ import annotations

import asyncio
import contextlib
import threading
from collections.abc import AsyncIterator

import pytest

from actors.orc import BlockingPortal


async def _add(a: int, b: int) -> int:
    await asyncio.sleep(0)
    return a + b


async def _fail() -> None:
    raise KeyError("boom")


def test_blocking_portal_call_returns_and_raises() -> None:
    """call() gives the coroutine's result, or re-raises its exception in the caller."""
    with BlockingPortal() as portal:
        assert portal.call(_add, 2, b=3) == 5
        with pytest.raises(KeyError, match="boom"):
            portal.call(_fail)


def test_blocking_portal_runs_on_its_own_thread() -> None:
    """The coroutines run on the portal's thread, never the caller's."""

    async def where() -> int:
        return threading.get_ident()

    with BlockingPortal() as portal:
        assert portal.call(where) != threading.get_ident()


def test_blocking_portal_exits_contexts_in_reverse_on_close() -> None:
    """Entered async context managers are exited newest first when the portal closes."""
    log: list[str] = []

    @contextlib.asynccontextmanager
    async def managed(name: str) -> AsyncIterator[str]:
        log.append(f"enter {name}")
        try:
            yield name
        finally:
            log.append(f"exit {name}")

    portal = BlockingPortal()
    assert portal.enter(managed("a")) == "a"
    assert portal.enter(managed("b")) == "b"
    portal.close()
    portal.close()  # idempotent
    assert log == ["enter a", "enter b", "exit b", "exit a"]
    with pytest.raises(RuntimeError, match="closed"):
        portal.call(_add, 1, b=1)


def test_blocking_portal_refuses_a_thread_with_a_running_loop() -> None:
    """Inside an asyncio application the portal refuses: it would block that loop."""

    async def inside(portal: BlockingPortal) -> None:
        with pytest.raises(RuntimeError, match="would block"):
            portal.call(_add, 1, b=2)
        with pytest.raises(RuntimeError, match="would block"):
            BlockingPortal()

    with BlockingPortal() as portal:
        asyncio.run(inside(portal))


def test_blocking_portal_refuses_its_own_thread() -> None:
    """A coroutine on the portal that calls back into the portal gets an error, not a deadlock."""
    with BlockingPortal() as portal:

        async def reenter() -> None:
            portal.call(_add, 1, b=2)

        with pytest.raises(RuntimeError, match="would block"):
            portal.call(reenter)


def test_blocking_portal_close_reraises_exit_errors() -> None:
    """An error while exiting an entered context reaches close(), and the thread still ends."""

    @contextlib.asynccontextmanager
    async def broken() -> AsyncIterator[None]:
        yield
        raise ValueError("exit failed")

    portal = BlockingPortal()
    portal.enter(broken())
    with pytest.raises(ValueError, match="exit failed"):
        portal.close()
    assert portal.loop.is_closed()
